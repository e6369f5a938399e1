"""The study report: a self-contained HTML document a ministry can publish (and print on A4).

:func:`make_report` writes one page with no external requests, in English, Spanish or
Portuguese (``lang``):

- **key figures** and the caveats a reader must see first (unknown population is "unknown",
  never 0, and the report says which figures it cannot give);
- a static **overview map** drawn offline (matplotlib), so the printed report stands alone;
- localities and population **by class**, and **by the study's own travel-time bands** per
  destination tier and class; the **population within** each travel time;
- the top **corridors** and **road upgrades** (with road names; ranked by localities when
  population is unknown, saying so), **hubs** and **territories**;
- the **threshold sensitivity** in plain words, minutes and percentages;
- **methods**: the rules and thresholds with their sources, the speed profile, the routing
  options, the tier definitions and bands; the **inputs** with checksums and credits (no local
  paths); **download links** to the tables beside the report.

Numbers and dates are formatted for the language with Babel (:mod:`territorial_gis._i18n`),
the same way as in the interactive map. Print styles: A4 pages, headings kept with their
content, table rows not split, tables that fit the page.
"""

from __future__ import annotations

import base64
import logging
import math
import os
from collections.abc import Sequence
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from . import _reportsections as rs
from . import _style as st
from ._i18n import Texts, texts
from ._reportsections import Table
from ._studymeta import DEFAULT_BANDS_MIN, population_known, study_bands, study_tiers
from .columns import POPULATION, time_col
from .errors import ConfigError
from .outputs import StudyOutputs, load_study_outputs

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_BANDS_MIN", "Table", "band_labels", "make_report", "parse_bands", "population_by_band",
           "population_by_class", "render_report", "svg_bar_chart", "svg_stacked_shares"]


def parse_bands(text: str) -> tuple[float, ...]:
    """Parse ``"15,30,60"`` into increasing positive band edges (minutes).

    Raises
    ------
    ConfigError
        When a value is not a positive number or the values do not increase.
    """
    try:
        edges = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError as exc:
        raise ConfigError(f"travel-time bands must be numbers separated by commas, got '{text}'") from exc
    if not edges or any(e <= 0 or math.isnan(e) for e in edges) or any(
            b <= a for a, b in zip(edges[:-1], edges[1:], strict=True)):
        raise ConfigError(f"travel-time bands must be positive and increasing minutes, got '{text}'")
    return edges


def band_labels(edges: Sequence[float], lang: str | None = None) -> list[str]:
    """Labels of the bands cut at ``edges`` (minutes), the last one open: ``"< 15 min"``,
    ``"15\u201330 min"``, ``"\u2265 30 min"``."""
    return st.band_labels(edges, texts(lang))


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
    per_row = 4
    legend_y = top + len(rows) * (bar_h + gap) + 6
    height = legend_y + 22 * math.ceil(len(band_names) / per_row) + 6
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
    for k, (band, c) in enumerate(zip(band_names, colors, strict=True)):
        lx, ly = left + (k % per_row) * 148, legend_y + (k // per_row) * 22
        parts.append(f'<rect x="{lx}" y="{ly}" width="12" height="12" fill="{c}" stroke="#555" '
                     f'stroke-width="0.5"/><text x="{lx + 17}" y="{ly + 10}" font-size="12">'
                     f'{escape(band)}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# report


def render_report(study: StudyOutputs, *, title: str | None = None, lang: str | None = None,
                  bands_min: Sequence[float] | None = None, top_n: int = 10,
                  map_link: str | None = None, report_dir: Path | None = None,
                  overview: bool = True) -> str:
    """The HTML of the report of ``study`` (see :func:`make_report`).

    ``map_link`` is a relative link to the interactive map; ``report_dir`` the folder the report
    will be written to (for the download links); ``overview`` draws the static overview map.
    """
    import jinja2

    from . import __version__
    from ._overview import overview_png

    tx = texts(lang)
    meta = study.study or {}
    title = title or study.title or (f"{tx('Study')} {study.folder.name}" if study.folder else tx("Territorial study"))
    bands = {t: list(bands_min) if bands_min else study_bands(study, t) for t in study_tiers(study)}
    png = base64.b64encode(overview_png(study, tx)).decode("ascii") if overview else None
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.globals.update(_=tx, tx=tx)
    return env.from_string(_template()).render(
        lang=tx.lang, title=title, version=meta.get("territorial_gis_version") or meta.get("version") or __version__,
        created=tx.date(meta["created"]) if meta.get("created") else "", map_link=map_link,
        headline=rs.headline(study, tx), overview_png=png, classes=rs.class_section(study, tx),
        times=rs.travel_time_section(study, tx, bands_min), within=rs.within_section(study, tx),
        corridors=rs.corridor_section(study, tx, top_n), upgrades=rs.upgrade_section(study, tx, top_n),
        hubs=rs.hub_section(study, tx), territories=rs.territory_section(study, tx),
        sensitivity=rs.sensitivity_section(study, tx), methods=rs.methods_section(study, tx, bands),
        inputs=rs.input_section(study, tx), downloads=rs.download_section(study, tx, report_dir))


def _template() -> str:
    from importlib import resources

    return (resources.files("territorial_gis") / "templates" / "report.html.j2").read_text(encoding="utf-8")


def make_report(study: StudyOutputs | str | os.PathLike[str], path: str | os.PathLike[str], *,
                overwrite: bool = False, title: str | None = None, lang: str | None = None,
                bands_min: Sequence[float] | None = None, top_n: int = 10) -> Path:
    """Write the self-contained HTML report of a study.

    Parameters
    ----------
    study
        A study outputs folder, or a :class:`~territorial_gis.outputs.StudyOutputs` built in memory.
    path
        Output ``.html`` file (written atomically).
    overwrite
        Replace an existing file.
    title
        Title; default the study's title from ``study.json``.
    lang
        ``"en"``, ``"es"`` or ``"pt"`` (default ``settings.lang``).
    bands_min
        Upper edges of the travel-time bands, minutes; default the study's own bands
        (its ``population_within_min``, isochrones and classification thresholds).
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
    ConfigError
        For an unknown language.
    """
    from ._io import atomic_output, check_outputs

    target = Path(path)
    check_outputs(target, overwrite=overwrite)
    texts(lang)  # an unknown language fails before any reading
    so = study if isinstance(study, StudyOutputs) else load_study_outputs(study)
    map_link = "map.html" if (target.parent / "map.html").exists() else None
    html = render_report(so, title=title, lang=lang, bands_min=bands_min, top_n=top_n, map_link=map_link,
                         report_dir=target.parent)
    with atomic_output(target, overwrite=overwrite) as tmp:
        tmp.write_text(html, encoding="utf-8")
    logger.debug("report written to %s (%.1f kB)", target, target.stat().st_size / 1e3)
    return target


def population_note(study: StudyOutputs, lang: str | None = None) -> str | None:
    """The report's sentence on unknown population, None when population is known."""
    if population_known(study.localities):
        return None
    return rs.headline(study, texts(lang))["caveats"][0]
