"""The rural example study (examples/guaviare): real OSM roads of Guaviare, Colombia, from a
Geofabrik-schema line layer; towns from GeoNames; a hexagon grid without population as origins;
IGAC rivers and lagoons as barriers, the Río Guaviare as a waterway, the DANE municipalities as
the areas; travel off the road measured over the accessibility surface."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from territorial_gis.cli import main

CONFIG = Path(__file__).resolve().parents[1] / "examples" / "guaviare" / "study.toml"
SAN_JOSE = "3828545"


@pytest.fixture(scope="module")
def guaviare(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("guaviare") / "study"
    cache = tmp_path_factory.mktemp("guaviare_cache")
    r = CliRunner().invoke(main, ["-q", "run", str(CONFIG), "-o", str(out), "--cache-dir", str(cache)])
    assert r.exit_code == 0, r.output
    return out


def test_outputs_and_population_note(guaviare: Path) -> None:
    for name in ("network.gpkg", "localities.gpkg", "areas.gpkg", "isochrones.gpkg", "corridors.gpkg",
                 "upgrades.csv", "territories.gpkg", "surface_intermediate_city.tif", "surface_town.tif",
                 "surface_bands.csv", "surface_zonal.csv", "map.html", "report.html", "study.json"):
        assert (guaviare / name).is_file(), name
    meta = json.loads((guaviare / "study.json").read_text())
    assert any("without population" in n for n in meta["notes"])
    assert meta["summary"]["population"] is None
    # the line-layer repair report travels with the network
    assert meta["network"]["nodes"] > 1000
    # the off-road method is stated: the surface, flat (no DEM offline), rivers and lagoons as barriers
    off = meta["offroad"]
    assert off["method"] == "surface" and off["terrain"].startswith("flat")
    assert off["barriers"]["polygons"] >= 25 and off["waterways"][0]["flow"] == "outlet"


def test_every_hexagon_has_a_time_to_san_jose(guaviare: Path) -> None:
    loc = gpd.read_file(guaviare / "localities.gpkg", layer="localities")
    assert loc["population"].isna().all() and len(loc) == 140
    t = loc["travel_time_intermediate_city_min"]
    # with a straight walk, 9 hexagons were more than 10 km from a road; over the surface every
    # hexagon walks (or takes a boat) to the road: none is left without a time or a reason
    assert (t.notna() | loc["unreachable_reason"].notna()).all()
    assert t.notna().all()
    assert (loc["snap_dist_m"] > 10_000).sum() >= 5
    assert (loc["nearest_intermediate_city_id"].astype(str) == SAN_JOSE).all()
    assert set(loc["offroad_method"]) == {"surface"}
    modes = set(loc["trip_mode_intermediate_city"])
    assert any("boat" in m for m in modes) and all(m.startswith("walk") for m in modes)
    legs = loc[[f"{leg}_intermediate_city_min" for leg in ("walk", "road", "boat", "boat_wait", "crossing")]]
    assert np.allclose(legs.sum(axis=1), t, rtol=1e-9)
    # the cell holding San José is minutes from it; the frontier is hours away
    sj = gpd.points_from_xy([-72.63972], [2.56799], crs=4326)[0]
    cells = gpd.read_file(guaviare / "localities.gpkg", layer="localities")
    home = cells.iloc[[int(np.argmin(cells.to_crs(32618).distance(gpd.GeoSeries([sj], crs=4326).to_crs(32618)[0])))]]
    assert float(home["travel_time_intermediate_city_min"].iloc[0]) < 90
    assert t.max() > 180


def test_towns_across_the_river_reached_by_boat(guaviare: Path) -> None:
    d = gpd.read_file(guaviare / "destinations.gpkg", layer="destinations")
    towns = d[d["tier"] == "town"].set_index("name")
    assert len(towns) == 8
    t = towns["travel_time_intermediate_city_min"]
    assert t.notna().all()  # every town, four of them more than 2 km from a road
    pc = towns.loc["Puerto Concordia"]
    assert "boat" in pc["trip_mode_intermediate_city"] and 30 < pc["travel_time_intermediate_city_min"] < 180
    assert pc["boat_wait_intermediate_city_min"] == pytest.approx(30.0)
    assert towns.loc["San José del Guaviare", "travel_time_intermediate_city_min"] == 0.0
    assert "boat" not in towns.loc["El Retorno", "trip_mode_intermediate_city"]


def test_municipalities_are_the_areas(guaviare: Path) -> None:
    areas = gpd.read_file(guaviare / "areas.gpkg", layer="areas")
    loc = gpd.read_file(guaviare / "localities.gpkg", layer="localities")
    assert len(areas) == 7 and set(areas["municipality_code"].astype(str)) >= {"95001", "50450"}
    # an area's time is the mean over its hexagons (no population: equal weights), recomputed here
    joined = gpd.sjoin(loc, areas[["municipality_code", "geometry"]], predicate="intersects")
    joined = joined[~joined.index.duplicated(keep="first")]
    mean = joined.groupby(joined["municipality_code"].astype(str))["travel_time_intermediate_city_min"].mean()
    a = areas.set_index(areas["municipality_code"].astype(str))
    for code, m in mean.items():
        assert a.loc[code, "travel_time_intermediate_city_min"] == pytest.approx(m, rel=1e-9)
        # default rules: isolated beyond 2 h of an intermediate city
        assert (a.loc[code, "area_class"] == "MRA") == (m > 120)
    # municipalities without a hexagon (no road reaches them) say so instead of guessing
    empty = a[~a.index.isin(mean.index)]
    assert (empty["area_class"] == "unclassified").all()
    # every hexagon carries its municipality's class
    loc_cls = loc.set_index("place_id")["area_class"]
    for pid, code in zip(joined["place_id"], joined["municipality_code"].astype(str), strict=True):
        assert loc_cls[pid] == a.loc[code, "area_class"]
    # the surface's statistics per municipality cover the whole of each, hexagons or not
    zonal = pd.read_csv(guaviare / "surface_zonal.csv")
    z = zonal[zonal["tier"] == "intermediate_city"]
    z = z.set_index(z["area_id"].astype(str))
    assert set(z.index) == set(a.index) and (z["cells"] > 1000).all()
    assert z.loc["95001", "median_min"] < z.loc["95200", "median_min"]  # San José vs Miraflores


def test_areas_are_shown_by_municipality_name(guaviare: Path) -> None:
    """[classify] area_name_column = "municipality": areas.gpkg, surface_zonal.csv and the class
    reasons name each area as the DANE layer does, not by its code."""
    from territorial_gis.data import data_path

    dane = gpd.read_file(data_path("guaviare", "municipios_dane.geojson"))
    name_of = dict(zip(dane["municipality_code"].astype(str), dane["municipality"], strict=True))
    areas = gpd.read_file(guaviare / "areas.gpkg", layer="areas")
    assert [name_of[c] for c in areas["municipality_code"].astype(str)] == areas["name"].tolist()
    zonal = pd.read_csv(guaviare / "surface_zonal.csv", dtype={"area_id": str})
    assert list(zonal.columns[:3]) == ["tier", "area_id", "name"]
    assert zonal["name"].tolist() == [name_of[c] for c in zonal["area_id"]]
    loc = gpd.read_file(guaviare / "localities.gpkg", layer="localities")
    reasons = loc["class_reasons"].dropna()
    n_sj = int(areas.loc[areas["municipality_code"].astype(str) == "95001", "n_localities"].iloc[0])
    assert n_sj > 1 and reasons.str.startswith(f"class of its area SAN JOSÉ DEL GUAVIARE, {n_sj} localities").any()
    assert not reasons.str.contains("class of its area 95").any()


def test_corridors_start_at_the_road_entry(guaviare: Path) -> None:
    corr = gpd.read_file(guaviare / "corridors.gpkg", layer="corridors")
    loc = gpd.read_file(guaviare / "localities.gpkg", layer="localities").set_index("place_id")
    assert len(corr) > 0
    assert (corr["target_id"].astype(str) == SAN_JOSE).all()
    assert set(corr["starts_at"]) <= {"road_entry", "locality"} and (corr["starts_at"] == "road_entry").any()
    meta = json.loads((guaviare / "study.json").read_text())
    assert any(n.startswith("corridors:") and "road entry" in n.replace("_", " ") or "gets onto the road" in n
               for n in meta["notes"])
    # a corridor from the road entry is the road part of the trip: no longer than the whole trip
    # (walk + road) for trips that stay on the road once on it
    trip = loc.loc[corr["origin_id"].astype(str)]
    road_only = (trip["trip_mode_intermediate_city"] == "walk+road+walk").to_numpy()
    assert road_only.any()
    assert (corr["travel_time_min"].to_numpy()[road_only]
            <= trip["travel_time_intermediate_city_min"].to_numpy()[road_only] + 0.5).all()
    iso = gpd.read_file(guaviare / "isochrones.gpkg")
    assert list(iso["threshold_min"]) == [60, 120, 240]


def test_wet_season_never_shortens_a_trip(guaviare: Path) -> None:
    wet = gpd.read_file(guaviare / "scenario_wet.gpkg", layer="localities")
    change = wet["change_intermediate_city_min"].dropna()
    assert len(change) > 100 and (change >= -1e-6).all() and (change > 0).any()
    rai = pd.read_csv(guaviare / "rai.csv")
    assert set(rai["scenario"]) == {"base", "wet"}
    meta = json.loads((guaviare / "study.json").read_text())
    assert meta["rai"]["base"]["method"] == "walk"


def test_class_changes_re_classify_the_municipalities(guaviare: Path) -> None:
    """The cells take the class of their municipality: criticality and appraisal re-classify the
    municipalities, so no class change is unknown; the unchanged times give back every
    municipality exactly, and slowing the cells of one municipality changes only it, to the class
    classify_areas gives it from scratch."""
    from territorial_gis._reclass import AreaReclassifier, build_reclassifier
    from territorial_gis.classify import classify_areas, load_rules

    root = CONFIG.parents[2]
    rules = load_rules(root / "territorial_gis" / "rules" / "default.toml")
    loc = gpd.read_file(guaviare / "localities.gpkg", layer="localities")
    areas = gpd.read_file(guaviare / "areas.gpkg", layer="areas")
    tiers = ("intermediate_city", "town")
    times = {t: loc[f"travel_time_{t}_min"].to_numpy(dtype=float) for t in tiers}
    rc = build_reclassifier(loc, times, rules, areas=areas)
    assert isinstance(rc, AreaReclassifier)
    assert rc.known.all() and "unknown" not in str(rc.note) and len(loc) == 140
    mv = rc.class_moves(np.arange(140), times, base=times, group=np.zeros(140, dtype=np.int64))
    assert len(mv.locality) == 0
    crit = pd.read_csv(guaviare / "criticality.csv")
    assert (crit["n_class_unknown"] == 0).all()
    # a change moves whole municipalities: its count is a sum of municipalities' cell counts
    sizes = set(areas["n_localities"].astype(int))
    assert set(crit.loc[crit["n_fra_to_mra"] > 0, "n_fra_to_mra"]) <= sizes
    meta = json.loads((guaviare / "study.json").read_text())
    assert not any("class changes are unknown" in n or "class changes unknown" in n for n in meta["notes"])
    assert any("the 7 areas are classified again" in n for n in meta["notes"])
    # slow the first half of the cells of the FRA municipality by an hour
    fra = int(np.flatnonzero(areas["area_class"].to_numpy() == "FRA")[0])
    rows = np.flatnonzero(rc.area_of == fra)[::2]
    new = {t: times[t][rows] + 60.0 for t in tiers}
    mv = rc.class_moves(rows, new, base={t: times[t][rows] for t in tiers}, group=np.zeros(len(rows), dtype=np.int64))
    slowed = loc.copy()
    for t in tiers:
        slowed.loc[rows, f"travel_time_{t}_min"] = new[t]
    munis = gpd.read_file(root / "data" / "guaviare" / "municipios_dane.geojson")
    again = classify_areas(munis, rules, localities=slowed).areas["area_class"].to_numpy()
    assert (np.delete(again, fra) == np.delete(areas["area_class"].to_numpy(), fra)).all()
    assert again[fra] == "MRA"  # an hour more for half the cells takes it past 2 h
    assert sorted(mv.locality.tolist()) == np.flatnonzero(rc.area_of == fra).tolist()
    assert set(mv.after) == {"MRA"} and set(mv.before) == {"FRA"}
