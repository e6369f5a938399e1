"""The MRA/FRA rules re-applied to new travel times (a failed link, an upgraded road).

Criticality and appraisal ask: with these new times, which localities change class? The answer
comes from :func:`territorial_gis.classify.classify_areas` itself (its rules, its reasons), run
on copies of the localities whose times were replaced, never from a re-implementation here.

A locality's class is *known* only where classifying it with the base times reproduces the
class it carries (``area_class``): where it does not (the class came from polygons aggregated
from several localities, from columns the table no longer has, or from other rules), a new
class could be wrong, so it is reported unknown instead.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .columns import AREA_CLASS, DENSITY, POPULATION, time_col
from .errors import ColumnError

if TYPE_CHECKING:
    import geopandas as gpd

    from .classify import Rules

log = logging.getLogger(__name__)

MRA = "MRA"
FRA = "FRA"


def as_rules(rules: Rules | str | os.PathLike[str] | Mapping[str, Any] | None) -> Rules | None:
    """A rule set from a :class:`~territorial_gis.classify.Rules`, a TOML path, a dict, or None."""
    from .classify import Rules, load_rules, rules_from_dict

    if rules is None or isinstance(rules, Rules):
        return rules
    if isinstance(rules, Mapping):
        return rules_from_dict(rules)
    return load_rules(rules)


def scale_thresholds(rules: Rules, factor: float) -> Rules:
    """The rules with every access threshold (hours) multiplied by ``factor``."""
    return replace(rules, access_max_hours={t: h * factor for t, h in rules.access_max_hours.items()})


@dataclass
class Reclassifier:
    """Classify localities again with some of their travel times replaced."""

    frame: gpd.GeoDataFrame
    rules: Rules
    tiers: list[str]
    base_min: dict[str, np.ndarray]
    known: np.ndarray
    base_class: np.ndarray
    note: str | None = None

    @classmethod
    def build(cls, localities: gpd.GeoDataFrame, base_min: Mapping[str, np.ndarray], rules: Rules | None,
              class_col: str = AREA_CLASS) -> Reclassifier | None:
        """Check that the rules reproduce the localities' classes from ``base_min`` (minutes per
        routed tier); None (with a log line) when class changes cannot be computed at all."""
        if rules is None:
            return None
        if class_col not in localities:
            raise ColumnError(f"the localities have no '{class_col}' column to compare classes with "
                              f"(run `tgis classify` first, or give no rules)")
        tiers = [t for t in rules.access_max_hours if t in base_min]
        # rule tiers the localities have times for (so their class used them) but that are not routed
        missing = [t for t in rules.access_max_hours if t not in base_min and time_col(t) in localities]
        note = None
        if missing:
            note = (f"rule tier(s) {', '.join(missing)} not routed here: classes of localities that depend "
                    f"on them cannot be re-computed")
        frame = _classify_frame(localities)
        self = cls(frame, rules, tiers, {t: np.asarray(base_min[t], dtype=float) for t in tiers},
                   np.zeros(len(localities), dtype=bool),
                   localities[class_col].astype(object).where(localities[class_col].notna(), "").astype(str)
                   .to_numpy(), note)
        again = self.classify(np.arange(len(localities)), self.base_min, rules)
        self.known = again == self.base_class
        n_bad = int((~self.known).sum())
        if n_bad:
            msg = (f"the rules give another class than '{class_col}' for {n_bad} of {len(localities)} "
                   "localities from the routed times: their class changes are unknown")
            log.warning(msg)
            self.note = msg if self.note is None else f"{self.note}; {msg}"
        return self

    def classify(self, rows: np.ndarray, minutes: Mapping[str, np.ndarray], rules: Rules | None = None) -> np.ndarray:
        """Classes of localities ``rows`` (positions, repeats allowed) with ``minutes`` per tier
        (aligned with ``rows``)."""
        from .classify import classify_areas

        if not len(rows):
            return np.empty(0, dtype=object)
        sub = self.frame.iloc[np.asarray(rows, dtype=np.int64)].copy()
        for t in self.tiers:
            sub[time_col(t)] = np.asarray(minutes[t], dtype=float)
        sub = sub.reset_index(drop=True)
        # the classification of a copy repeats what the study logged already: keep it quiet
        loggers = [logging.getLogger(f"territorial_gis.{m}") for m in ("classify", "terrain")]
        levels = [lg.level for lg in loggers]
        for lg in loggers:
            lg.setLevel(logging.WARNING)
        try:
            out = classify_areas(sub, rules or self.rules, tiers=self.tiers).areas
        finally:
            for lg, lv in zip(loggers, levels, strict=True):
                lg.setLevel(lv)
        return out["area_class"].astype(str).to_numpy()

    def may_change(self, rows: np.ndarray, minutes: Mapping[str, np.ndarray], base: Mapping[str, np.ndarray],
                   rules: Rules | None = None) -> np.ndarray:
        """Rows where some tier's time crosses its threshold between ``base`` and ``minutes``
        (the only rows whose class can change: the other rules read no travel time)."""
        r = rules or self.rules
        out = np.zeros(len(rows), dtype=bool)
        for t in self.tiers:
            thr = r.access_max_hours[t] * 60.0
            with np.errstate(invalid="ignore"):
                out |= (np.asarray(base[t]) <= thr) != (np.asarray(minutes[t]) <= thr)
        return out

    def changes(self, rows: np.ndarray, minutes: Mapping[str, np.ndarray], *, base: Mapping[str, np.ndarray] | None = None,
                rules: Rules | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(class_before, class_after)`` of ``rows`` with new ``minutes`` (aligned with rows);
        ``base`` (aligned too) defaults to the routed base times. Only rows that may change are
        classified; unknown classes are empty strings."""
        rows = np.asarray(rows, dtype=np.int64)
        b = base if base is not None else {t: self.base_min[t][rows] for t in self.tiers}
        before = np.full(len(rows), "", dtype=object)
        after = np.full(len(rows), "", dtype=object)
        cand = np.flatnonzero(self.may_change(rows, minutes, b, rules) & self.known[rows])
        if not len(cand):
            return before, after
        both = np.concatenate([rows[cand], rows[cand]])
        mins = {t: np.concatenate([np.asarray(b[t])[cand], np.asarray(minutes[t])[cand]]) for t in self.tiers}
        cls = self.classify(both, mins, rules)
        before[cand] = cls[:len(cand)]
        after[cand] = cls[len(cand):]
        return before, after


def _classify_frame(localities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The columns of the localities :func:`classify_areas` reads. Point localities carry a density
    (from their area) but no area: the area is restored from population / density so the rules
    see the same density."""
    from .classify import AGRO_CRITERIA

    keep = [POPULATION, DENSITY, "area_km2", "n_localities", "unreachable_reason",
            *(col for col, *_x in AGRO_CRITERIA.values()), localities.geometry.name]
    keep += [c for c in localities.columns if str(c).startswith(("travel_time_", "unreachable_"))]
    frame = localities[[c for c in dict.fromkeys(keep) if c in localities]].copy()
    frame.attrs = {}
    if DENSITY in frame and "area_km2" not in frame and POPULATION in frame:
        pop = pd.to_numeric(frame[POPULATION], errors="coerce")
        dens = pd.to_numeric(frame[DENSITY], errors="coerce")
        frame["area_km2"] = (pop / dens.where(dens > 0)).to_numpy()
    return frame


def with_area_indicators(localities: gpd.GeoDataFrame, areas: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Localities with the agro-ecological indicators of the polygon area they lie in (when their
    class was decided on polygons), so the rules see what they saw; unchanged otherwise."""
    import geopandas as gpd

    from .classify import AGRO_CRITERIA

    if areas is None or not len(areas) or not areas.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        return localities
    cols = [c for c, *_x in AGRO_CRITERIA.values() if c in areas and c not in localities]
    if not cols:
        return localities
    joined = gpd.sjoin(localities, areas[[*cols, areas.geometry.name]].to_crs(localities.crs), how="left",
                       predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")].drop(columns=["index_right"])
    return joined


def class_tiers(rules: Rules | None, routed: Sequence[str]) -> list[str]:
    """The routed tiers the rules judge access on."""
    return [] if rules is None else [t for t in rules.access_max_hours if t in routed]
