"""Command-line interface: ``territorial-gis`` (alias ``tgis``).

A thin face over the library: each command lives in its own module of this package and
imports the heavy libraries only when it runs. Installed as ``territorial_gis.cli``.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from typing import Any

import click

from territorial_gis import __version__

# command name -> (module, attribute); a module that is not present is simply not listed
COMMANDS: dict[str, tuple[str, str]] = {
    "network": ("territorial_gis.cli.network", "network"),
    "access": ("territorial_gis.cli.access", "access"),
    "classify": ("territorial_gis.cli.classify", "classify"),
    "corridors": ("territorial_gis.cli.corridors", "corridors"),
    "hubs": ("territorial_gis.cli.hubs", "hubs"),
    "territories": ("territorial_gis.cli.territories", "territories"),
    "microregions": ("territorial_gis.cli.microregions", "microregions"),
    "map": ("territorial_gis.cli.map", "map_command"),
    "report": ("territorial_gis.cli.report", "report"),
    "run": ("territorial_gis.cli.run", "run"),
    "batch": ("territorial_gis.cli.batch", "batch"),
    "doctor": ("territorial_gis.cli.doctor", "doctor"),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        for name, (module, _attr) in COMMANDS.items():
            if importlib.util.find_spec(module) is not None:
                names.add(name)
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is not None:
            return cmd
        if cmd_name not in COMMANDS:
            return None
        module, attr = COMMANDS[cmd_name]
        if importlib.util.find_spec(module) is None:
            return None
        found: click.Command = getattr(importlib.import_module(module), attr)
        return found

    def invoke(self, ctx: click.Context) -> Any:
        from territorial_gis.errors import TerritorialGISError

        try:
            return super().invoke(ctx)
        except TerritorialGISError as exc:
            verbose = (ctx.obj or {}).get("verbose", 0)
            if verbose:
                logging.getLogger("territorial_gis").exception("failed")
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - a bug: one line, the traceback only with -v
            if (ctx.obj or {}).get("verbose", 0):
                logging.getLogger("territorial_gis").exception("internal error")
            click.echo(f"Error: internal error ({type(exc).__name__}: {exc}); please report it with "
                       "the output of `tgis doctor` and `tgis -v ...`", err=True)
            ctx.exit(1)


def _configure_logging(verbose: int, quiet: bool) -> None:
    from territorial_gis._progress import set_progress

    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logger = logging.getLogger("territorial_gis")
    logger.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"
                                           if verbose else "%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    set_progress(False if quiet else None)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="territorial-gis")
@click.option("-v", "--verbose", count=True, help="More log output; tracebacks on errors.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors; no progress bars.")
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """territorial-gis: who is cut off from markets and jobs, and which roads would link them.

    Build road networks from OpenStreetMap or road line layers, compute travel times from
    localities to employment centres and intermediate cities, classify marginal (MRA) and
    favorable (FRA) rural areas, suggest corridors, pick hubs and territories, and map it all.
    """
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    ctx.obj["quiet"] = quiet
    _configure_logging(verbose, quiet)


if __name__ == "__main__":  # pragma: no cover
    main()
