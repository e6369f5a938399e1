"""Cost tables and uncertainty ranges of an appraisal (TOML data, see ``territorial_gis/costs/``)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._toml import read_builtin_or_file
from .errors import ConfigError

_COST_KEYS = {"currency", "price_year", "default_terrain", "surface_groups", "class_default_surface",
              "cost_per_km", "terrain_factor", "terrain_max_slope_deg"}
_UNC_KEYS = {"walk_factor", "threshold_factor", "cost_factor", "speed_factor"}
NEW = "new"


def _positive(value: Any, where: str, *, zero: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not zero):
        raise ConfigError(f"{where} = {value!r}: expected a {'non-negative' if zero else 'positive'} number")
    return float(value)


def _table(data: Mapping[str, Any], key: str, source: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{source}: [{key}] must be a table")
    return value


@dataclass(frozen=True)
class CostTable:
    """Unit costs per km by current -> target road standard, and terrain factors.

    A *standard* is a surface group (``paved``, ``gravel``, ``earth`` ...), optionally
    qualified by a road class (``paved/primary``); ``new`` stands for no road.
    """

    currency: str
    price_year: int | None
    default_terrain: str
    surface_groups: dict[str, str]
    class_default_surface: dict[str, str]
    cost_per_km: dict[tuple[str, str], float]
    terrain_factor: dict[str, float]
    terrain_max_slope_deg: list[tuple[str, float]]
    source: str = "<built-in default cost table>"

    @property
    def groups(self) -> list[str]:
        """The surface groups, in the order of the file."""
        return list(dict.fromkeys(self.surface_groups.values()))

    def group_of(self, highway: Sequence[Any], surface: Sequence[Any]) -> np.ndarray:
        """Surface group of road pieces: from the surface tag, else from the class."""
        surf = pd.Series(list(surface), dtype=object)
        hw = pd.Series(list(highway), dtype=object).astype(str)
        by_tag = surf.map(lambda s: self.surface_groups.get(str(s).strip().lower())
                          if isinstance(s, str) and s.strip() else None)
        default = self.class_default_surface.get("default", "paved")
        by_class = hw.map(lambda h: self.class_default_surface.get(h, default))
        return by_tag.where(by_tag.notna(), by_class).to_numpy(dtype=object)

    def target_group(self, surface: str) -> str:
        """Surface group of a target surface (a tag value or a group name)."""
        s = str(surface).strip().lower()
        if s in self.groups:
            return s
        if s in self.surface_groups:
            return self.surface_groups[s]
        raise ConfigError(f"target surface '{surface}' is neither a surface of {self.source} "
                          f"({', '.join(sorted(self.surface_groups))}) nor a group ({', '.join(self.groups)})")

    def unit_cost(self, g_from: str, c_from: str | None, g_to: str, c_to: str) -> float | None:
        """Cost per km (flat terrain) of going from one standard to another; None when the table
        has no such transition (see the lookup order in ``costs/default.toml``)."""
        keys = [(f"{g_from}/{c_from}", f"{g_to}/{c_to}"), (g_from, f"{g_to}/{c_to}"),
                (f"{g_from}/{c_from}", g_to), (g_from, g_to)]
        for k in keys:
            if k in self.cost_per_km:
                return self.cost_per_km[k]
        return None

    def terrain_of_slope(self, slope_deg: float) -> str:
        """Terrain class of a mean ground slope (degrees); the steepest class beyond the last bound."""
        for name, bound in self.terrain_max_slope_deg:
            if slope_deg <= bound:
                return name
        return self.terrain_max_slope_deg[-1][0]


def load_cost_table(path: str | os.PathLike[str] | None = None) -> CostTable:
    """Read a cost table (TOML); None or ``"default"`` loads the shipped ``costs/default.toml``.

    Raises
    ------
    ConfigError
        Unknown keys, non-positive costs, a transition key not written ``"a -> b"``, a terrain
        class missing from one of the terrain tables, or an unknown ``default_terrain``.
    """
    data, source = read_builtin_or_file(path or "default", "territorial_gis.costs", "cost table")
    unknown = set(data) - _COST_KEYS
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}; allowed: "
                          f"{', '.join(sorted(_COST_KEYS))}")
    groups: dict[str, str] = {}
    for g, values in _table(data, "surface_groups", source).items():
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ConfigError(f"{source}: surface_groups.{g} must be a list of surface values")
        groups.update({v.strip().lower(): str(g) for v in values})
    if not groups:
        raise ConfigError(f"{source}: [surface_groups] is empty")
    group_names = set(groups.values())
    cds = {str(k): str(v) for k, v in _table(data, "class_default_surface", source).items()}
    for k, v in cds.items():
        if v not in group_names:
            raise ConfigError(f"{source}: class_default_surface.{k} = {v!r} is not a surface group "
                              f"({', '.join(sorted(group_names))})")
    costs: dict[tuple[str, str], float] = {}
    for key, value in _table(data, "cost_per_km", source).items():
        parts = [p.strip() for p in str(key).split("->")]
        if len(parts) != 2 or not all(parts):
            raise ConfigError(f"{source}: cost_per_km key {key!r} must read \"<current> -> <target>\"")
        costs[(parts[0], parts[1])] = _positive(value, f"{source}: cost_per_km.\"{key}\"")
    if not costs:
        raise ConfigError(f"{source}: [cost_per_km] is empty")
    tf = {str(k): _positive(v, f"{source}: terrain_factor.{k}") for k, v in _table(data, "terrain_factor", source).items()}
    slopes = {str(k): _positive(v, f"{source}: terrain_max_slope_deg.{k}")
              for k, v in _table(data, "terrain_max_slope_deg", source).items()}
    if set(tf) != set(slopes) or not tf:
        raise ConfigError(f"{source}: [terrain_factor] and [terrain_max_slope_deg] must name the same terrain "
                          f"classes (got {', '.join(sorted(tf))} and {', '.join(sorted(slopes))})")
    default_terrain = str(data.get("default_terrain", next(iter(tf))))
    if default_terrain not in tf:
        raise ConfigError(f"{source}: default_terrain = {default_terrain!r} is not a terrain class "
                          f"({', '.join(tf)})")
    year = data.get("price_year")
    return CostTable(currency=str(data.get("currency", "USD")), price_year=int(year) if year is not None else None,
                     default_terrain=default_terrain, surface_groups=groups, class_default_surface=cds,
                     cost_per_km=costs, terrain_factor=tf,
                     terrain_max_slope_deg=sorted(slopes.items(), key=lambda kv: kv[1]), source=source)


# ---------------------------------------------------------------------------- uncertainty
Range = tuple[float, float]


def _range(value: Any, where: str) -> Range:
    if not (isinstance(value, list) and len(value) == 2):
        raise ConfigError(f"{where} = {value!r}: expected [low, high] multipliers")
    lo, hi = (_positive(v, where) for v in value)
    if lo > hi:
        raise ConfigError(f"{where} = {value!r}: low is above high")
    return lo, hi


@dataclass(frozen=True)
class Uncertainty:
    """Ranges (multipliers around 1) the repeated runs of an appraisal draw from, uniformly."""

    walk_factor: Range = (1.0, 1.0)
    threshold_factor: Range = (1.0, 1.0)
    cost_factor: Range = (1.0, 1.0)
    class_factor: dict[str, Range] = field(default_factory=dict)
    surface_factor: dict[str, Range] = field(default_factory=dict)
    source: str = "<no perturbation>"

    def class_range(self, highway: str) -> Range:
        """Range of a highway class (``default`` for a class not listed)."""
        return self.class_factor.get(highway, self.class_factor.get("default", (1.0, 1.0)))

    def scaled(self, k: float) -> Uncertainty:
        """Every range widened (k > 1) or narrowed (k < 1) about 1; ``k = 0`` removes them all."""
        def s(r: Range) -> Range:
            return (max(1.0 - k * (1.0 - r[0]), 1e-6), 1.0 + k * (r[1] - 1.0))

        return Uncertainty(s(self.walk_factor), s(self.threshold_factor), s(self.cost_factor),
                           {c: s(r) for c, r in self.class_factor.items()},
                           {g: s(r) for g, r in self.surface_factor.items()}, f"{self.source} x {k:g}")

    @property
    def is_zero(self) -> bool:
        """Whether no range is wider than a point."""
        ranges = [self.walk_factor, self.threshold_factor, self.cost_factor, *self.class_factor.values(),
                  *self.surface_factor.values()]
        return all(lo == hi for lo, hi in ranges)


def load_uncertainty(path: str | os.PathLike[str] | None = None) -> Uncertainty:
    """Read uncertainty ranges (TOML); None or ``"uncertainty"`` loads the shipped
    ``costs/uncertainty.toml``."""
    data, source = read_builtin_or_file(path or "uncertainty", "territorial_gis.costs", "uncertainty file")
    unknown = set(data) - _UNC_KEYS
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}; allowed: "
                          f"{', '.join(sorted(_UNC_KEYS))}")
    speed = _table(data, "speed_factor", source)
    bad = set(speed) - {"class", "surface"}
    if bad:
        raise ConfigError(f"{source}: [speed_factor] may hold only 'class' and 'surface' tables, not "
                          f"{', '.join(sorted(bad))}")
    cls = {str(k): _range(v, f"{source}: speed_factor.class.{k}") for k, v in _table(speed, "class", source).items()}
    srf = {str(k): _range(v, f"{source}: speed_factor.surface.{k}")
           for k, v in _table(speed, "surface", source).items()}
    one = [1.0, 1.0]
    return Uncertainty(_range(data.get("walk_factor", one), f"{source}: walk_factor"),
                       _range(data.get("threshold_factor", one), f"{source}: threshold_factor"),
                       _range(data.get("cost_factor", one), f"{source}: cost_factor"), cls, srf, source)


@dataclass
class Draw:
    """The multipliers of one perturbed run."""

    walk: float
    threshold: float
    cost: np.ndarray  # per project
    speed_class: dict[str, float]
    speed_group: dict[str, float]

    @classmethod
    def identity(cls, n_projects: int) -> Draw:
        """No perturbation."""
        return cls(1.0, 1.0, np.ones(n_projects), {}, {})

    def speed_of(self, hw_names: Sequence[str], hw_codes: np.ndarray, group_names: Sequence[str],
                 group_codes: np.ndarray) -> np.ndarray:
        """:meth:`speed` of many roads given as factorized class and group codes."""
        c = np.array([self.speed_class.get(str(n), 1.0) for n in hw_names] or [1.0])[hw_codes]
        g = np.array([self.speed_group.get(str(n), 1.0) for n in group_names] or [1.0])[group_codes]
        return c * g

    def speed(self, highway: np.ndarray, group: np.ndarray) -> np.ndarray:
        """Speed multiplier of roads of these classes and surface groups."""
        c = pd.Series(highway, dtype=object).map(self.speed_class).fillna(1.0).to_numpy(dtype=float)
        g = pd.Series(group, dtype=object).map(self.speed_group).fillna(1.0).to_numpy(dtype=float)
        return c * g


def draw_factors(unc: Uncertainty, rng: np.random.Generator, classes: Sequence[str], groups: Sequence[str],
                 n_projects: int) -> Draw:
    """One run's multipliers. The uniform numbers are drawn in a fixed order, so the same seed
    gives the same numbers whatever the ranges (a wider range moves every factor farther out)."""
    def pick(r: Range) -> float:
        u = float(rng.random())
        return r[0] + u * (r[1] - r[0])

    walk = pick(unc.walk_factor)
    thr = pick(unc.threshold_factor)
    lo, hi = unc.cost_factor
    cost = lo + rng.random(n_projects) * (hi - lo)
    sc = {c: pick(unc.class_range(c)) for c in sorted(set(classes))}
    sg = {g: pick(unc.surface_factor.get(g, (1.0, 1.0))) for g in sorted(set(groups))}
    return Draw(walk, thr, cost, sc, sg)
