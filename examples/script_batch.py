"""Script a batch analysis through the library API.

Splits the embedded Porto Alegre region into latitude bands, runs one study per band in
parallel on a local Dask cluster (or on a running scheduler), and ranks the bands by the
share of their population living in marginal rural areas (MRA).

Run:  python examples/script_batch.py [OUTDIR] [--scheduler tcp://HOST:8786]
"""

from __future__ import annotations

import argparse
import sys

from territorial_gis.batch import run_batch

# (name, south, north) latitude bands; each holds employment centres (cells with >= 3,000 jobs)
BANDS = [("north", -30.043, -29.985), ("centre_south", -30.068, -30.043), ("far_south", -30.115, -30.068)]
WEST, EAST = -51.27, -51.13


def main(outdir: str = "outputs/script_batch", scheduler: str | None = None,
         cache_dir: str | None = None) -> int:
    """Run the bands as a batch; print the ranking; return 1 if a band failed."""
    batch = {
        "batch": {"name": "poa_bands", "study": "default"},
        "defaults": {"hubs": {"enabled": False}, "outputs": {"report": False}},
        "regions": [{"name": name, "network": {"bbox": [WEST, south, EAST, north]}}
                    for name, south, north in BANDS],
    }
    result = run_batch(batch, outdir, scheduler=scheduler, workers=2, cache_dir=cache_dir)
    table = result.table
    done = table[table["status"] != "failed"].copy()
    done["mra_population_share"] = done["population_MRA"] / done["population"]
    cols = ["name", "status", "localities", "population", "mra_population_share",
            "median_travel_time_employment_centre_min", "median_travel_time_market_min"]
    print(done.sort_values("mra_population_share", ascending=False)[cols].to_string(index=False))
    for row in table[table["status"] == "failed"].itertuples():
        print(f"{row.name} failed: {row.error}", file=sys.stderr)
    print(f"summary: {result.summary_csv}")
    return int((table["status"] == "failed").any())


if __name__ == "__main__":  # the guard matters: Dask starts worker processes that import this file
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", nargs="?", default="outputs/script_batch")
    parser.add_argument("--scheduler", default=None, help="address of a running Dask scheduler")
    args = parser.parse_args()
    sys.exit(main(args.outdir, scheduler=args.scheduler))
