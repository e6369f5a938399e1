"""``tgis batch``: many studies (regions) from one batch config, in parallel on Dask."""

from __future__ import annotations

import click

from ._console import echo_result
from ._options import overwrite_option


@click.command("batch")
@click.argument("batch_config", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "output", type=click.Path(file_okay=False), required=True,
              help="Output folder: one sub-folder per region, plus batch_summary.csv/.json.")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Address of a running Dask scheduler (e.g. tcp://10.0.0.5:8786); its workers must "
                   "see the same files. Default: a local cluster of worker processes.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes of the local cluster (default: min(2, CPU count)).")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Cache of built networks, shared by the regions "
                   "(default: $TGIS_CACHE_DIR or ~/.cache/territorial-gis).")
@overwrite_option
@click.pass_context
def batch(ctx: click.Context, batch_config: str, output: str, scheduler: str | None, workers: int | None,
          cache_dir: str | None, overwrite: bool) -> None:
    """Run every region of BATCH_CONFIG as a study, in parallel on Dask.

    BATCH_CONFIG is a TOML file with a [batch] table (name; study = a base study TOML file or
    "default" for the embedded region), an optional [defaults] table merged into every region,
    and [[regions]] tables, each with a name and study overrides (see
    examples/batch_porto_alegre.toml). Each region's outputs go to OUTPUT/<name>/.

    A failing region does not stop the others and leaves no partial outputs. Regions whose
    outputs are complete and whose config and input files did not change are skipped on a
    re-run (--overwrite re-runs them). The summary table (status, error, population by
    class, median travel times per tier) is written to OUTPUT/batch_summary.csv.

    Exit code: 0 when every region is ok or skipped, 1 when any region failed (the failed
    regions and their errors are printed) or the batch config is invalid.
    """
    from territorial_gis._io import check_output_folder
    from territorial_gis.batch import run_batch

    check_output_folder(output)
    result = run_batch(batch_config, output, scheduler=scheduler, workers=workers, overwrite=overwrite,
                       cache_dir=cache_dir)
    table = result.table
    failed = table[table["status"] == "failed"]
    tiers = [c for c in table.columns if c.startswith("median_travel_time_")]
    for r in table.to_dict("records"):
        if r["status"] == "failed":
            echo_result(f"  {r['name']}: failed")
            continue
        text = f"  {r['name']}: {r['status']}, {_num(r['localities'])} localities"
        if _num(r["population"]) != "n/a":
            text += f", population {_num(r['population'])} (MRA {_num(r['population_MRA'])})"
        meds = ", ".join(f"{c[len('median_travel_time_'):-len('_min')]} {_num(r[c], '.1f')} min"
                         for c in tiers if _num(r[c]) != "n/a")
        echo_result(text + (f"; median travel time to {meds}" if meds else ""))
    echo_result(f"summary: {result.summary_csv}")
    if len(failed):
        click.echo(f"Error: {len(failed)} of {len(table)} region(s) failed: {', '.join(failed['name'])}",
                   err=True)
        for row in failed.itertuples(index=False):
            click.echo(f"  {row.name}: {row.error}", err=True)
        ctx.exit(1)


def _num(value: object, fmt: str = ",.0f") -> str:
    """A number for the console; "n/a" for None/NaN."""
    if value is None or not isinstance(value, (int, float)) or value != value:
        return "n/a"
    return format(value, fmt)
