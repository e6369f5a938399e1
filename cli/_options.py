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
