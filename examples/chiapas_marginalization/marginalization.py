"""Marginalization in Chiapas, 2010 -> 2020: who lacks what, where, and which way it is moving.

Offline and without a road network: INEGI's 2020 localities of Chiapas (1,000+ inhabitants)
take their municipality's CONAPO 2020 indicators; the people without piped water are estimated
per locality (the municipal share of occupants without piped water x the locality's
population); CONAPO 2010 and 2020 are compared municipality by municipality (grade transitions,
population and percentile changes) and each municipality gets its RED type (marginalized /
emerging / declining), with the sensitivity of the types to the thresholds; finally the people
and those without piped water are counted by RED type.

Travel times need roads: with a network, the same sections run inside a study
([indicators], [periods], [typologies]; see examples/guerrero_montana/study.toml), and the
counts are reported within travel times and by MRA/FRA class too.

Run:  python examples/chiapas_marginalization/marginalization.py outputs/chiapas
The command-line equivalent is in README.md beside this file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd

import territorial_gis as tg
from territorial_gis.changes import compare_periods
from territorial_gis.indicators import (
    derive_counts,
    join_indicators,
    load_indicator_table,
    summarize_indicators,
)
from territorial_gis.typology import apply_typology, summarize_typology, typology_sensitivity

STATE = "Chiapas"
COLUMNS = ["marginalization_grade", "marginalization_grade_code", "illiterate_pct", "no_piped_water_pct"]


def run(outdir: str | Path) -> dict[str, Path]:
    """Write the tables into ``outdir``; returns name -> path."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    # 1. CONAPO 2020 onto every locality by its INEGI municipality code, and a derived count
    localities = tg.load_catalogue("inegi_localities", state=STATE)
    joined, report = join_indicators(localities, "conapo_marginalization:2020", on="municipality_code", widths=5,
                                     columns=COLUMNS)
    joined, sources = derive_counts(joined, {"no_piped_water": "no_piped_water_pct"},
                                    source="CONAPO 2020 municipal % of occupants of private dwellings "
                                           "without piped water, applied to the locality's 2020 population")
    # 2. 2010 -> 2020, municipality by municipality, and the RED types with their sensitivity
    periods = {str(y): load_indicator_table(f"conapo_marginalization:{y}", state=STATE) for y in (2010, 2020)}
    compared = compare_periods(periods, "municipality_code", carry=["municipality_name"])
    municipalities = apply_typology(compared.table, "red")
    # 3. each locality with its municipality's RED type: people and people without water by type
    typed, _report = join_indicators(joined, municipalities[["municipality_code", "red_type"]],
                                     on="municipality_code", status_column="red_join_status")
    tables = {
        "localities": (plain_table(joined), "localities.csv"),
        "municipalities": (municipalities, "municipalities.csv"),
        "transitions": (compared.transitions("marginalization_grade"), "transitions.csv"),
        "red_summary": (summarize_typology(municipalities, "red"), "red_summary.csv"),
        "red_sensitivity": (typology_sensitivity(municipalities, "red"), "red_sensitivity.csv"),
        "by_red_type": (summarize_indicators(typed, "red_type", counts=["no_piped_water"],
                                             rates=["illiterate_pct"]), "by_red_type.csv"),
    }
    files = {}
    for name, (df, filename) in tables.items():
        files[name] = out / filename
        df.to_csv(files[name], index=name == "transitions")
    files["join"] = out / "join.json"
    files["join"].write_text(json.dumps({**report.to_dict(), "derived": sources, "compared": compared.periods,
                                         "notes": compared.notes}, indent=2, ensure_ascii=False), "utf-8")
    return files


def plain_table(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    """Points as a plain table with lon/lat columns (for a CSV)."""
    return pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).assign(lon=gdf.geometry.x, lat=gdf.geometry.y)


if __name__ == "__main__":
    written = run(sys.argv[1] if len(sys.argv) > 1 else "outputs/chiapas_marginalization")
    for path in written.values():
        print(path)
