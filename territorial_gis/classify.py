"""Marginal (MRA) / favorable (FRA) rural area classification with explicit reasons.

An area is an **MRA** when it is *isolated* (too far, in travel time, from the nearest
destination of a tier such as employment centres or intermediate cities) and/or
*agro-ecologically marginal* (steep, high, or of low crop suitability); otherwise it is an
**FRA**. Thresholds come from a TOML rule set (:func:`load_rules`; the shipped
``rules/default.toml`` states the literature behind each default).

Areas are either the localities themselves (points) or polygons (municipalities, a hexagon
grid from :func:`make_hex_grid`, or H3 cells from :func:`make_h3_cells`) to which locality
values are aggregated population-weighted by :func:`aggregate_to_areas`.

:func:`classify_areas` returns a :class:`Classification`: the areas with ``area_class``
(``FRA``/``MRA``, or ``unclassified`` for an area with no locality and no terrain value),
``mra_type`` (``isolated``, ``agroecological``, ``both``, empty for FRA), ``class_reasons``
(measured values against thresholds), ``is_isolated``, ``is_agro_marginal``, the indicator
columns and ``density_per_km2``; and the rules, the tiers judged, general notes and the source
of each indicator. :func:`sensitivity_table` (``Classification.sensitivity()``) moves each
threshold by +-10 % and +-25 %; :func:`summarize_classes` (``Classification.summary()``)
totals population and areas by class.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from . import settings
from ._areamean import AreaWeights, finish_means, locality_areas
from ._cells import area_km2 as area_km2  # the area units are public here too
from ._cells import make_h3_cells as make_h3_cells
from ._cells import make_hex_grid as make_hex_grid
from ._i18n import decimals_apart, plain_number, plain_threshold, reason, threshold_minutes
from ._io import check_input
from ._tables import read_text_table
from ._toml import read_toml
from ._typology import (
    Typology,
    evaluate,
    fmt_threshold,
    sensitivity_rows,
    show_value,
    typology_from_dict,
)
from .columns import reason_col, time_col
from .errors import ColumnError, ConfigError, CRSError, InputFileError

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

DEFAULT_RULES_PATH = Path(__file__).resolve().parent / "rules" / "default.toml"
TT_PATTERN = re.compile(r"^travel_time_(?P<tier>.+)_min$")
COMBINE_MODES = ("any", "all")
DENSITY_ROLES = ("report", "dense_is_favorable")

# agro-ecological criteria: rule key -> (indicator column, comparison, label, unit)
_DEM_NAMES = ("dem", "elevation", "elevation_m", "altitude")

AGRO_CRITERIA: dict[str, tuple[str, str, str, str]] = {
    "max_slope_deg": ("slope_deg", ">", "slope", "°"),
    "max_altitude_m": ("elevation_m", ">", "altitude", " m"),
    "min_suitability_index": ("suitability_index", "<", "suitability index", ""),
    "max_ruggedness_m": ("tri_m", ">", "ruggedness (TRI)", " m"),
}


# ---------------------------------------------------------------------------------------------
# rules


@dataclass(frozen=True)
class Rules:
    """A classification rule set (see ``rules/default.toml`` for the meaning of each field).

    Thresholds set to None are not used.
    """

    access_max_hours: dict[str, float] = field(default_factory=dict)
    access_combine: str = "any"
    max_slope_deg: float | None = None
    max_altitude_m: float | None = None
    min_suitability_index: float | None = None
    max_ruggedness_m: float | None = None
    agro_combine: str = "any"
    density_threshold_per_km2: float | None = None
    density_role: str = "report"
    source: str = "<dict>"

    def thresholds(self) -> dict[str, float]:
        """All numeric thresholds in use, keyed by their TOML path (e.g. ``access.max_hours.intermediate_city``)."""
        out = {f"access.max_hours.{t}": h for t, h in self.access_max_hours.items()}
        for key in AGRO_CRITERIA:
            v = getattr(self, key)
            if v is not None:
                out[f"agroecology.{key}"] = v
        if self.density_threshold_per_km2 is not None:
            out["density.threshold_per_km2"] = self.density_threshold_per_km2
        return out

    def with_threshold(self, name: str, value: float) -> Rules:
        """A copy with the threshold ``name`` (a key of :meth:`thresholds`) set to ``value``."""
        if name.startswith("access.max_hours."):
            tiers = dict(self.access_max_hours)
            tiers[name.removeprefix("access.max_hours.")] = value
            return replace(self, access_max_hours=tiers)
        if name.startswith("agroecology."):
            key = name.removeprefix("agroecology.")
            if key not in AGRO_CRITERIA:
                raise ConfigError(f"unknown threshold '{name}'")
            kw: dict[str, Any] = {key: value}
            return replace(self, **kw)
        if name == "density.threshold_per_km2":
            return replace(self, density_threshold_per_km2=value)
        raise ConfigError(f"unknown threshold '{name}'")


_SCHEMA: dict[str, dict[str, Any]] = {
    "access": {"combine": str, "max_hours": dict},
    "agroecology": {"combine": str, "max_slope_deg": float, "max_altitude_m": float,
                    "min_suitability_index": float, "max_ruggedness_m": float},
    "density": {"threshold_per_km2": float, "role": str},
}


def _number(value: Any, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: '{key}' must be a number, got {type(value).__name__} {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise ConfigError(f"{where}: '{key}' must be a finite number >= 0, got {value!r}")
    return v


def _choice(value: Any, key: str, where: str, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"{where}: '{key}' must be one of {', '.join(repr(c) for c in choices)}, "
                          f"got {value!r}")
    return value


def rules_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> Rules:
    """Validate a parsed rule set; unknown keys and wrong types raise ConfigError naming key and source."""
    kw: dict[str, Any] = {"source": source}
    for section, body in data.items():
        if section not in _SCHEMA:
            raise ConfigError(f"{source}: unknown section [{section}]; known: {', '.join(_SCHEMA)}")
        if not isinstance(body, Mapping):
            raise ConfigError(f"{source}: '{section}' must be a table [{section}]")
        for key, value in body.items():
            full = f"{section}.{key}"
            if key not in _SCHEMA[section]:
                raise ConfigError(f"{source}: unknown key '{full}'; known keys of [{section}]: "
                                  f"{', '.join(_SCHEMA[section])}")
            if full == "access.max_hours":
                if not isinstance(value, Mapping):
                    raise ConfigError(f"{source}: '{full}' must be a table of tier = hours")
                kw["access_max_hours"] = {str(t): _number(h, f"{full}.{t}", source)
                                          for t, h in value.items()}
            elif key == "combine":
                mode = _choice(value, full, source, COMBINE_MODES)
                kw["access_combine" if section == "access" else "agro_combine"] = mode
            elif full == "density.role":
                kw["density_role"] = _choice(value, full, source, DENSITY_ROLES)
            elif full == "density.threshold_per_km2":
                kw["density_threshold_per_km2"] = _number(value, full, source)
            else:
                kw[key] = _number(value, full, source)
    return Rules(**kw)


def load_rules(path: PathLike | None = None) -> Rules:
    """Read and validate a TOML rule set; None loads the shipped ``rules/default.toml``.

    Raises
    ------
    ConfigError
        Unparseable TOML, an unknown section or key, or a threshold of the wrong type; the
        message names the key and the file.
    """
    p = DEFAULT_RULES_PATH if path is None else check_input(path, "rule file")
    data = read_toml(p, "rule file")
    return rules_from_dict(data, source=str(p))


def _as_rules(rules: Rules | PathLike | Mapping[str, Any] | None) -> Rules:
    if rules is None or isinstance(rules, str | os.PathLike):
        return load_rules(rules)
    if isinstance(rules, Rules):
        return rules
    return rules_from_dict(rules)


# ---------------------------------------------------------------------------------------------
# areas: hexagon grids, H3 cells, surface, aggregation


def _is_polygonal(gdf: gpd.GeoDataFrame) -> bool:
    return bool(len(gdf)) and bool(gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all())


def travel_time_tiers(columns: Iterable[str]) -> list[str]:
    """Tier names of the ``travel_time_<tier>_min`` columns."""
    out = []
    for c in columns:
        m = TT_PATTERN.match(str(c))
        if m:
            out.append(m.group("tier"))
    return out


def aggregate_to_areas(localities: gpd.GeoDataFrame, areas: gpd.GeoDataFrame,
                       population_column: str = "population",
                       columns: Sequence[str] | None = None,
                       min_reachable_share: float | None = None) -> gpd.GeoDataFrame:
    """Aggregate locality values to the polygons that contain them, population-weighted.

    Parameters
    ----------
    localities : points with ``travel_time_<tier>_min`` and other numeric indicator columns.
    areas : polygons (any CRS); their own columns are kept.
    population_column : weights; localities with missing population weigh as the mean of
        the others in the area (equal weights when no locality of the area has a population).
    columns : numeric columns to aggregate; default all ``travel_time_*_min`` columns plus
        any of ``elevation_m``, ``slope_deg``, ``tri_m``, ``suitability_index`` present.
    min_reachable_share : a tier's area travel time is the weighted mean over localities that
        reach it, or NaN (unreachable) when they hold less than this share of the weight
        (default :data:`territorial_gis.settings.min_reachable_share`, 0.5).

    Returns
    -------
    ``areas`` with ``population`` (sum; NaN when no locality has one), ``n_localities``,
    ``unreachable_share_<tier>`` and the aggregated columns (NaN for an area with no locality).
    """
    if localities.crs is None or areas.crs is None:
        raise CRSError("localities and areas need a CRS to be joined")
    if min_reachable_share is None:
        min_reachable_share = settings.min_reachable_share
    if columns is None:
        columns = [c for c in localities.columns
                   if TT_PATTERN.match(str(c)) or c in ("elevation_m", "slope_deg", "tri_m",
                                                        "suitability_index")]
    missing = [c for c in columns if c not in localities.columns]
    if missing:
        raise ColumnError(f"localities have no column(s) {missing}")
    area_of = locality_areas(localities, areas)
    n_out = int((area_of < 0).sum())
    if n_out:
        log.info("%d of %d localities fall outside every area and are not aggregated",
                 n_out, len(localities))
    if population_column in localities:
        pop = pd.to_numeric(localities[population_column], errors="coerce").astype("float64").to_numpy()
    else:
        pop = np.full(len(localities), np.nan)
    weights = AreaWeights.from_population(area_of, pop, len(areas))
    out = areas.copy()
    counts = weights.counts
    out["population"] = pd.Series(pop[weights.members]).groupby(weights.area).sum(min_count=1) \
        .reindex(range(len(areas))).to_numpy()
    out["n_localities"] = counts
    total = weights.total
    for col in columns:
        v = pd.to_numeric(localities[col], errors="coerce").astype("float64").to_numpy()[weights.members]
        m = TT_PATTERN.match(str(col))
        mean, share_ok = finish_means(*weights.sums(v), total,
                                      min_reachable_share=min_reachable_share if m else None)
        if m:
            out[f"unreachable_share_{m.group('tier')}"] = np.where(counts > 0, 1.0 - share_ok, np.nan)
        out[col] = mean
    return out


# ---------------------------------------------------------------------------------------------
# classification


def _num(v: Any) -> float:
    """A float, NaN for None/NA/non-numbers."""
    try:
        return float(v) if pd.notna(v) else float("nan")
    except (TypeError, ValueError):
        return float("nan")


def _show(v: float, thr: float, dec: int) -> str:
    """``v`` with ``dec`` decimals, more when that would print it equal to the threshold."""
    return show_value(v, thr, dec)


def _fmt(v: float) -> str:
    return fmt_threshold(v)


def _q(column: str) -> str:
    """A column name as written in a condition (back-quoted)."""
    return f"`{column}`"


def _access_spec(rules: Rules, tiers: Sequence[str], columns: set[str]) -> tuple[Any, Any]:
    """(isolated, access unknown) conditions: a tier's time over its threshold or unknown
    (unreachable) isolates; an area without locality has unknown access."""
    if not tiers:
        return False, True
    leaves = [{"if": f"{_q(time_col(t))} / 60 > @access.max_hours.{t}", "missing": True,
               "label": f"travel time to {t}", "unit": " h", "decimals": 1} for t in tiers]
    isolated: Any = {rules.access_combine: leaves}
    if "n_localities" not in columns:
        return isolated, False
    return ({"all": [isolated, {"if": "n_localities != 0", "missing": True}]},
            {"if": "n_localities == 0", "missing": False})


def _agro_spec(rules: Rules, columns: set[str]) -> tuple[Any, Any]:
    """(agro-ecologically marginal, agro-ecology unknown) conditions over the measured criteria."""
    crit = [(key, col, op, label, unit) for key, (col, op, label, unit) in AGRO_CRITERIA.items()
            if getattr(rules, key) is not None and col in columns]
    if not crit:
        return False, True
    every = rules.agro_combine == "all"  # "all": every known criterion fails, one at least known
    leaves = [{"if": f"{_q(col)} {op} @agroecology.{key}", "missing": every, "label": label,
               "unit": unit, "decimals": 1 if unit == "°" else 0} for key, col, op, label, unit in crit]
    known = [f"{_q(col)} is known" for _k, col, *_x in crit]
    marginal = {"all": [{"any": known}, *leaves]} if every else {"any": leaves}
    return marginal, {"all": [f"{_q(col)} is missing" for _k, col, *_x in crit]}


def rules_typology(rules: Rules, tiers: Sequence[str], columns: Iterable[str]) -> Typology:
    """The MRA/FRA classification as a typology of the shared engine (:mod:`territorial_gis._typology`).

    Flags ``is_isolated``, ``is_agro_marginal``, ``is_dense``; classes in order: ``unclassified``
    (access and agro-ecology both unknown), ``FRA`` for dense areas when the density role is
    ``dense_is_favorable``, ``MRA`` with subtype ``both``, ``isolated``, ``agroecological``, then
    ``FRA``. Thresholds are named as in :meth:`Rules.thresholds`; only the tiers judged and the
    criteria whose indicator column is present are used.
    """
    cols = {str(c) for c in columns}
    isolated, access_unknown = _access_spec(rules, tiers, cols)
    marginal, agro_unknown = _agro_spec(rules, cols)
    dthr = rules.density_threshold_per_km2
    dense: Any = False if dthr is None else {"if": "density_per_km2 >= @density.threshold_per_km2",
                                            "missing": False}
    classes: list[dict[str, Any]] = [{"name": "unclassified", "all": [access_unknown, agro_unknown]}]
    if rules.density_role == "dense_is_favorable":
        classes.append({"name": "FRA", "when": "is_dense"})
    classes += [{"name": "MRA", "subtype": "both", "all": ["is_isolated", "is_agro_marginal"]},
                {"name": "MRA", "subtype": "isolated", "when": "is_isolated"},
                {"name": "MRA", "subtype": "agroecological", "when": "is_agro_marginal"},
                {"name": "FRA", "otherwise": True}]
    spec = {
        "typology": {"name": "mra_fra", "title": "Marginal (MRA) / favorable (FRA) rural areas",
                     "column": "area_class", "subtype_column": "mra_type",
                     "reasons_column": "class_reasons", "unknown_class": "unclassified",
                     "sources": [f"classification rules {rules.source}"]},
        "thresholds": rules.thresholds(),
        "flags": {"is_isolated": isolated, "is_agro_marginal": marginal, "is_dense": dense},
        "class": classes,
    }
    return typology_from_dict(spec, source=rules.source)


def _class_arrays(df: pd.DataFrame, rules: Rules, tiers: Sequence[str]) -> dict[str, np.ndarray]:
    if "density_per_km2" not in df:  # unknown density: never dense
        df = df.assign(density_per_km2=np.nan)
    ev = evaluate(df, rules_typology(rules, tiers, df.columns), reasons=False)
    return {"area_class": ev.classes.astype(str), "mra_type": ev.subtypes.astype(str),
            "is_isolated": ev.flags["is_isolated"][0], "is_agro_marginal": ev.flags["is_agro_marginal"][0],
            "is_dense": ev.flags["is_dense"][0]}


def _reasons(df: pd.DataFrame, rules: Rules, tiers: Sequence[str], flags: dict[str, np.ndarray],
             density_note: str | None) -> list[str]:
    """One ``class_reasons`` text per row: access, then agro-ecological criteria, then density,
    each phrase in the order the reader reads them."""
    out = []
    has_pop = "population" in df
    wanted = ["population", "density_per_km2", "n_localities", "unreachable_reason"]
    for t in tiers:
        wanted += [time_col(t), reason_col(t), f"unreachable_share_{t}"]
    wanted += [col for col, *_x in AGRO_CRITERIA.values()]
    records = pd.DataFrame(df[[c for c in dict.fromkeys(wanted) if c in df]]).to_dict("records")
    for i, row in enumerate(records):
        cls = flags["area_class"][i]
        failing: list[str] = []
        passing: list[str] = []
        notes: list[str] = []
        if "n_localities" in df and row["n_localities"] == 0:
            notes.append(reason("no_locality"))
        else:
            failing, passing = _access_phrases(row, rules, tiers)
        a_fail, a_pass, a_notes = _agro_phrases(row, rules)
        failing, passing, notes = failing + a_fail, passing + a_pass, notes + a_notes
        density = _density_phrase(row, rules, has_pop=has_pop, density_note=density_note,
                                  vetoed=bool(flags["is_isolated"][i] or flags["is_agro_marginal"][i]))
        if density is not None:
            notes.append(density)
        if cls == "MRA":
            parts = failing + notes
        elif cls == "FRA":
            parts = (failing + passing + notes) if rules.density_role == "dense_is_favorable" \
                else (passing + notes)
        else:
            parts = [reason("not_classified")] + notes
        out.append("; ".join(parts))
    return out


def _access_phrases(row: Mapping[str, Any], rules: Rules, tiers: Sequence[str]) -> tuple[list[str], list[str]]:
    """Failing and passing phrases of the access rules of one row (a record of the areas)."""
    failing: list[str] = []
    passing: list[str] = []
    for t in tiers:
        thr = rules.access_max_hours[t]
        m = _num(row[time_col(t)])
        if math.isnan(m):
            why = row.get(f"unreachable_reason_{t}", row.get("unreachable_reason"))
            share = row.get(f"unreachable_share_{t}")
            if isinstance(why, str) and why:
                failing.append(reason("unreachable_why", tier=t, why=why))
            elif isinstance(share, float) and math.isfinite(share):
                failing.append(reason("unreachable_share", tier=t, share=f"{share:.0%}"))
            else:
                failing.append(reason("unreachable", tier=t))
            continue
        # minutes, printed as the maps and reports print them (territorial_gis._i18n)
        thr_min = threshold_minutes(thr)
        shown = dict(tier=t, value=plain_number(m, decimals_apart(m, thr_min, 1)),
                     threshold=plain_threshold(thr_min))
        if m / 60.0 > thr:
            failing.append(reason("time_over", **shown))
        else:
            passing.append(reason("time_ok", **shown))
    return failing, passing


def _agro_phrases(row: Mapping[str, Any], rules: Rules) -> tuple[list[str], list[str], list[str]]:
    """Failing, passing and note phrases of the agro-ecological criteria of one row (criteria
    whose rule is unset or whose indicator column is absent say nothing)."""
    failing: list[str] = []
    passing: list[str] = []
    notes: list[str] = []
    for key, (col, op, label, unit) in AGRO_CRITERIA.items():
        thr_a = getattr(rules, key)
        if thr_a is None or col not in row:
            continue
        v = _num(row[col])
        if math.isnan(v):
            notes.append(reason("indicator_unknown", indicator=label))
            continue
        dec = 1 if unit in ("°",) else 0
        bad = v > thr_a if op == ">" else v < thr_a
        shown = dict(indicator=label, value=_show(v, thr_a, dec), unit=unit, threshold=plain_threshold(thr_a))
        if bad:
            failing.append(reason("indicator", op=op, **shown))
        else:
            passing.append(reason("indicator", op="≤" if op == ">" else "≥", **shown))
    return failing, passing, notes


def _density_phrase(row: Mapping[str, Any], rules: Rules, *, has_pop: bool, density_note: str | None,
                    vetoed: bool) -> str | None:
    """The density note of one row; None when density is known and no threshold is set.
    ``vetoed``: the row is isolated or agro-marginal (a dense area that does not count as
    favourable when density is a rule)."""
    dthr = rules.density_threshold_per_km2
    d = _num(row["density_per_km2"]) if "density_per_km2" in row else float("nan")
    pop = _num(row["population"]) if has_pop else float("nan")
    if not has_pop or math.isnan(pop):
        return reason("population_unknown")
    if math.isnan(d):
        return density_note or reason("density_unknown")
    if dthr is None:
        return None
    shown = dict(value=_show(d, dthr, 0), threshold=plain_threshold(dthr))
    if d < dthr:
        return reason("density_low", **shown)
    if rules.density_role == "dense_is_favorable" and vetoed:
        return reason("density_dense_veto", **shown)
    return reason("density_dense", **shown)


@dataclass(frozen=True, eq=False)
class Classification:
    """What :func:`classify_areas` decided, and on what.

    Attributes
    ----------
    areas
        The classified areas (or localities): ``area_class``, ``mra_type``, ``class_reasons``,
        ``is_isolated``, ``is_agro_marginal``, the indicator columns and ``density_per_km2``.
    rules
        The rule set applied.
    tiers
        The tiers judged on access (rule tiers without a travel-time column are left out and
        named in ``notes``).
    notes
        General remarks on the classification (a tier skipped, density unknown...).
    indicator_sources
        Indicator column -> where its values come from (a raster, an altitude column, the
        localities aggregated into the areas).
    """

    areas: gpd.GeoDataFrame
    rules: Rules
    tiers: list[str]
    notes: list[str] = field(default_factory=list)
    indicator_sources: dict[str, str] = field(default_factory=dict)

    def sensitivity(self, changes: Sequence[float] = (-0.25, -0.10, 0.10, 0.25)) -> pd.DataFrame:
        """How class shares move with each threshold (:func:`sensitivity_table` with these rules and tiers)."""
        return sensitivity_table(self.areas, self.rules, changes=changes, tiers=self.tiers)

    def summary(self, by: str | None = None) -> pd.DataFrame:
        """Population and areas by class and MRA type (:func:`summarize_classes`)."""
        return summarize_classes(self.areas, by=by)

    @property
    def counts(self) -> dict[str, int]:
        """Number of areas per class."""
        return {str(k): int(v) for k, v in self.areas["area_class"].value_counts().items()}


def classify_areas(areas_or_localities: gpd.GeoDataFrame,
                   rules: Rules | PathLike | Mapping[str, Any] | None = None,
                   tiers: Sequence[str] | None = None,
                   localities: gpd.GeoDataFrame | None = None,
                   rasters: Mapping[str, PathLike] | None = None,
                   population_column: str = "population",
                   altitude_column: str | None = None) -> Classification:
    """Classify areas (or localities) as FRA or MRA with reasons.

    Parameters
    ----------
    areas_or_localities : points (each locality is an area; ``travel_time_<tier>_min``
        columns, optional ``population``) or polygons. Polygons either already carry the
        indicator columns, or get them from ``localities`` (population-weighted, see
        :func:`aggregate_to_areas`).
    rules : a :class:`Rules`, a TOML path, a dict, or None for the shipped defaults.
    tiers : tiers to judge access on; default every tier that has both a threshold in the
        rules and a ``travel_time_<tier>_min`` column (rule tiers without a column are
        skipped with a warning).
    localities : points to aggregate into polygon areas.
    rasters : ``{name: path}`` for :func:`territorial_gis.terrain.measure_terrain`
        (``dem``, ``slope``, ``suitability``, ...); sampled at points, averaged over polygons.
    population_column : population column of the localities/areas.
    altitude_column : altitude column used when no DEM is given (detected by default).

    Returns
    -------
    Classification
        ``.areas``: the GeoDataFrame with ``area_class``, ``mra_type``, ``class_reasons``,
        ``is_isolated``, ``is_agro_marginal``, indicators and ``density_per_km2``; ``.rules``,
        ``.tiers`` (judged), ``.notes`` and ``.indicator_sources``; ``.sensitivity()`` and
        ``.summary()`` for the tables.
    """
    r = _as_rules(rules)
    if not isinstance(areas_or_localities, gpd.GeoDataFrame):
        raise ColumnError("areas/localities must be a GeoDataFrame")
    polygons = _is_polygonal(areas_or_localities)
    gdf, sources = _measure_indicators(areas_or_localities, localities, rasters, polygons=polygons,
                                       population_column=population_column, altitude_column=altitude_column)
    density_note = _add_density(gdf, polygons)
    use, skipped_note = _judged_tiers(gdf, r, tiers)
    notes = [n for n in (density_note, skipped_note) if n]
    _check_something_to_judge(gdf, r, use)
    flags = _class_arrays(gdf, r, use)
    for k in ("area_class", "mra_type", "is_isolated", "is_agro_marginal"):
        gdf[k] = flags[k]
    gdf["class_reasons"] = _reasons(gdf, r, use, flags, density_note if "population" in gdf else None)
    log.info("classified %d areas: %d MRA, %d FRA", len(gdf), int((flags["area_class"] == "MRA").sum()),
             int((flags["area_class"] == "FRA").sum()))
    return Classification(areas=gdf, rules=r, tiers=use, notes=notes, indicator_sources=sources)


def _measure_indicators(gdf: gpd.GeoDataFrame, localities: gpd.GeoDataFrame | None,
                        rasters: Mapping[str, PathLike] | None, *, polygons: bool, population_column: str,
                        altitude_column: str | None) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """The units with their indicator columns (localities aggregated into polygons, terrain
    sampled or averaged) and where each indicator comes from; the population column is
    renamed ``population``."""
    from .terrain import measure_terrain

    if localities is None:
        if population_column != "population" and population_column in gdf:
            gdf = gdf.rename(columns={population_column: "population"})
        measured = measure_terrain(gdf, rasters, altitude_column=altitude_column)
        return measured.frame, measured.sources
    if not polygons:
        raise ColumnError("localities can only be aggregated into polygon areas")
    loc = localities
    if population_column != "population" and population_column in loc:
        loc = loc.rename(columns={population_column: "population"})
    loc_sources: dict[str, str] = {}
    if not any(n.lower() in _DEM_NAMES for n in (rasters or {})):  # altitude column of the localities, if any
        on_localities = measure_terrain(loc, {}, altitude_column=altitude_column)
        loc, loc_sources = on_localities.frame, on_localities.sources
    measured = measure_terrain(aggregate_to_areas(loc, gdf), rasters, use_altitude_column=False)
    sources = {k: f"population-weighted mean of localities' {v}" for k, v in loc_sources.items()}
    sources.update(measured.sources)
    out = measured.frame
    out["indicator_sources"] = "; ".join(f"{k}: {v}" for k, v in sources.items())
    return out, sources


def _add_density(gdf: gpd.GeoDataFrame, polygons: bool) -> str | None:
    """Add ``area_km2`` (polygons) and ``density_per_km2`` in place; a note when density is unknown."""
    if polygons:
        gdf["area_km2"] = area_km2(gdf).to_numpy()
    if "area_km2" in gdf and "population" in gdf:
        with np.errstate(invalid="ignore", divide="ignore"):
            gdf["density_per_km2"] = (pd.to_numeric(gdf["population"], errors="coerce")
                                      / gdf["area_km2"].where(gdf["area_km2"] > 0))
        return None
    gdf["density_per_km2"] = np.nan
    if "population" not in gdf:
        return "no population column: density not computed, classified by access and agro-ecology alone"
    return reason("density_no_area")


def _judged_tiers(gdf: pd.DataFrame, rules: Rules, tiers: Sequence[str] | None) -> tuple[list[str], str | None]:
    """The tiers judged on access, and a note naming rule tiers skipped for want of a column."""
    present = travel_time_tiers(gdf.columns)
    if tiers is None:
        skipped = [t for t in rules.access_max_hours if t not in present]
        note = None
        if skipped:
            note = f"no travel_time_<tier>_min column for rule tier(s) {', '.join(skipped)}: not used"
            log.warning(note)
        return [t for t in rules.access_max_hours if t in present], note
    for t in tiers:
        if t not in rules.access_max_hours:
            raise ConfigError(f"tier '{t}' has no threshold in [access.max_hours] of {rules.source}")
        if time_col(t) not in gdf:
            raise ColumnError(f"no column {time_col(t)} for tier '{t}'; "
                              f"columns are {', '.join(map(str, gdf.columns))}")
    return list(tiers), None


def _check_something_to_judge(gdf: pd.DataFrame, rules: Rules, tiers: Sequence[str]) -> None:
    agro_cols = [c for k, (c, *_x) in AGRO_CRITERIA.items() if getattr(rules, k) is not None and c in gdf]
    if not tiers and not agro_cols:
        raise ColumnError(
            "nothing to classify on: no travel_time_<tier>_min column for the rule tiers "
            f"({', '.join(rules.access_max_hours) or 'none'}) and no terrain indicator "
            "(give --raster dem=FILE or an altitude column)")


# ---------------------------------------------------------------------------------------------
# sensitivity and summaries


def _shares(df: pd.DataFrame, cls: np.ndarray, mtype: np.ndarray) -> dict[str, float]:
    pop = pd.to_numeric(df["population"], errors="coerce").astype("float64").fillna(0.0).to_numpy() \
        if "population" in df else np.zeros(len(df))
    classified = cls != "unclassified"
    n = max(int(classified.sum()), 1)
    ptot = float(pop[classified].sum())
    out: dict[str, float] = {}
    for name, sel in (("MRA", cls == "MRA"), ("FRA", cls == "FRA"),
                      ("MRA_isolated", mtype == "isolated"), ("MRA_agroecological", mtype == "agroecological"),
                      ("MRA_both", mtype == "both")):
        out[f"areas_share_{name}"] = float(sel.sum()) / n
        out[f"population_share_{name}"] = float(pop[sel].sum()) / ptot if ptot > 0 else float("nan")
    return out


def sensitivity_table(classified_inputs: pd.DataFrame,
                      rules: Rules | PathLike | Mapping[str, Any] | None = None,
                      changes: Sequence[float] = (-0.25, -0.10, 0.10, 0.25),
                      tiers: Sequence[str] | None = None) -> pd.DataFrame:
    """How class shares move when each threshold moves by each relative change.

    Parameters
    ----------
    classified_inputs : the indicator frame (typically ``classify_areas(...).areas``; only
        indicator columns, ``population`` and ``density_per_km2`` are read).
    rules : the baseline rules (default: the shipped defaults); ``Classification.sensitivity()``
        passes the rules it was classified with.
    changes : relative changes applied to one threshold at a time.
    tiers : tiers judged on access (default: every rule tier with a ``travel_time_<tier>_min``
        column).

    Returns
    -------
    One row for the baseline and one per (threshold, change) for the thresholds that can act:
    tiers judged, agro-ecological indicators present, and density when its role is
    ``dense_is_favorable``. Columns: ``parameter``,
    ``change_pct``, ``threshold``, ``areas_share_MRA``/``_FRA``, ``population_share_MRA``/``_FRA``,
    shares by MRA type, and ``n_changed`` (areas whose class differs from the baseline).
    """
    df = classified_inputs
    base = _as_rules(rules)
    if tiers is None:
        tiers = [t for t in base.access_max_hours if time_col(t) in df]
    tiers = list(tiers)
    if "density_per_km2" not in df:  # unknown density: never dense
        df = df.assign(density_per_km2=np.nan)
    typ = rules_typology(base, tiers, df.columns)
    rows = sensitivity_rows(df, typ, changes, lambda ev: _shares(df, ev.classes, ev.subtypes),
                            skip_zero=False)
    return pd.DataFrame(rows)


def summarize_classes(classified: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Population and number of areas by class and MRA type (per region with ``by``).

    Returns columns ``[by,] area_class, mra_type, n_areas, population, share_areas,
    share_population`` (shares within the region), plus a ``total`` row per region. Where no
    population is known, ``population`` and ``share_population`` are NaN (unknown), never 0.
    """
    for c in ("area_class", "mra_type"):
        if c not in classified:
            raise ColumnError(f"'{c}' column missing: classify the areas first")
    if by is not None and by not in classified:
        raise ColumnError(f"region column '{by}' not found; columns are "
                          f"{', '.join(map(str, classified.columns))}")
    df = pd.DataFrame({
        "area_class": classified["area_class"].astype(str),
        "mra_type": classified["mra_type"].fillna("").astype(str),
        "population": pd.to_numeric(classified["population"], errors="coerce")
        if "population" in classified else np.nan,
    })
    keys = ["area_class", "mra_type"]
    if by is not None:
        df[by] = classified[by].to_numpy()
        keys = [by] + keys
    g = df.groupby(keys, dropna=False, sort=True)
    out = g.agg(n_areas=("area_class", "size"), population=("population", lambda s: s.sum(min_count=1)))
    out = out.reset_index()
    def known_sum(s: pd.Series) -> float:  # NaN, never 0, when no population is known
        return float(s.sum(min_count=1))

    if by is not None:
        tot_n = out.groupby(by)["n_areas"].transform("sum")
        tot_p = out.groupby(by)["population"].transform(known_sum)
    else:
        tot_n = out["n_areas"].sum()
        tot_p = known_sum(out["population"])
    out["share_areas"] = out["n_areas"] / tot_n
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share_population"] = out["population"] / tot_p
    # totals
    if by is not None:
        t = out.groupby(by, dropna=False).agg(n_areas=("n_areas", "sum"),
                                              population=("population", known_sum))
        t = t.reset_index()
    else:
        t = pd.DataFrame({"n_areas": [out["n_areas"].sum()], "population": [known_sum(out["population"])]})
    t["area_class"] = "total"
    t["mra_type"] = ""
    t["share_areas"] = 1.0
    t["share_population"] = np.where(t["population"] > 0, 1.0, np.nan)
    res = pd.concat([out, t[out.columns]], ignore_index=True)
    if by is not None:
        res = res.sort_values(by, kind="stable").reset_index(drop=True)
    return res


# ---------------------------------------------------------------------------------------------
# input tables

_LONLAT = (("lon", "lat"), ("longitude", "latitude"), ("longitud", "latitud"), ("x", "y"),
           ("lng", "lat"))


def read_access_table(path: PathLike) -> gpd.GeoDataFrame:
    """Read localities (GPKG, GeoParquet, GeoJSON, FlatGeobuf, Shapefile or CSV with lon/lat).

    A CSV needs lon/lat columns (``lon``/``lat``, ``longitude``/``latitude``,
    ``longitud``/``latitud``, ``x``/``y``) in degrees (EPSG:4326).
    """
    p = check_input(path, "access table")
    suffix = p.suffix.lower()
    try:
        if suffix == ".csv":  # encoding and number formats as places files (see _tables)
            df = read_text_table(p, "access table", degrees=[c for pair in _LONLAT for c in pair])
            lower = {c.lower(): c for c in df.columns}
            for xc, yc in _LONLAT:
                if xc in lower and yc in lower:
                    x = pd.to_numeric(df[lower[xc]], errors="coerce")
                    y = pd.to_numeric(df[lower[yc]], errors="coerce")
                    if x.isna().any() or y.isna().any():
                        raise ColumnError(f"{p}: missing or non-numeric coordinates in "
                                          f"'{lower[xc]}'/'{lower[yc]}'")
                    if (x.abs() > 180).any() or (y.abs() > 90).any():
                        raise CRSError(f"{p}: '{lower[xc]}'/'{lower[yc]}' are not lon/lat degrees")
                    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(x, y), crs=4326)
            raise ColumnError(f"{p}: no lon/lat columns (looked for "
                              f"{', '.join('/'.join(pair) for pair in _LONLAT)})")
        if suffix in (".parquet", ".geoparquet"):
            gdf = gpd.read_parquet(p)
        else:
            gdf = gpd.read_file(p, engine="pyogrio")
    except (ColumnError, CRSError):
        raise
    except Exception as exc:  # pyogrio/pyarrow/pandas parse errors
        raise InputFileError(f"cannot read {p}: {exc}") from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry is None:
        raise InputFileError(f"{p} has no geometries")
    if gdf.crs is None:
        raise CRSError(f"{p} has no CRS; set one (e.g. EPSG:4326)")
    if len(gdf) == 0:
        raise InputFileError(f"{p} has no rows")
    return gdf
