"""``tgis run``: a whole study from a config file (or the embedded default region)."""

from __future__ import annotations

import click

from ._console import echo_result, quiet
from ._options import overwrite_option


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
    s = res.summary
    echo_result(f"study written to {res.outdir}/ ({len(res.files)} files, {sum(res.timings.values()):.1f} s)")
    counts = ", ".join(f"{k} {v:,}" for k, v in s.get("localities_by_class", {}).items())
    if s.get("population") is None:
        echo_result(f"  localities {s['localities']:,} ({counts}); population unknown")
    else:
        by_class = ", ".join(f"{k} {v:,.0f}" for k, v in s.get("population_by_class", {}).items())
        echo_result(f"  localities {s['localities']:,} ({counts}); population {s['population']:,.0f} "
                    f"({by_class})")
    for tier, med in s.get("median_travel_time_min", {}).items():
        echo_result(f"  median travel time to {tier}: {'n/a' if med is None else f'{med:.1f} min'}")
    echo_result(f"  open {res.outdir / 'map.html'} and {res.outdir / 'report.html'}")
