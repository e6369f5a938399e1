"""The Microregions Strategy: eligibility, microregions, CECs and service gaps.

Real data: the DANE municipalities of Guaviare and Meta (contiguity, floors), the Porto Alegre
network, H3 cells and points of interest (CECs, hinterlands, service gaps), the INEGI localities
and CONAPO marginalization of Guerrero (eligibility and CEC candidates). Expected values are
derived independently: contiguity from shapely intersections and networkx components, travel
times from networkx shortest paths on the road graph plus the walking legs, nearest facilities
from the access stage's compiled seed pass. SYNTHETIC grids and a SYNTHETIC straight road (labelled
as such) give partitions checked by hand.
"""

from __future__ import annotations

import geopandas as gpd
import h3
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from _synthetic import named_network
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod
from territorial_gis.data import data_path

from territorial_gis import microregions as mrg
from territorial_gis._engine import snap_points
from territorial_gis._routing import RouteOptions, lonlat_of
from territorial_gis.classify import make_h3_cells
from territorial_gis.errors import ColumnError, ConfigError, CRSError
from territorial_gis.network import RoadNetwork

GEOD = Geod(ellps="WGS84")


# ---------------------------------------------------------------------- helpers (independent checks)
def _contiguous(polys: list, rook: bool = False) -> bool:
    """Whether polygons form one connected group, by shapely intersections and networkx."""
    g = nx.Graph()
    g.add_nodes_from(range(len(polys)))
    for i in range(len(polys)):
        for j in range(i + 1, len(polys)):
            inter = polys[i].intersection(polys[j])
            if (inter.length > 0) if rook else polys[i].intersects(polys[j]):
                g.add_edge(i, j)
    return nx.is_connected(g)


def _check_partition(res: mrg.Microregions, *, id_col: str, floor_col: str | None, floor: float | None) -> None:
    """Every eligible area in exactly one microregion, each microregion contiguous (shapely), the
    floor met wherever meets_size_floor says so."""
    areas = res.areas
    eligible = areas["eligible"].to_numpy(dtype=bool) if "eligible" in areas else np.ones(len(areas), bool)
    mr = areas["microregion_id"]
    kept = mr.notna().to_numpy()
    assert not (kept & ~eligible).any()  # no ineligible area in a microregion
    assert (kept | (areas["microregion_reason"].notna().to_numpy())).all()  # every other area says why
    assert (eligible & ~kept <= areas["microregion_reason"].isin(["isolated_below_floor", "head_town_unknown"])).all()
    members = res.regions.set_index("microregion_id")["members"].str.split(";")
    listed = [m for ms in members for m in ms]
    assert len(listed) == len(set(listed)) == int(kept.sum())  # exactly one microregion each
    for rid, grp in areas[kept].groupby("microregion_id"):
        assert _contiguous(list(grp.geometry)), rid
        assert sorted(grp[id_col].astype(str)) == sorted(members[rid])
        size = len(grp) if floor_col == "n_areas" else grp[floor_col].sum() if floor_col else None
        meets = bool(res.regions.set_index("microregion_id").loc[rid, "meets_size_floor"])
        if floor is not None:
            assert meets == (size >= floor), rid


def _nx_time_s(net: RoadNetwork, g: nx.MultiDiGraph, lon: np.ndarray, lat: np.ndarray, i: int, j: int,
               walk_kph: float, max_snap_m: float) -> float:
    """Time from point i to point j: both walking legs, the partial edges and a networkx Dijkstra."""
    if i == j:
        return 0.0
    sn = snap_points(net, lon, lat, max_snap_m=max_snap_m, walk_kph=walk_kph)
    seg = net.edges["segment"].to_numpy()
    rev = net.edges["reversed"].to_numpy(dtype=bool)
    tt = net.edges["travel_time_s"].to_numpy(float)

    def pieces(p: int) -> list[tuple[int, float]]:
        rep = int(sn.segment_edge[p])
        return [(int(e), float(sn.frac[p] if rev[e] == rev[rep] else 1.0 - sn.frac[p]))
                for e in np.flatnonzero(seg == seg[rep])]

    best = np.inf
    pi, pj = pieces(i), pieces(j)
    for e, pos in pi:
        for e2, pos2 in pj:
            if e == e2 and pos2 >= pos:
                best = min(best, (pos2 - pos) * tt[e])
    for e, pos in pi:
        dist = nx.single_source_dijkstra_path_length(g, int(net.node_id[net.edge_v[e]]), weight="travel_time")
        for e2, pos2 in pj:
            u2 = int(net.node_id[net.edge_u[e2]])
            if u2 in dist:
                best = min(best, (1 - pos) * tt[e] + dist[u2] + pos2 * tt[e2])
    return float(sn.leg_s[i] + best + sn.leg_s[j])


# ---------------------------------------------------------------------- SYNTHETIC grids
def _grid(nrow: int, ncol: int, **columns: list) -> gpd.GeoDataFrame:
    """SYNTHETIC grid of square areas of 0.1 degree near 4 N, 74 W, numbered row by row."""
    polys = [shapely.box(-74 + c * 0.1, 4 + r * 0.1, -74 + (c + 1) * 0.1, 4 + (r + 1) * 0.1)
             for r in range(nrow) for c in range(ncol)]
    return gpd.GeoDataFrame({"area_id": [f"a{i}" for i in range(nrow * ncol)], **columns}, geometry=polys, crs=4326)


def _groups(res: mrg.Microregions) -> set[frozenset[str]]:
    a = res.areas[res.areas["microregion_id"].notna()]
    return {frozenset(g["area_id"]) for _, g in a.groupby("microregion_id")}


def test_synthetic_strip_maxp_equals_hand_partition() -> None:
    """SYNTHETIC 1 x 6 strip, 5 inhabitants each, floor 10: the only partition into the most
    microregions (3) is the three consecutive pairs."""
    areas = _grid(1, 6, population=[5] * 6)
    for seed in (0, 1, 7):
        res = mrg.build_microregions(areas, min_population=10, attributes="distance", seed=seed)
        assert _groups(res) == {frozenset({"a0", "a1"}), frozenset({"a2", "a3"}), frozenset({"a4", "a5"})}
        assert res.regions["population"].tolist() == [10.0, 10.0, 10.0]
    assert "largest number of microregions" in res.objective and "population of at least 10" in res.objective


@pytest.mark.parametrize("method", ["maxp", "skater", "azp"])
def test_synthetic_blocks_equal_hand_partition(method: str) -> None:
    """SYNTHETIC 2 x 4 grid whose left half has the value 0 and right half 10: two microregions of
    four areas, the left and the right block (zero within-microregion dissimilarity)."""
    areas = _grid(2, 4, v=[0, 0, 10, 10, 0, 0, 10, 10], population=[1] * 8)
    kw = {"min_areas": 4} if method == "maxp" else {"n_regions": 2}
    res = mrg.build_microregions(areas, method=method, attributes=["v"], **kw)
    assert _groups(res) == {frozenset({"a0", "a1", "a4", "a5"}), frozenset({"a2", "a3", "a6", "a7"})}
    assert res.objective_value == 0.0
    _check_partition(res, id_col="area_id", floor_col="n_areas", floor=4 if method == "maxp" else None)


def test_synthetic_ineligible_split_and_isolated_group() -> None:
    """SYNTHETIC 1 x 7 strip, the middle area not eligible: the left group (3 areas, 30) meets the
    floor 20 and the right one too; a floor of 35 leaves both below (error), 25 keeps one."""
    areas = _grid(1, 7, population=[10, 10, 10, 99, 10, 5, 5], ok=[1, 1, 1, 0, 1, 1, 1])
    el = mrg.eligible_areas(areas, "ok == 1")
    assert el["eligible"].tolist() == [True, True, True, False, True, True, True]
    res = mrg.build_microregions(el, min_population=20, attributes="distance")
    assert _groups(res) == {frozenset({"a0", "a1", "a2"}), frozenset({"a4", "a5", "a6"})}
    assert res.areas.loc[3, "microregion_reason"] == "not_eligible"
    keep = mrg.build_microregions(el, min_population=25, attributes="distance")
    assert _groups(keep) == {frozenset({"a0", "a1", "a2"}), frozenset({"a4", "a5", "a6"})}
    flags = keep.regions.set_index("members")["meets_size_floor"]
    assert bool(flags["a0;a1;a2"]) and not bool(flags["a4;a5;a6"])
    assert any("below the size floor" in n for n in keep.notes)
    drop = mrg.build_microregions(el, min_population=25, attributes="distance", below_floor="drop")
    assert _groups(drop) == {frozenset({"a0", "a1", "a2"})}
    assert drop.areas.set_index("area_id").loc["a5", "microregion_reason"] == "isolated_below_floor"
    with pytest.raises(ConfigError, match="below the size floor"):
        mrg.build_microregions(el, min_population=25, attributes="distance", below_floor="error")
    with pytest.raises(ConfigError, match="no group of contiguous eligible areas can meet the size floor"):
        mrg.build_microregions(el, min_population=35, attributes="distance")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 4), st.integers(2, 4), st.data())
def test_property_maxp_partition_on_random_grids(nrow: int, ncol: int, data: st.DataObject) -> None:
    """SYNTHETIC random grids, populations and eligibility: contiguity, exactly-one and floor hold."""
    n = nrow * ncol
    pop = data.draw(st.lists(st.integers(1, 50), min_size=n, max_size=n))
    ok = data.draw(st.lists(st.booleans(), min_size=n, max_size=n).filter(any))
    floor = data.draw(st.integers(1, 80))
    el = mrg.eligible_areas(_grid(nrow, ncol, population=pop, ok=[int(x) for x in ok]), "ok == 1")
    try:
        res = mrg.build_microregions(el, min_population=floor, attributes="distance")
    except ConfigError as exc:  # only when no group of contiguous eligible areas reaches the floor
        assert "no group" in str(exc)
        return
    _check_partition(res, id_col="area_id", floor_col="population", floor=floor)


def test_rook_and_queen_contiguity_differ_on_a_corner() -> None:
    """SYNTHETIC 2 x 2 grid with the diagonal eligible: queen neighbours, rook not."""
    el = mrg.eligible_areas(_grid(2, 2, population=[5, 1, 1, 5], ok=[1, 0, 0, 1]), "ok == 1")
    assert _groups(mrg.build_microregions(el, min_population=10, attributes="distance")) == {
        frozenset({"a0", "a3"})}
    with pytest.raises(ConfigError, match="no group of contiguous eligible areas"):  # two groups of 5
        mrg.build_microregions(el, min_population=10, attributes="distance", contiguity="rook")
    rook = mrg.build_microregions(el, min_population=5, attributes="distance", contiguity="rook")
    assert _groups(rook) == {frozenset({"a0"}), frozenset({"a3"})}


# ---------------------------------------------------------------------- SYNTHETIC straight road
def _road(n: int, step_deg: float = 0.05, kph: float = 30.0) -> RoadNetwork:
    """SYNTHETIC straight two-way road along latitude 4 N from 74 W, a node every ``step_deg``."""
    xy = {f"n{i}": (step_deg * i, 0.0) for i in range(n)}
    attrs = {"speed_kph": kph, "highway": "secondary", "surface": "asphalt"}
    return named_network(xy, [(f"n{s}", f"n{s + 1}", attrs) for s in range(n - 1)], first_id=100)


def test_synthetic_travel_time_contiguity_of_head_towns() -> None:
    """SYNTHETIC: six municipalities given only by their seats on a straight road (about 11 min
    apart at 30 km/h); with a 15-minute link only consecutive seats are neighbours, so the floor
    of 10 inhabitants (5 each) gives the three consecutive pairs."""
    net = _road(6)
    seats = gpd.GeoDataFrame({"area_id": [f"m{i}" for i in range(6)], "population": [5.0] * 6},
                             geometry=gpd.points_from_xy(-74.0 + 0.05 * np.arange(6), np.full(6, 4.0)), crs=4326)
    times = mrg.head_town_times(net, seats)
    step = GEOD.line_length([-74.0, -73.95], [4.0, 4.0]) / (30 / 3.6) / 60.0
    assert times[0, 1] == pytest.approx(step, rel=1e-6) and times[0, 5] == pytest.approx(5 * step, rel=1e-6)
    res = mrg.build_microregions(seats, contiguity="travel_time", link_time_min=15, network=net, min_population=10)
    assert _groups(res) == {frozenset({"m0", "m1"}), frozenset({"m2", "m3"}), frozenset({"m4", "m5"})}
    assert res.n_neighbour_pairs == 5
    assert "head towns within 15 min" in res.objective and "travel-time coordinates" in res.objective
    assert res.regions.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()  # Voronoi zones of the seats


# ---------------------------------------------------------------------- real polygons: Guaviare and Meta
@pytest.fixture(scope="module")
def dane() -> gpd.GeoDataFrame:
    """The 7 DANE municipalities of Guaviare (4) and Meta (3)."""
    return gpd.read_file(data_path("guaviare", "municipios_dane.geojson"))


@pytest.mark.parametrize(("rule", "floor", "method"), [
    ("department_code in ['95', '50']", {"min_areas": 2}, "maxp"),
    ("department_code in ['95', '50']", {"min_areas": 3}, "maxp"),
    ("department_code == '95'", {"min_areas": 2}, "maxp"),
    ("department_code in ['95', '50']", {"min_areas": 2, "n_regions": 3}, "skater"),
])
def test_real_municipalities_partition(dane: gpd.GeoDataFrame, rule: str, floor: dict, method: str) -> None:
    el = mrg.eligible_areas(dane, rule)
    expected = {"department_code == '95'": 4}.get(rule, 7)
    assert int(el["eligible"].sum()) == expected
    res = mrg.build_microregions(el, method=method, area_id_col="municipality_code", name_col="municipality",
                                 attributes="distance", **floor)
    _check_partition(res, id_col="municipality_code", floor_col="n_areas", floor=floor["min_areas"])
    assert res.regions["meets_size_floor"].all()
    assert res.areas["microregion_id"].notna().sum() == expected
    # the microregion polygons are their members dissolved: the area of their union (UTM 18N)
    metric = res.areas.to_crs(32618)
    regions = res.regions.to_crs(32618).set_index("microregion_id")
    for rid, grp in metric[metric["microregion_id"].notna()].groupby("microregion_id"):
        union = shapely.union_all(grp.geometry.to_numpy())
        assert regions.loc[rid, "geometry"].symmetric_difference(union).area < 1e-6 * union.area


def test_microregions_name_their_areas(dane: gpd.GeoDataFrame) -> None:
    """member_names: the areas' name column found among the candidates (DANE: municipality), a
    named one, the id where an area has no name; a named column the areas lack is an error."""
    from territorial_gis.columns import area_name_column

    assert area_name_column(dane.columns) == "municipality"
    assert area_name_column(["area_id", "NOMGEO", "name"]) == "name"
    assert area_name_column(["area_id", "geometry"]) is None
    name_of = dict(zip(dane["municipality_code"], dane["municipality"], strict=True))
    el = mrg.eligible_areas(dane.assign(municipality=dane["municipality"].where(dane["municipality_code"] != "95015")),
                            "department_code == '95'")
    res = mrg.build_microregions(el, area_id_col="municipality_code", min_areas=2, attributes="distance")
    for members, names in zip(res.regions["members"], res.regions["member_names"], strict=True):
        expected = [name_of[m] if m != "95015" else "95015" for m in members.split(";")]  # 95015 (Calamar) unnamed
        assert names.split(";") == expected
    coded = mrg.build_microregions(el, area_id_col="municipality_code", name_col="municipality_code", min_areas=2,
                                   attributes="distance")
    assert coded.regions["member_names"].tolist() == coded.regions["members"].tolist()
    with pytest.raises(ColumnError, match=r"area name column 'nombre' not found in the areas \(columns: department_code"):
        mrg.build_microregions(el, area_id_col="municipality_code", name_col="nombre", min_areas=2)


def test_real_municipalities_eligibility_reasons(dane: gpd.GeoDataFrame) -> None:
    el = mrg.eligible_areas(dane, ["department_code == '95'", "municipality != 'MIRAFLORES'"])
    got = dict(zip(el["municipality"], el["eligible"], strict=True))
    assert [k for k, v in got.items() if v] == ["SAN JOSÉ DEL GUAVIARE", "CALAMAR", "EL RETORNO"]
    reasons = dict(zip(el["municipality"], el["eligibility_reasons"], strict=True))
    assert "'95'" in reasons["CALAMAR"]
    assert "MIRAFLORES" in reasons["MIRAFLORES"] and "not eligible" in reasons["MIRAFLORES"]
    assert (el["eligibility_class"] == np.where(el["eligible"], "eligible", "not_eligible")).all()


def test_bad_input_library(dane: gpd.GeoDataFrame) -> None:
    with pytest.raises(ColumnError, match="poverty_share"):
        mrg.eligible_areas(dane, "poverty_share >= 40")
    with pytest.raises(ConfigError, match="no eligible area"):
        mrg.build_microregions(mrg.eligible_areas(dane, "department_code == '99'"), min_areas=2)
    points = dane.assign(geometry=dane.geometry.representative_point())
    with pytest.raises(ConfigError, match="must be polygons"):
        mrg.build_microregions(points, min_areas=2)
    with pytest.raises(ConfigError, match="no group of contiguous eligible areas can meet the size floor"):
        mrg.build_microregions(dane, min_areas=8)
    with pytest.raises(ConfigError, match="max-p needs a size floor"):
        mrg.build_microregions(dane)
    with pytest.raises(ConfigError, match="SKATER takes a floor in number of areas"):
        mrg.build_microregions(dane.assign(population=1.0), method="skater", n_regions=2, min_population=1)
    with pytest.raises(ConfigError, match="needs n_regions"):
        mrg.build_microregions(dane, method="azp")
    with pytest.raises(CRSError):
        mrg.build_microregions(dane.set_crs(None, allow_override=True), min_areas=2)
    with pytest.raises(ConfigError, match="needs a road network"):
        mrg.build_microregions(dane, min_areas=2, link_time_min=60)
    with pytest.raises(ConfigError, match="not classes of the rule set"):
        mrg.eligible_areas(dane, "department_code == '95'", eligible_classes=["poor"])


# ---------------------------------------------------------------------- Mexico: INEGI and CONAPO, no network
def test_mexico_eligibility_and_cec_candidates() -> None:
    """Guerrero: CONAPO 2020 grade high or very high; CEC candidates among the INEGI localities of
    each eligible municipality, the municipal seat excluded, at least one per municipality."""
    import territorial_gis as tg

    munis = mrg.mexican_municipalities("Guerrero")
    conapo = pd.read_csv(data_path("catalogues", "IMM_2020.csv"), encoding="utf-8-sig", dtype={"CVE_MUN": str})
    conapo = conapo[conapo["CVE_MUN"].str.startswith("12")]
    expected = set(conapo.loc[conapo["GM_2020"].isin(["Alto", "Muy alto"]), "CVE_MUN"])
    el = mrg.eligible_areas(munis, "marginalization_grade in ['Alto', 'Muy alto']")
    assert set(el.loc[el["eligible"], "area_id"]) == expected and len(expected) == 62
    locs = tg.load_catalogue("inegi_localities", state="Guerrero")
    locs["is_seat"] = locs["place_id"].isin(set(munis["seat_locality_id"]))
    locs["muni"] = locs["municipality_code"].where(locs["municipality_code"].isin(expected))
    cand = mrg.cec_candidates(locs, area_col="muni", seat_col="is_seat", min_population=2500)
    assert not (cand["cec_candidate"] & cand["is_seat"]).any()  # no seat
    assert not cand.loc[cand["muni"].isna(), "cec_candidate"].any()
    # independently: municipalities with a non-seat locality have a candidate; those with only the
    # seat have none; the floor is relaxed only where no locality reached it
    in_el = locs[locs["muni"].notna()]
    nonseat = in_el[~in_el["is_seat"]].groupby("muni").size()
    have = cand[cand["cec_candidate"]].groupby("muni").size()
    assert set(have.index) == set(nonseat.index)
    big = in_el[~in_el["is_seat"] & (in_el["population"] >= 2500)].groupby("muni").size()
    relaxed = cand[cand["cec_candidate_reason"].str.startswith("candidate: most populous")]
    assert set(relaxed["muni"]) == set(nonseat.index) - set(big.index)
    assert (relaxed.groupby("muni").size() == 1).all()
    strict = mrg.cec_candidates(locs, area_col="muni", seat_col="is_seat", min_population=2500, one_per_area=False)
    assert set(strict.loc[strict["cec_candidate"], "muni"]) == set(big.index)
    allowed = mrg.cec_candidates(locs, area_col="muni", seat_col="is_seat", allow_seat=True)
    assert (allowed["cec_candidate"] == locs["muni"].notna()).all()
    # the steps without a road network: municipalities are points (their seats), grouped by travel time
    plan = mrg.plan_strategy(locs, munis, rules="marginalization_grade in ['Alto', 'Muy alto']",
                             area_col="municipality_code", seat_col="is_seat",
                             grouping={"contiguity": "travel_time", "link_time_min": 90, "min_areas": 3},
                             cecs={"max_time_min": 30})
    assert int(plan.areas["eligible"].sum()) == 62
    assert int(plan.seat.sum()) == int(munis.geometry.notna().sum()) == 82  # 3 seats under 1,000 inhabitants
    with pytest.raises(ConfigError, match="need the localities' area column"):
        mrg.plan_strategy(locs, munis, rules="marginalization_grade == 'Alto'",
                          grouping={"contiguity": "travel_time", "link_time_min": 90, "min_areas": 3},
                          cecs={"max_time_min": 30})


# ---------------------------------------------------------------------- CECs and service gaps on real data
@pytest.fixture(scope="module")
def poa_strategy(poa_network: RoadNetwork, poa_localities: gpd.GeoDataFrame,
                 poa_pois: gpd.GeoDataFrame) -> mrg.StrategyResult:
    """Porto Alegre: H3 resolution-7 parents as areas, eligible with at most 20,000 inhabitants,
    max-p with a 15,000 floor, CECs within 5 min (population >= 300), services: the two hospitals
    (points), and the hexagons' schools and healthcare counts (columns)."""
    loc = poa_localities.copy()
    areas = make_h3_cells(cells=sorted({h3.cell_to_parent(c, 7) for c in loc["place_id"]}))
    hospitals = poa_pois[poa_pois["dest_id"].str.contains("hospital")]
    return mrg.run_strategy(
        poa_network, loc, areas, rules="population <= 20000",
        grouping={"min_population": 15000}, cecs={"max_time_min": 5.0, "min_population": 300},
        services={"hospital": hospitals, "school": "schools", "health_unit": "healthcare"}, service_limit_min=5.0)


def test_cecs_no_seat_one_per_area(poa_strategy: mrg.StrategyResult, poa_localities: gpd.GeoDataFrame) -> None:
    res = poa_strategy
    loc = res.localities
    # independently: the seat of each area is its most populous locality
    area = loc["admin_area_id"]
    pop = loc["population"].fillna(-1)
    seats = set(loc.loc[pop.groupby(area).idxmax().to_numpy(), "place_id"])
    cecs = res.selection.cecs
    assert len(cecs) > 0 and not set(cecs["cec_id"]) & seats
    assert not cecs["is_seat"].astype(bool).any()
    # every area of a microregion that has a candidate near a road has a CEC
    snapped = loc["cec_status"] != "too_far_from_road"
    with_cand = set(loc.loc[loc["microregion_id"].notna() & loc["cec_candidate"] & snapped, "admin_area_id"])
    assert with_cand <= set(cecs["area_id"])
    assert (cecs["microregion_id"].isin(res.microregions.regions["microregion_id"])).all()
    # CECs are candidates, in the microregion of their locality
    by_id = loc.set_index("place_id")
    assert by_id.loc[cecs["cec_id"], "cec_candidate"].all()
    assert (by_id.loc[cecs["cec_id"], "microregion_id"].to_numpy() == cecs["microregion_id"].to_numpy()).all()
    assert (loc.loc[loc["microregion_id"].isna(), "cec_status"] == "outside_microregions").all()


def test_hinterlands_within_limit_independent_paths(poa_strategy: mrg.StrategyResult,
                                                    poa_network: RoadNetwork) -> None:
    loc = poa_strategy.localities
    inner = loc[loc["cec_status"] == "hinterland"]
    assert len(inner) > 50 and (inner["travel_time_cec_min"] <= 5.0 + 1e-9).all()
    assert (loc.loc[loc["cec_status"] == "beyond_limit", "travel_time_cec_min"] > 5.0).all()
    # the CEC is in the same microregion as its hinterland
    mr_of = poa_strategy.selection.cecs.set_index("cec_id")["microregion_id"]
    assert (mr_of.reindex(inner["cec_id"]).to_numpy() == inner["microregion_id"].to_numpy()).all()
    g = poa_network.to_networkx()
    lon, lat = lonlat_of(loc, "localities")
    pos = pd.Series(np.arange(len(loc)), index=loc["place_id"].to_numpy())
    walk = RouteOptions().walk_speed(poa_network)
    sample = inner.iloc[:: max(1, len(inner) // 12)]
    for pid, cec, t in zip(sample["place_id"], sample["cec_id"], sample["travel_time_cec_min"], strict=True):
        ind = _nx_time_s(poa_network, g, lon, lat, int(pos[pid]), int(pos[cec]), walk, RouteOptions().max_snap_m)
        assert ind / 60.0 == pytest.approx(t, abs=1e-6)
        assert ind / 60.0 <= 5.0 + 1e-9


def test_service_gaps_equal_independent_nearest(poa_strategy: mrg.StrategyResult, poa_network: RoadNetwork,
                                                poa_pois: gpd.GeoDataFrame) -> None:
    from territorial_gis.access import travel_times_to_nearest

    gaps = poa_strategy.gaps
    assert gaps is not None
    loc = poa_strategy.localities
    hospitals = poa_pois[poa_pois["dest_id"].str.contains("hospital")]
    dests = {"hospital": hospitals,
             "school": loc[loc["schools"] > 0].assign(dest_id=lambda d: d["place_id"]),
             "health_unit": loc[loc["healthcare"] > 0].assign(dest_id=lambda d: d["place_id"])}
    ind = travel_times_to_nearest(poa_network, loc, dests)
    # a locality offering a service (a column) has it at 0 min; the access stage routes even a
    # destination at the origin's own point through the road (both walking legs)
    for svc, col in (("school", "schools"), ("health_unit", "healthcare")):
        ind.loc[loc[col] > 0, f"travel_time_{svc}_min"] = 0.0
    t = gaps.table
    cecs = poa_strategy.selection.cecs
    g = poa_network.to_networkx()
    lon, lat = lonlat_of(loc, "localities")
    for svc in dests:
        col = f"travel_time_{svc}_min"
        inside = loc["cec_status"] != "outside_microregions"
        assert np.allclose(loc.loc[inside, col], ind.loc[inside, col], equal_nan=True, atol=1e-6)
        rows = t[t["service"] == svc].set_index("cec_id")
        at_cec = ind.set_index("place_id").loc[cecs["cec_id"], col].to_numpy()
        assert np.allclose(rows.loc[cecs["cec_id"], "travel_time_cec_min"], at_cec, atol=1e-6)
        assert (rows["gap"] == ~(rows["travel_time_cec_min"] <= 5.0)).all()
        hint = loc[loc["cec_status"] == "hinterland"].assign(t=ind.loc[loc["cec_status"] == "hinterland", col])
        for cid, grp in hint.groupby("cec_id"):
            w = grp["population"].fillna(0)
            known = grp["t"].notna()
            exp_mean = (w[known] * grp["t"][known]).sum() / w[known].sum() if w[known].sum() > 0 \
                else grp["t"][known].mean()
            assert rows.loc[cid, "hinterland_mean_time_min"] == pytest.approx(exp_mean, rel=1e-9)
            assert rows.loc[cid, "hinterland_max_time_min"] == pytest.approx(grp["t"].max(), rel=1e-9)
            assert rows.loc[cid, "hinterland_population_beyond_limit"] == pytest.approx(
                grp.loc[~(grp["t"] <= 5.0), "population"].fillna(0).sum())
        n_lack = int((~(at_cec <= 5.0)).sum())
        label = {"hospital": "a hospital", "school": "a school", "health_unit": "a health unit"}[svc]
        assert f"CECs lacking {label} within 5 min: {n_lack} of {len(cecs)}" in gaps.sentences
    # presence at the CEC: its own count for columns, a point within 1 km for the hospitals
    rows = t.set_index(["service", "cec_id"])
    by_id = loc.set_index("place_id")
    for cid in cecs["cec_id"]:
        assert rows.loc[("school", cid), "present_at_cec"] == (by_id.loc[cid, "schools"] > 0)
        clon, clat = by_id.loc[cid].geometry.x, by_id.loc[cid].geometry.y
        _a, _b, d = GEOD.inv(np.full(len(hospitals), clon), np.full(len(hospitals), clat),
                             hospitals.geometry.x.to_numpy(), hospitals.geometry.y.to_numpy())
        assert rows.loc[("hospital", cid), "present_at_cec"] == bool((d <= 1000.0).any())
    # one independent networkx path: the first CEC to the nearest hospital
    cid = cecs["cec_id"].iloc[0]
    pts = pd.concat([loc[["place_id", "geometry"]].rename(columns={"place_id": "id"}),
                     hospitals[["dest_id", "geometry"]].rename(columns={"dest_id": "id"})], ignore_index=True)
    plon, plat = lonlat_of(gpd.GeoDataFrame(pts, geometry="geometry", crs=4326))
    i = int(np.flatnonzero(pts["id"].to_numpy() == cid)[0])
    walk = RouteOptions().walk_speed(poa_network)
    best = min(_nx_time_s(poa_network, g, plon, plat, i, len(loc) + k, walk, RouteOptions().max_snap_m)
               for k in range(len(hospitals)))
    assert rows.loc[("hospital", cid), "travel_time_cec_min"] == pytest.approx(best / 60.0, abs=1e-6)


def test_strategy_layers_and_summary(poa_strategy: mrg.StrategyResult) -> None:
    layers = poa_strategy.layers()
    assert set(layers) == {"microregions", "eligibility", "cecs", "cec_hinterlands"}
    cecs = layers["cecs"]
    for svc in ("hospital", "school", "health_unit"):
        assert f"has_{svc}" in cecs and f"travel_time_{svc}_min" in cecs
    hint = layers["cec_hinterlands"]
    assert set(hint["cec_id"]) <= set(cecs["cec_id"])
    d = poa_strategy.as_dict()
    assert d["n_cecs"] == len(cecs) and len(d["service_gaps"]) == 6
    assert "mra_population_share" not in poa_strategy.areas  # the localities are not classified
    assert (poa_strategy.areas["n_localities"].sum()) == len(poa_strategy.localities)
