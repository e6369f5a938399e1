"""Regionalisation machinery of the microregions stage: who neighbours whom, and PySAL spopt's solvers.

* :func:`polygon_neighbours` - contiguity of area polygons (queen: any shared point within a
  tolerance; rook: a shared border of positive length) from a spatial index, in metres;
* :func:`time_neighbours` - pairs of areas whose head towns are within a travel time of each
  other both ways;
* :func:`travel_time_coordinates` - classical multidimensional scaling of a head-town
  travel-time matrix: coordinates whose distances approximate the times (the dissimilarity
  the solvers minimise when grouping "by travel time");
* :func:`solve_component` - max-p (:class:`spopt.region.MaxPHeuristic`), SKATER
  (:class:`spopt.region.Skater`) or AZP (:class:`spopt.region.AZP`) on one connected group of
  areas, deterministic for a given seed;
* :func:`is_connected` and :func:`within_dissimilarity` - the checks and the objective value.

Nothing here knows about municipalities or localities: plain arrays and neighbour lists.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from .errors import ConfigError

METHODS = ("maxp", "skater", "azp")
#: dimensions kept from the multidimensional scaling of travel times
MDS_DIMENSIONS = 5
#: max-p simulated-annealing runs per best construction (spopt's default 10 costs minutes on hundreds of areas)
MAXP_SA_ITERATIONS = 2


def maxp_constructions(n_areas: int) -> int:
    """Max-p construction iterations for ``n_areas`` areas: 10 to 50, fewer for larger groups
    (every construction reaching the best number of regions is then annealed)."""
    return int(min(50, max(10, 1000 // max(n_areas, 1))))


def polygon_neighbours(geoms: np.ndarray, *, rook: bool = False, tolerance_m: float = 0.0) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, of contiguous polygons (metric coordinates).

    Queen: the polygons are within ``tolerance_m`` of each other (0: they touch or overlap).
    Rook: their borders share a line of positive length (within ``tolerance_m``).
    """
    import shapely

    tree = shapely.STRtree(geoms)
    if tolerance_m > 0:
        a, b = tree.query(geoms, predicate="dwithin", distance=float(tolerance_m))
    else:
        a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    if rook and len(a):
        ba = shapely.boundary(geoms[a])
        bb = shapely.boundary(geoms[b])
        if tolerance_m > 0:
            shared = shapely.length(shapely.intersection(ba, shapely.buffer(bb, float(tolerance_m))))
            ok = shared > 2.0 * float(tolerance_m)
        else:
            ok = shapely.length(shapely.intersection(ba, bb)) > 0
        a, b = a[ok], b[ok]
    return sorted(zip(a.tolist(), b.tolist(), strict=True))


def time_neighbours(time_min: np.ndarray, limit_min: float) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, whose head towns reach each other within ``limit_min`` both ways."""
    t = np.maximum(time_min, time_min.T)
    i, j = np.nonzero(np.triu(np.isfinite(t) & (t <= limit_min), k=1))
    return list(zip(i.tolist(), j.tolist(), strict=True))


def adjacency(n: int, pairs: Sequence[tuple[int, int]]) -> sparse.csr_matrix:
    """Symmetric boolean adjacency matrix of ``pairs``."""
    if not pairs:
        return sparse.csr_matrix((n, n), dtype=bool)
    a = np.array(pairs, dtype=np.int64)
    data = np.ones(2 * len(a), dtype=bool)
    return sparse.csr_matrix((data, (np.r_[a[:, 0], a[:, 1]], np.r_[a[:, 1], a[:, 0]])), shape=(n, n))


def components(adj: sparse.csr_matrix) -> np.ndarray:
    """Connected component label of every node."""
    _n, labels = connected_components(adj, directed=False)
    return labels


def is_connected(adj: sparse.csr_matrix, members: np.ndarray) -> bool:
    """Whether ``members`` form one connected group in ``adj``."""
    if len(members) <= 1:
        return True
    n, _ = connected_components(adj[members][:, members], directed=False)
    return bool(n == 1)


def travel_time_coordinates(time_min: np.ndarray, dims: int = MDS_DIMENSIONS) -> np.ndarray:
    """Classical multidimensional scaling of a travel-time matrix (minutes).

    The matrix is made symmetric (mean of both directions); unreachable pairs count as twice the
    largest finite time. Returns ``(n, k)`` coordinates (``k <= dims``, positive eigenvalues only)
    whose Euclidean distances approximate the times.
    """
    t = np.asarray(time_min, dtype=float)
    n = len(t)
    if n <= 1:
        return np.zeros((n, 1))
    fin = np.isfinite(t)
    big = 2.0 * (float(t[fin].max()) if fin.any() else 1.0)
    d = np.where(fin, t, big)
    d = 0.5 * (d + d.T)
    np.fill_diagonal(d, 0.0)
    j = np.eye(n) - 1.0 / n
    b = -0.5 * j @ (d ** 2) @ j
    vals, vecs = np.linalg.eigh(b)
    order = np.argsort(vals)[::-1][:dims]
    vals, vecs = vals[order], vecs[:, order]
    pos = vals > 1e-9 * max(float(vals[0]), 1e-300)
    if not pos.any():
        return np.zeros((n, 1))
    return np.asarray(vecs[:, pos] * np.sqrt(vals[pos]))


def standardize(x: np.ndarray) -> np.ndarray:
    """Columns as z-scores (a constant column becomes 0)."""
    x = np.asarray(x, dtype=float)
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def within_dissimilarity(labels: np.ndarray, attrs: np.ndarray) -> float:
    """Sum over regions of the pairwise cityblock distances of the members' attributes (the
    max-p objective)."""
    from scipy.spatial.distance import pdist

    total = 0.0
    for r in pd.unique(labels[labels >= 0]):
        m = attrs[labels == r]
        if len(m) > 1:
            total += float(pdist(m, metric="cityblock").sum())
    return total


@contextlib.contextmanager
def _maxp_moves_border_regions() -> Iterator[None]:
    """Max-p's annealing only considers moving areas that border another region.

    spopt 0.7's simulated annealing loops forever when none of its move candidates borders another
    region (one region in a group, or movable areas all inside their region); spopt fixed it the
    same way in pysal/spopt#506 (released after 0.7). Applied only while solving, and only to
    versions without the fix.
    """
    from spopt.region import maxp as spopt_maxp

    original = spopt_maxp._pick_move_area
    if getattr(original, "_borders_only", False):
        yield
        return

    def pick(labels: Any, region_lists: Any, region_spatial_attrs: Any, threshold_array: Any, weight: Any,
             *args: Any, **kwargs: Any) -> list[Any]:
        found = original(labels, region_lists, region_spatial_attrs, threshold_array, weight, *args, **kwargs)
        return [a for a in found if any(labels[b] != labels[a] for b in weight.neighbors[a])]

    pick._borders_only = True  # type: ignore[attr-defined]
    spopt_maxp._pick_move_area = pick
    try:
        yield
    finally:
        spopt_maxp._pick_move_area = original


def _spopt_has_border_fix() -> bool:
    from importlib.metadata import version

    try:
        major, minor = (int(x) for x in version("spopt").split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (0, 8)


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """numpy's global random state seeded (spopt's max-p draws from it), restored afterwards."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        np.random.set_state(state)


def _weights(adj: sparse.csr_matrix) -> Any:
    import libpysal

    adj = adj.tocsr()
    neighbours = {i: adj.indices[adj.indptr[i]:adj.indptr[i + 1]].tolist() for i in range(adj.shape[0])}
    return libpysal.weights.W(neighbours, silence_warnings=True)


def solve_component(method: str, adj: sparse.csr_matrix, attrs: np.ndarray, size: np.ndarray, *,
                    floor: float | None, n_regions: int | None, seed: int,
                    iterations: int | None = None) -> np.ndarray:
    """Region label (0, 1, ...) of every area of one connected group.

    ``size`` is the spatially extensive attribute the floor applies to (population, or ones for
    a number of areas); ``n_regions`` is needed by SKATER and AZP; ``iterations`` are max-p's
    constructions (default :func:`maxp_constructions`).
    """
    import geopandas as gpd

    n = adj.shape[0]
    if n == 1 or (method == "maxp" and floor is not None and float(np.sum(size)) < 2.0 * floor):
        return np.zeros(n, dtype=np.int64)  # at most one region meets the floor: the whole group
    cols = [f"a{k}" for k in range(attrs.shape[1])]
    gdf = gpd.GeoDataFrame(pd.DataFrame(attrs, columns=cols).assign(_size=np.asarray(size, dtype=float)))
    w = _weights(adj)
    guard = contextlib.nullcontext() if method != "maxp" or _spopt_has_border_fix() else _maxp_moves_border_regions()
    with _seeded(seed), guard:
        if method == "maxp":
            from spopt.region import MaxPHeuristic

            model: Any = MaxPHeuristic(gdf, w, cols, "_size", float(floor if floor is not None else 0.0),
                                       top_n=2, policy="keep",
                                       max_iterations_construction=iterations or maxp_constructions(n),
                                       max_iterations_sa=MAXP_SA_ITERATIONS)
        elif method == "skater":
            from sklearn.metrics import pairwise
            from spopt.region import Skater

            def dissimilarity(x: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
                # spopt drops zero-dissimilarity links from the spanning tree: keep them, barely
                return np.asarray(pairwise.manhattan_distances(x, y) + 1e-9)

            model = Skater(gdf, w, cols, n_clusters=int(n_regions or 1),
                           floor=float(floor) if floor is not None else -np.inf, islands="ignore",
                           spanning_forest_kwds={"dissimilarity": dissimilarity})
        elif method == "azp":
            from spopt.region import AZP

            model = AZP(gdf, w, cols, n_clusters=int(n_regions or 1), random_state=seed)
        else:
            raise ConfigError(f"unknown regionalisation method {method!r}; use one of {', '.join(METHODS)}")
        model.solve()
    labels = np.asarray(model.labels_, dtype=np.int64)
    _, dense = np.unique(labels, return_inverse=True)
    return np.asarray(dense, dtype=np.int64)


def apportion(n_regions: int, sizes: Sequence[int]) -> list[int]:
    """``n_regions`` shared among groups of ``sizes`` areas: at least one each, the rest by size
    (largest remainder), never more than a group's areas."""
    k = len(sizes)
    if n_regions < k:
        raise ConfigError(f"{n_regions} microregions asked, but the eligible areas form {k} separate "
                          "groups (each needs at least one)")
    if n_regions > sum(sizes):
        raise ConfigError(f"{n_regions} microregions asked, but there are only {sum(sizes)} eligible areas")
    out = [1] * k
    rest = n_regions - k
    while rest > 0:
        room = np.array([s - o for s, o in zip(sizes, out, strict=True)], dtype=float)
        share = np.where(room > 0, np.array(sizes, dtype=float) / np.array(out, dtype=float), -np.inf)
        out[int(np.argmax(share))] += 1
        rest -= 1
    return out
