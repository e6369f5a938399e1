"""Benchmark: road networks from line layers (territorial_gis._layers) against momepy.

Two layers:

* the real Guaviare road layer (``data/guaviare/vias_guaviare_osm.geojson``, 696 OSM ways,
  Geofabrik schema);
* a SYNTHETIC jittered grid: ``--grid`` x ``--grid`` points about 100 m apart (jitter +-20 m),
  joined by ``grid`` east-west and ``grid`` north-south lines that share the grid points as
  vertices (as OSM ways meet); 2 * grid * (grid - 1) segments, 1,006,780 for the default 710.
  Written to GeoParquet in a temporary folder.

Each case runs in its own subprocess so that the peak memory (``ru_maxrss``) is its own:

* ``tgis``: :func:`territorial_gis._layers.network_from_layer` (read, schema, topology, speeds,
  directed RoadNetwork with CSR arrays, no largest-component pruning);
* ``momepy``: read the same file with geopandas, explode, node the lines with shapely
  (``shapely.node`` splits them at every shared vertex and crossing: on these layers the same
  topology, since the grid and the OSM ways meet at shared vertices), then
  ``momepy.gdf_to_nx`` (primal, undirected multigraph).

The node/edge counts of both are printed to show they built the same graph (momepy counts
undirected edges; tgis counts directed ones, two per two-way road).

Run: ``.venv/bin/python benchmarks/bench_layers.py [--grid 710] [--skip-momepy-grid]``

Measured (2-core shared machine, momepy 0.11, shapely 2.2; seconds include imports):

====================================  =======  =========  ========  =======
layer                                 builder  nodes      seconds   peak MB
====================================  =======  =========  ========  =======
Guaviare (real, 696 ways)             tgis       1,504      0.75      282
Guaviare (real, 696 ways)             momepy     1,507      1.50      286
grid (synthetic, 1,006,780 segments)  tgis     504,100      8.41    1,732
grid (synthetic, 1,006,780 segments)  momepy   504,100     19.16    2,176
====================================  =======  =========  ========  =======

momepy/tgis: 2.0x the time on Guaviare, 2.3x the time and 1.3x the memory on the grid; tgis
also assigns speeds and builds the directed graph (2,013,560 edges) with its CSR arrays. On
Guaviare momepy's noding adds the 2 crossings without a shared vertex (+3 nodes), which tgis
counts but does not node by default. With ``crossings=True, snap_tolerance_m=5`` the grid
builds in 8.8 s (peak 1.8 GB).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
case, path = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if case == "tgis":
    from territorial_gis._layers import network_from_layer
    net = network_from_layer(path, largest_component=False, mode="walk")
    out = {"nodes": net.n_nodes, "edges": net.n_edges,
           "undirected": int(net.edges["segment"].nunique())}
else:
    import geopandas as gpd, momepy, shapely
    gdf = gpd.read_parquet(path) if path.endswith(".parquet") else gpd.read_file(path, engine="pyogrio")
    gdf = gdf.explode(index_parts=False)
    gdf = gdf.to_crs(gdf.estimate_utm_crs())
    noded = shapely.get_parts(shapely.node(shapely.multilinestrings(gdf.geometry.values)))
    lines = gpd.GeoDataFrame(geometry=noded, crs=gdf.crs)
    G = momepy.gdf_to_nx(lines, approach="primal")
    out = {"nodes": G.number_of_nodes(), "edges": G.number_of_edges(), "undirected": G.number_of_edges()}
out["seconds"] = time.perf_counter() - t0
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def write_grid(path: Path, n: int, seed: int = 10) -> int:
    """SYNTHETIC jittered grid layer (Geofabrik schema) with ``2 n (n - 1)`` segments; returns that."""
    import geopandas as gpd
    import numpy as np
    import shapely
    from pyproj import Transformer

    rng = np.random.default_rng(seed)
    step = 100.0
    gx, gy = np.meshgrid(np.arange(n) * step, np.arange(n) * step)  # [row, col]
    gx = gx + rng.uniform(-20, 20, gx.shape)
    gy = gy + rng.uniform(-20, 20, gy.shape)
    tr = Transformer.from_crs(32718, 4326, always_xy=True)  # central Peru, UTM 18S
    lon, lat = tr.transform(500_000 + gx, 8_500_000 + gy)
    pts = np.stack([lon, lat], axis=-1)
    rows = shapely.linestrings(pts)                       # east-west lines (one per row)
    cols = shapely.linestrings(pts.transpose(1, 0, 2))    # north-south lines (one per column)
    geoms = np.concatenate([rows, cols])
    classes = np.array(["tertiary", "unclassified", "track", "residential"])
    gdf = gpd.GeoDataFrame({"osm_id": np.arange(len(geoms)), "fclass": classes[np.arange(len(geoms)) % 4],
                            "oneway": "B", "bridge": "F", "tunnel": "F", "maxspeed": 0},
                           geometry=geoms, crs=4326)
    gdf.to_parquet(path)
    return 2 * n * (n - 1)


def run(case: str, path: Path) -> dict[str, float]:
    """Run one case in a fresh interpreter; returns its counts, seconds and peak MB."""
    res = subprocess.run([sys.executable, "-c", CHILD, case, str(path)], capture_output=True, text=True,
                         check=False)
    if res.returncode != 0:
        raise RuntimeError(f"{case} on {path} failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", type=int, default=710, help="grid size n (2 n (n-1) segments)")
    ap.add_argument("--skip-momepy-grid", action="store_true", help="do not run momepy on the grid")
    args = ap.parse_args()
    from territorial_gis.data import data_path

    with tempfile.TemporaryDirectory() as tmp:
        grid = Path(tmp) / "grid.parquet"
        t = time.perf_counter()
        n_seg = write_grid(grid, args.grid)
        print(f"synthetic grid: {n_seg:,} segments written in {time.perf_counter() - t:.1f} s")
        cases = [("guaviare (real, 696 ways)", Path(data_path("guaviare", "vias_guaviare_osm.geojson"))),
                 (f"grid (synthetic, {n_seg:,} segments)", grid)]
        print(f"{'layer':38s} {'builder':7s} {'nodes':>10s} {'edges':>10s} {'undirected':>10s} "
              f"{'seconds':>8s} {'peak MB':>8s}")
        for label, path in cases:
            results = {}
            for case in ("tgis", "momepy"):
                if case == "momepy" and path == grid and args.skip_momepy_grid:
                    continue
                r = run(case, path)
                results[case] = r
                print(f"{label:38s} {case:7s} {r['nodes']:10,d} {r['edges']:10,d} {r['undirected']:10,d} "
                      f"{r['seconds']:8.2f} {r['peak_mb']:8.0f}")
            if "momepy" in results:
                a, b = results["tgis"], results["momepy"]
                print(f"{'':38s} ratio momepy/tgis: time {b['seconds'] / a['seconds']:.1f}x, "
                      f"peak memory {b['peak_mb'] / a['peak_mb']:.1f}x")


if __name__ == "__main__":
    main()
