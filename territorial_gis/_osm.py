"""Streaming reader of OpenStreetMap files (pyosmium, C++ libosmium underneath).

Reads the ways a profile may route on, with node locations, into flat numpy arrays, and
splits them into graph edges at intersections (nodes shared by several ways or repeated
within one) and at way ends, keeping the intermediate nodes as edge geometry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputFileError, NetworkError
from .speeds import Profile

log = logging.getLogger(__name__)

OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.gz", ".osm.bz2", ".osm.xml", ".xml")
TAG_KEYS = ("highway", "name", "ref", "surface", "tracktype", "smoothness", "maxspeed", "oneway",
            "junction", "access", "motor_vehicle", "motorcar", "vehicle", "foot", "service", "area",
            "bridge", "tunnel", "lanes")
_FORWARD = {"yes", "true", "1"}
_BACKWARD = {"-1", "reverse"}


@dataclass
class WayArrays:
    """Routable ways as flat arrays: ``refs``/``lon``/``lat`` of every way node, concatenated,
    with ``offsets`` (n_ways + 1) and one tag table row per way."""

    refs: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    offsets: np.ndarray
    way_id: np.ndarray
    tags: pd.DataFrame


def is_osm_file(path: Path) -> bool:
    """Whether ``path`` has a suffix of an OSM file (pbf, xml, gz/bz2-compressed xml)."""
    name = path.name.lower()
    return any(name.endswith(s) for s in OSM_SUFFIXES)


def _way_allowed(tags: dict[str, str | None], profile: Profile) -> bool:
    hw = tags.get("highway")
    if hw is None or hw not in profile.highway_speed_kph:
        return False
    if tags.get("area") == "yes":
        return False
    if tags.get("service") in profile.exclude_service:
        return False
    keys = ("foot", "access") if profile.mode == "walk" else ("motorcar", "motor_vehicle", "vehicle", "access")
    for key in keys:  # most specific first: its value decides
        value = tags.get(key)
        if value is None:
            continue
        if value in profile.exclude_access:
            return False
        return True
    return True


def read_ways(path: Path, profile: Profile) -> WayArrays:
    """Read the ways of ``path`` that ``profile`` may route on.

    Ways are pre-filtered in C++ (libosmium tag filter on the profile's highway classes);
    Python only sees candidate ways and reads the few tags the speed model needs.

    Raises
    ------
    InputFileError
        The file is not a readable OSM file (corrupt, truncated, wrong format).
    NetworkError
        The file holds no routable way.
    """
    import osmium

    points: list[tuple[int, float, float]] = []
    offsets = [0]
    way_ids: list[int] = []
    rows: list[tuple[str | None, ...]] = []
    n_seen = 0
    n_missing = 0
    keys = TAG_KEYS
    try:
        fp = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
              .with_locations()
              .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
              .with_filter(osmium.filter.TagFilter(*[("highway", h) for h in sorted(profile.highways)])))
        for obj in fp:
            way: Any = obj  # the entity filter lets only ways through
            n_seen += 1
            get = way.tags.get
            row = tuple(get(k) for k in keys)
            if not _way_allowed(dict(zip(keys, row, strict=True)), profile):
                continue
            try:
                pts = [(nd.ref, nd.lon, nd.lat) for nd in way.nodes]
            except osmium.InvalidLocationError:
                pts = [(nd.ref, nd.lon, nd.lat) for nd in way.nodes if nd.location.valid()]
                n_missing += len(way.nodes) - len(pts)
            if len(pts) < 2:
                continue
            points.extend(pts)
            offsets.append(len(points))
            way_ids.append(way.id)
            rows.append(row)
    except RuntimeError as exc:
        raise InputFileError(f"{path}: not a readable OpenStreetMap file ({exc})") from None
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{path}: cannot read OpenStreetMap data ({exc})") from None
    if n_missing:
        log.warning("%s: %d way nodes have no location in the extract (dropped)", path, n_missing)
    if not way_ids:
        raise NetworkError(f"{path}: no routable way for mode '{profile.mode}' "
                           f"({n_seen} ways of the profile's highway classes in the file)")
    log.info("%s: %d routable ways in mode '%s'", path.name, len(way_ids), profile.mode)
    refs = np.fromiter((p[0] for p in points), dtype=np.int64, count=len(points))
    lon = np.fromiter((p[1] for p in points), dtype=np.float64, count=len(points))
    lat = np.fromiter((p[2] for p in points), dtype=np.float64, count=len(points))
    return WayArrays(
        refs=refs, lon=lon, lat=lat, offsets=np.asarray(offsets, dtype=np.int64),
        way_id=np.asarray(way_ids, dtype=np.int64),
        tags=pd.DataFrame(rows, columns=list(TAG_KEYS), dtype=object),
    )


def oneway_direction(tags: pd.DataFrame, mode: str) -> np.ndarray:
    """+1 forward only, -1 backward only, 0 both ways, per way."""
    n = len(tags)
    if mode == "walk":
        return np.zeros(n, dtype=np.int8)
    ow = tags["oneway"].astype(object).fillna("").str.lower()
    junction = tags["junction"].astype(object).fillna("")
    out = np.zeros(n, dtype=np.int8)
    out[ow.isin(_FORWARD).to_numpy()] = 1
    out[ow.isin(_BACKWARD).to_numpy()] = -1
    out[(junction.isin(["roundabout", "circular"]) & ~ow.isin(["no", "false", "0"])).to_numpy()
        & (out == 0)] = 1
    return out


@dataclass
class SplitEdges:
    """Undirected edges from splitting ways: node refs at each end, the way they come from,
    and the span of their vertices in the flat way arrays (``start``..``end`` inclusive)."""

    u_ref: np.ndarray
    v_ref: np.ndarray
    way_index: np.ndarray
    start: np.ndarray
    end: np.ndarray


def split_ways(ways: WayArrays) -> SplitEdges:
    """Split ways at intersections (refs used more than once) and at their ends (vectorised)."""
    n_pts = len(ways.refs)
    counts_unique, inverse, counts = np.unique(ways.refs, return_inverse=True, return_counts=True)
    del counts_unique
    is_node = counts[inverse] > 1
    is_node[ways.offsets[:-1]] = True
    is_node[ways.offsets[1:] - 1] = True
    way_of_pt = np.repeat(np.arange(len(ways.way_id)), np.diff(ways.offsets))
    pos = np.flatnonzero(is_node)
    same_way = way_of_pt[pos[:-1]] == way_of_pt[pos[1:]]
    start = pos[:-1][same_way]
    end = pos[1:][same_way]
    assert n_pts == len(way_of_pt)
    return SplitEdges(u_ref=ways.refs[start], v_ref=ways.refs[end], way_index=way_of_pt[start],
                      start=start, end=end)


def write_routable_xml(source: Path | str, out: Path | str, profile: Profile) -> None:
    """Write the ways ``profile`` may route on, with their nodes, as OSM XML.

    Gives other tools (osmnx's ``graph_from_xml``, which does not filter ways) the same input
    as :func:`read_ways`; used by the tests and benchmarks that compare builders.
    """
    import osmium

    keep: set[int] = set()
    ways = osmium.FileProcessor(str(source), osmium.osm.WAY).with_filter(osmium.filter.KeyFilter("highway"))
    for obj in ways:
        w: Any = obj
        if _way_allowed(dict(w.tags), profile):
            keep.update(n.ref for n in w.nodes)
    writer = osmium.SimpleWriter(str(out))
    try:
        for entity in osmium.FileProcessor(str(source), osmium.osm.NODE | osmium.osm.WAY):
            o: Any = entity
            if o.is_node() and o.id in keep:
                writer.add_node(o)
            elif o.is_way() and "highway" in o.tags and _way_allowed(dict(o.tags), profile):
                writer.add_way(o)
    finally:
        writer.close()
