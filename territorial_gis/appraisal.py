"""Which road to build first: costs, benefits, a portfolio under a budget, and how sure we are.

Candidates are upgrade stretches of the corridor ranking (:func:`corridor_candidates`), user
projects from a line layer (:func:`read_projects`: upgrades of existing roads or new roads), or
both (:func:`combine_candidates`). For each candidate:

* **cost**: from a cost table (:func:`load_cost_table`; per km by current -> target road
  standard, times a terrain factor from the project's ``terrain`` column, a DEM, or the table's
  default), or the project's own ``cost``;
* **benefits**, by re-routing (:mod:`territorial_gis._project_model`): person-minutes saved per
  tier (locality-minutes where population is unknown), localities and population moving from
  MRA to FRA (the classification rules re-applied through
  :func:`territorial_gis.classify.classify_areas`), localities and population newly connected
  (no time to some tier before, one after), and any ``extra_benefits`` (the hook for the Rural
  Access Index gain, see :data:`BenefitHook`);
* **benefit / cost**: the objective (``person_min``, ``mra_to_fra``, ``newly_connected`` or a
  hook's name) per million of the cost table's currency.

**Portfolio under a budget**: projects interact (two parallel upgrades do not add up; an upgrade
may make another pointless), so the portfolio is chosen greedily with re-routing after each
pick: every round re-evaluates each remaining project's *marginal* benefit on top of those
already built and takes the best benefit per cost that still fits the budget. For benefits that
simply add up, the better of this greedy portfolio and the best single affordable project is
within a factor 2 of the optimum (the classic knapsack bound); the better of the two is
returned. With interactions no such guarantee holds: the greedy is a heuristic, and the curve of
cumulative benefit against spending shows what each pick adds.

**Uncertainty**: ``runs`` repetitions with road speeds (by class and surface group), the walking
speed, the MRA/FRA access thresholds and the unit costs multiplied by factors drawn within ranges
given as data (:func:`load_uncertainty`) give P10/P50/P90 of each project's benefit and benefit
per cost, the P10-P90 of its rank and the share of runs in which it ranks among the top (the size
of the portfolio), and the P10-P90 of the chosen portfolio's benefit. Each run is a compiled
pass per tier plus one bounded re-routing per project, so a hundred runs take seconds to minutes.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._appraisalsummary import summary_facts, summary_text
from ._costs import CostTable, Draw, Uncertainty, draw_factors, load_cost_table, load_uncertainty
from ._i18n import texts
from ._project_model import Benefits, ProjectModel
from ._projects import combine_candidates, corridor_candidates, read_projects
from ._reclass import as_rules, build_reclassifier, scale_thresholds
from ._reroute import setup_routing
from .columns import AREA_CLASS, POPULATION
from .errors import ConfigError, RasterError

if TYPE_CHECKING:
    import geopandas as gpd

    from ._routing import RouteOptions
    from .classify import Rules
    from .network import RoadNetwork
    from .speeds import Profile

log = logging.getLogger(__name__)

__all__ = ["Appraisal", "BenefitHook", "appraise_projects", "check_budget", "network_profile", "price_projects",
           "study_candidates", "combine_candidates", "corridor_candidates",
           "load_cost_table", "load_uncertainty", "plot_portfolio", "read_projects", "summary_facts",
           "summary_sentences"]

OBJECTIVES = ("person_min", "mra_to_fra", "newly_connected")
#: a benefit the toolkit does not compute itself (e.g. the Rural Access Index gain): called as
#: ``hook(candidate_row, built_project_ids)`` -> the benefit of building the candidate once the
#: listed projects are built. Evaluated in the deterministic run (no ranges).
BenefitHook = Callable[[pd.Series, Sequence[Any]], float]
#: a project whose benefit is below this is not worth a pick
_EPS = 1e-9


@dataclass
class Appraisal:
    """Result of :func:`appraise_projects`.

    ``projects``: every candidate ranked by benefit per cost, with costs, benefits and their
    ranges (lines, EPSG:4326); ``portfolio``: the greedy picks in order with marginal and
    cumulative cost and benefits (the curve), first row the empty portfolio; ``chosen``: the
    picked projects' lines with their pick order; ``runs``: one row per (run, project) of the
    perturbed runs; ``summary``: the summary in plain English sentences (the English rendering
    of ``facts``); ``info``: budget, currency, objective, timings, notes; ``facts``: the summary
    as facts (keys and numbers, JSON-ready; see :mod:`territorial_gis._appraisalsummary`), which
    the report renders in its own language.
    """

    projects: gpd.GeoDataFrame
    portfolio: pd.DataFrame
    chosen: gpd.GeoDataFrame
    runs: pd.DataFrame
    summary: list[str]
    info: dict[str, Any] = field(default_factory=dict)
    facts: list[dict[str, Any]] = field(default_factory=list)

    def for_files(self) -> dict[str, gpd.GeoDataFrame]:
        """``projects`` and ``portfolio`` (the chosen lines) ready for a GeoPackage (road piece ids
        as ';'-joined text)."""
        return {"projects": _ids_as_text(self.projects), "portfolio": _ids_as_text(self.chosen)}


def _ids_as_text(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    if "segment_ids" in out:
        out["segment_ids"] = [";".join(str(int(x)) for x in np.asarray(s).ravel()) for s in out["segment_ids"]]
    out.attrs = {}
    return out


def appraise_projects(network: RoadNetwork, localities: gpd.GeoDataFrame, tiers: Mapping[str, gpd.GeoDataFrame],
                      candidates: gpd.GeoDataFrame, *, budget: float,
                      costs: CostTable | str | os.PathLike[str] | None = None,
                      uncertainty: Uncertainty | str | os.PathLike[str] | None = None, runs: int = 100,
                      seed: int = 0, rules: Rules | str | Mapping[str, Any] | None = None,
                      objective: str = "person_min", profile: Profile | str | None = None,
                      dem: str | os.PathLike[str] | None = None, options: RouteOptions | None = None,
                      weight: str | np.ndarray = "travel_time_s", population_col: str = POPULATION,
                      id_col: str | None = None, class_col: str = AREA_CLASS, connect_m: float = 500.0,
                      extra_benefits: Mapping[str, BenefitHook] | None = None,
                      areas: gpd.GeoDataFrame | None = None) -> Appraisal:
    """Appraise candidate road projects and choose a portfolio under a budget (module docstring).

    Parameters
    ----------
    network, localities, tiers
        As for :func:`territorial_gis.access.travel_times_to_nearest`; the localities carry
        ``population`` (else benefits are in locality-minutes) and, for MRA -> FRA moves,
        ``area_class`` and the columns the ``rules`` read.
    candidates
        A candidate frame (:func:`corridor_candidates`, :func:`read_projects`,
        :func:`combine_candidates`).
    budget
        Money available, in the cost table's currency (>= 0).
    costs, uncertainty
        A cost table and uncertainty ranges (objects or TOML files; None: the shipped ones).
    runs, seed
        Perturbed runs (0: none) and the seed of their random draws.
    rules
        MRA/FRA rules for the class moves (None: no class benefit).
    areas
        The classified polygon areas (``classify_areas(...).areas``) when the localities took the
        class of their area: a project's class moves are then those of the areas, classified
        again from their localities' new times, every locality moving with its area.
    objective
        ``"person_min"`` (person-minutes saved over all tiers, by localities that had a time
        before: a newly connected locality's saving has no finite value and is counted apart),
        ``"mra_to_fra"`` (population moving out of the marginal class), ``"newly_connected"``
        (population gaining a time to a tier it could not reach) or the name of an
        ``extra_benefits`` hook.
    profile
        Speed profile giving the target classes' speeds (default: the network's, else drive).
    dem
        A DEM raster to tell each project's terrain (mean slope along its line).
    weight
        The network state routed on (an edge column or seconds per directed edge).
    connect_m
        A new road's end joins the nearest network node within this distance.

    Raises
    ------
    ConfigError
        Negative budget, no candidate, an unknown objective, a cost table missing a transition a
        candidate needs, a target class the profile does not know (the message names them).
    """
    t0 = time.perf_counter()
    budget = check_budget(budget)
    if candidates is None or len(candidates) == 0:
        raise ConfigError("no candidate project to appraise (no corridor stretch to upgrade and no project layer)")
    hooks = dict(extra_benefits or {})
    if objective not in OBJECTIVES and objective not in hooks:
        raise ConfigError(f"objective must be one of {', '.join([*OBJECTIVES, *hooks])}, got {objective!r}")
    if runs < 0:
        raise ConfigError(f"runs must be >= 0, got {runs}")
    table = costs if isinstance(costs, CostTable) else load_cost_table(costs)
    unc = uncertainty if isinstance(uncertainty, Uncertainty) else load_uncertainty(uncertainty)
    rule_set = as_rules(rules)
    if objective == "mra_to_fra" and rule_set is None:
        raise ConfigError("objective 'mra_to_fra' needs the classification rules")
    model = _build_model(network, localities, tiers, candidates, table, rule_set, profile=profile, dem=dem,
                         options=options, weight=weight, population_col=population_col, id_col=id_col,
                         class_col=class_col, connect_m=connect_m, areas=areas)
    t_setup = time.perf_counter() - t0
    ident = Draw.identity(model.n)
    rs = model.run_state(ident, rule_set)
    all_p = np.arange(model.n)
    det = model.evaluate(rs, all_p)
    det_cost = model.costs(rs, all_p)
    values = _objective(model, det, objective, hooks, all_p, [])
    steps, chosen = _greedy(model, rule_set, budget, objective, hooks, det_cost, values)
    t_det = time.perf_counter() - t0 - t_setup
    t1 = time.perf_counter()
    runs_df, port_runs = _perturbed(model, unc, runs, seed, rule_set, objective, chosen)
    t_runs = time.perf_counter() - t1
    projects = _project_table(model, det, det_cost, values, objective, hooks, runs_df, chosen)
    portfolio = pd.DataFrame(steps)
    info = _info(model, table, budget, objective, runs, seed, unc, port_runs, t_setup, t_det, t_runs,
                 time.perf_counter() - t0)
    chosen_gdf = projects[projects["chosen"]].sort_values("pick_order").reset_index(drop=True)
    facts = summary_facts(projects, portfolio, info)
    summary = summary_text(facts, texts("en"))
    log.info("appraised %d projects (%d runs in %.1f s): %d chosen for %.3g", model.n, runs, t_runs,
             len(chosen), budget)
    return Appraisal(projects, portfolio, chosen_gdf, runs_df, summary, info, facts)


def check_budget(budget: Any) -> float:
    """The budget as a float; a negative, infinite or non-numeric budget is a :class:`ConfigError`."""
    ok = isinstance(budget, (int, float, np.integer, np.floating)) and not isinstance(budget, bool)
    if not ok or not math.isfinite(float(budget)) or float(budget) < 0:
        raise ConfigError(f"the budget must be a number >= 0 (in the cost table's currency), got {budget!r}")
    return float(budget)


# ---------------------------------------------------------------------------- model
def _build_model(network: RoadNetwork, localities: gpd.GeoDataFrame, tiers: Mapping[str, gpd.GeoDataFrame],
                 candidates: gpd.GeoDataFrame, table: CostTable, rules: Rules | None, *, profile: Any,
                 dem: Any, options: RouteOptions | None, weight: Any, population_col: str, id_col: str | None,
                 class_col: str, connect_m: float, areas: gpd.GeoDataFrame | None = None) -> ProjectModel:
    from ._routing import options_or_default

    if not connect_m > 0:
        raise ConfigError(f"connect_m must be positive, got {connect_m}")
    ids = candidates["project_id"]
    if ids.duplicated().any():
        raise ConfigError(f"duplicate project id(s): {', '.join(map(str, ids[ids.duplicated()].unique()[:5]))}")
    prof = network_profile(network, profile)
    opts = options_or_default(options)
    terrain, source = project_terrain(candidates, table, dem)
    setup = setup_routing(network, localities, tiers, weight=weight, options=opts, id_col=id_col,
                          population_col=population_col)
    reclass = None
    if rules is not None:
        from ._reroute import ArcGraph

        ag0 = ArcGraph(setup.graph)
        ag0.set_weights(ag0.weights(setup.state_s))
        base = {}
        for t, seeds in setup.tier_seeds.items():
            d, _, _ = ag0.nearest(seeds)
            m = np.where(setup.origin_nodes >= 0, d[np.maximum(setup.origin_nodes, 0)] / 60.0, np.nan)
            base[t] = np.where(np.isinf(m), np.nan, m)
        reclass = build_reclassifier(localities, base, rules, class_col, areas)
    model = ProjectModel(setup, localities, candidates, table, prof, walk_kph=opts.walk_speed(network),
                         max_snap_m=opts.max_snap_m, connect_m=connect_m, reclass=reclass, terrain=terrain,
                         terrain_source=source)
    return model


def network_profile(network: RoadNetwork, profile: Profile | str | None = None) -> Profile:
    """The speed profile target classes are read from (:func:`territorial_gis._roadattrs.profile_of`:
    ``profile``, else the file the network was built with, else the shipped one of its mode)."""
    from ._roadattrs import profile_of

    return profile_of(network, profile)


def project_terrain(candidates: gpd.GeoDataFrame, table: CostTable,
                    dem: str | os.PathLike[str] | None) -> tuple[np.ndarray, np.ndarray]:
    """Terrain class of each candidate and where it came from: its ``terrain`` column, else the
    mean slope along its line on ``dem`` (points every 100 m), else the table's default."""
    n = len(candidates)
    terrain = np.full(n, table.default_terrain, dtype=object)
    source = np.full(n, "default (no DEM)", dtype=object)
    if dem is not None:
        slope = _mean_slope(candidates, dem)
        ok = np.isfinite(slope)
        terrain[ok] = [table.terrain_of_slope(float(s)) for s in slope[ok]]
        source[ok] = [f"DEM: mean slope {s:.1f} deg" for s in slope[ok]]
        source[~ok] = "default (DEM has no value along the line)"
    if "terrain" in candidates:
        given = candidates["terrain"].to_numpy()
        for k, v in enumerate(given):
            if isinstance(v, str) and v.strip():
                if v.strip() not in table.terrain_factor:
                    raise ConfigError(f"project '{candidates['project_id'].iloc[k]}': terrain {v!r} is not a terrain "
                                      f"class of {table.source} ({', '.join(table.terrain_factor)})")
                terrain[k] = v.strip()
                source[k] = "given"
    return terrain, source


def _mean_slope(candidates: gpd.GeoDataFrame, dem: str | os.PathLike[str]) -> np.ndarray:
    import geopandas as gpd
    import shapely

    from ._crs import utm_crs_for_bounds
    from .terrain import add_raster_indicators

    crs = utm_crs_for_bounds(tuple(candidates.total_bounds))
    lines = candidates.geometry.to_crs(crs).to_numpy()
    n_pts = np.clip(np.ceil(shapely.length(lines) / 100.0).astype(int) + 1, 2, 200)
    owner = np.repeat(np.arange(len(lines)), n_pts)
    frac = np.concatenate([np.linspace(0.0, 1.0, k) for k in n_pts])
    pts = shapely.line_interpolate_point(lines[owner], frac, normalized=True)
    gdf = gpd.GeoDataFrame({"owner": owner}, geometry=pts, crs=crs)
    try:
        got = add_raster_indicators(gdf, {"dem": dem}, use_altitude_column=False)
    except RasterError as exc:
        raise RasterError(f"terrain of the projects from {dem}: {exc}") from None
    return pd.Series(got["slope_deg"].to_numpy(dtype=float)).groupby(owner).mean().reindex(
        range(len(lines))).to_numpy()


def price_projects(network: RoadNetwork, candidates: gpd.GeoDataFrame, *,
                   costs: CostTable | str | os.PathLike[str] | None = None, profile: Profile | str | None = None,
                   dem: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """What each candidate costs (no routing): ``project_id``, ``length_km``, ``from_standard``,
    ``to_standard``, ``terrain``, ``terrain_source``, ``cost`` (the cost table's, or the
    project's own). Raises :class:`ConfigError` when the table lacks a transition a candidate
    needs, or a target class is not in the speed profile."""
    from ._project_model import price_pieces, target_speeds

    table = costs if isinstance(costs, CostTable) else load_cost_table(costs)
    cand = candidates.reset_index(drop=True)
    to_group = np.array([table.target_group(s) for s in cand["to_surface"]], dtype=object)
    to_class = cand["to_class"].astype(str).to_numpy()
    terrain, source = project_terrain(cand, table, dem)
    pr = price_pieces(network, cand, table, target_speeds(cand, network_profile(network, profile)), terrain, to_group,
                      to_class)
    cost = np.where(np.isfinite(pr.given_cost), pr.given_cost, [float(c.sum()) for c in pr.piece_cost])
    return pd.DataFrame({"project_id": cand["project_id"].to_numpy(), "length_km": pr.length_km,
                         "from_standard": pr.from_text, "to_standard": to_group, "terrain": terrain,
                         "terrain_source": source, "cost": cost})


def study_candidates(network: RoadNetwork, *, corridor_pool: gpd.GeoDataFrame | None = None,
                     projects: str | os.PathLike[str] | gpd.GeoDataFrame | None = None, to_class: str = "secondary",
                     to_surface: str = "asphalt") -> gpd.GeoDataFrame:
    """The candidates of a study: corridor stretches worth upgrading (``corridor_pool``, e.g. from
    :func:`territorial_gis.corridors.upgrade_candidates`) and a line layer of ``projects``;
    a :class:`ConfigError` when there is none."""
    parts = []
    if projects is not None:
        parts.append(read_projects(projects, network, to_class=to_class, to_surface=to_surface))
    if corridor_pool is not None:
        parts.append(corridor_candidates(corridor_pool, to_class=to_class, to_surface=to_surface))
    cand = combine_candidates(parts)
    if not len(cand):
        raise ConfigError("no candidate project to appraise: no corridor stretch slower than the upgrade class "
                          "and no project layer")
    return cand


# ---------------------------------------------------------------------------- objective and greedy
def _objective(model: ProjectModel, b: Benefits, objective: str, hooks: Mapping[str, BenefitHook],
               projects: np.ndarray, built: Sequence[Any]) -> dict[str, np.ndarray]:
    """Per project: ``person_min`` (person-, else locality-minutes over all tiers), ``mra_to_fra``
    and ``newly_connected`` (population, else localities), every hook, and ``objective`` (the
    chosen one)."""
    known = np.nansum(model.population) > 0
    tiers = model.tiers
    pm = sum(b.person_min[t] for t in tiers) if known else sum(b.locality_min[t] for t in tiers)
    mf = b.population_mra_to_fra if known else b.n_mra_to_fra
    nc = b.population_newly if known else b.n_newly
    out = {"person_min": np.asarray(pm, dtype=float), "mra_to_fra": np.asarray(mf, dtype=float),
           "newly_connected": np.asarray(nc, dtype=float)}
    ids = model.candidates["project_id"].to_numpy()
    for name, fn in hooks.items():
        out[name] = np.array([float(fn(model.candidates.iloc[p], [ids[q] for q in built])) for p in projects])
    out["objective"] = out[objective]
    return out


def _greedy(model: ProjectModel, rules: Rules | None, budget: float, objective: str,
            hooks: Mapping[str, BenefitHook], cost0: np.ndarray, value0: Mapping[str, np.ndarray]
            ) -> tuple[list[dict[str, Any]], list[int]]:
    """Greedy portfolio with re-routing after each pick (then the best-single-project check)."""
    rs = model.run_state(Draw.identity(model.n), rules)
    ids = model.candidates["project_id"].to_numpy()
    remaining = [p for p in range(model.n) if 0 < cost0[p] <= budget]
    steps: list[dict[str, Any]] = [_step(0, None, 0.0, 0.0, None, None, budget)]
    chosen: list[int] = []
    spent = 0.0
    while remaining:
        ps = np.array(remaining)
        b = model.evaluate(rs, ps)
        v = _objective(model, b, objective, hooks, ps, [ids[q] for q in chosen])
        c = model.costs(rs, ps)
        ok = (v["objective"] > _EPS) & (c > 0) & (c <= budget - spent + 1e-6)
        if not ok.any():
            break
        ratio = np.where(ok, v["objective"] / np.where(c > 0, c, 1.0), -np.inf)
        k = int(np.lexsort((-v["objective"], -ratio))[0])
        p = int(ps[k])
        model.apply(rs, p, b.changes[k])
        chosen.append(p)
        spent += float(c[k])
        remaining.remove(p)
        steps.append(_step(len(chosen), ids[p], float(c[k]), spent, v, b, budget, k, steps[-1]))
    best = [p for p in range(model.n) if 0 < cost0[p] <= budget]
    if best:
        top = max(best, key=lambda p: value0["objective"][p])
        total = steps[-1]["cumulative_benefit"]
        if value0["objective"][top] > total + _EPS:
            log.info("the best single project beats the greedy portfolio: keeping it alone")
            v1 = {k: np.asarray(a)[[top]] for k, a in value0.items()}
            b1 = model.evaluate(model.run_state(Draw.identity(model.n), rules), np.array([top]))
            steps = [steps[0], _step(1, ids[top], float(cost0[top]), float(cost0[top]), v1, b1, budget, 0, steps[0])]
            chosen = [top]
    return steps, chosen


def _step(n: int, pid: Any, cost: float, spent: float, v: Mapping[str, np.ndarray] | None, b: Benefits | None,
          budget: float, k: int = 0, prev: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One row of the portfolio curve. ``person_min``, ``mra_to_fra`` and ``newly_connected`` are
    in people (person-minutes) where population is known, else in localities (locality-minutes)."""
    def take(a: Any) -> float:
        return 0.0 if a is None else float(np.nan_to_num(np.asarray(a)[k]))

    prev = prev or {}
    row = {"step": n, "project_id": pid, "cost": cost, "cumulative_cost": spent, "budget_left": budget - spent}
    for key in ("benefit", "person_min", "mra_to_fra", "newly_connected"):
        src = "objective" if key == "benefit" else key
        row[f"marginal_{key}"] = take(v[src] if v else None)
    for key in ("benefit", "person_min", "mra_to_fra", "newly_connected"):
        row[f"cumulative_{key}"] = prev.get(f"cumulative_{key}", 0.0) + row[f"marginal_{key}"]
    return row


# ---------------------------------------------------------------------------- uncertainty
def _perturbed(model: ProjectModel, unc: Uncertainty, runs: int, seed: int, rules: Rules | None, objective: str,
               chosen: list[int]) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per (run, project): objective, cost and rank; and the portfolio's benefit per run."""
    from ._progress import progress

    if objective not in OBJECTIVES:
        log.info("objective '%s' is a hook: evaluated in the deterministic run only, no ranges", objective)
        return pd.DataFrame(columns=["run", "project", "benefit", "cost", "ratio", "rank"]), np.empty(0)
    rng = np.random.default_rng(seed)
    classes = sorted(set(model.highway) | set(model.to_class))
    groups = model.table.groups
    all_p = np.arange(model.n)
    rows = []
    port = np.full(runs, np.nan)
    for r in progress(range(runs), desc="perturbed runs", total=runs):
        draw = draw_factors(unc, rng, classes, groups, model.n)
        run_rules = scale_thresholds(rules, draw.threshold) if rules is not None else None
        rs = model.run_state(draw, run_rules)
        b = model.evaluate(rs, all_p, defer_classes=True)
        c = model.costs(rs, all_p)  # before the portfolio is built into the state
        both = model.combined(rs, chosen, defer_classes=True) if chosen else None
        model.classify_moves([b] if both is None else [b, both], run_rules)
        v = _objective(model, b, objective, {}, all_p, [])["objective"]
        ratio = np.where(c > 0, v / np.where(c > 0, c, 1.0) * 1e6, 0.0)
        rank = np.empty(model.n, dtype=np.int64)
        rank[np.lexsort((-v, -ratio))] = np.arange(1, model.n + 1)
        rows.append(pd.DataFrame({"run": r, "project": all_p, "benefit": v, "cost": c, "ratio": ratio,
                                  "rank": rank, "population_mra_to_fra": b.population_mra_to_fra}))
        if both is not None:
            port[r] = float(_objective(model, both, objective, {}, np.array([0]), [])["objective"][0])
    return (pd.concat(rows, ignore_index=True) if rows else
            pd.DataFrame(columns=["run", "project", "benefit", "cost", "ratio", "rank", "population_mra_to_fra"]),
            port)


# ---------------------------------------------------------------------------- tables
def _project_table(model: ProjectModel, b: Benefits, cost: np.ndarray, v: Mapping[str, np.ndarray], objective: str,
                   hooks: Mapping[str, BenefitHook], runs: pd.DataFrame, chosen: list[int]) -> gpd.GeoDataFrame:
    import geopandas as gpd

    c = model.candidates
    known = np.nansum(model.population) > 0
    out = pd.DataFrame({"project_id": c["project_id"].to_numpy(), "name": c["name"].to_numpy(),
                        "source": c["source"].to_numpy(), "action": c["action"].to_numpy(),
                        "from_standard": model.from_text, "to_class": model.to_class,
                        "to_surface": c["to_surface"].to_numpy(), "to_standard": model.to_group,
                        "length_km": model.length_km, "terrain": model.terrain,
                        "terrain_source": model.terrain_source,
                        "cost": cost})
    with np.errstate(invalid="ignore", divide="ignore"):
        out["cost_per_km"] = np.where(model.length_km > 0, cost / model.length_km, np.nan)
    for t in model.tiers:
        out[f"person_min_saved_{t}"] = b.person_min[t] if known else np.nan
        out[f"locality_min_saved_{t}"] = b.locality_min[t]
    out["person_min_saved"] = sum(b.person_min[t] for t in model.tiers) if known else np.nan
    out["locality_min_saved"] = sum(b.locality_min[t] for t in model.tiers)
    out["n_localities_benefiting"] = b.n_benefiting.astype(np.int64)
    out["population_benefiting"] = b.population_benefiting if known else np.nan
    out["n_mra_to_fra"] = b.n_mra_to_fra
    out["population_mra_to_fra"] = b.population_mra_to_fra if known else np.nan
    out["n_newly_connected"] = b.n_newly.astype(np.int64)
    out["population_newly_connected"] = b.population_newly if known else np.nan
    for name in hooks:
        out[name] = v[name]
    out["benefit"] = v["objective"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["benefit_per_million"] = np.where(cost > 0, v["objective"] / cost * 1e6, np.nan)
    order = np.lexsort((-out["benefit"].to_numpy(), -np.nan_to_num(out["benefit_per_million"].to_numpy(), nan=-1.0)))
    out["rank"] = 0
    out.loc[order, "rank"] = np.arange(1, len(out) + 1)
    _ranges(out, runs, len(chosen))
    out["chosen"] = False
    out["pick_order"] = np.nan
    for k, p in enumerate(chosen, start=1):
        out.loc[p, "chosen"] = True
        out.loc[p, "pick_order"] = k
    if "population_served" in c:
        out["population_served"] = c["population_served"].to_numpy()
    out["segment_ids"] = list(c["segment_ids"])
    out = out.iloc[order].reset_index(drop=True)
    geom = c.geometry.to_numpy()[order]
    cols = ["rank", *[x for x in out.columns if x != "rank"]]
    return gpd.GeoDataFrame(out[cols], geometry=list(geom), crs=4326)


def _ranges(out: pd.DataFrame, runs: pd.DataFrame, k_top: int) -> None:
    """P10/P50/P90 over the perturbed runs, rank P10-P90 (nearest run) and the top-k share."""
    names = ["benefit_p10", "benefit_p50", "benefit_p90", "benefit_per_million_p10", "benefit_per_million_p50",
             "benefit_per_million_p90", "population_mra_to_fra_p10", "population_mra_to_fra_p90", "rank_p10",
             "rank_p90", "in_top_share"]
    if not len(runs):
        for name in names:
            out[name] = np.nan
        return
    g = runs.groupby("project")
    size = len(out)

    def q(col: str, p: float, how: str = "linear") -> np.ndarray:
        return g[col].quantile(p, interpolation=how).reindex(range(size)).to_numpy()

    for col, base in (("benefit", "benefit"), ("ratio", "benefit_per_million"),
                      ("population_mra_to_fra", "population_mra_to_fra")):
        for p in (0.1, 0.5, 0.9):
            name = f"{base}_p{int(p * 100)}"
            if name in names:
                out[name] = q(col, p)
    out["rank_p10"] = q("rank", 0.1, "lower")
    out["rank_p90"] = q("rank", 0.9, "higher")
    k = max(k_top, 1)
    top = (runs["rank"] <= k).groupby(runs["project"]).mean()
    out["in_top_share"] = top.reindex(range(size)).to_numpy()


def _info(model: ProjectModel, table: CostTable, budget: float, objective: str, runs: int, seed: int,
          unc: Uncertainty, port: np.ndarray, t_setup: float, t_det: float, t_runs: float, total: float) -> dict[str, Any]:
    known = np.nansum(model.population) > 0
    info: dict[str, Any] = {
        "budget": budget, "currency": table.currency, "price_year": table.price_year, "cost_table": table.source,
        "objective": objective, "benefit_unit": _unit(objective, known), "population_known": bool(known),
        "tiers": model.tiers,
        "n_candidates": model.n, "runs": runs, "seed": seed, "uncertainty": unc.source,
        "portfolio_benefit_p10": float(np.nanquantile(port, 0.1)) if len(port) else None,
        "portfolio_benefit_p50": float(np.nanquantile(port, 0.5)) if len(port) else None,
        "portfolio_benefit_p90": float(np.nanquantile(port, 0.9)) if len(port) else None,
        "setup_s": round(t_setup, 3), "deterministic_s": round(t_det, 3), "runs_s": round(t_runs, 3),
        "seconds_per_run": round(t_runs / runs, 4) if runs else None, "total_s": round(total, 3), "notes": []}
    if model.reclass is not None and model.reclass.note:
        info["notes"].append(model.reclass.note)
    if model.reclass is None:
        info["notes"].append("no classification rules given: MRA -> FRA moves not computed")
    return info


def _unit(objective: str, known_population: bool) -> str:
    if objective == "person_min":
        return "person-minutes saved per trip" if known_population else "locality-minutes saved per trip"
    if objective == "mra_to_fra":
        return "people moving from MRA to FRA" if known_population else "localities moving from MRA to FRA"
    if objective == "newly_connected":
        return "people newly connected" if known_population else "localities newly connected"
    return objective


# ---------------------------------------------------------------------------- words and chart
def summary_sentences(projects: pd.DataFrame, portfolio: pd.DataFrame, info: Mapping[str, Any]) -> list[str]:
    """Plain-words English sentences of an appraisal ("With a budget of 40.0 M USD, these 6
    projects ..."): the English rendering of :func:`summary_facts`. The report renders the same
    facts in its own language (Spanish, Portuguese) through the message catalogue."""
    return summary_text(summary_facts(projects, portfolio, info), texts("en"))


def plot_portfolio(appraisal: Appraisal, path: str | os.PathLike[str], *, overwrite: bool = False,
                   lang: str | None = None) -> None:
    """PNG chart: cumulative benefit against cumulative spending of the portfolio, the budget, and
    the P10-P90 range of the portfolio's benefit over the perturbed runs; its words in ``lang``
    (``"en"``, ``"es"``, ``"pt"``; default ``settings.lang``)."""
    from ._charts import portfolio_png
    from ._i18n import texts
    from ._io import atomic_output

    png = portfolio_png(appraisal.portfolio, dict(appraisal.info), texts(lang))
    with atomic_output(path, overwrite) as tmp:
        Path(tmp).write_bytes(png)
