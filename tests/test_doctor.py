"""`tgis doctor`: the installation report a user pastes into a bug report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from territorial_gis.cli import main

import territorial_gis


def test_doctor_reports_kernels_engines_and_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    (cache / "networks").mkdir(parents=True)
    (cache / "networks" / "a.tgnet").write_bytes(b"x" * 1_500_000)
    monkeypatch.setenv("TGIS_CACHE_DIR", str(cache))
    r = CliRunner().invoke(main, ["doctor", "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["territorial-gis"] == territorial_gis.__version__
    # every .pyx of the package is reported as a compiled module that loads
    pyx = sorted(p.stem for p in Path(territorial_gis.__file__).parent.glob("*.pyx"))
    assert pyx and sorted(rep["compiled kernels"]) == pyx
    for name, where in rep["compiled kernels"].items():
        assert where.startswith(name + ".") and where.endswith((".so", ".pyd")), where
    assert rep["engines"]["PROJ"][0].isdigit() and rep["engines"]["GDAL (rasterio)"][0].isdigit()
    assert rep["network cache"] == {"folder": str(cache), "exists": True, "files": 1, "size_mb": 1.5}
    assert rep["packages"]["numpy"][0].isdigit()


def test_doctor_text_is_one_item_per_line() -> None:
    r = CliRunner().invoke(main, ["doctor"])
    assert r.exit_code == 0
    assert r.output.splitlines()[0] == f"territorial-gis: {territorial_gis.__version__}"
    assert "compiled kernels:" in r.output and "network cache:" in r.output


def test_an_unexpected_exception_is_one_error_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug (not a bad input) still gives one Error line and exit 1; the traceback only with -v."""
    from territorial_gis import _doctor

    def broken() -> dict[str, object]:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(_doctor, "collect_report", broken)
    r = CliRunner().invoke(main, ["doctor"])
    assert r.exit_code == 1
    errors = [ln for ln in r.output.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and "RuntimeError: simulated bug" in errors[0]
    assert "Traceback" not in r.output
    verbose = CliRunner().invoke(main, ["-v", "doctor"])
    assert verbose.exit_code == 1 and "Traceback" in verbose.output
