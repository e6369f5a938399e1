"""Which link must not fail: what the failure of each road stretch does to access.

For every road *stretch* (a run of road pieces between junctions, see
:func:`network_stretches`; or only the bridges, only the stretches of given road pieces such as
the corridors', or the top N by the population whose best path uses them), the stretch is
closed (every piece, both directions, also the parts between a place's access point and its
ends: a place whose access point is on the stretch loses it and is not re-snapped to another
road) and the study asks, per destination tier:

* which localities are **cut off** (no destination of the tier reachable any more);
* the **person-minutes added** (population x extra minutes, over the localities that still
  arrive) and the **locality-minutes added** (the same without population, for grids or
  places of unknown population);
* the **MRA/FRA class changes** (the classification rules re-applied to the new times through
  :func:`territorial_gis.classify.classify_areas`);
* the **detour**: extra minutes to travel between the stretch's two ends without it, where an
  alternative route exists.

How it stays fast (never a full recomputation per stretch): one compiled nearest-destination
pass per tier gives every node its time and its shortest-path forest. Closing a stretch can
only delay the nodes whose tree path crosses one of its arcs: the subtrees below those arcs,
read as contiguous runs of the forest's preorder. A stretch none of whose arcs is on a tree
path, or whose subtrees hold no locality, changes nothing and costs no search. Otherwise one
search confined to those subtrees (:func:`territorial_gis._reroute.reroute_increase`, compiled
in :mod:`territorial_gis._dynsp`), seeded from their arcs to the unaffected rest of the graph,
gives their new times; every other node keeps its time. ``method="naive"`` recomputes the whole
pass per stretch instead (for verification and the benchmark).

The network state routed on is a parameter (``weight``: an edge column or an array of seconds
per directed edge, +inf for a closed road), so criticality runs as well on a scenario's network
(a rainy season's speeds and closures) as on the base one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._arrays import unique_values
from ._progress import progress
from ._reclass import FRA, MRA, Reclassifier, as_rules
from ._reroute import TOL_S, ArcGraph, RoutingSetup, TierTree, reroute_increase, setup_routing
from ._stretches import network_stretches, segment_edge_lists, stretches_from_segments
from .columns import AREA_CLASS, LOCALITY_ID, POPULATION
from .errors import ColumnError, ConfigError

if TYPE_CHECKING:
    import geopandas as gpd

    from ._routing import RouteOptions
    from .classify import Rules
    from .network import RoadNetwork

log = logging.getLogger(__name__)

__all__ = ["Criticality", "assess_criticality", "network_stretches"]

ONLY_CHOICES = ("all", "bridges")
METHODS = ("incremental", "naive")
DETOUR_CHOICES = ("affected", "all", "none")
REASON_NO_ALTERNATIVE = "no_alternative_route"
REASON_BEYOND_LIMIT = "beyond_limit"
REASON_NO_ENDS = "not_a_run_with_two_ends"
REASON_NOT_COMPUTED = "not_computed_no_locality_affected"


@dataclass
class Criticality:
    """What the failure of each evaluated stretch does (see :func:`assess_criticality`)."""

    stretches: gpd.GeoDataFrame
    cut_off: gpd.GeoDataFrame
    class_changes: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)

    def for_files(self) -> dict[str, Any]:
        """``criticality`` (ranked lines, road piece ids as ';'-joined text), ``cut_off`` (points) and
        ``class_changes`` (a table), ready to write."""
        table = self.stretches.copy()
        table["segment_ids"] = [";".join(str(int(x)) for x in np.asarray(s).ravel()) for s in table["segment_ids"]]
        table.attrs = {}
        return {"criticality": table, "cut_off": self.cut_off,
                "class_changes": self.class_changes.drop(columns=["unit", "origin"], errors="ignore")}


@dataclass
class _Run:
    """Routing state of one criticality run."""

    setup: RoutingSetup
    ag: ArcGraph
    tiers: list[str]
    trees: list[TierTree]
    base_s: list[np.ndarray]
    origin_of_node: np.ndarray


def assess_criticality(network: RoadNetwork, localities: gpd.GeoDataFrame, tiers: Mapping[str, gpd.GeoDataFrame], *,
                       stretches: Any = None, only: str = "all", within_segments: Iterable[int] | None = None,
                       top: int | None = None, rules: Rules | str | Mapping[str, Any] | None = None,
                       class_col: str = AREA_CLASS, population_col: str = POPULATION, id_col: str | None = None,
                       weight: str | np.ndarray = "travel_time_s", options: RouteOptions | None = None,
                       detour: str = "affected", detour_limit_min: float | None = None,
                       method: str = "incremental") -> Criticality:
    """Rank road stretches by what their failure does to access (see the module docstring).

    Parameters
    ----------
    network
        A built :class:`~territorial_gis.network.RoadNetwork`.
    localities
        Points (any CRS) with ``population`` (optional: without it impacts are in
        locality-minutes) and, for class changes, ``area_class`` and the indicator columns
        the rules read (the output of :func:`territorial_gis.classify.classify_areas`).
    tiers
        Tier name -> destinations GeoDataFrame.
    stretches
        The units that fail: None for every stretch of the network (:func:`network_stretches`),
        or a frame with ``segment_ids`` (``stretch_id`` or the index names them, e.g. the
        ``segments`` layer of :func:`territorial_gis.corridors.corridor_segments`) or a
        mapping id -> road piece ids.
    only
        ``"all"`` or ``"bridges"`` (units holding a bridge).
    within_segments
        Keep only units holding one of these road pieces (e.g. the pieces the corridors use).
    top
        Evaluate only the ``top`` units with the most population (localities, when population
        is unknown) whose best path to some tier uses them (read off the shortest-path trees,
        no search); None evaluates every unit.
    rules
        The MRA/FRA rules (a :class:`~territorial_gis.classify.Rules`, TOML file or dict) to
        re-classify with; None reports no class change.
    weight
        The network state: an edge column or seconds per directed edge (+inf: closed).
    options
        Snapping limit and walking speed (:class:`~territorial_gis.RouteOptions`).
    detour
        Where to compute the detour between a unit's two ends (bounded searches): ``"affected"``
        (default: units whose failure delays or cuts off some locality), ``"all"`` or ``"none"``.
    detour_limit_min
        Give up a detour search beyond this many minutes (``beyond_limit``); None: no limit.
    method
        ``"incremental"`` (default) or ``"naive"`` (a full pass per unit; for verification).

    Returns
    -------
    Criticality
        ``stretches``: the evaluated units ranked (``rank`` 1 = most critical: most population
        cut off, then most person-minutes added), see :data:`STRETCH_RESULT_COLUMNS` and per
        tier ``n_cut_off_<tier>``, ``population_cut_off_<tier>``, ``person_min_added_<tier>``,
        ``locality_min_added_<tier>``, ``n_affected_<tier>``, ``max_added_<tier>_min``;
        ``cut_off``: one point per (unit, locality) cut off from at least one tier;
        ``class_changes``: one row per (unit, locality) whose class changes; ``info``: counts,
        timings and notes.
    """
    t0 = time.perf_counter()
    if only not in ONLY_CHOICES:
        raise ConfigError(f"only must be one of {', '.join(ONLY_CHOICES)}, got {only!r}")
    if method not in METHODS:
        raise ConfigError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if top is not None and top < 1:
        raise ConfigError(f"top must be at least 1, got {top}")
    if detour not in DETOUR_CHOICES:
        raise ConfigError(f"detour must be one of {', '.join(DETOUR_CHOICES)}, got {detour!r}")
    if detour_limit_min is not None and not detour_limit_min > 0:
        raise ConfigError(f"detour_limit_min must be positive, got {detour_limit_min}")
    rule_set = as_rules(rules)
    if rule_set is not None and class_col not in localities:
        raise ColumnError(f"the localities have no '{class_col}' column to compare classes with "
                          f"(run `tgis classify` first, or give no rules)")
    setup = setup_routing(network, localities, tiers, weight=weight, options=options, id_col=id_col,
                          population_col=population_col)
    run = _prepare(setup)
    units = _units(network, stretches, only, within_segments)
    unit_edges = segment_edge_lists(network, list(units["segment_ids"]))
    t_setup = time.perf_counter() - t0
    n_all = len(units)
    if top is not None and len(units) > top:
        using = _screen(run, unit_edges)
        key = using[1] if np.nansum(setup.population) > 0 else using[0].astype(float)
        pick = np.sort(np.argsort(-key, kind="stable")[:top])
        units = units.iloc[pick].reset_index(drop=True)
        unit_edges = [unit_edges[k] for k in pick]
    t1 = time.perf_counter()
    rows, using_n, using_pop, n_searched = _evaluate(run, unit_edges, method)
    t_eval = time.perf_counter() - t1
    reclass = Reclassifier.build(localities, {t: b / 60.0 for t, b in zip(run.tiers, run.base_s, strict=True)},
                                 rule_set, class_col)
    changes = _class_changes(run, rows, reclass, units)
    table = _unit_table(run, units, rows, using_n, using_pop, changes, reclass)
    if detour != "none":
        want = np.ones(len(units), dtype=bool) if detour == "all" else \
            (sum(table[f"n_affected_{t}"].to_numpy() for t in run.tiers) > 0)
        table["detour_min"], table["detour_reason"] = _detours(run, units, unit_edges, want, detour_limit_min,
                                                               topological=stretches is None)
    table = _rank(table)
    cut = _cut_off_points(run, localities, rows, units, table)
    info = {"n_stretches": n_all, "n_evaluated": len(units), "method": method,
            "n_searched": n_searched, "setup_s": round(t_setup, 3), "evaluate_s": round(t_eval, 3),
            "total_s": round(time.perf_counter() - t0, 3), "tiers": run.tiers,
            "impact_unit": "person-min" if np.nansum(setup.population) > 0 else "locality-min"}
    if reclass is not None and reclass.note:
        info["notes"] = [reclass.note]
    log.info("criticality: %d of %d stretches evaluated (%d searched) in %.1f s", len(units), n_all, n_searched,
             info["total_s"])
    return Criticality(table, cut, changes, info)


# ---------------------------------------------------------------------------- preparation
def _prepare(setup: RoutingSetup) -> _Run:
    ag = ArcGraph(setup.graph)
    ag.set_weights(ag.weights(setup.state_s))
    names = list(setup.tier_seeds)
    trees = [TierTree.build(ag, setup.tier_seeds[t]) for t in names]
    on = setup.origin_nodes
    base = []
    for tr in trees:
        b = np.full(len(on), np.inf)
        b[on >= 0] = tr.dist[on[on >= 0]]
        base.append(b)
    return _Run(setup, ag, names, trees, base, setup.origin_index(ag.n_nodes))


def _units(network: RoadNetwork, stretches: Any, only: str, within: Iterable[int] | None) -> gpd.GeoDataFrame:
    units = network_stretches(network) if stretches is None else stretches_from_segments(network, stretches)
    if only == "bridges":
        units = units[units["bridge"].to_numpy(dtype=bool)]
    if within is not None:
        want = unique_values(np.asarray(list(within), dtype=np.int64))
        keep = np.array([np.isin(s, want).any() for s in units["segment_ids"]], dtype=bool)
        units = units[keep]
    if len(units) == 0:
        raise ConfigError(f"no stretch to evaluate (only={only!r}"
                          f"{', within the given road pieces' if within is not None else ''})")
    return units.reset_index(drop=True)


def _close(run: _Run, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Close ``edges`` on the arc graph: ``(arcs, new weights, old weights)`` (undo with assign).

    An arc of a closed edge is closed too, unless it stands for several parallel edges between
    two nodes: it then takes the fastest one still open.
    """
    ag, state = run.ag, run.setup.state_s
    arcs = ag.arcs_of_edges(edges)
    new = np.full(len(arcs), np.inf)
    multi = np.flatnonzero(ag.par_count[arcs] > 1)
    if len(multi):
        saved = state[edges].copy()
        state[edges] = np.inf
        try:
            new[multi] = ag.weights(state, arcs=arcs[multi])
        finally:
            state[edges] = saved
    old = ag.assign(arcs, new)
    return arcs, new, old


def _screen(run: _Run, unit_edges: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Localities (and population) whose best path to some tier uses each unit (trees only)."""
    n = np.zeros(len(unit_edges), dtype=np.int64)
    pop = np.zeros(len(unit_edges))
    popv = np.nan_to_num(run.setup.population)
    for k, edges in enumerate(progress(unit_edges, desc="screening stretches")):
        arcs, new, old = _close(run, edges)
        run.ag.assign(arcs, old)
        who = _using(run, arcs, new, old)
        n[k] = len(who)
        pop[k] = popv[who].sum()
    return n, pop


def _using(run: _Run, arcs: np.ndarray, new: np.ndarray, old: np.ndarray) -> np.ndarray:
    parts = []
    for tr in run.trees:
        region = tr.subtrees(run.ag, arcs, new, old)
        if len(region):
            o = run.origin_of_node[tr.order[region]]
            parts.append(o[o >= 0])
    return unique_values(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)


# ---------------------------------------------------------------------------- evaluation
def _evaluate(run: _Run, unit_edges: list[np.ndarray], method: str
              ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, int]:
    """Long table (unit, tier, origin, new_s) of every locality whose time grows, plus per unit
    the localities and population whose best path uses it, and the number of searches run."""
    ag = run.ag
    popv = np.nan_to_num(run.setup.population)
    parts: list[tuple[int, int, np.ndarray, np.ndarray]] = []
    using_n = np.zeros(len(unit_edges), dtype=np.int64)
    using_pop = np.zeros(len(unit_edges))
    n_searched = 0
    on = run.setup.origin_nodes
    valid = np.flatnonzero(on >= 0)
    for k, edges in enumerate(progress(unit_edges, desc="criticality")):
        arcs, new, old = _close(run, edges)
        try:
            who = []
            for ti, tr in enumerate(run.trees):
                region = tr.subtrees(ag, arcs, new, old)
                o_in = run.origin_of_node[tr.order[region]] if len(region) else np.empty(0, dtype=np.int64)
                o_in = o_in[o_in >= 0]
                who.append(o_in)
                if method == "naive":
                    d, _, _ = ag.nearest(tr.seeds)
                    o, t = valid, d[on[valid]]
                    n_searched += 1
                elif len(o_in):
                    nodes, tt, _ = reroute_increase(ag, tr, region)
                    n_searched += 1
                    op = run.origin_of_node[nodes]
                    o, t = op[op >= 0], tt[op >= 0]
                else:
                    continue
                grew = t > run.base_s[ti][o] + TOL_S
                if grew.any():
                    parts.append((k, ti, o[grew], t[grew]))
            u = unique_values(np.concatenate(who))
            using_n[k] = len(u)
            using_pop[k] = popv[u].sum()
        finally:
            ag.assign(arcs, old)
    rows = pd.DataFrame({
        "unit": np.concatenate([np.full(len(p[2]), p[0]) for p in parts]) if parts else np.empty(0, dtype=np.int64),
        "tier": np.concatenate([np.full(len(p[2]), p[1]) for p in parts]) if parts else np.empty(0, dtype=np.int64),
        "origin": np.concatenate([p[2] for p in parts]) if parts else np.empty(0, dtype=np.int64),
        "new_s": np.concatenate([p[3] for p in parts]) if parts else np.empty(0),
    })
    rows["base_s"] = np.array([run.base_s[t][o] for t, o in zip(rows["tier"], rows["origin"], strict=True)],
                              dtype=float) if len(rows) else np.empty(0)
    return rows, using_n, using_pop, n_searched


def _class_changes(run: _Run, rows: pd.DataFrame, reclass: Reclassifier | None,
                   units: gpd.GeoDataFrame) -> pd.DataFrame:
    """One row per (unit, locality) whose class changes, and per (unit, locality) unknown."""
    cols = ["stretch_id", "unit", "origin", LOCALITY_ID, "class_before", "class_after", POPULATION]
    if reclass is None or not len(rows):
        return pd.DataFrame({c: [] for c in cols})
    pairs = rows[["unit", "origin"]].drop_duplicates().sort_values(["unit", "origin"]).reset_index(drop=True)
    minutes = {}
    for t in reclass.tiers:
        ti = run.tiers.index(t)
        m = run.base_s[ti][pairs["origin"].to_numpy()] / 60.0
        sub = rows[rows["tier"] == ti]
        key = pd.Series(sub["new_s"].to_numpy() / 60.0, index=pd.MultiIndex.from_arrays([sub["unit"], sub["origin"]]))
        got = key.reindex(pd.MultiIndex.from_arrays([pairs["unit"], pairs["origin"]])).to_numpy()
        minutes[t] = np.where(np.isnan(got), m, got)
        minutes[t] = np.where(np.isinf(minutes[t]), np.nan, minutes[t])
    base = {t: np.where(np.isinf(v := reclass.base_min[t][pairs["origin"].to_numpy()]), np.nan, v)
            for t in reclass.tiers}
    before, after = reclass.changes(pairs["origin"].to_numpy(), minutes, base=base)
    pairs["class_before"] = before
    pairs["class_after"] = after
    unknown = ~reclass.known[pairs["origin"].to_numpy()]
    pairs["class_unknown"] = unknown
    moved = (before != after) | unknown
    out = pairs[moved].copy()
    out["stretch_id"] = units["stretch_id"].to_numpy()[out["unit"].to_numpy()]
    out[LOCALITY_ID] = run.setup.origin_ids[out["origin"].to_numpy()]
    out[POPULATION] = run.setup.population[out["origin"].to_numpy()]
    return out[[*cols, "class_unknown"]].reset_index(drop=True)


# ---------------------------------------------------------------------------- tables
#: columns of the ranked stretch table (per-tier columns follow the totals)
STRETCH_RESULT_COLUMNS = [
    "rank", "stretch_id", "highway", "surface", "bridge", "length_km", "travel_time_min", "n_segments",
    "n_localities_on_stretch", "population_on_stretch", "n_localities_using", "population_using", "n_cut_off", "population_cut_off", "person_min_added",
    "locality_min_added", "impact_min", "n_fra_to_mra", "population_fra_to_mra", "n_mra_to_fra",
    "population_mra_to_fra", "n_class_unknown", "detour_min", "detour_reason", "segment_ids"]


def _unit_table(run: _Run, units: gpd.GeoDataFrame, rows: pd.DataFrame, using_n: np.ndarray,
                using_pop: np.ndarray, changes: pd.DataFrame, reclass: Reclassifier | None) -> gpd.GeoDataFrame:
    import geopandas as gpd

    n = len(units)
    pop = run.setup.population
    known_pop = np.nansum(pop) > 0
    out = pd.DataFrame(units.drop(columns=units.geometry.name)).copy()
    out["n_localities_on_stretch"], out["population_on_stretch"] = _on_stretch(run, units)
    if not known_pop:
        out["population_on_stretch"] = np.nan
    out["n_localities_using"] = using_n
    out["population_using"] = using_pop if known_pop else np.nan
    r = rows.copy()
    r["cut"] = ~np.isfinite(r["new_s"].to_numpy())
    r["pop"] = pop[r["origin"].to_numpy()] if len(r) else np.empty(0)
    r["pop_cut"] = np.where(r["cut"], np.nan_to_num(r["pop"].to_numpy(dtype=float)), 0.0)
    r["added_min"] = np.where(r["cut"], np.nan, (r["new_s"] - r["base_s"]) / 60.0)
    r["pmin"] = r["added_min"] * r["pop"]
    for ti, t in enumerate(run.tiers):
        g = r[r["tier"] == ti].groupby("unit")
        out[f"n_cut_off_{t}"] = g["cut"].sum().reindex(range(n), fill_value=0).to_numpy().astype(np.int64)
        out[f"population_cut_off_{t}"] = g["pop_cut"].sum().reindex(range(n), fill_value=0.0).to_numpy()
        out[f"person_min_added_{t}"] = g["pmin"].sum(min_count=1).reindex(range(n)).fillna(0.0).to_numpy()
        out[f"locality_min_added_{t}"] = g["added_min"].sum().reindex(range(n), fill_value=0.0).to_numpy()
        out[f"n_affected_{t}"] = g.size().reindex(range(n), fill_value=0).to_numpy()
        out[f"max_added_{t}_min"] = g["added_min"].max().reindex(range(n)).to_numpy()
    cut_any = r[r["cut"]].drop_duplicates(["unit", "origin"])
    out["n_cut_off"] = cut_any.groupby("unit").size().reindex(range(n), fill_value=0).to_numpy()
    out["population_cut_off"] = cut_any.groupby("unit")["pop"].sum().reindex(range(n), fill_value=0.0).to_numpy()
    out["person_min_added"] = sum(out[f"person_min_added_{t}"] for t in run.tiers)
    out["locality_min_added"] = sum(out[f"locality_min_added_{t}"] for t in run.tiers)
    if not known_pop:
        out["population_cut_off"] = np.nan
        out["person_min_added"] = np.nan
        for t in run.tiers:
            out[f"population_cut_off_{t}"] = np.nan
            out[f"person_min_added_{t}"] = np.nan
    out["impact_min"] = out["person_min_added"] if known_pop else out["locality_min_added"]
    _class_columns(out, changes, reclass, n)
    return gpd.GeoDataFrame(out, geometry=list(units.geometry), crs=4326)


def _on_stretch(run: _Run, units: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Localities (and population) whose access point lies on each unit."""
    from ._arrays import concat_ranges

    n_loc = len(run.setup.origin_nodes)
    sn = run.setup.graph.snaps
    ok = np.flatnonzero(sn.ok[:n_loc].astype(bool))
    seg = run.setup.network.edges["segment"].to_numpy()[sn.segment_edge[ok]]
    order = np.argsort(seg, kind="stable")
    seg_sorted, who = seg[order], ok[order]
    lists = [unique_values(np.asarray(x, dtype=np.int64)) for x in units["segment_ids"]]
    counts = np.array([len(x) for x in lists], dtype=np.int64)
    want = np.concatenate(lists) if lists else np.empty(0, dtype=np.int64)
    lo = np.searchsorted(seg_sorted, want, side="left")
    hi = np.searchsorted(seg_sorted, want, side="right")
    unit_of = np.repeat(np.repeat(np.arange(len(lists)), counts), hi - lo)
    o = who[concat_ranges(lo, hi - lo)]
    pop = np.nan_to_num(run.setup.population)
    return (np.bincount(unit_of, minlength=len(lists)).astype(np.int64),
            np.bincount(unit_of, weights=pop[o], minlength=len(lists)))


def _class_columns(out: pd.DataFrame, changes: pd.DataFrame, reclass: Reclassifier | None, n: int) -> None:
    if reclass is None:
        for c in ("n_fra_to_mra", "population_fra_to_mra", "n_mra_to_fra", "population_mra_to_fra",
                  "n_class_unknown"):
            out[c] = np.nan
        return
    ch = changes[~changes["class_unknown"].astype(bool)]
    for a, b in ((FRA, MRA), (MRA, FRA)):
        sel = ch[(ch["class_before"] == a) & (ch["class_after"] == b)]
        name = f"{a.lower()}_to_{b.lower()}"
        out[f"n_{name}"] = sel.groupby("unit").size().reindex(range(n), fill_value=0).to_numpy()
        out[f"population_{name}"] = (sel.groupby("unit")[POPULATION].sum(min_count=1)
                                     .reindex(range(n)).fillna(0.0).to_numpy())
    unk = changes[changes["class_unknown"].astype(bool)]
    out["n_class_unknown"] = unk.groupby("unit").size().reindex(range(n), fill_value=0).to_numpy()


def _rank(table: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    cut_key = table["population_cut_off"].fillna(table["n_cut_off"]) if table["population_cut_off"].notna().any() \
        else table["n_cut_off"]
    order = np.lexsort((-table["impact_min"].fillna(0.0).to_numpy(), -cut_key.to_numpy(dtype=float)))
    out = table.iloc[order].reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    tier_cols = [c for c in out.columns if c not in STRETCH_RESULT_COLUMNS and c != out.geometry.name
                 and c not in ("from_node", "to_node")]
    cols = [c for c in STRETCH_RESULT_COLUMNS if c in out] + tier_cols + ["from_node", "to_node"]
    return out[[*cols, out.geometry.name]]


def _cut_off_points(run: _Run, localities: gpd.GeoDataFrame, rows: pd.DataFrame, units: gpd.GeoDataFrame,
                    table: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    import geopandas as gpd

    cut = rows[~np.isfinite(rows["new_s"].to_numpy())]
    names = np.array(run.tiers, dtype=object)
    g = cut.groupby(["unit", "origin"])["tier"].apply(lambda s: ",".join(names[np.sort(s.to_numpy())]))
    g = g.reset_index()
    sid = units["stretch_id"].to_numpy()[g["unit"].to_numpy()] if len(g) else np.empty(0)
    rank = pd.Series(table["rank"].to_numpy(), index=table["stretch_id"].to_numpy())
    pts = localities.geometry.to_crs(4326).to_numpy() if localities.crs is not None else localities.geometry.to_numpy()
    o = g["origin"].to_numpy().astype(np.int64)
    frame = pd.DataFrame({"stretch_id": sid, "stretch_rank": rank.reindex(sid).to_numpy() if len(g) else [],
                          LOCALITY_ID: run.setup.origin_ids[o], "tiers_cut_off": g["tier"].to_numpy()
                          if len(g) else np.empty(0, dtype=object),
                          POPULATION: run.setup.population[o]})
    return gpd.GeoDataFrame(frame, geometry=list(pts[o]), crs=4326)


# ---------------------------------------------------------------------------- detours
def _detours(run: _Run, units: gpd.GeoDataFrame, unit_edges: list[np.ndarray], want: np.ndarray,
             limit_min: float | None, topological: bool) -> tuple[np.ndarray, np.ndarray]:
    """Extra minutes between each unit's two ends without it (the larger of both directions)."""
    ag = run.ag
    n = len(units)
    detour = np.full(n, np.nan)
    reason = np.full(n, REASON_NOT_COMPUTED, dtype=object)
    a_all = units["from_node"].to_numpy()
    b_all = units["to_node"].to_numpy()
    sid = units["stretch_id"].to_numpy()
    bridges = _graph_bridges(run) if topological else set()
    free = np.full(ag.n_nodes, np.inf)
    limit = np.inf if limit_min is None else limit_min * 60.0
    for k in progress(np.flatnonzero(want).tolist(), desc="detours"):
        a, b = int(a_all[k]), int(b_all[k])
        reason[k] = None
        if a < 0 or a == b:
            reason[k] = REASON_NO_ENDS
            continue
        if topological and int(sid[k]) in bridges:
            reason[k] = REASON_NO_ALTERNATIVE
            continue
        intact = [_time_between(ag, free, x, y, np.inf) for x, y in ((a, b), (b, a))]
        arcs, _new, old = _close(run, unit_edges[k])
        try:
            closed = [_time_between(ag, free, x, y, t + limit) if np.isfinite(t) else np.inf
                      for (x, y), t in zip(((a, b), (b, a)), intact, strict=True)]
        finally:
            ag.assign(arcs, old)
        added = [c - t for c, t in zip(closed, intact, strict=True) if np.isfinite(t)]
        if not added:
            reason[k] = REASON_NO_ENDS
        elif all(np.isfinite(added)):
            detour[k] = max(0.0, max(added)) / 60.0
        else:
            reason[k] = REASON_NO_ALTERNATIVE if limit == np.inf else REASON_BEYOND_LIMIT
    return detour, reason


def _time_between(ag: ArcGraph, free: np.ndarray, x: int, y: int, limit: float) -> float:
    """Seconds from node ``x`` to node ``y`` (a search backwards from ``y`` stopped at ``x``)."""
    nodes, cost, _ = ag.rerouter.search(free, np.array([y]), np.zeros(1), np.zeros(1, dtype=np.int64),
                                        limit=limit, target=x)
    return float(cost[-1]) if len(nodes) and nodes[-1] == x else float("inf")


def _graph_bridges(run: _Run) -> set[int]:
    """Stretch ids whose removal disconnects the (undirected) stretch graph: no detour exists."""
    import networkx as nx

    st = network_stretches(run.setup.network)
    st = st[(st["from_node"] >= 0) & (st["from_node"] != st["to_node"])]
    pairs = pd.DataFrame({"a": np.minimum(st["from_node"], st["to_node"]),
                          "b": np.maximum(st["from_node"], st["to_node"]), "sid": st["stretch_id"]})
    mult = pairs.groupby(["a", "b"])["sid"].transform("size")
    g = nx.Graph()
    g.add_edges_from(zip(pairs["a"], pairs["b"], strict=True))
    br = {tuple(sorted(e)) for e in nx.bridges(g)}
    single = pairs[(mult == 1).to_numpy()]
    return {int(s) for a, b, s in zip(single["a"], single["b"], single["sid"], strict=True) if (a, b) in br}
