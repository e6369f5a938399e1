"""Options shared by the commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

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
