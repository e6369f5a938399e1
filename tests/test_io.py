"""Writing tables: GeoPackage text of Python objects (SYNTHETIC values)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from territorial_gis._io import gpkg_text, write_gpkg_layers


def test_long_arrays_and_lists_are_written_whole(tmp_path: Path) -> None:
    """A numpy array of 3,000 road-piece ids (``str`` would elide the middle with '...') and a
    list holding numpy integers are stored as complete JSON; missing values as NULL."""
    ids = np.arange(3000, dtype=np.int64) * 7
    gdf = gpd.GeoDataFrame({"segment_ids": [ids, np.array([5]), None],
                            "hubs": [[np.int64(1), 2], [], None], "name": ["a", None, "c"]},
                           geometry=[shapely.Point(0, 0)] * 3, crs=4326)
    path = write_gpkg_layers({"segments": gdf}, tmp_path / "t.gpkg")
    back = pyogrio.read_dataframe(path, layer="segments")
    assert json.loads(back["segment_ids"][0]) == ids.tolist()
    assert json.loads(back["segment_ids"][1]) == [5] and pd.isna(back["segment_ids"][2])
    assert json.loads(back["hubs"][0]) == [1, 2] and json.loads(back["hubs"][1]) == []
    assert back["name"][0] == "a" and pd.isna(back["name"][1]) and back["name"][2] == "c"
    assert gpkg_text(float("nan")) is None and gpkg_text(4) == "4" and gpkg_text({"k": 1}) == '{"k": 1}'
