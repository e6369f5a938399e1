"""SYNTHETIC road networks with exact travel times, for hand-worked routing tests.

A straight two-way road through ``n`` nodes 0.01 degree of longitude apart (about 965 m at
30 degrees south) where every edge takes exactly ``edge_s`` seconds, plus optionally a
separate two-node road 0.2 degree east (another component). A place put on node ``i`` reaches
node ``j`` of the same road in ``|i - j| * edge_s`` seconds exactly (no off-road leg).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from territorial_gis.network import RoadNetwork

LON0, LAT0 = -51.2, -30.0
STEP = 0.01


def chain_network(n: int, edge_s: float = 60.0, island: bool = False) -> RoadNetwork:
    """SYNTHETIC chain of ``n`` nodes (ids 1..n); with ``island`` two more nodes (n+1, n+2)
    forming a road of their own 0.2 degree east of the chain."""
    lon = list(LON0 + STEP * np.arange(n))
    lat = [LAT0] * n
    links = [(i, i + 1) for i in range(n - 1)]
    if island:
        lon += [LON0 + 0.2, LON0 + 0.2 + STEP]
        lat += [LAT0, LAT0]
        links.append((n, n + 1))
    us, vs, geoms, rows = [], [], [], []
    for seg, (a, b) in enumerate(links):
        line = shapely.LineString([(lon[a], lat[a]), (lon[b], lat[b])])
        for u, v, g, rev in ((a, b, line, False), (b, a, shapely.reverse(line), True)):
            us.append(u)
            vs.append(v)
            geoms.append(g)
            rows.append({"length_m": 965.0, "speed_kph": 965.0 / edge_s * 3.6, "travel_time_s": edge_s,
                         "segment": seg, "reversed": rev, "oneway": False, "highway": "track"})
    return RoadNetwork.from_arrays(np.arange(len(lon)) + 1, np.array(lon), np.array(lat), np.array(us),
                                   np.array(vs), pd.DataFrame(rows), np.array(geoms, dtype=object))


def node_points(net: RoadNetwork, nodes: list[int], ids: list[str], id_col: str = "place_id") -> gpd.GeoDataFrame:
    """Points exactly on the given node rows."""
    return gpd.GeoDataFrame({id_col: ids}, geometry=gpd.points_from_xy(net.node_lon[nodes], net.node_lat[nodes]),
                            crs=4326)


def named_network(xy: dict[str, tuple[float, float]], roads: list[tuple[str, str, dict]],
                  first_id: int = 0) -> RoadNetwork:
    """SYNTHETIC network near 4 N, 74 W from named nodes (degree offsets) and two-way straight
    roads ``(a, b, attributes)`` (``highway``, ``speed_kph``, ``surface``, ...); road piece ``k``
    is ``roads[k]``, its length the geodesic length of the straight line; node ids count from
    ``first_id`` in the order of ``xy``."""
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    ids = list(xy)
    index = {n: i for i, n in enumerate(ids)}
    lon = np.array([-74.0 + xy[n][0] for n in ids])
    lat = np.array([4.0 + xy[n][1] for n in ids])
    us, vs, rows, geoms = [], [], [], []
    for s, (a, b, attrs) in enumerate(roads):
        for rev, (p, q) in enumerate(((a, b), (b, a))):
            line = shapely.LineString([(lon[index[p]], lat[index[p]]), (lon[index[q]], lat[index[q]])])
            us.append(index[p])
            vs.append(index[q])
            geoms.append(line)
            rows.append({"length_m": geod.geometry_length(line), **attrs, "segment": s, "reversed": bool(rev),
                         "oneway": False})
    return RoadNetwork.from_arrays(np.arange(len(ids)) + first_id, lon, lat, np.array(us), np.array(vs),
                                   pd.DataFrame(rows), np.array(geoms, dtype=object))
