"""Map layers of what-ifs and access indices, one function each, over a study's outputs.

- :func:`add_scenarios`: per scenario (``scenario_<name>.gpkg``) the change of each locality's
  travel time against the base (diverging colours: red slower, blue faster), the places it cuts
  off, newly reaches or moves to another class (symbols), and the roads it upgrades, closes or
  slows;
- :func:`add_rai_buffer`: the buffer of the all-season roads of the Rural Access Index
  (``rai.gpkg``), with the index in its legend.

Each scenario gets a section of its own in the layer control; every layer starts hidden (the
map opens on the base study) and shows its legend section while it is on.
"""

from __future__ import annotations

import math
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import _style as st
from ._geodesy import line_lengths_m
from ._i18n import Texts
from ._mapelements import CompactLayer, Field, encode_chain, encode_many, esc
from ._maplayers import MapContext, add, encode_values, km_text, sqrt_scale, to_4326
from ._studymeta import (
    cut_off_code,
    main_tier,
    methods,
    scenario_record,
    scenario_tiers,
    scenario_title,
)
from .columns import LOCALITY_ID, NAME, PLACE_ID, POPULATION, change_col, status_col, time_col
from .outputs import StudyOutputs

#: style indices of the change layer beyond the 9 diverging classes
_CUT, _NEW, _BOTH = 9, 10, 11
#: why the Rural Access Index is unknown (``rai_reason`` of ``rai.csv``) -> the reader's words (msgids)
RAI_REASONS = {"population unknown": "population unknown", "no rural population": "no rural population",
               "no rural place": "no rural place"}


def rai_reason(reason: Any, tx: Texts) -> str:
    """Why the index is unknown, in the reader's words."""
    text = str(reason) if st.present(reason) else "population unknown"
    return tx(RAI_REASONS[text]) if text in RAI_REASONS else text


def _ids_and_names(g: pd.DataFrame) -> tuple[list[str], list[str]]:
    id_col = next((c for c in (LOCALITY_ID, PLACE_ID, "id") if c in g.columns), None)
    ids = [str(v) for v in g[id_col]] if id_col else [str(i) for i in range(len(g))]
    own = g[NAME] if NAME in g.columns else pd.Series([None] * len(g), index=g.index)
    names = [str(n) if st.present(n) else i for n, i in zip(own, ids, strict=True)]
    return ids, names


def signed_minutes(value: float, tx: Texts, thresholds: list[float] | None = None) -> str:
    """A change of travel time with its sign: ``+11.5 min``, ``\u22123.2 min``."""
    if not math.isfinite(value):
        return tx.unknown
    sign = "+" if value > 0 else "\u2212" if value < 0 else ""
    return f"{sign}{tx.minutes(abs(value), thresholds or [])}"


def trip_text(base: float, scenario: float, status: str, tx: Texts, thresholds: list[float]) -> str:
    """One tier's travel time in the base and in a scenario, as a popup line."""
    b, s = tx.minutes(base, thresholds), tx.minutes(scenario, thresholds)
    if status == "unchanged" and math.isfinite(base):
        return tx("{minutes} (unchanged)", minutes=b)
    if math.isfinite(base) and math.isfinite(scenario):
        return f"{b} \u2192 {s} ({signed_minutes(scenario - base, tx, thresholds)})"
    if math.isfinite(base):
        return f"{b} \u2192 {tx(st.STATUS_TEXT.get(status, status))}"
    if math.isfinite(scenario):
        return f"{tx('unreachable')} \u2192 {s}"
    return tx("unreachable in both")


def class_text(before: Any, after: Any, tx: Texts) -> str | None:
    """``FRA \u2192 MRA`` or ``FRA (unchanged)``; None when neither is known."""
    if not st.present(before) and not st.present(after):
        return None
    b = str(before) if st.present(before) else tx.unknown
    a = str(after) if st.present(after) else tx.unknown
    return tx("{cls} (unchanged)", cls=b) if a == b else f"{b} \u2192 {a}"


# --------------------------------------------------------------------------------------------
# scenarios


def add_scenarios(m: folium.Map, study: StudyOutputs, ctx: MapContext) -> None:
    """The layers of every scenario of the study, each in a layer-control section of its own."""
    order = [str(n) for n in (study.study or {}).get("scenarios") or [] if str(n) in study.scenario_localities]
    names = order + sorted(set(study.scenario_localities) - set(order))
    for name in names:
        ctx.group = scenario_title(study, name, ctx.tx)
        loc = study.scenario_localities[name]
        add_scenario_change(m, study, ctx, name, loc)
        add_scenario_places(m, study, ctx, name, loc)
        add_scenario_roads(m, study, ctx, name, study.scenario_roads.get(name))


def add_scenario_change(m: folium.Map, study: StudyOutputs, ctx: MapContext, name: str,
                        localities: gpd.GeoDataFrame) -> None:
    """Each locality coloured by how much its travel time to the study's main tier changes."""
    tx = ctx.tx
    g = to_4326(localities, f"scenario {name}")
    g = g[g.geometry.notna() & ~g.geometry.is_empty].reset_index(drop=True)
    tiers = scenario_tiers(g)
    tier = main_tier(study, tiers)
    if tier is None or not len(g):
        return
    if (g.geometry.geom_type != "Point").any():
        g = g.set_geometry(g.geometry.representative_point())
    title = scenario_title(study, name, tx)
    cut = cut_off_code(study, name, g)
    change = pd.to_numeric(g[change_col(tier)], errors="coerce").to_numpy(float)
    status = g[status_col(tier)].astype(object).to_numpy()
    edges = st.change_edges(change)
    cls = st.change_class(change, edges)
    cls = np.where(cls >= 0, cls, np.where(status == cut, _CUT, np.where(status == "newly_reached", _NEW, _BOTH)))
    order = np.lexsort((np.nan_to_num(np.abs(change)), cls == _CUT))  # largest change and cut-off on top
    g, cls = g.iloc[order].reset_index(drop=True), cls[order]
    colors = [*st.DIVERGING, st.CUT_OFF_COLOR, st.DIVERGING[-1], st.UNREACHED_COLOR]
    styles = [{"color": "#333333" if k != 4 else "#777777", "weight": 0.6, "opacity": 0.9, "fill": c,
               "fillOpacity": 0.95} for k, c in enumerate(colors)]
    known = ctx.population_known and POPULATION in g.columns
    big = len(g) > 5000
    sizes = sqrt_scale(g[POPULATION], 1.5 if big else 2.5, 7.0 if big else 10.0) if known else \
        np.full(len(g), 3.0 if big else 4.5)
    ids, names = _ids_and_names(g)
    spec: list[tuple[list[Any], Field]] = [(names, Field(tx("Name"))), (ids, Field(tx("ID"))),
                                           (list(g[POPULATION]) if known else [None] * len(g),
                                            Field(tx("Population"), "int"))]
    for t in tiers:
        thr = [ctx.thresholds[t]] if t in ctx.thresholds else []
        b = pd.to_numeric(g[f"{time_col(t)}_base"], errors="coerce").to_numpy(float)
        s = pd.to_numeric(g[f"{time_col(t)}_scenario"], errors="coerce").to_numpy(float)
        texts_ = [trip_text(x, y, str(z), tx, thr) for x, y, z in zip(b, s, g[status_col(t)], strict=True)]
        spec.append((texts_, Field(tx("Travel time to {tier}", tier=tx.tier(t)))))
    if "area_class_base" in g.columns:
        spec.append(([class_text(a, b, tx) for a, b in zip(g["area_class_base"], g.get("area_class_scenario",
                                                                                      g["area_class_base"]),
                                                             strict=True)], Field(tx("Class"), skip_null=True)))
    cols = [encode_values(v, f) for v, f in spec]
    layer_name = tx("{scenario}: change in travel time to {tier}", scenario=title, tier=tx.tier(tier))
    rows = [[[round(float(p.y), ctx.precision), round(float(p.x), ctx.precision)], int(k), float(r),
             *(c[i] for c in cols)] for i, (p, k, r) in enumerate(zip(g.geometry, cls, sizes, strict=True))]
    cluster_order = [_CUT, 0, 1, 2, 3, _NEW, 8, 7, 6, 5, 4, _BOTH]
    add(m, ctx, CompactLayer(layer_name, "circle", rows, styles, [f for _v, f in spec], titled=True, show=False,
                             precision=ctx.precision, order=next(ctx.order),
                             extra={"clusterAbove": ctx.cluster_above, "clusterOrder": cluster_order}))
    labels = st.change_labels(edges, tx)
    labels.update({_CUT: tx(st.STATUS_TEXT.get(cut, cut)), _NEW: tx("newly reached"),
                   _BOTH: tx("unreachable in both")})
    counts = pd.Series(cls).value_counts().to_dict()
    legend = [f'<span class="sw dot" style="background:{colors[k]}"></span>{esc(labels[k])} '
              f'({esc(tx.integer(counts[k]))})' for k in sorted(counts, key=_legend_rank)]
    note = tx("Against the base study: red is slower, blue faster.")
    season = scenario_record(study, name).get("season") or {}
    if cut == "dry_season_only" and season.get("network_records_season") is False and not counts.get(_CUT):
        note += " " + tx("The network records no season of use: places reached only in the dry season cannot "
                         "be found.")
    note += " " + (tx("Marker size shows population.") if known else tx("Population unknown: all markers have the same size."))
    ctx.add_legend(layer_name, layer_name, legend, note=note, rank=2)
    ctx.bounds.append(g.total_bounds)


def _legend_rank(k: int) -> int:
    """Legend order of the change classes: cut off, much slower .. much faster, newly reached, unreachable."""
    return {_CUT: -1, _NEW: 9, _BOTH: 10}.get(k, k)


def _place_events(g: pd.DataFrame, tiers: list[str], cut: str, tx: Texts) -> tuple[np.ndarray, list[str | None]]:
    """Per locality the symbol class (0 cut off, 1 newly reached, 2 worse class, 3 better class,
    -1 none) and the words saying what happens to it."""
    kind = np.full(len(g), -1)
    words: list[list[str]] = [[] for _ in range(len(g))]
    for t in tiers:
        stt = g[status_col(t)].astype(object).to_numpy()
        for code, k, text in ((cut, 0, "{status}: {tier}"), ("newly_reached", 1, "{status}: {tier}")):
            hit = np.flatnonzero(stt == code)
            kind[hit] = np.where(kind[hit] < 0, k, np.minimum(kind[hit], k))
            for i in hit.tolist():
                words[i].append(tx(text, status=tx(st.STATUS_TEXT.get(code, code)), tier=tx.tier(t)))
    if "class_change" in g.columns:
        for i, v in enumerate(g["class_change"]):
            if not st.present(v) or "->" not in str(v):
                continue
            a, b = (x.strip() for x in str(v).split("->", 1))
            k = 2 if b == "MRA" else 3
            kind[i] = k if kind[i] < 0 else min(kind[i], k)
            words[i].append(f"{a} \u2192 {b}")
    return kind, ["; ".join(w) if w else None for w in words]


def add_scenario_places(m: folium.Map, study: StudyOutputs, ctx: MapContext, name: str,
                        localities: gpd.GeoDataFrame) -> None:
    """Symbols on the places a scenario cuts off (or reaches only in the dry season), newly
    reaches, or moves from one class to the other."""
    tx = ctx.tx
    g = to_4326(localities, f"scenario {name}")
    g = g[g.geometry.notna() & ~g.geometry.is_empty].reset_index(drop=True)
    tiers = scenario_tiers(g)
    if not tiers or not len(g):
        return
    cut = cut_off_code(study, name, g)
    kind, what = _place_events(g, tiers, cut, tx)
    sel = kind >= 0
    if not sel.any():
        return
    g, kind = g[sel].reset_index(drop=True), kind[sel]
    what = [w for w, k in zip(what, sel, strict=True) if k]
    marks = [(st.CUT_OFF_SYMBOL, st.CUT_OFF_COLOR, tx(st.STATUS_TEXT.get(cut, cut))),
             (st.NEWLY_REACHED_SYMBOL, st.DIVERGING[-1], tx("newly reached")),
             (st.WORSE_CLASS_SYMBOL, st.CLASS_STYLES["MRA-isolated"][1], tx("from FRA to MRA")),
             (st.BETTER_CLASS_SYMBOL, st.CLASS_STYLES["FRA"][1], tx("from MRA to FRA"))]
    styles = [{"fill": c, "symbol": s, "cls": "tgis-change"} for s, c, _t in marks]
    ids, names = _ids_and_names(g)
    spec = [(names, Field(tx("Name"))), (ids, Field(tx("ID"))), (what, Field(tx("What changes")))]
    cols = [encode_values(v, f) for v, f in spec]
    rows = [[[round(float(p.y), ctx.precision), round(float(p.x), ctx.precision)], int(k), 16.0,
             *(c[i] for c in cols)] for i, (p, k) in enumerate(zip(g.geometry.representative_point(), kind,
                                                                   strict=True))]
    layer_name = tx("{scenario}: places cut off or changing class", scenario=scenario_title(study, name, tx))
    add(m, ctx, CompactLayer(layer_name, "symbol", rows, styles, [f for _v, f in spec], titled=True, show=False,
                             precision=ctx.precision, order=next(ctx.order)))
    counts = pd.Series(kind).value_counts().to_dict()
    legend = [f'<span class="sym" style="color:{c}">{s}</span>{esc(t)} ({esc(tx.integer(counts[k]))})'
              for k, (s, c, t) in enumerate(marks) if counts.get(k)]
    ctx.add_legend(layer_name, layer_name, legend,
                   note=tx("A place both cut off and changing class shows the first symbol."), rank=3)


def _reason_text(reason: Any, record: dict[str, Any], tx: Texts) -> str | None:
    """Why a scenario changed a road, in words: the season, a dry-season-only road or a ford
    closed by it, or the name of the upgrade or closure that did it."""
    if not st.present(reason):
        return None
    text = str(reason)
    season = record.get("season") or {}
    sname = season.get("name")
    stitle = tx.term("scenario", season["title"]) if season.get("title") else sname
    if sname and text == sname:
        return stitle
    if sname and text.startswith(f"{sname}: "):
        what = text.removeprefix(f"{sname}: ")
        words = {"dry_season_only": tx("road usable in the dry season only"), "ford": tx("ford")}.get(what, what)
        return f"{stitle}: {words}"
    return text


def _dissolve_roads(r: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per road piece (both directions of a road are one line), then one row per road
    with the same name, class, change, reason and speeds (a multi-line), with its length."""
    if "segment" in r.columns:
        r = r.drop_duplicates("segment")
    r = r.assign(length_km=line_lengths_m(r.geometry.to_numpy()) / 1000.0,
                 _before=pd.to_numeric(r.get("speed_before_kph"), errors="coerce").round(1),
                 _after=pd.to_numeric(r.get("speed_after_kph"), errors="coerce").round(1))
    keys = [c for c in ("change", "reason", NAME, "highway", "_before", "_after") if c in r.columns]
    filled = r[keys].astype(object).where(r[keys].notna(), "\x00")
    codes = filled.astype(str).agg("\x01".join, axis=1)
    groups = pd.factorize(codes)[0]
    parts = pd.Series(list(r.geometry), index=groups).groupby(level=0).agg(list)
    first = r.groupby(groups, sort=True).first()
    first["length_km"] = r.groupby(groups, sort=True)["length_km"].sum()
    first["n_pieces"] = r.groupby(groups, sort=True).size()
    return gpd.GeoDataFrame(first.drop(columns="geometry"),
                            geometry=[shapely.multilinestrings(p) if len(p) > 1 else p[0] for p in parts], crs=4326)


def add_scenario_roads(m: folium.Map, study: StudyOutputs, ctx: MapContext, name: str,
                       roads: gpd.GeoDataFrame | None) -> None:
    """The roads a scenario closes, upgrades or slows (red worse, blue better; width by how much)."""
    if roads is None or not len(roads) or "change" not in roads.columns:
        return
    tx = ctx.tx
    record = scenario_record(study, name)
    r = to_4326(roads, f"scenario {name} roads")
    r = r.drop_duplicates("segment") if "segment" in r.columns else r
    n_all, note = len(r), ""
    if n_all > ctx.max_changed_roads:  # the closures and upgrades, then the most slowed roads
        loss = 1.0 - pd.to_numeric(r["speed_after_kph"], errors="coerce") / \
            pd.to_numeric(r["speed_before_kph"], errors="coerce")
        rank = np.where(r["change"].astype(str) == "slowed", loss.fillna(0.0).to_numpy(), np.inf)
        r = r.iloc[np.argsort(-rank, kind="stable")[:ctx.max_changed_roads]]
        note = " " + tx("The {n} most changed of {total} road pieces are drawn.", n=tx.integer(len(r)),
                        total=tx.integer(n_all))
    r = _dissolve_roads(r)
    before, after = r["_before"].to_numpy(float), r["_after"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        loss = np.where(before > 0, 1.0 - after / before, np.nan)
    change = r["change"].astype(str).to_numpy()
    kind = np.select([change == "closed", change == "upgraded", (change == "slowed") & (loss >= 0.25)],
                     [0, 1, 2], default=3)
    styles = [{"color": st.DIVERGING[0], "opacity": 0.95, "dash": "6,4", "cap": "butt"},
              {"color": st.DIVERGING[-1], "opacity": 0.95},
              {"color": st.DIVERGING[1], "opacity": 0.9},
              {"color": st.DIVERGING[2], "opacity": 0.9}]
    widths = np.choose(kind, [4.0, 4.0, 3.0, 2.0])
    speed = [tx("{now} \u2192 {after} km/h", now=tx.number(a, 0 if float(a).is_integer() else 1),
                after=tx.number(b, 0 if float(b).is_integer() else 1)) if c != "closed" and
             math.isfinite(a) and math.isfinite(b) else
             (tx("{now} km/h \u2192 closed", now=tx.number(a, 0)) if math.isfinite(a) else None)
             for a, b, c in zip(before, after, change, strict=True)]
    spec: list[tuple[list[Any], Field]] = [
        ([str(n) if st.present(n) else tx("unnamed road") for n in r.get(NAME, [None] * len(r))], Field(tx("Road"))),
        ([tx.term("highway", h) if st.present(h) else None for h in r.get("highway", [None] * len(r))],
         Field(tx("Road class"))),
        ([tx(st.ROAD_CHANGE_TEXT.get(c, c)) for c in change], Field(tx("Change"))),
        ([_reason_text(v, record, tx) for v in r.get("reason", [None] * len(r))], Field(tx("Why"), skip_null=True)),
        (speed, Field(tx("Speed"), skip_null=True)),
        (list(r["length_km"]), Field(tx("Length (km)"), "num", dec=1))]
    cols = [encode_values(v, f) for v, f in spec]
    order = np.argsort(-kind, kind="stable")  # slowed first, closures on top
    geoms = shapely.simplify(r.geometry.to_numpy(), max(ctx.simplify_deg, ctx.line_tolerance_deg))
    prec = min(ctx.precision, 5)  # about a metre, as the base map's roads
    enc = [encode_chain(g, prec) for g in geoms]
    rows = [[enc[i], int(kind[i]), float(widths[i]), *(c[i] for c in cols)] for i in order.tolist() if enc[i]]
    layer_name = tx("{scenario}: roads changed", scenario=scenario_title(study, name, tx))
    add(m, ctx, CompactLayer(layer_name, "line", rows, styles, [f for _v, f in spec], titled=True, show=False,
                             precision=prec, order=next(ctx.order), extra={"chain": True}))
    what = [tx("closed"), tx("upgraded"), tx("slowed by a quarter or more"), tx("slowed by less than a quarter")]
    legend = []
    for k, text in enumerate(what):
        sel = kind == k
        if sel.any():
            s = styles[k]
            line = f"{widths[sel][0]:.0f}px {'dashed' if s.get('dash') else 'solid'} {s['color']}"
            legend.append(f'<span class="ln" style="border-top:{line}"></span>{esc(text)} '
                          f'({esc(tx("{km} km", km=tx.number(r.loc[sel, "length_km"].sum(), 0)))})')
    ctx.add_legend(layer_name, layer_name, legend,
                   note=tx("Red is worse, blue better; click a road for its speeds.") + note, rank=4)


# --------------------------------------------------------------------------------------------
# Rural Access Index


def rai_figures(study: StudyOutputs, scenario: str = "base") -> dict[str, Any] | None:
    """The study-wide Rural Access Index of ``rai.csv`` (row ``area == "study"``, else the sum of
    the areas) for ``scenario``: ``rai``, ``reason``, rural population and places in and within."""
    t = study.rai
    if t is None or not len(t) or "rai" not in t.columns:
        return None
    sub = t[t["scenario"].astype(str) == scenario] if "scenario" in t.columns else t
    if not len(sub):
        return None
    row = sub[sub["area"].astype(str) == "study"] if "area" in sub.columns else sub
    if len(row) == 1:
        r = row.iloc[0]
        pop, within = float(r.get("rural_population", np.nan)), float(r.get("rural_population_within", np.nan))
        n, k = int(r.get("rural_places", 0)), int(r.get("rural_places_within", 0))
        reason = r.get("rai_reason")
    else:
        known = pd.to_numeric(sub["rural_population"], errors="coerce")
        pop = float(known.sum(min_count=1))
        within = float(pd.to_numeric(sub["rural_population_within"], errors="coerce").sum(min_count=1))
        n, k = int(sub["rural_places"].sum()), int(sub["rural_places_within"].sum())
        reason = None if math.isfinite(pop) and pop > 0 else "population unknown"
    rai = within / pop if math.isfinite(pop) and pop > 0 and math.isfinite(within) else math.nan
    return {"rai": rai, "reason": None if math.isfinite(rai) else (reason if st.present(reason) else
                                                                      "population unknown"),
            "rural_population": pop, "rural_population_within": within, "rural_places": n,
            "rural_places_within": k, "share_of_places": k / n if n else math.nan}


def rai_distance_m(study: StudyOutputs) -> float:
    """The distance of the study's index (its ``[rai]`` record, the buffer layer, else 2 km)."""
    rec = methods(study).get("rai") or {}
    if st.present(rec.get("distance_m")):
        return float(rec["distance_m"])
    b = study.rai_buffer
    if b is not None and len(b) and "distance_m" in b.columns and st.present(b["distance_m"].iloc[0]):
        return float(b["distance_m"].iloc[0])
    return 2000.0


def rai_sentence(fig: dict[str, Any], distance: str, tx: Texts) -> str:
    """The index in one sentence, or why it is unknown and the share of rural places instead."""
    if math.isfinite(fig["rai"]):
        return tx("Rural Access Index: {share} of the rural population ({within} of {total}) lives within "
                  "{distance} of an all-season road.", share=tx.percent(fig["rai"], 1),
                  within=tx.integer(fig["rural_population_within"]), total=tx.integer(fig["rural_population"]),
                  distance=distance)
    return tx("Rural Access Index unknown ({why}): {within} of {total} rural localities ({share}) lie within "
              "{distance} of an all-season road.", why=rai_reason(fig["reason"], tx), within=tx.integer(fig["rural_places_within"]),
              total=tx.integer(fig["rural_places"]), share=tx.percent(fig["share_of_places"], 1), distance=distance)


def add_rai_buffer(m: folium.Map, study: StudyOutputs, ctx: MapContext) -> None:
    """The area within the index's distance of an all-season road, with the index in its legend."""
    buf = study.rai_buffer
    if buf is None or not len(buf):
        return
    tx = ctx.tx
    ctx.group = tx("Rural Access Index")
    b = to_4326(buf, "RAI buffer").reset_index(drop=True)
    dist = km_text(rai_distance_m(study), tx)
    geoms = shapely.simplify(b.geometry.to_numpy(), max(ctx.simplify_deg, ctx.line_tolerance_deg),
                             preserve_topology=True)
    enc = encode_many(geoms, min(ctx.precision, 5))
    rows = [[e, 0, 1.0] for e in enc if e]
    layer_name = tx("Within {distance} of an all-season road", distance=dist)
    add(m, ctx, CompactLayer(layer_name, "polygon", rows, [{"color": st.RAI_COLOR, "weight": 1.2, "opacity": 0.9,
                                                            "fill": st.RAI_COLOR, "fillOpacity": 0.18}],
                             show=False, precision=min(ctx.precision, 5), order=next(ctx.order),
                             interactive=False))
    fig = rai_figures(study)
    note = rai_sentence(fig, dist, tx) if fig else None
    ctx.add_legend(layer_name, layer_name,
                   [f'<span class="sw" style="background:{st.RAI_COLOR};opacity:.6"></span>'
                    f'{esc(tx("within {distance} of an all-season road (SDG 9.1.1)", distance=dist))}'],
                   note=note, rank=6)


__all__ = ["RAI_REASONS", "add_rai_buffer", "add_scenario_change", "add_scenario_places", "add_scenario_roads", "add_scenarios",
           "class_text", "km_text", "rai_distance_m", "rai_figures", "rai_reason", "rai_sentence", "signed_minutes", "trip_text"]
