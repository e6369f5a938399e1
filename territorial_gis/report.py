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
- each **scenario** against the base (:mod:`territorial_gis._whatifreport`): who takes longer to
  reach each tier and by how much, who is cut off (reached only in the dry season, for a season),
  who changes class, the roads changed, with a map and a chart; the **Rural Access Index**
  (SDG 9.1.1) for the base and each scenario, unknown with its reason when population is, with
  its method and references;
- the further analyses a study ran (:mod:`territorial_gis._analysisreport`): the **critical
  roads** (top 10 by harm, with detours), the **road projects** (ranked with P10-P90 ranges,
  the appraisal's own sentences and its portfolio chart), **microregions** and every zone's
  **link to a favorable area**, the **typologies** (units and population by class) and the
  **indicators within** each travel time;
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
from pathlib import Path

from . import _analysisreport as ar
from . import _reportsections as rs
from . import _style as st
from . import _whatifreport as wr
from ._charts import population_by_band, population_by_class, svg_bar_chart, svg_stacked_shares
from ._i18n import texts
from ._reportsections import Table
from ._studymeta import DEFAULT_BANDS_MIN, population_known, study_bands, study_tiers
from .errors import ConfigError
from .outputs import MAP, StudyOutputs, load_study_outputs

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
    from ._overview import overview_png, scenario_png

    tx = texts(lang)
    meta = study.study or {}
    title = title or study.title or (f"{tx('Study')} {study.folder.name}" if study.folder else tx("Territorial study"))
    bands = {t: list(bands_min) if bands_min else study_bands(study, t) for t in study_tiers(study)}
    png = base64.b64encode(overview_png(study, tx)).decode("ascii") if overview else None
    headline = rs.headline(study, tx)
    headline["kpis"] += wr.rai_kpis(study, tx) + wr.scenario_kpis(study, tx)
    scenarios = wr.scenario_section(study, tx)
    for sc in scenarios if overview else []:
        got = scenario_png(study, sc["name"], tx)
        sc["png"] = base64.b64encode(got).decode("ascii") if got else None
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.globals.update(_=tx, tx=tx)
    return env.from_string(_template()).render(
        lang=tx.lang, title=title, version=meta.get("territorial_gis_version") or meta.get("version") or __version__,
        created=tx.date(meta["created"]) if meta.get("created") else "", map_link=map_link,
        headline=headline, overview_png=png, classes=rs.class_section(study, tx),
        scenarios=scenarios, rai=wr.rai_section(study, tx), season_methods=wr.season_methods(study, tx),
        criticality=ar.criticality_section(study, tx, top_n), appraisal=ar.appraisal_section(study, tx),
        microregions=ar.microregion_section(study, tx),
        typologies=ar.typology_section(study, tx), indicators_within=ar.indicators_within_section(study, tx),
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
    map_link = MAP if (target.parent / MAP).exists() else None
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
