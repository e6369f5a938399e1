"""Interactive HTML maps of a study (folium / Leaflet).

:func:`make_map` draws localities coloured by class (FRA, MRA by ``mra_type``) and sized by
population, destinations by tier, corridors with width by population served, the top upgrade
stretches, areas, hubs, hinterlands, territories and a travel-time surface (isochrone bands or
hexagons), with a layer control, a legend, a scale bar and a fullscreen button.

Large regions stay usable: the map renders on a canvas (``prefer_canvas``), and every data layer
is shipped as one compact JSON array (coordinates rounded to 6 decimals, only the fields shown in
popups, repeated strings stored once) from which the markers are built in the browser; popups are
built only when opened.

:func:`write_map` writes the HTML atomically, optionally self-contained (Leaflet and plugin scripts
and styles inlined from the vendored copies in ``territorial_gis/templates``; see
:mod:`territorial_gis._html`). :func:`map_study` reads a study outputs folder (layout in
``docs/ARCHITECTURE.md``) and does both.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.map import Layer
from folium.template import Template

from .errors import ColumnError, CRSError, InputFileError
from .outputs import load_study_outputs

logger = logging.getLogger(__name__)

TRAVEL_TIME_RE = re.compile(r"^travel_time_(?P<tier>.+)_min$")

#: class key -> (label, fill colour)
CLASS_STYLES: dict[str, tuple[str, str]] = {
    "FRA": ("FRA: favorable rural area", "#1a9850"),
    "MRA-isolated": ("MRA: isolated", "#d73027"),
    "MRA-agroecological": ("MRA: agroecological constraints", "#fdae61"),
    "MRA-both": ("MRA: isolated and agroecological", "#7b3294"),
    "MRA": ("MRA: other", "#f46d43"),
    "unclassified": ("not classified", "#878787"),
}
#: symbols and colours of destination tiers, in order of appearance
TIER_SYMBOLS = ("\u25a0", "\u25b2", "\u25c6", "\u2605", "\u25cf", "\u2b1f")
TIER_COLORS = ("#08306b", "#6a3d9a", "#b15928", "#01665e", "#c51b7d", "#4d4d4d")
#: travel-time band colours (short -> long)
BAND_COLORS = ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c",
               "#bd0026", "#800026")
CORRIDOR_COLOR = "#2c7fb8"
UPGRADE_COLOR = "#ff00aa"
TERRITORY_COLORS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
                    "#666666")


# --------------------------------------------------------------------------------------------
# helpers


def find_tiers(df: pd.DataFrame) -> list[str]:
    """Return the tiers of the ``travel_time_<tier>_min`` columns of ``df``, in column order."""
    return [m.group("tier") for c in df.columns if (m := TRAVEL_TIME_RE.match(str(c)))]


def classify_key(area_class: Any, mra_type: Any) -> str:
    """Return the :data:`CLASS_STYLES` key of one locality's class and MRA type."""
    cls = str(area_class).strip().upper() if _present(area_class) else ""
    if cls == "FRA":
        return "FRA"
    if cls == "MRA":
        t = str(mra_type).strip().lower() if _present(mra_type) else ""
        return f"MRA-{t}" if f"MRA-{t}" in CLASS_STYLES else "MRA"
    return "unclassified"


def format_class(area_class: Any, mra_type: Any) -> str:
    """Human text of a class, e.g. ``"MRA (isolated)"``, ``"FRA"`` or ``"not classified"``."""
    key = classify_key(area_class, mra_type)
    if key == "unclassified":
        return "not classified"
    if key == "FRA":
        return "FRA"
    return f"MRA ({mra_type})" if _present(mra_type) else "MRA"


def _present(v: Any) -> bool:
    if v is None:
        return False
    if isinstance(v, float) and math.isnan(v):
        return False
    return not (isinstance(v, str) and not v.strip())


def _to_4326(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf:
        raise ColumnError(f"{what}: expected a GeoDataFrame with a geometry column")
    if gdf.crs is None:
        b = gdf.total_bounds
        if len(gdf) and not (np.all(np.abs(b[[0, 2]]) <= 180) and np.all(np.abs(b[[1, 3]]) <= 90)):
            raise CRSError(f"{what} has no CRS and its coordinates are not longitude/latitude")
        logger.warning("%s has no CRS; assuming EPSG:4326", what)
        return gdf.set_crs(4326)
    if gdf.crs.to_epsg() == 4326:
        return gdf
    return gdf.to_crs(4326)


def _round(x: float, precision: int) -> float:
    return round(float(x), precision)


def _ring(coords: np.ndarray, precision: int) -> list[list[float]]:
    # Leaflet wants [lat, lon]
    return [[_round(y, precision), _round(x, precision)] for x, y in coords[:, :2]]


def encode_geometry(geom: Any, precision: int = 6) -> Any:
    """Encode a shapely geometry as nested ``[lat, lon]`` lists for Leaflet.

    Points give ``[lat, lon]``, (multi)lines a list of vertices (or of parts), (multi)polygons a
    list of rings (or of polygons). Returns ``None`` for empty or missing geometries.
    """
    if geom is None or geom.is_empty:
        return None
    gt = geom.geom_type
    if gt == "Point":
        return [_round(geom.y, precision), _round(geom.x, precision)]
    if gt == "LineString":
        return _ring(np.asarray(geom.coords), precision)
    if gt == "MultiLineString":
        return [_ring(np.asarray(p.coords), precision) for p in geom.geoms]
    if gt == "Polygon":
        return [_ring(np.asarray(geom.exterior.coords), precision)] + [
            _ring(np.asarray(r.coords), precision) for r in geom.interiors]
    if gt == "MultiPolygon":
        return [encode_geometry(p, precision) for p in geom.geoms]
    if gt == "MultiPoint":
        p = geom.centroid
        return [_round(p.y, precision), _round(p.x, precision)]
    if gt == "GeometryCollection":
        parts = [g for g in geom.geoms if not g.is_empty]
        return encode_geometry(parts[0], precision) if parts else None
    return None


def _delta(coords: np.ndarray, scale: float) -> list[int]:
    q = np.round(np.asarray(coords, float)[:, [1, 0]] * scale).astype(np.int64)  # [lat, lon]
    if len(q) > 1:
        q[1:] = np.diff(q, axis=0)
    return [int(v) for v in q.ravel()]


def encode_delta(geom: Any, precision: int = 6) -> list[Any] | None:
    """Encode a (multi)line or (multi)polygon compactly for the browser.

    Coordinates become integers (degrees x ``10**precision``), each vertex stored as the
    difference to the previous one in a flat ``[lat0, lon0, dlat1, dlon1, ...]`` array. Lines
    give a list of parts; polygons a list of polygons, each a list of rings. The JS runtime
    (``tgisDec``) decodes them. Returns ``None`` for empty geometries and points.
    """
    if geom is None or geom.is_empty:
        return None
    scale = 10.0 ** precision
    gt = geom.geom_type
    if gt in ("LineString", "LinearRing"):
        return [_delta(np.asarray(geom.coords), scale)]
    if gt == "MultiLineString":
        return [_delta(np.asarray(p.coords), scale) for p in geom.geoms if not p.is_empty]
    if gt == "Polygon":
        return [[_delta(np.asarray(geom.exterior.coords), scale)]
                + [_delta(np.asarray(r.coords), scale) for r in geom.interiors]]
    if gt == "MultiPolygon":
        return [encode_delta(p, precision)[0] for p in geom.geoms if not p.is_empty]  # type: ignore[index]
    if gt == "GeometryCollection":
        parts = [g for g in geom.geoms if not g.is_empty and g.geom_type != "Point"]
        return encode_delta(parts[0], precision) if parts else None
    return None


def _json_for_script(obj: Any) -> str:
    """JSON text safe to embed in a ``<script>`` element."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _num(v: Any, digits: int = 1) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    if math.isnan(f) or math.isinf(f):
        return None
    return round(f, digits) if digits else float(round(f))


def _text(v: Any) -> str | None:
    return str(v) if _present(v) else None


@dataclass
class _Field:
    label: str
    fmt: str = "text"  # text | int | num | min | pct
    lookup: list[str] | None = None

    def spec(self) -> dict[str, Any]:
        d: dict[str, Any] = {"label": self.label, "fmt": self.fmt}
        if self.lookup is not None:
            d["lookup"] = self.lookup
        return d


class _Lookup:
    """Store repeated strings once: values become indices into a list."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._index: dict[str, int] = {}

    def index(self, s: str) -> int:
        if s not in self._index:
            self._index[s] = len(self.items)
            self.items.append(s)
        return self._index[s]


def _sqrt_scale(values: pd.Series, lo: float, hi: float) -> np.ndarray:
    """Sizes from ``lo`` to ``hi`` growing with the square root of non-negative ``values``
    (so a symbol's area, not its radius, follows the value); all ``lo`` when nothing is positive."""
    v = pd.to_numeric(values, errors="coerce").fillna(0).clip(lower=0).to_numpy(float)
    top = float(v.max()) if len(v) else 0.0
    if top <= 0:
        return np.full(len(v), lo)
    return np.round(lo + (hi - lo) * np.sqrt(v / top), 1)


# --------------------------------------------------------------------------------------------
# folium elements


_RUNTIME_JS = r"""
<style>
.tgis-legend{background:rgba(255,255,255,.93);padding:6px 9px;font:12px/1.35 Arial,sans-serif;
  border-radius:5px;box-shadow:0 1px 4px rgba(0,0,0,.4);max-height:60vh;overflow-y:auto;max-width:280px}
.tgis-legend h4{margin:4px 0 2px;font-size:12px}
.tgis-legend .sw{display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:middle;
  border:1px solid #555}
.tgis-legend .dot{border-radius:50%}
.tgis-legend .ln{display:inline-block;width:22px;margin-right:5px;vertical-align:middle}
.tgis-legend .sym{display:inline-block;width:14px;margin-right:3px;text-align:center;font-size:14px}
.tgis-title{background:rgba(255,255,255,.9);padding:4px 8px;font:bold 14px Arial,sans-serif;
  border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3)}
.tgis-symbol{background:none;border:none;text-align:center;line-height:1;
  text-shadow:0 0 2px #fff,0 0 2px #fff}
.tgis-popup{font:12px Arial,sans-serif;border-collapse:collapse}
.tgis-popup th{text-align:left;padding:1px 8px 1px 0;font-weight:normal;color:#555;vertical-align:top}
.tgis-popup td{padding:1px 0}
.tgis-popup-title{font-weight:bold;font-size:13px;margin-bottom:3px}
</style>
<script>
var tgisLayers = {};
function tgisEsc(s){return String(s).replace(/[&<>"']/g,function(c){
  return {'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c];});}
function tgisFmt(f, v){
  if (v === null || v === undefined) return '\u2013';
  if (f.fmt === 'min') {
    if (v < 0) return f.lookup[-v - 1];
    return v.toFixed(v < 10 ? 1 : 0) + ' min';
  }
  if (f.lookup) return f.lookup[v];
  if (f.fmt === 'int') return Math.round(v).toLocaleString('en-US');
  if (f.fmt === 'pct') return (100 * v).toFixed(0) + ' %';
  if (f.fmt === 'num') return v.toLocaleString('en-US');
  return String(v);
}
function tgisPopup(d, r){
  var h = '', i0 = 0;
  if (d.titled) { h += '<div class="tgis-popup-title">' + tgisEsc(tgisFmt(d.fields[0], r[3])) + '</div>'; i0 = 1; }
  h += '<table class="tgis-popup">';
  for (var i = i0; i < d.fields.length; i++) {
    var v = r[3 + i];
    if (v === null && d.fields[i].skipNull) continue;
    h += '<tr><th>' + tgisEsc(d.fields[i].label) + '</th><td>' + tgisEsc(tgisFmt(d.fields[i], v)) + '</td></tr>';
  }
  return h + '</table>';
}
function tgisDec(a, s){
  var out = [], la = 0, lo = 0;
  for (var i = 0; i < a.length; i += 2) { la += a[i]; lo += a[i + 1]; out.push([la / s, lo / s]); }
  return out;
}
function tgisLayer(d){
  var g = L.featureGroup(), rows = d.rows;
  for (var i = 0; i < rows.length; i++) {
    var r = rows[i], s = d.styles[r[1]], lyr;
    if (d.kind === 'circle') {
      lyr = L.circleMarker(r[0], {radius: r[2], color: s.color, weight: s.weight, fillColor: s.fill,
                                  fillOpacity: s.fillOpacity, opacity: s.opacity});
    } else if (d.kind === 'symbol') {
      lyr = L.marker(r[0], {icon: L.divIcon({className: 'tgis-symbol ' + s.cls,
        html: '<span style="color:' + s.fill + ';font-size:' + r[2] + 'px">' + s.symbol + '</span>',
        iconSize: [r[2], r[2]], iconAnchor: [r[2] / 2, r[2] / 2]})});
    } else if (d.kind === 'line') {
      lyr = L.polyline(r[0].map(function (p) { return tgisDec(p, d.scale); }), {color: s.color, weight: r[2], opacity: s.opacity, dashArray: s.dash});
    } else {
      lyr = L.polygon(r[0].map(function (p) { return p.map(function (q) { return tgisDec(q, d.scale); }); }),
                      {color: s.color, weight: s.weight, fillColor: s.fill,
                             fillOpacity: s.fillOpacity, opacity: s.opacity});
    }
    lyr._tgisRow = r;
    if (d.fields.length) lyr.bindPopup(function (l) { return tgisPopup(d, l._tgisRow); }, {maxWidth: 380});
    g.addLayer(lyr);
  }
  g._tgisData = d;
  tgisLayers[d.name] = g;
  return g;
}
function tgisFind(name, key){
  // the feature of layer `name` whose first or second popup field reads `key` (name or id)
  var g = tgisLayers[name], d = g._tgisData, found = null, k = String(key);
  g.eachLayer(function (l) {
    for (var i = 0; i < Math.min(2, d.fields.length); i++) {
      if (String(tgisFmt(d.fields[i], l._tgisRow[3 + i])) === k) found = l;
    }
  });
  return found;
}
</script>
"""


class _Runtime(MacroElement):
    """Styles and the small JS runtime that turns compact layers into Leaflet layers."""

    _template = Template("{% macro header(this, kwargs) %}" + _RUNTIME_JS + "{% endmacro %}")

    def __init__(self) -> None:
        super().__init__()
        self._name = "TgisRuntime"


class CompactLayer(Layer):
    """A Leaflet layer built in the browser from a compact JSON array.

    Each row is ``[geometry, style_index, size, popup values...]`` where ``size`` is the radius of
    circles, the font size of symbols or the width of lines.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = tgisLayer({{ this.data_json }});
        {% endmacro %}
        """)

    def __init__(self, name: str, kind: str, rows: list[list[Any]], styles: list[dict[str, Any]],
                 fields: Sequence[_Field] = (), titled: bool = False, show: bool = True,
                 precision: int = 6) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "CompactLayer"
        self.kind = kind
        self.n_rows = len(rows)
        self.data_json = _json_for_script({
            "name": name, "kind": kind, "titled": titled, "styles": styles, "scale": 10 ** precision,
            "fields": [f.spec() for f in fields], "rows": rows})


class _Control(MacroElement):
    """A Leaflet control holding static HTML (legend, title)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            (function () {
                var c = L.control({position: {{ this.position|tojson }}});
                c.onAdd = function () {
                    var div = L.DomUtil.create('div', {{ this.css_class|tojson }});
                    div.id = {{ this.element_id|tojson }};
                    div.innerHTML = {{ this.html_json }};
                    L.DomEvent.disableClickPropagation(div);
                    L.DomEvent.disableScrollPropagation(div);
                    return div;
                };
                c.addTo({{ this._parent.get_name() }});
                window.tgisMap = {{ this._parent.get_name() }};
            })();
        {% endmacro %}
        """)

    def __init__(self, html: str, element_id: str, css_class: str, position: str) -> None:
        super().__init__()
        self._name = "TgisControl"
        self.html_json = _json_for_script(html)
        self.element_id = element_id
        self.css_class = css_class
        self.position = position


def _esc(s: Any) -> str:
    import html

    return html.escape(str(s), quote=True)


# --------------------------------------------------------------------------------------------
# layer builders


def _locality_layer(gdf: gpd.GeoDataFrame, name: str, precision: int,
                    counts: dict[str, int]) -> CompactLayer:
    tiers = find_tiers(gdf)
    id_col = next((c for c in ("locality_id", "area_id", "place_id", "id") if c in gdf.columns), None)
    cls = gdf["area_class"] if "area_class" in gdf.columns else pd.Series([None] * len(gdf), index=gdf.index)
    mtype = gdf["mra_type"] if "mra_type" in gdf.columns else pd.Series([None] * len(gdf), index=gdf.index)
    keys = [classify_key(a, b) for a, b in zip(cls, mtype, strict=True)]
    style_keys = list(CLASS_STYLES)
    styles = [{"color": "#333333", "weight": 0.6, "opacity": 0.9, "fill": CLASS_STYLES[k][1],
               "fillOpacity": 0.85} for k in style_keys]
    is_point = bool(len(gdf)) and bool((gdf.geometry.geom_type == "Point").all())
    big = len(gdf) > 5000
    sizes = _sqrt_scale(gdf["population"], 1.5 if big else 2.5, 8.0 if big else 14.0) if ("population" in gdf.columns and is_point) else \
        np.full(len(gdf), 5.0 if is_point else 1.0)
    if not is_point:
        styles = [dict(s, color=s["fill"], weight=1.0, fillOpacity=0.55) for s in styles]

    reasons = _Lookup()
    unreach = [_Lookup() for _ in tiers]
    class_text = _Lookup()
    fields = [_Field("Name"), _Field("ID"), _Field("Population", "int")]
    fields += [_Field(f"Travel time to {t.replace('_', ' ')}", "min") for t in tiers]
    fields += [_Field("Class", "text"), _Field("Class reasons", "text")]
    ureason = gdf["unreachable_reason"] if "unreachable_reason" in gdf.columns else None
    # per-tier reasons (``unreachable_reason_<tier>``) when the access table has them
    tier_reason = [gdf[f"unreachable_reason_{t}"] if f"unreachable_reason_{t}" in gdf.columns else ureason
                   for t in tiers]
    creasons = gdf["class_reasons"] if "class_reasons" in gdf.columns else None
    names = gdf["name"] if "name" in gdf.columns else None
    ids = gdf[id_col] if id_col else pd.Series(np.arange(len(gdf)), index=gdf.index)
    pops = gdf["population"] if "population" in gdf.columns else None
    tt = [pd.to_numeric(gdf[f"travel_time_{t}_min"], errors="coerce").to_numpy(float) for t in tiers]

    rows: list[list[Any]] = []
    geoms = gdf.geometry.to_numpy()
    for i in range(len(gdf)):
        g = encode_geometry(geoms[i], precision) if is_point else encode_delta(geoms[i], precision)
        if g is None:
            continue
        key = keys[i]
        counts[key] = counts.get(key, 0) + 1
        ident = ids.iat[i]
        nm = _text(names.iat[i]) if names is not None else None
        row: list[Any] = [g, style_keys.index(key), float(sizes[i]),
                          nm if nm is not None else str(ident), str(ident),
                          _num(pops.iat[i], 0) if pops is not None else None]
        for j in range(len(tiers)):
            v = tt[j][i]
            if math.isnan(v):
                reasons_j = tier_reason[j]
                reason = _text(reasons_j.iat[i]) if reasons_j is not None else None
                text = f"unreachable ({reason})" if reason else "unreachable"
                row.append(-(unreach[j].index(text) + 1))
            else:
                row.append(round(float(v), 1))
        row.append(class_text.index(format_class(cls.iat[i], mtype.iat[i])))
        cr = _text(creasons.iat[i]) if creasons is not None else None
        row.append(reasons.index(cr) if cr is not None else None)
        rows.append(row)
    for j in range(len(tiers)):
        fields[3 + j].lookup = unreach[j].items
    fields[3 + len(tiers)].lookup = class_text.items
    fields[4 + len(tiers)].lookup = reasons.items
    kind = "circle" if is_point else "polygon"
    return CompactLayer(name, kind, rows, styles, fields, titled=True, precision=precision)


def _generic_fields(gdf: pd.DataFrame, preferred: Sequence[tuple[str, str, str]]
                    ) -> list[tuple[str, _Field]]:
    return [(col, _Field(label, fmt)) for col, label, fmt in preferred if col in gdf.columns]


def _row_values(gdf: pd.DataFrame, i: int, cols: list[tuple[str, _Field]],
                lookups: dict[str, _Lookup]) -> list[Any]:
    out: list[Any] = []
    for col, f in cols:
        v = gdf[col].iat[i]
        if f.fmt in ("int",):
            out.append(_num(v, 0))
        elif f.fmt in ("num", "min"):
            n = _num(v, 2)
            out.append(None if n is None or (f.fmt == "min" and n < 0) else n)
        elif f.fmt == "pct":
            out.append(_num(v, 3))
        else:
            t = _text(v)
            out.append(lookups.setdefault(col, _Lookup()).index(t) if t is not None else None)
    return out


def _finish_fields(cols: list[tuple[str, _Field]], lookups: dict[str, _Lookup]) -> list[_Field]:
    for col, f in cols:
        if f.fmt == "text":
            f.lookup = lookups.get(col, _Lookup()).items
    return [f for _c, f in cols]


_DEST_FIELDS = (("name", "Name", "text"), ("dest_id", "ID", "text"), ("tier", "Tier", "text"),
                ("population", "Population", "int"))


def _destination_layers(gdf: gpd.GeoDataFrame, precision: int) -> list[tuple[CompactLayer, str, str, str]]:
    """One symbol layer per tier; returns (layer, tier, symbol, colour)."""
    out = []
    if "tier" in gdf.columns:
        tier_values = [str(t) for t in pd.unique(gdf["tier"].astype(str))]
    else:
        tier_values = ["destination"]
    for k, tier in enumerate(tier_values):
        sub = gdf[gdf["tier"].astype(str) == tier] if "tier" in gdf.columns else gdf
        sub = sub.reset_index(drop=True)
        symbol, color = TIER_SYMBOLS[k % len(TIER_SYMBOLS)], TIER_COLORS[k % len(TIER_COLORS)]
        style = {"fill": color, "symbol": symbol, "cls": f"tgis-tier-{re.sub(r'[^A-Za-z0-9_-]', '_', tier)}"}
        cols = _generic_fields(sub, _DEST_FIELDS)
        if "name" not in sub.columns and "dest_id" in sub.columns:
            cols = [("dest_id", _Field("Name"))] + cols
        lookups: dict[str, _Lookup] = {}
        rows = []
        pts = sub.geometry.to_numpy()
        for i in range(len(sub)):
            g = pts[i]
            if g is None or g.is_empty:
                continue
            if g.geom_type != "Point":
                g = g.representative_point()
            rows.append([encode_geometry(g, precision), 0, 18] + _row_values(sub, i, cols, lookups))
        fields = _finish_fields(cols, lookups)
        layer = CompactLayer(f"Destinations: {tier.replace('_', ' ')}", "symbol", rows, [style],
                             fields, titled=bool(cols) and cols[0][0] in ("name", "dest_id"))
        out.append((layer, tier, symbol, color))
    return out


_CORRIDOR_FIELDS = (("origin_id", "From", "text"), ("target_id", "To", "text"),
                    ("target_tier", "Target tier", "text"), ("travel_time_min", "Travel time", "min"),
                    ("length_km", "Length (km)", "num"), ("unpaved_share", "Unpaved", "pct"),
                    ("population_served", "Population served", "int"))

_UPGRADE_FIELDS = (("rank", "Rank", "int"), ("stretch_id", "Stretch", "text"), ("name", "Road", "text"),
                   ("highway", "Road class", "text"), ("surface", "Surface", "text"),
                   ("length_km", "Length (km)", "num"), ("speed_kph", "Speed now (km/h)", "num"),
                   ("upgrade_to", "Upgrade to", "text"), ("population_served", "Population served", "int"),
                   ("person_min_saved_per_km", "Person-minutes saved per km", "int"),
                   ("max_saved_min", "Largest time saved", "min"), ("mean_before_min", "Mean time before", "min"),
                   ("mean_after_min", "Mean time after", "min"), ("score", "Score", "num"),
                   ("benefit", "Benefit", "num"), ("cost", "Cost", "num"))

_SEGMENT_FIELDS = (("stretch_id", "Stretch", "text"), ("name", "Road", "text"), ("highway", "Road class", "text"),
                   ("surface", "Surface", "text"), ("length_km", "Length (km)", "num"),
                   ("unpaved_share", "Unpaved or low class", "pct"),
                   ("population_served", "MRA population served", "int"),
                   ("n_localities", "Localities served", "int"))


def select_top_upgrades(upgrades: pd.DataFrame, n: int) -> pd.DataFrame:
    """Return the ``n`` top upgrade stretches (by ``rank``, else score, benefit or population served)."""
    if "rank" in upgrades.columns:
        return upgrades.sort_values("rank", kind="stable").head(n)
    for col in ("score", "benefit", "population_served", "length_km"):
        if col in upgrades.columns:
            return upgrades.sort_values(col, ascending=False, kind="stable").head(n)
    return upgrades.head(n)


def _shape_rows(gdf: gpd.GeoDataFrame, cols: list[tuple[str, _Field]], lookups: dict[str, _Lookup],
                style_index: np.ndarray, widths: np.ndarray, precision: int, simplify_deg: float,
                preserve_topology: bool) -> list[list[Any]]:
    """Rows ``[delta-encoded geometry, style, width, *fields]`` of a line or polygon layer."""
    geoms = gdf.geometry.to_numpy()
    if simplify_deg > 0:
        geoms = shapely.simplify(geoms, simplify_deg, preserve_topology=preserve_topology)
    rows = []
    for i in range(len(gdf)):
        g = encode_delta(geoms[i], precision)
        if g is None:
            continue
        rows.append([g, int(style_index[i]), float(widths[i])] + _row_values(gdf, i, cols, lookups))
    return rows


def _line_layer(gdf: gpd.GeoDataFrame, name: str, widths: np.ndarray, style: dict[str, Any],
                preferred: Sequence[tuple[str, str, str]], precision: int, simplify_deg: float,
                show: bool = True) -> CompactLayer:
    gdf = gdf.reset_index(drop=True)
    cols = _generic_fields(gdf, preferred)
    lookups: dict[str, _Lookup] = {}
    rows = _shape_rows(gdf, cols, lookups, np.zeros(len(gdf), dtype=int), widths, precision, simplify_deg,
                       preserve_topology=False)
    return CompactLayer(name, "line", rows, [style], _finish_fields(cols, lookups), show=show,
                        precision=precision)


def _polygon_layer(gdf: gpd.GeoDataFrame, name: str, style_index: np.ndarray,
                   styles: list[dict[str, Any]], preferred: Sequence[tuple[str, str, str]],
                   precision: int, simplify_deg: float, show: bool = True,
                   titled: bool = False) -> CompactLayer:
    gdf = gdf.reset_index(drop=True)
    cols = _generic_fields(gdf, preferred)
    lookups: dict[str, _Lookup] = {}
    rows = _shape_rows(gdf, cols, lookups, style_index, np.ones(len(gdf)), precision, simplify_deg,
                       preserve_topology=True)
    return CompactLayer(name, "polygon", rows, styles, _finish_fields(cols, lookups), show=show,
                        titled=titled, precision=precision)


def find_time_column(gdf: pd.DataFrame) -> str:
    """Return the travel-time column of an isochrone / surface layer."""
    for c in ("travel_time_min", "threshold_min", "band_max_min", "time_max_min", "max_min", "minutes",
              "time_min"):
        if c in gdf.columns:
            return c
    cands = [c for c in gdf.columns if str(c).endswith("_min")]
    if not cands:
        raise ColumnError("isochrones: no travel-time column (e.g. 'travel_time_min' or '*_min') in "
                          f"columns {list(gdf.columns)}")
    return str(cands[0])


def make_band_edges(values: Iterable[float]) -> list[float]:
    """Band edges (minutes) for a travel-time surface: the distinct values when few, else nice steps."""
    v = np.asarray([x for x in values if x is not None and not math.isnan(x)], dtype=float)
    if not len(v):
        return [0.0]
    uniq = np.unique(v)
    if len(uniq) <= len(BAND_COLORS):
        return [float(x) for x in uniq]
    top = float(np.nanpercentile(v, 98))
    for step in (5, 10, 15, 20, 30, 60, 120, 240):
        if top / step <= len(BAND_COLORS) - 1:
            break
    return [float(step * k) for k in range(1, len(BAND_COLORS) + 1)]


def make_hex_surface(localities: gpd.GeoDataFrame, tier: str, resolution: int | None = None
                     ) -> gpd.GeoDataFrame:
    """Travel-time hexagons: population-weighted mean time to ``tier`` per H3 cell.

    Parameters
    ----------
    localities
        Points with ``travel_time_<tier>_min`` (and optionally ``population``).
    tier
        Destination tier.
    resolution
        H3 resolution; by default chosen so that the region spans about 40 cells across.

    Returns
    -------
    GeoDataFrame
        Hexagons (EPSG:4326) with ``h3_cell``, ``travel_time_min``, ``population``, ``n_localities``.
    """
    import h3

    col = f"travel_time_{tier}_min"
    if col not in localities.columns:
        raise ColumnError(f"localities: no column '{col}' for the travel-time surface")
    pts = _to_4326(localities, "localities")
    pts = pts[pts.geometry.notna() & ~pts.geometry.is_empty]
    if not len(pts):
        return gpd.GeoDataFrame({"h3_cell": [], "travel_time_min": []}, geometry=[], crs=4326)
    if (pts.geometry.geom_type != "Point").any():
        pts = pts.set_geometry(pts.geometry.representative_point())
    if resolution is None:
        w, s, e, n = pts.total_bounds
        span_km = max((e - w) * 111.32 * math.cos(math.radians((s + n) / 2)), (n - s) * 110.57, 1.0)
        # H3 average edge length km at res r ~ 1281 / 2.6457**r
        target_edge = span_km / 40 / 1.73
        resolution = int(np.clip(round(math.log(1281.256 / max(target_edge, 1e-3), 2.6457)), 0, 12))
    lat, lon = pts.geometry.y.to_numpy(), pts.geometry.x.to_numpy()
    cells = [h3.latlng_to_cell(float(a), float(b), resolution) for a, b in zip(lat, lon, strict=True)]
    t = pd.to_numeric(pts[col], errors="coerce").to_numpy(float)
    pop = (pd.to_numeric(pts["population"], errors="coerce").fillna(0).to_numpy(float)
           if "population" in pts.columns else np.ones(len(pts)))
    df = pd.DataFrame({"h3_cell": cells, "t": t, "pop": pop})
    df = df[~np.isnan(df["t"])]
    if not len(df):
        return gpd.GeoDataFrame({"h3_cell": [], "travel_time_min": []}, geometry=[], crs=4326)
    df["w"] = np.where(df["pop"] > 0, df["pop"], 1e-6)
    df["tw"] = df["t"] * df["w"]
    agg = df.groupby("h3_cell").agg(tw=("tw", "sum"), w=("w", "sum"), population=("pop", "sum"),
                                    n_localities=("t", "size")).reset_index()
    agg["travel_time_min"] = (agg["tw"] / agg["w"]).round(1)
    polys = [shapely.Polygon([(b, a) for a, b in h3.cell_to_boundary(c)]) for c in agg["h3_cell"]]
    return gpd.GeoDataFrame(agg[["h3_cell", "travel_time_min", "population", "n_localities"]],
                            geometry=polys, crs=4326)


# --------------------------------------------------------------------------------------------
# the map


def make_map(localities: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame | None = None,
             corridors: gpd.GeoDataFrame | None = None,
             upgrades: gpd.GeoDataFrame | None = None, areas: gpd.GeoDataFrame | None = None,
             hubs: gpd.GeoDataFrame | None = None, hinterlands: gpd.GeoDataFrame | None = None,
             territories: gpd.GeoDataFrame | None = None,
             isochrones: gpd.GeoDataFrame | None = None, title: str = "territorial-gis study",
             self_contained: bool = False, top_upgrades: int = 10, precision: int = 6,
             tiles: str = "OpenStreetMap", surface_name: str | None = None,
             segments: gpd.GeoDataFrame | None = None, max_corridors: int | None = 500,
             simplify_m: float = 2.0) -> folium.Map:
    """Build an interactive map of a study.

    Parameters
    ----------
    localities
        Points (or polygons) with ``population``, ``travel_time_<tier>_min``, ``area_class``,
        ``mra_type``, ``class_reasons``, ``unreachable_reason`` (all optional except geometry).
    destinations
        Points with ``tier`` (one symbol per tier), ``name``, ``dest_id``, ``population``.
    corridors
        Lines with ``population_served`` (line width) and corridor attributes.
    upgrades
        Upgrade stretches (lines); the ``top_upgrades`` first by rank / score are highlighted.
    areas, hubs, hinterlands, territories
        Classified polygons, hub points, hub hinterlands and territory polygons.
    isochrones
        Travel-time surface: polygons with a time column (isochrone bands or hexagons, see
        :func:`make_hex_surface`), drawn as coloured bands.
    title
        Title shown on the map and in the page title.
    self_contained
        Default of :func:`write_map`: inline scripts and styles so the map works offline.
    top_upgrades
        How many upgrade stretches to highlight.
    precision
        Decimals of the coordinates written to the HTML (6 is about 0.1 m).
    tiles
        Basemap (folium / xyzservices name); ``None`` for no basemap.
    surface_name
        Name of the surface layer in the layer control.
    segments
        Corridor stretches (lines with ``population_served``), drawn hidden at start.
    max_corridors
        Draw only this many corridors, those serving most population (``None``: all); every
        corridor is a full path, so thousands of them would bloat the page. The stretches layer
        still shows every road used.
    simplify_m
        Tolerance (metres) to simplify lines and polygons before writing them.

    Returns
    -------
    folium.Map
        With a layer control, legend (``#tgis-legend``), scale bar, fullscreen button, fitted bounds.
    """
    from folium.plugins import Fullscreen

    loc = _to_4326(localities, "localities")
    if loc.empty:
        raise InputFileError("localities: no features to map")
    m = folium.Map(tiles=tiles, prefer_canvas=True, control_scale=True, zoom_start=9)
    m.tgis_self_contained = self_contained  # type: ignore[attr-defined]
    m.get_root().title = title  # type: ignore[attr-defined]
    m.add_child(_Runtime())
    legend: list[str] = []
    bounds = [loc.total_bounds]
    simplify = max(simplify_m / 111_320.0, 10.0 ** (-precision))

    if isochrones is not None and len(isochrones):
        iso = _to_4326(isochrones, "isochrones")
        tcol = find_time_column(iso)
        iso = iso.sort_values(tcol, ascending=False, kind="stable")
        tvals = pd.to_numeric(iso[tcol], errors="coerce")
        edges = make_band_edges(tvals.to_list())
        band = np.clip(np.searchsorted(edges, tvals.fillna(np.inf).to_numpy(), side="left"), 0,
                       len(BAND_COLORS) - 1)
        styles = [{"color": c, "weight": 0.5, "opacity": 0.6, "fill": c, "fillOpacity": 0.45}
                  for c in BAND_COLORS]
        name = surface_name or "Travel-time surface"
        fields = [(tcol, "Travel time", "min")] + [
            (c, c.replace("_", " "), "int") for c in ("population", "n_localities") if c in iso.columns]
        m.add_child(_polygon_layer(iso, name, band, styles, fields, precision, simplify))
        legend.append(f"<h4>{_esc(name)}</h4>")
        prev = 0.0
        for k, e in enumerate(edges[: len(BAND_COLORS)]):
            rng = f"\u2264 {e:g} min" if k == 0 else f"{prev:g}\u2013{e:g} min"
            legend.append(f'<div><span class="sw" style="background:{BAND_COLORS[k]}"></span>{rng}</div>')
            prev = e

    if territories is not None and len(territories):
        ter = _to_4326(territories, "territories").reset_index(drop=True)
        styles = [{"color": c, "weight": 2.0, "opacity": 0.9, "fill": c, "fillOpacity": 0.12}
                  for c in TERRITORY_COLORS]
        idx = np.arange(len(ter)) % len(TERRITORY_COLORS)
        fields = [(c, c.replace("_", " "), "int" if "population" in c else "text") for c in
                  ("territory_id", "name", "population", "n_localities") if c in ter.columns]
        m.add_child(_polygon_layer(ter, "Territories", idx, styles, fields, precision, simplify,
                                   titled=bool(fields)))
        legend.append('<h4>Territories</h4><div><span class="sw" style="background:#fff;border:2px solid '
                      f'{TERRITORY_COLORS[0]}"></span>{len(ter)} territories</div>')

    if hinterlands is not None and len(hinterlands):
        hin = _to_4326(hinterlands, "hinterlands")
        styles = [{"color": "#444444", "weight": 1.5, "opacity": 0.9, "fill": "#999999",
                   "fillOpacity": 0.08}]
        fields = [(c, c.replace("_", " "), "int" if "population" in c else "text") for c in
                  ("hub_id", "name", "population") if c in hin.columns]
        m.add_child(_polygon_layer(hin, "Hub hinterlands", np.zeros(len(hin), int), styles, fields,
                                   precision, simplify, show=False))

    if areas is not None and len(areas):
        ar = _to_4326(areas, "areas").reset_index(drop=True)
        m.add_child(_locality_layer(ar, "Areas", precision, {}))

    if corridors is not None and len(corridors):
        cor = _to_4326(corridors, "corridors")
        n_all = len(cor)
        if max_corridors is not None and n_all > max_corridors and "population_served" in cor.columns:
            cor = cor.sort_values("population_served", ascending=False, kind="stable").head(max_corridors)
            logger.info("map: drawing the %d of %d corridors serving most population", max_corridors, n_all)
        widths = _sqrt_scale(cor["population_served"], 2.0, 10.0) if "population_served" in cor.columns \
            else np.full(len(cor), 3.0)
        m.add_child(_line_layer(cor, "Corridors", widths, {"color": CORRIDOR_COLOR, "opacity": 0.75},
                                _CORRIDOR_FIELDS, precision, simplify))
        legend.append(f'<h4>Corridors</h4><div><span class="ln" style="border-top:2px solid {CORRIDOR_COLOR}">'
                      f'</span><span class="ln" style="border-top:8px solid {CORRIDOR_COLOR}"></span>'
                      'width \u221d population served</div>'
                      + (f'<div style="color:#555">top {len(cor):,} of {n_all:,} by population served</div>'
                         if len(cor) < n_all else ""))
        bounds.append(cor.total_bounds)

    if segments is not None and len(segments):
        seg = _to_4326(segments, "segments")
        widths = _sqrt_scale(seg["population_served"], 1.0, 8.0) if "population_served" in seg.columns \
            else np.full(len(seg), 2.0)
        m.add_child(_line_layer(seg, "Corridor stretches", widths, {"color": "#08519c", "opacity": 0.7},
                                _SEGMENT_FIELDS, precision, simplify, show=False))

    if upgrades is not None and len(upgrades) and isinstance(upgrades, gpd.GeoDataFrame):
        top = select_top_upgrades(_to_4326(upgrades, "upgrades"), top_upgrades)
        m.add_child(_line_layer(top, f"Top {len(top)} upgrade stretches", np.full(len(top), 7.0),
                                {"color": UPGRADE_COLOR, "opacity": 0.9, "dash": None},
                                _UPGRADE_FIELDS, precision, simplify))
        legend.append(f'<div><span class="ln" style="border-top:6px solid {UPGRADE_COLOR}"></span>'
                      f'top {len(top)} upgrade stretches</div>')

    counts: dict[str, int] = {}
    m.add_child(_locality_layer(loc, "Localities", precision, counts))
    legend.insert(0, "<h4>Localities</h4>" + "".join(
        f'<div class="tgis-class" data-class="{k}"><span class="sw dot" style="background:{CLASS_STYLES[k][1]}">'
        f'</span>{_esc(CLASS_STYLES[k][0])} ({counts[k]:,})</div>' for k in CLASS_STYLES if counts.get(k))
        + '<div style="color:#555">marker size \u221d population</div>')

    if destinations is not None and len(destinations):
        dst = _to_4326(destinations, "destinations")
        legend.append("<h4>Destinations</h4>")
        for layer, tier, symbol, color in _destination_layers(dst, precision):
            m.add_child(layer)
            legend.append(f'<div class="tgis-tier"><span class="sym" style="color:{color}">{symbol}</span>'
                          f'{_esc(tier.replace("_", " "))} ({layer.n_rows:,})</div>')
        bounds.append(dst.total_bounds)

    if hubs is not None and len(hubs):
        hb = _to_4326(hubs, "hubs").reset_index(drop=True)
        if (hb.geometry.geom_type != "Point").any():
            hb = hb.set_geometry(hb.geometry.representative_point())
        cols = [(c, _Field(c.replace("_", " "), "int" if "population" in c else "text")) for c in
                ("name", "hub_id", "population", "population_served") if c in hb.columns]
        lookups: dict[str, _Lookup] = {}
        rows = [[encode_geometry(hb.geometry.iat[i], precision), 0, 22] + _row_values(hb, i, cols, lookups)
                for i in range(len(hb))]
        m.add_child(CompactLayer("Hubs", "symbol", rows, [{"fill": "#e41a1c", "symbol": "\u2726",
                                                            "cls": "tgis-hub"}],
                                 _finish_fields(cols, lookups), titled=bool(cols)))
        legend.append('<h4>Hubs</h4><div><span class="sym" style="color:#e41a1c">\u2726</span>'
                      f'hub ({len(hb)})</div>')

    m.add_child(_Control(f'<div class="tgis-title-text">{_esc(title)}</div>', "tgis-title",
                         "tgis-title leaflet-control", "topleft"))
    m.add_child(_Control("".join(legend), "tgis-legend", "tgis-legend leaflet-control", "bottomright"))
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    Fullscreen(position="topleft").add_to(m)
    b = np.vstack(bounds)
    w, s = float(np.nanmin(b[:, 0])), float(np.nanmin(b[:, 1]))
    e, n = float(np.nanmax(b[:, 2])), float(np.nanmax(b[:, 3]))
    m.fit_bounds([[s, w], [n, e]], padding=(10, 10))
    return m


def render_map(m: folium.Map, self_contained: bool | None = None) -> str:
    """Return the HTML of a map, inlined when ``self_contained`` (default: the map's own setting)."""
    from ._html import inline_assets

    if self_contained is None:
        self_contained = bool(getattr(m, "tgis_self_contained", False))
    html = m.get_root().render()
    return inline_assets(html) if self_contained else html


def write_map(m: folium.Map, path: str | os.PathLike[str], self_contained: bool | None = None,
              overwrite: bool = False) -> Path:
    """Write a map to an HTML file atomically.

    Parameters
    ----------
    m
        A map from :func:`make_map` (or any folium map).
    path
        Output ``.html`` file.
    self_contained
        Inline Leaflet and plugin scripts and styles (works without internet, except tiles).
        ``None`` uses the setting given to :func:`make_map`.
    overwrite
        Replace an existing file.

    Returns
    -------
    Path
        The written file.
    """
    from ._io import atomic_output

    target = Path(path)
    html = render_map(m, self_contained)
    with atomic_output(target, overwrite=overwrite) as tmp:
        tmp.write_text(html, encoding="utf-8")
    logger.info("map written to %s (%.1f kB)", target, target.stat().st_size / 1e3)
    return target


def map_study(outputs_dir: str | os.PathLike[str], path: str | os.PathLike[str],
              self_contained: bool = False, overwrite: bool = False, title: str | None = None,
              surface_tier: str | None = None) -> Path:
    """Read a study outputs folder and write its interactive map.

    The travel-time surface is ``isochrones.gpkg`` when present, else hexagons of the travel time
    of ``surface_tier`` (default: the first tier) built from the localities (hidden at start).

    Raises
    ------
    InputFileError
        When the folder or its ``localities.gpkg`` is missing (nothing is written).
    """
    from ._io import atomic_output, check_outputs

    target = Path(path)
    check_outputs(target, overwrite=overwrite)
    so = load_study_outputs(outputs_dir)
    if title is None:
        title = str(so.study.get("title") or so.study.get("name") or f"Study {Path(outputs_dir).name}")
    iso = so.isochrones
    surface_name = None
    tiers = find_tiers(so.localities)
    if iso is None and tiers:
        tier = surface_tier or tiers[0]
        iso = make_hex_surface(so.localities, tier)
        surface_name = f"Travel time to {tier.replace('_', ' ')} (hexagons)"
    upgrades = so.upgrades if isinstance(so.upgrades, gpd.GeoDataFrame) else None
    m = make_map(so.localities, so.destinations, so.corridors, upgrades, so.areas, so.hubs,
                 so.hinterlands, so.territories, iso, title=title, self_contained=self_contained,
                 surface_name=surface_name, segments=so.segments)
    html = render_map(m, self_contained)
    with atomic_output(target, overwrite=overwrite) as tmp:
        tmp.write_text(html, encoding="utf-8")
    logger.info("map of %s written to %s (%.1f kB)", outputs_dir, target, target.stat().st_size / 1e3)
    return target
