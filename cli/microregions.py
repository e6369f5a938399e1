"""``tgis microregions``: the Microregions Strategy end to end (eligible areas, microregions, CECs, gaps)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ._console import echo_result
from ._options import input_path, output_option, overwrite_option, places_options, route_options

if TYPE_CHECKING:
    from territorial_gis import RouteOptions


def _services(values: tuple[str, ...]) -> dict[str, Any]:
    """``NAME=FILE`` (points) or ``NAME=COLUMN`` (of the localities) -> the services mapping."""
    from territorial_gis.config import looks_like_path
    from territorial_gis.errors import ConfigError
    from territorial_gis.places import load_places

    out: dict[str, Any] = {}
    for v in values:
        name, sep, spec = v.partition("=")
        if not sep or not name.strip() or not spec.strip():
            raise ConfigError(f"--service {v!r}: expected NAME=FILE or NAME=COLUMN")
        out[name.strip()] = load_places(spec.strip()) if looks_like_path(spec.strip()) else spec.strip()
    return out


@click.command("microregions")
@input_path("network")
@input_path("localities")
@click.option("--areas", required=True, metavar="FILE|h3:RES|mexico[:STATE]",
              help="The areas grouped into microregions: a polygon file (municipalities), h3:<resolution>, or "
                   "mexico / mexico:<state> (INEGI municipalities at their seats; group with --contiguity "
                   "travel_time).")
@click.option("--eligible", "eligible", multiple=True, required=True, metavar="CONDITION|FILE",
              help="Eligibility rule over the areas' columns, e.g. \"GM_2020 in ['Alto', 'Muy alto']\" or "
                   "'mra_population_share >= 0.5' (repeat: all must hold), or a typology TOML file / preset.")
@click.option("--eligible-class", "eligible_classes", multiple=True,
              help="Classes of a typology file that are eligible (default its first class).")
@click.option("--area-id-col", "area_id_column", default=None, help="Id column of the areas (default area_id, id...).")
@click.option("--area-name-col", "area_name_column", default=None,
              help="Name column of the areas, shown in the outputs (default name, municipality...; else the id).")
@click.option("--area-col", "area_column", default=None,
              help="Column of LOCALITIES holding their area id (default: the area polygon holding each).")
@click.option("--seat-col", "seat_column", default=None,
              help="Column of LOCALITIES marking municipal seats (default: each area's most populous locality).")
@click.option("--method", type=click.Choice(["maxp", "skater", "azp"]), default="maxp", show_default=True,
              help="Regionalisation (PySAL spopt): maxp (most microregions meeting the floor), skater, azp.")
@click.option("--min-population", type=float, default=None, help="Size floor: population of a microregion.")
@click.option("--min-areas", type=int, default=None, help="Size floor: areas (municipalities) of a microregion.")
@click.option("--n-regions", type=int, default=None, help="Number of microregions (skater, azp).")
@click.option("--contiguity", type=click.Choice(["queen", "rook", "travel_time"]), default="queen",
              show_default=True, help="Neighbours: polygons sharing a point (queen) or a border (rook), or head "
                                      "towns within --link-time by road (travel_time).")
@click.option("--link-time", "link_time", type=float, default=None, metavar="MIN",
              help="Neighbouring areas' head towns must be within this many minutes of each other by road.")
@click.option("--attributes", default=None, metavar="travel_time|distance|COL,COL",
              help="What microregions are homogeneous in (default travel_time between head towns).")
@click.option("--below-floor", type=click.Choice(["keep", "drop", "error"]), default="keep", show_default=True,
              help="An isolated group of eligible areas below the floor: its own flagged microregion, none, "
                   "or an error.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the solvers' random choices.")
@click.option("--cec-time", "cec_time", type=float, required=True, metavar="MIN",
              help="A CEC serves the localities that reach it within this many minutes.")
@click.option("--cec-model", type=click.Choice(["cover", "maxcover", "pmedian"]), default="cover",
              show_default=True, help="Hub model inside each microregion.")
@click.option("--cec-k", type=int, default=None, help="CECs per microregion (maxcover, pmedian).")
@click.option("--cec-method", type=click.Choice(["exact", "greedy", "auto"]), default="auto", show_default=True)
@click.option("--cec-min-population", type=float, default=None, help="CEC candidates need this population.")
@click.option("--cec-service-col", "cec_service_column", default=None, help="CEC candidates need this column truthy.")
@click.option("--allow-seat", is_flag=True, default=False, help="The municipal seat may be a CEC.")
@click.option("--no-one-per-area", "one_per_area", flag_value=False, default=True,
              help="Do not add a CEC to areas the model left without one.")
@click.option("--service", "services", multiple=True, metavar="NAME=FILE|COLUMN",
              help="A service checked at each CEC: a point file, or a column of LOCALITIES (repeat).")
@click.option("--service-limit", type=float, default=30.0, show_default=True, metavar="MIN",
              help="A CEC lacks a service when the nearest one is farther than this.")
@click.option("--presence-m", type=float, default=1000.0, show_default=True,
              help="A service point within this distance of a CEC is at the CEC.")
@click.option("--gaps-csv", default=None, type=click.Path(dir_okay=False),
              help="Also write the service gap table (one row per CEC and service) as CSV.")
@places_options("LOCALITIES")
@route_options
@output_option(help="Output GeoPackage with layers microregions, eligibility, cecs, cec_hinterlands, localities.")
@overwrite_option
def microregions(network: str, localities: str, areas: str, eligible: tuple[str, ...],
                 eligible_classes: tuple[str, ...], area_id_column: str | None, area_name_column: str | None,
                 area_column: str | None,
                 seat_column: str | None, method: str, min_population: float | None, min_areas: int | None,
                 n_regions: int | None, contiguity: str, link_time: float | None, attributes: str | None,
                 below_floor: str, seed: int, cec_time: float, cec_model: str, cec_k: int | None, cec_method: str,
                 cec_min_population: float | None, cec_service_column: str | None, allow_seat: bool,
                 one_per_area: bool, services: tuple[str, ...], service_limit: float, presence_m: float,
                 gaps_csv: str | None, places: dict[str, Any], route: RouteOptions, output: str,
                 overwrite: bool) -> None:
    """Group the eligible areas into microregions and choose their Strategic Community Centres.

    NETWORK is a saved network or a road file built on the fly; LOCALITIES a file of points
    with population (and, to use them in rules, the columns of `tgis classify`). Prints one
    line per service gap ("CECs lacking a health unit within 30 min: 41 of 120").
    """
    from territorial_gis._io import check_outputs, write_table
    from territorial_gis._ruleset import is_condition_text
    from territorial_gis.errors import ConfigError
    from territorial_gis.microregions import plan_strategy, run_plan, strategy_areas
    from territorial_gis.network import open_network

    from .hubs import read_localities, write_layers

    check_outputs(output, *([gaps_csv] if gaps_csv else []), overwrite=overwrite)
    locs = read_localities(localities, places)
    if len(eligible) > 1 and not all(is_condition_text(e) for e in eligible):
        raise ConfigError("--eligible: give conditions (repeatable, all must hold) or one typology file or "
                          f"preset, not both: {', '.join(map(repr, eligible))}")
    rules: Any = list(eligible) if all(is_condition_text(e) for e in eligible) else eligible[0]
    attrs: Any = attributes if attributes in (None, "travel_time", "distance") else \
        [c.strip() for c in str(attributes).split(",") if c.strip()]
    region_areas = strategy_areas(areas, locs)
    svc = _services(services)
    plan = plan_strategy(  # everything that needs no road network is checked before it is opened
        locs, region_areas, rules=rules, eligible_classes=list(eligible_classes) or None,
        area_id_col=area_id_column, area_name_col=area_name_column, area_col=area_column, seat_col=seat_column,
        grouping={"method": method, "min_population": min_population, "min_areas": min_areas,
                  "n_regions": n_regions, "contiguity": contiguity, "link_time_min": link_time,
                  "attributes": attrs, "below_floor": below_floor, "seed": seed},
        cecs={"max_time_min": cec_time, "model": cec_model, "k": cec_k, "method": cec_method,
              "allow_seat": allow_seat, "min_population": cec_min_population,
              "service_column": cec_service_column, "one_per_area": one_per_area})
    res = run_plan(open_network(network), plan, services=svc, service_limit_min=service_limit,
                   presence_m=presence_m, options=route)
    write_layers({**res.layers(), "localities": res.localities}, output, overwrite)
    if gaps_csv and res.gaps is not None:
        write_table(res.gaps.table, gaps_csv, overwrite=overwrite)
    mr = res.microregions
    lines = [f"{mr.n_regions} microregions from {int(res.areas['eligible'].sum())} eligible of {len(res.areas)} "
             f"areas; {len(res.selection.cecs)} CECs -> {output}", f"objective: {mr.objective}", *mr.notes,
             *(res.gaps.sentences if res.gaps is not None else ())]
    echo_result("\n".join(lines))
