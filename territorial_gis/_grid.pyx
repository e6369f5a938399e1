# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled multi-source Dijkstra over a friction grid joined to an explicit graph.

Nodes ``0 .. nrows*ncols - 1`` are the cells of a raster (row-major); nodes from
``nrows*ncols`` on are explicit (road, waterway or place nodes). The grid's arcs are implicit:
from every passable cell to its neighbours in the move set (4: rook moves; 8: plus diagonals;
16: plus knight moves), costing the mean of the two cells' friction times the distance between
the cell centres (the convention of R's gdistance with ``geoCorrection`` and of AccessMod). A
cell is passable when its friction is finite; NaN or infinite friction is a barrier. The
explicit arcs come as a CSR over all nodes (a cell may have explicit arcs too: to the road
point inside it, to a landing), each with a mode code.

Corner rule (``cut_corners`` False): a diagonal move needs at least one of the two cells it
passes between to be passable, and a knight move both cells it crosses, so a barrier drawn one
cell thick (a river line) cannot be jumped. With ``cut_corners`` True every move between two
passable cells is allowed, as in gdistance and scikit-image's ``MCP_Geometric``.

Walking slope (``elevation`` given): the cost of a move is multiplied by Tobler's hiking
function relative to flat ground, ``exp(3.5 * (|S + 0.05| - 0.05))`` with ``S`` the rise over
run of the move *in the direction of travel* (anisotropic: a descent of 5 % is the fastest;
the same slope costs more uphill than downhill). ``reverse`` says the search runs from the
destinations backwards, so that a relaxation ``u -> v`` is travel ``v -> u``.

The queue is a bucket queue (Dial 1969) with buckets of a width no larger than the lightest
grid move, so a cell can never improve another cell of its own bucket and the cells of a bucket
are taken in any order (Dinitz's refinement of Dial's algorithm): pushing and popping cost O(1)
instead of a heap's O(log n). Explicit arcs lighter than a bucket (road links, free links) may
improve a node of the current bucket after it was taken: the node is then queued and processed
again (label correcting), so the result is the exact shortest-path cost whatever the bucket
width; the width only decides the speed. Costs beyond the ring of buckets wait in a binary
heap. Outdated entries are skipped when popped. Memory: the node arrays plus the frontier.
"""

import numpy as np

from libc.math cimport INFINITY, exp, fabs
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, realloc

# move set: rook moves, then diagonals, then knight moves (row offset, column offset)
MOVE_OFFSETS = np.array([
    (-1, 0), (1, 0), (0, -1), (0, 1),
    (-1, -1), (-1, 1), (1, -1), (1, 1),
    (-2, -1), (-2, 1), (-1, -2), (-1, 2), (1, -2), (1, 2), (2, -1), (2, 1),
], dtype=np.int64)

#: explicit arc modes (``0`` a free link that is no leg of the trip)
MODE_LINK = 0
MODE_WALK = 1
MODE_ROAD = 2
MODE_BOAT = 3
MODE_WAIT = 4
MODE_CROSSING = 5
N_LEGS = 5  # legs accumulated per node: modes 1..5
cdef int NLEG = 5
cdef uint32_t SEQ_CAP = 1 << 29  # sequences stop growing after 9 legs

cdef int64_t _DR[16]
cdef int64_t _DC[16]
cdef int64_t _AR[16]  # first cell passed (row, col offsets), diagonal and knight moves
cdef int64_t _AC[16]
cdef int64_t _BR[16]  # second cell passed
cdef int64_t _BC[16]
cdef int _KIND[16]  # 0 rook, 1 diagonal, 2 knight


cdef void _init_moves():
    cdef int m
    cdef int64_t dr, dc
    for m in range(16):
        dr = MOVE_OFFSETS[m, 0]
        dc = MOVE_OFFSETS[m, 1]
        _DR[m] = dr
        _DC[m] = dc
        if m < 4:
            _KIND[m] = 0
            _AR[m] = 0
            _AC[m] = 0
            _BR[m] = 0
            _BC[m] = 0
        elif m < 8:
            _KIND[m] = 1
            _AR[m] = dr
            _AC[m] = 0
            _BR[m] = 0
            _BC[m] = dc
        else:
            _KIND[m] = 2
            if dr == 1 or dr == -1:  # two columns, one row: cells (0, dc/2) and (dr, dc/2)
                _AR[m] = 0
                _AC[m] = dc // 2
                _BR[m] = dr
                _BC[m] = dc // 2
            else:  # two rows, one column: cells (dr/2, 0) and (dr/2, dc)
                _AR[m] = dr // 2
                _AC[m] = 0
                _BR[m] = dr // 2
                _BC[m] = dc


_init_moves()


cdef struct Item:
    double key
    int32_t node


cdef struct Bucket:
    Item* items
    int64_t size
    int64_t cap


cdef struct Queue:
    Bucket* ring  # bucket k holds the items of cost in [k * width, (k + 1) * width), k mod nb
    int64_t nb
    int64_t mask
    int64_t cur  # current bucket
    int64_t count  # items in the ring
    double inv  # 1 / width
    Item* ov  # items beyond the ring's horizon: a binary heap by cost
    int64_t ov_size
    int64_t ov_cap


cdef inline int64_t _bucket(Queue* q, double cost) noexcept nogil:
    cdef double x = cost * q.inv
    if x >= 4e18:  # absurd costs share the last bucket (order among them is then arbitrary)
        return <int64_t>4e18
    return <int64_t>x


cdef inline int _append(Bucket* bk, double key, int32_t node) noexcept nogil:
    cdef void* p
    if bk.size == bk.cap:
        bk.cap = bk.cap * 2 if bk.cap else 64
        p = realloc(bk.items, bk.cap * sizeof(Item))
        if p == NULL:
            return -1
        bk.items = <Item*>p
    bk.items[bk.size].key = key
    bk.items[bk.size].node = node
    bk.size += 1
    return 0


cdef inline int _ov_push(Queue* q, double key, int32_t node) noexcept nogil:
    cdef int64_t i, p
    cdef void* mem
    if q.ov_size == q.ov_cap:
        q.ov_cap = q.ov_cap * 2 if q.ov_cap else 64
        mem = realloc(q.ov, q.ov_cap * sizeof(Item))
        if mem == NULL:
            return -1
        q.ov = <Item*>mem
    i = q.ov_size
    q.ov_size += 1
    while i > 0:
        p = (i - 1) >> 1
        if q.ov[p].key <= key:
            break
        q.ov[i] = q.ov[p]
        i = p
    q.ov[i].key = key
    q.ov[i].node = node
    return 0


cdef inline void _ov_pop(Queue* q) noexcept nogil:
    cdef int64_t n, i, c
    cdef Item last
    q.ov_size -= 1
    n = q.ov_size
    if n == 0:
        return
    last = q.ov[n]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and q.ov[c + 1].key < q.ov[c].key:
            c += 1
        if q.ov[c].key >= last.key:
            break
        q.ov[i] = q.ov[c]
        i = c
    q.ov[i] = last


cdef inline int _push(Queue* q, int32_t node, double cost) noexcept nogil:
    """Queue ``node`` at ``cost``; -1 when memory runs out."""
    cdef int64_t k = _bucket(q, cost)
    if k < q.cur + q.nb:
        q.count += 1
        return _append(&q.ring[k & q.mask], cost, node)
    return _ov_push(q, cost, node)


cdef inline int _pop(Queue* q, int32_t* node, double* cost) noexcept nogil:
    """Take an item of the lowest non-empty bucket (any of them); 1 when the queue is empty,
    -1 when memory runs out."""
    cdef Bucket* bk
    while True:
        bk = &q.ring[q.cur & q.mask]
        if bk.size > 0:
            bk.size -= 1
            q.count -= 1
            node[0] = bk.items[bk.size].node
            cost[0] = bk.items[bk.size].key
            return 0
        if q.count == 0:
            if q.ov_size == 0:
                return 1
            q.cur = _bucket(q, q.ov[0].key)
        else:
            q.cur += 1
        while q.ov_size > 0 and _bucket(q, q.ov[0].key) < q.cur + q.nb:
            if _append(&q.ring[_bucket(q, q.ov[0].key) & q.mask], q.ov[0].key, q.ov[0].node) < 0:
                return -1
            q.count += 1
            _ov_pop(q)


cdef void _free_queue(Queue* q) noexcept nogil:
    cdef int64_t i
    if q.ring != NULL:
        for i in range(q.nb):
            free(q.ring[i].items)
        free(q.ring)
    free(q.ov)


cdef int _plain(Queue* q, const double* fr, double* dist, int64_t nrows, int64_t ncols, const double* md,
                int moves, bint cut_corners, double limit, const int64_t* off, const int64_t* off_a,
                const int64_t* off_b) noexcept nogil:
    """The search over a grid alone, without labels, legs or slopes (the common case, kept lean:
    the same steps as the general loop of :func:`grid_nearest`). 0 when done, -1 out of memory."""
    cdef int32_t un
    cdef double du, fu, fv, nd
    cdef int64_t u, v, r, c, rr, cc
    cdef int m, st
    cdef const double* mrow
    cdef bint inner
    while True:
        st = _pop(q, &un, &du)
        if st == 1:
            return 0
        if st < 0:
            return -1
        u = un
        if du > dist[u]:
            continue
        fu = fr[u]
        if not (fu < INFINITY):
            continue
        r = u // ncols
        c = u - r * ncols
        mrow = md + r * moves
        inner = r >= 2 and r < nrows - 2 and c >= 2 and c < ncols - 2
        for m in range(moves):
            if inner:
                v = u + off[m]
            else:
                rr = r + _DR[m]
                cc = c + _DC[m]
                if rr < 0 or rr >= nrows or cc < 0 or cc >= ncols:
                    continue
                v = rr * ncols + cc
            fv = fr[v]
            if not (fv < INFINITY):
                continue
            if not cut_corners and _KIND[m] != 0:
                if _KIND[m] == 1:
                    if not (fr[u + off_a[m]] < INFINITY or fr[u + off_b[m]] < INFINITY):
                        continue
                elif not (fr[u + off_a[m]] < INFINITY and fr[u + off_b[m]] < INFINITY):
                    continue
            nd = du + (fu + fv) * 0.5 * mrow[m]
            if nd < dist[v] and nd <= limit:
                dist[v] = nd
                if _push(q, <int32_t>v, nd) < 0:
                    return -1


def move_table(int moves):
    """Row and column offsets of the first ``moves`` moves (4, 8 or 16)."""
    if moves not in (4, 8, 16):
        raise ValueError(f"moves must be 4, 8 or 16, got {moves}")
    return MOVE_OFFSETS[:moves].copy()


cdef struct Graph:
    const double* fr  # friction per cell
    const double* md  # move distances, (nrows, moves) row-major
    const double* z  # elevations (slope) or NULL
    int64_t nrows
    int64_t ncols
    int64_t n_cells
    int moves
    const int64_t* ip  # explicit arcs (CSR over all nodes) or NULL
    const int32_t* ix
    const double* ew
    const uint8_t* em
    bint reverse
    bint cut_corners
    double limit
    int64_t off[16]  # flat offsets of the moves
    int64_t off_a[16]  # of the cells a diagonal or knight move passes
    int64_t off_b[16]


cdef struct Out:
    double* dist
    int32_t* label  # or NULL
    double* legs  # (n, NLEG) or NULL
    uint32_t* seq  # or NULL
    int32_t* pred  # or NULL


cdef inline bint _grid_move(const Graph* g, int64_t u, int64_t r, int64_t c, bint inner, int m,
                            int64_t* v_out, double* w_out) noexcept nogil:
    """The move ``m`` from cell ``u`` (row ``r``, column ``c``): its cell and cost, or False."""
    cdef int64_t v, rr, cc
    cdef double fv, d, w, sl
    if inner:
        v = u + g.off[m]
    else:
        rr = r + _DR[m]
        cc = c + _DC[m]
        if rr < 0 or rr >= g.nrows or cc < 0 or cc >= g.ncols:
            return False
        v = rr * g.ncols + cc
    fv = g.fr[v]
    if not (fv < INFINITY):
        return False
    if not g.cut_corners and _KIND[m] != 0:
        if _KIND[m] == 1:
            if not (g.fr[u + g.off_a[m]] < INFINITY or g.fr[u + g.off_b[m]] < INFINITY):
                return False
        elif not (g.fr[u + g.off_a[m]] < INFINITY and g.fr[u + g.off_b[m]] < INFINITY):
            return False
    d = g.md[r * g.moves + m]
    w = (g.fr[u] + fv) * 0.5 * d
    if g.z != NULL:
        sl = (g.z[u] - g.z[v]) / d if g.reverse else (g.z[v] - g.z[u]) / d
        if sl == sl:  # no elevation (NaN): flat
            w = w * exp(3.5 * (fabs(sl + 0.05) - 0.05))
    v_out[0] = v
    w_out[0] = w
    return True


cdef inline int _improve(Queue* q, Out* o, int64_t u, int64_t v, double nd, double w, int mode) noexcept nogil:
    """``v`` is reached through ``u`` at ``nd`` by an arc of cost ``w`` and ``mode``: record and queue it."""
    cdef int kk
    cdef uint32_t sq
    o.dist[v] = nd
    if o.label != NULL:
        o.label[v] = o.label[u]
    if o.pred != NULL:
        o.pred[v] = <int32_t>u
    if o.legs != NULL:
        for kk in range(NLEG):
            o.legs[v * NLEG + kk] = o.legs[u * NLEG + kk]
        sq = o.seq[u]
        if mode > 0:
            o.legs[v * NLEG + mode - 1] += w
            if w > 0 and mode != 4 and (sq & 7) != <uint32_t>mode and sq < SEQ_CAP:
                sq = (sq << 3) | <uint32_t>mode
        o.seq[v] = sq
    return _push(q, <int32_t>v, nd)


cdef int _general(Queue* q, const Graph* g, Out* o) noexcept nogil:
    """The search with explicit arcs, slopes, labels or legs. 0 when done, -1 out of memory."""
    cdef int32_t un
    cdef double du, w, nd
    cdef int64_t u, v, r, c, k
    cdef int m, st
    cdef bint inner
    while True:
        st = _pop(q, &un, &du)
        if st == 1:
            return 0
        if st < 0:
            return -1
        u = un
        if du > o.dist[u]:
            continue  # outdated entry
        if u < g.n_cells and g.fr[u] < INFINITY:
            r = u // g.ncols
            c = u - r * g.ncols
            inner = r >= 2 and r < g.nrows - 2 and c >= 2 and c < g.ncols - 2
            for m in range(g.moves):
                if _grid_move(g, u, r, c, inner, m, &v, &w):
                    nd = du + w
                    if nd < o.dist[v] and nd <= g.limit and _improve(q, o, u, v, nd, w, 1) < 0:  # walk
                        return -1
        if g.ip != NULL:
            for k in range(g.ip[u], g.ip[u + 1]):
                v = g.ix[k]
                w = g.ew[k]
                nd = du + w
                if nd < o.dist[v] and nd <= g.limit and _improve(q, o, u, v, nd, w, g.em[k]) < 0:
                    return -1


def _explicit_arrays(extra_indptr, extra_indices, extra_data, extra_mode, int64_t n_total):
    """Contiguous, checked explicit-arc arrays (or None)."""
    if extra_indptr is None:
        return None
    ip = np.ascontiguousarray(extra_indptr, dtype=np.int64)
    ix = np.ascontiguousarray(extra_indices, dtype=np.int32)
    ew = np.ascontiguousarray(extra_data, dtype=np.float64)
    em = np.ascontiguousarray(extra_mode if extra_mode is not None else np.zeros(len(ix)), dtype=np.uint8)
    nnz = len(ix)
    if len(ip) != n_total + 1 or ip[n_total] != nnz or len(ew) != nnz or len(em) != nnz:
        raise ValueError("explicit arcs: indptr, indices, data and mode disagree")
    if nnz and (ix.min() < 0 or ix.max() >= n_total):
        raise ValueError("explicit arcs: node index out of range")
    if nnz and not (ew.min() >= 0):
        raise ValueError("explicit arc costs must be non-negative")
    if nnz and em.max() > 5:
        raise ValueError("explicit arc modes must be 0..5")
    return ip, ix, ew, em


def _check_seeds(seed_node, seed_cost, int64_t n_total):
    """Contiguous, checked seed arrays."""
    sn = np.ascontiguousarray(seed_node, dtype=np.int64)
    sc = np.ascontiguousarray(seed_cost, dtype=np.float64)
    if len(sc) != len(sn):
        raise ValueError("seed_node and seed_cost differ in length")
    if len(sn) and (sn.min() < 0 or sn.max() >= n_total):
        raise ValueError(f"seed node out of range (0..{n_total - 1})")
    if len(sc) and not (sc.min() >= 0):
        raise ValueError("seed costs must be non-negative")
    return sn, sc


def grid_nearest(friction, int64_t nrows, int64_t ncols, move_dist, int moves, seed_node, seed_cost,
                 extra_indptr=None, extra_indices=None, extra_data=None, extra_mode=None,
                 int64_t n_extra=0, elevation=None, bint reverse=False, bint cut_corners=False,
                 double limit=INFINITY, bint labels=False, bint legs=False, double bucket_width=1.0,
                 int64_t n_buckets=1024, pred=None):
    """Multi-source Dijkstra over a friction grid plus explicit arcs.

    Parameters
    ----------
    friction
        float64 array of ``nrows * ncols`` cells (row-major): cost per unit of distance
        (seconds per metre); NaN or +inf where the cell cannot be crossed.
    nrows, ncols
        Grid shape.
    move_dist
        float64 array ``(nrows, moves)``: distance of move ``m`` (see :func:`move_table`) from a
        cell of row ``r``, so that geographic grids keep their true per-row distances.
    moves
        4, 8 or 16.
    seed_node, seed_cost
        Start nodes (cells or explicit nodes) and their initial costs (>= 0).
    extra_indptr, extra_indices, extra_data, extra_mode
        Explicit arcs as a CSR over all ``nrows * ncols + n_extra`` nodes (int64 indptr, int32
        indices, float64 costs >= 0, uint8 modes ``MODE_*``); None for a pure grid.
    n_extra
        Number of explicit nodes after the cells.
    elevation
        float64 array of the cells' elevations (metres) for Tobler's anisotropic slope factor;
        None for flat ground (NaN elevations count as flat).
    reverse
        The search runs backwards (from destinations): relaxing ``u -> v`` is travel ``v -> u``
        (only the slope factor depends on it; explicit arcs must already be reversed).
    cut_corners
        Allow diagonal and knight moves past barrier cells (see module docstring).
    limit
        Nodes costlier than this stay unreached.
    labels
        Also return, per node, the index of the seed its path starts from (-1 unreached).
    legs
        Also return, per node, the cost of its path spent in each mode 1..5 (walk, road, boat,
        wait, crossing: columns 0..4), and the sequence of its modes (3 bits each, the first
        leg in the lowest bits; waits and free links are not legs).
    bucket_width, n_buckets
        Width (cost units) and number (a power of two) of the queue's buckets: a width up to
        the lightest grid move and ``n_buckets * bucket_width`` above the heaviest arc are
        fastest; any positive values give the same, exact, result.
    pred
        An int32 array of ``n_nodes`` to fill with each node's next node on its path towards
        its seed (the node it was reached from; -1 for seeds and unreached nodes), so that
        paths can be traced; None (default) to skip.

    Returns
    -------
    dist : float64 array (inf where unreached)
    label : int32 array or None
    leg_cost : float64 array (n_nodes, 5) or None
    sequence : uint32 array or None
    """
    cdef int64_t n_cells = nrows * ncols
    cdef int64_t n_total = n_cells + n_extra
    fr = np.ascontiguousarray(friction, dtype=np.float64).reshape(-1)
    md = np.ascontiguousarray(move_dist, dtype=np.float64)
    if len(fr) != n_cells or n_cells < 1:
        raise ValueError("friction must hold nrows * ncols (>= 1) cells")
    if moves not in (4, 8, 16):
        raise ValueError(f"moves must be 4, 8 or 16, got {moves}")
    if md.shape != (nrows, moves):
        raise ValueError("move_dist must have shape (nrows, moves)")
    if n_total >= 2147483647:
        raise ValueError("too many nodes for the grid kernel (2**31 - 1 at most)")
    if not (bucket_width > 0) or n_buckets < 1 or (n_buckets & (n_buckets - 1)) != 0:
        raise ValueError("bucket_width must be positive and n_buckets a power of two")
    explicit = _explicit_arrays(extra_indptr, extra_indices, extra_data, extra_mode, n_total)
    z = None if elevation is None else np.ascontiguousarray(elevation, dtype=np.float64).reshape(-1)
    if z is not None and len(z) != n_cells:
        raise ValueError("elevation must hold nrows * ncols cells")
    sn, sc = _check_seeds(seed_node, seed_cost, n_total)
    dist = np.full(n_total, np.inf)
    label = np.full(n_total, -1, dtype=np.int32) if labels else None
    leg = np.zeros((n_total, N_LEGS), dtype=np.float64) if legs else None
    seq = np.zeros(n_total, dtype=np.uint32) if legs else None
    if pred is not None:
        if not (isinstance(pred, np.ndarray) and pred.dtype == np.int32 and pred.ndim == 1
                and pred.shape[0] == n_total and pred.flags.c_contiguous and pred.flags.writeable):
            raise ValueError("pred must be a writeable contiguous int32 array of n_nodes")
        pred[:] = -1

    cdef Graph g
    cdef Out o
    cdef const double[::1] fr_v = fr
    cdef const double[:, ::1] md_v = md
    cdef const double[::1] z_v = z if z is not None else np.zeros(1)
    cdef const int64_t[::1] ip_v = explicit[0] if explicit else np.zeros(1, dtype=np.int64)
    cdef const int32_t[::1] ix_v = explicit[1] if explicit and len(explicit[1]) else np.zeros(1, dtype=np.int32)
    cdef const double[::1] ew_v = explicit[2] if explicit and len(explicit[2]) else np.zeros(1)
    cdef const uint8_t[::1] em_v = explicit[3] if explicit and len(explicit[3]) else np.zeros(1, dtype=np.uint8)
    cdef double[::1] dist_v = dist
    cdef int32_t[::1] label_v = label if label is not None else np.zeros(1, dtype=np.int32)
    cdef double[:, ::1] leg_v = leg if leg is not None else np.zeros((1, N_LEGS))
    cdef uint32_t[::1] seq_v = seq if seq is not None else np.zeros(1, dtype=np.uint32)
    cdef int32_t[::1] pred_v = pred if pred is not None else np.zeros(1, dtype=np.int32)
    cdef const int64_t[::1] sn_v = sn
    cdef const double[::1] sc_v = sc
    cdef int i
    g.fr = &fr_v[0]
    g.md = &md_v[0, 0]
    g.z = &z_v[0] if z is not None else NULL
    g.nrows, g.ncols, g.n_cells, g.moves = nrows, ncols, n_cells, moves
    g.ip = &ip_v[0] if explicit else NULL
    g.ix, g.ew, g.em = &ix_v[0], &ew_v[0], &em_v[0]
    g.reverse, g.cut_corners, g.limit = reverse, cut_corners, limit
    for i in range(16):
        g.off[i] = _DR[i] * ncols + _DC[i]
        g.off_a[i] = _AR[i] * ncols + _AC[i]
        g.off_b[i] = _BR[i] * ncols + _BC[i]
    o.dist = &dist_v[0]
    o.label = &label_v[0] if labels else NULL
    o.legs = &leg_v[0, 0] if legs else NULL
    o.seq = &seq_v[0] if legs else NULL
    o.pred = &pred_v[0] if pred is not None else NULL

    cdef Queue q
    q.nb, q.mask, q.cur, q.count, q.inv = n_buckets, n_buckets - 1, 0, 0, 1.0 / bucket_width
    q.ov, q.ov_size, q.ov_cap = NULL, 0, 0
    q.ring = <Bucket*>calloc(n_buckets, sizeof(Bucket))
    if q.ring == NULL:
        raise MemoryError("grid kernel: cannot allocate the bucket ring")
    cdef int failed = 0
    cdef int64_t s, u
    cdef bint plain = not (labels or legs or z is not None or explicit or pred is not None)
    with nogil:
        for s in range(sn_v.shape[0]):
            u = sn_v[s]
            if sc_v[s] < o.dist[u] and sc_v[s] <= limit:
                o.dist[u] = sc_v[s]
                if o.label != NULL:
                    o.label[u] = <int32_t>s
                if _push(&q, <int32_t>u, sc_v[s]) < 0:
                    failed = 1
                    break
        if not failed:
            if plain:
                failed = _plain(&q, g.fr, o.dist, nrows, ncols, g.md, moves, cut_corners, limit,
                                g.off, g.off_a, g.off_b) < 0
            else:
                failed = _general(&q, &g, &o) < 0
        _free_queue(&q)
    if failed:
        raise MemoryError("grid kernel: out of memory while growing the queue")
    return dist, label, leg, seq
