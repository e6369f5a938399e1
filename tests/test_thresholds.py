"""Values exactly on every threshold, with the side stated from the rule's definition.

SYNTHETIC rows built here; each expected class and reason is worked out by hand from the rule
text of ``rules/default.toml`` and the module docstrings:

* isolation: a locality is isolated when its travel time is *over* the limit (``> max_hours``),
  so exactly the limit is not isolated;
* agro-ecology: marginal when slope, altitude or ruggedness is *over* its maximum (``>``) or
  the suitability index *under* its minimum (``<``); exactly the limit is not marginal;
* density: an area is dense at *or above* the threshold (``>=``);
* population within T minutes counts places at *or under* T (``<=``).

The reasons must say the same thing as the class, with the comparison sign that holds.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from territorial_gis.access import population_within
from territorial_gis.classify import classify_areas

RULES = {
    "access": {"max_hours": {"employment_centre": 1.0}},
    "agroecology": {"max_slope_deg": 9.1, "max_altitude_m": 3500.0, "min_suitability_index": 25.0,
                    "max_ruggedness_m": 300.0},
    "density": {"threshold_per_km2": 150.0, "role": "report"},
}
#: a value of every indicator well inside its limit
INSIDE = {"travel_time_employment_centre_min": 30.0, "slope_deg": 2.0, "elevation_m": 100.0,
          "suitability_index": 80.0, "tri_m": 10.0, "population": 100.0, "area_km2": 10.0}


def _classify(rows: dict[str, dict[str, float]], rules: dict = RULES) -> pd.DataFrame:
    """SYNTHETIC point localities (one per row, values ``INSIDE`` but for the given ones)."""
    data = [{**INSIDE, **v} for v in rows.values()]
    gdf = gpd.GeoDataFrame(pd.DataFrame(data), geometry=gpd.points_from_xy(
        np.linspace(-51.2, -51.1, len(data)), np.full(len(data), -30.0)), crs=4326)
    gdf["area_id"] = list(rows)
    return classify_areas(gdf, rules=rules).areas.set_index("area_id")


def test_every_limit_exactly_is_favorable_and_says_so() -> None:
    out = _classify({
        "time": {"travel_time_employment_centre_min": 60.0},  # 1 h exactly
        "slope": {"slope_deg": 9.1},
        "altitude": {"elevation_m": 3500.0},
        "suitability": {"suitability_index": 25.0},
        "ruggedness": {"tri_m": 300.0},
    })
    assert (out["area_class"] == "FRA").all()
    assert not out["is_isolated"].any() and not out["is_agro_marginal"].any()
    assert (out["mra_type"] == "").all()
    r = out["class_reasons"]
    assert "travel time to employment_centre 60.0 min ≤ 60 min" in r["time"]
    assert "slope 9.1° ≤ 9.1°" in r["slope"]
    assert "altitude 3500 m ≤ 3500 m" in r["altitude"]
    assert "suitability index 25 ≥ 25" in r["suitability"]
    assert "ruggedness (TRI) 300 m ≤ 300 m" in r["ruggedness"]
    assert r["time"] == ("travel time to employment_centre 60.0 min ≤ 60 min; slope 2.0° ≤ 9.1°; altitude 100 m ≤ 3500 m; "
                         "suitability index 80 ≥ 25; ruggedness (TRI) 10 m ≤ 300 m; "
                         "density 10/km² < 150/km² (low density)")


def test_just_past_every_limit_is_marginal_with_its_reason() -> None:
    out = _classify({
        "time": {"travel_time_employment_centre_min": 60.04},
        "slope": {"slope_deg": 9.2},
        "altitude": {"elevation_m": 3501.0},
        "suitability": {"suitability_index": 24.0},
        "ruggedness": {"tri_m": 301.0},
        "both": {"travel_time_employment_centre_min": 60.04, "slope_deg": 9.2},
    })
    assert (out["area_class"] == "MRA").all()
    assert out["mra_type"].to_dict() == {"time": "isolated", "slope": "agroecological",
                                         "altitude": "agroecological", "suitability": "agroecological",
                                         "ruggedness": "agroecological", "both": "both"}
    assert out["is_isolated"].to_dict() == {"time": True, "slope": False, "altitude": False,
                                            "suitability": False, "ruggedness": False, "both": True}
    r = out["class_reasons"]
    # 60.04 min prints as 60.0 with one decimal, which reads as the limit: one more decimal
    assert r["time"] == "travel time to employment_centre 60.04 min > 60 min; density 10/km² < 150/km² (low density)"
    assert r["slope"].startswith("slope 9.2° > 9.1°")
    assert r["altitude"].startswith("altitude 3501 m > 3500 m")
    assert r["suitability"].startswith("suitability index 24 < 25")
    assert r["ruggedness"].startswith("ruggedness (TRI) 301 m > 300 m")
    assert r["both"].startswith("travel time to employment_centre 60.04 min > 60 min; slope 9.2° > 9.1°")


def test_density_exactly_the_threshold_is_dense() -> None:
    # population / area_km2: 300 / 2 = 150 exactly; 299 / 2 = 149.5
    out = _classify({"at": {"population": 300.0, "area_km2": 2.0},
                     "under": {"population": 299.0, "area_km2": 2.0}})
    assert out.loc["at", "density_per_km2"] == 150.0
    assert "density 150/km² ≥ 150/km²" in out.loc["at", "class_reasons"]
    # 149.5 rounds to '150' with no decimal, which would read as the threshold: one decimal more
    assert "density 149.5/km² < 150/km² (low density)" in out.loc["under", "class_reasons"]
    rules = {**RULES, "density": {"threshold_per_km2": 150.0, "role": "dense_is_favorable"}}
    out = _classify({"at": {"population": 300.0, "area_km2": 2.0, "slope_deg": 20.0},
                     "under": {"population": 299.0, "area_km2": 2.0, "slope_deg": 20.0}}, rules)
    assert out["area_class"].to_dict() == {"at": "FRA", "under": "MRA"}  # dense wins at the threshold
    assert "density 150/km² ≥ 150/km² (dense: FRA despite the above)" in out.loc["at", "class_reasons"]
    assert out.loc["at", "class_reasons"].startswith("slope 20.0° > 9.1°")


def test_unreachable_is_isolated_with_the_reason() -> None:
    out = _classify({"far": {"travel_time_employment_centre_min": np.nan}})
    assert out.loc["far", "area_class"] == "MRA" and out.loc["far", "mra_type"] == "isolated"
    assert out.loc["far", "class_reasons"].startswith("employment_centre unreachable")


def test_population_within_counts_the_limit_itself() -> None:
    table = pd.DataFrame({"population": [10.0, 20.0, 40.0, 80.0],
                          "travel_time_x_min": [60.0, np.nextafter(60.0, np.inf), 120.0, np.nan]})
    pw = population_within(table, (60, 120)).set_index("threshold_min")
    assert pw.loc[60.0, "population_within"] == 10.0 and pw.loc[60.0, "places_within"] == 1
    assert pw.loc[120.0, "population_within"] == 70.0 and pw.loc[120.0, "places_within"] == 3
    assert pw.loc[120.0, "share_within"] == pytest.approx(70.0 / 150.0)
    assert (pw["population_total"] == 150.0).all() and (pw["places_total"] == 4).all()


def test_report_bands_start_at_their_lower_edge() -> None:
    """Report bands are [0, 15), [15, 30), ...: a locality exactly 15 min away is in the second."""
    from territorial_gis.report import band_labels, population_by_band

    loc = pd.DataFrame({"travel_time_x_min": [0.0, np.nextafter(15.0, 0.0), 15.0, 120.0, np.nan],
                        "population": [1.0, 2.0, 4.0, 8.0, 16.0]})
    b = population_by_band(loc, "x", (15, 30, 60, 120))
    assert b["band"].tolist() == band_labels((15, 30, 60, 120)) + ["no travel time"]
    assert b["band"].iloc[0] == "< 15 min" and b["band"].iloc[1] == "15\u201330 min"
    assert b["band"].iloc[4] == "\u2265 120 min"  # 120 itself is in the open last band
    assert b["population"].tolist() == [3.0, 4.0, 0.0, 0.0, 8.0, 16.0]
    assert b["localities"].tolist() == [2, 1, 0, 0, 1, 1]
    assert b["population_share"].tolist() == pytest.approx([3 / 31, 4 / 31, 0, 0, 8 / 31, 16 / 31])
