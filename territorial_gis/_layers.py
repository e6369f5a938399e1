"""Road networks from line layers: schemas as data, topology repair, RoadNetwork construction.

Many analysts get their roads as a line layer rather than an OSM file: Geofabrik's OSM
shapefiles, or the layer of a national road agency (Shapefile, GeoPackage, GeoJSON, GeoParquet,
FlatGeobuf). :func:`network_from_layer` turns such a layer into the same routable
:class:`~territorial_gis.network.RoadNetwork` as the OSM path:

1. read it with pyogrio (any CRS), clip to an optional bbox/polygon, explode multi-part lines;
2. map the layer's columns to the speed model with a *schema* (TOML, see
   ``territorial_gis/schemas/geofabrik.toml`` and ``examples/road_agency_schema.toml``);
3. build the topology in the metric CRS of the area, vectorised over flat vertex arrays:
   lines are split at every vertex they share with another line (OSM's rule: interior shared
   vertices included, mere crossings not); optionally nodes are added where lines cross
   (never where either is a bridge or tunnel or they sit on different ``layer`` values);
   dangling ends within a tolerance of another line are moved onto its nearest point (never an
   interior vertex, never beyond the tolerance, never a chain of moves); zero-length and
   duplicate edges are dropped;
4. assign speeds with :func:`territorial_gis.speeds.assign_speeds` and build the directed edges.

The steps of :func:`network_from_layer`: :func:`resolve_layer_schema` (columns of the layer
and schema), :func:`read_lines` (line features in EPSG:4326, clipped),
:func:`~territorial_gis._layer_schema.apply_schema` (attributes), :func:`select_routable`
(classes, speeds, season), :func:`~territorial_gis._layer_topology.build_layer_graph`
(topology and repair), :func:`assemble_network` (directed edges, components).

What was repaired is counted in a report (``net.repair_report``), logged, and written beside
the network with :func:`write_repair_report`.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from ._geodesy import line_lengths_m
from ._io import atomic_output, check_input
from ._layer_schema import (
    SEASON_CHOICES,
    UNMAPPED_CHOICES,
    Features,
    LayerSchema,
    apply_schema,
    check_schema_against_profile,
    detect_schema,
    load_schema,
)
from ._layer_topology import LayerGraph, build_layer_graph, utm_of
from ._roadnet import RoadNetwork
from ._vector import clip_area, layer_columns, read_layer
from .errors import ConfigError, CRSError, InputFileError, NetworkError
from .speeds import Profile, assign_speeds, load_profile

__all__ = ["network_from_layer", "read_layer", "write_repair_report", "log_repair_report"]

log = logging.getLogger(__name__)


def _directed(graph: LayerGraph, feats: Features, speed_feat: np.ndarray, walk: bool,
              ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, np.ndarray]:
    f = graph.part_feature[graph.edge_part]
    table = feats.table
    d = np.zeros(len(f), dtype=np.int8) if walk else feats.direction[f]
    base = table.iloc[f].reset_index(drop=True)
    speed = speed_feat[f]
    base.insert(0, "length_m", graph.length_m)
    base.insert(1, "speed_kph", speed)
    base.insert(2, "travel_time_s", graph.length_m / (speed / 3.6))
    base["oneway"] = d != 0
    base["segment"] = np.arange(len(f), dtype=np.int64)
    base = base.drop(columns=[c for c in ("speed_kph_override",) if c in base])
    fwd = np.flatnonzero(d >= 0)
    bwd = np.flatnonzero(d <= 0)
    edges = pd.concat([base.iloc[fwd].assign(reversed=False), base.iloc[bwd].assign(reversed=True)],
                      ignore_index=True)
    eu = np.concatenate([graph.edge_u[fwd], graph.edge_v[bwd]]).astype(np.int32)
    ev = np.concatenate([graph.edge_v[fwd], graph.edge_u[bwd]]).astype(np.int32)
    geom = np.concatenate([graph.edge_geometry[fwd], shapely.reverse(graph.edge_geometry[bwd])])
    return eu, ev, edges, geom


@dataclass
class _LayerLines:
    """The line features of a layer after reading and clipping: attributes and geometries
    (EPSG:4326), in the same order."""

    gdf: pd.DataFrame
    geoms: np.ndarray


@dataclass(frozen=True)
class LayerSource:
    """One road line layer of a build: the file, the layer in it, its schema and columns."""

    path: Path
    layer: str | None
    schema: LayerSchema
    columns: dict[str, str]

    @property
    def label(self) -> str:
        """``file`` or ``file:layer``, as the edges' ``source_layer`` attribute names it."""
        return self.path.name + (f":{self.layer}" if self.layer else "")


@dataclass
class _Read:
    """The features of all sources, concatenated: attributes, geometries, lengths (km)."""

    feats: Features
    geoms: np.ndarray
    length_km: np.ndarray


def network_from_layer(source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *,
                       layer: str | Sequence[str] | None = None,
                       schema: str | os.PathLike[str] | LayerSchema | Sequence[Any] | None = None,
                       profile: str | os.PathLike[str] | Profile | None = None, mode: str = "drive",
                       crossings: bool = False, snap_tolerance_m: float = 0.0, unmapped: str = "refuse",
                       default_class: str = "unclassified", bbox: Sequence[float] | None = None,
                       polygon: Any = None, largest_component: bool = True,
                       season: str = "all") -> RoadNetwork:
    """Build a routable :class:`~territorial_gis.network.RoadNetwork` from road line layers
    (the steps are listed in the module docstring).

    Parameters
    ----------
    source
        A GeoPackage, Shapefile, GeoJSON, GeoParquet or FlatGeobuf file in any CRS, or several
        (a national layer and a local one): their roads are joined with the same topology
        rules into one network, with one repair report.
    layer
        Layer of a multi-layer file (GeoPackage); several layers of one file, or one per file.
    schema
        A schema TOML file, a built-in name (``"geofabrik"``) or a :class:`LayerSchema`, for
        every source or one per source; None detects Geofabrik's OSM shapefile schema.
    profile, mode
        Speed profile (TOML file or :class:`~territorial_gis.speeds.Profile`; default the shipped
        profile of ``mode``). Classes the profile does not list are not routable and dropped.
    crossings
        Add a node where lines cross without a shared vertex; never at bridges or tunnels or
        across ``layer`` values.
    snap_tolerance_m
        Repair tolerance in metres (0: none): dangling ends within it of another line are
        moved onto that line's nearest point; nothing else moves.
    unmapped, default_class
        Class, surface and season values the schema does not map: ``"refuse"`` (ConfigError
        listing them with counts and km) or ``"default"`` (``default_class``, no surface
        factor, all year).
    bbox, polygon
        Optional clip: west, south, east, north in degrees; a shapely polygon in EPSG:4326, a
        GeoSeries/GeoDataFrame or a polygon file.
    largest_component
        Keep only the largest strongly connected component (what it drops is reported).
    season
        ``"all"`` keeps every road; ``"wet"`` drops roads the season column marks as dry-season
        only (every source needs one).

    Returns
    -------
    RoadNetwork
        With ``repair_report`` (a dict, also in ``meta["repair_report"]``).

    Raises
    ------
    InputFileError, CRSError, ColumnError, ConfigError, NetworkError
        The message names the file, layer, column, value or option.
    """
    _check_options(snap_tolerance_m=snap_tolerance_m, unmapped=unmapped, season=season)
    prof = load_profile(profile, mode=mode)
    area = clip_area(bbox, polygon)
    _check_default_class(prof, unmapped=unmapped, default_class=default_class)
    sources = layer_sources(source, layer=layer, schema=schema, profile=prof, season=season)
    report: dict[str, Any] = {"mode": prof.mode, "crossings": bool(crossings),
                              "snap_tolerance_m": float(snap_tolerance_m)}
    read = read_sources(sources, area=area, profile=prof, unmapped=unmapped, default_class=default_class,
                        report=report)
    what = " + ".join(str(src.path) for src in sources)
    keep, speed = select_routable(read.feats, prof, season=season, feat_len_km=read.length_km, what=what,
                                  report=report)
    feats = Features(table=read.feats.table.iloc[keep].reset_index(drop=True), direction=read.feats.direction[keep],
                     bridge_tunnel=read.feats.bridge_tunnel[keep], layer=read.feats.layer[keep])
    metric = utm_of(shapely.total_bounds(read.geoms[keep]))  # of the roads kept, not the whole layer
    report["topology_crs"] = metric.to_string()
    graph = build_layer_graph(read.geoms[keep], bridge_tunnel=feats.bridge_tunnel, layer=feats.layer,
                              crossings=crossings, snap_tolerance_m=float(snap_tolerance_m),
                              metric_crs=metric, report=report)
    net = assemble_network(graph, feats, speed[keep], walk=prof.mode == "walk", report=report)
    return _finish(net, largest_component=largest_component, report=report)


def layer_sources(source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *,
                  layer: str | Sequence[str] | None, schema: Any, profile: Profile,
                  season: str = "all") -> list[LayerSource]:
    """The (file, layer, schema) of each source, checked before any feature is read: files
    exist and are readable, layers exist, schema columns are in the layer, schema tables map
    to names the speed model knows, and a wet season has a season column in every source.

    One file with several layers gives one source per layer; several files one per file, with
    one layer name for all or one per file. One schema serves all, or one is given per source.
    """
    paths = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    if not paths:
        raise ConfigError("no road line layer given")
    layers = [layer] if layer is None or isinstance(layer, str) else list(layer)
    if len(paths) == 1 and len(layers) > 1:
        paths = paths * len(layers)
    elif len(layers) == 1:
        layers = layers * len(paths)
    if len(layers) != len(paths):
        raise ConfigError(f"{len(paths)} files and {len(layers)} layers: give one layer name for all files or "
                          f"one per file")
    schemas = [schema] if schema is None or isinstance(schema, (str, os.PathLike, LayerSchema)) else list(schema)
    if len(schemas) == 1:
        schemas = schemas * len(paths)
    if len(schemas) != len(paths):
        raise ConfigError(f"{len(paths)} layers and {len(schemas)} schemas: give one schema for all or one per layer")
    out = []
    for p, lay, sch_arg in zip(paths, layers, schemas, strict=True):
        path = check_input(p, "road line layer")
        sch, cols = resolve_layer_schema(path, layer=lay, schema=sch_arg)
        check_schema_against_profile(sch, profile)
        if season == "wet" and "season" not in cols:
            where = f"{path}" + (f" layer {lay}" if lay else "")
            raise ConfigError(f"{where}: season='wet' needs a season column, and "
                              + (f"the schema {sch.source} names none ([season])" if "season" not in sch.columns
                                 else f"the layer has no column {' or '.join(map(repr, sch.columns['season']))}"))
        out.append(LayerSource(path=path, layer=lay, schema=sch, columns=cols))
    labels = [src.label for src in out]
    if len(set(labels)) < len(labels):
        raise ConfigError(f"the same layer is given twice: {', '.join(sorted({x for x in labels if labels.count(x) > 1}))}")
    return out


def read_sources(sources: Sequence[LayerSource], *, area: shapely.Geometry | None, profile: Profile,
                 unmapped: str, default_class: str, report: dict[str, Any]) -> _Read:
    """Read every source's line features with their attributes (:func:`read_lines`,
    :func:`~territorial_gis._layer_schema.apply_schema`) and concatenate them; each source's
    counts and values go to ``report["layers"]``, and with a single source to ``report`` too."""
    feats, geoms, lengths, reps = [], [], [], []
    id_offset = 0
    for src in sources:
        rep: dict[str, Any] = {"source": str(src.path), "layer": src.layer, "schema": src.schema.name,
                               "columns": src.columns}
        lines = read_lines(src.path, layer=src.layer, columns=src.columns, area=area, report=rep)
        km = _lengths_km(lines.geoms)
        f = apply_schema(lines.gdf, src.schema, src.columns, feat_len_km=km, unmapped=unmapped,
                         default_class=default_class, what=str(src.path), report=rep, profile=profile)
        f.table.insert(0, "source_layer", src.label)
        if "source_id" not in src.columns:  # sequential ids, unique over the sources
            f.table["osm_way_id"] = np.arange(len(f.table), dtype=np.int64) + id_offset
        id_offset += len(f.table)
        feats.append(f)
        geoms.append(lines.geoms)
        lengths.append(km)
        reps.append(rep)
    report["layers"] = reps
    if len(reps) == 1:
        report.update(reps[0])
    else:
        report.update(source=[r["source"] for r in reps], features_read=sum(r["features_read"] for r in reps),
                      unmapped_classes={f"{src.label}: {v}": c for src, r in zip(sources, reps, strict=True)
                                        for v, c in r["unmapped_classes"].items()},
                      unmapped_action=next((r["unmapped_action"] for r in reps if r["unmapped_action"]), None))
    table = pd.concat([f.table for f in feats], ignore_index=True)
    return _Read(feats=Features(table=table, direction=np.concatenate([f.direction for f in feats]),
                                bridge_tunnel=np.concatenate([f.bridge_tunnel for f in feats]),
                                layer=np.concatenate([f.layer for f in feats])),
                 geoms=np.concatenate(geoms), length_km=np.concatenate(lengths))


def _finish(net: RoadNetwork, *, largest_component: bool, report: dict[str, Any]) -> RoadNetwork:
    """Keep the largest component if asked; attach and log the report."""
    if largest_component:
        net = net.largest_component()
        report["nodes_kept"] = int(net.n_nodes)
        report["directed_edges_kept"] = int(net.n_edges)
        report["largest_component_dropped"] = net.meta.get("dropped")
    net = net.with_crs_of_nodes()  # the UTM zone of the roads kept
    net.repair_report = report
    net.meta["repair_report"] = report
    log_repair_report(report)
    return net


def _check_options(*, snap_tolerance_m: float, unmapped: str, season: str) -> None:
    if not isinstance(snap_tolerance_m, (int, float)) or isinstance(snap_tolerance_m, bool) \
            or not math.isfinite(snap_tolerance_m) or snap_tolerance_m < 0:
        raise ConfigError(f"snap tolerance must be a number of metres >= 0, got {snap_tolerance_m!r}")
    if unmapped not in UNMAPPED_CHOICES:
        raise ConfigError(f"unmapped = {unmapped!r}; expected one of {', '.join(UNMAPPED_CHOICES)}")
    if season not in SEASON_CHOICES:
        raise ConfigError(f"season = {season!r}; expected one of {', '.join(SEASON_CHOICES)}")


def _check_default_class(prof: Profile, *, unmapped: str, default_class: str) -> None:
    if unmapped == "default" and default_class not in prof.highways:
        raise ConfigError(f"default_class {default_class!r} is not a class of the profile {prof.source} "
                          f"({', '.join(sorted(prof.highways))})")


def resolve_layer_schema(path: Path, *, layer: str | None,
                         schema: str | os.PathLike[str] | LayerSchema | None,
                         ) -> tuple[LayerSchema, dict[str, str]]:
    """The schema of a layer (given, or detected from its columns) and the column of each role,
    read from the layer's metadata without reading its features."""
    columns = layer_columns(path, layer)
    sch = detect_schema(columns, str(path)) if schema is None else load_schema(schema)
    return sch, sch.resolve(columns, str(path))


_GEOM_TYPES = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint",
               5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection", -1: "missing"}


def read_lines(path: Path, *, layer: str | None, columns: dict[str, str], area: shapely.Geometry | None,
               report: dict[str, Any]) -> _LayerLines:
    """The (multi-)line features of a layer with the schema's columns, in EPSG:4326, clipped to
    ``area``; counts go to ``report``.

    Raises
    ------
    InputFileError
        No line geometry in the layer.
    CRSError
        Coordinates outside lon/lat range once transformed (a wrong CRS).
    NetworkError
        The clip area does not overlap the layer.
    """
    what = str(path)
    gdf = read_layer(path, layer=layer, columns=sorted(set(columns.values())))
    report["features_read"] = int(len(gdf))
    geoms = shapely.force_2d(np.asarray(gdf.geometry.values, dtype=object))
    is_line = np.isin(shapely.get_type_id(geoms), (1, 5)) & ~shapely.is_empty(geoms)
    if not is_line.any():
        kinds = pd.Series(shapely.get_type_id(geoms)).map(_GEOM_TYPES).value_counts()
        desc = ", ".join(f"{k} {v}" for k, v in kinds.items()) or "no features"
        raise InputFileError(f"{what}: no line geometries in the layer ({desc})")
    report["non_line_features_dropped"] = int((~is_line).sum())
    gdf = gdf.loc[is_line]
    geoms = geoms[is_line]
    crs = CRS.from_user_input(gdf.crs)
    if not crs.equals(CRS.from_epsg(4326)):
        tr = Transformer.from_crs(crs, 4326, always_xy=True)
        geoms = shapely.transform(geoms, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
    bounds = shapely.total_bounds(geoms)
    if not (-180.5 <= bounds[0] <= bounds[2] <= 180.5 and -90.5 <= bounds[1] <= bounds[3] <= 90.5):
        raise CRSError(f"{what}: coordinates in {crs.to_string()} do not fall in lon/lat range after "
                       f"transformation (bounds {bounds.round(3).tolist()}); is the CRS right?")
    if area is not None:
        hit = shapely.intersects(geoms, area)
        if not hit.any():
            raise NetworkError(f"the clip area {shapely.bounds(area).round(5).tolist()} does not overlap "
                               f"the layer {what} (bbox {bounds.round(5).tolist()})")
        gdf, geoms = gdf.loc[hit], geoms[hit]
        inside = shapely.within(geoms, area)
        clipped = geoms.copy()
        clipped[~inside] = shapely.intersection(geoms[~inside], area)
        geoms = clipped
        report["clipped_features"] = int((~inside).sum())
    return _LayerLines(gdf=gdf, geoms=geoms)


def _lengths_km(geoms: np.ndarray) -> np.ndarray:
    """Ellipsoidal length (km) of each lon/lat (multi-)line, part by part (for the reports)."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    return np.bincount(owner, weights=line_lengths_m(parts), minlength=len(geoms)) / 1000.0


def select_routable(feats: Features, prof: Profile, *, season: str, feat_len_km: np.ndarray, what: str,
                    report: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The features routable in the profile's mode (and season) and the speed of every feature.

    Returns the indices of the kept features and the speed (km/h) of all features; the classes
    not routable go to ``report["not_routable"]`` with counts and km.

    Raises
    ------
    NetworkError
        No feature is routable.
    """
    speed = assign_speeds(feats.table, prof)
    highway = feats.table["highway"].astype(object)
    passable = highway.isin(prof.highways).to_numpy() & (speed > 0)
    dropped = ~passable
    if "season" in feats.table and season == "wet":
        dry = (feats.table["season"] == "dry_season_only").to_numpy()
        report["dry_season_only_dropped"] = int((dry & passable).sum())
        report["dry_season_only_dropped_km"] = round(float(feat_len_km[dry & passable].sum()), 3)
        if not (dry & passable).any():
            log.warning("%s: season 'wet' closes no road: no routable feature is dry-season only (values of "
                        "the season column: %s)", what, ", ".join(report["values"]["season"]["values"]))
        passable &= ~dry
    report["not_routable"] = {}
    if dropped.any():
        grp = pd.DataFrame({"cls": highway[dropped].astype(str).to_numpy(),
                            "km": feat_len_km[dropped]}).groupby("cls")["km"]
        report["not_routable"] = {str(k): {"count": int(c), "length_km": round(float(v), 3)}
                                  for k, c, v in zip(grp.size().index, grp.size(), grp.sum(), strict=True)}
    if not passable.any():
        raise NetworkError(f"{what}: no road routable in mode '{prof.mode}' (classes in the layer: "
                           f"{', '.join(sorted(map(str, highway.dropna().unique()))[:20])})")
    keep = np.flatnonzero(passable)
    report["features_used"] = int(len(keep))
    report["length_km_used"] = round(float(feat_len_km[keep].sum()), 3)
    return keep, speed


def assemble_network(graph: LayerGraph, feats: Features, speed: np.ndarray, *, walk: bool,
                     report: dict[str, Any]) -> RoadNetwork:
    """The directed :class:`RoadNetwork` of a layer graph (feature attributes and speeds on its
    edges), with the strongly connected components counted in ``report``."""
    eu, ev, edges, geom = _directed(graph, feats, speed, walk=walk)
    n_nodes = len(graph.node_lon)
    adj = sparse.coo_matrix((np.ones(len(eu)), (eu, ev)), shape=(n_nodes, n_nodes))
    _k, lab = connected_components(adj, directed=True, connection="strong")
    lens = edges["length_m"].to_numpy(float)
    same = lab[eu] == lab[ev]
    comp_len = np.bincount(lab[eu][same], weights=lens[same], minlength=_k)
    report["strong_components"] = int(_k)
    report["largest_strong_component_length_share"] = round(float(comp_len.max() / lens.sum()), 6)
    report["nodes"] = int(n_nodes)
    report["undirected_edges"] = int(len(graph.edge_u))
    report["directed_edges"] = int(len(eu))
    # the metric CRS is chosen from the nodes (UTM of the roads kept), like any built network
    return RoadNetwork.from_arrays(np.arange(n_nodes, dtype=np.int64), graph.node_lon, graph.node_lat, eu, ev,
                                   edges, geom, meta={"repair_report": report})


# ---------------------------------------------------------------------- report
_FIX_KEYS = ("multipart_exploded", "split_at_shared_vertices", "crossings_noded",
             "crossings_skipped_bridge_tunnel_layer", "ends_snapped", "ends_snapped_onto_end", "new_junctions",
             "snap_max_displacement_m", "snap_median_displacement_m", "zero_length_dropped", "duplicates_dropped")


def log_repair_report(report: dict[str, Any]) -> None:
    """Log the repair report in three lines (values; fixes; components before/after)."""
    for layer in report.get("layers") or [report]:
        mapping = "; ".join(f"{name} ({v['column']}): {v['values_seen']} values, {v['unmapped']['count']} "
                            f"features unmapped ({v['unmapped']['length_km']:.1f} km), {v['missing']['count']} missing"
                            for name, v in (layer.get("values") or {}).items())
        log.info("%s%s: %d features; %s", layer.get("source", "layer"),
                 f" layer {layer['layer']}" if layer.get("layer") else "", layer.get("features_read", 0),
                 mapping or "no mapped field")
    not_routable = ", ".join(f"{k} {v['count']} ({v['length_km']:.1f} km)"
                             for k, v in (report.get("not_routable") or {}).items()) or "none"
    log.info("not routable in mode %s: %s; unmapped action: %s", report.get("mode"), not_routable,
             report.get("unmapped_action") or "none")
    fixes = ", ".join(f"{k}={report.get(k, 0)}" for k in _FIX_KEYS)
    log.info("repairs: %s", fixes)
    log.info("components %s -> %s, largest holds %.1f%% -> %.1f%% of length (strongly connected: %.1f%%); "
             "crossings without a shared vertex: %s",
             report.get("components_before"), report.get("components_after"),
             100 * report.get("largest_component_length_share_before", 0.0),
             100 * report.get("largest_component_length_share_after", 0.0),
             100 * report.get("largest_strong_component_length_share", 0.0),
             report.get("crossings_without_shared_vertex"))


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_repair_report(report: dict[str, Any], path: str | os.PathLike[str], overwrite: bool = False) -> Path:
    """Write the repair report as JSON, atomically (the CLI writes it beside the network).

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False.
    """
    target = Path(path)
    with atomic_output(target, overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(_jsonable(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target
