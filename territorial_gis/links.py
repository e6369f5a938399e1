"""Linking marginal areas to favorable ones: FRA as destinations, linked and enclosed marginal zones.

The critics of Mexico's Microregions Strategy pointed out that it "fails to follow this
principle, regrouping marginal municipalities among each others instead of seeking to integrate
them with urban centres and with FRAs". After the MRA/FRA classification this module makes the
favorable areas a destination tier and says, for every zone (territory, microregion), whether
it is linked to one:

* :func:`fra_destinations` - favorable areas as destinations: one per FRA area (classified
  polygons; touching ones merged when asked), or one per cluster of FRA localities within
  ``cluster_m`` of each other, placed at the member nearest the population-weighted centre
  whose road access point lies inside the area, so that routes to it (corridors) end inside
  the favorable area. The areas' (clusters') polygons come with them.
* :func:`zone_links` - per zone, whether it contains or reaches within a limit an FRA
  (``linked``) or not (``enclosed_marginal``), and whether it reaches an employment centre.
* :func:`engine_centres` - several destination tiers as one set of centres, so that territories
  can be built around urban *or* favorable engines (each territory then holds one).

Corridors to the FRA tier are the corridors stage's own (:func:`territorial_gis.corridors.analyze_corridors`
with ``"fra"`` among the targets); travel times to it are the access stage's
(``travel_time_fra_min``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import _regionalize as rg
from ._routing import RouteOptions, ids_of, options_or_default, snap_places
from ._zones import check_max_time, known_population, population_of, zone_polygons
from .columns import AREA_CLASS, DEST_ID, FRA_TIER, LINK_STATUS, NAME, POPULATION, TIER, time_col
from .errors import ColumnError, ConfigError, CRSError

if TYPE_CHECKING:
    import geopandas as gpd

    from .network import RoadNetwork

log = logging.getLogger(__name__)

FRA_ID = "fra_id"
#: minutes within which a zone "reaches" a favorable area (a study's ``[links] limit_min``)
DEFAULT_LIMIT_MIN = 60.0
LINKED = "linked"
ENCLOSED = "enclosed_marginal"


@dataclass(frozen=True, eq=False)
class FavorableAreas:
    """Favorable areas as destinations (:func:`fra_destinations`).

    Attributes
    ----------
    destinations
        One point per FRA cluster, a destination tier: ``dest_id`` (``fra_1``...), ``name``,
        ``tier`` (``fra``), ``population``, ``n_units``, ``unit_ids``, ``centre_lon`` /
        ``centre_lat`` (the population-weighted centre), ``inside_on_road`` (its road access
        point lies inside the cluster), geometry (EPSG:4326).
    areas
        The clusters' polygons: ``fra_id``, ``population``, ``n_units``, ``area_km2``, geometry.
    """

    destinations: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame


def _is_polygonal(gdf: gpd.GeoDataFrame) -> bool:
    import shapely

    types = shapely.get_type_id(gdf.geometry.to_numpy())
    return bool(len(types)) and bool(np.isin(types, [3, 6]).all())


def _clusters(fra: gpd.GeoDataFrame, polygons: bool, cluster_m: float | None, metric: Any,
              all_units: gpd.GeoDataFrame) -> np.ndarray:
    """Cluster label of every FRA unit: each polygon on its own (or polygons within ``cluster_m``
    of each other, 0: touching, together), or points within ``cluster_m`` of each other
    (default 1.5 x the median spacing of all units)."""
    from scipy.spatial import cKDTree

    geoms = fra.geometry.to_crs(metric).to_numpy()
    if polygons:
        if cluster_m is None:
            return np.arange(len(fra), dtype=np.int64)
        pairs = rg.polygon_neighbours(geoms, tolerance_m=float(cluster_m))
        return rg.components(rg.adjacency(len(fra), pairs))
    xy = np.column_stack([fra.geometry.to_crs(metric).x, fra.geometry.to_crs(metric).y])
    if cluster_m is None:
        axy = np.column_stack([all_units.geometry.to_crs(metric).x, all_units.geometry.to_crs(metric).y])
        if len(axy) < 2:
            cluster_m = 0.0
        else:
            d, _ = cKDTree(axy).query(axy, k=2)
            cluster_m = 1.5 * float(np.median(d[:, 1]))
    pairs = [tuple(p) for p in cKDTree(xy).query_pairs(r=float(cluster_m), output_type="ndarray").tolist()]
    return rg.components(rg.adjacency(len(fra), pairs))


def _cluster_polygons(units: gpd.GeoDataFrame, fra_pos: np.ndarray, label: np.ndarray, polygons: bool,
                      metric: Any) -> gpd.GeoSeries:
    """Polygon of every cluster (index = label), in ``metric``: the members dissolved, or the
    Voronoi cells of the member points among all units."""
    import geopandas as gpd

    if polygons:
        parts = gpd.GeoDataFrame({"c": label}, geometry=units.geometry.iloc[fra_pos].to_numpy(), crs=units.crs)
        return parts.to_crs(metric).dissolve(by="c").geometry
    key = np.full(len(units), None, dtype=object)
    key[fra_pos] = label
    pts = gpd.GeoDataFrame({"c": key}, geometry=units.geometry.to_numpy(), crs=units.crs)
    zones = zone_polygons(pts, by="c").to_crs(metric)
    return zones.set_index(zones["c"].astype(int)).geometry


def _place_destination(cand_xy: np.ndarray, centre: np.ndarray, inside: np.ndarray) -> tuple[int, bool]:
    """The candidate nearest the centre among those whose road point lies inside (else among all)."""
    d = np.hypot(cand_xy[:, 0] - centre[0], cand_xy[:, 1] - centre[1])
    if inside.any():
        return int(np.flatnonzero(inside)[np.argmin(d[inside])]), True
    return int(np.argmin(d)), False


def fra_destinations(units: gpd.GeoDataFrame, *, localities: gpd.GeoDataFrame | None = None,
                     class_col: str = AREA_CLASS, fra_class: str = "FRA", cluster_m: float | None = None,
                     network: RoadNetwork | None = None, options: RouteOptions | None = None,
                     population_col: str = POPULATION, id_col: str | None = None) -> FavorableAreas:
    """Favorable areas as a destination tier, one destination per cluster.

    Parameters
    ----------
    units
        Classified units with ``area_class``: area polygons (e.g. ``areas.gpkg``), or locality
        points (e.g. ``localities.gpkg``).
    localities
        Localities with population, for polygon units: the population-weighted centre and the
        candidate destination points of each cluster (else the units' inner points).
    cluster_m
        Polygons: each FRA area is a destination, unless ``cluster_m`` is given: FRA areas
        within this distance of each other (0: touching) are then one. Points: FRA localities
        within this distance of each other are one cluster (default 1.5 x the median spacing
        between neighbouring units).
    network, options
        With a network, the destination of a cluster is the candidate nearest its weighted
        centre whose road access point (snapped, within the snapping limit) lies inside the
        cluster, so that routes to it end inside the favorable area.

    Raises
    ------
    ColumnError
        No class column.
    ConfigError
        No unit is favorable.
    """
    import geopandas as gpd

    from ._crs import utm_crs_for_bounds

    if class_col not in units:
        raise ColumnError(f"class column '{class_col}' not found: classify the areas first (columns: "
                          f"{', '.join(map(str, units.columns))})")
    if units.crs is None:
        raise CRSError("the classified units have no CRS")
    is_fra = (units[class_col].astype(str).str.upper() == fra_class.upper()).to_numpy()
    if not is_fra.any():
        raise ConfigError(f"no unit of class {fra_class} among the {len(units)} classified units: no favorable "
                          "area to link to")
    polygons = _is_polygonal(units)
    metric = utm_crs_for_bounds(tuple(units.geometry.to_crs(4326).total_bounds))
    fra_pos = np.flatnonzero(is_fra)
    fra = units.iloc[fra_pos]
    label = _clusters(fra, polygons, cluster_m, metric, units)
    shapes = _cluster_polygons(units, fra_pos, label, polygons, metric)
    cands = _candidates(fra, label, polygons, localities, shapes, metric, population_col, id_col)
    cand_pop, cand_ids = cands["_pop"].to_numpy(dtype=float), cands["_id"].to_numpy()
    cand_names, cand_cluster = cands["_name"].to_numpy(dtype=object), cands["_cluster"].to_numpy(dtype=np.int64)
    inside_road = _road_points_inside(cands, cand_cluster, shapes, metric, network, options)
    unit_ids = ids_of(units, id_col).astype(str).to_numpy()[fra_pos]
    unit_pop = (pd.to_numeric(fra[population_col], errors="coerce").to_numpy(dtype=float) if population_col in fra
                else np.full(len(fra), np.nan))
    cxy = np.column_stack([cands.geometry.to_crs(metric).x, cands.geometry.to_crs(metric).y])
    rows, dest_geom = [], []
    for c in range(int(label.max()) + 1):
        mine = np.flatnonzero(cand_cluster == c)
        w = cand_pop[mine]
        w = w if w.sum() > 0 else np.ones(len(mine))
        centre = (cxy[mine] * w[:, None]).sum(axis=0) / w.sum()
        k, ok = _place_destination(cxy[mine], centre, inside_road[mine])
        pick = mine[k]
        pop = _cluster_population(unit_pop[label == c], cands, mine, population_col, polygons and localities is not None)
        clon, clat = _to_lonlat(centre, metric)
        rows.append({DEST_ID: f"fra_{c + 1}", NAME: cand_names[pick] or f"FRA {c + 1}", TIER: FRA_TIER,
                     POPULATION: pop, "n_units": int((label == c).sum()),
                     "unit_ids": ";".join(unit_ids[label == c]), "destination_id": cand_ids[pick],
                     "centre_lon": clon, "centre_lat": clat, "inside_on_road": bool(ok) if network else pd.NA})
        dest_geom.append(cands.geometry.to_crs(4326).iloc[pick])
    dests = gpd.GeoDataFrame(rows, geometry=dest_geom, crs=4326)
    areas = gpd.GeoDataFrame({FRA_ID: [f"fra_{c + 1}" for c in range(len(rows))],
                              POPULATION: dests[POPULATION].to_numpy(), "n_units": dests["n_units"].to_numpy()},
                             geometry=shapes.reindex(range(len(rows))).to_numpy(), crs=metric)
    areas["area_km2"] = areas.geometry.area / 1e6
    log.info("FRA tier: %d favorable clusters from %d FRA units", len(dests), len(fra))
    return FavorableAreas(destinations=dests, areas=areas.to_crs(4326))


def _cluster_population(unit_pop: np.ndarray, cands: gpd.GeoDataFrame, mine: np.ndarray, population_col: str,
                        from_localities: bool) -> float:
    """Population of a cluster: its units' (polygons: else the localities inside), NaN when unknown."""
    if np.isfinite(unit_pop).any():
        return float(np.nansum(unit_pop))
    if from_localities:
        known = cands["_known"].to_numpy(dtype=bool)[mine]
        return float(cands["_pop"].to_numpy()[mine][known].sum()) if known.any() else float("nan")
    return float("nan")


def _to_lonlat(xy: np.ndarray, metric: Any) -> tuple[float, float]:
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(metric, 4326, always_xy=True).transform(float(xy[0]), float(xy[1]))
    return float(lon), float(lat)


def _candidate_frame(points: gpd.GeoDataFrame, cluster: np.ndarray, population_col: str,
                     id_col: str | None) -> gpd.GeoDataFrame:
    import geopandas as gpd

    known = (pd.to_numeric(points[population_col], errors="coerce").notna().to_numpy() if population_col in points
             else np.zeros(len(points), dtype=bool))
    return gpd.GeoDataFrame({"_pop": population_of(points, population_col) if population_col in points
                             else np.ones(len(points)), "_known": known,
                             "_id": ids_of(points, id_col).astype(str).to_numpy(),
                             "_name": points[NAME].to_numpy(dtype=object) if NAME in points else None,
                             "_cluster": cluster}, geometry=points.geometry.to_crs(4326).to_numpy(), crs=4326)


def _candidates(fra: gpd.GeoDataFrame, label: np.ndarray, polygons: bool, localities: gpd.GeoDataFrame | None,
                shapes: gpd.GeoSeries, metric: Any, population_col: str, id_col: str | None) -> gpd.GeoDataFrame:
    """Candidate destination points of the clusters (``_pop``, ``_id``, ``_name``, ``_cluster``):
    the FRA localities themselves; for polygons the localities inside them, and the inner point
    of an FRA area for a cluster holding no locality."""
    import geopandas as gpd
    import shapely

    if not polygons:
        return _candidate_frame(fra, label, population_col, id_col)
    inner = gpd.GeoDataFrame(fra.drop(columns=fra.geometry.name),
                             geometry=fra.geometry.representative_point().to_numpy(), crs=fra.crs)
    if localities is None or not len(localities):
        return _candidate_frame(inner, label, population_col, id_col)
    tree = shapely.STRtree(shapes.to_numpy())
    pi, ci = tree.query(localities.geometry.to_crs(metric).to_numpy(), predicate="within")
    _, first = np.unique(pi, return_index=True)
    pi, ci = pi[first], ci[first]
    found = _candidate_frame(localities.iloc[pi], shapes.index.to_numpy()[ci], population_col, None)
    empty = ~np.isin(label, found["_cluster"].to_numpy())
    if not empty.any():
        return found
    rest = _candidate_frame(inner.iloc[np.flatnonzero(empty)], label[empty], population_col, id_col)
    return gpd.GeoDataFrame(pd.concat([found, rest], ignore_index=True), crs=4326)


def _road_points_inside(cands: gpd.GeoDataFrame, cluster: np.ndarray, shapes: gpd.GeoSeries, metric: Any,
                        network: RoadNetwork | None, options: RouteOptions | None) -> np.ndarray:
    """Whether each candidate's road access point (snapped) lies inside its cluster's polygon."""
    import shapely
    from pyproj import Transformer

    if network is None:
        return np.ones(len(cands), dtype=bool)
    sn = snap_places(network, [cands], options_or_default(options), ["FRA destinations"])[0]
    x, y = Transformer.from_crs(4326, metric, always_xy=True).transform(sn.snapped_lon, sn.snapped_lat)
    poly = shapes.reindex(cluster).to_numpy()
    inside = shapely.contains_xy(poly, np.asarray(x), np.asarray(y))
    return np.asarray(inside & sn.ok.astype(bool), dtype=bool)


# ---------------------------------------------------------------------- linked or enclosed
def zone_links(localities: pd.DataFrame, *, zone_col: str, limit_min: float = DEFAULT_LIMIT_MIN,
               fra_tier: str = FRA_TIER,
               employment_tier: str | None = None, class_col: str = AREA_CLASS, fra_class: str = "FRA",
               population_col: str = POPULATION) -> pd.DataFrame:
    """Whether every zone (territory, microregion...) is linked to a favorable area.

    A zone is ``linked`` when one of its localities is FRA (it contains a favorable area) or
    reaches the nearest FRA destination within ``limit_min`` (``travel_time_<fra_tier>_min``);
    otherwise it is ``enclosed_marginal``: marginal places grouped among themselves.

    Returns
    -------
    pandas.DataFrame
        One row per zone: ``<zone_col>``, ``n_localities``, ``population``, ``contains_fra``,
        ``travel_time_fra_min`` (fastest locality of the zone; NaN when none reaches one),
        ``population_share_within_limit`` (of the zone's population, localities when it has
        none), ``reaches_fra``, with an employment tier ``travel_time_<tier>_min`` and
        ``reaches_employment_centre``, ``link_status`` (``linked`` / ``enclosed_marginal``) and
        ``linked_to`` (what the zone reaches: ``fra``, ``employment_centre``, both, or none).
    """
    limit = check_max_time(limit_min, "link time limit (limit_min)")
    tcol = time_col(fra_tier)
    need = [zone_col, tcol] + ([time_col(employment_tier)] if employment_tier else [])
    for c in need:
        if c not in localities:
            raise ColumnError(f"column '{c}' not found among the localities; compute the travel times to the "
                              f"'{fra_tier}' tier (and the zones) first")
    df = localities[localities[zone_col].notna()]
    t = df[tcol].to_numpy(dtype=float)
    pop = population_of(df, population_col)
    weight = pop if pop.sum() > 0 else np.ones(len(df))
    fra = (df[class_col].astype(str).str.upper() == fra_class.upper()).to_numpy() if class_col in df \
        else np.zeros(len(df), dtype=bool)
    known = known_population(df, population_col)  # the figure written: NaN where no locality's is known
    work = pd.DataFrame({"z": df[zone_col].to_numpy(), "t": t, "p": known, "w": weight, "fra": fra,
                         "w_in": np.where(t <= limit, weight, 0.0)})
    if employment_tier:
        work["te"] = df[time_col(employment_tier)].to_numpy(dtype=float)
    g = work.groupby("z", sort=True)
    out = pd.DataFrame({"n_localities": g.size(), POPULATION: g["p"].sum(min_count=1), "contains_fra": g["fra"].any(),
                        time_col(FRA_TIER): g["t"].min(),
                        "population_share_within_limit": g["w_in"].sum() / g["w"].sum()})
    out["reaches_fra"] = out["contains_fra"] | (out[time_col(FRA_TIER)] <= limit)
    reach = out["reaches_fra"].to_numpy()
    linked_to = np.where(reach, "fra", "").astype(object)
    if employment_tier:
        out[time_col(employment_tier)] = g["te"].min()
        out["reaches_employment_centre"] = out[time_col(employment_tier)] <= limit
        emp = out["reaches_employment_centre"].to_numpy()
        linked_to = np.where(emp, np.where(reach, "fra+employment_centre", "employment_centre"), linked_to)
    out[LINK_STATUS] = np.where(reach, LINKED, ENCLOSED)
    out["linked_to"] = pd.Series(linked_to, index=out.index, dtype=object).replace("", None)
    out.index.name = zone_col
    res = out.reset_index()
    log.info("links: %d of %d zones enclosed marginal (no FRA within %g min)", int((~reach).sum()), len(res), limit)
    return res


def engine_centres(tiers: Mapping[str, gpd.GeoDataFrame], names: Sequence[str]) -> gpd.GeoDataFrame:
    """The destinations of several tiers as one set of centres (urban and favorable engines), for
    :func:`territorial_gis.territories.build_territories`: every territory then has an engine
    as its centre. Ids repeated across tiers are prefixed with the tier."""
    import geopandas as gpd

    missing = [n for n in names if n not in tiers]
    if missing:
        raise ConfigError(f"engine tier(s) {', '.join(missing)} are not tiers ({', '.join(tiers)})")
    parts = [tiers[n].assign(**{TIER: n}) for n in names]
    frame = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=4326)
    ids = ids_of(frame).astype(str)
    dup = ids.duplicated(keep=False).to_numpy()
    frame[DEST_ID] = np.where(dup, frame[TIER].astype(str) + ":" + ids, ids)
    return frame

