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
        rows.append(row)
        us.append(iu)
        vs.append(iv)
        geoms.append(geom)
    geoms_arr = np.array(geoms, dtype=object)
    edges = _edge_table(pd.DataFrame(rows), geoms_arr, prof)
    return NetworkArrays(node_id=node_id, node_lon=x, node_lat=y, edge_u=np.array(us, dtype=np.int64),
                         edge_v=np.array(vs, dtype=np.int64), edges=edges, edge_geometry=geoms_arr,
                         meta={"source": "networkx graph", "profile": prof.mode})


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
