"""Exactness of the routing engine against an independent networkx computation.

The reference snaps every point by brute force (shapely distance to every edge geometry in
the metric CRS, then ``line_locate_point`` on each directed copy of the nearest road piece) and
routes with ``networkx`` shortest paths on ``net.to_networkx()`` (weight ``travel_time``):

    T(o, d) = leg_o + leg_d + min( (1 - pos_k(o)) tt_k + SP(v_k, u_l) + pos_l(d) tt_l
                                   over directed copies k of o's road, l of d's road;
                                   (pos_k(d) - pos_k(o)) tt_k on a common copy k with pos_k(o) <= pos_k(d) )

Graphs: SYNTHETIC small grids (labelled as such; random speeds, one-way streets, a parallel
slower road, a disconnected part) and the real Porto Alegre network.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from territorial_gis._engine import snap_points
from territorial_gis._routing import RouteOptions
from territorial_gis.access import od_matrix, travel_times_to_nearest
from territorial_gis.columns import REASON_DISCONNECTED, REASON_TOO_FAR
from territorial_gis.errors import RoutingError
from territorial_gis.network import RoadNetwork

WALK_KPH = 4.0


# ---------------------------------------------------------------------- independent reference
class Reference:
    """Brute-force snapping + networkx shortest paths on the same network."""

    def __init__(self, net: RoadNetwork, G: nx.MultiDiGraph | None = None) -> None:
        self.net = net
        self.G = G if G is not None else net.to_networkx()
        self.geoms = net.edge_geometry_metric()
        self.tt = net.edges["travel_time_s"].to_numpy(float)
        self.seg = net.edges["segment"].to_numpy()
        self.to_m = Transformer.from_crs(4326, net.crs, always_xy=True)
        self._sp: dict[int, dict[int, float]] = {}

    def snap(self, lon: float, lat: float) -> tuple[float, dict[int, float]] | None:
        """(leg seconds, {directed edge row: position of the snapped point along it})."""
        x, y = self.to_m.transform(lon, lat)
        p = shapely.Point(x, y)
        d = shapely.distance(self.geoms, p)
        e = int(np.argmin(d))
        if d[e] > 2000.0:
            return None
        on_road = shapely.line_interpolate_point(self.geoms[e], shapely.line_locate_point(self.geoms[e], p))
        rows = np.flatnonzero(self.seg == self.seg[e])
        pos = {int(k): float(shapely.line_locate_point(self.geoms[k], on_road, normalized=True)) for k in rows}
        return float(d[e]) / (WALK_KPH / 3.6), pos

    def sp(self, node_row: int) -> dict[int, float]:
        if node_row not in self._sp:
            self._sp[node_row] = nx.single_source_dijkstra_path_length(
                self.G, int(self.net.node_id[node_row]), weight="travel_time")
        return self._sp[node_row]

    def at_nodes(self, pos: dict[int, float]) -> set[int]:
        """Nodes the snapped point sits on (position 0 or 1 of a directed copy)."""
        out = set()
        for k, f in pos.items():
            if f <= 1e-9:
                out.add(int(self.net.edge_u[k]))
            elif f >= 1 - 1e-9:
                out.add(int(self.net.edge_v[k]))
        return out

    def time(self, o: tuple[float, dict[int, float]], d: tuple[float, dict[int, float]]) -> float:
        leg_o, pos_o = o
        leg_d, pos_d = d
        best = np.inf
        # a point at a node may leave / arrive by any road of that node
        entries = [(int(self.net.node_id[self.net.edge_u[m]]), fd * self.tt[m]) for m, fd in pos_d.items()]
        entries += [(int(self.net.node_id[n]), 0.0) for n in self.at_nodes(pos_d)]
        for n in self.at_nodes(pos_o):
            lengths = self.sp(n)
            for node_id, cost in entries:
                if node_id in lengths:
                    best = min(best, lengths[node_id] + cost)
        for k, fo in pos_o.items():
            if k in pos_d and fo <= pos_d[k] + 1e-12:
                best = min(best, (pos_d[k] - fo) * self.tt[k])
            lengths = self.sp(int(self.net.edge_v[k]))
            for node_id, cost in entries:
                if node_id in lengths:
                    best = min(best, (1 - fo) * self.tt[k] + lengths[node_id] + cost)
        return leg_o + best + leg_d


def points_gdf(lonlat: list[tuple[float, float]], prefix: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"place_id": [f"{prefix}{i}" for i in range(len(lonlat))]},
                            geometry=gpd.points_from_xy([p[0] for p in lonlat], [p[1] for p in lonlat]),
                            crs=4326)


def check_against_reference(net: RoadNetwork, ref: Reference, origins: gpd.GeoDataFrame,
                            dests: gpd.GeoDataFrame) -> None:
    o_snaps = [ref.snap(g.x, g.y) for g in origins.geometry]
    d_snaps = [ref.snap(g.x, g.y) for g in dests.geometry]
    expect = np.array([[ref.time(o, d) if o and d else np.inf for d in d_snaps] for o in o_snaps])
    if not any(o_snaps) or not any(d_snaps):
        # nothing within the maximum snap distance: a clear error, not a table of NaN
        with pytest.raises(RoutingError, match="farther than 2000 m"):
            travel_times_to_nearest(net, origins, {"t": dests.rename(columns={"place_id": "dest_id"})})
        with pytest.raises(RoutingError, match="farther than 2000 m"):
            od_matrix(net, origins, dests)
        return
    # nearest destination
    table = travel_times_to_nearest(net, origins, {"t": dests.rename(columns={"place_id": "dest_id"})},
                                    options=RouteOptions(walk_kph=WALK_KPH))
    best = expect.min(axis=1) / 60.0
    got = table["travel_time_t_min"].to_numpy()
    finite = np.isfinite(best)
    np.testing.assert_allclose(got[finite], best[finite], rtol=1e-9, atol=1e-9)
    assert np.isnan(got[~finite]).all()
    far = np.array([o is None for o in o_snaps])
    reasons = table["unreachable_reason_t"].to_numpy()
    assert (reasons[far] == REASON_TOO_FAR).all()
    assert (reasons[~finite & ~far] == REASON_DISCONNECTED).all()
    # the nearest id really is a destination at the minimum time
    for i in np.flatnonzero(finite):
        j = int(dests.index[dests["place_id"] == table["nearest_t_id"].iat[i]][0])
        assert expect[i, j] / 60.0 == pytest.approx(best[i], rel=1e-9, abs=1e-9)
    # full OD long table
    od = od_matrix(net, origins, dests, options=RouteOptions(walk_kph=WALK_KPH))
    full = np.full(expect.shape, np.inf)
    oi = {v: i for i, v in enumerate(origins["place_id"])}
    di = {v: i for i, v in enumerate(dests["place_id"])}
    for r in od.itertuples():
        full[oi[r.from_id], di[r.to_id]] = r.travel_time_min * 60.0
    assert np.array_equal(np.isfinite(full), np.isfinite(expect))
    np.testing.assert_allclose(full[np.isfinite(expect)], expect[np.isfinite(expect)], rtol=1e-9, atol=1e-6)


# ---------------------------------------------------------------------- synthetic graphs
LON0, LAT0 = -51.2, -30.05
STEP = 0.002  # ~200 m


def synthetic_network(seed: int) -> RoadNetwork:
    """SYNTHETIC 4x4 grid with random speeds, one-way streets (both orientations), a slower
    curved parallel road and a disconnected two-way road 1 km east."""
    rng = np.random.default_rng(seed)
    n = 4
    lon = np.array([LON0 + j * STEP for i in range(n) for j in range(n)]) + rng.uniform(-2e-4, 2e-4, n * n)
    lat = np.array([LAT0 + i * STEP for i in range(n) for j in range(n)]) + rng.uniform(-2e-4, 2e-4, n * n)
    pairs = [(i * n + j, i * n + j + 1) for i in range(n) for j in range(n - 1)]
    pairs += [(i * n + j, (i + 1) * n + j) for i in range(n - 1) for j in range(n)]
    # the disconnected part
    lon = np.append(lon, [LON0 + 0.016, LON0 + 0.018])
    lat = np.append(lat, [LAT0, LAT0 + 0.001])
    iso = (n * n, n * n + 1)
    us, vs, geoms, rows = [], [], [], []
    seg = 0

    def add(a: int, b: int, line: shapely.LineString, speed: float, oneway: int) -> None:
        nonlocal seg
        length = float(shapely.length(line)) * 100_000.0
        base = {"length_m": length, "speed_kph": speed, "segment": seg, "oneway": oneway != 0}
        if oneway >= 0:
            us.append(a)
            vs.append(b)
            geoms.append(line)
            rows.append({**base, "reversed": False})
        if oneway <= 0:
            us.append(b)
            vs.append(a)
            geoms.append(shapely.reverse(line))
            rows.append({**base, "reversed": oneway == 0})
        seg += 1

    for a, b in pairs:
        line = shapely.LineString([(lon[a], lat[a]), (lon[b], lat[b])])
        oneway = int(rng.choice([0, 0, 1, -1]))
        add(a, b, line, float(rng.choice([15.0, 30.0, 50.0, 80.0])), oneway)
    # a slower, curved road parallel to the first street
    a, b = pairs[0]
    mid = ((lon[a] + lon[b]) / 2, (lat[a] + lat[b]) / 2 - 0.0006)
    add(a, b, shapely.LineString([(lon[a], lat[a]), mid, (lon[b], lat[b])]), 10.0, 0)
    add(iso[0], iso[1], shapely.LineString([(lon[iso[0]], lat[iso[0]]), (lon[iso[1]], lat[iso[1]])]), 30.0, 0)
    edges = pd.DataFrame(rows)
    return RoadNetwork.from_arrays(np.arange(len(lon)) + 1000, lon, lat, np.array(us), np.array(vs), edges,
                                   np.array(geoms, dtype=object))


coord = st.tuples(st.floats(LON0 - 0.002, LON0 + 0.02), st.floats(LAT0 - 0.002, LAT0 + 0.008))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), origins=st.lists(coord, min_size=1, max_size=5),
       dests=st.lists(coord, min_size=1, max_size=4))
def test_synthetic_times_equal_networkx(seed: int, origins: list[tuple[float, float]],
                                        dests: list[tuple[float, float]]) -> None:
    net = synthetic_network(seed)
    ref = Reference(net)
    check_against_reference(net, ref, points_gdf(origins, "o"), points_gdf(dests, "d"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), points=st.lists(coord, min_size=1, max_size=4),
       extra=st.lists(coord, max_size=2))
def test_synthetic_points_at_the_same_spot(seed: int, points: list[tuple[float, float]],
                                           extra: list[tuple[float, float]]) -> None:
    """SYNTHETIC: destinations at exactly the origins' places (and a few others) reach them
    by their two legs alone, whatever the direction of the search, as the reference says."""
    net = synthetic_network(seed)
    ref = Reference(net)
    check_against_reference(net, ref, points_gdf(points, "o"), points_gdf(points + extra, "d"))
    check_against_reference(net, ref, points_gdf(points + extra, "o"), points_gdf(points, "d"))


def test_synthetic_disconnected_and_one_way() -> None:
    """SYNTHETIC: a point on the isolated road cannot reach the grid (disconnected), and a
    one-way street is only driven in its direction."""
    net = synthetic_network(3)
    iso_lon, iso_lat = LON0 + 0.017, LAT0 + 0.0005
    origins = points_gdf([(iso_lon, iso_lat), (LON0 + 0.001, LAT0 + 0.002)], "o")
    dests = points_gdf([(LON0 + 0.003, LAT0 + 0.004)], "d").rename(columns={"place_id": "dest_id"})
    t = travel_times_to_nearest(net, origins, {"grid": dests})
    assert np.isnan(t["travel_time_grid_min"].iat[0])
    assert t["unreachable_reason"].iat[0] == "grid:disconnected"
    assert np.isfinite(t["travel_time_grid_min"].iat[1])
    # a one-way street: A -> B is the edge time, B -> A must go around
    row = int(np.flatnonzero(net.edges["oneway"].to_numpy(bool))[0])
    a, b = int(net.edge_u[row]), int(net.edge_v[row])
    pa = points_gdf([(net.node_lon[a], net.node_lat[a])], "a")
    pb = points_gdf([(net.node_lon[b], net.node_lat[b])], "b")
    ab = od_matrix(net, pa, pb)["travel_time_min"]
    ba = od_matrix(net, pb, pa)["travel_time_min"]
    G = net.to_networkx()
    ia, ib = int(net.node_id[a]), int(net.node_id[b])
    assert ab.iat[0] * 60 == pytest.approx(nx.shortest_path_length(G, ia, ib, weight="travel_time"))
    if nx.has_path(G, ib, ia):
        assert ba.iat[0] * 60 == pytest.approx(nx.shortest_path_length(G, ib, ia, weight="travel_time"))
    else:
        assert len(ba) == 0


def test_snap_to_edge_point_not_node() -> None:
    """SYNTHETIC: a point beside the middle of a street snaps to the street's middle."""
    net = synthetic_network(1)
    row = int(np.flatnonzero(~net.edges["reversed"].to_numpy(bool))[0])
    g = net.edge_geometry[row]
    mid = shapely.line_interpolate_point(g, 0.5, normalized=True)
    sn = snap_points(net, np.array([mid.x]), np.array([mid.y + 0.0002]), max_snap_m=2000, walk_kph=4)
    assert sn.ok[0]
    assert 15 < sn.snap_dist_m[0] < 30  # 0.0002 degrees of latitude is ~22 m
    assert sn.leg_s[0] == pytest.approx(sn.snap_dist_m[0] / (4 / 3.6))
    far = snap_points(net, np.array([LON0 + 0.5]), np.array([LAT0]), max_snap_m=2000, walk_kph=4)
    assert not far.ok[0] and far.snap_dist_m[0] > 40_000


def test_traced_path_geometry(poa_network: RoadNetwork) -> None:
    """A traced path (predecessors of the multi-source pass, turned into road pieces by the
    corridor stage) is a connected line whose length is about the road distance driven."""
    from territorial_gis.corridors import suggest_corridors

    net = poa_network
    pts = [(-51.2278, -30.0276), (-51.1624, -30.0265)]
    origin = gpd.GeoDataFrame({"place_id": ["a"], "population": [1.0], "area_class": ["MRA"]},
                              geometry=gpd.points_from_xy([pts[0][0]], [pts[0][1]]), crs=4326)
    target = gpd.GeoDataFrame({"dest_id": ["b"]}, geometry=gpd.points_from_xy([pts[1][0]], [pts[1][1]]),
                              crs=4326)
    corr = suggest_corridors(net, origin, {"market": target})
    assert len(corr) == 1 and corr["target_id"].iloc[0] == "b"
    line = corr.to_crs(net.crs).geometry.iloc[0]
    assert line is not None and line.geom_type == "LineString"
    x, y = Transformer.from_crs(4326, net.crs, always_xy=True).transform([p[0] for p in pts],
                                                                       [p[1] for p in pts])
    straight = float(np.hypot(x[1] - x[0], y[1] - y[0]))
    assert straight * 0.98 < line.length < straight * 2.5  # ~6.4 km apart


# ---------------------------------------------------------------------- real network
@pytest.fixture(scope="module")
def poa_reference(poa_network: RoadNetwork) -> Reference:
    return Reference(poa_network)


poa_coord = st.tuples(st.floats(-51.25, -51.15), st.floats(-30.10, -30.00))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(origins=st.lists(poa_coord, min_size=1, max_size=3), dests=st.lists(poa_coord, min_size=1, max_size=3))
def test_porto_alegre_times_equal_networkx(poa_network: RoadNetwork, poa_reference: Reference,
                                           origins: list[tuple[float, float]],
                                           dests: list[tuple[float, float]]) -> None:
    check_against_reference(poa_network, poa_reference, points_gdf(origins, "o"), points_gdf(dests, "d"))
