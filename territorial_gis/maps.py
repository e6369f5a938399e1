"""Interactive HTML maps of a study (Leaflet, through folium), offline by default.

:func:`make_map` draws a study (:class:`~territorial_gis.outputs.StudyOutputs`) layer by layer
(:mod:`territorial_gis._maplayers`, one function per layer), bottom to top:

- a **base map from the study's own data**, so the map reads with no background tiles: roads
  by class from the network, rivers, lakes and boundaries where the study names them, and the
  names of towns and destinations (more appear as the reader zooms in);
- the **travel-time surface** (isochrone bands, or hexagons over the study's own bands) named
  after the tier it measures, the classified **areas**, **territories** (neighbours in different
  colours, named after their centre) and **hub hinterlands**;
- **corridors**, the road **stretches** they use (with road names) and the **top upgrades**;
- **localities** coloured by class (MRA drawn above FRA; dense layers grouped into
  class-coloured clusters until the reader zooms in), **destinations** by tier and **hubs**;
- hidden at first, each in a section of its own in the layer control: the **Rural Access
  Index** buffer and each **scenario** (:mod:`territorial_gis._whatifmap`), the **critical
  road stretches** and the localities their failure cuts off, the **chosen road projects**,
  **microregions** with their CECs and one layer per **typology**
  (:mod:`territorial_gis._analysismap`).

Background tiles are an optional layer; a notice says when they cannot load. Every visible
layer has a legend section; colours are colour-blind safe (:mod:`territorial_gis._style`).
Popups, legend and labels are in the map's language (``lang``: English, Spanish or
Portuguese, :mod:`territorial_gis._i18n`), and print minutes exactly as the class reasons and
the report do. Unknown values read "unknown", never 0.

:func:`write_map` / :func:`render_map` write self-contained HTML (Leaflet and its plugin inlined
from the vendored copies, :mod:`territorial_gis._html`) unless ``cdn=True``; :func:`map_study`
reads a study outputs folder and does both.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import _analysismap as al
from . import _maplayers as ml
from . import _whatifmap as wl
from ._i18n import texts
from ._mapelements import (
    CompactLayer,
    Control,
    Field,
    Finish,
    Runtime,
    encode_delta,
    encode_geometry,
    esc,
    fill_data,
)
from ._studymeta import population_known, study_bands, study_tiers, surface_known, tier_thresholds
from ._style import CLASS_STYLES, classify_key, short_class
from .columns import POPULATION, tiers_in, time_col
from .errors import ColumnError, InputFileError
from .outputs import StudyOutputs, load_study_outputs

logger = logging.getLogger(__name__)

__all__ = ["CLASS_STYLES", "CompactLayer", "Field", "StudyOutputs", "classify_key", "encode_delta",
           "encode_geometry", "find_tiers", "format_class", "load_study_outputs", "make_hex_surface",
           "make_map", "map_study", "render_map", "write_map"]

#: place names shown at the start zoom (more appear as the reader zooms in)
LABELS_AT_START = 12
#: lines and polygons are simplified by at least this share of the region's diagonal (about a
#: pixel at the start zoom)
LINE_SIMPLIFY_SHARE = 1e-4


def find_tiers(df: pd.DataFrame) -> list[str]:
    """The tiers of the ``travel_time_<tier>_min`` columns of ``df``, in column order."""
    return tiers_in(df)


def format_class(area_class: Any, mra_type: Any, lang: str | None = None) -> str:
    """Short text of a class, e.g. ``"MRA (isolated)"``, ``"FRA"`` or ``"not classified"``."""
    return short_class(area_class, mra_type, texts(lang))


def _as_study(study: StudyOutputs | gpd.GeoDataFrame) -> StudyOutputs:
    if isinstance(study, StudyOutputs):
        return study
    if isinstance(study, gpd.GeoDataFrame):
        return StudyOutputs(localities=study)
    raise ColumnError("make_map: expected StudyOutputs or a GeoDataFrame of localities, got "
                      f"{type(study).__name__}")


def make_map(study: StudyOutputs | gpd.GeoDataFrame, *, title: str | None = None,
             lang: str | None = None, cdn: bool = False, tiles: str | None = "OpenStreetMap",
             top_upgrades: int = 10, precision: int = 6, max_corridors: int | None = 500,
             simplify_m: float = 2.0, surface_tier: str | None = None,
             thresholds_min: dict[str, float] | None = None, cluster_above: int = 3000) -> folium.Map:
    """Build the interactive map of a study.

    Parameters
    ----------
    study
        The study's layers (:class:`~territorial_gis.outputs.StudyOutputs`; only ``localities`` is
        required), or a GeoDataFrame of localities alone.
    title
        Title on the map and of the page (default: the study's title).
    lang
        ``"en"``, ``"es"`` or ``"pt"`` (default ``settings.lang``).
    cdn
        Default of :func:`render_map`: link Leaflet from its CDN instead of inlining it.
    tiles
        Background tiles (folium / xyzservices name), an optional layer; None for none.
    top_upgrades
        How many upgrade stretches to draw.
    precision
        Decimals of the coordinates written (6 is about 0.1 m).
    max_corridors
        Draw only this many corridors (those serving most people; the longest trips when
        population is unknown). None: all.
    simplify_m
        Tolerance (metres) to simplify lines and polygons (areas: at least 2 % of a typical area's width).
    surface_tier
        Tier of the travel-time hexagons drawn when the study has no isochrones (default: the first).
    thresholds_min
        ``tier -> access threshold (minutes)`` of the classification; by default read from the
        study (``study.json``) or the localities' rules. Times that would print equal to their
        threshold get the decimals the class reasons give them.
    cluster_above
        Localities in view above which they are grouped into class-coloured clusters.

    Returns
    -------
    folium.Map
        With a layer control, a legend (``#tgis-legend``), scale bar, fullscreen button and the
        view fitted to the study.
    """
    from folium.plugins import Fullscreen

    so = _as_study(study)
    loc = ml.to_4326(so.localities, "localities")
    if loc.empty:
        raise InputFileError("localities: no features to map")
    so.localities = loc
    tx = texts(lang)
    w, s, e, n = loc.total_bounds
    diagonal = float(np.hypot(e - w, n - s))
    ctx = ml.MapContext(
        tx=tx, precision=precision, simplify_deg=max(simplify_m / 111_320.0, 10.0 ** (-precision)),
        thresholds=dict(thresholds_min) if thresholds_min is not None else tier_thresholds(so),
        population_known=population_known(loc),
        surface_known=surface_known(so.read_roads()) or surface_known(so.segments),
        line_tolerance_deg=diagonal * LINE_SIMPLIFY_SHARE,
        top_upgrades=top_upgrades, max_corridors=max_corridors, cluster_above=cluster_above,
        tiers=study_tiers(so), loc_names=ml.id_names(loc), dest_names=ml.id_names(so.destinations),
        rai_distance_m=wl.rai_distance_m(so))
    title = title or so.title or tx("Territorial study")
    m = folium.Map(tiles=None, prefer_canvas=True, control_scale=True, zoom_start=9)
    m.tgis_cdn = cdn  # type: ignore[attr-defined]
    m.tgis_lang = tx.lang  # type: ignore[attr-defined]
    m.get_root().title = title  # type: ignore[attr-defined]
    m.add_child(Runtime({**tx.js(), "labelsAtStart": LABELS_AT_START}))
    tile_layer = _add_tiles(m, ctx, tiles)
    _add_layers(m, so, ctx, surface_tier)
    m.add_child(Control(f'<div class="tgis-title-text">{esc(title)}</div>', "tgis-title",
                        "tgis-title leaflet-control", "topleft"))
    m.add_child(Control(ctx.legend_html(), "tgis-legend", "tgis-legend leaflet-control", "bottomright"))
    control = folium.LayerControl(collapsed=False, position="topright")
    control.add_to(m)
    Fullscreen(position="topleft").add_to(m)
    b = np.vstack(ctx.bounds)
    w, s = float(np.nanmin(b[:, 0])), float(np.nanmin(b[:, 1]))
    e, n = float(np.nanmax(b[:, 2])), float(np.nanmax(b[:, 3]))
    # room on the right for the layer control and the legend
    m.fit_bounds([[s, w], [n, e]], padding_top_left=(10, 10), padding_bottom_right=(300, 10))
    m.add_child(Finish(control, tile_layer, tx("Background tiles could not be loaded (no internet?). "
                                               "The roads, rivers and places drawn come from the "
                                               "study's own data."), _attribution(so),
                       groups={"groups": ctx.groups, "order": _group_order(ctx)}))
    return m


def _group_order(ctx: ml.MapContext) -> list[str]:
    """Sections of the layer control: the study first, what-ifs and other analyses after it in
    the order they were drawn, the base map last."""
    tx = ctx.tx
    base, study = tx("Base map"), tx("Study")
    rest = list(dict.fromkeys(g for g in ctx.groups.values() if g not in (base, study)))
    return [study, *rest, base]


def _add_tiles(m: folium.Map, ctx: ml.MapContext, tiles: str | None) -> folium.TileLayer | None:
    if not tiles:
        return None
    tx = ctx.tx
    name = tx("Background tiles (online)")
    layer = folium.TileLayer(tiles, name=name, overlay=True, control=True, show=True)
    m.add_child(layer)
    ctx.groups[name] = tx("Base map")
    ctx.add_legend(name, name, [], note=tx("Map tiles from {source}; they need an internet connection.",
                                           source=str(tiles)), rank=80)
    return layer


def _add_layers(m: folium.Map, so: StudyOutputs, ctx: ml.MapContext, surface_tier: str | None) -> None:
    """Every layer of the study, bottom of the drawing order first."""
    tx = ctx.tx
    ctx.group = tx("Base map")
    ml.add_boundaries(m, so, ctx)
    ml.add_water(m, so, ctx)
    ml.add_roads(m, so, ctx)
    ctx.group = tx("Study")
    _add_surface(m, so, ctx, surface_tier)
    if so.areas is not None and len(so.areas):
        ml.add_classified(m, so, ctx, so.areas, name=tx("Areas"), show=len(so.areas) <= 20_000,
                          reasons="class_reasons" not in so.localities.columns)
    ml.add_territories(m, so, ctx)
    hub_names = ml.hub_display_names(so, ctx)
    ml.add_hinterlands(m, so, ctx, hub_names)
    ml.add_corridors(m, so, ctx)
    road_names = ml.stretch_names(so.segments, so.read_roads())
    ml.add_stretches(m, so, ctx, road_names)
    ml.add_upgrades(m, so, ctx, road_names)
    ml.add_classified(m, so, ctx, so.localities, name=tx("Localities"))
    ml.add_destinations(m, so, ctx)
    ml.add_hubs(m, so, ctx, hub_names)
    wl.add_rai_buffer(m, so, ctx)
    wl.add_scenarios(m, so, ctx)
    crit_names = ml.stretch_names(so.criticality, so.read_roads()) if so.criticality is not None else {}
    al.add_criticality(m, so, ctx, crit_names)
    al.add_portfolio(m, so, ctx)
    al.add_microregions(m, so, ctx)
    al.add_typologies(m, so, ctx)
    ctx.group = tx("Base map")
    ml.add_labels(m, so, ctx)


def _add_surface(m: folium.Map, so: StudyOutputs, ctx: ml.MapContext, surface_tier: str | None) -> None:
    """Isochrone bands when the study has them, else hexagons of one tier (hidden at start)."""
    if so.isochrones is not None and len(so.isochrones):
        iso = so.isochrones
        tier = str(iso["tier"].iloc[0]) if "tier" in iso.columns and len(iso) else None
        ml.add_surface(m, ctx, iso, tier=tier, edges=(), continuous=False)
        return
    tiers = ctx.tiers or []
    if not tiers:
        return
    tier = surface_tier or tiers[0]
    hexes = make_hex_surface(so.localities, tier)
    if len(hexes):
        ml.add_surface(m, ctx, hexes, tier=tier, edges=study_bands(so, tier), continuous=True)


def _attribution(so: StudyOutputs) -> str:
    att = (so.study or {}).get("attribution") or {}
    items = list(att.values()) if isinstance(att, dict) else list(att) if isinstance(att, list) else [att]
    return " | ".join(esc(str(a)) for a in items if str(a).strip())


def render_map(m: folium.Map, *, cdn: bool | None = None) -> str:
    """The HTML of a map: self-contained (Leaflet inlined) unless ``cdn`` (default: the map's own
    setting from :func:`make_map`)."""
    from ._html import inline_assets

    if cdn is None:
        cdn = bool(getattr(m, "tgis_cdn", False))
    html = fill_data(m.get_root().render(), m)
    lang = getattr(m, "tgis_lang", "en")
    html = html.replace("<html>", f'<html lang="{lang}">', 1)
    return html if cdn else inline_assets(html)


def write_map(m: folium.Map, path: str | os.PathLike[str], *, cdn: bool | None = None,
              overwrite: bool = False) -> Path:
    """Write a map to an HTML file atomically (self-contained unless ``cdn``, see :func:`render_map`).

    Raises
    ------
    OutputExistsError
        When ``path`` exists and ``overwrite`` is false.
    """
    from ._io import atomic_output

    target = Path(path)
    html = render_map(m, cdn=cdn)
    with atomic_output(target, overwrite=overwrite) as tmp:
        tmp.write_text(html, encoding="utf-8")
    logger.debug("map written to %s (%.1f kB)", target, target.stat().st_size / 1e3)
    return target


def map_study(outputs_dir: StudyOutputs | str | os.PathLike[str], path: str | os.PathLike[str], *,
              cdn: bool = False, overwrite: bool = False, title: str | None = None, lang: str | None = None,
              surface_tier: str | None = None) -> Path:
    """Read a study outputs folder (or take a :class:`~territorial_gis.outputs.StudyOutputs`
    already read) and write its interactive map (self-contained unless ``cdn``).

    Raises
    ------
    InputFileError
        When the folder or its ``localities.gpkg`` is missing (nothing is written).
    """
    from ._io import check_outputs

    target = Path(path)
    check_outputs(target, overwrite=overwrite)
    texts(lang)  # an unknown language fails before any reading
    so = outputs_dir if isinstance(outputs_dir, StudyOutputs) else load_study_outputs(outputs_dir)
    m = make_map(so, title=title, lang=lang, cdn=cdn, surface_tier=surface_tier)
    out = write_map(m, target, overwrite=overwrite)
    logger.debug("map of %s written to %s", outputs_dir, out)
    return out


def make_hex_surface(localities: gpd.GeoDataFrame, tier: str, resolution: int | None = None
                     ) -> gpd.GeoDataFrame:
    """Travel-time hexagons: mean time to ``tier`` per H3 cell, weighted by population when known.

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
        Hexagons (EPSG:4326) with ``h3_cell``, ``travel_time_min``, ``population`` (NaN where no
        locality of the cell has a known population) and ``n_localities``.
    """
    import h3

    col = time_col(tier)
    if col not in localities.columns:
        raise ColumnError(f"localities: no column '{col}' for the travel-time surface")
    pts = ml.to_4326(localities, "localities")
    pts = pts[pts.geometry.notna() & ~pts.geometry.is_empty]
    empty = gpd.GeoDataFrame({"h3_cell": [], "travel_time_min": []}, geometry=[], crs=4326)
    if not len(pts):
        return empty
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
    pop = (pd.to_numeric(pts[POPULATION], errors="coerce").to_numpy(float) if POPULATION in pts.columns
           else np.full(len(pts), np.nan))
    df = pd.DataFrame({"h3_cell": cells, "t": t, "pop": pop})
    df = df[~np.isnan(df["t"])]
    if not len(df):
        return empty
    known = np.nan_to_num(df["pop"].to_numpy(), nan=0.0)
    df["w"] = np.where(known > 0, known, 1e-6)
    df["tw"] = df["t"] * df["w"]
    agg = df.groupby("h3_cell").agg(tw=("tw", "sum"), w=("w", "sum"),
                                    population=("pop", lambda s: s.sum(min_count=1)),
                                    n_localities=("t", "size")).reset_index()
    agg["travel_time_min"] = (agg["tw"] / agg["w"]).round(1)
    polys = [shapely.Polygon([(b, a) for a, b in h3.cell_to_boundary(c)]) for c in agg["h3_cell"]]
    return gpd.GeoDataFrame(agg[["h3_cell", "travel_time_min", "population", "n_localities"]],
                            geometry=polys, crs=4326)
