"""Benchmark of many-to-many travel times (``territorial_gis.access.od_matrix``).

Real data: the embedded Porto Alegre OSM extract and its 1,227 H3 cells, the full
1,227 x 1,227 table (1.5 million pairs) and the table within 20 minutes, with

* the engine: :func:`territorial_gis.access.od_matrix` end to end (exact snapping to the nearest
  point of the nearest road, off-road legs, one bounded compiled search per cell from its road
  on both cores, the long table with ids as a DataFrame), with all threads and with one;
* pandana: ``pandana.Network`` on the same directed network (``twoway=False``, travel time as
  impedance; its contraction hierarchy build is timed apart) and ``shortest_path_lengths`` over
  every pair of the cells' nearest nodes (KD-tree);
* the scipy floor: ``scipy.sparse.csgraph.dijkstra`` on ``net.csr()`` from the distinct
  nearest nodes of the cells (one search per distinct node, no snapping to roads, no legs, no
  table), all of the graph and with ``limit`` = 20 minutes, times read at the cells' nodes.

Printed: best wall time of ``--repeat`` runs (pandana once), the largest rise of the resident
set during a run (``_measure.PeakRSS``; the kernels and pandana allocate outside tracemalloc's
view), and the ratios against the targets. Cutoffs of 20, 10 and 5 minutes are timed with the
share of pairs within them and of the network a search that long covers: a bounded search
costs what it covers, so that share bounds what a cutoff can save on this city.

Run: ``.venv/bin/python benchmarks/bench_od.py [--repeat 3] [--skip-pandana]``. Figures depend on
the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import time

import _measure
import numpy as np
import pandas as pd
from _measure import mib, timed
from pyproj import Transformer
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from territorial_gis.data import data_path

from territorial_gis import settings
from territorial_gis.access import od_matrix
from territorial_gis.network import RoadNetwork, build_network
from territorial_gis.places import load_places

CUTOFF_MIN = 20.0


def cell_nodes(net: RoadNetwork, loc: pd.DataFrame) -> np.ndarray:
    """Nearest network node of every cell (KD-tree in the metric CRS)."""
    tr = Transformer.from_crs(4326, net.crs, always_xy=True)
    x, y = tr.transform(loc.geometry.x.to_numpy(), loc.geometry.y.to_numpy())
    return cKDTree(net.node_xy).query(np.column_stack([x, y]))[1]


def scipy_floor(net: RoadNetwork, nodes: np.ndarray, limit: float = np.inf) -> np.ndarray:
    """One-to-all searches from the distinct nodes, read at the cells' nodes."""
    src, inv = np.unique(nodes, return_inverse=True)
    dist = dijkstra(net.csr(), directed=True, indices=src, limit=limit)
    return dist[:, nodes][inv]  # (cell x cell)


def bench_pandana(net: RoadNetwork, nodes: np.ndarray, ref: np.ndarray) -> tuple[float, int, float]:
    """pandana on the same directed network: ``(query wall s, memory rise, query CPU s)``."""
    import pandana

    t0 = time.perf_counter()
    pn = pandana.Network(pd.Series(net.node_xy[:, 0]), pd.Series(net.node_xy[:, 1]), pd.Series(net.edge_u),
                         pd.Series(net.edge_v), pd.DataFrame({"t": net.edges["travel_time_s"].to_numpy()}),
                         twoway=False)
    t_build = time.perf_counter() - t0
    o = np.repeat(nodes, len(nodes))
    d = np.tile(nodes, len(nodes))
    t_query, rise, lengths = timed(lambda: np.asarray(pn.shortest_path_lengths(o, d, imp_name="t")))
    cpu_query = _measure.last_cpu
    # sanity: pandana's node-to-node times are scipy's (pandana keeps 3 decimals of the impedance)
    fin = np.isfinite(ref.ravel())
    err = float(np.max(np.abs(lengths[fin] - ref.ravel()[fin])))
    print(f"pandana: network + contraction hierarchy {t_build:.2f} s (not counted); "
          f"max |pandana - scipy| over the pairs {err:.3f} s")
    return t_query, rise, cpu_query


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="repetitions of the engine and scipy runs (best kept)")
    ap.add_argument("--skip-pandana", action="store_true")
    args = ap.parse_args()
    net = build_network(data_path("porto_alegre", "poa_osm.pbf"))
    loc = load_places(data_path("porto_alegre", "poa_hexgrid.csv"), id_col="id", pop_col="population")
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"== Porto Alegre (real OSM extract, embedded): {net!r}, {len(loc):,} cells, "
          f"{len(loc) ** 2:,} pairs; {threads} CPUs, load average {os.getloadavg()[0]:.1f} ==")
    cut = CUTOFF_MIN
    od_matrix(net, loc, loc, cutoff_min=cut)  # warm the caches (CSR, snap index, edge arrays)
    t_full, m_full, full = timed(lambda: od_matrix(net, loc, loc), args.repeat)
    c_full = _measure.last_cpu
    n_full = len(full)
    del full
    nodes = cell_nodes(net, loc)
    t_sp, m_sp, ref = timed(lambda: scipy_floor(net, nodes), args.repeat)
    c_sp = _measure.last_cpu
    print(f"engine od_matrix, full table:   {t_full:7.3f} s wall, {c_full:.3f} s CPU  (+{mib(m_full)})  "
          f"{n_full:,} pairs")
    print(f"scipy floor, full:              {t_sp:7.3f} s wall, {c_sp:.3f} s CPU  (+{mib(m_sp)})  "
          f"{len(np.unique(nodes)):,} distinct nodes")
    # cutoffs: how much a bounded search saves depends on how much of the city it still covers
    cut_times = {}
    for minutes in (cut, 10.0, 5.0):
        t_c, m_c, within = timed(lambda m=minutes: od_matrix(net, loc, loc, cutoff_min=m), args.repeat)
        c_c = _measure.last_cpu
        t_sc, _m, _ = timed(lambda m=minutes: scipy_floor(net, nodes, m * 60.0), args.repeat)
        reach = np.isfinite(dijkstra(net.csr(), directed=True, indices=np.unique(nodes), limit=minutes * 60.0))
        cut_times[minutes] = t_c
        print(f"engine within {minutes:4g} min:   {t_c:7.3f} s wall, {c_c:.3f} s CPU  (+{mib(m_c)})  {len(within):,} pairs "
              f"({len(within) / max(n_full, 1):.0%}); a search covers {reach.mean():.0%} of the network "
              f"(least {reach.mean(axis=1).min():.0%}); full / cutoff {t_full / t_c:.2f}x; "
              f"scipy with limit {t_sc:.3f} s")
        del within
    settings.threads = 1
    t_one, _m, _ = timed(lambda: od_matrix(net, loc, loc), max(1, args.repeat - 1))
    settings.threads = None
    print(f"engine full table on one thread: {t_one:7.3f} s wall, {_measure.last_cpu:.3f} s CPU")
    if not args.skip_pandana:
        t_pd, m_pd, c_pd = bench_pandana(net, nodes, ref)
        print(f"pandana shortest_path_lengths, all pairs: {t_pd:7.3f} s wall, {c_pd:.3f} s CPU  (+{mib(m_pd)})")
        print(f"ratio pandana / engine (full):       {t_pd / t_full:6.1f}x  (target >= 10x); in CPU seconds "
              f"{c_pd / c_full:.1f}x")
    print(f"ratio engine / scipy floor (full):   {t_full / t_sp:6.2f}x  (target <= 1.2x); in CPU seconds "
          f"{c_full / c_sp:.2f}x")
    print(f"ratio full / {cut:g}-min cutoff (engine): {t_full / cut_times[cut]:6.2f}x  (target >= 3x)")
    print(f"ratio full / 10-min, 5-min cutoff:   {t_full / cut_times[10.0]:6.2f}x, {t_full / cut_times[5.0]:.2f}x")
    print(f"ratio one thread / all threads:      {t_one / t_full:6.2f}x  (load average now {os.getloadavg()[0]:.1f})")

if __name__ == "__main__":
    main()
