"""The Rural Access Index (SDG 9.1.1) on SYNTHETIC roads (hand-made, near 4 N, 74 W; not real data)
worked by hand, its monotonicity, and the command line."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from territorial_gis.cli import main

from territorial_gis.errors import ColumnError
from territorial_gis.network import RoadNetwork
from territorial_gis.rai import AllSeasonRule, all_season_roads, rural_access_index
from territorial_gis.speeds import load_profile

LON0, LAT0 = -74.0, 4.0
UTM = Transformer.from_crs(4326, 32618, always_xy=True)
BACK = Transformer.from_crs(32618, 4326, always_xy=True)


def _line_net(roads: list[tuple[list[tuple[float, float]], dict[str, object]]]) -> RoadNetwork:
    """SYNTHETIC network of straight roads given in metres (UTM 18N) with their attributes."""
    lon, lat, u, v, rows, geoms = [], [], [], [], [], []
    for seg, (coords, attrs) in enumerate(roads):
        ll = [BACK.transform(x, y) for x, y in coords]
        a = len(lon)
        for x, y in ll:
            lon.append(x)
            lat.append(y)
        length = float(np.hypot(coords[1][0] - coords[0][0], coords[1][1] - coords[0][1]))
        for rev, (p, q) in enumerate(((a, a + 1), (a + 1, a))):
            u.append(p)
            v.append(q)
            geoms.append(shapely.LineString([ll[p - a], ll[q - a]]))
            rows.append({"length_m": length, "speed_kph": 40.0, "segment": seg, "reversed": bool(rev), **attrs})
    return RoadNetwork.from_arrays(np.arange(len(lon)), np.array(lon), np.array(lat), np.array(u), np.array(v),
                                   pd.DataFrame(rows), np.array(geoms), crs=32618)


X0, Y0 = UTM.transform(LON0, LAT0)
PAVED = {"highway": "tertiary", "surface": "asphalt"}
TRACK = {"highway": "track", "surface": "dirt"}


def _places(offsets_m: list[float], pops: list[float | None], **cols: list[object]) -> gpd.GeoDataFrame:
    pts = [shapely.Point(*BACK.transform(X0 + 5000.0, Y0 + d)) for d in offsets_m]
    return gpd.GeoDataFrame({"place_id": [f"p{i}" for i in range(len(pts))], "population": pops, **cols},
                            geometry=pts, crs=4326)


def test_hand_worked_index() -> None:
    """One paved road along y = 0 (all-season) and an earth track along y = 2,100 m (not all-season).
    Places 1.0, 1.9, 2.1 and 3.0 km north of the paved road: only the first two are within 2 km of
    an all-season road; the place at 2.1 km sits on the track, which does not count."""
    net = _line_net([([(X0, Y0), (X0 + 10_000, Y0)], PAVED),
                     ([(X0, Y0 + 2100), (X0 + 10_000, Y0 + 2100)], TRACK)])
    places = _places([1000, 1900, 2100, 3000], [100.0, 200.0, 400.0, 800.0])
    r = rural_access_index(net, places, urban_density_per_km2=None)
    assert r.rai == pytest.approx(300.0 / 1500.0)
    assert (r.rural_population, r.rural_population_within) == (1500.0, 300.0)
    assert r.places is not None
    assert r.places["within_all_season_road"].tolist() == [True, True, False, False]
    np.testing.assert_allclose(r.places["dist_all_season_road_m"].to_numpy()[:2], [1000.0, 1900.0], atol=0.5)
    assert r.all_season_km == pytest.approx(10.0, rel=1e-3)
    # the buffer drawn for the map holds exactly the places within
    buf = r.buffer.geometry.iloc[0]
    assert [buf.contains(p) for p in places.geometry] == [True, True, False, False]


def test_urban_places_and_dry_season_roads_are_left_out() -> None:
    net = _line_net([([(X0, Y0), (X0 + 10_000, Y0)], PAVED),
                     ([(X0, Y0 + 3000), (X0 + 10_000, Y0 + 3000)], {**PAVED, "season": "dry_season_only"})])
    places = _places([500, 2900, 1500], [1000.0, 50.0, 70.0], density_per_km2=[5000.0, 20.0, 299.0])
    r = rural_access_index(net, places)  # default urban threshold 300 per km2
    # the dense place is urban; the place beside the dry-season-only paved road is not served
    assert r.rural_population == 120.0 and r.rural_population_within == 70.0
    flagged = rural_access_index(net, places.assign(zona=["U", "rural", "R"]), rural_col="zona")
    assert flagged.rural_population == 120.0


def test_unknown_population_gives_an_unknown_index() -> None:
    net = _line_net([([(X0, Y0), (X0 + 10_000, Y0)], PAVED)])
    r = rural_access_index(net, _places([500, 3000], [None, None]), urban_density_per_km2=None)
    assert np.isnan(r.rai) and r.by_area["rai_reason"].iloc[0] == "population unknown"
    assert r.share_of_places == 0.5
    assert any("population unknown" in n for n in r.notes)


def test_index_per_area_sums_to_the_study() -> None:
    net = _line_net([([(X0, Y0), (X0 + 10_000, Y0)], PAVED)])
    places = _places([100, 2500, 1000, 4000], [10.0, 20.0, 30.0, 40.0], municipio=["a", "a", "b", "b"])
    r = rural_access_index(net, places, area_col="municipio", urban_density_per_km2=None)
    by = r.by_area.set_index("area")
    assert by.loc["a", "rai"] == pytest.approx(10 / 30) and by.loc["b", "rai"] == pytest.approx(30 / 70)
    assert by["rural_population"].sum() == r.rural_population
    with pytest.raises(ColumnError, match="area column 'nope'"):
        rural_access_index(net, places, area_col="nope")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(offsets=st.lists(st.floats(-6000, 6000), min_size=1, max_size=12),
       d1=st.floats(100, 4000), d2=st.floats(100, 4000), drop=st.integers(0, 2))
def test_index_is_monotone_in_distance_and_in_the_roads(offsets: list[float], d1: float, d2: float,
                                                       drop: int) -> None:
    net = _line_net([([(X0, Y0), (X0 + 10_000, Y0)], PAVED),
                     ([(X0 + 5000, Y0 - 6000), (X0 + 5000, Y0 + 6000)], PAVED),
                     ([(X0, Y0 + 4000), (X0 + 10_000, Y0 + 4000)], PAVED)])
    rng = np.random.default_rng(len(offsets))
    places = _places(offsets, list(rng.uniform(1, 100, len(offsets))))
    places["geometry"] = [shapely.Point(*BACK.transform(X0 + rng.uniform(0, 10_000), Y0 + d)) for d in offsets]
    lo, hi = sorted((d1, d2))
    a = rural_access_index(net, places, distance_m=lo, urban_density_per_km2=None, with_buffer=False)
    b = rural_access_index(net, places, distance_m=hi, urban_density_per_km2=None, with_buffer=False)
    assert a.rai <= b.rai + 1e-12
    full = all_season_roads(net, load_profile())
    fewer = full & (net.edges["segment"].to_numpy() != drop)
    c = rural_access_index(net, places, distance_m=hi, urban_density_per_km2=None, all_season=fewer,
                           with_buffer=False)
    assert c.rai <= b.rai + 1e-12


def test_walking_distance_goes_around_a_river() -> None:
    """The same paved road along y = 0; a SYNTHETIC river along y = 700 m, without a bridge, across
    the whole area. Places 1.2 km south of the road (no river between: walked about as the crow
    flies) and 1.0 km north of it (across the river: within 2 km as the crow flies, but walking
    would have to go around the river, which spans the whole area: no walk reaches the road)."""
    from territorial_gis.surfaces import SurfaceInputs, SurfaceOptions

    net = _line_net([([(X0, Y0), (X0 + 10_000, Y0)], PAVED)])
    river = gpd.GeoDataFrame(geometry=[shapely.LineString([BACK.transform(X0 - 20_000, Y0 + 700),
                                                           BACK.transform(X0 + 30_000, Y0 + 700)])], crs=4326)
    places = _places([-1200, 1000], [100.0, 50.0])
    res_m = 50.0
    inputs = SurfaceInputs(barriers=(river,), options=SurfaceOptions(resolution_m=res_m))
    straight = rural_access_index(net, places, urban_density_per_km2=None)
    walk = rural_access_index(net, places, urban_density_per_km2=None, method="walk", surface=inputs)
    assert straight.rai == 1.0 and walk.rai == pytest.approx(100.0 / 150.0)
    assert walk.places is not None and walk.places["within_all_season_road"].tolist() == [True, False]
    d = walk.places["dist_all_season_road_m"].iloc[0]
    # the stated precision: at most 2.75 % longer than the straight line (16 moves), a place at its
    # cell's centre and a road cell starting at its centre's distance (half a cell diagonal each)
    slack = res_m * math.sqrt(2)
    assert 1200.0 - slack <= d <= 1200.0 * 1.0275 + slack
    assert np.isnan(walk.places["dist_all_season_road_m"].iloc[1])
    assert walk.method == "walk" and walk.summary()["method"] == "walk"
    assert any("walked over the surface" in n for n in walk.notes)
    # the walking buffer for the map holds the place walked to, not the one across the river
    buf = walk.buffer.geometry.iloc[0]
    assert buf.contains(places.geometry.iloc[0]) and not buf.contains(places.geometry.iloc[1])
    # without barriers the walk is the straight line within the same precision
    flat = rural_access_index(net, places, urban_density_per_km2=None, method="walk",
                              surface=SurfaceInputs(options=SurfaceOptions(resolution_m=res_m)))
    assert flat.rai == 1.0
    assert flat.places["dist_all_season_road_m"].iloc[1] == pytest.approx(1000.0, abs=slack)  # type: ignore[index]


def test_cli_rai_walk(tmp_path: Path) -> None:
    """``tgis rai --method walk --barrier``: the SYNTHETIC road and river of the test above."""
    net = _line_net([([(X0, Y0), (X0 + 10_000, Y0)], PAVED)])
    net.save(tmp_path / "net.tgnet")
    gpd.GeoDataFrame(geometry=[shapely.LineString([BACK.transform(X0 - 20_000, Y0 + 700),
                                                   BACK.transform(X0 + 30_000, Y0 + 700)])],
                     crs=4326).to_file(tmp_path / "river.geojson")
    _places([-1200, 1000], [100.0, 50.0]).to_file(tmp_path / "places.gpkg")
    args = ["rai", str(tmp_path / "net.tgnet"), str(tmp_path / "places.gpkg"), "--urban-density", "1e9"]
    r = CliRunner().invoke(main, [*args, "--method", "walk", "--barrier", str(tmp_path / "river.geojson"),
                                  "--resolution", "50", "-o", str(tmp_path / "walk.gpkg")])
    assert r.exit_code == 0, r.output
    assert "Rural Access Index: 66.7% of 150 rural people" in r.output and "walked over the surface" in r.output
    bad = CliRunner().invoke(main, [*args, "--barrier", str(tmp_path / "river.geojson"),
                                    "-o", str(tmp_path / "bad.gpkg")])
    assert bad.exit_code == 2 and "--method walk" in bad.output and not (tmp_path / "bad.gpkg").exists()


def test_all_season_rule_comes_from_the_profile() -> None:
    rule = AllSeasonRule.from_profile(load_profile())
    edges = pd.DataFrame({"highway": ["primary", "tertiary", "tertiary", "track", "track"],
                          "surface": [None, None, "gravel", "gravel", "asphalt"],
                          "tracktype": [None, None, None, "grade4", None]})
    assert rule.applies(edges).tolist() == [True, False, True, False, True]


def test_population_raster_counts_cells_by_centre(tmp_path: Path) -> None:
    """SYNTHETIC 100 m population raster in UTM: the index equals the population of the cells whose
    centre lies within 2 km of the road, computed independently with shapely."""
    import rasterio
    from rasterio.transform import from_origin

    net = _line_net([([(X0, Y0), (X0 + 10_000, Y0)], PAVED)])
    rng = np.random.default_rng(5)
    pop = rng.uniform(0, 3, size=(60, 80)).astype("float32")  # < 300 per km2 everywhere: all rural
    transform = from_origin(X0 + 1000, Y0 + 3000, 100, 100)
    path = tmp_path / "pop.tif"
    with rasterio.open(path, "w", driver="GTiff", height=60, width=80, count=1, dtype="float32", crs=32618,
                       transform=transform) as dst:
        dst.write(pop, 1)
    r = rural_access_index(net, population_raster=path)
    rows, cols = np.mgrid[0:60, 0:80]
    cx = X0 + 1000 + (cols + 0.5) * 100
    cy = Y0 + 3000 - (rows + 0.5) * 100
    road = shapely.LineString([(X0, Y0), (X0 + 10_000, Y0)])
    inside = shapely.distance(shapely.points(cx.ravel(), cy.ravel()), road).reshape(cx.shape) <= 2000
    assert r.rural_population == pytest.approx(float(pop.sum()), rel=1e-5)
    assert r.rural_population_within == pytest.approx(float(pop[inside].sum()), rel=2e-3)


def test_cli_rai(tmp_path: Path) -> None:
    from territorial_gis.data import data_path

    out = tmp_path / "rai.gpkg"
    r = CliRunner().invoke(main, ["rai", str(data_path("porto_alegre", "poa_osm.pbf")),
                                  str(data_path("porto_alegre", "poa_hexgrid.csv")), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "Rural Access Index:" in r.output
    places = gpd.read_file(out, layer="places")
    assert {"within_all_season_road", "dist_all_season_road_m", "rural"} <= set(places.columns)
    bad = CliRunner().invoke(main, ["rai", str(data_path("porto_alegre", "poa_osm.pbf")),
                                    str(data_path("porto_alegre", "poa_hexgrid.csv")), "--area-col", "nope",
                                    "-o", str(tmp_path / "bad.gpkg")])
    assert bad.exit_code == 1 and "area column 'nope' not found" in bad.output
    assert "Traceback" not in bad.output and not (tmp_path / "bad.gpkg").exists()
