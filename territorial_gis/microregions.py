"""Mexico's Microregions Strategy end to end: eligible areas, microregions, CECs and their service gaps.

The Strategy (SEDESOL, 2001-2006) grouped the municipalities of very high and high
marginalization into 263 *microregions*, chose in each municipality one or several localities
other than the municipal seat as Strategic Community Centres (*Centros Estratégicos
Comunitarios*, CEC: 2,966 of them) serving some 97,000 small hinterland localities, and checked
every CEC against threshold levels in eleven service areas. This module runs those steps on
any areas (municipalities of Mexico with INEGI/CONAPO data, a Colombian department's DANE
municipalities, ...) and localities:

* :func:`eligible_areas` - eligibility of areas by a rule set over their columns (CONAPO grade
  high or very high, a priority-zone list, a poverty share), evaluated by the typology engine
  (:mod:`territorial_gis._ruleset`) with the measured values behind every decision;
* :func:`build_microregions` - the eligible areas grouped into contiguous microregions with a
  maintained regionalisation method from PySAL spopt (max-p, SKATER or AZP,
  :mod:`territorial_gis._regionalize`), by contiguity of the polygons, by travel time between
  the head towns, or both, with a size floor (population or number of areas); the objective is
  stated on the result;
* :func:`cec_candidates` and :func:`select_cecs` - candidates per area (the seat excluded or
  allowed, a population floor, an existing-service column, at least one per area), then the
  covering / p-median models of :class:`territorial_gis.hubs.HubProblem` inside each
  microregion, at least one CEC per area when asked, and the hinterlands (every locality joins
  the nearest CEC of its microregion);
* :func:`service_gaps` - per CEC and service (point layers or locality columns) whether the
  service is at the CEC, the time from the CEC and from its hinterland to the nearest one, and
  sentences such as "CECs lacking a health unit within 30 min: 41 of 120".

:func:`run_strategy` chains them (the ``tgis microregions`` command and the study stage).
Linking marginal areas to favorable ones (FRA destinations, linked / enclosed marginal zones)
lives in :mod:`territorial_gis.links`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import _regionalize as rg
from ._arrays import unique_values
from ._routing import RouteOptions, ids_of, lonlat_of, options_or_default, snap_localities
from ._ruleset import class_names, evaluate_rule_set, load_rule_set
from ._zones import check_max_time, population_of, zone_polygons
from .columns import (
    AREA_ID,
    CEC_ID,
    MICROREGION_ID,
    NAME,
    POPULATION,
    REASON_DISCONNECTED,
    REASON_TOO_FAR,
    area_name_column,
)
from .errors import ColumnError, ConfigError, CRSError

if TYPE_CHECKING:
    import geopandas as gpd

    from .config import MicroregionsSection
    from .network import RoadNetwork

log = logging.getLogger(__name__)

# -- columns written by this stage (microregion_id and cec_id are in territorial_gis.columns)
ELIGIBLE = "eligible"
ELIGIBILITY_CLASS = "eligibility_class"
ELIGIBILITY_REASONS = "eligibility_reasons"
MEETS_FLOOR = "meets_size_floor"
MEMBERS = "members"
MEMBER_NAMES = "member_names"
N_AREAS = "n_areas"
IS_SEAT = "is_seat"
CEC_CANDIDATE = "cec_candidate"
CEC_CANDIDATE_REASON = "cec_candidate_reason"
CEC_TIME_MIN = "travel_time_cec_min"
CEC_STATUS = "cec_status"
SELECTED_BY = "selected_by"

# -- values of cec_status
STATUS_CEC = "cec"
STATUS_HINTERLAND = "hinterland"
STATUS_BEYOND = "beyond_limit"
STATUS_NO_CEC = "no_cec_in_microregion"
STATUS_OUTSIDE = "outside_microregions"
HINTERLAND_STATUSES = (STATUS_CEC, STATUS_HINTERLAND)

CONTIGUITY = ("queen", "rook", "travel_time")
BELOW_FLOOR = ("keep", "drop", "error")
DEFAULT_SERVICE_LIMIT_MIN = 30.0
DEFAULT_PRESENCE_M = 1000.0
#: head-town travel times for the travel-time objective are computed up to this many link times
MDS_CUTOFF_FACTOR = 4.0
_TRUE_TEXT = ("true", "yes", "y", "t", "si", "sí", "sim", "1")


# ====================================================================== keys and areas
def _keys(values: Any) -> pd.Series:
    """Ids as comparable text: whole floats lose their ``.0``, missing stays None."""
    s = pd.Series(values, dtype=object).reset_index(drop=True)

    def one(v: Any) -> str | None:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return None
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return str(int(v))
        return str(v).strip()

    return s.map(one).astype(object)


def area_ids(areas: pd.DataFrame, area_id_col: str | None = None) -> pd.Series:
    """The id of every area: ``area_id_col``, else ``area_id``, else the usual id columns."""
    if area_id_col is None and AREA_ID in areas:
        area_id_col = AREA_ID
    ids = _keys(ids_of(areas, area_id_col).to_numpy())
    if ids.isna().any():
        raise ColumnError(f"{int(ids.isna().sum())} area(s) have no id (column {area_id_col or 'detected'})")
    if not ids.is_unique:
        dup = ids[ids.duplicated()].iloc[0]
        raise ColumnError(f"area id {dup!r} appears more than once (column {area_id_col or 'detected'})")
    return ids


def _truthy(col: pd.Series) -> np.ndarray:
    """Non-zero numbers, True, or yes-like text."""
    num = pd.to_numeric(col, errors="coerce")
    txt = col.astype(str).str.strip().str.lower().isin(_TRUE_TEXT)
    return np.where(num.notna(), num.fillna(0).to_numpy() != 0, txt.to_numpy()).astype(bool)


def _check_polygons(areas: gpd.GeoDataFrame, what: str = "areas") -> None:
    import shapely

    if areas.crs is None:
        raise CRSError(f"the {what} have no CRS; set one (EPSG:4326 for lon/lat)")
    types = shapely.get_type_id(areas.geometry.to_numpy())
    bad = ~np.isin(types, [3, 6])
    if bad.any():
        kinds = sorted({str(t) for t in areas.geometry.geom_type[bad]})
        raise ConfigError(f"the {what} must be polygons for contiguity by polygons: {int(bad.sum())} of "
                          f"{len(areas)} are {', '.join(kinds)}; give polygons, or group by travel time "
                          "between head towns (contiguity travel_time)")


def area_of_localities(localities: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, *, area_col: str | None = None,
                       area_id_col: str | None = None) -> pd.Series:
    """The area id of every locality: its ``area_col`` value (matched to the area ids as text),
    else the area polygon holding it; None outside every area."""
    ids = area_ids(areas, area_id_col)
    if area_col is not None:
        if area_col not in localities:
            raise ColumnError(f"area column '{area_col}' not found among the localities' columns: "
                              f"{', '.join(map(str, localities.columns))}")
        keys = _keys(localities[area_col].to_numpy())
        return keys.where(keys.isin(set(ids)), None).set_axis(localities.index)
    import shapely

    _check_polygons(areas)
    lon, lat = lonlat_of(localities, "localities")
    tree = shapely.STRtree(areas.geometry.to_crs(4326).to_numpy())
    pi, ai = tree.query(shapely.points(lon, lat), predicate="intersects")
    out = np.full(len(localities), None, dtype=object)
    order = np.lexsort((ai, pi))  # a point on a shared border: the first area listed
    pi, ai = pi[order], ai[order]
    first = np.ones(len(pi), dtype=bool)
    first[1:] = pi[1:] != pi[:-1]
    out[pi[first]] = ids.to_numpy()[ai[first]]
    return pd.Series(out, index=localities.index, dtype=object)


def seats_of(localities: pd.DataFrame, area: pd.Series, *, seat_col: str | None = None,
             population_col: str = POPULATION) -> np.ndarray:
    """Whether each locality is the seat (head town) of its area: ``seat_col`` truthy, else the
    most populous locality of each area (the first listed on ties)."""
    if seat_col is not None:
        if seat_col not in localities:
            raise ColumnError(f"seat column '{seat_col}' not found; columns: {', '.join(map(str, localities.columns))}")
        return _truthy(localities[seat_col]) & area.notna().to_numpy()
    pop = population_of(localities, population_col)
    df = pd.DataFrame({"a": area.to_numpy(), "p": pop, "i": np.arange(len(pop))}).dropna(subset=["a"])
    df = df.sort_values(["a", "p", "i"], ascending=[True, False, True], kind="stable")
    out = np.zeros(len(localities), dtype=bool)
    out[df.drop_duplicates("a")["i"].to_numpy()] = True
    return out


# ====================================================================== eligibility
def eligible_areas(areas: gpd.GeoDataFrame, rules: Any, *,
                   eligible_classes: Sequence[str] | None = None) -> gpd.GeoDataFrame:
    """Which areas are eligible, by a rule set over their columns, with reasons.

    Parameters
    ----------
    areas
        One row per area (municipality...) with the columns the rules read.
    rules
        A condition (``"GM_2020 in ['Alto', 'Muy alto']"``), a list of conditions that must all
        hold, a typology table or TOML file, a preset name, or a loaded typology
        (:func:`territorial_gis._ruleset.load_rule_set`).
    eligible_classes
        The classes of the rule set that are eligible (default: its first class, ``eligible``
        for a condition).

    Returns
    -------
    geopandas.GeoDataFrame
        ``areas`` plus ``eligibility_class``, ``eligible`` (bool) and ``eligibility_reasons``
        (the measured values behind the class; an area whose class cannot be decided because a
        value is missing is ``undecided``, not eligible, and its reason names the missing value).

    Raises
    ------
    ColumnError
        A rule names a column the areas do not have.
    ConfigError
        An eligible class is not a class of the rule set, or the rule set is malformed.
    """
    rule_set = load_rule_set(rules)
    names = class_names(rule_set)
    wanted = [names[0]] if eligible_classes is None else [str(c) for c in eligible_classes]
    unknown = [c for c in wanted if c not in names]
    if unknown:
        raise ConfigError(f"eligible class(es) {', '.join(map(repr, unknown))} are not classes of the rule set "
                          f"{rule_set.name!r} ({', '.join(names)})")
    classes, reasons = evaluate_rule_set(areas, rule_set)
    out = areas.copy()
    out[ELIGIBILITY_CLASS] = classes
    out[ELIGIBLE] = np.isin(classes.astype(str), wanted)
    out[ELIGIBILITY_REASONS] = reasons
    log.debug("eligibility (%s): %d of %d areas eligible", rule_set.name, int(out[ELIGIBLE].sum()), len(out))
    return out


def _eligible_mask(areas: pd.DataFrame) -> np.ndarray:
    if ELIGIBLE not in areas:
        return np.ones(len(areas), dtype=bool)
    return areas[ELIGIBLE].fillna(False).to_numpy(dtype=bool)


# ====================================================================== microregions
@dataclass(frozen=True, eq=False)
class Microregions:
    """Eligible areas grouped into microregions (:func:`build_microregions`).

    Attributes
    ----------
    areas
        The input areas plus ``microregion_id`` (None for areas in no microregion) and
        ``microregion_reason`` (why not: ``not_eligible``, ``isolated_below_floor``).
    regions
        One row per microregion: ``microregion_id``, ``n_areas``, ``members`` (area ids joined by
        ``;``), ``member_names``, ``population``, ``meets_size_floor``, ``area_km2``, geometry
        (the members dissolved; for point areas the Voronoi cells of their head towns), EPSG:4326.
    objective
        What the method optimised, in words; ``objective_value`` its value on the result (the
        total within-microregion dissimilarity).
    """

    areas: gpd.GeoDataFrame
    regions: gpd.GeoDataFrame
    method: str
    contiguity: str
    objective: str
    objective_value: float
    floor_column: str | None
    floor: float | None
    n_neighbour_pairs: int
    seconds: float
    notes: tuple[str, ...] = ()

    @property
    def n_regions(self) -> int:
        return len(self.regions)

    def as_dict(self) -> dict[str, Any]:
        """The figures of the grouping as plain values (for logs and study.json)."""
        return {"n_microregions": self.n_regions, "method": self.method, "contiguity": self.contiguity,
                "objective": self.objective, "objective_value": self.objective_value,
                "floor_column": self.floor_column, "floor": self.floor,
                "n_eligible_areas": int(self.areas[MICROREGION_ID].notna().sum()),
                "n_below_floor": int((~self.regions[MEETS_FLOOR].astype(bool)).sum()),
                "n_neighbour_pairs": self.n_neighbour_pairs, "seconds": self.seconds, "notes": list(self.notes)}


@dataclass(frozen=True)
class _Floor:
    column: str | None
    value: float | None
    size: np.ndarray  # per eligible area


def _floor_of(el: pd.DataFrame, *, min_population: float | None, min_areas: int | None, population_col: str,
              method: str, ids: pd.Series) -> _Floor:
    """The size floor and each eligible area's size, after the checks the methods need."""
    if min_population is not None and min_areas is not None:
        raise ConfigError("give one size floor: min_population or min_areas, not both")
    if min_population is not None:
        if method == "skater":
            raise ConfigError("SKATER takes a floor in number of areas (min_areas); for a population floor "
                              "use method maxp")
        if population_col not in el:
            raise ColumnError(f"a population floor needs the areas' population column '{population_col}'")
        pop = pd.to_numeric(el[population_col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(pop) | (pop < 0)
        if bad.any():
            raise ColumnError(f"population unknown for {int(bad.sum())} eligible area(s) "
                              f"({', '.join(ids[bad].astype(str).head(5))}); a population floor needs it")
        value = check_max_time(min_population, "population floor (min_population)")
        return _Floor(population_col, value, pop)
    if min_areas is not None:
        if int(min_areas) != min_areas or min_areas < 1:
            raise ConfigError(f"min_areas must be a positive whole number, got {min_areas!r}")
        return _Floor(N_AREAS, float(min_areas), np.ones(len(el)))
    if method == "maxp":
        raise ConfigError("max-p needs a size floor: min_population or min_areas")
    return _Floor(None, None, np.ones(len(el)))


def _head_points(areas: gpd.GeoDataFrame, head_towns: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """One point per area: the given head towns (aligned to the areas), else a point inside each
    area (polygons) or the area's own point."""
    import geopandas as gpd

    own = areas.geometry.to_numpy()
    present = np.array([g is not None and not g.is_empty for g in own], dtype=bool)
    inner = np.full(len(areas), None, dtype=object)
    if present.any():
        inner[present] = areas.geometry[present].representative_point().to_numpy()
    if head_towns is None:
        return gpd.GeoDataFrame(geometry=list(inner), crs=areas.crs)
    if len(head_towns) != len(areas):
        raise ConfigError(f"head towns must be given one per area ({len(areas)}), got {len(head_towns)}")
    geom = head_towns.geometry.to_crs(areas.crs).to_numpy().copy() if head_towns.crs is not None else \
        head_towns.geometry.to_numpy().copy()
    missing = np.array([g is None or g.is_empty for g in geom], dtype=bool)
    geom[missing] = inner[missing]
    return gpd.GeoDataFrame(geometry=list(geom), crs=areas.crs)


def head_town_times(network: RoadNetwork, heads: gpd.GeoDataFrame, *, cutoff_min: float = np.inf,
                    options: RouteOptions | None = None) -> np.ndarray:
    """Travel time (minutes) from every head town to every other over the roads (``inf`` beyond
    ``cutoff_min`` or unreachable), off-road legs included; bounded-batch compiled Dijkstra."""
    graph = snap_localities(network, heads, options=options_or_default(options))
    nodes = graph.offroad_node[graph.group(0)]
    n = len(heads)
    t = np.full((n, n), np.inf)
    cutoff = cutoff_min * 60.0 if np.isfinite(cutoff_min) else np.inf
    s, g, d = graph.long_table(nodes, nodes, cutoff=cutoff, reverse=False)
    t[s, g] = d / 60.0
    np.fill_diagonal(t, np.where(nodes >= 0, 0.0, np.inf))
    return t


def _objective_attrs(el: pd.DataFrame, attributes: str | Sequence[str] | None, times: np.ndarray | None,
                     head_xy_km: np.ndarray) -> tuple[np.ndarray, str]:
    """The attributes whose within-microregion dissimilarity is minimised, and their description."""
    if attributes is None:
        attributes = "travel_time" if times is not None else "distance"
    if attributes == "travel_time":
        if times is None:
            raise ConfigError("grouping by travel time needs a road network")
        return rg.travel_time_coordinates(times), ("the head towns' travel-time coordinates (classical scaling "
                                                   "of the road travel-time matrix between head towns, minutes; "
                                                   "pairs not computed or unreachable count as twice the largest "
                                                   "time)")
    if attributes == "distance":
        return head_xy_km, "the head towns' coordinates (km, UTM of the area): straight-line compactness"
    cols = [attributes] if isinstance(attributes, str) else list(attributes)
    missing = [c for c in cols if c not in el]
    if missing:
        raise ColumnError(f"objective attribute column(s) {', '.join(map(repr, missing))} not found among the "
                          f"areas' columns: {', '.join(map(str, el.columns))}")
    x = el[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(x).all():
        raise ColumnError(f"objective attribute(s) {', '.join(cols)} are missing or not numeric for some eligible "
                          "areas")
    return rg.standardize(x), f"the standardised columns {', '.join(cols)}"


def _neighbours(el: gpd.GeoDataFrame, contiguity: str, *, tolerance_m: float, times: np.ndarray | None,
                link_time_min: float | None, metric_crs: Any) -> list[tuple[int, int]]:
    """Neighbour pairs among the eligible areas: polygon contiguity, cut where the head towns are
    farther apart than ``link_time_min`` (when given); or head towns within ``link_time_min``."""
    if contiguity == "travel_time":
        assert times is not None and link_time_min is not None
        return rg.time_neighbours(times, link_time_min)
    pairs = rg.polygon_neighbours(el.geometry.to_crs(metric_crs).to_numpy(), rook=contiguity == "rook",
                                  tolerance_m=tolerance_m)
    if link_time_min is not None:
        assert times is not None
        both = np.maximum(times, times.T)
        pairs = [(i, j) for i, j in pairs if both[i, j] <= link_time_min]
    return pairs


def _describe_contiguity(contiguity: str, link_time_min: float | None) -> str:
    if contiguity == "travel_time":
        return f"head towns within {link_time_min:g} min of each other by road"
    text = f"{contiguity} contiguity of the polygons"
    return text + (f" whose head towns are within {link_time_min:g} min by road" if link_time_min else "")


def _objective_text(method: str, floor: _Floor, n_regions: int | None, attr_text: str, contiguity_text: str) -> str:
    unit = "population" if floor.column not in (None, N_AREAS) else "number of areas"
    if method == "maxp":
        return (f"max-p (spopt MaxPHeuristic): the largest number of microregions, each contiguous "
                f"({contiguity_text}) with a {unit} of at least {floor.value:g}; among those, the least total "
                f"within-microregion dissimilarity (sum of pairwise cityblock distances) of {attr_text}")
    if method == "skater":
        extra = f", each with at least {floor.value:g} areas" if floor.value is not None else ""
        return (f"SKATER (spopt Skater): {n_regions} microregions cut from the minimum spanning tree of the "
                f"contiguity graph ({contiguity_text}){extra}, minimising the within-microregion sum of absolute "
                f"deviations of {attr_text}")
    extra = f"; floor ({unit} >= {floor.value:g}) checked on the result" if floor.value is not None else ""
    return (f"AZP (spopt AZP): {n_regions} contiguous microregions ({contiguity_text}) minimising the total "
            f"within-microregion dissimilarity of {attr_text}{extra}")


def _groups_and_floor(adj: Any, floor: _Floor, ids: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Connected groups of eligible areas, their sizes, and which meet the floor; ConfigError
    when none does."""
    comp = rg.components(adj)
    n_comp = int(comp.max()) + 1 if len(comp) else 0
    totals = np.bincount(comp, weights=floor.size, minlength=n_comp)
    feasible = totals >= (floor.value if floor.value is not None else -np.inf)
    if not feasible.any():
        big = int(np.argmax(totals))
        members = ids[comp == big].astype(str).tolist()
        raise ConfigError(f"no group of contiguous eligible areas can meet the size floor ({floor.column} >= "
                          f"{floor.value:g}): the largest group ({', '.join(members[:8])}"
                          f"{'...' if len(members) > 8 else ''}) has {totals[big]:g}")
    return comp, totals, feasible


def _solve(adj: Any, attrs: np.ndarray, floor: _Floor, *, method: str, n_regions: int | None, below_floor: str,
           seed: int, ids: pd.Series, iterations: int | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Region label of every eligible area (-1: dropped), whether its region meets the floor,
    and notes. Each connected group is solved on its own."""
    comp, totals, feasible = _groups_and_floor(adj, floor, ids)
    n_comp = len(totals)
    notes: list[str] = []
    small = np.flatnonzero(~feasible)
    if len(small):
        listed = "; ".join(",".join(ids[comp == c].astype(str)) for c in small[:5])
        text = (f"{len(small)} group(s) of eligible areas not contiguous with any other eligible area are below the "
                f"size floor ({floor.column} >= {floor.value:g}): {listed}")
        if below_floor == "error":
            raise ConfigError(text + "; lower the floor, widen the contiguity, or set below_floor keep/drop")
        notes.append(text + ("; each kept as a microregion flagged meets_size_floor = false" if below_floor == "keep"
                             else "; left out of the microregions"))
        log.warning(notes[-1])
    counts = np.bincount(comp, minlength=n_comp)
    shares = dict(zip(np.flatnonzero(feasible).tolist(),
                      rg.apportion(int(n_regions), counts[feasible].tolist()) if n_regions else
                      [None] * int(feasible.sum()), strict=True))
    labels = np.full(len(comp), -1, dtype=np.int64)
    meets = np.zeros(len(comp), dtype=bool)
    nxt = 0
    for c in range(n_comp):
        members = np.flatnonzero(comp == c)
        if not feasible[c]:
            if below_floor == "keep":
                labels[members] = nxt
                nxt += 1
            continue
        sub = adj[members][:, members]
        lab = rg.solve_component(method, sub, attrs[members], floor.size[members], floor=floor.value,
                                 n_regions=shares[c], seed=seed, iterations=iterations)
        labels[members] = lab + nxt
        meets[members] = True
        nxt += int(lab.max()) + 1
    return labels, meets, notes


def _check_result(labels: np.ndarray, meets: np.ndarray, adj: Any, floor: _Floor, method: str) -> np.ndarray:
    """Every region contiguous; regions of feasible groups at or above the floor. Returns the
    per-area flag ``meets_size_floor`` of its region."""
    for r in unique_values(labels[labels >= 0]):
        members = np.flatnonzero(labels == r)
        if not rg.is_connected(adj, members):
            raise RuntimeError(f"internal error: {method} returned a microregion that is not contiguous")
        if floor.value is not None and meets[members].all():
            total = float(floor.size[members].sum())
            if total < floor.value:
                if method == "azp":
                    raise ConfigError(f"AZP made a microregion of {floor.column} {total:g}, below the floor "
                                      f"{floor.value:g} (AZP has no floor of its own); use method maxp for a floor")
                raise RuntimeError(f"internal error: {method} returned a microregion below the floor")
    if floor.value is None:
        return labels >= 0
    sizes = pd.Series(floor.size).groupby(labels).transform("sum").to_numpy()
    return (labels >= 0) & (sizes >= floor.value)


def _region_ids(labels: np.ndarray) -> np.ndarray:
    """``MR01``, ``MR02``... numbered by the first member's position in the input."""
    out = np.full(len(labels), None, dtype=object)
    valid = labels >= 0
    if not valid.any():
        return out
    uniq, first = np.unique(labels[valid], return_index=True)
    order = uniq[np.argsort(first)]
    width = max(2, len(str(len(order))))
    names = {lab: f"MR{k + 1:0{width}d}" for k, lab in enumerate(order)}
    out[valid] = [names[lab] for lab in labels[valid]]
    return out


def _regions_frame(areas: gpd.GeoDataFrame, mr: np.ndarray, meets: np.ndarray, ids: pd.Series,
                   floor: _Floor, *, polygons: bool, heads: gpd.GeoDataFrame, population_col: str,
                   name_col: str | None) -> gpd.GeoDataFrame:
    """One row per microregion with its members and dissolved geometry (EPSG:4326)."""
    import geopandas as gpd

    from ._crs import utm_crs_for_bounds

    has = pd.notna(mr)
    pop = (pd.to_numeric(areas[population_col], errors="coerce").to_numpy(dtype=float) if population_col in areas
           else np.full(len(areas), np.nan))
    col = area_name_column(areas.columns, name_col)
    own = areas[col].astype(object).to_numpy() if col is not None else np.full(len(areas), None, dtype=object)
    names = np.array([str(n).strip() if pd.notna(n) and str(n).strip() else i for n, i in zip(own, ids, strict=True)],
                     dtype=object)
    df = pd.DataFrame({MICROREGION_ID: mr[has], "_id": ids.to_numpy()[has], "_name": names[has],
                       "_pop": pop[has], "_meets": meets[has]})
    g = df.groupby(MICROREGION_ID, sort=True)
    out = pd.DataFrame({N_AREAS: g.size(), MEMBERS: g["_id"].agg(";".join), MEMBER_NAMES: g["_name"].agg(";".join),
                        POPULATION: g["_pop"].agg(lambda s: float(s.sum()) if s.notna().all() else np.nan),
                        MEETS_FLOOR: g["_meets"].all()}).reset_index()
    crs = utm_crs_for_bounds(tuple(areas.geometry.to_crs(4326).total_bounds))
    if polygons:
        parts = gpd.GeoDataFrame({MICROREGION_ID: mr[has]}, geometry=areas.geometry.to_numpy()[has],
                                 crs=areas.crs).to_crs(crs)
        dissolved = parts.dissolve(by=MICROREGION_ID, as_index=False)
        geo = dissolved.set_index(MICROREGION_ID).geometry
    else:
        pts = gpd.GeoDataFrame({MICROREGION_ID: mr}, geometry=heads.geometry.to_numpy(), crs=heads.crs)
        geo = zone_polygons(pts, by=MICROREGION_ID).to_crs(crs).set_index(MICROREGION_ID).geometry
    geom = geo.reindex(out[MICROREGION_ID]).to_numpy()
    frame = gpd.GeoDataFrame(out, geometry=geom, crs=crs)
    frame["area_km2"] = frame.geometry.area / 1e6
    frame = frame.to_crs(4326)
    return frame[[MICROREGION_ID, N_AREAS, MEMBERS, MEMBER_NAMES, POPULATION, MEETS_FLOOR, "area_km2", "geometry"]]


def build_microregions(areas: gpd.GeoDataFrame, *, method: str = "maxp", min_population: float | None = None,
                       min_areas: int | None = None, n_regions: int | None = None, contiguity: str = "queen",
                       tolerance_m: float = 0.0, network: RoadNetwork | None = None,
                       head_towns: gpd.GeoDataFrame | None = None, link_time_min: float | None = None,
                       attributes: str | Sequence[str] | None = None, below_floor: str = "keep", seed: int = 0,
                       iterations: int | None = None, area_id_col: str | None = None, name_col: str | None = None,
                       population_col: str = POPULATION, options: RouteOptions | None = None) -> Microregions:
    """Group the eligible areas into contiguous microregions with a size floor.

    Parameters
    ----------
    areas
        Areas with ``eligible`` (from :func:`eligible_areas`; all eligible when absent), an id
        and, for a population floor, ``population``. Polygons for contiguity by polygons; any
        geometry (their head towns) for ``contiguity="travel_time"``.
    method
        ``"maxp"`` (spopt max-p: as many microregions as the floor allows), ``"skater"`` or
        ``"azp"`` (``n_regions`` microregions).
    min_population, min_areas
        The size floor: population, or number of areas, of every microregion (one of them;
        SKATER takes only ``min_areas``; AZP's result is checked against it).
    contiguity
        ``"queen"`` (polygons sharing a point, within ``tolerance_m``), ``"rook"`` (sharing a
        border) or ``"travel_time"`` (head towns within ``link_time_min`` of each other both ways).
        With polygons and ``link_time_min``, contiguous areas whose head towns are farther apart
        by road are not neighbours.
    network, head_towns
        The road network and one head town (seat) per area, aligned to ``areas``; default a
        point inside each area.
    attributes
        What a microregion should be homogeneous in: ``"travel_time"`` (default with a
        network: coordinates from the head towns' travel-time matrix), ``"distance"`` (default
        without: head-town coordinates), or area columns (standardised).
    below_floor
        A group of eligible areas not contiguous with any other and below the floor:
        ``"keep"`` (its own microregion, ``meets_size_floor`` false, noted), ``"drop"`` (no
        microregion) or ``"error"``.
    seed
        Seed of the solvers' random choices (max-p, AZP): the same input gives the same result.
    iterations
        Max-p constructions per group (default 10 to 100 by the group's size; each construction
        reaching the most microregions is then improved by simulated annealing).
    area_id_col, name_col
        The areas' id column (default ``area_id``, then the usual id columns) and the column
        naming them in ``member_names`` (default the first of
        :data:`~territorial_gis.columns.AREA_NAME_CANDIDATES` they have; an area without a name
        is listed by its id).

    Returns
    -------
    Microregions
        The areas with ``microregion_id`` and the microregions with their members.

    Raises
    ------
    ConfigError
        No eligible area, areas that are not polygons for polygon contiguity, a floor no
        group can meet, a missing parameter of the method.
    """
    t0 = time.perf_counter()
    link_time_min = _check_grouping(areas, method=method, contiguity=contiguity, below_floor=below_floor,
                                    n_regions=n_regions, link_time_min=link_time_min, attributes=attributes,
                                    network_given=network is not None)
    ids = area_ids(areas, area_id_col)
    heads = _head_points(areas, head_towns)
    use_times = network is not None and (link_time_min is not None or attributes in (None, "travel_time"))
    eligible, reason = _groupable(areas, heads, need_heads=use_times or contiguity == "travel_time")
    el_pos = np.flatnonzero(eligible)
    el = areas.iloc[el_pos]
    el_ids = ids.iloc[el_pos].reset_index(drop=True)
    floor = _floor_of(el, min_population=min_population, min_areas=min_areas, population_col=population_col,
                      method=method, ids=el_ids)
    from ._crs import utm_crs_for_bounds

    metric = utm_crs_for_bounds(tuple(heads.geometry.iloc[el_pos].to_crs(4326).total_bounds))
    head_el = heads.iloc[el_pos]
    times = None
    if use_times:
        assert network is not None
        times = head_town_times(network, head_el, cutoff_min=_times_cutoff(attributes, link_time_min),
                                options=options)
    xy = head_el.geometry.to_crs(metric)
    attrs, attr_text = _objective_attrs(el, attributes, times if attributes in (None, "travel_time") else None,
                                        np.column_stack([xy.x, xy.y]) / 1000.0)
    pairs = _neighbours(el, contiguity, tolerance_m=tolerance_m, times=times, link_time_min=link_time_min,
                        metric_crs=metric)
    adj = rg.adjacency(len(el), pairs)
    labels, meets, notes = _solve(adj, attrs, floor, method=method, n_regions=n_regions, below_floor=below_floor,
                                  seed=seed, ids=el_ids, iterations=iterations)
    meets = _check_result(labels, meets, adj, floor, method)
    mr = np.full(len(areas), None, dtype=object)
    mr[el_pos] = _region_ids(labels)
    meets_all = np.zeros(len(areas), dtype=bool)
    meets_all[el_pos] = meets
    regions = _regions_frame(areas, mr, meets_all, ids, floor, polygons=contiguity != "travel_time", heads=heads,
                             population_col=population_col, name_col=name_col)
    reason[el_pos[labels < 0]] = "isolated_below_floor"
    out = areas.copy()
    out[MICROREGION_ID] = pd.Series(mr, index=out.index, dtype=object)
    out["microregion_reason"] = reason
    res = Microregions(areas=out, regions=regions, method=method, contiguity=contiguity,
                       objective=_objective_text(method, floor, n_regions, attr_text,
                                                 _describe_contiguity(contiguity, link_time_min)),
                       objective_value=rg.within_dissimilarity(labels, attrs), floor_column=floor.column,
                       floor=floor.value, n_neighbour_pairs=len(pairs), seconds=round(time.perf_counter() - t0, 3),
                       notes=tuple(notes))
    log.info("microregions: %d from %d eligible areas (%s, %s; %d neighbour pairs)", res.n_regions, len(el), method,
             contiguity, len(pairs))
    return res


def _times_cutoff(attributes: Any, link_time_min: float | None) -> float:
    """How far head-town travel times are computed: the link time for neighbours only; for the
    travel-time objective :data:`MDS_CUTOFF_FACTOR` link times (farther seats are never in one
    microregion; they count as twice the largest time), everything without a link time."""
    if attributes not in (None, "travel_time"):
        return float(link_time_min) if link_time_min is not None else np.inf
    return MDS_CUTOFF_FACTOR * float(link_time_min) if link_time_min is not None else np.inf


def _check_grouping(areas: gpd.GeoDataFrame, *, method: str, contiguity: str, below_floor: str,
                    n_regions: int | None, link_time_min: float | None, attributes: Any,
                    network_given: bool) -> float | None:
    """The checks of :func:`build_microregions` that need no computation; the link time, checked."""
    if method not in rg.METHODS:
        raise ConfigError(f"unknown regionalisation method {method!r}; use one of {', '.join(rg.METHODS)}")
    if contiguity not in CONTIGUITY:
        raise ConfigError(f"unknown contiguity {contiguity!r}; use one of {', '.join(CONTIGUITY)}")
    if below_floor not in BELOW_FLOOR:
        raise ConfigError(f"below_floor must be one of {', '.join(BELOW_FLOOR)}, got {below_floor!r}")
    if method in ("skater", "azp") and (n_regions is None or int(n_regions) != n_regions or n_regions < 1):
        raise ConfigError(f"method {method} needs n_regions, a positive whole number of microregions")
    if not _eligible_mask(areas).any():
        raise ConfigError(f"no eligible area among the {len(areas)} areas: nothing to group into microregions")
    if contiguity != "travel_time":
        _check_polygons(areas)
    elif areas.crs is None:
        raise CRSError("the areas have no CRS; set one (EPSG:4326 for lon/lat)")
    if link_time_min is not None:
        link_time_min = check_max_time(link_time_min, "link time between head towns (link_time_min)")
    if contiguity == "travel_time" and link_time_min is None:
        raise ConfigError("contiguity travel_time needs link_time_min (minutes between head towns)")
    if (link_time_min is not None or attributes == "travel_time") and not network_given:
        raise ConfigError("grouping by travel time between head towns needs a road network")
    return link_time_min


def _groupable(areas: gpd.GeoDataFrame, heads: gpd.GeoDataFrame, *, need_heads: bool) -> tuple[np.ndarray,
                                                                                              np.ndarray]:
    """Eligible areas that can be grouped (with a located head town when travel times are used),
    and the reason of the others."""
    eligible = _eligible_mask(areas)
    reason = np.full(len(areas), None, dtype=object)
    reason[~eligible] = "not_eligible"
    if need_heads:
        geom = heads.geometry
        unknown = eligible & (geom.isna() | geom.is_empty).to_numpy()
        if unknown.any():
            log.warning("%d eligible area(s) have no located head town and are left out of the microregions",
                        int(unknown.sum()))
            reason[unknown] = "head_town_unknown"
            eligible = eligible & ~unknown
        if not eligible.any():
            raise ConfigError("no eligible area has a located head town: nothing to group by travel time")
    return eligible, reason


# ====================================================================== CEC candidates and selection
def cec_candidates(localities: pd.DataFrame, *, area_col: str, seat_col: str | None = IS_SEAT,
                   allow_seat: bool = False, min_population: float | None = None,
                   service_column: str | None = None, one_per_area: bool = True,
                   population_col: str = POPULATION) -> pd.DataFrame:
    """Which localities may become CECs, with the reason for each.

    The Strategy's rule: in every area (municipality) one or several localities, "else than the
    municipal seat", with a population floor and, optionally, an existing service. Localities
    without an area are never candidates.

    Parameters
    ----------
    area_col
        Column of the localities giving their area (e.g. ``municipality_code``).
    seat_col
        Column marking the municipal seat (truthy); None when no locality is marked.
    allow_seat
        Let the seat be a candidate (the Strategy excluded it).
    min_population, service_column
        Candidates need at least this population / this column truthy (a school, a clinic...).
    one_per_area
        An area where no locality passes the rule gets its most populous locality (the seat
        still excluded unless allowed) as its candidate, said so in the reason.

    Returns
    -------
    pandas.DataFrame
        ``localities`` plus ``cec_candidate`` (bool) and ``cec_candidate_reason``.
    """
    for col, what in ((area_col, "area"), (seat_col, "seat"), (service_column, "service")):
        if col is not None and col not in localities:
            raise ColumnError(f"{what} column '{col}' not found among the localities' columns: "
                              f"{', '.join(map(str, localities.columns))}")
    n = len(localities)
    area = localities[area_col].to_numpy(dtype=object)
    has_area = pd.notna(area)
    seat = _truthy(localities[seat_col]) if seat_col is not None else np.zeros(n, dtype=bool)
    pop = pd.to_numeric(localities[population_col], errors="coerce").to_numpy(dtype=float) \
        if population_col in localities else np.full(n, np.nan)
    ok = has_area.copy()
    why: list[list[str]] = [[] if a else ["in no eligible area"] for a in has_area]
    if not allow_seat:
        for i in np.flatnonzero(seat & has_area):
            why[i].append("municipal seat (excluded)")
        ok &= ~seat
    if min_population is not None:
        low = ~(np.nan_to_num(pop, nan=-np.inf) >= float(min_population))
        for i in np.flatnonzero(low & has_area):
            why[i].append("population unknown" if np.isnan(pop[i]) else f"population {pop[i]:g} < {min_population:g}")
        ok &= ~low
    if service_column is not None:
        has = _truthy(localities[service_column])
        for i in np.flatnonzero(~has & has_area):
            why[i].append(f"no {service_column}")
        ok &= has
    reason = np.array(["candidate" if o else "; ".join(w) for o, w in zip(ok, why, strict=True)], dtype=object)
    if one_per_area:
        _one_candidate_per_area(ok, reason, area, seat & ~allow_seat, pop)
    out = localities.copy()
    out[CEC_CANDIDATE] = ok
    out[CEC_CANDIDATE_REASON] = reason
    return out


def _one_candidate_per_area(ok: np.ndarray, reason: np.ndarray, area: np.ndarray, excluded: np.ndarray,
                            pop: np.ndarray) -> None:
    """Give every area without a candidate its most populous locality that is not excluded (in place)."""
    keys = _keys(area).to_numpy()
    df = pd.DataFrame({"a": keys, "ok": ok, "x": excluded, "p": np.nan_to_num(pop, nan=-1.0),
                       "i": np.arange(len(ok))}).dropna(subset=["a"])
    have = set(df.loc[df["ok"], "a"])
    pool = df[~df["a"].isin(have) & ~df["x"]].sort_values(["a", "p", "i"], ascending=[True, False, True])
    picked = pool.drop_duplicates("a")["i"].to_numpy()
    ok[picked] = True
    for i in picked:
        reason[i] = f"candidate: most populous eligible locality of its area ({reason[i]})"


@dataclass(frozen=True, eq=False)
class CECSelection:
    """CECs chosen inside each microregion, with their hinterlands (:func:`select_cecs`).

    Attributes
    ----------
    cecs
        One row per CEC: ``cec_id`` (its locality id), ``name``, ``population``,
        ``microregion_id``, ``area_id``, ``is_seat``, ``selected_by`` (the model, or
        ``one_per_area`` for a CEC added so that its area has one), ``n_hinterland_localities``
        and ``hinterland_population`` (the CEC itself not included), ``max_time_min``
        (slowest hinterland locality), geometry (EPSG:4326).
    localities
        The input localities plus ``cec_id`` (nearest CEC of the microregion), ``travel_time_cec_min``
        and ``cec_status``: ``cec``, ``hinterland`` (within the limit), ``beyond_limit``,
        ``too_far_from_road``, ``disconnected``, ``no_cec_in_microregion`` or
        ``outside_microregions``.
    regions
        One row per microregion: the hub model's figures (``model``, ``method``, ``optimal``,
        ``solver_status``, ``objective``, ``n_candidates``, ``n_cecs``, ``n_added_one_per_area``,
        ``n_localities``, ``n_hinterland``, ``n_beyond_limit``, ``areas_without_candidate``).
    """

    cecs: gpd.GeoDataFrame
    localities: gpd.GeoDataFrame
    regions: pd.DataFrame
    max_time_min: float
    model: str

    def hinterland_polygons(self, study_area: Any = None) -> gpd.GeoDataFrame:
        """Hinterland polygons: the Voronoi cells of the localities in each CEC's hinterland, dissolved."""
        loc = self.localities
        inside = loc[loc[CEC_STATUS].isin(HINTERLAND_STATUSES)]
        polys = zone_polygons(inside, by=CEC_ID, study_area=study_area)
        mr = self.cecs.set_index(self.cecs[CEC_ID].astype(str))[MICROREGION_ID]
        polys.insert(1, MICROREGION_ID, mr.reindex(polys[CEC_ID].astype(str)).to_numpy())
        return polys

    def as_dict(self) -> dict[str, Any]:
        st = self.localities[CEC_STATUS].value_counts()
        return {"n_cecs": len(self.cecs), "model": self.model, "max_time_min": self.max_time_min,
                "localities_by_status": {str(k): int(v) for k, v in st.items()},
                "n_added_one_per_area": int((self.cecs[SELECTED_BY] == "one_per_area").sum())}


@dataclass
class _RegionCECs:
    """The CECs of one microregion and its localities' assignment (positions local to the region)."""

    chosen: list[int]
    selected_by: list[str]
    time_s: np.ndarray
    which: np.ndarray
    record: dict[str, Any] = field(default_factory=dict)


def _one_cec_per_area(table: Any, chosen: list[int], cand_local: np.ndarray, area: np.ndarray, pop: np.ndarray,
                      snapped: np.ndarray) -> tuple[list[int], list[str]]:
    """Areas of the region without a CEC get the candidate of the area covering most of the area's
    population within the limit (its own population, then listing order, break ties)."""
    added: list[int] = []
    have = {area[c] for c in chosen}
    cand_area = area[cand_local]
    missing: list[str] = []
    for a in pd.unique(area[cand_local]):
        if a in have:
            continue
        pos = np.flatnonzero((cand_area == a) & snapped[cand_local])
        if not len(pos):
            missing.append(str(a))
            continue
        in_area = area[table.loc] == a
        covered = np.bincount(table.cand[in_area], weights=pop[table.loc[in_area]], minlength=len(cand_local))
        score = np.lexsort((np.arange(len(pos)), -pop[cand_local[pos]], -covered[pos]))
        added.append(int(cand_local[pos[score[0]]]))
    return added, missing


def _solve_region(graph: Any, nodes: np.ndarray, ok: np.ndarray, sub: gpd.GeoDataFrame, rows: np.ndarray,
                  cand: np.ndarray, area: np.ndarray, *, t: float, model: str, k: int | None, method: str,
                  one_per_area: bool, population_col: str, ids: np.ndarray, time_limit_s: float) -> _RegionCECs:
    """The hub model inside one microregion, then one CEC per area, then the hinterlands."""
    from .hubs import HubProblem, HubTable

    rnodes = nodes[rows]
    cand_local = np.flatnonzero(cand[rows] & ok[rows])
    empty = _RegionCECs([], [], np.full(len(rows), np.inf), np.full(len(rows), -1, dtype=np.int64))
    if not len(cand_local):
        empty.record = {"n_candidates": 0, "n_cecs": 0, "solver_status": "no candidate near a road"}
        return empty
    s, g, d = graph.long_table(rnodes[cand_local], rnodes, cutoff=t * 60.0, reverse=True)
    table = HubTable(loc=g.astype(np.int64), cand=s.astype(np.int64), time_min=d / 60.0, cand_pos=cand_local,
                     loc_ids=ids[rows], loc_ok=ok[rows], max_time_min=t)
    problem = HubProblem.from_table(table, sub.iloc[rows], population_col=population_col)
    kk = None if model == "cover" else min(int(k or 1), problem.n_candidates)
    sel = problem.solve(model, k=kk, method=method, time_limit_s=time_limit_s)
    local_of = pd.Series(np.arange(len(rows)), index=pd.Index(ids[rows]).astype(str))
    chosen = [int(local_of[str(h)]) for h in sel.hubs["hub_id"]]
    by = [model] * len(chosen)
    missing: list[str] = []
    if one_per_area:
        pop = population_of(sub.iloc[rows], population_col)
        added, missing = _one_cec_per_area(table, chosen, cand_local, area[rows], pop, ok[rows])
        chosen += added
        by += ["one_per_area"] * len(added)
    time_s, which, _ = graph.nearest(rnodes[chosen], rnodes)
    rec = {"n_candidates": int(len(cand_local)), "n_cecs": len(chosen), "model": model, "method": sel.method,
           "optimal": sel.optimal, "solver_status": sel.solver_status, "objective": sel.objective,
           "n_added_one_per_area": len(chosen) - sel.n_hubs, "areas_without_candidate": ";".join(missing)}
    return _RegionCECs(chosen, by, time_s, which, rec)


def _cec_status(res: _RegionCECs, ok: np.ndarray, t: float, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                                    np.ndarray]:
    """``cec_id``, ``travel_time_cec_min`` and ``cec_status`` of a region's localities."""
    n = len(ok)
    found = res.which >= 0
    cec = np.full(n, None, dtype=object)
    cec[found] = ids[np.asarray(res.chosen, dtype=np.int64)[res.which[found]]] if res.chosen else None
    tmin = np.where(found, res.time_s / 60.0, np.nan)
    status = np.where(tmin <= t, STATUS_HINTERLAND, STATUS_BEYOND).astype(object)
    status[~found] = REASON_DISCONNECTED if res.chosen else STATUS_NO_CEC
    status[~ok] = REASON_TOO_FAR
    cec[~ok] = None
    status[np.asarray(res.chosen, dtype=np.int64)] = STATUS_CEC
    return cec, tmin, status


def select_cecs(network: RoadNetwork, localities: gpd.GeoDataFrame, *, max_time_min: float, area_col: str,
                microregion_col: str = MICROREGION_ID, model: str = "cover", k: int | None = None,
                method: str = "auto", one_per_area: bool = True, id_col: str | None = None,
                population_col: str = POPULATION, options: RouteOptions | None = None,
                time_limit_s: float = 60.0) -> CECSelection:
    """Choose the CECs inside each microregion with a hub model, and their hinterlands.

    Parameters
    ----------
    localities
        Points with ``microregion_id`` (localities outside every microregion are left out),
        ``area_col`` and ``cec_candidate`` (from :func:`cec_candidates`).
    max_time_min
        ``T``: a CEC serves the localities that reach it within ``T`` minutes.
    model, k, method
        The model of :meth:`territorial_gis.hubs.HubProblem.solve` run inside each microregion:
        ``cover`` (fewest CECs covering every coverable locality), ``maxcover`` or ``pmedian``
        (``k`` CECs per microregion, fewer when it has fewer candidates).
    one_per_area
        After the model, every area of the microregion without a CEC gets the candidate that
        covers most of its population within ``T`` (the Strategy chose CECs in every
        municipality); such CECs are ``selected_by = one_per_area``. The result is then not
        the model's optimum over the microregion, but the model's choice plus the fewest
        additions that give every area a CEC.

    Returns
    -------
    CECSelection
        The CECs, the localities with their CEC and status, and one row per microregion.
    """
    from .hubs import METHODS, MODELS

    t = check_max_time(max_time_min, "CEC time limit (max_time_min)")
    if model not in MODELS:
        raise ConfigError(f"unknown CEC model {model!r}; use one of {', '.join(MODELS)}")
    if method not in METHODS:
        raise ConfigError(f"unknown CEC method {method!r}; use one of {', '.join(METHODS)}")
    if model != "cover" and (k is None or int(k) != k or k < 1):
        raise ConfigError(f"model {model!r} needs k, a positive whole number of CECs per microregion")
    for col in (microregion_col, area_col, CEC_CANDIDATE):
        if col not in localities:
            raise ColumnError(f"column '{col}' not found among the localities; assign microregions and run "
                              "cec_candidates first")
    in_mr = localities[microregion_col].notna().to_numpy()
    if not in_mr.any():
        raise ConfigError("no locality lies in a microregion: no CEC to choose")
    pos = np.flatnonzero(in_mr)
    sub = localities.iloc[pos]
    graph = snap_localities(network, sub, options=options_or_default(options))
    nodes = graph.offroad_node[graph.group(0)]
    ok = graph.snaps.ok[graph.group(0)].astype(bool)
    ids = ids_of(sub, id_col).astype(str).to_numpy()
    cand = sub[CEC_CANDIDATE].fillna(False).to_numpy(dtype=bool)
    area = _keys(sub[area_col].to_numpy()).to_numpy()
    mr = sub[microregion_col].astype(str).to_numpy()
    cec = np.full(len(sub), None, dtype=object)
    tmin = np.full(len(sub), np.nan)
    status = np.full(len(sub), STATUS_NO_CEC, dtype=object)
    cec_rows: list[int] = []
    cec_by: list[str] = []
    records = []
    for r in sorted(pd.unique(mr)):
        rows = np.flatnonzero(mr == r)
        res = _solve_region(graph, nodes, ok, sub, rows, cand, area, t=t, model=model, k=k, method=method,
                            one_per_area=one_per_area, population_col=population_col, ids=ids,
                            time_limit_s=time_limit_s)
        cec[rows], tmin[rows], status[rows] = _cec_status(res, ok[rows], t, ids[rows])
        cec_rows += rows[np.asarray(res.chosen, dtype=np.int64)].tolist()
        cec_by += res.selected_by
        records.append({MICROREGION_ID: r, "n_localities": len(rows), **res.record,
                        "n_hinterland": int(np.isin(status[rows], HINTERLAND_STATUSES).sum()),
                        "n_beyond_limit": int((status[rows] == STATUS_BEYOND).sum())})
    out = localities.copy()
    for col, vals, fill in ((CEC_ID, cec, None), (CEC_TIME_MIN, tmin, np.nan), (CEC_STATUS, status, STATUS_OUTSIDE)):
        full = np.full(len(out), fill, dtype=object if fill is None or isinstance(fill, str) else float)
        full[pos] = vals
        out[col] = full
    cecs = _cec_frame(sub, np.asarray(cec_rows, dtype=np.int64), cec_by, ids, mr, area, cec, tmin, status,
                      population_col)
    log.info("CECs: %d in %d microregions (%s, T=%g min); %d localities in their hinterlands", len(cecs),
             len(records), model, t, int(np.isin(status, HINTERLAND_STATUSES).sum()))
    return CECSelection(cecs=cecs, localities=out, regions=pd.DataFrame(records), max_time_min=t, model=model)


def _cec_frame(sub: gpd.GeoDataFrame, rows: np.ndarray, by: list[str], ids: np.ndarray, mr: np.ndarray,
               area: np.ndarray, cec: np.ndarray, tmin: np.ndarray, status: np.ndarray,
               population_col: str) -> gpd.GeoDataFrame:
    import geopandas as gpd

    src = sub.iloc[rows]
    pop = population_of(sub, population_col)
    inside = np.isin(status, [STATUS_HINTERLAND])
    key = pd.Series(cec[inside]).astype(str)
    n_h = key.value_counts()
    pop_h = pd.Series(pop[inside]).groupby(key.to_numpy()).sum()
    t_h = pd.Series(tmin[inside]).groupby(key.to_numpy()).max()
    cid = ids[rows]
    geom = src.geometry if src.crs is None or src.crs.equals("EPSG:4326") else src.geometry.to_crs(4326)
    frame = gpd.GeoDataFrame({
        CEC_ID: cid,
        NAME: src[NAME].to_numpy() if NAME in src else None,
        POPULATION: pop[rows],
        MICROREGION_ID: mr[rows],
        AREA_ID: area[rows],
        IS_SEAT: src[IS_SEAT].to_numpy() if IS_SEAT in src else pd.NA,
        SELECTED_BY: by,
        "n_hinterland_localities": n_h.reindex(cid).fillna(0).astype(np.int64).to_numpy(),
        "hinterland_population": pop_h.reindex(cid).fillna(0.0).to_numpy(),
        "max_time_min": t_h.reindex(cid).fillna(0.0).to_numpy(),
    }, geometry=geom.to_numpy(), crs=4326)
    return frame.sort_values([MICROREGION_ID, CEC_ID], kind="stable").reset_index(drop=True)


# ====================================================================== service gaps
def service_time_col(service: str) -> str:
    """``travel_time_<service>_min``: minutes from a locality to the nearest place offering ``service``."""
    from .columns import time_col

    return time_col(service)


@dataclass(frozen=True, eq=False)
class ServiceGaps:
    """Services at and around the CECs (:func:`service_gaps`).

    Attributes
    ----------
    table
        One row per CEC and service: ``cec_id``, ``microregion_id``, ``service``,
        ``present_at_cec`` (the service is at the CEC: its column is truthy there, or one of its
        points is within ``presence_m``), ``travel_time_cec_min`` (from the CEC to the nearest
        place offering it; NaN when unreachable, with ``reason``), ``within_limit``,
        ``hinterland_localities``, ``hinterland_population``, ``hinterland_mean_time_min``
        (population-weighted; unweighted when the hinterland has no population),
        ``hinterland_max_time_min``, ``hinterland_population_beyond_limit`` and
        ``hinterland_unreachable`` (localities with no time), ``gap`` (the CEC has no such
        service within the limit, or its time is unknown).
    localities
        The localities with ``travel_time_<service>_min`` per service (microregion localities only).
    sentences
        One line per service for reports: "CECs lacking a health unit within 30 min: 41 of 120", ...
    """

    table: pd.DataFrame
    localities: gpd.GeoDataFrame
    limit_min: float
    sentences: tuple[str, ...]

    def wide(self) -> pd.DataFrame:
        """One row per CEC: ``has_<service>`` and ``travel_time_<service>_min`` per service."""
        t = self.table
        has = t.pivot(index=CEC_ID, columns="service", values="present_at_cec").add_prefix("has_")
        tt = t.pivot(index=CEC_ID, columns="service", values="travel_time_cec_min")
        tt.columns = [service_time_col(c) for c in tt.columns]
        return has.join(tt).reset_index()


def _service_points(spec: Any, name: str, localities: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame | None,
                                                                                    np.ndarray | None]:
    """A service as a point layer, or as a mask of the localities offering it (a column)."""
    if isinstance(spec, str):
        if spec not in localities:
            raise ColumnError(f"service {name!r}: column '{spec}' not found among the localities' columns: "
                              f"{', '.join(map(str, localities.columns))}")
        return None, _truthy(localities[spec])
    if not hasattr(spec, "geometry"):
        raise ConfigError(f"service {name!r} must be a point layer or a column of the localities, not {type(spec).__name__}")
    if spec.crs is None:
        raise CRSError(f"service {name!r}: the points have no CRS")
    if len(spec) == 0:
        raise ConfigError(f"service {name!r}: the layer holds no point")
    return spec, None


def _label(name: str, labels: Mapping[str, str] | None) -> str:
    text = (labels or {}).get(name, name.replace("_", " "))
    return text if (labels and name in labels) else (("an " if text[:1].lower() in "aeiou" else "a ") + text)


def _gap_rows(name: str, cec_pos: np.ndarray, cecs: gpd.GeoDataFrame, t_min: np.ndarray, present: np.ndarray,
              reason: np.ndarray, hinter_key: np.ndarray, pop: np.ndarray, limit: float) -> pd.DataFrame:
    """The gap table of one service."""
    inside = pd.notna(hinter_key)
    df = pd.DataFrame({"k": hinter_key[inside], "t": t_min[inside], "p": pop[inside]})
    df["pt"] = df["p"] * df["t"]
    df["beyond"] = np.where(~(df["t"] <= limit), df["p"], 0.0)
    g = df.groupby("k")
    known = df.dropna(subset=["t"]).groupby("k")
    cid = cecs[CEC_ID].astype(str).to_numpy()
    wsum = known["p"].sum().reindex(cid)
    weighted = known["pt"].sum().reindex(cid) / wsum.where(wsum > 0)
    mean = weighted.fillna(known["t"].mean().reindex(cid))
    tc = t_min[cec_pos]
    return pd.DataFrame({
        CEC_ID: cecs[CEC_ID].to_numpy(), MICROREGION_ID: cecs[MICROREGION_ID].to_numpy(), "service": name,
        "present_at_cec": present, "travel_time_cec_min": tc, "within_limit": tc <= limit,
        "reason": reason[cec_pos],
        "hinterland_localities": g.size().reindex(cid).fillna(0).astype(np.int64).to_numpy(),
        "hinterland_population": g["p"].sum().reindex(cid).fillna(0.0).to_numpy(),
        "hinterland_mean_time_min": mean.to_numpy(),
        "hinterland_max_time_min": known["t"].max().reindex(cid).to_numpy(),
        "hinterland_population_beyond_limit": g["beyond"].sum().reindex(cid).fillna(0.0).to_numpy(),
        "hinterland_unreachable": g["t"].apply(lambda s: int(s.isna().sum())).reindex(cid).fillna(0).astype(
            np.int64).to_numpy(),
        "gap": ~(tc <= limit),
    })


def service_gaps(network: RoadNetwork, selection: CECSelection, services: Mapping[str, Any], *,
                 limit_min: float = DEFAULT_SERVICE_LIMIT_MIN, presence_m: float = DEFAULT_PRESENCE_M,
                 labels: Mapping[str, str] | None = None, id_col: str | None = None,
                 population_col: str = POPULATION, options: RouteOptions | None = None) -> ServiceGaps:
    """Which services each CEC offers, and how far its hinterland is from the nearest one.

    Parameters
    ----------
    selection
        The CECs and localities of :func:`select_cecs`.
    services
        Service name -> a point layer (health units, schools, markets, bank or post offices...)
        or a column of the localities, truthy where the locality offers it (``schools``,
        ``healthcare`` counts, an electricity flag...).
    limit_min
        The threshold: a CEC "lacks" a service when the nearest place offering it is farther.
    presence_m
        A point service is *at* a CEC when one of its points lies within this distance.
    labels
        Service name -> words for the sentences ("a health unit"); default the name.

    Returns
    -------
    ServiceGaps
        The gap table, locality times per service and one sentence per service.
    """
    import geopandas as gpd
    from scipy.spatial import cKDTree

    from ._crs import utm_crs_for_bounds

    limit = check_max_time(limit_min, "service time limit (limit_min)")
    if not services:
        raise ConfigError("no service given: name at least one (a point layer or a column of the localities)")
    loc = selection.localities
    parsed = {name: _service_points(spec, name, loc) for name, spec in services.items()}
    layers = [p for p, _m in parsed.values() if p is not None]
    graph = snap_localities(network, loc, layers, options=options_or_default(options))
    lnodes = graph.offroad_node[graph.group(0)]
    snapped = graph.snaps.ok[graph.group(0)].astype(bool)
    ids = ids_of(loc, id_col).astype(str)
    cecs = selection.cecs
    cec_pos = pd.Index(ids).get_indexer(cecs[CEC_ID].astype(str))
    in_mr = (loc[CEC_STATUS] != STATUS_OUTSIDE).to_numpy()
    in_hinterland = loc[CEC_STATUS].isin([STATUS_HINTERLAND]).to_numpy()
    key = np.array([str(k) if h else None for k, h in zip(loc[CEC_ID], in_hinterland, strict=True)], dtype=object)
    pop = population_of(loc, population_col)
    crs = utm_crs_for_bounds(tuple(loc.geometry.to_crs(4326).total_bounds))
    cxy = np.column_stack(lonlat_of(cecs, "CECs"))
    cec_m = gpd.GeoSeries(gpd.points_from_xy(cxy[:, 0], cxy[:, 1]), crs=4326).to_crs(crs)
    out = loc.copy()
    rows, sentences, k = [], [], 0
    for name, (pts, mask) in parsed.items():
        if pts is not None:
            k += 1
            dnodes = graph.offroad_node[graph.group(k)]
            dnodes = dnodes[dnodes >= 0]
            pm = pts.geometry.to_crs(crs)
            tree = cKDTree(np.column_stack([pm.x, pm.y]))
            present = np.array([len(h) > 0 for h in tree.query_ball_point(
                np.column_stack([cec_m.x, cec_m.y]), r=float(presence_m))], dtype=bool)
        else:
            assert mask is not None
            dnodes = lnodes[mask & (lnodes >= 0)]
            present = mask[cec_pos]
        t_s, _w, _ = graph.nearest(dnodes, lnodes)
        t_min = np.where(np.isfinite(t_s), t_s / 60.0, np.nan)
        reason = np.full(len(t_min), None, dtype=object)
        reason[~np.isfinite(t_min)] = REASON_DISCONNECTED if len(dnodes) else "no_service_near_a_road"
        reason[~snapped] = REASON_TOO_FAR
        out[service_time_col(name)] = np.where(in_mr, t_min, np.nan)
        table = _gap_rows(name, cec_pos, cecs, t_min, present, reason, key, pop, limit)
        rows.append(table)
        sentences += _gap_sentences(table, _label(name, labels), limit)
    gaps = pd.concat(rows, ignore_index=True)
    for s in sentences:
        log.debug("service gaps: %s", s)
    return ServiceGaps(table=gaps, localities=out, limit_min=limit, sentences=tuple(sentences))


def _gap_sentences(table: pd.DataFrame, label: str, limit: float) -> list[str]:
    n = len(table)
    lacking = int(table["gap"].sum())
    unknown = int(table["travel_time_cec_min"].isna().sum())
    first = f"CECs lacking {label} within {limit:g} min: {lacking} of {n}"
    if unknown:
        first += f" ({unknown} with no road route to one)"
    pop = float(table["hinterland_population"].sum())
    beyond = float(table["hinterland_population_beyond_limit"].sum())
    second = f"Hinterland population farther than {limit:g} min from {label}: {beyond:,.0f} of {pop:,.0f}"
    return [first, second]


# ====================================================================== the strategy end to end
ADMIN_AREA_ID = "admin_area_id"
"""Column of the localities: the id of the area (municipality) they lie in."""
GROUPING_KEYS = ("method", "min_population", "min_areas", "n_regions", "contiguity", "tolerance_m",
                 "link_time_min", "attributes", "below_floor", "seed", "iterations")
CEC_KEYS = ("max_time_min", "model", "k", "method", "allow_seat", "min_population", "service_column",
            "one_per_area")


@dataclass(frozen=True, eq=False)
class StrategyResult:
    """Everything :func:`run_strategy` produced.

    ``localities`` carry ``admin_area_id``, ``is_seat``, ``microregion_id``, ``cec_candidate``
    (and its reason), ``cec_id``, ``travel_time_cec_min``, ``cec_status`` and, with services,
    ``travel_time_<service>_min``; ``areas`` the eligibility and microregion columns.
    """

    areas: gpd.GeoDataFrame
    microregions: Microregions
    selection: CECSelection
    gaps: ServiceGaps | None
    localities: gpd.GeoDataFrame

    def cec_layer(self) -> gpd.GeoDataFrame:
        """The CECs with ``has_<service>`` and ``travel_time_<service>_min`` per service."""
        cecs = self.selection.cecs
        if self.gaps is None:
            return cecs
        wide = self.gaps.wide()
        wide[CEC_ID] = wide[CEC_ID].astype(str)
        return cecs.assign(**{CEC_ID: cecs[CEC_ID].astype(str)}).merge(wide, on=CEC_ID, how="left")

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """The layers of ``microregions.gpkg``: ``microregions``, ``eligibility`` (the areas),
        ``cecs`` and ``cec_hinterlands``."""
        return {"microregions": self.microregions.regions, "eligibility": self.areas, "cecs": self.cec_layer(),
                "cec_hinterlands": self.selection.hinterland_polygons()}

    def label(self, localities: gpd.GeoDataFrame, *, area_col: str | None = None,
              area_id_col: str | None = None) -> gpd.GeoDataFrame:
        """Other localities (e.g. a study's hexagons) with ``admin_area_id`` and ``microregion_id``,
        by ``area_col`` when they carry it, else by the area polygon holding them."""
        col = area_col if area_col is not None and area_col in localities else None
        area = area_of_localities(localities, self.areas, area_col=col, area_id_col=area_id_col)
        mr = pd.Series(self.areas[MICROREGION_ID].to_numpy(), index=area_ids(self.areas, area_id_col).to_numpy())
        out = localities.copy()
        out[ADMIN_AREA_ID] = area.to_numpy()
        out[MICROREGION_ID] = mr.reindex(area.to_numpy()).to_numpy()
        return out

    def as_dict(self) -> dict[str, Any]:
        out = {**self.microregions.as_dict(), **self.selection.as_dict(),
               "n_areas": len(self.areas), "n_eligible": int(self.areas[ELIGIBLE].sum())}
        if self.gaps is not None:
            out["service_gaps"] = list(self.gaps.sentences)
        return out


def _checked_keys(given: Mapping[str, Any] | None, allowed: Sequence[str], what: str) -> dict[str, Any]:
    given = dict(given or {})
    bad = sorted(set(given) - set(allowed))
    if bad:
        raise ConfigError(f"unknown {what} option(s) {', '.join(bad)}; allowed: {', '.join(allowed)}")
    return {k: v for k, v in given.items() if v is not None}


def _head_towns(areas: gpd.GeoDataFrame, ids: pd.Series, localities: gpd.GeoDataFrame, area: pd.Series,
                seat: np.ndarray) -> gpd.GeoDataFrame:
    """One head town per area (the first seat listed), aligned to the areas; empty where none."""
    import geopandas as gpd

    seat_rows = pd.Series(np.flatnonzero(seat), index=area.to_numpy()[seat])
    seat_rows = seat_rows[~seat_rows.index.duplicated()]
    pos = seat_rows.reindex(ids.to_numpy()).to_numpy()
    geom = np.full(len(areas), None, dtype=object)
    has = pd.notna(pos)
    pts = localities.geometry.to_crs(areas.crs).to_numpy()
    geom[has] = pts[pos[has].astype(np.int64)]
    return gpd.GeoDataFrame(geometry=list(geom), crs=areas.crs)


def _with_locality_summaries(areas: gpd.GeoDataFrame, ids: pd.Series, area: pd.Series, localities: pd.DataFrame,
                             population_col: str) -> gpd.GeoDataFrame:
    """Area columns summarised from the localities, for rules that need them: ``n_localities``,
    ``population`` (when the areas have none: the localities' sum, NaN where none is known) and,
    when the localities are classified, ``mra_population_share`` (share of the population in MRA
    localities; of the localities when the population is unknown). Existing columns are kept."""
    from .columns import AREA_CLASS

    out = areas.copy()
    key = area.to_numpy()
    if "n_localities" not in out:
        out["n_localities"] = pd.Series(key).value_counts().reindex(ids.to_numpy()).fillna(0).astype(np.int64).to_numpy()
    pop = pd.to_numeric(localities[population_col], errors="coerce") if population_col in localities else None
    if population_col not in out and pop is not None:
        out[population_col] = pop.groupby(key).sum(min_count=1).reindex(ids.to_numpy()).to_numpy(dtype=float)
        log.debug("areas: population summed from their localities")
    if AREA_CLASS in localities and "mra_population_share" not in out:
        w = population_of(localities, population_col)
        w = w if w.sum() > 0 else np.ones(len(w))
        mra = (localities[AREA_CLASS].astype(str) == "MRA").to_numpy()
        tot = pd.Series(w).groupby(key).sum()
        share = pd.Series(np.where(mra, w, 0.0)).groupby(key).sum() / tot.where(tot > 0)
        out["mra_population_share"] = share.reindex(ids.to_numpy()).to_numpy(dtype=float)
    return out


def run_strategy(network: RoadNetwork, localities: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, *, rules: Any,
                 eligible_classes: Sequence[str] | None = None, area_id_col: str | None = None,
                 area_name_col: str | None = None, area_col: str | None = None, seat_col: str | None = None,
                 grouping: Mapping[str, Any] | None = None, cecs: Mapping[str, Any] | None = None,
                 services: Mapping[str, Any] | None = None, service_limit_min: float = DEFAULT_SERVICE_LIMIT_MIN,
                 presence_m: float = DEFAULT_PRESENCE_M, population_col: str = POPULATION,
                 classified: gpd.GeoDataFrame | None = None, options: RouteOptions | None = None) -> StrategyResult:
    """The Microregions Strategy end to end: eligibility, microregions, CECs, hinterlands, service gaps.

    Parameters
    ----------
    areas, localities
        The areas (municipalities: polygons, or points for grouping by travel time) and the
        localities (points with population). A locality's area is its ``area_col`` value, else
        the polygon holding it. Areas get ``n_localities``, ``population`` (when they have
        none) and ``mra_population_share`` (when the localities are classified) for the rules.
    rules, eligible_classes
        Eligibility (:func:`eligible_areas`).
    seat_col
        Locality column marking each area's seat (its head town); default the most populous
        locality of each area.
    area_id_col, area_name_col
        The areas' id column and the column naming them in the outputs (see
        :func:`build_microregions`; a ColumnError when the named column is missing).
    grouping
        Options of :func:`build_microregions` (``method``, ``min_population``/``min_areas``,
        ``contiguity``, ``link_time_min``, ...).
    cecs
        ``max_time_min`` (required), ``model``, ``k``, ``method``, ``one_per_area`` (of
        :func:`select_cecs`) and ``allow_seat``, ``min_population``, ``service_column`` (of
        :func:`cec_candidates`).
    services
        Service name -> point layer or locality column (:func:`service_gaps`); none: no gap table.
    classified
        Other localities whose classes summarise the areas (``mra_population_share``), e.g. a
        study's classified hexagons when the CECs are chosen among a list of settlements; they
        are placed in the areas by the polygon holding them (or by ``area_col``).
    """
    plan = plan_strategy(localities, areas, rules=rules, eligible_classes=eligible_classes, area_id_col=area_id_col,
                         area_name_col=area_name_col, area_col=area_col, seat_col=seat_col, grouping=grouping, cecs=cecs,
                         population_col=population_col, classified=classified)
    return run_plan(network, plan, services=services, service_limit_min=service_limit_min, presence_m=presence_m,
                    options=options)


@dataclass(frozen=True, eq=False)
class StrategyPlan:
    """What :func:`plan_strategy` checked and computed without the road network: the areas with
    their summaries and eligibility, each locality's area and seat, and the options."""

    areas: gpd.GeoDataFrame
    ids: pd.Series
    area: pd.Series
    seat: np.ndarray
    localities: gpd.GeoDataFrame
    grouping: dict[str, Any]
    cecs: dict[str, Any]
    area_id_col: str | None
    population_col: str
    area_name_col: str | None = None


def plan_strategy(localities: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, *, rules: Any,
                  eligible_classes: Sequence[str] | None = None, area_id_col: str | None = None,
                  area_name_col: str | None = None, area_col: str | None = None, seat_col: str | None = None,
                  grouping: Mapping[str, Any] | None = None, cecs: Mapping[str, Any] | None = None,
                  population_col: str = POPULATION, classified: gpd.GeoDataFrame | None = None) -> StrategyPlan:
    """The steps of :func:`run_strategy` that need no road network: eligibility, the areas of the
    localities and their seats, and the checks of the grouping options (a floor that no group of
    contiguous polygons can meet fails here, before any routing)."""
    g_opts = _checked_keys(grouping, GROUPING_KEYS, "grouping")
    c_opts = _checked_keys(cecs, CEC_KEYS, "CEC")
    if "max_time_min" not in c_opts:
        raise ConfigError("CECs need max_time_min (minutes within which a CEC serves a locality)")
    check_max_time(c_opts["max_time_min"], "CEC time limit (max_time_min)")
    ids = area_ids(areas, area_id_col)
    area_name_col = area_name_column(areas.columns, area_name_col)
    if area_col is None and g_opts.get("contiguity") == "travel_time":
        raise ConfigError("areas grouped by travel time between head towns need the localities' area column "
                          "(area_col, e.g. municipality_code) to know which locality lies in which area")
    area = area_of_localities(localities, areas, area_col=area_col, area_id_col=area_id_col)
    seat = seats_of(localities, area, seat_col=seat_col, population_col=population_col)
    areas = _with_locality_summaries(areas, ids, area, localities, population_col)
    if classified is not None:
        col = area_col if area_col is not None and area_col in classified else None
        c_area = area_of_localities(classified, areas, area_col=col, area_id_col=area_id_col)
        areas = _with_locality_summaries(areas.drop(columns=["mra_population_share"], errors="ignore"), ids, c_area,
                                         classified, population_col)
    el = eligible_areas(areas, rules, eligible_classes=eligible_classes)
    _check_plan(el, ids, g_opts, population_col)
    return StrategyPlan(areas=el, ids=ids, area=area, seat=seat, localities=localities, grouping=g_opts, cecs=c_opts,
                        area_id_col=area_id_col, population_col=population_col, area_name_col=area_name_col)


def _check_plan(el: gpd.GeoDataFrame, ids: pd.Series, g: Mapping[str, Any], population_col: str) -> None:
    """The grouping checks that need no network: options, polygons, and (polygon contiguity) a floor
    some group of contiguous eligible areas meets."""
    contiguity = g.get("contiguity", "queen")
    method = g.get("method", "maxp")
    _check_grouping(el, method=method, contiguity=contiguity, below_floor=g.get("below_floor", "keep"),
                    n_regions=g.get("n_regions"), link_time_min=g.get("link_time_min"),
                    attributes=g.get("attributes"), network_given=True)
    eligible = _eligible_mask(el)
    floor = _floor_of(el[eligible], min_population=g.get("min_population"), min_areas=g.get("min_areas"),
                      population_col=population_col, method=method, ids=ids[eligible].reset_index(drop=True))
    if contiguity != "travel_time" and floor.value is not None:
        from ._crs import utm_crs_for_bounds

        sub = el[eligible]
        metric = utm_crs_for_bounds(tuple(sub.geometry.to_crs(4326).total_bounds))
        pairs = rg.polygon_neighbours(sub.geometry.to_crs(metric).to_numpy(), rook=contiguity == "rook",
                                      tolerance_m=float(g.get("tolerance_m", 0.0)))
        _groups_and_floor(rg.adjacency(len(sub), pairs), floor, ids[eligible].reset_index(drop=True))


def run_plan(network: RoadNetwork, plan: StrategyPlan, *, services: Mapping[str, Any] | None = None,
             service_limit_min: float = DEFAULT_SERVICE_LIMIT_MIN, presence_m: float = DEFAULT_PRESENCE_M,
             options: RouteOptions | None = None) -> StrategyResult:
    """The routing steps of :func:`run_strategy` on a checked :class:`StrategyPlan`: microregions,
    CECs and their hinterlands, service gaps."""
    c_opts, pop_col = plan.cecs, plan.population_col
    heads = _head_towns(plan.areas, plan.ids, plan.localities, plan.area, plan.seat)
    mr = build_microregions(plan.areas, network=network, head_towns=heads, area_id_col=plan.area_id_col,
                            name_col=plan.area_name_col,
                            population_col=pop_col, options=options, **plan.grouping)
    mr_of_area = pd.Series(mr.areas[MICROREGION_ID].to_numpy(), index=plan.ids.to_numpy())
    loc = plan.localities.copy()
    loc[ADMIN_AREA_ID] = plan.area.to_numpy()
    loc[IS_SEAT] = plan.seat
    loc[MICROREGION_ID] = mr_of_area.reindex(plan.area.to_numpy()).to_numpy()
    cand = cec_candidates(loc, area_col=ADMIN_AREA_ID, seat_col=IS_SEAT, allow_seat=bool(c_opts.get("allow_seat")),
                          min_population=c_opts.get("min_population"), service_column=c_opts.get("service_column"),
                          one_per_area=c_opts.get("one_per_area", True), population_col=pop_col)
    cand.loc[cand[MICROREGION_ID].isna(), CEC_CANDIDATE] = False
    sel = select_cecs(network, cand, max_time_min=c_opts["max_time_min"], area_col=ADMIN_AREA_ID,
                      model=c_opts.get("model", "cover"), k=c_opts.get("k"), method=c_opts.get("method", "auto"),
                      one_per_area=c_opts.get("one_per_area", True), population_col=pop_col, options=options)
    gaps = None
    out = sel.localities
    if services:
        gaps = service_gaps(network, sel, services, limit_min=service_limit_min, presence_m=presence_m,
                            population_col=pop_col, options=options)
        out = gaps.localities
    return StrategyResult(areas=mr.areas, microregions=mr, selection=sel, gaps=gaps, localities=out)


def run_configured(section: MicroregionsSection, network: RoadNetwork, localities: gpd.GeoDataFrame, *,
                   options: RouteOptions | None = None) -> StrategyResult:
    """:func:`run_strategy` with the keys of a study's ``[microregions]`` section; its own
    ``localities`` file when the section names one (the study's ``localities`` then summarise
    the areas' classes), else ``localities``."""
    from .config import looks_like_path
    from .places import load_places

    m = section
    own = load_places(m.localities) if m.localities else localities
    areas = strategy_areas(m.areas or "", own)
    services = {k: load_places(v) if looks_like_path(v) else v for k, v in m.services.items()}
    given = {k: getattr(m, k) for k in GROUPING_KEYS if getattr(m, k, None) is not None}
    cec = {"max_time_min": m.cec_max_time_min, "model": m.cec_model, "k": m.cec_k, "method": m.cec_method,
           "allow_seat": m.allow_seat, "min_population": m.cec_min_population,
           "service_column": m.cec_service_column, "one_per_area": m.one_per_area}
    return run_strategy(network, own, areas, rules=m.eligible if m.eligible is not None else m.eligible_rules,
                        eligible_classes=m.eligible_classes, area_id_col=m.area_id_column,
                        area_name_col=m.area_name_column, area_col=m.area_column,
                        seat_col=m.seat_column, grouping=given, cecs=cec, services=services,
                        service_limit_min=DEFAULT_SERVICE_LIMIT_MIN if m.service_limit_min is None else m.service_limit_min,
                        presence_m=DEFAULT_PRESENCE_M if m.presence_m is None else m.presence_m,
                        classified=localities if m.localities else None, options=options)


# ====================================================================== areas from a specification
def mexican_municipalities(state: Any = None, *, marginalization: bool = True) -> gpd.GeoDataFrame:
    """INEGI's municipalities (Census 2020) as areas located at their seat (*cabecera*), with
    CONAPO's 2020 marginalization.

    No municipal polygons ship with the toolkit: every municipality is a point at its seat,
    taken from the INEGI localities catalogue (localities of 1,000 inhabitants or more), so the
    municipalities are grouped by travel time between their seats (``contiguity="travel_time"``).

    Returns
    -------
    geopandas.GeoDataFrame
        ``area_id`` and ``municipality_code`` (5 characters, e.g. ``12001``), ``name``,
        ``state_code``, ``state_name``, ``population`` (2020), ``seat_locality_id`` (the seat's
        9-character INEGI code), with ``marginalization`` CONAPO's ``marginalization_index``,
        ``marginalization_grade`` (Muy bajo ... Muy alto), ``marginalization_grade_code`` (1-5),
        ``marginalization_percentile`` and ``join_status``; geometry: the seat (empty when the
        seat has fewer than 1,000 inhabitants and is not in the catalogue).
    """
    import json

    import geopandas as gpd

    from .columns import MUNICIPALITY_CODE
    from .data import data_path
    from .places import load_catalogue

    with open(data_path("catalogues", "municipios_completo.json"), encoding="utf-8") as fh:
        raw = pd.DataFrame.from_records(json.load(fh))
    if state is not None:
        from ._catalogues import resolve_state

        raw = raw[raw["cve_entidad"].astype(str) == resolve_state(state)]
    locs = load_catalogue("inegi_localities", state=state)
    seat_id = (raw["cve_completa"].astype(str) + raw["cve_cabecera"].astype(str)).to_numpy()
    where = pd.Series(locs.geometry.to_numpy(), index=locs["place_id"].astype(str).to_numpy())
    code = raw["cve_completa"].astype(str).to_numpy()
    out = gpd.GeoDataFrame({AREA_ID: code, MUNICIPALITY_CODE: code, NAME: raw["nom_municipio"].to_numpy(),
                            "state_code": raw["cve_entidad"].to_numpy(), "state_name": raw["nom_entidad"].to_numpy(),
                            POPULATION: pd.to_numeric(raw["poblacion_total"], errors="coerce").to_numpy(dtype=float),
                            "seat_locality_id": seat_id}, geometry=list(where.reindex(seat_id).to_numpy()), crs=4326)
    out = out.reset_index(drop=True)
    if marginalization:
        from .indicators import join_indicators

        cols = ["marginalization_index", "marginalization_grade", "marginalization_grade_code",
                "marginalization_percentile"]
        joined, report = join_indicators(out, "conapo_marginalization:2020", on=MUNICIPALITY_CODE, columns=cols)
        out = gpd.GeoDataFrame(joined, geometry="geometry", crs=4326)
        log.info("Mexican municipalities: CONAPO 2020 marginalization joined (%s)", report.summary())
    log.info("Mexican municipalities: %d, %d with their seat located", len(out), int(out.geometry.notna().sum()))
    return out


def strategy_areas(spec: str | gpd.GeoDataFrame, localities: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Areas from a user's text: a vector file (polygons, any CRS), ``h3:<resolution>`` (the H3
    cells holding the localities), or ``mexico`` / ``mexico:<state>`` (INEGI municipalities at
    their seats, :func:`mexican_municipalities`)."""
    if not isinstance(spec, str):
        return spec
    if spec == "mexico" or spec.startswith("mexico:"):
        return mexican_municipalities(spec.split(":", 1)[1] if ":" in spec else None)
    if spec.startswith("h3:"):
        if localities is None:
            raise ConfigError("areas h3:<resolution> need the localities")
        import h3

        from ._cells import make_h3_cells

        try:
            res = int(spec[3:])
        except ValueError:
            raise ConfigError(f"areas {spec!r}: expected h3:<resolution>, e.g. h3:7") from None
        lon, lat = lonlat_of(localities, "localities")
        cells = sorted({h3.latlng_to_cell(float(b), float(a), res) for a, b in zip(lon, lat, strict=True)})
        return make_h3_cells(cells=cells)
    from ._layers import read_layer

    areas = read_layer(spec, what="areas")
    if areas.crs is None:
        raise CRSError(f"areas file {spec} has no CRS")
    return areas
