"""Report sections of what-ifs and access indices: scenarios against the base study and the
Rural Access Index, in the reader's language.

Every figure of a scenario is counted from its per-locality layer (``scenario_<name>.gpkg``),
the data the map draws, so the report and the map agree; population figures appear only where
population is known, localities are counted otherwise, and a figure that cannot be given says
why.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from . import _style as st
from ._charts import svg_stacked_shares
from ._geodesy import line_lengths_m
from ._i18n import Texts
from ._reportsections import Table, swatch
from ._studymeta import (
    cut_off_code,
    main_tier,
    methods,
    population_known,
    scenario_record,
    scenario_tiers,
    scenario_title,
    tier_thresholds,
)
from ._whatifmap import (
    km_text,
    rai_distance_m,
    rai_figures,
    rai_reason,
    rai_sentence,
    signed_minutes,
)
from .columns import POPULATION, change_col, status_col
from .outputs import StudyOutputs


def _pop(df: pd.DataFrame) -> np.ndarray:
    return pd.to_numeric(df[POPULATION], errors="coerce").to_numpy(float) if POPULATION in df.columns \
        else np.full(len(df), np.nan)


def _people(n: int, pop: float, pk: bool, tx: Texts) -> str:
    """``131 localities (12,300 people)``, or without the people when population is unknown."""
    if pk and math.isfinite(pop):
        return tx("{n} localities ({people} people)", n=tx.integer(n), people=tx.integer(pop))
    return tx("{n} localities", n=tx.integer(n))


def scenario_names(study: StudyOutputs) -> list[str]:
    """The scenarios of a study in the order it ran them."""
    order = [str(n) for n in (study.study or {}).get("scenarios") or [] if str(n) in study.scenario_localities]
    return order + sorted(set(study.scenario_localities) - set(order))


def tier_figures(loc: pd.DataFrame, tier: str, cut: str) -> dict[str, Any]:
    """What a scenario does to the travel times to ``tier``: localities (and population) slower,
    faster, cut off, newly reached, unreachable in both, and the median and largest change."""
    status = loc[status_col(tier)].astype(object).to_numpy()
    d = pd.to_numeric(loc[change_col(tier)], errors="coerce").to_numpy(float)
    pop = _pop(loc)
    out: dict[str, Any] = {"tier": tier, "n": len(loc)}
    for key, code in (("slower", "slower"), ("faster", "faster"), ("cut", cut), ("new", "newly_reached"),
                      ("both", "unreachable"), ("same", "unchanged")):
        sel = status == code
        out[f"n_{key}"] = int(sel.sum())
        out[f"pop_{key}"] = float(np.nansum(pop[sel])) if np.isfinite(pop[sel]).any() else \
            (0.0 if not sel.any() and np.isfinite(pop).any() else math.nan)
    slower, faster = d[status == "slower"], -d[status == "faster"]
    out["median_lost"] = float(np.median(slower)) if len(slower) else math.nan
    out["max_lost"] = float(np.max(slower)) if len(slower) else math.nan
    out["median_gained"] = float(np.median(faster)) if len(faster) else math.nan
    out["max_gained"] = float(np.max(faster)) if len(faster) else math.nan
    return out


def _tier_sentence(f: dict[str, Any], cut: str, pk: bool, tx: Texts, thr: list[float], *,
                   season_unknown: bool = False) -> str:
    """One sentence per tier: who is slower by how much, who is cut off, who gains."""
    tier = tx.tier(f["tier"])
    parts = []
    if f["n_slower"]:
        parts.append(tx("{who} take longer to reach {tier}: a median of {median} more, at most {max}",
                        who=_people(f["n_slower"], f["pop_slower"], pk, tx), tier=tier,
                        median=tx.minutes(f["median_lost"], thr), max=tx.minutes(f["max_lost"], thr)))
    if f["n_faster"]:
        parts.append(tx("{who} reach {tier} faster: a median of {median} less, at most {max}",
                        who=_people(f["n_faster"], f["pop_faster"], pk, tx), tier=tier,
                        median=tx.minutes(f["median_gained"], thr), max=tx.minutes(f["max_gained"], thr)))
    if not f["n_slower"] and not f["n_faster"]:
        parts.append(tx("no travel time to {tier} changes", tier=tier))
    if cut == "dry_season_only" and not f["n_cut"] and season_unknown:
        parts.append(tx("the network records no season of use, so no place can be found to be reached only in "
                        "the dry season"))
    elif cut == "dry_season_only":
        parts.append(tx("{who} reach it only in the dry season", who=_people(f["n_cut"], f["pop_cut"], pk, tx))
                     if f["n_cut"] else tx("no locality reaches it only in the dry season"))
    else:
        parts.append(tx("{who} are cut off from it", who=_people(f["n_cut"], f["pop_cut"], pk, tx))
                     if f["n_cut"] else tx("no locality is cut off from it"))
    if f["n_new"]:
        parts.append(tx("{who} reach it for the first time", who=_people(f["n_new"], f["pop_new"], pk, tx)))
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:]


def _class_sentence(loc: pd.DataFrame, pk: bool, tx: Texts) -> tuple[str | None, Table | None]:
    """How many localities change class, and the transition table."""
    if "area_class_base" not in loc.columns or "area_class_scenario" not in loc.columns:
        return None, None
    b = loc["area_class_base"].astype(object).where(loc["area_class_base"].notna(), None)
    a = loc["area_class_scenario"].astype(object).where(loc["area_class_scenario"].notna(), None)
    pop = _pop(loc)
    tab = pd.DataFrame({"from": b.map(lambda v: str(v) if st.present(v) else tx("not classified")),
                        "to": a.map(lambda v: str(v) if st.present(v) else tx("not classified")), "pop": pop})
    g = tab.groupby(["from", "to"], sort=True)
    counts = g.size()
    pops = g["pop"].sum(min_count=1)
    header = [tx("Class in the base"), tx("Class in the scenario"), tx("Localities")] + ([tx("Population")] if pk else [])
    rows = []
    for (f, t), n in counts.items():
        row = [f, t, tx.integer(n)] + ([tx.integer(pops[(f, t)])] if pk else [])
        rows.append(row)
    moves = []
    for f, t in (("FRA", "MRA"), ("MRA", "FRA")):
        n = int(counts.get((f, t), 0))
        if n:
            moves.append(tx("{who} change from {a} to {b}", who=_people(n, float(pops.get((f, t), math.nan)), pk, tx),
                            a=f, b=t))
    text = ("; ".join(moves) + ".") if moves else tx("No locality changes class.")
    table = Table(header, rows, [False, False, True] + [True] * pk, "transitions")
    return text[0].upper() + text[1:], table


def _figures_table(figs: list[dict[str, Any]], cut: str, pk: bool, tx: Texts,
                   thresholds: dict[str, float], *, season_unknown: bool = False) -> Table:
    """Measures (rows) by tier (columns); the places cut off are unknown when the scenario is a
    season and the network records no season of use."""
    header = [""] + [tx.tier(f["tier"]) for f in figs]
    cut_label = tx("Reached only in the dry season") if cut == "dry_season_only" else tx("Cut off")

    def thr(f: dict[str, Any]) -> list[float]:
        return [thresholds[f["tier"]]] if f["tier"] in thresholds else []

    spec: list[tuple[str, Any] | None] = [
        (tx("Localities slower"), lambda f: tx.integer(f["n_slower"])),
        (tx("Their population"), lambda f: tx.integer(f["pop_slower"])) if pk else None,
        (tx("Median minutes lost"), lambda f: tx.minutes(f["median_lost"], thr(f)) if f["n_slower"] else "\u2013"),
        (tx("Largest loss"), lambda f: tx.minutes(f["max_lost"], thr(f)) if f["n_slower"] else "\u2013"),
        (tx("Localities faster"), lambda f: tx.integer(f["n_faster"])),
        (tx("Median minutes gained"), lambda f: tx.minutes(f["median_gained"], thr(f)) if f["n_faster"] else "\u2013"),
        (cut_label, lambda f: tx.unknown if season_unknown and not f["n_cut"] else tx.integer(f["n_cut"])),
        (tx("Their population"), lambda f: tx.unknown if season_unknown and not f["n_cut"]
         else tx.integer(f["pop_cut"])) if pk else None,
        (tx("Newly reached"), lambda f: tx.integer(f["n_new"])),
        (tx("Unreachable in both"), lambda f: tx.integer(f["n_both"])),
        (tx("Unchanged"), lambda f: tx.integer(f["n_same"]))]
    rows = [[label, *(fn(f) for f in figs)] for item in spec if item is not None for label, fn in [item]]
    return Table(header, rows, [False] + [True] * len(figs), "scenario")


def _change_chart(loc: pd.DataFrame, tiers: list[str], cut: str, pk: bool, tx: Texts, title: str) -> str:
    """Per tier, the share of localities (or population) in each class of change, as the map
    colours them."""

    tier = tiers[0]
    edges = st.change_edges(pd.to_numeric(loc[change_col(tier)], errors="coerce"))
    labels = st.change_labels(edges, tx)
    keys = [k for k in range(9)] + [9, 10, 11]
    names = [labels.get(k, "") for k in range(9)] + [tx(st.STATUS_TEXT.get(cut, cut)), tx("newly reached"),
                                                   tx("unreachable in both")]
    colors = [*st.DIVERGING, st.CUT_OFF_COLOR, st.DIVERGING[-1], st.UNREACHED_COLOR]
    weight = np.nan_to_num(_pop(loc), nan=0.0) if pk else np.ones(len(loc))
    rows, used = [], set()
    for t in tiers:
        cls = st.change_class(pd.to_numeric(loc[change_col(t)], errors="coerce"), edges)
        status = loc[status_col(t)].astype(object).to_numpy()
        cls = np.where(cls >= 0, cls, np.where(status == cut, 9, np.where(status == "newly_reached", 10, 11)))
        total = weight.sum()
        shares = [float(weight[cls == k].sum() / total) if total > 0 else math.nan for k in keys]
        used |= {k for k, s in zip(keys, shares, strict=True) if s and s > 0}
        rows.append((tx.tier(t), shares))
    order = [k for k in (9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11) if k in used]
    pos = [keys.index(k) for k in order]
    return svg_stacked_shares([(n, [s[i] for i in pos]) for n, s in rows], [names[i] for i in pos],
                              [colors[i] for i in pos], title, tx=tx)


def _roads_text(study: StudyOutputs, name: str, tx: Texts) -> str | None:
    """What a scenario did to the roads, in km."""
    r = study.scenario_roads.get(name)
    if r is None or not len(r) or "change" not in r.columns:
        return None if name not in study.scenario_roads else tx("No road is changed.")
    r = r.drop_duplicates("segment") if "segment" in r.columns else r
    km = pd.Series(line_lengths_m(r.to_crs(4326).geometry.to_numpy()) / 1000.0, index=r.index)
    parts = []
    for code, text in (("closed", "{km} km closed ({n} road pieces)"), ("upgraded", "{km} km upgraded ({n} road pieces)"),
                       ("slowed", "{km} km slowed ({n} road pieces)")):
        sel = r["change"].astype(str) == code
        if sel.any():
            parts.append(tx(text, km=tx.number(km[sel].sum(), 0), n=tx.integer(int(sel.sum()))))
    return tx("Roads changed: {list}.", list=", ".join(parts))


def scenario_section(study: StudyOutputs, tx: Texts) -> list[dict[str, Any]]:
    """One block per scenario: sentences, the figures by tier, class transitions, a chart."""
    out = []
    pk = population_known(study.localities)
    thresholds = tier_thresholds(study)
    for name in scenario_names(study):
        loc = study.scenario_localities[name]
        tiers = scenario_tiers(loc)
        if not tiers:
            continue
        first = main_tier(study, tiers)
        tiers = [first, *[t for t in tiers if t != first]] if first else tiers
        cut = cut_off_code(study, name, loc)
        title = scenario_title(study, name, tx)
        figs = [tier_figures(loc, t, cut) for t in tiers]
        rec = scenario_record(study, name)
        season = rec.get("season") or {}
        unknown = bool(season.get("close_dry_season_only")) and season.get("network_records_season") is False
        sentences = [_tier_sentence(f, cut, pk, tx, [thresholds[f["tier"]]] if f["tier"] in thresholds else [],
                                    season_unknown=unknown) for f in figs]
        class_text, transitions = _class_sentence(loc, pk, tx)
        if class_text:
            sentences.append(class_text)
        out.append({
            "name": name, "title": title, "description": rec.get("description"),
            "roads": _roads_text(study, name, tx), "sentences": sentences,
            "table": _figures_table(figs, cut, pk, tx, thresholds, season_unknown=unknown), "transitions": transitions,
            "chart": _change_chart(loc, tiers, cut, pk, tx, tx("{scenario}: change of travel time, share of {unit}",
                                                              scenario=title, unit=tx("population") if pk
                                                              else tx("localities"))),
            "png": None})
    return out


def scenario_kpis(study: StudyOutputs, tx: Texts) -> list[tuple[str, ...]]:
    """Key figures: per scenario, the median minutes lost to the main tier and by how many."""
    out: list[tuple[str, ...]] = []
    thresholds = tier_thresholds(study)
    for name in scenario_names(study):
        loc = study.scenario_localities[name]
        tier = main_tier(study, scenario_tiers(loc))
        if tier is None:
            continue
        f = tier_figures(loc, tier, cut_off_code(study, name, loc))
        thr = [thresholds[tier]] if tier in thresholds else []
        label = tx("{scenario}: median time lost to {tier}", scenario=scenario_title(study, name, tx),
                   tier=tx.tier(tier))
        if f["n_slower"]:
            out.append((label, tx.minutes(f["median_lost"], thr),
                        tx("for {n} localities slower", n=tx.integer(f["n_slower"]))))
        elif f["n_faster"]:
            out.append((tx("{scenario}: median time gained to {tier}", scenario=scenario_title(study, name, tx),
                           tier=tx.tier(tier)), tx.minutes(f["median_gained"], thr),
                        tx("for {n} localities faster", n=tx.integer(f["n_faster"]))))
    return out


def season_methods(study: StudyOutputs, tx: Texts) -> list[dict[str, Any]]:
    """Per scenario, what it changes and with which factors (a table of the season's factors)."""
    out = []
    for name in scenario_names(study):
        rec = scenario_record(study, name)
        items: list[str] = []
        season = rec.get("season") or {}
        factors: list[list[str]] = []
        if season:
            if season.get("close_dry_season_only"):
                items.append(tx("roads the network records as usable in the dry season only are closed") +
                             (" " + tx("(this network records no season of use: none is)")
                              if season.get("network_records_season") is False else ""))
            if season.get("close_fords"):
                items.append(tx("fords are closed") + (" " + tx("(this network records no ford: none is)")
                                                       if season.get("network_records_fords") is False else ""))
            if st.present(season.get("walk_factor")) and float(season["walk_factor"]) != 1.0:
                items.append(tx("walking to the road is slowed to {share} of its speed",
                                share=tx.percent(float(season["walk_factor"]), 0)))
            items.append(tx("the speed of every other road is multiplied by the factor of its surface (of its "
                            "class where the surface is unknown), its track grade and smoothness, the lowest "
                            "that applies"))
            for key, what in (("surface_factor", "surface"), ("highway_factor", "highway"),
                              ("tracktype_factor", "tracktype"), ("smoothness_factor", "smoothness")):
                by_factor: dict[float, list[str]] = {}
                for value, factor in (season.get(key) or {}).items():
                    by_factor.setdefault(float(factor), []).append(tx.term(what, value))
                for factor, values in sorted(by_factor.items()):
                    factors.append([tx(_FACTOR_KIND[what]), tx.number(factor, 2), ", ".join(values)])
        for up in rec.get("upgrades") or []:
            items.append(tx("upgrade: {name}", name=up))
        for cl in rec.get("closures") or []:
            items.append(tx("closure: {name}", name=cl))
        file = str(season.get("file") or "")
        builtin = file.startswith("<built-in")
        items = [i[0].upper() + i[1:] if i else i for i in items[:1]] + items[1:]
        out.append({"title": scenario_title(study, name, tx), "changes": items,
                    "file": file.strip("<>") if file else None,
                    "assumed": tx("The factors of the built-in season are assumptions of this project, of the order "
                                  "field reports give, not measurements: replace them with local values.")
                    if builtin else None,
                    "factors": Table([tx("Applies to"), tx("Speed factor"), tx("Values")], factors,
                                     [False, True, False], "factors") if factors else None})
    return out


_FACTOR_KIND = {"surface": "Surface", "highway": "Road class", "tracktype": "Track grade",
                "smoothness": "Smoothness"}


# ---------------------------------------------------------------------------------------------
# Rural Access Index


def rai_kpis(study: StudyOutputs, tx: Texts) -> list[tuple[str, ...]]:
    """Key figures of the index (and the share of places when the index is unknown)."""
    fig = rai_figures(study)
    if fig is None:
        return []
    dist = km_text(rai_distance_m(study), tx)
    if math.isfinite(fig["rai"]):
        return [(tx("Rural Access Index (SDG 9.1.1)"), tx.percent(fig["rai"], 1))]
    return [(tx("Rural Access Index (SDG 9.1.1)"), tx.unknown, rai_reason(fig["reason"], tx)),
            (tx("Rural localities within {distance} of an all-season road", distance=dist),
             tx.percent(fig["share_of_places"], 1),
             tx("{within} of {total}", within=tx.integer(fig["rural_places_within"]),
                total=tx.integer(fig["rural_places"])))]


def rai_section(study: StudyOutputs, tx: Texts, max_areas: int = 25) -> dict[str, Any] | None:
    """The index for the study, base and scenarios, per area, with its method and references."""
    t = study.rai
    base = rai_figures(study)
    if t is None or base is None:
        return None
    dist = km_text(rai_distance_m(study), tx)
    scen = [str(s) for s in pd.unique(t["scenario"].astype(str))] if "scenario" in t.columns else ["base"]
    known = any(math.isfinite(rai_figures(study, s)["rai"]) for s in scen if rai_figures(study, s))  # type: ignore[index]
    header = [tx("Scenario"), tx("Rural Access Index")]
    header += [tx("Rural population within {distance}", distance=dist), tx("Rural population")] if known else []
    header += [tx("Rural localities within {distance}", distance=dist), tx("Share of rural localities")]
    rows = []
    for s in scen:
        f = rai_figures(study, s)
        if f is None:
            continue
        label = tx("base study") if s == "base" else scenario_title(study, s, tx)
        rai = tx.percent(f["rai"], 1) if math.isfinite(f["rai"]) else \
            Markup("{}<br><small>{}</small>").format(tx.unknown, rai_reason(f["reason"], tx))
        row: list[Any] = [label, rai]
        if known:
            row += [tx.integer(f["rural_population_within"]), tx.integer(f["rural_population"])]
        row += [tx("{within} of {total}", within=tx.integer(f["rural_places_within"]),
                   total=tx.integer(f["rural_places"])), tx.percent(f["share_of_places"], 1)]
        rows.append(row)
    table = Table(header, rows, [False] + [True] * (len(header) - 1), "rai")
    areas = None
    sub = t[(t["scenario"].astype(str) == "base") & (t["area"].astype(str) != "study")] if "area" in t.columns \
        and "scenario" in t.columns else t.iloc[0:0]
    if len(sub):
        sub = sub.sort_values("rai" if known else "share_of_rural_places_within", kind="stable")
        arows = [[str(r["area"]), tx.percent(r["rai"], 1) if st.present(r.get("rai")) else tx.unknown,
                  tx("{within} of {total}", within=tx.integer(r["rural_places_within"]),
                     total=tx.integer(r["rural_places"]))] for _i, r in sub.head(max_areas).iterrows()]
        areas = Table([tx("Area"), tx("Rural Access Index"), tx("Rural localities within {distance}", distance=dist)],
                      arows, [False, True, True], "rai-areas")
    rec = methods(study).get("rai") or {}
    rule = rec.get("all_season") or {}
    surfaces = ", ".join(tx.term("surface", s) for s in rule.get("surfaces") or [])
    classes = ", ".join(tx.term("highway", c) for c in rule.get("classes_when_surface_unknown") or [])
    km = ((study.study or {}).get("rai") or {}).get("base", {}).get("all_season_km")
    return {
        "sentence": rai_sentence(base, dist, tx), "table": table, "areas": areas,
        "all_season": tx("All-season roads: surfaces {surfaces}; where the surface is not recorded, the classes "
                         "{classes} (an assumption: main roads are usually paved). A road the network records as "
                         "usable in the dry season only is never all-season.", surfaces=surfaces or tx.unknown,
                         classes=classes or tx.unknown),
        "km": tx("{km} km of all-season road in the study area.", km=tx.number(km, 0)) if st.present(km) else None,
        "distance": tx("Distance: the straight line to the nearest all-season road, {distance}, as the World "
                       "Bank measures the index.", distance=dist),
        "rural": (tx("Rural: localities flagged rural by the column {column}.", column=rec["rural_column"])
                  if rec.get("rural_column") else
                  tx("Rural: localities of at most {density} inhabitants per km\u00b2 (the Degree of Urbanisation's "
                     "urban-cluster threshold); a locality of unknown density counts as rural.",
                     density=tx.number(float(rec.get("urban_density_per_km2") or 300.0), 0))),
        "population": tx("Population: each locality counted whole by its point.") if rec.get("population") !=
        "raster" else tx("Population: a population raster, each cell counted by its centre."),
        "references": [
            "Roberts, P., KC, S. & Rastogi, C. (2006). Rural Access Index: A Key Development Indicator. "
            "World Bank Transport Paper TP-10.",
            "World Bank (2016). Measuring Rural Access: Using New Technologies (supplementary guidelines).",
            "Mikou, M., Rozenberg, J., Koks, E., Fox, C. & Peralta Quiros, T. (2019). Assessing Rural "
            "Accessibility and Rural Roads Investment Needs Using Open Source Data. World Bank Policy Research "
            "Working Paper 8746.",
            "Dijkstra, L. & Poelman, H. (2014). A harmonised definition of cities and rural areas: the new "
            "degree of urbanisation. European Commission Regional Working Paper 01/2014."],
    }


def _swatch_row(color: str, text: str) -> Markup:
    return swatch(color, text)


__all__ = ["rai_kpis", "rai_section", "scenario_kpis", "scenario_names", "scenario_section", "season_methods",
           "signed_minutes", "tier_figures"]
