"""Accessibility surfaces: travel time from every cell to the nearest destination, over terrain,
rivers and roads, on the compiled engine.

The model (the WHO AccessMod / Malaria Atlas Project kind, plus the exact road network and boats):

* **Grid**: square cells in the study's metric CRS (the UTM zone of the area), the resolution a
  parameter whose default follows the area's size (:func:`~territorial_gis._friction.default_resolution_m`);
  a grid that would not fit in ``settings.surface_memory_mb`` is refused, naming a resolution
  that would fit. A point sits in the cell that contains it.
* **Walking**: ``walk_kph`` on flat open ground (``settings.walk_kph``, 4 km/h), or the speed of
  the cell's land-cover class (a table of flat-ground speeds, :file:`profiles/landcover_esa_worldcover.toml`),
  times Tobler's hiking function of the slope. The slope is **anisotropic**: each move is charged
  Tobler's factor for its own rise over run, uphill and downhill differently (a path and its
  return differ in time, as on foot), because the DEM is at hand and the direction of travel is
  known on every move. Only where the slope comes as a raster of magnitudes (AccessMod-style
  inputs) is it isotropic: the mean of the uphill and downhill factors, i.e. the average of a
  return trip. No DEM: flat terrain, and the outputs say so (``meta["terrain"]``, raster tags).
* **Barriers**: water polygons and river lines (any vector layer) cannot be walked across; cells
  where a road crosses them (bridges) stay walkable, and crossings given by the user (fords,
  ferries, with a time) join the banks.
* **Roads**: the road network is joined to the grid as one graph (``roads="network"``, default):
  every road piece is split where it passes through a cell (one access point per piece and cell)
  and each access point is linked both ways to its cell by a walk from the cell's centre, so road
  travel keeps the network's exact times and one-way rules while the grid carries the off-road
  part. ``roads="burn"`` instead burns roads into the friction at their speeds (the AccessMod
  way: one-way rules are lost and a road lends its speed to a whole cell); the difference
  between the two is measured in ``benchmarks/bench_surfaces.py``.
* **Waterways**: navigable rivers (lines, or river polygons reduced to their centre line) as a
  boat mode, with speeds by river class and direction (:file:`profiles/boat.toml`), landings where
  roads, settlements or given ports are within reach of the river, and a wait at each boarding.
* **Moves**: 16 neighbours by default (rook, diagonal and knight moves). On open flat ground the
  time of the best grid path exceeds the straight-line time by at most 2.75 % with 16 moves,
  8.24 % with 8 and 41.4 % with 4 (:data:`MOVE_SET_ERROR`); 16 moves cost about 1.5 times the work
  of 8, a price worth paying when a few per cent of a three-hour walk is several minutes. A move
  costs the mean of the two cells' friction times the distance between their centres, the
  convention of R's gdistance (``geoCorrection``) and AccessMod, so that on the same friction
  raster the results agree with those tools' to floating-point precision. Diagonal and knight
  moves do not cut past barrier cells (``cut_corners=False``), so a river drawn one cell thick
  cannot be jumped; ``cut_corners=True`` reproduces gdistance and scikit-image exactly.

Entry points: :func:`build_surface` (network, DEM, land cover, barriers, waterways, crossings),
:func:`surface_from_rasters` (AccessMod-style: road-speed, slope and land-cover rasters, or a
ready friction or speed raster), :meth:`Surface.travel_times` (minutes per cell to the nearest
destination), :meth:`Surface.nearest` (per point: minutes, nearest destination, minutes per leg,
trip mode), :func:`write_surface_cog`, :func:`zonal_travel_times` and :func:`population_by_band`.

In a study, the surface serves three stages through the one routing-options object
(:class:`~territorial_gis.RouteOptions`, ``offroad`` and ``surface``): access
(``[access] offroad = "surface"``: a place beyond the road's reach gets a terrain- and
river-aware time, trip modes and the minutes of each leg), this stage (``[surface]``: one
travel-time raster per tier, statistics per area and population by band) and the Rural Access
Index (``[rai] method = "walk"``: the 2 km walked over the surface). The engine lives in
:mod:`territorial_gis._surface`; everything public is re-exported here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pyproj import Transformer

from . import settings
from ._friction import GridSpec, read_vector
from ._io import atomic_output
from ._surface import (
    LEG_COLUMNS,
    MOVE_SET_ERROR,
    MOVES,
    ROADS,
    TOBLER,
    Surface,
    SurfaceInputs,
    SurfaceOptions,
    WaterwaySpec,
    _lonlat,
    build_surface,
    decode_modes,
    locality_times,
    offroad_description,
    settlements,
    surface_access,
    surface_for,
    surface_from_rasters,
)
from ._waterways import BoatProfile, RiverLevels, load_boat_profile
from .columns import REASON_CUT_OFF, REASON_IN_BARRIER, REASON_NO_DESTINATION, REASON_OUTSIDE_GRID
from .errors import ColumnError, ConfigError, CRSError

if TYPE_CHECKING:
    import geopandas as gpd

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

# ---------------------------------------------------------------------------------------------
# outputs


def write_surface_cog(minutes: np.ndarray, grid: GridSpec, path: PathLike, *,
                      tags: Mapping[str, Any] | None = None, overwrite: bool = False) -> os.PathLike[str]:
    """Write travel times as a Cloud-Optimised GeoTIFF: float32 minutes, NaN nodata (unreachable),
    tiles of 256 cells, DEFLATE, overviews (averaged) down to one tile; ``tags`` are written as
    metadata (terrain, tier, method...)."""
    import json

    import rasterio

    arr = np.asarray(minutes, dtype=np.float32).reshape(grid.shape)
    with atomic_output(path, overwrite=overwrite) as tmp:
        with rasterio.open(tmp, "w", driver="COG", width=grid.width, height=grid.height, count=1,
                           dtype="float32", crs=grid.crs.to_wkt(), transform=grid.transform, nodata=np.nan,
                           BLOCKSIZE=256, COMPRESS="DEFLATE", PREDICTOR=3, OVERVIEW_RESAMPLING="AVERAGE",
                           RESAMPLING="AVERAGE") as dst:
            dst.write(arr, 1)
            dst.update_tags(units="minutes", nodata="unreachable", **{
                str(k): (v if isinstance(v, str) else json.dumps(v, default=str)) for k, v in (tags or {}).items()})
            dst.set_band_description(1, "travel time to the nearest destination (minutes)")
    return path if isinstance(path, os.PathLike) else os.fspath(path)  # type: ignore[return-value]


def population_grid(points: gpd.GeoDataFrame, grid: GridSpec, column: str = "population") -> np.ndarray:
    """Population of point localities summed per cell of ``grid`` (0 where none; NaN populations skipped)."""
    if column not in points:
        raise ColumnError(f"no population column {column!r}; columns: {', '.join(map(str, points.columns))}")
    lon, lat = _lonlat(points, "localities")
    x, y = Transformer.from_crs(4326, grid.crs, always_xy=True).transform(lon, lat)
    cell, inside = grid.cells_of(np.asarray(x), np.asarray(y))
    pop = pd.to_numeric(points[column], errors="coerce").to_numpy(dtype=float)
    ok = inside & np.isfinite(pop)
    out: np.ndarray = np.bincount(cell[ok], weights=pop[ok], minlength=grid.n_cells).reshape(grid.shape)
    return out


def sample_minutes(minutes: np.ndarray, grid: GridSpec, points: gpd.GeoDataFrame) -> np.ndarray:
    """Minutes of the cell holding each point (NaN outside the grid or unreachable)."""
    lon, lat = _lonlat(points, "points")
    x, y = Transformer.from_crs(4326, grid.crs, always_xy=True).transform(lon, lat)
    cell, inside = grid.cells_of(np.asarray(x), np.asarray(y))
    flat = np.asarray(minutes, dtype=float).reshape(-1)
    out: np.ndarray = np.where(inside, flat[np.maximum(cell, 0)], np.nan)
    return out


def _bands(bands_min: Sequence[float] | None) -> list[float]:
    bands = [float(b) for b in (settings.surface_bands_min if bands_min is None else bands_min)]
    if not bands or any(not (b > 0) or not np.isfinite(b) for b in bands) or sorted(set(bands)) != bands:
        raise ConfigError(f"travel-time bands must be increasing positive minutes, got {list(bands)}")
    return bands


def area_labels(grid: GridSpec, areas: gpd.GeoDataFrame) -> np.ndarray:
    """Per cell (flat int32): 1 + the position of the area holding its centre, 0 for none (an
    area smaller than a cell takes the cells it touches; areas should not overlap)."""
    from rasterio.features import rasterize

    if areas.crs is None:
        raise CRSError("areas have no CRS; set one (e.g. EPSG:4326)")
    geoms = areas.to_crs(grid.crs).geometry.to_numpy()
    shapes = [(g, k + 1) for k, g in enumerate(geoms) if g is not None and not g.is_empty]
    if not shapes:
        return np.zeros(grid.n_cells, dtype=np.int32)
    lab = rasterize(shapes, out_shape=grid.shape, transform=grid.transform, fill=0, dtype="int32").reshape(-1)
    counts = np.bincount(lab, minlength=len(geoms) + 1)[1:]
    for k in np.flatnonzero(counts == 0):  # smaller than a cell: the touched cells
        if geoms[k] is None or geoms[k].is_empty:
            continue
        touched = rasterize([(geoms[k], 1)], out_shape=grid.shape, transform=grid.transform, fill=0,
                            all_touched=True, dtype="uint8").reshape(-1).astype(bool)
        lab[touched & (lab == 0)] = k + 1
    out: np.ndarray = lab
    return out


def zonal_travel_times(minutes: np.ndarray, grid: GridSpec, areas: gpd.GeoDataFrame, *,
                       id_col: str | None = None, population: np.ndarray | None = None,
                       bands_min: Sequence[float] | None = None, labels: np.ndarray | None = None) -> pd.DataFrame:
    """Travel-time statistics per area (cells whose centre is inside; an area smaller than a cell
    uses the cells it touches; areas should not overlap).

    Returns one row per area: ``area_id``, ``cells``, ``area_km2`` (of those cells),
    ``share_cells_unreachable``, ``mean_min``, ``median_min``, ``max_min`` (over reachable
    cells), ``share_area_within_<b>_min`` per band (default
    :data:`territorial_gis.settings.surface_bands_min`) and, with ``population`` (per cell, e.g.
    :func:`population_grid`): ``population``, ``population_unreachable``,
    ``pop_weighted_mean_min`` and ``share_pop_within_<b>_min``. ``labels`` are the areas' cells
    (:func:`area_labels`) when already computed.
    """
    bands = _bands(bands_min)
    ids = areas[id_col].to_numpy() if id_col is not None else areas.index.to_numpy()
    lab = area_labels(grid, areas) if labels is None else labels
    n = len(areas)
    t = np.asarray(minutes, dtype=float).reshape(-1)
    inside = lab > 0
    a = lab[inside] - 1
    tv = t[inside]
    ok = np.isfinite(tv)
    cells = np.bincount(a, minlength=n)
    reached = np.bincount(a[ok], minlength=n)
    s = np.bincount(a[ok], weights=tv[ok], minlength=n)
    mx = np.full(n, -np.inf)
    np.maximum.at(mx, a[ok], tv[ok])
    out = pd.DataFrame({"area_id": ids, "cells": cells, "area_km2": cells * grid.res[0] * grid.res[1] / 1e6})
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share_cells_unreachable"] = np.where(cells > 0, 1.0 - reached / np.maximum(cells, 1), np.nan)
        out["mean_min"] = np.where(reached > 0, s / np.maximum(reached, 1), np.nan)
        for b in bands:
            within = np.bincount(a[ok], weights=(tv[ok] <= b).astype(float), minlength=n)
            out[f"share_area_within_{b:g}_min"] = np.where(cells > 0, within / np.maximum(cells, 1), np.nan)
    out["median_min"] = _group_median(a[ok], tv[ok], n)
    out["max_min"] = np.where(reached > 0, mx, np.nan)
    if population is not None:
        pop = np.nan_to_num(np.asarray(population, dtype=float).reshape(-1)[inside], nan=0.0)
        tot = np.bincount(a, weights=pop, minlength=n)
        pr = np.bincount(a[ok], weights=pop[ok], minlength=n)
        out["population"] = tot
        out["population_unreachable"] = tot - pr
        with np.errstate(invalid="ignore", divide="ignore"):
            out["pop_weighted_mean_min"] = np.where(pr > 0, np.bincount(a[ok], weights=pop[ok] * tv[ok],
                                                                       minlength=n) / pr, np.nan)
            for b in bands:
                w = np.bincount(a[ok], weights=pop[ok] * (tv[ok] <= b), minlength=n)
                out[f"share_pop_within_{b:g}_min"] = np.where(tot > 0, w / tot, np.nan)
    return out


def _group_median(group: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Median of ``values`` per group ``0..n-1`` (NaN for empty groups), vectorised."""
    out = np.full(n, np.nan)
    if not len(values):
        return out
    order = np.lexsort((values, group))
    g, v = group[order], values[order]
    start = np.searchsorted(g, np.arange(n), side="left")
    cnt = np.bincount(g, minlength=n)
    has = cnt > 0
    lo = start[has] + (cnt[has] - 1) // 2
    hi = start[has] + cnt[has] // 2
    out[has] = 0.5 * (v[lo] + v[hi])
    return out


def surface_file(tier: str) -> str:
    """File name of a tier's travel-time surface in an output folder: ``surface_<tier>.tif``."""
    from .outputs import surface_file as name

    return name(tier)


def population_by_band(minutes: np.ndarray, grid: GridSpec, *, population: np.ndarray | None = None,
                       within: np.ndarray | None = None, bands_min: Sequence[float] | None = None) -> pd.DataFrame:
    """Land and population by travel-time band: the figures behind a population-by-band chart.

    One row per band, in order: ``band`` (``"0-30"``, ``"30-60"``, ..., ``">240"``,
    ``"unreachable"``), ``lower_min`` / ``upper_min`` (NaN for the open and unreachable bands),
    ``cells``, ``area_km2``, ``share_area`` and, with ``population`` (per cell), ``population``
    and ``share_population`` (NaN without it). ``within`` (flat boolean per cell) restricts the
    count to the study's areas; default every cell of the grid. Bands hold times ``lower <
    t <= upper`` (the first from 0).
    """
    bands = _bands(bands_min)
    t = np.asarray(minutes, dtype=float).reshape(-1)
    keep = np.ones(len(t), dtype=bool) if within is None else np.asarray(within, dtype=bool).reshape(-1)
    t = t[keep]
    pop = None if population is None else np.nan_to_num(np.asarray(population, dtype=float).reshape(-1)[keep])
    edges = [0.0, *bands]
    reach = np.isfinite(t)
    # band k holds edges[k-1] < t <= edges[k]; t == 0 falls in the first band
    k = np.where(reach, np.searchsorted(np.asarray(bands), t, side="left"), len(bands) + 1)
    names = [f"{edges[i]:g}-{edges[i + 1]:g}" for i in range(len(bands))] + [f">{bands[-1]:g}", "unreachable"]
    lower = [*edges[:-1], np.nan, np.nan]
    upper = [*bands, np.nan, np.nan]
    cells = np.bincount(k, minlength=len(names))
    cell_km2 = grid.res[0] * grid.res[1] / 1e6
    out = pd.DataFrame({"band": names, "lower_min": lower, "upper_min": upper, "cells": cells,
                        "area_km2": cells * cell_km2})
    total_cells = max(int(cells.sum()), 1)
    out["share_area"] = cells / total_cells
    if pop is not None and pop.sum() > 0:
        p = np.bincount(k, weights=pop, minlength=len(names))
        out["population"] = p
        out["share_population"] = p / pop.sum()
    else:
        out["population"] = np.nan
        out["share_population"] = np.nan
    return out


@dataclass
class SurfaceFigures:
    """Every tier's surface and its figures (see :func:`surface_figures`)."""

    minutes: dict[str, np.ndarray]
    bands: pd.DataFrame
    zonal: pd.DataFrame | None
    description: dict[str, Any]


def surface_figures(surface: Surface, tiers: Mapping[str, gpd.GeoDataFrame], *,
                    areas: gpd.GeoDataFrame | None = None, area_id: str | None = None,
                    population: np.ndarray | None = None,
                    bands_min: Sequence[float] | None = None) -> SurfaceFigures:
    """Minutes from every cell to each tier, statistics per area and land/population by band.

    ``bands`` (one table, column ``tier`` first) counts the cells inside the areas when areas
    are given (the study's land), else the whole grid; ``zonal`` is None without areas.
    ``population`` is per cell (:func:`population_grid` of the localities).
    """
    minutes = {tier: surface.travel_times(dests)[0] for tier, dests in tiers.items()}
    labels = area_labels(surface.grid, areas) if areas is not None and len(areas) else None
    within = labels > 0 if labels is not None else None
    bands = pd.concat([population_by_band(m, surface.grid, population=population, within=within,
                                          bands_min=bands_min).assign(tier=tier)
                       for tier, m in minutes.items()], ignore_index=True)
    bands = bands[["tier", *[c for c in bands.columns if c != "tier"]]]
    zonal = None
    if areas is not None and labels is not None:
        zonal = pd.concat([zonal_travel_times(m, surface.grid, areas, id_col=area_id, population=population,
                                              bands_min=bands_min, labels=labels).assign(tier=tier)
                           for tier, m in minutes.items()], ignore_index=True)
        zonal = zonal[["tier", *[c for c in zonal.columns if c != "tier"]]]
    return SurfaceFigures(minutes, bands, zonal, surface.describe())


def cog_tags(surface: Surface, tier: str, n_destinations: int) -> dict[str, Any]:
    """The metadata written into a tier's travel-time raster."""
    desc = surface.describe()
    return {"tier": tier, "destinations": n_destinations, "terrain": desc["terrain"], "moves": desc["moves"],
            "resolution_m": desc["resolution_m"], "roads": desc.get("roads"),
            "barriers": desc.get("barriers"), "waterways": bool(desc.get("waterways")),
            "points_sit_in": desc["points_sit_in"]}


def write_surface_outputs(surface: Surface, tiers: Mapping[str, gpd.GeoDataFrame], folder: PathLike, *,
                          localities: gpd.GeoDataFrame | None = None, areas: Any = None,
                          area_id: str | None = None, overwrite: bool = False) -> list[str]:
    """Compute every tier's surface (and the localities' trips, the zonal statistics), then write
    them into ``folder``: ``surface_<tier>.tif`` (COG), ``surface.json`` (how the surface was
    built), ``surface_bands.csv`` (land and population by band), ``surface_localities.gpkg`` and
    ``surface_zonal.csv``. Nothing is written before everything is computed; each file is
    written atomically."""
    import json
    from pathlib import Path

    from . import outputs
    from ._io import write_table

    out = Path(folder)
    table = locality_times(surface, localities, tiers) if localities is not None else None
    pop = None
    if localities is not None and "population" in localities and localities["population"].notna().any():
        pop = population_grid(localities, surface.grid)
    area_gdf = read_vector(areas, "areas") if areas is not None else None
    fig = surface_figures(surface, tiers, areas=area_gdf, area_id=area_id, population=pop)
    written = []
    for tier, m in fig.minutes.items():
        path = out / surface_file(tier)
        write_surface_cog(m, surface.grid, path, overwrite=overwrite, tags=cog_tags(surface, tier, len(tiers[tier])))
        written.append(str(path))
    with atomic_output(out / outputs.SURFACE_JSON, overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps({"surface": fig.description,
                                   "tiers": {t: {"destinations": len(d)} for t, d in tiers.items()}},
                                  indent=2, default=str), "utf-8")
    written.append(str(out / outputs.SURFACE_JSON))
    write_table(fig.bands, out / outputs.SURFACE_BANDS, overwrite=overwrite)
    written.append(str(out / outputs.SURFACE_BANDS))
    if table is not None:
        write_table(table, out / outputs.SURFACE_LOCALITIES, overwrite=overwrite, layer="localities")
        written.append(str(out / outputs.SURFACE_LOCALITIES))
    if fig.zonal is not None:
        write_table(fig.zonal, out / outputs.SURFACE_ZONAL, overwrite=overwrite)
        written.append(str(out / outputs.SURFACE_ZONAL))
    return written

__all__ = [
    "LEG_COLUMNS", "MOVES", "MOVE_SET_ERROR", "REASON_CUT_OFF", "REASON_IN_BARRIER", "REASON_NO_DESTINATION",
    "REASON_OUTSIDE_GRID", "ROADS", "TOBLER", "BoatProfile", "RiverLevels", "Surface", "SurfaceFigures",
    "SurfaceInputs", "SurfaceOptions", "WaterwaySpec", "area_labels", "build_surface", "cog_tags", "decode_modes", "load_boat_profile",
    "locality_times", "offroad_description", "population_by_band", "population_grid", "sample_minutes",
    "settlements", "surface_access", "surface_figures", "surface_file", "surface_for", "surface_from_rasters",
    "write_surface_cog", "write_surface_outputs", "zonal_travel_times"]
