"""Tests of territorial_gis.report and ``tgis report`` (browser test marked ``browser``).

The study is the RENDERING FIXTURE of tests/_browser.py (real Porto Alegre cells and points of
interest, crude straight-line travel times): it exercises the report, it is not an analysis.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest
from _browser import open_browser, rendering_study
from click.testing import CliRunner
from territorial_gis.cli import main

from territorial_gis.errors import InputFileError, OutputExistsError
from territorial_gis.outputs import StudyOutputs, load_study_outputs
from territorial_gis.report import (
    DEFAULT_BANDS_MIN,
    band_labels,
    make_report,
    population_by_band,
    population_by_class,
    render_report,
    svg_bar_chart,
)


@pytest.fixture(scope="session")
def study(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return rendering_study(tmp_path_factory)


@pytest.fixture(scope="session")
def outputs(study: dict[str, Any]) -> StudyOutputs:
    return load_study_outputs(study["folder"])


@pytest.fixture(scope="session")
def report_file(study: dict[str, Any], tmp_path_factory: pytest.TempPathFactory):
    return make_report(study["folder"], tmp_path_factory.mktemp("report") / "report.html")


def test_population_by_band(outputs):
    loc = outputs.localities
    b = population_by_band(loc, "market", (5, 10, 20))
    assert list(b["band"]) == ["< 5 min", "5\u201310 min", "10\u201320 min", "\u2265 20 min", "unreachable"]
    assert b["population"].sum() == pytest.approx(loc["population"].sum())
    assert b["localities"].sum() == len(loc)
    t = loc["travel_time_market_min"]
    assert b["localities"].iloc[-1] == t.isna().sum()
    assert b["population"].iloc[1] == pytest.approx(loc["population"][(t >= 5) & (t < 10)].sum())
    assert b["population_share"].sum() == pytest.approx(1.0)


def test_population_by_class(outputs):
    loc = outputs.localities
    c = population_by_class(loc).set_index("class")
    assert c.loc["FRA", "localities"] == (loc["area_class"] == "FRA").sum()
    iso = (loc["area_class"] == "MRA") & (loc["mra_type"] == "isolated")
    assert c.loc["MRA-isolated", "population"] == pytest.approx(loc["population"][iso].sum())
    assert "unclassified" not in c.index


def test_report_content(report_file, outputs):
    html = report_file.read_text(encoding="utf-8")
    for sec in ("summary", "classes", "travel-times", "sensitivity", "corridors", "upgrades", "inputs"):
        assert f'<section id="{sec}">' in html
    # self-contained: no external script, style, image or font
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html
    loc = outputs.localities
    assert f"<b>{len(loc):,}</b>" in html and f"<b>{int(loc['population'].sum()):,}</b>" in html
    # sensitivity table: one row per threshold of sensitivity.csv
    sens = re.search(r'<table class="sensitivity">(.*?)</table>', html, re.S).group(1)
    assert sens.count("<tr>") == len(outputs.sensitivity) + 1
    # top corridor first (largest population served)
    cor = re.search(r'<table class="corridors">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    top = outputs.corridors.sort_values("population_served", ascending=False).iloc[0]
    first = cor.split("</tr>")[0]
    assert top["origin_id"] in first and f"{int(top['population_served']):,}" in first
    upg = re.search(r'<table class="upgrades">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    assert upg.split("</tr>")[0].count(">1<") >= 1  # rank 1 first
    # inputs and attribution from study.json
    assert "IPEA Access to Opportunities (aopdata)" in html
    assert "data/porto_alegre/poa_hexgrid.csv" in html
    assert "Map data \u00a9 OpenStreetMap contributors (ODbL)" in html
    # two charts as inline SVG, bars for every class and every non-empty band
    assert html.count("<svg") == 2
    n_classes = len(population_by_class(loc))
    assert html.count('class="bar"') >= n_classes + 2


def test_report_from_objects_without_optional_layers(outputs, tmp_path):
    loc = outputs.localities.drop(columns=["area_class", "mra_type"])
    out = make_report(StudyOutputs(localities=loc), tmp_path / "r.html", title="Objects <only>")
    html = out.read_text(encoding="utf-8")
    assert "<title>Objects &lt;only&gt;</title>" in html
    assert "No sensitivity.csv in this study." in html and "No corridors in this study." in html
    assert "not classified" in html
    with pytest.raises(OutputExistsError):
        make_report(StudyOutputs(localities=loc), out)


def test_report_without_travel_times(outputs):
    loc = outputs.localities[["locality_id", "population", "area_class", "mra_type", "geometry"]]
    html = render_report(StudyOutputs(localities=loc))
    assert "carry no <code>travel_time_&lt;tier&gt;_min</code> columns" in html
    assert html.count("<svg") == 1


def test_svg_bar_chart_scales_bars():
    svg = svg_bar_chart(["a", "b"], [100.0, 25.0], ["#000", "#111"], "t")
    widths = [float(w) for w in re.findall(r'class="bar" x="\d+" y="\d+" width="([\d.]+)"', svg)]
    assert len(widths) == 2 and widths[0] == pytest.approx(4 * widths[1])


def test_band_labels():
    assert band_labels([15, 30]) == ["< 15 min", "15\u201330 min", "\u2265 30 min"]


def test_report_errors(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        make_report(tmp_path / "nope", tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_cli_report(study, tmp_path):
    out = tmp_path / "report.html"
    res = CliRunner().invoke(main, ["report", str(study["folder"]), "-o", str(out), "--top", "3"])
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    cor = re.search(r'<table class="corridors">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    assert cor.count("<tr>") == 3
    res = CliRunner().invoke(main, ["report", str(tmp_path / "missing"), "-o", str(tmp_path / "x.html")])
    assert res.exit_code == 1
    assert [ln for ln in res.output.splitlines() if ln.startswith("Error:")] == [
        f"Error: study outputs folder not found: {tmp_path / 'missing'}"]
    assert not (tmp_path / "x.html").exists()


@pytest.mark.browser
def test_report_in_browser_offline(report_file, outputs, tmp_path):
    b = open_browser(network="off")
    try:
        b.open(report_file)
        assert b.errors == [] and b.blocked == []
        assert b.js("performance.getEntriesByType('resource').length") == 0
        assert b.js("document.querySelectorAll('section').length") == 7
        assert b.js("document.querySelectorAll('#chart-classes svg rect.bar').length") == \
            len(population_by_class(outputs.localities))
        # the widest class bar is the most populated class
        widths = b.js("""Array.from(document.querySelectorAll('#chart-classes rect.bar'))
                         .map(r => r.getBoundingClientRect().width)""")
        pops = population_by_class(outputs.localities)["population"].to_numpy()
        assert int(np.argmax(widths)) == int(np.argmax(pops))
        text = b.js("document.getElementById('classes').innerText")
        fra = outputs.localities["area_class"].eq("FRA").sum()
        assert f"FRA: favorable rural area\t{fra:,}" in text
        shot = tmp_path / "report.png"
        b.page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
    finally:
        b.close()


def test_population_share_nan_when_no_population(outputs):
    loc = outputs.localities.head(10).copy()
    loc["population"] = 0
    b = population_by_band(loc, "employment_centre")
    assert all(math.isnan(x) for x in b["population_share"])
    # every locality still falls in exactly one band (or unreachable), with no population
    assert b["band"].tolist() == band_labels(DEFAULT_BANDS_MIN) + ["unreachable"]
    assert b["localities"].sum() == 10 and (b["population"] == 0).all()
    t = loc["travel_time_employment_centre_min"]
    assert b["localities"].iloc[-1] == int(t.isna().sum())


def test_cli_report_bands(study, tmp_path):
    out = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", str(study["folder"]), "-o", str(out), "--bands", "3,6,9"])
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    assert "3\u20136 min" in html and "\u2265 9 min" in html
    res = CliRunner().invoke(main, ["report", str(study["folder"]), "-o", str(tmp_path / "b.html"),
                                    "--bands", "30,15"])
    assert res.exit_code == 1 and "positive and increasing" in res.output
    assert not (tmp_path / "b.html").exists()


def test_inputs_and_attribution_shapes(outputs):
    so = StudyOutputs(localities=outputs.localities.head(20), study={
        "name": "shapes",
        "inputs": [{"name": "roads", "file": "vias.geojson", "url": "https://example.org/roads",
                    "sha256": "ab" * 32}],
        "attribution": {"roads": "IGAC (CC-BY)"}})
    html = render_report(so)
    assert "vias.geojson" in html and "https://example.org/roads" in html
    assert "sha256: abababababab\u2026" in html
    assert "roads: IGAC (CC-BY)" in html
