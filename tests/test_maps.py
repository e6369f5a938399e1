"""Tests of territorial_gis.maps, _html and ``tgis map`` (browser tests marked ``browser``).

The study used here is the RENDERING FIXTURE of tests/_browser.py: real Porto Alegre H3 cells
(census population) and points of interest, with crude straight-line travel times and classes.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from _browser import open_browser, rendering_study
from click.testing import CliRunner
from territorial_gis.cli import main
from territorial_gis.data import data_path

from territorial_gis._html import external_references, inline_assets
from territorial_gis.errors import ConfigError, CRSError, InputFileError, OutputExistsError
from territorial_gis.maps import (
    CLASS_STYLES,
    CompactLayer,
    encode_delta,
    encode_geometry,
    format_class,
    make_hex_surface,
    make_map,
    map_study,
    render_map,
    write_map,
)
from territorial_gis.outputs import load_study_outputs

#: the most populated H3 cell of the embedded Porto Alegre grid (census population 4,730)
KNOWN_CELL = "89a901288cbffff"


@pytest.fixture(scope="session")
def study(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return rendering_study(tmp_path_factory)


@pytest.fixture(scope="session")
def outputs(study: dict[str, Any]):
    return load_study_outputs(study["folder"])


@pytest.fixture(scope="session")
def study_map(outputs):
    return make_map(outputs.localities, outputs.destinations, outputs.corridors, outputs.upgrades,
                    outputs.areas, outputs.hubs, outputs.hinterlands, outputs.territories,
                    outputs.isochrones, title="Central Porto Alegre", segments=outputs.segments)


@pytest.fixture(scope="session")
def map_files(study: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("maps")
    return {"cdn": map_study(study["folder"], d / "map.html"),
            "offline": map_study(study["folder"], d / "map_offline.html", self_contained=True)}


def _layers(m) -> dict[str, dict[str, Any]]:
    out = {}
    for child in m._children.values():
        if isinstance(child, CompactLayer):
            out[child.layer_name] = json.loads(child.data_json)
    return out


def _known_row(loc: pd.DataFrame) -> pd.Series:
    return loc[loc["locality_id"] == KNOWN_CELL].iloc[0]


# ---------------------------------------------------------------------------------------------
# map content


def test_map_has_all_layers_controls_and_legend(study_map, outputs):
    html = render_map(study_map, self_contained=False)
    layers = _layers(study_map)
    assert set(layers) == {"Travel-time surface", "Territories", "Hub hinterlands", "Corridors",
                           "Corridor stretches", "Top 10 upgrade stretches", "Localities", "Destinations: employment centre",
                           "Destinations: market", "Hubs"}
    assert len(layers["Localities"]["rows"]) == len(outputs.localities)
    assert len(layers["Destinations: market"]["rows"]) == 15
    assert len(layers["Destinations: employment centre"]["rows"]) == (outputs.localities["jobs"] >= 2000).sum()
    assert "L.control.layers(" in html and "L.control.fullscreen(" in html
    assert "L.control.scale(" in html and "preferCanvas\": true" in html
    assert '"tgis-legend"' in html and ".fitBounds(" in html
    # legend counts are the class counts of the table
    legend = json.loads(re.search(r'div\.id = "tgis-legend";\s*div\.innerHTML = (".*?");', html).group(1))
    keys = [format_class(a, b) for a, b in zip(outputs.localities["area_class"],
                                               outputs.localities["mra_type"], strict=True)]
    assert f"MRA: isolated ({keys.count('MRA (isolated)'):,})" in legend
    assert f"FRA: favorable rural area ({keys.count('FRA'):,})" in legend
    assert "market (15)" in legend


def test_popup_data_of_known_locality(study_map, outputs):
    cells = pd.read_csv(data_path("porto_alegre", "poa_hexgrid.csv"))
    assert int(cells.loc[cells["id"] == KNOWN_CELL, "population"].iloc[0]) == 4730
    loc = _layers(study_map)["Localities"]
    labels = [f["label"] for f in loc["fields"]]
    assert labels == ["Name", "ID", "Population", "Travel time to employment centre", "Travel time to market",
                      "Class", "Class reasons"]
    row = next(r for r in loc["rows"] if r[4] == KNOWN_CELL)
    known = _known_row(outputs.localities)
    assert row[3] == known["name"] and row[5] == 4730
    assert row[6] == round(known["travel_time_employment_centre_min"], 1)
    assert loc["fields"][5]["lookup"][row[8]] == format_class(known["area_class"], known["mra_type"])
    assert row[0] == [round(known.geometry.y, 6), round(known.geometry.x, 6)]
    # FRA is drawn in its legend colour
    assert loc["styles"][row[1]]["fill"] == CLASS_STYLES["FRA"][1]


def test_unreachable_localities_show_reason(study_map, outputs):
    loc = _layers(study_map)["Localities"]
    far = outputs.localities[outputs.localities["travel_time_market_min"].isna()]
    assert len(far) > 0
    rows = {r[4]: r for r in loc["rows"]}
    r = rows[far["locality_id"].iloc[0]]
    assert r[6] < 0
    assert loc["fields"][3]["lookup"][-r[6] - 1] == "unreachable (too_far_from_road)"


def test_html_is_compact(study_map, outputs):
    html = render_map(study_map, self_contained=False)
    data = "".join(m.group(0) for m in re.finditer(r"tgisLayer\(\{.*?\}\);", html, re.S))
    assert not re.search(r"\d\.\d{7,}", data), "coordinates must be rounded to 6 decimals"
    assert len(html) < 700_000  # 1,227 localities, 395 routed corridors, 948 stretches (measured 513 kB)
    # delta-encoded integer coordinates: corridors take well under half of plain [lat, lon] lists
    corridors = _layers(study_map)["Corridors"]
    plain = json.dumps([encode_geometry(g) for g in outputs.corridors.geometry], separators=(",", ":"))
    assert len(json.dumps(corridors["rows"], separators=(",", ":"))) < 0.5 * len(plain)


def _decode(flat: list[int], scale: float) -> np.ndarray:
    return np.cumsum(np.asarray(flat, dtype=np.int64).reshape(-1, 2), axis=0) / scale


def test_encode_delta_round_trips(outputs):
    line = outputs.corridors.geometry.iloc[0]
    parts = encode_delta(line)
    got = _decode(parts[0], 1e6)
    want = shapely.get_coordinates(line)[:, ::-1]
    assert np.abs(got - want).max() <= 0.5e-6 + 1e-12
    poly = shapely.Polygon([(0, 0), (1, 0), (1, 1), (0, 0)], [[(0.2, 0.1), (0.3, 0.1), (0.3, 0.15), (0.2, 0.1)]])
    enc = encode_delta(shapely.MultiPolygon([poly]), precision=5)
    assert len(enc) == 1 and len(enc[0]) == 2  # one polygon, exterior + hole
    assert _decode(enc[0][1], 1e5)[2].tolist() == [0.15, 0.3]
    assert encode_delta(shapely.Point(0, 0)) is None


def test_max_corridors_keeps_the_most_served(outputs):
    m = make_map(outputs.localities, corridors=outputs.corridors, max_corridors=50)
    rows = _layers(m)["Corridors"]["rows"]
    served = sorted(outputs.corridors["population_served"], reverse=True)
    assert len(rows) == 50
    fields = [f["label"] for f in _layers(m)["Corridors"]["fields"]]
    got = sorted((r[3 + fields.index("Population served")] for r in rows), reverse=True)
    assert got == [round(v) for v in served[:50]]
    assert f"top 50 of {len(outputs.corridors):,} by population served" in render_map(m)


def test_names_cannot_break_out_of_script(outputs):
    loc = outputs.localities.head(3).copy()
    loc["name"] = ["</script><script>alert(1)</script>", "a\u2028b", "ok"]
    html = render_map(make_map(loc), self_contained=False)
    assert "<script>alert(1)" not in html
    assert "\\u003c/script>\\u003cscript>alert(1)" in html


def test_encode_geometry_shapes():
    poly = shapely.Polygon([(0, 0), (1, 0), (1, 1), (0, 0)], [[(0.2, 0.1), (0.3, 0.1), (0.3, 0.15)]])
    enc = encode_geometry(poly)
    assert enc[0][1] == [0.0, 1.0] and len(enc) == 2  # [lat, lon], exterior + hole
    ml = shapely.MultiLineString([[(0, 0), (1, 1)], [(2, 2), (3, 3.123456789)]])
    assert encode_geometry(ml)[1][1] == [3.123457, 3.0]
    assert encode_geometry(shapely.Point()) is None


def test_localities_in_metric_crs_are_reprojected(outputs):
    utm = outputs.localities.head(20).to_crs(32722)
    layer = _layers(make_map(utm))["Localities"]
    first = outputs.localities.geometry.iloc[0]
    assert layer["rows"][0][0] == pytest.approx([first.y, first.x], abs=1e-6)
    no_crs = outputs.localities.head(5).to_crs(32722).set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="no CRS"):
        make_map(no_crs)


def test_hex_surface_is_population_weighted(outputs):
    loc = outputs.localities
    hexes = make_hex_surface(loc, "market", resolution=8)
    reach = loc[loc["travel_time_market_min"].notna()]
    assert hexes["population"].sum() == pytest.approx(reach["population"].sum())
    assert hexes["n_localities"].sum() == len(reach)
    t = reach["travel_time_market_min"]
    assert t.min() - 0.1 <= hexes["travel_time_min"].min() <= hexes["travel_time_min"].max() <= t.max() + 0.1
    assert hexes.geometry.is_valid.all() and len(hexes) < len(reach) / 3
    # a cell with one locality keeps that locality's time
    one = hexes[hexes["n_localities"] == 1].iloc[0]
    import h3
    member = reach[[h3.latlng_to_cell(p.y, p.x, 8) == one["h3_cell"] for p in reach.geometry]]
    assert one["travel_time_min"] == pytest.approx(member["travel_time_market_min"].iloc[0], abs=0.05)


def test_map_study_without_isochrones_draws_hexagons(study, tmp_path):
    folder = tmp_path / "study"
    shutil.copytree(study["folder"], folder)
    (folder / "isochrones.gpkg").unlink()
    for name in ("corridors.gpkg", "hubs.gpkg", "territories.gpkg", "destinations.gpkg"):
        (folder / name).unlink()
    html = map_study(folder, tmp_path / "m.html").read_text(encoding="utf-8")
    assert "Travel time to employment centre (hexagons)" in html
    assert "Corridors" not in html


# ---------------------------------------------------------------------------------------------
# writing, self-contained


def test_self_contained_map_has_no_external_assets(map_files):
    cdn = map_files["cdn"].read_text(encoding="utf-8")
    offline = map_files["offline"].read_text(encoding="utf-8")
    assert any("leaflet.js" in u for u in external_references(cdn))
    assert external_references(offline) == []
    assert "Vladimir Agafonkin" in offline or "Leaflet" in offline
    assert "data:image/png;base64," in offline  # layer control icon inlined from leaflet.css
    assert len(offline) - len(cdn) < 400_000


def test_inline_refuses_unknown_assets():
    html = '<html><head><script src="https://example.org/other.js"></script></head></html>'
    with pytest.raises(ConfigError, match="example.org/other.js"):
        inline_assets(html)


def test_write_map_is_atomic_and_respects_overwrite(study_map, tmp_path):
    out = write_map(study_map, tmp_path / "m.html", self_contained=True)
    assert out.stat().st_size > 100_000
    with pytest.raises(OutputExistsError):
        write_map(study_map, out)
    write_map(study_map, out, self_contained=False, overwrite=True)
    assert external_references(out.read_text(encoding="utf-8"))
    assert [p.name for p in tmp_path.iterdir()] == ["m.html"]


def test_map_study_errors(tmp_path, study):
    with pytest.raises(InputFileError, match="not found"):
        map_study(tmp_path / "missing", tmp_path / "m.html")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFileError, match="no localities.gpkg"):
        map_study(tmp_path / "empty", tmp_path / "m.html")
    assert not (tmp_path / "m.html").exists()


# ---------------------------------------------------------------------------------------------
# CLI


def test_cli_map(study, tmp_path):
    out = tmp_path / "map.html"
    res = CliRunner().invoke(main, ["map", str(study["folder"]), "-o", str(out), "--self-contained"])
    assert res.exit_code == 0, res.output
    assert external_references(out.read_text(encoding="utf-8")) == []
    res = CliRunner().invoke(main, ["map", str(study["folder"]), "-o", str(out)])
    assert res.exit_code == 1 and "output exists" in res.output


@pytest.mark.parametrize("make", ["missing", "no_localities"])
def test_cli_map_bad_input(tmp_path, make):
    folder = tmp_path / "study"
    if make == "no_localities":
        folder.mkdir()
        gpd.GeoDataFrame({"dest_id": ["a"]}, geometry=[shapely.Point(0, 0)], crs=4326).to_file(
            folder / "destinations.gpkg", layer="destinations")
    out = tmp_path / "map.html"
    res = CliRunner().invoke(main, ["map", str(folder), "-o", str(out)])
    assert res.exit_code == 1
    errors = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and str(folder) in errors[0]
    assert "Traceback" not in res.output
    assert not out.exists()


# ---------------------------------------------------------------------------------------------
# real browser


def _popup_text(b, layer: str, key: str) -> str:
    return b.js(f"""() => {{
        var l = tgisFind({json.dumps(layer)}, {json.dumps(key)});
        l.openPopup();
        return l.getPopup().getElement().querySelector('.leaflet-popup-content').innerText; }}""")


def _check_rendered_map(b, outputs, tmp_path: Path, name: str) -> None:
    assert b.js("typeof L") == "object" and b.js("typeof L.control.fullscreen") == "function"
    assert b.errors == []
    labels = b.js("""Array.from(document.querySelectorAll(
        '.leaflet-control-layers-overlays label')).map(e => e.innerText.trim())""")
    assert labels == ["Travel-time surface", "Territories", "Hub hinterlands", "Corridors",
                      "Corridor stretches", "Top 10 upgrade stretches", "Localities", "Destinations: employment centre",
                      "Destinations: market", "Hubs"]
    n = b.js("tgisLayers['Localities'].getLayers().length")
    assert n == len(outputs.localities)
    assert b.js("tgisMap.hasLayer(tgisLayers['Localities'])")
    assert not b.js("tgisMap.hasLayer(tgisLayers['Hub hinterlands'])")  # hidden at start
    assert b.js("tgisLayers['Corridors'].getLayers().length") == len(outputs.corridors)
    assert b.js("document.querySelectorAll('canvas.leaflet-zoom-animated').length") >= 1
    n_symbols = len(outputs.destinations) + len(outputs.hubs)
    assert b.js("document.querySelectorAll('.leaflet-marker-icon.tgis-symbol').length") == n_symbols
    assert b.js("document.querySelectorAll('.leaflet-control-scale').length") == 1
    assert b.js("document.querySelectorAll('.leaflet-control-zoom-fullscreen').length") == 1
    # the map shows the localities: their bounds are inside the initial view
    assert b.js("tgisMap.getBounds().pad(0.01).contains(tgisLayers['Localities'].getBounds())")
    legend = b.js("document.getElementById('tgis-legend').innerText")
    known = _known_row(outputs.localities)
    cls = format_class(known["area_class"], known["mra_type"])
    n_cls = sum(format_class(a, t) == cls for a, t in zip(outputs.localities["area_class"],
                                                          outputs.localities["mra_type"], strict=True))
    assert f"FRA: favorable rural area ({n_cls:,})" in legend and cls == "FRA"
    text = _popup_text(b, "Localities", KNOWN_CELL)
    assert known["name"] in text and KNOWN_CELL in text and "4,730" in text
    assert f"Class\t{cls}" in text
    assert f"Travel time to employment centre\t{known['travel_time_employment_centre_min']:.1f} min" in text
    far = outputs.localities[outputs.localities["travel_time_market_min"].isna()].iloc[0]
    text = _popup_text(b, "Localities", far["locality_id"])
    assert "unreachable (too_far_from_road)" in text and "MRA (isolated" in text
    text = _popup_text(b, "Destinations: market", "Santa Casa Hospital")
    assert "santa_casa_hospital" in text and "market" in text
    shot = b.screenshot(tmp_path / f"{name}.png")
    assert shot.stat().st_size > 10_000
    assert b.errors == []


@pytest.mark.browser
def test_self_contained_map_in_browser_with_network_off(map_files, outputs, tmp_path):
    b = open_browser(network="off")
    try:
        b.open(map_files["offline"])
        _check_rendered_map(b, outputs, tmp_path, "map_offline")
        hosts = {u.split("/")[2] for u in b.blocked}
        assert hosts <= {"tile.openstreetmap.org"}, f"self-contained map fetched {hosts}"
    finally:
        b.close()


@pytest.mark.browser
def test_cdn_map_in_browser(map_files, outputs, tmp_path):
    # no internet here: the CDN answers with the vendored copies, everything else fails
    b = open_browser(network="cdn-mock")
    try:
        b.open(map_files["cdn"])
        assert any(u.endswith("/leaflet.js") for u in b.served)
        _check_rendered_map(b, outputs, tmp_path, "map_cdn")
    finally:
        b.close()


@pytest.mark.browser
def test_self_contained_map_breaks_nothing_when_assets_fail(tmp_path, outputs):
    """Control: the same check on the CDN map with the network off must see Leaflet missing."""
    out = write_map(make_map(outputs.localities.head(50)), tmp_path / "cdn.html", self_contained=False)
    b = open_browser(network="off")
    try:
        b.open(out)
        assert b.js("typeof L") == "undefined"
        assert any("leaflet" in u for u in b.blocked)
        assert b.errors  # "L is not defined"
    finally:
        b.close()


def test_make_map_requires_localities():
    with pytest.raises(InputFileError):
        make_map(gpd.GeoDataFrame({"population": []}, geometry=[], crs=4326))


def test_radii_grow_with_population(study_map):
    loc = _layers(study_map)["Localities"]
    pops = np.array([r[5] for r in loc["rows"]], float)
    radii = np.array([r[2] for r in loc["rows"]], float)
    order = np.argsort(pops)
    assert np.all(np.diff(radii[order]) >= -1e-9)
    assert radii.max() > radii.min()


def test_area_polygons_coloured_by_class(outputs):
    areas = make_hex_surface(outputs.localities, "market", resolution=8)
    slow = areas["travel_time_min"] > 10
    areas["area_class"] = np.where(slow, "MRA", "FRA")
    areas["mra_type"] = np.where(slow, "isolated", "")
    layer = _layers(make_map(outputs.localities, areas=areas))["Areas"]
    assert layer["kind"] == "polygon" and len(layer["rows"]) == len(areas)
    fills = [layer["styles"][r[1]]["fill"] for r in layer["rows"]]
    assert fills.count(CLASS_STYLES["MRA-isolated"][1]) == int(slow.sum())
    assert fills.count(CLASS_STYLES["FRA"][1]) == int((~slow).sum())
