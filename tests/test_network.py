"""Road network builder on the embedded real OSM extract (Porto Alegre, ODbL)."""

from __future__ import annotations

import bz2
import gzip
import json
import shutil
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.sparse.csgraph import dijkstra
from territorial_gis.cli import main
from territorial_gis.data import data_path

from territorial_gis.errors import ConfigError, NetworkError, OutputExistsError
from territorial_gis.network import RoadNetwork, build_network, load_network
from territorial_gis.speeds import load_profile, parse_maxspeed_one

PBF = data_path("porto_alegre", "poa_osm.pbf")


@pytest.fixture(scope="module")
def net_all() -> RoadNetwork:
    """Every component, to compare with osmnx which keeps them all with retain_all=True."""
    return build_network(PBF, largest_component=False)


@pytest.fixture(scope="module")
def net(poa_network: RoadNetwork) -> RoadNetwork:
    """The drive network of the embedded extract (the shared session build of conftest.py)."""
    return poa_network


@pytest.fixture(scope="module")
def osmnx_graph(tmp_path_factory: pytest.TempPathFactory) -> nx.MultiDiGraph:
    """osmnx's own parser on the same ways, written as OSM XML by pyosmium.

    The XML holds the ways our drive profile admits (osmnx's graph_from_xml does not filter),
    so both builders see the same input.
    """
    ox = pytest.importorskip("osmnx")
    from territorial_gis._osm import write_routable_xml

    out = tmp_path_factory.mktemp("osmxml") / "poa_drive.osm"
    write_routable_xml(PBF, out, load_profile())
    return ox.graph_from_xml(out, simplify=False, retain_all=True)


def test_builds_real_extract(net: RoadNetwork) -> None:
    assert net.n_nodes > 10_000 and net.n_edges > 25_000
    assert net.crs.to_epsg() == 32722  # UTM 22S holds Porto Alegre (51.2 W, 30 S)
    e = net.edges
    assert (e["length_m"] > 0).all()
    assert np.allclose(e["travel_time_s"], e["length_m"] / (e["speed_kph"] / 3.6))
    assert {"track", "unclassified", "service", "primary"} <= set(e["highway"])
    # drive profile: no footways or steps
    assert not set(e["highway"]) & {"footway", "steps", "path", "cycleway", "pedestrian"}
    assert net.meta["dropped"]["length_share"] < 0.05
    # every directed edge geometry starts at u and ends at v
    import shapely

    first = shapely.get_coordinates(shapely.get_point(net.edge_geometry, 0))
    assert np.allclose(first[:, 0], net.node_lon[net.edge_u])
    assert np.allclose(first[:, 1], net.node_lat[net.edge_u])


def test_total_length_and_nodes_match_osmnx(net_all: RoadNetwork, osmnx_graph: nx.MultiDiGraph) -> None:
    ox = pytest.importorskip("osmnx")
    G = osmnx_graph
    # Length: osmnx uses great-circle (haversine) distance, we use the WGS84 ellipsoid
    # (pyproj.Geod); at 30 degrees S the two differ by well under 0.2 %.
    ox_len = sum(d["length"] for _, _, d in G.edges(data=True))
    assert net_all.edges["length_m"].sum() == pytest.approx(ox_len, rel=2e-3)
    # Nodes: osmnx simplification keeps intersections and dead ends. We also keep the nodes
    # where two ways meet end to end (to keep each way's own attributes on its edges), so our
    # node set holds osmnx's, and every extra node is a pass-through node (two neighbours).
    Gs = ox.simplify_graph(G)
    ours = set(net_all.node_id.tolist())
    theirs = set(Gs.nodes)
    assert theirs <= ours
    extra = ours - theirs
    assert len(extra) < 0.15 * len(ours)
    for node in list(extra)[:500]:
        neighbours = set(G.predecessors(node)) | set(G.successors(node))
        assert len(neighbours) == 2, node


def test_shortest_lengths_match_osmnx(net_all: RoadNetwork, osmnx_graph: nx.MultiDiGraph) -> None:
    """Same topology and oneway handling: shortest path lengths between random node pairs
    equal those on osmnx's graph of the same ways."""
    rng = np.random.default_rng(7)
    G = nx.DiGraph()
    for u, v, d in osmnx_graph.edges(data=True):
        if not G.has_edge(u, v) or d["length"] < G[u][v]["length"]:
            G.add_edge(u, v, length=d["length"])
    ox = pytest.importorskip("osmnx")
    import shapely

    # Our lengths are ellipsoidal (WGS84); osmnx's are great-circle. To test topology and
    # oneway handling exactly, recompute our edge lengths with osmnx's great-circle formula.
    coords = shapely.get_coordinates(net_all.edge_geometry)
    owner = np.repeat(np.arange(net_all.n_edges), shapely.get_num_coordinates(net_all.edge_geometry))
    same = owner[1:] == owner[:-1]
    step = ox.distance.great_circle(coords[:-1, 1], coords[:-1, 0], coords[1:, 1], coords[1:, 0])
    gc_len = np.bincount(owner[1:][same], weights=np.asarray(step)[same], minlength=net_all.n_edges)
    edges = net_all.edges.copy()
    edges["gc_length_m"] = gc_len
    gc_net = RoadNetwork(net_all.node_id, net_all.node_lon, net_all.node_lat, net_all.edge_u,
                         net_all.edge_v, edges, net_all.edge_geometry, crs=net_all.crs)
    index = {int(n): i for i, n in enumerate(net_all.node_id)}
    csr = gc_net.csr("gc_length_m")
    nodes = np.array(sorted(set(G.nodes) & set(index)))
    src = rng.choice(nodes, 15, replace=False)
    dist = dijkstra(csr, indices=[index[int(s)] for s in src])
    checked = 0
    for i, s in enumerate(src):
        lengths = nx.single_source_dijkstra_path_length(G, int(s), weight="length")
        for t in rng.choice(nodes, 20, replace=False):
            ours = dist[i, index[int(t)]]
            theirs = lengths.get(int(t), np.inf)
            if np.isinf(theirs):
                assert np.isinf(ours)
            else:
                assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-3)
                checked += 1
    assert checked > 200


def test_travel_times_equal_networkx_on_export(net: RoadNetwork) -> None:
    G = net.to_networkx()
    assert G.graph["crs"] == "EPSG:4326"
    assert G.number_of_nodes() == net.n_nodes and G.number_of_edges() == net.n_edges
    _, _, d0 = next(iter(G.edges(data=True)))
    assert {"length", "travel_time", "geometry", "osmid"} <= set(d0)
    rng = np.random.default_rng(3)
    ids = net.node_id
    src = rng.choice(net.n_nodes, 10, replace=False)
    dist = dijkstra(net.csr("travel_time_s"), indices=src)
    for i, s in enumerate(src):
        ref = nx.single_source_dijkstra_path_length(G, int(ids[s]), weight="travel_time")
        for t in rng.choice(net.n_nodes, 30, replace=False):
            assert dist[i, t] == pytest.approx(ref[int(ids[t])], rel=1e-9, abs=1e-6)


def test_networkx_roundtrip(net: RoadNetwork) -> None:
    back = RoadNetwork.from_networkx(net.to_networkx())
    assert back.n_nodes == net.n_nodes and back.n_edges == net.n_edges
    assert back.edges["travel_time_s"].sum() == pytest.approx(net.edges["travel_time_s"].sum())
    # a graph without edge lengths: measured from the geometries, as the builder measures them
    G = net.to_networkx()
    for _u, _v, data in G.edges(data=True):
        del data["length"]
    measured = RoadNetwork.from_networkx(G)
    np.testing.assert_allclose(np.sort(measured.edges["length_m"]), np.sort(net.edges["length_m"]), rtol=0, atol=1e-6)
    # a graph without road pieces (as osmnx gives it): the two directions of each road pair up again
    for _u, _v, data in G.edges(data=True):
        del data["segment"], data["reversed"]
    paired = RoadNetwork.from_networkx(G)
    assert paired.edges["segment"].nunique() == net.edges["segment"].nunique()
    assert paired.describe()["road_km"] == pytest.approx(net.describe()["road_km"], rel=1e-12)


def test_osmnx_style_graph_counts_each_road_once() -> None:
    """SYNTHETIC osmnx-style graph (hand-made, not real roads): a two-way primary road (1 km, an
    edge each way), a one-way track (0.5 km), a two-way residential street (1 km) and a one-way
    residential street (0.5 km). By hand: 3.0 km of road, 1.0 primary, 1.5 residential, 0.5 track."""
    G = nx.MultiDiGraph(crs="EPSG:4326")
    for i, (x, y) in enumerate([(-74.0, 4.0), (-73.991, 4.0), (-73.991, 4.0045), (-74.0, 4.0045)]):
        G.add_node(i, x=x, y=y)
    G.add_edge(0, 1, osmid=10, length=1000.0, highway="primary", oneway=False, reversed=False)
    G.add_edge(1, 0, osmid=10, length=1000.0, highway="primary", oneway=False, reversed=True)
    G.add_edge(1, 2, osmid=11, length=500.0, highway="track", oneway=True, reversed=False)
    G.add_edge(2, 3, osmid=12, length=1000.0, highway="residential", oneway=False)
    G.add_edge(3, 2, osmid=12, length=1000.0, highway="residential", oneway=False)
    G.add_edge(3, 0, osmid=13, length=500.0, highway="residential", oneway=True)
    G.nodes[2]["ford"] = "yes"
    net = RoadNetwork.from_networkx(G)
    d = net.describe()
    assert d["directed_edges"] == 6 and d["road_km"] == pytest.approx(3.0)
    assert d["km_by_class"] == {"residential": 1.5, "primary": 1.0, "track": 0.5}
    e = net.edges
    assert e["segment"].tolist() == [0, 0, 1, 2, 2, 3]
    assert e["reversed"].tolist() == [False, True, False, False, True, False]
    # the ford node's tag is on the edges that start or end at it
    assert e["ford"].eq("yes").tolist() == [False, False, True, True, True, False]


def test_save_load_native_and_gpkg(net: RoadNetwork, tmp_path: Path) -> None:
    import time

    p = net.save(tmp_path / "poa.tgnet")
    t0 = time.perf_counter()
    back = load_network(p)
    assert time.perf_counter() - t0 < 5  # typically ~0.1 s; loose bound, timing is for benchmarks
    assert back.n_nodes == net.n_nodes and back.n_edges == net.n_edges
    assert np.array_equal(back.edge_u, net.edge_u)
    assert (back.csr() != net.csr()).nnz == 0
    assert back.crs == net.crs
    g = net.save(tmp_path / "poa.gpkg")
    back2 = load_network(g)
    assert back2.n_edges == net.n_edges
    assert back2.edges["length_m"].sum() == pytest.approx(net.edges["length_m"].sum())
    with pytest.raises(OutputExistsError):
        net.save(tmp_path / "poa.tgnet")  # exists, no overwrite


def test_compressed_xml_and_bbox_clip(tmp_path: Path, net: RoadNetwork) -> None:
    osmium = pytest.importorskip("osmium")
    xml = tmp_path / "poa.osm"
    w = osmium.SimpleWriter(str(xml))
    for o in osmium.FileProcessor(str(PBF)):
        if o.is_node():
            w.add_node(o)
        elif o.is_way():
            w.add_way(o)
    w.close()
    gz = tmp_path / "poa.osm.gz"
    with open(xml, "rb") as fi, gzip.open(gz, "wb") as fo:
        shutil.copyfileobj(fi, fo)
    bz = tmp_path / "poa.osm.bz2"
    with open(xml, "rb") as fi, bz2.open(bz, "wb") as fo:
        shutil.copyfileobj(fi, fo)
    for path in (xml, gz, bz):
        other = build_network(path)
        assert other.n_edges == net.n_edges
    box = (-51.24, -30.06, -51.20, -30.02)
    clipped = build_network(PBF, bbox=box)
    assert 0 < clipped.n_nodes < net.n_nodes
    assert (clipped.node_lon >= box[0]).all() and (clipped.node_lat <= box[3]).all()


def test_walk_mode_keeps_paths() -> None:
    walk = build_network(PBF, mode="walk")
    # the raw extract holds 2,083 footway, 555 path and 413 steps ways (counted with pyosmium)
    assert {"footway", "path", "steps"} <= set(walk.edges["highway"])
    assert not walk.edges["oneway"].any()


def test_maxspeed_parsing() -> None:
    zones = load_profile().maxspeed_zone_kph
    assert parse_maxspeed_one("60") == 60
    assert parse_maxspeed_one("30 mph") == pytest.approx(48.28, abs=0.01)
    assert np.isnan(parse_maxspeed_one("none"))
    assert parse_maxspeed_one("BR:urban", zones) == 50
    assert parse_maxspeed_one("PY:rural", zones) == 80  # unknown country: generic rural
    assert parse_maxspeed_one("60;40") == 40
    assert np.isnan(parse_maxspeed_one("fast"))


def test_speed_model_surface_and_tracks() -> None:
    from territorial_gis.speeds import assign_speeds

    prof = load_profile()
    tags = pd.DataFrame({"highway": ["tertiary", "tertiary", "track", "track", "primary"],
                         "surface": ["asphalt", "dirt", None, None, None],
                         "tracktype": [None, None, "grade1", "grade5", None],
                         "maxspeed": [None, None, None, None, "40"]})
    s = assign_speeds(tags, prof)
    assert s[1] < s[0]  # unpaved tertiary slower
    assert s[3] < s[2]  # grade5 track slower than grade1
    assert s[4] == pytest.approx(40 * prof.maxspeed_factor)



def test_profile_without_walking_speed_takes_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The off-road walking speed of a profile that gives none is settings.walk_kph, read when the
    profile is made (the default is defined once); a profile that gives one keeps its own."""
    from territorial_gis import settings
    from territorial_gis.speeds import Profile, profile_from_dict

    monkeypatch.setattr(settings, "walk_kph", 3.2)
    assert profile_from_dict({"highway_speed_kph": {"track": 10}}).walk_speed_kph == 3.2
    assert Profile(mode="walk", highway_speed_kph={"path": 4.0}).walk_speed_kph == 3.2
    assert profile_from_dict({"highway_speed_kph": {"track": 10}, "walk_speed_kph": 5}).walk_speed_kph == 5.0
    monkeypatch.setattr(settings, "walk_kph", 4.5)
    assert profile_from_dict({"highway_speed_kph": {"track": 10}}).walk_speed_kph == 4.5


def test_speed_model_unknown_and_missing_values() -> None:
    """Unknown classes get the default speed, missing factors count as 1, maxspeed lists and
    units go through the per-value parser (each distinct value parsed once)."""
    from territorial_gis.speeds import assign_speeds, parse_maxspeed

    prof = load_profile()
    tags = pd.DataFrame({"highway": ["no_such_class", None, "residential", "residential"],
                         "surface": [None, None, "no_such_surface", None],
                         "maxspeed": ["30 mph", None, "60;20", "60;20"]})
    s = assign_speeds(tags, prof)
    assert s[0] == pytest.approx(min(prof.default_speed_kph, 48.28032 * prof.maxspeed_factor))
    assert s[1] == prof.default_speed_kph
    assert s[2] == s[3] == pytest.approx(min(prof.highway_speed_kph["residential"], 20 * prof.maxspeed_factor))
    assert np.isnan(parse_maxspeed([None, np.nan, "none"])).all()
    assert len(parse_maxspeed([])) == 0


def test_segment_lengths_equal_the_geodesic() -> None:
    """The short-segment ellipsoidal formula agrees with Karney's geodesic (pyproj) to 0.1 mm up
    to 1 km and longer segments are exact, in every latitude band and across the antimeridian."""
    from pyproj import Geod

    from territorial_gis._geodesy import segment_lengths_m

    geod = Geod(ellps="WGS84")
    rng = np.random.default_rng(7)
    n = 20_000
    lon = rng.uniform(-180, 180, n)
    lat = rng.uniform(-80, 80, n)
    dist = np.concatenate([rng.uniform(0, 1000, n // 2), rng.uniform(1000, 50_000, n // 2)])
    lon2, lat2, _ = geod.fwd(lon, lat, rng.uniform(0, 360, n), dist)
    got = segment_lengths_m(lon, lat, lon2, lat2)
    short = dist <= 1000.0
    assert np.max(np.abs(got[short] - dist[short])) < 1e-4
    assert np.allclose(got[dist > 1001.0], dist[dist > 1001.0], rtol=0, atol=1e-6)
    assert segment_lengths_m(np.array([179.9999]), np.array([0.0]), np.array([-179.9999]),
                             np.array([0.0]))[0] == pytest.approx(22.26, abs=0.01)


def test_line_lengths_equal_the_geodesic() -> None:
    """Lengths of whole lines (vectorised) equal pyproj's geodesic line length."""
    import shapely
    from pyproj import Geod

    from territorial_gis._geodesy import line_lengths_m

    rng = np.random.default_rng(11)
    lines = [shapely.LineString(np.column_stack([-72 + np.cumsum(rng.normal(0, 0.003, k)),
                                                 2 + np.cumsum(rng.normal(0, 0.003, k))]))
             for k in rng.integers(2, 12, 300)]
    expect = [Geod(ellps="WGS84").geometry_length(line) for line in lines]
    np.testing.assert_allclose(line_lengths_m(np.array(lines, dtype=object)), expect, rtol=0, atol=1e-4)


def test_multiline_lengths_count_no_jump_between_parts() -> None:
    """A MultiLineString measures the sum of its parts (pyproj measures each part), not the
    straight jump from one part's end to the next part's start; empty and missing geometries are 0."""
    import shapely
    from pyproj import Geod

    from territorial_gis._geodesy import line_lengths_m

    rng = np.random.default_rng(12)
    geod = Geod(ellps="WGS84")

    def part(x0: float, y0: float) -> shapely.LineString:
        k = int(rng.integers(2, 8))
        return shapely.LineString(np.column_stack([x0 + np.cumsum(rng.normal(0, 0.002, k)),
                                                   y0 + np.cumsum(rng.normal(0, 0.002, k))]))

    multis = [shapely.MultiLineString([part(-72 + 0.1 * i, 2 + 0.05 * j) for j in range(int(rng.integers(1, 5)))])
              for i in range(60)]
    geoms = np.array([*multis, None, shapely.LineString(), part(-70, 1)], dtype=object)
    got = line_lengths_m(geoms)
    expect = [sum(geod.geometry_length(p) for p in m.geoms) for m in multis]
    np.testing.assert_allclose(got[:60], expect, rtol=0, atol=1e-4)
    assert got[60] == 0.0 and got[61] == 0.0
    assert got[62] == pytest.approx(geod.geometry_length(geoms[62]), abs=1e-4)
    # two parts 0.1 degree apart: the jump (~11 km) is not counted
    two = shapely.MultiLineString([[(-72.0, 2.0), (-72.0, 2.001)], [(-71.9, 2.0), (-71.9, 2.001)]])
    assert line_lengths_m(np.array([two], dtype=object))[0] == pytest.approx(2 * 110.6, rel=0.01)

# --------------------------------------------------------------------------- bad input
def _run(args: list[str]) -> tuple[int, str]:
    r = CliRunner().invoke(main, args)
    return r.exit_code, r.output


def test_cli_build_and_info(tmp_path: Path) -> None:
    out = tmp_path / "poa.tgnet"
    code, text = _run(["network", "build", str(PBF), "-o", str(out)])
    assert code == 0, text
    code, text = _run(["network", "info", str(out)])
    assert code == 0
    assert "nodes:" in text and "EPSG:32722" in text and "residential" in text


@pytest.mark.parametrize("case", ["missing", "not_osm", "truncated", "empty_extract", "bbox_outside",
                                  "bad_profile", "unknown_profile_key"])
def test_cli_bad_input(case: str, tmp_path: Path) -> None:
    out = tmp_path / "out.tgnet"
    src = str(PBF)
    extra: list[str] = []
    if case == "missing":
        src = str(tmp_path / "nope.osm.pbf")
        expect = "not found"
    elif case == "not_osm":
        p = tmp_path / "fake.osm.pbf"
        p.write_text("this is not a pbf file\n")
        src, expect = str(p), "not a readable OpenStreetMap file"
    elif case == "truncated":
        p = tmp_path / "trunc.osm.pbf"
        p.write_bytes(PBF.read_bytes()[:300_000])
        src, expect = str(p), "not a readable OpenStreetMap file"
    elif case == "empty_extract":
        p = tmp_path / "empty.osm"
        p.write_text('<?xml version="1.0"?>\n<osm version="0.6" generator="test"></osm>\n')
        src, expect = str(p), "no routable way"
    elif case == "bbox_outside":
        extra, expect = ["--bbox", "10", "10", "11", "11"], "does not overlap"
    elif case == "bad_profile":
        p = tmp_path / "bad.toml"
        p.write_text('[highway_speed_kph]\nprimary = "fast"\n')
        extra, expect = ["--profile", str(p)], "highway_speed_kph.primary"
    else:
        p = tmp_path / "bad.toml"
        p.write_text('speeds = 3\n[highway_speed_kph]\nprimary = 50\n')
        extra, expect = ["--profile", str(p)], "unknown key"
    code, text = _run(["network", "build", src, "-o", str(out), *extra])
    assert code == 1, text
    assert expect in text
    assert "Traceback" not in text
    assert text.count("Error:") == 1
    assert not out.exists()
    assert not list(tmp_path.glob(".out*"))  # no temp leftovers


def test_cli_usage_error_exit_2() -> None:
    code, _ = _run(["network", "build"])
    assert code == 2


def test_library_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        build_network("/nonexistent/file.osm.pbf")
    with pytest.raises(ConfigError):
        build_network(PBF, bbox=(1, 2, 3))
    with pytest.raises(NetworkError):
        build_network(PBF, bbox=(10, 10, 11, 11))


def test_cli_builds_line_layer_with_repair_report(tmp_path: Path) -> None:
    """The Guaviare road layer (real OSM roads, Geofabrik schema) through the same command."""
    import json

    layer = data_path("guaviare", "vias_guaviare_osm.geojson")
    out = tmp_path / "g.tgnet"
    code, text = _run(["network", "build", str(layer), "-o", str(out), "--snap-tolerance", "5"])
    assert code == 0, text
    report = json.loads((tmp_path / "g_repair.json").read_text())
    assert report["ends_snapped"] > 0
    assert load_network(out).n_nodes > 1000
    code, text = _run(["network", "build", str(layer), "-o", str(tmp_path / "bad.tgnet"),
                       "--snap-tolerance", "-1"])
    assert code == 1 and text.count("Error:") == 1
    assert not (tmp_path / "bad.tgnet").exists()


@pytest.mark.network
def test_network_from_place_online() -> None:
    """Online path (osmnx download + our speed model); deselected by default (no internet in CI)."""
    from territorial_gis.network import network_from_bbox, network_from_place

    net = network_from_place("Tlapa de Comonfort, Guerrero, Mexico")
    assert net.n_edges > 100
    assert (net.edges["speed_kph"] > 0).all()
    assert np.allclose(net.edges["travel_time_s"], net.edges["length_m"] / (net.edges["speed_kph"] / 3.6))
    box = network_from_bbox((-98.58, 17.54, -98.56, 17.56))
    assert box.n_nodes > 10


def test_networkx_export_works_with_osmnx_stats(net: RoadNetwork) -> None:
    """The exported graph carries ``street_count`` as osmnx computes it, so osmnx's
    ``basic_stats`` runs; its street length (osmnx's own undirected merge of the directed
    edges) equals our road length (one-way roads drawn against their direction: test_layers)."""
    import osmnx as ox

    G = net.to_networkx()
    assert nx.get_node_attributes(G, "street_count") == ox.stats.count_streets_per_node(G)
    stats = ox.stats.basic_stats(G)
    assert (stats["n"], stats["m"]) == (net.n_nodes, net.n_edges)
    assert stats["edge_length_total"] == pytest.approx(net.edges["length_m"].sum(), rel=1e-12)
    assert stats["street_length_total"] == pytest.approx(net.describe()["road_km"] * 1000, rel=1e-9)


GUAVIARE = data_path("guaviare", "vias_guaviare_osm.geojson")


@pytest.mark.parametrize(("args", "code", "expect"), [
    (["--snap-tolerance", "5"], 2, "--snap-tolerance applies to road line layers, not to the OSM file"),
    (["--schema", "geofabrik", "--crossings"], 2, "--schema, --crossings apply to road line layers"),
    (["--layer", "roads"], 2, "--layer applies to road line layers"),
    (["--season", "wet"], 2, "--season applies to road line layers"),
])
def test_cli_refuses_line_layer_options_on_an_osm_file(tmp_path: Path, args: list[str], code: int,
                                                        expect: str) -> None:
    out = tmp_path / "poa.tgnet"
    status, text = _run(["network", "build", str(PBF), "-o", str(out), *args])
    assert status == code, text
    assert expect in text and str(PBF) in text
    assert text.count("Error:") == 1 and "Traceback" not in text
    assert not out.exists()


@pytest.mark.parametrize(("args", "code", "expect"), [
    (["--season", "wet"], 1, "vias_guaviare_osm.geojson: season='wet' needs a season column"),
    (["--default-class", "track"], 2, "--default-class applies only with --unmapped default"),
    (["--layer", "a", "--layer", "b", "--layer", "c"], 1, "2 files and 3 layers"),
])
def test_cli_line_layer_options_that_do_not_apply(tmp_path: Path, args: list[str], code: int,
                                                  expect: str) -> None:
    out = tmp_path / "g.tgnet"
    status, text = _run(["network", "build", str(GUAVIARE), str(GUAVIARE), "-o", str(out), *args]
                        if "--layer" in args else ["network", "build", str(GUAVIARE), "-o", str(out), *args])
    assert status == code, text
    assert expect in text and text.count("Error:") == 1 and "Traceback" not in text
    assert not out.exists() and not (tmp_path / "g_repair.json").exists()


def test_cli_mixing_osm_and_line_layers_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "mix.tgnet"
    status, text = _run(["network", "build", str(GUAVIARE), str(PBF), "-o", str(out)])
    assert status == 1 and "an OSM file is built on its own" in text and str(PBF) in text
    assert not out.exists()


def test_cli_does_not_overwrite_a_repair_report(tmp_path: Path) -> None:
    """An existing repair report stops the build before any work, naming it; --overwrite
    replaces network and report together."""
    out = tmp_path / "g.tgnet"
    report = tmp_path / "g_repair.json"
    report.write_text("{}")
    status, text = _run(["network", "build", str(GUAVIARE), "-o", str(out)])
    assert status == 1 and f"output exists: {report}" in text and "--overwrite" in text
    assert not out.exists() and report.read_text() == "{}"
    status, text = _run(["network", "build", str(GUAVIARE), "-o", str(out), "--overwrite"])
    assert status == 0, text
    assert json.loads(report.read_text())["features_read"] == 696 and load_network(out).n_nodes > 1000
    assert not list(tmp_path.glob(".*part*"))


def test_cli_several_layers_and_dropped_component_report(tmp_path: Path) -> None:
    """Two files in one build (the Guaviare layer cut in two); the command reports what the
    largest component left out, as the network's meta records it."""
    import geopandas as gpd

    raw = gpd.read_file(GUAVIARE)
    a, b = tmp_path / "a.geojson", tmp_path / "b.geojson"
    raw.iloc[:300].to_file(a)
    raw.iloc[300:].to_file(b)
    out = tmp_path / "two.gpkg"
    status, text = _run(["network", "build", str(a), str(b), "-o", str(out)])
    assert status == 0, text
    report = json.loads((tmp_path / "two_repair.json").read_text())
    assert [x["features_read"] for x in report["layers"]] == [300, 396]
    net = load_network(out)
    dropped = net.meta["dropped"]
    assert f"{dropped['nodes']} nodes, {dropped['length_km']:.1f} km" in text
    assert net.meta["source"] == [str(a), str(b)]


def test_osm_clip_gets_the_zone_of_the_roads_kept(tmp_path: Path) -> None:
    """SYNTHETIC OSM file: a road at 73.4..72.8 W and one at 72.0..70.1 W (2.5 N). The whole
    file's nodes span 73.4..70.1 W, centre 71.75 W: UTM zone 19 (72..66 W). Clipped to the
    western road (centre 73.1 W) the network is in zone 18 (78..72 W), as a network built from
    that road alone would be, and it reloads in zone 18."""
    xml = tmp_path / "two_zones.osm"
    nodes = [(1, -73.4), (2, -72.8), (3, -72.0), (4, -70.1)]
    xml.write_text('<?xml version="1.0"?>\n<osm version="0.6" generator="test">\n'
                   + "".join(f'<node id="{i}" version="1" lat="2.5" lon="{lon}"/>\n' for i, lon in nodes)
                   + '<way id="10" version="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="primary"/></way>\n'
                   + '<way id="11" version="1"><nd ref="3"/><nd ref="4"/><tag k="highway" v="primary"/></way>\n'
                   + "</osm>\n")
    whole = build_network(xml, largest_component=False)
    assert whole.crs.to_epsg() == 32619
    west = build_network(xml, bbox=(-73.5, 2.0, -72.5, 3.0))
    assert west.n_nodes == 2 and west.crs.to_epsg() == 32618
    for suffix in (".tgnet", ".gpkg"):
        assert load_network(west.save(tmp_path / f"west{suffix}")).crs.to_epsg() == 32618
