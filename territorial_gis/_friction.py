"""Friction grids for the accessibility surfaces: the grid, walking speeds, rasters on the grid,
barriers.

* :class:`GridSpec`: a north-up raster grid (any CRS; the surfaces use the UTM zone of the
  study area), the move distances of its cells (metric, per row, so geographic grids keep their
  true sizes), the cell holding a point.
* :func:`default_resolution_m` and :func:`check_memory`: a resolution from the area's size and
  the guard that refuses a grid that would not fit, saying what would.
* Tobler's hiking function (:func:`tobler_kph`, :func:`tobler_time_factor`) and land-cover
  speed tables (TOML, :func:`load_landcover_table`).
* :func:`warp_to_grid` reads any raster onto the grid (rasterio's warped VRT, only the window
  needed), checking its CRS and that it covers the study area; :func:`read_aligned` reads
  rasters that must share one grid (AccessMod-style inputs).
* :func:`rasterize_barriers` burns water polygons and river lines into a barrier mask and
  :func:`bridge_cells` finds where roads cross them.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from pyproj import CRS, Geod, Transformer

from . import settings
from ._arrays import unique_values
from ._toml import read_builtin_or_file
from .errors import ColumnError, ConfigError, CRSError, InputFileError, RasterError

if TYPE_CHECKING:
    import geopandas as gpd
    from affine import Affine

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

#: Resolutions (metres) a default grid is rounded up to.
NICE_RESOLUTIONS_M = (30.0, 50.0, 75.0, 100.0, 150.0, 200.0, 250.0, 300.0, 500.0, 750.0, 1000.0,
                      1500.0, 2000.0, 2500.0, 5000.0, 10000.0)
#: A default grid aims at about this many cells (a few seconds per destination tier).
TARGET_CELLS = 4_000_000
#: Bytes per cell of a surface computation: friction and elevation (float64), the kernel's
#: cost (float64) and seed label (int32), one float32 output per tier, legs and mode sequence
#: (5 float64 + uint32) where trips are read, and rasterisation temporaries.
BYTES_PER_CELL = 8 + 8 + 8 + 4 + 4 + 44 + 8


# ---------------------------------------------------------------------------------------------
# Tobler's hiking function


def tobler_kph(slope: np.ndarray | float) -> np.ndarray:
    """Tobler's (1993) hiking speed in km/h at a rise over run ``slope`` (dh/dx, signed).

    ``6 exp(-3.5 |S + 0.05|)``: 5.04 km/h on the flat, the fastest (6 km/h) on a 5 % descent.
    """
    s = np.asarray(slope, dtype=np.float64)
    out: np.ndarray = 6.0 * np.exp(-3.5 * np.abs(s + 0.05))
    return out


def tobler_time_factor(slope: np.ndarray | float) -> np.ndarray:
    """Walking time on a slope relative to flat ground: ``tobler_kph(0) / tobler_kph(S)``
    (``exp(3.5 (|S + 0.05| - 0.05))``; below 1 on gentle descents). The compiled kernel uses
    the same formula on every move."""
    s = np.asarray(slope, dtype=np.float64)
    out: np.ndarray = np.exp(3.5 * (np.abs(s + 0.05) - 0.05))
    return out


def tobler_isotropic_factor(slope_abs: np.ndarray | float) -> np.ndarray:
    """Time factor of a slope of unknown direction (a slope raster has no aspect): the mean of
    the uphill and downhill factors, i.e. the average over a return trip."""
    s = np.abs(np.asarray(slope_abs, dtype=np.float64))
    out: np.ndarray = 0.5 * (tobler_time_factor(s) + tobler_time_factor(-s))
    return out


# ---------------------------------------------------------------------------------------------
# the grid


@dataclass(frozen=True)
class GridSpec:
    """A north-up raster grid: ``transform`` (rasterio Affine), ``width`` x ``height`` cells, ``crs``."""

    crs: CRS
    transform: Affine
    width: int
    height: int

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return (self.height, self.width)

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return self.width * self.height

    @property
    def res(self) -> tuple[float, float]:
        """Cell size (x, y) in CRS units."""
        return (abs(float(self.transform.a)), abs(float(self.transform.e)))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in the grid's CRS."""
        t = self.transform
        return (float(t.c), float(t.f + t.e * self.height), float(t.c + t.a * self.width), float(t.f))

    def cells_of(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat index of the cell holding each point (grid CRS) and whether it is inside the grid.

        A point sits in the cell that contains it (on a shared edge: the cell to its east / south).
        """
        t = self.transform
        col = np.floor((np.asarray(x, dtype=float) - t.c) / t.a)
        row = np.floor((np.asarray(y, dtype=float) - t.f) / t.e)
        inside = (np.isfinite(col) & np.isfinite(row) & (col >= 0) & (row >= 0)
                  & (col < self.width) & (row < self.height))
        flat = np.where(inside, np.where(inside, row, 0) * self.width + np.where(inside, col, 0), -1)
        return flat.astype(np.int64), inside

    def centres(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates (grid CRS) of the centres of flat cell indices."""
        cells = np.asarray(cells, dtype=np.int64)
        row, col = np.divmod(cells, self.width)
        t = self.transform
        return t.c + (col + 0.5) * t.a, t.f + (row + 0.5) * t.e

    def move_distances(self, moves: int) -> np.ndarray:
        """Metres between a cell's centre and its neighbour's, per row and move: ``(height, moves)``.

        Projected grids: Euclidean distances in the CRS's linear unit converted to metres.
        Geographic grids: the geodesic on the CRS's ellipsoid (Karney, via pyproj), row by row.
        """
        from ._grid import move_table

        off = move_table(moves).astype(np.float64)
        t = self.transform
        if not self.crs.is_geographic:
            unit = float(self.crs.axis_info[0].unit_conversion_factor) if self.crs.axis_info else 1.0
            d = np.hypot(off[:, 0] * t.e, off[:, 1] * t.a) * unit
            return np.tile(d, (self.height, 1))
        ell = self.crs.ellipsoid
        geod = Geod(a=ell.semi_major_metre, rf=ell.inverse_flattening) if ell is not None \
            else Geod(ellps="WGS84")
        rows = np.arange(self.height, dtype=np.float64)
        lat1 = t.f + (rows + 0.5) * t.e
        lon1 = np.full(self.height, t.c + 0.5 * t.a)
        out = np.empty((self.height, len(off)))
        for m, (dr, dc) in enumerate(off):
            lat2 = np.clip(lat1 + dr * t.e, -90.0, 90.0)
            _f, _b, dist = geod.inv(lon1, lat1, lon1 + dc * t.a, lat2)
            out[:, m] = dist
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain description (for metadata)."""
        return {"crs": self.crs.to_string(), "width": self.width, "height": self.height,
                "res": list(self.res), "bounds": [round(b, 3) for b in self.bounds]}


def _nice_up(value: float) -> float:
    for r in NICE_RESOLUTIONS_M:
        if r >= value - 1e-9:
            return r
    return float(math.ceil(value / 10000.0) * 10000.0)


def default_resolution_m(width_m: float, height_m: float) -> float:
    """A cell size for an area of ``width_m`` x ``height_m``: about :data:`TARGET_CELLS` cells,
    rounded up to a value of :data:`NICE_RESOLUTIONS_M`, never finer than 30 m (the resolution of
    the usual open DEMs: finer cells add no terrain information)."""
    raw = math.sqrt(max(width_m, 1.0) * max(height_m, 1.0) / TARGET_CELLS)
    return _nice_up(max(raw, NICE_RESOLUTIONS_M[0]))


def check_memory(n_cells: int, res_m: float | None, *, max_memory_mb: float | None = None,
                 width: int | None = None, height: int | None = None) -> None:
    """Refuse a grid whose computation would not fit in ``max_memory_mb`` (default
    :data:`territorial_gis.settings.surface_memory_mb`), naming the memory it needs and a
    resolution that would fit.

    Raises
    ------
    ConfigError
    """
    limit = float(settings.surface_memory_mb if max_memory_mb is None else max_memory_mb)
    need = n_cells * BYTES_PER_CELL / 2**20
    if need <= limit:
        return
    shape = f"{width} x {height} = " if width and height else ""
    hint = ""
    if res_m:
        fit = _nice_up(res_m * math.sqrt(need / limit) * 1.001)
        hint = f"; a resolution of {fit:g} m would fit"
    raise ConfigError(
        f"the surface grid of {shape}{n_cells:,} cells{f' at {res_m:g} m' if res_m else ''} needs about "
        f"{need:,.0f} MB, more than the limit of {limit:,.0f} MB (settings.surface_memory_mb){hint}")


def grid_for_lonlat_bounds(bounds: Sequence[float], *, resolution_m: float | None = None,
                           crs: CRS | None = None, pad_m: float | None = None,
                           max_memory_mb: float | None = None) -> GridSpec:
    """A square-cell grid in the metric CRS (default: UTM of the area) covering lon/lat ``bounds``
    plus a margin (``pad_m``, default 5 % of the larger side and at least two cells), with
    the default resolution from the area's size; refused when it would not fit in memory."""
    from affine import Affine

    from ._crs import utm_crs_for_bounds

    w, s, e, n = (float(b) for b in bounds)
    if not all(math.isfinite(v) for v in (w, s, e, n)) or w > e or s > n:
        raise ConfigError(f"cannot build a grid over bounds {list(bounds)!r}")
    crs = utm_crs_for_bounds((w, s, e, n)) if crs is None else CRS.from_user_input(crs)
    tr = Transformer.from_crs(4326, crs, always_xy=True)
    x0, y0, x1, y1 = tr.transform_bounds(w, s, e, n, densify_pts=21)
    span = max(x1 - x0, y1 - y0, 1.0)
    res = float(resolution_m) if resolution_m is not None else default_resolution_m(
        (x1 - x0) * 1.1, (y1 - y0) * 1.1)
    if not (res > 0 and math.isfinite(res)):
        raise ConfigError(f"resolution must be a positive number of metres, got {resolution_m!r}")
    pad = max(0.05 * span, 2 * res) if pad_m is None else float(pad_m)
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    x0 = math.floor(x0 / res) * res
    y1 = math.ceil(y1 / res) * res
    width = max(1, int(math.ceil((x1 - x0) / res)))
    height = max(1, int(math.ceil((y1 - y0) / res)))
    check_memory(width * height, res, max_memory_mb=max_memory_mb, width=width, height=height)
    return GridSpec(crs, Affine(res, 0.0, x0, 0.0, -res, y1), width, height)


# ---------------------------------------------------------------------------------------------
# rasters on the grid


def open_raster(path: PathLike, what: str) -> Any:
    """Open a raster with rasterio, checking it exists, has a CRS and a north-up transform."""
    import rasterio
    from rasterio.errors import RasterioIOError

    from ._io import check_input

    p = check_input(path, what)
    try:
        src = rasterio.open(p)
    except RasterioIOError as exc:
        raise InputFileError(f"cannot read {what} {p}: {exc}") from None
    if src.crs is None:
        src.close()
        raise RasterError(f"{what} {p} has no CRS; assign one first (e.g. gdal_edit.py -a_srs EPSG:4326 {p.name})")
    if src.transform.b != 0 or src.transform.d != 0:
        src.close()
        raise RasterError(f"{what} {p} has a rotated geotransform; warp it to a north-up grid first (gdalwarp)")
    return src


def _bounds_in(src_bounds: Sequence[float], src_crs: Any, dst_crs: CRS) -> tuple[float, float, float, float]:
    tr = Transformer.from_crs(CRS.from_user_input(src_crs.to_wkt()), dst_crs, always_xy=True)
    b = [float(v) for v in src_bounds]
    x0, y0, x1, y1 = tr.transform_bounds(b[0], b[1], b[2], b[3], densify_pts=21)
    return float(x0), float(y0), float(x1), float(y1)


def warp_to_grid(path: PathLike, grid: GridSpec, *, what: str, resampling: str = "bilinear",
                 study_bounds: Sequence[float] | None = None, band: int = 1) -> np.ndarray:
    """Read band ``band`` of a raster onto ``grid`` (float64, nodata as NaN).

    Only the part of the raster under the grid is read (rasterio's WarpedVRT). ``resampling``
    is a rasterio resampling name (``bilinear`` for elevations, ``nearest`` or ``mode`` for
    classes, ``sum`` for counts such as population).

    Raises
    ------
    RasterError
        No CRS, or the raster does not cover ``study_bounds`` (grid CRS; default the grid).
    """
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT

    with open_raster(path, what) as src:
        need = tuple(study_bounds) if study_bounds is not None else grid.bounds
        rb = _bounds_in(src.bounds, src.crs, grid.crs)
        tol = max(grid.res) * 1.5
        if rb[0] > need[0] + tol or rb[1] > need[1] + tol or rb[2] < need[2] - tol or rb[3] < need[3] - tol:
            raise RasterError(
                f"{what} {Path(src.name).name} does not cover the study area: its bounds in "
                f"{grid.crs.to_string()} are {rb[0]:.0f}, {rb[1]:.0f}, {rb[2]:.0f}, {rb[3]:.0f}, the area needs "
                f"{need[0]:.0f}, {need[1]:.0f}, {need[2]:.0f}, {need[3]:.0f}")
        try:
            method = Resampling[resampling]
        except KeyError:
            raise ConfigError(f"unknown resampling {resampling!r}") from None
        nodata = src.nodatavals[band - 1]
        with WarpedVRT(src, crs=grid.crs.to_wkt(), transform=grid.transform, width=grid.width,
                       height=grid.height, resampling=method,
                       src_nodata=nodata, nodata=np.nan if nodata is None else nodata,
                       dtype="float64") as vrt:
            data = vrt.read(band, masked=True)
    arr: np.ndarray = np.ma.filled(data.astype("float64"), np.nan)
    if nodata is not None and not np.isnan(nodata):
        arr[arr == float(nodata)] = np.nan
    return arr


@dataclass
class AlignedRaster:
    """A band read on its own grid (AccessMod-style inputs): array (float64, nodata NaN) and grid."""

    array: np.ndarray
    grid: GridSpec
    path: Path


def read_aligned(paths: dict[str, PathLike]) -> dict[str, AlignedRaster]:
    """Read rasters that must share one grid (same CRS, transform and size).

    Raises
    ------
    RasterError
        A raster has no CRS, or two rasters are not aligned (the message names both grids).
    """
    out: dict[str, AlignedRaster] = {}
    first: tuple[str, AlignedRaster] | None = None
    for role, path in paths.items():
        with open_raster(path, f"{role} raster") as src:
            grid = GridSpec(CRS.from_user_input(src.crs.to_wkt()), src.transform, src.width, src.height)
            data = src.read(1, masked=True)
            nodata = src.nodata
        arr = np.ma.filled(data.astype("float64"), np.nan)
        if nodata is not None and not np.isnan(nodata):
            arr[arr == float(nodata)] = np.nan
        r = AlignedRaster(arr, grid, Path(path))
        if first is None:
            first = (role, r)
        else:
            g0 = first[1].grid
            if not (grid.crs.equals(g0.crs) and grid.shape == g0.shape
                    and np.allclose(tuple(grid.transform)[:6], tuple(g0.transform)[:6], rtol=0, atol=1e-9 * max(g0.res))):
                raise RasterError(
                    f"rasters not aligned: {role} raster {Path(path).name} ({grid.width} x {grid.height} cells, "
                    f"origin {grid.transform.c:.6g}, {grid.transform.f:.6g}, cell {grid.res[0]:.6g} x "
                    f"{grid.res[1]:.6g}, {grid.crs.to_string()}) differs from {first[0]} raster "
                    f"{first[1].path.name} ({g0.width} x {g0.height}, origin {g0.transform.c:.6g}, "
                    f"{g0.transform.f:.6g}, cell {g0.res[0]:.6g} x {g0.res[1]:.6g}, {g0.crs.to_string()}); "
                    "warp them to one grid first (gdalwarp -tr -te -t_srs)")
        out[role] = r
    return out


# ---------------------------------------------------------------------------------------------
# land cover


@dataclass(frozen=True)
class LandcoverTable:
    """Walking speed on flat ground (km/h) per land-cover class; 0 means not walkable."""

    speed_kph: dict[int, float]
    labels: dict[int, str]
    source: str

    def lookup(self, classes: np.ndarray, *, raster: str) -> np.ndarray:
        """Speeds of a class raster (NaN where the class is NaN/nodata).

        Raises
        ------
        ConfigError
            A class of the raster is missing from the table (all such classes are named).
        """
        vals = np.asarray(classes, dtype=np.float64)
        fin = np.isfinite(vals)
        present = unique_values(vals[fin]).astype(np.int64)
        missing = [int(c) for c in present if int(c) not in self.speed_kph]
        if missing:
            raise ConfigError(
                f"land-cover class(es) {', '.join(map(str, missing))} of {raster} are missing from the "
                f"table {self.source} (classes in the table: {', '.join(map(str, sorted(self.speed_kph)))})")
        keys = np.array(sorted(self.speed_kph), dtype=np.int64)
        speeds = np.array([self.speed_kph[int(k)] for k in keys])
        out = np.full(vals.shape, np.nan)
        idx = np.searchsorted(keys, vals[fin].astype(np.int64))
        out[fin] = speeds[idx]
        return out


def load_landcover_table(table: PathLike | dict[int, float] | None = None) -> LandcoverTable:
    """A land-cover speed table: built-in name (``"esa_worldcover"``), TOML file, or ``{class: km/h}``.

    TOML layout::

        [classes.10]
        label = "Tree cover"
        speed_kph = 2.0        # walking speed on flat ground; 0 = not walkable
        source = "..."

    Raises
    ------
    ConfigError
        Malformed table (a class that is not an integer, a speed that is not >= 0).
    """
    if isinstance(table, dict):
        data: dict[str, Any] = {"classes": {str(k): {"speed_kph": v} for k, v in table.items()}}
        source = "<dict>"
    else:
        name = "landcover_esa_worldcover" if table in (None, "esa_worldcover", "worldcover") else table
        assert name is not None
        data, source = read_builtin_or_file(name, "territorial_gis.profiles", "land-cover table")
    classes = data.get("classes")
    if not isinstance(classes, dict) or not classes:
        raise ConfigError(f"{source}: a land-cover table needs a [classes] table of class -> speed_kph")
    speeds: dict[int, float] = {}
    labels: dict[int, str] = {}
    for key, entry in classes.items():
        try:
            code = int(key)
        except ValueError:
            raise ConfigError(f"{source}: land-cover class {key!r} is not an integer") from None
        value = entry.get("speed_kph") if isinstance(entry, dict) else entry
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value >= 0):
            raise ConfigError(f"{source}: classes.{key}.speed_kph = {value!r} must be a number >= 0")
        speeds[code] = float(value)
        labels[code] = str(entry.get("label", key)) if isinstance(entry, dict) else str(key)
    return LandcoverTable(speeds, labels, source)


# ---------------------------------------------------------------------------------------------
# vector layers: barriers and bridges

_LINES = ("LineString", "MultiLineString", "LinearRing")
_POLYGONS = ("Polygon", "MultiPolygon")


def read_vector(source: PathLike | gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """A vector layer (file or GeoDataFrame) with a CRS; invalid polygons repaired (make_valid)."""
    import geopandas as gpd

    if isinstance(source, gpd.GeoDataFrame):
        gdf = source
        if gdf.crs is None:
            raise CRSError(f"{what} has no CRS; set one (e.g. EPSG:4326)")
    else:
        from ._layers import read_layer

        gdf = read_layer(source, what=what)
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    bad = ~gdf.geometry.is_valid
    if bad.any():
        log.info("%s: %d invalid geometries repaired (make_valid)", what, int(bad.sum()))
        gdf = gdf.copy()
        gdf.loc[bad, gdf.geometry.name] = shapely.make_valid(gdf.geometry[bad].to_numpy())
    return gdf


def check_lines_or_polygons(gdf: gpd.GeoDataFrame, what: str, name: str, *, polygons: bool = True) -> None:
    """Raise ColumnError when a layer holds no line (or polygon, when allowed) geometry."""
    types = set(gdf.geometry.geom_type.dropna())
    allowed = set(_LINES) | (set(_POLYGONS) | {"GeometryCollection"} if polygons else set())
    if not types & allowed:
        kinds = "lines or polygons" if polygons else "lines"
        raise ColumnError(f"{what} {name} holds no {kinds} (geometry types: {', '.join(sorted(types)) or 'none'})")


def lines_and_polygons(gdf: gpd.GeoDataFrame, crs: CRS, what: str,
                       name: str) -> tuple[np.ndarray, np.ndarray]:
    """Line and polygon parts of a layer in ``crs`` (collections from make_valid are split);
    either may be empty."""
    geoms = gdf.to_crs(crs).geometry.to_numpy()
    parts = shapely.get_parts(geoms)
    kinds = shapely.get_type_id(parts)
    lines = parts[np.isin(kinds, (1, 2, 5))]
    polys = parts[np.isin(kinds, (3, 6))]
    return lines, polys


def rasterize_mask(geoms: np.ndarray, grid: GridSpec, *, all_touched: bool = True) -> np.ndarray:
    """Boolean mask of the cells the geometries touch (grid CRS)."""
    from rasterio.features import rasterize

    if not len(geoms):
        return np.zeros(grid.shape, dtype=bool)
    mask: np.ndarray = rasterize(((g, 1) for g in geoms), out_shape=grid.shape, transform=grid.transform,
                                 fill=0, all_touched=all_touched, dtype="uint8").astype(bool)
    return mask


def bridge_cells(road_lines: np.ndarray, barrier_lines: np.ndarray, barrier_polys: np.ndarray,
                 grid: GridSpec) -> tuple[np.ndarray, int]:
    """Cells where roads cross barriers (bridges): walkable whatever the barrier mask says.

    A road crossing a barrier line opens the cells along the road within 1.5 cells of the
    crossing point; a road piece inside a water polygon opens the cells along it, and 1.5 cells
    beyond the bank (the barrier is rasterised with every touched cell). A road that runs
    beside a river without touching it opens nothing, so no false crossing appears.

    Returns
    -------
    (mask, n_crossings)
    """
    if not len(road_lines) or (not len(barrier_lines) and not len(barrier_polys)):
        return np.zeros(grid.shape, dtype=bool), 0
    reach = 1.5 * max(grid.res)
    pieces: list[Any] = []
    n = 0
    tree = shapely.STRtree(road_lines)
    if len(barrier_lines):
        bl = shapely.union_all(barrier_lines)
        hit = tree.query(bl, predicate="intersects")
        if len(hit):
            pts = shapely.get_parts(shapely.intersection(road_lines[hit], bl))
            pts = pts[~shapely.is_empty(pts)]
            pts = shapely.get_parts(shapely.union_all(shapely.points(shapely.get_coordinates(pts))))
            n += len(pts)
            disc = shapely.union_all(shapely.buffer(pts, reach))
            pieces.extend(shapely.get_parts(shapely.intersection(road_lines[hit], disc)))
    if len(barrier_polys):
        bp = shapely.union_all(barrier_polys)
        hit = tree.query(bp, predicate="intersects")
        if len(hit):
            inside = shapely.get_parts(shapely.intersection(road_lines[hit], bp))
            inside = inside[~shapely.is_empty(inside) & np.isin(shapely.get_type_id(inside), (1, 2, 5))]
            n += len(inside)
            if len(inside):
                near = shapely.union_all(shapely.buffer(inside, reach))
                pieces.extend(shapely.get_parts(shapely.intersection(road_lines[hit], near)))
    pieces_arr = np.asarray([p for p in pieces if not p.is_empty], dtype=object)
    return rasterize_mask(pieces_arr, grid, all_touched=True), n
