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
    """``[access]``: routing options and the access summaries. ``offroad = "surface"`` measures the
    part of every trip off the road over the accessibility surface of ``[surface]`` (terrain,
    barriers, waterways, crossings) instead of a straight-line walk within ``max_snap_m``."""

    max_snap_m: float | None = _key(positive=True)
    walk_kph: float | None = _key(positive=True)
    offroad: str | None = _key(choices=("straight", "surface"))
    isochrones_min: list[float] = _key([], positive=True)
    isochrone_tier: str | None = None
    population_within_min: list[float] = _key([], positive=True)


@dataclass(frozen=True)
class TerrainSection:
    """``[terrain]``: rasters sampled at the places (name -> file), e.g. ``dem``."""

    rasters: dict[str, str] = _key({}, path="file")


@dataclass(frozen=True)
class ClassifySection:
    """``[classify]``: MRA/FRA rules, the areas classified and the tiers the access rules read.
    ``area_name_column``: the column of the areas file naming each area in the outputs (default
    the first of :data:`territorial_gis.columns.AREA_NAME_CANDIDATES` the file has)."""

    rules: str | None = _key(path="file_or_builtin:territorial_gis.rules")
    areas: str = _key("localities", path="file_or_spec")
    area_name_column: str | None = None
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
    unset take the defaults of :func:`territorial_gis.rai.rural_access_index`). ``method =
    "walk"`` measures the distance walked over the accessibility surface (``[surface]``, else
    flat open ground) instead of the straight line."""

    enabled: bool = True
    distance_m: float | None = _key(positive=True)
    method: str | None = _key(choices=("straight", "walk"))
    urban_density_per_km2: float | None = _key(positive=True)
    rural_column: str | None = None
    area_column: str | None = None
    population_raster: str | None = _key(path="file")


@dataclass(frozen=True)
class CriticalitySection:
    """``[criticality]``: which road stretches, if they fail, cut people off (runs when present and
    enabled; see :func:`territorial_gis.criticality.assess_criticality`). ``only = "corridors"``
    keeps the stretches the corridors use."""

    enabled: bool = True
    only: str = _key("all", choices=("all", "bridges", "corridors"))
    top: int | None = _key(positive=True)
    detour: str = _key("affected", choices=("affected", "all", "none"))
    detour_limit_min: float | None = _key(positive=True)


@dataclass(frozen=True)
class AppraisalSection:
    """``[appraisal]``: costs, benefits and a portfolio of road projects under ``budget`` (runs when
    present and enabled; see :func:`territorial_gis.appraisal.appraise_projects`). Candidates are
    the corridor stretches worth upgrading (``corridor_candidates``) and/or a line layer of
    ``projects``."""

    enabled: bool = True
    budget: float | None = _key(non_negative=True)
    costs: str | None = _key(path="file_or_builtin:territorial_gis.costs")
    uncertainty: str | None = _key(path="file_or_builtin:territorial_gis.costs")
    runs: int = _key(100, non_negative=True)
    seed: int = 0
    objective: str = _key("person_min", choices=("person_min", "mra_to_fra", "newly_connected"))
    projects: str | None = _key(path="file")
    corridor_candidates: bool = True
    upgrade_to: str | None = None
    to_surface: str = "asphalt"
    n_candidates: int = _key(30, positive=True)
    connect_m: float = _key(500.0, positive=True)


@dataclass(frozen=True)
class MicroregionsSection:
    """``[microregions]``: the Microregions Strategy (runs when present and enabled): eligible
    areas, microregions, CECs, hinterlands and service gaps (keys left unset take the defaults of
    :func:`territorial_gis.microregions.run_strategy`)."""

    enabled: bool = True
    areas: str | None = _key(path="file_or_spec")
    area_id_column: str | None = None
    area_name_column: str | None = None
    area_column: str | None = None
    localities: str | None = _key(path="file")
    seat_column: str | None = None
    eligible: str | list[str] | None = None
    eligible_rules: str | None = _key(path="file_or_spec")
    eligible_classes: list[str] | None = None
    method: str | None = _key(choices=("maxp", "skater", "azp"))
    contiguity: str | None = _key(choices=("queen", "rook", "travel_time"))
    tolerance_m: float | None = _key(non_negative=True)
    link_time_min: float | None = _key(positive=True)
    min_population: float | None = _key(positive=True)
    min_areas: int | None = _key(positive=True)
    n_regions: int | None = _key(positive=True)
    attributes: str | list[str] | None = None
    below_floor: str | None = _key(choices=("keep", "drop", "error"))
    seed: int | None = None
    cec_max_time_min: float | None = _key(positive=True)
    cec_model: str | None = _key(choices=("cover", "maxcover", "pmedian"))
    cec_k: int | None = _key(positive=True)
    cec_method: str | None = _key(choices=("exact", "greedy", "auto"))
    cec_min_population: float | None = _key(non_negative=True)
    cec_service_column: str | None = None
    allow_seat: bool = False
    one_per_area: bool = True
    services: dict[str, str] = _key({}, path="file_or_spec")
    service_limit_min: float | None = _key(positive=True)
    presence_m: float | None = _key(positive=True)


@dataclass(frozen=True)
class LinksSection:
    """``[links]``: favorable areas as the destination tier ``fra`` (after classification) and,
    per territory and microregion, linked or enclosed marginal (:mod:`territorial_gis.links`;
    ``limit_min`` default :data:`territorial_gis.links.DEFAULT_LIMIT_MIN`)."""

    enabled: bool = True
    cluster_m: float | None = _key(non_negative=True)
    limit_min: float | None = _key(positive=True)
    employment_tier: str | None = None
    engine_territories: bool = False


@dataclass(frozen=True)
class IndicatorJoin:
    """``[[indicators.join]]``: one indicator table joined onto the localities, by code (``on``),
    by name (``names``, after the code or alone) or by location (``spatial``: the localities take
    the ``rates`` of the polygon holding them). See :func:`territorial_gis.indicators.join_indicators`."""

    table: str | None = _key(path="indicator_table")
    on: str | None = None
    table_on: str | list[str] | None = None
    width: int | list[int] | None = _key(positive=True)
    names: list[str] | None = _key(length=2)
    within: list[str] | None = _key(length=2)
    columns: list[str] | None = None
    prefix: str = ""
    where: str | None = _key(path="condition")
    spatial: bool = False
    rates: list[str] = _key([])


@dataclass(frozen=True)
class IndicatorsSection:
    """``[indicators]``: indicator tables joined onto the localities, counts derived from rates
    (``derive``: name -> rate column, ``population x rate / 100``), and the indicators reported
    beside population: within travel times, by class, hub, territory, region and typology class,
    and the share of land within travel times when the areas are polygons (runs when present)."""

    enabled: bool = True
    join: list[IndicatorJoin] = _key([])
    derive: dict[str, str] = _key({})
    derive_percent: bool = True
    derive_source: str | None = None
    counts: list[str] = _key([])
    rates: list[str] = _key([])
    within_min: list[float] = _key([], positive=True)
    within_tiers: list[str] | None = None
    land_within_min: list[float] = _key([], positive=True)
    by: list[str] | None = None


@dataclass(frozen=True)
class PeriodsSection:
    """``[periods]``: indicator tables of two or more census years (files or built-in tables such
    as ``conapo_marginalization:2010``), compared unit by unit for the units of the study's
    localities (``on``, default ``key``) and attached to them (named ``<prefix><column>``, e.g.
    ``municipal_``); growth by travel-time band of ``bands_tier`` (runs when present). See
    :func:`territorial_gis.changes.compare_periods`."""

    enabled: bool = True
    tables: list[str] = _key([], path="indicator_table")
    labels: list[str] | None = None
    key: str | None = None
    on: str | None = None
    width: int | None = _key(positive=True)
    columns: list[str] | None = None
    categorical: list[str] | None = None
    carry: list[str] = _key([])
    prefix: str = ""
    bands_tier: str | None = None
    bands_min: list[float] = _key([30.0, 60.0, 120.0, 240.0], positive=True)
    bands_value: str = "population"


@dataclass(frozen=True)
class TypologyApply:
    """``[[typologies.apply]]``: one typology (a preset name or a TOML file) applied to the
    ``localities``, the classified ``areas`` or the ``periods``' units, with thresholds
    overridden by name and an optional region column for its summary."""

    typology: str | None = _key(path="file_or_builtin:territorial_gis.typologies")
    units: str = _key("localities", choices=("localities", "areas", "periods"))
    thresholds: dict[str, float] = _key({})
    by: str | None = None


@dataclass(frozen=True)
class TypologiesSection:
    """``[typologies]``: typologies applied to the study's units, each summarised (units and
    population by class) and, with ``sensitivity``, its thresholds moved by +-10 / +-25 %
    (runs when present)."""

    enabled: bool = True
    apply: list[TypologyApply] = _key([])
    sensitivity: bool = True


@dataclass(frozen=True)
class SurfaceSection:
    """``[surface]``: the accessibility surface (runs when the section is present and enabled):
    one travel-time raster per tier, statistics per area, land and population by band; with
    ``[access] offroad = "surface"`` access is measured over it, and ``[rai] method = "walk"``
    walks over it. Keys left unset take the defaults of :class:`territorial_gis.surfaces.SurfaceOptions`.

    ``waterways`` is a list of tables: ``file`` (lines, or river polygons), ``river_class`` or
    ``class_column`` (classes of ``boat_profile``), ``flow`` and ``outlet = [lon, lat]``,
    ``landing_reach_m``, ``barrier`` (default true). ``landings``: ``"settlements"`` (default),
    ``"destinations"``, ``"roads"`` (roads only) or a file of points.
    """

    enabled: bool = True
    resolution_m: float | None = _key(positive=True)
    moves: int | None = _key(choices=(4, 8, 16))
    roads: str | None = _key(choices=("network", "burn"))
    tobler: str | None = _key(choices=("anisotropic", "isotropic"))
    walk_kph: float | None = _key(positive=True)
    dem: str | None = _key(path="file")
    landcover: str | None = _key(path="file")
    landcover_table: str | None = _key(path="file_or_builtin:territorial_gis.profiles")
    barriers: list[str] = _key([], path="file")
    waterways: list[dict[str, Any]] = _key([], path="waterway")
    boat_profile: str | None = _key(path="file_or_builtin:territorial_gis.profiles")
    crossings: str | None = _key(path="file")
    landings: str | None = _key(path="file_or_spec")
    bands_min: list[float] | None = _key(positive=True)
    max_memory_mb: float | None = _key(positive=True)

    WATERWAY_KEYS: ClassVar[tuple[str, ...]] = ("file", "river_class", "class_column", "flow", "outlet",
                                                "landing_reach_m", "barrier")

    def inputs(self, bounds: tuple[float, float, float, float] | None = None) -> Any:
        """The :class:`~territorial_gis.surfaces.SurfaceInputs` of the section."""
        from ._surface import SurfaceInputs, SurfaceOptions, WaterwaySpec

        opts = SurfaceOptions(**{k: getattr(self, k) for k in ("resolution_m", "moves", "roads", "tobler",
                                                                "walk_kph", "max_memory_mb")
                                 if getattr(self, k) is not None})
        ways = []
        for w in self.waterways:
            kw: dict[str, Any] = {k: (tuple(v) if k == "outlet" else v) for k, v in w.items() if k != "file"}
            ways.append(WaterwaySpec(w["file"], profile=self.boat_profile, **kw))
        landings: Any = self.landings if self.landings is not None else "settlements"
        return SurfaceInputs(dem=self.dem, landcover=self.landcover, landcover_table=self.landcover_table,
                             barriers=tuple(self.barriers), waterways=tuple(ways), crossings=self.crossings,
                             landings=None if landings == "roads" else landings, options=opts, bounds=bounds)


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
    "scenarios": ScenariosSection, "rai": RaiSection, "criticality": CriticalitySection,
    "appraisal": AppraisalSection, "microregions": MicroregionsSection, "links": LinksSection,
    "periods": PeriodsSection, "indicators": IndicatorsSection, "typologies": TypologiesSection,
    "surface": SurfaceSection, "outputs": OutputsSection,
}
#: sections whose keys are free: name -> rule (tiers) or credit (attribution)
FREE_SECTIONS = ("tiers", "attribution")
#: sections a study runs only when they are present
OPTIONAL_SECTIONS = ("hubs", "territories", "rai", "criticality", "appraisal", "microregions", "links", "periods",
                     "indicators", "typologies", "surface")
# the tier rule keys places.derive_tier reads (a rule written as a table)
_TIER_KEYS = {"min_population", "max_population", "column", "min", "max", "top", "by", "ids", "where",
              "file", "path", "catalogue", "catalog", "id_col", "pop_col", "name_col", "lon_col", "lat_col",
              "crs", "layer", "country", "state", "bbox", "polygon"}


@dataclass(frozen=True)
class StudyConfig:
    """A whole study, every section typed and checked (see the module docstring).

    ``hubs``, ``territories``, ``rai``, ``periods``, ``indicators`` and ``typologies`` are None
    when the config has no such section (the stage does not run); every other section falls
    back to its defaults.
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
    criticality: CriticalitySection | None = None
    appraisal: AppraisalSection | None = None
    microregions: MicroregionsSection | None = None
    links: LinksSection | None = None
    periods: PeriodsSection | None = None
    indicators: IndicatorsSection | None = None
    typologies: TypologiesSection | None = None
    surface: SurfaceSection | None = None
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
            out[f.name] = _plain(value)
        return out

    def input_files(self) -> dict[str, str]:
        """Every input file the config names (``section.key`` -> absolute path)."""
        files: dict[str, str] = {}
        sections = [(name, getattr(self, name)) for name in SECTIONS]
        while sections:
            name, sec = sections.pop(0)
            if sec is None:
                continue
            for f in dataclasses.fields(sec):
                value = getattr(sec, f.name)
                if isinstance(value, list) and value and _is_section(value[0]):
                    sections += [(f"{name}.{f.name}.{i + 1}", v) for i, v in enumerate(value)]
                elif isinstance(value, dict):
                    files.update({f"{name}.{f.name}.{k}": v for k, v in value.items()
                                  if isinstance(v, str) and os.path.isfile(v)})
                elif isinstance(value, list) and f.metadata.get("path"):
                    files.update({f"{name}.{f.name}.{i}": v for i, v in enumerate(value)
                                  if isinstance(v, str) and os.path.isfile(v)})
                    files.update({f"{name}.{f.name}.{i}": v["file"] for i, v in enumerate(value)
                                  if isinstance(v, dict) and os.path.isfile(str(v.get("file", "")))})
                elif isinstance(value, str) and f.metadata.get("path") and os.path.isfile(value):
                    files[f"{name}.{f.name}"] = value
        for tier, rule in self.tiers.items():
            path = rule if isinstance(rule, str) else (rule.get("file") or rule.get("path"))
            if isinstance(path, str) and os.path.isfile(path):
                files[f"tiers.{tier}"] = path
        return files


# ---------------------------------------------------------------------------- checking
def _layer_fields(path: str) -> list[str] | None:
    """The attribute columns of a vector file, read from its header; None when the file cannot
    be read this way (its stage reports the problem)."""
    try:
        import pyogrio

        return [str(f) for f in pyogrio.read_info(path)["fields"]]
    except Exception:  # noqa: BLE001 - any reading problem is the stage's to report, with its context
        return None


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
            sub = _subsection_type(hints[key])
            if sub is not None:
                values[key] = self.subsections(f"{name}.{key}", sub, value)
                continue
            where = f"[{name}] {key} = {value!r}"
            v = _coerce(value, hints[key], lambda expected, w=where: self.fail(w, f"expected {expected}"))
            values[key] = self.check_key(where, fields[key], v)
        return cls(**values)

    def subsections(self, name: str, cls: type, value: Any) -> list[Any]:
        """A list of tables (``[[indicators.join]]``), each checked as a section named
        ``[indicators.join 1]``, ``[indicators.join 2]``..."""
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise self.fail(f"[{name}]", f"expected a list of tables ([[{name}]] blocks), not {value!r}")
        return [self.section(f"{name} {i + 1}", cls, v) for i, v in enumerate(value)]

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
            raise self.fail(where, "expected 4 numbers (west, south, east, north)" if meta["length"] == 4
                            else f"expected {meta['length']} values")
        if meta.get("path"):
            if isinstance(value, dict):
                return {k: self.path(f"{where[:where.index(' =')]}.{k}", v, meta["path"]) for k, v in value.items()}
            if isinstance(value, list):
                return [self.path(where, v, meta["path"]) for v in value]
            return self.path(where, value, meta["path"])
        return value

    def path(self, where: str, value: Any, kind: str) -> Any:
        """Resolve a path key against the config's folder and check that the file exists."""
        if kind == "waterway":
            return self.waterway(where, value)
        if kind == "file_or_spec" and not looks_like_path(value):
            return value
        if kind == "scenario":
            return self.scenario(where, value)
        if kind == "condition":
            return self.condition(where, value)
        if kind == "indicator_table" and not looks_like_path(value):
            from .indicators import INDICATOR_TABLES, check_builtin_table

            if value.partition(":")[0] not in INDICATOR_TABLES:
                raise self.fail(where, f"no such file, and not a built-in table ({', '.join(INDICATOR_TABLES)}, "
                                       "e.g. conapo_marginalization:2020)")
            try:
                check_builtin_table(value)
            except ConfigError as exc:
                raise self.fail(where, str(exc)) from None
            return value
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

    def condition(self, where: str, value: str) -> str:
        """A row condition (typology syntax, e.g. ``"year == 2015"``), parsed now."""
        from ._typology import parse_condition

        try:
            parse_condition(value, "condition")
        except ConfigError as exc:
            raise self.fail(where, str(exc)) from None
        return value

    def waterway(self, where: str, table: Any) -> dict[str, Any]:
        """One ``[[surface.waterways]]`` table: its keys checked, its file resolved."""
        if not isinstance(table, Mapping):
            raise self.fail(where, "each waterway must be a table with at least 'file'")
        keys = SurfaceSection.WATERWAY_KEYS
        bad = set(table) - set(keys)
        if bad:
            raise self.fail(where, f"unknown waterway key(s) {', '.join(sorted(map(str, bad)))}; allowed: "
                                   f"{', '.join(keys)}")
        if not isinstance(table.get("file"), str):
            raise self.fail(where, "a waterway needs 'file' (river lines or polygons)")
        out = dict(table)
        out["file"] = self.path(f"{where} file", table["file"], "file")
        checks: dict[str, tuple[Any, str]] = {
            "river_class": (str, "a text"), "class_column": (str, "a text"), "flow": (str, "a text"),
            "landing_reach_m": ((int, float), "a positive number"), "barrier": (bool, "true or false")}
        for k, (tp, what) in checks.items():
            v = table.get(k)
            if v is not None and (not isinstance(v, tp) or (k == "landing_reach_m" and (isinstance(v, bool) or v <= 0))):
                raise self.fail(f"{where} {k} = {v!r}", f"expected {what}")
        if table.get("flow") is not None and table["flow"] not in ("outlet", "dem", "digitised", "reversed"):
            raise self.fail(f"{where} flow = {table['flow']!r}", "expected one of 'outlet', 'dem', 'digitised', "
                                                                "'reversed'")
        outlet = table.get("outlet")
        if outlet is not None and not (isinstance(outlet, list) and len(outlet) == 2
                                       and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in outlet)
                                       and -180 <= outlet[0] <= 180 and -90 <= outlet[1] <= 90):
            raise self.fail(f"{where} outlet = {outlet!r}", "expected [lon, lat] in degrees")
        if outlet is not None:
            out["outlet"] = [float(v) for v in outlet]
        return out

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
        if cfg.links is not None and cfg.links.enabled:
            if "fra" in tiers:
                raise self.fail("[tiers] fra", "the name fra is the favorable-area tier of [links]; rename the tier")
            tiers.append("fra")
        refs: list[tuple[str, str, list[str | None]]] = [
            ("access", "isochrone_tier", [cfg.access.isochrone_tier]),
            ("classify", "tiers", list(cfg.classify.tiers or [])),
            ("corridors", "targets", list(cfg.corridors.targets or []))]
        if cfg.territories is not None and cfg.territories.enabled:
            refs += [("territories", "centres", [cfg.territories.centres]),
                     ("territories", "employment_tier", [cfg.territories.employment_tier])]
        if cfg.links is not None and cfg.links.enabled:
            refs.append(("links", "employment_tier", [cfg.links.employment_tier]))
        for sec, key, names in refs:
            for t in names:
                if t is not None and t not in tiers:
                    raise self.fail(f"[{sec}] {key} = {t!r}", f"not a tier of the study ({', '.join(tiers)})")
        if cfg.appraisal is not None and cfg.appraisal.enabled:
            if cfg.appraisal.budget is None:
                raise self.fail("[appraisal]", "needs budget (money available, in the cost table's currency)")
            if not cfg.appraisal.corridor_candidates and not cfg.appraisal.projects:
                raise self.fail("[appraisal]", "no candidate project: give projects = \"FILE\" or keep "
                                               "corridor_candidates = true")
        if cfg.access.offroad == "surface" and cfg.surface is not None and not cfg.surface.enabled:
            raise self.fail("[access] offroad = 'surface'", "the [surface] section is disabled (enabled = false)")
        if cfg.surface is not None and cfg.surface.landings is not None and not looks_like_path(cfg.surface.landings) \
                and cfg.surface.landings not in ("settlements", "destinations", "roads"):
            raise self.fail(f"[surface] landings = {cfg.surface.landings!r}",
                            "expected 'settlements', 'destinations', 'roads' or a file of points")
        if cfg.hubs is not None and cfg.hubs.enabled:
            if cfg.hubs.max_time_min is None:
                raise self.fail("[hubs]", "needs max_time_min (minutes within which a hub covers a locality)")
            if cfg.hubs.model in ("maxcover", "pmedian") and cfg.hubs.k is None:
                raise self.fail("[hubs]", f"model {cfg.hubs.model!r} needs k (the number of hubs)")
        if cfg.microregions is not None and cfg.microregions.enabled:
            self.check_microregions(cfg.microregions)
            self.check_area_column("microregions", "area_id_column", cfg.microregions.areas,
                                   cfg.microregions.area_id_column)
            self.check_area_column("microregions", "area_name_column", cfg.microregions.areas,
                                   cfg.microregions.area_name_column)
        self.check_area_column("classify", "area_name_column", cfg.classify.areas, cfg.classify.area_name_column)
        self.check_indicators(cfg)

    def check_area_column(self, section: str, key: str, areas: str | None, column: str | None) -> None:
        """A column named for the areas of a section is a column of its areas file (read without
        its rows); areas given by a specification (``h3:8``, ``mexico``) are checked when built."""
        if column is None:
            return
        where = f"[{section}] {key} = {column!r}"
        if section == "classify" and areas in ("localities", "points"):
            raise self.fail(where, "the study classifies its localities (no [classify] areas file to take it from)")
        if section == "classify" and areas is not None and not looks_like_path(areas):
            raise self.fail(where, f"the areas {areas!r} are generated cells: they have no name column")
        if areas is None or not looks_like_path(areas) or "://" in areas:
            return
        fields = _layer_fields(areas)
        if fields is not None and column not in fields:
            raise self.fail(where, f"no such column in the areas file {areas} (its columns: {', '.join(fields)})")

    def check_microregions(self, m: MicroregionsSection) -> None:
        """The keys the Microregions Strategy cannot run without."""
        for key in ("areas", "cec_max_time_min"):
            if getattr(m, key) is None:
                raise self.fail("[microregions]", f"needs {key}")
        if (m.eligible is None) == (m.eligible_rules is None):
            raise self.fail("[microregions]", "needs eligible (a condition or a list of conditions over the areas' "
                                              "columns) or eligible_rules (a typology file or preset), not both")
        if m.method in (None, "maxp") and m.min_population is None and m.min_areas is None:
            raise self.fail("[microregions]", "method maxp needs a size floor: min_population or min_areas")
        if m.method in ("skater", "azp") and m.n_regions is None:
            raise self.fail("[microregions]", f"method {m.method} needs n_regions")
        if m.contiguity == "travel_time" and m.link_time_min is None:
            raise self.fail("[microregions]", "contiguity travel_time needs link_time_min")
        if m.cec_model in ("maxcover", "pmedian") and m.cec_k is None:
            raise self.fail("[microregions]", f"cec_model {m.cec_model!r} needs cec_k (CECs per microregion)")

    def check_tiers(self, section: str, key: str, names: list[str | None], tiers: list[str]) -> None:
        for t in names:
            if t is not None and t not in tiers:
                raise self.fail(f"[{section}] {key} = {t!r}", f"not a tier of the study ({', '.join(tiers)})")

    def check_indicators(self, cfg: StudyConfig) -> None:
        """[indicators], [periods] and [typologies]: what each join, comparison and typology needs."""
        tiers = list(cfg.tiers)
        ind, per, typ = cfg.indicators, cfg.periods, cfg.typologies
        if ind is not None and ind.enabled:
            for i, j in enumerate(ind.join, start=1):
                self.check_join(f"[indicators.join {i}]", j)
            self.check_tiers("indicators", "within_tiers", list(ind.within_tiers or []), tiers)
        if per is not None and per.enabled:
            if len(per.tables) < 2:
                raise self.fail("[periods]", "needs tables: two or more, in time order "
                                             "(e.g. [\"conapo_marginalization:2010\", \"conapo_marginalization:2020\"])")
            if per.key is None:
                raise self.fail("[periods]", "needs key: the unit identifier of the tables (e.g. municipality_code)")
            if per.labels is not None and (len(per.labels) != len(per.tables) or len(set(per.labels)) != len(per.labels)):
                raise self.fail(f"[periods] labels = {per.labels!r}", f"expected {len(per.tables)} distinct labels, "
                                                                      "one per table")
            self.check_tiers("periods", "bands_tier", [per.bands_tier], tiers)
        if typ is not None and typ.enabled:
            seen: set[tuple[str, str]] = set()
            for i, a in enumerate(typ.apply, start=1):
                self.check_typology(f"[typologies.apply {i}]", a, cfg)
                pair = (str(a.typology), a.units)
                if pair in seen:
                    raise self.fail(f"[typologies.apply {i}]", f"typology {a.typology!r} is applied to the "
                                                               f"{a.units} twice")
                seen.add(pair)

    def check_join(self, where: str, j: IndicatorJoin) -> None:
        if j.table is None:
            raise self.fail(where, "needs table (a file or a built-in table such as conapo_marginalization:2020)")
        if j.spatial:
            if j.on or j.names:
                raise self.fail(where, "a spatial join takes no 'on' or 'names' (the localities take the values "
                                       "of the polygon holding them)")
            if not j.rates:
                raise self.fail(where, "a spatial join needs rates: the polygon columns the localities take")
        elif j.on is None and j.names is None:
            raise self.fail(where, "needs 'on' (the localities' key column), 'names' ([localities name column, "
                                   "table name column]) or spatial = true")

    def check_typology(self, where: str, a: TypologyApply, cfg: StudyConfig) -> None:
        from .typology import load_typology

        if a.typology is None:
            raise self.fail(where, "needs typology (a preset name such as \"red\" or a TOML file)")
        try:
            t = load_typology(a.typology)
        except ConfigError as exc:
            raise self.fail(f"{where} typology = {a.typology!r}", str(exc)) from None
        unknown = sorted(set(a.thresholds) - set(t.thresholds))
        if unknown:
            raise self.fail(f"{where} thresholds", f"{', '.join(unknown)} not a threshold of {t.name} "
                                                  f"({', '.join(t.thresholds) or 'none'})")
        if a.units == "periods" and (cfg.periods is None or not cfg.periods.enabled):
            raise self.fail(f"{where} units = 'periods'", "the study has no [periods] section")
        no_areas = cfg.classify.areas in ("localities", "points") and cfg.localities.grid_hex_m is None
        if a.units == "areas" and no_areas:
            raise self.fail(f"{where} units = 'areas'", "the study classifies its localities (no [classify] areas)")


_DESCRIBE = {str: "a text", bool: "true or false", int: "a whole number", float: "a number"}


def _is_section(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def _subsection_type(tp: Any) -> type | None:
    """The section class of a ``list[<section>]`` key (``[[indicators.join]]``), else None."""
    if typing.get_origin(tp) is list:
        (arg,) = typing.get_args(tp)
        if isinstance(arg, type) and dataclasses.is_dataclass(arg):
            return arg
    return None


def _plain(value: Any) -> Any:
    """A section as plain tables, keys left at None omitted (lists of sections too)."""
    if _is_section(value):
        return {f.name: _plain(v) for f in dataclasses.fields(value) if (v := getattr(value, f.name)) is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


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
