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
    "surface": ("territorial_gis.cli.surface", "surface"),
    "criticality": ("territorial_gis.cli.criticality", "criticality"),
    "appraise": ("territorial_gis.cli.appraise", "appraise"),
    "join": ("territorial_gis.cli.join", "join"),
    "typology": ("territorial_gis.cli.typology", "typology"),
    "compare": ("territorial_gis.cli.compare", "compare"),
    "microregions": ("territorial_gis.cli.microregions", "microregions"),
    "map": ("territorial_gis.cli.map", "map_command"),
    "report": ("territorial_gis.cli.report", "report"),
    "run": ("territorial_gis.cli.run", "run"),
    "batch": ("territorial_gis.cli.batch", "batch"),
    "doctor": ("territorial_gis.cli.doctor", "doctor"),
    "scenario": ("territorial_gis.cli.scenario", "scenario"),
    "rai": ("territorial_gis.cli.rai", "rai"),
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
            _fail(ctx, str(exc), exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
        except OSError as exc:  # a disk full or a file vanishing mid-run: one line, not a traceback
            where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
            _fail(ctx, f"{exc.strerror or exc}{where}", 1)
        except Exception as exc:  # noqa: BLE001 - a bug: one line, the traceback only with -v
            _fail(ctx, f"internal error ({type(exc).__name__}: {exc}); please report it with the output of "
                       "`tgis doctor` and `tgis -v ...`", 1)


def _fail(ctx: click.Context, message: str, code: int) -> None:
    """Print the one ``Error:`` line (and the traceback with -v) and exit with ``code``."""
    if (ctx.obj or {}).get("verbose", 0):
        logging.getLogger("territorial_gis").exception("failed")
    click.echo(f"Error: {message}", err=True)
    ctx.exit(code)


def _configure_logging(verbose: int, quiet: bool) -> None:
    """Log lines on stderr, written through the progress bar's writer (see
    :class:`territorial_gis._progress.ProgressAwareHandler`) so neither overwrites the other."""
    from territorial_gis._progress import ProgressAwareHandler, set_progress

    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logger = logging.getLogger("territorial_gis")
    logger.handlers.clear()
    handler = ProgressAwareHandler(sys.stderr)
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
    _terminate_cleanly()


def _terminate_cleanly() -> None:
    """A termination request (SIGTERM: a job scheduler, `kill`) ends the command as Ctrl-C does:
    the staging folders and temporary files are removed on the way out (exit code 143)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def _stop(signum: int, _frame: Any) -> None:
        click.echo("Error: terminated; nothing half-written is left", err=True)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _stop)


if __name__ == "__main__":  # pragma: no cover
    main()
