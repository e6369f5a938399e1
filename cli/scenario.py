"""``tgis scenario``: seasons and what-ifs (apply a scenario to a network, compare it with a study)."""

from __future__ import annotations

import click

from ._console import echo_result, quiet
from ._options import input_path, output_option, overwrite_option, profile_option


@click.group("scenario")
def scenario() -> None:
    """Seasons and what-ifs: scenario files that close, slow or upgrade roads.

    A SCENARIO is a scenario TOML file (see territorial_gis/scenarios.py) or the name of a built-in
    season (wet).
    """


@scenario.command("compare")
@input_path("study")
@click.argument("scenario_spec", metavar="SCENARIO")
@output_option(help="Output folder: scenario_<name>.gpkg, scenarios.csv, scenario_classes.csv (and rai.csv).")
@overwrite_option
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Cache of built networks (default: $TGIS_CACHE_DIR or ~/.cache/territorial-gis).")
def compare(study: str, scenario_spec: str, output: str, overwrite: bool,
            cache_dir: str | None) -> None:
    """Compare SCENARIO with the finished study in the folder STUDY: minutes gained or lost per
    locality and tier, places cut off (dry-season only in the rains), MRA/FRA class changes."""
    import pandas as pd

    from territorial_gis.outputs import SCENARIOS
    from territorial_gis.pipeline import compare_scenario

    res = compare_scenario(study, scenario_spec, output, overwrite=overwrite, cache_dir=cache_dir,
                           progress=not quiet())
    summary = pd.read_csv(res.outdir / SCENARIOS)
    for row in summary.itertuples(index=False):
        cut = [c for c in summary.columns if c.startswith("n_") and c not in ("n_slower", "n_faster", "n_newly_reached")]
        echo_result(f"{row.scenario} / {row.tier}: {row.n_slower} slower (median +{row.median_minutes_lost:.1f} min), "
                   + ", ".join(f"{int(getattr(row, c))} {c[2:].replace('_', ' ')}" for c in cut)
                   + f"; written to {res.outdir}")


@scenario.command("apply")
@input_path("network")
@click.argument("scenario_spec", metavar="SCENARIO")
@profile_option
@output_option(help="The scenario's network (.tgnet or .gpkg); the changed roads go beside it as "
                    "<stem>_changes.gpkg.")
@overwrite_option
def apply(network: str, scenario_spec: str, profile: str | None, output: str, overwrite: bool) -> None:
    """Write NETWORK in the state of the world of SCENARIO (for any command to route on it)."""
    from pathlib import Path

    from territorial_gis._io import check_outputs, write_gpkg_layers
    from territorial_gis.network import open_network
    from territorial_gis.scenarios import apply_scenario

    out = Path(output)
    changes_path = out.with_name(f"{out.stem}_changes.gpkg")
    check_outputs(out, changes_path, overwrite=overwrite)
    net = open_network(network, profile=profile)
    applied = apply_scenario(net, scenario_spec, profile=profile)
    applied.network.save(out, overwrite=overwrite)
    write_gpkg_layers({"changes": applied.changes}, changes_path, overwrite)
    counts = applied.changes.drop_duplicates("segment")["change"].value_counts().to_dict()
    echo_result(f"scenario {applied.scenario.name}: {counts.get('upgraded', 0)} road pieces upgraded, "
                f"{counts.get('closed', 0)} closed, {counts.get('slowed', 0)} slowed, "
                f"{counts.get('new_link', 0)} new -> {out}")
