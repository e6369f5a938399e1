"""Re-classification of AREAS after travel times change (territorial_gis._reclass.AreaReclassifier).

SYNTHETIC hand-made squares and points (not real places) near 4 N, 74 W. The expected classes come
from :func:`territorial_gis.classify.classify_areas` run from scratch on the polygons with the
changed locality times (the study's own path: aggregation by spatial join, then the rules), never
from the re-classifier's incremental sums.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territorial_gis._reclass import (
    WHY_NO_AREA,
    WHY_TIMES_DIFFER,
    AreaReclassifier,
    build_reclassifier,
    shifted_minutes,
)
from territorial_gis.classify import classify_areas, rules_from_dict

TIERS = ("market", "city")
RULES = rules_from_dict({"access": {"max_hours": {"market": 1.0, "city": 2.0}}})


def squares(n: int = 3) -> gpd.GeoDataFrame:
    """SYNTHETIC: ``n`` squares of 0.1 degree side in a row."""
    return gpd.GeoDataFrame({"area_id": [f"a{i}" for i in range(n)]},
                            geometry=[shapely.box(-74 + 0.1 * i, 4.0, -74 + 0.1 * (i + 1), 4.1) for i in range(n)],
                            crs=4326)


def localities(area: list[int], market: list[float], city: list[float], pop: list[float]) -> gpd.GeoDataFrame:
    """SYNTHETIC points inside the squares of ``area`` (-1: outside every square)."""
    k = np.arange(len(area))
    x = np.where(np.asarray(area) >= 0, -74 + 0.1 * np.asarray(area) + 0.01 + 0.008 * (k % 10), -75.0)
    y = 4.01 + 0.008 * (k % 10)
    return gpd.GeoDataFrame({"population": pop, "travel_time_market_min": market, "travel_time_city_min": city},
                            geometry=gpd.points_from_xy(x, y), crs=4326)


def classify_from_scratch(loc: gpd.GeoDataFrame, n: int = 3) -> np.ndarray:
    return classify_areas(squares(n), RULES, localities=loc).areas["area_class"].to_numpy()


def base_case() -> gpd.GeoDataFrame:
    # a0: weighted mean market time 47.5 min (FRA, close to 60); a1: one unreachable locality holding
    # 20 % of the weight; a2: population unknown for one locality (weighs as the others' mean)
    return localities([0, 0, 0, 1, 1, 1, 2, 2],
                      [30.0, 70.0, 60.0, 20.0, np.nan, 50.0, 80.0, 40.0],
                      [60.0, 100.0, 90.0, 50.0, 200.0, 80.0, 110.0, 70.0],
                      [100.0, 50.0, 50.0, 200.0, 100.0, 200.0, np.nan, 300.0])


def build(loc: gpd.GeoDataFrame, n: int = 3) -> AreaReclassifier:
    areas = classify_areas(squares(n), RULES, localities=loc).areas
    out = build_reclassifier(loc, {t: loc[f"travel_time_{t}_min"].to_numpy() for t in TIERS}, RULES, areas=areas)
    assert isinstance(out, AreaReclassifier)
    return out


def test_unchanged_times_give_back_every_area_synthetic() -> None:
    loc = base_case()
    rc = build(loc)
    assert rc.known.all() and "unknown" not in str(rc.note) and (rc.area_why == "").all()
    base = {t: loc[f"travel_time_{t}_min"].to_numpy() for t in TIERS}
    mv = rc.class_moves(np.arange(len(loc)), base, base=base, group=np.zeros(len(loc), dtype=np.int64))
    assert len(mv.locality) == 0
    # the re-aggregation is the study's, number for number (not just the same class)
    areas = classify_areas(squares(), RULES, localities=loc).areas
    before, _after = rc._pair_times(np.arange(len(loc)), rc.area_of, np.arange(3), base, base)
    for t in TIERS:
        np.testing.assert_array_equal(before[t][0], areas[f"travel_time_{t}_min"].to_numpy())
        np.testing.assert_array_equal(before[t][1], areas[f"unreachable_share_{t}"].to_numpy())


def test_slowing_some_localities_moves_the_whole_area_synthetic() -> None:
    """a0 is FRA at a weighted 47.5 min to the market; 30 more minutes for its first locality (half
    the weight) make it 62.5 min: the area, and all three of its localities, become MRA."""
    loc = base_case()
    rc = build(loc)
    assert rc.base_class[:3].tolist() == ["FRA"] * 3
    base = {t: np.array([loc[f"travel_time_{t}_min"].iloc[0]]) for t in TIERS}
    new = {"market": base["market"] + 30.0, "city": base["city"]}
    mv = rc.class_moves(np.array([0]), new, base=base, group=np.array([7]))
    slowed = loc.copy()
    slowed.loc[0, "travel_time_market_min"] += 30.0
    assert (100 * 60 + 50 * 70 + 50 * 60) / 200 == 62.5 and classify_from_scratch(slowed)[0] == "MRA"
    assert sorted(mv.locality.tolist()) == [0, 1, 2] and set(mv.group) == {7}
    assert set(mv.before) == {"FRA"} and set(mv.after) == {"MRA"} and not mv.unknown.any()


def test_cut_off_and_outside_and_tampered_area_synthetic() -> None:
    loc = base_case()
    loc.loc[len(loc)] = [10.0, 5.0, 5.0, shapely.Point(-75.5, 4.05)]  # outside every square
    areas = classify_areas(squares(), RULES, localities=loc).areas
    areas.loc[2, "travel_time_city_min"] += 1.0  # not what its localities give
    rc = build_reclassifier(loc, {t: loc[f"travel_time_{t}_min"].to_numpy() for t in TIERS}, RULES, areas=areas)
    assert isinstance(rc, AreaReclassifier)
    assert rc.why[8] == WHY_NO_AREA and rc.why[6] == WHY_TIMES_DIFFER.format(col="travel_time_city_min")
    assert rc.known[:6].all() and "class changes unknown in 1 of 3 areas" in str(rc.note)
    # a1 (FRA) loses its locality 5: 40 % of the weight unreachable -> mean of the rest (20 min), still FRA;
    # losing 3 too leaves 20 % reachable -> unreachable -> MRA, as from scratch
    rows = np.array([3, 5, 6, 8])
    base = {t: loc[f"travel_time_{t}_min"].to_numpy()[rows] for t in TIERS}
    new = {t: np.where(np.isin(rows, [3, 5]), np.nan, base[t]) for t in TIERS}
    new["market"] = np.where(rows == 6, base["market"] + 5.0, new["market"])
    mv = rc.class_moves(rows, new, base=base, group=np.zeros(4, dtype=np.int64))
    cut = loc.copy()
    cut.loc[[3, 5], ["travel_time_market_min", "travel_time_city_min"]] = np.nan
    assert classify_from_scratch(cut)[1] == "MRA"
    got = {int(k): (b, a, u, w) for k, b, a, u, w in zip(mv.locality, mv.before, mv.after, mv.unknown, mv.why, strict=True)}
    assert {k for k, v in got.items() if not v[2]} == {3, 4, 5}
    assert all(got[k][:2] == ("FRA", "MRA") for k in (3, 4, 5))
    # a2's change is unknown for both its localities (tampered inputs); the outside one has no area
    assert got[6][2] and got[7][2] and got[8][3] == WHY_NO_AREA


def test_shifted_minutes() -> None:
    study = np.array([100.0, 100.0, np.nan, 100.0, 80.0])
    base = np.array([90.0, 90.0, np.nan, np.nan, 90.0])
    new = np.array([90.0, 120.0, 50.0, 60.0, np.nan])
    np.testing.assert_array_equal(shifted_minutes(study, base, new), [100.0, 130.0, 50.0, 60.0, np.nan])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), area=st.integers(0, 2))
def test_a_slowdown_in_one_area_changes_only_that_area_synthetic(seed: int, area: int) -> None:
    """SYNTHETIC random times and populations: slowing (or cutting off) localities of one area moves
    only that area's localities, all of them together, to the class classify_areas gives it from scratch."""
    rng = np.random.default_rng(seed)
    n = 12
    where = rng.integers(0, 3, n).tolist()
    market = rng.uniform(20, 100, n)
    city = rng.uniform(60, 160, n)
    pop = np.where(rng.random(n) < 0.2, np.nan, rng.uniform(10, 500, n))
    loc = localities(where, market.tolist(), city.tolist(), pop.tolist())
    rc = build(loc)
    assert rc.known.all()
    rows = np.flatnonzero(np.asarray(where) == area)
    if not len(rows):
        return
    rows = rows[rng.random(len(rows)) < 0.7] if len(rows) > 1 else rows
    base = {"market": market[rows], "city": city[rows]}
    add = rng.uniform(0, 80, len(rows))
    new = {"market": np.where(rng.random(len(rows)) < 0.15, np.nan, market[rows] + add), "city": city[rows] + add}
    mv = rc.class_moves(rows, new, base=base, group=np.zeros(len(rows), dtype=np.int64))
    slowed = loc.copy()
    slowed.loc[rows, "travel_time_market_min"] = new["market"]
    slowed.loc[rows, "travel_time_city_min"] = new["city"]
    expect = classify_from_scratch(slowed)
    before = classify_from_scratch(loc)
    moved = np.asarray(where)[mv.locality]
    assert (moved == area).all()
    if expect[area] != before[area]:
        assert sorted(mv.locality.tolist()) == np.flatnonzero(np.asarray(where) == area).tolist()
        assert set(mv.before) == {before[area]} and set(mv.after) == {expect[area]}
    else:
        assert len(mv.locality) == 0


def test_a_rule_tier_not_routed_keeps_the_areas_times_synthetic() -> None:
    """Only the market is routed: moving its times moves the areas; the city times stay the study's
    (said in the note)."""
    loc = base_case()
    areas = classify_areas(squares(), RULES, localities=loc).areas
    rc = build_reclassifier(loc, {"market": loc["travel_time_market_min"].to_numpy()}, RULES, areas=areas)
    assert isinstance(rc, AreaReclassifier) and rc.tiers == ["market"] and rc.judged == ["market", "city"]
    assert "city not routed here" in str(rc.note)
    mv = rc.class_moves(np.array([0]), {"market": np.array([60.0])}, base={"market": np.array([30.0])})
    assert sorted(mv.locality.tolist()) == [0, 1, 2] and set(mv.after) == {"MRA"}


def test_points_as_areas_keep_the_locality_reclassifier() -> None:
    loc = base_case()
    cl = classify_areas(loc, RULES).areas
    rc = build_reclassifier(cl, {t: cl[f"travel_time_{t}_min"].to_numpy() for t in TIERS}, RULES)
    assert rc is not None and not isinstance(rc, AreaReclassifier)
    assert build_reclassifier(cl, {}, None) is None
    with pytest.raises(Exception, match="area_class"):
        build_reclassifier(loc, {}, RULES, areas=squares())
