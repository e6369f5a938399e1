"""Waterways as a travel mode: river graphs from line layers or river polygons, boat speeds by
class and direction, flow direction, landings.

A waterway layer becomes a graph of river nodes (every vertex of the lines, lines cut into
pieces no longer than the grid's cells) with one arc per direction of each piece, costing the
piece's length at the class's downstream or upstream speed (:data:`boat.toml
<territorial_gis/profiles/boat.toml>`). River polygons are first reduced to their centre line
(the medial axis, approximated by the Voronoi edges of the densified banks that lie inside the
polygon). Ends of lines closer than a join distance to another line are joined to it.

Flow direction, per connected river system: the direction the lines are drawn in
(``digitised``), or towards an *outlet* (the mouth, or the point where the river leaves the
area), downstream being the direction in which the distance along the river to the outlet
decreases; with a DEM and no outlet, the outlet of each system is its lowest end.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from ._arrays import unique_values
from ._toml import read_builtin_or_file
from .errors import ConfigError

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
FLOW_CHOICES = ("outlet", "digitised", "reversed", "dem")
_QUANTUM_M = 1e-3  # vertices within 1 mm are one river node


@dataclass(frozen=True)
class BoatProfile:
    """Boat speeds (km/h) per river class and direction, the wait at each boarding, the landing reach."""

    downstream_kph: dict[str, float]
    upstream_kph: dict[str, float]
    labels: dict[str, str]
    boarding_wait_min: float
    landing_reach_m: float
    source: str
    closed: frozenset[str] = frozenset()
    level: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for metadata."""
        out = {"downstream_kph": dict(self.downstream_kph), "upstream_kph": dict(self.upstream_kph),
               "boarding_wait_min": self.boarding_wait_min, "landing_reach_m": self.landing_reach_m,
               "source": self.source}
        if self.level is not None:
            out["river_level"] = self.level
            out["closed_classes"] = sorted(self.closed)
        return out

    def at_level(self, levels: RiverLevels) -> BoatProfile:
        """The profile at a season's river level: speeds multiplied by its factors, its closed
        classes not navigable. A class the profile does not know is refused (ConfigError)."""
        known = set(self.downstream_kph)
        named = set(levels.upstream_factor) | set(levels.downstream_factor) | set(levels.closed)
        unknown = sorted(named - known)
        if unknown:
            raise ConfigError(f"{levels.source}: [rivers] names river class(es) {', '.join(unknown)}, unknown to "
                              f"the boat profile {self.source} (classes: {', '.join(sorted(known))})")
        down = {c: v * levels.downstream_factor.get(c, 1.0) for c, v in self.downstream_kph.items()}
        up = {c: v * levels.upstream_factor.get(c, 1.0) for c, v in self.upstream_kph.items()}
        return dataclasses.replace(self, downstream_kph=down, upstream_kph=up,
                                   closed=self.closed | frozenset(levels.closed), level=levels.level)


@dataclass(frozen=True)
class RiverLevels:
    """What a season does to the rivers (a season's ``[rivers]`` table, see ``seasons/wet.toml``).

    Factors are at most 1 (a season slows boats or closes rivers, it never speeds them up, so a
    season never makes a trip shorter); classes are those of the boat profile.

    Attributes
    ----------
    level
        A label for the outputs (``"high water"``, ``"low water"``).
    upstream_factor, downstream_factor
        River class -> factor of the boat's speed over ground against / with the current.
    closed
        River classes boats cannot use at this level (streams at low water).
    """

    level: str
    upstream_factor: dict[str, float] = field(default_factory=dict)
    downstream_factor: dict[str, float] = field(default_factory=dict)
    closed: tuple[str, ...] = ()
    source: str = "<river levels>"

    @classmethod
    def from_dict(cls, table: Any, source: str) -> RiverLevels:
        """Check a ``[rivers]`` table (unknown keys, factors outside (0, 1], a bad class list)."""
        allowed = {"level", "upstream_factor", "downstream_factor", "closed"}
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [rivers] must be a table")
        bad = set(table) - allowed
        if bad:
            raise ConfigError(f"{source}: [rivers] unknown key(s) {', '.join(sorted(bad))}; allowed: "
                              f"{', '.join(sorted(allowed))}")
        factors: dict[str, dict[str, float]] = {}
        for key in ("upstream_factor", "downstream_factor"):
            sub = table.get(key, {})
            if not isinstance(sub, dict):
                raise ConfigError(f"{source}: [rivers.{key}] must be a table of river class = factor")
            for c, v in sub.items():
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
                    raise ConfigError(f"{source}: [rivers.{key}] {c} = {v!r}: expected a factor above 0 and at "
                                      "most 1 (a season slows boats; it closes rivers with 'closed')")
            factors[key] = {str(c): float(v) for c, v in sub.items()}
        closed = table.get("closed", [])
        if not isinstance(closed, list) or not all(isinstance(c, str) for c in closed):
            raise ConfigError(f"{source}: [rivers] closed = {closed!r}: expected a list of river classes")
        return cls(level=str(table.get("level", "seasonal")), closed=tuple(closed), source=source, **factors)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for metadata."""
        return {"level": self.level, "upstream_factor": dict(self.upstream_factor),
                "downstream_factor": dict(self.downstream_factor), "closed": list(self.closed)}


def _positive(value: Any, where: str, *, zero_ok: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0 or (value == 0 and not zero_ok):
        raise ConfigError(f"{where} = {value!r} must be a {'non-negative' if zero_ok else 'positive'} number")
    return float(value)


def load_boat_profile(profile: PathLike | None = None) -> BoatProfile:
    """The built-in ``boat`` profile or a TOML file with the same keys.

    Raises
    ------
    ConfigError
        Missing or malformed classes, a current as fast as the boat (no way upstream).
    """
    data, source = read_builtin_or_file(profile or "boat", "territorial_gis.profiles", "boat profile")
    classes = data.get("classes")
    if not isinstance(classes, dict) or not classes:
        raise ConfigError(f"{source}: a boat profile needs [classes.<name>] tables with boat_kph and current_kph")
    down: dict[str, float] = {}
    up: dict[str, float] = {}
    labels: dict[str, str] = {}
    for name, entry in classes.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{source}: classes.{name} must be a table")
        boat = _positive(entry.get("boat_kph"), f"{source}: classes.{name}.boat_kph")
        current = _positive(entry.get("current_kph", 0.0), f"{source}: classes.{name}.current_kph", zero_ok=True)
        if current >= boat:
            raise ConfigError(f"{source}: classes.{name}: current_kph {current:g} >= boat_kph {boat:g}: "
                              "no boat could go upstream")
        down[str(name)] = boat + current
        up[str(name)] = boat - current
        labels[str(name)] = str(entry.get("label", name))
    return BoatProfile(down, up, labels,
                       _positive(data.get("boarding_wait_min", 0.0), f"{source}: boarding_wait_min", zero_ok=True),
                       _positive(data.get("landing_reach_m", 500.0), f"{source}: landing_reach_m"), source)


def centrelines(polygons: np.ndarray, step_m: float) -> np.ndarray:
    """Centre lines of river polygons (metric): the Voronoi edges of the banks, densified every
    ``step_m``, that lie inside the polygon (an approximation of the medial axis), merged into lines.
    The same polygon at the same step is reduced once per session (surfaces built again, e.g.
    under a scenario, reuse it)."""
    out: list[Any] = []
    for poly in polygons:
        if poly is None or poly.is_empty:
            continue
        out.extend(_centreline(shapely.to_wkb(poly), float(step_m)))
    return np.asarray(out, dtype=object)


@functools.lru_cache(maxsize=16)
def _centreline(wkb: bytes, step_m: float) -> tuple[Any, ...]:
    from scipy.spatial import Voronoi

    poly = shapely.from_wkb(wkb)
    # vertices closer than a quarter step add nothing to the medial axis but Voronoi cells
    bank = shapely.segmentize(shapely.simplify(poly, step_m / 4.0).boundary, step_m)
    xy = np.unique(shapely.get_coordinates(bank), axis=0)
    if len(xy) < 3:
        return ()
    try:
        vor = Voronoi(xy)
    except Exception:  # noqa: BLE001 - Qhull refuses degenerate (collinear) inputs
        return ()
    ridges = np.asarray(vor.ridge_vertices, dtype=np.int64)
    ridges = ridges[(ridges >= 0).all(axis=1)]  # finite Voronoi edges
    edges = shapely.linestrings(vor.vertices[ridges.reshape(-1)].reshape(-1, 2, 2))
    shapely.prepare(poly)
    inside = edges[shapely.contains_properly(poly, edges)]
    if not len(inside):
        return ()
    # Voronoi edges meet at shared vertices: merged without a (costly) noding union
    merged = shapely.line_merge(shapely.multilinestrings(inside))
    return tuple(shapely.get_parts(merged))


@dataclass
class RiverGraph:
    """River nodes (metric ``xy``) and directed boat arcs (``u -> v``, seconds, downstream flag)."""

    xy: np.ndarray
    arc_u: np.ndarray
    arc_v: np.ndarray
    arc_s: np.ndarray
    downstream: np.ndarray  # per arc: True downstream, False upstream (both False: direction unknown)
    upstream: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        """Number of river nodes."""
        return len(self.xy)

    @property
    def navigable_nodes(self) -> np.ndarray:
        """Indices of the nodes a boat arc touches (landings are made there)."""
        return unique_values(np.concatenate([self.arc_u, self.arc_v]))


def _vertices(lines: np.ndarray, max_piece_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of the lines cut into pieces <= ``max_piece_m``: coordinates and line index."""
    seg = shapely.segmentize(lines, max_piece_m)
    return shapely.get_coordinates(seg, return_index=True)


def build_river_graph(lines: np.ndarray, line_class: np.ndarray, profile: BoatProfile, *,
                      max_piece_m: float, join_m: float, flow: str,
                      outlet_xy: Sequence[float] | None = None,
                      elevation_at: Any = None) -> RiverGraph:
    """Directed boat graph of metric river lines.

    Parameters
    ----------
    lines
        LineStrings in the grid's metric CRS (multi-part lines are split).
    line_class
        Boat-profile class of each line.
    max_piece_m
        Lines are cut into pieces no longer than this (so landings find a node nearby).
    join_m
        A line end within this distance of a vertex of another line is joined to it.
    flow
        ``outlet`` (towards ``outlet_xy``), ``dem`` (towards the lowest end of each river system,
        ``elevation_at(x, y)`` giving elevations), ``digitised`` (lines drawn downstream) or
        ``reversed`` (drawn upstream).
    """
    if flow not in FLOW_CHOICES:
        raise ConfigError(f"flow must be one of {', '.join(FLOW_CHOICES)}, got {flow!r}")
    parts, pidx = shapely.get_parts(lines, return_index=True)
    cls = np.asarray(line_class, dtype=object)[pidx]
    keep = shapely.get_num_coordinates(parts) >= 2
    parts, cls = parts[keep], cls[keep]
    coords, li = _vertices(parts, max_piece_m)
    key = np.round(coords / _QUANTUM_M).astype(np.int64)
    _uniq, first, node = np.unique(key, axis=0, return_index=True, return_inverse=True)
    node = node.reshape(-1)
    xy = coords[first]
    same = li[1:] == li[:-1]
    a = node[:-1][same]
    b = node[1:][same]
    arc_cls = cls[li[:-1][same]]
    ok = a != b
    a, b, arc_cls = a[ok], b[ok], arc_cls[ok]
    # join line ends to the nearest vertex of another line within join_m
    starts = np.searchsorted(li, np.arange(len(parts)), side="left")
    ends = np.concatenate([starts, np.searchsorted(li, np.arange(len(parts)), side="right") - 1])
    end_line = np.concatenate([np.arange(len(parts))] * 2)
    joins = 0
    if join_m > 0 and len(parts) > 1:
        k = min(16, len(coords))
        d, idx = cKDTree(coords).query(coords[ends], k=k, distance_upper_bound=join_m)
        d = d.reshape(len(ends), k)
        idx = idx.reshape(len(ends), k)
        valid = np.isfinite(d)
        idx_c = np.where(valid, idx, 0)
        valid &= (li[idx_c] != end_line[:, None]) & (node[idx_c] != node[ends][:, None])
        has = valid.any(axis=1)
        pick = idx_c[np.flatnonzero(has), np.argmax(valid[has], axis=1)]
        a = np.concatenate([a, node[ends[has]]])
        b = np.concatenate([b, node[pick]])
        arc_cls = np.concatenate([arc_cls, cls[end_line[has]]])
        joins = int(has.sum())
    length = np.hypot(*(xy[b] - xy[a]).T)
    n = len(xy)
    # direction of each piece a -> b: +1 downstream, -1 upstream, 0 unknown
    direction = _flow_direction(xy, a, b, length, n, flow, outlet_xy, elevation_at)
    unknown = direction == 0
    if unknown.any():
        log.warning("waterways: the flow direction of %d of %d river pieces is unknown (no outlet reachable); "
                    "they are charged the upstream speed both ways", int(unknown.sum()), len(a))
    # the flow direction was read on every river; pieces of classes closed at the season's level
    # carry no boat (they stay barriers to walking if their layer is one)
    open_ = ~np.isin(arc_cls.astype(str), list(profile.closed)) if profile.closed else np.ones(len(a), dtype=bool)
    closed_km = float(length[~open_].sum()) / 1000.0
    a, b, arc_cls, length, direction = a[open_], b[open_], arc_cls[open_], length[open_], direction[open_]
    down = np.array([profile.downstream_kph[c] for c in arc_cls]) if len(a) else np.empty(0)
    up = np.array([profile.upstream_kph[c] for c in arc_cls]) if len(a) else np.empty(0)
    fwd_kph = np.where(direction > 0, down, up)
    back_kph = np.where(direction < 0, down, up)
    arc_u = np.concatenate([a, b]).astype(np.int64)
    arc_v = np.concatenate([b, a]).astype(np.int64)
    arc_s = np.concatenate([length / (fwd_kph / 3.6), length / (back_kph / 3.6)])
    ds = np.concatenate([direction > 0, direction < 0])
    us = np.concatenate([direction < 0, direction > 0])
    meta = {"river_nodes": int(n), "river_km": round(float(length.sum()) / 1000.0, 3), "flow": flow,
            "ends_joined": joins, "pieces_unknown_direction": int(unknown.sum()),
            "systems": int(connected_components(sparse.coo_matrix(
                (np.ones(len(a)), (a, b)), shape=(n, n)), directed=False)[0]) if n else 0}
    if profile.closed:
        meta["closed_river_km"] = round(closed_km, 3)
    return RiverGraph(xy, arc_u, arc_v, arc_s, ds, us, meta)


def _flow_direction(xy: np.ndarray, a: np.ndarray, b: np.ndarray, length: np.ndarray, n: int, flow: str,
                    outlet_xy: Sequence[float] | None, elevation_at: Any) -> np.ndarray:
    if flow == "digitised":
        return np.ones(len(a), dtype=np.int8)
    if flow == "reversed":
        return -np.ones(len(a), dtype=np.int8)
    if not len(a):
        return np.zeros(0, dtype=np.int8)
    g = sparse.coo_matrix((np.concatenate([length, length]) + 1e-9,
                           (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(n, n)).tocsr()
    n_comp, comp = connected_components(g, directed=False)
    deg = np.bincount(np.concatenate([a, b]), minlength=n)
    outlets = []
    for k in range(n_comp):
        members = np.flatnonzero(comp == k)
        if flow == "outlet":
            if outlet_xy is None:
                raise ConfigError("flow = 'outlet' needs the outlet (lon, lat) of the waterways")
            d = np.hypot(xy[members, 0] - outlet_xy[0], xy[members, 1] - outlet_xy[1])
            outlets.append(int(members[np.argmin(d)]))
        else:  # dem: the lowest end of the system
            tips = members[deg[members] == 1]
            tips = tips if len(tips) else members
            z = np.asarray(elevation_at(xy[tips, 0], xy[tips, 1]), dtype=float)
            if not np.isfinite(z).any():
                continue
            outlets.append(int(tips[np.nanargmin(z)]))
    if not outlets:
        return np.zeros(len(a), dtype=np.int8)
    dist = np.min(np.atleast_2d(dijkstra(g, directed=False, indices=outlets)), axis=0)
    da, db = dist[a], dist[b]
    out = np.zeros(len(a), dtype=np.int8)
    out[np.isfinite(da) & np.isfinite(db) & (db < da)] = 1
    out[np.isfinite(da) & np.isfinite(db) & (db > da)] = -1
    return out
