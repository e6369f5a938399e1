"""Road networks: build from OpenStreetMap files, road line layers or osmnx, and route on them.

:class:`RoadNetwork` keeps compact arrays (node coordinates, directed edge endpoints, a CSR
adjacency of travel times) for the compiled routing engine, plus the edge attributes and
geometries for export. Build one with :func:`build_network` (OSM ``.osm.pbf``/``.osm``/
``.osm.gz``/``.osm.bz2`` files read with pyosmium, or road line layers), with
:func:`network_from_place`/:func:`network_from_bbox`/:func:`network_from_polygon` (osmnx,
online), or from any osmnx-compatible graph with :meth:`RoadNetwork.from_networkx`.
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from . import __version__
from ._arrays import run_positions
from ._crs import check_bbox, utm_crs_for_bounds
from ._geodesy import line_lengths_m, segment_lengths_m
from ._io import atomic_output, check_input, write_gpkg_layers
from .errors import ConfigError, InputFileError, NetworkError
from .speeds import Profile, assign_speeds, load_profile

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx

log = logging.getLogger(__name__)

NATIVE_SUFFIX = ".tgnet"
LAYER_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".parquet", ".geoparquet", ".fgb", ".zip")
_NATIVE_FORMAT = "territorial-gis-network/1"
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
                 edge_geometry: np.ndarray, crs: CRS | str | int | None = None,
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
                    edge_geometry: np.ndarray, crs: CRS | str | int | None = None,
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
        ``highway`` class with the profile's speed model. Missing geometries are straight lines.
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
        edges = pd.DataFrame(rows)
        geoms_arr = np.array(geoms, dtype=object)
        length = pd.to_numeric(edges.get("length"), errors="coerce") if "length" in edges else None
        if length is None or length.isna().any():  # measured only where the graph gives no length
            geo_len = line_lengths_m(geoms_arr)
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
        edges = edges.drop(columns=[c for c in ("length", "travel_time", "osmid") if c in edges])
        return cls.from_arrays(node_id, x, y, np.array(us), np.array(vs), edges, geoms_arr,
                               meta={"source": "networkx graph", "profile": prof.mode})

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

    def __repr__(self) -> str:
        km = self.edges.loc[~self.edges["reversed"].astype(bool), "length_m"].sum() / 1000
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
        """A new network with the edges where ``keep_edges`` is True and the nodes they use."""
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

    def components(self, strong: bool = True) -> np.ndarray:
        """Component label of each node (strongly connected by default)."""
        adj = sparse.csr_matrix((np.ones(self.n_edges), (self.edge_u, self.edge_v)),
                                shape=(self.n_nodes, self.n_nodes))
        _n, labels = connected_components(adj, directed=True, connection="strong" if strong else "weak")
        return labels

    def largest_component(self) -> RoadNetwork:
        """The largest strongly connected component; the dropped share is logged and kept in ``meta``."""
        labels = self.components(strong=True)
        counts = np.bincount(labels)
        big = int(np.argmax(counts))
        in_big = labels == big
        keep = in_big[self.edge_u] & in_big[self.edge_v]
        if keep.all():
            self.meta.setdefault("dropped", {"nodes": 0, "edges": 0, "length_km": 0.0, "length_share": 0.0})
            return self
        length = self.edges["length_m"].to_numpy(float)
        road = ~self.edges["reversed"].to_numpy(dtype=bool)  # each road piece once
        dropped_km = float(length[~keep & road].sum() / 1000.0)
        share = float(length[~keep].sum() / max(length.sum(), 1e-9))
        log.info("kept the largest strongly connected component: dropped %d of %d nodes, "
                 "%d of %d directed edges (%.1f%% of length)", int((~in_big).sum()), self.n_nodes,
                 int((~keep).sum()), self.n_edges, 100 * share)
        net = self.subgraph_edges(keep)
        net.meta["dropped"] = {"nodes": int((~in_big).sum()), "edges": int((~keep).sum()),
                               "length_km": dropped_km, "length_share": share,
                               "components": int(len(counts))}
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
        """An osmnx-compatible MultiDiGraph: node ``x``/``y`` (lon/lat), graph ``crs``
        EPSG:4326, edge ``length`` (m), ``travel_time`` (s), ``speed_kph``, ``osmid``, ``geometry``."""
        import networkx as nx

        G = nx.MultiDiGraph(crs="EPSG:4326", name=str(self.meta.get("source", "territorial-gis")),
                            created_with=f"territorial-gis {__version__}")
        G.add_nodes_from((int(i), {"x": float(x), "y": float(y)})
                         for i, x, y in zip(self.node_id, self.node_lon, self.node_lat, strict=True))
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

    def describe(self) -> dict[str, Any]:
        """Counts, km by class, components, bbox and CRS (what ``tgis network info`` prints)."""
        e = self.edges
        road = ~e["reversed"].astype(bool)  # each road piece once
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
            write_gpkg_layers({"nodes": self.nodes_gdf(), "edges": self.edges_gdf()}, target, overwrite)
        else:
            raise InputFileError(f"cannot save a network as '{suffix}' ({target}); use {NATIVE_SUFFIX} or .gpkg")
        return target


def _write_native(net: RoadNetwork, path: Path) -> None:
    geoms = net.edge_geometry
    coords = shapely.get_coordinates(geoms)
    offsets = np.concatenate([[0], np.cumsum(shapely.get_num_coordinates(geoms))])
    meta = dict(net.meta)
    meta.update({"format": _NATIVE_FORMAT, "version": __version__, "crs": net.crs.to_wkt()})
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
        zf.writestr("meta.json", json.dumps(meta, default=str))


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
        nodes = gpd.read_file(p, layer="nodes", engine="pyogrio")
        edges_gdf = gpd.read_file(p, layer="edges", engine="pyogrio").to_crs(4326)
        index = pd.Series(np.arange(len(nodes)), index=nodes["node_id"].astype(np.int64))
        u = index.loc[edges_gdf["u"].astype(np.int64)].to_numpy()
        v = index.loc[edges_gdf["v"].astype(np.int64)].to_numpy()
        nodes = nodes.to_crs(4326)
        edges = pd.DataFrame(edges_gdf.drop(columns=["u", "v", "geometry"]))
        return RoadNetwork.from_arrays(nodes["node_id"].to_numpy(), nodes.geometry.x.to_numpy(),
                                       nodes.geometry.y.to_numpy(), u, v, edges,
                                       edges_gdf.geometry.to_numpy(), meta={"source": str(p)})
    raise InputFileError(f"{p}: unknown network format '{suffix}'; expected {NATIVE_SUFFIX} or .gpkg")


# ---------------------------------------------------------------------- builders
def _check_bbox(bbox: Sequence[float] | None) -> Bounds | None:
    return None if bbox is None else check_bbox(bbox)


def _clip(net: RoadNetwork, bbox: Bounds | None, polygon: Any) -> RoadNetwork:
    if bbox is None and polygon is None:
        return net
    area = shapely.box(*bbox) if bbox is not None else polygon
    if hasattr(area, "unary_union"):  # a GeoSeries / GeoDataFrame
        area = area.to_crs(4326).union_all() if getattr(area, "crs", None) else area.union_all()
    inside = shapely.intersects_xy(area, net.node_lon, net.node_lat)  # boundary nodes count as inside
    keep = inside[net.edge_u] & inside[net.edge_v]
    if not keep.any():
        w, s, e, n = net.bounds
        raise NetworkError(f"the clip area {shapely.bounds(area).round(5).tolist()} does not overlap the "
                           f"data (network bbox {w:.5f} {s:.5f} {e:.5f} {n:.5f})")
    return net.subgraph_edges(keep, note="clipped")


def _network_from_osm_file(path: Path, profile: Profile) -> RoadNetwork:
    from ._osm import oneway_direction, read_ways, split_ways

    ways = read_ways(path, profile)
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
    for key in ("highway", "surface", "tracktype", "smoothness", "maxspeed", "name", "ref", "bridge", "tunnel"):
        # object columns: no string-dtype inference pass (the loaders give the same dtype)
        cols[key] = pd.Series(tags[key].to_numpy(dtype=object)[wr], dtype=object, copy=False)
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


def build_network(source: str | os.PathLike[str], *, profile: str | os.PathLike[str] | Profile | None = None,
                  mode: str = "drive", bbox: Sequence[float] | None = None, polygon: Any = None,
                  largest_component: bool = True, **layer_options: Any) -> RoadNetwork:
    """Build a routable road network from a file on disk.

    Parameters
    ----------
    source
        An OpenStreetMap file (``.osm.pbf``, ``.osm``, ``.osm.gz``, ``.osm.bz2``), read with
        pyosmium, or a road line layer (GeoPackage, Shapefile, GeoJSON, GeoParquet, FlatGeobuf).
    profile
        Speed profile TOML file or :class:`~territorial_gis.speeds.Profile`; default the shipped
        profile for ``mode``.
    mode
        ``"drive"`` or ``"walk"`` (used when ``profile`` is None).
    bbox, polygon
        Optional clip (west, south, east, north in degrees, or a shapely polygon / GeoSeries).
    largest_component
        Keep only the largest strongly connected component (the dropped share is logged).
    **layer_options
        Options of line layers (``layer``, ``schema``, ``crossings``, ``snap_tolerance_m``,
        ``unmapped``, ``default_class``), see :func:`territorial_gis._layers.network_from_layer`.
    """
    t0 = time.perf_counter()
    path = check_input(source, "road network source")
    prof = load_profile(profile, mode=mode) if not isinstance(profile, Profile) else profile
    clip_box = _check_bbox(bbox)
    from ._osm import is_osm_file

    if is_osm_file(path):
        if layer_options:
            raise ConfigError(f"options {', '.join(sorted(layer_options))} apply to line layers, not OSM files")
        net = _network_from_osm_file(path, prof)
        net = _clip(net, clip_box, polygon)
        if largest_component:
            net = net.largest_component()
    elif path.suffix.lower() in LAYER_SUFFIXES:
        from ._layers import network_from_layer

        net = network_from_layer(path, profile=prof, mode=prof.mode, bbox=clip_box, polygon=polygon,
                                 largest_component=largest_component, **layer_options)
    else:
        raise InputFileError(f"{path}: unknown road network format; expected an OSM file "
                             f"(.osm.pbf, .osm, .osm.gz, .osm.bz2) or a line layer "
                             f"({', '.join(LAYER_SUFFIXES)})")
    net.meta.update({"source": str(path), "mode": prof.mode, "profile": prof.source,
                     "walk_speed_kph": prof.walk_speed_kph,
                     "build_seconds": round(time.perf_counter() - t0, 3)})
    log.info("built %r in %.2f s", net, time.perf_counter() - t0)
    return net


def _from_osmnx_graph(G: Any, profile: Profile, what: str) -> RoadNetwork:
    net = RoadNetwork.from_networkx(G, profile=profile)
    # re-derive speeds with our model from the OSM tags osmnx kept
    tags = net.edges
    spd = assign_speeds(tags, profile)
    net.edges["speed_kph"] = spd
    net.edges["travel_time_s"] = net.edges["length_m"] / (np.maximum(spd, 1e-9) / 3.6)
    net = net.subgraph_edges(spd > 0).largest_component()
    net.meta.update({"source": what, "mode": profile.mode})
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
        "surface", "tracktype", "smoothness", "maxspeed", "access", "motor_vehicle", "service"})
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
    box = _check_bbox(bbox)
    assert box is not None
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
