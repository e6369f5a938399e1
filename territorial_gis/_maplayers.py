"""The layers of the interactive map, one function each, over a study's outputs.

Each ``add_*`` function reads what it needs from a :class:`~territorial_gis.outputs.StudyOutputs`,
adds one (or a few) :class:`~territorial_gis._mapelements.CompactLayer` to the folium map and
the matching legend section, and records the bounds it covers. The functions are called by
:func:`territorial_gis.maps.make_map` from the bottom of the drawing order to the top.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import _style as st
from ._basemap import (
    base_roads,
    id_names,
    locality_labels,
    nearest_names,
    place_labels,
    stretch_names,
)
from ._i18n import Texts, minute_decimals, translate_reasons
from ._mapelements import (
    CompactLayer,
    Field,
    Lookup,
    encode_chain,
    encode_many,
    encode_points,
    esc,
    number,
)
from ._studymeta import upgrade_order
from .columns import (
    CLASS_REASONS,
    DEST_ID,
    HUB_ID,
    HUB_TIME_MIN,
    LOCALITY_ID,
    NAME,
    POPULATION,
    TERRITORY_ID,
    TIER,
    UNREACHABLE_REASON,
    reason_col,
    tiers_in,
    time_col,
)
from .errors import ColumnError, CRSError
from .outputs import StudyOutputs
from .rai import RAI_COL, RAI_DIST_COL, RURAL_COL

BASE_PANE = "tgis-base"


@dataclass
class MapContext:
    """What every layer function shares: language, precision, names, legend and bounds."""

    tx: Texts
    precision: int = 6
    simplify_deg: float = 2.0 / 111_320.0
    line_tolerance_deg: float = 0.0
    thresholds: dict[str, float] = field(default_factory=dict)
    population_known: bool = True
    surface_known: bool = True
    top_upgrades: int = 10
    max_corridors: int | None = 500
    cluster_above: int = 3000
    tiers: list[str] | None = None
    #: road pieces a scenario changes drawn at most (closures and upgrades first, then the most slowed)
    max_changed_roads: int = 20_000
    #: the distance of the Rural Access Index (metres), for the localities' popups
    rai_distance_m: float = 2000.0
    loc_names: dict[str, str] = field(default_factory=dict)
    dest_names: dict[str, str] = field(default_factory=dict)
    legend: list[tuple[int, str]] = field(default_factory=list)
    bounds: list[np.ndarray] = field(default_factory=list)
    order: itertools.count = field(default_factory=itertools.count)
    #: the layer-control section the layers added now belong to, and every layer's section
    group: str = ""
    groups: dict[str, str] = field(default_factory=dict)

    def add_legend(self, layer: str, title: str, rows: Sequence[str], note: str | None = None, *,
                   rank: int = 50) -> None:
        """A legend section for ``layer`` (shown while it is on the map); ``rank`` orders the
        sections (localities first, background last)."""
        body = "".join(f'<div class="row">{r}</div>' for r in rows)
        if note:
            body += f'<div class="note">{esc(note)}</div>'
        self.legend.append((rank, f'<div class="tgis-leg" data-layer="{esc(layer)}"><h4>{esc(title)}</h4>'
                                  f'{body}</div>'))

    def legend_html(self) -> str:
        """The legend sections in reading order."""
        return "".join(html for _r, html in sorted(self.legend, key=lambda x: x[0]))


# --------------------------------------------------------------------------------------------
# helpers


def to_4326(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """``gdf`` in EPSG:4326 (a frame without CRS must hold longitude/latitude)."""
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf:
        raise ColumnError(f"{what}: expected a GeoDataFrame with a geometry column")
    if gdf.crs is None:
        b = gdf.total_bounds
        if len(gdf) and not (np.all(np.abs(b[[0, 2]]) <= 180) and np.all(np.abs(b[[1, 3]]) <= 90)):
            raise CRSError(f"{what} has no CRS and its coordinates are not longitude/latitude")
        return gdf.set_crs(4326)
    if gdf.crs.to_epsg() == 4326:
        return gdf
    return gdf.to_crs(4326)


def sqrt_scale(values: Any, lo: float, hi: float) -> np.ndarray:
    """Sizes from ``lo`` to ``hi`` growing with the square root of non-negative ``values``
    (so a symbol's area follows the value); all ``lo`` when nothing is positive."""
    v = pd.to_numeric(pd.Series(values), errors="coerce").fillna(0).clip(lower=0).to_numpy(float)
    top = float(v.max()) if len(v) else 0.0
    if top <= 0:
        return np.full(len(v), lo)
    return np.round(lo + (hi - lo) * np.sqrt(v / top), 1)


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df.columns else pd.Series([None] * len(df), index=df.index, dtype=object)


def _num_col(df: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(_col(df, name), errors="coerce").to_numpy(float)


def encode_values(values: Any, f: Field) -> list[Any]:
    """The JSON values of one popup field: numbers rounded as the browser prints them (None when
    unknown), texts as indices into the field's lookup list."""
    if f.fmt in ("int", "num", "pct"):
        digits = {"int": 0, "num": 1 if f.dec is None else f.dec, "pct": (f.dec or 0) + 2}[f.fmt]
        v = pd.to_numeric(pd.Series(list(values) if not isinstance(values, pd.Series) else values,
                                    dtype=object), errors="coerce").to_numpy(float)
        finite = np.isfinite(v)
        r = np.round(v, digits)
        return [float(x) if k else None for x, k in zip(r.tolist(), finite.tolist(), strict=True)]
    arr = np.asarray(values.to_numpy(dtype=object) if isinstance(values, pd.Series) else list(values),
                     dtype=object)
    text = pd.Series(arr, dtype=object).where(pd.notna(pd.Series(arr, dtype=object)), None)
    strs = text.map(lambda x: None if x is None else str(x))
    blank = strs.isna() | (strs.str.strip() == "")
    codes, uniques = pd.factorize(strs.where(~blank, None), use_na_sentinel=True)
    f.lookup = [str(u) for u in uniques]
    return [int(c) if c >= 0 else None for c in codes.tolist()]


def minute_values(values: np.ndarray, thresholds: Sequence[float], unknown: Sequence[str | None] | str,
                  f: Field) -> list[Any]:
    """Travel times as the browser prints them (one decimal, more where they would print equal to
    a threshold); unknown ones point (negative) to their reason (``unknown``: one text, or one
    per value)."""
    v = np.asarray(values, float)
    out_arr = np.round(v, 1)
    for thr in thresholds:  # the few values that would read equal to their threshold
        for i in np.flatnonzero((out_arr == thr) & (v != thr)).tolist():
            out_arr[i] = round(float(v[i]), minute_decimals(float(v[i]), thresholds))
    out: list[Any] = out_arr.tolist()
    lk = Lookup()
    for i in np.flatnonzero(np.isnan(v)).tolist():
        why = unknown if isinstance(unknown, str) else unknown[i]
        out[i] = -(lk.index(why or "") + 1)
    f.lookup = lk.items
    return out


def _rows(geoms: Sequence[Any] | np.ndarray, styles: Sequence[int] | np.ndarray,
          sizes: Sequence[float] | np.ndarray, columns: Sequence[list[Any]], precision: int,
          delta: bool) -> list[list[Any]]:
    encoded = encode_many(geoms, precision) if delta else encode_points(geoms, precision)
    styles, sizes = np.asarray(styles).tolist(), np.asarray(sizes, float).tolist()
    return [[enc, int(styles[i]), sizes[i], *(c[i] for c in columns)]
            for i, enc in enumerate(encoded) if enc is not None]


def _simplified(gdf: gpd.GeoDataFrame, ctx: MapContext, *, polygons: bool) -> np.ndarray:
    geoms = gdf.geometry.to_numpy()
    tol = max(ctx.simplify_deg, ctx.line_tolerance_deg)
    if polygons and len(gdf):
        # areas: a tolerance of 2 % of the typical area's width keeps cells recognisable
        areas = shapely.area(geoms[~shapely.is_empty(geoms)])
        if len(areas):
            tol = max(tol, 0.02 * math.sqrt(float(np.median(areas))))
    return shapely.simplify(geoms, tol, preserve_topology=polygons)


def add(m: folium.Map, ctx: MapContext, layer: CompactLayer) -> CompactLayer:
    """Add a layer to the map, in the layer-control section of ``ctx.group``."""
    layer.group = layer.group or ctx.group
    if layer.group:
        ctx.groups[layer.layer_name] = layer.group
    m.add_child(layer)
    return layer


def _unknown_reason(df: pd.DataFrame, tier: str, tx: Texts) -> list[str | None]:
    """The reader's text of why each travel time to ``tier`` is unknown (None where it is known)."""
    own = _col(df, reason_col(tier)).to_numpy(dtype=object)
    generic = _col(df, UNREACHABLE_REASON).to_numpy(dtype=object)
    t = _num_col(df, time_col(tier))
    out: list[str | None] = [None] * len(df)
    for i in np.flatnonzero(np.isnan(t)).tolist():
        code = own[i] if st.present(own[i]) else _tier_code(generic[i], tier)
        out[i] = tx("unreachable ({why})", why=tx.why(code)) if code else tx("unreachable")
    return out


def _tier_code(value: Any, tier: str) -> str | None:
    """The reason of ``tier`` in a combined ``tier:reason; tier:reason`` value."""
    if not st.present(value):
        return None
    parts = [p.strip() for p in re.split(r"[;,]", str(value)) if p.strip()]
    for p in parts:
        t, _, code = p.partition(":")
        if code and t == tier:
            return code
    return parts[0] if len(parts) == 1 and ":" not in parts[0] else None


# --------------------------------------------------------------------------------------------
# base map


def add_roads(m: folium.Map, study: StudyOutputs, ctx: MapContext) -> None:
    """Roads of the study network by class, under everything (no popups)."""
    roads = base_roads(study.read_roads())
    if not len(roads):
        return
    tx = ctx.tx
    names = list(st.ROAD_CLASSES)
    styles = [{"color": st.ROAD_CLASSES[n][1], "opacity": 0.9, "dash": st.ROAD_CLASSES[n][3]}
              for n in names]
    idx = [names.index(c) for c in roads["road_class"]]
    widths = [st.ROAD_CLASSES[c][2] for c in roads["road_class"]]
    prec = min(ctx.precision, 5)
    rows = [[encode_chain(g, prec), i, w] for g, i, w in zip(roads.geometry, idx, widths, strict=True)]
    name = tx("Roads")
    add(m, ctx, CompactLayer(name, "line", rows, styles, precision=prec, order=next(ctx.order),
                              pane=BASE_PANE, interactive=False, extra={"chain": True}))
    legend = []
    for c in roads["road_class"]:
        _h, color, width, dash = st.ROAD_CLASSES[c]
        style = "dashed" if dash else "solid"
        legend.append(f'<span class="ln" style="border-top:{max(width, 1.5):.0f}px {style} {color}"></span>'
                      f'{esc(tx(c))}')
    ctx.add_legend(name, tx("Roads (study network)"), legend, rank=70)
    ctx.bounds.append(roads.total_bounds)


def add_water(m: folium.Map, study: StudyOutputs, ctx: MapContext) -> None:
    """Rivers, lakes and streams named by the study (``basemap.gpkg``), under everything."""
    if study.water is None or not len(study.water):
        return
    tx = ctx.tx
    w = to_4326(study.water, "water").reset_index(drop=True)
    polys = w.geometry.geom_type.str.contains("Polygon").to_numpy()
    geoms = _simplified(w, ctx, polygons=False)
    prec = min(ctx.precision, 5)
    for sel, kind, name, style, swatch in (
            (polys, "polygon", tx("Rivers and lakes"),
             {"color": st.WATER_COLOR, "weight": 0.8, "opacity": 0.9, "fill": st.WATER_FILL, "fillOpacity": 0.9},
             f'<span class="sw" style="background:{st.WATER_FILL};border-color:{st.WATER_COLOR}"></span>'
             f'{esc(tx("river or lake"))}'),
            (~polys, "line", tx("Streams"), {"color": st.WATER_COLOR, "opacity": 0.9},
             f'<span class="ln" style="border-top:2px solid {st.WATER_COLOR}"></span>{esc(tx("stream"))}')):
        rows = _rows(geoms[sel], np.zeros(int(sel.sum()), int), np.full(int(sel.sum()), 1.6), [], prec, True)
        if not rows:
            continue
        add(m, ctx, CompactLayer(name, kind, rows, [style], precision=prec, order=next(ctx.order),
                                  pane=BASE_PANE, interactive=False))
        ctx.add_legend(name, name, [swatch], rank=72)


def add_boundaries(m: folium.Map, study: StudyOutputs, ctx: MapContext) -> None:
    """Administrative boundaries named by the study (``basemap.gpkg``), as dashed outlines."""
    if study.boundaries is None or not len(study.boundaries):
        return
    b = to_4326(study.boundaries, "boundaries").reset_index(drop=True)
    geoms = _simplified(b, ctx, polygons=False)
    lines = np.where(shapely.get_dimensions(geoms) == 2, shapely.boundary(geoms), geoms)
    name = ctx.tx("Boundaries")
    rows = _rows(lines, np.zeros(len(b), int), np.full(len(b), 1.8), [], min(ctx.precision, 5), True)
    add(m, ctx, CompactLayer(name, "line", rows, [{"color": st.BOUNDARY_COLOR, "opacity": 0.9,
                                                     "dash": "6,4"}],
                              precision=min(ctx.precision, 5), order=next(ctx.order), pane=BASE_PANE,
                              interactive=False))
    ctx.add_legend(name, name, [f'<span class="ln" style="border-top:2px dashed {st.BOUNDARY_COLOR}"></span>'
                                f'{esc(ctx.tx("administrative boundary"))}'], rank=74)


def add_labels(m: folium.Map, study: StudyOutputs, ctx: MapContext) -> None:
    """Names of towns and destinations; the most important first, more as the reader zooms in."""
    labels = place_labels(study.destinations, study.localities)
    if not len(labels):
        return
    name = ctx.tx("Place names")
    rows = [[[round(float(r.lat), 5), round(float(r.lon), 5)], 0 if r.major else 1, int(r.rank), r.name]
            for r in labels.itertuples()]
    add(m, ctx, CompactLayer(name, "label", rows, [{"cls": "major"}, {"cls": "minor"}], precision=5,
                              order=next(ctx.order), interactive=False))
    ctx.add_legend(name, name, [], note=ctx.tx("Towns and destinations; more names appear as you zoom in."), rank=60)


# --------------------------------------------------------------------------------------------
# thematic layers


def add_surface(m: folium.Map, ctx: MapContext, surface: gpd.GeoDataFrame, *, tier: str | None,
                edges: Sequence[float], continuous: bool) -> None:
    """Travel-time surface: isochrone bands, or hexagons of a continuous time cut at ``edges``.

    The colours spread over the whole ramp whatever the number of bands; the layer and legend
    name the tier the times lead to.
    """
    tx = ctx.tx
    iso = to_4326(surface, "travel-time surface").reset_index(drop=True)
    tcol = find_time_column(iso)
    t = pd.to_numeric(iso[tcol], errors="coerce").to_numpy(float)
    if continuous:
        cuts = np.asarray(list(edges), float)
        band = np.searchsorted(cuts, np.nan_to_num(t, nan=np.inf), side="right")
        labels = st.band_labels(cuts, tx, open_end=True)
    else:
        cuts = np.asarray(sorted({float(v) for v in t if math.isfinite(v)}), float)
        band = np.searchsorted(cuts, np.nan_to_num(t, nan=np.inf), side="left")
        labels = st.band_labels(cuts, tx, open_end=False)
        labels[0] = f"\u2264 {tx.minutes_threshold(cuts[0])}" if len(cuts) else labels[0]
    colors = st.ramp_colors(len(labels))
    band = np.clip(band, 0, max(len(colors) - 1, 0))
    order = np.argsort(-np.nan_to_num(t, nan=np.inf), kind="stable")  # long times under short ones
    iso, band, t = iso.iloc[order].reset_index(drop=True), band[order], t[order]
    styles = [{"color": c, "weight": 0.4, "opacity": 0.7, "fill": c, "fillOpacity": 0.5} for c in colors]
    thr = [ctx.thresholds[tier]] if tier in ctx.thresholds else []
    f_time = Field(tx("Travel time"), "min")
    cols = [minute_values(t, thr, [tx("unreachable")] * len(t), f_time)]
    fields = [f_time]
    if continuous:
        for col, label in ((POPULATION, tx("Population")), ("n_localities", tx("Localities"))):
            if col in iso.columns:
                f = Field(label, "int")
                vals = iso[col] if (col != POPULATION or ctx.population_known) else [None] * len(iso)
                cols.append(encode_values(list(vals), f))
                fields.append(f)
    name = tx("Travel time to {tier}", tier=tx.tier(tier)) if tier else tx("Travel time")
    rows = _rows(_simplified(iso, ctx, polygons=True), band, np.ones(len(iso)), cols, ctx.precision, True)
    add(m, ctx, CompactLayer(name, "polygon", rows, styles, fields, show=False,
                              precision=ctx.precision, order=next(ctx.order)))
    kind = tx("hexagons, mean of the localities in each") if continuous else tx("isochrone bands")
    ctx.add_legend(name, name, [f'<span class="sw" style="background:{c}"></span>{esc(lab)}'
                                for c, lab in zip(colors, labels, strict=True)], note=kind, rank=50)


def find_time_column(gdf: pd.DataFrame) -> str:
    """The travel-time column of an isochrone or surface layer."""
    for c in ("travel_time_min", "threshold_min", "band_max_min", "time_max_min", "max_min", "minutes",
              "time_min"):
        if c in gdf.columns:
            return c
    cands = [c for c in gdf.columns if str(c).endswith("_min")]
    if not cands:
        raise ColumnError("isochrones: no travel-time column (e.g. 'travel_time_min' or '*_min') in "
                          f"columns {list(gdf.columns)}")
    return str(cands[0])


def add_classified(m: folium.Map, study: StudyOutputs, ctx: MapContext, gdf: gpd.GeoDataFrame,
                   *, name: str, show: bool = True, counts: dict[str, int] | None = None,
                   reasons: bool = True) -> None:
    """Localities (points) or areas (polygons) coloured by class, MRA drawn above FRA; with
    ``reasons`` the popups say why (areas leave them to their localities' popups)."""
    tx = ctx.tx
    g = to_4326(gdf, name)
    g = g[g.geometry.notna() & ~g.geometry.is_empty]
    keys = st.class_keys(g)
    rank = {k: i for i, k in enumerate(st.CLASS_DRAW_ORDER)}
    order = np.argsort([rank[k] for k in keys], kind="stable")
    g, keys = g.iloc[order].reset_index(drop=True), keys[order]
    style_keys = list(st.CLASS_STYLES)
    is_point = bool(len(g)) and bool((g.geometry.geom_type == "Point").all())
    styles = [{"color": "#333333", "weight": 0.6, "opacity": 0.9, "fill": st.CLASS_STYLES[k][1],
               "fillOpacity": 0.9} if is_point else
              {"color": st.CLASS_STYLES[k][1], "weight": 0.8, "opacity": 0.8, "fill": st.CLASS_STYLES[k][1],
               "fillOpacity": 0.4} for k in style_keys]
    big = len(g) > 5000
    if is_point and ctx.population_known and POPULATION in g.columns:
        sizes = sqrt_scale(g[POPULATION], 1.5 if big else 2.5, 7.0 if big else 10.0)
    else:
        sizes = np.full(len(g), (3.0 if big else 4.5) if is_point else 1.0)
    fields, cols = _classified_columns(g, ctx, reasons=reasons)
    idx = [style_keys.index(k) for k in keys]
    geoms = g.geometry.to_numpy() if is_point else _simplified(g, ctx, polygons=True)
    rows = _rows(geoms, idx, sizes, cols, ctx.precision, not is_point)
    extra = {}
    if is_point:
        extra = {"clusterAbove": ctx.cluster_above,
                 "clusterOrder": [style_keys.index(k) for k in reversed(st.CLASS_DRAW_ORDER)]}
    add(m, ctx, CompactLayer(name, "circle" if is_point else "polygon", rows, styles, fields, titled=True,
                              show=show, precision=ctx.precision, order=next(ctx.order), extra=extra))
    found = pd.Series(keys).value_counts().to_dict()
    if counts is not None:
        counts.update(found)
    legend = [f'<span class="sw{" dot" if is_point else ""}" style="background:{st.CLASS_STYLES[k][1]}"></span>'
              f'{esc(st.class_label(k, tx))} ({esc(tx.integer(found[k]))})'
              for k in st.CLASS_STYLES if found.get(k)]
    notes = []
    if is_point:
        notes.append(tx("Marker size shows population.") if ctx.population_known else
                     tx("Population unknown: all markers have the same size."))
        if len(g) > ctx.cluster_above:
            notes.append(tx("Where localities are dense they are grouped: the ring shows the share "
                            "of each class and the number counts localities. Zoom in to see them."))
    ctx.add_legend(name, name, legend, note=" ".join(notes) or None, rank=0 if is_point else 5)
    ctx.bounds.append(g.total_bounds)


def _classified_columns(g: gpd.GeoDataFrame, ctx: MapContext, *, reasons: bool = True
                        ) -> tuple[list[Field], list[list[Any]]]:
    """Popup fields of localities or areas: name, id, population, times, class and reasons."""
    tx = ctx.tx
    id_col = next((c for c in (LOCALITY_ID, "area_id", "place_id", "id") if c in g.columns), None)
    ids = pd.Series(g[id_col].astype(str).to_numpy(dtype=object) if id_col else np.arange(len(g)).astype(str),
                    dtype=object)
    own = _col(g, NAME).astype(object).reset_index(drop=True)
    named = own.notna() & (own.astype(str).str.strip() != "")
    names = own.astype(str).where(named, ids)
    pops = list(_col(g, POPULATION)) if ctx.population_known else [None] * len(g)
    fields = [Field(tx("Name")), Field(tx("ID")), Field(tx("Population"), "int")]
    cols = [encode_values(names, fields[0]), encode_values(ids, fields[1]), encode_values(pops, fields[2])]
    for tier in (ctx.tiers if ctx.tiers is not None else tiers_in(g)):
        f = Field(tx("Travel time to {tier}", tier=tx.tier(tier)), "min")
        thr = [ctx.thresholds[tier]] if tier in ctx.thresholds else []
        cols.append(minute_values(_num_col(g, time_col(tier)), thr, _unknown_reason(g, tier, tx), f))
        fields.append(f)
    if RAI_COL in g.columns:
        f = Field(tx("All-season road"), skip_null=True)
        fields.append(f)
        cols.append(encode_values(_all_season_text(g, ctx), f))
    f_cls, f_why = Field(tx("Class")), Field(tx("Why this class"))
    keys = st.class_keys(g)
    text_of = {k: st.short_class(k.split("-")[0] if k != "unclassified" else None,
                                 k.split("-")[1] if "-" in k else None, tx) for k in set(keys.tolist())}
    cls_text = [text_of[k] for k in keys]
    if not reasons:
        return fields + [f_cls], cols + [encode_values(cls_text, f_cls)]
    raw = _col(g, CLASS_REASONS).astype(object)
    codes, uniques = pd.factorize(raw.where(raw.notna(), None), use_na_sentinel=True)
    translated = [translate_reasons(u, tx) for u in uniques]
    why = [translated[c] if c >= 0 else None for c in codes.tolist()]
    cols += [encode_values(cls_text, f_cls), encode_values(why, f_why)]
    return fields + [f_cls, f_why], cols


def km_text(metres: float, tx: Texts) -> str:
    """A distance such as ``2 km`` or ``1.5 km``."""
    km = metres / 1000.0
    return f"{tx.number(km, 0 if float(km).is_integer() else 1)}\u00a0km"


def _all_season_text(g: pd.DataFrame, ctx: MapContext) -> list[str | None]:
    """Per locality, its distance to an all-season road as the Rural Access Index counts it."""
    tx = ctx.tx
    limit = km_text(ctx.rai_distance_m, tx)
    dist = _num_col(g, RAI_DIST_COL)
    within = _col(g, RAI_COL).to_numpy(dtype=object)
    rural = _col(g, RURAL_COL).to_numpy(dtype=object)
    out: list[str | None] = []
    for d, w, r in zip(dist, within, rural, strict=True):
        if not st.present(w):
            out.append(tx.unknown)
            continue
        yes = str(w).strip().lower() in ("true", "1", "1.0")
        text = tx("{distance} away (within {limit})", distance=km_text(d, tx), limit=limit) if yes and \
            math.isfinite(d) else tx("farther than {limit}", limit=limit)
        if st.present(r) and str(r).strip().lower() in ("false", "0", "0.0"):
            text += "; " + tx("urban: not counted in the index")
        out.append(text)
    return out


def _place_name(own: Any, ident: Any, near: tuple[str, float] | None, tx: Texts, what: str) -> str:
    """A readable name: the own name, else "<what> near <place>", else "<what> <id>"."""
    if st.present(own):
        return str(own)
    if near is not None:
        return tx("{what} near {place}", what=tx(what), place=near[0])
    return f"{tx(what)} {ident}"


def _per_group(loc: pd.DataFrame, key: str, time: str | None, ctx: MapContext) -> pd.DataFrame:
    """Localities, population, median and longest time per value of ``key`` of the localities."""
    if key not in loc.columns:
        return pd.DataFrame()
    df = pd.DataFrame({"key": loc[key].astype(object).map(lambda v: str(v) if st.present(v) else None),
                       "pop": pd.to_numeric(_col(loc, POPULATION), errors="coerce"),
                       "t": pd.to_numeric(_col(loc, time), errors="coerce") if time else np.nan})
    df = df[df["key"].notna()]
    g = df.groupby("key")
    out = pd.DataFrame({"n": g.size(), "pop": g["pop"].sum(min_count=1), "median": g["t"].median(),
                        "max": g["t"].max()})
    if not ctx.population_known:
        out["pop"] = np.nan
    return out


def add_territories(m: folium.Map, study: StudyOutputs, ctx: MapContext) -> None:
    """Functional territories, neighbours in different colours, named after their centre."""
    if study.territories is None or not len(study.territories):
        return
    tx = ctx.tx
    ter = to_4326(study.territories, "territories").reset_index(drop=True)
    ids = [str(v) for v in _col(ter, TERRITORY_ID)]
    unnamed = [not st.present(v) for v in _col(ter, "centre_name")]
    near = nearest_names(ter.geometry, [study.destinations, study.localities]) if any(unnamed) \
        else [None] * len(ter)
    names = [_place_name(own if st.present(own) else ctx.dest_names.get(i) or ctx.loc_names.get(i),
                         i, nb, tx, "Territory")
             for own, i, nb in zip(_col(ter, "centre_name"), ids, near, strict=True)]
    color = st.greedy_colors(list(ter.geometry), len(st.TERRITORY_COLORS))
    styles = [{"color": c, "weight": 2.0, "opacity": 0.9, "fill": c, "fillOpacity": 0.12}
              for c in st.TERRITORY_COLORS]
    stats = _per_group(study.localities, TERRITORY_ID, "travel_time_centre_min", ctx)
    pop = [stats["pop"].get(i, np.nan) if len(stats) else v for i, v in zip(ids, _col(ter, POPULATION), strict=True)]
    if not ctx.population_known:
        pop = [None] * len(ter)
    n_loc = [stats["n"].get(i) if len(stats) else v for i, v in zip(ids, _col(ter, "n_localities"), strict=True)]
    med = [stats["median"].get(i) if len(stats) else v
           for i, v in zip(ids, _col(ter, "median_time_centre_min"), strict=True)]
    linked = [_linked_text(a, b, tx) for a, b in zip(_col(ter, "linked_to_dynamic_market"),
                                                     _col(ter, "centre_travel_time_employment_min"), strict=True)]
    f_med = Field(tx("Median time to the centre"), "min")
    spec = [(names, Field(tx("Territory"))), (pop, Field(tx("Population"), "int")),
            (n_loc, Field(tx("Localities"), "int")), (med, f_med),
            (linked, Field(tx("Centre linked to an employment centre"), skip_null=True))]
    cols = [minute_values(pd.to_numeric(pd.Series(v, dtype=object), errors="coerce").to_numpy(float), [],
                          [tx.unknown] * len(ter), f) if f is f_med else encode_values(list(v), f)
            for v, f in spec]
    name = tx("Territories")
    rows = _rows(_simplified(ter, ctx, polygons=True), color, np.ones(len(ter)), cols, ctx.precision, True)
    add(m, ctx, CompactLayer(name, "polygon", rows, styles, [f for _v, f in spec], titled=True, show=False,
                              precision=ctx.precision, order=next(ctx.order)))
    shown = sorted(range(len(ter)), key=lambda i: names[i])
    legend = [f'<span class="sw" style="background:#fff;border:2px solid {st.TERRITORY_COLORS[color[i]]}"></span>'
              f'{esc(names[i])}' for i in shown[:25]]
    if len(ter) > 25:
        legend.append(esc(tx("and {n} more", n=tx.integer(len(ter) - 25))))
    ctx.add_legend(name, tx("Territories ({n})", n=tx.integer(len(ter))), legend,
                   note=tx("Neighbouring territories have different colours."), rank=40)


def _linked_text(linked: Any, minutes: Any, tx: Texts) -> str | None:
    if not st.present(linked):
        return None
    yes = str(linked).strip().lower() in ("true", "1", "1.0", "yes")
    if yes and st.present(minutes):
        return tx("yes, {minutes} away", minutes=tx.minutes(float(minutes)))
    return tx("yes") if yes else tx("no")


def add_hinterlands(m: folium.Map, study: StudyOutputs, ctx: MapContext, hub_names: dict[str, str]) -> None:
    """Hub hinterlands as outlines (hidden at start)."""
    if study.hinterlands is None or not len(study.hinterlands):
        return
    tx = ctx.tx
    hin = to_4326(study.hinterlands, "hinterlands").reset_index(drop=True)
    ids = [str(v) for v in _col(hin, HUB_ID)]
    stats = _per_group(study.localities, HUB_ID, HUB_TIME_MIN, ctx)
    spec = [([hub_names.get(i, i) for i in ids], Field(tx("Hinterland of"))),
            ([stats["n"].get(i) if len(stats) else v for i, v in zip(ids, _col(hin, "n_localities"), strict=True)],
             Field(tx("Localities"), "int")),
            ([(stats["pop"].get(i) if len(stats) else v) if ctx.population_known else None
              for i, v in zip(ids, _col(hin, POPULATION), strict=True)], Field(tx("Population"), "int"))]
    cols = [encode_values(list(v), f) for v, f in spec]
    styles = [{"color": st.HINTERLAND_COLOR, "weight": 1.5, "opacity": 0.9, "fill": "#999999",
               "fillOpacity": 0.06, "dash": "4,3"}]
    name = tx("Hub hinterlands")
    rows = _rows(_simplified(hin, ctx, polygons=True), np.zeros(len(hin), int), np.ones(len(hin)), cols,
                 ctx.precision, True)
    add(m, ctx, CompactLayer(name, "polygon", rows, styles, [f for _v, f in spec], titled=True, show=False,
                              precision=ctx.precision, order=next(ctx.order)))
    ctx.add_legend(name, name, [f'<span class="sw" style="background:#fff;border:1.5px dashed '
                                f'{st.HINTERLAND_COLOR}"></span>{esc(tx("area served by a hub"))}'], rank=42)


def hub_display_names(study: StudyOutputs, ctx: MapContext) -> dict[str, str]:
    """``hub_id -> readable name`` (the locality's name, else the nearest named place)."""
    hubs = study.hubs
    if hubs is None or not len(hubs) or HUB_ID not in hubs.columns:
        return {}
    hb = to_4326(hubs, "hubs")
    ids = [str(v) for v in hb[HUB_ID]]
    own = [ctx.loc_names.get(i) or (v if st.present(v) else None) for i, v in zip(ids, _col(hb, NAME), strict=True)]
    near = nearest_names(hb.geometry, [study.destinations, study.localities]) if not all(own) \
        else [None] * len(hb)
    return {i: _place_name(o, i, nb, ctx.tx, "Hub") for i, o, nb in zip(ids, own, near, strict=True)}


def _surface_or_unknown(shares: Any, known: Sequence[bool]) -> list[Any]:
    """Unpaved shares, unknown (None) where the share is 0 only because no surface is recorded."""
    out = []
    for v, k in zip(shares, known, strict=True):
        f = number(v, 4)
        out.append(None if f is None or (f == 0 and not k) else f)
    return out


def add_corridors(m: folium.Map, study: StudyOutputs, ctx: MapContext) -> None:
    """Suggested corridors, width by population served (by localities when it is unknown)."""
    if study.corridors is None or not len(study.corridors):
        return
    tx = ctx.tx
    cor = to_4326(study.corridors, "corridors")
    n_all = len(cor)
    if ctx.population_known and "population_served" in cor.columns:
        cor = cor.sort_values("population_served", ascending=False, kind="stable")
    elif "travel_time_min" in cor.columns:
        cor = cor.sort_values("travel_time_min", ascending=False, kind="stable")
    if ctx.max_corridors is not None:
        cor = cor.head(ctx.max_corridors)
    cor = cor.reset_index(drop=True)
    target_names = [ctx.dest_names.get(str(t), str(t)) for t in _col(cor, "target_id")]
    origins = locality_labels(study.localities, list(_col(cor, "origin_id")), study.destinations, tx)
    spec = [([origins.get(str(o), str(o)) for o in _col(cor, "origin_id")], Field(tx("From"))),
            (target_names, Field(tx("To"))),
            ([tx.tier(t) if st.present(t) else None for t in _col(cor, "target_tier")], Field(tx("Destination tier"))),
            (None, Field(tx("Travel time"), "min")),
            (list(_col(cor, "length_km")), Field(tx("Length (km)"), "num")),
            (_surface_or_unknown(_col(cor, "unpaved_share"), [ctx.surface_known] * len(cor)),
             Field(tx("Unpaved or track"), "pct")),
            (list(_col(cor, "population_served")) if ctx.population_known else [None] * len(cor),
             Field(tx("Population served"), "int")),
            (list(_col(cor, "offroad_km")), Field(tx("Off-road walk (km)"), "num", skip_null=True))]
    cols = []
    for vals, f in spec:
        if vals is None:
            cols.append(minute_values(_num_col(cor, "travel_time_min"), [], [tx.unknown] * len(cor), f))
        else:
            cols.append(encode_values(vals, f))
    widths = sqrt_scale(cor["population_served"], 2.0, 10.0) if ctx.population_known and \
        "population_served" in cor.columns else np.full(len(cor), 3.0)
    name = tx("Corridors")
    rows = _rows(_simplified(cor, ctx, polygons=False), np.zeros(len(cor), int), widths, cols,
                 ctx.precision, True)
    add(m, ctx, CompactLayer(name, "line", rows, [{"color": st.CORRIDOR_COLOR, "opacity": 0.75}],
                              [f for _v, f in spec], titled=True, precision=ctx.precision,
                              order=next(ctx.order)))
    legend = [f'<span class="ln" style="border-top:3px solid {st.CORRIDOR_COLOR}"></span>'
              f'{esc(tx("route from a marginal locality to its destination"))}']
    if ctx.population_known:
        note = tx("Line width shows the population served.")
        if len(cor) < n_all:
            note += " " + tx("The {n} of {total} corridors serving most people.",
                             n=tx.integer(len(cor)), total=tx.integer(n_all))
    else:
        note = tx("Population unknown: corridors are not ranked by people served; the {n} longest "
                  "trips are drawn.", n=tx.integer(len(cor)))
    ctx.add_legend(name, name, legend, note=note, rank=30)
    ctx.bounds.append(cor.total_bounds)


def add_stretches(m: folium.Map, study: StudyOutputs, ctx: MapContext, road_names: dict[Any, str]) -> None:
    """Road stretches used by the corridors, with road names (hidden at start)."""
    if study.segments is None or not len(study.segments):
        return
    tx = ctx.tx
    seg = to_4326(study.segments, "segments").reset_index(drop=True)
    weight = seg["population_served"] if ctx.population_known and "population_served" in seg.columns \
        else _col(seg, "n_localities")
    spec = [([road_names.get(s, tx("unnamed road")) for s in _col(seg, "stretch_id")], Field(tx("Road"))),
            ([tx.term("highway", h) if st.present(h) else None for h in _col(seg, "highway")], Field(tx("Road class"))),
            ([_surface_text(v, tx) for v in _col(seg, "surface")], Field(tx("Surface"))),
            (list(_col(seg, "length_km")), Field(tx("Length (km)"), "num")),
            (_surface_or_unknown(_col(seg, "unpaved_share"), [_surface_text(v, tx) != tx.unknown
                                                             for v in _col(seg, "surface")]),
             Field(tx("Unpaved or track"), "pct")),
            (list(_col(seg, "population_served")) if ctx.population_known else [None] * len(seg),
             Field(tx("Population served (marginal localities)"), "int")),
            (list(_col(seg, "n_localities")), Field(tx("Localities served"), "int"))]
    cols = [encode_values(v, f) for v, f in spec]
    name = tx("Corridor stretches")
    rows = _rows(_simplified(seg, ctx, polygons=False), np.zeros(len(seg), int), sqrt_scale(weight, 1.0, 8.0),
                 cols, ctx.precision, True)
    add(m, ctx, CompactLayer(name, "line", rows, [{"color": st.STRETCH_COLOR, "opacity": 0.85}],
                              [f for _v, f in spec], titled=True, show=False, precision=ctx.precision,
                              order=next(ctx.order)))
    basis = tx("population served") if ctx.population_known else tx("number of localities served")
    ctx.add_legend(name, name, [f'<span class="ln" style="border-top:4px solid {st.STRETCH_COLOR}"></span>'
                                f'{esc(tx("road used by the corridors"))}'],
                   note=tx("Line width shows the {basis}.", basis=basis), rank=34)


def _surface_text(v: Any, tx: Texts) -> str:
    if not st.present(v) or str(v).strip().lower() in ("unknown", "none", "nan"):
        return tx.unknown
    return tx.term("surface", str(v))


def add_upgrades(m: folium.Map, study: StudyOutputs, ctx: MapContext, road_names: dict[Any, str]) -> None:
    """The top road upgrades (by person-minutes saved, or by localities when population is unknown)."""
    up = study.upgrades
    if up is None or not len(up) or not isinstance(up, gpd.GeoDataFrame):
        return
    tx = ctx.tx
    top = upgrade_order(to_4326(up, "upgrades"), ctx.population_known).head(ctx.top_upgrades).reset_index(drop=True)
    rname = [road_names.get(s, tx("unnamed road")) for s in _col(top, "stretch_id")]
    title = [tx("Upgrade {rank}: {road}", rank=int(r), road=n) for r, n in zip(top["display_rank"], rname, strict=True)]
    speed = [tx("{now} \u2192 {after} km/h", now=tx.number(a, 0), after=tx.number(b, 0))
             if st.present(a) and st.present(b) else None
             for a, b in zip(_col(top, "speed_kph"), _col(top, "upgrade_speed_kph"), strict=True)]
    minutes = Field(tx("Largest time saved"), "min")
    spec: list[tuple[Any, Field]] = [
        (title, Field(tx("Upgrade"))),
        ([tx.term("highway", h) if st.present(h) else None for h in _col(top, "highway")], Field(tx("Road class now"))),
        ([tx.term("highway", h) if st.present(h) else None for h in _col(top, "upgrade_to")], Field(tx("Upgrade to"))),
        (speed, Field(tx("Speed"), skip_null=True)),
        ([_surface_text(v, tx) for v in _col(top, "surface")], Field(tx("Surface"))),
        (list(_col(top, "length_km")), Field(tx("Length (km)"), "num")),
        (list(_col(top, "person_min_saved_per_km")) if ctx.population_known else [None] * len(top),
         Field(tx("Person-minutes saved per km"), "int")),
        (list(_col(top, "n_localities_affected")), Field(tx("Localities with shorter trips"), "int")),
        (None, minutes)]
    cols = [minute_values(_num_col(top, "max_saved_min"), [], [tx.unknown] * len(top), f) if v is None
            else encode_values(v, f) for v, f in spec]
    name = tx("Top {n} road upgrades", n=len(top))
    rows = _rows(_simplified(top, ctx, polygons=False), np.zeros(len(top), int), np.full(len(top), 6.0),
                 cols, ctx.precision, True)
    add(m, ctx, CompactLayer(name, "line", rows, [{"color": st.UPGRADE_COLOR, "opacity": 0.9, "dash": "9,5",
                                                     "cap": "butt"}],
                              [f for _v, f in spec], titled=True, precision=ctx.precision,
                              order=next(ctx.order)))
    basis = tx("Ranked by person-minutes saved per km of road.") if ctx.population_known else \
        tx("Population unknown: ranked by the number of localities whose travel time falls.")
    ctx.add_legend(name, name, [f'<span class="ln" style="border-top:5px dashed {st.UPGRADE_COLOR}"></span>'
                                f'{esc(tx("road to upgrade"))}'], note=basis, rank=32)


def add_destinations(m: folium.Map, study: StudyOutputs, ctx: MapContext) -> None:
    """One symbol layer per destination tier (symbol and colour both differ between tiers)."""
    if study.destinations is None or not len(study.destinations):
        return
    tx = ctx.tx
    dst = to_4326(study.destinations, "destinations")
    dst = dst[dst.geometry.notna() & ~dst.geometry.is_empty]
    tiers = [str(t) for t in pd.unique(dst[TIER].astype(str))] if TIER in dst.columns else ["destination"]
    for k, tier in enumerate(tiers):
        sub = (dst[dst[TIER].astype(str) == tier] if TIER in dst.columns else dst).reset_index(drop=True)
        if (sub.geometry.geom_type != "Point").any():
            sub = sub.set_geometry(sub.geometry.representative_point())
        symbol, color = st.TIER_SYMBOLS[k % len(st.TIER_SYMBOLS)], st.TIER_COLORS[k % len(st.TIER_COLORS)]
        ids = [str(v) for v in _col(sub, DEST_ID)]
        names = [str(n) if st.present(n) else i for n, i in zip(_col(sub, NAME), ids, strict=True)]
        spec = [(names, Field(tx("Name"))), (ids, Field(tx("ID"))),
                ([tx.tier(tier)] * len(sub), Field(tx("Tier"))),
                (list(_col(sub, POPULATION)), Field(tx("Population"), "int", skip_null=True))]
        cols = [encode_values(v, f) for v, f in spec]
        style = {"fill": color, "symbol": symbol, "cls": "tgis-tier-" + re.sub(r"[^A-Za-z0-9_-]", "_", tier)}
        name = tx("Destinations: {tier}", tier=tx.tier(tier))
        rows = _rows(sub.geometry.to_numpy(), np.zeros(len(sub), int), np.full(len(sub), 18.0 if k == 0 else 15.0),
                     cols, ctx.precision, False)
        add(m, ctx, CompactLayer(name, "symbol", rows, [style], [f for _v, f in spec], titled=True,
                                  precision=ctx.precision, order=next(ctx.order)))
        ctx.add_legend(name, name, [f'<span class="sym" style="color:{color}">{symbol}</span>'
                                    f'{esc(tx.tier(tier))} ({esc(tx.integer(len(rows)))})'], rank=10 + k)
        ctx.bounds.append(sub.total_bounds)


def add_hubs(m: folium.Map, study: StudyOutputs, ctx: MapContext, hub_names: dict[str, str]) -> None:
    """Hub localities with the figures of their hinterland."""
    if study.hubs is None or not len(study.hubs):
        return
    tx = ctx.tx
    hb = to_4326(study.hubs, "hubs").reset_index(drop=True)
    if (hb.geometry.geom_type != "Point").any():
        hb = hb.set_geometry(hb.geometry.representative_point())
    ids = [str(v) for v in _col(hb, HUB_ID)]
    stats = _per_group(study.localities, HUB_ID, HUB_TIME_MIN, ctx)

    def stat(col: str, fallback: str) -> list[Any]:
        if len(stats):
            return [stats[col].get(i) for i in ids]
        return list(_col(hb, fallback))

    pop = stat("pop", "hinterland_population") if ctx.population_known else [None] * len(hb)
    f_med, f_max = Field(tx("Median time to the hub"), "min"), Field(tx("Longest time to the hub"), "min")
    spec: list[tuple[Any, Field]] = [
        ([hub_names.get(i, i) for i in ids], Field(tx("Hub"))), (ids, Field(tx("ID"))),
        (pop, Field(tx("Hinterland population"), "int")),
        (stat("n", "n_localities"), Field(tx("Localities in the hinterland"), "int")),
        (stat("median", "median_time_hub_min"), f_med), (stat("max", "max_time_hub_min"), f_max)]
    if ctx.population_known and "mra_population_share" in hb.columns:
        spec.append((list(hb["mra_population_share"]), Field(tx("Population in marginal areas"), "pct")))
    cols = [minute_values(pd.to_numeric(pd.Series(v, dtype=object), errors="coerce").to_numpy(float), [],
                          [tx.unknown] * len(hb), f) if f.fmt == "min" else encode_values(v, f) for v, f in spec]
    name = tx("Hubs")
    rows = _rows(hb.geometry.to_numpy(), np.zeros(len(hb), int), np.full(len(hb), 22.0), cols,
                 ctx.precision, False)
    add(m, ctx, CompactLayer(name, "symbol", rows, [{"fill": st.HUB_COLOR, "symbol": st.HUB_SYMBOL,
                                                       "cls": "tgis-hub"}],
                              [f for _v, f in spec], titled=True, precision=ctx.precision,
                              order=next(ctx.order)))
    ctx.add_legend(name, name, [f'<span class="sym" style="color:{st.HUB_COLOR}">{st.HUB_SYMBOL}</span>'
                                f'{esc(tx("hub locality"))} ({esc(tx.integer(len(rows)))})'], rank=20)


__all__ = ["MapContext", "add", "add_boundaries", "add_classified", "add_corridors", "add_destinations",
           "add_hinterlands", "add_hubs", "add_labels", "add_roads", "add_stretches", "add_surface",
           "add_territories", "add_upgrades", "add_water", "find_time_column", "hub_display_names",
           "id_names", "stretch_names", "to_4326", "upgrade_order"]
