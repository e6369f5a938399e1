"""Figures and charts of the report, below :mod:`territorial_gis.report` so that its sections
(:mod:`territorial_gis._reportsections`, :mod:`territorial_gis._whatifreport`) can use them
without importing the report itself: population per travel-time band and per class, and the
inline SVG charts (horizontal bars, stacked shares)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

import numpy as np
import pandas as pd

from . import _style as st
from ._i18n import Texts, texts
from ._studymeta import DEFAULT_BANDS_MIN, population_known
from .columns import POPULATION, time_col

__all__ = ["population_by_band", "population_by_class", "svg_bar_chart", "svg_stacked_shares"]


def population_by_band(localities: pd.DataFrame, tier: str, edges: Sequence[float] = DEFAULT_BANDS_MIN,
                       *, lang: str | None = None) -> pd.DataFrame:
    """Localities and population per travel-time band to ``tier`` (plus the unreachable).

    Returns
    -------
    DataFrame
        ``band``, ``localities``, ``population`` (NaN when no locality of the band has a known
        population), ``population_share`` (NaN when no population is known). Bands are
        ``[0, e1)``, ``[e1, e2)``, ..., ``[e_last, inf)`` and the localities without a travel time.
    """
    tx = texts(lang)
    t = pd.to_numeric(localities[time_col(tier)], errors="coerce").to_numpy(float)
    pop = pd.to_numeric(localities[POPULATION], errors="coerce").to_numpy(float) \
        if POPULATION in localities.columns else np.full(len(localities), np.nan)
    idx = np.searchsorted(np.asarray(edges, float), t, side="right")
    labels = st.band_labels(edges, tx) + [tx("no travel time")]
    idx = np.where(np.isnan(t), len(labels) - 1, idx)
    total = float(np.nansum(pop)) if np.isfinite(pop).any() else math.nan
    rows = []
    for k, lab in enumerate(labels):
        sel = idx == k
        p = float(np.nansum(pop[sel])) if np.isfinite(pop[sel]).any() else (0.0 if not sel.any() else math.nan)
        if math.isnan(total):
            p = math.nan
        rows.append({"band": lab, "localities": int(sel.sum()), "population": p,
                     "population_share": p / total if total > 0 else math.nan})
    return pd.DataFrame(rows)


def population_by_class(localities: pd.DataFrame) -> pd.DataFrame:
    """Localities and population per class key (FRA, MRA-isolated, ...) in class order.

    ``population`` and ``population_share`` are NaN when no population is known.
    """
    keys = st.class_keys(localities)
    pk = population_known(localities)
    pop = pd.to_numeric(localities[POPULATION], errors="coerce").to_numpy(float) if pk \
        else np.full(len(localities), np.nan)
    total = float(np.nansum(pop)) if pk else math.nan
    rows = []
    for key, (label, color) in st.CLASS_STYLES.items():
        sel = keys == key
        if not sel.any():
            continue
        p = float(np.nansum(pop[sel])) if pk else math.nan
        rows.append({"class": key, "label": label, "color": color, "localities": int(sel.sum()),
                     "localities_share": sel.sum() / len(localities), "population": p,
                     "population_share": p / total if pk and total > 0 else math.nan})
    return pd.DataFrame(rows, columns=["class", "label", "color", "localities", "localities_share",
                                       "population", "population_share"])


# ---------------------------------------------------------------------------------------------
# SVG charts


def svg_bar_chart(labels: Sequence[str], values: Sequence[float], colors: Sequence[str], title: str,
                  *, tx: Texts | None = None) -> str:
    """A horizontal bar chart as an inline SVG string (values printed with ``tx``)."""
    tx = tx or texts()
    bar_h, gap, left, right, top = 22, 8, 300, 90, 28
    width = 760
    height = top + len(labels) * (bar_h + gap) + 8
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    vmax = max(finite + [0.0]) or 1.0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" class="tgis-chart">',
             f'<title>{escape(title)}</title>',
             f'<text x="0" y="16" font-size="13" font-weight="bold">{escape(title)}</text>']
    for i, (lab, v, c) in enumerate(zip(labels, values, colors, strict=True)):
        y = top + i * (bar_h + gap)
        fv = float(v) if v is not None and math.isfinite(float(v)) else 0.0
        w = (width - left - right) * fv / vmax
        text = tx.integer(v)
        parts.append(f'<text x="{left - 6}" y="{y + bar_h * 0.7:.1f}" font-size="12" '
                     f'text-anchor="end">{escape(lab)}</text>')
        parts.append(f'<rect class="bar" x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                     f'fill="{c}" stroke="#555" stroke-width="0.5"><title>{escape(lab)}: '
                     f'{escape(text)}</title></rect>')
        parts.append(f'<text x="{left + w + 5:.1f}" y="{y + bar_h * 0.7:.1f}" font-size="12">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_stacked_shares(rows: Sequence[tuple[str, Sequence[float]]], band_names: Sequence[str],
                       colors: Sequence[str], title: str, *, tx: Texts | None = None) -> str:
    """One 100 % stacked horizontal bar per row (shares by band) as inline SVG."""
    tx = tx or texts()
    bar_h, gap, left, top = 26, 10, 170, 28
    width, plot_w = 760, 570
    legend_y = top + len(rows) * (bar_h + gap) + 6
    # legend items laid out left to right, wrapped at the width (about 6.6 px per character at 12 px)
    spots, x, line = [], float(left), 0
    for band in band_names:
        w = 17 + 6.6 * len(band) + 16
        if x + w > width and x > left:
            x, line = float(left), line + 1
        spots.append((x, legend_y + 22 * line))
        x += w
    height = legend_y + 22 * (line + 1) + 6
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
            pct = tx.percent(s, 0)
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                         f'fill="{c}" stroke="#fff" stroke-width="0.5"><title>{escape(name)}, '
                         f'{escape(band)}: {escape(tx.percent(s, 1))}</title></rect>')
            if w > 38:
                parts.append(f'<text x="{x + w / 2:.1f}" y="{y + bar_h * 0.65:.1f}" font-size="11" '
                             f'text-anchor="middle">{escape(pct)}</text>')
            x += w
    for (band, c), (lx, ly) in zip(zip(band_names, colors, strict=True), spots, strict=True):
        parts.append(f'<rect x="{lx:.1f}" y="{ly}" width="12" height="12" fill="{c}" stroke="#555" '
                     f'stroke-width="0.5"/><text x="{lx + 17:.1f}" y="{ly + 10}" font-size="12">'
                     f'{escape(band)}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# report


def portfolio_png(portfolio: pd.DataFrame, info: dict, tx: Texts) -> bytes:
    """PNG chart in the reader's language: cumulative benefit against cumulative spending of the
    portfolio (``portfolio.csv``), the budget, and the P10-P90 range of the portfolio's benefit
    over the perturbed runs (from the appraisal's ``info``/study.json record)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ._appraisalsummary import unit_text

    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=120)
    try:
        x = pd.to_numeric(portfolio["cumulative_cost"], errors="coerce").to_numpy(dtype=float) / 1e6
        y = pd.to_numeric(portfolio["cumulative_benefit"], errors="coerce").to_numpy(dtype=float)
        ax.plot(x, y, "-o", color="#1f6f8b", lw=2, ms=4, label=tx("portfolio (greedy, re-routed after each pick)"))
        for xi, yi, pid in list(zip(x[1:], y[1:], portfolio["project_id"].iloc[1:], strict=True))[:10]:
            ax.annotate(str(pid), (xi, yi), textcoords="offset points", xytext=(4, -10), fontsize=7)
        ax.axvline(float(info["budget"]) / 1e6, color="#b03a2e", ls="--", lw=1, label=tx("budget"))
        if info.get("portfolio_benefit_p10") is not None and len(x) > 1:
            lo, hi = float(info["portfolio_benefit_p10"]), float(info["portfolio_benefit_p90"])
            ax.errorbar([x[-1]], [y[-1]], yerr=[[max(y[-1] - lo, 0)], [max(hi - y[-1], 0)]], fmt="none",
                        ecolor="#555555", capsize=4,
                        label=tx("P10\u2013P90 over {n} runs", n=tx.integer(info.get("runs"))))
        ax.set_xlabel(tx("cumulative cost (million {currency})", currency=str(info.get("currency", ""))))
        ax.set_ylabel(unit_text(str(info.get("benefit_unit", "")), tx) or tx("benefit"))
        ax.set_title(tx("Portfolio: cumulative benefit against spending"))
        for axis in (ax.xaxis, ax.yaxis):  # the reader's decimal mark and grouping
            axis.set_major_formatter(lambda v, _pos: tx.number(v, 0 if float(v).is_integer() else 1))
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)
