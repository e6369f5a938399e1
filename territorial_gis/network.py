"""The network stage: build road networks from OSM files, road line layers or osmnx, and open them.

One entry point per way in: :func:`build_network` (an OSM ``.osm.pbf``/``.osm``/``.osm.gz``/
``.osm.bz2`` file read with pyosmium or the compiled reader, or road line layers),
:func:`network_from_place`/:func:`network_from_bbox`/:func:`network_from_polygon` (osmnx,
online), :meth:`RoadNetwork.from_networkx` (any osmnx-compatible graph), :func:`load_network`
(a saved network) and :func:`open_network` (a saved network or a source built on the fly, what
every command takes).

Where the pieces live: :class:`RoadNetwork` and its save/load in :mod:`territorial_gis._roadnet`;
the builders in :mod:`territorial_gis._osm` (OSM files), :mod:`territorial_gis._layers` (line
layers, with :mod:`territorial_gis._layer_schema` for attributes and
:mod:`territorial_gis._layer_topology` for topology repair) and :mod:`territorial_gis._nxgraph`
(networkx graphs). None of them imports this module.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._crs import check_bbox
from ._io import check_input
from ._layers import network_from_layer
from ._osm import is_osm_file, network_from_osm_file
from ._roadattrs import OSM_SEASON_KEYS
from ._roadnet import NATIVE_SUFFIX, Bounds, RoadNetwork, load_network
from ._vector import clip_area
from .errors import ConfigError, InputFileError, NetworkError
from .speeds import Profile, assign_speeds, load_profile

__all__ = ["LAYER_SUFFIXES", "NATIVE_SUFFIX", "Bounds", "RoadNetwork", "build_network", "load_network",
           "network_from_bbox", "network_from_place", "network_from_polygon", "open_network"]

log = logging.getLogger(__name__)

LAYER_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".parquet", ".geoparquet", ".fgb", ".zip")


def build_network(source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *,
                  profile: str | os.PathLike[str] | Profile | None = None, mode: str = "drive",
                  bbox: Sequence[float] | None = None, polygon: Any = None, largest_component: bool = True,
                  **layer_options: Any) -> RoadNetwork:
    """Build a routable road network from files on disk.

    Parameters
    ----------
    source
        An OpenStreetMap file (``.osm.pbf``, ``.osm``, ``.osm.gz``, ``.osm.bz2``), read with
        the compiled PBF reader or pyosmium; or one or several road line layers (GeoPackage,
        Shapefile, GeoJSON, GeoParquet, FlatGeobuf), joined into one network.
    profile
        Speed profile TOML file or :class:`~territorial_gis.speeds.Profile`; default the shipped
        profile for ``mode``.
    mode
        ``"drive"`` or ``"walk"`` (used when ``profile`` is None).
    bbox, polygon
        Optional clip (west, south, east, north in degrees, or a shapely polygon / GeoSeries);
        both given: their intersection.
    largest_component
        Keep only the largest strongly connected component (what is dropped is reported, with a
        warning above ``settings.component_warn_share``). With False every component is kept:
        places that cannot reach a destination get NaN and the reason ``disconnected``.
    **layer_options
        Options of line layers (``layer``, ``schema``, ``crossings``, ``snap_tolerance_m``,
        ``unmapped``, ``default_class``, ``season``), see
        :func:`territorial_gis._layers.network_from_layer`; refused for an OSM file.

    Raises
    ------
    InputFileError, ConfigError, NetworkError, CRSError, ColumnError
        The message names the file, option, column or value.
    """
    t0 = time.perf_counter()
    several = not isinstance(source, (str, os.PathLike))
    given: list[str | os.PathLike[str]] = list(source) if not isinstance(source, (str, os.PathLike)) else [source]
    paths = [check_input(p, "road network source") for p in given]
    if not paths:
        raise ConfigError("no road network source given")
    prof = load_profile(profile, mode=mode) if not isinstance(profile, Profile) else profile
    if bbox is not None:
        check_bbox(bbox)
    osm = [p for p in paths if is_osm_file(p)]
    if osm and len(paths) > 1:
        raise ConfigError(f"{osm[0]}: an OSM file is built on its own; several sources must all be line layers "
                          f"({', '.join(LAYER_SUFFIXES)})")
    if osm:
        if layer_options:
            raise ConfigError(f"{osm[0]}: options {', '.join(sorted(layer_options))} apply to road line layers, "
                              f"not to OSM files")
        net = network_from_osm_file(paths[0], prof, area=clip_area(bbox, polygon), largest_component=largest_component)
    else:
        other = [p for p in paths if p.suffix.lower() not in LAYER_SUFFIXES]
        if other:
            raise InputFileError(f"{other[0]}: unknown road network format; expected an OSM file "
                                 f"(.osm.pbf, .osm, .osm.gz, .osm.bz2) or a line layer ({', '.join(LAYER_SUFFIXES)})")
        net = network_from_layer(paths if several else paths[0], profile=prof, mode=prof.mode, bbox=bbox,
                                 polygon=polygon, largest_component=largest_component, **layer_options)
    net.meta.update({"source": [str(p) for p in paths] if several else str(paths[0]), "mode": prof.mode,
                     "profile": prof.source, "walk_speed_kph": prof.walk_speed_kph,
                     "build_seconds": round(time.perf_counter() - t0, 3)})
    log.info("built %r in %.2f s", net, time.perf_counter() - t0)
    return net


def open_network(source: str | os.PathLike[str], profile: Any = None, mode: str = "drive") -> RoadNetwork:
    """A network from a saved file (``.tgnet``, or a ``.gpkg`` with layers ``nodes``/``edges``)
    or built on the fly from an OSM file or a road line layer (see :func:`build_network`)."""
    p = check_input(source, "network")
    suffix = p.suffix.lower()
    if suffix == NATIVE_SUFFIX:
        return load_network(p)
    if suffix == ".gpkg":
        import pyogrio

        try:
            layers = {name for name, _ in pyogrio.list_layers(p)}
        except Exception as exc:  # noqa: BLE001 - GDAL raises many kinds
            raise InputFileError(f"{p}: not a readable GeoPackage ({exc})") from None
        if {"nodes", "edges"} <= layers:
            return load_network(p)
    return build_network(p, profile=profile, mode=mode)


# ---------------------------------------------------------------------- osmnx (online)
def _from_osmnx_graph(G: Any, profile: Profile, what: str) -> RoadNetwork:
    """A network of an osmnx graph (downloaded with the tags :func:`_osmnx` asks for: the seasons
    of use, fords on ways and nodes), with speeds from our model."""
    net = RoadNetwork.from_networkx(G, profile=profile)
    # re-derive speeds with our model from the OSM tags osmnx kept
    tags = net.edges
    spd = assign_speeds(tags, profile)
    net.edges["speed_kph"] = spd
    net.edges["travel_time_s"] = net.edges["length_m"] / (np.maximum(spd, 1e-9) / 3.6)
    net = net.subgraph_edges(spd > 0).largest_component().with_crs_of_nodes()
    net.meta.update({"source": what, "mode": profile.mode, "profile": profile.source,
                     "walk_speed_kph": profile.walk_speed_kph})
    return net


def _osmnx_filter(profile: Profile) -> str:
    classes = "|".join(sorted(profile.highways))
    excl = "|".join(profile.exclude_access)
    f = f'["highway"~"^({classes})$"]["area"!~"yes"]'
    if excl:
        key = "foot" if profile.mode == "walk" else "motor_vehicle"
        f += f'["access"!~"^({excl})$"]["{key}"!~"^({excl})$"]'
    if profile.exclude_service:
        f += f'["service"!~"^({"|".join(profile.exclude_service)})$"]'
    return f


def _osmnx() -> Any:
    try:
        import osmnx as ox
    except ImportError:  # pragma: no cover - depends on the install
        raise NetworkError("osmnx is needed to download networks: pip install 'territorial-gis[online]'") from None
    ox.settings.useful_tags_way = list(set(ox.settings.useful_tags_way) | {
        "surface", "tracktype", "smoothness", "maxspeed", "access", "motor_vehicle", "service", *OSM_SEASON_KEYS})
    ox.settings.useful_tags_node = list(set(ox.settings.useful_tags_node) | {"ford"})
    return ox


def network_from_place(place: str, *, profile: str | os.PathLike[str] | Profile | None = None,
                       mode: str = "drive") -> RoadNetwork:
    """Download the roads of a named place with osmnx (needs internet) and apply the speed model."""
    prof = load_profile(profile, mode=mode) if not isinstance(profile, Profile) else profile
    ox = _osmnx()
    G = ox.graph_from_place(place, custom_filter=_osmnx_filter(prof), simplify=False, retain_all=True)
    return _from_osmnx_graph(G, prof, f"osmnx place: {place}")


def network_from_bbox(bbox: Sequence[float], *, profile: str | os.PathLike[str] | Profile | None = None,
                      mode: str = "drive") -> RoadNetwork:
    """Download the roads in ``bbox`` (west, south, east, north) with osmnx (needs internet)."""
    prof = load_profile(profile, mode=mode) if not isinstance(profile, Profile) else profile
    box = check_bbox(bbox)
    ox = _osmnx()
    G = ox.graph_from_bbox(box, custom_filter=_osmnx_filter(prof), simplify=False, retain_all=True)
    return _from_osmnx_graph(G, prof, f"osmnx bbox: {box}")


def network_from_polygon(polygon: Any, *, profile: str | os.PathLike[str] | Profile | None = None,
                         mode: str = "drive") -> RoadNetwork:
    """Download the roads inside a shapely polygon (EPSG:4326) with osmnx (needs internet)."""
    prof = load_profile(profile, mode=mode) if not isinstance(profile, Profile) else profile
    ox = _osmnx()
    G = ox.graph_from_polygon(polygon, custom_filter=_osmnx_filter(prof), simplify=False, retain_all=True)
    return _from_osmnx_graph(G, prof, "osmnx polygon")
