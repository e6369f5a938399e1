# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled nearest-segment search on a sparse uniform grid (exact, metric coordinates).

Straight road pieces (segments ``a -> b``) are registered in every grid cell their bounding box
overlaps. Where the cells of the area are few enough (at most four per registration) every cell
has a slot (a direct index); otherwise only occupied cells are stored (a hash table from cell to
its list of pieces), so the grid costs memory in proportion to the roads, whatever the extent. A query visits
the cells around the point ring by ring (Chebyshev rings of cells); after ring ``r`` every piece
not yet seen lies outside a square whose border is at least ``r * cell + margin`` away
(``margin`` the point's distance to the border of its own cell), so the search stops as soon as
the best distance found is within that bound: the answer is the exact nearest piece, not an
approximation. The search gives up (``exact`` False) beyond ``max_rings`` rings or once nothing
within ``max_dist`` can be found; the caller resolves those points another way.
"""

import numpy as np

from territorial_gis._arrays import run_positions

from libc.math cimport INFINITY, fabs, floor, hypot, sqrt
from libc.stdint cimport int64_t, uint64_t


cdef inline uint64_t _hash(int64_t key) noexcept nogil:
    return <uint64_t>key * <uint64_t>0x9E3779B97F4A7C15


cdef inline double _piece_dist(double px, double py, double ax, double ay, double bx, double by,
                               double* t_out) noexcept nogil:
    cdef double vx = bx - ax
    cdef double vy = by - ay
    cdef double ll = vx * vx + vy * vy
    cdef double t = 0.0
    cdef double dx, dy
    if ll > 0:
        t = ((px - ax) * vx + (py - ay) * vy) / ll
        if t < 0.0:
            t = 0.0
        elif t > 1.0:
            t = 1.0
    dx = px - (ax + t * vx)
    dy = py - (ay + t * vy)
    t_out[0] = t
    return sqrt(dx * dx + dy * dy)


def _register_dense(cx0, cx1, cy0, cy1, int64_t nx, int64_t n_cells, int64_t n_reg):
    """Registrations of pieces in the cells of their bounding boxes, grouped by cell (a counting
    sort: pieces in order within a cell): ``(start, items)``, cell ``c`` holding
    ``items[start[c]:start[c + 1]]``."""
    cdef const int64_t[::1] x0 = np.ascontiguousarray(cx0, dtype=np.int64)
    cdef const int64_t[::1] x1 = np.ascontiguousarray(cx1, dtype=np.int64)
    cdef const int64_t[::1] y0 = np.ascontiguousarray(cy0, dtype=np.int64)
    cdef const int64_t[::1] y1 = np.ascontiguousarray(cy1, dtype=np.int64)
    start_arr = np.zeros(n_cells + 1, dtype=np.int64)
    items_arr = np.empty(n_reg, dtype=np.int64)
    cdef int64_t[::1] start = start_arr
    cdef int64_t[::1] items = items_arr
    cdef int64_t n = x0.shape[0], i, gx, gy, c, total = 0
    with nogil:
        for i in range(n):
            for gy in range(y0[i], y1[i] + 1):
                for gx in range(x0[i], x1[i] + 1):
                    start[gy * nx + gx + 1] += 1
        for c in range(n_cells):
            start[c + 1] += start[c]
        total = start[n_cells]
    if total != n_reg:
        raise ValueError("inconsistent registration count")
    fill_arr = start_arr[:n_cells].copy()
    cdef int64_t[::1] fill = fill_arr
    with nogil:
        for i in range(n):
            for gy in range(y0[i], y1[i] + 1):
                for gx in range(x0[i], x1[i] + 1):
                    c = gy * nx + gx
                    items[fill[c]] = i
                    fill[c] += 1
    return start_arr, items_arr


def cut_pieces(a, b, d, along0, geom, double piece_m):
    """Cut straight pieces ``a[i] -> b[i]`` (length ``d[i]``, starting ``along0[i]`` along
    geometry ``geom[i]``) into ``max(1, ceil(d / piece_m))`` equal sub-pieces.

    Returns ``(pa, pb, p_geom, p_along0, half)``: the sub-pieces' ends, geometry and start
    along it, and half the longest sub-piece.
    """
    cdef const double[:, ::1] av = np.ascontiguousarray(a, dtype=np.float64).reshape(-1, 2)
    cdef const double[:, ::1] bv = np.ascontiguousarray(b, dtype=np.float64).reshape(-1, 2)
    cdef const double[::1] dv = np.ascontiguousarray(d, dtype=np.float64)
    cdef const double[::1] al = np.ascontiguousarray(along0, dtype=np.float64)
    cdef const int64_t[::1] gv = np.ascontiguousarray(geom, dtype=np.int64)
    cdef int64_t m = av.shape[0]
    if bv.shape[0] != m or dv.shape[0] != m or al.shape[0] != m or gv.shape[0] != m:
        raise ValueError("piece arrays differ in length")
    if not piece_m > 0:
        raise ValueError("the sub-piece length must be positive")
    n_sub_arr = np.maximum(1, np.ceil(np.asarray(dv) / piece_m)).astype(np.int64)
    cdef const int64_t[::1] n_sub = n_sub_arr
    cdef int64_t total = int(n_sub_arr.sum()) if m else 0
    pa_arr = np.empty((total, 2))
    pb_arr = np.empty((total, 2))
    g_arr = np.empty(total, dtype=np.int64)
    s_arr = np.empty(total)
    cdef double[:, ::1] pa = pa_arr
    cdef double[:, ::1] pb = pb_arr
    cdef int64_t[::1] pg = g_arr
    cdef double[::1] ps = s_arr
    cdef int64_t i, j, k = 0, ns
    cdef double t0, t1, vx, vy, longest = 0.0, h
    with nogil:
        for i in range(m):
            ns = n_sub[i]
            vx = bv[i, 0] - av[i, 0]
            vy = bv[i, 1] - av[i, 1]
            for j in range(ns):
                t0 = <double>j / <double>ns
                t1 = <double>(j + 1) / <double>ns
                pa[k, 0] = av[i, 0] + t0 * vx
                pa[k, 1] = av[i, 1] + t0 * vy
                pb[k, 0] = av[i, 0] + t1 * vx
                pb[k, 1] = av[i, 1] + t1 * vy
                pg[k] = gv[i]
                ps[k] = al[i] + t0 * dv[i]
                h = hypot(pb[k, 0] - pa[k, 0], pb[k, 1] - pa[k, 1])
                if h > longest:
                    longest = h
                k += 1
    return pa_arr, pb_arr, g_arr, s_arr, longest / 2.0


cdef class SnapGrid:
    """Pieces ``pa[i] -> pb[i]`` (metric, shape (n, 2)) in a sparse grid of square cells."""

    cdef readonly double x0, y0, cell
    cdef readonly int64_t nx, ny, n_occupied
    cdef object _arrays                  # keeps the numpy arrays behind the views alive
    cdef const double[:, ::1] pa
    cdef const double[:, ::1] pb
    cdef const int64_t[::1] items        # piece of every registration, grouped by cell
    cdef readonly bint dense
    cdef const int64_t[::1] dstart       # dense: cell -> first item (nx * ny + 1 entries)
    cdef int64_t[:, ::1] table           # sparse: hash slots (cell key or -1, first item, end)
    cdef int64_t mask

    def __init__(self, pa, pb, double cell):
        pa = np.ascontiguousarray(pa, dtype=np.float64)
        pb = np.ascontiguousarray(pb, dtype=np.float64)
        if pa.ndim != 2 or pa.shape[1] != 2 or pb.shape != pa.shape:
            raise ValueError("piece end arrays must both be (n, 2)")
        if not cell > 0:
            raise ValueError("the grid needs a positive cell size")
        if len(pa) and not (np.isfinite(pa).all() and np.isfinite(pb).all()):
            raise ValueError("piece coordinates must be finite")
        lo = np.minimum(pa, pb).min(axis=0) if len(pa) else np.zeros(2)
        hi = np.maximum(pa, pb).max(axis=0) if len(pa) else np.zeros(2)
        self.x0, self.y0, self.cell = float(lo[0]), float(lo[1]), cell
        self.nx = int((hi[0] - lo[0]) // cell) + 1
        self.ny = int((hi[1] - lo[1]) // cell) + 1
        if self.nx > 2**31 or self.ny > 2**31:
            raise ValueError("the area is too large for the grid's cell size")
        cx0 = np.floor((np.minimum(pa[:, 0], pb[:, 0]) - self.x0) / cell).astype(np.int64)
        cx1 = np.floor((np.maximum(pa[:, 0], pb[:, 0]) - self.x0) / cell).astype(np.int64)
        cy0 = np.floor((np.minimum(pa[:, 1], pb[:, 1]) - self.y0) / cell).astype(np.int64)
        cy1 = np.floor((np.maximum(pa[:, 1], pb[:, 1]) - self.y0) / cell).astype(np.int64)
        # one registration per (piece, cell) of its bounding box
        wx = cx1 - cx0 + 1
        wy = cy1 - cy0 + 1
        cnt = wx * wy
        n_reg = int(cnt.sum())
        n_cells = self.nx * self.ny
        self.dense = n_cells <= max(4 * n_reg, 1 << 16)
        table = np.full((1, 3), -1, dtype=np.int64)
        dstart = np.zeros(1, dtype=np.int64)
        if self.dense:  # a counting sort of the registrations by cell, pieces in order within a cell
            dstart, items = _register_dense(cx0, cx1, cy0, cy1, self.nx, n_cells, n_reg)
            self.n_occupied = int(np.count_nonzero(np.diff(dstart)))
        else:
            piece = np.repeat(np.arange(len(pa), dtype=np.int64), cnt)
            j = run_positions(cnt)
            key = ((np.repeat(cy0, cnt) + j // np.repeat(wx, cnt)) * self.nx + np.repeat(cx0, cnt)
                   + j % np.repeat(wx, cnt))
            order = np.argsort(key, kind="stable")
            key = key[order]
            items = piece[order]
            first = np.ones(len(key), dtype=bool)
            first[1:] = key[1:] != key[:-1]
            cell_keys = key[first]
            start = np.append(np.flatnonzero(first), len(key)).astype(np.int64)
            self.n_occupied = len(cell_keys)
            size = 1
            while size < 2 * max(self.n_occupied, 1):
                size *= 2
            table = np.full((size, 3), -1, dtype=np.int64)
        self.mask = len(table) - 1
        self.table = table
        cdef const int64_t[::1] ck
        cdef const int64_t[::1] st
        cdef int64_t r, slot
        if not self.dense:
            ck = cell_keys
            st = start
            for r in range(self.n_occupied):
                slot = <int64_t>(_hash(ck[r]) >> 20) & self.mask
                while self.table[slot, 0] >= 0:
                    slot = (slot + 1) & self.mask
                self.table[slot, 0] = ck[r]
                self.table[slot, 1] = st[r]
                self.table[slot, 2] = st[r + 1]
        self._arrays = (pa, pb, items, dstart, table)
        self.pa = pa
        self.pb = pb
        self.items = items
        self.dstart = dstart

    @property
    def n_registrations(self) -> int:
        """Number of (piece, cell) registrations."""
        return self.items.shape[0]

    cdef inline void _items_of(self, int64_t key, int64_t* first, int64_t* end) noexcept nogil:
        """Range of ``items`` registered in a cell (empty range for an empty cell)."""
        cdef int64_t slot, k
        if self.dense:
            first[0] = self.dstart[key]
            end[0] = self.dstart[key + 1]
            return
        slot = <int64_t>(_hash(key) >> 20) & self.mask
        while True:
            k = self.table[slot, 0]
            if k == key:
                first[0] = self.table[slot, 1]
                end[0] = self.table[slot, 2]
                return
            if k < 0:
                first[0] = 0
                end[0] = 0
                return
            slot = (slot + 1) & self.mask

    def nearest(self, x, y, double max_dist, int64_t max_rings=8):
        """Nearest piece of every point: ``(piece, t, dist, exact)``.

        ``t`` is the projection parameter (0..1 along ``a -> b``). ``exact`` is False where
        the search gave up: after ``max_rings`` rings, or when nothing within ``max_dist`` can
        be found (then ``piece``/``dist``, the best seen or -1/inf, only bound the answer).
        Non-finite points get -1/inf, not exact.
        """
        cdef const double[::1] xv = np.ascontiguousarray(x, dtype=np.float64)
        cdef const double[::1] yv = np.ascontiguousarray(y, dtype=np.float64)
        cdef int64_t n = xv.shape[0]
        if yv.shape[0] != n:
            raise ValueError("x and y differ in length")
        piece_arr = np.full(n, -1, dtype=np.int64)
        t_arr = np.zeros(n)
        d_arr = np.full(n, np.inf)
        exact_arr = np.zeros(n, dtype=bool)
        cdef int64_t[::1] piece = piece_arr
        cdef double[::1] tt = t_arr
        cdef double[::1] dd = d_arr
        cdef unsigned char[::1] exact = exact_arr.view(np.uint8)
        cdef int64_t i, r, cx, cy, gx, gx_end, gy, step, k, k0, k1, p, best_p
        cdef int64_t nx = self.nx, ny = self.ny
        cdef double px, py, best, best_t, d, t, margin, lb, fx, fy
        cdef double x0 = self.x0, y0 = self.y0, cell = self.cell
        with nogil:
            for i in range(n):
                px = xv[i]
                py = yv[i]
                fx = floor((px - x0) / cell)
                fy = floor((py - y0) / cell)
                if not (fabs(fx) < 1e15 and fabs(fy) < 1e15):  # NaN, inf or absurdly far: no answer
                    continue
                cx = <int64_t>fx
                cy = <int64_t>fy
                margin = min(min(px - (x0 + fx * cell), x0 + (fx + 1.0) * cell - px),
                             min(py - (y0 + fy * cell), y0 + (fy + 1.0) * cell - py))
                if margin < 0:
                    margin = 0.0
                best = INFINITY
                best_t = 0.0
                best_p = -1
                r = 0
                while True:
                    # cells at Chebyshev distance r from (cx, cy) inside the grid's extent: whole
                    # border rows, and the two end cells of the rows between them
                    for gy in range(max(cy - r, 0), min(cy + r, ny - 1) + 1):
                        if gy == cy - r or gy == cy + r:
                            gx = max(cx - r, 0)
                            gx_end = min(cx + r, nx - 1)
                            step = 1
                        else:
                            gx = cx - r
                            gx_end = cx + r
                            step = 2 * r
                        while gx <= gx_end:
                            if 0 <= gx < nx:
                                self._items_of(gy * nx + gx, &k0, &k1)
                                for k in range(k0, k1):
                                    p = self.items[k]
                                    d = _piece_dist(px, py, self.pa[p, 0], self.pa[p, 1], self.pb[p, 0],
                                                    self.pb[p, 1], &t)
                                    if d < best or (d == best and p < best_p):
                                        best = d
                                        best_t = t
                                        best_p = p
                            gx += step
                    lb = r * cell + margin
                    if best <= lb:
                        exact[i] = 1
                        break
                    if cx - r <= 0 and cx + r >= nx - 1 and cy - r <= 0 and cy + r >= ny - 1:
                        exact[i] = 1  # the whole extent has been searched
                        break
                    if lb > max_dist or r >= max_rings:
                        break
                    r += 1
                piece[i] = best_p
                tt[i] = best_t
                dd[i] = best
        return piece_arr, t_arr, d_arr, exact_arr
