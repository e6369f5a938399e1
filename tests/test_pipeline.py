"""End-to-end study pipeline on the embedded region (real Porto Alegre data)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from territorial_gis.cli import main

from territorial_gis.config import StudyConfig, load_study_config
from territorial_gis.errors import ConfigError, OutputExistsError
from territorial_gis.pipeline import (
    StageError,
    default_study_config,
    load_study_places,
    run_study,
    study_is_complete,
)

EXPECTED = ["network.gpkg", "localities.gpkg", "destinations.gpkg", "areas.gpkg", "corridors.gpkg",
            "upgrades.csv", "sensitivity.csv", "summary.csv", "isochrones.gpkg", "hubs.gpkg",
            "territories.gpkg", "scenarios.csv", "scenario_classes.csv", "scenario_wet.gpkg", "rai.csv",
            "rai.gpkg", "surface_employment_centre.tif", "surface_market.tif", "surface_bands.csv",
            "surface_zonal.csv", "indicators_within.csv", "indicators_by_group.csv", "land_within.csv",
            "criticality.gpkg", "criticality.csv", "appraisal.gpkg", "appraisal.csv", "portfolio.csv",
            "portfolio.png", "map.html", "report.html", "study.json"]


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("netcache")


@pytest.fixture(scope="session")
def study(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Path:
    """`tgis run` with no config: the embedded default region, through the CLI."""
    out = tmp_path_factory.mktemp("study") / "poa"
    r = CliRunner().invoke(main, ["-q", "run", "-o", str(out), "--cache-dir", str(cache_dir)])
    assert r.exit_code == 0, r.output
    return out


def test_every_output_written(study: Path) -> None:
    for name in EXPECTED:
        assert (study / name).is_file(), name
        assert (study / name).stat().st_size > 0, name
    assert not list(study.glob(".tgis-staging-*"))
    meta = json.loads((study / "study.json").read_text())
    assert meta["territorial_gis_version"]
    assert set(meta["input_hashes"]) >= {"network.source", "localities.file", "terrain.rasters.dem"}
    assert set(meta["timings_s"]) >= {"network", "access", "classify", "corridors", "map"}
    assert "OpenStreetMap" in meta["attribution"]
    assert sorted(meta["files"]) == sorted(EXPECTED + ["population_within.csv"])


def test_localities_table_consistent(study: Path) -> None:
    loc = gpd.read_file(study / "localities.gpkg", layer="localities")
    src = pd.read_csv(Path(default_study_config()["localities"]["file"]))
    assert len(loc) == len(src) == 1227
    assert set(loc["place_id"]) == set(src["id"])
    assert loc.crs.to_epsg() == 4326
    for col in ("travel_time_employment_centre_min", "travel_time_market_min", "nearest_market_id",
                "access_leg_min", "snap_dist_m", "unreachable_reason", "area_class", "mra_type",
                "class_reasons", "density_per_km2", "hub_id", "travel_time_hub_min", "territory_id"):
        assert col in loc, col
    assert set(loc["area_class"].dropna()) == {"FRA", "MRA"}
    # unreachable places are NaN with a reason, never a sentinel number
    tt = loc["travel_time_market_min"]
    assert (tt.isna() == loc["unreachable_reason"].notna()).all()
    assert tt.max() < 60  # a 13 km city at urban speeds
    # every locality appears in the map
    html = (study / "map.html").read_text()
    missing = [pid for pid in loc["place_id"] if pid not in html]
    assert not missing


def test_classes_follow_the_rules(study: Path) -> None:
    """An FRA cell is within every access threshold and under the slope threshold; an MRA
    cell fails at least one, and its type says which (rules: data/porto_alegre/rules.toml)."""
    loc = gpd.read_file(study / "localities.gpkg", layer="localities")
    areas = gpd.read_file(study / "areas.gpkg", layer="areas")
    a = areas.set_index("place_id") if "place_id" in areas else areas.set_index("area_id")
    joined = loc.set_index("place_id").join(a[["slope_deg"]], how="left")
    emp = joined["travel_time_employment_centre_min"]
    mkt = joined["travel_time_market_min"]
    isolated = (emp > 0.1667 * 60) | (mkt > 0.2 * 60) | emp.isna() | mkt.isna()
    steep = joined["slope_deg"] > 9.1
    fra = joined["area_class"] == "FRA"
    assert not (fra & (isolated | steep)).any()
    assert ((~fra) == (isolated | steep)).all()
    both = joined["mra_type"] == "both"
    assert (isolated[both] & steep[both]).all()
    assert (isolated[joined["mra_type"] == "isolated"]).all()
    assert (steep[joined["mra_type"] == "agroecological"]).all()


def test_indicators_beside_population(study: Path) -> None:
    """[indicators] of the embedded study: jobs, schools and health facilities within 5-20 min of
    each tier and by class, recomputed here from localities.gpkg; the share of land within those
    times against H3's own cell areas (spherical, h3.cell_area) over areas.gpkg."""
    import h3

    from territorial_gis.outputs import load_study_outputs

    out = load_study_outputs(study)
    loc, areas = out.localities, out.areas
    assert out.indicators_within is not None and out.indicators_by_group is not None and out.land_within is not None
    w = out.indicators_within.set_index(["tier", "threshold_min", "indicator"])
    assert set(w.index.get_level_values("tier")) == {"employment_centre", "market"}  # study tiers only
    for tier in ("employment_centre", "market"):
        t = loc[f"travel_time_{tier}_min"]
        for th in (5.0, 10.0, 20.0):
            for name in ("population", "jobs", "schools"):
                known = loc[name].notna()
                row = w.loc[(tier, th, name)]
                assert row["within"] == loc.loc[known & (t <= th), name].sum()
                assert row["total"] == loc.loc[known, name].sum()
                assert row["places_unknown"] == int((~known).sum())
    g = out.indicators_by_group.set_index(["by", "group"])
    mra = loc["area_class"] == "MRA"
    assert g.loc[("area_class", "MRA"), "jobs"] == loc.loc[mra, "jobs"].sum()
    assert g.loc[("area_class", "MRA"), "share_jobs"] == pytest.approx(loc.loc[mra, "jobs"].sum() / loc["jobs"].sum())
    assert {"area_class", "hub_id", "territory_id"} <= set(g.index.get_level_values("by"))
    km2 = areas["area_id"].map(lambda c: h3.cell_area(c, unit="km^2"))
    land = out.land_within.set_index(["tier", "threshold_min"])
    for th in (5.0, 10.0):
        inside = areas["travel_time_market_min"] <= th
        assert land.loc[("market", th), "area_km2_within"] == pytest.approx(km2[inside].sum(), rel=2e-3)
        assert land.loc[("market", th), "share_within"] == pytest.approx(km2[inside].sum() / km2.sum(), rel=1e-4)
    meta = out.study["indicators"]
    assert meta["counts"] == ["jobs", "schools", "healthcare"]
    assert meta["summary"]["within"]["jobs"]["market"]["10"] == w.loc[("market", 10.0, "jobs"), "share_within"]


def test_corridors_end_at_targets(study: Path) -> None:
    corr = gpd.read_file(study / "corridors.gpkg", layer="corridors")
    dest = gpd.read_file(study / "destinations.gpkg", layer="destinations")
    assert len(corr) > 0
    ids = set(dest["dest_id"].astype(str))
    assert set(corr["target_id"].astype(str)) <= ids
    up = pd.read_csv(study / "upgrades.csv")
    assert len(up) > 0


def test_surfaces_of_the_study(study: Path) -> None:
    """The [surface] stage of the embedded study: a raster per tier over the DEM, land and
    population by band, statistics per H3 cell; checked against the raster read back with
    rasterio at the localities (independently of the code that counted them)."""
    import numpy as np
    import rasterio

    from territorial_gis.outputs import StudyOutputs

    out = StudyOutputs.read(study)
    assert sorted(out.surfaces) == ["employment_centre", "market"]
    meta = json.loads((study / "study.json").read_text())
    assert meta["surface"]["terrain"].startswith("DEM") and meta["surface"]["resolution_m"] == 100.0
    assert meta["offroad"]["method"] == "straight"
    loc = out.localities
    bands = out.surface_bands
    assert bands is not None and list(bands["tier"].unique()) == ["employment_centre", "market"]
    m = bands[bands["tier"] == "market"].reset_index(drop=True)
    assert list(m["band"]) == ["0-5", "5-10", "10-15", "15-20", ">20", "unreachable"]
    assert m["share_area"].sum() == pytest.approx(1.0) and m["share_population"].sum() == pytest.approx(1.0)
    assert m["population"].sum() == pytest.approx(loc["population"].sum())
    # the population of each band, from the raster read back at the localities
    with rasterio.open(out.surfaces["market"]) as src:
        assert src.tags()["tier"] == "market"
        xy = loc.to_crs(src.crs).geometry
        t = np.array([v[0] for v in src.sample(list(zip(xy.x, xy.y, strict=True)))], dtype=float)
    pop = loc["population"].fillna(0).to_numpy()
    edges = [0, 5, 10, 15, 20]
    for k in range(4):
        lo, hi = edges[k], edges[k + 1]
        within = (t > lo) & (t <= hi) if k else (t <= hi)
        assert m.loc[k, "population"] == pytest.approx(pop[within].sum(), rel=1e-6)
    zonal = out.surface_zonal
    assert zonal is not None and len(zonal) == 2 * len(loc)
    assert set(zonal["area_id"]) == set(loc["place_id"])
    # read for a map: minutes on a lon/lat grid over the city
    r = out.read_surface("market", max_size=256)
    w, s_, e, n = r.bounds
    assert -51.4 < w < e < -51.0 and -30.3 < s_ < n < -29.9
    assert max(r.minutes.shape) <= 300 and np.nanmax(r.minutes) < 120


def test_second_run_reuses_cached_network(study: Path, cache_dir: Path, tmp_path: Path) -> None:
    first = json.loads((study / "study.json").read_text())
    assert first["network_cache"] == "miss"  # the session's cache folder starts empty
    res = run_study(None, tmp_path / "again", cache_dir=cache_dir, progress=False)
    meta = json.loads((res.outdir / "study.json").read_text())
    assert meta["network_cache"] == "hit"
    assert meta["network"]["nodes"] == first["network"]["nodes"]
    assert study_is_complete(res.outdir, res.config)


def test_refuses_to_overwrite(study: Path, cache_dir: Path) -> None:
    with pytest.raises(OutputExistsError):
        run_study(None, study, cache_dir=cache_dir, progress=False)


def test_failed_stage_leaves_nothing(tmp_path: Path, cache_dir: Path) -> None:
    cfg = default_study_config()
    cfg["tiers"]["employment_centre"] = "jobs>=10000000"  # matches no place
    out = tmp_path / "bad"
    with pytest.raises(StageError) as info:
        run_study(cfg, out, cache_dir=cache_dir, progress=False)
    assert info.value.stage == "places"
    assert "employment_centre" in str(info.value)
    assert not out.exists() or not any(out.iterdir())


def _data(name: str) -> str:
    return str(Path(default_study_config()["localities"]["file"]).parent / name)


def test_cli_failed_stage_exit_1(tmp_path: Path, cache_dir: Path) -> None:
    """A stage that fails at run time (a tier rule no place meets) exits 1 naming the stage,
    with no traceback and no output."""
    cfg_file = tmp_path / "study.toml"
    cfg_file.write_text(f'[study]\nname = "x"\n[network]\nsource = "{_data("poa_osm.pbf")}"\n'
                        f'[localities]\nfile = "{_data("poa_hexgrid.csv")}"\nid_col = "id"\n'
                        '[tiers]\nmarket = "jobs>=100000000"\n[outputs]\nmap = false\nreport = false\n')
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["run", str(cfg_file), "-o", str(out), "--cache-dir", str(cache_dir)])
    assert r.exit_code == 1
    assert "stage 'places' failed" in r.output and "market" in r.output
    assert "Traceback" not in r.output
    assert not out.exists() or not any(out.iterdir())


def test_cli_missing_input_file_fails_before_any_stage(tmp_path: Path, cache_dir: Path) -> None:
    cfg_file = tmp_path / "study.toml"
    cfg_file.write_text('[study]\nname = "x"\n[network]\nsource = "missing.osm.pbf"\n'
                        '[localities]\nfile = "l.csv"\n[tiers]\nmarket = "population>=1"\n')
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["run", str(cfg_file), "-o", str(out), "--cache-dir", str(cache_dir)])
    assert r.exit_code == 1
    errors = [ln for ln in r.output.splitlines() if ln.startswith("Error:")]
    assert errors == [f"Error: {cfg_file}: [network] source = 'missing.osm.pbf': file not found "
                      f"({(tmp_path / 'missing.osm.pbf').resolve()})"]
    assert "stage" not in r.output and "Traceback" not in r.output
    assert not out.exists()


@pytest.mark.parametrize("text, expect", [
    ('[nework]\nsource = "a"\n', "unknown section(s) nework"),
    ('[network]\nsource = "a"\nspeed = 3\n[localities]\nfile = "b"\n[tiers]\nx = "population>=1"\n',
     "[network]: unknown key(s) speed"),
    ('[network]\nplace = "a"\n[tiers]\nx = "population>=1"\n',
     "[localities]: needs 'file', 'catalogue' or 'grid_hex_m'"),
    ('[network\n', "not valid TOML"),
    # wrong types name the section, the key, the value and what was expected
    ('[network]\nplace = "a"\n[localities]\ngrid_hex_m = "big"\n[tiers]\nx = "population>=1"\n',
     "[localities] grid_hex_m = 'big': expected a number"),
    ('[network]\nplace = "a"\n[localities]\ngrid_hex_m = 500\n[tiers]\nx = "population>=1"\n'
     '[hubs]\nmax_time_min = 30\nmodel = "biggest"\n', "[hubs] model = 'biggest': expected one of 'cover'"),
    ('[network]\nplace = "a"\n[localities]\ngrid_hex_m = 500\n[tiers]\nx = "population>=1"\n'
     '[outputs]\nmap = "yes"\n', "[outputs] map = 'yes': expected true or false"),
    ('[network]\nplace = "a"\n[localities]\ngrid_hex_m = 500\n[tiers]\nx = "population>=1"\n'
     '[access]\nisochrones_min = [30, "sixty"]\n', "[access] isochrones_min = [30, 'sixty']: expected a list"),
    ('[network]\nplace = "a"\n[localities]\ngrid_hex_m = 500\n[tiers]\nx = "population>=1"\n'
     '[access]\nmax_snap_m = -5\n', "[access] max_snap_m = -5: expected a positive number"),
    ('[network]\nplace = "a"\n[localities]\ngrid_hex_m = 500\n[tiers]\nx = "population>=1"\n'
     '[corridors]\ntargets = ["y"]\n', "[corridors] targets = 'y': not a tier of the study (x)"),
    ('[network]\nplace = "a"\n[localities]\ngrid_hex_m = 500\n[tiers]\nx = "population>>1"\n',
     "[tiers] x = 'population>>1'"),
    ('[network]\nplace = "a"\n[localities]\ngrid_hex_m = 500\n[tiers]\nx = "population>=1"\n'
     '[hubs]\nmodel = "cover"\n', "[hubs]: needs max_time_min"),
])
def test_config_errors(tmp_path: Path, text: str, expect: str) -> None:
    p = tmp_path / "c.toml"
    p.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_study_config(p)
    assert expect in str(info.value)
    assert str(p) in str(info.value)


def test_area_name_column_checked_against_the_areas_file(tmp_path: Path) -> None:
    """An area name (or id) column the areas file lacks: one message naming the config file, the
    section, the key, the value and the areas file's columns; exit 1, no output, before any stage."""
    dane = Path(__file__).resolve().parents[1] / "data" / "guaviare" / "municipios_dane.geojson"
    head = '[network]\nplace = "a"\n[localities]\ngrid_hex_m = 5000\n[tiers]\nx = "population>=1"\n'
    micro = (f'[microregions]\nareas = "{dane}"\neligible = "n_localities >= 1"\nmin_areas = 2\n'
             'cec_max_time_min = 60\n')
    cases = {
        f'[classify]\nareas = "{dane}"\narea_name_column = "nombre"\n':
            f"[classify] area_name_column = 'nombre': no such column in the areas file {dane} (its columns: "
            "department_code, municipality_local_code, municipality_code, municipality)",
        f'{micro}area_name_column = "MPIO_CNMBR"\n':
            f"[microregions] area_name_column = 'MPIO_CNMBR': no such column in the areas file {dane}",
        f'{micro}area_id_column = "codigo"\n': "[microregions] area_id_column = 'codigo': no such column",
        '[classify]\narea_name_column = "municipality"\n':
            "[classify] area_name_column = 'municipality': the study classifies its localities",
        '[classify]\nareas = "hex:5000"\narea_name_column = "municipality"\n':
            "[classify] area_name_column = 'municipality': the areas 'hex:5000' are generated cells",
    }
    for i, (text, expect) in enumerate(cases.items()):
        p = tmp_path / f"c{i}.toml"
        p.write_text(head + text, encoding="utf-8")
        with pytest.raises(ConfigError) as info:
            load_study_config(p)
        assert str(info.value).startswith(f"{p}: ") and expect in str(info.value), str(info.value)
    p = tmp_path / "c0.toml"
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["run", str(p), "-o", str(out)])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert [ln for ln in r.output.splitlines() if ln.startswith("Error:")] == [
        f"Error: {p}: {next(iter(cases.values()))}"]
    assert not out.exists()


def test_bad_key_in_a_late_section_fails_before_any_stage(tmp_path: Path) -> None:
    """A wrong type in [territories] stops run_study at once: no network built, no folder made."""
    import time

    cfg = default_study_config()
    cfg["territories"]["max_time_min"] = "fifteen"
    out = tmp_path / "out"
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=r"\[territories\] max_time_min = 'fifteen': expected a number"):
        run_study(cfg, out, progress=False)
    assert time.perf_counter() - t0 < 1.0
    assert not out.exists()


def test_relative_paths_resolve_against_config(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("roads.osm.pbf", "sub/loc.csv", "m.csv"):
        (tmp_path / name).write_text("")
    p = tmp_path / "c.toml"
    p.write_text('[network]\nsource = "roads.osm.pbf"\n[localities]\nfile = "sub/loc.csv"\n'
                 '[tiers]\nmarket = "m.csv"\nbig = "population>=5"\n')
    cfg = load_study_config(p)
    assert isinstance(cfg, StudyConfig)
    assert cfg.network.source == str(tmp_path / "roads.osm.pbf")
    assert cfg.localities.file == str(tmp_path / "sub" / "loc.csv")
    assert cfg.tiers["market"] == str(tmp_path / "m.csv")
    assert cfg.tiers["big"] == "population>=5"
    assert cfg.name == "c"  # the file's stem when [study] has no name


def test_territories_within_regions_from_a_file(tmp_path: Path, cache_dir: Path) -> None:
    """The pipeline reads [territories] regions from a polygon file (relative to the config) and
    keeps every locality in a territory of its own region. TEST REGIONS (the area cut in two at a
    longitude), not real boundaries."""
    import shapely
    import tomli_w

    cfg = default_study_config()
    loc = pd.read_csv(Path(cfg["localities"]["file"]))
    mid = float(loc["lon"].median())
    w, s_, e, n = loc["lon"].min() - 1, loc["lat"].min() - 1, loc["lon"].max() + 1, loc["lat"].max() + 1
    gpd.GeoDataFrame({"region_id": ["w", "e"]}, geometry=[shapely.box(w, s_, mid, n), shapely.box(mid, s_, e, n)],
                     crs=4326).to_file(tmp_path / "halves.gpkg")
    cfg["territories"].update({"regions": "halves.gpkg", "within_region": True})
    for stage in ("corridors", "hubs", "criticality", "appraisal"):
        cfg[stage] = {"enabled": False}
    cfg["outputs"] = {"map": False, "report": False}
    (tmp_path / "study.toml").write_text(tomli_w.dumps(cfg))
    res = run_study(tmp_path / "study.toml", tmp_path / "out", cache_dir=cache_dir, progress=False)
    out = gpd.read_file(res.outdir / "localities.gpkg", layer="localities")
    ok = out["territory_status"] == "assigned"
    assert ok.any() and set(out["region_id"]) == {"w", "e"}
    assert (out.loc[ok, "region_id"] == out.loc[ok, "territory_region_id"]).all()
    terr = gpd.read_file(res.outdir / "territories.gpkg", layer="territories")
    assert set(terr["region_id"]) <= {"w", "e"}


def test_mexican_example_config_loads_offline() -> None:
    """examples/guerrero_montana needs internet for its roads; its config and its places (INEGI
    localities, CONAPO cities) are checked offline."""
    from territorial_gis.places import load_tiers

    cfg = load_study_config(Path(__file__).resolve().parents[1] / "examples" / "guerrero_montana" / "study.toml")
    assert cfg.network.bbox == [-99.3, 17.2, -98.2, 18.0]
    loc = load_study_places(cfg, None).localities
    assert len(loc) == 114 and loc["population"].sum() == 317_720
    tiers = load_tiers(cfg.tiers, loc)
    assert set(tiers["intermediate_city"]["name"]) == {"Tlapa", "Chilapa"}
    assert (tiers["employment_centre"]["population"] >= 15000).all()
    # the territories' region level is a column of both the localities and the centres
    assert cfg.territories is not None
    region = cfg.territories.regions
    assert region is not None
    assert loc[region].notna().all() and tiers["intermediate_city"][region].notna().all()
    assert set(tiers["intermediate_city"][region]) <= set(loc[region])


def test_unwritable_network_cache_does_not_stop_a_study(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A cache folder that cannot be made (its path is a file) is skipped with a warning."""
    blocker = tmp_path / "cache_is_a_file"
    blocker.write_text("not a folder")
    cfg = default_study_config()
    for stage in ("corridors", "hubs", "territories", "criticality", "appraisal"):
        cfg[stage] = {"enabled": False}
    cfg["outputs"] = {"map": False, "report": False, "network_gpkg": False}
    with caplog.at_level("WARNING", logger="territorial_gis"):
        res = run_study(cfg, tmp_path / "out", cache_dir=blocker, progress=False)
    assert (res.outdir / "localities.gpkg").is_file()
    assert json.loads((res.outdir / "study.json").read_text())["network_cache"] == "miss"
    assert any("not writable" in r.getMessage() and str(blocker) in r.getMessage() for r in caplog.records)


def test_network_cache_key_follows_the_builder_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new version of the network builder never reuses a network the old one built."""
    from territorial_gis import _netcache

    net = load_study_config(None).network
    before = _netcache.network_key(net)
    monkeypatch.setattr(_netcache, "code_hash", lambda: "another version of the code")
    assert _netcache.network_key(net) != before


def test_run_summary_lists_every_file_with_what_it_is(study: Path) -> None:
    """The closing summary of `tgis run` names every file written, map and report first."""
    from territorial_gis.cli.run import study_summary

    from territorial_gis.outputs import describe
    from territorial_gis.pipeline import StudyResult

    meta = json.loads((study / "study.json").read_text())
    res = StudyResult(outdir=study, files={n: study / n for n in meta["files"]}, summary=meta["summary"],
                      timings=meta["timings_s"])
    text = study_summary(res)
    listed = [ln.split()[0] for ln in text.splitlines() if ln.startswith("    ")]
    assert sorted(listed) == sorted(meta["files"]) and listed[:2] == ["map.html", "report.html"]
    for name in meta["files"]:
        assert describe(name), f"{name} has no description"
    assert "population 812,935" in text  # the census total of the embedded grid (IPEA)
