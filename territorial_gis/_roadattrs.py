"""What a network's road attributes mean, for the stages that read them (scenarios, RAI, corridors).

The builders keep the attributes of the source (OSM tags, a road layer's mapped columns) on the
edges; this module is the one place that says which values mean "usable in the dry season only"
and which speed profile a network was built with.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .network import RoadNetwork
    from .speeds import Profile

DRY_SEASON_ONLY = "dry_season_only"
"""The ``season`` value of a road usable in the dry season only (layer schemas map to it)."""
SEASONAL_VALUES = frozenset({"yes", "dry_season", "dry", "summer", "winter", "wet_season"})
"""OSM ``seasonal=*`` values that mean the road is not usable all year."""
FORD_VALUES = frozenset({"yes", "true", "1", "stepping_stones"})


def dry_season_only(edges: pd.DataFrame) -> np.ndarray:
    """Edges usable in the dry season only: a layer's ``season`` column or OSM ``seasonal=*``."""
    dry = np.zeros(len(edges), dtype=bool)
    if "season" in edges:
        dry |= (edges["season"].astype(object) == DRY_SEASON_ONLY).to_numpy()
    if "seasonal" in edges:
        dry |= edges["seasonal"].astype(object).isin(SEASONAL_VALUES).to_numpy()
    return dry


def has_season_information(edges: pd.DataFrame) -> bool:
    """Whether the edges record a season of use at all."""
    return bool({"season", "seasonal"} & set(edges.columns))


def fords(edges: pd.DataFrame) -> np.ndarray:
    """Edges that are fords (OSM ``ford=*``)."""
    if "ford" not in edges:
        return np.zeros(len(edges), dtype=bool)
    return edges["ford"].astype(object).map(lambda v: str(v).lower() in FORD_VALUES if v is not None else False) \
        .to_numpy(dtype=bool)


def profile_of(network: RoadNetwork, profile: Profile | str | os.PathLike[str] | None = None) -> Profile:
    """``profile`` loaded, else the profile the network was built with, else the shipped one of its mode."""
    from .speeds import Profile, load_profile

    if isinstance(profile, Profile):
        return profile
    if profile is not None:
        return load_profile(profile)
    src = network.meta.get("profile")
    if isinstance(src, str) and os.path.isfile(src):
        return load_profile(src)
    return load_profile(None, mode=network.meta.get("mode") or "drive")
