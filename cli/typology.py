"""``tgis typology``: sort units into the classes of a typology (a preset or a TOML file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._console import echo_result
from ._options import output_option, overwrite_option
from ._tables import filter_rows, read_units, side_path, write_outputs


def _list(ctx: click.Context, _param: Any, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from territorial_gis.typology import list_presets

    for name, title in list_presets().items():
        click.echo(f"{name}: {title}")
    ctx.exit(0)


def _show(ctx: click.Context, _param: Any, value: str | None) -> None:
    if not value or ctx.resilient_parsing:
        return
    from territorial_gis.errors import TerritorialGISError
    from territorial_gis.typology import describe_typology

    try:
        click.echo(describe_typology(value))
    except TerritorialGISError as exc:
        click.echo(f"Error: {exc}", err=True)
        ctx.exit(1)
    ctx.exit(0)


@click.command("typology")
@click.argument("table", type=click.Path(dir_okay=True), required=False)
@click.option("-t", "--typology", "typology", default=None, metavar="PRESET|FILE",
              help="A preset (see --list) or a typology TOML file.")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Override a threshold. Repeatable.")
@click.option("--by", "region_column", default=None, help="Region column for the summary.")
@click.option("--where", default=None, metavar="CONDITION", help="Keep the rows where a condition holds.")
@click.option("--pop-col", "population_column", default="population", show_default=True,
              help="Population column of the table.")
@click.option("--layer", default=None, help="Layer of a multi-layer TABLE file.")
@click.option("--list", "list_", is_flag=True, expose_value=False, is_eager=True, callback=_list,
              help="List the presets and exit.")
@click.option("--show", default=None, expose_value=False, is_eager=True, callback=_show, metavar="PRESET|FILE",
              help="Describe a typology (classes, thresholds, sources) and exit.")
@output_option(required=False, help="Output table (.gpkg, .parquet, .csv ...); the sensitivity table and the "
                                   "summary are written beside it as <stem>_sensitivity.csv and <stem>_summary.csv.")
@overwrite_option
def typology(table: str | None, typology: str | None, sets: tuple[str, ...], region_column: str | None,
             where: str | None, population_column: str, layer: str | None, output: str | None,
             overwrite: bool) -> None:
    """Classify the units of TABLE with a typology; each class with the values behind it.

    TABLE: a file (e.g. the output of `tgis compare` or `tgis join`) or a built-in table.
    """
    import logging

    from territorial_gis._io import check_outputs
    from territorial_gis.typology import (
        apply_typology,
        load_typology,
        parse_threshold_options,
        summarize_typology,
        typology_sensitivity,
    )

    if table is None or typology is None or output is None:
        raise click.UsageError("give TABLE, --typology and -o (or --list / --show)")
    log = logging.getLogger("territorial_gis.cli.typology")
    out = Path(output)
    sens_path, summ_path = side_path(out, "sensitivity"), side_path(out, "summary")
    check_outputs(out, sens_path, summ_path, overwrite=overwrite)
    typ = load_typology(typology).with_thresholds(parse_threshold_options(sets))
    units = filter_rows(read_units(table, layer), where)
    classified = apply_typology(units, typ)
    sens = typology_sensitivity(units, typ, population_column=population_column)
    summary = summarize_typology(classified, typ, by=region_column, population_column=population_column)
    write_outputs([(classified, out), (sens, sens_path), (summary, summ_path)], overwrite, layer=typ.name)
    counts = classified[typ.column].value_counts()
    log.info("sources of %s: %s", typ.name, "; ".join(typ.sources) or "none given")
    echo_result(f"{len(classified)} units: " + ", ".join(f"{k} {v}" for k, v in counts.items())
                + f" -> {out} (+ {sens_path.name}, {summ_path.name})")
