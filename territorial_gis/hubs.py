"""Hub localities with their hinterlands (set covering, maximal covering, p-median by travel time).

Territorial strategies pick a few *hub* localities (natural confluence points for the localities
around them) and plan per hinterland. This module chooses hubs from travel times over the road
network, not straight-line distance:

* :func:`hub_travel_table` - time from every locality to every candidate hub within ``T``
  minutes, from the compiled engine with a cutoff (a sparse long table computed in bounded
  batches; never a dense all-pairs matrix of the region). Localities are snapped to the roads
  with their off-road walking legs, as in the access stage.
* :func:`select_hubs` - the standard location models on that table:

  - ``"cover"`` (location set covering): the fewest hubs so that every locality that can be
    reached within ``T`` from some candidate is within ``T`` of a hub;
  - ``"maxcover"`` (maximal covering): the ``K`` hubs covering the most population within ``T``;
  - ``"pmedian"``: the ``K`` hubs minimising the population-weighted travel time, where a pair
    beyond ``T`` (not in the table) costs ``penalty_min`` (default ``2 T``).

  ``method="exact"`` solves the integer programme with PySAL's :mod:`spopt` and the CBC solver
  shipped with PuLP (on a dense matrix built only over the localities and candidates that occur
  in the sparse table; the column ``optimal`` is True only when CBC proved optimality);
  ``method="greedy"`` runs vectorised greedy heuristics (greedy set cover with redundant hubs
  dropped, greedy maximal cover, greedy add plus fast interchange for p-median) that scale to
  national regions; ``method="auto"`` uses the exact solver when the matrix has at most
  :data:`EXACT_MAX_CELLS` cells for the model and greedy otherwise.

* :func:`assign_hinterlands` - every locality joins its nearest hub (one multi-source pass).
* :func:`hinterland_polygons` - locality Voronoi cells dissolved per hub, clipped to the study area.
* :func:`summarize_hubs` - population, localities, median/maximum time, MRA share per hub.

Localities that no candidate reaches within ``T`` are reported (``hub_selection`` in
``attrs`` and ``covered_reason`` of :func:`coverage_report`), never forced onto a hub.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import sparse

from ._arrays import concat_ranges
from ._engine import AugmentedGraph
from ._routing import RouteOptions, ids_of, lonlat_of, options_or_default, snap_localities
from .columns import REASON_DISCONNECTED, REASON_TOO_FAR
from .errors import ColumnError, ConfigError, RoutingError

if TYPE_CHECKING:
    import geopandas as gpd

    from .network import RoadNetwork

log = logging.getLogger(__name__)

MODELS = ("cover", "maxcover", "pmedian")
METHODS = ("exact", "greedy", "auto")
#: largest dense (localities x candidates) matrix handed to the exact solver per model, in cells;
#: p-median has one assignment variable per cell, so its bound is lower
EXACT_MAX_CELLS = {"cover": 250_000, "maxcover": 250_000, "pmedian": 25_000}
#: largest (candidates x hubs) swap matrix for the p-median interchange step
INTERCHANGE_MAX_CELLS = 20_000_000
REASON_NO_CANDIDATE = "no_candidate_within_max_time"
REASON_NOT_COVERED = "not_covered_by_selected_hubs"


# ---------------------------------------------------------------------- validation helpers
def check_max_time(max_time_min: Any, what: str = "maximum travel time") -> float:
    """``max_time_min`` as a positive finite float, else :class:`ConfigError`."""
    try:
        t = float(max_time_min)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number of minutes, got {max_time_min!r}") from None
    if not math.isfinite(t) or t <= 0:
        raise ConfigError(f"{what} must be a positive number of minutes, got {max_time_min!r}")
    return t


def population_of(localities: pd.DataFrame, column: str | None = "population") -> np.ndarray:
    """Population (weights) as floats with NaN/negative as 0; all ones when the column is absent."""
    if column is None or column not in localities:
        return np.ones(len(localities))
    v = pd.to_numeric(localities[column], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(v) & (v > 0), v, 0.0)


def candidate_mask(localities: pd.DataFrame, candidates: Sequence[Any] | np.ndarray | pd.Series | None = None,
                   *, min_population: float | None = None, service_column: str | None = None,
                   population_col: str = "population", id_col: str | None = None) -> np.ndarray:
    """Which localities may become hubs.

    Parameters
    ----------
    candidates
        None (all localities), a sequence of locality ids, or a boolean mask aligned to rows.
    min_population
        Keep localities with at least this population.
    service_column
        Keep localities where this column is truthy (non-zero number, True, non-empty text),
        e.g. an existing school or health post.

    Raises
    ------
    ColumnError
        Unknown ids, or a missing population/service column.
    ConfigError
        No locality passes the rule.
    """
    n = len(localities)
    mask = np.ones(n, dtype=bool)
    rule: list[str] = []
    if candidates is not None:
        arr = np.asarray(candidates)
        if arr.dtype == bool and len(arr) == n:
            mask &= arr
            rule.append("given mask")
        else:
            ids = ids_of(localities, id_col).astype(str)
            wanted = pd.Index([str(x) for x in arr])
            missing = wanted.difference(pd.Index(ids))
            if len(missing):
                raise ColumnError(f"candidate hub id(s) not found among the {n} localities: "
                                  f"{', '.join(map(str, missing[:10]))}")
            mask &= ids.isin(wanted).to_numpy()
            rule.append(f"{len(wanted)} given ids")
    if min_population is not None:
        if population_col not in localities:
            raise ColumnError(f"candidate rule min_population needs a '{population_col}' column; "
                              f"columns: {', '.join(map(str, localities.columns))}")
        pop = pd.to_numeric(localities[population_col], errors="coerce").to_numpy(dtype=float)
        mask &= np.nan_to_num(pop, nan=-np.inf) >= float(min_population)
        rule.append(f"{population_col} >= {min_population:g}")
    if service_column is not None:
        if service_column not in localities:
            raise ColumnError(f"service column '{service_column}' not found; columns: "
                              f"{', '.join(map(str, localities.columns))}")
        col = localities[service_column]
        num = pd.to_numeric(col, errors="coerce")
        truthy = np.where(num.notna(), num.fillna(0).to_numpy() != 0,
                          col.astype(str).str.strip().str.lower().isin(["true", "yes", "y", "t", "si", "sí", "sim"]))
        mask &= truthy.astype(bool)
        rule.append(f"{service_column} truthy")
    if not mask.any():
        raise ConfigError(f"no candidate hub passes the rule ({'; '.join(rule) or 'all'}) among {n} localities")
    return mask


# ---------------------------------------------------------------------- travel-time table
@dataclass
class HubTable:
    """Sparse travel-time table from localities to candidate hubs within ``max_time_min``.

    ``loc`` (row of the locality), ``cand`` (index into ``cand_pos``) and ``time_min`` hold one
    entry per pair within the limit; ``cand_pos`` gives the locality row of each candidate;
    ``loc_ok`` is False for localities farther than the maximum snap distance from any road.
    """

    loc: np.ndarray
    cand: np.ndarray
    time_min: np.ndarray
    cand_pos: np.ndarray
    loc_ids: np.ndarray
    loc_ok: np.ndarray
    max_time_min: float

    @property
    def n_localities(self) -> int:
        return len(self.loc_ids)

    @property
    def n_candidates(self) -> int:
        return len(self.cand_pos)

    def coverage(self) -> sparse.csr_matrix:
        """Boolean (localities x candidates) CSR matrix of the pairs within the limit."""
        return sparse.csr_matrix((np.ones(len(self.loc), dtype=bool), (self.loc, self.cand)),
                                 shape=(self.n_localities, self.n_candidates))

    def to_frame(self) -> pd.DataFrame:
        """Long table ``locality_id``, ``candidate_id``, ``travel_time_min``."""
        return pd.DataFrame({"locality_id": self.loc_ids[self.loc],
                             "candidate_id": self.loc_ids[self.cand_pos[self.cand]],
                             "travel_time_min": self.time_min})


def hub_travel_table(network: RoadNetwork, localities: gpd.GeoDataFrame, max_time_min: float,
                     candidates: np.ndarray | None = None, *, options: RouteOptions | None = None,
                     id_col: str | None = None,
                     graph: AugmentedGraph | None = None) -> HubTable:
    """Time from each locality to each candidate hub within ``max_time_min`` (sparse long table).

    Parameters
    ----------
    candidates
        Boolean mask of candidate localities (see :func:`candidate_mask`); default all.
    graph
        An augmented graph whose snap group 0 is ``localities`` (reused when given).

    Returns
    -------
    HubTable
        Pairs within the limit; times include both off-road legs.
    """
    t = check_max_time(max_time_min)
    if len(localities) == 0:
        raise RoutingError("no localities to choose hubs for")
    mask = np.ones(len(localities), dtype=bool) if candidates is None else np.asarray(candidates, dtype=bool)
    if graph is None:
        graph = snap_localities(network, localities, options=options_or_default(options))
    nodes = graph.offroad_node[graph.group(0)]
    cand_pos = np.flatnonzero(mask)
    t0 = time.perf_counter()
    # reversed search from the candidates: time from each locality to the candidate
    s, tg, d = graph.long_table(nodes[cand_pos], nodes, cutoff=t * 60.0, reverse=True)
    log.info("hub table: %d localities x %d candidates -> %d pairs within %g min (%.2f s)",
             len(localities), len(cand_pos), len(s), t, time.perf_counter() - t0)
    return HubTable(loc=tg.astype(np.int64), cand=s.astype(np.int64), time_min=d / 60.0,
                    cand_pos=cand_pos, loc_ids=ids_of(localities, id_col).to_numpy(),
                    loc_ok=graph.snaps.ok[graph.group(0)].astype(bool), max_time_min=t)


# ---------------------------------------------------------------------- greedy heuristics
def _greedy_cover(cov: sparse.csr_matrix, score: np.ndarray, k: int | None = None) -> list[int]:
    """Greedy (maximal) covering: repeatedly pick the column covering the largest uncovered
    ``score``; incremental gain updates (each row is visited once when it becomes covered)."""
    n, m = cov.shape
    cov = cov.tocsr()
    cols = cov.T.tocsr()
    gains = cols @ score
    covered = np.zeros(n, dtype=bool)
    chosen: list[int] = []
    eps = 1e-9 * max(float(score.max()) if len(score) else 1.0, 1e-300)
    while k is None or len(chosen) < k:
        j = int(np.argmax(gains)) if m else -1
        if j < 0 or gains[j] <= eps:
            break
        rows = cols.indices[cols.indptr[j]:cols.indptr[j + 1]]
        new = rows[~covered[rows]]
        covered[new] = True
        chosen.append(j)
        sub = cov[new]
        gains -= np.bincount(sub.indices, weights=np.repeat(score[new], np.diff(sub.indptr)), minlength=m)
        gains[j] = -np.inf
    return chosen


def _drop_redundant(cov: sparse.csr_matrix, chosen: list[int]) -> list[int]:
    """Drop hubs (last picked first) whose covered localities are all covered by other hubs."""
    sub = cov[:, chosen].tocsc().astype(np.int32)
    count = np.asarray(sub.sum(axis=1)).ravel()
    keep = list(chosen)
    for pos in range(len(chosen) - 1, -1, -1):
        rows = sub.indices[sub.indptr[pos]:sub.indptr[pos + 1]]
        if len(rows) == 0 or (count[rows] >= 2).all():
            count[rows] -= 1
            keep.remove(chosen[pos])
    return keep


def _best_two(loc: np.ndarray, cand_sel: np.ndarray, t: np.ndarray, n: int,
              penalty: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per locality: nearest selected hub time ``d1``, its index ``h1`` and second time ``d2``."""
    d1 = np.full(n, penalty)
    d2 = np.full(n, penalty)
    h1 = np.full(n, -1, dtype=np.int64)
    if len(loc):
        order = np.lexsort((t, loc))
        lo, ho, to = loc[order], cand_sel[order], t[order]
        first = np.ones(len(lo), dtype=bool)
        first[1:] = lo[1:] != lo[:-1]
        fi = np.flatnonzero(first)
        d1[lo[fi]] = np.minimum(to[fi], penalty)
        h1[lo[fi]] = np.where(to[fi] < penalty, ho[fi], -1)
        second = fi + 1
        has2 = second < len(lo)
        has2[has2] = lo[second[has2]] == lo[fi[has2]]
        d2[lo[fi[has2]]] = np.minimum(to[second[has2]], penalty)
    return d1, h1, d2


def _pmedian_cost(loc: np.ndarray, cand: np.ndarray, t: np.ndarray, w: np.ndarray, chosen: Sequence[int],
                  m: int, penalty: float) -> float:
    sel = np.zeros(m, dtype=bool)
    sel[list(chosen)] = True
    keep = sel[cand]
    d1, _h, _d2 = _best_two(loc[keep], cand[keep], t[keep], len(w), penalty)
    return float((w * d1).sum())


def _greedy_pmedian(loc: np.ndarray, cand: np.ndarray, t: np.ndarray, w: np.ndarray, m: int, k: int,
                    penalty: float, interchange: bool = True) -> tuple[list[int], bool]:
    """Greedy add then fast (Whitaker) interchange for p-median; returns (hubs, interchange_ran).

    Cost of locality ``i`` = ``w_i`` times the time to its nearest hub, ``penalty`` when no hub
    is within the table.
    """
    n = len(w)
    t = np.minimum(t, penalty)
    order = np.argsort(loc, kind="stable")
    lo, co, to = loc[order], cand[order], t[order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(lo, minlength=n))])
    cur = np.full(n, penalty)
    gains = np.bincount(co, weights=w[lo] * (penalty - to), minlength=m).astype(float)
    col_order = np.argsort(cand, kind="stable")
    col_ptr = np.concatenate([[0], np.cumsum(np.bincount(cand, minlength=m))])
    chosen: list[int] = []
    while len(chosen) < min(k, m):
        j = int(np.argmax(gains))
        if not np.isfinite(gains[j]):
            break
        entries = col_order[col_ptr[j]:col_ptr[j + 1]]
        rows, new = loc[entries], t[entries]
        better = new < cur[rows]
        rows, new = rows[better], new[better]
        chosen.append(j)
        gains[j] = -np.inf
        if len(rows):
            old = cur[rows]
            cnt = indptr[rows + 1] - indptr[rows]
            starts = concat_ranges(indptr[rows], cnt)
            r_old = np.repeat(old, cnt)
            r_new = np.repeat(new, cnt)
            tt = to[starts]
            delta = w[lo[starts]] * (np.maximum(0.0, r_old - tt) - np.maximum(0.0, r_new - tt))
            gains -= np.bincount(co[starts], weights=delta, minlength=m)
            cur[rows] = new
    if not interchange or len(chosen) < 1 or len(chosen) >= m:
        return chosen, False
    if m * len(chosen) > INTERCHANGE_MAX_CELLS:
        log.info("p-median: %d candidates x %d hubs is too large for the interchange step; greedy add only",
                 m, len(chosen))
        return chosen, False
    sel = np.array(chosen, dtype=np.int64)
    for _it in range(200):
        p = len(sel)
        pos_of = np.full(m, -1, dtype=np.int64)
        pos_of[sel] = np.arange(p)
        keep = pos_of[cand] >= 0
        d1, h1, d2 = _best_two(loc[keep], pos_of[cand[keep]], t[keep], n, penalty)
        current = float((w * d1).sum())
        gain = np.bincount(cand, weights=w[loc] * np.maximum(0.0, d1[loc] - t), minlength=m)
        assigned = h1 >= 0
        loss = np.bincount(h1[assigned], weights=w[assigned] * (d2[assigned] - d1[assigned]), minlength=p)
        hr = h1[loc]
        cm = (hr >= 0) & (t < d2[loc])
        corr_val = w[loc[cm]] * (np.minimum(t[cm], d2[loc[cm]]) - d2[loc[cm]] + np.maximum(0.0, d1[loc[cm]] - t[cm]))
        corr = sparse.coo_matrix((corr_val, (cand[cm], hr[cm])), shape=(m, p)).toarray()
        delta = -gain[:, None] + loss[None, :] + corr
        delta[sel, :] = np.inf
        flat = int(np.argmin(delta))
        j, r = divmod(flat, p)
        if not delta[j, r] < -1e-9 * max(current, 1.0):
            break
        sel[r] = j
    return [int(x) for x in sel], True


# ---------------------------------------------------------------------- exact (spopt)
def _solve_exact(model: str, table_cells: np.ndarray, w: np.ndarray, k: int | None, penalty: float,
                 time_limit_s: float) -> tuple[list[int], bool, str]:
    """Solve on the dense (rows x cols) matrix with spopt + CBC; returns (cols, optimal, status)."""
    import pulp
    from spopt.locate import LSCP, MCLP, PMedian

    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s)
    if model == "cover":
        cost = np.where(np.isfinite(table_cells), 0.0, 2.0)
        obj: Any = LSCP.from_cost_matrix(cost, service_radius=1.0)
    elif model == "maxcover":
        cost = np.where(np.isfinite(table_cells), 0.0, 2.0)
        obj = MCLP.from_cost_matrix(cost, w, service_radius=1.0, p_facilities=int(k or 0))
    else:
        cost = np.where(np.isfinite(table_cells), np.minimum(table_cells, penalty), penalty)
        obj = PMedian.from_cost_matrix(cost, w, p_facilities=int(k or 0))
    try:
        obj.solve(solver, results=False)
    except Exception as exc:  # noqa: BLE001 - spopt raises plain exceptions on solver failure
        raise RoutingError(f"exact {model} solver failed: {exc}") from None
    chosen = [j for j, v in enumerate(obj.fac_vars) if (v.value() or 0) > 0.5]
    optimal = obj.problem.sol_status == pulp.LpSolutionOptimal
    return chosen, bool(optimal), str(pulp.LpStatus[obj.problem.status])


# ---------------------------------------------------------------------- main entry
def select_hubs(network: RoadNetwork | None, localities: gpd.GeoDataFrame, max_time_min: float,
                model: str = "cover", k: int | None = None, *,
                candidates: Sequence[Any] | np.ndarray | pd.Series | None = None,
                min_population: float | None = None, service_column: str | None = None,
                method: str = "auto", population_col: str = "population", id_col: str | None = None,
                penalty_min: float | None = None, time_limit_s: float = 120.0,
                options: RouteOptions | None = None, table: HubTable | None = None) -> gpd.GeoDataFrame:
    """Choose hub localities by travel time.

    Parameters
    ----------
    network
        Road network (may be None when ``table`` is given).
    localities
        Points with an id (``place_id``/``locality_id``/``id`` or ``id_col``) and ``population``.
    max_time_min
        ``T``: a locality is covered by a hub it reaches within ``T`` minutes (the table cutoff).
    model
        ``"cover"`` (fewest hubs covering every coverable locality), ``"maxcover"`` (``k`` hubs
        covering the most population) or ``"pmedian"`` (``k`` hubs minimising population-weighted
        time; pairs beyond ``T`` cost ``penalty_min``, default ``2 T``).
    k
        Number of hubs for ``maxcover`` and ``pmedian``.
    candidates, min_population, service_column
        Candidate rule, see :func:`candidate_mask`.
    method
        ``"exact"`` (spopt + CBC), ``"greedy"`` or ``"auto"`` (exact up to
        :data:`EXACT_MAX_CELLS` cells, else greedy).
    time_limit_s
        CBC time limit; when it stops early ``optimal`` is False.
    table
        A precomputed :class:`HubTable` (its candidates are used; the candidate rule is ignored).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per hub: ``hub_id``, ``name``, ``population``, ``model``, ``method``
        (``exact``/``greedy``), ``optimal`` (True only when CBC proved optimality),
        ``max_time_min``, ``k``, ``selection_rank``, ``n_localities_within_max_time``,
        ``population_within_max_time``, geometry (EPSG:4326). ``attrs["hub_selection"]`` holds
        the objective, counts and the uncovered localities (``uncovered``: id -> reason).
    """
    import geopandas as gpd

    t_start = time.perf_counter()
    t = check_max_time(max_time_min)
    if model not in MODELS:
        raise ConfigError(f"unknown hub model {model!r}; use one of {', '.join(MODELS)}")
    if method not in METHODS:
        raise ConfigError(f"unknown hub method {method!r}; use one of {', '.join(METHODS)}")
    if len(localities) == 0:
        raise RoutingError("no localities to choose hubs for")
    if table is None:
        mask = candidate_mask(localities, candidates, min_population=min_population,
                              service_column=service_column, population_col=population_col, id_col=id_col)
    else:
        mask = np.zeros(len(localities), dtype=bool)
        mask[table.cand_pos] = True
    n_cand = int(mask.sum())
    if model in ("maxcover", "pmedian"):
        if k is None:
            raise ConfigError(f"model {model!r} needs the number of hubs k")
        if int(k) != k or k < 1:
            raise ConfigError(f"number of hubs k must be a positive whole number, got {k!r}")
        if k > n_cand:
            raise ConfigError(f"number of hubs k={k} is larger than the {n_cand} candidate hubs")
        k = int(k)
    elif k is not None:
        log.info("model 'cover' chooses the number of hubs itself; k=%s ignored", k)
        k = None
    if table is None:
        if network is None:
            raise RoutingError("select_hubs needs a network or a precomputed table")
        table = hub_travel_table(network, localities, t, mask, options=options, id_col=id_col)
    elif table.max_time_min != t:
        raise ConfigError(f"the given table was computed for {table.max_time_min:g} min, not {t:g} min")
    penalty = 2.0 * t if penalty_min is None else float(penalty_min)
    if penalty < t:
        raise ConfigError(f"p-median penalty {penalty:g} min must be at least the maximum time {t:g} min")
    w_all = population_of(localities, population_col)
    if w_all.sum() <= 0:
        w_all = np.ones(len(localities))
    # compress to the localities and candidates that occur in the table
    rows_u, loc_c = np.unique(table.loc, return_inverse=True)
    cols_u, cand_c = np.unique(table.cand, return_inverse=True)
    nr, nc = len(rows_u), len(cols_u)
    w = w_all[rows_u]
    cells = nr * nc
    chosen_method = method
    if method == "auto":
        chosen_method = "exact" if cells <= EXACT_MAX_CELLS[model] else "greedy"
    elif method == "exact" and cells > 4 * EXACT_MAX_CELLS[model]:
        raise ConfigError(f"exact {model} on {nr} localities x {nc} candidates ({cells:,} cells) is too large "
                          f"(limit {4 * EXACT_MAX_CELLS[model]:,}); use method greedy or auto")
    status = "heuristic"
    optimal = False
    if nc == 0:
        picked: list[int] = []
        status = "no candidate reaches any locality within the limit"
    elif k is not None and k >= nc and model != "cover":
        picked = list(range(nc))
        optimal = chosen_method == "exact"
        status = "all useful candidates selected"
    elif chosen_method == "exact":
        dense = np.full((nr, nc), np.inf)
        dense[loc_c, cand_c] = table.time_min
        picked, optimal, status = _solve_exact(model, dense, w, k, penalty, time_limit_s)
    else:
        cov = sparse.csr_matrix((np.ones(len(loc_c), dtype=bool), (loc_c, cand_c)), shape=(nr, nc))
        if model == "cover":
            score = 1.0 + w / (w.sum() + 1.0)  # localities first, population breaks ties
            picked = _drop_redundant(cov, _greedy_cover(cov, score))
        elif model == "maxcover":
            picked = _greedy_cover(cov, w, k)
        else:
            picked, swapped = _greedy_pmedian(loc_c, cand_c, table.time_min, w, nc, int(k or 0), penalty)
            status = "greedy add + interchange" if swapped else "greedy add"
    hub_cols = cols_u[np.asarray(picked, dtype=np.int64)]
    hub_rows = table.cand_pos[hub_cols]
    # coverage of the chosen hubs
    is_hub = np.zeros(table.n_candidates, dtype=bool)
    is_hub[hub_cols] = True
    in_hub = is_hub[table.cand]
    covered = np.zeros(table.n_localities, dtype=bool)
    covered[table.loc[in_hub]] = True
    per_hub_n = np.bincount(table.cand[in_hub], minlength=table.n_candidates)[hub_cols]
    per_hub_pop = np.bincount(table.cand[in_hub], weights=w_all[table.loc[in_hub]],
                              minlength=table.n_candidates)[hub_cols]
    coverable = np.zeros(table.n_localities, dtype=bool)
    coverable[rows_u] = True
    reasons: dict[str, str] = {}
    for i in np.flatnonzero(~covered):
        if not table.loc_ok[i]:
            reasons[str(table.loc_ids[i])] = REASON_TOO_FAR
        elif not coverable[i]:
            reasons[str(table.loc_ids[i])] = REASON_NO_CANDIDATE
        else:
            reasons[str(table.loc_ids[i])] = REASON_NOT_COVERED
    if model == "pmedian":
        keep = is_hub[table.cand]
        d1, _h, _d2 = _best_two(table.loc[keep], table.cand[keep], table.time_min[keep], table.n_localities, penalty)
        objective = float((w_all[coverable] * d1[coverable]).sum())
    elif model == "maxcover":
        objective = float(w_all[covered].sum())
    else:
        objective = float(len(hub_rows))
    src = localities.iloc[hub_rows]
    geom = src.geometry
    if localities.crs is not None and not localities.crs.equals("EPSG:4326"):
        geom = geom.to_crs(4326)
    hubs = gpd.GeoDataFrame({
        "hub_id": table.loc_ids[hub_rows],
        "name": src["name"].to_numpy() if "name" in src else None,
        "population": population_of(src, population_col) if population_col in src else np.nan,
        "model": model,
        "method": chosen_method,
        "optimal": optimal,
        "max_time_min": t,
        "k": pd.array([k] * len(hub_rows), dtype="Int64"),
        "selection_rank": np.arange(1, len(hub_rows) + 1),
        "n_localities_within_max_time": per_hub_n.astype(np.int64),
        "population_within_max_time": per_hub_pop,
    }, geometry=geom.to_numpy(), crs=4326 if localities.crs is not None else None)
    if chosen_method == "exact":  # no selection order: rank by covered population
        order = np.argsort(-per_hub_pop, kind="stable")
        hubs = hubs.iloc[order].reset_index(drop=True)
        hubs["selection_rank"] = np.arange(1, len(hubs) + 1)
    hubs.attrs["hub_selection"] = {
        "model": model, "method": chosen_method, "requested_method": method, "optimal": optimal,
        "solver_status": status, "objective": objective, "max_time_min": t, "k": k,
        "penalty_min": penalty if model == "pmedian" else None,
        "n_localities": int(table.n_localities), "n_candidates": int(n_cand),
        "n_table_pairs": int(len(table.loc)), "matrix_cells": int(cells), "n_hubs": int(len(hubs)),
        "n_covered": int(covered.sum()), "population_covered": float(w_all[covered].sum()),
        "n_uncovered": len(reasons), "uncovered": reasons,
        "seconds": round(time.perf_counter() - t_start, 3),
    }
    log.info("hubs: %s/%s chose %d hubs (T=%g min); %d of %d localities covered; %s", model, chosen_method,
             len(hubs), t, int(covered.sum()), table.n_localities, status)
    return hubs


def coverage_report(localities: pd.DataFrame, hubs: pd.DataFrame, id_col: str | None = None) -> pd.Series:
    """``covered_reason`` per locality from ``hubs.attrs["hub_selection"]``: None when covered
    within ``T``, else ``too_far_from_road``, ``no_candidate_within_max_time`` or
    ``not_covered_by_selected_hubs``."""
    info = hubs.attrs.get("hub_selection", {})
    reasons = info.get("uncovered", {})
    ids = ids_of(localities, id_col).astype(str)
    return pd.Series([reasons.get(i) for i in ids], index=localities.index, name="covered_reason", dtype=object)


# ---------------------------------------------------------------------- hinterlands
def locality_rows(localities: gpd.GeoDataFrame, points: gpd.GeoDataFrame, point_ids: np.ndarray,
                  id_col: str | None = None, tol_m: float = 1.0) -> np.ndarray:
    """Row of each point among the localities when it is one of them (same id and within
    ``tol_m`` of the locality), else -1; such points route from the locality's own snap."""
    loc_ids = pd.Index(ids_of(localities, id_col).astype(str))
    pos = np.full(len(point_ids), -1, dtype=np.int64)
    if not loc_ids.is_unique or len(point_ids) == 0:
        return pos
    cand = loc_ids.get_indexer([str(h) for h in point_ids])
    hit = np.flatnonzero(cand >= 0)
    if len(hit):
        llon, llat = lonlat_of(localities.iloc[cand[hit]], "localities")
        plon, plat = lonlat_of(points.iloc[hit], "points")
        # metres per degree, ample for a 1 m test
        dy = (llat - plat) * 111_320.0
        dx = (llon - plon) * 111_320.0 * np.cos(np.radians(llat))
        same = np.hypot(dx, dy) <= tol_m
        pos[hit[same]] = cand[hit[same]]
    return pos


def assign_hinterlands(network: RoadNetwork, localities: gpd.GeoDataFrame, hubs: gpd.GeoDataFrame, *,
                       max_time_min: float | None = None, id_col: str | None = None,
                       options: RouteOptions | None = None, prefix: str = "hub") -> gpd.GeoDataFrame:
    """Assign every locality to its nearest hub by travel time (one multi-source pass).

    Hubs that are localities (matched by id) route from the locality's own snapped point, so a
    hub reaches itself in 0 minutes; other hubs are snapped on their own.

    Returns
    -------
    geopandas.GeoDataFrame
        ``localities`` plus ``<prefix>_id``, ``travel_time_<prefix>_min`` (NaN when no hub is
        reachable), ``<prefix>_reason`` (None, ``too_far_from_road`` or ``disconnected``) and,
        when a maximum time is known (argument or the hubs' ``max_time_min``),
        ``within_max_time`` (bool).
    """
    if len(hubs) == 0:
        raise ConfigError("no hubs to assign localities to")
    if len(localities) == 0:
        raise RoutingError("no localities to assign to hubs")
    hub_ids = (hubs["hub_id"] if "hub_id" in hubs else ids_of(hubs)).to_numpy()
    pos = locality_rows(localities, hubs, hub_ids, id_col)
    outside = pos < 0
    extra = [hubs.iloc[np.flatnonzero(outside)]] if outside.any() else []
    opts = options_or_default(options)
    graph = snap_localities(network, localities, extra, options=opts)
    loc_nodes = graph.offroad_node[graph.group(0)]
    hub_nodes = np.empty(len(hubs), dtype=np.int64)
    hub_nodes[~outside] = loc_nodes[pos[~outside]]
    if outside.any():
        hub_nodes[outside] = graph.offroad_node[graph.group(1)]
    valid = hub_nodes >= 0
    if not valid.any():
        raise RoutingError(f"none of the {len(hubs)} hubs is within {opts.max_snap_m:g} m of a road")
    t_s, which, _ = graph.nearest(hub_nodes[valid], loc_nodes)
    out = localities.copy()
    found = which >= 0
    ids = np.full(len(out), None, dtype=object)
    ids[found] = hub_ids[valid][which[found]]
    ok = graph.snaps.ok[graph.group(0)].astype(bool)
    reason = np.full(len(out), None, dtype=object)
    reason[ok & ~found] = REASON_DISCONNECTED
    reason[~ok] = REASON_TOO_FAR
    out[f"{prefix}_id"] = ids
    out[f"travel_time_{prefix}_min"] = np.where(found, t_s / 60.0, np.nan)
    out[f"{prefix}_reason"] = reason
    if max_time_min is None and "max_time_min" in hubs and len(hubs):
        max_time_min = float(hubs["max_time_min"].iloc[0])
    if max_time_min is not None:
        out["within_max_time"] = out[f"travel_time_{prefix}_min"].to_numpy() <= float(max_time_min)
    log.info("hinterlands: %d localities assigned to %d hubs; %d without a hub", int(found.sum()),
             len(hubs), int((~found).sum()))
    return out


def _study_area_metric(points: np.ndarray, study_area: Any, crs: Any) -> Any:
    import geopandas as gpd
    import shapely
    from scipy.spatial import cKDTree

    if study_area is not None:
        if isinstance(study_area, (gpd.GeoDataFrame, gpd.GeoSeries)):
            s = study_area.geometry if isinstance(study_area, gpd.GeoDataFrame) else study_area
            if s.crs is None:
                s = s.set_crs(4326)
            return s.to_crs(crs).union_all()
        return gpd.GeoSeries([study_area], crs=4326).to_crs(crs).iloc[0]
    hull = shapely.convex_hull(shapely.multipoints(points))
    if len(points) >= 2:
        d, _ = cKDTree(points).query(points, k=2)
        spacing = float(np.median(d[:, 1])) if np.isfinite(d[:, 1]).any() else 0.0
    else:
        spacing = 0.0
    return hull.buffer(max(spacing, 100.0))


def hinterland_polygons(localities_assigned: gpd.GeoDataFrame, study_area: Any = None, by: str = "hub_id",
                        population_col: str = "population") -> gpd.GeoDataFrame:
    """Polygons of the hinterlands: locality Voronoi cells dissolved per ``by``, clipped to the area.

    Parameters
    ----------
    localities_assigned
        Output of :func:`assign_hinterlands` (or any frame with the ``by`` column).
    study_area
        Polygon (shapely in EPSG:4326, GeoSeries or GeoDataFrame); default the convex hull of
        the localities buffered by their median nearest-neighbour spacing (at least 100 m).

    Returns
    -------
    geopandas.GeoDataFrame
        ``<by>``, ``n_localities``, ``population``, ``area_km2``, geometry (EPSG:4326). Localities
        without a value of ``by`` are left out. Cells are computed in the UTM CRS of the area.
    """
    import geopandas as gpd
    import shapely

    from ._crs import utm_crs_for_bounds

    if by not in localities_assigned:
        raise ColumnError(f"column '{by}' not found; run the assignment first")
    gdf = localities_assigned
    if gdf.crs is None:
        raise ColumnError("localities have no CRS; set one (EPSG:4326 for lon/lat)")
    g4326 = gdf.geometry.to_crs(4326)
    crs = utm_crs_for_bounds(tuple(g4326.total_bounds))
    pts_geom = gdf.geometry.to_crs(crs)
    if len(pts_geom) and not (pts_geom.geom_type == "Point").all():
        pts_geom = pts_geom.representative_point()
    xy = shapely.get_coordinates(pts_geom.to_numpy())
    area = _study_area_metric(xy, study_area, crs)
    uniq, first_idx, inv = np.unique(xy, axis=0, return_index=True, return_inverse=True)
    inv = np.asarray(inv).ravel()
    if len(uniq) == 1:
        cells = np.array([area])
    else:
        try:  # shapely >= 2.1 keeps the input order
            coll = shapely.voronoi_polygons(shapely.multipoints(uniq), extend_to=area, ordered=True)
            ordered = True
        except TypeError:
            coll = shapely.voronoi_polygons(shapely.multipoints(uniq), extend_to=area)
            ordered = False
        cells = shapely.get_parts(coll)
        if not ordered or len(cells) != len(uniq):  # match each point to the cell holding it
            tree = shapely.STRtree(cells)
            pi, ci = tree.query(shapely.points(uniq), predicate="intersects")
            _, f = np.unique(pi, return_index=True)
            cells = cells[ci[f]]
    cells = shapely.intersection(cells, area)
    key = gdf[by].to_numpy()
    # a duplicated location belongs to the group of its first locality
    cell_key = key[first_idx]
    have = pd.notna(cell_key)
    pop = population_of(gdf, population_col)
    frame = pd.DataFrame({by: key, "_pop": pop})
    stats = frame[pd.notna(key)].groupby(by, sort=True).agg(n_localities=("_pop", "size"), population=("_pop", "sum"))
    parts = gpd.GeoDataFrame({by: cell_key[have]}, geometry=cells[have], crs=crs)
    dissolved = parts.dissolve(by=by, as_index=True)
    dissolved = dissolved.join(stats, how="left")
    dissolved["area_km2"] = dissolved.geometry.area / 1e6
    out = dissolved.reset_index().to_crs(4326)
    out["n_localities"] = out["n_localities"].fillna(0).astype(np.int64)
    return out[[by, "n_localities", "population", "area_km2", "geometry"]]


def summarize_hubs(localities_assigned: pd.DataFrame, hubs: pd.DataFrame | None = None, *,
                   population_col: str = "population", class_col: str = "area_class",
                   id_col: str | None = None, prefix: str = "hub") -> pd.DataFrame:
    """Per hub: population of the hub and of its hinterland, localities, times, MRA share.

    Returns
    -------
    pandas.DataFrame
        ``hub_id``, ``hub_population`` (the hub locality), ``population_total`` (every locality
        assigned to the hub, the hub included), ``hinterland_population`` (the others),
        ``n_localities``, ``median_time_hub_min``, ``max_time_hub_min`` and, when ``class_col``
        is present, ``mra_population_share`` (share of ``population_total`` in MRA localities).
    """
    key = f"{prefix}_id"
    tcol = f"travel_time_{prefix}_min"
    for c in (key, tcol):
        if c not in localities_assigned:
            raise ColumnError(f"column '{c}' not found; run assign_hinterlands first")
    df = pd.DataFrame({key: localities_assigned[key].to_numpy(),
                       "_t": localities_assigned[tcol].to_numpy(dtype=float),
                       "_pop": population_of(localities_assigned, population_col),
                       "_id": ids_of(localities_assigned, id_col).astype(str).to_numpy()})
    has_class = class_col in localities_assigned
    if has_class:
        df["_mra"] = np.where(localities_assigned[class_col].astype(str).str.upper().to_numpy() == "MRA",
                              df["_pop"], 0.0)
    df = df[pd.notna(df[key])]
    g = df.groupby(key, sort=False)
    summ = pd.DataFrame({
        "n_localities": g.size(),
        "population_total": g["_pop"].sum(),
        "median_time_hub_min": g["_t"].median(),
        "max_time_hub_min": g["_t"].max(),
    })
    own = df[df["_id"] == df[key].astype(str)].groupby(key)["_pop"].sum()
    summ["hub_population"] = own.reindex(summ.index).fillna(0.0)
    if hubs is not None and "population" in hubs and len(hubs):
        hp = pd.Series(population_of(hubs, "population"), index=hubs["hub_id"].to_numpy())
        hp = hp[~hp.index.duplicated()]
        summ["hub_population"] = hp.reindex(summ.index).fillna(summ["hub_population"])
    summ["hinterland_population"] = summ["population_total"] - own.reindex(summ.index).fillna(0.0)
    if has_class:
        tot = summ["population_total"].replace(0.0, np.nan)
        summ["mra_population_share"] = g["_mra"].sum() / tot
    summ.index.name = key
    out = summ.reset_index()
    if hubs is not None and "hub_id" in hubs:
        order = pd.Index(hubs["hub_id"].to_numpy())
        missing = order.difference(out[key])
        if len(missing):  # hubs with no locality (unreachable hub)
            out = pd.concat([out, pd.DataFrame({key: missing, "n_localities": 0, "population_total": 0.0})],
                            ignore_index=True)
    cols = [key, "hub_population", "population_total", "hinterland_population", "n_localities",
            "median_time_hub_min", "max_time_hub_min"] + (["mra_population_share"] if has_class else [])
    return out[cols]
