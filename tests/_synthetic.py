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
