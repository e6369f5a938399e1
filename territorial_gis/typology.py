"""Typologies: sort localities, areas, territories or regions into named classes by rules over
any of their columns (access, agro-ecology, density, indicators, changes over time).

A typology is a TOML file of named classes with conditions, evaluated in order, each unit's
class written with the measured values behind it (the engine and the file format are described
in :mod:`territorial_gis._typology`). Presets ship in ``territorial_gis/typologies/``, each with
its sources (:func:`list_presets`):

* ``red``: RED region types, marginalized / emerging / declining, from the level and change of
  marginalization and of population;
* ``territorial_dynamics``: Rimisp's growth x poverty x inequality change;
* ``territorial_dynamics_marginalization``: the subset computable from marginalization and
  population alone (CONAPO), said so in the file;
* ``mra_subtypes``: MRA/FRA crossed with poverty (pockets of poverty inside favorable areas).

The MRA/FRA classification itself runs on the same engine
(:func:`territorial_gis.classify.rules_typology`).

Functions: :func:`load_typology`, :func:`apply_typology`, :func:`typology_sensitivity` (each
threshold moved by +-10 % and +-25 %, as for MRA/FRA), :func:`summarize_typology`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._toml import parse_toml, read_builtin_or_file
from ._typology import (
    Evaluation,
    Typology,
    evaluate,
    numeric_column,
    sensitivity_rows,
    typology_from_dict,
)
from .columns import POPULATION
from .errors import ColumnError, ConfigError, InputFileError

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
PRESET_PACKAGE = "territorial_gis.typologies"
SENSITIVITY_CHANGES = (-0.25, -0.10, 0.10, 0.25)


def list_presets() -> dict[str, str]:
    """Shipped typologies: name -> title."""
    out = {}
    for entry in sorted(resources.files(PRESET_PACKAGE).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            data = parse_toml(entry.read_text("utf-8"), entry.name)
            out[entry.name[:-5]] = str(data.get("typology", {}).get("title", ""))
    return out


def load_typology(name_or_path: str | PathLike | Mapping[str, Any] | Typology) -> Typology:
    """A preset by name (see :func:`list_presets`), a TOML file, a dict of the same shape, or a
    :class:`~territorial_gis._typology.Typology` (returned as is).

    Raises
    ------
    ConfigError
        Bad TOML, an unknown section, key, operator or threshold, a class without condition,
        naming the file and the class.
    InputFileError
        Neither a preset nor an existing file (the message lists the presets).
    """
    if isinstance(name_or_path, Typology):
        return name_or_path
    if isinstance(name_or_path, Mapping):
        return typology_from_dict(name_or_path)
    try:
        data, source = read_builtin_or_file(name_or_path, PRESET_PACKAGE, "typology")
    except InputFileError:
        raise InputFileError(f"typology {str(name_or_path)!r} is neither a preset ({', '.join(list_presets())}) "
                             "nor an existing file") from None
    return typology_from_dict(data, source=source)


def parse_threshold_options(values: Sequence[str]) -> dict[str, float]:
    """``["growth_pct=5", ...]`` -> ``{"growth_pct": 5.0}`` (the ``--set`` option)."""
    out = {}
    for v in values:
        name, sep, num = v.partition("=")
        try:
            out[name.strip()] = float(num)
        except ValueError:
            raise ConfigError(f"--set {v!r}: expected NAME=NUMBER") from None
        if not sep or not name.strip():
            raise ConfigError(f"--set {v!r}: expected NAME=NUMBER")
    return out


def apply_typology(units: pd.DataFrame, typology: Typology | str | PathLike | Mapping[str, Any], *,
                   thresholds: Mapping[str, float] | None = None, reasons: bool = True) -> pd.DataFrame:
    """Classify every unit; a copy of ``units`` with the class column (``typology.column``), the
    subtype column when the typology has one, the reasons column and one column per flag.

    ``thresholds`` override the typology's (by name). Units whose class cannot be decided because
    a value is missing get the typology's ``unknown_class`` (``undecided``) and a reason naming
    the missing values.

    Raises
    ------
    ColumnError
        The typology names a column the table lacks (closest names suggested), or a column it
        compares with numbers is not numeric (the value and row are named).
    """
    typ = load_typology(typology)
    if thresholds:
        typ = typ.with_thresholds(thresholds)
    ev = evaluate(units, typ, reasons=reasons)
    out = units.copy()
    _write(out, typ, ev)
    counts = pd.Series(ev.classes).value_counts()
    log.info("typology %s: %s", typ.name, ", ".join(f"{k} {v}" for k, v in counts.items()))
    return out


def _write(out: pd.DataFrame, typ: Typology, ev: Evaluation) -> None:
    clash = [c for c in (typ.column, typ.reasons_column, *typ.flags) if c in out.columns]
    if clash:
        log.info("typology %s replaces existing column(s) %s", typ.name, ", ".join(clash))
    out[typ.column] = ev.classes
    if typ.subtype_column:
        out[typ.subtype_column] = ev.subtypes
    for name in typ.flags:
        out[name] = ev.flag_column(name).to_numpy()
    if ev.reasons is not None:
        out[typ.reasons_column] = ev.reasons


def _shares(units: pd.DataFrame, typ: Typology, population_column: str) -> Any:
    pop = numeric_column(units, population_column) if population_column in units else None
    names = typ.class_names()

    def shares(ev: Evaluation) -> dict[str, float]:
        row: dict[str, float] = {}
        n = max(len(ev.classes), 1)
        for name in names:
            sel = ev.classes == name
            row[f"share_{name}"] = float(sel.sum()) / n
        if pop is not None:
            known = np.isfinite(pop)
            tot = float(pop[known].sum())
            for name in names:
                sel = (ev.classes == name) & known
                row[f"population_share_{name}"] = float(pop[sel].sum()) / tot if tot > 0 else float("nan")
        return row

    return shares


def typology_sensitivity(units: pd.DataFrame, typology: Typology | str | PathLike | Mapping[str, Any], *,
                         changes: Sequence[float] = SENSITIVITY_CHANGES,
                         population_column: str = POPULATION) -> pd.DataFrame:
    """How class shares move when each threshold moves by each relative change.

    One row for the baseline and one per (threshold, change) for the thresholds that can change a
    class (``vary = false`` ordinal codes and thresholds equal to 0 are not moved: listed by
    ``Typology.fixed_thresholds()``). Columns: ``parameter``, ``change_pct``, ``threshold``,
    ``share_<class>`` (of units), ``population_share_<class>`` (when ``population_column``
    exists; units with unknown population left out), ``n_changed`` (units whose class differs
    from the baseline).
    """
    typ = load_typology(typology)
    rows = sensitivity_rows(units, typ, changes, _shares(units, typ, population_column))
    return pd.DataFrame(rows)


def summarize_typology(classified: pd.DataFrame, typology: Typology | str | PathLike | Mapping[str, Any],
                       *, by: str | None = None, population_column: str = POPULATION) -> pd.DataFrame:
    """Units and population by class (within each region of ``by``), with shares and a total row.

    Columns: ``[by,] <class column>, n_units, population, share_units, share_population``.
    """
    typ = load_typology(typology)
    col = typ.column
    if col not in classified:
        raise ColumnError(f"column {col!r} missing: apply the typology {typ.name!r} first")
    if by is not None and by not in classified:
        raise ColumnError(f"region column {by!r} not found; columns are {', '.join(map(str, classified.columns))}")
    df = pd.DataFrame({col: classified[col].astype(str).to_numpy(),
                       "population": numeric_column(classified, population_column)
                       if population_column in classified else np.nan})
    keys = [col] if by is None else [by, col]
    if by is not None:
        df[by] = classified[by].to_numpy()
    out = df.groupby(keys, sort=False).agg(n_units=(col, "size"),
                                          population=("population", lambda s: s.sum(min_count=1)))
    out = out.reset_index()
    order = {c: i for i, c in enumerate(typ.class_names())}
    out = out.sort_values(keys, key=lambda s: s.map(order).fillna(len(order)) if s.name == col else s,
                          kind="stable").reset_index(drop=True)
    grp = out.groupby(by)["n_units"] if by is not None else None
    tot_n = grp.transform("sum") if grp is not None else out["n_units"].sum()
    tot_p = out.groupby(by)["population"].transform("sum") if by is not None else out["population"].sum()
    out["share_units"] = out["n_units"] / tot_n
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share_population"] = out["population"] / tot_p
    total = {col: "total", "n_units": int(out["n_units"].sum()), "population": out["population"].sum(min_count=1),
             "share_units": 1.0, "share_population": 1.0}
    if by is not None:
        total[by] = "all"
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)


def describe_typology(typology: Typology | str | PathLike | Mapping[str, Any]) -> str:
    """A plain-text description: title, classes with their conditions, thresholds, sources, notes."""
    typ = load_typology(typology)
    lines = [f"{typ.name}: {typ.title}" if typ.title else typ.name, f"  column: {typ.column}", "  classes:"]
    for c in typ.classes:
        lines.append(f"    {c.name}" + (f" ({c.subtype})" if c.subtype else "")
                     + (f": {c.description}" if c.description else ""))
    if typ.thresholds:
        lines.append("  thresholds:")
        for k, t in typ.thresholds.items():
            lines.append(f"    {k} = {t.value:g}" + ("" if t.vary else " (not varied)")
                         + (f"  # {t.note}" if t.note else ""))
    if typ.sources:
        lines.append("  sources:")
        lines += [f"    - {s}" for s in typ.sources]
    lines += [f"  note: {n}" for n in typ.notes]
    return "\n".join(lines)


def preset_path(name: str) -> Path:
    """Path of a shipped preset file (for copying and editing)."""
    p = Path(str(resources.files(PRESET_PACKAGE).joinpath(f"{name}.toml")))
    if not p.is_file():
        raise InputFileError(f"no preset {name!r}; presets: {', '.join(list_presets())}")
    return p
