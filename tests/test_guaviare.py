"""The rural example study (examples/guaviare): real OSM roads of Guaviare, Colombia, from a
Geofabrik-schema line layer; towns from GeoNames; a hexagon grid without population as origins."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from click.testing import CliRunner
from territorial_gis.cli import main

CONFIG = Path(__file__).resolve().parents[1] / "examples" / "guaviare" / "study.toml"


@pytest.fixture(scope="module")
def guaviare(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("guaviare") / "study"
    cache = tmp_path_factory.mktemp("guaviare_cache")
    r = CliRunner().invoke(main, ["-q", "run", str(CONFIG), "-o", str(out), "--cache-dir", str(cache)])
    assert r.exit_code == 0, r.output
    return out


def test_outputs_and_population_note(guaviare: Path) -> None:
    for name in ("network.gpkg", "localities.gpkg", "areas.gpkg", "isochrones.gpkg", "corridors.gpkg",
                 "upgrades.csv", "territories.gpkg", "map.html", "report.html", "study.json"):
        assert (guaviare / name).is_file(), name
    meta = json.loads((guaviare / "study.json").read_text())
    assert any("without population" in n for n in meta["notes"])
    assert meta["summary"]["population"] is None
    # the line-layer repair report travels with the network
    assert meta["network"]["nodes"] > 1000


def test_times_to_san_jose(guaviare: Path) -> None:
    loc = gpd.read_file(guaviare / "localities.gpkg", layer="localities")
    assert loc["population"].isna().all()
    t = loc["travel_time_intermediate_city_min"]
    reach = t.notna()
    assert reach.sum() > 0.8 * len(loc)
    assert (loc.loc[reach, "nearest_intermediate_city_id"].astype(str) == "3828545").all()  # San José
    # unreachable cells say why
    assert set(loc.loc[~reach, "unreachable_reason"].dropna()) <= {"too_far_from_road",
                                                                  "intermediate_city:disconnected"}
    assert loc.loc[~reach, "unreachable_reason"].notna().all()
    # the cell holding San José is minutes from it; the frontier is hours away
    sj = gpd.points_from_xy([-72.63972], [2.56799], crs=4326)[0]
    cells = gpd.read_file(guaviare / "areas.gpkg", layer="areas")
    home = cells[cells.contains(sj)]
    assert len(home) == 1
    home_t = loc.set_index("place_id").loc[home["place_id"].iloc[0], "travel_time_intermediate_city_min"]
    assert home_t < 90  # includes the walk from the cell centre to the nearest road
    assert t.max() > 180


def test_access_only_classification(guaviare: Path) -> None:
    loc = gpd.read_file(guaviare / "localities.gpkg", layer="localities")
    t = loc["travel_time_intermediate_city_min"]
    mra = loc["area_class"] == "MRA"
    # default rules: isolated beyond 2 h of an intermediate city; unreachable is isolated
    assert ((t > 120) | t.isna()).to_numpy().tolist() == mra.to_numpy().tolist()
    assert (loc.loc[mra, "mra_type"] == "isolated").all()
    assert loc["density_per_km2"].isna().all()
    assert loc["class_reasons"].str.contains("population unknown").any()


def test_corridors_from_remote_cells(guaviare: Path) -> None:
    corr = gpd.read_file(guaviare / "corridors.gpkg", layer="corridors")
    loc = gpd.read_file(guaviare / "localities.gpkg", layer="localities").set_index("place_id")
    assert len(corr) > 0
    assert (corr["target_id"].astype(str) == "3828545").all()
    before = loc.loc[corr["origin_id"].astype(str), "travel_time_intermediate_city_min"].to_numpy()
    assert np.allclose(corr["travel_time_min"].to_numpy(), before, rtol=1e-9, atol=1e-6)
    iso = gpd.read_file(guaviare / "isochrones.gpkg")
    assert list(iso["threshold_min"]) == [60, 120, 240]
