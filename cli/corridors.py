"""``tgis corridors``: corridors from marginal areas to dynamic markets and an upgrade ranking."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._options import input_path, output_option, overwrite_option, profile_option, route_options

if TYPE_CHECKING:
    import geopandas as gpd

    from territorial_gis import RouteOptions


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
@click.option("--id-column", "id_col", default=None,
              help="Locality id column (default: locality_id, place_id, area_id or id).")
@click.option("--population-column", "population_col", default="population", show_default=True,
              help="Population column of the localities.")
@profile_option
@route_options
@output_option(help="Output lines: .gpkg (layers corridors, segments, upgrades) or .parquet "
                    "(GeoParquet; segments and upgrades beside it as <stem>_segments/_upgrades). "
                    "The ranking is also written as <stem>_upgrades.csv.")
@overwrite_option
def corridors(network: str, classified: str, targets: str, destinations: str | None,
              tier_rules: tuple[str, ...], upgrade_to: str, top: int, n_candidates: int, no_upgrades: bool,
              only_class: str, id_col: str | None, population_col: str, profile: str | None,
              route: RouteOptions, output: str, overwrite: bool) -> None:
    """Suggest corridors from MRA localities of CLASSIFIED to their nearest target on NETWORK,
    aggregate them into road stretches and rank stretch upgrades by re-routing.

    NETWORK is a saved network (.tgnet, network .gpkg) or an OSM/road line file built on the
    fly. CLASSIFIED is a localities table (GPKG/GeoParquet/CSV with lon/lat) with area_class
    and population columns (as written by `tgis classify`).
    """
    import logging

    import pandas as pd

    from territorial_gis._io import atomic_output, check_outputs
    from territorial_gis.access import open_network
    from territorial_gis.corridors import analyze_corridors
    from territorial_gis.errors import ColumnError, ConfigError, InputFileError
    from territorial_gis.places import load_places
    from territorial_gis.speeds import load_profile

    log = logging.getLogger("territorial_gis.cli.corridors")
    out = Path(output)
    if out.suffix.lower() not in (".gpkg", ".parquet", ".geoparquet"):
        raise InputFileError(f"unsupported output format '{out.suffix}' for {out}; use .gpkg or .parquet")
    csv_path = out.with_name(f"{out.stem}_upgrades.csv")
    extra = ([] if out.suffix.lower() == ".gpkg"
             else [out.with_name(f"{out.stem}_{n}{out.suffix}") for n in ("segments", "upgrades")])
    check_outputs(out, csv_path, *extra, overwrite=overwrite)
    wanted = [t.strip() for t in targets.split(",") if t.strip()]
    if not wanted:
        raise ConfigError("--targets names no tier (e.g. --targets intermediate_city)")
    prof = load_profile(profile) if profile else load_profile()
    if not no_upgrades and upgrade_to not in prof.highway_speed_kph:
        raise ConfigError(f"--upgrade-to '{upgrade_to}' is not a road class of the speed profile "
                          f"{prof.source}; classes: {', '.join(sorted(prof.highway_speed_kph))}")
    localities = load_places(classified, id_col=id_col, pop_col=population_col
                             if population_col != "population" else None)
    if "area_class" not in localities:
        raise ColumnError(f"{classified} has no 'area_class' column (run `tgis classify` first); columns: "
                          f"{', '.join(c for c in localities.columns if c != 'geometry')}")
    tiers: dict[str, gpd.GeoDataFrame] = {}
    if destinations is not None:
        dest = load_places(destinations)
        if "tier" not in dest:
            raise ColumnError(f"{destinations} has no 'tier' column; columns: "
                              f"{', '.join(c for c in dest.columns if c != 'geometry')}")
        have = sorted(dest["tier"].astype(str).unique())
        for t in wanted:
            if t not in have:
                raise ConfigError(f"unknown target tier '{t}': {destinations} has tiers {', '.join(have)}")
            d = dest[dest["tier"].astype(str) == t]
            tiers[t] = d.rename(columns={"place_id": "dest_id"})
    elif tier_rules:
        from territorial_gis.places import load_tiers, parse_tier_options

        spec = parse_tier_options(tier_rules)
        for t in wanted:
            if t not in spec:
                raise ConfigError(f"unknown target tier '{t}': --tier gives {', '.join(spec)}")
        tiers = load_tiers({t: spec[t] for t in wanted}, localities)
    else:
        raise ConfigError("give the target destinations with --destinations FILE (with a 'tier' column) "
                          "or --tier NAME=FILE_OR_RULE")
    net = open_network(network, profile=prof)
    res = analyze_corridors(net, localities, tiers, only_class=only_class,
                            upgrade_to=None if no_upgrades else upgrade_to, top=top,
                            n_candidates=n_candidates, profile=prof if profile else None,
                            id_col="place_id", population_col="population",
                            options=route)
    if len(res.corridors) == 0:
        log.warning("no %s locality reaches a target: the outputs hold no corridor", only_class)
    layers = {"corridors": _for_file(res.corridors), "segments": _for_file(res.segments),
              "upgrades": _for_file(res.upgrades)}
    written = _write_layers(layers, out, overwrite)
    try:
        with atomic_output(csv_path, overwrite) as tmp:
            table = pd.DataFrame(layers["upgrades"].drop(columns="geometry"))
            table.to_csv(tmp, index=False)
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    best = ""
    if len(res.upgrades):
        b = res.upgrades.iloc[0]
        best = (f"; best upgrade: stretch {b['stretch_id']} ({b['highway']}, {b['length_km']:.2f} km) saves "
                f"{b['person_min_saved']:.0f} person-min ({b['person_min_saved_per_km']:.0f} per km)")
    click.echo(f"{len(res.corridors)} corridors, {len(res.segments)} stretches, {len(res.upgrades)} ranked "
               f"upgrades -> {out} (+ {csv_path.name}){best}")
