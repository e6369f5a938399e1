"""A study config, typed and validated in full before any stage runs.

A study is described by a TOML file (``examples/guaviare/study.toml``; the embedded
demonstration region is ``data/porto_alegre/study.toml``) with one table per section. Each
section is a frozen dataclass below; :meth:`StudyConfig.from_toml` / :meth:`StudyConfig.from_dict`
read every key, check its type, its allowed values, that the files it names exist and that the
tiers the other sections refer to are tiers of the study, and stop at the first problem with a
message naming the file, the section, the key, the value and what was expected. No stage runs
on a config that did not pass.

A new key goes into its section's dataclass with a default, a type and (where it is a path,
a choice or a positive number) its metadata; the stage reads it from ``config.<section>.<key>``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Union

from ._toml import read_toml
from .errors import ConfigError

#: suffixes that make a text value a file path (tiers, areas, regions)
PATH_SUFFIXES = (".csv", ".gpkg", ".geojson", ".json", ".parquet", ".geoparquet", ".shp", ".fgb", ".tsv",
                 ".txt", ".zip", ".xlsx", ".toml", ".tif", ".tiff")
_TIER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def looks_like_path(text: str) -> bool:
    """Whether a config value names a file (by its suffix or a folder separator)."""
    return Path(text).suffix.lower() in PATH_SUFFIXES or "/" in text or os.sep in text


def _key(default: Any = None, *, path: str | None = None, choices: tuple[Any, ...] | None = None,
         positive: bool = False, non_negative: bool = False, length: int | None = None) -> Any:
    """A config key: its default and how it is checked.

    ``path``: ``"file"`` (a file that must exist, relative to the config's folder),
    ``"file_or_builtin:<package>"`` (a file, or the name of a TOML shipped in the package),
    ``"file_or_spec"`` (a file when it looks like one, else a specification text).
    """
    meta = {"path": path, "choices": choices, "positive": positive, "non_negative": non_negative,
            "length": length}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


# ---------------------------------------------------------------------------- sections
@dataclass(frozen=True)
class StudySection:
    """``[study]``: what the study is called."""

    name: str | None = None
    title: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class NetworkSection:
    """``[network]``: the road network, from a file (``source``) or downloaded (``place``/``bbox``).
    Keys left unset take the defaults of :func:`territorial_gis.network.build_network`; the
    line-layer keys (``layer`` ... ``season``) apply to road line layers only. ``scenario`` (a
    scenario file or a built-in season such as ``"wet"``) runs the whole study in that state of
    the world."""

    source: str | None = _key(path="file")
    place: str | None = None
    bbox: list[float] | None = _key(length=4)
    polygon: str | None = _key(path="file")
    profile: str | None = _key(path="file_or_builtin:territorial_gis.profiles")
    mode: str | None = _key(choices=("drive", "walk"))
    layer: str | None = None
    schema: str | None = _key(path="file_or_builtin:territorial_gis.schemas")
    crossings: bool | None = None
    snap_tolerance_m: float | None = _key(non_negative=True)
    unmapped: str | None = _key(choices=("refuse", "default"))
    default_class: str | None = None
    season: str | None = _key(choices=("all", "wet"))
    largest_component: bool | None = None
    scenario: str | None = _key(path="scenario")


@dataclass(frozen=True)
class LocalitiesSection:
    """``[localities]``: a file of places, a built-in catalogue, or a hexagon grid over the network."""

    file: str | None = _key(path="file")
    path: str | None = _key(path="file")
    catalogue: str | None = _key(choices=("inegi_localities", "conapo_sun", "geonames"))
    id_col: str | None = None
    pop_col: str | None = None
    name_col: str | None = None
    lon_col: str | None = None
    lat_col: str | None = None
    crs: str | None = None
    layer: str | None = None
    sheet: str | None = None
    encoding: str | None = None
    decimal: str | None = _key(choices=(".", ","))
    thousands: str | None = _key(choices=(".", ",", "space", "none"))
    country: str | list[str] | None = None
    state: str | int | list[str | int] | None = None
    bbox: list[float] | None = _key(length=4)
    polygon: str | None = _key(path="file")
    min_population: float | None = _key(non_negative=True)
    grid_hex_m: float | None = _key(positive=True)
    clip_to_network: bool = True

    FILE_KEYS: ClassVar[tuple[str, ...]] = ("id_col", "pop_col", "name_col", "lon_col", "lat_col", "crs", "layer",
                                            "sheet", "encoding", "decimal", "thousands")
    CATALOGUE_KEYS: ClassVar[tuple[str, ...]] = ("country", "state", "bbox", "polygon", "min_population")

    def load_spec(self) -> dict[str, Any]:
        """The table :func:`territorial_gis.places.load_localities` reads (set keys only)."""
        keys = (("file",) + self.FILE_KEYS) if self.file_path else (("catalogue",) + self.CATALOGUE_KEYS)
        spec = {k: getattr(self, k) for k in keys if getattr(self, k) is not None}
        if self.file_path:
            spec["file"] = self.file_path
        return spec

    @property
    def file_path(self) -> str | None:
        """``file`` (or its alias ``path``)."""
        return self.file or self.path


@dataclass(frozen=True)
class AccessSection:
    """``[access]``: routing options and the access summaries."""

    max_snap_m: float | None = _key(positive=True)
    walk_kph: float | None = _key(positive=True)
    isochrones_min: list[float] = _key([], positive=True)
    isochrone_tier: str | None = None
    population_within_min: list[float] = _key([], positive=True)


@dataclass(frozen=True)
class TerrainSection:
    """``[terrain]``: rasters sampled at the places (name -> file), e.g. ``dem``."""

    rasters: dict[str, str] = _key({}, path="file")


@dataclass(frozen=True)
class ClassifySection:
    """``[classify]``: MRA/FRA rules, the areas classified and the tiers the access rules read."""

    rules: str | None = _key(path="file_or_builtin:territorial_gis.rules")
    areas: str = _key("localities", path="file_or_spec")
    tiers: list[str] | None = None


@dataclass(frozen=True)
class CorridorsSection:
    """``[corridors]``: corridors from MRA localities and the upgrade ranking (keys left unset take
    the defaults of :func:`territorial_gis.corridors.analyze_corridors`)."""

    enabled: bool = True
    targets: list[str] | None = None
    upgrade_to: str | None = None
    top: int | None = _key(positive=True)
    n_candidates: int | None = _key(positive=True)


@dataclass(frozen=True)
class HubsSection:
    """``[hubs]``: hub localities (runs when the section is present and enabled; keys left unset
    take the defaults of :func:`territorial_gis.hubs.select_hubs`)."""

    enabled: bool = True
    max_time_min: float | None = _key(positive=True)
    model: str | None = _key(choices=("cover", "maxcover", "pmedian"))
    k: int | None = _key(positive=True)
    method: str | None = _key(choices=("exact", "greedy", "auto"))
    min_population: float | None = _key(non_negative=True)


@dataclass(frozen=True)
class TerritoriesSection:
    """``[territories]``: functional territories around centres (runs when present and enabled)."""

    enabled: bool = True
    centres: str = "intermediate_city"
    max_time_min: float | None = _key(positive=True)
    employment_tier: str | None = None
    employment_limit_min: float | None = _key(positive=True)
    regions: str | None = _key(path="file_or_spec")
    region_id_column: str | None = None
    within_region: bool = False


@dataclass(frozen=True)
class ScenariosSection:
    """``[scenarios]``: scenario files or built-in seasons (``"wet"``), each compared with the base study."""

    run: list[str] = _key([], path="scenario")


@dataclass(frozen=True)
class RaiSection:
    """``[rai]``: the Rural Access Index (runs when the section is present and enabled; keys left
    unset take the defaults of :func:`territorial_gis.rai.rural_access_index`)."""

    enabled: bool = True
    distance_m: float | None = _key(positive=True)
    urban_density_per_km2: float | None = _key(positive=True)
    rural_column: str | None = None
    area_column: str | None = None
    population_raster: str | None = _key(path="file")


@dataclass(frozen=True)
class OutputsSection:
    """``[outputs]``: which deliverables are written."""

    map: bool = True
    report: bool = True
    self_contained: bool = True
    network_gpkg: bool = True
    #: language of the map and report (default ``settings.lang``)
    lang: str | None = _key(choices=("en", "es", "pt"))
    #: link Leaflet from its CDN instead of inlining it (the map then needs internet)
    cdn: bool = False
    #: rivers and lakes (line or polygon files) drawn on the base map of the map and report
    water: list[str] = _key([], path="file")
    #: boundary polygons (municipalities, ...) drawn as outlines on the base map
    boundaries: list[str] = _key([], path="file")


SECTIONS: dict[str, type] = {
    "study": StudySection, "network": NetworkSection, "localities": LocalitiesSection,
    "access": AccessSection, "terrain": TerrainSection, "classify": ClassifySection,
    "corridors": CorridorsSection, "hubs": HubsSection, "territories": TerritoriesSection,
    "scenarios": ScenariosSection, "rai": RaiSection, "outputs": OutputsSection,
}
#: sections whose keys are free: name -> rule (tiers) or credit (attribution)
FREE_SECTIONS = ("tiers", "attribution")
#: sections a study runs only when they are present
OPTIONAL_SECTIONS = ("hubs", "territories", "rai")
# the tier rule keys places.derive_tier reads (a rule written as a table)
_TIER_KEYS = {"min_population", "max_population", "column", "min", "max", "top", "by", "ids", "where",
              "file", "path", "catalogue", "catalog", "id_col", "pop_col", "name_col", "lon_col", "lat_col",
              "crs", "layer", "country", "state", "bbox", "polygon"}


@dataclass(frozen=True)
class StudyConfig:
    """A whole study, every section typed and checked (see the module docstring).

    ``hubs`` and ``territories`` are None when the config has no such section (the stage does
    not run); every other section falls back to its defaults.
    """

    study: StudySection
    network: NetworkSection
    localities: LocalitiesSection
    tiers: dict[str, str | dict[str, Any]]
    access: AccessSection = field(default_factory=AccessSection)
    terrain: TerrainSection = field(default_factory=TerrainSection)
    classify: ClassifySection = field(default_factory=ClassifySection)
    corridors: CorridorsSection = field(default_factory=CorridorsSection)
    hubs: HubsSection | None = None
    territories: TerritoriesSection | None = None
    scenarios: ScenariosSection = field(default_factory=ScenariosSection)
    rai: RaiSection | None = None
    outputs: OutputsSection = field(default_factory=OutputsSection)
    attribution: dict[str, str] = field(default_factory=dict)
    source: str = "<study config>"

    @property
    def name(self) -> str:
        """The study's name (``[study] name``)."""
        return self.study.name or "study"

    @property
    def title(self) -> str:
        """The study's title, else its name."""
        return self.study.title or self.name

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> StudyConfig:
        """Read and check a study TOML file; relative paths are taken from the file's folder."""
        p = Path(path)
        raw = read_toml(p, "study config")
        return cls.from_dict(raw, source=str(p), base_dir=p.resolve().parent, default_name=p.stem)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, source: str = "<study config>",
                  base_dir: str | os.PathLike[str] | None = None,
                  default_name: str = "study") -> StudyConfig:
        """Check a study given as a dict of sections (relative paths from ``base_dir``, default
        the current folder); ``source`` names it in messages."""
        return _Parser(source, Path(base_dir) if base_dir is not None else Path.cwd()).study(raw, default_name)

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain tables (for ``study.json`` and hashing); keys left at
        None are omitted, absent optional sections too."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "source" or value is None:
                continue
            is_section = dataclasses.is_dataclass(value) and not isinstance(value, type)
            out[f.name] = ({k: v for k, v in dataclasses.asdict(value).items() if v is not None}
                           if is_section else value)
        return out

    def input_files(self) -> dict[str, str]:
        """Every input file the config names (``section.key`` -> absolute path)."""
        files: dict[str, str] = {}
        for name in SECTIONS:
            sec = getattr(self, name)
            if sec is None:
                continue
            for f in dataclasses.fields(sec):
                value = getattr(sec, f.name)
                if isinstance(value, dict):
                    files.update({f"{name}.{f.name}.{k}": v for k, v in value.items()
                                  if isinstance(v, str) and os.path.isfile(v)})
                elif isinstance(value, list) and f.metadata.get("path"):
                    files.update({f"{name}.{f.name}.{i}": v for i, v in enumerate(value)
                                  if isinstance(v, str) and os.path.isfile(v)})
                elif isinstance(value, str) and f.metadata.get("path") and os.path.isfile(value):
                    files[f"{name}.{f.name}"] = value
        for tier, rule in self.tiers.items():
            path = rule if isinstance(rule, str) else (rule.get("file") or rule.get("path"))
            if isinstance(path, str) and os.path.isfile(path):
                files[f"tiers.{tier}"] = path
        return files


# ---------------------------------------------------------------------------- checking
class _Parser:
    """Checks one config; every message starts with the config's source."""

    def __init__(self, source: str, base: Path) -> None:
        self.source = source
        self.base = base

    def fail(self, where: str, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: {where}: {message}" if where else f"{self.source}: {message}")

    def study(self, raw: Mapping[str, Any], default_name: str) -> StudyConfig:
        if not isinstance(raw, Mapping):
            raise self.fail("", f"a study config must be a table of sections, not {type(raw).__name__}")
        unknown = set(raw) - set(SECTIONS) - set(FREE_SECTIONS)
        if unknown:
            raise self.fail("", f"unknown section(s) {', '.join(sorted(map(str, unknown)))}; allowed: "
                                f"{', '.join(sorted([*SECTIONS, *FREE_SECTIONS]))}")
        kw: dict[str, Any] = {"source": self.source}
        for name, cls in SECTIONS.items():
            if name in raw:
                kw[name] = self.section(name, cls, raw[name])
            elif name not in OPTIONAL_SECTIONS:
                kw[name] = cls()
        kw["tiers"] = self.tiers(raw.get("tiers"))
        kw["attribution"] = self.free_table("attribution", raw.get("attribution", {}), str)
        if kw["study"].name is None:
            kw["study"] = dataclasses.replace(kw["study"], name=default_name)
        cfg = StudyConfig(**kw)
        self.check_whole(cfg)
        return cfg

    def section(self, name: str, cls: type, table: Any) -> Any:
        if not isinstance(table, Mapping):
            raise self.fail(f"[{name}]", f"must be a table, not {table!r}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(table) - set(fields)
        if unknown:
            raise self.fail(f"[{name}]", f"unknown key(s) {', '.join(sorted(map(str, unknown)))}; allowed: "
                                         f"{', '.join(sorted(fields))}")
        hints = typing.get_type_hints(cls)
        values = {}
        for key, value in table.items():
            where = f"[{name}] {key} = {value!r}"
            v = _coerce(value, hints[key], lambda expected, w=where: self.fail(w, f"expected {expected}"))
            values[key] = self.check_key(where, fields[key], v)
        return cls(**values)

    def check_key(self, where: str, f: dataclasses.Field[Any], value: Any) -> Any:
        meta = f.metadata
        if value is None:
            return None
        items = value if isinstance(value, list) else [value]
        if meta.get("choices") and any(v not in meta["choices"] for v in items):
            raise self.fail(where, f"expected one of {', '.join(map(repr, meta['choices']))}")
        numbers = [v for v in items if isinstance(v, (int, float))]
        if meta.get("positive") and any(not v > 0 for v in numbers):
            raise self.fail(where, "expected a positive number")
        if meta.get("non_negative") and any(v < 0 for v in numbers):
            raise self.fail(where, "expected a number >= 0")
        if meta.get("length") and len(value) != meta["length"]:
            raise self.fail(where, f"expected {meta['length']} numbers (west, south, east, north)")
        if meta.get("path"):
            if isinstance(value, dict):
                return {k: self.path(f"{where[:where.index(' =')]}.{k}", v, meta["path"]) for k, v in value.items()}
            if isinstance(value, list):
                return [self.path(where, v, meta["path"]) for v in value]
            return self.path(where, value, meta["path"])
        return value

    def path(self, where: str, value: str, kind: str) -> str:
        """Resolve a path key against the config's folder and check that the file exists."""
        if kind == "file_or_spec" and not looks_like_path(value):
            return value
        if kind == "scenario":
            return self.scenario(where, value)
        if kind.startswith("file_or_builtin:") and not looks_like_path(value):
            from importlib import resources

            package = kind.split(":", 1)[1]
            if resources.files(package).joinpath(f"{value}.toml").is_file():
                return value
            shipped = sorted(p.name[:-5] for p in resources.files(package).iterdir() if p.name.endswith(".toml"))
            raise self.fail(where, f"no such file, and not a shipped name ({', '.join(shipped)})")
        if "://" in value:
            return value
        p = Path(value) if os.path.isabs(value) else (self.base / value)
        if not p.exists():
            raise self.fail(where, f"file not found ({p.resolve()})")
        return str(p.resolve())

    def scenario(self, where: str, value: str) -> str:
        """A built-in season name, or a scenario file read and checked now."""
        from .scenarios import builtin_seasons, load_scenario

        if not looks_like_path(value) and value in builtin_seasons():
            return value
        resolved = self.path(where, value, "file")
        try:
            load_scenario(resolved)
        except ConfigError as exc:
            raise self.fail(where, str(exc)) from None
        return resolved

    def tiers(self, table: Any) -> dict[str, str | dict[str, Any]]:
        if not table:
            raise self.fail("[tiers]", "missing: name at least one destination tier, "
                                       "e.g. employment_centre = \"population>=15000\"")
        if not isinstance(table, Mapping):
            raise self.fail("[tiers]", f"must be a table, not {table!r}")
        from .places import parse_rule

        out: dict[str, str | dict[str, Any]] = {}
        for name, rule in table.items():
            where = f"[tiers] {name} = {rule!r}"
            if not _TIER_NAME.fullmatch(str(name)):
                raise self.fail(where, "a tier name must be letters, digits and underscores "
                                       f"(it becomes the column travel_time_{name}_min)")
            if isinstance(rule, str):
                out[name] = self.path(where, rule, "file") if looks_like_path(rule) else rule
                if not looks_like_path(rule):
                    try:
                        parse_rule(rule)
                    except ConfigError as exc:
                        raise self.fail(where, str(exc)) from None
            elif isinstance(rule, Mapping):
                bad = set(rule) - _TIER_KEYS
                if bad:
                    raise self.fail(where, f"unknown key(s) {', '.join(sorted(bad))}; allowed: "
                                           f"{', '.join(sorted(_TIER_KEYS))}")
                out[name] = {k: (self.path(f"{where}.{k}", v, "file") if k in ("file", "path", "polygon")
                                 and isinstance(v, str) else v) for k, v in rule.items()}
            else:
                raise self.fail(where, "expected a rule text, a file name or a table")
        return out

    def free_table(self, name: str, table: Any, tp: type) -> dict[str, Any]:
        if not isinstance(table, Mapping):
            raise self.fail(f"[{name}]", f"must be a table, not {table!r}")
        for k, v in table.items():
            if not isinstance(v, tp):
                raise self.fail(f"[{name}] {k} = {v!r}", "expected a text")
        return dict(table)

    def check_whole(self, cfg: StudyConfig) -> None:
        """What no single key shows: required sections and tiers named across sections."""
        net, loc = cfg.network, cfg.localities
        if not (net.source or net.place or net.bbox):
            raise self.fail("[network]", "needs 'source' (a file), 'place' or 'bbox'")
        if not (loc.file_path or loc.catalogue or loc.grid_hex_m):
            raise self.fail("[localities]", "needs 'file', 'catalogue' or 'grid_hex_m'")
        tiers = list(cfg.tiers)
        refs: list[tuple[str, str, list[str | None]]] = [
            ("access", "isochrone_tier", [cfg.access.isochrone_tier]),
            ("classify", "tiers", list(cfg.classify.tiers or [])),
            ("corridors", "targets", list(cfg.corridors.targets or []))]
        if cfg.territories is not None and cfg.territories.enabled:
            refs += [("territories", "centres", [cfg.territories.centres]),
                     ("territories", "employment_tier", [cfg.territories.employment_tier])]
        for sec, key, names in refs:
            for t in names:
                if t is not None and t not in tiers:
                    raise self.fail(f"[{sec}] {key} = {t!r}", f"not a tier of the study ({', '.join(tiers)})")
        if cfg.hubs is not None and cfg.hubs.enabled:
            if cfg.hubs.max_time_min is None:
                raise self.fail("[hubs]", "needs max_time_min (minutes within which a hub covers a locality)")
            if cfg.hubs.model in ("maxcover", "pmedian") and cfg.hubs.k is None:
                raise self.fail("[hubs]", f"model {cfg.hubs.model!r} needs k (the number of hubs)")


_DESCRIBE = {str: "a text", bool: "true or false", int: "a whole number", float: "a number"}


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp) if a is not type(None))
    if origin is list:
        return f"a list of {_describe(typing.get_args(tp)[0]).removeprefix('a ')}s"
    if origin is dict:
        return f"a table of {_describe(typing.get_args(tp)[1]).removeprefix('a ')}s"
    if origin is Literal:
        return "one of " + ", ".join(map(repr, typing.get_args(tp)))
    return _DESCRIBE.get(tp, str(tp))


def _coerce(value: Any, tp: Any, fail: Any) -> Any:
    """``value`` as type ``tp`` (ints widen to floats); otherwise ``fail(expected)`` is raised."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, _MismatchError.raise_)
            except _MismatchError:
                continue
        raise fail(_describe(tp))
    if origin is list:
        if not isinstance(value, list):
            raise fail(_describe(tp))
        return [_coerce(v, typing.get_args(tp)[0], lambda _e: fail(_describe(tp))) for v in value]
    if origin is dict:
        if not isinstance(value, Mapping):
            raise fail(_describe(tp))
        return {str(k): _coerce(v, typing.get_args(tp)[1], lambda _e: fail(_describe(tp)))
                for k, v in value.items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    raise fail(_describe(tp))


class _MismatchError(Exception):
    @staticmethod
    def raise_(_expected: str) -> _MismatchError:
        return _MismatchError()


def check_sections(raw: Mapping[str, Any], source: str, *, extra_top: tuple[str, ...] = ()) -> None:
    """Check the section and key names of a partial study config (a batch's ``[defaults]`` or
    a region's overrides); types are checked once the parts are merged into a whole study."""
    unknown = set(raw) - set(SECTIONS) - set(FREE_SECTIONS) - set(extra_top)
    if unknown:
        raise ConfigError(f"{source}: unknown section(s) {', '.join(sorted(map(str, unknown)))}; allowed: "
                          f"{', '.join(sorted([*extra_top, *SECTIONS, *FREE_SECTIONS]))}")
    for name, cls in SECTIONS.items():
        table = raw.get(name)
        if table is None:
            continue
        if not isinstance(table, Mapping):
            raise ConfigError(f"{source}: [{name}]: must be a table, not {table!r}")
        allowed = {f.name for f in dataclasses.fields(cls)}
        bad = set(table) - allowed
        if bad:
            raise ConfigError(f"{source}: [{name}]: unknown key(s) {', '.join(sorted(map(str, bad)))}; "
                              f"allowed: {', '.join(sorted(allowed))}")


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Recursively merge ``override`` into a copy of ``base`` (tables merge, values replace)."""
    import copy

    out = copy.deepcopy(dict(base))
    for k, v in override.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_study_config(config: str | os.PathLike[str] | Mapping[str, Any] | StudyConfig | None = None, *,
                      base_dir: str | os.PathLike[str] | None = None) -> StudyConfig:
    """A checked study config from a TOML file, a dict of sections, a :class:`StudyConfig`,
    or None for the embedded demonstration region (``data/porto_alegre/study.toml``)."""
    if isinstance(config, StudyConfig):
        return config
    if config is None:
        from .data import data_path

        return StudyConfig.from_toml(data_path("porto_alegre", "study.toml"))
    if isinstance(config, Mapping):
        return StudyConfig.from_dict(config, base_dir=base_dir)
    return StudyConfig.from_toml(config)
