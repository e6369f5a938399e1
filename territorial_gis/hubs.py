"""Hub localities with their hinterlands (set covering, maximal covering, p-median by travel time).

Territorial strategies pick a few *hub* localities (natural confluence points for the localities
around them) and plan per hinterland. This module chooses hubs from travel times over the road
network, not straight-line distance, in the shape of PySAL spopt's ``from_cost_matrix(...).solve()``:
a problem is built once (the expensive part: travel times) and solved with one model or several.

* :func:`hub_travel_table` - time from every locality to every candidate hub within ``T``
  minutes, from the compiled engine with a cutoff (a sparse long table computed in bounded
  batches; never a dense all-pairs matrix of the region). Localities are snapped to the roads
  with their off-road walking legs, as in the access stage.
* :class:`HubProblem` - the table with the localities' population as weights, built with
  :meth:`HubProblem.from_network` (candidate rule: :func:`candidate_mask`) or
  :meth:`HubProblem.from_table`; :meth:`HubProblem.solve` runs a standard location model on it:

  - ``"cover"`` (location set covering): the fewest hubs so that every locality that can be
    reached within ``T`` from some candidate is within ``T`` of a hub;
  - ``"maxcover"`` (maximal covering): the ``K`` hubs covering the most population within ``T``;
  - ``"pmedian"``: the ``K`` hubs minimising the population-weighted travel time, where a pair
    beyond ``T`` (not in the table) costs ``penalty_min`` (default ``2 T``).

  ``method="exact"`` solves the integer programme with PySAL's :mod:`spopt` and the CBC solver
  shipped with PuLP (on a dense matrix built only over the localities and candidates that occur
  in the sparse table; ``optimal`` is True only when CBC proved optimality);
  ``method="greedy"`` runs vectorised greedy heuristics (greedy set cover with redundant hubs
  dropped, greedy maximal cover, greedy add plus fast interchange for p-median) that scale to
  national regions; ``method="auto"`` uses the exact solver when the matrix has at most
  :data:`EXACT_MAX_CELLS` cells for the model and greedy otherwise. The result is a
  :class:`HubSelection`: the hubs and the objective, counts and uncovered localities.
* :func:`select_hubs` - table and solve in one call.
* :func:`assign_hinterlands` - every locality joins its nearest hub (one multi-source pass).
* :func:`hinterland_polygons` - locality Voronoi cells dissolved per hub, clipped to the study area.
* :func:`summarize_hubs` - population, localities, median/maximum time, MRA share per hub.

Localities that no candidate reaches within ``T`` are reported (:attr:`HubSelection.uncovered`
and :meth:`HubSelection.covered_reason`), never forced onto a hub.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import sparse

from ._arrays import concat_ranges, dense_ranks
from ._engine import AugmentedGraph
from ._routing import RouteOptions, ids_of, options_or_default, snap_localities
from ._zones import (
    N_LOCALITIES,
    check_max_time,
    hub_ids_of,
    known_population,
    place_points,
    population_of,
    zone_polygons,
)
from .columns import (
    AREA_CLASS,
    HUB_ID,
    LOCALITY_ID,
    NAME,
    POPULATION,
    REASON_DISCONNECTED,
    REASON_TOO_FAR,
    time_col,
)
from .errors import ColumnError, ConfigError, RoutingError

if TYPE_CHECKING:
    import geopandas as gpd

    from .network import RoadNetwork

log = logging.getLogger(__name__)

__all__ = [
    "EXACT_MAX_CELLS", "METHODS", "MODELS", "REASON_NO_CANDIDATE", "REASON_NOT_COVERED", "HubProblem",
    "HubSelection", "HubTable", "assign_hinterlands", "candidate_mask", "check_max_time", "hinterland_polygons",
    "hub_travel_table", "select_hubs", "summarize_hubs",
]

MODELS = ("cover", "maxcover", "pmedian")
METHODS = ("exact", "greedy", "auto")
#: largest dense (localities x candidates) matrix handed to the exact solver per model, in cells;
#: p-median has one assignment variable per cell, so its bound is lower
EXACT_MAX_CELLS = {"cover": 250_000, "maxcover": 250_000, "pmedian": 25_000}
#: largest (candidates x hubs) swap matrix for the p-median interchange step
INTERCHANGE_MAX_CELLS = 20_000_000
REASON_NO_CANDIDATE = "no_candidate_within_max_time"
REASON_NOT_COVERED = "not_covered_by_selected_hubs"
COVERED_REASON = "covered_reason"
"""Column of :meth:`HubSelection.covered_reason`: why a locality is not within ``T`` of a hub."""
WITHIN_MAX_TIME = "within_max_time"
MAX_TIME_MIN = "max_time_min"


# ---------------------------------------------------------------------- candidates
def candidate_mask(localities: pd.DataFrame, candidates: Sequence[Any] | np.ndarray | pd.Series | None = None,
                   *, min_population: float | None = None, service_column: str | None = None,
                   population_col: str = POPULATION, id_col: str | None = None) -> np.ndarray:
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
        return pd.DataFrame({LOCALITY_ID: self.loc_ids[self.loc],
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


# ---------------------------------------------------------------------- problem and solution
def _check_model(model: str, method: str) -> None:
    if model not in MODELS:
        raise ConfigError(f"unknown hub model {model!r}; use one of {', '.join(MODELS)}")
    if method not in METHODS:
        raise ConfigError(f"unknown hub method {method!r}; use one of {', '.join(METHODS)}")


def _check_k(model: str, k: Any, n_candidates: int) -> int | None:
    """The number of hubs for ``model``: a whole number in 1..n_candidates, None for ``cover``."""
    if model == "cover":
        if k is not None:
            log.info("model 'cover' chooses the number of hubs itself; k=%s ignored", k)
        return None
    if k is None:
        raise ConfigError(f"model {model!r} needs the number of hubs k")
    if int(k) != k or k < 1:
        raise ConfigError(f"number of hubs k must be a positive whole number, got {k!r}")
    if k > n_candidates:
        raise ConfigError(f"number of hubs k={k} is larger than the {n_candidates} candidate hubs")
    return int(k)


@dataclass(frozen=True, eq=False)
class HubSelection:
    """Hubs chosen by :meth:`HubProblem.solve`, with what the selection achieved.

    Attributes
    ----------
    hubs
        One row per hub: ``hub_id``, ``name``, ``population``, ``model``, ``method``
        (``exact``/``greedy``), ``optimal``, ``max_time_min``, ``k``, ``selection_rank``,
        ``n_localities_within_max_time``, ``population_within_max_time``, geometry (EPSG:4326).
    model, method, requested_method
        The model, the method used (``exact``/``greedy``) and the one asked for (may be ``auto``).
    optimal
        True only when CBC proved optimality.
    solver_status
        CBC's status, or what the heuristic did.
    objective
        ``cover``: number of hubs; ``maxcover``: population within ``T`` of a hub;
        ``pmedian``: population-weighted minutes over the coverable localities, pairs beyond
        ``T`` at ``penalty_min``.
    uncovered
        Locality id (as text) -> why it is not within ``T`` of a hub: ``too_far_from_road``,
        ``no_candidate_within_max_time`` or ``not_covered_by_selected_hubs``.
    seconds
        Time the solve step took (the travel-time table not included).
    """

    hubs: gpd.GeoDataFrame
    model: str
    method: str
    requested_method: str
    optimal: bool
    solver_status: str
    objective: float
    max_time_min: float
    k: int | None
    penalty_min: float | None
    n_localities: int
    n_candidates: int
    n_table_pairs: int
    matrix_cells: int
    n_covered: int
    population_covered: float
    uncovered: Mapping[str, str] = field(repr=False)
    seconds: float

    @property
    def n_hubs(self) -> int:
        return len(self.hubs)

    @property
    def n_uncovered(self) -> int:
        return len(self.uncovered)

    def covered_reason(self, localities: pd.DataFrame, id_col: str | None = None) -> pd.Series:
        """``covered_reason`` per locality: None when within ``T`` of a hub, else the reason
        of :attr:`uncovered`."""
        ids = ids_of(localities, id_col).astype(str)
        return pd.Series([self.uncovered.get(i) for i in ids], index=localities.index, name=COVERED_REASON,
                         dtype=object)

    def as_dict(self) -> dict[str, Any]:
        """Everything but the hubs frame, as plain values (for logs, JSON and study summaries)."""
        out = {f: getattr(self, f) for f in self.__dataclass_fields__ if f != "hubs"}
        out["uncovered"] = dict(self.uncovered)
        return {**out, "n_hubs": self.n_hubs, "n_uncovered": self.n_uncovered}


@dataclass(frozen=True, eq=False)
class _Coverage:
    """What a set of hubs covers: per locality and per hub (hubs in the order picked)."""

    covered: np.ndarray
    coverable: np.ndarray
    n_per_hub: np.ndarray
    population_per_hub: np.ndarray
    uncovered: dict[str, str]


class HubProblem:
    """Hub selection over one travel-time table, solved with one model or several.

    Build it with :meth:`from_network` (computes the table) or :meth:`from_table`; call
    :meth:`solve`. The localities that occur in the table and the candidates that reach one
    are indexed once here, so several solves share that work.

    Examples
    --------
    >>> problem = HubProblem.from_network(net, localities, max_time_min=30, min_population=500)  # doctest: +SKIP
    >>> cover = problem.solve("cover")                                                           # doctest: +SKIP
    >>> best5 = problem.solve("pmedian", k=5)                                                    # doctest: +SKIP
    >>> best5.hubs, best5.objective, best5.uncovered                                             # doctest: +SKIP
    """

    def __init__(self, table: HubTable, localities: gpd.GeoDataFrame, *, population_col: str = POPULATION) -> None:
        if len(localities) == 0:
            raise RoutingError("no localities to choose hubs for")
        if len(localities) != table.n_localities:
            raise ConfigError(f"the table was computed for {table.n_localities} localities, not {len(localities)}")
        self.table = table
        self.localities = localities
        self.population_col = population_col
        w = population_of(localities, population_col)
        self.weights = w if w.sum() > 0 else np.ones(len(localities))
        # compress to the localities and candidates that occur in the table
        self._rows, self._loc_c = dense_ranks(table.loc, table.n_localities)
        self._cols, self._cand_c = dense_ranks(table.cand, table.n_candidates)

    @classmethod
    def from_network(cls, network: RoadNetwork, localities: gpd.GeoDataFrame, *, max_time_min: float,
                     candidates: Sequence[Any] | np.ndarray | pd.Series | None = None,
                     min_population: float | None = None, service_column: str | None = None,
                     population_col: str = POPULATION, id_col: str | None = None,
                     options: RouteOptions | None = None) -> HubProblem:
        """The problem on ``network``: candidates by the rule of :func:`candidate_mask`, then
        :func:`hub_travel_table` within ``max_time_min``."""
        t = check_max_time(max_time_min)
        if len(localities) == 0:
            raise RoutingError("no localities to choose hubs for")
        mask = candidate_mask(localities, candidates, min_population=min_population,
                              service_column=service_column, population_col=population_col, id_col=id_col)
        table = hub_travel_table(network, localities, t, mask, options=options, id_col=id_col)
        return cls(table, localities, population_col=population_col)

    @classmethod
    def from_table(cls, table: HubTable, localities: gpd.GeoDataFrame, *,
                   population_col: str = POPULATION) -> HubProblem:
        """The problem on a precomputed :class:`HubTable` of ``localities`` (its candidates)."""
        return cls(table, localities, population_col=population_col)

    @property
    def max_time_min(self) -> float:
        return self.table.max_time_min

    @property
    def n_candidates(self) -> int:
        return self.table.n_candidates

    def solve(self, model: str = "cover", *, k: int | None = None, method: str = "auto",
              penalty_min: float | None = None, time_limit_s: float = 120.0) -> HubSelection:
        """Choose hubs with ``model``.

        Parameters
        ----------
        model
            ``"cover"`` (fewest hubs covering every coverable locality), ``"maxcover"`` (``k``
            hubs covering the most population) or ``"pmedian"`` (``k`` hubs minimising
            population-weighted time; pairs beyond ``T`` cost ``penalty_min``, default ``2 T``).
        k
            Number of hubs for ``maxcover`` and ``pmedian``.
        method
            ``"exact"`` (spopt + CBC), ``"greedy"`` or ``"auto"`` (exact up to
            :data:`EXACT_MAX_CELLS` cells, else greedy).
        time_limit_s
            CBC time limit; when it stops early ``optimal`` is False.
        """
        t_start = time.perf_counter()
        _check_model(model, method)
        kk = _check_k(model, k, self.n_candidates)
        t = self.max_time_min
        penalty = 2.0 * t if penalty_min is None else float(penalty_min)
        if penalty < t:
            raise ConfigError(f"p-median penalty {penalty:g} min must be at least the maximum time {t:g} min")
        chosen_method = self._method_for(model, method)
        picked, optimal, status = self._pick(model, chosen_method, kk, penalty, time_limit_s)
        hub_cols = self._cols[np.asarray(picked, dtype=np.int64)]
        cov = self._coverage(hub_cols)
        hubs = self._hub_frame(hub_cols, cov, model=model, method=chosen_method, optimal=optimal, k=kk)
        sel = HubSelection(
            hubs=hubs, model=model, method=chosen_method, requested_method=method, optimal=optimal,
            solver_status=status, objective=self._objective(model, hub_cols, cov, penalty), max_time_min=t, k=kk,
            penalty_min=penalty if model == "pmedian" else None, n_localities=int(self.table.n_localities),
            n_candidates=int(self.n_candidates), n_table_pairs=int(len(self.table.loc)),
            matrix_cells=int(len(self._rows) * len(self._cols)), n_covered=int(cov.covered.sum()),
            population_covered=float(self.weights[cov.covered].sum()), uncovered=cov.uncovered,
            seconds=round(time.perf_counter() - t_start, 3))
        log.info("hubs: %s/%s chose %d hubs (T=%g min); %d of %d localities covered; %s", model, chosen_method,
                 sel.n_hubs, t, sel.n_covered, sel.n_localities, status)
        return sel

    # -- steps of solve
    def _method_for(self, model: str, method: str) -> str:
        """``exact`` or ``greedy`` for ``method`` (``auto`` by the size of the dense matrix)."""
        nr, nc = len(self._rows), len(self._cols)
        cells = nr * nc
        if method == "auto":
            return "exact" if cells <= EXACT_MAX_CELLS[model] else "greedy"
        if method == "exact" and cells > 4 * EXACT_MAX_CELLS[model]:
            raise ConfigError(f"exact {model} on {nr} localities x {nc} candidates ({cells:,} cells) is too large "
                              f"(limit {4 * EXACT_MAX_CELLS[model]:,}); use method greedy or auto")
        return method

    def _pick(self, model: str, method: str, k: int | None, penalty: float,
              time_limit_s: float) -> tuple[list[int], bool, str]:
        """Positions of the chosen hubs among the compressed candidates, optimality, status."""
        nr, nc = len(self._rows), len(self._cols)
        w = self.weights[self._rows]
        loc_c, cand_c, tmin = self._loc_c, self._cand_c, self.table.time_min
        if nc == 0:
            return [], False, "no candidate reaches any locality within the limit"
        if k is not None and k >= nc and model != "cover":
            return list(range(nc)), method == "exact", "all useful candidates selected"
        if method == "exact":
            dense = np.full((nr, nc), np.inf)
            dense[loc_c, cand_c] = tmin
            return _solve_exact(model, dense, w, k, penalty, time_limit_s)
        if model == "pmedian":
            picked, swapped = _greedy_pmedian(loc_c, cand_c, tmin, w, nc, int(k or 0), penalty)
            return picked, False, "greedy add + interchange" if swapped else "greedy add"
        cov = sparse.csr_matrix((np.ones(len(loc_c), dtype=bool), (loc_c, cand_c)), shape=(nr, nc))
        if model == "cover":
            score = 1.0 + w / (w.sum() + 1.0)  # localities first, population breaks ties
            return _drop_redundant(cov, _greedy_cover(cov, score)), False, "heuristic"
        return _greedy_cover(cov, w, k), False, "heuristic"

    def _coverage(self, hub_cols: np.ndarray) -> _Coverage:
        """Localities within ``T`` of the hubs (candidate columns ``hub_cols``), and why not."""
        table = self.table
        is_hub = np.zeros(table.n_candidates, dtype=bool)
        is_hub[hub_cols] = True
        in_hub = is_hub[table.cand]
        covered = np.zeros(table.n_localities, dtype=bool)
        covered[table.loc[in_hub]] = True
        n_per_hub = np.bincount(table.cand[in_hub], minlength=table.n_candidates)[hub_cols]
        pop_per_hub = np.bincount(table.cand[in_hub], weights=self.weights[table.loc[in_hub]],
                                  minlength=table.n_candidates)[hub_cols]
        coverable = np.zeros(table.n_localities, dtype=bool)
        coverable[self._rows] = True
        uncovered: dict[str, str] = {}
        for i in np.flatnonzero(~covered):
            if not table.loc_ok[i]:
                uncovered[str(table.loc_ids[i])] = REASON_TOO_FAR
            elif not coverable[i]:
                uncovered[str(table.loc_ids[i])] = REASON_NO_CANDIDATE
            else:
                uncovered[str(table.loc_ids[i])] = REASON_NOT_COVERED
        return _Coverage(covered=covered, coverable=coverable, n_per_hub=n_per_hub,
                         population_per_hub=pop_per_hub, uncovered=uncovered)

    def _objective(self, model: str, hub_cols: np.ndarray, cov: _Coverage, penalty: float) -> float:
        if model == "maxcover":
            return float(self.weights[cov.covered].sum())
        if model == "cover":
            return float(len(hub_cols))
        table = self.table
        is_hub = np.zeros(table.n_candidates, dtype=bool)
        is_hub[hub_cols] = True
        keep = is_hub[table.cand]
        d1, _h, _d2 = _best_two(table.loc[keep], table.cand[keep], table.time_min[keep], table.n_localities,
                                penalty)
        return float((self.weights[cov.coverable] * d1[cov.coverable]).sum())

    def _hub_frame(self, hub_cols: np.ndarray, cov: _Coverage, *, model: str, method: str, optimal: bool,
                   k: int | None) -> gpd.GeoDataFrame:
        """One row per hub in selection order (exact: by covered population), EPSG:4326."""
        import geopandas as gpd

        localities = self.localities
        hub_rows = self.table.cand_pos[hub_cols]
        src = localities.iloc[hub_rows]
        geom = src.geometry
        if localities.crs is not None and not localities.crs.equals("EPSG:4326"):
            geom = geom.to_crs(4326)
        hubs = gpd.GeoDataFrame({
            HUB_ID: self.table.loc_ids[hub_rows],
            NAME: src[NAME].to_numpy() if NAME in src else None,
            POPULATION: known_population(src, self.population_col),
            "model": model,
            "method": method,
            "optimal": optimal,
            MAX_TIME_MIN: self.max_time_min,
            "k": pd.array([k] * len(hub_rows), dtype="Int64"),
            "selection_rank": np.arange(1, len(hub_rows) + 1),
            "n_localities_within_max_time": cov.n_per_hub.astype(np.int64),
            "population_within_max_time": cov.population_per_hub,
        }, geometry=geom.to_numpy(), crs=4326 if localities.crs is not None else None)
        if method == "exact":  # no selection order: rank by covered population
            order = np.argsort(-cov.population_per_hub, kind="stable")
            hubs = hubs.iloc[order].reset_index(drop=True)
            hubs["selection_rank"] = np.arange(1, len(hubs) + 1)
        return hubs


def select_hubs(network: RoadNetwork | None, localities: gpd.GeoDataFrame, max_time_min: float, *,
                model: str = "cover", k: int | None = None,
                candidates: Sequence[Any] | np.ndarray | pd.Series | None = None,
                min_population: float | None = None, service_column: str | None = None,
                method: str = "auto", population_col: str = POPULATION, id_col: str | None = None,
                penalty_min: float | None = None, time_limit_s: float = 120.0,
                options: RouteOptions | None = None, table: HubTable | None = None) -> HubSelection:
    """Choose hub localities by travel time: :class:`HubProblem` and its solve in one call.

    The model, ``k`` and the candidate rule are checked before the travel-time table is
    computed. ``network`` may be None when ``table`` (a precomputed :class:`HubTable`, whose
    candidates are used; the candidate rule is then ignored) is given. The other parameters are
    those of :meth:`HubProblem.from_network` and :meth:`HubProblem.solve`.

    Returns
    -------
    HubSelection
        ``.hubs`` (one row per hub) and the objective, counts and uncovered localities.
    """
    t = check_max_time(max_time_min)
    _check_model(model, method)
    if len(localities) == 0:
        raise RoutingError("no localities to choose hubs for")
    if table is None:
        mask = candidate_mask(localities, candidates, min_population=min_population,
                              service_column=service_column, population_col=population_col, id_col=id_col)
        if model != "cover":
            _check_k(model, k, int(mask.sum()))
        if network is None:
            raise RoutingError("select_hubs needs a network or a precomputed table")
        problem = HubProblem.from_network(network, localities, max_time_min=t, candidates=mask,
                                          population_col=population_col, id_col=id_col, options=options)
    else:
        if model != "cover":
            _check_k(model, k, table.n_candidates)
        if table.max_time_min != t:
            raise ConfigError(f"the given table was computed for {table.max_time_min:g} min, not {t:g} min")
        problem = HubProblem.from_table(table, localities, population_col=population_col)
    return problem.solve(model, k=k, method=method, penalty_min=penalty_min, time_limit_s=time_limit_s)


# ---------------------------------------------------------------------- hinterlands
def assign_hinterlands(network: RoadNetwork, localities: gpd.GeoDataFrame, hubs: gpd.GeoDataFrame, *,
                       max_time_min: float | None = None, id_col: str | None = None,
                       options: RouteOptions | None = None, prefix: str = "hub") -> gpd.GeoDataFrame:
    """Assign every locality to its nearest hub by travel time (one multi-source pass).

    Hubs that are localities (matched by id) route from the locality's own snapped point, so a
    hub reaches itself in 0 minutes; other hubs are snapped on their own.

    Parameters
    ----------
    hubs
        Hub points with ``hub_id`` (e.g. :attr:`HubSelection.hubs`) or another id column.

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
    hub_ids = hub_ids_of(hubs)
    opts = options_or_default(options)
    placed = place_points(network, localities, [(hubs, hub_ids)], options=opts, id_col=id_col)
    hub_nodes = placed.nodes[0]
    valid = hub_nodes >= 0
    if not valid.any():
        raise RoutingError(f"none of the {len(hubs)} hubs is within {opts.max_snap_m:g} m of a road")
    t_s, which, _ = placed.graph.nearest(hub_nodes[valid], placed.locality_nodes)
    out = localities.copy()
    found = which >= 0
    ids = np.full(len(out), None, dtype=object)
    ids[found] = hub_ids[valid][which[found]]
    ok = placed.locality_snapped
    reason = np.full(len(out), None, dtype=object)
    reason[ok & ~found] = REASON_DISCONNECTED
    reason[~ok] = REASON_TOO_FAR
    out[f"{prefix}_id"] = ids
    out[time_col(prefix)] = np.where(found, t_s / 60.0, np.nan)
    out[f"{prefix}_reason"] = reason
    if max_time_min is None and MAX_TIME_MIN in hubs and len(hubs):
        max_time_min = float(hubs[MAX_TIME_MIN].iloc[0])
    if max_time_min is not None:
        out[WITHIN_MAX_TIME] = out[time_col(prefix)].to_numpy() <= float(max_time_min)
    log.info("hinterlands: %d localities assigned to %d hubs; %d without a hub", int(found.sum()),
             len(hubs), int((~found).sum()))
    return out


def hinterland_polygons(localities_assigned: gpd.GeoDataFrame, *, study_area: Any = None, by: str = HUB_ID,
                        population_col: str = POPULATION) -> gpd.GeoDataFrame:
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
    return zone_polygons(localities_assigned, by=by, study_area=study_area, population_col=population_col)


def summarize_hubs(localities_assigned: pd.DataFrame, hubs: pd.DataFrame | None = None, *,
                   population_col: str = POPULATION, class_col: str = AREA_CLASS,
                   id_col: str | None = None, prefix: str = "hub") -> pd.DataFrame:
    """Per hub: population of the hub and of its hinterland, localities, times, MRA share.

    Returns
    -------
    pandas.DataFrame
        ``hub_id``, ``hub_population`` (the hub locality), ``population_total`` (every locality
        assigned to the hub, the hub included), ``hinterland_population`` (the others),
        ``n_localities``, ``median_time_hub_min``, ``max_time_hub_min`` and, when ``class_col``
        is present, ``mra_population_share`` (share of ``population_total`` in MRA localities).
        The population figures are NaN (unknown, never 0) for a hub none of whose localities has
        a known population.
    """
    key = f"{prefix}_id"
    tcol = time_col(prefix)
    for c in (key, tcol):
        if c not in localities_assigned:
            raise ColumnError(f"column '{c}' not found; run assign_hinterlands first")
    df = pd.DataFrame({key: localities_assigned[key].to_numpy(),
                       "_t": localities_assigned[tcol].to_numpy(dtype=float),
                       "_pop": population_of(localities_assigned, population_col),
                       "_known": np.isfinite(known_population(localities_assigned, population_col)),
                       "_id": ids_of(localities_assigned, id_col).astype(str).to_numpy()})
    has_class = class_col in localities_assigned
    if has_class:
        df["_mra"] = np.where(localities_assigned[class_col].astype(str).str.upper().to_numpy() == "MRA",
                              df["_pop"], 0.0)
    df = df[pd.notna(df[key])]
    g = df.groupby(key, sort=False)
    summ = pd.DataFrame({
        N_LOCALITIES: g.size(),
        "population_total": g["_pop"].sum(),
        "median_time_hub_min": g["_t"].median(),
        "max_time_hub_min": g["_t"].max(),
    })
    own = df[df["_id"] == df[key].astype(str)].groupby(key)["_pop"].sum()
    summ["hub_population"] = own.reindex(summ.index).fillna(0.0)
    if hubs is not None and POPULATION in hubs and len(hubs):
        hp = pd.Series(known_population(hubs, POPULATION), index=hubs[HUB_ID].to_numpy())
        hp = hp[~hp.index.duplicated()]
        summ["hub_population"] = hp.reindex(summ.index).fillna(summ["hub_population"])
    summ["hinterland_population"] = summ["population_total"] - own.reindex(summ.index).fillna(0.0)
    if has_class:
        tot = summ["population_total"].replace(0.0, np.nan)
        summ["mra_population_share"] = g["_mra"].sum() / tot
    unknown = g["_known"].sum() == 0  # no locality of the hub has a known population: unknown, not 0
    summ.loc[unknown, [c for c in ("population_total", "hub_population", "hinterland_population",
                                   "mra_population_share") if c in summ]] = np.nan
    summ.index.name = key
    out = summ.reset_index()
    if hubs is not None and HUB_ID in hubs:
        order = pd.Index(hubs[HUB_ID].to_numpy())
        missing = order.difference(out[key])
        if len(missing):  # hubs with no locality (unreachable hub)
            out = pd.concat([out, pd.DataFrame({key: missing, N_LOCALITIES: 0, "population_total": 0.0})],
                            ignore_index=True)
    cols = [key, "hub_population", "population_total", "hinterland_population", N_LOCALITIES,
            "median_time_hub_min", "max_time_hub_min"] + (["mra_population_share"] if has_class else [])
    return out[cols]
