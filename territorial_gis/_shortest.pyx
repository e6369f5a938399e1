# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled multi-source shortest paths over a CSR graph (binary heap, lazy deletion).

One pass answers "which seed is nearest to every node, and how far": each seed is a node with
an initial cost (a destination partway along an edge starts at the edge's end node with the
cost of the part of the edge still to travel), and every node inherits the label of the seed
its shortest path starts from. This is Dijkstra's algorithm with a binary heap; unlike
``scipy.sparse.csgraph.dijkstra(min_only=True)`` it takes initial costs and returns labels
directly, so no virtual node per destination is needed.
"""

import numpy as np

from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t



cdef inline void _push(double* hk, int64_t* hv, int64_t* size, double key, int64_t val) noexcept nogil:
    cdef int64_t i = size[0]
    cdef int64_t parent
    size[0] += 1
    while i > 0:
        parent = (i - 1) >> 1
        if hk[parent] <= key:
            break
        hk[i] = hk[parent]
        hv[i] = hv[parent]
        i = parent
    hk[i] = key
    hv[i] = val


cdef inline void _pop(double* hk, int64_t* hv, int64_t* size) noexcept nogil:
    """Remove the root (the caller read it first)."""
    cdef int64_t n = size[0] - 1
    cdef double key = hk[n]
    cdef int64_t val = hv[n]
    cdef int64_t i = 0
    cdef int64_t child
    size[0] = n
    if n == 0:
        return
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and hk[child + 1] < hk[child]:
            child += 1
        if hk[child] >= key:
            break
        hk[i] = hk[child]
        hv[i] = hv[child]
        i = child
    hk[i] = key
    hv[i] = val


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
