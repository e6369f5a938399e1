"""Benchmark of the accessibility surfaces (``territorial_gis.surfaces``, kernel ``_grid.pyx``).

Part 1 (SYNTHETIC grid, default 3,200 x 3,200 = 10.24 million cells): the compiled multi-source
grid Dijkstra against scikit-image's ``MCP_Geometric`` on the same costs: friction uniform in
[1, 2) (seeded), 1 % of the cells impassable (inf), 10 random destinations, 8 neighbours, corner
cutting allowed (both then build the same graph: a move costs the mean of the two cells' costs
times the distance between centres). Each method runs in a fresh subprocess; printed: wall and
CPU time of the call, the process's peak RSS and its excess over a process that only builds the
inputs (what the method allocates), the time ratio, and the largest relative difference of the
results (they agree to floating-point precision). The kernel's default move set (16) is timed too.

Part 2 (real data): how much burning roads into the friction (AccessMod's way) changes the
times against joining the exact network to the grid (the default): Porto Alegre (30 m cells,
the SRTM DEM, 1,227 H3 cells to the 15 points of interest) and Guaviare (150 m cells, rivers as
barriers and the Río Guaviare as a waterway, the GeoNames towns to San José del Guaviare).

Run: ``.venv/bin/python benchmarks/bench_surfaces.py`` (``--side`` to size part 1,
``--skip-real`` / ``--skip-grid``). Needs the ``bench`` extra (scikit-image). Figures depend on
the machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

SEED = 7


def _inputs(side: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    cost = rng.random((side, side))  # built in place: no temporary raises the inputs' peak memory
    cost += 1.0
    cost.reshape(-1)[rng.integers(0, side * side, side * side // 100)] = np.inf
    seeds = rng.choice(side * side, 10, replace=False)
    cost.reshape(-1)[seeds] = 1.0
    return cost, seeds


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_one(method: str, side: int, out: str) -> None:
    """Child process: build the inputs, run one method, save its result and figures."""
    cost, seeds = _inputs(side)
    wall = cpu = 0.0
    dist = np.zeros(1)
    if method == "inputs":
        pass
    elif method == "mcp":
        from skimage.graph import MCP_Geometric

        t0, c0 = time.perf_counter(), time.process_time()
        mcp = MCP_Geometric(cost, fully_connected=True)
        dist, _trace = mcp.find_costs([divmod(int(s), side) for s in seeds])
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        dist = dist.reshape(-1)
    else:
        from territorial_gis._grid import grid_nearest, move_table

        moves = 16 if method == "grid16" else 8
        off = move_table(moves).astype(float)
        md = np.tile(np.hypot(off[:, 0], off[:, 1]), (side, 1))
        t0, c0 = time.perf_counter(), time.process_time()
        dist, *_ = grid_nearest(cost, side, side, md, moves, seeds, np.zeros(len(seeds)), cut_corners=True,
                                bucket_width=1.0, n_buckets=8)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _rss_mb()
    np.save(out + ".npy", np.where(np.isfinite(dist), dist, -1.0).astype(np.float64))
    del dist
    with open(out + ".json", "w") as fh:
        json.dump({"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak}, fh)


def part1(side: int) -> None:
    import tempfile

    print(f"Part 1: SYNTHETIC grid {side} x {side} = {side * side / 1e6:.2f} million cells, 10 destinations, "
          "1 % barriers, 8 neighbours")
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        for method in ("inputs", "grid8", "mcp", "grid16"):
            out = f"{tmp}/{method}"
            subprocess.run([sys.executable, __file__, "--child", method, "--side", str(side), "--out", out],
                           check=True)
            with open(out + ".json") as fh:
                res[method] = json.load(fh)
            res[method]["dist"] = np.load(out + ".npy")
    base = res["inputs"]["peak_rss_mb"]
    print(f"  inputs alone (costs, seeds, interpreter): peak RSS {base:.0f} MB")
    a, b = res["grid8"]["dist"], res["mcp"]["dist"]
    same = np.array_equal(a < 0, b < 0)
    ok = a >= 0
    rel = float(np.max(np.abs(a[ok] - b[ok]) / np.maximum(b[ok], 1e-12)))
    for name, label in (("grid8", "territorial-gis grid kernel (8 moves)"), ("mcp", "scikit-image MCP_Geometric"),
                        ("grid16", "territorial-gis grid kernel (16 moves, default)")):
        r = res[name]
        print(f"  {label:48s} {r['wall_s']:7.2f} s wall, {r['cpu_s']:7.2f} s CPU, peak RSS {r['peak_rss_mb']:7.0f} MB "
              f"(+{r['peak_rss_mb'] - base:.0f} MB over the inputs)")
    print(f"  ratio MCP / kernel (8 moves): {res['mcp']['wall_s'] / res['grid8']['wall_s']:.1f}x wall, "
          f"{res['mcp']['cpu_s'] / res['grid8']['cpu_s']:.1f}x CPU")
    print(f"  same reachable cells: {same}; largest relative difference of the costs: {rel:.2e}")


def _compare(name: str, a: np.ndarray, b: np.ndarray, ia: np.ndarray, ib: np.ndarray) -> None:
    ok = np.isfinite(a) & np.isfinite(b)
    d = b[ok] - a[ok]
    rel = np.abs(d) / np.maximum(a[ok], 1.0)
    print(f"  {name}: {int(ok.sum())} places; burnt - network: median {np.median(d):+.2f} min, "
          f"p5 {np.percentile(d, 5):+.2f}, p95 {np.percentile(d, 95):+.2f}, max |d| {np.max(np.abs(d)):.2f} min; "
          f"median |d|/t {np.median(rel):.1%}, p95 {np.percentile(rel, 95):.1%}; nearest destination differs for "
          f"{np.mean(ia[ok] != ib[ok]):.1%}; reachable only one way: {int((np.isfinite(a) != np.isfinite(b)).sum())}")


def part2() -> None:
    from territorial_gis.data import data_path

    import territorial_gis as tg
    from territorial_gis.surfaces import SurfaceOptions, WaterwaySpec, build_surface

    print("Part 2: roads burnt into the friction against the exact network joined to the grid")
    net = tg.build_network(data_path("porto_alegre", "poa_osm.pbf"))
    loc = tg.load_places(data_path("porto_alegre", "poa_hexgrid.csv"), id_col="id", pop_col="population")
    poi = tg.load_places(data_path("porto_alegre", "poa_points_of_interest.csv"))
    out = {}
    for roads in ("network", "burn"):
        t0 = time.perf_counter()
        s = build_surface(network=net, points=[loc, poi], dem=data_path("porto_alegre", "poa_elevation.tif"),
                          options=SurfaceOptions(resolution_m=30.0, roads=roads))
        t1 = time.perf_counter()
        r = s.nearest(loc, poi)
        t2 = time.perf_counter()
        out[roads] = r
        print(f"  Porto Alegre, roads={roads}: {s.grid.width} x {s.grid.height} cells, build {t1 - t0:.2f} s, "
              f"1,227 cells to 15 destinations {t2 - t1:.2f} s")
    _compare("Porto Alegre", out["network"]["travel_time_min"].to_numpy(), out["burn"]["travel_time_min"].to_numpy(),
             out["network"]["dest_index"].to_numpy(), out["burn"]["dest_index"].to_numpy())
    net = tg.build_network(data_path("guaviare", "vias_guaviare_osm.geojson"), snap_tolerance_m=5)
    towns = tg.load_catalogue("geonames", country="CO", bbox=[-73.6, 1.7, -70.0, 3.1], min_population=1000)
    hexes = _hex_points(net)
    city = towns[towns["population"] >= 50000]
    ww = WaterwaySpec(data_path("guaviare", "rios_igac.geojson"), outlet=(-67.703, 4.045), landing_reach_m=1500)
    g = {}
    for roads in ("network", "burn"):
        t0 = time.perf_counter()
        s = build_surface(network=net, points=[hexes, towns], waterways=[ww], landings=towns,
                          barriers=[data_path("guaviare", "lagunas_igac.geojson")],
                          options=SurfaceOptions(resolution_m=150.0, roads=roads))
        t1 = time.perf_counter()
        g[roads] = s.nearest(hexes, city)
        t2 = time.perf_counter()
        print(f"  Guaviare, roads={roads}: {s.grid.width} x {s.grid.height} cells, build {t1 - t0:.2f} s, "
              f"{len(hexes)} points to San José {t2 - t1:.2f} s")
    _compare("Guaviare", g["network"]["travel_time_min"].to_numpy(), g["burn"]["travel_time_min"].to_numpy(),
             g["network"]["dest_index"].to_numpy(), g["burn"]["dest_index"].to_numpy())


def _hex_points(net):  # type: ignore[no-untyped-def]
    """Points every 5 km over the network's box (a regular lattice, as the example's hexagon grid)."""
    import geopandas as gpd
    from pyproj import Transformer

    w, s, e, n = net.bounds
    tr = Transformer.from_crs(4326, net.crs, always_xy=True)
    x0, y0, x1, y1 = tr.transform_bounds(w, s, e, n)
    xs, ys = np.meshgrid(np.arange(x0, x1, 5000.0), np.arange(y0, y1, 5000.0))
    lon, lat = Transformer.from_crs(net.crs, 4326, always_xy=True).transform(xs.ravel(), ys.ravel())
    return gpd.GeoDataFrame({"place_id": np.arange(len(lon))}, geometry=gpd.points_from_xy(lon, lat), crs=4326)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--side", type=int, default=3200)
    ap.add_argument("--skip-grid", action="store_true")
    ap.add_argument("--skip-real", action="store_true")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run_one(args.child, args.side, args.out)
        return
    if not args.skip_grid:
        part1(args.side)
    if not args.skip_real:
        part2()


if __name__ == "__main__":
    main()
