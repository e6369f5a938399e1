"""Indicators: who is poor, where: join indicator tables to localities and areas, derive counts
from rates, and report them beside population in every summary.

* :func:`load_indicator_table`: a table file (CSV, Parquet, GeoPackage, ...) or a built-in table
  (:data:`INDICATOR_TABLES`: CONAPO's municipal marginalization index 1990-2020).
* :func:`join_indicators`: by code (normalised: zero padding, state + municipality composition)
  and/or by name (accents, case, punctuation and articles ignored, unique matches only, within a
  group such as the state); a :class:`JoinReport` lists matched and unmatched units;
  duplicated keys are refused.
* :func:`join_spatial`: polygons carrying values onto points (the polygon holding each point)
  or onto other polygons, area-weighted or population-weighted (through the localities inside).
* :func:`derive_counts`: counts from rates (``poor = population x rate / 100``), each stated
  with its formula and source.
* :func:`read_indicator_table` returns an :class:`IndicatorTable` (rows, source, credit and
  what was cleaned); :func:`load_indicator_table` the rows alone.
* :func:`indicator_within` ("share of the poor within 4 h"), :func:`summarize_indicators`
  ("MRA share of the poor", by hub, by territory), :func:`land_within` (share of land within X h).

Every unit keeps a ``join_status`` (``code``, ``name``, ``spatial`` or ``unmatched: why``);
unmatched units have NaN values, never 0.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from . import _catalogues
from ._arrays import unique_values
from ._codes import MISSING_MARKS, normalize_codes
from ._crs import equal_area_crs_for_bounds
from ._io import check_input
from ._periods import periods_wide
from ._typology import numeric_column
from .columns import (
    JOIN_STATUS,
    MUNICIPALITY_CODE,
    MUNICIPALITY_NAME,
    POPULATION,
    STATE_CODE,
    STATE_NAME,
    YEAR,
    tiers_in,
    time_col,
)
from .errors import ColumnError, ConfigError, CRSError, InputFileError, TerritorialGISError

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

#: built-in indicator tables: name -> (description, credit)
INDICATOR_TABLES: dict[str, tuple[str, str]] = {
    "conapo_marginalization": (
        "CONAPO municipal marginalization index of Mexico, 1990, 1995, 2000, 2005, 2010, 2015, 2020 "
        "(index, grade, percentile, the census indicators behind it, population), keyed by "
        "municipality_code (5 characters, as in the INEGI localities)",
        _catalogues.CONAPO_IMM_CREDIT),
}
#: travel times (minutes) the summaries report "within" when none are given
WITHIN_MIN = (60.0, 120.0, 240.0)
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")


# ---------------------------------------------------------------------------------------------
# reading tables


def read_table(path: PathLike, *, text_columns: Iterable[str] = ()) -> pd.DataFrame:
    """Read an indicator table: CSV/TSV/TXT, Parquet/GeoParquet, or any vector file (GeoPackage,
    GeoJSON, Shapefile...).

    Text tables are read as places files are (:func:`territorial_gis._tables.read_text_table`):
    encoding detected (valid UTF-8 stays UTF-8, Windows-1252 exports are recognised), separator
    sniffed, cells read as text so codes keep their leading zeros, and every column whose cells
    are all numbers or a missing mark (``-``, ``N. D.``, empty...) read as numbers in its own
    format (``1.625`` with ``,`` decimals elsewhere in the file is 1625), except ``text_columns``.
    A column of numbers whose format cannot be told stays text with a warning.
    """
    from ._tables import read_text_table

    p = check_input(path, "indicator table")
    suffix = p.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".tsv"):
            return read_text_table(p, "indicator table", keep_text=text_columns, missing=MISSING_MARKS)
        if suffix in (".parquet", ".geoparquet"):
            try:
                return gpd.read_parquet(p)
            except (ValueError, KeyError):
                return pd.read_parquet(p)
        return gpd.read_file(p, engine="pyogrio")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, ValueError) as exc:
        if isinstance(exc, TerritorialGISError):
            raise
        raise InputFileError(f"cannot read indicator table {p}: {exc}") from None


@dataclass(frozen=True, eq=False)
class IndicatorTable:
    """An indicator table and what to say about it.

    Attributes
    ----------
    frame : the table (one row per unit, or per unit and year for the whole built-in panel).
    source : what the table is, for reports (``"built-in table conapo_marginalization (2020)"``
        or the file's path).
    credit : the attribution line a publication must carry (built-in tables), else None.
    notes : what was cleaned when reading (codes re-padded, missing marks, a method break...).
    """

    frame: pd.DataFrame
    source: str
    credit: str | None = None
    notes: tuple[str, ...] = ()

    def with_frame(self, frame: pd.DataFrame) -> IndicatorTable:
        """The same table description over other rows (a filtered ``frame``)."""
        return IndicatorTable(frame, self.source, self.credit, self.notes)


def read_indicator_table(spec: PathLike | pd.DataFrame | IndicatorTable, *, state: Any = None,
                         text_columns: Iterable[str] = ()) -> IndicatorTable:
    """An indicator table from a file, a DataFrame, or a built-in name, with its source, credit
    and reading notes.

    Built-in: ``"conapo_marginalization"`` (all years, one row per municipality and year),
    ``"conapo_marginalization:2020"`` (one year, plain column names) or
    ``"conapo_marginalization:2010,2020"`` (one row per municipality, ``<column>_<year>``
    columns for each year and the municipality's code and names from the latest year; see
    :func:`territorial_gis.changes.compare_periods` for changes). ``state`` (a Mexican state
    name, abbreviation or code) keeps one state of a built-in table.
    """
    if isinstance(spec, IndicatorTable):
        return spec
    if isinstance(spec, pd.DataFrame):
        return IndicatorTable(spec, "the indicator table")
    text = str(spec)
    name, _sep, years_txt = text.partition(":")
    if name not in INDICATOR_TABLES or Path(text).is_file():
        if state is not None:
            raise ConfigError("state= filters the built-in tables only; filter a file with --where")
        return IndicatorTable(read_table(spec, text_columns=text_columns), text)
    table = _builtin_table(name, years_txt)
    if state is not None:
        code = _catalogues.resolve_state(state)
        table = table.with_frame(table.frame[table.frame[STATE_CODE] == code].reset_index(drop=True))
    return table


def load_indicator_table(spec: PathLike | pd.DataFrame | IndicatorTable, *, state: Any = None,
                         text_columns: Iterable[str] = ()) -> pd.DataFrame:
    """The rows of :func:`read_indicator_table` (the table alone, without source and credit)."""
    return read_indicator_table(spec, state=state, text_columns=text_columns).frame


def check_builtin_table(spec: str) -> None:
    """Check the name and years of a built-in table specification without reading it.

    Raises
    ------
    ConfigError
        An unknown year (the available ones are listed).
    """
    name, _sep, years_txt = spec.partition(":")
    if name not in INDICATOR_TABLES:
        raise ConfigError(f"{spec!r} is not a built-in table ({', '.join(INDICATOR_TABLES)})")
    _years(name, years_txt, _catalogues.CONAPO_IMM_YEARS)


def _years(name: str, years_txt: str, known: Sequence[int]) -> list[int]:
    years: list[int] = []
    for part in filter(None, (y.strip() for y in years_txt.split(","))):
        if not part.isdigit() or int(part) not in known:
            raise ConfigError(f"{name}: year {part!r} not available; years are {', '.join(map(str, known))}")
        years.append(int(part))
    return years


def _builtin_table(name: str, years_txt: str) -> IndicatorTable:
    df, notes = _catalogues.read_conapo_marginalization()
    years = _years(name, years_txt, sorted(df[YEAR].unique()))
    if len(years) == 1:
        df = df[df[YEAR] == years[0]].reset_index(drop=True)
    elif len(years) > 1:
        df = periods_wide({str(y): df[df[YEAR] == y].drop(columns=YEAR) for y in years},
                          key=MUNICIPALITY_CODE, carry=(STATE_CODE, STATE_NAME, MUNICIPALITY_NAME))
    source = f"built-in table {name}" + (f" ({', '.join(map(str, years))})" if years else "")
    return IndicatorTable(df, source, INDICATOR_TABLES[name][1], tuple(notes))


# ---------------------------------------------------------------------------------------------
# code normalisation


def _key(df: pd.DataFrame, cols: Sequence[str], widths: Sequence[int] | int | None, what: str) -> pd.Series:
    """The join key of a frame: one column, or several concatenated (each padded to its width)."""
    for c in cols:
        if c not in df:
            raise ColumnError(f"{what} has no column {c!r}; columns are {', '.join(map(str, df.columns))}")
    if len(cols) == 1:
        w = sum(widths) if isinstance(widths, Sequence) else widths
        return normalize_codes(df[cols[0]], w)
    if not isinstance(widths, Sequence) or len(widths) != len(cols):
        raise ConfigError(f"{what}: a key composed of {len(cols)} columns ({' + '.join(cols)}) needs "
                          f"{len(cols)} widths (e.g. 2,3 for state + municipality)")
    parts = [normalize_codes(df[c], w) for c, w in zip(cols, widths, strict=True)]
    out = parts[0].copy()
    for p in parts[1:]:
        out = pd.Series([None if a is None or b is None else a + b for a, b in zip(out, p, strict=True)],
                        index=df.index, dtype=object)
    return out


def _describe_key(cols: Sequence[str], widths: Sequence[int] | int | None) -> str:
    if len(cols) == 1:
        w = sum(widths) if isinstance(widths, Sequence) else widths
        return cols[0] + (f" zero-padded to {w}" if w else "")
    assert isinstance(widths, Sequence)
    return " + ".join(f"{c} (zero-padded to {w})" for c, w in zip(cols, widths, strict=True))


# ---------------------------------------------------------------------------------------------
# joins by code and name


@dataclass
class JoinReport:
    """What a join matched: counts, the unmatched units grouped by key, refused keys, notes."""

    table: str
    method: str
    n_units: int
    n_by_code: int = 0
    n_by_name: int = 0
    n_spatial: int = 0
    population_total: float = float("nan")
    population_matched: float = float("nan")
    n_table_rows: int = 0
    n_table_rows_used: int = 0
    unmatched: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)

    @property
    def n_matched(self) -> int:
        return self.n_by_code + self.n_by_name + self.n_spatial

    @property
    def match_rate(self) -> float:
        """Share of units that got values (0..1)."""
        return self.n_matched / self.n_units if self.n_units else float("nan")

    @property
    def population_match_rate(self) -> float:
        """Share of the units' population that got values (NaN without a population column)."""
        if not self.population_total > 0:
            return float("nan")
        return self.population_matched / self.population_total

    def summary(self) -> str:
        """One paragraph for the log or the command line."""
        parts = [f"{self.n_matched:,} of {self.n_units:,} units matched ({self.match_rate:.1%}) "
                 f"to {self.table} by {self.method}"]
        if self.n_by_name:
            parts.append(f"{self.n_by_name:,} of them by name")
        if self.population_total > 0:
            parts.append(f"{self.population_match_rate:.1%} of the population")
        if len(self.unmatched):
            head = ", ".join(" ".join(dict.fromkeys(str(v) for v in r if pd.notna(v) and v != ""))
                             for r in self.unmatched.iloc[:8, :2].itertuples(index=False))
            more = f" and {len(self.unmatched) - 8} more" if len(self.unmatched) > 8 else ""
            parts.append(f"unmatched keys ({len(self.unmatched)}): {head}{more}")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (written beside the joined table by ``tgis join``)."""
        return {"table": self.table, "method": self.method, "n_units": self.n_units,
                "n_matched": self.n_matched, "n_by_code": self.n_by_code, "n_by_name": self.n_by_name,
                "n_spatial": self.n_spatial, "match_rate": self.match_rate,
                "population_total": _json_num(self.population_total),
                "population_matched": _json_num(self.population_matched),
                "population_match_rate": _json_num(self.population_match_rate),
                "n_table_rows": self.n_table_rows, "n_table_rows_used": self.n_table_rows_used,
                "columns": self.columns, "notes": self.notes,
                "unmatched": self.unmatched.astype(object).where(self.unmatched.notna(), None)
                .to_dict("records")}


def _json_num(v: float) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


def _as_cols(v: str | Sequence[str] | None) -> list[str]:
    if v is None:
        return []
    return [v] if isinstance(v, str) else list(v)


def _refuse_duplicates(key: pd.Series, table_name: str, desc: str) -> None:
    dup = key[key.notna() & key.duplicated(keep=False)]
    if len(dup):
        counts = dup.value_counts()
        shown = ", ".join(f"{k!r} ({n} rows)" for k, n in counts.iloc[:5].items())
        raise ColumnError(f"{table_name}: duplicated keys in {desc}: {shown}"
                          f"{' ...' if len(counts) > 5 else ''}; one row per key is needed (select one "
                          "year or period, or aggregate first)")


def _value_columns(table: pd.DataFrame, exclude: set[str], columns: Sequence[str] | None,
                   table_name: str) -> list[str]:
    geom = table.geometry.name if isinstance(table, gpd.GeoDataFrame) else None
    if columns is None:
        return [c for c in table.columns if c not in exclude and c != geom]
    missing = [c for c in columns if c not in table]
    if missing:
        raise ColumnError(f"{table_name} has no column(s) {', '.join(map(repr, missing))}; columns are "
                          f"{', '.join(map(str, table.columns))}")
    return list(columns)


def _name_matches(units: pd.DataFrame, table: pd.DataFrame, names: tuple[str, str],
                  within: tuple[str, str] | None, todo: np.ndarray, what: tuple[str, str]
                  ) -> tuple[np.ndarray, list[str]]:
    """Table row (or -1) for each unit in ``todo`` by unique normalised name (then article-free
    name) within the same group; ambiguous names are left unmatched and noted."""
    for df, col, w in ((units, names[0], what[0]), (table, names[1], what[1])):
        if col not in df:
            raise ColumnError(f"{w} has no name column {col!r}; columns are {', '.join(map(str, df.columns))}")
    if within is not None:
        for df, col, w in ((units, within[0], what[0]), (table, within[1], what[1])):
            if col not in df:
                raise ColumnError(f"{w} has no column {col!r} (names are matched within it)")

    def group(df: pd.DataFrame, col: str | None) -> pd.Series:
        if col is None:
            return pd.Series("", index=df.index)
        return normalize_codes(df[col]).map(lambda v: str(int(v)) if v and v.isdigit() else
                                            _catalogues.normalize_name(v))

    tnorm = table[names[1]].map(_catalogues.normalize_name)
    tgroup = group(table, within[1] if within else None)
    ugroup = group(units, within[0] if within else None)
    unorm = units[names[0]].map(_catalogues.normalize_name)
    out = np.full(len(units), -1)
    notes: list[str] = []
    for keyfn in (lambda s: s, _catalogues._loose_key):
        index: dict[tuple[str, str], list[int]] = {}
        for i, (g, n) in enumerate(zip(tgroup, tnorm, strict=True)):
            index.setdefault((g, keyfn(n)), []).append(i)
        for j in np.flatnonzero(todo & (out < 0)):
            i = int(j)
            hits = index.get((ugroup.iloc[i], keyfn(unorm.iloc[i])), [])
            if len(hits) == 1:
                out[i] = hits[0]
            elif len(hits) > 1 and keyfn is not _catalogues._loose_key:
                notes.append(f"name {units[names[0]].iloc[i]!r} is ambiguous in {what[1]} "
                             f"({len(hits)} rows): not matched")
    return out, sorted(set(notes))


def join_indicators(units: pd.DataFrame, table: pd.DataFrame | IndicatorTable | PathLike, *,
                    on: str | Sequence[str] | None = None, table_on: str | Sequence[str] | None = None,
                    widths: int | Sequence[int] | None = None, names: tuple[str, str] | None = None,
                    within: tuple[str, str] | None = None, columns: Sequence[str] | None = None,
                    prefix: str = "", label: str | None = None, table_name: str | None = None,
                    population_column: str = POPULATION,
                    status_column: str = JOIN_STATUS) -> tuple[pd.DataFrame, JoinReport]:
    """Bring the columns of an indicator table onto localities or areas by code and/or name.

    Parameters
    ----------
    units : localities or areas (a GeoDataFrame or a plain table).
    table : the indicator table (DataFrame, :class:`IndicatorTable`, file path or built-in name,
        see :func:`read_indicator_table`); the credit and reading notes of an
        :class:`IndicatorTable` or a built-in table go into the report's notes.
    on, table_on : key column of the units and of the table (default: the same name); a list of
        columns is concatenated (``["CVE_ENT", "CVE_MUN"]`` with ``widths=(2, 3)``).
    widths : zero padding: one width for single-column keys (``5`` for INEGI municipality
        codes), one per column for composed keys.
    names : ``(units_name_column, table_name_column)`` to match by name the units the code left
        unmatched (or all units when ``on`` is None); only unique matches are taken.
    within : ``(units_group_column, table_group_column)``: names match only within the same group
        (e.g. the state), which avoids homonyms.
    columns : table columns to bring (default: all but the key, name and group columns).
    prefix : prepended to the brought columns (needed when a name exists in both, e.g.
        ``population``).
    label : a units column that describes an unmatched key in the report (default: the name
        column, else ``<key>_name`` for a ``<key>_code`` key, e.g. ``municipality_name``).
    population_column : used to report the share of the population matched.
    status_column : where each unit's join status is written (``join_status``; a study with
        several joins keeps one per table).

    Returns
    -------
    (joined, report): the units with the table's columns (NaN where unmatched) and
    ``join_status``; the :class:`JoinReport`.

    Raises
    ------
    ColumnError
        A key or name column missing, duplicated keys in the table, a column present on both
        sides, or no unit matched at all.
    """
    described = read_indicator_table(table)
    tname = table_name or described.source
    tab = described.frame
    ucols, tcols = _as_cols(on), _as_cols(table_on) or _as_cols(on)
    if not ucols and names is None:
        raise ConfigError("join_indicators needs a key (on=...) or names=(units_column, table_column)")
    n = len(units)
    report = JoinReport(table=tname, method="", n_units=n, n_table_rows=len(tab))
    report.notes += [*([described.credit] if described.credit else []), *described.notes]
    row = np.full(n, -1)
    ukey = pd.Series([None] * n, dtype=object)
    if ucols:
        row, ukey = _match_codes(units, tab, ucols, tcols, widths, report, need_match=names is None)
    status = np.where(row >= 0, "code", "").astype(object)
    if names is not None:
        _match_names(units, tab, names, within, row, status, report)
    exclude = set(tcols) | ({names[1]} if names else set()) | ({within[1]} if within else set())
    bring = _value_columns(tab, exclude, columns, tname)
    out_names = [prefix + c for c in bring]
    clash = [c for c in out_names if c in units.columns]
    if clash:
        raise ColumnError(f"column(s) {', '.join(map(repr, clash))} exist in the units and in {tname}; "
                          "choose the columns to bring or give a prefix (e.g. prefix='municipal_')")
    report.columns = out_names
    joined = _attach(units, tab, bring, out_names, row)
    status[row < 0] = [_why_unmatched(k, tname) for k in ukey[row < 0]]
    joined[status_column] = status
    if label is None:  # municipality_code -> municipality_name, state_code -> state_name
        guess = ucols[0].removesuffix("_code") + "_name" if len(ucols) == 1 else None
        label = names[0] if names else (guess if guess in units else None)
    _fill_report(report, units, ukey, row, label, population_column)
    log.debug("%s", report.summary())
    return joined, report


def _match_codes(units: pd.DataFrame, tab: pd.DataFrame, ucols: list[str], tcols: list[str],
                 widths: int | Sequence[int] | None, report: JoinReport, need_match: bool
                 ) -> tuple[np.ndarray, pd.Series]:
    """Table row (or -1) of each unit by normalised code, and the units' keys."""
    ukey = _key(units, ucols, widths, "the units").reset_index(drop=True)
    tkey = _key(tab, tcols, widths, report.table).reset_index(drop=True)
    _refuse_duplicates(tkey, report.table, _describe_key(tcols, widths))
    lookup = {k: i for i, k in enumerate(tkey) if k is not None}
    row = np.array([lookup.get(k, -1) if k is not None else -1 for k in ukey], dtype=int)
    report.n_by_code = int((row >= 0).sum())
    report.method = f"code ({_describe_key(ucols, widths)} = {_describe_key(tcols, widths)})"
    if report.n_by_code == 0 and need_match:
        raise ColumnError(_nothing_matched(ukey, tkey, ucols, tcols, report.table))
    if int(tkey.isna().sum()):
        report.notes.append(f"{int(tkey.isna().sum())} rows of {report.table} have no key and are not used")
    return row, ukey


def _match_names(units: pd.DataFrame, tab: pd.DataFrame, names: tuple[str, str],
                 within: tuple[str, str] | None, row: np.ndarray, status: np.ndarray, report: JoinReport) -> None:
    """Fill ``row``/``status`` in place for the units the code left unmatched, by unique name."""
    by_name, notes = _name_matches(units.reset_index(drop=True), tab.reset_index(drop=True), names,
                                   within, row < 0, ("the units", report.table))
    newly = (row < 0) & (by_name >= 0)
    row[newly] = by_name[newly]
    status[newly] = "name"
    report.n_by_name = int(newly.sum())
    report.notes += notes
    report.method = (report.method + " then " if report.method else "") + \
        f"name ({names[0]} = {names[1]}{f' within {within[0]} = {within[1]}' if within else ''})"
    if report.n_matched == 0:
        raise ColumnError(f"no unit matched {report.table} by code or by name ({report.method}); check the "
                          "columns and the zero padding")


def _nothing_matched(ukey: pd.Series, tkey: pd.Series, ucols: Sequence[str], tcols: Sequence[str],
                     tname: str) -> str:
    u = next((k for k in ukey if k is not None), None)
    t = next((k for k in tkey if k is not None), None)
    return (f"no key of the units ({' + '.join(ucols)}, e.g. {u!r}) matches {' + '.join(tcols)} of {tname} "
            f"(e.g. {t!r}); check the key columns and the zero padding (widths)")


def _why_unmatched(key: Any, tname: str) -> str:
    return "unmatched: no key" if key is None else f"unmatched: {key} not in {tname}"


def _attach(units: pd.DataFrame, tab: pd.DataFrame, bring: list[str], out_names: list[str],
            row: np.ndarray) -> pd.DataFrame:
    picked = tab[bring].reset_index(drop=True).reindex(np.where(row >= 0, row, -1))
    picked = picked.set_axis(out_names, axis=1)
    picked.index = units.index
    joined = units.copy()
    for c in out_names:
        joined[c] = picked[c].to_numpy()
    return joined


def _fill_report(report: JoinReport, units: pd.DataFrame, ukey: pd.Series, row: np.ndarray,
                 label: str | None, population_column: str) -> None:
    pop = None
    if population_column in units:
        pop = pd.to_numeric(units[population_column], errors="coerce").to_numpy(dtype=float)
        report.population_total = float(np.nansum(pop))
        report.population_matched = float(np.nansum(pop[row >= 0]))
    report.n_table_rows_used = int(len(unique_values(row[row >= 0])))
    miss = row < 0
    if not miss.any():
        report.unmatched = pd.DataFrame(columns=["key", "label", "n_units", "population"])
        return
    labels = units[label].to_numpy()[miss] if label and label in units else np.full(int(miss.sum()), "")
    keys = ukey[miss].to_numpy()
    if all(k is None for k in keys):  # matched by name only: the name is the key
        keys = np.array([str(v) for v in labels], dtype=object)
    df = pd.DataFrame({"key": pd.Series(keys, dtype=object).fillna("").to_numpy(),
                       "label": labels,
                       "n_units": 1,
                       "population": pop[miss] if pop is not None else np.nan})
    agg = df.groupby("key", sort=True).agg(label=("label", "first"), n_units=("n_units", "sum"),
                                           population=("population", lambda s: s.sum(min_count=1)))
    report.unmatched = agg.reset_index()


# ---------------------------------------------------------------------------------------------
# spatial joins


def _polygonal(gdf: gpd.GeoDataFrame) -> bool:
    return bool(len(gdf)) and bool(gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all())


def _check_geo(gdf: Any, what: str) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry is None:
        raise ColumnError(f"{what} must have geometries for a spatial join")
    if gdf.crs is None:
        raise CRSError(f"{what} have no CRS; set one (e.g. EPSG:4326)")
    return gdf


def _numeric_columns(df: pd.DataFrame, cols: Sequence[str], what: str) -> dict[str, np.ndarray]:
    out = {}
    for c in cols:
        if c not in df:
            raise ColumnError(f"{what} have no column {c!r}; columns are {', '.join(map(str, df.columns))}")
        out[c] = numeric_column(df, c)
    return out


def join_spatial(units: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame, *, rates: Sequence[str] = (),
                 counts: Sequence[str] = (), weights: str = "area",
                 localities: gpd.GeoDataFrame | None = None,
                 population_column: str = POPULATION) -> tuple[gpd.GeoDataFrame, JoinReport]:
    """Values of polygons (census tracts, municipalities...) onto points or other polygons.

    Points take the values of the polygon that holds them (``rates`` only: a count of a polygon
    cannot be given whole to each of its points). Polygon units take, for each overlapping
    source polygon ``s`` with weight ``w`` of the overlap:

    * rates (percentages, means): ``sum(rate_s * w) / sum(w)`` over sources with a known rate;
    * counts (people, poor): ``sum(count_s * w / W_s)``, ``W_s`` the whole weight of ``s``.

    ``weights="area"``: ``w`` is the overlap area (equal-area projection). ``weights="population"``:
    ``w`` is the population of the ``localities`` (points) inside the overlap; a source polygon
    holding no locality population falls back to area weights (counted in the report notes).

    Returns (units with the columns and ``join_status``, :class:`JoinReport`).
    """
    _check_geo(units, "units")
    _check_geo(polygons, "indicator polygons")
    if not _polygonal(polygons):
        raise ColumnError("indicator polygons must be polygons for a spatial join")
    if weights not in ("area", "population"):
        raise ConfigError(f"weights must be 'area' or 'population', got {weights!r}")
    if not rates and not counts:
        raise ConfigError("name the columns to join: rates=[...] (intensive) and/or counts=[...] (extensive)")
    vals = _numeric_columns(polygons, [*rates, *counts], "indicator polygons")
    report = JoinReport(table="indicator polygons", method=f"spatial ({weights}-weighted)",
                        n_units=len(units), n_table_rows=len(polygons), columns=[*rates, *counts])
    if not _polygonal(units):
        if counts:
            raise ConfigError("counts cannot be joined onto points (each point would get the whole "
                              "polygon's count); join rates and derive counts with derive_counts")
        return _points_in_polygons(units, polygons, vals, report)
    if weights == "population":
        if localities is None:
            raise ConfigError("weights='population' needs the localities (points with a population)")
        _check_geo(localities, "localities")
    return _overlay_join(units, polygons, vals, report, rates=list(rates), counts=list(counts), weights=weights,
                         localities=localities, population_column=population_column)


def _points_in_polygons(units: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame, vals: dict[str, np.ndarray],
                        report: JoinReport) -> tuple[gpd.GeoDataFrame, JoinReport]:
    pts = gpd.GeoDataFrame({"_u": np.arange(len(units))}, geometry=units.geometry.to_crs(polygons.crs).to_numpy(),
                           crs=polygons.crs)
    polys = gpd.GeoDataFrame({"_s": np.arange(len(polygons))}, geometry=polygons.geometry.to_numpy(),
                             crs=polygons.crs)
    hit = gpd.sjoin(pts, polys, how="inner", predicate="intersects").sort_values(["_u", "_s"])
    first = hit.drop_duplicates("_u")
    src = np.full(len(units), -1)
    src[first["_u"].to_numpy()] = first["_s"].to_numpy()
    out = units.copy()
    for c, v in vals.items():
        out[c] = np.where(src >= 0, v[np.maximum(src, 0)], np.nan)
    out[JOIN_STATUS] = np.where(src >= 0, "spatial", "unmatched: outside every polygon")
    report.n_spatial = int((src >= 0).sum())
    report.n_table_rows_used = int(len(unique_values(src[src >= 0])))
    n_multi = int(hit["_u"].duplicated().sum())
    if n_multi:
        report.notes.append(f"{n_multi} points lie on the boundary of several polygons: the first polygon "
                            "(table order) is used")
    return out, report


def _pieces(units: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame, crs: Any) -> pd.DataFrame:
    """Overlapping (unit, source) pairs and their overlap area in km2 (equal-area CRS)."""
    import shapely

    u = units.geometry.to_crs(crs).reset_index(drop=True)
    s = polygons.geometry.to_crs(crs).reset_index(drop=True)
    ui, si = s.sindex.query(u.to_numpy(), predicate="intersects")
    inter = shapely.intersection(u.to_numpy()[ui], s.to_numpy()[si])
    area = shapely.area(inter) / 1e6
    keep = area > 0
    return pd.DataFrame({"u": ui[keep], "s": si[keep], "area_km2": area[keep]})


def _population_pieces(units: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame, localities: gpd.GeoDataFrame,
                       population_column: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Population of the localities in each (unit, source) overlap, and in each whole source
    polygon: a locality counts in the unit and the source polygon that hold it (the first ones
    on a shared boundary)."""
    pop = numeric_column(localities, population_column) if population_column in localities else None
    if pop is None:
        raise ColumnError(f"localities have no population column {population_column!r}")
    pts = localities.geometry.to_crs(polygons.crs)

    def owner(polys: gpd.GeoSeries) -> np.ndarray:
        pi, qi = polys.sindex.query(pts.to_numpy(), predicate="intersects")
        first = pd.DataFrame({"p": pi, "q": qi}).sort_values(["p", "q"]).drop_duplicates("p")
        out = np.full(len(pts), -1)
        out[first["p"].to_numpy()] = first["q"].to_numpy()
        return out

    uo = owner(units.geometry.to_crs(polygons.crs).reset_index(drop=True))
    so = owner(polygons.geometry.reset_index(drop=True))
    in_src = (so >= 0) & np.isfinite(pop)
    src_pop = np.bincount(so[in_src], weights=pop[in_src], minlength=len(polygons))
    ok = in_src & (uo >= 0)
    df = pd.DataFrame({"u": uo[ok], "s": so[ok], "pop": pop[ok]})
    return df.groupby(["u", "s"], as_index=False)["pop"].sum(), src_pop


def _overlay_join(units: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame, vals: dict[str, np.ndarray],
                  report: JoinReport, *, rates: list[str], counts: list[str], weights: str,
                  localities: gpd.GeoDataFrame | None, population_column: str
                  ) -> tuple[gpd.GeoDataFrame, JoinReport]:
    crs = equal_area_crs_for_bounds(tuple(units.geometry.to_crs(4326).total_bounds))
    pieces = _pieces(units, polygons, crs)
    src_area = polygons.geometry.to_crs(crs).area.to_numpy() / 1e6
    pieces["w"] = pieces["area_km2"]
    pieces["W"] = src_area[pieces["s"].to_numpy()]
    if weights == "population":
        assert localities is not None
        pp, src_pop = _population_pieces(units, polygons, localities, population_column)
        pieces = pieces.merge(pp, on=["u", "s"], how="left").fillna({"pop": 0.0})
        w_src = src_pop[pieces["s"].to_numpy()]
        by_pop = w_src > 0
        pieces.loc[by_pop, "w"] = pieces.loc[by_pop, "pop"]
        pieces.loc[by_pop, "W"] = w_src[by_pop]
        n_fb = int(pieces.loc[~by_pop, "s"].nunique())
        if n_fb:
            report.notes.append(f"{n_fb} source polygon(s) hold no locality population: area weights used")
    out = units.copy()
    n = len(units)
    u = pieces["u"].to_numpy()
    for c in rates:
        v = vals[c][pieces["s"].to_numpy()]
        ok = np.isfinite(v) & (pieces["w"].to_numpy() > 0)
        num = np.bincount(u[ok], weights=(v * pieces["w"].to_numpy())[ok], minlength=n)
        den = np.bincount(u[ok], weights=pieces["w"].to_numpy()[ok], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[c] = np.where(den > 0, num / den, np.nan)
    for c in counts:
        v = vals[c][pieces["s"].to_numpy()]
        share = pieces["w"].to_numpy() / pieces["W"].to_numpy()
        ok = np.isfinite(v)
        tot = np.bincount(u[ok], weights=(v * share)[ok], minlength=n)
        has = np.bincount(u[ok], minlength=n) > 0
        out[c] = np.where(has, tot, np.nan)
    covered = np.bincount(u, minlength=n) > 0
    out[JOIN_STATUS] = np.where(covered, "spatial", "unmatched: overlaps no polygon")
    report.n_spatial = int(covered.sum())
    report.n_table_rows_used = int(pieces["s"].nunique())
    return out, report


# ---------------------------------------------------------------------------------------------
# derived counts


def derive_counts(df: pd.DataFrame, counts: Mapping[str, str], *, population_column: str = POPULATION,
                  percent: bool = True, source: str | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Counts from rates: ``name = population x rate / 100`` (``percent=False``: ``x rate``).

    A missing rate or population gives NaN (unknown), never 0.

    Returns
    -------
    (table, sources): a copy of ``df`` with the count columns, and each count's statement
    (name -> ``"population × poverty_pct / 100 (rate: <source>)"``).

    Raises
    ------
    ColumnError
        A missing column, a rate or population that is not numeric, or a rate outside 0-100
        (0-1 with ``percent=False``), naming the column and the value.
    """
    for c in [population_column, *counts.values()]:
        if c not in df:
            raise ColumnError(f"no column {c!r} to derive counts from; columns are "
                              f"{', '.join(map(str, df.columns))}")
    out = df.copy()
    pop = numeric_column(df, population_column)
    top = 100.0 if percent else 1.0
    sources: dict[str, str] = {}
    for name, rate_col in counts.items():
        if name in df.columns:
            raise ColumnError(f"derived count {name!r} would overwrite an existing column")
        rate = numeric_column(df, rate_col)
        bad = np.isfinite(rate) & ((rate < 0) | (rate > top))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ColumnError(f"rate column {rate_col!r} holds {rate[i]:g} (row {df.index[i]!r}), outside "
                              f"0-{top:g}; {'give percent=False for shares 0-1' if percent and rate[i] <= 1 else ''}"
                              .rstrip("; ").rstrip())
        out[name] = pop * rate / top
        formula = f"{population_column} × {rate_col}" + (" / 100" if percent else "")
        sources[name] = formula + (f" (rate: {source})" if source else "")
    return out, sources


# ---------------------------------------------------------------------------------------------
# summaries beside population


def _weights_or_nan(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df:
        raise ColumnError(f"no column {col!r}; columns are {', '.join(map(str, df.columns))}")
    return numeric_column(df, col)


def indicator_within(table: pd.DataFrame, thresholds_min: Sequence[float] = WITHIN_MIN, *,
                     counts: Sequence[str] = (), tiers: Sequence[str] | None = None,
                     population_column: str = POPULATION) -> pd.DataFrame:
    """Population and each count (the poor, the illiterate...) within each travel time of each tier.

    Unreachable places (NaN time) are beyond every threshold. A place whose count is unknown
    (NaN) is left out of that count's totals and reported in ``places_unknown`` and
    ``population_unknown``, so a share is never computed over an invented zero.

    Returns
    -------
    One row per tier, threshold and indicator (``population`` first): ``tier``, ``threshold_min``,
    ``indicator``, ``within``, ``total``, ``share_within`` (0..1), ``places_within``,
    ``places_total``, ``places_unknown``, ``population_unknown``.
    """
    present = tiers_in(table)
    use = list(tiers) if tiers is not None else present
    missing = [t for t in use if t not in present]
    if missing or not use:
        raise ColumnError(f"no travel_time_<tier>_min column for tier(s) {', '.join(missing) or '(none)'}; "
                          f"found {', '.join(present) or 'none'}")
    ths = [float(t) for t in thresholds_min]
    if not ths or any(not (t > 0) for t in ths):
        raise ConfigError(f"thresholds must be positive minutes, got {list(thresholds_min)}")
    pop = _weights_or_nan(table, population_column)
    values = {population_column: pop, **{c: _weights_or_nan(table, c) for c in counts}}
    rows = []
    for tier in use:
        t = numeric_column(table, time_col(tier))
        for th in ths:
            within = np.isfinite(t) & (t <= th)
            for name, v in values.items():
                known = np.isfinite(v)
                tot = float(v[known].sum())
                w = float(v[known & within].sum())
                rows.append({"tier": tier, "threshold_min": th, "indicator": name, "within": w,
                             "total": tot, "share_within": w / tot if tot > 0 else np.nan,
                             "places_within": int((within & known).sum()), "places_total": len(t),
                             "places_unknown": int((~known).sum()),
                             "population_unknown": float(np.nansum(pop[~known]))})
    return pd.DataFrame(rows)


def summarize_indicators(table: pd.DataFrame, by: str, *, counts: Sequence[str] = (),
                         rates: Sequence[str] = (), population_column: str = POPULATION) -> pd.DataFrame:
    """Population, counts and rates by group (``area_class``, ``hub_id``, ``territory_id``...).

    Per group: ``n_units``, ``population``, ``share_population``; per count ``c``: ``c`` (sum over
    units where it is known), ``share_<c>`` (of the count's total over all groups) and
    ``unknown_<c>`` (units without a value); per rate ``r``: ``r`` as the population-weighted mean
    over units with both known. A last row ``total`` covers every unit.
    """
    if by not in table:
        raise ColumnError(f"group column {by!r} not found; columns are {', '.join(map(str, table.columns))}")
    pop = _weights_or_nan(table, population_column)
    keys = table[by]
    if pd.api.types.is_float_dtype(keys) and np.all(np.mod(keys.dropna(), 1) == 0):
        keys = keys.astype("Int64")  # whole-number ids (hub and territory ids with gaps) stay whole
    df = pd.DataFrame({by: keys.array, "_pop": pop})
    for c in counts:
        df[c] = _weights_or_nan(table, c)
    for r in rates:
        v = _weights_or_nan(table, r)
        ok = np.isfinite(v) & np.isfinite(pop)
        df[f"_num_{r}"] = np.where(ok, v * pop, 0.0)
        df[f"_den_{r}"] = np.where(ok, pop, 0.0)
    groups = df.groupby(by, dropna=False, sort=True)
    rows = [_group_row(key, g, counts, rates) for key, g in groups] + [_group_row("total", df, counts, rates)]
    out = pd.DataFrame(rows).rename(columns={"_group": by})
    totals = out.iloc[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        out.insert(3, "share_population", out["population"] / totals["population"])
        for c in counts:
            out[f"share_{c}"] = out[c] / totals[c] if totals[c] > 0 else np.nan
    return out


def _group_row(key: Any, g: pd.DataFrame, counts: Sequence[str], rates: Sequence[str]) -> dict[str, Any]:
    row: dict[str, Any] = {"_group": key, "n_units": len(g), "population": float(g["_pop"].sum(min_count=1))}
    for c in counts:
        row[c] = float(g[c].sum(min_count=1))
        row[f"unknown_{c}"] = int(g[c].isna().sum())
    for r in rates:
        den = float(g[f"_den_{r}"].sum())
        row[r] = float(g[f"_num_{r}"].sum()) / den if den > 0 else np.nan
    return row


def land_within(areas: gpd.GeoDataFrame, thresholds_min: Sequence[float] = WITHIN_MIN, *,
                tiers: Sequence[str] | None = None) -> pd.DataFrame:
    """Share of land (km2 of polygon areas or grid cells) within each travel time of each tier.

    An area's time is its ``travel_time_<tier>_min`` (population-weighted over its localities,
    see :func:`territorial_gis.classify.aggregate_to_areas`); unreachable areas are beyond every
    threshold; areas without any locality (``n_localities == 0``) have unknown access and are
    reported in ``area_km2_unknown``, outside the share.

    Returns one row per tier and threshold: ``tier``, ``threshold_min``, ``area_km2_within``,
    ``area_km2_total`` (known access), ``share_within``, ``area_km2_unknown``.
    """
    _check_geo(areas, "areas")
    if not _polygonal(areas):
        raise ColumnError("the share of land needs polygon areas (municipalities, a hexagon grid...)")
    g = areas.geometry.to_crs(4326)
    km2 = g.to_crs(equal_area_crs_for_bounds(tuple(g.total_bounds))).area.to_numpy() / 1e6
    present = tiers_in(areas)
    use = list(tiers) if tiers is not None else present
    if not use or any(t not in present for t in use):
        raise ColumnError(f"no travel_time_<tier>_min column for tier(s) {', '.join(use) or '(none)'}; "
                          f"found {', '.join(present) or 'none'}")
    unknown = (numeric_column(areas, "n_localities") == 0) if "n_localities" in areas else np.zeros(len(areas), bool)
    rows = []
    for tier in use:
        t = numeric_column(areas, time_col(tier))
        for th in thresholds_min:
            within = np.isfinite(t) & (t <= float(th)) & ~unknown
            tot = float(km2[~unknown].sum())
            rows.append({"tier": tier, "threshold_min": float(th), "area_km2_within": float(km2[within].sum()),
                         "area_km2_total": tot, "share_within": float(km2[within].sum()) / tot if tot > 0 else np.nan,
                         "area_km2_unknown": float(km2[unknown].sum())})
    return pd.DataFrame(rows)

