"""Indicators, typologies and periods in a study: the [indicators], [periods] and [typologies]
sections (checked before any stage) and their stages, on the Mexican example's real localities
(INEGI 2020) and CONAPO tables, offline."""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import math
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from territorial_gis.data import data_path

from territorial_gis.config import StudyConfig, load_study_config
from territorial_gis.errors import ConfigError
from territorial_gis.outputs import load_study_outputs
from territorial_gis.pipeline import (
    STAGES,
    StageError,
    _Ctx,
    _run_stages,
    _write_study_json,
    load_study_places,
)

ROOT = Path(__file__).resolve().parents[1]
GUERRERO = ROOT / "examples" / "guerrero_montana" / "study.toml"
RAW_LOCALITIES = data_path("catalogues", "localidades_ge1000.csv")
RAW_90_15 = data_path("catalogues", "Base_Indice_de_marginacion_municipal_90-15.csv")
RAW_2020 = data_path("catalogues", "IMM_2020.csv")
STAGE_NAMES = ("periods", "indicators", "typologies", "indicator_summaries")
#: Tlapa de Comonfort, the intermediate city of La Montaña (INEGI locality 120660001)
TLAPA_LONLAT = (-98.5757, 17.5466)

BASE = ('[network]\nplace = "a"\n[localities]\ngrid_hex_m = 500\n[tiers]\nx = "population>=1"\n')


# --- the config -------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expect", [
    ('[indicators]\ncount = ["jobs"]\n', "[indicators]: unknown key(s) count"),
    ('[indicators]\nwithin_min = [60, -1]\n', "[indicators] within_min = [60, -1]: expected a positive number"),
    ('[indicators]\nwithin_tiers = ["y"]\n', "[indicators] within_tiers = 'y': not a tier of the study (x)"),
    ('[indicators]\njoin = "conapo"\n', "[indicators.join]: expected a list of tables ([[indicators.join]] blocks)"),
    ('[[indicators.join]]\ntable = "conapo_marginalization:2020"\nonn = "code"\n',
     "[indicators.join 1]: unknown key(s) onn"),
    ('[[indicators.join]]\ntable = "conapo_marginalization:2021"\non = "code"\n',
     "[indicators.join 1] table = 'conapo_marginalization:2021': conapo_marginalization: year '2021' not available"),
    ('[[indicators.join]]\ntable = "coneval_poverty"\non = "code"\n',
     "[indicators.join 1] table = 'coneval_poverty': no such file, and not a built-in table"),
    ('[[indicators.join]]\ntable = "conapo_marginalization:2020"\n',
     "[indicators.join 1]: needs 'on'"),
    ('[[indicators.join]]\ntable = "conapo_marginalization:2020"\non = "code"\nwidth = "five"\n',
     "[indicators.join 1] width = 'five': expected a whole number or a list of whole numbers"),
    ('[[indicators.join]]\ntable = "conapo_marginalization:2020"\nnames = ["a"]\n',
     "[indicators.join 1] names = ['a']: expected 2 values"),
    ('[[indicators.join]]\ntable = "conapo_marginalization:2020"\non = "c"\nwhere = "year === 2020"\n',
     "[indicators.join 1] where = 'year === 2020'"),
    ('[[indicators.join]]\ntable = "conapo_marginalization"\nspatial = true\n',
     "[indicators.join 1]: a spatial join needs rates"),
    ('[periods]\ntables = ["conapo_marginalization:2020"]\nkey = "municipality_code"\n',
     "[periods]: needs tables: two or more"),
    ('[periods]\ntables = ["conapo_marginalization:2010", "conapo_marginalization:2020"]\n',
     "[periods]: needs key"),
    ('[periods]\ntables = ["conapo_marginalization:2010", "conapo_marginalization:2020"]\nkey = "k"\n'
     'labels = ["a"]\n', "[periods] labels = ['a']: expected 2 distinct labels"),
    ('[periods]\ntables = ["conapo_marginalization:2010", "conapo_marginalization:2020"]\nkey = "k"\n'
     'bands_tier = "city"\n', "[periods] bands_tier = 'city': not a tier of the study (x)"),
    ('[[typologies.apply]]\ntypology = "blue"\n', "[typologies.apply 1] typology = 'blue': no such file, and not a "
                                                  "shipped name"),
    ('[[typologies.apply]]\ntypology = "red"\nthresholds = { growth = 5 }\n',
     "[typologies.apply 1] thresholds: growth not a threshold of red"),
    ('[[typologies.apply]]\ntypology = "red"\nthresholds = { growth_pct = "high" }\n',
     "[typologies.apply 1] thresholds = {'growth_pct': 'high'}: expected a table of numbers"),
    ('[[typologies.apply]]\ntypology = "red"\nunits = "periods"\n',
     "[typologies.apply 1] units = 'periods': the study has no [periods] section"),
    ('[[typologies.apply]]\ntypology = "red"\nunits = "states"\n',
     "[typologies.apply 1] units = 'states': expected one of 'localities', 'areas', 'periods'"),
    ('[[typologies.apply]]\ntypology = "red"\n[[typologies.apply]]\ntypology = "red"\n',
     "[typologies.apply 2]: typology 'red' is applied to the localities twice"),
])
def test_config_errors_name_file_section_key_and_value(tmp_path: Path, text: str, expect: str) -> None:
    p = tmp_path / "c.toml"
    p.write_text(BASE + text)
    with pytest.raises(ConfigError) as info:
        load_study_config(p)
    assert expect in str(info.value)
    assert str(info.value).startswith(f"{p}: ")


def test_typology_file_with_an_unknown_operator_fails_before_any_stage(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text('[typology]\nname = "mine"\ncolumn = "c"\n'
                                        '[[class]]\nname = "a"\nwhen = "x >> 3"\n[[class]]\nname = "b"\notherwise = true\n')
    p = tmp_path / "c.toml"
    p.write_text(BASE + '[[typologies.apply]]\ntypology = "mine.toml"\n')
    with pytest.raises(ConfigError, match=r"\[typologies.apply 1\] typology = '.*mine.toml': .*'>>'"):
        load_study_config(p)


def test_sections_round_trip_through_study_json() -> None:
    """study.json keeps the resolved config; a study (or a scenario comparison) reads it back."""
    cfg = load_study_config(GUERRERO)
    again = StudyConfig.from_dict(cfg.to_dict(), source="study.json")
    assert again.to_dict() == cfg.to_dict()
    assert again.indicators is not None and again.indicators.join[0].width == 5
    assert again.typologies is not None and [a.typology for a in again.typologies.apply] == ["red", "mra_subtypes"]


# --- the stages on the Guerrero example (real localities and CONAPO tables) --------------------
def _raw_localities() -> pd.DataFrame:
    """INEGI localities of Guerrero in the example's box, read with the csv module."""
    with open(RAW_LOCALITIES, encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["cve_entidad"] == "12"
                and -99.3 <= float(r["longitud"]) <= -98.2 and 17.2 <= float(r["latitud"]) <= 18.0]
    return pd.DataFrame({"code": [r["cve_entidad"] + r["cve_municipio"] for r in rows],
                         "locality": [r["cvegeo"] for r in rows],
                         "population": [float(r["poblacion_total"]) for r in rows]})


def _raw_conapo(year: int) -> dict[str, dict[str, str]]:
    """{5-digit municipality code: raw row} of CONAPO's table for ``year`` (Guerrero)."""
    if year == 2020:
        with open(RAW_2020, encoding="utf-8-sig", newline="") as fh:
            return {r["CVE_MUN"]: r for r in csv.DictReader(fh) if r["CVE_ENT"] == "12"}
    with open(RAW_90_15, encoding="utf-8", newline="") as fh:
        return {r["CVE_MUN"].zfill(5): r for r in csv.DictReader(fh) if r["AÑO"] == str(year) and r["CVE_ENT"] == "12"}


def _synthetic_access(loc: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """SYNTHETIC travel times (the real roads need internet): straight-line distance to Tlapa at
    30 km/h for both tiers, and a SYNTHETIC class: MRA beyond 2 hours."""
    xy = loc.geometry.to_crs(32614)
    tlapa = gpd.GeoSeries.from_xy([TLAPA_LONLAT[0]], [TLAPA_LONLAT[1]], crs=4326).to_crs(32614).iloc[0]
    minutes = xy.distance(tlapa).to_numpy() / 1000.0 / 30.0 * 60.0
    return loc.assign(travel_time_intermediate_city_min=minutes, travel_time_employment_centre_min=minutes,
                      area_class=np.where(minutes > 120.0, "MRA", "FRA"))


def _run(cfg: StudyConfig, folder: Path, localities: gpd.GeoDataFrame) -> _Ctx:
    """The study's indicator stages, then its localities table and study.json, into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    ctx = _Ctx(cfg=cfg, stage_dir=folder, cache_dir=None)
    ctx.state.update(localities_out=localities, areas=None)
    _run_stages(ctx, False, [s for s in STAGES if s[0] in (*STAGE_NAMES, "outputs")])
    _write_study_json(ctx)
    return ctx


@pytest.fixture(scope="module")
def guerrero(tmp_path_factory: pytest.TempPathFactory) -> tuple[_Ctx, Path]:
    cfg = load_study_config(GUERRERO)
    loc = _synthetic_access(load_study_places(cfg, None).localities)
    folder = tmp_path_factory.mktemp("guerrero")
    return _run(cfg, folder, loc), folder


def test_periods_cover_the_study_municipalities_with_the_raw_values(guerrero: tuple[_Ctx, Path]) -> None:
    ctx, folder = guerrero
    raw = _raw_localities()
    periods = pd.read_csv(folder / "periods.csv", dtype={"municipality_code": str})
    assert sorted(periods["municipality_code"]) == sorted(set(raw["code"]))  # 26 municipalities
    r2010, r2020 = _raw_conapo(2010), _raw_conapo(2020)
    loc = ctx.state["localities_out"]
    assert len(loc) == len(raw) == 114
    for _, row in loc.iterrows():
        code = row["municipality_code"]
        assert row["municipal_population_2010"] == float(r2010[code]["POB_TOT"])
        assert row["municipal_population_2020"] == float(r2020[code]["POB_TOT"])
        assert row["municipal_period_status"] == "both"
        # the derived count: the locality's people x its municipality's raw share without piped water
        assert row["no_piped_water"] == pytest.approx(row["population"] * float(r2020[code]["OVSAE"]) / 100.0)
    # the locality's own population is never replaced by its municipality's
    assert loc["population"].sum() == raw["population"].sum() == 317_720


def test_transitions_and_growth_by_band_add_up(guerrero: tuple[_Ctx, Path]) -> None:
    _ctx, folder = guerrero
    codes = set(_raw_localities()["code"])
    r2010, r2020 = _raw_conapo(2010), _raw_conapo(2020)
    pairs = Counter((r2010[c]["GM"].strip(), r2020[c]["GM_2020"].strip()) for c in codes)
    tr = pd.read_csv(folder / "period_transitions.csv")
    assert set(tr["column"]) == {"marginalization_grade"}
    got = {(a, b): n for a, b, n in zip(tr["from"], tr["to"], tr["n_units"], strict=True) if n}
    assert got == dict(pairs) and tr["n_units"].sum() == len(codes)
    bands = pd.read_csv(folder / "period_bands.csv")
    assert bands["population_2010"].sum() == sum(float(r2010[c]["POB_TOT"]) for c in codes)
    assert bands["population_2020"].sum() == sum(float(r2020[c]["POB_TOT"]) for c in codes)
    assert bands["n_units"].sum() == len(codes)


def test_municipal_travel_time_is_the_population_weighted_mean_of_its_localities(
        guerrero: tuple[_Ctx, Path]) -> None:
    ctx, folder = guerrero
    periods = pd.read_csv(folder / "periods.csv", dtype={"municipality_code": str}).set_index("municipality_code")
    loc = pd.DataFrame(ctx.state["localities_out"])
    for code, g in loc.groupby("municipality_code"):
        t, w = g["travel_time_intermediate_city_min"].to_numpy(), g["population"].to_numpy()
        assert periods.loc[code, "travel_time_intermediate_city_min"] == pytest.approx(float((t * w).sum() / w.sum()))


def test_red_types_per_municipality_reach_their_localities(guerrero: tuple[_Ctx, Path]) -> None:
    ctx, folder = guerrero
    periods = pd.read_csv(folder / "periods.csv", dtype={"municipality_code": str}).set_index("municipality_code")
    loc = ctx.state["localities_out"]
    assert (loc["red_type"].to_numpy() == periods.loc[loc["municipality_code"], "red_type"].to_numpy()).all()
    assert loc["red_type_reasons"].str.contains("grade code").all()
    # RED by hand from the table's own values (the engine is tested in test_typology)
    marginalized = (periods["marginalization_grade_code"] >= 4) & (periods["marginalization_percentile_change"] > -5)
    assert ((periods["red_type"] == "marginalized") == marginalized).all()
    summary = pd.read_csv(folder / "typologies.csv")
    red = summary[(summary["typology"] == "red") & (summary["class"] == "total")].iloc[0]
    assert red["units"] == "periods" and red["n_units"] == 26
    assert red["population"] == sum(float(r["POB_TOT"]) for c, r in _raw_conapo(2020).items() if c in periods.index)
    layers = set(gpd.list_layers(folder / "typologies.gpkg")["name"])
    assert layers == {"red_periods", "mra_subtypes"}
    applied = {a["name"]: a for a in ctx.info["typologies"]["applied"]}
    assert applied["red"]["layer"] == "red_periods" and applied["red"]["column"] == "red_type"
    assert sum(applied["red"]["counts"].values()) == 26


def test_study_outputs_reads_the_new_tables_and_layers(guerrero: tuple[_Ctx, Path]) -> None:
    _ctx, folder = guerrero
    out = load_study_outputs(folder)
    assert out.periods is not None and out.periods["municipality_code"].str.len().eq(5).all()  # codes as text
    for name in ("period_transitions", "period_bands", "typologies", "typology_sensitivity", "indicators_within",
                 "indicators_by_group"):
        assert getattr(out, name) is not None, name
    assert out.land_within is None  # the localities are points: no land share
    assert set(out.typology_layers) == {"red_periods", "mra_subtypes"}
    assert [(a["name"], a["units"], a["layer"]) for a in out.typologies_applied] == [
        ("red", "periods", "red_periods"), ("mra_subtypes", "localities", "mra_subtypes")]
    red = out.typology_layers["red_periods"]
    assert len(red) == 114 and red.crs.to_epsg() == 4326 and {"red_type", "red_type_reasons"} <= set(red.columns)
    assert {"municipal_population_2010", "red_type", "no_piped_water", "join_status"} <= set(out.localities.columns)


def test_indicators_by_red_type_and_mra_subtype(guerrero: tuple[_Ctx, Path]) -> None:
    """People without piped water by RED type of their municipality and by MRA/poverty class:
    sums over the localities recomputed here."""
    ctx, folder = guerrero
    loc = pd.DataFrame(ctx.state["localities_out"])
    g = pd.read_csv(folder / "indicators_by_group.csv").set_index(["by", "group"])
    assert {"area_class", "red_type", "mra_poverty_type"} <= set(g.index.get_level_values("by"))
    for by in ("red_type", "mra_poverty_type", "area_class"):
        for cls, part in loc.groupby(by):
            assert g.loc[(by, cls), "no_piped_water"] == pytest.approx(part["no_piped_water"].sum())
            assert g.loc[(by, cls), "population"] == part["population"].sum()
            rate = (part["illiterate_pct"] * part["population"]).sum() / part["population"].sum()
            assert g.loc[(by, cls), "illiterate_pct"] == pytest.approx(rate)
    w = pd.read_csv(folder / "indicators_within.csv").set_index(["tier", "threshold_min", "indicator"])
    t = loc["travel_time_intermediate_city_min"]
    assert w.loc[("intermediate_city", 120.0, "no_piped_water"), "within"] == pytest.approx(
        loc.loc[t <= 120, "no_piped_water"].sum())
    info = ctx.info["indicators"]
    assert info["joins"][0]["n_matched"] == 114 and "Fuente: CONAPO" in info["joins"][0]["notes"][0]
    assert info["derived"]["no_piped_water"].startswith("population × no_piped_water_pct / 100 (rate: CONAPO 2020")


def test_bad_indicator_inputs_stop_the_stage_with_one_message(tmp_path: Path) -> None:
    cfg = load_study_config(GUERRERO)
    loc = _synthetic_access(load_study_places(cfg, None).localities)
    assert cfg.indicators is not None
    # a derived count over a text column
    bad = dataclasses.replace(cfg, periods=None, typologies=None,
                              indicators=dataclasses.replace(cfg.indicators, derive={"x": "marginalization_grade"}))
    with pytest.raises(StageError, match="stage 'indicators' failed: .*'marginalization_grade' is not numeric"):
        _run(bad, tmp_path / "a", loc)
    # a table column that does not exist
    join = dataclasses.replace(cfg.indicators.join[0], columns=["poverty_pct"])
    bad = dataclasses.replace(cfg, periods=None, typologies=None,
                              indicators=dataclasses.replace(cfg.indicators, join=[join], derive={}))
    with pytest.raises(StageError, match="stage 'indicators' failed: .*no column\\(s\\) 'poverty_pct'"):
        _run(bad, tmp_path / "b", loc)
    # a key that matches nothing
    join = dataclasses.replace(cfg.indicators.join[0], on="locality_code", table_on="municipality_code", width=None)
    bad = dataclasses.replace(cfg, periods=None, typologies=None,
                              indicators=dataclasses.replace(cfg.indicators, join=[join], derive={}))
    with pytest.raises(StageError, match="stage 'indicators' failed: no key of the units \\(locality_code"):
        _run(bad, tmp_path / "c", loc)


# --- the offline Mexican example ---------------------------------------------------------------
def test_chiapas_marginalization_example_runs_offline(tmp_path: Path) -> None:
    """examples/chiapas_marginalization (no roads needed): join, derived count, 2010 -> 2020
    comparison, RED types and the summaries, checked against the raw CONAPO file."""
    path = ROOT / "examples" / "chiapas_marginalization" / "marginalization.py"
    spec = importlib.util.spec_from_file_location("chiapas_marginalization", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    files = mod.run(tmp_path)
    assert {p.name for p in files.values()} == {
        "localities.csv", "join.json", "municipalities.csv", "transitions.csv", "red_summary.csv",
        "red_sensitivity.csv", "by_red_type.csv"}
    with open(RAW_2020, encoding="utf-8-sig", newline="") as fh:
        raw = {r["CVE_MUN"]: r for r in csv.DictReader(fh) if r["CVE_ENT"] == "07"}
    muni = pd.read_csv(files["municipalities"], dtype={"municipality_code": str})
    both = muni[muni["period_status"] == "both"]
    assert len(both) == 118  # Chiapas' municipalities present in 2010 and 2020
    tr = pd.read_csv(files["transitions"], index_col=0)
    assert tr.loc["total", "total"] == len(both)
    by = pd.read_csv(files["by_red_type"]).set_index("red_type")
    loc = pd.read_csv(files["localities"], dtype={"municipality_code": str})
    expected = sum(p * float(raw[c]["OVSAE"]) / 100.0 for p, c in zip(loc["population"], loc["municipality_code"],
                                                                     strict=True) if c in raw)
    assert by.loc["total", "no_piped_water"] == pytest.approx(expected)
    assert not math.isnan(by.loc["marginalized", "share_no_piped_water"])


def test_typology_on_areas_and_land_within(tmp_path: Path) -> None:
    """SYNTHETIC: 2 km hexagons over a 0.2 x 0.2 degree box, one locality at each centre with a
    travel time growing eastwards; a typology file over the areas' own columns ('far' beyond 30
    min); the layer, the class counts and the share of land within 30 min (by hand: the far cells
    are the others)."""
    from territorial_gis.classify import classify_areas, make_hex_grid

    grid = make_hex_grid((-60.1, -10.1, -59.9, -9.9), 2000.0)
    centres = grid.geometry.to_crs(32721).centroid.to_crs(4326)
    minutes = (centres.x.to_numpy() + 60.1) * 300.0  # 0 to 60 minutes west to east
    pts = gpd.GeoDataFrame({"place_id": [f"p{i}" for i in range(len(grid))], "population": 100.0,
                            "travel_time_city_min": minutes}, geometry=centres.to_numpy(), crs=4326)
    classification = classify_areas(grid, {"access": {"max_hours": {"city": 0.75}}}, localities=pts)
    (tmp_path / "far.toml").write_text('[typology]\nname = "far"\ncolumn = "far_class"\n'
                                       '[thresholds]\nlimit = 30\n'
                                       '[[class]]\nname = "far"\nwhen = "travel_time_city_min > @limit"\n'
                                       '[[class]]\nname = "near"\notherwise = true\n')
    (tmp_path / "c.toml").write_text('[network]\nplace = "a"\n[localities]\ngrid_hex_m = 2000\n'
                                     '[tiers]\ncity = "population>=1"\n[indicators]\nland_within_min = [30]\n'
                                     '[[typologies.apply]]\ntypology = "far.toml"\nunits = "areas"\n')
    cfg = load_study_config(tmp_path / "c.toml")
    folder = tmp_path / "out"
    folder.mkdir()
    ctx = _Ctx(cfg=cfg, stage_dir=folder, cache_dir=None)
    ctx.state.update(localities_out=pts, areas=grid, classification=classification)
    _run_stages(ctx, False, [s for s in STAGES if s[0] in STAGE_NAMES])
    layer = gpd.read_file(folder / "typologies.gpkg", layer="far_areas")
    far = classification.areas["travel_time_city_min"] > 30
    assert len(layer) == len(grid) and (layer["far_class"] == np.where(far, "far", "near")).all()
    summary = pd.read_csv(folder / "typologies.csv").set_index("class")
    assert summary.loc["far", "n_units"] == int(far.sum()) and summary.loc["far", "units"] == "areas"
    land = pd.read_csv(folder / "land_within.csv").iloc[0]
    km2 = classification.areas.geometry.to_crs(32721).area.to_numpy() / 1e6
    assert land["share_within"] == pytest.approx(km2[~far].sum() / km2.sum(), rel=1e-3)
