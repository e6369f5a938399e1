"""The study outputs folder: its file names, and the one reader of it.

The pipeline writes a study into one folder; the map, the report, the batch summary and the
analyst's own scripts read it back through :class:`StudyOutputs`. The file names below are the
only place the layout is spelled (``docs/ARCHITECTURE.md`` describes each file's columns).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import InputFileError

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

NETWORK = "network.gpkg"
LOCALITIES = "localities.gpkg"
DESTINATIONS = "destinations.gpkg"
AREAS = "areas.gpkg"
CORRIDORS = "corridors.gpkg"
UPGRADES = "upgrades.csv"
SENSITIVITY = "sensitivity.csv"
SUMMARY = "summary.csv"
POPULATION_WITHIN = "population_within.csv"
ISOCHRONES = "isochrones.gpkg"
HUBS = "hubs.gpkg"
TERRITORIES = "territories.gpkg"
SCENARIOS = "scenarios.csv"
SCENARIO_CLASSES = "scenario_classes.csv"
RAI = "rai.csv"
RAI_LAYERS = "rai.gpkg"
PERIODS = "periods.csv"
"""``[periods]``: one row per unit of the compared tables (values per period, latest, changes,
transitions, the unit's travel time per tier from its localities)."""
PERIOD_TRANSITIONS = "period_transitions.csv"
"""``[periods]``: ``column``, ``from``, ``to``, ``n_units`` for each class or grade column."""
PERIOD_BANDS = "period_bands.csv"
"""``[periods] bands_tier``: growth of ``bands_value`` by travel-time band."""
TYPOLOGY_LAYERS = "typologies.gpkg"
"""``[typologies]``: one layer per typology applied to localities or areas (named after it)."""
TYPOLOGIES = "typologies.csv"
"""``[typologies]``: units and population by class of each typology applied."""
TYPOLOGY_SENSITIVITY = "typology_sensitivity.csv"
"""``[typologies] sensitivity``: class shares as each threshold moves by +-10 / +-25 %."""
INDICATORS_WITHIN = "indicators_within.csv"
"""``[indicators]``: population and each count within each travel time of each tier."""
INDICATORS_BY_GROUP = "indicators_by_group.csv"
"""``[indicators]``: population, counts and rates by class, hub, territory, region and typology class."""
LAND_WITHIN = "land_within.csv"
"""``[indicators]`` with polygon areas: the share of land within each travel time of each tier."""
SURFACE_BANDS = "surface_bands.csv"
SURFACE_ZONAL = "surface_zonal.csv"
BASEMAP = "basemap.gpkg"
"""Layers ``water`` and ``boundaries`` copied from the files a study names for its maps."""
CRITICALITY = "criticality.gpkg"
CRITICALITY_CSV = "criticality.csv"
APPRAISAL = "appraisal.gpkg"
APPRAISAL_CSV = "appraisal.csv"
PORTFOLIO_CSV = "portfolio.csv"
PORTFOLIO_PNG = "portfolio.png"
MICROREGIONS = "microregions.gpkg"
SERVICE_GAPS = "service_gaps.csv"
FRA = "fra.gpkg"
LINKS = "links.csv"
MAP = "map.html"
REPORT = "report.html"
STUDY_JSON = "study.json"
SCENARIO_PREFIX = "scenario_"
SURFACE_PREFIX = "surface_"
SURFACE_JSON = "surface.json"
"""``tgis surface times`` folder: how the surface was built."""
SURFACE_LOCALITIES = "surface_localities.gpkg"
"""``tgis surface times --localities``: each locality's trip over the surface."""
SURFACE_SUFFIX = ".tif"
STUDY_FILES = (NETWORK, LOCALITIES, DESTINATIONS, AREAS, SURFACE_BANDS, SURFACE_ZONAL, CORRIDORS, UPGRADES,
               SENSITIVITY, SUMMARY, POPULATION_WITHIN, ISOCHRONES, HUBS, TERRITORIES, SCENARIOS, SCENARIO_CLASSES, RAI, RAI_LAYERS,
               FRA, MICROREGIONS, SERVICE_GAPS, LINKS, PERIODS, PERIOD_TRANSITIONS, PERIOD_BANDS, TYPOLOGY_LAYERS,
               TYPOLOGIES, TYPOLOGY_SENSITIVITY, INDICATORS_WITHIN, INDICATORS_BY_GROUP, LAND_WITHIN, CRITICALITY,
               CRITICALITY_CSV, APPRAISAL, APPRAISAL_CSV, PORTFOLIO_CSV, PORTFOLIO_PNG, BASEMAP, MAP, REPORT,
               STUDY_JSON)
"""Every file of fixed name a study may write, in the order the pipeline writes them (plus one
:func:`scenario_file` per scenario and one :func:`surface_file` per tier)."""


#: one line on what each study file is, in the order a reader should open them
DESCRIPTIONS: dict[str, str] = {
    MAP: "the interactive map (open it first; works offline)",
    REPORT: "the summary report (print it or share it)",
    LOCALITIES: "every locality: travel times, MRA/FRA class with its reasons, hub and territory",
    AREAS: "the classified areas (polygons) with their reasons",
    SUMMARY: "population and areas by class",
    SENSITIVITY: "how the class shares move when each threshold moves by 10 % and 25 %",
    POPULATION_WITHIN: "population within each travel time of each tier",
    CORRIDORS: "corridors from the marginal localities to their nearest target, and their road stretches",
    UPGRADES: "road stretches ranked by the person-minutes an upgrade would save",
    HUBS: "hub localities and their hinterlands",
    TERRITORIES: "functional territories around the centres",
    MICROREGIONS: "microregions of the eligible areas, their CECs and the CECs' hinterlands",
    SERVICE_GAPS: "per CEC and service: at the CEC or not, minutes to the nearest from the CEC and its hinterland",
    FRA: "the favorable areas as destinations (tier fra) and their polygons",
    LINKS: "per territory and microregion: linked to a favorable area, or enclosed marginal",
    ISOCHRONES: "areas within each travel time of the isochrone tier",
    SCENARIOS: "per scenario and tier: localities slower, cut off, and the minutes lost",
    SCENARIO_CLASSES: "per scenario: localities changing class (MRA/FRA)",
    RAI: "the Rural Access Index (SDG 9.1.1), per area and scenario",
    RAI_LAYERS: "the 2 km buffer of the all-season roads",
    CRITICALITY: "road stretches ranked by what their failure does (localities cut off, minutes added), "
                 "and the localities each cuts off",
    CRITICALITY_CSV: "the criticality ranking as a table",
    APPRAISAL: "candidate road projects ranked by benefit per cost (with P10-P90 ranges), and the chosen ones",
    APPRAISAL_CSV: "the project ranking as a table",
    PORTFOLIO_CSV: "the portfolio under the budget: projects in the order picked, cumulative cost and benefits",
    PORTFOLIO_PNG: "chart of the portfolio's cumulative benefit against spending",
    INDICATORS_WITHIN: "population and each indicator count within each travel time of each tier",
    INDICATORS_BY_GROUP: "population, indicator counts and rates by class, hub, territory and typology class",
    LAND_WITHIN: "the share of land within each travel time of each tier",
    TYPOLOGIES: "units and population by class of each typology applied",
    TYPOLOGY_SENSITIVITY: "how each typology's class shares move when its thresholds move by 10 % and 25 %",
    TYPOLOGY_LAYERS: "one map layer per typology: the units with their class and its reasons",
    PERIODS: "each unit in every period compared: values, changes, transitions, travel time",
    PERIOD_TRANSITIONS: "how many units moved from each class or grade to each other between the periods",
    PERIOD_BANDS: "growth between the periods by travel-time band",
    SURFACE_BANDS: "land and population by travel-time band, per tier (from the accessibility surfaces)",
    SURFACE_ZONAL: "travel-time statistics of the accessibility surfaces per area and tier",
    DESTINATIONS: "the destinations of every tier",
    BASEMAP: "the base map's rivers, lakes and boundaries, clipped to the study area",
    NETWORK: "the routable road network (for QGIS)",
    STUDY_JSON: "the resolved config, versions, input hashes, timings and notes",
}


def describe(name: str) -> str:
    """One line on what a study file is."""
    if name.startswith(SCENARIO_PREFIX) and name.endswith(".gpkg"):
        return f"scenario '{name[len(SCENARIO_PREFIX):-5]}': each locality's change of access and class, the roads changed"
    tier = surface_tier(name)
    if tier is not None:
        return f"minutes from every cell to the nearest '{tier}' over terrain, rivers and roads (Cloud-Optimised GeoTIFF)"
    return DESCRIPTIONS.get(name, "")


def in_reading_order(names: list[str]) -> list[str]:
    """Study file names in the order of :data:`DESCRIPTIONS` (surfaces and scenario files after the fixed ones)."""
    order = {n: i for i, n in enumerate(DESCRIPTIONS)}

    def key(n: str) -> tuple[int, str]:
        if n in order:
            return order[n], n
        if surface_tier(n) is not None:
            return len(order), n
        return (len(order) + 1 if n.startswith(SCENARIO_PREFIX) else len(order) + 2), n

    return sorted(names, key=key)


def scenario_file(name: str) -> str:
    """``scenario_<name>.gpkg``: the localities (changes of access and class) and the changed
    roads of one scenario."""
    return f"{SCENARIO_PREFIX}{name}.gpkg"


def surface_file(tier: str) -> str:
    """``surface_<tier>.tif``: minutes from every cell of the accessibility surface to the nearest
    destination of ``tier`` (float32, NaN where unreachable)."""
    return f"{SURFACE_PREFIX}{tier}{SURFACE_SUFFIX}"


def surface_tier(name: str) -> str | None:
    """The tier of a :func:`surface_file` name, else None."""
    if name.startswith(SURFACE_PREFIX) and name.endswith(SURFACE_SUFFIX):
        return name[len(SURFACE_PREFIX):-len(SURFACE_SUFFIX)] or None
    return None


def study_files(folder: str | os.PathLike[str]) -> list[str]:
    """The study files present in a folder (fixed names, surfaces and scenario files)."""
    p = Path(folder)
    fixed = [f for f in STUDY_FILES if (p / f).exists()]
    surfaces = sorted(q.name for q in p.glob(f"{SURFACE_PREFIX}*{SURFACE_SUFFIX}"))
    return fixed + surfaces + sorted(q.name for q in p.glob(f"{SCENARIO_PREFIX}*.gpkg"))
STAGING_PREFIX = ".tgis-staging-"
"""Prefix of the hidden folder a study is written into before it is moved into place."""

#: attribute of :class:`StudyOutputs` -> (file, layer) of the geographic layers
LAYERS: dict[str, tuple[str, str | None]] = {
    "destinations": (DESTINATIONS, "destinations"),
    "corridors": (CORRIDORS, "corridors"),
    "segments": (CORRIDORS, "segments"),
    "upgrades": (CORRIDORS, "upgrades"),
    "areas": (AREAS, "areas"),
    "hubs": (HUBS, "hubs"),
    "hinterlands": (HUBS, "hinterlands"),
    "territories": (TERRITORIES, "territories"),
    "isochrones": (ISOCHRONES, None),
    "rai_buffer": (RAI_LAYERS, "all_season_buffer"),
    "water": (BASEMAP, "water"),
    "boundaries": (BASEMAP, "boundaries"),
    "criticality": (CRITICALITY, "criticality"),
    "cut_off": (CRITICALITY, "cut_off"),
    "projects": (APPRAISAL, "projects"),
    "portfolio_projects": (APPRAISAL, "portfolio"),
    "microregions": (MICROREGIONS, "microregions"),
    "eligibility": (MICROREGIONS, "eligibility"),
    "cecs": (MICROREGIONS, "cecs"),
    "cec_hinterlands": (MICROREGIONS, "cec_hinterlands"),
    "fra_areas": (FRA, "fra_areas"),
}
#: columns of the network's edges that the maps read (one direction of each road piece)
ROAD_COLUMNS = ("highway", "name", "surface", "segment", "reversed")
#: attribute of :class:`StudyOutputs` -> CSV table
TABLES: dict[str, str] = {"sensitivity": SENSITIVITY, "summary": SUMMARY,
                          "population_within": POPULATION_WITHIN, "scenarios": SCENARIOS,
                          "scenario_classes": SCENARIO_CLASSES, "rai": RAI, "portfolio": PORTFOLIO_CSV,
                          "service_gaps": SERVICE_GAPS, "links": LINKS,
                          "periods": PERIODS, "period_transitions": PERIOD_TRANSITIONS, "period_bands": PERIOD_BANDS,
                          "typologies": TYPOLOGIES, "typology_sensitivity": TYPOLOGY_SENSITIVITY,
                          "indicators_within": INDICATORS_WITHIN, "indicators_by_group": INDICATORS_BY_GROUP,
                          "land_within": LAND_WITHIN, "surface_bands": SURFACE_BANDS,
                          "surface_zonal": SURFACE_ZONAL}


@dataclass
class SurfaceRaster:
    """A tier's travel-time surface read for drawing: minutes on a lon/lat grid.

    ``minutes`` is float32 (rows north to south, NaN where unreachable or outside the grid);
    ``bounds`` are (west, south, east, north) in degrees (EPSG:4326), the extent to give a map's
    image overlay; ``tags`` the metadata written with the raster (tier, terrain, moves,
    resolution_m, roads ...).
    """

    tier: str
    minutes: np.ndarray
    bounds: tuple[float, float, float, float]
    tags: dict[str, str]
    path: Path


def read_surface(path: str | os.PathLike[str], *, max_size: int | None = 1024) -> SurfaceRaster:
    """A travel-time surface (``surface_<tier>.tif``) reprojected to EPSG:4326 for a map.

    The raster is read from the overview closest to ``max_size`` cells on its longer side
    (None: full resolution) and warped to a lon/lat grid of about the same size (averaged).

    Raises
    ------
    InputFileError
        The file is missing or not a readable raster.
    """
    import rasterio
    from affine import Affine
    from rasterio.enums import Resampling
    from rasterio.warp import calculate_default_transform, reproject

    p = Path(path)
    tier = surface_tier(p.name) or p.stem
    try:
        with rasterio.open(p) as src:
            scale = max(1.0, max(src.width, src.height) / max_size) if max_size else 1.0
            w, h = max(1, round(src.width / scale)), max(1, round(src.height / scale))
            data = src.read(1, out_shape=(h, w), resampling=Resampling.average, masked=True)
            arr = np.ma.filled(data.astype("float32"), np.nan)
            src_transform = src.transform @ Affine.scale(src.width / w, src.height / h)
            dst_transform, dw, dh = calculate_default_transform(src.crs, "EPSG:4326", w, h,
                                                                *rasterio.transform.array_bounds(h, w, src_transform))
            out = np.full((dh, dw), np.nan, dtype="float32")
            reproject(arr, out, src_transform=src_transform, src_crs=src.crs, src_nodata=np.nan,
                      dst_transform=dst_transform, dst_crs="EPSG:4326", dst_nodata=np.nan,
                      resampling=Resampling.bilinear)
            tags = dict(src.tags())
    except rasterio.errors.RasterioIOError as exc:
        raise InputFileError(f"cannot read the surface {p}: {exc}") from exc
    west, north = dst_transform.c, dst_transform.f
    east, south = west + dw * dst_transform.a, north + dh * dst_transform.e
    return SurfaceRaster(tier, out, (west, south, east, north), tags, p)


@dataclass
class StudyOutputs:
    """The layers and tables of a study outputs folder (any may be ``None`` but ``localities``).

    Read one with :meth:`read` (or :func:`load_study_outputs`).
    """

    localities: gpd.GeoDataFrame
    destinations: gpd.GeoDataFrame | None = None
    corridors: gpd.GeoDataFrame | None = None
    segments: gpd.GeoDataFrame | None = None
    upgrades: gpd.GeoDataFrame | pd.DataFrame | None = None
    areas: gpd.GeoDataFrame | None = None
    hubs: gpd.GeoDataFrame | None = None
    hinterlands: gpd.GeoDataFrame | None = None
    territories: gpd.GeoDataFrame | None = None
    isochrones: gpd.GeoDataFrame | None = None
    criticality: gpd.GeoDataFrame | None = None
    cut_off: gpd.GeoDataFrame | None = None
    projects: gpd.GeoDataFrame | None = None
    portfolio_projects: gpd.GeoDataFrame | None = None
    microregions: gpd.GeoDataFrame | None = None
    eligibility: gpd.GeoDataFrame | None = None
    cecs: gpd.GeoDataFrame | None = None
    cec_hinterlands: gpd.GeoDataFrame | None = None
    fra_areas: gpd.GeoDataFrame | None = None
    sensitivity: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None
    population_within: pd.DataFrame | None = None
    scenarios: pd.DataFrame | None = None
    scenario_classes: pd.DataFrame | None = None
    rai: pd.DataFrame | None = None
    rai_buffer: gpd.GeoDataFrame | None = None
    portfolio: pd.DataFrame | None = None
    service_gaps: pd.DataFrame | None = None
    links: pd.DataFrame | None = None
    periods: pd.DataFrame | None = None
    period_transitions: pd.DataFrame | None = None
    period_bands: pd.DataFrame | None = None
    typologies: pd.DataFrame | None = None
    typology_sensitivity: pd.DataFrame | None = None
    indicators_within: pd.DataFrame | None = None
    indicators_by_group: pd.DataFrame | None = None
    land_within: pd.DataFrame | None = None
    #: per typology (layer name): the classified units with their class, subtype, reasons, flags
    typology_layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    #: per scenario name: the localities with their changes, and the changed roads
    scenario_localities: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    scenario_roads: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    #: accessibility surfaces: land and population by travel-time band (columns ``tier``, ``band``,
    #: ``lower_min``, ``upper_min``, ``cells``, ``area_km2``, ``share_area``, ``population``,
    #: ``share_population``) and statistics per area and tier
    surface_bands: pd.DataFrame | None = None
    surface_zonal: pd.DataFrame | None = None
    #: per tier: the path of its travel-time raster (read it with :meth:`read_surface`)
    surfaces: dict[str, Path] = field(default_factory=dict)
    water: gpd.GeoDataFrame | None = None
    boundaries: gpd.GeoDataFrame | None = None
    roads: gpd.GeoDataFrame | None = None
    study: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None

    @classmethod
    def read(cls, folder: str | os.PathLike[str]) -> StudyOutputs:
        """Read the layers of a study outputs folder.

        Parameters
        ----------
        folder
            Folder written by the pipeline; only ``localities.gpkg`` is required.

        Returns
        -------
        StudyOutputs
            The layers found (EPSG:4326), the CSV tables (``upgrades.csv`` when the
            GeoPackage has no ``upgrades`` layer) and the parsed ``study.json``.

        Raises
        ------
        InputFileError
            When the folder or ``localities.gpkg`` is missing or unreadable.
        """
        folder = Path(folder)
        if not folder.exists():
            raise InputFileError(f"study outputs folder not found: {folder}")
        if not folder.is_dir():
            raise InputFileError(f"study outputs path is not a folder: {folder}")
        loc_path = folder / LOCALITIES
        if not loc_path.exists():
            raise InputFileError(f"no {LOCALITIES} in study outputs folder {folder}")
        localities = read_layer(loc_path, "localities")
        if localities is None or localities.empty:
            raise InputFileError(f"{loc_path} holds no localities")
        out = cls(localities=localities, folder=folder)
        for attr, (name, layer) in LAYERS.items():
            setattr(out, attr, read_layer(folder / name, layer))
        if out.upgrades is None:
            out.upgrades = read_csv(folder / UPGRADES)
        for attr, name in TABLES.items():
            setattr(out, attr, read_csv(folder / name))
        out.typology_layers = read_all_layers(folder / TYPOLOGY_LAYERS)
        for path in sorted(folder.glob(f"{SCENARIO_PREFIX}*.gpkg")):
            name = path.stem[len(SCENARIO_PREFIX):]
            loc = read_layer(path, "localities")
            if loc is not None:
                out.scenario_localities[name] = loc
            roads = read_layer(path, "roads")
            if roads is not None:
                out.scenario_roads[name] = roads
        for path in sorted(folder.glob(f"{SURFACE_PREFIX}*{SURFACE_SUFFIX}")):
            tier = surface_tier(path.name)
            if tier is not None:
                out.surfaces[tier] = path
        out.study = read_study_json(folder)
        return out

    def read_surface(self, tier: str, *, max_size: int | None = 1024) -> SurfaceRaster:
        """The travel-time surface of ``tier`` on a lon/lat grid (see :func:`read_surface`)."""
        if tier not in self.surfaces:
            raise InputFileError(f"no surface of tier '{tier}' in {self.folder} (surfaces: "
                                 f"{', '.join(self.surfaces) or 'none'})")
        return read_surface(self.surfaces[tier], max_size=max_size)

    def read_roads(self) -> gpd.GeoDataFrame | None:
        """The roads of ``network.gpkg`` (one row per road piece, :data:`ROAD_COLUMNS` that
        exist), read on first use and kept in :attr:`roads`; None without a network file."""
        if self.roads is not None or self.folder is None:
            return self.roads
        path = self.folder / NETWORK
        if not path.exists():
            return None
        import pyogrio

        try:
            info = pyogrio.read_info(path, layer="edges")
        except Exception:  # noqa: BLE001 - no edges layer: no roads to draw
            return None
        cols = [c for c in ROAD_COLUMNS if c in set(info["fields"])]
        roads = read_layer(path, "edges", columns=cols)
        if roads is not None and "reversed" in roads.columns:
            roads = roads[~roads["reversed"].fillna(False).astype(bool)].drop(columns="reversed")
        self.roads = roads
        return roads

    @property
    def title(self) -> str | None:
        """The study's title (or name) from ``study.json``."""
        return self.study.get("title") or self.study.get("name")

    @property
    def typologies_applied(self) -> list[dict[str, Any]]:
        """The typologies of ``study.json`` in the order applied: ``name``, ``title``, ``units``
        (``localities``/``areas``/``periods``), ``layer`` (key of :attr:`typology_layers`, None
        for periods), ``column``, ``subtype_column``, ``reasons_column``, ``flags``, ``classes``
        (in the typology's order, with ``description``), ``counts`` (units per class),
        ``thresholds``, ``sources``, ``notes``."""
        return list(self.study.get("typologies", {}).get("applied", []))


def load_study_outputs(folder: str | os.PathLike[str]) -> StudyOutputs:
    """Read a study outputs folder (see :meth:`StudyOutputs.read`)."""
    return StudyOutputs.read(folder)


def read_layer(path: Path, layer: str | None = None,
               columns: list[str] | None = None) -> gpd.GeoDataFrame | None:
    """One layer of a GeoPackage (the first when ``layer`` is None); None when absent."""
    import geopandas as gpd
    import pyogrio

    if not path.exists():
        return None
    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(path)]
    except Exception as exc:  # noqa: BLE001 - any GDAL failure is a bad input file
        raise InputFileError(f"cannot read {path}: {exc}") from exc
    if not layers:
        return None
    name = layer if layer is not None else layers[0]
    if layer is not None and layer not in layers:
        if len(layers) == 1 and path.stem == layer:
            name = layers[0]
        else:
            return None
    try:
        return gpd.read_file(path, layer=name, engine="pyogrio", columns=columns, use_arrow=True)
    except Exception as exc:  # noqa: BLE001
        raise InputFileError(f"cannot read layer '{name}' of {path}: {exc}") from exc


def read_all_layers(path: Path) -> dict[str, gpd.GeoDataFrame]:
    """Every layer of a GeoPackage by name; empty when the file is absent."""
    import pyogrio

    if not path.exists():
        return {}
    try:
        names = [str(row[0]) for row in pyogrio.list_layers(path)]
    except Exception as exc:  # noqa: BLE001 - any GDAL failure is a bad input file
        raise InputFileError(f"cannot read {path}: {exc}") from exc
    return {n: gdf for n in names if (gdf := read_layer(path, n)) is not None}


def read_csv(path: Path) -> pd.DataFrame | None:
    """A CSV table of the folder; None when absent. Columns named ``*_code`` (municipality and
    state codes) are read as text, keeping their leading zeros."""
    import pandas as pd

    if not path.exists():
        return None
    try:
        header = pd.read_csv(path, nrows=0).columns
        return pd.read_csv(path, dtype={c: str for c in header if str(c).endswith("_code")})
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read {path}: {exc}") from exc


def read_study_json(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed ``study.json`` of a folder; ``{}`` when absent."""
    path = Path(folder) / STUDY_JSON
    if not path.exists():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot parse {path}: {exc}") from exc
    if not isinstance(meta, dict):
        raise InputFileError(f"{path} must hold a JSON object")
    return meta
