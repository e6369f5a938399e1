"""Seasons and what-ifs: scenario files that change the road network before routing.

A scenario (TOML, unknown keys refused) describes one state of the world against the base
network a study was built on::

    [scenario]
    name = "rains_and_bridge"
    title = "Rainy season, with the Caño Grande bridge out"

    [season]
    file = "wet"                  # a built-in season (territorial_gis/seasons/wet.toml) or a TOML file;
    walk_factor = 0.6             # any key here overrides the file's

    [[upgrades]]                  # roads given by OSM way id, a line layer, a bbox or upgrade-ranking stretches
    name = "Pave the road to El Retorno"
    ways = [123456, 123457]
    to_class = "secondary"        # the profile's class speed ...
    surface = "asphalt"           # ... and surface factor; or speed_kph = 60

    [[closures]]                  # a bridge out, a landslide
    name = "Caño Grande bridge"
    bbox = [-72.64, 2.55, -72.63, 2.56]

    [[new_links]]                 # a road that does not exist yet: a line layer joined to the network
    name = "Vereda La Esperanza link"
    layer = "new_link.gpkg"       # any line file, any CRS
    class = "tertiary"            # a class of the speed profile (its speed, its wet-season factor)
    surface = "gravel"            # optional; speed_kph = 40 sets the speed instead of the profile
    snap_tolerance_m = 25         # its dangling ends join the nearest road within this distance
    crossings = false             # true: it also joins the roads it crosses (never bridges, tunnels)

:func:`apply_scenario` returns the scenario's network (roads closed, slowed, upgraded or added)
and a table of what changed; :func:`compare_access` and :func:`compare_classes` set the
scenario's travel times and MRA/FRA classes beside the base ones. Changes are applied in the
order upgrades, closures, new links, season, so an upgraded road or a new one meets the rains
with its surface. New links are joined with the topology rules of line layers
(:func:`territorial_gis._layer_join.join_lines`).

Guarantees (tested as properties): a season never makes a travel time shorter (its factors are
at most 1 and it only closes roads), an upgrade never makes one longer (a road keeps the faster
of its old and new speed), a new link never makes one longer (the roads it joins are cut, not
changed), and closing a road no shortest path uses changes no time.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import columns
from ._roadattrs import (
    CONDITIONAL_KEYS,
    DRY_SEASON_ONLY,
    conditional_closures_not_read,
    dry_season_only,
    fords,
    has_season_information,
    profile_of,
)
from ._toml import parse_toml, read_toml
from ._waterways import RiverLevels
from .errors import ConfigError

if TYPE_CHECKING:
    import geopandas as gpd

    from ._routing import RouteOptions
    from .network import RoadNetwork
    from .speeds import Profile

log = logging.getLogger(__name__)

SEASONS_PACKAGE = "territorial_gis.seasons"
#: a road piece is in a layer's selection when at least this share of its length lies within
#: ``buffer_m`` of the layer's lines
LAYER_SHARE = 0.5
DEFAULT_BUFFER_M = 20.0
#: how far (m) a new link's dangling ends reach for a road to join, unless its table says
NEW_LINK_SNAP_M = 25.0
CHANGE_KINDS = ("upgraded", "closed", "slowed", "new_link")


# ---------------------------------------------------------------------------- the scenario file
@dataclass(frozen=True)
class Season:
    """How a season changes the roads, the walk off them and the rivers (see ``seasons/wet.toml``).

    ``walk_factor`` multiplies the off-road walking speed: the straight-line walk to the road,
    and over an accessibility surface every walking speed (flat ground and land-cover classes).
    ``rivers`` (a ``[rivers]`` table) are the river levels of the season, used where the
    surface has waterways: boat speed factors up- and downstream and the river classes closed to
    boats (:class:`~territorial_gis._waterways.RiverLevels`).
    """

    name: str
    title: str | None = None
    close_dry_season_only: bool = True
    close_fords: bool = False
    walk_factor: float = 1.0
    surface_factor: dict[str, float] = field(default_factory=dict)
    tracktype_factor: dict[str, float] = field(default_factory=dict)
    smoothness_factor: dict[str, float] = field(default_factory=dict)
    highway_factor: dict[str, float] = field(default_factory=dict)
    rivers: RiverLevels | None = None
    source: str = "<season>"


@dataclass(frozen=True)
class Selection:
    """Which roads an upgrade or a closure applies to (any combination; they add up)."""

    ways: tuple[int, ...] = ()
    layer: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    stretches: tuple[int, ...] = ()
    buffer_m: float = DEFAULT_BUFFER_M

    def is_empty(self) -> bool:
        return not (self.ways or self.layer or self.bbox or self.stretches)


@dataclass(frozen=True)
class Upgrade:
    """Roads given a new class, surface or speed (never slower than before)."""

    name: str
    select: Selection
    to_class: str | None = None
    surface: str | None = None
    speed_kph: float | None = None


@dataclass(frozen=True)
class Closure:
    """Roads that cannot be used (a bridge out, a landslide)."""

    name: str
    select: Selection


@dataclass(frozen=True)
class NewLink:
    """A road that does not exist yet: the lines of a layer, joined to the network."""

    name: str
    layer: str
    to_class: str
    surface: str | None = None
    speed_kph: float | None = None
    snap_tolerance_m: float = NEW_LINK_SNAP_M
    crossings: bool = False


@dataclass(frozen=True)
class Scenario:
    """A checked scenario file (see the module docstring)."""

    name: str
    title: str | None = None
    description: str | None = None
    season: Season | None = None
    upgrades: tuple[Upgrade, ...] = ()
    closures: tuple[Closure, ...] = ()
    new_links: tuple[NewLink, ...] = ()
    source: str = "<scenario>"

    @property
    def label(self) -> str:
        return self.title or self.name

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Scenario:
        """Read a scenario file; relative paths (layers, season files) from its folder."""
        p = Path(path)
        return cls.from_dict(read_toml(p, "scenario file"), source=str(p), base_dir=p.resolve().parent,
                             default_name=p.stem)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, source: str = "<scenario>",
                  base_dir: str | os.PathLike[str] | None = None, default_name: str = "scenario") -> Scenario:
        """Check a scenario given as a dict of tables."""
        return _ScenarioParser(source, Path(base_dir) if base_dir else Path.cwd()).scenario(raw, default_name)


def load_scenario(spec: str | os.PathLike[str] | Mapping[str, Any] | Scenario, *,
                  base_dir: str | os.PathLike[str] | None = None) -> Scenario:
    """A scenario from a file, a dict, an object, or the name of a built-in season (``"wet"``:
    the season alone, as a scenario)."""
    if isinstance(spec, Scenario):
        return spec
    if isinstance(spec, Mapping):
        return Scenario.from_dict(spec, base_dir=base_dir)
    text = str(spec)
    if text in builtin_seasons() and not Path(text).exists():
        season = load_season(text)
        return Scenario(name=season.name, title=season.title, season=season, source=season.source)
    p = Path(text) if base_dir is None or os.path.isabs(text) else Path(base_dir) / text
    if not p.is_file():
        raise ConfigError(f"scenario {text!r}: no such file, and not a built-in season "
                          f"({', '.join(builtin_seasons())})")
    return Scenario.from_toml(p)


def builtin_seasons() -> list[str]:
    """Names of the seasons shipped in ``territorial_gis/seasons/``."""
    return sorted(p.name[:-5] for p in resources.files(SEASONS_PACKAGE).iterdir() if p.name.endswith(".toml"))


def load_season(name_or_path: str | os.PathLike[str], overrides: Mapping[str, Any] | None = None,
                base_dir: Path | None = None) -> Season:
    """A built-in season by name or a season TOML file, with ``overrides`` on top."""
    text = str(name_or_path)
    builtin = resources.files(SEASONS_PACKAGE).joinpath(f"{text}.toml")
    if os.sep not in text and "/" not in text and builtin.is_file():
        source = f"<built-in season {text}>"
        data = parse_toml(builtin.read_text("utf-8"), source)
    else:
        p = Path(text) if base_dir is None or os.path.isabs(text) else base_dir / text
        if not p.is_file():
            raise ConfigError(f"season {text!r}: no such file, and not a built-in season "
                              f"({', '.join(builtin_seasons())})")
        source = str(p)
        data = read_toml(p, "season file")
    merged = {**data, **dict(overrides or {})}
    return _season_from(merged, source)


_SEASON_KEYS = {"name", "title", "file", "close_dry_season_only", "close_fords", "walk_factor",
                "surface_factor", "tracktype_factor", "smoothness_factor", "highway_factor", "rivers"}
_SELECT_KEYS = {"ways", "layer", "bbox", "stretches", "buffer_m"}


def _factor(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value <= 1):
        raise ConfigError(f"{where} = {value!r}: expected a factor above 0 and at most 1 "
                          "(a season slows roads; it closes them with close_dry_season_only / close_fords)")
    return float(value)


def _season_from(data: Mapping[str, Any], source: str) -> Season:
    bad = set(data) - _SEASON_KEYS
    if bad:
        raise ConfigError(f"{source}: [season] unknown key(s) {', '.join(sorted(bad))}; allowed: "
                          f"{', '.join(sorted(_SEASON_KEYS))}")
    tables: dict[str, dict[str, float]] = {}
    for key in ("surface_factor", "tracktype_factor", "smoothness_factor", "highway_factor"):
        table = data.get(key, {})
        if not isinstance(table, Mapping):
            raise ConfigError(f"{source}: [season.{key}] must be a table of value = factor")
        tables[key] = {str(k): _factor(f"{source}: {key}.{k}", v) for k, v in table.items()}
    for key in ("close_dry_season_only", "close_fords"):
        if key in data and not isinstance(data[key], bool):
            raise ConfigError(f"{source}: [season] {key} = {data[key]!r}: expected true or false")
    name = data.get("name", Path(source).stem)
    rivers = RiverLevels.from_dict(dict(data["rivers"]) if isinstance(data["rivers"], Mapping) else data["rivers"],
                                   source) if "rivers" in data else None
    return Season(name=str(name), title=data.get("title"),
                  close_dry_season_only=bool(data.get("close_dry_season_only", True)),
                  close_fords=bool(data.get("close_fords", False)),
                  walk_factor=_factor(f"{source}: [season] walk_factor", data.get("walk_factor", 1.0)),
                  rivers=rivers, source=source, **tables)


class _ScenarioParser:
    def __init__(self, source: str, base: Path) -> None:
        self.source = source
        self.base = base

    def fail(self, where: str, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: {where}: {message}")

    def scenario(self, raw: Mapping[str, Any], default_name: str) -> Scenario:
        allowed = {"scenario", "season", "upgrades", "closures", "new_links"}
        bad = set(raw) - allowed
        if bad:
            raise ConfigError(f"{self.source}: unknown table(s) {', '.join(sorted(bad))}; allowed: "
                              f"{', '.join(sorted(allowed))}")
        head = raw.get("scenario", {})
        if not isinstance(head, Mapping) or set(head) - {"name", "title", "description"}:
            raise self.fail("[scenario]", "may only hold name, title and description")
        season = None
        if "season" in raw:
            table = dict(raw["season"])
            season = load_season(table.pop("file", "wet"), table, self.base) if "file" in raw["season"] \
                else _season_from(table, self.source)
        upgrades = tuple(self.upgrade(i, u) for i, u in enumerate(self.entries(raw, "upgrades"), 1))
        closures = tuple(Closure(name=str(c.get("name", f"closure {i}")), select=self.selection(f"[[closures]] #{i}", c))
                         for i, c in enumerate(self.entries(raw, "closures"), 1))
        new_links = tuple(self.new_link(i, x) for i, x in enumerate(self.entries(raw, "new_links"), 1))
        if season is None and not upgrades and not closures and not new_links:
            raise self.fail("scenario", "changes nothing: give a [season], [[upgrades]], [[closures]] or [[new_links]]")
        return Scenario(name=str(head.get("name", default_name)), title=head.get("title"),
                        description=head.get("description"), season=season, upgrades=upgrades,
                        closures=closures, new_links=new_links, source=self.source)

    def entries(self, raw: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise self.fail(f"[[{key}]]", "must be an array of tables")
        return value

    def upgrade(self, i: int, entry: Mapping[str, Any]) -> Upgrade:
        where = f"[[upgrades]] #{i}"
        bad = set(entry) - _SELECT_KEYS - {"name", "to_class", "surface", "speed_kph"}
        if bad:
            raise self.fail(where, f"unknown key(s) {', '.join(sorted(bad))}")
        speed = entry.get("speed_kph")
        if speed is not None and (isinstance(speed, bool) or not isinstance(speed, (int, float)) or speed <= 0):
            raise self.fail(where, f"speed_kph = {speed!r}: expected a positive number")
        if entry.get("to_class") is None and entry.get("surface") is None and speed is None:
            raise self.fail(where, "give to_class, surface or speed_kph")
        return Upgrade(name=str(entry.get("name", f"upgrade {i}")), select=self.selection(where, entry),
                       to_class=entry.get("to_class"), surface=entry.get("surface"),
                       speed_kph=float(speed) if speed is not None else None)

    def new_link(self, i: int, entry: Mapping[str, Any]) -> NewLink:
        where = f"[[new_links]] #{i}"
        allowed = {"name", "layer", "class", "surface", "speed_kph", "snap_tolerance_m", "crossings"}
        bad = set(entry) - allowed
        if bad:
            raise self.fail(where, f"unknown key(s) {', '.join(sorted(bad))}; allowed: {', '.join(sorted(allowed))}")
        for key in ("layer", "class"):
            if not isinstance(entry.get(key), str) or not entry[key]:
                raise self.fail(where, f"{key} = {entry.get(key)!r}: give the {'line file' if key == 'layer' else 'road class'}")
        p = Path(entry["layer"]) if os.path.isabs(entry["layer"]) else self.base / entry["layer"]
        if not p.is_file():
            raise self.fail(where, f"layer = {entry['layer']!r}: file not found ({p.resolve()})")
        speed, tol = entry.get("speed_kph"), entry.get("snap_tolerance_m", NEW_LINK_SNAP_M)
        if speed is not None and (isinstance(speed, bool) or not isinstance(speed, (int, float)) or not speed > 0):
            raise self.fail(where, f"speed_kph = {speed!r}: expected a positive number")
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < math.inf:
            raise self.fail(where, f"snap_tolerance_m = {tol!r}: expected a number of metres >= 0")
        if not isinstance(entry.get("crossings", False), bool):
            raise self.fail(where, f"crossings = {entry['crossings']!r}: expected true or false")
        surface = entry.get("surface")
        if surface is not None and not isinstance(surface, str):
            raise self.fail(where, f"surface = {surface!r}: expected a surface name")
        return NewLink(name=str(entry.get("name", f"new link {i}")), layer=str(p.resolve()), to_class=entry["class"],
                       surface=surface, speed_kph=float(speed) if speed is not None else None,
                       snap_tolerance_m=float(tol), crossings=bool(entry.get("crossings", False)))

    def selection(self, where: str, entry: Mapping[str, Any]) -> Selection:
        bad = set(entry) - _SELECT_KEYS - {"name", "to_class", "surface", "speed_kph"}
        if bad:
            raise self.fail(where, f"unknown key(s) {', '.join(sorted(bad))}")
        ways, stretches = entry.get("ways", []), entry.get("stretches", [])
        for key, vals in (("ways", ways), ("stretches", stretches)):
            if not isinstance(vals, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
                raise self.fail(where, f"{key} = {vals!r}: expected a list of whole numbers")
        bbox = entry.get("bbox")
        if bbox is not None and (not isinstance(bbox, list) or len(bbox) != 4
                                 or not all(isinstance(v, (int, float)) for v in bbox)
                                 or not (bbox[0] < bbox[2] and bbox[1] < bbox[3])):
            raise self.fail(where, f"bbox = {bbox!r}: expected [west, south, east, north] in degrees")
        layer = entry.get("layer")
        if layer is not None:
            p = Path(layer) if os.path.isabs(layer) else self.base / layer
            if not p.is_file():
                raise self.fail(where, f"layer = {layer!r}: file not found ({p.resolve()})")
            layer = str(p.resolve())
        buffer_m = entry.get("buffer_m", DEFAULT_BUFFER_M)
        if isinstance(buffer_m, bool) or not isinstance(buffer_m, (int, float)) or buffer_m <= 0:
            raise self.fail(where, f"buffer_m = {buffer_m!r}: expected a positive number of metres")
        sel = Selection(ways=tuple(ways), layer=layer, bbox=tuple(map(float, bbox)) if bbox else None,  # type: ignore[arg-type]
                        stretches=tuple(stretches), buffer_m=float(buffer_m))
        if sel.is_empty():
            raise self.fail(where, "names no road: give ways, layer, bbox or stretches")
        return sel


# ---------------------------------------------------------------------------- applying it
@dataclass
class ScenarioNetwork:
    """A scenario applied to a network: the new network and what changed on it."""

    scenario: Scenario
    network: RoadNetwork
    changes: gpd.GeoDataFrame
    walk_factor: float = 1.0
    notes: list[str] = field(default_factory=list)

    def route_options(self, base: RouteOptions, network: RoadNetwork | None = None) -> RouteOptions:
        """The routing options under the scenario: the walk off the road slowed by the season
        (the straight-line walk and, over a surface, every walking speed) and the rivers at the
        season's level. A surface already built for the base is built again from its inputs on
        the scenario's network."""
        season = self.scenario.season
        rivers = season.rivers if season is not None else None
        if self.walk_factor == 1.0 and rivers is None:
            return base
        walk = base.walk_speed(network or self.network)
        changes: dict[str, Any] = {"walk_kph": walk * self.walk_factor}
        surface = base.surface
        if surface is not None:
            from ._surface import Surface, SurfaceInputs

            inputs = surface.inputs if isinstance(surface, Surface) else surface
            inputs = inputs if inputs is not None else SurfaceInputs()
            changes["surface"] = inputs.under_season(walk_kph=walk, walk_factor=self.walk_factor, rivers=rivers)
        elif base.uses_surface:
            from ._surface import SurfaceInputs

            changes["surface"] = SurfaceInputs().under_season(walk_kph=walk, walk_factor=self.walk_factor,
                                                              rivers=rivers)
        return base.replace(**changes)


def apply_scenario(network: RoadNetwork, scenario: Scenario | str | os.PathLike[str] | Mapping[str, Any], *,
                   profile: Profile | str | None = None,
                   stretches: Mapping[int, Sequence[int]] | None = None) -> ScenarioNetwork:
    """The network in the state of the world a scenario describes.

    Parameters
    ----------
    network
        The base network (it is not modified).
    scenario
        A :class:`Scenario`, a scenario file, a dict, or a built-in season name (``"wet"``).
    profile
        Speed profile for upgrades to a class (default: the network's, else the shipped drive one).
    stretches
        Stretch id -> road piece (``segment``) ids, for upgrades and closures that name the
        stretches of an upgrade ranking (``segment_ids`` of the ``upgrades`` layer).

    Returns
    -------
    ScenarioNetwork
        ``network`` (new), ``changes`` (one row per changed directed edge: ``segment``,
        ``osm_way_id``, ``highway``, ``change`` = upgraded/closed/slowed/new_link, ``reason``,
        ``speed_before_kph`` (NaN for a new link), ``speed_after_kph``, geometry in EPSG:4326) and
        the walking-speed factor.

    Raises
    ------
    ConfigError
        A way id, stretch or class the network or profile does not know, a selection that
        matches no road, a season table naming a value the profile does not know, a new link
        whose layer holds no lines or that meets no road.
    """
    sc = load_scenario(scenario)
    prof = profile_of(network, profile)
    ed = _Edits.of(network)
    for up in sc.upgrades:
        sel = select_edges(network, up.select, stretches=stretches, what=f"{sc.source}: upgrade '{up.name}'")
        ed.upgrade(network.edges, sel, _upgraded_speed(network.edges, sel, up, prof, sc.source), up)
    for cl in sc.closures:
        sel = select_edges(network, cl.select, stretches=stretches, what=f"{sc.source}: closure '{cl.name}'")
        ed.closed |= sel
        ed.kind[sel], ed.reason[sel] = "closed", cl.name
    for i, link in enumerate(sc.new_links):
        network, ed = _join_new_link(network, ed, link, prof, sc.source, way_id_start=-1 - 1_000_000 * i)
    notes: list[str] = []
    walk = 1.0
    if sc.season is not None:
        notes += ed.season(network, sc.season, prof)
        walk = sc.season.walk_factor
    new_net = _rebuild(network, ed.speed, ed.attrs, ed.closed, sc)
    changed = ed.kind != None  # noqa: E711 - object array
    changes = _changes_frame(network, changed, ed.kind, ed.reason, ed.before, np.where(ed.closed, 0.0, ed.speed))
    log.info("scenario '%s': %d road pieces upgraded, %d closed, %d slowed, %d new", sc.name,
             *(int(changes.loc[changes["change"] == k, "segment"].nunique()) for k in CHANGE_KINDS))
    return ScenarioNetwork(sc, new_net, changes, walk_factor=walk, notes=notes)


@dataclass
class _Edits:
    """What a scenario does to each directed edge, as it is worked out: speed (before and after),
    closed, kind and reason of the change, new attribute values."""

    speed: np.ndarray
    before: np.ndarray
    closed: np.ndarray
    kind: np.ndarray
    reason: np.ndarray
    attrs: dict[str, np.ndarray]

    @classmethod
    def of(cls, network: RoadNetwork) -> _Edits:
        speed = network.edges["speed_kph"].to_numpy(dtype=float).copy()
        n = network.n_edges
        return cls(speed=speed, before=speed.copy(), closed=np.zeros(n, dtype=bool),
                   kind=np.full(n, None, dtype=object), reason=np.full(n, None, dtype=object), attrs={})

    def upgrade(self, edges: pd.DataFrame, sel: np.ndarray, upgraded: np.ndarray, up: Upgrade) -> None:
        """Selected edges keep the faster of their speed and ``upgraded``, and take the new class/surface."""
        faster = sel & (upgraded > self.speed)
        self.speed = np.where(sel, np.maximum(self.speed, upgraded), self.speed)
        self.kind[faster], self.reason[faster] = "upgraded", up.name
        for col, value in (("highway", up.to_class), ("surface", up.surface)):
            if value is not None:
                arr = self.attrs.setdefault(col, edges[col].to_numpy(dtype=object).copy() if col in edges
                                            else np.full(len(sel), None, dtype=object))
                arr[sel] = value

    def take(self, parent: np.ndarray, new_edges: pd.DataFrame) -> _Edits:
        """The edits on a network whose edge ``k`` is the old edge ``parent[k]`` (-1: a new edge,
        whose speed and attributes are those of ``new_edges``)."""
        new = parent < 0
        p = np.maximum(parent, 0)

        def pick(arr: np.ndarray, fill: Any) -> np.ndarray:
            out = arr[p].copy()
            out[new] = fill[new] if isinstance(fill, np.ndarray) else fill
            return out

        speed = pick(self.speed, new_edges["speed_kph"].to_numpy(dtype=float))
        attrs = {c: pick(a, new_edges[c].to_numpy(dtype=object) if c in new_edges else None)
                 for c, a in self.attrs.items()}
        return _Edits(speed=speed, before=pick(self.before, np.nan), closed=pick(self.closed, False),
                      kind=pick(self.kind, None), reason=pick(self.reason, None), attrs=attrs)

    def season(self, network: RoadNetwork, season: Season, prof: Profile) -> list[str]:
        """Close and slow the roads as ``season`` says; returns its notes."""
        edges = network.edges
        attrs = edges.assign(**self.attrs) if self.attrs else edges
        s_closed, s_reason, factor = season_effect(attrs, season, prof)
        slowed = ~self.closed & ~s_closed & (factor < 1.0)
        self.speed = np.where(slowed, self.speed * factor, self.speed)
        kind, reason = self.kind, self.reason
        kind[slowed & (kind == None)], reason[slowed & (reason == None)] = "slowed", season.name  # noqa: E711
        newly = s_closed & ~self.closed
        kind[newly], reason[newly] = "closed", s_reason[newly]
        self.closed |= s_closed
        return _season_notes(edges, season, prof.mode)


def _join_new_link(network: RoadNetwork, ed: _Edits, link: NewLink, prof: Profile, source: str, *,
                   way_id_start: int) -> tuple[RoadNetwork, _Edits]:
    """``network`` with a new link joined (:func:`~territorial_gis._layer_join.join_lines`), and
    the edits carried over to its edges (the new ones marked ``new_link``)."""
    from ._layer_join import join_lines, read_new_lines
    from .speeds import assign_speeds

    what = f"{source}: new link '{link.name}'"
    if link.to_class not in prof.highway_speed_kph:
        raise ConfigError(f"{what}: class = {link.to_class!r} is not a class of the speed profile {prof.source} "
                          f"({', '.join(sorted(prof.highway_speed_kph))})")
    if link.surface is not None and prof.surface_factor and link.surface not in prof.surface_factor:
        raise ConfigError(f"{what}: surface = {link.surface!r} is not a surface of the speed profile "
                          f"{prof.source} ({', '.join(sorted(prof.surface_factor))})")
    speed = link.speed_kph
    if speed is None:
        speed = float(assign_speeds(pd.DataFrame({"highway": [link.to_class], "surface": [link.surface]}), prof)[0])
        if not speed > 0:
            raise ConfigError(f"{what}: class {link.to_class!r} with surface {link.surface!r} has no speed in the "
                              f"profile {prof.source}; give speed_kph")
    attrs = {"highway": link.to_class, "surface": link.surface, "name": link.name}
    joined = join_lines(network, read_new_lines(link.layer, what), attrs, speed,
                        snap_tolerance_m=link.snap_tolerance_m, crossings=link.crossings,
                        way_id_start=way_id_start, what=what)
    out = ed.take(joined.parent, joined.network.edges)
    new = joined.parent < 0
    out.kind[new], out.reason[new] = "new_link", link.name
    return joined.network, out


def _upgraded_speed(edges: pd.DataFrame, sel: np.ndarray, up: Upgrade, profile: Profile, source: str) -> np.ndarray:
    """The speed each selected edge would have after the upgrade (others: 0)."""
    from .speeds import assign_speeds

    if up.to_class is not None and up.to_class not in profile.highway_speed_kph:
        raise ConfigError(f"{source}: upgrade '{up.name}': to_class = {up.to_class!r} is not a class of the "
                          f"speed profile {profile.source} ({', '.join(sorted(profile.highway_speed_kph))})")
    if up.surface is not None and profile.surface_factor and up.surface not in profile.surface_factor:
        raise ConfigError(f"{source}: upgrade '{up.name}': surface = {up.surface!r} is not a surface of the "
                          f"speed profile {profile.source} ({', '.join(sorted(profile.surface_factor))})")
    out = np.zeros(len(edges))
    if not sel.any():
        return out
    if up.speed_kph is not None:
        out[sel] = up.speed_kph
        return out
    tags = edges.loc[sel, [c for c in ("highway", "surface", "tracktype", "smoothness") if c in edges]].copy()
    if up.to_class is not None:
        tags["highway"] = up.to_class
        # a road built to a class loses the defects of the old one
        for col in ("tracktype", "smoothness"):
            if col in tags:
                tags[col] = None
    if up.surface is not None:
        tags["surface"] = up.surface
    out[sel] = assign_speeds(tags, profile)
    return out


def season_effect(edges: pd.DataFrame, season: Season, profile: Profile | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What a season does to each edge: ``(closed, reason, speed factor)``.

    Closed: dry-season-only roads (a layer's ``season`` column, OSM ``seasonal=*`` or a conditional
    restriction closing them in the wet season, see :mod:`territorial_gis._roadattrs`) when
    ``close_dry_season_only``, fords (OSM ``ford=*`` on the way or a node of it) when ``close_fords``. Factor: the lowest
    of the surface factor (the class factor where the surface is unknown), the tracktype and the
    smoothness factors that apply; 1 where none does.
    """
    n = len(edges)
    if profile is not None:
        _check_season_values(season, profile)
    closed = np.zeros(n, dtype=bool)
    reason = np.full(n, None, dtype=object)
    mode = profile.mode if profile is not None else "drive"
    if season.close_dry_season_only:
        dry = dry_season_only(edges, mode)
        closed |= dry
        reason[dry] = f"{season.name}: {DRY_SEASON_ONLY}"
    if season.close_fords:
        ford = fords(edges)
        reason[ford & ~closed] = f"{season.name}: ford"
        closed |= ford
    factor = np.ones(n)

    def lookup(col: str, table: Mapping[str, float]) -> np.ndarray:
        if not table or col not in edges:
            return np.full(n, np.nan)
        return edges[col].map(lambda v: table.get(v, np.nan) if isinstance(v, str) else np.nan).to_numpy(float)

    surf = lookup("surface", season.surface_factor)
    known_surface = edges["surface"].notna().to_numpy() if "surface" in edges else np.zeros(n, dtype=bool)
    cls = np.where(known_surface, np.nan, lookup("highway", season.highway_factor))
    for f in (surf, cls, lookup("tracktype", season.tracktype_factor), lookup("smoothness", season.smoothness_factor)):
        factor = np.where(np.isfinite(f), np.minimum(factor, f), factor)
    return closed, reason, factor


def _season_notes(edges: pd.DataFrame, season: Season, mode: str = "drive") -> list[str]:
    notes = []
    if season.close_dry_season_only and not has_season_information(edges):
        notes.append(f"season '{season.name}': the network records no season of use (no season column, no "
                     "OSM seasonal or conditional access tag), so no road was closed for being dry-season only")
    if season.close_dry_season_only:
        unread = conditional_closures_not_read(edges, mode)
        if unread.any():
            keys = [k for k in CONDITIONAL_KEYS["walk" if mode == "walk" else "drive"] if k in edges]
            example = next(str(v) for k in keys for v in edges.loc[unread, k] if isinstance(v, str) and "@" in v)
            notes.append(f"season '{season.name}': {int(edges.loc[unread, 'segment'].nunique())} road pieces have "
                         f"conditional closures not read as the wet season (e.g. '{example}': month ranges, 'wet', "
                         "combined conditions); they stay open, check them")
    if season.close_fords and "ford" not in edges:
        notes.append(f"season '{season.name}': the network records no fords, so none was closed")
    for text in notes:
        log.warning(text)
    return notes


def _check_season_values(season: Season, profile: Profile) -> None:
    """A season naming a surface, tracktype, smoothness or class the speed model does not know
    (:func:`~territorial_gis.speeds.known_values`: the shipped profiles and ``profile``) is refused;
    a value known to the model that ``profile`` does not list is simply absent from its roads."""
    from .speeds import known_values

    known = known_values(profile)
    for key, tag in (("surface_factor", "surface"), ("tracktype_factor", "tracktype"),
                     ("smoothness_factor", "smoothness"), ("highway_factor", "highway")):
        values: dict[str, float] = getattr(season, key)
        unknown = sorted(set(values) - known[tag])
        if unknown:
            raise ConfigError(f"{season.source}: [{key}] names {', '.join(unknown)}, unknown to the speed "
                              f"model (profile {profile.source} and the shipped profiles; known: "
                              f"{', '.join(sorted(known[tag]))})")


def select_edges(network: RoadNetwork, select: Selection, *, stretches: Mapping[int, Sequence[int]] | None = None,
                 what: str = "selection") -> np.ndarray:
    """Boolean mask of the directed edges a selection names (both directions of a road)."""
    import shapely

    edges = network.edges
    mask = np.zeros(network.n_edges, dtype=bool)
    if select.ways:
        if "osm_way_id" not in edges:
            raise ConfigError(f"{what}: ways given, but the network has no OSM way ids (built from a layer?)")
        ids = pd.to_numeric(edges["osm_way_id"], errors="coerce")
        missing = sorted(set(select.ways) - set(ids.dropna().astype(np.int64)))
        if missing:
            raise ConfigError(f"{what}: OSM way id(s) {', '.join(map(str, missing[:10]))} are not in the network")
        mask |= ids.isin(select.ways).to_numpy()
    if select.bbox is not None:
        box = shapely.box(*select.bbox)
        hit = shapely.intersects(network.edge_geometry, box)
        if not hit.any():
            raise ConfigError(f"{what}: bbox {list(select.bbox)} touches no road of the network")
        mask |= hit
    if select.stretches:
        if stretches is None:
            raise ConfigError(f"{what}: stretches given, but no upgrade ranking to look them up in "
                              "(run the study's corridors stage first)")
        missing = sorted(set(select.stretches) - set(stretches))
        if missing:
            raise ConfigError(f"{what}: stretch id(s) {', '.join(map(str, missing))} are not in the upgrade "
                              f"ranking ({len(stretches)} stretches)")
        segs = np.concatenate([np.asarray(stretches[s], dtype=np.int64) for s in select.stretches])
        mask |= edges["segment"].isin(segs).to_numpy()
    if select.layer is not None:
        mask |= _edges_along_layer(network, select.layer, select.buffer_m, what)
    return mask


def _edges_along_layer(network: RoadNetwork, path: str, buffer_m: float, what: str) -> np.ndarray:
    """Edges with at least :data:`LAYER_SHARE` of their length within ``buffer_m`` of the layer's lines."""
    import geopandas as gpd
    import shapely

    from .errors import CRSError, InputFileError

    try:
        layer = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001 - GDAL raises many kinds
        raise InputFileError(f"{what}: cannot read layer {path}: {exc}") from None
    if layer.crs is None:
        raise CRSError(f"{what}: layer {path} has no CRS")
    lines = layer.geometry[layer.geometry.geom_type.isin(["LineString", "MultiLineString"])]
    if lines.empty:
        raise ConfigError(f"{what}: layer {path} holds no lines")
    zone = shapely.buffer(shapely.union_all(lines.to_crs(network.crs).to_numpy()), buffer_m)
    geoms = network.edge_geometry_metric()
    length = shapely.length(geoms)
    near = shapely.intersects(geoms, zone)
    share = np.zeros(len(geoms))
    idx = np.flatnonzero(near)
    if len(idx):
        inside = shapely.length(shapely.intersection(geoms[idx], zone))
        share[idx] = np.where(length[idx] > 0, inside / np.where(length[idx] > 0, length[idx], 1), 1.0)
    mask = share >= LAYER_SHARE
    if not mask.any():
        raise ConfigError(f"{what}: no road of the network runs along the lines of {path} "
                          f"(within {buffer_m:g} m)")
    return mask


def _rebuild(network: RoadNetwork, speed: np.ndarray, attrs: Mapping[str, np.ndarray], closed: np.ndarray,
             scenario: Scenario) -> RoadNetwork:
    from .network import RoadNetwork

    edges = network.edges.copy()
    for col, values in attrs.items():
        edges[col] = values
    length = edges["length_m"].to_numpy(dtype=float)
    edges["speed_kph"] = speed
    with np.errstate(divide="ignore"):
        edges["travel_time_s"] = np.where(speed > 0, length / (np.maximum(speed, 1e-9) / 3.6), np.inf)
    closed = closed | ~(speed > 0)
    meta = dict(network.meta)
    meta["scenario"] = {"name": scenario.name, "source": scenario.source}
    net = RoadNetwork(network.node_id, network.node_lon, network.node_lat, network.edge_u, network.edge_v, edges,
                      network.edge_geometry, crs=network.crs, meta=meta)
    if closed.any():
        if closed.all():
            raise ConfigError(f"{scenario.source}: the scenario closes every road of the network")
        net = net.subgraph_edges(~closed, note=f"scenario '{scenario.name}' closed {int(closed.sum())} edges")
    return net


def _changes_frame(network: RoadNetwork, changed: np.ndarray, kind: np.ndarray, reason: np.ndarray,
                   before: np.ndarray, after: np.ndarray) -> gpd.GeoDataFrame:
    import geopandas as gpd

    e = network.edges
    idx = np.flatnonzero(changed)
    data = {
        "segment": e["segment"].to_numpy()[idx],
        "osm_way_id": e["osm_way_id"].to_numpy()[idx] if "osm_way_id" in e else np.full(len(idx), None),
        "name": e["name"].to_numpy()[idx] if "name" in e else np.full(len(idx), None),
        "highway": e["highway"].to_numpy()[idx] if "highway" in e else np.full(len(idx), None),
        "change": kind[idx], "reason": reason[idx],
        "speed_before_kph": before[idx], "speed_after_kph": after[idx],
    }
    return gpd.GeoDataFrame(data, geometry=list(network.edge_geometry[idx]), crs=4326)


# ---------------------------------------------------------------------------- comparing
CHANGE_STATUS = ("unchanged", "faster", "slower", "cut_off", "newly_reached", "unreachable")


def compare_access(base: pd.DataFrame, scenario: pd.DataFrame, tiers: Sequence[str], *,
                   cut_off_reason: str = "cut_off", tolerance_min: float = 1e-6) -> pd.DataFrame:
    """Per locality and tier: minutes in the base and in the scenario, the change and its kind.

    ``base`` and ``scenario`` are access tables of the same localities (same index), e.g. from
    :func:`territorial_gis.access.travel_times_to_nearest` on the two networks. For each tier:
    ``travel_time_<tier>_min_base``, ``..._scenario``, ``change_<tier>_min`` (scenario minus
    base; NaN when either is unknown) and ``status_<tier>``: ``unchanged``, ``faster``,
    ``slower``, ``cut_off`` (reached in the base, not in the scenario: written as
    ``cut_off_reason``, e.g. "dry_season_only" for the rains), ``newly_reached``,
    ``unreachable`` (in both).
    """
    if not base.index.equals(scenario.index):
        raise ConfigError("the base and scenario access tables are not of the same localities")
    out: dict[str, Any] = {}
    for t in tiers:
        col = columns.time_col(t)
        b = pd.to_numeric(base[col], errors="coerce").to_numpy(dtype=float)
        s = pd.to_numeric(scenario[col], errors="coerce").to_numpy(dtype=float)
        d = s - b
        status = np.full(len(b), "unchanged", dtype=object)
        both = np.isfinite(b) & np.isfinite(s)
        status[both & (d > tolerance_min)] = "slower"
        status[both & (d < -tolerance_min)] = "faster"
        status[np.isfinite(b) & ~np.isfinite(s)] = cut_off_reason
        status[~np.isfinite(b) & np.isfinite(s)] = "newly_reached"
        status[~np.isfinite(b) & ~np.isfinite(s)] = "unreachable"
        out[f"{col}_base"] = b
        out[f"{col}_scenario"] = s
        out[columns.change_col(t)] = np.where(both, d, np.nan)
        out[columns.status_col(t)] = status
    return pd.DataFrame(out, index=base.index)


def compare_classes(base: pd.DataFrame, scenario: pd.DataFrame, *, population_col: str = columns.POPULATION
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """MRA/FRA class of each unit in the base and the scenario, and the transition table.

    Returns ``(per_unit, transitions)``: per unit ``area_class_base``, ``area_class_scenario``,
    ``class_change`` (e.g. ``FRA->MRA``; None when unchanged); transitions one row per
    (base, scenario) pair with ``n_units`` and ``population`` (NaN when unknown).
    """
    if not base.index.equals(scenario.index):
        raise ConfigError("the base and scenario classifications are not of the same units")
    b = base[columns.AREA_CLASS].astype(object)
    s = scenario[columns.AREA_CLASS].astype(object)
    change = np.where(b.to_numpy() != s.to_numpy(), b.astype(str) + "->" + s.astype(str), None)
    per = pd.DataFrame({"area_class_base": b, "area_class_scenario": s, "class_change": change}, index=base.index)
    pop = (pd.to_numeric(base[population_col], errors="coerce") if population_col in base
           else pd.Series(np.nan, index=base.index))
    tr = (pd.DataFrame({"from_class": b, "to_class": s, "population": pop})
          .groupby(["from_class", "to_class"], dropna=False)
          .agg(n_units=("population", "size"), population=("population", lambda v: v.sum(min_count=1)))
          .reset_index())
    return per, tr


def summarize_comparison(change: pd.DataFrame, tiers: Sequence[str], *, population: pd.Series | None = None,
                         cut_off_reason: str = "cut_off") -> pd.DataFrame:
    """One row per tier: localities (and population, when known) slower, faster, cut off, newly
    reached, and the median and maximum minutes lost among the slower ones."""
    rows = []
    pop = None if population is None else pd.to_numeric(population, errors="coerce")
    known = pop is not None and pop.notna().any()
    for t in tiers:
        st = change[columns.status_col(t)]
        d = change[columns.change_col(t)]
        slower = st == "slower"
        row: dict[str, Any] = {"tier": t, "localities": len(st)}
        for label in ("slower", "faster", cut_off_reason, "newly_reached"):
            row[f"n_{label}"] = int((st == label).sum())
            row[f"population_{label}"] = float(pop[st == label].sum()) if known and pop is not None else math.nan
        row["median_minutes_lost"] = float(d[slower].median()) if slower.any() else 0.0
        row["max_minutes_lost"] = float(d[slower].max()) if slower.any() else 0.0
        rows.append(row)
    return pd.DataFrame(rows)


def cut_off_label(scenario: Scenario) -> str:
    """How a place reached in the base but not in the scenario is labelled: ``dry_season_only``
    when the scenario is a season that closes roads, else ``cut_off``."""
    if scenario.season is not None and not scenario.closures:
        return DRY_SEASON_ONLY
    return "cut_off"


__all__ = [
    "Closure", "Scenario", "ScenarioNetwork", "Season", "Selection", "Upgrade", "apply_scenario",
    "builtin_seasons", "compare_access", "compare_classes", "cut_off_label", "load_scenario", "load_season",
    "season_effect", "select_edges", "summarize_comparison"]
