"""``tgis criticality``: which road stretches, if they fail, cut people off."""

from __future__ import annotations

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
    from territorial_gis import RouteOptions


@click.command("criticality")
@input_path("network")
@input_path("localities")
@click.option("--tier", "tier_rules", multiple=True, metavar="NAME=FILE_OR_RULE",
              help="A destination tier: a file of places or a rule over the localities. Repeatable.")
@click.option("--only", type=click.Choice(["all", "bridges"]), default="all", show_default=True,
              help="Stretches that fail: all, or only those holding a bridge.")
@click.option("--corridors", "corridors_file", default=None, type=click.Path(dir_okay=False),
              help="Only the stretches the corridors use: a corridors GeoPackage from `tgis corridors` "
                   "(its segments layer).")
@click.option("--top", type=click.IntRange(min=1), default=None,
              help="Evaluate only the N stretches with the most population whose best path uses them.")
@click.option("--rules", default=None, type=click.Path(dir_okay=False),
              help="MRA/FRA rules (TOML) to re-classify with; LOCALITIES then needs area_class.")
@click.option("--detour", type=click.Choice(["affected", "all", "none"]), default="affected", show_default=True,
              help="Stretches whose detour (extra minutes between their ends) is computed.")
@class_areas_option
@places_options("LOCALITIES")
@scenario_option()
@profile_option
@route_options
@output_option(help="Output GeoPackage (layers criticality, cut_off); the ranked table is also written as "
                    "<stem>.csv and the class changes as <stem>_class_changes.csv.")
@overwrite_option
def criticality(network: str, localities: str, tier_rules: tuple[str, ...], only: str, corridors_file: str | None,
                top: int | None, rules: str | None, detour: str, class_areas: str | None, places: dict[str, Any],
                scenario_spec: str | None, profile: str | None, route: RouteOptions, output: str,
                overwrite: bool) -> None:
    """Rank the road stretches of NETWORK by what their failure does to the access of LOCALITIES:
    localities cut off per tier, person-minutes added, MRA/FRA class changes and the detour."""
    import numpy as np
    import pandas as pd

    from territorial_gis._io import check_outputs
    from territorial_gis.classify import load_rules
    from territorial_gis.criticality import assess_criticality
    from territorial_gis.errors import InputFileError

    from ._study_inputs import open_scenario_network, read_class_areas, read_study_inputs, write_all

    out = Path(output)
    if out.suffix.lower() != ".gpkg":
        raise InputFileError(f"output {out} must be a GeoPackage (.gpkg): it holds the layers criticality, cut_off")
    csv = out.with_name(f"{out.stem}.csv")
    changes_csv = out.with_name(f"{out.stem}_class_changes.csv")
    check_outputs(out, csv, changes_csv, overwrite=overwrite)
    rule_set = load_rules(rules) if rules else None  # a bad rule file fails before any work
    areas = read_class_areas(class_areas, rule_set)
    locs, tiers = read_study_inputs(localities, tier_rules, places)
    within = _corridor_pieces(corridors_file) if corridors_file else None
    net, route = open_scenario_network(network, profile, scenario_spec, route)
    res = assess_criticality(net, locs, tiers, only=only, within_segments=within, top=top, rules=rule_set,
                             options=route, detour=detour, areas=areas)
    files = res.for_files()
    table = files["criticality"]
    flat = pd.DataFrame(table.drop(columns=table.geometry.name))

    def gpkg(tmp: Path) -> None:
        from territorial_gis._io import add_gpkg_layer

        add_gpkg_layer(table, tmp, "criticality")
        if len(files["cut_off"]):
            add_gpkg_layer(files["cut_off"], tmp, "cut_off")

    write_all([(out, gpkg), (csv, lambda tmp: flat.to_csv(tmp, index=False)),
               (changes_csv, lambda tmp: files["class_changes"].to_csv(tmp, index=False))], overwrite)
    best = res.stretches.iloc[0]
    unit = res.info["impact_unit"]
    who = (f"cuts off {best['population_cut_off']:,.0f} people ({best['n_cut_off']} localities)"
           if np.isfinite(best["population_cut_off"]) else f"cuts off {best['n_cut_off']} localities")
    echo_result(f"{res.info['n_evaluated']} of {res.info['n_stretches']} stretches evaluated in "
               f"{res.info['total_s']:.1f} s -> {out} (+ {csv.name}); most critical: stretch {best['stretch_id']} "
               f"({best['highway']}, {best['length_km']:.2f} km) {who} and adds {best['impact_min']:,.0f} {unit}")


def _corridor_pieces(path: str) -> list[int]:
    from territorial_gis.errors import ColumnError
    from territorial_gis.outputs import read_layer

    seg = read_layer(Path(path), "segments")
    if seg is None or "segment_ids" not in seg:
        raise ColumnError(f"{path} has no 'segments' layer with segment_ids (write it with `tgis corridors`)")
    out: list[int] = []
    for s in seg["segment_ids"]:
        out += [int(float(x)) for x in str(s).replace(",", ";").split(";") if x.strip()]
    return out
