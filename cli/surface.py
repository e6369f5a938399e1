"""``tgis surface``: accessibility surfaces over terrain, rivers and roads (travel-time rasters)."""

from __future__ import annotations

from typing import Any

import click

from ._console import echo_result
from ._options import overwrite_option


def _pair(value: str | None, what: str, n: int) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        parts = tuple(float(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{what} must be {n} comma-separated numbers, got {value!r}") from None
    if len(parts) != n:
        raise click.BadParameter(f"{what} must be {n} comma-separated numbers, got {value!r}")
    return parts


def _grid_options(f: Any) -> Any:
    f = click.option("--walk-kph", type=float, default=None,
                     help="Walking speed on flat open ground (default: settings.walk_kph, 4 km/h).")(f)
    f = click.option("--moves", type=click.Choice(["4", "8", "16"]), default="16", show_default=True,
                     help="Neighbours of a cell (16: at most 2.75 % longer than the straight line).")(f)
    f = click.option("--cut-corners", is_flag=True,
                     help="Let diagonal and knight moves pass between barrier cells (as gdistance).")(f)
    return f


@click.group("surface")
def surface() -> None:
    """Accessibility surfaces: minutes from every cell to the nearest destination (Cloud-Optimised GeoTIFFs)."""


@surface.command("times")
@click.argument("network", required=False, type=click.Path(dir_okay=False))
@click.option("--tier", "tiers", multiple=True, required=True, metavar="NAME=FILE_OR_RULE",
              help="A destination tier: a file of places or a rule over --localities. Repeatable.")
@click.option("--localities", default=None, type=click.Path(dir_okay=False),
              help="Localities: their times, legs and trip modes are written too; rules select tiers from them.")
@click.option("--areas", default=None, type=click.Path(dir_okay=False),
              help="Polygons for zonal statistics (population-weighted with --localities' population).")
@click.option("--area-id-col", "area_id", default=None, help="Identifier column of --areas (default: the row number).")
@click.option("--dem", default=None, type=click.Path(dir_okay=False), help="Elevation raster: Tobler's slope factor.")
@click.option("--landcover", default=None, type=click.Path(dir_okay=False), help="Land-cover class raster.")
@click.option("--landcover-table", default=None, help="Land-cover speed table (TOML; default ESA WorldCover).")
@click.option("--barrier", "barriers", multiple=True, type=click.Path(dir_okay=False),
              help="Water polygons or river lines not to be walked across (any vector layer). Repeatable.")
@click.option("--waterway", default=None, type=click.Path(dir_okay=False),
              help="Navigable rivers (lines, or river polygons reduced to their centre line).")
@click.option("--river-class", default="major", show_default=True, help="Boat-profile class of the waterway.")
@click.option("--river-class-col", "river_class_column", default=None, help="Column of the waterway layer holding each river's class.")
@click.option("--flow", type=click.Choice(["outlet", "dem", "digitised", "reversed"]), default=None,
              help="Flow direction of the waterway (default: outlet if given, else dem).")
@click.option("--outlet", default=None, metavar="LON,LAT", help="Mouth of the waterway (or where it leaves the area).")
@click.option("--boat-profile", default=None, help="Boat speeds (TOML; default the built-in boat profile).")
@click.option("--landing-reach", type=float, default=None, metavar="M",
              help="Roads and landings this close to the waterway are landings (default: the boat profile's).")
@click.option("--crossings", default=None, type=click.Path(dir_okay=False),
              help="Fords and ferries (lines bank to bank or points) with a time_min column.")
@click.option("--landings", default=None, type=click.Path(dir_okay=False),
              help="Settlements or ports where boats stop (points; default: the tiers' destinations and the "
                   "localities with a population).")
@click.option("--resolution", type=float, default=None, help="Cell size in metres (default: from the area's size).")
@click.option("--roads", type=click.Choice(["network", "burn"]), default="network", show_default=True,
              help="Join the exact network to the grid, or burn roads into the friction.")
@click.option("--bounds", default=None, metavar="W,S,E,N", help="Study area (lon/lat) besides the network and points.")
@_grid_options
@click.option("-o", "--output", "output", required=True, type=click.Path(file_okay=False),
              help="Output folder: surface_<tier>.tif per tier, surface.json, surface_bands.csv (land and "
                   "population by travel-time band), and with --localities / --areas surface_localities.gpkg / "
                   "surface_zonal.csv.")
@overwrite_option
def times(network: str | None, tiers: tuple[str, ...], localities: str | None, areas: str | None,
          area_id: str | None, dem: str | None, landcover: str | None, landcover_table: str | None,
          barriers: tuple[str, ...], waterway: str | None, river_class: str, river_class_column: str | None,
          flow: str | None, outlet: str | None, boat_profile: str | None, landing_reach: float | None,
          crossings: str | None,
          landings: str | None, resolution: float | None, roads: str, bounds: str | None, walk_kph: float | None,
          moves: str, cut_corners: bool, output: str, overwrite: bool) -> None:
    """Travel-time surfaces from NETWORK (optional: walking and boats only without it) to each tier."""
    from pathlib import Path

    from territorial_gis import outputs
    from territorial_gis._io import check_outputs
    from territorial_gis.places import load_places, load_tiers, parse_tier_options
    from territorial_gis.surfaces import SurfaceOptions, WaterwaySpec, build_surface, surface_file

    out = Path(output)
    spec = parse_tier_options(tiers)
    files = [out / surface_file(t) for t in spec] + [out / outputs.SURFACE_JSON, out / outputs.SURFACE_BANDS]
    files += [out / outputs.SURFACE_LOCALITIES] if localities else []
    files += [out / outputs.SURFACE_ZONAL] if areas else []
    check_outputs(*files, overwrite=overwrite)
    opts = SurfaceOptions(resolution_m=resolution, moves=int(moves), roads=roads, walk_kph=walk_kph,
                          cut_corners=cut_corners)
    opts.check()
    outlet_ll = _pair(outlet, "--outlet", 2)
    ways = [WaterwaySpec(waterway, river_class=river_class, class_column=river_class_column, flow=flow,
                         outlet=(outlet_ll[0], outlet_ll[1]) if outlet_ll else None, profile=boat_profile,
                         landing_reach_m=landing_reach)
            ] if waterway else []
    net = None
    if network:
        from territorial_gis.network import open_network

        net = open_network(network)
    locs = load_places(localities) if localities else None
    tier_frames = load_tiers(spec, locs)
    from territorial_gis.surfaces import settlements

    land = load_places(landings) if landings else (settlements(tier_frames, locs) if ways else None)
    surf = build_surface(network=net, bounds=_pair(bounds, "--bounds", 4),
                         points=[p for p in (locs, *tier_frames.values()) if p is not None],
                         dem=dem, landcover=landcover, landcover_table=landcover_table, barriers=barriers,
                         waterways=ways, crossings=crossings, landings=land, options=opts)
    from territorial_gis.surfaces import write_surface_outputs

    written = write_surface_outputs(surf, tier_frames, out, localities=locs, areas=areas, area_id=area_id,
                                    overwrite=overwrite)
    d = surf.describe()
    echo_result(f"surface: {surf.grid.width} x {surf.grid.height} cells of {d['resolution_m']:g} m; "
               f"terrain: {d['terrain']}")
    for path in written:
        echo_result(f"  -> {path}")


@surface.command("cost")
@click.option("--friction", default=None, type=click.Path(dir_okay=False),
              help="Ready friction raster (see --unit): cost-distance directly on it.")
@click.option("--unit", type=click.Choice(["min_per_m", "s_per_m"]), default="min_per_m", show_default=True,
              help="Unit of --friction.")
@click.option("--speed", default=None, type=click.Path(dir_okay=False), help="Ready speed raster (km/h).")
@click.option("--road-speed", default=None, type=click.Path(dir_okay=False),
              help="Road speeds (km/h) where roads are, 0 or nodata elsewhere.")
@click.option("--slope", default=None, type=click.Path(dir_okay=False), help="Slope raster (see --slope-unit).")
@click.option("--slope-unit", type=click.Choice(["percent", "degrees"]), default="percent", show_default=True)
@click.option("--landcover", default=None, type=click.Path(dir_okay=False), help="Land-cover class raster.")
@click.option("--landcover-table", default=None, help="Land-cover speed table (TOML; default ESA WorldCover).")
@click.option("--to", "destinations", required=True, type=click.Path(dir_okay=False),
              help="Destinations (a file of points).")
@_grid_options
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False),
              help="Output Cloud-Optimised GeoTIFF (minutes, float32, NaN where unreachable).")
@overwrite_option
def cost(friction: str | None, unit: str, speed: str | None, road_speed: str | None, slope: str | None,
         slope_unit: str, landcover: str | None, landcover_table: str | None, destinations: str,
         walk_kph: float | None, moves: str, cut_corners: bool, output: str, overwrite: bool) -> None:
    """Cost-distance on rasters alone (AccessMod-style): a ready friction or speed raster, or
    road-speed, slope and land-cover rasters on one grid."""
    from territorial_gis._io import check_outputs
    from territorial_gis.places import load_places
    from territorial_gis.surfaces import SurfaceOptions, surface_from_rasters, write_surface_cog

    check_outputs(output, overwrite=overwrite)
    opts = SurfaceOptions(moves=int(moves), walk_kph=walk_kph, cut_corners=cut_corners)
    surf = surface_from_rasters(friction=friction, friction_unit=unit, speed=speed, road_speed=road_speed,
                                slope=slope, slope_unit=slope_unit, landcover=landcover,
                                landcover_table=landcover_table, options=opts)
    dest = load_places(destinations)
    minutes, _near = surf.travel_times(dest)
    write_surface_cog(minutes, surf.grid, output, tags={"destinations": destinations, **surf.meta},
                      overwrite=overwrite)
    reached = minutes[~(minutes != minutes)]
    echo_result(f"{len(dest)} destinations; {reached.size} of {minutes.size} cells reach one "
               f"(median {float(_median(reached)):.1f} min) -> {output}")


def _median(a: Any) -> float:
    import numpy as np

    return float(np.median(a)) if a.size else float("nan")
