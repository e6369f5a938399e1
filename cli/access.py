"""``tgis access``: travel times to the nearest destinations, OD matrices and isochrones."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ._console import echo_result
from ._options import (
    input_path,
    output_option,
    overwrite_option,
    places_options,
    profile_option,
    route_options,
)

if TYPE_CHECKING:
    from territorial_gis import RouteOptions

_NETWORK_HELP = ("NETWORK is a saved network (.tgnet, or .gpkg with layers nodes/edges) or an OSM file / "
                 "road line layer built on the fly.")


def _snap_options(f: Any) -> Any:
    return profile_option(route_options(f))


@click.group("access")
def access() -> None:
    """Travel times from localities to destination tiers (nearest, OD matrix, isochrones)."""


@access.command("nearest", epilog=_NETWORK_HELP)
@input_path("network")
@input_path("localities")
@click.option("--tier", "tiers", multiple=True, required=True, metavar="NAME=FILE_OR_RULE",
              help="A destination tier: a file of places or a rule over the localities "
                   "(population>=15000, jobs>=5000, top10:jobs, catalogue:conapo_sun). Repeatable.")
@places_options("LOCALITIES")
@_snap_options
@output_option()
@overwrite_option
def nearest(network: str, localities: str, tiers: tuple[str, ...], places: dict[str, Any],
            profile: str | None, route: RouteOptions, output: str, overwrite: bool) -> None:
    """Time from every locality to the nearest destination of each tier.

    Writes the localities with travel_time_<tier>_min, nearest_<tier>_id, access_leg_min,
    snap_dist_m and unreachable_reason (GPKG/GeoParquet/CSV by the extension of OUT).
    """
    from territorial_gis._io import TABLE_SUFFIXES, check_outputs
    from territorial_gis.access import population_within, travel_times_to_nearest
    from territorial_gis.columns import time_col
    from territorial_gis.network import open_network
    from territorial_gis.places import load_places, load_tiers, parse_tier_options

    spec = parse_tier_options(tiers)
    check_outputs(output, overwrite=overwrite, formats=TABLE_SUFFIXES)
    locs = load_places(localities, require_population=True, **places)
    net = open_network(network, profile=profile)
    tier_frames = load_tiers(spec, locs)
    table = travel_times_to_nearest(net, locs, tier_frames, options=route)
    _write(table, output, overwrite, "localities")
    echo_result(f"{len(table)} localities -> {output}")
    pw = population_within(table, (30, 60, 120, 240))
    for name in tier_frames:
        col = table[time_col(name)]
        shares = pw[pw["tier"] == name]
        within = ", ".join(f"{r.share_within:.0%} <= {r.threshold_min:g} min" for r in shares.itertuples())
        echo_result(f"  {name}: {len(tier_frames[name])} destinations; median {col.median():.1f} min; "
                    f"unreachable {int(col.isna().sum())}; population {within}")


@access.command("od", epilog=_NETWORK_HELP)
@input_path("network")
@input_path("origins")
@input_path("destinations")
@click.option("--cutoff", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Keep pairs within this many minutes.")
@places_options("ORIGINS and DESTINATIONS")
@_snap_options
@output_option()
@overwrite_option
def od(network: str, origins: str, destinations: str, cutoff: float | None, places: dict[str, Any],
       profile: str | None, route: RouteOptions, output: str, overwrite: bool) -> None:
    """Origin-destination travel times as a long table (from_id, to_id, travel_time_min).

    CSV or Parquet (.parquet, compact for large tables) by the extension of OUT; with a
    .gpkg/.geojson/.fgb OUT each pair is a straight line from origin to destination.
    """
    from territorial_gis._io import TABLE_SUFFIXES, check_outputs
    from territorial_gis.access import od_matrix
    from territorial_gis.network import open_network
    from territorial_gis.places import load_places

    check_outputs(output, overwrite=overwrite, formats=TABLE_SUFFIXES)
    o = load_places(origins, **places)
    d = load_places(destinations, **places)
    net = open_network(network, profile=profile)
    table = od_matrix(net, o, d, cutoff_min=cutoff, options=route)
    if output.lower().endswith((".gpkg", ".geojson", ".json", ".fgb")):
        import geopandas as gpd
        import numpy as np
        import shapely

        ox = o.set_index("place_id").geometry
        dx = d.set_index("place_id").geometry
        a = shapely.get_coordinates(ox.loc[table["from_id"]].to_numpy())
        b = shapely.get_coordinates(dx.loc[table["to_id"]].to_numpy())
        n = len(table)
        xy = np.empty((2 * n, 2))
        xy[0::2], xy[1::2] = a, b
        lines = shapely.linestrings(xy, indices=np.repeat(np.arange(n), 2)) if n else []
        table = gpd.GeoDataFrame(table, geometry=lines, crs=4326)
    _write(table, output, overwrite, "od")
    echo_result(f"{len(table)} origin-destination pairs -> {output}")


@access.command("isochrones", epilog=_NETWORK_HELP)
@input_path("network")
@input_path("destinations")
@click.option("--thresholds", default="15,30,60", show_default=True,
              help="Comma-separated minutes, increasing.")
@click.option("--buffer", "buffer_m", type=click.FloatRange(min=0, min_open=True), default=100.0,
              show_default=True, help="Metres around the reached roads that count as reached.")
@click.option("--bands", is_flag=True, help="Rings between thresholds (ring_area_km2, ring_road_km) instead "
                                            "of everything within each threshold (within_area_km2, ...).")
@click.option("--from", "from_destinations", is_flag=True,
              help="Time from the destinations instead of to them.")
@places_options("DESTINATIONS")
@_snap_options
@output_option()
@overwrite_option
def isochrones_command(network: str, destinations: str, thresholds: str, buffer_m: float, bands: bool,
                       from_destinations: bool, places: dict[str, Any], profile: str | None,
                       route: RouteOptions, output: str, overwrite: bool) -> None:
    """Polygons within each travel-time threshold of the nearest destination.

    Cumulative polygons by default: within_area_km2 and within_road_km of everything reached
    within each threshold (they never decrease); with --bands the rings between consecutive
    thresholds (ring_area_km2, ring_road_km).
    """
    from territorial_gis.access import check_thresholds, isochrones
    from territorial_gis.errors import ConfigError, TerritorialGISError
    from territorial_gis.network import open_network
    from territorial_gis.places import load_places

    try:
        ths = check_thresholds([float(t) for t in thresholds.replace(";", ",").split(",") if t.strip()])
    except (ValueError, TerritorialGISError):
        raise ConfigError(f"--thresholds {thresholds!r}: expected increasing positive minutes separated by "
                          "commas, e.g. 15,30,60") from None
    from territorial_gis._io import TABLE_SUFFIXES, check_outputs

    check_outputs(output, overwrite=overwrite, formats=TABLE_SUFFIXES)
    d = load_places(destinations, **places)
    net = open_network(network, profile=profile)
    iso = isochrones(net, d, ths, direction="from" if from_destinations else "to", buffer_m=buffer_m,
                     bands=bands, options=route)
    _write(iso, output, overwrite, "isochrones")
    echo_result(f"{len(iso)} isochrones ({', '.join(f'{t:g}' for t in ths)} min) -> {output}")
    kind = "ring" if bands else "within"
    for r in iso.to_dict("records"):
        band = f"{r['min_time_min']:g}-{r['threshold_min']:g} min" if bands else f"<= {r['threshold_min']:g} min"
        echo_result(f"  {band}: {r[kind + '_area_km2']:.1f} km2, {r[kind + '_road_km']:.1f} km of road")


def _write(df: Any, output: str, overwrite: bool, layer: str) -> None:
    from territorial_gis._io import write_table

    # an explicit layer name: GeoPackage would otherwise name it after the temporary file
    write_table(df, output, overwrite=overwrite, layer=layer)
