"""Tests of territorial_gis.maps (and its helpers _maplayers, _mapelements, _basemap, _style,
_i18n, _html) and ``tgis map``; browser tests are marked ``browser``.

Two studies are used:

* the RENDERING FIXTURE of tests/_browser.py (real Porto Alegre cells, population and points of
  interest, real routed travel times, urban-scale thresholds, stand-in hubs and territories);
* the rural example ``examples/guaviare/study.toml`` run with ``tgis run`` (real OSM roads,
  GeoNames towns, IGAC rivers, DANE boundaries; a hexagon grid WITHOUT population) for the
  acceptance tests in a real browser with the network off.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from _browser import GUAVIARE_CONFIG, open_browser, rendering_study, run_example
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from territorial_gis.cli import main
from territorial_gis.data import data_path

from territorial_gis import _style
from territorial_gis._html import external_references, inline_assets
from territorial_gis._i18n import texts, translate_reasons
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
from territorial_gis.outputs import StudyOutputs, load_study_outputs

#: the most populated H3 cell of the embedded Porto Alegre grid (census population 4,730)
KNOWN_CELL = "89a901288cbffff"
#: a Guaviare hexagon beyond 2 h of San José del Guaviare (an isolated MRA)
GUAVIARE_CELL = "hex_1"
#: where to copy the screenshots for a human to look at (set TGIS_SCREENS_DIR)
SCREENS = Path(os.environ.get("TGIS_SCREENS_DIR", "")) if os.environ.get("TGIS_SCREENS_DIR") else None


@pytest.fixture(scope="session")
def study(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return rendering_study(tmp_path_factory)


@pytest.fixture(scope="session")
def outputs(study: dict[str, Any]) -> StudyOutputs:
    return load_study_outputs(study["folder"])


@pytest.fixture(scope="session")
def study_map(outputs):
    return make_map(outputs, title="Central Porto Alegre")


@pytest.fixture(scope="session")
def guaviare(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_example(tmp_path_factory, GUAVIARE_CONFIG)


@pytest.fixture(scope="session")
def guaviare_outputs(guaviare: Path) -> StudyOutputs:
    return load_study_outputs(guaviare)


@pytest.fixture(scope="session")
def map_files(study: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("maps")
    return {"cdn": map_study(study["folder"], d / "map_cdn.html", cdn=True),
            "offline": map_study(study["folder"], d / "map.html")}


def _layers(m) -> dict[str, dict[str, Any]]:
    return {c.layer_name: json.loads(c.data_json) for c in m._children.values() if isinstance(c, CompactLayer)}


def _field(layer: dict[str, Any], label: str) -> int:
    return [f["label"] for f in layer["fields"]].index(label)


def _value(layer: dict[str, Any], row: list[Any], i: int) -> Any:
    f, v = layer["fields"][i], row[3 + i]
    return f["lookup"][v] if f.get("lookup") and f["fmt"] == "text" and v is not None else v


def _row(layer: dict[str, Any], key: str) -> list[Any]:
    return next(r for r in layer["rows"] if key in (_value(layer, r, 0), _value(layer, r, 1)))


def _legend(html: str) -> str:
    return json.loads(re.search(r'div\.id = "tgis-legend";\s*div\.innerHTML = (".*?");', html).group(1))


# ---------------------------------------------------------------------------------------------
# layers, names, legend


def test_map_has_every_layer_in_drawing_order(study_map, outputs):
    layers = _layers(study_map)
    assert list(layers) == ["Roads", "Travel time to market", "Territories", "Hub hinterlands", "Corridors",
                            "Corridor stretches", "Top 10 road upgrades", "Localities",
                            "Destinations: employment centre", "Destinations: market", "Hubs", "Place names"]
    assert len(layers["Localities"]["rows"]) == len(outputs.localities)
    assert len(layers["Destinations: market"]["rows"]) == 15
    html = render_map(study_map)
    assert "L.control.layers(" in html and "L.control.fullscreen(" in html
    assert "L.control.scale(" in html and "preferCanvas\": true" in html
    # one legend section per layer, under the name of the layer control
    legend = _legend(html)
    sections = re.findall(r'data-layer="([^"]+)"', legend)
    assert sorted(sections) == sorted([*layers, "Background tiles (online)"])
    keys = [format_class(a, b) for a, b in zip(outputs.localities["area_class"], outputs.localities["mra_type"],
                                               strict=True)]
    assert f"MRA: isolated ({keys.count('MRA (isolated)'):,})" in legend
    assert f"FRA: favorable rural area ({keys.count('FRA'):,})" in legend
    assert "market (15)" in legend and "Marker size shows population." in legend


def test_roads_base_layer_comes_from_the_network(outputs):
    """No network file in the fixture: no roads; with roads given, one row per road class."""
    roads = gpd.read_file(data_path("guaviare", "vias_guaviare_osm.geojson")).rename(columns={"type": "highway"})
    so = StudyOutputs(localities=outputs.localities.head(30), roads=roads)
    layer = _layers(make_map(so))["Roads"]
    classes = {_style.road_class(h) for h in roads["highway"]}
    assert len(layer["rows"]) == len(classes) and layer["pane"] == "tgis-base" and not layer["interactive"]
    widths = {layer["styles"][r[1]]["color"]: r[2] for r in layer["rows"]}
    assert widths[_style.ROAD_CLASSES["main roads"][1]] > widths[_style.ROAD_CLASSES["local roads"][1]]


def test_popup_data_of_known_locality(study_map, outputs):
    cells = pd.read_csv(data_path("porto_alegre", "poa_hexgrid.csv"))
    assert int(cells.loc[cells["id"] == KNOWN_CELL, "population"].iloc[0]) == 4730
    loc = _layers(study_map)["Localities"]
    labels = [f["label"] for f in loc["fields"]]
    assert labels == ["Name", "ID", "Population", "Travel time to employment centre", "Travel time to market",
                      "Class", "Why this class"]
    row = _row(loc, KNOWN_CELL)
    known = outputs.localities.set_index("locality_id").loc[KNOWN_CELL]
    assert loc["fields"][0]["lookup"][row[3]] == known["name"] and row[5] == 4730
    assert row[6] == round(known["travel_time_employment_centre_min"], 1)
    assert loc["fields"][5]["lookup"][row[8]] == format_class(known["area_class"], known["mra_type"])
    assert row[0] == [round(known.geometry.y, 6), round(known.geometry.x, 6)]
    assert loc["styles"][row[1]]["fill"] == CLASS_STYLES["FRA"][1]


def test_popup_minutes_equal_the_reasons_minutes(study_map, outputs):
    """Every locality's popup prints each time as its class reasons do (one rounding rule)."""
    loc = _layers(study_map)["Localities"]
    i_time, i_why = _field(loc, "Travel time to market"), _field(loc, "Why this class")
    want = int(outputs.localities["class_reasons"].str.contains("travel time to market ").sum())
    checked = 0
    for r in loc["rows"]:
        v, why = r[3 + i_time], r[3 + i_why]
        if v is None or v < 0 or why is None:
            continue
        text = loc["fields"][i_why]["lookup"][why]
        m = re.search(r"travel time to market (\d+\.\d+) min", text)
        if m:
            decimals = max(1, len(repr(float(v)).split(".")[1]))
            assert f"{v:.{decimals}f}" == m.group(1)
            checked += 1
    assert checked == want > 500


def test_unreachable_localities_show_reason(study_map, outputs):
    loc = _layers(study_map)["Localities"]
    far = outputs.localities[outputs.localities["travel_time_market_min"].isna()]
    assert len(far) > 0
    r = _row(loc, far["locality_id"].iloc[0])
    i = _field(loc, "Travel time to market")
    assert r[3 + i] < 0
    assert loc["fields"][i]["lookup"][-r[3 + i] - 1] == "unreachable (too far from a road)"


def test_mra_drawn_above_fra(study_map):
    loc = _layers(study_map)["Localities"]
    order = [loc["styles"][r[1]]["fill"] for r in loc["rows"]]
    last_fra = max(i for i, c in enumerate(order) if c == CLASS_STYLES["FRA"][1])
    first_mra = min(i for i, c in enumerate(order) if c in {CLASS_STYLES[k][1] for k in CLASS_STYLES
                                                           if k.startswith("MRA")})
    assert last_fra < first_mra


def test_territories_named_and_neighbours_coloured_apart(outputs):
    ter = outputs.territories.copy()
    ter["centre_name"] = ["Centro Histórico", "Petrópolis"]
    m = make_map(StudyOutputs(localities=outputs.localities, territories=ter))
    layer = _layers(m)["Territories"]
    names = [layer["fields"][0]["lookup"][r[3]] for r in layer["rows"]]
    assert names == ["Centro Histórico", "Petrópolis"]
    assert "Centro Histórico" in _legend(render_map(m))
    touching = ter.geometry.iloc[0].intersects(ter.geometry.iloc[1])
    assert not touching or layer["rows"][0][1] != layer["rows"][1][1]


def test_greedy_colours_keep_touching_polygons_apart():
    """SYNTHETIC: a 5 x 5 grid of unit squares; each touches up to 8 others."""
    squares = [shapely.box(i, j, i + 1, j + 1) for i in range(5) for j in range(5)]
    colors = _style.greedy_colors(squares, len(_style.TERRITORY_COLORS))
    for a, b in itertools.combinations(range(25), 2):
        if squares[a].intersects(squares[b]):
            assert colors[a] != colors[b]


def test_corridors_show_names_not_ids(study_map, outputs):
    layer = _layers(study_map)["Corridors"]
    to = layer["fields"][_field(layer, "To")]["lookup"]
    assert "pucrs" in to or "Pucrs" in to
    ids = set(outputs.corridors["target_id"].astype(str))
    names = set(outputs.destinations["name"])
    assert set(to) <= names | ids and set(to) & names


def test_max_corridors_keeps_the_most_served(outputs):
    m = make_map(StudyOutputs(localities=outputs.localities, corridors=outputs.corridors), max_corridors=50)
    layer = _layers(m)["Corridors"]
    served = sorted(outputs.corridors["population_served"], reverse=True)
    assert len(layer["rows"]) == 50
    i = _field(layer, "Population served")
    assert sorted((r[3 + i] for r in layer["rows"]), reverse=True) == [round(v) for v in served[:50]]
    assert f"The 50 of {len(outputs.corridors):,} corridors serving most people." in _legend(render_map(m))


def test_unknown_population_is_unknown_never_zero(outputs):
    loc = outputs.localities.copy()
    loc["population"] = np.nan
    so = StudyOutputs(localities=loc, corridors=outputs.corridors, upgrades=outputs.upgrades,
                      segments=outputs.segments)
    m = make_map(so)
    layers = _layers(m)
    lay = layers["Localities"]
    i = _field(lay, "Population")
    assert all(r[3 + i] is None for r in lay["rows"])
    assert len({r[2] for r in lay["rows"]}) == 1  # one marker size
    legend = _legend(render_map(m))
    assert "Population unknown: all markers have the same size." in legend
    assert "Marker size shows population" not in legend
    assert "Population unknown: ranked by the number of localities whose travel time falls." in legend
    cor = layers["Corridors"]
    assert all(r[3 + _field(cor, "Population served")] is None for r in cor["rows"])
    # upgrades ranked by localities whose time falls, then by the largest saving (independent sort)
    up = layers["Top 10 road upgrades"]
    want = sorted(outputs.upgrades.itertuples(), key=lambda r: (-r.n_localities_affected, -r.max_saved_min))
    got = [r[3 + _field(up, "Localities with shorter trips")] for r in up["rows"]]
    assert got == [w.n_localities_affected for w in want[:len(got)]]


def test_unknown_surface_is_unknown_not_zero(outputs):
    seg = outputs.segments.copy()
    seg["surface"] = "unknown"
    seg["unpaved_share"] = 0.0
    layer = _layers(make_map(StudyOutputs(localities=outputs.localities, segments=seg)))["Corridor stretches"]
    assert all(r[3 + _field(layer, "Unpaved or track")] is None for r in layer["rows"])
    assert set(layer["fields"][_field(layer, "Surface")]["lookup"]) == {"unknown"}


def test_surface_uses_full_ramp_and_names_its_tier(study_map, outputs):
    layer = _layers(study_map)["Travel time to market"]
    used = {s["fill"] for s in layer["styles"]}
    assert _style.RAMP[-1] in used and _style.RAMP[1] in used  # palest and darkest both used
    legend = _legend(render_map(study_map))
    assert 'data-layer="Travel time to market"' in legend and "isochrone bands" in legend


def test_hexagon_surface_uses_the_study_bands(outputs):
    so = StudyOutputs(localities=outputs.localities, study=outputs.study)
    layer = _layers(make_map(so))["Travel time to employment centre"]
    # the study's bands 5, 10, 20 min and the 12 min (0.2 h) threshold of the tier: 5 bands
    assert len(layer["styles"]) == 5
    legend = _legend(render_map(make_map(so)))
    for label in ("&lt; 5 min", "5–10 min", "10–12 min", "12–20 min", "≥ 20 min"):
        assert label in legend


def test_class_and_hub_colours_stay_apart_for_colour_blind_readers():
    """CIE76 distance >= 15 between every two class colours and the hub colour, with normal
    vision and simulated protanopia, deuteranopia and tritanopia (Machado, Oliveira & Fernandes
    2009, severity 1)."""
    sims = {"normal": np.eye(3),
            "protan": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                                [-0.003882, -0.048116, 1.051998]]),
            "deutan": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                                [-0.011820, 0.042940, 0.968881]]),
            "tritan": np.array([[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                                [0.004733, 0.691367, 0.303900]])}

    def lab(hex_color: str, m: np.ndarray) -> np.ndarray:
        c = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)]) / 255.0
        lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) \
            @ np.clip(m @ lin, 0, 1) / np.array([0.95047, 1.0, 1.08883])
        f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
        return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])

    colors = [c for _l, c in CLASS_STYLES.values()] + [_style.HUB_COLOR]
    assert len(set(colors)) == len(colors)
    for name, m in sims.items():
        for a, b in itertools.combinations(colors, 2):
            assert np.linalg.norm(lab(a, m) - lab(b, m)) >= 15, (name, a, b)


def test_languages_translate_layers_popups_and_reasons(outputs):
    es = _layers(make_map(outputs, lang="es"))
    assert "Localidades" in es and "Tiempo de viaje a mercado" in es
    loc = es["Localidades"]
    assert [f["label"] for f in loc["fields"]][2:4] == ["Población", "Tiempo de viaje a centro de empleo"]
    reasons = loc["fields"][_field(loc, "Por qué esta clase")]["lookup"]
    assert any(re.search(r"tiempo de viaje a mercado \d+,\d min", r) for r in reasons)
    assert not any("travel time" in r for r in reasons)
    pt = _layers(make_map(outputs, lang="pt"))
    assert "Tempo de viagem até mercado" in pt
    with pytest.raises(ConfigError, match="language 'fr' is not available"):
        make_map(outputs, lang="fr")


def test_every_reason_phrase_translates(outputs):
    """Each template of the class reasons parses back and translates (no English left)."""
    from territorial_gis._i18n import REASONS, parse_reason, reason

    samples = {"time_over": dict(tier="town", value="130.4", threshold="120"),
               "time_ok": dict(tier="town", value="30.0", threshold="60"),
               "unreachable_why": dict(tier="town", why="disconnected"),
               "unreachable_share": dict(tier="town", share="60%"), "unreachable": dict(tier="town"),
               "indicator": dict(indicator="slope", value="12.3", unit="°", op=">", threshold="9.1"),
               "indicator_unknown": dict(indicator="altitude"),
               "density_dense_veto": dict(value="200", threshold="150"),
               "density_dense": dict(value="200", threshold="150"),
               "density_low": dict(value="12", threshold="150"),
               "of_area": dict(area="San José del Guaviare", n="41")}
    for key in REASONS:
        text = reason(key, **samples.get(key, {}))
        assert parse_reason(text)[0] == key, text
        es = translate_reasons(text, texts("es"))
        assert es != text or key == "indicator", (key, es)
    assert translate_reasons("travel time to town 130.4 min > 120 min", texts("pt")) == \
        "tempo de viagem até povoado 130,4 min > 120 min"


def test_catalogues_cover_every_message():
    """Every message the maps and reports can show is in each language file, with the same
    placeholders (extracted from the source, independently of a run)."""
    import ast

    from territorial_gis import (
        _analysismap,
        _analysisreport,
        _appraisalsummary,
        _i18n,
        _reportsections,
        _whatifmap,
        _whatifreport,
        outputs,
    )

    root = Path(_i18n.__file__).parent
    ids: set[str] = set()
    for name in ("_maplayers.py", "_reportsections.py", "maps.py", "report.py", "_overview.py", "_style.py",
                 "_basemap.py", "_whatifmap.py", "_whatifreport.py", "_charts.py", "_analysismap.py", "_analysisreport.py",
                 "_appraisalsummary.py"):
        for node in ast.walk(ast.parse((root / name).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                f = node.func
                if (isinstance(f, ast.Name) and f.id == "tx") or (isinstance(f, ast.Attribute) and f.attr == "tx"):
                    ids.add(node.args[0].value)
    template = (root / "templates" / "report.html.j2").read_text(encoding="utf-8")
    ids |= set(re.findall(r'_\(\s*"([^"]*)"', template)) | set(re.findall(r"_\(\s*'([^']*)'", template))
    ids |= {v[0] for v in CLASS_STYLES.values()} | set(_style.ROAD_CLASSES) | set(_style.MRA_KINDS.values())
    ids |= set(_i18n.REASONS.values()) | set(_i18n.UNREACHABLE_TEXT.values())
    ids |= {v[0] for v in _reportsections._INDICATORS.values()} | set(_reportsections._INPUT_NAMES.values())
    ids |= set(_reportsections._FILE_TEXT.values()) | {"Hub", "Territory", "unknown", _reportsections._SCENARIO_FILE_TEXT,
                                                        _reportsections._SURFACE_FILE_TEXT}
    ids |= set(_whatifreport._FACTOR_KIND.values())
    # every file a study may write is described in the report's list of files (the report itself aside)
    assert [f for f in outputs.STUDY_FILES if f not in _reportsections._FILE_TEXT] == [outputs.REPORT]
    ids |= set(_style.STATUS_TEXT.values()) | set(_style.ROAD_CHANGE_TEXT.values()) | set(_whatifmap.RAI_REASONS.values())
    ids |= set(_analysismap.DETOUR_REASONS.values()) | set(_appraisalsummary.BENEFIT_UNITS)
    ids |= set(_analysismap.SELECTED_BY_TEXT.values()) | set(_analysismap.LINK_TEXT.values()) \
        | set(_analysismap.LINKED_TO_TEXT.values())
    ids |= set(_analysisreport.UNIT_TEXT.values())
    assert len(ids) > 200
    for lang in ("es", "pt"):
        cat = _i18n._catalogue(lang)
        missing = sorted(i for i in ids if (None, i) not in cat)
        assert not missing, (lang, missing[:10])
        for (_ctx, msgid), msgstr in cat.items():
            assert set(re.findall(r"\{(\w+)\}", msgid)) == set(re.findall(r"\{(\w+)\}", msgstr)), msgid
    # English is the msgid itself: es and pt translate the same messages, none left behind in one
    es, pt = set(_i18n._catalogue("es")), set(_i18n._catalogue("pt"))
    assert es == pt, (sorted(es - pt)[:5], sorted(pt - es)[:5])


def test_numbers_follow_the_locale_with_babel():
    from babel.numbers import format_decimal

    assert texts("en").integer(4730) == "4,730" and texts("es").integer(4730) == "4.730"
    assert texts("pt").number(1234.56, 1) == format_decimal(1234.6, format="#,##0.0", locale="pt")
    assert texts("es").minutes(10.04, [10]) == "10,04 min" and texts("en").minutes(10.04) == "10.0 min"
    assert texts("es").unknown == "desconocido" and texts("en").integer(float("nan")) == "unknown"


# ---------------------------------------------------------------------------------------------
# encoding and writing


def test_html_is_compact(study_map, outputs):
    html = render_map(study_map, cdn=True)
    data = "".join(m.group(0) for m in re.finditer(r"tgisLayer\(.*?\);", html, re.S))
    assert not re.search(r"\d\.\d{7,}", data), "coordinates must be rounded to 6 decimals"
    assert len(html) < 1_000_000  # 1,227 localities, ~395 corridors, ~950 stretches, roads (measured 860 kB)
    corridors = _layers(study_map)["Corridors"]
    plain = json.dumps([encode_geometry(g) for g in outputs.corridors.geometry], separators=(",", ":"))
    assert len(json.dumps(corridors["rows"], separators=(",", ":"))) < 0.5 * len(plain)


def _decode(flat: list[int], scale: float) -> np.ndarray:
    return np.cumsum(np.asarray(flat, dtype=np.int64).reshape(-1, 2), axis=0) / scale


def test_encode_delta_round_trips(outputs):
    line = outputs.corridors.geometry.iloc[0]
    got = _decode(encode_delta(line)[0], 1e6)
    want = shapely.get_coordinates(line)[:, ::-1]
    assert np.abs(got - want).max() <= 0.5e-6 + 1e-12
    poly = shapely.Polygon([(0, 0), (1, 0), (1, 1), (0, 0)], [[(0.2, 0.1), (0.3, 0.1), (0.3, 0.15), (0.2, 0.1)]])
    enc = encode_delta(shapely.MultiPolygon([poly]), precision=5)
    assert len(enc) == 1 and len(enc[0]) == 2
    assert _decode(enc[0][1], 1e5)[2].tolist() == [0.15, 0.3]
    assert encode_delta(shapely.Point(0, 0)) is None


def test_vectorised_encoding_equals_one_by_one(outputs):
    """encode_many (all geometries at once) == encode_delta of each; chains decode to the same
    vertices."""
    from territorial_gis._mapelements import encode_chain, encode_many

    for geoms in (list(outputs.corridors.geometry[:40]) + [None],
                  list(outputs.territories.geometry) + [shapely.box(0, 0, 1, 1)],
                  [shapely.MultiLineString([[(0, 0), (1, 1)], [(3, 3), (4, 4)]]), shapely.LineString([(5, 5), (6, 6)])]):
        assert encode_many(geoms) == [encode_delta(g) if g is not None else None for g in geoms]
    ml = shapely.MultiLineString([[(0, 0), (1, 1)], [(3, 3), (4, 4), (4, 5)]])
    flat = [v for part in encode_chain(ml, 5) for v in part]
    assert (_decode(flat, 1e5)[:, ::-1] == shapely.get_coordinates(ml)).all()


def test_encode_geometry_shapes():
    poly = shapely.Polygon([(0, 0), (1, 0), (1, 1), (0, 0)], [[(0.2, 0.1), (0.3, 0.1), (0.3, 0.15)]])
    enc = encode_geometry(poly)
    assert enc[0][1] == [0.0, 1.0] and len(enc) == 2
    ml = shapely.MultiLineString([[(0, 0), (1, 1)], [(2, 2), (3, 3.123456789)]])
    assert encode_geometry(ml)[1][1] == [3.123457, 3.0]
    assert encode_geometry(shapely.Point()) is None


def test_names_cannot_break_out_of_script(outputs):
    loc = outputs.localities.head(3).copy()
    loc["name"] = ["</script><script>alert(1)</script>", "a\u2028b", "ok"]
    html = render_map(make_map(loc), cdn=True)
    assert "<script>alert(1)" not in html
    assert "\\u003c/script>\\u003cscript>alert(1)" in html


def test_localities_in_metric_crs_are_reprojected(outputs):
    utm = outputs.localities.head(20).to_crs(32722)
    layer = _layers(make_map(utm))["Localities"]
    first = outputs.localities.head(20).to_crs(32722).to_crs(4326).geometry
    assert [r[0] for r in layer["rows"]][0] in [[round(p.y, 6), round(p.x, 6)] for p in first]
    no_crs = outputs.localities.head(5).to_crs(32722).set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="no CRS"):
        make_map(no_crs)


def test_hex_surface_weights_population_and_keeps_unknown_unknown(outputs):
    loc = outputs.localities
    hexes = make_hex_surface(loc, "market", resolution=8)
    reach = loc[loc["travel_time_market_min"].notna()]
    assert hexes["population"].sum() == pytest.approx(reach["population"].sum())
    assert hexes["n_localities"].sum() == len(reach)
    import h3

    one = hexes[hexes["n_localities"] == 1].iloc[0]
    member = reach[[h3.latlng_to_cell(p.y, p.x, 8) == one["h3_cell"] for p in reach.geometry]]
    assert one["travel_time_min"] == pytest.approx(member["travel_time_market_min"].iloc[0], abs=0.05)
    unknown = make_hex_surface(loc.assign(population=np.nan), "market", resolution=8)
    assert unknown["population"].isna().all()
    cell = unknown.set_index("h3_cell").loc[hexes.loc[hexes["n_localities"] > 3, "h3_cell"].iloc[0]]
    members = reach[[h3.latlng_to_cell(p.y, p.x, 8) == cell.name for p in reach.geometry]]
    assert cell["travel_time_min"] == pytest.approx(members["travel_time_market_min"].mean(), abs=0.05)


def test_map_study_without_isochrones_draws_hexagons(study, tmp_path):
    folder = tmp_path / "study"
    shutil.copytree(study["folder"], folder)
    for name in ("isochrones.gpkg", "corridors.gpkg", "hubs.gpkg", "territories.gpkg", "destinations.gpkg"):
        (folder / name).unlink()
    html = map_study(folder, tmp_path / "m.html").read_text(encoding="utf-8")
    assert "Travel time to employment centre" in html and "hexagons, mean of the localities" in html
    assert '"name":"Corridors"' not in html


def test_maps_are_self_contained_by_default(map_files):
    cdn = map_files["cdn"].read_text(encoding="utf-8")
    offline = map_files["offline"].read_text(encoding="utf-8")
    assert any("leaflet.js" in u for u in external_references(cdn))
    assert external_references(offline) == []
    assert "data:image/png;base64," in offline
    assert len(offline) - len(cdn) < 400_000
    assert '<html lang="en">' in offline


def test_inline_refuses_unknown_assets():
    html = '<html><head><script src="https://example.org/other.js"></script></head></html>'
    with pytest.raises(ConfigError, match="example.org/other.js"):
        inline_assets(html)


def test_write_map_is_atomic_and_respects_overwrite(study_map, tmp_path):
    out = write_map(study_map, tmp_path / "m.html")
    assert out.stat().st_size > 100_000 and external_references(out.read_text(encoding="utf-8")) == []
    with pytest.raises(OutputExistsError):
        write_map(study_map, out)
    write_map(study_map, out, cdn=True, overwrite=True)
    assert external_references(out.read_text(encoding="utf-8"))
    assert [p.name for p in tmp_path.iterdir()] == ["m.html"]


def test_map_study_errors(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        map_study(tmp_path / "missing", tmp_path / "m.html")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFileError, match="no localities.gpkg"):
        map_study(tmp_path / "empty", tmp_path / "m.html")
    assert not (tmp_path / "m.html").exists()


def test_make_map_requires_localities():
    with pytest.raises(InputFileError):
        make_map(gpd.GeoDataFrame({"population": []}, geometry=[], crs=4326))


def test_radii_grow_with_population(study_map):
    loc = _layers(study_map)["Localities"]
    pops = np.array([r[5] for r in loc["rows"]], float)
    radii = np.array([r[2] for r in loc["rows"]], float)
    order = np.argsort(pops)
    assert np.all(np.diff(radii[order]) >= -1e-9) and radii.max() > radii.min()


def test_area_polygons_coloured_by_class(outputs):
    areas = make_hex_surface(outputs.localities, "market", resolution=8)
    slow = areas["travel_time_min"] > 10
    areas["area_class"] = np.where(slow, "MRA", "FRA")
    areas["mra_type"] = np.where(slow, "isolated", "")
    layer = _layers(make_map(StudyOutputs(localities=outputs.localities, areas=areas)))["Areas"]
    assert layer["kind"] == "polygon" and len(layer["rows"]) == len(areas)
    fills = [layer["styles"][r[1]]["fill"] for r in layer["rows"]]
    assert fills.count(CLASS_STYLES["MRA-isolated"][1]) == int(slow.sum())
    assert fills.count(CLASS_STYLES["FRA"][1]) == int((~slow).sum())


# ---------------------------------------------------------------------------------------------
# CLI


def test_cli_map(study, tmp_path):
    out = tmp_path / "map.html"
    res = CliRunner().invoke(main, ["map", str(study["folder"]), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert external_references(out.read_text(encoding="utf-8")) == []
    res = CliRunner().invoke(main, ["map", str(study["folder"]), "-o", str(out)])
    assert res.exit_code == 1 and "output exists" in res.output
    res = CliRunner().invoke(main, ["map", str(study["folder"]), "-o", str(out), "--cdn", "--lang", "pt",
                                    "--overwrite"])
    html = out.read_text(encoding="utf-8")
    assert res.exit_code == 0 and external_references(html) and "Localidades" in html
    res = CliRunner().invoke(main, ["map", str(study["folder"]), "-o", str(out), "--lang", "fr"])
    assert res.exit_code == 2


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
    assert "Traceback" not in res.output and not out.exists()


# ---------------------------------------------------------------------------------------------
# the rural example from a config file: what `tgis run` writes


def test_guaviare_map_is_self_contained_with_its_base_map(guaviare, guaviare_outputs):
    html = (guaviare / "map.html").read_text(encoding="utf-8")
    assert external_references(html) == []
    assert guaviare_outputs.water is not None and guaviare_outputs.boundaries is not None
    for name in ("Roads", "Rivers and lakes", "Streams", "Boundaries", "Place names"):
        assert f'"name":"{name}"' in html
    assert "San José del Guaviare" in html


# ---------------------------------------------------------------------------------------------
# real browser, network off


def _popup_rows(b, layer: str, key: str) -> dict[str, str]:
    text = b.js(f"""() => {{
        var l = tgisFind({json.dumps(layer)}, {json.dumps(key)});
        l.openPopup();
        var el = l.getPopup().getElement();
        var rows = {{}};
        el.querySelectorAll('tr').forEach(function (tr) {{
            rows[tr.querySelector('th').innerText] = tr.querySelector('td').innerText; }});
        rows['_title'] = (el.querySelector('.tgis-popup-title') || {{innerText: ''}}).innerText;
        return rows; }}""")
    return text


def _visible_layers_have_legend(b) -> list[str]:
    checked = b.js("""Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))
        .filter(l => l.querySelector('input').checked).map(l => l.innerText.trim())""")
    shown = b.js("""Array.from(document.querySelectorAll('#tgis-legend [data-layer]'))
        .filter(e => e.offsetParent !== null).map(e => e.getAttribute('data-layer'))""")
    assert checked and sorted(checked) == sorted(shown), (checked, shown)
    return checked


@pytest.mark.browser
@pytest.mark.parametrize("lang, words", [
    ("en", {"time": "Travel time to intermediate city", "why": "Why this class", "known": "Place names",
            "decimal": ".", "area": "class of its area {area}, {n} localities"}),
    ("es", {"time": "Tiempo de viaje a ciudad intermedia", "why": "Por qué esta clase",
            "known": "Nombres de lugares", "decimal": ",",
            "area": "clase de su área {area}, {n} localidades"}),
    ("pt", {"time": "Tempo de viagem até cidade intermediária", "why": "Por que esta classe",
            "known": "Nomes de lugares", "decimal": ",",
            "area": "classe da sua área {area}, {n} localidades"}),
])
def test_guaviare_map_in_browser_offline(guaviare, guaviare_outputs, tmp_path, lang, words):
    """Acceptance: the map `tgis run` wrote from a config file loads offline with no console
    error, draws its base layer, has a legend entry per visible layer, and the popup of a known
    locality prints the same minutes as its reasons (in English, Spanish and Portuguese)."""
    path = guaviare / "map.html"
    if lang != "en":
        path = map_study(guaviare, tmp_path / f"map_{lang}.html", lang=lang)
    b = open_browser(network="off")
    try:
        b.open(path)
        b.page.wait_for_timeout(300)
        assert b.js("typeof L") == "object" and b.errors == []
        hosts = {u.split("/")[2] for u in b.blocked}
        assert hosts <= {"tile.openstreetmap.org"}, hosts
        # base layer: roads (and rivers) drawn on their own canvas under the thematic layers
        roads = words["known"] and b.js("Object.keys(tgisLayers).find(n => tgisLayers[n]._tgisData.pane "
                                        "=== 'tgis-base' && tgisLayers[n]._tgisData.kind === 'line')")
        assert b.js(f"tgisMap.hasLayer(tgisLayers[{json.dumps(roads)}])")
        assert b.js(f"tgisLayers[{json.dumps(roads)}].getLayers().length") >= 3
        assert b.js("document.querySelector('.leaflet-tgis-base-pane canvas').width") > 100
        assert b.js("document.querySelectorAll('.tgis-label').length") >= 5
        assert b.js("!!document.getElementById('tgis-tile-notice')")  # tiles cannot load: said so
        checked = _visible_layers_have_legend(b)
        assert words["known"] in checked
        # popup minutes == reasons minutes, against the stored travel time
        known = guaviare_outputs.localities.set_index("locality_id").loc[GUAVIARE_CELL]
        minutes = f"{known['travel_time_intermediate_city_min']:.1f}".replace(".", words["decimal"])
        rows = _popup_rows(b, texts(lang)("Localities"), GUAVIARE_CELL)
        assert rows[words["time"]] == f"{minutes} min"
        # the cells take the class of their municipality: the reasons name it and quote its time
        areas = guaviare_outputs.areas
        holder = areas[areas.contains(known.geometry)].iloc[0]
        assert holder["n_localities"] > 1
        area_minutes = f"{holder['travel_time_intermediate_city_min']:.1f}".replace(".", words["decimal"])
        assert rows[words["why"]].startswith(words["area"].format(area=holder["municipality"],
                                                                  n=int(holder["n_localities"])))
        assert f"{area_minutes} min > 120 min" in rows[words["why"]]
        assert rows[texts(lang)("Population")] == texts(lang).unknown
        assert b.errors == []
        shot = b.screenshot(tmp_path / f"guaviare_{lang}.png")
        assert shot.stat().st_size > 20_000
        if SCREENS is not None and SCREENS.is_dir():
            shutil.copy(shot, SCREENS / f"guaviare_map_{lang}.png")
    finally:
        b.close()


@pytest.mark.browser
def test_fixture_map_in_browser_offline(map_files, outputs, tmp_path):
    b = open_browser(network="off")
    try:
        b.open(map_files["offline"])
        assert b.js("typeof L.control.fullscreen") == "function" and b.errors == []
        assert b.js("tgisLayers['Localities'].getLayers().length") == len(outputs.localities)
        assert not b.js("tgisMap.hasLayer(tgisLayers['Hub hinterlands'])")  # hidden at start
        n_symbols = len(outputs.destinations) + len(outputs.hubs)
        assert b.js("document.querySelectorAll('.leaflet-marker-icon.tgis-symbol').length") == n_symbols
        assert b.js("tgisMap.getBounds().pad(0.01).contains(tgisLayers['Localities'].getBounds())")
        _visible_layers_have_legend(b)
        # switching a layer on shows its legend section
        b.js("document.querySelectorAll('.leaflet-control-layers-overlays input')"
             "[Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
             ".findIndex(l => l.innerText.trim() === 'Hub hinterlands')].click()")
        _visible_layers_have_legend(b)
        known = outputs.localities.set_index("locality_id").loc[KNOWN_CELL]
        rows = _popup_rows(b, "Localities", KNOWN_CELL)
        assert rows["_title"] == known["name"] and rows["Population"] == "4,730"
        assert rows["Travel time to employment centre"] == f"{known['travel_time_employment_centre_min']:.1f} min"
        rows = _popup_rows(b, "Destinations: market", "pucrs")
        assert rows["Tier"] == "market"
        assert b.errors == []
    finally:
        b.close()


@pytest.mark.browser
def test_browser_numbers_match_babel(outputs, tmp_path):
    """The browser formats numbers with the Babel symbols exactly as the report does."""
    values = [0, 7, 999, 1000, 4730, 12345.6, 1234567.25, 0.05, 10.04]
    b = open_browser(network="off")
    try:
        for lang in ("en", "es", "pt"):
            b.open(write_map(make_map(outputs.localities.head(20), lang=lang, tiles=None), tmp_path / f"{lang}.html"))
            tx = texts(lang)
            for v in values:
                d = 0 if float(v).is_integer() else 2
                assert b.js(f"tgisNum({round(v, d)}, {d})") == tx.number(v, d), (lang, v)
                share = round(v / 100_000, 2)
                assert b.js(f"tgisFmt({{fmt: 'pct'}}, {share})") == tx.percent(share, 0), (lang, v)
            assert b.js("tgisFmt({fmt: 'int'}, null)") == tx.unknown
    finally:
        b.close()


@pytest.mark.browser
def test_cdn_map_in_browser(map_files, outputs):
    b = open_browser(network="cdn-mock")  # no internet: the CDN answers with the vendored copies
    try:
        b.open(map_files["cdn"])
        assert any(u.endswith("/leaflet.js") for u in b.served)
        assert b.js("tgisLayers['Localities'].getLayers().length") == len(outputs.localities)
        assert b.errors == []
    finally:
        b.close()


@pytest.mark.browser
def test_cdn_map_breaks_with_network_off(tmp_path, outputs):
    """Control: the CDN map with the network off has no Leaflet (the checks above can fail)."""
    out = write_map(make_map(outputs.localities.head(50)), tmp_path / "cdn.html", cdn=True)
    b = open_browser(network="off")
    try:
        b.open(out)
        assert b.js("typeof L") == "undefined"
        assert any("leaflet" in u for u in b.blocked) and b.errors
    finally:
        b.close()


@pytest.mark.browser
def test_dense_localities_are_grouped_by_class(outputs, tmp_path):
    """SYNTHETIC positions: the real classified cells repeated 4 times with small offsets
    (4,908 localities); above the cluster limit the map shows class-coloured groups."""
    loc = outputs.localities
    rng = np.random.default_rng(3)
    parts = []
    for k in range(4):
        part = loc.copy()
        part["locality_id"] = part["locality_id"] + f"_{k}"
        part = part.set_geometry(gpd.points_from_xy(part.geometry.x + rng.uniform(-0.003, 0.003, len(part)),
                                                    part.geometry.y + rng.uniform(-0.003, 0.003, len(part))),
                                 crs=4326)
        parts.append(part)
    big = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=4326)
    out = write_map(make_map(big, cluster_above=2000), tmp_path / "big.html")
    b = open_browser(network="off")
    try:
        b.open(out)
        b.page.wait_for_timeout(300)
        assert b.errors == []
        assert b.js("tgisLayers['Localities']._tgisAll.length") == len(big)
        assert b.js("tgisLayers['Localities']._tgisClustered") is True
        n = b.js("document.querySelectorAll('.tgis-cluster').length")
        counts = b.js("""Array.from(document.querySelectorAll('.tgis-cluster span'))
                         .map(s => Number(s.innerText.replace(/,/g, '')))""")
        singles = b.js("tgisLayers['Localities'].getLayers().filter(l => !l._tgisCluster).length")
        assert n > 10 and sum(counts) + singles == len(big)
        assert "conic-gradient" in b.js("document.querySelector('.tgis-cluster div').style.background")
        b.js("() => { tgisMap.setZoom(tgisMap.getZoom() + 4, {animate: false}); return 1; }")
        b.page.wait_for_timeout(300)
        assert b.js("tgisLayers['Localities']._tgisClustered") is False
    finally:
        b.close()


def test_study_config_language_checked_before_any_stage(tmp_path):
    from territorial_gis.pipeline import default_study_config, load_study_config

    cfg = default_study_config()
    cfg["outputs"]["lang"] = "fr"
    with pytest.raises(ConfigError, match=r"\[outputs\] lang = 'fr': expected one of 'en', 'es', 'pt'"):
        load_study_config(cfg)
    cfg["outputs"]["lang"] = "es"
    assert load_study_config(cfg).outputs.lang == "es"
    cfg["outputs"]["water"] = [str(tmp_path / "missing.geojson")]
    with pytest.raises(ConfigError, match=r"\[outputs\] water .* file not found"):
        load_study_config(cfg)


# ---------------------------------------------------------------------------------------------
# scenarios and the Rural Access Index


def _synthetic_scenario(outputs: StudyOutputs) -> tuple[gpd.GeoDataFrame, int, int]:
    """A SYNTHETIC scenario over the fixture's localities: every reachable locality 5 min slower
    to every tier, except one cut off (no time in the scenario); a second one of unknown
    population. Returns the layer, the cut-off row and the unknown-population row."""
    from territorial_gis._studymeta import study_tiers
    from territorial_gis.columns import change_col, status_col, time_col

    loc = outputs.localities
    g = gpd.GeoDataFrame({"locality_id": loc["locality_id"], "name": loc["name"],
                          "population": loc["population"].astype(float)}, geometry=loc.geometry, crs=loc.crs)
    tiers = study_tiers(outputs)
    reach = np.flatnonzero(np.all([loc[time_col(t)].notna().to_numpy() for t in tiers], axis=0))
    cut, unknown = int(reach[0]), int(reach[1])
    g.loc[unknown, "population"] = np.nan
    for t in tiers:
        base = loc[time_col(t)].astype(float)
        scen = base + 5.0
        scen.iloc[cut] = np.nan
        g[f"{time_col(t)}_base"], g[f"{time_col(t)}_scenario"] = base, scen
        g[change_col(t)] = scen - base
        g[status_col(t)] = np.where(base.isna(), "unreachable", "slower").astype(object)
        g.loc[cut, status_col(t)] = "cut_off"
    return g, cut, unknown


def test_scenario_layers_show_changes_cut_off_and_unknown(outputs):
    g, cut, unknown = _synthetic_scenario(outputs)
    roads = gpd.GeoDataFrame({"segment": [1, 2], "name": ["Estrada A", None], "highway": ["track", "primary"],
                              "change": ["closed", "slowed"], "reason": ["synthetic closure", "rain"],
                              "speed_before_kph": [20.0, 80.0], "speed_after_kph": [np.nan, 40.0]},
                             geometry=[shapely.LineString([(-51.2, -30.05), (-51.19, -30.05)]),
                                       shapely.LineString([(-51.2, -30.06), (-51.19, -30.06)])], crs=4326)
    so = StudyOutputs(localities=outputs.localities, study=outputs.study, scenario_localities={"synthetic": g},
                      scenario_roads={"synthetic": roads})
    m = make_map(so)
    layers = _layers(m)
    tx = texts()
    change = next(v for k, v in layers.items() if k.startswith("synthetic: change in travel time to"))
    by_id = {_value(change, r, 1): r for r in change["rows"]}
    assert _value(change, by_id[g.loc[cut, "locality_id"]], 0) == g.loc[cut, "name"]  # names, not ids
    row = by_id[g.loc[cut, "locality_id"]]
    assert row[1] == 9  # the cut-off style, not a change class
    times = [_value(change, row, i) for i, f in enumerate(change["fields"]) if f["label"].startswith("Travel time")]
    assert times and all(t.endswith("\u2192 cut off") for t in times)
    slow = by_id[g.loc[unknown, "locality_id"]]
    assert slow[3 + _field(change, "Population")] is None  # unknown population: no number, not 0
    assert all("(+5" in _value(change, slow, i) for i, f in enumerate(change["fields"])
               if f["label"].startswith("Travel time"))
    places = layers["synthetic: places cut off or changing class"]
    assert [_value(places, r, 1) for r in places["rows"]] == [g.loc[cut, "locality_id"]]
    road_layer = layers["synthetic: roads changed"]
    names = {_value(road_layer, r, 0): _value(road_layer, r, 2) for r in road_layer["rows"]}
    assert names == {"Estrada A": tx("closed"), tx("unnamed road"): tx("slowed")}
    html = render_map(m)
    assert '"synthetic: roads changed":"synthetic"' in html  # its own section of the layer control
    # no scenario: no scenario layer
    assert not any(": change in travel time to" in k for k in _layers(make_map(outputs)))


def test_rai_buffer_layer_and_unknown_index(outputs):
    loc = outputs.localities.copy()
    loc["within_all_season_road"] = [True, False] + [np.nan] * (len(loc) - 2)
    loc["dist_all_season_road_m"] = [350.0, np.nan] + [np.nan] * (len(loc) - 2)
    loc["rural"] = True
    buffer = gpd.GeoDataFrame({"distance_m": [2000.0]}, geometry=[shapely.box(-51.25, -30.1, -51.15, -30.0)],
                              crs=4326)
    rai = pd.DataFrame({"scenario": ["base"], "area": ["study"], "rural_population": [np.nan],
                        "rural_population_within": [np.nan], "rural_places": [10], "rural_places_within": [4],
                        "places_with_population": [0], "rai": [np.nan], "share_of_rural_places_within": [0.4],
                        "rai_reason": ["population unknown"]})
    so = StudyOutputs(localities=loc, study=outputs.study, rai=rai, rai_buffer=buffer)
    m = make_map(so)
    layers = _layers(m)
    assert "Within 2\u00a0km of an all-season road" in layers
    lay = layers["Localities"]
    i = _field(lay, "All-season road")
    got = [_value(lay, r, i) for r in lay["rows"]]
    by_id = dict(zip([_value(lay, r, 1) for r in lay["rows"]], got, strict=True))
    assert by_id[loc["locality_id"].iloc[0]].endswith("\u00a0km away (within 2\u00a0km)")
    assert by_id[loc["locality_id"].iloc[1]] == "farther than 2\u00a0km"
    assert by_id[loc["locality_id"].iloc[2]] == "unknown"
    legend = _legend(render_map(m))
    assert "Rural Access Index unknown (population unknown): 4 of 10 rural localities (40.0%)" in legend
    assert "Within 2\u00a0km of an all-season road" not in _layers(make_map(outputs))


# ---------------------------------------------------------------------------------------------
# criticality, appraisal, microregions, typologies


def test_criticality_layers_from_the_guaviare_study(guaviare, guaviare_outputs, outputs):
    crit = gpd.read_file(guaviare / "criticality.gpkg", layer="criticality")
    cut = gpd.read_file(guaviare / "criticality.gpkg", layer="cut_off")
    layers = _layers(make_map(guaviare_outputs))
    lay = layers["Critical road stretches"]
    # drawn: the stretches whose failure cuts off or delays someone; style 0 = cuts some locality off
    harmful = crit[(crit["n_cut_off"] > 0) | (crit["impact_min"].fillna(0) > 0)]
    assert len(lay["rows"]) == len(harmful)
    assert sum(r[1] == 0 for r in lay["rows"]) == int((crit["n_cut_off"] > 0).sum())
    ranks = sorted(r[3 + _field(lay, "Rank")] for r in lay["rows"])
    assert ranks == sorted(harmful["rank"].astype(float))
    # the hexagons have no population: population cut off is unknown, never 0
    assert all(r[3 + _field(lay, "Population cut off")] is None for r in lay["rows"])
    assert "unknown" not in [_value(lay, r, _field(lay, "Road")) for r in lay["rows"]]
    pts = layers["Localities cut off by a road failure"]
    assert len(pts["rows"]) == cut["locality_id"].nunique()
    most = cut.groupby("locality_id").size()
    got = {_value(pts, r, 1): r[3 + _field(pts, "Road stretches whose failure cuts it off")] for r in pts["rows"]}
    assert got == {k: float(v) for k, v in most.items()}
    assert "Critical road stretches" not in _layers(make_map(outputs))


def test_portfolio_layer_from_the_guaviare_study(guaviare, guaviare_outputs, outputs):
    port = gpd.read_file(guaviare / "appraisal.gpkg", layer="portfolio").sort_values("pick_order")
    lay = _layers(make_map(guaviare_outputs))["Chosen road projects"]
    assert len(lay["rows"]) == len(port) > 0
    titles = [_value(lay, r, 0) for r in lay["rows"]]
    assert [t.split(":")[0] for t in titles] == [f"Project {int(k)}" for k in port["pick_order"]]
    costs = [_value(lay, r, _field(lay, "Cost")) for r in lay["rows"]]
    assert costs == [f"{c / 1e6:.1f} M USD" for c in port["cost"]]
    # the hexagons have no population: population with shorter trips unknown, not 0
    assert all(r[3 + _field(lay, "Population with shorter trips")] is None for r in lay["rows"])
    assert "Chosen road projects" not in _layers(make_map(outputs))


@pytest.fixture(scope="session")
def microregions_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_example(tmp_path_factory, GUAVIARE_CONFIG.parent / "microregions.toml")


def test_microregion_and_cec_layers(microregions_study, outputs):
    regions = gpd.read_file(microregions_study / "microregions.gpkg", layer="microregions")
    cecs = gpd.read_file(microregions_study / "microregions.gpkg", layer="cecs")
    links = pd.read_csv(microregions_study / "links.csv", dtype={"zone_id": str})
    layers = _layers(make_map(load_study_outputs(microregions_study)))
    lay = layers["Microregions"]
    assert sorted(_value(lay, r, 0) for r in lay["rows"]) == sorted(f"Microregion {i}" for i in regions["microregion_id"])
    words = {"linked": "linked to a favorable area", "enclosed_marginal": "enclosed marginal"}
    for r in lay["rows"]:
        rid = _value(lay, r, 0).removeprefix("Microregion ")
        status = links[(links["zone_type"] == "microregion") & (links["zone_id"] == rid)]["link_status"].iloc[0]
        assert _value(lay, r, _field(lay, "Link")).startswith(words[status])
    pts = layers["CECs (strategic community centres)"]
    assert sorted(_value(pts, r, 0) for r in pts["rows"]) == sorted(cecs["name"])  # names, not ids
    assert "Microregions" not in _layers(make_map(outputs))


@pytest.fixture(scope="session")
def typology_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The period, indicator and typology stages of examples/guerrero_montana (real INEGI
    localities and CONAPO tables; SYNTHETIC travel times, the roads need internet), run as
    tests/test_study_indicators.py runs them."""
    import test_study_indicators as tsi

    from territorial_gis.config import load_study_config
    from territorial_gis.pipeline import load_study_places

    cfg = load_study_config(tsi.GUERRERO)
    folder = tmp_path_factory.mktemp("typologies")
    tsi._run(cfg, folder, tsi._synthetic_access(load_study_places(cfg, None).localities))
    return folder


def test_one_layer_per_typology(typology_study, outputs):
    so = load_study_outputs(typology_study)
    layers = _layers(make_map(so))
    applied = json.loads((typology_study / "study.json").read_text(encoding="utf-8"))["typologies"]["applied"]
    assert applied
    for rec in applied:
        lay = layers[f"Typology: {rec['title']}"]
        g = gpd.read_file(typology_study / "typologies.gpkg", layer=rec["layer"])
        assert len(lay["rows"]) == len(g)
        got = pd.Series([_value(lay, r, _field(lay, "Class")) for r in lay["rows"]]).value_counts().to_dict()
        assert got == g[rec["column"]].astype(str).value_counts().to_dict()
    # a unit of unknown population reads unknown (SYNTHETIC: one population removed)
    rec = applied[-1]
    g = so.typology_layers[rec["layer"]].copy()
    g.loc[0, "population"] = np.nan
    so2 = StudyOutputs(localities=so.localities, study=so.study, typology_layers={rec["layer"]: g})
    lay = _layers(make_map(so2))[f"Typology: {rec['title']}"]
    name = g.loc[0, "name"]
    row = next(r for r in lay["rows"] if _value(lay, r, 1) == str(g.loc[0, "place_id"]))
    assert _value(lay, row, 0) == name and row[3 + _field(lay, "Population")] is None
    assert not any(k.startswith("Typology:") for k in _layers(make_map(outputs)))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.floats(-1e9, 1e9, allow_nan=False), st.integers(-10**7, 10**7).map(lambda i: i / 20)),
       st.integers(0, 3), st.sampled_from(["en", "es", "pt"]))
def test_number_text_equals_babel(value: float, decimals: int, lang: str) -> None:
    """The fast number formatting writes what babel's format_decimal writes for "#,##0.0..."."""
    from babel.numbers import format_decimal

    from territorial_gis._i18n import texts

    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    assert texts(lang).number(value, decimals) == format_decimal(round(value, decimals), format=pattern, locale=lang)
