"""Batch regional analyses on Dask (real Porto Alegre data, sub-regions of the embedded region).

The end-to-end tests run two regions of the embedded region (the same northern bbox, one with
a missing localities file so that it fails after its network stage has staged outputs) through
``tgis batch`` on the default local cluster, then re-run the batch with the broken region fixed
through ``--scheduler`` pointing at a LocalCluster started here: the complete region is skipped
and the fixed one reuses the network the first run cached.
"""

from __future__ import annotations

import json
import os
import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from territorial_gis.cli import main

from territorial_gis import batch as batch_mod
from territorial_gis.batch import load_batch_config, run_batch
from territorial_gis.errors import ConfigError
from territorial_gis.pipeline import default_study_config, study_is_complete

BROKEN_TIER = "jobs>=100000000"  # a valid rule that no place meets: the 'places' stage fails at run time

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # rasterio Affine `*`
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NORTH = [-51.27, -30.045, -51.13, -29.985]  # the city centre: 496 H3 cells, 11 employment centres
FAST = '[defaults]\nhubs.enabled = false\noutputs.report = false\n'


def _write_batch(path: Path, broken: bool) -> Path:
    """Two regions with the same bbox; ``broken`` gives the second an employment-centre rule that
    no place meets (a config that checks out but whose study fails at run time)."""
    text = ('[batch]\nname = "poa_test"\nstudy = "default"\n' + FAST +
            f'[[regions]]\nname = "north"\nnetwork.bbox = {NORTH}\n'
            f'[[regions]]\nname = "north_b"\nnetwork.bbox = {NORTH}\nstudy.title = "second copy"\n')
    if broken:
        text += f'tiers.employment_centre = "{BROKEN_TIER}"\n'
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------- config handling (no cluster)
def test_regions_merge_base_defaults_and_overrides(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    p = tmp_path / "sub" / "b.toml"
    (tmp_path / "sub" / "locs.csv").write_text("")
    p.write_text('[batch]\nstudy = "default"\n[defaults]\naccess.max_snap_m = 900.0\ncorridors.top = 3\n'
                 '[[regions]]\nname = "a"\nnetwork.bbox = [1, 2, 3, 4]\ncorridors.top = 7\n'
                 '[[regions]]\nname = "b"\nlocalities.file = "locs.csv"\n')
    b = load_batch_config(p)
    base = default_study_config()
    assert b.name == "b" and b.source == str(p)
    assert list(b.regions) == ["a", "b"]
    a, bb = b.regions["a"], b.regions["b"]
    assert a.study.name == "a" and bb.study.name == "b"
    assert a.study.title == base["study"]["title"]
    assert a.network.bbox == [1, 2, 3, 4] and a.network.source == base["network"]["source"]
    assert bb.network.bbox is None
    assert a.access.max_snap_m == bb.access.max_snap_m == 900.0
    assert a.access.isochrones_min == base["access"]["isochrones_min"]  # tables merge
    assert (a.corridors.top, bb.corridors.top) == (7, 3)  # region beats defaults
    assert a.corridors.targets == base["corridors"]["targets"]
    # relative paths of the batch file resolve against its folder; the id column stays from the base
    assert bb.localities.file == str(tmp_path / "sub" / "locs.csv")
    assert bb.localities.id_col == "id"
    assert a.localities.file == base["localities"]["file"]


def test_base_study_file_and_dict_config(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    for name in ("roads.osm.pbf", "loc.csv"):
        (tmp_path / "s" / name).write_text("")
    (tmp_path / "s" / "study.toml").write_text(
        '[study]\nname = "base"\n[network]\nsource = "roads.osm.pbf"\n[localities]\nfile = "loc.csv"\n'
        '[tiers]\ncity = "population>=15000"\n')
    b = load_batch_config({"batch": {"study": "s/study.toml"},
                           "regions": [{"name": "r1", "tiers": {"town": "population>=1000"}},
                                       {"name": "r2", "study": {"name": "kept"}}]}, base_dir=tmp_path)
    r1, r2 = b.regions["r1"], b.regions["r2"]
    assert r1.network.source == str(tmp_path / "s" / "roads.osm.pbf")  # relative to the study file
    assert r1.tiers == {"city": "population>=15000", "town": "population>=1000"}
    assert r1.study.name == "r1" and r2.study.name == "kept"
    assert r1.terrain.rasters == {}  # no embedded-region leftovers with a study file


@pytest.mark.parametrize("text, expect", [
    ('[batch]\nstudy = "default"\nworkers = 3\n[[regions]]\nname = "a"\n', "unknown key(s) in [batch]: workers"),
    ('[batch]\nstudy = "default"\n[[regions]]\nname = "a"\n[[regions]]\nname = "a"\n',
     "duplicate region name 'a'"),
    ('[batch]\nstudy = "default"\n', "no regions"),
    ('[batch]\nstudy = "default"\n[network]\nbbox = [1, 2, 3, 4]\n[[regions]]\nname = "a"\n',
     "unknown table(s) network"),
    ('[batch]\nstudy = "default"\n[[regions]]\nnetwork.bbox = [1, 2, 3, 4]\n', "region #1 has no name"),
    ('[batch]\nstudy = "default"\n[[regions]]\nname = "../up"\n', "not a safe folder name"),
    ('[batch]\nstudy = "default"\n[[regions]]\nname = "a"\nnetwork.speed = 3\n',
     "region 'a': [network]: unknown key(s) speed"),
    ('[batch]\nstudy = "default"\n[defaults]\nnetwrk.bbox = 1\n[[regions]]\nname = "a"\n',
     "[defaults]: unknown section(s) netwrk"),
    ('[[regions]]\nname = "a"\nnetwork.place = "x"\n[regions.tiers]\nt = "population>=1"\n',
     "region 'a': [localities]: needs 'file', 'catalogue' or 'grid_hex_m'"),
    ('[[regions]]\nname = "a"\nnetwork.source = "x.pbf"\n', "region 'a': [network] source = 'x.pbf': file not found"),
    # a wrong type in one region's late section stops the whole batch before any region runs
    ('[batch]\nstudy = "default"\n[[regions]]\nname = "a"\n[[regions]]\nname = "b"\nhubs.k = "two"\n',
     "region 'b': [hubs] k = 'two': expected a whole number"),
    ('[batch]\nstudy = "default"\n[[regions]]\nname = "a"\nlocalities.file = "no_such.csv"\n',
     "region 'a': [localities] file = 'no_such.csv': file not found"),
    ('[batch]\nstudy = "nowhere.toml"\n[[regions]]\nname = "a"\n', "study config not found"),
    ('[batch\n', "not valid TOML"),
])
def test_config_errors_name_the_file(tmp_path: Path, text: str, expect: str) -> None:
    p = tmp_path / "batch.toml"
    p.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_batch_config(p)
    assert expect in str(info.value)
    assert str(p) in str(info.value)


def test_cli_bad_config_exit_1_and_no_output(tmp_path: Path) -> None:
    p = tmp_path / "batch.toml"
    p.write_text('[batch]\nstudy = "default"\n[[regions]]\nname = "a"\n[[regions]]\nname = "a"\n')
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["batch", str(p), "-o", str(out)])
    assert r.exit_code == 1
    assert [ln for ln in r.output.splitlines() if ln.startswith("Error:")] == \
        [f"Error: {p}: duplicate region name 'a'"]
    assert "Traceback" not in r.output
    assert not out.exists()


def test_help_documents_exit_codes() -> None:
    r = CliRunner().invoke(main, ["batch", "--help"])
    assert r.exit_code == 0
    text = " ".join(r.output.split())
    for needle in ("--scheduler", "--workers", "--overwrite", "batch_summary.csv", "1 when any region failed"):
        assert needle in text


def test_example_batch_config_splits_the_embedded_region() -> None:
    b = load_batch_config(EXAMPLES / "batch_porto_alegre.toml")
    assert len(b.regions) >= 2
    cells = pd.read_csv(default_study_config()["localities"]["file"])
    covered = np.zeros(len(cells), bool)
    for name, cfg in b.regions.items():
        assert cfg.network.source and Path(cfg.network.source).is_file()
        assert cfg.localities.file and Path(cfg.localities.file).is_file()
        assert cfg.network.bbox is not None
        w, s, e, n = cfg.network.bbox
        inside = cells["lon"].between(w, e) & cells["lat"].between(s, n)
        covered |= inside.to_numpy()
        assert (cells.loc[inside, "jobs"] >= 3000).any(), f"{name} has no employment centre"
    assert covered.all()  # together the regions cover every locality of the embedded region


# ---------------------------------------------------------------------------- end to end on Dask
@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A LocalCluster started by the test, reached through its scheduler address.

    ``allowed-failures = 0``: a task whose worker dies fails at once instead of being retried.
    """
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        lc = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None)
    yield lc
    lc.close()


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`tgis batch` on the default local cluster: 'north' ok, 'north_b' fails (no localities file)."""
    root = tmp_path_factory.mktemp("batch")
    cfg = _write_batch(root / "batch.toml", broken=True)
    out, cache = root / "out", root / "cache"
    r = CliRunner().invoke(main, ["batch", str(cfg), "-o", str(out), "--workers", "2",
                                  "--cache-dir", str(cache)])
    table = pd.read_csv(out / "batch_summary.csv")
    north_meta = json.loads((out / "north" / "study.json").read_text())
    return {"root": root, "cfg": cfg, "out": out, "cache": cache, "result": r, "table": table,
            "north_meta": north_meta}


def test_failed_region_is_isolated(first: dict[str, Any]) -> None:
    r, out = first["result"], first["out"]
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    assert f"summary: {out / 'batch_summary.csv'}" in r.stdout  # the result summary: stdout
    assert "Error: 1 of 2 region(s) failed: north_b" in r.stderr  # the failure: stderr
    assert "employment_centre" in r.output and BROKEN_TIER in r.output
    # the good region is complete and up to date; the failed one left nothing behind
    resolved = load_batch_config(first["cfg"]).regions
    assert study_is_complete(out / "north", resolved["north"])
    assert not (out / "north_b").exists()
    assert sorted(p.name for p in out.iterdir()) == ["batch_summary.csv", "batch_summary.json", "north"]
    assert not list((out / "north").glob(".tgis-staging-*"))


def test_summary_matches_the_region_outputs(first: dict[str, Any]) -> None:
    t = first["table"].set_index("name")
    assert list(t.index) == ["north", "north_b"]  # config order
    assert t.loc["north", "status"] == "ok" and t.loc["north_b", "status"] == "failed"
    assert pd.isna(t.loc["north", "error"])
    assert t.loc["north_b", "failed_stage"] == "places"
    assert "stage 'places' failed" in t.loc["north_b", "error"]
    assert "employment_centre" in t.loc["north_b", "error"] and BROKEN_TIER in t.loc["north_b", "error"]
    assert pd.isna(t.loc["north_b", "population"])

    loc = gpd.read_file(first["out"] / "north" / "localities.gpkg", layer="localities")
    row = t.loc["north"]
    assert row["localities"] == len(loc) == 496  # the H3 cells inside the bbox
    assert row["population"] == pytest.approx(loc["population"].sum())
    assert row["population_FRA"] + row["population_MRA"] == pytest.approx(row["population"])
    assert row["population_MRA"] == pytest.approx(loc.loc[loc["area_class"] == "MRA", "population"].sum())
    assert row["localities_MRA"] == (loc["area_class"] == "MRA").sum() > 0
    for tier in ("employment_centre", "market"):
        assert row[f"median_travel_time_{tier}_min"] == pytest.approx(loc[f"travel_time_{tier}_min"].median())
    assert row["network_cache"] in ("hit", "miss") and row["elapsed_s"] > 0
    assert row["outdir"] == str(first["out"] / "north")
    js = json.loads((first["out"] / "batch_summary.json").read_text())
    assert js["counts"] == {"ok": 1, "failed": 1, "skipped": 0}
    assert [x["name"] for x in js["regions"]] == ["north", "north_b"]
    assert js["regions"][1]["population"] is None  # NaN as null


@pytest.fixture(scope="module")
def second(first: dict[str, Any], cluster: Any) -> dict[str, Any]:
    """The broken region fixed, re-run through --scheduler: 'north' skipped, 'north_b' runs."""
    cfg = _write_batch(first["root"] / "batch.toml", broken=False)
    r = CliRunner().invoke(main, ["-q", "batch", str(cfg), "-o", str(first["out"]), "--scheduler",
                                  cluster.scheduler_address, "--cache-dir", str(first["cache"])])
    return {"result": r, "table": pd.read_csv(first["out"] / "batch_summary.csv").set_index("name"),
            "scheduler": cluster.scheduler_address}


def test_rerun_skips_complete_region_and_reuses_cached_network(first: dict[str, Any],
                                                               second: dict[str, Any]) -> None:
    r, t = second["result"], second["table"]
    assert r.exit_code == 0, r.output
    assert list(t["status"]) == ["skipped", "ok"]
    # the skipped region was not re-run: its study.json is untouched, its row repeats the first run's
    assert json.loads((first["out"] / "north" / "study.json").read_text()) == first["north_meta"]
    before = first["table"].set_index("name").loc["north"]
    for col in ("localities", "population", "population_MRA", "median_travel_time_market_min"):
        assert t.loc["north", col] == before[col]
    # the fixed region ran on the given scheduler and loaded the network the first run cached
    meta = json.loads((first["out"] / "north_b" / "study.json").read_text())
    assert meta["network_cache"] == "hit" == t.loc["north_b", "network_cache"]
    assert meta["title"] == "second copy"
    assert meta["network"]["nodes"] == first["north_meta"]["network"]["nodes"]
    assert t.loc["north_b", "population"] == t.loc["north", "population"]
    assert json.loads((first["out"] / "batch_summary.json").read_text())["scheduler"] == \
        second["scheduler"]


def _die_for_doomed(name: str, config: Any, outdir: str, *args: Any) -> dict[str, Any]:
    """Task used instead of run_region: kills its worker process for region 'doomed' after
    staging a file, as a crashing study would; runs the real study for the others."""
    if name == "doomed":
        stage = Path(outdir) / ".tgis-staging-killed"
        stage.mkdir(parents=True)
        (stage / "network.gpkg").write_bytes(b"partial")
        os._exit(1)
    return batch_mod.run_region(name, config, outdir, *args)


def test_worker_death_fails_only_its_region(first: dict[str, Any], cluster: Any, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_mod, "run_region", _die_for_doomed)
    cfg = {"batch": {"study": "default"}, "defaults": {"hubs": {"enabled": False}},
           "regions": [{"name": "doomed", "network": {"bbox": NORTH}},
                       {"name": "north", "network": {"bbox": NORTH}, "outputs": {"map": False, "report": False}}]}
    result = run_batch(cfg, tmp_path / "out", scheduler=cluster.scheduler_address, cache_dir=first["cache"])
    t = result.table.set_index("name")
    assert t.loc["doomed", "status"] == "failed"
    assert "Dask task failed" in t.loc["doomed", "error"]
    assert not (tmp_path / "out" / "doomed").exists()  # the killed task's staging was removed
    assert t.loc["north", "status"] == "ok" and t.loc["north", "localities"] == 496
    assert result.summary_csv.is_file() and result.summary_csv == tmp_path / "out" / "batch_summary.csv"


def test_script_example_runs_a_batch(first: dict[str, Any], cluster: Any, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    ns = runpy.run_path(str(EXAMPLES / "script_batch.py"), run_name="script_batch")
    code = ns["main"](str(tmp_path / "s"), scheduler=cluster.scheduler_address, cache_dir=str(first["cache"]))
    assert code == 0
    printed = capsys.readouterr().out
    t = pd.read_csv(tmp_path / "s" / "batch_summary.csv")
    assert list(t["status"]) == ["ok"] * len(ns["BANDS"])
    for name in t["name"]:
        assert name in printed
    assert t["localities"].sum() == 1227  # the bands split the H3 cells of the region between them


def test_changed_config_reruns_and_replaces_outputs(first: dict[str, Any], tmp_path: Path) -> None:
    """A region whose config changed since its outputs were written is re-run in place (no
    --overwrite needed): run_region, the Dask task, called here in-process."""
    import shutil

    out = tmp_path / "north"
    shutil.copytree(first["out"] / "north", out)
    cfg = load_batch_config(first["cfg"]).regions["north"]
    assert study_is_complete(out, cfg)
    from dataclasses import replace

    changed = replace(cfg, corridors=replace(cfg.corridors, top=2), outputs=replace(cfg.outputs, map=False))
    assert not study_is_complete(out, changed)
    row = batch_mod.run_region("north", changed, str(out), False, str(first["cache"]))
    assert row["status"] == "ok", row["error"]
    assert row["network_cache"] == "hit"
    assert study_is_complete(out, changed)
    assert not (out / "map.html").exists()  # the stale output of the earlier config is gone
    assert len(pd.read_csv(out / "upgrades.csv")) <= 2


def test_all_complete_needs_no_scheduler(first: dict[str, Any], second: dict[str, Any]) -> None:
    """Every region complete: nothing is submitted, so even an unreachable scheduler is fine."""
    table = run_batch(first["cfg"], first["out"], scheduler="tcp://127.0.0.1:9", cache_dir=first["cache"]).table
    assert list(table["status"]) == ["skipped", "skipped"]


def test_unreachable_scheduler_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_mod, "SCHEDULER_TIMEOUT_S", 1.0)
    cfg = _write_batch(tmp_path / "b.toml", broken=False)
    r = CliRunner().invoke(main, ["batch", str(cfg), "-o", str(tmp_path / "out"), "--scheduler",
                                  "tcp://127.0.0.1:9"])
    assert r.exit_code == 1
    assert "Error: cannot connect to the Dask scheduler at tcp://127.0.0.1:9" in r.output
    assert "Traceback" not in r.output
