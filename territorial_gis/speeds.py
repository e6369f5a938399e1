"""Speed model: profiles as data (TOML) and vectorised speed assignment.

A profile gives a free-flow speed per highway class, multiplied by factors for ``surface``,
``tracktype`` and ``smoothness``, and capped by a parsed ``maxspeed`` tag. The default
profiles ship with the package (``territorial_gis/profiles/drive.toml`` and ``walk.toml``);
users pass their own TOML file with the same tables.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import settings
from ._toml import read_builtin_or_file
from .errors import ConfigError, InputFileError

log = logging.getLogger(__name__)

MODES = ("drive", "walk")
MPH_TO_KPH = 1.609344
KNOT_TO_KPH = 1.852

_TOP_KEYS = {"mode", "default_speed_kph", "walk_speed_kph", "maxspeed_factor", "highway_speed_kph",
             "access", "surface_factor", "tracktype_factor", "smoothness_factor", "maxspeed_zone_kph",
             "all_season"}
_ACCESS_KEYS = {"exclude_access", "exclude_service", "keep_access"}
_PAVED = {"asphalt", "concrete", "concrete:plates", "concrete:lanes", "paved", "paving_stones", "sett",
          "cobblestone", "unhewn_cobblestone", "metal", "wood", "chipseal"}


@dataclass(frozen=True)
class Profile:
    """A speed profile (see the shipped TOML files for the meaning of each table)."""

    mode: str
    highway_speed_kph: dict[str, float]
    default_speed_kph: float = 25.0
    #: off-road walking speed; a profile that gives none has :data:`territorial_gis.settings.walk_kph`
    walk_speed_kph: float = field(default_factory=lambda: float(settings.walk_kph))
    maxspeed_factor: float = 0.9
    surface_factor: dict[str, float] = field(default_factory=dict)
    tracktype_factor: dict[str, float] = field(default_factory=dict)
    smoothness_factor: dict[str, float] = field(default_factory=dict)
    maxspeed_zone_kph: dict[str, float] = field(default_factory=dict)
    exclude_access: tuple[str, ...] = ("no", "private")
    exclude_service: tuple[str, ...] = ()
    keep_access: tuple[str, ...] = ()
    #: which roads count as all-season for the Rural Access Index (checked by territorial_gis.rai)
    all_season: dict[str, Any] = field(default_factory=dict)
    source: str = "<default>"

    @property
    def highways(self) -> frozenset[str]:
        """Highway classes routable in this profile."""
        return frozenset(self.highway_speed_kph)

    def to_dict(self) -> dict[str, Any]:
        """The profile as plain data (for study.json and cache keys)."""
        return {
            "mode": self.mode, "default_speed_kph": self.default_speed_kph,
            "walk_speed_kph": self.walk_speed_kph, "maxspeed_factor": self.maxspeed_factor,
            "highway_speed_kph": dict(self.highway_speed_kph),
            "surface_factor": dict(self.surface_factor), "tracktype_factor": dict(self.tracktype_factor),
            "smoothness_factor": dict(self.smoothness_factor),
            "maxspeed_zone_kph": dict(self.maxspeed_zone_kph),
            "access": {"exclude_access": list(self.exclude_access),
                       "exclude_service": list(self.exclude_service),
                       "keep_access": list(self.keep_access)},
            "all_season": dict(self.all_season),
        }


def _number_table(data: dict[str, Any], key: str, source: str) -> dict[str, float]:
    table = data.get(key, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [{key}] must be a table of name = number")
    out: dict[str, float] = {}
    for name, value in table.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or value < 0:
            raise ConfigError(f"{source}: {key}.{name} = {value!r} is not a non-negative number")
        out[str(name)] = float(value)
    return out


def _table(data: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    table = data.get(key, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [{key}] must be a table")
    return dict(table)


def _number(data: dict[str, Any], key: str, default: float, source: str) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{source}: {key} = {value!r} must be a positive number")
    return float(value)


def profile_from_dict(data: dict[str, Any], source: str = "<dict>") -> Profile:
    """Validate a profile given as a dict (the TOML content) and return a :class:`Profile`."""
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}; "
                          f"allowed: {', '.join(sorted(_TOP_KEYS))}")
    mode = data.get("mode", "drive")
    if mode not in MODES:
        raise ConfigError(f"{source}: mode = {mode!r}; expected one of {', '.join(MODES)}")
    speeds = _number_table(data, "highway_speed_kph", source)
    if not speeds:
        raise ConfigError(f"{source}: [highway_speed_kph] is empty; no road class would be routable")
    access = data.get("access", {})
    if not isinstance(access, dict) or set(access) - _ACCESS_KEYS:
        raise ConfigError(f"{source}: [access] may only hold {', '.join(sorted(_ACCESS_KEYS))}")
    for k, v in access.items():
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise ConfigError(f"{source}: access.{k} must be a list of strings")
    return Profile(
        mode=mode,
        highway_speed_kph=speeds,
        default_speed_kph=_number(data, "default_speed_kph", 25.0, source),
        walk_speed_kph=_number(data, "walk_speed_kph", settings.walk_kph, source),
        maxspeed_factor=_number(data, "maxspeed_factor", 0.9, source),
        surface_factor=_number_table(data, "surface_factor", source),
        tracktype_factor=_number_table(data, "tracktype_factor", source),
        smoothness_factor=_number_table(data, "smoothness_factor", source),
        maxspeed_zone_kph=_number_table(data, "maxspeed_zone_kph", source),
        exclude_access=tuple(access.get("exclude_access", ("no", "private"))),
        exclude_service=tuple(access.get("exclude_service", ())),
        keep_access=tuple(access.get("keep_access", ())),
        all_season=_table(data, "all_season", source),
        source=source,
    )


def load_profile(path: str | os.PathLike[str] | Profile | None = None, mode: str = "drive") -> Profile:
    """Load a speed profile.

    Parameters
    ----------
    path
        A TOML file, an already loaded :class:`Profile` (returned as is), or None for the
        profile shipped for ``mode``.
    mode
        ``"drive"`` or ``"walk"``; used when ``path`` is None.

    Raises
    ------
    ConfigError
        Malformed TOML, unknown keys or wrong value types (the message names the file and key).
    """
    if isinstance(path, Profile):
        return path
    if path is None:
        if mode not in MODES:
            raise ConfigError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
        path = mode
    elif not Path(path).is_file():
        raise InputFileError(f"speed profile not found: {path}")
    data, source = read_builtin_or_file(path, "territorial_gis.profiles", "profile")
    return profile_from_dict(data, source)


_NUM = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(km/h|kmh|kph|mph|knots)?\s*$", re.IGNORECASE)


def parse_maxspeed_one(value: object, zones: dict[str, float] | None = None) -> float:
    """Parse one OSM ``maxspeed`` value to km/h; NaN when absent, ``none`` or unparseable.

    Handles numbers (``"60"``), units (``"40 mph"``, ``"30 knots"``), zone codes
    (``"BR:urban"``, ``"MX:rural"``, from the profile's ``maxspeed_zone_kph`` table, with
    ``XX:urban``/``XX:rural`` falling back to the generic ``urban``/``rural`` entries) and
    lists (``"60;80"``: the lowest value, the conservative reading).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    if isinstance(value, (int, float)):
        return float(value) if value > 0 else math.nan
    text = str(value).strip()
    if not text or text.lower() in ("none", "signals", "variable", "unknown"):
        return math.nan
    if ";" in text or "|" in text:
        parts = [parse_maxspeed_one(p, zones) for p in re.split(r"[;|]", text)]
        finite = [p for p in parts if not math.isnan(p)]
        return min(finite) if finite else math.nan
    m = _NUM.match(text)
    if m:
        speed = float(m.group(1).replace(",", "."))
        unit = (m.group(2) or "").lower()
        if unit == "mph":
            speed *= MPH_TO_KPH
        elif unit == "knots":
            speed *= KNOT_TO_KPH
        return speed if speed > 0 else math.nan
    zones = zones or {}
    if text in zones:
        return zones[text]
    suffix = text.split(":", 1)[-1].lower()
    if suffix in zones:
        return zones[suffix]
    return math.nan


def _per_distinct(values: pd.Series | np.ndarray | list[object], fn: Callable[[Any], float],
                  missing: float) -> np.ndarray:
    """``fn(value)`` for every value, computed once per distinct value; ``missing`` for None/NaN."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    per_value = np.array([fn(u) for u in uniques] + [missing], dtype=float)
    return per_value[codes]  # code -1 (missing) picks the trailing entry


def parse_maxspeed(values: pd.Series | np.ndarray | list[object],
                   zones: dict[str, float] | None = None) -> np.ndarray:
    """Vectorised :func:`parse_maxspeed_one` (parses each distinct value once)."""
    return _per_distinct(values, lambda u: parse_maxspeed_one(u, zones), math.nan)


@functools.lru_cache(maxsize=1)
def _shipped_profiles() -> tuple[Profile, ...]:
    return tuple(load_profile(None, mode=m) for m in MODES)


def known_values(profile: Profile | None = None) -> dict[str, frozenset[str]]:
    """The values the speed model knows, by tag: ``highway`` (road classes), ``surface``,
    ``tracktype`` and ``smoothness`` of the shipped profiles (``drive``, ``walk``) and of
    ``profile``, plus the paved surfaces.

    A value outside these is unknown to the model (a typo, or a layer's own vocabulary that a
    schema must map); a known value a profile does not list is known but, for a class, not
    routable in that profile's mode, and for a factor, neutral (1.0) there.
    """
    profiles = [*_shipped_profiles(), *([profile] if profile is not None else [])]
    return {
        "highway": frozenset().union(*(p.highway_speed_kph for p in profiles)),
        "surface": frozenset(_PAVED).union(*(p.surface_factor for p in profiles)),
        "tracktype": frozenset().union(*(p.tracktype_factor for p in profiles)),
        "smoothness": frozenset().union(*(p.smoothness_factor for p in profiles)),
    }


def is_paved(surface: pd.Series) -> np.ndarray:
    """True where a ``surface`` value is paved, False where unpaved, NaN-safe (missing -> False)."""
    return surface.astype(object).isin(_PAVED).to_numpy()


def assign_speeds(tags: pd.DataFrame, profile: Profile) -> np.ndarray:
    """Speed in km/h for each row of ``tags`` (columns ``highway`` and optionally ``surface``,
    ``tracktype``, ``smoothness``, ``maxspeed``, ``speed_kph_override``).

    class speed x surface factor x tracktype factor x smoothness factor, capped by
    ``maxspeed * maxspeed_factor`` in drive mode; a positive ``speed_kph_override`` (e.g. a
    road-agency speed column) replaces the result. Rows may get 0 (impassable).
    """
    n = len(tags)

    def lookup(name: str, table: dict[str, float], default: float) -> np.ndarray:
        """``table[value]`` per row (``default`` when missing or not in the table); each
        distinct value is looked up once."""
        if name not in tags:
            return np.full(n, default)
        return _per_distinct(tags[name], lambda u: float(table.get(u, default)) if isinstance(u, str) else default,
                             default)

    speed = lookup("highway", profile.highway_speed_kph, profile.default_speed_kph)
    for name, table in (("surface", profile.surface_factor), ("tracktype", profile.tracktype_factor),
                        ("smoothness", profile.smoothness_factor)):
        if table:
            speed = speed * lookup(name, table, 1.0)
    if profile.mode == "drive" and "maxspeed" in tags:
        limit = parse_maxspeed(tags["maxspeed"], profile.maxspeed_zone_kph) * profile.maxspeed_factor
        speed = np.where(np.isfinite(limit), np.minimum(speed, limit), speed)
    if "speed_kph_override" in tags:
        override = pd.to_numeric(tags["speed_kph_override"], errors="coerce").to_numpy(dtype=float)
        speed = np.where(np.isfinite(override) & (override > 0), override, speed)
    return speed
