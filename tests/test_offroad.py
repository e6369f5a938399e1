"""Access over the accessibility surface (``RouteOptions(offroad="surface")``), seasons meeting
rivers, road entries for corridors, and the ``[surface]`` study section.

Roads, rivers and places here are SYNTHETIC (hand-made near 60 W, 10 S; not real data); expected
values are worked by hand (distance / speed, pyproj geodesics) or compared with the road engine
of ``territorial_gis.access`` (the straight-line method), never copied from the surface's output.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod
from test_surfaces import BOX, OPTS, WALK_KPH, _points, _river, _road

from territorial_gis._routing import RouteOptions
from territorial_gis.access import travel_times_to_nearest
from territorial_gis.config import StudyConfig
from territorial_gis.errors import ConfigError
from territorial_gis.scenarios import Scenario, Season, apply_scenario
from territorial_gis.surfaces import (
    MOVE_SET_ERROR,
    RiverLevels,
    SurfaceInputs,
    SurfaceOptions,
    WaterwaySpec,
    build_surface,
)

GEOD = Geod(ellps="WGS84")
ROAD_LON = -60.008
FAR_LON = -60.015


def _setup() -> tuple[object, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """SYNTHETIC: a north-south road; a market on it; a place 40 m off it, one 770 m off it,
    one across a river with no crossing."""
    road = _road([(ROAD_LON, -10.019), (ROAD_LON, -10.001)])
    market = _points((ROAD_LON, -10.003))
    locs = _points((ROAD_LON + 0.00036, -10.015), (FAR_LON, -10.01), (-60.0195, -10.004))
    return road, locs, market


def _wall() -> gpd.GeoDataFrame:
    """SYNTHETIC river running north-south at 60.017 W across the whole area (no crossing)."""
    return _river(-60.017)


def test_far_places_get_a_walk_over_the_surface_instead_of_too_far() -> None:
    road, locs, market = _setup()
    tiers = {"market": market}
    straight = travel_times_to_nearest(road, locs, tiers, options=RouteOptions(max_snap_m=500))
    surf = RouteOptions(max_snap_m=500, offroad="surface", surface=SurfaceInputs(barriers=(_wall(),), options=OPTS))
    over = travel_times_to_nearest(road, locs, tiers, options=surf)
    # the straight method drops the far place; the surface walks it to the road
    assert straight["unreachable_reason"].iloc[1] == "too_far_from_road"
    assert np.isnan(straight["travel_time_market_min"].iloc[1])
    t = over["travel_time_market_min"].to_numpy()
    assert np.isfinite(t[:2]).all()
    assert over["trip_mode_market"].iloc[1].startswith("walk+road")  # (+walk: into the market's cell)
    # the walk: at least the straight line to the road at 4 km/h, at most the 16-move bound plus
    # two cells of slack (the point sits in its cell; the road is reached in the cell it crosses)
    d_m = GEOD.inv(FAR_LON, -10.01, ROAD_LON, -10.01)[2]
    walk = over["walk_market_min"].iloc[1]
    assert d_m / (WALK_KPH / 3.6) / 60 - 0.5 < walk
    assert walk < (d_m * (1 + MOVE_SET_ERROR[16]) + 2 * 50) / (WALK_KPH / 3.6) / 60
    assert over["snap_dist_m"].iloc[1] == pytest.approx(d_m, abs=1.0)
    # a place next to the road: the network's time (the same direct walk, the same road)
    assert t[0] == pytest.approx(straight["travel_time_market_min"].iloc[0], abs=1e-4)
    assert over["trip_mode_market"].iloc[0] == straight["trip_mode_market"].iloc[0] == "walk+road"  # market on the road
    # across the river, no bridge, ferry or boat: truly cut off, with the reason
    assert np.isnan(t[2]) and over["unreachable_reason_market"].iloc[2] == "cut_off"
    assert over["unreachable_reason"].iloc[2] == "market:cut_off"
    assert set(over["offroad_method"]) == {"surface"} and set(straight["offroad_method"]) == {"straight"}
    # legs add up to the time; boats and crossings are zero here
    legs = over[[f"{leg}_market_min" for leg in ("walk", "road", "boat", "boat_wait", "crossing")]].to_numpy()
    assert np.allclose(legs[:2].sum(axis=1), t[:2])
    assert over.attrs["offroad_method"]["method"] == "surface"


def test_straight_method_reports_legs_and_modes_too() -> None:
    road, locs, market = _setup()
    t = travel_times_to_nearest(road, locs.iloc[:1], {"market": market}, options=RouteOptions())
    walk, road_min = t["walk_market_min"].iloc[0], t["road_market_min"].iloc[0]
    # hand-worked: 40 m to the road at 4 km/h, the market stands on the road
    assert walk == pytest.approx(t["snap_dist_m"].iloc[0] / (WALK_KPH / 3.6) / 60, abs=1e-4)
    assert walk + road_min == pytest.approx(t["travel_time_market_min"].iloc[0], rel=1e-12)
    assert t["boat_market_min"].iloc[0] == 0.0 and t["trip_mode_market"].iloc[0] == "walk+road"


def test_a_built_surface_is_reused_and_rebuilt_for_another_network() -> None:
    road, locs, market = _setup()
    inputs = SurfaceInputs(options=OPTS)
    built = inputs.build(road, locs, {"market": market})
    opts = RouteOptions(offroad="surface", surface=built)
    a = travel_times_to_nearest(road, locs, {"market": market}, options=opts)
    # the same object serves the same network ...
    from territorial_gis._surface import surface_for

    assert surface_for(road, locs, {"market": market}, built) is built
    # ... and a network that differs is served by a surface built again from the inputs
    slower = _road([(ROAD_LON, -10.019), (ROAD_LON, -10.001)], speed=10.0)
    b = travel_times_to_nearest(slower, locs, {"market": market}, options=opts)
    assert surface_for(slower, locs, {"market": market}, built) is not built
    # the place next to the road drives the same road at a third of the speed
    assert b["road_market_min"].iloc[0] == pytest.approx(3 * a["road_market_min"].iloc[0], rel=1e-6)
    assert (b["travel_time_market_min"].iloc[:2] > a["travel_time_market_min"].iloc[:2]).all()


def test_season_slows_every_walking_speed_over_the_surface_and_never_shortens() -> None:
    road, locs, market = _setup()
    base = RouteOptions(offroad="surface", surface=SurfaceInputs(options=OPTS))
    mud = Scenario(name="mud", season=Season(name="mud", walk_factor=0.5, close_dry_season_only=False))
    applied = apply_scenario(road, mud)
    before = travel_times_to_nearest(road, locs, {"market": market}, options=base)
    after = travel_times_to_nearest(applied.network, locs, {"market": market},
                                    options=applied.route_options(base, road))
    # walking at half the speed: every walk leg exactly doubles, the road is untouched
    assert np.allclose(after["walk_market_min"], 2 * before["walk_market_min"], rtol=1e-9)
    assert np.allclose(after["road_market_min"], before["road_market_min"], rtol=1e-9)
    assert (after["travel_time_market_min"] >= before["travel_time_market_min"] - 1e-9).all()


def _boat_setup() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, tuple[float, float, float, float]]:
    """SYNTHETIC river drawn west -> east (downstream), 6 km; two landings two cells north of it;
    a 'stream' tributary joins from the north."""
    lat = -10.0
    river = gpd.GeoDataFrame({"c": ["major", "stream"]},
                             geometry=[shapely.LineString([(-60.06, lat), (-60.0, lat)]),
                                       shapely.LineString([(-60.03, lat + 0.009), (-60.03, lat)])], crs=4326)
    pts = _points((-60.05, lat + 0.002), (-60.01, lat + 0.002), (-60.029, lat + 0.008))
    return river, pts, (-60.065, -10.01, -59.995, -9.99)


def test_river_levels_slow_boats_upstream_and_close_streams() -> None:
    river, pts, box = _boat_setup()
    spec = WaterwaySpec(river, class_column="c", flow="digitised")
    opts = SurfaceOptions(resolution_m=100.0, walk_kph=1.0)
    base = build_surface(bounds=box, points=[pts], waterways=[spec], landings=pts, options=opts)
    high = RiverLevels(level="high water", upstream_factor={"major": 0.5})
    slow = build_surface(bounds=box, points=[pts], waterways=[spec], landings=pts, rivers=high, options=opts)
    up0 = base.nearest(pts.iloc[[1]], pts.iloc[[0]]).loc[0, "boat_min"]
    up1 = slow.nearest(pts.iloc[[1]], pts.iloc[[0]]).loc[0, "boat_min"]
    down0 = base.nearest(pts.iloc[[0]], pts.iloc[[1]]).loc[0, "boat_min"]
    down1 = slow.nearest(pts.iloc[[0]], pts.iloc[[1]]).loc[0, "boat_min"]
    assert up1 == pytest.approx(2 * up0, rel=1e-9) and down1 == pytest.approx(down0, rel=1e-9)
    assert slow.meta["waterways"][0]["profile"]["river_level"] == "high water"
    # low water: the stream is closed, so the landing on it boards nothing; the trip walks
    low = RiverLevels(level="low water", closed=("stream",))
    dry = build_surface(bounds=box, points=[pts], waterways=[spec], landings=pts, rivers=low, options=opts)
    via_stream = base.nearest(pts.iloc[[2]], pts.iloc[[1]])
    dry_trip = dry.nearest(pts.iloc[[2]], pts.iloc[[1]])
    assert "boat" in via_stream.loc[0, "trip_mode"] and "boat" not in (dry_trip.loc[0, "trip_mode"] or "")
    assert dry_trip.loc[0, "travel_time_min"] >= via_stream.loc[0, "travel_time_min"]
    assert dry.meta["waterways"][0]["closed_river_km"] == pytest.approx(1.0, rel=0.02)  # 0.009 deg of latitude


def test_river_levels_in_a_season_file_are_checked() -> None:
    sc = Scenario.from_dict({"season": {"name": "low", "close_dry_season_only": False,
                                        "rivers": {"level": "low water", "closed": ["stream"],
                                                   "upstream_factor": {"minor": 0.7}}}})
    assert sc.season is not None and sc.season.rivers is not None
    assert sc.season.rivers.closed == ("stream",) and sc.season.rivers.upstream_factor == {"minor": 0.7}
    with pytest.raises(ConfigError, match=r"\[rivers.upstream_factor\] major = 1.5"):
        Scenario.from_dict({"season": {"rivers": {"upstream_factor": {"major": 1.5}}}})
    with pytest.raises(ConfigError, match="unknown key"):
        Scenario.from_dict({"season": {"rivers": {"speed": 2}}})
    # a class the boat profile does not know is refused when the surface is built
    river, pts, box = _boat_setup()
    with pytest.raises(ConfigError, match="river class.*creek.*boat profile"):
        build_surface(bounds=box, points=[pts], waterways=[WaterwaySpec(river, class_column="c", flow="digitised")],
                      rivers=RiverLevels(level="x", closed=("creek",)), options=SurfaceOptions(resolution_m=100.0))


def test_wet_season_has_river_levels_that_never_speed_boats_up() -> None:
    from territorial_gis.scenarios import load_season

    for name in ("wet", "dry"):
        rivers = load_season(name).rivers
        assert rivers is not None
        assert all(0 < f <= 1 for f in [*rivers.upstream_factor.values(), *rivers.downstream_factor.values()])
    assert load_season("dry").rivers.closed == ("stream",)  # type: ignore[union-attr]


def test_road_entry_is_where_the_trip_gets_onto_the_road() -> None:
    road, locs, market = _setup()
    s = build_surface(network=road, points=[locs, market], bounds=BOX, options=OPTS)
    r = s.nearest(locs.iloc[:2], market, entries=True)
    # the place 40 m off the road joins it at once: its own position
    assert r.loc[0, "entry_lon"] == pytest.approx(locs.geometry.x.iloc[0])
    # the far place walks east to the road: the entry lies on the road, level with it (within
    # a cell and a half: the access point of the cell where the path meets the road)
    assert r.loc[1, "entry_lon"] == pytest.approx(ROAD_LON, abs=1e-6)
    assert abs(GEOD.inv(ROAD_LON, r.loc[1, "entry_lat"], ROAD_LON, -10.01)[2]) < 75


# ---------------------------------------------------------------------------------------------
# the [surface] section of a study


def _cfg(tmp_path: Path, **sections: object) -> dict[str, object]:
    from territorial_gis.data import data_path

    return {"network": {"source": str(data_path("guaviare", "vias_guaviare_osm.geojson"))},
            "localities": {"grid_hex_m": 5000.0}, "tiers": {"city": "ids:3828545"}, **sections}


def test_surface_section_is_checked(tmp_path: Path) -> None:
    from territorial_gis.data import data_path

    rivers = str(data_path("guaviare", "rios_igac.geojson"))
    cfg = StudyConfig.from_dict(_cfg(tmp_path, access={"offroad": "surface"},
                                     surface={"resolution_m": 500, "barriers": [rivers],
                                              "waterways": [{"file": rivers, "outlet": [-67.7, 4.0]}]}))
    assert cfg.surface is not None and cfg.access.offroad == "surface"
    inputs = cfg.surface.inputs()
    assert inputs.waterways[0].outlet == (-67.7, 4.0) and inputs.options.resolution_m == 500.0
    assert "surface.waterways.0" in cfg.input_files()
    bad = [({"surface": {"waterways": [{"file": rivers, "speed": 3}]}}, r"unknown waterway key\(s\) speed"),
           ({"surface": {"waterways": [{"file": "nowhere.geojson"}]}}, "file not found"),
           ({"surface": {"waterways": [{"file": rivers, "outlet": [200, 4]}]}}, r"expected \[lon, lat\]"),
           ({"surface": {"moves": 6}}, "expected one of 4, 8, 16"),
           ({"surface": {"landings": "ports"}}, "expected 'settlements'"),
           ({"access": {"offroad": "boat"}}, "expected one of 'straight', 'surface'"),
           ({"access": {"offroad": "surface"}, "surface": {"enabled": False}}, r"\[surface\] section is disabled"),
           ({"rai": {"method": "drive"}}, "expected one of 'straight', 'walk'")]
    for extra, message in bad:
        with pytest.raises(ConfigError, match=message):
            StudyConfig.from_dict(_cfg(tmp_path, **extra))


def test_route_options_refuse_an_unknown_offroad_method() -> None:
    with pytest.raises(ConfigError, match="offroad"):
        RouteOptions(offroad="teleport")
    assert RouteOptions().offroad_method == "straight" and not RouteOptions().uses_surface
    assert math.isclose(RouteOptions(offroad="surface").max_snap_m, 2000.0)
