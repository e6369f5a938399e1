"""Travel times from localities to destination tiers (employment centres, intermediate cities, ...).

All routing goes through the compiled engine (:mod:`territorial_gis._engine`): points are
snapped to the nearest point of the nearest road, the off-road leg is charged at a walking
speed, and the nearest destination of each tier is found in one multi-source shortest-path
pass over the reversed graph.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._engine import AugmentedGraph, Snaps, snap_points
from .errors import ColumnError, CRSError, RoutingError

if TYPE_CHECKING:
    import geopandas as gpd

    from .network import RoadNetwork

log = logging.getLogger(__name__)

DEFAULT_MAX_SNAP_M = 2000.0
DEFAULT_WALK_KPH = 4.0
REASON_TOO_FAR = "too_far_from_road"
REASON_DISCONNECTED = "disconnected"
REASON_NO_DESTINATION = "no_destination"
_ID_CANDIDATES = ("dest_id", "place_id", "id", "locality_id")


def lonlat_of(gdf: gpd.GeoDataFrame, what: str = "places") -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude arrays (EPSG:4326) of point (or representative-point) geometries."""
    if gdf.crs is None:
        raise CRSError(f"{what} have no CRS; set one (EPSG:4326 for lon/lat)")
    geom = gdf.geometry
    if len(geom) and not (geom.geom_type == "Point").all():
        geom = geom.representative_point()
    g = geom.to_crs(4326) if not gdf.crs.equals("EPSG:4326") else geom
    return g.x.to_numpy(dtype=float), g.y.to_numpy(dtype=float)


def ids_of(gdf: pd.DataFrame, id_col: str | None = None) -> pd.Series:
    """The identifier column of a places/destinations frame (``dest_id``, ``place_id``, ``id`` ...)."""
    if id_col is not None:
        if id_col not in gdf:
            raise ColumnError(f"id column '{id_col}' not found; columns: {', '.join(map(str, gdf.columns))}")
        return gdf[id_col]
    for c in _ID_CANDIDATES:
        if c in gdf:
            return gdf[c]
    return pd.Series(gdf.index, index=gdf.index)


def walk_speed_of(network: RoadNetwork, walk_kph: float | None) -> float:
    """The off-road walking speed: the argument, else the network profile's, else 4 km/h."""
    if walk_kph is not None:
        return float(walk_kph)
    return float(network.meta.get("walk_speed_kph", DEFAULT_WALK_KPH))


def prepare_graph(network: RoadNetwork, origins: gpd.GeoDataFrame,
                  tiers: Mapping[str, gpd.GeoDataFrame], max_snap_m: float = DEFAULT_MAX_SNAP_M,
                  walk_kph: float | None = None) -> tuple[AugmentedGraph, Snaps, dict[str, Snaps]]:
    """Snap origins and each tier's destinations and build one augmented graph for them all."""
    wk = walk_speed_of(network, walk_kph)
    olon, olat = lonlat_of(origins, "localities")
    osn = snap_points(network, olon, olat, max_snap_m=max_snap_m, walk_kph=wk)
    tsn: dict[str, Snaps] = {}
    for name, dests in tiers.items():
        dlon, dlat = lonlat_of(dests, f"destinations of tier '{name}'")
        tsn[name] = snap_points(network, dlon, dlat, max_snap_m=max_snap_m, walk_kph=wk)
        n_far = int((~tsn[name].ok).sum())
        if n_far:
            log.warning("tier '%s': %d of %d destinations are farther than %.0f m from a road and are ignored",
                        name, n_far, len(dests), max_snap_m)
    graph = AugmentedGraph(network, [osn, *tsn.values()])
    return graph, osn, tsn


def travel_times_to_nearest(network: RoadNetwork, localities: gpd.GeoDataFrame,
                            tiers: Mapping[str, gpd.GeoDataFrame], *, max_snap_m: float = DEFAULT_MAX_SNAP_M,
                            walk_kph: float | None = None, dest_id_col: str | None = None,
                            ) -> gpd.GeoDataFrame:
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
    max_snap_m
        Points farther than this from a road are unreachable (``too_far_from_road``).
    walk_kph
        Speed of the off-road leg (default: the profile's walking speed, 4 km/h).

    Returns
    -------
    GeoDataFrame
        ``localities`` (same index and rows) plus, per tier, ``travel_time_<tier>_min``
        (NaN when unreachable) and ``nearest_<tier>_id``; and ``access_leg_min``,
        ``snap_dist_m``, ``unreachable_reason`` (None when every tier is reachable; otherwise
        ``too_far_from_road``, or ``<tier>:disconnected`` / ``<tier>:no_destination`` joined by
        ``;``) and ``unreachable_reason_<tier>``.
    """
    if len(localities) == 0:
        raise RoutingError("no localities to route from")
    if not tiers:
        raise RoutingError("no destination tier given")
    graph, osn, tsn = prepare_graph(network, localities, tiers, max_snap_m, walk_kph)
    out = localities.copy()
    origin_nodes = graph.offroad_node[graph.group(0)]
    reasons = pd.Series([None] * len(out), index=out.index, dtype=object)
    reasons[~osn.ok] = REASON_TOO_FAR
    for k, (name, dests) in enumerate(tiers.items(), start=1):
        dest_nodes = graph.offroad_node[graph.group(k)]
        ids = ids_of(dests, dest_id_col).to_numpy()
        valid = dest_nodes >= 0
        t_s, which, _ = graph.nearest(dest_nodes[valid], origin_nodes)
        minutes = np.where(np.isfinite(t_s), t_s / 60.0, np.nan)
        nearest = np.full(len(out), None, dtype=object)
        found = which >= 0
        nearest[found] = ids[valid][which[found]]
        tier_reason = np.full(len(out), None, dtype=object)
        if not valid.any():
            tier_reason[:] = REASON_NO_DESTINATION
        else:
            tier_reason[~np.isfinite(t_s)] = REASON_DISCONNECTED
        tier_reason[~osn.ok] = REASON_TOO_FAR
        out[f"travel_time_{name}_min"] = minutes
        out[f"nearest_{name}_id"] = nearest
        out[f"unreachable_reason_{name}"] = tier_reason
        for i in np.flatnonzero((tier_reason != None) & osn.ok):  # noqa: E711 - object array
            prev = reasons.iat[i]
            reasons.iat[i] = f"{name}:{tier_reason[i]}" if prev is None else f"{prev};{name}:{tier_reason[i]}"
        log.info("tier '%s': %d destinations; median %.1f min; %d unreachable", name, int(valid.sum()),
                 float(np.nanmedian(minutes)) if np.isfinite(minutes).any() else float("nan"),
                 int(np.isnan(minutes).sum()))
    out["access_leg_min"] = np.where(osn.ok, osn.leg_s / 60.0, np.nan)
    out["snap_dist_m"] = osn.snap_dist_m
    out["unreachable_reason"] = reasons
    return out


def summarize_access(table: pd.DataFrame) -> dict[str, Any]:
    """Median travel time and unreachable count per tier of an access table."""
    res: dict[str, Any] = {}
    for col in table.columns:
        if col.startswith("travel_time_") and col.endswith("_min"):
            tier = col[len("travel_time_"):-len("_min")]
            v = table[col]
            res[tier] = {"median_min": float(v.median()) if v.notna().any() else None,
                         "unreachable": int(v.isna().sum())}
    return res
