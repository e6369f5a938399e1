"""Hub selection and hinterlands on the embedded Porto Alegre data (real OSM roads, real H3 cells).

Exactness is checked on small real subsets against a brute-force enumeration of every hub set on
the same travel-time table, and coverage against an independent networkx shortest-path
computation (road graph from ``net.to_networkx()`` plus the snapping legs rebuilt by hand).
"""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from _cli import assert_cli_fails
from click.testing import CliRunner

from territorial_gis import hubs as hb
from territorial_gis._engine import snap_points
from territorial_gis._zones import population_of
from territorial_gis.errors import ColumnError, ConfigError

if TYPE_CHECKING:
    import geopandas as gpd

    from territorial_gis.network import RoadNetwork

T_SMALL = 2.0  # minutes: on these 10 neighbouring H3 cells the optimal cover needs 4 hubs


@pytest.fixture(scope="session")
def small_cells(poa_localities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The 10 populated H3 cells nearest to the Porto Alegre city hall area (real subset)."""
    pts = poa_localities[poa_localities["population"] > 0]
    centre = np.array([-51.1935, -30.0385])  # a residential area with a dense street grid
    d = np.hypot(pts.geometry.x - centre[0], pts.geometry.y - centre[1])
    return pts.loc[d.sort_values().index[:10]].reset_index(drop=True)


@pytest.fixture(scope="session")
def small_table(poa_network: RoadNetwork, small_cells: gpd.GeoDataFrame) -> hb.HubTable:
    return hb.hub_travel_table(poa_network, small_cells, T_SMALL)


@pytest.fixture(scope="session")
def region_sample(poa_localities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Every fourth cell of the embedded region (307 real localities)."""
    return poa_localities.iloc[::4].reset_index(drop=True)


def _dense(table: hb.HubTable) -> np.ndarray:
    d = np.full((table.n_localities, table.n_candidates), np.inf)
    d[table.loc, table.cand] = table.time_min
    return d


def _cand_index(table: hb.HubTable, hubs: gpd.GeoDataFrame) -> list[int]:
    ids = pd.Index(table.loc_ids[table.cand_pos].astype(str))
    return list(ids.get_indexer(hubs["hub_id"].astype(str)))


def test_table_is_sparse_and_within_cutoff(small_table: hb.HubTable) -> None:
    assert (small_table.time_min <= T_SMALL + 1e-9).all()
    # every locality reaches itself in 0 min (it is its own candidate)
    self_pairs = small_table.cand_pos[small_table.cand] == small_table.loc
    assert self_pairs.sum() == small_table.n_localities
    assert np.allclose(small_table.time_min[self_pairs], 0.0)
    # not every pair is within T: the table is genuinely sparse on this subset
    assert len(small_table.loc) < small_table.n_localities * small_table.n_candidates


def test_cover_exact_equals_brute_force(poa_network: RoadNetwork, small_cells: gpd.GeoDataFrame,
                                        small_table: hb.HubTable) -> None:
    d = _dense(small_table)
    cov = d <= T_SMALL
    coverable = cov.any(axis=1)
    best = None
    for r in range(1, small_table.n_candidates + 1):
        if any(cov[:, list(c)].any(axis=1)[coverable].all()
               for c in itertools.combinations(range(small_table.n_candidates), r)):
            best = r
            break
    assert best is not None and best >= 3  # non-trivial instance
    exact = hb.select_hubs(poa_network, small_cells, T_SMALL, model="cover", method="exact", table=small_table).hubs
    assert len(exact) == best
    assert bool(exact["optimal"].all()) and set(exact["method"]) == {"exact"}
    cols = _cand_index(small_table, exact)
    assert cov[:, cols].any(axis=1)[coverable].all()
    greedy = hb.select_hubs(poa_network, small_cells, T_SMALL, model="cover", method="greedy", table=small_table).hubs
    assert len(greedy) >= best and not greedy["optimal"].any()
    assert cov[:, _cand_index(small_table, greedy)].any(axis=1)[coverable].all()


def test_pmedian_and_maxcover_exact_equal_brute_force(poa_network: RoadNetwork, small_cells: gpd.GeoDataFrame,
                                                      small_table: hb.HubTable) -> None:
    d = _dense(small_table)
    w = population_of(small_cells)
    penalty = 2 * T_SMALL
    cost = np.minimum(d, penalty)
    for k in (2, 3):
        brute = min(float((w * cost[:, list(c)].min(axis=1)).sum())
                    for c in itertools.combinations(range(small_table.n_candidates), k))
        sel = hb.select_hubs(poa_network, small_cells, T_SMALL, model="pmedian", k=k, method="exact",
                             table=small_table)
        exact = sel.hubs
        got = float((w * cost[:, _cand_index(small_table, exact)].min(axis=1)).sum())
        assert got == pytest.approx(brute, rel=1e-9)
        assert sel.objective == pytest.approx(brute, rel=1e-9)
        assert len(exact) == k and exact["optimal"].all()
        greedy = hb.select_hubs(poa_network, small_cells, T_SMALL, model="pmedian", k=k, method="greedy",
                                table=small_table).hubs
        g_cost = float((w * cost[:, _cand_index(small_table, greedy)].min(axis=1)).sum())
        assert g_cost >= brute - 1e-6
        assert g_cost <= 1.05 * brute  # interchange lands within 5 % on this instance
        brute_mc = max(float(w[(d[:, list(c)] <= T_SMALL).any(axis=1)].sum())
                       for c in itertools.combinations(range(small_table.n_candidates), k))
        mc = hb.select_hubs(poa_network, small_cells, T_SMALL, model="maxcover", k=k, method="exact",
                            table=small_table)
        assert mc.objective == pytest.approx(brute_mc)


def _independent_time_s(net: RoadNetwork, G: nx.MultiDiGraph, lon: np.ndarray, lat: np.ndarray,
                        i: int, j: int, walk_kph: float) -> float:
    """Time from point i to point j: snapping legs + partial edges + networkx dijkstra."""
    if i == j:
        return 0.0
    sn = snap_points(net, lon, lat, max_snap_m=2000.0, walk_kph=walk_kph)
    seg = net.edges["segment"].to_numpy()
    rev = net.edges["reversed"].to_numpy(dtype=bool)
    tt = net.edges["travel_time_s"].to_numpy(float)

    def pieces(p: int) -> list[tuple[int, float]]:
        rep = int(sn.segment_edge[p])
        out = []
        for e in np.flatnonzero(seg == seg[rep]):
            pos = sn.frac[p] if rev[e] == rev[rep] else 1.0 - sn.frac[p]
            out.append((int(e), float(pos)))
        return out

    best = np.inf
    pi, pj = pieces(i), pieces(j)
    for e, pos in pi:  # same road piece, same direction, j ahead of i
        for e2, pos2 in pj:
            if e == e2 and pos2 >= pos:
                best = min(best, (pos2 - pos) * tt[e])
    dist = {}
    for e, pos in pi:
        v = int(net.node_id[net.edge_v[e]])
        if v not in dist:
            dist[v] = nx.single_source_dijkstra_path_length(G, v, weight="travel_time")
        for e2, pos2 in pj:
            u2 = int(net.node_id[net.edge_u[e2]])
            if u2 in dist[v]:
                best = min(best, (1 - pos) * tt[e] + dist[v][u2] + pos2 * tt[e2])
    return float(sn.leg_s[i] + best + sn.leg_s[j])


def test_covered_localities_really_within_t(poa_network: RoadNetwork, small_cells: gpd.GeoDataFrame,
                                            small_table: hb.HubTable) -> None:
    from territorial_gis._routing import RouteOptions, lonlat_of

    hubs = hb.select_hubs(poa_network, small_cells, T_SMALL, model="cover", method="exact", table=small_table).hubs
    assigned = hb.assign_hinterlands(poa_network, small_cells, hubs)
    G = poa_network.to_networkx()
    lon, lat = lonlat_of(small_cells)
    ids = small_cells["place_id"].astype(str).tolist()
    wk = RouteOptions().walk_speed(poa_network)
    checked = 0
    for i, row in assigned.iterrows():
        if not row["within_max_time"]:
            continue
        j = ids.index(str(row["hub_id"]))
        indep = _independent_time_s(poa_network, G, lon, lat, int(i), j, wk) / 60.0
        assert indep <= T_SMALL + 1e-6
        assert indep == pytest.approx(row["travel_time_hub_min"], abs=1e-6)
        checked += 1
    assert checked == len(small_cells)  # exact cover: every coverable locality within T


def test_hinterlands_partition_localities(poa_network: RoadNetwork, region_sample: gpd.GeoDataFrame) -> None:
    hubs = hb.select_hubs(poa_network, region_sample, 5, model="cover", method="greedy").hubs
    a = hb.assign_hinterlands(poa_network, region_sample, hubs)
    snapped = a["hub_reason"].isna()
    assert a.loc[snapped, "hub_id"].notna().all()
    assert set(a.loc[snapped, "hub_id"].astype(str)) <= set(hubs["hub_id"].astype(str))
    # every hub is in its own hinterland at 0 min
    own = a[a["place_id"].astype(str).isin(hubs["hub_id"].astype(str))]
    assert (own["place_id"].astype(str) == own["hub_id"].astype(str)).all()
    assert np.allclose(own["travel_time_hub_min"], 0.0)
    polys = hb.hinterland_polygons(a)
    assert len(polys) == a["hub_id"].nunique()
    assert polys["n_localities"].sum() == int(a["hub_id"].notna().sum())
    metric = polys.to_crs(poa_network.crs)
    total = metric.area.sum()
    union = shapely.union_all(metric.geometry.to_numpy()).area
    assert union == pytest.approx(total, rel=1e-6)  # no overlap between hinterlands
    pts = a[snapped].to_crs(poa_network.crs)
    by_hub = metric.set_index(metric["hub_id"].astype(str)).geometry
    inside = [by_hub[str(h)].buffer(1e-3).contains(p) for h, p in zip(pts["hub_id"], pts.geometry, strict=True)]
    assert all(inside)
    summ = hb.summarize_hubs(a, hubs)
    assert summ["n_localities"].sum() == int(a["hub_id"].notna().sum())
    assert summ["population_total"].sum() == pytest.approx(population_of(a[a["hub_id"].notna()]).sum())
    assert (summ["max_time_hub_min"] >= summ["median_time_hub_min"]).all()
    assert np.allclose(summ["population_total"], summ["hub_population"] + summ["hinterland_population"])


def test_mra_share_when_classified(poa_network: RoadNetwork, region_sample: gpd.GeoDataFrame) -> None:
    hubs = hb.select_hubs(poa_network, region_sample, 5, model="maxcover", k=4, method="greedy").hubs
    a = hb.assign_hinterlands(poa_network, region_sample, hubs)
    a["area_class"] = np.where(a["travel_time_hub_min"] > 3, "MRA", "FRA")
    summ = hb.summarize_hubs(a, hubs).set_index("hub_id")
    for hub, grp in a.groupby("hub_id"):
        pop = population_of(grp)
        exp = pop[grp["area_class"].to_numpy() == "MRA"].sum() / pop.sum()
        assert summ.loc[hub, "mra_population_share"] == pytest.approx(exp)


def test_unknown_population_hubs_are_unknown_not_zero(poa_network: RoadNetwork,
                                                     region_sample: gpd.GeoDataFrame) -> None:
    """Localities without population: hub and hinterland populations are NaN, never 0; the
    localities are still counted."""
    loc = region_sample.assign(population=np.nan)
    hubs = hb.select_hubs(poa_network, loc, 5, model="cover", method="greedy").hubs
    assert hubs["population"].isna().all()
    a = hb.assign_hinterlands(poa_network, loc, hubs)
    a["area_class"] = "MRA"
    summ = hb.summarize_hubs(a, hubs)
    assert summ["n_localities"].sum() == int(a["hub_id"].notna().sum())
    for c in ("population_total", "hub_population", "hinterland_population", "mra_population_share"):
        assert summ[c].isna().all(), c
    assert hb.hinterland_polygons(a)["population"].isna().all()


def test_number_of_hubs_falls_as_t_rises(poa_network: RoadNetwork, region_sample: gpd.GeoDataFrame) -> None:
    counts = []
    for t in (3.0, 5.0, 8.0):
        h = hb.select_hubs(poa_network, region_sample, t, model="cover", method="exact").hubs
        assert h["optimal"].all()
        counts.append(len(h))
    assert counts[0] >= counts[1] >= counts[2]
    assert counts[0] > counts[2]


def test_no_locality_assigned_past_a_strictly_nearer_hub(poa_network: RoadNetwork,
                                                         region_sample: gpd.GeoDataFrame) -> None:
    hubs = hb.select_hubs(poa_network, region_sample, 6, model="pmedian", k=6, method="greedy").hubs
    a = hb.assign_hinterlands(poa_network, region_sample, hubs)
    mask = region_sample["place_id"].astype(str).isin(hubs["hub_id"].astype(str)).to_numpy()
    tab = hb.hub_travel_table(poa_network, region_sample, 240.0, mask)
    d = _dense(tab)
    nearest = d.min(axis=1)
    hub_col = pd.Index(tab.loc_ids[tab.cand_pos].astype(str))
    ok = a["hub_id"].notna().to_numpy()
    assert ok.sum() > 0.95 * len(a)
    got = a["travel_time_hub_min"].to_numpy()
    assert np.allclose(got[ok], nearest[ok], atol=1e-9)
    cols = hub_col.get_indexer(a.loc[ok, "hub_id"].astype(str))
    assert np.allclose(d[np.flatnonzero(ok), cols], nearest[ok], atol=1e-9)


def test_greedy_scales_and_reports_uncovered(poa_network: RoadNetwork, poa_localities: gpd.GeoDataFrame) -> None:
    sel = hb.select_hubs(poa_network, poa_localities, 4, model="cover", min_population=2500, method="auto")
    h = sel.hubs
    assert sel.n_uncovered > 0
    rep = sel.covered_reason(poa_localities)
    assert rep.notna().sum() == sel.n_uncovered
    assert set(rep.dropna()) <= {hb.REASON_NO_CANDIDATE, hb.REASON_NOT_COVERED, "too_far_from_road"}
    assert (h["population"] >= 2500).all()


def test_bad_input_api(poa_network: RoadNetwork, small_cells: gpd.GeoDataFrame) -> None:
    with pytest.raises(ConfigError, match="positive"):
        hb.select_hubs(poa_network, small_cells, 0, model="cover")
    with pytest.raises(ConfigError, match="larger than the 10 candidate"):
        hb.select_hubs(poa_network, small_cells, 5, model="pmedian", k=11)
    with pytest.raises(ConfigError, match="no candidate hub passes"):
        hb.select_hubs(poa_network, small_cells, 5, model="cover", min_population=1e9)
    with pytest.raises(ColumnError, match="nope"):
        hb.select_hubs(poa_network, small_cells, 5, model="cover", service_column="nope")
    with pytest.raises(ConfigError, match="needs the number of hubs"):
        hb.select_hubs(poa_network, small_cells, 5, model="maxcover")


# ---------------------------------------------------------------------- CLI
@pytest.fixture(scope="session")
def cli_inputs(tmp_path_factory: pytest.TempPathFactory, poa_network: RoadNetwork,
               region_sample: gpd.GeoDataFrame) -> tuple[str, str]:
    d = tmp_path_factory.mktemp("hubs_cli")
    net_path = d / "poa.tgnet"
    poa_network.save(net_path)
    loc = pd.DataFrame({"id": region_sample["place_id"], "lon": region_sample.geometry.x,
                        "lat": region_sample.geometry.y, "population": region_sample["population"],
                        "schools": region_sample["schools"]})
    loc_path = d / "cells.csv"
    loc.to_csv(loc_path, index=False)
    return str(net_path), str(loc_path)


def test_cli_hubs_writes_layers(tmp_path, cli_inputs: tuple[str, str]) -> None:
    import geopandas as gpd
    import pyogrio
    from territorial_gis.cli import main

    out = tmp_path / "hubs.gpkg"
    res = CliRunner().invoke(main, ["-q", "hubs", *cli_inputs, "--max-time", "5", "--model", "maxcover",
                                    "--k", "5", "--min-population", "500", "-o", str(out)])
    assert res.exit_code == 0, res.output
    layers = {n for n, _ in pyogrio.list_layers(out)}
    assert layers == {"hubs", "hinterlands", "localities"}
    hubs = gpd.read_file(out, layer="hubs")
    assert len(hubs) == 5 and set(hubs["model"]) == {"maxcover"}
    locs = gpd.read_file(out, layer="localities")
    assert set(locs["hub_id"].dropna()) <= set(hubs["hub_id"])


@pytest.mark.parametrize("args, message", [
    (["--max-time", "0"], "positive"),
    (["--max-time", "-5"], "positive"),
    (["--max-time", "5", "--model", "pmedian", "--k", "400"], "larger than"),
    (["--max-time", "5", "--min-population", "1e9"], "no candidate hub passes"),
    (["--max-time", "5", "--service-col", "missing_col"], "missing_col"),
])
def test_cli_hubs_bad_input(tmp_path, cli_inputs: tuple[str, str], args: list[str], message: str) -> None:
    out = tmp_path / "hubs.gpkg"
    assert_cli_fails(["-q", "hubs", *cli_inputs, *args, "-o", str(out)], message, out)
    assert not list(tmp_path.iterdir())


def test_auto_method_switches_on_matrix_size(poa_network: RoadNetwork, small_cells: gpd.GeoDataFrame,
                                             small_table: hb.HubTable, monkeypatch: pytest.MonkeyPatch) -> None:
    auto = hb.select_hubs(poa_network, small_cells, T_SMALL, model="pmedian", k=2, method="auto",
                          table=small_table).hubs
    assert set(auto["method"]) == {"exact"} and auto["optimal"].all()
    monkeypatch.setitem(hb.EXACT_MAX_CELLS, "pmedian", 10)
    auto = hb.select_hubs(poa_network, small_cells, T_SMALL, model="pmedian", k=2, method="auto",
                          table=small_table).hubs
    assert set(auto["method"]) == {"greedy"} and not auto["optimal"].any()
    with pytest.raises(ConfigError, match="too large"):
        hb.select_hubs(poa_network, small_cells, T_SMALL, model="pmedian", k=2, method="exact", table=small_table)


# ---------------------------------------------------------------------- problem / solve
def test_problem_solves_several_models_on_one_table(poa_network: RoadNetwork, small_cells: gpd.GeoDataFrame,
                                                    small_table: hb.HubTable) -> None:
    problem = hb.HubProblem.from_network(poa_network, small_cells, max_time_min=T_SMALL)
    pd.testing.assert_frame_equal(problem.table.to_frame(), small_table.to_frame())
    d = _dense(small_table)
    w = population_of(small_cells)
    within = d <= T_SMALL
    for model, k in (("cover", None), ("maxcover", 2), ("pmedian", 3)):
        sel = problem.solve(model, k=k, method="exact")
        # the counts follow from the dense table and the chosen columns, not from the solver
        cols = _cand_index(small_table, sel.hubs)
        covered = within[:, cols].any(axis=1)
        assert sel.n_hubs == len(sel.hubs) == (k or sel.n_hubs)
        assert sel.n_covered == int(covered.sum())
        assert sel.population_covered == pytest.approx(float(w[covered].sum()))
        assert sel.n_uncovered == int((~covered).sum()) == sel.n_localities - sel.n_covered
        assert set(sel.uncovered) == set(small_cells.loc[~covered, "place_id"].astype(str))
        assert sel.model == model and sel.method == "exact" and sel.requested_method == "exact"
        assert sel.optimal and sel.k == k
        assert sel.penalty_min == (2 * T_SMALL if model == "pmedian" else None)
        # the same selection as select_hubs on the same table, which holds no attrs
        again = hb.select_hubs(None, small_cells, T_SMALL, model=model, k=k, method="exact", table=small_table)
        assert list(again.hubs["hub_id"]) == list(sel.hubs["hub_id"]) and again.objective == sel.objective
        assert sel.hubs.attrs == {}
    info = sel.as_dict()
    assert "hubs" not in info and info["n_hubs"] == sel.n_hubs and info["objective"] == sel.objective
    json.dumps(info)  # plain values only


def test_problem_and_solve_bad_input(poa_network: RoadNetwork, small_cells: gpd.GeoDataFrame,
                                     small_table: hb.HubTable) -> None:
    problem = hb.HubProblem.from_table(small_table, small_cells)
    with pytest.raises(ConfigError, match="unknown hub model 'nope'"):
        problem.solve("nope")
    with pytest.raises(ConfigError, match="unknown hub method 'fast'"):
        problem.solve("cover", method="fast")
    with pytest.raises(ConfigError, match="penalty 1 min must be at least"):
        problem.solve("pmedian", k=2, penalty_min=1.0)
    with pytest.raises(ConfigError, match="k=11 is larger than the 10 candidate"):
        problem.solve("maxcover", k=11)
    with pytest.raises(ConfigError, match="positive whole number"):
        problem.solve("pmedian", k=1.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="computed for 10 localities, not 9"):
        hb.HubProblem.from_table(small_table, small_cells.iloc[:9])
    with pytest.raises(ConfigError, match="computed for 2 min, not 3 min"):
        hb.select_hubs(None, small_cells, 3.0, table=small_table)
    with pytest.raises(ConfigError, match="positive"):
        hb.HubProblem.from_network(poa_network, small_cells, max_time_min=-1)


def test_hubs_that_are_not_localities_route_like_destinations(poa_network: RoadNetwork,
                                                             region_sample: gpd.GeoDataFrame,
                                                             poa_pois: gpd.GeoDataFrame) -> None:
    """Hubs away from every locality are snapped on their own: the times equal the access
    stage's times to the same points as a destination tier."""
    from territorial_gis.access import travel_times_to_nearest

    hubs = poa_pois.rename(columns={"dest_id": "hub_id"})
    a = hb.assign_hinterlands(poa_network, region_sample, hubs)
    acc = travel_times_to_nearest(poa_network, region_sample, {"poi": poa_pois})
    np.testing.assert_allclose(a["travel_time_hub_min"], acc["travel_time_poi_min"], rtol=0, atol=1e-9,
                               equal_nan=True)
    found = a["hub_id"].notna().to_numpy()
    assert found.sum() > 0.9 * len(a)
    assert (a.loc[found, "hub_id"].to_numpy() == acc.loc[found, "nearest_poi_id"].to_numpy()).all()
