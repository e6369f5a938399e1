"""The base map drawn from a study's own data, so maps read without background tiles.

Roads by class from the study network (``network.gpkg``), rivers and lakes and boundaries where
the study names them (``basemap.gpkg``), and the names of towns and destinations; also the
names of things the outputs carry only as ids (road names of corridor stretches, the nearest
named place of an unnamed hub or territory centre). Used by the interactive map and the static
overview map of the report.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._style import ROAD_CLASSES, present, road_class
from .columns import DEST_ID, LOCALITY_ID, NAME, POPULATION, TIER

#: at most this many road vertices on the base map; the least important classes go first
ROAD_VERTEX_BUDGET = 40_000
#: simplification tolerance of the base roads, as a share of the region's diagonal
ROAD_SIMPLIFY_SHARE = 4e-4


def _to_4326(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        return gdf.to_crs(4326)
    return gdf


def base_roads(roads: gpd.GeoDataFrame | None, *, budget: int = ROAD_VERTEX_BUDGET
               ) -> gpd.GeoDataFrame:
    """Roads merged per base-map class (:data:`territorial_gis._style.ROAD_CLASSES`), simplified.

    Returns a frame with ``road_class``, ``vertices`` and a (multi)line ``geometry`` per class,
    most important class first. Classes are left out, least important first, while the total
    vertex count exceeds ``budget`` (main and secondary roads are always kept).
    """
    empty = gpd.GeoDataFrame({"road_class": [], "vertices": []}, geometry=[], crs=4326)
    if roads is None or not len(roads):
        return empty
    r = _to_4326(roads)
    r = r[r.geometry.notna() & ~r.geometry.is_empty]
    if not len(r):
        return empty
    w, s, e, n = r.total_bounds
    tol = max(float(np.hypot(e - w, n - s)) * ROAD_SIMPLIFY_SHARE, 1e-6)
    cls = (r["highway"] if "highway" in r.columns else pd.Series("road", index=r.index)).map(road_class)
    rows = []
    for name in ROAD_CLASSES:
        geoms = r.geometry[cls == name].to_numpy()
        if not len(geoms):
            continue
        merged = shapely.line_merge(shapely.multilinestrings(shapely.get_parts(geoms)))
        simple = shapely.simplify(merged, tol, preserve_topology=False)
        rows.append({"road_class": name, "vertices": int(shapely.get_num_coordinates(simple)),
                     "geometry": simple})
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)
    keep = np.ones(len(out), bool)
    total = int(out["vertices"].sum())
    for i in range(len(out) - 1, 1, -1):
        if total <= budget:
            break
        keep[i] = False
        total -= int(out["vertices"].iloc[i])
    return out[keep].reset_index(drop=True)


def stretch_names(segments: pd.DataFrame | None, roads: pd.DataFrame | None) -> dict[Any, str]:
    """``stretch_id -> road name`` of corridor stretches, from the names of their road pieces
    (``segment_ids``) in the network; the most common name first, at most two."""
    if segments is None or roads is None or "segment_ids" not in segments.columns \
            or "stretch_id" not in segments.columns or "segment" not in roads.columns \
            or NAME not in roads.columns:
        return {}
    named = roads[np.asarray([present(v) for v in roads[NAME]], dtype=bool)]
    by_segment = dict(zip(named["segment"].astype(np.int64), named[NAME].astype(str), strict=True))
    out: dict[Any, str] = {}
    for sid, ids in zip(segments["stretch_id"], segments["segment_ids"], strict=True):
        pieces = _ids(ids)
        names = [by_segment[p] for p in pieces if p in by_segment]
        if names:
            top = pd.Series(names).value_counts().index.tolist()[:2]
            out[sid] = " / ".join(top)
    return out


def _ids(value: Any) -> list[int]:
    """Road piece ids of a stretch, stored as a list, an array or their text."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [int(v) for v in value]
    return [int(v) for v in re.findall(r"-?\d+", str(value))]


def place_labels(destinations: gpd.GeoDataFrame | None, localities: gpd.GeoDataFrame | None,
                 *, max_labels: int = 300) -> pd.DataFrame:
    """Names to print on the map, most important first.

    Destinations first (in tier order, larger population first), then named localities by
    population; one label per name and place. Returns ``name``, ``lon``, ``lat``, ``rank``
    (0 = most important) and ``major`` (the destinations of the first tier).
    """
    frames = []
    if destinations is not None and len(destinations):
        d = _named(_points(destinations))
        tiers = list(pd.unique(d[TIER].astype(str))) if TIER in d.columns else ["destination"]
        tier_pos = d[TIER].astype(str).map({t: i for i, t in enumerate(tiers)}) if TIER in d.columns else 0
        frames.append(pd.DataFrame({
            "name": d[NAME], "lon": d.geometry.x, "lat": d.geometry.y,
            "k0": tier_pos, "pop": pd.to_numeric(d[POPULATION], errors="coerce") if POPULATION in d.columns
            else np.nan,
            "major": np.asarray(tier_pos) == 0}))
    if localities is not None and len(localities) and NAME in localities.columns:
        loc = _named(_points(localities))
        if len(loc):
            pop = pd.to_numeric(loc[POPULATION], errors="coerce") if POPULATION in loc.columns \
                else pd.Series(np.nan, index=loc.index)
            frames.append(pd.DataFrame({"name": loc[NAME], "lon": loc.geometry.x, "lat": loc.geometry.y,
                                        "k0": 100, "pop": pop, "major": False}))
    if not frames:
        return pd.DataFrame(columns=["name", "lon", "lat", "rank", "major"])
    df = pd.concat(frames, ignore_index=True)
    df = df[np.asarray([present(v) for v in df["name"]], dtype=bool)]
    df["name"] = df["name"].astype(str)
    df = df.sort_values(["k0", "pop"], ascending=[True, False], na_position="last", kind="stable")
    df["cell"] = (df["lon"].round(2).astype(str) + "," + df["lat"].round(2).astype(str))
    df = df.drop_duplicates(subset=["name", "cell"], keep="first").head(max_labels).reset_index(drop=True)
    df["rank"] = np.arange(len(df))
    return df[["name", "lon", "lat", "rank", "major"]]


def _points(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    g = _to_4326(gdf)
    g = g[g.geometry.notna() & ~g.geometry.is_empty]
    if (g.geometry.geom_type != "Point").any():
        g = g.set_geometry(g.geometry.representative_point())
    return g


def nearest_names(points: gpd.GeoSeries, named: Sequence[gpd.GeoDataFrame | None], *,
                  max_km: float = 25.0) -> list[tuple[str, float] | None]:
    """For each point, the nearest named place of ``named`` (destinations, localities) and its
    distance in km, or None when none lies within ``max_km``."""
    from scipy.spatial import cKDTree

    from ._crs import utm_crs_for_bounds

    frames = [_named(_points(f)) for f in named if f is not None and len(f)]
    frames = [f for f in frames if len(f)]
    pts = gpd.GeoSeries(points).to_crs(4326) if gpd.GeoSeries(points).crs is not None else gpd.GeoSeries(points)
    if not frames or not len(pts):
        return [None] * len(pts)
    allnamed = gpd.GeoDataFrame(pd.concat([f[[NAME, "geometry"]] for f in frames], ignore_index=True),
                                geometry="geometry", crs=4326)
    crs = utm_crs_for_bounds(tuple(allnamed.total_bounds))
    a = shapely.get_coordinates(allnamed.to_crs(crs).geometry)
    pc = pts.set_crs(4326, allow_override=True) if pts.crs is None else pts
    reps = pc.representative_point() if (pc.geom_type != "Point").any() else pc
    b = shapely.get_coordinates(reps.to_crs(crs))
    dist, idx = cKDTree(a).query(b)
    names = allnamed[NAME].astype(str).to_numpy()
    return [(names[i], d / 1000.0) if d <= max_km * 1000.0 else None
            for d, i in zip(dist.tolist(), idx.tolist(), strict=True)]


def id_names(frame: pd.DataFrame | None, id_cols: Sequence[str] = (LOCALITY_ID, DEST_ID, "place_id")
             ) -> dict[str, str]:
    """``str(id) -> readable name`` of the rows of ``frame`` (localities or destinations) that
    have one (see :func:`readable_name`)."""
    if frame is None:
        return {}
    out: dict[str, str] = {}
    names = frame[NAME] if NAME in frame.columns else pd.Series([None] * len(frame), index=frame.index)
    for col in id_cols:
        if col in frame.columns:
            readable = readable_names(names, frame[col])
            keep = readable.notna().to_numpy() & frame[col].notna().to_numpy()
            ids = frame[col].astype(str).to_numpy(dtype=object)[keep]
            for k, v in zip(ids.tolist(), readable.to_numpy(dtype=object)[keep].tolist(), strict=True):
                out.setdefault(k, v)
    return out


def is_code(name: Any, ident: Any) -> bool:
    """Whether ``name`` is only a code: equal to the row's id and holding digits (an H3 cell, a
    GeoNames number), unlike a readable slug such as ``public_market``."""
    return str(name) == str(ident) and any(ch.isdigit() for ch in str(name))


def readable_name(name: Any, ident: Any) -> str | None:
    """The name of a place for readers: its name unless that is only a code, else its id when
    the id is a readable slug (``public_market`` -> "public market"), else None."""
    if present(name) and not is_code(name, ident):
        return str(name)
    if present(ident) and not any(ch.isdigit() for ch in str(ident)):
        return str(ident).replace("_", " ")
    return None


def readable_names(names: pd.Series, ids: pd.Series) -> pd.Series:
    """:func:`readable_name` of every row (vectorised); None where there is none."""
    n = pd.Series(names.to_numpy(dtype=object), dtype=object)
    i = pd.Series(ids.to_numpy(dtype=object), dtype=object)
    n_str = n.where(n.notna(), "").astype(str).str.strip()
    i_str = i.where(i.notna(), "").astype(str)
    i_digits = i_str.str.contains(r"\d", regex=True)
    own = (n_str != "") & ~((n_str == i_str) & i_digits)
    slug = (i_str != "") & ~i_digits
    out = n_str.where(own, i_str.str.replace("_", " ", regex=False).where(slug, None))
    return out.where(own | slug, None)


def _named(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The rows with a readable name, in the ``name`` column (see :func:`readable_name`)."""
    id_col = next((c for c in (DEST_ID, LOCALITY_ID, "place_id") if c in frame.columns), None)
    names = frame[NAME] if NAME in frame.columns else pd.Series([None] * len(frame), index=frame.index)
    ids = frame[id_col] if id_col else pd.Series([None] * len(frame), index=frame.index)
    readable = readable_names(names, ids)
    keep = readable.notna().to_numpy()
    return frame[keep].assign(**{NAME: readable.to_numpy(dtype=object)[keep]})


def read_basemap_layers(*, water: Any = None, boundaries: Any = None,
                        bbox: tuple[float, float, float, float] | None = None
                        ) -> dict[str, gpd.GeoDataFrame]:
    """The base-map layers a study names (``[outputs] water`` and ``boundaries``: a file or a
    list of files), in EPSG:4326, repaired (``make_valid``) and clipped to ``bbox`` widened by
    a quarter of its size. Returns ``{"water": ..., "boundaries": ...}`` for the layers given.

    Raises
    ------
    InputFileError
        When a file cannot be read or holds no CRS.
    """
    out: dict[str, gpd.GeoDataFrame] = {}
    for name, spec in (("water", water), ("boundaries", boundaries)):
        if not spec:
            continue
        frames = [_read_layer_file(p, bbox, outlines=name == "boundaries")
                  for p in (spec if isinstance(spec, list) else [spec])]
        frames = [f for f in frames if len(f)]
        if frames:
            out[name] = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=4326)
    return out


def _read_layer_file(path: str, bbox: tuple[float, float, float, float] | None, *,
                     outlines: bool) -> gpd.GeoDataFrame:
    from .errors import CRSError, InputFileError

    try:
        gdf = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # noqa: BLE001 - any GDAL failure is a bad input file
        raise InputFileError(f"cannot read base-map layer {path}: {exc}") from exc
    if gdf.crs is None:
        raise CRSError(f"base-map layer {path} has no CRS")
    gdf = gdf.to_crs(4326)
    geoms = shapely.make_valid(gdf.geometry.to_numpy())
    if outlines:  # boundaries are drawn as lines: clip the lines, not the polygons
        geoms = np.where(shapely.get_dimensions(geoms) == 2, shapely.boundary(geoms), geoms)
    if bbox is not None:
        w, s, e, n = bbox
        dx, dy = (e - w) * 0.25, (n - s) * 0.25
        geoms = shapely.clip_by_rect(geoms, w - dx, s - dy, e + dx, n + dy)
    keep = ~shapely.is_empty(geoms)
    name_col = next((c for c in gdf.columns if str(c).lower() in ("name", "nombre", "nome", "nombre_geo")
                     or str(c).upper().endswith("CNMBR")), None)
    names = gdf[name_col].astype(object).to_numpy() if name_col else np.full(len(gdf), None, dtype=object)
    return gpd.GeoDataFrame({NAME: names[keep]}, geometry=geoms[keep], crs=4326)


def locality_labels(localities: gpd.GeoDataFrame, ids: Sequence[Any], destinations: gpd.GeoDataFrame | None,
                    tx: Any) -> dict[str, str]:
    """``str(id) -> readable label`` of the localities ``ids``: the name, else the id with the
    nearest named place (``"hex_87, 12 km from Calamar"``)."""
    named = id_names(localities)
    want = {str(i) for i in ids if present(i)}
    out = {i: named[i] for i in want if i in named}
    missing = sorted(want - set(out))
    id_col = next((c for c in (LOCALITY_ID, "place_id") if c in localities.columns), None)
    if not missing or id_col is None:
        return {**{i: i for i in missing}, **out}
    loc = localities[localities[id_col].astype(str).isin(missing)]
    near = nearest_names(loc.geometry, [destinations, localities])
    for i, nb in zip(loc[id_col].astype(str), near, strict=True):
        out[i] = tx("{id}, {km} km from {place}", id=i, km=tx.number(nb[1], 0), place=nb[0]) if nb else i
    return {**{i: i for i in missing if i not in out}, **out}
