"""The Dask part of ``bench_scale.py``: a batch of regions on a real Dask deployment on localhost.

``dask scheduler`` and ``dask worker`` run as separate processes (started here, stopped here by
their process ids); the batch goes through the command line, ``tgis batch ... --scheduler
tcp://127.0.0.1:PORT``, once with one worker and once with two (each run with its own empty
network cache and output folder, so both build every region's network). Regions are square
windows of the SYNTHETIC country (``network.bbox``), each centred on one of its intermediate
cities so every region has destinations of every tier.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
from _measure import hwm_bytes, mib, run_with_peak

WINDOW_KM = 250.0
WORKER_ARGS = ["--nworkers", "1", "--nthreads", "1", "--memory-limit", "0", "--no-dashboard"]


def log(msg: str) -> None:
    print(msg, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_batch(workdir: Path, n_regions: int) -> Path:
    """A batch config over the synthetic study: ``n_regions`` windows around cities."""
    loc = pd.read_csv(workdir / "localities.csv")
    cities = loc[loc["population"] >= 100_000].sort_values("id").head(n_regions)
    half = WINDOW_KM / 2 / 111.32  # degrees of latitude (and about as many of longitude near 5-15 N)
    lines = ["# SYNTHETIC batch written by benchmarks/bench_scale.py: NOT real places.",
             "[batch]", 'name = "synthetic_country_regions"', 'study = "study.toml"', "",
             "[defaults]", "outputs.map = true", "outputs.report = true", "outputs.network_gpkg = false", ""]
    for r in cities.itertuples():
        bbox = [round(r.lon - half, 4), round(r.lat - half, 4), round(r.lon + half, 4), round(r.lat + half, 4)]
        lines += ["[[regions]]", f'name = "around_{r.id}"', f"network.bbox = {bbox}", ""]
    path = workdir / "batch.toml"
    path.write_text("\n".join(lines))
    return path


def _wait_workers(address: str, n: int, timeout_s: float = 120.0) -> None:
    from distributed import Client

    with Client(address, timeout=30, set_as_default=False) as client:
        client.wait_for_workers(n, timeout=timeout_s)


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _run_batch(workdir: Path, batch: Path, address: str, tag: str) -> tuple[float, int, str]:
    out = workdir / f"batch_{tag}"
    cache = workdir / f"cache_batch_{tag}"
    for p in (out, cache):
        shutil.rmtree(p, ignore_errors=True)
    tgis = str(Path(sys.executable).with_name("tgis"))
    cmd = [tgis, "batch", str(batch), "-o", str(out), "--scheduler", address, "--cache-dir", str(cache)]
    log("$ " + " ".join(cmd))
    code, wall, _peak, _out, err = run_with_peak(cmd)
    if code != 0:
        log(f"tgis batch failed (exit {code}):\n{err[-3000:]}")
    summary = pd.read_csv(out / "batch_summary.csv") if (out / "batch_summary.csv").is_file() else None
    status = ", ".join(f"{r.name} {r.status} {r.elapsed_s:.0f} s" for r in summary.itertuples()) \
        if summary is not None else "no summary"
    return wall, code, status


def bench_batch(workdir: Path, n_regions: int) -> dict[str, Any]:
    batch = write_batch(workdir, n_regions)
    dask = str(Path(sys.executable).with_name("dask"))
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    procs: list[subprocess.Popen[Any]] = []
    logs = workdir / "dask_logs"
    logs.mkdir(exist_ok=True)

    def start(args: list[str], name: str) -> subprocess.Popen[Any]:
        fh = open(logs / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        p = subprocess.Popen([dask, *args], stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=workdir)
        procs.append(p)
        return p

    res: dict[str, Any] = {"regions": n_regions}
    try:
        start(["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], "scheduler")
        time.sleep(1.0)
        start(["worker", address, *WORKER_ARGS, "--name", "worker-1"], "worker-1")
        _wait_workers(address, 1)
        log(f"dask scheduler {address} and 1 worker running (pids {', '.join(str(p.pid) for p in procs)})")
        res["one_worker_s"], code1, status1 = _run_batch(workdir, batch, address, "one")
        log(f"batch of {n_regions} regions, one worker: {res['one_worker_s']:.1f} s (exit {code1}): {status1}; "
            f"worker peak RSS {mib(workers_peak(procs[1:]))}")
        start(["worker", address, *WORKER_ARGS, "--name", "worker-2"], "worker-2")
        _wait_workers(address, 2)
        res["two_workers_s"], code2, status2 = _run_batch(workdir, batch, address, "two")
        log(f"batch of {n_regions} regions, two workers: {res['two_workers_s']:.1f} s (exit {code2}): {status2}; "
            f"largest worker peak RSS {mib(workers_peak(procs[1:]))}")
        res["ok"] = code1 == 0 and code2 == 0
    finally:
        for p in reversed(procs):
            _stop(p)
    log(f"(scheduler and worker logs in {logs})")
    return res


def workers_peak(procs: list[subprocess.Popen[Any]]) -> int:
    """Largest peak resident set among the processes under the worker nannies."""
    import psutil

    peak = 0
    for p in procs:
        try:
            for child in psutil.Process(p.pid).children(recursive=True):
                peak = max(peak, hwm_bytes(child.pid))
        except psutil.Error:
            continue
    return peak
