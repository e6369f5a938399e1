"""The catalogue of bad and unusual inputs (issue "No silent wrong results").

Every case is built at test time from the embedded Porto Alegre data (IPEA H3 cells, the OSM
extract, the SRTM DEM), cut small and labelled here; nothing is downloaded. Two families:

* **Refusals**: each bad input, through every command that reads it and through the Python
  API, must give exit code 1 (2 for usage errors), exactly one ``Error:`` line naming the
  file, column, value or option, no traceback, and leave no output file or folder behind.
* **Silent wrong results** (the worst outcome): Latin American number formats, Windows-1252
  and mixed encodings, Excel workbooks, DEM voids without a nodata tag, partly swapped
  coordinates. The values read are compared with values derived independently from the raw
  embedded files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from territorial_gis.cli import main
from territorial_gis.data import data_path

from territorial_gis.errors import TerritorialGISError

HEX = data_path("porto_alegre", "poa_hexgrid.csv")
DEM = data_path("porto_alegre", "poa_elevation.tif")
PBF = data_path("porto_alegre", "poa_osm.pbf")
#: cells of the embedded grid used by the small files: the 60 first (real IPEA rows)
N_CELLS = 60


# ============================================================================ the input files
def _csv(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def _cells() -> pd.DataFrame:
    return pd.read_csv(HEX, dtype={"id": str}).iloc[:N_CELLS].reset_index(drop=True)


def _brazilian(df: pd.DataFrame) -> str:
    """The cells as a Brazilian/Spanish spreadsheet exports them: ';' between fields, ',' as the
    decimal mark of coordinates, '.' between thousands of counts."""
    rows = ["id;lon;lat;populacao;empregos"]
    for r in df.itertuples():
        rows.append(f"{r.id};{r.lon:.6f};{r.lat:.6f};{int(r.population):,};{int(r.jobs):,}"
                    .replace(",", "X").replace(".", ",").replace("X", "."))
    return "\n".join(rows) + "\n"


def make_files(folder: Path) -> dict[str, Path]:
    """The labelled bad (and good) input files; keys are the case names."""
    cells = _cells()
    f: dict[str, Path] = {}
    f["good"] = folder / "good.csv"
    cells.to_csv(f["good"], index=False)
    f["good_gpkg"] = folder / "good.gpkg"
    gpd.GeoDataFrame(cells.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(cells["lon"], cells["lat"]),
                     crs=4326).to_file(f["good_gpkg"], engine="pyogrio")
    f["missing"] = folder / "no_such_file.csv"
    f["empty"] = _csv(folder, "empty.csv", "")
    f["header_only"] = _csv(folder, "header_only.csv", "id,lon,lat,population\n")
    f["no_id"] = folder / "no_id.csv"
    cells.drop(columns=["id"]).to_csv(f["no_id"], index=False)
    f["duplicate_ids"] = folder / "duplicate_ids.csv"
    pd.concat([cells, cells.iloc[[4]]]).to_csv(f["duplicate_ids"], index=False)
    f["text_lon"] = folder / "text_lon.csv"
    cells.astype({"lon": object}).assign(lon=lambda d: d["lon"].where(d.index != 2, "west")).to_csv(
        f["text_lon"], index=False)
    f["outside"] = folder / "outside.csv"
    cells.assign(lon=cells["lon"] * 10).to_csv(f["outside"], index=False)
    f["swapped_rows"] = folder / "swapped_rows.csv"
    sw = cells.copy()
    sw.loc[[3, 17], ["lon", "lat"]] = sw.loc[[3, 17], ["lat", "lon"]].to_numpy()
    sw.to_csv(f["swapped_rows"], index=False)
    # '.' decimal coordinates with '1.625'-like populations: a fraction of a person one way
    f["ambiguous_count"] = _csv(folder, "ambiguous_count.csv", "id,lon,lat,population\n"
                                "a,-51.2301,-30.0301,1.625\nb,-51.2201,-30.0401,12.340\nc,-51.2101,-30.0501,850\n")
    # a GeoPackage whose population is text: no other column tells the convention
    f["ambiguous_gpkg"] = folder / "ambiguous.gpkg"
    gpd.GeoDataFrame({"id": ["a", "b", "c"], "population": ["1.625", "850", "12.340"]},
                     geometry=gpd.points_from_xy([-51.23, -51.22, -51.21], [-30.03, -30.04, -30.05]),
                     crs=4326).to_file(f["ambiguous_gpkg"], engine="pyogrio")
    f["mixed_formats"] = _csv(folder, "mixed_formats.csv", "id;lon;lat;population\n"
                              "a;-51,23;-30,03;1.234,5\nb;-51,22;-30,04;1,234.5\nc;-51,21;-30,05;7\n")
    f["negative_pop"] = folder / "negative_pop.csv"
    cells.assign(population=cells["population"].where(cells.index != 5, -12)).to_csv(f["negative_pop"],
                                                                                     index=False)
    f["junk_gpkg"] = _csv(folder, "junk.gpkg", "this is not a geopackage")
    f["a_folder"] = folder / "a_folder.csv"
    f["a_folder"].mkdir()
    f["old_xls"] = _csv(folder, "old.xls", "\xd0\xcf\x11\xe0 old binary workbook", "latin-1")
    f["book"] = folder / "book.xlsx"
    with pd.ExcelWriter(f["book"], engine="openpyxl") as xw:
        cells.to_excel(xw, sheet_name="datos", index=False)
        pd.DataFrame({"nota": ["IPEA aopdata 2019"]}).to_excel(xw, sheet_name="notas", index=False)
    f["cp1252"] = _csv(folder, "cp1252.csv", "id,nome,lon,lat,population\n1,Vila Jo\u00e3o \u2013 Norte,"
                       "-51.23,-30.03,10\n2,\u201cCristal\u201d,-51.22,-30.04,20\n3,Centro,-51.21,-30.05,30\n",
                       "cp1252")
    f["brazilian"] = _csv(folder, "brazilian.csv", _brazilian(cells), "cp1252")
    return f


#: case -> (file key, extra options, text the Error line must hold)
PLACES_CASES: dict[str, tuple[str, list[str], str]] = {
    "missing file": ("missing", [], "not found: "),
    "empty file": ("empty", [], "places file is empty"),
    "header only": ("header_only", [], "header_only.csv has no rows"),
    "no id column": ("no_id", [], "no id column found in"),
    "duplicate ids": ("duplicate_ids", [], "duplicated id"),
    "text in lon": ("text_lon", [], "'west'"),
    "outside lon/lat range": ("outside", [], "outside longitude/latitude range"),
    "partly swapped rows": ("swapped_rows", [], "look like latitude and longitude swapped"),
    "ambiguous count": ("ambiguous_count", [], "'1.625'"),
    "ambiguous, no evidence": ("ambiguous_gpkg", [], "nothing else in the file tells which"),
    "mixed number formats": ("mixed_formats", [], "mixes number formats"),
    "negative population": ("negative_pop", [], "negative value"),
    "junk GeoPackage": ("junk_gpkg", [], "cannot read places file"),
    "a folder as input": ("a_folder", [], "is a directory"),
    "old .xls workbook": ("old_xls", [], ".xls spreadsheets are not read"),
    "unknown sheet": ("book", ["--sheet", "Hoja9"], "sheet 'Hoja9' not found"),
    "missing --pop-col": ("good", ["--pop-col", "habitantes"], "population column 'habitantes' not found"),
    "missing --id-col": ("good", ["--id-col", "codigo"], "id column 'codigo' not found"),
    "missing --name-col": ("good", ["--name-col", "nombre"], "name column 'nombre' not found"),
    "missing --lon-col": ("good", ["--lon-col", "longitud"], "longitude column 'longitud' not found"),
    "--layer of a CSV": ("good", ["--layer", "places"], "--layer"),
    "--sheet of a CSV": ("good", ["--sheet", "datos"], "--sheet"),
    "unknown --encoding": ("good", ["--encoding", "klingon"], "unknown encoding 'klingon'"),
    "wrong --encoding": ("cp1252", ["--encoding", "utf-8"], "cp1252.csv is not utf-8"),
    "--encoding of a GeoPackage": ("good_gpkg", ["--encoding", "cp1252"], "--encoding"),
    "unknown --crs": ("good", ["--crs", "EPSG:99999"], "unknown CRS 'EPSG:99999'"),
    "--crs against the file's": ("good_gpkg", ["--crs", "EPSG:32722"], "declares EPSG:4326"),
    "--lon-col of a GeoPackage": ("good_gpkg", ["--lon-col", "lon"], "--lon-col"),
    "same --decimal and --thousands": ("good", ["--decimal", ",", "--thousands", ","], "cannot both be ','"),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_files(tmp_path_factory.mktemp("bad_inputs"))


@pytest.fixture(scope="module")
def net_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from territorial_gis.network import build_network

    path = tmp_path_factory.mktemp("net") / "poa.tgnet"
    build_network(PBF).save(path)
    return path


def invoke(args: list[Any]) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def listing(folder: Path) -> list[str]:
    """Every file and folder below ``folder`` (hidden ones too), to prove nothing was left."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def assert_refused(res: Result, code: int, needle: str, folder: Path, before: list[str]) -> None:
    """Exit ``code``, one ``Error:`` line holding ``needle``, no traceback, nothing written."""
    assert res.exit_code == code, (res.exit_code, res.output)
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1, res.output
    assert needle in errors[0], errors[0]
    assert "Traceback" not in res.output
    assert "Error:" not in res.stdout
    assert listing(folder) == before


# ============================================================================ places, every command
def _places_commands(net: Path, good: Path) -> dict[str, Callable[[Path, Path], list[Any]]]:
    """Command -> the arguments reading a places file ``f`` and writing into ``o``."""
    return {
        "access nearest": lambda f, o: ["access", "nearest", net, f, "--tier", "employment_centre=top3:jobs",
                                        "-o", o / "access.csv"],
        "access od": lambda f, o: ["access", "od", net, f, good, "-o", o / "od.csv"],
        "access isochrones": lambda f, o: ["access", "isochrones", net, f, "--thresholds", "5",
                                           "-o", o / "iso.gpkg"],
        "classify": lambda f, o: ["classify", f, "-o", o / "classes.gpkg"],
        "corridors": lambda f, o: ["corridors", net, f, "--targets", "employment_centre",
                                   "--tier", "employment_centre=top3:jobs", "-o", o / "corridors.gpkg"],
        "hubs": lambda f, o: ["hubs", net, f, "--max-time", "5", "-o", o / "hubs.gpkg"],
        "territories": lambda f, o: ["territories", net, f, "--centres", "top3:population",
                                     "-o", o / "territories.gpkg"],
        "rai": lambda f, o: ["rai", net, f, "-o", o / "rai.gpkg"],
    }


COMMANDS = ["access nearest", "access od", "access isochrones", "classify", "corridors", "hubs", "territories",
            "rai"]


@pytest.mark.parametrize("case", list(PLACES_CASES))
@pytest.mark.parametrize("command", COMMANDS)
def test_places_refused_by_every_command(command: str, case: str, files: dict[str, Path], net_file: Path,
                                         tmp_path: Path) -> None:
    key, options, needle = PLACES_CASES[case]
    args = _places_commands(net_file, files["good"])[command](files[key], tmp_path)
    before = listing(tmp_path)
    res = invoke([*args, *options])
    assert_refused(res, 1, needle, tmp_path, before)
    if key not in ("good", "good_gpkg", "book", "cp1252"):  # the message names the file
        assert files[key].name in res.stderr


#: the same cases through the Python API: keyword arguments of load_places
API_OPTIONS = {"--sheet": "sheet", "--pop-col": "pop_col", "--id-col": "id_col", "--name-col": "name_col",
               "--lon-col": "lon_col", "--layer": "layer", "--encoding": "encoding", "--crs": "crs",
               "--decimal": "decimal", "--thousands": "thousands"}


@pytest.mark.parametrize("case", list(PLACES_CASES))
def test_places_refused_by_the_api(case: str, files: dict[str, Path]) -> None:
    from territorial_gis.places import load_places

    key, options, needle = PLACES_CASES[case]
    kwargs = {API_OPTIONS[options[i]]: options[i + 1] for i in range(0, len(options), 2)}
    with pytest.raises(TerritorialGISError) as exc:
        load_places(files[key], **kwargs)
    assert needle.replace("--", "") in str(exc.value).replace("--", "")
    assert isinstance(exc.value, ValueError)


# ============================================================================ outputs, every command
def _output_commands(net: Path, good: Path) -> dict[str, tuple[Callable[[Path], list[Any]], str]]:
    """Command -> (arguments writing ``OUT``, a suffix it writes)."""
    return {
        "network build": (lambda o: ["network", "build", PBF, "-o", o], ".tgnet"),
        "access nearest": (lambda o: ["access", "nearest", net, good, "--tier", "employment_centre=top3:jobs",
                                      "-o", o], ".csv"),
        "access od": (lambda o: ["access", "od", net, good, good, "-o", o], ".csv"),
        "access isochrones": (lambda o: ["access", "isochrones", net, good, "--thresholds", "5", "-o", o], ".gpkg"),
        "classify": (lambda o: ["classify", good, "-o", o], ".gpkg"),
        "corridors": (lambda o: ["corridors", net, good, "--targets", "employment_centre",
                                 "--tier", "employment_centre=top3:jobs", "-o", o], ".gpkg"),
        "hubs": (lambda o: ["hubs", net, good, "--max-time", "5", "-o", o], ".gpkg"),
        "territories": (lambda o: ["territories", net, good, "--centres", "top3:population", "-o", o], ".gpkg"),
        "rai": (lambda o: ["rai", net, good, "-o", o], ".gpkg"),
    }


OUTPUT_CASES = ["unwritable /proc", "a folder", "a folder named like a file", "an existing file",
                "below a file", "unsupported format"]


@pytest.mark.parametrize("case", OUTPUT_CASES)
@pytest.mark.parametrize("command", ["network build", "access nearest", "access od", "access isochrones",
                                     "classify", "corridors", "hubs", "territories", "rai"])
def test_outputs_checked_before_any_work(command: str, case: str, files: dict[str, Path], net_file: Path,
                                         tmp_path: Path) -> None:
    build, suffix = _output_commands(net_file, files["good"])[command]
    if case == "unsupported format" and command == "network build":
        pytest.skip("network build chooses its writer by suffix (the network module's)")
    target, needle = _output_target(case, suffix, tmp_path)
    before = listing(tmp_path)
    res = invoke(build(target))
    assert_refused(res, 1, needle, tmp_path, before)


def _output_target(case: str, suffix: str, folder: Path) -> tuple[Path | str, str]:
    if case == "unwritable /proc":
        return Path("/proc") / f"tgis-out{suffix}", "/proc does not accept new files"
    if case == "a folder":
        return str(folder) + "/", "is a folder"
    if case == "a folder named like a file":
        (folder / f"out{suffix}").mkdir()
        return folder / f"out{suffix}", f"out{suffix} is a folder"
    if case == "an existing file":
        (folder / f"out{suffix}").write_text("earlier result")
        return folder / f"out{suffix}", "use --overwrite"
    if case == "below a file":
        (folder / "notes.txt").write_text("a file, not a folder")
        return folder / "notes.txt" / f"out{suffix}", "notes.txt is a file, not a folder"
    return folder / "out.xyz", "unsupported output format '.xyz'"


@pytest.mark.parametrize("case", ["unwritable /proc", "a folder", "an existing file", "below a file"])
@pytest.mark.parametrize("command", ["map", "report"])
def test_map_and_report_outputs(command: str, case: str, tmp_path: Path,
                                tmp_path_factory: pytest.TempPathFactory) -> None:
    from _browser import rendering_study

    study = rendering_study(tmp_path_factory)["folder"]
    target, needle = _output_target(case, ".html", tmp_path)
    before = listing(tmp_path)
    res = invoke([command, study, "-o", target])
    assert_refused(res, 1, needle, tmp_path, before)


@pytest.mark.parametrize("command", ["run", "batch"])
@pytest.mark.parametrize("case", ["unwritable /proc", "a file"])
def test_study_folders(command: str, case: str, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[batch]\nname = "b"\nstudy = "default"\n[[regions]]\nname = "r"\n' if command == "batch"
                      else '[study]\nname = "s"\n')
    if case == "a file":
        (tmp_path / "out").write_text("a file")
        target, code, needle = tmp_path / "out", 2, "is a file"
    else:
        target, code, needle = Path("/proc/tgis-study"), 1, "/proc does not accept new files"
    before = listing(tmp_path)
    # run: the embedded demonstration study (no config); batch: one region of it
    res = invoke([command, *([config] if command == "batch" else []), "-o", target])
    assert_refused(res, code, needle, tmp_path, before)


# ============================================================================ options of each command
def _command_cases(f: dict[str, Path], net: Path, o: Path) -> dict[str, tuple[list[Any], int, str]]:
    good, hubs_out = f["good"], o / "h.gpkg"
    nearest = ["access", "nearest", net, good, "-o", o / "a.csv"]
    corr = ["corridors", net, good, "-o", o / "c.gpkg"]
    hubs = ["hubs", net, good, "-o", hubs_out]
    terr = ["territories", net, good, "-o", o / "t.gpkg"]
    return {
        "nearest: tier without NAME=": ([*nearest, "--tier", "jobs>=5"], 1, "--tier 'jobs>=5'"),
        "nearest: tier twice": ([*nearest, "--tier", "a=top3:jobs", "--tier", "a=top2:jobs"], 1, "tier 'a' is given twice"),
        "nearest: tier matches nothing": ([*nearest, "--tier", "a=jobs>=1e9"], 1, "matches no place"),
        "nearest: tier column missing": ([*nearest, "--tier", "a=wages>=10"], 1, "column 'wages'"),
        "nearest: tier file missing": ([*nearest, "--tier", "a=no_such_tier.csv"], 1, "no_such_tier.csv"),
        "nearest: bad tier rule": ([*nearest, "--tier", "a=jobs>>5"], 1, "cannot read tier rule"),
        "nearest: no --tier": (nearest, 2, "--tier"),
        "nearest: unknown option": ([*nearest, "--tier", "a=top3:jobs", "--id-column", "id"], 2, "--id-column"),
        "nearest: negative --max-snap-m": ([*nearest, "--tier", "a=top3:jobs", "--max-snap-m", "-5"], 2,
                                           "--max-snap-m"),
        "nearest: missing network": (["access", "nearest", o / "nope.tgnet", good, "--tier", "a=top3:jobs",
                                      "-o", o / "a.csv"], 1, "nope.tgnet"),
        "od: negative cutoff": (["access", "od", net, good, good, "--cutoff", "-1", "-o", o / "od.csv"], 2,
                                "--cutoff"),
        "isochrones: decreasing thresholds": (["access", "isochrones", net, good, "--thresholds", "10,5",
                                               "-o", o / "i.gpkg"], 1, "--thresholds '10,5'"),
        "isochrones: text thresholds": (["access", "isochrones", net, good, "--thresholds", "a,b",
                                         "-o", o / "i.gpkg"], 1, "--thresholds 'a,b'"),
        "isochrones: zero threshold": (["access", "isochrones", net, good, "--thresholds", "0",
                                        "-o", o / "i.gpkg"], 1, "--thresholds '0'"),
        "isochrones: negative buffer": (["access", "isochrones", net, good, "--buffer", "-5",
                                         "-o", o / "i.gpkg"], 2, "--buffer"),
        "classify: raster without NAME=": (["classify", good, "--raster", "dem", "-o", o / "c.gpkg"], 2,
                                           "NAME=FILE"),
        "classify: raster missing": (["classify", good, "--raster", "dem=no_dem.tif", "-o", o / "c.gpkg"], 1,
                                     "no_dem.tif"),
        "classify: rules missing": (["classify", good, "--rules", o / "no_rules.toml", "-o", o / "c.gpkg"], 1,
                                    "no_rules.toml"),
        "classify: bad hex size": (["classify", good, "--areas", "hex:big", "-o", o / "c.gpkg"], 1,
                                   "'big' is not a number"),
        "classify: areas of points": (["classify", good, "--areas", good, "-o", o / "c.gpkg"], 1,
                                      "must hold polygons"),
        "corridors: empty --targets": ([*corr, "--targets", ",", "--tier", "a=top3:jobs"], 1, "--targets"),
        "corridors: unknown target": ([*corr, "--targets", "port", "--tier", "a=top3:jobs"], 1,
                                      "unknown target tier 'port'"),
        "corridors: unknown --upgrade-to": ([*corr, "--targets", "a", "--tier", "a=top3:jobs", "--upgrade-to",
                                             "autobahn"], 1, "--upgrade-to 'autobahn'"),
        "corridors: no targets source": ([*corr, "--targets", "a"], 1, "--destinations FILE"),
        "corridors: --destinations and --tier": ([*corr, "--targets", "a", "--tier", "a=top3:jobs",
                                                  "--destinations", good], 1, "not both"),
        "corridors: --top with --no-upgrades": ([*corr, "--targets", "a", "--tier", "a=top3:jobs", "--no-upgrades",
                                                 "--top", "5"], 2, "--top apply to the upgrade ranking"),
        "territories: --employment-limit alone": ([*terr, "--centres", "top3:population", "--employment-limit",
                                                   "30"], 2, "--employment-limit needs --employment"),
        "classify: --altitude-col with a DEM": (["classify", good, "--raster", f"dem={DEM}", "--altitude-col",
                                                    "alt", "-o", o / "c.gpkg"], 2, "--altitude-col applies"),
        "corridors: no area_class": ([*corr, "--targets", "a", "--tier", "a=top3:jobs"], 1,
                                     "no 'area_class' column"),
        "hubs: maxcover without --k": ([*hubs, "--max-time", "5", "--model", "maxcover"], 1, "needs --k"),
        "hubs: --k with cover": ([*hubs, "--max-time", "5", "--k", "3"], 1, "--k applies to"),
        "hubs: --k zero": ([*hubs, "--max-time", "5", "--model", "pmedian", "--k", "0"], 1, "--k must be"),
        "hubs: --k over candidates": ([*hubs, "--max-time", "5", "--model", "pmedian", "--k", "500"], 1,
                                      "larger than the 60 candidate hubs"),
        "hubs: negative --max-time": ([*hubs, "--max-time", "-5"], 1, "-5"),
        "hubs: missing service column": ([*hubs, "--max-time", "5", "--service-col", "escuelas"], 1,
                                         "escuelas"),
        "hubs: not a GeoPackage": (["hubs", net, good, "--max-time", "5", "-o", o / "h.csv"], 1,
                                   "unsupported output format '.csv'"),
        "territories: --within-region alone": ([*terr, "--centres", "top3:population", "--within-region"], 2,
                                               "--within-region needs --regions"),
        "territories: --region-id-col alone": ([*terr, "--centres", "top3:population", "--region-id-col",
                                                   "cod"], 2, "--region-id-col needs --regions"),
        "territories: centres match nothing": ([*terr, "--centres", "population>=1e9"], 1, "matches no place"),
        "territories: negative --max-time": ([*terr, "--centres", "top3:population", "--max-time", "-1"], 1,
                                             "--max-time"),
        "map: no study folder": (["map", o / "no_study", "-o", o / "m.html"], 1, "no_study"),
        "report: no study folder": (["report", o / "no_study", "-o", o / "r.html"], 1, "no_study"),
        "run: missing config": (["run", o / "nope.toml", "-o", o / "study"], 1, "nope.toml"),
        "run: unknown key": (["run", f["bad_study"], "-o", o / "study"], 1, "bogus"),
        "batch: missing config": (["batch", o / "nope.toml", "-o", o / "b"], 1, "nope.toml"),
        "network info: missing file": (["network", "info", o / "nope.tgnet"], 1, "nope.tgnet"),
        "network info: junk file": (["network", "info", f["junk_gpkg"]], 1, "junk.gpkg"),
        "network build: missing source": (["network", "build", o / "nope.osm.pbf", "-o", o / "n.tgnet"], 1,
                                          "nope.osm.pbf"),
    }


COMMAND_CASES = list(_command_cases({"good": Path(), "bad_study": Path(), "junk_gpkg": Path()}, Path(), Path()))


@pytest.mark.parametrize("case", COMMAND_CASES)
def test_command_options_refused(case: str, files: dict[str, Path], net_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    bad_study = files["good"].parent / "bad_study.toml"
    bad_study.write_text('[study]\nname = "s"\nbogus = 1\n')
    args, code, needle = _command_cases({**files, "bad_study": bad_study}, net_file, out)[case]
    before = listing(out)
    res = invoke(args)
    assert_refused(res, code, needle, out, before)


# ============================================================================ silent wrong results
def test_brazilian_number_format_reads_the_real_counts(files: dict[str, Path], net_file: Path,
                                                       tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """';' separators, ',' decimal coordinates and '.' thousands (IPEA cells written as a pt-BR
    spreadsheet exports them): every population and job count must be the raw integer, never
    1.625 people. Expected values: the raw embedded CSV."""
    from territorial_gis.places import load_places

    raw = _cells()
    assert (raw["population"] >= 1000).sum() >= 10  # the case exercises the thousands mark
    with caplog.at_level(logging.INFO, logger="territorial_gis"):
        got = load_places(files["brazilian"])
    np.testing.assert_array_equal(got["population"].to_numpy(), raw["population"].to_numpy(dtype=float))
    np.testing.assert_array_equal(got["empregos"].to_numpy(), raw["jobs"].to_numpy(dtype=float))
    assert got["population"].sum() == raw["population"].sum()
    np.testing.assert_allclose(got.geometry.x, raw["lon"].round(6), atol=1e-9)
    assert "'populacao' read with decimal ',' and thousands '.'" in caplog.text  # and said so
    # through the CLI: the access table carries the right populations and the jobs rule selects
    # the cells with >= 1,000 jobs (written '1.591'; read as 1.591 jobs none would qualify)
    assert (raw["jobs"] >= 1000).sum() == 2
    out = tmp_path / "access.csv"
    res = invoke(["access", "nearest", net_file, files["brazilian"], "--tier", "centre=empregos>=1000",
                  "-o", out])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out)
    assert table["population"].sum() == raw["population"].sum()
    assert "centre: 2 destinations" in res.stdout


def test_ambiguous_numbers_read_right_once_told(files: dict[str, Path]) -> None:
    from territorial_gis.places import load_places

    got = load_places(files["ambiguous_gpkg"], thousands=".")
    assert got["population"].tolist() == [1625.0, 850.0, 12340.0]
    got = load_places(files["ambiguous_count"], thousands=".")
    assert got["population"].tolist() == [1625.0, 12340.0, 850.0]
    assert got.geometry.x.round(4).tolist() == [-51.2301, -51.2201, -51.2101]  # degrees keep their '.'
    got = load_places(files["ambiguous_gpkg"], decimal=".")  # told it is a decimal mark: a fraction
    assert got["population"].tolist() == [1.625, 850.0, 12.340]


def test_windows_1252_names(files: dict[str, Path], caplog: pytest.LogCaptureFixture) -> None:
    """En dash and curly quotes (bytes 0x96, 0x93, 0x94) are Windows-1252 punctuation, not
    Latin-1 control characters."""
    from territorial_gis.places import load_places

    with caplog.at_level(logging.INFO, logger="territorial_gis"):
        got = load_places(files["cp1252"])
    assert got["name"].tolist() == ["Vila Jo\u00e3o \u2013 Norte", "\u201cCristal\u201d", "Centro"]
    assert not any(0x80 <= ord(ch) <= 0x9F for n in got["name"] for ch in n)
    assert "read as Windows-1252" in caplog.text


def test_utf8_file_with_one_windows_1252_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from territorial_gis.places import load_places

    good = "id,name,lon,lat,population\n1,Pe\u00f1alol\u00e9n,-51.23,-30.03,10\n2,\u00d1u\u00f1oa,-51.22,-30.04,20\n"
    bad = "3,Conchal\u00ed,-51.21,-30.05,30\n"
    p = tmp_path / "mixed.csv"
    p.write_bytes(good.encode("utf-8") + bad.encode("cp1252"))
    with caplog.at_level(logging.WARNING, logger="territorial_gis"):
        got = load_places(p)
    assert got["name"].tolist() == ["Pe\u00f1alol\u00e9n", "\u00d1u\u00f1oa", "Conchal\u00ed"]
    assert "UTF-8 except 1 line(s) in Windows-1252 (lines 4)" in caplog.text


def test_valid_utf8_stays_utf8(tmp_path: Path) -> None:
    """'São' in UTF-8 is bytes C3 A3; read as Windows-1252 it would be 'SÃ£o'."""
    from territorial_gis.places import load_places

    p = tmp_path / "utf8.csv"
    p.write_bytes("id,nome,lon,lat\n1,S\u00e3o Jos\u00e9,-51.23,-30.03\n2,Gravata\u00ed,-51.22,-30.04\n"
                  "3,Canoas,-51.21,-30.05\n".encode("utf-8"))
    assert load_places(p)["name"].tolist() == ["S\u00e3o Jos\u00e9", "Gravata\u00ed", "Canoas"]


def test_excel_workbook(files: dict[str, Path], tmp_path: Path) -> None:
    from territorial_gis.places import load_places

    raw = _cells()
    got = load_places(files["book"])
    assert got["place_id"].tolist() == raw["id"].tolist()
    np.testing.assert_array_equal(got["population"], raw["population"].to_numpy(dtype=float))
    assert load_places(files["book"], sheet="DATOS")["population"].sum() == raw["population"].sum()
    assert load_places(files["book"], sheet="1")["population"].sum() == raw["population"].sum()
    # numbers typed as text in pt-BR format, in a workbook
    text = pd.DataFrame({"codigo": ["0001", "0002", "0003"], "lon": ["-51,23", "-51,22", "-51,21"],
                         "lat": ["-30,03", "-30,04", "-30,05"], "habitantes": ["1.625", "12.340", "850"]})
    book = tmp_path / "texto.xlsx"
    text.to_excel(book, index=False)
    got = load_places(book, id_col="codigo", pop_col="habitantes")
    assert got["place_id"].tolist() == ["0001", "0002", "0003"]  # codes keep their zeros
    assert got["population"].tolist() == [1625.0, 12340.0, 850.0]


def test_partly_swapped_rows_are_named(files: dict[str, Path]) -> None:
    from territorial_gis.errors import ColumnError
    from territorial_gis.places import load_places

    raw = _cells()
    with pytest.raises(ColumnError) as exc:
        load_places(files["swapped_rows"])
    msg = str(exc.value)
    assert f"2 of {N_CELLS} places" in msg
    assert f"'{raw['id'][3]}', '{raw['id'][17]}'" in msg
    assert raw["id"][4] not in msg


def test_dem_voids_without_nodata_tag(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An SRTM/INEGI-style export: -32768 voids in cells under two localities, no nodata tag.
    Those localities get no terrain value (NaN, counted and named), never slope 89.9; the
    others keep the values of the clean DEM."""
    import rasterio

    from territorial_gis.places import load_places
    from territorial_gis.terrain import add_raster_indicators

    locs = load_places(HEX).iloc[:200].reset_index(drop=True)
    clean = add_raster_indicators(locs, {"dem": DEM})
    with rasterio.open(DEM) as src:
        z, prof = src.read(1), src.profile
        rows, cols = rasterio.transform.rowcol(src.transform, locs.geometry.x.iloc[[10, 20]],
                                               locs.geometry.y.iloc[[10, 20]])
    z = z.astype("float32")
    z[np.asarray(rows), np.asarray(cols)] = -32768
    voids = tmp_path / "dem_voids.tif"
    with rasterio.open(voids, "w", **{**prof, "dtype": "float32", "nodata": None}) as dst:
        dst.write(z, 1)
    with caplog.at_level(logging.WARNING, logger="territorial_gis"):
        got = add_raster_indicators(locs, {"dem": voids})
    assert got.loc[[10, 20], ["elevation_m", "slope_deg", "tri_m"]].isna().all().all()
    assert "dem_voids.tif" in caplog.text and "-32768" in caplog.text
    assert "localities have no terrain value" in caplog.text
    assert got["slope_deg"].max() < 60  # no 89.9-degree cliffs from voids
    # localities away from the voids (3x3 neighbourhoods untouched) keep the clean values
    far = got["slope_deg"].notna()
    assert far.sum() >= 190
    np.testing.assert_allclose(got.loc[far, "slope_deg"], clean.loc[far, "slope_deg"], rtol=1e-6)


def test_isochrone_figures_of_one_kind(files: dict[str, Path], net_file: Path, tmp_path: Path) -> None:
    """Cumulative figures never decrease with the threshold; rings add up to them."""
    within, rings = tmp_path / "within.gpkg", tmp_path / "rings.gpkg"
    pois = data_path("porto_alegre", "poa_points_of_interest.csv")
    assert invoke(["-q", "access", "isochrones", net_file, pois, "--thresholds", "2,4,6", "-o", within]).exit_code == 0
    assert invoke(["-q", "access", "isochrones", net_file, pois, "--thresholds", "2,4,6", "--bands",
                   "-o", rings]).exit_code == 0
    w, r = gpd.read_file(within), gpd.read_file(rings)
    assert {"within_area_km2", "within_road_km"} <= set(w) and not {"ring_area_km2", "area_km2"} & set(w)
    assert {"ring_area_km2", "ring_road_km"} <= set(r) and not {"within_area_km2", "road_km"} & set(r)
    assert np.all(np.diff(w["within_area_km2"]) >= 0) and np.all(np.diff(w["within_road_km"]) >= 0)
    np.testing.assert_allclose(r["ring_road_km"].cumsum(), w["within_road_km"], rtol=1e-9)
    np.testing.assert_allclose(r["ring_area_km2"].cumsum(), w["within_area_km2"], rtol=1e-3)


def test_number_format_keys_of_a_study(files: dict[str, Path], tmp_path: Path) -> None:
    """The keys the messages name (decimal/thousands of [localities]) exist in a study config."""
    from territorial_gis.config import load_study_config
    from territorial_gis.places import load_localities

    got = load_localities({"file": str(files["ambiguous_gpkg"]), "thousands": "."})
    assert got["population"].tolist() == [1625.0, 850.0, 12340.0]
    study = tmp_path / "study.toml"
    study.write_text(f'[study]\nname = "s"\n[network]\nsource = "{PBF}"\n[localities]\n'
                     f'file = "{files["ambiguous_gpkg"]}"\ndecimal = ","\nthousands = "."\n'
                     f'encoding = "utf-8"\n[tiers]\ncentre = "top1:population"\n', encoding="utf-8")
    cfg = load_study_config(study)
    assert cfg.localities.thousands == "." and cfg.localities.decimal == ","
    spec = cfg.localities.load_spec()
    assert {spec["thousands"], spec["decimal"], spec["encoding"]} == {".", ",", "utf-8"}
    bad = tmp_path / "bad.toml"
    bad.write_text(study.read_text(encoding="utf-8").replace('thousands = "."', 'thousands = ";"'), encoding="utf-8")
    with pytest.raises(TerritorialGISError, match="thousands"):
        load_study_config(bad)
