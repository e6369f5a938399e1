"""Benchmark: hub selection (greedy and exact), hinterland assignment and polygons.

* ``porto_alegre`` (real data): the embedded OSM extract (~13,200 nodes) and its 1,227 H3 cells
  as localities; candidate hubs are the cells with >= 1,500 inhabitants (106 cells).
* ``synthetic`` (SYNTHETIC, not real data): a road-like perturbed grid (node positions jittered
  by up to 20 % of the 1 km spacing; every 10th line a 60 km/h paved road, every 3rd a 30 km/h
  gravel road, the rest 15 km/h tracks with 10 % missing) with >= 100,000 random localities
  (lognormal populations); candidate hubs are the localities with the top 5 % population.

Each case times, with the peak of traced (numpy/Python) memory of each step: the sparse
travel-time table (engine with cutoff), greedy cover / maxcover / p-median, exact cover and
p-median where the matrix is small enough (the CBC solver runs in a subprocess whose memory is
not traced; exact runs on the real region and on a 2,000-locality synthetic window),
hinterland assignment (one multi-source pass) and hinterland polygons.

Run:  .venv/bin/python benchmarks/bench_hubs.py [--grid 200] [--localities 100000] [--max-time 20]
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from _synthetic import grid_network
from territorial_gis.data import data_path

from territorial_gis import hubs as hb
from territorial_gis.network import RoadNetwork, build_network
from territorial_gis.places import load_places


def measure(label: str, fn: Callable[[], Any], rows: list[dict[str, Any]], case: str) -> Any:
    """Run ``fn`` and record wall time and traced peak memory."""
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    secs = time.perf_counter() - t0
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    row = {"case": case, "step": label, "seconds": round(secs, 3), "peak_traced_mb": round(peak / 2**20, 1)}
    if isinstance(out, hb.HubSelection):
        row.update({"hubs": out.n_hubs, "method": out.method, "optimal": out.optimal,
                    "covered": out.n_covered, "uncovered": out.n_uncovered,
                    "objective": round(out.objective, 1), "status": out.solver_status})
    rows.append(row)
    print(row, flush=True)
    return out


def synthetic(n: int, n_loc: int, seed: int = 11) -> tuple[RoadNetwork, gpd.GeoDataFrame]:
    """SYNTHETIC perturbed grid of n x n nodes and ``n_loc`` random localities."""
    net, _ii, _jj, rng = grid_network(n, seed=seed, lon0=-60.0, lat0=-10.0, step_deg=0.009, jitter=0.2,
                                      classes=[(10, "primary", "asphalt", 60.0),
                                               (3, "unclassified", "gravel", 30.0),
                                               (0, "track", "dirt", 15.0)],
                                      drop_share=0.10)
    w, s, e, nn = net.bounds
    loc = gpd.GeoDataFrame({"locality_id": [f"loc{i}" for i in range(n_loc)],
                            "population": np.round(rng.lognormal(5.0, 1.2, n_loc))},
                           geometry=gpd.points_from_xy(rng.uniform(w, e, n_loc), rng.uniform(s, nn, n_loc)),
                           crs=4326)
    return net, loc


def run_case(case: str, net: RoadNetwork, loc: gpd.GeoDataFrame, mask: np.ndarray, t: float, k: int,
             rows: list[dict[str, Any]], exact: bool) -> None:
    print(f"{case}: {net!r}, {len(loc)} localities, {int(mask.sum())} candidates, T={t} min", flush=True)
    table = measure("travel-time table (sparse, cutoff)", lambda: hb.hub_travel_table(net, loc, t, mask), rows, case)
    rows[-1]["pairs"] = len(table.loc)
    problem = hb.HubProblem.from_table(table, loc)  # one table, every model solved on it
    cover = measure("cover greedy", lambda: problem.solve("cover", method="greedy"), rows, case).hubs
    measure("maxcover greedy", lambda: problem.solve("maxcover", k=k, method="greedy"), rows, case)
    measure("pmedian greedy+interchange", lambda: problem.solve("pmedian", k=k, method="greedy"), rows, case)
    if exact:
        measure("cover exact (spopt+CBC)", lambda: problem.solve("cover", method="exact"), rows, case)
        measure("maxcover exact (spopt+CBC)", lambda: problem.solve("maxcover", k=k, method="exact"), rows, case)
    assigned = measure("assign hinterlands (one pass)", lambda: hb.assign_hinterlands(net, loc, cover), rows, case)
    measure("hinterland polygons (Voronoi)", lambda: hb.hinterland_polygons(assigned), rows, case)
    measure("summarize hubs", lambda: hb.summarize_hubs(assigned, cover), rows, case)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grid", type=int, default=200, help="synthetic grid side (nodes per side)")
    ap.add_argument("--localities", type=int, default=100_000, help="synthetic localities (>= 100,000)")
    ap.add_argument("--max-time", type=float, default=20.0, help="T for the synthetic case (min)")
    ap.add_argument("--k", type=int, default=200, help="hubs for maxcover/p-median on the synthetic case")
    args = ap.parse_args()
    rows: list[dict[str, Any]] = []
    net = build_network(data_path("porto_alegre", "poa_osm.pbf"))
    cells = load_places(data_path("porto_alegre", "poa_hexgrid.csv"), id_col="id", pop_col="population")
    mask = hb.candidate_mask(cells, min_population=1500)
    run_case("porto_alegre (real)", net, cells, mask, 6.0, 10, rows, exact=True)
    # exact p-median on a real subset small enough for the dense formulation
    sub = cells.iloc[::6].reset_index(drop=True)
    smask = hb.candidate_mask(sub, min_population=1200)
    sub_problem = hb.HubProblem.from_table(hb.hub_travel_table(net, sub, 6.0, smask), sub)
    measure("pmedian exact (spopt+CBC), 1/6 of cells",
            lambda: sub_problem.solve("pmedian", k=5, method="exact"), rows, "porto_alegre (real)")
    measure("pmedian greedy+interchange, 1/6 of cells",
            lambda: sub_problem.solve("pmedian", k=5, method="greedy"), rows, "porto_alegre (real)")
    t0 = time.perf_counter()
    snet, sloc = synthetic(args.grid, args.localities)
    print(f"synthetic inputs built in {time.perf_counter() - t0:.1f} s", flush=True)
    pop = sloc["population"].to_numpy()
    smask = pop >= np.quantile(pop, 0.95)
    run_case(f"synthetic {args.grid}x{args.grid} grid, {args.localities} localities (SYNTHETIC)", snet, sloc,
             smask, args.max_time, args.k, rows, exact=False)
    # exact on a SYNTHETIC window small enough for the dense formulation
    w, so, _e, _n = snet.bounds
    win = sloc.cx[w:w + 0.3, so:so + 0.3].iloc[:2000].reset_index(drop=True)
    wpop = win["population"].to_numpy()
    wmask = wpop >= np.quantile(wpop, 0.95)
    wcase = f"synthetic window, {len(win)} localities (SYNTHETIC)"
    wtab = measure("travel-time table (sparse, cutoff)", lambda: hb.hub_travel_table(snet, win, 10.0, wmask),
                   rows, wcase)
    wproblem = hb.HubProblem.from_table(wtab, win)
    for model, kk in (("cover", None), ("maxcover", 10)):
        for method in ("greedy", "exact"):
            measure(f"{model} {method}", lambda model=model, kk=kk, method=method: wproblem.solve(
                model, k=kk, method=method), rows, wcase)
    # p-median has one variable per cell: a smaller window
    small = win.iloc[:400].reset_index(drop=True)
    spop = small["population"].to_numpy()
    pmask = spop >= np.quantile(spop, 0.85)
    pproblem = hb.HubProblem.from_table(hb.hub_travel_table(snet, small, 20.0, pmask), small)
    pcase = f"synthetic window, {len(small)} localities (SYNTHETIC)"
    for method in ("greedy", "exact"):
        measure(f"pmedian {method}", lambda method=method: pproblem.solve("pmedian", k=5, method=method),
                rows, pcase)
    print()
    print(pd.DataFrame(rows).to_string(index=False))
    print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
