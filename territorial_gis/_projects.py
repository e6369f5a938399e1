"""Candidate projects of an appraisal: corridor upgrade stretches and user line layers.

Every candidate becomes one row of a *candidate frame* (EPSG:4326 lines):

``project_id`` (unique), ``name``, ``source`` (``corridor`` or the layer's file name),
``action`` (``upgrade``: make existing road pieces faster; ``new``: build a road along the line),
``to_class`` (a road class of the speed profile), ``to_surface`` (a surface tag or group),
``segment_ids`` (the road pieces an upgrade covers; empty for a new road), ``cost`` (a total cost
given by the user, else NaN: the cost table prices it), ``terrain`` (given, else None) and
``population_served`` (corridor stretches: the MRA population whose corridor uses it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from ._stretches import representative_edges
from .errors import ColumnError, ConfigError, CRSError, InputFileError

if TYPE_CHECKING:
    import geopandas as gpd

    from ._i18n import Texts
    from .network import RoadNetwork

CANDIDATE_COLUMNS = ["project_id", "name", "source", "action", "to_class", "to_surface", "segment_ids", "cost",
                     "terrain", "population_served"]
ACTIONS = ("upgrade", "new")
#: columns looked for as a project's identifier in a line layer, in order
PROJECT_ID_CANDIDATES = ("project_id", "id", "project", "name")
DEFAULT_SURFACE = "asphalt"
#: a road piece belongs to an upgrade line when at least this share of it lies within the match distance
MATCH_SHARE = 0.6


def empty_candidates() -> gpd.GeoDataFrame:
    import geopandas as gpd

    return gpd.GeoDataFrame({c: [] for c in CANDIDATE_COLUMNS}, geometry=[], crs=4326)



#: the name of a project made from a corridor stretch (English data; :func:`localized_name`
#: writes it in the reader's language)
STRETCH_NAME = "{highway} stretch {id}"
_STRETCH_NAME_RX = re.compile(r"^(?P<highway>.+) stretch (?P<id>\d+)$")


def stretch_name(highway: Any, stretch_id: Any) -> str:
    """``tertiary stretch 81``: the name of the project on corridor stretch ``stretch_id``."""
    return STRETCH_NAME.format(highway=highway, id=stretch_id)


def localized_name(name: Any, tx: Texts) -> str:
    """A project's name in the reader's language where the toolkit made it (:data:`STRETCH_NAME`,
    the road class translated); a name given by the user stays as written."""
    m = _STRETCH_NAME_RX.match(str(name))
    if m is None:
        return str(name)
    return tx("{road_class} stretch {n}", road_class=tx.term("highway", m["highway"]), n=m["id"])

def corridor_candidates(stretches: gpd.GeoDataFrame, *, to_class: str, to_surface: str = DEFAULT_SURFACE,
                        prefix: str = "corridor_") -> gpd.GeoDataFrame:
    """Corridor stretches (the ``segments`` layer of :func:`territorial_gis.corridors.corridor_segments`
    or its selection by :func:`territorial_gis.corridors.upgrade_candidates`) as upgrade candidates."""
    import geopandas as gpd

    if len(stretches) == 0:
        return empty_candidates()
    if "segment_ids" not in stretches:
        raise ColumnError("corridor stretches need a 'segment_ids' column (road piece ids)")
    ids = stretches["stretch_id"].to_numpy() if "stretch_id" in stretches else np.arange(len(stretches))
    names = [stretch_name(hw, i) for hw, i in zip(stretches.get("highway", pd.Series(["road"] * len(ids))), ids,
                                                   strict=True)]
    frame = pd.DataFrame({
        "project_id": [f"{prefix}{i}" for i in ids], "name": names, "source": "corridor", "action": "upgrade",
        "to_class": to_class, "to_surface": to_surface,
        "segment_ids": [_ids(s) for s in stretches["segment_ids"]], "cost": np.nan, "terrain": None,
        "population_served": pd.to_numeric(stretches["population_served"], errors="coerce").to_numpy()
        if "population_served" in stretches else np.nan})
    return gpd.GeoDataFrame(frame, geometry=list(stretches.geometry.to_crs(4326)), crs=4326)


def _ids(value: Any) -> np.ndarray:
    """Road piece ids from an array, a list or ``"1;2;3"`` text (as written to files)."""
    if isinstance(value, str):
        parts = [p for p in value.replace(",", ";").split(";") if p.strip()]
        return np.array([int(float(p)) for p in parts], dtype=np.int64)
    return np.atleast_1d(np.asarray(value, dtype=np.int64))


def read_projects(source: str | os.PathLike[str] | gpd.GeoDataFrame, network: RoadNetwork, *,
                  match_m: float = 30.0, layer: str | None = None, to_class: str | None = None,
                  to_surface: str = DEFAULT_SURFACE) -> gpd.GeoDataFrame:
    """User projects from a line layer (GPKG, GeoJSON, shapefile ...; any CRS).

    Columns: ``project_id`` (or ``id``/``project``/``name``), ``action`` (``upgrade``, the default,
    or ``new``), ``to_class`` (a road class of the speed profile; ``to_class`` argument as the
    default), optional ``to_surface``, ``cost`` (total, replaces the cost table), ``terrain``,
    ``name``. An upgrade covers the road pieces of the network lying (for at least 60 % of
    their length) within ``match_m`` metres of its line.

    Raises
    ------
    InputFileError, ColumnError, CRSError, ConfigError
        Unreadable file, no lines, a missing id or class, duplicate ids, an unknown action, or an
        upgrade that matches no road of the network (the message names the project).
    """
    import geopandas as gpd

    name = Path(source).name if not isinstance(source, gpd.GeoDataFrame) else "projects"
    gdf = _read_lines(source, layer) if not isinstance(source, gpd.GeoDataFrame) else source
    if gdf.crs is None:
        raise CRSError(f"{name}: the project layer has no CRS")
    if len(gdf) == 0:
        raise InputFileError(f"{name}: the project layer holds no feature")
    kinds = set(gdf.geometry.geom_type.dropna())
    if not kinds <= {"LineString", "MultiLineString"} or gdf.geometry.isna().any():
        raise InputFileError(f"{name}: projects must be lines (found {', '.join(sorted(map(str, kinds)))})")
    id_col = next((c for c in PROJECT_ID_CANDIDATES if c in gdf), None)
    if id_col is None:
        raise ColumnError(f"{name}: no project id column (one of {', '.join(PROJECT_ID_CANDIDATES)}); columns: "
                          f"{', '.join(c for c in gdf.columns if c != gdf.geometry.name)}")
    ids = gdf[id_col].astype(str).to_numpy()
    dup = pd.Series(ids)[pd.Series(ids).duplicated()].unique()
    if len(dup):
        raise ColumnError(f"{name}: duplicate project id(s) {', '.join(map(str, dup[:5]))} in '{id_col}'")
    action = gdf["action"].fillna("upgrade").astype(str).str.strip().str.lower().to_numpy() if "action" in gdf \
        else np.full(len(gdf), "upgrade")
    bad = sorted(set(action) - set(ACTIONS))
    if bad:
        raise ColumnError(f"{name}: column 'action' holds {', '.join(map(repr, bad))}; expected "
                          f"{' or '.join(ACTIONS)}")
    classes = _column_or(gdf, "to_class", to_class, name)
    geoms = gdf.geometry.to_crs(4326)
    segs = _match_upgrades(network, geoms, action, ids, match_m, name)
    frame = pd.DataFrame({
        "project_id": ids, "name": gdf["name"].astype(str).to_numpy() if "name" in gdf and id_col != "name" else ids,
        "source": name, "action": action, "to_class": classes,
        "to_surface": _column_or(gdf, "to_surface", to_surface, name),
        "segment_ids": segs,
        "cost": pd.to_numeric(gdf["cost"], errors="coerce").to_numpy() if "cost" in gdf else np.nan,
        "terrain": gdf["terrain"].astype(object).where(gdf["terrain"].notna(), None).to_numpy()
        if "terrain" in gdf else None,
        "population_served": np.nan})
    return gpd.GeoDataFrame(frame, geometry=list(geoms.to_numpy()), crs=4326)


def _read_lines(path: str | os.PathLike[str], layer: str | None) -> gpd.GeoDataFrame:
    import geopandas as gpd

    from ._io import check_input

    p = check_input(path, "project layer")
    try:
        return gpd.read_file(p, layer=layer, engine="pyogrio") if layer else gpd.read_file(p, engine="pyogrio")
    except Exception as exc:  # noqa: BLE001 - any GDAL failure is a bad input file
        raise InputFileError(f"cannot read the project layer {p}: {exc}") from None


def _column_or(gdf: gpd.GeoDataFrame, col: str, default: str | None, name: str) -> np.ndarray:
    if col in gdf:
        values = gdf[col].astype(object).where(gdf[col].notna(), default)
    else:
        values = pd.Series([default] * len(gdf), dtype=object)
    if values.isna().any():
        raise ColumnError(f"{name}: project(s) {', '.join(map(str, np.flatnonzero(values.isna())[:5]))} have no "
                          f"'{col}' (give the column or a default)")
    return values.astype(str).str.strip().to_numpy()


def _match_upgrades(network: RoadNetwork, geoms: gpd.GeoSeries, action: np.ndarray, ids: np.ndarray,
                    match_m: float, name: str) -> list[np.ndarray]:
    """Road pieces under each upgrade line (empty arrays for new roads)."""
    if not match_m > 0:
        raise ConfigError(f"the match distance must be positive, got {match_m}")
    segs, rep = representative_edges(network)
    metric = network.edge_geometry_metric()[rep]
    tree = shapely.STRtree(metric)
    lines = geoms.to_crs(network.crs).to_numpy()
    out: list[np.ndarray] = []
    seg_len = shapely.length(metric)
    for k, (line, act) in enumerate(zip(lines, action, strict=True)):
        if act != "upgrade":
            out.append(np.empty(0, dtype=np.int64))
            continue
        zone = shapely.buffer(line, match_m)
        cand = tree.query(zone, predicate="intersects")
        inside = shapely.length(shapely.intersection(metric[cand], zone))
        share = np.where(seg_len[cand] > 0, inside / np.where(seg_len[cand] > 0, seg_len[cand], 1.0), 1.0)
        got = np.sort(segs[cand[share >= MATCH_SHARE]])
        if not len(got):
            raise ConfigError(f"{name}: upgrade project '{ids[k]}' matches no road of the network within "
                              f"{match_m:g} m (is it a new road? set action = \"new\")")
        out.append(got)
    return out


def combine_candidates(frames: Sequence[gpd.GeoDataFrame | None]) -> gpd.GeoDataFrame:
    """One candidate frame from several; ids must be unique across them."""
    import geopandas as gpd

    parts = [f for f in frames if f is not None and len(f)]
    if not parts:
        return empty_candidates()
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=4326)
    dup = out["project_id"][out["project_id"].duplicated()].unique()
    if len(dup):
        raise ColumnError(f"duplicate candidate project id(s): {', '.join(map(str, dup[:5]))}")
    return out
