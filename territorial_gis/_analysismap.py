"""Map layers of the study's further analyses, one function each, over a study's outputs.

- :func:`add_criticality`: the road stretches whose failure delays or cuts off localities
  (``criticality.gpkg``, layer ``criticality``), coloured by impact, and the localities each
  failure cuts off (layer ``cut_off``);
- :func:`add_portfolio`: the road projects chosen under the budget (``appraisal.gpkg``, layer
  ``portfolio``), with their costs, benefits and P10-P90 ranges;
- :func:`add_microregions`: the microregions (``microregions.gpkg``) and their CECs;
- :func:`add_typologies`: one layer per typology applied (``typologies.gpkg``).

Every layer starts hidden, sits in a layer-control section of its own analysis and shows its
legend while it is on; a value the analysis could not give reads "unknown", never 0.
"""

from __future__ import annotations

import math
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from . import _style as st
from ._appraisalsummary import money, unit_text
from ._i18n import Texts
from ._mapelements import CompactLayer, Field, esc
from ._maplayers import (
    MapContext,
    _col,
    _num_col,
    _rows,
    _simplified,
    add,
    encode_values,
    sqrt_scale,
    to_4326,
)
from .columns import LOCALITY_ID, NAME, POPULATION
from .outputs import StudyOutputs

#: colours of the criticality classes: cuts localities off, then high / middle / low delay
CRITICALITY_COLORS = ("#67001F", "#D6604D", "#F4A582", "#FDDBC7")
#: why a criticality detour is unknown (``detour_reason``) -> the reader's words (msgids)
DETOUR_REASONS = {"no_alternative_route": "no alternative route", "beyond_limit": "beyond the search limit",
                  "not_a_run_with_two_ends": "not a road with two ends",
                  "not_computed_no_locality_affected": "not computed: no locality affected"}
#: what a typology layer's class column may be called, in order of preference
_TYPOLOGY_CLASS_COLS = ("typology_class", "class", "class_name")


def _ids_text(values: Any) -> list[str]:
    return [str(v) if st.present(v) else "" for v in values]


def _names_of(ids: Any, names: dict[str, str]) -> list[str]:
    """Display names of localities (their own name, else their id)."""
    return [names.get(str(i), str(i)) for i in ids]


def _tier_list(value: Any, tx: Texts) -> str | None:
    if not st.present(value):
        return None
    return ", ".join(tx.tier(t) for t in str(value).split(",") if t.strip())


# --------------------------------------------------------------------------------------------
# criticality


def criticality_classes(table: pd.DataFrame) -> np.ndarray:
    """Per stretch: 0 when its failure cuts some locality off, else 1 / 2 / 3 for the upper,
    middle and lower third of the minutes it adds (among the stretches that add some); -1 when
    it changes nothing."""
    cut = _num_col(table, "n_cut_off")
    impact = _num_col(table, "impact_min")
    out = np.full(len(table), -1)
    delayed = np.isfinite(impact) & (impact > 0)
    if delayed.any():
        hi, lo = np.quantile(impact[delayed], [2 / 3, 1 / 3])
        out[delayed] = np.where(impact[delayed] >= hi, 1, np.where(impact[delayed] >= lo, 2, 3))
    out[np.nan_to_num(cut) > 0] = 0
    return out


def detour_text(minutes: float, reason: Any, tx: Texts) -> str:
    """The detour between a stretch's ends: minutes, or why there is none."""
    if math.isfinite(minutes):
        return tx.minutes(minutes)
    if st.present(reason) and str(reason) in DETOUR_REASONS:
        return tx(DETOUR_REASONS[str(reason)])
    return tx.unknown


def add_criticality(m: folium.Map, study: StudyOutputs, ctx: MapContext, road_names: dict[Any, str]) -> None:
    """The stretches whose failure matters (cut-off localities first, then by minutes added) and
    the localities each failure cuts off."""
    crit = study.criticality
    if crit is None or not len(crit):
        return
    tx = ctx.tx
    ctx.group = tx("Critical roads")
    c = to_4326(crit, "criticality")
    cls = criticality_classes(c)
    keep = cls >= 0
    c, cls = c[keep].reset_index(drop=True), cls[keep]
    if len(c):
        _add_stretch_layer(m, ctx, c, cls, road_names)
    add_cut_off(m, study, ctx, road_names)


def _add_stretch_layer(m: folium.Map, ctx: MapContext, c: gpd.GeoDataFrame, cls: np.ndarray,
                       road_names: dict[Any, str]) -> None:
    tx = ctx.tx
    order = np.argsort(-cls, kind="stable")  # the worst drawn last, on top
    c, cls = c.iloc[order].reset_index(drop=True), cls[order]
    pk = ctx.population_known and (np.isfinite(_num_col(c, "population_cut_off")).any()
                                   or np.isfinite(_num_col(c, "person_min_added")).any())
    detour = Field(tx("Detour"))
    spec: list[tuple[Any, Field]] = [
        ([road_names.get(s, tx("unnamed road")) for s in _col(c, "stretch_id")], Field(tx("Road"))),
        (list(_col(c, "rank")), Field(tx("Rank"), "int")),
        ([tx.term("highway", h) if st.present(h) else None for h in _col(c, "highway")], Field(tx("Road class"))),
        (list(_col(c, "length_km")), Field(tx("Length (km)"), "num", dec=1)),
        (list(_col(c, "n_cut_off")), Field(tx("Localities cut off"), "int")),
        (list(_col(c, "population_cut_off")) if pk else [None] * len(c), Field(tx("Population cut off"), "int")),
        (list(_col(c, "person_min_added")) if pk else [None] * len(c), Field(tx("Person-minutes added"), "int")),
        (list(_col(c, "locality_min_added")), Field(tx("Locality-minutes added"), "int")),
        ([detour_text(v, r, tx) for v, r in zip(_num_col(c, "detour_min"), _col(c, "detour_reason"), strict=True)],
         detour)]
    cols = [encode_values(v, f) for v, f in spec]
    widths = np.choose(cls, [6.0, 5.0, 3.5, 2.5])
    styles = [{"color": col, "opacity": 0.95} for col in CRITICALITY_COLORS]
    name = tx("Critical road stretches")
    rows = _rows(_simplified(c, ctx, polygons=False), cls, widths, cols, ctx.precision, True)
    add(m, ctx, CompactLayer(name, "line", rows, styles, [f for _v, f in spec], titled=True, show=False,
                             precision=ctx.precision, order=next(ctx.order)))
    what = [tx("its failure cuts localities off"), tx("adds the most minutes (upper third)"),
            tx("adds minutes (middle third)"), tx("adds the fewest minutes (lower third)")]
    counts = pd.Series(cls).value_counts().to_dict()
    legend = [f'<span class="ln" style="border-top:4px solid {CRITICALITY_COLORS[k]}"></span>{esc(what[k])} '
              f'({esc(tx.integer(counts[k]))})' for k in range(4) if counts.get(k)]
    basis = tx("person-minutes") if pk else tx("locality-minutes (population unknown)")
    ctx.add_legend(name, name, legend, note=tx("If this stretch fails: the localities cut off, then the {basis} "
                                               "added; stretches whose failure changes nothing are not drawn.",
                                               basis=basis), rank=20)
    ctx.bounds.append(c.total_bounds)


def add_cut_off(m: folium.Map, study: StudyOutputs, ctx: MapContext, road_names: dict[Any, str]) -> None:
    """One point per locality some stretch's failure cuts off: by how many stretches, the most
    critical one, the tiers lost."""
    cut = study.cut_off
    if cut is None or not len(cut) or LOCALITY_ID not in cut.columns:
        return
    tx = ctx.tx
    g = to_4326(cut, "cut_off")
    g = g.assign(_rank=_num_col(g, "stretch_rank"), _id=g[LOCALITY_ID].astype(str))
    g = g.sort_values("_rank", kind="stable")
    first = g.groupby("_id", sort=False).first()
    n = g.groupby("_id", sort=False).size().reindex(first.index)
    tiers = g.groupby("_id", sort=False)["tiers_cut_off"].agg(
        lambda s: ",".join(dict.fromkeys(t for v in s if st.present(v) for t in str(v).split(",")))) \
        if "tiers_cut_off" in g.columns else pd.Series(None, index=first.index)
    first = gpd.GeoDataFrame(first, geometry="geometry", crs=4326).reset_index()
    pop = _num_col(first, POPULATION)
    pk = ctx.population_known and np.isfinite(pop).any()
    by = [tx("rank {rank}: {road}", rank=tx.integer(r), road=road_names.get(s, tx("unnamed road")))
          if math.isfinite(r) else road_names.get(s, tx("unnamed road"))
          for r, s in zip(_num_col(first, "_rank"), _col(first, "stretch_id"), strict=True)]
    spec: list[tuple[Any, Field]] = [
        (_names_of(first["_id"], ctx.loc_names), Field(tx("Name"))), (list(first["_id"]), Field(tx("ID"))),
        (list(pop) if pk else [None] * len(first), Field(tx("Population"), "int")),
        (list(n.to_numpy()), Field(tx("Road stretches whose failure cuts it off"), "int")),
        (by, Field(tx("Most critical of them"))),
        ([_tier_list(v, tx) for v in tiers.reindex(first["_id"]).to_numpy()], Field(tx("Cut off from"), skip_null=True))]
    cols = [encode_values(v, f) for v, f in spec]
    sizes = sqrt_scale(pop, 2.5, 7.0) if pk else sqrt_scale(n.to_numpy(), 2.5, 6.0)
    rows = [[[round(float(p.y), ctx.precision), round(float(p.x), ctx.precision)], 0, float(r), *(c[i] for c in cols)]
            for i, (p, r) in enumerate(zip(first.geometry, sizes, strict=True))]
    name = tx("Localities cut off by a road failure")
    add(m, ctx, CompactLayer(name, "circle", rows, [{"color": "#FFFFFF", "weight": 1.0, "opacity": 0.9,
                                                     "fill": CRITICALITY_COLORS[0], "fillOpacity": 0.8}],
                             [f for _v, f in spec], titled=True, show=False, precision=ctx.precision,
                             order=next(ctx.order)))
    note = tx("Marker size shows population.") if pk else \
        tx("Population unknown: marker size shows how many road failures cut the locality off.")
    ctx.add_legend(name, name, [f'<span class="sw dot" style="background:{CRITICALITY_COLORS[0]}"></span>'
                                f'{esc(tx("{n} localities", n=tx.integer(len(first))))}'], note=note, rank=21)


# --------------------------------------------------------------------------------------------
# appraisal


def money_text(value: Any, currency: str, tx: Texts) -> str:
    """An amount: ``8.8 M USD``, ``950,000 USD`` (:func:`territorial_gis._appraisalsummary.money`);
    "unknown" for NaN."""
    v = pd.to_numeric(value, errors="coerce")
    return money(float(v), currency, tx) if np.isfinite(v) else tx.unknown


def range_text(p10: Any, p90: Any, tx: Texts, decimals: int = 0) -> str | None:
    """``P10-P90`` as ``61 – 610``; None when either end is unknown."""
    a, b = pd.to_numeric(p10, errors="coerce"), pd.to_numeric(p90, errors="coerce")
    if not (np.isfinite(a) and np.isfinite(b)):
        return None
    return f"{tx.number(a, decimals)} – {tx.number(b, decimals)}"


def appraisal_record(study: StudyOutputs) -> dict[str, Any]:
    """What ``study.json`` records of the appraisal (``{}`` when nothing)."""
    got = (study.study or {}).get("appraisal")
    return got if isinstance(got, dict) else {}


def benefit_unit(study: StudyOutputs, tx: Texts) -> str:
    """The unit of the appraisal's benefit, in the reader's words."""
    rec = appraisal_record(study)
    unit = str(rec.get("benefit_unit") or "")
    return unit_text(unit, tx) if unit else tx("benefit")


def project_titles(p: pd.DataFrame, study: StudyOutputs, tx: Texts) -> list[str]:
    """``Project 2: Carrera 24``: the pick order (when chosen) and the name of the road the
    project's pieces carry most, else the project's own name or id."""
    from ._basemap import stretch_names
    from ._projects import localized_name

    ids = [str(i) for i in _col(p, "project_id")]
    roads = stretch_names(p.assign(stretch_id=ids), study.read_roads()) if "segment_ids" in p.columns else {}
    out = []
    for k, i, n in zip(_num_col(p, "pick_order"), ids, _col(p, NAME), strict=True):
        name = roads.get(i) or (localized_name(n, tx) if st.present(n) else i)
        out.append(tx("Project {n}: {name}", n=tx.integer(k), name=name) if math.isfinite(k) else name)
    return out


def _standard_text(cls: Any, surface: Any, tx: Texts) -> str | None:
    if not st.present(cls):
        return None
    text = tx.term("highway", cls)
    return f"{text}, {tx.term('surface', surface)}" if st.present(surface) else text


def add_portfolio(m: folium.Map, study: StudyOutputs, ctx: MapContext) -> None:
    """The projects chosen under the budget, numbered in the order they were picked."""
    port = study.portfolio_projects
    if port is None or not len(port):
        return
    tx = ctx.tx
    ctx.group = tx("Road projects")
    p = to_4326(port, "portfolio")
    p = p.sort_values("pick_order", kind="stable").reset_index(drop=True) if "pick_order" in p.columns \
        else p.reset_index(drop=True)
    currency = str(appraisal_record(study).get("currency") or "")
    unit = benefit_unit(study, tx)
    titles = project_titles(p, study, tx)
    spec: list[tuple[Any, Field]] = [
        (titles, Field(tx("Project"))),
        ([tx.term("action", a) if st.present(a) else None for a in _col(p, "action")], Field(tx("Action"))),
        ([_standard_text(c, f, tx) for c, f in zip(_col(p, "to_class"), _col(p, "to_surface"), strict=True)],
         Field(tx("Upgrade to"), skip_null=True)),
        (list(_col(p, "length_km")), Field(tx("Length (km)"), "num", dec=1)),
        ([money_text(v, currency, tx) for v in _col(p, "cost")], Field(tx("Cost"))),
        (list(_col(p, "benefit")), Field(tx("Benefit ({unit})", unit=unit), "num", dec=0)),
        ([range_text(a, b, tx) for a, b in zip(_col(p, "benefit_p10"), _col(p, "benefit_p90"), strict=True)],
         Field(tx("Benefit, P10\u2013P90"), skip_null=True)),
        (list(_col(p, "benefit_per_million")), Field(tx("Benefit per million {currency}", currency=currency), "num")),
        (list(_col(p, "n_localities_benefiting")), Field(tx("Localities with shorter trips"), "int")),
        (list(_col(p, "population_benefiting")), Field(tx("Population with shorter trips"), "int")),
        (list(_col(p, "in_top_share")), Field(tx("Runs in which it ranks among the top"), "pct"))]
    cols = [encode_values(v, f) for v, f in spec]
    name = tx("Chosen road projects")
    rows = _rows(_simplified(p, ctx, polygons=False), np.zeros(len(p), int), np.full(len(p), 6.0), cols,
                 ctx.precision, True)
    add(m, ctx, CompactLayer(name, "line", rows, [{"color": PORTFOLIO_COLOR, "opacity": 0.95}],
                             [f for _v, f in spec], titled=True, show=False, precision=ctx.precision,
                             order=next(ctx.order)))
    rec = appraisal_record(study)
    note = tx("Picked in order of benefit per cost under a budget of {budget}.",
              budget=money_text(rec.get("budget"), currency, tx)) if st.present(rec.get("budget")) else None
    ctx.add_legend(name, name, [f'<span class="ln" style="border-top:5px solid {PORTFOLIO_COLOR}"></span>'
                                f'{esc(tx("{n} projects chosen", n=tx.integer(len(p))))}'], note=note, rank=22)
    ctx.bounds.append(p.total_bounds)


#: colour of the chosen road projects (apart from the class, corridor and criticality colours)
PORTFOLIO_COLOR = "#1B7837"


# --------------------------------------------------------------------------------------------
# microregions


#: how a CEC was selected (``selected_by``) and a zone's link (``link_status``) -> words (msgids)
SELECTED_BY_TEXT = {"cover": "covers the most localities within the limit",
                    "one_per_area": "one per area: its area's largest place"}
LINK_TEXT = {"linked": "linked to a favorable area", "enclosed_marginal": "enclosed marginal"}
LINKED_TO_TEXT = {"fra": "a favorable area", "employment_centre": "an employment centre",
                  "fra+employment_centre": "a favorable area and an employment centre"}


def link_text(status: Any, linked_to: Any, tx: Texts) -> str:
    """A zone's link in words: ``linked to a favorable area (reaches ...)`` or ``enclosed marginal``."""
    if not st.present(status):
        return tx.unknown
    text = tx(LINK_TEXT[str(status)]) if str(status) in LINK_TEXT else str(status)
    if st.present(linked_to) and str(linked_to) in LINKED_TO_TEXT:
        text += " (" + tx("reaches {what}", what=tx(LINKED_TO_TEXT[str(linked_to)])) + ")"
    return text


def zone_links(study: StudyOutputs, zone_type: str) -> dict[str, tuple[Any, Any]]:
    """``zone_id -> (link_status, linked_to)`` of one zone type of ``links.csv``."""
    t = study.links
    if t is None or not len(t) or "zone_type" not in t.columns:
        return {}
    sub = t[t["zone_type"].astype(str) == zone_type]
    return {str(z): (a, b) for z, a, b in zip(sub["zone_id"], _col(sub, "link_status"), _col(sub, "linked_to"),
                                               strict=True)}


def _yes_no(v: Any, tx: Texts) -> str | None:
    if not st.present(v):
        return None
    return tx("yes") if str(v).strip().lower() in ("true", "1", "1.0", "yes") else tx("no")


def add_microregions(m: folium.Map, study: StudyOutputs, ctx: MapContext) -> None:
    """The microregions (outlined, neighbours in different colours) and their CECs."""
    mr = study.microregions
    if mr is None or not len(mr):
        return
    tx = ctx.tx
    ctx.group = tx("Microregions")
    g = to_4326(mr, "microregions").reset_index(drop=True)
    links = zone_links(study, "microregion")
    ids = [str(i) for i in _col(g, "microregion_id")]
    cec_names: dict[str, list[str]] = {}
    if study.cecs is not None and "microregion_id" in study.cecs.columns:
        for r, n, c in zip(study.cecs["microregion_id"], _col(study.cecs, NAME), _col(study.cecs, "cec_id"), strict=True):
            cec_names.setdefault(str(r), []).append(str(n) if st.present(n) else str(c))
    spec: list[tuple[Any, Field]] = [
        ([tx("Microregion {id}", id=i) for i in ids], Field(tx("Microregion"))),
        ([", ".join(str(x).split(";")) if st.present(x) else None for x in _col(g, "member_names")],
         Field(tx("Areas"))),
        (list(_col(g, POPULATION)), Field(tx("Population"), "int")),
        (list(_col(g, "area_km2")), Field(tx("Area (km\u00b2)"), "int")),
        ([_yes_no(v, tx) for v in _col(g, "meets_size_floor")], Field(tx("Meets the size floor"), skip_null=True)),
        ([", ".join(cec_names.get(i, [])) or None for i in ids], Field(tx("CECs"))),
        ([link_text(*links[i], tx) if i in links else None for i in ids], Field(tx("Link"), skip_null=True))]
    cols = [encode_values(v, f) for v, f in spec]
    color = st.greedy_colors(list(g.geometry), len(st.TERRITORY_COLORS))
    styles = [{"color": c, "weight": 2.5, "opacity": 0.95, "fill": c, "fillOpacity": 0.18, "dash": "8,4"}
              for c in st.TERRITORY_COLORS]
    name = tx("Microregions")
    rows = _rows(_simplified(g, ctx, polygons=True), color, np.ones(len(g)), cols, ctx.precision, True)
    add(m, ctx, CompactLayer(name, "polygon", rows, styles, [f for _v, f in spec], titled=True, show=False,
                             precision=ctx.precision, order=next(ctx.order)))
    legend = [f'<span class="sw" style="background:#fff;border:2px dashed {st.TERRITORY_COLORS[color[i]]}"></span>'
              f'{esc(tx("Microregion {id}", id=ids[i]))}' for i in range(len(g))][:12]
    ctx.add_legend(name, name, legend, note=tx("Contiguous groups of the areas eligible for the strategy."), rank=40)
    ctx.bounds.append(g.total_bounds)
    add_cecs(m, study, ctx)


def add_cecs(m: folium.Map, study: StudyOutputs, ctx: MapContext) -> None:
    """The strategic community centres (CECs) of the microregions."""
    cec = study.cecs
    if cec is None or not len(cec):
        return
    tx = ctx.tx
    g = to_4326(cec, "cecs").reset_index(drop=True)
    if (g.geometry.geom_type != "Point").any():
        g = g.set_geometry(g.geometry.representative_point())
    names = [str(n) if st.present(n) else ctx.loc_names.get(str(i), str(i))
             for n, i in zip(_col(g, NAME), _col(g, "cec_id"), strict=True)]
    spec: list[tuple[Any, Field]] = [
        (names, Field(tx("Name"))), (list(_col(g, POPULATION)), Field(tx("Population"), "int")),
        ([tx("Microregion {id}", id=r) if st.present(r) else None for r in _col(g, "microregion_id")],
         Field(tx("Microregion"))),
        ([_yes_no(v, tx) for v in _col(g, "is_seat")], Field(tx("Seat of its area"), skip_null=True)),
        ([tx(SELECTED_BY_TEXT[str(v)]) if str(v) in SELECTED_BY_TEXT else (str(v) if st.present(v) else None)
          for v in _col(g, "selected_by")], Field(tx("Chosen because"), skip_null=True)),
        (list(_col(g, "n_hinterland_localities")), Field(tx("Localities in its hinterland"), "int")),
        (list(_col(g, "hinterland_population")) if ctx.population_known else [None] * len(g),
         Field(tx("Population of its hinterland"), "int"))]
    cols = [encode_values(v, f) for v, f in spec]
    rows = [[[round(float(p.y), ctx.precision), round(float(p.x), ctx.precision)], 0, 14.0, *(c[i] for c in cols)]
            for i, p in enumerate(g.geometry)]
    name = tx("CECs (strategic community centres)")
    add(m, ctx, CompactLayer(name, "symbol", rows, [{"fill": CEC_COLOR, "symbol": "\u2605", "cls": "tgis-change"}],
                             [f for _v, f in spec], titled=True, show=False, precision=ctx.precision,
                             order=next(ctx.order)))
    ctx.add_legend(name, name, [f'<span class="sym" style="color:{CEC_COLOR}">\u2605</span>'
                                f'{esc(tx("{n} CECs", n=tx.integer(len(g))))}'], rank=41)


#: colour of the CEC symbols
CEC_COLOR = "#6A3D9A"


# --------------------------------------------------------------------------------------------
# typologies


def typology_specs(study: StudyOutputs) -> list[dict[str, Any]]:
    """Per typology layer of ``typologies.gpkg``: its record of ``study.json`` (``layer``,
    ``column``, ``reasons_column``, ``title``, ``classes``, ``flags``), or one read off the
    layer (the column beside ``<column>_reasons``) when the study does not record it."""
    out = []
    recorded = {str(r.get("layer")): r for r in study.typologies_applied if r.get("layer")}
    for layer, g in study.typology_layers.items():
        rec = dict(recorded.get(layer) or {})
        if not rec.get("column") or rec["column"] not in g.columns:
            col = next((c for c in g.columns if f"{c}_reasons" in g.columns), None)
            if col is None:
                continue
            rec.update(column=col, reasons_column=f"{col}_reasons", name=layer)
        rec["layer"] = layer
        out.append(rec)
    return out


def add_typologies(m: folium.Map, study: StudyOutputs, ctx: MapContext) -> None:
    """One layer per typology applied: the units coloured by class, with the reasons."""
    specs = typology_specs(study)
    if not specs:
        return
    tx = ctx.tx
    ctx.group = tx("Typologies")
    for spec in specs:
        _add_typology(m, ctx, study.typology_layers[spec["layer"]], spec)


def _add_typology(m: folium.Map, ctx: MapContext, layer: gpd.GeoDataFrame, spec: dict[str, Any]) -> None:
    tx = ctx.tx
    g = to_4326(layer, f"typology {spec['layer']}")
    g = g[g.geometry.notna() & ~g.geometry.is_empty].reset_index(drop=True)
    if not len(g):
        return
    col = spec["column"]
    classes = [str(c["name"]) for c in spec.get("classes") or []]
    classes += [str(v) for v in pd.unique(g[col].dropna().astype(str)) if str(v) not in classes]
    descriptions = {str(c["name"]): str(c.get("description") or "") for c in spec.get("classes") or []}
    key = [classes.index(str(v)) if st.present(v) else len(classes) for v in g[col]]
    palette = [*st.TERRITORY_COLORS, *st.TERRITORY_COLORS][:len(classes)] + ["#BBBBBB"]
    is_point = bool((g.geometry.geom_type == "Point").all())
    if not is_point and (g.geometry.geom_type.isin(["Point", "MultiPoint"])).any():
        g = g.set_geometry(g.geometry.representative_point())
        is_point = True
    ids = [str(v) for v in _col(g, next((c for c in ("place_id", LOCALITY_ID, "area_id") if c in g.columns), NAME))]
    fields: list[tuple[Any, Field]] = [
        ([str(n) if st.present(n) else i for n, i in zip(_col(g, NAME), ids, strict=True)], Field(tx("Name"))),
        (ids, Field(tx("ID"))),
        (list(_col(g, POPULATION)), Field(tx("Population"), "int")),
        ([str(v) if st.present(v) else tx.unknown for v in g[col]], Field(tx("Class"))),
        ([descriptions.get(str(v)) or None for v in g[col]], Field(tx("What it means"), skip_null=True)),
        ([str(v) if st.present(v) else None for v in _col(g, spec.get("reasons_column") or f"{col}_reasons")],
         Field(tx("Why this class"), skip_null=True))]
    for flag in spec.get("flags") or []:
        if flag in g.columns:
            fields.append(([_yes_no(v, tx) for v in g[flag]], Field(tx.term("indicator", flag), skip_null=True)))
    cols = [encode_values(v, f) for v, f in fields]
    title = str(spec.get("title") or spec.get("name") or spec["layer"])
    name = tx("Typology: {title}", title=title)
    styles = [{"color": "#333333", "weight": 0.6, "opacity": 0.9, "fill": c, "fillOpacity": 0.9} if is_point else
              {"color": c, "weight": 0.8, "opacity": 0.8, "fill": c, "fillOpacity": 0.45} for c in palette]
    sizes = np.full(len(g), 4.5 if is_point else 1.0)
    geoms = g.geometry.to_numpy() if is_point else _simplified(g, ctx, polygons=True)
    rows = _rows(geoms, key, sizes, cols, ctx.precision, not is_point)
    add(m, ctx, CompactLayer(name, "circle" if is_point else "polygon", rows, styles, [f for _v, f in fields],
                             titled=True, show=False, precision=ctx.precision, order=next(ctx.order)))
    counts = pd.Series(key).value_counts().to_dict()
    labels = [*classes, tx.unknown]
    legend = [f'<span class="sw{" dot" if is_point else ""}" style="background:{palette[k]}"></span>'
              f'{esc(labels[k])} ({esc(tx.integer(counts[k]))})' for k in range(len(labels)) if counts.get(k)]
    ctx.add_legend(name, name, legend, rank=45)


__all__ = ["CEC_COLOR", "CRITICALITY_COLORS", "DETOUR_REASONS", "LINKED_TO_TEXT", "LINK_TEXT",
           "SELECTED_BY_TEXT", "add_cecs", "add_microregions", "add_typologies", "typology_specs", "link_text", "zone_links", "PORTFOLIO_COLOR", "add_criticality", "add_cut_off",
           "add_portfolio", "appraisal_record", "project_titles", "benefit_unit", "criticality_classes", "detour_text", "money_text",
           "range_text"]
