"""SYNTHETIC road-like grid networks for the benchmarks (not real data; always labelled so).

A grid of ``n x n`` nodes, node positions optionally jittered; every ``classes[i][0]``-th grid
line is a road of class ``classes[i]``, the rest get the last class, of which ``drop_share`` of
the pieces are missing (blocks without a road) and ``oneway_share`` are one-way in a random
direction; every other road is two-way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import shapely

from territorial_gis.network import RoadNetwork

# (every n-th line or 0 for "the rest", highway, surface, km/h)
RoadClass = tuple[int, str, str, float]


def grid_network(n: int, *, seed: int, lon0: float, lat0: float, step_deg: float, jitter: float,
                 classes: Sequence[RoadClass], drop_share: float, oneway_share: float = 0.0,
                 largest_component: bool = True,
                 ) -> tuple[RoadNetwork, np.ndarray, np.ndarray, np.random.Generator]:
    """A SYNTHETIC grid road network (its largest strongly connected component by default).

    Returns ``(network, ii, jj, rng)``: the grid row/column of every original node index and the
    random generator (for callers that draw localities with the same seed stream).
    """
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    lon = lon0 + (jj.ravel() + rng.uniform(-jitter, jitter, n * n)) * step_deg
    lat = lat0 + (ii.ravel() + rng.uniform(-jitter, jitter, n * n)) * step_deg
    node = np.arange(n * n).reshape(n, n)
    h_u, h_v, h_line = node[:, :-1].ravel(), node[:, 1:].ravel(), np.repeat(np.arange(n), n - 1)
    v_u, v_v, v_line = node[:-1, :].ravel(), node[1:, :].ravel(), np.tile(np.arange(n), n - 1)
    u = np.concatenate([h_u, v_u])
    v = np.concatenate([h_v, v_v])
    line = np.concatenate([h_line, v_line])
    cls = np.full(len(u), len(classes) - 1)
    for i in range(len(classes) - 2, -1, -1):  # the first class wins where lines coincide
        cls[line % classes[i][0] == 0] = i
    keep = (cls < len(classes) - 1) | (rng.random(len(u)) > drop_share)
    u, v, cls = u[keep], v[keep], cls[keep]
    hw = np.array([c[1] for c in classes])[cls]
    surf = np.array([c[2] for c in classes])[cls]
    kph = np.array([c[3] for c in classes])[cls]
    m = len(u)
    oneway = np.zeros(m, dtype=bool)
    if oneway_share > 0:  # (no extra draws otherwise: callers' random streams stay as they were)
        oneway = (cls == len(classes) - 1) & (rng.random(m) < oneway_share)
        flip = oneway & (rng.random(m) < 0.5)
        u, v = np.where(flip, v, u), np.where(flip, u, v)
    two = np.flatnonzero(~oneway)
    piece = np.concatenate([np.arange(m), two])  # forward copies, then the reversed ones
    eu = np.concatenate([u, v[two]])
    ev = np.concatenate([v, u[two]])
    coords = np.stack([np.column_stack([lon[eu], lat[eu]]), np.column_stack([lon[ev], lat[ev]])], axis=1)
    geoms = shapely.linestrings(coords.reshape(-1, 2), indices=np.repeat(np.arange(len(eu)), 2))
    dx = (lon[ev] - lon[eu]) * 111_320 * np.cos(np.radians(lat[eu]))
    dy = (lat[ev] - lat[eu]) * 110_574
    edges = pd.DataFrame({"length_m": np.hypot(dx, dy), "speed_kph": kph[piece], "highway": hw[piece],
                          "surface": surf[piece], "segment": piece,
                          "reversed": np.arange(len(eu)) >= m, "oneway": oneway[piece]})
    net = RoadNetwork.from_arrays(np.arange(n * n), lon, lat, eu, ev, edges, geoms,
                                  meta={"source": f"SYNTHETIC grid {n}x{n}"})
    return (net.largest_component() if largest_component else net), ii, jj, rng
