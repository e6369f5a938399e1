"""Re-routing after a few roads change: the machinery criticality and appraisal share.

* :class:`ArcGraph`: the arcs of an augmented graph (:class:`~territorial_gis._engine.AugmentedGraph`:
  network nodes plus snapped places) with weights derived from a *network state*, a travel time
  per directed edge in seconds (+inf closes an edge). A scenario, a failed stretch, an upgrade
  or a perturbed speed model is just another state; the graph structure never changes, so a
  change touches only the arcs of the edges it concerns. Appraisal adds arcs of new roads
  (``extra`` arcs, closed until built).
* :class:`TierTree`: one compiled nearest-destination pass per tier
  (:func:`territorial_gis._shortest.nearest_seed`) with its shortest-path forest in preorder
  (:func:`territorial_gis._dynsp.tree_order`), so the nodes whose best path crosses an arc are
  one contiguous run of that order.
* :func:`reroute_increase` / :func:`reroute_decrease`: new times after arcs got slower (a
  failure) or faster (an upgrade), by one bounded search of :class:`territorial_gis._dynsp.Rerouter`
  over only the nodes that can change (see that module), never a full recomputation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._arrays import concat_ranges, unique_values
from ._routing import ids_of
from .columns import LOCALITY_ID_CANDIDATES
from .errors import ColumnError, RoutingError

if TYPE_CHECKING:
    import geopandas as gpd

    from ._dynsp import Rerouter
    from ._engine import AugmentedGraph
    from ._routing import RouteOptions
    from .network import RoadNetwork

#: improvements or losses smaller than this (seconds) are rounding, not change
TOL_S = 1e-9
EDGE_LEG = -1
EDGE_EXTRA = -2


def edge_times(network: RoadNetwork, weight: str | np.ndarray = "travel_time_s") -> np.ndarray:
    """The network state as seconds per directed edge: a column of ``network.edges`` or an array
    (one value per edge, +inf for a closed road, e.g. a scenario's travel times)."""
    if isinstance(weight, str):
        if weight not in network.edges:
            raise ColumnError(f"the network has no edge column '{weight}'; columns: "
                              f"{', '.join(map(str, network.edges.columns))}")
        w = network.edges[weight].to_numpy(dtype=np.float64).copy()
    else:
        w = np.array(weight, dtype=np.float64)
        if w.shape != (network.n_edges,):
            raise RoutingError(f"edge travel times must have one value per directed edge "
                               f"({network.n_edges}), got shape {w.shape}")
    if np.isnan(w).any() or (w < 0).any():
        raise RoutingError("edge travel times must be non-negative numbers (+inf closes a road)")
    return w


class ArcGraph:
    """Arcs of an augmented graph, their weights under a network state, and both CSR orders.

    Arcs ``0 .. graph_arcs - 1`` are the augmented graph's: *base* arcs between two network
    nodes (the fastest of the parallel edges between them), *split* arcs (part of an edge, to or
    from a snapped place) and *legs* (off-road walk, or free links at road ends). ``extra``
    arcs (new roads of appraisal) follow, between existing nodes and ``extra_nodes`` new ones.
    ``weight`` is the current weight of every arc; ``rev_data`` the same in reversed-CSR order,
    shared with the compiled :class:`~territorial_gis._dynsp.Rerouter` (edit through
    :meth:`assign` only, which keeps both in step).
    """

    def __init__(self, graph: AugmentedGraph, *, extra_nodes: int = 0,
                 extra_tail: np.ndarray | None = None, extra_head: np.ndarray | None = None) -> None:
        net = graph.net
        self.graph = graph
        self.network = net
        self.n_graph_nodes = graph.n_nodes
        self.n_nodes = graph.n_nodes + int(extra_nodes)
        et = np.asarray(extra_tail if extra_tail is not None else [], dtype=np.int64)
        eh = np.asarray(extra_head if extra_head is not None else [], dtype=np.int64)
        self.n_graph_arcs = len(graph.arc_rows)
        self.tail = np.concatenate([graph.arc_rows.astype(np.int64), et])
        self.head = np.concatenate([graph.arc_cols.astype(np.int64), eh])
        self.n_arcs = len(self.tail)
        if len(et) and (max(et.max(), eh.max()) >= self.n_nodes or min(et.min(), eh.min()) < 0):
            raise RoutingError("internal error: extra arcs point outside the graph")
        self.edge = np.concatenate([graph.arc_edge.astype(np.int64), np.full(len(et), EDGE_EXTRA)])
        self.frac = np.concatenate([graph.arc_f1 - graph.arc_f0, np.zeros(len(et))])
        self.leg_s = np.where(self.edge == EDGE_LEG, np.concatenate([graph.arc_time, np.zeros(len(et))]), 0.0)
        n0 = net.n_nodes
        self.is_base = (self.edge >= 0) & (self.tail < n0) & (self.head < n0)
        self._parallel_groups(net)
        self._edge_dependents(net)
        # reversed CSR (row = arc head): the nearest-destination passes run on it
        self.rev_arc = np.lexsort((self.tail, self.head))
        self.rev_indptr = np.concatenate([[0], np.cumsum(np.bincount(self.head, minlength=self.n_nodes))])
        self.rev_indices = self.tail[self.rev_arc].astype(np.int32)
        self.rev_pos = np.empty(self.n_arcs, dtype=np.int64)
        self.rev_pos[self.rev_arc] = np.arange(self.n_arcs)
        # forward CSR by arc tail (arc ids), to find a node set's way out
        self.fwd_arc = np.argsort(self.tail, kind="stable")
        self.fwd_indptr = np.concatenate([[0], np.cumsum(np.bincount(self.tail, minlength=self.n_nodes))])
        self.weight = np.full(self.n_arcs, np.inf)
        self.rev_data = np.full(self.n_arcs, np.inf)
        self._rerouter: Rerouter | None = None
        self._mask = np.zeros(self.n_nodes, dtype=bool)

    # ------------------------------------------------------------------ structure
    def _parallel_groups(self, net: RoadNetwork) -> None:
        """For every base arc, the network edges between its two nodes (its weight is their minimum)."""
        u = net.edge_u.astype(np.int64)
        v = net.edge_v.astype(np.int64)
        n0 = net.n_nodes
        ok = np.flatnonzero(u != v)
        key = u[ok] * n0 + v[ok]
        order = np.argsort(key, kind="stable")
        self.par_edges = ok[order]
        par_keys = key[order]
        base = np.flatnonzero(self.is_base)
        bkey = self.tail[base] * n0 + self.head[base]
        lo = np.searchsorted(par_keys, bkey, side="left")
        hi = np.searchsorted(par_keys, bkey, side="right")
        if len(base) and ((hi - lo) < 1).any():
            raise RoutingError("internal error: a base arc has no network edge")
        self.par_start = np.full(self.n_arcs, -1, dtype=np.int64)
        self.par_count = np.zeros(self.n_arcs, dtype=np.int64)
        self.par_start[base] = lo
        self.par_count[base] = hi - lo

    def _edge_dependents(self, net: RoadNetwork) -> None:
        """CSR edge -> arcs whose weight depends on that edge."""
        base = np.flatnonzero(self.is_base)
        b_edges = self.par_edges[concat_ranges(self.par_start[base], self.par_count[base])]
        b_arcs = np.repeat(base, self.par_count[base])
        split = np.flatnonzero((self.edge >= 0) & ~self.is_base)
        e = np.concatenate([b_edges, self.edge[split]])
        a = np.concatenate([b_arcs, split])
        order = np.argsort(e, kind="stable")
        self.dep_arc = a[order]
        self.dep_indptr = np.concatenate([[0], np.cumsum(np.bincount(e, minlength=net.n_edges))])

    def arcs_of_edges(self, edges: np.ndarray) -> np.ndarray:
        """The arcs whose weight depends on any of ``edges`` (directed edge rows), unique."""
        edges = np.asarray(edges, dtype=np.int64)
        lo = self.dep_indptr[edges]
        cnt = self.dep_indptr[edges + 1] - lo
        return unique_values(self.dep_arc[concat_ranges(lo, cnt)])

    # ------------------------------------------------------------------ weights
    def weights(self, edge_time_s: np.ndarray, *, walk_factor: float = 1.0, extra_s: np.ndarray | None = None,
                arcs: np.ndarray | None = None) -> np.ndarray:
        """Arc weights (seconds) under a network state.

        Parameters
        ----------
        edge_time_s
            Seconds per directed edge (+inf: closed).
        walk_factor
            Multiplies the off-road legs (a slower walk is a factor above 1).
        extra_s
            Weights of the extra arcs (default: +inf, i.e. not built).
        arcs
            Compute only these arcs (default: all), in that order.
        """
        a = np.arange(self.n_arcs) if arcs is None else np.asarray(arcs, dtype=np.int64)
        out = np.empty(len(a))
        e = self.edge[a]
        base = self.is_base[a]
        if base.any():
            ba = a[base]
            cnt = self.par_count[ba]
            vals = edge_time_s[self.par_edges[concat_ranges(self.par_start[ba], cnt)]]
            out[base] = np.minimum.reduceat(vals, np.cumsum(cnt) - cnt) if len(vals) else np.empty(0)
        split = (e >= 0) & ~base
        with np.errstate(invalid="ignore"):
            out[split] = self.frac[a[split]] * edge_time_s[e[split]]
        out[split & np.isnan(out)] = np.inf  # a zero-length piece of a closed edge
        leg = e == EDGE_LEG
        out[leg] = self.leg_s[a[leg]] * walk_factor
        extra = e == EDGE_EXTRA
        if extra.any():
            out[extra] = np.inf if extra_s is None else np.asarray(extra_s)[a[extra] - self.n_graph_arcs]
        return out

    def set_weights(self, w: np.ndarray) -> None:
        """Replace every arc weight."""
        self.weight[:] = w
        self.rev_data[:] = self.weight[self.rev_arc]

    def assign(self, arcs: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Set the weights of ``arcs``; returns their previous weights (to restore with ``assign``)."""
        old = self.weight[arcs].copy()
        self.weight[arcs] = w
        self.rev_data[self.rev_pos[arcs]] = w
        return old

    @property
    def rerouter(self) -> Rerouter:
        """The compiled bounded-search engine over the reversed arcs (created on first use)."""
        if self._rerouter is None:
            from ._dynsp import Rerouter

            self._rerouter = Rerouter(self.rev_indptr, self.rev_indices, self.rev_data)
        return self._rerouter

    def nearest(self, seed_nodes: np.ndarray, *, predecessors: bool = False
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """One compiled multi-source pass from ``seed_nodes`` (cost 0) over the reversed arcs:
        every node's time to the nearest seed, that seed's position, and optionally the next
        node on the way (the shortest-path forest)."""
        from ._shortest import nearest_seed

        seeds = np.asarray(seed_nodes, dtype=np.int64)
        return nearest_seed(self.rev_indptr, self.rev_indices, self.rev_data, self.n_nodes, seeds,
                            np.zeros(len(seeds)), predecessors=predecessors)


@dataclass
class TierTree:
    """A tier's nearest-destination pass with its shortest-path forest in preorder."""

    seeds: np.ndarray
    dist: np.ndarray
    label: np.ndarray
    pred: np.ndarray
    order: np.ndarray
    pos: np.ndarray
    size: np.ndarray

    @classmethod
    def build(cls, ag: ArcGraph, seeds: np.ndarray) -> TierTree:
        """One pass from ``seeds`` over ``ag`` as it stands, and the preorder of its forest."""
        from ._dynsp import tree_order

        dist, label, pred = ag.nearest(seeds, predecessors=True)
        assert pred is not None
        order, pos, size = tree_order(pred, ag.n_nodes)
        return cls(np.asarray(seeds, dtype=np.int64), dist, label, pred, order, pos, size)

    def subtrees(self, ag: ArcGraph, arcs: np.ndarray, new_w: np.ndarray, old_w: np.ndarray) -> np.ndarray:
        """Nodes whose tree path crosses an arc of ``arcs`` that got slower: the only nodes whose
        time can grow. Preorder positions of the union of the subtrees, sorted."""
        tails = ag.tail[arcs]
        up = (new_w > old_w) & (self.pred[tails] == ag.head[arcs]) & np.isfinite(self.dist[tails])
        if not up.any():
            return np.empty(0, dtype=np.int64)
        roots = tails[up]
        start = self.pos[roots]
        end = start + self.size[roots]
        o = np.argsort(start, kind="stable")
        start, end = start[o], end[o]
        # subtrees are nested or disjoint: keep those not inside an earlier one
        keep = np.ones(len(start), dtype=bool)
        if len(start) > 1:
            keep[1:] = start[1:] >= np.maximum.accumulate(end)[:-1]
        start, end = start[keep], end[keep]
        return concat_ranges(start, end - start)


def reroute_increase(ag: ArcGraph, tree: TierTree, region: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """New times of the nodes of ``region`` (preorder positions from :meth:`TierTree.subtrees`)
    after their arcs got slower (already assigned on ``ag``).

    Every node outside the region keeps its time. Each region node is seeded with its best way
    out of the region (an arc to an outside node plus that node's time) and one search confined
    to the region (outside nodes cannot improve) settles them all.

    Returns
    -------
    nodes, time_s, label
        The region nodes (all of them), their new time (+inf: cut off) and nearest seed (-1).
    """
    nodes = tree.order[region]
    mask = ag._mask
    mask[nodes] = True
    try:
        lo = ag.fwd_indptr[nodes]
        cnt = ag.fwd_indptr[nodes + 1] - lo
        arcs = ag.fwd_arc[concat_ranges(lo, cnt)]
        head = ag.head[arcs]
        out = ~mask[head]
        arcs, head = arcs[out], head[out]
        cost = ag.weight[arcs] + tree.dist[head]
        fin = np.isfinite(cost)
        bound = tree.dist
        saved = bound[nodes].copy()
        bound[nodes] = np.inf
        try:
            got, t, lab = ag.rerouter.search(bound, ag.tail[arcs[fin]], cost[fin], tree.label[head[fin]], tol=TOL_S)
        finally:
            bound[nodes] = saved
    finally:
        mask[nodes] = False
    time = np.full(len(nodes), np.inf)
    label = np.full(len(nodes), -1, dtype=np.int64)
    where = np.full(ag.n_nodes, -1, dtype=np.int64)
    where[nodes] = np.arange(len(nodes))
    k = where[got]
    if (k < 0).any():
        raise RoutingError("internal error: a confined search left its region")
    time[k] = t
    label[k] = lab
    return nodes, time, label


def reroute_decrease(ag: ArcGraph, dist: np.ndarray, label: np.ndarray, arcs: np.ndarray,
                     old_w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nodes whose time drops after ``arcs`` got faster (already assigned on ``ag``; ``old_w``
    their previous weights), their new time and nearest seed. ``dist``/``label`` are the
    times before the change (not modified)."""
    new_w = ag.weight[arcs]
    faster = new_w < old_w
    a = arcs[faster]
    if not len(a):
        return np.empty(0, dtype=np.int64), np.empty(0), np.empty(0, dtype=np.int64)
    t, h = ag.tail[a], ag.head[a]
    cost = ag.weight[a] + dist[h]
    better = cost < dist[t] - TOL_S
    if not better.any():
        return np.empty(0, dtype=np.int64), np.empty(0), np.empty(0, dtype=np.int64)
    return ag.rerouter.search(dist, t[better], cost[better], label[h[better]], tol=TOL_S)


# ---------------------------------------------------------------------------- routing set-up
#: identifier columns looked for on the localities, in order


@dataclass
class RoutingSetup:
    """Localities and destination tiers snapped onto one augmented graph, with the state routed on.

    ``origin_nodes[i]`` is locality ``i``'s off-road node (-1: too far from a road);
    ``tier_seeds[tier]`` the off-road nodes of that tier's destinations; ``state_s`` the
    network state (seconds per directed edge, see :func:`edge_times`).
    """

    network: RoadNetwork
    graph: AugmentedGraph
    state_s: np.ndarray
    origin_ids: np.ndarray
    population: np.ndarray
    origin_nodes: np.ndarray
    tier_seeds: dict[str, np.ndarray]

    def origin_index(self, n_nodes: int) -> np.ndarray:
        """Node -> locality position (-1 for every other node), over ``n_nodes`` nodes."""
        out = np.full(n_nodes, -1, dtype=np.int64)
        ok = self.origin_nodes >= 0
        out[self.origin_nodes[ok]] = np.flatnonzero(ok)
        return out


def locality_ids(localities: pd.DataFrame, id_col: str | None) -> np.ndarray:
    """The locality identifiers: ``id_col``, else the first of :data:`LOCALITY_ID_CANDIDATES`, else the index."""
    return ids_of(localities, id_col, LOCALITY_ID_CANDIDATES, "localities").to_numpy()


def population_of(localities: pd.DataFrame, population_col: str) -> np.ndarray:
    """Population as floats, NaN where unknown (all NaN without the column); bad values raise."""
    if population_col not in localities:
        return np.full(len(localities), np.nan)
    raw = localities[population_col]
    pop = pd.to_numeric(raw, errors="coerce")
    if int(pop.isna().sum()) > int(raw.isna().sum()):
        raise ColumnError(f"population column '{population_col}' holds non-numeric values")
    if (pop < 0).any():
        raise ColumnError(f"population column '{population_col}' holds negative values")
    return pop.to_numpy(dtype=float)


def setup_routing(network: RoadNetwork, localities: gpd.GeoDataFrame, tiers: Mapping[str, gpd.GeoDataFrame], *,
                  weight: str | np.ndarray, options: RouteOptions | None, id_col: str | None,
                  population_col: str) -> RoutingSetup:
    """Snap the localities and every tier's destinations and build their augmented graph."""
    from ._routing import options_or_default, prepare_graph

    if len(localities) == 0:
        raise RoutingError("no localities to route from")
    if not tiers:
        raise RoutingError("no destination tier given")
    state = edge_times(network, weight)
    ids = locality_ids(localities, id_col)
    pop = population_of(localities, population_col)
    graph, _osn, tsn = prepare_graph(network, localities, dict(tiers), options_or_default(options))
    seeds = {}
    for k, name in enumerate(tiers, start=1):
        nodes = graph.offroad_node[graph.group(k)]
        if not (nodes >= 0).any():
            raise RoutingError(f"no destination of tier '{name}' is near a road of the network")
        seeds[name] = nodes[nodes >= 0]
    return RoutingSetup(network, graph, state, ids, pop, graph.offroad_node[graph.group(0)].astype(np.int64),
                        seeds)
