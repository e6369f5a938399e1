"""Rule sets over the columns of units (eligibility of areas), read and run by the typology engine.

Eligibility is a typology: ordered classes with conditions over columns, the first class whose
condition holds wins, every unit gets the measured values behind its class as a reason, and a
unit whose class cannot be decided (a value is missing) is ``undecided``. The engine is
:mod:`territorial_gis._typology` (read with :func:`territorial_gis.typology.load_typology`);
this module only turns the short forms a user writes into a typology table:

* a condition text, ``"marginalization_grade in ['Alto', 'Muy alto']"``, or a list of them (all
  must hold) -> two classes, ``eligible`` (the condition) and ``not_eligible`` (otherwise);
* anything else :func:`~territorial_gis.typology.load_typology` reads: a table of the typology
  format, a TOML file of it, a shipped preset name, or a loaded typology.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._typology import Typology, evaluate
from .errors import ConfigError

ELIGIBLE_CLASS = "eligible"
NOT_ELIGIBLE_CLASS = "not_eligible"
_PRESET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def is_condition_text(text: str) -> bool:
    """Whether a rule text is a condition (not a file or preset name)."""
    from .config import looks_like_path

    t = text.strip()
    if _PRESET_NAME.fullmatch(t):
        return False
    return not looks_like_path(t) or any(op in t for op in ("<", ">", "=", " in ", " is "))


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


def load_rule_set(spec: Any) -> Typology:
    """A typology from a condition text, a list of conditions, a typology table, a TOML file,
    a preset name or a loaded typology (see the module docstring)."""
    from .typology import load_typology

    if isinstance(spec, str) and is_condition_text(spec):
        spec = typology_table(spec)
    elif isinstance(spec, (list, tuple)):
        spec = typology_table([str(s) for s in spec])
    return load_typology(spec)


def class_names(rule_set: Typology) -> list[str]:
    """The class names of a rule set, in order."""
    return [c.name for c in rule_set.classes]


def evaluate_rule_set(df: pd.DataFrame, rule_set: Typology) -> tuple[np.ndarray, list[str]]:
    """Class and reason of every row (the engine's first-class-that-holds rule).

    Raises
    ------
    ColumnError
        A condition names a column the table lacks, or compares a non-numeric column with a number.
    """
    ev = evaluate(df, rule_set, reasons=True)
    return np.asarray(ev.classes, dtype=object), list(ev.reasons or [])
