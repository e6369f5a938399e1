"""Seasons of use from OpenStreetMap: the readers keep ``seasonal``, ``ford`` (on ways and nodes) and
the conditional access tags, and the wet season closes exactly the roads they mark.

Data: a SYNTHETIC OSM extract written here with pyosmium (hand-made nodes near 4 N, 74 W and
hand-picked tags, not real roads): a paved main road with ten unpaved spurs, each spur carrying one
way of marking (or not marking) a road the rains close. The same file as OSM XML and as PBF goes
through the compiled PBF reader, pyosmium, and osmnx's own XML parser (the osmnx import path).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from territorial_gis import _osm
from territorial_gis._roadattrs import (
    conditional_closures_not_read,
    dry_season_only,
    fords,
    not_all_year,
    parse_conditional,
)
from territorial_gis._routing import RouteOptions
from territorial_gis.access import travel_times_to_nearest
from territorial_gis.network import RoadNetwork, build_network
from territorial_gis.scenarios import apply_scenario, compare_access
from territorial_gis.speeds import load_profile

LON0, LAT0 = -74.0, 4.0
STEP = 0.01  # ~1.1 km between spurs; spurs ~1.1 km long

# spur k (way 1000 + k) leaves main-road node k + 1 northwards: its tags, and whether the wet
# season closes it by car / on foot, and whether it is all-year (for the Rural Access Index)
SPURS: dict[int, tuple[dict[str, str], bool, bool, bool]] = {
    1: ({"seasonal": "dry_season"}, True, True, False),
    2: ({"access:conditional": "no @ (wet_season)"}, True, True, False),
    3: ({"motor_vehicle:conditional": "no @ (rainy season)"}, True, False, False),
    4: ({"vehicle:conditional": "no @ (Nov-Apr)"}, False, False, False),        # months: not read, reported
    5: ({"seasonal": "wet_season"}, False, False, False),                        # usable in the rains
    6: ({"ford": "yes"}, True, True, True),                                      # a ford way
    7: ({}, True, True, True),                                                   # a ford node (below)
    8: ({"access:conditional": "no @ (wet_season)", "motor_vehicle:conditional": "yes @ (wet_season)"},
        False, True, True),                                                      # cars may, walkers not
    9: ({"access:conditional": "no @ wet", "seasonal": "no"}, False, False, False),  # road surface wet: not read
    10: ({"seasonal": "yes"}, True, True, False),
}
FORD_NODE = 107  # the middle node of spur 7


def _write_synthetic(path: Path) -> Path:
    """SYNTHETIC extract: main road (way 1, primary, asphalt) through nodes 1..11, spur k through
    nodes k + 1, 100 + k, 200 + k (unclassified, ground), with the tags of SPURS."""
    import osmium
    from osmium.osm.mutable import Node, Way

    w = osmium.SimpleWriter(str(path))
    try:
        for i in range(11):
            w.add_node(Node(id=i + 1, location=(LON0 + STEP * i, LAT0)))
        for k in SPURS:
            x = LON0 + STEP * k
            w.add_node(Node(id=100 + k, location=(x, LAT0 + STEP / 2),
                            tags={"ford": "yes"} if 100 + k == FORD_NODE else {}))
            w.add_node(Node(id=200 + k, location=(x, LAT0 + STEP)))
        w.add_way(Way(id=1, nodes=list(range(1, 12)), tags={"highway": "primary", "surface": "asphalt"}))
        for k, (tags, *_rest) in SPURS.items():
            w.add_way(Way(id=1000 + k, nodes=[k + 1, 100 + k, 200 + k],
                          tags={"highway": "unclassified", "surface": "ground", **tags}))
    finally:
        w.close()
    return path


@pytest.fixture(scope="module")
def osm_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("seasons")
    return {"xml": _write_synthetic(d / "spurs.osm"), "pbf": _write_synthetic(d / "spurs.osm.pbf")}


def _expected(col: int) -> set[int]:
    return {1000 + k for k, v in SPURS.items() if v[col]}


def _closed_ways(net: RoadNetwork, mode: str = "drive") -> set[int]:
    applied = apply_scenario(net, "wet", profile=load_profile(mode=mode))
    closed = applied.changes.loc[applied.changes["change"] == "closed", "osm_way_id"]
    return {int(w) for w in closed}


# ---------------------------------------------------------------------------- reading the tags
def test_readers_keep_the_season_tags_the_same_way(osm_files: dict[str, Path]) -> None:
    """The compiled PBF reader and pyosmium (PBF and XML) give the same tags and ford nodes."""
    prof = load_profile(mode="drive")
    fast = _osm._read_ways_pbf(osm_files["pbf"], prof)   # the compiled reader (raises rather than falls back)
    for slow in (_osm._read_ways_osmium(osm_files["pbf"], prof), _osm._read_ways_osmium(osm_files["xml"], prof)):
        pd.testing.assert_frame_equal(fast.tags, slow.tags)
        np.testing.assert_array_equal(fast.ford_at, slow.ford_at)
        assert fast.ford_value.tolist() == slow.ford_value.tolist() == ["yes"]
    assert fast.refs[fast.ford_at].tolist() == [FORD_NODE]
    row = fast.tags.set_index(pd.Index(fast.way_id))
    assert row.loc[1003, "motor_vehicle:conditional"] == "no @ (rainy season)"
    assert row.loc[1006, "ford"] == "yes" and row.loc[1, "seasonal"] is None


@pytest.mark.parametrize("kind", ["xml", "pbf"])
def test_edges_carry_the_tags(osm_files: dict[str, Path], kind: str) -> None:
    net = build_network(osm_files[kind])
    e = net.edges.set_index("osm_way_id")
    for k, (tags, *_rest) in SPURS.items():
        for key, value in tags.items():
            assert set(e.loc[[1000 + k], key]) == {value}
    # the ford node marks the one edge of spur 7 that holds it, and nothing else
    assert set(e.loc[e["ford"].notna()].index) == {1006, 1007}
    assert (e.loc[[1007], "ford"] == "yes").all()


def test_xml_and_pbf_give_the_same_network(osm_files: dict[str, Path]) -> None:
    a, b = build_network(osm_files["xml"]), build_network(osm_files["pbf"])
    pd.testing.assert_frame_equal(a.edges, b.edges)


# ---------------------------------------------------------------------------- the wet season
@pytest.mark.parametrize("kind", ["xml", "pbf"])
def test_wet_season_closes_exactly_the_marked_roads(osm_files: dict[str, Path], kind: str) -> None:
    net = build_network(osm_files[kind])
    assert _closed_ways(net) == _expected(1)
    walk = build_network(osm_files[kind], mode="walk")
    assert _closed_ways(walk, "walk") == _expected(2)
    # the RAI's all-season test: seasonal tags and closures by season, month or 'wet' are not all-year
    e = net.edges
    assert {int(w) for w in e.loc[not_all_year(e), "osm_way_id"]} == {1000 + k for k, v in SPURS.items() if not v[3]}


def test_conditional_closures_not_read_are_reported(osm_files: dict[str, Path]) -> None:
    net = build_network(osm_files["pbf"])
    applied = apply_scenario(net, "wet")
    note = next(n for n in applied.notes if "conditional closures not read" in n)
    assert note.startswith("season 'wet': 2 road pieces")
    e = net.edges
    assert {int(w) for w in e.loc[conditional_closures_not_read(e), "osm_way_id"]} == {1004, 1009}


def test_comparison_flags_the_places_only_closed_roads_served(osm_files: dict[str, Path]) -> None:
    """A village at the end of each spur: the ones on closed spurs are cut off ('dry_season_only'
    in the rains), the others slower (unpaved spurs slow down; the town is on the paved road)."""
    net = build_network(osm_files["pbf"])
    villages = gpd.GeoDataFrame({"place_id": [f"v{k}" for k in SPURS], "population": 100.0},
                                geometry=[shapely.Point(LON0 + STEP * k + 0.0001, LAT0 + STEP + 0.0001)
                                          for k in SPURS], crs=4326)
    town = gpd.GeoDataFrame({"dest_id": ["town"]}, geometry=[shapely.Point(LON0, LAT0 - 0.0001)], crs=4326)
    opts = RouteOptions(max_snap_m=1000.0)  # a village cannot walk 1.1 km across to the next spur
    base = travel_times_to_nearest(net, villages, {"town": town}, options=opts)
    applied = apply_scenario(net, "wet")
    wet = travel_times_to_nearest(applied.network, villages, {"town": town}, options=applied.route_options(opts, net))
    change = compare_access(base, wet, ["town"], cut_off_reason="dry_season_only")
    expect = ["dry_season_only" if SPURS[k][1] else "slower" for k in SPURS]
    assert change["status_town"].tolist() == expect
    assert np.isfinite(base["travel_time_town_min"]).all()


# ---------------------------------------------------------------------------- osmnx
def test_osmnx_import_keeps_the_season_tags(osm_files: dict[str, Path]) -> None:
    """osmnx's own XML parser, with the tags network_from_place & co. ask osmnx for, gives a
    network the wet season closes the same way; both directions of a road count once."""
    from territorial_gis.network import _from_osmnx_graph, _osmnx

    ox = _osmnx()
    G = ox.graph_from_xml(osm_files["xml"], simplify=False, retain_all=True)
    prof = load_profile(mode="drive")
    net = _from_osmnx_graph(G, prof, "synthetic xml")
    assert G.nodes[FORD_NODE].get("ford") == "yes"
    assert _closed_ways(net) == _expected(1)
    e = net.edges
    assert {int(w) for w in e.loc[fords(e), "osm_way_id"]} == {1006, 1007}
    assert {int(w) for w in e.loc[dry_season_only(e), "osm_way_id"]} == {1001, 1002, 1003, 1010}
    # one road piece per undirected road: 10 on the main road, 2 per spur (osmnx keeps every node)
    assert e["segment"].nunique() == 10 + 2 * len(SPURS) and net.n_edges == 2 * e["segment"].nunique()
    ours = build_network(osm_files["xml"]).describe()
    # same roads measured twice (osmnx: great circle; ours: ellipsoid): equal within 0.5 %
    assert net.describe()["road_km"] == pytest.approx(ours["road_km"], rel=5e-3)


# ---------------------------------------------------------------------------- the parser
@pytest.mark.parametrize("text, expect", [
    ("no @ (wet_season)", (("no", ("wet_season",)),)),
    ("no @ wet season", (("no", ("wet_season",)),)),
    ("no @ (Época de lluvias)", (("no", ("epoca_de_lluvias",)),)),
    ("no @ (Mo-Fr 07:00-09:00; Sa 10:00-12:00); yes @ (wet_season AND weight<3.5)",
     (("no", ("mo_fr_07:00_09:00;_sa_10:00_12:00",)), ("yes", ("wet_season", "weight<3.5")))),
    ("destination", ()),
])
def test_parse_conditional(text: str, expect: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
    assert parse_conditional(text) == expect


def test_season_rules_one_value_at_a_time() -> None:
    """Each form alone (expected values from the OSM wiki's meaning of the tags, see _roadattrs)."""
    cases = [  # (tags, dry-season only by car, not all-year)
        ({"seasonal": "dry_season;winter"}, False, True),     # usable in two seasons, one not the dry one
        ({"seasonal": "dry;dry_season"}, True, True),
        ({"seasonal": "no"}, False, False),
        ({"access:conditional": "no @ (wet_season AND weight>7.5)"}, False, True),  # heavy vehicles only
        ({"access:conditional": "no @ (monsoon)"}, True, True),
        ({"access:conditional": "yes @ (wet_season)"}, False, False),
        ({"motorcar:conditional": "no @ (rainy_season)", "access:conditional": "yes @ (rainy_season)"}, True, True),
        ({"access:conditional": "no @ (Mo-Fr 07:00-09:00)"}, False, False),  # a time of day, not a season
        ({"access:conditional": "no @ (Dec-Mar)"}, False, True),
        ({"foot:conditional": "no @ (wet_season)"}, False, False),             # walkers only
        ({"season": "dry_season_only"}, True, True),
    ]
    edges = pd.DataFrame([t for t, _d, _n in cases], dtype=object)
    assert dry_season_only(edges).tolist() == [d for _t, d, _n in cases]
    assert not_all_year(edges).tolist() == [n for _t, _d, n in cases]
