"""The static maps of the report, drawn offline with matplotlib.

The same base map and colours as the interactive map (roads by class, rivers, boundaries,
destinations by tier and their names), with a legend, a scale bar and a north arrow, as PNGs the
report embeds, so the report stands alone when printed: the overview (areas or localities by
class, the top upgrades) and one map per scenario (each locality's change of travel time, the
places cut off, the roads changed).
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import pandas as pd
import shapely

from . import _style as st
from ._basemap import base_roads, place_labels
from ._i18n import Texts
from ._studymeta import population_known, upgrade_order
from .columns import POPULATION, TIER
from .outputs import StudyOutputs

WIDTH_IN, HEIGHT_IN, DPI = 7.2, 5.4, 150


def overview_png(study: StudyOutputs, tx: Texts, *, max_labels: int = 12) -> bytes:
    """The overview map of ``study`` as PNG bytes."""

    def draw(ax: Any, handles: list[Any]) -> None:
        _draw_classes(ax, study, handles, tx)
        _draw_upgrades(ax, study, handles, tx)

    return _figure(study, tx, draw, max_labels)


def scenario_png(study: StudyOutputs, name: str, tx: Texts, *, max_labels: int = 12) -> bytes | None:
    """The map of one scenario's change against the base as PNG bytes: each locality coloured
    as the interactive map colours it (red slower, blue faster), the places it cuts off marked
    with a cross, the roads it closes, upgrades or slows; None when it compares no tier."""
    from ._studymeta import cut_off_code, main_tier, scenario_tiers

    loc = study.scenario_localities.get(name)
    tiers = scenario_tiers(loc) if loc is not None else []
    tier = main_tier(study, tiers)
    if loc is None or tier is None:
        return None

    def draw(ax: Any, handles: list[Any]) -> None:
        _draw_changed_roads(ax, study.scenario_roads.get(name), handles, tx)
        _draw_change(ax, loc.to_crs(4326), tier, cut_off_code(study, name, loc), handles, tx)

    return _figure(study, tx, draw, max_labels)


def _figure(study: StudyOutputs, tx: Texts, draw: Any, max_labels: int) -> bytes:
    """A map of the study area: the base map, what ``draw(ax, handles)`` adds, the destinations,
    place names, a legend, a scale bar and a north arrow, as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    loc = study.localities.to_crs(4326) if study.localities.crs is not None else study.localities
    w, s, e, n = _extent(loc)
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.98))
    ax.set_facecolor(st.BACKGROUND)
    handles: list[Any] = []
    _draw_base(ax, study, handles, tx)
    draw(ax, handles)
    _draw_destinations(ax, study, handles, tx)
    ax.set_xlim(w, e)
    ax.set_ylim(s, n)
    _draw_labels(ax, study, max_labels)
    ax.set_aspect(1.0 / math.cos(math.radians((s + n) / 2)))
    ax.set_xticks([])
    ax.set_yticks([])
    _scale_bar(ax, w, s, e, n)
    ax.annotate("N", xy=(0.97, 0.95), xytext=(0.97, 0.87), xycoords="axes fraction",
                ha="center", va="center", fontsize=10, fontweight="bold",
                arrowprops={"arrowstyle": "-|>", "color": "#222"})
    if handles:
        leg = ax.legend(handles=handles, loc="lower left", fontsize=6.5, framealpha=0.92, borderpad=0.5,
                        handlelength=1.8)
        leg.get_frame().set_edgecolor("#999")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


def _extent(loc: Any) -> tuple[float, float, float, float]:
    w, s, e, n = (float(v) for v in loc.total_bounds)
    dx, dy = max(e - w, 1e-3) * 0.06, max(n - s, 1e-3) * 0.06
    w, e, s, n = w - dx, e + dx, s - dy, n + dy
    # keep the figure's aspect ratio so nothing is cut
    k = math.cos(math.radians((s + n) / 2))
    want = HEIGHT_IN / WIDTH_IN
    if (n - s) / ((e - w) * k) < want:
        c, half = (s + n) / 2, (e - w) * k * want / 2
        s, n = c - half, c + half
    else:
        c, half = (w + e) / 2, (n - s) / want / k / 2
        w, e = c - half, c + half
    return w, s, e, n


def _lines(ax: Any, geoms: Any, **kw: Any) -> None:
    from matplotlib.collections import LineCollection

    parts = shapely.get_parts(shapely.get_parts(np.asarray(geoms, dtype=object)))
    segs = [np.asarray(p.coords)[:, :2] for p in parts if p is not None and not p.is_empty
            and p.geom_type in ("LineString", "LinearRing")]
    if segs:
        ax.add_collection(LineCollection(segs, **kw))


def _polygons(ax: Any, geoms: Any, colors: Any, **kw: Any) -> None:
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Polygon as MplPolygon

    patches, fc = [], []
    for g, c in zip(geoms, colors, strict=True):
        if g is None or g.is_empty:
            continue
        for p in shapely.get_parts(g):
            if p.geom_type == "Polygon":
                patches.append(MplPolygon(np.asarray(p.exterior.coords)[:, :2], closed=True))
                fc.append(c)
    if patches:
        ax.add_collection(PatchCollection(patches, facecolor=fc, **kw))


def _draw_base(ax: Any, study: StudyOutputs, handles: list[Any], tx: Texts) -> None:
    from matplotlib.lines import Line2D

    if study.boundaries is not None and len(study.boundaries):
        g = study.boundaries.to_crs(4326).geometry.to_numpy()
        g = np.where(shapely.get_dimensions(g) == 2, shapely.boundary(g), g)
        _lines(ax, g, colors=st.BOUNDARY_COLOR, linewidths=0.9, linestyles=(0, (5, 3)), zorder=2)
        handles.append(Line2D([], [], color=st.BOUNDARY_COLOR, lw=0.9, ls="--", label=tx("administrative boundary")))
    if study.water is not None and len(study.water):
        wg = study.water.to_crs(4326).geometry.to_numpy()
        poly = shapely.get_dimensions(wg) == 2
        _polygons(ax, wg[poly], [st.WATER_FILL] * int(poly.sum()), edgecolor=st.WATER_COLOR, linewidths=0.4,
                  zorder=1)
        _lines(ax, wg[~poly], colors=st.WATER_COLOR, linewidths=0.9, zorder=1)
        handles.append(Line2D([], [], color=st.WATER_COLOR, lw=2, label=tx("river or lake")))
    roads = base_roads(study.read_roads())
    for cls, geom in zip(roads["road_class"], roads.geometry, strict=True):
        _hw, color, width, dash = st.ROAD_CLASSES[cls]
        _lines(ax, [geom], colors=color, linewidths=width * 0.45, zorder=3,
               linestyles=(0, (2, 2)) if dash else "solid")
    if len(roads):
        handles.append(Line2D([], [], color=st.ROAD_CLASSES["secondary roads"][1], lw=1.2, label=tx("Roads")))


def _draw_classes(ax: Any, study: StudyOutputs, handles: list[Any], tx: Texts) -> None:
    from matplotlib.patches import Patch

    areas = study.areas
    if areas is not None and len(areas):
        a = areas.to_crs(4326)
        keys = st.class_keys(a)
        _polygons(ax, a.geometry.to_numpy(), [st.CLASS_STYLES[k][1] for k in keys], alpha=0.55,
                  edgecolor="none", zorder=4)
        shown = pd.unique(keys)
    else:
        loc = study.localities.to_crs(4326)
        pts = loc.geometry.representative_point() if (loc.geometry.geom_type != "Point").any() else loc.geometry
        keys = st.class_keys(loc)
        rank = {k: i for i, k in enumerate(st.CLASS_DRAW_ORDER)}
        order = np.argsort([rank[k] for k in keys], kind="stable")
        size = np.full(len(loc), 9.0 if len(loc) < 3000 else 3.0)
        if population_known(loc):
            p = pd.to_numeric(loc[POPULATION], errors="coerce").fillna(0).to_numpy(float)
            size = 3 + 40 * np.sqrt(p / max(p.max(), 1))
        ax.scatter(pts.x.to_numpy()[order], pts.y.to_numpy()[order], s=size[order],
                   c=[st.CLASS_STYLES[k][1] for k in keys[order]], edgecolors="#333", linewidths=0.2, zorder=5)
        shown = pd.unique(keys)
    for k in st.CLASS_STYLES:
        if k in set(shown):
            handles.append(Patch(facecolor=st.CLASS_STYLES[k][1], edgecolor="#555", label=st.class_label(k, tx)))


def _draw_change(ax: Any, loc: Any, tier: str, cut: str, handles: list[Any], tx: Texts) -> None:
    """Localities coloured by the change of their time to ``tier`` (classes of the map)."""
    from matplotlib.lines import Line2D

    from .columns import change_col, status_col

    pts = loc.geometry.representative_point() if (loc.geometry.geom_type != "Point").any() else loc.geometry
    change = pd.to_numeric(loc[change_col(tier)], errors="coerce").to_numpy(float)
    status = loc[status_col(tier)].astype(object).to_numpy()
    edges = st.change_edges(change)
    cls = st.change_class(change, edges)
    both = (cls < 0) & (status != cut)
    order = np.argsort(np.nan_to_num(np.abs(change)), kind="stable")
    size = 26.0 if len(loc) < 3000 else 5.0
    x, y = pts.x.to_numpy(), pts.y.to_numpy()
    ok = order[cls[order] >= 0]
    ax.scatter(x[ok], y[ok], s=size, c=[st.DIVERGING[k] for k in cls[ok]], edgecolors="#444", linewidths=0.25,
               zorder=5)
    if both.any():
        ax.scatter(x[both], y[both], s=size, c=st.UNREACHED_COLOR, edgecolors="#444", linewidths=0.25, zorder=5)
    cut_sel = status == cut
    if cut_sel.any():
        ax.scatter(x[cut_sel], y[cut_sel], s=size * 3, marker="X", c=st.CUT_OFF_COLOR, edgecolors="white",
                   linewidths=0.5, zorder=7)
    labels = st.change_labels(edges, tx)
    for k in sorted(set(cls[cls >= 0].tolist())):
        handles.append(Line2D([], [], marker="o", ls="", ms=5, markerfacecolor=st.DIVERGING[k],
                              markeredgecolor="#444", label=labels[k]))
    if cut_sel.any():
        handles.append(Line2D([], [], marker="X", ls="", ms=6, color=st.CUT_OFF_COLOR,
                              label=tx(st.STATUS_TEXT.get(cut, cut))))
    if both.any():
        handles.append(Line2D([], [], marker="o", ls="", ms=5, markerfacecolor=st.UNREACHED_COLOR,
                              markeredgecolor="#444", label=tx("unreachable in both")))


def _draw_changed_roads(ax: Any, roads: Any, handles: list[Any], tx: Texts) -> None:
    """Roads a scenario closes (red dashed), upgrades (blue) or slows (light red)."""
    from matplotlib.lines import Line2D

    if roads is None or not len(roads) or "change" not in roads.columns:
        return
    r = roads.to_crs(4326)
    for code, color, width, style in (("slowed", st.DIVERGING[2], 0.9, "solid"),
                                      ("upgraded", st.DIVERGING[-1], 2.0, "solid"),
                                      ("closed", st.DIVERGING[0], 2.0, (0, (3, 1.5)))):
        sel = r["change"].astype(str).to_numpy() == code
        if sel.any():
            _lines(ax, r.geometry.to_numpy()[sel], colors=color, linewidths=width, linestyles=style, zorder=4)
            handles.append(Line2D([], [], color=color, lw=width, ls="--" if code == "closed" else "-",
                                  label=tx("road {what}", what=tx(st.ROAD_CHANGE_TEXT[code]))))


def _draw_upgrades(ax: Any, study: StudyOutputs, handles: list[Any], tx: Texts) -> None:
    from matplotlib.lines import Line2D

    up = study.upgrades
    if up is None or not len(up) or not hasattr(up, "geometry"):
        return
    top = upgrade_order(up.to_crs(4326), population_known(study.localities)).head(10)
    _lines(ax, top.geometry.to_numpy(), colors=st.UPGRADE_COLOR, linewidths=2.2, linestyles=(0, (3, 1.5)),
           zorder=6)
    handles.append(Line2D([], [], color=st.UPGRADE_COLOR, lw=2.2, ls="--",
                          label=tx("Top {n} road upgrades", n=len(top))))


def _draw_destinations(ax: Any, study: StudyOutputs, handles: list[Any], tx: Texts) -> None:
    from matplotlib.lines import Line2D

    d = study.destinations
    if d is None or not len(d):
        return
    d = d.to_crs(4326)
    tiers = [str(t) for t in pd.unique(d[TIER].astype(str))] if TIER in d.columns else ["destination"]
    markers = ("s", "^", "D", "*", "o", "p")
    for k, tier in enumerate(tiers):
        sub = d[d[TIER].astype(str) == tier] if TIER in d.columns else d
        pts = sub.geometry.representative_point()
        ax.scatter(pts.x, pts.y, marker=markers[k % len(markers)], s=46 if k == 0 else 26,
                   c=st.TIER_COLORS[k % len(st.TIER_COLORS)], edgecolors="white", linewidths=0.6, zorder=8)
        handles.append(Line2D([], [], marker=markers[k % len(markers)], ls="", ms=6,
                              color=st.TIER_COLORS[k % len(st.TIER_COLORS)], label=tx.tier(tier)))


def _draw_labels(ax: Any, study: StudyOutputs, max_labels: int) -> None:
    """The most important place names, skipping any that would overlap one already placed."""
    from matplotlib import patheffects

    labels = place_labels(study.destinations, study.localities, max_labels=4 * max_labels)
    halo = [patheffects.withStroke(linewidth=2.2, foreground="white")]
    w, e = ax.get_xlim()
    s, n = ax.get_ylim()
    fig_w, fig_h = WIDTH_IN * DPI, HEIGHT_IN * DPI
    placed: list[tuple[float, float, float, float]] = []
    for r in labels.itertuples():
        if len(placed) >= max_labels:
            break
        x = (r.lon - w) / (e - w) * fig_w
        y = (r.lat - s) / (n - s) * fig_h
        box = (x, y, x + 7.5 * len(r.name) + 8, y + 16)  # about 7.5 px per character at 7 pt, 150 dpi
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
            continue
        placed.append(box)
        ax.annotate(r.name, (r.lon, r.lat), xytext=(4, 3), textcoords="offset points",
                    fontsize=7.5 if r.major else 6.5, fontweight="bold" if r.major else "normal",
                    color="#222", path_effects=halo, zorder=9, annotation_clip=True)


def _scale_bar(ax: Any, w: float, s: float, e: float, n: float) -> None:
    from matplotlib import patheffects

    km_per_deg = 111.32 * math.cos(math.radians((s + n) / 2))
    span_km = (e - w) * km_per_deg
    nice = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000]
    length = max([v for v in nice if v <= span_km / 5] or [nice[0]])
    x0, y0 = e - (e - w) * 0.05 - length / km_per_deg, s + (n - s) * 0.04
    halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]
    ax.plot([x0, x0 + length / km_per_deg], [y0, y0], color="#222", lw=2.2, zorder=10, path_effects=halo,
            solid_capstyle="butt")
    ax.annotate(f"{length:g} km", (x0 + length / km_per_deg / 2, y0), xytext=(0, 4), textcoords="offset points",
                ha="center", fontsize=7, zorder=10, path_effects=halo)
