"""Assertions shared by the CLI bad-input tests."""

from __future__ import annotations

from pathlib import Path


def assert_one_error(output: str, message: str, out: Path | None = None) -> None:
    """The command printed exactly one line, ``Error: ...`` holding ``message``, no traceback,
    and (when ``out`` is given) wrote no output file."""
    lines = [ln for ln in output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), output
    assert message in lines[0], lines[0]
    assert "Traceback" not in output
    if out is not None:
        assert not out.exists()


def assert_cli_fails(args: list[str], message: str, out: Path | None = None) -> None:
    """``tgis ARGS`` exits with code 1 and :func:`assert_one_error` holds."""
    from click.testing import CliRunner
    from territorial_gis.cli import main

    res = CliRunner().invoke(main, args)
    assert res.exit_code == 1, res.output
    assert_one_error(res.output, message, out)
