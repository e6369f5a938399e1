"""Functional territories around centres (intermediate cities by default; any tier).

Each locality joins the centre it reaches fastest over the road network (one multi-source
shortest-path pass from all centres, off-road legs included). A locality whose fastest centre
is farther than ``max_time_min`` keeps no territory and is marked ``no_centre_within_limit``:
a marginal hinterland in its own right, reported rather than forced into a territory.

Territories can be nested: with ``hubs`` (from :func:`territorial_gis.hubs.select_hubs` and
:func:`~territorial_gis.hubs.assign_hinterlands`) every locality also gets the territory of its
hub, and with ``employment_centres`` every territory learns whether its centre reaches an
employment centre within a limit (``linked_to_dynamic_market``), so a user can read
locality -> hub -> intermediate city -> employment centre from one table. With ``regions``
(a column of the localities such as ``state_code``, or region polygons) territories sit inside
regions: every territory gets the region of its centre, localities whose territory lies in
another region are flagged, and with ``within_region`` a locality may only join a centre of its
own region (one pass per region).

* :func:`build_territories` - per-locality assignment, in named steps: snapping and centre
  placement, region labels, the assignment pass(es), the territory and status columns, the
  employment link and the hub nesting.
* :func:`summarize_territories` - one row per territory (population, area, times, classes, bands).
* :func:`territory_polygons` - territory polygons (locality Voronoi cells dissolved per centre)
  joined to the summary.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._routing import RouteOptions, ids_of, lonlat_of, options_or_default
from ._zones import (
    AREA_KM2,
    PlacedPoints,
    check_max_time,
    hub_ids_of,
    known_population,
    place_points,
    zone_polygons,
)
from .columns import (
    AREA_CLASS,
    DEST_ID,
    HUB_ID,
    NAME,
    PLACE_ID,
    POPULATION,
    REASON_DISCONNECTED,
    REASON_TOO_FAR,
    TERRITORY_ID,
    TERRITORY_STATUS,
)
from .errors import ColumnError, ConfigError, CRSError, RoutingError

if TYPE_CHECKING:
    import geopandas as gpd

    from .network import RoadNetwork

log = logging.getLogger(__name__)

STATUS_ASSIGNED = "assigned"
STATUS_BEYOND_LIMIT = "no_centre_within_limit"
STATUS_NO_CENTRE_IN_REGION = "no_centre_in_region"
STATUS_NO_REGION = "no_region"
DEFAULT_EMPLOYMENT_LIMIT_MIN = 60.0
DEFAULT_BANDS_MIN = (30.0, 60.0, 120.0)

# columns written by this stage (beside TERRITORY_ID and TERRITORY_STATUS of territorial_gis.columns)
CENTRE_TIME_MIN = "travel_time_centre_min"
CENTRE_EMPLOYMENT_ID = "centre_employment_id"
CENTRE_EMPLOYMENT_TIME_MIN = "centre_travel_time_employment_min"
CENTRE_LINKED = "centre_linked_to_dynamic_market"
LINKED = "linked_to_dynamic_market"
HUB_TERRITORY_ID = "hub_territory_id"
REGION_ID = "region_id"
TERRITORY_REGION_ID = "territory_region_id"
TERRITORY_CROSSES_REGION = "territory_crosses_region"


def _centre_ids(centres: pd.DataFrame, id_col: str | None) -> np.ndarray:
    if id_col is None and HUB_ID in centres and not any(c in centres for c in (DEST_ID, PLACE_ID)):
        id_col = HUB_ID
    return ids_of(centres, id_col).to_numpy()


def regions_from(spec: str | gpd.GeoDataFrame) -> str | gpd.GeoDataFrame:
    """A ``regions`` argument from a user's text: a vector file (by its suffix: GeoPackage,
    Shapefile, GeoJSON, GeoParquet, FlatGeobuf) is read as region polygons; any other text names
    a column of the localities."""
    from .network import LAYER_SUFFIXES

    if isinstance(spec, str) and Path(spec).suffix.lower() in LAYER_SUFFIXES:
        from ._layers import read_layer

        return read_layer(spec, what="region polygons")
    return spec


def region_of(points: gpd.GeoDataFrame, regions: str | gpd.GeoDataFrame,
              region_id_col: str | None = None) -> np.ndarray:
    """Region of every point: the value of column ``regions`` of ``points``, or the id of the
    region polygon (``regions`` a GeoDataFrame; ids in ``region_id``/``region_id_col``/``id``...)
    that contains the point. None where a point has no region."""
    if isinstance(regions, str):
        if regions not in points:
            raise ColumnError(f"region column '{regions}' not found; columns: {', '.join(map(str, points.columns))}")
        vals = points[regions].to_numpy(dtype=object).copy()
        vals[pd.isna(vals)] = None
        return vals
    import shapely

    if regions.crs is None:
        raise CRSError("the region polygons have no CRS; set one (EPSG:4326 for lon/lat)")
    if len(regions) == 0:
        raise ConfigError("no region polygons given")
    types = set(shapely.get_type_id(regions.geometry.to_numpy()).tolist())
    if not types <= {3, 6}:
        raise ConfigError("regions must be polygons (or a column of the localities)")
    rid_col = region_id_col or (REGION_ID if REGION_ID in regions else None)
    rid = ids_of(regions, rid_col).to_numpy(dtype=object)
    lon, lat = lonlat_of(points, "points")
    polys = regions.geometry.to_crs(4326).to_numpy()
    tree = shapely.STRtree(polys)
    pt_idx, poly_idx = tree.query(shapely.points(lon, lat), predicate="intersects")
    out = np.full(len(points), None, dtype=object)
    first = np.ones(len(pt_idx), dtype=bool)  # a point on a shared border: the first region listed
    order = np.lexsort((poly_idx, pt_idx))
    pt_idx, poly_idx = pt_idx[order], poly_idx[order]
    first[1:] = pt_idx[1:] != pt_idx[:-1]
    out[pt_idx[first]] = rid[poly_idx[first]]
    return out


def _regions_of_points(points: gpd.GeoDataFrame, rows: np.ndarray, loc_region: np.ndarray,
                       regions: str | gpd.GeoDataFrame, region_id_col: str | None) -> np.ndarray:
    """Region of centres or hubs: their locality's where they are localities (``rows`` >= 0),
    else their own column value or the polygon holding them."""
    out = np.full(len(points), None, dtype=object)
    out[rows >= 0] = loc_region[rows[rows >= 0]]
    other = np.flatnonzero(rows < 0)
    if len(other):
        if isinstance(regions, str) and regions not in points:
            raise ColumnError(f"region column '{regions}' is missing from {len(other)} centres or hubs that are "
                              f"not localities; give it to them or use region polygons")
        out[other] = region_of(points.iloc[other], regions, region_id_col)
    return out


# ---------------------------------------------------------------------- steps of build_territories
@dataclass(frozen=True, eq=False)
class _Placement:
    """Localities, centres, employment centres and hubs snapped in one graph (point sets 0, 1, 2
    of :attr:`placed`)."""

    placed: PlacedPoints
    centre_ids: np.ndarray
    employment_ids: np.ndarray
    hub_ids: np.ndarray

    @property
    def centre_rows(self) -> np.ndarray:
        return self.placed.rows[0]

    @property
    def centre_nodes(self) -> np.ndarray:
        return self.placed.nodes[0]

    @property
    def employment_nodes(self) -> np.ndarray:
        return self.placed.nodes[1]

    @property
    def hub_rows(self) -> np.ndarray:
        return self.placed.rows[2]

    @property
    def snapped_centres(self) -> np.ndarray:
        """Whether each centre is within the snapping limit of a road."""
        return self.centre_nodes >= 0

    @property
    def origin_nodes(self) -> np.ndarray:
        """The nodes the assignment routes from: the localities, then the hubs."""
        return np.concatenate([self.placed.locality_nodes, self.placed.nodes[2]])


def _place(network: RoadNetwork, localities: gpd.GeoDataFrame, centres: gpd.GeoDataFrame, *,
           employment_centres: gpd.GeoDataFrame | None, hubs: gpd.GeoDataFrame | None, id_col: str | None,
           centre_id_col: str | None, options: RouteOptions) -> _Placement:
    """Snapping and centre placement: centres and hubs that are localities route from the
    locality's own point; employment centres are snapped on their own."""
    centre_ids = _centre_ids(centres, centre_id_col)
    has_hubs = hubs is not None and len(hubs) > 0
    hub_pts = hubs if hubs is not None and has_hubs else centres.iloc[:0]
    hub_ids = hub_ids_of(hub_pts) if has_hubs else np.empty(0, dtype=object)
    emp_pts = employment_centres if employment_centres is not None else centres.iloc[:0]
    placed = place_points(network, localities, [(centres, centre_ids), (emp_pts, None), (hub_pts, hub_ids)],
                          options=options, id_col=id_col)
    out = _Placement(placed=placed, centre_ids=centre_ids, employment_ids=ids_of(emp_pts).to_numpy(),
                     hub_ids=hub_ids)
    if not out.snapped_centres.any():
        raise RoutingError(f"none of the {len(centres)} centres is within {options.max_snap_m:g} m of a road")
    return out


@dataclass(frozen=True, eq=False)
class _RegionLabels:
    """Region of every locality, centre and hub (None where a point has no region)."""

    locality: np.ndarray
    centre: np.ndarray
    hub: np.ndarray

    @property
    def origin(self) -> np.ndarray:
        """Regions of the assignment's origins: the localities, then the hubs."""
        return np.concatenate([self.locality, self.hub])


def _label_regions(localities: gpd.GeoDataFrame, centres: gpd.GeoDataFrame, hubs: gpd.GeoDataFrame | None,
                   place: _Placement, regions: str | gpd.GeoDataFrame, region_id_col: str | None) -> _RegionLabels:
    loc_region = region_of(localities, regions, region_id_col)
    c_region = _regions_of_points(centres, place.centre_rows, loc_region, regions, region_id_col)
    h_region = (_regions_of_points(hubs, place.hub_rows, loc_region, regions, region_id_col)
                if hubs is not None and len(place.hub_rows) else np.empty(0, dtype=object))
    return _RegionLabels(locality=loc_region, centre=c_region, hub=h_region)


@dataclass(frozen=True, eq=False)
class _Nearest:
    """Per origin (localities, then hubs): seconds to the fastest centre (inf when none) and
    that centre's position among the snapped centres (-1 when none)."""

    time_s: np.ndarray
    which: np.ndarray

    def territory(self, part: slice, centre_ids: np.ndarray, limit: float | None) -> tuple[np.ndarray, np.ndarray]:
        """Territory id (None beyond ``limit`` minutes or unreachable) and whether assigned."""
        t, w = self.time_s[part], self.which[part]
        tid = np.full(len(t), None, dtype=object)
        ok = (w >= 0) & (t <= (limit * 60.0 if limit is not None else np.inf))
        tid[ok] = centre_ids[w[ok]]
        return tid, ok


def _assign(place: _Placement, labels: _RegionLabels | None, within_region: bool) -> _Nearest:
    """The assignment: one pass from all snapped centres, or with ``within_region`` one pass
    per region from its centres for its localities and hubs."""
    graph = place.placed.graph
    origins = place.origin_nodes
    valid = place.snapped_centres
    c_nodes = place.centre_nodes
    if not (within_region and labels is not None):
        t_s, which, _ = graph.nearest(c_nodes[valid], origins)
        return _Nearest(time_s=t_s, which=which)
    t_s = np.full(len(origins), np.inf)
    which = np.full(len(origins), -1, dtype=np.int64)
    valid_pos = np.flatnonzero(valid)
    c_key = pd.Series(labels.centre[valid]).astype(object)
    f_key = pd.Series(labels.origin).astype(object)
    for r in pd.unique(c_key.dropna()):
        sub = np.flatnonzero((c_key == r).to_numpy())
        rows = np.flatnonzero((f_key == r).to_numpy())
        if len(rows):
            t_r, w_r, _ = graph.nearest(c_nodes[valid_pos[sub]], origins[rows])
            t_s[rows] = t_r
            which[rows] = np.where(w_r >= 0, sub[np.maximum(w_r, 0)], -1)
    return _Nearest(time_s=t_s, which=which)


def _status(place: _Placement, near: _Nearest, assigned: np.ndarray, labels: _RegionLabels | None,
            within_region: bool) -> np.ndarray:
    """``territory_status`` of every locality."""
    n = len(assigned)
    which = near.which[:n]
    snapped = place.placed.locality_snapped
    status = np.full(n, STATUS_ASSIGNED, dtype=object)
    status[(which >= 0) & ~assigned] = STATUS_BEYOND_LIMIT
    status[snapped & (which < 0)] = REASON_DISCONNECTED
    if within_region and labels is not None:
        has_centre = pd.Series(labels.locality).isin(pd.Series(labels.centre[place.snapped_centres]).dropna())
        status[snapped & (which < 0) & ~has_centre.to_numpy()] = STATUS_NO_CENTRE_IN_REGION
        status[snapped & pd.isna(labels.locality)] = STATUS_NO_REGION
    status[~snapped] = REASON_TOO_FAR
    return status


def _region_columns(out: gpd.GeoDataFrame, labels: _RegionLabels, place: _Placement, near: _Nearest,
                    assigned: np.ndarray) -> None:
    """``region_id``, ``territory_region_id`` and ``territory_crosses_region`` (in place)."""
    n = len(out)
    centre_region = labels.centre[place.snapped_centres]
    t_region = np.full(n, None, dtype=object)
    t_region[assigned] = centre_region[near.which[:n][assigned]]
    out[REGION_ID] = pd.Series(labels.locality, index=out.index, dtype=object)
    out[TERRITORY_REGION_ID] = pd.Series(t_region, index=out.index, dtype=object)
    differs = pd.Series(labels.locality).astype(str).to_numpy() != pd.Series(t_region).astype(str).to_numpy()
    out[TERRITORY_CROSSES_REGION] = pd.array(np.where(assigned, differs, pd.NA), dtype="boolean")


def _employment_link(out: gpd.GeoDataFrame, place: _Placement, territory_ids: np.ndarray, limit_min: float,
                     max_snap_m: float) -> None:
    """Each centre's time to its nearest employment centre, and whether within ``limit_min``,
    as columns of the localities of its territory (in place)."""
    e_nodes = place.employment_nodes
    ev = e_nodes >= 0
    if not ev.any():
        raise RoutingError(f"none of the {len(e_nodes)} employment centres is within {max_snap_m:g} m of a road")
    te, we, _ = place.placed.graph.nearest(e_nodes[ev], place.centre_nodes)
    c_emp_id = np.full(len(place.centre_ids), None, dtype=object)
    c_emp_id[we >= 0] = place.employment_ids[ev][we[we >= 0]]
    c_emp_t = np.where(we >= 0, te / 60.0, np.nan)
    by_id = pd.DataFrame({"emp": c_emp_id, "t": c_emp_t}, index=pd.Index(place.centre_ids).astype(str))
    by_id = by_id[~by_id.index.duplicated()]
    key = pd.Series(territory_ids).astype(str).where(pd.notna(territory_ids), None)
    looked = by_id.reindex(key.to_numpy())
    out[CENTRE_EMPLOYMENT_ID] = looked["emp"].to_numpy()
    out[CENTRE_EMPLOYMENT_TIME_MIN] = looked["t"].to_numpy(dtype=float)
    linked = looked["t"].to_numpy(dtype=float) <= limit_min
    out[CENTRE_LINKED] = pd.array(np.where(pd.notna(territory_ids), linked, pd.NA), dtype="boolean")


def _hub_nesting(out: gpd.GeoDataFrame, place: _Placement, near: _Nearest, centre_ids: np.ndarray,
                 limit: float | None) -> None:
    """``hub_territory_id``: the territory of each locality's hub (in place)."""
    if HUB_ID not in out:
        log.warning("hubs given but the localities have no hub_id column; run assign_hinterlands first")
        return
    hub_tid, _ = near.territory(slice(len(out), None), centre_ids, limit)
    m = pd.Series(hub_tid, index=pd.Index(place.hub_ids).astype(str))
    m = m[~m.index.duplicated()]
    hk = out[HUB_ID].astype(str).where(out[HUB_ID].notna(), None)
    out[HUB_TERRITORY_ID] = m.reindex(hk.to_numpy()).to_numpy()


def _check_inputs(localities: gpd.GeoDataFrame, centres: gpd.GeoDataFrame | None, *, max_time_min: float | None,
                  employment_centres: gpd.GeoDataFrame | None, employment_limit_min: float,
                  regions: Any, within_region: bool) -> tuple[float | None, float]:
    """The territory and employment limits, after the checks that need no routing."""
    limit = None if max_time_min is None else check_max_time(max_time_min, "territory time limit")
    if len(localities) == 0:
        raise RoutingError("no localities to build territories from")
    if centres is None or len(centres) == 0:
        raise ConfigError("no centres given: the centre tier has no place")
    emp_limit = check_max_time(employment_limit_min, "employment time limit")
    if within_region and regions is None:
        raise ConfigError("within_region needs regions (a column of the localities or region polygons)")
    if employment_centres is not None and len(employment_centres) == 0:
        raise ConfigError("the employment centre tier has no place")
    return limit, emp_limit


def build_territories(network: RoadNetwork, localities: gpd.GeoDataFrame, centres: gpd.GeoDataFrame, *,
                      max_time_min: float | None = None,
                      employment_centres: gpd.GeoDataFrame | None = None,
                      employment_limit_min: float = DEFAULT_EMPLOYMENT_LIMIT_MIN,
                      hubs: gpd.GeoDataFrame | None = None, id_col: str | None = None,
                      centre_id_col: str | None = None, options: RouteOptions | None = None,
                      regions: str | gpd.GeoDataFrame | None = None,
                      region_id_col: str | None = None, within_region: bool = False) -> gpd.GeoDataFrame:
    """Assign localities to the territory of the centre they reach fastest.

    Parameters
    ----------
    localities
        Points with an id and ``population`` (and ``area_class``, ``hub_id`` when available).
    centres
        Centre points (``dest_id``/``place_id``/``id`` or ``centre_id_col``), e.g. the
        ``intermediate_city`` tier of :func:`territorial_gis.places.load_tiers`. Centres that are
        also localities (same id and location) route from the locality's own point.
    max_time_min
        Limit: localities farther than this from every centre get no territory
        (``territory_status`` ``no_centre_within_limit``). None: no limit.
    employment_centres
        When given, each centre's time to its nearest employment centre decides whether the
        territory is linked to a dynamic market (within ``employment_limit_min``).
    hubs
        Hubs with ``hub_id``; when the localities have a ``hub_id`` column, each locality also
        gets ``hub_territory_id``, the territory of its hub (the nesting locality -> hub -> centre).
    regions
        The larger level territories sit in: a column of ``localities`` (``state_code``,
        ``municipality_code`` of the INEGI catalogue, ...) or region polygons (any CRS, ids in
        ``region_id`` or ``region_id_col``). Centres take the region of their locality, or of
        the polygon holding them.
    within_region
        Localities may only join a centre of their own region (one pass per region); those
        whose region has no reachable centre get ``no_centre_in_region``, those in no region
        ``no_region``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``localities`` plus ``territory_id`` (centre id, None beyond the limit or unreachable),
        ``travel_time_centre_min`` (time to the fastest centre, also beyond the limit; NaN when
        unreachable), ``territory_status`` (``assigned``, ``no_centre_within_limit``,
        ``too_far_from_road``, ``disconnected``); with employment centres
        ``centre_employment_id``, ``centre_travel_time_employment_min``,
        ``centre_linked_to_dynamic_market``; with hubs ``hub_territory_id``; with regions
        ``region_id``, ``territory_region_id`` (the region of the territory's centre) and
        ``territory_crosses_region`` (the locality lies in another region than its territory).
    """
    limit, emp_limit = _check_inputs(localities, centres, max_time_min=max_time_min,
                                     employment_centres=employment_centres,
                                     employment_limit_min=employment_limit_min, regions=regions,
                                     within_region=within_region)
    opts = options_or_default(options)
    place = _place(network, localities, centres, employment_centres=employment_centres, hubs=hubs, id_col=id_col,
                   centre_id_col=centre_id_col, options=opts)
    labels = None if regions is None else _label_regions(localities, centres, hubs, place, regions, region_id_col)
    near = _assign(place, labels, within_region)
    n = len(localities)
    ids_valid = place.centre_ids[place.snapped_centres]
    tid, assigned = near.territory(slice(0, n), ids_valid, limit)
    status = _status(place, near, assigned, labels, within_region)
    out = localities.copy()
    out[TERRITORY_ID] = tid
    out[CENTRE_TIME_MIN] = np.where(near.which[:n] >= 0, near.time_s[:n] / 60.0, np.nan)
    out[TERRITORY_STATUS] = status
    if labels is not None:
        _region_columns(out, labels, place, near, assigned)
    if employment_centres is not None:
        _employment_link(out, place, tid, emp_limit, opts.max_snap_m)
    if len(place.hub_rows):
        _hub_nesting(out, place, near, ids_valid, limit)
    log.info("territories: %d centres; %d localities assigned, %d beyond the limit, %d unreachable",
             int(place.snapped_centres.sum()), int(assigned.sum()), int((status == STATUS_BEYOND_LIMIT).sum()),
             int(np.isin(status, [REASON_TOO_FAR, REASON_DISCONNECTED]).sum()))
    return out


# ---------------------------------------------------------------------- summaries and polygons
def _band_names(bands: Sequence[float]) -> list[tuple[str, float, float]]:
    edges = [0.0, *sorted(float(b) for b in bands), np.inf]
    out = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        label = f"population_{lo:g}_{hi:g}_min" if np.isfinite(hi) else f"population_{lo:g}_plus_min"
        out.append((label, lo, hi))
    return out


def _with_centres(summary: pd.DataFrame, centres: pd.DataFrame, centre_id_col: str | None) -> pd.DataFrame:
    """``centre_name`` and ``centre_population`` of each territory's centre, after its id."""
    cid = pd.Index(_centre_ids(centres, centre_id_col)).astype(str)
    names = pd.Series(centres[NAME].to_numpy() if NAME in centres else None, index=cid)
    cpop = pd.Series(known_population(centres, POPULATION), index=cid)
    names, cpop = names[~names.index.duplicated()], cpop[~cpop.index.duplicated()]
    k = summary[TERRITORY_ID].astype(str).to_numpy()
    summary.insert(1, "centre_name", names.reindex(k).to_numpy())
    summary.insert(2, "centre_population", cpop.reindex(k).to_numpy(dtype=float))
    return summary


def _beyond_row(df: pd.DataFrame, beyond: np.ndarray, pop: np.ndarray, t: np.ndarray,
                class_col: str) -> dict[str, Any]:
    """The summary row of the localities beyond the limit (``territory_id`` None)."""
    known = bool(np.isfinite(pop[beyond]).any())

    def total(sel: np.ndarray) -> float:
        return float(np.nansum(pop[sel])) if known else np.nan

    row: dict[str, Any] = {TERRITORY_ID: None, POPULATION: total(beyond),
                           "n_localities": int(beyond.sum()), "median_time_centre_min": float(np.median(t[beyond]))}
    if class_col in df:
        cls_all = df[class_col].astype(str).str.upper().to_numpy()
        row["population_mra"] = total(beyond & (cls_all == "MRA"))
        row["population_fra"] = total(beyond & (cls_all == "FRA"))
    return row


def summarize_territories(localities_territories: pd.DataFrame, centres: pd.DataFrame | None = None, *,
                          bands_min: Sequence[float] = DEFAULT_BANDS_MIN, population_col: str = POPULATION,
                          class_col: str = AREA_CLASS, centre_id_col: str | None = None) -> pd.DataFrame:
    """One row per territory.

    Returns
    -------
    pandas.DataFrame
        ``territory_id``, ``centre_name``, ``centre_population`` (from ``centres``),
        ``population``, ``n_localities``, ``median_time_centre_min``,
        ``mean_time_centre_weighted_min`` (population-weighted), ``population_mra`` /
        ``population_fra`` (when ``class_col`` exists), ``population_<a>_<b>_min`` per travel-time
        band (``bands_min`` edges) and, when the localities carry them,
        ``centre_travel_time_employment_min`` and ``linked_to_dynamic_market``, ``region_id`` (the
        centre's region) and ``n_localities_other_region``. A final row with
        ``territory_id`` None gathers the localities beyond the limit (``no_centre_within_limit``).
        Population figures sum the known populations; they are NaN (unknown, never 0) for a
        territory none of whose localities has a known population.
    """
    df = localities_territories
    for c in (TERRITORY_ID, CENTRE_TIME_MIN):
        if c not in df:
            raise ColumnError(f"column '{c}' not found; run build_territories first")
    known = known_population(df, population_col)  # NaN where unknown: a territory of unknown population is NaN
    pop = np.nan_to_num(known, nan=0.0)
    t = df[CENTRE_TIME_MIN].to_numpy(dtype=float)
    key = df[TERRITORY_ID].to_numpy()
    has = pd.notna(key)
    work = pd.DataFrame({TERRITORY_ID: key[has], "_pop": pop[has], "_t": t[has], "_pt": pop[has] * t[has],
                         "_known": np.isfinite(known[has])})
    for label, lo, hi in _band_names(bands_min):
        work[label] = np.where((t[has] >= lo) & (t[has] < hi), pop[has], 0.0)
    if class_col in df:
        cls = df[class_col].astype(str).str.upper().to_numpy()[has]
        work["population_mra"] = np.where(cls == "MRA", pop[has], 0.0)
        work["population_fra"] = np.where(cls == "FRA", pop[has], 0.0)
    g = work.groupby(TERRITORY_ID, sort=True)
    summ = pd.DataFrame({POPULATION: g["_pop"].sum(), "n_localities": g.size(),
                         "median_time_centre_min": g["_t"].median()})
    summ["mean_time_centre_weighted_min"] = (g["_pt"].sum() / summ[POPULATION].replace(0.0, np.nan))
    for c in [c for c in work.columns if c.startswith("population_")]:
        summ[c] = g[c].sum()
    unknown = g["_known"].sum() == 0  # no locality of the territory has a known population
    summ.loc[unknown, [c for c in summ.columns if c == POPULATION or c.startswith("population_")]] = np.nan
    if TERRITORY_REGION_ID in df:
        reg = pd.DataFrame({TERRITORY_ID: key[has], "r": df[TERRITORY_REGION_ID].to_numpy(dtype=object)[has]})
        summ[REGION_ID] = reg.groupby(TERRITORY_ID, sort=True)["r"].first()
    if TERRITORY_CROSSES_REGION in df:
        crossing = df[TERRITORY_CROSSES_REGION].fillna(False).to_numpy(dtype=bool)[has]
        summ["n_localities_other_region"] = pd.Series(crossing.astype(np.int64)).groupby(key[has]).sum()
    if CENTRE_LINKED in df:
        first = df.loc[has, [TERRITORY_ID, CENTRE_EMPLOYMENT_TIME_MIN, CENTRE_LINKED]].groupby(
            TERRITORY_ID, sort=True).first()
        summ[CENTRE_EMPLOYMENT_TIME_MIN] = first[CENTRE_EMPLOYMENT_TIME_MIN]
        summ[LINKED] = first[CENTRE_LINKED].astype("boolean")
    summ.index.name = TERRITORY_ID
    out = summ.reset_index()
    if centres is not None and len(centres):
        out = _with_centres(out, centres, centre_id_col)
    beyond = ((~has) & (df[TERRITORY_STATUS].to_numpy() == STATUS_BEYOND_LIMIT) if TERRITORY_STATUS in df
              else np.zeros(len(df), dtype=bool))
    if beyond.any():
        out = pd.concat([out, pd.DataFrame([_beyond_row(df, beyond, known, t, class_col)])], ignore_index=True)
    return out


def territory_polygons(localities_territories: gpd.GeoDataFrame, centres: pd.DataFrame | None = None, *,
                       study_area: Any = None, bands_min: Sequence[float] = DEFAULT_BANDS_MIN,
                       population_col: str = POPULATION, class_col: str = AREA_CLASS) -> gpd.GeoDataFrame:
    """Territory polygons (locality Voronoi cells dissolved per centre, clipped to the study area)
    joined to :func:`summarize_territories`; ``area_km2`` from the metric CRS."""
    polys = zone_polygons(localities_territories, by=TERRITORY_ID, study_area=study_area,
                          population_col=population_col)
    summ = summarize_territories(localities_territories, centres, bands_min=bands_min,
                                 population_col=population_col, class_col=class_col)
    summ = summ[summ[TERRITORY_ID].notna()]
    polys[TERRITORY_ID] = polys[TERRITORY_ID].astype(str)
    summ = summ.assign(**{TERRITORY_ID: summ[TERRITORY_ID].astype(str)})
    merged = polys[[TERRITORY_ID, AREA_KM2, "geometry"]].merge(summ, on=TERRITORY_ID, how="left")
    cols = [c for c in merged.columns if c != "geometry"] + ["geometry"]
    return merged[cols]
