"""The routing model of an appraisal: what each candidate project does to travel times, and costs.

:class:`ProjectModel` holds, once, the augmented graph of the localities and destination tiers
(:mod:`territorial_gis._reroute`) extended with the arcs of every candidate *new road* (closed
until built), and per project the directed edges it upgrades (and the speed it brings them to)
or the new arcs it opens, plus the road pieces it pays for.

A :class:`RunState` is one state of the world: the network's edge times (possibly perturbed),
the times of every node to each tier, the projects already built. :meth:`ProjectModel.evaluate`
gives each project's benefits *from that state* by re-routing only what the project improves
(:func:`territorial_gis._reroute.reroute_decrease`: a bounded search from the faster arcs that
keeps strict improvements), and :meth:`ProjectModel.apply` builds a project into the state, so a
portfolio is chosen with re-routing after each pick.

New roads: each end joins the nearest network node within ``connect_m`` (at least one end must);
localities within the snapping limit of the line, and nearer to it than to their current road
(or farther than the limit from every road), get an off-road leg to it. Destinations keep their
access points.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from ._arrays import unique_values
from ._costs import NEW, CostTable, Draw
from ._reclass import FRA, MRA, Reclassifier
from ._reroute import ArcGraph, RoutingSetup, reroute_decrease
from ._stretches import representative_edges, segment_edge_lists
from .errors import ConfigError

if TYPE_CHECKING:
    import geopandas as gpd

    from .classify import Rules
    from .speeds import Profile

log = logging.getLogger(__name__)

KIND_ROAD = 0
KIND_LEG = 1


@dataclass
class NewRoads:
    """Extra nodes and arcs of the candidate new roads (see the module docstring)."""

    n_nodes: int = 0
    tail: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    head: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    project: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    kind: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    length_m: np.ndarray = field(default_factory=lambda: np.empty(0))
    leg_s: np.ndarray = field(default_factory=lambda: np.empty(0))


def build_new_roads(setup: RoutingSetup, localities: gpd.GeoDataFrame, lines: gpd.GeoSeries, projects: np.ndarray,
                    ids: np.ndarray, *, walk_kph: float, max_snap_m: float, connect_m: float) -> NewRoads:
    """Nodes and arcs of the new roads ``lines`` (projects ``projects``); updates
    ``setup.origin_nodes`` for localities that had no road within reach."""
    from scipy.spatial import cKDTree

    net = setup.network
    base = setup.graph.n_nodes
    kd = cKDTree(net.node_xy)
    sn = setup.graph.snaps
    n_loc = len(setup.origin_nodes)
    ok = sn.ok[:n_loc].astype(bool)
    snap_d = np.where(ok, sn.snap_dist_m[:n_loc], np.inf)
    pts = shapely.points(np.asarray(localities.geometry.to_crs(net.crs).get_coordinates()[["x", "y"]]))
    parts: dict[str, list[Any]] = {k: [] for k in ("tail", "head", "project", "kind", "length_m", "leg_s")}
    n_extra = 0

    def arcs(a: np.ndarray, b: np.ndarray, p: int, kind: int, length: np.ndarray, leg: np.ndarray) -> None:
        for x, y in ((a, b), (b, a)):
            parts["tail"].append(x)
            parts["head"].append(y)
            parts["project"].append(np.full(len(x), p))
            parts["kind"].append(np.full(len(x), kind))
            parts["length_m"].append(length)
            parts["leg_s"].append(leg)

    for p, pid, line in zip(projects, ids, lines.to_crs(net.crs).to_numpy(), strict=True):
        line = shapely.line_merge(line) if line.geom_type == "MultiLineString" else line
        if line.geom_type != "LineString" or line.length <= 0:
            raise ConfigError(f"new road project '{pid}' must be one continuous line of positive length")
        total = float(line.length)
        d = shapely.distance(line, pts)
        s = shapely.line_locate_point(line, pts)
        near = np.flatnonzero((d <= max_snap_m) & (d < snap_d))
        stations = unique_values(np.round(np.concatenate([[0.0, total], s[near]]), 3))
        nodes = base + n_extra + np.arange(len(stations))
        n_extra += len(stations)
        step = np.diff(stations)
        arcs(nodes[:-1], nodes[1:], int(p), KIND_ROAD, step, np.zeros(len(step)))
        joined = []
        for at, node in ((0.0, nodes[0]), (total, nodes[-1])):
            xy = shapely.get_coordinates(shapely.line_interpolate_point(line, at))[0]
            dist, nn = kd.query(xy)
            joined.append(dist)
            if dist <= connect_m:
                arcs(np.array([node]), np.array([int(nn)]), int(p), KIND_ROAD, np.array([dist]), np.zeros(1))
        if min(joined) > connect_m:
            raise ConfigError(f"new road project '{pid}' does not join the network: its ends are "
                              f"{joined[0]:.0f} m and {joined[1]:.0f} m from the nearest road node "
                              f"(limit {connect_m:g} m)")
        for i in near:
            if setup.origin_nodes[i] < 0:
                setup.origin_nodes[i] = base + n_extra
                n_extra += 1
            station = nodes[np.searchsorted(stations, round(float(s[i]), 3))]
            arcs(np.array([setup.origin_nodes[i]]), np.array([station]), int(p), KIND_LEG, np.zeros(1),
                 np.array([d[i] / (walk_kph / 3.6)]))
    if not parts["tail"]:
        return NewRoads()
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    return NewRoads(n_extra, cat["tail"].astype(np.int64), cat["head"].astype(np.int64),
                    cat["project"].astype(np.int64), cat["kind"].astype(np.int64), cat["length_m"], cat["leg_s"])


@dataclass
class RunState:
    """One state of the world (see the module docstring)."""

    draw: Draw
    state_s: np.ndarray
    dist: list[np.ndarray]
    label: list[np.ndarray]
    target_kph: np.ndarray
    extra_built: np.ndarray
    extra_now: np.ndarray
    rules: Rules | None
    built: list[int] = field(default_factory=list)

    def minutes(self, setup_nodes: np.ndarray, tiers: list[str]) -> dict[str, np.ndarray]:
        """Current minutes of every locality to each tier (NaN where unreachable)."""
        out = {}
        ok = setup_nodes >= 0
        for t, d in zip(tiers, self.dist, strict=True):
            m = np.full(len(setup_nodes), np.nan)
            m[ok] = d[setup_nodes[ok]] / 60.0
            out[t] = np.where(np.isinf(m), np.nan, m)
        return out


@dataclass
class Benefits:
    """Per project (aligned with the evaluated list): what it brings from a state."""

    person_min: dict[str, np.ndarray]
    locality_min: dict[str, np.ndarray]
    n_benefiting: np.ndarray
    population_benefiting: np.ndarray
    n_newly: np.ndarray
    population_newly: np.ndarray
    n_mra_to_fra: np.ndarray
    population_mra_to_fra: np.ndarray
    changes: list[tuple[np.ndarray, np.ndarray, list[np.ndarray]]]  # per project: per tier nodes/times/labels
    #: rows still to classify when the class moves were deferred (see :meth:`ProjectModel.classify_moves`)
    pending: tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]] | None = None


class ProjectModel:
    """Routing graph, project effects and costs of one appraisal (see the module docstring)."""

    def __init__(self, setup: RoutingSetup, localities: gpd.GeoDataFrame, candidates: gpd.GeoDataFrame,
                 table: CostTable, profile: Profile, *, walk_kph: float, max_snap_m: float, connect_m: float,
                 reclass: Reclassifier | None, terrain: np.ndarray, terrain_source: np.ndarray) -> None:
        net = setup.network
        self.setup = setup
        self.tiers = list(setup.tier_seeds)
        self.candidates = candidates.reset_index(drop=True)
        self.table = table
        self.n = len(self.candidates)
        self.action = self.candidates["action"].to_numpy()
        self.to_class = self.candidates["to_class"].astype(str).to_numpy()
        self.to_group = np.array([table.target_group(s) for s in self.candidates["to_surface"]], dtype=object)
        self.target_kph = target_speeds(self.candidates, profile)
        edges = net.edges
        self.length_m = edges["length_m"].to_numpy(dtype=float)
        self.highway = edges["highway"].astype(str).to_numpy() if "highway" in edges else np.full(net.n_edges, "")
        surf = edges["surface"].to_numpy() if "surface" in edges else np.full(net.n_edges, None)
        self.group = table.group_of(list(self.highway), list(surf))
        self._hw_codes, self._hw_names = pd.factorize(self.highway)
        self._grp_codes, self._grp_names = pd.factorize(self.group)
        is_new = np.flatnonzero(self.action == "new")
        self.roads = build_new_roads(setup, localities, self.candidates.geometry.iloc[is_new], is_new,
                                     self.candidates["project_id"].to_numpy()[is_new], walk_kph=walk_kph,
                                     max_snap_m=max_snap_m, connect_m=connect_m) if len(is_new) else NewRoads()
        self.ag = ArcGraph(setup.graph, extra_nodes=self.roads.n_nodes, extra_tail=self.roads.tail,
                           extra_head=self.roads.head)
        self.origin_of_node = setup.origin_index(self.ag.n_nodes)
        self.origin_nodes = setup.origin_nodes
        self.population = setup.population
        self.reclass = reclass
        self.edges = segment_edge_lists(net, [s if len(s) else [] for s in self.candidates["segment_ids"]])
        self.arcs = [self.ag.arcs_of_edges(e) if a == "upgrade" else
                     self.ag.n_graph_arcs + np.flatnonzero(self.roads.project == p)
                     for p, (e, a) in enumerate(zip(self.edges, self.action, strict=True))]
        self.terrain = terrain
        self.terrain_source = terrain_source
        pr = price_pieces(net, self.candidates, table, self.target_kph, terrain, self.to_group, self.to_class)
        self.piece_edge, self.piece_cost = pr.piece_edge, pr.piece_cost
        self.length_km, self.from_text, self.given_cost = pr.length_km, pr.from_text, pr.given_cost

    # ------------------------------------------------------------------ costs
    def costs(self, rs: RunState, projects: np.ndarray) -> np.ndarray:
        """Cost of each project from a state: the pieces still slower than its target (a given
        total cost is used as is), times the run's cost factor."""
        out = np.zeros(len(projects))
        for k, p in enumerate(projects):
            if np.isfinite(self.given_cost[p]):
                out[k] = self.given_cost[p]
            elif self.action[p] == "new":
                out[k] = 0.0 if p in rs.built else float(self.piece_cost[p][0])
            else:
                pe = self.piece_edge[p]
                with np.errstate(divide="ignore"):
                    now = self.length_m[pe] / rs.state_s[pe] * 3.6
                out[k] = float(self.piece_cost[p][now < rs.target_kph[p] - 1e-9].sum())
        return out * rs.draw.cost[projects]

    # ------------------------------------------------------------------ states
    def run_state(self, draw: Draw, rules: Rules | None) -> RunState:
        """The base state under a draw of multipliers: passes per tier from scratch."""
        factor = draw.speed_of(self._hw_names, self._hw_codes, self._grp_names, self._grp_codes)
        state = self.setup.state_s / factor
        target = self.target_kph * draw.speed(self.to_class, self.to_group)
        walk = 1.0 / draw.walk
        rd = self.roads
        built = np.where(rd.kind == KIND_LEG, rd.leg_s * walk,
                         rd.length_m / (target[rd.project] / 3.6) if len(rd.project) else np.empty(0))
        self.ag.set_weights(self.ag.weights(state, walk_factor=walk))
        dist, label = [], []
        for t in self.tiers:
            d, lab, _ = self.ag.nearest(self.setup.tier_seeds[t])
            dist.append(d)
            label.append(lab)
        return RunState(draw, state, dist, label, target, built, np.full(len(rd.tail), np.inf), rules)

    def _change(self, rs: RunState, p: int) -> tuple[np.ndarray, np.ndarray]:
        """Arcs project ``p`` changes and their weights once it is built, from state ``rs``."""
        arcs = self.arcs[p]
        if self.action[p] == "new":
            return arcs, rs.extra_built[arcs - self.ag.n_graph_arcs]
        e = self.edges[p]
        saved = rs.state_s[e].copy()
        rs.state_s[e] = np.minimum(saved, self.length_m[e] / (rs.target_kph[p] / 3.6))
        try:
            return arcs, self.ag.weights(rs.state_s, arcs=arcs)
        finally:
            rs.state_s[e] = saved

    def evaluate(self, rs: RunState, projects: np.ndarray, *, defer_classes: bool = False) -> Benefits:
        """Benefits of each project built alone on top of ``rs`` (re-routing only what it improves);
        with ``defer_classes`` the MRA -> FRA moves wait for :meth:`classify_moves`."""
        changes = []
        for p in projects:
            arcs, new = self._change(rs, int(p))
            old = self.ag.assign(arcs, new)
            try:
                per_tier = [reroute_decrease(self.ag, rs.dist[ti], rs.label[ti], arcs, old)
                            for ti in range(len(self.tiers))]
            finally:
                self.ag.assign(arcs, old)
            changes.append((arcs, new, per_tier))
        return self._benefits(rs, changes, defer_classes)

    def combined(self, rs: RunState, projects: Sequence[int], *, defer_classes: bool = False) -> Benefits:
        """Benefits of building all ``projects`` together on top of ``rs`` (one row; ``rs`` keeps
        them built): each is re-routed in turn, the benefits are counted once, from the times
        before to the times after."""
        before = [d.copy() for d in rs.dist]
        for p in projects:
            arcs, new = self._change(rs, int(p))
            old = self.ag.assign(arcs, new)
            per_tier = [reroute_decrease(self.ag, rs.dist[ti], rs.label[ti], arcs, old)
                        for ti in range(len(self.tiers))]
            self.ag.assign(arcs, old)
            self.apply(rs, int(p), (arcs, new, per_tier))
        per_tier = []
        for ti in range(len(self.tiers)):
            moved = np.flatnonzero(rs.dist[ti] < before[ti])
            per_tier.append((moved, rs.dist[ti][moved], rs.label[ti][moved]))
        after = rs.dist
        rs.dist = before
        try:
            return self._benefits(rs, [(np.empty(0, dtype=np.int64), np.empty(0), per_tier)], defer_classes)
        finally:
            rs.dist = after

    def apply(self, rs: RunState, p: int, change: tuple[np.ndarray, np.ndarray, list[Any]]) -> None:
        """Build project ``p`` into ``rs`` (its evaluation ``change`` from :meth:`evaluate`)."""
        arcs, new, per_tier = change
        self.ag.assign(arcs, new)
        for ti, (nodes, t, lab) in enumerate(per_tier):
            rs.dist[ti][nodes] = t
            rs.label[ti][nodes] = lab
        if self.action[p] == "new":
            rs.extra_now[arcs - self.ag.n_graph_arcs] = new
        else:
            e = self.edges[p]
            rs.state_s[e] = np.minimum(rs.state_s[e], self.length_m[e] / (rs.target_kph[p] / 3.6))
        rs.built.append(p)

    def _benefits(self, rs: RunState, changes: list[Any], defer_classes: bool = False) -> Benefits:
        n = len(changes)
        pop = self.population
        popz = np.nan_to_num(pop)
        nodes_all = self.origin_nodes
        pm = {t: np.zeros(n) for t in self.tiers}
        lm = {t: np.zeros(n) for t in self.tiers}
        n_ben, p_ben, n_new, p_new = (np.zeros(n) for _ in range(4))
        rows_p: list[np.ndarray] = []
        rows_o: list[np.ndarray] = []
        rows_min: dict[str, list[np.ndarray]] = {t: [] for t in self.tiers}
        cur = rs.minutes(nodes_all, self.tiers)
        for k, (_arcs, _new, per_tier) in enumerate(changes):
            got = []
            for ti, t in enumerate(self.tiers):
                nodes, tt, _ = per_tier[ti]
                op = self.origin_of_node[nodes]
                sel = op >= 0
                o, tm = op[sel], tt[sel] / 60.0
                before = cur[t][o]
                fin = np.isfinite(before)
                saved = before[fin] - tm[fin]
                lm[t][k] = float(saved.sum())
                pm[t][k] = float(np.nansum(saved * pop[o[fin]]))
                got.append((o, tm, fin))
            u = unique_values(np.concatenate([g[0] for g in got]))
            nw = unique_values(np.concatenate([g[0][~g[2]] for g in got]))
            n_ben[k], p_ben[k] = len(u), popz[u].sum()
            n_new[k], p_new[k] = len(nw), popz[nw].sum()
            rows_p.append(np.full(len(u), k))
            rows_o.append(u)
            for t, (o, tm, _fin) in zip(self.tiers, got, strict=True):
                m = cur[t][u].copy()
                m[np.searchsorted(u, o)] = tm
                rows_min[t].append(m)
        rp = np.concatenate(rows_p) if rows_p else np.empty(0, dtype=np.int64)
        ro = np.concatenate(rows_o) if rows_o else np.empty(0, dtype=np.int64)
        minutes = {t: np.concatenate(v) if v else np.empty(0) for t, v in rows_min.items()}
        base = {t: cur[t][ro] for t in self.tiers}
        out = Benefits(pm, lm, n_ben, p_ben, n_new, p_new, np.full(n, np.nan), np.full(n, np.nan), changes,
                       (rp, ro, minutes, base))
        if not defer_classes:
            self.classify_moves([out], rs.rules)
        return out

    def classify_moves(self, results: Sequence[Benefits], rules: Rules | None) -> None:
        """Localities and population moving from MRA to FRA in each of ``results`` (whose moves were
        deferred), with one classification for them all (NaN without rules)."""
        todo = [b for b in results if b.pending is not None]
        if self.reclass is None or not todo:
            return
        tiers = self.reclass.tiers
        ro = np.concatenate([b.pending[1] for b in todo if b.pending is not None])
        minutes = {t: np.concatenate([b.pending[2][t] for b in todo if b.pending is not None]) for t in tiers}
        base = {t: np.concatenate([b.pending[3][t] for b in todo if b.pending is not None]) for t in tiers}
        before, after = self.reclass.changes(ro, minutes, base=base, rules=rules)
        sign = ((before == MRA) & (after == FRA)).astype(float) - ((before == FRA) & (after == MRA)).astype(float)
        popz = np.nan_to_num(self.population)
        start = 0
        for b in todo:
            assert b.pending is not None
            rp, r_o = b.pending[0], b.pending[1]
            k = slice(start, start + len(r_o))
            n = len(b.n_benefiting)
            b.n_mra_to_fra = np.bincount(rp, weights=sign[k], minlength=n)
            b.population_mra_to_fra = np.bincount(rp, weights=sign[k] * popz[r_o], minlength=n)
            b.pending = None
            start += len(r_o)


@dataclass
class Pricing:
    """What each candidate pays for: per upgrade the road pieces (forward edge rows) and the cost
    of each at the base state (0 for a piece already as fast as the target); per new road its
    cost; lengths, a description of the current standards, and user-given total costs (NaN)."""

    piece_edge: list[np.ndarray]
    piece_cost: list[np.ndarray]
    length_km: np.ndarray
    from_text: np.ndarray
    given_cost: np.ndarray


def price_pieces(net: Any, candidates: gpd.GeoDataFrame, table: CostTable, target_kph: np.ndarray,
                 terrain: np.ndarray, to_group: np.ndarray, to_class: np.ndarray) -> Pricing:
    """Price every candidate with the cost table (see :class:`Pricing`); a transition the table
    lacks for a piece that needs work is a :class:`ConfigError` naming the project."""
    segs, rep = representative_edges(net)
    edges = net.edges
    speed = edges["speed_kph"].to_numpy(dtype=float)
    length_m = edges["length_m"].to_numpy(dtype=float)
    highway = edges["highway"].astype(str).to_numpy() if "highway" in edges else np.full(net.n_edges, "")
    surf = edges["surface"].to_numpy() if "surface" in edges else np.full(net.n_edges, None)
    n = len(candidates)
    out = Pricing([], [], np.zeros(n), np.full(n, "", dtype=object),
                  pd.to_numeric(candidates["cost"], errors="coerce").to_numpy(dtype=float))
    ids = candidates["project_id"].to_numpy()
    action = candidates["action"].to_numpy()
    for p in range(n):
        tf = table.terrain_factor[terrain[p]]

        def unit(g_from: str, c_from: str | None, km: float, p: int = p) -> float:
            u = table.unit_cost(g_from, c_from, to_group[p], to_class[p])
            if u is None:
                what = f"{km:.2f} km of {c_from} ({g_from})" if c_from else f"{km:.2f} km of new road"
                raise ConfigError(f"cost table {table.source} has no unit cost for '{g_from} -> {to_group[p]}' "
                                  f"(project '{ids[p]}': {what} to {to_class[p]}, {to_group[p]}); add "
                                  f"\"{g_from} -> {to_group[p]}\" (or \"{g_from} -> {to_group[p]}/{to_class[p]}\") "
                                  "under [cost_per_km]")
            return u

        if action[p] == "new":
            km = float(shapely.length(candidates.geometry.iloc[[p]].to_crs(net.crs)).iloc[0]) / 1000.0
            out.piece_edge.append(np.empty(0, dtype=np.int64))
            out.piece_cost.append(np.array([km * unit(NEW, None, km) * tf]))
            out.length_km[p] = km
            out.from_text[p] = f"new road {km:.1f} km"
            continue
        pe = rep[np.searchsorted(segs, np.asarray(candidates["segment_ids"].iloc[p], dtype=np.int64))]
        group = table.group_of(list(highway[pe]), list(surf[pe]))
        pkm = length_m[pe] / 1000.0
        work = speed[pe] < target_kph[p] - 1e-9
        cost = np.array([unit(g, h, float(k)) if w else 0.0
                         for g, h, k, w in zip(group, highway[pe], pkm, work, strict=True)])
        out.piece_edge.append(pe)
        out.piece_cost.append(pkm * cost * tf)
        out.length_km[p] = float(pkm.sum())
        by = pd.Series(pkm, index=group).groupby(level=0).sum()
        out.from_text[p] = "; ".join(f"{g} {v:.1f} km" for g, v in by.items())
    return out


def target_speeds(candidates: gpd.GeoDataFrame, profile: Profile) -> np.ndarray:
    """Speed (km/h) each project brings its roads to: the target class's speed in the profile
    times the target surface's factor."""
    out = np.zeros(len(candidates))
    for k, (pid, cls, surf) in enumerate(zip(candidates["project_id"], candidates["to_class"],
                                             candidates["to_surface"], strict=True)):
        if cls not in profile.highway_speed_kph:
            raise ConfigError(f"project '{pid}': target class '{cls}' is not a road class of the speed profile "
                              f"{profile.source} ({', '.join(sorted(profile.highway_speed_kph))})")
        factor = profile.surface_factor.get(str(surf).strip().lower(), 1.0)
        out[k] = float(profile.highway_speed_kph[cls]) * factor
        if not out[k] > 0:
            raise ConfigError(f"project '{pid}': target class '{cls}' has no positive speed in {profile.source}")
    return out
