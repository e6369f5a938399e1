"""Change over time: periods compared unit by unit, transition tables (CONAPO grades 2010 -> 2020
on the real tables, checked against a crosstab of the raw CSV files read with the csv module),
growth by travel-time band (SYNTHETIC, worked by hand), CLI.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _cli import assert_cli_fails
from click.testing import CliRunner
from territorial_gis.cli import main
from territorial_gis.data import data_path

from territorial_gis.changes import (
    changes_by_band,
    compare_periods,
    split_periods,
    transition_table,
    unit_times,
)
from territorial_gis.errors import ColumnError, ConfigError
from territorial_gis.indicators import load_indicator_table

RAW_90_15 = data_path("catalogues", "Base_Indice_de_marginacion_municipal_90-15.csv")
RAW_2020 = data_path("catalogues", "IMM_2020.csv")


def _raw_grades(year: int, state: str | None = None) -> dict[str, str]:
    """{5-digit code: grade} of one year, read from the raw files with the csv module."""
    out = {}
    if year == 2020:
        with open(RAW_2020, encoding="utf-8-sig", newline="") as fh:
            for r in csv.DictReader(fh):
                if state is None or r["CVE_ENT"] == state:
                    out[r["CVE_MUN"]] = r["GM_2020"].strip()
        return out
    with open(RAW_90_15, encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["AÑO"] == str(year) and r["CVE_MUN"] != "-" and (state is None or r["CVE_ENT"] == str(int(state))):
                out[r["CVE_MUN"].zfill(5)] = r["GM"].strip()
    return out


@pytest.mark.parametrize("state, y0", [("12", 2010), ("07", 2015), (None, 2010)])
def test_grade_transitions_equal_a_crosstab_of_the_raw_files(state: str | None, y0: int) -> None:
    """Guerrero 2010 -> 2020, Chiapas 2015 -> 2020 and all of Mexico 2010 -> 2020: every cell of
    the transition table equals the count of municipalities read from the raw files, and the total
    is the number of municipalities present (with a grade) in both years."""
    a = load_indicator_table(f"conapo_marginalization:{y0}", state=state)
    b = load_indicator_table("conapo_marginalization:2020", state=state)
    c = compare_periods({str(y0): a, "2020": b}, "municipality_code")
    tab = transition_table(c, "marginalization_grade")
    g0, g1 = _raw_grades(y0, state), _raw_grades(2020, state)
    both = [k for k in g0 if k in g1 and g0[k] != "-"]
    pairs = Counter((g0[k], g1[k]) for k in both)
    assert tab.loc["total", "total"] == len(both)
    for (f, t), n in pairs.items():
        assert tab.loc[f, t] == n
    assert tab.iloc[:-1, :-1].to_numpy().sum() == sum(pairs.values())
    assert list(tab.index[:-1]) == ["Muy bajo", "Bajo", "Medio", "Alto", "Muy alto"]  # CONAPO's order
    if state == "12":
        assert len(both) == 81  # Guerrero's four municipalities of 2021 are in neither table


def test_compare_periods_by_hand() -> None:
    """SYNTHETIC: u1 grows 100 -> 150 (+50 %), u2 from 0 (change +10, % unknown), u3 only in the
    first period, u4 only in the second; a class column becomes a transition."""
    a = pd.DataFrame({"id": ["u1", "u2", "u3"], "population": [100.0, 0.0, 50.0],
                      "area_class": ["MRA", "MRA", "FRA"], "name": ["one", "two", "three"]})
    b = pd.DataFrame({"id": ["u1", "u2", "u4"], "population": [150.0, 10.0, 70.0],
                      "area_class": ["FRA", "MRA", "MRA"], "name": ["One", "two", "four"]})
    cmp = compare_periods({"t0": a, "t1": b}, "id", carry=["name"])
    c = cmp.table.set_index("id")
    assert c["period_status"].to_dict() == {"u1": "both", "u2": "both", "u3": "only t0", "u4": "only t1"}
    assert c.loc["u1", "population_change"] == 50.0 and c.loc["u1", "population_change_pct"] == 50.0
    assert c.loc["u2", "population_change"] == 10.0 and math.isnan(c.loc["u2", "population_change_pct"])
    assert math.isnan(c.loc["u3", "population_change"]) and c.loc["u3", "population_t0"] == 50.0
    assert c.loc["u4", "population"] == 70.0  # the latest value
    assert c.loc["u1", "area_class_transition"] == "MRA -> FRA" and c.loc["u1", "area_class_change"] == 1.0
    assert c.loc["u1", "name"] == "One" and c.loc["u3", "name"] == "three"  # carried from the latest period
    tab = transition_table(cmp, "area_class")
    assert tab.loc["MRA", "FRA"] == 1 and tab.loc["MRA", "MRA"] == 1 and tab.loc["total", "total"] == 2
    assert cmp.periods == ["t0", "t1"] and cmp.categorical == {"area_class": ["MRA", "FRA", "unclassified"]}
    long = cmp.all_transitions().set_index(["from", "to"])["n_units"]
    assert long[("MRA", "FRA")] == 1 and long[("FRA", "MRA")] == 0 and long.sum() == 2
    # a bare table needs its period labels
    assert transition_table(cmp.table, "area_class", periods=["t0", "t1"],
                            order=["MRA", "FRA", "unclassified"]).equals(tab)
    with pytest.raises(ConfigError, match="needs the periods"):
        transition_table(cmp.table, "area_class")


def test_method_break_columns_are_not_differenced() -> None:
    a = load_indicator_table("conapo_marginalization:2015", state="Oaxaca")
    b = load_indicator_table("conapo_marginalization:2020", state="Oaxaca")
    cmp = compare_periods({"2015": a, "2020": b}, "municipality_code")
    c = cmp.table
    assert "marginalization_index_change" not in c and "marginalization_index_2015" in c
    assert "marginalization_percentile_change" in c and "marginalization_grade_code_change" in c
    assert any("methods differ" in n for n in cmp.notes)
    same = compare_periods({"2005": load_indicator_table("conapo_marginalization:2005", state="Oaxaca"),
                            "2015": a}, "municipality_code")
    assert "marginalization_index_change" in same.table  # same method: the index is comparable


def test_two_networks_travel_time_changes() -> None:
    """Two access tables (e.g. dry and wet season networks) compared: minutes gained per unit."""
    dry = pd.DataFrame({"place_id": [1, 2, 3], "travel_time_market_min": [30.0, 80.0, np.nan]})
    wet = pd.DataFrame({"place_id": [1, 2, 3], "travel_time_market_min": [45.0, 80.0, 200.0]})
    c = compare_periods({"dry": dry, "wet": wet}, "place_id").table
    assert c["travel_time_market_min_change"].tolist()[:2] == [15.0, 0.0]
    assert math.isnan(c["travel_time_market_min_change"].iloc[2])  # unreachable in one period: unknown


def test_growth_by_travel_time_band_by_hand() -> None:
    """SYNTHETIC: bands 0-30, 30-60, > 60 min, unreachable. Band 0-30: 100 -> 130 and 200 -> 230
    (+20 % overall, unit medians 30 % and 15 % -> 22.5 %); 30-60: 300 -> 300; > 60: 100 -> 80;
    unreachable: 50 -> 40; a unit missing in the second period is left out."""
    c = pd.DataFrame({"population_2010": [100.0, 200.0, 300.0, 100.0, 50.0, 10.0],
                      "population_2020": [130.0, 230.0, 300.0, 80.0, 40.0, np.nan],
                      "time": [10.0, 30.0, 45.0, 90.0, np.nan, 5.0]})
    g = changes_by_band(c, "time", [30, 60], periods=["2010", "2020"]).set_index("band")
    assert g.loc["0-30 min", "n_units"] == 2 and g.loc["0-30 min", "change_pct"] == pytest.approx(20.0)
    assert g.loc["0-30 min", "median_unit_change_pct"] == pytest.approx(22.5)
    assert g.loc["30-60 min", "change_pct"] == 0.0 and g.loc["> 60 min", "change_pct"] == pytest.approx(-20.0)
    assert g.loc["unreachable", "population_2010"] == 50.0 and g["n_units"].sum() == 5


def test_unit_times_by_hand() -> None:
    """SYNTHETIC: unit A holds 100 people at 10 min and 300 unreachable -> 25 % reach, under half:
    unknown; unit B 300 at 20 min and 100 unreachable -> 75 % reach: 20 min; unit C, population
    unknown (equal weights), 10 and 30 min -> 20 min; a locality without a code is left out."""
    loc = pd.DataFrame({"code": ["A", "A", "B", "B", "C", "C", None],
                        "population": [100.0, 300.0, 300.0, 100.0, np.nan, np.nan, 50.0],
                        "travel_time_city_min": [10.0, np.nan, 20.0, np.nan, 10.0, 30.0, 5.0]})
    t = unit_times(loc, "code", ["travel_time_city_min"])
    assert math.isnan(t.loc["A", "travel_time_city_min"])
    assert t.loc["B", "travel_time_city_min"] == 20.0 and t.loc["C", "travel_time_city_min"] == 20.0
    assert t["n_localities"].to_dict() == {"A": 2, "B": 2, "C": 2}
    assert math.isnan(t.loc["C", "locality_population"]) and t.loc["A", "locality_population"] == 400.0
    # a lower bar lets A's 25 % count
    assert unit_times(loc, "code", ["travel_time_city_min"], min_reachable_share=0.25).loc["A", "travel_time_city_min"] == 10.0


def test_split_and_key_errors() -> None:
    long = pd.DataFrame({"id": [1, 1, 2], "year": [2010, 2020, 2020], "v": [1.0, 2.0, 3.0]})
    parts = split_periods(long, "year")
    assert list(parts) == ["2010", "2020"] and len(parts["2020"]) == 2
    with pytest.raises(ColumnError, match="key 'id' is duplicated"):
        compare_periods({"a": long, "b": long}, "id")
    with pytest.raises(ColumnError, match="period 'b' has no key column 'code'"):
        compare_periods({"a": long.assign(code=1).iloc[:1], "b": long}, "code")


def test_cli_compare_conapo_state(tmp_path: Path) -> None:
    out = tmp_path / "gro.csv"
    res = CliRunner().invoke(main, ["-q", "compare", "conapo_marginalization:2010", "conapo_marginalization:2020",
                                    "--key", "municipality_code", "--state", "Guerrero", "--carry",
                                    "municipality_name", "-o", str(out)])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out, dtype={"municipality_code": str})
    assert len(got) == 81 and got["municipality_code"].str.len().eq(5).all()
    tab = pd.read_csv(tmp_path / "gro_transitions_marginalization_grade.csv", index_col=0)
    assert tab.loc["total", "total"] == 81


def test_cli_compare_long_table_and_bands(tmp_path: Path) -> None:
    long = tmp_path / "long.csv"
    pd.DataFrame({"code": ["01", "02", "01", "02"], "period": ["a", "a", "b", "b"],
                  "population": [100, 200, 110, 180], "tt": [20, 90, 20, 90]}).to_csv(long, index=False)
    out = tmp_path / "c.csv"
    res = CliRunner().invoke(main, ["-q", "compare", str(long), "--period-col", "period", "--key", "code",
                                    "--bands-col", "tt_a", "--bands", "30,60", "-o", str(out)])
    assert res.exit_code == 0, res.output
    bands = pd.read_csv(tmp_path / "c_bands.csv").set_index("band")
    assert bands.loc["0-30 min", "change_pct"] == pytest.approx(10.0)
    assert bands.loc["> 60 min", "change_pct"] == pytest.approx(-10.0)
    assert pd.read_csv(out, dtype={"code": str})["code"].tolist() == ["01", "02"]  # codes keep their zeros


def test_cli_compare_bad_inputs(tmp_path: Path) -> None:
    out = tmp_path / "c.csv"
    assert_cli_fails(["compare", "conapo_marginalization:2010", "conapo_marginalization:2020", "--key", "cve",
                      "-o", str(out)], "has no key column 'cve'", out)
    res = CliRunner().invoke(main, ["compare", "conapo_marginalization:2010", "-o", str(out), "--key", "x"])
    assert res.exit_code == 2 and not out.exists()
