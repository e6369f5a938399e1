"""The Rural Access Index (SDG indicator 9.1.1): the share of the rural population that lives
within 2 km of an all-season road.

Method, as the World Bank measures it with open data (Roberts, KC & Rastogi 2006, World Bank
Transport Paper TP-10; the 2016 supplementary guidelines; Mikou, Rozenberg, Koks, Fox & Peralta
Quiros 2019, "Assessing Rural Accessibility and Rural Roads Investment Needs Using Open Source
Data", World Bank Policy Research Working Paper 8746):

1. **All-season roads** are chosen by a rule that is data in the speed profile (``[all_season]``
   of ``profiles/drive.toml``): the surface where it is known, the class where it is not, some
   track grades excluded, and never a road the network records as not usable all year (dry-season
   only, OSM ``seasonal=*``, a conditional closure by season or month: ``_roadattrs.not_all_year``).
2. **Distance** is the straight-line distance to the nearest all-season road (a 2 km buffer),
   measured in the network's metric CRS (``method="straight"``, the default). As an option
   (``method="walk"``) it is the distance *walked* over the accessibility surface
   (:mod:`territorial_gis.surfaces`): the shortest path through walkable cells, so that a river
   without a bridge, a lagoon or any other barrier of the surface is walked around, not
   crossed. Roads cross barriers where they have bridges; fords and ferries are not walking and
   are not used; slope and land cover do not change a distance. Precision: the path is found
   on the surface's grid (16 moves: at most 2.75 % longer than the straight line on open
   ground; 8 moves 8.2 %), each all-season road cell starts at the distance from its centre to
   the road, and a place counts at the centre of its cell (half a cell diagonal at most).
   Where the surface has no barrier the walk method gives the straight-line distance within
   that precision.
3. **Population** comes from the localities (each counts whole, inside or outside the buffer, by
   its point) or from a population raster (each cell by its centre, as the World Bank applies
   WorldPop grids).
4. **Urban population is excluded**: places (or raster cells) denser than a threshold, or not
   flagged rural by a column. The default threshold, 300 inhabitants per km², is the lower density
   of an "urban cluster" in the Degree of Urbanisation (Dijkstra & Poelman 2014; Eurostat, OECD et
   al. 2021 methodological manual), the definition GHS-SMOD implements and Mikou et al. use; this
   toolkit applies it per place or cell, without the contiguity and size rules of the full method.

The result is the index for the study and per area, the rural population in and out, and the
buffer itself for the map. Where population is unknown the index is unknown (NaN with a reason),
never 0; the share of rural places within the distance is given beside it.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import columns
from ._roadattrs import not_all_year, profile_of
from .errors import ColumnError, ConfigError, CRSError

if TYPE_CHECKING:
    import geopandas as gpd

    from .network import RoadNetwork
    from .speeds import Profile

log = logging.getLogger(__name__)

RAI_DISTANCE_M = 2000.0
"""The distance of SDG 9.1.1: 2 km."""
URBAN_DENSITY_PER_KM2 = 300.0
"""Places or cells denser than this are urban and left out (the Degree of Urbanisation's urban-cluster threshold)."""
RAI_COL = "within_all_season_road"
RAI_DIST_COL = "dist_all_season_road_m"
RURAL_COL = "rural"
METHODS = ("straight", "walk")
"""How the distance to an all-season road is measured: a straight line, or walked over the surface."""


@dataclass(frozen=True)
class AllSeasonRule:
    """Which roads are all-season (from a profile's ``[all_season]`` table)."""

    surfaces: frozenset[str]
    classes_when_surface_unknown: frozenset[str]
    exclude_tracktypes: frozenset[str] = frozenset()
    source: str = "<all-season rule>"

    @classmethod
    def from_profile(cls, profile: Profile) -> AllSeasonRule:
        table = profile.all_season
        if not table:
            raise ConfigError(f"speed profile {profile.source} has no [all_season] table: it cannot tell "
                              "which roads are all-season (see profiles/drive.toml)")
        allowed = {"surfaces", "classes_when_surface_unknown", "exclude_tracktypes"}
        bad = set(table) - allowed
        if bad:
            raise ConfigError(f"{profile.source}: [all_season] unknown key(s) {', '.join(sorted(bad))}; allowed: "
                              f"{', '.join(sorted(allowed))}")
        out = {}
        for key in allowed:
            vals = table.get(key, [])
            if not isinstance(vals, list) or not all(isinstance(v, str) for v in vals):
                raise ConfigError(f"{profile.source}: [all_season] {key} must be a list of names")
            out[key] = frozenset(vals)
        unknown = sorted(out["classes_when_surface_unknown"] - set(profile.highway_speed_kph))
        if unknown:
            raise ConfigError(f"{profile.source}: [all_season] classes_when_surface_unknown names "
                              f"{', '.join(unknown)}, not classes of the profile")
        return cls(source=profile.source, **out)

    def applies(self, edges: pd.DataFrame) -> np.ndarray:
        """Boolean mask of the all-season edges."""
        n = len(edges)
        surface = edges["surface"].astype(object) if "surface" in edges else pd.Series([None] * n, dtype=object)
        highway = edges["highway"].astype(object) if "highway" in edges else pd.Series([None] * n, dtype=object)
        known = surface.notna().to_numpy()
        ok = np.where(known, surface.isin(self.surfaces).to_numpy(), highway.isin(self.classes_when_surface_unknown))
        if "tracktype" in edges:
            ok &= ~edges["tracktype"].astype(object).isin(self.exclude_tracktypes).to_numpy()
        ok &= ~not_all_year(edges)
        return np.asarray(ok, dtype=bool)


@dataclass
class RaiResult:
    """The Rural Access Index of a study."""

    rai: float
    rural_population: float
    rural_population_within: float
    rural_places: int
    rural_places_within: int
    distance_m: float
    all_season_km: float
    by_area: pd.DataFrame
    places: pd.DataFrame | None
    buffer: gpd.GeoDataFrame
    notes: list[str] = field(default_factory=list)
    method: str = "straight"

    @property
    def share_of_places(self) -> float:
        """Share of rural places within the distance (a fallback when population is unknown)."""
        return self.rural_places_within / self.rural_places if self.rural_places else math.nan

    def summary(self) -> dict[str, Any]:
        return {"rai": None if math.isnan(self.rai) else self.rai,
                "rural_population": None if math.isnan(self.rural_population) else self.rural_population,
                "rural_population_within": None if math.isnan(self.rural_population_within)
                else self.rural_population_within,
                "rural_places": self.rural_places, "rural_places_within": self.rural_places_within,
                "share_of_rural_places_within": None if math.isnan(self.share_of_places) else self.share_of_places,
                "distance_m": self.distance_m, "method": self.method, "all_season_km": self.all_season_km,
                "notes": list(self.notes)}


def all_season_roads(network: RoadNetwork, profile: Profile | str | None = None) -> np.ndarray:
    """Mask of the network's all-season edges (the rule of ``profile``, default the network's)."""
    return AllSeasonRule.from_profile(profile_of(network, profile)).applies(network.edges)


def rural_access_index(network: RoadNetwork, places: gpd.GeoDataFrame | None = None, *,
                       population_raster: str | os.PathLike[str] | None = None,
                       distance_m: float = RAI_DISTANCE_M, profile: Profile | str | None = None,
                       urban_density_per_km2: float | None = URBAN_DENSITY_PER_KM2,
                       rural_col: str | None = None, area_col: str | None = None,
                       all_season: np.ndarray | None = None, with_buffer: bool = True,
                       method: str = "straight", surface: Any = None) -> RaiResult:
    """The Rural Access Index of the places (or of a population raster) on ``network``.

    Parameters
    ----------
    places
        Localities (points, any CRS) with ``population``; optionally ``density_per_km2``
        (urban exclusion), a rural flag column (``rural_col``) and an area column (``area_col``).
    population_raster
        A population count raster instead of the places' population (cells counted by centre).
    distance_m
        The distance to an all-season road (SDG 9.1.1: 2,000 m).
    urban_density_per_km2
        Places or cells denser than this are urban and excluded; None: no density rule.
    rural_col
        A column of ``places`` flagging rural places (true/1/"rural"); it replaces the density rule.
    all_season
        A mask of all-season edges (default the profile's rule, see :class:`AllSeasonRule`).
    with_buffer
        Also draw the buffer of the all-season roads (``buffer``; a few seconds on a city).
    method
        ``"straight"`` (the World Bank's straight-line distance) or ``"walk"`` (walked over the
        accessibility surface, see the module docstring; places only).
    surface
        For ``method="walk"``: a :class:`~territorial_gis.surfaces.Surface` (its grid and
        barriers are used; the network it was built on need not be ``network``, e.g. under a
        scenario), or :class:`~territorial_gis.surfaces.SurfaceInputs` to build one over the
        network and the places; None: flat open ground without barriers.
    """
    if not distance_m > 0:
        raise ConfigError(f"RAI distance must be a positive number of metres, got {distance_m!r}")
    if method not in METHODS:
        raise ConfigError(f"RAI method must be one of {', '.join(METHODS)}, got {method!r}")
    if places is None and population_raster is None:
        raise ConfigError("the Rural Access Index needs places with population or a population raster")
    if method == "walk" and population_raster is not None:
        raise ConfigError("the walking distance of the RAI (method 'walk') is measured from places; a population "
                          "raster is counted with the straight-line buffer (method 'straight')")
    mask = np.asarray(all_season if all_season is not None else all_season_roads(network, profile_of(network, profile)),
                      dtype=bool)
    if "reversed" in network.edges:  # both directions of a road are one line
        mask = mask & ~network.edges["reversed"].to_numpy(dtype=bool)
    geoms = network.edge_geometry_metric()[mask]
    notes: list[str] = []
    if not len(geoms):
        notes.append("no road of the network is all-season by the profile's rule")
    km = _undirected_km(network, mask)
    if population_raster is not None:
        res = _rai_raster(network, geoms, population_raster, distance_m, urban_density_per_km2, km, notes)
    else:
        assert places is not None
        walk = _Walk(network, geoms, places, surface, distance_m, notes) if method == "walk" else None
        res = _rai_places(network, geoms, places, distance_m, urban_density_per_km2, rural_col, area_col, km, notes,
                          walk=walk)
        if with_buffer:
            res.buffer = walk.buffer() if walk is not None else _buffer_frame(network, geoms, distance_m)
    res.method = method
    return res


class _Walk:
    """Walking distance over a surface from every cell to the nearest all-season road (one
    compiled multi-source pass with unit friction on the walkable cells)."""

    def __init__(self, network: RoadNetwork, geoms: np.ndarray, places: gpd.GeoDataFrame, surface: Any,
                 distance_m: float, notes: list[str]) -> None:
        from ._surface import MOVE_SET_ERROR, Surface, SurfaceInputs

        if not isinstance(surface, Surface):
            inputs = surface if surface is not None else SurfaceInputs()
            surface = inputs.build(network, places, {})
        self.surface = surface
        self.distance_m = distance_m
        self.metres = self._search(network, geoms)
        res = min(surface.grid.res)
        notes.append(f"distance walked over the surface ({res:g} m cells, {surface.options.moves} moves: at most "
                     f"{100 * MOVE_SET_ERROR[surface.options.moves]:.2f} % longer than the straight line on open "
                     f"ground; a place counts at its cell's centre; barriers: "
                     f"{'yes' if surface.meta.get('barriers') else 'none'}; fords and ferries not used)")

    def _search(self, network: RoadNetwork, geoms: np.ndarray) -> np.ndarray:
        from pyproj import Transformer
        from rasterio.features import rasterize

        from ._grid import grid_nearest

        s = self.surface
        grid = s.grid
        walkable = np.isfinite(s.friction)
        unit = np.where(walkable, 1.0, np.nan)
        out = np.full(grid.n_cells, np.inf)
        if not len(geoms):
            return out
        if not network.crs.equals(grid.crs):
            import shapely

            tr = Transformer.from_crs(network.crs, grid.crs, always_xy=True)
            geoms = shapely.transform(geoms, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
        road = rasterize(((g, 1) for g in geoms), out_shape=grid.shape, transform=grid.transform, fill=0,
                         all_touched=True, dtype="uint8").reshape(-1).astype(bool) & walkable.reshape(-1)
        cells = np.flatnonzero(road)
        if not len(cells):
            return out
        cost = self._centre_to_road(cells, geoms)
        h, w = grid.shape
        limit = self.distance_m * 1.5 + 2 * max(grid.res)
        dist, *_ = grid_nearest(unit, h, w, grid.move_distances(s.options.moves), s.options.moves, cells, cost,
                                cut_corners=s.options.cut_corners, limit=limit,
                                bucket_width=min(grid.res), n_buckets=64)
        return np.asarray(dist)

    def _centre_to_road(self, cells: np.ndarray, geoms: np.ndarray) -> np.ndarray:
        import shapely

        cx, cy = self.surface.grid.centres(cells)
        tree = shapely.STRtree(geoms)
        (pi, _ri), d = tree.query_nearest(shapely.points(cx, cy), return_distance=True, all_matches=False)
        out = np.zeros(len(cells))
        out[pi] = d
        return out

    def distances(self, places: gpd.GeoDataFrame) -> np.ndarray:
        """Metres walked from each place to the nearest all-season road (inf beyond reach)."""
        from ._routing import lonlat_of

        lon, lat = lonlat_of(places, "places")
        placed = self.surface._place(lon, lat, "places")
        ok = placed.cell >= 0
        out = np.full(len(lon), np.inf)
        out[ok] = self.metres[placed.cell[ok]] + placed.shift_m[ok]
        return out

    def buffer(self) -> gpd.GeoDataFrame:
        """The cells within the distance, as one polygon (EPSG:4326) for the map."""
        import geopandas as gpd
        import shapely
        from rasterio.features import shapes

        grid = self.surface.grid
        inside = (self.metres <= self.distance_m).reshape(grid.shape).astype("uint8")
        if not inside.any():
            return gpd.GeoDataFrame({"distance_m": []}, geometry=[], crs=4326)
        polys = [shapely.geometry.shape(g) for g, v in shapes(inside, mask=inside.astype(bool),
                                                               transform=grid.transform) if v == 1]
        poly = shapely.union_all(polys)
        return gpd.GeoDataFrame({"distance_m": [self.distance_m], "method": ["walk"]}, geometry=[poly],
                                crs=grid.crs).to_crs(4326)


def _undirected_km(network: RoadNetwork, mask: np.ndarray) -> float:
    e = network.edges.loc[np.asarray(mask, dtype=bool)]
    return float(e.drop_duplicates("segment")["length_m"].sum()) / 1000.0 if len(e) else 0.0


def distance_to_roads_m(network: RoadNetwork, road_geoms: np.ndarray, lon: np.ndarray, lat: np.ndarray,
                        max_distance_m: float) -> np.ndarray:
    """Straight-line metres from each point to the nearest of ``road_geoms`` (metric CRS); inf
    beyond ``max_distance_m`` or when there is no road."""
    import shapely
    from pyproj import Transformer

    out = np.full(len(lon), np.inf)
    if not len(road_geoms) or not len(lon):
        return out
    x, y = Transformer.from_crs(4326, network.crs, always_xy=True).transform(lon, lat)
    pts = shapely.points(np.asarray(x), np.asarray(y))
    tree = shapely.STRtree(road_geoms)
    (pi, _ri), d = tree.query_nearest(pts, max_distance=max_distance_m, return_distance=True, all_matches=False)
    out[pi] = d
    return out


def _rural_mask(places: pd.DataFrame, urban_density: float | None, rural_col: str | None,
                notes: list[str]) -> np.ndarray:
    if rural_col is not None:
        if rural_col not in places:
            raise ColumnError(f"rural flag column '{rural_col}' not found; columns: "
                              f"{', '.join(map(str, places.columns))}")
        v = places[rural_col]
        txt = v.astype(str).str.strip().str.lower()
        return (txt.isin(["true", "1", "rural", "r", "yes", "si", "sí", "sim"])).to_numpy()
    if urban_density is not None and columns.DENSITY in places:
        dens = pd.to_numeric(places[columns.DENSITY], errors="coerce").to_numpy(dtype=float)
        unknown = ~np.isfinite(dens)
        if unknown.any():
            notes.append(f"{int(unknown.sum())} places have no density: counted as rural")
        return ~(dens > urban_density)
    notes.append("no density and no rural flag: every place is counted as rural (the index is then the "
                 "share of ALL the population within the distance)")
    return np.ones(len(places), dtype=bool)


def _rai_places(network: RoadNetwork, geoms: np.ndarray, places: gpd.GeoDataFrame, distance_m: float,
                urban_density: float | None, rural_col: str | None, area_col: str | None, km: float,
                notes: list[str], *, walk: _Walk | None = None) -> RaiResult:
    from ._routing import lonlat_of

    if places.crs is None:
        raise CRSError("places have no CRS; set one (EPSG:4326 for lon/lat)")
    if area_col is not None and area_col not in places:
        raise ColumnError(f"area column '{area_col}' not found; columns: {', '.join(map(str, places.columns))}")
    if walk is not None:
        dist = walk.distances(places)
    else:
        lon, lat = lonlat_of(places, "places")
        dist = distance_to_roads_m(network, geoms, lon, lat, distance_m)
    within = dist <= distance_m
    rural = _rural_mask(places, urban_density, rural_col, notes)
    pop = (pd.to_numeric(places[columns.POPULATION], errors="coerce").to_numpy(dtype=float)
           if columns.POPULATION in places else np.full(len(places), np.nan))
    if not np.isfinite(pop[rural]).any():
        notes.append("population unknown: the index cannot be computed; the share of rural places within the "
                     "distance is given instead")
    table = pd.DataFrame({"area": places[area_col].to_numpy() if area_col else "study", "rural": rural,
                          "within": within, "pop": pop})
    by_area = _by_area(table)
    tot = _by_area(table.assign(area="study")).iloc[0]
    per_place = pd.DataFrame({RAI_DIST_COL: np.where(np.isfinite(dist), dist, np.nan), RAI_COL: within,
                              RURAL_COL: rural}, index=places.index)
    return RaiResult(rai=float(tot["rai"]), rural_population=float(tot["rural_population"]),
                     rural_population_within=float(tot["rural_population_within"]),
                     rural_places=int(tot["rural_places"]), rural_places_within=int(tot["rural_places_within"]),
                     distance_m=distance_m, all_season_km=km, by_area=by_area, places=per_place,
                     buffer=_buffer_frame(network, geoms[:0], distance_m), notes=notes)


def _by_area(table: pd.DataFrame) -> pd.DataFrame:
    """Per area: rural population (and places) in total and within the distance, and the index."""
    t = table[table["rural"]]
    known = t["pop"].notna()
    g = t.assign(pop_in=t["pop"].where(t["within"]), n_in=t["within"].astype(int),
                 known=known.astype(int)).groupby("area", sort=True)
    out = pd.DataFrame({
        "rural_population": g["pop"].sum(min_count=1),
        "rural_population_within": g["pop_in"].sum(min_count=1),
        "rural_places": g.size(),
        "rural_places_within": g["n_in"].sum(),
        "places_with_population": g["known"].sum(),
    })
    out["rural_population_within"] = out["rural_population_within"].where(out["rural_population"].notna())
    out.loc[out["rural_population"].notna(), "rural_population_within"] = \
        out["rural_population_within"].fillna(0.0)
    out["rai"] = out["rural_population_within"] / out["rural_population"].where(out["rural_population"] > 0)
    out["share_of_rural_places_within"] = out["rural_places_within"] / out["rural_places"]
    out["rai_reason"] = pd.Series("population unknown", index=out.index).where(out["rai"].isna(), None)
    if out.empty:
        out.loc["study"] = [math.nan, math.nan, 0, 0, 0, math.nan, math.nan, "no rural place"]
    return out.reset_index().rename(columns={"index": "area"})


def _rai_raster(network: RoadNetwork, geoms: np.ndarray, raster: str | os.PathLike[str], distance_m: float,
                urban_density: float | None, km: float, notes: list[str]) -> RaiResult:
    import geopandas as gpd
    import rasterio
    from rasterio.features import geometry_mask

    from .errors import RasterError

    with rasterio.open(raster) as src:
        if src.crs is None:
            raise RasterError(f"population raster {raster} has no CRS")
        data = src.read(1, masked=True).astype(float).filled(np.nan)
        transform, crs = src.transform, src.crs
    data = np.where(data < 0, np.nan, data)
    buf = _buffer_frame(network, geoms, distance_m)
    shapes = list(buf.to_crs(crs).geometry) if len(buf) else []  # the buffer is the raster mask
    inside = (~geometry_mask(shapes, out_shape=data.shape, transform=transform, all_touched=False)
              if shapes else np.zeros(data.shape, dtype=bool))
    cell_km2 = _cell_area_km2(transform, crs, data.shape)
    rural = np.ones(data.shape, dtype=bool) if urban_density is None else ~(data / cell_km2 > urban_density)
    pop = np.where(rural & np.isfinite(data), data, 0.0)
    total, within = float(pop.sum()), float(pop[inside].sum())
    rai = within / total if total > 0 else math.nan
    by_area = pd.DataFrame({"area": ["study"], "rural_population": [total], "rural_population_within": [within],
                            "rural_places": [int((rural & np.isfinite(data)).sum())],
                            "rural_places_within": [int((rural & np.isfinite(data) & inside).sum())],
                            "places_with_population": [int(np.isfinite(data).sum())], "rai": [rai],
                            "share_of_rural_places_within": [math.nan],
                            "rai_reason": [None if total > 0 else "no rural population"]})
    notes.append("population from a raster: cells counted by their centre; urban cells by density per cell")
    return RaiResult(rai=rai, rural_population=total, rural_population_within=within,
                     rural_places=int(by_area["rural_places"].iloc[0]),
                     rural_places_within=int(by_area["rural_places_within"].iloc[0]), distance_m=distance_m,
                     all_season_km=km, by_area=by_area, places=None, buffer=gpd.GeoDataFrame(buf), notes=notes)


def _cell_area_km2(transform: Any, crs: Any, shape: tuple[int, ...]) -> np.ndarray | float:
    """Cell areas in km² (per row for geographic rasters)."""
    from pyproj import CRS, Geod

    c = CRS.from_user_input(crs)
    if not c.is_geographic:
        return abs(transform.a * transform.e) / 1e6
    geod = Geod(ellps="WGS84")
    rows = np.arange(shape[0])
    lat0 = transform.f + rows * transform.e
    lat1 = lat0 + transform.e
    lon0, lon1 = transform.c, transform.c + transform.a
    areas = np.array([abs(geod.polygon_area_perimeter([lon0, lon1, lon1, lon0], [a, a, b, b])[0])
                      for a, b in zip(lat0, lat1, strict=True)]) / 1e6
    return areas[:, None]


def _buffer_frame(network: RoadNetwork, geoms: np.ndarray, distance_m: float) -> gpd.GeoDataFrame:
    """The buffer of the all-season roads (one dissolved polygon, EPSG:4326) for the map."""
    import geopandas as gpd
    import shapely

    if not len(geoms):
        return gpd.GeoDataFrame({"distance_m": []}, geometry=[], crs=4326)
    # buffering each (simplified) road and merging the polygons is fast and light; buffering the
    # merged lines makes GEOS node the whole network first (minutes and gigabytes on a city)
    pieces = shapely.buffer(shapely.simplify(geoms, min(25.0, distance_m / 20.0)), distance_m, quad_segs=4)
    poly = shapely.union_all(pieces)
    return gpd.GeoDataFrame({"distance_m": [distance_m]}, geometry=[poly], crs=network.crs).to_crs(4326)


__all__: Sequence[str] = ["AllSeasonRule", "RAI_DISTANCE_M", "RaiResult", "URBAN_DENSITY_PER_KM2",
                          "all_season_roads", "distance_to_roads_m", "rural_access_index"]
