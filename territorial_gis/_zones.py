"""Zones of localities around chosen points: the machinery the hub and territory stages share.

Both stages place a few points among the localities (hubs, centres), let every locality join
the point it reaches fastest, and draw the zones as polygons. What they share lives here, below
both, so neither stage imports the other:

* :func:`check_max_time` and :func:`population_of` - the validation and weights both use;
* :func:`hub_ids_of` - the id of each hub of a hubs frame;
* :func:`locality_rows` and :func:`place_points` - snap the localities and the point sets in
  one augmented graph, a point that is one of the localities routing from the locality's own
  snapped point (so a hub or centre reaches itself in 0 minutes);
* :func:`zone_polygons` - locality Voronoi cells dissolved per zone, clipped to the study area
  (:func:`study_area_metric`: a given polygon, else the buffered hull of the localities).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._routing import RouteOptions, ids_of, lonlat_of, snap_localities
from .columns import HUB_ID, POPULATION
from .errors import ColumnError, ConfigError

if TYPE_CHECKING:
    import geopandas as gpd

    from ._engine import AugmentedGraph
    from .network import RoadNetwork

N_LOCALITIES = "n_localities"
AREA_KM2 = "area_km2"


def check_max_time(max_time_min: Any, what: str = "maximum travel time") -> float:
    """``max_time_min`` as a positive finite float, else :class:`ConfigError`."""
    try:
        t = float(max_time_min)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number of minutes, got {max_time_min!r}") from None
    if not math.isfinite(t) or t <= 0:
        raise ConfigError(f"{what} must be a positive number of minutes, got {max_time_min!r}")
    return t


def population_of(localities: pd.DataFrame, column: str | None = POPULATION) -> np.ndarray:
    """Population (weights) as floats with NaN/negative as 0; all ones when the column is absent."""
    if column is None or column not in localities:
        return np.ones(len(localities))
    v = pd.to_numeric(localities[column], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(v) & (v > 0), v, 0.0)


def known_population(localities: pd.DataFrame, column: str | None = POPULATION) -> np.ndarray:
    """Population as floats, NaN where unknown (missing, not a number, negative); all NaN when
    the column is absent. For the population figures written to outputs, where
    :func:`population_of` (unknown as 0) is only a routing weight."""
    if column is None or column not in localities:
        return np.full(len(localities), np.nan)
    v = pd.to_numeric(localities[column], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(v) & (v >= 0), v, np.nan)


def hub_ids_of(hubs: pd.DataFrame) -> np.ndarray:
    """Ids of hubs: their ``hub_id`` column, else the usual id column of a places frame."""
    return (hubs[HUB_ID] if HUB_ID in hubs else ids_of(hubs)).to_numpy()


# ---------------------------------------------------------------------- placing points
def locality_rows(localities: gpd.GeoDataFrame, points: gpd.GeoDataFrame, point_ids: np.ndarray,
                  id_col: str | None = None, tol_m: float = 1.0) -> np.ndarray:
    """Row of each point among the localities when it is one of them (same id and within
    ``tol_m`` of the locality), else -1; such points route from the locality's own snap."""
    loc_ids = pd.Index(ids_of(localities, id_col).astype(str))
    pos = np.full(len(point_ids), -1, dtype=np.int64)
    if not loc_ids.is_unique or len(point_ids) == 0:
        return pos
    cand = loc_ids.get_indexer([str(h) for h in point_ids])
    hit = np.flatnonzero(cand >= 0)
    if len(hit):
        llon, llat = lonlat_of(localities.iloc[cand[hit]], "localities")
        plon, plat = lonlat_of(points.iloc[hit], "points")
        # metres per degree, ample for a 1 m test
        dy = (llat - plat) * 111_320.0
        dx = (llon - plon) * 111_320.0 * np.cos(np.radians(llat))
        same = np.hypot(dx, dy) <= tol_m
        pos[hit[same]] = cand[hit[same]]
    return pos


@dataclass(frozen=True, eq=False)
class PlacedPoints:
    """Localities and point sets snapped into one augmented graph (see :func:`place_points`).

    ``locality_nodes`` is the off-road node of every locality; per point set ``k``,
    ``rows[k]`` is the locality row of each point (-1 when it is not a locality) and
    ``nodes[k]`` the node it routes from or to. Nodes are -1 where a point is farther than
    the snapping limit from every road.
    """

    graph: AugmentedGraph
    locality_nodes: np.ndarray
    rows: tuple[np.ndarray, ...]
    nodes: tuple[np.ndarray, ...]

    @property
    def locality_snapped(self) -> np.ndarray:
        """Whether each locality is within the snapping limit of a road."""
        return self.graph.snaps.ok[self.graph.group(0)].astype(bool)


def place_points(network: RoadNetwork, localities: gpd.GeoDataFrame,
                 point_sets: Sequence[tuple[gpd.GeoDataFrame, np.ndarray | None]], *,
                 options: RouteOptions, id_col: str | None = None) -> PlacedPoints:
    """Snap ``localities`` (group 0) and point sets in one graph.

    Parameters
    ----------
    point_sets
        ``(points, ids)`` pairs. With ``ids``, a point that is one of the localities (same id
        and location, :func:`locality_rows`) routes from the locality's own snapped point and
        only the others are snapped (group ``k + 1`` for set ``k``); with ``ids`` None every
        point is snapped on its own.
    """
    rows = tuple(locality_rows(localities, pts, ids, id_col) if ids is not None
                 else np.full(len(pts), -1, dtype=np.int64) for pts, ids in point_sets)
    extra = [pts.iloc[np.flatnonzero(r < 0)] for (pts, _ids), r in zip(point_sets, rows, strict=True)]
    graph = snap_localities(network, localities, extra, options=options)
    loc_nodes = graph.offroad_node[graph.group(0)]
    nodes = []
    for k, r in enumerate(rows, start=1):
        nd = np.empty(len(r), dtype=np.int64)
        nd[r >= 0] = loc_nodes[r[r >= 0]]
        nd[r < 0] = graph.offroad_node[graph.group(k)]
        nodes.append(nd)
    return PlacedPoints(graph=graph, locality_nodes=loc_nodes, rows=rows, nodes=tuple(nodes))


# ---------------------------------------------------------------------- zone polygons
def study_area_metric(points: np.ndarray, study_area: Any, crs: Any) -> Any:
    """The study area as one shapely geometry in ``crs`` (metric).

    ``study_area`` is a polygon in EPSG:4326, a GeoSeries or a GeoDataFrame (any CRS; none
    means EPSG:4326); None gives the convex hull of ``points`` (x, y in ``crs``) buffered by
    their median nearest-neighbour spacing, at least 100 m.
    """
    import geopandas as gpd
    import shapely
    from scipy.spatial import cKDTree

    if study_area is not None:
        if isinstance(study_area, (gpd.GeoDataFrame, gpd.GeoSeries)):
            s = study_area.geometry if isinstance(study_area, gpd.GeoDataFrame) else study_area
            if s.crs is None:
                s = s.set_crs(4326)
            return s.to_crs(crs).union_all()
        return gpd.GeoSeries([study_area], crs=4326).to_crs(crs).iloc[0]
    hull = shapely.convex_hull(shapely.multipoints(points))
    if len(points) >= 2:
        d, _ = cKDTree(points).query(points, k=2)
        spacing = float(np.median(d[:, 1])) if np.isfinite(d[:, 1]).any() else 0.0
    else:
        spacing = 0.0
    return hull.buffer(max(spacing, 100.0))


def _voronoi_cells(uniq: np.ndarray, area: Any) -> np.ndarray:
    """One Voronoi cell per distinct point of ``uniq`` (in its order), reaching at least to
    ``area`` (not clipped: the cells are a coverage, neighbours share their edges exactly)."""
    import shapely

    if len(uniq) == 1:
        cells = np.array([area])
    else:
        try:  # shapely >= 2.1 keeps the input order
            coll = shapely.voronoi_polygons(shapely.multipoints(uniq), extend_to=area, ordered=True)
            ordered = True
        except TypeError:
            coll = shapely.voronoi_polygons(shapely.multipoints(uniq), extend_to=area)
            ordered = False
        cells = shapely.get_parts(coll)
        if not ordered or len(cells) != len(uniq):  # match each point to the cell holding it
            tree = shapely.STRtree(cells)
            pi, ci = tree.query(shapely.points(uniq), predicate="intersects")
            _, f = np.unique(pi, return_index=True)
            cells = cells[ci[f]]
    return cells


def _dissolve_cells(cells: np.ndarray, keys: np.ndarray, area: Any) -> tuple[np.ndarray, np.ndarray]:
    """The union of the cells of each key (sorted distinct keys, their polygons) clipped to
    ``area``. Cells of a Voronoi diagram are a coverage, so each union is a coverage union
    (linear time); a union whose area is not the sum of its cells' (a cell overlaps another)
    is done again as a general union."""
    import shapely

    codes, uniq = pd.factorize(keys, sort=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniq) + 1))
    areas = shapely.area(cells)
    out = np.empty(len(uniq), dtype=object)
    for k in range(len(uniq)):
        part = cells[order[bounds[k]:bounds[k + 1]]]
        union = shapely.coverage_union_all(part)
        total = float(areas[order[bounds[k]:bounds[k + 1]]].sum())
        if not (shapely.is_valid(union) and abs(shapely.area(union) - total) <= 1e-9 * max(total, 1.0)):
            union = shapely.union_all(part)
        out[k] = union
    return np.asarray(uniq), shapely.intersection(out, area)


def zone_polygons(localities_assigned: gpd.GeoDataFrame, *, by: str, study_area: Any = None,
                  population_col: str = POPULATION) -> gpd.GeoDataFrame:
    """Polygons of zones: locality Voronoi cells dissolved per value of ``by``, clipped to the area.

    Cells are computed in the UTM CRS of the localities; localities without a value of ``by``
    are left out; a location shared by several localities belongs to the zone of the first.

    Returns
    -------
    geopandas.GeoDataFrame
        ``<by>``, ``n_localities``, ``population``, ``area_km2``, geometry (EPSG:4326).
    """
    import geopandas as gpd
    import shapely

    from ._crs import utm_crs_for_bounds

    gdf = localities_assigned
    if by not in gdf:
        raise ColumnError(f"column '{by}' not found; run the assignment first")
    if gdf.crs is None:
        raise ColumnError("localities have no CRS; set one (EPSG:4326 for lon/lat)")
    crs = utm_crs_for_bounds(tuple(gdf.geometry.to_crs(4326).total_bounds))
    pts_geom = gdf.geometry.to_crs(crs)
    if len(pts_geom) and not (pts_geom.geom_type == "Point").all():
        pts_geom = pts_geom.representative_point()
    xy = shapely.get_coordinates(pts_geom.to_numpy())
    area = study_area_metric(xy, study_area, crs)
    uniq, first_idx = np.unique(xy, axis=0, return_index=True)
    cells = _voronoi_cells(uniq, area)
    key = gdf[by].to_numpy()
    cell_key = key[first_idx]
    have = pd.notna(cell_key)
    frame = pd.DataFrame({by: key, "_pop": known_population(gdf, population_col)})
    grouped = frame[pd.notna(key)].groupby(by, sort=True)["_pop"]
    stats = pd.DataFrame({N_LOCALITIES: grouped.size(), POPULATION: grouped.sum(min_count=1)})
    zone_keys, zones = _dissolve_cells(cells[have], cell_key[have], area)
    dissolved = gpd.GeoDataFrame({by: zone_keys}, geometry=zones, crs=crs).set_index(by).join(stats, how="left")
    dissolved[AREA_KM2] = dissolved.geometry.area / 1e6
    out = dissolved.reset_index().to_crs(4326)
    out[N_LOCALITIES] = out[N_LOCALITIES].fillna(0).astype(np.int64)
    return out[[by, N_LOCALITIES, POPULATION, AREA_KM2, "geometry"]]
