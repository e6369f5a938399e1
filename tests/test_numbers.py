"""Numbers written as text and tables as analysts receive them: territorial_gis._numbers,
territorial_gis._tables and the number paths of territorial_gis.places, on SYNTHETIC values
written here. Each expected value is read off the value by hand with the convention named in
the test (e.g. '1.234,5' with ',' as decimal mark is one thousand two hundred and thirty-four
point five). Small and fast: these are the tests ``make mutate`` runs against those modules.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from territorial_gis import _numbers as nb
from territorial_gis import _tables as tb
from territorial_gis.errors import ColumnError, ConfigError, InputFileError
from territorial_gis.places import load_places

BR = nb.NumberFormat(",", ".")
US = nb.NumberFormat(".", ",")


# ------------------------------------------------------------------------- formats
def test_make_format_completes_the_missing_half() -> None:
    assert nb.make_format(None, None) is None
    assert nb.make_format(",", None) == BR
    assert nb.make_format(".", None) == US
    assert nb.make_format(None, ".") == BR
    assert nb.make_format(None, ",") == US
    assert nb.make_format(None, "space") == nb.NumberFormat(".", " ")
    assert nb.make_format(",", "space") == nb.NumberFormat(",", " ")
    assert nb.make_format(None, "none") == nb.NumberFormat(".", "")
    assert nb.make_format(",", "none") == nb.NumberFormat(",", "")


@pytest.mark.parametrize(("decimal", "thousands", "message"), [
    (";", None, "decimal mark must be '.' or ',', got ';'"),
    (None, "_", "thousands separator must be '.', ',', 'space' or 'none', got '_'"),
    (".", ".", "the decimal mark and the thousands separator cannot both be '.'"),
    (",", ",", "the decimal mark and the thousands separator cannot both be ','"),
])
def test_make_format_refusals(decimal: str | None, thousands: str | None, message: str) -> None:
    with pytest.raises(ValueError) as err:
        nb.make_format(decimal, thousands)
    assert str(err.value) == message


def test_describe() -> None:
    assert BR.describe() == "decimal ',' and thousands '.'"
    assert nb.NumberFormat(".", "").describe() == "decimal '.' and thousands none"
    assert nb.NumberFormat(",", " ").describe() == "decimal ',' and thousands space"


# ------------------------------------------------------------------------- one value
@pytest.mark.parametrize(("text", "expected"), [
    ("1.234,5", ("number", ",", ".")),
    ("1,234.5", ("number", ".", ",")),
    ("12.340.001", ("number", None, ".")),
    ("12,340,001", ("number", None, ",")),
    ("16,75", ("number", ",", None)),
    ("0.125", ("number", ".", None)),
    ("1234.567", ("number", ".", None)),
    (".5", ("number", ".", None)),
    ("1.625", ("ambiguous", ".", None)),
    ("-1.625", ("ambiguous", ".", None)),
    ("12,345", ("ambiguous", ",", None)),
    ("123,456", ("ambiguous", ",", None)),
    ("1625", ("number", None, None)),
    ("+7", ("number", None, None)),
    ("\u22127", ("number", None, None)),
    ("1 625", ("number", None, " ")),
    ("1\u00a0625,5", ("number", ",", " ")),
    ("1\u202f625.5", ("number", ".", " ")),
    ("1.5e3", ("number", ".", None)),
    ("2E-4", ("number", None, None)),
    ("", ("invalid", None, None)),
    ("-", ("invalid", None, None)),
    ("abc", ("invalid", None, None)),
    ("1 62", ("invalid", None, None)),
    ("1.23.4", ("invalid", None, None)),
    ("1,234,5.6", ("invalid", None, None)),
    ("1.2,3", ("invalid", None, None)),
    ("12a", ("invalid", None, None)),
])
def test_classify_value(text: str, expected: tuple[str, str | None, str | None]) -> None:
    assert nb.classify_value(text) == expected


def test_scan_collects_first_examples_and_ignores_blanks() -> None:
    s = pd.Series(["1.234,5", None, np.nan, "  ", "2.345,75", "16,75", "x1", "1.625", "1,625", "7"],
                  index=[10, 11, 12, 13, 14, 15, 16, 17, 18, 19])
    ev = nb.scan(s)
    assert ev.n_values == 7  # blanks and NaN are not values
    assert ev.decimal == {",": (10, "1.234,5")}
    assert ev.thousands == {".": (10, "1.234,5")}
    assert ev.ambiguous == {".": (17, "1.625"), ",": (18, "1,625")}
    assert ev.invalid == [(16, "x1")]
    assert not ev.numeric
    assert nb.scan(pd.Series(["7", "8"])).numeric
    assert not nb.scan(pd.Series([None, ""], dtype=object)).numeric  # no value at all
    space = nb.scan(pd.Series(["1 625"]))
    assert space.thousands == {} and space.decimal == {}  # a space is not evidence of a convention


# ------------------------------------------------------------------------- parsing a column
def test_parse_with_each_convention() -> None:
    s = pd.Series(["1.234,5", "12.340.001", "16,75", ",5", "-3", "\u22122,5", "1 625", "", None, "7,", "abc",
                   "1.23"])
    got, bad = nb.parse(s, BR)
    exp = [1234.5, 12340001.0, 16.75, 0.5, -3.0, -2.5, 1625.0, np.nan, np.nan, 7.0, np.nan, np.nan]
    np.testing.assert_array_equal(got.to_numpy(), exp)
    assert bad.tolist() == [False] * 10 + [True, True]  # '1.23' is not a number with '.' thousands

    got, bad = nb.parse(pd.Series(["1,234.5", "1.5e3", "-2E-1", "1.625", "1,625", "0.5"]), US)
    np.testing.assert_array_equal(got.to_numpy(), [1234.5, 1500.0, -0.2, 1.625, 1625.0, 0.5])
    assert not bad.any()

    # scientific notation is read only when '.' is the decimal mark
    got, bad = nb.parse(pd.Series(["1,5e3"]), BR)
    assert bad.tolist() == [True] and math.isnan(got.iloc[0])


def test_parse_without_thousands_and_numbers_kept() -> None:
    plain = nb.NumberFormat(",", "")
    got, bad = nb.parse(pd.Series(["1625,5", "1.625", 3, 2.5, np.int64(4)]), plain)
    assert got.iloc[0] == 1625.5 and math.isnan(got.iloc[1]) and got.iloc[2:].tolist() == [3.0, 2.5, 4.0]
    assert bad.tolist() == [False, True, False, False, False]
    spaced = nb.NumberFormat(".", " ")
    got, bad = nb.parse(pd.Series(["1 625.5", "1,625"]), spaced)
    assert got.iloc[0] == 1625.5 and bad.tolist() == [False, True]
    idx = pd.Index([5, 9])
    got, bad = nb.parse(pd.Series(["1", "2"], index=idx), US)
    assert got.index.equals(idx) and bad.index.equals(idx)


# ------------------------------------------------------------------------- deciding a column
def _decide(values: list[str], kind: str = "measure", file_decimal: str | None = None) -> nb.Decision:
    return nb.decide(nb.scan(pd.Series(values)), kind=kind, file_decimal=file_decimal)


def test_decide_from_unambiguous_values() -> None:
    assert _decide(["1.234,5", "1.625"]) == nb.Decision(BR, how="from its values")
    assert _decide(["12.340.001", "1.625"]) == nb.Decision(BR, how="from its values")
    assert _decide(["16,75"]) == nb.Decision(BR, how="from its values")
    assert _decide(["0.5", "1,625"]) == nb.Decision(US, how="from its values")
    assert _decide(["12,340,001"]) == nb.Decision(US, how="from its values")
    assert _decide(["7", "8"]) == nb.Decision(US, how="plain numbers")


def test_decide_refuses_mixed_formats() -> None:
    d = _decide(["0.5", "16,75"])
    assert d.fmt is None
    assert d.problem == ("mixes number formats: '0.5' (row 0) uses '.' as decimal mark; "
                         "'16,75' (row 1) uses ',' as decimal mark")
    d = _decide(["12.340.001", "12,340,001"])
    assert d.fmt is None and "'12.340.001' (row 0) uses '.' to separate thousands" in d.problem
    d = _decide(["0.5", "1.234.567"])  # '.' as decimal mark and as thousands
    assert d.fmt is None and d.problem.startswith("mixes number formats")


def test_decide_ambiguous_columns() -> None:
    d = _decide(["1.625", "7"])
    assert d.fmt is None
    assert d.problem == ("holds values such as '1.625' (row 0), which read as 1625 if '.' separates "
                         "thousands or as 1.625 if it is the decimal mark, and nothing else in the file tells which")
    d = _decide(["-12,345"])
    assert "read as 12345 if ',' separates thousands or as -12.345 if it is the decimal mark" in d.problem
    d = _decide(["1.625", "1,625"])
    assert d.fmt is None and d.problem == ("holds '1.625' (row 0) and '1,625' (row 1): one of '.' and ',' "
                                           "separates thousands and the other is the decimal mark, and nothing "
                                           "tells which")
    # degrees cannot hold thousands
    assert _decide(["-51.234"], kind="degrees") == nb.Decision(US, how="coordinates in degrees have no thousands")
    assert _decide(["-51,234"], kind="degrees").fmt == BR
    # the rest of the file decides a measure, and a count unless it would make a fraction of a person
    assert _decide(["1.625"], file_decimal=",") == nb.Decision(
        BR, how="the rest of the file uses ',' as decimal mark")
    assert _decide(["1.625"], kind="count", file_decimal=",").fmt == BR
    assert _decide(["12,345"], kind="count", file_decimal=".").fmt == US
    d = _decide(["1.625"], kind="count", file_decimal=".")
    assert d.fmt is None and d.problem.startswith("holds values such as '1.625' (row 0): the rest of the file uses '.'")
    assert _decide(["1.625"], kind="measure", file_decimal=".").fmt == US


def test_file_decimal() -> None:
    by_values = nb.Decision(BR, how="from its values")
    plain = nb.Decision(US, how="plain numbers")
    assert nb.file_decimal([by_values, plain]) == ","
    assert nb.file_decimal([plain]) is None
    assert nb.file_decimal([]) is None
    assert nb.file_decimal([by_values, nb.Decision(US, how="from its values")]) is None
    assert nb.file_decimal([nb.Decision(None, "x"), by_values]) == ","


# ------------------------------------------------------------------------- encodings
def test_encoding_names() -> None:
    assert tb.encoding_name("cp1252") == "Windows-1252"
    assert tb.encoding_name("latin-1") == "ISO-8859-1 (Latin-1)"
    assert tb.encoding_name("utf-8") == "UTF-8"
    assert tb.encoding_name("cp437") == "cp437"


def test_decode_text_paths(tmp_path: Path) -> None:
    p = tmp_path / "f.csv"
    text = "id,nome\n1,S\u00e3o Jos\u00e9\n"
    assert tb.decode_text(text.encode("utf-8"), p) == (text, "UTF-8")
    assert tb.decode_text(b"\xef\xbb\xbf" + text.encode("utf-8"), p) == (text, "UTF-8 (with BOM)")
    assert tb.decode_text(text.encode("utf-16"), p) == (text, "UTF-16")
    assert tb.decode_text(text.encode("cp1252"), p, "cp1252") == (text, "Windows-1252 (as given)")
    dash = "id,nome\n1,Vila \u2013 Norte \u201cA\u201d\n"
    got, used = tb.decode_text(dash.encode("cp1252"), p)
    assert got == dash and used == ""  # detected; the log says which
    with pytest.raises(ConfigError, match="unknown encoding 'klingon'"):
        tb.decode_text(b"x", p, "klingon")
    with pytest.raises(InputFileError, match=r"f.csv is not utf-8: byte 0xe3 on line 2 cannot be decoded"):
        tb.decode_text("id\nS\u00e3o\n".encode("cp1252"), p, "utf-8")
    with pytest.raises(InputFileError, match="starts like UTF-16 but is not"):
        tb.decode_text(b"\xff\xfe\x00\xd8", p)


def test_utf16_text_has_no_bom_char(tmp_path: Path) -> None:
    got, used = tb.decode_text("a,b\n1,2\n".encode("utf-16"), tmp_path / "f.csv")
    assert got == "a,b\n1,2\n" and used == "UTF-16"


def test_mixed_lines_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    lines = ["id,nome", "1,S\u00e3o", "2,Jo\u00e3o"]
    data = "\n".join(lines[:2]).encode("utf-8") + b"\n" + lines[2].encode("cp1252")
    with caplog.at_level(logging.INFO, logger="territorial_gis"):
        got, used = tb.decode_text(data, tmp_path / "m.csv")
    assert got.split("\n") == lines and used == ""
    assert ("m.csv is UTF-8 except 1 line(s) in Windows-1252 (lines 3); each line was read in its own encoding: "
            "check those names") in caplog.messages
    caplog.clear()
    only_legacy = "\n".join(lines).encode("cp1252")
    with caplog.at_level(logging.INFO, logger="territorial_gis"):
        got, _ = tb.decode_text(only_legacy, tmp_path / "l.csv")
    assert got.split("\n") == lines
    assert ("l.csv is not UTF-8: read as Windows-1252 (detected; set encoding= / --encoding to override)"
            in caplog.messages)
    bom = b"\xef\xbb\xbf" + data
    assert tb.decode_text(bom, tmp_path / "b.csv")[0].split("\n") == lines


def test_read_delimited_separators(tmp_path: Path) -> None:
    for name, text in [("a.csv", "id;pop\n1;1.625\n"), ("b.csv", "id|pop\n1|1.625\n"),
                       ("c.tsv", "id\tpop\n1\t1.625\n"), ("d.txt", "id, pop \n 1, 1.625\n")]:
        p = tmp_path / name
        p.write_text(text)
        df = tb.read_delimited(p)
        assert list(df.columns) == ["id", "pop"], name
        assert df["pop"].tolist() == ["1.625"], name  # text, read later with the file's convention
    p = tmp_path / "zeros.csv"
    p.write_text("id,x\n007,1\n,\n")
    df = tb.read_delimited(p)
    assert df["id"].tolist() == ["007"]  # leading zeros kept, all-empty row dropped
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n")
    with pytest.raises(InputFileError, match="empty.csv is empty"):
        tb.read_delimited(empty)


def test_pick_sheet(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    p = tmp_path / "b.xlsx"
    names = ["Resumo", "Dados"]
    with caplog.at_level(logging.INFO, logger="territorial_gis"):
        assert tb._pick_sheet(names, None, p) == "Resumo"
    assert "b.xlsx has 2 sheets (Resumo, Dados); reading 'Resumo'" in caplog.text
    assert tb._pick_sheet(names, " dados ", p) == "Dados"
    assert tb._pick_sheet(names, "2", p) == "Dados"
    assert tb._pick_sheet(names, "1", p) == "Resumo"
    for bad in ("3", "0", "Outra"):
        with pytest.raises(InputFileError, match=f"sheet '{bad}' not found in .*b.xlsx; sheets: Resumo, Dados"):
            tb._pick_sheet(names, bad, p)


def test_excel_columns() -> None:
    nums = tb._excel_column(pd.Series([1, 2.5, None], dtype=object))
    assert nums.dtype == float and nums.iloc[:2].tolist() == [1.0, 2.5] and math.isnan(nums.iloc[2])
    mixed = tb._excel_column(pd.Series([7001.0, "x ", None, 2.5, True], dtype=object))
    assert [None if pd.isna(v) else v for v in mixed] == ["7001", "x", None, "2.5", "True"]
    assert mixed.dtype == object
    assert tb._excel_column(pd.Series([True, False], dtype=object)).tolist() == ["True", "False"]


# ------------------------------------------------------------------------- through load_places
def _places(tmp_path: Path, text: str, name: str = "p.csv", **kw: object) -> pd.DataFrame:
    p = tmp_path / name
    p.write_bytes(text.encode("utf-8"))
    return load_places(p, **kw)


def test_blank_population_cell_beside_a_thousands_value(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """'12,345' in a file whose coordinates use '.' as decimal mark is twelve thousand three
    hundred and forty-five people; the blank cell beside it is an unknown population (NaN with a
    warning), not an error and not 0."""
    text = "id,lon,lat,population\n1,-51.23,-30.03,\"12,345\"\n2,-51.22,-30.04,\n3,-51.21,-30.05,7\n"
    with caplog.at_level(logging.WARNING, logger="territorial_gis"):
        got = _places(tmp_path, text)
    assert got["population"].iloc[0] == 12345.0 and got["population"].iloc[2] == 7.0
    assert math.isnan(got["population"].iloc[1])
    assert "1 of 3 places have no population in 'population' (kept as NaN)" in caplog.text


def test_population_fraction_refused_with_the_values(tmp_path: Path) -> None:
    text = "id;lon;lat;pop\n1;-51,23;-30,03;1.625\n2;-51,22;-30,04;3\n3;-51,21;-30,05;4\n"
    got = _places(tmp_path, text)  # ',' decimal in the coordinates: '.' separates thousands
    assert got["population"].tolist() == [1625.0, 3.0, 4.0]
    text = "id,lon,lat,pop\n1,-51.23,-30.03,1.625\n2,-51.22,-30.04,3\n3,-51.21,-30.05,4\n"
    with pytest.raises(ColumnError) as err:
        _places(tmp_path, text, "q.csv")
    msg = str(err.value)
    assert "population column 'pop' of" in msg and "q.csv holds values such as '1.625' (row 2)" in msg
    assert "fraction of a person" in msg and "--decimal/--thousands" in msg
    assert _places(tmp_path, text, "q.csv", thousands=".")["population"].tolist() == [1625.0, 3.0, 4.0]


def test_non_numeric_population_names_rows(tmp_path: Path) -> None:
    text = "id,lon,lat,pop\n1,-51.23,-30.03,12\n2,-51.22,-30.04,n/d\n3,-51.21,-30.05,4\n"
    with pytest.raises(ColumnError, match=r"population column 'pop' of .*p.csv holds 1 non-numeric value\(s\) "
                                          r"\(row 3: 'n/d'\)"):
        _places(tmp_path, text)
    with pytest.raises(ColumnError, match=r"holds 1 non-numeric value\(s\) with the given decimal ',' and "
                                          r"thousands '.' \(row 3: 'n/d'\)"):
        _places(tmp_path, text, "r.csv", decimal=",")


def test_other_columns_read_as_numbers_or_kept(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    text = ("id;lon;lat;area;code;ambig;note\n"
            "1;-51,23;-30,03;1.234,5;007;1.625;a\n"
            "2;-51,22;-30,04;16,75;010;2.500;b\n"
            "3;-51,21;-30,05;3;020;3.125;c\n")
    got = _places(tmp_path, text)
    assert got["area"].tolist() == [1234.5, 16.75, 3.0]
    assert got["code"].tolist() == ["007", "010", "020"]  # leading zeros: codes stay text
    assert got["ambig"].tolist() == [1625.0, 2500.0, 3125.0]  # the file's decimal mark is ','
    assert got["note"].tolist() == ["a", "b", "c"]
    text2 = "id,lon,lat,ambig\n1,-51.23,-30.03,1.625\n2,-51.22,-30.04,2.500\n3,-51.21,-30.05,3\n"
    got = _places(tmp_path, text2, "s.csv")
    assert got["ambig"].tolist() == [1.625, 2.5, 3.0]  # a measure follows the file's '.'
    mixed = "id,lon,lat,m\n1,-51.23,-30.03,0.5\n2,-51.22,-30.04,\"16,75\"\n3,-51.21,-30.05,3\n"
    with caplog.at_level(logging.WARNING, logger="territorial_gis"):
        got = _places(tmp_path, mixed, "t.csv")
    assert got["m"].tolist() == ["0.5", "16,75", "3"]
    assert "column 'm' mixes number formats" in caplog.text and "it is kept as text" in caplog.text
    told = _places(tmp_path, "id,lon,lat,m\n1,-51.23,-30.03,\"1,5\"\n2,-51.22,-30.04,x\n3,-51.21,-30.05,2\n",
                   "u.csv", decimal=",")
    assert told["m"].tolist() == ["1,5", "x", "2"]  # not all numbers in the given format: text


def test_coordinates_in_degrees_keep_their_own_mark(tmp_path: Path) -> None:
    text = "id;lon;lat;pop\n1;-51.234;-30.125;1.625\n2;-51.222;-30.041;2.000\n3;-51.210;-30.050;12\n"
    got = _places(tmp_path, text, thousands=".")
    assert got.geometry.x.round(3).tolist() == [-51.234, -51.222, -51.21]
    assert got["population"].tolist() == [1625.0, 2000.0, 12.0]


def test_number_format_option_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"decimal mark must be '.' or ',', got ';' \(decimal=/thousands=, "
                                          r"--decimal/--thousands\)"):
        _places(tmp_path, "id,lon,lat\n1,-51.2,-30.0\n", decimal=";")


def test_workbook_cell_of_spaces_in_a_text_population_column(tmp_path: Path) -> None:
    """A population column typed as text in Excel ('1.625' kept as text) with a cell holding only
    spaces: the spaces are an unknown population (NaN), not a crash (this raised IndexError)."""
    p = tmp_path / "book.xlsx"
    pd.DataFrame({"id": [1, 2, 3], "lon": [-51.23, -51.22, -51.21], "lat": [-30.03, -30.04, -30.05],
                  "pop": ["1.625", "   ", "12"]}).to_excel(p, index=False)
    got = load_places(p, thousands=".")
    assert got["population"].iloc[0] == 1625.0 and got["population"].iloc[2] == 12.0
    assert math.isnan(got["population"].iloc[1])


# ------------------------------------------------------------------------- other tables read the same way
def test_indicator_table_encoding_and_number_formats(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A Windows-1252 ';' export: codes keep their zeros, names decode, '1.625' next to '12,5'
    decimals is 1625, '-' and 'N. D.' are empty cells of a number column."""
    from territorial_gis.indicators import read_table

    p = tmp_path / "ind.csv"
    p.write_bytes("c\u00f3digo;munic\u00edpio;popula\u00e7\u00e3o;\u00e1rea;nota\n"
                  "01001;S\u00e3o Jo\u00e3o \u2013 Norte;1.625;12,5;a\n"
                  "01002;Guaran\u00e1;-;3,25;b\n"
                  "01003;Itu;12.340;N. D.;c\n".encode("cp1252"))
    with caplog.at_level(logging.INFO, logger="territorial_gis"):
        df = read_table(p)
    assert list(df.columns) == ["c\u00f3digo", "munic\u00edpio", "popula\u00e7\u00e3o", "\u00e1rea", "nota"]
    assert df["c\u00f3digo"].tolist() == ["01001", "01002", "01003"]
    assert df["munic\u00edpio"].tolist() == ["S\u00e3o Jo\u00e3o \u2013 Norte", "Guaran\u00e1", "Itu"]
    assert df["popula\u00e7\u00e3o"].tolist()[::2] == [1625.0, 12340.0] and math.isnan(df["popula\u00e7\u00e3o"].iloc[1])
    assert df["\u00e1rea"].tolist()[:2] == [12.5, 3.25] and math.isnan(df["\u00e1rea"].iloc[2])
    assert df["nota"].tolist() == ["a", "b", "c"]
    assert "read as Windows-1252" in caplog.text
    kept = read_table(p, text_columns=["popula\u00e7\u00e3o"])
    assert kept["popula\u00e7\u00e3o"].tolist() == ["1.625", "-", "12.340"]


def test_indicator_table_ambiguous_column_stays_text(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from territorial_gis.indicators import read_table

    p = tmp_path / "amb.csv"
    p.write_text("code,value\nA,1.625\nB,2.500\n")
    with caplog.at_level(logging.WARNING, logger="territorial_gis"):
        df = read_table(p)
    assert df["value"].tolist() == ["1.625", "2.500"]
    assert ("amb.csv: column 'value' holds values such as '1.625' (row 2), which read as 1625 if '.' separates "
            "thousands") in caplog.text
    with pytest.raises(InputFileError, match="indicator table is empty: .*empty.csv"):
        (tmp_path / "empty.csv").write_text("")
        read_table(tmp_path / "empty.csv")


def test_access_table_with_decimal_commas(tmp_path: Path) -> None:
    """`tgis classify --areas` CSV: ';' separated, ',' decimal degrees and times."""
    from territorial_gis.classify import read_access_table

    p = tmp_path / "acc.csv"
    p.write_bytes("id;lon;lat;travel_time_city_min;nome\n1;-51,23;-30,03;12,5;Jo\u00e3o\n"
                  "2;-51,22;-30,04;1.250,5;Z\u00e9\n".encode("cp1252"))
    gdf = read_access_table(p)
    assert gdf.geometry.x.round(2).tolist() == [-51.23, -51.22] and gdf.geometry.y.round(2).tolist() == [-30.03, -30.04]
    assert gdf["travel_time_city_min"].tolist() == [12.5, 1250.5]
    assert gdf["nome"].tolist() == ["Jo\u00e3o", "Z\u00e9"]
    assert gdf.crs.to_epsg() == 4326


# ------------------------------------------------------------------ vectorised = cell by cell
_cells = st.one_of(
    st.from_regex(r"\A[+\-\u2212]?\d{1,7}([.,]\d{1,4})?\Z"),
    st.from_regex(r"\A\d{1,3}([.,  \u00a0]\d{3}){0,3}([.,]\d{1,3})?\Z"),
    st.sampled_from(["", " ", "abc", "1e5", "-2.5E-3", ".5", "5.", " 7 ", "1.234", "0.123", "1,5", "n/a"]),
    st.none(), st.just(float("nan")), st.floats(-1e6, 1e6, allow_nan=False), st.integers(-10**6, 10**6))


def _scan_cell_by_cell(text: pd.Series) -> nb.Evidence:
    """The evidence of a column read one cell at a time with classify_value (the reference)."""
    ev = nb.Evidence()
    for label, value in text.items():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        s = str(value).strip()
        if not s:
            continue
        ev.n_values += 1
        kind, dec, th = nb.classify_value(s)
        if kind == "invalid":
            ev.invalid.append((label, s))
            continue
        if dec is not None:
            (ev.ambiguous if kind == "ambiguous" else ev.decimal).setdefault(dec, (label, s))
        if th is not None and th != " ":
            ev.thousands.setdefault(th, (label, s))
    return ev


@settings(max_examples=300, deadline=None)
@given(st.lists(_cells, max_size=25))
def test_scan_equals_the_cell_by_cell_reading(cells: list) -> None:
    text = pd.Series(cells, dtype=object, index=[f"r{i}" for i in range(len(cells))])
    got, ref = nb.scan(text), _scan_cell_by_cell(text)
    assert got.n_values == ref.n_values and got.invalid == ref.invalid
    for a, b in ((got.decimal, ref.decimal), (got.ambiguous, ref.ambiguous), (got.thousands, ref.thousands)):
        assert list(a.items()) == list(b.items())


@settings(max_examples=300, deadline=None)
@given(st.lists(_cells, max_size=25), st.sampled_from([US, BR, nb.NumberFormat(".", " ")]))
def test_parse_equals_the_cell_by_cell_reading(cells: list, fmt: nb.NumberFormat) -> None:
    import re

    text = pd.Series(cells, dtype=object)
    values, bad = nb.parse(text, fmt)
    dec, th = re.escape(fmt.decimal), re.escape(fmt.thousands) if fmt.thousands.strip() else ""
    grouped = rf"\d{{1,3}}(?:{th}\d{{3}})+" if th else r"(?!)"
    pattern = re.compile(rf"(?:{grouped}|\d+)(?:{dec}\d*)?|{dec}\d+")
    for i, cell in enumerate(cells):
        v, b = nb._parse_one(cell, fmt, pattern, th)
        assert bad.iloc[i] == b
        assert (math.isnan(v) and math.isnan(values.iloc[i])) or values.iloc[i] == v
