"""Typology engine and presets: parsing, hand-checked classes and reasons, three-valued logic,
sensitivity monotonicity (hypothesis, SYNTHETIC tables), MRA/FRA on the engine against an
independent per-row implementation, the RED preset on the real CONAPO tables, CLI.

Real data: CONAPO's municipal marginalization tables shipped in data/catalogues; values quoted
in the reasons are checked against the raw CSV files read here with the csv module.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _cli import assert_cli_fails
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from territorial_gis.data import data_path

from territorial_gis._typology import evaluate, parse_condition, select_rows, typology_from_dict
from territorial_gis.classify import _class_arrays, rules_from_dict, rules_typology
from territorial_gis.errors import ColumnError, ConfigError, InputFileError
from territorial_gis.typology import (
    apply_typology,
    describe_typology,
    list_presets,
    load_typology,
    summarize_typology,
    typology_sensitivity,
)

RAW_90_15 = data_path("catalogues", "Base_Indice_de_marginacion_municipal_90-15.csv")
RAW_2020 = data_path("catalogues", "IMM_2020.csv")

# a SYNTHETIC three-class typology used by several tests
TOY = {
    "typology": {"name": "toy", "column": "kind", "sources": ["hand-made for the tests"]},
    "thresholds": {"far_h": 2.0, "poor_pct": 40.0, "code": {"value": 4, "vary": False}},
    "flags": {"poor": "poverty_pct >= @poor_pct"},
    "class": [
        {"name": "remote_poor", "all": [{"if": "time_min / 60 > @far_h", "label": "travel time", "unit": " h",
                                         "decimals": 1}, "poor"]},
        {"name": "graded", "when": "grade >= @code"},
        {"name": "named", "when": "region in ['north', 'west']"},
        {"name": "rest", "otherwise": True},
    ],
}


def _toy_table() -> pd.DataFrame:
    """SYNTHETIC units, classes worked by hand in the comments."""
    return pd.DataFrame({
        "unit": ["a", "b", "c", "d", "e", "f"],
        "time_min": [180.0, 180.0, 60.0, 60.0, np.nan, 30.0],
        "poverty_pct": [55.0, 20.0, 55.0, 10.0, 50.0, np.nan],
        "grade": [1.0, 5.0, 2.0, 1.0, 1.0, 1.0],
        "region": ["south", "south", "north", "south", "south", "south"],
        "population": [100.0, 200.0, 300.0, 400.0, 500.0, 600.0],
    })
# a: 3 h > 2 h and 55 >= 40 -> remote_poor
# b: 3 h but 20 < 40 -> not remote_poor; grade 5 >= 4 -> graded
# c: 1 h <= 2 h -> not remote_poor; grade 2; north -> named
# d: not remote, not graded, south -> rest
# e: time unknown and poor -> remote_poor undecided -> "undecided"
# f: 0.5 h -> remote_poor False (one known False in an all); grade 1; south -> rest


def test_toy_classes_and_reasons_by_hand() -> None:
    out = apply_typology(_toy_table(), TOY).set_index("unit")
    assert out["kind"].to_dict() == {"a": "remote_poor", "b": "graded", "c": "named", "d": "rest",
                                     "e": "undecided", "f": "rest"}
    r = out["kind_reasons"]
    assert r["a"] == "travel time 3.0 h > 2 h; poverty_pct 55 ≥ 40"
    assert r["b"] == "grade 5 ≥ 4"
    assert r["c"] == "region 'north' in [north, west]"
    assert r["d"].startswith("not remote_poor: travel time 1.0 h ≤ 2 h, poverty_pct 10 < 40; not graded: grade 1 < 4")
    assert "not named: region 'south' not in [north, west]" in r["d"]
    assert r["e"] == "remote_poor? undecided: travel time unknown"
    poor = out["poor"]  # the flag is written; unknown poverty is NA, not False
    assert poor.iloc[:5].tolist() == [True, False, True, False, True] and pd.isna(poor.iloc[5])


def test_missing_option_decides_unknown_values() -> None:
    spec = {**TOY, "class": [{"name": "remote", "when": {"if": "time_min > 120", "missing": True}},
                             {"name": "near", "otherwise": True}]}
    out = apply_typology(_toy_table(), spec)
    assert out["kind"].tolist() == ["remote", "remote", "near", "near", "remote", "near"]
    assert out["kind_reasons"].iloc[4] == "time_min unknown (counts as holding)"


@pytest.mark.parametrize("cond, match", [
    ("x => 3", "unknown operator '=>'"),
    ("x = 3", r"unknown operator '='.*use =="),
    ("x ~ 3", "unknown operator '~'"),
    ("x greater 3", "unknown operator 'greater'"),
    ("3 < x", "the left side must be a column"),
    ("x in 3", r"expected a list \[a, b, ...\]"),
    ("x >", "ends too early"),
    ("x > 3 4", "unexpected '4'"),
    ("x / y > 3", "scaled by a number"),
    ("x $ 3", r"cannot read '\$'"),
])
def test_bad_conditions(cond: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_condition(cond, "typo.toml: class 'a'")


@pytest.mark.parametrize("spec, match", [
    ({"class": [{"name": "a", "when": "x > @nope"}, {"name": "b", "otherwise": True}]}, "unknown threshold"),
    ({"klass": []}, r"unknown section\(s\) klass"),
    ({"typology": {"colour": "x"}, "class": []}, r"unknown key\(s\) in \[typology\]: colour"),
    ({"class": [{"name": "a", "when": "x > 1", "colour": 1}, {"name": "b", "otherwise": True}]},
     r"class 'a': unknown key\(s\) colour"),
    ({"class": [{"name": "a", "when": "x > 1"}]}, "the last class must be 'otherwise = true'"),
    ({"class": [{"name": "a", "otherwise": True}, {"name": "b", "otherwise": True}]}, "not the last class"),
    ({"class": [{"name": "a", "when": "x > 1", "all": ["y > 1"]}, {"name": "b", "otherwise": True}]},
     "exactly one of when/all/any"),
    ({"thresholds": {"t": "high"}, "class": [{"name": "b", "otherwise": True}]}, "must be a finite number"),
    ({"class": [{"name": "a", "when": {"iff": "x > 1"}}, {"name": "b", "otherwise": True}]}, "unknown key"),
    ({"class": [{"name": "a", "when": {"if": "x > 1", "missing": "yes"}}, {"name": "b", "otherwise": True}]},
     "'missing' must be true or false"),
    ({"flags": {"f": "g", "g": "x > 1"}, "class": [{"name": "b", "otherwise": True}]}, "defined after it"),
])
def test_bad_typology_tables(spec: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        typology_from_dict(spec, source="bad.toml")


def test_unknown_and_non_numeric_columns_are_named() -> None:
    bad_col = {**TOY, "class": [{"name": "a", "when": "povrty_pct > 3"}, {"name": "b", "otherwise": True}]}
    with pytest.raises(ColumnError, match=r"class 'a' uses column 'povrty_pct'.*did you mean 'poverty_pct'"):
        apply_typology(_toy_table(), bad_col)
    t = _toy_table()
    t["poverty_pct"] = t["poverty_pct"].astype(object)
    t.loc[2, "poverty_pct"] = "n/d"
    with pytest.raises(ColumnError, match=r"column 'poverty_pct' is not numeric: value 'n/d' in row 2"):
        apply_typology(t, TOY)
    t.loc[2, "poverty_pct"] = ""  # an empty cell is missing, not an error
    assert apply_typology(t, TOY)["kind"].iloc[2] == "named"


def test_select_rows_uses_the_same_conditions() -> None:
    t = _toy_table()
    assert select_rows(t, "time_min <= 60").tolist() == [False, False, True, True, False, True]
    assert select_rows(t, "region == 'north'").tolist() == [False, False, True, False, False, False]


# --- sensitivity: shares move monotonically with thresholds (hypothesis, SYNTHETIC) -----------

OPS = ("<", "<=", ">", ">=")


@st.composite
def _tables_and_typologies(draw):
    n = draw(st.integers(5, 40))
    vals = st.floats(0, 100, allow_nan=False) | st.just(float("nan"))
    df = pd.DataFrame({c: draw(st.lists(vals, min_size=n, max_size=n)) for c in ("x", "y", "z")})
    df["population"] = draw(st.lists(st.floats(0, 1000), min_size=n, max_size=n))
    classes = []
    thresholds = {}
    for k, col in enumerate(draw(st.permutations(["x", "y", "z"]))):
        op = draw(st.sampled_from(OPS))
        thresholds[f"t{k}"] = draw(st.floats(1, 99))
        missing = draw(st.sampled_from([None, True, False]))
        leaf = {"if": f"{col} {op} @t{k}"} | ({"missing": missing} if missing is not None else {})
        classes.append({"name": f"c{k}", "when": leaf})
    classes.append({"name": "rest", "otherwise": True})
    return df, {"typology": {"name": "h", "column": "cls"}, "thresholds": thresholds, "class": classes}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tables_and_typologies())
def test_sensitivity_shares_monotonic_in_their_thresholds(case) -> None:
    """A threshold used only by class k: earlier classes keep their shares; class k's share (of
    units and of population) moves with the threshold value in the direction of its operator."""
    df, spec = case
    typ = typology_from_dict(spec)
    sens = typology_sensitivity(df, typ)
    base = sens.iloc[0]
    for k, rule in enumerate(spec["class"][:-1]):
        name = f"t{k}"
        rows = pd.concat([sens[sens["parameter"] == name], sens.iloc[[0]].assign(threshold=typ.thresholds[name].value)])
        rows = rows.sort_values("threshold")
        op = rule["when"]["if"].split()[1]
        for share in (f"share_c{k}", f"population_share_c{k}"):
            v = rows[share].to_numpy()
            v = v[np.isfinite(v)]
            diffs = np.diff(v)
            if op in (">", ">="):  # x > t holds for fewer units as t grows
                assert (diffs <= 1e-12).all(), (name, share, v)
            else:
                assert (diffs >= -1e-12).all(), (name, share, v)
        for j in range(k):  # classes before k do not read t_k
            assert np.allclose(sens.loc[sens["parameter"] == name, f"share_c{j}"], base[f"share_c{j}"])


# --- MRA/FRA on the engine == an independent per-row implementation (hypothesis, SYNTHETIC) ---

AGRO = {"max_slope_deg": ("slope_deg", ">"), "max_altitude_m": ("elevation_m", ">"),
        "min_suitability_index": ("suitability_index", "<")}


def _reference_row(row: dict, r, tiers: list[str]) -> tuple[str, str]:
    """The MRA/FRA rules as documented in classify / rules/default.toml, one row at a time."""
    no_loc = "n_localities" in row and row["n_localities"] == 0
    if tiers:
        over = [math.isnan(row[f"travel_time_{t}_min"]) or row[f"travel_time_{t}_min"] / 60.0 > r.access_max_hours[t]
                for t in tiers]
        iso = (any(over) if r.access_combine == "any" else all(over)) and not no_loc
        acc_known = not no_loc
    else:
        iso, acc_known = False, False
    crit = [(row[col], getattr(r, key), op) for key, (col, op) in AGRO.items()
            if getattr(r, key) is not None and col in row]
    known = [not math.isnan(v) for v, _t, _o in crit]
    fails = [(v > t) if op == ">" else (v < t) for v, t, op in crit]
    if not crit:
        agro, agro_known = False, False
    elif r.agro_combine == "any":
        agro, agro_known = any(f and k for f, k in zip(fails, known, strict=True)), any(known)
    else:
        agro = all(f or not k for f, k in zip(fails, known, strict=True)) and any(known)
        agro_known = any(known)
    d = row.get("density_per_km2", float("nan"))
    dense = r.density_threshold_per_km2 is not None and not math.isnan(d) and d >= r.density_threshold_per_km2
    mra = iso or agro
    if r.density_role == "dense_is_favorable":
        mra = mra and not dense
    if not acc_known and not agro_known:
        return "unclassified", ""
    if not mra:
        return "FRA", ""
    return "MRA", "both" if iso and agro else "isolated" if iso else "agroecological"


@st.composite
def _mra_cases(draw):
    n = draw(st.integers(1, 30))
    v = st.floats(0, 500, allow_nan=False) | st.just(float("nan"))
    cols = {"travel_time_a_min": v, "travel_time_b_min": v, "slope_deg": v, "elevation_m": v,
            "suitability_index": v, "density_per_km2": v}
    keep = draw(st.lists(st.sampled_from(sorted(cols)), unique=True, min_size=1))
    df = pd.DataFrame({c: draw(st.lists(cols[c], min_size=n, max_size=n)) for c in keep})
    if draw(st.booleans()):
        df["n_localities"] = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    thr = st.floats(0.1, 300)
    rules = {"access": {"combine": draw(st.sampled_from(["any", "all"])),
                        "max_hours": {"a": draw(thr), "b": draw(thr)}},
             "agroecology": {"combine": draw(st.sampled_from(["any", "all"])),
                             **{k: draw(thr) for k in AGRO if draw(st.booleans())}},
             "density": {"threshold_per_km2": draw(thr),
                         "role": draw(st.sampled_from(["report", "dense_is_favorable"]))}}
    tiers = [t for t in ("a", "b") if f"travel_time_{t}_min" in df]
    return df, rules_from_dict(rules), tiers


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mra_cases())
def test_mra_fra_on_the_engine_equals_the_documented_rules(case) -> None:
    df, rules, tiers = case
    got = _class_arrays(df, rules, tiers)
    want = [_reference_row(row, rules, tiers) for row in df.to_dict("records")]
    assert list(zip(got["area_class"], got["mra_type"], strict=True)) == want


def test_mra_typology_names_the_rule_thresholds() -> None:
    r = rules_from_dict({"access": {"max_hours": {"employment_centre": 1.0}},
                         "agroecology": {"max_slope_deg": 9.1}, "density": {"threshold_per_km2": 150.0}})
    typ = rules_typology(r, ["employment_centre"], ["travel_time_employment_centre_min", "slope_deg"])
    # density only reported: it cannot change a class, so it is not a sensitivity parameter
    assert typ.used_thresholds() == ["access.max_hours.employment_centre", "agroecology.max_slope_deg"]
    df = pd.DataFrame({"travel_time_employment_centre_min": [90.0], "slope_deg": [3.0], "density_per_km2": [10.0]})
    ev = evaluate(df, typ)
    assert (ev.classes[0], ev.subtypes[0]) == ("MRA", "isolated")
    assert ev.reasons == ["travel time to employment_centre 1.5 h > 1 h"]


# --- presets ----------------------------------------------------------------------------------


def test_presets_load_and_state_their_sources() -> None:
    presets = list_presets()
    assert set(presets) >= {"red", "territorial_dynamics", "territorial_dynamics_marginalization", "mra_subtypes"}
    for name in presets:
        typ = load_typology(name)
        assert typ.sources, name
        assert name in describe_typology(name)
    partial = load_typology("territorial_dynamics_marginalization")
    assert any("not computed" in n for n in partial.notes)  # the missing axes are said
    with pytest.raises(InputFileError, match="neither a preset"):
        load_typology("no_such_typology")


def test_territorial_dynamics_eight_combinations_by_hand() -> None:
    df = pd.DataFrame({"income_per_capita_change_pct": [5.0, 5.0, -2.0, -2.0, np.nan],
                       "poverty_rate_change": [-3.0, 2.0, -1.0, 4.0, -1.0],
                       "gini_change": [-0.02, 0.01, 0.03, 0.01, -0.01]})
    out = apply_typology(df, "territorial_dynamics")
    assert out["dynamics_type"].tolist() == [
        "growth, less poverty, less inequality", "growth, more poverty, more inequality",
        "no growth, less poverty, more inequality", "no growth, more poverty, more inequality", "undecided"]


def _raw_rows(state: str) -> dict[tuple[str, int], dict[str, str]]:
    """Raw CONAPO rows of one state keyed by (5-digit code, year), read with the csv module."""
    out = {}
    with open(RAW_90_15, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["CVE_ENT"] == str(int(state)):
                out[(row["CVE_MUN"].zfill(5), int(row["AÑO"]))] = row
    with open(RAW_2020, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["CVE_ENT"] == state:
                out[(row["CVE_MUN"], 2020)] = row
    return out


@pytest.fixture(scope="module")
def chiapas_red() -> pd.DataFrame:
    from territorial_gis.changes import compare_periods
    from territorial_gis.indicators import load_indicator_table

    a = load_indicator_table("conapo_marginalization:2010", state="Chiapas")
    b = load_indicator_table("conapo_marginalization:2020", state="Chiapas")
    c = compare_periods({"2010": a, "2020": b}, "municipality_code", carry=["municipality_name"]).table
    return apply_typology(c, "red")


def test_red_preset_on_chiapas_gives_the_three_types_with_values(chiapas_red: pd.DataFrame) -> None:
    """Chiapas 2010 -> 2020 (real CONAPO tables): marginalized, emerging and declining all occur;
    the reasons quote the population change recomputed here from the raw CSV files."""
    raw = _raw_rows("07")
    out = chiapas_red.set_index("municipality_code")
    counts = out["red_type"].value_counts()
    assert {"marginalized", "emerging", "declining"} <= set(counts.index)
    # municipalities created after 2010 have no change: undecided, never "other"
    new = sorted(k for (k, y) in raw if y == 2020 and (k, 2010) not in raw)
    assert len(new) == 6 and (out.loc[new, "red_type"] == "undecided").all()
    for kind in ("emerging", "declining"):
        for code, row in out[out["red_type"] == kind].iterrows():
            p0 = float(raw[(code, 2010)]["POB_TOT"])
            p1 = float(raw[(code, 2020)]["POB_TOT"])
            pct = 100.0 * (p1 - p0) / p0
            if kind == "emerging" or pct <= -5.0:
                assert f"population change {pct:.1f} %" in row["red_type_reasons"], (code, row["red_type_reasons"])
    for code, row in out[out["red_type"] == "marginalized"].iterrows():
        grade = raw[(code, 2020)]["GM_2020"].strip()
        assert grade in ("Alto", "Muy alto")
        code_txt = {"Alto": 4, "Muy alto": 5}[grade]
        assert row["red_type_reasons"].startswith(f"grade code {code_txt} ≥ 4; percentile change ")


def test_red_summary_and_sensitivity_on_chiapas(chiapas_red: pd.DataFrame) -> None:
    s = summarize_typology(chiapas_red, "red")
    tot = s[s["red_type"] == "total"].iloc[0]
    assert tot["n_units"] == len(chiapas_red) == 124
    assert s.loc[s["red_type"] != "total", "share_units"].sum() == pytest.approx(1.0)
    sens = typology_sensitivity(chiapas_red, "red")
    assert "marginalized_grade" not in set(sens["parameter"])  # an ordinal code is not moved
    assert load_typology("red").fixed_thresholds() == ["marginalized_grade"]
    g = sens[sens["parameter"] == "growth_pct"].sort_values("threshold")
    assert g["share_emerging"].is_monotonic_decreasing


# --- CLI --------------------------------------------------------------------------------------


def _compared_csv(tmp_path: Path) -> Path:
    from click.testing import CliRunner
    from territorial_gis.cli import main

    out = tmp_path / "chis.csv"
    res = CliRunner().invoke(main, ["-q", "compare", "conapo_marginalization:2010", "conapo_marginalization:2020",
                                    "--key", "municipality_code", "--state", "Chiapas", "-o", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_cli_typology_writes_classes_sensitivity_and_summary(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from territorial_gis.cli import main

    table = _compared_csv(tmp_path)
    out = tmp_path / "red.csv"
    res = CliRunner().invoke(main, ["-q", "typology", str(table), "-t", "red", "--set", "growth_pct=20",
                                    "-o", str(out)])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out, dtype={"municipality_code": str})
    assert {"red_type", "red_type_reasons"} <= set(got.columns)
    emerging = got[got["red_type"] == "emerging"]
    assert (emerging["population_change_pct"] >= 20).all()  # --set moved the threshold
    assert pd.read_csv(tmp_path / "red_sensitivity.csv")["parameter"].iloc[0] == "baseline"
    assert pd.read_csv(tmp_path / "red_summary.csv")["red_type"].iloc[-1] == "total"
    listing = CliRunner().invoke(main, ["typology", "--list"])
    assert listing.exit_code == 0 and "red:" in listing.output


def test_cli_typology_bad_files(tmp_path: Path) -> None:
    table = _compared_csv(tmp_path)
    out = tmp_path / "t.csv"
    bad = tmp_path / "mytypo.toml"
    bad.write_text('[typology]\nname = "x"\n[[class]]\nname = "a"\nwhen = "populaton_change_pct > 3"\n'
                   '[[class]]\nname = "b"\notherwise = true\n')
    assert_cli_fails(["typology", str(table), "-t", str(bad), "-o", str(out)],
                     "uses column 'populaton_change_pct'", out)
    assert not (tmp_path / "t_sensitivity.csv").exists()
    bad.write_text('[[class]]\nname = "a"\nwhen = "population_change_pct => 3"\n[[class]]\nname = "b"\n'
                   'otherwise = true\n')
    assert_cli_fails(["typology", str(table), "-t", str(bad), "-o", str(out)], "unknown operator '=>'", out)
    assert_cli_fails(["typology", str(table), "-t", "red", "--set", "growth=3", "-o", str(out)],
                     "has no threshold 'growth'", out)


def test_mra_subtypes_find_pockets_of_poverty_by_hand() -> None:
    """SYNTHETIC: an FRA locality with grade 5 is a poverty pocket; an MRA with grade 2 is a
    non-poor marginal area; an unknown grade leaves the class undecided."""
    df = pd.DataFrame({"area_class": ["FRA", "FRA", "MRA", "MRA", "MRA", "unclassified"],
                       "marginalization_grade_code": [5.0, 2.0, 4.0, 2.0, np.nan, 3.0]})
    out = apply_typology(df, "mra_subtypes")
    assert out["mra_poverty_type"].tolist() == ["FRA, poverty pocket", "FRA, not poor", "MRA, poor",
                                                "MRA, not poor", "undecided", "not classified"]
    assert out["mra_poverty_type_reasons"].iloc[0] == "area_class 'FRA' = 'FRA'; grade code 5 ≥ 4"
