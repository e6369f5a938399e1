"""Indicators: the CONAPO marginalization tables after normalisation (checked row by row against
the raw CSV read here with the csv module), their join to the INEGI localities, joins by code and
name, spatial joins (checked against an independent geopandas overlay), derived counts and the
summaries that report them beside population (SYNTHETIC cases worked by hand), CLI.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from _cli import assert_cli_fails
from click.testing import CliRunner
from shapely.geometry import Point, Polygon, box
from territorial_gis.cli import main
from territorial_gis.data import data_path

from territorial_gis.errors import ColumnError, ConfigError
from territorial_gis.indicators import (
    derive_counts,
    indicator_within,
    join_indicators,
    join_spatial,
    land_within,
    load_indicator_table,
    normalize_codes,
    summarize_indicators,
)

RAW_90_15 = data_path("catalogues", "Base_Indice_de_marginacion_municipal_90-15.csv")
RAW_2020 = data_path("catalogues", "IMM_2020.csv")
RAW_LOCALITIES = data_path("catalogues", "localidades_ge1000.csv")
MISSING = ("-", "N. D.")


def _num(text: str) -> float:
    return float("nan") if text.strip() in MISSING else float(text)


@pytest.fixture(scope="module")
def raw_conapo() -> dict[tuple[str, int], dict[str, str]]:
    """Every municipality row of both raw files, keyed by (5-digit code, year)."""
    rows: dict[tuple[str, int], dict[str, str]] = {}
    with open(RAW_90_15, encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["CVE_MUN"] != "-":  # national totals
                rows[(r["CVE_MUN"].zfill(5), int(r["AÑO"]))] = r
    with open(RAW_2020, encoding="utf-8-sig", newline="") as fh:  # the 2020 file starts with a BOM
        for r in csv.DictReader(fh):
            rows[(r["CVE_MUN"], 2020)] = r
    return rows


@pytest.fixture(scope="module")
def conapo() -> pd.DataFrame:
    return load_indicator_table("conapo_marginalization")


def test_conapo_values_equal_the_raw_files_row_by_row(conapo: pd.DataFrame, raw_conapo: dict) -> None:
    assert len(conapo) == len(raw_conapo) == 17110
    t = conapo.set_index(["municipality_code", "year"])
    for (code, year), r in raw_conapo.items():
        row = t.loc[(code, year)]
        new = year == 2020
        assert row["municipality_name"] == " ".join(r["NOM_MUN" if new else "MUN"].split())
        assert row["population"] == float(r["POB_TOT"])
        for ours, theirs in (("illiterate_pct", "ANALF"), ("no_electricity_pct", "OVSEE"),
                             ("marginalization_index", "IM_2020" if new else "IM")):
            want = _num(r[theirs])
            assert (math.isnan(want) and math.isnan(row[ours])) or row[ours] == want, (code, year, ours)
        grade = r["GM_2020" if new else "GM"].strip()
        assert (row["marginalization_grade"] == grade) if grade != "-" else pd.isna(row["marginalization_grade"])


def test_known_municipalities_after_normalisation(conapo: pd.DataFrame) -> None:
    """Values read by eye from the raw files (the rows are quoted in the comments)."""
    t = conapo.set_index(["municipality_code", "year"])
    # 90-15 file: "1,Aguascalientes,1001, Aguascalientes      ...,797010,-,2.59,11.48,...,-1.768,Muy bajo,7.69,2409,-,2010"
    agu = t.loc[("01001", 2010)]
    assert (agu["municipality_name"], agu["population"], agu["illiterate_pct"]) == ("Aguascalientes", 797010, 2.59)
    assert (agu["marginalization_index"], agu["marginalization_grade"], agu["national_rank"]) == (-1.768, "Muy bajo", 2409)
    assert agu["marginalization_index_0_100"] == 7.69 and math.isnan(agu["state_rank"])  # "-" is missing
    # 2020 file (BOM, 5-character codes): "01,Aguascalientes,01001,Aguascalientes,948990,1.644737773,..."
    agu20 = t.loc[("01001", 2020)]
    assert agu20["population"] == 948990 and agu20["illiterate_pct"] == pytest.approx(1.644737773)
    assert agu20["marginalization_index"] == pytest.approx(60.31879504) and agu20["marginalization_grade_code"] == 1
    # "7,Chiapas,7058,Nicolás Ruíz   ...,3135,-,N. D.,N. D.,-,...,2000": N. D. is missing, not an error
    nr = t.loc[("07058", 2000)]
    assert nr["municipality_name"] == "Nicolás Ruíz" and nr["population"] == 3135
    assert math.isnan(nr["illiterate_pct"]) and pd.isna(nr["marginalization_grade"])
    # Metlatónoc (Guerrero): very high marginalization in 2010 and in 2020
    assert t.loc[("12043", 2010), "marginalization_grade"] == "Muy alto"
    assert t.loc[("12043", 2020), "marginalization_grade_code"] == 5


def test_percentiles_follow_the_published_ranks_and_the_2020_direction(conapo: pd.DataFrame) -> None:
    """1990-2015: percentile (100 = most marginalized) ranks municipalities exactly as CONAPO's
    national rank (1 = most marginalized), up to ties of the 3-decimal index; 2020 (index re-based,
    higher = less marginalized): grades rise with the percentile."""
    for year, g in conapo[conapo["year"] < 2020].dropna(subset=["national_rank"]).groupby("year"):
        ours = g["marginalization_percentile"].rank(ascending=False)
        assert (ours - g["national_rank"].rank()).abs().max() <= 3, year
    g20 = conapo[conapo["year"] == 2020]
    by_grade = g20.groupby("marginalization_grade_code")["marginalization_percentile"].agg(["min", "max"])
    assert (by_grade["max"].iloc[:-1].to_numpy() < by_grade["min"].iloc[1:].to_numpy()).all()


@pytest.fixture(scope="module")
def raw_locality_municipalities() -> pd.Series:
    with open(RAW_LOCALITIES, encoding="utf-8", newline="") as fh:
        codes = [r["cve_entidad"] + r["cve_municipio"] for r in csv.DictReader(fh)]
    return pd.Series(codes)


@pytest.mark.parametrize("year, rate", [(2015, 0.9937), (2020, 0.9977), (1990, None)])
def test_join_to_the_inegi_localities(year: int, rate: float | None, raw_conapo: dict,
                                      raw_locality_municipalities: pd.Series) -> None:
    """INEGI 2020 localities >= 1,000 inhabitants joined to CONAPO by municipality code. Measured:
    2015 -> 10,568 of 10,635 localities (99.4 %), 20 municipalities unmatched (created after 2015,
    or after the 2020 census in INEGI's later framework); 2020 -> 10,611 (99.8 %), 9 unmatched."""
    from territorial_gis.places import load_catalogue

    loc = load_catalogue("inegi_localities")
    joined, report = join_indicators(loc, f"conapo_marginalization:{year}", on="municipality_code", widths=5,
                                     columns=["marginalization_grade", "illiterate_pct"], prefix="municipal_",
                                     label="municipality_name")
    conapo_codes = {code for code, y in raw_conapo if y == year}
    matched = raw_locality_municipalities.isin(conapo_codes)
    assert report.n_matched == int(matched.sum())
    assert sorted(report.unmatched["key"]) == sorted(set(raw_locality_municipalities[~matched]))
    if rate is not None:  # the share matched in the raw files (the figure in the docstring)
        assert report.match_rate == pytest.approx(float(matched.mean()), abs=1e-12)
        assert report.match_rate == pytest.approx(rate, abs=5e-5)
    assert (joined.loc[joined["join_status"] != "code", "municipal_marginalization_grade"].isna()).all()
    assert joined["join_status"].str.startswith("unmatched: ").sum() == int((~matched).sum())
    assert "02007" in set(report.unmatched["key"])  # San Felipe (Baja California), created in 2021
    # a built-in table names itself and carries its credit into the report
    assert report.table == f"built-in table conapo_marginalization ({year})"
    assert report.notes[0].startswith("Fuente: CONAPO")


# --- joins by code and name (SYNTHETIC tables) ------------------------------------------------


def _units() -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 2, 3, 4, 5],
                         "muni": ["12041", "12041", "07058", "12999", None],
                         "name": ["Tlapa", "Tlapa", "Nicolas Ruiz", "San Juan", "Santa Cruz"],
                         "state": ["12", "12", "07", "12", "20"],
                         "population": [100.0, 50.0, 30.0, 20.0, 10.0]})


def _table() -> pd.DataFrame:
    return pd.DataFrame({"CVE_ENT": [12, 7, 12, 20, 20], "CVE_MUN": [41, 58, 77, 500, 501],
                         "NOM": ["Tlapa de Comonfort", "Nicolás Ruíz", "San Juan", "Santa Cruz", "Santa Cruz"],
                         "poverty_pct": [70.0, 55.0, 40.0, 60.0, 65.0]})


def test_composed_keys_zero_padding_and_report() -> None:
    joined, rep = join_indicators(_units(), _table(), on="muni", table_on=["CVE_ENT", "CVE_MUN"], widths=[2, 3],
                                  columns=["poverty_pct"], label="name")
    assert joined["poverty_pct"].tolist()[:3] == [70.0, 70.0, 55.0]
    assert joined["poverty_pct"].isna().tolist()[3:] == [True, True]  # unknown, never 0
    assert joined["join_status"].tolist() == ["code", "code", "code", "unmatched: 12999 not in the indicator table",
                                              "unmatched: no key"]
    assert (rep.n_matched, rep.n_units, rep.population_matched, rep.population_total) == (3, 5, 180.0, 210.0)
    assert rep.unmatched["key"].tolist() == ["", "12999"]
    assert "CVE_ENT (zero-padded to 2) + CVE_MUN (zero-padded to 3)" in rep.method


def test_name_fallback_within_groups_takes_unique_matches_only() -> None:
    joined, rep = join_indicators(_units(), _table(), on="muni", table_on=["CVE_ENT", "CVE_MUN"], widths=[2, 3],
                                  names=("name", "NOM"), within=("state", "CVE_ENT"), columns=["poverty_pct"])
    # unit 4 "San Juan" (state 12) matches by name; unit 5 "Santa Cruz" is ambiguous in state 20
    assert joined["join_status"].tolist()[3:] == ["name", "unmatched: no key"]
    assert joined["poverty_pct"].iloc[3] == 40.0 and math.isnan(joined["poverty_pct"].iloc[4])
    assert rep.n_by_name == 1 and any("ambiguous" in n for n in rep.notes)


def test_join_refusals() -> None:
    dup = pd.concat([_table(), _table().iloc[[0]]])
    with pytest.raises(ColumnError, match=r"duplicated keys .*'12041' \(2 rows\)"):
        join_indicators(_units(), dup, on="muni", table_on=["CVE_ENT", "CVE_MUN"], widths=[2, 3])
    with pytest.raises(ColumnError, match=r"no key of the units \(muni, e.g. '12041'\) matches CVE_MUN"):
        join_indicators(_units(), _table(), on="muni", table_on="CVE_MUN")  # forgot the state part
    with pytest.raises(ColumnError, match="'name' exist in the units"):
        join_indicators(_units(), _table().rename(columns={"NOM": "name"}), on="muni",
                        table_on=["CVE_ENT", "CVE_MUN"], widths=[2, 3])
    with pytest.raises(ConfigError, match="needs 2 widths"):
        join_indicators(_units(), _table(), on="muni", table_on=["CVE_ENT", "CVE_MUN"], widths=5)


def test_normalize_codes() -> None:
    got = normalize_codes([1001, 1001.0, " 1001 ", "1001.0", "01001", "-", None, float("nan"), "BR-43"], width=5)
    assert got.tolist() == ["01001"] * 5 + [None, None, None, "BR-43"]


# --- derived counts and summaries beside population (SYNTHETIC, worked by hand) ---------------


def _places() -> pd.DataFrame:
    return pd.DataFrame({"population": [1000.0, 2000.0, 500.0, 4000.0, 1500.0],
                         "poverty_pct": [50.0, 10.0, 80.0, 5.0, np.nan],
                         "travel_time_city_min": [30.0, 200.0, np.nan, 100.0, 60.0],
                         "area_class": ["MRA", "FRA", "MRA", "FRA", "MRA"]})


def test_share_of_the_poor_within_x_hours_by_hand() -> None:
    """poor = population x poverty % / 100 = 500, 200, 400, 200, unknown. Within 2 h: places 1, 4
    and 5 (30, 100, 60 min); the poor among them with a known count: 500 + 200 = 700 of 1,300
    known (place 5 unknown, 1,500 people); population within 2 h: 6,500 of 9,000. Within 1 h:
    places 1 and 5: 2,500 people, 500 poor."""
    p, sources = derive_counts(_places(), {"poor": "poverty_pct"}, source="SYNTHETIC survey")
    assert p["poor"].tolist()[:4] == [500.0, 200.0, 400.0, 200.0] and math.isnan(p["poor"].iloc[4])
    assert sources == {"poor": "population × poverty_pct / 100 (rate: SYNTHETIC survey)"}
    w = indicator_within(p, [60, 120], counts=["poor"]).set_index(["threshold_min", "indicator"])
    assert w.loc[(120.0, "poor"), "within"] == 700.0 and w.loc[(120.0, "poor"), "total"] == 1300.0
    assert w.loc[(120.0, "poor"), "share_within"] == pytest.approx(700 / 1300)
    assert (w.loc[(120.0, "poor"), "places_unknown"], w.loc[(120.0, "poor"), "population_unknown"]) == (1, 1500.0)
    assert w.loc[(120.0, "population"), "share_within"] == pytest.approx(6500 / 9000)
    assert w.loc[(60.0, "poor"), "within"] == 500.0 and w.loc[(60.0, "population"), "within"] == 2500.0


def test_mra_share_of_the_poor_by_hand() -> None:
    """MRA: people 1,000 + 500 + 1,500 = 3,000; poor 500 + 400 = 900 (one unknown); poverty rate
    population-weighted over known rates (50 x 1,000 + 80 x 500) / 1,500 = 60 %. FRA: 6,000
    people, 400 poor, rate (10 x 2,000 + 5 x 4,000) / 6,000 = 6.67 %."""
    p, _sources = derive_counts(_places(), {"poor": "poverty_pct"})
    s = summarize_indicators(p, "area_class", counts=["poor"], rates=["poverty_pct"]).set_index("area_class")
    assert s.loc["MRA", "population"] == 3000 and s.loc["MRA", "poor"] == 900 and s.loc["MRA", "unknown_poor"] == 1
    assert s.loc["MRA", "share_poor"] == pytest.approx(900 / 1300)
    assert s.loc["MRA", "share_population"] == pytest.approx(3000 / 9000)
    assert s.loc["MRA", "poverty_pct"] == pytest.approx(60.0)
    assert s.loc["FRA", "poverty_pct"] == pytest.approx((10 * 2000 + 5 * 4000) / 6000)
    assert s.loc["total", "poor"] == 1300 and s.loc["total", "share_poor"] == 1.0


def test_derived_count_bad_rates() -> None:
    p = _places()
    p.loc[1, "poverty_pct"] = 140.0
    with pytest.raises(ColumnError, match=r"'poverty_pct' holds 140 \(row 1\), outside 0-100"):
        derive_counts(p, {"poor": "poverty_pct"})
    p["poverty_pct"] = ["50", "x", "1", "2", "3"]
    with pytest.raises(ColumnError, match="'poverty_pct' is not numeric: value 'x'"):
        derive_counts(p, {"poor": "poverty_pct"})


def test_share_of_land_within_by_hand() -> None:
    """Four 10 km squares (SYNTHETIC, UTM 14N): 30 min, 90 min, unreachable, and one without any
    locality (access unknown: outside the share). Within 60 min: 1 of the 3 known squares."""
    sq = [box(500000 + 10000 * i, 2000000, 510000 + 10000 * i, 2010000) for i in range(4)]
    areas = gpd.GeoDataFrame({"travel_time_city_min": [30.0, 90.0, np.nan, np.nan], "n_localities": [2, 1, 1, 0]},
                             geometry=sq, crs=32614)
    w = land_within(areas, [60, 120]).set_index("threshold_min")
    assert w.loc[60.0, "share_within"] == pytest.approx(1 / 3, rel=1e-4)
    assert w.loc[120.0, "share_within"] == pytest.approx(2 / 3, rel=1e-4)
    assert w.loc[60.0, "area_km2_unknown"] == pytest.approx(100.0, rel=2e-3)  # UTM scale 0.9996 near the meridian
    assert w.loc[60.0, "area_km2_total"] == pytest.approx(300.0, rel=2e-3)


# --- spatial joins against an independent overlay (SYNTHETIC) ---------------------------------


@pytest.fixture(scope="module")
def zonings() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """SYNTHETIC: four 10 km source squares (census tracts with a poverty rate and a count of
    poor) and three target polygons cutting across them, plus 400 localities with populations."""
    x0, y0 = 500000, 2000000
    src = gpd.GeoDataFrame({"poverty_pct": [20.0, 40.0, 60.0, np.nan], "poor": [1000.0, 2000.0, 3000.0, 4000.0]},
                           geometry=[box(x0 + dx, y0 + dy, x0 + dx + 10000, y0 + dy + 10000)
                                     for dy in (0, 10000) for dx in (0, 10000)], crs=32614)
    tgt = gpd.GeoDataFrame({"t": ["a", "b", "c"]}, geometry=[
        box(x0 + 5000, y0 + 2000, x0 + 15000, y0 + 12000),
        Polygon([(x0, y0 + 12000), (x0 + 18000, y0 + 19000), (x0 + 2000, y0 + 19500)]),
        box(x0 + 30000, y0, x0 + 35000, y0 + 5000)], crs=32614)  # c overlaps nothing
    rng = np.random.default_rng(21)
    xy = rng.uniform([x0, y0], [x0 + 20000, y0 + 20000], size=(400, 2))
    locs = gpd.GeoDataFrame({"population": rng.integers(10, 5000, 400).astype(float)},
                            geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=32614)
    return src, tgt, locs


def _overlay_expected(src: gpd.GeoDataFrame, tgt: gpd.GeoDataFrame, locs: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """Independent: geopandas overlay pieces, weights = piece area or population of the points in it."""
    s = src.assign(s=range(len(src)))  # the SYNTHETIC shapes are defined (straight-edged) in UTM
    t = tgt.assign(u=range(len(tgt)))
    pieces = gpd.overlay(t, s, how="intersection", keep_geom_type=True)
    if locs is None:
        pieces["w"] = pieces.area
        W = s.area.to_numpy()
    else:
        pts = locs
        hit = gpd.sjoin(pts, pieces[["u", "s", "geometry"]], predicate="within")
        pieces["w"] = pieces.set_index(["u", "s"]).index.map(hit.groupby(["u", "s"])["population"].sum()).fillna(0.0)
        W = gpd.sjoin(pts, s[["s", "geometry"]], predicate="within").groupby("s")["population"].sum() \
            .reindex(range(len(s))).to_numpy()
    rows = []
    for u in range(len(tgt)):
        p = pieces[pieces["u"] == u]
        r = src["poverty_pct"].to_numpy()[p["s"]]
        ok = np.isfinite(r)
        rate = float((r[ok] * p["w"][ok]).sum() / p["w"][ok].sum()) if p["w"][ok].sum() > 0 else np.nan
        poor = float((src["poor"].to_numpy()[p["s"]] * p["w"] / W[p["s"]]).sum()) if len(p) else np.nan
        rows.append({"poverty_pct": rate, "poor": poor})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("weights", ["area", "population"])
def test_spatial_join_matches_an_independent_overlay(zonings, weights: str) -> None:
    src, tgt, locs = zonings
    got, rep = join_spatial(tgt, src, rates=["poverty_pct"], counts=["poor"], weights=weights,
                            localities=locs if weights == "population" else None)
    want = _overlay_expected(src, tgt, locs if weights == "population" else None)
    assert got["poverty_pct"].iloc[:2].to_numpy() == pytest.approx(want["poverty_pct"].iloc[:2].to_numpy(), rel=1e-4)
    assert got["poor"].iloc[:2].to_numpy() == pytest.approx(want["poor"].iloc[:2].to_numpy(), rel=1e-4)
    assert got["join_status"].tolist() == ["spatial", "spatial", "unmatched: overlaps no polygon"]
    assert math.isnan(got["poverty_pct"].iloc[2]) and rep.n_spatial == 2
    if weights == "population":  # the two weightings differ here (the test can fail)
        area = join_spatial(tgt, src, rates=["poverty_pct"], counts=["poor"])[0]
        assert not np.allclose(area["poverty_pct"].iloc[:2], got["poverty_pct"].iloc[:2])


def test_points_take_the_values_of_their_polygon(zonings) -> None:
    src, _tgt, locs = zonings
    pts = gpd.GeoDataFrame(geometry=[Point(503000, 2003000), Point(515000, 2015000), Point(600000, 2000000)],
                           crs=32614).to_crs(4326)
    got, _rep = join_spatial(pts, src, rates=["poverty_pct"])
    assert got["poverty_pct"].iloc[0] == 20.0 and math.isnan(got["poverty_pct"].iloc[1])  # rate unknown there
    assert got["join_status"].tolist() == ["spatial", "spatial", "unmatched: outside every polygon"]
    with pytest.raises(ConfigError, match="counts cannot be joined onto points"):
        join_spatial(pts, src, counts=["poor"])


# --- CLI --------------------------------------------------------------------------------------


def test_cli_join_catalogue_with_derived_counts(tmp_path: Path) -> None:
    out = tmp_path / "gro.gpkg"
    res = CliRunner().invoke(main, ["-q", "join", "catalogue:inegi_localities,state=Guerrero",
                                    "conapo_marginalization:2020", "--on", "municipality_code", "--width", "5",
                                    "--columns", "illiterate_pct,marginalization_grade", "--prefix", "municipal_",
                                    "--count", "illiterate=municipal_illiterate_pct", "-o", str(out)])
    assert res.exit_code == 0, res.output
    got = gpd.read_file(out)
    assert got["join_status"].eq("code").mean() > 0.98
    ok = got["municipal_illiterate_pct"].notna()
    assert np.allclose(got.loc[ok, "illiterate"], got.loc[ok, "population"] * got.loc[ok, "municipal_illiterate_pct"] / 100)
    rep = json.loads((tmp_path / "gro_join.json").read_text())
    assert rep["derived"]["illiterate"].startswith("population × municipal_illiterate_pct / 100")
    assert rep["n_matched"] == int(ok.sum()) and "Fuente: CONAPO" in " ".join(rep["notes"])
    assert {u["key"] for u in rep["unmatched"]} == {"12082", "12083", "12084", "12085"}  # Guerrero's new municipalities


def test_cli_join_bad_inputs(tmp_path: Path) -> None:
    units = tmp_path / "units.csv"
    pd.DataFrame({"code": ["12041", "07058"], "population": [100, 200]}).to_csv(units, index=False)
    table = tmp_path / "table.csv"
    pd.DataFrame({"code": ["12041", "07058"], "poverty": ["55.1", "sin dato"]}).to_csv(table, index=False)
    out = tmp_path / "j.csv"
    assert_cli_fails(["join", str(units), str(table), "--on", "code", "--count", "poor=poverty", "-o", str(out)],
                     "'poverty' is not numeric: value 'sin dato'", out)
    assert not (tmp_path / "j_join.json").exists()
    muni_only = tmp_path / "muni_only.csv"  # municipality part without the state part: matches nothing
    pd.DataFrame({"cve_mun": ["041", "058"], "poverty": [55.1, 40.0]}).to_csv(muni_only, index=False)
    assert_cli_fails(["join", str(units), str(muni_only), "--on", "code=cve_mun", "-o", str(out)],
                     "no key of the units (code, e.g. '12041') matches cve_mun", out)
    assert_cli_fails(["join", str(units), str(table), "--on", "codigo", "-o", str(out)], "no column 'codigo'", out)
    assert_cli_fails(["join", str(units), "conapo_marginalization:2030", "--on", "code", "-o", str(out)],
                     "year '2030' not available", out)
