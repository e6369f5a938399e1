"""Tests of territorial_gis.report (and _reportsections, _overview) and ``tgis report``; the
browser test is marked ``browser``.

Studies: the RENDERING FIXTURE of tests/_browser.py (real Porto Alegre cells and population,
routed travel times, urban-scale thresholds, its own bands 5/10/20 min in study.json); the
rural example ``examples/guaviare/study.toml`` (no population) and the embedded demonstration
region, both run with ``tgis run``.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _browser import GUAVIARE_CONFIG, open_browser, print_to_pdf, rendering_study, run_example
from click.testing import CliRunner
from territorial_gis.cli import main

from territorial_gis.classify import summarize_classes
from territorial_gis.errors import InputFileError, OutputExistsError
from territorial_gis.outputs import StudyOutputs, load_study_outputs
from territorial_gis.report import (
    band_labels,
    make_report,
    population_by_band,
    population_by_class,
    render_report,
    svg_bar_chart,
)

#: where to copy the screenshots for a human to look at (set TGIS_SCREENS_DIR)
SCREENS = Path(os.environ.get("TGIS_SCREENS_DIR", "")) if os.environ.get("TGIS_SCREENS_DIR") else None


@pytest.fixture(scope="session")
def study(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return rendering_study(tmp_path_factory)


@pytest.fixture(scope="session")
def outputs(study: dict[str, Any]) -> StudyOutputs:
    return load_study_outputs(study["folder"])


@pytest.fixture(scope="session")
def report_file(study: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_report(study["folder"], tmp_path_factory.mktemp("report") / "report.html")


@pytest.fixture(scope="session")
def guaviare(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_example(tmp_path_factory, GUAVIARE_CONFIG)


@pytest.fixture(scope="session")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_example(tmp_path_factory, None)


class _Text(HTMLParser):
    """The visible text of a page (no tags, no style/script), whitespace collapsed."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def text_of(html: str) -> str:
    p = _Text()
    p.feed(html)
    return re.sub(r"\s+", " ", " ".join(p.parts))


def _table(html: str, css: str) -> list[list[str]]:
    body = re.search(rf'<table class="{css}">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [[text_of(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in body.split("</tr>") if "<td" in row]


# ---------------------------------------------------------------------------------------------
# tables


def test_population_by_band(outputs):
    loc = outputs.localities
    b = population_by_band(loc, "market", (5, 10, 20))
    assert list(b["band"]) == ["< 5 min", "5\u201310 min", "10\u201320 min", "\u2265 20 min", "no travel time"]
    assert b["population"].sum() == pytest.approx(loc["population"].sum())
    assert b["localities"].sum() == len(loc)
    t = loc["travel_time_market_min"]
    assert b["localities"].iloc[-1] == t.isna().sum()
    assert b["population"].iloc[1] == pytest.approx(loc["population"][(t >= 5) & (t < 10)].sum())
    assert b["population_share"].sum() == pytest.approx(1.0)


def test_population_by_band_unknown_population_is_nan_not_zero(outputs):
    loc = outputs.localities.head(40).assign(population=np.nan)
    b = population_by_band(loc, "employment_centre")
    assert b["population"].isna().all() and b["population_share"].isna().all()
    assert b["localities"].sum() == 40


def test_population_by_class(outputs):
    loc = outputs.localities
    c = population_by_class(loc).set_index("class")
    assert c.loc["FRA", "localities"] == (loc["area_class"] == "FRA").sum()
    iso = (loc["area_class"] == "MRA") & (loc["mra_type"] == "isolated")
    assert c.loc["MRA-isolated", "population"] == pytest.approx(loc["population"][iso].sum())
    assert "unclassified" not in c.index
    unknown = population_by_class(loc.assign(population=np.nan))
    assert unknown["population"].isna().all() and unknown["localities"].sum() == len(loc)


def test_summary_csv_unknown_population_is_nan(outputs):
    s = summarize_classes(outputs.localities.assign(population=np.nan))
    total = s[s["area_class"] == "total"].iloc[0]
    assert math.isnan(total["population"]) and math.isnan(total["share_population"])
    assert total["n_areas"] == len(outputs.localities)
    known = summarize_classes(outputs.localities)
    assert known[known["area_class"] == "total"]["share_population"].iloc[0] == 1.0


def test_band_labels():
    assert band_labels([15, 30]) == ["< 15 min", "15\u201330 min", "\u2265 30 min"]
    assert band_labels([7.5, 60], lang="es") == ["< 7,5 min", "7,5\u201360 min", "\u2265 60 min"]


def test_svg_bar_chart_scales_bars():
    svg = svg_bar_chart(["a", "b"], [100.0, 25.0], ["#000", "#111"], "t")
    widths = [float(w) for w in re.findall(r'class="bar" x="\d+" y="\d+" width="([\d.]+)"', svg)]
    assert len(widths) == 2 and widths[0] == pytest.approx(4 * widths[1])


# ---------------------------------------------------------------------------------------------
# the report of the rendering fixture


def test_report_sections_and_self_contained(report_file):
    html = report_file.read_text(encoding="utf-8")
    for sec in ("summary", "overview", "classes", "travel-times", "corridors", "upgrades", "hubs",
                "territories", "sensitivity", "methods", "inputs", "downloads"):
        assert f'<section id="{sec}">' in html, sec
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html
    assert html.count("data:image/png;base64,") == 1  # the overview map, drawn offline


def test_report_key_figures(report_file, outputs):
    text = text_of(report_file.read_text(encoding="utf-8"))
    loc = outputs.localities
    mra = loc["area_class"] == "MRA"
    assert f"Localities {len(loc):,}" in text
    assert f"Population {int(loc['population'].sum()):,}" in text
    share = 100 * loc.loc[mra, "population"].sum() / loc["population"].sum()
    assert f"Population in marginal areas {int(loc.loc[mra, 'population'].sum()):,} ({share:.1f}%)" in text


def test_report_uses_the_study_bands_per_tier_and_class(report_file, outputs):
    html = report_file.read_text(encoding="utf-8")
    rows = _table(html, "bands bands-market")
    # bands 5, 10, 20 (study.json) and the 15 min (0.25 h) market threshold of the fixture's rules
    assert [r[0] for r in rows] == ["< 5 min", "5\u201310 min", "10\u201315 min", "15\u201320 min", "\u2265 20 min",
                                    "no travel time"]
    loc = outputs.localities
    t = loc["travel_time_market_min"]
    sel = (t >= 10) & (t < 15)
    fra = int(loc.loc[sel & (loc["area_class"] == "FRA"), "population"].sum())
    mra = int(loc.loc[sel & (loc["area_class"] == "MRA"), "population"].sum())
    assert rows[2][1:4] == [f"{fra:,}", f"{mra:,}", f"{fra + mra:,}"]
    assert "15\u201330 min" not in html  # not the old fixed bands


def test_report_population_within(report_file, outputs):
    rows = _table(report_file.read_text(encoding="utf-8"), "within")
    assert rows, "population_within is shown"


def test_sensitivity_is_readable(report_file, outputs):
    html = report_file.read_text(encoding="utf-8")
    rows = _table(html, "sensitivity")
    names = [r[0] for r in rows]
    assert names == ["Travel time to employment centre", "Travel time to market", "Slope"]
    assert "access.max_hours" not in text_of(html)
    sens = outputs.sensitivity
    r = sens[(sens["parameter"] == "access.max_hours.market") & (sens["change_pct"] == -25)].iloc[0]
    assert rows[1][1] == "15 min"
    cell = rows[1][2]
    assert cell.startswith(f"{100 * r['population_share_MRA']:.0f}%") and "11.25 min" in cell
    assert f"{int(r['n_changed'])} change" in cell


def test_corridors_and_upgrades_with_names(report_file, outputs):
    html = report_file.read_text(encoding="utf-8")
    cor = _table(html, "corridors")
    top = outputs.corridors.sort_values("population_served", ascending=False).iloc[0]
    origin = outputs.localities.set_index("locality_id").loc[top["origin_id"], "name"]
    assert cor[0][0] == origin and cor[0][-1] == f"{int(top['population_served']):,}"
    upg = _table(html, "upgrades")
    assert upg[0][0] == "1" and len(upg) == 10
    assert "Ranked by person-minutes saved per km of road" in html


def test_hubs_and_territories_sections(report_file, outputs):
    """The fixture's localities do not say their hub or territory: the layers' own figures."""
    html = report_file.read_text(encoding="utf-8")
    hubs = _table(html, "hubs")
    assert len(hubs) == len(outputs.hubs) == 2
    pops = sorted((int(p) for p in outputs.hubs["population"]), reverse=True)
    assert [h[2] for h in hubs] == [f"{p:,}" for p in pops]
    assert {h[0] for h in hubs} == set(outputs.hubs["name"])
    ter = _table(html, "territories")
    assert len(ter) == 2 and {t[2] for t in ter} == {f"{int(p):,}" for p in outputs.territories["population"]}


def test_hubs_and_territories_from_the_localities(embedded):
    """The embedded study: figures per hub and territory from the localities themselves."""
    import geopandas as gpd

    html = (embedded / "report.html").read_text(encoding="utf-8")
    loc = gpd.read_file(embedded / "localities.gpkg")
    top = loc.groupby("territory_id")["population"].sum().sort_values(ascending=False)
    ter = _table(html, "territories")
    assert ter[0][2] == f"{int(top.iloc[0]):,}" and ter[0][1] == f"{(loc['territory_id'] == top.index[0]).sum():,}"
    med = loc.loc[loc["territory_id"] == top.index[0], "travel_time_centre_min"].median()
    assert ter[0][3] == f"{med:.1f} min"
    hubs = _table(html, "hubs")
    by_hub = loc.groupby("hub_id")["population"].sum().sort_values(ascending=False)
    assert hubs[0][2] == f"{int(by_hub.iloc[0]):,}" and len(hubs) == min(15, loc["hub_id"].nunique())


def test_methods_state_rules_sources_and_speeds(report_file):
    html = report_file.read_text(encoding="utf-8")
    rules = _table(html, "rules")
    assert ["Travel time to market", "15 min"] == rules[1][:2]
    assert any(r[0] == "Slope" and r[1] == "6°" for r in rules)  # URBAN_RULES of the fixture
    speeds = _table(html, "speeds")
    flat = dict(zip(sum(([r[0], r[2]] for r in speeds), []), sum(([r[1], r[3]] for r in speeds), []),
                    strict=True))
    assert flat["secondary"] == "55" and flat["track"] == "15"  # territorial_gis/profiles/drive.toml


def test_inputs_without_local_paths(report_file):
    html = report_file.read_text(encoding="utf-8")
    rows = _table(html, "inputs")
    assert ["Localities", "poa_hexgrid.csv"] == rows[1][:2] or any(r[1] == "poa_hexgrid.csv" for r in rows)
    assert "data/porto_alegre/" not in text_of(html)
    assert "IPEA Access to Opportunities (aopdata)" in html
    assert "Map data \u00a9 OpenStreetMap contributors (ODbL)" in html


def test_download_links_point_at_the_study_files(report_file, study):
    html = report_file.read_text(encoding="utf-8")
    links = re.findall(r'<li><a href="([^"]+)">([^<]+)</a>', html)
    assert ("summary.csv" in [n for _h, n in links]) and ("sensitivity.csv" in [n for _h, n in links])
    for href, _name in links:
        assert (report_file.parent / href).resolve().is_file(), href


def test_report_from_objects_without_optional_layers(outputs, tmp_path):
    loc = outputs.localities.drop(columns=["area_class", "mra_type"])
    out = make_report(StudyOutputs(localities=loc), tmp_path / "r.html", title="Objects <only>")
    html = out.read_text(encoding="utf-8")
    assert "<title>Objects &lt;only&gt;</title>" in html
    assert "No sensitivity table in this study." in html and "No corridors in this study." in html
    assert "not classified" in html
    with pytest.raises(OutputExistsError):
        make_report(StudyOutputs(localities=loc), out)


def test_report_without_travel_times(outputs):
    loc = outputs.localities[["locality_id", "population", "area_class", "mra_type", "geometry"]]
    html = render_report(StudyOutputs(localities=loc), overview=False)
    assert "The localities have no travel times." in html


def test_report_languages(outputs):
    es = text_of(render_report(outputs, lang="es", overview=False))
    assert "Cifras clave" in es and "Tiempo de viaje a mercado" in es
    assert f"Población {int(outputs.localities['population'].sum()):,}".replace(",", ".") in es
    pt = text_of(render_report(outputs, lang="pt", overview=False))
    assert "Números-chave" in pt and "Tempo de viagem até mercado" in pt


def test_report_errors(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        make_report(tmp_path / "nope", tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_cli_report(study, tmp_path):
    out = tmp_path / "report.html"
    res = CliRunner().invoke(main, ["report", str(study["folder"]), "-o", str(out), "--top", "3"])
    assert res.exit_code == 0, res.output
    assert len(_table(out.read_text(encoding="utf-8"), "corridors")) == 3
    res = CliRunner().invoke(main, ["report", str(tmp_path / "missing"), "-o", str(tmp_path / "x.html")])
    assert res.exit_code == 1
    assert [ln for ln in res.output.splitlines() if ln.startswith("Error:")] == [
        f"Error: study outputs folder not found: {tmp_path / 'missing'}"]
    assert not (tmp_path / "x.html").exists()


def test_cli_report_bands_and_lang(study, tmp_path):
    out = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", str(study["folder"]), "-o", str(out), "--bands", "3,6,9",
                                    "--lang", "pt"])
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    assert "3\u20136 min" in html and "\u2265 9 min" in html and 'lang="pt"' in html
    res = CliRunner().invoke(main, ["report", str(study["folder"]), "-o", str(tmp_path / "b.html"),
                                    "--bands", "30,15"])
    assert res.exit_code == 1 and "positive and increasing" in res.output
    assert not (tmp_path / "b.html").exists()


# ---------------------------------------------------------------------------------------------
# acceptance: the two example studies as `tgis run` writes them


def test_guaviare_report_says_population_is_unknown(guaviare):
    """No population in the rural example: the report never prints 0 for it and says why."""
    html = (guaviare / "report.html").read_text(encoding="utf-8")
    text = text_of(html)
    assert "Population is unknown for the localities of this study" in text
    assert "Population unknown" in text
    assert not re.search(r"Population (in marginal areas )?0\b", text)
    assert not re.search(r"population[^.;]{0,40}\b0\b(?![.,]\d)", text, re.I)
    assert "Person-minutes" not in text  # the upgrades are ranked by localities instead
    assert "Population unknown: ranked by the number of localities whose travel time falls" in text
    # its own bands: 60, 120, 240 min (isochrones_min, population_within_min and the 2 h rule)
    assert [r[0] for r in _table(html, "bands bands-intermediate_city")] == [
        "< 60 min", "60\u2013120 min", "120\u2013240 min", "\u2265 240 min", "no travel time"]
    summary = pd.read_csv(guaviare / "summary.csv")
    assert summary["population"].isna().all() and summary["share_population"].isna().all()


def test_embedded_report_uses_its_own_bands(embedded):
    """The demonstration region's bands are its population_within_min (5, 10, 15, 20 min) and
    its thresholds (10 min to an employment centre, 12 min to a market), not 15/30/60/120."""
    cfg = json.loads((embedded / "study.json").read_text())["config"]
    assert cfg["access"]["population_within_min"] == [5, 10, 15, 20]
    html = (embedded / "report.html").read_text(encoding="utf-8")
    assert [r[0] for r in _table(html, "bands bands-market")] == [
        "< 5 min", "5\u201310 min", "10\u201312 min", "12\u201315 min", "15\u201320 min", "\u2265 20 min",
        "no travel time"]
    assert [r[0] for r in _table(html, "bands bands-employment_centre")][:3] == [
        "< 5 min", "5\u201310 min", "10\u201315 min"]
    assert "30\u201360 min" not in html


@pytest.mark.browser
@pytest.mark.parametrize("which", ["embedded", "guaviare"])
def test_report_prints_on_a4_with_nothing_wider_than_the_page(which, request, tmp_path):
    """Acceptance: the report printed to PDF by chromium; no element is wider than the A4 page
    (measured in the print layout); a screenshot of the first page is saved."""
    folder = request.getfixturevalue(which)
    b = open_browser(network="off")
    try:
        b.open(folder / "report.html")
        assert b.errors == [] and b.blocked == []
        assert b.js("performance.getEntriesByType('resource').length") == 0
        assert b.js("document.querySelector('#overview-map img').naturalWidth") > 800
        pdf = tmp_path / f"report_{which}.pdf"
        m = print_to_pdf(b, pdf)
        assert m["offenders"] == [], m
        assert m["widest_px"] <= m["page_px"] + 0.5 and m["doc_px"] <= m["page_px"]
        assert pdf.stat().st_size > 50_000 and pdf.read_bytes()[:5] == b"%PDF-"
        shot = b.screenshot(tmp_path / f"report_{which}_page1.png")
        assert shot.stat().st_size > 20_000
        if SCREENS is not None and SCREENS.is_dir():
            shutil.copy(shot, SCREENS / f"{which}_report_page1.png")
            shutil.copy(pdf, SCREENS / f"{which}_report.pdf")
    finally:
        b.close()


@pytest.mark.browser
def test_report_in_browser_offline(report_file, outputs, tmp_path):
    b = open_browser(network="off")
    try:
        b.open(report_file)
        assert b.errors == [] and b.blocked == []
        assert b.js("document.querySelectorAll('#chart-classes svg rect.bar').length") == \
            len(population_by_class(outputs.localities))
        widths = b.js("""Array.from(document.querySelectorAll('#chart-classes rect.bar'))
                         .map(r => r.getBoundingClientRect().width)""")
        pops = population_by_class(outputs.localities)["population"].to_numpy()
        assert int(np.argmax(widths)) == int(np.argmax(pops))
        text = b.js("document.getElementById('classes').innerText")
        fra = outputs.localities["area_class"].eq("FRA").sum()
        assert f"FRA: favorable rural area\t{fra:,}" in text
    finally:
        b.close()


# ---------------------------------------------------------------------------------------------
# scenarios and the Rural Access Index


def test_embedded_report_scenario_and_rai_sections(embedded):
    """The wet season and the index of the embedded study; the figures checked against the
    scenario stage's own table (scenarios.csv) and rai.csv, which the report does not read."""
    html = (embedded / "report.html").read_text(encoding="utf-8")
    assert '<section id="scenarios">' in html and 'id="scenario-wet"' in html
    text = text_of(html)
    sc = pd.read_csv(embedded / "scenarios.csv")
    for r in sc.itertuples():
        assert f"{r.n_slower:,} localities ({r.population_slower:,.0f} people) take longer to reach " \
               f"{r.tier.replace('_', ' ')}" in text
    rai = pd.read_csv(embedded / "rai.csv")
    base = rai[(rai["scenario"] == "base") & (rai["area"] == "study")].iloc[0]
    want = base["rural_population_within"] / base["rural_population"]
    assert f"Rural Access Index: {want:.1%} of the rural population ({base['rural_population_within']:,.0f} of " \
           f"{base['rural_population']:,.0f})" in text
    assert '<section id="rai">' in html and "World Bank Transport Paper TP-10" in text


def test_report_without_scenarios_or_rai_has_no_such_sections(report_file):
    html = report_file.read_text(encoding="utf-8")
    assert '<section id="scenarios">' not in html and '<section id="rai">' not in html


def test_report_unknown_rai_says_why_never_zero(outputs):
    rai = pd.DataFrame({"scenario": ["base"], "area": ["study"], "rural_population": [np.nan],
                        "rural_population_within": [np.nan], "rural_places": [10], "rural_places_within": [4],
                        "places_with_population": [0], "rai": [np.nan], "share_of_rural_places_within": [0.4],
                        "rai_reason": ["population unknown"]})
    so = StudyOutputs(localities=outputs.localities, study=outputs.study, rai=rai)
    html = render_report(so, overview=False)
    rows = _table(html, "rai")
    assert rows[0][:2] == ["base study", "unknown population unknown"]
    assert "Rural Access Index unknown (population unknown): 4 of 10 rural localities (40.0%)" in text_of(html)
    assert not re.search(r"(?<![\d.,])0(\.0)?\s?%", text_of(html.split('<section id="rai">')[1].split("</section>")[0]))


# ---------------------------------------------------------------------------------------------
# criticality, appraisal, microregions, typologies


@pytest.fixture(scope="session")
def guaviare_outputs(guaviare: Path) -> StudyOutputs:
    return load_study_outputs(guaviare)


def test_criticality_section_ranks_the_top_10(guaviare, guaviare_outputs, report_file):
    import geopandas as gpd

    crit = gpd.read_file(guaviare / "criticality.gpkg", layer="criticality").sort_values("rank")
    html = render_report(guaviare_outputs, overview=False)
    rows = _table(html, "criticality")
    assert [r[0] for r in rows] == [str(i) for i in range(1, 11)]
    assert [int(r[4]) for r in rows] == crit["n_cut_off"].head(10).astype(int).tolist()
    # population unknown: no population columns; harm in locality-minutes
    header = re.search(r'<table class="criticality">.*?</thead>', html, re.S).group(0)
    assert "Population cut off" not in header and "Locality-minutes added" in header
    assert '<section id="criticality">' not in report_file.read_text(encoding="utf-8")


def test_criticality_section_unknown_population_reads_unknown(guaviare_outputs):
    crit = guaviare_outputs.criticality.sort_values("rank").head(3).copy()
    crit["population_cut_off"] = [120.0, np.nan, 0.0]  # SYNTHETIC: the second unknown
    crit["person_min_added"] = [10.0, 20.0, np.nan]
    so = StudyOutputs(localities=guaviare_outputs.localities, criticality=crit)
    rows = _table(render_report(so, overview=False), "criticality")
    assert [r[5] for r in rows] == ["120", "unknown", "0"]
    assert [r[6] for r in rows] == ["10", "20", "unknown"]


def test_appraisal_section_table_sentences_and_chart(guaviare, guaviare_outputs, report_file):
    import base64
    import html as html_lib

    proj = pd.read_csv(guaviare / "appraisal.csv").sort_values("rank")
    meta = json.loads((guaviare / "study.json").read_text(encoding="utf-8"))
    html = render_report(guaviare_outputs, overview=False)
    rows = _table(html, "appraisal")
    assert len(rows) == min(30, len(proj))
    assert [r[0] for r in rows] == [str(int(k)) for k in proj["rank"].head(len(rows))]
    assert [r[5] for r in rows] == [f"{a:,.0f} \u2013 {b:,.0f}" for a, b in
                                     zip(proj["benefit_p10"].head(len(rows)), proj["benefit_p90"].head(len(rows)), strict=True)]
    chosen = proj[proj["chosen"].astype(str).str.lower() == "true"]
    assert sum(r[-1].startswith("yes, pick") for r in rows) == len(chosen)
    for sentence in meta["appraisal"]["summary"]:
        assert html_lib.escape(sentence).replace("&#x27;", "&#39;") in html
    png = base64.b64encode((guaviare / "portfolio.png").read_bytes()).decode("ascii")
    assert f"data:image/png;base64,{png}" in html
    assert '<section id="appraisal">' not in report_file.read_text(encoding="utf-8")


def _findings(html: str) -> list[str]:
    """The appraisal's summary sentences as the report shows them."""
    section = re.search(r'<section id="appraisal">(.*?)</section>', html, re.S).group(1)
    items = re.search(r'<ul class="findings">(.*?)</ul>', section, re.S).group(1)
    return [text_of(li).strip() for li in re.findall(r"<li>(.*?)</li>", items, re.S)]


def _numbers(text: str, group: str, decimal: str) -> list[float]:
    """Every number of a sentence (ids and P10/P90 included), read with the locale's separators."""
    return [float(t.replace(group, "").replace(decimal, ".")) for t in
            re.findall(rf"\d(?:[\d{re.escape(group)}]*\d)?(?:{re.escape(decimal)}\d+)?", text)]


@pytest.mark.parametrize("lang, words", [("es", ("Con un presupuesto de", "localidades-minuto", "corridas")),
                                         ("pt", ("Com um orçamento de", "localidades-minuto", "rodadas"))])
def test_appraisal_sentences_in_the_reader_language(guaviare, tmp_path, lang, words):
    """``tgis report --lang es|pt`` of the Guaviare example: the appraisal's sentences in that
    language, with the numbers of the English ones (as study.json records them) in the locale's
    format, and no note that they are in English."""
    meta = json.loads((guaviare / "study.json").read_text(encoding="utf-8"))
    english = meta["appraisal"]["summary"]
    assert len(english) >= 3 and english[0].startswith("With a budget of 40.0 M USD")
    out = tmp_path / f"report_{lang}.html"
    res = CliRunner().invoke(main, ["report", str(guaviare), "-o", str(out), "--lang", lang])
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    shown = _findings(html)
    assert len(shown) == len(english)
    assert all(w in " ".join(shown) for w in words), shown
    assert not any("With a budget" in s or "Across" in s or "value for money" in s for s in shown)
    assert "in English" not in text_of(html) and "en inglés" not in text_of(html) and "em inglês" not in text_of(html)
    for en, local in zip(english, shown, strict=True):
        assert _numbers(local, ".", ",") == _numbers(en, ",", "."), (en, local)
    assert "40,0 " in shown[0]  # the decimal comma of es/pt (Babel), as in the report's tables
    assert _findings(render_report(load_study_outputs(guaviare), overview=False)) == english


def test_appraisal_section_unknown_range_reads_unknown(guaviare_outputs):
    proj = guaviare_outputs.projects.sort_values("rank").head(2).copy()
    proj["benefit_p10"] = [np.nan, 5.0]  # SYNTHETIC: the first range unknown
    rows = _table(render_report(StudyOutputs(localities=guaviare_outputs.localities, projects=proj),
                                overview=False), "appraisal")
    assert rows[0][5] == "unknown" and rows[1][5] != "unknown"


@pytest.fixture(scope="session")
def microregions_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_example(tmp_path_factory, GUAVIARE_CONFIG.parent / "microregions.toml")


def test_microregion_section_and_links(microregions_study, report_file):
    import geopandas as gpd

    regions = gpd.read_file(microregions_study / "microregions.gpkg", layer="microregions")
    links = pd.read_csv(microregions_study / "links.csv")
    html = render_report(load_study_outputs(microregions_study), overview=False)
    assert sorted(r[0] for r in _table(html, "microregions")) == sorted(regions["microregion_id"])
    rows = _table(html, "links")
    assert len(rows) == len(links)
    words = {"linked": "linked to a favorable area", "enclosed_marginal": "enclosed marginal"}
    assert [r[-1].split(" (")[0] for r in rows] == [words[s] for s in links["link_status"]]
    # the hexagons carry no population: the zones' population is unknown, never 0
    assert {r[3] for r in rows} == {"unknown"}
    assert '<section id="microregions">' not in report_file.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def typology_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The period, indicator and typology stages of examples/guerrero_montana (real INEGI
    localities and CONAPO tables; SYNTHETIC travel times), as tests/test_study_indicators.py
    runs them."""
    import test_study_indicators as tsi

    from territorial_gis.config import load_study_config
    from territorial_gis.pipeline import load_study_places

    cfg = load_study_config(tsi.GUERRERO)
    folder = tmp_path_factory.mktemp("typologies")
    tsi._run(cfg, folder, tsi._synthetic_access(load_study_places(cfg, None).localities))
    return folder


def test_typology_and_indicator_sections(typology_study, report_file):
    typ = pd.read_csv(typology_study / "typologies.csv")
    within = pd.read_csv(typology_study / "indicators_within.csv")
    so = load_study_outputs(typology_study)
    html = render_report(so, overview=False)
    tables = re.findall(r'<table class="typology">.*?</table>', html, re.S)
    assert len(tables) == typ["typology"].nunique()
    rows = [r for t in tables for r in _table(t, "typology")]
    assert [r[2] for r in rows] == [f"{n:,}" for n in typ["n_units"]]
    assert [r[4] for r in rows] == [f"{p:,.0f}" for p in typ["population"]]
    ind = _table(html, "indicators-within")
    assert len(ind) == len(within)
    assert [r[5] for r in ind] == [f"{s:.1%}" for s in within["share_within"]]
    # unknown stays unknown (SYNTHETIC: one count removed)
    w2 = within.copy()
    w2.loc[0, ["within", "share_within"]] = np.nan
    ind2 = _table(render_report(StudyOutputs(localities=so.localities, indicators_within=w2), overview=False),
                  "indicators-within")
    assert ind2[0][3] == "unknown" and ind2[0][5] == "unknown"
    page = report_file.read_text(encoding="utf-8")
    assert '<section id="typologies">' not in page and '<section id="indicators-within">' not in page
