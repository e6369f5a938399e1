"""``tgis report``: self-contained HTML report of a study outputs folder."""

from __future__ import annotations

import click

from ._console import echo_result
from ._options import input_path, output_option, overwrite_option

LANGS = ("en", "es", "pt")


@click.command("report")
@input_path("study_outputs")
@output_option(help="Output HTML file, e.g. report.html.")
@click.option("--lang", type=click.Choice(LANGS), default=None,
              help="Language of the report (default: settings.lang, English).")
@click.option("--title", default=None, help="Report title (default: the study's title from study.json).")
@click.option("--top", "top_n", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="Rows of the corridor and upgrade tables.")
@click.option("--bands", default=None,
              help="Upper edges (minutes) of the travel-time bands, comma-separated, increasing "
                   "(default: the study's own thresholds).")
@overwrite_option
def report(study_outputs: str, output: str, lang: str | None, title: str | None, top_n: int,
           bands: str | None, overwrite: bool) -> None:
    """Write the self-contained HTML report of the study in STUDY_OUTPUTS (prints on A4).

    Key figures, an overview map, population and localities by class and by the study's own
    travel-time bands, corridors, road upgrades, hubs, territories, threshold sensitivity,
    methods, inputs and credits, and links to the tables.
    """
    from territorial_gis.report import make_report, parse_bands

    make_report(study_outputs, output, overwrite=overwrite, lang=lang, title=title, top_n=top_n,
                bands_min=parse_bands(bands) if bands else None)
    echo_result(f"report of {study_outputs} -> {output}")
