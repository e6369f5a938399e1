# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled kernels for re-routing after a few arc weights change (dynamic shortest paths).

A nearest-destination pass (:func:`territorial_gis._shortest.nearest_seed`) gives every node its
time to the nearest destination and a shortest-path forest (``pred``: the next node towards the
destination). When a few arcs change, only part of that answer moves:

* an arc gets *slower* (closed): only the nodes whose tree path crosses it can get farther. They
  are the subtree of the arc's tail in the forest, a contiguous run of the forest's preorder
  (:func:`tree_order`); everything else keeps its time. Their new times come from one search
  confined to them, seeded from their arcs to the unaffected rest of the graph.
* an arc gets *faster* (upgraded, built): only nodes that can now do better move; a search from
  the arc's tail that keeps only strict improvements over the current times stops where the
  improvement ends.

:class:`Rerouter` runs both kinds of search: Dijkstra from seeds with initial costs, where a
node accepts a label only when it beats its *bound* (the current time, or +inf for a node whose
time must be recomputed). It keeps its work arrays between calls (marked by a call stamp, never
cleared in full), so a search costs time in proportion to the nodes it settles, not to the size
of the graph.
"""

import numpy as np

from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t, uint32_t

from territorial_gis._heap cimport _pop, _push


def tree_order(pred, int64_t n_nodes):
    """Preorder of the forest given by ``pred`` (each node's parent, -1 for a root).

    Returns
    -------
    order : ndarray of int64
        The nodes in depth-first preorder, root by root.
    pos : ndarray of int64
        Position of each node in ``order``.
    size : ndarray of int64
        Nodes in each node's subtree, itself included: the subtree of ``x`` is
        ``order[pos[x]:pos[x] + size[x]]``.

    Raises
    ------
    ValueError
        When ``pred`` holds a cycle or a parent out of range.
    """
    cdef const int64_t[::1] par = np.ascontiguousarray(pred, dtype=np.int64)
    if par.shape[0] != n_nodes:
        raise ValueError("pred must have one entry per node")
    cdef int64_t i, p, k, top, node, c
    for i in range(n_nodes):
        if par[i] < -1 or par[i] >= n_nodes:
            raise ValueError(f"parent {par[i]} of node {i} out of range")
    # children of every node, in a CSR (counting sort by parent)
    cstart_arr = np.zeros(n_nodes + 1, dtype=np.int64)
    cdef int64_t[::1] cstart = cstart_arr
    for i in range(n_nodes):
        if par[i] >= 0:
            cstart[par[i] + 1] += 1
    for i in range(n_nodes):
        cstart[i + 1] += cstart[i]
    child_arr = np.empty(max(cstart[n_nodes], 1), dtype=np.int64)
    fill_arr = cstart_arr[:n_nodes].copy()
    cdef int64_t[::1] child = child_arr
    cdef int64_t[::1] fill = fill_arr
    for i in range(n_nodes):
        p = par[i]
        if p >= 0:
            child[fill[p]] = i
            fill[p] += 1
    order_arr = np.empty(n_nodes, dtype=np.int64)
    pos_arr = np.full(n_nodes, -1, dtype=np.int64)
    size_arr = np.ones(n_nodes, dtype=np.int64)
    stack_arr = np.empty(n_nodes + 1, dtype=np.int64)
    cdef int64_t[::1] order = order_arr
    cdef int64_t[::1] pos = pos_arr
    cdef int64_t[::1] size = size_arr
    cdef int64_t[::1] stack = stack_arr
    cdef int64_t n_out = 0
    with nogil:
        for i in range(n_nodes):
            if par[i] != -1:
                continue
            top = 0
            stack[top] = i
            top = 1
            while top > 0:
                top -= 1
                node = stack[top]
                pos[node] = n_out
                order[n_out] = node
                n_out += 1
                # children pushed in reverse so they come out in their stored order
                k = cstart[node + 1] - 1
                while k >= cstart[node]:
                    stack[top] = child[k]
                    top += 1
                    k -= 1
    if n_out != n_nodes:
        raise ValueError("pred holds a cycle: not a forest")
    with nogil:
        for k in range(n_nodes - 1, -1, -1):
            node = order[k]
            p = par[node]
            if p >= 0:
                size[p] += size[node]
    return order_arr, pos_arr, size_arr


cdef class Rerouter:
    """Bounded Dijkstra searches over one CSR graph whose weights the caller may change in place.

    Parameters
    ----------
    indptr, indices
        CSR structure (int64 / int32).
    data
        Arc weights in CSR order: a float64 C-contiguous array that the caller keeps and edits
        in place between searches (closing an arc = setting +inf). It is not copied.
    """

    cdef readonly int64_t n_nodes
    cdef object _indptr, _indices, _data
    cdef const int64_t[::1] ip
    cdef const int32_t[::1] ix
    cdef const double[::1] w
    cdef double[::1] tent
    cdef int64_t[::1] lab
    cdef uint32_t[::1] seen
    cdef uint32_t[::1] done
    cdef uint32_t stamp
    cdef double[::1] hk
    cdef int64_t[::1] hv
    cdef int64_t[::1] out_node
    cdef object _hk, _hv

    def __init__(self, indptr, indices, data):
        self._indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        self._indices = np.ascontiguousarray(indices, dtype=np.int32)
        if not (isinstance(data, np.ndarray) and data.dtype == np.float64 and data.flags.c_contiguous):
            raise ValueError("data must be a C-contiguous float64 array (it is shared, not copied)")
        self._data = data
        self.ip = self._indptr
        self.ix = self._indices
        self.w = data
        self.n_nodes = self._indptr.shape[0] - 1
        if self.ix.shape[0] != self.w.shape[0] or self.ip[self.n_nodes] != self.ix.shape[0]:
            raise ValueError("indices, data and indptr disagree")
        n = self.n_nodes
        self.tent = np.full(n, np.inf)
        self.lab = np.full(n, -1, dtype=np.int64)
        self.seen = np.zeros(n, dtype=np.uint32)
        self.done = np.zeros(n, dtype=np.uint32)
        self.out_node = np.empty(max(n, 1), dtype=np.int64)
        self.stamp = 0
        self._grow(self.ix.shape[0] + 16)

    def _grow(self, int64_t cap):
        self._hk = np.empty(cap, dtype=np.float64)
        self._hv = np.empty(cap, dtype=np.int64)
        self.hk = self._hk
        self.hv = self._hv

    def search(self, bound, seed_node, seed_cost, seed_label, double limit=INFINITY, int64_t target=-1,
               double tol=0.0):
        """Dijkstra from seeds over the graph, keeping only labels that beat ``bound``.

        A node accepts a cost ``c`` (from a seed or a relaxed arc) only when
        ``c < bound[node] - tol``, ``c <= limit`` and ``c`` beats what this search gave it so far.
        Arcs of weight +inf are never crossed.

        Parameters
        ----------
        bound
            float64 array of one value per node (the current times; +inf where a node's time
            is being recomputed).
        seed_node, seed_cost, seed_label
            The seeds: node, initial cost, and the label passed on to the nodes reached from it.
        limit
            Costs above this are dropped (a bounded search).
        target
            Stop as soon as this node is settled (-1: search until the heap is empty).
        tol
            Strictness of the improvement test (seconds).

        Returns
        -------
        nodes, cost, label : ndarrays
            Every node settled by the search (each once), its cost and label.
        """
        cdef const double[::1] b = np.ascontiguousarray(bound, dtype=np.float64)
        cdef const int64_t[::1] sn = np.ascontiguousarray(seed_node, dtype=np.int64)
        cdef const double[::1] sc = np.ascontiguousarray(seed_cost, dtype=np.float64)
        cdef const int64_t[::1] sl = np.ascontiguousarray(seed_label, dtype=np.int64)
        cdef int64_t n_seeds = sn.shape[0]
        cdef int64_t n = self.n_nodes
        if b.shape[0] != n:
            raise ValueError("bound must have one value per node")
        if sc.shape[0] != n_seeds or sl.shape[0] != n_seeds:
            raise ValueError("seed arrays differ in length")
        cdef int64_t s
        for s in range(n_seeds):
            if sn[s] < 0 or sn[s] >= n:
                raise ValueError(f"seed node {sn[s]} out of range")
            if not (sc[s] >= 0):
                raise ValueError(f"seed cost must be non-negative, got {sc[s]}")
        cdef int64_t need = self.ix.shape[0] + n_seeds + 1
        if self.hk.shape[0] < need:
            self._grow(need)
        if self.stamp == 0xFFFFFFFF:
            self.seen[:] = 0
            self.done[:] = 0
            self.stamp = 0
        self.stamp += 1
        cdef uint32_t st = self.stamp
        cdef double* hk = &self.hk[0]
        cdef int64_t* hv = &self.hv[0]
        cdef int64_t size = 0
        cdef int64_t n_out = 0
        cdef int64_t u, v, k
        cdef double c, du, nd
        with nogil:
            for s in range(n_seeds):
                u = sn[s]
                c = sc[s]
                if c > limit or not (c < b[u] - tol):
                    continue
                if self.seen[u] == st and not (c < self.tent[u]):
                    continue
                self.seen[u] = st
                self.tent[u] = c
                self.lab[u] = sl[s]
                _push(hk, hv, &size, c, u)
            while size > 0:
                du = hk[0]
                u = hv[0]
                _pop(hk, hv, &size)
                if self.done[u] == st or du > self.tent[u]:
                    continue
                self.done[u] = st
                self.out_node[n_out] = u
                n_out += 1
                if u == target:
                    break
                for k in range(self.ip[u], self.ip[u + 1]):
                    v = self.ix[k]
                    nd = du + self.w[k]
                    if nd > limit or not (nd < b[v] - tol):
                        continue
                    if self.seen[v] == st and not (nd < self.tent[v]):
                        continue
                    self.seen[v] = st
                    self.tent[v] = nd
                    self.lab[v] = self.lab[u]
                    _push(hk, hv, &size, nd, v)
        nodes = np.asarray(self.out_node[:n_out]).copy()
        tent = np.asarray(self.tent)
        lab = np.asarray(self.lab)
        return nodes, tent[nodes], lab[nodes]
