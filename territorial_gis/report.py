"""Self-contained HTML summary report of a study.

:func:`make_report` writes one HTML page with no external requests (styles inline, charts as
inline SVG drawn here): population and localities by class and MRA type, population by
travel-time band per tier, the threshold sensitivity table, the top corridors and upgrade
stretches, and the inputs with their sources and attribution (from ``study.json``).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from .maps import (
    BAND_COLORS,
    CLASS_STYLES,
    classify_key,
    find_tiers,
    select_top_upgrades,
)
from .outputs import StudyOutputs, load_study_outputs

logger = logging.getLogger(__name__)

#: default upper edges (minutes) of the travel-time bands
DEFAULT_BANDS_MIN: tuple[float, ...] = (15, 30, 60, 120)
UNREACHABLE_COLOR = "#9e9e9e"


@dataclass
class Table:
    """A table for the report template: header, string rows, which columns are numeric."""

    header: list[str]
    rows: list[list[Any]]
    numeric: list[bool] = field(default_factory=list)
    css: str = ""


def _fmt_int(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return "\u2013" if math.isnan(f) else f"{round(f):,}"


def _fmt_num(v: Any, digits: int = 1) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "" if v is None else str(v)
    if math.isnan(f):
        return "\u2013"
    if f == int(f) and abs(f) < 1e15:
        return f"{int(f):,}"
    return f"{f:,.{digits}f}"


def _fmt_pct(share: float) -> str:
    return "\u2013" if math.isnan(share) else f"{100 * share:.1f} %"


def _swatch(color: str, label: str) -> Markup:
    return Markup('<span class="sw" style="background:{}"></span>{}').format(color, label)


def parse_bands(text: str) -> tuple[float, ...]:
    """Parse ``"15,30,60"`` into increasing positive band edges (minutes).

    Raises
    ------
    ConfigError
        When a value is not a positive number or the values do not increase.
    """
    from .errors import ConfigError

    try:
        edges = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError as exc:
        raise ConfigError(f"travel-time bands must be numbers separated by commas, got '{text}'") from exc
    if not edges or any(e <= 0 or math.isnan(e) for e in edges) or any(
            b <= a for a, b in zip(edges[:-1], edges[1:], strict=True)):
        raise ConfigError(f"travel-time bands must be positive and increasing minutes, got '{text}'")
    return edges


def band_labels(edges: Sequence[float]) -> list[str]:
    """Labels of the bands cut at ``edges`` (minutes), the last one open, e.g. ``"< 15 min"``."""
    labels = []
    prev: float | None = None
    for e in edges:
        labels.append(f"< {e:g} min" if prev is None else f"{prev:g}\u2013{e:g} min")
        prev = e
    labels.append(f"\u2265 {prev:g} min" if prev is not None else "all")
    return labels


def population_by_band(localities: pd.DataFrame, tier: str,
                       edges: Sequence[float] = DEFAULT_BANDS_MIN) -> pd.DataFrame:
    """Localities and population per travel-time band to ``tier`` (plus ``unreachable``).

    Returns
    -------
    DataFrame
        Columns ``band``, ``localities``, ``population``, ``population_share``; bands are
        ``[0, e1)``, ``[e1, e2)``, ..., ``[e_last, inf)`` and ``unreachable`` (NaN times).
    """
    t = pd.to_numeric(localities[f"travel_time_{tier}_min"], errors="coerce").to_numpy(float)
    pop = _population(localities)
    idx = np.searchsorted(np.asarray(edges, float), t, side="right")
    labels = band_labels(edges) + ["unreachable"]
    idx = np.where(np.isnan(t), len(labels) - 1, idx)
    total = float(pop.sum())
    rows = []
    for k, lab in enumerate(labels):
        sel = idx == k
        p = float(pop[sel].sum())
        rows.append({"band": lab, "localities": int(sel.sum()), "population": p,
                     "population_share": p / total if total > 0 else math.nan})
    return pd.DataFrame(rows)


def _population(df: pd.DataFrame) -> np.ndarray:
    if "population" not in df.columns:
        return np.ones(len(df))
    return pd.to_numeric(df["population"], errors="coerce").fillna(0).to_numpy(float)


def population_by_class(localities: pd.DataFrame) -> pd.DataFrame:
    """Localities and population per class key (FRA, MRA-isolated, ...) in :data:`CLASS_STYLES` order."""
    n = len(localities)
    cls = localities["area_class"] if "area_class" in localities.columns else pd.Series([None] * n)
    mt = localities["mra_type"] if "mra_type" in localities.columns else pd.Series([None] * n)
    keys = np.asarray([classify_key(a, b) for a, b in zip(cls, mt, strict=True)], dtype=object)
    pop = _population(localities)
    total = float(pop.sum())
    rows = []
    for key, (label, color) in CLASS_STYLES.items():
        sel = keys == key
        if not sel.any():
            continue
        p = float(pop[sel].sum())
        rows.append({"class": key, "label": label, "color": color, "localities": int(sel.sum()),
                     "population": p, "population_share": p / total if total > 0 else math.nan})
    return pd.DataFrame(rows, columns=["class", "label", "color", "localities", "population",
                                       "population_share"])


# ---------------------------------------------------------------------------------------------
# SVG charts


def svg_bar_chart(labels: Sequence[str], values: Sequence[float], colors: Sequence[str],
                  title: str, value_suffix: str = "") -> str:
    """A horizontal bar chart as an inline SVG string."""
    bar_h, gap, left, right, top = 22, 8, 230, 90, 28
    width = 760
    height = top + len(labels) * (bar_h + gap) + 8
    vmax = max([float(v) for v in values] + [0.0]) or 1.0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" class="tgis-chart">',
             f'<title>{escape(title)}</title>',
             f'<text x="0" y="16" font-size="13" font-weight="bold">{escape(title)}</text>']
    for i, (lab, v, c) in enumerate(zip(labels, values, colors, strict=True)):
        y = top + i * (bar_h + gap)
        w = (width - left - right) * float(v) / vmax
        parts.append(f'<text x="{left - 6}" y="{y + bar_h * 0.7:.1f}" font-size="12" '
                     f'text-anchor="end">{escape(lab)}</text>')
        parts.append(f'<rect class="bar" x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                     f'fill="{c}" stroke="#555" stroke-width="0.5"><title>{escape(lab)}: '
                     f'{_fmt_int(v)}{value_suffix}</title></rect>')
        parts.append(f'<text x="{left + w + 5:.1f}" y="{y + bar_h * 0.7:.1f}" font-size="12">'
                     f'{_fmt_int(v)}{escape(value_suffix)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_stacked_shares(rows: Sequence[tuple[str, Sequence[float]]], band_names: Sequence[str],
                       colors: Sequence[str], title: str) -> str:
    """One 100 % stacked horizontal bar per row (shares of population by band) as inline SVG."""
    bar_h, gap, left, top = 26, 10, 170, 28
    width, plot_w = 760, 560
    legend_y = top + len(rows) * (bar_h + gap) + 6
    height = legend_y + 22 * math.ceil(len(band_names) / 4) + 6
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" class="tgis-chart">',
             f'<title>{escape(title)}</title>',
             f'<text x="0" y="16" font-size="13" font-weight="bold">{escape(title)}</text>']
    for i, (name, shares) in enumerate(rows):
        y = top + i * (bar_h + gap)
        parts.append(f'<text x="{left - 6}" y="{y + bar_h * 0.65:.1f}" font-size="12" '
                     f'text-anchor="end">{escape(name)}</text>')
        x = float(left)
        for band, share, c in zip(band_names, shares, colors, strict=True):
            s = 0.0 if share is None or math.isnan(share) else float(share)
            w = plot_w * s
            if w <= 0:
                continue
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                         f'fill="{c}" stroke="#fff" stroke-width="0.5"><title>{escape(name)}, '
                         f'{escape(band)}: {100 * s:.1f} %</title></rect>')
            if w > 34:
                parts.append(f'<text x="{x + w / 2:.1f}" y="{y + bar_h * 0.65:.1f}" font-size="11" '
                             f'text-anchor="middle">{100 * s:.0f}%</text>')
            x += w
    for k, (band, c) in enumerate(zip(band_names, colors, strict=True)):
        lx, ly = left + (k % 4) * 140, legend_y + (k // 4) * 22
        parts.append(f'<rect x="{lx}" y="{ly}" width="12" height="12" fill="{c}" stroke="#555" '
                     f'stroke-width="0.5"/><text x="{lx + 17}" y="{ly + 10}" font-size="12">'
                     f'{escape(band)}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# tables


def _frame_table(df: pd.DataFrame, max_rows: int = 50, css: str = "") -> Table:
    df = df.head(max_rows)
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
               for c in df.columns]
    rows = []
    for rec in df.itertuples(index=False):
        row = []
        for v, isnum in zip(rec, numeric, strict=True):
            if isnum:
                row.append(_fmt_num(v, 2))
            else:
                row.append("" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
        rows.append(row)
    return Table([str(c).replace("_", " ") for c in df.columns], rows, numeric, css)


_CORRIDOR_COLS = ("origin_id", "target_id", "target_tier", "travel_time_min", "length_km",
                  "unpaved_share", "population_served")

_UPGRADE_COLS = ("rank", "stretch_id", "name", "highway", "surface", "length_km", "upgrade_to",
                 "population_served", "person_min_saved_per_km", "max_saved_min", "mean_before_min",
                 "mean_after_min", "score", "benefit", "cost")


def _no_geometry(df: pd.DataFrame) -> pd.DataFrame:
    geom = getattr(df, "_geometry_column_name", None)
    out = pd.DataFrame(df).drop(columns=[c for c in (geom, "geometry") if c and c in df.columns])
    return out


def _inputs_table(inputs: Any) -> Table | None:
    if not inputs:
        return None
    rows: list[list[Any]] = []
    items: list[tuple[str, Any]]
    if isinstance(inputs, dict):
        items = [(str(k), v) for k, v in inputs.items()]
    elif isinstance(inputs, list):
        items = [(str(v.get("name", f"input {i + 1}")) if isinstance(v, dict) else f"input {i + 1}", v)
                 for i, v in enumerate(inputs)]
    else:
        items = [("input", inputs)]
    for name, v in items:
        if isinstance(v, dict):
            path = v.get("path") or v.get("file") or ""
            source = v.get("source") or v.get("url") or v.get("provider") or ""
            extra = "; ".join(f"{k}: {_short(x)}" for k, x in v.items()
                              if k not in ("path", "file", "source", "url", "provider", "name"))
        else:
            path, source, extra = str(v), "", ""
        rows.append([name, str(path), str(source), extra])
    return Table(["input", "file", "source", "details"], rows, [False] * 4, "inputs")


def _short(x: Any) -> str:
    s = str(x)
    if len(s) == 64 and all(c in "0123456789abcdef" for c in s.lower()):
        return s[:12] + "\u2026"  # a sha256
    return s if len(s) <= 120 else s[:117] + "\u2026"


def _attribution(att: Any) -> list[str]:
    if not att:
        return []
    if isinstance(att, str):
        return [att]
    if isinstance(att, dict):
        return [f"{k}: {v}" for k, v in att.items()]
    if isinstance(att, list):
        return [a if isinstance(a, str) else "; ".join(f"{k}: {v}" for k, v in a.items())
                if isinstance(a, dict) else str(a) for a in att]
    return [str(att)]


# ---------------------------------------------------------------------------------------------
# report


def render_report(study: StudyOutputs, title: str | None = None,
                  bands_min: Sequence[float] = DEFAULT_BANDS_MIN, top_n: int = 10,
                  map_link: str | None = None) -> str:
    """Return the HTML of the summary report of ``study`` (see :func:`make_report`).

    ``map_link`` is an optional relative link to the interactive map shown in the header.
    """
    from importlib import resources

    import jinja2

    from . import __version__

    loc = study.localities
    meta = study.study or {}
    if title is None:
        title = str(meta.get("name") or meta.get("title")
                    or (f"Study {study.folder.name}" if study.folder else "territorial-gis study"))
    pop = _population(loc)
    by_class = population_by_class(loc)
    mra = by_class[by_class["class"].str.startswith("MRA")]
    kpis = [("Localities", f"{len(loc):,}"), ("Population", _fmt_int(pop.sum())),
            ("MRA population", _fmt_int(mra["population"].sum()) if len(mra) else "0"),
            ("MRA share of population",
             _fmt_pct(float(mra["population"].sum()) / pop.sum()) if pop.sum() > 0 else "\u2013")]
    class_table = Table(
        ["class", "localities", "population", "share of population"],
        [[_swatch(r.color, r.label), f"{r.localities:,}", _fmt_int(r.population),
          _fmt_pct(r.population_share)] for r in by_class.itertuples()]
        + [["total", f"{len(loc):,}", _fmt_int(pop.sum()), _fmt_pct(1.0 if pop.sum() > 0 else math.nan)]],
        [False, True, True, True], "classes")
    class_chart = svg_bar_chart(list(by_class["label"]), list(by_class["population"]),
                                list(by_class["color"]), "Population by class and MRA type")

    tiers = find_tiers(loc)
    band_names = band_labels(bands_min) + ["unreachable"]
    band_colors = [BAND_COLORS[min(round(k * (len(BAND_COLORS) - 1) / max(len(band_names) - 2, 1)),
                                   len(BAND_COLORS) - 1)] for k in range(len(band_names) - 1)]
    band_colors.append(UNREACHABLE_COLOR)
    band_tables, stacked = [], []
    for tier in tiers:
        b = population_by_band(loc, tier, bands_min)
        nice = tier.replace("_", " ")
        stacked.append((nice, list(b["population_share"])))
        band_tables.append((nice, Table(
            ["band", "localities", "population", "share of population"],
            [[_swatch(c, r.band), f"{r.localities:,}", _fmt_int(r.population), _fmt_pct(r.population_share)]
             for r, c in zip(b.itertuples(), band_colors, strict=True)],
            [False, True, True, True], f"bands bands-{tier}")))
    band_chart = svg_stacked_shares(stacked, band_names, band_colors,
                                    "Share of population by travel time to each destination tier") \
        if stacked else ""

    sensitivity_table = _frame_table(study.sensitivity, css="sensitivity") \
        if study.sensitivity is not None and len(study.sensitivity) else None
    summary_table = _frame_table(study.summary, css="summary-csv") \
        if study.summary is not None and len(study.summary) else None
    corridor_table = None
    if study.corridors is not None and len(study.corridors):
        cor = _no_geometry(study.corridors)
        if "population_served" in cor.columns:
            cor = cor.sort_values("population_served", ascending=False, kind="stable")
        cols = [c for c in _CORRIDOR_COLS if c in cor.columns] or list(cor.columns)[:8]
        corridor_table = _frame_table(cor[cols], top_n, "corridors")
    upgrade_table = None
    if study.upgrades is not None and len(study.upgrades):
        upg = select_top_upgrades(_no_geometry(study.upgrades), top_n)
        cols = [c for c in _UPGRADE_COLS if c in upg.columns]
        upgrade_table = _frame_table(upg[cols if len(cols) >= 3 else list(upg.columns)[:10]], top_n,
                                     "upgrades")

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template_text = (resources.files("territorial_gis") / "templates" / "report.html.j2").read_text(
        encoding="utf-8")
    return env.from_string(template_text).render(
        title=title, version=meta.get("version") or __version__,
        created=meta.get("created") or meta.get("created_at") or "", map_link=map_link, kpis=kpis,
        summary_table=summary_table, class_table=class_table, class_chart=class_chart,
        band_tables=band_tables, band_chart=band_chart, sensitivity_table=sensitivity_table,
        corridor_table=corridor_table, upgrade_table=upgrade_table,
        input_table=_inputs_table(meta.get("inputs")), attribution=_attribution(meta.get("attribution")))


def make_report(study: StudyOutputs | str | os.PathLike[str], path: str | os.PathLike[str],
                overwrite: bool = False, title: str | None = None,
                bands_min: Sequence[float] = DEFAULT_BANDS_MIN, top_n: int = 10) -> Path:
    """Write the self-contained HTML summary report of a study.

    Parameters
    ----------
    study
        A study outputs folder (read with :func:`territorial_gis.outputs.load_study_outputs`) or
        a :class:`~territorial_gis.outputs.StudyOutputs` built from objects in memory.
    path
        Output ``.html`` file (written atomically).
    overwrite
        Replace an existing file.
    title
        Page title; default the study name from ``study.json``.
    bands_min
        Upper edges of the travel-time bands, minutes.
    top_n
        Rows of the corridor and upgrade tables.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    InputFileError
        When the folder or its ``localities.gpkg`` is missing (nothing is written).
    OutputExistsError
        When ``path`` exists and ``overwrite`` is false.
    """
    from ._io import atomic_output, check_outputs

    target = Path(path)
    check_outputs(target, overwrite=overwrite)
    so = study if isinstance(study, StudyOutputs) else load_study_outputs(study)
    map_link = "map.html" if (target.parent / "map.html").exists() else None
    html = render_report(so, title=title, bands_min=bands_min, top_n=top_n, map_link=map_link)
    with atomic_output(target, overwrite=overwrite) as tmp:
        tmp.write_text(html, encoding="utf-8")
    logger.info("report written to %s (%.1f kB)", target, target.stat().st_size / 1e3)
    return target
