"""One convention for every command (cli/_console.py), one spelling per option (cli/_options.py).

* stdout holds the result summary, and nothing with ``-q``; log lines and the ``Error:`` line go
  to stderr (CliRunner keeps the two streams apart: ``result.stdout`` / ``result.stderr``).
* Every option a message of the library recommends exists on the command line.
* Log lines are written through the progress bar's writer, never into the middle of a bar.
* In CI (``CI`` set) a browser test that cannot run fails instead of being skipped.
"""

from __future__ import annotations

import ast
import io
import logging
import re
from pathlib import Path
from typing import Any

import click
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from territorial_gis.cli import main
from territorial_gis.data import data_path

PBF = data_path("porto_alegre", "poa_osm.pbf")
HEX = data_path("porto_alegre", "poa_hexgrid.csv")
POI = data_path("porto_alegre", "poa_points_of_interest.csv")
PACKAGE = Path(__file__).resolve().parents[1] / "territorial_gis"


def invoke(args: list[Any]) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small real inputs: the network, 80 Porto Alegre cells, their access table and classes
    (H3 cells with travel times; the MRA class given to the 20 slowest so corridors have origins)."""
    folder = tmp_path_factory.mktemp("conventions")
    cells = pd.read_csv(HEX).iloc[:80]
    cells.to_csv(folder / "cells.csv", index=False)
    net = folder / "poa.tgnet"
    assert invoke(["-q", "network", "build", PBF, "-o", net]).exit_code == 0
    acc = folder / "access.csv"
    assert invoke(["-q", "access", "nearest", net, folder / "cells.csv", "--tier",
                   "employment_centre=" + str(POI), "-o", acc]).exit_code == 0
    table = pd.read_csv(acc)
    slow = table["travel_time_employment_centre_min"].rank(method="first", ascending=False) <= 20
    table.assign(area_class=slow.map({True: "MRA", False: "FRA"})).to_csv(folder / "classified.csv", index=False)
    return {"folder": folder, "net": net, "cells": folder / "cells.csv", "access": acc,
            "classified": folder / "classified.csv"}


def _commands(c: dict[str, Path], out: Path) -> dict[str, tuple[list[Any], str]]:
    """Command -> (arguments, a fragment of its result summary)."""
    net = c["net"]
    return {
        "network build": (["network", "build", PBF, "-o", out / "n.tgnet"], "n.tgnet: "),
        "access nearest": (["access", "nearest", net, c["cells"], "--tier", f"market={POI}", "-o", out / "a.csv"],
                           "80 localities -> "),
        "access od": (["access", "od", net, POI, POI, "--cutoff", "5", "-o", out / "od.csv"],
                      "origin-destination pairs"),
        "access isochrones": (["access", "isochrones", net, POI, "--thresholds", "2,4", "-o", out / "i.gpkg"],
                              "<= 4 min:"),
        "classify": (["classify", c["access"], "-o", out / "c.gpkg"], "areas:"),
        "corridors": (["corridors", net, c["classified"], "--targets", "employment_centre", "--tier",
                       f"employment_centre={POI}",
                       "--candidates", "5", "--top", "3", "-o", out / "corr.gpkg"], "corridors,"),
        "hubs": (["hubs", net, c["cells"], "--max-time", "4", "-o", out / "h.gpkg"], "hubs (cover"),
        "territories": (["territories", net, c["cells"], "--centres", "top3:population", "--max-time", "10",
                         "-o", out / "t.gpkg"], "territories around 3 centres"),
        "criticality": (["criticality", net, c["classified"], "--tier", f"employment_centre={POI}", "--top", "20",
                         "-o", out / "crit.gpkg"], "stretches evaluated in"),
        "appraise": (["appraise", net, c["classified"], "--tier", f"employment_centre={POI}", "--budget", "1M",
                      "--runs", "2", "--candidates", "3", "-o", out / "ap.gpkg"], "projects appraised"),
        "rai": (["rai", net, c["cells"], "-o", out / "rai.gpkg"], "Rural Access Index"),
        "surface times": (["surface", "times", net, "--tier", f"market={POI}", "--resolution", "200",
                           "-o", out / "surf"], "surface: "),
    }


@pytest.mark.parametrize("quiet", [False, True], ids=["default", "-q"])
@pytest.mark.parametrize("command", ["network build", "access nearest", "access od", "access isochrones",
                                     "classify", "corridors", "hubs", "territories", "criticality", "appraise",
                                     "rai", "surface times"])
def test_summary_on_stdout_logs_on_stderr(command: str, quiet: bool, chain: dict[str, Path],
                                          tmp_path: Path) -> None:
    args, fragment = _commands(chain, tmp_path)[command]
    res = invoke([*(["-q"] if quiet else []), *args])
    assert res.exit_code == 0, res.output
    if quiet:
        assert res.stdout == ""  # -q: no summary
        assert not any(ln.startswith("INFO") for ln in res.stderr.splitlines())  # -q: no progress lines
    else:
        assert fragment in res.stdout
        first = res.stdout.splitlines()[0]
        assert first not in res.stderr  # the summary is not also logged
        assert "->" in first or command in ("network build", "surface times", "appraise")
    assert "Error:" not in res.output


def test_logs_go_to_stderr_not_stdout(chain: dict[str, Path], tmp_path: Path) -> None:
    """A file without a population column: the warning is on stderr only, even without -q."""
    no_pop = tmp_path / "no_pop.csv"
    pd.read_csv(chain["cells"]).drop(columns=["population"]).to_csv(no_pop, index=False)
    res = invoke(["access", "od", chain["net"], no_pop, POI, "--cutoff", "3", "-o", tmp_path / "od.csv"])
    assert res.exit_code == 0, res.output
    assert "no population column found" in res.stderr
    assert "no population column found" not in res.stdout
    assert "origin-destination pairs" in res.stdout


def test_network_info_prints_its_result_even_with_q(chain: dict[str, Path]) -> None:
    """The text is the result of `network info`: -q silences logs, not the answer asked for."""
    res = invoke(["-q", "network", "info", chain["net"]])
    assert res.exit_code == 0 and "road length:" in res.stdout


# ----------------------------------------------------------------------------- option spellings
def _cli_options() -> set[str]:
    """Every long option of every tgis command and subcommand."""
    found: set[str] = set()

    def walk(cmd: click.Command, ctx: click.Context) -> None:
        for p in cmd.params:
            found.update(o for o in [*p.opts, *p.secondary_opts] if o.startswith("--"))
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                if sub is not None:
                    walk(sub, click.Context(sub, parent=ctx, info_name=name))

    walk(main, click.Context(main, info_name="tgis"))
    return found


def _library_option_mentions() -> dict[str, list[str]]:
    """``--option`` spellings inside the string literals of the library, with where they are."""
    mentions: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for opt in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", node.value):
                    mentions.setdefault(opt, []).append(f"{path.name}:{node.lineno}")
    return mentions


def test_messages_name_only_options_that_exist() -> None:
    options = _cli_options()
    # one spelling per concept: the old spellings are gone
    for old in ("--id-column", "--population-column", "--max-snap"):
        assert old not in options
    for new in ("--id-col", "--pop-col", "--name-col", "--lon-col", "--lat-col", "--crs", "--layer", "--sheet",
                "--encoding", "--decimal", "--thousands", "--max-snap-m", "--walk-kph"):
        assert new in options
    unknown = {opt: where for opt, where in _library_option_mentions().items() if opt not in options}
    assert not unknown, f"library messages recommend options no command has: {unknown}"


@pytest.mark.parametrize("command", [["access", "nearest"], ["access", "od"], ["access", "isochrones"],
                                     ["classify"], ["corridors"], ["hubs"], ["territories"], ["rai"]])
def test_every_places_command_takes_the_places_options(command: list[str]) -> None:
    res = invoke([*command, "--help"])
    assert res.exit_code == 0
    for opt in ("--id-col", "--pop-col", "--name-col", "--lon-col", "--lat-col", "--crs", "--layer", "--sheet",
                "--encoding", "--decimal", "--thousands"):
        assert opt in res.stdout, (command, opt)


# ----------------------------------------------------------------------------- progress and logs
def test_log_lines_do_not_write_over_the_progress_bar() -> None:
    from tqdm import tqdm

    from territorial_gis._progress import ProgressAwareHandler

    buf = io.StringIO()
    log = logging.getLogger("territorial_gis.test_progress")
    handler = ProgressAwareHandler(buf)
    log.addHandler(handler)
    log.propagate = False
    try:
        bar = tqdm(total=10, file=buf, leave=False, mininterval=0, miniters=1, desc="routing")
        bar.update(3)
        log.warning("a message in the middle")
        bar.update(3)
        bar.close()
    finally:
        log.removeHandler(handler)
    text = buf.getvalue()
    # the bar is cleared (carriage return) before the line, the line ends, the bar comes back after
    assert "\ra message in the middle\n" in text
    assert "]a message" not in text
    assert text.index("a message") < text.rindex("routing:")


def test_cli_logging_goes_through_the_progress_writer() -> None:
    from territorial_gis.cli import _configure_logging

    from territorial_gis._progress import ProgressAwareHandler

    _configure_logging(0, False)
    handlers = logging.getLogger("territorial_gis").handlers
    assert len(handlers) == 1 and isinstance(handlers[0], ProgressAwareHandler)


# ----------------------------------------------------------------------------- browser tests in CI
pytest_plugins = ["pytester"]


@pytest.mark.parametrize("ci", ["", "true"])
def test_browser_skip_fails_in_ci(ci: str, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    conftest = Path(__file__).with_name("conftest.py").read_text(encoding="utf-8")
    pytester.makeconftest(conftest)
    pytester.makeini("[pytest]\nmarkers =\n    browser: drives a headless browser\n")
    pytester.makepyfile(test_b="""
import pytest

@pytest.mark.browser
def test_needs_chromium():
    pytest.skip("browser tests need chromium: /usr/bin/chromium not installed")

def test_other_skip():
    pytest.skip("not a browser test")
""")
    monkeypatch.setenv("CI", ci) if ci else monkeypatch.delenv("CI", raising=False)
    res = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    if ci:
        res.assert_outcomes(failed=1, skipped=1)
        res.stdout.fnmatch_lines(["*CI is set but this browser test could not run*not installed*"])
    else:
        res.assert_outcomes(skipped=2)


@pytest.mark.slow
def test_terminated_run_leaves_nothing_half_written(tmp_path: Path) -> None:
    """SIGTERM (a job scheduler, `kill`) mid-run: exit 143, one Error line, no staging folder and
    no study file left behind."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "study"
    tgis = Path(sys.executable).parent / "tgis"
    env = {**os.environ, "TGIS_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen([str(tgis), "run", "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(out.glob(".tgis-staging-*/*")):
        time.sleep(0.2)
    assert list(out.glob(".tgis-staging-*/*")), "the run never started writing"
    proc.send_signal(signal.SIGTERM)
    _stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    assert "Error: terminated" in stderr and "Traceback" not in stderr
    assert not list(out.glob(".tgis-staging-*")) and not list(out.glob("*.gpkg"))
