"""Change over time: two or more periods of the same units, and which way they are moving.

The periods are locality or area tables of two census years (CONAPO's marginalization 2010 and
2020, two access tables computed on two networks, two classified tables...):

* :func:`compare_periods`: one row per unit with each column per period (``<col>_<label>``),
  the latest value (``<col>``), the change (``<col>_change``, ``<col>_change_pct``) and, for
  class and grade columns, the transition (``<col>_transition``, ``"Alto -> Medio"``);
  ``period_status`` says whether the unit is in every period. Columns whose method changed
  between periods (CONAPO's index across 2015-2020) are not differenced.
* :func:`transition_table`: from-class x to-class counts (MRA -> FRA, grade changes).
* :func:`changes_by_band`: outcomes by travel-time band ("did places nearer an intermediate
  city grow faster?").

Travel-time changes between two networks (a season, an upgrade) are the ``travel_time_*_min``
columns of two access tables compared the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._codes import normalize_codes
from ._periods import keyed_table, periods_wide
from ._typology import numeric_column
from .columns import (
    AREA_CLASS,
    MARGINALIZATION_GRADE,
    MARGINALIZATION_GRADES,
    MRA_TYPE,
    POPULATION,
    YEAR,
    period_change_col,
    period_change_pct_col,
    period_col,
    transition_col,
)
from .errors import ColumnError, ConfigError

log = logging.getLogger(__name__)

#: class/grade columns compared as transitions when present, with their order (None: as found)
CATEGORICAL_DEFAULTS: dict[str, tuple[str, ...] | None] = {
    MARGINALIZATION_GRADE: MARGINALIZATION_GRADES,
    AREA_CLASS: ("MRA", "FRA", "unclassified"),
    MRA_TYPE: None,
}
#: columns not differenced when the ``method`` column differs between periods (CONAPO re-based
#: its index in 2020: compare grades and percentiles across the break, never the raw index)
METHOD_BOUND = ("marginalization_index", "marginalization_index_0_100", "marginalization_index_normalized")
_ARROW = " -> "


def _comparable(frames: Mapping[str, pd.DataFrame], cols: Sequence[str]
                ) -> tuple[list[str], list[str], list[str]]:
    """Columns that may be differenced, columns only shown per period (their method changed), and
    notes on the columns not differenced."""
    notes: list[str] = []
    per_period: list[str] = []
    methods = {lab: set(f["method"].dropna().astype(str)) for lab, f in frames.items() if "method" in f}
    broken = len(methods) == len(frames) and len(set().union(*methods.values())) > 1
    keep = []
    for c in cols:
        empty = [lab for lab, f in frames.items() if numeric_column(f, c).size and np.isnan(numeric_column(f, c)).all()]
        if empty:
            notes.append(f"{c}: no value in period(s) {', '.join(empty)}: not compared")
        elif broken and c in METHOD_BOUND:
            per_period.append(c)
            notes.append(f"{c}: methods differ between periods ({' vs '.join(sorted(set().union(*methods.values())))}): "
                         "values kept per period, no change computed (compare grades and percentiles)")
        else:
            keep.append(c)
    return keep, per_period, notes


@dataclass(frozen=True, eq=False)
class PeriodComparison:
    """Periods compared unit by unit (what :func:`compare_periods` returns).

    Attributes
    ----------
    table : one row per unit (see :func:`compare_periods`); a GeoDataFrame when the latest
        period had geometries.
    periods : the period labels in time order (changes go from the first to the last).
    key : the unit identifier column.
    notes : the columns not compared, and why.
    categorical : class or grade columns compared as transitions -> their order (None: as found).
    """

    table: pd.DataFrame
    periods: list[str]
    key: str
    notes: list[str] = field(default_factory=list)
    categorical: dict[str, list[str] | None] = field(default_factory=dict)

    def transitions(self, column: str, *, order: Sequence[str] | None = None) -> pd.DataFrame:
        """From-class x to-class counts of one column (:func:`transition_table`)."""
        return transition_table(self, column, order=order)

    def all_transitions(self) -> pd.DataFrame:
        """Every categorical column's transitions as one long table: ``column``, ``from``, ``to``,
        ``n_units`` (every pair of the classes, zeros included; no totals)."""
        rows = []
        for col in self.categorical:
            tab = self.transitions(col).drop(index="total", columns="total")
            for a, row in tab.iterrows():
                rows += [{"column": col, "from": a, "to": b, "n_units": int(n)} for b, n in row.items()]
        return pd.DataFrame(rows, columns=["column", "from", "to", "n_units"])

    def by_band(self, time_column: str, bands_min: Sequence[float] = (30, 60, 120, 240), *,
                value: str = "population") -> pd.DataFrame:
        """Growth of ``value`` by travel-time band (:func:`changes_by_band`)."""
        return changes_by_band(self, time_column, bands_min, value=value)


def compare_periods(periods: Mapping[str, pd.DataFrame], key: str, *, columns: Sequence[str] | None = None,
                    categorical: Mapping[str, Sequence[str] | None] | None = None,
                    carry: Sequence[str] = ()) -> PeriodComparison:
    """Per unit: values per period, latest value, change and transitions.

    Parameters
    ----------
    periods : ``{label: table}`` in time order (``{"2010": t2010, "2020": t2020}``); two or more.
        Changes are taken from the first to the last period.
    key : unit identifier present in every table (codes are normalised: spaces, ``.0``).
    columns : numeric columns to compare (default: every numeric column of every period).
    categorical : class/grade columns to compare as transitions, with their order (default: those
        of :data:`CATEGORICAL_DEFAULTS` present in every period).
    carry : descriptive columns taken from the latest period holding the unit (names...).

    Returns
    -------
    PeriodComparison
        ``.table`` (a GeoDataFrame when the latest table has geometries): ``key``,
        ``period_status``, carry columns, ``<col>_<label>`` per period, ``<col>`` (latest
        value), ``<col>_change`` (last minus first; for grades the step count),
        ``<col>_change_pct`` (NaN where the first value is 0 or missing),
        ``<col>_transition``; ``.periods`` (the labels), ``.notes`` (the columns not compared
        and why) and ``.categorical``.
    """
    labels = [str(lab) for lab in periods]
    frames = {lab: keyed_table(df, key, lab) for lab, df in zip(labels, periods.values(), strict=True)}
    if columns is None:
        common = set.intersection(*(set(f.columns) for f in frames.values())) - set(carry) - {YEAR}
        columns = [c for c in frames[labels[-1]].columns if c in common
                   and all(pd.api.types.is_numeric_dtype(f[c]) and not pd.api.types.is_bool_dtype(f[c])
                           for f in frames.values())]
    for c in columns:
        for lab, f in frames.items():
            if c not in f:
                raise ColumnError(f"period {lab!r} has no column {c!r} to compare")
    cats = dict(categorical) if categorical is not None else {
        c: o for c, o in CATEGORICAL_DEFAULTS.items() if all(c in f for f in frames.values())}
    numeric, per_period, notes = _comparable(frames, [c for c in columns if c not in cats])
    wide = periods_wide({lab: f.reset_index()[[key, *numeric, *per_period, *cats]] for lab, f in frames.items()},
                        key)
    latest = frames[labels[-1]]
    for c in carry:
        wide[c] = wide[key].map(_latest_values(frames, c))
    first, last = labels[0], labels[-1]
    for c in numeric:
        a = numeric_column(wide, period_col(c, first))
        b = numeric_column(wide, period_col(c, last))
        wide[c] = b
        wide[period_change_col(c)] = b - a
        with np.errstate(invalid="ignore", divide="ignore"):
            wide[period_change_pct_col(c)] = np.where(a != 0, 100.0 * (b - a) / np.abs(a), np.nan)
    for c, order in cats.items():
        a_txt, b_txt = wide[period_col(c, first)], wide[period_col(c, last)]
        wide[c] = b_txt
        ok = a_txt.notna() & b_txt.notna()
        wide[transition_col(c)] = np.where(ok, a_txt.astype(str) + _ARROW + b_txt.astype(str), None)
        if order:
            pos = {v: i for i, v in enumerate(order)}
            wide[period_change_col(c)] = b_txt.map(pos).astype(float) - a_txt.map(pos).astype(float)
    wide = _with_geometry(wide, latest, key)
    for n in notes:
        log.info("compare: %s", n)
    return PeriodComparison(wide, labels, key, notes, {c: list(o) if o else None for c, o in cats.items()})


def _latest_values(frames: Mapping[str, pd.DataFrame], col: str) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for f in frames.values():
        if col in f:
            out.update(f[col].dropna().to_dict())
    return out


def _with_geometry(wide: pd.DataFrame, latest: pd.DataFrame, key: str) -> pd.DataFrame:
    import geopandas as gpd

    if not isinstance(latest, gpd.GeoDataFrame):
        return wide
    geom = latest.geometry
    return gpd.GeoDataFrame(wide, geometry=wide[key].map(geom.to_dict()).to_numpy(), crs=latest.crs)


def _compared_table(compared: PeriodComparison | pd.DataFrame, periods: Sequence[str] | None, what: str
                    ) -> tuple[pd.DataFrame, list[str]]:
    """The compared table and its period labels (given, or those of a :class:`PeriodComparison`)."""
    if isinstance(compared, PeriodComparison):
        return compared.table, list(periods) if periods is not None else compared.periods
    labels = list(periods or [])
    if len(labels) < 2:
        raise ConfigError(f"{what} needs the periods (first and last labels) of a compared table")
    return compared, labels


def transition_table(compared: PeriodComparison | pd.DataFrame, column: str, *,
                     periods: Sequence[str] | None = None, order: Sequence[str] | None = None) -> pd.DataFrame:
    """Counts of units by class in the first period (rows) and the last (columns), with totals.

    ``compared`` is a :class:`PeriodComparison`, or its table with ``periods`` (the labels).
    Only units with a known value in both periods are counted, so the table's grand total is
    the number of units present (and classified) in both.
    """
    cmp = compared if isinstance(compared, PeriodComparison) else None
    compared, labels = _compared_table(compared, periods, "transition_table")
    a_col, b_col = period_col(column, labels[0]), period_col(column, labels[-1])
    for c in (a_col, b_col):
        if c not in compared:
            raise ColumnError(f"no column {c!r}: compare the periods first (compare_periods)")
    a, b = compared[a_col], compared[b_col]
    ok = a.notna() & b.notna()
    if order is None:
        order = (cmp.categorical.get(column) if cmp is not None else None) or sorted(set(a[ok]) | set(b[ok]), key=str)
    cats = list(order) + sorted((set(a[ok]) | set(b[ok])) - set(order), key=str)
    tab = pd.crosstab(pd.Categorical(a[ok], categories=cats), pd.Categorical(b[ok], categories=cats),
                      dropna=False)
    tab.index = pd.Index([str(c) for c in tab.index], name=f"{column} {labels[0]}")
    tab.columns = pd.Index([str(c) for c in tab.columns], name=f"{column} {labels[-1]}")
    tab["total"] = tab.sum(axis=1)
    tab.loc["total"] = tab.sum(axis=0)
    return tab.astype(int)


def changes_by_band(compared: PeriodComparison | pd.DataFrame, time_column: str,
                    bands_min: Sequence[float] = (30, 60, 120, 240), *, value: str = "population",
                    periods: Sequence[str] | None = None) -> pd.DataFrame:
    """Growth of ``value`` by travel-time band: did places nearer a city grow faster?

    Bands are ``(0, b1]``, ``(b1, b2]`` ... ``> bn`` of ``time_column`` (minutes; any column of
    the compared table, e.g. ``travel_time_intermediate_city_min_2010``) plus ``unreachable``
    (NaN time). Per band: ``n_units`` present in both periods with known values,
    ``<value>_<first>``, ``<value>_<last>``, ``change_pct`` (aggregate: total last over total
    first), ``median_unit_change_pct``.
    """
    compared, labels = _compared_table(compared, periods, "changes_by_band")
    if time_column not in compared:
        raise ColumnError(f"no travel-time column {time_column!r}; columns are {', '.join(map(str, compared.columns))}")
    edges = [float(b) for b in bands_min]
    if not edges or any(b <= 0 for b in edges) or edges != sorted(edges):
        raise ConfigError(f"bands must be increasing positive minutes, got {list(bands_min)}")
    a = numeric_column(compared, period_col(value, labels[0]))
    b = numeric_column(compared, period_col(value, labels[-1]))
    t = numeric_column(compared, time_column)
    ok = np.isfinite(a) & np.isfinite(b)
    names = [f"0-{edges[0]:g} min"] + [f"{lo:g}-{hi:g} min" for lo, hi in zip(edges, edges[1:], strict=False)] \
        + [f"> {edges[-1]:g} min", "unreachable"]
    idx = np.where(np.isnan(t), len(edges) + 1, np.searchsorted(edges, t, side="left"))
    rows = []
    for k, name in enumerate(names):
        sel = ok & (idx == k)
        sa, sb = float(a[sel].sum()), float(b[sel].sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            unit = np.where(a[sel] != 0, 100.0 * (b[sel] - a[sel]) / np.abs(a[sel]), np.nan)
        rows.append({"band": name, "n_units": int(sel.sum()), period_col(value, labels[0]): sa,
                     period_col(value, labels[-1]): sb,
                     "change_pct": 100.0 * (sb - sa) / sa if sa > 0 else np.nan,
                     "median_unit_change_pct": float(np.nanmedian(unit)) if np.isfinite(unit).any() else np.nan})
    return pd.DataFrame(rows)


def period_label(spec: str) -> str:
    """The label of a period table: the years of a built-in table (``conapo_marginalization:2010``
    -> ``"2010"``), else the file's stem."""
    from pathlib import Path

    _name, sep, rest = str(spec).partition(":")
    if sep and rest and not Path(spec).exists():
        return rest.replace(",", "_")
    return Path(spec).stem


def unit_times(localities: pd.DataFrame, key: str, time_columns: Sequence[str], *,
               population_column: str = POPULATION, width: int | None = None,
               min_reachable_share: float | None = None) -> pd.DataFrame:
    """Travel times of units (municipalities...) from the localities in them.

    A unit's time is the population-weighted mean over its localities with a known time; it is
    NaN (unreachable) when those localities hold less than ``min_reachable_share`` of the unit's
    locality population (default :data:`territorial_gis.settings.min_reachable_share`, the rule
    of :func:`territorial_gis.classify.aggregate_to_areas`). Localities with an unknown
    population weigh as the mean of the others in the unit (equally when none is known).

    Returns one row per unit (index: the normalised ``key``): each time column, ``n_localities``
    and ``locality_population``.
    """
    from . import settings

    share_needed = settings.min_reachable_share if min_reachable_share is None else min_reachable_share
    for c in [key, *time_columns]:
        if c not in localities:
            raise ColumnError(f"localities have no column {c!r}; columns are {', '.join(map(str, localities.columns))}")
    pop = numeric_column(localities, population_column) if population_column in localities \
        else np.full(len(localities), np.nan)
    df = pd.DataFrame({"unit": normalize_codes(localities[key], width).to_numpy(), "pop": pop})
    df = df[df["unit"].notna()]
    w = df["pop"].fillna(df.groupby("unit")["pop"].transform("mean")).fillna(1.0)
    out = pd.DataFrame({"n_localities": df.groupby("unit").size(),
                        "locality_population": df.groupby("unit")["pop"].sum(min_count=1)})
    total_w = w.groupby(df["unit"]).sum()
    for c in time_columns:
        t = pd.Series(numeric_column(localities, c), index=localities.index).loc[df.index]
        ok = t.notna()
        num = (t.where(ok, 0.0) * w.where(ok, 0.0)).groupby(df["unit"]).sum()
        den = w.where(ok, 0.0).groupby(df["unit"]).sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            out[c] = np.where((den / total_w) >= share_needed, num / den, np.nan)
    out.index.name = key
    return out


def split_periods(table: pd.DataFrame, period_column: str,
                  labels: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """A long table (one row per unit and period) as ``{label: table}`` in period order."""
    if period_column not in table:
        raise ColumnError(f"no period column {period_column!r}; columns are {', '.join(map(str, table.columns))}")
    found = sorted(table[period_column].dropna().unique(), key=lambda v: (str(type(v)), v))
    want = list(labels) if labels else [str(v) for v in found]
    out = {}
    for lab in want:
        sel = table[period_column].astype(str) == lab
        if not sel.any():
            raise ConfigError(f"period {lab!r} not in column {period_column!r} (values: "
                              f"{', '.join(map(str, found))})")
        out[lab] = table[sel].drop(columns=period_column)
    return out
