"""Choice of a metric CRS (UTM zone of the study area)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pyproj import CRS

from .errors import CRSError


def utm_crs_for(lon: float, lat: float) -> CRS:
    """Return the WGS84 UTM zone CRS holding the point (``lon``, ``lat``) in degrees."""
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0) or math.isnan(lon) or math.isnan(lat):
        raise CRSError(f"cannot choose a UTM zone for lon={lon}, lat={lat}: not geographic degrees")
    zone = int((lon + 180.0) // 6.0) + 1
    zone = min(max(zone, 1), 60)
    epsg = (32600 if lat >= 0 else 32700) + zone
    return CRS.from_epsg(epsg)


def utm_crs_for_bounds(bounds: tuple[float, float, float, float]) -> CRS:
    """Return the UTM CRS at the centre of lon/lat ``bounds`` (west, south, east, north)."""
    w, s, e, n = bounds
    return utm_crs_for((w + e) / 2.0, (s + n) / 2.0)


def check_bbox(bbox: Sequence[float]) -> tuple[float, float, float, float]:
    """Validate a (west, south, east, north) box in degrees; ConfigError naming the value otherwise."""
    from .errors import ConfigError

    try:
        if len(bbox) != 4:
            raise ValueError
        w, s, e, n = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise ConfigError(f"bbox must be four numbers (west, south, east, north), got {bbox!r}") from None
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise ConfigError(f"bbox {list(bbox)!r} is not (west, south, east, north) in degrees with west < east "
                          f"and south < north")
    return w, s, e, n


def equal_area_crs_for_bounds(bounds: tuple[float, float, float, float]) -> CRS:
    """Lambert azimuthal equal-area CRS centred on lon/lat ``bounds`` (west, south, east, north):
    surfaces of polygons (km2, shares of land) are measured in it."""
    w, s, e, n = bounds
    return CRS.from_proj4(f"+proj=laea +lat_0={(s + n) / 2:.6f} +lon_0={(w + e) / 2:.6f} "
                          "+datum=WGS84 +units=m +no_defs")
