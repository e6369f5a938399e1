"""``tgis map``: interactive HTML map of a study outputs folder."""

from __future__ import annotations

import click

from ._console import echo_result
from ._options import input_path, output_option, overwrite_option

LANGS = ("en", "es", "pt")


@click.command("map")
@input_path("study_outputs")
@output_option(help="Output HTML file, e.g. map.html.")
@click.option("--cdn", is_flag=True,
              help="Link Leaflet from its CDN instead of inlining it (smaller file; needs internet). "
                   "By default the map is self-contained and opens offline.")
@click.option("--lang", type=click.Choice(LANGS), default=None,
              help="Language of the map (default: settings.lang, English).")
@click.option("--title", default=None, help="Map title (default: the study's title from study.json).")
@overwrite_option
def map_command(study_outputs: str, output: str, cdn: bool, lang: str | None, title: str | None,
                overwrite: bool) -> None:
    """Draw the study in STUDY_OUTPUTS as an interactive HTML map.

    A base map from the study's own roads, rivers, boundaries and place names (background tiles
    optional), localities by class, destinations by tier, corridors, road upgrades, hubs,
    territories and the travel-time surface, with a layer control and a legend for every layer.
    """
    from territorial_gis.maps import map_study

    map_study(study_outputs, output, cdn=cdn, lang=lang, overwrite=overwrite, title=title)
    echo_result(f"map of {study_outputs} -> {output}")
