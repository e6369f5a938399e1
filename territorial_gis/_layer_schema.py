"""Road line layers, attributes: the schema that maps a layer's columns to the speed model.

A schema (TOML; built-in ``territorial_gis/schemas/geofabrik.toml``, user files such as
``examples/road_agency_schema.toml``) names the layer column of each role (road class,
surface, season, direction, bridge, tunnel, level, speed, id, name) and the tables that turn
layer values into the speed profile's vocabulary (OSM ``highway`` and ``surface`` values).
:func:`apply_schema` gives one attribute row per feature; the topology is built elsewhere
(:mod:`territorial_gis._layer_topology`).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._toml import read_builtin_or_file
from .errors import ColumnError, ConfigError, InputFileError

log = logging.getLogger(__name__)

BUILTIN_SCHEMAS = ("geofabrik",)
UNMAPPED_CHOICES = ("refuse", "default")
SEASON_CHOICES = ("all", "wet")

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
class Features:
    """Per-feature attributes after the schema is applied (one row per layer feature)."""

    table: pd.DataFrame  # highway, surface, tracktype, maxspeed, speed_kph_override, name, ...
    direction: np.ndarray  # +1 forward, -1 backward, 0 both
    bridge_tunnel: np.ndarray  # bool
    layer: np.ndarray  # int64


def apply_schema(gdf: pd.DataFrame, schema: LayerSchema, cols: dict[str, str], *, feat_len_km: np.ndarray,
                 unmapped: str, default_class: str, what: str, report: dict[str, Any]) -> Features:
    """Attributes of each feature in the speed model's vocabulary (one row per feature of ``gdf``).

    ``cols`` gives the layer column of each role (:meth:`LayerSchema.resolve`); ``feat_len_km``
    the length of each feature, for the report of unmapped values; ``what`` names the layer in
    messages.

    Raises
    ------
    ConfigError
        Class values the schema does not map, with ``unmapped="refuse"`` (the message lists them
        with their counts and km).
    """
    highway, key, raw_class = _map_classes(gdf, schema, cols, feat_len_km=feat_len_km, unmapped=unmapped,
                                           default_class=default_class, what=what, report=report)
    table = pd.DataFrame({"highway": highway.astype(object).to_numpy()}, index=gdf.index)
    table["tracktype"] = key.map(schema.class_tracktype).astype(object).to_numpy() if schema.class_tracktype \
        else None
    table["layer_class"] = raw_class.to_numpy()
    _add_value_columns(table, gdf, schema, cols)
    direction, bridge_tunnel, layer_arr = _add_topology_columns(table, gdf, schema, cols)
    table["source_row"] = np.arange(len(gdf), dtype=np.int64)
    return Features(table=table.reset_index(drop=True), direction=direction,
                    bridge_tunnel=bridge_tunnel, layer=layer_arr)


def _map_classes(gdf: pd.DataFrame, schema: LayerSchema, cols: dict[str, str], *, feat_len_km: np.ndarray,
                 unmapped: str, default_class: str, what: str,
                 report: dict[str, Any]) -> tuple[pd.Series, pd.Series, pd.Series]:
    """The profile class of each feature, its normalised layer value and its raw layer value."""
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
    return highway, key, raw_class


def _add_value_columns(table: pd.DataFrame, gdf: pd.DataFrame, schema: LayerSchema, cols: dict[str, str]) -> None:
    """Surface, season, maxspeed, speed, name and source id columns (in place)."""
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
        table["osm_way_id"] = np.arange(len(gdf), dtype=np.int64)


def _add_topology_columns(table: pd.DataFrame, gdf: pd.DataFrame, schema: LayerSchema,
                          cols: dict[str, str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Direction (+1/-1/0), bridge or tunnel, and vertical level of each feature; the bridge,
    tunnel and layer columns are added to ``table`` in place."""
    n = len(gdf)
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
    return direction, bridge | tunnel, layer_arr
