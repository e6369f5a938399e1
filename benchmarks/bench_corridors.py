"""Benchmark: corridors and the upgrade ranking (re-routing) on a real and a large synthetic network.

* ``porto_alegre`` (real data): the embedded OSM extract (~13,200 nodes) and its 1,227 H3 cells;
  targets are the cells with >= 2,000 jobs (employment centres) and the 15 points of interest
  (markets); MRA cells are those more than 12 min from both (as in tests/test_corridors.py).
* ``synthetic_grid`` (SYNTHETIC, not real data): a road-like grid of >= 200,000 nodes (500 m
  spacing; every 20th line a paved secondary road at 55 km/h, every 5th an unclassified gravel
  road at 21 km/h, the rest dirt tracks at 8 km/h with 15 % of them missing), 5,000 random
  localities, 12 towns on secondary junctions; MRA = localities more than 45 min from a town.

Each case times: the access table (context), :func:`suggest_corridors`,
:func:`corridor_segments`, :func:`rank_upgrades` with ``--candidates`` stretches (one
compiled multi-source pass per candidate), and :func:`analyze_corridors` (all three sharing
one graph).

Run:  .venv/bin/python benchmarks/bench_corridors.py [--grid 460] [--candidates 50]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from _synthetic import grid_network
from territorial_gis.data import data_path

from territorial_gis.access import travel_times_to_nearest
from territorial_gis.corridors import (
    analyze_corridors,
    corridor_segments,
    rank_upgrades,
    suggest_corridors,
)
from territorial_gis.network import RoadNetwork, build_network
from territorial_gis.places import load_places


def porto_alegre() -> tuple[RoadNetwork, gpd.GeoDataFrame, dict[str, gpd.GeoDataFrame], float]:
    """Real data: the embedded Porto Alegre network, H3 cells, job centres and POIs."""
    net = build_network(data_path("porto_alegre", "poa_osm.pbf"))
    cells = load_places(data_path("porto_alegre", "poa_hexgrid.csv"), id_col="id", pop_col="population")
    jobs = cells[cells["jobs"] >= 2000]
    centres = gpd.GeoDataFrame({"dest_id": jobs["place_id"].to_numpy()}, geometry=jobs.geometry.to_numpy(),
                               crs=4326)
    poi = pd.read_csv(data_path("porto_alegre", "poa_points_of_interest.csv"))
    markets = gpd.GeoDataFrame({"dest_id": poi["id"]}, geometry=gpd.points_from_xy(poi["lon"], poi["lat"]),
                               crs=4326)
    return net, cells, {"employment_centre": centres, "market": markets}, 12.0


def synthetic_grid(n: int, seed: int = 7) -> tuple[RoadNetwork, gpd.GeoDataFrame, dict[str, gpd.GeoDataFrame],
                                                   float]:
    """SYNTHETIC road-like grid of n x n nodes (see the module docstring)."""
    step = 0.0045  # ~500 m
    net, ii, jj, rng = grid_network(n, seed=seed, lon0=-72.0, lat0=2.0, step_deg=step, jitter=0.0,
                                    classes=[(20, "secondary", "asphalt", 55.0),
                                             (5, "unclassified", "gravel", 21.0),
                                             (0, "track", "dirt", 8.25)],
                                    drop_share=0.15)
    lon, lat = -72.0 + jj.ravel() * step, 2.0 + ii.ravel() * step
    k = 5000
    w, s, e, nn = net.bounds
    loc = gpd.GeoDataFrame({"locality_id": [f"loc{i}" for i in range(k)],
                            "population": np.round(rng.lognormal(6.0, 1.0, k))},
                           geometry=gpd.points_from_xy(rng.uniform(w, e, k), rng.uniform(s, nn, k)), crs=4326)
    sec = np.flatnonzero((ii.ravel() % 20 == 0) & (jj.ravel() % 20 == 0))
    towns = rng.choice(sec, 12, replace=False)
    market = gpd.GeoDataFrame({"dest_id": [f"town{t}" for t in range(12)]},
                              geometry=gpd.points_from_xy(lon[towns] + 0.0005, lat[towns] + 0.0005), crs=4326)
    return net, loc, {"market": market}, 45.0


def run_case(name: str, net: RoadNetwork, loc: gpd.GeoDataFrame, tiers: dict[str, gpd.GeoDataFrame],
             threshold_min: float, n_candidates: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    acc = travel_times_to_nearest(net, loc, tiers)
    t_access = time.perf_counter() - t0
    best = acc[[f"travel_time_{t}_min" for t in tiers]].min(axis=1)
    acc["area_class"] = np.where(best.isna() | (best > threshold_min), "MRA", "FRA")
    n_mra = int((acc["area_class"] == "MRA").sum())
    t0 = time.perf_counter()
    cor = suggest_corridors(net, acc, tiers)
    t_cor = time.perf_counter() - t0
    t0 = time.perf_counter()
    seg = corridor_segments(net, cor)
    t_seg = time.perf_counter() - t0
    t0 = time.perf_counter()
    up = rank_upgrades(net, acc, tiers, upgrade_to="secondary", top=20, n_candidates=n_candidates)
    t_rank = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = analyze_corridors(net, acc, tiers, upgrade_to="secondary", top=20, n_candidates=n_candidates)
    t_all = time.perf_counter() - t0
    # the re-routing part alone: rank_upgrades minus its own corridor pass
    per_pass = max(t_rank - t_cor - t_seg, 0.0) / max(n_candidates + 1, 1)
    out = {"case": name, "nodes": net.n_nodes, "directed_edges": net.n_edges, "localities": len(loc),
           "mra_origins": n_mra, "corridors": len(cor), "stretches": len(seg), "ranked": len(up),
           "access_s": t_access, "suggest_corridors_s": t_cor, "corridor_segments_s": t_seg,
           "rank_upgrades_s": t_rank, "candidates": n_candidates, "approx_s_per_pass": per_pass,
           "analyze_corridors_s": t_all,
           "best_person_min_per_km": float(res.upgrades["person_min_saved_per_km"].iloc[0]) if len(up) else None}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grid", type=int, default=460, help="synthetic grid side (nodes per side; 460 -> 211,600)")
    ap.add_argument("--candidates", type=int, default=50, help="stretches re-routed by rank_upgrades")
    args = ap.parse_args()
    rows = []
    t0 = time.perf_counter()
    case = porto_alegre()
    print(f"porto_alegre inputs: {time.perf_counter() - t0:.2f} s", flush=True)
    rows.append(run_case("porto_alegre (real)", *case, n_candidates=args.candidates))
    print(rows[-1], flush=True)
    t0 = time.perf_counter()
    case = synthetic_grid(args.grid)
    print(f"synthetic grid built: {case[0]!r} in {time.perf_counter() - t0:.2f} s", flush=True)
    rows.append(run_case(f"synthetic_grid {args.grid}x{args.grid} (SYNTHETIC)", *case,
                         n_candidates=args.candidates))
    print(rows[-1], flush=True)
    table = pd.DataFrame(rows).set_index("case").T
    with pd.option_context("display.float_format", "{:.3f}".format, "display.width", 160):
        print(table.to_string())


if __name__ == "__main__":
    main()
