"""Travel times from localities to destination tiers (employment centres, intermediate cities, ...).

All routing goes through the compiled engine (:mod:`territorial_gis._engine`): points are
snapped to the nearest point of the nearest road, the off-road leg is charged at a walking
speed, and the nearest destination of each tier is found in one multi-source shortest-path
pass over the reversed graph.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import dijkstra

from ._engine import AugmentedGraph, Snaps, nearest_destinations
from ._routing import (
    RouteOptions,
    all_too_far_message,
    ids_of,
    lonlat_of,
    options_or_default,
    snap_checked,
    snap_origins_and_tiers,
)
from .columns import (
    ACCESS_LEG_MIN,
    LEGS,
    OFFROAD_METHOD,
    OFFROAD_STRAIGHT,
    REASON_DISCONNECTED,
    REASON_NO_DESTINATION,
    REASON_TOO_FAR,
    SNAP_DIST_M,
    UNREACHABLE_REASON,
    leg_col,
    nearest_col,
    reason_col,
    tiers_in,
    time_col,
    trip_mode_col,
)
from .errors import ColumnError, RoutingError

if TYPE_CHECKING:
    import geopandas as gpd

    from .network import RoadNetwork

log = logging.getLogger(__name__)

def travel_times_to_nearest(network: RoadNetwork, localities: gpd.GeoDataFrame,
                            tiers: Mapping[str, gpd.GeoDataFrame], *, options: RouteOptions | None = None,
                            dest_id_col: str | None = None) -> gpd.GeoDataFrame:
    """Time from every locality to the nearest destination of each tier.

    Parameters
    ----------
    network
        A built :class:`~territorial_gis.network.RoadNetwork`.
    localities
        Origins (points, any CRS), e.g. from :func:`territorial_gis.places.load_places`.
    tiers
        Tier name -> destinations GeoDataFrame (ids in ``dest_id``/``place_id``/``id`` or
        ``dest_id_col``), e.g. ``{"employment_centre": ..., "intermediate_city": ...}``.
    options
        How places reach the road (:class:`~territorial_gis.RouteOptions`); default
        ``RouteOptions()``. With ``offroad="straight"`` (the default) the off-road part is a
        straight-line walk to the nearest road, and points farther than the snapping limit are
        unreachable (``too_far_from_road``). With ``offroad="surface"`` it is measured over the
        accessibility surface (``options.surface``: terrain, land cover, barriers, waterways,
        crossings; see :mod:`territorial_gis.surfaces`): every place gets a time, NaN only when
        it is truly cut off (``cut_off``, ``in_barrier``, ``outside_grid``).

    Returns
    -------
    GeoDataFrame
        ``localities`` (same index and rows) plus, per tier, ``travel_time_<tier>_min`` (NaN
        when unreachable), ``nearest_<tier>_id``, ``trip_mode_<tier>`` (``walk+road+walk``,
        ``walk+boat+road``, ``road``...; ``none`` at the destination itself), the minutes of
        each leg (``walk_<tier>_min``, ``road_<tier>_min``, ``boat_<tier>_min``,
        ``boat_wait_<tier>_min``, ``crossing_<tier>_min``; boat and crossing are 0 with the
        straight method) and ``unreachable_reason_<tier>``; ``unreachable_reason`` (None when
        every tier is reachable; otherwise ``too_far_from_road``, or ``<tier>:<reason>`` joined
        by ``;``); ``offroad_method`` (``straight`` or ``surface``). The straight method adds
        ``access_leg_min`` (minutes of the walk to the road) and ``snap_dist_m``; the surface
        method adds ``snap_dist_m`` (straight-line metres to the nearest road, for reference)
        and states how the surface was built in ``attrs["offroad_method"]``.
    """
    if len(localities) == 0:
        raise RoutingError("no localities to route from")
    if not tiers:
        raise RoutingError("no destination tier given")
    opts = options_or_default(options)
    if opts.uses_surface:
        return _surface_times(network, localities, tiers, opts, dest_id_col)
    osn, tsn = snap_origins_and_tiers(network, localities, tiers, opts)
    for name, sn in tsn.items():
        if len(sn.ok) and not sn.ok.any():
            lon, lat = lonlat_of(tiers[name], f"destinations of tier '{name}'")
            raise RoutingError(all_too_far_message(network, lon, lat, f"destinations of tier '{name}'",
                                                   opts.max_snap_m))
    n_out = len(localities)
    cols: dict[str, Any] = {}
    reasons = np.full(n_out, None, dtype=object)
    reasons[~osn.ok] = REASON_TOO_FAR
    results = nearest_destinations(network, osn, list(tsn.values()))
    for (name, dests), (t_s, which) in zip(tiers.items(), results, strict=True):
        ids = ids_of(dests, dest_id_col).to_numpy()
        valid = tsn[name].ok
        minutes = np.where(np.isfinite(t_s), t_s / 60.0, np.nan)
        nearest = np.full(n_out, None, dtype=object)
        found = which >= 0
        nearest[found] = ids[which[found]]
        tier_reason = np.full(n_out, None, dtype=object)
        if not valid.any():
            tier_reason[:] = REASON_NO_DESTINATION
        else:
            tier_reason[~np.isfinite(t_s)] = REASON_DISCONNECTED
        tier_reason[~osn.ok] = REASON_TOO_FAR
        cols[time_col(name)] = minutes
        cols[nearest_col(name)] = nearest
        cols.update(_straight_legs(name, minutes, osn.leg_s, tsn[name].leg_s, which))
        cols[reason_col(name)] = tier_reason
        for i in np.flatnonzero((tier_reason != None) & osn.ok):  # noqa: E711 - object array
            prev = reasons[i]
            reasons[i] = f"{name}:{tier_reason[i]}" if prev is None else f"{prev};{name}:{tier_reason[i]}"
        _log_tier(name, int(valid.sum()), minutes)
    cols[ACCESS_LEG_MIN] = np.where(osn.ok, osn.leg_s / 60.0, np.nan)
    cols[SNAP_DIST_M] = osn.snap_dist_m
    cols[UNREACHABLE_REASON] = reasons
    cols[OFFROAD_METHOD] = np.full(n_out, OFFROAD_STRAIGHT, dtype=object)
    return _with_columns(localities, cols)


def access_columns(tiers: Sequence[str] | Mapping[str, Any]) -> list[str]:
    """Every column :func:`travel_times_to_nearest` may write for ``tiers``, in its order."""
    out: list[str] = []
    for t in tiers:
        out += [time_col(t), nearest_col(t), trip_mode_col(t), *(leg_col(leg, t) for leg in LEGS), reason_col(t)]
    return out + [ACCESS_LEG_MIN, SNAP_DIST_M, UNREACHABLE_REASON, OFFROAD_METHOD]


def _straight_legs(tier: str, minutes: np.ndarray, origin_leg_s: np.ndarray, dest_leg_s: np.ndarray,
                   which: np.ndarray) -> dict[str, np.ndarray]:
    """Trip modes and legs of straight-line access: the walk to the road, the road, the walk
    from the road to the destination (no boat, no crossing)."""
    reach = np.isfinite(minutes)
    walk_o = np.where(reach, origin_leg_s / 60.0, np.nan)
    walk_d = np.where(reach & (which >= 0), dest_leg_s[np.maximum(which, 0)] / 60.0, np.nan)
    road = np.where(reach, np.maximum(minutes - walk_o - walk_d, 0.0), np.nan)
    zero = np.where(reach, 0.0, np.nan)
    # a walk shorter than a centimetre (a point on the road, projection rounding) is no leg
    tiny = 0.01 / 1.0 / 60.0  # 1 cm at 1 m/s (walks are slower), in minutes
    code = np.where(reach, (walk_o > tiny) * 1 + (road > 0) * 2 + (walk_d > tiny) * 4, -1)
    names = {c: "+".join(m for bit, m in ((1, "walk"), (2, "road"), (4, "walk")) if c & bit) or "none"
             for c in range(8)}
    modes = np.array([names.get(int(c)) if c >= 0 else None for c in code], dtype=object)
    legs = dict(zip(LEGS, (walk_o + walk_d, road, zero, zero, zero), strict=True))
    return {trip_mode_col(tier): modes, **{leg_col(leg, tier): v for leg, v in legs.items()}}


def _log_tier(name: str, n_dest: int, minutes: np.ndarray) -> None:
    if log.isEnabledFor(logging.INFO):
        log.info("tier '%s': %d destinations; median %.1f min; %d unreachable", name, n_dest,
                 float(np.nanmedian(minutes)) if np.isfinite(minutes).any() else float("nan"),
                 int(np.isnan(minutes).sum()))


def _with_columns(localities: gpd.GeoDataFrame, cols: Mapping[str, np.ndarray]) -> gpd.GeoDataFrame:
    """``localities`` with ``cols`` added (or replaced), in one concatenation (adding columns one
    by one copies the frame each time); object columns stay object (no string-dtype inference
    pass over ids and reasons)."""
    stale = [c for c in cols if c in localities.columns]
    base = localities.drop(columns=stale) if stale else localities
    new = pd.DataFrame({k: pd.Series(v, index=localities.index, dtype=object) if v.dtype == object else v
                        for k, v in cols.items()}, index=localities.index)
    out: gpd.GeoDataFrame = pd.concat([base, new], axis=1)
    return out


def _surface_times(network: RoadNetwork, localities: gpd.GeoDataFrame, tiers: Mapping[str, gpd.GeoDataFrame],
                   opts: RouteOptions, dest_id_col: str | None) -> gpd.GeoDataFrame:
    """Access over the surface (``offroad="surface"``): the surface the options carry (reused
    when built on this network) or built from their inputs."""
    from ._surface import locality_times, offroad_description, surface_for

    surface = surface_for(network, localities, tiers, opts.surface, walk_kph=opts.walk_speed(network))
    table = locality_times(surface, localities, tiers, dest_id_col=dest_id_col)
    lon, lat = lonlat_of(localities, "localities")
    table[SNAP_DIST_M] = nearest_road_m(network, lon, lat)
    for name, dests in tiers.items():
        _log_tier(name, len(dests), table[time_col(name)].to_numpy(dtype=float))
    table.attrs["offroad_method"] = offroad_description(surface)
    return table


def nearest_road_m(network: RoadNetwork, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Straight-line metres from each point (lon/lat) to the nearest road of ``network`` (NaN
    for points without coordinates)."""
    import shapely
    from pyproj import Transformer

    from ._engine import snap_index

    geoms = snap_index(network).geoms
    x, y = Transformer.from_crs(4326, network.crs, always_xy=True).transform(lon, lat)
    pts = shapely.points(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    out = np.full(len(lon), np.nan)
    ok = np.isfinite(np.asarray(x, dtype=float)) & np.isfinite(np.asarray(y, dtype=float))
    if ok.any() and len(geoms):
        (pi, _ri), d = shapely.STRtree(geoms).query_nearest(pts[ok], return_distance=True, all_matches=False)
        out[np.flatnonzero(ok)[pi]] = d
    return out


def summarize_access(table: pd.DataFrame) -> dict[str, Any]:
    """Median travel time and unreachable count per tier of an access table."""
    res: dict[str, Any] = {}
    for tier in tiers_in(table):
        v = table[time_col(tier)]
        res[tier] = {"median_min": float(v.median()) if v.notna().any() else None,
                     "unreachable": int(v.isna().sum())}
    return res


# ---------------------------------------------------------------------- networks
# ---------------------------------------------------------------------- OD matrix
def _od_arrays(network: RoadNetwork, osn: Snaps, dsn: Snaps,
               cutoff_min: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(origin_pos, dest_pos, time_s)`` of every pair within the cutoff, sorted by origin
    then destination."""
    graph = AugmentedGraph(network, [osn, dsn])
    o_nodes = graph.offroad_node[graph.group(0)]
    d_nodes = graph.offroad_node[graph.group(1)]
    cutoff_s = np.inf if cutoff_min is None else float(cutoff_min) * 60.0
    if len(d_nodes) < len(o_nodes):
        d_pos, o_pos, t_s = graph.long_table(d_nodes, o_nodes, cutoff=cutoff_s, reverse=True)
        order = np.argsort(o_pos, kind="stable")  # (pairs come by destination, then origin)
        return o_pos[order], d_pos[order], t_s[order]
    return graph.long_table(o_nodes, d_nodes, cutoff=cutoff_s, reverse=False)


def od_matrix(network: RoadNetwork, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame,
              cutoff_min: float | None = None, *, options: RouteOptions | None = None,
              origin_id_col: str | None = None,
              dest_id_col: str | None = None) -> pd.DataFrame:
    """Travel times between origins and destinations as a long table.

    One compiled search per point of the smaller of the two sets (forward from origins, or on
    the reversed graph from destinations), bounded by the cutoff and spread over threads
    (``settings.threads``); pairs go straight into the long table, and no dense all-pairs
    matrix of a large region is ever held.

    Parameters
    ----------
    cutoff_min
        Keep only pairs within this many minutes (also bounds each search); None keeps every
        reachable pair.
    options
        Snapping limit and off-road walking speed (see :func:`travel_times_to_nearest`).
    origin_id_col, dest_id_col
        Identifier columns (default ``place_id``/``dest_id``/``id`` ... or the index).

    Returns
    -------
    pandas.DataFrame
        ``from_id``, ``to_id``, ``travel_time_min`` sorted by origin then destination (input
        order). Pairs that are beyond the cutoff, disconnected, or involve a point farther
        than the snapping limit from a road are absent.
    """
    if len(origins) == 0:
        raise RoutingError("no origins to route from")
    if len(destinations) == 0:
        raise RoutingError("no destinations to route to")
    if cutoff_min is not None and not cutoff_min > 0:
        raise RoutingError(f"cutoff must be a positive number of minutes, got {cutoff_min}")
    opts = options_or_default(options)
    osn = snap_checked(network, origins, "origins", opts)
    dsn = snap_checked(network, destinations, "destinations", opts)
    o_pos, d_pos, t_s = _od_arrays(network, osn, dsn, cutoff_min)
    # ids taken from a Series of the few distinct ids (their dtype inferred once, not per pair)
    o_ids = pd.Series(ids_of(origins, origin_id_col).to_numpy())
    d_ids = pd.Series(ids_of(destinations, dest_id_col).to_numpy())
    out = pd.DataFrame({"from_id": o_ids.take(o_pos).reset_index(drop=True),
                        "to_id": d_ids.take(d_pos).reset_index(drop=True),
                        "travel_time_min": t_s / 60.0})
    log.info("OD matrix: %d origins x %d destinations -> %d pairs%s", len(origins), len(destinations),
             len(out), "" if cutoff_min is None else f" within {cutoff_min:g} min")
    return out


# ---------------------------------------------------------------------- isochrones
def _substrings(geoms: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Vectorised ``shapely.ops.substring(g, lo, hi, normalized=True)`` for lo <= hi."""
    import shapely

    n = len(geoms)
    if n == 0:
        return np.empty(0, dtype=object)
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    seg = np.hypot(np.diff(coords[:, 0]), np.diff(coords[:, 1]))
    same = idx[1:] == idx[:-1]
    seg = np.where(same, seg, 0.0)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    start_of = np.searchsorted(idx, np.arange(n), side="left")
    cum = cum - cum[start_of][idx]  # distance from the start of each line
    total = np.bincount(idx, weights=np.concatenate([seg, [0.0]]) * np.concatenate([same, [False]]),
                        minlength=n)
    a = lo * total
    b = hi * total
    inside = (cum > a[idx]) & (cum < b[idx])
    p0 = shapely.line_interpolate_point(geoms, lo, normalized=True)
    p1 = shapely.line_interpolate_point(geoms, hi, normalized=True)
    xy0 = shapely.get_coordinates(p0)
    xy1 = shapely.get_coordinates(p1)
    line = np.concatenate([np.arange(n), idx[inside], np.arange(n)])
    key = np.concatenate([a, cum[inside], b])
    rank = np.concatenate([np.zeros(n), np.ones(int(inside.sum())), np.full(n, 2.0)])
    xy = np.vstack([xy0, coords[inside], xy1])
    order = np.lexsort((rank, key, line))
    return shapely.linestrings(xy[order], indices=line[order])


def reached_pieces(graph: AugmentedGraph, node_time_s: np.ndarray, limit_s: float,
                   direction: str = "to") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The parts of every directed edge reached within ``limit_s``.

    ``node_time_s`` are times of the augmented graph's nodes (to the nearest source with
    ``direction="to"``, from it with ``"from"``). A point at fraction ``s`` of an arc covering
    ``[f0, f1]`` of edge ``e`` (weight ``w_e`` per unit fraction) is reached "to" when
    ``(f1 - s) w_e + t(head) <= limit`` and "from" when ``t(tail) + (s - f0) w_e <= limit``, so
    partially reached edges are cut where the time runs out. All original edges (including
    slower parallel edges) and the arcs that split edges at snapped points are considered.

    Returns ``(edge_row, f_lo, f_hi)``.
    """
    net = graph.net
    tt = net.edges["travel_time_s"].to_numpy(dtype=float)
    n0 = net.n_nodes
    split = (graph.arc_edge >= 0) & ((graph.arc_rows >= n0) | (graph.arc_cols >= n0))
    e = np.concatenate([np.arange(net.n_edges), graph.arc_edge[split]])
    f0 = np.concatenate([np.zeros(net.n_edges), graph.arc_f0[split]])
    f1 = np.concatenate([np.ones(net.n_edges), graph.arc_f1[split]])
    tail = np.concatenate([net.edge_u.astype(np.int64), graph.arc_rows[split]])
    head = np.concatenate([net.edge_v.astype(np.int64), graph.arc_cols[split]])
    w = tt[e]
    with np.errstate(divide="ignore", invalid="ignore"):
        if direction == "to":
            t = node_time_s[head]
            ok = t <= limit_s
            reach = np.where(w > 0, (limit_s - t) / w, np.inf)
            lo = np.maximum(f0, f1 - reach)
            hi = f1
        else:
            t = node_time_s[tail]
            ok = t <= limit_s
            reach = np.where(w > 0, (limit_s - t) / w, np.inf)
            lo = f0
            hi = np.minimum(f1, f0 + reach)
    ok &= np.isfinite(t)
    return e[ok], np.clip(lo[ok], 0.0, 1.0), np.clip(hi[ok], 0.0, 1.0)


def _merge_pieces(network: RoadNetwork, e: np.ndarray, lo: np.ndarray,
                  hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge reached pieces of the same road (both directions, split arcs) into disjoint
    intervals, so each stretch of road is drawn and measured once."""
    if len(e) == 0:
        return e, lo, hi
    seg = network.edges["segment"].to_numpy()[e]
    rev = network.edges["reversed"].to_numpy(dtype=bool)[e]
    # fractions along the segment's forward orientation
    a = np.where(rev, 1.0 - hi, lo)
    b = np.where(rev, 1.0 - lo, hi)
    order = np.lexsort((a, seg))
    seg, a, b, e, rev = seg[order], a[order], b[order], e[order], rev[order]
    df = pd.DataFrame({"seg": seg, "b": b})
    run_max = df.groupby("seg", sort=False)["b"].cummax().to_numpy()
    new = np.ones(len(seg), dtype=bool)
    new[1:] = (seg[1:] != seg[:-1]) | (a[1:] > run_max[:-1])
    gid = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    m_lo = a[first]
    m_hi = np.maximum.reduceat(b, first)
    m_e = e[first]
    m_rev = rev[first]
    del gid
    return m_e, np.where(m_rev, 1.0 - m_hi, m_lo), np.where(m_rev, 1.0 - m_lo, m_hi)


def isochrones(network: RoadNetwork, destinations: gpd.GeoDataFrame,
               thresholds_min: Sequence[float] = (15, 30, 60), *, direction: str = "to",
               buffer_m: float = 100.0, bands: bool = False,
               options: RouteOptions | None = None) -> gpd.GeoDataFrame:
    """Polygons of the area within each travel-time threshold of the nearest destination.

    Method: one multi-source shortest-path pass over the augmented graph gives every node its
    time to (``direction="to"``, on the reversed graph) or from (``"from"``) the nearest
    destination, off-road legs of the destinations included. Each directed edge is reached
    where the time runs out part-way along it (linear interpolation along the edge, see
    :func:`reached_pieces`); the reached road pieces are buffered by ``buffer_m`` metres in the
    network's metric CRS and merged. So an isochrone is "land within ``buffer_m`` of a road you
    can drive within the threshold", not a convex or concave hull over unreachable gaps.

    Parameters
    ----------
    thresholds_min
        Increasing thresholds in minutes.
    buffer_m
        Half-width of the corridor around reached roads (metres).
    bands
        False (default): cumulative polygons (everything within each threshold). True: rings
        between consecutive thresholds.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per threshold: ``threshold_min``, ``min_time_min`` (lower bound of the band:
        0 unless ``bands``), geometry (EPSG:4326; empty when nothing is reached) and the figures
        of that geometry, all of one kind named in the column: cumulative
        ``within_area_km2`` / ``within_road_km`` (area and reached road length within the
        threshold; they never decrease), or with ``bands`` ``ring_area_km2`` /
        ``ring_road_km`` (the ring between the previous threshold and this one).
    """
    import geopandas as gpd
    import shapely

    if direction not in ("to", "from"):
        raise RoutingError(f"direction must be 'to' or 'from', got {direction!r}")
    ths = check_thresholds(thresholds_min)
    if not buffer_m > 0:
        raise RoutingError(f"isochrone buffer must be positive metres, got {buffer_m}")
    if len(destinations) == 0:
        raise RoutingError("no destinations for the isochrones")
    dsn = snap_checked(network, destinations, "destinations", options_or_default(options))
    graph = AugmentedGraph(network, [dsn])
    src = graph.offroad_node[graph.group(0)]
    src = src[src >= 0]
    adj = graph.reverse if direction == "to" else graph.forward
    node_t = dijkstra(adj, directed=True, indices=src, min_only=True, limit=max(ths) * 60.0)
    geoms_m = network.edge_geometry_metric()
    polys = []
    road_km = []
    for th in ths:
        e, lo, hi = _merge_pieces(network, *reached_pieces(graph, node_t, th * 60.0, direction))
        if len(e):
            pieces = _substrings(geoms_m[e], lo, hi)
            # buffering each piece and merging the polygons is ~100x faster than buffering
            # one multi-line (GEOS nodes all lines against each other)
            poly = shapely.union_all(shapely.buffer(pieces, buffer_m, quad_segs=4))
            km = float(shapely.length(pieces).sum()) / 1000.0
        else:
            poly = shapely.Polygon()
            km = 0.0
        polys.append(poly)
        road_km.append(km)
    # everything within a threshold is also within the next one: the union makes that exact
    # (buffers of longer road pieces may differ from the shorter ones' in the last bit)
    for i in range(1, len(polys)):
        polys[i] = shapely.union(polys[i], polys[i - 1])
        road_km[i] = max(road_km[i], road_km[i - 1])
    if bands:
        out_polys = [polys[0]] + [shapely.difference(polys[i], polys[i - 1]) for i in range(1, len(polys))]
        figures = {"ring_area_km2": [float(shapely.area(p)) / 1e6 for p in out_polys],
                   "ring_road_km": [road_km[0]] + [road_km[i] - road_km[i - 1] for i in range(1, len(ths))]}
        lower = [0.0, *ths[:-1]]
    else:
        out_polys = polys
        figures = {"within_area_km2": [float(shapely.area(p)) / 1e6 for p in out_polys],
                   "within_road_km": road_km}
        lower = [0.0] * len(ths)
    gdf = gpd.GeoDataFrame({"threshold_min": ths, "min_time_min": lower, **figures},
                           geometry=out_polys, crs=network.crs)
    return gdf.to_crs(4326)


def check_thresholds(thresholds_min: Sequence[float]) -> list[float]:
    """Isochrone thresholds as floats, checked positive and increasing (RoutingError otherwise)."""
    try:
        ths = [float(t) for t in thresholds_min]
    except (TypeError, ValueError):
        raise RoutingError(f"isochrone thresholds must be minutes, got {list(thresholds_min)}") from None
    if not ths or any(not (t > 0) or not np.isfinite(t) for t in ths):
        raise RoutingError(f"isochrone thresholds must be positive minutes, got {list(thresholds_min)}")
    if sorted(ths) != ths or len(set(ths)) != len(ths):
        raise RoutingError(f"isochrone thresholds must increase, got {list(thresholds_min)}")
    return ths


# ---------------------------------------------------------------------- summaries
def population_within(table: pd.DataFrame, thresholds_min: Sequence[float] = (60, 120, 240),
                      pop_col: str = "population", tiers: Sequence[str] | None = None) -> pd.DataFrame:
    """Population (count and share) within each travel-time threshold of each tier.

    Reads the ``travel_time_<tier>_min`` columns of an access table (from
    :func:`travel_times_to_nearest`). Unreachable places (NaN time) count as beyond every
    threshold; places with missing population count as zero (and are reported in the log).

    Returns
    -------
    pandas.DataFrame
        One row per tier and threshold: ``tier``, ``threshold_min``, ``population_within``,
        ``population_total``, ``share_within`` (0..1), ``places_within``, ``places_total``.
    """
    if pop_col not in table:
        raise ColumnError(f"population column '{pop_col}' not found; columns: "
                          f"{', '.join(map(str, table.columns))}")
    cols = {t: time_col(t) for t in tiers_in(table)}
    if tiers is not None:
        missing = [t for t in tiers if t not in cols]
        if missing:
            raise ColumnError(f"no travel_time_<tier>_min column for tier(s) {', '.join(missing)}; "
                              f"found {', '.join(cols) or 'none'}")
        cols = {t: cols[t] for t in tiers}
    if not cols:
        raise ColumnError("no travel_time_<tier>_min column in the table; run travel_times_to_nearest first")
    ths = [float(t) for t in thresholds_min]
    if not ths or any(not (t > 0) for t in ths):
        raise RoutingError(f"thresholds must be positive minutes, got {list(thresholds_min)}")
    pop = pd.to_numeric(table[pop_col], errors="coerce").to_numpy(dtype=float)
    n_missing = int(np.isnan(pop).sum())
    if n_missing:
        log.warning("%d of %d places have no population in '%s'; counted as 0", n_missing, len(pop), pop_col)
    pop = np.nan_to_num(pop, nan=0.0)
    total = float(pop.sum())
    rows = []
    for tier, col in cols.items():
        t = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float)
        for th in ths:
            within = np.isfinite(t) & (t <= th)
            pw = float(pop[within].sum())
            rows.append({"tier": tier, "threshold_min": th, "population_within": pw,
                         "population_total": total, "share_within": pw / total if total > 0 else np.nan,
                         "places_within": int(within.sum()), "places_total": len(t)})
    return pd.DataFrame(rows)


DECAYS = ("exponential", "power", "gaussian")
_DEFAULT_BETA = {"exponential": 0.05, "power": 1.0, "gaussian": 30.0}


def decay_weights(t_min: np.ndarray, decay: str = "exponential", beta: float | None = None) -> np.ndarray:
    """Impedance weights of travel times in minutes.

    ``exponential``: ``exp(-beta t)`` (beta per minute, default 0.05: weight halves every
    ~14 min); ``power``: ``max(t, 1)^-beta`` (default 1; times under a minute count as one
    minute so the weight stays finite); ``gaussian``: ``exp(-(t / beta)^2 / 2)`` (beta is the
    bandwidth in minutes, default 30).
    """
    if decay not in DECAYS:
        raise RoutingError(f"unknown decay {decay!r}; use one of {', '.join(DECAYS)}")
    b = _DEFAULT_BETA[decay] if beta is None else float(beta)
    if not b > 0:
        raise RoutingError(f"decay parameter beta must be positive, got {beta}")
    t = np.asarray(t_min, dtype=float)
    if decay == "exponential":
        return np.exp(-b * t)
    if decay == "power":
        return np.power(np.maximum(t, 1.0), -b)
    return np.exp(-0.5 * (t / b) ** 2)


def gravity_access(network: RoadNetwork, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame,
                   mass_col: str = "population", decay: str = "exponential", beta: float | None = None,
                   cutoff_min: float | None = 120.0, *, options: RouteOptions | None = None) -> pd.Series:
    """Gravity market-access index of every origin: ``A_i = sum_j M_j f(t_ij)``.

    ``M_j`` is the mass (``population`` or ``jobs``...) of destination ``j``, ``t_ij`` the
    travel time in minutes from :func:`od_matrix` (pairs beyond ``cutoff_min`` contribute 0)
    and ``f`` the decay of :func:`decay_weights`.

    Returns
    -------
    pandas.Series
        ``market_access_index`` aligned to ``origins.index``; NaN for origins farther than
        the snapping limit from a road, 0 where no destination is reachable within the cutoff.
    """
    if mass_col not in destinations:
        raise ColumnError(f"mass column '{mass_col}' not found in the destinations; columns: "
                          f"{', '.join(map(str, destinations.columns))}")
    decay_weights(np.zeros(1), decay, beta)  # validates decay and beta early
    mass = pd.to_numeric(destinations[mass_col], errors="coerce").to_numpy(dtype=float)
    if (mass < 0).any():
        raise ColumnError(f"mass column '{mass_col}' has negative values")
    if np.isnan(mass).any():
        log.warning("%d destinations have no '%s'; counted as 0", int(np.isnan(mass).sum()), mass_col)
    mass = np.nan_to_num(mass, nan=0.0)
    if cutoff_min is not None and not cutoff_min > 0:
        raise RoutingError(f"cutoff must be a positive number of minutes, got {cutoff_min}")
    if len(origins) == 0 or len(destinations) == 0:
        raise RoutingError("gravity access needs at least one origin and one destination")
    opts = options_or_default(options)
    osn = snap_checked(network, origins, "origins", opts)
    dsn = snap_checked(network, destinations, "destinations", opts)
    o_pos, d_pos, t_s = _od_arrays(network, osn, dsn, cutoff_min)
    w = decay_weights(t_s / 60.0, decay, beta) * mass[d_pos]
    acc = np.bincount(o_pos, weights=w, minlength=len(origins))
    acc = np.where(osn.ok, acc, np.nan)
    return pd.Series(acc, index=origins.index, name="market_access_index")
