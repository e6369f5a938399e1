"""The sections of the study report: each builder reads a study and returns what the template
shows (tables of formatted text, charts, notes), in the reader's language.

Numbers go through :class:`~territorial_gis._i18n.Texts` (Babel), so the report prints every value
as the map does; where population is unknown the tables count localities instead and say so.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from . import _style as st
from . import outputs as o
from ._basemap import id_names, locality_labels, nearest_names, stretch_names
from ._charts import population_by_band, population_by_class, svg_bar_chart, svg_stacked_shares
from ._i18n import Texts
from ._studymeta import (
    config,
    methods,
    notes,
    population_known,
    study_bands,
    study_tiers,
    surface_known,
    tier_thresholds,
    upgrade_order,
)
from .columns import (
    CENTRE_TIME_MIN,
    HUB_ID,
    HUB_TIME_MIN,
    NAME,
    POPULATION,
    TERRITORY_ID,
    time_col,
)
from .outputs import SCENARIO_PREFIX, StudyOutputs, study_files


@dataclass
class Table:
    """A table for the report template: header, rows of text, which columns are numbers."""

    header: list[str]
    rows: list[list[Any]]
    numeric: list[bool] = field(default_factory=list)
    css: str = ""

    def __post_init__(self) -> None:
        if not self.numeric:
            self.numeric = [False] * len(self.header)


def swatch(color: str, label: str) -> Markup:
    """A colour swatch and its label (HTML)."""
    return Markup('<span class="sw" style="background:{}"></span>{}').format(color, label)


def _pop(df: pd.DataFrame) -> np.ndarray:
    return pd.to_numeric(df[POPULATION], errors="coerce").to_numpy(float) if POPULATION in df.columns \
        else np.full(len(df), np.nan)


def _sum(v: np.ndarray) -> float:
    """Sum of the known values; NaN when none is known."""
    return float(np.nansum(v)) if np.isfinite(v).any() else math.nan


def _share(part: float, total: float) -> float:
    return part / total if total and math.isfinite(total) and total > 0 and math.isfinite(part) else math.nan


# ---------------------------------------------------------------------------------------------
# headline and classes


def headline(study: StudyOutputs, tx: Texts) -> dict[str, Any]:
    """Key figures and the caveats a reader must see first."""
    loc = study.localities
    pk = population_known(loc)
    pop = _pop(loc)
    keys = st.class_keys(loc)
    mra = np.asarray([k.startswith("MRA") for k in keys])
    total = _sum(pop)
    kpis = [(tx("Localities"), tx.integer(len(loc))),
            (tx("Population"), tx.integer(total) if pk else tx.unknown),
            (tx("Marginal (MRA) localities"),
             f"{tx.integer(mra.sum())} ({tx.percent(_share(mra.sum(), len(loc)), 1)})")]
    if pk:
        mp = _sum(pop[mra]) if mra.any() else 0.0
        kpis.append((tx("Population in marginal areas"), f"{tx.integer(mp)} ({tx.percent(_share(mp, total), 1)})"))
    for tier in study_tiers(study):
        t = pd.to_numeric(loc[time_col(tier)], errors="coerce")
        kpis.append((tx("Median travel time to {tier}", tier=tx.tier(tier)),
                     tx.minutes(t.median()) if t.notna().any() else tx.unknown))
    no_time = 0
    for tier in study_tiers(study):
        no_time = max(no_time, int(pd.to_numeric(loc[time_col(tier)], errors="coerce").isna().sum()))
    kpis.append((tx("Localities without a travel time"), tx.integer(no_time)))
    caveats = []
    if not pk:
        caveats.append(tx("Population is unknown for the localities of this study: figures that need "
                          "population are not given, localities are counted instead, and corridors and "
                          "upgrades are ranked by the number of localities they serve."))
    caveats += notes(study)
    return {"kpis": kpis, "caveats": caveats}


def class_section(study: StudyOutputs, tx: Texts) -> dict[str, Any]:
    """Localities and population by class and MRA type, with a chart."""
    loc = study.localities
    pk = population_known(loc)
    by = population_by_class(loc)
    header = [tx("Class"), tx("Localities"), tx("Share of localities")]
    if pk:
        header += [tx("Population"), tx("Share of population")]
    rows = []
    for r in by.to_dict("records"):
        row: list[Any] = [swatch(r["color"], st.class_label(r["class"], tx)), tx.integer(r["localities"]),
                          tx.percent(r["localities_share"], 1)]
        if pk:
            row += [tx.integer(r["population"]), tx.percent(r["population_share"], 1)]
        rows.append(row)
    total: list[Any] = [tx("Total"), tx.integer(len(loc)), tx.percent(1.0, 1)]
    if pk:
        total += [tx.integer(_sum(_pop(loc))), tx.percent(1.0, 1)]
    rows.append(total)
    values = by["population"] if pk else by["localities"]
    chart = svg_bar_chart([st.class_label(k, tx) for k in by["class"]], list(values), list(by["color"]),
                          tx("Population by class") if pk else tx("Localities by class"), tx=tx)
    note = None if pk else tx("Population unknown: localities are counted.")
    return {"table": Table(header, rows, [False] + [True] * (len(header) - 1), "classes"),
            "chart": chart, "note": note}


# ---------------------------------------------------------------------------------------------
# travel times


def travel_time_section(study: StudyOutputs, tx: Texts, bands_min: Sequence[float] | None
                        ) -> dict[str, Any]:
    """Per tier, population (or localities) by the study's own travel-time bands and by class."""
    loc = study.localities
    pk = population_known(loc)
    keys = st.class_keys(loc)
    broad = np.where([k.startswith("MRA") for k in keys], "MRA", np.where(keys == "FRA", "FRA", "other"))
    groups = [g for g in ("FRA", "MRA", "other") if (broad == g).any()]
    thresholds = tier_thresholds(study)
    tiers, stacked = [], []
    all_names: list[str] = []
    for tier in study_tiers(study):
        edges = list(bands_min) if bands_min else study_bands(study, tier)
        b = population_by_band(loc, tier, edges, lang=tx.lang)
        t = pd.to_numeric(loc[time_col(tier)], errors="coerce").to_numpy(float)
        idx = np.where(np.isnan(t), len(edges) + 1, np.searchsorted(np.asarray(edges, float), t, side="right"))
        weight = np.nan_to_num(_pop(loc), nan=0.0) if pk else np.ones(len(loc))
        rows = []
        for k, label in enumerate(b["band"]):
            sel = idx == k
            cells = [tx.integer(weight[sel & (broad == g)].sum()) for g in groups]
            rows.append([swatch(_band_color(k, len(edges)), label), *cells, tx.integer(weight[sel].sum()),
                         tx.percent(_share(weight[sel].sum(), weight.sum()), 1)])
        header = [tx("Travel time")] + [_group_label(g, tx) for g in groups] + [tx("Total"), tx("Share")]
        thr = thresholds.get(tier)
        tiers.append({"tier": tx.tier(tier), "id": tier, "edges": edges,
                      "table": Table(header, rows, [False] + [True] * (len(header) - 1), f"bands bands-{tier}"),
                      "threshold": tx.minutes_threshold(thr) if thr is not None else None})
        stacked.append((tx.tier(tier), [_share(weight[idx == k].sum(), weight.sum()) for k in range(len(b))]))
        all_names = list(b["band"]) if len(b) > len(all_names) else all_names
    chart = ""
    if stacked and all(len(s[1]) == len(stacked[0][1]) for s in stacked):
        n_edges = len(stacked[0][1]) - 2
        chart = svg_stacked_shares(stacked, all_names, [_band_color(k, n_edges) for k in range(n_edges + 2)],
                                   tx("Share of population by travel time") if pk else
                                   tx("Share of localities by travel time"), tx=tx)
    return {"tiers": tiers, "chart": chart, "unit": tx("population") if pk else tx("localities")}


def _band_color(k: int, n_edges: int) -> str:
    """Colour of band ``k`` of ``n_edges`` cuts (``n_edges + 1`` bands, then "no travel time")."""
    if k > n_edges:
        return st.UNREACHED_COLOR
    return st.ramp_colors(n_edges + 1)[k]


def _group_label(g: str, tx: Texts) -> str:
    return {"FRA": "FRA", "MRA": "MRA", "other": tx("not classified")}[g]


def within_section(study: StudyOutputs, tx: Texts) -> Table | None:
    """Population (or localities) within each threshold of ``[access] population_within_min``."""
    pw = study.population_within
    if pw is not None and len(pw) and {"tier", "threshold_min"} <= set(pw.columns):
        rows = [[tx.tier(r.tier), f"\u2264 {tx.minutes_threshold(r.threshold_min)}",
                 tx.integer(getattr(r, "population_within", math.nan)),
                 tx.percent(getattr(r, "share_within", math.nan), 1),
                 tx.integer(getattr(r, "places_within", math.nan))] for r in pw.itertuples()]
        return Table([tx("Destination tier"), tx("Within"), tx("Population"), tx("Share of population"),
                      tx("Localities")], rows, [False, False, True, True, True], "within")
    loc = study.localities
    limits = (config(study).get("access") or {}).get("population_within_min") or []
    if not limits:
        return None
    rows = []
    for tier in study_tiers(study):
        t = pd.to_numeric(loc[time_col(tier)], errors="coerce")
        for lim in limits:
            n = int((t <= float(lim)).sum())
            rows.append([tx.tier(tier), f"\u2264 {tx.minutes_threshold(float(lim))}", tx.integer(n),
                         tx.percent(_share(n, len(loc)), 1)])
    return Table([tx("Destination tier"), tx("Within"), tx("Localities"), tx("Share of localities")], rows,
                 [False, False, True, True], "within")


# ---------------------------------------------------------------------------------------------
# corridors and upgrades


def corridor_section(study: StudyOutputs, tx: Texts, top_n: int) -> dict[str, Any] | None:
    """The top corridors with the names of their ends."""
    cor = study.corridors
    if cor is None or not len(cor):
        return None
    pk = population_known(study.localities)
    dest_names = id_names(study.destinations)
    if pk and "population_served" in cor.columns:
        cor = cor.sort_values("population_served", ascending=False, kind="stable")
        note = tx("The corridors serving most people.")
    else:
        cor = cor.sort_values("travel_time_min", ascending=False, kind="stable") \
            if "travel_time_min" in cor.columns else cor
        note = tx("Population unknown: corridors are listed from the longest trip, not by people served.")
    known_surface = surface_known(study.read_roads()) or surface_known(study.segments)
    header = [tx("From"), tx("To"), tx("Travel time"), tx("Length (km)"), tx("Unpaved or track")]
    if pk:
        header.append(tx("Population served"))
    rows = []
    top = cor.head(top_n)
    loc_names = locality_labels(study.localities, list(top.get("origin_id", [])), study.destinations, tx)
    for r in top.to_dict("records"):
        share = r.get("unpaved_share")
        unknown_share = not known_surface and (share is None or share == 0)
        row = [loc_names.get(str(r.get("origin_id")), str(r.get("origin_id"))),
               f'{dest_names.get(str(r.get("target_id")), str(r.get("target_id")))} ({tx.tier(r.get("target_tier", ""))})',
               tx.minutes(r.get("travel_time_min")), tx.number(r.get("length_km"), 1),
               tx.unknown if unknown_share else tx.percent(share, 0)]
        if pk:
            row.append(tx.integer(r.get("population_served")))
        rows.append(row)
    return {"table": Table(header, rows, [False, False, True, True, True] + [True] * pk, "corridors"),
            "note": note, "total": tx.integer(len(cor))}


def upgrade_section(study: StudyOutputs, tx: Texts, top_n: int) -> dict[str, Any] | None:
    """The top road upgrades with road names, and how they are ranked."""
    up = study.upgrades
    if up is None or not len(up):
        return None
    pk = population_known(study.localities)
    names = stretch_names(study.segments, study.read_roads())
    top = upgrade_order(pd.DataFrame(up), pk).head(top_n)
    header = ["#", tx("Road"), tx("Road class now"), tx("Length (km)"), tx("Speed (km/h)")]
    header += [tx("Person-minutes saved per km")] if pk else [tx("Localities with shorter trips")]
    header.append(tx("Largest time saved"))
    rows = []
    for r in top.to_dict("records"):
        speed = (f'{tx.number(r.get("speed_kph"), 0)} \u2192 {tx.number(r.get("upgrade_speed_kph"), 0)}'
                 if st.present(r.get("speed_kph")) and st.present(r.get("upgrade_speed_kph")) else tx.unknown)
        rows.append([str(r["display_rank"]), names.get(r.get("stretch_id"), tx("unnamed road")),
                     _upgrade_class(r.get("highway"), r.get("upgrade_to"), tx),
                     tx.number(r.get("length_km"), 1), speed,
                     tx.integer(r.get("person_min_saved_per_km")) if pk else tx.integer(r.get("n_localities_affected")),
                     tx.minutes(r.get("max_saved_min"))])
    note = tx("Ranked by person-minutes saved per km of road, re-routing every locality.") if pk else \
        tx("Population unknown: ranked by the number of localities whose travel time falls, then by the "
           "largest saving; not by person-minutes.")
    return {"table": Table(header, rows, [True, False, False, True, True, True, True], "upgrades"), "note": note}


# ---------------------------------------------------------------------------------------------
# hubs and territories


def _group_stats(loc: pd.DataFrame, key: str, time: str) -> pd.DataFrame:
    df = pd.DataFrame({"key": loc[key].astype(object).map(lambda v: str(v) if st.present(v) else None),
                       "pop": _pop(loc), "t": pd.to_numeric(loc[time], errors="coerce") if time in loc.columns
                       else np.nan, "mra": [k.startswith("MRA") for k in st.class_keys(loc)]})
    df = df[df["key"].notna()]
    df["mra_pop"] = np.where(df["mra"], df["pop"], 0.0)
    g = df.groupby("key")
    return pd.DataFrame({"n": g.size(), "pop": g["pop"].sum(min_count=1), "mra_pop": g["mra_pop"].sum(min_count=1),
                         "median": g["t"].median(), "max": g["t"].max()})


def _layer_stats(frame: pd.DataFrame, key: str, columns: dict[str, str]) -> pd.DataFrame:
    """The same figures read from a layer's own columns (when the localities do not say which
    hub or territory they belong to); missing columns are unknown."""
    out = pd.DataFrame(index=frame[key].astype(str).to_numpy())
    for name in ("n", "pop", "mra_pop", "median", "max"):
        col = columns.get(name)
        out[name] = pd.to_numeric(frame[col], errors="coerce").to_numpy() if col and col in frame.columns \
            else np.nan
    return out


def _upgrade_class(now: Any, to: Any, tx: Texts) -> str:
    """``"tertiary \u2192 secondary"``, or ``"secondary, to its full standard"`` for the same class."""
    if not st.present(now) or not st.present(to):
        return tx.unknown
    if str(now) == str(to):
        return tx("{road_class}, to its full standard", road_class=tx.term("highway", str(now)))
    return f'{tx.term("highway", str(now))} \u2192 {tx.term("highway", str(to))}'


def hub_section(study: StudyOutputs, tx: Texts, max_rows: int = 15) -> dict[str, Any] | None:
    """Hubs and the figures of their hinterlands."""
    hubs = study.hubs
    if hubs is None or not len(hubs) or HUB_ID not in hubs.columns:
        return None
    loc = study.localities
    pk = population_known(loc)
    if HUB_ID in loc.columns:
        stats = _group_stats(loc, HUB_ID, HUB_TIME_MIN)
    else:
        stats = _layer_stats(hubs, HUB_ID, {"n": "n_localities", "pop": "population", "median": "median_time_hub_min",
                                            "max": "max_time_hub_min"})
        if "mra_population_share" in hubs.columns:
            stats["mra_pop"] = stats["pop"] * pd.to_numeric(hubs["mra_population_share"], errors="coerce").to_numpy()
    names = _display_names(study, hubs, HUB_ID, NAME, "Hub", tx)
    header = [tx("Hub"), tx("Localities")] + ([tx("Population"), tx("In marginal areas")] if pk else []) + \
        [tx("Median time to the hub"), tx("Longest time to the hub")]
    rows = []
    order = stats.sort_values("pop" if pk else "n", ascending=False).index
    for hid in order[:max_rows]:
        r = stats.loc[hid]
        row = [names.get(hid, tx("Hub") + f" {hid}"), tx.integer(r["n"])]
        if pk:
            row += [tx.integer(r["pop"]), tx.percent(_share(r["mra_pop"], r["pop"]), 0)]
        row += [tx.minutes(r["median"]), tx.minutes(r["max"])]
        rows.append(row)
    hub_cfg = config(study).get("hubs") or {}
    intro = tx("{n} hub localities, chosen so that every locality lies within {minutes} of one "
               "(model: {model}).", n=tx.integer(len(hubs)),
               minutes=tx.minutes_threshold(float(hub_cfg.get("max_time_min", math.nan)))
               if st.present(hub_cfg.get("max_time_min")) else tx.unknown,
               model=str(hub_cfg.get("model", "cover")))
    more = tx("The {n} hubs with the largest hinterlands; every hub is in hubs.gpkg.", n=tx.integer(len(rows))) \
        if len(order) > max_rows else None
    return {"intro": intro, "note": more, "table": Table(header, rows, [False] + [True] * (len(header) - 1), "hubs")}


def territory_section(study: StudyOutputs, tx: Texts, max_rows: int = 25) -> dict[str, Any] | None:
    """Functional territories: population, localities, times to the centre, link to jobs."""
    ter = study.territories
    loc = study.localities
    if ter is None or not len(ter) or TERRITORY_ID not in ter.columns:
        return None
    pk = population_known(loc)
    if TERRITORY_ID in loc.columns:
        stats = _group_stats(loc, TERRITORY_ID, CENTRE_TIME_MIN)
    else:
        stats = _layer_stats(ter, TERRITORY_ID, {"n": "n_localities", "pop": "population",
                                                  "median": "median_time_centre_min"})
    names = _display_names(study, ter, TERRITORY_ID, "centre_name", "Territory", tx)
    linked = {str(k): (v, m) for k, v, m in zip(ter[TERRITORY_ID], ter.get("linked_to_dynamic_market", [None] * len(ter)),
                                                 ter.get("centre_travel_time_employment_min", [None] * len(ter)), strict=True)}
    header = [tx("Territory"), tx("Localities")] + ([tx("Population")] if pk else []) + \
        [tx("Median time to the centre"), tx("Longest time to the centre"), tx("Centre linked to an employment centre")]
    rows = []
    for tid in stats.sort_values("pop" if pk else "n", ascending=False).index[:max_rows]:
        r = stats.loc[tid]
        lk, minutes = linked.get(tid, (None, None))
        yes = st.present(lk) and str(lk).strip().lower() in ("true", "1", "1.0", "yes")
        link = tx.unknown if not st.present(lk) else (
            tx("yes, {minutes} away", minutes=tx.minutes(minutes)) if yes and st.present(minutes)
            else tx("yes") if yes else tx("no"))
        row = [names.get(tid, tx("Territory") + f" {tid}"), tx.integer(r["n"])]
        if pk:
            row.append(tx.integer(r["pop"]))
        row += [tx.minutes(r["median"]), tx.minutes(r["max"]), link]
        rows.append(row)
    outside = int(loc[TERRITORY_ID].isna().sum()) if TERRITORY_ID in loc.columns else 0
    note = tx("{n} localities lie in no territory (no centre within reach).", n=tx.integer(outside)) if outside else None
    return {"table": Table(header, rows, [False, True] + [True] * pk + [True, True, False], "territories"),
            "note": note, "n": tx.integer(len(ter))}


def _display_names(study: StudyOutputs, frame: pd.DataFrame, id_col: str, name_col: str, what: str,
                   tx: Texts) -> dict[str, str]:
    """``id -> readable name``: own name, the locality's or destination's name, else the nearest
    named place ("Hub near X")."""
    lookup = {**id_names(study.localities), **id_names(study.destinations)}
    ids = [str(v) for v in frame[id_col]]
    own = [str(v) if st.present(v) else lookup.get(i) for i, v in
           zip(ids, frame[name_col] if name_col in frame.columns else [None] * len(frame), strict=True)]
    out = {i: o for i, o in zip(ids, own, strict=True) if o}
    missing = [k for k, o in enumerate(own) if not o]
    if missing and hasattr(frame, "geometry"):
        near = nearest_names(frame.geometry.iloc[missing], [study.destinations, study.localities])
        for k, nb in zip(missing, near, strict=True):
            if nb is not None:
                out[ids[k]] = tx("{what} near {place}", what=tx(what), place=nb[0])
    return out


# ---------------------------------------------------------------------------------------------
# sensitivity, methods, inputs, downloads

#: agro-ecological rule keys -> (msgid of the indicator, unit)
_INDICATORS = {"max_slope_deg": ("Slope", "\u00b0"), "max_altitude_m": ("Altitude", "\u00a0m"),
               "min_suitability_index": ("Crop suitability index", ""),
               "max_ruggedness_m": ("Terrain ruggedness (TRI)", "\u00a0m")}


def threshold_text(name: str, value: float, tx: Texts) -> tuple[str, str]:
    """(plain name, value with its unit) of a rule threshold such as ``access.max_hours.town``."""
    if name.startswith("access.max_hours."):
        tier = name.removeprefix("access.max_hours.")
        return tx("Travel time to {tier}", tier=tx.tier(tier)), tx.minutes_threshold(value * 60.0)
    if name.startswith("agroecology."):
        label, unit = _INDICATORS.get(name.removeprefix("agroecology."), (name, ""))
        return tx(label), f"{tx.number(value, 1 if value != int(value) else 0)}{unit}"
    if name == "density.threshold_per_km2":
        return tx("Population density"), f"{tx.number(value, 0)}/km\u00b2"
    return name, tx.number(value, 2)


def sensitivity_section(study: StudyOutputs, tx: Texts) -> dict[str, Any] | None:
    """How the MRA share moves when each threshold moves: one row per threshold."""
    sens = study.sensitivity
    if sens is None or not len(sens) or "parameter" not in sens.columns:
        return None
    pk = population_known(study.localities) and "population_share_MRA" in sens.columns \
        and sens["population_share_MRA"].notna().any()
    col = "population_share_MRA" if pk else "areas_share_MRA"
    base = sens[sens["parameter"] == "baseline"]
    changes = sorted({float(c) for c in sens["change_pct"] if float(c) != 0.0})
    header = [tx("Threshold"), tx("Now")] + [("+" if c > 0 else "\u2212") + tx.percent(abs(c) / 100.0, 0)
                                             for c in changes]
    rows = []
    for param, grp in sens[sens["parameter"] != "baseline"].groupby("parameter", sort=False):
        ref = grp[grp["change_pct"] != 0].iloc[0]
        now = float(ref["threshold"]) / (1.0 + float(ref["change_pct"]) / 100.0)
        label, now_text = threshold_text(str(param), now, tx)
        cells: list[Any] = [label, now_text]
        for c in changes:
            r = grp[np.isclose(grp["change_pct"].astype(float), c)]
            if not len(r):
                cells.append("")
                continue
            r0 = r.iloc[0]
            _l, thr = threshold_text(str(param), float(r0["threshold"]), tx)
            cells.append(Markup("{}<br><small>{} \u00b7 {}</small>").format(
                tx.percent(r0[col], 0), thr, tx("{n} change", n=tx.integer(r0.get("n_changed", 0)))))
        rows.append(cells)
    basis = tx("share of the population in marginal areas") if pk else tx("share of areas that are marginal")
    now_share = tx.percent(base[col].iloc[0], 0) if len(base) else tx.unknown
    return {"table": Table(header, rows, [False, True] + [True] * len(changes), "sensitivity"),
            "intro": tx("Each threshold moved alone; cells show the {basis} (now {now}), the threshold "
                        "and how many areas change class.", basis=basis, now=now_share)}


def methods_section(study: StudyOutputs, tx: Texts, bands: dict[str, list[float]]) -> dict[str, Any]:
    """The rules and thresholds with their sources, the speed profile and routing options."""
    meta = methods(study)
    rules = meta.get("rules") or {}
    thresholds, unused = [], []
    skip = set(rules.get("not_applied") or [])
    for key, value in (rules.get("thresholds") or {}).items():
        label, text = threshold_text(key, float(value), tx)
        if key in skip:
            unused.append(label)
            continue
        thresholds.append([label, text, (rules.get("sources") or {}).get(key, "")])
    combine = {"any": tx("any"), "all": tx("all")}
    speeds = (meta.get("speed_profile") or {}).get("highway_speed_kph") or {}
    items = sorted(speeds.items(), key=lambda kv: -kv[1])
    half = math.ceil(len(items) / 2)
    speed_rows = [[tx.term("highway", a[0]), tx.number(a[1], 0)] + ([tx.term("highway", b[0]), tx.number(b[1], 0)]
                                                                   if b else ["", ""])
                  for a, b in zip(items[:half], items[half:] + [None] * (half - len(items[half:])), strict=True)]
    routing = meta.get("routing") or {}
    profile = meta.get("speed_profile") or {}
    tiers = [[tx.tier(t), _tier_rule(v, tx)] for t, v in (meta.get("tiers") or (config(study).get("tiers") or {})).items()]
    return {
        "rules_file": rules.get("file"), "rules_about": rules.get("about"),
        "access_combine": combine.get(rules.get("access_combine", ""), rules.get("access_combine")),
        "agro_combine": combine.get(rules.get("agro_combine", ""), rules.get("agro_combine")),
        "density_role": rules.get("density_role"),
        "thresholds": Table([tx("Rule"), tx("Threshold"), tx("Source")], thresholds, [False, True, False], "rules")
        if thresholds else None,
        "not_applied": tx("Not applied, no data in this study: {rules}.", rules=", ".join(unused)) if unused else None,
        "speeds": Table([tx("Road class"), "km/h", tx("Road class"), "km/h"], speed_rows, [False, True, False, True],
                        "speeds") if speed_rows else None,
        "profile_file": str(profile.get("file") or "").strip("<>") or None, "profile_about": profile.get("about"),
        "walk_kph": tx.number(routing.get("walk_kph") or profile.get("walk_speed_kph") or math.nan, 1),
        "max_snap": tx.number((routing.get("max_snap_m") or math.nan) / 1000.0, 1),
        "tiers": Table([tx("Destination tier"), tx("Definition")], tiers, [False, False], "tiers") if tiers else None,
        "bands": [(tx.tier(t), ", ".join(tx.minutes_threshold(e) for e in edges)) for t, edges in bands.items()],
    }


def _tier_rule(v: Any, tx: Texts) -> str:
    if isinstance(v, dict):
        if "catalogue" in v:
            opts = ", ".join(f"{k} = {x}" for k, x in v.items() if k != "catalogue")
            return tx("catalogue {name}", name=v["catalogue"]) + (f" ({opts})" if opts else "")
        if "file" in v:
            return tx("file {name}", name=Path(str(v["file"])).name)
        return ", ".join(f"{k} = {x}" for k, x in v.items())
    text = str(v)
    return tx("file {name}", name=Path(text).name) if ("/" in text or "\\" in text) else text


_INPUT_NAMES = {"network.source": "Road network", "network.profile": "Speed profile",
                "network.schema": "Road layer schema", "localities.file": "Localities",
                "localities.path": "Localities", "classify.rules": "Classification rules",
                "classify.areas": "Areas", "outputs.water": "Rivers and lakes",
                "outputs.boundaries": "Boundaries"}


def input_section(study: StudyOutputs, tx: Texts) -> dict[str, Any]:
    """The inputs (plain names, file names and checksums, never local paths) and the credits."""
    meta = study.study or {}
    hashes = meta.get("input_hashes") or {}
    rows = []
    raw = meta.get("inputs") or []
    items = raw.items() if isinstance(raw, dict) else [(str(v.get("name", "")), v) if isinstance(v, dict)
                                                       else ("", {"path": v}) for v in raw]
    for key, v in items:
        spec = v if isinstance(v, dict) else {"path": v}
        path = str(spec.get("path") or spec.get("file") or "")
        base = key.rsplit(".", 1)[0] if key.startswith("outputs.") and key.count(".") > 1 else key
        if key.startswith("tiers."):
            label = tx("Destinations: {tier}", tier=tx.tier(key.removeprefix("tiers.")))
        elif key.startswith("terrain.rasters."):
            raster = key.removeprefix("terrain.rasters.")
            label = tx("Elevation (DEM)") if raster.lower() in ("dem", "elevation", "altitude") else \
                tx("Raster: {name}", name=raster)
        else:
            label = tx(_INPUT_NAMES[base]) if base in _INPUT_NAMES else key
        source = spec.get("source") or spec.get("url") or spec.get("provider") or ""
        digest = hashes.get(key) or spec.get("sha256") or ""
        rows.append([label, Path(path).name if path else "", str(source),
                     f"{digest[:12]}\u2026" if len(str(digest)) > 12 else str(digest)])
    att = meta.get("attribution") or {}
    credits = [f"{k}: {v}" for k, v in att.items()] if isinstance(att, dict) else \
        [a if isinstance(a, str) else "; ".join(f"{k}: {x}" for k, x in a.items()) if isinstance(a, dict)
         else str(a) for a in (att if isinstance(att, list) else [att])]
    show_source = any(r[2] for r in rows)
    header = [tx("Input"), tx("File")] + ([tx("Source")] if show_source else []) + ["SHA-256"]
    rows = [r if show_source else [r[0], r[1], r[3]] for r in rows]
    table = Table(header, rows, [False] * len(header), "inputs") if rows else None
    return {"table": table, "credits": credits}


_FILE_TEXT = {o.LOCALITIES: "localities with travel times, classes and reasons (GeoPackage)",
              o.SUMMARY: "population and localities by class (CSV)",
              o.POPULATION_WITHIN: "population within each travel time (CSV)",
              o.SENSITIVITY: "class shares when each threshold moves (CSV)",
              o.UPGRADES: "ranked road upgrades (CSV)", o.CORRIDORS: "corridors, stretches and upgrades (GeoPackage)",
              o.AREAS: "classified areas (GeoPackage)", o.DESTINATIONS: "destinations by tier (GeoPackage)",
              o.HUBS: "hubs and hinterlands (GeoPackage)", o.TERRITORIES: "territories (GeoPackage)",
              o.ISOCHRONES: "travel-time bands (GeoPackage)", o.NETWORK: "road network (GeoPackage, for QGIS)",
              o.BASEMAP: "rivers, lakes and boundaries of the maps (GeoPackage)",
              o.MAP: "interactive map", o.STUDY_JSON: "configuration, versions, input checksums, timings",
              o.SCENARIOS: "per scenario and tier: localities slower, cut off, minutes lost (CSV)",
              o.SCENARIO_CLASSES: "per scenario: localities changing class (CSV)",
              o.RAI: "Rural Access Index per area, base and scenarios (CSV)",
              o.RAI_LAYERS: "buffer of the all-season roads (GeoPackage)",
              o.CRITICALITY: "critical road stretches and the localities each failure cuts off (GeoPackage)",
              o.CRITICALITY_CSV: "critical road stretches ranked (CSV)",
              o.APPRAISAL: "road projects ranked and the chosen ones (GeoPackage)",
              o.APPRAISAL_CSV: "road projects ranked, with P10-P90 ranges (CSV)",
              o.PORTFOLIO_CSV: "the chosen portfolio in the order picked (CSV)",
              o.PORTFOLIO_PNG: "chart of the portfolio's benefit against spending (PNG)",
              o.MICROREGIONS: "microregions, CECs and their hinterlands (GeoPackage)",
              o.LINKS: "each zone's link to a favorable area (CSV)",
              o.TYPOLOGY_LAYERS: "one layer per typology (GeoPackage)",
              o.TYPOLOGIES: "units and population by class of each typology (CSV)",
              o.INDICATORS_WITHIN: "population and indicators within each travel time (CSV)",
              o.INDICATORS_BY_GROUP: "population, indicator counts and rates by class, hub, territory and "
                                     "typology class (CSV)",
              o.LAND_WITHIN: "share of land within each travel time (CSV)",
              o.SURFACE_BANDS: "land and population by travel-time band, from the accessibility surfaces (CSV)",
              o.SURFACE_ZONAL: "travel-time statistics of the accessibility surfaces per area (CSV)",
              o.FRA: "the favorable areas as destinations (GeoPackage)",
              o.SERVICE_GAPS: "per CEC and service: at the CEC or the minutes to the nearest (CSV)",
              o.PERIODS: "each unit in every period compared: values, changes, transitions (CSV)",
              o.PERIOD_TRANSITIONS: "units moving between classes from one period to the other (CSV)",
              o.PERIOD_BANDS: "growth between the periods by travel-time band (CSV)",
              o.TYPOLOGY_SENSITIVITY: "typology class shares when each threshold moves (CSV)"}
#: what a ``scenario_<name>.gpkg`` is (msgid)
_SCENARIO_FILE_TEXT = "scenario {name}: each locality's change of access and class, the roads changed (GeoPackage)"
#: what a ``surface_<tier>.tif`` is (msgid)
_SURFACE_FILE_TEXT = "minutes from every cell of the accessibility surface to the nearest {tier} (GeoTIFF)"


def download_section(study: StudyOutputs, tx: Texts, report_dir: Path | None) -> list[tuple[str, str, str]]:
    """``(file, relative link, description)`` of the study files next to the report."""
    if study.folder is None:
        return []
    out = []
    for name in study_files(study.folder):
        path = study.folder / name
        if name == o.REPORT or not path.is_file():
            continue
        href = os.path.relpath(path, report_dir) if report_dir is not None else name
        if name.startswith(SCENARIO_PREFIX) and name.endswith(".gpkg"):
            what = tx(_SCENARIO_FILE_TEXT, name=name[len(SCENARIO_PREFIX):-5])
        elif o.surface_tier(name) is not None:
            what = tx(_SURFACE_FILE_TEXT, tier=tx.tier(o.surface_tier(name)))
        else:
            what = tx(_FILE_TEXT.get(name, name))
        out.append((name, Path(href).as_posix(), what))
    return out
