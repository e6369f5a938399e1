"""The appraisal's summary as facts (keys and numbers) and as sentences in the reader's language.

:func:`summary_facts` reduces an appraisal to a few facts, each a plain dict with a ``key`` and
the numbers of one sentence; they are stored in ``study.json`` (``appraisal.summary_facts``) and
in ``<output>_summary.json`` of ``tgis appraise``. :func:`summary_text` renders them through the
message catalogue (:class:`territorial_gis._i18n.Texts`), so the report in Spanish or Portuguese
says the same as the English one with the locale's number format. The English rendering is what
:func:`territorial_gis.appraisal.summary_sentences` returns.

Facts (``key``: values):

* ``no_pick``: ``budget``, ``currency``, ``n_candidates`` - nothing fits the budget and helps;
* ``portfolio``: ``budget``, ``currency``, ``n_projects``, ``project_ids`` (the first
  :data:`MAX_IDS`), ``cost``, ``saved``, ``population_known``, ``tiers``;
* ``moved`` / ``newly_connected``: ``n``, ``population_known`` - people (or localities) moving
  from MRA to FRA / getting a road connection they lacked (only when above 0);
* ``ranges``: ``runs``, ``p10``, ``p90``, ``unit``, ``n_stable``, ``n_chosen``, ``top_share``;
* ``best``: ``project_id``, ``name``, ``benefit_per_million``, ``unit``, ``currency``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ._i18n import Texts
from ._projects import localized_name

MAX_IDS = 8
"""Project ids listed in the portfolio sentence (then an ellipsis)."""
STABLE_SHARE = 0.8
"""A chosen project is stable when it ranks among the top in at least this share of the runs."""
BENEFIT_UNITS = ("person-minutes saved per trip", "locality-minutes saved per trip",
                 "people moving from MRA to FRA", "localities moving from MRA to FRA",
                 "people newly connected", "localities newly connected")
"""The appraisal's benefit units (``info["benefit_unit"]``), msgids of the catalogue."""


# --------------------------------------------------------------------------------------------
# facts


def summary_facts(projects: pd.DataFrame, portfolio: pd.DataFrame, info: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The facts of an appraisal's summary (see the module docstring), JSON-ready."""
    cur = str(info.get("currency") or "")
    budget = float(info.get("budget", 0.0))
    chosen = projects[projects["chosen"]].sort_values("pick_order")
    if not len(chosen):
        return [{"key": "no_pick", "budget": budget, "currency": cur, "n_candidates": len(projects)}]
    last = portfolio.iloc[-1]
    known = bool(info.get("population_known"))
    facts: list[dict[str, Any]] = [{
        "key": "portfolio", "budget": budget, "currency": cur, "n_projects": len(chosen),
        "project_ids": [str(x) for x in chosen["project_id"].head(MAX_IDS)],
        "cost": float(last["cumulative_cost"]), "saved": float(last["cumulative_person_min"]),
        "population_known": known, "tiers": [str(t) for t in info.get("tiers", [])]}]
    for key, col in (("moved", "cumulative_mra_to_fra"), ("newly_connected", "cumulative_newly_connected")):
        n = float(last[col])
        if math.isfinite(n) and n > 0:
            facts.append({"key": key, "n": n, "population_known": known})
    unit = str(info.get("benefit_unit") or "")
    p10, p90 = info.get("portfolio_benefit_p10"), info.get("portfolio_benefit_p90")
    if p10 is not None and p90 is not None and info.get("runs"):
        facts.append({"key": "ranges", "runs": int(info["runs"]), "p10": float(p10), "p90": float(p90),
                      "unit": unit, "n_stable": int((chosen["in_top_share"] >= STABLE_SHARE).sum()),
                      "n_chosen": len(chosen), "top_share": STABLE_SHARE})
    best = projects.iloc[0]
    if math.isfinite(float(best["benefit_per_million"])):
        facts.append({"key": "best", "project_id": str(best["project_id"]), "name": str(best["name"]),
                      "benefit_per_million": float(best["benefit_per_million"]), "unit": unit, "currency": cur})
    return facts


# --------------------------------------------------------------------------------------------
# words


def money(value: float, currency: str, tx: Texts) -> str:
    """A finite amount: ``1.25 bn USD``, ``40.0 M USD``, ``950,000 USD`` (the locale's numbers)."""
    v = float(value)
    if abs(v) >= 1e9:
        return tx("{amount} bn {currency}", amount=tx.number(v / 1e9, 2), currency=currency).strip()
    if abs(v) >= 1e6:
        return tx("{amount} M {currency}", amount=tx.number(v / 1e6, 1), currency=currency).strip()
    return f"{tx.integer(v)} {currency}".strip()


def count(value: float, tx: Texts) -> str:
    """A count of people, localities or minutes: ``4,730``, ``1.25 million``."""
    v = float(value)
    if abs(v) >= 1e6:
        return tx("{n} million", n=tx.number(v / 1e6, 2))
    return tx.integer(v)


def and_list(items: Sequence[str], tx: Texts) -> str:
    """``a``, ``a and b``, ``a, b and c`` in the reader's language."""
    items = [str(i) for i in items]
    if len(items) < 2:
        return "".join(items)
    return tx("{first} and {last}", first=", ".join(items[:-1]), last=items[-1])


def unit_text(unit: str, tx: Texts) -> str:
    """A benefit unit in the reader's words (a benefit hook's own name stays as written)."""
    return tx(unit) if unit in BENEFIT_UNITS else unit


def _one(value: float) -> bool:
    return round(float(value)) == 1 and abs(float(value)) < 1e6


def _portfolio(f: Mapping[str, Any], tx: Texts) -> str:
    ids = ", ".join(f["project_ids"]) + (", \u2026" if f["n_projects"] > len(f["project_ids"]) else "")
    values = {"budget": money(f["budget"], f["currency"], tx), "n": tx.integer(f["n_projects"]), "ids": ids,
              "cost": money(f["cost"], f["currency"], tx), "saved": count(f["saved"], tx),
              "tiers": and_list([tx.tier(t) for t in f["tiers"]], tx)}
    if f["n_projects"] == 1:
        if f["population_known"]:
            return tx("With a budget of {budget}, this project ({ids}) costs {cost} and saves {saved} "
                      "person-minutes per trip to {tiers}.", **values)
        return tx("With a budget of {budget}, this project ({ids}) costs {cost} and saves {saved} "
                  "locality-minutes per trip to {tiers}.", **values)
    if f["population_known"]:
        return tx("With a budget of {budget}, these {n} projects ({ids}) cost {cost} and save {saved} "
                  "person-minutes per trip to {tiers}.", **values)
    return tx("With a budget of {budget}, these {n} projects ({ids}) cost {cost} and save {saved} "
              "locality-minutes per trip to {tiers}.", **values)


def _moved(f: Mapping[str, Any], tx: Texts) -> str:
    n = count(f["n"], tx)
    if f["population_known"]:
        return tx("{n} person moves out of the marginal class (MRA to FRA).", n=n) if _one(f["n"]) \
            else tx("{n} people move out of the marginal class (MRA to FRA).", n=n)
    return tx("{n} locality moves out of the marginal class (MRA to FRA).", n=n) if _one(f["n"]) \
        else tx("{n} localities move out of the marginal class (MRA to FRA).", n=n)


def _newly(f: Mapping[str, Any], tx: Texts) -> str:
    n = count(f["n"], tx)
    if f["population_known"]:
        return tx("{n} person gets a road connection they lacked.", n=n) if _one(f["n"]) \
            else tx("{n} people get a road connection they lacked.", n=n)
    return tx("{n} locality gets a road connection it lacked.", n=n) if _one(f["n"]) \
        else tx("{n} localities get a road connection they lacked.", n=n)


def _ranges(f: Mapping[str, Any], tx: Texts) -> str:
    head = tx("Across {runs} runs with perturbed road speeds, walking speed, MRA/FRA thresholds and unit costs, "
              "the portfolio's benefit ranges from {p10} to {p90} {unit} (P10\u2013P90)",
              runs=tx.integer(f["runs"]), p10=count(f["p10"], tx), p90=count(f["p90"], tx),
              unit=unit_text(f["unit"], tx))
    share = tx.percent(f["top_share"], 0)
    if f["n_chosen"] == 1:
        tail = tx("the chosen project ranks first in at least {share} of the runs.", share=share) if f["n_stable"] \
            else tx("the chosen project ranks first in fewer than {share} of the runs.", share=share)
    else:
        tail = tx("{k} of the {n} chosen projects rank among the top {n} in at least {share} of the runs.",
                  k=tx.integer(f["n_stable"]), n=tx.integer(f["n_chosen"]), share=share)
    return f"{head}; {tail}"


def _best(f: Mapping[str, Any], tx: Texts) -> str:
    return tx("The best value for money is {project} ({name}): {value} {unit} per million {currency}.",
              project=f["project_id"], name=localized_name(f["name"], tx), value=count(f["benefit_per_million"], tx),
              unit=unit_text(f["unit"], tx), currency=f["currency"])


def _no_pick(f: Mapping[str, Any], tx: Texts) -> str:
    return tx("With a budget of {budget}, no candidate project both fits the budget and improves access "
              "(candidates appraised: {n}).", budget=money(f["budget"], f["currency"], tx),
              n=tx.integer(f["n_candidates"]))


_RENDER = {"no_pick": _no_pick, "portfolio": _portfolio, "moved": _moved, "newly_connected": _newly,
           "ranges": _ranges, "best": _best}


def summary_text(facts: Sequence[Mapping[str, Any]], tx: Texts) -> list[str]:
    """The sentences of the facts in the language of ``tx``, one per fact (facts with an unknown
    key, e.g. from a newer version, are left out)."""
    return [_RENDER[f["key"]](f, tx) for f in facts if isinstance(f, Mapping) and f.get("key") in _RENDER]
