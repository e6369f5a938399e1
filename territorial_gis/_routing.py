"""How places reach the road and travel on it: the routing options, and the snapping every stage shares.

:class:`RouteOptions` is created once (from the command line, a study config or a script) and
passed down to every stage that routes: access, corridors, hubs, territories. The machinery
below it (where a place's coordinates are, which column is its id, snapping places onto the
road network with the off-road leg charged) lives here, under the stages, so no stage reaches
into a sibling stage for it. The compiled engine (:mod:`territorial_gis._engine`) only sees
plain numbers.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import settings
from ._engine import AugmentedGraph, Snaps, snap_point_sets
from .columns import ID_CANDIDATES, OFFROAD_METHODS, OFFROAD_SURFACE, REASON_TOO_FAR
from .errors import ColumnError, ConfigError, CRSError, RoutingError

if TYPE_CHECKING:
    import geopandas as gpd

    from ._surface import Surface, SurfaceInputs
    from .network import RoadNetwork

log = logging.getLogger(__name__)


def _default_max_snap_m() -> float:
    return float(settings.max_snap_m)


@dataclass(frozen=True)
class RouteOptions:
    """How a place reaches the road network, passed as one object to every routing stage.

    Parameters
    ----------
    max_snap_m
        A place farther than this (metres, straight line) from every road is unreachable with
        the reason ``too_far_from_road``. Default :data:`territorial_gis.settings.max_snap_m`.
    walk_kph
        Speed of the off-road leg from the place to the nearest point of the nearest road;
        None takes the network's speed profile (``walk_speed_kph``), else
        :data:`territorial_gis.settings.walk_kph`. Over a surface it is the walking speed on
        flat open ground unless the surface's own options give one.
    offroad
        How the part of a trip off the road is measured: ``"straight"`` (a straight-line walk to
        the nearest road, within ``max_snap_m``) or ``"surface"`` (over terrain, land cover,
        barriers, waterways and crossings: a place beyond the snapping limit gets a time, NaN
        only when it is truly cut off). None takes :data:`territorial_gis.settings.offroad`.
    surface
        What the surface is built from (:class:`~territorial_gis.surfaces.SurfaceInputs`: DEM,
        land cover, barriers, waterways, crossings, grid options), or a surface already built
        on the same network (reused; a surface of another network is rebuilt from its inputs).
        None with ``offroad="surface"``: flat open ground at ``walk_kph``, no barrier. Carried
        with ``offroad="straight"`` too, for the stages that draw or measure over the surface
        (travel-time rasters, the Rural Access Index's walking distance).

    Examples
    --------
    >>> opts = RouteOptions(max_snap_m=5000)
    >>> table = travel_times_to_nearest(net, localities, tiers, options=opts)  # doctest: +SKIP
    >>> rivers = SurfaceInputs(barriers=("rivers.gpkg",), waterways=(WaterwaySpec("rivers.gpkg"),))
    >>> table = travel_times_to_nearest(net, localities, tiers,
    ...                                 options=RouteOptions(offroad="surface", surface=rivers))  # doctest: +SKIP
    """

    max_snap_m: float = field(default_factory=_default_max_snap_m)
    walk_kph: float | None = None
    offroad: str | None = None
    surface: SurfaceInputs | Surface | None = None

    def __post_init__(self) -> None:
        _check_positive("maximum snap distance (max_snap_m)", self.max_snap_m)
        if self.walk_kph is not None:
            _check_positive("walking speed (walk_kph)", self.walk_kph)
        if self.offroad is not None and self.offroad not in OFFROAD_METHODS:
            raise ConfigError(f"off-road method (offroad) must be one of {', '.join(OFFROAD_METHODS)}, "
                              f"got {self.offroad!r}")

    @property
    def offroad_method(self) -> str:
        """``offroad``, or the default of :data:`territorial_gis.settings.offroad`."""
        method = self.offroad if self.offroad is not None else str(settings.offroad)
        if method not in OFFROAD_METHODS:
            raise ConfigError(f"settings.offroad must be one of {', '.join(OFFROAD_METHODS)}, got {method!r}")
        return method

    @property
    def uses_surface(self) -> bool:
        """Whether the off-road part of trips is measured over a surface."""
        return self.offroad_method == OFFROAD_SURFACE

    def walk_speed(self, network: RoadNetwork) -> float:
        """The off-road walking speed in km/h for ``network`` (see ``walk_kph``)."""
        if self.walk_kph is not None:
            return float(self.walk_kph)
        return float(network.meta.get("walk_speed_kph", settings.walk_kph))

    def replace(self, **changes: Any) -> RouteOptions:
        """A copy with some options changed."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> RouteOptions:
        """Options from a mapping (e.g. a study's ``[access]`` section: ``max_snap_m``,
        ``walk_kph``, ``offroad``; ``surface`` an inputs object); unknown keys ignored, None
        values take the defaults."""
        values = values or {}
        kw = {f.name: values[f.name] for f in dataclasses.fields(cls) if values.get(f.name) is not None}
        return cls(**kw)


def _check_positive(what: str, value: Any) -> None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ConfigError(f"{what} must be a positive number, got {value!r}")


def options_or_default(options: RouteOptions | None) -> RouteOptions:
    """``options``, or the defaults when None."""
    return RouteOptions() if options is None else options


# ---------------------------------------------------------------------------- places
@functools.lru_cache(maxsize=64)
def _is_wgs84(srs: str) -> bool:
    """Whether a CRS (given by its user-input string) is EPSG:4326 (cached: the comparison parses)."""
    from pyproj import CRS

    return bool(CRS.from_user_input(srs).equals("EPSG:4326"))


def lonlat_of(gdf: gpd.GeoDataFrame, what: str = "places") -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude arrays (EPSG:4326) of point (or representative-point) geometries."""
    if gdf.crs is None:
        raise CRSError(f"{what} have no CRS; set one (EPSG:4326 for lon/lat)")
    import shapely

    geom = gdf.geometry
    arr = geom.to_numpy()
    if len(arr) and not (shapely.get_type_id(arr) == 0).all():
        geom = geom.representative_point()
    if not _is_wgs84(gdf.crs.srs):
        geom = geom.to_crs(4326)
    xy = shapely.get_coordinates(geom.to_numpy())
    if len(xy) != len(gdf):  # empty geometries have no coordinates
        return geom.x.to_numpy(dtype=float), geom.y.to_numpy(dtype=float)
    return xy[:, 0].copy(), xy[:, 1].copy()


def ids_of(gdf: pd.DataFrame, id_col: str | None = None, candidates: Sequence[str] = ID_CANDIDATES,
           what: str = "places") -> pd.Series:
    """The identifier column of a places/destinations frame: ``id_col``, else the first of
    ``candidates`` present (``dest_id``, ``place_id``, ``id`` ...), else the index."""
    if id_col is not None:
        if id_col not in gdf:
            raise ColumnError(f"id column '{id_col}' not found on the {what}; columns: "
                              f"{', '.join(map(str, gdf.columns))}")
        return gdf[id_col]
    for c in candidates:
        if c in gdf:
            return gdf[c]
    return pd.Series(gdf.index, index=gdf.index)


# ---------------------------------------------------------------------------- snapping
def snap_places(network: RoadNetwork, places: Sequence[gpd.GeoDataFrame], options: RouteOptions,
                what: Sequence[str] | None = None) -> list[Snaps]:
    """Snap several point sets onto the network in one call (fixed costs paid once)."""
    names = list(what) if what is not None else ["places"] * len(places)
    coords = [lonlat_of(gdf, name) for gdf, name in zip(places, names, strict=True)]
    return snap_point_sets(network, coords, max_snap_m=options.max_snap_m, walk_kph=options.walk_speed(network))


def snap_checked(network: RoadNetwork, gdf: gpd.GeoDataFrame, what: str, options: RouteOptions) -> Snaps:
    """Snap points; fail with a clear message when none is near a road, warn about the far ones."""
    sn = snap_places(network, [gdf], options, [what])[0]
    if len(sn.ok) and not sn.ok.any():
        lon, lat = lonlat_of(gdf, what)
        raise RoutingError(all_too_far_message(network, lon, lat, what, options.max_snap_m))
    n_far = int((~sn.ok).sum())
    if n_far:
        log.warning("%d of %d %s are farther than %.0f m from a road (%s)", n_far, len(sn.ok), what,
                    options.max_snap_m, REASON_TOO_FAR)
    return sn


def snap_origins_and_tiers(network: RoadNetwork, origins: gpd.GeoDataFrame,
                           tiers: Mapping[str, gpd.GeoDataFrame],
                           options: RouteOptions) -> tuple[Snaps, dict[str, Snaps]]:
    """Snap origins and each tier's destinations in one call.

    Raises :class:`RoutingError` when every origin is farther than the snapping limit from a road.
    """
    names = ["localities", *(f"destinations of tier '{name}'" for name in tiers)]
    parts = snap_places(network, [origins, *tiers.values()], options, names)
    osn = parts[0]
    if len(osn.ok) and not osn.ok.any():
        olon, olat = lonlat_of(origins, "localities")
        raise RoutingError(all_too_far_message(network, olon, olat, "localities", options.max_snap_m))
    tsn: dict[str, Snaps] = {}
    for k, (name, dests) in enumerate(tiers.items(), start=1):
        tsn[name] = parts[k]
        n_far = int((~tsn[name].ok).sum())
        if n_far:
            log.warning("tier '%s': %d of %d destinations are farther than %.0f m from a road and are ignored",
                        name, n_far, len(dests), options.max_snap_m)
    return osn, tsn


def prepare_graph(network: RoadNetwork, origins: gpd.GeoDataFrame, tiers: Mapping[str, gpd.GeoDataFrame],
                  options: RouteOptions) -> tuple[AugmentedGraph, Snaps, dict[str, Snaps]]:
    """Snap origins and each tier's destinations and build one augmented graph for them all
    (for questions that need the paths, such as corridors)."""
    osn, tsn = snap_origins_and_tiers(network, origins, tiers, options)
    return AugmentedGraph(network, [osn, *tsn.values()]), osn, tsn


def snap_localities(network: RoadNetwork, localities: gpd.GeoDataFrame, extra: Sequence[gpd.GeoDataFrame] = (),
                    *, options: RouteOptions) -> AugmentedGraph:
    """Augmented graph of ``localities`` (group 0) and any ``extra`` point sets (groups 1...)."""
    names = ["localities", *(["points"] * len(extra))]
    return AugmentedGraph(network, snap_places(network, [localities, *extra], options, names))


def all_too_far_message(network: RoadNetwork, lon: np.ndarray, lat: np.ndarray, what: str,
                        max_snap_m: float) -> str:
    """Why no point of a set could be snapped: the extents of both, and a hint when lat/lon look swapped."""
    w, s, e, n = network.bounds
    fin = np.isfinite(lon) & np.isfinite(lat)
    if fin.any():
        pb = (f"points span lon {np.min(lon[fin]):.5f}..{np.max(lon[fin]):.5f}, "
              f"lat {np.min(lat[fin]):.5f}..{np.max(lat[fin]):.5f}")
    else:
        pb = "no point has coordinates"
    hint = ""
    if fin.any() and w - 1 <= np.median(lat[fin]) <= e + 1 and s - 1 <= np.median(lon[fin]) <= n + 1:
        hint = "; latitude and longitude look swapped"
    return (f"all {len(lon)} {what} are farther than {max_snap_m:.0f} m from a road of the network "
            f"(network bbox lon {w:.5f}..{e:.5f}, lat {s:.5f}..{n:.5f}; {pb}){hint}; "
            f"check that the network covers them or raise the maximum snap distance")
