"""Benchmark: criticality of every road stretch, and a hundred perturbed appraisal runs.

Real data, the two study regions that ship with the toolkit:

* ``porto_alegre``: the embedded OSM extract (~13,200 nodes, ~17,000 stretches), 1,227 H3 cells
  with census population, tiers from ``data/porto_alegre/study.toml`` (cells with >= 3,000 jobs,
  the 15 points of interest) and its demonstration rules;
* ``guaviare``: the Guaviare OSM line layer (rural Colombian Amazon, ~1,400 nodes, ~1,850
  stretches), a 5 km hexagon grid over it, GeoNames towns and San José del Guaviare, as in
  ``examples/guaviare/study.toml`` (10 km snapping limit, default rules).

Criticality: :func:`territorial_gis.criticality.assess_criticality` on every stretch, with the
targeted re-routing (only the nodes whose shortest-path tree crosses the closed stretch, one
confined compiled search) and with the naive method (a full compiled nearest-destination pass
per tier per stretch, the same engine), compared value by value; then with the detours.
Appraisal: corridor stretches of the study as candidates, the greedy portfolio and ``--runs``
perturbed runs (:func:`territorial_gis.appraisal.appraise_projects`).

Run:  .venv/bin/python benchmarks/bench_criticality.py [--runs 100] [--skip-naive]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import pandas as pd

from territorial_gis._routing import RouteOptions
from territorial_gis.access import travel_times_to_nearest
from territorial_gis.appraisal import appraise_projects, corridor_candidates, network_profile
from territorial_gis.classify import classify_areas, load_rules
from territorial_gis.config import StudyConfig, load_study_config
from territorial_gis.corridors import analyze_corridors, upgrade_candidates
from territorial_gis.criticality import assess_criticality
from territorial_gis.pipeline import build_or_load_network, load_study_places
from territorial_gis.places import load_tiers


def study_inputs(cfg: StudyConfig) -> tuple[Any, Any, dict[str, Any], RouteOptions, Any]:
    """Network, classified localities (points, access rules only), tiers, routing options, rules."""
    net, _ = build_or_load_network(cfg, None)
    places = load_study_places(cfg, net)
    tiers = load_tiers(cfg.tiers, places.localities)
    opts = RouteOptions.from_mapping({"max_snap_m": cfg.access.max_snap_m, "walk_kph": cfg.access.walk_kph})
    rules = load_rules(cfg.classify.rules if cfg.classify.rules and cfg.classify.rules.endswith(".toml") else None)
    acc = travel_times_to_nearest(net, places.localities, tiers, options=opts)
    classified = classify_areas(acc, rules).areas
    return net, classified, tiers, opts, rules


def compare(a: pd.DataFrame, b: pd.DataFrame) -> int:
    """Number of stretches whose numbers differ between two criticality tables."""
    x = pd.DataFrame(a.drop(columns="geometry")).set_index("stretch_id").sort_index()
    y = pd.DataFrame(b.drop(columns="geometry")).set_index("stretch_id").sort_index()
    num = [c for c in x.columns if x[c].dtype.kind in "fiub"]
    diff = ~np.isclose(x[num].to_numpy(float), y[num].to_numpy(float), rtol=1e-9, atol=1e-9, equal_nan=True)
    return int(diff.any(axis=1).sum())


def bench_criticality(name: str, net: Any, loc: Any, tiers: dict[str, Any], opts: RouteOptions, rules: Any,
                      naive: bool) -> None:
    t0 = time.perf_counter()
    inc = assess_criticality(net, loc, tiers, rules=rules, options=opts, detour="none")
    t_inc = time.perf_counter() - t0
    i = inc.info
    print(f"[{name}] criticality of every stretch ({i['n_stretches']:,} stretches, {len(tiers)} tiers, "
          f"{len(loc):,} localities): {t_inc:.1f} s in all (re-routing {i['evaluate_s']:.2f} s, "
          f"{i['n_searched']:,} confined searches)")
    hit = inc.stretches
    print(f"[{name}]   {int(((hit['n_cut_off'] > 0) | (hit['locality_min_added'] > 0)).sum()):,} stretches delay or "
          f"cut off someone; {int((hit['n_cut_off'] > 0).sum()):,} cut someone off")
    if naive:
        t0 = time.perf_counter()
        nv = assess_criticality(net, loc, tiers, rules=rules, options=opts, detour="none", method="naive")
        t_nv = time.perf_counter() - t0
        bad = compare(inc.stretches, nv.stretches)
        print(f"[{name}] naive recomputation (a full pass per tier per stretch): {t_nv:.1f} s (re-routing "
              f"{nv.info['evaluate_s']:.1f} s) -> targeted re-routing {nv.info['evaluate_s'] / i['evaluate_s']:.0f}x "
              f"faster; {bad} of {len(hit):,} stretches differ")
    t0 = time.perf_counter()
    det = assess_criticality(net, loc, tiers, rules=rules, options=opts, detour="affected")
    n_det = int(det.stretches["detour_min"].notna().sum())
    print(f"[{name}] with detours of the stretches that matter: {time.perf_counter() - t0:.1f} s "
          f"({n_det:,} detours found)")


def bench_appraisal(name: str, net: Any, loc: Any, tiers: dict[str, Any], opts: RouteOptions, rules: Any,
                    budget: float, runs: int) -> None:
    seg = analyze_corridors(net, loc, tiers, upgrade_to=None, options=opts).segments
    speed = network_profile(net).highway_speed_kph["secondary"]
    cand = corridor_candidates(upgrade_candidates(net, seg, speed, 30), to_class="secondary")
    t0 = time.perf_counter()
    res = appraise_projects(net, loc, tiers, cand, budget=budget, rules=rules, runs=runs, options=opts)
    total = time.perf_counter() - t0
    info = res.info
    print(f"[{name}] appraisal of {len(cand)} candidates, greedy portfolio under {budget / 1e6:.1f} M: "
          f"{int(res.projects['chosen'].sum())} chosen; deterministic {info['deterministic_s']:.1f} s; "
          f"{runs} perturbed runs {info['runs_s']:.1f} s ({info['runs_s'] / max(runs, 1) * 1000:.0f} ms per run); "
          f"total {total:.1f} s")
    for line in res.summary:
        print(f"[{name}]   {line}")


def main() -> None:
    from pathlib import Path

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=100, help="perturbed appraisal runs")
    ap.add_argument("--skip-naive", action="store_true", help="skip the naive recomputation (minutes)")
    args = ap.parse_args()
    root = Path(__file__).resolve().parents[1]
    cases = [("porto_alegre", load_study_config(None), 1.5e6),
             ("guaviare", load_study_config(root / "examples" / "guaviare" / "study.toml"), 40e6)]
    for name, cfg, budget in cases:
        t0 = time.perf_counter()
        net, loc, tiers, opts, rules = study_inputs(cfg)
        print(f"[{name}] inputs ready in {time.perf_counter() - t0:.1f} s: {net.n_nodes:,} nodes, "
              f"{net.n_edges:,} directed edges, {len(loc):,} localities, tiers {', '.join(tiers)}")
        bench_criticality(name, net, loc, tiers, opts, rules, naive=not args.skip_naive)
        bench_appraisal(name, net, loc, tiers, opts, rules, budget, args.runs)


if __name__ == "__main__":
    main()
