"""What a network's road attributes mean, for the stages that read them (scenarios, RAI, corridors).

The builders keep the attributes of the source (OSM tags, a road layer's mapped columns) on the
edges; this module is the one place that says which values mean "usable in the dry season only",
"not usable all year", "a ford", and which speed profile a network was built with.

Seasons of use, in the order they are read:

* a road layer's ``season`` column (the layer schema maps its values to ``dry_season_only`` or
  ``all_year``);
* OSM ``seasonal=*``, which names the season(s) in which a road *is usable* (OSM wiki,
  Key:seasonal): ``dry_season`` (or ``dry``) means dry season only, and ``yes`` (seasonal, no
  season given) is read the same way, because in the tropics the season that closes a road is the
  rains. ``wet_season``, ``summer``, ``winter`` and other values name another or an ambiguous
  season: such a road is not all-year (:func:`not_all_year`, for the Rural Access Index) but the
  wet season does not close it. Several seasons (``dry_season;winter``) close it only when every
  one is a dry-season value;
* OSM conditional restrictions (``access:conditional``, ``vehicle:conditional``,
  ``motor_vehicle:conditional``, ``motorcar:conditional``; ``foot:conditional`` in walk mode),
  syntax ``value @ condition; value @ (condition AND condition)``. A road is closed in the wet
  season when the most specific key that has a rule for the wet season says ``no`` (``yes``,
  ``destination``... on a more specific key reopens it) and that rule's conditions are all
  explicit names of the rainy season: ``wet_season``, ``rainy_season``, ``monsoon`` and their
  spaced and Spanish / Portuguese forms (:data:`WET_SEASON_CONDITIONS`). Conservative on purpose:

  - month ranges (``no @ (Nov-Apr)``) are not read as the wet season: which months are the rains
    depends on the place (November-April in the Bolivian and Brazilian lowlands, May-October in
    Central America, two rainy seasons in much of Colombia), and month closures in the Andes and
    Patagonia are often winter snow closures;
  - ``no @ wet`` is OSM's *road surface is wet* condition (as in ``maxspeed:conditional``), a
    state of the weather rather than a season;
  - a wet-season rule combined with another condition (``no @ (wet_season AND weight>7.5)``)
    closes the road only to some vehicles.

  Those roads stay open in the wet season, are counted by :func:`conditional_closures_not_read`
  (the scenario notes say how many, so an analyst can check them) and are not all-year
  (:func:`not_all_year`) when the condition names a season, a month, ``wet`` or ``snow``.

Fords: OSM ``ford=*`` on the way, or on a node of the way (the builders put a ford node's value
on the edges that hold the node).
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .network import RoadNetwork
    from .speeds import Profile

DRY_SEASON_ONLY = "dry_season_only"
"""The ``season`` value of a road usable in the dry season only (layer schemas map to it)."""
SEASONAL_DRY_VALUES = frozenset({"yes", "dry_season", "dry"})
"""OSM ``seasonal=*`` values of a road usable in the dry season only (``yes``: seasonal, season not given)."""
SEASONAL_ALL_YEAR_VALUES = frozenset({"no"})
"""OSM ``seasonal=*`` values of a road usable all year."""
FORD_VALUES = frozenset({"yes", "true", "1", "stepping_stones"})
"""OSM ``ford=*`` values of a ford (``ford=no`` and ``ford=boat`` are not one a vehicle drives through)."""
WET_SEASON_CONDITIONS = frozenset({
    "wet_season", "rainy_season", "monsoon", "monsoon_season",
    "temporada_de_lluvias", "temporada_lluviosa", "epoca_de_lluvias", "estacion_lluviosa", "periodo_de_lluvias",
    "estacao_chuvosa", "estacao_das_chuvas", "epoca_das_chuvas", "periodo_chuvoso",
})
"""Conditions (normalised: lower case, accents dropped, spaces and hyphens as ``_``) that name the
rainy season in a conditional restriction."""
CLOSING_VALUES = frozenset({"no"})
"""Values of a conditional restriction that close the road."""
CONDITIONAL_KEYS = {
    "drive": ("motorcar:conditional", "motor_vehicle:conditional", "vehicle:conditional", "access:conditional"),
    "walk": ("foot:conditional", "access:conditional"),
}
"""Conditional access keys by mode, the most specific first (its rule decides)."""
OSM_SEASON_KEYS = ("seasonal", "ford", *dict.fromkeys(k for keys in CONDITIONAL_KEYS.values() for k in keys))
"""The OSM tags the builders keep on the edges for the seasons (when a way has them)."""

_SEASON_WORDS = frozenset({"spring", "summer", "autumn", "fall", "winter", "dry_season", "wet_season",
                           "rainy_season", "monsoon", "verano", "invierno", "inverno", "verao"})
_WEATHER_WORDS = frozenset({"wet", "snow", "flood", "flooding", "high_water"})
_MONTH = re.compile(r"(?<![a-z])(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)(?![a-z])")
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


def _norm_condition(text: str) -> str:
    """A condition as a key: lower case, accents dropped, spaces and hyphens as ``_``."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[\s\-]+", "_", plain.strip().lower())


def _split_top(text: str) -> list[str]:
    """Split at ``;`` outside parentheses (opening-hours conditions hold their own ``;``)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        elif ch == ";" and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return [p for p in (s.strip() for s in out) if p]


@functools.lru_cache(maxsize=4096)
def parse_conditional(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The rules of a conditional restriction: ``((value, (condition, ...)), ...)``.

    ``"no @ (wet season); yes @ (Jan-Mar AND weight<3.5)"`` gives
    ``(("no", ("wet_season",)), ("yes", ("jan_mar", "weight<3.5")))`` (conditions as
    :func:`_norm_condition` writes them). A rule without ``@`` is skipped.
    """
    rules = []
    for part in _split_top(text):
        if "@" not in part:
            continue
        value, cond = part.split("@", 1)
        cond = cond.strip()
        if cond.startswith("(") and cond.endswith(")"):
            cond = cond[1:-1]
        conds = tuple(_norm_condition(c) for c in _AND.split(cond) if c.strip())
        rules.append((value.strip().lower(), conds))
    return tuple(rules)


def _wet_rule(text: str) -> str | None:
    """The value of the last rule of a conditional restriction that applies in the wet season
    (all its conditions name the rainy season), or None."""
    found = None
    for value, conds in parse_conditional(text):
        if _is_wet_season(conds):
            found = value
    return found


def _is_wet_season(conds: tuple[str, ...]) -> bool:
    return bool(conds) and all(c in WET_SEASON_CONDITIONS for c in conds)


def _is_seasonal(cond: str) -> bool:
    """Whether a condition names a season, a month or a state of the road like ``wet`` or ``snow``."""
    return cond in _SEASON_WORDS or cond in _WEATHER_WORDS or cond in WET_SEASON_CONDITIONS \
        or _MONTH.search(cond) is not None


def _closes_unread(text: str) -> bool:
    """Whether a conditional restriction closes the road under a condition that is not the wet season."""
    return any(value in CLOSING_VALUES and conds and not _is_wet_season(conds)
               for value, conds in parse_conditional(text))


def _seasonal_decision(text: str) -> bool | None:
    """Whether a conditional restriction closes the road under a seasonal condition: None when it
    has no rule with a seasonal condition (a less specific key then decides)."""
    rules = [value in CLOSING_VALUES for value, conds in parse_conditional(text) if any(map(_is_seasonal, conds))]
    return any(rules) if rules else None


def _most_specific(edges: pd.DataFrame, mode: str, fn: Callable[[str], object]) -> np.ndarray:
    """Per edge, ``fn`` of the most specific conditional key of ``mode`` where it is not None."""
    decided = np.full(len(edges), None, dtype=object)
    for key in _keys(mode):
        value = _per_value(edges, key, fn)
        here = (decided == None) & (value != None)  # noqa: E711 - object arrays
        decided[here] = value[here]
    return decided


def _per_value(edges: pd.DataFrame, col: str, fn: Callable[[str], object]) -> np.ndarray:
    """``fn`` of each distinct value (as text) of an edge column, as an object array per edge
    (None where the column is absent or the value missing)."""
    if col not in edges:
        return np.full(len(edges), None, dtype=object)
    s = edges[col].astype(object)
    table = {v: fn(str(v)) for v in pd.unique(s) if not _missing(v)}
    return np.array([table.get(v) if not _missing(v) else None for v in s], dtype=object)


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and v != v) or v is pd.NA


def _keys(mode: str) -> Sequence[str]:
    return CONDITIONAL_KEYS["walk" if mode == "walk" else "drive"]


def wet_season_closed(edges: pd.DataFrame, mode: str = "drive") -> np.ndarray:
    """Edges a conditional restriction closes in the wet season (see the module docstring)."""
    return np.isin(_most_specific(edges, mode, _wet_rule), list(CLOSING_VALUES))


def conditional_closures_not_read(edges: pd.DataFrame, mode: str = "drive") -> np.ndarray:
    """Edges with a conditional closure (``no @ ...``) that :func:`wet_season_closed` does not read
    as the wet season (month ranges, ``wet``, combined conditions, times of day...)."""
    some = np.zeros(len(edges), dtype=bool)
    for key in _keys(mode):
        some |= _per_value(edges, key, _closes_unread).astype(bool)
    return some


def _seasonal_values(edges: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per edge: whether OSM ``seasonal`` makes it dry-season only, and whether it makes it
    seasonal at all (any value but ``no``)."""
    def dry(v: str) -> bool:
        parts = {p.strip().lower() for p in v.split(";") if p.strip()}
        return bool(parts) and parts <= SEASONAL_DRY_VALUES

    def seasonal(v: str) -> bool:
        return v.strip().lower() not in SEASONAL_ALL_YEAR_VALUES | {""}

    return (_per_value(edges, "seasonal", dry).astype(bool),
            _per_value(edges, "seasonal", seasonal).astype(bool))


def dry_season_only(edges: pd.DataFrame, mode: str = "drive") -> np.ndarray:
    """Edges usable in the dry season only: a layer's ``season`` column, OSM ``seasonal=*``, or a
    conditional restriction closing them in the wet season (see the module docstring)."""
    dry = np.zeros(len(edges), dtype=bool)
    if "season" in edges:
        dry |= (edges["season"].astype(object) == DRY_SEASON_ONLY).to_numpy()
    dry |= _seasonal_values(edges)[0]
    dry |= wet_season_closed(edges, mode)
    return dry


def not_all_year(edges: pd.DataFrame, mode: str = "drive") -> np.ndarray:
    """Edges not usable all year: dry-season only (:func:`dry_season_only`), any OSM ``seasonal``
    value but ``no``, or a conditional closure whose condition names a season, a month, ``wet``
    or ``snow`` (what the Rural Access Index leaves out of the all-season roads)."""
    seasonal_rule = _most_specific(edges, mode, _seasonal_decision) == True  # noqa: E712 - object array
    return dry_season_only(edges, mode) | _seasonal_values(edges)[1] | seasonal_rule


def has_season_information(edges: pd.DataFrame) -> bool:
    """Whether the edges record a season of use at all (a season column, OSM ``seasonal`` or a
    conditional access tag)."""
    keys = {"season", "seasonal", *(k for ks in CONDITIONAL_KEYS.values() for k in ks)}
    return bool(keys & set(edges.columns))


def fords(edges: pd.DataFrame) -> np.ndarray:
    """Edges that are fords (OSM ``ford=*`` on the way or on one of its nodes)."""
    if "ford" not in edges:
        return np.zeros(len(edges), dtype=bool)
    return _per_value(edges, "ford", lambda v: v.strip().lower() in FORD_VALUES).astype(bool)


def profile_of(network: RoadNetwork, profile: Profile | str | os.PathLike[str] | None = None) -> Profile:
    """``profile`` loaded, else the profile the network was built with, else the shipped one of its mode."""
    from .speeds import Profile, load_profile

    if isinstance(profile, Profile):
        return profile
    if profile is not None:
        return load_profile(profile)
    src = network.meta.get("profile")
    if isinstance(src, str) and os.path.isfile(src):
        return load_profile(src)
    return load_profile(None, mode=network.meta.get("mode") or "drive")
