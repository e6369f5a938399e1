"""SYNTHETIC road-like grid networks for the benchmarks (not real data; always labelled so).

A grid of ``n x n`` nodes, node positions optionally jittered; every ``classes[i][0]``-th grid
line is a road of class ``classes[i]``, the rest get the last class, of which ``drop_share`` of
the pieces are missing (blocks without a road) and ``oneway_share`` are one-way in a random
direction; every other road is two-way.

:func:`grid_network` builds a :class:`RoadNetwork` directly; :func:`write_grid_osm` writes the
same kind of grid as an OSM PBF file (pyosmium), with bends (extra shape nodes) on the pieces
and the pieces of a grid line joined into ways, to be read by ``build_network`` like a real
extract.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from territorial_gis.network import RoadNetwork

# (every n-th line or 0 for "the rest", highway, surface, km/h)
RoadClass = tuple[int, str, str, float]


def grid_pieces(n: int, rng: np.random.Generator, *, lon0: float, lat0: float, step_deg: float, jitter: float,
                classes: Sequence[RoadClass], drop_share: float,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nodes and kept road pieces of the grid: ``(lon, lat, u, v, class, line, keep)``.

    Pieces are numbered row lines first (piece ``k`` of row ``i`` joins ``(i, k)`` to
    ``(i, k + 1)``), then column lines; ``keep`` is the mask over all of them, ``line`` the grid
    line of each kept piece (rows ``0..n-1``, columns ``n..2n-1``).
    """
    lon = lon0 + (np.tile(np.arange(n), n) + rng.uniform(-jitter, jitter, n * n)) * step_deg
    lat = lat0 + (np.repeat(np.arange(n), n) + rng.uniform(-jitter, jitter, n * n)) * step_deg
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
    line = np.concatenate([h_line, v_line + n])
    return lon, lat, u[keep], v[keep], cls[keep], line[keep], keep


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
    lon, lat, u, v, cls, _line, _keep = grid_pieces(n, rng, lon0=lon0, lat0=lat0, step_deg=step_deg,
                                                    jitter=jitter, classes=classes, drop_share=drop_share)
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


def write_grid_osm(path: str | os.PathLike[str], n: int, *, seed: int, lon0: float, lat0: float, step_deg: float,
                   jitter: float, classes: Sequence[RoadClass], drop_share: float, oneway_share: float,
                   bends: int = 1, way_pieces: int = 20) -> dict[str, int]:
    """Write a SYNTHETIC grid road network as an OSM PBF file (pyosmium).

    Every road piece gets ``bends`` shape nodes (off its straight line by up to 20 % of the
    spacing), so the file holds ``n * n`` grid nodes plus ``bends`` per piece; the pieces of a
    grid line are joined into ways of up to ``way_pieces`` pieces (broken where a piece is
    missing or the class changes); one-way pieces are ways of their own, drawn in their
    direction, tagged ``oneway=yes``. Ways are tagged ``highway`` and ``surface`` from
    ``classes`` and named ``SYNTHETIC <class> <line>``. Returns the counts written.
    """
    import osmium
    from osmium.osm.mutable import Node as MNode
    from osmium.osm.mutable import Way as MWay

    rng = np.random.default_rng(seed)
    lon, lat, u, v, cls, line, _keep = grid_pieces(n, rng, lon0=lon0, lat0=lat0, step_deg=step_deg, jitter=jitter,
                                                   classes=classes, drop_share=drop_share)
    along = np.lexsort((u, line))  # pieces in order along each grid line
    u, v, cls, line = u[along], v[along], cls[along], line[along]
    m = len(u)
    oneway = (cls == len(classes) - 1) & (rng.random(m) < oneway_share)
    flip = oneway & (rng.random(m) < 0.5)
    # shape nodes: along each piece at t = k / (bends + 1), pushed sideways
    t = (np.arange(1, bends + 1) / (bends + 1))[None, :]
    dx, dy = (lon[v] - lon[u])[:, None], (lat[v] - lat[u])[:, None]
    side = rng.uniform(-0.2, 0.2, (m, bends)) * step_deg
    norm = np.maximum(np.hypot(dx, dy), 1e-12)
    s_lon = (lon[u][:, None] + t * dx - dy / norm * side).ravel()
    s_lat = (lat[u][:, None] + t * dy + dx / norm * side).ravel()
    first_shape = n * n + 1
    shape_id = (first_shape + np.arange(m * bends)).reshape(m, bends)
    # ways: runs of adjacent pieces of one line and class; one-way pieces alone
    brk = np.ones(m, dtype=bool)
    brk[1:] = (line[1:] != line[:-1]) | (u[1:] != v[:-1]) | (cls[1:] != cls[:-1]) | oneway[1:] | oneway[:-1]
    run = np.cumsum(brk) - 1
    pos = np.arange(m) - np.flatnonzero(brk)[run]
    brk |= pos % way_pieces == 0
    way_of = np.cumsum(brk) - 1
    n_ways = int(way_of[-1]) + 1 if m else 0
    start = np.where(flip, v, u) + 1
    end = np.where(flip, u, v) + 1
    shapes = np.where(flip[:, None], shape_id[:, ::-1], shape_id)
    blocks = np.column_stack([start, shapes]).ravel()
    last = np.flatnonzero(np.append(way_of[1:] != way_of[:-1], True))
    refs = np.insert(blocks, (last + 1) * (bends + 1), end[last])
    per_way = np.bincount(way_of, minlength=n_ways) * (bends + 1) + 1
    ptr = np.concatenate([[0], np.cumsum(per_way)])
    first_piece = np.flatnonzero(brk)
    names = [f"SYNTHETIC {c[1]}" for c in classes]
    tmp = Path(str(path) + ".part")
    tmp.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(osmium.io.File(str(tmp), "pbf"))
    try:
        for i, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True)):
            writer.add_node(MNode(id=i + 1, location=(x, y)))
        for i, (x, y) in enumerate(zip(s_lon.tolist(), s_lat.tolist(), strict=True)):
            writer.add_node(MNode(id=first_shape + i, location=(x, y)))
        cls_w, line_w, ow_w = cls[first_piece].tolist(), line[first_piece].tolist(), oneway[first_piece].tolist()
        for w in range(n_ways):
            c = classes[cls_w[w]]
            tags = {"highway": c[1], "surface": c[2], "name": f"{names[cls_w[w]]} {line_w[w]}"}
            if ow_w[w]:
                tags["oneway"] = "yes"
            writer.add_way(MWay(id=w + 1, nodes=refs[ptr[w]:ptr[w + 1]].tolist(), tags=tags))
    finally:
        writer.close()
    os.replace(tmp, path)
    return {"nodes": int(n * n + m * bends), "grid_nodes": n * n, "pieces": m, "ways": n_ways,
            "oneway_pieces": int(oneway.sum())}
