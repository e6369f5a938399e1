"""``tgis territories``: functional territories around centres (intermediate cities)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ._console import echo_result
from ._options import (
    given,
    input_path,
    output_option,
    overwrite_option,
    places_options,
    route_options,
)

if TYPE_CHECKING:
    from territorial_gis import RouteOptions


@click.command("territories")
@input_path("network")
@input_path("localities")
@click.option("--centres", required=True, metavar="TIER_OR_FILE",
              help="Centres: a file of points or a rule over the localities, e.g. 'population>=15000', "
                   "'top10:population', 'ids:a;b'.")
@click.option("--max-time", "max_time", type=float, default=None, metavar="MIN",
              help="Localities farther than this from every centre get no territory (no_centre_within_limit).")
@click.option("--employment", default=None, metavar="TIER_OR_FILE",
              help="Employment centres (file or rule); territories whose centre reaches one within "
                   "--employment-limit are linked to a dynamic market.")
@click.option("--employment-limit", type=float, default=60.0, show_default=True, metavar="MIN")
@click.option("--hubs", "hubs_file", default=None, type=click.Path(dir_okay=False),
              help="Hubs GeoPackage from `tgis hubs` (layer hubs); with a LOCALITIES file holding hub_id "
                   "(its localities layer), each locality also gets its hub's territory.")
@click.option("--regions", default=None, metavar="COLUMN_OR_FILE",
              help="Region level territories sit in: a column of LOCALITIES (e.g. state_code) or a file of "
                   "region polygons (ids in region_id, or --region-id-col).")
@click.option("--region-id-col", "region_id_column", default=None, help="Id column of the region polygons.")
@click.option("--within-region", is_flag=True, default=False,
              help="A locality may only join a centre of its own region.")
@places_options("LOCALITIES")
@route_options
@output_option(help="Output GeoPackage with layers territories, localities.")
@overwrite_option
def territories(network: str, localities: str, centres: str, max_time: float | None, employment: str | None,
                employment_limit: float, hubs_file: str | None, regions: str | None,
                region_id_column: str | None, within_region: bool, places: dict[str, Any],
                route: RouteOptions, output: str, overwrite: bool) -> None:
    """Build functional territories of LOCALITIES around centres by travel time over NETWORK."""
    from territorial_gis._io import check_outputs
    from territorial_gis.hubs import check_max_time
    from territorial_gis.network import open_network
    from territorial_gis.places import derive_tier
    from territorial_gis.territories import build_territories, regions_from, territory_polygons

    from .hubs import read_localities, write_layers

    if max_time is not None:
        check_max_time(max_time, "--max-time")
    check_max_time(employment_limit, "--employment-limit")
    if within_region and not regions:
        raise click.UsageError("--within-region needs --regions")
    if region_id_column and not regions:
        raise click.UsageError("--region-id-col needs --regions")
    if employment is None and given("employment_limit"):
        raise click.UsageError("--employment-limit needs --employment")
    check_outputs(output, overwrite=overwrite, formats=(".gpkg",))
    locs = read_localities(localities, places)
    centre_pts = derive_tier(locs, centres, tier="centre")
    emp_pts = derive_tier(locs, employment, tier="employment_centre") if employment else None
    hub_pts = None
    if hubs_file:
        from territorial_gis.places import load_places

        hub_pts = load_places(hubs_file, id_col="hub_id", layer="hubs" if hubs_file.lower().endswith(".gpkg")
                              else None)
        hub_pts["hub_id"] = hub_pts["place_id"]
    region_arg = regions_from(regions) if regions else None
    net = open_network(network)
    result = build_territories(net, locs, centre_pts, max_time_min=max_time, employment_centres=emp_pts,
                               employment_limit_min=employment_limit, hubs=hub_pts, options=route,
                               regions=region_arg, region_id_col=region_id_column, within_region=within_region)
    polys = territory_polygons(result, centre_pts)
    write_layers({"territories": polys, "localities": result}, output, overwrite)
    n_beyond = int((result["territory_status"] == "no_centre_within_limit").sum())
    echo_result(f"{len(polys)} territories around {len(centre_pts)} centres; {n_beyond} localities beyond the "
                f"limit -> {output}")
