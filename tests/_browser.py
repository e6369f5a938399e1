"""Helpers shared by the map and report tests: a study outputs folder and a headless browser.

:func:`build_rendering_study` writes a study outputs folder for central Porto Alegre from the
embedded real data with the real stages: road network from ``poa_osm.pbf``
(:func:`territorial_gis.network.build_network`), travel times
(:func:`territorial_gis.access.travel_times_to_nearest`) from the 1,227 H3 cells (census
population) to two tiers - ``employment_centre`` (cells with >= 2,000 formal jobs, as in
``conftest.py``) and ``market`` (the 15 named points of interest) -, travel-time bands (hexagons of the routed
times, :func:`territorial_gis.maps.make_hex_surface`), classes and sensitivity
(:func:`territorial_gis.classify.classify_areas` / ``sensitivity_table`` with the DEM).

The area is URBAN, so the classification uses URBAN-SCALE thresholds (12 / 15 min, slope 6 deg)
instead of the rural defaults (1 h / 2 h, 9.1 deg) - only so the maps show every class.

Corridors, stretches and upgrades are real too (:mod:`territorial_gis.corridors`).
RENDERING STAND-INS, NOT ANALYSES: ``hubs`` are two markets, their hinterlands and the
territories convex hulls of the cells nearest to each. They only exercise the map and report
writers. ``study.json`` records the rules, the speed profile and the study's travel-time bands
(``population_within_min``) as the pipeline does.

:func:`run_example` runs a whole study with ``tgis run`` (a config file, or the embedded
demonstration region) once per test session, for the acceptance tests of the map and report.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.spatial import cKDTree
from territorial_gis.data import data_path

from territorial_gis._crs import utm_crs_for_bounds

ROOT = Path(__file__).resolve().parents[1]
GUAVIARE_CONFIG = ROOT / "examples" / "guaviare" / "study.toml"
CHROMIUM = "/usr/bin/chromium"
#: the study's own travel-time bands of the rendering fixture (minutes)
FIXTURE_BANDS = [5, 10, 20]
#: formal jobs per H3 res-9 cell from which a cell is an employment centre (as in conftest.py)
EMPLOYMENT_JOBS = 2000
#: urban-scale rules for the Porto Alegre fixture (see module docstring)
URBAN_RULES = {"access": {"combine": "any", "max_hours": {"employment_centre": 0.2, "market": 0.25}},
               "agroecology": {"combine": "any", "max_slope_deg": 6.0}}


def build_rendering_study(folder: Path) -> dict[str, Any]:
    """Write the Porto Alegre study outputs folder (see module docstring); return its frames."""
    from territorial_gis.access import travel_times_to_nearest
    from territorial_gis.classify import classify_areas
    from territorial_gis.corridors import corridor_segments, rank_upgrades, suggest_corridors
    from territorial_gis.maps import make_hex_surface
    from territorial_gis.network import build_network

    folder.mkdir(parents=True, exist_ok=True)
    net = build_network(data_path("porto_alegre", "poa_osm.pbf"))
    cells = pd.read_csv(data_path("porto_alegre", "poa_hexgrid.csv"))
    pois = pd.read_csv(data_path("porto_alegre", "poa_points_of_interest.csv"))
    loc = gpd.GeoDataFrame(
        {"locality_id": cells["id"], "name": "H3 cell " + cells["id"].str[:9],
         "population": cells["population"].astype(int), "jobs": cells["jobs"]},
        geometry=gpd.points_from_xy(cells["lon"], cells["lat"]), crs=4326)
    centres = loc[loc["jobs"] >= EMPLOYMENT_JOBS]
    dest = pd.concat([
        gpd.GeoDataFrame({"dest_id": centres["locality_id"], "name": "Employment centre " + centres["name"].str[8:],
                          "tier": "employment_centre", "population": centres["population"]},
                         geometry=centres.geometry.to_numpy(), crs=4326),
        gpd.GeoDataFrame({"dest_id": pois["id"], "name": pois["id"].str.replace("_", " ").str.title(),
                          "tier": "market", "population": np.nan},
                         geometry=gpd.points_from_xy(pois["lon"], pois["lat"]), crs=4326),
    ], ignore_index=True)
    tiers = {t: dest[dest["tier"] == t] for t in ("employment_centre", "market")}
    access = travel_times_to_nearest(net, loc, tiers)
    classification = classify_areas(access, rules=URBAN_RULES,
                                    rasters={"dem": data_path("porto_alegre", "poa_elevation.tif")})
    classified = classification.areas
    classified.drop(columns=["indicator_sources"], errors="ignore").to_file(
        folder / "localities.gpkg", layer="localities", engine="pyogrio")
    dest.to_file(folder / "destinations.gpkg", layer="destinations", engine="pyogrio")
    classification.sensitivity().to_csv(folder / "sensitivity.csv", index=False)
    classification.summary().to_csv(folder / "summary.csv", index=False)
    # travel-time bands to the markets: H3 res-8 hexagons of the routed times dissolved by band
    # (access.isochrones takes minutes on this network, too slow for a test fixture)
    hexes = make_hex_surface(classified, "market", resolution=8)
    hexes["travel_time_min"] = np.minimum(np.ceil(hexes["travel_time_min"] / 5) * 5, 20)
    hexes.dissolve("travel_time_min", as_index=False)[["travel_time_min", "geometry"]].assign(
        tier="market").to_file(folder / "isochrones.gpkg", layer="isochrones", engine="pyogrio")
    net.save(folder / "network.gpkg", overwrite=True)

    cor = suggest_corridors(net, classified, tiers)
    segs = corridor_segments(net, cor)
    upg = rank_upgrades(net, classified, tiers, top=10, n_candidates=20)
    cor = cor.drop(columns=["edge_rows"])
    cor.to_file(folder / "corridors.gpkg", layer="corridors", engine="pyogrio")
    segs.drop(columns=["segment_ids"], errors="ignore").to_file(folder / "corridors.gpkg", layer="segments",
                                                                engine="pyogrio")
    upg.to_file(folder / "corridors.gpkg", layer="upgrades", engine="pyogrio")
    pd.DataFrame(upg.drop(columns="geometry")).to_csv(folder / "upgrades.csv", index=False)

    # rendering stand-ins for hubs, hinterlands and territories (see module docstring)
    loc = classified
    crs = utm_crs_for_bounds(tuple(loc.total_bounds))
    loc_m = loc.to_crs(crs)
    hubs = dest[dest["dest_id"].isin(["public_market", "iguatemi_shopping_center"])].reset_index(drop=True)
    hubs = hubs.rename(columns={"dest_id": "hub_id"})[["hub_id", "name", "geometry"]]
    _, k = cKDTree(shapely.get_coordinates(hubs.to_crs(crs).geometry)).query(
        shapely.get_coordinates(loc_m.geometry))
    hulls = [loc.geometry[k == i].union_all().convex_hull for i in range(len(hubs))]
    pops = [int(loc["population"][k == i].sum()) for i in range(len(hubs))]
    hubs["population"] = pops
    hubs.to_file(folder / "hubs.gpkg", layer="hubs", engine="pyogrio")
    gpd.GeoDataFrame({"hub_id": hubs["hub_id"], "population": pops}, geometry=hulls, crs=4326).to_file(
        folder / "hubs.gpkg", layer="hinterlands", engine="pyogrio")
    gpd.GeoDataFrame({"territory_id": ["T1", "T2"], "population": pops}, geometry=hulls, crs=4326).to_file(
        folder / "territories.gpkg", layer="territories", engine="pyogrio")

    study = {
        "name": "Central Porto Alegre (embedded test region)",
        "version": "test",
        "inputs": {
            "network": {"path": "data/porto_alegre/poa_osm.pbf",
                        "source": "OpenStreetMap extract shipped with r5r (ipeaGIT/r5r)"},
            "localities": {"path": "data/porto_alegre/poa_hexgrid.csv",
                           "source": "IPEA Access to Opportunities (aopdata) H3 res-9 cells via r5r"},
            "market": {"path": "data/porto_alegre/poa_points_of_interest.csv",
                       "source": "r5r example points of interest"},
            "dem": {"path": "data/porto_alegre/poa_elevation.tif", "source": "NASA SRTMGL1"},
        },
        "attribution": ["Population and jobs: IPEA aopdata (CC-BY)",
                        "Map data \u00a9 OpenStreetMap contributors (ODbL)", "Elevation: NASA SRTM (public domain)"],
    }
    from territorial_gis._studymeta import describe_methods
    from territorial_gis.classify import rules_from_dict
    from territorial_gis.speeds import load_profile

    study["methods"] = describe_methods(rules=rules_from_dict(URBAN_RULES), profile=load_profile(),
                                        max_snap_m=2000.0, tiers={"employment_centre": f"jobs>={EMPLOYMENT_JOBS}",
                                                                  "market": "poa_points_of_interest.csv"},
                                        measured=list(classified.columns))
    study["config"] = {"access": {"population_within_min": FIXTURE_BANDS}}
    (folder / "study.json").write_text(json.dumps(study, indent=2), encoding="utf-8")
    return {"folder": folder, "localities": loc, "destinations": dest, "corridors": cor, "upgrades": upg}


# ---------------------------------------------------------------------------------------------
# browser


def browser_available() -> str | None:
    """Return why the browser tests cannot run, or ``None`` when they can."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        return f"{CHROMIUM} not installed (run `make browser`)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright python package is not installed"
    return None


class Browser:
    """Debian's headless chromium driven by playwright (never ``playwright install``).

    ``network`` is ``"off"`` (every non-file request is aborted and recorded; host names do not
    resolve and the proxy is a dead port) or ``"cdn-mock"`` (requests to the CDN URLs folium
    uses are answered with the vendored copies, everything else is aborted and recorded: there
    is no internet on the test machine).
    """

    def __init__(self, network: str = "off") -> None:
        from playwright.sync_api import sync_playwright

        self.profile = tempfile.mkdtemp(prefix="tgis-chromium-")
        self._pw = sync_playwright().start()
        args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage"]
        if network == "off":
            args += ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9"]
        self.context = self._pw.chromium.launch_persistent_context(
            self.profile, executable_path=shutil.which("chromium") or CHROMIUM, headless=True,
            args=args, viewport={"width": 1200, "height": 900})
        self.page = self.context.pages[0] if self.context.pages else self.context.new_page()
        self.blocked: list[str] = []
        self.served: list[str] = []
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.on("console", self._on_console)
        self.context.route("**/*", self._route_mock if network == "cdn-mock" else self._route_off)

    def _on_console(self, msg: Any) -> None:
        if msg.type != "error":
            return
        text = msg.text
        if "Failed to load resource" in text or "net::ERR_" in text:
            return  # aborted network loads (tiles): there is no internet
        self.errors.append(f"console: {text}")

    def _route_off(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:", "about:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("internetdisconnected")

    def _route_mock(self, route: Any) -> None:
        from territorial_gis._html import _vendored_for, read_vendored

        url = route.request.url
        if url.startswith(("file:", "data:", "blob:", "about:")):
            route.continue_()
            return
        name = _vendored_for(url)
        if name is None:
            self.blocked.append(url)
            route.abort("internetdisconnected")
            return
        self.served.append(url)
        ctype = "text/css" if name.endswith(".css") else "application/javascript"
        route.fulfill(status=200, content_type=ctype, body=read_vendored(name))

    def open(self, path: Path) -> None:
        self.page.goto(path.resolve().as_uri(), wait_until="load")

    def js(self, expression: str) -> Any:
        return self.page.evaluate(expression)

    def screenshot(self, path: Path) -> Path:
        self.page.screenshot(path=str(path))
        return path

    def close(self) -> None:
        try:
            self.context.close()
            self._pw.stop()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


def open_browser(network: str = "off") -> Browser:
    """Start a :class:`Browser` or skip the test with the reason."""
    reason = browser_available()
    if reason:
        pytest.skip(f"browser tests need chromium: {reason}")
    return Browser(network=network)


_STUDY_CACHE: dict[str, Any] = {}


def rendering_study(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Build the rendering-fixture study once per test session (shared by the map and report tests)."""
    if "study" not in _STUDY_CACHE:
        _STUDY_CACHE["study"] = build_rendering_study(tmp_path_factory.mktemp("rendering_study"))
    return _STUDY_CACHE["study"]


def run_example(tmp_path_factory: pytest.TempPathFactory, config: Path | None) -> Path:
    """``tgis run CONFIG`` (None: the embedded demonstration region) once per session; its folder."""
    from click.testing import CliRunner
    from territorial_gis.cli import main

    key = f"run:{config}"
    if key not in _STUDY_CACHE:
        out = tmp_path_factory.mktemp("example") / (config.parent.name if config else "embedded")
        cache = tmp_path_factory.mktemp("example_cache")
        args = ["-q", "run", *([str(config)] if config else []), "-o", str(out), "--cache-dir", str(cache)]
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0, res.output
        _STUDY_CACHE[key] = out
    return _STUDY_CACHE[key]


def print_to_pdf(browser: Browser, path: Path) -> dict[str, Any]:
    """Print the open page to an A4 PDF with chromium; return the widest element measured in the
    print layout (``{"page_px", "widest_px", "offenders"}``, CSS pixels of the printable width)."""
    page = browser.page
    page.emulate_media(media="print")
    # A4 210 mm minus the 13 mm side margins of the report's @page rule, at 96 CSS px per inch
    width = round((210 - 2 * 13) / 25.4 * 96)
    page.set_viewport_size({"width": width, "height": round(297 / 25.4 * 96)})
    found = page.evaluate("""(w) => {
        const out = [];
        let widest = 0;
        for (const el of document.body.querySelectorAll('*')) {
            const r = el.getBoundingClientRect();
            if (!r.width) continue;
            widest = Math.max(widest, r.right);
            if (r.right > w + 0.5 || el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible')
                out.push(el.tagName + '.' + el.className + ' ' + Math.round(r.right));
        }
        return {widest: widest, offenders: out.slice(0, 10),
                doc: document.documentElement.scrollWidth};
    }""", width)
    page.pdf(path=str(path), format="A4", print_background=True,
             margin={"top": "14mm", "bottom": "16mm", "left": "13mm", "right": "13mm"})
    return {"page_px": width, "widest_px": found["widest"], "offenders": found["offenders"],
            "doc_px": found["doc"]}
