"""Flat polyline helpers (territorial_gis._polyline) against shapely, on SYNTHETIC lines."""

from __future__ import annotations

import numpy as np
import shapely
import shapely.ops
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from territorial_gis._polyline import block_table, cut_lines, join_blocks, lines_of_paths

TO_M = Transformer.from_crs(4326, 32614, always_xy=True)
TO_LL = Transformer.from_crs(32614, 4326, always_xy=True)


def _substring_lonlat(line: shapely.LineString, a: float, b: float) -> np.ndarray:
    """shapely's substring of the line in UTM 14N, back in lon/lat (the reference)."""
    metric = shapely.transform(line, lambda c: np.column_stack(TO_M.transform(c[:, 0], c[:, 1])))
    cut = shapely.ops.substring(metric, a, b, normalized=True)
    xy = shapely.get_coordinates(cut)
    return np.column_stack(TO_LL.transform(xy[:, 0], xy[:, 1]))


lines_st = st.lists(st.tuples(st.floats(-0.02, 0.02), st.floats(-0.02, 0.02)), min_size=2, max_size=6,
                    unique=True)
frac = st.floats(0.0, 1.0)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(lines_st, frac, frac), min_size=1, max_size=5))
def test_cut_lines_equal_shapely_substring(cases: list) -> None:
    lines = np.array([shapely.LineString([(-99.0 + x, 19.0 + y) for x, y in pts]) for pts, _, _ in cases],
                     dtype=object)
    f0 = np.array([a for _, a, _ in cases])
    f1 = np.array([b for _, _, b in cases])
    coords, starts, counts = cut_lines(lines, np.arange(len(lines)), f0, f1, TO_M, TO_LL)
    for k, line in enumerate(lines):
        got = coords[starts[k]:starts[k] + counts[k]]
        ref = _substring_lonlat(line, f0[k], f1[k])
        # shapely drops nothing at the ends; a zero-length cut is one point twice there
        if len(ref) == 1:
            ref = np.vstack([ref, ref])
        # the same points, vertices repeated by a cut at a vertex aside
        keep = np.ones(len(got), dtype=bool)
        keep[1:] = np.any(np.abs(got[1:] - got[:-1]) > 1e-9, axis=1)
        keep_r = np.ones(len(ref), dtype=bool)
        keep_r[1:] = np.any(np.abs(ref[1:] - ref[:-1]) > 1e-9, axis=1)
        assert np.allclose(got[keep], ref[keep_r], atol=1e-8), (line.wkt, f0[k], f1[k])


def test_cut_at_vertex_keeps_the_vertex_bit_for_bit() -> None:
    line = shapely.LineString([(-99.0, 19.0), (-99.01, 19.0), (-99.01, 19.02)])
    coords, starts, counts = cut_lines(np.array([line], dtype=object), np.array([0]), np.array([0.0]),
                                       np.array([1.0]), TO_M, TO_LL)
    assert np.array_equal(coords, shapely.get_coordinates(line))
    coords, _, _ = cut_lines(np.array([line], dtype=object), np.array([0]), np.array([1.0]), np.array([0.0]),
                             TO_M, TO_LL)
    assert np.array_equal(coords, shapely.get_coordinates(line)[::-1])


def test_join_blocks_drops_repeated_junctions() -> None:
    a = shapely.LineString([(0, 0), (1, 0)])
    b = shapely.LineString([(1, 0), (2, 0)])
    c = shapely.LineString([(5, 5), (6, 6)])
    coords, starts, counts = block_table(np.array([a, b, c], dtype=object))
    xy, path = join_blocks(coords, starts, counts, np.array([0, 1, 2]), np.array([0, 0, 1]))
    lines, good = lines_of_paths(xy, path, 3)
    assert lines[0].equals(shapely.LineString([(0, 0), (1, 0), (2, 0)]))
    assert len(shapely.get_coordinates(lines[0])) == 3
    assert lines[1].equals(c)
    assert lines[2] is None and not good[2]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(-5, 5).map(float), st.just(float("nan")), st.floats(-1e9, 1e9)),
                max_size=40))
def test_unique_values_equal_np_unique(values: list) -> None:
    from territorial_gis._arrays import unique_values

    x = np.array(values, dtype=float)
    np.testing.assert_array_equal(unique_values(x), np.unique(x))
    ints = np.nan_to_num(x).astype(np.int64)
    np.testing.assert_array_equal(unique_values(ints), np.unique(ints))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 30), max_size=60))
def test_dense_ranks_equal_np_unique_with_inverse(values: list) -> None:
    from territorial_gis._arrays import dense_ranks

    x = np.array(values, dtype=np.int64)
    uniq, inv = dense_ranks(x, 31)
    ref_u, ref_inv = np.unique(x, return_inverse=True)
    np.testing.assert_array_equal(uniq, ref_u)
    np.testing.assert_array_equal(inv, ref_inv)
