"""Travel times on the embedded Porto Alegre data, OD tables, isochrones, population within
thresholds, gravity access and the ``tgis access`` commands (including a bad-input catalogue)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from _cli import assert_one_error
from click.testing import CliRunner
from territorial_gis.cli import main
from territorial_gis.data import data_path

from territorial_gis._engine import snap_points
from territorial_gis.access import (
    decay_weights,
    gravity_access,
    isochrones,
    od_matrix,
    population_within,
    travel_times_to_nearest,
)
from territorial_gis.columns import REASON_TOO_FAR
from territorial_gis.errors import ColumnError, RoutingError
from territorial_gis.network import RoadNetwork

HEX = data_path("porto_alegre", "poa_hexgrid.csv")
POI = data_path("porto_alegre", "poa_points_of_interest.csv")


@pytest.fixture(scope="module")
def poa_table(poa_network: RoadNetwork, poa_localities: gpd.GeoDataFrame,
              poa_tiers: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    return travel_times_to_nearest(poa_network, poa_localities, poa_tiers)


# ---------------------------------------------------------------------- nearest, real data
def test_full_table_on_real_data(poa_table: gpd.GeoDataFrame, poa_localities: gpd.GeoDataFrame) -> None:
    t = poa_table
    assert len(t) == len(poa_localities) == 1227
    assert t.index.equals(poa_localities.index)
    assert (t["place_id"] == poa_localities["place_id"]).all()
    far = t["snap_dist_m"] > 2000
    # two cells lie > 2 km from any drivable road of the extract (outside its road area)
    assert int(far.sum()) == 2
    assert (t.loc[far, "unreachable_reason"] == REASON_TOO_FAR).all()
    ok = ~far
    for tier in ("employment_centre", "market"):
        col = t[f"travel_time_{tier}_min"]
        assert col[ok].notna().all() and col[far].isna().all()
        assert t.loc[ok, f"nearest_{tier}_id"].notna().all()
        # a ~13 x 14 km city at urban speeds: nobody is more than ~35 min from the nearest
        # destination (the worst cells are on the far south edge, with long walking legs)
        assert 0 < col.max() < 35
    assert t["unreachable_reason"][ok].isna().all()
    # the 25 employment centres are in the centre: median ~4.5 min, markets (POIs) ~6 min
    assert 2 < t["travel_time_employment_centre_min"].median() < 8
    assert 3 < t["travel_time_market_min"].median() < 9
    np.testing.assert_allclose(t["access_leg_min"][ok], t["snap_dist_m"][ok] / (4000 / 60), rtol=1e-12)


def test_hand_checked_times(poa_table: gpd.GeoDataFrame, poa_tiers: dict[str, gpd.GeoDataFrame],
                            poa_pois: gpd.GeoDataFrame) -> None:
    t = poa_table
    # a cell that is itself an employment centre: it walks to the road and back: 2 x its leg
    centres = set(poa_tiers["employment_centre"]["dest_id"])
    own = t[t["place_id"].isin(centres)]
    assert len(own) == 25
    np.testing.assert_allclose(own["travel_time_employment_centre_min"], 2 * own["access_leg_min"], rtol=1e-9)
    assert (own["nearest_employment_centre_id"] == own["place_id"]).all()
    # the cell holding the public market (checked on a map: the market lies 60 m from its
    # centre, in the old town grid) reaches a market within a few minutes
    market = poa_pois.loc[poa_pois["dest_id"] == "public_market"].geometry.iloc[0]
    d = t.geometry.to_crs(3857).distance(gpd.GeoSeries([market], crs=4326).to_crs(3857).iloc[0])
    cell = t.loc[d.idxmin()]
    assert cell["travel_time_market_min"] < 4
    # Iguatemi shopping centre to the old town (public market ~6.4 km west): the farthest
    # market for no cell is the east edge; its nearest market is Iguatemi itself
    east = t.loc[t.geometry.x.idxmax()]
    assert east["nearest_market_id"] in {"iguatemi_shopping_center", "pucrs", "farrapos_station"}


def test_errors_on_unusable_input(poa_network: RoadNetwork, poa_localities: gpd.GeoDataFrame,
                                  poa_tiers: dict[str, gpd.GeoDataFrame]) -> None:
    swapped = poa_localities.copy()
    swapped.geometry = gpd.points_from_xy(poa_localities.geometry.y, poa_localities.geometry.x)
    with pytest.raises(RoutingError, match="swapped"):
        travel_times_to_nearest(poa_network, swapped, poa_tiers)
    far = poa_tiers["market"].copy()
    far.geometry = gpd.points_from_xy(far.geometry.x + 1.0, far.geometry.y)
    with pytest.raises(RoutingError, match="tier 'market'"):
        travel_times_to_nearest(poa_network, poa_localities, {"market": far})
    with pytest.raises(RoutingError):
        travel_times_to_nearest(poa_network, poa_localities.iloc[:0], poa_tiers)


# ---------------------------------------------------------------------- OD matrix
def test_od_matrix_consistent_with_nearest(poa_network: RoadNetwork, poa_localities: gpd.GeoDataFrame,
                                           poa_pois: gpd.GeoDataFrame, poa_table: gpd.GeoDataFrame) -> None:
    sample = poa_localities.iloc[::10]
    od = od_matrix(poa_network, sample, poa_pois)
    assert list(od.columns) == ["from_id", "to_id", "travel_time_min"]
    best = od.groupby("from_id")["travel_time_min"].min()
    expect = poa_table.set_index("place_id").loc[best.index, "travel_time_market_min"]
    np.testing.assert_allclose(best.to_numpy(), expect.to_numpy(), rtol=1e-9)
    reachable = poa_table.loc[sample.index, "travel_time_market_min"].notna().sum()
    assert len(od) == reachable * len(poa_pois)
    cut = od_matrix(poa_network, sample, poa_pois, cutoff_min=5)
    assert (cut["travel_time_min"] <= 5).all()
    assert len(cut) == int((od["travel_time_min"] <= 5).sum())
    # the other orientation (more destinations than origins) gives the same times
    back = od_matrix(poa_network, poa_pois.iloc[:2], sample)
    fwd = od_matrix(poa_network, poa_pois.iloc[:2], sample.iloc[:1])
    merged = fwd.merge(back, on=["from_id", "to_id"])
    np.testing.assert_allclose(merged["travel_time_min_x"], merged["travel_time_min_y"], rtol=1e-9)


# ---------------------------------------------------------------------- isochrones
def test_isochrones_nested_and_sized(poa_network: RoadNetwork, poa_pois: gpd.GeoDataFrame) -> None:
    iso = isochrones(poa_network, poa_pois, (5, 10, 60))
    assert iso.crs.to_epsg() == 4326
    assert list(iso["threshold_min"]) == [5, 10, 60]
    assert "area_km2" not in iso and "ring_area_km2" not in iso  # one kind of figure, named
    assert iso["within_area_km2"].is_monotonic_increasing and iso["within_road_km"].is_monotonic_increasing
    g = iso.to_crs(poa_network.crs).geometry
    assert g.iloc[0].difference(g.iloc[1]).area < 1.0  # nested (up to rounding)
    # 60 min reaches every road: the whole network buffered by 100 m
    roads = shapely.union_all(shapely.buffer(poa_network.edge_geometry_metric(), 100, quad_segs=4))
    assert iso["within_area_km2"].iloc[2] == pytest.approx(roads.area / 1e6, rel=1e-3)
    assert 0.3 < iso["within_area_km2"].iloc[0] / iso["within_area_km2"].iloc[2] < 0.8
    # 60 min reaches every road: the reached length is the network's road length (each two-way
    # road piece counted once, as its segment)
    seg_km = poa_network.edges.groupby("segment")["length_m"].first().sum() / 1000.0
    assert iso["within_road_km"].iloc[2] == pytest.approx(seg_km, rel=1e-3)
    # every point of interest within 100 m of its road lies inside the smallest isochrone
    sn = snap_points(poa_network, poa_pois.geometry.x.to_numpy(), poa_pois.geometry.y.to_numpy(),
                     max_snap_m=2000.0, walk_kph=4.0)
    near = sn.snap_dist_m < 99
    assert near.sum() >= 10
    assert iso.geometry.iloc[0].contains(poa_pois.geometry[near]).all()
    bands = isochrones(poa_network, poa_pois, (5, 10, 60), bands=True)
    assert "area_km2" not in bands and "within_road_km" not in bands
    # rings: both figures are of the ring, so each adds up to the cumulative figure
    assert bands["ring_area_km2"].sum() == pytest.approx(iso["within_area_km2"].iloc[2], rel=1e-3)
    np.testing.assert_allclose(bands["ring_road_km"].cumsum(), iso["within_road_km"], rtol=1e-9)
    np.testing.assert_allclose(bands["ring_area_km2"].cumsum(), iso["within_area_km2"], rtol=1e-3)
    assert (bands["ring_road_km"] >= 0).all() and (bands["ring_area_km2"] >= 0).all()
    assert list(bands["min_time_min"]) == [0, 5, 10]


def test_isochrone_partial_edges(poa_network: RoadNetwork, poa_pois: gpd.GeoDataFrame) -> None:
    """Road reached in 2 minutes from one destination: about what a car covers in 2 minutes
    along each road leaving it (cut part-way along edges), not whole edges."""
    one = poa_pois.iloc[[0]]
    a = isochrones(poa_network, one, (1, 2), direction="from")
    assert 0 < a["within_road_km"].iloc[0] < a["within_road_km"].iloc[1] < 10
    with pytest.raises(RoutingError, match="increase"):
        isochrones(poa_network, one, (10, 5))


# ---------------------------------------------------------------------- population within
def test_population_within_counts_unreachable_as_beyond() -> None:
    table = pd.DataFrame({"population": [100, 200, 300, 400, np.nan],
                          "travel_time_city_min": [30, 61, 200, np.nan, 10],
                          "travel_time_port_min": [300, 300, 300, 300, 300]})
    pw = population_within(table, (60, 120, 240))
    city = pw[pw["tier"] == "city"].set_index("threshold_min")
    assert city.loc[60, "population_within"] == 100
    assert city.loc[120, "population_within"] == 300
    assert city.loc[240, "population_within"] == 600
    assert city.loc[240, "share_within"] == pytest.approx(0.6)  # the unreachable 400 are beyond
    assert city.loc[60, "places_within"] == 2  # the place without population still counts as a place
    port = pw[pw["tier"] == "port"]
    assert (port["population_within"] == 0).all()
    with pytest.raises(ColumnError, match="pop"):
        population_within(table, pop_col="pop")


def test_population_within_real(poa_table: gpd.GeoDataFrame) -> None:
    pw = population_within(poa_table, (5, 10, 60))
    ec = pw[pw["tier"] == "employment_centre"]
    assert ec["share_within"].is_monotonic_increasing
    total = poa_table["population"].sum()
    assert ec["population_total"].iloc[0] == total
    far_pop = poa_table.loc[poa_table["travel_time_employment_centre_min"].isna(), "population"].sum()
    assert ec["population_within"].iloc[-1] == pytest.approx(total - far_pop)


# ---------------------------------------------------------------------- gravity
def test_decay_weights() -> None:
    t = np.array([0.0, 10.0, 30.0])
    e = decay_weights(t, "exponential", 0.1)
    np.testing.assert_allclose(e, np.exp(-0.1 * t))
    p = decay_weights(t, "power", 2)
    np.testing.assert_allclose(p, [1.0, 0.01, 1 / 900])
    g = decay_weights(t, "gaussian", 30)
    assert g[0] == 1 and g[2] == pytest.approx(np.exp(-0.5))
    with pytest.raises(RoutingError):
        decay_weights(t, "linear")
    with pytest.raises(RoutingError):
        decay_weights(t, "power", -1)


def test_gravity_access(poa_network: RoadNetwork, poa_localities: gpd.GeoDataFrame,
                        poa_tiers: dict[str, gpd.GeoDataFrame]) -> None:
    centres = poa_tiers["employment_centre"]
    acc = gravity_access(poa_network, poa_localities, centres, mass_col="jobs", beta=0.1, cutoff_min=None)
    assert acc.name == "market_access_index" and acc.index.equals(poa_localities.index)
    assert int(acc.isna().sum()) == 2  # the two cells too far from a road
    # recompute one origin by hand from the OD table
    i = 100
    od = od_matrix(poa_network, poa_localities.iloc[[i]], centres)
    jobs = centres.set_index("dest_id")["jobs"]
    manual = float((jobs.loc[od["to_id"]].to_numpy() * np.exp(-0.1 * od["travel_time_min"].to_numpy())).sum())
    assert acc.iloc[i] == pytest.approx(manual, rel=1e-9)
    # stronger decay -> lower index everywhere; a cutoff can only lower it
    steep = gravity_access(poa_network, poa_localities, centres, mass_col="jobs", beta=0.3, cutoff_min=None)
    cut = gravity_access(poa_network, poa_localities, centres, mass_col="jobs", beta=0.1, cutoff_min=5)
    ok = acc.notna()
    assert (steep[ok] < acc[ok]).all() and (cut[ok] <= acc[ok] + 1e-9).all()
    # the best-served cell is a central one (the CBD cells hold the jobs)
    assert acc.idxmax() in set(poa_localities.index[poa_localities["jobs"] >= 1000])
    with pytest.raises(ColumnError, match="wages"):
        gravity_access(poa_network, poa_localities, centres, mass_col="wages")


# ---------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def saved_network(poa_network: RoadNetwork, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("net") / "poa.tgnet"
    poa_network.save(path)
    return path


def run(args: list[str], quiet: bool = True) -> tuple[int, str]:
    res = CliRunner().invoke(main, [*(["-q"] if quiet else []), *[str(a) for a in args]])
    return res.exit_code, res.stdout if not quiet else res.output


def test_cli_nearest_od_isochrones(saved_network: Path, tmp_path: Path) -> None:
    out = tmp_path / "access.csv"
    code, text = run(["access", "nearest", saved_network, HEX, "--tier", "employment_centre=jobs>=2000",
                      "--tier", f"market={POI}", "-o", out], quiet=False)
    assert code == 0, text
    t = pd.read_csv(out)
    assert len(t) == 1227
    for col in ("travel_time_employment_centre_min", "nearest_market_id", "access_leg_min", "snap_dist_m",
                "unreachable_reason", "lon", "lat"):
        assert col in t
    assert "employment_centre: 25 destinations" in text
    code, text = run(["access", "nearest", saved_network, HEX, "--tier", "market=x.csv", "-o", out])
    assert code == 1 and "output exists" in text
    od_out = tmp_path / "od.gpkg"
    code, text = run(["access", "od", saved_network, POI, POI, "--cutoff", "10", "-o", od_out])
    assert code == 0, text
    od = gpd.read_file(od_out)
    assert (od["travel_time_min"] <= 10).all() and len(od) > 15
    # the same table as Parquet (no geometry) and as CSV
    for suffix in ("parquet", "csv"):
        code, text = run(["access", "od", saved_network, POI, HEX, "--cutoff", "10", "-o", tmp_path / f"od.{suffix}"])
        assert code == 0, text
    pq, csv = pd.read_parquet(tmp_path / "od.parquet"), pd.read_csv(tmp_path / "od.csv")
    assert list(pq.columns) == ["from_id", "to_id", "travel_time_min"] and len(pq) > 1000
    pd.testing.assert_frame_equal(pq.astype({"from_id": str, "to_id": str}),
                                  csv.astype({"from_id": str, "to_id": str}))
    iso_out = tmp_path / "iso.gpkg"
    code, text = run(["access", "isochrones", data_path("porto_alegre", "poa_osm.pbf"), POI,
                      "--thresholds", "5,10", "-o", iso_out])
    assert code == 0, text
    iso = gpd.read_file(iso_out)
    assert list(iso["threshold_min"]) == [5, 10]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def bad_inputs(tmp: Path) -> dict[str, tuple[list[str], str]]:
    hexdf = pd.read_csv(HEX)
    sub = hexdf.iloc[:50]
    no_id = tmp / "no_id.csv"
    sub.drop(columns=["id"]).rename(columns={"population": "population"}).to_csv(no_id, index=False)
    no_pop = tmp / "no_pop.csv"
    sub.drop(columns=["population"]).to_csv(no_pop, index=False)
    dup = tmp / "dup.csv"
    pd.concat([sub, sub.iloc[:3]]).to_csv(dup, index=False)
    swapped = tmp / "swapped.csv"
    sub.rename(columns={"lon": "lat", "lat": "lon"}).to_csv(swapped, index=False)
    _write(tmp / "empty.csv", "")
    _write(tmp / "header.csv", "id,lon,lat,population\n")
    outside = tmp / "outside.csv"
    sub.assign(lon=sub["lon"] + 2.0).to_csv(outside, index=False)
    tier = ["--tier", "employment_centre=top3:jobs"]
    return {
        "missing id column": (["no_id.csv", *tier], "no id column"),
        "missing population column": (["no_pop.csv", *tier], "no population column"),
        "duplicate ids": (["dup.csv", *tier], "duplicated id"),
        "swapped lat/lon": (["swapped.csv", *tier], "swapped"),
        "empty file": (["empty.csv", *tier], "empty"),
        "header only": (["header.csv", *tier], "no rows"),
        "all outside the network": (["outside.csv", *tier], "farther than 2000 m"),
        "tier matches no place": ([str(HEX), "--tier", "employment_centre=jobs>=1000000"], "matches no place"),
        "tier column missing": ([str(HEX), "--tier", "employment_centre=wages>=10"], "wages"),
        "bad tier syntax": ([str(HEX), "--tier", "employment_centre"], "NAME=FILE_OR_RULE"),
        "missing network": (["MISSING_NET", str(HEX), *tier], "not found"),
    }


@pytest.mark.parametrize("case", ["missing id column", "missing population column", "duplicate ids",
                                  "swapped lat/lon", "empty file", "header only", "all outside the network",
                                  "tier matches no place", "tier column missing", "bad tier syntax",
                                  "missing network"])
def test_cli_bad_input(case: str, saved_network: Path, tmp_path: Path) -> None:
    args, expect = bad_inputs(tmp_path)[case]
    out = tmp_path / "out.gpkg"
    if args[0] == "MISSING_NET":
        net_arg, files = str(tmp_path / "missing.tgnet"), args[1:]
    else:
        net_arg, files = str(saved_network), args
    files = [str(tmp_path / f) if f.endswith(".csv") and "/" not in f else f for f in files]
    code, text = run(["access", "nearest", net_arg, *files, "-o", out])
    assert code == 1, text
    assert_one_error(text, expect, out)
    assert not list(tmp_path.glob(".out.part-*"))


def test_cli_some_points_outside(saved_network: Path, tmp_path: Path) -> None:
    """Points beyond the network are kept with reason too_far_from_road (not an error)."""
    hexdf = pd.read_csv(HEX).iloc[:20].copy()
    hexdf.loc[:4, "lon"] += 2.0
    src = tmp_path / "mixed.csv"
    hexdf.to_csv(src, index=False)
    out = tmp_path / "mixed_out.csv"
    code, text = run(["access", "nearest", saved_network, src, "--tier", f"market={POI}", "-o", out])
    assert code == 0, text
    t = pd.read_csv(out)
    assert (t["unreachable_reason"].iloc[:5] == REASON_TOO_FAR).all()
    assert t["travel_time_market_min"].iloc[:5].isna().all()
    assert t["travel_time_market_min"].iloc[5:].notna().all()


def test_isochrone_covers_snapped_points_reached_in_time(poa_network: RoadNetwork,
                                                         poa_table: gpd.GeoDataFrame,
                                                         poa_pois: gpd.GeoDataFrame) -> None:
    """Every locality whose on-road point reaches a market within 5 minutes (travel time minus
    its off-road leg) has that road point inside the 5-minute isochrone (same engine pass,
    independent geometry path)."""
    iso = isochrones(poa_network, poa_pois, (5,), buffer_m=20)
    road_min = poa_table["travel_time_market_min"] - poa_table["access_leg_min"]
    inside = road_min < 5 - 1e-6
    assert inside.sum() > 100
    sn = snap_points(poa_network, poa_table.geometry.x.to_numpy(), poa_table.geometry.y.to_numpy(),
                     max_snap_m=2000.0, walk_kph=4.0)
    pts = gpd.GeoSeries(gpd.points_from_xy(sn.snapped_lon, sn.snapped_lat), crs=4326)[inside.to_numpy()]
    poly = iso.to_crs(poa_network.crs).geometry.iloc[0].buffer(0.01)
    assert poly.contains(pts.to_crs(poa_network.crs)).all()
    # and most localities whose road point needs more than 6 minutes are outside it
    outside = (road_min > 6).to_numpy()
    pts_out = gpd.GeoSeries(gpd.points_from_xy(sn.snapped_lon, sn.snapped_lat), crs=4326)[outside]
    assert (~pts_out.to_crs(poa_network.crs).within(poly)).mean() > 0.9
