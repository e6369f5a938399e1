"""``tgis rai``: the Rural Access Index (SDG 9.1.1) of places on a road network."""

from __future__ import annotations

from typing import Any

import click

from ._console import echo_result
from ._options import (
    input_path,
    output_option,
    overwrite_option,
    places_options,
    profile_option,
    scenario_option,
)


@click.command("rai")
@input_path("network")
@input_path("places")
@click.option("--distance-m", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Distance to an all-season road (default: 2000, the SDG 9.1.1 distance).")
@click.option("--urban-density", "urban_density", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Places denser than this (inhabitants per km2, column density_per_km2) are urban and left "
                   "out (default: 300, the urban-cluster threshold of the Degree of Urbanisation).")
@click.option("--rural-col", default=None, help="A column flagging rural places (replaces the density rule).")
@click.option("--area-col", default=None, help="A column of PLACES naming the area of each place (RAI per area).")
@click.option("--population-raster", type=click.Path(dir_okay=False), default=None,
              help="A population count raster instead of the places' population.")
@scenario_option(help="Compute the index under a scenario (a scenario file or a built-in season: wet).")
@click.option("--method", type=click.Choice(["straight", "walk"]), default="straight", show_default=True,
              help="Distance to the road: a straight line (the World Bank's method) or walked over an "
                   "accessibility surface (around --barrier layers, across bridges).")
@click.option("--barrier", "barriers", multiple=True, type=click.Path(dir_okay=False),
              help="With --method walk: water polygons or river lines not to be walked across (any vector "
                   "layer). Repeatable.")
@click.option("--resolution", type=float, default=None,
              help="With --method walk: cell size of the surface in metres (default: from the area's size).")
@places_options("PLACES", dest="read_options")
@profile_option
@output_option(help="Output GeoPackage: layers places (distance to the nearest all-season road, within, "
                    "rural), by_area and all_season_buffer.")
@overwrite_option
def rai(network: str, places: str, distance_m: float | None, urban_density: float | None,
        rural_col: str | None, area_col: str | None, population_raster: str | None, scenario_spec: str | None,
        method: str, barriers: tuple[str, ...], resolution: float | None, read_options: dict[str, Any],
        profile: str | None, output: str, overwrite: bool) -> None:
    """The share of the rural population of PLACES within 2 km of an all-season road of NETWORK.

    Which roads are all-season is the [all_season] table of the speed profile; the distance is a
    straight line, or with --method walk the distance walked over a surface (around the
    --barrier layers); see territorial_gis/rai.py for the method and its references.
    """
    import geopandas as gpd
    import pandas as pd

    from territorial_gis._io import check_outputs, write_gpkg_layers
    from territorial_gis.network import open_network
    from territorial_gis.places import load_places
    from territorial_gis.rai import rural_access_index

    check_outputs(output, overwrite=overwrite, formats=(".gpkg",))
    if method == "straight" and (barriers or resolution is not None):
        raise click.UsageError("--barrier and --resolution apply to --method walk only")
    pts = load_places(places, **read_options)
    net = open_network(network, profile=profile)
    if scenario_spec:
        from territorial_gis.scenarios import apply_scenario

        net = apply_scenario(net, scenario_spec, profile=profile).network
    kw: dict[str, Any] = {k: v for k, v in {"distance_m": distance_m, "urban_density_per_km2": urban_density}.items()
                          if v is not None}
    if method == "walk":
        from territorial_gis.surfaces import SurfaceInputs, SurfaceOptions

        kw["surface"] = SurfaceInputs(barriers=barriers, options=SurfaceOptions(resolution_m=resolution))
    res = rural_access_index(net, pts, population_raster=population_raster, rural_col=rural_col,
                             area_col=area_col, profile=profile, method=method, **kw)
    layers = {"by_area": gpd.GeoDataFrame(pd.DataFrame(res.by_area), geometry=[None] * len(res.by_area), crs=4326),
              "all_season_buffer": res.buffer}
    if res.places is not None:
        layers = {"places": pts.join(res.places), **layers}
    write_gpkg_layers(layers, output, overwrite)
    if res.rai == res.rai:
        echo_result(f"Rural Access Index: {res.rai:.1%} of {res.rural_population:,.0f} rural people live within "
                   f"{res.distance_m:,.0f} m of an all-season road ({res.all_season_km:,.0f} km) -> {output}")
    else:
        echo_result(f"Rural Access Index: unknown (population unknown); {res.share_of_places:.1%} of "
                   f"{res.rural_places} rural places are within {res.distance_m:,.0f} m of an all-season road "
                   f"-> {output}")
    for note in res.notes:
        echo_result(f"  note: {note}")
