"""Benchmark: build the same OSM extract with territorial-gis and with osmnx.

territorial-gis reads the PBF with its compiled decoder (territorial_gis/_pbf.pyx) and splits
ways with numpy;
osmnx.graph_from_xml parses OSM XML in Python (the PBF is first written as XML, holding the
ways our drive profile admits, so both builders see the same ways). Each builder runs in a
fresh subprocess so peak memory (max RSS, and its rise over the imports) is its own.

Run:  .venv/bin/python benchmarks/bench_network.py [--repeat N]
Data: the embedded real extracts (Porto Alegre and Sao Paulo, OSM ODbL).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXTRACTS = {
    "porto_alegre": ROOT / "data" / "porto_alegre" / "poa_osm.pbf",
    "sao_paulo": ROOT / "data" / "sao_paulo" / "spo_osm.pbf",
}

CHILD = r"""
import json, resource, sys, time
which, path = sys.argv[1], sys.argv[2]
if which == "tgis":
    from territorial_gis.network import build_network
    import territorial_gis._osm, osmium, shapely, scipy.sparse.csgraph  # imports before the baseline
else:
    import osmnx as ox
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
if which == "tgis":
    net = build_network(path, largest_component=False)
    n, m = net.n_nodes, net.n_edges
else:
    G = ox.graph_from_xml(path, simplify=True, retain_all=True)
    n, m = G.number_of_nodes(), G.number_of_edges()
dt = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": dt, "peak_mb": peak / 1024, "rise_mb": (peak - base) / 1024,
                  "nodes": n, "edges": m}))
"""


def write_xml(pbf: Path, out: Path) -> None:
    """Write the ways admitted by the drive profile (and their nodes) as OSM XML."""
    from territorial_gis._osm import write_routable_xml
    from territorial_gis.speeds import load_profile

    write_routable_xml(pbf, out, load_profile())


def run_child(which: str, path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, which, str(path)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def best(which: str, path: Path, repeat: int) -> dict[str, float]:
    runs = [run_child(which, path) for _ in range(repeat)]
    return min(runs, key=lambda r: r["seconds"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'extract':<14}{'builder':<22}{'seconds':>9}{'peak MB':>10}{'rise MB':>10}{'nodes':>9}{'edges':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, pbf in EXTRACTS.items():
            xml = Path(tmp) / f"{name}.osm"
            write_xml(pbf, xml)
            ours = best("tgis", pbf, args.repeat)
            theirs = best("osmnx", xml, args.repeat)
            for label, r in (("territorial-gis (pbf)", ours), ("osmnx.graph_from_xml", theirs)):
                print(f"{name:<14}{label:<22}{r['seconds']:9.3f}{r['peak_mb']:10.1f}{r['rise_mb']:10.1f}"
                      f"{r['nodes']:9d}{r['edges']:9d}")
            speed = theirs["seconds"] / ours["seconds"]
            mem = ours["rise_mb"] / max(theirs["rise_mb"], 1e-9)
            print(f"{name:<14}ratio: {speed:.1f}x faster; memory rise {mem:.2f} of osmnx's "
                  f"(targets: >= 20x faster, <= 0.25 memory)")


if __name__ == "__main__":
    main()
