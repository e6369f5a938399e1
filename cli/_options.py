"""Options shared by the commands, each spelled once (rasterio's ``rio/options.py`` is the model).

A command takes a concept through the decorator below, never through its own ``click.option``,
so ``--max-snap-m`` means the same thing, with the same default and help, everywhere.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from territorial_gis import settings

F = TypeVar("F", bound=Callable[..., Any])


def output_option(required: bool = True, help: str = "Output file (format by extension).") -> Callable[[F], F]:
    """``-o/--output PATH``."""
    return click.option("-o", "--output", "output", type=click.Path(dir_okay=True), required=required,
                        help=help)


def overwrite_option(f: F) -> F:
    """``--overwrite``: replace existing outputs."""
    return click.option("--overwrite", is_flag=True, help="Replace existing outputs.")(f)


def input_path(name: str) -> Callable[[F], F]:
    """A positional input path; existence is checked by the library (clear message, exit 1)."""
    return click.argument(name, type=click.Path(dir_okay=True))


def profile_option(f: F) -> F:
    """``--profile``: speed profile of a network built on the fly (a TOML file or a shipped name)."""
    return click.option("--profile", default=None,
                        help="Speed profile (TOML file or shipped name: drive, walk) when NETWORK is built "
                             "on the fly; also the upgrade speeds of corridors.")(f)


def scenario_option(help: str = "Route on the network in a scenario's state of the world: a scenario TOML "
                                "file or a built-in season (wet), as in `tgis scenario`.") -> Callable[[F], F]:
    """``--scenario SCENARIO`` (a scenario file or a built-in season), as ``scenario_spec``."""
    return click.option("--scenario", "scenario_spec", default=None, metavar="SCENARIO", help=help)


def class_areas_option(f: F) -> F:
    """``--areas FILE``: the classified areas the localities took their class from."""
    return click.option("--areas", "class_areas", default=None, type=click.Path(dir_okay=False),
                        help="The classified polygon areas (with area_class, e.g. a study's areas.gpkg) when "
                             "LOCALITIES took the class of their area: the areas are re-classified from their "
                             "localities' new times and every locality moves with its area. Needs --rules.")(f)


def route_options(f: F) -> F:
    """``--max-snap-m`` and ``--walk-kph``, handed to the command as one ``route`` object
    (:class:`territorial_gis.RouteOptions`)."""

    @click.option("--walk-kph", type=click.FloatRange(min=0, min_open=True), default=None,
                  help="Off-road walking speed from a place to the road (default: the network profile's, "
                       f"else {settings.walk_kph:g} km/h).")
    @click.option("--max-snap-m", type=click.FloatRange(min=0, min_open=True), default=None,
                  help="Places farther than this many metres from a road are too_far_from_road "
                       f"(default: {settings.max_snap_m:g}).")
    @functools.wraps(f)
    def wrapper(*args: Any, max_snap_m: float | None, walk_kph: float | None, **kwargs: Any) -> Any:
        from territorial_gis._routing import RouteOptions

        route = RouteOptions.from_mapping({"max_snap_m": max_snap_m, "walk_kph": walk_kph})
        return f(*args, route=route, **kwargs)

    return wrapper  # type: ignore[return-value]


#: keyword arguments of :func:`territorial_gis.places.load_places` taken by :func:`places_options`
PLACES_KEYS = ("id_col", "pop_col", "name_col", "lon_col", "lat_col", "crs", "layer", "sheet", "encoding",
               "decimal", "thousands")


def places_options(what: str = "the places file", dest: str = "places") -> Callable[[F], F]:
    """The options of a places file, handed to the command as one mapping (parameter ``dest``)
    of :func:`territorial_gis.places.load_places` keywords (only those given).

    ``--id-col``, ``--pop-col``, ``--name-col``, ``--lon-col``, ``--lat-col``, ``--crs``,
    ``--layer``, ``--sheet``, ``--encoding``, ``--decimal``, ``--thousands``.
    """

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            given = {k: kwargs.pop(k) for k in PLACES_KEYS}
            kwargs[dest] = {k: v for k, v in given.items() if v is not None}
            return f(*args, **kwargs)

        options = [
            click.option("--id-col", default=None, metavar="COLUMN",
                         help=f"Identifier column of {what} (default: detected: id, place_id, cvegeo, ...)."),
            click.option("--pop-col", default=None, metavar="COLUMN",
                         help=f"Population column of {what} (default: detected: population, poblacion, "
                              "pop, ...); it must exist."),
            click.option("--name-col", default=None, metavar="COLUMN",
                         help=f"Name column of {what} (default: detected: name, nombre, ...)."),
            click.option("--lon-col", default=None, metavar="COLUMN",
                         help=f"Longitude (or x) column of {what} when it is a table (default: detected: "
                              "lon, longitud, x, ...)."),
            click.option("--lat-col", default=None, metavar="COLUMN",
                         help=f"Latitude (or y) column of {what} when it is a table (default: detected)."),
            click.option("--crs", default=None, metavar="CRS",
                         help=f"CRS of the coordinates of {what} when it is a table (default EPSG:4326), or "
                              "of a vector file that declares none, e.g. EPSG:32614."),
            click.option("--layer", default=None, help=f"Layer of {what} when it is a multi-layer file "
                                                       "(GeoPackage)."),
            click.option("--sheet", default=None, help=f"Sheet of {what} when it is an Excel workbook "
                                                       "(name or 1-based number; default the first)."),
            click.option("--encoding", default=None,
                         help=f"Encoding of {what} when it is a CSV/TSV or shapefile (default: detected; "
                              "e.g. utf-8, cp1252, latin-1)."),
            click.option("--decimal", type=click.Choice([".", ","]), default=None,
                         help=f"Decimal mark of numbers written as text in {what} (default: detected per "
                              "column; ambiguous columns are refused)."),
            click.option("--thousands", type=click.Choice([".", ",", "space", "none"]), default=None,
                         help=f"Thousands separator of numbers written as text in {what} (default: "
                              "detected per column)."),
        ]
        for option in reversed(options):
            wrapper = option(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorate


def given(*params: str) -> list[str]:
    """The options among ``params`` (parameter names) that the user gave on the command line,
    spelled as options; so a command can refuse the ones that do not apply instead of ignoring them."""
    from click.core import ParameterSource

    ctx = click.get_current_context()
    out = []
    for name in params:
        if ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
            out.append("--" + name.replace("_", "-"))
    return out
