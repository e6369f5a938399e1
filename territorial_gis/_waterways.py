"""Waterways as a travel mode: river graphs from line layers or river polygons, boat speeds by
class and direction, flow direction, landings.

A waterway layer becomes a graph of river nodes (every vertex of the lines, lines cut into
pieces no longer than the grid's cells) with one arc per direction of each piece, costing the
piece's length at the class's downstream or upstream speed (:data:`boat.toml
<territorial_gis/profiles/boat.toml>`). River polygons are first reduced to their centre line
(the medial axis, approximated by the Voronoi edges of the densified banks that lie inside the
polygon). Ends of lines closer than a join distance to another line are joined to it.

Flow direction, per connected river system: the direction the lines are drawn in
(``digitised``), or towards an *outlet* (the mouth, or the point where the river leaves the
area), downstream being the direction in which the distance along the river to the outlet
decreases; with a DEM and no outlet, the outlet of each system is its lowest end.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from ._toml import read_builtin_or_file
from .errors import ConfigError

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
FLOW_CHOICES = ("outlet", "digitised", "reversed", "dem")
_QUANTUM_M = 1e-3  # vertices within 1 mm are one river node


@dataclass(frozen=True)
class BoatProfile:
    """Boat speeds (km/h) per river class and direction, the wait at each boarding, the landing reach."""

    downstream_kph: dict[str, float]
    upstream_kph: dict[str, float]
    labels: dict[str, str]
    boarding_wait_min: float
    landing_reach_m: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data for metadata."""
        return {"downstream_kph": dict(self.downstream_kph), "upstream_kph": dict(self.upstream_kph),
                "boarding_wait_min": self.boarding_wait_min, "landing_reach_m": self.landing_reach_m,
                "source": self.source}


def _positive(value: Any, where: str, *, zero_ok: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0 or (value == 0 and not zero_ok):
        raise ConfigError(f"{where} = {value!r} must be a {'non-negative' if zero_ok else 'positive'} number")
    return float(value)


def load_boat_profile(profile: PathLike | None = None) -> BoatProfile:
    """The built-in ``boat`` profile or a TOML file with the same keys.

    Raises
    ------
    ConfigError
        Missing or malformed classes, a current as fast as the boat (no way upstream).
    """
    data, source = read_builtin_or_file(profile or "boat", "territorial_gis.profiles", "boat profile")
    classes = data.get("classes")
    if not isinstance(classes, dict) or not classes:
        raise ConfigError(f"{source}: a boat profile needs [classes.<name>] tables with boat_kph and current_kph")
    down: dict[str, float] = {}
    up: dict[str, float] = {}
    labels: dict[str, str] = {}
    for name, entry in classes.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{source}: classes.{name} must be a table")
        boat = _positive(entry.get("boat_kph"), f"{source}: classes.{name}.boat_kph")
        current = _positive(entry.get("current_kph", 0.0), f"{source}: classes.{name}.current_kph", zero_ok=True)
        if current >= boat:
            raise ConfigError(f"{source}: classes.{name}: current_kph {current:g} >= boat_kph {boat:g}: "
                              "no boat could go upstream")
        down[str(name)] = boat + current
        up[str(name)] = boat - current
        labels[str(name)] = str(entry.get("label", name))
    return BoatProfile(down, up, labels,
                       _positive(data.get("boarding_wait_min", 0.0), f"{source}: boarding_wait_min", zero_ok=True),
                       _positive(data.get("landing_reach_m", 500.0), f"{source}: landing_reach_m"), source)


def centrelines(polygons: np.ndarray, step_m: float) -> np.ndarray:
    """Centre lines of river polygons (metric): the Voronoi edges of the banks, densified every
    ``step_m``, that lie inside the polygon (an approximation of the medial axis), merged into lines."""
    out: list[Any] = []
    for poly in polygons:
        if poly is None or poly.is_empty:
            continue
        # vertices closer than a quarter step add nothing to the medial axis but Voronoi cells
        bank = shapely.segmentize(shapely.simplify(poly, step_m / 4.0).boundary, step_m)
        pts = shapely.multipoints(shapely.get_coordinates(bank))
        if shapely.get_num_geometries(pts) < 3:
            continue
        edges = shapely.get_parts(shapely.voronoi_polygons(pts, only_edges=True))
        shapely.prepare(poly)
        inside = edges[shapely.contains_properly(poly, edges)]
        if len(inside):
            merged = shapely.line_merge(shapely.union_all(inside))
            out.extend(shapely.get_parts(merged))
    return np.asarray(out, dtype=object)


@dataclass
class RiverGraph:
    """River nodes (metric ``xy``) and directed boat arcs (``u -> v``, seconds, downstream flag)."""

    xy: np.ndarray
    arc_u: np.ndarray
    arc_v: np.ndarray
    arc_s: np.ndarray
    downstream: np.ndarray  # per arc: True downstream, False upstream (both False: direction unknown)
    upstream: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        """Number of river nodes."""
        return len(self.xy)


def _vertices(lines: np.ndarray, max_piece_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of the lines cut into pieces <= ``max_piece_m``: coordinates and line index."""
    seg = shapely.segmentize(lines, max_piece_m)
    return shapely.get_coordinates(seg, return_index=True)


def build_river_graph(lines: np.ndarray, line_class: np.ndarray, profile: BoatProfile, *,
                      max_piece_m: float, join_m: float, flow: str,
                      outlet_xy: Sequence[float] | None = None,
                      elevation_at: Any = None) -> RiverGraph:
    """Directed boat graph of metric river lines.

    Parameters
    ----------
    lines
        LineStrings in the grid's metric CRS (multi-part lines are split).
    line_class
        Boat-profile class of each line.
    max_piece_m
        Lines are cut into pieces no longer than this (so landings find a node nearby).
    join_m
        A line end within this distance of a vertex of another line is joined to it.
    flow
        ``outlet`` (towards ``outlet_xy``), ``dem`` (towards the lowest end of each river system,
        ``elevation_at(x, y)`` giving elevations), ``digitised`` (lines drawn downstream) or
        ``reversed`` (drawn upstream).
    """
    if flow not in FLOW_CHOICES:
        raise ConfigError(f"flow must be one of {', '.join(FLOW_CHOICES)}, got {flow!r}")
    parts, pidx = shapely.get_parts(lines, return_index=True)
    cls = np.asarray(line_class, dtype=object)[pidx]
    keep = shapely.get_num_coordinates(parts) >= 2
    parts, cls = parts[keep], cls[keep]
    coords, li = _vertices(parts, max_piece_m)
    key = np.round(coords / _QUANTUM_M).astype(np.int64)
    _uniq, first, node = np.unique(key, axis=0, return_index=True, return_inverse=True)
    node = node.reshape(-1)
    xy = coords[first]
    same = li[1:] == li[:-1]
    a = node[:-1][same]
    b = node[1:][same]
    arc_cls = cls[li[:-1][same]]
    ok = a != b
    a, b, arc_cls = a[ok], b[ok], arc_cls[ok]
    # join line ends to the nearest vertex of another line within join_m
    starts = np.searchsorted(li, np.arange(len(parts)), side="left")
    ends = np.concatenate([starts, np.searchsorted(li, np.arange(len(parts)), side="right") - 1])
    end_line = np.concatenate([np.arange(len(parts))] * 2)
    joins = 0
    if join_m > 0 and len(parts) > 1:
        k = min(16, len(coords))
        d, idx = cKDTree(coords).query(coords[ends], k=k, distance_upper_bound=join_m)
        d = d.reshape(len(ends), k)
        idx = idx.reshape(len(ends), k)
        valid = np.isfinite(d)
        idx_c = np.where(valid, idx, 0)
        valid &= (li[idx_c] != end_line[:, None]) & (node[idx_c] != node[ends][:, None])
        has = valid.any(axis=1)
        pick = idx_c[np.flatnonzero(has), np.argmax(valid[has], axis=1)]
        a = np.concatenate([a, node[ends[has]]])
        b = np.concatenate([b, node[pick]])
        arc_cls = np.concatenate([arc_cls, cls[end_line[has]]])
        joins = int(has.sum())
    length = np.hypot(*(xy[b] - xy[a]).T)
    n = len(xy)
    # direction of each piece a -> b: +1 downstream, -1 upstream, 0 unknown
    direction = _flow_direction(xy, a, b, length, n, flow, outlet_xy, elevation_at)
    unknown = direction == 0
    if unknown.any():
        log.warning("waterways: the flow direction of %d of %d river pieces is unknown (no outlet reachable); "
                    "they are charged the upstream speed both ways", int(unknown.sum()), len(a))
    down = np.array([profile.downstream_kph[c] for c in arc_cls]) if len(a) else np.empty(0)
    up = np.array([profile.upstream_kph[c] for c in arc_cls]) if len(a) else np.empty(0)
    fwd_kph = np.where(direction > 0, down, up)
    back_kph = np.where(direction < 0, down, up)
    arc_u = np.concatenate([a, b]).astype(np.int64)
    arc_v = np.concatenate([b, a]).astype(np.int64)
    arc_s = np.concatenate([length / (fwd_kph / 3.6), length / (back_kph / 3.6)])
    ds = np.concatenate([direction > 0, direction < 0])
    us = np.concatenate([direction < 0, direction > 0])
    meta = {"river_nodes": int(n), "river_km": round(float(length.sum()) / 1000.0, 3), "flow": flow,
            "ends_joined": joins, "pieces_unknown_direction": int(unknown.sum()),
            "systems": int(connected_components(sparse.coo_matrix(
                (np.ones(len(a)), (a, b)), shape=(n, n)), directed=False)[0]) if n else 0}
    return RiverGraph(xy, arc_u, arc_v, arc_s, ds, us, meta)


def _flow_direction(xy: np.ndarray, a: np.ndarray, b: np.ndarray, length: np.ndarray, n: int, flow: str,
                    outlet_xy: Sequence[float] | None, elevation_at: Any) -> np.ndarray:
    if flow == "digitised":
        return np.ones(len(a), dtype=np.int8)
    if flow == "reversed":
        return -np.ones(len(a), dtype=np.int8)
    if not len(a):
        return np.zeros(0, dtype=np.int8)
    g = sparse.coo_matrix((np.concatenate([length, length]) + 1e-9,
                           (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(n, n)).tocsr()
    n_comp, comp = connected_components(g, directed=False)
    deg = np.bincount(np.concatenate([a, b]), minlength=n)
    outlets = []
    for k in range(n_comp):
        members = np.flatnonzero(comp == k)
        if flow == "outlet":
            if outlet_xy is None:
                raise ConfigError("flow = 'outlet' needs the outlet (lon, lat) of the waterways")
            d = np.hypot(xy[members, 0] - outlet_xy[0], xy[members, 1] - outlet_xy[1])
            outlets.append(int(members[np.argmin(d)]))
        else:  # dem: the lowest end of the system
            tips = members[deg[members] == 1]
            tips = tips if len(tips) else members
            z = np.asarray(elevation_at(xy[tips, 0], xy[tips, 1]), dtype=float)
            if not np.isfinite(z).any():
                continue
            outlets.append(int(tips[np.nanargmin(z)]))
    if not outlets:
        return np.zeros(len(a), dtype=np.int8)
    dist = np.min(np.atleast_2d(dijkstra(g, directed=False, indices=outlets)), axis=0)
    da, db = dist[a], dist[b]
    out = np.zeros(len(a), dtype=np.int8)
    out[np.isfinite(da) & np.isfinite(db) & (db < da)] = 1
    out[np.isfinite(da) & np.isfinite(db) & (db > da)] = -1
    return out
