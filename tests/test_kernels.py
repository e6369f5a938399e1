"""The compiled kernels of the routing engine against independent computations.

* :func:`territorial_gis._shortest.nearest_seed` (multi-source Dijkstra with initial costs)
  against ``scipy.sparse.csgraph.dijkstra`` on the same graph plus a super-source node whose
  arcs carry the initial costs, on SYNTHETIC random graphs;
* :func:`territorial_gis._snapgrid.nearest_pieces` (grid search) against brute force over
  every piece, on SYNTHETIC random segments, points inside and far outside the grid;
* :func:`territorial_gis._engine.nearest_destinations` (seeds on edges, no augmented graph)
  against the augmented-graph pass on the real Porto Alegre network.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from territorial_gis._engine import AugmentedGraph, nearest_destinations, snap_point_sets
from territorial_gis._shortest import nearest_seed
from territorial_gis._snapgrid import SnapGrid
from territorial_gis.network import RoadNetwork


def random_graph(rng: np.random.Generator, n: int, m: int) -> sparse.csr_matrix:
    r = rng.integers(0, n, m)
    c = rng.integers(0, n, m)
    w = rng.choice([0.0, 1.0, 2.5, 7.0, 30.0], m) * rng.uniform(0.5, 1.5, m)
    keep = r != c
    mat = sparse.coo_matrix((w[keep], (r[keep], c[keep])), shape=(n, n)).tocsr()
    mat.sum_duplicates()
    return mat


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 60), density=st.floats(0.0, 4.0),
       n_seeds=st.integers(1, 8), limit=st.sampled_from([np.inf, 5.0, 20.0]))
def test_nearest_seed_equals_scipy_with_a_super_source(seed: int, n: int, density: float, n_seeds: int,
                                                       limit: float) -> None:
    rng = np.random.default_rng(seed)
    g = random_graph(rng, n, int(density * n))
    seeds = rng.integers(0, n, n_seeds)
    cost = rng.choice([0.0, 0.0, 1.0, 3.3], n_seeds) * rng.uniform(0.5, 1.5, n_seeds)
    dist, label, pred = nearest_seed(g.indptr, g.indices, g.data, n, seeds, cost, limit=limit,
                                     predecessors=True)
    # scipy: node n is a super source with an arc to each seed node of its cheapest initial cost
    # (+1e-300: an explicit arc even at cost 0)
    s_nodes = np.unique(seeds)
    s_cost = np.array([cost[seeds == s].min() for s in s_nodes]) + 1e-300
    coo = g.tocoo()
    big = sparse.csr_matrix((np.concatenate([coo.data, s_cost]),
                             (np.concatenate([coo.row, np.full(len(s_nodes), n)]),
                              np.concatenate([coo.col, s_nodes]))), shape=(n + 1, n + 1))
    ref = dijkstra(big, directed=True, indices=n, limit=limit)[:n]
    np.testing.assert_allclose(dist, ref, rtol=1e-12, atol=1e-12)
    reached = np.isfinite(dist)
    assert (label[~reached] == -1).all() and (pred[~reached] == -1).all()
    # the label is a seed whose cost plus the graph distance from its node gives the time
    from_seed = dijkstra(g, directed=True, indices=np.unique(seeds))
    row_of = {int(s): i for i, s in enumerate(np.unique(seeds))}
    for v in np.flatnonzero(reached):
        s = label[v]
        assert cost[s] + from_seed[row_of[int(seeds[s])], v] == pytest.approx(dist[v], abs=1e-9)
        if pred[v] >= 0:  # predecessors form a shortest-path tree with the same label
            u = pred[v]
            assert label[u] == s
            assert dist[u] + g[u, v] == pytest.approx(dist[v], abs=1e-9)
        else:
            assert seeds[s] == v and cost[s] == pytest.approx(dist[v])


def test_nearest_seed_rejects_bad_input() -> None:
    g = sparse.csr_matrix(np.array([[0, 1.0], [0, 0]]))
    with pytest.raises(ValueError, match="out of range"):
        nearest_seed(g.indptr, g.indices, g.data, 2, np.array([5]), np.array([0.0]))
    with pytest.raises(ValueError, match="non-negative"):
        nearest_seed(g.indptr, g.indices, g.data, 2, np.array([0]), np.array([-1.0]))
    with pytest.raises(ValueError, match="non-negative"):
        nearest_seed(g.indptr, g.indices, -g.data, 2, np.array([0]), np.array([0.0]))
    with pytest.raises(ValueError, match="n_nodes"):
        nearest_seed(g.indptr, g.indices, g.data, 3, np.array([0]), np.array([0.0]))


def test_read_nearest_rejects_inconsistent_entries() -> None:
    from territorial_gis._shortest import read_nearest

    eu, ev, w = np.array([0, 1]), np.array([1, 0]), np.array([10.0, 10.0])
    dist, seed = np.array([0.0, 5.0]), np.array([0, 0])
    args = (eu, ev, w, dist, seed, np.array([0]))
    t, d = read_nearest(np.array([0]), np.array([0]), np.array([0.5]), 1, *args,
                        np.array([0]), np.array([0.75]), np.array([0]), np.array([1.0]))
    # leave to node 1 (5 s of edge + 5 s) or drive on to the destination ahead (2.5 s + 1 s leg)
    assert t.tolist() == [3.5] and d.tolist() == [0]
    with pytest.raises(ValueError, match="sorted"):
        read_nearest(np.array([0]), np.array([0]), np.array([0.5]), 1, *args,
                     np.array([1, 0]), np.array([0.5, 0.5]), np.array([0, 0]), np.array([1.0]))
    with pytest.raises(ValueError, match="out of range"):
        read_nearest(np.array([3]), np.array([0]), np.array([0.5]), 1, *args,
                     np.array([0]), np.array([0.5]), np.array([0]), np.array([1.0]))


def brute_nearest(x: float, y: float, pa: np.ndarray, pb: np.ndarray) -> tuple[float, int]:
    v = pb - pa
    ll = (v * v).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(ll > 0, ((x - pa[:, 0]) * v[:, 0] + (y - pa[:, 1]) * v[:, 1]) / np.where(ll > 0, ll, 1), 0)
    t = np.clip(t, 0, 1)
    d = np.hypot(x - (pa[:, 0] + t * v[:, 0]), y - (pa[:, 1] + t * v[:, 1]))
    return float(d.min()), int(np.argmin(d))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), m=st.integers(1, 80), cell=st.sampled_from([50.0, 120.0, 400.0]),
       max_dist=st.sampled_from([100.0, 2000.0, 1e9]), max_rings=st.sampled_from([0, 2, 8, 10_000]),
       spread=st.sampled_from([3000.0, 300_000.0]))
def test_grid_nearest_piece_equals_brute_force(seed: int, m: int, cell: float, max_dist: float,
                                               max_rings: int, spread: float) -> None:
    rng = np.random.default_rng(seed)
    # pieces in two clusters (a dense town and another one `spread` metres away)
    pa = rng.uniform(0, 3000, (m, 2)) + np.where(rng.random((m, 1)) < 0.5, 0.0, spread)
    pb = pa + rng.uniform(-50, 50, (m, 2)) * rng.choice([0.0, 1.0], (m, 1))  # some zero-length pieces
    grid = SnapGrid(pa, pb, cell)
    assert grid.n_registrations >= m and grid.n_occupied <= grid.n_registrations
    # points inside, on piece ends, and far outside the grid
    px = np.concatenate([rng.uniform(-500, 3500, 40), pa[:5, 0], rng.uniform(-20_000, 20_000, 5)])
    py = np.concatenate([rng.uniform(-500, 3500, 40), pa[:5, 1], rng.uniform(-20_000, 20_000, 5)])
    piece, t, d, exact = grid.nearest(px, py, max_dist, max_rings)
    for i in range(len(px)):
        bd, _ = brute_nearest(px[i], py[i], pa, pb)
        if exact[i]:
            assert d[i] == pytest.approx(bd, abs=1e-9)
            got, _ = brute_nearest(px[i], py[i], pa[piece[i]:piece[i] + 1], pb[piece[i]:piece[i] + 1])
            assert got == pytest.approx(bd, abs=1e-9)
            q = pa[piece[i]] + t[i] * (pb[piece[i]] - pa[piece[i]])
            assert np.hypot(*(q - (px[i], py[i]))) == pytest.approx(bd, abs=1e-9)
        else:  # the search gave up: any piece reported only bounds the answer
            assert d[i] >= bd - 1e-9
            if max_rings >= 10_000:  # (not the ring limit): really farther than max_dist
                assert bd > max_dist


def test_grid_ignores_non_finite_points_and_rejects_bad_pieces() -> None:
    grid = SnapGrid(np.array([[0.0, 0.0]]), np.array([[10.0, 0.0]]), 50.0)
    piece, _t, d, exact = grid.nearest(np.array([np.nan, np.inf, 5.0]), np.array([0.0, 0.0, 3.0]), 100.0)
    assert piece.tolist() == [-1, -1, 0] and exact.tolist() == [False, False, True]
    assert d[2] == pytest.approx(3.0)
    with pytest.raises(ValueError, match="finite"):
        SnapGrid(np.array([[0.0, np.nan]]), np.array([[1.0, 1.0]]), 50.0)
    with pytest.raises(ValueError, match="cell size"):
        SnapGrid(np.array([[0.0, 0.0]]), np.array([[1.0, 1.0]]), 0.0)


def test_snap_index_exact_on_real_network_with_kd_fallback(poa_network: RoadNetwork) -> None:
    """Real data: points near and far from roads (some resolved by the KD-tree fallback) get
    the nearest road piece of a brute-force search."""
    from territorial_gis._engine import snap_index

    idx = snap_index(poa_network)
    rng = np.random.default_rng(3)
    w, s_, e, n = idx.pa[:, 0].min(), idx.pa[:, 1].min(), idx.pa[:, 0].max(), idx.pa[:, 1].max()
    x = np.concatenate([rng.uniform(w, e, 300), rng.uniform(w - 3000, w, 20)])
    y = np.concatenate([rng.uniform(s_, n, 300), rng.uniform(s_, n, 20)])
    _g, _along, d, _on = idx.nearest(x, y, 2000.0)
    _p, _t, _d, exact = idx.grid.nearest(x, y, 2000.0, 8)
    assert (~exact).any() and exact.any()  # both paths are exercised
    for i in range(len(x)):
        bd, _ = brute_nearest(x[i], y[i], idx.pa, idx.pb)
        if bd <= 2000.0:
            assert d[i] == pytest.approx(bd, abs=1e-9)
        else:
            assert bd - 1e-9 <= d[i] <= bd + idx.half + 1e-9


def test_seeds_on_edges_equal_the_augmented_graph(poa_network: RoadNetwork, poa_localities, poa_tiers) -> None:
    """Real data: the seed formulation gives the augmented graph's times, and a nearest
    destination at that time, for every locality and tier."""
    coords = [(poa_localities.geometry.x.to_numpy(), poa_localities.geometry.y.to_numpy())]
    coords += [(d.geometry.x.to_numpy(), d.geometry.y.to_numpy()) for d in poa_tiers.values()]
    snaps = snap_point_sets(poa_network, coords, max_snap_m=2000.0, walk_kph=4.0)
    graph = AugmentedGraph(poa_network, snaps)
    got = nearest_destinations(poa_network, snaps[0], snaps[1:])
    origin_nodes = graph.offroad_node[graph.group(0)]
    for k, (t_s, which) in enumerate(got, start=1):
        dest_nodes = graph.offroad_node[graph.group(k)]
        valid = np.flatnonzero(dest_nodes >= 0)
        ref_t, _ = augmented_nearest(graph, dest_nodes[valid], origin_nodes)
        np.testing.assert_allclose(t_s, ref_t, rtol=1e-12, atol=1e-9)
        assert ((which >= 0) == np.isfinite(ref_t)).all()
        # the chosen destination is at the minimum time (ties may pick another one)
        full = graph.long_table(dest_nodes[valid], origin_nodes, reverse=True)
        table = {(int(o), int(valid[d])): tt for d, o, tt in zip(*full, strict=True)}
        for i in np.flatnonzero(which >= 0)[::25]:
            assert table[(int(i), int(which[i]))] == pytest.approx(t_s[i], abs=1e-9)


def augmented_nearest(graph: AugmentedGraph, dest_nodes: np.ndarray, from_nodes: np.ndarray,
                      limit: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """The nearest destination through the augmented graph itself: a pass over its reversed
    CSR from the destinations' nodes (the reference for the seeded formulations)."""
    rev = graph.reverse
    dist, seed, _ = nearest_seed(rev.indptr, rev.indices, rev.data, graph.n_nodes, dest_nodes,
                                 np.zeros(len(dest_nodes)), limit=limit)
    ok = from_nodes >= 0
    t = np.full(len(from_nodes), np.inf)
    w = np.full(len(from_nodes), -1)
    t[ok], w[ok] = dist[from_nodes[ok]], seed[from_nodes[ok]]
    return t, w


def test_nearest_between_points_equals_the_augmented_graph(poa_network: RoadNetwork, poa_localities) -> None:
    """Real data, as hubs and territories ask: from every locality to the nearest of some of
    them (a locality to itself is 0; one destination listed twice; with and without a limit),
    the seeded pass without the augmented graph gives the augmented graph's times, and a
    destination at that time."""
    xy = (poa_localities.geometry.x.to_numpy(), poa_localities.geometry.y.to_numpy())
    graph = AugmentedGraph(poa_network, snap_point_sets(poa_network, [xy], max_snap_m=2000.0, walk_kph=4.0))
    nodes = graph.offroad_node[graph.group(0)]
    hubs = nodes[nodes >= 0][::40]
    hubs = np.append(hubs, hubs[3])  # listed twice
    for limit in (np.inf, 300.0):
        t, which, _ = graph.nearest(hubs, nodes, limit=limit)
        ref_t, ref_which = augmented_nearest(graph, hubs, nodes, limit=limit)
        np.testing.assert_allclose(t, ref_t, rtol=1e-12, atol=1e-9)
        assert ((which >= 0) == np.isfinite(ref_t)).all()
        at_hub = np.isin(nodes, hubs)
        assert (t[at_hub] == 0).all() and (which[at_hub] == ref_which[at_hub]).all()
        table = {(int(s), int(g)): x for s, g, x in zip(*graph.long_table(hubs, nodes, reverse=True), strict=True)}
        for i in np.flatnonzero(which >= 0)[::20]:
            assert table[(int(which[i]), int(i))] == pytest.approx(t[i], abs=1e-9)
        assert which[nodes == hubs[3]][0] == 3  # the first of a repeated destination


def test_sparse_segment_ids_give_the_same_times(poa_network: RoadNetwork, poa_localities, poa_tiers) -> None:
    """Segment ids far beyond the edge count (a network from another tool) take the sorted-search
    path to a point's directed edges instead of the direct lookup: same answers."""
    edges = poa_network.edges.copy()
    edges["segment"] = edges["segment"] * 1_000_003 + 7
    other = RoadNetwork(poa_network.node_id, poa_network.node_lon, poa_network.node_lat, poa_network.edge_u,
                        poa_network.edge_v, edges, poa_network.edge_geometry, crs=poa_network.crs)
    coords = [(poa_localities.geometry.x.to_numpy()[:300], poa_localities.geometry.y.to_numpy()[:300])]
    coords += [(d.geometry.x.to_numpy(), d.geometry.y.to_numpy()) for d in poa_tiers.values()]

    def nearest_all(net: RoadNetwork) -> list[tuple[np.ndarray, np.ndarray]]:
        snaps = snap_point_sets(net, coords, max_snap_m=2000.0, walk_kph=4.0)
        return nearest_destinations(net, snaps[0], snaps[1:])

    got, ref = nearest_all(other), nearest_all(poa_network)
    from territorial_gis._engine import _base_arrays

    assert "seg_start" in _base_arrays(poa_network, "travel_time_s")
    assert "seg_start" not in _base_arrays(other, "travel_time_s")
    for (t1, w1), (t2, w2) in zip(got, ref, strict=True):
        np.testing.assert_allclose(t1, t2, rtol=0, atol=1e-9)
        assert (w1 == w2).all()


# ---------------------------------------------------------------------- many-to-many tables
def assert_table_sorted(s: np.ndarray, t: np.ndarray) -> None:
    key = s.astype(np.int64) * (int(t.max()) + 1 if len(t) else 1) + t
    assert (np.diff(key) > 0).all()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 50), density=st.floats(0.0, 4.0),
       n_src=st.integers(1, 10), n_tgt=st.integers(1, 12),
       cutoff=st.sampled_from([np.inf, 0.0, 5.0, 20.0]))
def test_node_table_equals_scipy(seed: int, n: int, density: float, n_src: int, n_tgt: int,
                                 cutoff: float) -> None:
    """SYNTHETIC random graphs: the table between nodes (repeated sources, repeated and
    missing targets) is scipy's one-to-all times read at the targets, within the cutoff,
    sorted, and the same bit for bit with 1 and 3 threads."""
    from territorial_gis._engine import node_plan, run_table

    rng = np.random.default_rng(seed)
    g = random_graph(rng, n, int(density * n))
    src = rng.integers(0, n, n_src)
    tgt = rng.integers(-1, n, n_tgt)
    s, t, d = run_table(node_plan(g, src, tgt), cutoff=cutoff, threads=1)
    ref = dijkstra(g, directed=True, indices=src, limit=cutoff)
    expect = {(i, j): ref[i, tgt[j]] for i in range(n_src) for j in range(n_tgt)
              if tgt[j] >= 0 and np.isfinite(ref[i, tgt[j]]) and ref[i, tgt[j]] <= cutoff}
    got = {(int(i), int(j)): float(x) for i, j, x in zip(s, t, d, strict=True)}
    assert got.keys() == expect.keys()
    for k, v in expect.items():
        assert got[k] == pytest.approx(v, rel=1e-12, abs=1e-12)
    assert_table_sorted(s, t)
    s3, t3, d3 = run_table(node_plan(g, src, tgt), cutoff=cutoff, threads=3)
    assert np.array_equal(s, s3) and np.array_equal(t, t3) and np.array_equal(d, d3)


def csr_pointer(key: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(key, kind="stable")
    return np.concatenate([[0], np.cumsum(np.bincount(key, minlength=n))]), order


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 40), density=st.floats(0.0, 4.0),
       n_src=st.integers(1, 6), n_tgt=st.integers(1, 8), cutoff=st.sampled_from([np.inf, 6.0, 25.0]))
def test_table_plan_with_seeds_entries_and_direct_trips(seed: int, n: int, density: float, n_src: int,
                                                        n_tgt: int, cutoff: float) -> None:
    """SYNTHETIC: sources start at several nodes with costs, targets are read at several nodes
    with costs, some pairs have a direct time; each pair's time is the least of them, against
    scipy from a super-source per source."""
    from territorial_gis._engine import run_table
    from territorial_gis._shortest import TablePlan

    rng = np.random.default_rng(seed)
    g = random_graph(rng, n, int(density * n))
    n_seeds = rng.integers(1, 4, n_src)
    seed_src = np.repeat(np.arange(n_src), n_seeds)
    seed_node = rng.integers(0, n, len(seed_src))
    seed_cost = rng.choice([0.0, 1.0, 4.5], len(seed_src)) * rng.uniform(0.5, 1.5, len(seed_src))
    n_entries = rng.integers(0, 4, n_tgt)
    entry_tgt = np.repeat(np.arange(n_tgt), n_entries)
    entry_node = rng.integers(0, n, len(entry_tgt))
    entry_cost = rng.choice([0.0, 2.0, 7.0], len(entry_tgt)) * rng.uniform(0.5, 1.5, len(entry_tgt))
    n_direct = int(rng.integers(0, 6))
    d_src, d_tgt = rng.integers(0, n_src, n_direct), rng.integers(0, n_tgt, n_direct)
    d_time = rng.uniform(0.0, 30.0, n_direct)
    sp, so = csr_pointer(seed_src, n_src)
    ep, eo = csr_pointer(entry_node, n)
    dp, do = csr_pointer(d_src, n_src)
    plan = TablePlan(g.indptr, g.indices, g.data, sp, seed_node[so], seed_cost[so], ep, entry_tgt[eo],
                     entry_cost[eo], n_tgt, dp, d_tgt[do], d_time[do])
    s, t, d = run_table(plan, cutoff=cutoff, threads=2)
    got = {(int(i), int(j)): float(x) for i, j, x in zip(s, t, d, strict=True)}
    coo = g.tocoo()
    expect = {}
    for i in range(n_src):
        mine = seed_src == i
        # super source n: one arc per seed node, of its cheapest seed (+1e-300: kept at cost 0)
        nodes = np.unique(seed_node[mine])
        cost = np.array([seed_cost[mine][seed_node[mine] == v].min() for v in nodes]) + 1e-300
        big = sparse.csr_matrix((np.concatenate([coo.data, cost]),
                                 (np.concatenate([coo.row, np.full(len(nodes), n)]),
                                  np.concatenate([coo.col, nodes]))), shape=(n + 1, n + 1))
        dist = dijkstra(big, directed=True, indices=n)[:n]
        for j in range(n_tgt):
            cands = [dist[entry_node[k]] + entry_cost[k] for k in np.flatnonzero(entry_tgt == j)]
            cands += [d_time[k] for k in np.flatnonzero((d_src == i) & (d_tgt == j))]
            best = min(cands, default=np.inf)
            if np.isfinite(best) and best <= cutoff:
                expect[(i, j)] = best
    assert got.keys() == expect.keys()
    for k, v in expect.items():
        assert got[k] == pytest.approx(v, rel=1e-12, abs=1e-9)
    assert_table_sorted(s, t)


def test_table_plan_rejects_bad_input() -> None:
    from territorial_gis._shortest import TablePlan, TableSearch

    g = sparse.csr_matrix(np.array([[0, 1.0], [0, 0]]))
    one = np.array([0, 1])
    ok = (g.indptr, g.indices, g.data, one, np.array([0]), np.array([0.0]), np.array([0, 1, 1]),
          np.array([0]), np.array([0.0]), 1, np.array([0, 0]), np.empty(0, dtype=np.int64), np.empty(0))
    search = TableSearch(TablePlan(*ok))
    count, target, time = search.run(np.array([0]))
    assert count.tolist() == [1] and target.tolist() == [0] and time.tolist() == [0.0]
    cases = {
        "arc weights must be non-negative": {2: -g.data},
        "seed node out of range": {4: np.array([5])},
        "seed cost must be non-negative": {5: np.array([-1.0])},
        "entry target out of range": {7: np.array([3])},
        "not a valid CSR pointer": {6: np.array([0, 2, 1])},
        "direct_time must be a 1-d array of 1 entries": {10: np.array([0, 1]), 11: np.array([0])},
    }
    for message, change in cases.items():
        args = list(ok)
        for k, v in change.items():
            args[k] = v
        with pytest.raises(ValueError, match=message):
            TablePlan(*args)
    with pytest.raises(ValueError, match="source out of range"):
        search.run(np.array([1]))
    with pytest.raises(ValueError, match="cutoff"):
        search.run(np.array([0]), -1.0)


def table_dict(s: np.ndarray, t: np.ndarray, d: np.ndarray) -> dict[tuple[int, int], float]:
    return {(int(i), int(j)): float(x) for i, j, x in zip(s, t, d, strict=True)}


def test_point_table_equals_scipy_on_the_augmented_graph(poa_network: RoadNetwork, poa_localities,
                                                          poa_pois) -> None:
    """Real data: the table between snapped points, searched on the network from the points'
    roads, equals scipy's searches between their nodes of the augmented graph, both ways and
    with a cutoff. The point sets include 40 localities repeated exactly (points at the same
    spot of a road reach each other by their legs alone) and the sets themselves (a point to
    itself is 0)."""
    from territorial_gis._engine import AugmentedGraph, snap_point_sets

    loc = poa_localities.iloc[::6]
    # (plus a SYNTHETIC point 1 degree west, too far from any road to be snapped)
    a_xy = (np.append(loc.geometry.x.to_numpy(), -52.2), np.append(loc.geometry.y.to_numpy(), -30.05))
    b_xy = (np.concatenate([poa_pois.geometry.x.to_numpy(), a_xy[0][:40]]),
            np.concatenate([poa_pois.geometry.y.to_numpy(), a_xy[1][:40]]))
    graph = AugmentedGraph(poa_network, snap_point_sets(poa_network, [a_xy, b_xy], max_snap_m=2000.0, walk_kph=4.0))
    a = graph.offroad_node[graph.group(0)]
    b = graph.offroad_node[graph.group(1)]
    assert (a < 0).any()  # some points are not snapped (too far from a road)
    for src, tgt in ((a, b), (b, a), (a, a)):
        for reverse in (False, True):
            for cutoff in (np.inf, 420.0):
                s, t, d = graph.long_table(src, tgt, cutoff=cutoff, reverse=reverse, threads=1)
                ok_s, ok_t = np.flatnonzero(src >= 0), np.flatnonzero(tgt >= 0)
                ref = dijkstra(graph.reverse if reverse else graph.forward, directed=True, indices=src[ok_s],
                               limit=cutoff)[:, tgt[ok_t]]
                ii, jj = np.nonzero(np.isfinite(ref) & (ref <= cutoff))
                expect = table_dict(ok_s[ii], ok_t[jj], ref[ii, jj])
                got = table_dict(s, t, d)
                assert got.keys() == expect.keys()
                np.testing.assert_allclose([got[k] for k in expect], list(expect.values()), rtol=1e-12, atol=1e-9)
                assert_table_sorted(s, t)
                if src is tgt:
                    assert all(got[(i, i)] == 0.0 for i in ok_s)
    same_spot = [got_t for got_t in table_dict(*graph.long_table(a[:40], b[15:], reverse=False)).items()
                 if got_t[0][0] == got_t[0][1] and a[got_t[0][0]] >= 0]
    legs = graph.snaps.leg_s
    for (i, _j), tt in same_spot:
        assert tt == pytest.approx(legs[i] + legs[len(a) + 15 + i], abs=1e-9)
    assert len(same_spot) > 30


def test_od_matrix_same_with_one_and_two_threads(poa_network: RoadNetwork, poa_localities, monkeypatch) -> None:
    """Real data, the whole 1,227 x 1,227 table (1.5 million pairs): bit for bit the same with
    one thread and with two."""
    import pandas as pd

    from territorial_gis import settings
    from territorial_gis.access import od_matrix

    tables = []
    for threads in (1, 2):
        monkeypatch.setattr(settings, "threads", threads)
        tables.append(od_matrix(poa_network, poa_localities, poa_localities))
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)
    assert len(tables[0]) > 1_400_000


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 50), density=st.floats(0.0, 4.0),
       n_seeds=st.integers(1, 6), share=st.floats(0.0, 1.0), limit=st.sampled_from([np.inf, 12.0]))
def test_improve_after_lowering_weights_equals_a_new_pass(seed: int, n: int, density: float, n_seeds: int,
                                                          share: float, limit: float) -> None:
    """SYNTHETIC random graphs: lowering some arc weights and updating the old pass from the
    changed arcs gives the times of a new pass over the changed graph, and labels whose seed
    really is at that time."""
    from territorial_gis._shortest import nearest_seed_improve

    rng = np.random.default_rng(seed)
    g = random_graph(rng, n, int(density * n))
    seeds = rng.integers(0, n, n_seeds)
    cost = rng.choice([0.0, 2.0], n_seeds)
    d0, l0, _ = nearest_seed(g.indptr, g.indices, g.data, n, seeds, cost, limit=limit)
    changed = np.flatnonzero(rng.random(g.nnz) < share)
    new = g.data.copy()
    new[changed] *= rng.choice([0.0, 0.3, 0.9], len(changed))
    d1, l1 = nearest_seed_improve(g.indptr, g.indices, new, d0, l0, changed, limit=limit)
    ref, _, _ = nearest_seed(g.indptr, g.indices, new, n, seeds, cost, limit=limit)
    np.testing.assert_allclose(d1, ref, rtol=1e-12, atol=1e-12)
    assert ((l1 >= 0) == np.isfinite(d1)).all()
    g1 = sparse.csr_matrix((new, g.indices, g.indptr), shape=g.shape)
    from_seed = dijkstra(g1, directed=True, indices=seeds)
    for v in np.flatnonzero(np.isfinite(d1)):
        s = l1[v]
        assert cost[s] + from_seed[s, v] == pytest.approx(d1[v], abs=1e-9)
    assert np.isfinite(d0).sum() <= np.isfinite(d1).sum()


def test_trace_paths_follows_the_tree() -> None:
    """SYNTHETIC tree: 4 -> 2 -> 0 (root), 3 -> 0, 1 is a root; -1 starts have no path."""
    from territorial_gis._shortest import trace_paths

    pred = np.array([-1, -1, 0, 0, 2])
    tails, heads, steps = trace_paths(pred, np.array([4, 3, 1, -1, 2]))
    assert steps.tolist() == [2, 1, 0, 0, 1]
    assert tails.tolist() == [4, 2, 3, 2] and heads.tolist() == [2, 0, 0, 0]
    with pytest.raises(ValueError, match="cycle"):
        trace_paths(np.array([1, 0]), np.array([0]))
