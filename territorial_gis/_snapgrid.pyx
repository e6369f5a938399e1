# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled nearest-segment search on a uniform grid (exact, metric coordinates).

Straight road pieces (segments ``a -> b``) are registered in every grid cell their bounding box
overlaps. A query visits the cells around the point ring by ring (Chebyshev rings of cells);
after ring ``r`` every piece not yet seen lies outside a square whose border is at least
``r * cell + margin`` away (``margin`` the point's distance to the border of its own cell), so
the search stops as soon as the best distance found is within that bound: the answer is the
exact nearest piece, not an approximation. Points with nothing within ``max_dist`` stop there.
"""

import numpy as np

from libc.math cimport INFINITY, fabs, floor, sqrt
from libc.stdint cimport int64_t


def build_grid(const double[:, ::1] pa, const double[:, ::1] pb, double x0, double y0, double cell,
               int64_t nx, int64_t ny):
    """CSR lists of the pieces of every cell: ``(cell_start, cell_items)``, cells numbered
    ``cy * nx + cx``."""
    cdef int64_t m = pa.shape[0]
    cdef int64_t n_cells = nx * ny
    if cell <= 0 or nx <= 0 or ny <= 0:
        raise ValueError("the grid needs a positive cell size and dimensions")
    if pb.shape[0] != m or pa.shape[1] != 2 or pb.shape[1] != 2:
        raise ValueError("piece end arrays must both be (n, 2)")
    start_arr = np.zeros(n_cells + 1, dtype=np.int64)
    cdef int64_t[::1] start = start_arr
    cdef int64_t i, cx, cy, cx0, cx1, cy0, cy1, total
    for i in range(m):
        cx0 = <int64_t>floor((min(pa[i, 0], pb[i, 0]) - x0) / cell)
        cx1 = <int64_t>floor((max(pa[i, 0], pb[i, 0]) - x0) / cell)
        cy0 = <int64_t>floor((min(pa[i, 1], pb[i, 1]) - y0) / cell)
        cy1 = <int64_t>floor((max(pa[i, 1], pb[i, 1]) - y0) / cell)
        if cx0 < 0 or cy0 < 0 or cx1 >= nx or cy1 >= ny:
            raise ValueError("a piece lies outside the grid")
        for cy in range(cy0, cy1 + 1):
            for cx in range(cx0, cx1 + 1):
                start[cy * nx + cx + 1] += 1
    for i in range(n_cells):
        start[i + 1] += start[i]
    total = start[n_cells]
    items_arr = np.empty(total, dtype=np.int64)
    cdef int64_t[::1] items = items_arr
    fill_arr = start_arr[:n_cells].copy()
    cdef int64_t[::1] fill = fill_arr
    for i in range(m):
        cx0 = <int64_t>floor((min(pa[i, 0], pb[i, 0]) - x0) / cell)
        cx1 = <int64_t>floor((max(pa[i, 0], pb[i, 0]) - x0) / cell)
        cy0 = <int64_t>floor((min(pa[i, 1], pb[i, 1]) - y0) / cell)
        cy1 = <int64_t>floor((max(pa[i, 1], pb[i, 1]) - y0) / cell)
        for cy in range(cy0, cy1 + 1):
            for cx in range(cx0, cx1 + 1):
                items[fill[cy * nx + cx]] = i
                fill[cy * nx + cx] += 1
    return start_arr, items_arr


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


def nearest_pieces(const double[::1] x, const double[::1] y, const double[:, ::1] pa,
                   const double[:, ::1] pb, const int64_t[::1] cell_start, const int64_t[::1] cell_items,
                   double x0, double y0, double cell, int64_t nx, int64_t ny, double max_dist):
    """Nearest piece of every point: ``(piece, t, dist, exact)``.

    ``t`` is the projection parameter (0..1 along ``a -> b``). ``exact`` is False where the
    search stopped at ``max_dist`` first: the point is farther than ``max_dist`` from every
    piece, and ``piece``/``dist`` (the best seen, or -1/inf) only bound the answer.
    """
    cdef int64_t n = x.shape[0]
    if y.shape[0] != n:
        raise ValueError("x and y differ in length")
    if cell_start.shape[0] != nx * ny + 1:
        raise ValueError("cell_start does not match the grid")
    piece_arr = np.full(n, -1, dtype=np.int64)
    t_arr = np.zeros(n)
    d_arr = np.full(n, np.inf)
    exact_arr = np.zeros(n, dtype=bool)
    cdef int64_t[::1] piece = piece_arr
    cdef double[::1] tt = t_arr
    cdef double[::1] dd = d_arr
    cdef unsigned char[::1] exact = exact_arr.view(np.uint8)
    cdef int64_t i, r, cx, cy, gx, gx_end, gy, step, k, p, best_p
    cdef double px, py, best, best_t, d, t, margin, lb, fx, fy
    with nogil:
        for i in range(n):
            px = x[i]
            py = y[i]
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
                # cells at Chebyshev distance r from (cx, cy) inside the grid: whole border
                # rows, and the two end cells of the rows between them
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
                            for k in range(cell_start[gy * nx + gx], cell_start[gy * nx + gx + 1]):
                                p = cell_items[k]
                                d = _piece_dist(px, py, pa[p, 0], pa[p, 1], pb[p, 0], pb[p, 1], &t)
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
                    exact[i] = 1  # the whole grid has been searched
                    break
                if lb > max_dist:
                    break
                r += 1
            piece[i] = best_p
            tt[i] = best_t
            dd[i] = best
    return piece_arr, t_arr, d_arr, exact_arr
