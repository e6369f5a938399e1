"""Rule sets over the columns of units (eligibility of areas), read and run by the typology engine.

Eligibility is a typology: ordered classes with conditions over columns, the first class whose
condition holds wins, every unit gets the measured values behind its class as a reason. This
module only turns the short forms a user writes into a typology table and asks the engine for
classes and reasons:

* a condition text, ``"GM_2020 in ['Alto', 'Muy alto']"``, or a list of them (all must hold) ->
  two classes, ``eligible`` (the condition) and ``not_eligible`` (otherwise);
* a table of the typology format (``[typology]``, ``[thresholds]``, ``[flags]``,
  ``[[class]]``), a TOML file of it, a shipped preset name, or a loaded typology.

The engine is :mod:`territorial_gis._typology` (:func:`territorial_gis.typology.load_typology`).
Until it is on the main line this module carries a STAND-IN for the part eligibility needs
(comparisons ``<column> <op> <value>`` with ``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=``,
``in [...]``, ``not in [...]``, ``@threshold`` values, ``when``/``all``/``any`` classes,
missing values -> ``undecided``); it is used only when the engine cannot be imported and is to
be deleted when the engine lands.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import ColumnError, ConfigError, InputFileError

ELIGIBLE_CLASS = "eligible"
NOT_ELIGIBLE_CLASS = "not_eligible"
UNDECIDED_CLASS = "undecided"
_PRESET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

try:  # the typology engine (territorial_gis._typology), once on the main line
    from ._typology import evaluate as _engine_evaluate  # type: ignore[import-not-found,unused-ignore]
    from .typology import load_typology as _engine_load  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - exercised until the engine lands
    _engine_evaluate = None
    _engine_load = None

HAS_ENGINE = _engine_load is not None


def is_condition_text(text: str) -> bool:
    """Whether a rule text is a condition (not a file or preset name)."""
    from .config import looks_like_path

    return not looks_like_path(text) and not _PRESET_NAME.fullmatch(text.strip())


def typology_table(conditions: str | Sequence[str], *, name: str = "eligibility",
                   column: str = "eligibility_class") -> dict[str, Any]:
    """The typology table of a condition (or conditions that must all hold): ``eligible`` when
    it holds, ``not_eligible`` otherwise."""
    conds = [conditions] if isinstance(conditions, str) else list(conditions)
    if not conds:
        raise ConfigError("an eligibility rule needs at least one condition")
    first: dict[str, Any] = {"name": ELIGIBLE_CLASS}
    if len(conds) == 1:
        first["when"] = conds[0]
    else:
        first["all"] = conds
    return {"typology": {"name": name, "column": column, "reasons_column": f"{name}_reasons"},
            "class": [first, {"name": NOT_ELIGIBLE_CLASS, "otherwise": True}]}


def load_rule_set(spec: Any) -> Any:
    """A typology from a condition text, a list of conditions, a typology table, a TOML file,
    a preset name or a loaded typology (see the module docstring)."""
    if isinstance(spec, str) and is_condition_text(spec):
        spec = typology_table(spec)
    elif isinstance(spec, (list, tuple)):
        spec = typology_table(list(spec))
    if _engine_load is not None:
        return _engine_load(spec)
    return _StandIn.load(spec)


def class_names(rule_set: Any) -> list[str]:
    """The class names of a rule set, in order."""
    return [c.name for c in rule_set.classes]


def evaluate_rule_set(df: pd.DataFrame, rule_set: Any) -> tuple[np.ndarray, list[str]]:
    """Class and reason of every row (the engine's first-class-that-holds rule).

    Raises
    ------
    ColumnError
        A condition names a column the table lacks, or compares a non-numeric column with a number.
    """
    if _engine_evaluate is not None:
        ev = _engine_evaluate(df, rule_set, reasons=True)
        return np.asarray(ev.classes, dtype=object), list(ev.reasons or [])
    assert isinstance(rule_set, _StandIn)
    return rule_set.evaluate(df)


# ------------------------------------------------------------------ stand-in (until the engine lands)
_LEAF = re.compile(r"^\s*(?P<col>`[^`]+`|[A-Za-z_][\w.]*)\s*(?P<op><=|>=|==|!=|<|>|not\s+in|in)\s*(?P<val>.+?)\s*$")
_SHOW = {"<": ("<", "≥"), "<=": ("≤", ">"), ">": (">", "≤"), ">=": ("≥", "<"), "==": ("=", "≠"),
         "!=": ("≠", "="), "in": ("in", "not in"), "not in": ("not in", "in")}


@dataclass(frozen=True)
class _Class:
    name: str
    conditions: tuple[tuple[str, str, Any, str], ...]  # (column, op, value, text)
    combine: str = "all"


@dataclass(frozen=True)
class _StandIn:
    name: str
    classes: tuple[_Class, ...]
    thresholds: dict[str, float] = field(default_factory=dict)
    source: str = "<dict>"

    @classmethod
    def load(cls, spec: Any) -> _StandIn:
        if isinstance(spec, _StandIn):
            return spec
        source = "<dict>"
        if isinstance(spec, (str, Path)):
            from ._toml import read_toml

            if not Path(spec).is_file():
                raise InputFileError(f"rule set {str(spec)!r} is neither a condition nor an existing file")
            source, spec = str(spec), read_toml(spec, "rule set")
        if not isinstance(spec, Mapping) or not isinstance(spec.get("class"), list) or not spec["class"]:
            raise ConfigError(f"{source}: a rule set needs [[class]] tables (at least one)")
        thr = {str(k): float(v["value"] if isinstance(v, Mapping) else v)
               for k, v in spec.get("thresholds", {}).items()}
        classes = []
        for c in spec["class"]:
            kind = next((k for k in ("when", "all", "any") if k in c), None)
            raw = [] if kind is None else ([c[kind]] if isinstance(c[kind], (str, Mapping)) else list(c[kind]))
            texts = [r["if"] if isinstance(r, Mapping) else r for r in raw]
            classes.append(_Class(str(c["name"]), tuple(_parse(t, thr, source) for t in texts),
                                  "any" if kind == "any" else "all"))
        return cls(str(spec.get("typology", {}).get("name", "rules")), tuple(classes), thr, source)

    def evaluate(self, df: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
        for c in self.classes:
            for col, _op, _v, _t in c.conditions:
                if col not in df:
                    raise ColumnError(f"rule set {self.name!r} ({self.source}): class {c.name!r} uses column "
                                      f"{col!r}, which the table does not have (columns: "
                                      f"{', '.join(map(str, df.columns))})")
        n = len(df)
        out = np.full(n, UNDECIDED_CLASS, dtype=object)
        reasons = [""] * n
        open_ = np.ones(n, dtype=bool)
        earlier: list[list[str]] = [[] for _ in range(n)]
        for c in self.classes:
            states = [_leaf(df, col, op, v) for col, op, v, _t in c.conditions]
            if not states:
                hold, known = np.ones(n, bool), np.ones(n, bool)
            elif c.combine == "all":
                hold = np.all([h for h, _k in states], axis=0)
                known = hold | np.any([~h & k for h, k in states], axis=0)
            else:
                hold = np.any([h for h, _k in states], axis=0)
                known = hold | np.all([~h & k for h, k in states], axis=0)
            for i in np.flatnonzero(open_):
                texts = [_text(df, cond, int(i), bool(h[i])) for cond, (h, _k) in zip(c.conditions, states, strict=True)]
                if hold[i]:
                    out[i] = c.name
                    reasons[i] = "; ".join(texts) if texts else "; ".join(earlier[i]) or "no condition"
                elif not known[i]:
                    reasons[i] = f"{c.name}? undecided: " + "; ".join(texts)
                else:
                    earlier[i].append(f"not {c.name}: " + ", ".join(texts))
            open_ &= ~hold & known
        return out, reasons


def _parse(text: str, thresholds: Mapping[str, float], source: str) -> tuple[str, str, Any, str]:
    m = _LEAF.match(str(text))
    if m is None:
        raise ConfigError(f"{source}: cannot read condition {text!r} (expected '<column> <op> <value>')")
    col, op, raw = m.group("col").strip("`"), " ".join(m.group("op").split()), m.group("val")
    if raw.startswith("@"):
        if raw[1:] not in thresholds:
            raise ConfigError(f"{source}: unknown threshold {raw!r} in condition {text!r}")
        return col, op, thresholds[raw[1:]], text
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        raise ConfigError(f"{source}: cannot read the value {raw!r} of condition {text!r}") from None
    if op in ("in", "not in") and not isinstance(value, (list, tuple)):
        raise ConfigError(f"{source}: expected a list [a, b, ...] after '{op}' in condition {text!r}")
    return col, op, value, text


def _leaf(df: pd.DataFrame, col: str, op: str, value: Any) -> tuple[np.ndarray, np.ndarray]:
    s = df[col]
    if op in ("in", "not in"):
        known = s.notna().to_numpy()
        numeric = all(isinstance(v, (int, float)) for v in value)
        vals = pd.to_numeric(s, errors="coerce") if numeric else s.astype(str).str.strip()
        hit = vals.isin(list(value)).to_numpy()
        return (hit if op == "in" else ~hit) & known, known
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        v = pd.to_numeric(s, errors="coerce")
        bad = v.isna() & s.notna() & (s.astype(str).str.strip() != "")
        if bad.any():
            raise ColumnError(f"column {col!r} is not numeric: value {s[bad].iloc[0]!r}")
        x = v.to_numpy(dtype=float)
        known = np.isfinite(x)
        with np.errstate(invalid="ignore"):
            hold = {"<": x < value, "<=": x <= value, ">": x > value, ">=": x >= value,
                    "==": x == value, "!=": x != value}[op]
        return hold & known, known
    known = s.notna().to_numpy()
    txt = s.astype(str).str.strip().to_numpy()
    hold = (txt == str(value)) if op == "==" else (txt != str(value))
    return hold & known, known


def _text(df: pd.DataFrame, cond: tuple[str, str, Any, str], i: int, holds: bool) -> str:
    col, op, value, _t = cond
    v = df[col].iloc[i]
    if pd.isna(v):
        return f"{col} unknown"
    shown = f"[{', '.join(map(str, value))}]" if isinstance(value, (list, tuple)) else f"{value:g}" \
        if isinstance(value, float) else repr(value) if isinstance(value, str) else str(value)
    vv = f"{v:g}" if isinstance(v, float) else repr(str(v).strip()) if isinstance(v, str) else str(v)
    return f"{col} {vv} {_SHOW[op][0 if holds else 1]} {shown}"
