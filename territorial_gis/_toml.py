"""TOML settings files (profiles, schemas, rules, study and batch configs): one reader."""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """Parse TOML ``text``; a syntax error becomes a ConfigError naming ``source``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc})") from None


def read_toml(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """Read a TOML file; a missing file or bad TOML is a ConfigError naming the file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{what} not found: {p}")
    try:
        text = p.read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not a UTF-8 text file ({exc})") from None
    return parse_toml(text, str(p))


def read_builtin_or_file(name_or_path: str | os.PathLike[str], package: str, what: str
                         ) -> tuple[dict[str, Any], str]:
    """A TOML shipped in ``package`` (by bare name, e.g. ``"drive"``) or a user file.

    Returns ``(data, source)`` where ``source`` names the file for messages. A name that is
    neither a built-in nor an existing file is an InputFileError.
    """
    from .errors import InputFileError

    text_name = str(name_or_path)
    builtin = resources.files(package).joinpath(f"{text_name}.toml")
    if os.sep not in text_name and not Path(text_name).is_file() and builtin.is_file():
        return parse_toml(builtin.read_text("utf-8"), f"<built-in {text_name} {what}>"), \
            f"<built-in {text_name} {what}>"
    p = Path(name_or_path)
    if not p.is_file():
        raise InputFileError(f"{what} not found: {p}")
    return parse_toml(p.read_text("utf-8", errors="replace"), str(p)), str(p)
