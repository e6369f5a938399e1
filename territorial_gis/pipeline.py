"""One-command studies: network -> access -> classify -> corridors -> hubs/territories -> map/report.

A study config (:class:`~territorial_gis.config.StudyConfig`, from a TOML file or a dict) is
checked in full first; :func:`run_study` then runs every stage and writes the outputs folder
described in ``docs/ARCHITECTURE.md`` (file names in :mod:`territorial_gis.outputs`). Outputs are
written into a staging folder and moved into place only when every stage succeeded, so a failed
run leaves no half-written files and names the stage that failed. Built networks are cached
(:mod:`territorial_gis._netcache`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import __version__, _netcache, columns, outputs, settings
from ._io import add_gpkg_layer, write_table
from ._progress import bar
from ._routing import RouteOptions
from .config import StudyConfig, load_study_config
from .errors import OutputExistsError, TerritorialGISError

if TYPE_CHECKING:
    import geopandas as gpd

    from ._typology import Typology
    from .changes import PeriodComparison
    from .classify import Classification
    from .config import IndicatorJoin, IndicatorsSection, PeriodsSection
    from .indicators import JoinReport
    from .network import RoadNetwork

log = logging.getLogger(__name__)


class StageError(TerritorialGISError):
    """A stage of a study failed; ``stage`` names it."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"stage '{stage}' failed: {message}")
        self.stage = stage


@dataclass
class StudyResult:
    """What :func:`run_study` produced."""

    outdir: Path
    files: dict[str, Path]
    summary: dict[str, Any]
    timings: dict[str, float]
    config: StudyConfig | None = None


def default_study_config() -> dict[str, Any]:
    """The embedded demonstration region (``data/porto_alegre/study.toml``) as resolved tables,
    a starting point for a study of one's own (``run_study(cfg)`` takes the dict back)."""
    return load_study_config(None).to_dict()


# ---------------------------------------------------------------------------- identity of a run
def input_hashes(cfg: StudyConfig) -> dict[str, str]:
    """SHA-256 of every input file of a config."""
    return {k: _netcache.hash_file(v) for k, v in cfg.input_files().items()}


def config_hash(cfg: StudyConfig) -> str:
    """A stable hash of the resolved config and the package version."""
    text = json.dumps({"config": cfg.to_dict(), "version": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def study_is_complete(outdir: str | os.PathLike[str], config: StudyConfig | Mapping[str, Any]) -> bool:
    """Whether ``outdir`` holds a finished study of this exact config and inputs."""
    cfg = load_study_config(config)
    try:
        meta = outputs.read_study_json(outdir)
    except TerritorialGISError:
        return False
    if not meta or meta.get("config_hash") != config_hash(cfg) or meta.get("input_hashes") != input_hashes(cfg):
        return False
    return all((Path(outdir) / f).is_file() for f in meta.get("files", []))


# ---------------------------------------------------------------------------- stage context
@dataclass
class _Ctx:
    cfg: StudyConfig
    stage_dir: Path
    cache_dir: Path | None
    files: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def route(self) -> RouteOptions:
        """The study's routing options (``[access] max_snap_m``, ``walk_kph``, ``offroad``; the
        surface of ``[surface]``, built once by the access stage and then reused; under a
        ``[network] scenario`` the walk is slowed and the rivers set by its season)."""
        if "route" in self.state:
            return self.state["route"]  # type: ignore[no-any-return]
        return study_route(self.cfg)

    def write(self, name: str, df: Any, layer: str | None = None) -> None:
        path = self.stage_dir / name
        if path.suffix == ".gpkg" and layer:
            add_gpkg_layer(df, path, layer)  # several layers go into one GeoPackage
        else:
            write_table(df, path, overwrite=True)
        self.files[name] = path

    def note(self, text: str) -> None:
        notes = self.info.setdefault("notes", [])
        if text not in notes:  # criticality and appraisal state the same method once
            notes.append(text)


def study_route(cfg: StudyConfig) -> RouteOptions:
    """The routing options of a study config: ``[access]`` and the inputs of ``[surface]``."""
    a = cfg.access
    surface = cfg.surface.inputs() if cfg.surface is not None and cfg.surface.enabled else None
    return RouteOptions.from_mapping({"max_snap_m": a.max_snap_m, "walk_kph": a.walk_kph, "offroad": a.offroad,
                                      "surface": surface})


def _given(**kw: Any) -> dict[str, Any]:
    """The keyword arguments that a config sets (None means: the library's default)."""
    return {k: v for k, v in kw.items() if v is not None}


# ---------------------------------------------------------------------------- network
def build_or_load_network(cfg: StudyConfig, cache_dir: Path | None) -> tuple[RoadNetwork, str]:
    """Build the study network, or load it from the cache; returns ``(network, "hit"|"miss"|"off")``."""
    key = _netcache.network_key(cfg.network)
    net = _netcache.load_cached(cache_dir, key)
    if net is not None:
        return net, "hit"
    net = _build_network(cfg)
    _netcache.store(cache_dir, key, net)
    return net, _netcache.describe_use(cache_dir, key, hit=False)


def _build_network(cfg: StudyConfig) -> RoadNetwork:
    from .network import build_network, network_from_bbox, network_from_place, network_from_polygon

    n = cfg.network
    mode = n.mode or settings.mode
    polygon = _read_polygon(n.polygon) if n.polygon else None
    if n.source:
        options = _given(layer=n.layer, schema=n.schema, crossings=n.crossings, snap_tolerance_m=n.snap_tolerance_m,
                         unmapped=n.unmapped, default_class=n.default_class, season=n.season,
                         largest_component=n.largest_component)
        return build_network(n.source, profile=n.profile, mode=mode, bbox=n.bbox, polygon=polygon, **options)
    if n.place:
        return network_from_place(n.place, profile=n.profile, mode=mode)
    if polygon is not None:
        return network_from_polygon(polygon, profile=n.profile, mode=mode)
    assert n.bbox is not None  # the config check requires source, place or bbox
    return network_from_bbox(n.bbox, profile=n.profile, mode=mode)


def _read_polygon(path: str) -> Any:
    import geopandas as gpd

    from .errors import CRSError

    gdf = gpd.read_file(path)
    if gdf.crs is None:
        raise CRSError(f"{path}: the clip polygon has no CRS")
    return gdf.to_crs(4326).union_all()


def _stage_network(ctx: _Ctx) -> None:
    net, cache = build_or_load_network(ctx.cfg, ctx.cache_dir)
    if ctx.cfg.network.scenario:
        from .scenarios import apply_scenario

        applied = apply_scenario(net, ctx.cfg.network.scenario)
        ctx.state["route"] = applied.route_options(ctx.route, net)
        for text in applied.notes:
            ctx.note(text)
        ctx.info["network_scenario"] = {"name": applied.scenario.name, "source": applied.scenario.source,
                                        "changes": applied.changes["change"].value_counts().to_dict()}
        net = applied.network
    ctx.state["network"] = net
    ctx.info["network_cache"] = cache
    ctx.info["network"] = net.describe()
    if ctx.cfg.outputs.network_gpkg:
        net.save(ctx.stage_dir / outputs.NETWORK, overwrite=True)
        ctx.files[outputs.NETWORK] = ctx.stage_dir / outputs.NETWORK


# ---------------------------------------------------------------------------- places
@dataclass
class StudyPlaces:
    """The localities of a study; ``areas`` are the polygons of a generated grid (else None)."""

    localities: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame | None = None
    note: str | None = None


def load_study_places(cfg: StudyConfig, network: RoadNetwork | None) -> StudyPlaces:
    """The study's localities: a hexagon grid over the network, a file or a catalogue (clipped to
    the network's bbox when ``clip_to_network``)."""
    from .places import load_localities

    loc = cfg.localities
    if loc.grid_hex_m is not None:
        if network is None:
            raise TerritorialGISError("a hexagon grid of localities needs the network")
        return _hex_grid_places(network, loc.grid_hex_m)
    places = load_localities(loc.load_spec())
    bbox = cfg.network.bbox
    if loc.clip_to_network and bbox is not None:
        w, s, e, n = bbox
        inside = places.geometry.x.between(w, e) & places.geometry.y.between(s, n)
        if not inside.any():
            raise TerritorialGISError(f"no locality lies inside the network bbox {list(bbox)}")
        log.info("localities: %d of %d inside the network bbox", int(inside.sum()), len(places))
        places = places[inside].reset_index(drop=True)
    return StudyPlaces(places)


def _hex_grid_places(network: RoadNetwork, size_m: float) -> StudyPlaces:
    import geopandas as gpd
    import shapely

    from .classify import make_hex_grid

    hull = shapely.convex_hull(shapely.multipoints(np.column_stack([network.node_lon, network.node_lat])))
    cells = make_hex_grid(gpd.GeoDataFrame(geometry=[hull], crs=4326), float(size_m))
    cells = cells[cells.intersects(hull)].reset_index(drop=True)
    pts = cells.geometry.to_crs(network.crs).centroid.to_crs(4326)
    ids = [f"hex_{i}" for i in range(len(cells))]
    loc = gpd.GeoDataFrame({columns.PLACE_ID: ids, columns.NAME: None, columns.POPULATION: np.nan}, geometry=pts.to_numpy(),
                           crs=4326)
    log.info("localities: %d hexagon cells of %.0f m over the network area (no population)", len(loc), size_m)
    note = (f"origins are a hexagon grid of {float(size_m):.0f} m cells without population: "
            "classification by access alone; density unknown")
    return StudyPlaces(loc, areas=cells.assign(place_id=ids), note=note)


def _stage_places(ctx: _Ctx) -> None:
    import geopandas as gpd

    from .places import load_tiers

    places = load_study_places(ctx.cfg, ctx.state["network"])
    tiers = load_tiers(ctx.cfg.tiers, places.localities)
    ctx.state["places"] = places
    ctx.state["tiers"] = tiers
    # the areas classified: a polygon file or cells named in [classify] areas, else the hexagons
    # of a generated grid, else the localities themselves (None)
    explicit = ctx.cfg.classify.areas not in ("localities", "points")
    ctx.state["areas"] = (study_areas(ctx.cfg, places.localities) if explicit or places.areas is None
                          else places.areas)
    if places.note:
        ctx.note(places.note)
    dests = pd.concat([t.assign(tier=name) for name, t in tiers.items()], ignore_index=True)
    ctx.state["destinations"] = gpd.GeoDataFrame(dests, geometry="geometry", crs=4326)


# ---------------------------------------------------------------------------- access and classes
def _stage_access(ctx: _Ctx) -> None:
    from .access import isochrones, population_within

    net, tiers = ctx.state["network"], ctx.state["tiers"]
    acc = ctx.cfg.access
    _build_study_surface(ctx)
    table, dests = _access_tables(net, ctx.state["places"].localities, ctx.state["destinations"], tiers, ctx.route)
    ctx.state["access"] = table
    ctx.write(outputs.DESTINATIONS, dests, layer="destinations")
    ctx.info["offroad"] = (table.attrs.get("offroad_method")
                           or {"method": columns.OFFROAD_STRAIGHT, "max_snap_m": ctx.route.max_snap_m,
                               "walk_kph": ctx.route.walk_speed(net)})
    if ctx.route.uses_surface:
        ctx.note(f"access: the part of every trip off the road was measured over the surface "
                 f"({ctx.info['offroad'].get('terrain')}); hubs, territories and isochrones route on the road "
                 f"network and reach it by a straight-line walk within {ctx.route.max_snap_m:g} m")
    if acc.population_within_min and table[columns.POPULATION].notna().any():
        ctx.write(outputs.POPULATION_WITHIN, population_within(table, thresholds_min=acc.population_within_min))
    if acc.isochrones_min:
        tier = acc.isochrone_tier or next(iter(tiers))
        polys = isochrones(net, tiers[tier], thresholds_min=acc.isochrones_min, bands=True, options=ctx.route)
        ctx.write(outputs.ISOCHRONES, polys.assign(tier=tier), layer="isochrones")


def _build_study_surface(ctx: _Ctx) -> None:
    """Build the study's surface once (when access or the surface stage needs it), covering the
    network, the localities, the destinations and the areas; later stages reuse it through
    ``ctx.route``."""
    from ._surface import SurfaceInputs, surface_for

    route = ctx.route
    wanted = route.uses_surface or (ctx.cfg.surface is not None and ctx.cfg.surface.enabled)
    if not wanted or not (route.surface is None or isinstance(route.surface, SurfaceInputs)):
        return
    inputs = route.surface if route.surface is not None else SurfaceInputs()
    areas = ctx.state.get("areas")
    if areas is not None and len(areas):
        w, s, e, n = (float(v) for v in areas.to_crs(4326).total_bounds)
        inputs = inputs.replace(bounds=(w, s, e, n))
    net = ctx.state["network"]
    surface = surface_for(net, ctx.state["places"].localities, ctx.state["tiers"], inputs,
                          walk_kph=route.walk_speed(net))
    ctx.state["route"] = route.replace(surface=surface)
    ctx.info["surface"] = surface.describe()


def _access_tables(network: RoadNetwork, localities: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame,
                   tiers: Mapping[str, gpd.GeoDataFrame], route: RouteOptions
                   ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Access of the localities, and of the destinations themselves (each town's time to the
    city...): over a surface in one search per tier, else in a second (cheap) pass."""
    import geopandas as gpd

    from .access import access_columns, travel_times_to_nearest
    from .errors import RoutingError

    def joined(base: gpd.GeoDataFrame, times: pd.DataFrame) -> gpd.GeoDataFrame:
        cols = [c for c in access_columns(tiers) if c in times]
        out = base.drop(columns=[c for c in cols if c in base]).join(times[cols].set_axis(base.index))
        return gpd.GeoDataFrame(out, geometry="geometry", crs=base.crs)

    if route.uses_surface:
        both = gpd.GeoDataFrame(pd.concat([localities, destinations], ignore_index=True), geometry="geometry",
                                crs=4326)
        t = travel_times_to_nearest(network, both, tiers, options=route)
        table = joined(localities, t.iloc[:len(localities)])
        table.attrs = dict(t.attrs)
        return table, joined(destinations, t.iloc[len(localities):])
    table = travel_times_to_nearest(network, localities, tiers, options=route)
    try:
        dest_t = travel_times_to_nearest(network, destinations, tiers, options=route)
    except RoutingError as exc:  # e.g. every destination beyond the snapping limit
        log.warning("destinations' own travel times not computed: %s", exc)
        return table, destinations
    return table, joined(destinations, dest_t)


def study_areas(cfg: StudyConfig, localities: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    """The polygons to classify: None (localities are the areas), H3 cells, a hex grid or a file."""
    import geopandas as gpd

    from ._cells import h3_cells_of
    from .classify import make_h3_cells, make_hex_grid
    from .errors import CRSError

    spec = cfg.classify.areas
    if spec in ("localities", "points"):
        return None
    if spec == "h3":  # the locality ids are H3 cells (e.g. IPEA's aopdata grid)
        return h3_cells_of(localities, columns.PLACE_ID)
    if spec.startswith("h3:"):
        return make_h3_cells(localities, resolution=int(spec[3:]))
    if spec.startswith("hex:"):
        return make_hex_grid(localities, float(spec[4:]))
    areas = gpd.read_file(spec)
    if areas.crs is None:
        raise CRSError(f"areas file {spec} has no CRS")
    return with_area_names(areas.to_crs(4326), cfg.classify.area_name_column, what=f"areas file {spec}")


def with_area_names(areas: gpd.GeoDataFrame, name_col: str | None = None, *, what: str = "areas"
                    ) -> gpd.GeoDataFrame:
    """The areas with ``name``, the name the outputs show them by (``areas.gpkg``, the map, the
    class reasons): the column ``name_col`` (``[classify] area_name_column``), else the first of
    :data:`~territorial_gis.columns.AREA_NAME_CANDIDATES` the areas have; unchanged when they have
    none (they are shown by their id). An area whose name is empty keeps an empty ``name``.

    Raises
    ------
    ColumnError
        ``name_col`` is not a column of the areas.
    """
    col = columns.area_name_column(areas.columns, name_col, what=what)
    if col is None or col == columns.NAME:
        return areas
    if columns.NAME in areas:
        log.info("areas: 'name' taken from column %r (the areas' own 'name' column is replaced)", col)
    out = areas.copy()
    out[columns.NAME] = out[col]
    return out


def _join_area_class(localities: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The localities with the class of the area holding them. Where an area holds several
    localities its reasons quote the area's values, not the locality's: they start with the
    phrase naming the area (``class of its area <name>, <n> localities``: its ``name``, see
    :func:`study_areas`, else its id)."""
    import geopandas as gpd

    from ._i18n import reason

    cols = [c for c in columns.CLASS_COLUMNS if c in areas]
    label = next((c for c in (columns.NAME, _area_id_column(areas)) if c and c in areas), None)
    keep = areas[[*cols, "geometry"]].copy()
    if columns.CLASS_REASONS in keep and label is not None and "n_localities" in areas:
        shared = pd.to_numeric(areas["n_localities"], errors="coerce") > 1
        prefix = [reason("of_area", area=a, n=int(n)) if s else None
                  for a, n, s in zip(areas[label].astype(str), areas["n_localities"].fillna(0), shared, strict=True)]
        keep[columns.CLASS_REASONS] = [f"{p}; {r}" if p and isinstance(r, str) else r
                                       for p, r in zip(prefix, keep[columns.CLASS_REASONS], strict=True)]
    joined = gpd.sjoin(localities, keep, how="left", predicate="within")
    return joined[~joined.index.duplicated(keep="first")].drop(columns=["index_right"])


def classify_study(cfg: StudyConfig, access: gpd.GeoDataFrame, areas: gpd.GeoDataFrame | None
                   ) -> tuple[Classification, gpd.GeoDataFrame]:
    """The study's MRA/FRA classes: ``(classification, localities with their class)``; the
    classified units (``classification.areas``) are the areas when the study has them, else
    the localities themselves."""
    from .classify import classify_areas

    ccfg = cfg.classify
    rasters = cfg.terrain.rasters or None
    if areas is None:
        classification = classify_areas(access, rules=ccfg.rules, tiers=ccfg.tiers, rasters=rasters)
        return classification, classification.areas
    classification = classify_areas(areas, rules=ccfg.rules, tiers=ccfg.tiers, localities=access, rasters=rasters)
    return classification, _join_area_class(access, classification.areas)


def _stage_surface(ctx: _Ctx) -> None:
    """``[surface]``: a travel-time raster per tier, statistics per area, land and population by band."""
    from ._surface import Surface
    from .surfaces import cog_tags, population_grid, surface_figures, write_surface_cog

    sc = ctx.cfg.surface
    if sc is None or not sc.enabled:
        return
    surface = ctx.route.surface
    assert isinstance(surface, Surface)  # built by the access stage
    loc = ctx.state["places"].localities
    pop = (population_grid(loc, surface.grid) if columns.POPULATION in loc and loc[columns.POPULATION].notna().any()
           else None)
    areas = ctx.state.get("areas")
    area_id = _area_id_column(areas)
    bands = sc.bands_min or ctx.cfg.access.population_within_min or None
    fig = surface_figures(surface, ctx.state["tiers"], areas=areas, area_id=area_id, population=pop,
                          bands_min=bands)
    for tier, minutes in fig.minutes.items():
        path = ctx.stage_dir / outputs.surface_file(tier)
        write_surface_cog(minutes, surface.grid, path, overwrite=True,
                          tags=cog_tags(surface, tier, len(ctx.state["tiers"][tier])))
        ctx.files[outputs.surface_file(tier)] = path
    ctx.write(outputs.SURFACE_BANDS, fig.bands)
    if fig.zonal is not None:
        ctx.write(outputs.SURFACE_ZONAL, _with_zone_names(fig.zonal, areas, area_id))
    if pop is None:
        ctx.note("surface: the localities carry no population, so the band figures give land, not people")
    ctx.info["surface"] = {**fig.description, "tiers": list(fig.minutes), "bands_min": list(bands or []),
                           "population": "from the localities' population, summed per cell" if pop is not None
                           else None, "area_id": area_id}


def _with_zone_names(zonal: pd.DataFrame, areas: gpd.GeoDataFrame | None, area_id: str | None) -> pd.DataFrame:
    """The per-area surface statistics with each area's ``name`` beside its id (when the areas
    have names, see :func:`with_area_names`)."""
    if areas is None or area_id is None or columns.NAME not in areas or columns.AREA_ID not in zonal \
            or columns.NAME in zonal:
        return zonal
    names = pd.Series(areas[columns.NAME].to_numpy(), index=areas[area_id].astype(str).to_numpy())
    names = names[~names.index.duplicated()]
    out = zonal.copy()
    out.insert(out.columns.get_loc(columns.AREA_ID) + 1, columns.NAME,
               names.reindex(out[columns.AREA_ID].astype(str).to_numpy()).to_numpy())
    return out


def _area_id_column(areas: gpd.GeoDataFrame | None) -> str | None:
    """The identifier column of the study's areas (``area_id``, a municipality code, ``place_id``)."""
    if areas is None:
        return None
    for c in (columns.AREA_ID, columns.MUNICIPALITY_CODE, columns.PLACE_ID, "id"):
        if c in areas:
            return c
    return None


def _stage_classify(ctx: _Ctx) -> None:
    table = ctx.state["access"]
    areas = ctx.state["areas"]
    classification, loc = classify_study(ctx.cfg, table, areas)
    if areas is not None:
        ctx.write(outputs.AREAS, classification.areas, layer="areas")
    for text in classification.notes:
        ctx.note(text)
    ctx.state["classification"] = classification
    ctx.state["classified"] = classification.areas
    ctx.state["localities_out"] = loc
    ctx.write(outputs.SENSITIVITY, classification.sensitivity())
    ctx.write(outputs.SUMMARY, classification.summary())


# ---------------------------------------------------------------------------- corridors, hubs, territories
def _stage_corridors(ctx: _Ctx) -> None:
    from .corridors import analyze_corridors

    c = ctx.cfg.corridors
    if not c.enabled:
        return
    tiers = ctx.state["tiers"]
    targets = c.targets or list(tiers)
    loc = ctx.state["localities_out"]
    if not (loc[columns.AREA_CLASS] == "MRA").any():
        log.info("no MRA locality: no corridor to suggest")
        ctx.info["corridors"] = "no MRA locality"
        return
    target_tiers = {t: tiers[t] for t in targets}
    origins, moved = _corridor_origins(ctx, loc, target_tiers)
    res = analyze_corridors(ctx.state["network"], origins, target_tiers,
                            **_given(upgrade_to=c.upgrade_to, top=c.top, n_candidates=c.n_candidates),
                            options=ctx.route)
    if moved is not None and len(res.corridors):
        res.corridors["starts_at"] = np.where(res.corridors["origin_id"].isin(moved), "road_entry", "locality")
    ctx.state["corridors"] = res
    # edge_rows (network row numbers of each path) serve this process only, as in `tgis corridors`
    written = res.corridors.drop(columns=["edge_rows"], errors="ignore")
    for layer, gdf in (("corridors", written), ("segments", res.segments), ("upgrades", res.upgrades)):
        if len(gdf):
            ctx.write(outputs.CORRIDORS, gdf, layer=layer)
    ctx.state["upgrades"] = res.upgrades
    ctx.write(outputs.UPGRADES, pd.DataFrame(res.upgrades.drop(columns=res.upgrades.geometry.name))
              if len(res.upgrades) else pd.DataFrame(columns=["rank"]))
    ctx.info["corridors"] = {"n": len(res.corridors), "stretches": len(res.segments),
                             "upgrades_ranked": len(res.upgrades)}


def _corridor_origins(ctx: _Ctx, loc: gpd.GeoDataFrame, targets: Mapping[str, gpd.GeoDataFrame]
                      ) -> tuple[gpd.GeoDataFrame, pd.Series | None]:
    """Where the corridors of MRA localities start. Corridors follow roads; when access came from
    the surface, a locality that reaches the road by walking or by boat starts its corridor at
    the point where that trip (to the nearest target) gets onto the road: the walk and boat legs
    before it are not drawn. Returns the localities (moved) and the ids of the moved ones."""
    import geopandas as gpd

    from ._surface import Surface
    from .columns import LOCALITY_ID_CANDIDATES

    surface = ctx.route.surface
    if not ctx.route.uses_surface or not isinstance(surface, Surface):
        return loc, None
    mra = np.flatnonzero((loc[columns.AREA_CLASS] == "MRA").to_numpy())
    dests = gpd.GeoDataFrame(pd.concat(list(targets.values()), ignore_index=True), geometry="geometry", crs=4326)
    r = surface.nearest(loc.iloc[mra], dests, entries=True)
    lon, lat = r["entry_lon"].to_numpy(), r["entry_lat"].to_numpy()
    geo = loc.geometry.to_crs(4326)
    x, y = geo.x.to_numpy()[mra], geo.y.to_numpy()[mra]
    move = np.isfinite(lon) & ((np.abs(lon - x) > 1e-9) | (np.abs(lat - y) > 1e-9))
    no_road = int((r["travel_time_min"].notna() & ~np.isfinite(lon)).sum())
    id_col = next((c for c in LOCALITY_ID_CANDIDATES if c in loc), None)
    ids = loc[id_col] if id_col is not None else pd.Series(loc.index, index=loc.index)
    out = loc.copy()
    geom = out.geometry.to_crs(4326).to_numpy().copy()
    geom[mra[move]] = gpd.points_from_xy(lon[move], lat[move])
    out = out.set_geometry(gpd.GeoSeries(geom, index=out.index, crs=4326))
    ctx.note(f"corridors: {int(move.sum())} of {len(mra)} MRA localities reach the road over the surface "
             "(on foot or by boat); their corridors start where that trip gets onto the road (starts_at = "
             "'road_entry'), the walk and boat legs before it are not drawn"
             + (f"; {no_road} reach their target without any road, and their corridors are the road "
                "alternative from the nearest road" if no_road else ""))
    return out, ids.iloc[mra[move]]


def _stage_hubs(ctx: _Ctx) -> None:
    from .hubs import assign_hinterlands, hinterland_polygons, select_hubs, summarize_hubs

    h = ctx.cfg.hubs
    if h is None or not h.enabled:
        return
    assert h.max_time_min is not None  # the config check requires it
    net, loc = ctx.state["network"], ctx.state["localities_out"]
    hubs = select_hubs(net, loc, h.max_time_min, **_given(model=h.model, k=h.k, method=h.method,
                                                          min_population=h.min_population), options=ctx.route).hubs
    assigned = assign_hinterlands(net, loc, hubs, options=ctx.route)
    summary = summarize_hubs(assigned, hubs)
    hubs_out = hubs.merge(summary, on=columns.HUB_ID, how="left", suffixes=("", "_summary")) \
        if columns.HUB_ID in hubs and columns.HUB_ID in summary else hubs
    ctx.state["hubs"] = hubs
    ctx.write(outputs.HUBS, hubs_out, layer="hubs")
    ctx.write(outputs.HUBS, hinterland_polygons(assigned), layer="hinterlands")
    for col in (columns.HUB_ID, columns.HUB_TIME_MIN):
        if col in assigned:
            loc[col] = assigned[col].to_numpy()
    ctx.info["hubs"] = {"n": len(hubs), "model": str(hubs["model"].iloc[0]) if "model" in hubs and len(hubs)
                        else h.model,
                        "method": str(hubs["method"].iloc[0]) if "method" in hubs and len(hubs) else None,
                        "optimal": bool(hubs["optimal"].iloc[0]) if "optimal" in hubs and len(hubs) else None}


def _stage_territories(ctx: _Ctx) -> None:
    from .territories import build_territories, regions_from, territory_polygons

    t = ctx.cfg.territories
    if t is None or not t.enabled:
        return
    tiers = ctx.state["tiers"]
    loc = ctx.state["localities_out"]
    centres = tiers[t.centres]
    if ctx.cfg.links is not None and ctx.cfg.links.enabled and ctx.cfg.links.engine_territories and "fra" in tiers:
        from .links import engine_centres

        centres = engine_centres(tiers, [t.centres, "fra"])  # every territory around an urban or favorable engine
    assigned = build_territories(
        ctx.state["network"], loc, centres, max_time_min=t.max_time_min,
        employment_centres=tiers[t.employment_tier] if t.employment_tier else None,
        hubs=ctx.state.get("hubs"), options=ctx.route,
        regions=regions_from(t.regions) if t.regions else None, region_id_col=t.region_id_column,
        within_region=t.within_region, **_given(employment_limit_min=t.employment_limit_min))
    polys = territory_polygons(assigned, centres)
    new_cols = [c for c in assigned.columns if c not in loc.columns]
    ctx.state["localities_out"] = assigned
    ctx.write(outputs.TERRITORIES, polys, layer="territories")
    ctx.info["territories"] = {"n": len(polys), "centres_tier": t.centres, "columns": new_cols,
                               "beyond_limit": int((assigned.get(columns.TERRITORY_STATUS) ==
                                                    "no_centre_within_limit").sum())}


def _stage_fra(ctx: _Ctx) -> None:
    """[links]: the favorable areas become the destination tier ``fra`` (before the corridors)."""
    from .links import fra_destinations

    lk = ctx.cfg.links
    if lk is None or not lk.enabled:
        return
    net, loc = ctx.state["network"], ctx.state["localities_out"]
    units = ctx.state["classified"] if ctx.state.get("areas") is not None else loc
    if not (units[columns.AREA_CLASS].astype(str) == "FRA").any():
        ctx.note("no favorable area (FRA): every zone is enclosed marginal; corridors have no FRA target")
        loc[columns.time_col(columns.FRA_TIER)] = np.nan
        ctx.info["fra"] = {"n": 0}
        return
    fra = fra_destinations(units, localities=loc, cluster_m=lk.cluster_m, network=net, options=ctx.route)
    ctx.state["tiers"][columns.FRA_TIER] = fra.destinations
    _add_tier_times(ctx, columns.FRA_TIER, fra.destinations)
    ctx.write(outputs.FRA, fra.areas, layer="fra_areas")
    ctx.write(outputs.FRA, fra.destinations, layer="fra_destinations")
    keep = [columns.DEST_ID, columns.NAME, columns.TIER, columns.POPULATION, "geometry"]
    ctx.write(outputs.DESTINATIONS, fra.destinations[keep], layer="destinations")  # appended: the map's tiers
    pop = fra.destinations["population"]
    ctx.info["fra"] = {"n": len(fra.destinations), "population": float(pop.sum()) if pop.notna().any() else None}


def _add_tier_times(ctx: _Ctx, tier: str, dests: gpd.GeoDataFrame) -> None:
    """Travel times of the localities to a tier added after the access stage."""
    from .access import travel_times_to_nearest

    loc, base = ctx.state["localities_out"], ctx.state["access"]
    acc = travel_times_to_nearest(ctx.state["network"], loc, {tier: dests}, options=ctx.route)
    for col in (columns.time_col(tier), columns.nearest_col(tier), columns.reason_col(tier)):
        if col in acc:  # the localities and the base access table (scenarios compare with it)
            loc[col] = acc[col].to_numpy()
            base[col] = acc[col].to_numpy()


def _stage_microregions(ctx: _Ctx) -> None:
    """[microregions]: eligible areas, microregions, CECs and their hinterlands, service gaps."""
    from .microregions import run_configured

    m = ctx.cfg.microregions
    if m is None or not m.enabled:
        return
    loc = ctx.state["localities_out"]
    res = run_configured(m, ctx.state["network"], loc, options=ctx.route)
    if res.localities is loc or m.localities is None:
        ctx.state["localities_out"] = res.localities
    else:  # the strategy ran on its own localities: the study's learn their area and microregion
        ctx.state["localities_out"] = res.label(loc, area_col=m.area_column, area_id_col=m.area_id_column)
        ctx.write(outputs.MICROREGIONS, res.localities, layer="localities")
    for layer, frame in res.layers().items():
        ctx.write(outputs.MICROREGIONS, frame, layer=layer)
    if res.gaps is not None:
        ctx.write(outputs.SERVICE_GAPS, res.gaps.table)
    for text in res.microregions.notes:
        ctx.note(text)
    ctx.info["microregions"] = res.as_dict()


def _stage_links(ctx: _Ctx) -> None:
    """[links]: every territory and microregion linked to a favorable area, or enclosed marginal."""
    from .links import DEFAULT_LIMIT_MIN, zone_links

    lk = ctx.cfg.links
    if lk is None or not lk.enabled:
        return
    loc = ctx.state["localities_out"]
    tables = []
    for kind, col in (("territory", columns.TERRITORY_ID), ("microregion", columns.MICROREGION_ID)):
        if col in loc and loc[col].notna().any():
            t = zone_links(loc, zone_col=col, employment_tier=lk.employment_tier, **_given(limit_min=lk.limit_min))
            tables.append(t.rename(columns={col: "zone_id"}).assign(zone_type=kind))
    if not tables:
        ctx.note("[links]: no territory or microregion to link")
        return
    links = pd.concat(tables, ignore_index=True)
    links = links[["zone_type", "zone_id", *[c for c in links.columns if c not in ("zone_type", "zone_id")]]]
    ctx.write(outputs.LINKS, links)
    enclosed = links[links[columns.LINK_STATUS] == "enclosed_marginal"]
    ctx.info["links"] = {"limit_min": lk.limit_min or DEFAULT_LIMIT_MIN, "zones": len(links),
                         "enclosed_marginal": len(enclosed),
                         "enclosed": [f"{r.zone_type} {r.zone_id}" for r in enclosed.itertuples()]}


# ---------------------------------------------------------------------------- scenarios and the RAI
def _stage_scenarios(ctx: _Ctx) -> None:
    """Each scenario of ``[scenarios] run`` against the base: access, classes, what changed."""
    from .access import travel_times_to_nearest
    from .scenarios import (
        apply_scenario,
        compare_access,
        compare_classes,
        cut_off_label,
        summarize_comparison,
    )

    runs = ctx.cfg.scenarios.run
    if not runs:
        return
    net, tiers, base = ctx.state["network"], ctx.state["tiers"], ctx.state["access"]
    loc_base = ctx.state["localities_out"]
    summaries, transitions, done = [], [], {}
    for spec in runs:
        applied = apply_scenario(net, spec, stretches=_ranked_stretches(ctx))
        sc = applied.scenario
        table = travel_times_to_nearest(applied.network, ctx.state["places"].localities, tiers,
                                        options=applied.route_options(ctx.route, net))
        _classification, loc_s = classify_study(ctx.cfg, table, ctx.state.get("areas"))
        label = cut_off_label(sc)
        change = compare_access(base, table, list(tiers), cut_off_reason=label)
        per, trans = compare_classes(loc_base, loc_s)
        keep = [c for c in (columns.PLACE_ID, columns.NAME, columns.POPULATION) if c in loc_base]
        layer = loc_base[[*keep, "geometry"]].join(change).join(per)
        ctx.write(outputs.scenario_file(sc.name), layer, layer="localities")
        if len(applied.changes):
            ctx.write(outputs.scenario_file(sc.name), applied.changes, layer="roads")
        summaries.append(summarize_comparison(change, list(tiers), population=loc_base.get(columns.POPULATION),
                                              cut_off_reason=label).assign(scenario=sc.name))
        transitions.append(trans.assign(scenario=sc.name))
        done[sc.name] = applied
        for text in applied.notes:
            ctx.note(f"scenario {sc.name}: {text}")
    ctx.state["scenarios"] = done
    ctx.write(outputs.SCENARIOS, _scenario_first(pd.concat(summaries, ignore_index=True)))
    ctx.write(outputs.SCENARIO_CLASSES, _scenario_first(pd.concat(transitions, ignore_index=True)))
    ctx.info["scenarios"] = list(done)


def _scenario_first(df: pd.DataFrame) -> pd.DataFrame:
    return df[["scenario", *[c for c in df.columns if c != "scenario"]]]


def _ranked_stretches(ctx: _Ctx) -> dict[int, Any] | None:
    """Stretch id -> road pieces of the upgrade ranking (for scenarios that name stretches)."""
    ranking = ctx.state.get("upgrades")
    if ranking is None or not len(ranking) or "segment_ids" not in ranking:
        return None
    return {int(k): v for k, v in zip(ranking["stretch_id"], ranking["segment_ids"], strict=True)}


def _stage_rai(ctx: _Ctx) -> None:
    """The Rural Access Index of the study, and under each scenario."""
    from .rai import rural_access_index

    r = ctx.cfg.rai
    if r is None or not r.enabled:
        return
    loc = ctx.state["localities_out"]
    kw = _given(distance_m=r.distance_m, urban_density_per_km2=r.urban_density_per_km2, rural_col=r.rural_column,
                area_col=r.area_column, population_raster=r.population_raster, method=r.method)
    if r.method == "walk":  # walked over the study's surface (its barriers), else over flat open ground
        from ._surface import Surface, SurfaceInputs

        surface = ctx.route.surface
        if not isinstance(surface, Surface):  # built once, used for the base and every scenario
            surface = (surface or SurfaceInputs()).build(ctx.state["network"], loc, {})
        kw["surface"] = surface
    nets = {"base": ctx.state["network"]} | {k: v.network for k, v in ctx.state.get("scenarios", {}).items()}
    rows, summary = [], {}
    for name, net in nets.items():
        res = rural_access_index(net, loc, with_buffer=name == "base", **kw)
        rows.append(res.by_area.assign(scenario=name))
        summary[name] = res.summary()
        if name == "base":
            ctx.write(outputs.RAI_LAYERS, res.buffer, layer="all_season_buffer")
            if res.places is not None:
                ctx.state["localities_out"] = loc.join(res.places)
            for text in res.notes:
                ctx.note(f"RAI: {text}")
    ctx.write(outputs.RAI, _scenario_first(pd.concat(rows, ignore_index=True)))
    ctx.info["rai"] = summary


# ---------------------------------------------------------------------------- criticality, appraisal
def _class_inputs(ctx: _Ctx) -> tuple[gpd.GeoDataFrame, Any, gpd.GeoDataFrame | None]:
    """The localities with the indicators their class was decided on, the rules used, and the
    classified areas when the localities took the class of their area (None otherwise)."""
    from ._reclass import with_area_indicators

    classification = ctx.state.get("classification")
    classified = classification.areas if classification is not None else None
    rules = classification.rules if classification is not None else None
    areas = classified if ctx.state.get("areas") is not None else None
    return with_area_indicators(ctx.state["localities_out"], classified), rules, areas


def _stage_criticality(ctx: _Ctx) -> None:
    from .criticality import assess_criticality

    c = ctx.cfg.criticality
    if c is None or not c.enabled:
        return
    within = None
    if c.only == "corridors":
        res_c = ctx.state.get("corridors")
        if res_c is None or not len(res_c.segments):
            ctx.note("criticality of corridor stretches skipped: no corridor")
            return
        within = np.concatenate([np.asarray(x) for x in res_c.segments["segment_ids"]])
    loc, rules, areas = _class_inputs(ctx)
    res = assess_criticality(ctx.state["network"], loc, ctx.state["tiers"], only="all" if within is not None
                             else c.only, within_segments=within, top=c.top, rules=rules, detour=c.detour,
                             detour_limit_min=c.detour_limit_min, options=ctx.route, areas=areas)
    files = res.for_files()
    table = files["criticality"]
    hit = (table["n_cut_off"] > 0) | (table["locality_min_added"] > 0)
    if not hit.all():
        ctx.note(f"criticality: {int(hit.sum())} of {len(table)} stretches delay or cut off some locality if they "
                 "fail; the others are left out of criticality.gpkg")
        files["criticality"] = table[hit].reset_index(drop=True)
    ctx.write(outputs.CRITICALITY, files["criticality"], layer="criticality")
    if len(files["cut_off"]):
        ctx.write(outputs.CRITICALITY, files["cut_off"], layer="cut_off")
    ctx.write(outputs.CRITICALITY_CSV, pd.DataFrame(files["criticality"].drop(columns="geometry")))
    ctx.info["criticality"] = res.info
    for text in res.info.get("notes", []):
        ctx.note(text)


def _stage_appraisal(ctx: _Ctx) -> None:
    from .appraisal import appraise_projects, network_profile, plot_portfolio, study_candidates
    from .corridors import upgrade_candidates

    a = ctx.cfg.appraisal
    if a is None or not a.enabled:
        return
    assert a.budget is not None  # the config check requires it
    net = ctx.state["network"]
    to_class = a.upgrade_to or ctx.cfg.corridors.upgrade_to or "secondary"
    res_c = ctx.state.get("corridors")
    pool = None
    if a.corridor_candidates and res_c is not None and len(res_c.segments):
        speed = network_profile(net).highway_speed_kph.get(to_class, np.inf)
        pool = upgrade_candidates(net, res_c.segments, float(speed), a.n_candidates)
    if a.projects is None and (pool is None or not len(pool)):
        why = "corridors are disabled" if not ctx.cfg.corridors.enabled else "no corridor stretch to upgrade"
        ctx.note(f"appraisal skipped: no candidate project ({why} and no project layer)")
        ctx.info["appraisal"] = {"skipped": why}
        return
    cand = study_candidates(net, corridor_pool=pool, projects=a.projects, to_class=to_class,
                            to_surface=a.to_surface)
    loc, rules, areas = _class_inputs(ctx)
    res = appraise_projects(net, loc, ctx.state["tiers"], cand, budget=a.budget, costs=a.costs,
                            uncertainty=a.uncertainty, runs=a.runs, seed=a.seed, rules=rules, objective=a.objective,
                            dem=ctx.cfg.terrain.rasters.get("dem"), options=ctx.route, connect_m=a.connect_m,
                            areas=areas)
    files = res.for_files()
    ctx.write(outputs.APPRAISAL, files["projects"], layer="projects")
    if len(files["portfolio"]):
        ctx.write(outputs.APPRAISAL, files["portfolio"], layer="portfolio")
    ctx.write(outputs.APPRAISAL_CSV, pd.DataFrame(files["projects"].drop(columns="geometry")))
    ctx.write(outputs.PORTFOLIO_CSV, res.portfolio)
    plot_portfolio(res, ctx.stage_dir / outputs.PORTFOLIO_PNG, overwrite=True, lang=ctx.cfg.outputs.lang)
    ctx.files[outputs.PORTFOLIO_PNG] = ctx.stage_dir / outputs.PORTFOLIO_PNG
    ctx.info["appraisal"] = {**res.info, "summary": res.summary, "summary_facts": res.facts}
    for text in res.info.get("notes", []):
        ctx.note(text)
# ---------------------------------------------------------------------------- periods, indicators, typologies
def _stage_periods(ctx: _Ctx) -> None:
    """[periods]: the tables of two or more census years compared for the study's units, attached
    to the localities; transitions and growth by travel-time band."""
    p = ctx.cfg.periods
    if p is None or not p.enabled:
        return
    loc = ctx.state["localities_out"]
    comparison = compare_study_periods(p, loc)
    table = comparison.table
    if p.bands_tier is not None:
        from .changes import unit_times

        tcol = columns.time_col(p.bands_tier)
        times = unit_times(loc, p.on or str(p.key), [tcol], width=p.width)
        table = table.assign(**{tcol: table[comparison.key].map(times[tcol]).to_numpy()})
        comparison = dataclasses.replace(comparison, table=table)
        ctx.write(outputs.PERIOD_BANDS, comparison.by_band(tcol, p.bands_min, value=p.bands_value))
    ctx.state["localities_out"], report = attach_periods(loc, comparison, on=p.on, width=p.width, prefix=p.prefix)
    ctx.state["periods"] = comparison
    ctx.write(outputs.PERIODS, pd.DataFrame(table))
    if comparison.categorical:
        ctx.write(outputs.PERIOD_TRANSITIONS, comparison.all_transitions())
    for text in comparison.notes:
        ctx.note(f"periods: {text}")
    ctx.info["periods"] = {"labels": comparison.periods, "key": comparison.key, "units": len(table),
                           "status": table[columns.PERIOD_STATUS].value_counts().to_dict(),
                           "categorical": comparison.categorical, "attached": report.to_dict(),
                           "tables": list(p.tables)}


def compare_study_periods(p: PeriodsSection, localities: pd.DataFrame) -> PeriodComparison:
    """The ``[periods]`` tables compared for the units of the study's localities (the key values
    found in the localities' ``on`` column; all units when the localities lack it)."""
    from ._codes import normalize_codes
    from .changes import CATEGORICAL_DEFAULTS, compare_periods, period_label
    from .indicators import load_indicator_table

    key, on = str(p.key), p.on or str(p.key)
    labels = list(p.labels) if p.labels else [period_label(t) for t in p.tables]
    if len(set(labels)) != len(labels):
        raise TerritorialGISError(f"[periods]: tables give the same label twice ({labels}); set labels")
    wanted = set(normalize_codes(localities[on], p.width).dropna()) if on in localities else None
    frames = {}
    for label, spec in zip(labels, p.tables, strict=True):
        df = load_indicator_table(spec)
        if key not in df:
            raise TerritorialGISError(f"[periods] table {spec}: no key column {key!r}; columns are "
                                      f"{', '.join(map(str, df.columns))}")
        if wanted is not None:
            df = df[normalize_codes(df[key], p.width).isin(wanted).to_numpy()]
        frames[label] = df.assign(**{key: normalize_codes(df[key], p.width).to_numpy()})
    cats = {c: CATEGORICAL_DEFAULTS.get(c) for c in p.categorical} if p.categorical is not None else None
    return compare_periods(frames, key, columns=p.columns, categorical=cats, carry=p.carry)


def attach_periods(localities: pd.DataFrame, comparison: PeriodComparison, *, on: str | None = None,
                   width: int | None = None, prefix: str = "",
                   only: Sequence[str] | None = None) -> tuple[pd.DataFrame, JoinReport]:
    """The compared columns (``only`` these, else all) onto the localities by ``on`` (default the
    comparison's key), named ``<prefix><column>``; columns the localities already hold are not
    replaced (without a prefix, a municipality's latest ``population`` stays out of a locality's
    row). ``<prefix>period_status`` says, per locality, whether its unit is in every period, or
    why it has no values."""
    from .indicators import join_indicators

    on = on or comparison.key
    table = comparison.table
    geom = getattr(table, "_geometry_column_name", None)
    names = list(only) if only is not None else [c for c in table.columns if c not in (comparison.key, geom)]
    keep = [c for c in names if prefix + c not in localities.columns]
    joined, report = join_indicators(localities, pd.DataFrame(table), on=on, table_on=comparison.key, widths=width,
                                     columns=keep, prefix=prefix, table_name="the compared periods",
                                     status_column="_period_join")
    status = prefix + columns.PERIOD_STATUS
    if status in joined:
        joined[status] = joined[status].where(joined["_period_join"] == "code", joined["_period_join"])
    return joined.drop(columns="_period_join"), report


def _stage_indicators(ctx: _Ctx) -> None:
    """[indicators]: tables joined onto the localities, counts derived from rates."""
    ind = ctx.cfg.indicators
    if ind is None or not ind.enabled:
        return
    from .indicators import derive_counts

    loc = ctx.state["localities_out"]
    reports = []
    for i, j in enumerate(ind.join, start=1):
        status = columns.JOIN_STATUS if len(ind.join) == 1 else f"{columns.JOIN_STATUS}_{i}"
        loc, report = join_study_table(loc, j, status_column=status)
        reports.append(report.to_dict())
        ctx.note(f"indicators: {report.summary()}")
    derived: dict[str, str] = {}
    if ind.derive:
        loc, derived = derive_counts(loc, ind.derive, percent=ind.derive_percent, source=ind.derive_source)
    ctx.state["localities_out"] = loc
    ctx.info["indicators"] = {"joins": reports, "derived": derived,
                              "counts": _study_counts(ind), "rates": list(ind.rates)}


def join_study_table(localities: pd.DataFrame, j: IndicatorJoin, *, status_column: str = columns.JOIN_STATUS
                     ) -> tuple[pd.DataFrame, JoinReport]:
    """One ``[[indicators.join]]`` table onto the localities (by code, name or location)."""
    from ._typology import select_rows
    from .indicators import join_indicators, join_spatial, read_indicator_table

    assert j.table is not None  # the config check requires it
    if j.spatial:
        import geopandas as gpd

        polygons = gpd.read_file(j.table, engine="pyogrio")
        if j.where:
            polygons = polygons[select_rows(polygons, j.where, "[indicators.join] where")].reset_index(drop=True)
        joined, report = join_spatial(localities, polygons, rates=j.rates)
        report.table = j.table
        return joined.rename(columns={columns.JOIN_STATUS: status_column}), report
    table = read_indicator_table(j.table)
    if j.where:
        table = table.with_frame(table.frame[select_rows(table.frame, j.where, "[indicators.join] where")]
                                 .reset_index(drop=True))
    table_on = j.table_on.split("+") if isinstance(j.table_on, str) else j.table_on
    return join_indicators(localities, table, on=j.on, table_on=table_on, widths=j.width,
                           names=(j.names[0], j.names[1]) if j.names else None,
                           within=(j.within[0], j.within[1]) if j.within else None,
                           columns=j.columns, prefix=j.prefix, status_column=status_column)


def _study_counts(ind: IndicatorsSection) -> list[str]:
    return list(dict.fromkeys([*ind.counts, *ind.derive]))


def _stage_typologies(ctx: _Ctx) -> None:
    """[typologies]: each typology applied to its units, summarised, its thresholds moved."""
    t = ctx.cfg.typologies
    if t is None or not t.enabled:
        return
    from .typology import apply_typology, load_typology, summarize_typology, typology_sensitivity

    summaries, sensitivities, applied = [], [], []
    for spec in t.apply:
        assert spec.typology is not None  # the config check requires it
        typ = load_typology(spec.typology).with_thresholds(spec.thresholds)
        units = _typology_units(ctx, spec.units)
        classified = apply_typology(units, typ)
        layer = _store_typology(ctx, spec.units, typ.name, classified, typ)
        summaries.append(_label_rows(summarize_typology(classified, typ, by=spec.by)
                                     .rename(columns={typ.column: "class", **({spec.by: "region"} if spec.by else {})}),
                                     typ.name, spec.units))
        if t.sensitivity:
            sensitivities.append(_label_rows(_long_shares(typology_sensitivity(classified, typ), typ.class_names()),
                                             typ.name, spec.units))
        applied.append(describe_applied_typology(typ, spec.units, layer, classified))
    if summaries:
        ctx.write(outputs.TYPOLOGIES, pd.concat(summaries, ignore_index=True))
    if sensitivities:
        ctx.write(outputs.TYPOLOGY_SENSITIVITY, pd.concat(sensitivities, ignore_index=True))
    ctx.info["typologies"] = {"applied": applied}


def _typology_units(ctx: _Ctx, units: str) -> pd.DataFrame:
    if units == "localities":
        return ctx.state["localities_out"]  # type: ignore[no-any-return]
    if units == "periods":
        return pd.DataFrame(ctx.state["periods"].table)
    if ctx.state.get("areas") is None:
        raise TerritorialGISError("units = 'areas': the study has no areas (set [classify] areas)")
    return ctx.state["classification"].areas  # type: ignore[no-any-return]


def _store_typology(ctx: _Ctx, units: str, name: str, classified: pd.DataFrame, typ: Typology) -> str:
    """Keep the classes where they belong (the localities' table; the periods' table and the
    localities of each unit) and write the map layer (localities or areas; for the periods'
    units, the localities with the class of their unit); returns the layer's name."""
    cols = [c for c in (typ.column, typ.subtype_column, typ.reasons_column, *typ.flags) if c and c in classified]
    if units == "periods":  # the units' classes go to the periods' table and to their localities
        p = ctx.cfg.periods
        assert p is not None  # the config check requires [periods]
        comparison = dataclasses.replace(ctx.state["periods"], table=classified)
        ctx.state["periods"] = comparison
        ctx.write(outputs.PERIODS, pd.DataFrame(classified))
        ctx.state["localities_out"], _report = attach_periods(ctx.state["localities_out"], comparison, on=p.on,
                                                              width=p.width, only=cols)
        classified = ctx.state["localities_out"]
    elif units == "localities":
        ctx.state["localities_out"] = classified
    ident = [c for c in (columns.PLACE_ID, columns.AREA_ID, columns.NAME, columns.POPULATION) if c in classified]
    layer = name if units == "localities" else f"{name}_{units}"
    geo = classified[[*dict.fromkeys([*ident, *cols]), classified.geometry.name]]
    ctx.write(outputs.TYPOLOGY_LAYERS, geo, layer=layer)
    return layer


def describe_applied_typology(typ: Typology, units: str, layer: str, classified: pd.DataFrame
                              ) -> dict[str, Any]:
    """What ``study.json`` records of an applied typology (read back by
    :attr:`territorial_gis.outputs.StudyOutputs.typologies_applied`)."""
    counts = classified[typ.column].astype(str).value_counts()
    descriptions = {c.name: c.description for c in typ.classes}
    return {"name": typ.name, "title": typ.title, "units": units, "layer": layer, "column": typ.column,
            "subtype_column": typ.subtype_column, "reasons_column": typ.reasons_column, "flags": list(typ.flags),
            "classes": [{"name": c, "description": descriptions.get(c) or ""} for c in typ.class_names()],
            "counts": {str(k): int(v) for k, v in counts.items()},
            "thresholds": {k: th.value for k, th in typ.thresholds.items()},
            "sources": list(typ.sources), "notes": list(typ.notes)}


def _label_rows(df: pd.DataFrame, typology: str, units: str) -> pd.DataFrame:
    return df.assign(typology=typology, units=units)[["typology", "units", *df.columns]]


def _long_shares(sens: pd.DataFrame, classes: Sequence[str]) -> pd.DataFrame:
    """A typology's sensitivity table with one row per (threshold change, class): ``class``,
    ``share_units``, ``share_population`` (NaN without population)."""
    rows = []
    for c in classes:
        pop = sens[f"population_share_{c}"] if f"population_share_{c}" in sens else np.nan
        rows.append(sens[["parameter", "change_pct", "threshold", "n_changed"]]
                    .assign(**{"class": c, "share_units": sens[f"share_{c}"], "share_population": pop}))
    out = pd.concat(rows)
    return out.sort_index(kind="stable").reset_index(drop=True)


def _stage_indicator_summaries(ctx: _Ctx) -> None:
    """[indicators]: population and the counts within travel times, by group, and the land within."""
    ind = ctx.cfg.indicators
    if ind is None or not ind.enabled:
        return
    from .indicators import WITHIN_MIN, indicator_within, land_within, summarize_indicators

    loc = ctx.state["localities_out"]
    counts = _study_counts(ind)
    within = ind.within_min or ctx.cfg.access.population_within_min or list(WITHIN_MIN)
    has_pop = columns.POPULATION in loc and loc[columns.POPULATION].notna().any()
    tiers = ind.within_tiers or [t for t in columns.tiers_in(loc) if t in ctx.cfg.tiers]
    summary: dict[str, Any] = {}
    if tiers and (has_pop or counts):
        table = indicator_within(loc, within, counts=counts, tiers=tiers)
        ctx.write(outputs.INDICATORS_WITHIN, table)
        summary["within"] = _shares_within(table)
    groups = [summarize_indicators(loc, by, counts=counts, rates=ind.rates).rename(columns={by: "group"})
              .assign(by=by) for by in _group_columns(ctx, ind, loc)]
    if groups:
        by_group = pd.concat(groups, ignore_index=True)
        ctx.write(outputs.INDICATORS_BY_GROUP, by_group[["by", *[c for c in by_group.columns if c != "by"]]])
    areas = ctx.state["classification"].areas if ctx.state.get("areas") is not None else None
    land_tiers = [t for t in tiers if t in columns.tiers_in(areas)] if areas is not None else []
    if areas is not None and _polygonal(areas) and land_tiers:
        land = land_within(areas, ind.land_within_min or within, tiers=land_tiers)
        ctx.write(outputs.LAND_WITHIN, land)
        summary["land_within"] = _shares_within(land)
    ctx.info.setdefault("indicators", {"counts": counts, "rates": list(ind.rates)})["summary"] = summary


def _group_columns(ctx: _Ctx, ind: IndicatorsSection, loc: pd.DataFrame) -> list[str]:
    """The columns indicators are summarised by: ``[indicators] by``, else the class, hub,
    territory and region columns present and the class of each typology the localities carry
    (applied to them, or to the periods' units they belong to)."""
    if ind.by is not None:
        return list(ind.by)
    from .territories import REGION_ID

    typ_cols = [a["column"] for a in ctx.info.get("typologies", {}).get("applied", []) if a["units"] != "areas"]
    return [c for c in (columns.AREA_CLASS, columns.HUB_ID, columns.TERRITORY_ID, REGION_ID, *typ_cols) if c in loc]


def _shares_within(table: pd.DataFrame) -> dict[str, Any]:
    """``{indicator: {tier: {minutes: share}}}`` (land: ``{tier: {minutes: share}}``) for study.json."""
    out: dict[str, Any] = {}
    for row in table.itertuples(index=False):
        r = row._asdict()
        share = None if pd.isna(r["share_within"]) else float(r["share_within"])
        node = out.setdefault(str(r["indicator"]), {}) if "indicator" in r else out
        node.setdefault(str(r["tier"]), {})[f"{float(r['threshold_min']):g}"] = share
    return out


def _polygonal(gdf: pd.DataFrame) -> bool:
    geom = getattr(gdf, "geometry", None)
    return geom is not None and len(gdf) > 0 and bool(geom.geom_type.isin(["Polygon", "MultiPolygon"]).all())


# ---------------------------------------------------------------------------- outputs
def _stage_write_localities(ctx: _Ctx) -> None:
    loc = ctx.state["localities_out"]
    if columns.LOCALITY_ID not in loc and columns.PLACE_ID in loc:
        loc = loc.assign(**{columns.LOCALITY_ID: loc[columns.PLACE_ID].to_numpy()})
    ctx.write(outputs.LOCALITIES, loc, layer="localities")
    ctx.state["summary"] = summarize_study(loc, tiers=ctx.state.get("tiers", {}))


def summarize_study(localities: pd.DataFrame, *, tiers: Mapping[str, Any]) -> dict[str, Any]:
    """Headline figures of a study (``study.json``'s ``summary``): localities and population by
    class, median minutes per tier, unreachable count; population None when unknown."""
    loc = localities
    pop = loc[columns.POPULATION] if columns.POPULATION in loc else pd.Series(np.nan, index=loc.index)
    has_class = columns.AREA_CLASS in loc
    by_class = {str(k): float(v) for k, v in pop.groupby(loc[columns.AREA_CLASS]).sum(min_count=1).items()
                if pd.notna(v)} if has_class else {}
    count_by_class = {str(k): int(v) for k, v in loc[columns.AREA_CLASS].value_counts().items()} if has_class else {}
    med = {t: (float(loc[columns.time_col(t)].median()) if loc[columns.time_col(t)].notna().any() else None)
           for t in columns.tiers_in(loc) if t in tiers}
    known = pop.notna().any()
    return {"localities": len(loc),
            "population": float(np.nansum(pop.to_numpy(dtype=float))) if known else None,
            "population_by_class": by_class, "localities_by_class": count_by_class,
            "median_travel_time_min": med,
            "unreachable": int(loc[columns.UNREACHABLE_REASON].notna().sum()) if columns.UNREACHABLE_REASON in loc else 0}


def _stage_map(ctx: _Ctx) -> None:
    want = ctx.cfg.outputs
    if want.map or want.report:
        _record_map_inputs(ctx)
    _write_study_json(ctx)
    cdn = want.cdn or not want.self_contained
    if not (want.map or want.report):
        return
    written = outputs.load_study_outputs(ctx.stage_dir)  # read once for the map and the report
    if want.map:
        from .maps import map_study

        map_study(written, ctx.stage_dir / outputs.MAP, cdn=cdn, overwrite=True, title=ctx.cfg.title,
                  lang=want.lang)
        ctx.files[outputs.MAP] = ctx.stage_dir / outputs.MAP
    if want.report:
        from .report import make_report

        make_report(written, ctx.stage_dir / outputs.REPORT, overwrite=True, title=ctx.cfg.title,
                    lang=want.lang)
        ctx.files[outputs.REPORT] = ctx.stage_dir / outputs.REPORT


def _record_map_inputs(ctx: _Ctx) -> None:
    """What the map and report need beyond the stage outputs: the methods record of study.json
    (rules with their sources, speed profile, routing options) and the base-map layers the study
    names in ``[outputs] water`` / ``boundaries``."""
    from ._basemap import read_basemap_layers
    from ._studymeta import describe_methods
    from .speeds import load_profile

    classification = ctx.state.get("classification")
    classified = classification.areas if classification is not None else None
    n = ctx.cfg.network
    route = ctx.route
    ctx.info["methods"] = describe_methods(
        rules=classification.rules if classification is not None else None,
        profile=load_profile(n.profile, mode=n.mode or settings.mode),
        max_snap_m=route.max_snap_m, walk_kph=route.walk_kph, tiers=ctx.cfg.tiers,
        tiers_judged=classification.tiers if classification is not None else None,
        measured=[c for c in classified.columns if classified[c].notna().any()] if classified is not None else None,
        scenarios=[a.scenario for a in ctx.state.get("scenarios", {}).values()],
        rai=ctx.cfg.rai if ctx.cfg.rai is not None and ctx.cfg.rai.enabled else None, network=ctx.state.get("network"))
    ctx.info["methods"].setdefault("routing", {})["offroad"] = route.offroad_method
    net = ctx.state.get("network")
    bbox = (float(net.node_lon.min()), float(net.node_lat.min()), float(net.node_lon.max()),
            float(net.node_lat.max())) if net is not None and net.n_nodes else None
    layers = read_basemap_layers(water=ctx.cfg.outputs.water, boundaries=ctx.cfg.outputs.boundaries, bbox=bbox)
    for name, gdf in layers.items():
        ctx.write(outputs.BASEMAP, gdf, layer=name)


def _write_study_json(ctx: _Ctx) -> None:
    cfg = ctx.cfg
    meta = {
        "name": cfg.name,
        "title": cfg.study.title,
        "territorial_gis_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": cfg.to_dict(),
        "config_hash": config_hash(cfg),
        "input_hashes": input_hashes(cfg),
        "inputs": [{"name": k, "path": v} for k, v in cfg.input_files().items()],
        "attribution": cfg.attribution,
        "timings_s": {k: round(v, 3) for k, v in ctx.timings.items()},
        "summary": ctx.state.get("summary", {}),
        "files": sorted({*ctx.files, outputs.STUDY_JSON}),
        **ctx.info,
    }
    path = ctx.stage_dir / outputs.STUDY_JSON
    path.write_text(json.dumps(meta, indent=2, default=_json_default))
    ctx.files[outputs.STUDY_JSON] = path


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


STAGES: list[tuple[str, Callable[[_Ctx], None]]] = [
    ("network", _stage_network),
    ("places", _stage_places),
    ("access", _stage_access),
    ("surface", _stage_surface),
    ("classify", _stage_classify),
    ("fra", _stage_fra),
    ("corridors", _stage_corridors),
    ("hubs", _stage_hubs),
    ("territories", _stage_territories),
    ("microregions", _stage_microregions),
    ("links", _stage_links),
    ("scenarios", _stage_scenarios),
    ("rai", _stage_rai),
    ("periods", _stage_periods),
    ("indicators", _stage_indicators),
    ("typologies", _stage_typologies),
    ("indicator_summaries", _stage_indicator_summaries),
    ("criticality", _stage_criticality),
    ("appraisal", _stage_appraisal),
    ("outputs", _stage_write_localities),
    ("map", _stage_map),
]


# ---------------------------------------------------------------------------- running
def run_study(config: str | os.PathLike[str] | Mapping[str, Any] | StudyConfig | None = None,
              outdir: str | os.PathLike[str] = "outputs/study", *, overwrite: bool = False,
              cache_dir: str | os.PathLike[str] | None = None, progress: bool = True,
              base_dir: str | os.PathLike[str] | None = None) -> StudyResult:
    """Run a whole study and write its outputs folder.

    Parameters
    ----------
    config
        Study config TOML file, dict of sections, :class:`~territorial_gis.config.StudyConfig`,
        or None for the embedded demonstration region. It is checked in full before any stage.
    outdir
        Output folder; existing study outputs in it are replaced only with ``overwrite``.
    cache_dir
        Where built networks are cached (default :func:`territorial_gis.settings.resolved_cache_dir`).
    base_dir
        Folder relative paths of a dict config are taken from (default the current folder).

    Raises
    ------
    ConfigError
        The config is invalid (nothing ran).
    StageError
        A stage failed (``.stage`` names it); nothing was written to ``outdir``.
    """
    cfg = load_study_config(config, base_dir=base_dir)
    out = Path(outdir)
    _check_outdir(out, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    stage_dir = Path(tempfile.mkdtemp(prefix=outputs.STAGING_PREFIX, dir=out))
    ctx = _Ctx(cfg=cfg, stage_dir=stage_dir,
               cache_dir=Path(cache_dir) if cache_dir else settings.resolved_cache_dir())
    try:
        _run_stages(ctx, progress)
        _write_study_json(ctx)
        _move_into_place(ctx, out)
    finally:
        shutil.rmtree(stage_dir, ignore_errors=True)
    files = {name: out / name for name in ctx.files}
    log.debug("study '%s' written to %s (%d files, %.1f s)", cfg.name, out, len(files), sum(ctx.timings.values()))
    return StudyResult(outdir=out, files=files, summary=ctx.state["summary"], timings=dict(ctx.timings),
                       config=cfg)


def _check_outdir(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"output folder {out} is a file")
    if out.is_dir() and not overwrite:
        clash = outputs.study_files(out)
        if clash:
            raise OutputExistsError(f"{out} already holds study outputs ({', '.join(clash[:3])}...); "
                                    "use --overwrite to replace them")


def _run_stages(ctx: _Ctx, progress: bool,
                stages: Sequence[tuple[str, Callable[[_Ctx], None]]] | None = None) -> None:
    stages = list(STAGES) if stages is None else stages  # read when called: STAGES can be wrapped
    pbar = bar(len(stages), desc="study", unit="stage") if progress else None
    try:
        for name, fn in stages:
            if pbar is not None:
                pbar.set_description(f"study: {name}")
            t0 = time.perf_counter()
            try:
                fn(ctx)
            except StageError:
                raise
            except TerritorialGISError as exc:
                raise StageError(name, str(exc)) from exc
            except Exception as exc:  # noqa: BLE001 - any failure of a stage is reported as such
                log.debug("stage %s failed", name, exc_info=True)
                raise StageError(name, f"{type(exc).__name__}: {exc}") from exc
            ctx.timings[name] = time.perf_counter() - t0
            if pbar is not None:
                pbar.update(1)
    finally:
        if pbar is not None:
            pbar.close()


def _move_into_place(ctx: _Ctx, out: Path) -> None:
    """Every stage succeeded: replace the folder's study files by the staged ones."""
    for f in outputs.study_files(out):
        if not (ctx.stage_dir / f).exists():
            (out / f).unlink()  # stale output of an earlier run with other stages
    for name, path in ctx.files.items():
        os.replace(path, out / name)


def compare_scenario(study: str | os.PathLike[str], scenario: str | os.PathLike[str], outdir: str | os.PathLike[str],
                     *, overwrite: bool = False, cache_dir: str | os.PathLike[str] | None = None,
                     progress: bool = True) -> StudyResult:
    """Compare a scenario with a finished study: the study's config (from its ``study.json``) is
    run again up to the classification, then under the scenario, and the comparison is written
    to ``outdir``: ``scenario_<name>.gpkg`` (localities with their changes of access and class;
    the changed roads), ``scenarios.csv``, ``scenario_classes.csv`` and, when the study has a
    ``[rai]`` section, ``rai.csv`` / ``rai.gpkg`` (base and scenario)."""
    import dataclasses

    from .config import ScenariosSection
    from .scenarios import load_scenario

    meta = outputs.read_study_json(study)
    if not meta.get("config"):
        raise OutputExistsError(f"{study} holds no study.json with the study's config; run the study first")
    sc = load_scenario(scenario)
    base = StudyConfig.from_dict(meta["config"], source=f"{Path(study) / outputs.STUDY_JSON} [config]")
    cfg = dataclasses.replace(base, scenarios=ScenariosSection(run=[str(scenario)]))
    names = {outputs.scenario_file(sc.name), outputs.SCENARIOS, outputs.SCENARIO_CLASSES, outputs.RAI,
             outputs.RAI_LAYERS}
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"output folder {out} is a file")
    clash = [n for n in sorted(names) if (out / n).exists()]
    if clash and not overwrite:
        raise OutputExistsError(f"{out} already holds {', '.join(clash)}; use --overwrite to replace them")
    needs_ranking = any(u.select.stretches for u in sc.upgrades) or any(c.select.stretches for c in sc.closures)
    keep = {"network", "places", "access", "classify", "scenarios", "rai"} | ({"corridors"} if needs_ranking else set())
    out.mkdir(parents=True, exist_ok=True)
    stage_dir = Path(tempfile.mkdtemp(prefix=outputs.STAGING_PREFIX, dir=out))
    ctx = _Ctx(cfg=cfg, stage_dir=stage_dir, cache_dir=Path(cache_dir) if cache_dir else settings.resolved_cache_dir())
    try:
        _run_stages(ctx, progress, [(n, fn) for n, fn in STAGES if n in keep])
        files = {n: p for n, p in ctx.files.items() if n in names}
        for n, p in files.items():
            os.replace(p, out / n)
    finally:
        shutil.rmtree(stage_dir, ignore_errors=True)
    return StudyResult(outdir=out, files={n: out / n for n in files}, summary=ctx.info.get("rai", {}),
                       timings=dict(ctx.timings), config=cfg)
