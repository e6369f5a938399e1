"""The engine of accessibility surfaces: the friction grid joined to roads, waterways and crossings,
and the searches over it (the model is described in :mod:`territorial_gis.surfaces`).

Private machinery shared by the stages that use a surface: :mod:`territorial_gis.surfaces`
(travel-time rasters, zonal statistics), :mod:`territorial_gis.access` (localities beyond the
road's reach, trip modes and legs) and :mod:`territorial_gis.rai` (walking distance to an
all-season road).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from . import settings
from ._friction import (
    GridSpec,
    LandcoverTable,
    bridge_cells,
    check_lines_or_polygons,
    check_memory,
    grid_for_lonlat_bounds,
    lines_and_polygons,
    load_landcover_table,
    rasterize_mask,
    read_aligned,
    read_vector,
    tobler_isotropic_factor,
    warp_to_grid,
)
from ._grid import MODE_BOAT, MODE_CROSSING, MODE_LINK, MODE_ROAD, MODE_WAIT, MODE_WALK
from .columns import REASON_CUT_OFF, REASON_IN_BARRIER, REASON_NO_DESTINATION, REASON_OUTSIDE_GRID
from .errors import ColumnError, ConfigError, RasterError, RoutingError

if TYPE_CHECKING:
    import geopandas as gpd

    from ._engine import AugmentedGraph
    from ._waterways import RiverLevels
    from .network import RoadNetwork

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
MOVES = (4, 8, 16)
ROADS = ("network", "burn")
TOBLER = ("anisotropic", "isotropic")
#: Largest relative excess of a grid path's length over the straight line on open flat ground,
#: per move set (the worst direction: 22.5 degrees for 8 moves, 13.3 for 16, 45 for 4).
MOVE_SET_ERROR = {4: math.sqrt(2.0) - 1.0, 8: math.hypot(1.0, math.sqrt(2.0) - 1.0) - 1.0,
                  16: math.hypot(1.0, math.sqrt(5.0) - 2.0) - 1.0}
#: A point this close to a road stands on it (metres: the rounding of projected geometry).
ON_ROAD_M = 0.01
#: Legs of a trip, in the order of the kernel's leg columns.
LEG_COLUMNS = ("walk_min", "road_min", "boat_min", "boat_wait_min", "crossing_min")
_MODE_NAMES = {MODE_WALK: "walk", MODE_ROAD: "road", MODE_BOAT: "boat", MODE_CROSSING: "crossing"}
UNITS = {"min_per_m": 60.0, "s_per_m": 1.0, "kph": None}


# ---------------------------------------------------------------------------------------------
# options


@dataclass(frozen=True)
class WaterwaySpec:
    """A waterway layer: navigable rivers (lines, or river polygons reduced to their centre line).

    Attributes
    ----------
    source
        Vector file or GeoDataFrame (any CRS).
    river_class
        Boat-profile class of every feature (``major``, ``minor``, ``stream``, ``still``), unless
        ``class_column`` names a column holding the class of each feature.
    flow
        ``outlet`` (downstream = towards ``outlet``), ``dem`` (towards the lowest end of each river
        system), ``digitised`` (lines drawn downstream) or ``reversed``; default ``outlet`` when an
        outlet is given, else ``dem`` when the surface has a DEM.
    outlet
        (lon, lat) of the river's mouth or of the point where it leaves the area.
    profile
        Boat profile (built-in ``boat`` or a TOML file).
    landing_reach_m
        A road or landing point this close to the river is a landing (default: the profile's);
        coarse cartography (1:500,000 river banks, town centroids) needs a larger reach.
    barrier
        The rivers are also barriers to walking (True unless another layer already draws them).
    """

    source: Any
    river_class: str = "major"
    class_column: str | None = None
    flow: str | None = None
    outlet: tuple[float, float] | None = None
    profile: PathLike | None = None
    landing_reach_m: float | None = None
    barrier: bool = True


@dataclass(frozen=True)
class SurfaceOptions:
    """How a surface is built.

    Attributes
    ----------
    resolution_m
        Cell size (metres); default from the area's size.
    moves
        4, 8 or 16 neighbours (default 16: see the module docstring for the error of each).
    roads
        ``network`` (exact network joined to the grid) or ``burn`` (roads burnt into the friction).
    tobler
        ``anisotropic`` (default) or ``isotropic`` slope factor when a DEM is given.
    walk_kph
        Walking speed on flat open ground (default ``settings.walk_kph``); a land-cover table
        replaces it cell by cell.
    walk_factor
        Multiplies every walking speed, flat ground and land-cover classes alike (a season's
        mud: ``walk_factor`` of :class:`~territorial_gis.scenarios.Season`); at most 1.
    cut_corners
        Let diagonal and knight moves pass between barrier cells (gdistance's behaviour).
    max_memory_mb
        Memory limit of the grid (default ``settings.surface_memory_mb``).
    direct_leg_m
        A point this close to a road (straight line, no barrier between) also walks to it directly
        (the road engine's leg); default one and a half cells.
    """

    resolution_m: float | None = None
    moves: int = 16
    roads: str = "network"
    tobler: str = "anisotropic"
    walk_kph: float | None = None
    cut_corners: bool = False
    max_memory_mb: float | None = None
    direct_leg_m: float | None = None
    walk_factor: float = 1.0

    @property
    def flat_walk_kph(self) -> float:
        """Walking speed on flat open ground, the walk factor applied (km/h)."""
        return float(self.walk_kph or settings.walk_kph) * float(self.walk_factor)

    def check(self) -> None:
        """Raise ConfigError naming the first bad value."""
        if self.moves not in MOVES:
            raise ConfigError(f"moves must be one of {MOVES}, got {self.moves!r}")
        if self.roads not in ROADS:
            raise ConfigError(f"roads must be one of {', '.join(ROADS)}, got {self.roads!r}")
        if self.tobler not in TOBLER:
            raise ConfigError(f"tobler must be one of {', '.join(TOBLER)}, got {self.tobler!r}")
        for name in ("resolution_m", "walk_kph", "max_memory_mb", "direct_leg_m"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0
                                  or not math.isfinite(v)):
                raise ConfigError(f"{name} must be a positive number, got {v!r}")
        f = self.walk_factor
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f <= 1:
            raise ConfigError(f"walk_factor must be above 0 and at most 1, got {f!r}")


# ---------------------------------------------------------------------------------------------
# the explicit part of the graph


@dataclass
class _Arcs:
    """Explicit arcs accumulated while a surface is built (forward direction)."""

    u: list[np.ndarray] = field(default_factory=list)
    v: list[np.ndarray] = field(default_factory=list)
    w: list[np.ndarray] = field(default_factory=list)
    mode: list[np.ndarray] = field(default_factory=list)

    def add(self, u: np.ndarray, v: np.ndarray, w: np.ndarray | float, mode: int) -> None:
        u = np.asarray(u, dtype=np.int64)
        self.u.append(u)
        self.v.append(np.asarray(v, dtype=np.int64))
        self.w.append(np.broadcast_to(np.asarray(w, dtype=np.float64), u.shape).copy())
        self.mode.append(np.full(len(u), mode, dtype=np.uint8))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if not self.u:
            return (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.empty(0, np.uint8))
        return (np.concatenate(self.u), np.concatenate(self.v), np.concatenate(self.w),
                np.concatenate(self.mode))


def _reverse_csr(u: np.ndarray, v: np.ndarray, w: np.ndarray, mode: np.ndarray,
                 n_total: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CSR over all nodes of the reversed arcs (row = head): what a search from destinations follows."""
    order = np.argsort(v, kind="stable")
    indptr = np.zeros(n_total + 1, dtype=np.int64)
    np.cumsum(np.bincount(v, minlength=n_total), out=indptr[1:])
    return indptr, u[order].astype(np.int32), w[order], mode[order]


# ---------------------------------------------------------------------------------------------
# the surface


class Surface:
    """A friction grid joined to the road network, waterways and crossings (see the module docstring).

    Attributes
    ----------
    grid : GridSpec
    friction : ndarray (rows, cols) of float64
        Seconds per metre of walking on flat ground (land cover included); NaN where no one walks
        (barriers, water, outside the land-cover data).
    elevation : ndarray or None
        Elevations (metres) for the anisotropic slope factor; None on flat terrain.
    options : SurfaceOptions
    meta : dict
        What the surface was built from and how (terrain, land cover, barriers, bridges, roads,
        waterways, crossings, move set), for the outputs.
    network : RoadNetwork or None
        The road network joined to the grid.
    inputs : SurfaceInputs or None
        What it was built from, when built by :meth:`SurfaceInputs.build` (so that it can be
        built again on another network, e.g. under a scenario).
    """

    def __init__(self, grid: GridSpec, friction: np.ndarray, *, elevation: np.ndarray | None,
                 options: SurfaceOptions, meta: dict[str, Any], arcs: _Arcs | None = None,
                 n_extra: int = 0, road: _RoadJoin | None = None, network: RoadNetwork | None = None) -> None:
        self.network = network
        self.inputs: SurfaceInputs | None = None
        self.grid = grid
        self.friction = friction
        self.elevation = elevation
        self.options = options
        self.meta = meta
        self.n_extra = n_extra
        self.road = road
        self._arcs = arcs or _Arcs()
        self._csr: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._move_dist = grid.move_distances(options.moves)

    @property
    def roads_in_friction(self) -> bool:
        """Roads are burnt into the friction (``roads="burn"`` or a road-speed raster): a grid
        move may be on foot or on a road, so trips report ``ground`` legs, not walk and road."""
        roads = self.meta.get("roads")
        return bool(roads) and self.road is None

    @property
    def n_nodes(self) -> int:
        """Cells plus explicit nodes."""
        return self.grid.n_cells + self.n_extra

    def _reverse(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        if self._csr is None:
            u, v, w, mode = self._arcs.arrays()
            if not len(u):
                return None
            self._csr = _reverse_csr(u, v, w, mode, self.n_nodes)
        return self._csr

    def _bucket(self) -> tuple[float, int]:
        """Bucket width (the lightest grid move) and a ring spanning the heaviest one."""
        fr = self.friction[np.isfinite(self.friction)]
        if not len(fr):
            raise RoutingError("no cell of the surface can be walked (every cell is a barrier or nodata)")
        lo = float(fr.min()) * float(self._move_dist.min())
        hi = float(fr.max()) * float(self._move_dist.max())
        if self.elevation is not None:
            lo *= math.exp(-0.175)
            hi *= 3.0
        width = max(lo, hi / 2**20, 1e-9)
        n = 1
        while n < min(hi / width + 2, 2**20):
            n *= 2
        return width, n

    def search(self, seed_node: np.ndarray, seed_cost: np.ndarray, *, labels: bool = False,
               legs: bool = False, pred: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        """One compiled multi-source pass *towards* the seeds: every node's seconds to its
        nearest seed (see :func:`territorial_gis._grid.grid_nearest`; ``pred``, an int32 array
        of :attr:`n_nodes`, receives each node's next node towards its seed)."""
        from ._grid import grid_nearest

        csr = self._reverse()
        ip, ix, ew, em = csr if csr is not None else (None, None, None, None)
        width, n_buckets = self._bucket()
        h, w = self.grid.shape
        return grid_nearest(self.friction, h, w, self._move_dist, self.options.moves,
                            seed_node, seed_cost, ip, ix, ew, em,
                            n_extra=self.n_extra, elevation=self.elevation, reverse=True,
                            cut_corners=self.options.cut_corners, labels=labels, legs=legs,
                            bucket_width=width, n_buckets=n_buckets, pred=pred)

    # ------------------------------------------------------------------ points on the surface
    def _place(self, lon: np.ndarray, lat: np.ndarray, what: str) -> _Placed:
        """Cells of points (EPSG:4326), moved to the nearest walkable cell when theirs is not."""
        return _place_points(self, np.asarray(lon, dtype=float), np.asarray(lat, dtype=float), what)

    def _seeds(self, placed: _Placed) -> _Seeds:
        """Seeds of destinations: their cell (with the walk from a barrier cell), and the road
        they stand on (their walk to it plus the part of the road piece up to them)."""
        ok = np.flatnonzero(placed.cell >= 0)
        parts = [(placed.cell[ok], placed.shift_s[ok], np.zeros(len(ok)), ok)]
        if self.road is not None:
            rn, walk, road, rw = self.road.entries(self, placed)
            parts.append((rn, walk + road, road, rw))
        node, cost, road_s, which = (np.concatenate(x) for x in zip(*parts, strict=True))
        return _Seeds(node.astype(np.int64), cost, cost - road_s, road_s, which.astype(np.int64))

    def travel_times(self, destinations: gpd.GeoDataFrame | tuple[np.ndarray, np.ndarray], *,
                     nearest: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Minutes from every cell to the nearest destination.

        Returns
        -------
        minutes : float32 array (rows, cols), NaN where no destination can be reached
        nearest : int32 array of the nearest destination's position in ``destinations`` (-1
            where none), when ``nearest``
        """
        lon, lat = _lonlat(destinations, "destinations")
        placed = self._place(lon, lat, "destinations")
        if not (placed.cell >= 0).any():
            raise RoutingError("no destination lies on the surface (all are outside the grid or in water)")
        seeds = self._seeds(placed)
        dist, label, _, _ = self.search(seeds.node, seeds.cost, labels=nearest)
        which = seeds.which
        n = self.grid.n_cells
        minutes = np.where(np.isfinite(dist[:n]), dist[:n] / 60.0, np.nan).astype(np.float32)
        near = None
        if nearest and label is not None:
            lab = label[:n]
            near = np.where(lab >= 0, which[np.maximum(lab, 0)], -1).astype(np.int32).reshape(self.grid.shape)
        return minutes.reshape(self.grid.shape), near

    def nearest(self, origins: gpd.GeoDataFrame | tuple[np.ndarray, np.ndarray],
                destinations: gpd.GeoDataFrame | tuple[np.ndarray, np.ndarray], *,
                entries: bool = False) -> pd.DataFrame:
        """Per origin: minutes to the nearest destination over the surface, which one, the minutes
        of each leg and the trip's modes (what the access stage reads for its off-road part).
        With ``entries``, also ``entry_lon``/``entry_lat``: where the trip first gets onto a road
        (the origin itself when it stands on one; NaN when the trip uses no road).

        Returns
        -------
        DataFrame aligned to the origins: ``travel_time_min`` (NaN where none is reachable),
        ``dest_index`` (position in ``destinations``, -1), :data:`LEG_COLUMNS`,
        ``trip_mode`` (``walk``, ``road``, ``walk+road``, ``walk+boat+walk+road`` ...: the modes in
        the order travelled; ``none`` in the destination's own cell), ``reason`` (None, or
        :data:`REASON_CUT_OFF` and the like). With roads burnt into the friction, grid legs are
        ``ground`` and ``walk_min``/``road_min`` are NaN (walking and driving cannot be told apart).
        """
        dlon, dlat = _lonlat(destinations, "destinations")
        olon, olat = _lonlat(origins, "origins")
        dest = self._place(dlon, dlat, "destinations")
        orig = self._place(olon, olat, "origins")
        n_o = len(olon)
        if not (dest.cell >= 0).any():
            out = _empty_nearest(n_o)
            out["reason"] = REASON_NO_DESTINATION
            return out
        seeds = self._seeds(dest)
        pred = np.empty(self.n_nodes, dtype=np.int32) if entries else None
        dist, label, legs, seq = self.search(seeds.node, seeds.cost, labels=True, legs=True, pred=pred)
        assert label is not None and legs is not None and seq is not None
        start = _best_starts(self, orig, dist)
        out = _read_nearest(self, orig, start, label, legs, seq, seeds)
        if pred is not None:
            out["entry_lon"], out["entry_lat"] = self._road_entries(orig, start, pred)
        return out

    def _road_entries(self, orig: _Placed, start: _Starts, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each trip first gets onto a road (lon/lat; NaN when it uses none): the origin
        itself when it stands on its road, else the first road node of its path."""
        n = len(orig.x)
        lon, lat = np.full(n, np.nan), np.full(n, np.nan)
        if self.road is None:
            return lon, lat
        lo, hi = self.road.offset, self.road.offset + self.road.aug.n_nodes
        on_own = np.isfinite(start.best) & (start.own_road > 0)
        lon[on_own], lat[on_own] = orig.lon[on_own], orig.lat[on_own]
        cur = np.where(np.isfinite(start.best) & ~on_own, start.node, -1)
        active = np.flatnonzero(cur >= 0)
        while len(active):  # follow every path one node at a time until it meets a road node
            node = cur[active]
            road = (node >= lo) & (node < hi)
            hit = active[road]
            nlon, nlat = self.road.node_lonlat(node[road] - lo)
            lon[hit], lat[hit] = nlon, nlat
            rest = active[~road]
            cur[rest] = pred[cur[rest]]
            active = rest[cur[rest] >= 0]
        return lon, lat

    def describe(self) -> dict[str, Any]:
        """The metadata plus the grid and the counts of walkable cells."""
        walk = np.isfinite(self.friction)
        return {**self.meta, "grid": self.grid.to_dict(), "cells": self.grid.n_cells,
                "walkable_cells": int(walk.sum()), "explicit_nodes": self.n_extra}


# ---------------------------------------------------------------------------------------------
# points


@dataclass
class _Placed:
    """Points on a surface: metric x/y, the cell each uses (-1: none), the walk to that cell
    when the point's own cell is a barrier (seconds), and why a point has no cell."""

    x: np.ndarray
    y: np.ndarray
    cell: np.ndarray
    shift_s: np.ndarray
    reason: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    shift_m: np.ndarray  # metres from a point on a barrier to the walkable cell it uses


@dataclass
class _Seeds:
    """Seeds of a search towards destinations: node, cost (seconds), its walk and road parts,
    and the destination (position in the destinations) each stands for."""

    node: np.ndarray
    cost: np.ndarray
    walk_s: np.ndarray
    road_s: np.ndarray
    which: np.ndarray


def _lonlat(points: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat of a GeoDataFrame's points (representative points of other shapes), or a
    ``(lon, lat)`` pair of arrays."""
    if isinstance(points, tuple):
        return np.asarray(points[0], dtype=float), np.asarray(points[1], dtype=float)
    from ._routing import lonlat_of

    return lonlat_of(points, what)


def _place_points(surface: Surface, lon: np.ndarray, lat: np.ndarray, what: str) -> _Placed:
    grid = surface.grid
    tr = Transformer.from_crs(4326, grid.crs, always_xy=True)
    x, y = (np.asarray(v, dtype=float) for v in tr.transform(lon, lat))
    cell, inside = grid.cells_of(x, y)
    reason = np.full(len(x), None, dtype=object)
    reason[~inside] = REASON_OUTSIDE_GRID
    shift = np.zeros(len(x))
    shift_m = np.zeros(len(x))
    fr = surface.friction.reshape(-1)
    blocked = np.flatnonzero(inside & ~np.isfinite(fr[np.maximum(cell, 0)]))
    if len(blocked):
        new, dist = _nearest_open_cells(surface, x[blocked], y[blocked])
        good = new >= 0
        cell[blocked] = new
        walk = 3.6 / surface.options.flat_walk_kph
        shift[blocked[good]] = dist[good] * walk
        shift_m[blocked[good]] = dist[good]
        reason[blocked[~good]] = REASON_IN_BARRIER
        if good.any():
            log.info("%d %s lie in water or on a barrier: each uses the nearest walkable cell "
                     "(median %.0f m away)", int(good.sum()), what, float(np.median(dist[good])))
    cell[~inside] = -1
    return _Placed(x, y, cell, shift, reason, lon, lat, shift_m)


def _nearest_open_cells(surface: Surface, x: np.ndarray, y: np.ndarray,
                        reach_cells: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """For points on barrier cells: the nearest walkable cell centre within ``reach_cells`` cells
    (window search per point; such points are few), and its distance (-1 / inf: none)."""
    grid = surface.grid
    h, w = grid.shape
    fr = surface.friction
    t = grid.transform
    out = np.full(len(x), -1, dtype=np.int64)
    dist = np.full(len(x), np.inf)
    for i in range(len(x)):
        c = int(math.floor((x[i] - t.c) / t.a))
        r = int(math.floor((y[i] - t.f) / t.e))
        r0, r1 = max(r - reach_cells, 0), min(r + reach_cells + 1, h)
        c0, c1 = max(c - reach_cells, 0), min(c + reach_cells + 1, w)
        rr, cc = np.nonzero(np.isfinite(fr[r0:r1, c0:c1]))
        if not len(rr):
            continue
        cx = t.c + (cc + c0 + 0.5) * t.a
        cy = t.f + (rr + r0 + 0.5) * t.e
        d = np.hypot(cx - x[i], cy - y[i])
        k = int(np.argmin(d))
        out[i] = (rr[k] + r0) * w + cc[k] + c0
        dist[i] = float(d[k])
    return out, dist


def _empty_nearest(n: int) -> pd.DataFrame:
    out = pd.DataFrame({"travel_time_min": np.full(n, np.nan), "dest_index": np.full(n, -1, dtype=np.int64)})
    for c in LEG_COLUMNS:
        out[c] = np.nan
    out["trip_mode"] = pd.Series([None] * n, dtype=object)
    out["reason"] = pd.Series([None] * n, dtype=object)
    return out


def decode_modes(seq: int, first: Sequence[int] = ()) -> str | None:
    """Mode names of a kernel mode sequence (first leg in the lowest 3 bits), after ``first``
    modes, consecutive repeats merged: ``"walk+road"``."""
    modes = list(first)
    while seq:
        modes.append(int(seq & 7))
        seq >>= 3
    names: list[str] = []
    for m in modes:
        name = _MODE_NAMES.get(m)
        if name and (not names or names[-1] != name):
            names.append(name)
    return "+".join(names) if names else None


def _trip_modes(seq: int, ends: int) -> str | None:
    """Modes of a trip: the origin's walk (bit 1) and road (2) to its first node, the kernel's
    sequence, then the road (4) and walk (8) from the last node to the destination."""
    names = decode_modes(seq, ([MODE_WALK] if ends & 1 else []) + ([MODE_ROAD] if ends & 2 else []))
    seq_names = names.split("+") if names else []
    for bit, mode in ((4, "road"), (8, "walk")):
        if ends & bit and (not seq_names or seq_names[-1] != mode):
            seq_names.append(mode)
    return "+".join(seq_names) if seq_names else None  # None: in the destination's own cell


@dataclass
class _Starts:
    """Where each origin's trip leaves from: its cell, or the road it stands on (the better)."""

    best: np.ndarray  # seconds to the nearest destination (inf: none)
    node: np.ndarray  # the surface node the search's path starts from (-1: none)
    own_walk: np.ndarray  # seconds walked before that node (to a walkable cell, to the road)
    own_road: np.ndarray  # seconds on the origin's own road piece before that node


def _best_starts(surface: Surface, orig: _Placed, dist: np.ndarray) -> _Starts:
    """Per origin, the best of leaving from its cell or from the road it stands on."""
    n = len(orig.x)
    best = np.full(n, np.inf)
    node = np.full(n, -1, dtype=np.int64)
    own_walk = np.zeros(n)
    own_road = np.zeros(n)
    ok = np.flatnonzero(orig.cell >= 0)
    c = orig.cell[ok]
    best[ok] = dist[c] + orig.shift_s[ok]
    node[ok] = c
    own_walk[ok] = orig.shift_s[ok]
    if surface.road is not None:
        p, enode, walk_s, road_s = surface.road.exits(surface, orig)
        cost = walk_s + road_s + dist[enode]
        order = np.argsort(cost, kind="stable")
        p, enode, walk_s, road_s, cost = p[order], enode[order], walk_s[order], road_s[order], cost[order]
        first = np.unique(p, return_index=True)[1]
        p, enode, walk_s, road_s, cost = p[first], enode[first], walk_s[first], road_s[first], cost[first]
        better = cost < best[p]
        p, enode = p[better], enode[better]
        best[p] = cost[better]
        node[p] = enode
        own_walk[p] = walk_s[better]
        own_road[p] = road_s[better]
    return _Starts(best, node, own_walk, own_road)


def _read_nearest(surface: Surface, orig: _Placed, start: _Starts, label: np.ndarray, legs: np.ndarray,
                  seq: np.ndarray, seeds: _Seeds) -> pd.DataFrame:
    """Per origin: minutes, destination, legs, modes and reason of the trip from its best start."""
    n = len(orig.x)
    best, node, own_walk, own_road = start.best, start.node, start.own_walk, start.own_road
    out = _empty_nearest(n)
    reach = np.isfinite(best)
    out["travel_time_min"] = np.where(reach, best / 60.0, np.nan)
    lab = np.where(reach, label[np.maximum(node, 0)], -1)
    out["dest_index"] = np.where(lab >= 0, seeds.which[np.maximum(lab, 0)], -1)
    leg = legs[np.maximum(node, 0)].copy()
    tail_walk = np.where(lab >= 0, seeds.walk_s[np.maximum(lab, 0)], 0.0)
    tail_road = np.where(lab >= 0, seeds.road_s[np.maximum(lab, 0)], 0.0)
    leg[:, 0] += own_walk + tail_walk
    leg[:, 1] += own_road + tail_road
    for k, col in enumerate(LEG_COLUMNS):
        out[col] = np.where(reach, leg[:, k] / 60.0, np.nan)
    # the trip's modes: the origin's own walk and road, then the kernel's sequence (decoded once
    # per distinct combination)
    sq = seq[np.maximum(node, 0)].astype(np.int64)
    ends = ((own_walk > 0).astype(np.int64) + 2 * (own_road > 0) + 4 * (tail_road > 0)
            + 8 * (tail_walk > 0))
    combo = np.where(reach, sq * 16 + ends, -1)
    uniq, inv = np.unique(combo, return_inverse=True)
    names = [None if c < 0 else (_trip_modes(int(c) >> 4, int(c) & 15) or "none") for c in uniq]
    modes: list[str | None] = [names[k] for k in inv.reshape(-1)]
    if surface.roads_in_friction:  # grid moves mix walking and road cells: not separable
        out["walk_min"] = np.nan
        out["road_min"] = np.nan
        modes = [m.replace("walk", "ground") if m else m for m in modes]
    out["trip_mode"] = pd.Series(modes, dtype=object)
    reason = orig.reason.copy()
    reason[(reason == None) & ~reach] = REASON_CUT_OFF  # noqa: E711 - object array
    out["reason"] = pd.Series(reason, dtype=object)
    return out


# ---------------------------------------------------------------------------------------------
# roads joined to the grid


class _RoadJoin:
    """The road network inside a surface: its augmented graph (roads split at one access point
    per piece and cell) whose node ``k`` is surface node ``offset + k``, and the direct walks of
    points standing next to a road."""

    def __init__(self, net: RoadNetwork, aug: AugmentedGraph, offset: int, surface_res: float,
                 direct_leg_m: float, point_xy: np.ndarray) -> None:
        self.net = net
        self.aug = aug
        self.offset = offset
        self.point_xy = point_xy  # access points (grid CRS) and their on-road nodes in ``aug``
        self.point_node = aug.onroad_node[:len(point_xy)]
        self.res = surface_res
        self.direct_leg_m = direct_leg_m
        road = np.flatnonzero(aug.arc_edge >= 0)
        # road arcs sorted by (edge, start, end): a point at ``pos`` along a directed edge lies on
        # the arc of the largest start <= pos and, among those, of the smallest end >= pos (the
        # piece between two access points rather than the whole edge)
        order = np.lexsort((aug.arc_f1[road], aug.arc_f0[road], aug.arc_edge[road]))
        self._arc = road[order]
        e = aug.arc_edge[self._arc].astype(np.float64)
        self._key0 = e * 4.0 + aug.arc_f0[self._arc]
        self._key1 = e * 16.0 + aug.arc_f0[self._arc] * 4.0 + aug.arc_f1[self._arc]
        self._w = net.edges["travel_time_s"].to_numpy(dtype=np.float64)
        self.crs: Any = None  # the grid's CRS (of ``point_xy``), set by the builder
        self._lonlat: tuple[np.ndarray, np.ndarray] | None = None

    def node_lonlat(self, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lon/lat of road nodes ``k`` of the augmented graph: network nodes and access points
        (NaN for the graph's off-road nodes, which no surface path uses)."""
        if self._lonlat is None:
            lon = np.full(self.aug.n_nodes, np.nan)
            lat = np.full(self.aug.n_nodes, np.nan)
            n0 = self.net.n_nodes
            lon[:n0], lat[:n0] = self.net.node_lon, self.net.node_lat
            if len(self.point_xy):
                tr = Transformer.from_crs(self.crs, 4326, always_xy=True)
                plon, plat = tr.transform(self.point_xy[:, 0], self.point_xy[:, 1])
                lon[self.point_node], lat[self.point_node] = plon, plat
            self._lonlat = (lon, lat)
        return self._lonlat[0][k], self._lonlat[1][k]

    def _on_road(self, surface: Surface, placed: _Placed) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                     np.ndarray]:
        """Points within the direct reach of a road, with no barrier on the way: (point, arc,
        position along the arc's edge, walk seconds), one row per directed edge of their road."""
        from ._engine import _base_arrays, _on_directed_edges, snap_points

        cand = np.flatnonzero((placed.cell >= 0) & (placed.shift_s == 0))
        empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.empty(0))
        if not len(cand):
            return empty
        # the leg is charged below at the cell's friction; the engine's walking speed is unused here
        sn = snap_points(self.net, placed.lon[cand], placed.lat[cand], max_snap_m=self.direct_leg_m,
                         walk_kph=settings.walk_kph)
        ok = np.flatnonzero(sn.ok)
        if not len(ok):
            return empty
        tr = Transformer.from_crs(4326, surface.grid.crs, always_xy=True)
        sx, sy = (np.asarray(v, dtype=float) for v in tr.transform(sn.snapped_lon[ok], sn.snapped_lat[ok]))
        clear = _segments_clear(surface, placed.x[cand[ok]], placed.y[cand[ok]], sx, sy)
        ok = ok[clear]
        pts = cand[ok]
        # a point on the road (within a centimetre: rounding of the projection) walks nothing
        walk = np.where(sn.snap_dist_m[ok] < ON_ROAD_M, 0.0, sn.snap_dist_m[ok]) * surface.friction.reshape(-1)[placed.cell[pts]]
        pt, e_rows, pos = _on_directed_edges(_base_arrays(self.net, "travel_time_s"),
                                             sn.segment_edge[ok], sn.frac[ok])
        arc, good = self._locate(e_rows, pos)
        return pts[pt[good]], arc[good], pos[good], walk[pt[good]]

    def _locate(self, e_rows: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The road arc each (directed edge, position) lies on, and whether one was found."""
        last = len(self._arc) - 1
        j = np.clip(np.searchsorted(self._key0, e_rows * 4.0 + pos, side="right") - 1, 0, last)
        f0 = self.aug.arc_f0[self._arc[j]]
        k = np.clip(np.searchsorted(self._key1, e_rows * 16.0 + f0 * 4.0 + pos, side="left"), 0, last)
        arc_k = self._arc[k]
        exact = (self.aug.arc_edge[arc_k] == e_rows) & (self.aug.arc_f0[arc_k] == f0) \
            & (self.aug.arc_f1[arc_k] >= pos)
        arc = np.where(exact, arc_k, self._arc[j])
        good = (self.aug.arc_edge[arc] == e_rows) & (self.aug.arc_f0[arc] <= pos) & (self.aug.arc_f1[arc] >= pos)
        return arc, good

    def entries(self, surface: Surface, placed: _Placed) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Seeds of destinations on a road: the tail of the piece they are on, at the walk plus
        the part of the piece up to them. Returns (surface node, walk seconds, road seconds, point)."""
        pt, arc, pos, walk = self._on_road(surface, placed)
        e = self.aug.arc_edge[arc]
        road = (pos - self.aug.arc_f0[arc]) * self._w[e]
        return self.offset + self.aug.arc_rows[arc], walk, road, pt

    def exits(self, surface: Surface, placed: _Placed) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Ways onto the road of origins next to one: (point, surface node at the head of their
        piece, walk seconds, road seconds to that node)."""
        pt, arc, pos, walk = self._on_road(surface, placed)
        e = self.aug.arc_edge[arc]
        road = (self.aug.arc_f1[arc] - pos) * self._w[e]
        return pt, self.offset + self.aug.arc_cols[arc], walk, road


def _segments_clear(surface: Surface, x0: np.ndarray, y0: np.ndarray, x1: np.ndarray,
                    y1: np.ndarray) -> np.ndarray:
    """Whether every cell along each straight segment is walkable (samples every third of a cell)."""
    from ._arrays import run_positions

    step = min(surface.grid.res) / 3.0
    n = np.maximum(2, np.ceil(np.hypot(x1 - x0, y1 - y0) / step).astype(np.int64) + 1)
    seg = np.repeat(np.arange(len(x0)), n)
    t = run_positions(n) / (n[seg] - 1)
    cells, inside = surface.grid.cells_of(x0[seg] + t * (x1 - x0)[seg], y0[seg] + t * (y1 - y0)[seg])
    walk = inside & np.isfinite(surface.friction.reshape(-1)[np.maximum(cells, 0)])
    return np.bincount(seg, weights=(~walk).astype(float), minlength=len(x0)) == 0


def _access_points(net: RoadNetwork, grid: GridSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                                np.ndarray]:
    """One point per road piece and cell it passes through (the one nearest the cell's centre),
    sampled every half cell, ends included: (representative edge, fraction, cell, distance to the
    cell's centre in metres, coordinates in the grid's CRS)."""
    from ._arrays import run_positions
    from ._engine import snap_index

    idx = snap_index(net)
    lengths = idx.lengths
    n = np.maximum(2, np.ceil(lengths / (min(grid.res) / 2.0)).astype(np.int64) + 1)
    g = np.repeat(np.arange(len(lengths)), n)
    frac = run_positions(n) / (n[g] - 1)
    pts = shapely.line_interpolate_point(idx.geoms[g], frac, normalized=True)
    xy = shapely.get_coordinates(pts)
    if not net.crs.equals(grid.crs):
        xy = np.column_stack(Transformer.from_crs(net.crs, grid.crs, always_xy=True).transform(xy[:, 0], xy[:, 1]))
    cell, inside = grid.cells_of(xy[:, 0], xy[:, 1])
    cx, cy = grid.centres(np.maximum(cell, 0))
    d = np.hypot(xy[:, 0] - cx, xy[:, 1] - cy)
    keep = np.flatnonzero(inside)
    order = keep[np.lexsort((d[keep], cell[keep], g[keep]))]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (g[order][1:] != g[order][:-1]) | (cell[order][1:] != cell[order][:-1])
    sel = order[first]
    return idx.rep_edge[g[sel]], frac[sel], cell[sel], d[sel], xy[sel]


def _join_roads(net: RoadNetwork, grid: GridSpec, friction: np.ndarray, arcs: _Arcs,
                opts: SurfaceOptions, meta: dict[str, Any]) -> tuple[_RoadJoin, int]:
    """Add the split road network and its links to the cells; returns the join and its node count."""
    from ._engine import AugmentedGraph, Snaps

    rep, frac, cell, d, xy = _access_points(net, grid)
    p = len(rep)
    nan = np.full(p, np.nan)
    snaps = Snaps(segment_edge=rep.astype(np.int64), frac=frac, snap_dist_m=np.zeros(p), leg_s=np.zeros(p),
                  ok=np.ones(p, dtype=bool), snapped_lon=nan, snapped_lat=nan)
    aug = AugmentedGraph(net, [snaps])
    off = grid.n_cells
    is_road = aug.arc_edge >= 0
    arcs.add(off + aug.arc_rows[is_road], off + aug.arc_cols[is_road], aug.arc_time[is_road], MODE_ROAD)
    arcs.add(off + aug.arc_rows[~is_road], off + aug.arc_cols[~is_road], aug.arc_time[~is_road], MODE_LINK)
    f = friction.reshape(-1)[cell]
    walk = np.isfinite(f)
    node = off + aug.onroad_node[:p]
    arcs.add(cell[walk], node[walk], d[walk] * f[walk], MODE_WALK)
    arcs.add(node[walk], cell[walk], d[walk] * f[walk], MODE_WALK)
    meta["roads"] = {"method": "network joined to the grid (exact times and one-way rules)",
                     "access_points": int(p), "linked_to_cells": int(walk.sum()),
                     "network_nodes": int(net.n_nodes), "directed_edges": int(net.n_edges)}
    res = min(grid.res)
    leg = opts.direct_leg_m if opts.direct_leg_m is not None else 1.5 * res
    join = _RoadJoin(net, aug, off, res, leg, xy)
    join.crs = grid.crs
    return join, int(aug.n_nodes)


def _burn_roads(net: RoadNetwork, grid: GridSpec, friction: np.ndarray, blocked: np.ndarray,
                meta: dict[str, Any]) -> None:
    """Burn every road into the cells it touches at its speed (the fastest road of a cell wins);
    barrier cells stay barriers (bridges were opened before)."""
    from rasterio.features import rasterize

    speed = net.edges["speed_kph"].to_numpy(dtype=float)
    tr = Transformer.from_crs(4326, grid.crs, always_xy=True)
    geoms = shapely.transform(net.edge_geometry, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
    order = np.argsort(speed)  # later shapes overwrite earlier ones: the fastest last
    burnt = rasterize(((geoms[i], speed[i]) for i in order if speed[i] > 0), out_shape=grid.shape,
                      transform=grid.transform, fill=0.0, dtype="float64")
    road = (burnt > 0) & ~blocked
    with np.errstate(divide="ignore"):
        friction[road] = np.fmin(np.where(np.isfinite(friction[road]), friction[road], np.inf),
                                 3.6 / burnt[road])
    meta["roads"] = {"method": "burnt into the friction at their speeds (one-way rules ignored)",
                     "road_cells": int(road.sum())}


# ---------------------------------------------------------------------------------------------
# terrain, land cover, barriers


def _walk_friction(grid: GridSpec, study: tuple[float, float, float, float], dem: PathLike | None,
                   landcover: PathLike | None, table: Any, opts: SurfaceOptions,
                   meta: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """Seconds per metre of walking on flat ground per cell, and the elevations for the
    anisotropic slope factor (None: flat, or isotropic already folded into the friction)."""
    walk_kph = opts.flat_walk_kph
    if landcover is not None:
        classes = warp_to_grid(landcover, grid, what="land-cover raster", resampling="nearest",
                               study_bounds=study)
        tab: LandcoverTable = load_landcover_table(table)
        speed = tab.lookup(classes, raster=str(landcover)) * float(opts.walk_factor)
        n_nodata = int(np.isnan(speed).sum())
        speed = np.where(np.isnan(speed), walk_kph, speed)
        with np.errstate(divide="ignore"):
            friction = np.where(speed > 0, 3.6 / speed, np.nan)
        meta["landcover"] = {"raster": str(landcover), "table": tab.source,
                             "cells_without_class_walked_at_kph": walk_kph if n_nodata else None,
                             "cells_without_class": n_nodata,
                             "cells_not_walkable": int((speed <= 0).sum())}
    else:
        friction = np.full(grid.shape, 3.6 / walk_kph)
        meta["landcover"] = None
    meta["walk_kph_flat"] = walk_kph
    if opts.walk_factor != 1.0:
        meta["walk_factor"] = float(opts.walk_factor)  # every walking speed multiplied (a season)
    if dem is None:
        meta["terrain"] = "flat: no DEM given (walking speed does not depend on slope)"
        return friction, None
    z = warp_to_grid(dem, grid, what="DEM", resampling="bilinear", study_bounds=study)
    if not np.isfinite(z).any():
        raise RasterError(f"DEM {dem} holds only nodata over the study area")
    n_void = int((~np.isfinite(z)).sum())
    meta["dem_cells_without_value"] = n_void  # walked as flat (beyond the DEM or on its voids)
    if opts.tobler == "anisotropic":
        meta["terrain"] = (f"DEM {os.fspath(dem)}: Tobler's hiking function, anisotropic (each move's own "
                           "rise over run)")
        return friction, z
    from .terrain import slope_degrees

    slope = np.tan(np.radians(slope_degrees(z, grid.transform, grid.crs)))
    factor = np.where(np.isfinite(slope), tobler_isotropic_factor(slope), 1.0)
    meta["terrain"] = (f"DEM {os.fspath(dem)}: Tobler's hiking function, isotropic (mean of uphill and "
                       "downhill at each cell's Horn slope)")
    return friction * factor, None


def _metric_road_lines(net: RoadNetwork, grid: GridSpec) -> np.ndarray:
    """One line per road piece, in the grid's CRS."""
    from ._engine import snap_index

    geoms: np.ndarray = snap_index(net).geoms
    if not net.crs.equals(grid.crs):
        tr = Transformer.from_crs(net.crs, grid.crs, always_xy=True)
        geoms = shapely.transform(geoms, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
    return geoms


def _barrier_mask(grid: GridSpec, layers: Sequence[Any], road_lines: np.ndarray,
                  meta: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Barrier cells of the layers (every cell a line or polygon touches) and the bridge cells."""
    lines: list[np.ndarray] = []
    polys: list[np.ndarray] = []
    names = []
    for layer in layers:
        name = _name(layer)
        gdf = read_vector(layer, "barrier layer")
        check_lines_or_polygons(gdf, "barrier layer", name)
        ln, pg = lines_and_polygons(_clip(gdf, grid), grid.crs, "barrier layer", name)
        if not len(ln) and not len(pg):
            log.warning("barrier layer %s lies outside the surface's grid", name)
        lines.append(ln)
        polys.append(pg)
        names.append(name)
    if not names:
        meta["barriers"] = None
        return np.zeros(grid.shape, dtype=bool), np.zeros(grid.shape, dtype=bool)
    bl = np.concatenate(lines) if lines else np.empty(0, dtype=object)
    bp = np.concatenate(polys) if polys else np.empty(0, dtype=object)
    mask = rasterize_mask(np.concatenate([bl, bp]), grid, all_touched=True)
    bridges, n_cross = bridge_cells(road_lines, bl, bp, grid)
    meta["barriers"] = {"layers": names, "lines": int(len(bl)), "polygons": int(len(bp)),
                        "barrier_cells": int(mask.sum()), "road_crossings": int(n_cross),
                        "bridge_cells": int((bridges & mask).sum())}
    return mask, bridges & mask


def _apply_barriers(grid: GridSpec, friction: np.ndarray, network: RoadNetwork | None, layers: Sequence[Any],
                    opts: SurfaceOptions, meta: dict[str, Any]) -> np.ndarray:
    """Close the barrier cells of ``friction`` (in place) except bridges, which are walked at the
    flat walking speed; returns the closed cells."""
    road_lines = _metric_road_lines(network, grid) if network is not None else np.empty(0, dtype=object)
    barrier, bridges = _barrier_mask(grid, layers, road_lines, meta)
    blocked = barrier & ~bridges
    friction[blocked] = np.nan
    friction[bridges & ~np.isfinite(friction)] = 3.6 / opts.flat_walk_kph
    return blocked


def _name(layer: Any) -> str:
    return os.fspath(layer) if isinstance(layer, (str, os.PathLike)) else "<GeoDataFrame>"


def _clip(gdf: gpd.GeoDataFrame, grid: GridSpec) -> gpd.GeoDataFrame:
    """Features of ``gdf`` clipped to the grid (a little beyond it), in the grid's CRS."""
    g = gdf.to_crs(grid.crs)
    w, s, e, n = grid.bounds
    pad = 2 * max(grid.res)
    box = shapely.box(w - pad, s - pad, e + pad, n + pad)
    g = g[g.intersects(box)].copy()
    g[g.geometry.name] = g.geometry.intersection(box)
    return g[~g.geometry.is_empty]


# ---------------------------------------------------------------------------------------------
# waterways and crossings


def _river_classes(gdf: gpd.GeoDataFrame, spec: WaterwaySpec, classes: Mapping[str, Any], name: str) -> np.ndarray:
    if spec.class_column is None:
        if spec.river_class not in classes:
            raise ConfigError(f"waterway layer {name}: river class {spec.river_class!r} is not in the boat "
                              f"profile (classes: {', '.join(classes)})")
        return np.full(len(gdf), spec.river_class, dtype=object)
    if spec.class_column not in gdf:
        raise ColumnError(f"waterway layer {name} has no column {spec.class_column!r}; columns: "
                          f"{', '.join(map(str, gdf.columns))}")
    values = gdf[spec.class_column].astype(str).to_numpy(dtype=object)
    bad = sorted(set(values) - set(classes))
    if bad:
        raise ConfigError(f"waterway layer {name}: column {spec.class_column!r} holds {', '.join(bad[:10])}, "
                          f"not classes of the boat profile ({', '.join(classes)})")
    return values


def _join_waterways(spec: WaterwaySpec, grid: GridSpec, z: np.ndarray | None, arcs: _Arcs, offset: int,
                    road: _RoadJoin | None, landings: _Placed | None,
                    meta: dict[str, Any], *, rivers: RiverLevels | None = None) -> int:
    """Add one waterway layer's boat graph and its landings; returns its node count."""
    from scipy.spatial import cKDTree

    from ._waterways import build_river_graph, centrelines, load_boat_profile

    name = _name(spec.source)
    profile = load_boat_profile(spec.profile)
    if rivers is not None:
        profile = profile.at_level(rivers)
    gdf = read_vector(spec.source, "waterway layer")
    check_lines_or_polygons(gdf, "waterway layer", name)
    gdf = _clip(gdf, grid)
    cls = _river_classes(gdf, spec, profile.downstream_kph, name)
    parts, pidx = shapely.get_parts(gdf.geometry.to_numpy(), return_index=True)
    kind = shapely.get_type_id(parts)
    is_line, is_poly = np.isin(kind, (1, 2)), np.isin(kind, (3,))
    res = min(grid.res)
    polys = parts[is_poly]
    # banks densified finely enough for the narrowest reaches: a quarter of the mean width
    width = 2.0 * shapely.area(polys) / np.maximum(shapely.length(polys), 1e-9)
    step = np.clip(width / 4.0, 10.0, res / 2.0)
    centre = [centrelines(polys[k:k + 1], float(step[k])) for k in range(len(polys))]
    lines = np.concatenate([parts[is_line]] + centre) if len(parts) else np.empty(0, dtype=object)
    line_cls = np.concatenate([cls[pidx[is_line]]] + [np.full(len(c), cls[pidx[is_poly][k]], dtype=object)
                                                       for k, c in enumerate(centre)])
    if not len(lines):
        raise ColumnError(f"waterway layer {name} has no river line or polygon inside the study area")
    flow = spec.flow or ("outlet" if spec.outlet is not None else "dem" if z is not None else None)
    if flow is None:
        raise ConfigError(f"the flow direction of waterway layer {name} is unknown: give its outlet (lon, lat) "
                          "of the mouth, flow = 'digitised' for lines drawn downstream, or a DEM")
    if flow in ("digitised", "reversed") and len(polys):
        raise ConfigError(f"waterway layer {name}: flow = {flow!r} needs lines; its polygons have no drawing "
                          "direction (give an outlet or a DEM)")
    outlet = None
    if spec.outlet is not None:
        tr = Transformer.from_crs(4326, grid.crs, always_xy=True)
        outlet = tuple(float(v) for v in tr.transform(*spec.outlet))

    def z_at(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        cell, inside = grid.cells_of(x, y)
        return np.where(inside, z.reshape(-1)[np.maximum(cell, 0)], np.nan) if z is not None else np.full(len(x), np.nan)

    rg = build_river_graph(lines, line_cls, profile, max_piece_m=res, join_m=2 * res, flow=flow,
                           outlet_xy=outlet, elevation_at=z_at)
    arcs.add(offset + rg.arc_u, offset + rg.arc_v, rg.arc_s, MODE_BOAT)
    wait = profile.boarding_wait_min * 60.0
    reach = float(spec.landing_reach_m) if spec.landing_reach_m is not None else profile.landing_reach_m
    navigable = rg.navigable_nodes
    open_rows = ~np.isin(cls.astype(str), list(profile.closed))  # landings only where boats go
    near_water = _within_reach(gdf.geometry.to_numpy()[open_rows], grid, reach) if len(navigable) \
        else np.zeros(grid.n_cells, dtype=bool)
    tree = cKDTree(rg.xy[navigable]) if len(navigable) else None
    n_road = n_places = 0
    if road is not None:
        cell, inside = grid.cells_of(road.point_xy[:, 0], road.point_xy[:, 1])
        near = np.flatnonzero(inside & near_water[np.maximum(cell, 0)])
        if len(near) and tree is not None:
            rn = navigable[tree.query(road.point_xy[near])[1]]
            arcs.add(road.offset + road.point_node[near], offset + rn, wait, MODE_WAIT)
            arcs.add(offset + rn, road.offset + road.point_node[near], 0.0, MODE_LINK)
            n_road = len(near)
    if landings is not None:
        near = np.flatnonzero((landings.cell >= 0) & near_water[np.maximum(landings.cell, 0)])
        if len(near) and tree is not None:
            rn = navigable[tree.query(np.column_stack([landings.x[near], landings.y[near]]))[1]]
            cells = landings.cell[near]
            arcs.add(cells, offset + rn, wait, MODE_WAIT)
            arcs.add(offset + rn, cells, 0.0, MODE_LINK)
            n_places = len(near)
    meta.setdefault("waterways", []).append({"layer": name, **rg.meta, "profile": profile.to_dict(),
                                             "landing_reach_m": reach,
                                             "road_landings": int(n_road), "place_landings": int(n_places)})
    return rg.n_nodes


def _within_reach(geoms: np.ndarray, grid: GridSpec, reach: float) -> np.ndarray:
    """Per cell (flat): whether its centre lies within ``reach`` metres of a waterway cell (one
    Euclidean distance transform of the rasterised waterway; precise to the cell size)."""
    from scipy import ndimage

    water = rasterize_mask(geoms, grid, all_touched=True)
    if not water.any():
        return np.zeros(grid.n_cells, dtype=bool)
    dist = ndimage.distance_transform_edt(~water, sampling=(grid.res[1], grid.res[0]))
    out: np.ndarray = (dist <= reach).reshape(-1)
    return out


def _join_crossings(source: Any, surface_friction: np.ndarray, grid: GridSpec, arcs: _Arcs,
                    placer: Any, meta: dict[str, Any], reach_m: float | None = None) -> None:
    """Fords and ferries: lines join the cells of their two ends, points join the nearest walkable
    cell of every bank (connected group of walkable cells) within reach, each at ``time_min``."""
    import geopandas as gpd

    name = _name(source)
    gdf = read_vector(source, "crossing layer")
    if "time_min" not in gdf:
        raise ColumnError(f"crossing layer {name} needs a time_min column (minutes to cross); columns: "
                          f"{', '.join(map(str, gdf.columns))}")
    t = pd.to_numeric(gdf["time_min"], errors="coerce").to_numpy(dtype=float)
    if not (np.isfinite(t) & (t >= 0)).all():
        bad = gdf["time_min"][~(np.isfinite(t) & (t >= 0))].iloc[0]
        raise ColumnError(f"crossing layer {name}: time_min must be minutes >= 0, got {bad!r}")
    g = gdf.to_crs(4326).geometry
    kinds = g.geom_type.to_numpy()
    n_lines = n_points = 0
    reach = float(reach_m) if reach_m is not None else max(1000.0, 5 * max(grid.res))
    for i in np.flatnonzero(np.isin(kinds, ("LineString", "MultiLineString"))):
        xy = shapely.get_coordinates(g.iloc[i])
        ends = placer(np.array([xy[0, 0], xy[-1, 0]]), np.array([xy[0, 1], xy[-1, 1]]))
        if (ends.cell >= 0).all() and ends.cell[0] != ends.cell[1]:
            cost = t[i] * 60.0 + ends.shift_s.sum()
            arcs.add(ends.cell[:1], ends.cell[1:], cost, MODE_CROSSING)
            arcs.add(ends.cell[1:], ends.cell[:1], cost, MODE_CROSSING)
            n_lines += 1
    pts = np.flatnonzero(kinds == "Point")
    if len(pts):
        pg = gpd.GeoSeries(g.iloc[pts].to_numpy(), crs=4326).to_crs(grid.crs)
        for k, p in zip(pts, pg, strict=True):
            banks = _bank_cells(surface_friction, grid, p.x, p.y, reach)
            if len(banks) < 2:
                log.warning("crossing %d of %s joins no two banks within %.0f m", int(k), name, reach)
                continue
            a, b = np.meshgrid(banks, banks)
            off = a != b
            arcs.add(a[off], b[off], t[k] * 60.0, MODE_CROSSING)
            n_points += 1
    meta.setdefault("crossings", []).append({"layer": name, "lines": n_lines, "points": n_points})


def _bank_cells(friction: np.ndarray, grid: GridSpec, x: float, y: float, reach: float,
                max_banks: int = 8) -> np.ndarray:
    """The walkable cell nearest to (x, y) of each connected group of walkable cells within ``reach``."""
    from scipy import ndimage

    t = grid.transform
    h, w = grid.shape
    r = int(math.ceil(reach / max(grid.res)))
    c0 = int(math.floor((x - t.c) / t.a))
    r0 = int(math.floor((y - t.f) / t.e))
    ra, rb = max(r0 - r, 0), min(r0 + r + 1, h)
    ca, cb = max(c0 - r, 0), min(c0 + r + 1, w)
    if ra >= rb or ca >= cb:
        return np.empty(0, dtype=np.int64)
    win = np.isfinite(friction[ra:rb, ca:cb])
    lab, n = ndimage.label(win, structure=np.ones((3, 3)))
    if n < 2:
        return np.empty(0, dtype=np.int64)
    rr, cc = np.nonzero(lab)
    d = np.hypot(t.c + (cc + ca + 0.5) * t.a - x, t.f + (rr + ra + 0.5) * t.e - y)
    inside = d <= reach
    rr, cc, d, comp = rr[inside], cc[inside], d[inside], lab[rr[inside], cc[inside]]
    order = np.lexsort((d, comp))
    first = np.ones(len(order), dtype=bool)
    first[1:] = comp[order][1:] != comp[order][:-1]
    pick = order[first]
    pick = pick[np.argsort(d[pick])][:max_banks]
    return ((rr[pick] + ra) * w + cc[pick] + ca).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# building a surface


def _study_bounds(network: RoadNetwork | None, bounds: Sequence[float] | None,
                  point_sets: Sequence[Any]) -> tuple[float, float, float, float]:
    """Lon/lat box of the network, the given bounds and every point set."""
    boxes: list[tuple[float, float, float, float]] = []
    if network is not None:
        boxes.append(network.bounds)
    if bounds is not None:
        from ._crs import check_bbox

        boxes.append(check_bbox(bounds))
    for pts in point_sets:
        if pts is None:
            continue
        lon, lat = _lonlat(pts, "points")
        fin = np.isfinite(lon) & np.isfinite(lat)
        if fin.any():
            boxes.append((float(lon[fin].min()), float(lat[fin].min()), float(lon[fin].max()), float(lat[fin].max())))
    if not boxes:
        raise ConfigError("a surface needs a study area: a network, bounds or points")
    b = np.array(boxes)
    return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())


def build_surface(*, network: RoadNetwork | None = None, bounds: Sequence[float] | None = None,
                  points: Sequence[Any] = (), dem: PathLike | None = None, landcover: PathLike | None = None,
                  landcover_table: PathLike | dict[int, float] | None = None, barriers: Sequence[Any] = (),
                  waterways: Sequence[WaterwaySpec] = (), crossings: Any = None, landings: Any = None,
                  rivers: RiverLevels | None = None, options: SurfaceOptions | None = None) -> Surface:
    """Build an accessibility surface (see the module docstring for the model).

    Parameters
    ----------
    network
        A road network joined to the grid (``options.roads``); None for walking and boats only.
    bounds, points
        The study area: lon/lat (west, south, east, north) and/or GeoDataFrames of points (the
        localities and destinations) that the grid must cover, beside the network's extent.
    dem
        Elevation raster (any CRS): Tobler's slope factor. None: flat terrain, stated in ``meta``.
    landcover, landcover_table
        Land-cover class raster and its table of flat-ground walking speeds (default ESA
        WorldCover, :file:`profiles/landcover_esa_worldcover.toml`).
    barriers
        Vector layers (files or GeoDataFrames) of water polygons and river lines not to be walked
        across, except where a road crosses them.
    waterways
        Navigable rivers (:class:`WaterwaySpec`); also barriers unless ``barrier=False``.
    crossings
        Fords and ferries: a vector layer with ``time_min``: lines from bank to bank, or points
        joining the banks around them.
    landings
        Points (settlements, ports) where boats stop when they lie within the boat profile's
        landing reach of a waterway; roads within that reach are landings too.
    rivers
        River levels of a season (:class:`~territorial_gis._waterways.RiverLevels`): boat speed
        factors and the river classes closed to boats at that level.
    options
        :class:`SurfaceOptions`.

    Raises
    ------
    ConfigError
        Bad options, a grid too large for the memory limit, a land-cover class missing from the
        table, an unknown flow direction.
    RasterError
        A raster without CRS or not covering the study area.
    ColumnError
        A barrier or waterway layer without lines or polygons, a crossing layer without ``time_min``.
    """
    opts = options or SurfaceOptions()
    opts.check()
    ll = _study_bounds(network, bounds, [*points, landings])
    grid = grid_for_lonlat_bounds(ll, resolution_m=opts.resolution_m, max_memory_mb=opts.max_memory_mb)
    # rasters must cover where the results are read: the points, else the given bounds, else the
    # whole area (cells beyond a DEM are walked as flat and counted in meta)
    where = (_study_bounds(None, None, list(points)) if len(points)
             else _study_bounds(None, bounds, []) if bounds is not None else ll)
    study = Transformer.from_crs(4326, grid.crs, always_xy=True).transform_bounds(*where, densify_pts=21)
    meta: dict[str, Any] = {"resolution_m": min(grid.res), "crs": grid.crs.to_string(), "moves": opts.moves,
                            "move_set_max_error": round(MOVE_SET_ERROR[opts.moves], 4),
                            "cut_corners": opts.cut_corners, "points_sit_in": "the cell that contains them"}
    friction, z = _walk_friction(grid, study, dem, landcover, landcover_table, opts, meta)
    z_flow = z if z is not None or dem is None else warp_to_grid(dem, grid, what="DEM", study_bounds=study)
    blocked = _apply_barriers(grid, friction, network, [*barriers, *(w.source for w in waterways if w.barrier)],
                              opts, meta)
    arcs = _Arcs()
    n_extra = 0
    road: _RoadJoin | None = None
    if network is not None and opts.roads == "burn":
        _burn_roads(network, grid, friction, blocked, meta)
    elif network is not None:
        road, n_extra = _join_roads(network, grid, friction, arcs, opts, meta)
    else:
        meta["roads"] = None
    surface = Surface(grid, friction, elevation=z, options=opts, meta=meta, arcs=arcs, n_extra=n_extra, road=road,
                      network=network)
    placed = surface._place(*_lonlat(landings, "landings"), "landings") if landings is not None else None
    for spec in waterways:
        n_extra += _join_waterways(spec, grid, z_flow, arcs, grid.n_cells + n_extra, road, placed, meta,
                                   rivers=rivers)
    if crossings is not None:
        _join_crossings(crossings, friction, grid, arcs, lambda lo, la: surface._place(lo, la, "crossing ends"),
                        meta)
    meta.setdefault("waterways", None)
    meta.setdefault("crossings", None)
    surface.n_extra = n_extra
    check_memory(grid.n_cells + n_extra, min(grid.res), max_memory_mb=opts.max_memory_mb)
    log.info("surface: %d x %d cells of %g m (%s), %d explicit nodes; terrain: %s", grid.width, grid.height,
             min(grid.res), grid.crs.to_string(), n_extra, meta["terrain"])
    return surface


# ---------------------------------------------------------------------------------------------
# AccessMod-style inputs: rasters only


def surface_from_rasters(*, friction: PathLike | None = None, friction_unit: str = "min_per_m",
                         speed: PathLike | None = None, road_speed: PathLike | None = None,
                         slope: PathLike | None = None, slope_unit: str = "percent",
                         landcover: PathLike | None = None,
                         landcover_table: PathLike | dict[int, float] | None = None,
                         options: SurfaceOptions | None = None) -> Surface:
    """A surface on the grid of the given rasters, without a vector network (AccessMod-style).

    Either a ready raster (``friction`` in ``min_per_m`` or ``s_per_m``, or ``speed`` in km/h:
    the cost-distance then runs on it directly), or a surface assembled from: ``landcover`` (+
    ``landcover_table``, flat-ground walking speeds; without it ``options.walk_kph``), ``slope``
    (``percent`` or ``degrees``: Tobler's factor, isotropic since a slope raster has no direction)
    and ``road_speed`` (km/h where a road is, 0/nodata elsewhere: roads take their speed, without
    slope correction, as AccessMod's motorised mode). All rasters must share one grid.

    Raises
    ------
    RasterError
        A raster without CRS, or rasters not aligned.
    ConfigError
        Conflicting inputs, a land-cover class missing from the table, a grid too large.
    """
    opts = options or SurfaceOptions()
    opts.check()
    ready = {k: v for k, v in (("friction", friction), ("speed", speed)) if v is not None}
    parts = {k: v for k, v in (("road_speed", road_speed), ("slope", slope), ("landcover", landcover))
             if v is not None}
    if len(ready) > 1 or (ready and parts) or not (ready or parts):
        raise ConfigError("give either a ready friction or speed raster, or any of road_speed, slope and "
                          "landcover rasters")
    if friction_unit not in ("min_per_m", "s_per_m"):
        raise ConfigError(f"friction_unit must be min_per_m or s_per_m, got {friction_unit!r}")
    if slope_unit not in ("percent", "degrees"):
        raise ConfigError(f"slope_unit must be percent or degrees, got {slope_unit!r}")
    rasters = read_aligned({**ready, **parts})
    grid = next(iter(rasters.values())).grid
    check_memory(grid.n_cells, None, max_memory_mb=opts.max_memory_mb, width=grid.width, height=grid.height)
    meta: dict[str, Any] = {"moves": opts.moves, "move_set_max_error": round(MOVE_SET_ERROR[opts.moves], 4),
                            "cut_corners": opts.cut_corners, "crs": grid.crs.to_string(),
                            "points_sit_in": "the cell that contains them", "roads": None,
                            "inputs": {k: str(v.path) for k, v in rasters.items()}}
    if ready:
        fr = _ready_friction(rasters, friction_unit, meta)
    else:
        fr = _assembled_friction(rasters, slope_unit, landcover_table, opts, meta)
    meta.setdefault("terrain", "flat: no slope raster given")
    return Surface(grid, fr, elevation=None, options=opts, meta=meta)


def _ready_friction(rasters: Mapping[str, Any], unit: str, meta: dict[str, Any]) -> np.ndarray:
    if "friction" in rasters:
        a = rasters["friction"].array
        if np.nanmin(a) < 0 if np.isfinite(a).any() else False:
            raise RasterError(f"friction raster {rasters['friction'].path} holds negative values")
        meta["friction"] = f"ready friction raster ({unit})"
        out: np.ndarray = a * (60.0 if unit == "min_per_m" else 1.0)
        return out
    v = rasters["speed"].array
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(v > 0, 3.6 / v, np.nan)
    meta["friction"] = "ready speed raster (km/h); 0 and nodata are barriers"
    return out


def _assembled_friction(rasters: Mapping[str, Any], slope_unit: str, table: Any, opts: SurfaceOptions,
                        meta: dict[str, Any]) -> np.ndarray:
    walk_kph = opts.flat_walk_kph
    shape = next(iter(rasters.values())).array.shape
    if "landcover" in rasters:
        tab = load_landcover_table(table)
        speed = tab.lookup(rasters["landcover"].array, raster=str(rasters["landcover"].path)) * float(opts.walk_factor)
        meta["landcover"] = {"raster": str(rasters["landcover"].path), "table": tab.source}
    else:
        speed = np.full(shape, walk_kph)
        meta["landcover"] = None
    with np.errstate(divide="ignore", invalid="ignore"):
        fr = np.where(speed > 0, 3.6 / speed, np.nan)
    if "slope" in rasters:
        s = rasters["slope"].array
        rise = s / 100.0 if slope_unit == "percent" else np.tan(np.radians(s))
        fr = fr * np.where(np.isfinite(rise), tobler_isotropic_factor(rise), 1.0)
        meta["terrain"] = (f"slope raster {rasters['slope'].path} ({slope_unit}): Tobler's hiking function, "
                           "isotropic (mean of uphill and downhill)")
    if "road_speed" in rasters:
        rs = rasters["road_speed"].array
        road = np.isfinite(rs) & (rs > 0)
        with np.errstate(divide="ignore"):
            fr[road] = np.fmin(np.where(np.isfinite(fr[road]), fr[road], np.inf), 3.6 / rs[road])
        meta["roads"] = {"method": "road-speed raster (km/h, no slope correction)", "road_cells": int(road.sum())}
    return fr


def locality_times(surface: Surface, localities: gpd.GeoDataFrame, tiers: Mapping[str, gpd.GeoDataFrame], *,
                   dest_id_col: str | None = None) -> gpd.GeoDataFrame:
    """The localities with, per tier, their time over the surface (``travel_time_<tier>_min``),
    nearest destination (``nearest_<tier>_id``), trip modes (``trip_mode_<tier>``), the minutes of
    each leg (``walk_<tier>_min``, ``road_<tier>_min``, ``boat_<tier>_min``, ``boat_wait_<tier>_min``,
    ``crossing_<tier>_min``) and why a time is missing (``unreachable_reason_<tier>``); then
    ``unreachable_reason`` (``<tier>:<reason>`` joined by ``;``, None when every tier is reached)
    and ``offroad_method`` (``surface``)."""
    from ._routing import ids_of
    from .columns import (
        LEGS,
        OFFROAD_METHOD,
        OFFROAD_SURFACE,
        UNREACHABLE_REASON,
        leg_col,
        nearest_col,
        reason_col,
        time_col,
        trip_mode_col,
    )

    cols: dict[str, Any] = {}
    reasons = np.full(len(localities), None, dtype=object)
    for tier, dests in tiers.items():
        r = surface.nearest(localities, dests)
        ids = ids_of(dests, dest_id_col).to_numpy()
        di = r["dest_index"].to_numpy()
        cols[time_col(tier)] = r["travel_time_min"].to_numpy()
        cols[nearest_col(tier)] = pd.Series(np.where(di >= 0, ids[np.maximum(di, 0)], None), dtype=object).to_numpy()
        cols[trip_mode_col(tier)] = r["trip_mode"].to_numpy()
        for leg, src in zip(LEGS, LEG_COLUMNS, strict=True):
            cols[leg_col(leg, tier)] = r[src].to_numpy()
        tier_reason = r["reason"].to_numpy()
        cols[reason_col(tier)] = tier_reason
        for i in np.flatnonzero(tier_reason != None):  # noqa: E711 - object array
            text = f"{tier}:{tier_reason[i]}"
            reasons[i] = text if reasons[i] is None else f"{reasons[i]};{text}"
    cols[UNREACHABLE_REASON] = reasons
    cols[OFFROAD_METHOD] = np.full(len(localities), OFFROAD_SURFACE, dtype=object)
    stale = [c for c in cols if c in localities.columns]
    base = localities.drop(columns=stale) if stale else localities
    new = pd.DataFrame({k: pd.Series(v, index=localities.index, dtype=object) if v.dtype == object else v
                        for k, v in cols.items()}, index=localities.index)
    out: gpd.GeoDataFrame = pd.concat([base, new], axis=1)
    return out


# ---------------------------------------------------------------------------------------------
# what the access stage calls


@dataclass(frozen=True)
class SurfaceInputs:
    """Everything a surface is built from besides the network and the points: the off-road
    configuration a study carries (``RouteOptions.surface``; see :func:`surface_access`).

    ``landings`` says where boats stop besides roads near the river: ``"settlements"`` (default:
    the destinations of every tier and the localities with a population; empty grid cells are no
    landing), ``"destinations"``, None (roads only), or points (GeoDataFrame or file).
    ``bounds`` (lon/lat west, south, east, north) is an area the grid must cover besides the
    network and the points (a study's areas). ``rivers`` are a season's river levels.
    """

    dem: PathLike | None = None
    landcover: PathLike | None = None
    landcover_table: PathLike | None = None
    barriers: tuple[Any, ...] = ()
    waterways: tuple[WaterwaySpec, ...] = ()
    crossings: Any = None
    landings: Any = "settlements"
    options: SurfaceOptions = field(default_factory=SurfaceOptions)
    rivers: RiverLevels | None = None
    bounds: tuple[float, float, float, float] | None = None

    def build(self, network: RoadNetwork | None, localities: gpd.GeoDataFrame | None,
              tiers: Mapping[str, gpd.GeoDataFrame]) -> Surface:
        """The surface over the network's area, ``bounds``, the localities and every tier's destinations."""
        landings = self.landings
        if isinstance(landings, str) and landings in ("settlements", "destinations"):
            landings = settlements(tiers, localities if landings == "settlements" else None)
        elif isinstance(landings, (str, os.PathLike)):
            landings = read_vector(landings, "landings")
        points = [p for p in (localities, *tiers.values()) if p is not None]
        surface = build_surface(network=network, bounds=self.bounds, points=points, dem=self.dem,
                                landcover=self.landcover, landcover_table=self.landcover_table,
                                barriers=self.barriers, waterways=self.waterways, crossings=self.crossings,
                                landings=landings, rivers=self.rivers, options=self.options)
        surface.inputs = self
        return surface

    def replace(self, **changes: Any) -> SurfaceInputs:
        """A copy with some inputs changed."""
        return dataclasses.replace(self, **changes)

    def under_season(self, *, walk_kph: float, walk_factor: float = 1.0,
                     rivers: RiverLevels | None = None) -> SurfaceInputs:
        """The inputs in a season: the flat walking speed fixed at ``walk_kph`` (the base's),
        every walking speed multiplied by ``walk_factor``, the rivers at the season's level."""
        opts = self.options
        opts = dataclasses.replace(opts, walk_kph=opts.walk_kph or walk_kph,
                                   walk_factor=float(opts.walk_factor) * float(walk_factor))
        return dataclasses.replace(self, options=opts, rivers=rivers if rivers is not None else self.rivers)


def surface_for(network: RoadNetwork | None, localities: gpd.GeoDataFrame | None,
                tiers: Mapping[str, gpd.GeoDataFrame], surface: SurfaceInputs | Surface | None, *,
                walk_kph: float | None = None) -> Surface:
    """The surface a routing-options object asks for: a surface built on ``network`` is reused;
    one built on another network is built again from its inputs (a scenario's network); inputs
    are built over the network, the localities and the destinations. ``walk_kph`` is the flat
    walking speed when the inputs give none."""
    if isinstance(surface, Surface):
        if surface.network is network:
            return surface
        if surface.inputs is None:
            raise RoutingError("the surface was built on another network, and without the inputs to build it "
                               "again: pass its SurfaceInputs instead")
        log.info("the surface was built on another network: building it again on this one")
        surface = surface.inputs
    inputs = surface if surface is not None else SurfaceInputs()
    if inputs.options.walk_kph is None and walk_kph is not None:
        inputs = inputs.replace(options=dataclasses.replace(inputs.options, walk_kph=float(walk_kph)))
    return inputs.build(network, localities, tiers)


def settlements(tiers: Mapping[str, gpd.GeoDataFrame], localities: gpd.GeoDataFrame | None = None
                ) -> gpd.GeoDataFrame | None:
    """Where boats stop by default: every tier's destinations, and the localities with a
    population (a populated place; grid cells without population are not landings)."""
    import geopandas as gpd

    geoms = [d.geometry.to_crs(4326).to_numpy() for d in tiers.values() if len(d)]
    if localities is not None and "population" in localities:
        pop = pd.to_numeric(localities["population"], errors="coerce").fillna(0).to_numpy()
        if (pop > 0).any():
            geoms.append(localities.geometry[pop > 0].to_crs(4326).to_numpy())
    if not geoms:
        return None
    return gpd.GeoDataFrame(geometry=np.concatenate(geoms), crs=4326)


def surface_access(network: RoadNetwork | None, localities: gpd.GeoDataFrame,
                   tiers: Mapping[str, gpd.GeoDataFrame], inputs: SurfaceInputs | Surface | None = None
                   ) -> tuple[gpd.GeoDataFrame, Surface]:
    """Travel times of localities over terrain, rivers and roads: the off-road part of access.

    Every locality gets, per tier, its time to the nearest destination over the combined graph
    (the exact road network joined to the grid, waterways, crossings), the destination, the
    minutes of each leg and the trip's modes (see :func:`locality_times`); a locality far from
    any road gets a walking (or boat) time instead of ``too_far_from_road``, and NaN remains
    only for places truly cut off (:data:`REASON_CUT_OFF`). ``table.attrs["offroad_method"]``
    states how the surface was built (terrain, land cover, barriers, roads, waterways).

    Returns
    -------
    (table, surface)
    """
    surface = surface_for(network, localities, tiers, inputs)
    table = locality_times(surface, localities, tiers)
    table.attrs["offroad_method"] = offroad_description(surface)
    return table, surface


def offroad_description(surface: Surface) -> dict[str, Any]:
    """How the off-road part of trips was measured over ``surface`` (for the outputs' metadata)."""
    d = surface.describe()
    keys = ("terrain", "landcover", "walk_kph_flat", "walk_factor", "barriers", "roads", "waterways", "crossings",
            "resolution_m", "moves", "move_set_max_error", "points_sit_in")
    return {"method": "surface", **{k: d.get(k) for k in keys if k in d}}
