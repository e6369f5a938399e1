"""Inputs shared by the criticality and appraisal commands (localities and tiers, the network in a
scenario's state), and the files a command writes beside its GeoPackage (all or nothing)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import geopandas as gpd

    from territorial_gis import RouteOptions
    from territorial_gis.network import RoadNetwork


def read_study_inputs(localities: str, tier_rules: Sequence[str], places: Mapping[str, Any]
                      ) -> tuple[gpd.GeoDataFrame, dict[str, gpd.GeoDataFrame]]:
    """Localities (:func:`territorial_gis.places.load_places` with the ``places_options`` given)
    and their ``--tier`` destinations."""
    from territorial_gis.errors import ConfigError
    from territorial_gis.places import load_places, load_tiers, parse_tier_options

    if not tier_rules:
        raise ConfigError("give at least one destination tier with --tier NAME=FILE_OR_RULE")
    locs = load_places(localities, **places)
    return locs, load_tiers(parse_tier_options(tier_rules), locs)


def read_class_areas(path: str | None, rules: object) -> gpd.GeoDataFrame | None:
    """The ``--areas`` polygons with their ``area_class`` (None without the option); a missing
    column, non-polygons or no ``--rules`` raise a clear error naming the file."""
    from territorial_gis._io import check_input
    from territorial_gis.errors import ColumnError, ConfigError, InputFileError
    from territorial_gis.outputs import read_layer

    if path is None:
        return None
    if rules is None:
        raise ConfigError("--areas needs --rules: the areas are re-classified with them")
    p = check_input(path, "areas file")
    areas = read_layer(p)
    if areas is None or not len(areas):
        raise InputFileError(f"{p}: no areas")
    if not areas.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise InputFileError(f"{p}: the areas must be polygons")
    if "area_class" not in areas:
        raise ColumnError(f"{p}: no 'area_class' column (classify the areas first, e.g. `tgis classify --areas`)")
    return areas


def open_scenario_network(network: str, profile: str | None, scenario_spec: str | None,
                  route: RouteOptions) -> tuple[RoadNetwork, RouteOptions]:
    """The network, and the routing options, in the scenario's state of the world when one is given."""
    from territorial_gis.network import open_network

    net = open_network(network, profile=profile)
    if scenario_spec:
        from territorial_gis.scenarios import apply_scenario

        applied = apply_scenario(net, scenario_spec, profile=profile)
        net, route = applied.network, applied.route_options(route, net)
    return net, route


def write_all(writers: Sequence[tuple[Path, Callable[[Path], None]]], overwrite: bool) -> None:
    """Write several files, each atomically; if one fails, the ones already written are removed."""
    from territorial_gis._io import atomic_output, check_outputs

    check_outputs(*(p for p, _ in writers), overwrite=overwrite)
    done: list[Path] = []
    try:
        for path, write in writers:
            with atomic_output(path, overwrite) as tmp:
                write(tmp)
            done.append(path)
    except BaseException:
        for p in done:
            p.unlink(missing_ok=True)
        raise
