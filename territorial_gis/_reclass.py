"""The MRA/FRA rules re-applied to new travel times (a failed link, an upgraded road).

Criticality and appraisal ask: with these new times, which localities change class? The answer
comes from :func:`territorial_gis.classify.classify_areas` itself (its rules, its reasons), run
on copies of what was classified with the times replaced, never from a re-implementation here.

Two cases, as the study classified:

* the localities are the classified units (:class:`Reclassifier`): each is classified again
  with its new times. Its class is *known* only where classifying it with the base times
  reproduces the class it carries (``area_class``).
* the localities take the class of the polygon area holding them (municipalities, a hexagon
  grid; :class:`AreaReclassifier`): the *areas* are classified again, their travel times
  re-aggregated from their localities' times as :func:`territorial_gis.classify.aggregate_to_areas`
  did (:mod:`territorial_gis._areamean`: the same weights, in the same order), and every locality
  of an area takes the area's new class. A change of the routed times (the minutes a failure
  adds, a project saves) is applied to the times the study classified on, so the unchanged times
  give back the study's areas exactly. An area's class is unknown only where its inputs cannot
  be re-aggregated from its localities (said with a reason).

Both return the class moves as :class:`Moves`: one row per (scenario, locality) whose class
changes, or whose change is unknown.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._areamean import AreaWeights
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


@dataclass(frozen=True)
class Moves:
    """Class moves of localities under new times: one entry per (group, locality) whose class
    changes (``before`` != ``after``) or whose change is unknown (``unknown``, with ``why``;
    classes empty). ``group`` is the scenario (a failed stretch, a project) the times belong to;
    ``locality`` a position in the localities."""

    group: np.ndarray
    locality: np.ndarray
    before: np.ndarray
    after: np.ndarray
    unknown: np.ndarray
    why: np.ndarray

    @classmethod
    def empty(cls) -> Moves:
        """No move."""
        i = np.empty(0, dtype=np.int64)
        o = np.empty(0, dtype=object)
        return cls(i, i, o, o, np.empty(0, dtype=bool), o)


def _classes(frame: gpd.GeoDataFrame, rules: Rules, tiers: Sequence[str]) -> np.ndarray:
    """``area_class`` of each row of ``frame`` by :func:`classify_areas` (quietly: the study
    logged what a copy would repeat)."""
    from .classify import classify_areas

    loggers = [logging.getLogger(f"territorial_gis.{m}") for m in ("classify", "terrain")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        out = classify_areas(frame.reset_index(drop=True), rules, tiers=list(tiers)).areas
    finally:
        for lg, lv in zip(loggers, levels, strict=True):
            lg.setLevel(lv)
    return out["area_class"].astype(str).to_numpy()


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
        if not len(rows):
            return np.empty(0, dtype=object)
        sub = self.frame.iloc[np.asarray(rows, dtype=np.int64)].copy()
        for t in self.tiers:
            sub[time_col(t)] = np.asarray(minutes[t], dtype=float)
        return _classes(sub, rules or self.rules, self.tiers)

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

    def class_moves(self, rows: np.ndarray, minutes: Mapping[str, np.ndarray], *,
                    base: Mapping[str, np.ndarray] | None = None, rules: Rules | None = None,
                    group: np.ndarray | None = None) -> Moves:
        """The :class:`Moves` of localities ``rows`` with new ``minutes`` (see :meth:`changes`);
        ``group`` (aligned with rows, default each row its own) is carried to the moves."""
        rows = np.asarray(rows, dtype=np.int64)
        grp = np.arange(len(rows)) if group is None else np.asarray(group, dtype=np.int64)
        before, after = self.changes(rows, minutes, base=base, rules=rules)
        unknown = ~self.known[rows]
        keep = (before != after) | unknown
        why = np.where(unknown, "the rules give this locality another class from its times than the one it has", "")
        return Moves(grp[keep], rows[keep], before[keep], after[keep], unknown[keep], why[keep].astype(object))


#: reasons an area's class change is unknown
WHY_NO_AREA = "the locality lies in no classified area"
WHY_NO_TIMES = "its localities carry no {col} to re-aggregate"
WHY_TIMES_DIFFER = "its {col} re-aggregated from its localities differs from the area's"
WHY_OTHER_CLASS = "the rules give the area another class from its inputs than the one it has"


@dataclass
class AreaReclassifier:
    """Classify the areas again when some of their localities' travel times change, and give
    every locality its area's class (see the module docstring)."""

    frame: gpd.GeoDataFrame
    rules: Rules
    tiers: list[str]
    judged: list[str]
    base_min: dict[str, np.ndarray]
    study_min: dict[str, np.ndarray]
    area_of: np.ndarray
    weights: AreaWeights
    sums: dict[str, tuple[np.ndarray, np.ndarray]]
    known: np.ndarray
    why: np.ndarray
    area_why: np.ndarray
    base_class: np.ndarray
    min_share: float
    note: str | None = None

    @classmethod
    def build(cls, localities: gpd.GeoDataFrame, base_min: Mapping[str, np.ndarray], rules: Rules,
              areas: gpd.GeoDataFrame) -> AreaReclassifier:
        """Re-aggregate the areas from the localities' times (the ``travel_time_<tier>_min``
        columns the study classified on) and check that the rules give back each area's class;
        ``base_min`` are the routed minutes the callers' new times are measured against."""
        from . import settings
        from ._areamean import locality_areas

        judged = [t for t in rules.access_max_hours if time_col(t) in areas]
        tiers = [t for t in judged if t in base_min]
        frame = _area_frame(areas)
        area_of = locality_areas(localities, areas)
        pop = (pd.to_numeric(localities[POPULATION], errors="coerce").to_numpy(dtype=float)
               if POPULATION in localities else np.full(len(localities), np.nan))
        weights = AreaWeights.from_population(area_of, pop, len(areas))
        area_why = np.full(len(areas), "", dtype=object)
        study_min: dict[str, np.ndarray] = {}
        sums: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for t in tiers:
            col = time_col(t)
            if col not in localities:
                area_why[area_why == ""] = WHY_NO_TIMES.format(col=col)
                study_min[t] = np.full(len(localities), np.nan)
            else:
                study_min[t] = pd.to_numeric(localities[col], errors="coerce").to_numpy(dtype=float)
            sums[t] = weights.sums(study_min[t][weights.members])
        self = cls(frame, rules, tiers, judged, {t: np.asarray(base_min[t], dtype=float) for t in tiers},
                   study_min, area_of, weights, sums, np.zeros(len(localities), dtype=bool),
                   np.full(len(localities), "", dtype=object), area_why,
                   np.full(len(localities), "", dtype=object), float(settings.min_reachable_share))
        self._check(areas)
        missing = [t for t in judged if t not in base_min]
        if missing:
            self.note = (f"{self.note}; rule tier(s) {', '.join(missing)} not routed here: the areas keep their "
                         "times to them")
        return self

    def _times(self, num: Mapping[str, np.ndarray], den: Mapping[str, np.ndarray], area: np.ndarray
               ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``(time, unreachable share)`` per tier of areas ``area`` from the sums of their localities."""
        from ._areamean import finish_means

        total = self.weights.total[area]
        out = {}
        for t in self.tiers:
            mean, share = finish_means(num[t], den[t], total, min_reachable_share=self.min_share)
            out[t] = (mean, np.where(self.weights.counts[area] > 0, 1.0 - share, np.nan))
        return out

    def _check(self, areas: gpd.GeoDataFrame) -> None:
        """Which areas the rules give back from their localities' times; the localities' known
        flags, reasons and base classes."""
        n = len(areas)
        every = np.arange(n)
        times = self._times({t: s[0] for t, s in self.sums.items()}, {t: s[1] for t, s in self.sums.items()}, every)
        for t, (mean, _share) in times.items():
            col = time_col(t)
            stored = pd.to_numeric(areas[col], errors="coerce").to_numpy(dtype=float)
            same = np.isclose(mean, stored, rtol=1e-9, atol=1e-9, equal_nan=True)
            self.area_why[~same & (self.area_why == "")] = WHY_TIMES_DIFFER.format(col=col)
        stored_class = areas[AREA_CLASS].astype(object).where(areas[AREA_CLASS].notna(), "").astype(str).to_numpy()
        again = _classes(self._with_times(every, times), self.rules, self.judged)
        self.area_why[(again != stored_class) & (self.area_why == "")] = WHY_OTHER_CLASS
        inside = self.area_of >= 0
        a = np.where(inside, self.area_of, 0)
        self.why = np.where(inside, self.area_why[a], WHY_NO_AREA).astype(object)
        self.known = self.why == ""
        self.base_class = np.where(inside, stored_class[a], "").astype(object)
        self.note = (f"class changes: the {n} {'area is' if n == 1 else 'areas are'} classified again from their "
                     "localities' times, each moved by the minutes the road network routes it to gain or lose, "
                     "and every locality takes its area's new class")
        bad = np.flatnonzero(self.area_why != "")
        if len(bad):
            msg = (f"class changes unknown in {len(bad)} of {n} areas: "
                   + "; ".join(f"area {i}: {self.area_why[i]}" for i in bad[:5]))
            log.warning(msg)
            self.note = f"{self.note}; {msg}"

    def _with_times(self, area: np.ndarray, times: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> gpd.GeoDataFrame:
        sub = self.frame.iloc[area].copy()
        for t, (mean, share) in times.items():
            sub[time_col(t)] = mean
            sub[f"unreachable_share_{t}"] = share
        return sub

    def class_moves(self, rows: np.ndarray, minutes: Mapping[str, np.ndarray], *,
                    base: Mapping[str, np.ndarray] | None = None, rules: Rules | None = None,
                    group: np.ndarray | None = None) -> Moves:
        """The :class:`Moves` when localities ``rows`` go from ``base`` (routed minutes per tier,
        aligned with rows; default the routed base) to ``minutes``. Rows of one ``group`` (a
        locality at most once per group; default each row its own group) change together: each
        (group, area) they touch is classified again, and every locality of an area whose class
        changes moves with it."""
        rows = np.asarray(rows, dtype=np.int64)
        grp = np.arange(len(rows)) if group is None else np.asarray(group, dtype=np.int64)
        r = rules or self.rules
        b = base if base is not None else {t: self.base_min[t][rows] for t in self.tiers}
        area = self.area_of[rows]
        inside = area >= 0
        keys = pd.MultiIndex.from_arrays([grp[inside], area[inside]])
        pair_code, pairs = pd.factorize(keys)
        p_group = pairs.get_level_values(0).to_numpy(dtype=np.int64) if len(pairs) else np.empty(0, np.int64)
        p_area = pairs.get_level_values(1).to_numpy(dtype=np.int64) if len(pairs) else np.empty(0, np.int64)
        before_t, after_t = self._pair_times(rows[inside], pair_code, p_area,
                                             {t: np.asarray(b[t], dtype=float)[inside] for t in self.tiers},
                                             {t: np.asarray(minutes[t], dtype=float)[inside] for t in self.tiers})
        ok = self.area_why[p_area] == ""
        cand = np.flatnonzero(ok & _crosses(before_t, after_t, r, self.tiers, len(pairs)))
        cls_b = np.full(len(pairs), "", dtype=object)
        cls_a = np.full(len(pairs), "", dtype=object)
        if len(cand):
            both = np.concatenate([p_area[cand], p_area[cand]])
            times = {t: tuple(np.concatenate([before_t[t][k][cand], after_t[t][k][cand]]) for k in (0, 1))
                     for t in self.tiers}
            got = _classes(self._with_times(both, times), r, self.judged)  # type: ignore[arg-type]
            cls_b[cand], cls_a[cand] = got[:len(cand)], got[len(cand):]
        moved = np.flatnonzero((cls_b != cls_a) | ~ok)
        return self._spread(moved, p_group, p_area, cls_b, cls_a, grp[~inside], rows[~inside])

    def _pair_times(self, rows: np.ndarray, pair: np.ndarray, p_area: np.ndarray, base: Mapping[str, np.ndarray],
                    minutes: Mapping[str, np.ndarray]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Times of each (group, area) pair before and after: the area's sums with the changed
        localities' study times replaced by their shifted ones (nothing added where nothing changed,
        so unchanged times give back the study's values exactly)."""
        pos = np.full(len(self.area_of), -1, dtype=np.int64)
        pos[self.weights.members] = np.arange(len(self.weights.members))
        w = self.weights.weight[pos[rows]]
        num_b, den_b, num_a, den_a = {}, {}, {}, {}
        for t in self.tiers:
            old = self.study_min[t][rows]
            new = shifted_minutes(old, base[t], minutes[t])
            changed = ~((old == new) | (np.isnan(old) & np.isnan(new)))
            ok_o, ok_n = np.isfinite(old), np.isfinite(new)
            dn = np.where(ok_n, new, 0.0) - np.where(ok_o, old, 0.0)
            dd = ok_n.astype(float) - ok_o.astype(float)
            cnum = np.bincount(pair[changed], weights=(w * dn)[changed], minlength=len(p_area))
            cden = np.bincount(pair[changed], weights=(w * dd)[changed], minlength=len(p_area))
            num_b[t], den_b[t] = self.sums[t][0][p_area], self.sums[t][1][p_area]
            den = den_b[t] + cden
            gone = den <= 1e-12 * self.weights.total[p_area]  # every locality of the area lost: exactly none
            num_a[t], den_a[t] = np.where(gone, 0.0, num_b[t] + cnum), np.where(gone, 0.0, den)
        return self._times(num_b, den_b, p_area), self._times(num_a, den_a, p_area)

    def _spread(self, moved: np.ndarray, p_group: np.ndarray, p_area: np.ndarray, cls_b: np.ndarray,
                cls_a: np.ndarray, out_group: np.ndarray, out_rows: np.ndarray) -> Moves:
        """Every locality of the moved (group, area) pairs, and the rows outside every area."""
        members, m_area = self.weights.members, self.weights.area
        order = np.argsort(m_area, kind="stable")
        starts = np.searchsorted(m_area[order], p_area[moved], side="left")
        ends = np.searchsorted(m_area[order], p_area[moved], side="right")
        from ._arrays import concat_ranges

        idx = concat_ranges(starts, ends - starts)
        which = np.repeat(moved, ends - starts)
        why = self.area_why[p_area[which]]
        unknown = why != ""
        return Moves(np.concatenate([p_group[which], out_group]).astype(np.int64),
                     np.concatenate([members[order][idx], out_rows]).astype(np.int64),
                     np.concatenate([np.where(unknown, "", cls_b[which]), np.full(len(out_rows), "")]).astype(object),
                     np.concatenate([np.where(unknown, "", cls_a[which]), np.full(len(out_rows), "")]).astype(object),
                     np.concatenate([unknown, np.ones(len(out_rows), dtype=bool)]),
                     np.concatenate([why, np.full(len(out_rows), WHY_NO_AREA, dtype=object)]).astype(object))


def shifted_minutes(study: np.ndarray, base: np.ndarray, new: np.ndarray) -> np.ndarray:
    """The study's minutes moved by the routed change ``new - base`` (NaN: unreachable): the
    minutes a failure adds or a project saves, on the time the study classified on. A locality
    cut off becomes unreachable; one newly connected takes the routed time (or keeps its study
    time where that is shorter); where nothing changed the study's time is kept as is."""
    study, base, new = (np.asarray(a, dtype=float) for a in (study, base, new))
    b_ok, n_ok = np.isfinite(base), np.isfinite(new)
    with np.errstate(invalid="ignore"):
        out = np.where(b_ok & n_ok, study + (new - base), np.nan)
    out = np.where(~b_ok & n_ok, np.fmin(study, new), out)
    same = (base == new) | (~b_ok & ~n_ok)
    return np.where(same, study, out)


def _crosses(before: Mapping[str, Any], after: Mapping[str, Any], rules: Rules, tiers: Sequence[str],
             n: int) -> np.ndarray:
    """Which of ``n`` pairs have some tier's area time crossing its threshold (NaN, unreachable,
    is beyond it): the only ones whose class can change, the other rules reading no travel time."""
    out = np.zeros(n, dtype=bool)
    for t in tiers:
        thr = rules.access_max_hours[t] * 60.0
        with np.errstate(invalid="ignore"):
            out |= (before[t][0] <= thr) != (after[t][0] <= thr)
    return out


def _area_frame(areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The columns of the areas :func:`classify_areas` reads, on a point of each area (its
    ``area_km2`` kept, so the density is the same)."""
    import geopandas as gpd

    from .classify import AGRO_CRITERIA

    keep = [POPULATION, "area_km2", "n_localities", *(col for col, *_x in AGRO_CRITERIA.values())]
    keep += [c for c in areas.columns if str(c).startswith(("travel_time_", "unreachable_"))]
    frame = pd.DataFrame(areas[[c for c in dict.fromkeys(keep) if c in areas]]).copy()
    frame.attrs = {}
    if "area_km2" not in frame:
        from ._cells import area_km2

        frame["area_km2"] = area_km2(areas).to_numpy()
    return gpd.GeoDataFrame(frame, geometry=areas.geometry.representative_point().to_numpy(), crs=areas.crs)


def build_reclassifier(localities: gpd.GeoDataFrame, base_min: Mapping[str, np.ndarray], rules: Rules | None,
                       class_col: str = AREA_CLASS, areas: gpd.GeoDataFrame | None = None
                       ) -> Reclassifier | AreaReclassifier | None:
    """The re-classifier of a study: of the ``areas`` (polygons classified, with ``area_class``)
    when the localities took their area's class, else of the localities; None without rules."""
    if rules is None:
        return None
    if areas is None or not len(areas) or not areas.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        return Reclassifier.build(localities, base_min, rules, class_col)
    if AREA_CLASS not in areas:
        raise ColumnError(f"the areas have no '{AREA_CLASS}' column (classify them first)")
    return AreaReclassifier.build(localities, base_min, rules, areas)


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
