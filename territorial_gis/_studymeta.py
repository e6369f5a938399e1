"""What a study says about itself: its rules, thresholds, bands, methods and caveats.

The pipeline records the rules, speed profile and routing options in ``study.json`` under
``methods`` (:func:`describe_methods`, with the sources stated next to each value in the rule and
profile files); the map and the report read them back here, so both print the same thresholds
and travel-time bands, the study's own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._i18n import threshold_minutes
from .columns import CENTRE_TIME_MIN, POPULATION, TERRITORY_ID, TIER, tiers_in, time_col

if TYPE_CHECKING:
    from .outputs import StudyOutputs

DEFAULT_BANDS_MIN: tuple[float, ...] = (15.0, 30.0, 60.0, 120.0)
"""Travel-time bands (minutes) of a study that states none."""
UNKNOWN_SURFACES = {"", "unknown", "none", "nan"}


def methods(study: StudyOutputs) -> dict[str, Any]:
    """The ``methods`` record of ``study.json`` (``{}`` when absent)."""
    got = (study.study or {}).get("methods")
    return got if isinstance(got, dict) else {}


def config(study: StudyOutputs) -> dict[str, Any]:
    """The resolved study config recorded in ``study.json`` (``{}`` when absent)."""
    got = (study.study or {}).get("config")
    return got if isinstance(got, dict) else {}


def study_tiers(study: StudyOutputs) -> list[str]:
    """The destination tiers of a study's localities (``travel_time_<tier>_min`` columns), in
    column order: those of its destinations or config when it says, else every one but the
    territories' ``travel_time_centre_min``."""
    tiers = tiers_in(study.localities)
    known: set[str] = set()
    d = study.destinations
    if d is not None and TIER in d.columns:
        known |= {str(t) for t in d[TIER].dropna().unique()}
    known |= {str(t) for t in (config(study).get("tiers") or {})}
    if known:
        return [t for t in tiers if t in known]
    territorial = TERRITORY_ID in study.localities.columns
    return [t for t in tiers if not (territorial and time_col(t) == CENTRE_TIME_MIN)]


def tier_thresholds(study: StudyOutputs) -> dict[str, float]:
    """``tier -> threshold in minutes`` of the access rules (as printed in the class reasons)."""
    hours = (methods(study).get("rules") or {}).get("access_max_hours") or {}
    return {str(t): threshold_minutes(h) for t, h in hours.items() if _finite(h)}


def study_bands(study: StudyOutputs, tier: str) -> list[float]:
    """The study's own travel-time bands to ``tier`` (minutes, increasing).

    The union of the thresholds of ``[access] population_within_min``, of
    ``isochrones_min`` when ``tier`` is the isochrone tier, and of the access rule of ``tier``;
    :data:`DEFAULT_BANDS_MIN` when the study states none.
    """
    acc = config(study).get("access") or {}
    vals: list[float] = [float(x) for x in (acc.get("population_within_min") or []) if _finite(x)]
    iso_tier = acc.get("isochrone_tier")
    if acc.get("isochrones_min") and (iso_tier is None or iso_tier == tier):
        vals += [float(x) for x in acc["isochrones_min"] if _finite(x)]
    thr = tier_thresholds(study).get(tier)
    if thr is not None:
        vals.append(thr)
    out = sorted({round(v, 2) for v in vals if v > 0})
    return out or list(DEFAULT_BANDS_MIN)


def population_known(df: pd.DataFrame | None) -> bool:
    """Whether any row of ``df`` has a known population."""
    return df is not None and POPULATION in df.columns and bool(
        pd.to_numeric(df[POPULATION], errors="coerce").notna().any())


def surface_known(roads: pd.DataFrame | None) -> bool:
    """Whether the road network records any road surface."""
    if roads is None or "surface" not in roads.columns:
        return False
    s = roads["surface"].astype(object).where(roads["surface"].notna(), "").astype(str).str.lower()
    return bool((~s.isin(UNKNOWN_SURFACES)).any())


def scenario_record(study: StudyOutputs, name: str) -> dict[str, Any]:
    """What ``study.json`` records of a scenario (:func:`describe_scenario`); ``{}`` when nothing."""
    got = (methods(study).get("scenarios") or {}).get(name)
    return got if isinstance(got, dict) else {}


def scenario_title(study: StudyOutputs, name: str, tx: Any) -> str:
    """The reader's name of a scenario: its title (translated when the catalogue knows it, as the
    built-in seasons' titles), else its name."""
    title = scenario_record(study, name).get("title")
    return tx.term("scenario", title) if title else str(name).replace("_", " ")


def scenario_tiers(frame: pd.DataFrame) -> list[str]:
    """The tiers a scenario's localities layer compares (``change_<tier>_min`` and ``status_<tier>``)."""
    from .columns import change_col, status_col

    out = []
    for c in frame.columns:
        m = re.match(r"^change_(.+)_min$", str(c))
        if m and status_col(m.group(1)) in frame.columns and change_col(m.group(1)) == c:
            out.append(m.group(1))
    return out


def cut_off_code(study: StudyOutputs, name: str, frame: pd.DataFrame | None = None) -> str:
    """How a scenario labels the places it cuts off: ``dry_season_only`` (a season) or ``cut_off``."""
    code = scenario_record(study, name).get("cut_off")
    if code:
        return str(code)
    if frame is not None:
        statuses = {str(v) for c in frame.columns if str(c).startswith("status_") for v in frame[c].dropna()}
        if "dry_season_only" in statuses:
            return "dry_season_only"
    return "cut_off"


def main_tier(study: StudyOutputs, tiers: Sequence[str]) -> str | None:
    """The tier a change is mapped by: the first one the classification judges, else the first."""
    thresholds = tier_thresholds(study)
    return next((t for t in tiers if t in thresholds), tiers[0] if tiers else None)


def notes(study: StudyOutputs) -> list[str]:
    """The caveats the pipeline recorded (``notes`` of ``study.json``)."""
    got = (study.study or {}).get("notes") or []
    return [str(n) for n in got if str(n).strip()]


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------------------------------------
# methods record (written by the pipeline into study.json)


def toml_comments(path: str | Path) -> dict[str, str]:
    """The comments of a TOML file: ``""`` -> the header block, ``"table.key"`` -> the comment
    block written just above that key (how the shipped rule and profile files cite sources)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    out: dict[str, str] = {}
    block: list[str] = []
    table = ""
    seen_content = False
    for raw in lines:
        line = raw.strip()
        if line.startswith("#"):
            block.append(line.lstrip("#").strip())
            continue
        if not line:  # a blank line ends a comment block
            if block and not seen_content and "" not in out:
                out[""] = " ".join(b for b in block if b)
            block = []
            continue
        seen_content = True
        m = re.match(r"^\[([^\]]+)\]", line)
        k = re.match(r"^([A-Za-z0-9_\-\"']+)\s*=", line)
        if m:
            table = m.group(1).strip()
        elif k and block:
            key = k.group(1).strip("\"'")
            out[f"{table}.{key}" if table else key] = " ".join(b for b in block if b)
        block = []
    return out


def describe_methods(*, rules: Any = None, profile: Any = None, max_snap_m: float | None = None,
                     walk_kph: float | None = None, tiers: Mapping[str, Any] | None = None,
                     tiers_judged: Sequence[str] | None = None,
                     measured: Sequence[str] | None = None, scenarios: Sequence[Any] = (),
                     rai: Any = None, network: Any = None) -> dict[str, Any]:
    """The ``methods`` record of ``study.json``: rules with the source of each threshold, the
    speed profile (km/h per road class and its sources), the routing options and tier rules;
    the scenarios compared (:func:`describe_scenario`) and the Rural Access Index settings
    (:func:`describe_rai`, with the profile's all-season rule)."""
    out: dict[str, Any] = {}
    if rules is not None:
        src = str(getattr(rules, "source", "") or "")
        comments = _comments_of(src)
        thresholds = {k: float(v) for k, v in rules.thresholds().items()
                      if tiers_judged is None or not k.startswith("access.max_hours.")
                      or k.removeprefix("access.max_hours.") in tiers_judged}
        out["rules"] = {
            "file": Path(src).name if src and not src.startswith("<") else src,
            "access_combine": rules.access_combine, "agro_combine": rules.agro_combine,
            "access_max_hours": {str(t): float(h) for t, h in rules.access_max_hours.items()
                                 if tiers_judged is None or t in tiers_judged},
            "density_role": rules.density_role, "thresholds": thresholds,
            "sources": {k: comments[k] for k in thresholds if k in comments},
            "not_applied": _not_applied(thresholds, measured),
            "about": comments.get(""),
        }
    if profile is not None:
        src = str(getattr(profile, "source", "") or "")
        comments = _comments_of(src)
        out["speed_profile"] = {
            "file": Path(src).name if src and not src.startswith("<") else src,
            "mode": profile.mode, "highway_speed_kph": dict(profile.highway_speed_kph),
            "walk_speed_kph": profile.walk_speed_kph, "about": comments.get(""),
        }
    routing = {"max_snap_m": max_snap_m, "walk_kph": walk_kph}
    out["routing"] = {k: float(v) for k, v in routing.items() if v is not None and _finite(v)}
    if tiers:
        out["tiers"] = {str(k): _plain(v) for k, v in tiers.items()}
    if scenarios:
        out["scenarios"] = {str(sc.name): describe_scenario(sc, network) for sc in scenarios}
    if rai is not None:
        out["rai"] = describe_rai(rai, profile)
    return out


#: the package of the shipped settings files a ``<built-in ...>`` source names
_BUILTIN_PACKAGES = {"season": "territorial_gis.seasons", "profile": "territorial_gis.profiles",
                     "rules": "territorial_gis.rules"}


def _comments_of(source: str) -> dict[str, str]:
    """The comments of a settings file given by path or as a shipped one (``<built-in season
    wet>``, ``<built-in drive profile>``)."""
    m = re.match(r"^<built-in (?:season (?P<season>\S+)|(?P<name>\S+) (?P<what>profile|rules))>$", source)
    if m:
        from importlib import resources

        name, package = ((m.group("season"), _BUILTIN_PACKAGES["season"]) if m.group("season")
                         else (m.group("name"), _BUILTIN_PACKAGES[m.group("what")]))
        res = resources.files(package).joinpath(f"{name}.toml")
        return toml_comments(str(res)) if res.is_file() else {}
    return toml_comments(source) if source and Path(source).is_file() else {}


def describe_scenario(scenario: Any, network: Any = None) -> dict[str, Any]:
    """What a scenario changes, for the map and report: title, the season's factors (with the
    comments of its file), the upgrades and closures by name, and how a place it cuts off is
    labelled (``dry_season_only`` for a season, else ``cut_off``). With the base ``network``, a
    season also records whether the network says which roads are dry-season only and which are
    fords (when it does not, a season can close none: "no place is cut off" would mislead)."""
    from ._roadattrs import fords, has_season_information
    from .scenarios import cut_off_label

    out: dict[str, Any] = {"title": scenario.title, "description": scenario.description,
                           "cut_off": cut_off_label(scenario),
                           "upgrades": [u.name for u in scenario.upgrades],
                           "closures": [c.name for c in scenario.closures]}
    se = scenario.season
    if se is not None:
        src = str(se.source)
        out["season"] = {
            "name": se.name, "title": se.title,
            "file": src if src.startswith("<") else Path(src).name,
            "close_dry_season_only": se.close_dry_season_only, "close_fords": se.close_fords,
            "walk_factor": se.walk_factor, "surface_factor": dict(se.surface_factor),
            "tracktype_factor": dict(se.tracktype_factor), "smoothness_factor": dict(se.smoothness_factor),
            "highway_factor": dict(se.highway_factor), "about": _comments_of(src).get(""),
        }
        if network is not None:
            out["season"]["network_records_season"] = has_season_information(network.edges)
            out["season"]["network_records_fords"] = bool(fords(network.edges).any())
    return out


def describe_rai(rai: Any, profile: Any = None) -> dict[str, Any]:
    """The Rural Access Index settings (``[rai]``, defaults of :mod:`territorial_gis.rai` where
    unset) and the profile's all-season rule with the comment that sources it."""
    from .rai import RAI_DISTANCE_M, URBAN_DENSITY_PER_KM2

    def get(key: str) -> Any:
        return rai.get(key) if isinstance(rai, Mapping) else getattr(rai, key, None)

    dist, dens = get("distance_m"), get("urban_density_per_km2")
    out: dict[str, Any] = {
        "distance_m": float(dist) if dist is not None else RAI_DISTANCE_M,
        "urban_density_per_km2": None if get("rural_column") else
        (float(dens) if dens is not None else URBAN_DENSITY_PER_KM2),
        "rural_column": get("rural_column"),
        "population": "raster" if get("population_raster") else "localities",
    }
    table = dict(getattr(profile, "all_season", {}) or {}) if profile is not None else {}
    if table:
        src = str(getattr(profile, "source", "") or "")
        out["all_season"] = {**{k: list(v) for k, v in table.items() if isinstance(v, (list, tuple))},
                             "about": _comments_of(src).get("all_season.surfaces")}
    return out


def _not_applied(thresholds: Mapping[str, float], measured: Sequence[str] | None) -> list[str]:
    """The agro-ecological and density thresholds whose indicator the study did not measure."""
    if measured is None:
        return []
    from .classify import AGRO_CRITERIA

    cols = set(measured)
    out = [f"agroecology.{k}" for k, (col, *_x) in AGRO_CRITERIA.items()
           if f"agroecology.{k}" in thresholds and col not in cols]
    if "density.threshold_per_km2" in thresholds and "density_per_km2" not in cols:
        out.append("density.threshold_per_km2")
    return out


def _plain(v: Any) -> Any:
    """A tier rule as plain data, file paths reduced to their file name."""
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, str) and ("/" in v or "\\" in v) and Path(v).suffix:
        return Path(v).name
    if isinstance(v, np.generic):
        return v.item()
    return v


def upgrade_order(upgrades: pd.DataFrame, population_known: bool) -> pd.DataFrame:
    """Upgrade stretches in the order to show them: by their ``rank`` when population is known
    or the ranking says (``ranked_by``) it already orders by the localities whose travel time
    falls; else (a ranking by person-minutes shown without population) by the localities whose
    travel time falls, then by the largest saving. Adds ``display_rank`` (1, 2, ...)."""
    up = upgrades.copy()
    by_localities = "ranked_by" in up.columns and len(up) > 0 and \
        (up["ranked_by"].astype(str) == "n_localities_affected").all()
    if "rank" in up.columns and (population_known or by_localities):
        up = up.sort_values("rank", kind="stable")
    else:
        keys = [c for c in ("n_localities_affected", "max_saved_min", "n_localities") if c in up.columns]
        if keys:
            up = up.sort_values(keys, ascending=False, kind="stable")
    up["display_rank"] = np.arange(1, len(up) + 1)
    return up
