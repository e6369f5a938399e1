"""MRA/FRA classification: rules, hand-checked cases, aggregation, sensitivity, summary, CLI.

Real data: the embedded Porto Alegre hexgrid (H3 res-9 cells with census population), its
H3 polygons (``h3`` package, real sizes) and the embedded SRTM DEM for slope. Travel times in
the hand-checked cases are set by hand (labelled); the embedded-region test computes them with
territorial_gis.access on the embedded OSM extract.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import rasterio
from click.testing import CliRunner
from territorial_gis.cli import main
from territorial_gis.data import data_path

from territorial_gis.classify import (
    aggregate_to_areas,
    classify_areas,
    load_rules,
    make_h3_cells,
    make_hex_grid,
    rules_from_dict,
    sensitivity_table,
    summarize_classes,
)
from territorial_gis.errors import ColumnError, ConfigError

DEM = data_path("porto_alegre", "poa_elevation.tif")
HEX = data_path("porto_alegre", "poa_hexgrid.csv")
TT_E = "travel_time_employment_centre_min"
TT_I = "travel_time_intermediate_city_min"

# real H3 cells of the hexgrid, picked from the DEM (zonal mean slope, checked in the test)
FLAT_A, FLAT_B, FLAT_C, FLAT_D = "89a90128317ffff", "89a90128edbffff", "89a90128cdbffff", "89a9012831bffff"
STEEP_A, STEEP_B = "89a901280dbffff", "89a90128637ffff"


@pytest.fixture(scope="session")
def hex_raw() -> pd.DataFrame:
    return pd.read_csv(HEX, dtype={"id": str})


@pytest.fixture(scope="session")
def hex_points(hex_raw: pd.DataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(hex_raw, geometry=gpd.points_from_xy(hex_raw.lon, hex_raw.lat), crs=4326)


@pytest.fixture(scope="session")
def hand_cases(hex_raw: pd.DataFrame) -> gpd.GeoDataFrame:
    """Six real H3 cells with hand-set travel times (minutes) - labelled hand-made access."""
    ids = [FLAT_A, FLAT_B, FLAT_C, STEEP_A, STEEP_B, FLAT_D]
    cells = make_h3_cells(cells=ids).merge(hex_raw[["id", "population"]], left_on="area_id",
                                           right_on="id")
    cells = cells.set_index("area_id", drop=False).loc[ids]
    times = {  # employment centre, intermediate city
        FLAT_A: (30.0, 90.0),     # FRA: 0.5 h <= 1 h, 1.5 h <= 2 h, flat
        FLAT_B: (90.0, 100.0),    # MRA isolated: 1.5 h > 1 h
        FLAT_C: (20.0, np.nan),   # MRA isolated: intermediate city unreachable (disconnected)
        STEEP_A: (15.0, 60.0),    # MRA agroecological: slope ~20 deg > 9.1 deg
        STEEP_B: (45.0, 200.0),   # MRA both: 3.3 h > 2 h and slope ~18 deg
        FLAT_D: (30.0, 60.0),     # FRA, population unknown
    }
    cells[TT_E] = [times[i][0] for i in ids]
    cells[TT_I] = [times[i][1] for i in ids]
    cells["unreachable_reason"] = [None, None, "intermediate_city:disconnected", None, None, None]
    cells["unreachable_reason_intermediate_city"] = [None, None, "disconnected", None, None, None]
    cells.loc[FLAT_D, "population"] = np.nan
    return cells.reset_index(drop=True)


@pytest.fixture(scope="session")
def hand_classified(hand_cases: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return classify_areas(hand_cases, rasters={"dem": DEM}).areas.set_index("area_id")


# --- rules ------------------------------------------------------------------------------------


def test_default_rules_are_shipped_and_valid() -> None:
    r = load_rules()
    assert r.access_max_hours == {"employment_centre": 1.0, "intermediate_city": 2.0}
    assert r.max_slope_deg == pytest.approx(math.degrees(math.atan(0.16)), abs=0.05)  # 16 % rise
    assert r.density_threshold_per_km2 == 150.0 and r.density_role == "report"
    assert r.max_ruggedness_m is None  # commented out in the file: not used
    assert set(r.thresholds()) >= {"access.max_hours.intermediate_city", "agroecology.max_slope_deg",
                                   "density.threshold_per_km2"}


@pytest.mark.parametrize("text, match", [
    ("[access]\ncombine = \"any\"\nmax_hourz = 3\n", r"unknown key 'access\.max_hourz'"),
    ("[agroecology]\nmax_slope_deg = \"steep\"\n", r"'agroecology\.max_slope_deg' must be a number, got str"),
    ("[access.max_hours]\nintermediate_city = true\n", r"'access\.max_hours\.intermediate_city' must be a number"),
    ("[density]\nthreshold_per_km2 = -5\n", r"'density\.threshold_per_km2' must be a finite number >= 0"),
    ("[densities]\nthreshold_per_km2 = 5\n", r"unknown section \[densities\]"),
    ("[access]\ncombine = \"most\"\n", r"'access\.combine' must be one of"),
    ("[access\n", "not valid TOML"),
])
def test_bad_rule_files(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "rules.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match) as exc:
        load_rules(p)
    assert "rules.toml" in str(exc.value)


# --- hand-checked cases -----------------------------------------------------------------------


def test_hand_checked_cells_slopes_from_the_real_dem(hand_classified: gpd.GeoDataFrame) -> None:
    s = hand_classified["slope_deg"]
    for cid in (FLAT_A, FLAT_B, FLAT_C, FLAT_D):
        assert s[cid] < 2.0
    assert s[STEEP_A] > 19.0 and s[STEEP_B] > 17.0


def test_hand_checked_classes_and_reasons(hand_classified: gpd.GeoDataFrame) -> None:
    c = hand_classified
    assert c.loc[FLAT_A, "area_class"] == "FRA" and c.loc[FLAT_A, "mra_type"] == ""
    assert "travel time to employment_centre 30.0 min ≤ 60 min" in c.loc[FLAT_A, "class_reasons"]
    assert "travel time to intermediate_city 90.0 min ≤ 120 min" in c.loc[FLAT_A, "class_reasons"]

    assert (c.loc[FLAT_B, "area_class"], c.loc[FLAT_B, "mra_type"]) == ("MRA", "isolated")
    assert c.loc[FLAT_B, "class_reasons"].startswith("travel time to employment_centre 90.0 min > 60 min")

    assert (c.loc[FLAT_C, "area_class"], c.loc[FLAT_C, "mra_type"]) == ("MRA", "isolated")
    assert "intermediate_city unreachable (disconnected)" in c.loc[FLAT_C, "class_reasons"]

    assert (c.loc[STEEP_A, "area_class"], c.loc[STEEP_A, "mra_type"]) == ("MRA", "agroecological")
    slope_a = c.loc[STEEP_A, "slope_deg"]
    assert f"slope {slope_a:.1f}° > 9.1°" in c.loc[STEEP_A, "class_reasons"]

    assert (c.loc[STEEP_B, "area_class"], c.loc[STEEP_B, "mra_type"]) == ("MRA", "both")
    assert "travel time to intermediate_city 200.0 min > 120 min" in c.loc[STEEP_B, "class_reasons"]
    assert "slope 18.0° > 9.1°" in c.loc[STEEP_B, "class_reasons"]

    # missing population: classified on access and terrain, and the reasons say so
    assert c.loc[FLAT_D, "area_class"] == "FRA"
    assert math.isnan(c.loc[FLAT_D, "density_per_km2"])
    assert "population unknown" in c.loc[FLAT_D, "class_reasons"]


def test_density_uses_real_h3_cell_areas(hand_classified: gpd.GeoDataFrame) -> None:
    c = hand_classified
    for cid in (FLAT_A, STEEP_A):
        km2 = h3.cell_area(cid, unit="km^2")
        assert c.loc[cid, "area_km2"] == pytest.approx(km2, rel=0.005)
        assert c.loc[cid, "density_per_km2"] == pytest.approx(c.loc[cid, "population"] / km2, rel=0.005)
    d = c.loc[FLAT_A, "density_per_km2"]  # 1073 people on 0.09 km2 -> ~11 900/km2
    assert f"density {d:.0f}/km² ≥ 150/km²" in c.loc[FLAT_A, "class_reasons"]


def test_combine_all_and_dense_is_favorable(hand_cases: gpd.GeoDataFrame) -> None:
    base = {"access": {"max_hours": {"employment_centre": 1.0, "intermediate_city": 2.0}},
            "agroecology": {"max_slope_deg": 9.1}}
    all_rules = rules_from_dict({**base, "access": {**base["access"], "combine": "all"}})
    c = classify_areas(hand_cases, all_rules, rasters={"dem": DEM}).areas.set_index("area_id")
    # FLAT_B exceeds only the employment-centre threshold -> not isolated when all tiers must fail
    assert c.loc[FLAT_B, "area_class"] == "FRA"
    assert c.loc[STEEP_B, "mra_type"] == "agroecological"  # 0.75 h to employment centre is fine
    dense = rules_from_dict({**base, "density": {"threshold_per_km2": 150.0,
                                                 "role": "dense_is_favorable"}})
    d = classify_areas(hand_cases, dense, rasters={"dem": DEM}).areas.set_index("area_id")
    # all these urban cells are far above 150/km2: dense areas are FRA despite failing a rule
    assert d.loc[FLAT_B, "area_class"] == "FRA"
    assert "(dense: FRA despite the above)" in d.loc[FLAT_B, "class_reasons"]
    assert "travel time to employment_centre 90.0 min > 60 min" in d.loc[FLAT_B, "class_reasons"]
    # unknown population (no density): the MRA rule still applies
    assert d.loc[STEEP_B, "area_class"] == "FRA"


def test_point_localities_have_unknown_density(hex_points: gpd.GeoDataFrame) -> None:
    pts = hex_points.iloc[:20].copy()
    pts[TT_E] = 30.0
    c = classify_areas(pts)  # no raster, no altitude: access alone
    out = c.areas
    assert out["density_per_km2"].isna().all()
    assert "density unknown: point localities have no area" in out["class_reasons"].iloc[0]
    assert (out["area_class"] == "FRA").all()
    assert any("intermediate_city" in n for n in c.notes)  # tier without a column
    assert c.tiers == ["employment_centre"] and c.counts == {"FRA": 20}


def test_nothing_to_classify_is_an_error(hex_points: gpd.GeoDataFrame) -> None:
    with pytest.raises(ColumnError, match="nothing to classify on"):
        classify_areas(hex_points.iloc[:5])


# --- areas ------------------------------------------------------------------------------------


def test_population_weighted_aggregation_to_parent_cells(hex_points: gpd.GeoDataFrame) -> None:
    """Res-9 cells aggregated into their res-7 parents vs. an independent pandas groupby."""
    pts = hex_points.copy()
    rng = np.random.default_rng(4)
    pts[TT_E] = rng.uniform(5, 120, len(pts))
    pts["parent"] = [h3.cell_to_parent(c, 7) for c in pts["id"]]
    parents = make_h3_cells(cells=sorted(pts["parent"].unique()))
    agg = aggregate_to_areas(pts, parents).set_index("area_id")
    # parent polygons are not exact unions of children, so compare on the points actually inside
    joined = gpd.sjoin(pts, parents, predicate="intersects")
    joined = joined[~joined.index.duplicated()]
    g = joined.groupby("area_id")
    pop = g["population"].sum()
    w = g.apply(lambda d: np.average(d[TT_E], weights=d["population"]) if d["population"].sum() > 0
                else d[TT_E].mean())
    assert agg.loc[pop.index, "population"].to_numpy() == pytest.approx(pop.to_numpy())
    assert agg.loc[w.index, TT_E].to_numpy() == pytest.approx(w.to_numpy())
    assert agg["n_localities"].sum() == len(joined) == len(pts)
    # a weighted mean differs from the plain mean here (the test can fail)
    assert not np.allclose(agg.loc[w.index, TT_E], g[TT_E].mean())


def test_unreachable_majority_makes_the_area_unreachable(hex_points: gpd.GeoDataFrame) -> None:
    pts = hex_points[hex_points["population"] > 0].iloc[:3].copy()
    pts["population"] = [100.0, 300.0, 600.0]
    pts[TT_E] = [30.0, 90.0, np.nan]  # 60 % of the people cannot reach an employment centre
    area = gpd.GeoDataFrame({"area_id": ["all"]}, geometry=[pts.union_all().convex_hull.buffer(0.01)],
                            crs=4326)
    agg = aggregate_to_areas(pts, area)
    assert math.isnan(agg[TT_E].iloc[0]) and agg["unreachable_share_employment_centre"].iloc[0] == 0.6
    out = classify_areas(area, localities=pts).areas
    assert out["mra_type"].iloc[0] == "isolated"
    assert "employment_centre unreachable for 60% of the population" in out["class_reasons"].iloc[0]
    pts[TT_E] = [30.0, np.nan, 90.0]  # 30 % unreachable -> weighted mean of the rest
    agg = aggregate_to_areas(pts, area)
    assert agg[TT_E].iloc[0] == pytest.approx((100 * 30 + 600 * 90) / 700)


def test_hex_grid_sizes_and_coverage(hex_points: gpd.GeoDataFrame) -> None:
    grid = make_hex_grid(hex_points, 1000.0)
    utm = grid.to_crs(32722)
    assert utm.area.to_numpy() == pytest.approx(1.5 * math.sqrt(3) * 1000.0**2, rel=0.001)
    hit = gpd.sjoin(hex_points, grid, predicate="within")
    assert hit.index.nunique() == len(hex_points)  # every locality falls in a hexagon
    assert grid["area_id"].is_unique
    cells = make_h3_cells(hex_points.iloc[:50], resolution=8)
    assert all(h3.get_resolution(c) == 8 for c in cells["area_id"])


def test_areas_get_terrain_from_zonal_means_and_access_from_localities(hex_points: gpd.GeoDataFrame) -> None:
    pts = hex_points.copy()
    pts[TT_E] = 30.0
    pts[TT_I] = 60.0
    grid = make_hex_grid(pts, 2000.0)
    c = classify_areas(grid, localities=pts, rasters={"dem": DEM})
    out = c.areas
    assert out["n_localities"].sum() == len(pts)
    assert out["population"].sum() == pytest.approx(pts["population"].sum())
    assert "mean over the area" in out["indicator_sources"].iloc[0]
    assert c.indicator_sources["slope_deg"] == "raster poa_elevation.tif (mean over the area)"
    assert out.attrs == {}  # nothing rides on the frame
    assert set(out["area_class"]) <= {"FRA", "MRA"}
    assert (out.loc[out["area_class"] == "MRA", "mra_type"] == "agroecological").all()


# --- sensitivity and summary ------------------------------------------------------------------


@pytest.fixture(scope="session")
def region(hex_raw: pd.DataFrame) -> gpd.GeoDataFrame:
    """All 1227 real cells; hand-made travel times growing with distance from the Mercado
    Publico (4 min/km to employment centres, 9 min/km to an intermediate city) - labelled."""
    cells = make_h3_cells(cells=hex_raw["id"]).merge(hex_raw, left_on="area_id", right_on="id")
    xy = gpd.GeoSeries.from_xy(cells["lon"], cells["lat"], crs=4326).to_crs(32722)
    centre = gpd.GeoSeries.from_xy([-51.227811], [-30.027565], crs=4326).to_crs(32722).iloc[0]
    km = xy.distance(centre).to_numpy() / 1000.0
    cells[TT_E] = 4.0 * km
    cells[TT_I] = 9.0 * km
    cells["district"] = np.where(cells["lat"] > -30.05, "north", "south")
    return classify_areas(cells, rasters={"dem": DEM}).areas


def test_sensitivity_monotonic_for_isolation_only_rules(region: gpd.GeoDataFrame) -> None:
    iso_only = rules_from_dict({"access": {"max_hours": {"employment_centre": 1.0,
                                                         "intermediate_city": 2.0}}})
    st = sensitivity_table(region, iso_only, tiers=["employment_centre", "intermediate_city"])
    assert set(st["parameter"]) == {"baseline", "access.max_hours.employment_centre",
                                    "access.max_hours.intermediate_city"}
    for name, rows in st[st["parameter"] != "baseline"].groupby("parameter"):
        rows = rows.sort_values("change_pct")
        assert list(rows["change_pct"]) == [-25.0, -10.0, 10.0, 25.0]
        shares = [*rows["areas_share_MRA"].iloc[:2], st["areas_share_MRA"].iloc[0],
                  *rows["areas_share_MRA"].iloc[2:]]
        assert all(a >= b for a, b in zip(shares, shares[1:], strict=False)), name
    # the intermediate-city threshold binds here (9 min/km): -25 % moves some areas
    ic = st[st["parameter"] == "access.max_hours.intermediate_city"].set_index("change_pct")
    assert ic.loc[-25.0, "n_changed"] > 0
    assert ic.loc[-25.0, "areas_share_MRA"] > st["areas_share_MRA"].iloc[0]


def test_sensitivity_baseline_matches_classification(region: gpd.GeoDataFrame) -> None:
    st = sensitivity_table(region)
    base = st.iloc[0]
    mra = region["area_class"] == "MRA"
    assert base["areas_share_MRA"] == pytest.approx(mra.mean())
    assert base["population_share_MRA"] == pytest.approx(
        region.loc[mra, "population"].sum() / region["population"].sum())
    slope = st[st["parameter"] == "agroecology.max_slope_deg"].sort_values("change_pct")
    assert slope["areas_share_MRA"].is_monotonic_decreasing
    # no suitability raster and density only reported: those thresholds are not varied
    assert "agroecology.min_suitability_index" not in set(st["parameter"])
    assert "density.threshold_per_km2" not in set(st["parameter"])


def test_summary_by_region(region: gpd.GeoDataFrame) -> None:
    s = summarize_classes(region, by="district")
    tot = s[s["area_class"] == "total"].set_index("district")
    for d, grp in region.groupby("district"):
        assert tot.loc[d, "population"] == grp["population"].sum()
        assert tot.loc[d, "n_areas"] == len(grp)
        part = s[(s["district"] == d) & (s["area_class"] != "total")]
        assert part["share_population"].sum() == pytest.approx(1.0)
        mra = part[part["area_class"] == "MRA"]
        assert mra["n_areas"].sum() == (grp["area_class"] == "MRA").sum()
    assert set(s["mra_type"]) <= {"", "isolated", "agroecological", "both"}


# --- embedded region with computed travel times -----------------------------------------------


def test_embedded_region_with_access_module(poa_network) -> None:
    """Porto Alegre: travel times computed by territorial_gis.access on the embedded OSM extract.

    Tiers: employment centres = the 5 hexgrid cells with >= 5000 jobs; intermediate city = the
    central bus station (the city's gateway to the regional urban system). This is a 13 x 14 km
    urban extract, so every reachable cell is within 40 min of both (far under 1 h / 2 h): the
    only isolated cells are the 2 cells farther than 2 km from any road (unreachable, both
    with 0 inhabitants); all other MRAs are agroecological: the hillside cells whose mean
    slope exceeds 9.1 deg (135 of them; the zonal slopes are checked against an independent
    numpy computation in test_terrain.py). Expected class counts and shares are derived here
    from the rule (unreachable or slope > 9.1) and the raw population column, not copied.
    """
    from territorial_gis import places as pl
    from territorial_gis.access import travel_times_to_nearest

    hexg = pl.load_places(HEX)
    poi = pl.load_places(data_path("porto_alegre", "poa_points_of_interest.csv"))
    net = poa_network
    tiers = {"employment_centre": hexg[hexg["jobs"] >= 5000],
             "intermediate_city": poi[poi["place_id"] == "bus_central_station"]}
    acc = travel_times_to_nearest(net, hexg, tiers)
    cells = make_h3_cells(cells=acc["place_id"])
    areas = cells.merge(acc.drop(columns="geometry"), left_on="area_id", right_on="place_id")
    out = classify_areas(areas, rasters={"dem": DEM}).areas
    reach = out[TT_E].notna()
    assert out.loc[reach, [TT_E, TT_I]].max().max() < 40.0
    iso = out[out["is_isolated"]]
    assert len(iso) == (~reach).sum() == 2
    assert iso["class_reasons"].str.contains("unreachable \\(too_far_from_road\\)").all()
    assert (iso["population"] == 0).all()
    steep = (out["slope_deg"] > 9.1).to_numpy()
    agro = out[out["mra_type"] == "agroecological"]
    assert (agro["slope_deg"] > 9.1).all() and len(agro) == int((steep & reach.to_numpy()).sum()) > 100
    expected_mra = steep | ~reach.to_numpy()
    assert (out["area_class"] == "MRA").to_numpy().tolist() == expected_mra.tolist()
    assert out["area_class"].value_counts(normalize=True)["MRA"] == pytest.approx(expected_mra.mean())
    raw = pd.read_csv(HEX, dtype={"id": str}).set_index("id")["population"]
    pop = raw.reindex(out["place_id"].astype(str)).to_numpy(dtype=float)
    assert out["population"].to_numpy(dtype=float) == pytest.approx(pop)  # the raw IPEA counts
    mra = out["area_class"] == "MRA"
    assert out.loc[mra, "population"].sum() / out["population"].sum() == pytest.approx(pop[expected_mra].sum() / pop.sum())


# --- CLI --------------------------------------------------------------------------------------


@pytest.fixture()
def access_csv(tmp_path: Path, hex_raw: pd.DataFrame) -> Path:
    df = hex_raw.iloc[:300].copy()
    df[TT_E] = np.linspace(5, 100, len(df))
    df[TT_I] = np.linspace(10, 150, len(df))
    p = tmp_path / "access.csv"
    df.to_csv(p, index=False)
    return p


def test_cli_classify_writes_three_outputs(tmp_path: Path, access_csv: Path) -> None:
    out = tmp_path / "classes.gpkg"
    res = CliRunner().invoke(main, ["-q", "classify", str(access_csv), "--raster", f"dem={DEM}",
                                    "--areas", "h3:8", "-o", str(out)])
    assert res.exit_code == 0, res.output
    got = gpd.read_file(out)
    assert {"area_class", "mra_type", "class_reasons", "density_per_km2", "slope_deg"} <= set(got.columns)
    assert got["density_per_km2"].notna().any()
    sens = pd.read_csv(tmp_path / "classes_sensitivity.csv")
    summ = pd.read_csv(tmp_path / "classes_summary.csv")
    assert sens["parameter"].iloc[0] == "baseline"
    assert summ.loc[summ["area_class"] == "total", "n_areas"].iloc[0] == len(got)
    # existing outputs are not replaced without --overwrite
    again = CliRunner().invoke(main, ["classify", str(access_csv), "-o", str(out)])
    assert again.exit_code == 1 and "--overwrite" in again.output


def test_cli_classify_areas_h3_are_the_locality_cells(tmp_path: Path, access_csv: Path) -> None:
    """``--areas h3`` (as ``[classify] areas = "h3"`` in a study): the localities' ids are H3 cells
    (IPEA's grid) and those cells are the areas."""
    out = tmp_path / "cells.gpkg"
    res = CliRunner().invoke(main, ["-q", "classify", str(access_csv), "--areas", "h3", "-o", str(out)])
    assert res.exit_code == 0, res.output
    got = gpd.read_file(out).set_index("area_id")
    src = pd.read_csv(access_csv)
    assert sorted(got.index) == sorted(src["id"])
    for row in src.itertuples():  # each cell's polygon is its H3 boundary, and holds its point
        ring = [(lon, lat) for lat, lon in h3.cell_to_boundary(row.id)]
        assert np.allclose(np.asarray(got.geometry[row.id].exterior.coords)[:-1], ring)
        assert got.geometry[row.id].contains(gpd.points_from_xy([row.lon], [row.lat])[0])
    # one locality per area and no raster: each cell has the class of its locality
    by_point = tmp_path / "points.gpkg"
    assert CliRunner().invoke(main, ["-q", "classify", str(access_csv), "-o", str(by_point)]).exit_code == 0
    points = gpd.read_file(by_point).set_index("place_id")
    assert (got["area_class"] == points.loc[got.index, "area_class"]).all()


def test_cli_classify_areas_h3_refuses_other_ids(tmp_path: Path, access_csv: Path) -> None:
    bad = tmp_path / "towns.csv"
    pd.read_csv(access_csv).head(3).assign(id=["a1", "b2", "c3"]).to_csv(bad, index=False)
    out = tmp_path / "c.gpkg"
    res = CliRunner().invoke(main, ["classify", str(bad), "--areas", "h3", "-o", str(out)])
    _assert_clean_failure(res, out, "ids as H3 cells", "3 that are not", "'a1'", "h3:RES")
    res = CliRunner().invoke(main, ["classify", str(access_csv), "--areas", "h3x", "-o", str(out)])
    _assert_clean_failure(res, out, "--areas h3x", "no such file")


def _assert_clean_failure(res, out: Path, *needles: str) -> None:
    assert res.exit_code == 1, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in res.output
    for n in needles:
        assert n in errors[0]
    assert not out.exists()
    assert not list(out.parent.glob(f"{out.stem}_*.csv"))


def test_cli_bad_rules(tmp_path: Path, access_csv: Path) -> None:
    out = tmp_path / "c.gpkg"
    bad = tmp_path / "myrules.toml"
    bad.write_text("[agroecology]\nmax_slope = 10\n")
    res = CliRunner().invoke(main, ["classify", str(access_csv), "--rules", str(bad), "-o", str(out)])
    _assert_clean_failure(res, out, "agroecology.max_slope", "myrules.toml")
    bad.write_text("[access.max_hours]\nintermediate_city = \"2h\"\n")
    res = CliRunner().invoke(main, ["classify", str(access_csv), "--rules", str(bad), "-o", str(out)])
    _assert_clean_failure(res, out, "access.max_hours.intermediate_city", "must be a number")


def test_cli_bad_rasters(tmp_path: Path, access_csv: Path) -> None:
    out = tmp_path / "c.csv"
    with rasterio.open(DEM) as src:
        z, prof = src.read(1), src.profile
    nocrs = tmp_path / "nocrs.tif"
    with rasterio.open(nocrs, "w", **{**prof, "crs": None}) as dst:
        dst.write(z, 1)
    res = CliRunner().invoke(main, ["classify", str(access_csv), "--raster", f"dem={nocrs}", "-o", str(out)])
    _assert_clean_failure(res, out, "nocrs.tif", "no CRS")
    far = tmp_path / "far.tif"
    with rasterio.open(far, "w", **{**prof, "transform": rasterio.transform.from_origin(10, 10, 0.001, 0.001)}) as dst:
        dst.write(z, 1)
    res = CliRunner().invoke(main, ["classify", str(access_csv), "--raster", f"slope={far}", "-o", str(out)])
    _assert_clean_failure(res, out, "far.tif", "does not cover")
    empty = tmp_path / "allnodata.tif"
    with rasterio.open(empty, "w", **{**prof, "nodata": 7}) as dst:
        dst.write(np.full_like(z, 7), 1)
    res = CliRunner().invoke(main, ["classify", str(access_csv), "--raster", f"dem={empty}", "-o", str(out)])
    _assert_clean_failure(res, out, "allnodata.tif", "only nodata")


def test_cli_polygon_areas_with_region_summary(tmp_path: Path, access_csv: Path, hex_raw: pd.DataFrame) -> None:
    """User polygons: the res-7 H3 parents of the first 300 cells, with a region column."""
    parents = sorted({h3.cell_to_parent(c, 7) for c in hex_raw["id"].iloc[:300]})
    polys = make_h3_cells(cells=parents)
    polys["region"] = ["east" if p.centroid.x > -51.2 else "west" for p in polys.geometry]
    areas = tmp_path / "municipios.gpkg"
    polys.to_file(areas)
    out = tmp_path / "areas.parquet"
    res = CliRunner().invoke(main, ["-q", "classify", str(access_csv), "--areas", str(areas),
                                    "--by", "region", "-o", str(out)])
    assert res.exit_code == 0, res.output
    got = gpd.read_parquet(out)
    assert len(got) == len(polys) and got["n_localities"].sum() > 0
    summ = pd.read_csv(tmp_path / "areas_summary.csv")
    tot = summ[summ["area_class"] == "total"].set_index("region")["n_areas"]
    assert tot.to_dict() == polys["region"].value_counts().to_dict()
    # points given as areas: clear error, no output
    out2 = tmp_path / "x.gpkg"
    res = CliRunner().invoke(main, ["classify", str(access_csv), "--areas", str(access_csv), "-o", str(out2)])
    _assert_clean_failure(res, out2, "must hold polygons")


def test_reasons_never_print_a_value_equal_to_the_threshold(hand_cases: gpd.GeoDataFrame) -> None:
    cases = hand_cases.iloc[:2].copy()
    cases[TT_E] = [60.04, 59.96]  # both would print as "60.0 min" with one decimal
    out = classify_areas(cases).areas
    assert "travel time to employment_centre 60.04 min > 60 min" in out["class_reasons"].iloc[0]
    assert "travel time to employment_centre 59.96 min ≤ 60 min" in out["class_reasons"].iloc[1]
    cases[TT_E] = [60.0004, 61.0]  # needs four decimals to differ; a plain value keeps one
    out = classify_areas(cases).areas
    assert "travel time to employment_centre 60.0004 min > 60 min" in out["class_reasons"].iloc[0]
    assert "travel time to employment_centre 61.0 min > 60 min" in out["class_reasons"].iloc[1]


def test_area_without_localities(hex_points: gpd.GeoDataFrame) -> None:
    """A polygon holding no locality: access unknown (not 'unreachable'); terrain decides
    when a DEM is given, otherwise the area is left unclassified."""
    pts = hex_points.iloc[:10].copy()
    pts[TT_E] = 30.0
    occupied = pts.to_crs(32722).union_all().convex_hull.buffer(200)
    west = gpd.GeoSeries.from_xy([-51.24], [-30.10], crs=4326).to_crs(32722).buffer(300).iloc[0]
    areas = gpd.GeoDataFrame({"area_id": ["occupied", "empty"]}, geometry=[occupied, west], crs=32722)
    assert not gpd.sjoin(pts.to_crs(32722), areas.iloc[[1]]).shape[0]
    out = classify_areas(areas, localities=pts).areas.set_index("area_id")
    assert out.loc["empty", "area_class"] == "unclassified"
    assert "no locality in the area: access unknown" in out.loc["empty", "class_reasons"]
    assert out.loc["occupied", "area_class"] == "FRA"
    with_dem = classify_areas(areas, localities=pts, rasters={"dem": DEM}).areas.set_index("area_id")
    # terrain alone decides: MRA exactly when the area's mean slope is over the 9.1 deg limit
    slope = with_dem.loc["empty", "slope_deg"]
    assert np.isfinite(slope)
    assert with_dem.loc["empty", "area_class"] == ("MRA" if slope > 9.1 else "FRA")
    assert not with_dem.loc["empty", "is_isolated"]
    assert f"slope {slope:.1f}° {'>' if slope > 9.1 else '≤'} 9.1°" in with_dem.loc["empty", "class_reasons"]


def test_ready_suitability_raster(tmp_path: Path, hand_cases: gpd.GeoDataFrame) -> None:
    """A suitability raster derived from the real DEM for the test (labelled derived):
    SI = 100 - 5 * slope_deg, clipped to 0..100, stored as float32 in EPSG:4326."""
    from territorial_gis.terrain import slope_degrees

    with rasterio.open(DEM) as src:
        prof = src.profile
    si = np.clip(100.0 - 5.0 * slope_degrees(DEM), 0, 100).astype("float32")
    p = tmp_path / "suitability.tif"
    with rasterio.open(p, "w", **{**prof, "dtype": "float32", "nodata": -1}) as dst:
        dst.write(si, 1)
    rules = rules_from_dict({"access": {"max_hours": {"employment_centre": 1.0}},
                             "agroecology": {"min_suitability_index": 25.0}})
    out = classify_areas(hand_cases, rules, rasters={"suitability": p}).areas.set_index("area_id")
    # ~20 deg mean slope -> SI ~ 0-10 -> marginal; flat cells ~ 95
    assert out.loc[STEEP_A, "suitability_index"] < 25 < out.loc[FLAT_A, "suitability_index"]
    assert out.loc[STEEP_A, "mra_type"] == "agroecological"
    v = out.loc[STEEP_A, "suitability_index"]
    assert f"suitability index {v:.0f} < 25" in out.loc[STEEP_A, "class_reasons"]
    assert out.loc[FLAT_A, "area_class"] == "FRA"
    assert "suitability_index: raster suitability.tif (mean over the area)" in out.loc[FLAT_A, "indicator_sources"]
