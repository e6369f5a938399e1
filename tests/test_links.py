"""Linking marginal areas to favorable ones: the FRA destination tier, corridors ending inside a
favorable area, linked / enclosed marginal zones; the stages in a study and the CLI.

SYNTHETIC straight road (labelled as such) for the hand-checked cases; the Porto Alegre
classification (real OSM roads, IPEA H3 cells) and the Guaviare example (real roads, DANE
municipalities, GeoNames towns) for the real ones. Travel times are checked against networkx
shortest paths plus walking legs measured on the ellipsoid.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from _cli import assert_cli_fails
from _synthetic import named_network
from click.testing import CliRunner
from pyproj import Geod

from territorial_gis import links as lk
from territorial_gis.corridors import suggest_corridors
from territorial_gis.errors import ColumnError, ConfigError
from territorial_gis.network import RoadNetwork

GEOD = Geod(ellps="WGS84")
ROOT = Path(__file__).resolve().parents[1]
KPH = 30.0
WALK_KPH = 4.0
OFFSET = 0.002  # degrees of latitude between a locality and the road


def _road(n: int = 11, step: float = 0.05) -> RoadNetwork:
    """SYNTHETIC straight two-way road along 4 N from 74 W, a node every ``step`` degrees, 30 km/h."""
    xy = {f"n{i}": (step * i, 0.0) for i in range(n)}
    attrs = {"speed_kph": KPH, "highway": "secondary", "surface": "asphalt"}
    net = named_network(xy, [(f"n{s}", f"n{s + 1}", attrs) for s in range(n - 1)], first_id=100)
    net.meta["walk_speed_kph"] = WALK_KPH
    return net


def _areas(classes: str, step: float = 0.05) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """SYNTHETIC areas along the road (one per class letter, M = MRA, F = FRA), each holding one
    locality of 100 inhabitants a little north of the road node at its centre."""
    k = len(classes)
    edges = -74.0 - step / 2 + step * np.arange(k + 1)
    polys = [shapely.box(edges[i], 3.9, edges[i + 1], 4.1) for i in range(k)]  # touching exactly
    cls = ["FRA" if c == "F" else "MRA" for c in classes]
    areas = gpd.GeoDataFrame({"area_id": [f"z{i}" for i in range(k)], "area_class": cls,
                              "population": 100.0}, geometry=polys, crs=4326)
    loc = gpd.GeoDataFrame({"place_id": [f"p{i}" for i in range(k)], "population": 100.0, "area_class": cls},
                           geometry=gpd.points_from_xy(-74.0 + step * np.arange(k), np.full(k, 4.0 + OFFSET)),
                           crs=4326)
    return areas, loc


def test_fra_destinations_and_corridors_end_inside_fra_area() -> None:
    """SYNTHETIC: areas M M F M M M M F F F M; every FRA area is a destination at its locality; every
    MRA locality's corridor ends inside an FRA area polygon (the nearest one)."""
    net = _road()
    areas, loc = _areas("MMFMMMMFFFM")
    fra = lk.fra_destinations(areas, localities=loc, network=net)
    assert fra.destinations["dest_id"].tolist() == ["fra_1", "fra_2", "fra_3", "fra_4"]
    assert fra.destinations["destination_id"].tolist() == ["p2", "p7", "p8", "p9"]
    assert fra.destinations["inside_on_road"].astype(bool).all()
    assert (fra.destinations["tier"] == "fra").all()
    corr = suggest_corridors(net, loc, {"fra": fra.destinations})
    assert len(corr) == int((loc["area_class"] == "MRA").sum())
    fra_polys = shapely.union_all(areas.loc[areas["area_class"] == "FRA"].geometry.to_numpy())
    for geom in corr.geometry:
        assert fra_polys.contains(shapely.Point(geom.coords[-1]))
    # the nearest FRA, by hand: z0, z1, z3, z4 -> z2; z5 (3 from z2, 2 from z7), z6 -> z7; z10 -> z9
    target = dict(zip(corr["origin_id"], corr["target_id"], strict=True))
    assert target == {"p0": "fra_1", "p1": "fra_1", "p3": "fra_1", "p4": "fra_1", "p5": "fra_2", "p6": "fra_2",
                      "p10": "fra_4"}
    # touching FRA areas as one: z7-z9 form one cluster whose destination lies inside it
    merged = lk.fra_destinations(areas, localities=loc, network=net, cluster_m=0.0)
    assert len(merged.destinations) == 2 and merged.destinations["n_units"].tolist() == [1, 3]
    block = merged.areas.set_index("fra_id").loc["fra_2", "geometry"]
    assert block.contains(merged.destinations.geometry.iloc[1])
    assert merged.destinations["population"].tolist() == [100.0, 300.0]


def test_fra_clusters_of_localities() -> None:
    """SYNTHETIC FRA localities (points): neighbours within the cluster distance form one FRA whose
    destination is the member nearest the population-weighted centre."""
    _areas_, loc = _areas("FFFMMMMF")
    loc["population"] = [100.0, 100.0, 400.0, 50, 50, 50, 50, 70.0]
    fra = lk.fra_destinations(loc, cluster_m=6000.0)
    d = fra.destinations
    assert d["unit_ids"].tolist() == ["p0;p1;p2", "p7"]
    assert d["population"].tolist() == [600.0, 70.0]
    assert d["destination_id"].tolist() == ["p2", "p7"]  # centre at x = (0 + 1 + 8) / 6 steps: nearest p2
    assert d.loc[0, "centre_lon"] == pytest.approx(-74.0 + 0.05 * 1.5, abs=1e-3)
    assert fra.areas.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    unknown = lk.fra_destinations(loc.assign(population=np.nan), cluster_m=6000.0)
    assert unknown.destinations["population"].isna().all()  # unknown stays unknown, never 0


def _nx_fra_time_min(net: RoadNetwork, loc: gpd.GeoDataFrame, fra_pos: list[int]) -> np.ndarray:
    """Independent time from every locality to the nearest FRA locality: networkx on the road
    graph plus both walking legs (each locality sits OFFSET north of its node)."""
    g = net.to_networkx()
    leg_s = GEOD.inv(-74.0, 4.0, -74.0, 4.0 + OFFSET)[2] / (WALK_KPH / 3.6)
    dist = nx.multi_source_dijkstra_path_length(g, {int(net.node_id[p]) for p in fra_pos}, weight="travel_time")
    return np.array([(leg_s + dist[int(net.node_id[i])] + leg_s) / 60.0 for i in range(len(loc))])


def test_enclosed_marginal_territories_exactly_those_without_fra_within_limit() -> None:
    """SYNTHETIC: territories around three centres; a territory is enclosed marginal exactly when
    none of its localities is FRA and none reaches an FRA within the limit (networkx)."""
    from territorial_gis.access import travel_times_to_nearest
    from territorial_gis.territories import build_territories

    net = _road()
    areas, loc = _areas("MMMMMMMMFFF")
    fra = lk.fra_destinations(areas, localities=loc, network=net)
    loc = travel_times_to_nearest(net, loc, {"fra": fra.destinations})
    ind = _nx_fra_time_min(net, loc, [8, 9, 10])
    # walking legs: measured on the ellipsoid here, in the UTM plane by the engine (< 0.1 s apart)
    assert np.allclose(loc["travel_time_fra_min"], ind, atol=0.01)
    centres = loc.iloc[[1, 4, 9]].rename(columns={"place_id": "dest_id"})
    terr = build_territories(net, loc, centres)
    assert terr["territory_id"].tolist() == ["p1"] * 3 + ["p4"] * 4 + ["p9"] * 4  # nearest centre, by hand
    limit = 30.0
    links = lk.zone_links(terr, zone_col="territory_id", limit_min=limit).set_index("territory_id")
    for tid, grp in terr.groupby("territory_id"):
        no_fra = not (grp["area_class"] == "FRA").any()
        expect = no_fra and bool((ind[grp.index] > limit).all())
        assert (links.loc[tid, "link_status"] == "enclosed_marginal") == expect, tid
        assert links.loc[tid, "travel_time_fra_min"] == pytest.approx(ind[grp.index].min(), abs=0.01)
    # by hand: 11.1 min a road step plus 1.7 min of walking at each end; of p3-p6 only p6 reaches
    # z8 within 30 min (2 steps: 25.5 min); p0-p2 are 6 or more steps away
    assert links["link_status"].to_dict() == {"p1": "enclosed_marginal", "p4": "linked", "p9": "linked"}
    assert links.loc["p9", "contains_fra"] and not links.loc["p4", "contains_fra"]
    assert links.loc["p4", "population_share_within_limit"] == pytest.approx(1 / 4)
    with_emp = lk.zone_links(terr.assign(travel_time_town_min=np.where(terr.index < 2, 5.0, 90.0)),
                             zone_col="territory_id", limit_min=limit, employment_tier="town").set_index("territory_id")
    assert with_emp.loc["p1", "linked_to"] == "employment_centre"  # reaches a town, still no FRA
    assert with_emp.loc["p1", "link_status"] == "enclosed_marginal"
    assert with_emp.loc["p9", "linked_to"] == "fra"
    # population unknown in p1 only: its population and population share within the limit are
    # unknown (NaN, not 0), the others' figures stand
    unknown = terr.assign(population=np.where(terr["territory_id"] == "p1", np.nan, terr["population"]))
    partly = lk.zone_links(unknown, zone_col="territory_id", limit_min=limit).set_index("territory_id")
    assert np.isnan(partly.loc["p1", "population"]) and np.isnan(partly.loc["p1", "population_share_within_limit"])
    assert partly.loc["p4", "population"] == pytest.approx(terr.loc[terr["territory_id"] == "p4", "population"].sum())
    assert partly["link_status"].to_dict() == links["link_status"].to_dict()


def test_engine_centres_and_bad_input() -> None:
    net = _road()
    areas, loc = _areas("MMMMMMMMFFF")
    fra = lk.fra_destinations(areas, localities=loc, network=net)
    towns = loc.iloc[[0, 4]].rename(columns={"place_id": "dest_id"})
    both = lk.engine_centres({"town": towns, "fra": fra.destinations}, ["town", "fra"])
    assert both["dest_id"].tolist() == ["p0", "p4", "fra_1", "fra_2", "fra_3"]
    with pytest.raises(ConfigError, match="no unit of class FRA"):
        lk.fra_destinations(areas.assign(area_class="MRA"))
    with pytest.raises(ColumnError, match="area_class"):
        lk.fra_destinations(areas.drop(columns="area_class"))
    with pytest.raises(ColumnError, match="travel_time_fra_min"):
        lk.zone_links(loc.assign(zone="a"), zone_col="zone", limit_min=30)
    with pytest.raises(ConfigError, match="engine tier"):
        lk.engine_centres({"town": towns}, ["town", "fra"])


def test_corridors_to_fra_end_inside_fra_cells(poa_network: RoadNetwork, poa_localities: gpd.GeoDataFrame) -> None:
    """Porto Alegre H3 cells classified by the embedded rules: the corridor of every MRA cell to the
    nearest favorable cell ends inside a favorable cell (its destination's road point is inside)."""
    from territorial_gis.data import data_path

    from territorial_gis.access import travel_times_to_nearest
    from territorial_gis.classify import classify_areas, make_h3_cells
    from territorial_gis.places import derive_tier

    tiers = {"employment_centre": derive_tier(poa_localities, "jobs>=3000")}
    acc = travel_times_to_nearest(poa_network, poa_localities, tiers)
    cells = make_h3_cells(cells=poa_localities["place_id"].tolist()).assign(
        place_id=poa_localities["place_id"].to_numpy())
    classified = classify_areas(cells, rules=data_path("porto_alegre", "rules.toml"), localities=acc).areas
    fra = lk.fra_destinations(classified, localities=acc, network=poa_network)
    n_fra = int((classified["area_class"] == "FRA").sum())
    assert len(fra.destinations) == n_fra
    inside = fra.destinations["inside_on_road"].astype(bool)
    assert inside.mean() > 0.5  # most favorable cells have a road point inside them
    loc = acc.merge(classified[["place_id", "area_class"]], on="place_id")
    mra = loc[loc["area_class"] == "MRA"].iloc[::4]
    corr = suggest_corridors(poa_network, mra, {"fra": fra.destinations})
    assert len(corr) > 10
    by_dest = fra.destinations.set_index("dest_id")
    polys = shapely.STRtree(classified.loc[classified["area_class"] == "FRA"].geometry.to_numpy())
    checked = 0
    for tgt, geom in zip(corr["target_id"], corr.geometry, strict=True):
        if by_dest.loc[tgt, "inside_on_road"]:
            end = shapely.Point(geom.coords[-1])
            assert len(polys.query(end, predicate="intersects")) > 0
            checked += 1
    assert checked > 0.5 * len(corr)


# ---------------------------------------------------------------------- the stages in a study
def _poa_config(tmp: Path) -> dict:
    from territorial_gis.pipeline import default_study_config

    cfg = default_study_config()
    cfg["outputs"] = {"map": False, "report": False, "network_gpkg": False}
    cfg["access"] = {}
    cfg["hubs"] = {"enabled": False}
    cfg["corridors"] = {"targets": ["employment_centre", "fra"], "top": 3, "n_candidates": 5}
    cfg["territories"] = {"centres": "employment_centre", "max_time_min": 15.0}
    cfg["microregions"] = {"areas": "h3:7", "eligible": "mra_population_share >= 0.2", "min_population": 12000,
                           "cec_max_time_min": 5.0, "cec_min_population": 300,
                           "services": {"health_unit": "healthcare", "school": "schools"},
                           "service_limit_min": 5.0}
    cfg["links"] = {"limit_min": 10.0, "employment_tier": "employment_centre"}
    return cfg


def test_study_with_microregions_and_links(tmp_path: Path) -> None:
    from territorial_gis.outputs import StudyOutputs
    from territorial_gis.pipeline import run_study

    out = tmp_path / "study"
    res = run_study(_poa_config(tmp_path), out, progress=False, cache_dir=tmp_path / "cache")
    for name in ("microregions.gpkg", "service_gaps.csv", "fra.gpkg", "links.csv", "corridors.gpkg"):
        assert (out / name).is_file(), name
    so = StudyOutputs.read(out)
    assert so.microregions is not None and so.cecs is not None and so.cec_hinterlands is not None
    assert so.service_gaps is not None and so.links is not None and so.fra_areas is not None
    loc = so.localities
    for col in ("microregion_id", "cec_id", "cec_status", "travel_time_fra_min", "travel_time_health_unit_min"):
        assert col in loc, col
    corr = so.corridors
    assert corr is not None and (corr["target_tier"] == "fra").any()
    # links.csv against the localities: enclosed = no FRA locality and none within the limit
    for row in so.links.itertuples():
        col = "territory_id" if row.zone_type == "territory" else "microregion_id"
        grp = loc[loc[col].astype(str) == str(row.zone_id)]
        linked = (grp["area_class"] == "FRA").any() or (grp["travel_time_fra_min"] <= 10.0).any()
        assert (row.link_status == "linked") == linked
    meta = json.loads((out / "study.json").read_text())
    assert meta["microregions"]["n_microregions"] == len(so.microregions)
    assert any(s.startswith("CECs lacking a health unit within 5 min") for s in meta["microregions"]["service_gaps"])
    assert meta["links"]["enclosed_marginal"] == int((so.links["link_status"] == "enclosed_marginal").sum())
    assert "microregions" in res.timings and "fra" in res.timings


def test_study_config_errors_and_nothing_written(tmp_path: Path) -> None:
    from territorial_gis.config import StudyConfig
    from territorial_gis.pipeline import StageError, run_study

    base = _poa_config(tmp_path)
    for drop, message in (("cec_max_time_min", "needs cec_max_time_min"), ("eligible", "needs eligible"),
                          ("min_population", "needs a size floor")):
        bad = {**base, "microregions": {k: v for k, v in base["microregions"].items() if k != drop}}
        with pytest.raises(ConfigError, match=message):
            StudyConfig.from_dict(bad)
    with pytest.raises(ConfigError, match="not a tier"):
        StudyConfig.from_dict({**base, "links": {"employment_tier": "nowhere"}})
    impossible = {**base, "microregions": {**base["microregions"], "min_population": 1e9}}
    out = tmp_path / "fails"
    with pytest.raises(StageError, match="no group of contiguous eligible areas"):
        run_study(impossible, out, progress=False, cache_dir=tmp_path / "cache")
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert left == []  # no partial output, no staging folder


def test_guaviare_example_microregions(tmp_path: Path) -> None:
    """The Guaviare example: DANE municipalities (real polygons) grouped into contiguous
    microregions of at least two municipalities whose seats are linked by road."""
    from territorial_gis.outputs import StudyOutputs
    from territorial_gis.pipeline import run_study

    out = tmp_path / "g"
    run_study(ROOT / "examples" / "guaviare" / "microregions.toml", out, progress=False, cache_dir=tmp_path / "c")
    so = StudyOutputs.read(out)
    el, regions = so.eligibility, so.microregions
    assert el is not None and regions is not None and len(el) == 7
    share = el["mra_population_share"]
    assert (el["eligible"].astype(bool) == (share >= 0.4)).all()
    assert el.loc[el["eligible"].astype(bool), "eligibility_reasons"].str.contains("mra_population_share").all()
    members = regions.set_index("microregion_id")["members"].str.split(";")
    listed = [m for ms in members for m in ms]
    assert len(listed) == len(set(listed))
    assert set(listed) == set(el.loc[el["microregion_id"].notna(), "municipality_code"].astype(str))
    # area_name_column = "municipality": the members by the DANE layer's names, in the order of their codes
    dane = gpd.read_file(ROOT / "data" / "guaviare" / "municipios_dane.geojson")
    name_of = dict(zip(dane["municipality_code"].astype(str), dane["municipality"], strict=True))
    for codes, names in zip(regions["members"], regions["member_names"], strict=True):
        assert names.split(";") == [name_of[c] for c in codes.split(";")]
    for rid, ms in members.items():
        polys = el.set_index(el["municipality_code"].astype(str)).loc[ms].geometry.to_numpy()
        g = nx.Graph()
        g.add_nodes_from(range(len(polys)))
        g.add_edges_from((i, j) for i in range(len(polys)) for j in range(i + 1, len(polys))
                         if polys[i].intersects(polys[j]))
        assert nx.is_connected(g), rid
        meets = bool(regions.set_index("microregion_id").loc[rid, "meets_size_floor"])
        assert meets == (len(ms) >= 2)
    assert so.cecs is not None and len(so.cecs) >= 1
    assert so.links is not None and set(so.links["zone_type"]) == {"territory", "microregion"}


# ---------------------------------------------------------------------- the command line
POA_NET = str(ROOT / "data" / "porto_alegre" / "poa_osm.pbf")
POA_LOC = str(ROOT / "data" / "porto_alegre" / "poa_hexgrid.csv")


def _cli_args(out: Path, *extra: str, areas: str = "h3:7", eligible: str = "population <= 20000") -> list[str]:
    return ["microregions", POA_NET, POA_LOC, "--id-col", "id", "--areas", areas, "--eligible", eligible,
            "--cec-time", "5", *extra, "-o", str(out)]


def test_cli_microregions(tmp_path: Path) -> None:
    from territorial_gis.cli import main

    out = tmp_path / "mr.gpkg"
    gaps = tmp_path / "gaps.csv"
    r = CliRunner().invoke(main, _cli_args(out, "--min-population", "15000", "--cec-min-population", "300",
                                           "--service", "school=schools", "--gaps-csv", str(gaps)))
    assert r.exit_code == 0, r.output
    assert "microregions from 26 eligible of 44 areas" in r.output
    assert "CECs lacking a school within 30 min:" in r.output
    layers = {name for name, _ in __import__("pyogrio").list_layers(out)}
    assert layers == {"microregions", "eligibility", "cecs", "cec_hinterlands", "localities"}
    table = pd.read_csv(gaps)
    assert set(table["service"]) == {"school"}
    cecs = gpd.read_file(out, layer="cecs")
    assert len(table) == len(cecs)


@pytest.mark.parametrize(("extra", "kw", "message"), [
    (("--min-population", "15000"), {"eligible": "poverty_share >= 40"}, "poverty_share"),
    (("--min-population", "15000"), {"eligible": "population < 0"}, "no eligible area"),
    (("--min-population", "1e9"), {}, "no group of contiguous eligible areas can meet the size floor"),
    (("--min-population", "15000"), {"areas": "POINTS"}, "must be polygons"),
    (("--min-population", "15000", "--eligible", "red"), {}, "not both"),
])
def test_cli_bad_input(tmp_path: Path, extra: tuple[str, ...], kw: dict, message: str) -> None:
    if kw.get("areas") == "POINTS":
        pts = tmp_path / "points.geojson"
        gpd.GeoDataFrame({"area_id": ["a", "b"]}, geometry=gpd.points_from_xy([-51.2, -51.21], [-30.03, -30.04]),
                         crs=4326).to_file(pts)
        kw = {"areas": str(pts)}
    out = tmp_path / "mr.gpkg"
    assert_cli_fails(_cli_args(out, *extra, **kw), message, out)
