"""One-command studies: network -> access -> classify -> corridors -> hubs/territories -> map/report.

A study config (TOML, or a dict) names the region and its inputs; :func:`run_study` runs every
stage and writes the outputs folder described in ``docs/ARCHITECTURE.md``. Outputs are written
into a staging folder first and moved into place only when every stage succeeded, so a failed
run leaves no half-written files and names the stage that failed. Built networks are cached by
a hash of their inputs and profile.
"""

from __future__ import annotations

import copy
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
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from ._io import add_gpkg_layer, write_table
from ._progress import bar
from ._toml import read_toml
from .errors import ConfigError, OutputExistsError, TerritorialGISError

log = logging.getLogger(__name__)

SECTIONS: dict[str, set[str]] = {
    "study": {"name", "title", "description"},
    "network": {"source", "place", "bbox", "polygon", "profile", "mode", "layer", "schema", "crossings",
                "snap_tolerance_m", "unmapped", "default_class", "season", "largest_component"},
    "localities": {"file", "path", "catalogue", "id_col", "pop_col", "name_col", "lon_col", "lat_col", "crs",
                   "layer", "country", "state", "bbox", "polygon", "min_population", "grid_hex_m",
                   "clip_to_network"},
    "tiers": set(),  # free: tier name -> rule or file
    "access": {"max_snap_m", "walk_kph", "isochrones_min", "isochrone_tier", "population_within_min"},
    "terrain": {"rasters"},
    "classify": {"rules", "areas", "tiers"},
    "corridors": {"enabled", "targets", "upgrade_to", "top", "n_candidates"},
    "hubs": {"enabled", "max_time_min", "model", "k", "method", "min_population"},
    "territories": {"enabled", "centres", "max_time_min", "employment_tier", "employment_limit_min", "regions",
                    "region_id_column", "within_region"},
    "outputs": {"map", "report", "self_contained", "network_gpkg", "lang", "cdn", "water", "boundaries"},
    "attribution": set(),  # free: source name -> credit
}
# keys whose values are paths, resolved against the config file's folder
PATH_KEYS = {("network", "source"), ("network", "profile"), ("network", "schema"), ("localities", "file"),
             ("localities", "path"), ("classify", "rules")}
OUTPUT_FILES = ("network.gpkg", "localities.gpkg", "destinations.gpkg", "areas.gpkg", "corridors.gpkg",
                "upgrades.csv", "sensitivity.csv", "summary.csv", "population_within.csv", "isochrones.gpkg",
                "hubs.gpkg", "territories.gpkg", "basemap.gpkg", "map.html", "report.html", "study.json")


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
    config: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------- config
def default_study_config() -> dict[str, Any]:
    """The embedded demonstration region: Porto Alegre, Brazil (real OSM, IPEA, SRTM data).

    Porto Alegre is urban: it is the only place where a real road network, real population
    and a real DEM are all available offline. Localities are IPEA's H3 cells (resolution 9)
    with census population and RAIS jobs; employment centres are the cells with at least
    3,000 formal jobs; markets are the named points of interest (public market, shopping
    centres, bus station); access thresholds are scaled to a city (see
    ``examples/porto_alegre/rules.toml``). A rural study is set up the same way with a rural
    network and catalogue (see ``examples/guaviare/``).
    """
    from .data import data_path

    return {
        "study": {"name": "porto_alegre", "title": "Porto Alegre, Brazil (demonstration region)"},
        "network": {"source": str(data_path("porto_alegre", "poa_osm.pbf")), "mode": "drive"},
        "localities": {"file": str(data_path("porto_alegre", "poa_hexgrid.csv")), "id_col": "id",
                       "pop_col": "population"},
        "tiers": {"employment_centre": "jobs>=3000",
                  "market": str(data_path("porto_alegre", "poa_points_of_interest.csv"))},
        "access": {"max_snap_m": 2000.0, "isochrones_min": [5, 10], "isochrone_tier": "market",
                   "population_within_min": [5, 10, 15, 20]},
        "terrain": {"rasters": {"dem": str(data_path("porto_alegre", "poa_elevation.tif"))}},
        "classify": {"rules": str(data_path("porto_alegre", "rules.toml")), "areas": "h3"},
        "corridors": {"targets": ["employment_centre", "market"], "upgrade_to": "secondary", "top": 15},
        "hubs": {"enabled": True, "max_time_min": 8.0, "model": "cover", "method": "auto"},
        "territories": {"enabled": True, "centres": "employment_centre", "max_time_min": 15.0,
                        "employment_tier": "market", "employment_limit_min": 10.0},
        "outputs": {"map": True, "report": True, "self_contained": True, "network_gpkg": True},
        "attribution": {
            "OpenStreetMap": "Road network (c) OpenStreetMap contributors, ODbL 1.0",
            "IPEA aopdata": "Population and jobs per H3 cell: IPEA Access to Opportunities project, CC-BY",
            "SRTM": "SRTM 1 arc-second DEM (NASA), public domain",
            "r5r": "Extracts as packaged in the r5r R package (IPEA), MIT",
        },
    }


def check_study_sections(cfg: Mapping[str, Any], source: str, extra_top: Sequence[str] = ()) -> None:
    """Unknown sections or keys of a study config (or of a batch region's overrides) -> ConfigError
    naming ``source``; ``extra_top`` are further allowed top-level keys (e.g. a region's ``name``)."""
    unknown = set(cfg) - set(SECTIONS) - set(extra_top)
    if unknown:
        raise ConfigError(f"{source}: unknown study section(s) {', '.join(sorted(unknown))}; "
                          f"allowed: {', '.join([*extra_top, *sorted(SECTIONS)])}")
    for name, allowed in SECTIONS.items():
        sec = cfg.get(name)
        if sec is None:
            continue
        if not isinstance(sec, Mapping):
            raise ConfigError(f"{source}: [{name}] must be a table")
        if allowed:
            bad = set(sec) - allowed
            if bad:
                raise ConfigError(f"{source}: unknown key(s) in [{name}]: {', '.join(sorted(bad))}; "
                                  f"allowed: {', '.join(sorted(allowed))}")


def _resolve_paths(cfg: dict[str, Any], base: Path) -> None:
    def fix(value: Any) -> Any:
        if isinstance(value, str) and value and not os.path.isabs(value) and "://" not in value:
            return str((base / value).resolve())
        return value

    for sec, key in PATH_KEYS:
        if sec in cfg and key in cfg[sec]:
            cfg[sec][key] = fix(cfg[sec][key])
    rasters = cfg.get("terrain", {}).get("rasters", {})
    for k in list(rasters):
        rasters[k] = fix(rasters[k])
    regions = cfg.get("territories", {}).get("regions")
    if isinstance(regions, str) and _looks_like_path(regions):
        cfg["territories"]["regions"] = fix(regions)
    for name, rule in list(cfg.get("tiers", {}).items()):
        if isinstance(rule, str) and _looks_like_path(rule):
            cfg["tiers"][name] = fix(rule)
        elif isinstance(rule, Mapping) and "file" in rule:
            cfg["tiers"][name] = {**rule, "file": fix(rule["file"])}
    areas = cfg.get("classify", {}).get("areas")
    if isinstance(areas, str) and _looks_like_path(areas):
        cfg["classify"]["areas"] = fix(areas)
    for key in ("water", "boundaries"):  # base-map layers: a file or a list of files
        value = cfg.get("outputs", {}).get(key)
        if value:
            cfg["outputs"][key] = [fix(v) for v in value] if isinstance(value, list) else fix(value)


def _looks_like_path(text: str) -> bool:
    return Path(text).suffix.lower() in {".csv", ".gpkg", ".geojson", ".json", ".parquet", ".shp", ".fgb",
                                          ".tsv", ".txt", ".zip"}


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Recursively merge ``override`` into a copy of ``base`` (tables merge, values replace)."""
    out = copy.deepcopy(dict(base))
    for k, v in override.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_study_config(config: str | os.PathLike[str] | Mapping[str, Any] | None,
                      base_dir: Path | None = None) -> dict[str, Any]:
    """Read and validate a study config.

    Parameters
    ----------
    config
        A TOML file, a dict (relative paths resolved against ``base_dir``, default the current
        folder), or None for the embedded default region.

    Raises
    ------
    ConfigError
        Unknown sections/keys, missing network or localities, malformed TOML.
    """
    if config is None:
        cfg = default_study_config()
        source = "<default region>"
    elif isinstance(config, Mapping):
        cfg = copy.deepcopy(dict(config))
        source = "<study config>"
        check_study_sections(cfg, source)
        _resolve_paths(cfg, Path(base_dir or Path.cwd()))
    else:
        p = Path(config)
        cfg = read_toml(p, "study config")
        source = str(p)
        check_study_sections(cfg, source)
        _resolve_paths(cfg, (base_dir or p.parent).resolve())
    check_study_sections(cfg, source)
    net = cfg.get("network", {})
    if not (net.get("source") or net.get("place") or net.get("bbox")):
        raise ConfigError(f"{source}: [network] needs 'source' (a file), 'place' or 'bbox'")
    if not cfg.get("localities"):
        raise ConfigError(f"{source}: [localities] is missing")
    if not cfg.get("tiers"):
        raise ConfigError(f"{source}: [tiers] is missing (e.g. employment_centre = \"population>=15000\")")
    lang = cfg.get("outputs", {}).get("lang")
    if lang is not None:
        from ._i18n import SUPPORTED

        if lang not in SUPPORTED:
            raise ConfigError(f"{source}: [outputs] lang = {lang!r}; expected one of {', '.join(SUPPORTED)}")
    cfg.setdefault("study", {}).setdefault("name", Path(str(config)).stem if isinstance(config, (str, Path))
                                           else "study")
    return cfg


def _hash_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def input_files(cfg: Mapping[str, Any]) -> dict[str, str]:
    """Every input file a config names (label -> path)."""
    files: dict[str, str] = {}
    for sec, key in sorted(PATH_KEYS):
        v = cfg.get(sec, {}).get(key)
        if isinstance(v, str) and os.path.isfile(v):
            files[f"{sec}.{key}"] = v
    for k, v in cfg.get("terrain", {}).get("rasters", {}).items():
        if os.path.isfile(v):
            files[f"terrain.rasters.{k}"] = v
    for name, rule in cfg.get("tiers", {}).items():
        path = rule if isinstance(rule, str) else (rule.get("file") if isinstance(rule, Mapping) else None)
        if isinstance(path, str) and os.path.isfile(path):
            files[f"tiers.{name}"] = path
    areas = cfg.get("classify", {}).get("areas")
    if isinstance(areas, str) and os.path.isfile(areas):
        files["classify.areas"] = areas
    for key in ("water", "boundaries"):
        value = cfg.get("outputs", {}).get(key) or []
        for i, v in enumerate(value if isinstance(value, list) else [value]):
            if isinstance(v, str) and os.path.isfile(v):
                files[f"outputs.{key}" + (f".{i + 1}" if isinstance(value, list) and len(value) > 1 else "")] = v
    return files


def input_hashes(cfg: Mapping[str, Any]) -> dict[str, str]:
    """SHA-256 of every input file of a config."""
    return {k: _hash_file(v) for k, v in input_files(cfg).items()}


def config_hash(cfg: Mapping[str, Any]) -> str:
    """A stable hash of the resolved config and the package version."""
    text = json.dumps({"config": cfg, "version": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def study_is_complete(outdir: str | os.PathLike[str], config: Mapping[str, Any]) -> bool:
    """Whether ``outdir`` holds a finished study of this exact config and inputs."""
    p = Path(outdir) / "study.json"
    if not p.is_file():
        return False
    try:
        meta = json.loads(p.read_text())
    except (OSError, ValueError):
        return False
    if meta.get("config_hash") != config_hash(config) or meta.get("input_hashes") != input_hashes(config):
        return False
    return all((Path(outdir) / f).is_file() for f in meta.get("files", []))


# ---------------------------------------------------------------------------- network cache
def default_cache_dir() -> Path:
    """``$TGIS_CACHE_DIR``, else ``$XDG_CACHE_HOME/territorial-gis``, else ``~/.cache/territorial-gis``."""
    env = os.environ.get("TGIS_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "territorial-gis" if xdg else Path.home() / ".cache" / "territorial-gis"


def _network_key(net_cfg: Mapping[str, Any]) -> str | None:
    from .speeds import load_profile

    source = net_cfg.get("source")
    if not source or not os.path.isfile(source):
        return None  # online downloads are not cached by file hash
    prof = load_profile(net_cfg.get("profile"), mode=net_cfg.get("mode", "drive"))
    payload = {"source_sha256": _hash_file(source), "profile": prof.to_dict(),
               "options": {k: v for k, v in net_cfg.items() if k not in ("source", "profile")},
               "schema_sha256": _hash_file(net_cfg["schema"]) if net_cfg.get("schema")
               and os.path.isfile(str(net_cfg["schema"])) else net_cfg.get("schema"),
               "version": __version__}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:24]


def build_or_load_network(net_cfg: Mapping[str, Any], cache_dir: Path | None) -> tuple[Any, str]:
    """Build the study network, or load it from the cache; returns ``(network, "hit"|"miss"|"off")``."""
    from .network import build_network, load_network, network_from_bbox, network_from_place

    opts = {k: v for k, v in net_cfg.items() if k in ("layer", "schema", "crossings", "snap_tolerance_m",
                                                      "unmapped", "default_class", "season")}
    key = _network_key(net_cfg)
    cached = Path(cache_dir) / "networks" / f"{key}.tgnet" if (cache_dir and key) else None
    if cached is not None and cached.is_file():
        try:
            net = load_network(cached)
            log.info("network loaded from cache %s", cached)
            return net, "hit"
        except TerritorialGISError:
            log.warning("unreadable cached network %s; rebuilding", cached)
    if net_cfg.get("source"):
        net = build_network(net_cfg["source"], profile=net_cfg.get("profile"), mode=net_cfg.get("mode", "drive"),
                            bbox=net_cfg.get("bbox"), largest_component=net_cfg.get("largest_component", True),
                            **opts)
    elif net_cfg.get("place"):
        net = network_from_place(net_cfg["place"], profile=net_cfg.get("profile"),
                                 mode=net_cfg.get("mode", "drive"))
    else:
        net = network_from_bbox(net_cfg["bbox"], profile=net_cfg.get("profile"), mode=net_cfg.get("mode", "drive"))
    if cached is not None:
        net.save(cached, overwrite=True)
        return net, "miss"
    return net, "off"


# ---------------------------------------------------------------------------- stages
def _load_localities(cfg: Mapping[str, Any], net: Any) -> Any:
    import geopandas as gpd
    import shapely

    from .places import load_localities

    spec = dict(cfg["localities"])
    clip = spec.pop("clip_to_network", True)
    grid = spec.pop("grid_hex_m", None)
    if grid is not None:
        from .classify import make_hex_grid

        hull = shapely.convex_hull(shapely.multipoints(np.column_stack([net.node_lon, net.node_lat])))
        area = gpd.GeoDataFrame(geometry=[hull], crs=4326)
        cells = make_hex_grid(area, float(grid))
        cells = cells[cells.intersects(hull)].reset_index(drop=True)
        pts = cells.geometry.to_crs(net.crs).centroid.to_crs(4326)
        loc = gpd.GeoDataFrame({"place_id": [f"hex_{i}" for i in range(len(cells))], "name": None,
                                "population": np.nan}, geometry=pts.to_numpy(), crs=4326)
        loc.attrs["areas"] = cells.assign(place_id=loc["place_id"].to_numpy())
        loc.attrs["population_note"] = (f"origins are a hexagon grid of {float(grid):.0f} m cells without population: "
                                        "classification by access alone; density unknown")
        log.info("localities: %d hexagon cells of %.0f m over the network area (no population)", len(loc), grid)
        return loc
    loc = load_localities(spec)
    bbox = cfg["network"].get("bbox")
    if clip and bbox is not None:
        w, s, e, n = bbox
        inside = loc.geometry.x.between(w, e) & loc.geometry.y.between(s, n)
        if not inside.any():
            raise ConfigError(f"no locality lies inside the network bbox {list(bbox)}")
        log.info("localities: %d of %d inside the network bbox", int(inside.sum()), len(loc))
        loc = loc[inside].reset_index(drop=True)
    return loc


def _areas(cfg: Mapping[str, Any], localities: Any) -> Any:
    """The polygons to classify: None (localities are the areas), H3 cells, a hex grid or a file."""
    import geopandas as gpd

    from .classify import make_h3_cells, make_hex_grid

    spec = cfg.get("classify", {}).get("areas", "localities")
    if spec in (None, "localities", "points"):
        return None
    if spec == "h3":  # the locality ids are H3 cells (e.g. IPEA's aopdata grid)
        cells = make_h3_cells(cells=localities["place_id"].astype(str).tolist())
        return cells.assign(place_id=localities["place_id"].to_numpy())
    if isinstance(spec, str) and spec.startswith("h3:"):
        return make_h3_cells(localities, resolution=int(spec[3:]))
    if isinstance(spec, str) and spec.startswith("hex:"):
        return make_hex_grid(localities, float(spec[4:]))
    areas = gpd.read_file(spec)
    if areas.crs is None:
        raise ConfigError(f"areas file {spec} has no CRS")
    return areas.to_crs(4326)


def _join_area_class(localities: Any, areas: Any) -> Any:
    import geopandas as gpd

    cols = [c for c in ("area_id", "area_class", "mra_type", "class_reasons", "density_per_km2") if c in areas]
    joined = gpd.sjoin(localities, areas[[*cols, "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")].drop(columns=["index_right"])
    return joined


@dataclass
class _Ctx:
    cfg: dict[str, Any]
    stage_dir: Path
    cache_dir: Path | None
    files: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    def write(self, name: str, df: Any, layer: str | None = None) -> None:
        path = self.stage_dir / name
        if path.suffix == ".gpkg" and layer:
            add_gpkg_layer(df, path, layer)  # several layers go into one GeoPackage
        else:
            write_table(df, path, overwrite=True)
        self.files[name] = path


def _stage_network(ctx: _Ctx) -> None:
    net, cache = build_or_load_network(ctx.cfg["network"], ctx.cache_dir)
    ctx.state["network"] = net
    ctx.info["network_cache"] = cache
    ctx.info["network"] = net.describe()
    if ctx.cfg.get("outputs", {}).get("network_gpkg", True):
        net.save(ctx.stage_dir / "network.gpkg", overwrite=True)
        ctx.files["network.gpkg"] = ctx.stage_dir / "network.gpkg"


def _stage_places(ctx: _Ctx) -> None:
    from .places import load_tiers

    net = ctx.state["network"]
    loc = _load_localities(ctx.cfg, net)
    tiers = load_tiers(ctx.cfg["tiers"], loc)
    ctx.state["localities"] = loc
    ctx.state["tiers"] = tiers
    # a generated grid carries its polygons (the areas to classify) and a note on population
    ctx.state["grid_areas"] = loc.attrs.get("areas")
    if loc.attrs.get("population_note"):
        ctx.info.setdefault("notes", []).append(loc.attrs["population_note"])
    import geopandas as gpd

    dests = pd.concat([t.assign(tier=name) for name, t in tiers.items()], ignore_index=True)
    ctx.write("destinations.gpkg", gpd.GeoDataFrame(dests, geometry="geometry", crs=4326), layer="destinations")


def _stage_access(ctx: _Ctx) -> None:
    from .access import isochrones, population_within, travel_times_to_nearest

    net, loc, tiers = ctx.state["network"], ctx.state["localities"], ctx.state["tiers"]
    acc = ctx.cfg.get("access", {})
    kw = {"max_snap_m": float(acc.get("max_snap_m", 2000.0)), "walk_kph": acc.get("walk_kph")}
    table = travel_times_to_nearest(net, loc, tiers, **kw)
    ctx.state["access"] = table
    pw = acc.get("population_within_min")
    if pw and table["population"].notna().any():
        ctx.write("population_within.csv", population_within(table, thresholds_min=pw))
    iso = acc.get("isochrones_min")
    if iso:
        tier = acc.get("isochrone_tier") or next(iter(tiers))
        if tier not in tiers:
            raise ConfigError(f"[access] isochrone_tier '{tier}' is not a tier ({', '.join(tiers)})")
        polys = isochrones(net, tiers[tier], thresholds_min=[float(x) for x in iso], bands=True, **kw)
        ctx.write("isochrones.gpkg", polys.assign(tier=tier), layer="isochrones")


def _stage_classify(ctx: _Ctx) -> None:
    from .classify import classify_areas, sensitivity_table, summarize_classes

    table = ctx.state["access"]
    ccfg = ctx.cfg.get("classify", {})
    rasters = ctx.cfg.get("terrain", {}).get("rasters") or None
    areas = ctx.state.get("grid_areas")
    if areas is None:
        areas = _areas(ctx.cfg, table)
    tiers = ccfg.get("tiers")
    if areas is None:
        classified = classify_areas(table, rules=ccfg.get("rules"), tiers=tiers, rasters=rasters)
        loc = classified
    else:
        classified = classify_areas(areas, rules=ccfg.get("rules"), tiers=tiers, localities=table, rasters=rasters)
        loc = _join_area_class(table, classified)
        ctx.write("areas.gpkg", classified, layer="areas")
    ctx.info.setdefault("notes", []).extend(list(classified.attrs.get("notes", [])))
    ctx.state["classified"] = classified
    ctx.state["localities_out"] = loc
    sens = sensitivity_table(classified, rules=ccfg.get("rules"), tiers=tiers)
    ctx.write("sensitivity.csv", sens)
    ctx.write("summary.csv", summarize_classes(classified))


def _stage_corridors(ctx: _Ctx) -> None:
    from .corridors import DEFAULT_CANDIDATES, analyze_corridors

    c = ctx.cfg.get("corridors", {})
    if not c.get("enabled", True):
        return
    tiers = ctx.state["tiers"]
    targets = c.get("targets") or list(tiers)
    missing = [t for t in targets if t not in tiers]
    if missing:
        raise ConfigError(f"[corridors] targets {missing} are not tiers of the study ({', '.join(tiers)})")
    loc = ctx.state["localities_out"]
    if not (loc["area_class"] == "MRA").any():
        log.info("no MRA locality: no corridor to suggest")
        ctx.info["corridors"] = "no MRA locality"
        return
    res = analyze_corridors(ctx.state["network"], loc, {t: tiers[t] for t in targets},
                            upgrade_to=c.get("upgrade_to", "secondary"), top=int(c.get("top", 20)),
                            max_snap_m=float(ctx.cfg.get("access", {}).get("max_snap_m", 2000.0)),
                            walk_kph=ctx.cfg.get("access", {}).get("walk_kph"),
                            n_candidates=int(c.get("n_candidates", DEFAULT_CANDIDATES)))
    if len(res.corridors):
        ctx.write("corridors.gpkg", res.corridors, layer="corridors")
    if len(res.segments):
        ctx.write("corridors.gpkg", res.segments, layer="segments")
    if len(res.upgrades):
        ctx.write("corridors.gpkg", res.upgrades, layer="upgrades")
    ctx.write("upgrades.csv", pd.DataFrame(res.upgrades.drop(columns=res.upgrades.geometry.name))
              if len(res.upgrades) else pd.DataFrame(columns=["rank"]))
    ctx.info["corridors"] = {"n": len(res.corridors), "stretches": len(res.segments),
                             "upgrades_ranked": len(res.upgrades)}


def _stage_hubs(ctx: _Ctx) -> None:
    from .hubs import assign_hinterlands, hinterland_polygons, select_hubs, summarize_hubs

    h = ctx.cfg.get("hubs", {})
    if not h or not h.get("enabled", True):
        return
    net, loc = ctx.state["network"], ctx.state["localities_out"]
    acc = ctx.cfg.get("access", {})
    kw = {"max_snap_m": float(acc.get("max_snap_m", 2000.0)), "walk_kph": acc.get("walk_kph")}
    hubs = select_hubs(net, loc, float(h["max_time_min"]), model=h.get("model", "cover"), k=h.get("k"),
                       method=h.get("method", "auto"), min_population=h.get("min_population"), **kw)
    assigned = assign_hinterlands(net, loc, hubs, **kw)
    polys = hinterland_polygons(assigned)
    summary = summarize_hubs(assigned, hubs)
    hubs_out = hubs.merge(summary, on="hub_id", how="left", suffixes=("", "_summary")) \
        if "hub_id" in hubs and "hub_id" in summary else hubs
    ctx.state["hubs"] = hubs
    ctx.write("hubs.gpkg", hubs_out, layer="hubs")
    ctx.write("hubs.gpkg", polys, layer="hinterlands")
    for col in ("hub_id", "travel_time_hub_min"):
        if col in assigned:
            loc[col] = assigned[col].to_numpy()
    ctx.info["hubs"] = {"n": len(hubs), "model": h.get("model", "cover"),
                        "method": str(hubs["method"].iloc[0]) if "method" in hubs and len(hubs) else None,
                        "optimal": bool(hubs["optimal"].iloc[0]) if "optimal" in hubs and len(hubs) else None}


def _stage_territories(ctx: _Ctx) -> None:
    from .territories import (
        DEFAULT_EMPLOYMENT_LIMIT_MIN,
        build_territories,
        regions_from,
        territory_polygons,
    )

    t = ctx.cfg.get("territories", {})
    if not t or not t.get("enabled", True):
        return
    tiers = ctx.state["tiers"]
    centres = t.get("centres", "intermediate_city")
    if centres not in tiers:
        raise ConfigError(f"[territories] centres '{centres}' is not a tier of the study ({', '.join(tiers)})")
    emp = t.get("employment_tier")
    if emp and emp not in tiers:
        raise ConfigError(f"[territories] employment_tier '{emp}' is not a tier of the study ({', '.join(tiers)})")
    acc = ctx.cfg.get("access", {})
    loc = ctx.state["localities_out"]
    regions = regions_from(t["regions"]) if t.get("regions") else None
    assigned = build_territories(
        ctx.state["network"], loc, tiers[centres], t.get("max_time_min"),
        employment_centres=tiers[emp] if emp else None, hubs=ctx.state.get("hubs"),
        employment_limit_min=float(t.get("employment_limit_min", DEFAULT_EMPLOYMENT_LIMIT_MIN)),
        max_snap_m=float(acc.get("max_snap_m", 2000.0)), walk_kph=acc.get("walk_kph"),
        regions=regions, region_id_col=t.get("region_id_column"),
        within_region=bool(t.get("within_region", False)))
    polys = territory_polygons(assigned, tiers[centres])
    new_cols = [c for c in assigned.columns if c not in loc.columns]
    ctx.state["localities_out"] = assigned
    ctx.write("territories.gpkg", polys, layer="territories")
    ctx.info["territories"] = {"n": len(polys), "centres_tier": centres, "columns": new_cols,
                               "beyond_limit": int((assigned.get("territory_status") ==
                                                    "no_centre_within_limit").sum())}


def _stage_write_localities(ctx: _Ctx) -> None:
    loc = ctx.state["localities_out"]
    if "locality_id" not in loc and "place_id" in loc:
        loc = loc.assign(locality_id=loc["place_id"].to_numpy())
    ctx.write("localities.gpkg", loc, layer="localities")
    ctx.state["summary"] = _summary(ctx)  # the localities are final from here on


def _summary(ctx: _Ctx) -> dict[str, Any]:
    loc = ctx.state["localities_out"]
    pop = loc["population"] if "population" in loc else pd.Series(np.nan, index=loc.index)
    by_class = {str(k): float(v) for k, v in pop.groupby(loc["area_class"]).sum(min_count=1).items()
                if pd.notna(v)} if "area_class" in loc else {}
    count_by_class = {str(k): int(v) for k, v in loc["area_class"].value_counts().items()} \
        if "area_class" in loc else {}
    med = {c[len("travel_time_"):-len("_min")]: (float(loc[c].median()) if loc[c].notna().any() else None)
           for c in loc.columns if c.startswith("travel_time_") and c.endswith("_min")
           and c[len("travel_time_"):-len("_min")] in ctx.state.get("tiers", {})}
    known = pop.notna().any()
    return {"localities": len(loc),
            "population": float(np.nansum(pop.to_numpy(dtype=float))) if known else None,
            "population_by_class": by_class, "localities_by_class": count_by_class,
            "median_travel_time_min": med,
            "unreachable": int(loc["unreachable_reason"].notna().sum()) if "unreachable_reason" in loc else 0}


def _stage_map(ctx: _Ctx) -> None:
    out = ctx.cfg.get("outputs", {})
    title = ctx.cfg.get("study", {}).get("title") or ctx.cfg.get("study", {}).get("name")
    lang = out.get("lang")
    cdn = bool(out.get("cdn", out.get("self_contained", True) is False))
    if out.get("map", True) or out.get("report", True):
        _record_map_inputs(ctx)
    _write_study_json(ctx, final=False)
    if out.get("map", True):
        from .maps import map_study

        map_study(ctx.stage_dir, ctx.stage_dir / "map.html", cdn=cdn, overwrite=True, title=title, lang=lang)
        ctx.files["map.html"] = ctx.stage_dir / "map.html"
    if out.get("report", True):
        from .report import make_report

        make_report(ctx.stage_dir, ctx.stage_dir / "report.html", overwrite=True, title=title, lang=lang)
        ctx.files["report.html"] = ctx.stage_dir / "report.html"


def _record_map_inputs(ctx: _Ctx) -> None:
    """What the map and report need beyond the stage outputs: the methods record of study.json
    (rules, speed profile, routing options) and the base-map layers the study names."""
    from ._basemap import read_basemap_layers
    from ._studymeta import describe_methods
    from .speeds import load_profile

    classified = ctx.state.get("classified")
    acc = ctx.cfg.get("access", {})
    net_cfg = ctx.cfg.get("network", {})
    ctx.info["methods"] = describe_methods(
        rules=classified.attrs.get("rules") if classified is not None else None,
        profile=load_profile(net_cfg.get("profile"), mode=net_cfg.get("mode", "drive")),
        max_snap_m=acc.get("max_snap_m", 2000.0), walk_kph=acc.get("walk_kph"),
        tiers=ctx.cfg.get("tiers"), tiers_judged=classified.attrs.get("tiers") if classified is not None else None,
        measured=[c for c in classified.columns if classified[c].notna().any()] if classified is not None else None)
    out = ctx.cfg.get("outputs", {})
    net = ctx.state.get("network")
    bbox = (float(net.node_lon.min()), float(net.node_lat.min()), float(net.node_lon.max()),
            float(net.node_lat.max())) if net is not None and net.n_nodes else None
    layers = read_basemap_layers(water=out.get("water"), boundaries=out.get("boundaries"), bbox=bbox)
    for name, gdf in layers.items():
        ctx.write("basemap.gpkg", gdf, layer=name)


def _write_study_json(ctx: _Ctx, final: bool) -> None:
    cfg = ctx.cfg
    meta = {
        "name": cfg.get("study", {}).get("name"),
        "title": cfg.get("study", {}).get("title"),
        "territorial_gis_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": cfg,
        "config_hash": config_hash(cfg),
        "input_hashes": input_hashes(cfg),
        "inputs": [{"name": k, "path": v} for k, v in input_files(cfg).items()],
        "attribution": cfg.get("attribution", {}),
        "timings_s": {k: round(v, 3) for k, v in ctx.timings.items()},
        "summary": ctx.state.get("summary", {}),
        "files": sorted({*ctx.files, "study.json"}),
        **{k: v for k, v in ctx.info.items()},
    }
    path = ctx.stage_dir / "study.json"
    path.write_text(json.dumps(meta, indent=2, default=_json_default))
    ctx.files["study.json"] = path


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (np.ndarray,)):
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
    ("outputs", _stage_write_localities),
    ("map", _stage_map),
]


def run_study(config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
              outdir: str | os.PathLike[str] = "outputs/study", *, overwrite: bool = False,
              cache_dir: str | os.PathLike[str] | None = None, progress: bool = True,
              base_dir: Path | None = None) -> StudyResult:
    """Run a whole study and write its outputs folder.

    Parameters
    ----------
    config
        Study config TOML file, dict, or None for the embedded default region.
    outdir
        Output folder; existing study outputs in it are replaced only with ``overwrite``.
    cache_dir
        Where built networks are cached (default :func:`default_cache_dir`); ``False``-y
        strings are not accepted, pass a folder.

    Raises
    ------
    StageError
        A stage failed (``.stage`` names it); nothing was written to ``outdir``.
    """
    cfg = load_study_config(config, base_dir=base_dir)
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"output folder {out} is a file")
    if out.is_dir() and not overwrite:
        clash = [f for f in OUTPUT_FILES if (out / f).exists()]
        if clash:
            raise OutputExistsError(f"{out} already holds study outputs ({', '.join(clash[:3])}...); "
                                    "use --overwrite to replace them")
    out.mkdir(parents=True, exist_ok=True)
    stage_dir = Path(tempfile.mkdtemp(prefix=".tgis-staging-", dir=out))
    ctx = _Ctx(cfg=cfg, stage_dir=stage_dir, cache_dir=Path(cache_dir) if cache_dir else default_cache_dir())
    pbar = bar(len(STAGES), desc="study", unit="stage") if progress else None
    try:
        for name, fn in STAGES:
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
        _write_study_json(ctx, final=True)
        # every stage succeeded: move the outputs into place
        for f in OUTPUT_FILES:
            if (out / f).exists() and not (stage_dir / f).exists():
                (out / f).unlink()  # stale output of an earlier run with other stages
        for name, path in ctx.files.items():
            os.replace(path, out / name)
    finally:
        if pbar is not None:
            pbar.close()
        shutil.rmtree(stage_dir, ignore_errors=True)
    files = {name: out / name for name in ctx.files}
    summary = ctx.state["summary"]
    log.info("study '%s' written to %s (%d files, %.1f s)", cfg["study"].get("name"), out, len(files),
             sum(ctx.timings.values()))
    return StudyResult(outdir=out, files=files, summary=summary, timings=dict(ctx.timings), config=cfg)
