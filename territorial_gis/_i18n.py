"""What readers see: the message catalogue, numbers and dates per language, and the phrases of
the class reasons.

Every user-facing string of the maps and reports goes through :class:`Texts` (``texts(lang)``):
English is the message id itself; Spanish and Portuguese come from one gettext catalogue per
language in ``territorial_gis/locales/<lang>.po`` (read with Babel, no compile step), so adding a
language is one file. Numbers, percentages and dates are formatted with Babel for the locale;
the map's browser code formats numbers with the same Babel symbols (:meth:`Texts.js`).

Minutes are printed the same way everywhere (popups, class reasons, legend, report): one
decimal, more only where one decimal would print a value equal to a threshold it differs from
(:func:`minute_decimals`).

The class reasons written by :mod:`territorial_gis.classify` are English data (``class_reasons``
in ``localities.gpkg``), built from the phrase templates in :data:`REASONS`; :func:`translate_reasons`
parses them back with the same templates and renders them in the reader's language.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

from .columns import REASON_DISCONNECTED, REASON_NO_DESTINATION, REASON_TOO_FAR
from .errors import ConfigError

SUPPORTED = ("en", "es", "pt")
"""Languages of maps and reports."""
CATALOGUE_DIR = "locales"
"""Folder of ``territorial_gis`` holding one ``<lang>.po`` catalogue per language but English."""
MAX_EXTRA_DECIMALS = 4
UNREACHABLE_TEXT = {REASON_TOO_FAR: "too far from a road",
                    REASON_DISCONNECTED: "not connected to a destination by road",
                    REASON_NO_DESTINATION: "no destination of this tier"}
"""Reader's phrase of each ``unreachable_reason`` code (msgids)."""


def check_lang(lang: str | None) -> str:
    """The language code to use: ``lang`` or ``settings.lang``; ConfigError for an unknown one."""
    from . import settings

    code = (lang or settings.lang or "en").strip().lower().replace("_", "-").split("-")[0]
    if code not in SUPPORTED:
        raise ConfigError(f"language '{lang}' is not available; choose one of {', '.join(SUPPORTED)}")
    return code


@cache
def _catalogue(lang: str) -> dict[tuple[str | None, str], str]:
    """``(context, msgid) -> translation`` of a language (empty for English)."""
    if lang == "en":
        return {}
    from babel.messages.pofile import read_po

    res = resources.files("territorial_gis") / CATALOGUE_DIR / f"{lang}.po"
    with res.open("rb") as fh:
        cat = read_po(fh, locale=lang)
    out: dict[tuple[str | None, str], str] = {}
    for msg in cat:
        if msg.id and isinstance(msg.id, str) and msg.string and not msg.fuzzy:
            out[(msg.context, msg.id)] = str(msg.string)
    return out


# ---------------------------------------------------------------------------------------------
# minutes: one rule for every place that prints a travel time


def decimals_apart(value: float, threshold: float | None, decimals: int = 1) -> int:
    """Decimals to print ``value`` with: ``decimals``, more when that would print it equal to
    ``threshold`` while it differs from it (so ``60.04 > 60`` never reads ``60.0 > 60``)."""
    if threshold is None or value == threshold or not math.isfinite(value):
        return decimals
    for d in range(decimals, decimals + MAX_EXTRA_DECIMALS + 1):
        if round(value, d) != threshold:
            return d
    return decimals + MAX_EXTRA_DECIMALS


def minute_decimals(value: float, thresholds: Iterable[float] = ()) -> int:
    """Decimals of a travel time in minutes: 1, more where it would print equal to a threshold."""
    return max([1] + [decimals_apart(value, t, 1) for t in thresholds])


def threshold_minutes(hours: float) -> float:
    """A threshold given in hours, in minutes as printed (two decimals at most)."""
    return round(float(hours) * 60.0, 2)


def plain_number(value: float, decimals: int) -> str:
    """A number as written in data files (English, no grouping): ``130.4``."""
    return f"{value:.{decimals}f}"


def plain_threshold(value: float) -> str:
    """A threshold as written in data files: ``120``, ``0.5``."""
    return f"{value:g}"


# ---------------------------------------------------------------------------------------------
# class reasons: phrase templates shared by the classifier (English data) and the readers


REASONS: dict[str, str] = {
    "time_over": "travel time to {tier} {value} min > {threshold} min",
    "time_ok": "travel time to {tier} {value} min \u2264 {threshold} min",
    "unreachable_why": "{tier} unreachable ({why})",
    "unreachable_share": "{tier} unreachable for {share} of the population",
    "unreachable": "{tier} unreachable",
    "indicator": "{indicator} {value}{unit} {op} {threshold}{unit}",
    "indicator_unknown": "{indicator} unknown",
    "no_locality": "no locality in the area: access unknown",
    "population_unknown": "population unknown: density not computed, classified by access and "
                          "agro-ecology alone",
    "density_unknown": "density unknown",
    "density_no_area": "density unknown: point localities have no area (give --areas polygons)",
    "density_dense_veto": "density {value}/km\u00b2 \u2265 {threshold}/km\u00b2 (dense: FRA despite the above)",
    "density_dense": "density {value}/km\u00b2 \u2265 {threshold}/km\u00b2",
    "density_low": "density {value}/km\u00b2 < {threshold}/km\u00b2 (low density)",
    "not_classified": "no locality and no terrain value: not classified",
    "of_area": "class of its area {area}, {n} localities",
}
"""English phrase templates of ``class_reasons`` (joined with ``"; "``); msgids of the catalogue."""

_PLACEHOLDER = {
    "tier": r"(?P<tier>.+?)", "indicator": r"(?P<indicator>.+?)", "why": r"(?P<why>[^()]+)",
    "value": r"(?P<value>-?\d+(?:\.\d+)?)", "threshold": r"(?P<threshold>-?\d+(?:\.\d+)?)",
    "share": r"(?P<share>\d+(?:\.\d+)?)%", "area": r"(?P<area>.+?)", "n": r"(?P<n>\d+)", "unit": r"(?P<unit>\u00b0| m|)", "op": r"(?P<op>[<>\u2264\u2265])",
}


def reason(key: str, **values: Any) -> str:
    """One English phrase of the class reasons (see :data:`REASONS`)."""
    return REASONS[key].format(**values)


@cache
def _reason_patterns() -> list[tuple[str, re.Pattern[str]]]:
    out = []
    # fixed phrases first, then the templates with the longest literal text
    order = sorted(REASONS.items(), key=lambda kv: (kv[1].count("{"), -len(re.sub(r"\{\w+\}", "", kv[1]))))
    for key, template in order:
        parts = re.split(r"(\{\w+\})", template)
        rx = "".join(_PLACEHOLDER[p[1:-1]] if p.startswith("{") and p.endswith("}")
                     else re.escape(p) for p in parts)
        if "{unit}" in template:  # the unit is written twice: the second must repeat the first
            rx = rx.replace(_PLACEHOLDER["unit"], r"(?P=unit)", 2).replace(r"(?P=unit)",
                                                                         _PLACEHOLDER["unit"], 1)
        out.append((key, re.compile(f"^{rx}$")))
    return out


@cache
def _reason_prefixes() -> list[tuple[str, str, re.Pattern[str]]]:
    """The templates with the literal text they start with ("" when a value comes first)."""
    return [(REASONS[key].split("{", 1)[0], key, pattern) for key, pattern in _reason_patterns()]


def parse_reason(part: str) -> tuple[str, dict[str, str]] | None:
    """``(key, values)`` of one English phrase of the class reasons, None if it matches no template."""
    text = part.strip()
    for prefix, key, pattern in _reason_prefixes():
        if not text.startswith(prefix):  # cannot match: skip the regular expression
            continue
        m = pattern.match(text)
        if m:
            return key, m.groupdict()
    return None


def translate_reasons(text: Any, tx: Texts) -> str | None:
    """The class reasons ``text`` (English data) in the language of ``tx``; None when empty.

    Phrases that match no template are kept as written.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    out = []
    for part in text.split("; "):
        parsed = parse_reason(part)
        if parsed is None:
            out.append(part)
            continue
        key, values = parsed
        vals: dict[str, str] = {}
        for name, raw in values.items():
            if name == "tier":
                vals[name] = tx.tier(raw)
            elif name == "indicator":
                vals[name] = tx.term("indicator", raw)
            elif name == "why":
                vals[name] = tx.why(raw)
            elif name == "share":
                vals[name] = tx.percent(float(raw) / 100.0, 0)
            elif name in ("value", "threshold"):
                dec = len(raw.split(".")[1]) if "." in raw else 0
                vals[name] = tx.number(float(raw), dec)
            else:
                vals[name] = raw
        out.append(tx(REASONS[key], **vals))
    return "; ".join(out)


# ---------------------------------------------------------------------------------------------
# the reader's language


class Texts:
    """Translations and number formats of one language (get one with :func:`texts`).

    ``tx("Population")`` translates a message; ``tx("{n} localities", n=...)`` fills it in
    after translating. ``tx.missing`` collects message ids without a translation (tests check
    that it stays empty).
    """

    def __init__(self, lang: str) -> None:
        self.lang = check_lang(lang)
        self._cat = _catalogue(self.lang)
        self.missing: set[tuple[str | None, str]] = set()
        from babel import Locale

        self._locale = Locale.parse(self.lang)
        symbols = self._locale.number_symbols["latn"]
        # "#,##0.0" patterns: Python's own formatting with the locale's symbols swapped in (babel's
        # format_decimal gives the same text, 20x slower: hundreds of thousands of numbers at scale)
        self._number_symbols = str.maketrans({",": symbols["group"], ".": symbols["decimal"],
                                              "-": symbols["minusSign"]})

    # -- messages
    def _lookup(self, context: str | None, msgid: str, record: bool = True) -> str:
        if self.lang == "en":
            return msgid
        got = self._cat.get((context, msgid))
        if got is None:
            if record:
                self.missing.add((context, msgid))
            return msgid
        return got

    def __call__(self, msgid: str, /, **values: Any) -> str:
        s = self._lookup(None, msgid)
        return s.format(**values) if values else s

    def p(self, context: str, msgid: str, /, **values: Any) -> str:
        """Translate ``msgid`` in ``context`` (gettext's ``pgettext``)."""
        s = self._lookup(context, msgid)
        return s.format(**values) if values else s

    def term(self, context: str, value: Any) -> str:
        """A value of an open vocabulary (``highway`` and ``surface`` tags, indicator names):
        translated when the catalogue knows it, else written with spaces for underscores."""
        plain = str(value).strip()
        got = self._lookup(context, plain, record=False)
        return got if got != plain else plain.replace("_", " ")

    def tier(self, name: Any) -> str:
        """The display name of a destination tier (``intermediate_city`` -> "intermediate city",
        translated when the catalogue knows it)."""
        plain = str(name).replace("_", " ").strip()
        return self._lookup("tier", plain, record=False)

    def why(self, code: Any) -> str:
        """Why a travel time is unknown (``too_far_from_road`` -> "too far from a road")."""
        phrase = UNREACHABLE_TEXT.get(str(code).strip())
        return self(phrase) if phrase else str(code).replace("_", " ")

    # -- numbers
    @property
    def unknown(self) -> str:
        """The word printed for an unknown value."""
        return self("unknown")

    def number(self, value: Any, decimals: int = 1) -> str:
        """A number with ``decimals`` decimals and the locale's grouping; "unknown" for NaN."""
        v = _finite(value)
        if v is None:
            return self.unknown
        d = max(int(decimals), 0)
        return f"{round(v, d):,.{d}f}".translate(self._number_symbols)

    def integer(self, value: Any) -> str:
        """A whole number with the locale's grouping (``4,730`` / ``4.730``); "unknown" for NaN."""
        return self.number(value, 0)

    def percent(self, share: Any, decimals: int = 0) -> str:
        """A share as a percentage (``0.451`` -> ``45 %`` in Spanish); "unknown" for NaN."""
        from babel.numbers import format_percent

        v = _finite(share)
        if v is None:
            return self.unknown
        pattern = self._locale.percent_formats[None].pattern
        if decimals:
            at = pattern.rindex("0") + 1
            pattern = pattern[:at] + "." + "0" * decimals + pattern[at:]
        return format_percent(v, format=pattern, locale=self._locale)

    def minutes(self, value: Any, thresholds: Iterable[float] = ()) -> str:
        """A travel time: ``130.4 min`` (see :func:`minute_decimals`); "unknown" for NaN."""
        v = _finite(value)
        if v is None:
            return self.unknown
        return f"{self.number(v, minute_decimals(v, thresholds))} min"

    def minutes_threshold(self, value: float) -> str:
        """A threshold in minutes, as few decimals as it has (``120 min``, ``10.5 min``)."""
        v = round(float(value), 2)
        dec = 0 if v == int(v) else (1 if round(v, 1) == v else 2)
        return f"{self.number(v, dec)} min"

    def date(self, when: Any) -> str:
        """A date in the locale's long form (``30 de noviembre de 2026``); ISO strings accepted."""
        from babel.dates import format_date

        if isinstance(when, str):
            try:
                when = _dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
            except ValueError:
                return when
        if isinstance(when, _dt.datetime):
            when = when.date()
        if not isinstance(when, _dt.date):
            return str(when)
        return format_date(when, format="long", locale=self._locale)

    def js(self) -> dict[str, Any]:
        """What the map's browser code needs to format numbers like Babel: the symbols."""
        from babel.numbers import format_percent, get_decimal_symbol, get_group_symbol

        pct = format_percent(0.5, locale=self._locale)
        return {"lang": self.lang, "decimal": get_decimal_symbol(self._locale),
                "group": get_group_symbol(self._locale),
                "pctBefore": pct[: pct.index("5")], "pctAfter": pct[pct.index("0") + 1:],
                "unknown": self.unknown, "min": " min"}


def _finite(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def texts(lang: str | None = None) -> Texts:
    """The :class:`Texts` of ``lang`` (default ``settings.lang``), one per language."""
    return _texts(check_lang(lang))


@cache
def _texts(code: str) -> Texts:
    return Texts(code)
