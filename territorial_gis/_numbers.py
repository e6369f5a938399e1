"""Numbers written as text: decimal marks and thousands separators, detected per column.

Latin American exports write ``1.625`` for one thousand six hundred and twenty-five people
(``.`` separates thousands, ``,`` is the decimal mark: ``-51,23``), English-language ones
``1,625`` and ``-51.23``; spaces (``1 625``, also the no-break and narrow no-break spaces)
separate thousands in both. A value with one mark followed by exactly three digits
(``1.625``, ``12,345``) can be read either way. This module reads each value for what it
shows and decides a column's convention from its unambiguous values:

* ``1.234,5`` or ``1,234.5``: both marks, the last one is the decimal mark;
* ``12.340.001``: a mark repeated in groups of three separates thousands;
* ``16,75``, ``0.125``, ``1234.567``, ``.5``: one mark not followed by exactly three digits,
  after a zero, or after more than three digits is a decimal mark;
* ``1.625``: ambiguous.

Ambiguous columns follow the rest of the file (its coordinates, other columns) when that is
known; coordinates in degrees cannot hold thousands; everything else is refused with a
message that shows the values (never a silent guess). :func:`read_numbers` does the work;
the caller words the messages with the file and column names.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

MARKS = (".", ",")
#: thousands separators accepted in every convention: space, no-break space, narrow no-break space
SPACES = " \u00a0\u202f"
#: names of the thousands options (``--thousands``): the mark, or "space" / "none"
THOUSANDS_NAMES = {".": ".", ",": ",", "space": " ", " ": " ", "none": "", "": ""}

_SPACE_GROUPS = re.compile(r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?")
_SCIENTIFIC = re.compile(r"(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+")
_BODY = re.compile(r"[\d.,]*\d[\d.,]*")


@dataclass(frozen=True)
class NumberFormat:
    """A convention for numbers: ``decimal`` mark (``.``/``,``) and ``thousands`` separator
    (``.``, ``,``, ``" "`` or ``""`` for none; spaces are always accepted between groups)."""

    decimal: str = "."
    thousands: str = ","

    def describe(self) -> str:
        """E.g. "decimal ',' and thousands '.'"."""
        th = {"": "none", " ": "space"}.get(self.thousands, repr(self.thousands))
        return f"decimal {self.decimal!r} and thousands {th}"


def make_format(decimal: str | None, thousands: str | None) -> NumberFormat | None:
    """The convention given by the options, completing the missing half; None when neither is given.

    Raises
    ------
    ValueError
        An unknown mark, or the same mark for both.
    """
    if decimal is None and thousands is None:
        return None
    if decimal is not None and decimal not in MARKS:
        raise ValueError(f"decimal mark must be '.' or ',', got {decimal!r}")
    th = None if thousands is None else THOUSANDS_NAMES.get(thousands)
    if thousands is not None and th is None:
        raise ValueError(f"thousands separator must be '.', ',', 'space' or 'none', got {thousands!r}")
    if decimal is None:
        decimal = "," if th == "." else "."
    if th is None:
        th = _other(decimal)
    if th == decimal:
        raise ValueError(f"the decimal mark and the thousands separator cannot both be {decimal!r}")
    return NumberFormat(decimal, th)


def _other(mark: str) -> str:
    return "," if mark == "." else "."


@dataclass
class Evidence:
    """What the values of a column show: marks seen as decimal, as thousands, ambiguous (each
    with a first example ``(row label, text)``), and the rows that are not numbers."""

    decimal: dict[str, tuple[object, str]] = field(default_factory=dict)
    thousands: dict[str, tuple[object, str]] = field(default_factory=dict)
    ambiguous: dict[str, tuple[object, str]] = field(default_factory=dict)
    invalid: list[tuple[object, str]] = field(default_factory=list)
    n_values: int = 0

    @property
    def numeric(self) -> bool:
        """Every non-empty value is a number in some convention."""
        return self.n_values > 0 and not self.invalid


def _normalise(text: str) -> tuple[str, str]:
    """Split a value into sign and body (the Unicode minus counts as a minus)."""
    t = text.strip().replace("\u2212", "-")
    sign = ""
    if t.startswith(("+", "-")):
        sign, t = t[0], t[1:].strip()
    return sign, t


def classify_value(text: str) -> tuple[str, str | None, str | None]:
    """``(kind, decimal mark, thousands mark)`` of one value; kind is ``number``,
    ``ambiguous`` (the mark is in the decimal slot) or ``invalid``."""
    _sign, body = _normalise(text)
    if not body:
        return "invalid", None, None
    if _SCIENTIFIC.fullmatch(body):
        return "number", ("." if "." in body else None), None
    thousands: str | None = None
    if any(s in body for s in SPACES):
        if not _SPACE_GROUPS.fullmatch(body):
            return "invalid", None, None
        thousands = " "
        body = re.sub(f"[{SPACES}]", "", body)
    if not _BODY.fullmatch(body):
        return "invalid", None, None
    dots, commas = body.count("."), body.count(",")
    if dots and commas:
        dec = "." if body.rfind(".") > body.rfind(",") else ","
        th = _other(dec)
        if re.fullmatch(rf"\d{{1,3}}(?:{re.escape(th)}\d{{3}})+{re.escape(dec)}\d+", body):
            return "number", dec, th
        return "invalid", None, None
    if not dots and not commas:
        return "number", None, thousands
    mark = "." if dots else ","
    if dots + commas > 1:
        if re.fullmatch(rf"\d{{1,3}}(?:{re.escape(mark)}\d{{3}})+", body):
            return "number", None, mark
        return "invalid", None, None
    whole, frac = body.split(mark)
    if thousands or len(frac) != 3 or not whole or len(whole) > 3 or whole.startswith("0"):
        return "number", mark, thousands
    return "ambiguous", mark, None


#: the common cells, recognised in one vectorised pass: a plain integer, or digits, a point and
#: digits (the other cells go through :func:`classify_value` one by one)
_PLAIN_INT = r"[+-]?\d+"
_PLAIN_POINT = r"[+-]?(\d+)\.(\d+)"


def _texts(text: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Positions of the non-empty cells and their stripped text."""
    raw = text.to_numpy(dtype=object)
    pos = [i for i, v in enumerate(raw) if not (v is None or (isinstance(v, float) and np.isnan(v)))]
    stripped = pd.Series([str(raw[i]).strip() for i in pos], dtype=object)
    nonempty = (stripped != "").to_numpy(dtype=bool)
    return np.asarray(pos, dtype=np.int64)[nonempty], stripped[nonempty].reset_index(drop=True)


def scan(text: pd.Series) -> Evidence:
    """The :class:`Evidence` of a text column (empty cells ignored)."""
    ev = Evidence()
    pos, s = _texts(text)
    ev.n_values = len(s)
    kind = np.zeros(len(s), dtype=np.int8)  # 0 number, 1 ambiguous, 2 invalid
    dec = np.full(len(s), "", dtype=object)
    th = np.full(len(s), "", dtype=object)
    point = s.str.extract(f"^{_PLAIN_POINT}$") if len(s) else pd.DataFrame(columns=[0, 1])
    is_point = point[0].notna().to_numpy(dtype=bool)
    whole, frac = point[0][is_point].str.len().to_numpy(), point[1][is_point].str.len().to_numpy()
    zero = point[0][is_point].str.startswith("0").to_numpy(dtype=bool)
    kind[is_point] = ((frac == 3) & (whole <= 3) & ~zero).astype(np.int8)  # "1.234": decimal or thousands
    dec[is_point] = "."
    slow = ~(is_point | s.str.fullmatch(_PLAIN_INT).to_numpy(dtype=bool))
    for i in np.flatnonzero(slow):
        k, d, t = classify_value(s.iloc[i])
        kind[i] = {"number": 0, "ambiguous": 1, "invalid": 2}[k]
        dec[i], th[i] = d or "", t or ""
    labels = text.index
    ev.invalid = [(labels[pos[i]], s.iloc[i]) for i in np.flatnonzero(kind == 2)]
    for target, seen in ((ev.decimal, kind == 0), (ev.ambiguous, kind == 1),
                         (ev.thousands, kind != 2)):
        marks = dec if target is not ev.thousands else th  # grouping by spaces is no evidence of a mark
        firsts = [(int(f[0]), m) for m in (".", ",") if len(f := np.flatnonzero(seen & (marks == m))[:1])]
        for row, m in sorted(firsts):  # in the order the marks first appear, as the cells are read
            target[m] = (labels[pos[row]], s.iloc[row])
    return ev


def parse(text: pd.Series, fmt: NumberFormat) -> tuple[pd.Series, pd.Series]:
    """Values of a text column read with ``fmt``: ``(floats, bad)`` where ``bad`` marks the
    non-empty cells that are not numbers in that convention."""
    dec, th = re.escape(fmt.decimal), re.escape(fmt.thousands) if fmt.thousands.strip() else ""
    grouped = rf"\d{{1,3}}(?:{th}\d{{3}})+" if th else r"(?!)"
    pattern = re.compile(rf"(?:{grouped}|\d+)(?:{dec}\d*)?|{dec}\d+")
    raw = text.to_numpy(dtype=object)
    out = np.full(len(text), np.nan)
    bad = np.zeros(len(text), dtype=bool)
    # plain cells (sign, digits, the decimal mark) in one pass
    is_str = np.fromiter((isinstance(v, str) for v in raw), dtype=bool, count=len(raw))
    at = np.flatnonzero(is_str)
    s = pd.Series(raw[at], dtype=object).str.strip()
    fast = s.str.fullmatch(rf"[+-]?(?:\d+(?:{dec}\d*)?|{dec}\d+)").to_numpy(dtype=bool) if len(s) else \
        np.zeros(0, dtype=bool)
    out[at[fast]] = [float(v.replace(fmt.decimal, ".")) for v in s[fast]]
    done = np.zeros(len(text), dtype=bool)
    done[at[fast]] = True
    for i in np.flatnonzero(~done):
        out[i], bad[i] = _parse_one(raw[i], fmt, pattern, th)
    return pd.Series(out, index=text.index), pd.Series(bad, index=text.index)


def _parse_one(value: object, fmt: NumberFormat, pattern: re.Pattern[str], th: str) -> tuple[float, bool]:
    """One cell read with ``fmt``: ``(value, bad)``; NaN for an empty cell."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan, False
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value), False
    sign, body = _normalise(str(value))
    if not body and not sign:
        return np.nan, False
    if fmt.decimal == "." and _SCIENTIFIC.fullmatch(body):
        return float(sign + body), False
    if any(s in body for s in SPACES) and _SPACE_GROUPS.fullmatch(body):
        body = re.sub(f"[{SPACES}]", "", body)
    if not pattern.fullmatch(body):
        return np.nan, True
    plain = body.replace(fmt.thousands, "") if th else body
    return float(sign + plain.replace(fmt.decimal, ".")), False


@dataclass(frozen=True)
class Decision:
    """How a column is to be read: a ``fmt``, or a ``problem`` sentence saying why it cannot be."""

    fmt: NumberFormat | None
    problem: str | None = None
    how: str = ""


def _example(item: tuple[object, str], row: str) -> str:
    label, text = item
    return f"{text!r} ({row} {label})"


def decide(ev: Evidence, *, kind: str, file_decimal: str | None, row: str = "row") -> Decision:
    """The convention of one column from its evidence.

    ``kind`` is ``count`` (population: a three-decimal fraction that reads as a whole number
    the other way is refused), ``degrees`` (geographic coordinates: no thousands) or
    ``measure``. ``file_decimal`` is the decimal mark the rest of the file shows, if any.
    """
    dec, th = set(ev.decimal), set(ev.thousands)
    if len(dec) > 1 or len(th) > 1 or dec & th:
        seen = [f"{_example(v, row)} uses {m!r} as decimal mark" for m, v in ev.decimal.items()]
        seen += [f"{_example(v, row)} uses {m!r} to separate thousands" for m, v in ev.thousands.items()]
        return Decision(None, "mixes number formats: " + "; ".join(seen))
    if dec or th:
        d = dec.pop() if dec else _other(th.pop())
        return Decision(NumberFormat(d, _other(d)), how="from its values")
    if not ev.ambiguous:
        return Decision(NumberFormat(".", ","), how="plain numbers")
    if len(ev.ambiguous) > 1:
        a, b = (_example(v, row) for v in ev.ambiguous.values())
        return Decision(None, f"holds {a} and {b}: one of '.' and ',' separates thousands and the other "
                              "is the decimal mark, and nothing tells which")
    mark, first = next(iter(ev.ambiguous.items()))
    if kind == "degrees":
        return Decision(NumberFormat(mark, _other(mark)), how="coordinates in degrees have no thousands")
    if file_decimal is not None:
        if kind == "count" and file_decimal == mark:
            return Decision(None, f"holds values such as {_example(first, row)}: the rest of the file uses "
                                  f"{mark!r} as decimal mark, which makes it a fraction of a person, while "
                                  f"read with {mark!r} separating thousands it is a whole number")
        return Decision(NumberFormat(file_decimal, _other(file_decimal)),
                        how=f"the rest of the file uses {file_decimal!r} as decimal mark")
    text = first[1]
    whole = text.replace(mark, "").lstrip("+-")
    return Decision(None, f"holds values such as {_example(first, row)}, which read as {whole} if {mark!r} "
                          f"separates thousands or as {text.replace(',', '.')} if it is the decimal mark, "
                          "and nothing else in the file tells which")


def file_decimal(decisions: Iterable[Decision]) -> str | None:
    """The one decimal mark shown by the columns decided from their own values, or None
    (none shown, or both)."""
    marks = {d.fmt.decimal for d in decisions if d.fmt is not None and d.how != "plain numbers"}
    return marks.pop() if len(marks) == 1 else None


def _is_text(values: pd.Series) -> bool:
    return values.dtype == object or pd.api.types.is_string_dtype(values)


def number_column(values: pd.Series, *, fmt: NumberFormat | None, file_decimal: str | None,
                  kind: str = "measure", row: str = "row") -> tuple[pd.Series | None, str | None]:
    """A text column as numbers when every non-empty value is a number in one clear convention.

    Returns ``(numbers, None)``; ``(None, None)`` when the column is not numbers (text, codes
    with leading zeros such as ``"01001"``, or not every value a number in the given ``fmt``);
    ``(None, problem)`` when it is numbers whose convention is mixed or cannot be told.
    """
    if not _is_text(values) or not values.notna().any():
        return None, None
    text = values.dropna().astype(str).str.strip()
    if text.str.match(r"^[+-]?0\d").any():  # codes with leading zeros stay text
        return None, None
    if fmt is not None and kind != "degrees":
        out, bad = parse(values, fmt)
        return (None, None) if bad.any() else (out, None)
    ev = scan(values)
    if not ev.numeric:
        return None, None
    decision = decide(ev, kind=kind, file_decimal=file_decimal, row=row)
    if decision.fmt is None:
        return None, decision.problem
    return parse(values, decision.fmt)[0], None


def numeric_columns(frame: pd.DataFrame, *, fmt: NumberFormat | None = None, keep_text: Iterable[str] = (),
                    degrees: Iterable[str] = (), missing: Iterable[str] = (), where: str = "table",
                    row_offset: int = 2) -> pd.DataFrame:
    """``frame`` with every text column whose values are all numbers read as floats.

    Each column is read in its own convention (:func:`decide`), an ambiguous one following the
    decimal mark the other columns show; ``degrees`` name coordinate columns (no thousands,
    case ignored); cells equal to one of ``missing`` (e.g. ``"-"``, ``"N. D."``) count as empty
    in a number column. A column of numbers whose convention cannot be told stays text with a
    warning naming ``where`` and the values. ``row_offset`` turns index labels into file lines.
    """
    keep = set(keep_text)
    deg = {str(c).lower() for c in degrees}
    marks = {str(m) for m in missing}
    cols = [c for c in frame.columns if c not in keep and _is_text(frame[c])]

    def cleaned(c: object) -> pd.Series:
        col = frame[c]
        if not marks:
            return col
        blank = col.notna() & col.astype(str).str.strip().isin(marks)
        return col.where(~blank, None)

    def kind(c: object) -> str:
        return "degrees" if str(c).lower() in deg else "measure"

    shifted = {c: cleaned(c) for c in cols}
    if row_offset:
        shifted = {c: v.set_axis([int(i) + row_offset if isinstance(i, (int, np.integer)) else i for i in v.index])
                   for c, v in shifted.items()}
    decisions = [decide(ev, kind=kind(c), file_decimal=None)
                 for c in cols if (ev := scan(shifted[c])).numeric and not ev.invalid]
    fdec = file_decimal(decisions)
    out = frame.copy()
    for c in cols:
        values, problem = number_column(shifted[c], fmt=fmt, file_decimal=fdec, kind=kind(c))
        if values is not None:
            out[c] = values.to_numpy(dtype=float)
        elif problem:
            logger.warning("%s: column %r %s; it is kept as text (set the number format: decimal=/thousands=, "
                           "--decimal/--thousands)", where, c, problem)
    return out
