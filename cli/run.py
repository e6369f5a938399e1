"""``tgis run``: a whole study from a config file (or the embedded default region)."""

from __future__ import annotations

import click

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

    from territorial_gis.config import load_study_config
    from territorial_gis.pipeline import run_study

    cfg = load_study_config(config)
    out = Path(output) if output else Path("outputs") / cfg.name
    quiet = bool((ctx.find_root().obj or {}).get("quiet"))
    res = run_study(cfg, out, overwrite=overwrite, cache_dir=cache_dir, progress=not quiet)
    s = res.summary
    if not quiet:
        click.echo(f"study written to {res.outdir}/ ({len(res.files)} files, "
                   f"{sum(res.timings.values()):.1f} s)", err=True)
        counts = ", ".join(f"{k} {v:,}" for k, v in s.get("localities_by_class", {}).items())
        if s.get("population") is None:
            click.echo(f"  localities {s['localities']:,} ({counts}); population unknown", err=True)
        else:
            by_class = ", ".join(f"{k} {v:,.0f}" for k, v in s.get("population_by_class", {}).items())
            click.echo(f"  localities {s['localities']:,} ({counts}); population {s['population']:,.0f} "
                       f"({by_class})", err=True)
        for tier, med in s.get("median_travel_time_min", {}).items():
            click.echo(f"  median travel time to {tier}: "
                       f"{'n/a' if med is None else f'{med:.1f} min'}", err=True)
        click.echo(f"  open {res.outdir / 'map.html'} and {res.outdir / 'report.html'}", err=True)
