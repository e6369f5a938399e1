"""Scenarios (seasons, upgrades, closures) and their comparison with the base network.

Graphs: SYNTHETIC grids (labelled as such: hand-made streets near 4 N, 74 W with random classes,
surfaces and seasons of use, not real roads) for the properties; the embedded Porto Alegre study
(real OSM data) for the pipeline and the command line.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from territorial_gis.cli import main

from territorial_gis._routing import RouteOptions
from territorial_gis.access import travel_times_to_nearest
from territorial_gis.errors import ConfigError
from territorial_gis.network import RoadNetwork
from territorial_gis.scenarios import (
    Scenario,
    apply_scenario,
    compare_access,
    load_season,
    season_effect,
)

LON0, LAT0 = -74.0, 4.0
STEP = 0.005  # ~550 m between grid streets
SURFACES = [None, "asphalt", "gravel", "dirt", "earth", "compacted"]
CLASSES = ["primary", "secondary", "tertiary", "unclassified", "track"]


def synthetic_grid(n: int, rng: np.random.Generator, *, dry_share: float = 0.2) -> RoadNetwork:
    """SYNTHETIC n x n grid of two-way streets with random class, surface, speed and season."""
    ids = np.arange(n * n)
    lon = LON0 + (ids % n) * STEP
    lat = LAT0 + (ids // n) * STEP
    pairs = [(i, i + 1) for i in ids if i % n < n - 1] + [(i, i + n) for i in ids if i // n < n - 1]
    rows, geoms, u, v = [], [], [], []
    for seg, (a, b) in enumerate(pairs):
        hw = CLASSES[rng.integers(len(CLASSES))]
        surf = SURFACES[rng.integers(len(SURFACES))]
        season = "dry_season_only" if rng.random() < dry_share else "all_year"
        speed = float(rng.uniform(10, 80))
        length = float(np.hypot((lon[b] - lon[a]) * 111_000 * np.cos(np.radians(LAT0)), (lat[b] - lat[a]) * 110_600))
        for rev, (x, y) in enumerate(((a, b), (b, a))):
            u.append(x)
            v.append(y)
            geoms.append(shapely.LineString([(lon[x], lat[x]), (lon[y], lat[y])]))
            rows.append({"length_m": length, "speed_kph": speed, "highway": hw, "surface": surf, "season": season,
                         "segment": seg, "reversed": bool(rev), "osm_way_id": 1000 + seg, "oneway": False})
    return RoadNetwork.from_arrays(ids, lon, lat, np.array(u), np.array(v), pd.DataFrame(rows), np.array(geoms))


def points_on_open_roads(net: RoadNetwork, k: int, rng: np.random.Generator, prefix: str) -> gpd.GeoDataFrame:
    """Points a few metres beside the middle of all-year roads (their nearest road stays open)."""
    e = net.edges
    ok = np.flatnonzero((e["season"] == "all_year").to_numpy() & ~e["reversed"].to_numpy())
    pick = rng.choice(ok, size=min(k, len(ok)), replace=False)
    mids = [net.edge_geometry[i].interpolate(0.5, normalized=True) for i in pick]
    pts = [shapely.Point(p.x, p.y + 0.00003) for p in mids]  # ~3 m off the road
    return gpd.GeoDataFrame({"place_id": [f"{prefix}{i}" for i in range(len(pts))], "population": 100.0},
                            geometry=pts, crs=4326)


def times(net: RoadNetwork, loc: gpd.GeoDataFrame, dest: gpd.GeoDataFrame, walk_kph: float = 4.0) -> np.ndarray:
    t = travel_times_to_nearest(net, loc, {"d": dest.rename(columns={"place_id": "dest_id"})},
                                options=RouteOptions(walk_kph=walk_kph))
    return t["travel_time_d_min"].to_numpy(dtype=float)


# ---------------------------------------------------------------------------- properties
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), dry=st.floats(0.0, 0.5))
def test_wet_season_never_makes_a_time_shorter(seed: int, dry: float) -> None:
    rng = np.random.default_rng(seed)
    net = synthetic_grid(6, rng, dry_share=dry)
    loc = points_on_open_roads(net, 8, rng, "o")
    dest = points_on_open_roads(net, 3, rng, "d")
    base = times(net, loc, dest)
    applied = apply_scenario(net, "wet")
    wet = times(applied.network, loc, dest, walk_kph=4.0 * applied.walk_factor)
    reached = np.isfinite(wet)
    assert (wet[reached] >= base[reached] - 1e-9).all()
    assert np.isfinite(base[reached]).all()  # nothing the base cannot reach appears in the rains
    # exactly the dry-season-only roads are closed
    closed = applied.changes.loc[applied.changes["change"] == "closed", "segment"]
    dry_segs = net.edges.loc[net.edges["season"] == "dry_season_only", "segment"]
    assert set(closed) == set(dry_segs)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_up=st.integers(1, 6), to_class=st.sampled_from(CLASSES),
       surface=st.sampled_from(["asphalt", "gravel", "earth"]))
def test_an_upgrade_never_makes_a_time_longer(seed: int, n_up: int, to_class: str, surface: str) -> None:
    rng = np.random.default_rng(seed)
    net = synthetic_grid(5, rng)
    loc = points_on_open_roads(net, 6, rng, "o")
    dest = points_on_open_roads(net, 2, rng, "d")
    ways = [int(w) for w in rng.choice(net.edges["osm_way_id"].unique(), size=n_up, replace=False)]
    sc = Scenario.from_dict({"upgrades": [{"ways": ways, "to_class": to_class, "surface": surface}]})
    applied = apply_scenario(net, sc)
    base, up = times(net, loc, dest), times(applied.network, loc, dest)
    assert (up <= base + 1e-9).all()
    # upgraded roads kept the faster of the two speeds
    e0, e1 = net.edges, applied.network.edges
    assert (e1["speed_kph"].to_numpy() >= e0["speed_kph"].to_numpy() - 1e-12).all()
    assert set(e1.loc[e1["osm_way_id"].isin(ways), "highway"]) == {to_class}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_closing_a_road_no_shortest_path_uses_changes_no_time(seed: int) -> None:
    """The roads on the shortest paths are found independently (networkx), the closed road is one
    of the others, and no point sits on it."""
    import networkx as nx

    rng = np.random.default_rng(seed)
    net = synthetic_grid(5, rng, dry_share=0.0)
    loc = points_on_open_roads(net, 5, rng, "o")
    dest = points_on_open_roads(net, 2, rng, "d")
    base = times(net, loc, dest)
    G = nx.DiGraph()
    tt = net.edges["travel_time_s"].to_numpy()
    for k in range(net.n_edges):
        G.add_edge(int(net.edge_u[k]), int(net.edge_v[k]), w=float(tt[k]), seg=int(net.edges["segment"].iat[k]))
    used: set[int] = set()
    ends = {int(net.edge_u[i]) for i in range(net.n_edges)}
    for s in ends:  # every node's shortest-path tree: a road on none of them is never used
        _d, paths = nx.single_source_dijkstra(G, s, weight="w")
        for p in paths.values():
            used |= {G.edges[a, b]["seg"] for a, b in zip(p[:-1], p[1:], strict=False)}
    snapped = set()
    for pts in (loc, dest):
        for p in pts.geometry:
            d = shapely.distance(net.edge_geometry, p)
            snapped.add(int(net.edges["segment"].iat[int(np.argmin(d))]))
    unused = sorted(set(net.edges["segment"]) - used - snapped)
    if not unused:
        return
    way = int(net.edges.loc[net.edges["segment"] == unused[0], "osm_way_id"].iat[0])
    applied = apply_scenario(net, Scenario.from_dict({"closures": [{"ways": [way]}]}))
    after = times(applied.network, loc, dest)
    np.testing.assert_allclose(after, base, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------- season rules, hand-worked
def test_season_factor_is_the_lowest_that_applies() -> None:
    """Surface decides where it is known, the class where it is not; tracktype and smoothness can
    only lower the factor (values of seasons/wet.toml)."""
    season = load_season("wet")
    edges = pd.DataFrame({
        "highway": ["track", "track", "primary", "primary", "tertiary", "track"],
        "surface": ["earth", None, None, "asphalt", "gravel", "gravel"],
        "tracktype": [None, None, None, None, None, "grade5"],
        "smoothness": [None, None, None, "horrible", None, None],
    })
    closed, _reason, factor = season_effect(edges, season)
    assert not closed.any()
    expected = [season.surface_factor["earth"], season.highway_factor["track"], season.highway_factor["primary"],
                min(season.surface_factor["asphalt"], season.smoothness_factor["horrible"]),
                season.surface_factor["gravel"],
                min(season.surface_factor["gravel"], season.tracktype_factor["grade5"])]
    assert factor.tolist() == expected


def test_synthetic_agency_layer_with_season_field(tmp_path: Path) -> None:
    """SYNTHETIC road-agency layer (three hand-made roads, not real): the wet scenario closes exactly
    the "Temporal" (dry-season only) road and the comparison flags the village only it served."""
    from territorial_gis.network import build_network

    lines = [shapely.LineString([(LON0, LAT0), (LON0 + 0.05, LAT0)]),                 # paved trunk road
             shapely.LineString([(LON0 + 0.05, LAT0), (LON0 + 0.05, LAT0 + 0.05)]),   # gravel, all year
             shapely.LineString([(LON0, LAT0), (LON0, LAT0 + 0.08)])]                 # earth, dry season only
    gpd.GeoDataFrame({"TIPO": ["Pavimentada", "Revestida", "Terraceria"],
                      "CONDICION": ["Permanente", "Permanente", "Temporal"]},
                     geometry=lines, crs=4326).to_file(tmp_path / "red.gpkg")
    (tmp_path / "schema.toml").write_text(
        '[class]\ncolumn = "TIPO"\n'
        '[class.values]\nPavimentada = "primary"\nRevestida = "tertiary"\nTerraceria = "track"\n'
        '[season]\ncolumn = "CONDICION"\ndry_season_only = ["Temporal"]\n')
    net = build_network(tmp_path / "red.gpkg", schema=tmp_path / "schema.toml", snap_tolerance_m=5)
    town = gpd.GeoDataFrame({"place_id": ["town"]}, geometry=[shapely.Point(LON0 + 0.049, LAT0 + 0.0001)], crs=4326)
    villages = gpd.GeoDataFrame({"place_id": ["on_track", "on_gravel"], "population": [300.0, 200.0]},
                                geometry=[shapely.Point(LON0 + 0.0002, LAT0 + 0.07),
                                          shapely.Point(LON0 + 0.0502, LAT0 + 0.04)], crs=4326)
    applied = apply_scenario(net, "wet")
    closed = applied.changes[applied.changes["change"] == "closed"]
    assert set(net.edges.loc[net.edges["segment"].isin(closed["segment"]), "season"]) == {"dry_season_only"}
    assert closed["segment"].nunique() == net.edges.loc[net.edges["season"] == "dry_season_only",
                                                        "segment"].nunique() > 0
    opts = RouteOptions(max_snap_m=1000.0)
    tiers = {"town": town.rename(columns={"place_id": "dest_id"})}
    base = travel_times_to_nearest(net, villages, tiers, options=opts)
    wet = travel_times_to_nearest(applied.network, villages, tiers,
                                  options=applied.route_options(opts, net))
    change = compare_access(base, wet, ["town"], cut_off_reason="dry_season_only")
    assert change["status_town"].tolist() == ["dry_season_only", "slower"]
    assert np.isfinite(base["travel_time_town_min"]).all()


# ---------------------------------------------------------------------------- bad scenarios
@pytest.mark.parametrize("text, expect", [
    ('[[upgrades]]\nways = [1]\nto_class = "superhighway"\n', "to_class = 'superhighway' is not a class"),
    ('[[upgrades]]\nways = [99999999]\nto_class = "primary"\n', "OSM way id(s) 99999999 are not in the network"),
    ('[[closures]]\nbbox = [10, 10, 11, 11]\n', "touches no road"),
    ('[season]\nfile = "monsoon"\n', "season 'monsoon': no such file, and not a built-in season"),
    ('[season]\nfile = "wet"\n[season.surface_factor]\nlava = 0.5\n', "names lava, unknown to the speed model"),
    ('[season]\nfile = "wet"\nwalk_factor = 1.5\n', "walk_factor = 1.5: expected a factor above 0 and at most 1"),
    ('[[closures]]\nname = "x"\n', "names no road"),
    ('[[upgrades]]\nways = [1]\ncolour = "red"\n', "unknown key(s) colour"),
    ('[scenario]\nname = "nothing"\n', "changes nothing"),
])
def test_bad_scenarios_fail_with_one_message(tmp_path: Path, text: str, expect: str) -> None:
    rng = np.random.default_rng(1)
    net = synthetic_grid(3, rng)
    p = tmp_path / "s.toml"
    p.write_text(text.replace("ways = [1]", f"ways = [{int(net.edges['osm_way_id'].iat[0])}]"))
    with pytest.raises(ConfigError) as info:
        apply_scenario(net, Scenario.from_toml(p))
    assert expect in str(info.value)


def test_empty_layer_selection_is_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    net = synthetic_grid(3, rng)
    gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(LON0, LAT0)], crs=4326).to_file(tmp_path / "pts.gpkg")
    (tmp_path / "s.toml").write_text('[[upgrades]]\nlayer = "pts.gpkg"\nsurface = "asphalt"\n')
    with pytest.raises(ConfigError, match="holds no lines"):
        apply_scenario(net, Scenario.from_toml(tmp_path / "s.toml"))


# ---------------------------------------------------------------------------- new links
def _link_toml(layer: Path, **keys: object) -> str:
    body = "".join(f"{k} = {json.dumps(v)}\n" for k, v in keys.items())
    return f'[[new_links]]\nname = "link"\nlayer = "{layer.name}"\n{body}'


def _near(net: RoadNetwork, rng: np.random.Generator, max_off_deg: float) -> tuple[float, float]:
    """A point near a random street of the grid: somewhere along it, moved up to ``max_off_deg``."""
    g = net.edge_geometry[int(rng.integers(net.n_edges))].interpolate(float(rng.uniform(0, 1)), normalized=True)
    return g.x + float(rng.uniform(-max_off_deg, max_off_deg)), g.y + float(rng.uniform(-max_off_deg, max_off_deg))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_links=st.integers(1, 3), to_class=st.sampled_from(CLASSES),
       crossings=st.booleans())
def test_a_new_link_never_makes_a_time_longer(seed: int, n_links: int, to_class: str, crossings: bool) -> None:
    """SYNTHETIC grid and random new roads (ends within ~10 m of a street, one free vertex between);
    points beside roads at least 40 m from the new roads (their nearest road stays the same)."""
    import tempfile

    rng = np.random.default_rng(seed)
    net = synthetic_grid(5, rng, dry_share=0.0)
    lines = [shapely.LineString([_near(net, rng, 0.00008), (LON0 + float(rng.uniform(0, 4 * STEP)),
                                                            LAT0 + float(rng.uniform(0, 4 * STEP))),
                                 _near(net, rng, 0.00008)]) for _ in range(n_links)]
    loc, dest = points_on_open_roads(net, 10, rng, "o"), points_on_open_roads(net, 4, rng, "d")
    links_m = gpd.GeoSeries(lines, crs=4326).to_crs(net.crs).union_all()
    loc, dest = (p[p.to_crs(net.crs).distance(links_m).to_numpy() > 40] for p in (loc, dest))
    if loc.empty or dest.empty:
        return
    with tempfile.TemporaryDirectory() as d:
        gpd.GeoDataFrame(geometry=lines, crs=4326).to_file(Path(d) / "links.gpkg")
        (Path(d) / "s.toml").write_text(_link_toml(Path(d) / "links.gpkg", **{"class": to_class},
                                                   snap_tolerance_m=15, crossings=crossings))
        applied = apply_scenario(net, Scenario.from_toml(Path(d) / "s.toml"))
    base, new = times(net, loc, dest), times(applied.network, loc, dest)
    assert np.isfinite(base).all() and np.isfinite(new).all()
    # up to rounding: a road cut at a point placed in metres, whose lon/lat is a hair off its course
    assert (new <= base * (1 + 1e-6) + 1e-9).all()
    # the roads the new ones join are cut, not changed: their length is what it was
    e = applied.network.edges
    old = e["osm_way_id"].to_numpy() >= 0
    assert e.loc[old, "length_m"].sum() == pytest.approx(net.edges["length_m"].sum(), rel=1e-12)
    assert set(applied.changes["change"]) == {"new_link"}
    assert (e.loc[~old, "highway"] == to_class).all() and (e.loc[~old, "name"] == "link").all()


AGENCY_SCHEMA = ('[class]\ncolumn = "TIPO"\n'
                 '[class.values]\nPavimentada = "primary"\nRevestida = "tertiary"\nTerraceria = "track"\n')


def _agency_layers(d: Path) -> tuple[Path, Path, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """SYNTHETIC road-agency layer (hand-made, not real roads): a 3 x 3 grid of paved and gravel
    streets, one street per feature (no dangling end), and an earth track 300 m east of it that
    joins nothing; a new gravel link from near the track's west end to near the grid's east side,
    crossing nothing. Villages beside the track, a town beside the grid."""
    feats, tipo = [], []
    for i in range(3):
        for j in range(2):
            feats += [shapely.LineString([(LON0 + j * STEP, LAT0 + i * STEP), (LON0 + (j + 1) * STEP, LAT0 + i * STEP)]),
                      shapely.LineString([(LON0 + i * STEP, LAT0 + j * STEP), (LON0 + i * STEP, LAT0 + (j + 1) * STEP)])]
            tipo += ["Pavimentada" if i == 0 else "Revestida"] * 2
    track = shapely.LineString([(LON0 + 2 * STEP + 0.0027, LAT0 + 0.004), (LON0 + 2 * STEP + 0.0027, LAT0 + 0.012)])
    base = gpd.GeoDataFrame({"TIPO": [*tipo, "Terraceria"]}, geometry=[*feats, track], crs=4326)
    # the link's ends are 8 m and 12 m from the roads they join (dangling: snapped)
    link = gpd.GeoDataFrame({"TIPO": ["Revestida"]}, geometry=[shapely.LineString(
        [(LON0 + 2 * STEP + 0.0027 - 0.00011, LAT0 + 0.006), (LON0 + 2 * STEP + 0.0013, LAT0 + 0.0072),
         (LON0 + 2 * STEP + 0.00007, LAT0 + 0.0071)])], crs=4326)
    base.to_file(d / "red.gpkg")
    link.to_file(d / "enlace.gpkg")
    (d / "schema.toml").write_text(AGENCY_SCHEMA)
    villages = gpd.GeoDataFrame({"place_id": ["t1", "t2", "g1"], "population": [120.0, 80.0, 50.0]},
                                geometry=[shapely.Point(LON0 + 2 * STEP + 0.00275, LAT0 + 0.011),
                                          shapely.Point(LON0 + 2 * STEP + 0.00275, LAT0 + 0.0045),
                                          shapely.Point(LON0 + 0.0025, LAT0 + STEP + 0.00003)], crs=4326)
    town = gpd.GeoDataFrame({"dest_id": ["town"]}, geometry=[shapely.Point(LON0 + 0.00003, LAT0 + 0.0025)], crs=4326)
    return d / "red.gpkg", d / "enlace.gpkg", villages, town


@pytest.mark.parametrize("crossings", [False, True])
def test_new_link_joins_as_a_line_layer_would(tmp_path: Path, crossings: bool) -> None:
    """The scenario's network equals the one the line-layer builder makes of the base and the link
    together (same snapping rules), and the comparison flags the places only the link reaches."""
    from territorial_gis.network import build_network
    from territorial_gis.scenarios import summarize_comparison

    red, enlace, villages, town = _agency_layers(tmp_path)
    opts = {"schema": tmp_path / "schema.toml", "snap_tolerance_m": 15.0, "crossings": crossings,
            "largest_component": False}
    base = build_network(red, **opts)
    both = build_network([red, enlace], **opts)
    (tmp_path / "s.toml").write_text(_link_toml(enlace, **{"class": "tertiary"}, snap_tolerance_m=15.0,
                                                crossings=crossings))
    applied = apply_scenario(base, Scenario.from_toml(tmp_path / "s.toml"))
    joined = applied.network
    assert (joined.n_nodes, joined.n_edges) == (both.n_nodes, both.n_edges)
    np.testing.assert_allclose(np.sort(joined.edges["length_m"]), np.sort(both.edges["length_m"]), atol=1e-6)
    assert joined.describe()["road_km"] == pytest.approx(both.describe()["road_km"], rel=1e-9)
    route = RouteOptions(max_snap_m=100.0)
    t_base = travel_times_to_nearest(base, villages, {"town": town}, options=route)
    t_new = travel_times_to_nearest(joined, villages, {"town": town}, options=route)
    t_both = travel_times_to_nearest(both, villages, {"town": town}, options=route)
    np.testing.assert_allclose(t_new["travel_time_town_min"], t_both["travel_time_town_min"], rtol=1e-9)
    change = compare_access(t_base, t_new, ["town"])
    assert change["status_town"].tolist() == ["newly_reached", "newly_reached", "unchanged"]
    summary = summarize_comparison(change, ["town"], population=villages["population"]).iloc[0]
    assert summary["n_newly_reached"] == 2 and summary["population_newly_reached"] == 200.0


@pytest.mark.parametrize("case, expect", [
    ("unknown_class", "class = 'superhighway' is not a class of the speed profile"),
    ("points", "holds no lines (Point 1)"),
    ("empty", "holds no lines (no features)"),
    ("far", "meet no road of the network: the nearest road is"),
    ("bad_key", "unknown key(s) colour"),
    ("no_file", "file not found"),
    ("bad_tolerance", "snap_tolerance_m = -5: expected a number of metres >= 0"),
])
def test_bad_new_links_fail_with_one_message(tmp_path: Path, case: str, expect: str) -> None:
    net = synthetic_grid(3, np.random.default_rng(3))
    geom: list[shapely.Geometry] = [shapely.LineString([(LON0 + 0.0025, LAT0 + 0.0001), (LON0 + 0.0025, LAT0 + 0.004)])]
    keys: dict[str, object] = {"class": "tertiary"}
    if case == "unknown_class":
        keys["class"] = "superhighway"
    elif case == "points":
        geom = [shapely.Point(LON0, LAT0)]
    elif case == "empty":
        geom = []
    elif case == "far":
        geom = [shapely.LineString([(LON0 + 0.1, LAT0 + 0.1), (LON0 + 0.11, LAT0 + 0.1)])]
    elif case == "bad_key":
        keys["colour"] = "red"
    elif case == "bad_tolerance":
        keys["snap_tolerance_m"] = -5
    gpd.GeoDataFrame(geometry=geom, crs=4326).to_file(tmp_path / "link.gpkg")
    layer = tmp_path / ("missing.gpkg" if case == "no_file" else "link.gpkg")
    (tmp_path / "s.toml").write_text(_link_toml(layer, **keys))
    with pytest.raises(ConfigError) as info:
        apply_scenario(net, Scenario.from_toml(tmp_path / "s.toml"))
    assert expect in str(info.value) and "link" in str(info.value)


def test_cli_apply_new_link(tmp_path: Path) -> None:
    """``tgis scenario apply`` writes the network with the link and the changed roads; a link of a
    class the profile does not know: one message, exit 1, nothing written."""
    red, enlace, _villages, _town = _agency_layers(tmp_path)
    net_path = tmp_path / "base.tgnet"
    r = CliRunner().invoke(main, ["network", "build", str(red), "--schema", str(tmp_path / "schema.toml"),
                                  "--all-components", "-o", str(net_path)])
    assert r.exit_code == 0, r.output
    (tmp_path / "s.toml").write_text(_link_toml(enlace, **{"class": "tertiary", "snap_tolerance_m": 15}))
    out = tmp_path / "with_link.tgnet"
    r = CliRunner().invoke(main, ["scenario", "apply", str(net_path), str(tmp_path / "s.toml"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "1 new" in r.output
    changes = gpd.read_file(tmp_path / "with_link_changes.gpkg")
    assert set(changes["change"]) == {"new_link"} and len(changes) == 2
    (tmp_path / "bad.toml").write_text(_link_toml(enlace, **{"class": "autopista"}))
    bad_out = tmp_path / "bad.tgnet"
    r = CliRunner().invoke(main, ["scenario", "apply", str(net_path), str(tmp_path / "bad.toml"), "-o", str(bad_out)])
    assert r.exit_code == 1
    errors = [ln for ln in r.output.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and "class = 'autopista' is not a class of the speed profile" in errors[0]
    assert "Traceback" not in r.output and not bad_out.exists()
    assert not (tmp_path / "bad_changes.gpkg").exists()


# ---------------------------------------------------------------------------- study and command line
@pytest.fixture(scope="module")
def poa_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded study (its config runs the wet season and the RAI), without map and report."""
    from territorial_gis.pipeline import default_study_config, run_study

    cfg = default_study_config()
    cfg["outputs"] = {"map": False, "report": False}
    for stage in ("hubs", "territories"):
        cfg[stage] = {"enabled": False}
    out = tmp_path_factory.mktemp("scen") / "poa"
    run_study(cfg, out, progress=False, cache_dir=tmp_path_factory.mktemp("cache"))
    return out


def test_pipeline_writes_the_wet_comparison(poa_study: Path) -> None:
    loc = gpd.read_file(poa_study / "scenario_wet.gpkg", layer="localities")
    summary = pd.read_csv(poa_study / "scenarios.csv").set_index("tier")
    for tier in ("employment_centre", "market"):
        st_col = loc[f"status_{tier}"]
        assert summary.loc[tier, "n_slower"] == (st_col == "slower").sum()
        lost = loc.loc[st_col == "slower", f"change_{tier}_min"]
        assert summary.loc[tier, "median_minutes_lost"] == pytest.approx(lost.median())
        # the change is the difference of the two times
        both = loc[f"travel_time_{tier}_min_base"].notna() & loc[f"travel_time_{tier}_min_scenario"].notna()
        diff = loc.loc[both, f"travel_time_{tier}_min_scenario"] - loc.loc[both, f"travel_time_{tier}_min_base"]
        np.testing.assert_allclose(loc.loc[both, f"change_{tier}_min"], diff, atol=1e-9)
        assert (loc.loc[both, f"change_{tier}_min"] >= -1e-9).all()  # the rains never help
    base_loc = gpd.read_file(poa_study / "localities.gpkg", layer="localities")
    np.testing.assert_allclose(loc["travel_time_market_min_base"], base_loc["travel_time_market_min"])
    classes = pd.read_csv(poa_study / "scenario_classes.csv")
    assert classes["n_units"].sum() == len(base_loc)
    assert not ((classes["from_class"] == "MRA") & (classes["to_class"] == "FRA")).any()  # slower never helps
    meta = json.loads((poa_study / "study.json").read_text())
    assert meta["scenarios"] == ["wet"] and "rai" in meta


def test_cli_compare_and_bad_scenario(poa_study: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    r = CliRunner().invoke(main, ["scenario", "compare", str(poa_study), "wet", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert (out / "scenario_wet.gpkg").is_file() and (out / "scenarios.csv").is_file()
    pd.testing.assert_frame_equal(pd.read_csv(out / "scenarios.csv"), pd.read_csv(poa_study / "scenarios.csv"))
    bad = tmp_path / "bad.toml"
    bad.write_text('[[upgrades]]\nways = [1]\nto_class = "motorway"\n')
    out2 = tmp_path / "cmp2"
    r = CliRunner().invoke(main, ["scenario", "compare", str(poa_study), str(bad), "-o", str(out2)])
    assert r.exit_code == 1
    errors = [ln for ln in r.output.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and "OSM way id(s) 1 are not in the network" in errors[0]
    assert "Traceback" not in r.output
    assert not out2.exists() or not any(p for p in out2.iterdir() if not p.name.startswith("."))
