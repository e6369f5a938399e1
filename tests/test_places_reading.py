"""Reading places files: the messages and log lines a user sees, on SYNTHETIC files written here
(vector layers, workbooks, encodings). Each expected text is the documented wording with the
file, column, rows or layers of the case filled in by hand. Small and fast: these run in
``make mutate`` against territorial_gis.places and territorial_gis._tables.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from territorial_gis import _tables as tb
from territorial_gis.errors import ColumnError, CRSError, InputFileError
from territorial_gis.places import load_places

LON = [-51.23, -51.22, -51.21]
LAT = [-30.03, -30.04, -30.05]


def _gdf(**extra: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [1, 2, 3], "population": [10.0, 20.0, 30.0], **extra},
                            geometry=gpd.points_from_xy(LON, LAT), crs=4326)


def test_first_of_several_layers_is_read_and_said(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    p = tmp_path / "two.gpkg"
    _gdf().to_file(p, layer="villages", engine="pyogrio")
    _gdf().assign(population=[1.0, 2.0, 3.0]).to_file(p, layer="towns", engine="pyogrio")
    with caplog.at_level(logging.INFO, logger="territorial_gis"):
        got = load_places(p)
    assert got["population"].tolist() == [10.0, 20.0, 30.0]
    assert f"{p} has 2 layers (villages, towns); reading 'villages' (choose with layer= / --layer)" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="territorial_gis"):
        assert load_places(p, layer="towns")["population"].tolist() == [1.0, 2.0, 3.0]
    assert "layers" not in caplog.text
    one = tmp_path / "one.gpkg"
    _gdf().to_file(one, layer="only", engine="pyogrio")
    with caplog.at_level(logging.INFO, logger="territorial_gis"):
        load_places(one)
    assert "has 1 layers" not in caplog.text and "choose with layer=" not in caplog.text
    with pytest.raises(InputFileError, match=re.escape(f"layer 'roads' not found in {p}; layers: villages, towns")):
        load_places(p, layer="roads")


def test_geometries_missing_or_polygons(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    holes = _gdf().assign(id=[1, 2, 3])
    holes.loc[[0, 2], "geometry"] = None
    p = tmp_path / "holes.gpkg"
    holes.to_file(p, engine="pyogrio")
    with pytest.raises(ColumnError, match=re.escape(f"2 feature(s) of {p} have no geometry (rows 0, 2)")):
        load_places(p)
    none = _gdf()
    none["geometry"] = None
    q = tmp_path / "none.geojson"
    gpd.GeoDataFrame(none, geometry="geometry", crs=4326).to_file(q, engine="pyogrio")
    with pytest.raises(InputFileError, match=re.escape(f"places file {q} has no geometries (all 3 rows are empty)")):
        load_places(q)
    squares = _gdf()
    squares["geometry"] = [shapely.box(x - 0.001, y - 0.001, x + 0.001, y + 0.001) for x, y in zip(LON, LAT, strict=True)]
    squares.loc[1, "geometry"] = shapely.Point(LON[1], LAT[1])
    r = tmp_path / "squares.gpkg"
    squares.to_file(r, engine="pyogrio")
    with caplog.at_level(logging.INFO, logger="territorial_gis"):
        got = load_places(r)
    assert f"{r}: 2 Polygon geometries replaced by representative points" in caplog.text
    assert (got.geom_type == "Point").all() and got.geometry.name == "geometry"
    assert got.geometry.x.round(3).tolist() == LON and got.geometry.y.round(3).tolist() == LAT


@pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning")  # the point of the test
def test_files_without_a_crs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    p = tmp_path / "nocrs.shp"
    _gdf().set_crs(None, allow_override=True).to_file(p, engine="pyogrio")
    with caplog.at_level(logging.INFO, logger="territorial_gis"):
        got = load_places(p)
    assert (f"{p} has no CRS; its coordinates are within longitude/latitude range, assuming EPSG:4326 (WGS84)"
            in caplog.text)
    assert got.crs.to_epsg() == 4326 and got.geometry.x.round(2).tolist() == LON
    # projected coordinates without a CRS: told, and read once the CRS is given
    utm = _gdf().to_crs(32722)
    q = tmp_path / "utm.shp"
    utm.set_crs(None, allow_override=True).to_file(q, engine="pyogrio")
    w, s, e, n = utm.total_bounds
    with pytest.raises(CRSError, match=re.escape(f"{q} has no CRS and its coordinates (bounds {w:.6g}, {s:.6g}, "
                                                 f"{e:.6g}, {n:.6g}) are not longitude/latitude")):
        load_places(q)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="territorial_gis"):
        got = load_places(q, crs="EPSG:32722")
    assert f"{q} has no CRS; using the given EPSG:32722" in caplog.text
    assert np.allclose(got.geometry.x, LON, atol=1e-7) and np.allclose(got.geometry.y, LAT, atol=1e-7)


def test_vector_out_of_range_names_x_and_y(tmp_path: Path) -> None:
    bad = _gdf()
    bad["geometry"] = gpd.points_from_xy([-51.23, 200.0, -51.21], LAT)
    p = tmp_path / "bad.gpkg"
    bad.to_file(p, engine="pyogrio")
    with pytest.raises(ColumnError, match=re.escape(f"1 of 3 coordinates in {p} are outside longitude/latitude "
                                                    "range (columns 'x', 'y'; e.g. (200, -30.04))")):
        load_places(p)


def test_geometry_column_renamed(tmp_path: Path) -> None:
    g = _gdf().rename_geometry("geom")
    p = tmp_path / "geom.parquet"
    g.to_parquet(p)
    got = load_places(p)
    assert got.geometry.name == "geometry" and "geom" not in got.columns


def test_given_columns_must_exist(tmp_path: Path) -> None:
    p = tmp_path / "p.csv"
    p.write_text("ID,lng2,lat,pop\n1,-51.23,-30.03,5\n2,-51.22,-30.04,6\n3,-51.21,-30.05,7\n")
    with pytest.raises(ColumnError, match=re.escape(f"longitude column 'lon' not found in {p} (given with "
                                                    "lon_col= / --lon-col); columns: ID, lng2, lat, pop")):
        load_places(p, lon_col="lon")
    with pytest.raises(ColumnError, match=re.escape(f"latitude column 'y' not found in {p} (given with "
                                                    "lat_col= / --lat-col)")):
        load_places(p, lon_col="lng2", lat_col="y")
    got = load_places(p, id_col="id", lon_col="LNG2")  # names match whatever their case
    assert got["place_id"].tolist() == [1, 2, 3] and got.geometry.x.tolist() == LON


def test_unreadable_binary_files(tmp_path: Path) -> None:
    pq = tmp_path / "broken.parquet"
    pq.write_bytes(b"not parquet at all")
    with pytest.raises(InputFileError, match=re.escape(f"cannot read places file {pq} as Parquet: ")):
        load_places(pq)
    xl = tmp_path / "broken.xlsx"
    xl.write_bytes(b"not a zip")
    with pytest.raises(InputFileError, match=re.escape(f"cannot read workbook {xl}: ")):
        load_places(xl)


def test_workbook_empty_unnamed_columns_dropped(tmp_path: Path) -> None:
    p = tmp_path / "book.xlsx"
    df = pd.DataFrame({"id": [1, 2, 3], "lon": LON, "lat": LAT, "population": [5, 6, 7]})
    with pd.ExcelWriter(p) as w:
        df.to_excel(w, index=False, startcol=0)
        pd.DataFrame({"note": ["x", None, None]}).to_excel(w, index=False, startcol=5)
    raw = pd.read_excel(p)
    assert any(str(c).startswith("Unnamed:") for c in raw.columns)  # the gap column pandas names
    got = tb.read_excel(p)
    assert list(got.columns) == ["id", "lon", "lat", "population", "note"]


def test_encoding_log_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    p = tmp_path / "w.csv"
    p.write_bytes("id,nome\n1,Jo\u00e3o\n".encode("cp1252"))
    with caplog.at_level(logging.INFO, logger="territorial_gis"):
        df = tb.read_delimited(p, "cp1252")
    assert df["nome"].tolist() == ["Jo\u00e3o"]
    assert "w.csv read as Windows-1252 (as given)" in caplog.text
    u = tmp_path / "u.csv"
    u.write_bytes("id,nome\n1,Jo\u00e3o\n".encode("utf-8"))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="territorial_gis"):
        tb.read_delimited(u)
    assert "read as" not in caplog.text  # UTF-8 is the expected case: nothing to say


def test_tsv_is_split_on_tabs_only(tmp_path: Path) -> None:
    p = tmp_path / "t.tsv"
    p.write_text("id\tnome, completo\tpop\n1\tS\u00e3o Jo\u00e3o, Norte\t5\n")
    df = tb.read_delimited(p)
    assert list(df.columns) == ["id", "nome, completo", "pop"]
    assert df.iloc[0].tolist() == ["1", "S\u00e3o Jo\u00e3o, Norte", "5"]


def test_mixed_encoding_lines_keep_their_spaces_and_list_eight(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    good = "id,nome\n1,S\u00e3o Jos\u00e9 do Norte\n"
    bad = "".join(f"{i},Concei\u00e7\u00e3o da Barra {i}\n" for i in range(2, 11)).encode("cp1252")
    with caplog.at_level(logging.WARNING, logger="territorial_gis"):
        text, _ = tb.decode_text(good.encode("utf-8") + bad, tmp_path / "m.csv")
    lines = text.split("\n")
    assert lines[1] == "1,S\u00e3o Jos\u00e9 do Norte" and lines[2] == "2,Concei\u00e7\u00e3o da Barra 2"
    assert "UTF-8 except 9 line(s) in Windows-1252 (lines 3, 4, 5, 6, 7, 8, 9, 10, ...)" in caplog.text


def test_latin1_guess_becomes_windows_1252() -> None:
    """Curly quotes (0x93, 0x94) and an en dash (0x96) are Windows-1252 punctuation; where the
    detector says Latin-1 and Windows-1252 also decodes, Windows-1252 is used."""
    data = "\u201cVila Nova\u201d \u2013 S\u00e3o Jo\u00e3o, Concei\u00e7\u00e3o\n".encode("cp1252") * 5
    assert tb._detect_legacy(data) == "cp1252"
    assert data.decode(tb._detect_legacy(data)).startswith("\u201cVila Nova\u201d \u2013")


def test_space_not_in_groups_of_three_is_not_a_number() -> None:
    from territorial_gis import _numbers as nb

    got, bad = nb.parse(pd.Series(["1 62", "1 625", "12 345 678"]), nb.NumberFormat(".", " "))
    assert bad.tolist() == [True, False, False] and got.iloc[1:].tolist() == [1625.0, 12345678.0]


def test_exactly_eight_odd_lines_are_all_listed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    good = "id,nome\n1,S\u00e3o Jos\u00e9\n"
    bad = "".join(f"{i},Concei\u00e7\u00e3o {i}\n" for i in range(2, 10)).encode("cp1252")
    with caplog.at_level(logging.WARNING, logger="territorial_gis"):
        tb.decode_text(good.encode("utf-8") + bad, tmp_path / "e.csv")
    assert ("e.csv is UTF-8 except 8 line(s) in Windows-1252 (lines 3, 4, 5, 6, 7, 8, 9, 10); each line was "
            "read in its own encoding: check those names") in caplog.messages


def test_id_column_does_not_set_the_file_decimal_mark(tmp_path: Path) -> None:
    """Text ids such as '0.5' are not numbers of the file: the coordinates' ',' decides, so the
    count '1.625' is 1625 people."""
    p = tmp_path / "ids.csv"
    p.write_text("id;lon;lat;pop\n0.5;-51,23;-30,03;1.625\n0.7;-51,22;-30,04;2\n0.9;-51,21;-30,05;3\n")
    got = load_places(p)
    assert got["place_id"].tolist() == ["0.5", "0.7", "0.9"] and got["population"].tolist() == [1625.0, 2.0, 3.0]


def test_three_decimal_degrees_tell_the_file_decimal_mark(tmp_path: Path) -> None:
    """Coordinates such as '-51.234' hold no thousands, so they show '.' as the file's decimal
    mark, and a count of '1.625' would be a fraction of a person: refused, with the values."""
    p = tmp_path / "deg.csv"
    p.write_text("id,lon,lat,pop\n1,-51.234,-30.031,1.625\n2,-51.221,-30.042,2\n3,-51.215,-30.053,3\n")
    with pytest.raises(ColumnError) as err:
        load_places(p)
    assert str(err.value) == (
        f"population column 'pop' of {p} holds values such as '1.625' (row 2): the rest of the file uses '.' "
        "as decimal mark, which makes it a fraction of a person, while read with '.' separating thousands it "
        "is a whole number; set the number format with decimal=/thousands= (--decimal/--thousands, or the keys "
        "decimal/thousands of the study's [localities] table)")


def test_several_bad_values_are_each_named(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("id,lon,lat,pop\n1,-51.23,-30.03,n/d\n2,-51.22,-30.04,x\n3,-51.21,-30.05,3\n")
    with pytest.raises(ColumnError) as err:
        load_places(p)
    assert str(err.value) == (f"population column 'pop' of {p} holds 2 non-numeric value(s) "
                              "(row 2: 'n/d', row 3: 'x')")


@pytest.mark.parametrize(("xy", "ok"), [((180.0, -90.0), True), ((-180.0, 90.0), True), ((180.5, -30.0), False),
                                        ((-51.0, 90.5), False), ((-51.0, -90.5), False)])
@pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning")  # files without a CRS on purpose
def test_no_crs_lonlat_range_is_inclusive(tmp_path: Path, xy: tuple[float, float], ok: bool) -> None:
    g = gpd.GeoDataFrame({"id": [1, 2], "population": [1.0, 2.0]},
                         geometry=gpd.points_from_xy([-51.23, xy[0]], [-30.03, xy[1]]))
    p = tmp_path / "edge.shp"
    g.to_file(p, engine="pyogrio")
    if ok:
        got = load_places(p)
        assert got.crs.to_epsg() == 4326 and got.geometry.x.tolist() == [-51.23, xy[0]]
    else:
        with pytest.raises(CRSError, match="has no CRS and its coordinates"):
            load_places(p)


def test_access_table_three_decimal_degrees(tmp_path: Path) -> None:
    """`--areas`/access CSVs: '-51.234' in a coordinate column is degrees with a decimal point,
    never 51 thousand (coordinates hold no thousands), whatever the case of the column name."""
    from territorial_gis.classify import read_access_table

    p = tmp_path / "acc.csv"
    p.write_text("id,LON,Lat,travel_time_x_min\n1,-51.234,-30.031,12.5\n2,-51.221,-30.042,7\n")
    gdf = read_access_table(p)
    assert gdf.geometry.x.tolist() == [-51.234, -51.221] and gdf.geometry.y.tolist() == [-30.031, -30.042]
    assert gdf["travel_time_x_min"].tolist() == [12.5, 7.0]


def test_population_with_thousands_groups_and_four_bad_values(tmp_path: Path) -> None:
    p = tmp_path / "big.csv"
    p.write_text("id;lon;lat;pop\n1;-51,23;-30,03;1.234.567\n2;-51,22;-30,04;12\n3;-51,21;-30,05;7\n")
    assert load_places(p)["population"].tolist() == [1234567.0, 12.0, 7.0]
    q = tmp_path / "bad4.csv"
    q.write_text("id,lon,lat,pop\n" + "".join(f"{i},-51.2{i},-30.0{i},x{i}\n" for i in range(1, 5)))
    with pytest.raises(ColumnError) as err:
        load_places(q)
    # the count says 4, the examples stop at 3
    assert str(err.value) == (f"population column 'pop' of {q} holds 4 non-numeric value(s) "
                              "(row 2: 'x1', row 3: 'x2', row 4: 'x3')")


def test_workbook_sheet_choice_and_errors(tmp_path: Path) -> None:
    p = tmp_path / "two.xlsx"
    with pd.ExcelWriter(p) as w:
        pd.DataFrame({"nota": ["resumo"]}).to_excel(w, sheet_name="Resumo", index=False)
        pd.DataFrame({"id": [1, 2, 3], "lon": LON, "lat": LAT, "population": [5, 6, 7]}).to_excel(
            w, sheet_name="Dados", index=False)
    assert load_places(p, sheet="Dados")["population"].tolist() == [5.0, 6.0, 7.0]
    assert load_places(p, sheet="2")["population"].tolist() == [5.0, 6.0, 7.0]
    with pytest.raises(InputFileError, match=re.escape(f"sheet 'Outra' not found in {p}; sheets: Resumo, Dados")):
        load_places(p, sheet="Outra")


def test_crs_option_refused_for_a_file_with_a_crs(tmp_path: Path) -> None:
    from territorial_gis.errors import ConfigError

    p = tmp_path / "with.gpkg"
    _gdf().to_file(p, engine="pyogrio")
    with pytest.raises(ConfigError, match=re.escape(f"crs= (--crs) EPSG:32722 applies to files without a CRS; {p} "
                                                    "declares EPSG:4326")):
        load_places(p, crs="EPSG:32722")
    assert load_places(p, crs="EPSG:4326").geometry.x.tolist() == LON  # the same CRS is fine


# ---------------------------------------------------------------------- checks, each message in full
def test_missing_file_and_options_that_do_not_apply(tmp_path: Path) -> None:
    from territorial_gis.errors import ConfigError
    from territorial_gis.places import _check_applicable

    with pytest.raises(InputFileError, match=f"^places file not found: {re.escape(str(tmp_path / 'none.csv'))}$"):
        load_places(tmp_path / "none.csv")
    book = Path("villages.xlsx")
    with pytest.raises(ConfigError, match=r"^layer= \(--layer\) applies to GeoPackage and other multi-layer files; "
                                          r"villages.xlsx is an Excel workbook; choose a sheet with sheet= \(--sheet\)$"):
        _check_applicable(book, layer="towns", sheet=None, encoding=None)
    with pytest.raises(ConfigError, match=r"^layer= \(--layer\) applies to GeoPackage and other multi-layer files; "
                                          r"villages.csv is a text table$"):
        _check_applicable(Path("villages.csv"), layer="towns", sheet=None, encoding=None)


def test_row_without_coordinates_is_named_by_its_file_row(tmp_path: Path) -> None:
    """Line 1 is the header, so the second data row is file row 3."""
    p = tmp_path / "gap.csv"
    p.write_text("id,lon,lat\n1,-51.2,-30.0\n2,,-30.1\n3,-51.3,-30.2\n")
    with pytest.raises(ColumnError, match=r"^1 row\(s\) of .*gap.csv have no coordinates in 'lon'/'lat' "
                                          r"\(file rows 3\)$"):
        load_places(p)


def test_lonlat_range_limits_and_hints() -> None:
    from territorial_gis.places import _check_lonlat_range

    ok = np.array([-180.0, 180.0, 0.0])
    _check_lonlat_range(ok, np.array([-90.0, 90.0, 0.0]), "f.csv")  # the limits themselves are valid
    with pytest.raises(ColumnError, match=r"^1 of 2 coordinates in f.csv are outside longitude/latitude range "
                                          r"\(columns 'longitude', 'latitude'; e.g. \(180.5, 0\)\); if they are "
                                          r"projected coordinates, give their CRS \(crs=, --crs\)$"):
        _check_lonlat_range(np.array([0.0, 180.5]), np.array([0.0, 0.0]), "f.csv")
    with pytest.raises(ColumnError, match=r"e.g. \(0, -90.5\)"):
        _check_lonlat_range(np.array([0.0, 0.0]), np.array([0.0, -90.5]), "f.csv")
    with pytest.raises(ColumnError, match=r"^1 of 1 coordinates in f.csv are outside longitude/latitude range "
                                          r"\(columns 'x', 'y'; e.g. \(-30, -100\)\); latitude and longitude look "
                                          r"swapped: pass lon_col='y', lat_col='x' \(--lon-col y --lat-col x\)$"):
        _check_lonlat_range(np.array([-30.0]), np.array([-100.0]), "f.csv", "x", "y")


@pytest.mark.parametrize("k, n_ok, tail", [(8, 10, ""), (9, 10, ", ...")])
def test_swapped_rows_listed_up_to_eight(k: int, n_ok: int, tail: str) -> None:
    """SYNTHETIC: n_ok places near (-51.2, -30) and k with lat/lon swapped; fewer than half are
    swapped, so they are refused, naming at most eight ids (then '...')."""
    from territorial_gis.places import _check_swapped_rows

    ids = [f"ok{i}" for i in range(n_ok)] + [f"sw{i}" for i in range(k)]
    lon = [-51.2 + 0.01 * i for i in range(n_ok)] + [-30.0] * k
    lat = [-30.0 - 0.01 * i for i in range(n_ok)] + [-51.2] * k
    gdf = gpd.GeoDataFrame({"place_id": ids}, geometry=gpd.points_from_xy(lon, lat), crs=4326)
    listed = ", ".join(f"'sw{i}'" for i in range(min(k, 8))) + tail
    with pytest.raises(ColumnError, match=rf"^{k} of {n_ok + k} places of f.csv look like latitude and longitude "
                                          rf"swapped \(ids {re.escape(listed)}\)"):
        _check_swapped_rows(gdf, "f.csv")


def test_empty_ids_named_by_row() -> None:
    from territorial_gis.places import _clean_ids

    with pytest.raises(ColumnError, match=r"^id column 'id' of f.csv has 2 empty value\(s\) \(rows 1, 2\)$"):
        _clean_ids(pd.Series(["a", " ", None]), "f.csv", "id")


def test_other_column_called_name_is_kept_aside(tmp_path: Path) -> None:
    """With name_col='nombre', the file's own 'name' column is kept as 'name_source' and does not
    replace the names read from 'nombre'."""
    p = tmp_path / "names.csv"
    p.write_text("id,lon,lat,name,nombre\n1,-51.2,-30.0,old,Vila Nova\n2,-51.3,-30.1,old2,Belém\n")
    got = load_places(p, name_col="nombre")
    assert got["name"].tolist() == ["Vila Nova", "Belém"]
    assert got["name_source"].tolist() == ["old", "old2"]
