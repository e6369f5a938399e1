"""``tgis report``: self-contained HTML summary report of a study outputs folder."""

from __future__ import annotations

import click

from ._console import echo_result
from ._options import input_path, output_option, overwrite_option


@click.command("report")
@input_path("study_outputs")
@output_option(help="Output HTML file, e.g. report.html.")
@click.option("--title", default=None, help="Report title (default: study name from study.json).")
@click.option("--top", "top_n", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="Rows of the corridor and upgrade tables.")
@click.option("--bands", default="15,30,60,120", show_default=True,
              help="Upper edges (minutes) of the travel-time bands, comma-separated, increasing.")
@overwrite_option
def report(study_outputs: str, output: str, title: str | None, top_n: int, bands: str,
           overwrite: bool) -> None:
    """Write a self-contained HTML summary report of the study in STUDY_OUTPUTS.

    Population and localities by class and MRA type, population by travel-time band per tier,
    threshold sensitivity, top corridors and upgrade stretches, inputs and attribution.
    """
    from territorial_gis.report import make_report, parse_bands

    make_report(study_outputs, output, overwrite=overwrite, title=title, top_n=top_n,
                bands_min=parse_bands(bands))
    echo_result(f"report of {study_outputs} -> {output}")
