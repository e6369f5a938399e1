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

* :func:`build_territories` - per-locality assignment.
* :func:`summarize_territories` - one row per territory (population, area, times, classes, bands).
* :func:`territory_polygons` - territory polygons (locality Voronoi cells dissolved per centre)
  joined to the summary.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._routing import RouteOptions, ids_of, lonlat_of, options_or_default, snap_localities
from .columns import REASON_DISCONNECTED, REASON_TOO_FAR
from .errors import ColumnError, ConfigError, CRSError, RoutingError
from .hubs import check_max_time, hinterland_polygons, locality_rows, population_of

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


def _centre_ids(centres: pd.DataFrame, id_col: str | None) -> np.ndarray:
    if id_col is None and "hub_id" in centres and not any(c in centres for c in ("dest_id", "place_id")):
        id_col = "hub_id"
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
    rid_col = region_id_col or ("region_id" if "region_id" in regions else None)
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


def build_territories(network: RoadNetwork, localities: gpd.GeoDataFrame, centres: gpd.GeoDataFrame,
                      max_time_min: float | None = None, *,
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
    centre_ids = _centre_ids(centres, centre_id_col)
    c_rows = locality_rows(localities, centres, centre_ids, id_col)
    hub_rows = np.empty(0, dtype=np.int64)
    hub_ids = np.empty(0, dtype=object)
    if hubs is not None and len(hubs):
        hub_ids = (hubs["hub_id"] if "hub_id" in hubs else ids_of(hubs)).to_numpy()
        hub_rows = locality_rows(localities, hubs, hub_ids, id_col)
    extra: list[Any] = [centres.iloc[np.flatnonzero(c_rows < 0)]]
    if employment_centres is not None:
        extra.append(employment_centres)
    extra.append(hubs.iloc[np.flatnonzero(hub_rows < 0)] if hubs is not None and len(hub_rows)
                 else centres.iloc[:0])
    opts = options_or_default(options)
    graph = snap_localities(network, localities, extra, options=opts)
    loc_nodes = graph.offroad_node[graph.group(0)]
    c_nodes = np.empty(len(centres), dtype=np.int64)
    c_nodes[c_rows >= 0] = loc_nodes[c_rows[c_rows >= 0]]
    c_nodes[c_rows < 0] = graph.offroad_node[graph.group(1)]
    h_nodes = np.empty(len(hub_rows), dtype=np.int64)
    if len(hub_rows):
        h_nodes[hub_rows >= 0] = loc_nodes[hub_rows[hub_rows >= 0]]
        h_nodes[hub_rows < 0] = graph.offroad_node[graph.group(len(extra))]
    valid_c = c_nodes >= 0
    if not valid_c.any():
        raise RoutingError(f"none of the {len(centres)} centres is within {opts.max_snap_m:g} m of a road")
    from_nodes = np.concatenate([loc_nodes, h_nodes])
    n = len(localities)
    loc_region = c_region = from_region = None
    if regions is not None:
        loc_region = region_of(localities, regions, region_id_col)
        c_region = _regions_of_points(centres, c_rows, loc_region, regions, region_id_col)
        h_region = (_regions_of_points(hubs, hub_rows, loc_region, regions, region_id_col) if len(hub_rows)
                    else np.empty(0, dtype=object))
        from_region = np.concatenate([loc_region, h_region])
    ids_valid = centre_ids[valid_c]
    if within_region and from_region is not None and c_region is not None:
        # one pass per region, from its centres, for its localities and hubs
        t_s = np.full(len(from_nodes), np.inf)
        which = np.full(len(from_nodes), -1, dtype=np.int64)
        valid_pos = np.flatnonzero(valid_c)
        c_key = pd.Series(c_region[valid_c]).astype(object)
        f_key = pd.Series(from_region).astype(object)
        for r in pd.unique(c_key.dropna()):
            sub = np.flatnonzero((c_key == r).to_numpy())
            rows = np.flatnonzero((f_key == r).to_numpy())
            if len(rows):
                t_r, w_r, _ = graph.nearest(c_nodes[valid_pos[sub]], from_nodes[rows])
                t_s[rows] = t_r
                which[rows] = np.where(w_r >= 0, sub[np.maximum(w_r, 0)], -1)
    else:
        # one pass from all centres: localities, hubs and nothing else
        t_s, which, _ = graph.nearest(c_nodes[valid_c], from_nodes)

    def territory(t: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tid = np.full(len(t), None, dtype=object)
        ok = (w >= 0) & (t <= (limit * 60.0 if limit is not None else np.inf))
        tid[ok] = ids_valid[w[ok]]
        return tid, ok

    tid, assigned = territory(t_s[:n], which[:n])
    snapped = graph.snaps.ok[graph.group(0)].astype(bool)
    status = np.full(n, STATUS_ASSIGNED, dtype=object)
    status[(which[:n] >= 0) & ~assigned] = STATUS_BEYOND_LIMIT
    status[snapped & (which[:n] < 0)] = REASON_DISCONNECTED
    if within_region and loc_region is not None and c_region is not None:
        has_centre = pd.Series(loc_region).isin(pd.Series(c_region[valid_c]).dropna()).to_numpy()
        status[snapped & (which[:n] < 0) & ~has_centre] = STATUS_NO_CENTRE_IN_REGION
        status[snapped & pd.isna(loc_region)] = STATUS_NO_REGION
    status[~snapped] = REASON_TOO_FAR
    out = localities.copy()
    out["territory_id"] = tid
    out["travel_time_centre_min"] = np.where(which[:n] >= 0, t_s[:n] / 60.0, np.nan)
    out["territory_status"] = status
    if loc_region is not None and c_region is not None:
        c_reg_valid = c_region[valid_c]
        t_region = np.full(n, None, dtype=object)
        t_region[assigned] = c_reg_valid[which[:n][assigned]]
        out["region_id"] = pd.Series(loc_region, index=out.index, dtype=object)
        out["territory_region_id"] = pd.Series(t_region, index=out.index, dtype=object)
        crosses = pd.array(np.where(assigned, pd.Series(loc_region).astype(str).to_numpy()
                                    != pd.Series(t_region).astype(str).to_numpy(), pd.NA), dtype="boolean")
        out["territory_crosses_region"] = crosses
    if employment_centres is not None:
        e_nodes = graph.offroad_node[graph.group(2)]
        e_ids = ids_of(employment_centres).to_numpy()
        ev = e_nodes >= 0
        if not ev.any():
            raise RoutingError(f"none of the {len(employment_centres)} employment centres is within "
                               f"{opts.max_snap_m:g} m of a road")
        te, we, _ = graph.nearest(e_nodes[ev], c_nodes)
        c_emp_id = np.full(len(centres), None, dtype=object)
        c_emp_id[we >= 0] = e_ids[ev][we[we >= 0]]
        c_emp_t = np.where(we >= 0, te / 60.0, np.nan)
        by_id = pd.DataFrame({"emp": c_emp_id, "t": c_emp_t}, index=pd.Index(centre_ids).astype(str))
        by_id = by_id[~by_id.index.duplicated()]
        key = pd.Series(tid).astype(str).where(pd.notna(tid), None)
        looked = by_id.reindex(key.to_numpy())
        out["centre_employment_id"] = looked["emp"].to_numpy()
        out["centre_travel_time_employment_min"] = looked["t"].to_numpy(dtype=float)
        linked = looked["t"].to_numpy(dtype=float) <= emp_limit
        out["centre_linked_to_dynamic_market"] = pd.array(
            np.where(pd.notna(tid), linked, pd.NA), dtype="boolean")
    if len(hub_rows):
        h_tid, _ = territory(t_s[n:], which[n:])
        if "hub_id" in out:
            m = pd.Series(h_tid, index=pd.Index(hub_ids).astype(str))
            m = m[~m.index.duplicated()]
            hk = out["hub_id"].astype(str).where(out["hub_id"].notna(), None)
            out["hub_territory_id"] = m.reindex(hk.to_numpy()).to_numpy()
        else:
            log.warning("hubs given but the localities have no hub_id column; run assign_hinterlands first")
    log.info("territories: %d centres; %d localities assigned, %d beyond the limit, %d unreachable",
             int(valid_c.sum()), int(assigned.sum()), int((status == STATUS_BEYOND_LIMIT).sum()),
             int(np.isin(status, [REASON_TOO_FAR, REASON_DISCONNECTED]).sum()))
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


def _band_names(bands: Sequence[float]) -> list[tuple[str, float, float]]:
    edges = [0.0, *sorted(float(b) for b in bands), np.inf]
    out = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        label = f"population_{lo:g}_{hi:g}_min" if np.isfinite(hi) else f"population_{lo:g}_plus_min"
        out.append((label, lo, hi))
    return out


def summarize_territories(localities_territories: pd.DataFrame, centres: pd.DataFrame | None = None, *,
                          bands_min: Sequence[float] = DEFAULT_BANDS_MIN, population_col: str = "population",
                          class_col: str = "area_class", centre_id_col: str | None = None) -> pd.DataFrame:
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
    """
    df = localities_territories
    for c in ("territory_id", "travel_time_centre_min"):
        if c not in df:
            raise ColumnError(f"column '{c}' not found; run build_territories first")
    pop = population_of(df, population_col)
    t = df["travel_time_centre_min"].to_numpy(dtype=float)
    key = df["territory_id"].to_numpy()
    has = pd.notna(key)
    work = pd.DataFrame({"territory_id": key[has], "_pop": pop[has], "_t": t[has],
                         "_pt": pop[has] * t[has]})
    for label, lo, hi in _band_names(bands_min):
        work[label] = np.where((t[has] >= lo) & (t[has] < hi), pop[has], 0.0)
    has_class = class_col in df
    if has_class:
        cls = df[class_col].astype(str).str.upper().to_numpy()[has]
        work["population_mra"] = np.where(cls == "MRA", pop[has], 0.0)
        work["population_fra"] = np.where(cls == "FRA", pop[has], 0.0)
    g = work.groupby("territory_id", sort=True)
    summ = pd.DataFrame({"population": g["_pop"].sum(), "n_localities": g.size(),
                         "median_time_centre_min": g["_t"].median()})
    summ["mean_time_centre_weighted_min"] = (g["_pt"].sum() / summ["population"].replace(0.0, np.nan))
    for c in [c for c in work.columns if c.startswith("population_")]:
        summ[c] = g[c].sum()
    if "territory_region_id" in df:
        reg = pd.DataFrame({"territory_id": key[has], "r": df["territory_region_id"].to_numpy(dtype=object)[has]})
        summ["region_id"] = reg.groupby("territory_id", sort=True)["r"].first()
    if "territory_crosses_region" in df:
        crossing = df["territory_crosses_region"].fillna(False).to_numpy(dtype=bool)[has]
        summ["n_localities_other_region"] = pd.Series(crossing.astype(np.int64)).groupby(key[has]).sum()
    if "centre_linked_to_dynamic_market" in df:
        sub = df.loc[has, ["territory_id", "centre_travel_time_employment_min", "centre_linked_to_dynamic_market"]]
        first = sub.groupby("territory_id", sort=True).first()
        summ["centre_travel_time_employment_min"] = first["centre_travel_time_employment_min"]
        summ["linked_to_dynamic_market"] = first["centre_linked_to_dynamic_market"].astype("boolean")
    summ.index.name = "territory_id"
    out = summ.reset_index()
    if centres is not None and len(centres):
        cid = pd.Index(_centre_ids(centres, centre_id_col)).astype(str)
        names = pd.Series(centres["name"].to_numpy() if "name" in centres else None, index=cid)
        cpop = pd.Series(population_of(centres, "population") if "population" in centres else np.nan, index=cid)
        names, cpop = names[~names.index.duplicated()], cpop[~cpop.index.duplicated()]
        k = out["territory_id"].astype(str).to_numpy()
        out.insert(1, "centre_name", names.reindex(k).to_numpy())
        out.insert(2, "centre_population", cpop.reindex(k).to_numpy(dtype=float))
    beyond = (~has) & (df["territory_status"].to_numpy() == STATUS_BEYOND_LIMIT) if "territory_status" in df \
        else np.zeros(len(df), dtype=bool)
    if beyond.any():
        row: dict[str, Any] = {"territory_id": None, "population": float(pop[beyond].sum()),
                               "n_localities": int(beyond.sum()),
                               "median_time_centre_min": float(np.median(t[beyond]))}
        if has_class:
            cls_all = df[class_col].astype(str).str.upper().to_numpy()
            row["population_mra"] = float(pop[beyond & (cls_all == "MRA")].sum())
            row["population_fra"] = float(pop[beyond & (cls_all == "FRA")].sum())
        out = pd.concat([out, pd.DataFrame([row])], ignore_index=True)
    return out


def territory_polygons(localities_territories: gpd.GeoDataFrame, centres: pd.DataFrame | None = None, *,
                       study_area: Any = None, bands_min: Sequence[float] = DEFAULT_BANDS_MIN,
                       population_col: str = "population", class_col: str = "area_class") -> gpd.GeoDataFrame:
    """Territory polygons (locality Voronoi cells dissolved per centre, clipped to the study area)
    joined to :func:`summarize_territories`; ``area_km2`` from the metric CRS."""
    polys = hinterland_polygons(localities_territories, study_area=study_area, by="territory_id",
                                population_col=population_col)
    summ = summarize_territories(localities_territories, centres, bands_min=bands_min,
                                 population_col=population_col, class_col=class_col)
    summ = summ[summ["territory_id"].notna()]
    polys["territory_id"] = polys["territory_id"].astype(str)
    summ = summ.assign(territory_id=summ["territory_id"].astype(str))
    merged = polys[["territory_id", "area_km2", "geometry"]].merge(summ, on="territory_id", how="left")
    cols = [c for c in merged.columns if c != "geometry"] + ["geometry"]
    return merged[cols]
