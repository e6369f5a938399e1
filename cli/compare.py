"""``tgis compare``: two or more periods of the same units; changes, transitions, growth by band."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._console import echo_result
from ._options import output_option, overwrite_option
from ._tables import filter_rows, read_units, side_path, split_list, write_outputs


def _label(spec: str) -> str:
    name, sep, rest = spec.partition(":")
    if sep and rest and not Path(spec).exists():
        return rest.replace(",", "_")
    return Path(spec).stem


def _categorical(values: tuple[str, ...]) -> dict[str, list[str] | None] | None:
    if not values:
        return None
    out: dict[str, list[str] | None] = {}
    for v in values:
        col, _sep, order = v.partition("=")
        out[col.strip()] = [o.strip() for o in order.split(",") if o.strip()] or None
    return out


def _bands(text: str | None) -> list[float]:
    try:
        return [float(v) for v in split_list(text)]
    except ValueError:
        raise click.BadParameter(f"expected minutes like 30,60,120, got {text!r}", param_hint="--bands") from None


@click.command("compare")
@click.argument("tables", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("--key", required=True, help="Unit identifier present in every table (e.g. municipality_code).")
@click.option("--labels", default=None, metavar="A,B,...",
              help="Period labels in time order (default: the years of built-in tables or the file names).")
@click.option("--period-col", "period_column", default=None,
              help="One long TABLE with this period column (e.g. year) instead of one table per period.")
@click.option("--columns", default=None, metavar="A,B", help="Numeric columns to compare (default: all).")
@click.option("--categorical", multiple=True, metavar="COL[=A,B,...]",
              help="Class or grade column compared as transitions, with its order. Repeatable "
                   "(default: marginalization_grade, area_class, mra_type when present).")
@click.option("--carry", default=None, metavar="A,B", help="Descriptive columns taken from the latest period.")
@click.option("--bands-col", "bands_column", default=None, metavar="COLUMN",
              help="Travel-time column (minutes) for growth by band, e.g. travel_time_intermediate_city_min_2010.")
@click.option("--bands", default="30,60,120,240", show_default=True, metavar="MIN,...")
@click.option("--value", default="population", show_default=True, help="Column whose growth is shown by band.")
@click.option("--state", default=None, help="Keep one Mexican state of built-in tables.")
@click.option("--where", default=None, metavar="CONDITION", help="Keep the rows where a condition holds.")
@output_option(help="Output table of units; transitions (<stem>_transitions_<column>.csv) and the bands "
                    "(<stem>_bands.csv) are written beside it.")
@overwrite_option
def compare(tables: tuple[str, ...], key: str, labels: str | None, period_column: str | None, columns: str | None,
            categorical: tuple[str, ...], carry: str | None, bands_column: str | None, bands: str, value: str,
            state: str | None, where: str | None, output: str, overwrite: bool) -> None:
    """Compare TABLES of two or more periods unit by unit (e.g. conapo_marginalization:2010
    conapo_marginalization:2020 --key municipality_code, or two access tables of two networks)."""
    from territorial_gis._io import check_outputs
    from territorial_gis.changes import compare_periods, split_periods
    from territorial_gis.indicators import INDICATOR_TABLES, load_indicator_table

    out = Path(output)
    check_outputs(out, overwrite=overwrite)
    given = split_list(labels)

    def read(spec: str) -> Any:
        if spec.partition(":")[0] in INDICATOR_TABLES and not Path(spec).exists():
            return filter_rows(load_indicator_table(spec, state=state), where)
        if state is not None:
            raise click.UsageError("--state filters built-in tables; use --where for files")
        return filter_rows(read_units(spec), where)

    if period_column:
        if len(tables) != 1:
            raise click.UsageError("--period-col takes one long table")
        periods = split_periods(read(tables[0]), period_column, given or None)
    else:
        if len(tables) < 2:
            raise click.UsageError("compare needs two or more tables (or one with --period-col)")
        names = given or [_label(t) for t in tables]
        if len(names) != len(tables) or len(set(names)) != len(names):
            raise click.UsageError(f"--labels needs {len(tables)} distinct labels, got {names}")
        periods = {lab: read(t) for lab, t in zip(names, tables, strict=True)}
    compared = compare_periods(periods, key, columns=split_list(columns) or None,
                               categorical=_categorical(categorical), carry=split_list(carry))
    items: list[tuple[Any, Path]] = [(compared.table, out)]
    for col in compared.categorical:
        items.append((compared.transitions(col).reset_index(), side_path(out, f"transitions_{col}")))
    if bands_column:
        items.append((compared.by_band(bands_column, _bands(bands), value=value), side_path(out, "bands")))
    write_outputs(items, overwrite, layer="units")
    status = compared.table["period_status"].value_counts()
    echo_result(f"{len(compared.table)} units ({', '.join(f'{k} {v}' for k, v in status.items())}) -> {out}"
                + (f" (+ {len(items) - 1} tables)" if len(items) > 1 else ""))
