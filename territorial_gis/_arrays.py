"""Vectorised index helpers shared by the stages (runs of variable length, without Python loops)."""

from __future__ import annotations

import numpy as np


def run_positions(counts: np.ndarray) -> np.ndarray:
    """``0 .. c-1`` for every count ``c``, concatenated: each element's position within its run."""
    counts = np.asarray(counts, dtype=np.int64)
    return np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)


def concat_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``starts[i] .. starts[i] + counts[i] - 1`` for every ``i``, concatenated."""
    return np.repeat(np.asarray(starts, dtype=np.int64), counts) + run_positions(counts)
