"""Compiled routing engine: snapping to edges and multi-source shortest paths (scipy csgraph).

Points (origins and destinations) are snapped to the nearest point of the nearest edge in the
network's metric CRS. Each snapped point becomes two nodes of an *augmented graph*: an on-road
node that splits every directed edge of its road piece (so the part of the edge to each end is
charged at the edge's speed, and several points on one edge are chained in order), and an
off-road node linked to it by the walking leg. Nearest-destination questions are then one
``scipy.sparse.csgraph.dijkstra(min_only=True)`` pass over the reversed augmented graph from all
destinations of a tier at once; no Python loop over origins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely
from pyproj import Transformer
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from ._arrays import concat_ranges, run_positions
from .errors import RoutingError

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

    from .network import RoadNetwork

log = logging.getLogger(__name__)

# memory budget of one batch of a one-to-all distance block (float64 cells)
_BATCH_CELLS = 8_000_000


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

    The polylines are cut into straight sub-pieces of at most ``_PIECE_M`` metres, registered
    in a sparse uniform grid (:class:`territorial_gis._snapgrid.SnapGrid`, compiled; cells of
    ``_PIECE_M`` to ``2 * _PIECE_M``, only occupied cells stored). The nearest road point of a
    query point is exact: the grid is searched ring by ring until no unseen sub-piece can be
    closer. Points the grid leaves open (no road within ``_MAX_RINGS`` rings of cells) go to a
    KD-tree of the sub-piece midpoints (built on first need), searched exactly too: the ``k``
    nearest midpoints give a candidate distance ``D``; any other sub-piece is at least
    ``|p - m| - h`` away (``h`` the largest half-length), so every midpoint within ``D + h`` is
    checked unless the k-th is already farther. Points farther than the maximum snap distance
    skip that check: their distance is an upper bound within ``h`` of the truth.
    """

    def __init__(self, net: RoadNetwork) -> None:
        from ._snapgrid import SnapGrid

        seg = net.edges["segment"].to_numpy()
        rev = net.edges["reversed"].to_numpy(dtype=bool)
        # one representative directed edge per segment: prefer the non-reversed copy
        order = np.lexsort((rev, seg))
        first = np.ones(len(order), dtype=bool)
        first[1:] = seg[order][1:] != seg[order][:-1]
        self.rep_edge = order[first]
        self.geoms = net.edge_geometry_metric()[self.rep_edge]
        self.seg_of_rep = seg[self.rep_edge]
        coords, gi = shapely.get_coordinates(self.geoms, return_index=True)
        same = gi[1:] == gi[:-1]
        d = np.hypot(np.diff(coords[:, 0]), np.diff(coords[:, 1]))
        d = np.where(same, d, 0.0)
        cum = np.concatenate([[0.0], np.cumsum(d)])
        starts = np.searchsorted(gi, np.arange(len(self.geoms)), side="left")
        self.lengths = np.bincount(gi[:-1][same], weights=d[same], minlength=len(self.geoms))
        # straight pieces between consecutive vertices, cut into sub-pieces <= _PIECE_M
        k = np.flatnonzero(same)
        a = coords[k]
        b = coords[k + 1]
        along0 = cum[k] - cum[starts[gi[k]]]
        n_sub = np.maximum(1, np.ceil(d[k] / _PIECE_M)).astype(np.int64)
        rep = np.repeat(np.arange(len(k)), n_sub)
        j = run_positions(n_sub)
        t0 = (j / n_sub[rep])[:, None]
        t1 = ((j + 1) / n_sub[rep])[:, None]
        self.pa = np.ascontiguousarray(a[rep] + t0 * (b[rep] - a[rep]))
        self.pb = np.ascontiguousarray(a[rep] + t1 * (b[rep] - a[rep]))
        self.p_geom = gi[k][rep]
        self.p_along0 = along0[rep] + t0[:, 0] * d[k][rep]
        self.half = float(np.max(np.hypot(*(self.pb - self.pa).T)) / 2.0) if len(rep) else 0.0
        # grid: about one sub-piece per cell where roads are dense, cells of _PIECE_M to 2 * _PIECE_M
        both = np.concatenate([self.pa, self.pb]) if len(rep) else np.zeros((1, 2))
        lo, hi = both.min(axis=0), both.max(axis=0)
        area = float(max(hi[0] - lo[0], _PIECE_M) * max(hi[1] - lo[1], _PIECE_M))
        cell = min(max(_PIECE_M, float(np.sqrt(area / max(len(rep), 1)))), 2 * _PIECE_M)
        self.grid = SnapGrid(self.pa, self.pb, cell)
        self.to_metric = Transformer.from_crs(4326, net.crs, always_xy=True)
        self.to_lonlat = Transformer.from_crs(net.crs, 4326, always_xy=True)
        self._kdtree: cKDTree | None = None

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
    """Per-network arrays the augmented graph reuses (cached on the network): the base CSR as
    COO arcs with their edge rows, edge weights, segments and their sort order."""
    cache: dict[str, dict[str, np.ndarray]] = net.__dict__.setdefault("_engine_base", {})
    if weight not in cache:
        coo = net.csr(weight).tocoo()
        seg = net.edges["segment"].to_numpy()
        e_order = np.argsort(seg, kind="stable")
        cache[weight] = {"row": coo.row.astype(np.int64), "col": coo.col.astype(np.int64), "data": coo.data,
                         "edge": net.csr_edge_index(weight).astype(np.int64),
                         "w_all": net.edges[weight].to_numpy(dtype=np.float64), "seg": seg,
                         "rev": net.edges["reversed"].to_numpy(dtype=bool), "e_order": e_order,
                         "seg_sorted": seg[e_order]}
        if len(seg) and seg.min() >= 0 and seg.max() <= 4 * len(seg) + 1024:
            # directed edges of segment s: e_order[seg_start[s]:seg_start[s + 1]] (direct lookup)
            cache[weight]["seg_start"] = np.concatenate([[0], np.cumsum(np.bincount(seg))])
    return cache[weight]


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
        self.group_sizes = [len(s.ok) for s in snaps]
        self.group_starts = np.concatenate([[0], np.cumsum(self.group_sizes)])
        allsn = _concat_snaps(snaps) if snaps else Snaps(*(np.empty(0) for _ in range(7)))
        self.snaps = allsn
        n0 = net.n_nodes
        ok = np.flatnonzero(allsn.ok.astype(bool))
        p = len(ok)
        self.onroad_node = np.full(len(allsn.ok), -1, dtype=np.int64)
        self.offroad_node = np.full(len(allsn.ok), -1, dtype=np.int64)
        self.onroad_node[ok] = n0 + np.arange(p)
        self.offroad_node[ok] = n0 + p + np.arange(p)
        self.n_nodes = n0 + 2 * p
        ba = _base_arrays(net, weight)
        w_all = ba["w_all"]
        rows = [ba["row"]]
        cols = [ba["col"]]
        data = [ba["data"]]
        arc_edge = [ba["edge"]]
        arc_f0 = [np.zeros(len(ba["edge"]))]
        arc_f1 = [np.ones(len(ba["edge"]))]
        if p:
            # every directed edge of the snapped road pieces gets the points chained along it
            rep = allsn.segment_edge[ok]
            f_rep = allsn.frac[ok]
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
            tt = w_all[e_rows]
            # arcs prev -> point
            rows.append(prev_node.astype(np.int64))
            cols.append(node_of)
            data.append((pos - prev_pos) * tt)
            arc_edge.append(e_rows.astype(np.int64))
            f0 = prev_pos
            f1 = pos
            arc_f0.append(f0)
            arc_f1.append(f1)
            # arcs last point -> v
            le = np.flatnonzero(last_group)
            rows.append(node_of[le])
            cols.append(net.edge_v[e_rows[le]].astype(np.int64))
            data.append((1.0 - pos[le]) * tt[le])
            arc_edge.append(e_rows[le].astype(np.int64))
            arc_f0.append(pos[le])
            arc_f1.append(np.ones(len(le)))
            # a point snapped onto an end node of its road (beyond a dead end, at a corner) is
            # at that node: free links both ways, so it may leave or arrive by any road there
            # (otherwise a one-way road split at its very start could not reach its own node)
            at_end = (f_rep <= 0.0) | (f_rep >= 1.0)
            if at_end.any():
                k = np.flatnonzero(at_end)
                end_node = np.where(f_rep[k] <= 0.0, net.edge_u[rep[k]], net.edge_v[rep[k]]).astype(np.int64)
                rows += [n0 + k, end_node]
                cols += [end_node, n0 + k]
                data += [np.zeros(len(k))] * 2
                arc_edge += [np.full(len(k), -1, dtype=np.int64)] * 2
                arc_f0 += [np.zeros(len(k))] * 2
                arc_f1 += [np.zeros(len(k))] * 2
            # off-road legs, both ways
            on = n0 + np.arange(p)
            off = n0 + p + np.arange(p)
            leg = allsn.leg_s[ok]
            rows += [off, on]
            cols += [on, off]
            data += [leg, leg]
            arc_edge += [np.full(p, -1, dtype=np.int64)] * 2
            arc_f0 += [np.zeros(p)] * 2
            arc_f1 += [np.zeros(p)] * 2
        # the base arcs are unique per node pair already (net.csr keeps the fastest parallel
        # edge); new arcs all touch a point node, so only they can repeat: a point on a loop
        # road splits both directions between the same nodes -> keep the fastest of each pair
        nb = len(rows[0])
        r_new = np.concatenate(rows[1:]) if len(rows) > 1 else np.empty(0, dtype=np.int64)
        c_new = np.concatenate(cols[1:]) if len(cols) > 1 else np.empty(0, dtype=np.int64)
        d_new = np.concatenate(data[1:]) if len(data) > 1 else np.empty(0)
        picked = _fastest_unique(r_new * self.n_nodes + c_new, d_new)
        sel = np.concatenate([np.arange(nb), nb + picked])
        r = np.concatenate([rows[0], r_new[picked]])
        c = np.concatenate([cols[0], c_new[picked]])
        d = np.concatenate([data[0], d_new[picked]])
        self.arc_edge = np.concatenate(arc_edge)[sel]
        self.arc_f0 = np.concatenate(arc_f0)[sel]
        self.arc_f1 = np.concatenate(arc_f1)[sel]
        self.arc_rows = r
        self.arc_cols = c
        self.arc_time = d
        self._forward: sparse.csr_matrix | None = None
        self.reverse = _csr_from_arcs(c, r, d, self.n_nodes)
        if self.reverse.nnz != len(d):
            raise RoutingError("internal error: duplicate arcs in the augmented graph")

    @property
    def forward(self) -> sparse.csr_matrix:
        """The augmented graph in travel direction (built on first use: nearest-destination
        questions only need :attr:`reverse`)."""
        if self._forward is None:
            self._forward = _csr_from_arcs(self.arc_rows, self.arc_cols, self.arc_time, self.n_nodes)
        return self._forward

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
        rev = self.reverse
        # seeds at cost 0: a repeated destination node keeps its first position
        dist, seed, pred = nearest_seed(rev.indptr, rev.indices, rev.data, self.n_nodes, dest_nodes,
                                        np.zeros(len(dest_nodes)), limit=limit, predecessors=predecessors)
        valid = from_nodes >= 0
        time[valid] = dist[from_nodes[valid]]
        which[valid] = seed[from_nodes[valid]]
        return time, which, pred

    def long_table(self, sources: np.ndarray, targets: np.ndarray, cutoff: float = np.inf,
                   reverse: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sparse long table ``(source_pos, target_pos, time)`` of pairs within ``cutoff``,
        computed in bounded batches (never a dense all-pairs matrix of the whole region)."""
        graph = self.reverse if reverse else self.forward
        sources = np.asarray(sources, dtype=np.int64)
        targets = np.asarray(targets, dtype=np.int64)
        valid_t = np.flatnonzero(targets >= 0)
        batch = max(1, _BATCH_CELLS // max(self.n_nodes, 1))
        out_s, out_t, out_d = [], [], []
        for start in range(0, len(sources), batch):
            pos = np.arange(start, min(start + batch, len(sources)))
            pos = pos[sources[pos] >= 0]
            if not len(pos):
                continue
            d = dijkstra(graph, directed=True, indices=sources[pos], limit=cutoff)[:, targets[valid_t]]
            si, ti = np.nonzero(np.isfinite(d) & (d <= cutoff))
            out_s.append(pos[si])
            out_t.append(valid_t[ti])
            out_d.append(d[si, ti])
        if not out_s:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)
        return np.concatenate(out_s), np.concatenate(out_t), np.concatenate(out_d)


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
    out = []
    for dsn in tiers:
        time = np.full(n_o, np.inf)
        which = np.full(n_o, -1, dtype=np.int64)
        d_ok = np.flatnonzero(dsn.ok)
        if not len(d_ok) or not len(o_ok):
            out.append((time, which))
            continue
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
        out.append((time, which))
    return out
