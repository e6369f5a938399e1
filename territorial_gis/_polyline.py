"""Polylines as flat coordinate arrays: cut pieces of lines at fractions of their metric length,
and join pieces into one line per path, without a Python call per piece.

A *block table* is ``(coords, starts, counts)``: the coordinates of many lines laid end to end,
line ``i`` being ``coords[starts[i]:starts[i] + counts[i]]``. Corridors (one line per
locality's path, built from hundreds of thousands of road pieces at country scale) use it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from ._arrays import concat_ranges, run_positions


def block_table(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates of ``geoms`` (lines) as a block table ``(coords, starts, counts)``."""
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    counts = np.bincount(idx, minlength=len(geoms)).astype(np.int64)
    return coords, np.cumsum(counts) - counts, counts


def cut_lines(lines: np.ndarray, line_of: np.ndarray, f0: np.ndarray, f1: np.ndarray,
              to_metric: Any, to_lonlat: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pieces of lon/lat ``lines`` between fractions ``f0`` and ``f1`` of their length in a
    metric CRS, as a block table (piece ``k`` of ``lines[line_of[k]]``; reversed where
    ``f0 > f1``), like :func:`shapely.ops.substring` with ``normalized=True`` in that CRS.

    The cut points are found in the metric CRS and brought back to lon/lat (``to_metric`` and
    ``to_lonlat`` are pyproj Transformers with ``always_xy``); the vertices between them are
    the lines' own, untouched, and a cut at a vertex is that vertex.
    """
    coords, starts, counts = block_table(lines)
    x, y = to_metric.transform(coords[:, 0], coords[:, 1])
    step = np.hypot(np.diff(x), np.diff(y))
    line_idx = np.repeat(np.arange(len(lines)), counts)
    step[line_idx[1:] != line_idx[:-1]] = 0.0  # no length between one line's end and the next's start
    along = np.concatenate([[0.0], np.cumsum(step)])  # distance along the lines laid end to end
    first, last = starts[line_of], starts[line_of] + counts[line_of] - 1
    length = along[last] - along[first]
    lo, hi = np.minimum(f0, f1), np.maximum(f0, f1)
    a = along[first] + np.clip(lo, 0.0, 1.0) * length
    b = along[first] + np.clip(hi, 0.0, 1.0) * length
    ia = np.clip(np.searchsorted(along, a, side="right"), first + 1, last)  # first vertex beyond a
    ib = np.clip(np.searchsorted(along, b, side="left"), first + 1, last)  # first vertex at or beyond b
    pa = _point_on(coords, x, y, along, ia, a, to_lonlat)
    pb = _point_on(coords, x, y, along, ib, b, to_lonlat)
    n_inner = np.maximum(ib - ia, 0)
    n_out = n_inner + 2
    out_start = np.cumsum(n_out) - n_out
    out = np.empty((int(n_out.sum()), 2))
    out[out_start] = pa
    out[out_start + n_out - 1] = pb
    out[concat_ranges(out_start + 1, n_inner)] = coords[concat_ranges(ia, n_inner)]
    rev = np.flatnonzero(f0 > f1)
    if len(rev):
        n = n_out[rev]
        out[concat_ranges(out_start[rev], n)] = out[np.repeat(out_start[rev] + n - 1, n) - run_positions(n)]
    return out, out_start, n_out


def _point_on(coords: np.ndarray, x: np.ndarray, y: np.ndarray, along: np.ndarray, i: np.ndarray,
              dist: np.ndarray, to_lonlat: Any) -> np.ndarray:
    """Lon/lat of the points at distance ``dist`` along the segments ``i - 1 -> i``."""
    seg = along[i] - along[i - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(seg > 0, (dist - along[i - 1]) / seg, 0.0)
    t = np.clip(t, 0.0, 1.0)
    lon, lat = to_lonlat.transform(x[i - 1] + t * (x[i] - x[i - 1]), y[i - 1] + t * (y[i] - y[i - 1]))
    pts = np.column_stack([lon, lat])
    at_start, at_end = t <= 0.0, t >= 1.0
    pts[at_start] = coords[i[at_start] - 1]
    pts[at_end] = coords[i[at_end]]
    return pts


def join_blocks(coords: np.ndarray, starts: np.ndarray, counts: np.ndarray, block_of: np.ndarray,
                path_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate blocks ``block_of`` (in order) into one coordinate run per path ``path_of``
    (non-decreasing); a point equal to the one before it on the same path is dropped. Returns
    ``(coords, path)``, the path of every coordinate."""
    take = concat_ranges(starts[block_of], counts[block_of])
    path = np.repeat(path_of, counts[block_of])
    xy = coords[take]
    keep = np.ones(len(xy), dtype=bool)
    if len(xy):
        keep[1:] = (path[1:] != path[:-1]) | (xy[1:, 0] != xy[:-1, 0]) | (xy[1:, 1] != xy[:-1, 1])
    return xy[keep], path[keep]


def lines_of_paths(xy: np.ndarray, path: np.ndarray, n_paths: int) -> tuple[np.ndarray, np.ndarray]:
    """One LineString per path with at least two points (object array, None elsewhere) and the
    mask of those paths."""
    counts = np.bincount(path, minlength=n_paths)
    good = counts >= 2
    out = np.full(n_paths, None, dtype=object)
    if len(xy):
        mask = good[path]
        out[np.flatnonzero(good)] = shapely.linestrings(xy[mask], indices=(np.cumsum(good) - 1)[path[mask]])
    return out, good
