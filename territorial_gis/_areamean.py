"""Population-weighted means of locality values over the areas holding them.

One place for what :func:`territorial_gis.classify.aggregate_to_areas` computes (which area
holds each locality, the weights, the weighted means and the unreachable shares), so that the
re-classification of areas after a road fails or is built (:mod:`territorial_gis._reclass`)
aggregates exactly as the study did: from the same numbers, in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def locality_areas(localities: object, areas: object) -> np.ndarray:
    """Position of the area holding each locality (``intersects``; the first area for a locality
    on a shared border), -1 for a locality outside every area. Both GeoDataFrames need a CRS."""
    import geopandas as gpd

    assert isinstance(localities, gpd.GeoDataFrame) and isinstance(areas, gpd.GeoDataFrame)
    pts = gpd.GeoDataFrame({"_loc": np.arange(len(localities))},
                           geometry=localities.geometry.to_crs(areas.crs).to_numpy(), crs=areas.crs)
    poly = gpd.GeoDataFrame({"_area": np.arange(len(areas))}, geometry=areas.geometry.to_numpy(), crs=areas.crs)
    joined = gpd.sjoin(pts, poly, how="inner", predicate="intersects")
    joined = joined[~joined["_loc"].duplicated(keep="first")]
    out = np.full(len(localities), -1, dtype=np.int64)
    out[joined["_loc"].to_numpy()] = joined["_area"].to_numpy()
    return out


@dataclass(frozen=True)
class AreaWeights:
    """The localities aggregated into areas: the area of each member and its weight.

    ``members`` are locality positions (in locality order), ``area`` their area, ``weight``
    their population, the mean of the area's known populations where unknown, 1 in an area
    where no population is known.
    """

    members: np.ndarray
    area: np.ndarray
    weight: np.ndarray
    n_areas: int

    @classmethod
    def from_population(cls, area_of: np.ndarray, population: np.ndarray, n_areas: int) -> AreaWeights:
        """Weights from the localities' population (NaN: unknown) and their area (-1: none)."""
        members = np.flatnonzero(np.asarray(area_of) >= 0)
        area = np.asarray(area_of, dtype=np.int64)[members]
        wdf = pd.DataFrame({"a": area, "p": np.asarray(population, dtype="float64")[members]})
        mean_known = wdf.groupby("a")["p"].transform("mean")
        w = wdf["p"].fillna(mean_known)
        tot = w.groupby(wdf["a"]).transform("sum")
        weight = w.where(tot > 0, 1.0).fillna(1.0).to_numpy(dtype="float64")
        return cls(members, area, weight, int(n_areas))

    @property
    def counts(self) -> np.ndarray:
        """Number of localities per area."""
        return np.bincount(self.area, minlength=self.n_areas)

    @property
    def total(self) -> np.ndarray:
        """Sum of the weights per area."""
        return np.bincount(self.area, weights=self.weight, minlength=self.n_areas)

    def sums(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(weighted sum of the known values, weight of the known values)`` per area;
        ``values`` are the members' (aligned with :attr:`members`)."""
        v = np.asarray(values, dtype="float64")
        ok = np.isfinite(v)
        num = np.bincount(self.area[ok], weights=(self.weight * v)[ok], minlength=self.n_areas)
        den = np.bincount(self.area[ok], weights=self.weight[ok], minlength=self.n_areas)
        return num, den


def finish_means(num: np.ndarray, den: np.ndarray, total: np.ndarray, *,
                 min_reachable_share: float | None) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, known share)`` from the sums of :meth:`AreaWeights.sums`: the mean is NaN where
    no value is known, and, for a travel time (``min_reachable_share`` given), where the
    localities that reach the destination hold less than that share of the weight."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = num / den
        share_ok = den / total
    if min_reachable_share is not None:
        mean = np.where(share_ok >= min_reachable_share, mean, np.nan)
    return np.where(den > 0, mean, np.nan), share_ok
