"""Codes of administrative units as clean text (shared by :mod:`territorial_gis.indicators` and
:mod:`territorial_gis.changes`, which both join tables on them)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

#: cells that mean "no value" in the tables of statistical offices
MISSING_MARKS = ("", "-", "N. D.", "N.D.", "ND", "n.d.", "NA", "N/A", "n/a", "NaN", "nan", "None", "null")


def normalize_codes(values: pd.Series | Sequence[Any], width: int | None = None) -> pd.Series:
    """Codes as clean text: surrounding spaces removed, integer-valued floats without ``.0``
    (``1001.0`` -> ``"1001"``), then all-digit codes zero-padded to ``width`` (``"1001"`` ->
    ``"01001"``). Missing cells (NaN, empty, ``-``) become None. Codes longer than ``width``
    are left as they are (and will not match).
    """
    s = pd.Series(values) if not isinstance(values, pd.Series) else values

    def one(v: Any) -> str | None:
        if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NA:
            return None
        if isinstance(v, float | np.floating) and float(v).is_integer():
            v = int(v)
        t = str(v).strip()
        if t in MISSING_MARKS:
            return None
        if re.fullmatch(r"\d+\.0+", t):
            t = t.split(".")[0]
        if width is not None and t.isdigit():
            t = t.zfill(width)
        return t

    return pd.Series([one(v) for v in s], index=s.index, dtype=object)
