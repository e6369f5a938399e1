"""Vector layers on disk: read a layer (any CRS, any OGR format or GeoParquet), list its
columns without reading it, and turn a bbox / polygon option into a clip area.

Used by the line-layer builder (:mod:`territorial_gis._layers`), the OSM builder (clip area)
and the stages that read polygon files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shapely

from ._crs import check_bbox
from ._io import check_input
from .errors import ConfigError, CRSError, InputFileError

if TYPE_CHECKING:
    import geopandas as gpd


def _read_info(path: Path, layer: str | None) -> tuple[str | None, dict[str, Any]]:
    import pyogrio

    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise InputFileError(f"{path}: not a readable vector layer ({exc})") from None
    names = [str(r[0]) for r in layers]
    if layer is not None:
        if layer not in names:
            raise InputFileError(f"{path}: no layer '{layer}'; layers: {', '.join(names)}")
    elif len(names) > 1:
        lines = [str(r[0]) for r in layers if r[1] is None or "line" in str(r[1]).lower()]
        if len(lines) != 1:
            raise InputFileError(f"{path} holds {len(names)} layers ({', '.join(names)}): "
                                 f"choose one with layer=")
        layer = lines[0]
    try:
        info = pyogrio.read_info(path, layer=layer)
    except Exception as exc:
        raise InputFileError(f"{path}: cannot read layer {layer or '(first)'} ({exc})") from None
    return layer, info


def read_layer(source: str | os.PathLike[str], layer: str | None = None,
               columns: Sequence[str] | None = None, what: str = "road line layer") -> gpd.GeoDataFrame:
    """Read a vector layer (GeoPackage, Shapefile, GeoJSON, GeoParquet, FlatGeobuf) as is;
    ``what`` names it in messages.

    Raises
    ------
    InputFileError
        Unreadable file or unknown layer.
    CRSError
        The layer has no CRS.
    """
    import geopandas as gpd

    path = check_input(source, what)
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        try:
            gdf = gpd.read_parquet(path)
        except Exception as exc:
            raise InputFileError(f"{path}: not a readable GeoParquet file ({exc})") from None
    else:
        import pyogrio

        layer, info = _read_info(path, layer)
        if not info.get("crs"):
            raise CRSError(f"{path}: the layer has no CRS (add a .prj / set the CRS, e.g. EPSG:4326)")
        try:
            gdf = pyogrio.read_dataframe(path, layer=layer, columns=columns)
        except Exception as exc:
            raise InputFileError(f"{path}: cannot read layer {layer or '(first)'} ({exc})") from None
    if gdf.crs is None:
        raise CRSError(f"{path}: the layer has no CRS (add a .prj / set the CRS, e.g. EPSG:4326)")
    return gdf


def layer_columns(path: Path, layer: str | None) -> list[str]:
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        import pyarrow.parquet as pq

        try:
            names = pq.read_schema(path).names
        except Exception as exc:
            raise InputFileError(f"{path}: not a readable GeoParquet file ({exc})") from None
        return [n for n in names if n != "geometry"]
    _layer, info = _read_info(path, layer)
    if not info.get("crs"):
        raise CRSError(f"{path}: the layer has no CRS (add a .prj / set the CRS, e.g. EPSG:4326)")
    return [str(f) for f in info["fields"]]



def clip_area(bbox: Sequence[float] | None, polygon: Any) -> shapely.Geometry | None:
    """The area (EPSG:4326) a network is clipped to: a box, a polygon, or their intersection.

    ``polygon`` may be a shapely (Multi)Polygon in EPSG:4326, a GeoSeries/GeoDataFrame (any
    CRS) or a polygon file. None when neither is given.

    Raises
    ------
    ConfigError
        A bbox that is not (west, south, east, north) in degrees, or an empty / non-polygon area.
    """
    areas = []
    if bbox is not None:
        areas.append(shapely.box(*check_bbox(bbox)))
    if polygon is not None:
        poly = polygon
        if isinstance(poly, (str, os.PathLike)):
            poly = read_layer(poly, what="clip polygon file")
        if hasattr(poly, "union_all"):  # GeoSeries / GeoDataFrame
            poly = poly.to_crs(4326).union_all() if getattr(poly, "crs", None) else poly.union_all()
        if not isinstance(poly, shapely.Geometry) or poly.is_empty:
            raise ConfigError("polygon must be a shapely (Multi)Polygon in EPSG:4326, a GeoSeries or a file")
        areas.append(poly)
    if not areas:
        return None
    return areas[0] if len(areas) == 1 else shapely.intersection(areas[0], areas[1])
