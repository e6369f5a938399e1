"""``tgis join``: indicator tables onto localities or areas (by code, by name, or spatially)."""

from __future__ import annotations

from pathlib import Path

import click

from ._console import echo_result
from ._options import input_path, output_option, overwrite_option
from ._tables import filter_rows, read_units, side_path, split_list, write_outputs


def _pair(value: str | None, option: str) -> tuple[str, str] | None:
    """``"a=b"`` -> ("a", "b"); ``"a"`` -> ("a", "a")."""
    if value is None:
        return None
    left, _sep, right = value.partition("=")
    if not left.strip():
        raise click.BadParameter(f"expected COLUMN or COLUMN=TABLE_COLUMN, got {value!r}", param_hint=option)
    return left.strip(), (right.strip() or left.strip())


def _widths(value: str | None) -> int | list[int] | None:
    if value is None:
        return None
    try:
        parts = [int(v) for v in split_list(value)]
    except ValueError:
        raise click.BadParameter(f"expected N or N,M (digits), got {value!r}", param_hint="--width") from None
    if not parts or any(p <= 0 for p in parts):
        raise click.BadParameter(f"widths must be positive, got {value!r}", param_hint="--width")
    return parts[0] if len(parts) == 1 else parts


def _counts(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for v in values:
        name, sep, rate = v.partition("=")
        if not sep or not name.strip() or not rate.strip():
            raise click.BadParameter(f"expected NAME=RATE_COLUMN, got {v!r}", param_hint="--count")
        out[name.strip()] = rate.strip()
    return out


@click.command("join")
@input_path("units")
@input_path("table")
@click.option("--on", "on", default=None, metavar="COL[=TABLE_COL]",
              help="Key column of UNITS and of TABLE (default: the same name); TABLE_COL may join "
                   "columns with '+', e.g. municipality_code=CVE_ENT+CVE_MUN with --width 2,3.")
@click.option("--width", "width", default=None, metavar="N|N,M",
              help="Zero-pad codes to N digits (5 for INEGI municipality codes), or each part of a "
                   "composed key to its width.")
@click.option("--by-name", "by_name", default=None, metavar="COL[=TABLE_COL]",
              help="Match by normalised name the units the code left unmatched (unique matches only).")
@click.option("--within", default=None, metavar="COL[=TABLE_COL]",
              help="Names match only within the same group (e.g. state_code=CVE_ENT).")
@click.option("--columns", default=None, metavar="A,B,...", help="Table columns to bring (default: all).")
@click.option("--prefix", default="", help="Prefix for the brought columns (e.g. municipal_).")
@click.option("--label", default=None, help="UNITS column naming an unmatched key in the report.")
@click.option("--state", default=None, help="Keep one Mexican state of a built-in table.")
@click.option("--where", default=None, metavar="CONDITION",
              help="Keep the TABLE rows where a condition holds, e.g. \"year == 2015\".")
@click.option("--count", "counts", multiple=True, metavar="NAME=RATE_COLUMN",
              help="Derived count NAME = population x RATE_COLUMN / 100 (after the join). Repeatable.")
@click.option("--fraction", is_flag=True, help="Rates of --count are shares 0-1, not percentages.")
@click.option("--count-source", default=None, help="Where the rates of --count come from (stated in the report).")
@click.option("--spatial", is_flag=True, help="Join by location: TABLE holds polygons.")
@click.option("--rates", default=None, metavar="A,B", help="Spatial join: rate columns (averaged).")
@click.option("--counts", "count_cols", default=None, metavar="A,B",
              help="Spatial join: count columns (split by overlap).")
@click.option("--weights", type=click.Choice(["area", "population"]), default="area", show_default=True,
              help="Spatial join onto polygons: overlap weights.")
@click.option("--localities", default=None, metavar="FILE",
              help="Spatial join with --weights population: points with a population column.")
@click.option("--pop-col", "population_column", default="population", show_default=True,
              help="Population column of the table.")
@click.option("--layer", default=None, help="Layer of a multi-layer UNITS file.")
@output_option(help="Output table (.gpkg, .parquet, .geojson, .csv); the join report is written "
                    "beside it as <stem>_join.json.")
@overwrite_option
def join(units: str, table: str, on: str | None, width: str | None, by_name: str | None, within: str | None,
         columns: str | None, prefix: str, label: str | None, state: str | None, where: str | None,
         counts: tuple[str, ...], fraction: bool, count_source: str | None, spatial: bool, rates: str | None,
         count_cols: str | None, weights: str, localities: str | None, population_column: str,
         layer: str | None, output: str, overwrite: bool) -> None:
    """Join the indicator TABLE onto UNITS (localities or areas) and report what matched.

    UNITS: a file, or catalogue:inegi_localities[,state=Guerrero]. TABLE: a file or a built-in
    table, e.g. conapo_marginalization:2020 (CONAPO municipal marginalization; years 1990-2020).
    """
    from territorial_gis._io import check_outputs
    from territorial_gis.indicators import (
        derive_counts,
        join_indicators,
        join_spatial,
        read_indicator_table,
    )

    out = Path(output)
    report_path = side_path(out, "join", ".json")
    check_outputs(out, report_path, overwrite=overwrite)
    count_map = _counts(counts)
    u = read_units(units, layer)
    if spatial:
        polys = filter_rows(read_units(table), where)
        locs = read_units(localities) if localities else None
        joined, report = join_spatial(u, polys, rates=split_list(rates), counts=split_list(count_cols),
                                      weights=weights, localities=locs, population_column=population_column)
    else:
        key = _pair(on, "--on")
        if key is None and by_name is None:
            raise click.UsageError("give --on COL[=TABLE_COL] and/or --by-name COL[=TABLE_COL]")
        tab = read_indicator_table(table, state=state)
        joined, report = join_indicators(
            u, tab.with_frame(filter_rows(tab.frame, where)), on=key[0] if key else None,
            table_on=key[1].split("+") if key else None, widths=_widths(width), names=_pair(by_name, "--by-name"),
            within=_pair(within, "--within"), columns=split_list(columns) or None, prefix=prefix, label=label,
            table_name=table, population_column=population_column)
    derived: dict[str, str] = {}
    if count_map:
        joined, derived = derive_counts(joined, count_map, population_column=population_column,
                                        percent=not fraction, source=count_source or table)
    info = report.to_dict()
    info["derived"] = derived
    write_outputs([(joined, out), (info, report_path)], overwrite, layer="units")
    echo_result(f"{report.summary()} -> {out} (+ {report_path.name})")
