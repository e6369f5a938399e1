"""Ctrl-C in ``tgis batch``: one line, the Dask workers shut down quietly, finished regions
complete and unfinished ones absent.

The interrupt is sent as a terminal sends it: SIGINT to the whole process group (the batch
process and its Dask worker processes), while the second of two regions is running. The
regions are the 'north' zone of the embedded Porto Alegre region (real OSM/IPEA data), twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

REGION = 'network.bbox = [-51.27, -30.045, -51.13, -29.985]\n'


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="process groups and SIGINT are POSIX")
def test_ctrl_c_leaves_finished_regions_only(tmp_path: Path) -> None:
    cfg = tmp_path / "batch.toml"
    cfg.write_text('[batch]\nname = "ctrlc"\nstudy = "default"\n[defaults]\nhubs.enabled = false\n'
                   'outputs.self_contained = false\n'
                   f'[[regions]]\nname = "first"\n{REGION}[[regions]]\nname = "second"\n{REGION}')
    out = tmp_path / "out"
    tgis = Path(sys.executable).with_name("tgis")
    proc = subprocess.Popen([str(tgis), "batch", str(cfg), "-o", str(out), "--workers", "1",
                             "--cache-dir", str(tmp_path / "cache")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while not (out / "first" / "study.json").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the first region did not finish in 10 minutes"
            time.sleep(0.2)
        time.sleep(0.5)  # the second region is running now
        assert proc.poll() is None, "the batch ended before the interrupt"
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr
    errors = [ln for ln in stderr.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and "interrupted: 1 of 2 region(s) finished (first)" in errors[0], stderr
    assert "second" in errors[0]
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert "distributed" not in stderr  # no log noise of the workers' shutdown
    assert stdout == ""  # no result summary for an interrupted batch
    # the finished region is complete, the unfinished one left nothing
    assert (out / "first" / "study.json").is_file() and (out / "first" / "localities.gpkg").is_file()
    assert not (out / "second").exists()
    assert not list(out.rglob(".tgis-staging-*"))
    table = pd.read_csv(out / "batch_summary.csv").set_index("name")
    assert table.loc["first", "status"] == "ok" and table.loc["second", "status"] == "interrupted"
