"""Terrain and agro-ecology indicators from rasters (GeoTIFF, any CRS).

* :func:`sample_rasters` reads raster values at points, :func:`zonal_stats` summarises a
  raster over polygons; both reproject the geometries to the raster's CRS and turn nodata
  into NaN.
* :func:`slope_degrees` and :func:`terrain_ruggedness_index` derive terrain measures from a
  DEM. Cell sizes are always metric: for a DEM in geographic coordinates the east-west and
  north-south size of each row is computed on the CRS's ellipsoid at the row's latitude
  (local radii of curvature, see :func:`cell_size_m`).
* :func:`measure_terrain` is what the classification uses: it attaches elevation,
  slope, ruggedness, suitability (or any named raster) to localities or areas, and falls
  back to an altitude column of the localities when no DEM is given (saying so); it returns
  the frame and the source of each column (:class:`TerrainIndicators`).
  :func:`add_raster_indicators` returns the frame alone.

Raster errors (no CRS, raster not covering the areas, only nodata where the areas are)
raise :class:`~territorial_gis.errors.RasterError` naming the file.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._io import check_input
from ._progress import progress
from .errors import ColumnError, InputFileError, RasterError

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

#: Stats understood by :func:`zonal_stats`.
ZONAL_STATS = ("mean", "min", "max", "median", "std", "sum", "count")

#: Raster names with a meaning in :func:`add_raster_indicators` -> role.
RASTER_ROLES: dict[str, str] = {
    "dem": "dem", "elevation": "dem", "elevation_m": "dem", "altitude": "dem",
    "slope": "slope", "slope_deg": "slope",
    "suitability": "suitability", "suitability_index": "suitability",
    "ruggedness": "ruggedness", "tri": "ruggedness", "tri_m": "ruggedness",
}

#: Altitude columns of localities recognised when no DEM is given (first match wins).
ALTITUDE_COLUMNS = ("elevation_m", "altitude_m", "altitude", "elevation", "altitud", "elevacion",
                    "alt", "alt_m", "z")

#: Warn when a window read into memory exceeds this many cells.
_LARGE_WINDOW = 100_000_000

#: Physically possible values per raster role; cells outside are voids written without a nodata
#: tag (SRTM and INEGI exports use -32768, -9999 or 32767) and are treated as missing. Elevation:
#: the lowest dry land, the Dead Sea shore, is at -430 m and Everest at 8,849 m. Slope in degrees.
VALID_RANGE: dict[str, tuple[float, float]] = {
    "dem": (-500.0, 9000.0),
    "slope": (0.0, 90.0),
    "ruggedness": (0.0, math.inf),
}
#: Fill values of common formats, treated as missing in rasters of any other role (a real
#: suitability or any other indicator never takes these exact values).
NODATA_SENTINELS = (-32768.0, -32767.0, -9999.0, -99999.0, float(np.finfo(np.float32).min),
                    float(np.finfo(np.float64).min))


@dataclass
class RasterWindow:
    """A band read into memory: float64 ``array`` (nodata as NaN), its ``transform`` and ``crs``."""

    array: np.ndarray
    transform: Any  # affine.Affine
    crs: Any  # rasterio.crs.CRS
    path: Path

    @property
    def name(self) -> str:
        """File name of the raster, for messages."""
        return self.path.name


# ---------------------------------------------------------------------------------------------
# reading


def _open(path: PathLike) -> Any:
    """Open a raster with rasterio, checking that it exists and has a CRS."""
    import rasterio
    from rasterio.errors import RasterioIOError

    p = check_input(path, "raster")
    try:
        src = rasterio.open(p)
    except RasterioIOError as exc:
        raise InputFileError(f"cannot read raster {p}: {exc}") from exc
    if src.crs is None:
        src.close()
        raise RasterError(f"raster {p} has no CRS; assign one first "
                          f"(e.g. gdal_edit.py -a_srs EPSG:4326 {p.name})")
    if src.transform.b != 0 or src.transform.d != 0:
        src.close()
        raise RasterError(f"raster {p} has a rotated geotransform, which is not supported; "
                          "warp it to a north-up grid first (gdalwarp)")
    return src


def _geoms_in_crs(gdf: gpd.GeoDataFrame, crs: Any, what: str) -> gpd.GeoSeries:
    from .errors import CRSError

    if gdf.crs is None:
        raise CRSError(f"{what} have no CRS; set one (e.g. EPSG:4326) before sampling rasters")
    return gdf.geometry.to_crs(crs)


def read_window(path: PathLike, bounds: tuple[float, float, float, float] | None = None,
                pad: int = 0, band: int = 1) -> RasterWindow:
    """Read the part of a raster band covering ``bounds`` (in the raster's CRS).

    Parameters
    ----------
    path : path of a GeoTIFF (or any GDAL raster) with a CRS.
    bounds : (minx, miny, maxx, maxy) in the raster CRS; None reads the whole band.
    pad : extra cells read on every side (for neighbourhood operators such as slope).
    band : band number (1-based).

    Returns
    -------
    RasterWindow with nodata (and masked cells) as NaN.

    Raises
    ------
    RasterError
        No CRS, ``bounds`` outside the raster, or only nodata in the window.
    """
    from rasterio.windows import Window, from_bounds

    with _open(path) as src:
        p = Path(src.name)
        full = Window(0, 0, src.width, src.height)
        if bounds is None:
            win = full
        else:
            rb = src.bounds
            minx, miny, maxx, maxy = bounds
            if maxx < rb.left or minx > rb.right or maxy < rb.bottom or miny > rb.top:
                raise RasterError(
                    f"raster {p} (bounds {rb.left:.6g}, {rb.bottom:.6g}, {rb.right:.6g}, {rb.top:.6g} "
                    f"in {src.crs.to_string()}) does not cover the areas (bounds {minx:.6g}, {miny:.6g}, "
                    f"{maxx:.6g}, {maxy:.6g})")
            w = from_bounds(minx, miny, maxx, maxy, transform=src.transform)
            col0 = math.floor(w.col_off) - pad
            row0 = math.floor(w.row_off) - pad
            col1 = math.ceil(w.col_off + w.width) + pad + 1
            row1 = math.ceil(w.row_off + w.height) + pad + 1
            win = Window(col0, row0, col1 - col0, row1 - row0).intersection(full)
        if win.width * win.height > _LARGE_WINDOW:
            log.warning("reading %d x %d cells of %s into memory", win.width, win.height, p.name)
        data = src.read(band, window=win, masked=True)
        arr = np.ma.filled(data.astype("float64"), np.nan)
        if src.nodata is not None and not np.isnan(src.nodata):
            arr[arr == float(src.nodata)] = np.nan
        if not np.isfinite(arr).any():
            raise RasterError(f"raster {p} holds only nodata where the areas are "
                              f"(window of {win.width} x {win.height} cells)")
        return RasterWindow(arr, src.window_transform(win), src.crs, p)


def mask_voids(win: RasterWindow, role: str) -> int:
    """Turn impossible values of a raster of ``role`` into NaN (in place), with a warning that
    names the raster and the values; return how many cells were masked.

    ``dem``/``slope``/``ruggedness``: values outside :data:`VALID_RANGE`; any other role: the
    :data:`NODATA_SENTINELS`.
    """
    arr = win.array
    finite = np.isfinite(arr)
    if role in VALID_RANGE:
        lo, hi = VALID_RANGE[role]
        bad = finite & ((arr < lo) | (arr > hi))
        why = f"outside the possible range {lo:g} to {hi:g}" + (" m" if role == "dem" else "")
    else:
        bad = finite & np.isin(arr, NODATA_SENTINELS)
        why = "a common nodata fill value"
    n = int(bad.sum())
    if n:
        values, counts = np.unique(arr[bad], return_counts=True)
        order = np.argsort(-counts)[:4]
        shown = ", ".join(f"{values[i]:g} ({counts[i]:,} cells)" for i in order)
        log.warning("raster %s: %s cell(s) hold %s, %s, without a nodata tag; treated as missing "
                    "(voids)", win.name, f"{n:,}", shown, why)
        arr[bad] = np.nan
    return n


def _role(name: str) -> str:
    return RASTER_ROLES.get(str(name).lower(), "other")


def _bounds_of(geoms: gpd.GeoSeries) -> tuple[float, float, float, float]:
    b = geoms[~geoms.is_empty & geoms.notna()].total_bounds
    if not np.all(np.isfinite(b)):
        raise ColumnError("no valid geometries to sample rasters at")
    return float(b[0]), float(b[1]), float(b[2]), float(b[3])


# ---------------------------------------------------------------------------------------------
# metric cell sizes and terrain derivatives


def cell_size_m(transform: Any, crs: Any, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """East-west and north-south cell sizes in metres for each row of a grid.

    For a projected CRS the sizes are the transform's pixel size times the CRS's linear unit
    (so feet are converted). For a geographic CRS, the size of row ``i`` at latitude ``phi``
    (its centre) is computed on the CRS's ellipsoid (semi-major axis ``a``, eccentricity
    ``e``) from the local radii of curvature::

        N = a / sqrt(1 - e^2 sin^2 phi)                 (prime vertical)
        M = a (1 - e^2) / (1 - e^2 sin^2 phi)^(3/2)     (meridian)
        dx = N cos(phi) * dlon,   dy = M * dlat         (angles in radians)

    which is exact for the parallel's arc and accurate to well under 0.01 % for cells of a
    few arc-seconds (the meridian radius barely changes within one cell).

    Returns
    -------
    (dx, dy): two float arrays of length ``n_rows``.
    """
    from pyproj import CRS

    c = CRS.from_user_input(crs.to_wkt() if hasattr(crs, "to_wkt") else crs)
    px = abs(float(transform.a))
    py = abs(float(transform.e))
    if c.is_geographic:
        ell = c.ellipsoid
        if ell is None:
            raise RasterError(f"geographic CRS {c.name} has no ellipsoid; cannot size cells in metres")
        a = float(ell.semi_major_metre)
        inv_f = float(ell.inverse_flattening)
        f = 1.0 / inv_f if inv_f else 0.0
        e2 = f * (2.0 - f)
        rows = np.arange(n_rows, dtype="float64") + 0.5
        lat = np.radians(float(transform.f) + float(transform.e) * rows)
        s2 = np.sin(lat) ** 2
        n_rad = a / np.sqrt(1.0 - e2 * s2)
        m_rad = a * (1.0 - e2) / (1.0 - e2 * s2) ** 1.5
        dx = n_rad * np.cos(lat) * math.radians(px)
        dy = m_rad * math.radians(py)
        return dx, dy
    unit = float(c.axis_info[0].unit_conversion_factor) if c.axis_info else 1.0
    return np.full(n_rows, px * unit), np.full(n_rows, py * unit)


def _dem_input(dem: PathLike | np.ndarray, transform: Any, crs: Any,
               nodata: float | None) -> tuple[np.ndarray, Any, Any]:
    if isinstance(dem, np.ndarray):
        if transform is None or crs is None:
            raise RasterError("slope/ruggedness of an array need its transform and crs")
        arr = np.asarray(dem, dtype="float64").copy()
        if nodata is not None:
            arr[arr == nodata] = np.nan
        return arr, transform, crs
    win = read_window(dem)
    mask_voids(win, "dem")
    return win.array, win.transform, win.crs


def _neighbours(z: np.ndarray) -> dict[str, np.ndarray]:
    """The 8 neighbours of every cell (edge cells replicate the border), keyed a..i as in Horn."""
    p = np.pad(z, 1, mode="edge")
    return {
        "a": p[:-2, :-2], "b": p[:-2, 1:-1], "c": p[:-2, 2:],
        "d": p[1:-1, :-2], "e": p[1:-1, 1:-1], "f": p[1:-1, 2:],
        "g": p[2:, :-2], "h": p[2:, 1:-1], "i": p[2:, 2:],
    }


def slope_degrees(dem: PathLike | np.ndarray, transform: Any = None, crs: Any = None,
                  nodata: float | None = None, z_factor: float = 1.0) -> np.ndarray:
    """Slope in degrees of a DEM by Horn's (1981) 3x3 method, with metric cell sizes.

    Parameters
    ----------
    dem : GeoTIFF path, or a 2-D array (then ``transform`` and ``crs`` are required).
    transform, crs : geotransform and CRS of an array DEM.
    nodata : value of an array DEM to treat as missing.
    z_factor : multiplies elevations (e.g. 0.3048 for a DEM in feet); elevations are metres.

    Returns
    -------
    float64 array of the DEM's shape; NaN where the cell or a neighbour is nodata. Border
    cells use the border value for the missing neighbours (one-sided differences).

    Notes
    -----
    ``dz/dx = ((c + 2f + i) - (a + 2d + g)) / (8 dx)``, ``dz/dy = ((g + 2h + i) - (a + 2b + c)) / (8 dy)``
    for the window ``a b c / d e f / g h i``, with ``dx``, ``dy`` from :func:`cell_size_m` at
    the centre row (ellipsoidal, so a geographic DEM gets its true metric spacing).
    """
    z, tr, c = _dem_input(dem, transform, crs, nodata)
    z = z * z_factor
    dx, dy = cell_size_m(tr, c, z.shape[0])
    n = _neighbours(z)
    gx = ((n["c"] + 2 * n["f"] + n["i"]) - (n["a"] + 2 * n["d"] + n["g"])) / (8.0 * dx[:, None])
    gy = ((n["g"] + 2 * n["h"] + n["i"]) - (n["a"] + 2 * n["b"] + n["c"])) / (8.0 * dy[:, None])
    out: np.ndarray = np.degrees(np.arctan(np.hypot(gx, gy)))
    out[np.isnan(z)] = np.nan  # Horn's window skips the centre: a nodata cell has no slope either
    return out


def terrain_ruggedness_index(dem: PathLike | np.ndarray, transform: Any = None, crs: Any = None,
                             nodata: float | None = None) -> np.ndarray:
    """Terrain ruggedness index (Riley, DeGloria & Elliot 1999) in the DEM's z unit (metres).

    ``TRI = sqrt(sum over the 8 neighbours of (z_neighbour - z_centre)^2)``. The value
    depends on the DEM resolution (compare areas on the same DEM only). NaN where the cell
    or a neighbour is nodata; border cells replicate the border.
    """
    z, _tr, _c = _dem_input(dem, transform, crs, nodata)
    n = _neighbours(z)
    centre = n.pop("e")
    total = np.zeros_like(z)
    for v in n.values():
        total += (v - centre) ** 2
    out: np.ndarray = np.sqrt(total)
    return out


# ---------------------------------------------------------------------------------------------
# sampling and zonal statistics on arrays


def _sample_array(win: RasterWindow, geoms: gpd.GeoSeries, array: np.ndarray | None = None) -> np.ndarray:
    """Values of ``array`` (default the window's) at points (in the raster CRS); NaN outside."""
    arr = win.array if array is None else array
    tr = win.transform  # north-up (rotated grids are refused by _open)
    xs = geoms.x.to_numpy(dtype="float64")
    ys = geoms.y.to_numpy(dtype="float64")
    cols = np.floor((xs - tr.c) / tr.a)
    rows = np.floor((ys - tr.f) / tr.e)
    ok = (np.isfinite(cols) & np.isfinite(rows) & (cols >= 0) & (rows >= 0)
          & (cols < arr.shape[1]) & (rows < arr.shape[0]))
    out = np.full(len(xs), np.nan)
    out[ok] = arr[rows[ok].astype(int), cols[ok].astype(int)]
    return out


def _stat(values: np.ndarray, stat: str) -> float:
    if stat == "count":
        return float(values.size)
    if values.size == 0:
        return float("nan")
    fn: Any = {"mean": np.mean, "min": np.min, "max": np.max, "median": np.median, "std": np.std,
          "sum": np.sum}[stat]
    return float(fn(values))


def _zonal_arrays(win: RasterWindow, geoms: gpd.GeoSeries, stats: Sequence[str],
                  arrays: Mapping[str, np.ndarray] | None = None,
                  desc: str = "zonal stats") -> dict[str, dict[str, np.ndarray]]:
    """Stats of each array (default: the window's own, keyed ``""``) over each polygon.

    Polygons are in the raster CRS and the arrays on the window's grid. A cell belongs to a
    polygon when its centre is inside; a polygon containing no cell centre uses the cells it
    touches; a polygon outside the window gets NaN (count 0). Each polygon's mask is
    rasterised once for all arrays.
    """
    from rasterio.errors import WindowError
    from rasterio.features import geometry_mask
    from rasterio.windows import Window, from_bounds
    from rasterio.windows import transform as window_transform

    layers = dict(arrays) if arrays is not None else {"": win.array}
    h, w = win.array.shape
    full = Window(0, 0, w, h)
    res = {name: {s: np.full(len(geoms), np.nan) for s in stats} for name in layers}
    for k, geom in progress(enumerate(geoms), desc=desc, total=len(geoms)):
        if geom is None or geom.is_empty:
            continue
        try:
            sub = from_bounds(*geom.bounds, transform=win.transform)
            c0, r0 = math.floor(sub.col_off), math.floor(sub.row_off)
            sub = Window(c0, r0, math.ceil(sub.col_off + sub.width) - c0 + 1,
                         math.ceil(sub.row_off + sub.height) - r0 + 1).intersection(full)
        except WindowError:  # polygon outside the window
            for name in layers:
                if "count" in stats:
                    res[name]["count"][k] = 0
            continue
        r0, c0 = int(sub.row_off), int(sub.col_off)
        rows, cols = slice(r0, r0 + int(sub.height)), slice(c0, c0 + int(sub.width))
        shape = (int(sub.height), int(sub.width))
        tr = window_transform(sub, win.transform)
        inside = None
        for touched in (False, True):
            mask = ~geometry_mask([geom], out_shape=shape, transform=tr, all_touched=touched)
            if mask.any():
                inside = mask
                break
        for name, arr in layers.items():
            vals = arr[rows, cols][inside] if inside is not None else np.empty(0)
            vals = vals[np.isfinite(vals)]
            for st in stats:
                res[name][st][k] = _stat(vals, st)
    return res


# ---------------------------------------------------------------------------------------------
# public sampling API


def sample_rasters(points: gpd.GeoDataFrame, rasters: Mapping[str, PathLike],
                   band: int = 1) -> gpd.GeoDataFrame:
    """Add one column per raster with its value at each point.

    Parameters
    ----------
    points : point GeoDataFrame in any CRS (reprojected to each raster's CRS).
    rasters : ``{column_name: raster path}``.
    band : band to read (1-based).

    Returns
    -------
    A copy of ``points`` with the new float columns; nodata and points outside the raster
    are NaN (logged).

    Raises
    ------
    RasterError
        A raster has no CRS, covers none of the points, or holds only nodata there.
    """
    out = points.copy()
    for name, path in rasters.items():
        with _open(path) as src:
            crs = src.crs
        geoms = _geoms_in_crs(points, crs, "points")
        win = read_window(path, _bounds_of(geoms), pad=1, band=band)
        mask_voids(win, _role(name))
        vals = _sample_array(win, geoms)
        _check_values(vals, win, "points")
        out[name] = vals
    return out


def zonal_stats(polygons: gpd.GeoDataFrame, path: PathLike, stats: Sequence[str] = ("mean",),
                prefix: str | None = None, band: int = 1) -> pd.DataFrame:
    """Summarise a raster over each polygon.

    Parameters
    ----------
    polygons : polygon GeoDataFrame in any CRS (reprojected to the raster's CRS).
    path : raster path.
    stats : any of ``mean, min, max, median, std, sum, count`` (count = valid cells).
    prefix : column prefix; default the raster's file stem.

    Returns
    -------
    DataFrame aligned to ``polygons.index`` with columns ``<prefix>_<stat>``. Cells whose
    centre lies inside a polygon are used (the touched cells for polygons smaller than a
    cell); nodata cells are ignored; a polygon with no valid cell gets NaN.
    """
    bad = [s for s in stats if s not in ZONAL_STATS]
    if bad:
        raise ColumnError(f"unknown zonal statistic(s) {bad}; use any of {', '.join(ZONAL_STATS)}")
    with _open(path) as src:
        crs = src.crs
    geoms = _geoms_in_crs(polygons, crs, "polygons")
    win = read_window(path, _bounds_of(geoms), pad=1, band=band)
    pre = prefix if prefix is not None else Path(path).stem
    mask_voids(win, _role(pre))
    res = _zonal_arrays(win, geoms, stats, desc=f"zonal {win.name}")[""]
    df = pd.DataFrame({f"{pre}_{s}": v for s, v in res.items()}, index=polygons.index)
    _check_values(df.iloc[:, 0].to_numpy(dtype="float64") if "count" not in stats
                  else df[f"{pre}_count"].replace(0, np.nan).to_numpy(dtype="float64"), win, "polygons")
    return df


def _check_values(vals: np.ndarray, win: RasterWindow, what: str) -> None:
    n_nan = int(np.isnan(vals).sum())
    if vals.size and n_nan == vals.size:
        raise RasterError(f"raster {win.path} gives no value for any of the {vals.size} {what} "
                          "(outside the raster or on nodata cells)")
    if n_nan:
        log.warning("%s: %d of %d %s fall outside the raster or on nodata (NaN)",
                    win.name, n_nan, vals.size, what)


def _report_missing(out: pd.DataFrame, cols: list[str], win: RasterWindow, what: str) -> None:
    """Say how many rows got no value from a raster (outside it, on nodata or voids, or for a
    slope beside one), naming the columns left NaN."""
    missing = out[cols].isna().any(axis=1).to_numpy()
    n = int(missing.sum())
    if n and len(cols) > 1:
        log.warning("%s: %d of %d %s have no terrain value (%s NaN: outside the raster, on nodata or "
                    "void cells, or beside one)", win.name, n, len(out), what, ", ".join(cols))


# ---------------------------------------------------------------------------------------------
# indicators for classification


def find_altitude_column(columns: Sequence[str]) -> str | None:
    """Return the first recognised altitude column name among ``columns`` (case-insensitive)."""
    lower = {str(c).lower(): str(c) for c in columns}
    for cand in ALTITUDE_COLUMNS:
        if cand in lower:
            return lower[cand]
    return None


@dataclass(frozen=True, eq=False)
class TerrainIndicators:
    """What :func:`measure_terrain` attached: the frame with the indicator columns, and where
    each column came from (column -> ``"raster dem.tif (value at the locality)"``...)."""

    frame: gpd.GeoDataFrame
    sources: dict[str, str]


def add_raster_indicators(gdf: gpd.GeoDataFrame, rasters: Mapping[str, PathLike] | None = None,
                          altitude_column: str | None = None,
                          use_altitude_column: bool = True) -> gpd.GeoDataFrame:
    """The frame of :func:`measure_terrain` (the indicator columns attached, sources in the
    ``indicator_sources`` column)."""
    return measure_terrain(gdf, rasters, altitude_column=altitude_column,
                           use_altitude_column=use_altitude_column).frame


def measure_terrain(gdf: gpd.GeoDataFrame, rasters: Mapping[str, PathLike] | None = None, *,
                    altitude_column: str | None = None, use_altitude_column: bool = True) -> TerrainIndicators:
    """Attach terrain / agro-ecology indicator columns to points or polygons.

    Raster names (keys of ``rasters``) with a meaning:

    * ``dem`` / ``elevation``: adds ``elevation_m``, ``slope_deg`` and ``tri_m`` (slope and
      ruggedness computed on the DEM grid, then sampled or averaged);
    * ``slope``: a ready slope raster in degrees -> ``slope_deg``;
    * ``suitability``: a crop suitability index (0-100) -> ``suitability_index``;
    * ``ruggedness`` / ``tri``: a ready TRI raster in metres -> ``tri_m``;
    * any other name: the raster's values in a column of that name.

    Points get the value of the cell they fall in; polygons the mean over their cells.
    When no DEM is given but the frame has an altitude column (``altitude_column`` or one of
    :data:`ALTITUDE_COLUMNS`), it becomes ``elevation_m`` (unless ``use_altitude_column``
    is False). Where each indicator came from is returned in
    :attr:`TerrainIndicators.sources` and written to the ``indicator_sources`` column.
    """
    rasters = dict(rasters or {})
    out = gdf.copy()
    sources: dict[str, str] = {}
    polygons = bool(len(gdf)) and bool(gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all())
    how = "mean over the area" if polygons else "value at the locality"
    for name, path in rasters.items():
        role = RASTER_ROLES.get(name.lower(), "other")
        with _open(path) as src:
            crs = src.crs
        geoms = _geoms_in_crs(gdf, crs, "areas" if polygons else "localities")
        pad = 2 if role == "dem" else 1
        win = read_window(path, _bounds_of(geoms), pad=pad)
        mask_voids(win, role)
        if not np.isfinite(win.array).any():
            raise RasterError(f"raster {win.path} holds only nodata or impossible values where the "
                              f"{'areas' if polygons else 'localities'} are")
        layers: dict[str, np.ndarray]
        if role == "dem":
            layers = {
                "elevation_m": win.array,
                "slope_deg": slope_degrees(win.array, win.transform, win.crs),
                "tri_m": terrain_ruggedness_index(win.array, win.transform, win.crs),
            }
        else:
            col = {"slope": "slope_deg", "suitability": "suitability_index",
                   "ruggedness": "tri_m"}.get(role, name)
            layers = {col: win.array}
        zonal = (_zonal_arrays(win, geoms, ("mean",), layers, desc=f"areas on {win.name}")
                 if polygons else {})
        for k, (col, arr) in enumerate(layers.items()):
            vals = zonal[col]["mean"] if polygons else _sample_array(win, geoms, arr)
            if k == 0:
                _check_values(vals, win, "areas" if polygons else "localities")
            out[col] = vals
            sources[col] = f"raster {win.name} ({how})"
        _report_missing(out, list(layers), win, "areas" if polygons else "localities")
    if "elevation_m" not in sources and use_altitude_column:
        alt = altitude_column or find_altitude_column(list(gdf.columns))
        if altitude_column and altitude_column not in gdf.columns:
            raise ColumnError(f"altitude column '{altitude_column}' not found; "
                              f"columns are {', '.join(map(str, gdf.columns))}")
        if alt is not None:
            out["elevation_m"] = pd.to_numeric(gdf[alt], errors="coerce").astype("float64")
            sources["elevation_m"] = f"column '{alt}' (no DEM raster given)"
            log.info("no DEM given: elevation_m taken from column '%s'", alt)
    out["indicator_sources"] = "; ".join(f"{k}: {v}" for k, v in sources.items())
    return TerrainIndicators(out, sources)
