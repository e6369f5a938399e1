"""Terrain indicators on the embedded SRTM DEM of Porto Alegre (real data) and raster errors."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from pyproj import Geod, Transformer
from rasterio.transform import from_origin
from rasterio.warp import Resampling, calculate_default_transform, reproject
from shapely.geometry import box
from territorial_gis.data import data_path

from territorial_gis.errors import RasterError
from territorial_gis.terrain import (
    add_raster_indicators,
    cell_size_m,
    measure_terrain,
    read_window,
    sample_rasters,
    slope_degrees,
    terrain_ruggedness_index,
    zonal_stats,
)

DEM = data_path("porto_alegre", "poa_elevation.tif")
GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="session")
def dem() -> dict:
    with rasterio.open(DEM) as src:
        return {"z": src.read(1).astype("float64"), "transform": src.transform, "crs": src.crs,
                "profile": src.profile}


@pytest.fixture(scope="session")
def slope(dem: dict) -> np.ndarray:
    return slope_degrees(DEM)


@pytest.fixture(scope="session")
def hex_points() -> gpd.GeoDataFrame:
    hx = pd.read_csv(data_path("porto_alegre", "poa_hexgrid.csv"))
    return gpd.GeoDataFrame(hx, geometry=gpd.points_from_xy(hx.lon, hx.lat), crs=4326)


def _write(path: Path, arr: np.ndarray, transform, crs, nodata=None) -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0], count=1,
                       dtype=arr.dtype, transform=transform, crs=crs, nodata=nodata) as dst:
        dst.write(arr, 1)
    return path


# --- metric cell sizes and slope --------------------------------------------------------------


def test_cell_size_of_geographic_dem_matches_geodesic_distances(dem: dict) -> None:
    tr = dem["transform"]
    dx, dy = cell_size_m(tr, dem["crs"], dem["z"].shape[0])
    for row in (0, 200, 402):
        lat = tr.f + tr.e * (row + 0.5)
        lon = tr.c + tr.a * 100.5
        _az, _baz, d_ew = GEOD.inv(lon - tr.a / 2, lat, lon + tr.a / 2, lat)
        _az, _baz, d_ns = GEOD.inv(lon, lat - tr.e / 2, lon, lat + tr.e / 2)
        # 1 arc-second at 30 deg S: ~26.8 m east-west, ~30.8 m north-south
        assert dx[row] == pytest.approx(d_ew, rel=1e-6)
        assert dy[row] == pytest.approx(d_ns, rel=1e-5)
    assert 26.7 < dx.mean() < 26.9 and 30.7 < dy.mean() < 30.9


def test_slope_matches_horn_with_geodesic_spacing_by_hand(dem: dict, slope: np.ndarray) -> None:
    """Independent computation: Horn's formula with cell spacings from pyproj.Geod (ellipsoid
    geodesics between neighbouring cell centres), on a few real cells. Tolerance 0.01 degree."""
    z, tr = dem["z"], dem["transform"]
    cells = [(50, 60), (120, 300), (200, 200), (300, 100), (380, 390)]
    checked = 0
    for r, c in cells:
        win = z[r - 1:r + 2, c - 1:c + 2]
        (a, b, cc), (d, _e, f), (g, h, i) = win
        lon_w = tr.c + tr.a * (c - 0.5)
        lon_e = tr.c + tr.a * (c + 1.5)
        lat = tr.f + tr.e * (r + 0.5)
        dx = GEOD.inv(lon_w, lat, lon_e, lat)[2] / 2.0
        lon = tr.c + tr.a * (c + 0.5)
        dy = GEOD.inv(lon, tr.f + tr.e * (r - 0.5), lon, tr.f + tr.e * (r + 1.5))[2] / 2.0
        gx = ((cc + 2 * f + i) - (a + 2 * d + g)) / (8 * dx)
        gy = ((g + 2 * h + i) - (a + 2 * b + cc)) / (8 * dy)
        expected = math.degrees(math.atan(math.hypot(gx, gy)))
        assert slope[r, c] == pytest.approx(expected, abs=0.01)
        checked += expected > 0.5
    assert checked >= 3  # the cells are not all flat, so the check means something


def test_slope_matches_utm_reprojection_with_numpy_gradient(dem: dict, slope: np.ndarray) -> None:
    """Independent computation: warp the DEM to UTM 22S at 30 m (bilinear) and take
    np.gradient (central differences). Different grid, resampling and stencil, so the
    agreement is statistical: mean slope within 3 %, median |difference| < 0.5 deg,
    correlation > 0.95 (measured: 4.49 vs 4.44 deg, 0.35 deg, 0.983)."""
    z, tr, crs = dem["z"], dem["transform"], dem["crs"]
    h, w = z.shape
    utm = "EPSG:32722"
    left, top = tr.c, tr.f
    right, bottom = left + tr.a * w, top + tr.e * h
    utr, uw, uh = calculate_default_transform(crs, utm, w, h, left, bottom, right, top, resolution=30)
    zu = np.full((uh, uw), np.nan)
    reproject(z, zu, src_transform=tr, src_crs=crs, dst_transform=utr, dst_crs=utm,
              resampling=Resampling.bilinear, dst_nodata=np.nan)
    gy, gx = np.gradient(zu, 30.0)
    su = np.degrees(np.arctan(np.hypot(gx, gy)))
    rows, cols = np.mgrid[5:h - 5:3, 5:w - 5:3]
    xs, ys = rasterio.transform.xy(tr, rows.ravel(), cols.ravel())
    ux, uy = Transformer.from_crs(4326, 32722, always_xy=True).transform(np.array(xs), np.array(ys))
    cu = (ux - utr.c) / utr.a
    ru = (uy - utr.f) / utr.e
    a = slope[rows.ravel(), cols.ravel()]
    b = su[np.floor(ru).astype(int), np.floor(cu).astype(int)]
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    assert ok.sum() > 15000
    assert a.mean() == pytest.approx(b.mean(), rel=0.03)
    assert np.median(np.abs(a - b)) < 0.5
    assert np.corrcoef(a, b)[0, 1] > 0.95
    # treating degrees as if cells were square (no cos(lat)) would bias slopes: our E-W
    # spacing really is ~13 % shorter than N-S at 30 deg S
    assert slope.mean() > 4.0


def test_slope_of_synthetic_plane_in_projected_crs_is_exact() -> None:
    """Synthetic (labelled): a plane rising 1 m per 10 m eastward on a 5 m UTM grid."""
    x = np.arange(20) * 5.0
    z = np.tile(0.1 * x, (15, 1))
    s = slope_degrees(z, from_origin(500000, 6650000, 5, 5), "EPSG:32722")
    assert np.allclose(s[:, 1:-1], math.degrees(math.atan(0.1)), atol=1e-9)
    # a CRS in US survey feet: same numbers are 5 ft cells, so 3.28x steeper gradient
    s_ft = slope_degrees(z, from_origin(0, 0, 5, 5), "EPSG:2227")
    assert s_ft[5, 5] == pytest.approx(math.degrees(math.atan(0.1 / 0.3048006096)), abs=1e-6)


def test_ruggedness_index_by_hand(dem: dict) -> None:
    z = dem["z"]
    tri = terrain_ruggedness_index(DEM)
    r, c = 120, 300
    win = z[r - 1:r + 2, c - 1:c + 2]
    expected = math.sqrt(float(((win - win[1, 1]) ** 2).sum()))
    assert tri[r, c] == pytest.approx(expected)
    assert tri.shape == z.shape and np.nanmax(tri) > 10


# --- sampling and zonal statistics -----------------------------------------------------------


def test_sample_rasters_reprojects_points(dem: dict, hex_points: gpd.GeoDataFrame) -> None:
    pts = hex_points.iloc[:200]
    out = sample_rasters(pts, {"elevation_m": DEM})
    with rasterio.open(DEM) as src:
        rc = [src.index(x, y) for x, y in zip(pts.lon, pts.lat, strict=True)]
    expected = np.array([dem["z"][r, c] if 0 <= r < 403 and 0 <= c < 413 else np.nan for r, c in rc])
    np.testing.assert_array_equal(out["elevation_m"].to_numpy(), expected)
    # the same points given in UTM get the same values
    utm = sample_rasters(pts.to_crs(32722), {"elevation_m": DEM})
    assert (utm["elevation_m"].to_numpy() == out["elevation_m"].to_numpy()).mean() > 0.99


def test_zonal_stats_over_cell_aligned_box_and_nodata(dem: dict, tmp_path: Path) -> None:
    tr = dem["transform"]
    r0, r1, c0, c1 = 100, 140, 200, 250
    poly = box(tr.c + tr.a * c0, tr.f + tr.e * r1, tr.c + tr.a * c1, tr.f + tr.e * r0)
    gdf = gpd.GeoDataFrame({"name": ["box"]}, geometry=[poly], crs=4326)
    zs = zonal_stats(gdf, DEM, stats=("mean", "max", "count"), prefix="elev")
    block = dem["z"][r0:r1, c0:c1]
    assert zs.loc[0, "elev_mean"] == pytest.approx(block.mean())
    assert zs.loc[0, "elev_max"] == block.max()
    assert zs.loc[0, "elev_count"] == block.size
    # reprojected polygon (UTM): nearly the same cells
    zs_utm = zonal_stats(gdf.to_crs(32722), DEM, stats=("mean",), prefix="elev")
    assert zs_utm.loc[0, "elev_mean"] == pytest.approx(block.mean(), rel=0.02)
    # nodata: the same DEM with 0 (Guaiba lake) declared nodata -> zeros ignored
    p = _write(tmp_path / "dem_nodata0.tif", dem["z"].astype("uint8"), tr, dem["crs"], nodata=0)
    big = box(tr.c, tr.f + tr.e * 403, tr.c + tr.a * 413, tr.f)
    both = gpd.GeoDataFrame(geometry=[big], crs=4326)
    z_all = zonal_stats(both, p, stats=("mean", "count"), prefix="e")
    land = dem["z"][dem["z"] > 0]
    assert z_all.loc[0, "e_count"] == land.size
    assert z_all.loc[0, "e_mean"] == pytest.approx(land.mean())


def test_dem_indicators_for_points_and_altitude_fallback(hex_points: gpd.GeoDataFrame, slope: np.ndarray) -> None:
    pts = hex_points.iloc[:50]
    out = add_raster_indicators(pts, {"dem": DEM})
    with rasterio.open(DEM) as src:
        rc = [src.index(x, y) for x, y in zip(pts.lon, pts.lat, strict=True)]
    # slope computed on a window equals slope on the whole DEM (window padded by 2 cells)
    exp = [slope[r, c] for r, c in rc]
    np.testing.assert_allclose(out["slope_deg"].to_numpy(), exp, rtol=1e-12)
    assert "slope_deg: raster poa_elevation.tif" in out["indicator_sources"].iloc[0]
    # no DEM: an altitude column is used and the output says so
    alt = add_raster_indicators(pts.assign(altitud=np.arange(50.0)))
    assert alt["elevation_m"].tolist() == list(np.arange(50.0))
    assert "column 'altitud' (no DEM raster given)" in alt["indicator_sources"].iloc[0]
    # the sources are returned as data too, one entry per column attached
    measured = measure_terrain(pts, {"dem": DEM})
    assert measured.sources == {c: "raster poa_elevation.tif (value at the locality)"
                                for c in ("elevation_m", "slope_deg", "tri_m")}
    assert measured.frame.attrs == {}


# --- raster errors ---------------------------------------------------------------------------


def test_raster_without_crs_is_an_error(dem: dict, tmp_path: Path, hex_points: gpd.GeoDataFrame) -> None:
    p = _write(tmp_path / "nocrs.tif", dem["z"].astype("uint8"), dem["transform"], None)
    with pytest.raises(RasterError, match=r"nocrs\.tif has no CRS"):
        sample_rasters(hex_points.iloc[:5], {"z": p})


def test_raster_not_covering_the_areas_is_an_error(dem: dict, tmp_path: Path,
                                                   hex_points: gpd.GeoDataFrame) -> None:
    # the same grid moved to the Guaviare (Colombia)
    moved = from_origin(-72.6, 2.6, dem["transform"].a, -dem["transform"].e)
    p = _write(tmp_path / "elsewhere.tif", dem["z"].astype("uint8"), moved, "EPSG:4326")
    with pytest.raises(RasterError, match=r"elsewhere\.tif .* does not cover the areas"):
        sample_rasters(hex_points.iloc[:5], {"z": p})
    cells = gpd.GeoDataFrame(geometry=hex_points.iloc[:5].to_crs(32722).buffer(100), crs=32722)
    with pytest.raises(RasterError, match="does not cover"):
        zonal_stats(cells, p)


def test_all_nodata_window_is_an_error(dem: dict, tmp_path: Path) -> None:
    z = dem["z"].astype("uint8").copy()
    z[:, :200] = 255  # western part: nodata only
    p = _write(tmp_path / "half_nodata.tif", z, dem["transform"], dem["crs"], nodata=255)
    tr = dem["transform"]
    west = gpd.GeoDataFrame(geometry=gpd.points_from_xy([tr.c + tr.a * 50, tr.c + tr.a * 150],
                                                        [tr.f + tr.e * 100, tr.f + tr.e * 300]), crs=4326)
    with pytest.raises(RasterError, match=r"half_nodata\.tif holds only nodata"):
        sample_rasters(west, {"z": p})
    with pytest.raises(RasterError, match="only nodata"):
        read_window(p, (tr.c, tr.f + tr.e * 300, tr.c + tr.a * 100, tr.f))
