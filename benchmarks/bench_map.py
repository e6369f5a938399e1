"""Benchmark: HTML size and browser load time of study maps (and the report).

* ``porto_alegre`` (real data): the study outputs of the embedded region built with the real
  network, access, classification and corridor stages (``tests/_browser.build_rendering_study``):
  1,227 localities, 40 destinations, ~395 routed corridors, ~950 stretches, 10 upgrades.
* ``synthetic_50k`` (SYNTHETIC, for the size/speed measurement only): 50,000 localities made by
  resampling the real classified Porto Alegre cells (all their attributes: travel times, classes,
  the classifier's per-locality reasons) with replacement and moving each by a random offset of
  up to +-0.25 degrees, so they spread over a region ~50 km across. As a real study writes it,
  the classified AREAS layer is there too: the H3 resolution-9 cell of each synthetic locality
  (with its locality's class). Destinations, corridors, stretches, upgrades, the road network
  (base map) and the study record are the real ones.

For each case: time to build and render the map, HTML size (CDN and self-contained, and
gzip-compressed), and when Debian's chromium is installed the time until the page has loaded
(every locality marker built and the first view drawn, grouped into class-coloured clusters
where dense), the time to open one popup and to zoom in.

Run:  .venv/bin/python benchmarks/bench_map.py [--n 50000] [--no-browser]
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from _browser import browser_available, build_rendering_study  # noqa: E402

from territorial_gis.maps import StudyOutputs, load_study_outputs, make_map, render_map  # noqa: E402
from territorial_gis.report import make_report  # noqa: E402


def synthetic_localities(real: StudyOutputs, n: int, seed: int = 11) -> StudyOutputs:
    """SYNTHETIC: ``n`` localities resampled from the real ones with jittered positions, and
    their areas (the H3 resolution-9 cell of each, carrying its locality's class)."""
    import geopandas as gpd
    import h3
    import shapely

    rng = np.random.default_rng(seed)
    loc = real.localities
    pick = rng.integers(0, len(loc), n)
    out = pd.DataFrame(loc.drop(columns=loc.geometry.name)).iloc[pick].reset_index(drop=True)
    out["locality_id"] = [f"syn{i:06d}" for i in range(n)]
    out["name"] = [f"Synthetic locality {i}" for i in range(n)]
    x = loc.geometry.x.to_numpy()[pick] + rng.uniform(-0.25, 0.25, n)
    y = loc.geometry.y.to_numpy()[pick] + rng.uniform(-0.25, 0.25, n)
    gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(x, y), crs=4326)
    cells = [h3.latlng_to_cell(float(b), float(a), 9) for a, b in zip(x, y, strict=True)]
    keep = ~pd.Series(cells).duplicated().to_numpy()
    cols = [c for c in ("area_class", "mra_type", "class_reasons", "density_per_km2") if c in out.columns]
    areas = gpd.GeoDataFrame(
        out.loc[keep, cols].assign(area_id=np.asarray(cells)[keep]).reset_index(drop=True),
        geometry=[shapely.Polygon([(b, a) for a, b in h3.cell_to_boundary(c)]) for c in np.asarray(cells)[keep]],
        crs=4326)
    return StudyOutputs(localities=gdf, destinations=real.destinations, corridors=real.corridors,
                        segments=real.segments, upgrades=real.upgrades, hubs=real.hubs, areas=areas,
                        hinterlands=real.hinterlands, territories=real.territories,
                        isochrones=real.isochrones, study=real.study, roads=real.read_roads(),
                        folder=real.folder)


def browser_timing(path: Path, n_localities: int) -> dict[str, float]:
    from _browser import Browser

    b = Browser("off")
    try:
        t0 = time.perf_counter()
        b.open(path)
        b.page.wait_for_function(f"window.tgisLayers && tgisLayers['Localities'] && "
                                 f"tgisLayers['Localities']._tgisAll.length === {n_localities} && "
                                 f"tgisLayers['Localities'].getLayers().length > 0")
        b.js("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        b.js("() => { var l = tgisLayers['Localities'].getLayers().find(x => x._tgisRow) || "
             "tgisLayers['Localities']._tgisAll[0]; "
             "if (!l._map) tgisMap.setView(l.getLatLng(), 16, {animate: false}); l.openPopup(); "
             "return l.getPopup().getElement().innerText.length; }")
        t_popup = time.perf_counter() - t0
        t0 = time.perf_counter()
        b.js("() => { tgisMap.setZoom(tgisMap.getZoom() + 1, {animate: false}); return 1; }")
        b.page.wait_for_timeout(50)
        t_zoom = time.perf_counter() - t0
        if b.errors:
            raise RuntimeError(f"browser errors: {b.errors[:3]}")
        return {"load_s": t_load, "popup_s": t_popup, "zoom_s": t_zoom}
    finally:
        b.close()


def measure(name: str, so: StudyOutputs, out_dir: Path, browser: bool) -> dict[str, object]:
    t0 = time.perf_counter()
    m = make_map(so, title=name)
    cdn = render_map(m, cdn=True)
    t_build = time.perf_counter() - t0
    offline = render_map(m)
    path = out_dir / f"{name}.html"
    path.write_text(offline, encoding="utf-8")
    row: dict[str, object] = {
        "case": name, "localities": len(so.localities),
        "areas": 0 if so.areas is None else len(so.areas), "build_s": round(t_build, 2),
        "html_kB": round(len(cdn.encode()) / 1e3), "self_contained_kB": round(len(offline.encode()) / 1e3),
        "gzip_kB": round(len(gzip.compress(offline.encode(), 6)) / 1e3),
    }
    if browser:
        row.update({k: round(v, 2) for k, v in browser_timing(path, len(so.localities)).items()})
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=50_000, help="synthetic localities")
    ap.add_argument("--no-browser", action="store_true", help="skip the headless-browser timings")
    args = ap.parse_args()
    browser = not args.no_browser and browser_available() is None
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        t0 = time.perf_counter()
        build_rendering_study(d / "study")
        print(f"study outputs (real stages) built in {time.perf_counter() - t0:.1f} s")
        real = load_study_outputs(d / "study")
        rows = [measure("porto_alegre", real, d, browser),
                measure(f"synthetic_{args.n // 1000}k", synthetic_localities(real, args.n), d, browser)]
        t0 = time.perf_counter()
        rep = make_report(d / "study", d / "report.html")
        print(f"report: {rep.stat().st_size / 1e3:.0f} kB in {time.perf_counter() - t0:.2f} s")
    print(pd.DataFrame(rows).to_string(index=False))
    if not browser:
        print("(browser timings skipped: " + (browser_available() or "--no-browser") + ")")


if __name__ == "__main__":
    main()
