"""Speed model (territorial_gis.speeds) on hand-worked cases: every expected speed below is
worked out by hand from the rule in the module docstring (class speed x surface x tracktype x
smoothness, then capped by maxspeed x maxspeed_factor in drive mode, then a positive override),
with the numbers of a SYNTHETIC profile written here or of the shipped TOML file read as text.

These tests are small and fast on purpose: they are the tests ``make mutate`` runs against the
speeds module.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import numpy as np
import pandas as pd
import pytest

from territorial_gis.errors import ConfigError, InputFileError
from territorial_gis.speeds import (
    KNOT_TO_KPH,
    MPH_TO_KPH,
    Profile,
    assign_speeds,
    is_paved,
    known_values,
    load_profile,
    parse_maxspeed,
    parse_maxspeed_one,
    profile_from_dict,
)

DRIVE_TOML = Path(__file__).resolve().parents[1] / "territorial_gis" / "profiles" / "drive.toml"

#: SYNTHETIC profile with round numbers so that every product below is exact
SYNTH = {
    "mode": "drive",
    "default_speed_kph": 30.0,
    "maxspeed_factor": 0.9,
    "highway_speed_kph": {"primary": 80.0, "track": 20.0, "tertiary": 40.0},
    "surface_factor": {"gravel": 0.5, "asphalt": 1.0},
    "tracktype_factor": {"grade1": 1.25, "grade5": 0.25},
    "smoothness_factor": {"bad": 0.5},
    "maxspeed_zone_kph": {"BR:urban": 50.0, "rural": 70.0, "zone:30": 30.0},
}


@pytest.fixture(scope="module")
def synth() -> Profile:
    return profile_from_dict(SYNTH, "synthetic")


def speeds(profile: Profile, **columns: list[object]) -> list[float]:
    out = assign_speeds(pd.DataFrame(columns), profile)
    assert out.dtype == np.float64 and out.shape == (len(next(iter(columns.values()))),)
    return [float(x) for x in out]


# ------------------------------------------------------------------------- assign_speeds
def test_surface_factor_applies_before_the_maxspeed_cap(synth: Profile) -> None:
    """primary 80 on gravel (x0.5) = 40; a 60 km/h limit caps at 60 x 0.9 = 54, above 40, so 40.
    Capping first and then applying the surface would give min(80, 54) x 0.5 = 27."""
    got = speeds(synth, highway=["primary", "primary", "primary"], surface=["gravel", "asphalt", None],
                 maxspeed=["60", "60", None])
    assert got == pytest.approx([40.0, 54.0, 80.0])


def test_cap_below_the_reduced_speed_wins(synth: Profile) -> None:
    """primary on gravel = 40; a 40 km/h limit caps at 36 < 40, so 36."""
    assert speeds(synth, highway=["primary"], surface=["gravel"], maxspeed=["40"]) == pytest.approx([36.0])


def test_class_times_tracktype_times_surface_times_smoothness(synth: Profile) -> None:
    got = speeds(synth,
                 highway=["track", "track", "track", "track", "primary", "tertiary"],
                 tracktype=["grade1", "grade5", "grade5", "grade5", "grade5", None],
                 surface=[None, None, "gravel", "gravel", None, None],
                 smoothness=[None, None, None, "bad", None, "bad"])
    # 20 x 1.25; 20 x 0.25; 20 x 0.25 x 0.5; 20 x 0.25 x 0.5 x 0.5; 80 x 0.25; 40 x 0.5
    assert got == pytest.approx([25.0, 5.0, 2.5, 1.25, 20.0, 20.0])


def test_unknown_values_and_missing_columns(synth: Profile) -> None:
    """An unknown class or a missing class gets the default speed; unknown or non-text factor
    values count as 1; a frame without the factor columns uses the class speed alone."""
    got = speeds(synth, highway=["no_such_class", None, "track", "track", "track"],
                 surface=["gravel", None, "no_such_surface", 7, None],
                 tracktype=[None, None, None, None, "grade9"])
    assert got == pytest.approx([15.0, 30.0, 20.0, 20.0, 20.0])
    assert speeds(synth, highway=["tertiary", "primary"]) == pytest.approx([40.0, 80.0])


def test_empty_factor_tables_are_skipped() -> None:
    prof = profile_from_dict({"highway_speed_kph": {"track": 20.0}})
    assert prof.surface_factor == {} and prof.tracktype_factor == {}
    assert speeds(prof, highway=["track"], surface=["gravel"], tracktype=["grade5"]) == [20.0]


def test_maxspeed_forms_in_assign_speeds(synth: Profile) -> None:
    got = speeds(synth, highway=["primary"] * 7,
                 maxspeed=["BR:urban", "PY:rural", "30 mph", "none", "60;40", "fast", None])
    assert got == pytest.approx([45.0, 63.0, 30 * 1.609344 * 0.9, 80.0, 36.0, 80.0, 80.0])


def test_walk_mode_ignores_maxspeed() -> None:
    walk = load_profile(mode="walk")
    raw = tomllib.loads(Path(DRIVE_TOML).with_name("walk.toml").read_text())
    got = speeds(walk, highway=["primary", "steps"], maxspeed=["1", "1"])
    assert got == pytest.approx([raw["highway_speed_kph"]["primary"], raw["highway_speed_kph"]["steps"]])


def test_override_replaces_only_when_positive(synth: Profile) -> None:
    got = speeds(synth, highway=["primary"] * 6, maxspeed=["40"] * 6,
                 speed_kph_override=["12.5", "0.5", 0, -3, "n/a", None])
    # a positive override replaces even the capped speed; 0, negative, text and empty keep 36
    assert got == pytest.approx([12.5, 0.5, 36.0, 36.0, 36.0, 36.0])


def test_shipped_drive_profile_hand_worked() -> None:
    """The shipped profile's numbers, read from the TOML text: a grade5 track on dirt with bad
    smoothness, and a gravel primary under a 50 km/h sign."""
    raw = tomllib.loads(DRIVE_TOML.read_text())
    hw, sf, tf, mf = (raw["highway_speed_kph"], raw["surface_factor"], raw["tracktype_factor"],
                      raw["smoothness_factor"])
    prof = load_profile()
    got = speeds(prof, highway=["track", "primary"], surface=["dirt", "gravel"], tracktype=["grade5", None],
                 smoothness=["bad", None], maxspeed=[None, "50"])
    track = hw["track"] * sf["dirt"] * tf["grade5"] * mf["bad"]
    primary = min(hw["primary"] * sf["gravel"], 50 * raw["maxspeed_factor"])
    assert got == pytest.approx([track, primary])
    assert track == pytest.approx(15 * 0.55 * 0.4 * 0.7)  # 2.31 km/h: a bad earth track
    assert primary == pytest.approx(45.0)  # 50 x 0.9 caps the 70 x 0.7 = 49 of a gravel primary


def test_impassable_smoothness_gives_zero() -> None:
    assert speeds(load_profile(), highway=["track"], smoothness=["impassable"]) == [0.0]


# ------------------------------------------------------------------------- parse_maxspeed
@pytest.mark.parametrize(("value", "expected"), [
    ("60", 60.0), (" 60 ", 60.0), (60, 60.0), (60.5, 60.5), ("50 km/h", 50.0), ("50kmh", 50.0),
    ("50 KPH", 50.0), ("30 mph", 30 * MPH_TO_KPH), ("30 MPH", 30 * MPH_TO_KPH), ("10 knots", 10 * KNOT_TO_KPH),
    ("50,5", 50.5), ("50.5", 50.5), ("60;80", 60.0), ("80|40", 40.0), ("none;50", 50.0),
    ("BR:urban", 50.0), ("PY:rural", 70.0), ("PY:RURAL", 70.0), ("rural", 70.0),
    ("0.5", 0.5), (0.5, 0.5), ("BR:urban;60", 50.0), ("60|BR:urban", 50.0),
    # the part after the first ':' is the generic entry ("DE:zone:30" -> "zone:30")
    ("DE:zone:30", 30.0),
])
def test_parse_maxspeed_values(value: object, expected: float, synth: Profile) -> None:
    assert parse_maxspeed_one(value, synth.maxspeed_zone_kph) == pytest.approx(expected)


@pytest.mark.parametrize("value", [None, math.nan, 0, -5, "0", "", "  ", "none", "NONE", "signals", "variable",
                                   "unknown", "fast", "none;none", "BR:motorway", "60 kmph", "-60"])
def test_parse_maxspeed_absent(value: object, synth: Profile) -> None:
    assert math.isnan(parse_maxspeed_one(value, synth.maxspeed_zone_kph))


def test_parse_maxspeed_zone_needs_the_table() -> None:
    assert math.isnan(parse_maxspeed_one("BR:urban"))
    assert math.isnan(parse_maxspeed_one("BR:urban", None))
    assert parse_maxspeed_one("BR:urban", {"urban": 40.0}) == 40.0  # generic entry from the suffix


def test_parse_maxspeed_vectorised() -> None:
    got = parse_maxspeed(["60", None, np.nan, "60", "30 mph", "none"])
    assert got.dtype == np.float64
    assert got[0] == got[3] == 60.0 and got[4] == pytest.approx(30 * MPH_TO_KPH)
    assert np.isnan(got[[1, 2, 5]]).all()
    assert len(parse_maxspeed([])) == 0


def test_conversion_constants() -> None:
    assert MPH_TO_KPH == 1.609344  # international mile, exact by definition
    assert KNOT_TO_KPH == 1.852  # international nautical mile per hour, exact by definition


def test_is_paved() -> None:
    got = is_paved(pd.Series(["asphalt", "gravel", None, "sett", "ASPHALT", np.nan]))
    assert got.tolist() == [True, False, False, True, False, False]


# ------------------------------------------------------------------------- profiles
def test_profile_defaults_and_round_trip() -> None:
    prof = profile_from_dict({"highway_speed_kph": {"track": 15}}, "x.toml")
    assert (prof.mode, prof.default_speed_kph, prof.walk_speed_kph, prof.maxspeed_factor) == ("drive", 25.0, 4.0, 0.9)
    assert prof.exclude_access == ("no", "private") and prof.exclude_service == () and prof.keep_access == ()
    assert prof.highways == frozenset({"track"}) and prof.source == "x.toml"
    assert isinstance(prof.highway_speed_kph["track"], float)
    again = profile_from_dict(prof.to_dict(), "again")
    assert again.to_dict() == prof.to_dict()
    full = profile_from_dict(SYNTH)
    d = full.to_dict()
    assert d["surface_factor"] == SYNTH["surface_factor"] and d["maxspeed_zone_kph"] == SYNTH["maxspeed_zone_kph"]
    assert d["access"] == {"exclude_access": ["no", "private"], "exclude_service": [], "keep_access": []}
    assert profile_from_dict(d).to_dict() == d


def test_profile_access_lists_kept() -> None:
    prof = profile_from_dict({"highway_speed_kph": {"track": 15}, "access": {
        "exclude_access": ["no"], "exclude_service": ["parking"], "keep_access": ["yes"]},
        "all_season": {"surfaces": ["asphalt"]}})
    assert (prof.exclude_access, prof.exclude_service, prof.keep_access) == (("no",), ("parking",), ("yes",))
    assert prof.all_season == {"surfaces": ["asphalt"]}


@pytest.mark.parametrize(("data", "message"), [
    ({"highway_speed_kph": {"a": 1}, "speed": 3, "kph": 1},
     "bad.toml: unknown key(s) kph, speed; allowed: access, all_season, default_speed_kph, highway_speed_kph"),
    ({"highway_speed_kph": {"a": 1}, "mode": "fly"}, "bad.toml: mode = 'fly'; expected one of drive, walk"),
    ({"highway_speed_kph": {}}, "bad.toml: [highway_speed_kph] is empty"),
    ({}, "bad.toml: [highway_speed_kph] is empty"),
    ({"highway_speed_kph": [1]}, "bad.toml: [highway_speed_kph] must be a table of name = number"),
    ({"highway_speed_kph": {"a": -1}}, "bad.toml: highway_speed_kph.a = -1 is not a non-negative number"),
    ({"highway_speed_kph": {"a": True}}, "highway_speed_kph.a = True is not a non-negative number"),
    ({"highway_speed_kph": {"a": "9"}}, "highway_speed_kph.a = '9' is not a non-negative number"),
    ({"highway_speed_kph": {"a": math.nan}}, "highway_speed_kph.a = nan is not a non-negative number"),
    ({"highway_speed_kph": {"a": 1}, "surface_factor": {"mud": -0.1}}, "bad.toml: surface_factor.mud = -0.1 is not"),
    ({"highway_speed_kph": {"a": 1}, "tracktype_factor": {"g": -1}}, "bad.toml: tracktype_factor.g = -1 is not"),
    ({"highway_speed_kph": {"a": 1}, "smoothness_factor": {"s": -1}}, "bad.toml: smoothness_factor.s = -1 is not"),
    ({"highway_speed_kph": {"a": 1}, "maxspeed_zone_kph": {"z": -1}}, "bad.toml: maxspeed_zone_kph.z = -1 is not"),
    ({"highway_speed_kph": {"a": 1}, "default_speed_kph": 0}, "bad.toml: default_speed_kph = 0 must be a positive"),
    ({"highway_speed_kph": {"a": 1}, "walk_speed_kph": -4}, "bad.toml: walk_speed_kph = -4 must be a positive number"),
    ({"highway_speed_kph": {"a": 1}, "maxspeed_factor": True}, "bad.toml: maxspeed_factor = True must be a positive"),
    ({"highway_speed_kph": {"a": 1}, "maxspeed_factor": "0.9"}, "maxspeed_factor = '0.9' must be a positive"),
    ({"highway_speed_kph": {"a": 1}, "access": {"ban": ["no"]}},
     "bad.toml: [access] may only hold exclude_access, exclude_service, keep_access"),
    ({"highway_speed_kph": {"a": 1}, "access": ["no"]}, "[access] may only hold"),
    ({"highway_speed_kph": {"a": 1}, "access": {"keep_access": "yes"}},
     "bad.toml: access.keep_access must be a list of strings"),
    ({"highway_speed_kph": {"a": 1}, "access": {"keep_access": ["yes", 1]}}, "access.keep_access must be a list"),
    ({"highway_speed_kph": {"a": 1}, "all_season": ["asphalt"]}, "bad.toml: [all_season] must be a table"),
])
def test_profile_refused(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        profile_from_dict(data, "bad.toml")
    assert message in str(err.value)


def test_zero_factor_is_allowed() -> None:
    prof = profile_from_dict({"highway_speed_kph": {"a": 0}, "smoothness_factor": {"impassable": 0}})
    assert prof.highway_speed_kph == {"a": 0.0} and prof.smoothness_factor == {"impassable": 0.0}


def test_load_profile_sources(tmp_path: Path, synth: Profile) -> None:
    assert load_profile(synth) is synth
    assert load_profile().source == "<built-in drive profile>"
    assert profile_from_dict({"highway_speed_kph": {"a": 1}}).source == "<dict>"
    assert load_profile(mode="walk").mode == "walk"
    assert load_profile(None).mode == "drive"
    with pytest.raises(ConfigError, match="unknown mode 'bike'; expected one of drive, walk"):
        load_profile(mode="bike")
    with pytest.raises(InputFileError, match="speed profile not found: .*nope.toml"):
        load_profile(tmp_path / "nope.toml")
    f = tmp_path / "mine.toml"
    f.write_text('mode = "walk"\n[highway_speed_kph]\npath = 3.5\n')
    mine = load_profile(f)
    assert mine.mode == "walk" and mine.highway_speed_kph == {"path": 3.5} and "mine.toml" in mine.source


@pytest.mark.parametrize("value", ["none", "None", "signals", "variable", "unknown", "UNKNOWN"])
def test_words_never_take_a_zone_value(value: str) -> None:
    """maxspeed=none (no posted limit, e.g. a German Autobahn), signals, variable and unknown are
    not limits: the class speed applies, even when a zone table has an entry of that name."""
    zones = {"none": 130.0, "signals": 50.0, "variable": 60.0, "unknown": 40.0}
    assert math.isnan(parse_maxspeed_one(value, zones))
    assert math.isnan(parse_maxspeed_one(f"XX:{value}", {}))


def test_known_values_union_of_the_profiles(synth: Profile) -> None:
    """The known values are the union of the shipped drive and walk profiles' tables (read from
    the TOML text), the paved surfaces, and a given profile's own entries."""
    drive = tomllib.loads(DRIVE_TOML.read_text())
    walk = tomllib.loads(DRIVE_TOML.with_name("walk.toml").read_text())
    kv = known_values()
    assert kv["highway"] == frozenset(drive["highway_speed_kph"]) | frozenset(walk["highway_speed_kph"])
    assert {"asphalt", "chipseal", "dirt"} <= kv["surface"] and "gravel" in kv["surface"]
    assert kv["tracktype"] == frozenset(drive.get("tracktype_factor", {})) | frozenset(walk.get("tracktype_factor", {}))
    assert kv["smoothness"] == frozenset(drive.get("smoothness_factor", {})) | frozenset(walk.get("smoothness_factor", {}))
    mine = profile_from_dict({"highway_speed_kph": {"ferry_road": 10}, "surface_factor": {"laterite": 0.6},
                              "tracktype_factor": {"grade6": 0.1}, "smoothness_factor": {"awful": 0.2}})
    kv2 = known_values(mine)
    assert "ferry_road" in kv2["highway"] and "ferry_road" not in kv["highway"]
    assert "laterite" in kv2["surface"] and "grade6" in kv2["tracktype"] and "awful" in kv2["smoothness"]
