"""Report sections of the study's further analyses, in the reader's language: critical roads,
the appraisal of road projects, microregions and their links to favorable areas, typologies and
the indicators within each travel time.

Each section reads one analysis's files through :class:`~territorial_gis.outputs.StudyOutputs`
and is None when the study did not run it; a figure the analysis could not give reads
"unknown" (with its reason where one is recorded), never 0.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pandas as pd

from . import _style as st
from ._analysismap import (
    appraisal_record,
    benefit_unit,
    detour_text,
    link_text,
    money_text,
    project_titles,
    range_text,
    typology_specs,
    zone_links,
)
from ._appraisalsummary import summary_text
from ._basemap import stretch_names
from ._charts import portfolio_png
from ._i18n import Texts
from ._reportsections import Table
from .outputs import PORTFOLIO_PNG, StudyOutputs


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(df[col], errors="coerce").to_numpy(float) if col in df.columns \
        else np.full(len(df), np.nan)


def _lt(value: Any, limit: float) -> bool:
    v = pd.to_numeric(value, errors="coerce")
    return bool(np.isfinite(v) and v < limit)


def _known(values: np.ndarray) -> bool:
    return bool(np.isfinite(values).any())


# --------------------------------------------------------------------------------------------
# criticality


def criticality_section(study: StudyOutputs, tx: Texts, top_n: int = 10) -> dict[str, Any] | None:
    """The ``top_n`` stretches whose failure does most harm, ranked as the analysis ranks them
    (population cut off, then the minutes added), with a sentence."""
    crit = study.criticality
    if crit is None or not len(crit):
        return None
    c = crit.sort_values("rank", kind="stable") if "rank" in crit.columns else crit
    names = stretch_names(c, study.read_roads())
    cut = _num(c, "n_cut_off")
    pop_cut = _num(c, "population_cut_off")
    pmin = _num(c, "person_min_added")
    pk = _known(pop_cut) or _known(pmin)
    top = c.head(top_n)
    header = [tx("Rank"), tx("Road"), tx("Road class"), tx("Length (km)"), tx("Localities cut off")]
    header += [tx("Population cut off"), tx("Person-minutes added")] if pk else [tx("Locality-minutes added")]
    header += [tx("Detour")]
    rows = []
    for _i, r in top.iterrows():
        row: list[Any] = [tx.integer(r.get("rank")), names.get(r.get("stretch_id"), tx("unnamed road")),
                          tx.term("highway", r["highway"]) if st.present(r.get("highway")) else tx.unknown,
                          tx.number(r.get("length_km"), 2 if _lt(r.get("length_km"), 1.0) else 1), tx.integer(r.get("n_cut_off"))]
        row += [tx.integer(r.get("population_cut_off")), tx.integer(r.get("person_min_added"))] if pk \
            else [tx.integer(r.get("locality_min_added"))]
        row.append(detour_text(float(pd.to_numeric(r.get("detour_min"), errors="coerce")), r.get("detour_reason"), tx))
        rows.append(row)
    n_cutting = int(np.nansum(cut > 0))
    n_loc = int(study.cut_off["locality_id"].nunique()) if study.cut_off is not None and len(study.cut_off) \
        and "locality_id" in study.cut_off.columns else 0
    sentence = tx("Of {n} road stretches tested, the failure of {k} would cut {m} localities off from a "
                  "destination tier; the table ranks the {top} whose failure does most harm.",
                  n=tx.integer(len(c)), k=tx.integer(n_cutting), m=tx.integer(n_loc), top=tx.integer(len(top)))
    basis = None if pk else tx("Population unknown: the harm is counted in locality-minutes (each locality "
                               "counts once, whatever its size).")
    return {"sentence": sentence, "basis": basis,
            "table": Table(header, rows, [True, False, False] + [True] * (len(header) - 4) + [False], "criticality")}


# --------------------------------------------------------------------------------------------
# appraisal


def appraisal_section(study: StudyOutputs, tx: Texts, max_rows: int = 30) -> dict[str, Any] | None:
    """The candidate projects ranked by benefit per cost with their P10-P90 ranges, the chosen
    ones marked, the appraisal's own summary sentences and its portfolio chart."""
    proj = study.projects
    if proj is None or not len(proj):
        return None
    rec = appraisal_record(study)
    currency = str(rec.get("currency") or "")
    unit = benefit_unit(study, tx)
    p = proj.sort_values("rank", kind="stable") if "rank" in proj.columns else proj
    p = p.head(max_rows)
    titles = project_titles(p.assign(pick_order=np.nan), study, tx)
    header = [tx("Rank"), tx("Project"), tx("Length (km)"), tx("Cost"), tx("Benefit"), tx("P10\u2013P90"),
              tx("Per million {currency}", currency=currency), tx("P10\u2013P90"), tx("Rank P10\u2013P90"), tx("Chosen")]
    rows = []
    for (_i, r), title in zip(p.iterrows(), titles, strict=True):
        pick = pd.to_numeric(r.get("pick_order"), errors="coerce")
        rows.append([tx.integer(r.get("rank")), title, tx.number(r.get("length_km"), 1),
                     money_text(r.get("cost"), currency, tx), tx.number(r.get("benefit"), 0),
                     range_text(r.get("benefit_p10"), r.get("benefit_p90"), tx) or tx.unknown,
                     tx.number(r.get("benefit_per_million"), 1),
                     range_text(r.get("benefit_per_million_p10"), r.get("benefit_per_million_p90"), tx, 1) or tx.unknown,
                     range_text(r.get("rank_p10"), r.get("rank_p90"), tx) or tx.unknown,
                     tx("yes, pick {n}", n=tx.integer(pick)) if np.isfinite(pick) else "\u2013"])
    png = None
    if study.portfolio is not None and len(study.portfolio) and rec.get("budget") is not None:
        png = base64.b64encode(portfolio_png(study.portfolio, dict(rec), tx)).decode("ascii")  # reader's language
    elif study.folder is not None and (study.folder / PORTFOLIO_PNG).is_file():
        png = base64.b64encode((study.folder / PORTFOLIO_PNG).read_bytes()).decode("ascii")
    runs = rec.get("runs")
    note = tx("P10\u2013P90: the range over {n} runs with perturbed road speeds, walking speed, thresholds and "
              "unit costs.", n=tx.integer(runs)) if st.present(runs) and runs else None
    return {"summary": _summary(rec, tx),
            "table": Table(header, rows, [True, False] + [True] * 7 + [False], "appraisal"),
            "unit": tx("Benefit: {unit}.", unit=unit),
            "note": note, "png": png, "n_more": max(0, len(proj) - len(p))}


def _summary(rec: dict[str, Any], tx: Texts) -> list[str]:
    """The appraisal's summary sentences in the reader's language, rendered from its facts; a
    study written before the facts were recorded has English sentences only, shown in an
    English report alone."""
    facts = rec.get("summary_facts")
    if isinstance(facts, list):
        return summary_text(facts, tx)
    return [str(x) for x in rec.get("summary") or []] if tx.lang == "en" else []


# --------------------------------------------------------------------------------------------
# microregions and links


def microregion_section(study: StudyOutputs, tx: Texts) -> dict[str, Any] | None:
    """The microregions with their areas, population, CECs and link, and every zone's link to a
    favorable area (``links.csv``: linked or enclosed marginal)."""
    mr, links = study.microregions, study.links
    if (mr is None or not len(mr)) and (links is None or not len(links)):
        return None
    out: dict[str, Any] = {"sentence": None, "table": None, "links": None, "links_note": None}
    if mr is not None and len(mr):
        cecs: dict[str, list[str]] = {}
        if study.cecs is not None and "microregion_id" in study.cecs.columns:
            names = study.cecs["name"] if "name" in study.cecs.columns else study.cecs.get("cec_id")
            for r, n in zip(study.cecs["microregion_id"], names, strict=True):
                cecs.setdefault(str(r), []).append(str(n))
        mlinks = zone_links(study, "microregion")
        rows = []
        for _i, r in mr.iterrows():
            rid = str(r.get("microregion_id"))
            floor = r.get("meets_size_floor")
            rows.append([rid, ", ".join(str(r["member_names"]).split(";")) if st.present(r.get("member_names")) else
                         tx.unknown, tx.integer(r.get("population")), tx.integer(r.get("area_km2")),
                         (tx("yes") if str(floor).lower() in ("true", "1") else tx("no")) if st.present(floor)
                         else tx.unknown, ", ".join(cecs.get(rid, [])) or "\u2013",
                         link_text(*mlinks[rid], tx) if rid in mlinks else tx.unknown])
        out["table"] = Table([tx("Microregion"), tx("Areas"), tx("Population"), tx("Area (km\u00b2)"),
                              tx("Meets the size floor"), tx("CECs"), tx("Link")], rows,
                             [False, False, True, True, False, False, False], "microregions")
        out["sentence"] = tx("{n} microregions group the eligible areas; {k} CECs (strategic community centres) "
                             "serve them.", n=tx.integer(len(mr)),
                             k=tx.integer(len(study.cecs) if study.cecs is not None else 0))
    if links is not None and len(links):
        out["links"], out["links_note"] = _links_table(study, tx)
    return out


def _links_table(study: StudyOutputs, tx: Texts) -> tuple[Table, str | None]:
    """Every zone of ``links.csv``: its kind, name, localities, population, nearest favorable
    area and link."""
    from ._studymeta import population_known

    t = study.links
    assert t is not None
    pk = population_known(study.localities)
    names: dict[str, str] = {}
    if study.territories is not None and "territory_id" in study.territories.columns:
        names = {str(i): str(n) for i, n in zip(study.territories["territory_id"],
                                                 study.territories.get("centre_name", study.territories["territory_id"]),
                                                 strict=True) if st.present(n)}
    kinds = {"territory": tx("Territory"), "microregion": tx("Microregion")}
    rows = []
    for _i, r in t.iterrows():
        kind, zid = str(r.get("zone_type")), str(r.get("zone_id"))
        share = r.get("population_share_within_limit")
        rows.append([kinds.get(kind, kind), names.get(zid, zid) if kind == "territory" else zid,
                     tx.integer(r.get("n_localities")), tx.integer(r.get("population")) if pk else tx.unknown,
                     tx.minutes(r.get("travel_time_fra_min")), tx.percent(share, 0),
                     link_text(r.get("link_status"), r.get("linked_to"), tx)])
    table = Table([tx("Zone"), tx("Name"), tx("Localities"), tx("Population"), tx("Travel time to the nearest FRA"),
                   tx("Share within the limit"), tx("Link")], rows, [False, False, True, True, True, True, False], "links")
    n_enc = int((t["link_status"].astype(str) == "enclosed_marginal").sum()) if "link_status" in t.columns else 0
    note = tx("{n} zones are enclosed marginal: no favorable area within reach.", n=tx.integer(n_enc)) if n_enc \
        else tx("Every zone is linked to a favorable area.")
    if not pk:
        note += " " + tx("Population unknown: the zones are compared by their localities.")
    return table, note


# --------------------------------------------------------------------------------------------
# typologies and indicators


def typology_section(study: StudyOutputs, tx: Texts) -> dict[str, Any] | None:
    """Per typology applied: units and population by class (``typologies.csv``), with each
    class's meaning."""
    t = study.typologies
    if t is None or not len(t) or "typology" not in t.columns:
        return None
    recs = {str(r.get("name")): r for r in study.typologies_applied}
    recs |= {str(r.get("name")): r for r in typology_specs(study) if str(r.get("name")) not in recs}
    blocks = []
    for name, sub in t.groupby("typology", sort=False):
        rec = recs.get(str(name)) or {}
        meaning = {str(c["name"]): str(c.get("description") or "") for c in rec.get("classes") or []}
        pk = _known(_num(sub, "population")) and bool(np.nansum(_num(sub, "population")) > 0)
        rows = []
        for _i, r in sub.iterrows():
            cls = str(r.get("class"))
            rows.append([tx("total") if cls == "total" else cls, meaning.get(cls) or "",
                         tx.integer(r.get("n_units")), tx.percent(r.get("share_units"), 1),
                         tx.integer(r.get("population")) if pk else tx.unknown,
                         tx.percent(r.get("share_population"), 1) if pk else tx.unknown])
        units = str(sub["units"].iloc[0]) if "units" in sub.columns else ""
        blocks.append({"title": str(rec.get("title") or name),
                       "units": tx(UNIT_TEXT[units]) if units in UNIT_TEXT else units,
                       "table": Table([tx("Class"), tx("What it means"), tx("Units"), tx("Share of units"),
                                       tx("Population"), tx("Share of population")], rows,
                                      [False, False, True, True, True, True], "typology"),
                       "sources": [str(x) for x in rec.get("sources") or []]})
    return {"blocks": blocks}


#: the units a typology classifies (``units`` of ``typologies.csv``) -> words (msgids)
UNIT_TEXT = {"localities": "classifies the localities", "areas": "classifies the areas",
             "periods": "classifies the units compared between periods"}


def indicators_within_section(study: StudyOutputs, tx: Texts) -> dict[str, Any] | None:
    """Population and each indicator count within each travel time of each tier
    (``indicators_within.csv``); places of unknown value are counted apart."""
    t = study.indicators_within
    if t is None or not len(t) or "indicator" not in t.columns:
        return None
    rows = []
    for _i, r in t.iterrows():
        rows.append([tx.tier(r.get("tier")), tx.minutes_threshold(float(r["threshold_min"]))
                     if st.present(r.get("threshold_min")) else tx.unknown,
                     tx.term("indicator", r.get("indicator")), tx.integer(r.get("within")), tx.integer(r.get("total")),
                     tx.percent(r.get("share_within"), 1),
                     tx("{within} of {total}", within=tx.integer(r.get("places_within")),
                        total=tx.integer(r.get("places_total"))), tx.integer(r.get("places_unknown"))])
    return {"table": Table([tx("Tier"), tx("Within"), tx("Indicator"), tx("Count within"), tx("Total"),
                            tx("Share within"), tx("Places within"), tx("Places of unknown value")], rows,
                           [False, True, False, True, True, True, True, True], "indicators-within")}


__all__ = ["UNIT_TEXT", "appraisal_section", "criticality_section", "indicators_within_section", "microregion_section",
           "typology_section"]
