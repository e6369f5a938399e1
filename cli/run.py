"""``tgis run``: a whole study from a config file (or the embedded default region)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ._console import echo_result, quiet
from ._options import overwrite_option

if TYPE_CHECKING:
    from territorial_gis.pipeline import StudyResult


@click.command("run")
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@click.option("-o", "--output", "output", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: outputs/<study name>).")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Cache of built networks (default: $TGIS_CACHE_DIR or ~/.cache/territorial-gis).")
@overwrite_option
@click.pass_context
def run(ctx: click.Context, config: str | None, output: str | None, cache_dir: str | None,
        overwrite: bool) -> None:
    """Run network -> access -> classify -> corridors -> hubs/territories -> map and report.

    CONFIG is a study TOML file (see examples/); without it the embedded demonstration region
    (Porto Alegre, real OSM/IPEA/SRTM data) runs. Writes network.gpkg, localities.gpkg,
    corridors.gpkg, upgrades.csv, map.html, report.html, study.json and more into the output
    folder; a failed stage writes nothing and names the stage.
    """
    from pathlib import Path

    from territorial_gis._io import check_output_folder
    from territorial_gis.config import load_study_config
    from territorial_gis.pipeline import run_study

    cfg = load_study_config(config)
    out = Path(output) if output else Path("outputs") / cfg.name
    check_output_folder(out)
    res = run_study(cfg, out, overwrite=overwrite, cache_dir=cache_dir, progress=not quiet())
    echo_result(study_summary(res))


def study_summary(res: StudyResult) -> str:
    """What a finished study says on the console: headline figures, then every file written with one
    line on what it is, the ones to open first on top."""
    from territorial_gis import outputs

    s = res.summary
    lines = [f"study '{res.config.name if res.config else res.outdir.name}' written to {res.outdir}/ "
             f"({len(res.files)} files, {sum(res.timings.values()):.1f} s)"]
    counts = ", ".join(f"{k} {v:,}" for k, v in s.get("localities_by_class", {}).items())
    pop = ("population unknown" if s.get("population") is None else
           f"population {s['population']:,.0f} (" + ", ".join(f"{k} {v:,.0f}" for k, v in
                                                      s.get("population_by_class", {}).items()) + ")")
    lines.append(f"  localities {s['localities']:,} ({counts}); {pop}")
    for tier, med in s.get("median_travel_time_min", {}).items():
        lines.append(f"  median travel time to {tier}: {'unknown' if med is None else f'{med:.1f} min'}")
    names = outputs.in_reading_order(list(res.files))
    width = max(len(n) for n in names)
    lines.append("  files:")
    lines += [f"    {n:<{width}}  {outputs.describe(n)}" for n in names]
    return "\n".join(lines)
