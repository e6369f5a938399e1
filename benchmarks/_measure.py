"""Wall time and peak resident memory of a call, for the benchmarks.

``tracemalloc`` sees only Python and numpy allocations; the compiled kernels allocate with
``malloc`` and other libraries (pandana, GDAL, Arrow) likewise, so the peaks here are of the
process's resident set, sampled every few milliseconds by a background thread while the call
runs, minus the resident set before it.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Callable
from typing import Any

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes(pid: int | None = None) -> int:
    """Resident set size of a process (this one by default)."""
    try:
        with open(f"/proc/{pid or 'self'}/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:  # (not Linux)
        import psutil

        return int(psutil.Process(pid).memory_info().rss)


class PeakRSS:
    """Context manager sampling the resident set: ``peak`` bytes and ``delta`` above the start."""

    def __init__(self, interval_s: float = 0.002) -> None:
        self.interval_s = interval_s
        self.start = self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(self.interval_s)

    def __enter__(self) -> PeakRSS:
        gc.collect()
        self.start = self.peak = rss_bytes()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def delta(self) -> int:
        return self.peak - self.start


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, int, Any]:
    """Best wall time of ``repeat`` runs, the largest resident-memory rise of a run, and the last
    result (dropped before the next run); :data:`last_cpu` holds the CPU seconds (all threads
    of this process) of the fastest run."""
    global last_cpu
    best, rise, res = float("inf"), 0, None
    for _ in range(repeat):
        res = None
        gc.collect()
        with PeakRSS() as mem:
            t0, c0 = time.perf_counter(), time.process_time()
            res = fn()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if wall < best:
            best, last_cpu = wall, cpu
        rise = max(rise, mem.delta)
    return best, rise, res


#: CPU seconds of the fastest run of the last :func:`timed` call
last_cpu = 0.0


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:,.0f} MiB"


def hwm_bytes(pid: int | None = None) -> int:
    """Peak resident set of a process so far (``VmHWM``; fresh for each executed program, unlike
    ``getrusage``'s ``ru_maxrss``, which keeps the parent's size across fork and exec)."""
    try:
        with open(f"/proc/{pid or 'self'}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_with_peak(cmd: list[str], env: dict[str, str] | None = None,
                  interval_s: float = 0.05) -> tuple[int, float, int, str, str]:
    """Run a command; ``(returncode, wall seconds, peak resident bytes, stdout, stderr)``, the peak
    polled from the child's ``VmHWM`` (exact but for its last ``interval_s``)."""
    import subprocess
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, text=True)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, hwm_bytes(proc.pid))
            time.sleep(interval_s)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        return proc.returncode, wall, peak, out.read(), err.read()
