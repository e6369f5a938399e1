"""Accessibility surfaces (territorial_gis.surfaces, the compiled grid kernel _grid.pyx).

Expected values are derived independently: hand-worked distances and Tobler's formula, an
independent scipy Dijkstra over a graph built here from the stated move rules, brute-force zonal
statistics, pyproj geodesics, the road engine of territorial_gis.access. Grids, roads, rivers and
rasters built in this file are SYNTHETIC (named so); the Porto Alegre and Guaviare cases use the
embedded real data.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from _cli import assert_cli_fails
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasterio.transform import from_origin
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from territorial_gis._friction import (
    check_memory,
    grid_for_lonlat_bounds,
    tobler_isotropic_factor,
    tobler_kph,
    tobler_time_factor,
)
from territorial_gis._grid import grid_nearest, move_table
from territorial_gis.errors import ColumnError, ConfigError, RasterError
from territorial_gis.surfaces import (
    MOVE_SET_ERROR,
    REASON_CUT_OFF,
    SurfaceOptions,
    WaterwaySpec,
    build_surface,
    surface_from_rasters,
    write_surface_cog,
    zonal_travel_times,
)

WALK_KPH = 4.0
F_WALK = 3.6 / WALK_KPH  # seconds per metre at 4 km/h


# ---------------------------------------------------------------------------------------------
# helpers: SYNTHETIC grids and an independent reference


def _move_dist(moves: int, nrows: int, dx: float = 1.0, dy: float = 1.0) -> np.ndarray:
    off = move_table(moves).astype(float)
    return np.tile(np.hypot(off[:, 0] * dy, off[:, 1] * dx), (nrows, 1))


def _reference_arcs(f: np.ndarray, moves: int, dx: float, dy: float, z: np.ndarray | None,
                    cut_corners: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The grid graph written out arc by arc from the stated rules (travel direction): a move
    from a walkable cell to a walkable cell costs the mean friction times the centre distance,
    times Tobler's factor of its rise over run; without corner cutting a diagonal needs one of
    the two cells it passes between walkable, a knight move both cells it crosses."""
    nr, nc = f.shape
    ok = np.isfinite(f)
    rows, cols, data = [], [], []
    for r in range(nr):
        for c in range(nc):
            if not ok[r, c]:
                continue
            for dr, dc in move_table(moves):
                rr, cc = r + dr, c + dc
                if not (0 <= rr < nr and 0 <= cc < nc) or not ok[rr, cc]:
                    continue
                if not cut_corners and abs(dr) == 1 and abs(dc) == 1 and not (ok[r + dr, c] or ok[r, c + dc]):
                    continue
                if not cut_corners and abs(dr) + abs(dc) == 3:
                    a, b = ((ok[r, c + dc // 2], ok[r + dr, c + dc // 2]) if abs(dr) == 1
                            else (ok[r + dr // 2, c], ok[r + dr // 2, c + dc]))
                    if not (a and b):
                        continue
                d = math.hypot(dr * dy, dc * dx)
                w = (f[r, c] + f[rr, cc]) / 2 * d
                if z is not None and math.isfinite(z[rr, cc] - z[r, c]):  # no elevation: flat
                    s = (z[rr, cc] - z[r, c]) / d
                    w *= math.exp(3.5 * (abs(s + 0.05) - 0.05))
                rows.append(r * nc + c)
                cols.append(rr * nc + cc)
                data.append(w)
    return np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64), np.array(data)


def _min_csr(u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int) -> sparse.csr_matrix:
    """CSR of arcs keeping the lightest of parallel arcs (scipy would sum duplicates)."""
    o = np.lexsort((w, v, u))
    u, v, w = u[o], v[o], w[o]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    return sparse.csr_matrix((w[first], (u[first], v[first])), shape=(n, n))


def _reference_to_seeds(u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int, seeds: np.ndarray,
                        costs: np.ndarray) -> np.ndarray:
    """Time from every node to its nearest seed (plus the seed's cost) by scipy's Dijkstra."""
    back = _min_csr(v, u, w, n)  # reversed graph: search from the seeds
    d = np.atleast_2d(dijkstra(back, directed=True, indices=seeds))
    out: np.ndarray = np.min(d + np.asarray(costs)[:, None], axis=0)
    return out


# ---------------------------------------------------------------------------------------------
# move sets, Tobler, the kernel against scipy


def test_move_set_error_bounds_hand_worked() -> None:
    # 8 moves: the worst direction is 22.5 degrees, path = cos + (sqrt2 - 1) sin
    a = math.radians(22.5)
    assert MOVE_SET_ERROR[8] == pytest.approx(math.cos(a) + (math.sqrt(2) - 1) * math.sin(a) - 1, rel=1e-12)
    # 16 moves: between (1, 0) and (2, 1) the path is cos + (sqrt5 - 2) sin, worst at tan = sqrt5 - 2
    a = math.atan(math.sqrt(5) - 2)
    assert MOVE_SET_ERROR[16] == pytest.approx(math.cos(a) + (math.sqrt(5) - 2) * math.sin(a) - 1, rel=1e-12)
    assert MOVE_SET_ERROR[4] == pytest.approx(math.sqrt(2) - 1)
    assert round(MOVE_SET_ERROR[16], 4) == 0.0275 and round(MOVE_SET_ERROR[8], 4) == 0.0824


@pytest.mark.parametrize("moves", [4, 8, 16])
def test_flat_grid_times_are_distance_over_speed_within_the_move_set_bound(moves: int) -> None:
    # SYNTHETIC flat open grid of 81 x 81 cells of 10 m at 4 km/h, one destination in the centre
    n, res, c0 = 81, 10.0, 40
    f = np.full((n, n), F_WALK)
    t, *_ = grid_nearest(f, n, n, _move_dist(moves, n, res, res), moves, [c0 * n + c0], [0.0])
    r, c = np.divmod(np.arange(n * n), n)
    exact = np.hypot((r - c0) * res, (c - c0) * res) * F_WALK
    assert np.all(t >= exact * (1 - 1e-12))
    assert np.all(t <= exact * (1 + MOVE_SET_ERROR[moves]) + 1e-9)
    worst = np.max(t[exact > 0] / exact[exact > 0]) - 1
    assert worst > 0.8 * MOVE_SET_ERROR[moves]  # the bound is nearly reached: it is the right one
    axis = r == c0
    assert np.allclose(t[axis], exact[axis], rtol=1e-12)  # straight along the rows: exact


def test_tobler_speeds_at_known_slopes() -> None:
    # Tobler (1993): W = 6 exp(-3.5 |S + 0.05|) km/h
    assert tobler_kph(0.0) == pytest.approx(6 * math.exp(-0.175)) and tobler_kph(0.0) == pytest.approx(5.0367, abs=1e-4)
    assert tobler_kph(-0.05) == pytest.approx(6.0)  # the fastest: a 5 % descent
    assert tobler_kph(0.10) == pytest.approx(6 * math.exp(-0.525)) and tobler_kph(0.10) == pytest.approx(3.5493, abs=1e-4)
    assert tobler_kph(-0.10) == pytest.approx(tobler_kph(0.0))  # 10 % down is as fast as flat
    assert tobler_kph(1.0) == pytest.approx(6 * math.exp(-3.675))  # 45 degrees up: 0.15 km/h
    assert tobler_time_factor(0.10) == pytest.approx(tobler_kph(0.0) / tobler_kph(0.10))
    assert tobler_isotropic_factor(0.10) == pytest.approx(0.5 * (math.exp(0.35) + 1.0))


def test_kernel_charges_tobler_uphill_and_downhill() -> None:
    # SYNTHETIC strip of 50 cells of 10 m rising 1 m per cell (10 % up to the east)
    n, res = 50, 10.0
    f = np.full((1, n), F_WALK)
    z = np.arange(n, dtype=float) * 1.0
    md = _move_dist(4, 1, res, res)
    length = (n - 1) * res
    # destination at the east end: the walk from the west end climbs 10 % all the way
    t, *_ = grid_nearest(f, 1, n, md, 4, [n - 1], [0.0], elevation=z, reverse=True)
    assert t[0] == pytest.approx(length * F_WALK * math.exp(3.5 * (0.15 - 0.05)), rel=1e-12)
    # destination at the west end: 10 % down costs what flat ground costs
    t, *_ = grid_nearest(f, 1, n, md, 4, [0], [0.0], elevation=z, reverse=True)
    assert t[n - 1] == pytest.approx(length * F_WALK, rel=1e-12)


def test_kernel_equals_scipy_dijkstra_on_random_grids() -> None:
    rng = np.random.default_rng(20)
    for trial in range(24):
        nr, nc = (int(v) for v in rng.integers(3, 13, 2))
        moves = (4, 8, 16)[trial % 3]
        dx, dy = (float(v) for v in rng.uniform(0.5, 2.0, 2))
        f = rng.uniform(0.5, 2.0, (nr, nc))
        f[rng.random((nr, nc)) < 0.2] = np.nan  # SYNTHETIC barriers
        z = rng.uniform(0, 3, (nr, nc)) if trial % 2 else None
        cut = trial % 4 == 0
        n = nr * nc
        ne = int(rng.integers(0, 5))
        u, v, w = _reference_arcs(f, moves, dx, dy, z, cut)
        # SYNTHETIC explicit arcs among cells and extra nodes, some free, some light
        k = int(rng.integers(0, 16))
        eu, ev = rng.integers(0, n + ne, k), rng.integers(0, n + ne, k)
        ew = np.where(rng.random(k) < 0.3, 0.0, rng.uniform(0, 3, k))
        keep = eu != ev
        eu, ev, ew = eu[keep], ev[keep], ew[keep]
        seeds = rng.integers(0, n + ne, int(rng.integers(1, 4)))
        costs = rng.uniform(0, 2, len(seeds))
        ref = _reference_to_seeds(np.concatenate([u, eu]), np.concatenate([v, ev]),
                                  np.concatenate([w, ew]), n + ne, seeds, costs)
        # kernel: explicit arcs reversed (row = head), as a search from the destinations reads them
        order = np.argsort(ev, kind="stable")
        indptr = np.concatenate([[0], np.cumsum(np.bincount(ev, minlength=n + ne))])
        t, label, legs, _seq = grid_nearest(
            f, nr, nc, _move_dist(moves, nr, dx, dy), moves, seeds, costs, indptr, eu[order].astype(np.int32),
            ew[order], np.full(len(ew), 2, np.uint8), n_extra=ne, elevation=z, reverse=True, cut_corners=cut,
            labels=True, legs=True, bucket_width=float(rng.choice([0.01, 0.5, 3.0])),
            n_buckets=int(rng.choice([1, 4, 64])))
        fin = np.isfinite(ref)
        assert np.array_equal(np.isfinite(t), fin), trial
        assert np.allclose(t[fin], ref[fin], rtol=1e-12, atol=1e-12), trial
        assert label is not None and legs is not None
        # the legs add up to the time, and every reached node names a seed at its own cost
        assert np.allclose(legs.sum(axis=1)[fin] + costs[label[fin]], t[fin], atol=1e-9)


def test_lean_grid_path_equals_the_general_one() -> None:
    # the kernel runs a lean loop for plain grids (no labels, legs, slopes or explicit arcs)
    rng = np.random.default_rng(11)
    for trial in range(12):
        nr, nc = (int(v) for v in rng.integers(5, 40, 2))
        f = rng.uniform(0.2, 3.0, (nr, nc))
        f[rng.random((nr, nc)) < 0.25] = np.nan  # SYNTHETIC barriers
        moves = (4, 8, 16)[trial % 3]
        seeds = rng.integers(0, nr * nc, 3)
        kw = {"cut_corners": bool(trial % 2), "bucket_width": float(rng.uniform(0.05, 2.0)), "n_buckets": 16}
        md = _move_dist(moves, nr, 1.3, 0.7)
        lean, *_ = grid_nearest(f, nr, nc, md, moves, seeds, np.zeros(3), **kw)
        general, label, *_ = grid_nearest(f, nr, nc, md, moves, seeds, np.zeros(3), labels=True, **kw)
        assert label is not None
        assert np.array_equal(lean, general)


def test_cut_corners_matches_scikit_image_mcp_geometric() -> None:
    skg = pytest.importorskip("skimage.graph")
    rng = np.random.default_rng(3)
    f = rng.uniform(1, 2, (60, 70))
    f[rng.random(f.shape) < 0.1] = np.inf  # barriers: impassable for both
    seeds = [(5, 5), (50, 60)]
    mcp = skg.MCP_Geometric(f, fully_connected=True)
    ref, _ = mcp.find_costs(seeds)
    t, *_ = grid_nearest(f, 60, 70, _move_dist(8, 60), 8, [r * 70 + c for r, c in seeds], [0.0, 0.0],
                         cut_corners=True)
    fin = np.isfinite(ref.ravel())
    assert np.array_equal(np.isfinite(t), fin)
    assert np.allclose(t[fin], ref.ravel()[fin], rtol=1e-12)


def test_geographic_grid_moves_are_geodesics() -> None:
    from affine import Affine
    from pyproj import CRS, Geod

    from territorial_gis._friction import GridSpec

    g = GridSpec(CRS.from_epsg(4326), Affine(0.01, 0, -60.0, 0, -0.01, -10.0), 5, 4)
    md = g.move_distances(16)
    geod = Geod(ellps="WGS84")
    for row in (0, 3):
        lat = -10.0 - 0.005 - 0.01 * row
        for m, (dr, dc) in enumerate(move_table(16)):
            _a, _b, d = geod.inv(-59.995, lat, -59.995 + 0.01 * dc, lat - 0.01 * dr)
            assert md[row, m] == pytest.approx(d, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# SYNTHETIC surfaces: rivers, crossings, bridges, boats

BOX = (-60.02, -10.02, -60.0, -10.0)  # SYNTHETIC study area, about 2.2 x 2.2 km
RIVER_LON = -60.01


def _river(lon: float = RIVER_LON) -> gpd.GeoDataFrame:
    """SYNTHETIC river line from south to north across the whole area."""
    return gpd.GeoDataFrame({"name": ["SYNTHETIC river"]},
                            geometry=[shapely.LineString([(lon, -10.05), (lon, -9.97)])], crs=4326)


def _points(*xy: tuple[float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"place_id": [f"p{i}" for i in range(len(xy))]},
                            geometry=gpd.points_from_xy(*zip(*xy, strict=True)), crs=4326)


def _road(coords: list[tuple[float, float]], oneway: bool = False, speed: float = 30.0):
    """SYNTHETIC road network: one polyline split at its vertices."""
    from territorial_gis.network import RoadNetwork

    lon = np.array([c[0] for c in coords])
    lat = np.array([c[1] for c in coords])
    n = len(coords)
    u, v = np.arange(n - 1), np.arange(1, n)
    if not oneway:
        u, v = np.concatenate([u, v]), np.concatenate([v, u])
    from territorial_gis._geodesy import segment_lengths_m

    length = segment_lengths_m(lon[u], lat[u], lon[v], lat[v])
    seg = np.concatenate([np.arange(n - 1)] * (1 if oneway else 2))
    edges = pd.DataFrame({"length_m": length, "speed_kph": speed, "highway": "unclassified", "segment": seg,
                          "reversed": np.arange(len(u)) >= n - 1, "oneway": oneway})
    geoms = shapely.linestrings(np.stack([np.column_stack([lon[u], lat[u]]), np.column_stack([lon[v], lat[v]])], 1))
    return RoadNetwork.from_arrays(np.arange(n), lon, lat, u, v, edges, geoms)


OPTS = SurfaceOptions(resolution_m=50.0, moves=16)


def test_river_without_crossing_separates_the_two_halves() -> None:
    dest = _points((-60.003, -10.01))
    s = build_surface(bounds=BOX, points=[dest], barriers=[_river()], options=OPTS)
    minutes, _ = s.travel_times(dest)
    xs, _ys = s.grid.centres(np.arange(s.grid.n_cells))
    from pyproj import Transformer

    river_x = Transformer.from_crs(4326, s.grid.crs, always_xy=True).transform(RIVER_LON, -10.01)[0]
    flat = minutes.reshape(-1)
    west = xs < river_x - 2 * 50
    east = xs > river_x + 2 * 50
    assert np.isnan(flat[west]).all()
    assert np.isfinite(flat[east]).all()
    r = s.nearest(_points((-60.017, -10.01), (-60.004, -10.005)), dest)
    assert r.loc[0, "reason"] == REASON_CUT_OFF and np.isnan(r.loc[0, "travel_time_min"])
    assert r.loc[1, "reason"] is None and r.loc[1, "trip_mode"] == "walk"
    assert s.meta["terrain"].startswith("flat")


def test_ferry_and_bridge_join_the_banks() -> None:
    dest = _points((-60.003, -10.01))
    origin = _points((-60.017, -10.01))
    ferry = gpd.GeoDataFrame({"time_min": [12.0]}, geometry=[shapely.Point(RIVER_LON, -10.015)], crs=4326)
    s = build_surface(bounds=BOX, points=[dest, origin], barriers=[_river()], crossings=ferry, options=OPTS)
    r = s.nearest(origin, dest)
    t = float(r.loc[0, "travel_time_min"])
    # lower bound: the ferry time plus the straight walk origin -> ferry point -> destination
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    walk_m = geod.inv(-60.017, -10.01, RIVER_LON, -10.015)[2] + geod.inv(RIVER_LON, -10.015, -60.003, -10.01)[2]
    assert t > 12.0 + (walk_m - 4 * 50) * F_WALK / 60
    assert r.loc[0, "trip_mode"] == "walk+crossing+walk" and r.loc[0, "crossing_min"] == pytest.approx(12.0)
    # a road crossing the river: a bridge, walkable and driven
    road = _road([(-60.019, -10.004), (-60.001, -10.004)])
    s2 = build_surface(network=road, bounds=BOX, points=[dest, origin], barriers=[_river()], options=OPTS)
    r2 = s2.nearest(origin, dest)
    assert np.isfinite(r2.loc[0, "travel_time_min"]) and "road" in r2.loc[0, "trip_mode"]
    assert s2.meta["barriers"]["road_crossings"] == 1 and s2.meta["barriers"]["bridge_cells"] > 0


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(river=st.floats(-60.016, -60.004), ferry_lat=st.floats(-10.019, -10.001),
       dest=st.tuples(st.floats(-60.019, -60.001), st.floats(-10.019, -10.001)),
       minutes=st.floats(0.0, 60.0), bridge_lat=st.floats(-10.019, -10.001))
def test_adding_a_bridge_or_ferry_never_makes_a_time_longer(river: float, ferry_lat: float,
                                                             dest: tuple[float, float], minutes: float,
                                                             bridge_lat: float) -> None:
    d = _points(dest)
    base = build_surface(bounds=BOX, points=[d], barriers=[_river(river)], options=OPTS)
    t0, _ = base.travel_times(d)
    ferry = gpd.GeoDataFrame({"time_min": [minutes]}, geometry=[shapely.Point(river, ferry_lat)], crs=4326)
    with_ferry = build_surface(bounds=BOX, points=[d], barriers=[_river(river)], crossings=ferry, options=OPTS)
    t1, _ = with_ferry.travel_times(d)
    road = _road([(river - 0.004, bridge_lat), (river + 0.004, bridge_lat)])
    with_bridge = build_surface(network=road, bounds=BOX, points=[d], barriers=[_river(river)], options=OPTS)
    t2, _ = with_bridge.travel_times(d)
    assert base.grid == with_ferry.grid == with_bridge.grid
    for t in (t1, t2):
        was = np.isfinite(t0)
        assert np.isfinite(t[was]).all()
        assert np.all(t[was] <= t0[was] * (1 + 1e-6) + 1e-6)


def test_surface_access_gives_every_locality_a_time_legs_and_modes() -> None:
    from territorial_gis.surfaces import SurfaceInputs, surface_access

    # SYNTHETIC: a road on the east bank, a river, a walled-in western strip (a second river)
    road = _road([(-60.008, -10.019), (-60.008, -10.001)])
    locs = _points((-60.0085, -10.015), (-60.002, -10.002), (-60.013, -10.01), (-60.0185, -10.01))
    market = _points((-60.008, -10.002))
    inner = gpd.GeoDataFrame(geometry=[shapely.LineString([(-60.017, -10.05), (-60.017, -9.97)])], crs=4326)
    table, surf = surface_access(road, locs, {"market": market},
                                 SurfaceInputs(barriers=(_river(), inner), options=OPTS))
    t = table["travel_time_market_min"].to_numpy()
    modes = table["trip_mode_market"].tolist()
    assert modes[0] == "walk+road" and modes[1] == "walk" and np.isfinite(t[:2]).all()
    # west of the river, east of the second one: no crossing -> cut off, with that reason
    assert np.isnan(t[2]) and table["unreachable_reason_market"].iloc[2] == REASON_CUT_OFF
    assert np.isnan(t[3]) and table["unreachable_reason_market"].iloc[3] == REASON_CUT_OFF
    legs = table[["walk_market_min", "road_market_min", "boat_market_min", "boat_wait_market_min",
                  "crossing_market_min"]].to_numpy()
    assert np.allclose(np.nansum(legs[:2], axis=1), t[:2])
    assert table["nearest_market_id"].iloc[0] == "p0"
    assert table.attrs["offroad_method"]["terrain"].startswith("flat")
    assert table.attrs["offroad_method"]["barriers"]["barrier_cells"] > 0


def test_boats_go_faster_downstream_and_wait_at_boarding() -> None:
    # SYNTHETIC river drawn west -> east (downstream), 6 km long; landings two cells north of it
    lat = -10.0
    river = gpd.GeoDataFrame({"c": ["major"]}, geometry=[shapely.LineString([(-60.06, lat), (0.0 - 60.0, lat)])],
                             crs=4326)
    a, b = (-60.05, lat + 0.002), (-60.01, lat + 0.002)
    pts = _points(a, b)
    spec = WaterwaySpec(river, flow="digitised")
    s = build_surface(bounds=(-60.065, -10.01, -59.995, -9.99), points=[pts], waterways=[spec], landings=pts,
                      options=SurfaceOptions(resolution_m=100.0, walk_kph=1.0))
    rg = s.meta["waterways"][0]
    assert rg["place_landings"] == 2
    from pyproj import Transformer

    tr = Transformer.from_crs(4326, s.grid.crs, always_xy=True)
    length = abs(tr.transform(*b)[0] - tr.transform(*a)[0])
    down = s.nearest(pts.iloc[[0]], pts.iloc[[1]])
    up = s.nearest(pts.iloc[[1]], pts.iloc[[0]])
    # river nodes every <= 100 m: the boat leg is the distance between the landings within one piece
    assert down.loc[0, "boat_min"] == pytest.approx(length / (24 / 3.6) / 60, abs=100 / (24 / 3.6) / 60)
    assert up.loc[0, "boat_min"] == pytest.approx(length / (16 / 3.6) / 60, abs=100 / (16 / 3.6) / 60)
    assert down.loc[0, "boat_wait_min"] == up.loc[0, "boat_wait_min"] == pytest.approx(30.0)
    assert down.loc[0, "trip_mode"] == "boat" and down.loc[0, "travel_time_min"] < up.loc[0, "travel_time_min"]
    # the same river with its outlet at the east end flows the same way
    s2 = build_surface(bounds=(-60.065, -10.01, -59.995, -9.99), points=[pts], landings=pts,
                       waterways=[WaterwaySpec(river, outlet=(-60.0, lat))],
                       options=SurfaceOptions(resolution_m=100.0, walk_kph=1.0))
    assert s2.nearest(pts.iloc[[0]], pts.iloc[[1]]).loc[0, "boat_min"] == pytest.approx(down.loc[0, "boat_min"])


def test_river_polygon_reduced_to_its_centre_line() -> None:
    from territorial_gis._waterways import centrelines

    # SYNTHETIC river 200 m wide and 5 km long (metric coordinates)
    poly = shapely.box(0, 0, 5000, 200)
    lines = centrelines(np.array([poly]), 20.0)
    xy = shapely.get_coordinates(lines)
    core = (xy[:, 0] > 300) & (xy[:, 0] < 4700)
    assert np.abs(xy[core, 1] - 100).max() < 1.0
    assert shapely.length(shapely.union_all(lines)) > 4700


def test_one_way_roads_kept_by_the_network_join_lost_when_burnt() -> None:
    # SYNTHETIC one-way road west -> east, 1.9 km; walking at 1 km/h makes the road decisive
    road = _road([(-60.019, -10.01), (-60.001, -10.01)], oneway=True, speed=30)
    west, east = _points((-60.019, -10.01)), _points((-60.001, -10.01))
    opts = SurfaceOptions(resolution_m=50.0, walk_kph=1.0)
    s = build_surface(network=road, bounds=BOX, points=[west, east], options=opts)
    with_flow = float(s.nearest(west, east).loc[0, "travel_time_min"])
    against = float(s.nearest(east, west).loc[0, "travel_time_min"])
    assert with_flow < 6 and against > 60  # against the one-way rule: on foot
    burnt = build_surface(network=road, bounds=BOX, points=[west, east],
                          options=SurfaceOptions(resolution_m=50.0, walk_kph=1.0, roads="burn"))
    assert float(burnt.nearest(east, west).loc[0, "travel_time_min"]) < 6
    assert burnt.meta["roads"]["method"].startswith("burnt")


# ---------------------------------------------------------------------------------------------
# real data: Porto Alegre (network, DEM) and Guaviare (rivers, boats)


@pytest.fixture(scope="module")
def poa_surface(poa_network, poa_pois):  # type: ignore[no-untyped-def]
    from territorial_gis.data import data_path

    return build_surface(network=poa_network, points=[poa_pois], dem=data_path("porto_alegre", "poa_elevation.tif"),
                         options=SurfaceOptions(resolution_m=100.0))


def test_localities_on_a_road_get_the_network_time(poa_network, poa_surface) -> None:  # type: ignore[no-untyped-def]
    from territorial_gis.access import travel_times_to_nearest

    rng = np.random.default_rng(5)
    # origins and destinations exactly on roads: the midpoints of random road pieces
    e = rng.choice(np.flatnonzero(~poa_network.edges["reversed"].to_numpy()), 80, replace=False)
    mids = shapely.line_interpolate_point(poa_network.edge_geometry[e], 0.5, normalized=True)
    o = gpd.GeoDataFrame({"place_id": np.arange(70)}, geometry=mids[:70], crs=4326)
    d = gpd.GeoDataFrame({"dest_id": np.arange(10)}, geometry=mids[70:], crs=4326)
    net_t = travel_times_to_nearest(poa_network, o, {"d": d})["travel_time_d_min"].to_numpy()
    r = poa_surface.nearest(o, d)
    t = r["travel_time_min"].to_numpy()
    # the surface holds every road path, so it is never slower; all-road trips are the network's
    # time within 1e-4 min (the engine charges the sub-millimetre walks of the projected midpoints
    # to their road; the surface counts a point within a millimetre of the road as on it)
    assert np.all(t <= net_t + 1e-4)
    road = (r["trip_mode"] == "road").to_numpy()
    assert road.sum() > 20
    assert np.allclose(t[road], net_t[road], rtol=0, atol=1e-4)


def test_surface_search_equals_scipy_on_its_own_graph(poa_network, poa_pois) -> None:  # type: ignore[no-untyped-def]
    from territorial_gis.data import data_path

    s = build_surface(network=poa_network, points=[poa_pois], dem=data_path("porto_alegre", "poa_elevation.tif"),
                      options=SurfaceOptions(resolution_m=300.0))
    placed = s._place(poa_pois.geometry.x.to_numpy(), poa_pois.geometry.y.to_numpy(), "pois")
    seeds = s._seeds(placed)
    nodes, costs = seeds.node, seeds.cost
    t, *_ = s.search(nodes, costs)
    h, w = s.grid.shape
    res = s.grid.res[0]
    gu, gv, gw = _reference_arcs(s.friction, 16, res, res, s.elevation, cut_corners=False)
    eu, ev, ew, _m = s._arcs.arrays()
    ref = _reference_to_seeds(np.concatenate([gu, eu]), np.concatenate([gv, ev]), np.concatenate([gw, ew]),
                              s.n_nodes, nodes, costs)
    cells = np.random.default_rng(9).choice(h * w, 300, replace=False)
    assert np.allclose(t[cells], ref[cells], rtol=1e-9)
    assert np.array_equal(np.isfinite(t), np.isfinite(ref))


def test_guaviare_towns_across_the_river_by_boat() -> None:
    from territorial_gis.data import data_path

    import territorial_gis as tg

    net = tg.build_network(data_path("guaviare", "vias_guaviare_osm.geojson"), snap_tolerance_m=5)
    towns = tg.load_catalogue("geonames", country="CO", bbox=[-73.6, 1.7, -70.0, 3.1], min_population=1000)
    city = towns[towns["population"] >= 50000]
    ww = WaterwaySpec(data_path("guaviare", "rios_igac.geojson"), outlet=(-67.703, 4.045), landing_reach_m=1500)
    s = build_surface(network=net, points=[towns], waterways=[ww], landings=towns,
                      barriers=[data_path("guaviare", "lagunas_igac.geojson")],
                      options=SurfaceOptions(resolution_m=500.0))
    r = s.nearest(towns, city).set_index(towns["name"].to_numpy())
    # every town has a time or a reason
    assert (r["travel_time_min"].notna() | r["reason"].notna()).all()
    pc = r.loc["Puerto Concordia"]
    assert "boat" in pc["trip_mode"] and pc["boat_wait_min"] == pytest.approx(30.0)
    assert 30 < pc["travel_time_min"] < 180
    assert r.loc["San José del Guaviare", "travel_time_min"] == 0.0
    assert r.loc["El Retorno", "trip_mode"] == "walk+road+walk"  # San José stands 3 m off its road
    assert s.meta["terrain"].startswith("flat") and s.meta["waterways"][0]["flow"] == "outlet"


# ---------------------------------------------------------------------------------------------
# rasters: AccessMod-style inputs, COG output, zonal statistics


def _write_raster(path: Path, arr: np.ndarray, *, crs: str | None = "EPSG:32722", x0: float = 480000.0,
                  y0: float = 6675000.0, res: float = 100.0, nodata: float | None = None) -> Path:
    """A SYNTHETIC GeoTIFF."""
    prof = {"driver": "GTiff", "width": arr.shape[1], "height": arr.shape[0], "count": 1, "dtype": str(arr.dtype),
            "transform": from_origin(x0, y0, res, res)}
    if crs:
        prof["crs"] = crs
    if nodata is not None:
        prof["nodata"] = nodata
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(arr, 1)
    return path


def _utm_points(xy: list[tuple[float, float]], crs: str = "EPSG:32722") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"place_id": range(len(xy))}, geometry=gpd.points_from_xy(*zip(*xy, strict=True)),
                            crs=crs).to_crs(4326)


def test_ready_friction_raster_cost_distance(tmp_path: Path) -> None:
    fr = np.full((5, 8), 0.02, dtype="float32")  # SYNTHETIC: 0.02 min per metre
    fr[2, 3] = np.nan
    p = _write_raster(tmp_path / "friction.tif", fr)
    s = surface_from_rasters(friction=p, options=SurfaceOptions(moves=8))
    dest = _utm_points([(480050.0, 6674950.0)])  # centre of the top-left cell
    minutes, _ = s.travel_times(dest)
    assert minutes[0, 0] == 0.0
    assert minutes[0, 7] == pytest.approx(7 * 100 * 0.02, rel=1e-6)  # seven cells east
    assert minutes[4, 4] == pytest.approx(4 * math.sqrt(2) * 100 * 0.02, rel=1e-6)  # four diagonal steps
    assert np.isnan(minutes[2, 3])
    speed = _write_raster(tmp_path / "speed.tif", np.full((5, 8), 3.0, dtype="float32"))  # 3 km/h = 0.02 min/m
    m2, _ = surface_from_rasters(speed=speed, options=SurfaceOptions(moves=8)).travel_times(dest)
    assert m2[0, 7] == pytest.approx(minutes[0, 7], rel=1e-6)


def test_road_slope_landcover_rasters_assemble_like_accessmod(tmp_path: Path) -> None:
    lc = np.full((3, 6), 30, dtype="int16")  # SYNTHETIC: grassland (4 km/h in the WorldCover table)
    lc[:, 5] = 10  # tree cover, 2 km/h
    slope = np.zeros((3, 6), dtype="float32")
    slope[:, 4] = 10.0  # 10 %
    road = np.zeros((3, 6), dtype="float32")
    road[1, :3] = 60.0
    paths = {k: _write_raster(tmp_path / f"{k}.tif", v) for k, v in
             (("lc", lc), ("slope", slope), ("road", road))}
    s = surface_from_rasters(landcover=paths["lc"], slope=paths["slope"], road_speed=paths["road"],
                             options=SurfaceOptions(moves=4))
    f = s.friction
    assert f[0, 0] == pytest.approx(3.6 / 4.0)
    assert f[0, 5] == pytest.approx(3.6 / 2.0)
    assert f[0, 4] == pytest.approx(3.6 / 4.0 * 0.5 * (math.exp(0.35) + 1.0))  # isotropic Tobler at 10 %
    assert f[1, 0] == pytest.approx(3.6 / 60.0)  # road cells at the road's speed
    assert "isotropic" in s.meta["terrain"]


def test_cog_output_tiles_overviews_and_tags(tmp_path: Path) -> None:
    grid = grid_for_lonlat_bounds((-60.2, -10.2, -60.0, -10.0), resolution_m=30.0)
    assert grid.width > 512
    m = np.random.default_rng(1).uniform(0, 300, grid.shape).astype("float32")
    m[:10, :10] = np.nan
    out = tmp_path / "t.tif"
    write_surface_cog(m, grid, out, tags={"terrain": "flat: no DEM given", "tier": "market"})
    with rasterio.open(out) as src:
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.dtypes[0] == "float32" and np.isnan(src.nodata)
        assert src.overviews(1) and src.block_shapes[0] == (256, 256)
        assert src.tags()["units"] == "minutes" and src.tags()["terrain"].startswith("flat")
        back = src.read(1)
    assert np.array_equal(np.isnan(back), np.isnan(m)) and np.allclose(back[~np.isnan(m)], m[~np.isnan(m)])


def test_zonal_statistics_against_brute_force() -> None:
    grid = grid_for_lonlat_bounds((-60.02, -10.02, -60.0, -10.0), resolution_m=100.0)
    rng = np.random.default_rng(2)
    m = rng.uniform(0, 100, grid.shape)
    m[rng.random(grid.shape) < 0.1] = np.nan
    pop = rng.integers(0, 50, grid.shape).astype(float)
    areas = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[shapely.box(-60.019, -10.019, -60.011, -10.005),
                                                              shapely.box(-60.009, -10.012, -60.002, -10.002)],
                             crs=4326)
    z = zonal_travel_times(m, grid, areas, id_col="name", population=pop, bands_min=(50,))
    cx, cy = grid.centres(np.arange(grid.n_cells))
    for k, g in enumerate(areas.to_crs(grid.crs).geometry):
        inside = shapely.contains_xy(g, cx, cy)
        v = m.reshape(-1)[inside]
        p = pop.reshape(-1)[inside]
        ok = np.isfinite(v)
        row = z.iloc[k]
        assert row["cells"] == inside.sum()
        assert row["mean_min"] == pytest.approx(v[ok].mean())
        assert row["median_min"] == pytest.approx(np.median(v[ok]))
        assert row["max_min"] == pytest.approx(v[ok].max())
        assert row["share_cells_unreachable"] == pytest.approx((~ok).mean())
        assert row["pop_weighted_mean_min"] == pytest.approx((p[ok] * v[ok]).sum() / p[ok].sum())
        assert row["share_pop_within_50_min"] == pytest.approx(p[ok & (v <= 50)].sum() / p.sum())


# ---------------------------------------------------------------------------------------------
# bad input: one clear message, exit 1, nothing written


def test_memory_guard_names_the_need_and_a_resolution_that_fits() -> None:
    with pytest.raises(ConfigError, match=r"needs about [\d,]+ MB.*a resolution of (\d+) m would fit") as exc:
        grid_for_lonlat_bounds((-74.0, 1.0, -70.0, 4.0), resolution_m=10.0)
    fit = float(str(exc.value).split("a resolution of ")[1].split(" m")[0])
    g = grid_for_lonlat_bounds((-74.0, 1.0, -70.0, 4.0), resolution_m=fit)  # and it does fit
    check_memory(g.n_cells, fit)


@pytest.fixture()
def synthetic_inputs(tmp_path: Path) -> dict[str, Path]:
    """SYNTHETIC road layer, destinations and rasters around Porto Alegre's UTM zone."""
    roads = gpd.GeoDataFrame({"fclass": ["unclassified", "unclassified"], "oneway": ["B", "B"]},
                             geometry=[shapely.LineString([(-51.22, -30.05), (-51.21, -30.05), (-51.20, -30.05)]),
                                       shapely.LineString([(-51.21, -30.06), (-51.21, -30.05), (-51.21, -30.04)])],
                             crs=4326)
    roads.to_file(tmp_path / "roads.geojson")
    pd.DataFrame({"id": ["a"], "lon": [-51.205], "lat": [-30.052], "population": [100]}).to_csv(
        tmp_path / "dest.csv", index=False)
    gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(-51.21, -30.05)], crs=4326).to_file(tmp_path / "pts.geojson")
    x0, y0 = 478000.0, 6677500.0  # covers the roads (UTM 22S)
    arr = np.full((40, 40), 10.0, dtype="float32")
    return {"roads": tmp_path / "roads.geojson", "dest": tmp_path / "dest.csv", "points": tmp_path / "pts.geojson",
            "nocrs": _write_raster(tmp_path / "nocrs.tif", arr, crs=None, x0=x0, y0=y0),
            "dem": _write_raster(tmp_path / "dem.tif", arr, x0=x0, y0=y0),
            "far": _write_raster(tmp_path / "far.tif", arr, x0=x0 + 50000, y0=y0),
            "shifted": _write_raster(tmp_path / "shifted.tif", arr, x0=x0 + 50, y0=y0),
            "lc": _write_raster(tmp_path / "lc.tif", np.full((40, 40), 7, dtype="int16"), x0=x0, y0=y0)}


def _times(inp: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return ["-q", "surface", "times", str(inp["roads"]), "--tier", f"d={inp['dest']}", "-o", str(out), *extra]


def test_cli_times_writes_cog_json_and_localities(synthetic_inputs: dict[str, Path], tmp_path: Path) -> None:
    from click.testing import CliRunner
    from territorial_gis.cli import main

    out = tmp_path / "out"
    r = CliRunner().invoke(main, [*_times(synthetic_inputs, out, "--dem", str(synthetic_inputs["dem"]),
                                                "--localities", str(synthetic_inputs["dest"]),
                                                "--resolution", "50")])
    assert r.exit_code == 0, r.output
    assert (out / "surface_d.tif").is_file() and (out / "surface.json").is_file()
    loc = gpd.read_file(out / "surface_localities.gpkg", layer="localities")
    assert loc["travel_time_d_min"].iloc[0] == 0.0 and loc["trip_mode_d"].iloc[0] == "none"


@pytest.mark.parametrize("case, message", [
    ("dem_nocrs", "has no CRS"),
    ("dem_far", "does not cover the study area"),
    ("landcover_class", "land-cover class(es) 7"),
    ("river_points", "holds no lines or polygons"),
    ("too_large", "would fit"),
])
def test_cli_bad_input_one_message_exit_1_nothing_written(synthetic_inputs: dict[str, Path], tmp_path: Path,
                                                         case: str, message: str) -> None:
    inp = synthetic_inputs
    out = tmp_path / "out"
    extra = {"dem_nocrs": ["--dem", str(inp["nocrs"])], "dem_far": ["--dem", str(inp["far"])],
             "landcover_class": ["--landcover", str(inp["lc"])],
             "river_points": ["--waterway", str(inp["points"]), "--flow", "digitised"],
             "too_large": ["--resolution", "0.05"]}[case]
    assert_cli_fails(_times(inp, out, *extra), message, out)


def test_cli_cost_rasters_not_aligned(synthetic_inputs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "cost.tif"
    assert_cli_fails(["-q", "surface", "cost", "--road-speed", str(synthetic_inputs["dem"]), "--slope",
                      str(synthetic_inputs["shifted"]), "--to", str(synthetic_inputs["dest"]), "-o", str(out)],
                     "rasters not aligned", out)


def test_library_errors_are_territorial_gis_errors(synthetic_inputs: dict[str, Path]) -> None:
    with pytest.raises(RasterError, match="no CRS"):
        surface_from_rasters(friction=synthetic_inputs["nocrs"])
    with pytest.raises(ColumnError, match="holds no lines or polygons"):
        build_surface(bounds=BOX, barriers=[_points((-60.01, -10.01))], options=OPTS)
    with pytest.raises(ConfigError, match="flow direction"):
        build_surface(bounds=BOX, waterways=[WaterwaySpec(_river())], options=OPTS)
    with pytest.raises(ConfigError, match="moves"):
        build_surface(bounds=BOX, options=SurfaceOptions(moves=6))
