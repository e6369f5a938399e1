# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled shortest paths over a CSR graph: a multi-source pass and many-to-many tables.

:func:`nearest_seed` answers "which seed is nearest to every node, and how far" in one pass:
each seed is a node with an initial cost (a destination partway along an edge starts at the
edge's end node with the cost of the part of the edge still to travel), and every node
inherits the label of the seed its shortest path starts from (Dijkstra, binary heap). Unlike
``scipy.sparse.csgraph.dijkstra(min_only=True)`` it takes initial costs and returns labels
directly, so no virtual node per destination is needed.

:class:`TableSearch` runs one bounded search per source of a :class:`TablePlan` (sources
with seeds, targets read at nodes with costs, direct trips) and writes the pairs straight into
arrays; it releases the GIL, so one object per thread searches sources in parallel.
"""

import numpy as np

from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcpy

from territorial_gis._heap cimport _pop, _push


def nearest_seed(indptr, indices, data, int64_t n_nodes, seed_node, seed_cost,
                 double limit=INFINITY, bint predecessors=False):
    """Multi-source Dijkstra from seeds with initial costs.

    Parameters
    ----------
    indptr, indices, data
        CSR arrays of the graph (arc ``i -> indices[k]`` of weight ``data[k]`` for ``k`` in
        ``indptr[i]:indptr[i+1]``); weights must be non-negative.
    n_nodes
        Number of nodes.
    seed_node, seed_cost
        Node and initial cost of each seed (several seeds may share a node: the cheapest, then
        the first, wins).
    limit
        Nodes farther than this stay unreached.
    predecessors
        Also return the predecessor of every node on its shortest path (-1 for seeds and
        unreached nodes).

    Returns
    -------
    dist : ndarray of float64
        Cost from the nearest seed (inf where unreached).
    label : ndarray of int64
        Index of that seed in the seed arrays (-1 where unreached).
    pred : ndarray of int64 or None
    """
    cdef const int64_t[::1] ip = np.ascontiguousarray(indptr, dtype=np.int64)
    cdef const int32_t[::1] ix = np.ascontiguousarray(indices, dtype=np.int32)
    cdef const double[::1] w = np.ascontiguousarray(data, dtype=np.float64)
    cdef const int64_t[::1] sn = np.ascontiguousarray(seed_node, dtype=np.int64)
    cdef const double[::1] sc = np.ascontiguousarray(seed_cost, dtype=np.float64)
    cdef int64_t n_seeds = sn.shape[0]
    if sc.shape[0] != n_seeds:
        raise ValueError("seed_node and seed_cost differ in length")
    if ip.shape[0] != n_nodes + 1:
        raise ValueError("indptr must have n_nodes + 1 entries")
    cdef int64_t nnz = ix.shape[0]
    if w.shape[0] != nnz or (n_nodes > 0 and ip[n_nodes] != nnz):
        raise ValueError("indices, data and indptr disagree")
    dist_arr = np.full(n_nodes, np.inf)
    label_arr = np.full(n_nodes, -1, dtype=np.int64)
    pred_arr = np.full(n_nodes if predecessors else 0, -1, dtype=np.int64)
    cdef double[::1] dist = dist_arr
    cdef int64_t[::1] label = label_arr
    cdef int64_t[::1] pred = pred_arr
    done_arr = np.zeros(n_nodes, dtype=np.uint8)
    cdef unsigned char[::1] done = done_arr
    # lazy deletion: at most one entry per seed plus one per improving relaxation (<= nnz)
    cdef int64_t cap = n_seeds + nnz + 1
    hk_arr = np.empty(cap, dtype=np.float64)
    hv_arr = np.empty(cap, dtype=np.int64)
    cdef double[::1] hk = hk_arr
    cdef int64_t[::1] hv = hv_arr
    cdef int64_t size = 0
    cdef int64_t s, u, v, k
    cdef double c, du, nd
    for s in range(n_seeds):
        u = sn[s]
        if u < 0 or u >= n_nodes:
            raise ValueError(f"seed node {u} out of range")
        c = sc[s]
        if not (c >= 0):
            raise ValueError(f"seed cost must be non-negative, got {c}")
    for k in range(nnz):
        if not (w[k] >= 0):
            raise ValueError(f"arc weights must be non-negative, got {w[k]}")
    with nogil:
        for s in range(n_seeds):
            u = sn[s]
            c = sc[s]
            if c < dist[u] and c <= limit:
                dist[u] = c
                label[u] = s
                _push(&hk[0], &hv[0], &size, c, u)
        while size > 0:
            du = hk[0]
            u = hv[0]
            _pop(&hk[0], &hv[0], &size)
            if done[u] or du > dist[u]:
                continue
            done[u] = 1
            for k in range(ip[u], ip[u + 1]):
                v = ix[k]
                nd = du + w[k]
                if nd < dist[v] and nd <= limit:
                    dist[v] = nd
                    label[v] = label[u]
                    if predecessors:
                        pred[v] = u
                    _push(&hk[0], &hv[0], &size, nd, v)
    return dist_arr, label_arr, (pred_arr if predecessors else None)


def read_nearest(o_pt, o_e, o_q, int64_t n_origins, edge_u, edge_v, weight, dist, node_seed, seed_dest,
                 d_e, d_p, d_pt, d_leg):
    """Per origin, the best way to the nearest destination after a seeded pass.

    Origins and destinations sit partway along directed edges: one entry per directed edge of
    their road piece (``o_pt``/``o_e``/``o_q``: origin, edge row, position 0..1 along it;
    ``d_e``/``d_p``/``d_pt``: the same for destinations, sorted by edge row, with ``d_leg`` the
    off-road leg of each destination). An origin leaves along its edge to the edge's end node
    (the rest of the edge, then that node's ``dist``), from the start node itself when it sits
    on it (position 0), or drives along the edge to a destination further on it.

    Parameters
    ----------
    dist, node_seed
        The pass's cost and seed of every node (:func:`nearest_seed`); ``seed_dest`` maps a
        seed to its destination.

    Returns
    -------
    time : ndarray of float64
        Per origin (``0..n_origins-1``), seconds to the nearest destination, the origin's own
        leg excluded (inf where none is reachable).
    dest : ndarray of int64
        That destination (-1 where none).
    """
    cdef const int64_t[::1] opt = np.ascontiguousarray(o_pt, dtype=np.int64)
    cdef const int64_t[::1] oe = np.ascontiguousarray(o_e, dtype=np.int64)
    cdef const double[::1] oq = np.ascontiguousarray(o_q, dtype=np.float64)
    cdef const int32_t[::1] eu = np.ascontiguousarray(edge_u, dtype=np.int32)
    cdef const int32_t[::1] ev = np.ascontiguousarray(edge_v, dtype=np.int32)
    cdef const double[::1] w = np.ascontiguousarray(weight, dtype=np.float64)
    cdef const double[::1] dv = np.ascontiguousarray(dist, dtype=np.float64)
    cdef const int64_t[::1] ns = np.ascontiguousarray(node_seed, dtype=np.int64)
    cdef const int64_t[::1] sd = np.ascontiguousarray(seed_dest, dtype=np.int64)
    cdef const int64_t[::1] de = np.ascontiguousarray(d_e, dtype=np.int64)
    cdef const double[::1] dp = np.ascontiguousarray(d_p, dtype=np.float64)
    cdef const int64_t[::1] dpt = np.ascontiguousarray(d_pt, dtype=np.int64)
    cdef const double[::1] dleg = np.ascontiguousarray(d_leg, dtype=np.float64)
    cdef int64_t n = opt.shape[0]
    cdef int64_t m = de.shape[0]
    cdef int64_t n_edges = w.shape[0]
    cdef int64_t n_nodes = dv.shape[0]
    if oe.shape[0] != n or oq.shape[0] != n:
        raise ValueError("origin entry arrays differ in length")
    if dp.shape[0] != m or dpt.shape[0] != m:
        raise ValueError("destination entry arrays differ in length")
    if eu.shape[0] != n_edges or ev.shape[0] != n_edges or ns.shape[0] != n_nodes:
        raise ValueError("edge or node arrays differ in length")
    cdef int64_t i, j, lo, hi, mid, o, e, s
    for i in range(n):
        if opt[i] < 0 or opt[i] >= n_origins or oe[i] < 0 or oe[i] >= n_edges:
            raise ValueError("origin entry out of range")
    for j in range(m):
        if de[j] < 0 or de[j] >= n_edges or dpt[j] < 0 or dpt[j] >= dleg.shape[0]:
            raise ValueError("destination entry out of range")
        if j and de[j] < de[j - 1]:
            raise ValueError("destination entries must be sorted by edge")
    time_arr = np.full(n_origins, np.inf)
    dest_arr = np.full(n_origins, -1, dtype=np.int64)
    cdef double[::1] best = time_arr
    cdef int64_t[::1] dest = dest_arr
    cdef double c, q
    cdef int64_t node
    with nogil:
        for i in range(n):
            o = opt[i]
            e = oe[i]
            q = oq[i]
            node = ev[e]
            c = (1.0 - q) * w[e] + dv[node]
            if c < best[o]:
                best[o] = c
                dest[o] = sd[ns[node]]
            if q <= 0.0:
                node = eu[e]
                c = dv[node]
                if c < best[o]:
                    best[o] = c
                    dest[o] = sd[ns[node]]
            # destinations further along the same directed edge
            lo = 0
            hi = m
            while lo < hi:
                mid = (lo + hi) >> 1
                if de[mid] < e:
                    lo = mid + 1
                else:
                    hi = mid
            j = lo
            while j < m and de[j] == e:
                if dp[j] >= q:
                    c = (dp[j] - q) * w[e] + dleg[dpt[j]]
                    if c < best[o]:
                        best[o] = c
                        dest[o] = dpt[j]
                j += 1
    return time_arr, dest_arr


def nearest_seed_improve(indptr, indices, data, dist, label, changed, double limit=INFINITY):
    """:func:`nearest_seed` again after some arc weights were lowered, from the old answer.

    ``dist``/``label`` are a pass over the graph before the change; ``data`` holds the new
    weights (each at most the old one) and ``changed`` the CSR positions of the arcs whose
    weight went down. A search seeded at the heads those arcs now reach sooner spreads only
    where times improve, so it costs what the change affects, not the whole graph. Returns
    new ``(dist, label)`` arrays (the inputs are not modified); a node keeps its old label
    unless its time strictly improves.
    """
    cdef const int64_t[::1] ip = np.ascontiguousarray(indptr, dtype=np.int64)
    cdef const int32_t[::1] ix = np.ascontiguousarray(indices, dtype=np.int32)
    cdef const double[::1] w = np.ascontiguousarray(data, dtype=np.float64)
    cdef const int64_t[::1] ch = np.ascontiguousarray(changed, dtype=np.int64)
    cdef int64_t n_nodes = ip.shape[0] - 1
    cdef int64_t nnz = ix.shape[0]
    if w.shape[0] != nnz or n_nodes < 0 or ip[n_nodes] != nnz:
        raise ValueError("indices, data and indptr disagree")
    if len(dist) != n_nodes or len(label) != n_nodes:
        raise ValueError("dist and label must have one entry per node")
    if nnz and not (np.min(np.asarray(w)) >= 0):
        raise ValueError("arc weights must be non-negative")
    if ch.shape[0] and (np.min(np.asarray(ch)) < 0 or np.max(np.asarray(ch)) >= nnz):
        raise ValueError("changed arc position out of range")
    rows_arr = np.searchsorted(np.asarray(ip), np.asarray(ch), side="right") - 1
    cdef const int64_t[::1] rows = rows_arr.astype(np.int64)
    dist_arr = np.array(dist, dtype=np.float64, copy=True)
    label_arr = np.array(label, dtype=np.int64, copy=True)
    cdef double[::1] dv = dist_arr
    cdef int64_t[::1] lv = label_arr
    cdef int64_t cap = ch.shape[0] + nnz + 1
    hk_arr = np.empty(min(cap, max(1024, ch.shape[0] * 64)), dtype=np.float64)
    hv_arr = np.empty(hk_arr.shape[0], dtype=np.int64)
    cdef double[::1] hk = hk_arr
    cdef int64_t[::1] hv = hv_arr
    cdef int64_t size = 0, i, k, u, v
    cdef double du, nd
    cdef int64_t heap_cap = hk_arr.shape[0]
    for i in range(ch.shape[0]):
        k = ch[i]
        u = rows[i]
        v = ix[k]
        nd = dv[u] + w[k]
        if nd < dv[v] and nd <= limit:
            dv[v] = nd
            lv[v] = lv[u]
            if size == heap_cap:
                hk_arr = np.resize(hk_arr, 2 * heap_cap)
                hv_arr = np.resize(hv_arr, 2 * heap_cap)
                hk = hk_arr
                hv = hv_arr
                heap_cap *= 2
            _push(&hk[0], &hv[0], &size, nd, v)
    while size > 0:
        du = hk[0]
        u = hv[0]
        _pop(&hk[0], &hv[0], &size)
        if du > dv[u]:
            continue
        for k in range(ip[u], ip[u + 1]):
            v = ix[k]
            nd = du + w[k]
            if nd < dv[v] and nd <= limit:
                dv[v] = nd
                lv[v] = lv[u]
                if size == heap_cap:
                    hk_arr = np.resize(hk_arr, 2 * heap_cap)
                    hv_arr = np.resize(hv_arr, 2 * heap_cap)
                    hk = hk_arr
                    hv = hv_arr
                    heap_cap *= 2
                _push(&hk[0], &hv[0], &size, nd, v)
    return dist_arr, label_arr


def trace_paths(pred, start_nodes):
    """Follow a predecessor tree from each start node to its root.

    Returns ``(tails, heads, n_steps)``: the steps ``tails[i] -> heads[i]`` of every path, path
    after path in the order of ``start_nodes``, and the number of steps of each (0 for a
    ``-1`` start or a root). Raises ValueError on a cycle.
    """
    cdef const int64_t[::1] pr = np.ascontiguousarray(pred, dtype=np.int64)
    cdef const int64_t[::1] st = np.ascontiguousarray(start_nodes, dtype=np.int64)
    cdef int64_t n = pr.shape[0], m = st.shape[0], i, node, steps, total = 0, k = 0
    for i in range(m):
        if st[i] >= n:
            raise ValueError("start node out of range")
    count_arr = np.zeros(m, dtype=np.int64)
    cdef int64_t[::1] count = count_arr
    cdef int cycle = 0
    with nogil:
        for i in range(m):
            node = st[i]
            steps = 0
            while node >= 0 and pr[node] >= 0:
                node = pr[node]
                steps += 1
                if steps > n:
                    cycle = 1
                    break
            if cycle:
                break
            count[i] = steps
            total += steps
    if cycle:
        raise ValueError("cycle in the predecessor tree")
    tails_arr = np.empty(total, dtype=np.int64)
    heads_arr = np.empty(total, dtype=np.int64)
    cdef int64_t[::1] tl = tails_arr
    cdef int64_t[::1] hd = heads_arr
    with nogil:
        for i in range(m):
            node = st[i]
            while node >= 0 and pr[node] >= 0:
                tl[k] = node
                hd[k] = pr[node]
                node = pr[node]
                k += 1
    return tails_arr, heads_arr, count_arr


# ---------------------------------------------------------------------- many-to-many tables
cdef struct Item:
    double key
    int32_t node


cdef inline void _hpush(Item* h, int64_t* size, double key, int32_t node) noexcept nogil:
    """Push onto a 4-ary min-heap."""
    cdef int64_t i = size[0]
    cdef int64_t parent
    size[0] += 1
    while i > 0:
        parent = (i - 1) >> 2
        if h[parent].key <= key:
            break
        h[i] = h[parent]
        i = parent
    h[i].key = key
    h[i].node = node


cdef inline void _hpop(Item* h, int64_t* size) noexcept nogil:
    """Remove the root of a 4-ary min-heap (the caller read it first)."""
    cdef int64_t n = size[0] - 1
    cdef Item last = h[n]
    cdef int64_t i = 0, c, best, end
    cdef double bk
    size[0] = n
    if n == 0:
        return
    while True:
        c = 4 * i + 1
        if c >= n:
            break
        best = c
        bk = h[c].key
        end = c + 4 if c + 4 <= n else n
        c += 1
        while c < end:
            if h[c].key < bk:
                bk = h[c].key
                best = c
            c += 1
        if bk >= last.key:
            break
        h[i] = h[best]
        i = best
    h[i] = last


cdef void _sort_int64(int64_t* a, int64_t n) noexcept nogil:
    """In-place ascending sort (insertion sort for short runs, heapsort otherwise)."""
    cdef int64_t i, j, start, end, root, child
    cdef int64_t x
    if n < 24:
        for i in range(1, n):
            x = a[i]
            j = i - 1
            while j >= 0 and a[j] > x:
                a[j + 1] = a[j]
                j -= 1
            a[j + 1] = x
        return
    start = (n - 2) >> 1
    end = n
    while True:  # heapify, then move the maximum to the end
        if start >= 0:
            root = start
            start -= 1
        else:
            end -= 1
            if end <= 0:
                return
            x = a[end]
            a[end] = a[0]
            a[0] = x
            root = 0
        while True:
            child = 2 * root + 1
            if child >= end:
                break
            if child + 1 < end and a[child + 1] > a[child]:
                child += 1
            if a[root] >= a[child]:
                break
            x = a[root]
            a[root] = a[child]
            a[child] = x
            root = child


cdef const int64_t* _i64(const int64_t[::1] a):
    return &a[0] if a.shape[0] else NULL


cdef const int32_t* _i32(const int32_t[::1] a):
    return &a[0] if a.shape[0] else NULL


cdef const double* _f64(const double[::1] a):
    return &a[0] if a.shape[0] else NULL


def _checked(arr, dtype, str name, int64_t n=-1):
    out = np.ascontiguousarray(arr, dtype=dtype)
    if out.ndim != 1 or (n >= 0 and out.shape[0] != n):
        raise ValueError(f"{name} must be a 1-d array" + (f" of {n} entries" if n >= 0 else ""))
    return out


def _checked_ptr(arr, int64_t n, int64_t nnz, str name):
    out = _checked(arr, np.int64, name, n + 1)
    if out[0] != 0 or out[n] != nnz or (n and np.any(np.diff(out) < 0)):
        raise ValueError(f"{name} is not a valid CSR pointer for {nnz} entries")
    return out


def _in_range(arr, int64_t lo, int64_t hi, str name):
    if len(arr) and (np.min(arr) < lo or np.max(arr) >= hi):
        raise ValueError(f"{name} out of range")


def _non_negative(arr, str name):
    if len(arr) and not (np.min(arr) >= 0):
        raise ValueError(f"{name} must be non-negative")


cdef class TablePlan:
    """What a many-to-many table is made of, checked once and shared (read-only) by the
    :class:`TableSearch` of every thread.

    * the graph (CSR ``indptr/indices/data``, non-negative weights);
    * per source, its *seeds* (CSR ``seed_ptr`` over sources: a search starts at each
      ``seed_node`` with ``seed_cost`` already spent; a point partway along a road starts at
      the road's end nodes with the part of the road to them);
    * per node, its target *entries* (CSR ``entry_ptr`` over nodes): target ``entry_target``
      is reached ``entry_cost`` after the node (the rest of its road and its off-road leg);
    * per source, *direct* trips that need no node (``direct_ptr`` over sources: a target
      further along the same directed road, or the source itself) with their times.

    A target's time is the least over its entries and direct trips.
    """

    cdef object _keep
    cdef const int64_t* ip
    cdef const int32_t* ix
    cdef const double* w
    cdef const int64_t* sptr
    cdef const int64_t* snode
    cdef const double* scost
    cdef const int64_t* eptr
    cdef const int64_t* etarget
    cdef const double* ecost
    cdef const int64_t* dptr
    cdef const int64_t* dtarget
    cdef const double* dtime
    cdef readonly int64_t n_nodes, n_sources, n_targets, n_entry_nodes

    def __init__(self, indptr, indices, data, seed_ptr, seed_node, seed_cost, entry_ptr, entry_target,
                 entry_cost, int64_t n_targets, direct_ptr, direct_target, direct_time):
        ix = _checked(indices, np.int32, "indices")
        n_nodes = len(indptr) - 1
        if n_nodes < 0 or n_nodes >= 2**31 - 1:
            raise ValueError(f"number of nodes out of range: {n_nodes}")
        ip = _checked_ptr(indptr, n_nodes, len(ix), "indptr")
        w = _checked(data, np.float64, "data", len(ix))
        _in_range(ix, 0, n_nodes, "arc head")
        _non_negative(w, "arc weights")
        n_sources = len(seed_ptr) - 1
        if n_sources < 0:
            raise ValueError("seed_ptr must not be empty")
        snode = _checked(seed_node, np.int64, "seed_node")
        sptr = _checked_ptr(seed_ptr, n_sources, len(snode), "seed_ptr")
        scost = _checked(seed_cost, np.float64, "seed_cost", len(snode))
        _in_range(snode, 0, n_nodes, "seed node")
        _non_negative(scost, "seed cost")
        etarget = _checked(entry_target, np.int64, "entry_target")
        eptr = _checked_ptr(entry_ptr, n_nodes, len(etarget), "entry_ptr")
        ecost = _checked(entry_cost, np.float64, "entry_cost", len(etarget))
        _in_range(etarget, 0, n_targets, "entry target")
        _non_negative(ecost, "entry cost")
        dtarget = _checked(direct_target, np.int64, "direct_target")
        dptr = _checked_ptr(direct_ptr, n_sources, len(dtarget), "direct_ptr")
        dtime = _checked(direct_time, np.float64, "direct_time", len(dtarget))
        _in_range(dtarget, 0, n_targets, "direct target")
        _non_negative(dtime, "direct time")
        self._keep = (ip, ix, w, sptr, snode, scost, eptr, etarget, ecost, dptr, dtarget, dtime)
        self.ip = _i64(ip)
        self.ix = _i32(ix)
        self.w = _f64(w)
        self.sptr = _i64(sptr)
        self.snode = _i64(snode)
        self.scost = _f64(scost)
        self.eptr = _i64(eptr)
        self.etarget = _i64(etarget)
        self.ecost = _f64(ecost)
        self.dptr = _i64(dptr)
        self.dtarget = _i64(dtarget)
        self.dtime = _f64(dtime)
        self.n_nodes = n_nodes
        self.n_sources = n_sources
        self.n_targets = n_targets
        self.n_entry_nodes = int(np.count_nonzero(np.diff(eptr))) if n_nodes else 0


cdef class TableSearch:
    """Bounded one-to-many Dijkstra searches of a :class:`TablePlan`, one source after another.

    One object per thread: it holds the search state (distances, heap, touched nodes, best
    time per target, result buffers) and only reads the plan. :meth:`run` releases the GIL
    for its whole batch of sources, so threads calling it on their own objects run in
    parallel. A search stops at the cutoff or as soon as every node with a target entry is
    settled; only what it touched is reset, so it costs what it explores, not the size of the
    graph. The heap is 4-ary with lazy deletion.
    """

    cdef TablePlan plan
    cdef double* dist
    cdef int32_t* touched
    cdef int64_t n_touched
    cdef double* best
    cdef unsigned char* mark
    cdef int64_t* hits
    cdef Item* heap
    cdef int64_t heap_cap
    cdef int64_t* out_t
    cdef double* out_d
    cdef int64_t out_cap

    def __cinit__(self, TablePlan plan not None):
        self.plan = plan
        cdef int64_t n = max(plan.n_nodes, 1)
        cdef int64_t m = max(plan.n_targets, 1)
        cdef int64_t i
        self.dist = <double*>malloc(n * sizeof(double))
        self.touched = <int32_t*>malloc(n * sizeof(int32_t))
        self.best = <double*>malloc(m * sizeof(double))
        self.mark = <unsigned char*>calloc(m, 1)
        self.hits = <int64_t*>malloc(m * sizeof(int64_t))
        self.heap_cap = max(1024, n // 4)
        self.heap = <Item*>malloc(self.heap_cap * sizeof(Item))
        self.out_cap = max(1024, m)
        self.out_t = <int64_t*>malloc(self.out_cap * sizeof(int64_t))
        self.out_d = <double*>malloc(self.out_cap * sizeof(double))
        if (self.dist == NULL or self.touched == NULL or self.best == NULL or self.mark == NULL
                or self.hits == NULL or self.heap == NULL or self.out_t == NULL or self.out_d == NULL):
            raise MemoryError("table search buffers")
        for i in range(n):
            self.dist[i] = INFINITY
        for i in range(m):
            self.best[i] = INFINITY
        self.n_touched = 0

    def __dealloc__(self):
        free(self.dist)
        free(self.touched)
        free(self.best)
        free(self.mark)
        free(self.hits)
        free(self.heap)
        free(self.out_t)
        free(self.out_d)

    cdef int _grow_heap(self) noexcept nogil:
        cdef Item* h = <Item*>realloc(self.heap, 2 * self.heap_cap * sizeof(Item))
        if h == NULL:
            return -1
        self.heap = h
        self.heap_cap *= 2
        return 0

    cdef int _reserve_out(self, int64_t need) noexcept nogil:
        cdef int64_t cap = self.out_cap
        if need <= cap:
            return 0
        while cap < need:
            cap *= 2
        cdef int64_t* t = <int64_t*>realloc(self.out_t, cap * sizeof(int64_t))
        if t == NULL:
            return -1
        self.out_t = t
        cdef double* d = <double*>realloc(self.out_d, cap * sizeof(double))
        if d == NULL:
            return -1
        self.out_d = d
        self.out_cap = cap
        return 0

    cdef int64_t _search(self, int64_t s, double cutoff) noexcept nogil:
        """Search from source ``s``; fills ``hits`` with the targets given a time (in ``best``)
        and returns their count (-1: out of memory)."""
        cdef const int64_t* ip = self.plan.ip
        cdef const int32_t* ix = self.plan.ix
        cdef const double* w = self.plan.w
        cdef const int64_t* eptr = self.plan.eptr
        cdef const int64_t* etarget = self.plan.etarget
        cdef const double* ecost = self.plan.ecost
        cdef const int64_t* sptr = self.plan.sptr
        cdef const int64_t* snode = self.plan.snode
        cdef const double* scost = self.plan.scost
        cdef const int64_t* dptr = self.plan.dptr
        cdef const int64_t* dtarget = self.plan.dtarget
        cdef const double* dtime = self.plan.dtime
        cdef double* dist = self.dist
        cdef double* best = self.best
        cdef int32_t* touched = self.touched
        cdef int64_t* hits = self.hits
        cdef Item* heap = self.heap
        cdef int64_t size = 0, n_touched = 0, nh = 0, settled = 0, k, k_end, t
        cdef int64_t n_entry_nodes = self.plan.n_entry_nodes
        cdef int32_t u, v
        cdef double du, nd, c
        for k in range(dptr[s], dptr[s + 1]):
            t = dtarget[k]
            c = dtime[k]
            if c < best[t]:
                if best[t] == INFINITY:
                    hits[nh] = t
                    nh += 1
                best[t] = c
        for k in range(sptr[s], sptr[s + 1]):
            u = <int32_t>snode[k]
            c = scost[k]
            if c <= cutoff and c < dist[u]:
                if dist[u] == INFINITY:
                    touched[n_touched] = u
                    n_touched += 1
                dist[u] = c
                if size == self.heap_cap:
                    if self._grow_heap() != 0:
                        self.n_touched = n_touched
                        return -1
                    heap = self.heap
                _hpush(heap, &size, c, u)
        while size > 0:
            du = heap[0].key
            u = heap[0].node
            _hpop(heap, &size)
            if du > dist[u]:
                continue  # stale: the node was reached more cheaply since
            k = eptr[u]
            k_end = eptr[u + 1]
            if k_end > k:
                while k < k_end:
                    t = etarget[k]
                    c = du + ecost[k]
                    if c < best[t]:
                        if best[t] == INFINITY:
                            hits[nh] = t
                            nh += 1
                        best[t] = c
                    k += 1
                settled += 1
                if settled == n_entry_nodes:
                    break
            k_end = ip[u + 1]
            for k in range(ip[u], k_end):
                v = ix[k]
                nd = du + w[k]
                if nd < dist[v] and nd <= cutoff:
                    if dist[v] == INFINITY:
                        touched[n_touched] = v
                        n_touched += 1
                    dist[v] = nd
                    if size == self.heap_cap:
                        if self._grow_heap() != 0:
                            self.n_touched = n_touched
                            return -1
                        heap = self.heap
                    _hpush(heap, &size, nd, v)
        self.n_touched = n_touched
        return nh

    cdef int64_t _emit(self, int64_t nh, int64_t n_out, double cutoff) noexcept nogil:
        """Append the targets of the last search within ``cutoff`` to the output, in target
        order, and reset them; returns the new output length."""
        cdef int64_t j, t
        cdef int64_t n_targets = self.plan.n_targets
        cdef double c
        if nh * 16 > n_targets:
            # many targets reached: mark them and read them off in target order
            for j in range(nh):
                self.mark[self.hits[j]] = 1
            for t in range(n_targets):
                if self.mark[t]:
                    self.mark[t] = 0
                    c = self.best[t]
                    self.best[t] = INFINITY
                    if c <= cutoff:
                        self.out_t[n_out] = t
                        self.out_d[n_out] = c
                        n_out += 1
        else:
            _sort_int64(self.hits, nh)
            for j in range(nh):
                t = self.hits[j]
                c = self.best[t]
                self.best[t] = INFINITY
                if c <= cutoff:
                    self.out_t[n_out] = t
                    self.out_d[n_out] = c
                    n_out += 1
        return n_out

    cdef void _reset(self) noexcept nogil:
        cdef int64_t i
        for i in range(self.n_touched):
            self.dist[self.touched[i]] = INFINITY
        self.n_touched = 0

    def run(self, sources, double cutoff=INFINITY):
        """Search from each source (positions in the plan's sources) up to ``cutoff``.

        Returns
        -------
        count : ndarray of int64
            Targets within the cutoff of each source.
        target : ndarray of int64
            Their positions, source by source, ascending within a source.
        time : ndarray of float64
            Their times.
        """
        src_arr = _checked(sources, np.int64, "sources")
        _in_range(src_arr, 0, self.plan.n_sources, "source")
        if not (cutoff >= 0):
            raise ValueError(f"cutoff must be non-negative, got {cutoff}")
        cdef const int64_t* src = _i64(src_arr)
        cdef int64_t n_src = src_arr.shape[0]
        cdef int64_t i, nh, before, n_out = 0
        cdef int failed = 0
        count_arr = np.zeros(n_src, dtype=np.int64)
        cdef int64_t[::1] count = count_arr
        with nogil:
            for i in range(n_src):
                nh = self._search(src[i], cutoff)
                self._reset()
                if nh < 0 or self._reserve_out(n_out + nh) != 0:
                    failed = 1
                    break
                before = n_out
                n_out = self._emit(nh, n_out, cutoff)
                count[i] = n_out - before
        if failed:
            for i in range(self.plan.n_targets):
                self.best[i] = INFINITY
            raise MemoryError("out of memory in a table search")
        target_arr = np.empty(n_out, dtype=np.int64)
        time_arr = np.empty(n_out, dtype=np.float64)
        cdef int64_t[::1] tv = target_arr
        cdef double[::1] dv = time_arr
        if n_out:
            memcpy(&tv[0], self.out_t, n_out * sizeof(int64_t))
            memcpy(&dv[0], self.out_d, n_out * sizeof(double))
        return count_arr, target_arr, time_arr
