"""Area units for classification: hexagon grids, H3 cells and their surface (shared by the
classification, the study's areas and the Microregions Strategy)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._crs import equal_area_crs_for_bounds
from .errors import ColumnError, ConfigError, CRSError

__all__ = ["area_km2", "make_h3_cells", "make_hex_grid"]


def _bounds_4326(bounds_or_gdf: Any) -> tuple[tuple[float, float, float, float], Any]:
    """(lon/lat bounds, union geometry in EPSG:4326 or None)."""
    if isinstance(bounds_or_gdf, gpd.GeoDataFrame | gpd.GeoSeries):
        if bounds_or_gdf.crs is None:
            raise CRSError("the layer to cover with a grid has no CRS")
        g = bounds_or_gdf.to_crs(4326)
        b = g.total_bounds
        union = g.union_all() if hasattr(g, "union_all") else g.unary_union
        return (float(b[0]), float(b[1]), float(b[2]), float(b[3])), union
    w, s, e, n = (float(v) for v in bounds_or_gdf)
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise CRSError(f"bounds {bounds_or_gdf} are not lon/lat degrees (west, south, east, north)")
    return (w, s, e, n), None


def make_hex_grid(bounds_or_gdf: Any, size_m: float) -> gpd.GeoDataFrame:
    """Pointy-top hexagons of circumradius (= edge length) ``size_m`` metres covering an area.

    Parameters
    ----------
    bounds_or_gdf : lon/lat bounds (west, south, east, north) or a layer; with a layer only
        hexagons intersecting its geometries are kept.
    size_m : hexagon edge length in metres (area = 3 sqrt(3) / 2 * size_m^2).

    Returns
    -------
    GeoDataFrame (EPSG:4326) with ``area_id`` (``hex_<row>_<col>``) and polygons built in
    the UTM zone of the area.
    """
    from shapely import Polygon, box

    from ._crs import utm_crs_for_bounds

    if not size_m > 0:
        raise ConfigError(f"hexagon size must be > 0 m, got {size_m}")
    b4326, union = _bounds_4326(bounds_or_gdf)
    utm = utm_crs_for_bounds(b4326)
    region = gpd.GeoSeries([box(*b4326)], crs=4326).to_crs(utm).total_bounds
    minx, miny, maxx, maxy = (float(v) for v in region)
    w = math.sqrt(3.0) * size_m  # column spacing
    hstep = 1.5 * size_m  # row spacing
    n_rows = int(math.ceil((maxy - miny) / hstep)) + 2
    n_cols = int(math.ceil((maxx - minx) / w)) + 2
    if n_rows * n_cols > 2_000_000:
        raise ConfigError(f"a {size_m} m hexagon grid over this area would have {n_rows * n_cols} cells; "
                          "use a larger size")
    angles = np.radians(np.arange(6) * 60.0 + 30.0)
    ux, uy = np.cos(angles) * size_m, np.sin(angles) * size_m
    polys, ids = [], []
    for r in range(n_rows):
        cy = miny + r * hstep
        off = (w / 2.0) if r % 2 else 0.0
        for c in range(n_cols):
            cx = minx + off + c * w
            polys.append(Polygon(np.column_stack([cx + ux, cy + uy])))
            ids.append(f"hex_{r}_{c}")
    grid = gpd.GeoDataFrame({"area_id": ids}, geometry=polys, crs=utm).to_crs(4326)
    if union is not None:
        grid = grid[grid.intersects(union)]
    else:
        grid = grid[grid.intersects(box(*b4326))]
    return grid.reset_index(drop=True)


def make_h3_cells(bounds_or_gdf: Any = None, resolution: int = 8,
                  cells: Iterable[str] | None = None) -> gpd.GeoDataFrame:
    """H3 cells (``h3`` package) as polygons: given ``cells`` ids, or those covering an area.

    Returns a GeoDataFrame (EPSG:4326) with ``area_id`` = the H3 index.
    """
    import h3
    from shapely import Polygon, box

    if cells is None:
        if bounds_or_gdf is None:
            raise ConfigError("make_h3_cells needs an area or a list of cells")
        if not 0 <= int(resolution) <= 15:
            raise ConfigError(f"H3 resolution must be 0..15, got {resolution}")
        b4326, union = _bounds_4326(bounds_or_gdf)
        geom = union if union is not None else box(*b4326)
        # cover by cells whose centre is inside a slightly buffered shape, then keep the intersecting ones
        pad = h3.average_hexagon_edge_length(int(resolution), unit="km") / 111.0 * 2
        shape = h3.geo_to_h3shape(geom.buffer(pad).__geo_interface__)
        ids = sorted(h3.h3shape_to_cells(shape, int(resolution)))
    else:
        ids = [str(c) for c in cells]
        bad = [c for c in ids if not h3.is_valid_cell(c)]
        if bad:
            raise ColumnError(f"not valid H3 cells: {bad[:5]}")
        geom = None
    polys = [Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(c)]) for c in ids]
    gdf = gpd.GeoDataFrame({"area_id": ids}, geometry=polys, crs=4326)
    if geom is not None:
        gdf = gdf[gdf.intersects(geom)].reset_index(drop=True)
    return gdf


def h3_cells_of(localities: gpd.GeoDataFrame, id_column: str = "place_id") -> gpd.GeoDataFrame:
    """The H3 cells whose ids are the localities' identifiers (a grid such as IPEA's aopdata), as
    polygons with ``area_id`` and the locality id (``[classify] areas = "h3"``, ``--areas h3``)."""
    ids = localities[id_column].astype(str).tolist()
    import h3

    bad = [c for c in ids if not h3.is_valid_cell(c)]
    if bad:
        raise ColumnError(f"areas 'h3' take the localities' ids as H3 cells, but column '{id_column}' holds "
                          f"{len(bad)} that are not (e.g. {', '.join(map(repr, bad[:3]))}); "
                          "use h3:RES for the H3 cells of a resolution covering them")
    return make_h3_cells(cells=ids).assign(**{id_column: localities[id_column].to_numpy()})


def area_km2(gdf: gpd.GeoDataFrame) -> pd.Series:
    """Surface of each polygon in km2, on a Lambert azimuthal equal-area projection centred on the layer."""
    if gdf.crs is None:
        raise CRSError("areas have no CRS; set one before computing surfaces")
    g = gdf.geometry.to_crs(4326)
    return g.to_crs(equal_area_crs_for_bounds(tuple(g.total_bounds))).area / 1e6
