"""Road stretches: runs of road pieces between junctions (the unit that fails, or is built).

A *stretch* is a maximal run of road pieces (``segment`` ids, both directions of a two-way road
being one piece) joined end to end at nodes where exactly two pieces meet. It ends at junctions
(three or more pieces), dead ends, and where a bridge starts or ends, so a bridge is a stretch
of its own. A loop that leaves and re-enters the network at one junction, or an island ring, is
a stretch with no ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from ._arrays import concat_ranges, unique_values
from .errors import ColumnError

if TYPE_CHECKING:
    import geopandas as gpd

    from .network import RoadNetwork

STRETCH_COLUMNS = ["stretch_id", "segment_ids", "n_segments", "from_node", "to_node", "length_km",
                   "travel_time_min", "highway", "surface", "bridge"]
_FALSE = {"", "no", "false", "0", "none", "nan", "f", "n"}


def is_bridge(edges: pd.DataFrame) -> np.ndarray:
    """True for edges tagged as a bridge (OSM ``bridge=yes|viaduct|...`` or a true layer flag)."""
    if "bridge" not in edges:
        return np.zeros(len(edges), dtype=bool)
    col = edges["bridge"]
    if col.dtype == bool:
        return col.to_numpy()
    text = col.astype(object).where(col.notna(), "").astype(str).str.strip().str.lower()
    return ~text.isin(_FALSE).to_numpy()


def representative_edges(network: RoadNetwork) -> tuple[np.ndarray, np.ndarray]:
    """``(segments, edge rows)``: each road piece once, with its forward directed edge (the only
    one of a one-way road), sorted by segment id."""
    seg = network.edges["segment"].to_numpy()
    rev = network.edges["reversed"].to_numpy(dtype=bool)
    order = np.lexsort((rev, seg))
    first = np.ones(len(order), dtype=bool)
    first[1:] = seg[order][1:] != seg[order][:-1]
    rep = order[first]
    return seg[rep], rep


def segment_edges(network: RoadNetwork, segment_ids: Any) -> np.ndarray:
    """All directed edge rows of the given road pieces (unknown ids raise :class:`ColumnError`)."""
    return segment_edge_lists(network, [segment_ids])[0]


def segment_edge_lists(network: RoadNetwork, units: list[Any]) -> list[np.ndarray]:
    """:func:`segment_edges` of many units at once (one sort of the edge table)."""
    seg = network.edges["segment"].to_numpy()
    order = np.argsort(seg, kind="stable")
    ss = seg[order]
    lists = [unique_values(np.asarray(u, dtype=np.int64)) for u in units]
    counts = np.array([len(x) for x in lists], dtype=np.int64)
    want = np.concatenate(lists) if lists else np.empty(0, dtype=np.int64)
    lo = np.searchsorted(ss, want, side="left")
    hi = np.searchsorted(ss, want, side="right")
    missing = want[hi == lo]
    if len(missing):
        raise ColumnError(f"road piece id(s) {unique_values(missing)[:5].tolist()} are not in the network")
    n_e = hi - lo
    rows = order[concat_ranges(lo, n_e)]
    per_unit = np.bincount(np.repeat(np.arange(len(lists)), counts), weights=n_e, minlength=len(lists))
    bounds = np.concatenate([[0], np.cumsum(per_unit)]).astype(np.int64)
    return [np.sort(rows[bounds[k]:bounds[k + 1]]) for k in range(len(units))]


def network_stretches(network: RoadNetwork) -> gpd.GeoDataFrame:
    """Every road stretch of the network (see the module docstring).

    Returns
    -------
    geopandas.GeoDataFrame
        Lines (EPSG:4326), one per stretch: ``stretch_id`` (0..n-1, in order of the smallest
        road piece id), ``segment_ids`` (array of road piece ids), ``n_segments``,
        ``from_node`` / ``to_node`` (network node rows of its two ends; -1 for a stretch with no
        ends), ``length_km``, ``travel_time_min`` (along its forward edges), ``highway`` and
        ``surface`` (dominant by length, ``unknown`` when untagged), ``bridge``.
    """
    import geopandas as gpd

    edges = network.edges
    segs, rep = representative_edges(network)
    n_seg = len(segs)
    u = network.edge_u[rep].astype(np.int64)
    v = network.edge_v[rep].astype(np.int64)
    bridge_e = is_bridge(edges)
    seg_all = edges["segment"].to_numpy()
    pos_of = np.searchsorted(segs, seg_all)
    bridge = np.zeros(n_seg, dtype=bool)
    np.logical_or.at(bridge, pos_of, bridge_e)
    # incidences (node, piece); a node where exactly two pieces meet joins them, unless one is a
    # bridge and the other not, or it is a loop piece on itself
    inc_node = np.concatenate([u, v])
    inc_seg = np.concatenate([np.arange(n_seg), np.arange(n_seg)])
    o = np.lexsort((inc_seg, inc_node))
    inc_node, inc_seg = inc_node[o], inc_seg[o]
    deg = np.bincount(inc_node, minlength=network.n_nodes)
    first = np.searchsorted(inc_node, np.flatnonzero(deg == 2))
    s1, s2 = inc_seg[first], inc_seg[first + 1]
    join = (s1 != s2) & (bridge[s1] == bridge[s2])
    adj = sparse.coo_matrix((np.ones(int(join.sum())), (s1[join], s2[join])), shape=(n_seg, n_seg))
    _, comp = connected_components(adj, directed=False)
    # stretch ids in order of their smallest piece id
    first_seg = np.full(comp.max() + 1 if n_seg else 0, n_seg, dtype=np.int64)
    np.minimum.at(first_seg, comp, np.arange(n_seg))
    rank = np.empty(len(first_seg), dtype=np.int64)
    rank[np.argsort(first_seg, kind="stable")] = np.arange(len(first_seg))
    sid = rank[comp]
    return _stretch_frame(network, gpd, segs, rep, u, v, bridge, sid)


def _stretch_frame(network: RoadNetwork, gpd: Any, segs: np.ndarray, rep: np.ndarray, u: np.ndarray,
                   v: np.ndarray, bridge: np.ndarray, sid: np.ndarray) -> gpd.GeoDataFrame:
    edges = network.edges
    n_st = int(sid.max()) + 1 if len(sid) else 0
    order = np.lexsort((segs, sid))
    bounds = np.searchsorted(sid[order], np.arange(n_st + 1))
    # ends: nodes met once by the pieces of the stretch
    ends = pd.DataFrame({"s": np.concatenate([sid, sid]), "n": np.concatenate([u, v])})
    cnt = ends.groupby(["s", "n"]).size()
    once = cnt[cnt == 1].reset_index()
    n_ends = once.groupby("s").size().reindex(range(n_st), fill_value=0).to_numpy()
    a = once.groupby("s")["n"].min().reindex(range(n_st)).to_numpy()
    b = once.groupby("s")["n"].max().reindex(range(n_st)).to_numpy()
    two = n_ends == 2
    length_m = edges["length_m"].to_numpy(dtype=float)[rep]
    time_s = edges["travel_time_s"].to_numpy(dtype=float)[rep]
    hw = edges["highway"].astype(object).where(edges["highway"].notna(), "unknown").astype(str).to_numpy()[rep] \
        if "highway" in edges else np.full(len(rep), "unknown")
    sf = edges["surface"].astype(object).where(edges["surface"].notna(), "unknown").astype(str).to_numpy()[rep] \
        if "surface" in edges else np.full(len(rep), "unknown")

    def dominant(values: np.ndarray) -> np.ndarray:
        d = pd.DataFrame({"s": sid, "k": values, "w": length_m}).groupby(["s", "k"])["w"].sum().reset_index()
        d = d.sort_values(["s", "w"], ascending=[True, False], kind="stable").drop_duplicates("s")
        return d.set_index("s")["k"].reindex(range(n_st)).to_numpy()

    so = segs[order]
    geoms = shapely.line_merge(shapely.multilinestrings(network.edge_geometry[rep[order]], indices=sid[order]))
    out = pd.DataFrame({
        "stretch_id": np.arange(n_st),
        "segment_ids": [so[bounds[k]:bounds[k + 1]] for k in range(n_st)],
        "n_segments": np.diff(bounds),
        "from_node": np.where(two, a, -1).astype(np.int64),
        "to_node": np.where(two, b, -1).astype(np.int64),
        "length_km": np.bincount(sid, weights=length_m, minlength=n_st) / 1000.0,
        "travel_time_min": np.bincount(sid, weights=time_s, minlength=n_st) / 60.0,
        "highway": dominant(hw),
        "surface": dominant(sf),
        "bridge": np.bincount(sid, weights=bridge.astype(float), minlength=n_st) > 0,
    })
    return gpd.GeoDataFrame(out, geometry=list(geoms), crs=4326)


def stretches_from_segments(network: RoadNetwork, units: Any) -> gpd.GeoDataFrame:
    """User-given units (a frame with ``segment_ids``, named by ``stretch_id`` or its index, or a
    mapping id -> road piece ids) as a stretch table with the same columns as
    :func:`network_stretches` (ends found where a node is met once; -1 when the pieces do not
    form a single run)."""
    import geopandas as gpd

    if isinstance(units, pd.DataFrame):
        if "segment_ids" not in units:
            raise ColumnError("stretches need a 'segment_ids' column (road piece ids)")
        ids = list(units["stretch_id"]) if "stretch_id" in units else list(units.index)
        lists = [np.atleast_1d(np.asarray(s, dtype=np.int64)) for s in units["segment_ids"]]
    elif hasattr(units, "items"):
        ids = list(units)
        lists = [np.atleast_1d(np.asarray(s, dtype=np.int64)) for s in units.values()]
    else:
        raise ColumnError("stretches must be a frame with 'segment_ids' or a mapping id -> road piece ids")
    segs, rep = representative_edges(network)
    rows = []
    for sid, pieces in zip(ids, lists, strict=True):
        p = unique_values(pieces)
        at = np.searchsorted(segs, p)
        bad = (at >= len(segs)) | (segs[np.minimum(at, len(segs) - 1)] != p)
        if bad.any():
            raise ColumnError(f"stretch {sid!r}: road piece id(s) {p[bad][:5].tolist()} are not in the network")
        rows.append((sid, p, rep[at]))
    n = len(rows)
    if not n:
        return gpd.GeoDataFrame({c: [] for c in STRETCH_COLUMNS}, geometry=[], crs=4326)
    sid_pos = np.concatenate([np.full(len(r[1]), k) for k, r in enumerate(rows)])
    all_seg = np.concatenate([r[1] for r in rows])
    all_rep = np.concatenate([r[2] for r in rows])
    bridge = is_bridge(network.edges)[all_rep]
    # bridge flags of every directed copy: any copy flagged flags the piece
    frame = _stretch_frame(network, gpd, all_seg, all_rep, network.edge_u[all_rep].astype(np.int64),
                           network.edge_v[all_rep].astype(np.int64), bridge, sid_pos)
    frame["stretch_id"] = [r[0] for r in rows]
    return frame
