"""Reading the tables analysts receive: delimited text in whatever encoding, and Excel workbooks.

* Encodings: valid UTF-8 (with or without BOM) stays UTF-8; UTF-16 with a BOM (Excel's
  "Unicode text") is read as such; anything else is detected by charset-normalizer among
  the single-byte encodings of Latin American exports (Windows-1252, ISO-8859-1/15, DOS
  code page 850, Mac Roman). A UTF-8 file in which a few lines were pasted from a
  Windows-1252 file keeps its UTF-8 lines and reads the others in the detected encoding,
  naming them. The encoding used is logged; ``encoding=`` forces one.
* Every cell is read as text, so identifiers keep leading zeros and numbers are read by
  :mod:`territorial_gis._numbers` with the file's own decimal mark.
* Excel ``.xlsx``/``.xlsm`` workbooks are read with openpyxl, one sheet (the first by default).
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from . import _numbers
from .errors import ConfigError, InputFileError

logger = logging.getLogger(__name__)

#: single-byte encodings of Latin American exports, in order of preference on a tie
LEGACY_ENCODINGS = ("cp1252", "latin_1", "iso8859_15", "cp850", "mac_roman")
ENCODING_NAMES = {"utf_8": "UTF-8", "utf_8_sig": "UTF-8 (with BOM)", "utf_16": "UTF-16",
                  "cp1252": "Windows-1252", "latin_1": "ISO-8859-1 (Latin-1)",
                  "iso8859_1": "ISO-8859-1 (Latin-1)",
                  "iso8859_15": "ISO-8859-15", "cp850": "DOS code page 850", "mac_roman": "Mac Roman"}
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
OLD_SPREADSHEETS = (".xls", ".ods", ".xlsb")


def encoding_name(codec: str) -> str:
    """A reader's name for a Python codec ("cp1252" -> "Windows-1252")."""
    key = codecs.lookup(codec).name.replace("-", "_")
    return ENCODING_NAMES.get(key, codec)


def _detect_legacy(data: bytes) -> str:
    """The most plausible single-byte encoding of ``data`` (charset-normalizer)."""
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=list(LEGACY_ENCODINGS)).best()
    codec = best.encoding if best is not None else "cp1252"
    if codec == "latin_1" and _decodes(data, "cp1252"):
        # bytes 0x80-0x9f are control characters in Latin-1 and punctuation (en dash, curly
        # quotes) in Windows-1252; where both decode, Windows-1252 is never worse
        codec = "cp1252"
    return codec


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def decode_text(data: bytes, p: Path, encoding: str | None = None) -> tuple[str, str]:
    """``(text, description of the encoding used)`` of a text file's bytes.

    Raises
    ------
    ConfigError
        ``encoding`` is not a known codec.
    InputFileError
        The bytes are not in the given ``encoding`` (the line is named).
    """
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ConfigError(f"unknown encoding {encoding!r} (encoding=, --encoding); e.g. utf-8, "
                              f"cp1252, latin-1") from None
        try:
            return data.decode(encoding), encoding_name(encoding) + " (as given)"
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            raise InputFileError(f"{p} is not {encoding}: byte 0x{data[exc.start]:02x} on line {line} "
                                 f"cannot be decoded; leave out encoding= (--encoding) to detect it") from None
    if data.startswith(codecs.BOM_UTF8):
        body = data[len(codecs.BOM_UTF8):]
        return (body.decode("utf-8"), "UTF-8 (with BOM)") if _decodes(body, "utf-8") else (_mixed(body, p), "")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as exc:
            raise InputFileError(f"{p} starts like UTF-16 but is not: {exc}") from None
    if _decodes(data, "utf-8"):
        return data.decode("utf-8"), "UTF-8"
    return _mixed(data, p), ""


def _mixed(data: bytes, p: Path) -> str:
    """Text of bytes that are not all UTF-8: lines that are valid UTF-8 with non-ASCII
    characters keep UTF-8 when the file has such lines; the rest use the detected encoding."""
    lines = data.split(b"\n")
    utf8_rows = [i for i, ln in enumerate(lines) if not ln.isascii() and _decodes(ln, "utf-8")]
    bad = [i for i, ln in enumerate(lines) if not _decodes(ln, "utf-8")]
    codec = _detect_legacy(b"\n".join(lines[i] for i in bad))
    if not utf8_rows:
        logger.info("%s is not UTF-8: read as %s (detected; set encoding= / --encoding to override)",
                    p.name, encoding_name(codec))
        return data.decode(codec, errors="replace")
    shown = ", ".join(str(i + 1) for i in bad[:8]) + (", ..." if len(bad) > 8 else "")
    logger.warning("%s is UTF-8 except %d line(s) in %s (lines %s); each line was read in its own "
                   "encoding: check those names", p.name, len(bad), encoding_name(codec), shown)
    bad_set = set(bad)
    return "\n".join(ln.decode(codec, errors="replace") if i in bad_set else ln.decode("utf-8")
                     for i, ln in enumerate(lines))


def read_delimited(p: Path, encoding: str | None = None, what: str = "places file") -> pd.DataFrame:
    """Read a CSV/TSV/TXT table with every cell as text (the separator is sniffed); ``what``
    names the file in messages."""
    data = p.read_bytes()
    text, used = decode_text(data, p, encoding)
    if used and used != "UTF-8":
        logger.info("%s read as %s", p.name, used)
    first_line = next((ln for ln in text.splitlines() if ln.strip()), "")
    if not first_line.strip():
        raise InputFileError(f"{what} {p} is empty (no header line)")
    sep = "\t" if p.suffix.lower() == ".tsv" else ","
    if p.suffix.lower() != ".tsv":
        try:
            sep = csv.Sniffer().sniff(first_line, delimiters=",;\t|").delimiter
        except csv.Error:
            sep = ","
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise InputFileError(f"{what} {p} is empty") from exc
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputFileError(f"cannot read {what} {p} as a table: {exc}") from exc
    df.columns = [str(c).strip() for c in df.columns]
    return df.dropna(how="all")


def read_text_table(p: Path, what: str, *, encoding: str | None = None,
                    fmt: _numbers.NumberFormat | None = None, keep_text: Iterable[str] = (),
                    degrees: Iterable[str] = (), missing: Iterable[str] = ()) -> pd.DataFrame:
    """A delimited text table read as places files are: encoding detected (:func:`decode_text`),
    separator sniffed, and every column of numbers read in its own number format
    (:func:`territorial_gis._numbers.numeric_columns`; ``degrees`` are the coordinate columns,
    ``missing`` the marks of an empty cell, ``keep_text`` columns never converted)."""
    df = read_delimited(p, encoding, what=what)
    return _numbers.numeric_columns(df, fmt=fmt, keep_text=keep_text, degrees=degrees, missing=missing,
                                    where=p.name)


def read_excel(p: Path, sheet: str | None = None) -> pd.DataFrame:
    """Read one sheet of an Excel workbook: number cells as numbers, text cells as text.

    ``sheet`` is a sheet name (case ignored) or its 1-based position; by default the first
    sheet (the others are named in the log).
    """
    try:
        book = pd.ExcelFile(p, engine="openpyxl")
    except Exception as exc:  # zipfile/openpyxl errors: not a workbook
        raise InputFileError(f"cannot read workbook {p}: {exc}") from exc
    with book:
        names = [str(n) for n in book.sheet_names]
        chosen = _pick_sheet(names, sheet, p)
        try:
            df = book.parse(chosen, dtype=object)
        except Exception as exc:
            raise InputFileError(f"cannot read sheet {chosen!r} of {p}: {exc}") from exc
    df.columns = [str(c).strip() for c in df.columns]
    df = df.dropna(how="all")
    df = df.loc[:, [not (str(c).startswith("Unnamed:") and df[c].isna().all()) for c in df.columns]]
    return pd.DataFrame({c: _excel_column(df[c]) for c in df.columns}, index=df.index)


def _pick_sheet(names: list[str], sheet: str | None, p: Path) -> str:
    if sheet is None:
        if len(names) > 1:
            logger.info("%s has %d sheets (%s); reading %r (choose with sheet= / --sheet)", p.name,
                        len(names), ", ".join(names), names[0])
        return names[0]
    by_lower = {n.lower(): n for n in names}
    if str(sheet).strip().lower() in by_lower:
        return by_lower[str(sheet).strip().lower()]
    if str(sheet).strip().isdigit() and 1 <= int(sheet) <= len(names):
        return names[int(sheet) - 1]
    raise InputFileError(f"sheet {sheet!r} not found in {p}; sheets: {', '.join(names)}")


def _excel_column(col: pd.Series) -> pd.Series:
    """Number cells stay numbers when the whole column is numbers; otherwise text, with whole
    numbers written without a decimal part (so an id 7001 stays '7001')."""
    values = col.dropna()
    is_num = values.map(lambda v: isinstance(v, (int, float, np.integer, np.floating))
                        and not isinstance(v, bool))
    if len(values) and bool(is_num.all()):
        return pd.to_numeric(col, errors="coerce").astype(float)

    def text(v: object) -> object:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return str(int(v))
        return str(v).strip()

    return col.map(text).astype(object)
