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
        ref_t, ref_which, _ = graph.nearest(dest_nodes[valid], origin_nodes)
        np.testing.assert_allclose(t_s, ref_t, rtol=1e-12, atol=1e-9)
        assert ((which >= 0) == np.isfinite(ref_t)).all()
        # the chosen destination is at the minimum time (ties may pick another one)
        full = graph.long_table(dest_nodes[valid], origin_nodes, reverse=True)
        table = {(int(o), int(valid[d])): tt for d, o, tt in zip(*full, strict=True)}
        for i in np.flatnonzero(which >= 0)[::25]:
            assert table[(int(i), int(which[i]))] == pytest.approx(t_s[i], abs=1e-9)


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
