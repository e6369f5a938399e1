"""Streaming reader of OpenStreetMap files.

Reads the ways a profile may route on, with node locations, into flat numpy arrays, and
splits them into graph edges at intersections (nodes shared by several ways or repeated
within one) and at way ends, keeping the intermediate nodes as edge geometry.

``.pbf`` files are decoded by the compiled reader :mod:`territorial_gis._pbf` (Cython, one
block at a time, no Python object per node or way); XML files (``.osm``, ``.osm.gz``,
``.osm.bz2``) and PBF files needing something it does not handle are read with pyosmium
(C++ libosmium). Both give the same arrays; the routing rules are stated once, vectorised
over the tag table (:func:`_routable`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from ._arrays import run_positions
from ._geodesy import segment_lengths_m
from ._roadattrs import OSM_SEASON_KEYS
from ._roadnet import RoadNetwork
from .errors import InputFileError, NetworkError
from .speeds import Profile, assign_speeds

log = logging.getLogger(__name__)

OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.gz", ".osm.bz2", ".osm.xml", ".xml")
TAG_KEYS = ("highway", "name", "ref", "surface", "tracktype", "smoothness", "maxspeed", "oneway",
            "junction", "access", "motor_vehicle", "motorcar", "vehicle", "foot", "service", "area",
            "bridge", "tunnel", "lanes", *OSM_SEASON_KEYS)
"""Way tags read: the routing rules and speed model, names, and the seasons of use
(``seasonal``, ``ford``, conditional access; :mod:`territorial_gis._roadattrs` says what they mean)."""
EDGE_KEYS = ("highway", "surface", "tracktype", "smoothness", "maxspeed", "name", "ref", "bridge", "tunnel")
"""Way tags every edge carries (None where the way has none)."""
NODE_TAG = "ford"
"""The node tag read with the node locations: a ford node puts its value on the edges holding it."""
_FORWARD = {"yes", "true", "1"}
_BACKWARD = {"-1", "reverse"}


@dataclass
class WayArrays:
    """Routable ways as flat arrays: ``refs``/``lon``/``lat`` of every way node, concatenated,
    with ``offsets`` (n_ways + 1), one tag table row per way, and the way nodes that are fords."""

    refs: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    offsets: np.ndarray
    way_id: np.ndarray
    tags: pd.DataFrame
    #: way nodes tagged :data:`NODE_TAG`: their positions in the flat arrays (ascending) and values
    ford_at: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    ford_value: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))


def is_osm_file(path: Path) -> bool:
    """Whether ``path`` has a suffix of an OSM file (pbf, xml, gz/bz2-compressed xml)."""
    name = path.name.lower()
    return any(name.endswith(s) for s in OSM_SUFFIXES)


class _TagColumn:
    """One tag key over many ways: ``codes`` index the distinct ``values`` (-1: no such tag)."""

    __slots__ = ("codes", "values")

    def __init__(self, codes: np.ndarray, values: list[str]) -> None:
        self.codes = codes
        self.values = values

    @classmethod
    def of(cls, items: Iterable[str | None]) -> _TagColumn:
        index: dict[str, int] = {}
        codes = np.fromiter((-1 if v is None else index.setdefault(v, len(index)) for v in items),
                            dtype=np.int32)
        return cls(codes, list(index))

    def present(self) -> np.ndarray:
        return self.codes >= 0

    def isin(self, choices: Collection[str]) -> np.ndarray:
        hit = np.zeros(len(self.values) + 1, dtype=bool)  # the last one stands for "no tag"
        hit[:-1] = [v in choices for v in self.values]
        return hit[self.codes]

    def objects(self, rows: np.ndarray) -> np.ndarray:
        """The values of ``rows`` as an object array (None: no such tag)."""
        table = np.empty(len(self.values) + 1, dtype=object)
        table[:-1] = self.values
        return table[self.codes[rows]]


def _routable(tags: Mapping[str, _TagColumn], profile: Profile) -> np.ndarray:
    """Which ways ``profile`` may route on, from their tags (the one statement of the rules).

    A way needs a ``highway`` class of the profile, no ``area=yes``, no excluded ``service``
    value, and is dropped by an excluded access value on the most specific access key it has
    (walk: ``foot``, ``access``; drive: ``motorcar``, ``motor_vehicle``, ``vehicle``, ``access``).
    """
    ok = tags["highway"].isin(profile.highway_speed_kph)
    ok &= ~tags["area"].isin(("yes",))
    ok &= ~tags["service"].isin(profile.exclude_service)
    keys = ("foot", "access") if profile.mode == "walk" else ("motorcar", "motor_vehicle", "vehicle", "access")
    decided = np.zeros_like(ok)
    for key in keys:  # most specific first: its value decides
        col = tags[key]
        here = col.present() & ~decided
        ok &= ~(here & col.isin(profile.exclude_access))
        decided |= here
    return ok


def _way_allowed(tags: Mapping[str, str | None], profile: Profile) -> bool:
    """Whether ``profile`` may route on one way, given its tags as a dict (:func:`_routable`)."""
    return bool(_routable({k: _TagColumn.of([tags.get(k)]) for k in _RULE_KEYS}, profile)[0])


_RULE_KEYS = ("highway", "area", "service", "foot", "motorcar", "motor_vehicle", "vehicle", "access")


# locate(refs, point_mask) -> lon, lat, valid and the node tag of the nodes of the ways kept by the rules
_Located = tuple[np.ndarray, np.ndarray, np.ndarray, "_TagColumn"]
_Locate = Callable[[np.ndarray, np.ndarray], _Located]


@dataclass
class _Candidates:
    """Ways of the profile's highway classes, before the other rules and node locations."""

    way_id: np.ndarray
    offsets: np.ndarray
    refs: np.ndarray
    tags: dict[str, _TagColumn]


def read_ways(path: Path, profile: Profile) -> WayArrays:
    """Read the ways of ``path`` that ``profile`` may route on, with their node locations.

    ``.pbf`` files are decoded by the compiled reader (:mod:`territorial_gis._pbf`, two passes:
    ways, then only the nodes they use); other OSM files, and PBF files needing a feature it
    does not handle, are read with pyosmium. Nodes missing from the extract are dropped (with
    a warning), then ways left with fewer than 2 nodes. Ways come in file order.

    Raises
    ------
    InputFileError
        The file is not a readable OSM file (corrupt, truncated, wrong format).
    NetworkError
        The file holds no routable way.
    """
    if path.name.lower().endswith(".pbf"):
        try:
            from . import _pbf
        except ImportError as exc:  # pragma: no cover - depends on the install
            log.warning("compiled PBF reader not available (%s); reading %s with pyosmium", exc, path)
        else:
            try:
                return _read_ways_pbf(path, profile)
            except _pbf.PBFUnsupportedError as exc:
                log.debug("%s: %s, not handled by the compiled PBF reader; reading it with pyosmium",
                          path, exc)
            except _pbf.PBFFormatError as exc:
                raise InputFileError(f"{path}: not a readable OpenStreetMap file ({exc})") from None
            except OSError as exc:
                raise InputFileError(f"{path}: cannot read OpenStreetMap data ({exc})") from None
    return _read_ways_osmium(path, profile)


def _read_ways_pbf(path: Path, profile: Profile, skip_nodes: bool = True) -> WayArrays:
    """:func:`read_ways` with the compiled decoder (raises its PBFFormatError/PBFUnsupportedError)."""
    from . import _pbf

    ways, node_blobs = _pbf.scan_ways(str(path), sorted(profile.highways), TAG_KEYS, TAG_KEYS.index("highway"),
                                      skip_nodes)
    cand = _Candidates(way_id=ways["way_id"], offsets=ways["offsets"], refs=ways["refs"],
                       tags={k: _TagColumn(c, v) for k, (c, v) in zip(TAG_KEYS, ways["tags"], strict=True)})

    def locate(refs: np.ndarray, _sel: np.ndarray) -> _Located:
        ids, pos = np.unique(refs, return_inverse=True)
        lon, lat, found, (codes, values) = _pbf.locate_nodes(str(path), node_blobs, ids, NODE_TAG)
        # fixed-point 1e-7 degrees to float as osmium's Location.lon/lat
        return lon[pos] / 1e7, lat[pos] / 1e7, found[pos].view(bool), _TagColumn(codes[pos], values)

    try:
        return _finish(path, profile, cand, locate)
    except _pbf.MixedBlocksError as exc:  # a writer put nodes and ways in one block: read every block
        log.debug("%s: %s; reading it again", path, exc)
        return _read_ways_pbf(path, profile, skip_nodes=False)


def _read_ways_osmium(path: Path, profile: Profile) -> WayArrays:
    """:func:`read_ways` with pyosmium (any OSM file libosmium reads)."""
    import osmium

    refs: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    offsets = [0]
    way_ids: list[int] = []
    rows: list[tuple[str | None, ...]] = []
    node_tag: dict[int, str] = {}
    nan = float("nan")
    keys = TAG_KEYS
    nodes = osmium.filter.KeyFilter(NODE_TAG)
    nodes.enable_for(osmium.osm.NODE)   # only the nodes with the node tag come through
    ways = osmium.filter.TagFilter(*[("highway", h) for h in sorted(profile.highways)])
    ways.enable_for(osmium.osm.WAY)
    try:
        fp = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
              .with_locations().with_filter(nodes).with_filter(ways))
        for obj in fp:
            if isinstance(obj, osmium.osm.Node):
                node_tag[obj.id] = str(obj.tags.get(NODE_TAG))
                continue
            way: Any = obj
            get = way.tags.get
            rows.append(tuple(get(k) for k in keys))
            way_ids.append(way.id)
            for nd in way.nodes:
                loc = nd.location
                refs.append(nd.ref)
                if loc.valid():
                    lons.append(loc.lon)
                    lats.append(loc.lat)
                else:
                    lons.append(nan)
                    lats.append(nan)
            offsets.append(len(refs))
    except RuntimeError as exc:
        raise InputFileError(f"{path}: not a readable OpenStreetMap file ({exc})") from None
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{path}: cannot read OpenStreetMap data ({exc})") from None
    cand = _Candidates(way_id=np.asarray(way_ids, dtype=np.int64), offsets=np.asarray(offsets, dtype=np.int64),
                       refs=np.asarray(refs, dtype=np.int64),
                       tags={k: _TagColumn.of(r[i] for r in rows) for i, k in enumerate(keys)})
    lon_all = np.asarray(lons, dtype=np.float64)
    lat_all = np.asarray(lats, dtype=np.float64)
    del refs, lons, lats, rows

    def locate(refs: np.ndarray, sel: np.ndarray) -> _Located:
        lon, lat = lon_all[sel], lat_all[sel]
        valid = ~np.isnan(lon)
        codes = np.full(len(refs), -1, dtype=np.int32)
        values = sorted(set(node_tag.values()))
        if node_tag:
            ids = np.fromiter(node_tag, dtype=np.int64, count=len(node_tag))
            hit = np.flatnonzero(np.isin(refs, ids) & valid)
            code = {v: i for i, v in enumerate(values)}
            codes[hit] = [code[node_tag[int(r)]] for r in refs[hit]]
        return lon, lat, valid, _TagColumn(codes, values)

    return _finish(path, profile, cand, locate)


def _finish(path: Path, profile: Profile, cand: _Candidates, locate: _Locate) -> WayArrays:
    """Apply the routing rules to candidate ways, locate their nodes, drop the nodes missing
    from the extract and then the ways left with fewer than 2 nodes."""
    ok = _routable(cand.tags, profile)
    counts = np.diff(cand.offsets)
    point_sel = np.repeat(ok, counts)
    refs = cand.refs[point_sel]
    kept = np.flatnonzero(ok)
    counts = counts[kept]
    lon, lat, valid, node_tag = locate(refs, point_sel)
    n_missing = len(valid) - int(np.count_nonzero(valid))
    located = counts
    if n_missing:
        log.warning("%s: %d way nodes have no location in the extract (dropped)", path, n_missing)
        located = np.bincount(np.repeat(np.arange(len(kept)), counts)[valid], minlength=len(kept))
    long_enough = located >= 2
    if n_missing or not long_enough.all():
        keep_point = valid & np.repeat(long_enough, counts)
        refs, lon, lat = refs[keep_point], lon[keep_point], lat[keep_point]
        node_tag = _TagColumn(node_tag.codes[keep_point], node_tag.values)
        kept, located = kept[long_enough], located[long_enough]
    if not len(kept):
        raise NetworkError(f"{path}: no routable way for mode '{profile.mode}' "
                           f"({len(cand.way_id)} ways of the profile's highway classes in the file)")
    log.info("%s: %d routable ways in mode '%s'", path.name, len(kept), profile.mode)
    offsets = np.zeros(len(kept) + 1, dtype=np.int64)
    np.cumsum(located, out=offsets[1:])
    tags = pd.DataFrame({k: cand.tags[k].objects(kept) for k in TAG_KEYS}, columns=list(TAG_KEYS), dtype=object)
    ford_at = np.flatnonzero(node_tag.present())
    return WayArrays(refs=refs, lon=lon, lat=lat, offsets=offsets, way_id=cand.way_id[kept], tags=tags,
                     ford_at=ford_at, ford_value=node_tag.objects(ford_at))


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


# ---------------------------------------------------------------------- network
def network_from_osm_file(path: Path, profile: Profile, *, area: shapely.Geometry | None = None,
                          largest_component: bool = True) -> RoadNetwork:
    """A routable network of the ways of an OSM file that ``profile`` may route on.

    Ways are split at intersections (:func:`split_ways`); lengths are ellipsoidal; speeds come
    from :func:`~territorial_gis.speeds.assign_speeds`. ``area`` (EPSG:4326) keeps the edges
    with both ends inside it; ``largest_component`` keeps the largest strongly connected
    component. The metric CRS is the UTM zone of the roads kept.
    """
    net = _network_from_ways(read_ways(path, profile), profile)
    if area is not None:
        net = net.clip(area)
    if largest_component:
        net = net.largest_component()
    return net.with_crs_of_nodes()  # the UTM zone of the roads kept


def _network_from_ways(ways: WayArrays, profile: Profile) -> RoadNetwork:
    """Directed edges of the split ways: forward copies, then reversed ones, with speeds."""
    sp = split_ways(ways)
    # ellipsoidal length: cumulative distance along the flat vertex array
    dist = segment_lengths_m(ways.lon[:-1], ways.lat[:-1], ways.lon[1:], ways.lat[1:])
    cum = np.concatenate([[0.0], np.cumsum(dist)])
    length = cum[sp.end] - cum[sp.start]
    # per-way attributes and speeds
    tags = ways.tags
    way_speed = assign_speeds(tags, profile)
    direction = oneway_direction(tags, profile.mode)
    wi = sp.way_index
    passable = way_speed[wi] > 0
    d = direction[wi]
    fwd = np.flatnonzero((d >= 0) & passable)
    bwd = np.flatnonzero((d <= 0) & passable)
    rows = np.concatenate([fwd, bwd])  # directed edges: forward copies, then reversed ones
    wr = wi[rows]
    cols: dict[str, Any] = {"length_m": length[rows], "speed_kph": way_speed[wr]}
    for key in EDGE_KEYS:
        # object columns: no string-dtype inference pass (the loaders give the same dtype)
        cols[key] = pd.Series(tags[key].to_numpy(dtype=object)[wr], dtype=object, copy=False)
    for key, values in _season_columns(ways, sp).items():  # only the tags some way or node has
        cols[key] = pd.Series(values[rows], dtype=object, copy=False)
    cols["osm_way_id"] = ways.way_id[wr]
    cols["oneway"] = d[rows] != 0
    cols["segment"] = rows.astype(np.int64)
    cols["reversed"] = np.arange(len(rows)) >= len(fwd)
    edges = pd.DataFrame(cols, copy=False)
    node_refs, inv = np.unique(np.concatenate([sp.u_ref, sp.v_ref]), return_inverse=True)
    u_idx, v_idx = inv[: len(wi)], inv[len(wi):]
    # coordinates of each node: from the first vertex holding that ref
    ref_pos = np.concatenate([sp.start, sp.end])
    first_pos = np.full(len(node_refs), -1, dtype=np.int64)
    first_pos[inv[::-1]] = ref_pos[::-1]
    edge_u = np.concatenate([u_idx[fwd], v_idx[bwd]])
    edge_v = np.concatenate([v_idx[fwd], u_idx[bwd]])
    # geometries oriented u -> v: vertices start..end of each forward copy, end..start of each
    # reversed one, built in one call
    n_v = sp.end[rows] - sp.start[rows] + 1
    first = np.where(cols["reversed"], sp.end[rows], sp.start[rows])
    step = np.where(cols["reversed"], -1, 1)
    pos = np.repeat(first, n_v) + np.repeat(step, n_v) * run_positions(n_v)
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(n_v, out=offsets[1:])
    edge_geom = shapely.from_ragged_array(shapely.GeometryType.LINESTRING,
                                          np.column_stack([ways.lon[pos], ways.lat[pos]]), (offsets,))
    return RoadNetwork.from_arrays(node_refs, ways.lon[first_pos], ways.lat[first_pos], edge_u, edge_v,
                                   edges, edge_geom)


def _season_columns(ways: WayArrays, sp: SplitEdges) -> dict[str, np.ndarray]:
    """Per split edge, the season tags (:data:`~territorial_gis._roadattrs.OSM_SEASON_KEYS`) of
    its way, for the keys some way has; ``ford`` also from the ford nodes the edge holds (its first
    one, ends included), where the way has no ``ford`` tag."""
    out: dict[str, np.ndarray] = {}
    for key in OSM_SEASON_KEYS:
        col = ways.tags[key].to_numpy(dtype=object)
        if (col != None).any():  # noqa: E711 - object array
            out[key] = col[sp.way_index]
    if len(ways.ford_at):
        ford = out.get("ford", np.full(len(sp.start), None, dtype=object)).copy()
        first = np.searchsorted(ways.ford_at, sp.start)  # the first ford node at or after the edge's start
        holds = first < len(ways.ford_at)
        holds[holds] = ways.ford_at[first[holds]] <= sp.end[holds]
        take = holds & (ford == None)  # noqa: E711 - the way's own tag first
        ford[take] = ways.ford_value[first[take]]
        out["ford"] = ford
    return out


def write_routable_xml(source: Path | str, out: Path | str, profile: Profile) -> None:
    """Write the ways ``profile`` may route on, with their nodes, as OSM XML.

    Gives other tools (osmnx's ``graph_from_xml``, which does not filter ways) the same input
    as :func:`read_ways` (same rules, :func:`_routable`); used by the tests and benchmarks that
    compare builders.
    """
    import osmium

    way_ids: list[int] = []
    way_refs: list[list[int]] = []
    rows: list[tuple[str | None, ...]] = []
    ways = osmium.FileProcessor(str(source), osmium.osm.WAY).with_filter(osmium.filter.KeyFilter("highway"))
    for obj in ways:
        w: Any = obj
        get = w.tags.get
        rows.append(tuple(get(k) for k in _RULE_KEYS))
        way_ids.append(w.id)
        way_refs.append([n.ref for n in w.nodes])
    ok = _routable({k: _TagColumn.of(r[i] for r in rows) for i, k in enumerate(_RULE_KEYS)}, profile)
    keep_ways = {way_ids[i] for i in np.flatnonzero(ok)}
    keep_nodes = {ref for i in np.flatnonzero(ok) for ref in way_refs[i]}
    del way_refs, rows
    writer = osmium.SimpleWriter(str(out))
    try:
        for entity in osmium.FileProcessor(str(source), osmium.osm.NODE | osmium.osm.WAY):
            o: Any = entity
            if o.is_node():
                if o.id in keep_nodes:
                    writer.add_node(o)
            elif o.id in keep_ways:
                writer.add_way(o)
    finally:
        writer.close()
