"""One-command studies: network -> access -> classify -> corridors -> hubs/territories -> map/report.

A study config (:class:`~territorial_gis.config.StudyConfig`, from a TOML file or a dict) is
checked in full first; :func:`run_study` then runs every stage and writes the outputs folder
described in ``docs/ARCHITECTURE.md`` (file names in :mod:`territorial_gis.outputs`). Outputs are
written into a staging folder and moved into place only when every stage succeeded, so a failed
run leaves no half-written files and names the stage that failed. Built networks are cached
(:mod:`territorial_gis._netcache`).
"""

from __future__ import annotations

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
        """The study's routing options (``[access] max_snap_m``, ``walk_kph``; under a
        ``[network] scenario`` the walk is slowed by its season)."""
        if "route" in self.state:
            return self.state["route"]  # type: ignore[no-any-return]
        return RouteOptions.from_mapping({"max_snap_m": self.cfg.access.max_snap_m,
                                          "walk_kph": self.cfg.access.walk_kph})

    def write(self, name: str, df: Any, layer: str | None = None) -> None:
        path = self.stage_dir / name
        if path.suffix == ".gpkg" and layer:
            add_gpkg_layer(df, path, layer)  # several layers go into one GeoPackage
        else:
            write_table(df, path, overwrite=True)
        self.files[name] = path

    def note(self, text: str) -> None:
        self.info.setdefault("notes", []).append(text)


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
    if places.note:
        ctx.note(places.note)
    dests = pd.concat([t.assign(tier=name) for name, t in tiers.items()], ignore_index=True)
    ctx.write(outputs.DESTINATIONS, gpd.GeoDataFrame(dests, geometry="geometry", crs=4326), layer="destinations")


# ---------------------------------------------------------------------------- access and classes
def _stage_access(ctx: _Ctx) -> None:
    from .access import isochrones, population_within, travel_times_to_nearest

    net, tiers = ctx.state["network"], ctx.state["tiers"]
    acc = ctx.cfg.access
    table = travel_times_to_nearest(net, ctx.state["places"].localities, tiers, options=ctx.route)
    ctx.state["access"] = table
    if acc.population_within_min and table[columns.POPULATION].notna().any():
        ctx.write(outputs.POPULATION_WITHIN, population_within(table, thresholds_min=acc.population_within_min))
    if acc.isochrones_min:
        tier = acc.isochrone_tier or next(iter(tiers))
        polys = isochrones(net, tiers[tier], thresholds_min=acc.isochrones_min, bands=True, options=ctx.route)
        ctx.write(outputs.ISOCHRONES, polys.assign(tier=tier), layer="isochrones")


def study_areas(cfg: StudyConfig, localities: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    """The polygons to classify: None (localities are the areas), H3 cells, a hex grid or a file."""
    import geopandas as gpd

    from .classify import make_h3_cells, make_hex_grid
    from .errors import CRSError

    spec = cfg.classify.areas
    if spec in ("localities", "points"):
        return None
    if spec == "h3":  # the locality ids are H3 cells (e.g. IPEA's aopdata grid)
        cells = make_h3_cells(cells=localities[columns.PLACE_ID].astype(str).tolist())
        return cells.assign(place_id=localities[columns.PLACE_ID].to_numpy())
    if spec.startswith("h3:"):
        return make_h3_cells(localities, resolution=int(spec[3:]))
    if spec.startswith("hex:"):
        return make_hex_grid(localities, float(spec[4:]))
    areas = gpd.read_file(spec)
    if areas.crs is None:
        raise CRSError(f"areas file {spec} has no CRS")
    return areas.to_crs(4326)


def _join_area_class(localities: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    import geopandas as gpd

    cols = [c for c in columns.CLASS_COLUMNS if c in areas]
    joined = gpd.sjoin(localities, areas[[*cols, "geometry"]], how="left", predicate="within")
    return joined[~joined.index.duplicated(keep="first")].drop(columns=["index_right"])


def classify_study(cfg: StudyConfig, access: gpd.GeoDataFrame, areas: gpd.GeoDataFrame | None
                   ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The study's MRA/FRA classes: ``(classified units, localities with their class)``; the
    units are the areas when the study has them, else the localities themselves."""
    from .classify import classify_areas

    ccfg = cfg.classify
    rasters = cfg.terrain.rasters or None
    if areas is None:
        classified = classify_areas(access, rules=ccfg.rules, tiers=ccfg.tiers, rasters=rasters)
        return classified, classified
    classified = classify_areas(areas, rules=ccfg.rules, tiers=ccfg.tiers, localities=access, rasters=rasters)
    return classified, _join_area_class(access, classified)


def _stage_classify(ctx: _Ctx) -> None:
    from .classify import sensitivity_table, summarize_classes

    table = ctx.state["access"]
    ccfg = ctx.cfg.classify
    areas = ctx.state["places"].areas
    if areas is None:
        areas = study_areas(ctx.cfg, table)
    ctx.state["areas"] = areas
    classified, loc = classify_study(ctx.cfg, table, areas)
    if areas is not None:
        ctx.write(outputs.AREAS, classified, layer="areas")
    for text in classified.attrs.get("notes", []):
        ctx.note(text)
    ctx.state["classified"] = classified
    ctx.state["localities_out"] = loc
    ctx.write(outputs.SENSITIVITY, sensitivity_table(classified, rules=ccfg.rules, tiers=ccfg.tiers))
    ctx.write(outputs.SUMMARY, summarize_classes(classified))


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
    res = analyze_corridors(ctx.state["network"], loc, {t: tiers[t] for t in targets},
                            **_given(upgrade_to=c.upgrade_to, top=c.top, n_candidates=c.n_candidates),
                            options=ctx.route)
    for layer, gdf in (("corridors", res.corridors), ("segments", res.segments), ("upgrades", res.upgrades)):
        if len(gdf):
            ctx.write(outputs.CORRIDORS, gdf, layer=layer)
    ctx.state["upgrades"] = res.upgrades
    ctx.write(outputs.UPGRADES, pd.DataFrame(res.upgrades.drop(columns=res.upgrades.geometry.name))
              if len(res.upgrades) else pd.DataFrame(columns=["rank"]))
    ctx.info["corridors"] = {"n": len(res.corridors), "stretches": len(res.segments),
                             "upgrades_ranked": len(res.upgrades)}


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
    assigned = build_territories(
        ctx.state["network"], loc, tiers[t.centres], max_time_min=t.max_time_min,
        employment_centres=tiers[t.employment_tier] if t.employment_tier else None,
        hubs=ctx.state.get("hubs"), options=ctx.route,
        regions=regions_from(t.regions) if t.regions else None, region_id_col=t.region_id_column,
        within_region=t.within_region, **_given(employment_limit_min=t.employment_limit_min))
    polys = territory_polygons(assigned, tiers[t.centres])
    new_cols = [c for c in assigned.columns if c not in loc.columns]
    ctx.state["localities_out"] = assigned
    ctx.write(outputs.TERRITORIES, polys, layer="territories")
    ctx.info["territories"] = {"n": len(polys), "centres_tier": t.centres, "columns": new_cols,
                               "beyond_limit": int((assigned.get(columns.TERRITORY_STATUS) ==
                                                    "no_centre_within_limit").sum())}


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
        _classified, loc_s = classify_study(ctx.cfg, table, ctx.state.get("areas"))
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
                area_col=r.area_column, population_raster=r.population_raster)
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
    if want.map:
        from .maps import map_study

        map_study(ctx.stage_dir, ctx.stage_dir / outputs.MAP, cdn=cdn, overwrite=True, title=ctx.cfg.title,
                  lang=want.lang)
        ctx.files[outputs.MAP] = ctx.stage_dir / outputs.MAP
    if want.report:
        from .report import make_report

        make_report(ctx.stage_dir, ctx.stage_dir / outputs.REPORT, overwrite=True, title=ctx.cfg.title,
                    lang=want.lang)
        ctx.files[outputs.REPORT] = ctx.stage_dir / outputs.REPORT


def _record_map_inputs(ctx: _Ctx) -> None:
    """What the map and report need beyond the stage outputs: the methods record of study.json
    (rules with their sources, speed profile, routing options) and the base-map layers the study
    names in ``[outputs] water`` / ``boundaries``."""
    from ._basemap import read_basemap_layers
    from ._studymeta import describe_methods
    from .speeds import load_profile

    classified = ctx.state.get("classified")
    n = ctx.cfg.network
    route = ctx.route
    ctx.info["methods"] = describe_methods(
        rules=classified.attrs.get("rules") if classified is not None else None,
        profile=load_profile(n.profile, mode=n.mode or settings.mode),
        max_snap_m=route.max_snap_m, walk_kph=route.walk_kph, tiers=ctx.cfg.tiers,
        tiers_judged=classified.attrs.get("tiers") if classified is not None else None,
        measured=[c for c in classified.columns if classified[c].notna().any()] if classified is not None else None,
        scenarios=[a.scenario for a in ctx.state.get("scenarios", {}).values()],
        rai=ctx.cfg.rai if ctx.cfg.rai is not None and ctx.cfg.rai.enabled else None, network=ctx.state.get("network"))
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
    ("classify", _stage_classify),
    ("corridors", _stage_corridors),
    ("hubs", _stage_hubs),
    ("territories", _stage_territories),
    ("scenarios", _stage_scenarios),
    ("rai", _stage_rai),
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
                stages: Sequence[tuple[str, Callable[[_Ctx], None]]] = tuple(STAGES)) -> None:
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
