"""``tgis access``: travel times to the nearest destinations, OD matrices and isochrones."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ._options import input_path, output_option, overwrite_option, profile_option, route_options

if TYPE_CHECKING:
    from territorial_gis import RouteOptions

_NETWORK_HELP = ("NETWORK is a saved network (.tgnet, or .gpkg with layers nodes/edges) or an OSM file / "
                 "road line layer built on the fly.")


def _snap_options(f: Any) -> Any:
    return profile_option(route_options(f))


def _places_options(f: Any) -> Any:
    f = click.option("--pop-col", default=None, help="Population column of the localities.")(f)
    f = click.option("--id-col", default=None, help="Identifier column of the localities.")(f)
    return f


@click.group("access")
def access() -> None:
    """Travel times from localities to destination tiers (nearest, OD matrix, isochrones)."""


@access.command("nearest", epilog=_NETWORK_HELP)
@input_path("network")
@input_path("localities")
@click.option("--tier", "tiers", multiple=True, required=True, metavar="NAME=FILE_OR_RULE",
              help="A destination tier: a file of places or a rule over the localities "
                   "(population>=15000, jobs>=5000, top10:jobs, catalogue:conapo_sun). Repeatable.")
@_places_options
@_snap_options
@output_option()
@overwrite_option
def nearest(network: str, localities: str, tiers: tuple[str, ...], id_col: str | None, pop_col: str | None,
            profile: str | None, route: RouteOptions, output: str,
            overwrite: bool) -> None:
    """Time from every locality to the nearest destination of each tier.

    Writes the localities with travel_time_<tier>_min, nearest_<tier>_id, access_leg_min,
    snap_dist_m and unreachable_reason (GPKG/GeoParquet/CSV by the extension of OUT).
    """
    from territorial_gis.access import open_network, population_within, travel_times_to_nearest
    from territorial_gis.places import load_places, load_tiers, parse_tier_options

    spec = parse_tier_options(tiers)
    from territorial_gis._io import check_outputs

    check_outputs(output, overwrite=overwrite)
    net = open_network(network, profile=profile)
    locs = load_places(localities, id_col=id_col, pop_col=pop_col, require_population=True)
    tier_frames = load_tiers(spec, locs)
    table = travel_times_to_nearest(net, locs, tier_frames, options=route)
    _write(table, output, overwrite, "localities")
    click.echo(f"{len(table)} localities -> {output}")
    pw = population_within(table, (30, 60, 120, 240))
    for name in tier_frames:
        col = table[f"travel_time_{name}_min"]
        shares = pw[pw["tier"] == name]
        within = ", ".join(f"{r.share_within:.0%} <= {r.threshold_min:g} min" for r in shares.itertuples())
        click.echo(f"  {name}: {len(tier_frames[name])} destinations; median {col.median():.1f} min; "
                   f"unreachable {int(col.isna().sum())}; population {within}")


@access.command("od", epilog=_NETWORK_HELP)
@input_path("network")
@input_path("origins")
@input_path("destinations")
@click.option("--cutoff", type=float, default=None, help="Keep pairs within this many minutes.")
@_snap_options
@output_option()
@overwrite_option
def od(network: str, origins: str, destinations: str, cutoff: float | None, profile: str | None,
       route: RouteOptions, output: str, overwrite: bool) -> None:
    """Origin-destination travel times as a long table (from_id, to_id, travel_time_min).

    With a .gpkg/.geojson/.fgb OUT each pair is a straight line from origin to destination.
    """
    from territorial_gis._io import check_outputs
    from territorial_gis.access import od_matrix, open_network
    from territorial_gis.places import load_places

    check_outputs(output, overwrite=overwrite)
    net = open_network(network, profile=profile)
    o = load_places(origins)
    d = load_places(destinations)
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
    click.echo(f"{len(table)} origin-destination pairs -> {output}")


@access.command("isochrones", epilog=_NETWORK_HELP)
@input_path("network")
@input_path("destinations")
@click.option("--thresholds", default="15,30,60", show_default=True,
              help="Comma-separated minutes, increasing.")
@click.option("--buffer", "buffer_m", type=float, default=100.0, show_default=True,
              help="Metres around the reached roads that count as reached.")
@click.option("--bands", is_flag=True, help="Rings between thresholds instead of cumulative areas.")
@click.option("--from", "from_destinations", is_flag=True,
              help="Time from the destinations instead of to them.")
@_snap_options
@output_option()
@overwrite_option
def isochrones_command(network: str, destinations: str, thresholds: str, buffer_m: float, bands: bool,
                       from_destinations: bool, profile: str | None, route: RouteOptions, output: str,
                       overwrite: bool) -> None:
    """Polygons within each travel-time threshold of the nearest destination."""
    from territorial_gis.access import isochrones, open_network
    from territorial_gis.errors import ConfigError
    from territorial_gis.places import load_places

    try:
        ths = [float(t) for t in thresholds.replace(";", ",").split(",") if t.strip()]
    except ValueError:
        raise ConfigError(f"--thresholds {thresholds!r}: expected comma-separated minutes, e.g. 15,30,60") from None
    from territorial_gis._io import check_outputs

    check_outputs(output, overwrite=overwrite)
    net = open_network(network, profile=profile)
    d = load_places(destinations)
    iso = isochrones(net, d, ths, direction="from" if from_destinations else "to", buffer_m=buffer_m,
                     bands=bands, options=route)
    _write(iso, output, overwrite, "isochrones")
    click.echo(f"{len(iso)} isochrones ({', '.join(f'{t:g}' for t in ths)} min) -> {output}")
    for r in iso.itertuples():
        click.echo(f"  <= {r.threshold_min:g} min: {r.area_km2:.1f} km2, {r.road_km:.1f} km of road")


def _write(df: Any, output: str, overwrite: bool, layer: str) -> None:
    from territorial_gis._io import write_table

    # an explicit layer name: GeoPackage would otherwise name it after the temporary file
    write_table(df, output, overwrite=overwrite, layer=layer)
