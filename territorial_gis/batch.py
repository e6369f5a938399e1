"""Batch regional analyses: many studies from one config file, run in parallel on Dask.

A batch config (TOML, or a dict) names a base study and a list of regions; each region is a
study config made by deep-merging, in order, the base study, the ``[defaults]`` table and the
region's own overrides (tables merge, values replace)::

    [batch]
    name = "porto_alegre_zones"
    study = "default"            # the embedded region, or a study TOML file (relative to this file)

    [defaults]                   # merged into every region
    hubs.enabled = false

    [[regions]]
    name = "north"
    network.bbox = [-51.27, -30.045, -51.13, -29.99]

    [[regions]]
    name = "south"
    network.bbox = [-51.27, -30.115, -51.13, -30.04]

:func:`run_batch` runs every region's :func:`territorial_gis.pipeline.run_study` into
``OUTDIR/<region name>/`` as one Dask task, on a local cluster of worker processes by
default or on an existing Dask scheduler. A failing region (or a dying worker) does not stop
the others: its row in the summary says ``failed`` with the error, and its folder holds no
partial outputs. Regions whose outputs are complete and whose config and input files did not
change since the last run are skipped. The summary table (one row per region) is written at
the end as ``OUTDIR/batch_summary.csv`` and ``OUTDIR/batch_summary.json``.

Workers must see the same file system as the client (input and output paths are absolute).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ._io import atomic_output, write_table
from ._progress import bar, progress_enabled
from ._toml import read_toml
from .config import StudyConfig, check_sections, deep_merge, load_study_config
from .errors import ConfigError, TerritorialGISError
from .outputs import STAGING_PREFIX, STUDY_JSON, read_study_json
from .pipeline import default_study_config, study_is_complete

log = logging.getLogger(__name__)

#: keys allowed in the ``[batch]`` table
BATCH_KEYS = {"name", "title", "description", "study"}
#: top-level tables of a batch config
TOP_KEYS = {"batch", "defaults", "regions"}
#: the value of ``[batch] study`` that selects the embedded default region
DEFAULT_STUDY = "default"
#: seconds to wait for a Dask scheduler given by address
SCHEDULER_TIMEOUT_S = 10.0
SUMMARY_CSV = "batch_summary.csv"
SUMMARY_JSON = "batch_summary.json"
#: summary columns before the per-tier median travel times
BASE_COLUMNS = ["name", "status", "error", "failed_stage", "localities", "localities_FRA", "localities_MRA",
                "population", "population_FRA", "population_MRA"]
TAIL_COLUMNS = ["unreachable", "network_cache", "elapsed_s", "warnings", "outdir"]
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class SchedulerError(TerritorialGISError):
    """The Dask scheduler given by address cannot be reached."""


class BatchInterruptedError(TerritorialGISError):
    """The batch was interrupted (Ctrl-C): finished regions are complete, unfinished ones absent."""

    exit_code = 130


@dataclass
class BatchConfig:
    """A validated batch: its name, source and the checked study config of every region."""

    name: str
    source: str
    regions: dict[str, StudyConfig] = field(default_factory=dict)
    title: str | None = None


@dataclass
class BatchResult:
    """What :func:`run_batch` produced: the summary table (one row per region) and its files."""

    table: pd.DataFrame
    summary_csv: Path
    summary_json: Path
    counts: dict[str, int]


# ---------------------------------------------------------------------------- config
def load_batch_config(batch_config: str | os.PathLike[str] | Mapping[str, Any],
                      base_dir: Path | None = None) -> BatchConfig:
    """Read and validate a batch config and resolve every region's study config.

    Parameters
    ----------
    batch_config
        A batch TOML file, or a dict of the same shape (relative paths resolved against
        ``base_dir``, default the current folder).
    base_dir
        Folder that relative paths (``[batch] study``, paths in ``[defaults]`` and regions)
        are resolved against; default the batch file's folder.

    Returns
    -------
    BatchConfig
        ``regions`` maps each region name (in file order) to its resolved study config,
        whose ``[study] name`` is the region name unless the region sets one.

    Raises
    ------
    ConfigError
        Missing or malformed file, unknown tables or keys, no regions, a region without a
        name or with a duplicate or unsafe one, or a region whose merged study config is
        invalid. The message names the file and the region.
    """
    if isinstance(batch_config, Mapping):
        raw = dict(batch_config)
        src = "<batch config>"
        base = Path(base_dir or Path.cwd()).resolve()
    else:
        p = Path(batch_config)
        raw = read_toml(p, "batch config")
        src = str(p)
        base = Path(base_dir or p.parent).resolve()

    unknown = set(raw) - TOP_KEYS
    if unknown:
        from .config import SECTIONS

        hint = " (study sections go in [defaults] or in a region)" if unknown & set(SECTIONS) else ""
        raise ConfigError(f"{src}: unknown table(s) {', '.join(sorted(unknown))}; "
                          f"allowed: {', '.join(sorted(TOP_KEYS))}{hint}")
    head = raw.get("batch", {})
    if not isinstance(head, Mapping):
        raise ConfigError(f"{src}: [batch] must be a table")
    bad = set(head) - BATCH_KEYS
    if bad:
        raise ConfigError(f"{src}: unknown key(s) in [batch]: {', '.join(sorted(bad))}; "
                          f"allowed: {', '.join(sorted(BATCH_KEYS))}")
    defaults = raw.get("defaults", {})
    if not isinstance(defaults, Mapping):
        raise ConfigError(f"{src}: [defaults] must be a table")
    check_sections(defaults, f"{src}: [defaults]")

    regions = raw.get("regions")
    if not regions:
        raise ConfigError(f"{src}: no regions; add at least one [[regions]] table with a name")
    if not isinstance(regions, Sequence) or not all(isinstance(r, Mapping) for r in regions):
        raise ConfigError(f"{src}: 'regions' must be an array of tables ([[regions]])")

    base_study = _base_study(head.get("study"), base, src)
    resolved: dict[str, StudyConfig] = {}
    for i, region in enumerate(regions, start=1):
        name = region.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{src}: region #{i} has no name")
        if not _NAME_RE.match(name):
            raise ConfigError(f"{src}: region name '{name}' is not a safe folder name "
                              "(letters, digits, '_', '-', '.'; not starting with '.')")
        if name in resolved:
            raise ConfigError(f"{src}: duplicate region name '{name}'")
        overrides = {k: v for k, v in region.items() if k != "name"}
        where = f"{src}: region '{name}'"
        check_sections(overrides, where)
        merged = deep_merge(deep_merge(base_study, defaults), overrides)
        merged.setdefault("study", {})
        if "name" not in overrides.get("study", {}):
            merged["study"]["name"] = name
        resolved[name] = StudyConfig.from_dict(merged, source=where, base_dir=base)
    name = head.get("name") or (Path(src).stem if not isinstance(batch_config, Mapping) else "batch")
    return BatchConfig(name=str(name), source=src, regions=resolved, title=head.get("title"))


def _base_study(study: Any, base: Path, src: str) -> dict[str, Any]:
    """The study every region starts from: none, the embedded region, or a study TOML file."""
    if study is None:
        return {}
    if not isinstance(study, str):
        raise ConfigError(f"{src}: [batch] study must be a file name or \"{DEFAULT_STUDY}\"")
    if study == DEFAULT_STUDY:
        return default_study_config()
    path = Path(study) if os.path.isabs(study) else base / study
    try:
        return load_study_config(path).to_dict()
    except ConfigError as exc:
        raise ConfigError(f"{src}: [batch] study: {exc}") from None


# ---------------------------------------------------------------------------- one region (a Dask task)
def run_region(name: str, config: StudyConfig, outdir: str, overwrite: bool = False,
               cache_dir: str | None = None) -> dict[str, Any]:
    """Run one region's study and return its summary row; never raises on a study failure.

    This is the Dask task of :func:`run_batch` (a plain function of picklable arguments).
    Outputs that an earlier run of the same region wrote (its ``study.json`` is present) are
    replaced even without ``overwrite``, since the config or inputs changed.
    Warnings logged during the study are returned in the row instead of being printed.

    Returns
    -------
    dict
        ``status`` "ok" with the study summary, or "failed" with ``error`` and
        ``failed_stage``.
    """
    from .pipeline import run_study

    out = Path(outdir)
    existed = out.exists()
    replace = overwrite or (out / STUDY_JSON).is_file()
    t0 = time.perf_counter()
    with _collect_warnings() as warnings:
        try:
            res = run_study(config, out, overwrite=replace, cache_dir=cache_dir, progress=False)
        except Exception as exc:  # noqa: BLE001 - a region's failure is reported in its row
            log.debug("region %s failed", name, exc_info=True)
            _clean_failed(out, existed)
            msg = str(exc) if isinstance(exc, TerritorialGISError) else f"{type(exc).__name__}: {exc}"
            return _failed_row(name, msg, getattr(exc, "stage", None), out, time.perf_counter() - t0,
                               warnings)
    meta = _read_study_json(out)
    return _row(name, "ok", res.summary, out, time.perf_counter() - t0,
                network_cache=meta.get("network_cache"), warnings=warnings)


@contextmanager
def _collect_warnings() -> Iterator[list[str]]:
    """Collect the WARNING records that this thread logs under ``territorial_gis``."""
    messages: list[str] = []
    ident = threading.get_ident()

    class _Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.thread == ident:
                messages.append(record.getMessage())

    handler = _Handler(level=logging.WARNING)
    logger = logging.getLogger("territorial_gis")
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def _clean_failed(out: Path, existed: bool) -> None:
    """Remove staging folders a failed or killed study left, and the folder if it is new and empty."""
    if not out.is_dir():
        return
    for stage in out.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(stage, ignore_errors=True)
    if not existed and not any(out.iterdir()):
        out.rmdir()


def _read_study_json(out: Path) -> dict[str, Any]:
    try:
        return read_study_json(out)
    except TerritorialGISError:
        return {}


def _row(name: str, status: str, summary: Mapping[str, Any], out: Path, elapsed_s: float,
         network_cache: str | None = None, warnings: Sequence[str] = ()) -> dict[str, Any]:
    pop_by = summary.get("population_by_class") or {}
    n_by = summary.get("localities_by_class") or {}
    has_pop = summary.get("population") is not None
    row: dict[str, Any] = {
        "name": name, "status": status, "error": None, "failed_stage": None,
        "localities": summary.get("localities"),
        "localities_FRA": n_by.get("FRA", 0) if n_by else None,
        "localities_MRA": n_by.get("MRA", 0) if n_by else None,
        "population": summary.get("population"),
        "population_FRA": _class_population(pop_by, n_by, "FRA") if has_pop else None,
        "population_MRA": _class_population(pop_by, n_by, "MRA") if has_pop else None,
        "unreachable": summary.get("unreachable"),
        "network_cache": network_cache, "elapsed_s": round(float(elapsed_s), 3),
        "warnings": " | ".join(dict.fromkeys(warnings)) or None, "outdir": str(out),
    }
    for tier, med in (summary.get("median_travel_time_min") or {}).items():
        row[f"median_travel_time_{tier}_min"] = med
    return row


def _class_population(pop_by: Mapping[str, Any], n_by: Mapping[str, Any], cls: str) -> float | None:
    """Population of a class: 0 only when the class has no locality; None (unknown) when its
    localities carry no population."""
    if cls in pop_by:
        return float(pop_by[cls])
    return 0.0 if not n_by.get(cls) else None


def _failed_row(name: str, error: str, stage: str | None, out: Path, elapsed_s: float,
                warnings: Sequence[str] = ()) -> dict[str, Any]:
    row = _row(name, "failed", {}, out, elapsed_s, warnings=warnings)
    row.update(error=error, failed_stage=stage, localities_FRA=None, localities_MRA=None)
    return row


def _skipped_row(name: str, out: Path) -> dict[str, Any]:
    """The row of a complete region, with the values its last run recorded in study.json."""
    meta = _read_study_json(out)
    elapsed = sum(float(v) for v in (meta.get("timings_s") or {}).values())
    return _row(name, "skipped", meta.get("summary") or {}, out, elapsed,
                network_cache=meta.get("network_cache"))


# ---------------------------------------------------------------------------- batch
def run_batch(batch_config: str | os.PathLike[str] | Mapping[str, Any], outdir: str | os.PathLike[str], *,
              scheduler: str | None = None, workers: int | None = None, overwrite: bool = False,
              cache_dir: str | os.PathLike[str] | None = None, base_dir: Path | None = None) -> BatchResult:
    """Run every region of a batch config as a Dask task and write the summary table.

    Parameters
    ----------
    batch_config
        Batch TOML file or dict (see :func:`load_batch_config`).
    outdir
        Output folder: one sub-folder per region plus ``batch_summary.csv``/``.json``.
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``); its workers must see the
        same files. Default: a local cluster of worker processes (one thread each, no
        dashboard, listening on 127.0.0.1 only), closed at the end.
    workers
        Worker processes of the local cluster (default ``min(2, cpu count)``, never more
        than the regions to run); ignored with ``scheduler``.
    overwrite
        Re-run every region, even those whose outputs are complete and up to date.
    cache_dir
        Network cache shared by the regions (default: the pipeline's default cache).

    Returns
    -------
    BatchResult
        ``table``: one row per region in config order: ``name``, ``status``
        (ok/failed/skipped), ``error``, ``failed_stage``, ``localities`` (and per class),
        ``population``, ``population_FRA``, ``population_MRA``,
        ``median_travel_time_<tier>_min``, ``unreachable``, ``network_cache``, ``elapsed_s``
        (skipped rows: the earlier run's), ``warnings``, ``outdir``; ``summary_csv`` and
        ``summary_json``, the files written; ``counts`` per status.

    Raises
    ------
    ConfigError
        The batch config is invalid (nothing runs).
    SchedulerError
        ``scheduler`` cannot be reached.
    """
    batch = load_batch_config(batch_config, base_dir=base_dir)
    out = Path(outdir).resolve()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"batch output folder {out} is a file")
    out.mkdir(parents=True, exist_ok=True)
    cache = str(Path(cache_dir).resolve()) if cache_dir else None
    t_start = time.perf_counter()

    rows: dict[str, dict[str, Any]] = {}
    todo: list[str] = []
    for name, cfg in batch.regions.items():
        if not overwrite and study_is_complete(out / name, cfg):
            rows[name] = _skipped_row(name, out / name)
            log.info("region %s: outputs complete and inputs unchanged; skipped", name)
        else:
            todo.append(name)
    pbar = bar(len(batch.regions), desc=f"batch {batch.name}", unit="region")
    pbar.update(len(rows))
    try:
        if todo:
            rows.update(_run_on_dask(batch, todo, out, overwrite, cache, scheduler, workers, pbar))
    finally:
        pbar.close()
    interrupted = [name for name in batch.regions if name not in rows]
    for name in interrupted:
        rows[name] = _failed_row(name, "interrupted before it finished", None, out / name, 0.0)
        rows[name]["status"] = "interrupted"

    table = _summary_table([rows[name] for name in batch.regions])
    csv_path, json_path = out / SUMMARY_CSV, out / SUMMARY_JSON
    write_table(table, csv_path, overwrite=True)
    counts = {s: int((table["status"] == s).sum()) for s in ("ok", "failed", "skipped")}
    if interrupted:
        counts["interrupted"] = len(interrupted)
    meta = {"batch": batch.name, "title": batch.title, "config": batch.source,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "scheduler": scheduler or "local", "counts": counts,
            "elapsed_s": round(time.perf_counter() - t_start, 3),
            "regions": [{k: _json_value(v) for k, v in r.items()} for r in table.to_dict("records")]}
    with atomic_output(json_path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    log.info("batch %s: %d ok, %d failed, %d skipped%s; summary %s", batch.name, counts["ok"],
             counts["failed"], counts["skipped"], f", {len(interrupted)} interrupted" if interrupted else "",
             csv_path)
    if interrupted:
        done = [n for n in batch.regions if n not in interrupted]
        raise BatchInterruptedError(f"interrupted: {len(done)} of {len(batch.regions)} region(s) finished"
                                    f"{' (' + ', '.join(done) + ')' if done else ''}; unfinished, left without "
                                    f"outputs: {', '.join(interrupted)}; summary {csv_path}")
    return BatchResult(table=table, summary_csv=csv_path, summary_json=json_path, counts=counts)


def _run_on_dask(batch: BatchConfig, todo: list[str], out: Path, overwrite: bool, cache: str | None,
                 scheduler: str | None, workers: int | None, pbar: Any) -> dict[str, dict[str, Any]]:
    """Submit the regions to a local cluster or to ``scheduler`` and gather their rows."""
    from distributed import Client, LocalCluster

    cluster = None
    if scheduler:
        if workers:
            log.warning("--workers is ignored with a scheduler address (%s)", scheduler)
        try:
            client = Client(scheduler, timeout=SCHEDULER_TIMEOUT_S, set_as_default=False)
        except (OSError, asyncio.TimeoutError) as exc:
            raise SchedulerError(f"cannot connect to the Dask scheduler at {scheduler}: {exc}") from None
    else:
        n = max(1, min(workers or min(2, os.cpu_count() or 1), len(todo)))
        log.info("starting a local Dask cluster of %d worker process(es)", n)
        with _sigint_ignored():  # the workers inherit it: a Ctrl-C reaches this process only
            # no dashboard; the scheduler's small HTTP server (health checks) on a free local port,
            # not 8787, which another cluster may hold (distributed then warns on the console).
            # The workers' own logs stay quiet: a region's failure is reported by the batch itself,
            # and after a Ctrl-C the workers would print heartbeat tracebacks to a closed scheduler
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                   silence_logs=logging.CRITICAL)
        client = Client(cluster, set_as_default=False)
    existed = {name: (out / name).exists() for name in todo}
    rows: dict[str, dict[str, Any]] = {}
    try:
        _gather(client, batch, todo, out, overwrite, cache, pbar, existed, rows)
    except KeyboardInterrupt:
        _shut_down_quietly(client, cluster)
        for name in todo:
            if name not in rows:
                _remove_unfinished(out / name, existed[name])
        return rows
    client.close()
    if cluster is not None:
        cluster.close()
    return rows


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT while worker processes start (they keep ignoring it), in the main thread."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _shut_down_quietly(client: Any, cluster: Any) -> None:
    """Close the client and the local cluster (its worker processes) without their log noise;
    a second Ctrl-C during the shutdown is ignored."""
    quiet = [logging.getLogger(n) for n in ("distributed", "tornado", "asyncio")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.CRITICAL + 1)
    with _sigint_ignored():
        try:
            client.close(timeout=10)
            if cluster is not None:
                cluster.close(timeout=10)
        except Exception:  # noqa: BLE001 - shutting down after an interrupt: nothing to report
            log.debug("Dask shutdown after the interrupt", exc_info=True)
    for lg, level in zip(quiet, levels, strict=True):
        lg.setLevel(level)


def _remove_unfinished(out: Path, existed: bool) -> None:
    """An interrupted region leaves nothing: its staging folders go, and its folder when this run
    created it (a folder from an earlier complete run keeps those outputs)."""
    if not out.is_dir():
        return
    if existed:
        _clean_failed(out, existed)
    else:
        shutil.rmtree(out, ignore_errors=True)


def _gather(client: Any, batch: BatchConfig, todo: list[str], out: Path, overwrite: bool, cache: str | None,
            pbar: Any, existed: dict[str, bool], rows: dict[str, dict[str, Any]]) -> None:
    """Submit the regions and fill ``rows`` as they finish (so an interrupt keeps the finished ones)."""
    from distributed import as_completed

    futures = {}
    for name in todo:
        fut = client.submit(run_region, name, batch.regions[name], str(out / name), overwrite, cache,
                            key=f"tgis-region-{batch.name}-{name}-{time.time_ns()}", pure=False, retries=0)
        futures[fut] = name
    for fut in as_completed(list(futures), loop=client.loop):
        name = futures[fut]
        try:
            row = fut.result()
        except (Exception, asyncio.CancelledError) as exc:  # noqa: BLE001 - worker died, task lost, ...
            _clean_failed(out / name, existed[name])
            row = _failed_row(name, f"the Dask task failed: {type(exc).__name__}: {exc}", None, out / name, 0.0)
        rows[name] = row
        if row["status"] == "failed":
            log.warning("region %s failed: %s", name, row["error"])
        else:
            log.info("region %s done in %.1f s", name, row["elapsed_s"])
        if progress_enabled():
            pbar.set_postfix_str(f"{name}: {row['status']}")
        pbar.update(1)


def _summary_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    tiers = list(dict.fromkeys(k for r in rows for k in r if k.startswith("median_travel_time_")))
    cols = [*BASE_COLUMNS, *tiers, *TAIL_COLUMNS]
    return pd.DataFrame([{c: r.get(c) for c in cols} for r in rows], columns=cols)


def _json_value(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v
