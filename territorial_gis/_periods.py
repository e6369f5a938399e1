"""Tables of several periods keyed by unit and laid side by side (shared by
:mod:`territorial_gis.indicators`, whose built-in multi-year tables are wide, and
:mod:`territorial_gis.changes`; public as ``changes.periods_wide``). Codes are normalised by
:mod:`territorial_gis._codes`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ._codes import normalize_codes
from .columns import PERIOD_STATUS, period_col
from .errors import ColumnError, ConfigError


def keyed_table(df: pd.DataFrame, key: str, label: str) -> pd.DataFrame:
    """``df`` indexed by its normalised ``key`` (rows without a key dropped); a duplicated key
    is refused, naming the period ``label``."""
    if key not in df:
        raise ColumnError(f"period {label!r} has no key column {key!r}; columns are "
                          f"{', '.join(map(str, df.columns))}")
    k = normalize_codes(df[key])
    dup = k[k.notna() & k.duplicated(keep=False)]
    if len(dup):
        raise ColumnError(f"period {label!r}: key {key!r} is duplicated ({', '.join(map(repr, dup.unique()[:5]))}); "
                          "one row per unit and period is needed")
    out = pd.DataFrame(df).assign(**{key: k.to_numpy()})
    return out[out[key].notna()].set_index(key)


def _period_status(present: pd.DataFrame, labels: Sequence[str]) -> pd.Series:
    def one(row: pd.Series) -> str:
        missing = [lab for lab in labels if not row[lab]]
        if not missing:
            return "both" if len(labels) == 2 else "all"
        return "only " + ", ".join(lab for lab in labels if row[lab]) if len(labels) == 2 else \
            "missing " + ", ".join(missing)

    return present.apply(one, axis=1)


def periods_wide(periods: Mapping[str, pd.DataFrame], key: str, *, carry: Sequence[str] = ()) -> pd.DataFrame:
    """One row per unit of any period: ``key``, ``period_status``, the ``carry`` columns (from the
    latest period holding the unit) and every other column as ``<col>_<label>``."""
    if len(periods) < 2:
        raise ConfigError("compare at least two periods")
    labels = list(periods)
    frames = {lab: keyed_table(df, key, lab) for lab, df in periods.items()}
    keys = pd.Index(sorted(set().union(*(f.index for f in frames.values()))), name=key)
    present = pd.DataFrame({lab: keys.isin(f.index) for lab, f in frames.items()}, index=keys)
    out = pd.DataFrame(index=keys)
    out[PERIOD_STATUS] = _period_status(present, labels)
    for c in carry:
        vals = pd.Series(np.nan, index=keys, dtype=object)
        for lab in labels:
            if c in frames[lab]:
                f = frames[lab][c]
                vals.loc[f.index] = f.to_numpy()
        out[c] = vals
    for lab, f in frames.items():
        geom = getattr(f, "_geometry_column_name", None)
        for c in f.columns:
            if c in carry or c == geom:
                continue
            out[period_col(str(c), lab)] = f[c].reindex(keys).to_numpy()
    return out.reset_index()
