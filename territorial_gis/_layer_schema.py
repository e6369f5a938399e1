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
from .speeds import Profile, known_values

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
    "season": {"column", "optional", "dry_season_only", "all_year"},
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
    all_year: frozenset[str] | None = None  # None: every listed-nowhere value is all year (warned)
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
        raise ConfigError(f"{source}: [season] needs dry_season_only = [values meaning dry season only] (and, "
                          f"best, all_year = [values meaning usable all year]: other values are then refused)")
    dry = _str_list(sections.get("season", {}), "dry_season_only", f"{source}: [season]")
    all_year = (_str_list(sections["season"], "all_year", f"{source}: [season]")
                if "all_year" in sections.get("season", {}) else None)
    if all_year is not None and dry & all_year:
        raise ConfigError(f"{source}: [season] values in both dry_season_only and all_year: "
                          f"{', '.join(sorted(dry & all_year))}")
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
        dry_season_only=dry,
        all_year=all_year,
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


def check_schema_against_profile(schema: LayerSchema, profile: Profile) -> None:
    """Refuse a schema whose value tables map to names the speed model does not know.

    Every ``[class.values]`` target must be a road class of a speed profile (shipped or
    ``profile``), every ``[class.tracktype]`` target a tracktype and every ``[surface.values]``
    target a surface the model knows (:func:`~territorial_gis.speeds.known_values`), so a typo
    never drops roads or gives them a neutral factor unseen.

    Raises
    ------
    ConfigError
        Naming the schema file, the table, the layer value and the unknown name.
    """
    known = known_values(profile)
    for table, tag, values in (("[class.values]", "highway", schema.class_values),
                               ("[class.tracktype]", "tracktype", schema.class_tracktype),
                               ("[surface.values]", "surface", schema.surface_values)):
        bad = {k: v for k, v in (values or {}).items() if v not in known[tag]}
        if bad:
            listing = ", ".join(f"{k!r} = {v!r}" for k, v in sorted(bad.items()))
            raise ConfigError(f"{schema.source}: {table} maps to names the speed model does not know: {listing}; "
                              f"known {tag} values: {', '.join(sorted(known[tag]))}")


@dataclass
class _Mapped:
    """One schema field mapped over the features: the model value of each feature (None where
    missing or unmapped), which features are unmapped, and the report of the values seen."""

    value: pd.Series
    unmapped: np.ndarray
    report: dict[str, Any]


def _map_field(raw: pd.Series, *, table: dict[str, str] | None, known: frozenset[str] | None,
               missing_unmapped: bool, feat_len_km: np.ndarray, column: str) -> _Mapped:
    """Map one column: through ``table`` (layer value -> model value) when given, else the
    value itself, which must then be in ``known``. Missing values are unmapped when
    ``missing_unmapped``, else left missing."""
    key = _norm_series(raw)
    missing = (key == "").to_numpy()
    value = key.map(table) if table is not None else key.where(~missing)
    unknown = value.isna().to_numpy() | (~value.isin(known).to_numpy() if known is not None else False)
    unmapped = (unknown & ~missing) | (missing & missing_unmapped)
    value = value.where(~unmapped & ~missing, None).astype(object)
    shown = raw.astype(str).where(~missing, "<missing>")
    status = np.where(unmapped, "unmapped", np.where(missing, "missing", "mapped"))
    frame = pd.DataFrame({"v": shown.to_numpy(), "to": value.to_numpy(), "s": status, "km": feat_len_km})
    per_value: dict[str, Any] = {}
    for (v, st), grp in frame.groupby(["v", "s"], sort=False):
        per_value[str(v)] = {"count": int(len(grp)), "length_km": round(float(grp["km"].sum()), 3),
                             "mapped_to": grp["to"].iloc[0], "status": str(st)}
    totals = {st: {"count": int((status == st).sum()), "length_km": round(float(feat_len_km[status == st].sum()), 3)}
              for st in ("mapped", "unmapped", "missing")}
    report = {"column": column, "values_seen": len(per_value), **totals,
              "values": dict(sorted(per_value.items(), key=lambda kv: -kv[1]["length_km"]))}
    return _Mapped(value=value, unmapped=unmapped, report=report)


def _unmapped_listing(rep: dict[str, Any]) -> str:
    return "; ".join(f"{v!r}: {r['count']} features, {r['length_km']:.1f} km"
                     for v, r in rep["values"].items() if r["status"] == "unmapped")


_DEFAULT_OF = {"class": "the class '{default_class}'", "surface": "no surface (speed factor 1.0)",
               "season": "'all_year'"}
_TABLE_OF = {"class": "[class.values]", "surface": "[surface.values]", "season": "[season] all_year / dry_season_only"}


def apply_schema(gdf: pd.DataFrame, schema: LayerSchema, cols: dict[str, str], *, feat_len_km: np.ndarray,
                 unmapped: str, default_class: str, what: str, report: dict[str, Any],
                 profile: Profile | None = None) -> Features:
    """Attributes of each feature in the speed model's vocabulary (one row per feature of ``gdf``).

    ``cols`` gives the layer column of each role (:meth:`LayerSchema.resolve`); ``feat_len_km``
    the length of each feature; ``what`` names the layer in messages. The values seen in the
    class, surface and season columns, mapped, unmapped and missing, with counts and km, go to
    ``report["values"]``; unmapped values are refused (``unmapped="refuse"``) or given
    ``default_class`` / no surface / ``all_year`` (``unmapped="default"``). Without a value
    table a column must hold values the speed model knows (of the shipped profiles and
    ``profile``).

    Raises
    ------
    ConfigError
        Unmapped values with ``unmapped="refuse"``: one message listing, per column, the values
        with their counts and km.
    """
    fields = _map_fields(gdf, schema, cols, feat_len_km=feat_len_km, profile=profile)
    report["values"] = {name: m.report for name, m in fields.items()}
    bad = {name: m for name, m in fields.items() if m.unmapped.any()}
    for name, m in bad.items():
        log.warning("%s: column %s: values the schema does not map: %s", what, cols[name],
                    _unmapped_listing(m.report))
    if bad and unmapped == "refuse":
        parts = [f"{name} column '{cols[name]}': {_unmapped_listing(m.report)} (map them in {_TABLE_OF[name]})"
                 for name, m in bad.items()]
        defaults = ", ".join(_DEFAULT_OF[n].format(default_class=default_class) for n in bad)
        raise ConfigError(f"{what}: values not in the schema {schema.source}: {'; '.join(parts)}. Or pass "
                          f"unmapped='default' (--unmapped default) to give them {defaults}")
    cls = fields["class"]
    report["unmapped_classes"] = {v: {"count": r["count"], "length_km": r["length_km"]}
                                  for v, r in cls.report["values"].items() if r["status"] == "unmapped"}
    report["unmapped_action"] = unmapped if bad else None
    key = _norm_series(gdf[cols["class"]].astype(object))
    table = pd.DataFrame({"highway": cls.value.where(~cls.unmapped, default_class).to_numpy()}, index=gdf.index)
    table["tracktype"] = key.map(schema.class_tracktype).astype(object).to_numpy() if schema.class_tracktype \
        else None
    table["layer_class"] = gdf[cols["class"]].to_numpy()
    table["surface"] = fields["surface"].value.to_numpy() if "surface" in fields else None
    if "surface" in fields:
        table["layer_surface"] = gdf[cols["surface"]].to_numpy()
    if "season" in fields:
        dry = fields["season"].value.to_numpy() == "dry_season_only"
        table["season"] = np.where(dry, "dry_season_only", "all_year")
        table["layer_season"] = gdf[cols["season"]].to_numpy()
    _add_value_columns(table, gdf, cols)
    direction, bridge_tunnel, layer_arr = _add_topology_columns(table, gdf, schema, cols)
    table["source_row"] = np.arange(len(gdf), dtype=np.int64)
    return Features(table=table.reset_index(drop=True), direction=direction,
                    bridge_tunnel=bridge_tunnel, layer=layer_arr)


def _map_fields(gdf: pd.DataFrame, schema: LayerSchema, cols: dict[str, str], *,
                feat_len_km: np.ndarray, profile: Profile | None) -> dict[str, _Mapped]:
    """The class, surface and season columns mapped to the model's values."""
    known = known_values(profile)
    out = {"class": _map_field(gdf[cols["class"]].astype(object), table=schema.class_values, known=known["highway"],
                               missing_unmapped=True, feat_len_km=feat_len_km, column=cols["class"])}
    if "surface" in cols:
        out["surface"] = _map_field(gdf[cols["surface"]].astype(object), table=schema.surface_values,
                                    known=known["surface"], missing_unmapped=False, feat_len_km=feat_len_km,
                                    column=cols["surface"])
    if "season" in cols:
        raw = gdf[cols["season"]].astype(object)
        all_year = schema.all_year
        if all_year is None:  # no all_year list: every value not dry-season-only is all year, said aloud
            seen = set(_norm_series(raw).unique()) - {""}
            all_year = frozenset(seen - schema.dry_season_only)
            if all_year:
                log.warning("%s: [season] has no all_year list: values %s of column %s count as usable all year "
                            "(list them in all_year to confirm; other values are then refused)",
                            schema.source, ", ".join(sorted(all_year)), cols["season"])
        season_table = {**{v: "dry_season_only" for v in schema.dry_season_only}, **{v: "all_year" for v in all_year}}
        out["season"] = _map_field(raw, table=season_table, known=None, missing_unmapped=True,
                                   feat_len_km=feat_len_km, column=cols["season"])
    return out


def _add_value_columns(table: pd.DataFrame, gdf: pd.DataFrame, cols: dict[str, str]) -> None:
    """Maxspeed, speed, name and source id columns (in place)."""
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
