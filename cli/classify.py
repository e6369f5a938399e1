"""``tgis classify``: marginal (MRA) / favorable (FRA) rural areas with reasons."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._console import echo_result
from ._options import input_path, output_option, overwrite_option, places_options


def _parse_rasters(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        name, sep, path = v.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise click.BadParameter(f"expected NAME=FILE, got '{v}'", param_hint="--raster")
        out[name.strip()] = path.strip()
    return out


@click.command("classify")
@input_path("access_table")
@click.option("--raster", "rasters", multiple=True, metavar="NAME=FILE",
              help="Raster indicator: dem=FILE (elevation, slope, ruggedness), slope=FILE (degrees), "
                   "suitability=FILE (0-100), or any NAME=FILE. Repeatable.")
@click.option("--areas", default=None, metavar="POLYGONS|hex:SIZE_M|h3:RES|h3",
              help="Classify polygons instead of localities: a polygon file (municipalities, ...), "
                   "a generated hexagon grid 'hex:5000' (edge in metres), H3 cells 'h3:7', or 'h3' "
                   "when the locality ids are H3 cells (as IPEA's grid; [classify] areas = \"h3\"). "
                   "Locality values are aggregated population-weighted.")
@click.option("--rules", "rules_path", default=None, type=click.Path(dir_okay=False),
              help="Rule set TOML (default: the shipped rules/default.toml).")
@places_options("ACCESS_TABLE")
@click.option("--altitude-col", "altitude_column", default=None,
              help="Altitude column used when no DEM is given (detected by default).")
@click.option("--by", "region_column", default=None,
              help="Region column for the summary (e.g. a state or municipality column).")
@output_option(help="Output table (.gpkg, .parquet, .geojson, .csv); the sensitivity table and the "
                    "summary are written beside it as <stem>_sensitivity.csv and <stem>_summary.csv.")
@overwrite_option
def classify(access_table: str, rasters: tuple[str, ...], areas: str | None, rules_path: str | None,
             places: dict[str, Any], altitude_column: str | None, region_column: str | None,
             output: str, overwrite: bool) -> None:
    """Classify localities or areas of ACCESS_TABLE as MRA/FRA with explicit reasons.

    ACCESS_TABLE is a GPKG/GeoParquet/GeoJSON/CSV of localities with travel_time_<tier>_min
    columns (as written by `tgis access nearest`).
    """
    import logging

    from territorial_gis._cells import h3_cells_of
    from territorial_gis._io import TABLE_SUFFIXES, check_outputs, write_table
    from territorial_gis.classify import (
        classify_areas,
        load_rules,
        make_h3_cells,
        make_hex_grid,
        read_access_table,
    )
    from territorial_gis.errors import ConfigError, InputFileError
    from territorial_gis.places import load_places
    from territorial_gis.terrain import RASTER_ROLES

    log = logging.getLogger("territorial_gis.cli.classify")
    raster_map = _parse_rasters(rasters)
    if altitude_column and any(RASTER_ROLES.get(n.lower()) == "dem" for n in raster_map):
        raise click.UsageError("--altitude-col applies when no DEM is given; --raster gives one")
    out = Path(output)
    sens_path = out.with_name(f"{out.stem}_sensitivity.csv")
    summ_path = out.with_name(f"{out.stem}_summary.csv")
    check_outputs(out, overwrite=overwrite, formats=TABLE_SUFFIXES)
    check_outputs(sens_path, summ_path, overwrite=overwrite)
    rules = load_rules(rules_path)
    localities = load_places(access_table, **places)
    population_column = "population"
    if areas is None:
        classification = classify_areas(localities, rules, rasters=raster_map,
                                        population_column=population_column,
                                        altitude_column=altitude_column)
    else:
        kind, _sep, arg = areas.partition(":")
        if areas == "h3":
            polys = h3_cells_of(localities)
        elif kind in ("hex", "h3") and _sep:
            try:
                num = float(arg)
            except ValueError:
                raise ConfigError(f"--areas {areas}: '{arg}' is not a number") from None
            polys = (make_hex_grid(localities, num) if kind == "hex"
                     else make_h3_cells(localities, resolution=int(num)))
        else:
            if not Path(areas).exists():
                raise InputFileError(f"--areas {areas}: no such file, and not hex:SIZE_M, h3:RES or h3")
            polys = read_access_table(areas)
            kinds = set(polys.geometry.geom_type.dropna())
            if not kinds <= {"Polygon", "MultiPolygon"}:
                raise ConfigError(f"--areas {areas} must hold polygons, found {', '.join(sorted(kinds))}")
        classification = classify_areas(polys, rules, localities=localities, rasters=raster_map,
                                        population_column=population_column,
                                        altitude_column=altitude_column)
    classified = classification.areas
    sens = classification.sensitivity()
    summary = classification.summary(by=region_column)
    table = classified.drop(columns=[c for c in ("is_dense",) if c in classified])
    write_table(table, out, overwrite=overwrite, layer="areas" if areas else "localities")
    try:
        write_table(sens, sens_path, overwrite=overwrite)
        write_table(summary, summ_path, overwrite=overwrite)
    except BaseException:
        out.unlink(missing_ok=True)
        sens_path.unlink(missing_ok=True)
        raise
    counts = classification.counts
    for note in classification.notes:
        log.info("note: %s", note)
    echo_result(f"{len(classified)} areas: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                + f" -> {out} (+ {sens_path.name}, {summ_path.name})")
