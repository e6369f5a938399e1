"""``tgis map``: interactive HTML map of a study outputs folder."""

from __future__ import annotations

import click

from ._console import echo_result
from ._options import input_path, output_option, overwrite_option


@click.command("map")
@input_path("study_outputs")
@output_option(help="Output HTML file, e.g. map.html.")
@click.option("--self-contained", is_flag=True,
              help="Inline Leaflet and plugin scripts/styles so the map opens without internet "
                   "(basemap tiles still need a connection).")
@click.option("--title", default=None, help="Map title (default: study name from study.json).")
@overwrite_option
def map_command(study_outputs: str, output: str, self_contained: bool, title: str | None,
                overwrite: bool) -> None:
    """Draw the study in STUDY_OUTPUTS as an interactive HTML map.

    Localities coloured by class and sized by population, destinations by tier, corridors,
    top upgrade stretches, hubs, territories and a travel-time surface, with a layer control,
    legend, scale bar and fullscreen button.
    """
    from territorial_gis.maps import map_study

    map_study(study_outputs, output, self_contained=self_contained, overwrite=overwrite,
              title=title)
    echo_result(f"map of {study_outputs} -> {output}")
