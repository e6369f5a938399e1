"""Networks from networkx / osmnx graphs: the arrays of a :class:`~territorial_gis._roadnet.RoadNetwork`.

:meth:`RoadNetwork.from_networkx <territorial_gis._roadnet.RoadNetwork.from_networkx>` calls
:func:`arrays_from_networkx`; this module does not import the network class (no import cycle).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from ._geodesy import line_lengths_m
from .errors import NetworkError
from .speeds import Profile, assign_speeds, load_profile

if TYPE_CHECKING:
    import networkx as nx


@dataclass
class NetworkArrays:
    """Node and directed-edge arrays as :meth:`RoadNetwork.from_arrays` takes them."""

    node_id: np.ndarray
    node_lon: np.ndarray
    node_lat: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edges: pd.DataFrame
    edge_geometry: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)


def arrays_from_networkx(G: nx.MultiDiGraph, profile: Profile | str | None = None) -> NetworkArrays:
    """Arrays of an osmnx-compatible graph (node ``x``/``y``, graph ``crs``, edge ``length``).

    Missing ``travel_time`` is computed from ``speed_kph`` or, failing that, from the
    ``highway`` class with the profile's speed model. Missing geometries are straight lines.
    A node's ``ford`` tag goes onto the edges that start or end at it (where they have none).
    Without a ``segment`` attribute, the two directions of a two-way road (an edge ``u -> v``
    and one ``v -> u`` of the same way and length) share one road piece, so lengths by road
    are counted once (:func:`pair_directions`).

    Raises
    ------
    NetworkError
        Not a directed graph, an empty graph, or nodes without ``x``/``y``.
    """
    import networkx as nx

    if not isinstance(G, (nx.MultiDiGraph, nx.DiGraph)):
        raise NetworkError("from_networkx needs a directed graph (osmnx MultiDiGraph)")
    if G.number_of_nodes() == 0 or G.number_of_edges() == 0:
        raise NetworkError("the graph is empty")
    prof = load_profile(profile) if not isinstance(profile, Profile) else profile
    keys = list(G.nodes)
    index = {k: i for i, k in enumerate(keys)}
    try:
        x = np.array([G.nodes[k]["x"] for k in keys], dtype=float)
        y = np.array([G.nodes[k]["y"] for k in keys], dtype=float)
    except KeyError:
        raise NetworkError("graph nodes need 'x' and 'y' attributes (osmnx convention)") from None
    gcrs = CRS.from_user_input(G.graph.get("crs", "EPSG:4326"))
    to_ll = None
    if not gcrs.is_geographic:
        to_ll = Transformer.from_crs(gcrs, 4326, always_xy=True)
        x, y = to_ll.transform(x, y)
    try:
        node_id = np.array([int(k) for k in keys], dtype=np.int64)
    except (TypeError, ValueError):
        node_id = np.arange(len(keys), dtype=np.int64)
    rows: list[dict[str, Any]] = []
    us, vs, geoms = [], [], []
    node_ford = {k: G.nodes[k]["ford"] for k in keys if G.nodes[k].get("ford") is not None}
    for u, v, data in (G.edges(data=True) if not G.is_multigraph() else
                       ((a, b, d) for a, b, _k, d in G.edges(keys=True, data=True))):
        iu, iv = index[u], index[v]
        geom = data.get("geometry")
        if geom is None:
            geom = shapely.linestrings([[x[iu], y[iu]], [x[iv], y[iv]]])
        elif to_ll is not None:
            geom = shapely.transform(geom, lambda c: np.column_stack(to_ll.transform(c[:, 0], c[:, 1])))
        row = {k: (val[0] if isinstance(val, list) and val else val)
               for k, val in data.items() if k != "geometry"}
        if row.get("ford") is None and (u in node_ford or v in node_ford):
            row["ford"] = node_ford.get(u, node_ford.get(v))
        rows.append(row)
        us.append(iu)
        vs.append(iv)
        geoms.append(geom)
    geoms_arr = np.array(geoms, dtype=object)
    edges = _edge_table(pd.DataFrame(rows), geoms_arr, prof)
    eu, ev = np.array(us, dtype=np.int64), np.array(vs, dtype=np.int64)
    if "segment" not in edges or edges["segment"].isna().any():
        segment, second = pair_directions(eu, ev, edges)
        edges["segment"] = segment
        given = edges["reversed"] if "reversed" in edges else pd.Series(np.nan, index=edges.index, dtype=object)
        edges["reversed"] = given.astype(object).where(given.notna(), pd.Series(second)).astype(bool)
    return NetworkArrays(node_id=node_id, node_lon=x, node_lat=y, edge_u=eu, edge_v=ev, edges=edges,
                         edge_geometry=geoms_arr, meta={"source": "networkx graph", "profile": prof.mode})


def pair_directions(u: np.ndarray, v: np.ndarray, edges: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """One road piece (``segment``) for both directions of a two-way road.

    osmnx gives each direction of a two-way road its own edge. An edge ``u -> v`` and an edge
    ``v -> u`` with the same way id (``osm_way_id``, when the graph has one) and the same length
    (to the millimetre) are the two directions of one road: the k-th such edge each way pair up,
    in graph order. A loop (``u == v``, a closed way) pairs with the next loop of the same node,
    way and length. Every other edge is a road piece of its own. Returns the segment of each
    edge (numbered by first appearance) and whether it is the second edge of its pair.
    """
    n = len(u)
    way = (pd.to_numeric(edges["osm_way_id"], errors="coerce").fillna(-1).to_numpy()
           if "osm_way_id" in edges else np.full(n, -1.0))
    mm = np.round(edges["length_m"].to_numpy(dtype=float) * 1000.0)
    key = pd.DataFrame({"lo": np.minimum(u, v), "hi": np.maximum(u, v), "way": way, "mm": mm})
    group = key.groupby(["lo", "hi", "way", "mm"], sort=False, dropna=False).ngroup().to_numpy()
    loop = u == v
    side = np.where(loop, 2, (u < v).astype(np.int64))  # direction of a road; 2: a loop
    rank = pd.DataFrame({"g": group, "side": side}).groupby(["g", "side"], sort=False).cumcount().to_numpy()
    rank = np.where(loop, rank // 2, rank)  # loops pair in order of appearance
    pair = pd.MultiIndex.from_arrays([group, rank, np.where(loop, 2, 0)])
    size = pd.Series(1, index=pair).groupby(level=[0, 1, 2]).transform("size").to_numpy()
    both = size == 2  # both directions present (a one-way road has one edge)
    solo = np.where(both, -1, np.arange(n))
    segment = pd.MultiIndex.from_arrays([group, rank, solo]).factorize()[0].astype(np.int64)
    second = pd.Series(segment).duplicated().to_numpy()
    return segment, second


def _edge_table(edges: pd.DataFrame, geoms: np.ndarray, prof: Profile) -> pd.DataFrame:
    """The graph's edge attributes with ``length_m``, ``speed_kph``, ``travel_time_s``,
    ``osm_way_id``, ``surface``, ``name`` filled in where the graph lacks them."""
    length = pd.to_numeric(edges.get("length"), errors="coerce") if "length" in edges else None
    if length is None or length.isna().any():  # measured only where the graph gives no length
        geo_len = line_lengths_m(geoms)
        edges["length_m"] = length.fillna(pd.Series(geo_len)).to_numpy(float) if length is not None else geo_len
    else:
        edges["length_m"] = length.to_numpy(float)
    if "highway" not in edges:
        edges["highway"] = None
    if "speed_kph" not in edges or edges["speed_kph"].isna().any():
        spd = assign_speeds(edges, prof)
        edges["speed_kph"] = edges["speed_kph"].fillna(pd.Series(spd)) if "speed_kph" in edges else spd
    if "travel_time" in edges and edges["travel_time"].notna().all():
        edges["travel_time_s"] = pd.to_numeric(edges["travel_time"]).to_numpy(float)
    else:
        edges["travel_time_s"] = edges["length_m"] / (edges["speed_kph"].astype(float) / 3.6)
    if "osmid" in edges and "osm_way_id" not in edges:
        edges["osm_way_id"] = pd.to_numeric(edges["osmid"], errors="coerce")
    for col in ("surface", "name", "osm_way_id"):
        if col not in edges:
            edges[col] = None
    return edges.drop(columns=[c for c in ("length", "travel_time", "osmid") if c in edges])
