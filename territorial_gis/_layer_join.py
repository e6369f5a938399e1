"""Road line layers, joining: new roads (a planned link, a bridge, a track to be opened) added to a
built network with the topology rules of line layers.

:func:`join_lines` builds the new lines' own topology with
:func:`~territorial_gis._layer_topology.build_layer_graph` (split at shared vertices, crossings
noded when asked, dangling ends snapped onto other new lines), then joins that graph to the
network, in the network's metric CRS:

* a **dangling end** of the new roads (an end that touches nothing) within ``snap_tolerance_m`` of
  a road moves onto the nearest point of that road (onto its vertex or node when the point is
  one); any other node of the new roads joins a road it lies on (within 1 mm); nothing else moves;
* a vertex of the new roads that is a **shared vertex** of a road (within 1 mm) is a junction;
* a **crossing** without a shared vertex is noded only with ``crossings=True``, and counted
  either way;
* roads that are bridges or tunnels (a ``bridge``/``tunnel`` value other than ``no``) or on
  another ``layer`` are never joined in their middle; they meet the new roads at their own ends
  only, which are nodes of the roads beside them.

The road pieces of the network the new roads join are cut there: each directed edge keeps its
attributes, its length and travel time are shared out by ellipsoidal length (their sums stay
what they were, so no trip along them changes), and the pieces after the first get new
``segment`` ids. Nothing else of the network changes. New roads are two-way, with the class,
surface and speed given, ellipsoidal lengths and negative ``osm_way_id`` (OSM's convention for
objects that do not exist in OSM yet).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from ._arrays import unique_values
from ._geodesy import line_lengths_m
from ._layer_topology import _VERTEX_EPS_M, LayerGraph, build_layer_graph
from ._roadnet import RoadNetwork
from .errors import ConfigError

log = logging.getLogger(__name__)

_NOT_BRIDGE = frozenset({"", "no", "false", "0", "none", "nan"})


@dataclass
class JoinedNetwork:
    """A network with new roads joined to it.

    ``parent`` gives, for each directed edge of ``network``, the row of the original network it
    is (a piece of), or -1 for an edge of the new roads; ``report`` counts what was done.
    """

    network: RoadNetwork
    parent: np.ndarray
    report: dict[str, Any] = field(default_factory=dict)


def _flag(values: pd.Series) -> np.ndarray:
    """True where a bridge/tunnel column says yes (OSM values, or a layer's booleans)."""
    s = values.astype(object)
    return np.array([not (v is None or v is False or str(v).strip().lower() in _NOT_BRIDGE) for v in s], dtype=bool)


@dataclass
class _Roads:
    """The road pieces new roads may join: one directed row per piece, metric geometries, a tree."""

    rows: np.ndarray
    geoms: np.ndarray
    tree: shapely.STRtree

    @classmethod
    def of(cls, network: RoadNetwork) -> _Roads:
        e = network.edges
        ok = network.road_pieces()
        for col in ("bridge", "tunnel"):
            if col in e:
                ok &= ~_flag(e[col])
        if "layer" in e:
            ok &= pd.to_numeric(e["layer"], errors="coerce").fillna(0).to_numpy() == 0
        rows = np.flatnonzero(ok)
        geoms = network.edge_geometry_metric()[rows]
        return cls(rows=rows, geoms=geoms, tree=shapely.STRtree(geoms))

    def nearest(self, xy: np.ndarray, max_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per point: the index (into ``rows``) of the nearest road piece within ``max_m``, or -1,
        and the distance."""
        n = len(xy)
        out, dist = np.full(n, -1, dtype=np.int64), np.full(n, np.inf)
        if n == 0 or len(self.rows) == 0:
            return out, dist
        (pi, ti), d = self.tree.query_nearest(shapely.points(xy), max_distance=float(max_m.max()) if n else 0.0,
                                              return_distance=True, all_matches=False)
        ok = d <= max_m[pi]
        out[pi[ok]], dist[pi[ok]] = ti[ok], d[ok]
        return out, dist


class _Joins:
    """Points where the new roads meet the network: metric point, lon/lat, road piece (index into
    ``_Roads.rows``); a point given twice (within 1 mm) is one join."""

    def __init__(self, roads: _Roads, to_ll: Transformer) -> None:
        self.roads = roads
        self.to_ll = to_ll
        self.xy: list[np.ndarray] = []
        self.ll: list[np.ndarray] = []
        self.piece: list[int] = []
        self._cells: dict[tuple[int, int], int] = {}

    def add(self, piece: int, xy: np.ndarray) -> int:
        """The join at the point of road piece ``piece`` nearest to ``xy`` (its vertex when within 1 mm)."""
        geom = self.roads.geoms[piece]
        p = np.asarray(shapely.get_coordinates(shapely.line_interpolate_point(
            geom, shapely.line_locate_point(geom, shapely.Point(xy))))[0])
        verts = shapely.get_coordinates(geom)
        d = np.hypot(*(verts - p).T)
        if d.min() <= _VERTEX_EPS_M:
            p = verts[int(np.argmin(d))]
        key = (int(round(p[0] / _VERTEX_EPS_M)), int(round(p[1] / _VERTEX_EPS_M)))
        if key in self._cells:
            return self._cells[key]
        self._cells[key] = len(self.xy)
        self.xy.append(p)
        self.ll.append(np.array(self.to_ll.transform(p[0], p[1])))
        self.piece.append(piece)
        return len(self.xy) - 1


def join_lines(network: RoadNetwork, lines_ll: np.ndarray, attrs: Mapping[str, Any], speed_kph: float, *,
               snap_tolerance_m: float, crossings: bool = False, way_id_start: int = -1,
               what: str = "new roads") -> JoinedNetwork:
    """Join new roads (lon/lat LineStrings or MultiLineStrings) to ``network`` (see the module docstring).

    ``attrs`` are the new edges' attributes (``highway``, ``surface``, ``name``...), ``speed_kph``
    their speed; feature ``i`` gets ``osm_way_id = way_id_start - i``.

    Raises
    ------
    ConfigError
        A group of connected new roads that meets no road of the network (the message gives how
        far the nearest road is), a speed that is not positive.
    NetworkError
        No line with two or more vertices.
    """
    if not speed_kph > 0:
        raise ConfigError(f"{what}: speed {speed_kph!r} km/h: expected a positive number")
    report: dict[str, Any] = {"features": int(len(lines_ll)), "crossings_requested": bool(crossings)}
    inner: dict[str, Any] = {}
    graph = build_layer_graph(lines_ll, crossings=crossings, snap_tolerance_m=float(snap_tolerance_m),
                              metric_crs=network.crs, report=inner)
    report["topology"] = {k: inner[k] for k in ("crossings_noded", "ends_snapped", "duplicates_dropped") if k in inner}
    to_m = Transformer.from_crs(4326, network.crs, always_xy=True)
    roads = _Roads.of(network)
    joins = _Joins(roads, Transformer.from_crs(network.crs, 4326, always_xy=True))
    new_m = shapely.transform(graph.edge_geometry, lambda c: np.column_stack(to_m.transform(c[:, 0], c[:, 1])))
    node_join = _join_nodes(graph, new_m, roads, joins, float(snap_tolerance_m), report)
    cuts = _join_along(graph, new_m, roads, joins, crossings, report)
    _check_connected(graph, new_m, node_join, cuts, roads, what)
    join_node, node_lon, node_lat, node_id = _join_node_index(network, joins)
    split = _split_roads(network, roads, joins, join_node)
    new, own_ll = _new_edges(graph, new_m, node_join, cuts, joins, join_node, len(node_lon), attrs, speed_kph,
                             way_id_start)
    node_lon, node_lat = np.r_[node_lon, own_ll[:, 0]], np.r_[node_lat, own_ll[:, 1]]
    node_id = np.r_[node_id, node_id.max() + 1 + np.arange(len(own_ll))]
    report["road_pieces_split"] = int(len(unique_values(network.edges["segment"].to_numpy()[split.parent])))
    report["new_edges"] = int(len(new.u))
    report["new_length_km"] = round(float(new.edges.loc[~new.edges["reversed"], "length_m"].sum()) / 1000.0, 3)
    return _assemble(network, split, new, node_lon, node_lat, node_id, report, what)


def _join_nodes(graph: LayerGraph, new_m: np.ndarray, roads: _Roads, joins: _Joins, tol: float,
                report: dict[str, Any]) -> np.ndarray:
    """Join the nodes of the new roads: dangling ends within ``tol`` of a road, other nodes lying on
    one. Nearest first; the two ends of one new edge never land on one point. Returns the join of
    each node (-1: none)."""
    n = len(graph.node_lon)
    degree = np.bincount(np.r_[graph.edge_u, graph.edge_v], minlength=n)
    end_xy = np.vstack([shapely.get_coordinates(shapely.get_point(new_m, 0)),
                        shapely.get_coordinates(shapely.get_point(new_m, -1))])
    node_of = np.r_[graph.edge_u, graph.edge_v]
    xy = np.zeros((n, 2))
    xy[node_of] = end_xy
    reach = np.where(degree == 1, max(tol, _VERTEX_EPS_M), _VERTEX_EPS_M)
    piece, dist = roads.nearest(xy, reach)
    node_join = np.full(n, -1, dtype=np.int64)
    other: dict[int, set[int]] = {}  # node -> the nodes at the other end of its edges
    for a, b in zip(graph.edge_u.tolist(), graph.edge_v.tolist(), strict=True):
        other.setdefault(a, set()).add(b)
        other.setdefault(b, set()).add(a)
    moves = []
    for i in np.argsort(dist, kind="stable"):
        if piece[i] < 0:
            break
        j = joins.add(int(piece[i]), xy[i])
        if any(node_join[k] == j for k in other.get(int(i), ())):
            continue  # would fold a new edge onto one point
        node_join[i] = j
        moves.append(float(np.hypot(*(joins.xy[j] - xy[i]))))
    moved = np.asarray(moves)
    report["ends_joined"] = int((node_join >= 0).sum())
    report["ends_snapped"] = int((moved > _VERTEX_EPS_M).sum())
    report["snap_max_displacement_m"] = round(float(moved.max()), 4) if len(moved) else 0.0
    return node_join


def _join_along(graph: LayerGraph, new_m: np.ndarray, roads: _Roads, joins: _Joins, crossings: bool,
                report: dict[str, Any]) -> list[tuple[int, float, int]]:
    """Joins in the middle of new edges: at vertices they share with a road, and (``crossings``)
    where they cross or touch one. Returns ``(new edge, metres along it, join)``."""
    cuts: list[tuple[int, float, int]] = []
    ei, ri = roads.tree.query(new_m, predicate="intersects") if len(roads.rows) else (np.zeros(0, int),) * 2
    shared = crossed = 0
    for e, r in zip(ei.tolist(), ri.tolist(), strict=True):
        line, road = new_m[e], roads.geoms[r]
        length = shapely.length(line)
        verts = shapely.get_coordinates(line)[1:-1]
        road_verts = shapely.get_coordinates(road)
        hits = set()
        for v in verts:  # shared vertices always join (OSM's rule)
            if np.hypot(*(road_verts - v).T).min() <= _VERTEX_EPS_M:
                hits.add((float(shapely.line_locate_point(line, shapely.Point(v))), tuple(v)))
                shared += 1
        pts = shapely.get_coordinates(shapely.intersection(line, road))
        for p in pts:
            m = float(shapely.line_locate_point(line, shapely.Point(p)))
            if m <= _VERTEX_EPS_M or m >= length - _VERTEX_EPS_M or any(abs(m - h[0]) <= _VERTEX_EPS_M for h in hits):
                continue  # at an end of the new edge (joined, or not, as a node), or a shared vertex
            crossed += 1
            if crossings:
                hits.add((m, tuple(p)))
        cuts += [(e, m, joins.add(r, np.asarray(p))) for m, p in sorted(hits)]
    report["joined_at_shared_vertices"] = shared
    report["crossings_noded" if crossings else "crossings_not_noded"] = crossed
    return cuts


def _check_connected(graph: LayerGraph, new_m: np.ndarray, node_join: np.ndarray,
                     cuts: list[tuple[int, float, int]], roads: _Roads, what: str) -> None:
    """Every group of connected new roads meets the network (else it reaches nothing)."""
    n = len(graph.node_lon)
    adj = sparse.coo_matrix((np.ones(len(graph.edge_u)), (graph.edge_u, graph.edge_v)), shape=(n, n))
    _k, label = connected_components(adj, directed=False)
    touched = set(label[node_join >= 0].tolist()) | {int(label[graph.edge_u[e]]) for e, _m, _j in cuts}
    alone = sorted(set(label[graph.edge_u].tolist()) - touched)
    if alone:
        feats = sorted({int(graph.part_feature[graph.edge_part[k]]) for k in range(len(graph.edge_u))
                        if label[graph.edge_u[k]] in alone})
        gap = float(shapely.distance(shapely.union_all(new_m[np.isin(label[graph.edge_u], alone)]),
                                     shapely.union_all(roads.geoms))) if len(roads.rows) else float("nan")
        raise ConfigError(f"{what}: line(s) {', '.join(map(str, feats[:10]))} (feature numbers, from 0) meet no road "
                          f"of the network: the nearest road is {gap:,.0f} m away; raise snap_tolerance_m or draw "
                          "the line to the road")


def _join_node_index(network: RoadNetwork, joins: _Joins) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The network node of each join (an existing node where the join is at a piece's end, else a
    new node), and the node arrays with the new nodes appended."""
    node_xy = network.node_xy
    out = np.full(len(joins.xy), -1, dtype=np.int64)
    row = joins.roads.rows
    for j, (p, piece) in enumerate(zip(joins.xy, joins.piece, strict=True)):
        for node in (network.edge_u[row[piece]], network.edge_v[row[piece]]):
            if np.hypot(*(node_xy[node] - p)) <= _VERTEX_EPS_M:
                out[j] = node
    fresh = np.flatnonzero(out < 0)
    out[fresh] = network.n_nodes + np.arange(len(fresh))
    ll = np.asarray(joins.ll).reshape(-1, 2)
    return (out, np.r_[network.node_lon, ll[fresh, 0]], np.r_[network.node_lat, ll[fresh, 1]],
            np.r_[network.node_id, network.node_id.max() + 1 + np.arange(len(fresh))])


def _cut(ll: np.ndarray, xy: np.ndarray, cuts: list[tuple[float, np.ndarray]]) -> list[np.ndarray]:
    """Cut a line (lon/lat and metric vertices) at ``(metres along it, lon/lat point)``, in order; a
    point at a vertex (within 1 mm) takes its place."""
    cum = np.r_[0.0, np.cumsum(np.hypot(*np.diff(xy, axis=0).T))]
    pieces: list[np.ndarray] = []
    cur, i = [ll[0]], 1
    for m, p in cuts:
        while i < len(ll) - 1 and cum[i] < m - _VERTEX_EPS_M:
            cur.append(ll[i])
            i += 1
        if i < len(ll) - 1 and abs(cum[i] - m) <= _VERTEX_EPS_M:
            i += 1
        cur.append(p)
        pieces.append(np.asarray(cur))
        cur = [p]
    cur.extend(ll[i:])
    pieces.append(np.asarray(cur))
    return pieces


def _cuts_on(line_m: shapely.LineString, points: list[tuple[np.ndarray, np.ndarray, int]]
             ) -> list[tuple[float, np.ndarray, int]]:
    """``(metres along the line, lon/lat, join)`` of the points ``(metric, lon/lat, join)`` strictly
    inside the line, in order, one per place."""
    length = shapely.length(line_m)
    out: list[tuple[float, np.ndarray, int]] = []
    for xy, ll, j in points:
        m = float(shapely.line_locate_point(line_m, shapely.Point(xy)))
        if _VERTEX_EPS_M < m < length - _VERTEX_EPS_M:
            out.append((m, ll, j))
    out.sort(key=lambda c: c[0])
    return [c for k, c in enumerate(out) if k == 0 or c[0] - out[k - 1][0] > _VERTEX_EPS_M]


@dataclass
class _Edges:
    """Directed edges to add: end nodes, geometries (lon/lat) and attribute rows."""

    u: np.ndarray
    v: np.ndarray
    geoms: np.ndarray
    edges: pd.DataFrame
    parent: np.ndarray
    split: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def _split_roads(network: RoadNetwork, roads: _Roads, joins: _Joins, join_node: np.ndarray) -> _Edges:
    """The directed edges of the road pieces the joins fall inside, cut there (attributes kept,
    length and travel time shared out by ellipsoidal length; the first piece keeps the segment id,
    the others get new ones, the same for both directions)."""
    e = network.edges
    seg_col = e["segment"].to_numpy()
    by_seg: dict[int, list[int]] = {}
    for j, piece in enumerate(joins.piece):
        by_seg.setdefault(int(seg_col[roads.rows[piece]]), []).append(j)
    reference = set(roads.rows.tolist())
    rows = sorted(np.flatnonzero(np.isin(seg_col, list(by_seg))).tolist(),
                  key=lambda r: (seg_col[r], r not in reference))  # each segment's own row first
    metric = network.edge_geometry_metric()
    next_seg = int(seg_col.max()) + 1
    seg_of: dict[tuple[int, frozenset[int], int], int] = {}
    numbered: set[int] = set()
    us, vs, geoms, parent, segs = [], [], [], [], []
    for r in rows:
        s = int(seg_col[r])
        cuts = _cuts_on(metric[r], [(joins.xy[j], joins.ll[j], int(join_node[j])) for j in by_seg[s]])
        if not cuts:  # every join of the segment is at its ends: nothing to cut
            continue
        pieces = _cut(shapely.get_coordinates(network.edge_geometry[r]), shapely.get_coordinates(metric[r]),
                      [(m, ll) for m, ll, _j in cuts])
        nodes = [int(network.edge_u[r]), *(j for _m, _ll, j in cuts), int(network.edge_v[r])]
        seen: dict[frozenset[int], int] = {}
        for k, coords in enumerate(pieces):
            pair = frozenset((nodes[k], nodes[k + 1]))
            key = (s, pair, seen.get(pair, 0))
            seen[pair] = key[2] + 1
            if key not in seg_of:  # the segment's first piece keeps its id
                seg_of[key] = next_seg if s in numbered else s
                next_seg += s in numbered
                numbered.add(s)
            us.append(nodes[k])
            vs.append(nodes[k + 1])
            geoms.append(shapely.linestrings(coords))
            parent.append(r)
            segs.append(seg_of[key])
    parent_a = np.asarray(parent, dtype=np.int64)
    geoms_a = np.asarray(geoms, dtype=object)
    table = e.iloc[parent_a].reset_index(drop=True)
    part = line_lengths_m(geoms_a)
    whole = np.bincount(parent_a, weights=part)[parent_a] if len(parent_a) else part
    share = np.divide(part, whole, out=np.full(len(part), np.nan), where=whole > 0)
    if np.isnan(share).any():  # a road piece of no length: share by count
        share = np.where(np.isnan(share), 1.0 / np.bincount(parent_a)[parent_a], share)
    for col in ("length_m", "travel_time_s"):
        table[col] = table[col].to_numpy(dtype=float) * share
    table["segment"] = np.asarray(segs, dtype=np.int64)
    return _Edges(u=np.asarray(us, dtype=np.int64), v=np.asarray(vs, dtype=np.int64), geoms=geoms_a, edges=table,
                  parent=parent_a, split=np.ones(len(parent_a), dtype=bool))


def _new_edges(graph: LayerGraph, new_m: np.ndarray, node_join: np.ndarray, cuts: list[tuple[int, float, int]],
               joins: _Joins, join_node: np.ndarray, n_nodes: int, attrs: Mapping[str, Any], speed_kph: float,
               way_id_start: int) -> tuple[_Edges, np.ndarray]:
    """Both directions of every new edge, cut at its joins, ends moved onto the roads they join.
    Returns the edges and the lon/lat of the new roads' own nodes (numbered from ``n_nodes``)."""
    n = len(graph.node_lon)
    own = np.flatnonzero(node_join < 0)
    node = np.empty(n, dtype=np.int64)
    node[own] = n_nodes + np.arange(len(own))
    joined = node_join >= 0
    node[joined] = join_node[node_join[joined]]
    along: dict[int, list[tuple[float, np.ndarray, int]]] = {}
    for e, m, j in cuts:
        along.setdefault(e, []).append((m, joins.ll[j], int(join_node[j])))
    us, vs, geoms, feat = [], [], [], []
    for e in range(len(graph.edge_u)):
        a, b = int(graph.edge_u[e]), int(graph.edge_v[e])
        cut = sorted(along.get(e, []), key=lambda c: c[0])
        cut = [c for k, c in enumerate(cut) if k == 0 or c[0] - cut[k - 1][0] > _VERTEX_EPS_M]
        ll = shapely.get_coordinates(graph.edge_geometry[e])
        pieces = _cut(ll, shapely.get_coordinates(new_m[e]), [(m, p) for m, p, _j in cut])
        if node_join[a] >= 0:  # the end moved onto the road it joins
            pieces[0][0] = joins.ll[node_join[a]]
        if node_join[b] >= 0:
            pieces[-1][-1] = joins.ll[node_join[b]]
        ends = [int(node[a]), *(j for _m, _p, j in cut), int(node[b])]
        for k, coords in enumerate(pieces):
            if ends[k] == ends[k + 1] and len(coords) < 3:
                continue  # collapsed onto one point
            us.append(ends[k])
            vs.append(ends[k + 1])
            geoms.append(shapely.linestrings(coords))
            feat.append(int(graph.part_feature[graph.edge_part[e]]))
    fwd = np.asarray(geoms, dtype=object)
    length = line_lengths_m(fwd)
    k = len(fwd)
    table = pd.DataFrame({"length_m": np.r_[length, length], "speed_kph": float(speed_kph)})
    table["travel_time_s"] = table["length_m"] / (float(speed_kph) / 3.6)
    for col, value in attrs.items():
        table[col] = pd.Series([value] * (2 * k), dtype=object)
    table["osm_way_id"] = way_id_start - np.r_[feat, feat].astype(np.int64)
    table["oneway"] = False
    table["segment"] = np.r_[np.arange(k), np.arange(k)].astype(np.int64)  # renumbered on assembly
    table["reversed"] = np.r_[np.zeros(k, dtype=bool), np.ones(k, dtype=bool)]
    edges = _Edges(u=np.r_[us, vs].astype(np.int64), v=np.r_[vs, us].astype(np.int64),
                   geoms=np.r_[fwd, shapely.reverse(fwd)] if k else fwd, edges=table,
                   parent=np.full(2 * k, -1, dtype=np.int64))
    lonlat = np.column_stack([graph.node_lon[own], graph.node_lat[own]])
    return edges, lonlat


def _assemble(network: RoadNetwork, split: _Edges, new: _Edges, node_lon: np.ndarray, node_lat: np.ndarray,
              node_id: np.ndarray, report: dict[str, Any], what: str) -> JoinedNetwork:
    """The joined network: untouched edges, the cut ones, the new ones (their segments numbered
    after every other)."""
    keep = np.ones(network.n_edges, dtype=bool)
    keep[split.parent] = False
    kept = np.flatnonzero(keep)
    first_new = int(max(network.edges["segment"].max(), split.edges["segment"].max() if len(split.parent) else -1)) + 1
    new.edges["segment"] = new.edges["segment"].to_numpy() + first_new
    edges = pd.concat([network.edges.iloc[kept], split.edges, new.edges], ignore_index=True)
    for col in ("oneway", "reversed"):
        edges[col] = edges[col].astype(bool)
    net = RoadNetwork(node_id, node_lon, node_lat,
                      np.r_[network.edge_u[kept], split.u, new.u], np.r_[network.edge_v[kept], split.v, new.v],
                      edges, np.r_[network.edge_geometry[kept], split.geoms, new.geoms],
                      crs=network.crs, meta=dict(network.meta))
    net.meta.setdefault("notes", [])
    net.meta["notes"] = [*net.meta["notes"], f"{what}: {report['new_edges'] // 2} new road pieces joined"]
    log.info("%s: %d new road pieces (%.2f km) joined to the network at %d points (%d road pieces cut)", what,
             report["new_edges"] // 2, report["new_length_km"], report["ends_joined"], report["road_pieces_split"])
    return JoinedNetwork(network=net, parent=np.r_[kept, split.parent, new.parent], report=report)


def read_new_lines(path: str, what: str) -> np.ndarray:
    """The (multi-)lines of a layer in EPSG:4326 (any CRS, any OGR format or GeoParquet).

    Raises
    ------
    ConfigError
        The layer holds no line (the message lists what it holds).
    InputFileError, CRSError
        An unreadable file or a layer without CRS.
    """
    from ._vector import read_layer

    gdf = read_layer(path, what=what)
    geoms = shapely.force_2d(np.asarray(gdf.geometry.values, dtype=object))
    is_line = np.isin(shapely.get_type_id(geoms), (1, 5)) & ~shapely.is_empty(geoms)
    if not is_line.any():
        kinds = pd.Series(gdf.geometry.geom_type).value_counts()
        found = ", ".join(f"{k} {v}" for k, v in kinds.items()) or "no features"
        raise ConfigError(f"{what}: layer {path} holds no lines ({found})")
    lines = gdf.loc[is_line].to_crs(4326)
    return shapely.force_2d(np.asarray(lines.geometry.values, dtype=object))
