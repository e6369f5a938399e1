"""Access on a SYNTHETIC road chain with exact times (tests/_synthetic.py): every node is one
minute from the next, so the expected times, nearest destinations, reasons, OD pairs and
gravity indices below are worked out by hand. Small and fast: these are the tests
``make mutate`` runs against access, _routing and _engine (with the non-hypothesis synthetic
tests of test_engine.py).
"""

from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from _synthetic import LAT0, LON0, chain_network, node_points
from pyproj import Geod

from territorial_gis import settings
from territorial_gis._routing import RouteOptions, ids_of, lonlat_of
from territorial_gis.access import (
    check_thresholds,
    decay_weights,
    gravity_access,
    od_matrix,
    summarize_access,
    travel_times_to_nearest,
)
from territorial_gis.columns import LOCALITY_ID_CANDIDATES
from territorial_gis.errors import ColumnError, ConfigError, CRSError, RoutingError


@pytest.fixture(scope="module")
def net():
    """Chain nodes 0-4 (rows 0-4) and an island road (rows 5-6)."""
    return chain_network(5, island=True)


@pytest.fixture(scope="module")
def places(net) -> gpd.GeoDataFrame:
    """L0-L4 on the chain nodes, L5 on the island, FAR 0.5 degree north of the chain."""
    pts = node_points(net, [0, 1, 2, 3, 4, 5], ["L0", "L1", "L2", "L3", "L4", "L5"])
    far = gpd.GeoDataFrame({"place_id": ["FAR"]}, geometry=gpd.points_from_xy([LON0], [LAT0 + 0.5]), crs=4326)
    out = pd.concat([pts, far], ignore_index=True)
    out["population"] = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0]
    return out


@pytest.fixture(scope="module")
def tiers(net) -> dict[str, gpd.GeoDataFrame]:
    return {"market": node_points(net, [0, 3], ["M0", "M3"], "dest_id"),
            "school": node_points(net, [4], ["S4"], "dest_id")}


def test_nearest_times_ids_and_reasons(net, places, tiers) -> None:
    t = travel_times_to_nearest(net, places, tiers).set_index("place_id")
    # market: M0 for L0 (0) and L1 (1 vs 2); M3 for L2 (1 vs 2), L3 (0) and L4 (1)
    assert t["travel_time_market_min"].iloc[:5].tolist() == [0.0, 1.0, 1.0, 0.0, 1.0]
    assert t["nearest_market_id"].iloc[:5].tolist() == ["M0", "M0", "M3", "M3", "M3"]
    assert t["travel_time_school_min"].iloc[:5].tolist() == [4.0, 3.0, 2.0, 1.0, 0.0]
    assert t["unreachable_reason"].iloc[:5].isna().all()
    assert t["unreachable_reason_market"].iloc[:5].isna().all()
    assert t["access_leg_min"].iloc[:5].tolist() == [0.0] * 5 and t["snap_dist_m"].iloc[:5].tolist() == [0.0] * 5
    # the island is on a road but reaches no destination; FAR is beyond the snapping limit
    assert np.isnan(t.loc["L5", "travel_time_market_min"]) and t.loc["L5", "nearest_market_id"] is None
    assert t.loc["L5", "unreachable_reason"] == "market:disconnected;school:disconnected"
    assert t.loc["L5", "unreachable_reason_school"] == "disconnected"
    assert t.loc["L5", "access_leg_min"] == 0.0
    assert t.loc["FAR", "unreachable_reason"] == "too_far_from_road"
    assert t.loc["FAR", "unreachable_reason_market"] == "too_far_from_road"
    assert np.isnan(t.loc["FAR", "travel_time_school_min"]) and np.isnan(t.loc["FAR", "access_leg_min"])
    assert t.loc["FAR", "snap_dist_m"] > settings.max_snap_m
    assert list(t.index) == list(places["place_id"])  # same rows, same order
    assert t["population"].tolist() == places["population"].tolist()  # the localities' own columns kept


def test_partway_point_and_off_road_leg(net, tiers) -> None:
    """A point 100 m north of L1, walking at 3.6 km/h (1 m/s): its leg in seconds is its distance
    in metres (the geodesic 100 m, to within the UTM scale error); then 1 min to M0."""
    lat = LAT0 + 0.0009
    pt = gpd.GeoDataFrame({"place_id": ["N"]}, geometry=gpd.points_from_xy([LON0 + 0.01], [lat]), crs=4326)
    d_m = Geod(ellps="WGS84").inv(LON0 + 0.01, LAT0, LON0 + 0.01, lat)[2]
    t = travel_times_to_nearest(net, pt, tiers, options=RouteOptions(walk_kph=3.6))
    assert t["snap_dist_m"].iloc[0] == pytest.approx(d_m, rel=2e-3)
    assert t["access_leg_min"].iloc[0] * 60 == pytest.approx(d_m, rel=2e-3)
    leg_s = t["snap_dist_m"].iloc[0] / 1.0  # metres at 1 m/s
    assert t["travel_time_market_min"].iloc[0] == pytest.approx(1.0 + leg_s / 60, rel=1e-9)
    mid = gpd.GeoDataFrame({"place_id": ["M"]}, geometry=gpd.points_from_xy([LON0 + 0.005], [LAT0]), crs=4326)
    t = travel_times_to_nearest(net, mid, tiers)
    assert t["travel_time_market_min"].iloc[0] == pytest.approx(0.5, abs=1e-3)  # half an edge to M0
    assert t["travel_time_school_min"].iloc[0] == pytest.approx(3.5, abs=1e-3)
    both = pd.concat([pt, node_points(net, [0], ["L0"])], ignore_index=True)
    tight = travel_times_to_nearest(net, both, tiers, options=RouteOptions(max_snap_m=50))
    assert tight["unreachable_reason"].tolist() == ["too_far_from_road", None]


def test_refusals_name_what_is_wrong(net, places, tiers) -> None:
    with pytest.raises(RoutingError, match="no localities to route from"):
        travel_times_to_nearest(net, places.iloc[:0], tiers)
    with pytest.raises(RoutingError, match="no destination tier given"):
        travel_times_to_nearest(net, places, {})
    far = places.iloc[[6]]
    with pytest.raises(RoutingError, match=r"all 1 localities are farther than 2000 m from a road of the network "
                                           r"\(network bbox lon -51.20000..-50.99000, lat -30.00000..-30.00000; "
                                           r"points span lon -51.20000..-51.20000, lat -29.50000..-29.50000\)"):
        travel_times_to_nearest(net, far, tiers)
    far_tier = {"market": far.rename(columns={"place_id": "dest_id"})}
    with pytest.raises(RoutingError, match="all 1 destinations of tier 'market' are farther than 2000 m"):
        travel_times_to_nearest(net, places, far_tier)
    swapped = gpd.GeoDataFrame({"place_id": ["S"]}, geometry=gpd.points_from_xy([LAT0], [LON0 + 0.01]), crs=4326)
    with pytest.raises(RoutingError, match="latitude and longitude look swapped"):
        travel_times_to_nearest(net, swapped, tiers)
    with pytest.raises(RoutingError, match="all 1 origins are farther"):
        od_matrix(net, far, tiers["market"])


def test_od_matrix_pairs_and_inclusive_cutoff(net, places, tiers) -> None:
    od = od_matrix(net, places.iloc[[1, 0, 5, 6]], tiers["market"])
    assert od.values.tolist() == [["L1", "M0", 1.0], ["L1", "M3", 2.0], ["L0", "M0", 0.0], ["L0", "M3", 3.0]]
    # a cutoff of exactly 1 min keeps the pairs 1 min apart
    od1 = od_matrix(net, places.iloc[[1, 0]], tiers["market"], cutoff_min=1)
    assert od1.values.tolist() == [["L1", "M0", 1.0], ["L0", "M0", 0.0]]
    # more destinations than origins: the search runs forward from the origins, same answer
    many = node_points(net, [0, 1, 2, 3, 4], ["D0", "D1", "D2", "D3", "D4"], "dest_id")
    od2 = od_matrix(net, places.iloc[[2]], many, cutoff_min=1.5)
    assert od2.values.tolist() == [["L2", "D1", 1.0], ["L2", "D2", 0.0], ["L2", "D3", 1.0]]
    od3 = od_matrix(net, places.iloc[[2]], many, origin_id_col="population", dest_id_col="dest_id")
    assert od3["from_id"].tolist() == [30.0] * 5 and od3["travel_time_min"].tolist() == [2.0, 1.0, 0.0, 1.0, 2.0]
    for bad in (0, -5):
        with pytest.raises(RoutingError, match=f"cutoff must be a positive number of minutes, got {bad}"):
            od_matrix(net, places, many, cutoff_min=bad)
    with pytest.raises(RoutingError, match="no origins to route from"):
        od_matrix(net, places.iloc[:0], many)
    with pytest.raises(RoutingError, match="no destinations to route to"):
        od_matrix(net, places, many.iloc[:0])


def test_gravity_access_hand_worked(net, places) -> None:
    dests = node_points(net, [0, 3], ["M0", "M3"], "dest_id").assign(population=[100.0, 50.0])
    acc = gravity_access(net, places, dests, decay="exponential", beta=0.1, cutoff_min=None)
    # L1: 100 e^(-0.1 x 1) + 50 e^(-0.1 x 2); L5 reaches nothing: 0; FAR is off the roads: NaN
    assert acc.iloc[1] == pytest.approx(100 * math.exp(-0.1) + 50 * math.exp(-0.2))
    assert acc.iloc[0] == pytest.approx(100 + 50 * math.exp(-0.3))
    assert acc.iloc[5] == 0.0 and np.isnan(acc.iloc[6])
    assert acc.name == "market_access_index" and acc.index.equals(places.index)
    cut = gravity_access(net, places, dests, decay="power", beta=1.0, cutoff_min=1.0)
    # power: max(t, 1)^-1; within 1 min only: L1 -> M0 (t = 1); L2 -> M3 (1); L0 -> M0 (t = 0 counts as 1)
    assert cut.iloc[:5].tolist() == pytest.approx([100.0, 100.0, 50.0, 50.0, 50.0])
    with pytest.raises(ColumnError, match="mass column 'jobs' not found in the destinations"):
        gravity_access(net, places, dests, mass_col="jobs")
    with pytest.raises(ColumnError, match="mass column 'population' has negative values"):
        gravity_access(net, places, dests.assign(population=[-1.0, 5.0]))
    with pytest.raises(RoutingError, match="cutoff must be a positive number of minutes, got 0"):
        gravity_access(net, places, dests, cutoff_min=0)
    with pytest.raises(RoutingError, match="gravity access needs at least one origin and one destination"):
        gravity_access(net, places.iloc[:0], dests)


def test_gravity_missing_mass_counts_zero(net, places, caplog: pytest.LogCaptureFixture) -> None:
    dests = node_points(net, [0, 3], ["M0", "M3"], "dest_id").assign(population=[100.0, np.nan])
    with caplog.at_level(logging.WARNING, logger="territorial_gis"):
        acc = gravity_access(net, places, dests, decay="exponential", beta=0.1, cutoff_min=None)
    assert acc.iloc[3] == pytest.approx(100 * math.exp(-0.3))
    assert "1 destinations have no 'population'; counted as 0" in caplog.text


def test_decay_weights_and_thresholds() -> None:
    t = np.array([0.0, 0.5, 10.0])
    assert decay_weights(t).tolist() == pytest.approx(np.exp(-0.05 * t).tolist())  # default beta 0.05
    assert decay_weights(t, "power").tolist() == pytest.approx([1.0, 1.0, 0.1])  # default beta 1
    assert decay_weights(t, "gaussian").tolist() == pytest.approx(np.exp(-0.5 * (t / 30) ** 2).tolist())
    with pytest.raises(RoutingError, match="unknown decay 'linear'; use one of exponential, power, gaussian"):
        decay_weights(t, "linear")
    for beta in (0, -1):
        with pytest.raises(RoutingError, match=f"decay parameter beta must be positive, got {beta}"):
            decay_weights(t, "power", beta)
    assert check_thresholds([5, "10", 30.5]) == [5.0, 10.0, 30.5]
    for bad, msg in (([], "must be positive"), ([0, 5], "must be positive"), ([5, np.inf], "must be positive"),
                     ([10, 5], "must increase"), ([5, 5], "must increase"), (["x"], "must be minutes")):
        with pytest.raises(RoutingError, match=msg):
            check_thresholds(bad)


def test_summarize_access() -> None:
    table = pd.DataFrame({"travel_time_a_min": [1.0, 3.0, np.nan, 10.0], "travel_time_b_min": [np.nan] * 4})
    assert summarize_access(table) == {"a": {"median_min": 3.0, "unreachable": 1},
                                       "b": {"median_min": None, "unreachable": 4}}


def test_route_options() -> None:
    assert RouteOptions().max_snap_m == settings.max_snap_m and RouteOptions().walk_kph is None
    opts = RouteOptions.from_mapping({"max_snap_m": 500, "walk_kph": None, "other": 1})
    assert opts == RouteOptions(max_snap_m=500)
    assert RouteOptions.from_mapping(None) == RouteOptions()
    assert opts.replace(walk_kph=3.0) == RouteOptions(max_snap_m=500, walk_kph=3.0)
    net = chain_network(2)
    assert RouteOptions(walk_kph=3.0).walk_speed(net) == 3.0
    assert RouteOptions().walk_speed(net) == float(net.meta.get("walk_speed_kph", settings.walk_kph))
    for kw, msg in (({"max_snap_m": 0}, r"maximum snap distance \(max_snap_m\) must be a positive number, got 0"),
                    ({"max_snap_m": math.inf}, "must be a positive number, got inf"),
                    ({"walk_kph": -1}, r"walking speed \(walk_kph\) must be a positive number, got -1"),
                    ({"walk_kph": "fast"}, r"walking speed \(walk_kph\) must be a number, got 'fast'")):
        with pytest.raises(ConfigError, match=msg):
            RouteOptions(**kw)


def test_ids_and_coordinates() -> None:
    df = pd.DataFrame({"name": ["a"], "dest_id": ["D"], "place_id": ["P"]}, index=[7])
    assert ids_of(df).tolist() == ["D"]  # dest_id comes before place_id
    assert ids_of(df, "name").tolist() == ["a"]
    assert ids_of(df[["name"]]).tolist() == [7]  # no id column: the index
    with pytest.raises(ColumnError, match="id column 'code' not found on the places; columns: name, dest_id, "
                                          "place_id"):
        ids_of(df, "code")
    # localities: locality_id, then place_id, then area_id
    assert ids_of(df.assign(area_id="A"), candidates=LOCALITY_ID_CANDIDATES).tolist() == ["P"]
    assert ids_of(df[["name"]].assign(area_id="A"), candidates=LOCALITY_ID_CANDIDATES).tolist() == ["A"]
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([LON0], [LAT0]), crs=4326)
    lon, lat = lonlat_of(pts.to_crs(32722))
    assert lon[0] == pytest.approx(LON0, abs=1e-9) and lat[0] == pytest.approx(LAT0, abs=1e-9)
    with pytest.raises(CRSError, match="origins have no CRS; set one"):
        lonlat_of(pts.set_crs(None, allow_override=True), "origins")
    square = gpd.GeoDataFrame(geometry=gpd.GeoSeries.from_xy([LON0], [LAT0]).buffer(0.001), crs=4326)
    lon, lat = lonlat_of(square)
    assert square.geometry.iloc[0].contains(gpd.points_from_xy(lon, lat)[0])  # a representative point inside


# ---------------------------------------------------------------------- isochrones on the chain
def _edge_length_m(net) -> float:
    """Length of one chain piece in the network's metric CRS, from the node coordinates (pyproj)."""
    from pyproj import Transformer

    tr = Transformer.from_crs(4326, net.crs, always_xy=True)
    x, y = tr.transform(net.node_lon[:2], net.node_lat[:2])
    return float(np.hypot(x[1] - x[0], y[1] - y[0]))


def _buffer_area_km2(length_m: float, b: float = 100.0) -> float:
    """A straight line buffered by b with 4 segments per quarter circle: a 2b-wide strip plus two
    half 16-gons of circumradius b (area 8 b^2 sin(22.5 deg))."""
    return (2 * b * length_m + 8 * b * b * math.sin(math.radians(22.5))) / 1e6


def test_isochrones_cut_the_road_where_time_runs_out(net) -> None:
    """Market at node 0: within 1.5 min, the first piece and half the second are reached;
    within 2.5 min, two pieces and a half. Both directions of a piece count once."""
    from territorial_gis.access import isochrones

    L = _edge_length_m(net)
    dest = node_points(net, [0], ["M0"], "dest_id")
    iso = isochrones(net, dest, (1.5, 2.5))
    assert iso["threshold_min"].tolist() == [1.5, 2.5] and iso["min_time_min"].tolist() == [0.0, 0.0]
    # (to 1e-6: the network projects its geometries in its own pass, agreeing to ~0.3 ppm)
    assert iso["within_road_km"].tolist() == pytest.approx([1.5 * L / 1000, 2.5 * L / 1000], rel=1e-6)
    assert iso["within_area_km2"].tolist() == pytest.approx([_buffer_area_km2(1.5 * L), _buffer_area_km2(2.5 * L)],
                                                            rel=1e-6)
    assert iso.crs.to_epsg() == 4326
    # the far end of the reached road is where the time ran out: 1.5 pieces east of node 0
    east = iso.geometry.iloc[0].bounds[2]
    assert east == pytest.approx(LON0 + 0.015 + 100 / (111_320 * math.cos(math.radians(30))), abs=2e-5)
    rings = isochrones(net, dest, (1.5, 2.5), bands=True, direction="from")
    assert rings["min_time_min"].tolist() == [0.0, 1.5]
    assert rings["ring_road_km"].tolist() == pytest.approx([1.5 * L / 1000, 1.0 * L / 1000], rel=1e-6)
    assert rings["ring_area_km2"].sum() == pytest.approx(iso["within_area_km2"].iloc[1], rel=1e-6)
    mid = isochrones(net, node_points(net, [2], ["M2"], "dest_id"), (1.5,), buffer_m=50.0)
    assert mid["within_road_km"].iloc[0] == pytest.approx(3 * L / 1000, rel=1e-6)  # 1.5 pieces each way
    assert mid["within_area_km2"].iloc[0] == pytest.approx(_buffer_area_km2(3 * L, 50.0), rel=1e-6)


def test_isochrone_refusals(net) -> None:
    from territorial_gis.access import isochrones

    dest = node_points(net, [0], ["M0"], "dest_id")
    with pytest.raises(RoutingError, match="direction must be 'to' or 'from', got 'up'"):
        isochrones(net, dest, (5,), direction="up")
    with pytest.raises(RoutingError, match="isochrone buffer must be positive metres, got 0"):
        isochrones(net, dest, (5,), buffer_m=0)
    with pytest.raises(RoutingError, match="no destinations for the isochrones"):
        isochrones(net, dest.iloc[:0], (5,))
    with pytest.raises(RoutingError, match="must increase"):
        isochrones(net, dest, (5, 1))


def test_open_network_files(tmp_path, net) -> None:
    from territorial_gis.errors import InputFileError
    from territorial_gis.network import open_network

    p = tmp_path / "chain.tgnet"
    net.save(p)
    back = open_network(p)
    assert back.n_nodes == net.n_nodes and back.n_edges == net.n_edges
    assert back.edges["travel_time_s"].tolist() == net.edges["travel_time_s"].tolist()
    g = tmp_path / "chain.gpkg"
    net.save(g)
    assert open_network(g).n_edges == net.n_edges
    bad = tmp_path / "bad.gpkg"
    bad.write_bytes(b"not a geopackage")
    with pytest.raises(InputFileError, match=f"{bad}: not a readable GeoPackage"):
        open_network(bad)
    with pytest.raises(InputFileError, match="network not found"):
        open_network(tmp_path / "none.tgnet")


# ---------------------------------------------------------------------- a bent road, points part-way
def _bent_network():
    """SYNTHETIC: one two-way road A -> M -> B bent at M (0.01 degree east, then 0.01 north),
    taking 120 s end to end; and the chain continuing west of A (two 60 s pieces)."""
    import shapely

    from territorial_gis.network import RoadNetwork

    lon = np.array([LON0, LON0 + 0.02, LON0 - 0.01, LON0 - 0.02])
    lat = np.array([LAT0, LAT0 + 0.01, LAT0, LAT0])
    bent = shapely.LineString([(LON0, LAT0), (LON0 + 0.01, LAT0), (LON0 + 0.02, LAT0 + 0.01)])
    links = [(0, 1, bent, 120.0), (2, 0, shapely.LineString([(lon[2], lat[2]), (lon[0], lat[0])]), 60.0),
             (3, 2, shapely.LineString([(lon[3], lat[3]), (lon[2], lat[2])]), 60.0)]
    us, vs, geoms, rows = [], [], [], []
    for seg, (a, b, g, t) in enumerate(links):
        for u, v, gg, rev in ((a, b, g, False), (b, a, shapely.reverse(g), True)):
            us.append(u)
            vs.append(v)
            geoms.append(gg)
            rows.append({"length_m": 1000.0, "speed_kph": 30.0, "travel_time_s": t, "segment": seg,
                         "reversed": rev, "oneway": False, "highway": "track"})
    return RoadNetwork.from_arrays(np.arange(4) + 1, lon, lat, np.array(us), np.array(vs), pd.DataFrame(rows),
                                   np.array(geoms, dtype=object))


def test_isochrone_along_a_bent_road() -> None:
    """From A, 1 min reaches half the bent road's length (time runs linearly along it) and the
    whole first western piece; the reached part of the bent road ends at the point half-way along
    it (shapely's interpolation of the metric line)."""
    import shapely

    from territorial_gis.access import isochrones

    net = _bent_network()
    metric = net.edge_geometry_metric()
    bent_m, west_m = float(shapely.length(metric[0])), float(shapely.length(metric[2]))
    iso = isochrones(net, node_points(net, [0], ["A"], "dest_id"), (1.0,), buffer_m=10.0)
    assert iso["within_road_km"].iloc[0] == pytest.approx((bent_m / 2 + west_m) / 1000, rel=1e-6)
    half = shapely.line_interpolate_point(metric[0], 0.5, normalized=True)
    reached = gpd.GeoSeries([iso.geometry.iloc[0]], crs=4326).to_crs(net.crs).iloc[0]
    assert reached.contains(half) or reached.distance(half) < 1e-6
    beyond = shapely.line_interpolate_point(metric[0], 0.5 + 20.0 / bent_m, normalized=True)
    assert reached.distance(beyond) > 9.0  # 20 m further along the road is out of the 10 m corridor


def test_isochrone_from_a_point_part_way_along_a_road(net) -> None:
    """A destination half-way along the first chain piece: within 1 min, half a piece back to
    node 0 (the chain's end), half a piece to node 1 and half of the next piece: 1.5 pieces."""
    from territorial_gis.access import isochrones

    L = _edge_length_m(net)
    mid = gpd.GeoDataFrame({"dest_id": ["mid"]}, geometry=gpd.points_from_xy([LON0 + 0.005], [LAT0]), crs=4326)
    iso = isochrones(net, mid, (1.0,))
    assert iso["within_road_km"].iloc[0] == pytest.approx(1.5 * L / 1000, rel=1e-3)


def test_snapping_a_point_beside_the_bend() -> None:
    """A point 0.001 degree south of the bend M snaps onto the road at M (the nearest point of
    either leg), so it reaches A in the bent road's time times M's share of its length (the
    first leg, 0.01 degree east, over both) plus its walk."""
    import shapely
    from pyproj import Transformer

    net = _bent_network()
    pt = gpd.GeoDataFrame({"place_id": ["P"]}, geometry=gpd.points_from_xy([LON0 + 0.01], [LAT0 - 0.001]), crs=4326)
    d_m = Geod(ellps="WGS84").inv(LON0 + 0.01, LAT0 - 0.001, LON0 + 0.01, LAT0)[2]
    t = travel_times_to_nearest(net, pt, {"a": node_points(net, [0], ["A"], "dest_id")},
                                options=RouteOptions(walk_kph=3.6))
    assert t["snap_dist_m"].iloc[0] == pytest.approx(d_m, rel=2e-3)
    tr = Transformer.from_crs(4326, net.crs, always_xy=True)
    xs, ys = tr.transform([LON0, LON0 + 0.01, LON0 + 0.02], [LAT0, LAT0, LAT0 + 0.01])
    share = shapely.LineString([(xs[0], ys[0]), (xs[1], ys[1])]).length / shapely.LineString(list(zip(xs, ys, strict=True))).length
    assert t["travel_time_a_min"].iloc[0] == pytest.approx((120.0 * share + t["snap_dist_m"].iloc[0]) / 60, rel=1e-5)


def test_far_points_warned_and_frames_kept(net, places, tiers, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="territorial_gis"):
        od_matrix(net, places.iloc[[0, 6]], tiers["market"])
    assert "1 of 2 origins are farther than 2000 m from a road (too_far_from_road)" in caplog.messages
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="territorial_gis"):
        od_matrix(net, places.iloc[[0, 1]], tiers["market"])
    assert not any("farther than" in m for m in caplog.messages)
    # a frame that already holds the output columns gets them replaced, its index kept
    again = places.iloc[[1, 2]].set_axis([10, 20])
    first = travel_times_to_nearest(net, again, tiers)
    second = travel_times_to_nearest(net, first, tiers)
    assert list(second.index) == [10, 20] and second.columns.is_unique
    assert list(second.columns) == list(first.columns)
    assert second["travel_time_market_min"].tolist() == [1.0, 1.0]
    # options reach the OD matrix: a point 100 m north of the market walks there (no road time),
    # 100 s at 3.6 km/h and a tenth of that at 36 km/h
    north = gpd.GeoDataFrame({"place_id": ["N"]}, geometry=gpd.points_from_xy([LON0], [LAT0 + 0.0009]), crs=4326)
    slow = od_matrix(net, north, tiers["market"], options=RouteOptions(walk_kph=3.6))["travel_time_min"].iloc[0]
    fast = od_matrix(net, north, tiers["market"], options=RouteOptions(walk_kph=36.0))["travel_time_min"].iloc[0]
    d_m = Geod(ellps="WGS84").inv(LON0, LAT0, LON0, LAT0 + 0.0009)[2]
    assert slow * 60 == pytest.approx(d_m, rel=2e-3) and fast == pytest.approx(slow / 10, rel=1e-9)
