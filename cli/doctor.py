"""``tgis doctor``: what this installation is made of, to paste into a bug report."""

from __future__ import annotations

import click


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def doctor(as_json: bool) -> None:
    """Versions of territorial-gis and its engines (GDAL, PROJ, libosmium, compiled kernels), the
    network cache folder and its size, the defaults in force, and whether a browser for the map
    tests is found."""
    import json

    from territorial_gis._doctor import collect_report, format_report

    report = collect_report()
    click.echo(json.dumps(report, indent=2) if as_json else format_report(report))
