"""The building blocks of the interactive map: compact geometry encoding, popup fields, and the
folium elements that ship the territorial-gis browser runtime (``templates/tgis-map.js`` and
``tgis-map.css``, always inlined) and the layers built from compact JSON rows.

Every data layer is one JSON object: styles, popup fields (label and number format) and rows
``[geometry, style index, size, popup values...]``; repeated strings are stored once (a lookup
list per field), lines and polygons as delta-encoded integer coordinates. Popups are built in
the browser only when opened, with the number symbols of the map's language.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from branca.element import MacroElement
from folium.map import Layer
from folium.template import Template

# --------------------------------------------------------------------------------------------
# geometry encoding


def _ring(coords: np.ndarray, precision: int) -> list[list[float]]:
    # Leaflet wants [lat, lon]
    return [[round(float(y), precision), round(float(x), precision)] for x, y in coords[:, :2]]


def encode_geometry(geom: Any, precision: int = 6) -> Any:
    """Encode a shapely geometry as nested ``[lat, lon]`` lists for Leaflet.

    Points give ``[lat, lon]``, (multi)lines a list of vertices (or of parts), (multi)polygons a
    list of rings (or of polygons). Returns ``None`` for empty or missing geometries.
    """
    if geom is None or geom.is_empty:
        return None
    gt = geom.geom_type
    if gt == "Point":
        return [round(geom.y, precision), round(geom.x, precision)]
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
        return [round(p.y, precision), round(p.x, precision)]
    if gt == "GeometryCollection":
        parts = [g for g in geom.geoms if not g.is_empty]
        return encode_geometry(parts[0], precision) if parts else None
    return None


def _delta(coords: np.ndarray, scale: float, start: np.ndarray | None = None) -> list[int]:
    q = np.round(np.asarray(coords, float)[:, [1, 0]] * scale).astype(np.int64)  # [lat, lon]
    d = q.copy()
    if len(q) > 1:
        d[1:] = np.diff(q, axis=0)
    if start is not None and len(q):
        d[0] = q[0] - start
    return [int(v) for v in d.ravel()]


def encode_chain(geom: Any, precision: int = 6) -> list[list[int]] | None:
    """Encode the parts of a (multi)line like :func:`encode_delta`, but each part's first vertex
    as the difference to the previous part's last one (the browser decodes them in order), which
    keeps a road network of thousands of short pieces small."""
    import shapely

    if geom is None or geom.is_empty:
        return None
    _typ, coords, offsets = shapely.to_ragged_array([geom])
    q = np.round(coords[:, [1, 0]] * 10.0 ** precision).astype(np.int64)  # [lat, lon]
    d = q.copy()
    d[1:] -= q[:-1]
    flat = d.ravel().tolist()
    bounds = offsets[0].tolist()
    return [flat[2 * a:2 * b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def encode_delta(geom: Any, precision: int = 6) -> list[Any] | None:
    """Encode a (multi)line or (multi)polygon compactly for the browser.

    Coordinates become integers (degrees x ``10**precision``), each vertex stored as the
    difference to the previous one in a flat ``[lat0, lon0, dlat1, dlon1, ...]`` array. Lines
    give a list of parts; polygons a list of polygons, each a list of rings. The browser runtime
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
        out: list[Any] = []
        for p in parts:
            enc = encode_delta(p, precision)
            if enc:
                out.extend(enc)
        return out or None
    return None


def encode_many(geoms: Any, precision: int = 6) -> list[Any]:
    """:func:`encode_delta` of many (multi)lines or many (multi)polygons at once (vectorised);
    None for missing or empty geometries."""
    import shapely

    arr = np.asarray(geoms, dtype=object)
    out: list[Any] = [None] * len(arr)
    ok = np.asarray([g is not None for g in arr], bool)
    ok[ok] = ~shapely.is_empty(arr[ok])
    sub = arr[ok]
    if not len(sub):
        return out
    types = set(shapely.get_type_id(sub).tolist())
    if not (types <= {1, 5} or types <= {3, 6}):  # lines, or polygons; else one by one
        return [encode_delta(g, precision) if k else None for g, k in zip(arr, ok, strict=True)]
    typ, coords, offsets = shapely.to_ragged_array(sub)
    q = np.round(coords[:, [1, 0]] * 10.0 ** precision).astype(np.int64)  # [lat, lon]
    starts = offsets[0][:-1]
    d = q.copy()
    d[1:] -= q[:-1]
    d[starts] = q[starts]
    flat = d.ravel().tolist()

    def split(items: list[Any], bounds: np.ndarray) -> list[Any]:
        b = bounds.tolist()
        return [items[x:y] for x, y in zip(b[:-1], b[1:], strict=True)]

    parts: list[Any] = [flat[2 * a:2 * b] for a, b in zip(offsets[0][:-1].tolist(), offsets[0][1:].tolist(),
                                                          strict=True)]
    kind = int(typ)
    if kind in (3, 6):  # rings -> polygons
        parts = split(parts, offsets[1])
    # parts (lines or polygons) -> geometries; a single line or polygon is one part
    encoded = split(parts, offsets[-1]) if kind in (5, 6) else [[p] for p in parts]
    for i, enc in zip(np.flatnonzero(ok).tolist(), encoded, strict=True):
        out[i] = enc or None
    return out


def encode_points(geoms: Any, precision: int = 6) -> list[Any]:
    """``[lat, lon]`` of many points (a representative point of other shapes); None when empty."""
    import shapely

    arr = np.asarray(geoms, dtype=object)
    ok = np.asarray([g is not None for g in arr], bool)
    ok[ok] = ~shapely.is_empty(arr[ok])
    out: list[Any] = [None] * len(arr)
    if ok.any():
        pts = arr[ok]
        not_point = shapely.get_type_id(pts) != 0
        if not_point.any():
            pts = pts.copy()
            pts[not_point] = shapely.point_on_surface(pts[not_point])
        xy = np.round(shapely.get_coordinates(pts)[:, [1, 0]], precision).tolist()
        for i, ll in zip(np.flatnonzero(ok).tolist(), xy, strict=True):
            out[i] = ll
    return out


def json_for_script(obj: Any) -> str:
    """JSON text safe to embed in a ``<script>`` element (and in a folium template: ``{{``,
    ``{%`` and ``{#`` only occur inside JSON strings, where they are written escaped)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    text = text.replace("{{", "{\\u007b").replace("{%", "{\\u0025").replace("{#", "{\\u0023")
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


# --------------------------------------------------------------------------------------------
# popup fields


@dataclass
class Field:
    """A popup field: its label, how the browser formats it (``text``, ``int``, ``num``,
    ``min``, ``pct``), and options (decimals, skip when empty, text for an empty value)."""

    label: str
    fmt: str = "text"
    lookup: list[str] | None = None
    dec: int | None = None
    skip_null: bool = False
    none: str | None = None

    def spec(self) -> dict[str, Any]:
        d: dict[str, Any] = {"label": self.label, "fmt": self.fmt}
        if self.lookup is not None:
            d["lookup"] = self.lookup
        if self.dec is not None:
            d["dec"] = self.dec
        if self.skip_null:
            d["skipNull"] = True
        if self.none is not None:
            d["none"] = self.none
        return d


class Lookup:
    """Store repeated strings once: values become indices into a list."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._index: dict[str, int] = {}

    def index(self, s: str) -> int:
        if s not in self._index:
            self._index[s] = len(self.items)
            self.items.append(s)
        return self._index[s]


def number(v: Any, digits: int = 1) -> float | None:
    """A finite number rounded to ``digits`` (what the browser prints), else None."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    if math.isnan(f) or math.isinf(f):
        return None
    return round(f, digits) if digits else float(round(f))


# --------------------------------------------------------------------------------------------
# folium elements


@cache
def _asset(name: str) -> str:
    return (resources.files("territorial_gis") / "templates" / name).read_text(encoding="utf-8")


class Runtime(MacroElement):
    """The territorial-gis styles, number symbols and browser runtime, inlined in the page head."""

    _template = Template("""
        {% macro header(this, kwargs) %}
        <style>{{ this.css }}</style>
        <script>var TGIS = {{ this.config }};
        {{ this.js }}</script>
        {% endmacro %}
        """)

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self._name = "TgisRuntime"
        self.css = _asset("tgis-map.css")
        self.js = _asset("tgis-map.js").replace("</script", "<\\/script")
        self.config = json_for_script(config)


class CompactLayer(Layer):
    """A Leaflet layer built in the browser from a compact JSON object (see module docstring).

    ``size`` in each row is the radius of circles, the font size of symbols, the width of lines
    or the rank of a place name.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = tgisLayer({{ this._parent.get_name() }}, {{ this.placeholder }});
        {% endmacro %}
        """)

    def __init__(self, name: str, kind: str, rows: list[list[Any]], styles: list[dict[str, Any]],
                 fields: Sequence[Field] = (), *, titled: bool = False, show: bool = True,
                 precision: int = 6, order: int = 0, pane: str | None = None,
                 interactive: bool = True, note: str | None = None,
                 extra: dict[str, Any] | None = None, group: str | None = None) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "CompactLayer"
        self.kind = kind
        self.n_rows = len(rows)
        self.layer_data: dict[str, Any] = {
            "name": name, "kind": kind, "titled": titled, "styles": styles, "scale": 10 ** precision,
            "fields": [f.spec() for f in fields], "rows": rows, "order": order,
            "interactive": interactive}
        if pane:
            self.layer_data["pane"] = pane
        if note:
            self.layer_data["note"] = note
        self.layer_data.update(extra or {})
        self.group = group
        # the data is put in after folium has rendered the page (see fill_data): folium parses
        # every script as a template, which takes seconds on megabytes of data
        self.placeholder = f"__tgis_data_{self.get_name()}__"

    @property
    def data_json(self) -> str:
        """The layer's JSON object, as written into the page."""
        return json_for_script(self.layer_data)


def fill_data(html: str, root: Any) -> str:
    """Put the data of every :class:`CompactLayer` under ``root`` in place of its placeholder."""
    stack = [root]
    while stack:
        el = stack.pop()
        if isinstance(el, CompactLayer):
            html = html.replace(el.placeholder, el.data_json, 1)
        stack.extend(getattr(el, "_children", {}).values())
    return html


class Control(MacroElement):
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
        self.html_json = json_for_script(html)
        self.element_id = element_id
        self.css_class = css_class
        self.position = position


class Finish(MacroElement):
    """Wires the legend to the layer control, watches the tiles and records the start zoom."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            (function (map) {
                tgisLegendSync(map, {{ this.control.get_name() }}_layers.overlays);
                tgisGroupControl({{ this.control.get_name() }}, {{ this.groups_json }});
                {% if this.tiles %}tgisWatchTiles(map, {{ this.tiles.get_name() }}, {{ this.notice_json }});{% endif %}
                map.whenReady(function () { map._tgisZoom0 = map.getZoom(); });
                {% if this.attribution %}if (map.attributionControl) map.attributionControl.addAttribution({{ this.attribution_json }});{% endif %}
                window.tgisMap = map;
            })({{ this._parent.get_name() }});
        {% endmacro %}
        """)

    def __init__(self, control: MacroElement, tiles: Layer | None, notice: str,
                 attribution: str = "", groups: dict[str, Any] | None = None) -> None:
        super().__init__()
        self._name = "TgisFinish"
        self.control = control
        self.tiles = tiles
        self.notice_json = json_for_script(notice)
        self.attribution = attribution
        self.attribution_json = json_for_script(attribution)
        self.groups_json = json_for_script(groups or {})


def esc(s: Any) -> str:
    """HTML-escaped text."""
    import html

    return html.escape(str(s), quote=True)
