"""``tgis corridors``: corridors from marginal areas to dynamic markets and an upgrade ranking."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._console import echo_result
from ._options import (
    given,
    input_path,
    output_option,
    overwrite_option,
    places_options,
    profile_option,
    route_options,
)

if TYPE_CHECKING:
    import geopandas as gpd

    from territorial_gis import RouteOptions
    from territorial_gis.corridors import CorridorAnalysis

_FORMATS = (".gpkg", ".parquet", ".geoparquet")


def _for_file(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drop the in-memory path column and turn road-piece id arrays into ';'-joined text."""
    out = gdf.drop(columns=[c for c in ("edge_rows",) if c in gdf])
    if "segment_ids" in out:
        out["segment_ids"] = [";".join(str(int(x)) for x in s) for s in out["segment_ids"]]
    out.attrs = {}
    return out


def _write_layers(layers: dict[str, gpd.GeoDataFrame], out: Path, overwrite: bool) -> list[Path]:
    """GPKG: one file with a layer each; GeoParquet: ``OUT`` (corridors) and ``<stem>_<layer>.parquet``."""
    from territorial_gis._io import atomic_output, write_gpkg_layers

    suffix = out.suffix.lower()
    if suffix == ".gpkg":
        return [write_gpkg_layers(layers, out, overwrite)]
    paths = [out] + [out.with_name(f"{out.stem}_{name}{out.suffix}") for name in list(layers)[1:]]
    written: list[Path] = []
    try:
        for path, gdf in zip(paths, layers.values(), strict=True):
            with atomic_output(path, overwrite) as tmp:
                gdf.to_parquet(tmp)
            written.append(path)
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    return paths


def _output_paths(output: str, overwrite: bool) -> tuple[Path, Path]:
    """OUT and the ranking CSV beside it, all checked writable (with, for GeoParquet, the
    segments/upgrades files beside it)."""
    from territorial_gis._io import check_outputs

    check_outputs(output, overwrite=overwrite, formats=_FORMATS)
    out = Path(output)
    csv_path = out.with_name(f"{out.stem}_upgrades.csv")
    extra = ([] if out.suffix.lower() == ".gpkg"
             else [out.with_name(f"{out.stem}_{n}{out.suffix}") for n in ("segments", "upgrades")])
    check_outputs(csv_path, *extra, overwrite=overwrite)
    return out, csv_path


def _target_spec(targets: str, destinations: str | None, tier_rules: tuple[str, ...]) -> dict[str, str]:
    """Check the target options before any file is read; the --tier spec of the targets ({}
    with --destinations)."""
    from territorial_gis.errors import ConfigError
    from territorial_gis.places import parse_tier_options

    wanted = [t.strip() for t in targets.split(",") if t.strip()]
    if not wanted:
        raise ConfigError("--targets names no tier (e.g. --targets intermediate_city)")
    if destinations is not None and tier_rules:
        raise ConfigError("give the targets with --destinations or with --tier, not both")
    if destinations is None and not tier_rules:
        raise ConfigError("give the target destinations with --destinations FILE (with a 'tier' column) "
                          "or --tier NAME=FILE_OR_RULE")
    if destinations is not None:
        return dict.fromkeys(wanted, "")
    spec = parse_tier_options(tier_rules)
    missing = [t for t in wanted if t not in spec]
    if missing:
        raise ConfigError(f"unknown target tier '{missing[0]}': --tier gives {', '.join(spec)}")
    return {t: spec[t] for t in wanted}


def _target_tiers(spec: dict[str, str], destinations: str | None,
                  localities: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """The target destinations: tiers of a --destinations file, or the --tier files/rules."""
    from territorial_gis.errors import ColumnError, ConfigError
    from territorial_gis.places import load_places, load_tiers

    wanted = list(spec)
    if destinations is not None:
        dest = load_places(destinations)
        if "tier" not in dest:
            raise ColumnError(f"{destinations} has no 'tier' column; columns: "
                              f"{', '.join(c for c in dest.columns if c != 'geometry')}")
        have = sorted(dest["tier"].astype(str).unique())
        missing = [t for t in wanted if t not in have]
        if missing:
            raise ConfigError(f"unknown target tier '{missing[0]}': {destinations} has tiers {', '.join(have)}")
        return {t: dest[dest["tier"].astype(str) == t].rename(columns={"place_id": "dest_id"}) for t in wanted}
    return load_tiers(spec, localities)


def _write_outputs(res: CorridorAnalysis, out: Path, csv_path: Path, overwrite: bool) -> None:
    """The three layers, then the ranking as CSV; nothing is left when a write fails."""
    import pandas as pd

    from territorial_gis._io import atomic_output

    layers = {"corridors": _for_file(res.corridors), "segments": _for_file(res.segments),
              "upgrades": _for_file(res.upgrades)}
    written = _write_layers(layers, out, overwrite)
    try:
        with atomic_output(csv_path, overwrite) as tmp:
            pd.DataFrame(layers["upgrades"].drop(columns="geometry")).to_csv(tmp, index=False)
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise


def _summary(res: CorridorAnalysis, out: Path, csv_path: Path) -> str:
    best = ""
    if len(res.upgrades):
        b = res.upgrades.iloc[0]
        best = (f"; best upgrade: stretch {b['stretch_id']} ({b['highway']}, {b['length_km']:.2f} km) saves "
                f"{b['person_min_saved']:.0f} person-min ({b['person_min_saved_per_km']:.0f} per km)")
    return (f"{len(res.corridors)} corridors, {len(res.segments)} stretches, {len(res.upgrades)} ranked "
            f"upgrades -> {out} (+ {csv_path.name}){best}")


@click.command("corridors")
@input_path("network")
@input_path("classified")
@click.option("--targets", "targets", required=True, metavar="TIER[,TIER]",
              help="Target tier(s): corridors go to the nearest destination of any of them.")
@click.option("--destinations", "destinations", default=None, type=click.Path(dir_okay=False),
              help="Destinations file (GPKG/GeoParquet/GeoJSON/CSV) with a 'tier' column.")
@click.option("--tier", "tier_rules", multiple=True, metavar="NAME=FILE_OR_RULE",
              help="A destination tier as a file or a rule over the localities, e.g. "
                   "intermediate_city=population>=15000. Repeatable; used when --destinations is not given.")
@click.option("--upgrade-to", "upgrade_to", default="secondary", show_default=True,
              help="Road class of the speed profile that candidate stretches are upgraded to.")
@click.option("--top", default=20, show_default=True, type=click.IntRange(min=1),
              help="Rows of the upgrade ranking.")
@click.option("--candidates", "n_candidates", default=50, show_default=True, type=click.IntRange(min=1),
              help="Stretches re-routed (the slow ones on corridors serving the most people).")
@click.option("--no-upgrades", is_flag=True, help="Only corridors and segments; skip the ranking.")
@click.option("--only-class", default="MRA", show_default=True,
              help="Class of the area_class column routed from.")
@places_options("CLASSIFIED")
@profile_option
@route_options
@output_option(help="Output lines: .gpkg (layers corridors, segments, upgrades) or .parquet "
                    "(GeoParquet; segments and upgrades beside it as <stem>_segments/_upgrades). "
                    "The ranking is also written as <stem>_upgrades.csv.")
@overwrite_option
def corridors(network: str, classified: str, targets: str, destinations: str | None,
              tier_rules: tuple[str, ...], upgrade_to: str, top: int, n_candidates: int, no_upgrades: bool,
              only_class: str, places: dict[str, Any], profile: str | None, route: RouteOptions, output: str,
              overwrite: bool) -> None:
    """Suggest corridors from MRA localities of CLASSIFIED to their nearest target on NETWORK,
    aggregate them into road stretches and rank stretch upgrades by re-routing.

    NETWORK is a saved network (.tgnet, network .gpkg) or an OSM/road line file built on the
    fly. CLASSIFIED is a localities table (GPKG/GeoParquet/CSV with lon/lat) with area_class
    and population columns (as written by `tgis classify`).
    """
    import logging

    from territorial_gis.corridors import analyze_corridors
    from territorial_gis.errors import ColumnError, ConfigError
    from territorial_gis.network import open_network
    from territorial_gis.places import load_places
    from territorial_gis.speeds import load_profile

    if no_upgrades and given("upgrade_to", "top", "n_candidates"):
        raise click.UsageError(f"{', '.join(given('upgrade_to', 'top', 'n_candidates'))} apply to the upgrade "
                               "ranking, which --no-upgrades skips")
    out, csv_path = _output_paths(output, overwrite)
    spec = _target_spec(targets, destinations, tier_rules)
    prof = load_profile(profile) if profile else load_profile()
    if not no_upgrades and upgrade_to not in prof.highway_speed_kph:
        raise ConfigError(f"--upgrade-to '{upgrade_to}' is not a road class of the speed profile "
                          f"{prof.source}; classes: {', '.join(sorted(prof.highway_speed_kph))}")
    localities = load_places(classified, **places)
    if "area_class" not in localities:
        raise ColumnError(f"{classified} has no 'area_class' column (run `tgis classify` first); columns: "
                          f"{', '.join(c for c in localities.columns if c != 'geometry')}")
    tiers = _target_tiers(spec, destinations, localities)
    net = open_network(network, profile=prof)
    res = analyze_corridors(net, localities, tiers, only_class=only_class,
                            upgrade_to=None if no_upgrades else upgrade_to, top=top,
                            n_candidates=n_candidates, profile=prof if profile else None,
                            id_col="place_id", population_col="population", options=route)
    if len(res.corridors) == 0:
        logging.getLogger("territorial_gis.cli.corridors").warning(
            "no %s locality reaches a target: the outputs hold no corridor", only_class)
    _write_outputs(res, out, csv_path, overwrite)
    echo_result(_summary(res, out, csv_path))
