"""``tgis appraise``: which road to build first, under a budget, and how sure we are."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._console import echo_result
from ._options import (
    class_areas_option,
    input_path,
    output_option,
    overwrite_option,
    places_options,
    profile_option,
    route_options,
    scenario_option,
)

if TYPE_CHECKING:
    import geopandas as gpd

    from territorial_gis import RouteOptions
    from territorial_gis.appraisal import Appraisal
    from territorial_gis.network import RoadNetwork

_SUFFIX = {"": 1.0, "k": 1e3, "m": 1e6, "M": 1e6, "bn": 1e9, "b": 1e9}


def parse_budget(text: str) -> float:
    """``40e6``, ``40000000``, ``40M``, ``1.5bn``, ``250k`` -> a number (sign kept: the library
    refuses a negative budget with a clear message)."""
    from territorial_gis.errors import ConfigError

    m = re.fullmatch(r"\s*([-+]?[0-9][0-9_.,]*(?:[eE][-+]?[0-9]+)?)\s*(k|m|M|bn|b)?\s*", str(text))
    if m is None:
        raise ConfigError(f"--budget {text!r}: expected a number such as 40000000, 40e6 or 40M")
    try:
        value = float(m.group(1).replace(",", "").replace("_", ""))
    except ValueError:
        raise ConfigError(f"--budget {text!r}: expected a number such as 40000000, 40e6 or 40M") from None
    return value * _SUFFIX[m.group(2) or ""]


@click.command("appraise")
@input_path("network")
@input_path("localities")
@click.option("--tier", "tier_rules", multiple=True, metavar="NAME=FILE_OR_RULE",
              help="A destination tier: a file of places or a rule over the localities. Repeatable.")
@click.option("--budget", required=True, metavar="AMOUNT",
              help="Money available in the cost table's currency: 40000000, 40e6 or 40M.")
@click.option("--projects", "projects_file", default=None, type=click.Path(dir_okay=False),
              help="Line layer of user projects (project_id, action upgrade|new, to_class, optional "
                   "to_surface, cost, terrain, name).")
@click.option("--corridor-candidates/--no-corridor-candidates", default=True, show_default=True,
              help="Also appraise the slow stretches on the corridors from MRA localities (needs area_class).")
@click.option("--targets", default=None, metavar="TIER[,TIER]",
              help="Tiers the corridors go to (default: every --tier).")
@click.option("--upgrade-to", default="secondary", show_default=True,
              help="Road class corridor stretches are upgraded to.")
@click.option("--to-surface", default="asphalt", show_default=True, help="Surface of the upgraded roads.")
@click.option("--candidates", "n_candidates", type=click.IntRange(min=1), default=30, show_default=True,
              help="Corridor stretches appraised (the slow ones serving the most MRA people).")
@click.option("--costs", default=None, help="Cost table (TOML; default: the shipped indicative one).")
@click.option("--uncertainty", default=None, help="Uncertainty ranges (TOML; default: the shipped ones).")
@click.option("--runs", type=click.IntRange(min=0), default=100, show_default=True,
              help="Perturbed runs for the P10-P90 ranges (0: none).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the perturbed runs.")
@click.option("--rules", default=None, type=click.Path(dir_okay=False),
              help="MRA/FRA rules (TOML) to count localities moving from MRA to FRA.")
@click.option("--objective", type=click.Choice(["person_min", "mra_to_fra", "newly_connected"]),
              default="person_min",
              show_default=True, help="What the portfolio maximises per unit of cost.")
@click.option("--dem", default=None, type=click.Path(dir_okay=False),
              help="DEM raster: each project's terrain from the mean slope along it.")
@class_areas_option
@places_options("LOCALITIES")
@scenario_option()
@profile_option
@route_options
@output_option(help="Output GeoPackage (layers projects, portfolio); beside it <stem>.csv (ranked projects), "
                    "<stem>_portfolio.csv (the curve), <stem>_portfolio.png (chart), <stem>_summary.json.")
@overwrite_option
def appraise(network: str, localities: str, tier_rules: tuple[str, ...], budget: str, projects_file: str | None,
             corridor_candidates: bool, targets: str | None, upgrade_to: str, to_surface: str, n_candidates: int,
             costs: str | None, uncertainty: str | None, runs: int, seed: int, rules: str | None, objective: str,
             dem: str | None, class_areas: str | None, places: dict[str, Any], scenario_spec: str | None,
             profile: str | None, route: RouteOptions, output: str, overwrite: bool) -> None:
    """Appraise road projects on NETWORK for LOCALITIES: costs, benefits, a portfolio under
    --budget chosen with re-routing after each pick, and P10-P90 ranges over perturbed runs."""
    from territorial_gis.appraisal import (
        appraise_projects,
        check_budget,
        combine_candidates,
        load_cost_table,
        load_uncertainty,
        price_projects,
        read_projects,
    )
    from territorial_gis.classify import load_rules
    from territorial_gis.errors import ConfigError

    from ._study_inputs import open_scenario_network, read_class_areas, read_study_inputs

    out, extra = _output_paths(output, overwrite)
    if not projects_file and not corridor_candidates:
        raise ConfigError("no candidate project to appraise: give --projects FILE, or leave the corridor "
                          "candidates on")
    amount = check_budget(parse_budget(budget))
    # every settings file is read (and checked) before any heavy work
    table = load_cost_table(costs)
    ranges = load_uncertainty(uncertainty)
    rule_set = load_rules(rules) if rules else None
    areas = read_class_areas(class_areas, rule_set)
    net, route = open_scenario_network(network, profile, scenario_spec, route)
    parts: list[gpd.GeoDataFrame | None] = []
    if projects_file:
        user = read_projects(projects_file, net, to_class=upgrade_to, to_surface=to_surface)
        price_projects(net, user, costs=table, profile=profile, dem=dem)  # a cost problem fails before routing
        parts.append(user)
    locs, tiers = read_study_inputs(localities, tier_rules, places)
    if corridor_candidates:
        parts.append(_corridor_pool(net, locs, tiers, targets, upgrade_to, to_surface, n_candidates, profile, route))
    cand = combine_candidates(parts)
    res = appraise_projects(net, locs, tiers, cand, budget=amount, costs=table, uncertainty=ranges, runs=runs,
                            seed=seed, rules=rule_set, objective=objective, profile=profile, dem=dem, options=route,
                            areas=areas)
    _write_outputs(res, out, extra, overwrite)
    for line in res.summary:
        echo_result(line)
    echo_result(f"{len(cand)} projects appraised, {runs} perturbed runs in {res.info['runs_s']:.1f} s -> {out}")


def _output_paths(output: str, overwrite: bool) -> tuple[Path, dict[str, Path]]:
    """The output GeoPackage and the files beside it (by suffix), checked writable."""
    from territorial_gis._io import check_outputs
    from territorial_gis.errors import InputFileError

    out = Path(output)
    if out.suffix.lower() != ".gpkg":
        raise InputFileError(f"output {out} must be a GeoPackage (.gpkg): it holds the layers projects, portfolio")
    extra = {k: out.with_name(f"{out.stem}{k}") for k in (".csv", "_portfolio.csv", "_portfolio.png",
                                                          "_summary.json")}
    check_outputs(out, *extra.values(), overwrite=overwrite)
    return out, extra


def _write_outputs(res: Appraisal, out: Path, extra: dict[str, Path], overwrite: bool) -> None:
    """The GeoPackage (layers projects, portfolio), the ranked projects, the portfolio curve and
    chart and the summary, all or none."""
    import json

    import pandas as pd

    from territorial_gis.appraisal import plot_portfolio

    from ._study_inputs import write_all

    files = res.for_files()
    projects, chosen = files["projects"], files["portfolio"]
    table = pd.DataFrame(projects.drop(columns=projects.geometry.name))

    def gpkg(tmp: Path) -> None:
        from territorial_gis._io import add_gpkg_layer

        add_gpkg_layer(projects, tmp, "projects")
        if len(chosen):
            add_gpkg_layer(chosen, tmp, "portfolio")

    summary = {"summary": res.summary, "summary_facts": res.facts, **res.info}

    def write_json(tmp: Path) -> None:
        tmp.write_text(json.dumps(summary, indent=2, default=str))

    write_all([(out, gpkg), (extra[".csv"], lambda tmp: table.to_csv(tmp, index=False)),
               (extra["_portfolio.csv"], lambda tmp: res.portfolio.to_csv(tmp, index=False)),
               (extra["_portfolio.png"], lambda tmp: plot_portfolio(res, tmp, overwrite=True)),
               (extra["_summary.json"], write_json)],
              overwrite)


def _corridor_pool(net: RoadNetwork, locs: gpd.GeoDataFrame, tiers: dict[str, gpd.GeoDataFrame], targets: str | None,
                   upgrade_to: str, to_surface: str, n: int, profile: str | None, route: RouteOptions) -> gpd.GeoDataFrame | None:
    """Corridor stretches worth upgrading, as candidates (none when no locality is MRA)."""
    from territorial_gis.appraisal import corridor_candidates, network_profile
    from territorial_gis.corridors import analyze_corridors, upgrade_candidates
    from territorial_gis.errors import ColumnError, ConfigError

    if "area_class" not in locs:
        raise ColumnError("corridor candidates need the localities' area_class (run `tgis classify` first), or "
                          "give --projects with --no-corridor-candidates")
    wanted = [t.strip() for t in targets.split(",") if t.strip()] if targets else list(tiers)
    unknown = [t for t in wanted if t not in tiers]
    if unknown:
        raise ConfigError(f"--targets names unknown tier(s) {', '.join(unknown)}; tiers: {', '.join(tiers)}")
    if not (locs["area_class"] == "MRA").any():
        return None
    prof = network_profile(net, profile)
    speed = prof.highway_speed_kph.get(upgrade_to)
    if speed is None:
        raise ConfigError(f"--upgrade-to '{upgrade_to}' is not a road class of the speed profile {prof.source}; "
                          f"classes: {', '.join(sorted(prof.highway_speed_kph))}")
    res = analyze_corridors(net, locs, {t: tiers[t] for t in wanted}, upgrade_to=None, id_col="place_id",
                            options=route)
    pool = upgrade_candidates(net, res.segments, float(speed), n)
    return corridor_candidates(pool, to_class=upgrade_to, to_surface=to_surface)
