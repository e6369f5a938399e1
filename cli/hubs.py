"""``tgis hubs``: hub localities by travel time, with their hinterlands."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

from ._console import echo_result
from ._options import input_path, output_option, overwrite_option, places_options, route_options

if TYPE_CHECKING:
    import geopandas as gpd

    from territorial_gis import RouteOptions



def read_localities(path: str, places: Mapping[str, Any]) -> gpd.GeoDataFrame:
    """Localities through :func:`territorial_gis.places.load_places` with the ``places`` options."""
    from territorial_gis.places import load_places

    return load_places(path, **places)


def write_layers(layers: dict[str, Any], output: str, overwrite: bool) -> None:
    """Write GeoDataFrames as layers of one GeoPackage, atomically."""
    from pathlib import Path

    from territorial_gis._io import write_gpkg_layers
    from territorial_gis.errors import OutputError

    out = Path(output)
    if out.suffix.lower() != ".gpkg":
        raise OutputError(f"output {out} must be a GeoPackage (.gpkg): it holds the layers "
                             f"{', '.join(layers)}")
    write_gpkg_layers(layers, out, overwrite=overwrite)


@click.command("hubs")
@input_path("network")
@input_path("localities")
@click.option("--max-time", "max_time", type=float, required=True, metavar="MIN",
              help="T: a locality is covered by a hub it reaches within T minutes.")
@click.option("--model", type=click.Choice(["cover", "maxcover", "pmedian"]), default="cover", show_default=True,
              help="cover: fewest hubs covering every coverable locality; maxcover: K hubs covering the "
                   "most population; pmedian: K hubs minimising population-weighted time.")
@click.option("--k", "k", type=int, default=None, help="Number of hubs (maxcover, pmedian).")
@click.option("--method", type=click.Choice(["exact", "greedy", "auto"]), default="auto", show_default=True,
              help="exact: spopt + CBC (optimal); greedy: fast heuristics; auto: exact when small.")
@click.option("--min-population", type=float, default=None, help="Candidate hubs need this population.")
@click.option("--service-col", "service_column", default=None, help="Candidate hubs need this column truthy (e.g. schools).")
@click.option("--candidates", "candidate_ids", default=None, metavar="ID;ID;...",
              help="Candidate hubs restricted to these locality ids.")
@places_options("LOCALITIES")
@route_options
@output_option(help="Output GeoPackage with layers hubs, hinterlands, localities.")
@overwrite_option
def hubs(network: str, localities: str, max_time: float, model: str, k: int | None, method: str,
         min_population: float | None, service_column: str | None, candidate_ids: str | None,
         places: dict[str, Any], route: RouteOptions, output: str, overwrite: bool) -> None:
    """Choose hub localities of LOCALITIES by travel time over NETWORK and map their hinterlands.

    NETWORK is a saved network (.tgnet, network .gpkg) or an OSM/road-line file built on the
    fly; LOCALITIES a CSV (lon/lat) or vector file of points with ids and population.
    """
    from territorial_gis._io import check_outputs
    from territorial_gis.errors import ConfigError
    from territorial_gis.hubs import (
        assign_hinterlands,
        candidate_mask,
        check_max_time,
        hinterland_polygons,
        select_hubs,
        summarize_hubs,
    )

    t = check_max_time(max_time)
    if model in ("maxcover", "pmedian") and k is None:
        raise ConfigError(f"--model {model} needs --k (the number of hubs)")
    if k is not None and k < 1:
        raise ConfigError(f"--k must be a positive whole number, got {k}")
    if k is not None and model == "cover":
        raise ConfigError("--k applies to --model maxcover and pmedian; --model cover finds the fewest hubs "
                          "itself")
    check_outputs(output, overwrite=overwrite, formats=(".gpkg",))
    locs = read_localities(localities, places)
    ids = [x.strip() for x in candidate_ids.replace(",", ";").split(";") if x.strip()] if candidate_ids else None
    mask = candidate_mask(locs, ids, min_population=min_population, service_column=service_column)
    if k is not None and k > int(mask.sum()):
        raise ConfigError(f"--k {k} is larger than the {int(mask.sum())} candidate hubs")
    from territorial_gis.network import open_network

    net = open_network(network)
    selection = select_hubs(net, locs, t, model=model, k=k, candidates=mask, method=method, options=route)
    chosen = selection.hubs
    assigned = assign_hinterlands(net, locs, chosen, max_time_min=t, options=route)
    assigned["covered_reason"] = selection.covered_reason(assigned)
    summary = summarize_hubs(assigned, chosen)
    hub_layer = chosen.merge(summary.drop(columns=["hub_population"]), on="hub_id", how="left")
    polys = hinterland_polygons(assigned).merge(
        summary.drop(columns=["n_localities"]), on="hub_id", how="left")
    write_layers({"hubs": hub_layer, "hinterlands": polys, "localities": assigned}, output, overwrite)
    echo_result(f"{len(chosen)} hubs ({model}, {selection.method}{', optimal' if selection.optimal else ''}); "
                f"{selection.n_covered} of {selection.n_localities} localities within {t:g} min; "
                f"{selection.n_uncovered} uncovered -> {output}")
