"""What a command prints: one convention for every command.

* **stdout**: the result summary of the command (files written, counts, medians), unless
  ``-q``; and for commands whose result *is* text (``tgis network info``) the text itself,
  always.
* **stderr**: log lines (INFO by default, WARNING and above with ``-q``, DEBUG with ``-vv``),
  progress bars, and the one ``Error:`` line of a failure.
"""

from __future__ import annotations

import click


def quiet() -> bool:
    """Whether ``-q`` was given to the ``tgis`` group."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and (ctx.find_root().obj or {}).get("quiet"))


def echo_result(text: str) -> None:
    """Print a line of the result summary on stdout (nothing with ``-q``)."""
    if not quiet():
        click.echo(text)
