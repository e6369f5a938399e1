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
