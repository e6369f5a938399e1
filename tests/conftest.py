"""Shared session fixtures over the embedded Porto Alegre data (real data, built once per run).

* ``poa_network``: :class:`~territorial_gis.network.RoadNetwork` built from ``poa_osm.pbf``
  (drive profile, largest strongly connected component; about 13,200 nodes, ~0.5 s).
* ``poa_localities``: the 1,227 H3 resolution-9 cells of ``poa_hexgrid.csv`` as EPSG:4326
  points with ``place_id`` (the H3 index), ``population``, ``jobs`` (IPEA aopdata).
* ``poa_pois``: the 15 named points of interest of ``poa_points_of_interest.csv`` as
  destinations (``dest_id``, ``name``, ``tier`` = ``market``, geometry).
* ``poa_tiers``: ``{"employment_centre": cells with jobs >= 2000, "market": poa_pois}``.
  The 2,000 jobs threshold picks the 25 cells (of 1,227) that hold 29 % of the city's formal
  jobs: about 20,000 jobs per km2 on a ~0.1 km2 H3 cell, a central-business-district density
  and 30 times the median cell, so they are employment centres in the usual (job-density) sense.

The fixtures are read-only by convention: copy before modifying. Others may append fixtures.

With the environment variable ``CI`` set, a ``browser`` test that would be skipped (chromium not
installed, playwright missing) fails instead, with the reason: CI must not pass without them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import geopandas as gpd

    from territorial_gis.network import RoadNetwork

#: jobs per H3 res-9 cell at or above which a cell is an employment centre (see module docstring)
POA_EMPLOYMENT_JOBS = 2000


@pytest.fixture(scope="session")
def poa_network() -> RoadNetwork:
    """The drive network of central Porto Alegre built from the embedded OSM extract."""
    from territorial_gis.data import data_path

    from territorial_gis.network import build_network

    return build_network(data_path("porto_alegre", "poa_osm.pbf"))


@pytest.fixture(scope="session")
def poa_localities() -> gpd.GeoDataFrame:
    """Porto Alegre H3 cells (``place_id``, ``population``, ``jobs``, ...), EPSG:4326 points."""
    from territorial_gis.data import data_path

    from territorial_gis.places import load_places

    return load_places(data_path("porto_alegre", "poa_hexgrid.csv"), id_col="id", pop_col="population")


@pytest.fixture(scope="session")
def poa_pois() -> gpd.GeoDataFrame:
    """The 15 Porto Alegre points of interest as destinations (``dest_id``, ``name``, ``tier``)."""
    import geopandas as gpd
    import pandas as pd
    from territorial_gis.data import data_path

    df = pd.read_csv(data_path("porto_alegre", "poa_points_of_interest.csv"))
    return gpd.GeoDataFrame({"dest_id": df["id"], "name": df["id"].str.replace("_", " "),
                             "tier": "market"},
                            geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=4326)


@pytest.fixture(scope="session")
def poa_tiers(poa_localities: gpd.GeoDataFrame, poa_pois: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """Destination tiers: ``employment_centre`` (cells with >= 2,000 jobs) and ``market`` (the POIs)."""
    import geopandas as gpd

    cells = poa_localities[poa_localities["jobs"] >= POA_EMPLOYMENT_JOBS]
    centres = gpd.GeoDataFrame({"dest_id": cells["place_id"].to_numpy(), "name": None,
                                "tier": "employment_centre",
                                "population": cells["population"].to_numpy(),
                                "jobs": cells["jobs"].to_numpy()},
                               geometry=cells.geometry.to_numpy(), crs=4326)
    return {"employment_centre": centres, "market": poa_pois}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    """In CI, turn the skip of a ``browser`` test into a failure that says why it could not run."""
    outcome: Any = yield
    report = outcome.get_result()
    if not (report.skipped and os.environ.get("CI") and item.get_closest_marker("browser") is not None):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = (f"CI is set but this browser test could not run ({reason}). The browser tests must "
                       "run in CI: `make test` installs Debian's chromium through `make browser`; check "
                       "that the install worked and that chromium starts (chromium --headless --version).")
