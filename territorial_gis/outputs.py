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
BASEMAP = "basemap.gpkg"
"""Layers ``water`` and ``boundaries`` copied from the files a study names for its maps."""
MAP = "map.html"
REPORT = "report.html"
STUDY_JSON = "study.json"
SCENARIO_PREFIX = "scenario_"
STUDY_FILES = (NETWORK, LOCALITIES, DESTINATIONS, AREAS, CORRIDORS, UPGRADES, SENSITIVITY, SUMMARY,
               POPULATION_WITHIN, ISOCHRONES, HUBS, TERRITORIES, SCENARIOS, SCENARIO_CLASSES, RAI, RAI_LAYERS,
               BASEMAP, MAP, REPORT, STUDY_JSON)
"""Every file of fixed name a study may write, in the order the pipeline writes them (plus one
:func:`scenario_file` per scenario)."""


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
    ISOCHRONES: "areas within each travel time of the isochrone tier",
    SCENARIOS: "per scenario and tier: localities slower, cut off, and the minutes lost",
    SCENARIO_CLASSES: "per scenario: localities changing class (MRA/FRA)",
    RAI: "the Rural Access Index (SDG 9.1.1), per area and scenario",
    RAI_LAYERS: "the 2 km buffer of the all-season roads",
    DESTINATIONS: "the destinations of every tier",
    NETWORK: "the routable road network (for QGIS)",
    STUDY_JSON: "the resolved config, versions, input hashes, timings and notes",
}


def describe(name: str) -> str:
    """One line on what a study file is."""
    if name.startswith(SCENARIO_PREFIX) and name.endswith(".gpkg"):
        return f"scenario '{name[len(SCENARIO_PREFIX):-5]}': each locality's change of access and class, the roads changed"
    return DESCRIPTIONS.get(name, "")


def in_reading_order(names: list[str]) -> list[str]:
    """Study file names in the order of :data:`DESCRIPTIONS` (scenario files after the fixed ones)."""
    order = {n: i for i, n in enumerate(DESCRIPTIONS)}
    return sorted(names, key=lambda n: (order.get(n, len(order) if n.startswith(SCENARIO_PREFIX) else len(order) + 1), n))


def scenario_file(name: str) -> str:
    """``scenario_<name>.gpkg``: the localities (changes of access and class) and the changed
    roads of one scenario."""
    return f"{SCENARIO_PREFIX}{name}.gpkg"


def study_files(folder: str | os.PathLike[str]) -> list[str]:
    """The study files present in a folder (fixed names and scenario files)."""
    p = Path(folder)
    fixed = [f for f in STUDY_FILES if (p / f).exists()]
    return fixed + sorted(q.name for q in p.glob(f"{SCENARIO_PREFIX}*.gpkg"))
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
}
#: columns of the network's edges that the maps read (one direction of each road piece)
ROAD_COLUMNS = ("highway", "name", "surface", "segment", "reversed")
#: attribute of :class:`StudyOutputs` -> CSV table
TABLES: dict[str, str] = {"sensitivity": SENSITIVITY, "summary": SUMMARY,
                          "population_within": POPULATION_WITHIN, "scenarios": SCENARIOS,
                          "scenario_classes": SCENARIO_CLASSES, "rai": RAI}


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
    sensitivity: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None
    population_within: pd.DataFrame | None = None
    scenarios: pd.DataFrame | None = None
    scenario_classes: pd.DataFrame | None = None
    rai: pd.DataFrame | None = None
    rai_buffer: gpd.GeoDataFrame | None = None
    #: per scenario name: the localities with their changes, and the changed roads
    scenario_localities: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    scenario_roads: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
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
        for path in sorted(folder.glob(f"{SCENARIO_PREFIX}*.gpkg")):
            name = path.stem[len(SCENARIO_PREFIX):]
            loc = read_layer(path, "localities")
            if loc is not None:
                out.scenario_localities[name] = loc
            roads = read_layer(path, "roads")
            if roads is not None:
                out.scenario_roads[name] = roads
        out.study = read_study_json(folder)
        return out

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
        return gpd.read_file(path, layer=name, engine="pyogrio", columns=columns)
    except Exception as exc:  # noqa: BLE001
        raise InputFileError(f"cannot read layer '{name}' of {path}: {exc}") from exc


def read_csv(path: Path) -> pd.DataFrame | None:
    """A CSV table of the folder; None when absent."""
    import pandas as pd

    if not path.exists():
        return None
    try:
        return pd.read_csv(path)
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
