"""Road line layers, topology: nodes and undirected edges from lines, and their repair.

Vectorised over flat vertex arrays in the metric CRS of the area: lines are split at every
vertex they share with another line (OSM's rule: interior shared vertices included, mere
crossings not); optionally nodes are added where lines cross (never where either is a bridge
or tunnel or they sit on different ``layer`` values); with a tolerance, dangling ends are moved
onto the nearest point of another line within it (nothing else moves, no move chains, see
:meth:`_Topology.snap_ends`); zero-length and duplicate edges are dropped. What was repaired
is counted in a report dict, with the largest and median displacement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from ._arrays import unique_values
from ._crs import utm_crs_for_bounds
from ._geodesy import segment_lengths_m
from ._progress import bar
from .errors import ConfigError, NetworkError

_QUANTUM_M = 1e-3  # vertices in the same 1 mm cell are the same point
_VERTEX_EPS_M = 1e-3  # a crossing closer than this (m) to a vertex is at the vertex
_TOUCH_DEG = 1e-8  # lines closer than this (degrees, ~1 mm) meet


# ---------------------------------------------------------------------- flat line arrays
@dataclass
class _Lines:
    """Polylines as flat vertex arrays: metric ``xy``, ``ll`` lon/lat, ``line`` (part index,
    non-decreasing; consecutive vertices with the same ``line`` form a segment)."""

    xy: np.ndarray
    ll: np.ndarray
    line: np.ndarray
    moved: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # moved by snapping

    def __post_init__(self) -> None:
        if len(self.moved) != len(self.line):
            self.moved = np.zeros(len(self.line), dtype=bool)

    def take(self, index: np.ndarray) -> None:
        """Keep (and reorder) the vertices ``index`` (an index or boolean mask)."""
        self.xy, self.ll, self.line, self.moved = (self.xy[index], self.ll[index], self.line[index],
                                                   self.moved[index])

    @property
    def start(self) -> np.ndarray:
        ln = self.line
        return np.r_[True, ln[1:] != ln[:-1]] if len(ln) else np.zeros(0, dtype=bool)

    @property
    def end(self) -> np.ndarray:
        ln = self.line
        return np.r_[ln[1:] != ln[:-1], True] if len(ln) else np.zeros(0, dtype=bool)

    def seg_start(self) -> np.ndarray:
        """Index of the first vertex of every segment."""
        return np.flatnonzero(~self.end)

    def measure(self) -> np.ndarray:
        """Distance (m) of each vertex along its line."""
        d = np.zeros(len(self.xy))
        if len(self.xy) > 1:
            d[1:] = np.hypot(*(self.xy[1:] - self.xy[:-1]).T)
        start = self.start
        d[start] = 0.0
        c = np.cumsum(d)
        base = np.maximum.accumulate(np.where(start, c, 0.0))
        return c - base


def utm_of(bounds: np.ndarray) -> CRS:
    w, s, e, n = (float(b) for b in bounds)
    return utm_crs_for_bounds((w, s, e, n))


def _group(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group vertices by 1 mm cell: (group of each vertex, size of each group, first vertex of each)."""
    if len(xy) == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e
    q = np.round(xy / _QUANTUM_M).astype(np.int64)
    order = np.lexsort((q[:, 1], q[:, 0]))
    qs = q[order]
    new = np.r_[True, np.any(qs[1:] != qs[:-1], axis=1)]
    gid_sorted = np.cumsum(new) - 1
    inv = np.empty(len(xy), dtype=np.int64)
    inv[order] = gid_sorted
    counts = np.bincount(gid_sorted)
    first = order[new]
    return inv, counts, first


class _Topology:
    """The topology builder: holds the lines, the part attributes and the repair counts."""

    def __init__(self, lines: _Lines, part_bt: np.ndarray, part_layer: np.ndarray,
                 to_ll: Transformer, to_m: Transformer, report: dict[str, Any]) -> None:
        self.lines = lines
        self.to_m = to_m
        self.part_bt = part_bt
        self.part_layer = part_layer
        self.to_ll = to_ll
        self.report = report

    # -- helpers
    def _to_ll(self, xy: np.ndarray) -> np.ndarray:
        if len(xy) == 0:
            return np.zeros((0, 2))
        lon, lat = self.to_ll.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    def canonicalise(self) -> int:
        """Give vertices of one 1 mm cell the same coordinates; drop zero-length segments and
        lines left with fewer than two vertices. Returns the number of zero-length segments."""
        L = self.lines
        inv, _counts, first = _group(L.xy)
        L.xy = L.xy[first[inv]]
        L.ll = L.ll[first[inv]]
        dup = np.zeros(len(inv), dtype=bool)
        if len(inv) > 1:
            dup[1:] = (inv[1:] == inv[:-1]) & (L.line[1:] == L.line[:-1])
        n_zero = int(dup.sum())
        L.take(~dup)
        # lines with a single vertex left (all segments were of zero length)
        lone = L.start & L.end
        if lone.any():
            L.take(~lone)
        return n_zero

    def insert(self, line: np.ndarray, m: np.ndarray, xy: np.ndarray, ll: np.ndarray | None = None,
               measure: np.ndarray | None = None) -> None:
        """Insert vertices into lines at distances ``m`` along them (``measure``: the distance
        of the existing vertices along their lines, when ``m`` was measured on an earlier course)."""
        if len(line) == 0:
            return
        L = self.lines
        if ll is None:
            ll = self._to_ll(xy)
        n = len(L.line)
        keys_line = np.r_[L.line, line]
        keys_m = np.r_[L.measure() if measure is None else measure, m]
        tie = np.r_[np.zeros(n, dtype=np.int8), np.ones(len(line), dtype=np.int8)]
        order = np.lexsort((tie, keys_m, keys_line))
        L.xy = np.vstack([L.xy, xy])
        L.ll = np.vstack([L.ll, ll])
        L.line = keys_line
        L.moved = np.r_[L.moved, np.zeros(len(line), dtype=bool)]
        L.take(order)

    def segment_tree(self) -> tuple[np.ndarray, Any]:
        L = self.lines
        a = L.seg_start()
        segs = shapely.linestrings(np.stack([L.xy[a], L.xy[a + 1]], axis=1))
        return a, shapely.STRtree(segs)

    # -- repairs
    def crossings(self, add_nodes: bool) -> None:
        """Find where segments cross or touch without a shared vertex; node them if asked.

        The test runs on the lon/lat coordinates (how most layers are digitised: a line that
        touches another in the layer may miss it by millimetres once projected); segments
        closer than ~1 mm (1e-8 degree) count as meeting, and a meeting point within 1 mm of a
        vertex is that vertex.
        """
        L = self.lines
        rep = self.report
        a = L.seg_start()
        if len(a) == 0:
            rep.update(crossings_without_shared_vertex=0, crossings_noded=0,
                       crossings_skipped_bridge_tunnel_layer=0)
            return
        i, j = _touching_segment_pairs(L.ll, a)
        seg_m = np.hypot(*(L.xy[a + 1] - L.xy[a]).T)
        seg, frac, vtx_all, pts_ll, pair = _meetings(L.ll, a, i, j, seg_m)
        at_v = vtx_all >= 0
        pts_ll[at_v] = L.ll[vtx_all[at_v]]
        pts_xy = np.empty_like(pts_ll)
        pts_xy[at_v] = L.xy[vtx_all[at_v]]
        if (~at_v).any():
            x, y = self.to_m.transform(pts_ll[~at_v, 0], pts_ll[~at_v, 1])
            pts_xy[~at_v] = np.column_stack([x, y])
        seg_line = L.line[a]
        li, lj = seg_line[i[pair]], seg_line[j[pair]]
        blocked = self.part_bt[li] | self.part_bt[lj] | (self.part_layer[li] != self.part_layer[lj])
        q_pts = np.round(pts_xy / _QUANTUM_M).astype(np.int64)

        def n_points(mask: np.ndarray) -> int:
            return int(len(np.unique(q_pts[mask], axis=0))) if mask.any() else 0

        rep["crossings_without_shared_vertex"] = n_points(np.ones(len(pts_xy), dtype=bool))
        rep["crossings_skipped_bridge_tunnel_layer"] = n_points(blocked)
        if not add_nodes:
            rep["crossings_noded"] = 0
            return
        go = ~blocked
        rep["crossings_noded"] = n_points(go)
        if go.any():
            m = L.measure()
            sa = a[seg[go]]
            self.insert(L.line[sa], m[sa] + frac[go] * seg_m[seg[go]], pts_xy[go], pts_ll[go])
            self.report["zero_length_dropped"] += self.canonicalise()

    def snap_ends(self, tol: float) -> None:
        """Move dangling ends onto the nearest point of another line within ``tol`` metres.

        Only a dangling end (a line end that touches nothing) moves, never an interior vertex,
        and never farther than ``tol``: onto the nearest point of another line (a new vertex
        inserted there, on that line's own course), or onto that line's end or vertex when the
        nearest point is one. Candidates are taken nearest first; an end that has become a
        target stays where it is and an end that has moved is no target, so moves never chain.
        Bridges, tunnels and other ``layer`` values are joined only to their like.
        """
        L = self.lines
        cand = _snap_candidates(L, tol, self.part_bt, self.part_layer)
        chosen = _choose_snaps(cand)
        moves = np.zeros(0)
        if len(chosen):
            c = {k: v[chosen] for k, v in cand.items()}
            new_xy = c["point"].copy()
            new_ll = self._to_ll(new_xy)
            at_v = c["vertex"] >= 0
            new_xy[at_v] = L.xy[c["vertex"][at_v]]
            new_ll[at_v] = L.ll[c["vertex"][at_v]]
            moves = np.hypot(*(new_xy - L.xy[c["end"]]).T)
            m_old = L.measure()  # insertion keys from the course of the lines before any move
            interior = ~at_v
            ins_line = L.line[c["seg"][interior]]
            ins_m = m_old[c["seg"][interior]] + c["t"][interior] * c["seg_len"][interior]
            L.xy[c["end"]] = new_xy
            L.ll[c["end"]] = new_ll
            L.moved[c["end"]] = True
            self.insert(ins_line, ins_m, new_xy[interior], new_ll[interior], measure=m_old)
            self.report["ends_snapped_onto_end"] = int(c["onto_end"].sum())
            q = np.round(new_xy / _QUANTUM_M).astype(np.int64)
            self.report["new_junctions"] = int(len(np.unique(q, axis=0)))
        else:
            self.report["ends_snapped_onto_end"] = 0
            self.report["new_junctions"] = 0
        self.report["ends_snapped"] = int(len(chosen))
        self.report["snap_max_displacement_m"] = round(float(moves.max()), 4) if len(moves) else 0.0
        self.report["snap_median_displacement_m"] = round(float(np.median(moves)), 4) if len(moves) else 0.0
        self.report["snap_total_displacement_m"] = round(float(moves.sum()), 4)
        self.report["zero_length_dropped"] += self.canonicalise()

    # -- results
    def components(self) -> tuple[int, float]:
        """Connected components (undirected) of the lines as they meet at shared vertices, and
        the share of length in the largest one."""
        L = self.lines
        inv, _counts, first = _group(L.xy)
        a = L.seg_start()
        if len(a) == 0:
            return 0, 0.0
        n_g = len(first)
        adj = sparse.coo_matrix((np.ones(len(a)), (inv[a], inv[a + 1])), shape=(n_g, n_g))
        _n, lab = connected_components(adj, directed=False)
        seg_len = np.hypot(*(L.xy[a + 1] - L.xy[a]).T)
        comp_len = np.bincount(lab[inv[a]], weights=seg_len)
        used = unique_values(lab[inv[a]])
        total = comp_len.sum()
        return int(len(used)), float(comp_len.max() / total) if total > 0 else 0.0


# ---------------------------------------------------------------------- snapping
def _snap_candidates(L: _Lines, tol: float, part_bt: np.ndarray, part_layer: np.ndarray) -> dict[str, np.ndarray]:
    """For each dangling end and each other line within ``tol``: the nearest point of that line.

    Keys: ``end`` (vertex index of the end), ``seg`` (first vertex of the target segment),
    ``t`` (fraction along it), ``seg_len``, ``point`` (metric), ``dist``, ``vertex`` (target
    vertex when the point is one, else -1), ``onto_end`` (the target vertex is a line end).
    """
    inv, counts, _first = _group(L.xy)
    line_end = L.start | L.end
    ends = np.flatnonzero(line_end & (counts[inv] == 1))
    a = L.seg_start()
    if len(ends) == 0 or len(a) == 0:
        ends = a = np.zeros(0, dtype=np.int64)
    tree = shapely.STRtree(shapely.linestrings(np.stack([L.xy[a], L.xy[a + 1]], axis=1)))
    pi, sj = tree.query(shapely.points(L.xy[ends]), predicate="dwithin", distance=tol)
    own, tgt = L.line[ends[pi]], L.line[a[sj]]
    ok = (own != tgt) & (part_bt[own] == part_bt[tgt]) & (part_layer[own] == part_layer[tgt])
    pi, sj, tgt = pi[ok], sj[ok], tgt[ok]
    pt, p0 = L.xy[ends[pi]], L.xy[a[sj]]
    dv = L.xy[a[sj] + 1] - p0
    dd = np.einsum("ij,ij->i", dv, dv)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.nan_to_num(np.clip(np.einsum("ij,ij->i", pt - p0, dv) / dd, 0.0, 1.0))
    proj = p0 + t[:, None] * dv
    dist = np.hypot(*(pt - proj).T)
    # the nearest point of each target line (several of its segments may be within reach)
    order = np.lexsort((sj, dist, tgt, pi))
    key_end, key_line = pi[order], tgt[order]
    first = np.r_[True, (key_end[1:] != key_end[:-1]) | (key_line[1:] != key_line[:-1])][: len(order)]
    best = order[first]
    best = best[dist[best] <= tol]
    seg_len = np.sqrt(dd[best])
    tb = t[best]
    vertex = np.full(len(best), -1, dtype=np.int64)
    vertex = np.where(tb * seg_len < _VERTEX_EPS_M, a[sj[best]], vertex)
    vertex = np.where((1 - tb) * seg_len < _VERTEX_EPS_M, a[sj[best]] + 1, vertex)
    onto_end = (vertex >= 0) & line_end[np.maximum(vertex, 0)]
    # an end never moves onto a vertex of its own line (that would fold or collapse the line)
    point = np.where((vertex >= 0)[:, None], L.xy[np.maximum(vertex, 0)], proj[best])
    gid, _c, _f = _group(np.vstack([L.xy, point]))
    n_g = int(gid.max()) + 1 if len(gid) else 1
    cells, n_in_cell = np.unique(L.line * n_g + gid[: len(L.xy)], return_counts=True)
    end_v = ends[pi[best]]
    key = L.line[end_v] * n_g + gid[len(L.xy):]
    pos = np.minimum(np.searchsorted(cells, key), max(len(cells) - 1, 0))
    own_vertices = np.where(cells[pos] == key, n_in_cell[pos], 0) if len(cells) else np.zeros(len(key), int)
    ok = own_vertices - (gid[len(L.xy):] == gid[end_v]) == 0  # the moving end itself does not count
    cell = gid[len(L.xy):][ok]
    best, seg_len, tb, vertex, onto_end = best[ok], seg_len[ok], tb[ok], vertex[ok], onto_end[ok]
    return {"end": ends[pi[best]], "line": L.line[ends[pi[best]]], "seg": a[sj[best]], "t": tb,
            "seg_len": seg_len, "point": proj[best], "dist": dist[best], "vertex": vertex, "onto_end": onto_end,
            "cell": cell}


def _choose_snaps(cand: dict[str, np.ndarray]) -> np.ndarray:
    """Candidates to apply, nearest first: one move per end; an end that is the target of a
    move stays; a moved end is no target (no chains); the two ends of a line never land on one
    point. Returns candidate indices."""
    order = np.lexsort((cand["seg"], cand["end"], cand["dist"]))
    moved: set[int] = set()
    anchored: set[int] = set()
    landed: set[tuple[int, int]] = set()  # (line, point) where an end of the line has moved
    chosen: list[int] = []
    ends, vertices = cand["end"].tolist(), cand["vertex"].tolist()
    lines, cells = cand["line"].tolist(), cand["cell"].tolist()
    for k in order.tolist():
        e, v = ends[k], vertices[k]
        if e in moved or e in anchored or (v >= 0 and v in moved) or (lines[k], cells[k]) in landed:
            continue  # the second end of a line onto the point of its first would fold the line
        moved.add(e)
        landed.add((lines[k], cells[k]))
        if v >= 0:
            anchored.add(v)
        chosen.append(k)
    return np.asarray(sorted(chosen), dtype=np.int64)


# ---------------------------------------------------------------------- crossings
def _touching_segment_pairs(C: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (i < j) of segments (rows of ``a``, first vertices in ``C``) whose
    bounding boxes, grown by the touch distance, overlap."""
    lo = np.minimum(C[a], C[a + 1]) - _TOUCH_DEG
    hi = np.maximum(C[a], C[a + 1]) + _TOUCH_DEG
    boxes = shapely.box(lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1])
    qi, qj = shapely.STRtree(boxes).query(boxes)
    sel = qi < qj
    return qi[sel], qj[sel]


_Meetings = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _meetings(C: np.ndarray, a: np.ndarray, i: np.ndarray, j: np.ndarray, seg_m: np.ndarray) -> _Meetings:
    """Where segment pairs (i, j) meet away from a shared vertex, as insertions: (segment row
    in ``a``, fraction along it, vertex already at the point or -1, point lon/lat, pair index).

    Proper crossings and touches are found by the vectorised segment intersection on the
    lon/lat coordinates ``C``; collinear overlaps by the ends of one segment inside the other.
    """
    p, r = C[a[i]], C[a[i] + 1] - C[a[i]]
    q, s = C[a[j]], C[a[j] + 1] - C[a[j]]
    len_r, len_s = np.hypot(*r.T), np.hypot(*s.T)
    mr, ms = seg_m[i], seg_m[j]
    den = r[:, 0] * s[:, 1] - r[:, 1] * s[:, 0]
    qp = q - p
    par = np.abs(den) <= 1e-12 * len_r * len_s
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (qp[:, 0] * s[:, 1] - qp[:, 1] * s[:, 0]) / den
        u = (qp[:, 0] * r[:, 1] - qp[:, 1] * r[:, 0]) / den
        meet = (t * len_r >= -_TOUCH_DEG) & ((t - 1) * len_r <= _TOUCH_DEG) \
            & (u * len_s >= -_TOUCH_DEG) & ((u - 1) * len_s <= _TOUCH_DEG)
    t, u = np.clip(np.nan_to_num(t), 0.0, 1.0), np.clip(np.nan_to_num(u), 0.0, 1.0)
    ins: list[_Meetings] = []
    k = np.flatnonzero(~par & meet)
    t, u = t[k], u[k]
    vtx = np.full(len(k), -1, dtype=np.int64)
    for cond, v in ((u * ms[k] < _VERTEX_EPS_M, a[j[k]]), ((1 - u) * ms[k] < _VERTEX_EPS_M, a[j[k]] + 1),
                    (t * mr[k] < _VERTEX_EPS_M, a[i[k]]), ((1 - t) * mr[k] < _VERTEX_EPS_M, a[i[k]] + 1)):
        vtx = np.where(cond, v, vtx)
    vert_i = (t * mr[k] < _VERTEX_EPS_M) | ((1 - t) * mr[k] < _VERTEX_EPS_M)
    vert_j = (u * ms[k] < _VERTEX_EPS_M) | ((1 - u) * ms[k] < _VERTEX_EPS_M)
    pt = p[k] + t[:, None] * r[k]
    for need, rows, frac in ((~vert_i, i[k], t), (~vert_j, j[k], u)):
        ins.append((rows[need], frac[need], vtx[need], pt[need], k[need]))
    # collinear overlaps: an end of one segment inside the other
    pk = np.flatnonzero(par)
    for src_rows, dst_rows in ((j[pk], i[pk]), (i[pk], j[pk])):
        for end in (0, 1):
            v = a[src_rows] + end
            e = C[v]
            d0 = C[a[dst_rows]]
            dv = C[a[dst_rows] + 1] - d0
            dd = np.einsum("ij,ij->i", dv, dv)
            dm = seg_m[dst_rows]
            with np.errstate(divide="ignore", invalid="ignore"):
                tt = np.einsum("ij,ij->i", e - d0, dv) / dd
                off = np.abs((e - d0)[:, 0] * dv[:, 1] - (e - d0)[:, 1] * dv[:, 0]) / np.sqrt(dd)
            inside = (tt * dm > _VERTEX_EPS_M) & ((1 - tt) * dm > _VERTEX_EPS_M) & (off < _TOUCH_DEG)
            ins.append((dst_rows[inside], tt[inside], v[inside], e[inside], pk[inside]))
    seg, frac, vtx_all, pts_ll, pair = (np.concatenate(col) for col in zip(*ins, strict=True))
    return seg, frac, vtx_all, pts_ll, pair


@dataclass
class LayerGraph:
    """Undirected graph pieces from a line layer, before directions and speeds."""

    node_lon: np.ndarray
    node_lat: np.ndarray
    edge_u: np.ndarray  # int64 node index
    edge_v: np.ndarray
    edge_part: np.ndarray  # part (exploded line) each edge comes from
    edge_geometry: np.ndarray  # LineString, EPSG:4326, u -> v
    length_m: np.ndarray  # geodesic
    part_feature: np.ndarray  # layer feature each part comes from
    crs: CRS
    report: dict[str, Any]


def build_layer_graph(lines_ll: np.ndarray, *,
                      bridge_tunnel: np.ndarray | None = None, layer: np.ndarray | None = None,
                      crossings: bool = False, snap_tolerance_m: float = 0.0,
                      metric_crs: CRS | None = None, report: dict[str, Any] | None = None) -> LayerGraph:
    """Build nodes and undirected edges from lines in EPSG:4326 (the geometry core).

    Parameters
    ----------
    lines_ll
        shapely LineString/MultiLineString array in lon/lat degrees (one per feature).
    bridge_tunnel, layer
        Per-feature flags (bridge or tunnel) and OSM-style ``layer`` values, for the crossing rule.
    crossings
        Add nodes where lines cross or touch without a shared vertex (not at bridges, tunnels,
        or between different layers).
    snap_tolerance_m
        Move dangling ends onto the nearest point of another line within this distance
        (metres, >= 0; see :meth:`_Topology.snap_ends`). Nothing else moves.
    metric_crs
        CRS for the topology; default the UTM zone of the lines' bounds.

    Returns
    -------
    LayerGraph
    """
    if not (isinstance(snap_tolerance_m, (int, float)) and math.isfinite(snap_tolerance_m)) \
            or snap_tolerance_m < 0:
        raise ConfigError(f"snap tolerance must be a number of metres >= 0, got {snap_tolerance_m!r}")
    report = {} if report is None else report
    n_feat = len(lines_ll)
    bt = np.zeros(n_feat, dtype=bool) if bridge_tunnel is None else np.asarray(bridge_tunnel, dtype=bool)
    lay = np.zeros(n_feat, dtype=np.int64) if layer is None else np.asarray(layer, dtype=np.int64)
    geoms = np.asarray(lines_ll, dtype=object)
    n_geom = shapely.get_num_geometries(geoms)
    is_multi = shapely.get_type_id(geoms) == 5
    report["multipart_exploded"] = int((is_multi & (n_geom > 1)).sum())
    parts, part_feature = shapely.get_parts(geoms, return_index=True)
    report["parts_from_multipart"] = int(len(parts) - np.count_nonzero(n_geom > 0))
    ncoord = shapely.get_num_coordinates(parts)
    ok = ncoord >= 2
    parts, part_feature, ncoord = parts[ok], part_feature[ok], ncoord[ok]
    if len(parts) == 0:
        raise NetworkError("no line with two or more vertices to build a network from")
    ll = shapely.get_coordinates(parts)
    line = np.repeat(np.arange(len(parts), dtype=np.int64), ncoord)
    if metric_crs is None:
        metric_crs = utm_of(shapely.total_bounds(parts))
    to_m = Transformer.from_crs(4326, metric_crs, always_xy=True)
    to_ll = Transformer.from_crs(metric_crs, 4326, always_xy=True)
    x, y = to_m.transform(ll[:, 0], ll[:, 1])
    lines = _Lines(xy=np.column_stack([x, y]), ll=ll, line=line)
    report.setdefault("zero_length_dropped", 0)
    topo = _Topology(lines, bt[part_feature], lay[part_feature], to_ll, to_m, report)
    pb = bar(4, "layer topology", unit="step")
    report["zero_length_dropped"] += topo.canonicalise()
    if len(topo.lines.line) == 0:
        raise NetworkError(f"no line of non-zero length to build a network from ({len(parts)} lines, all of "
                           f"zero length)")
    n_c, share = topo.components()
    report["components_before"] = n_c
    report["largest_component_length_share_before"] = round(share, 6)
    pb.update()
    topo.crossings(add_nodes=crossings)
    pb.update()
    if snap_tolerance_m > 0:
        topo.snap_ends(float(snap_tolerance_m))
        if len(topo.lines.line) == 0:  # pragma: no cover - the snapping rules keep every line
            raise NetworkError("internal error: snapping left no line")
    else:
        report.update(ends_snapped=0, ends_snapped_onto_end=0, new_junctions=0, snap_max_displacement_m=0.0,
                      snap_median_displacement_m=0.0, snap_total_displacement_m=0.0)
    pb.update()
    graph = _edges_from_lines(topo, part_feature, metric_crs, report)
    pb.update()
    pb.close()
    return graph


def _edges_from_lines(topo: _Topology, part_feature: np.ndarray, crs: CRS,
                      report: dict[str, Any]) -> LayerGraph:
    L = topo.lines
    inv, counts, first = _group(L.xy)
    start, end = L.start, L.end
    shared = counts[inv] >= 2
    is_node = start | end | shared
    report["split_at_shared_vertices"] = int((shared & ~start & ~end).sum())
    node_groups, node_of_group_pos = np.unique(inv[is_node], return_inverse=True)
    node_index = np.full(len(first), -1, dtype=np.int64)
    node_index[node_groups] = np.arange(len(node_groups))
    pos = np.flatnonzero(is_node)
    same = L.line[pos[:-1]] == L.line[pos[1:]]
    ea, eb = pos[:-1][same], pos[1:][same]
    del node_of_group_pos
    eu, ev = node_index[inv[ea]], node_index[inv[eb]]
    # geodesic and planar lengths by cumulative sums over the flat vertex arrays
    n = len(L.xy)
    dgeo = np.zeros(n)
    dm = np.zeros(n)
    if n > 1:
        dg = segment_lengths_m(L.ll[:-1, 0], L.ll[:-1, 1], L.ll[1:, 0], L.ll[1:, 1])
        cross_line = L.line[1:] != L.line[:-1]
        dg[cross_line] = 0.0
        dgeo[1:] = dg
        dmm = np.hypot(*(L.xy[1:] - L.xy[:-1]).T)
        dmm[cross_line] = 0.0
        dm[1:] = dmm
    cg, cm = np.cumsum(dgeo), np.cumsum(dm)
    length = cg[eb] - cg[ea]
    length_plan = cm[eb] - cm[ea]
    # duplicates: same end nodes (either way), same planar length (cm) and same vertex sums (mm)
    q = np.round(L.xy / _QUANTUM_M).astype(np.int64)
    sx = np.r_[0, np.cumsum(q[:, 0])]
    sy = np.r_[0, np.cumsum(q[:, 1])]
    # (an edge holding an end moved by snapping is never a duplicate: a repair removes no road)
    mv = np.r_[0, np.cumsum(L.moved)]
    snapped = np.where(mv[eb + 1] - mv[ea] > 0, np.arange(1, len(ea) + 1), 0)
    key = np.column_stack([np.minimum(eu, ev), np.maximum(eu, ev), np.round(length_plan * 100).astype(np.int64),
                           sx[eb + 1] - sx[ea], sy[eb + 1] - sy[ea], eb - ea, snapped])
    order = np.lexsort(key.T[::-1])
    ks = key[order]
    dup_sorted = np.r_[False, np.all(ks[1:] == ks[:-1], axis=1)]
    dup = np.zeros(len(key), dtype=bool)
    dup[order[dup_sorted]] = True
    report["duplicates_dropped"] = int(dup.sum())
    report["duplicates_length_m"] = round(float(length[dup].sum()), 3)
    keep = ~dup
    ea, eb, eu, ev, length = ea[keep], eb[keep], eu[keep], ev[keep], length[keep]
    # geometries: vertices ea..eb of each edge
    nv = eb - ea + 1
    offs = np.cumsum(nv) - nv
    idx = np.arange(int(nv.sum())) - np.repeat(offs, nv) + np.repeat(ea, nv)
    geom = shapely.linestrings(L.ll[idx], indices=np.repeat(np.arange(len(ea)), nv))
    # components after repair (undirected)
    n_nodes = len(node_groups)
    if len(eu):
        adj = sparse.coo_matrix((np.ones(len(eu)), (eu, ev)), shape=(n_nodes, n_nodes))
        _k, lab = connected_components(adj, directed=False)
        comp_len = np.bincount(lab[eu], weights=length)
        report["components_after"] = int(len(unique_values(lab[eu])))
        report["largest_component_length_share_after"] = round(float(comp_len.max() / comp_len.sum()), 6)
    else:
        report["components_after"] = 0
        report["largest_component_length_share_after"] = 0.0
    node_ll = L.ll[first[node_groups]]
    return LayerGraph(node_lon=node_ll[:, 0].copy(), node_lat=node_ll[:, 1].copy(), edge_u=eu, edge_v=ev,
                      edge_part=L.line[ea], edge_geometry=geom, length_m=length, part_feature=part_feature,
                      crs=crs, report=report)
