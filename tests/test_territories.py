"""Functional territories on the embedded Porto Alegre data (real OSM roads, real H3 cells).

Centres: the 5 most populated cells (a stand-in for intermediate cities inside one city);
employment centres: the cells with at least 2,000 formal jobs (see ``conftest``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest
import shapely
from _cli import assert_cli_fails
from click.testing import CliRunner

from territorial_gis import hubs as hb
from territorial_gis import territories as tr
from territorial_gis._zones import population_of
from territorial_gis.errors import ConfigError
from territorial_gis.places import derive_tier

if TYPE_CHECKING:
    import geopandas as gpd

    from territorial_gis.network import RoadNetwork

LIMIT = 12.0
EMP_LIMIT = 8.0


@pytest.fixture(scope="session")
def centres(poa_localities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return derive_tier(poa_localities, "top5:population", tier="intermediate_city")


@pytest.fixture(scope="session")
def hub_setup(poa_network: RoadNetwork, poa_localities: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    hubs = hb.select_hubs(poa_network, poa_localities, 6, model="cover", min_population=1500, method="greedy").hubs
    return hubs, hb.assign_hinterlands(poa_network, poa_localities, hubs)


@pytest.fixture(scope="session")
def territories(poa_network: RoadNetwork, hub_setup: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
                centres: gpd.GeoDataFrame, poa_tiers: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    hubs, assigned = hub_setup
    return tr.build_territories(poa_network, assigned, centres, max_time_min=LIMIT,
                                employment_centres=poa_tiers["employment_centre"],
                                employment_limit_min=EMP_LIMIT, hubs=hubs)


def test_each_locality_joins_its_fastest_centre(poa_network: RoadNetwork, territories: gpd.GeoDataFrame,
                                                centres: gpd.GeoDataFrame) -> None:
    status = territories["territory_status"]
    assert set(status) <= {"assigned", "no_centre_within_limit", "too_far_from_road", "disconnected"}
    assert (status == "assigned").sum() > 0.5 * len(territories)
    assert (status == "no_centre_within_limit").sum() > 0  # the limit bites on this city
    # independent table: times from every locality to every centre (long table, no cutoff that matters)
    mask = territories["place_id"].astype(str).isin(centres["dest_id"].astype(str)).to_numpy()
    tab = hb.hub_travel_table(poa_network, territories, 600.0, mask)
    d = np.full((tab.n_localities, tab.n_candidates), np.inf)
    d[tab.loc, tab.cand] = tab.time_min
    nearest = d.min(axis=1)
    col_ids = pd.Index(tab.loc_ids[tab.cand_pos].astype(str))
    a = (status == "assigned").to_numpy()
    t = territories["travel_time_centre_min"].to_numpy()
    assert np.allclose(t[a], nearest[a], atol=1e-9)
    assert (t[a] <= LIMIT).all()
    cols = col_ids.get_indexer(territories.loc[a, "territory_id"].astype(str))
    assert (cols >= 0).all()
    assert np.allclose(d[np.flatnonzero(a), cols], nearest[a], atol=1e-9)
    beyond = (status == "no_centre_within_limit").to_numpy()
    assert territories.loc[beyond, "territory_id"].isna().all()
    assert (t[beyond] > LIMIT).all()
    # a centre is in its own territory at 0 min
    own = territories[mask]
    assert (own["territory_id"].astype(str) == own["place_id"].astype(str)).all()
    assert np.allclose(own["travel_time_centre_min"], 0.0)


def test_nesting_locality_hub_centre_employment(territories: gpd.GeoDataFrame,
                                                hub_setup: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
                                                poa_tiers: dict[str, gpd.GeoDataFrame]) -> None:
    hubs, _ = hub_setup
    # the territory of a locality's hub is the territory of the hub's own locality row
    by_id = territories.set_index(territories["place_id"].astype(str))["territory_id"]
    has_hub = territories["hub_id"].notna()
    expected = by_id.reindex(territories.loc[has_hub, "hub_id"].astype(str)).to_numpy()
    got = territories.loc[has_hub, "hub_territory_id"].to_numpy()
    same = [(pd.isna(x) and pd.isna(y)) or x == y for x, y in zip(expected, got, strict=True)]
    assert all(same)
    assert pd.notna(got).sum() > 0
    # employment link: consistent with the centre's time and the limit
    a = territories["territory_status"] == "assigned"
    te = territories.loc[a, "centre_travel_time_employment_min"].to_numpy(dtype=float)
    linked = territories.loc[a, "centre_linked_to_dynamic_market"].to_numpy(dtype=bool)
    assert (linked == (te <= EMP_LIMIT)).all()
    emp_ids = set(poa_tiers["employment_centre"]["dest_id"].astype(str))
    assert set(territories.loc[a, "centre_employment_id"].astype(str)) <= emp_ids
    # one centre id -> one employment time
    assert (territories[a].groupby("territory_id")["centre_travel_time_employment_min"].nunique() == 1).all()


def test_summary_and_polygons(territories: gpd.GeoDataFrame, centres: gpd.GeoDataFrame,
                              poa_network: RoadNetwork) -> None:
    loc = territories.copy()
    loc["area_class"] = np.where(loc["travel_time_centre_min"] > 6, "MRA", "FRA")
    summ = tr.summarize_territories(loc, centres)
    main = summ[summ["territory_id"].notna()]
    a = loc["territory_status"] == "assigned"
    pop = population_of(loc)
    assert main["population"].sum() == pytest.approx(pop[a.to_numpy()].sum())
    assert main["n_localities"].sum() == int(a.sum())
    bands = [c for c in main.columns if c.startswith("population_") and c.endswith("_min")]
    assert len(bands) == 4
    assert np.allclose(main[bands].sum(axis=1), main["population"])
    assert np.allclose(main["population_mra"] + main["population_fra"], main["population"])
    assert (main["mean_time_centre_weighted_min"] <= LIMIT).all()
    beyond_row = summ[summ["territory_id"].isna()]
    assert int(beyond_row["n_localities"].iloc[0]) == int((loc["territory_status"] == "no_centre_within_limit").sum())
    # a territory is linked when its centre reaches an employment centre within the limit
    centre_time = loc[a].groupby("territory_id")["centre_travel_time_employment_min"].first()
    linked = main.set_index("territory_id")["linked_to_dynamic_market"].astype(bool)
    assert linked.reindex(centre_time.index).tolist() == (centre_time <= EMP_LIMIT).tolist()
    assert main["centre_population"].notna().all()
    polys = tr.territory_polygons(loc, centres)
    assert len(polys) == len(main)
    assert (polys["area_km2"] > 0).all()
    metric = polys.to_crs(poa_network.crs)
    assert shapely.union_all(metric.geometry.to_numpy()).area == pytest.approx(metric.area.sum(), rel=1e-6)
    assert np.allclose(metric.area / 1e6, polys["area_km2"], rtol=1e-6)


def test_unknown_population_is_unknown_not_zero(territories: gpd.GeoDataFrame, centres: gpd.GeoDataFrame) -> None:
    """A territory none of whose localities has a known population has population NaN (and so
    do its band, class and centre figures), never 0; where some are known the known ones add up."""
    loc = territories.copy()
    loc["area_class"] = "MRA"
    tid = loc["territory_id"].dropna().astype(str)
    first = tid.iloc[0]
    part = loc["territory_id"].astype(str) == first
    loc.loc[part, "population"] = np.nan                    # one territory of unknown population
    mixed = tid[tid != first].iloc[0]
    some = (loc["territory_id"].astype(str) == mixed).to_numpy()
    keep = np.flatnonzero(some)[0]
    loc.loc[some, "population"] = np.nan
    loc.loc[loc.index[keep], "population"] = 123.0          # one known locality in another
    summ = tr.summarize_territories(loc, centres.assign(population=np.nan)).set_index("territory_id")
    pop_cols = [c for c in summ.columns if c == "population" or c.startswith("population_")]
    assert summ.loc[first, pop_cols].isna().all()
    assert summ.loc[mixed, "population"] == 123.0 and summ.loc[mixed, "population_mra"] == 123.0
    assert summ["centre_population"].isna().all()
    polys = tr.territory_polygons(loc.assign(population=np.nan), centres)
    assert polys["population"].isna().all() and (polys["n_localities"] > 0).all()


def test_no_limit_assigns_every_reachable_locality(poa_network: RoadNetwork, poa_localities: gpd.GeoDataFrame,
                                                   centres: gpd.GeoDataFrame) -> None:
    sample = poa_localities.iloc[::5]
    res = tr.build_territories(poa_network, sample, centres)
    snapped = res["territory_status"] != "too_far_from_road"
    assert (res.loc[snapped, "territory_status"] == "assigned").all()
    assert res.loc[snapped, "territory_id"].notna().all()


def test_bad_input_api(poa_network: RoadNetwork, poa_localities: gpd.GeoDataFrame,
                       centres: gpd.GeoDataFrame) -> None:
    with pytest.raises(ConfigError, match="centre tier has no place"):
        tr.build_territories(poa_network, poa_localities, centres.iloc[:0])
    with pytest.raises(ConfigError, match="positive"):
        tr.build_territories(poa_network, poa_localities, centres, max_time_min=0)


@pytest.fixture(scope="session")
def cli_files(tmp_path_factory: pytest.TempPathFactory, poa_network: RoadNetwork,
              poa_localities: gpd.GeoDataFrame) -> tuple[str, str]:
    d = tmp_path_factory.mktemp("territories_cli")
    net_path = d / "poa.tgnet"
    poa_network.save(net_path)
    s = poa_localities.iloc[::3]
    loc_path = d / "cells.csv"
    pd.DataFrame({"id": s["place_id"], "lon": s.geometry.x, "lat": s.geometry.y, "population": s["population"],
                  "jobs": s["jobs"]}).to_csv(loc_path, index=False)
    return str(net_path), str(loc_path)


def test_cli_territories(tmp_path, cli_files: tuple[str, str]) -> None:
    import geopandas as gpd
    import pyogrio
    from territorial_gis.cli import main

    out = tmp_path / "terr.gpkg"
    res = CliRunner().invoke(main, ["-q", "territories", *cli_files, "--centres", "top4:population",
                                    "--max-time", "10", "--employment", "jobs>=2000", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert {n for n, _ in pyogrio.list_layers(out)} == {"territories", "localities"}
    terr = gpd.read_file(out, layer="territories")
    assert len(terr) == 4 and "linked_to_dynamic_market" in terr
    locs = gpd.read_file(out, layer="localities")
    assert set(locs["territory_status"]) >= {"assigned"}


@pytest.mark.parametrize("args, message", [
    (["--centres", "population>=1e12"], "matches no place"),
    (["--centres", "top4:population", "--max-time", "0"], "positive"),
    (["--centres", "top4:population", "--employment", "jobs>=1e12"], "matches no place"),
    (["--centres", "top4:population", "--regions", "state_code"], "region column 'state_code' not found"),
    (["--centres", "top4:population", "--regions", "nowhere/regions.gpkg"], "not found"),
])
def test_cli_territories_bad_input(tmp_path, cli_files: tuple[str, str], args: list[str], message: str) -> None:
    out = tmp_path / "terr.gpkg"
    assert_cli_fails(["-q", "territories", *cli_files, *args, "-o", str(out)], message, out)
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------------------- regions
# TEST REGIONS, not real boundaries: the study area cut in two between the 2nd and 3rd centre
# from the west (both halves hold centres)
@pytest.fixture(scope="module")
def halves(poa_localities: gpd.GeoDataFrame, centres: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    import geopandas as gpd

    lon = np.sort(centres.geometry.x.to_numpy())
    mid = float((lon[1] + lon[2]) / 2)
    w, s, e, n = poa_localities.total_bounds
    return gpd.GeoDataFrame({"region_id": ["west", "east"]},
                            geometry=[shapely.box(w - 1, s - 1, mid, n + 1), shapely.box(mid, s - 1, e + 1, n + 1)],
                            crs=4326)


@pytest.fixture(scope="module")
def free_and_within(poa_network: RoadNetwork, poa_localities: gpd.GeoDataFrame, centres: gpd.GeoDataFrame,
                    halves: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    plain = tr.build_territories(poa_network, poa_localities, centres)
    free = tr.build_territories(poa_network, poa_localities, centres, regions=halves)
    within = tr.build_territories(poa_network, poa_localities, centres, regions=halves, within_region=True)
    return plain, free, within


def test_regions_label_territories_without_changing_them(free_and_within, halves: gpd.GeoDataFrame) -> None:
    plain, free, _ = free_and_within
    assert (free["territory_id"].fillna("-") == plain["territory_id"].fillna("-")).all()
    np.testing.assert_allclose(free["travel_time_centre_min"], plain["travel_time_centre_min"], equal_nan=True)
    expect_region = np.where(free.geometry.x <= float(halves.geometry.iloc[0].bounds[2]), "west", "east")
    assert (free["region_id"].to_numpy() == expect_region).all()
    assigned = free["territory_status"] == "assigned"
    # a territory's region is the region of its centre (a locality here)
    region_of_cell = dict(zip(free["place_id"].astype(str), free["region_id"], strict=True))
    got = free.loc[assigned, "territory_region_id"]
    assert (got.to_numpy() == free.loc[assigned, "territory_id"].astype(str).map(region_of_cell).to_numpy()).all()
    crosses = free.loc[assigned, "territory_crosses_region"].astype(bool)
    assert (crosses == (free.loc[assigned, "region_id"] != got)).all()
    assert crosses.any() and not crosses.all()  # the cut runs through the city: some territories straddle it
    assert free.loc[~assigned, "territory_crosses_region"].isna().all()


def test_within_region_keeps_localities_in_their_region(free_and_within) -> None:
    _, free, within = free_and_within
    ok = within["territory_status"] == "assigned"
    assert ok.sum() > 0.9 * len(within)
    assert (within.loc[ok, "region_id"] == within.loc[ok, "territory_region_id"]).all()
    assert not within.loc[ok, "territory_crosses_region"].astype(bool).any()
    # a constraint never shortens a trip; where the free choice was in the region it is kept
    both = ok & (free["territory_status"] == "assigned")
    t_w = within.loc[both, "travel_time_centre_min"].to_numpy()
    t_f = free.loc[both, "travel_time_centre_min"].to_numpy()
    assert (t_w >= t_f - 1e-9).all()
    inside = both & ~free["territory_crosses_region"].fillna(True).astype(bool)
    np.testing.assert_allclose(within.loc[inside, "travel_time_centre_min"],
                               free.loc[inside, "travel_time_centre_min"], rtol=1e-12)
    assert (t_w > t_f + 1e-9).any()  # and some localities pay for the border


def test_region_column_equals_polygons_and_regions_without_centres(
        poa_network: RoadNetwork, poa_localities: gpd.GeoDataFrame, centres: gpd.GeoDataFrame,
        halves: gpd.GeoDataFrame, free_and_within) -> None:
    _, _, within = free_and_within
    mid = float(halves.geometry.iloc[0].bounds[2])
    cells = poa_localities.assign(half=np.where(poa_localities.geometry.x <= mid, "west", "east"))
    by_col = tr.build_territories(poa_network, cells, centres, regions="half", within_region=True)
    assert (by_col["territory_id"].fillna("-") == within["territory_id"].fillna("-")).all()
    np.testing.assert_allclose(by_col["travel_time_centre_min"], within["travel_time_centre_min"], equal_nan=True)
    # only western centres: every reachable eastern locality has no centre in its region
    west_centres = centres[centres.geometry.x <= mid]
    assert 0 < len(west_centres) < len(centres)
    res = tr.build_territories(poa_network, cells, west_centres, regions="half", within_region=True)
    east = (res["region_id"] == "east") & (res["territory_status"] != "too_far_from_road")
    assert (res.loc[east, "territory_status"] == "no_centre_in_region").all()
    summ = tr.summarize_territories(res, west_centres)
    assert set(summ["region_id"].dropna()) == {"west"}
    assert (summ["n_localities_other_region"].fillna(0) == 0).all()


def test_region_bad_input(poa_network: RoadNetwork, poa_localities: gpd.GeoDataFrame,
                          centres: gpd.GeoDataFrame, halves: gpd.GeoDataFrame) -> None:
    from territorial_gis.errors import ColumnError, CRSError

    with pytest.raises(ConfigError, match="within_region needs regions"):
        tr.build_territories(poa_network, poa_localities, centres, within_region=True)
    with pytest.raises(ColumnError, match="region column 'state_code' not found"):
        tr.build_territories(poa_network, poa_localities, centres, regions="state_code")
    with pytest.raises(CRSError, match="no CRS"):
        tr.build_territories(poa_network, poa_localities, centres, regions=halves.set_crs(None, allow_override=True))
    with pytest.raises(ConfigError, match="must be polygons"):
        tr.build_territories(poa_network, poa_localities, centres, regions=centres)


def test_cli_territories_within_region(tmp_path, cli_files: tuple[str, str], halves: gpd.GeoDataFrame) -> None:
    import geopandas as gpd
    from territorial_gis.cli import main

    regions = tmp_path / "halves.gpkg"
    halves.to_file(regions, layer="regions")
    out = tmp_path / "terr.gpkg"
    res = CliRunner().invoke(main, ["-q", "territories", *cli_files, "--centres", "top4:population",
                                    "--regions", str(regions), "--within-region", "-o", str(out)])
    assert res.exit_code == 0, res.output
    locs = gpd.read_file(out, layer="localities")
    ok = locs["territory_status"] == "assigned"
    assert ok.any() and (locs.loc[ok, "region_id"] == locs.loc[ok, "territory_region_id"]).all()
    terr = gpd.read_file(out, layer="territories")
    assert set(terr["region_id"]) <= {"west", "east"}
    res = CliRunner().invoke(main, ["-q", "territories", *cli_files, "--centres", "top4:population",
                                    "--within-region", "-o", str(tmp_path / "x.gpkg")])
    assert res.exit_code == 2 and "--within-region needs --regions" in res.output


def test_non_locality_centres_route_like_destinations(poa_network: RoadNetwork, poa_localities: gpd.GeoDataFrame,
                                                      poa_pois: gpd.GeoDataFrame) -> None:
    """Centres away from every locality are snapped on their own: the times equal the access
    stage's times to the same points as a destination tier."""
    from territorial_gis.access import travel_times_to_nearest

    sample = poa_localities.iloc[::3]
    res = tr.build_territories(poa_network, sample, poa_pois)
    acc = travel_times_to_nearest(poa_network, sample, {"poi": poa_pois})
    np.testing.assert_allclose(res["travel_time_centre_min"], acc["travel_time_poi_min"], rtol=0, atol=1e-9,
                               equal_nan=True)
    a = (res["territory_status"] == "assigned").to_numpy()
    assert a.sum() > 0.9 * len(res)
    assert (res.loc[a, "territory_id"].to_numpy() == acc.loc[a, "nearest_poi_id"].to_numpy()).all()


def test_territories_do_not_import_the_hub_stage() -> None:
    """The machinery both stages share lives below them (``_zones``), not in ``hubs``."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(tr))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    assert "hubs" not in imported and "territorial_gis.hubs" not in imported
    assert "_zones" in imported
