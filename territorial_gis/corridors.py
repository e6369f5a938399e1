"""Corridors from marginal areas to dynamic markets, and which road upgrade would save most.

* :func:`suggest_corridors`: for every MRA locality (or area), the least-time path on the
  network to its nearest target among the configured tiers (intermediate cities, employment
  centres, FRA hubs ...). One compiled multi-source pass (``_shortest.nearest_seed``) over the
  reversed augmented graph (:mod:`territorial_gis._engine`) from all targets of all tiers at
  once gives every origin's time, its target and the predecessor tree; paths are read off
  the tree (no per-origin search).
* :func:`corridor_segments`: the corridors overlaid on the network, aggregated per road piece
  and per *stretch* (consecutive road pieces used by the same set of corridors and of the same
  road class and paved status): MRA population served, number of localities, class, surface.
* :func:`rank_upgrades`: for candidate stretches (on corridors, with roads slower than the
  target class), the population-weighted minutes saved if the stretch were upgraded to a road
  class of the speed profile, computed **by re-routing**: per candidate, the base pass is
  updated over a copy of the augmented graph whose arcs on that stretch carry the upgraded
  travel time (compiled; the update spreads from those arcs only where times improve, which
  gives the times of a new pass), so routes that switch to the upgraded road (and targets
  that change) are picked up. Ranked by person-minutes saved per km upgraded.

*Unpaved or low-class* (``unpaved_share``): a road piece whose ``surface`` is tagged and not
paved (:func:`territorial_gis.speeds.is_paved`), or whose ``highway`` class is one of
:data:`LOW_CLASSES` (tracks, paths, unclassified minor roads, roads of unknown class) whatever
its surface. Untagged surfaces on other classes count as paved.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy import sparse

from ._arrays import concat_ranges, dense_ranks, run_positions, unique_values
from ._engine import AugmentedGraph
from ._polyline import block_table, cut_lines, join_blocks, lines_of_paths
from ._progress import progress
from ._routing import RouteOptions, ids_of, options_or_default, prepare_graph
from ._shortest import nearest_seed, nearest_seed_improve, trace_paths
from .columns import LOCALITY_ID_CANDIDATES
from .errors import ColumnError, ConfigError, CRSError, RoutingError
from .speeds import Profile, is_paved, load_profile

if TYPE_CHECKING:
    import geopandas as gpd

    from .network import RoadNetwork

log = logging.getLogger(__name__)

#: highway classes counted as low-class (unpaved or minor) whatever their surface tag
LOW_CLASSES = frozenset({"track", "path", "bridleway", "unclassified", "road"})
#: identifier columns looked for on the localities, in order
#: default number of stretches re-routed by :func:`rank_upgrades`
DEFAULT_CANDIDATES = 50

CORRIDOR_COLUMNS = ["origin_id", "target_id", "target_tier", "travel_time_min", "length_km",
                    "unpaved_share", "population_served", "n_road_pieces", "offroad_km"]


# ============================================================================ helpers
def is_unpaved_or_low(edges: pd.DataFrame) -> np.ndarray:
    """True for edges that are unpaved (tagged ``surface`` not paved) or of a low class.

    Parameters
    ----------
    edges
        A network edge table with ``highway`` and optionally ``surface``.

    Returns
    -------
    ndarray of bool
        See the module docstring for the definition.
    """
    n = len(edges)
    if "surface" in edges:
        surface = edges["surface"].astype(object)
        tagged = surface.notna().to_numpy() & (surface.astype(str).str.strip() != "").to_numpy()
        unpaved = tagged & ~is_paved(surface)
    else:
        unpaved = np.zeros(n, dtype=bool)
    low = (edges["highway"].astype(object).isin(LOW_CLASSES).to_numpy() if "highway" in edges
           else np.zeros(n, dtype=bool))
    return np.asarray(unpaved | low, dtype=bool)


def _origin_ids(gdf: pd.DataFrame, id_col: str | None) -> np.ndarray:
    return ids_of(gdf, id_col, LOCALITY_ID_CANDIDATES, "localities").to_numpy()


def _check_inputs(localities: gpd.GeoDataFrame, targets: Mapping[str, gpd.GeoDataFrame],
                  population_col: str, class_col: str) -> None:
    if class_col not in localities:
        raise ColumnError(f"the localities have no '{class_col}' column (run `tgis classify` first); "
                          f"columns: {', '.join(map(str, localities.columns))}")
    if population_col not in localities:
        raise ColumnError(f"the localities have no population column '{population_col}'; columns: "
                          f"{', '.join(map(str, localities.columns))}")
    if localities.crs is None:
        raise CRSError("the localities have no CRS; set one (EPSG:4326 for lon/lat)")
    if not targets:
        raise ConfigError("no target tier given (e.g. intermediate_city)")
    if all(len(t) == 0 for t in targets.values()):
        raise RoutingError(f"the target tiers {', '.join(targets)} hold no destination")


def _canonical_reverse(graph: AugmentedGraph) -> tuple[np.ndarray, sparse.csr_matrix, np.ndarray]:
    """Arc weights, a reversed CSR built from them and the CSR data position of each arc.

    Modified copies share ``indices``/``indptr`` and replace only ``data``.
    """
    cached = getattr(graph, "_corridor_reverse", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    r, c = graph.arc_rows, graph.arc_cols
    fwd = graph.forward.tocsr()
    fwd.sort_indices()
    _keys, order_f = _arc_order(graph)  # forward CSR order: by row, then column
    if not np.array_equal(fwd.indices, c[order_f]):
        raise RoutingError("internal error: arc bookkeeping does not match the augmented graph")
    weight = np.empty(len(r))
    weight[order_f] = fwd.data
    order = np.argsort(c * graph.n_nodes + r)  # reversed CSR: row = arc head
    indptr = np.zeros(graph.n_nodes + 1, dtype=np.int64)
    np.add.at(indptr, c + 1, 1)
    indptr = np.cumsum(indptr)
    rev = sparse.csr_matrix((weight[order], r[order].astype(np.int32), indptr),
                            shape=(graph.n_nodes, graph.n_nodes))
    pos = np.empty(len(r), dtype=np.int64)
    pos[order] = np.arange(len(r))
    out = (weight, rev, pos)
    graph._corridor_reverse = out  # type: ignore[attr-defined]
    return out


def _arc_order(graph: AugmentedGraph) -> tuple[np.ndarray, np.ndarray]:
    """The arcs sorted by (tail, head): their sorted keys ``tail * n_nodes + head`` (one per arc:
    arcs are unique) and the order that sorts them; computed once per graph."""
    cached = getattr(graph, "_corridor_arc_order", None)
    if cached is None:
        keys = graph.arc_rows * graph.n_nodes + graph.arc_cols
        order = np.argsort(keys)
        cached = (keys[order], order)
        graph._corridor_arc_order = cached  # type: ignore[attr-defined]
    return cached  # type: ignore[no-any-return]


def _pass(matrix: sparse.csr_matrix, dest_nodes: np.ndarray,
          predecessors: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """One compiled multi-source pass from the targets: time (s) and source node of every node,
    optional predecessors (the next node towards the target)."""
    dist, label, pred = nearest_seed(matrix.indptr, matrix.indices, matrix.data, matrix.shape[0], dest_nodes,
                                     np.zeros(len(dest_nodes)), predecessors=predecessors)
    return dist, np.where(label >= 0, dest_nodes[np.maximum(label, 0)], -1), pred


def _at_origins(dist: np.ndarray, src: np.ndarray, origin_nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ok = origin_nodes >= 0
    t = np.full(len(origin_nodes), np.inf)
    s = np.full(len(origin_nodes), -1, dtype=np.int64)
    t[ok] = dist[origin_nodes[ok]]
    s[ok] = src[origin_nodes[ok]]
    return t, s


def _nearest(matrix: sparse.csr_matrix, dest_nodes: np.ndarray, origin_nodes: np.ndarray,
             predecessors: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """One multi-source pass: time (s) and source node of every origin, optional predecessors."""
    dist, src, pred = _pass(matrix, dest_nodes, predecessors)
    return (*_at_origins(dist, src, origin_nodes), pred)


# ============================================================================ routing core
@dataclass
class _Routing:
    """Everything one corridor analysis needs, computed once (graph, nodes, base pass, paths)."""

    network: RoadNetwork
    graph: AugmentedGraph
    origins: gpd.GeoDataFrame
    origin_ids: np.ndarray
    population: np.ndarray
    origin_nodes: np.ndarray
    dest_nodes: np.ndarray
    dest_ids: np.ndarray
    dest_tiers: np.ndarray
    time_s: np.ndarray
    dest_pos: np.ndarray
    pred: np.ndarray
    pieces: dict[str, np.ndarray]  # per arc of every path: path, seq, arc, edge, f0, f1, length_m, time_s
    path_of_origin: np.ndarray  # origin position -> path position (-1 when unreachable)
    population_known: np.ndarray  # per origin: its population is known (``population`` is 0 otherwise)


def _route(network: RoadNetwork, localities: gpd.GeoDataFrame, targets: Mapping[str, gpd.GeoDataFrame], *,
           only_class: str | Sequence[str] | None, id_col: str | None, population_col: str,
           class_col: str, dest_id_col: str | None, options: RouteOptions | None) -> _Routing:
    _check_inputs(localities, targets, population_col, class_col)
    if only_class is None:
        sel = np.ones(len(localities), dtype=bool)
    else:
        classes = [only_class] if isinstance(only_class, str) else list(only_class)
        sel = localities[class_col].astype(str).isin(classes).to_numpy()
    origins = localities.loc[sel]
    ids_all = _origin_ids(localities, id_col)
    pop = pd.to_numeric(origins[population_col], errors="coerce")
    if pop.notna().sum() < len(pop) - int(origins[population_col].isna().sum()):
        raise ColumnError(f"population column '{population_col}' holds non-numeric values")
    if (pop < 0).any():
        raise ColumnError(f"population column '{population_col}' holds negative values")
    population = pop.fillna(0.0).to_numpy(dtype=float)
    log.info("%d of %d localities selected as corridor origins (%s in %s)", len(origins), len(localities),
             only_class, class_col)
    tier_items = [(name, d) for name, d in targets.items()]
    opts = options_or_default(options)
    graph, osn, _tsn = prepare_graph(network, origins, dict(tier_items), opts)
    origin_nodes = graph.offroad_node[graph.group(0)] if len(origins) else np.empty(0, dtype=np.int64)
    dn, di, dt = [], [], []
    for k, (name, dests) in enumerate(tier_items, start=1):
        nodes = graph.offroad_node[graph.group(k)]
        ids = ids_of(dests, dest_id_col).to_numpy()
        ok = nodes >= 0
        dn.append(nodes[ok])
        di.append(ids[ok])
        dt.append(np.full(int(ok.sum()), name, dtype=object))
    dest_nodes = np.concatenate(dn).astype(np.int64) if dn else np.empty(0, dtype=np.int64)
    if len(dest_nodes) == 0:
        raise RoutingError(f"no target of tiers {', '.join(targets)} is within {opts.max_snap_m:.0f} m of a road")
    dest_ids = np.concatenate(di)
    dest_tiers = np.concatenate(dt)
    _w, rev, _pos = _canonical_reverse(graph)
    time_s, src, pred = _nearest(rev, dest_nodes, origin_nodes, predecessors=True)
    assert pred is not None
    # several destinations may share a node (same point): the first one listed wins
    first = pd.Series(np.arange(len(dest_nodes)), index=dest_nodes)
    first = first[~first.index.duplicated()]
    dest_pos = np.full(len(origin_nodes), -1, dtype=np.int64)
    has = src >= 0
    dest_pos[has] = first.reindex(src[has]).to_numpy()
    n_un = int((~np.isfinite(time_s)).sum())
    if n_un:
        log.warning("%d of %d corridor origins reach no target (too far from a road or disconnected)",
                    n_un, len(origin_nodes))
    pieces, path_of_origin = _trace_paths(network, graph, pred, origin_nodes, np.isfinite(time_s))
    return _Routing(network, graph, origins, ids_all[sel], population, origin_nodes, dest_nodes, dest_ids,
                    dest_tiers, time_s, dest_pos, pred, pieces, path_of_origin, pop.notna().to_numpy())


def _trace_paths(network: RoadNetwork, graph: AugmentedGraph, pred: np.ndarray, origin_nodes: np.ndarray,
                 reachable: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Arcs of the path of every reachable origin, in travel order (the tree is followed in
    compiled code, the arcs looked up vectorised)."""
    path_of_origin = np.full(len(origin_nodes), -1, dtype=np.int64)
    reach = np.flatnonzero(reachable)
    n_paths = len(reach)
    path_of_origin[reach] = np.arange(n_paths)
    try:
        t, h, lengths = trace_paths(pred, origin_nodes[reach])
    except ValueError as exc:
        raise RoutingError(f"internal error: {exc}") from None
    path = np.repeat(np.arange(n_paths), lengths)
    seq = run_positions(lengths)
    arc = _arc_to_pred(graph, pred)[t]  # every step leaves its tail towards the tail's predecessor
    if len(arc) and arc.min() < 0:
        raise RoutingError("internal error: a path step is not an arc of the augmented graph")
    weight, _rev, _pos = _canonical_reverse(graph)
    edge = graph.arc_edge[arc]
    f0 = graph.arc_f0[arc]
    f1 = graph.arc_f1[arc]
    elen = network.edges["length_m"].to_numpy(dtype=float)
    length = np.where(edge >= 0, (f1 - f0) * elen[np.maximum(edge, 0)], 0.0)
    log.debug("corridor paths: %d steps over %d paths", len(arc), n_paths)
    pieces = {"path": path, "seq": seq, "arc": arc, "edge": edge, "f0": f0, "f1": f1, "length_m": length,
              "time_s": weight[arc]}
    return pieces, path_of_origin


def _arc_to_pred(graph: AugmentedGraph, pred: np.ndarray) -> np.ndarray:
    """For every node, the arc from it to its predecessor in the tree (-1 for roots and nodes
    not reached): one lookup per node rather than per path step."""
    skeys, korder = _arc_order(graph)
    node = np.flatnonzero(pred >= 0)
    want = node * graph.n_nodes + pred[node]
    at = np.minimum(np.searchsorted(skeys, want), max(len(skeys) - 1, 0))
    out = np.full(len(pred), -1, dtype=np.int64)
    found = skeys[at] == want if len(skeys) else np.zeros(len(want), dtype=bool)
    out[node[found]] = korder[at[found]]
    return out


def _path_geometries(network: RoadNetwork, pieces: dict[str, np.ndarray], n_paths: int, start_xy: np.ndarray,
                     end_xy: np.ndarray) -> np.ndarray:
    """One LineString (EPSG:4326) per path from the road pieces it uses; a straight off-road
    line between its ends when it uses no road.

    Paths share most of their pieces (they form a tree towards the targets): each distinct piece
    is cut once, then the coordinates are gathered per path in one vectorised step.
    """
    on_road = pieces["edge"] >= 0
    e = pieces["edge"][on_road]
    f0 = pieces["f0"][on_road]
    f1 = pieces["f1"][on_road]
    whole = (f0 == 0.0) & (f1 == 1.0)
    # blocks: whole edges first, then the distinct cut pieces (fractions are of the metric length)
    w_edges, w_inv = dense_ranks(e[whole], network.n_edges)
    c_key = pd.MultiIndex.from_arrays([e[~whole], f0[~whole], f1[~whole]])
    c_codes, c_uniq = pd.factorize(c_key)
    cut_e = c_uniq.get_level_values(0).to_numpy(dtype=np.int64)
    c_edges, c_line = dense_ranks(cut_e, network.n_edges)
    tr = (Transformer.from_crs(4326, network.crs, always_xy=True), Transformer.from_crs(network.crs, 4326,
                                                                                       always_xy=True))
    wc, ws, wn = block_table(network.edge_geometry[w_edges])
    cc, cs, cn = cut_lines(network.edge_geometry[c_edges], c_line, c_uniq.get_level_values(1).to_numpy(),
                           c_uniq.get_level_values(2).to_numpy(), *tr)
    block = np.empty(len(e), dtype=np.int64)
    block[whole] = w_inv
    block[~whole] = len(w_edges) + c_codes
    xy, pid = join_blocks(np.concatenate([wc, cc]), np.concatenate([ws, cs + len(wc)]), np.concatenate([wn, cn]),
                          block, pieces["path"][on_road])
    out, good = lines_of_paths(xy, pid, n_paths)
    for k in np.flatnonzero(~good):
        out[k] = shapely.LineString([start_xy[k], end_xy[k]])
    return out


def _corridor_frame(r: _Routing) -> gpd.GeoDataFrame:
    import geopandas as gpd

    net = r.network
    reach = np.flatnonzero(r.path_of_origin >= 0)
    n_paths = len(reach)
    pieces = r.pieces
    flag = is_unpaved_or_low(net.edges)
    road = pieces["edge"] >= 0
    plen = pieces["length_m"]
    ppath = pieces["path"]
    length = np.bincount(ppath, weights=plen, minlength=n_paths)
    bad = np.bincount(ppath, weights=np.where(road, plen * flag[np.maximum(pieces["edge"], 0)], 0.0),
                      minlength=n_paths)
    seg = net.edges["segment"].to_numpy()
    road_path = ppath[road]
    n_pieces = np.bincount(road_path[_first_uses(road_path, seg[pieces["edge"][road]])],
                           minlength=n_paths)  # distinct road pieces per path
    g = r.graph
    snaps = g.snaps
    on_o = np.arange(len(r.origin_nodes))[reach]  # origin positions in snap group 0
    dpos = r.dest_pos[reach]
    # snap rows of the destinations: offroad node -> global point index
    node_to_point = pd.Series(np.arange(len(g.offroad_node)), index=g.offroad_node)
    node_to_point = node_to_point[node_to_point.index >= 0]
    d_point = node_to_point.reindex(r.dest_nodes[dpos]).to_numpy()
    offroad_m = snaps.snap_dist_m[on_o] + snaps.snap_dist_m[d_point]
    start = np.column_stack([snaps.snapped_lon[on_o], snaps.snapped_lat[on_o]])
    end = np.column_stack([snaps.snapped_lon[d_point], snaps.snapped_lat[d_point]])
    geoms = _path_geometries(net, pieces, n_paths, start, end)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(length > 0, bad / np.where(length > 0, length, 1.0), np.nan)
    data: dict[str, Any] = {
        "origin_id": r.origin_ids[reach],
        "target_id": r.dest_ids[dpos],
        "target_tier": r.dest_tiers[dpos],
        "travel_time_min": r.time_s[reach] / 60.0,
        "length_km": length / 1000.0,
        "unpaved_share": share,
        # a weight of 0 routes a locality of unknown population; the figure written is unknown
        "population_served": np.where(r.population_known[reach], r.population[reach], np.nan),
        "n_road_pieces": n_pieces,
        "offroad_km": offroad_m / 1000.0,
    }
    return gpd.GeoDataFrame(data, geometry=list(geoms) if n_paths else [], crs=4326)


# ============================================================================ public API
def suggest_corridors(network: RoadNetwork, classified_localities: gpd.GeoDataFrame,
                      targets: Mapping[str, gpd.GeoDataFrame], only_class: str | Sequence[str] | None = "MRA",
                      *, id_col: str | None = None, population_col: str = "population",
                      class_col: str = "area_class", dest_id_col: str | None = None,
                      options: RouteOptions | None = None) -> gpd.GeoDataFrame:
    """Least-time path from every MRA locality (or area) to its nearest target.

    Parameters
    ----------
    network
        A built :class:`~territorial_gis.network.RoadNetwork`.
    classified_localities
        Localities or areas (points or polygons, any CRS) with ``area_class`` (``class_col``)
        and ``population`` (``population_col``), e.g. from
        :func:`territorial_gis.classify.classify_areas`. Polygons route from their
        representative point.
    targets
        Tier name -> destinations GeoDataFrame (ids in ``dest_id``/``place_id``/``id`` or
        ``dest_id_col``). The nearest target among all tiers is used (one pass over them all).
    only_class
        Class(es) of ``class_col`` routed (default ``"MRA"``); None routes every row.
    id_col
        Origin id column (default the first of ``locality_id``, ``place_id``, ``area_id``, ``id``,
        else the index).
    options
        Snapping distance and off-road walking speed (:class:`~territorial_gis.RouteOptions`),
        as in :func:`territorial_gis.access.travel_times_to_nearest`.

    Returns
    -------
    geopandas.GeoDataFrame
        One line (EPSG:4326, along the roads, origin to target) per reachable origin:
        ``origin_id``, ``target_id``, ``target_tier``, ``travel_time_min`` (off-road legs
        included; equal to the access table's ``travel_time_<target_tier>_min``),
        ``length_km`` (on-road length), ``unpaved_share`` (share of ``length_km`` on unpaved or
        low-class roads, see :func:`is_unpaved_or_low`), ``population_served`` (the origin's
        population), ``n_road_pieces``, ``offroad_km`` (both snapping legs), and
        ``edge_rows`` (network edge rows of the path in travel order, for
        :func:`corridor_segments`; drop it before writing files).
        Origins that reach no target are left out (logged).
    """
    r = _route(network, classified_localities, targets, only_class=only_class, id_col=id_col,
               population_col=population_col, class_col=class_col, dest_id_col=dest_id_col, options=options)
    return _corridors_with_edges(r)


def _corridors_with_edges(r: _Routing) -> gpd.GeoDataFrame:
    gdf = _corridor_frame(r)
    # road pieces of positive length (zero-length arcs join points snapped to the same spot)
    pc = r.pieces
    road = (pc["edge"] >= 0) & (pc["f1"] > pc["f0"])
    e = pc["edge"][road]
    p = pc["path"][road]
    keep = np.ones(len(e), dtype=bool)  # an edge split by other points appears once
    if len(e):
        keep[1:] = ~((p[1:] == p[:-1]) & (e[1:] == e[:-1]))
    e, p = e[keep], p[keep]
    bounds = np.searchsorted(p, np.arange(len(gdf) + 1))
    gdf["edge_rows"] = [e[bounds[k]:bounds[k + 1]] for k in range(len(gdf))]
    return gdf


def _segment_table(network: RoadNetwork, corridors: pd.DataFrame) -> pd.DataFrame:
    """(path, seq, segment, edge) of every road piece on every corridor, in travel order."""
    if "edge_rows" not in corridors:
        raise ColumnError("corridors lack the 'edge_rows' column (use the output of suggest_corridors)")
    rows = list(corridors["edge_rows"])
    lengths = np.fromiter((len(x) for x in rows), dtype=np.int64, count=len(rows))
    edge = (np.concatenate([np.asarray(x, dtype=np.int64) for x in rows]) if len(rows)
            else np.empty(0, dtype=np.int64))
    if len(edge) and (edge.min() < 0 or edge.max() >= network.n_edges):
        raise ColumnError("corridor edge rows do not belong to this network")
    path = np.repeat(np.arange(len(rows)), lengths)
    seg = network.edges["segment"].to_numpy()[edge]
    first = _first_uses(path, seg)  # both directions of a road are one piece
    path, edge, seg = path[first], edge[first], seg[first]
    return pd.DataFrame({"path": path, "edge": edge, "segment": seg,
                         "seq": run_positions(np.bincount(path, minlength=len(rows)))})


def _first_uses(path: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """True where a path (ids ``0..``) uses a road piece for the first time, in the given order."""
    key = path * (int(segment.max()) + 1 if len(segment) else 1) + segment
    order = np.argsort(key, kind="stable")
    first = np.ones(len(key), dtype=bool)
    first[order[1:]] = key[order[1:]] != key[order[:-1]]
    return first


def corridor_segments(network: RoadNetwork, corridors: gpd.GeoDataFrame, level: str = "stretch",
                      population_col: str = "population_served") -> gpd.GeoDataFrame:
    """Overlay corridors on the network and aggregate the population they serve.

    Parameters
    ----------
    network
        The network the corridors were computed on.
    corridors
        Output of :func:`suggest_corridors` (needs ``edge_rows`` and ``population_served``).
    level
        ``"edge"``: one row per road piece (both directions of a two-way road are one piece)
        used by at least one corridor. ``"stretch"``: consecutive road pieces used by the
        same set of corridors, of the same ``highway`` class and the same unpaved/low-class
        status, merged into one line.

    Returns
    -------
    geopandas.GeoDataFrame
        Lines (EPSG:4326) with ``stretch_id``, ``population_served`` (sum over the corridors
        crossing it), ``n_localities`` (number of corridors crossing it), ``highway``,
        ``surface`` (the dominant value by length; ``unknown`` when untagged),
        ``unpaved_share``, ``length_km``, ``speed_kph`` (length / time), ``travel_time_min``
        and ``segment_ids`` (road pieces, in travel order); at edge level also ``segment``
        and ``edge_row`` (the directed edge travelled).
    """
    import geopandas as gpd

    if level not in ("edge", "stretch"):
        raise ConfigError(f"level must be 'edge' or 'stretch', got {level!r}")
    if population_col not in corridors:
        raise ColumnError(f"corridors lack the '{population_col}' column")
    tab = _segment_table(network, corridors)
    edges = network.edges
    flag = is_unpaved_or_low(edges)
    pop = pd.to_numeric(corridors[population_col], errors="coerce").to_numpy(dtype=float)
    tab = tab.join(_segment_users(tab, pop, len(corridors)), on="segment")
    e = tab["edge"].to_numpy()
    hw = edges["highway"].astype(str).to_numpy()[e] if "highway" in edges else np.full(len(e), "")
    canon = _stretch_runs(tab, hw, flag[e])
    seg_rows = _segment_rows(network, canon, hw, flag)
    if level == "edge":
        seg_rows["unpaved_share"] = seg_rows.pop("unpaved").astype(float)
        seg_rows["segment_ids"] = [np.array([s]) for s in seg_rows["segment"]]
        return gpd.GeoDataFrame(seg_rows, geometry=list(network.edge_geometry[seg_rows["edge_row"].to_numpy()]),
                                crs=4326)
    return _stretch_frame(network, seg_rows)


def _segment_users(tab: pd.DataFrame, pop: np.ndarray, n_corridors: int) -> pd.DataFrame:
    """Per road piece (index ``segment``): population served (the known population of the
    corridors using it; NaN when none of theirs is known) and number of the corridors using it,
    their set as two 64-bit hashes ``k1``, ``k2`` (collisions are negligible) and the first of
    them (``first_path``)."""
    rng = np.random.default_rng(20240607)
    h1 = rng.integers(0, 2**63 - 1, size=n_corridors, dtype=np.int64)
    h2 = rng.integers(0, 2**63 - 1, size=n_corridors, dtype=np.int64)
    by_seg = tab.sort_values(["segment", "path"], kind="stable")
    sg = by_seg["segment"].to_numpy()
    start = np.flatnonzero(np.r_[True, sg[1:] != sg[:-1]]) if len(sg) else np.empty(0, dtype=np.int64)
    pth = by_seg["path"].to_numpy()
    return pd.DataFrame({
        "segment": sg[start] if len(sg) else np.empty(0, dtype=np.int64),
        "population_served": _known_sums(pop[pth], start),
        "n_localities": np.diff(np.r_[start, len(sg)]) if len(sg) else np.empty(0, dtype=np.int64),
        "k1": np.bitwise_xor.reduceat(h1[pth], start) if len(sg) else np.empty(0, dtype=np.int64),
        "k2": np.bitwise_xor.reduceat(h2[pth], start) if len(sg) else np.empty(0, dtype=np.int64),
        "first_path": pth[start] if len(sg) else np.empty(0, dtype=np.int64),
    }).set_index("segment")


def _known_sums(values: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Sums of the runs beginning at ``start``, NaN values left out; NaN where none is known."""
    if not len(values):
        return np.empty(0)
    known = np.isfinite(values)
    sums = np.add.reduceat(np.where(known, values, 0.0), start)
    return np.where(np.add.reduceat(known.astype(np.int64), start) > 0, sums, np.nan)


def _stretch_runs(tab: pd.DataFrame, hw: np.ndarray, fl: np.ndarray) -> pd.DataFrame:
    """The road pieces as travelled by the first corridor using each, with ``stretch_id``: runs
    of consecutive pieces of one path with the same corridor set, class and unpaved status,
    numbered in order of first appearance; sorted by stretch, then travel order."""
    same = np.zeros(len(tab), dtype=bool)
    if len(tab):
        p = tab["path"].to_numpy()
        k1 = tab["k1"].to_numpy()
        k2 = tab["k2"].to_numpy()
        same[1:] = ((p[1:] == p[:-1]) & (k1[1:] == k1[:-1]) & (k2[1:] == k2[:-1])
                    & (hw[1:] == hw[:-1]) & (fl[1:] == fl[:-1]))
    tab["run"] = np.cumsum(~same) - 1
    canon = tab[tab["path"].to_numpy() == tab["first_path"].to_numpy()].copy()
    canon["stretch_id"] = pd.factorize(canon["run"])[0]
    return canon.sort_values(["stretch_id", "seq"], kind="stable")


def _segment_rows(network: RoadNetwork, canon: pd.DataFrame, hw: np.ndarray, flag: np.ndarray) -> pd.DataFrame:
    """One row per road piece on a corridor, in stretch order, with its road attributes."""
    edges = network.edges
    length_m = edges["length_m"].to_numpy(dtype=float)
    time_s = edges["travel_time_s"].to_numpy(dtype=float)
    surface = (edges["surface"].astype(object).where(edges["surface"].notna(), "unknown").astype(str).to_numpy()
               if "surface" in edges else np.full(len(edges), "unknown"))
    ce = canon["edge"].to_numpy()
    seg_rows = pd.DataFrame({
        "stretch_id": canon["stretch_id"].to_numpy(),
        "segment": canon["segment"].to_numpy(),
        "edge_row": ce,
        "population_served": canon["population_served"].to_numpy(),
        "n_localities": canon["n_localities"].to_numpy(),
        "highway": hw[np.asarray(canon.index)] if len(canon) else np.empty(0, dtype=object),
        "surface": surface[ce],
        "unpaved": flag[ce],
        "length_km": length_m[ce] / 1000.0,
        "travel_time_min": time_s[ce] / 60.0,
    })
    with np.errstate(invalid="ignore", divide="ignore"):
        seg_rows["speed_kph"] = seg_rows["length_km"] / (seg_rows["travel_time_min"] / 60.0)
    return seg_rows


def _stretch_frame(network: RoadNetwork, seg_rows: pd.DataFrame) -> gpd.GeoDataFrame:
    """The road pieces aggregated per stretch, their lines merged."""
    import geopandas as gpd

    grp = seg_rows.groupby("stretch_id", sort=True)
    lens = grp["length_km"].sum()
    tt = grp["travel_time_min"].sum()
    seg_rows["bad_km"] = seg_rows["length_km"] * seg_rows["unpaved"]
    surf = (seg_rows.groupby(["stretch_id", "surface"])["length_km"].sum().reset_index()
            .sort_values(["stretch_id", "length_km"], ascending=[True, False], kind="stable")
            .drop_duplicates("stretch_id").set_index("stretch_id")["surface"])
    out = pd.DataFrame({
        "stretch_id": lens.index.to_numpy(),
        "population_served": grp["population_served"].first().to_numpy(),
        "n_localities": grp["n_localities"].first().to_numpy(),
        "highway": grp["highway"].first().to_numpy(),
        "surface": surf.reindex(lens.index).to_numpy(),
        "unpaved_share": (grp["bad_km"].sum() / lens.where(lens > 0)).to_numpy(),
        "length_km": lens.to_numpy(),
        "travel_time_min": tt.to_numpy(),
        "n_segments": grp.size().to_numpy(),
    })
    with np.errstate(invalid="ignore", divide="ignore"):
        out["speed_kph"] = out["length_km"] / (out["travel_time_min"] / 60.0)
    bounds = np.r_[0, np.cumsum(out["n_segments"].to_numpy())]
    segs = seg_rows["segment"].to_numpy()
    out["segment_ids"] = [segs[bounds[k]:bounds[k + 1]] for k in range(len(out))]
    geoms = _merge_lines(network.edge_geometry[seg_rows["edge_row"].to_numpy()], bounds)
    return gpd.GeoDataFrame(out, geometry=list(geoms), crs=4326)


def _merge_lines(geoms: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Concatenate consecutive edge lines of each group into one LineString."""
    n = len(bounds) - 1
    if len(geoms) == 0:
        return np.empty(n, dtype=object)
    coords, starts, counts = block_table(geoms)
    group = np.searchsorted(bounds, np.arange(len(geoms)), side="right") - 1
    xy, of = join_blocks(coords, starts, counts, np.arange(len(geoms)), group)
    out, ok = lines_of_paths(xy, of, n)
    for k in np.flatnonzero(~ok):  # degenerate (zero-length) pieces
        out[k] = geoms[bounds[k]]
    return out


# ============================================================================ upgrades
def _upgrade_profile(network: RoadNetwork, profile: Profile | str | os.PathLike[str] | None) -> Profile:
    if profile is not None:
        return load_profile(profile)
    src = network.meta.get("profile")
    if isinstance(src, str) and os.path.isfile(src):
        return load_profile(src)
    mode = network.meta.get("mode", "drive")
    return load_profile(None, mode=mode if mode in ("drive", "walk") else "drive")


def _candidate_segments(candidates: Any) -> tuple[list[Any], list[np.ndarray]]:
    """Candidate ids and their road-piece (segment) ids from a DataFrame or a mapping."""
    if isinstance(candidates, pd.DataFrame):
        if "segment_ids" not in candidates:
            raise ColumnError("candidates need a 'segment_ids' column (road piece ids), as in the output "
                              "of corridor_segments")
        ids = (list(candidates["stretch_id"]) if "stretch_id" in candidates else list(candidates.index))
        segs = [np.atleast_1d(np.asarray(s, dtype=np.int64)) for s in candidates["segment_ids"]]
        return ids, segs
    if isinstance(candidates, Mapping):
        return list(candidates), [np.atleast_1d(np.asarray(v, dtype=np.int64)) for v in candidates.values()]
    raise ConfigError("candidates must be a DataFrame with 'segment_ids' or a mapping id -> segment ids")


@dataclass
class CorridorAnalysis:
    """Corridors, their stretches and the upgrade ranking from one routing graph."""

    corridors: gpd.GeoDataFrame
    segments: gpd.GeoDataFrame
    upgrades: gpd.GeoDataFrame


def analyze_corridors(network: RoadNetwork, classified_localities: gpd.GeoDataFrame,
                      targets: Mapping[str, gpd.GeoDataFrame], only_class: str | Sequence[str] | None = "MRA",
                      *, candidates: Any = None, upgrade_to: str | None = "secondary", top: int = 20,
                      n_candidates: int = DEFAULT_CANDIDATES, profile: Profile | str | None = None,
                      id_col: str | None = None, population_col: str = "population",
                      class_col: str = "area_class", dest_id_col: str | None = None,
                      options: RouteOptions | None = None) -> CorridorAnalysis:
    """:func:`suggest_corridors`, :func:`corridor_segments` and :func:`rank_upgrades` sharing one
    augmented graph and one base pass. ``upgrade_to=None`` skips the ranking (empty table)."""
    prof = None
    if upgrade_to is not None:
        prof = _upgrade_profile(network, profile)
        _upgrade_speed(prof, upgrade_to)
    r = _route(network, classified_localities, targets, only_class=only_class, id_col=id_col,
               population_col=population_col, class_col=class_col, dest_id_col=dest_id_col, options=options)
    corridors = _corridors_with_edges(r)
    stretches = corridor_segments(network, corridors, level="stretch")
    if upgrade_to is None or prof is None:
        upgrades = _empty_upgrades()
    else:
        upgrades = _rank(r, stretches, candidates, prof, upgrade_to, top, n_candidates)
    return CorridorAnalysis(corridors, stretches, upgrades)


def _upgrade_speed(profile: Profile, upgrade_to: str) -> float:
    if upgrade_to not in profile.highway_speed_kph:
        raise ConfigError(f"upgrade class '{upgrade_to}' is not in the speed profile {profile.source}; "
                          f"classes: {', '.join(sorted(profile.highway_speed_kph))}")
    speed = float(profile.highway_speed_kph[upgrade_to])
    if speed <= 0:
        raise ConfigError(f"upgrade class '{upgrade_to}' has speed {speed} km/h in {profile.source}")
    return speed


UPGRADE_COLUMNS = ["rank", "stretch_id", "highway", "surface", "unpaved_share", "length_km", "speed_kph",
                   "upgrade_to", "upgrade_speed_kph", "population_served", "n_localities",
                   "person_min_saved", "person_min_saved_per_km", "population_affected",
                   "n_localities_affected", "mean_before_min", "mean_after_min", "max_saved_min",
                   "n_targets_changed", "ranked_by"]


#: what the upgrade ranking is ordered by (``ranked_by`` column of the ranking)
RANKED_BY_PERSON_MINUTES = "person_min_saved_per_km"
RANKED_BY_LOCALITIES = "n_localities_affected"
#: columns that need population: unknown (NaN) when the origins have no known population
_POPULATION_COLUMNS = ("population_served", "person_min_saved", "person_min_saved_per_km", "population_affected")


def _order_upgrades(res: pd.DataFrame, population_known: bool) -> pd.DataFrame:
    """Best upgrades first: by person-minutes saved per km, or - when the origins' population is
    unknown - by the localities whose time falls, then the largest saving, then the shortest
    stretch; the population columns are then NaN (unknown, not 0). ``ranked_by`` says which."""
    if population_known:
        res = res.sort_values(["person_min_saved_per_km", "person_min_saved"], ascending=[False, False],
                              kind="stable")
        return res.assign(ranked_by=RANKED_BY_PERSON_MINUTES)
    res = res.assign(**{c: np.nan for c in _POPULATION_COLUMNS if c in res})
    res = res.sort_values(["n_localities_affected", "max_saved_min", "length_km"], ascending=[False, False, True],
                          kind="stable")
    return res.assign(ranked_by=RANKED_BY_LOCALITIES)


def _empty_upgrades() -> gpd.GeoDataFrame:
    import geopandas as gpd

    return gpd.GeoDataFrame({c: [] for c in UPGRADE_COLUMNS}, geometry=[], crs=4326)


def rank_upgrades(network: RoadNetwork, classified_localities: gpd.GeoDataFrame,
                  targets: Mapping[str, gpd.GeoDataFrame], candidates: Any = None,
                  upgrade_to: str = "secondary", top: int = 20, *, n_candidates: int = DEFAULT_CANDIDATES,
                  only_class: str | Sequence[str] | None = "MRA", profile: Profile | str | None = None,
                  id_col: str | None = None, population_col: str = "population",
                  class_col: str = "area_class", dest_id_col: str | None = None,
                  options: RouteOptions | None = None) -> gpd.GeoDataFrame:
    """Rank road stretches by the travel time an upgrade would save MRA people, by re-routing.

    For each candidate stretch, the arcs of its road pieces (both directions, including the
    parts split at snapped points) get the travel time at ``max(current speed, speed of
    upgrade_to)``; one multi-source shortest-path pass from all targets over this modified
    copy of the graph gives every origin's new time to its nearest target (alternative routes
    and other targets are picked up), compared with the unmodified pass.

    Parameters
    ----------
    candidates
        None: the stretches of :func:`corridor_segments` with at least one road piece slower
        than the upgrade class (unpaved, low-class or slow roads on corridors), the
        ``n_candidates`` with the most population served. Otherwise a DataFrame with a
        ``segment_ids`` column (road piece ids; ``stretch_id`` or the index names them) or a
        mapping ``id -> segment ids``; all are evaluated.
    upgrade_to
        A highway class of the speed ``profile`` (default: the network's profile, else the
        shipped drive profile).
    top
        Rows returned (best first).

    Returns
    -------
    geopandas.GeoDataFrame
        ``rank``, ``stretch_id``, ``highway``, ``surface``, ``unpaved_share``, ``length_km``,
        ``speed_kph``, ``upgrade_to``, ``upgrade_speed_kph``, ``population_served`` (MRA
        population whose corridor uses it), ``n_localities``, ``person_min_saved``
        (sum over origins of population x minutes saved), ``person_min_saved_per_km`` (the
        ranking key), ``population_affected`` / ``n_localities_affected`` (origins whose time
        drops), ``mean_before_min`` / ``mean_after_min`` (population-weighted mean time of the
        affected origins; the plain mean when they have no population), ``max_saved_min``,
        ``n_targets_changed``, ``ranked_by`` and the stretch geometry (EPSG:4326).
        When the origins' population is unknown, the population columns (``population_served``,
        ``person_min_saved``, ``person_min_saved_per_km``, ``population_affected``) are NaN and the
        stretches are ranked by ``n_localities_affected`` (then ``max_saved_min``); ``ranked_by``
        names the key (``person_min_saved_per_km`` or ``n_localities_affected``).
    """
    prof = _upgrade_profile(network, profile)
    _upgrade_speed(prof, upgrade_to)
    r = _route(network, classified_localities, targets, only_class=only_class, id_col=id_col,
               population_col=population_col, class_col=class_col, dest_id_col=dest_id_col, options=options)
    stretches = corridor_segments(network, _corridors_with_edges(r), level="stretch")
    return _rank(r, stretches, candidates, prof, upgrade_to, top, n_candidates)


def upgrade_candidates(network: RoadNetwork, stretches: gpd.GeoDataFrame, upgrade_speed_kph: float,
                       n_candidates: int = DEFAULT_CANDIDATES) -> gpd.GeoDataFrame:
    """The corridor stretches worth upgrading: those with a road piece slower than
    ``upgrade_speed_kph``, the ``n_candidates`` serving the most MRA population (then the longest).

    Parameters
    ----------
    stretches
        Output of :func:`corridor_segments` (``level="stretch"``).
    """
    seg = network.edges["segment"].to_numpy()
    speed = network.edges["speed_kph"].to_numpy(dtype=float)
    # one membership test for all stretches (a test per stretch takes hours at country scale)
    ids = list(stretches["segment_ids"])
    n_ids = np.fromiter((len(s) for s in ids), dtype=np.int64, count=len(ids))
    flat = np.concatenate(ids) if ids else np.empty(0, dtype=np.int64)
    slow = np.isin(flat, seg[speed < upgrade_speed_kph])
    has_slow = np.bincount(np.repeat(np.arange(len(ids)), n_ids), weights=slow, minlength=len(ids)) > 0
    return stretches[has_slow].sort_values(["population_served", "length_km"], ascending=[False, False],
                                           kind="stable").head(n_candidates)


def _rank(r: _Routing, stretches: gpd.GeoDataFrame, candidates: Any, profile: Profile, upgrade_to: str,
          top: int, n_candidates: int) -> gpd.GeoDataFrame:
    """Re-route every candidate stretch (the base pass updated from its faster arcs) and rank them
    (by the localities whose time falls when no origin's population is known)."""
    if top < 1 or n_candidates < 1:
        raise ConfigError(f"top and n_candidates must be at least 1 (got {top}, {n_candidates})")
    v_up = _upgrade_speed(profile, upgrade_to)
    cand_ids, cand_segs, info = _pick_candidates(r.network, stretches, candidates, v_up, n_candidates)
    if not cand_ids:
        log.info("no candidate stretch to upgrade")
        return _empty_upgrades()
    upgrade = _ArcUpgrade.of(r.network, r.graph, v_up)
    rev = upgrade.rev
    base_dist, base_node_src, _ = _pass(rev, r.dest_nodes, predecessors=False)
    base_t, base_src = _at_origins(base_dist, base_node_src, r.origin_nodes)
    rows = []
    for cid, segs in progress(list(zip(cand_ids, cand_segs, strict=True)), desc="re-routing upgrades"):
        data = upgrade.weights(segs)
        # only the arcs made faster change the pass: update it from them (it spreads only where
        # times improve) instead of a new pass over the whole graph
        dist1, node_src1 = nearest_seed_improve(rev.indptr, rev.indices, data, base_dist, base_node_src,
                                                np.flatnonzero(data < rev.data))
        after_t, after_src = _at_origins(dist1, node_src1, r.origin_nodes)
        rows.append({"stretch_id": cid, **_savings(r.population, base_t, base_src, after_t, after_src)})
    out = _upgrade_table(rows, info, upgrade_to, v_up, top, population_known=bool(r.population_known.any()))
    log.info("re-routed %d candidate stretches (the base pass updated from each)", len(cand_ids))
    return out


def _pick_candidates(network: RoadNetwork, stretches: gpd.GeoDataFrame, candidates: Any, v_up: float,
                     n_candidates: int) -> tuple[list[Any], list[np.ndarray], pd.DataFrame]:
    """Candidate ids, their road-piece ids and their attributes (indexed by candidate id)."""
    if candidates is None:
        pool = upgrade_candidates(network, stretches, v_up, n_candidates)
        cand_ids, cand_segs = _candidate_segments(pool)
        return cand_ids, cand_segs, pool.set_index("stretch_id")
    cand_ids, cand_segs = _candidate_segments(candidates)
    return cand_ids, cand_segs, _describe_candidates(network, cand_ids, cand_segs, stretches)


@dataclass
class _ArcUpgrade:
    """Lookups from road pieces to the arcs of the reversed augmented graph, shared by every
    candidate: :meth:`weights` gives the reversed CSR's data with one stretch upgraded."""

    network: RoadNetwork
    graph: AugmentedGraph
    v_up: float  # km/h of the upgrade class
    weight: np.ndarray  # time (s) of every arc
    rev: sparse.csr_matrix  # reversed graph (its data in CSR order)
    pos: np.ndarray  # CSR data position of every arc
    speed: np.ndarray  # km/h of every directed edge
    elen: np.ndarray  # m of every directed edge
    in_arcs: np.ndarray  # directed edge has an arc (parallel edges dropped by the graph do not)
    e_order: np.ndarray  # directed edges sorted by road piece
    seg_sorted: np.ndarray
    arc_order: np.ndarray  # arcs sorted by directed edge
    arc_edge_sorted: np.ndarray
    key_sorted: tuple[np.ndarray, np.ndarray] | None = None  # sorted tail*n+head keys and their arcs (lazy)

    @classmethod
    def of(cls, network: RoadNetwork, graph: AugmentedGraph, v_up: float) -> _ArcUpgrade:
        edges = network.edges
        seg = edges["segment"].to_numpy()
        weight, rev, pos = _canonical_reverse(graph)
        arc_edge = graph.arc_edge
        in_arcs = np.zeros(network.n_edges, dtype=bool)
        in_arcs[arc_edge[arc_edge >= 0]] = True
        e_order = np.argsort(seg, kind="stable")
        arc_order = np.argsort(arc_edge, kind="stable")
        return cls(network, graph, v_up, weight, rev, pos, edges["speed_kph"].to_numpy(dtype=float),
                   edges["length_m"].to_numpy(dtype=float), in_arcs, e_order, seg[e_order], arc_order,
                   arc_edge[arc_order])

    def weights(self, segs: np.ndarray) -> np.ndarray:
        """The reversed CSR's data with the arcs of road pieces ``segs`` (both directions, split
        parts included) at ``max(current speed, v_up)``."""
        g, v_up = self.graph, self.v_up
        lo = np.searchsorted(self.seg_sorted, segs, side="left")
        hi = np.searchsorted(self.seg_sorted, segs, side="right")
        ed = unique_values(np.concatenate([self.e_order[a:b] for a, b in zip(lo, hi, strict=True)])) if len(segs) \
            else np.empty(0, dtype=np.int64)
        new_speed = np.maximum(self.speed[ed], v_up)
        a_lo = np.searchsorted(self.arc_edge_sorted, ed, side="left")
        a_hi = np.searchsorted(self.arc_edge_sorted, ed, side="right")
        cnt = a_hi - a_lo
        arcs = self.arc_order[concat_ranges(a_lo, cnt)]
        sp_of_arc = np.repeat(new_speed, cnt)
        data = self.rev.data.copy()
        new_w = (g.arc_f1[arcs] - g.arc_f0[arcs]) * self.elen[g.arc_edge[arcs]] / (sp_of_arc / 3.6)
        data[self.pos[arcs]] = np.minimum(self.weight[arcs], new_w)
        missing = ed[~self.in_arcs[ed]]
        if len(missing):
            self._upgrade_parallel(data, missing)
        return data

    def _upgrade_parallel(self, data: np.ndarray, missing: np.ndarray) -> None:
        """Parallel edges dropped by the graph (same node pair): upgrade the kept arc in ``data``."""
        g, net = self.graph, self.network
        if self.key_sorted is None:
            keys = g.arc_rows * g.n_nodes + g.arc_cols
            korder = np.argsort(keys)
            self.key_sorted = (keys[korder], korder)
        key_sorted = self.key_sorted
        want = net.edge_u[missing].astype(np.int64) * g.n_nodes + net.edge_v[missing]
        at = np.searchsorted(key_sorted[0], want)
        found = (at < len(key_sorted[0])) & (key_sorted[0][np.minimum(at, len(key_sorted[0]) - 1)] == want)
        karcs = key_sorted[1][at[found]]
        mw = self.elen[missing[found]] / (np.maximum(self.speed[missing[found]], self.v_up) / 3.6)
        np.minimum.at(data, self.pos[karcs], mw)


def _savings(pop: np.ndarray, base_t: np.ndarray, base_src: np.ndarray, after_t: np.ndarray,
             after_src: np.ndarray) -> dict[str, Any]:
    """What one upgrade saves the origins (times in s before and after, their targets)."""
    ok = np.isfinite(base_t)
    saved_s = np.zeros(len(base_t))
    saved_s[ok] = np.maximum(base_t[ok] - after_t[ok], 0.0)
    saved_s[saved_s < 1e-9] = 0.0
    aff = saved_s > 0
    w = pop[aff]
    before_min = base_t[aff] / 60.0
    after_min = after_t[aff] / 60.0
    if aff.any():
        wsum = float(w.sum())
        mb = float((w * before_min).sum() / wsum) if wsum > 0 else float(before_min.mean())
        ma = float((w * after_min).sum() / wsum) if wsum > 0 else float(after_min.mean())
    else:
        mb = ma = np.nan
    return {
        "person_min_saved": float((pop * saved_s).sum() / 60.0),
        "population_affected": float(w.sum()),
        "n_localities_affected": int(aff.sum()),
        "mean_before_min": mb, "mean_after_min": ma,
        "max_saved_min": float(saved_s.max() / 60.0) if len(saved_s) else 0.0,
        "n_targets_changed": int((aff & (after_src != base_src)).sum()),
    }


def _upgrade_table(rows: list[dict[str, Any]], info: pd.DataFrame, upgrade_to: str, v_up: float,
                   top: int, *, population_known: bool = True) -> gpd.GeoDataFrame:
    """The savings joined to the stretches' attributes, ranked by person-minutes saved per km
    (by the localities whose time falls when population is unknown, see :func:`_order_upgrades`)."""
    import geopandas as gpd

    res = pd.DataFrame(rows).set_index("stretch_id")
    cols = ["highway", "surface", "unpaved_share", "length_km", "speed_kph", "population_served", "n_localities"]
    res = res.join(info[cols + ["geometry"]], how="left")
    res["upgrade_to"] = upgrade_to
    res["upgrade_speed_kph"] = v_up
    with np.errstate(invalid="ignore", divide="ignore"):
        res["person_min_saved_per_km"] = np.where(res["length_km"] > 0,
                                                  res["person_min_saved"] / res["length_km"], 0.0)
    res = _order_upgrades(res.reset_index(), population_known).head(top)
    res["rank"] = np.arange(1, len(res) + 1)
    return gpd.GeoDataFrame(res[UPGRADE_COLUMNS].reset_index(drop=True), geometry=list(res["geometry"]), crs=4326)


def _describe_candidates(network: RoadNetwork, ids: list[Any], segs: list[np.ndarray],
                         stretches: gpd.GeoDataFrame) -> pd.DataFrame:
    """Road attributes of user-given candidate stretches (class, surface, length, geometry)."""
    edges = network.edges
    seg = edges["segment"].to_numpy()
    rev = edges["reversed"].to_numpy(dtype=bool)
    # one representative directed edge per road piece (the forward copy when there is one)
    order = np.lexsort((rev, seg))
    first = np.ones(len(order), dtype=bool)
    first[1:] = seg[order][1:] != seg[order][:-1]
    rep = pd.Series(order[first], index=seg[order][first])
    flag = is_unpaved_or_low(edges)
    served = {}
    for s, p, n in zip(stretches["segment_ids"], stretches["population_served"], stretches["n_localities"],
                       strict=True):
        for x in np.asarray(s).tolist():
            served[x] = (p, n)
    rows = []
    for cid, ss in zip(ids, segs, strict=True):
        unknown = [int(x) for x in ss if x not in rep.index]
        if unknown:
            raise ColumnError(f"candidate {cid!r}: road piece id(s) {unknown[:5]} are not in the network")
        e = rep.loc[ss].to_numpy()
        lk = edges["length_m"].to_numpy(dtype=float)[e] / 1000.0
        tm = edges["travel_time_s"].to_numpy(dtype=float)[e] / 60.0
        hw = edges["highway"].astype(str).to_numpy()[e]
        sf = edges["surface"].astype(object).where(edges["surface"].notna(), "unknown").astype(str).to_numpy()[e]
        tot = float(lk.sum())
        pops = [served.get(int(x), (0.0, 0)) for x in ss]
        rows.append({
            "stretch_id": cid,
            "highway": pd.Series(lk, index=hw).groupby(level=0).sum().idxmax(),
            "surface": pd.Series(lk, index=sf).groupby(level=0).sum().idxmax(),
            "unpaved_share": float((lk * flag[e]).sum() / tot) if tot > 0 else np.nan,
            "length_km": tot,
            "speed_kph": tot / (float(tm.sum()) / 60.0) if tm.sum() > 0 else np.nan,
            "population_served": max(p for p, _ in pops),
            "n_localities": max(n for _, n in pops),
            "geometry": shapely.line_merge(shapely.multilinestrings(list(network.edge_geometry[e]))),
        })
    return pd.DataFrame(rows).set_index("stretch_id")
