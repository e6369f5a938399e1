"""Investment appraisal (territorial_gis.appraisal, `tgis appraise`).

Hand-made SYNTHETIC graphs (labelled as such, not real roads) where the answer is known: two
parallel upgrades are not counted twice; a new road connects a village no road reached; a
portfolio never exceeds its budget (hypothesis); zero perturbation reproduces the deterministic
run; wider perturbation gives wider ranges. On the embedded Porto Alegre region (real OSM roads
and IPEA cells): corridor candidates, the greedy portfolio equals the combined re-routing of its
picks, and a project's benefit equals the access stage's own times on the upgraded network.
"""

from __future__ import annotations

import json
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

from territorial_gis._costs import Uncertainty
from territorial_gis.access import travel_times_to_nearest
from territorial_gis.appraisal import (
    appraise_projects,
    corridor_candidates,
    load_cost_table,
    load_uncertainty,
    read_projects,
)
from territorial_gis.classify import classify_areas
from territorial_gis.corridors import analyze_corridors, upgrade_candidates
from territorial_gis.errors import ConfigError
from territorial_gis.network import RoadNetwork
from territorial_gis.speeds import load_profile

GEOD = Geod(ellps="WGS84")
NO_RUNS = {"runs": 0}


# ----------------------------------------------------------------------------- SYNTHETIC helpers
def synthetic_network(xy: dict[str, tuple[float, float]],
                      roads: list[tuple[str, str, str, str, float]]) -> RoadNetwork:
    """SYNTHETIC network near 4 N, 74 W: named nodes (degree offsets) and two-way roads
    ``(a, b, highway, surface, speed_kph)``; road piece ``k`` is ``roads[k]``."""
    return named_network(xy, [(a, b, {"speed_kph": kph, "highway": hw, "surface": surface})
                              for a, b, hw, surface, kph in roads])


def points(rows: list[tuple[str, float, float, float]], id_col: str = "locality_id") -> gpd.GeoDataFrame:
    """SYNTHETIC points ``(id, lon offset, lat offset, population)`` near 4 N, 74 W."""
    return gpd.GeoDataFrame({id_col: [r[0] for r in rows], "population": [r[3] for r in rows]},
                            geometry=[shapely.Point(-74.0 + r[1], 4.0 + r[2]) for r in rows], crs=4326)


def twin_tracks() -> RoadNetwork:
    """SYNTHETIC: two identical dirt tracks x-a-y and x-b-y (15 km/h) between the stubs w-x and
    y-z, plus a long dirt spur y-s nobody needs::

            a
          /   \\
    w -- x     y -- z -- s
          \\   /
            b
    """
    xy = {"w": (-0.02, 0.0), "x": (0.0, 0.0), "a": (0.05, 0.02), "b": (0.05, -0.02), "y": (0.1, 0.0),
          "z": (0.12, 0.0), "s": (0.2, 0.0)}
    roads = [("w", "x", "unclassified", "asphalt", 30.0), ("x", "a", "track", "dirt", 15.0),
             ("a", "y", "track", "dirt", 15.0), ("x", "b", "track", "dirt", 15.0), ("b", "y", "track", "dirt", 15.0),
             ("y", "z", "unclassified", "asphalt", 30.0), ("z", "s", "track", "dirt", 15.0)]
    return synthetic_network(xy, roads)


def twin_inputs() -> tuple[gpd.GeoDataFrame, dict[str, gpd.GeoDataFrame]]:
    village = points([("village", -0.0201, 0.0003, 1000.0)])
    return village, {"market": points([("town", 0.1199, 0.0003, 0.0)], "dest_id")}


def candidates_of(pieces: dict[str, list[int]], to_class: str = "secondary") -> gpd.GeoDataFrame:
    stretches = gpd.GeoDataFrame({"stretch_id": list(pieces), "segment_ids": [np.array(v) for v in pieces.values()],
                                  "population_served": 0.0, "highway": "track"},
                                 geometry=[shapely.LineString([(-74, 4), (-73.9, 4)])] * len(pieces), crs=4326)
    return corridor_candidates(stretches, to_class=to_class, prefix="")


def _seconds(net: RoadNetwork, pieces: list[int], kph: float | None = None) -> float:
    fwd = net.edges[~net.edges["reversed"]].set_index("segment")
    return float(sum(fwd.at[s, "length_m"] / ((kph or fwd.at[s, "speed_kph"]) / 3.6) for s in pieces))


# ----------------------------------------------------------------------------- SYNTHETIC graphs
def test_parallel_projects_not_double_counted_synthetic() -> None:
    """SYNTHETIC graph: upgrading either twin track saves the same time; both together save it once,
    so the greedy portfolio (re-routing after each pick) takes one and leaves the other."""
    net = twin_tracks()
    loc, tiers = twin_inputs()
    cand = candidates_of({"track_a": [1, 2], "track_b": [3, 4], "spur": [6]})
    res = appraise_projects(net, loc, tiers, cand, budget=1e9, **NO_RUNS)
    speed = load_profile().highway_speed_kph["secondary"] * load_profile().surface_factor["asphalt"]
    # the twins differ by centimetres (north and south of the axis): the base route takes the shorter
    before = min(_seconds(net, [1, 2]), _seconds(net, [3, 4]))
    saved_a = (before - _seconds(net, [1, 2], speed)) / 60.0
    saved_b = (before - _seconds(net, [3, 4], speed)) / 60.0
    p = res.projects.set_index("project_id")
    assert p.at["track_a", "person_min_saved"] == pytest.approx(1000 * saved_a, rel=1e-9)
    assert p.at["track_b", "person_min_saved"] == pytest.approx(1000 * saved_b, rel=1e-9)
    assert p.at["spur", "person_min_saved"] == 0.0
    assert p["chosen"].sum() == 1 and not p.at["spur", "chosen"]
    # both together save the better one's time, not the sum
    assert res.portfolio["cumulative_person_min"].iloc[-1] == pytest.approx(1000 * max(saved_a, saved_b), rel=1e-9)
    assert res.portfolio["cumulative_person_min"].iloc[-1] < 0.51 * 1000 * (saved_a + saved_b)
    # the cost table prices the dirt track (earth) going to paved, in the default (rolling) terrain
    table = load_cost_table()
    km = _seconds(net, [1, 2], 3.6) / 1000.0
    unit = table.cost_per_km[("earth", "paved")] * table.terrain_factor[table.default_terrain]
    assert p.at["track_a", "cost"] == pytest.approx(km * unit, rel=1e-9)
    assert p.at["track_a", "from_standard"] == f"earth {km:.1f} km"


def test_new_road_connects_a_village_synthetic() -> None:
    """SYNTHETIC graph: a village 6 km from any road (beyond the 2 km snapping limit) is cut off;
    a new gravel road from node z towards it connects it: population newly connected, benefit
    in person-minutes counts only localities that had a time before."""
    net = twin_tracks()
    loc = pd.concat([twin_inputs()[0], points([("remote", 0.12, 0.055, 250.0)])], ignore_index=True)
    tiers = twin_inputs()[1]
    new = gpd.GeoDataFrame({"project_id": ["new_road"], "action": ["new"], "to_class": ["unclassified"],
                            "to_surface": ["gravel"]},
                           geometry=[shapely.LineString([(-74 + 0.12, 4.0), (-74 + 0.12, 4.05)])], crs=4326)
    cand = read_projects(new, net)
    res = appraise_projects(net, loc, tiers, cand, budget=1e9, **NO_RUNS)
    row = res.projects.iloc[0]
    assert row["n_newly_connected"] == 1 and row["population_newly_connected"] == 250.0
    assert row["person_min_saved"] == 0.0  # the village's own time does not improve
    prof = load_profile()
    speed = prof.highway_speed_kph["unclassified"] * prof.surface_factor["gravel"]
    assert row["length_km"] == pytest.approx(GEOD.geometry_length(new.geometry.iloc[0]) / 1000, rel=2e-3)
    assert row["cost"] == pytest.approx(row["length_km"] * 180000.0 * 1.25, rel=1e-9)
    assert speed > 0 and not row["chosen"]  # nobody's time drops: person-minutes see no benefit
    res = appraise_projects(net, loc, tiers, cand, budget=1e9, objective="newly_connected", **NO_RUNS)
    assert bool(res.projects["chosen"].iloc[0]) and res.projects["benefit"].iloc[0] == 250.0


def test_mra_to_fra_moves_synthetic() -> None:
    """SYNTHETIC graph: a 45-minute threshold; the village is beyond it on the tracks and within it
    once one is upgraded: one locality, 1,000 people move from MRA to FRA."""
    net = twin_tracks()
    loc, tiers = twin_inputs()
    rules = {"access": {"max_hours": {"market": 0.75}}}
    cl = classify_areas(travel_times_to_nearest(net, loc, tiers), rules).areas
    assert cl["area_class"].iloc[0] == "MRA"
    cand = candidates_of({"track_a": [1, 2], "track_b": [3, 4]})
    res = appraise_projects(net, cl, tiers, cand, budget=1e9, rules=rules, objective="mra_to_fra", **NO_RUNS)
    p = res.projects.set_index("project_id")
    assert p.at["track_a", "population_mra_to_fra"] == 1000.0 and p.at["track_a", "n_mra_to_fra"] == 1
    assert res.portfolio["cumulative_mra_to_fra"].iloc[-1] == 1000.0
    assert "1,000 people move out of the marginal class (MRA to FRA)." in res.summary
    assert {"key": "moved", "n": 1000.0, "population_known": True} in res.facts


def test_mra_to_fra_moves_of_an_area_synthetic() -> None:
    """SYNTHETIC graph and square: the village (1,000 people, beyond the tracks) and a hamlet by
    the market (200 people, whose time no project changes) lie in one area classified on their
    weighted mean time. The threshold sits between the area's time before and after track a is
    upgraded to a 55 km/h asphalt secondary road (the shipped profile's speed; both times routed
    from scratch, the second on the upgraded network): the upgrade moves the AREA, so both
    localities, 1,200 people, from MRA to FRA."""
    net = twin_tracks()
    xy = {"w": (-0.02, 0.0), "x": (0.0, 0.0), "a": (0.05, 0.02), "b": (0.05, -0.02), "y": (0.1, 0.0),
          "z": (0.12, 0.0), "s": (0.2, 0.0)}
    upgraded = synthetic_network(xy, [
        ("w", "x", "unclassified", "asphalt", 30.0), ("x", "a", "secondary", "asphalt", 55.0),
        ("a", "y", "secondary", "asphalt", 55.0), ("x", "b", "track", "dirt", 15.0), ("b", "y", "track", "dirt", 15.0),
        ("y", "z", "unclassified", "asphalt", 30.0), ("z", "s", "track", "dirt", 15.0)])
    loc = points([("village", -0.0201, 0.0003, 1000.0), ("hamlet", 0.1197, 0.0003, 200.0)])
    tiers = {"market": points([("town", 0.1199, 0.0003, 0.0)], "dest_id")}
    before = travel_times_to_nearest(net, loc, tiers)
    after = travel_times_to_nearest(upgraded, loc, tiers)["travel_time_market_min"].to_numpy()
    t0 = before["travel_time_market_min"].to_numpy()
    w = np.array([1000.0, 200.0])
    assert after[0] < t0[0] and after[1] == pytest.approx(t0[1])
    rules = {"access": {"max_hours": {"market": float((np.average(t0, weights=w) + np.average(after, weights=w)) / 120)}}}
    square = gpd.GeoDataFrame({"area_id": ["a"]}, geometry=[shapely.box(-74.05, 3.95, -73.85, 4.05)], crs=4326)
    areas = classify_areas(square, rules, localities=before).areas
    assert areas["area_class"].iloc[0] == "MRA"
    cand = candidates_of({"track_a": [1, 2], "track_b": [3, 4]})
    res = appraise_projects(net, before.assign(area_class="MRA"), tiers, cand, budget=1e9, rules=rules,
                            objective="mra_to_fra", areas=areas, **NO_RUNS)
    p = res.projects.set_index("project_id")
    assert p.at["track_a", "n_mra_to_fra"] == 2 and p.at["track_a", "population_mra_to_fra"] == 1200.0
    assert res.portfolio["cumulative_mra_to_fra"].iloc[-1] == 1200.0
    assert any("the 1 area is classified again" in n for n in res.info["notes"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.floats(min_value=0.0, max_value=4e6), st.lists(st.floats(min_value=1e4, max_value=2e6), min_size=4,
                                                         max_size=4))
def test_portfolio_never_exceeds_budget_synthetic(budget: float, costs: list[float]) -> None:
    """SYNTHETIC graph, any budget and any project costs: the chosen projects fit the budget."""
    net = twin_tracks()
    loc, tiers = twin_inputs()
    cand = candidates_of({"track_a": [1, 2], "track_b": [3, 4], "stub_w": [0], "stub_z": [5]})
    cand["cost"] = costs
    res = appraise_projects(net, loc, tiers, cand, budget=budget, **NO_RUNS)
    spent = res.projects.loc[res.projects["chosen"], "cost"].sum()
    assert spent <= budget + 1e-6
    assert res.portfolio["cumulative_cost"].iloc[-1] == pytest.approx(spent)
    assert (res.portfolio["budget_left"] >= -1e-6).all()


def test_zero_perturbation_equals_deterministic_synthetic() -> None:
    net = twin_tracks()
    loc, tiers = twin_inputs()
    cand = candidates_of({"track_a": [1, 2], "stub_w": [0], "spur": [6]})
    zero = load_uncertainty().scaled(0.0)
    assert zero.is_zero and Uncertainty().is_zero
    res = appraise_projects(net, loc, tiers, cand, budget=1e9, uncertainty=zero, runs=5)
    p = res.projects
    for q in ("p10", "p50", "p90"):
        np.testing.assert_allclose(p[f"benefit_{q}"], p["benefit"], rtol=1e-12)
    useful = p["benefit"] > 0
    np.testing.assert_allclose(p.loc[useful, "benefit_per_million_p50"], p.loc[useful, "benefit_per_million"],
                               rtol=1e-12)
    assert (p["rank_p10"] == p["rank"]).all() and (p["rank_p90"] == p["rank"]).all()
    assert res.info["portfolio_benefit_p10"] == pytest.approx(res.portfolio["cumulative_benefit"].iloc[-1])


def test_ranges_widen_with_the_perturbation_synthetic() -> None:
    net = twin_tracks()
    loc, tiers = twin_inputs()
    cand = candidates_of({"track_a": [1, 2], "stub_w": [0]})
    base = load_uncertainty()
    widths = []
    for k in (0.25, 0.5, 1.0, 2.0):
        res = appraise_projects(net, loc, tiers, cand, budget=1e9, uncertainty=base.scaled(k), runs=40, seed=3)
        row = res.projects.set_index("project_id").loc["track_a"]
        widths.append((row["benefit_p90"] - row["benefit_p10"],
                       row["benefit_per_million_p90"] - row["benefit_per_million_p10"]))
    for (b0, r0), (b1, r1) in zip(widths, widths[1:], strict=False):
        assert b1 > b0 and r1 > r0


def test_bad_input_synthetic(tmp_path: Path) -> None:
    net = twin_tracks()
    loc, tiers = twin_inputs()
    cand = candidates_of({"track_a": [1, 2]})
    bad = tmp_path / "costs.toml"
    text = (Path(__file__).resolve().parents[1] / "territorial_gis" / "costs" / "default.toml").read_text()
    bad.write_text(text.replace('"earth -> paved" = 450000.0', ""))
    with pytest.raises(ConfigError, match=r"no unit cost for 'earth -> paved' \(project 'track_a'"):
        appraise_projects(net, loc, tiers, cand, budget=1e6, costs=bad, **NO_RUNS)
    with pytest.raises(ConfigError, match="budget must be a number >= 0"):
        appraise_projects(net, loc, tiers, cand, budget=-1.0, **NO_RUNS)
    with pytest.raises(ConfigError, match="no candidate project"):
        appraise_projects(net, loc, tiers, cand.iloc[0:0], budget=1e6, **NO_RUNS)
    with pytest.raises(ConfigError, match="not a road class of the speed profile"):
        appraise_projects(net, loc, tiers, cand.assign(to_class="hyperloop"), budget=1e6, **NO_RUNS)
    with pytest.raises(ConfigError, match="matches no road"):
        read_projects(gpd.GeoDataFrame({"project_id": ["far"]}, geometry=[shapely.LineString([(-70, 5), (-70, 5.1)])],
                                       crs=4326), net, to_class="secondary")


# ----------------------------------------------------------------------------- embedded region
@pytest.fixture(scope="module")
def poa_case(poa_network: RoadNetwork, poa_localities: gpd.GeoDataFrame,
             poa_tiers: dict[str, gpd.GeoDataFrame]) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, dict]:
    rules = {"access": {"max_hours": {"employment_centre": 0.2, "market": 0.2}, "combine": "all"}}
    cl = classify_areas(travel_times_to_nearest(poa_network, poa_localities, poa_tiers), rules).areas
    seg = analyze_corridors(poa_network, cl, poa_tiers, upgrade_to=None).segments
    pool = upgrade_candidates(poa_network, seg, 55.0, 25)
    return cl, corridor_candidates(pool, to_class="secondary"), rules


def test_embedded_portfolio_consistent(poa_network: RoadNetwork, poa_tiers: dict[str, gpd.GeoDataFrame],
                                       poa_case: tuple) -> None:
    cl, cand, rules = poa_case
    res = appraise_projects(poa_network, cl, poa_tiers, cand, budget=2e6, rules=rules,
                            uncertainty=load_uncertainty().scaled(0.0), runs=1)
    p = res.projects
    assert len(p) == len(cand) == 25 and p["cost"].gt(0).all()
    assert (p["person_min_saved"] >= 0).all() and p["person_min_saved"].gt(0).sum() >= 20
    assert p.loc[p["chosen"], "cost"].sum() <= 2e6
    # greedy: sum of marginal re-routed benefits == all picks built at once, re-routed together
    assert res.portfolio["cumulative_benefit"].iloc[-1] == pytest.approx(res.info["portfolio_benefit_p50"], rel=1e-9)
    # interactions: the portfolio is worth less than the sum of its projects alone (shared routes)
    assert res.portfolio["cumulative_benefit"].iloc[-1] <= p.loc[p["chosen"], "benefit"].sum() * 1.05
    assert len(res.summary) >= 2 and "With a budget of 2.0 M USD" in res.summary[0]


def test_embedded_benefit_equals_access_on_upgraded_network(poa_network: RoadNetwork,
                                                           poa_tiers: dict[str, gpd.GeoDataFrame],
                                                           poa_case: tuple) -> None:
    """Independent check: give a project's road pieces the target speed in the network itself and
    run the access stage again."""
    cl, cand, rules = poa_case
    res = appraise_projects(poa_network, cl, poa_tiers, cand, budget=0.0, **NO_RUNS)
    base = travel_times_to_nearest(poa_network, cl, poa_tiers)
    pop = cl["population"].fillna(0).to_numpy()
    prof = load_profile()
    v = prof.highway_speed_kph["secondary"] * prof.surface_factor["asphalt"]
    for _, row in res.projects.head(3).iterrows():
        e = poa_network.edges.copy()
        on = e["segment"].isin(row["segment_ids"]).to_numpy()
        e.loc[on, "speed_kph"] = np.maximum(e.loc[on, "speed_kph"], v)
        e["travel_time_s"] = e["length_m"] / (e["speed_kph"] / 3.6)
        net2 = RoadNetwork.from_arrays(poa_network.node_id, poa_network.node_lon, poa_network.node_lat,
                                       poa_network.edge_u, poa_network.edge_v, e, poa_network.edge_geometry,
                                       crs=poa_network.crs)
        after = travel_times_to_nearest(net2, cl, poa_tiers)
        for t in poa_tiers:
            saved = (base[f"travel_time_{t}_min"] - after[f"travel_time_{t}_min"]).to_numpy()
            assert np.nansum(saved * pop) == pytest.approx(row[f"person_min_saved_{t}"], rel=1e-6)


def test_cli_writes_every_output(tmp_path: Path, poa_case: tuple) -> None:
    from territorial_gis.data import data_path

    cl, _cand, _rules = poa_case
    loc = tmp_path / "classified.gpkg"
    cl.drop(columns=["class_reasons"]).to_file(loc, layer="localities")
    rules = tmp_path / "rules.toml"
    rules.write_text('[access]\ncombine = "all"\n[access.max_hours]\nemployment_centre = 0.2\nmarket = 0.2\n')
    out = tmp_path / "appraisal.gpkg"
    r = CliRunner().invoke(main, ["appraise", str(data_path("porto_alegre", "poa_osm.pbf")), str(loc),
                                  "--tier", "employment_centre=jobs>=2000", "--tier",
                                  f"market={data_path('porto_alegre', 'poa_points_of_interest.csv')}",
                                  "--budget", "1.5M", "--candidates", "12", "--runs", "3", "--rules", str(rules),
                                  "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "With a budget of 1.5 M USD" in r.output
    proj = gpd.read_file(out, layer="projects")
    assert len(proj) == 12 and proj.crs.to_epsg() == 4326
    chosen = gpd.read_file(out, layer="portfolio")
    assert chosen["cost"].sum() <= 1.5e6 and len(chosen) == proj["chosen"].sum()
    curve = pd.read_csv(tmp_path / "appraisal_portfolio.csv")
    assert curve["cumulative_cost"].is_monotonic_increasing
    assert (tmp_path / "appraisal_portfolio.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    meta = json.loads((tmp_path / "appraisal_summary.json").read_text())
    assert meta["runs"] == 3 and meta["summary"]
    assert [f["key"] for f in meta["summary_facts"]][0] == "portfolio" and len(meta["summary_facts"]) == len(meta["summary"])


@pytest.fixture(scope="module")
def synthetic_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """SYNTHETIC network, localities and market written to files for the CLI."""
    d = tmp_path_factory.mktemp("appraise_cli")
    net = twin_tracks()
    net.save(d / "twin.tgnet")
    loc, tiers = twin_inputs()
    loc.to_file(d / "loc.gpkg")
    tiers["market"].to_file(d / "market.gpkg")
    proj = gpd.GeoDataFrame({"project_id": ["a"], "to_class": ["secondary"]},
                            geometry=[net.edge_geometry[2]], crs=4326)
    proj.to_file(d / "projects.gpkg")
    bad = d / "costs.toml"
    text = (Path(__file__).resolve().parents[1] / "territorial_gis" / "costs" / "default.toml").read_text()
    bad.write_text(text.replace('"earth -> paved" = 450000.0', ""))
    return {"dir": d, "net": d / "twin.tgnet", "loc": d / "loc.gpkg", "market": d / "market.gpkg",
            "projects": d / "projects.gpkg", "bad_costs": bad}


@pytest.mark.parametrize(("case", "message"), [
    ("negative_budget", "budget must be a number >= 0"),
    ("missing_transition", "no unit cost for 'earth -> paved'"),
    ("no_candidates", "no candidate project"),
    ("bad_budget", "expected a number such as"),
])
def test_cli_bad_input_synthetic(synthetic_files: dict[str, Path], case: str, message: str) -> None:
    """SYNTHETIC inputs: one clear message, exit 1, nothing written."""
    f = synthetic_files
    out = f["dir"] / f"out_{case}.gpkg"
    args = ["appraise", str(f["net"]), str(f["loc"]), "--tier", f"market={f['market']}", "--budget", "1M",
            "--projects", str(f["projects"]), "--no-corridor-candidates", "--runs", "2", "-o", str(out)]
    if case == "negative_budget":
        args[args.index("1M")] = "-5M"
    elif case == "bad_budget":
        args[args.index("1M")] = "lots"
    elif case == "missing_transition":
        args += ["--costs", str(f["bad_costs"])]
    elif case == "no_candidates":
        i = args.index("--projects")
        del args[i:i + 2]
    assert_cli_fails(args, message, out)
    assert not list(f["dir"].glob(f"out_{case}*"))


def test_summary_facts_render_in_each_language() -> None:
    """SYNTHETIC facts: one sentence per fact in en/es/pt with the locale's numbers, singular
    forms for one project, one locality; every message in the catalogues."""
    from territorial_gis._appraisalsummary import summary_text
    from territorial_gis._i18n import Texts, texts

    facts = [{"key": "portfolio", "budget": 1.5e9, "currency": "USD", "n_projects": 1, "project_ids": ["p7"],
              "cost": 1234567.0, "saved": 2.5e6, "population_known": True, "tiers": ["intermediate_city", "market"]},
             {"key": "moved", "n": 1.0, "population_known": False},
             {"key": "newly_connected", "n": 4730.0, "population_known": True},
             {"key": "ranges", "runs": 10, "p10": 950.4, "p90": 1200.0, "unit": "person-minutes saved per trip",
              "n_stable": 0, "n_chosen": 1, "top_share": 0.8},
             {"key": "best", "project_id": "p7", "name": "Ruta 9", "benefit_per_million": 12.6,
              "unit": "my_hook", "currency": "USD"},
             {"key": "from_a_newer_version"}]
    en = summary_text(facts, texts("en"))
    assert en == [
        "With a budget of 1.50 bn USD, this project (p7) costs 1.2 M USD and saves 2.50 million person-minutes "
        "per trip to intermediate city and market.",
        "1 locality moves out of the marginal class (MRA to FRA).",
        "4,730 people get a road connection they lacked.",
        "Across 10 runs with perturbed road speeds, walking speed, MRA/FRA thresholds and unit costs, the "
        "portfolio's benefit ranges from 950 to 1,200 person-minutes saved per trip (P10\u2013P90); the chosen "
        "project ranks first in fewer than 80% of the runs.",
        "The best value for money is p7 (Ruta 9): 13 my_hook per million USD."]
    es_tx = Texts("es")  # its own instance: texts("es") is shared and records what other tests miss
    es = summary_text(facts, es_tx)
    assert not es_tx.missing
    assert es[0].startswith("Con un presupuesto de 1,50 mil M USD, este proyecto (p7) cuesta 1,2 M USD y ahorra "
                            "2,50 millones personas-minuto por viaje a ciudad intermedia y ")
    assert es[1] == "1 localidad sale de la clase marginal (de MRA a FRA)."
    assert es[2].startswith("4.730 personas") and "950 a 1.200" in es[3] and "menos del 80\u00a0%" in es[3]
    pt = summary_text(facts, texts("pt"))
    assert pt[1] == "1 localidade sai da classe marginal (de MRA para FRA)." and "1,50 bi USD" in pt[0]


def test_project_names_made_by_the_toolkit_are_written_in_the_reader_language() -> None:
    """A corridor stretch's project is named by the toolkit ("tertiary stretch 81", English data)
    and written in the reader's words; a name the user gave stays as written."""
    from territorial_gis._i18n import texts
    from territorial_gis._projects import localized_name, stretch_name

    made = stretch_name("tertiary", 81)
    assert made == "tertiary stretch 81"
    assert localized_name(made, texts("en")) == "tertiary stretch 81"
    assert localized_name(made, texts("es")) == "tramo 81 \u2013 terciaria"
    assert localized_name(made, texts("pt")) == "trecho 81 \u2013 terci\u00e1ria"
    assert localized_name("Puente La Libertad", texts("es")) == "Puente La Libertad"
    assert localized_name("stretch 5", texts("es")) == "stretch 5"  # not the toolkit's pattern: as given
