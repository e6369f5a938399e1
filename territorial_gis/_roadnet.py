"""The road network: compiled arrays for routing, exports, and save/load.

:class:`RoadNetwork` keeps compact arrays (node coordinates, directed edge endpoints, a CSR
adjacency of travel times) for the compiled routing engine, plus the edge attributes and
geometries for export. It knows nothing of how it was built: the builders (OSM files in
:mod:`territorial_gis._osm`, line layers in :mod:`territorial_gis._layers`, networkx graphs in
:mod:`territorial_gis._nxgraph`, osmnx downloads in :mod:`territorial_gis.network`) all end in
:meth:`RoadNetwork.from_arrays`. Networks are saved as ``.tgnet`` (native) or GeoPackage and
read back with :func:`load_network`.
"""

from __future__ import annotations

import io
import json
import logging
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from . import __version__
from ._arrays import unique_values
from ._crs import utm_crs_for_bounds
from ._io import add_gpkg_layer, atomic_output, check_input, gpkg_ready
from .errors import InputFileError, NetworkError

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx

    from .speeds import Profile

log = logging.getLogger(__name__)

NATIVE_SUFFIX = ".tgnet"
_NATIVE_FORMAT = "territorial-gis-network/1"
_GPKG_META_KEY = "territorial_gis_network"
Bounds = tuple[float, float, float, float]


class RoadNetwork:
    """A directed road network with compiled arrays for routing.

    Attributes
    ----------
    node_id : ndarray of int64
        Node identifiers (OSM node ids when built from OSM).
    node_lon, node_lat : ndarray of float64
        Node coordinates in EPSG:4326.
    node_xy : ndarray, shape (n_nodes, 2)
        Node coordinates in :attr:`crs` (metres).
    crs : pyproj.CRS
        The metric CRS of the network (UTM zone of its area unless given).
    edge_u, edge_v : ndarray of int32
        Node indices of each directed edge.
    edges : pandas.DataFrame
        One row per directed edge: ``length_m``, ``speed_kph``, ``travel_time_s``, ``highway``,
        ``surface``, ``name``, ``osm_way_id``, ``oneway``, ``segment``, ``reversed`` and any
        attributes of the source.
    edge_geometry : ndarray of shapely LineString
        Edge geometries in EPSG:4326, oriented from ``u`` to ``v``.
    meta : dict
        Provenance: source, profile, build time, dropped components.
    """

    def __init__(self, node_id: np.ndarray, node_lon: np.ndarray, node_lat: np.ndarray,
                 edge_u: np.ndarray, edge_v: np.ndarray, edges: pd.DataFrame,
                 edge_geometry: np.ndarray, *, crs: CRS | str | int | None = None,
                 meta: dict[str, Any] | None = None) -> None:
        self.node_id = np.asarray(node_id, dtype=np.int64)
        self.node_lon = np.asarray(node_lon, dtype=np.float64)
        self.node_lat = np.asarray(node_lat, dtype=np.float64)
        self.edge_u = np.asarray(edge_u, dtype=np.int32)
        self.edge_v = np.asarray(edge_v, dtype=np.int32)
        self.edges = edges.reset_index(drop=True)
        self.edge_geometry = np.asarray(edge_geometry, dtype=object)
        self.meta: dict[str, Any] = dict(meta or {})
        n = len(self.node_id)
        if not (len(self.node_lon) == len(self.node_lat) == n):
            raise NetworkError("node arrays differ in length")
        m = len(self.edge_u)
        if not (len(self.edge_v) == len(self.edges) == len(self.edge_geometry) == m):
            raise NetworkError("edge arrays differ in length")
        if m and (self.edge_u.min() < 0 or max(self.edge_u.max(), self.edge_v.max()) >= n):
            raise NetworkError("edge endpoints out of range of the node arrays")
        for col in ("length_m", "speed_kph", "travel_time_s"):
            if col not in self.edges:
                raise NetworkError(f"edge table lacks column '{col}'")
        if n == 0 or m == 0:
            raise NetworkError("the network is empty (no routable edges)")
        self.crs = CRS.from_user_input(crs) if crs is not None else utm_crs_for_bounds(self.bounds)
        tr = Transformer.from_crs(4326, self.crs, always_xy=True)
        x, y = tr.transform(self.node_lon, self.node_lat)
        self.node_xy = np.column_stack([x, y])
        self._csr_cache: dict[tuple[str, bool], tuple[sparse.csr_matrix, np.ndarray]] = {}
        self._metric_geometry: np.ndarray | None = None
        self.repair_report: dict[str, Any] | None = self.meta.get("repair_report")

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arrays(cls, node_id: np.ndarray, node_lon: np.ndarray, node_lat: np.ndarray,
                    edge_u: np.ndarray, edge_v: np.ndarray, edges_df: pd.DataFrame,
                    edge_geometry: np.ndarray, *, crs: CRS | str | int | None = None,
                    meta: dict[str, Any] | None = None) -> RoadNetwork:
        """Build from node and directed-edge arrays (the constructor the builders use).

        ``edges_df`` must hold ``length_m`` and ``speed_kph``; ``travel_time_s`` is derived
        when absent, ``segment`` defaults to the row number and ``reversed``/``oneway`` to False.
        """
        edges = edges_df.reset_index(drop=True).copy()
        if "travel_time_s" not in edges:
            edges["travel_time_s"] = edges["length_m"].to_numpy(float) / (edges["speed_kph"].to_numpy(float) / 3.6)
        if "segment" not in edges:
            edges["segment"] = np.arange(len(edges), dtype=np.int64)
        for col in ("reversed", "oneway"):
            if col not in edges:
                edges[col] = False
        return cls(node_id, node_lon, node_lat, edge_u, edge_v, edges, edge_geometry, crs=crs, meta=meta)

    @classmethod
    def from_networkx(cls, G: nx.MultiDiGraph, profile: Profile | str | None = None) -> RoadNetwork:
        """Build from an osmnx-compatible graph (node ``x``/``y``, graph ``crs``, edge ``length``).

        Missing ``travel_time`` is computed from ``speed_kph`` or, failing that, from the
        ``highway`` class with the profile's speed model. Missing geometries are straight lines
        (see :func:`territorial_gis._nxgraph.arrays_from_networkx`).
        """
        from ._nxgraph import arrays_from_networkx

        a = arrays_from_networkx(G, profile)
        return cls.from_arrays(a.node_id, a.node_lon, a.node_lat, a.edge_u, a.edge_v, a.edges, a.edge_geometry,
                               meta=a.meta)


    # ------------------------------------------------------------------ properties
    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_id)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return len(self.edge_u)

    @property
    def bounds(self) -> Bounds:
        """(west, south, east, north) of the nodes in degrees."""
        return (float(self.node_lon.min()), float(self.node_lat.min()),
                float(self.node_lon.max()), float(self.node_lat.max()))

    def road_pieces(self) -> np.ndarray:
        """Boolean mask of the edge rows that hold each undirected road piece once: the first row
        of each ``segment`` (a one-way road drawn against its direction has only its reversed
        copy, which is then the one counted)."""
        return ~self.edges["segment"].duplicated().to_numpy()

    def __repr__(self) -> str:
        km = self.edges.loc[self.road_pieces(), "length_m"].sum() / 1000
        return (f"RoadNetwork({self.n_nodes} nodes, {self.n_edges} directed edges, {km:.1f} km of road, "
                f"crs={self.crs.to_string()})")

    # ------------------------------------------------------------------ compiled arrays
    def csr(self, weight: str = "travel_time_s", reverse: bool = False) -> sparse.csr_matrix:
        """CSR adjacency (n_nodes x n_nodes) of ``weight``; the minimum over parallel edges.

        With ``reverse=True`` the graph is transposed (edge v -> u), for routing *to* a set
        of destinations with a single multi-source pass.
        """
        return self._csr(weight, reverse)[0]

    def csr_edge_index(self, weight: str = "travel_time_s", reverse: bool = False) -> np.ndarray:
        """Edge row behind each stored entry of :meth:`csr` (``csr.data[k]`` comes from edge row ``[k]``)."""
        return self._csr(weight, reverse)[1]

    def _csr(self, weight: str, reverse: bool) -> tuple[sparse.csr_matrix, np.ndarray]:
        key = (weight, reverse)
        if key not in self._csr_cache:
            w = self.edges[weight].to_numpy(dtype=np.float64)
            rows, cols = (self.edge_v, self.edge_u) if reverse else (self.edge_u, self.edge_v)
            keep = rows != cols  # self-loops never shorten a path
            idx = np.flatnonzero(keep)
            n = self.n_nodes
            pair = rows[idx].astype(np.int64) * n + cols[idx]  # (row, col) as one sort key
            order = np.lexsort((w[idx], pair))
            idx = idx[order]
            pair = pair[order]
            first = np.ones(len(idx), dtype=bool)
            first[1:] = pair[1:] != pair[:-1]
            idx = idx[first]
            indptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.bincount(rows[idx], minlength=n), out=indptr[1:])
            mat = sparse.csr_matrix((w[idx], cols[idx].astype(np.int32), indptr), shape=(n, n))
            self._csr_cache[key] = (mat, idx)
        return self._csr_cache[key]

    def edge_geometry_metric(self) -> np.ndarray:
        """Edge geometries in :attr:`crs` (cached)."""
        if self._metric_geometry is None:
            tr = Transformer.from_crs(4326, self.crs, always_xy=True)
            self._metric_geometry = shapely.transform(
                self.edge_geometry, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
        return self._metric_geometry

    # ------------------------------------------------------------------ subsets
    def subgraph_edges(self, keep_edges: np.ndarray, note: str | None = None) -> RoadNetwork:
        """A new network with the edges where ``keep_edges`` is True and the nodes they use (in
        the same metric CRS)."""
        keep_edges = np.asarray(keep_edges, dtype=bool)
        used = np.zeros(self.n_nodes, dtype=bool)
        used[self.edge_u[keep_edges]] = True
        used[self.edge_v[keep_edges]] = True
        new_index = np.full(self.n_nodes, -1, dtype=np.int64)
        new_index[used] = np.arange(int(used.sum()))
        meta = dict(self.meta)
        if note:
            meta.setdefault("notes", []).append(note)
        return RoadNetwork(self.node_id[used], self.node_lon[used], self.node_lat[used],
                           new_index[self.edge_u[keep_edges]], new_index[self.edge_v[keep_edges]],
                           self.edges.loc[keep_edges].reset_index(drop=True),
                           self.edge_geometry[keep_edges], crs=self.crs, meta=meta)

    def with_crs_of_nodes(self) -> RoadNetwork:
        """This network with the metric CRS chosen from its own nodes (the UTM zone of their
        bounds). The builders call it last, so a clipped or reduced network has the zone of the
        roads it keeps; networks derived later (subsets, scenarios) keep their parent's CRS."""
        crs = utm_crs_for_bounds(self.bounds)
        if crs == self.crs:
            return self
        return RoadNetwork(self.node_id, self.node_lon, self.node_lat, self.edge_u, self.edge_v, self.edges,
                           self.edge_geometry, crs=crs, meta=self.meta)

    def clip(self, area: shapely.Geometry) -> RoadNetwork:
        """The edges with both ends inside ``area`` (EPSG:4326; boundary nodes count as inside).

        Raises
        ------
        NetworkError
            No edge is inside the area (the message gives the area's and the network's bbox).
        """
        inside = shapely.intersects_xy(area, self.node_lon, self.node_lat)
        keep = inside[self.edge_u] & inside[self.edge_v]
        if not keep.any():
            w, s, e, n = self.bounds
            raise NetworkError(f"the clip area {shapely.bounds(area).round(5).tolist()} does not overlap the "
                               f"data (network bbox {w:.5f} {s:.5f} {e:.5f} {n:.5f})")
        return self.subgraph_edges(keep, note="clipped")

    def components(self, strong: bool = True) -> np.ndarray:
        """Component label of each node (strongly connected by default)."""
        adj = sparse.csr_matrix((np.ones(self.n_edges), (self.edge_u, self.edge_v)),
                                shape=(self.n_nodes, self.n_nodes))
        _n, labels = connected_components(adj, directed=True, connection="strong" if strong else "weak")
        return labels

    def largest_component(self, *, warn_share: float | None = None) -> RoadNetwork:
        """The largest strongly connected component.

        What is dropped (nodes, directed edges, km of road and their share of the road length,
        number of components) is kept in ``meta["dropped"]`` and logged, as a warning when the
        dropped share of length exceeds ``warn_share`` (default
        ``territorial_gis.settings.component_warn_share``).
        """
        from . import settings

        labels = self.components(strong=True)
        counts = np.bincount(labels)
        in_big = labels == int(np.argmax(counts))
        keep = in_big[self.edge_u] & in_big[self.edge_v]
        length = self.edges["length_m"].to_numpy(float)
        road = self.road_pieces()
        total_km = float(length[road].sum() / 1000.0)
        dropped_km = float(length[~keep & road].sum() / 1000.0)
        dropped = {"nodes": int((~in_big).sum()), "edges": int((~keep).sum()), "length_km": dropped_km,
                   "length_share": dropped_km / total_km if total_km > 0 else 0.0, "components": int(len(counts))}
        if keep.all():
            self.meta.setdefault("dropped", dropped)
            return self
        limit = settings.component_warn_share if warn_share is None else warn_share
        log.log(logging.WARNING if dropped["length_share"] > limit else logging.INFO,
                "kept the largest strongly connected component: dropped %d of %d nodes and %.1f of %.1f km "
                "of road (%.1f%%) in %d other components; to keep them (places there get NaN with reason "
                "'disconnected' from destinations they cannot reach) build with largest_component=False "
                "(tgis network build --all-components)", dropped["nodes"], self.n_nodes, dropped_km, total_km,
                100 * dropped["length_share"], dropped["components"] - 1)
        net = self.subgraph_edges(keep)
        net.meta["dropped"] = dropped
        return net

    # ------------------------------------------------------------------ exports
    def nodes_gdf(self) -> gpd.GeoDataFrame:
        """Nodes as a GeoDataFrame (EPSG:4326) with ``node_id``, ``x``, ``y`` (lon/lat)."""
        import geopandas as gpd

        return gpd.GeoDataFrame({"node_id": self.node_id, "x": self.node_lon, "y": self.node_lat},
                                geometry=gpd.points_from_xy(self.node_lon, self.node_lat), crs=4326)

    def edges_gdf(self) -> gpd.GeoDataFrame:
        """Directed edges as a GeoDataFrame (EPSG:4326) with ``u``/``v`` node ids and all attributes."""
        import geopandas as gpd

        df = self.edges.copy()
        df.insert(0, "u", self.node_id[self.edge_u])
        df.insert(1, "v", self.node_id[self.edge_v])
        return gpd.GeoDataFrame(df, geometry=self.edge_geometry, crs=4326)

    def to_networkx(self) -> nx.MultiDiGraph:
        """An osmnx-compatible MultiDiGraph: node ``x``/``y`` (lon/lat) and ``street_count``
        (:meth:`street_counts`), graph ``crs`` EPSG:4326, edge ``length`` (m), ``travel_time``
        (s), ``speed_kph``, ``osmid``, ``geometry``; ``osmnx.stats.basic_stats`` works on it."""
        import networkx as nx

        G = nx.MultiDiGraph(crs="EPSG:4326", name=str(self.meta.get("source", "territorial-gis")),
                            created_with=f"territorial-gis {__version__}")
        streets = self.street_counts()
        G.add_nodes_from((int(i), {"x": float(x), "y": float(y), "street_count": int(c)})
                         for i, x, y, c in zip(self.node_id, self.node_lon, self.node_lat, streets, strict=True))
        cols = [c for c in self.edges.columns if c not in ("length_m", "travel_time_s")]
        recs = self.edges[cols].to_dict("records")
        length = self.edges["length_m"].to_numpy(float)
        tt = self.edges["travel_time_s"].to_numpy(float)
        u_ids = self.node_id[self.edge_u]
        v_ids = self.node_id[self.edge_v]
        for k in range(self.n_edges):
            rec = {key: val for key, val in recs[k].items() if val is not None and val == val}
            rec["length"] = float(length[k])
            rec["travel_time"] = float(tt[k])
            if "osm_way_id" in rec:
                rec["osmid"] = rec.pop("osm_way_id")
            rec["geometry"] = self.edge_geometry[k]
            G.add_edge(int(u_ids[k]), int(v_ids[k]), **rec)
        return G

    def street_counts(self) -> np.ndarray:
        """Physical streets meeting at each node, counted as osmnx's ``count_streets_per_node``
        counts them on :meth:`to_networkx`: the directed edges seen undirected (edge ``k`` from u
        to v and edge ``k`` from v to u are one street, ``k`` numbering the parallel edges of a
        node pair in row order), each street adding one at both ends; self-loops at a node add
        two, once."""
        u, v = self.edge_u.astype(np.int64), self.edge_v.astype(np.int64)
        pair = pd.Series(u * self.n_nodes + v)
        key = pair.groupby(pair).cumcount().to_numpy()
        loop = u == v
        lo, hi = np.minimum(u, v)[~loop], np.maximum(u, v)[~loop]
        streets = np.unique(np.column_stack([lo, hi, key[~loop]]), axis=0)
        counts = np.bincount(streets[:, 0], minlength=self.n_nodes) + np.bincount(streets[:, 1],
                                                                                   minlength=self.n_nodes)
        counts[unique_values(u[loop])] += 2
        return counts

    def describe(self) -> dict[str, Any]:
        """Counts, km by class, components, bbox and CRS (what ``tgis network info`` prints)."""
        e = self.edges
        road = self.road_pieces()
        km_by_class = (e.loc[road].groupby(e.loc[road, "highway"].astype(str))["length_m"].sum() / 1000)
        weak = self.components(strong=False)
        strong = self.components(strong=True)
        return {
            "nodes": self.n_nodes,
            "directed_edges": self.n_edges,
            "road_km": float(e.loc[road, "length_m"].sum() / 1000),
            "km_by_class": {k: round(float(v), 3) for k, v in km_by_class.sort_values(ascending=False).items()},
            "weak_components": int(weak.max() + 1),
            "strong_components": int(strong.max() + 1),
            "bbox": [round(b, 6) for b in self.bounds],
            "crs": self.crs.to_string(),
            "source": self.meta.get("source"),
            "mode": self.meta.get("mode"),
            "dropped": self.meta.get("dropped"),
        }

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str], overwrite: bool = False) -> Path:
        """Save to ``.tgnet`` (native, fast to reload) or ``.gpkg`` (layers ``nodes``/``edges``)."""
        target = Path(path)
        suffix = target.suffix.lower()
        if suffix == NATIVE_SUFFIX:
            with atomic_output(target, overwrite) as tmp:
                _write_native(self, tmp)
        elif suffix == ".gpkg":
            with atomic_output(target, overwrite) as tmp:
                # the CRS and provenance travel as metadata of the nodes layer (QGIS shows them)
                gpkg_ready(self.nodes_gdf()).to_file(tmp, layer="nodes", driver="GPKG", engine="pyogrio",
                                                     layer_metadata={_GPKG_META_KEY: _meta_json(self)})
                add_gpkg_layer(self.edges_gdf(), tmp, "edges")
        else:
            raise InputFileError(f"cannot save a network as '{suffix}' ({target}); use {NATIVE_SUFFIX} or .gpkg")
        return target


def _meta_json(net: RoadNetwork) -> str:
    """The network's ``meta`` with the format, version and metric CRS (WKT), as JSON."""
    meta = dict(net.meta)
    meta.update({"format": _NATIVE_FORMAT, "version": __version__, "crs": net.crs.to_wkt()})
    return json.dumps(meta, default=str)


def _write_native(net: RoadNetwork, path: Path) -> None:
    geoms = net.edge_geometry
    coords = shapely.get_coordinates(geoms)
    offsets = np.concatenate([[0], np.cumsum(shapely.get_num_coordinates(geoms))])
    buf = io.BytesIO()
    edges = net.edges.copy()
    for col in edges.columns:
        if edges[col].dtype == object:
            edges[col] = edges[col].astype("string")  # missing -> <NA>, anything else -> its str
    edges.to_parquet(buf, index=False)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, arr in (("node_id", net.node_id), ("node_lon", net.node_lon), ("node_lat", net.node_lat),
                          ("edge_u", net.edge_u), ("edge_v", net.edge_v), ("coords", coords),
                          ("offsets", offsets)):
            b = io.BytesIO()
            np.save(b, arr, allow_pickle=False)
            zf.writestr(f"{name}.npy", b.getvalue())
        zf.writestr("edges.parquet", buf.getvalue())
        zf.writestr("meta.json", _meta_json(net))


def load_network(path: str | os.PathLike[str]) -> RoadNetwork:
    """Load a network saved with :meth:`RoadNetwork.save` (``.tgnet`` or ``.gpkg``)."""
    p = check_input(path, "network file")
    suffix = p.suffix.lower()
    if suffix == NATIVE_SUFFIX:
        try:
            with zipfile.ZipFile(p) as zf:
                arrs = {n[:-4]: np.load(io.BytesIO(zf.read(n)), allow_pickle=False)
                        for n in zf.namelist() if n.endswith(".npy")}
                edges = pd.read_parquet(io.BytesIO(zf.read("edges.parquet")))
                meta = json.loads(zf.read("meta.json"))
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise InputFileError(f"{p}: not a territorial-gis network file ({exc})") from None
        if meta.get("format") != _NATIVE_FORMAT:
            raise InputFileError(f"{p}: unknown network format {meta.get('format')!r}")
        for col in edges.columns:
            if str(edges[col].dtype) == "string":
                edges[col] = edges[col].astype(object).where(edges[col].notna(), None)
        coords, offsets = arrs["coords"], arrs["offsets"]
        geoms = shapely.from_ragged_array(shapely.GeometryType.LINESTRING, coords, (offsets,))
        crs = CRS.from_wkt(meta.pop("crs"))
        return RoadNetwork(arrs["node_id"], arrs["node_lon"], arrs["node_lat"], arrs["edge_u"],
                           arrs["edge_v"], edges, geoms, crs=crs, meta=meta)
    if suffix == ".gpkg":
        import geopandas as gpd
        import pyogrio

        try:
            layers = {name for name, _ in pyogrio.list_layers(p)}
        except Exception as exc:  # noqa: BLE001 - GDAL raises many kinds
            raise InputFileError(f"{p}: not a readable GeoPackage ({exc})") from None
        if not {"nodes", "edges"} <= layers:
            raise InputFileError(f"{p}: a network GeoPackage needs layers 'nodes' and 'edges' "
                                 f"(found {', '.join(sorted(layers))})")
        meta = _gpkg_meta(p)
        nodes = gpd.read_file(p, layer="nodes", engine="pyogrio")
        edges_gdf = gpd.read_file(p, layer="edges", engine="pyogrio").to_crs(4326)
        index = pd.Series(np.arange(len(nodes)), index=nodes["node_id"].astype(np.int64))
        u = index.loc[edges_gdf["u"].astype(np.int64)].to_numpy()
        v = index.loc[edges_gdf["v"].astype(np.int64)].to_numpy()
        nodes = nodes.to_crs(4326)
        edges = pd.DataFrame(edges_gdf.drop(columns=["u", "v", "geometry"]))
        stored = CRS.from_wkt(meta.pop("crs")) if "crs" in meta else None  # None: a GeoPackage of another tool
        meta.setdefault("source", str(p))
        return RoadNetwork.from_arrays(nodes["node_id"].to_numpy(), nodes.geometry.x.to_numpy(),
                                       nodes.geometry.y.to_numpy(), u, v, edges,
                                       edges_gdf.geometry.to_numpy(), crs=stored, meta=meta)
    raise InputFileError(f"{p}: unknown network format '{suffix}'; expected {NATIVE_SUFFIX} or .gpkg")


def _gpkg_meta(path: Path) -> dict[str, Any]:
    """The metadata a network GeoPackage written by :meth:`RoadNetwork.save` carries ({} if none)."""
    import pyogrio

    try:
        text = (pyogrio.read_info(path, layer="nodes").get("layer_metadata") or {}).get(_GPKG_META_KEY)
        meta = json.loads(text) if text else {}
    except (ValueError, TypeError) as exc:
        raise InputFileError(f"{path}: unreadable network metadata in layer 'nodes' ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format", _NATIVE_FORMAT) != _NATIVE_FORMAT:
        raise InputFileError(f"{path}: unknown network format {meta.get('format') if isinstance(meta, dict) else meta!r}")
    meta.pop("format", None)
    meta.pop("version", None)
    return meta
