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
   (never where either is a bridge or tunnel or they sit on different ``layer`` values), ends
   that stop within a tolerance of another line are snapped onto it, near-coincident vertices
   are merged; zero-length and duplicate edges are dropped;
4. assign speeds with :func:`territorial_gis.speeds.assign_speeds` and build the directed edges.

What was repaired is counted in a report (``net.repair_report``), logged, and written beside
the network with :func:`write_repair_report`.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from ._crs import utm_crs_for_bounds
from ._geodesy import segment_lengths_m
from ._io import atomic_output, check_input
from ._progress import bar
from ._toml import read_builtin_or_file
from .errors import ColumnError, ConfigError, CRSError, InputFileError, NetworkError
from .speeds import Profile, assign_speeds, load_profile

if TYPE_CHECKING:
    import geopandas as gpd

    from .network import RoadNetwork

log = logging.getLogger(__name__)

BUILTIN_SCHEMAS = ("geofabrik",)
UNMAPPED_CHOICES = ("refuse", "default")
SEASON_CHOICES = ("all", "wet")
_QUANTUM_M = 1e-3  # vertices in the same 1 mm cell are the same point
_VERTEX_EPS_M = 1e-3  # a crossing closer than this (m) to a vertex is at the vertex
_TOUCH_DEG = 1e-8  # lines closer than this (degrees, ~1 mm) meet
_LINE_TYPES = ("LineString", "MultiLineString")

# ---------------------------------------------------------------------- schema
_ROLES = ("class", "surface", "season", "oneway", "bridge", "tunnel", "layer", "maxspeed", "speed",
          "source_id", "road_name")
_SECTION_KEYS: dict[str, set[str]] = {
    "class": {"column", "optional", "values", "tracktype"},
    "surface": {"column", "optional", "values"},
    "season": {"column", "optional", "dry_season_only"},
    "oneway": {"column", "optional", "forward", "backward"},
    "bridge": {"column", "optional", "true"},
    "tunnel": {"column", "optional", "true"},
    "layer": {"column", "optional"},
    "maxspeed": {"column", "optional"},
    "speed": {"column", "optional"},
    "source_id": {"column", "optional"},
    "road_name": {"column", "optional"},
}
_TOP_KEYS = {"name", "description", *_ROLES}
_DEFAULT_TRUE = ("t", "1", "yes", "true", "y")


def _norm(value: object) -> str:
    """A layer value as a lower-case key (numbers without a trailing ``.0``; missing -> "")."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    return str(value).strip().lower()


def _norm_series(s: pd.Series) -> pd.Series:
    uniq = pd.unique(s.astype(object))
    table = {u: _norm(u) for u in uniq if not (isinstance(u, float) and math.isnan(u))}
    return s.astype(object).map(table).fillna("").astype(object)


@dataclass(frozen=True)
class LayerSchema:
    """How a road line layer's columns map to the speed model (see :func:`load_schema`).

    ``columns`` maps a role (``class``, ``surface``, ``season``, ``oneway``, ``bridge``,
    ``tunnel``, ``layer``, ``maxspeed``, ``speed``, ``source_id``, ``road_name``) to candidate
    column names (the first present is used); roles in ``optional`` may be absent from a layer.
    Value tables are keyed by lower-case layer values.
    """

    name: str
    columns: dict[str, tuple[str, ...]]
    optional: frozenset[str] = frozenset()
    class_values: dict[str, str] | None = None
    class_tracktype: dict[str, str] = field(default_factory=dict)
    surface_values: dict[str, str] | None = None
    dry_season_only: frozenset[str] = frozenset()
    oneway_forward: frozenset[str] = frozenset()
    oneway_backward: frozenset[str] = frozenset()
    bridge_true: frozenset[str] = frozenset(_DEFAULT_TRUE)
    tunnel_true: frozenset[str] = frozenset(_DEFAULT_TRUE)
    description: str = ""
    source: str = "<dict>"

    def resolve(self, available: Sequence[str], what: str) -> dict[str, str]:
        """The layer column used for each role of the schema.

        Raises
        ------
        ColumnError
            A required column is not in ``available`` (the message names it and lists the
            columns of the layer).
        """
        out: dict[str, str] = {}
        cols = list(available)
        for role, candidates in self.columns.items():
            found = next((c for c in candidates if c in cols), None)
            if found is None:
                lower = {c.lower(): c for c in cols}
                found = next((lower[c.lower()] for c in candidates if c.lower() in lower), None)
            if found is None:
                if role in self.optional:
                    continue
                names = " or ".join(repr(c) for c in candidates)
                raise ColumnError(f"{what}: {role} column {names} (schema {self.source}) not found; "
                                  f"available columns: {', '.join(cols) or '(none)'}")
            out[role] = found
        return out


def _str_list(section: dict[str, Any], key: str, where: str) -> frozenset[str]:
    value = section.get(key, [])
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise ConfigError(f"{where}.{key} must be a list of values")
    return frozenset(_norm(v) for v in value)


def _str_table(section: dict[str, Any], key: str, where: str) -> dict[str, str] | None:
    if key not in section:
        return None
    table = section[key]
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise ConfigError(f"{where}.{key} must be a table of layer value = \"name\"")
    return {_norm(k): v for k, v in table.items()}


def schema_from_dict(data: dict[str, Any], source: str = "<dict>") -> LayerSchema:
    """Validate a schema given as a dict (the TOML content) and return a :class:`LayerSchema`.

    Raises
    ------
    ConfigError
        Unknown keys, a missing ``[class]`` column or wrong value types; the message names the
        file and the key.
    """
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}; "
                          f"allowed: {', '.join(sorted(_TOP_KEYS))}")
    if "class" not in data:
        raise ConfigError(f"{source}: a schema needs a [class] table with the road class column")
    columns: dict[str, tuple[str, ...]] = {}
    optional: set[str] = set()
    sections: dict[str, dict[str, Any]] = {}
    for role in _ROLES:
        if role not in data:
            continue
        sec = data[role]
        where = f"{source}: [{role}]"
        if not isinstance(sec, dict):
            raise ConfigError(f"{where} must be a table (e.g. column = \"NAME\")")
        bad = set(sec) - _SECTION_KEYS[role]
        if bad:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(bad))}; "
                              f"allowed: {', '.join(sorted(_SECTION_KEYS[role]))}")
        col = sec.get("column")
        if isinstance(col, str):
            col = [col]
        if not isinstance(col, list) or not col or not all(isinstance(c, str) and c for c in col):
            raise ConfigError(f"{where}: column must be a column name or a list of names")
        opt = sec.get("optional", False)
        if not isinstance(opt, bool):
            raise ConfigError(f"{where}: optional must be true or false")
        if opt and role == "class":
            raise ConfigError(f"{where}: the class column cannot be optional")
        columns[role] = tuple(col)
        if opt:
            optional.add(role)
        sections[role] = sec
    cls = sections["class"]
    tracktype = _str_table(cls, "tracktype", f"{source}: [class]") or {}
    if "season" in sections and "dry_season_only" not in sections["season"]:
        raise ConfigError(f"{source}: [season] needs dry_season_only = [values meaning dry season only]")
    name = data.get("name", Path(source).stem)
    if not isinstance(name, str):
        raise ConfigError(f"{source}: name must be a string")
    ow = sections.get("oneway", {})
    return LayerSchema(
        name=name,
        columns=columns,
        optional=frozenset(optional),
        class_values=_str_table(cls, "values", f"{source}: [class]"),
        class_tracktype=tracktype,
        surface_values=_str_table(sections.get("surface", {}), "values", f"{source}: [surface]"),
        dry_season_only=_str_list(sections.get("season", {}), "dry_season_only", f"{source}: [season]"),
        oneway_forward=(_str_list(ow, "forward", f"{source}: [oneway]") if "forward" in ow
                        else frozenset(("1", "yes", "true", "t", "f"))),
        oneway_backward=(_str_list(ow, "backward", f"{source}: [oneway]") if "backward" in ow
                         else frozenset(("-1", "reverse"))),
        bridge_true=(_str_list(sections["bridge"], "true", f"{source}: [bridge]")
                     if "true" in sections.get("bridge", {}) else frozenset(_DEFAULT_TRUE)),
        tunnel_true=(_str_list(sections["tunnel"], "true", f"{source}: [tunnel]")
                     if "true" in sections.get("tunnel", {}) else frozenset(_DEFAULT_TRUE)),
        description=str(data.get("description", "")),
        source=source,
    )


def load_schema(schema: str | os.PathLike[str] | LayerSchema | None = None) -> LayerSchema:
    """Load a layer schema: a built-in name (``"geofabrik"``), a TOML file, or None (Geofabrik).

    Raises
    ------
    InputFileError
        The file does not exist and is not the name of a built-in schema.
    ConfigError
        Not valid TOML, unknown keys, wrong value types.
    """
    if isinstance(schema, LayerSchema):
        return schema
    name = "geofabrik" if schema is None else str(schema)
    if not (name in BUILTIN_SCHEMAS or Path(name).is_file()):
        raise InputFileError(f"layer schema not found: {name} (built-in schemas: {', '.join(BUILTIN_SCHEMAS)})")
    data, source = read_builtin_or_file(name, "territorial_gis.schemas", "schema")
    return schema_from_dict(data, source)


# ---------------------------------------------------------------------- reading
def _read_info(path: Path, layer: str | None) -> tuple[str | None, dict[str, Any]]:
    import pyogrio

    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise InputFileError(f"{path}: not a readable vector layer ({exc})") from None
    names = [str(r[0]) for r in layers]
    if layer is not None:
        if layer not in names:
            raise InputFileError(f"{path}: no layer '{layer}'; layers: {', '.join(names)}")
    elif len(names) > 1:
        lines = [str(r[0]) for r in layers if r[1] is None or "line" in str(r[1]).lower()]
        if len(lines) != 1:
            raise InputFileError(f"{path} holds {len(names)} layers ({', '.join(names)}): "
                                 f"choose one with layer=")
        layer = lines[0]
    try:
        info = pyogrio.read_info(path, layer=layer)
    except Exception as exc:
        raise InputFileError(f"{path}: cannot read layer {layer or '(first)'} ({exc})") from None
    return layer, info


def read_layer(source: str | os.PathLike[str], layer: str | None = None,
               columns: Sequence[str] | None = None, what: str = "road line layer") -> gpd.GeoDataFrame:
    """Read a vector layer (GeoPackage, Shapefile, GeoJSON, GeoParquet, FlatGeobuf) as is;
    ``what`` names it in messages.

    Raises
    ------
    InputFileError
        Unreadable file or unknown layer.
    CRSError
        The layer has no CRS.
    """
    import geopandas as gpd

    path = check_input(source, what)
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        try:
            gdf = gpd.read_parquet(path)
        except Exception as exc:
            raise InputFileError(f"{path}: not a readable GeoParquet file ({exc})") from None
    else:
        import pyogrio

        layer, info = _read_info(path, layer)
        if not info.get("crs"):
            raise CRSError(f"{path}: the layer has no CRS (add a .prj / set the CRS, e.g. EPSG:4326)")
        try:
            gdf = pyogrio.read_dataframe(path, layer=layer, columns=columns)
        except Exception as exc:
            raise InputFileError(f"{path}: cannot read layer {layer or '(first)'} ({exc})") from None
    if gdf.crs is None:
        raise CRSError(f"{path}: the layer has no CRS (add a .prj / set the CRS, e.g. EPSG:4326)")
    return gdf


def _layer_columns(path: Path, layer: str | None) -> list[str]:
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        import pyarrow.parquet as pq

        try:
            names = pq.read_schema(path).names
        except Exception as exc:
            raise InputFileError(f"{path}: not a readable GeoParquet file ({exc})") from None
        return [n for n in names if n != "geometry"]
    _layer, info = _read_info(path, layer)
    if not info.get("crs"):
        raise CRSError(f"{path}: the layer has no CRS (add a .prj / set the CRS, e.g. EPSG:4326)")
    return [str(f) for f in info["fields"]]


def detect_schema(columns: Sequence[str], what: str = "layer") -> LayerSchema:
    """The built-in schema a layer with ``columns`` follows (Geofabrik: ``fclass`` or ``type``).

    Raises
    ------
    ColumnError
        No built-in schema fits; the message lists the columns and asks for a schema file.
    """
    geofabrik = load_schema("geofabrik")
    lower = {c.lower() for c in columns}
    if any(c.lower() in lower for c in geofabrik.columns["class"]):
        return geofabrik
    raise ColumnError(f"{what}: cannot detect the layer schema: no 'fclass' or 'type' column (Geofabrik "
                      f"OSM shapefile); available columns: {', '.join(columns) or '(none)'}. "
                      f"Pass a schema TOML file (see examples/road_agency_schema.toml)")


# ---------------------------------------------------------------------- attributes
@dataclass
class _Features:
    """Per-feature attributes after the schema is applied (one row per layer feature)."""

    table: pd.DataFrame  # highway, surface, tracktype, maxspeed, speed_kph_override, name, ...
    direction: np.ndarray  # +1 forward, -1 backward, 0 both
    bridge_tunnel: np.ndarray  # bool
    layer: np.ndarray  # int64


def _apply_schema(gdf: pd.DataFrame, schema: LayerSchema, cols: dict[str, str], feat_len_km: np.ndarray,
                  unmapped: str, default_class: str, what: str,
                  report: dict[str, Any]) -> _Features:
    n = len(gdf)
    raw_class = gdf[cols["class"]].astype(object)
    key = _norm_series(raw_class)
    if schema.class_values is not None:
        highway = key.map(schema.class_values)
        miss = highway.isna().to_numpy()
    else:
        highway = raw_class.where(key != "", None)
        miss = (key == "").to_numpy()
    unmapped_report: dict[str, dict[str, float]] = {}
    if miss.any():
        shown = raw_class[miss].astype(str).where(key[miss] != "", "<missing>")
        grp = pd.DataFrame({"value": shown.to_numpy(), "km": feat_len_km[miss]}).groupby("value")["km"]
        stats = pd.DataFrame({"count": grp.size(), "km": grp.sum()}).sort_values("km", ascending=False)
        unmapped_report = {str(v): {"count": int(r["count"]), "length_km": round(float(r["km"]), 3)}
                           for v, r in stats.iterrows()}
        listing = "; ".join(f"{v!r}: {r['count']} features, {r['length_km']:.1f} km"
                            for v, r in unmapped_report.items())
        log.warning("%s: %d features have class values the schema does not map (column %s): %s",
                    what, int(miss.sum()), cols["class"], listing)
        if unmapped == "refuse":
            raise ConfigError(f"{what}: class values not in the schema {schema.source} (column "
                              f"'{cols['class']}'): {listing}. Map them in the schema's [class.values] "
                              f"or pass unmapped='default' to give them the class '{default_class}'")
        highway = highway.where(~miss, default_class)
    report["unmapped_classes"] = unmapped_report
    report["unmapped_action"] = unmapped if unmapped_report else None
    table = pd.DataFrame({"highway": highway.astype(object).to_numpy()}, index=gdf.index)
    table["tracktype"] = key.map(schema.class_tracktype).astype(object).to_numpy() if schema.class_tracktype \
        else None
    table["layer_class"] = raw_class.to_numpy()
    if "surface" in cols:
        raw = gdf[cols["surface"]].astype(object)
        skey = _norm_series(raw)
        if schema.surface_values is not None:
            surface = skey.map(schema.surface_values)
        else:
            surface = skey.where(skey != "", None)
        table["surface"] = surface.astype(object).to_numpy()
        table["layer_surface"] = raw.to_numpy()
    else:
        table["surface"] = None
    if "season" in cols:
        raw = gdf[cols["season"]].astype(object)
        dry = _norm_series(raw).isin(schema.dry_season_only).to_numpy()
        table["season"] = np.where(dry, "dry_season_only", "all_year")
        table["layer_season"] = raw.to_numpy()
    if "maxspeed" in cols:
        table["maxspeed"] = gdf[cols["maxspeed"]].astype(object).to_numpy()
    if "speed" in cols:
        spd = pd.to_numeric(gdf[cols["speed"]], errors="coerce")
        table["speed_kph_override"] = spd.to_numpy(dtype=float)
        table["layer_speed_kph"] = spd.to_numpy(dtype=float)
    table["name"] = gdf[cols["road_name"]].astype(object).to_numpy() if "road_name" in cols else None
    if "source_id" in cols:
        sid = gdf[cols["source_id"]]
        num = pd.to_numeric(sid, errors="coerce")
        if num.notna().all() and np.all(np.mod(num.to_numpy(float), 1) == 0):
            table["osm_way_id"] = num.to_numpy().astype(np.int64)
        else:
            table["osm_way_id"] = sid.astype(object).to_numpy()
    else:
        table["osm_way_id"] = np.arange(n, dtype=np.int64)
    direction = np.zeros(n, dtype=np.int8)
    if "oneway" in cols:
        okey = _norm_series(gdf[cols["oneway"]])
        direction[okey.isin(schema.oneway_forward).to_numpy()] = 1
        direction[okey.isin(schema.oneway_backward).to_numpy()] = -1
    bridge = (_norm_series(gdf[cols["bridge"]]).isin(schema.bridge_true).to_numpy() if "bridge" in cols
              else np.zeros(n, dtype=bool))
    tunnel = (_norm_series(gdf[cols["tunnel"]]).isin(schema.tunnel_true).to_numpy() if "tunnel" in cols
              else np.zeros(n, dtype=bool))
    table["bridge"] = bridge
    table["tunnel"] = tunnel
    if "layer" in cols:
        lay = pd.to_numeric(gdf[cols["layer"]], errors="coerce").fillna(0).to_numpy()
        layer_arr = np.round(lay).astype(np.int64)
    else:
        layer_arr = np.zeros(n, dtype=np.int64)
    table["layer"] = layer_arr
    table["source_row"] = np.arange(n, dtype=np.int64)
    return _Features(table=table.reset_index(drop=True), direction=direction,
                     bridge_tunnel=bridge | tunnel, layer=layer_arr)


# ---------------------------------------------------------------------- flat line arrays
@dataclass
class _Lines:
    """Polylines as flat vertex arrays: metric ``xy``, ``ll`` lon/lat, ``line`` (part index,
    non-decreasing; consecutive vertices with the same ``line`` form a segment)."""

    xy: np.ndarray
    ll: np.ndarray
    line: np.ndarray

    @property
    def start(self) -> np.ndarray:
        ln = self.line
        return np.r_[True, ln[1:] != ln[:-1]] if len(ln) else np.zeros(0, dtype=bool)

    @property
    def end(self) -> np.ndarray:
        ln = self.line
        return np.r_[ln[1:] != ln[:-1], True] if len(ln) else np.zeros(0, dtype=bool)

    def seg_start(self) -> np.ndarray:
        """Index of the first vertex of every segment."""
        return np.flatnonzero(~self.end)

    def measure(self) -> np.ndarray:
        """Distance (m) of each vertex along its line."""
        d = np.zeros(len(self.xy))
        if len(self.xy) > 1:
            d[1:] = np.hypot(*(self.xy[1:] - self.xy[:-1]).T)
        start = self.start
        d[start] = 0.0
        c = np.cumsum(d)
        base = np.maximum.accumulate(np.where(start, c, 0.0))
        return c - base


def _utm_of(bounds: np.ndarray) -> CRS:
    w, s, e, n = (float(b) for b in bounds)
    return utm_crs_for_bounds((w, s, e, n))


def _group(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group vertices by 1 mm cell: (group of each vertex, size of each group, first vertex of each)."""
    if len(xy) == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e
    q = np.round(xy / _QUANTUM_M).astype(np.int64)
    order = np.lexsort((q[:, 1], q[:, 0]))
    qs = q[order]
    new = np.r_[True, np.any(qs[1:] != qs[:-1], axis=1)]
    gid_sorted = np.cumsum(new) - 1
    inv = np.empty(len(xy), dtype=np.int64)
    inv[order] = gid_sorted
    counts = np.bincount(gid_sorted)
    first = order[new]
    return inv, counts, first


class _Topology:
    """The topology builder: holds the lines, the part attributes and the repair counts."""

    def __init__(self, lines: _Lines, part_bt: np.ndarray, part_layer: np.ndarray,
                 to_ll: Transformer, to_m: Transformer, report: dict[str, Any]) -> None:
        self.lines = lines
        self.to_m = to_m
        self.part_bt = part_bt
        self.part_layer = part_layer
        self.to_ll = to_ll
        self.report = report

    # -- helpers
    def _to_ll(self, xy: np.ndarray) -> np.ndarray:
        if len(xy) == 0:
            return np.zeros((0, 2))
        lon, lat = self.to_ll.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    def canonicalise(self) -> int:
        """Give vertices of one 1 mm cell the same coordinates; drop zero-length segments and
        lines left with fewer than two vertices. Returns the number of zero-length segments."""
        L = self.lines
        inv, _counts, first = _group(L.xy)
        L.xy = L.xy[first[inv]]
        L.ll = L.ll[first[inv]]
        dup = np.zeros(len(inv), dtype=bool)
        if len(inv) > 1:
            dup[1:] = (inv[1:] == inv[:-1]) & (L.line[1:] == L.line[:-1])
        n_zero = int(dup.sum())
        keep = ~dup
        L.xy, L.ll, L.line = L.xy[keep], L.ll[keep], L.line[keep]
        # lines with a single vertex left (all segments were of zero length)
        lone = L.start & L.end
        if lone.any():
            keep = ~lone
            L.xy, L.ll, L.line = L.xy[keep], L.ll[keep], L.line[keep]
        return n_zero

    def insert(self, line: np.ndarray, m: np.ndarray, xy: np.ndarray, ll: np.ndarray | None = None) -> None:
        """Insert vertices into lines at distances ``m`` along them."""
        if len(line) == 0:
            return
        L = self.lines
        if ll is None:
            ll = self._to_ll(xy)
        n = len(L.line)
        keys_line = np.r_[L.line, line]
        keys_m = np.r_[L.measure(), m]
        tie = np.r_[np.zeros(n, dtype=np.int8), np.ones(len(line), dtype=np.int8)]
        order = np.lexsort((tie, keys_m, keys_line))
        L.xy = np.vstack([L.xy, xy])[order]
        L.ll = np.vstack([L.ll, ll])[order]
        L.line = keys_line[order]

    def segment_tree(self) -> tuple[np.ndarray, Any]:
        L = self.lines
        a = L.seg_start()
        segs = shapely.linestrings(np.stack([L.xy[a], L.xy[a + 1]], axis=1))
        return a, shapely.STRtree(segs)

    # -- repairs
    def merge_vertices(self, tol: float) -> None:
        """Merge distinct vertices of different lines that lie within ``tol`` metres."""
        from scipy.spatial import cKDTree

        L = self.lines
        inv, counts, first = _group(L.xy)
        uniq = L.xy[first]
        pairs = cKDTree(uniq).query_pairs(r=tol, output_type="ndarray")
        merged = 0
        if len(pairs):
            # drop pairs of points that lie on a common line (merging them would fold the line)
            gl = pd.DataFrame({"g": inv, "line": L.line}).drop_duplicates()
            pa = pd.DataFrame({"pair": np.arange(len(pairs)), "g": pairs[:, 0]}).merge(gl, on="g")
            pb = pd.DataFrame({"pair": np.arange(len(pairs)), "g": pairs[:, 1]}).merge(gl, on="g")
            common = pa.merge(pb, on=["pair", "line"])["pair"].unique()
            ok = np.ones(len(pairs), dtype=bool)
            ok[common] = False
            pairs = pairs[ok]
        if len(pairs):
            n_g = len(uniq)
            adj = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n_g, n_g))
            _n, comp = connected_components(adj, directed=False)
            # representative of a cluster: its most used point (an existing junction), then lowest id
            order = np.lexsort((np.arange(n_g), -counts, comp))
            is_first = np.r_[True, comp[order][1:] != comp[order][:-1]]
            rep_of_comp = np.empty(comp.max() + 1, dtype=np.int64)
            rep_of_comp[comp[order][is_first]] = order[is_first]
            rep = rep_of_comp[comp]
            moved = rep != np.arange(n_g)
            merged = int(moved.sum())
            target = first[rep]  # a vertex holding the representative coordinates
            L.xy = L.xy[target[inv]]
            L.ll = L.ll[target[inv]]
        self.report["vertices_merged"] = merged
        self.report["zero_length_dropped"] += self.canonicalise()

    def crossings(self, add_nodes: bool) -> None:
        """Find where segments cross or touch without a shared vertex; node them if asked.

        The test runs on the lon/lat coordinates (how most layers are digitised: a line that
        touches another in the layer may miss it by millimetres once projected); segments
        closer than ~1 mm (1e-8 degree) count as meeting, and a meeting point within 1 mm of a
        vertex is that vertex.
        """
        L = self.lines
        rep = self.report
        a = L.seg_start()
        if len(a) == 0:
            rep.update(crossings_without_shared_vertex=0, crossings_noded=0,
                       crossings_skipped_bridge_tunnel_layer=0)
            return
        C = L.ll
        # candidate pairs: segments whose bounding boxes (grown by the touch distance) overlap;
        # the exact test is the vectorised segment intersection below
        lo = np.minimum(C[a], C[a + 1]) - _TOUCH_DEG
        hi = np.maximum(C[a], C[a + 1]) + _TOUCH_DEG
        boxes = shapely.box(lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1])
        tree = shapely.STRtree(boxes)
        qi, qj = tree.query(boxes)
        sel = qi < qj
        i, j = qi[sel], qj[sel]
        p, r = C[a[i]], C[a[i] + 1] - C[a[i]]
        q, s = C[a[j]], C[a[j] + 1] - C[a[j]]
        len_r, len_s = np.hypot(*r.T), np.hypot(*s.T)
        seg_m = np.hypot(*(L.xy[a + 1] - L.xy[a]).T)
        mr, ms = seg_m[i], seg_m[j]
        den = r[:, 0] * s[:, 1] - r[:, 1] * s[:, 0]
        qp = q - p
        par = np.abs(den) <= 1e-12 * len_r * len_s
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (qp[:, 0] * s[:, 1] - qp[:, 1] * s[:, 0]) / den
            u = (qp[:, 0] * r[:, 1] - qp[:, 1] * r[:, 0]) / den
            meet = (t * len_r >= -_TOUCH_DEG) & ((t - 1) * len_r <= _TOUCH_DEG) \
                & (u * len_s >= -_TOUCH_DEG) & ((u - 1) * len_s <= _TOUCH_DEG)
        t, u = np.clip(np.nan_to_num(t), 0.0, 1.0), np.clip(np.nan_to_num(u), 0.0, 1.0)
        # candidate insertions: (segment row in a, fraction along it, vertex holding the point or -1,
        # meeting point, pair)
        ins: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        k = np.flatnonzero(~par & meet)
        t, u = t[k], u[k]
        vtx = np.full(len(k), -1, dtype=np.int64)
        for cond, v in ((u * ms[k] < _VERTEX_EPS_M, a[j[k]]), ((1 - u) * ms[k] < _VERTEX_EPS_M, a[j[k]] + 1),
                        (t * mr[k] < _VERTEX_EPS_M, a[i[k]]), ((1 - t) * mr[k] < _VERTEX_EPS_M, a[i[k]] + 1)):
            vtx = np.where(cond, v, vtx)
        vert_i = (t * mr[k] < _VERTEX_EPS_M) | ((1 - t) * mr[k] < _VERTEX_EPS_M)
        vert_j = (u * ms[k] < _VERTEX_EPS_M) | ((1 - u) * ms[k] < _VERTEX_EPS_M)
        pt = p[k] + t[:, None] * r[k]
        for need, rows, frac in ((~vert_i, i[k], t), (~vert_j, j[k], u)):
            ins.append((rows[need], frac[need], vtx[need], pt[need], k[need]))
        # collinear overlaps: an end of one segment inside the other
        pk = np.flatnonzero(par)
        for src_rows, dst_rows in ((j[pk], i[pk]), (i[pk], j[pk])):
            for end in (0, 1):
                v = a[src_rows] + end
                e = C[v]
                d0 = C[a[dst_rows]]
                dv = C[a[dst_rows] + 1] - d0
                dd = np.einsum("ij,ij->i", dv, dv)
                dm = seg_m[dst_rows]
                with np.errstate(divide="ignore", invalid="ignore"):
                    tt = np.einsum("ij,ij->i", e - d0, dv) / dd
                    off = np.abs((e - d0)[:, 0] * dv[:, 1] - (e - d0)[:, 1] * dv[:, 0]) / np.sqrt(dd)
                inside = (tt * dm > _VERTEX_EPS_M) & ((1 - tt) * dm > _VERTEX_EPS_M) & (off < _TOUCH_DEG)
                ins.append((dst_rows[inside], tt[inside], v[inside], e[inside], pk[inside]))
        seg, frac, vtx_all, pts_ll, pair = (np.concatenate(col) for col in zip(*ins, strict=True))
        at_v = vtx_all >= 0
        pts_ll[at_v] = L.ll[vtx_all[at_v]]
        pts_xy = np.empty_like(pts_ll)
        pts_xy[at_v] = L.xy[vtx_all[at_v]]
        if (~at_v).any():
            x, y = self.to_m.transform(pts_ll[~at_v, 0], pts_ll[~at_v, 1])
            pts_xy[~at_v] = np.column_stack([x, y])
        seg_line = L.line[a]
        li, lj = seg_line[i[pair]], seg_line[j[pair]]
        blocked = self.part_bt[li] | self.part_bt[lj] | (self.part_layer[li] != self.part_layer[lj])
        q_pts = np.round(pts_xy / _QUANTUM_M).astype(np.int64)

        def n_points(mask: np.ndarray) -> int:
            return int(len(np.unique(q_pts[mask], axis=0))) if mask.any() else 0

        rep["crossings_without_shared_vertex"] = n_points(np.ones(len(pts_xy), dtype=bool))
        rep["crossings_skipped_bridge_tunnel_layer"] = n_points(blocked)
        if not add_nodes:
            rep["crossings_noded"] = 0
            return
        go = ~blocked
        rep["crossings_noded"] = n_points(go)
        if go.any():
            m = L.measure()
            sa = a[seg[go]]
            self.insert(L.line[sa], m[sa] + frac[go] * seg_m[seg[go]], pts_xy[go], pts_ll[go])
            self.report["zero_length_dropped"] += self.canonicalise()

    def snap_ends(self, tol: float) -> None:
        """Snap each dangling end within ``tol`` metres of another line onto that line."""
        L = self.lines
        inv, counts, _first = _group(L.xy)
        ends = np.flatnonzero((L.start | L.end) & (counts[inv] == 1))
        snapped = 0
        if len(ends):
            a, tree = self.segment_tree()
            pi, sj = tree.query(shapely.points(L.xy[ends]), predicate="dwithin", distance=tol)
            own = L.line[ends[pi]]
            tgt = L.line[a[sj]]
            ok = (own != tgt) & (self.part_bt[own] == self.part_bt[tgt]) & \
                (self.part_layer[own] == self.part_layer[tgt])
            pi, sj = pi[ok], sj[ok]
            if len(pi):
                pt = L.xy[ends[pi]]
                p0 = L.xy[a[sj]]
                dv = L.xy[a[sj] + 1] - p0
                dd = np.einsum("ij,ij->i", dv, dv)
                with np.errstate(divide="ignore", invalid="ignore"):
                    tt = np.clip(np.einsum("ij,ij->i", pt - p0, dv) / dd, 0.0, 1.0)
                tt = np.nan_to_num(tt)
                proj = p0 + tt[:, None] * dv
                dist = np.hypot(*(pt - proj).T)
                order = np.lexsort((dist, pi))
                best = order[np.r_[True, pi[order][1:] != pi[order][:-1]]]
                best = best[dist[best] <= tol]
                seglen = np.sqrt(dd[best])
                t_b = tt[best]
                at0 = t_b * seglen < _VERTEX_EPS_M
                at1 = (1 - t_b) * seglen < _VERTEX_EPS_M
                new_xy = proj[best].copy()
                new_xy[at0] = p0[best][at0]
                new_xy[at1] = (p0 + dv)[best][at1]
                new_ll = self._to_ll(new_xy)
                vi = a[sj[best]]
                new_ll[at0] = L.ll[vi[at0]]
                new_ll[at1] = L.ll[vi[at1] + 1]
                end_idx = ends[pi[best]]
                interior = ~(at0 | at1)
                m = L.measure()
                ins_line = L.line[vi[interior]]
                ins_m = m[vi[interior]] + t_b[interior] * seglen[interior]
                # move the ends first (insert re-sorts the arrays)
                L.xy[end_idx] = new_xy
                L.ll[end_idx] = new_ll
                self.insert(ins_line, ins_m, new_xy[interior], new_ll[interior])
                snapped = len(best)
        self.report["ends_snapped"] = snapped
        self.report["zero_length_dropped"] += self.canonicalise()

    # -- results
    def components(self) -> tuple[int, float]:
        """Connected components (undirected) of the lines as they meet at shared vertices, and
        the share of length in the largest one."""
        L = self.lines
        inv, _counts, first = _group(L.xy)
        a = L.seg_start()
        if len(a) == 0:
            return 0, 0.0
        n_g = len(first)
        adj = sparse.coo_matrix((np.ones(len(a)), (inv[a], inv[a + 1])), shape=(n_g, n_g))
        _n, lab = connected_components(adj, directed=False)
        seg_len = np.hypot(*(L.xy[a + 1] - L.xy[a]).T)
        comp_len = np.bincount(lab[inv[a]], weights=seg_len)
        used = np.unique(lab[inv[a]])
        total = comp_len.sum()
        return int(len(used)), float(comp_len.max() / total) if total > 0 else 0.0


@dataclass
class LayerGraph:
    """Undirected graph pieces from a line layer, before directions and speeds."""

    node_lon: np.ndarray
    node_lat: np.ndarray
    edge_u: np.ndarray  # int64 node index
    edge_v: np.ndarray
    edge_part: np.ndarray  # part (exploded line) each edge comes from
    edge_geometry: np.ndarray  # LineString, EPSG:4326, u -> v
    length_m: np.ndarray  # geodesic
    part_feature: np.ndarray  # layer feature each part comes from
    crs: CRS
    report: dict[str, Any]


def build_layer_graph(lines_ll: np.ndarray, *,
                      bridge_tunnel: np.ndarray | None = None, layer: np.ndarray | None = None,
                      crossings: bool = False, snap_tolerance_m: float = 0.0,
                      metric_crs: CRS | None = None, report: dict[str, Any] | None = None) -> LayerGraph:
    """Build nodes and undirected edges from lines in EPSG:4326 (the geometry core).

    Parameters
    ----------
    lines_ll
        shapely LineString/MultiLineString array in lon/lat degrees (one per feature).
    bridge_tunnel, layer
        Per-feature flags (bridge or tunnel) and OSM-style ``layer`` values, for the crossing rule.
    crossings
        Add nodes where lines cross or touch without a shared vertex (not at bridges, tunnels,
        or between different layers).
    snap_tolerance_m
        Merge vertices of different lines closer than this and snap dangling ends onto lines
        within this distance (metres, >= 0).
    metric_crs
        CRS for the topology; default the UTM zone of the lines' bounds.

    Returns
    -------
    LayerGraph
    """
    if not (isinstance(snap_tolerance_m, (int, float)) and math.isfinite(snap_tolerance_m)) \
            or snap_tolerance_m < 0:
        raise ConfigError(f"snap tolerance must be a number of metres >= 0, got {snap_tolerance_m!r}")
    report = {} if report is None else report
    n_feat = len(lines_ll)
    bt = np.zeros(n_feat, dtype=bool) if bridge_tunnel is None else np.asarray(bridge_tunnel, dtype=bool)
    lay = np.zeros(n_feat, dtype=np.int64) if layer is None else np.asarray(layer, dtype=np.int64)
    geoms = np.asarray(lines_ll, dtype=object)
    n_geom = shapely.get_num_geometries(geoms)
    is_multi = shapely.get_type_id(geoms) == 5
    report["multipart_exploded"] = int((is_multi & (n_geom > 1)).sum())
    parts, part_feature = shapely.get_parts(geoms, return_index=True)
    report["parts_from_multipart"] = int(len(parts) - np.count_nonzero(n_geom > 0))
    ncoord = shapely.get_num_coordinates(parts)
    ok = ncoord >= 2
    parts, part_feature, ncoord = parts[ok], part_feature[ok], ncoord[ok]
    if len(parts) == 0:
        raise NetworkError("no line with two or more vertices to build a network from")
    ll = shapely.get_coordinates(parts)
    line = np.repeat(np.arange(len(parts), dtype=np.int64), ncoord)
    if metric_crs is None:
        metric_crs = _utm_of(shapely.total_bounds(parts))
    to_m = Transformer.from_crs(4326, metric_crs, always_xy=True)
    to_ll = Transformer.from_crs(metric_crs, 4326, always_xy=True)
    x, y = to_m.transform(ll[:, 0], ll[:, 1])
    lines = _Lines(xy=np.column_stack([x, y]), ll=ll, line=line)
    report.setdefault("zero_length_dropped", 0)
    topo = _Topology(lines, bt[part_feature], lay[part_feature], to_ll, to_m, report)
    pb = bar(5, "layer topology", unit="step")
    report["zero_length_dropped"] += topo.canonicalise()
    n_c, share = topo.components()
    report["components_before"] = n_c
    report["largest_component_length_share_before"] = round(share, 6)
    pb.update()
    if snap_tolerance_m > 0:
        topo.merge_vertices(float(snap_tolerance_m))
    else:
        report["vertices_merged"] = 0
    pb.update()
    topo.crossings(add_nodes=crossings)
    pb.update()
    if snap_tolerance_m > 0:
        topo.snap_ends(float(snap_tolerance_m))
    else:
        report["ends_snapped"] = 0
    pb.update()
    graph = _edges_from_lines(topo, part_feature, metric_crs, report)
    pb.update()
    pb.close()
    return graph


def _edges_from_lines(topo: _Topology, part_feature: np.ndarray, crs: CRS,
                      report: dict[str, Any]) -> LayerGraph:
    L = topo.lines
    inv, counts, first = _group(L.xy)
    start, end = L.start, L.end
    shared = counts[inv] >= 2
    is_node = start | end | shared
    report["split_at_shared_vertices"] = int((shared & ~start & ~end).sum())
    node_groups, node_of_group_pos = np.unique(inv[is_node], return_inverse=True)
    node_index = np.full(len(first), -1, dtype=np.int64)
    node_index[node_groups] = np.arange(len(node_groups))
    pos = np.flatnonzero(is_node)
    same = L.line[pos[:-1]] == L.line[pos[1:]]
    ea, eb = pos[:-1][same], pos[1:][same]
    del node_of_group_pos
    eu, ev = node_index[inv[ea]], node_index[inv[eb]]
    # geodesic and planar lengths by cumulative sums over the flat vertex arrays
    n = len(L.xy)
    dgeo = np.zeros(n)
    dm = np.zeros(n)
    if n > 1:
        dg = segment_lengths_m(L.ll[:-1, 0], L.ll[:-1, 1], L.ll[1:, 0], L.ll[1:, 1])
        cross_line = L.line[1:] != L.line[:-1]
        dg[cross_line] = 0.0
        dgeo[1:] = dg
        dmm = np.hypot(*(L.xy[1:] - L.xy[:-1]).T)
        dmm[cross_line] = 0.0
        dm[1:] = dmm
    cg, cm = np.cumsum(dgeo), np.cumsum(dm)
    length = cg[eb] - cg[ea]
    length_plan = cm[eb] - cm[ea]
    # duplicates: same end nodes (either way), same planar length (cm) and same vertex sums (mm)
    q = np.round(L.xy / _QUANTUM_M).astype(np.int64)
    sx = np.r_[0, np.cumsum(q[:, 0])]
    sy = np.r_[0, np.cumsum(q[:, 1])]
    key = np.column_stack([np.minimum(eu, ev), np.maximum(eu, ev), np.round(length_plan * 100).astype(np.int64),
                           sx[eb + 1] - sx[ea], sy[eb + 1] - sy[ea], eb - ea])
    order = np.lexsort(key.T[::-1])
    ks = key[order]
    dup_sorted = np.r_[False, np.all(ks[1:] == ks[:-1], axis=1)]
    dup = np.zeros(len(key), dtype=bool)
    dup[order[dup_sorted]] = True
    report["duplicates_dropped"] = int(dup.sum())
    keep = ~dup
    ea, eb, eu, ev, length = ea[keep], eb[keep], eu[keep], ev[keep], length[keep]
    # geometries: vertices ea..eb of each edge
    nv = eb - ea + 1
    offs = np.cumsum(nv) - nv
    idx = np.arange(int(nv.sum())) - np.repeat(offs, nv) + np.repeat(ea, nv)
    geom = shapely.linestrings(L.ll[idx], indices=np.repeat(np.arange(len(ea)), nv))
    # components after repair (undirected)
    n_nodes = len(node_groups)
    if len(eu):
        adj = sparse.coo_matrix((np.ones(len(eu)), (eu, ev)), shape=(n_nodes, n_nodes))
        _k, lab = connected_components(adj, directed=False)
        comp_len = np.bincount(lab[eu], weights=length)
        report["components_after"] = int(len(np.unique(lab[eu])))
        report["largest_component_length_share_after"] = round(float(comp_len.max() / comp_len.sum()), 6)
    else:
        report["components_after"] = 0
        report["largest_component_length_share_after"] = 0.0
    node_ll = L.ll[first[node_groups]]
    return LayerGraph(node_lon=node_ll[:, 0].copy(), node_lat=node_ll[:, 1].copy(), edge_u=eu, edge_v=ev,
                      edge_part=L.line[ea], edge_geometry=geom, length_m=length, part_feature=part_feature,
                      crs=crs, report=report)


# ---------------------------------------------------------------------- entry point
def _clip_area(bbox: Sequence[float] | None, polygon: Any) -> Any:
    areas = []
    if bbox is not None:
        if len(bbox) != 4:
            raise ConfigError(f"bbox needs 4 numbers west south east north, got {list(bbox)}")
        w, s, e, n = (float(b) for b in bbox)
        if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
            raise ConfigError(f"bbox {w} {s} {e} {n} is not west south east north in degrees")
        areas.append(shapely.box(w, s, e, n))
    if polygon is not None:
        poly = polygon
        if isinstance(poly, (str, os.PathLike)):
            poly = read_layer(poly)
        if hasattr(poly, "union_all"):  # GeoSeries / GeoDataFrame
            poly = poly.to_crs(4326).union_all() if getattr(poly, "crs", None) else poly.union_all()
        if not isinstance(poly, shapely.Geometry) or poly.is_empty:
            raise ConfigError("polygon must be a shapely (Multi)Polygon in EPSG:4326, a GeoSeries or a file")
        areas.append(poly)
    if not areas:
        return None
    return areas[0] if len(areas) == 1 else shapely.intersection(areas[0], areas[1])


def _directed(graph: LayerGraph, feats: _Features, speed_feat: np.ndarray, walk: bool,
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


def network_from_layer(source: str | os.PathLike[str], *, layer: str | None = None,
                       schema: str | os.PathLike[str] | LayerSchema | None = None,
                       profile: str | os.PathLike[str] | Profile | None = None, mode: str = "drive",
                       crossings: bool = False, snap_tolerance_m: float = 0.0, unmapped: str = "refuse",
                       default_class: str = "unclassified", bbox: Sequence[float] | None = None,
                       polygon: Any = None, largest_component: bool = True,
                       season: str = "all") -> RoadNetwork:
    """Build a routable :class:`~territorial_gis.network.RoadNetwork` from a road line layer.

    Parameters
    ----------
    source
        GeoPackage (``layer`` names the layer), Shapefile, GeoJSON, GeoParquet or FlatGeobuf,
        in any CRS.
    layer
        Layer of a multi-layer file (GeoPackage).
    schema
        A schema TOML file, a built-in name (``"geofabrik"``) or a :class:`LayerSchema`; None
        detects Geofabrik's OSM shapefile schema (``fclass`` or ``type`` column).
    profile, mode
        Speed profile (TOML file or :class:`~territorial_gis.speeds.Profile`; default the shipped
        profile of ``mode``). Classes the profile does not list are not routable and dropped.
    crossings
        Add a node where lines cross without a shared vertex (for layers digitised without
        shared vertices); never where either line is a bridge or tunnel or on another ``layer``.
    snap_tolerance_m
        Repair tolerance in metres (0: none): dangling ends within it of another line are
        snapped onto that line, vertices of different lines closer than it merged.
    unmapped
        Class values the schema does not map: ``"refuse"`` (ConfigError listing them with counts
        and length) or ``"default"`` (give them ``default_class``).
    default_class
        Profile class for unmapped values when ``unmapped="default"``.
    bbox, polygon
        Optional clip: west, south, east, north in degrees; a shapely polygon in EPSG:4326, a
        GeoSeries/GeoDataFrame or a polygon file.
    largest_component
        Keep only the largest strongly connected component.
    season
        ``"all"`` keeps every road; ``"wet"`` drops roads the schema's season column marks as
        dry-season only. Either way edges keep a ``season`` attribute when the schema has one.

    Returns
    -------
    RoadNetwork
        With ``repair_report`` (a dict, also in ``meta["repair_report"]``).

    Raises
    ------
    InputFileError, CRSError, ColumnError, ConfigError, NetworkError
        Unreadable file or no line geometries; no CRS; a schema column missing from the layer;
        bad schema or options or unmapped classes refused; nothing routable.
    """
    from .network import RoadNetwork

    path = check_input(source, "road line layer")
    what = str(path)
    if not isinstance(snap_tolerance_m, (int, float)) or isinstance(snap_tolerance_m, bool) \
            or not math.isfinite(snap_tolerance_m) or snap_tolerance_m < 0:
        raise ConfigError(f"snap tolerance must be a number of metres >= 0, got {snap_tolerance_m!r}")
    if unmapped not in UNMAPPED_CHOICES:
        raise ConfigError(f"unmapped = {unmapped!r}; expected one of {', '.join(UNMAPPED_CHOICES)}")
    if season not in SEASON_CHOICES:
        raise ConfigError(f"season = {season!r}; expected one of {', '.join(SEASON_CHOICES)}")
    prof = load_profile(profile, mode=mode)
    area = _clip_area(bbox, polygon)
    columns = _layer_columns(path, layer)
    sch = detect_schema(columns, what) if schema is None else load_schema(schema)
    cols = sch.resolve(columns, what)
    if unmapped == "default" and default_class not in prof.highways:
        raise ConfigError(f"default_class {default_class!r} is not a class of the profile {prof.source} "
                          f"({', '.join(sorted(prof.highways))})")
    gdf = read_layer(path, layer=layer, columns=sorted(set(cols.values())))
    report: dict[str, Any] = {"source": what, "layer": layer, "schema": sch.name, "columns": cols,
                              "features_read": int(len(gdf)), "mode": prof.mode,
                              "crossings": bool(crossings), "snap_tolerance_m": float(snap_tolerance_m)}
    geoms = shapely.force_2d(np.asarray(gdf.geometry.values, dtype=object))
    gtype = shapely.get_type_id(geoms)
    is_line = np.isin(gtype, (1, 5)) & ~shapely.is_empty(geoms)
    if not is_line.any():
        kinds = pd.Series(shapely.get_type_id(geoms)).map(
            {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint",
             5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection", -1: "missing"}).value_counts()
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
    metric = _utm_of(shapely.total_bounds(geoms))
    # feature lengths (km) for the unmapped-class report
    tr_m = Transformer.from_crs(4326, metric, always_xy=True)
    feat_len_km = shapely.length(shapely.transform(
        geoms, lambda c: np.column_stack(tr_m.transform(c[:, 0], c[:, 1])))) / 1000.0
    feats = _apply_schema(gdf, sch, cols, feat_len_km, unmapped, default_class, what, report)
    # routable classes, speeds, season
    speed = assign_speeds(feats.table, prof)
    highway = feats.table["highway"].astype(object)
    allowed = highway.isin(prof.highways).to_numpy()
    passable = allowed & (speed > 0)
    dropped = ~passable
    if "season" in feats.table and season == "wet":
        dry = (feats.table["season"] == "dry_season_only").to_numpy()
        report["dry_season_only_dropped"] = int((dry & passable).sum())
        passable &= ~dry
    if dropped.any():
        grp = pd.DataFrame({"cls": highway[dropped].astype(str).to_numpy(),
                            "km": feat_len_km[dropped]}).groupby("cls")["km"]
        report["not_routable"] = {str(k): {"count": int(c), "length_km": round(float(v), 3)}
                                  for k, c, v in zip(grp.size().index, grp.size(), grp.sum(), strict=True)}
    else:
        report["not_routable"] = {}
    if not passable.any():
        raise NetworkError(f"{what}: no road routable in mode '{prof.mode}' (classes in the layer: "
                           f"{', '.join(sorted(map(str, highway.dropna().unique()))[:20])})")
    keep = np.flatnonzero(passable)
    feats = _Features(table=feats.table.iloc[keep].reset_index(drop=True), direction=feats.direction[keep],
                      bridge_tunnel=feats.bridge_tunnel[keep], layer=feats.layer[keep])
    speed = speed[keep]
    report["features_used"] = int(len(keep))
    report["length_km_used"] = round(float(feat_len_km[keep].sum()), 3)
    graph = build_layer_graph(geoms[keep], bridge_tunnel=feats.bridge_tunnel, layer=feats.layer,
                              crossings=crossings, snap_tolerance_m=float(snap_tolerance_m),
                              metric_crs=metric, report=report)
    eu, ev, edges, geom = _directed(graph, feats, speed, walk=prof.mode == "walk")
    # strongly connected components of the directed graph (what largest_component keeps)
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
    node_id = np.arange(n_nodes, dtype=np.int64)
    net = RoadNetwork.from_arrays(node_id, graph.node_lon, graph.node_lat, eu, ev, edges, geom,
                                  crs=graph.crs, meta={"repair_report": report})
    if largest_component:
        net = net.largest_component()
        report["nodes_kept"] = int(net.n_nodes)
        report["directed_edges_kept"] = int(net.n_edges)
    net.repair_report = report
    net.meta["repair_report"] = report
    log_repair_report(report)
    return net


# ---------------------------------------------------------------------- report
_FIX_KEYS = ("multipart_exploded", "split_at_shared_vertices", "crossings_noded",
             "crossings_skipped_bridge_tunnel_layer", "ends_snapped", "vertices_merged",
             "zero_length_dropped", "duplicates_dropped")


def log_repair_report(report: dict[str, Any]) -> None:
    """Log the repair report in two lines (fixes; components before/after)."""
    fixes = ", ".join(f"{k}={report.get(k, 0)}" for k in _FIX_KEYS)
    log.info("%s: repairs: %s; unmapped classes: %s", report.get("source", "layer"), fixes,
             ", ".join(report.get("unmapped_classes") or {}) or "none")
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


def write_repair_report(report: dict[str, Any], path: str | os.PathLike[str], overwrite: bool = True) -> Path:
    """Write the repair report as JSON, atomically (the CLI writes it beside the network).

    ``overwrite`` defaults to True: the report is a side-car of the network file, whose own
    overwrite check has already been made by the caller.
    """
    target = Path(path)
    with atomic_output(target, overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(_jsonable(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target
