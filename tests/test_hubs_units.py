"""Hub selection on SYNTHETIC hand-made tables and a SYNTHETIC road chain with exact times.

Every expected hub set, reason and figure below is worked out by hand from the definitions in
territorial_gis.hubs (set cover = fewest hubs covering every coverable locality; a locality is
within T when its time is at most T). Small and fast: these are the tests ``make mutate`` runs
against the hubs module (with tests/test_hubs.py on real data).
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from _synthetic import chain_network
from hypothesis import given, settings
from hypothesis import strategies as st

from territorial_gis import hubs as hb
from territorial_gis._zones import check_max_time, population_of
from territorial_gis.columns import REASON_DISCONNECTED, REASON_TOO_FAR
from territorial_gis.errors import ColumnError, ConfigError, RoutingError
from territorial_gis.network import RoadNetwork

LON0, LAT0 = -51.2, -30.0


def _localities(n: int, population: list[float] | None = None) -> gpd.GeoDataFrame:
    """SYNTHETIC localities L0..L{n-1} on a line of longitude steps of 0.01 degree."""
    return gpd.GeoDataFrame({"place_id": [f"L{i}" for i in range(n)],
                             "name": [f"Locality {i}" for i in range(n)],
                             "population": population if population is not None else [100.0] * n},
                            geometry=gpd.points_from_xy(LON0 + 0.01 * np.arange(n), np.full(n, LAT0)), crs=4326)


def _table(pairs: list[tuple[int, int, float]], cand_pos: list[int], n: int, t: float = 10.0,
           loc_ok: list[bool] | None = None) -> hb.HubTable:
    """A hand-made table: (locality row, candidate index, minutes) within ``t``."""
    loc, cand, tm = (np.array(x) for x in zip(*pairs, strict=True)) if pairs else ([], [], [])
    return hb.HubTable(loc=np.asarray(loc, dtype=np.int64), cand=np.asarray(cand, dtype=np.int64),
                       time_min=np.asarray(tm, dtype=float), cand_pos=np.asarray(cand_pos, dtype=np.int64),
                       loc_ids=np.array([f"L{i}" for i in range(n)], dtype=object),
                       loc_ok=np.asarray(loc_ok if loc_ok is not None else [True] * n), max_time_min=t)


# A covers L0-L3, B covers L0, L1, L4, C covers L2, L3, L5. Greedy cover picks A (4 localities)
# first, then B and C for L4 and L5; A is then redundant (B and C cover L0-L3 between them).
# The only 2-hub cover is {B, C}.
REDUNDANT = [(0, 0, 0.0), (1, 0, 5.0), (2, 0, 5.0), (3, 0, 5.0),
             (0, 1, 5.0), (1, 1, 5.0), (4, 1, 0.0),
             (2, 2, 5.0), (3, 2, 5.0), (5, 2, 0.0)]


@pytest.mark.parametrize("method", ["greedy", "exact"])
def test_redundant_hub_is_dropped(method: str) -> None:
    problem = hb.HubProblem.from_table(_table(REDUNDANT, [0, 4, 5], 6), _localities(6))
    sel = problem.solve("cover", method=method)
    assert sorted(sel.hubs["hub_id"]) == ["L4", "L5"]  # not L0, L4, L5
    assert sel.n_hubs == 2 and sel.objective == 2.0
    assert sel.n_covered == 6 and sel.uncovered == {} and sel.n_uncovered == 0
    assert sel.population_covered == 600.0
    hubs = sel.hubs.set_index("hub_id")
    assert hubs.loc["L4", "n_localities_within_max_time"] == 3 and hubs.loc["L5", "n_localities_within_max_time"] == 3
    assert hubs.loc["L4", "population_within_max_time"] == 300.0
    assert hubs.loc["L4", "name"] == "Locality 4" and hubs.loc["L4", "population"] == 100.0
    assert (sel.hubs["model"] == "cover").all() and (sel.hubs["method"] == method).all()
    assert sorted(sel.hubs["selection_rank"]) == [1, 2]
    assert sel.hubs.crs.to_epsg() == 4326
    assert sel.method == method and sel.requested_method == method and sel.model == "cover"
    assert sel.n_localities == 6 and sel.n_candidates == 3 and sel.n_table_pairs == len(REDUNDANT)


def test_greedy_order_before_the_drop() -> None:
    """The greedy pick order is A, B, C; dropping redundant hubs goes last picked first."""
    cov = hb.HubProblem.from_table(_table(REDUNDANT, [0, 4, 5], 6), _localities(6))
    import scipy.sparse as sp

    m = sp.csr_matrix((np.ones(len(REDUNDANT), bool), ([p[0] for p in REDUNDANT], [p[1] for p in REDUNDANT])),
                      shape=(6, 3))
    assert hb._greedy_cover(m, np.ones(6)) == [0, 1, 2]
    assert hb._drop_redundant(m, [0, 1, 2]) == [1, 2]
    assert hb._greedy_cover(m, np.ones(6), k=1) == [0]
    assert hb._greedy_cover(m, np.zeros(6)) == []  # nothing to gain
    assert cov.n_candidates == 3


def test_uncovered_localities_get_their_own_reason() -> None:
    """L0 and L1 within T of candidate L0, L2 only of candidate L2, L3 of none, L4 off the
    roads. maxcover with one hub takes L0 (200 people > 50)."""
    pop = [100.0, 100.0, 50.0, 70.0, 90.0]
    table = _table([(0, 0, 0.0), (1, 0, 4.0), (2, 1, 0.0)], [0, 2], 5, loc_ok=[True, True, True, True, False])
    loc = _localities(5, pop)
    sel = hb.HubProblem.from_table(table, loc).solve("maxcover", k=1, method="greedy")
    assert list(sel.hubs["hub_id"]) == ["L0"]
    assert sel.uncovered == {"L2": hb.REASON_NOT_COVERED, "L3": hb.REASON_NO_CANDIDATE, "L4": REASON_TOO_FAR}
    assert hb.REASON_NOT_COVERED == "not_covered_by_selected_hubs"
    assert hb.REASON_NO_CANDIDATE == "no_candidate_within_max_time"
    reasons = sel.covered_reason(loc)
    assert reasons.name == "covered_reason"
    assert reasons.tolist() == [None, None, "not_covered_by_selected_hubs", "no_candidate_within_max_time",
                                "too_far_from_road"]
    assert sel.objective == 200.0 and sel.population_covered == 200.0 and sel.n_covered == 2
    d = sel.as_dict()
    assert d["n_hubs"] == 1 and d["n_uncovered"] == 3 and d["uncovered"] == sel.uncovered and "hubs" not in d
    # a cover takes both candidates; only L3 and L4 stay out, each with its reason
    cover = hb.HubProblem.from_table(table, loc).solve("cover", method="greedy")
    assert sorted(cover.hubs["hub_id"]) == ["L0", "L2"]
    assert cover.uncovered == {"L3": hb.REASON_NO_CANDIDATE, "L4": REASON_TOO_FAR}


def test_pmedian_hand_worked() -> None:
    """Three localities, two candidates, T = 10, penalty 20: hub L0 costs 100x0 + 100x4 + 50x20
    (beyond T) = 1400; hub L2 costs 100x20 + 100x20 + 50x0 = 4000; one hub: L0."""
    table = _table([(0, 0, 0.0), (1, 0, 4.0), (2, 1, 0.0)], [0, 2], 3)
    problem = hb.HubProblem.from_table(table, _localities(3, [100.0, 100.0, 50.0]))
    for method in ("greedy", "exact"):
        sel = problem.solve("pmedian", k=1, method=method)
        assert list(sel.hubs["hub_id"]) == ["L0"], method
        assert sel.objective == pytest.approx(1400.0) and sel.penalty_min == 20.0
    both = problem.solve("pmedian", k=2, method="greedy")
    assert sorted(both.hubs["hub_id"]) == ["L0", "L2"] and both.objective == pytest.approx(400.0)
    assert both.solver_status == "all useful candidates selected"
    custom = problem.solve("pmedian", k=1, method="greedy", penalty_min=10.0)
    assert custom.objective == pytest.approx(100 * 4 + 50 * 10) and custom.penalty_min == 10.0
    with pytest.raises(ConfigError, match="p-median penalty 5 min must be at least the maximum time 10 min"):
        problem.solve("pmedian", k=1, penalty_min=5.0)


def test_solve_refusals() -> None:
    problem = hb.HubProblem.from_table(_table(REDUNDANT, [0, 4, 5], 6), _localities(6))
    with pytest.raises(ConfigError, match="unknown hub model 'median'; use one of cover, maxcover, pmedian"):
        problem.solve("median")
    with pytest.raises(ConfigError, match="unknown hub method 'fast'; use one of exact, greedy, auto"):
        problem.solve("cover", method="fast")
    with pytest.raises(ConfigError, match="model 'maxcover' needs the number of hubs k"):
        problem.solve("maxcover")
    for k in (0, 1.5, -2):
        with pytest.raises(ConfigError, match=f"must be a positive whole number, got {k!r}"):
            problem.solve("maxcover", k=k)
    with pytest.raises(ConfigError, match="number of hubs k=4 is larger than the 3 candidate hubs"):
        problem.solve("pmedian", k=4)
    assert problem.solve("maxcover", k=3).n_hubs == 3  # k equal to the candidates is allowed
    assert problem.solve("cover", k=7).n_hubs == 2  # k is ignored by cover
    with pytest.raises(ConfigError, match="the table was computed for 6 localities, not 5"):
        hb.HubProblem.from_table(_table(REDUNDANT, [0, 4, 5], 6), _localities(5))


def test_candidate_rules() -> None:
    loc = _localities(5, [10.0, 500.0, 499.0, np.nan, 501.0])
    loc["school"] = ["sí", "0", "", "yes", 1]
    assert hb.candidate_mask(loc).tolist() == [True] * 5
    # at least the minimum population: 500 itself is a candidate, NaN is not
    assert hb.candidate_mask(loc, min_population=500).tolist() == [False, True, False, False, True]
    assert hb.candidate_mask(loc, service_column="school").tolist() == [True, False, False, True, True]
    assert hb.candidate_mask(loc, ["L2", "L4"]).tolist() == [False, False, True, False, True]
    assert hb.candidate_mask(loc, np.array([True, False, False, False, True])).tolist() == [
        True, False, False, False, True]
    assert hb.candidate_mask(loc, ["L1", "L2"], min_population=500).tolist() == [False, True, False, False, False]
    with pytest.raises(ColumnError, match="candidate hub id\\(s\\) not found among the 5 localities: L9"):
        hb.candidate_mask(loc, ["L1", "L9"])
    with pytest.raises(ConfigError, match=r"no candidate hub passes the rule \(population >= 1000\) among 5"):
        hb.candidate_mask(loc, min_population=1000)
    with pytest.raises(ColumnError, match="candidate rule min_population needs a 'pop' column"):
        hb.candidate_mask(loc, min_population=1, population_col="pop")
    with pytest.raises(ColumnError, match="service column 'clinic' not found"):
        hb.candidate_mask(loc, service_column="clinic")


def test_max_time_and_weights() -> None:
    assert check_max_time("30") == 30.0 and check_max_time(0.5) == 0.5
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="maximum travel time must be a positive number of minutes"):
            check_max_time(bad)
    with pytest.raises(ConfigError, match="must be a number of minutes, got 'soon'"):
        check_max_time("soon")
    df = pd.DataFrame({"population": [5.0, np.nan, -3.0, "7"]})
    assert population_of(df).tolist() == [5.0, 0.0, 0.0, 7.0]
    assert population_of(df, "nope").tolist() == [1.0] * 4
    assert population_of(df, None).tolist() == [1.0] * 4
    # no population at all: every locality weighs one
    problem = hb.HubProblem.from_table(_table(REDUNDANT, [0, 4, 5], 6), _localities(6, [0.0] * 6))
    assert problem.weights.tolist() == [1.0] * 6


# ---------------------------------------------------------------------- a road chain with exact times
@pytest.fixture(scope="module")
def chain() -> RoadNetwork:
    return chain_network(5)


def test_chain_times_are_exact(chain: RoadNetwork) -> None:
    """Localities on the nodes: the time between Li and Lj is |i - j| minutes exactly."""
    table = hb.hub_travel_table(chain, _localities(5), 10.0)
    got = {(int(a), int(b)): t for a, b, t in zip(table.loc, table.cand_pos[table.cand], table.time_min, strict=True)}
    assert got == {(i, j): float(abs(i - j)) for i in range(5) for j in range(5)}


def test_hub_time_limit_is_inclusive(chain: RoadNetwork) -> None:
    """T = 1 min: a neighbour exactly 1 min away is within T, so 2 hubs (L1, L3) cover the 5
    localities; just under 1 min every locality only covers itself: 5 hubs."""
    loc = _localities(5)
    at = hb.select_hubs(chain, loc, 1.0, model="cover", method="greedy")
    assert sorted(at.hubs["hub_id"]) == ["L1", "L3"] and at.n_uncovered == 0
    table = hb.hub_travel_table(chain, loc, 1.0)
    assert len(table.loc) == 5 + 8  # itself, and each neighbour in each direction
    under = np.nextafter(1.0, 0.0)
    below = hb.select_hubs(chain, loc, under, model="cover", method="greedy")
    assert below.n_hubs == 5
    assert len(hb.hub_travel_table(chain, loc, under).loc) == 5


def test_hinterlands_and_summary_on_the_chain(chain: RoadNetwork) -> None:
    """Hubs L0 and L4 on the 5-node chain: L1 is 1 min from L0 and 3 from L4, L3 the reverse;
    L2 is 2 min from both (either hub is right; its time is 2)."""
    loc = _localities(5, [10.0, 20.0, 30.0, 40.0, 50.0])
    loc["area_class"] = ["MRA", "FRA", "FRA", "MRA", "FRA"]
    hubs = loc.iloc[[0, 4]].rename(columns={"place_id": "hub_id"})[["hub_id", "population", "geometry"]]
    out = hb.assign_hinterlands(chain, loc, hubs, max_time_min=1.0)
    assert out["hub_id"].tolist()[:2] == ["L0", "L0"] and out["hub_id"].tolist()[3:] == ["L4", "L4"]
    assert out["travel_time_hub_min"].tolist() == [0.0, 1.0, 2.0, 1.0, 0.0]
    assert out["within_max_time"].tolist() == [True, True, False, True, True]
    assert out["hub_reason"].isna().all()
    fixed = out.assign(hub_id=["L0", "L0", "L0", "L4", "L4"])
    s = hb.summarize_hubs(fixed, hubs).set_index("hub_id")
    assert s.loc["L0", "population_total"] == 60.0 and s.loc["L4", "population_total"] == 90.0
    assert s.loc["L0", "hub_population"] == 10.0 and s.loc["L0", "hinterland_population"] == 50.0
    assert s.loc["L0", "n_localities"] == 3 and s.loc["L4", "n_localities"] == 2
    assert s.loc["L0", "median_time_hub_min"] == 1.0 and s.loc["L0", "max_time_hub_min"] == 2.0
    assert s.loc["L0", "mra_population_share"] == pytest.approx(10.0 / 60.0)
    assert s.loc["L4", "mra_population_share"] == pytest.approx(40.0 / 90.0)
    with pytest.raises(ColumnError, match="column 'hub_id' not found; run assign_hinterlands first"):
        hb.summarize_hubs(loc)


def test_hinterland_reasons_off_road_and_disconnected(chain: RoadNetwork) -> None:
    loc = _localities(3)
    far = gpd.GeoDataFrame({"place_id": ["far"], "population": [5.0]},
                           geometry=gpd.points_from_xy([LON0 + 0.01], [LAT0 + 0.5]), crs=4326)
    both = pd.concat([loc, far], ignore_index=True)
    hubs = loc.iloc[[0]].rename(columns={"place_id": "hub_id"})
    out = hb.assign_hinterlands(chain, both, hubs)
    assert out["hub_reason"].iloc[:3].isna().all()
    assert out["hub_reason"].iloc[3] == REASON_TOO_FAR and pd.isna(out["hub_id"].iloc[3])
    assert np.isnan(out["travel_time_hub_min"].iloc[3])
    assert "within_max_time" not in out  # no maximum time given or carried by the hubs
    assert REASON_DISCONNECTED == "disconnected"
    with pytest.raises(ConfigError, match="no hubs to assign localities to"):
        hb.assign_hinterlands(chain, loc, hubs.iloc[:0])
    with pytest.raises(RoutingError, match="none of the 1 hubs is within"):
        hb.assign_hinterlands(chain, loc, far.rename(columns={"place_id": "hub_id"}))


def test_hinterland_polygons_of_a_square_grid() -> None:
    """SYNTHETIC 3 x 3 grid of localities 1 km apart in UTM 22S (the UTM zone chosen for them),
    one hub per column, study area the 3 x 3 km square around them: the Voronoi cells are 1 km
    squares, so each hinterland is a 1 x 3 km strip of 3 km2."""
    import shapely

    x0, y0 = 500_000.0, 6_650_000.0
    xs, ys = np.meshgrid([0.0, 1000.0, 2000.0], [0.0, 1000.0, 2000.0])
    pts = gpd.GeoDataFrame({"place_id": [f"P{i}" for i in range(9)],
                            "population": np.arange(1.0, 10.0),
                            "hub_id": np.array(["A", "B", "C"])[np.round(xs.ravel() / 1000).astype(int)]},
                           geometry=gpd.points_from_xy(x0 + xs.ravel(), y0 + ys.ravel()), crs=32722)
    area = gpd.GeoSeries([shapely.box(x0 - 500, y0 - 500, x0 + 2500, y0 + 2500)], crs=32722)
    polys = hb.hinterland_polygons(pts, study_area=area).set_index("hub_id")
    assert list(polys.index) == ["A", "B", "C"]
    assert polys["n_localities"].tolist() == [3, 3, 3]
    assert polys["population"].tolist() == [1 + 4 + 7, 2 + 5 + 8, 3 + 6 + 9]
    assert polys["area_km2"].tolist() == pytest.approx([3.0, 3.0, 3.0], rel=1e-9)
    assert polys.crs.to_epsg() == 4326
    strip = polys.to_crs(32722).geometry["B"]
    assert strip.bounds == pytest.approx((x0 + 500, y0 - 500, x0 + 1500, y0 + 2500), abs=1e-3)
    # a locality without a hub is left out; its cell is not drawn
    partial = pts.assign(hub_id=pts["hub_id"].where(pts.index != 4, None))
    p2 = hb.hinterland_polygons(partial, study_area=area).set_index("hub_id")
    assert p2.loc["B", "n_localities"] == 2 and p2.loc["B", "area_km2"] == pytest.approx(2.0, rel=1e-9)
    with pytest.raises(ColumnError, match="column 'hub_id' not found; run the assignment first"):
        hb.hinterland_polygons(pts.drop(columns="hub_id"))
    # without a study area: the hull of the points buffered by their spacing (1 km)
    free = hb.hinterland_polygons(pts).to_crs(32722)
    hull = shapely.box(x0, y0, x0 + 2000, y0 + 2000).buffer(1000.0)
    assert free.union_all().area == pytest.approx(hull.area, rel=1e-3)


def test_auto_method_by_matrix_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """The REDUNDANT table has 6 localities x 3 candidates = 18 cells: exact under a limit of 18,
    greedy over it; exact asked for beyond 4 x the limit is refused."""
    problem = hb.HubProblem.from_table(_table(REDUNDANT, [0, 4, 5], 6), _localities(6))
    monkeypatch.setattr(hb, "EXACT_MAX_CELLS", {"cover": 18, "maxcover": 17, "pmedian": 5})
    sel = problem.solve("cover")
    assert (sel.method, sel.requested_method, sel.matrix_cells) == ("exact", "auto", 18)
    assert sel.optimal and sel.solver_status == "Optimal"
    assert problem.solve("maxcover", k=1).method == "greedy"  # 18 > 17
    assert problem.solve("pmedian", k=1, method="exact").method == "exact"  # 18 <= 4 x 5
    with pytest.raises(ConfigError, match=r"exact pmedian on 6 localities x 3 candidates \(18 cells\) is too large "
                                          r"\(limit 16\); use method greedy or auto"):
        monkeypatch.setattr(hb, "EXACT_MAX_CELLS", {"cover": 18, "maxcover": 17, "pmedian": 4})
        problem.solve("pmedian", k=1, method="exact")
    greedy = problem.solve("pmedian", k=1, method="greedy")
    assert greedy.solver_status == "greedy add + interchange" and not greedy.optimal


def test_select_hubs_with_a_given_table() -> None:
    table = _table(REDUNDANT, [0, 4, 5], 6)
    loc = _localities(6)
    sel = hb.select_hubs(None, loc, 10.0, table=table, method="greedy")
    assert sorted(sel.hubs["hub_id"]) == ["L4", "L5"] and sel.max_time_min == 10.0
    with pytest.raises(ConfigError, match="the given table was computed for 10 min, not 5 min"):
        hb.select_hubs(None, loc, 5.0, table=table)
    with pytest.raises(RoutingError, match="select_hubs needs a network or a precomputed table"):
        hb.select_hubs(None, loc, 10.0)
    with pytest.raises(ConfigError, match="number of hubs k=4 is larger than the 3 candidate hubs"):
        hb.select_hubs(None, loc, 10.0, model="maxcover", k=4, table=table)
    with pytest.raises(RoutingError, match="no localities to choose hubs for"):
        hb.select_hubs(None, loc.iloc[:0], 10.0, table=table)


def test_hubs_that_are_not_localities(chain: RoadNetwork) -> None:
    """A hub given as its own point (id 'H', on node 3) is snapped on its own; a hub that is a
    locality (same id and place) routes from the locality's snapped point."""
    loc = _localities(5)
    hubs = gpd.GeoDataFrame({"hub_id": ["H", "L0"]}, geometry=gpd.points_from_xy([LON0 + 0.03, LON0], [LAT0, LAT0]),
                            crs=4326)
    out = hb.assign_hinterlands(chain, loc, hubs)
    assert out["hub_id"].tolist() == ["L0", "L0", "H", "H", "H"]
    assert out["travel_time_hub_min"].tolist() == [0.0, 1.0, 1.0, 0.0, 1.0]


def _random_table(seed: int, n: int = 12, m: int = 6, t: float = 10.0) -> tuple[hb.HubTable, np.ndarray]:
    """SYNTHETIC table: each (locality, candidate) pair within T with probability 0.45, time
    uniform in [0, T]; candidates are localities 0..m-1 and reach themselves in 0 min."""
    rng = np.random.default_rng(seed)
    pairs = [(i, j, 0.0 if i == j else float(rng.uniform(0, t))) for i in range(n) for j in range(m)
             if i == j or rng.random() < 0.45]
    w = rng.integers(1, 100, n).astype(float)
    return _table(pairs, list(range(m)), n, t), w


def _pmedian_cost(table: hb.HubTable, w: np.ndarray, hubs: list[int], penalty: float) -> float:
    """Brute force: each locality pays its weight times the time to its nearest hub, the
    penalty when none is within T."""
    best = np.full(table.n_localities, penalty)
    for i, j, tm in zip(table.loc, table.cand, table.time_min, strict=True):
        if j in hubs:
            best[i] = min(best[i], tm)
    return float((w * best).sum())


@pytest.mark.parametrize("seed", range(6))
def test_pmedian_greedy_against_brute_force(seed: int) -> None:
    """k = 1: greedy add is exact (the best single hub). k = 2 and 3: the reported objective is
    the brute-force cost of the hubs chosen, and the interchange stops at a local optimum: no
    single swap of a hub for another candidate lowers the cost."""
    table, w = _random_table(seed)
    loc = _localities(table.n_localities, list(w))
    problem = hb.HubProblem.from_table(table, loc)
    penalty = 20.0
    coverable = np.zeros(table.n_localities, bool)
    coverable[table.loc] = True
    ids = {f"L{j}": j for j in range(table.n_candidates)}
    one = problem.solve("pmedian", k=1, method="greedy")
    costs = {j: _pmedian_cost(table, w * coverable, [j], penalty) for j in range(table.n_candidates)}
    assert ids[one.hubs["hub_id"].iloc[0]] == min(costs, key=costs.get)
    assert one.objective == pytest.approx(min(costs.values()))
    for k in (2, 3):
        sel = problem.solve("pmedian", k=k, method="greedy")
        hubs = [ids[h] for h in sel.hubs["hub_id"]]
        cost = _pmedian_cost(table, w * coverable, hubs, penalty)
        assert sel.objective == pytest.approx(cost)
        for out_ in hubs:
            for in_ in set(range(table.n_candidates)) - set(hubs):
                swapped = [in_ if h == out_ else h for h in hubs]
                assert _pmedian_cost(table, w * coverable, swapped, penalty) >= cost - 1e-6
        best = min(_pmedian_cost(table, w * coverable, list(c), penalty)
                   for c in itertools.combinations(range(table.n_candidates), k))
        assert cost >= best - 1e-9


@pytest.mark.parametrize("seed", range(4))
def test_maxcover_greedy_against_brute_force(seed: int) -> None:
    """Greedy maximal cover: the first hub covers the most population (brute force), and the
    reported objective is the population within T of the hubs chosen."""
    table, w = _random_table(seed)
    loc = _localities(table.n_localities, list(w))
    problem = hb.HubProblem.from_table(table, loc)
    cover_of = {j: set(table.loc[table.cand == j].tolist()) for j in range(table.n_candidates)}
    sel1 = problem.solve("maxcover", k=1, method="greedy")
    best1 = max(range(table.n_candidates), key=lambda j: (w[list(cover_of[j])].sum(), -j))
    assert sel1.hubs["hub_id"].iloc[0] == f"L{best1}"
    sel2 = problem.solve("maxcover", k=2, method="greedy")
    chosen = [int(h[1:]) for h in sel2.hubs["hub_id"]]
    covered = set().union(*(cover_of[j] for j in chosen))
    assert sel2.objective == pytest.approx(w[list(covered)].sum())
    assert chosen[0] == best1  # greedy keeps its first pick


def test_drop_redundant_counts_each_drop() -> None:
    """Three hubs all covering locality 0 only: the last two picked are dropped one after the
    other (each drop lowers the count of hubs covering it), the first stays."""
    import scipy.sparse as sp

    cov = sp.csr_matrix(np.array([[True, True, True], [False, False, False]]))
    assert hb._drop_redundant(cov, [0, 1, 2]) == [0]
    assert hb._drop_redundant(cov, [2, 0]) == [2]


def test_service_column_words() -> None:
    loc = _localities(8)
    loc["posto"] = ["sim", "si", "Sí", "TRUE", " yes ", "t", "n\u00e3o", "0.0"]
    assert hb.candidate_mask(loc, service_column="posto").tolist() == [True] * 6 + [False, False]
    with pytest.raises(ConfigError, match=r"no candidate hub passes the rule \(2 given ids; population >= 500\)"):
        hb.candidate_mask(loc, ["L1", "L2"], min_population=500)
    with pytest.raises(ColumnError, match="service column 'clinic' not found; columns: place_id, name, population, "
                                          "geometry, posto"):
        hb.candidate_mask(loc, service_column="clinic")


def _cost_of(loc: np.ndarray, cand: np.ndarray, t: np.ndarray, w: np.ndarray, hubs: list[int],
             penalty: float) -> float:
    """Brute force p-median cost: each locality pays its weight times its time to the nearest
    hub (at most the penalty), the penalty when no hub reaches it."""
    best = np.full(len(w), penalty)
    for i, j, tm in zip(loc, cand, t, strict=True):
        if j in hubs:
            best[i] = min(best[i], tm)
    return float((w * best).sum())


def _reference_pmedian(loc: np.ndarray, cand: np.ndarray, t: np.ndarray, w: np.ndarray, m: int, k: int,
                       penalty: float) -> tuple[list[int], list[int]]:
    """Greedy add (each step the candidate lowering the cost most, lowest index on ties), then
    steepest-descent interchange (the swap lowering the cost most, candidates in index order,
    hub positions in order), each step by brute-force cost evaluation. Returns (after add,
    after interchange)."""
    added: list[int] = []
    while len(added) < min(k, m):
        costs = {j: _cost_of(loc, cand, t, w, added + [j], penalty) for j in range(m) if j not in added}
        added.append(min(costs, key=lambda j: (costs[j], j)))
    sel = list(added)
    if len(sel) >= m:
        return added, sel
    for _ in range(200):
        current = _cost_of(loc, cand, t, w, sel, penalty)
        best, move = current, None
        for j in range(m):
            if j in sel:
                continue
            for r in range(len(sel)):
                c = _cost_of(loc, cand, t, w, sel[:r] + [j] + sel[r + 1:], penalty)
                if c < best - 1e-9:
                    best, move = c, (j, r)
        if move is None or not best < current - 1e-9 * max(current, 1.0):
            break
        sel[move[1]] = move[0]
    return added, sel


def test_greedy_pmedian_steps_against_a_brute_force_reference() -> None:
    """SYNTHETIC random tables (times and weights continuous, so no ties): the greedy add picks
    the same hubs in the same order as a brute-force greedy add, and the interchange ends on the
    same hubs as a brute-force steepest descent from there (times beyond the penalty are capped
    at it). In these tables the descent moves hubs for 4 of the (seed, k) cases."""
    swaps = 0
    for seed in range(8):
        rng = np.random.default_rng(100 + seed)
        n, m, penalty = 15, 7, 12.0
        pairs = [(i, j) for i in range(n) for j in range(m) if rng.random() < 0.4]
        loc = np.array([p[0] for p in pairs], dtype=np.int64)
        cand = np.array([p[1] for p in pairs], dtype=np.int64)
        t = rng.uniform(0.0, 14.0, len(pairs))
        w = rng.uniform(1.0, 50.0, n)
        for k in (1, 2, 3, 4):
            added, expected = _reference_pmedian(loc, cand, np.minimum(t, penalty), w, m, k, penalty)
            got_add, ran = hb._greedy_pmedian(loc, cand, t, w, m, k, penalty, interchange=False)
            assert got_add == added and ran is False, (seed, k)
            got, ran = hb._greedy_pmedian(loc, cand, t, w, m, k, penalty)
            assert sorted(got) == sorted(expected) and ran is True, (seed, k)
            swaps += sorted(added) != sorted(expected)
        # every candidate a hub: nothing to swap, the interchange does not run
        every, ran = hb._greedy_pmedian(loc, cand, t, w, m, m, penalty)
        assert sorted(every) == list(range(m)) and ran is False
    assert swaps == 4  # the reference moved hubs in 4 cases: the comparison exercised the swaps


def test_greedy_pmedian_interchange_moves_a_hub() -> None:
    """SYNTHETIC: four localities of weight 1; candidate 0 reaches all of them in 3 min,
    candidate 1 reaches localities 0 and 1 in 0 min, candidate 2 localities 2 and 3 in 0 min;
    penalty 10. One hub: 0 costs 12, 1 and 2 cost 20 each -> [0]. Two hubs, greedy add: after 0,
    adding 1 or 2 costs 6 each (tie: lowest index) -> [0, 1]. Interchange: swapping 0 for 2
    costs 0 -> hub position 0 becomes 2: [2, 1]."""
    loc = np.array([0, 1, 2, 3, 0, 1, 2, 3], dtype=np.int64)
    cand = np.array([0, 0, 0, 0, 1, 1, 2, 2], dtype=np.int64)
    t = np.array([3.0, 3.0, 3.0, 3.0, 0.0, 0.0, 0.0, 0.0])
    w = np.ones(4)
    assert hb._greedy_pmedian(loc, cand, t, w, 3, 1, 10.0, interchange=False) == ([0], False)
    assert hb._greedy_pmedian(loc, cand, t, w, 3, 2, 10.0, interchange=False) == ([0, 1], False)
    assert hb._greedy_pmedian(loc, cand, t, w, 3, 2, 10.0) == ([2, 1], True)
    # one hub: the interchange finds 0 already best (12 < 20)
    assert hb._greedy_pmedian(loc, cand, t, w, 3, 1, 10.0) == ([0], True)


def test_greedy_pmedian_candidate_reaching_nobody() -> None:
    """SYNTHETIC: candidate 3 of 4 reaches no locality. Asked for 4 hubs, greedy add still
    returns 4 (the last with no gain), in the order 0, 1, 2, 3 of the hand-worked gains."""
    loc = np.array([0, 1, 2, 3, 0, 1, 2, 3], dtype=np.int64)
    cand = np.array([0, 0, 0, 0, 1, 1, 2, 2], dtype=np.int64)
    t = np.array([3.0, 3.0, 3.0, 3.0, 0.0, 0.0, 0.0, 0.0])
    assert hb._greedy_pmedian(loc, cand, t, np.ones(4), 4, 4, 10.0, interchange=False) == ([0, 1, 2, 3], False)


def test_greedy_cover_marks_rows_covered() -> None:
    """SYNTHETIC: A covers rows 0-2, B rows 2-4, C rows 2 and 5. Gains 3, 3, 2: A first (lowest
    index), then B (rows 3, 4 new: 2), then C (row 5 new: 1; row 2 is already covered)."""
    import scipy.sparse as sp

    dense = np.zeros((6, 3), bool)
    dense[[0, 1, 2], 0] = True
    dense[[2, 3, 4], 1] = True
    dense[[2, 5], 2] = True
    assert hb._greedy_cover(sp.csr_matrix(dense), np.ones(6)) == [0, 1, 2]


def test_table_coverage_and_frame() -> None:
    table = _table(REDUNDANT, [0, 4, 5], 6)
    cov = table.coverage()
    assert cov.shape == (6, 3) and cov.dtype == bool
    assert cov.toarray()[:, 0].tolist() == [True, True, True, True, False, False]
    # a table whose last locality and candidate occur in no pair keeps the full shape
    small = _table([(0, 0, 1.0)], [0, 1], 3)
    assert small.coverage().shape == (3, 2)
    frame = table.to_frame()
    assert list(frame.columns) == ["locality_id", "candidate_id", "travel_time_min"]
    assert frame.iloc[4].tolist() == ["L0", "L4", 5.0]


def test_exact_maxcover_and_hub_frame_columns() -> None:
    """REDUNDANT with populations 10..60 and k = 1: A (candidate L0) covers 10+20+30+40 = 100
    people, B (L4) 10+20+50 = 80, C (L5) 30+40+60 = 130 -> L5. Exact hubs are ranked by covered population: cover {B, C} with populations 10+20+50
    and 30+40+60 ranks C (L5, 130) before B (L4, 80)."""
    loc = _localities(6, [10.0, 20.0, 30.0, 40.0, 50.0, 60.0])
    problem = hb.HubProblem.from_table(_table(REDUNDANT, [0, 4, 5], 6), loc)
    for method in ("exact", "greedy"):
        sel = problem.solve("maxcover", k=1, method=method)
        assert list(sel.hubs["hub_id"]) == ["L5"] and sel.objective == 130.0
        assert sel.optimal is (method == "exact") and sel.hubs["optimal"].tolist() == [method == "exact"]
        assert sel.hubs["k"].tolist() == [1]
    exact = problem.solve("cover", method="exact")
    assert exact.hubs["hub_id"].tolist() == ["L5", "L4"] and exact.hubs["selection_rank"].tolist() == [1, 2]
    assert exact.hubs["population_within_max_time"].tolist() == [130.0, 80.0]
    assert exact.hubs["k"].isna().all()  # cover chooses the number itself
    assert problem.solve().model == "cover"  # the default model


def test_problem_constructors() -> None:
    table = _table(REDUNDANT, [0, 4, 5], 6)
    loc = _localities(6, [0.0] * 6).assign(pop=[1.0, 1.0, 1.0, 1.0, 1.0, 9.0])
    assert hb.HubProblem.from_table(table, loc, population_col="pop").weights.tolist() == [1, 1, 1, 1, 1, 9]
    with pytest.raises(RoutingError, match="^no localities to choose hubs for$"):
        hb.HubProblem(table, loc.iloc[:0])
    chain = chain_network(3)
    one = hb.HubProblem.from_network(chain, _localities(1), max_time_min=5.0)
    assert one.solve("cover").hubs["hub_id"].tolist() == ["L0"]
    with pytest.raises(RoutingError, match="^no localities to choose hubs for$"):
        hb.HubProblem.from_network(chain, _localities(1).iloc[:0], max_time_min=5.0)
    with pytest.raises(RoutingError, match="^no localities to choose hubs for$"):
        hb.hub_travel_table(chain, _localities(1).iloc[:0], 5.0)


def test_hub_table_times_run_from_the_locality_to_the_candidate() -> None:
    """SYNTHETIC chain, 1 min eastwards and 2 min westwards per edge: L0 reaches candidate L2
    in 2 min, L2 reaches candidate L0 in 4 min (the table holds locality -> candidate times)."""
    net = chain_network(3, edge_s=60.0, back_s=120.0)
    table = hb.hub_travel_table(net, _localities(3), 10.0)
    got = {(int(a), int(b)): t for a, b, t in zip(table.loc, table.cand_pos[table.cand], table.time_min, strict=True)}
    assert got[(0, 2)] == 2.0 and got[(2, 0)] == 4.0 and got[(1, 0)] == 2.0 and got[(0, 1)] == 1.0
    assert table.loc_ok.dtype == bool and table.loc_ok.all()


def test_select_hubs_passes_its_options_on() -> None:
    """The candidate rule reaches the table (only L1 and L3 have 500 people: with T = 1 min they
    cover the chain's 5 localities); a missing k names the model; a custom p-median penalty is
    used (hub L0 of the REDUNDANT table: L4 and L5 beyond T cost 15 each -> 0 + 3 x 5 + 2 x 15)."""
    chain = chain_network(5)
    loc = _localities(5, [10.0, 500.0, 10.0, 500.0, 10.0])
    sel = hb.select_hubs(chain, loc, 1.0, min_population=500, method="greedy")
    assert sorted(sel.hubs["hub_id"]) == ["L1", "L3"] and sel.n_candidates == 2
    only = hb.select_hubs(chain, loc, 1.0, candidates=["L0"], method="greedy")
    assert only.hubs["hub_id"].tolist() == ["L0"] and only.n_uncovered == 3
    table = _table(REDUNDANT, [0, 4, 5], 6)
    with pytest.raises(ConfigError, match="model 'maxcover' needs the number of hubs k"):
        hb.select_hubs(None, _localities(6), 10.0, model="maxcover", table=table)
    pm = hb.select_hubs(None, _localities(6, [1.0] * 6), 10.0, model="pmedian", k=1, method="greedy",
                        penalty_min=15.0, table=table)
    assert pm.hubs["hub_id"].tolist() == ["L0"] and pm.objective == pytest.approx(0 + 3 * 5 + 2 * 15)
    assert pm.penalty_min == 15.0


def test_hinterlands_take_the_time_limit_of_the_hubs() -> None:
    chain = chain_network(5)
    loc = _localities(5)
    hubs = loc.iloc[[0]].rename(columns={"place_id": "hub_id"}).assign(max_time_min=2.0)
    out = hb.assign_hinterlands(chain, loc, hubs)
    assert out["within_max_time"].tolist() == [True, True, True, False, False]


def test_summary_of_hubs_not_among_the_localities() -> None:
    """A hub 'H' that is not a locality takes its population from the hubs frame (999); a hub
    'Z' no locality joined is listed with 0 localities and 0 people."""
    loc = _localities(3, [10.0, 20.0, 30.0]).assign(hub_id=["H", "H", "H"], travel_time_hub_min=[1.0, 0.5, 2.0])
    hubs = gpd.GeoDataFrame({"hub_id": ["H", "Z"], "population": [999.0, 5.0]},
                            geometry=gpd.points_from_xy([LON0, LON0], [LAT0, LAT0]), crs=4326)
    s = hb.summarize_hubs(loc, hubs).set_index("hub_id")
    assert s.loc["H", "hub_population"] == 999.0 and s.loc["H", "population_total"] == 60.0
    assert s.loc["H", "hinterland_population"] == 60.0
    assert s.loc["Z", "n_localities"] == 0 and s.loc["Z", "population_total"] == 0.0


def test_locality_rows_and_study_areas() -> None:
    from territorial_gis._zones import locality_rows, study_area_metric

    loc = _localities(3)
    pts = gpd.GeoDataFrame({"hub_id": ["L1", "X", "L2"]},
                           geometry=gpd.points_from_xy([LON0 + 0.01, LON0, LON0 + 0.05], [LAT0] * 3), crs=4326)
    # L1 on its locality; X not a locality; L2 is an id of one but 3 km away from it
    assert locality_rows(loc, pts, pts["hub_id"].to_numpy()).tolist() == [1, -1, -1]
    # two points 1 km apart, no study area: the segment buffered by 1 km (a stadium)
    two = np.array([[0.0, 0.0], [1000.0, 0.0]])
    area = study_area_metric(two, None, 32722)
    assert area.area == pytest.approx(2 * 1000 * 1000 + np.pi * 1000**2, rel=1e-3)
    # a shapely polygon in lon/lat, projected
    import shapely

    box = shapely.box(-51.0, -30.0, -50.99, -29.99)
    got = study_area_metric(two, box, 32722)
    assert got.area == pytest.approx(965.0 * 1111.0, rel=0.01)


def test_zone_cells_follow_their_points() -> None:
    """SYNTHETIC irregular points (GEOS returns their Voronoi cells in another order unless
    asked): each locality's own hub polygon contains it, on the direct path and on the fallback
    that matches cells to points (shapely without ``ordered``)."""
    import shapely

    from territorial_gis import _zones

    x0, y0 = 500_000.0, 6_650_000.0
    off = np.array([[0, 0], [0, 1000], [1000, 0], [1000, 1000], [2000, 500], [500, 2000]], float)
    pts = gpd.GeoDataFrame({"hub_id": [f"H{i}" for i in range(6)], "population": 1.0},
                           geometry=gpd.points_from_xy(x0 + off[:, 0], y0 + off[:, 1]), crs=32722)
    area = gpd.GeoSeries([shapely.box(x0 - 500, y0 - 500, x0 + 2500, y0 + 2500)], crs=32722)

    def check() -> None:
        polys = hb.hinterland_polygons(pts, study_area=area).set_index("hub_id").to_crs(32722)
        for hid, geom in zip(pts["hub_id"], pts.geometry, strict=True):
            assert polys.geometry[hid].contains(geom), hid
        assert polys.geometry.area.sum() == pytest.approx(3000.0**2, rel=1e-9)

    check()
    real = shapely.voronoi_polygons

    def old_shapely(*args: object, **kwargs: object) -> object:
        if "ordered" in kwargs:
            raise TypeError("voronoi_polygons() got an unexpected keyword argument 'ordered'")
        return real(*args, **kwargs)

    mp = pytest.MonkeyPatch()
    mp.setattr(shapely, "voronoi_polygons", old_shapely)
    try:
        check()
    finally:
        mp.undo()
    assert _zones is not None
    with pytest.raises(ColumnError, match="^localities have no CRS; set one"):
        hb.hinterland_polygons(pts.set_crs(None, allow_override=True))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(3, 60), st.integers(1, 6))
def test_zone_polygons_equal_a_dissolve_of_the_clipped_cells(seed: int, n: int, n_zones: int) -> None:
    """SYNTHETIC random points in UTM 14N with random zone labels: each zone is the union of its
    points' Voronoi cells clipped to the study area, computed here the plain way (clip every
    cell, then geopandas' dissolve)."""
    import shapely

    from territorial_gis._zones import zone_polygons

    rng = np.random.default_rng(seed)
    xy = np.round(rng.uniform(0, 20_000, size=(n, 2)), 0) + [400_000.0, 2_100_000.0]
    zone = rng.integers(0, n_zones, n).astype(str)
    pts = gpd.GeoDataFrame({"z": zone, "population": rng.integers(1, 100, n).astype(float)},
                           geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=32614)
    area = shapely.Point(410_000, 2_110_000).buffer(9_000)
    got = zone_polygons(pts, by="z", study_area=gpd.GeoSeries([area], crs=32614)).to_crs(32614).set_index("z")
    uniq, first = np.unique(xy, axis=0, return_index=True)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(uniq), extend_to=area))
    tree = shapely.STRtree(cells)
    pi, ci = tree.query(shapely.points(uniq), predicate="intersects")
    _, f = np.unique(pi, return_index=True)
    ref = gpd.GeoDataFrame({"z": zone[first]}, geometry=shapely.intersection(cells[ci[f]], area), crs=32614)
    ref = ref.dissolve(by="z")
    assert sorted(got.index) == sorted(ref.index)
    for z in ref.index:
        a, b = got.geometry[z], ref.geometry[z]
        assert a.symmetric_difference(b).area <= 1e-6 * max(b.area, 1.0), z
