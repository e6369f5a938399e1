"""Corridors on a SYNTHETIC road chain with exact times (tests/_synthetic.py): nodes 0-4, every
road piece 965 m and one minute long; pieces 0 and 1 (nodes 0-2) are an asphalt primary road,
pieces 2 and 3 (nodes 2-4) a dirt track. MRA localities sit on nodes 3 and 4, an FRA one on
node 1, the market on node 0. Every figure below is worked out by hand from these numbers and
the definitions in territorial_gis.corridors.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from _synthetic import chain_network, node_points

from territorial_gis.corridors import (
    analyze_corridors,
    corridor_segments,
    is_unpaved_or_low,
    rank_upgrades,
    suggest_corridors,
)
from territorial_gis.errors import ColumnError, ConfigError
from territorial_gis.network import RoadNetwork
from territorial_gis.speeds import load_profile

KM = 0.965


@pytest.fixture(scope="module")
def net() -> RoadNetwork:
    base = chain_network(5)
    e = base.edges.copy()
    primary = e["segment"] < 2
    e["highway"] = np.where(primary, "primary", "track")
    e["surface"] = np.where(primary, "asphalt", "dirt")
    return RoadNetwork.from_arrays(base.node_id, base.node_lon, base.node_lat, base.edge_u, base.edge_v, e,
                                   base.edge_geometry, crs=base.crs)


@pytest.fixture(scope="module")
def inputs(net: RoadNetwork) -> tuple[gpd.GeoDataFrame, dict[str, gpd.GeoDataFrame]]:
    loc = node_points(net, [1, 3, 4], ["F1", "M3", "M4"], "locality_id")
    loc["population"] = [500.0, 30.0, 40.0]
    loc["area_class"] = ["FRA", "MRA", "MRA"]
    return loc, {"market": node_points(net, [0], ["T0"], "dest_id")}


def test_unpaved_or_low_definition() -> None:
    edges = pd.DataFrame({"highway": ["primary", "primary", "track", "unclassified", "secondary", "road"],
                          "surface": ["asphalt", "gravel", "asphalt", None, None, "paved"]})
    assert is_unpaved_or_low(edges).tolist() == [False, True, True, True, False, True]
    assert is_unpaved_or_low(edges.drop(columns="surface")).tolist() == [False, False, True, True, False, True]


def test_corridors_hand_worked(net, inputs) -> None:
    loc, tiers = inputs
    cor = suggest_corridors(net, loc, tiers).set_index("origin_id")
    assert list(cor.index) == ["M3", "M4"]  # only the MRA localities
    assert cor["target_id"].tolist() == ["T0", "T0"] and cor["target_tier"].tolist() == ["market", "market"]
    assert cor["travel_time_min"].tolist() == [3.0, 4.0]
    assert cor["length_km"].tolist() == pytest.approx([3 * KM, 4 * KM])
    # M3: one track piece of three; M4: two of four
    assert cor["unpaved_share"].tolist() == pytest.approx([1 / 3, 2 / 4])
    assert cor["population_served"].tolist() == [30.0, 40.0]
    assert cor["n_road_pieces"].tolist() == [3, 4]
    assert cor["offroad_km"].tolist() == [0.0, 0.0]
    seg = net.edges["segment"].to_numpy()
    assert seg[cor.loc["M4", "edge_rows"]].tolist() == [3, 2, 1, 0]  # in travel order
    assert cor.crs.to_epsg() == 4326
    start = cor.geometry.iloc[1].coords[0]
    assert start == pytest.approx((net.node_lon[4], net.node_lat[4]))
    everyone = suggest_corridors(net, loc, tiers, only_class=None)
    assert everyone["origin_id"].tolist() == ["F1", "M3", "M4"]
    assert everyone["travel_time_min"].tolist() == [1.0, 3.0, 4.0]


def test_stretches_hand_worked(net, inputs) -> None:
    """Pieces used by the same corridors, of one class and paved status, merge: the primary
    (pieces 0-1, both corridors, 70 people), the first track piece (2, both corridors) and the
    last one (3, only M4's corridor, 40 people)."""
    loc, tiers = inputs
    cor = suggest_corridors(net, loc, tiers)
    st = corridor_segments(net, cor).sort_values("length_km", ascending=False).reset_index(drop=True)
    assert len(st) == 3
    assert sorted(st["population_served"]) == [40.0, 70.0, 70.0]
    by_class = {(r.highway, r.population_served): r for r in st.itertuples()}
    primary = by_class[("primary", 70.0)]
    assert primary.length_km == pytest.approx(2 * KM) and primary.n_localities == 2
    assert primary.unpaved_share == 0.0 and primary.surface == "asphalt"
    assert primary.travel_time_min == pytest.approx(2.0) and primary.speed_kph == pytest.approx(2 * 965 / 120 * 3.6)
    assert sorted(primary.segment_ids) == [0, 1]
    shared = by_class[("track", 70.0)]
    assert shared.length_km == pytest.approx(KM) and shared.n_localities == 2 and shared.unpaved_share == 1.0
    assert list(shared.segment_ids) == [2]
    alone = by_class[("track", 40.0)]
    assert alone.n_localities == 1 and list(alone.segment_ids) == [3] and alone.surface == "dirt"
    edges = corridor_segments(net, cor, level="edge")
    assert sorted(edges["segment"]) == [0, 1, 2, 3]
    assert edges.set_index("segment")["population_served"].to_dict() == {0: 70.0, 1: 70.0, 2: 70.0, 3: 40.0}
    with pytest.raises(ConfigError, match="level must be 'edge' or 'stretch', got 'road'"):
        corridor_segments(net, cor, level="road")


def test_upgrade_saving_by_rerouting(net, inputs) -> None:
    """Upgrading a 965 m, 60 s track piece to the profile's primary speed (70 km/h): it then
    takes 965 / (70 / 3.6) = 49.629 s. Piece 2 is on both corridors (70 people), piece 3 on
    M4's only (40 people)."""
    loc, tiers = inputs
    prof = load_profile()
    v = prof.highway_speed_kph["primary"]
    saved_s = 60.0 - 965.0 / (v / 3.6)
    res = rank_upgrades(net, loc, tiers, candidates={"p2": [2], "p3": [3], "p0": [0]}, upgrade_to="primary",
                        profile=prof).set_index("stretch_id")
    assert res.loc["p2", "person_min_saved"] == pytest.approx(70 * saved_s / 60)
    assert res.loc["p3", "person_min_saved"] == pytest.approx(40 * saved_s / 60)
    assert res.loc["p2", "person_min_saved_per_km"] == pytest.approx(70 * saved_s / 60 / KM)
    assert res.loc["p2", "population_affected"] == 70 and res.loc["p2", "n_localities_affected"] == 2
    assert res.loc["p3", "population_affected"] == 40 and res.loc["p3", "n_localities_affected"] == 1
    assert res.loc["p3", "mean_before_min"] == pytest.approx(4.0)
    assert res.loc["p3", "mean_after_min"] == pytest.approx(4.0 - saved_s / 60)
    assert res.loc["p3", "max_saved_min"] == pytest.approx(saved_s / 60)
    assert res.loc["p2", "mean_before_min"] == pytest.approx((30 * 3 + 40 * 4) / 70)
    assert res.loc["p2", "upgrade_speed_kph"] == v and res.loc["p2", "upgrade_to"] == "primary"
    assert res.loc["p2", "n_targets_changed"] == 0
    # the primary piece already runs at 965 m / 60 s = 57.9 km/h < 70: a small saving too
    assert res.loc["p0", "person_min_saved"] == pytest.approx(70 * saved_s / 60)
    assert res["rank"].tolist() == [1, 2, 3]
    assert res.index[-1] == "p3"  # 40 people save less than 70
    with pytest.raises(ConfigError, match="not in the speed profile"):
        rank_upgrades(net, loc, tiers, upgrade_to="superhighway")


def test_analysis_and_refusals(net, inputs) -> None:
    loc, tiers = inputs
    res = analyze_corridors(net, loc, tiers, upgrade_to="primary")
    assert len(res.corridors) == 2 and len(res.segments) == 3
    assert set(res.upgrades["highway"]) == {"primary", "track"}  # both slower than 70 km/h
    with pytest.raises(ColumnError, match="area_class"):
        suggest_corridors(net, loc.drop(columns="area_class"), tiers)
    with pytest.raises(ConfigError, match="no target tier"):
        suggest_corridors(net, loc, {})


def test_given_candidates_are_described_by_length(net, inputs) -> None:
    """Candidate 'mix' holds pieces 1 (primary, asphalt) and 2-3 (track, dirt): the class and
    surface are those of the longer part (track, dirt: 2 of 3 pieces), the speed is length over
    time (3 x 0.965 km in 3 min = 57.9 km/h) and the unpaved share 2/3."""
    loc, tiers = inputs
    res = rank_upgrades(net, loc, tiers, candidates={"mix": [1, 2, 3], "p0": [0]}, upgrade_to="primary",
                        profile=load_profile()).set_index("stretch_id")
    mix = res.loc["mix"]
    assert mix["highway"] == "track" and mix["surface"] == "dirt"
    assert mix["length_km"] == pytest.approx(3 * KM) and mix["speed_kph"] == pytest.approx(3 * KM / (3 / 60))
    assert mix["unpaved_share"] == pytest.approx(2 / 3)
    assert res.loc["p0", "highway"] == "primary" and res.loc["p0", "surface"] == "asphalt"


def test_top_and_number_of_candidates(net, inputs) -> None:
    """top=1 keeps the best candidate only (piece 2 serves 70 people, piece 3 40); with
    n_candidates=1 only one stretch is re-routed; the default upgrade class is 'secondary'."""
    loc, tiers = inputs
    prof = load_profile()
    one = rank_upgrades(net, loc, tiers, candidates={"p3": [3], "p2": [2]}, upgrade_to="primary", top=1,
                        profile=prof)
    assert one["stretch_id"].tolist() == ["p2"] and one["rank"].tolist() == [1]
    few = rank_upgrades(net, loc, tiers, upgrade_to="primary", n_candidates=1, profile=prof)
    assert len(few) == 1
    default = rank_upgrades(net, loc, tiers, candidates={"p2": [2]}, profile=prof)
    assert set(default["upgrade_to"]) == {"secondary"}
    assert set(default["upgrade_speed_kph"]) == {prof.highway_speed_kph["secondary"]}
    with pytest.raises(ConfigError, match=r"top and n_candidates must be at least 1 \(got 0, 5\)"):
        rank_upgrades(net, loc, tiers, top=0, n_candidates=5, profile=prof)


def test_candidate_and_input_refusals_in_full(net, inputs) -> None:
    from territorial_gis.errors import CRSError, RoutingError

    loc, tiers = inputs
    with pytest.raises(ConfigError, match="^candidates must be a DataFrame with 'segment_ids' or a mapping id -> "
                                          "segment ids$"):
        rank_upgrades(net, loc, tiers, candidates=42, upgrade_to="primary")
    with pytest.raises(ColumnError, match="^candidates need a 'segment_ids' column \\(road piece ids\\), as in the "
                                          "output of corridor_segments$"):
        rank_upgrades(net, loc, tiers, candidates=pd.DataFrame({"x": [1]}), upgrade_to="primary")
    with pytest.raises(CRSError, match="^the localities have no CRS; set one \\(EPSG:4326 for lon/lat\\)$"):
        suggest_corridors(net, loc.set_crs(None, allow_override=True), tiers)
    empty = {"market": tiers["market"].iloc[:0], "school": tiers["market"].iloc[:0]}
    with pytest.raises(RoutingError, match="^the target tiers market, school hold no destination$"):
        suggest_corridors(net, loc, empty)
    with pytest.raises(ColumnError, match="population column 'population' holds negative values"):
        suggest_corridors(net, loc.assign(population=[1.0, -1.0, 2.0]), tiers)
    # a fraction of a person is not negative
    half = suggest_corridors(net, loc.assign(population=[1.0, 0.5, 2.0]), tiers)
    assert half["population_served"].tolist() == [0.5, 2.0]
    named = suggest_corridors(net, loc.assign(code=["a", "b", "c"]), tiers, id_col="code")
    assert named["origin_id"].tolist() == ["b", "c"]


def test_offroad_leg_and_route_options(net, inputs) -> None:
    """An MRA locality 0.0009 degree (about 100 m) north of node 3: its corridor has that
    off-road leg in km; with a 50 m snapping limit it has no corridor."""
    from pyproj import Geod

    from territorial_gis._routing import RouteOptions

    loc, tiers = inputs
    lat = float(net.node_lat[3]) + 0.0009
    off = loc.iloc[[1]].copy()
    off["geometry"] = gpd.points_from_xy([net.node_lon[3]], [lat])
    off = gpd.GeoDataFrame(off, crs=4326)
    d_km = Geod(ellps="WGS84").inv(net.node_lon[3], net.node_lat[3], net.node_lon[3], lat)[2] / 1000
    cor = suggest_corridors(net, off, tiers)
    assert cor["offroad_km"].iloc[0] == pytest.approx(d_km, rel=5e-3)
    res = analyze_corridors(net, pd.concat([off, loc.iloc[[2]]]), tiers, upgrade_to="primary",
                            options=RouteOptions(max_snap_m=50))
    assert res.corridors["origin_id"].tolist() == ["M4"]


def test_unpaved_or_low_without_a_class_column() -> None:
    edges = pd.DataFrame({"surface": ["asphalt", "dirt"]})
    assert is_unpaved_or_low(edges).tolist() == [False, True]
    assert is_unpaved_or_low(pd.DataFrame({"x": [1, 2]})).tolist() == [False, False]


def test_corridor_from_part_way_along_a_piece(net, inputs) -> None:
    """An MRA locality half-way along piece 3 (between nodes 3 and 4): its corridor starts at
    that point (the cut piece in lon/lat), runs 3.5 pieces to the market and takes 3.5 min."""
    loc, tiers = inputs
    lon = float(net.node_lon[3] + net.node_lon[4]) / 2
    mid = gpd.GeoDataFrame({"locality_id": ["H"], "population": [5.0], "area_class": ["MRA"]},
                           geometry=gpd.points_from_xy([lon], [net.node_lat[3]]), crs=4326)
    cor = suggest_corridors(net, mid, tiers)
    assert cor["travel_time_min"].iloc[0] == pytest.approx(3.5, abs=1e-3)  # the degree midpoint, to 0.1 s
    assert cor["length_km"].iloc[0] == pytest.approx(3.5 * KM, rel=1e-3)
    coords = list(cor.geometry.iloc[0].coords)
    assert coords[0] == pytest.approx((lon, float(net.node_lat[3])), abs=1e-7)
    assert coords[-1] == pytest.approx((float(net.node_lon[0]), float(net.node_lat[0])), abs=1e-7)
    assert cor.geometry.iloc[0].length == pytest.approx(lon - float(net.node_lon[0]), rel=1e-6)


def test_unknown_population_stays_unknown(net, inputs) -> None:
    """A corridor origin of unknown population routes like the others, but the population it
    serves is unknown (NaN), never 0; a stretch sums the known population of its users and is
    unknown only when none is known."""
    loc, tiers = inputs
    loc = loc.assign(population=[500.0, np.nan, 40.0])
    cor = suggest_corridors(net, loc, tiers).set_index("origin_id")
    assert np.isnan(cor.loc["M3", "population_served"]) and cor.loc["M4", "population_served"] == 40.0
    assert cor["travel_time_min"].tolist() == [3.0, 4.0]
    edges = corridor_segments(net, cor.reset_index(), level="edge").set_index("segment")
    assert edges["population_served"].to_dict() == {0: 40.0, 1: 40.0, 2: 40.0, 3: 40.0}
    nobody = suggest_corridors(net, loc.assign(population=np.nan), tiers)
    assert nobody["population_served"].isna().all()
    st = corridor_segments(net, nobody)
    assert len(st) == 3 and st["population_served"].isna().all()
    assert sorted(st["n_localities"]) == [1, 2, 2]
