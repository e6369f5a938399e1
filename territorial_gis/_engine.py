"""Compiled routing engine: snapping to edges, multi-source and many-to-many shortest paths.

Points (origins and destinations) are snapped to the nearest point of the nearest edge in the
network's metric CRS. Each snapped point becomes two nodes of an *augmented graph*: an on-road
node that splits every directed edge of its road piece (so the part of the edge to each end is
charged at the edge's speed, and several points on one edge are chained in order), and an
off-road node linked to it by the walking leg. Nearest-destination questions are then one
compiled multi-source pass (``_shortest.nearest_seed``) over the reversed graph from all
destinations of a tier at once; tables of times between many points are bounded compiled
searches (``_shortest.TableSearch``) spread over threads. No Python loop over origins.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import shapely
from pyproj import Transformer
from scipy import sparse

from ._arrays import concat_ranges
from .errors import RoutingError

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

    from ._shortest import TablePlan
    from .network import RoadNetwork

log = logging.getLogger(__name__)


@dataclass
class Snaps:
    """Snapping of points to the network.

    ``segment_edge`` is the row of the directed edge whose geometry orientation defines
    ``frac`` (the forward copy of the road piece, or its only copy); ``-1`` where the point
    could not be snapped. ``ok`` is False where the point is farther than the maximum snap
    distance (or has no coordinates).
    """

    segment_edge: np.ndarray
    frac: np.ndarray
    snap_dist_m: np.ndarray
    leg_s: np.ndarray
    ok: np.ndarray
    snapped_lon: np.ndarray
    snapped_lat: np.ndarray


# road pieces are indexed in straight sub-pieces of at most this length (so each spans few grid
# cells, and the KD-tree fallback's bound is tight)
_PIECE_M = 50.0
_K_NEAREST = 8
_MAX_RINGS = 64  # (64 rings: up to 16,641 cells; beyond, the KD-tree is cheaper)


class SnapIndex:
    """Spatial index of the network's road pieces (one geometry per ``segment``), cached on the network.

    The polylines are cut into straight sub-pieces of at most ``piece_m`` metres (``_PIECE_M``,
    or more where roads are sparse: the side of the average area per straight piece of road),
    registered in a sparse uniform grid (:class:`territorial_gis._snapgrid.SnapGrid`,
    compiled; cells of ``piece_m`` to ``2 * piece_m``, only occupied cells stored). The nearest road point of a
    query point is exact: the grid is searched ring by ring until no unseen sub-piece can be
    closer. Points the grid leaves open (no road within ``_MAX_RINGS`` rings of cells) go to a
    KD-tree of the sub-piece midpoints (built on first need), searched exactly too: the ``k``
    nearest midpoints give a candidate distance ``D``; any other sub-piece is at least
    ``|p - m| - h`` away (``h`` the largest half-length), so every midpoint within ``D + h`` is
    checked unless the k-th is already farther. Points farther than the maximum snap distance
    skip that check: their distance is an upper bound within ``h`` of the truth.
    """

    def __init__(self, net: RoadNetwork) -> None:
        from ._snapgrid import SnapGrid, cut_pieces

        seg = net.edges["segment"].to_numpy()
        rev = net.edges["reversed"].to_numpy(dtype=bool)
        # one representative directed edge per segment: prefer the non-reversed copy
        order = np.lexsort((rev, seg))
        first = np.ones(len(order), dtype=bool)
        first[1:] = seg[order][1:] != seg[order][:-1]
        self.rep_edge = order[first]
        self.seg_of_rep = seg[self.rep_edge]
        self.to_metric = Transformer.from_crs(4326, net.crs, always_xy=True)
        self.to_lonlat = Transformer.from_crs(net.crs, 4326, always_xy=True)
        # metric vertices of the representative edges (transformed as coordinates: no geometry
        # objects for the half of the edges that are reversed copies)
        lonlat, gi = shapely.get_coordinates(net.edge_geometry[self.rep_edge], return_index=True)
        coords = np.column_stack(self.to_metric.transform(lonlat[:, 0], lonlat[:, 1]))
        n_geoms = len(self.rep_edge)
        same = gi[1:] == gi[:-1]
        d = np.hypot(np.diff(coords[:, 0]), np.diff(coords[:, 1]))
        d = np.where(same, d, 0.0)
        cum = np.concatenate([[0.0], np.cumsum(d)])
        starts = np.searchsorted(gi, np.arange(n_geoms), side="left")
        self.lengths = np.bincount(gi[:-1][same], weights=d[same], minlength=n_geoms)
        # straight pieces between consecutive vertices, cut into sub-pieces of at most piece_m:
        # _PIECE_M, or the side of the average area per straight piece where roads are sparser
        # (a country of long rural roads would otherwise be cut into tens of millions of bits)
        k = np.flatnonzero(same)
        a = coords[k]
        b = coords[k + 1]
        lo, hi = (coords.min(axis=0), coords.max(axis=0)) if len(coords) else (np.zeros(2), np.zeros(2))
        area = float(max(hi[0] - lo[0], _PIECE_M) * max(hi[1] - lo[1], _PIECE_M))
        self.piece_m = piece_m = max(_PIECE_M, float(np.sqrt(area / max(len(k), 1))))
        along0 = cum[k] - cum[starts[gi[k]]]
        self.pa, self.pb, self.p_geom, self.p_along0, self.half = cut_pieces(a, b, d[k], along0, gi[k], piece_m)
        # grid: about one sub-piece per cell where roads are dense, cells of piece_m to 2 * piece_m
        cell = min(max(piece_m, float(np.sqrt(area / max(len(self.pa), 1)))), 2 * piece_m)
        self.grid = SnapGrid(self.pa, self.pb, cell)
        self._kdtree: cKDTree | None = None
        self._net = net

    @property
    def geoms(self) -> np.ndarray:
        """Metric geometry of every road piece (its representative edge; built on first use)."""
        return self._net.edge_geometry_metric()[self.rep_edge]

    @property
    def kdtree(self) -> cKDTree:
        """A KD-tree of the sub-piece midpoints (built on first use)."""
        if self._kdtree is None:
            from scipy.spatial import cKDTree

            self._kdtree = cKDTree((self.pa + self.pb) / 2.0)
        return self._kdtree

    def _dist(self, px: np.ndarray, py: np.ndarray, piece: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance from points to sub-pieces (broadcast) and the projection parameter."""
        ax, ay = self.pa[piece, 0], self.pa[piece, 1]
        vx, vy = self.pb[piece, 0] - ax, self.pb[piece, 1] - ay
        ll = vx * vx + vy * vy
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(ll > 0, ((px - ax) * vx + (py - ay) * vy) / np.where(ll > 0, ll, 1.0), 0.0)
        t = np.clip(t, 0.0, 1.0)
        return np.hypot(px - (ax + t * vx), py - (ay + t * vy)), t

    def nearest(self, x: np.ndarray, y: np.ndarray,
                max_dist: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For metric points: (geometry row, distance along it, distance to it, nearest road
        point as an (n, 2) array)."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.float64)
        piece, bt, bd, exact = self.grid.nearest(x, y, float(max_dist), _MAX_RINGS)
        open_ = np.flatnonzero(~exact)
        if len(open_):
            p2, t2, d2 = self._nearest_kd(x[open_], y[open_], max_dist)
            better = d2 < bd[open_]
            piece[open_[better]] = p2[better]
            bt[open_[better]] = t2[better]
            bd[open_[better]] = d2[better]
        seg_vec = self.pb[piece] - self.pa[piece]
        plen = np.hypot(seg_vec[:, 0], seg_vec[:, 1])
        on_road = self.pa[piece] + bt[:, None] * seg_vec
        return self.p_geom[piece], self.p_along0[piece] + bt * plen, bd, on_road

    def _nearest_kd(self, x: np.ndarray, y: np.ndarray,
                    max_dist: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest sub-piece through the midpoint KD-tree (see the class docstring):
        ``(piece, t, dist)``, exact for points within ``max_dist`` of a road."""
        n = len(x)
        m = self.kdtree.n
        k = min(_K_NEAREST, m)
        dm, ind = self.kdtree.query(np.column_stack([x, y]), k=k, workers=-1 if n > 20_000 else 1)
        dm = dm.reshape(n, k)
        ind = ind.reshape(n, k)
        dist, t = self._dist(x[:, None], y[:, None], ind)
        best = np.argmin(dist, axis=1)
        rows = np.arange(n)
        piece = ind[rows, best]
        bd = dist[rows, best]
        bt = t[rows, best]
        unsure = (k < m) & (dm[:, -1] < bd + self.half) & (bd - self.half <= max_dist)
        for i in np.flatnonzero(unsure):
            cand = np.asarray(self.kdtree.query_ball_point([x[i], y[i]], bd[i] + self.half), dtype=np.int64)
            dc, tc = self._dist(x[i], y[i], cand)
            j = int(np.argmin(dc))
            if dc[j] < bd[i]:
                piece[i], bd[i], bt[i] = cand[j], dc[j], tc[j]
        return piece, bt, bd


def snap_index(net: RoadNetwork) -> SnapIndex:
    """The cached :class:`SnapIndex` of ``net``."""
    idx = getattr(net, "_snap_index", None)
    if idx is None:
        idx = SnapIndex(net)
        net._snap_index = idx  # type: ignore[attr-defined]
    return idx


def snap_points(net: RoadNetwork, lon: np.ndarray, lat: np.ndarray, *, max_snap_m: float,
                walk_kph: float) -> Snaps:
    """Snap lon/lat points (EPSG:4326) to the nearest point of the nearest edge.

    Parameters
    ----------
    max_snap_m
        Points farther from any road are not snapped (``ok`` False): they are unreachable with
        reason ``too_far_from_road``.
    walk_kph
        Speed of the off-road leg from the point to the road.
    """
    if walk_kph <= 0:
        raise RoutingError(f"walking speed must be positive, got {walk_kph}")
    if max_snap_m <= 0:
        raise RoutingError(f"maximum snap distance must be positive, got {max_snap_m}")
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    n = len(lon)
    idx = snap_index(net)
    x, y = idx.to_metric.transform(lon, lat)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    valid = np.isfinite(x) & np.isfinite(y)
    seg_edge = np.full(n, -1, dtype=np.int64)
    frac = np.full(n, np.nan)
    dist = np.full(n, np.nan)
    sx = np.full(n, np.nan)
    sy = np.full(n, np.nan)
    if valid.any():
        vi = np.flatnonzero(valid)
        g_rows, along, d, on_road = idx.nearest(x[vi], y[vi], max_snap_m)
        dist[vi] = d
        lengths = idx.lengths[g_rows]
        f = np.where(lengths > 0, np.clip(along / np.where(lengths > 0, lengths, 1), 0, 1), 0.0)
        # rounding: a point projected onto an end of its road is exactly at the end node
        frac[vi] = np.where(f < 1e-9, 0.0, np.where(f > 1 - 1e-9, 1.0, f))
        seg_edge[vi] = idx.rep_edge[g_rows]
        sx[vi] = on_road[:, 0]
        sy[vi] = on_road[:, 1]
    ok = valid & (seg_edge >= 0) & (dist <= max_snap_m)
    leg_s = dist / (walk_kph / 3.6)
    slon, slat = idx.to_lonlat.transform(sx, sy)
    return Snaps(segment_edge=seg_edge, frac=frac, snap_dist_m=dist, leg_s=leg_s, ok=ok,
                 snapped_lon=np.asarray(slon), snapped_lat=np.asarray(slat))


def snap_point_sets(net: RoadNetwork, point_sets: list[tuple[np.ndarray, np.ndarray]], *,
                    max_snap_m: float, walk_kph: float) -> list[Snaps]:
    """Snap several lon/lat point sets in one call (fixed costs paid once); one :class:`Snaps`
    per set, in order, ready to be the groups of an :class:`AugmentedGraph`."""
    lon = np.concatenate([np.asarray(p[0], dtype=float) for p in point_sets]) if point_sets else np.empty(0)
    lat = np.concatenate([np.asarray(p[1], dtype=float) for p in point_sets]) if point_sets else np.empty(0)
    allsn = snap_points(net, lon, lat, max_snap_m=max_snap_m, walk_kph=walk_kph)
    bounds = np.cumsum([0] + [len(p[0]) for p in point_sets])
    return [Snaps(*(getattr(allsn, f)[bounds[i]:bounds[i + 1]] for f in Snaps.__dataclass_fields__))
            for i in range(len(point_sets))]


def _concat_snaps(parts: list[Snaps]) -> Snaps:
    return Snaps(*(np.concatenate([getattr(p, f) for p in parts]) for f in Snaps.__dataclass_fields__))


def _base_arrays(net: RoadNetwork, weight: str) -> dict[str, np.ndarray]:
    """Per-network edge arrays the engine reuses (cached on the network): edge weights,
    segments, their sort order and, for :class:`AugmentedGraph`, the base CSR as COO arcs with
    their edge rows (``row``/``col``/``data``/``edge``, built on first use: the
    nearest-destination pass does not need them)."""
    cache: dict[str, dict[str, np.ndarray]] = net.__dict__.setdefault("_engine_base", {})
    if weight not in cache:
        seg = net.edges["segment"].to_numpy()
        e_order = np.argsort(seg, kind="stable")
        cache[weight] = {"w_all": net.edges[weight].to_numpy(dtype=np.float64), "seg": seg,
                         "rev": net.edges["reversed"].to_numpy(dtype=bool), "e_order": e_order,
                         "seg_sorted": seg[e_order]}
        if len(seg) and seg.min() >= 0 and seg.max() <= 4 * len(seg) + 1024:
            # directed edges of segment s: e_order[seg_start[s]:seg_start[s + 1]] (direct lookup)
            cache[weight]["seg_start"] = np.concatenate([[0], np.cumsum(np.bincount(seg))])
    return cache[weight]


def _base_arcs(net: RoadNetwork, weight: str) -> dict[str, np.ndarray]:
    """:func:`_base_arrays` with the base CSR's COO arcs (``row``, ``col``, ``data``, ``edge``)."""
    ba = _base_arrays(net, weight)
    if "row" not in ba:
        coo = net.csr(weight).tocoo()
        ba.update({"row": coo.row.astype(np.int64), "col": coo.col.astype(np.int64), "data": coo.data,
                   "edge": net.csr_edge_index(weight).astype(np.int64)})
    return ba


def _on_directed_edges(ba: dict[str, np.ndarray], rep: np.ndarray,
                       frac: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each snapped point on every directed edge of its road piece: ``(point, edge row,
    position)``, the position (0..1) in the directed edge's own orientation; ``rep``/``frac``
    are the points' representative edges and fractions (:class:`Snaps`)."""
    seg_of_point = ba["seg"][rep]
    if "seg_start" in ba:
        lo = ba["seg_start"][seg_of_point]
        hi = ba["seg_start"][seg_of_point + 1]
    else:
        lo = np.searchsorted(ba["seg_sorted"], seg_of_point, side="left")
        hi = np.searchsorted(ba["seg_sorted"], seg_of_point, side="right")
    cnt = hi - lo
    pt = np.repeat(np.arange(len(rep)), cnt)
    e_rows = ba["e_order"][concat_ranges(lo, cnt)]
    rev = ba["rev"]
    pos = np.where(rev[e_rows] == rev[rep[pt]], frac[pt], 1.0 - frac[pt])
    return pt, e_rows, pos


def _fastest_unique(key: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Indices keeping one arc per key (node pair): the one with the smallest weight.

    Repeats are rare (loop roads, points at road ends), so only they go through a two-key sort.
    """
    o = np.argsort(key, kind="stable")
    ks = key[o]
    dup = ks[1:] == ks[:-1]
    if not dup.any():
        return o
    in_dup = np.zeros(len(o), dtype=bool)
    in_dup[1:] |= dup
    in_dup[:-1] |= dup
    idx = o[in_dup]
    idx = idx[np.lexsort((d[idx], key[idx]))]
    first = np.ones(len(idx), dtype=bool)
    first[1:] = key[idx][1:] != key[idx][:-1]
    return np.concatenate([o[~in_dup], idx[first]])


class _Arcs(NamedTuple):
    """A block of arcs of the augmented graph and their bookkeeping (see :class:`AugmentedGraph`)."""

    rows: np.ndarray
    cols: np.ndarray
    time: np.ndarray
    edge: np.ndarray
    f0: np.ndarray
    f1: np.ndarray


def _split_arcs(net: RoadNetwork, ba: dict[str, np.ndarray], rep: np.ndarray, f_rep: np.ndarray) -> list[_Arcs]:
    """Every directed edge of the snapped road pieces with the points chained along it: arcs
    previous node -> point, free links back between points at the same spot, last point -> v.

    Point ``k`` (of the snapped points, in node order) is node ``n_nodes + k``; ``rep``/``f_rep``
    are their representative edges and fractions (:class:`Snaps`)."""
    n0 = net.n_nodes
    pt_rep, e_rows, pos = _on_directed_edges(ba, rep, f_rep)
    order = np.lexsort((pos, e_rows))
    e_rows, pos, pt_rep = e_rows[order], pos[order], pt_rep[order]
    node_of = (n0 + pt_rep).astype(np.int64)
    new_group = np.ones(len(e_rows), dtype=bool)
    new_group[1:] = e_rows[1:] != e_rows[:-1]
    last_group = np.ones(len(e_rows), dtype=bool)
    last_group[:-1] = e_rows[1:] != e_rows[:-1]
    prev_node = np.where(new_group, net.edge_u[e_rows], np.roll(node_of, 1))
    prev_pos = np.where(new_group, 0.0, np.roll(pos, 1))
    tt = ba["w_all"][e_rows]
    to_point = _Arcs(prev_node.astype(np.int64), node_of, (pos - prev_pos) * tt, e_rows.astype(np.int64),
                     prev_pos, pos)
    # points at the same spot of a road are chained in some order: link them back too (free),
    # so each reaches the other without going round
    tie = np.flatnonzero(~new_group & (pos == prev_pos))
    back = _Arcs(node_of[tie], prev_node[tie].astype(np.int64), np.zeros(len(tie)), e_rows[tie].astype(np.int64),
                 pos[tie], pos[tie])
    le = np.flatnonzero(last_group)
    to_v = _Arcs(node_of[le], net.edge_v[e_rows[le]].astype(np.int64), (1.0 - pos[le]) * tt[le],
                 e_rows[le].astype(np.int64), pos[le], np.ones(len(le)))
    return [to_point, back, to_v]


def _road_end_links(net: RoadNetwork, rep: np.ndarray, f_rep: np.ndarray) -> list[_Arcs]:
    """Free links both ways between a point snapped onto an end node of its road (beyond a dead
    end, at a corner) and that node, so it may leave or arrive by any road there (otherwise a
    one-way road split at its very start could not reach its own node)."""
    at_end = (f_rep <= 0.0) | (f_rep >= 1.0)
    if not at_end.any():
        return []
    k = np.flatnonzero(at_end)
    end_node = np.where(f_rep[k] <= 0.0, net.edge_u[rep[k]], net.edge_v[rep[k]]).astype(np.int64)
    free = (np.zeros(len(k)), np.full(len(k), -1, dtype=np.int64), np.zeros(len(k)), np.zeros(len(k)))
    return [_Arcs(net.n_nodes + k, end_node, *free), _Arcs(end_node, net.n_nodes + k, *free)]


def _leg_arcs(n0: int, leg_s: np.ndarray) -> list[_Arcs]:
    """Off-road legs of the ``len(leg_s)`` snapped points, both ways (off-road node ``n0 + p + k``,
    on-road node ``n0 + k``)."""
    p = len(leg_s)
    on = n0 + np.arange(p)
    off = n0 + p + np.arange(p)
    none = (np.full(p, -1, dtype=np.int64), np.zeros(p), np.zeros(p))
    return [_Arcs(off, on, leg_s, *none), _Arcs(on, off, leg_s, *none)]


def _unique_arcs(blocks: list[_Arcs], n_nodes: int) -> dict[str, np.ndarray]:
    """The blocks' arcs as arrays (``rows``, ``cols``, ``time``, ``edge``, ``f0``, ``f1``), one
    arc per node pair.

    The base arcs (first block) are unique per node pair already (``net.csr`` keeps the fastest
    parallel edge); new arcs all touch a point node, so only they can repeat: a point on a loop
    road splits both directions between the same nodes -> the fastest of each pair is kept."""
    base, new = blocks[0], blocks[1:]
    nb = len(base.rows)
    r_new = np.concatenate([b.rows for b in new]) if new else np.empty(0, dtype=np.int64)
    c_new = np.concatenate([b.cols for b in new]) if new else np.empty(0, dtype=np.int64)
    d_new = np.concatenate([b.time for b in new]) if new else np.empty(0)
    picked = _fastest_unique(r_new * n_nodes + c_new, d_new)
    sel = np.concatenate([np.arange(nb), nb + picked])
    return {"edge": np.concatenate([b.edge for b in blocks])[sel], "f0": np.concatenate([b.f0 for b in blocks])[sel],
            "f1": np.concatenate([b.f1 for b in blocks])[sel], "rows": np.concatenate([base.rows, r_new[picked]]),
            "cols": np.concatenate([base.cols, c_new[picked]]), "time": np.concatenate([base.time, d_new[picked]])}


def _csr_from_arcs(r: np.ndarray, c: np.ndarray, d: np.ndarray, n: int) -> sparse.csr_matrix:
    """CSR matrix of unique arcs (explicit zero weights are kept as arcs by scipy's COO -> CSR
    conversion, a counting sort in C)."""
    mat = sparse.csr_matrix((d, (r, c)), shape=(n, n))
    return mat


class AugmentedGraph:
    """The network plus snapped points as nodes (see module docstring).

    For point ``i`` (in the order of the snap groups given), ``offroad_node[i]`` is its
    off-road node (the node to route from or to, leg included) and ``onroad_node[i]`` its
    on-road node; ``-1`` where the point is not snapped. Arc bookkeeping (``arc_edge``,
    ``arc_f0``, ``arc_f1``: the original edge row and the fractions of its geometry each arc
    covers, ``-1`` for legs) lets paths be turned back into road geometry.
    """

    def __init__(self, net: RoadNetwork, snaps: list[Snaps], weight: str = "travel_time_s") -> None:
        self.net = net
        self.weight = weight
        self.group_sizes = [len(s.ok) for s in snaps]
        self.group_starts = np.concatenate([[0], np.cumsum(self.group_sizes)])
        allsn = _concat_snaps(snaps) if snaps else Snaps(*(np.empty(0) for _ in range(7)))
        self.snaps = allsn
        n0 = net.n_nodes
        ok = np.flatnonzero(allsn.ok.astype(bool))
        self._ok = ok  # point of each off-road node, in node order
        p = len(ok)
        self.onroad_node = np.full(len(allsn.ok), -1, dtype=np.int64)
        self.offroad_node = np.full(len(allsn.ok), -1, dtype=np.int64)
        self.onroad_node[ok] = n0 + np.arange(p)
        self.offroad_node[ok] = n0 + p + np.arange(p)
        self.n_nodes = n0 + 2 * p
        self._arcs: dict[str, np.ndarray] | None = None
        self._forward: sparse.csr_matrix | None = None
        self._reverse: sparse.csr_matrix | None = None

    # the arcs are built on first use: tables between points (long_table) and the nearest
    # destinations do not need them, paths (corridors) and isochrones do
    @property
    def arc_rows(self) -> np.ndarray:
        """Tail node of every arc."""
        return self._arc("rows")

    @property
    def arc_cols(self) -> np.ndarray:
        """Head node of every arc."""
        return self._arc("cols")

    @property
    def arc_time(self) -> np.ndarray:
        """Weight of every arc (seconds for ``travel_time_s``)."""
        return self._arc("time")

    @property
    def arc_edge(self) -> np.ndarray:
        """Edge row each arc lies on (-1 for off-road legs and free links)."""
        return self._arc("edge")

    @property
    def arc_f0(self) -> np.ndarray:
        """Fraction of its edge's geometry where each arc starts."""
        return self._arc("f0")

    @property
    def arc_f1(self) -> np.ndarray:
        """Fraction of its edge's geometry where each arc ends."""
        return self._arc("f1")

    def _arc(self, name: str) -> np.ndarray:
        if self._arcs is None:
            self._arcs = self._build_arcs()
        return self._arcs[name]

    def _build_arcs(self) -> dict[str, np.ndarray]:
        """The arcs: the network's, with the points' roads split at them, and the legs."""
        net, allsn, ok = self.net, self.snaps, self._ok
        ba = _base_arcs(net, self.weight)
        blocks = [_Arcs(ba["row"], ba["col"], ba["data"], ba["edge"], np.zeros(len(ba["edge"])),
                        np.ones(len(ba["edge"])))]
        if len(ok):
            rep = allsn.segment_edge[ok]
            f_rep = allsn.frac[ok]
            blocks += _split_arcs(net, ba, rep, f_rep)
            blocks += _road_end_links(net, rep, f_rep)
            blocks += _leg_arcs(net.n_nodes, allsn.leg_s[ok])
        return _unique_arcs(blocks, self.n_nodes)

    @property
    def forward(self) -> sparse.csr_matrix:
        """The augmented graph in travel direction (built on first use)."""
        if self._forward is None:
            self._forward = _csr_from_arcs(self.arc_rows, self.arc_cols, self.arc_time, self.n_nodes)
        return self._forward

    @property
    def reverse(self) -> sparse.csr_matrix:
        """The augmented graph against travel direction (built on first use)."""
        if self._reverse is None:
            self._reverse = _csr_from_arcs(self.arc_cols, self.arc_rows, self.arc_time, self.n_nodes)
            if self._reverse.nnz != len(self.arc_time):
                raise RoutingError("internal error: duplicate arcs in the augmented graph")
        return self._reverse

    def group(self, k: int) -> slice:
        """Slice of the points of snap group ``k`` (in the order given to the constructor)."""
        return slice(int(self.group_starts[k]), int(self.group_starts[k + 1]))

    def nearest(self, dest_nodes: np.ndarray, from_nodes: np.ndarray, limit: float = np.inf,
                predecessors: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """One multi-source pass: for each node of ``from_nodes``, the time to the nearest of
        ``dest_nodes`` and the position (in ``dest_nodes``) of that destination.

        Returns ``(time, which, pred)``; ``time`` is inf and ``which`` -1 where none is reachable
        (or ``from_nodes`` is -1). ``pred`` (the predecessor array of the reversed search, i.e.
        the next node towards the destination) only when ``predecessors``.
        """
        from ._shortest import nearest_seed

        from_nodes = np.asarray(from_nodes, dtype=np.int64)
        time = np.full(len(from_nodes), np.inf)
        which = np.full(len(from_nodes), -1, dtype=np.int64)
        dest_nodes = np.asarray(dest_nodes, dtype=np.int64)
        if len(dest_nodes) == 0:
            return time, which, None
        if not predecessors:
            fast = self._nearest_points(dest_nodes, from_nodes, limit)
            if fast is not None:
                return fast[0], fast[1], None
        rev = self.reverse
        # seeds at cost 0: a repeated destination node keeps its first position
        dist, seed, pred = nearest_seed(rev.indptr, rev.indices, rev.data, self.n_nodes, dest_nodes,
                                        np.zeros(len(dest_nodes)), limit=limit, predecessors=predecessors)
        valid = from_nodes >= 0
        time[valid] = dist[from_nodes[valid]]
        which[valid] = seed[from_nodes[valid]]
        return time, which, pred

    def _nearest_points(self, dest_nodes: np.ndarray, from_nodes: np.ndarray,
                        limit: float) -> tuple[np.ndarray, np.ndarray] | None:
        """:meth:`nearest` between points without the augmented graph: destinations are seeds
        on the network (:func:`nearest_destinations`' formulation), a point to itself is 0.
        None when a node is not a point's off-road node."""
        from ._shortest import nearest_seed, read_nearest

        dp = self._points_of(dest_nodes)
        fp = self._points_of(from_nodes)
        if dp is None or fp is None or (dest_nodes < 0).any():
            return None
        net, sn = self.net, self.snaps
        ba = _base_arrays(net, self.weight)
        w, eu, ev = ba["w_all"], net.edge_u.astype(np.int64), net.edge_v.astype(np.int64)
        time = np.full(len(from_nodes), np.inf)
        which = np.full(len(from_nodes), -1, dtype=np.int64)
        d_pt, d_e, d_p = _on_directed_edges(ba, sn.segment_edge[dp], sn.frac[dp])
        d_leg = sn.leg_s[dp]
        pt, seed_node, seed_cost = _end_costs(eu, ev, w, d_pt, d_e, d_p, d_leg, leaving=False)
        # seeds by destination position: the cheapest seed of a node wins, then the first
        by_dest = np.argsort(pt, kind="stable")
        rank, graph = _ordered_csr(net, self.weight, reverse=True)
        dist, seed, _ = nearest_seed(graph.indptr, graph.indices, graph.data, net.n_nodes,
                                     rank[seed_node[by_dest]], seed_cost[by_dest], limit=limit)
        o_ok = np.flatnonzero(fp >= 0)
        o_pt, o_e, o_q = _on_directed_edges(ba, sn.segment_edge[fp[o_ok]], sn.frac[fp[o_ok]])
        by_edge = np.argsort(d_e, kind="stable")
        t, dest = read_nearest(o_pt, o_e, o_q, len(o_ok), eu, ev, w, dist[rank], seed[rank], pt[by_dest],
                               d_e[by_edge], d_p[by_edge], d_pt[by_edge], d_leg)
        t = t + sn.leg_s[fp[o_ok]]
        hit = np.isfinite(t) & (t <= limit)
        time[o_ok[hit]] = t[hit]
        which[o_ok[hit]] = dest[hit]
        # a destination at the very node: time 0 (its first position)
        same_f, same_d = _same_nodes(from_nodes, dest_nodes)
        first = np.full(len(from_nodes), np.iinfo(np.int64).max)
        np.minimum.at(first, same_f, same_d)
        at = first < np.iinfo(np.int64).max
        time[at] = 0.0
        which[at] = first[at]
        return time, which

    def long_table(self, sources: np.ndarray, targets: np.ndarray, cutoff: float = np.inf,
                   reverse: bool = True, *, threads: int | None = None,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sparse long table ``(source_pos, target_pos, time)`` of the pairs within ``cutoff``.

        One bounded compiled search per source (:class:`territorial_gis._shortest.TableSearch`),
        spread over ``threads`` threads (default :func:`routing_threads`); a search stops at
        the cutoff or once every target is settled, and its pairs go straight into arrays.
        Pairs come sorted by source position, then target position, and do not depend on the
        number of threads. ``-1`` sources or targets (points not snapped) have no pairs.
        ``reverse`` gives the time from each target to the source (else source to target).

        When every source and target is a point's off-road node (the usual case), the searches
        run on the network itself from the points' roads (:meth:`_point_plan`), the way
        :func:`nearest_destinations` does; the times equal the augmented graph's.
        """
        sources = np.asarray(sources, dtype=np.int64)
        targets = np.asarray(targets, dtype=np.int64)
        if not cutoff >= 0:
            raise RoutingError(f"cutoff must be a non-negative number of seconds, got {cutoff}")
        src_pos = np.flatnonzero(sources >= 0)
        if not len(src_pos) or not (targets >= 0).any():
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)
        planned = self._point_plan(sources[src_pos], targets, reverse)
        if planned is None:
            plan = node_plan(self.reverse if reverse else self.forward, sources[src_pos], targets)
            order = np.argsort(sources[src_pos], kind="stable")
        else:
            plan, order = planned
        s, t, d = run_table(plan, cutoff=cutoff, threads=threads, order=order)
        return src_pos[s], t, d

    def _points_of(self, nodes: np.ndarray) -> np.ndarray | None:
        """Index (in :attr:`snaps`) of the point whose off-road node each node is (-1 for -1),
        or None when a node is not an off-road node."""
        n_pts = len(self._ok)
        j = nodes - (self.net.n_nodes + n_pts)
        valid = nodes >= 0
        if ((j[valid] < 0) | (j[valid] >= n_pts)).any():
            return None
        return np.where(valid, self._ok[np.where(valid, j, 0)] if n_pts else -1, -1)

    def _point_plan(self, src_nodes: np.ndarray, targets: np.ndarray,
                    reverse: bool) -> tuple[TablePlan, np.ndarray] | None:
        """The table between points as searches on the network from the points' roads.

        A point at position ``q`` of a directed road ``u -> v`` (its off-road leg ``L``) leaves
        by ``v`` after ``(1 - q) w + L`` (and by ``u`` after ``L`` when ``q = 0``) and is
        reached from ``u`` in ``q w + L`` (from ``v`` in ``L`` when ``q = 1``): the
        :attr:`forward` search of a source starts at its leaving nodes and a target is read at
        its reaching nodes; the :attr:`reverse` one the other way round. A target further
        along the same directed road, and the source itself, are direct trips. Returns the plan
        and the order to take its sources in.
        """
        from ._shortest import TablePlan

        sp = self._points_of(src_nodes)
        tp = self._points_of(targets)
        if sp is None or tp is None:
            return None
        net, sn = self.net, self.snaps
        ba = _base_arrays(net, self.weight)
        w, eu, ev = ba["w_all"], net.edge_u.astype(np.int64), net.edge_v.astype(np.int64)
        t_ok = np.flatnonzero(tp >= 0)
        s_i, s_e, s_q = _on_directed_edges(ba, sn.segment_edge[sp], sn.frac[sp])
        t_i, t_e, t_q = _on_directed_edges(ba, sn.segment_edge[tp[t_ok]], sn.frac[tp[t_ok]])
        s_leg, t_leg = sn.leg_s[sp], sn.leg_s[tp[t_ok]]
        # start at the leaving (forward) or reaching (reverse) nodes; read targets at the others
        leave = _end_costs(eu, ev, w, s_i, s_e, s_q, s_leg, leaving=not reverse)
        reach = _end_costs(eu, ev, w, t_i, t_e, t_q, t_leg, leaving=reverse)
        seed_ptr, seed_order = _csr_order(leave[0], len(sp))
        direct = _direct_trips(w, s_i, s_e, s_q, s_leg, t_i, t_e, t_q, t_leg, reverse)
        same_s, same_t = _same_nodes(src_nodes, targets[t_ok])
        d_src = np.concatenate([direct[0], same_s])
        d_tgt = t_ok[np.concatenate([direct[1], same_t])]
        d_time = np.concatenate([direct[2], np.zeros(len(same_s))])
        direct_ptr, direct_order = _csr_order(d_src, len(sp))
        # the network's nodes renumbered along a space-filling curve (searches touch nearby
        # memory), and sources taken in that order too (consecutive searches share it)
        rank, graph = _ordered_csr(net, self.weight, reverse)
        seed_node = rank[leave[1][seed_order]]
        entry_ptr, entry_order = _csr_order(rank[reach[1]], net.n_nodes)
        plan = TablePlan(graph.indptr, graph.indices, graph.data,
                         seed_ptr, seed_node, leave[2][seed_order],
                         entry_ptr, t_ok[reach[0][entry_order]], reach[2][entry_order], len(targets),
                         direct_ptr, d_tgt[direct_order], d_time[direct_order])
        first_seed = np.full(len(sp), np.iinfo(np.int64).max)
        has_seed = np.diff(seed_ptr) > 0
        first_seed[has_seed] = seed_node[seed_ptr[:-1][has_seed]]
        return plan, np.argsort(first_seed, kind="stable")


def _morton(xy: np.ndarray, bits: int = 16) -> np.ndarray:
    """Z-order (Morton) code of points on a ``2**bits`` square grid over their extent."""
    lo = xy.min(axis=0)
    span = np.maximum(xy.max(axis=0) - lo, 1e-9)
    cell = ((xy - lo) / span * (2**bits - 1)).astype(np.uint64)
    code = np.zeros(len(xy), dtype=np.uint64)
    for b in range(bits):
        one = np.uint64(1)
        code |= ((cell[:, 0] >> np.uint64(b)) & one) << np.uint64(2 * b)
        code |= ((cell[:, 1] >> np.uint64(b)) & one) << np.uint64(2 * b + 1)
    return code


def _ordered_csr(net: RoadNetwork, weight: str, reverse: bool) -> tuple[np.ndarray, sparse.csr_matrix]:
    """``(rank, csr)``: the new index of every node along a Z-order curve of the node
    coordinates, and ``net.csr(weight, reverse)`` with its nodes renumbered so (cached)."""
    cache: dict[Any, Any] = net.__dict__.setdefault("_engine_ordered", {})
    if "rank" not in cache:
        order = np.argsort(_morton(net.node_xy), kind="stable")
        rank = np.empty(net.n_nodes, dtype=np.int64)
        rank[order] = np.arange(net.n_nodes)
        cache["rank"] = rank
    key = (weight, reverse)
    if key not in cache:
        coo = net.csr(weight, reverse=reverse).tocoo()
        rank = cache["rank"]
        cache[key] = sparse.csr_matrix((coo.data, (rank[coo.row], rank[coo.col])), shape=coo.shape)
    return cache["rank"], cache[key]


def _end_costs(eu: np.ndarray, ev: np.ndarray, w: np.ndarray, pt: np.ndarray, e: np.ndarray, q: np.ndarray,
               leg: np.ndarray, *, leaving: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(point, node, cost)``: the road-end nodes a point leaves by (``leaving``) or is
    reached from, with the time between the point and the node, off-road leg included."""
    if leaving:
        at = q <= 0.0
        node = np.concatenate([ev[e], eu[e[at]]])
        cost = np.concatenate([(1.0 - q) * w[e] + leg[pt], leg[pt[at]]])
    else:
        at = q >= 1.0
        node = np.concatenate([eu[e], ev[e[at]]])
        cost = np.concatenate([q * w[e] + leg[pt], leg[pt[at]]])
    return np.concatenate([pt, pt[at]]), node, cost


def _csr_order(key: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR pointer over ``0..n-1`` and the (stable) order grouping ``key`` by value."""
    order = np.argsort(key, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(key, minlength=n), out=ptr[1:])
    return ptr, order


def _direct_trips(w: np.ndarray, s_i: np.ndarray, s_e: np.ndarray, s_q: np.ndarray, s_leg: np.ndarray,
                  t_i: np.ndarray, t_e: np.ndarray, t_q: np.ndarray, t_leg: np.ndarray,
                  reverse: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(source, target, time)`` of trips along one directed road between a source and a
    target on it (from the source to a target further on, or, ``reverse``, from the target to
    a source further on), legs included."""
    by_e = np.argsort(t_e, kind="stable")
    te = t_e[by_e]
    lo = np.searchsorted(te, s_e, side="left")
    cnt = np.searchsorted(te, s_e, side="right") - lo
    k = np.repeat(np.arange(len(s_e)), cnt)
    j = by_e[concat_ranges(lo, cnt)]
    gap = (s_q[k] - t_q[j]) if reverse else (t_q[j] - s_q[k])
    keep = gap >= 0
    k, j = k[keep], j[keep]
    return s_i[k], t_i[j], gap[keep] * w[s_e[k]] + s_leg[s_i[k]] + t_leg[t_i[j]]


def _same_nodes(src_nodes: np.ndarray, tgt_nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(source, target)`` (positions) that are the same node."""
    order = np.argsort(tgt_nodes, kind="stable")
    tn = tgt_nodes[order]
    lo = np.searchsorted(tn, src_nodes, side="left")
    cnt = np.searchsorted(tn, src_nodes, side="right") - lo
    return np.repeat(np.arange(len(src_nodes)), cnt), order[concat_ranges(lo, cnt)]


def routing_threads() -> int:
    """Threads for many-to-many searches: ``settings.threads`` when set, else the CPUs this
    process may use."""
    from . import settings

    if settings.threads is not None:
        return max(1, int(settings.threads))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # (not on every platform)
        return max(1, os.cpu_count() or 1)


def node_plan(graph: sparse.csr_matrix, src_nodes: np.ndarray, targets: np.ndarray) -> TablePlan:
    """A table plan between nodes of a CSR graph: each source searches from its node, each
    target (``-1``: none) is read at its node."""
    from ._shortest import TablePlan

    n = graph.shape[0]
    t_ok = np.flatnonzero(targets >= 0)
    entry_ptr, order = _csr_order(targets[t_ok], n)
    empty = np.empty(0, dtype=np.int64)
    return TablePlan(graph.indptr, graph.indices, graph.data, np.arange(len(src_nodes) + 1), src_nodes,
                     np.zeros(len(src_nodes)), entry_ptr, t_ok[order], np.zeros(len(t_ok)), len(targets),
                     np.zeros(len(src_nodes) + 1, dtype=np.int64), empty, np.empty(0))


def run_table(plan: TablePlan, *, cutoff: float = np.inf, threads: int | None = None,
              order: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run every source of ``plan``: ``(source, target, time)`` of the pairs within ``cutoff``,
    sorted by source then target.

    Sources are taken in ``order`` (default: their own; a spatial order lets consecutive
    searches reuse the memory they touch) in chunks that ``threads`` Python threads share out;
    each thread owns a :class:`~territorial_gis._shortest.TableSearch` (its own distances,
    heap and result buffers) whose batch runs without the GIL, so the threads search in
    parallel. The pairs are put back in source order, so the result depends neither on the
    number of threads nor on ``order``.
    """
    from ._shortest import TableSearch

    n_src = plan.n_sources
    seq = np.arange(n_src) if order is None else np.asarray(order, dtype=np.int64)
    if len(seq) != n_src or (n_src and not np.array_equal(np.sort(seq), np.arange(n_src))):
        raise RoutingError("internal error: the source order is not a permutation of the sources")
    n_threads = min(routing_threads() if threads is None else max(1, int(threads)), max(n_src, 1))
    # several chunks per thread (load balance), each large enough that the per-call overhead
    # (tens of microseconds) is nothing next to its searches
    size = int(np.clip(n_src // (8 * n_threads), 1, 256))
    chunks = [seq[i:i + size] for i in range(0, n_src, size)]
    results: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = [None] * len(chunks)
    errors: list[BaseException] = []
    chunk_ids = iter(range(len(chunks)))
    lock = threading.Lock()

    def work() -> None:
        try:
            search = TableSearch(plan)
            while not errors:
                with lock:
                    k = next(chunk_ids, None)
                if k is None:
                    return
                results[k] = search.run(chunks[k], cutoff)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            errors.append(exc)

    if n_threads == 1:
        work()
    else:
        pool = [threading.Thread(target=work, daemon=True) for _ in range(n_threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    if errors:
        raise errors[0]
    done = [r for r in results if r is not None]
    if not done:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)
    count_seq = np.concatenate([r[0] for r in done])  # pairs of each source, in the order taken
    target = np.concatenate([r[1] for r in done])
    time_s = np.concatenate([r[2] for r in done])
    if not np.array_equal(seq, np.arange(n_src)):
        # back to source order: each source's block of pairs, where it was produced
        start_seq = np.concatenate([[0], np.cumsum(count_seq)[:-1]])
        count = np.empty(n_src, dtype=np.int64)
        count[seq] = count_seq
        start = np.empty(n_src, dtype=np.int64)
        start[seq] = start_seq
        take = concat_ranges(start, count)
        target, time_s, count_seq = target[take], time_s[take], count
    return np.repeat(np.arange(n_src), count_seq), target, time_s


def nearest_destinations(net: RoadNetwork, origins: Snaps, tiers: list[Snaps],
                         weight: str = "travel_time_s") -> list[tuple[np.ndarray, np.ndarray]]:
    """Time from every origin to the nearest destination of each set, one compiled pass per set.

    No virtual nodes: a destination partway along a directed edge ``u -> v`` is a *seed* at
    ``u`` whose initial cost is its off-road leg plus the part of the edge up to it (a point
    at a road end also seeds that end node with just its leg); one multi-source Dijkstra over
    the reversed network (:func:`territorial_gis._shortest.nearest_seed`) then gives every node
    its time to the nearest destination and that destination. An origin partway along
    ``u -> v`` leaves towards ``v`` (the rest of the edge, then ``v``'s time), from ``u``
    itself when it sits on it, or reaches a destination further along the same edge directly.
    This is the augmented-graph answer (:class:`AugmentedGraph`), without building that graph.
    The sets' passes run side by side on :func:`routing_threads` threads.

    Returns
    -------
    list of (time_s, which)
        Per destination set: seconds (inf where no destination is reachable or the origin is
        not snapped) and the index of the nearest destination in that set (-1 if none).
    """
    from ._shortest import nearest_seed, read_nearest

    ba = _base_arrays(net, weight)
    w = ba["w_all"]
    eu = net.edge_u
    ev = net.edge_v
    rev = net.csr(weight, reverse=True)
    n_o = len(origins.ok)
    o_ok = np.flatnonzero(origins.ok)
    o_pt, o_e, o_q = _on_directed_edges(ba, origins.segment_edge[o_ok], origins.frac[o_ok])

    def one_tier(dsn: Snaps) -> tuple[np.ndarray, np.ndarray]:
        time = np.full(n_o, np.inf)
        which = np.full(n_o, -1, dtype=np.int64)
        d_ok = np.flatnonzero(dsn.ok)
        if not len(d_ok) or not len(o_ok):
            return time, which
        d_pt, d_e, d_p = _on_directed_edges(ba, dsn.segment_edge[d_ok], dsn.frac[d_ok])
        d_leg = dsn.leg_s[d_ok]
        at_v = d_p >= 1.0
        seed_node = np.concatenate([eu[d_e], ev[d_e[at_v]]])
        seed_cost = np.concatenate([d_leg[d_pt] + d_p * w[d_e], d_leg[d_pt[at_v]]])
        seed_dest = np.concatenate([d_pt, d_pt[at_v]])
        dist, seed, _ = nearest_seed(rev.indptr, rev.indices, rev.data, net.n_nodes, seed_node, seed_cost)
        by_edge = np.argsort(d_e, kind="stable")
        t, dest = read_nearest(o_pt, o_e, o_q, len(o_ok), eu, ev, w, dist, seed, seed_dest,
                               d_e[by_edge], d_p[by_edge], d_pt[by_edge], d_leg)
        reached = np.isfinite(t)
        rows = o_ok[reached]
        time[rows] = t[reached] + origins.leg_s[rows]
        which[rows] = d_ok[dest[reached]]
        return time, which

    # the tiers' passes are independent and release the GIL: one thread each, up to the CPUs
    n_threads = min(routing_threads(), len(tiers))
    if n_threads <= 1:
        return [one_tier(d) for d in tiers]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        return list(pool.map(one_tier, tiers))
