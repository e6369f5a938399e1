"""Criticality of road stretches (territorial_gis.criticality, `tgis criticality`).

Hand-made SYNTHETIC graphs (labelled as such, not real roads) where the answer is known: a bridge
whose failure cuts off exactly the far side; a fast road whose failure adds exactly the detour
over the slow parallel road; a road no shortest path uses, whose failure changes nothing. On the
embedded Porto Alegre region (real OSM roads and IPEA cells): the incremental re-routing equals a
full recomputation for a random sample of 300 stretches and the most used ones (every stretch of
the region is compared in benchmarks/bench_criticality.py), and a few failures equal the access
stage's own times on the network with the stretch deleted.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from _cli import assert_cli_fails
from _synthetic import named_network
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod
from territorial_gis.cli import main

from territorial_gis._reroute import ArcGraph, TierTree, edge_times, reroute_increase
from territorial_gis._routing import RouteOptions, prepare_graph
from territorial_gis.access import travel_times_to_nearest
from territorial_gis.classify import classify_areas
from territorial_gis.criticality import assess_criticality, network_stretches
from territorial_gis.errors import ColumnError, ConfigError
from territorial_gis.network import RoadNetwork

GEOD = Geod(ellps="WGS84")
MRA_RULES = {"access": {"max_hours": {"employment_centre": 0.2, "market": 0.2}, "combine": "all"}}


# ----------------------------------------------------------------------------- SYNTHETIC helpers
def synthetic_network(xy: dict[str, tuple[float, float]],
                      roads: list[tuple[str, str, str, float, bool]]) -> RoadNetwork:
    """SYNTHETIC network near 4 N, 74 W from named nodes (degree offsets) and two-way roads
    ``(a, b, highway, speed_kph, bridge)``; road piece ``k`` is ``roads[k]``."""
    return named_network(xy, [(a, b, {"speed_kph": kph, "highway": hw,
                                      "surface": "dirt" if hw == "track" else "asphalt",
                                      "bridge": "yes" if bridge else None})
                              for a, b, hw, kph, bridge in roads])


def points(rows: list[tuple[str, float, float, float]], id_col: str = "locality_id") -> gpd.GeoDataFrame:
    """SYNTHETIC points ``(id, lon offset, lat offset, population)`` near 4 N, 74 W."""
    return gpd.GeoDataFrame({id_col: [r[0] for r in rows], "population": [r[3] for r in rows]},
                            geometry=[shapely.Point(-74.0 + r[1], 4.0 + r[2]) for r in rows], crs=4326)


def _time_s(net: RoadNetwork, segments: list[int]) -> float:
    e = net.edges
    fwd = e[~e["reversed"]].set_index("segment")
    return float(sum(fwd.at[s, "length_m"] / (fwd.at[s, "speed_kph"] / 3.6) for s in segments))


def bridge_network() -> RoadNetwork:
    """SYNTHETIC: a triangle a0-a1-a2 (with the market's stub a0-m) and, across a bridge a1=b0,
    the right bank road b0-b1-b2::

          a2
         /  \\
    m--a0----a1==bridge==b0----b1----b2
    """
    xy = {"m": (-0.01, 0.0), "a0": (0.0, 0.0), "a1": (0.02, 0.0), "a2": (0.01, 0.015), "b0": (0.03, 0.0),
          "b1": (0.05, 0.0), "b2": (0.07, 0.0)}
    roads = [("m", "a0", "secondary", 50.0, False), ("a0", "a1", "secondary", 50.0, False),
             ("a1", "a2", "tertiary", 40.0, False), ("a2", "a0", "tertiary", 40.0, False),
             ("a1", "b0", "secondary", 50.0, True), ("b0", "b1", "tertiary", 40.0, False),
             ("b1", "b2", "tertiary", 40.0, False)]
    return synthetic_network(xy, roads)


def parallel_network() -> RoadNetwork:
    """SYNTHETIC: a fast road x-m-y and a slow parallel track x-y; stubs w-x and y-z; a dead-end
    spur y-s that nobody uses::

              m
            /   \\        (fast: secondary, 60 km/h)
    w --- x ------- y --- z
                    |     (slow track x-y: 20 km/h)
                    s
    """
    xy = {"w": (-0.02, 0.0), "x": (0.0, 0.0), "m": (0.05, 0.03), "y": (0.1, 0.0), "z": (0.12, 0.0),
          "s": (0.1, -0.02)}
    roads = [("w", "x", "unclassified", 30.0, False), ("x", "m", "secondary", 60.0, False),
             ("m", "y", "secondary", 60.0, False), ("x", "y", "track", 20.0, False),
             ("y", "z", "unclassified", 30.0, False), ("y", "s", "track", 20.0, False)]
    return synthetic_network(xy, roads)


# ----------------------------------------------------------------------------- SYNTHETIC graphs
def test_bridge_cuts_off_exactly_the_far_side_synthetic() -> None:
    """SYNTHETIC graph: closing the bridge cuts off the two right-bank localities and nobody else."""
    net = bridge_network()
    loc = points([("left", 0.012, 0.0155, 100.0), ("right_mid", 0.04, 0.0005, 200.0),
                  ("right_end", 0.0702, 0.0, 300.0)])
    market = {"market": points([("town", -0.0101, 0.0, 0.0)], "dest_id")}
    st_ = network_stretches(net)
    bridge = st_[st_["bridge"]]
    assert len(bridge) == 1 and list(bridge["segment_ids"].iloc[0]) == [4]  # a bridge is a stretch of its own
    res = assess_criticality(net, loc, market, only="bridges")
    row = res.stretches.iloc[0]
    assert len(res.stretches) == 1 and row["bridge"]
    assert row["n_cut_off"] == 2 and row["population_cut_off"] == 500.0
    assert set(res.cut_off["locality_id"]) == {"right_mid", "right_end"}
    assert row["n_localities_using"] == 2 and row["population_using"] == 500.0
    assert row["detour_reason"] == "no_alternative_route" and np.isnan(row["detour_min"])
    assert row["person_min_added"] == 0.0  # nobody arrives late: they do not arrive at all
    # the triangle's side a1-a2-a0 fails: "left" (on it) is cut off, the right bank re-routes via a0-a1
    full = assess_criticality(net, loc, market, detour="all").stretches.set_index("stretch_id")
    tri = next(k for k, s in zip(full.index, full["segment_ids"], strict=True) if set(s) == {2, 3})
    assert full.at[tri, "n_cut_off"] == 1 and full.at[tri, "population_on_stretch"] == 100.0


def test_parallel_road_adds_exactly_the_detour_synthetic() -> None:
    """SYNTHETIC graph: the fast road fails -> every trip takes the slow track: added time = the
    detour, by hand from the edge lengths and speeds."""
    net = parallel_network()
    loc = points([("village", -0.0201, 0.0003, 500.0)])
    market = {"market": points([("town", 0.1201, 0.0003, 0.0)], "dest_id")}
    fast, slow = _time_s(net, [1, 2]), _time_s(net, [3])
    assert slow > fast
    res = assess_criticality(net, loc, market, detour="all")
    t = res.stretches.set_index("stretch_id")
    fast_id = next(k for k, s in zip(t.index, t["segment_ids"], strict=True) if set(s) == {1, 2})
    row = t.loc[fast_id]
    assert row["person_min_added"] == pytest.approx(500 * (slow - fast) / 60, rel=1e-9)
    assert row["locality_min_added"] == pytest.approx((slow - fast) / 60, rel=1e-9)
    assert row["detour_min"] == pytest.approx((slow - fast) / 60, rel=1e-9)
    assert row["max_added_market_min"] == pytest.approx((slow - fast) / 60, rel=1e-9)
    assert row["n_cut_off"] == 0 and row["rank"] == 3  # the stubs cut the village off: they rank first


def test_stretch_no_path_uses_has_zero_impact_synthetic() -> None:
    """SYNTHETIC graph: the slow parallel track and the dead-end spur carry no shortest path."""
    net = parallel_network()
    loc = points([("village", -0.0201, 0.0003, 500.0)])
    market = {"market": points([("town", 0.1201, 0.0003, 0.0)], "dest_id")}
    t = assess_criticality(net, loc, market, detour="all").stretches
    for pieces in ({3}, {5}):
        row = t[[set(s) == pieces for s in t["segment_ids"]]].iloc[0]
        assert row["n_localities_using"] == 0
        assert row["n_cut_off"] == 0 and row["person_min_added"] == 0 and row["n_affected_market"] == 0
    slow = t[[set(s) == {3} for s in t["segment_ids"]]].iloc[0]
    assert slow["detour_min"] == 0.0  # its ends are joined as fast without it


def test_class_changes_re_apply_the_rules_synthetic() -> None:
    """SYNTHETIC graph: with a 30-minute threshold, the fast road's failure moves the village
    from FRA to MRA (classes from classify_areas, on both sides)."""
    net = parallel_network()
    loc = points([("village", -0.0201, 0.0003, 500.0)])
    market = {"market": points([("town", 0.1201, 0.0003, 0.0)], "dest_id")}
    rules = {"access": {"max_hours": {"market": 0.5}}}
    acc = travel_times_to_nearest(net, loc, market)
    cl = classify_areas(acc, rules).areas
    assert cl["area_class"].iloc[0] == "FRA" and acc["travel_time_market_min"].iloc[0] < 30
    res = assess_criticality(net, cl, market, rules=rules)
    t = res.stretches
    fast = t[[set(s) == {1, 2} for s in t["segment_ids"]]].iloc[0]
    assert fast["n_fra_to_mra"] == 1 and fast["population_fra_to_mra"] == 500.0
    assert list(res.class_changes["class_after"].unique()) == ["MRA"]


def test_class_changes_of_areas_move_every_locality_of_the_area_synthetic() -> None:
    """SYNTHETIC graph and square: the village (500 people, slowed when the fast road fails) and
    a hamlet by the market (100 people, not slowed) lie in one area classified on their weighted
    mean time. The threshold sits between the area's time with and without the fast road (both
    routed from scratch, the second on a network without it): its failure moves the AREA, hence
    both localities, from FRA to MRA, and no change is unknown."""
    net = parallel_network()
    xy = {"w": (-0.02, 0.0), "x": (0.0, 0.0), "m": (0.05, 0.03), "y": (0.1, 0.0), "z": (0.12, 0.0),
          "s": (0.1, -0.02)}
    without = synthetic_network(xy, [("w", "x", "unclassified", 30.0, False), ("x", "y", "track", 20.0, False),
                                     ("y", "z", "unclassified", 30.0, False), ("y", "s", "track", 20.0, False)])
    loc = points([("village", -0.0201, 0.0003, 500.0), ("hamlet", 0.1199, 0.0003, 100.0)])
    market = {"market": points([("town", 0.1201, 0.0003, 0.0)], "dest_id")}
    square = gpd.GeoDataFrame({"area_id": ["a"]}, geometry=[shapely.box(-74.05, 3.95, -73.85, 4.05)], crs=4326)
    before = travel_times_to_nearest(net, loc, market)["travel_time_market_min"].to_numpy()
    after = travel_times_to_nearest(without, loc, market)["travel_time_market_min"].to_numpy()
    w = np.array([500.0, 100.0])
    thr_h = (np.average(before, weights=w) + np.average(after, weights=w)) / 2 / 60
    assert after[0] > before[0] and after[1] == pytest.approx(before[1])
    rules = {"access": {"max_hours": {"market": float(thr_h)}}}
    acc = travel_times_to_nearest(net, loc, market)
    areas = classify_areas(square, rules, localities=acc).areas
    assert areas["area_class"].iloc[0] == "FRA"
    # the localities carry their area's class, as a study gives them
    loc_cls = acc.assign(area_class="FRA")
    res = assess_criticality(net, loc_cls, market, rules=rules, areas=areas)
    fast = res.stretches[[set(s) == {1, 2} for s in res.stretches["segment_ids"]]].iloc[0]
    assert fast["n_fra_to_mra"] == 2 and fast["population_fra_to_mra"] == 600.0
    assert (res.stretches["n_class_unknown"] == 0).all()
    ch = res.class_changes[res.class_changes["stretch_id"] == fast["stretch_id"]]
    assert sorted(ch["locality_id"]) == ["hamlet", "village"] and set(ch["class_after"]) == {"MRA"}
    # per locality (no areas), the hamlet, whose own time did not change, would not move
    res_loc = assess_criticality(net, classify_areas(acc, rules).areas, market, rules=rules)
    loc_ch = res_loc.class_changes[res_loc.class_changes["stretch_id"] == fast["stretch_id"]]
    assert loc_ch["locality_id"].tolist() == ["village"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=10_000))
def test_incremental_equals_full_pass_on_random_grids_synthetic(seed: int) -> None:
    """SYNTHETIC random grid networks: after closing any road piece, the confined re-routing gives
    every node the same time as a full pass."""
    rng = np.random.default_rng(seed)
    xy = {f"n{i}_{j}": (i * 0.01, j * 0.01) for i in range(5) for j in range(5)}
    roads = []
    for i in range(5):
        for j in range(5):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < 5 and j + dj < 5 and rng.random() < 0.8:
                    roads.append((f"n{i}_{j}", f"n{i + di}_{j + dj}", "tertiary", float(rng.uniform(10, 80)), False))
    net = synthetic_network(xy, roads)
    loc = points([(f"l{k}", *rng.uniform(0, 0.04, 2), 1.0) for k in range(6)])
    dest = {"d": points([(f"d{k}", *rng.uniform(0, 0.04, 2), 0.0) for k in range(2)], "dest_id")}
    g, _o, tsn = prepare_graph(net, loc, dest, RouteOptions(max_snap_m=5000))
    ag = ArcGraph(g)
    state = edge_times(net)
    ag.set_weights(ag.weights(state))
    seeds = g.offroad_node[g.group(1)]
    tree = TierTree.build(ag, seeds[seeds >= 0])
    for seg in rng.choice(len(roads), size=min(4, len(roads)), replace=False):
        edges = np.flatnonzero(net.edges["segment"].to_numpy() == seg)
        arcs = ag.arcs_of_edges(edges)
        closed = state.copy()
        closed[edges] = np.inf
        old = ag.assign(arcs, ag.weights(closed, arcs=arcs))
        region = tree.subtrees(ag, arcs, ag.weight[arcs], old)
        got = tree.dist.copy()
        if len(region):
            nodes, t, _ = reroute_increase(ag, tree, region)
            got[nodes] = t
        full, _, _ = ag.nearest(tree.seeds)
        ag.assign(arcs, old)
        np.testing.assert_allclose(got, full, rtol=0, atol=1e-6)


# ----------------------------------------------------------------------------- embedded region
@pytest.fixture(scope="module")
def classified(poa_network: RoadNetwork, poa_localities: gpd.GeoDataFrame,
               poa_tiers: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    out = classify_areas(travel_times_to_nearest(poa_network, poa_localities, poa_tiers), MRA_RULES).areas
    return out


@pytest.fixture(scope="module")
def sample(poa_network: RoadNetwork, classified: gpd.GeoDataFrame,
           poa_tiers: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """300 random stretches and the 50 whose failure touches most people."""
    st_ = network_stretches(poa_network)
    top = assess_criticality(poa_network, classified, poa_tiers, top=50, detour="none").stretches
    pick = set(st_.sample(300, random_state=7)["stretch_id"]) | set(top["stretch_id"])
    return st_[st_["stretch_id"].isin(pick)]


def test_equals_naive_recomputation_embedded(poa_network: RoadNetwork, classified: gpd.GeoDataFrame,
                                             poa_tiers: dict[str, gpd.GeoDataFrame], sample: gpd.GeoDataFrame) -> None:
    kw = {"stretches": sample, "rules": MRA_RULES, "detour": "none"}
    inc = assess_criticality(poa_network, classified, poa_tiers, **kw)
    naive = assess_criticality(poa_network, classified, poa_tiers, method="naive", **kw)
    assert inc.info["n_searched"] < naive.info["n_searched"]
    a = pd.DataFrame(inc.stretches.drop(columns="geometry")).set_index("stretch_id").sort_index()
    b = pd.DataFrame(naive.stretches.drop(columns="geometry")).set_index("stretch_id").sort_index()
    num = [c for c in a.columns if a[c].dtype.kind in "fiub"]
    pd.testing.assert_frame_equal(a[num], b[num], check_exact=False, rtol=1e-9, atol=1e-9)
    assert (a["person_min_added"] > 0).sum() > 20 and (a["n_cut_off"] > 0).sum() > 5
    key = ["stretch_id", "locality_id"]
    pd.testing.assert_frame_equal(inc.class_changes.sort_values(key).reset_index(drop=True),
                                  naive.class_changes.sort_values(key).reset_index(drop=True))


def test_failure_equals_access_on_the_network_without_it(poa_network: RoadNetwork, classified: gpd.GeoDataFrame,
                                                         poa_tiers: dict[str, gpd.GeoDataFrame],
                                                         sample: gpd.GeoDataFrame) -> None:
    """Independent check: delete a stretch from the network and run the access stage again."""
    res = assess_criticality(poa_network, classified, poa_tiers, stretches=sample, detour="none").stretches
    base = travel_times_to_nearest(poa_network, classified, poa_tiers)
    # stretches no place is snapped onto (their deletion leaves every snap where it was)
    dest = pd.concat(list(poa_tiers.values()))
    from territorial_gis._engine import snap_points

    dsn = snap_points(poa_network, dest.geometry.x.to_numpy(), dest.geometry.y.to_numpy(), max_snap_m=2000,
                      walk_kph=4.0)
    seg = poa_network.edges["segment"].to_numpy()
    dest_segs = set(seg[dsn.segment_edge[dsn.ok]].tolist())
    cand = res[(res["n_localities_on_stretch"] == 0) & (res["person_min_added"] > 0)
               & np.array([not (set(s) & dest_segs) for s in res["segment_ids"]])].head(3)
    assert len(cand) == 3
    pop = classified["population"].fillna(0).to_numpy()
    for _, row in cand.iterrows():
        keep = ~np.isin(seg, row["segment_ids"])
        e = poa_network.edges[keep].reset_index(drop=True)
        net2 = RoadNetwork.from_arrays(poa_network.node_id, poa_network.node_lon, poa_network.node_lat,
                                       poa_network.edge_u[keep], poa_network.edge_v[keep], e,
                                       poa_network.edge_geometry[keep], crs=poa_network.crs)
        after = travel_times_to_nearest(net2, classified, poa_tiers)
        for t in poa_tiers:
            b, a = base[f"travel_time_{t}_min"].to_numpy(), after[f"travel_time_{t}_min"].to_numpy()
            fin = np.isfinite(a) & np.isfinite(b)
            assert np.nansum((a - b)[fin] * pop[fin]) == pytest.approx(row[f"person_min_added_{t}"], rel=1e-6, abs=1e-6)
            assert int((np.isnan(a) & ~np.isnan(b)).sum()) == row[f"n_cut_off_{t}"]


def test_top_n_and_bridges_embedded(poa_network: RoadNetwork, classified: gpd.GeoDataFrame,
                                    poa_tiers: dict[str, gpd.GeoDataFrame]) -> None:
    top = assess_criticality(poa_network, classified, poa_tiers, top=20, detour="none")
    assert len(top.stretches) == 20 and top.info["n_stretches"] > 15_000
    assert (top.stretches["n_localities_using"] > 0).all()
    br = assess_criticality(poa_network, classified, poa_tiers, only="bridges", detour="none").stretches
    assert br["bridge"].all() and 20 <= len(br) <= 120
    ranks = br["rank"].to_numpy()
    assert (ranks == np.arange(1, len(br) + 1)).all()


def test_api_errors(poa_network: RoadNetwork, classified: gpd.GeoDataFrame,
                    poa_tiers: dict[str, gpd.GeoDataFrame]) -> None:
    with pytest.raises(ConfigError, match="only must be one of"):
        assess_criticality(poa_network, classified, poa_tiers, only="tunnels")
    with pytest.raises(ConfigError, match="top must be at least 1"):
        assess_criticality(poa_network, classified, poa_tiers, top=0)
    with pytest.raises(ColumnError, match="not in the network"):
        assess_criticality(poa_network, classified, poa_tiers, stretches={"x": [10**9]})
    with pytest.raises(ColumnError, match="area_class"):
        assess_criticality(poa_network, classified.drop(columns="area_class"), poa_tiers, rules=MRA_RULES, top=5)


# ----------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def cli_inputs(tmp_path_factory: pytest.TempPathFactory, classified: gpd.GeoDataFrame) -> dict[str, Path]:
    from territorial_gis.data import data_path

    d = tmp_path_factory.mktemp("crit_cli")
    loc = d / "classified.gpkg"
    classified.drop(columns=["class_reasons"]).to_file(loc, layer="localities")
    rules = d / "rules.toml"
    rules.write_text('[access]\ncombine = "all"\n[access.max_hours]\nemployment_centre = 0.2\nmarket = 0.2\n')
    return {"loc": loc, "rules": rules, "net": Path(data_path("porto_alegre", "poa_osm.pbf")),
            "pois": Path(data_path("porto_alegre", "poa_points_of_interest.csv")), "dir": d}


def test_cli_writes_ranked_table(cli_inputs: dict[str, Path]) -> None:
    out = cli_inputs["dir"] / "crit.gpkg"
    r = CliRunner().invoke(main, ["criticality", str(cli_inputs["net"]), str(cli_inputs["loc"]),
                                  "--tier", "employment_centre=jobs>=2000", "--tier", f"market={cli_inputs['pois']}",
                                  "--top", "40", "--rules", str(cli_inputs["rules"]), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "most critical" in r.output
    tab = gpd.read_file(out, layer="criticality")
    assert len(tab) == 40 and tab.crs.to_epsg() == 4326 and (tab["rank"] == np.arange(1, 41)).all()
    assert len(gpd.read_file(out, layer="cut_off")) > 0
    csv = pd.read_csv(out.with_name("crit.csv"))
    assert list(csv["stretch_id"]) == list(tab["stretch_id"])
    assert out.with_name("crit_class_changes.csv").is_file()


def test_cli_re_classifies_the_areas(cli_inputs: dict[str, Path], poa_network: RoadNetwork,
                                     poa_localities: gpd.GeoDataFrame, poa_tiers: dict[str, gpd.GeoDataFrame]) -> None:
    """``--areas``: the IPEA cells aggregated into 1.5 km hexagons and classified there; every class
    change is known and moves whole hexagons (its count is a sum of hexagons' locality counts)."""
    from territorial_gis.classify import make_hex_grid
    from territorial_gis.pipeline import _join_area_class

    acc = travel_times_to_nearest(poa_network, poa_localities, poa_tiers)
    areas = classify_areas(make_hex_grid(acc, 1500.0), MRA_RULES, localities=acc).areas
    loc = _join_area_class(acc, areas).drop(columns=["class_reasons"])
    d = cli_inputs["dir"]
    loc.to_file(d / "hex_localities.gpkg", layer="localities")
    areas.drop(columns=["class_reasons"]).to_file(d / "hex_areas.gpkg", layer="areas")
    out = d / "crit_areas.gpkg"
    r = CliRunner().invoke(main, ["criticality", str(cli_inputs["net"]), str(d / "hex_localities.gpkg"),
                                  "--tier", "employment_centre=jobs>=2000", "--tier", f"market={cli_inputs['pois']}",
                                  "--top", "30", "--rules", str(cli_inputs["rules"]), "--areas",
                                  str(d / "hex_areas.gpkg"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    tab = pd.read_csv(out.with_name("crit_areas.csv"))
    assert (tab["n_class_unknown"] == 0).all()
    ch = pd.read_csv(out.with_name("crit_areas_class_changes.csv"))
    assert not ch["class_unknown"].any()
    # the localities of each (stretch, hexagon) moved are all the localities of that hexagon
    assert len(ch) > 0
    hexagon = dict(zip(loc[ch_id(loc, ch)].astype(str), loc["area_id"], strict=True))
    ch["area_id"] = ch["locality_id"].astype(str).map(hexagon)
    n_in = dict(zip(areas["area_id"], areas["n_localities"], strict=True))
    got = ch.groupby(["stretch_id", "area_id"]).size()
    assert all(n == n_in[a] for (_s, a), n in got.items())


def ch_id(loc: pd.DataFrame, ch: pd.DataFrame) -> str:
    """The localities' id column the class changes quote."""
    return next(c for c in ("locality_id", "place_id", "id") if c in loc and set(ch["locality_id"].astype(str))
                <= set(loc[c].astype(str)))


@pytest.mark.parametrize(("case", "message"), [
    ("no_tier", "give at least one destination tier"),
    ("csv_out", "must be a GeoPackage"),
    ("bad_rules", "unknown section"),
    ("areas_no_rules", "--areas needs --rules"),
    ("areas_no_class", "no 'area_class' column"),
])
def test_cli_bad_input(cli_inputs: dict[str, Path], case: str, message: str) -> None:
    out = cli_inputs["dir"] / f"bad_{case}.gpkg"
    args = ["criticality", str(cli_inputs["net"]), str(cli_inputs["loc"]), "--tier", "employment_centre=jobs>=2000",
            "--top", "5", "-o", str(out)]
    if case == "no_tier":
        args = ["criticality", str(cli_inputs["net"]), str(cli_inputs["loc"]), "-o", str(out)]
    elif case == "csv_out":
        out = out.with_suffix(".csv")
        args[-1] = str(out)
    elif case == "bad_rules":
        bad = cli_inputs["dir"] / "bad_rules.toml"
        bad.write_text("[acces]\ncombine = 'all'\n")
        args += ["--rules", str(bad)]
    elif case.startswith("areas"):
        areas = cli_inputs["dir"] / "unclassified_areas.gpkg"
        gpd.GeoDataFrame({"area_id": ["a"]}, geometry=[shapely.box(-51.3, -30.3, -51.0, -29.9)],
                         crs=4326).to_file(areas, layer="areas")
        args += ["--areas", str(areas)] + (["--rules", str(cli_inputs["rules"])] if case == "areas_no_class" else [])
    assert_cli_fails(args, message, out)
    assert not out.with_name(f"{out.stem}.csv").exists()


def test_runs_under_a_scenario_synthetic() -> None:
    """SYNTHETIC graph in the rainy season (built-in 'wet' scenario): the added time is the detour
    over the slowed track, read off the scenario network's own edge times; the same network state
    given as an array of edge seconds (``weight``) gives the same answer."""
    from territorial_gis.scenarios import apply_scenario

    net = parallel_network()
    loc = points([("village", -0.0201, 0.0003, 500.0)])
    market = {"market": points([("town", 0.1201, 0.0003, 0.0)], "dest_id")}
    wet = apply_scenario(net, "wet")
    fast, slow = _time_s(wet.network, [1, 2]), _time_s(wet.network, [3])
    assert slow > _time_s(net, [3])  # the track is slower in the rains
    opts = wet.route_options(RouteOptions(), net)
    res = assess_criticality(wet.network, loc, market, options=opts).stretches
    row = res[[set(s) == {1, 2} for s in res["segment_ids"]]].iloc[0]
    assert row["person_min_added"] == pytest.approx(500 * (slow - fast) / 60, rel=1e-9)
    state = wet.network.edges["travel_time_s"].to_numpy()
    same = assess_criticality(wet.network, loc, market, options=opts, weight=state).stretches
    assert np.allclose(same["person_min_added"], res["person_min_added"])
