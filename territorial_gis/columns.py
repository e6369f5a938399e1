"""Column names shared between stages, and the helpers that build and parse them.

Every stage writes and reads these names through this module, so the contract between the
stages (and with the analyst who opens ``localities.gpkg``) is stated in one place. Units are
part of the names (``_min``, ``_m``, ``_km``, ``_kph``, ``_per_km2``).

Per destination tier ``<tier>`` the access stage writes :func:`time_col` (minutes, NaN when
unknown), :func:`nearest_col` (the id of the nearest destination) and :func:`reason_col` (why
the time is unknown, else empty).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

# -- identity of places ------------------------------------------------------------------------
PLACE_ID = "place_id"
"""Identifier of a loaded place (locality or destination)."""
LOCALITY_ID = "locality_id"
"""Identifier of a locality in the study outputs."""
DEST_ID = "dest_id"
"""Identifier of a destination of a tier."""
NAME = "name"
POPULATION = "population"
TIER = "tier"
ID_CANDIDATES = (DEST_ID, PLACE_ID, "id", LOCALITY_ID)
"""Columns taken as the identifier of a frame when none is named, in this order."""

# -- access ---------------------------------------------------------------------------------
ACCESS_LEG_MIN = "access_leg_min"
"""Minutes of the off-road leg from the place to the road."""
SNAP_DIST_M = "snap_dist_m"
"""Straight-line metres from the place to the nearest point of the nearest road."""
UNREACHABLE_REASON = "unreachable_reason"
"""Why a travel time is unknown (one of the ``REASON_*`` values, per tier ``<tier>:<reason>``)."""
REASON_TOO_FAR = "too_far_from_road"
REASON_DISCONNECTED = "disconnected"
REASON_NO_DESTINATION = "no_destination"
REASON_CUT_OFF = "cut_off"
"""Over the surface: no way over land, road, river or crossing reaches a destination (an island
with no crossing, a bank with no bridge, ferry or landing)."""
REASON_IN_BARRIER = "in_barrier"
"""Over the surface: the place lies in water or on a barrier with no walkable cell near it."""
REASON_OUTSIDE_GRID = "outside_grid"
"""Over the surface: the place lies outside the surface's grid."""
OFFROAD_METHOD = "offroad_method"
"""How the part of a trip off the road network was measured: :data:`OFFROAD_STRAIGHT` or :data:`OFFROAD_SURFACE`."""
OFFROAD_STRAIGHT = "straight"
"""A straight-line walk to the nearest point of the nearest road, within the snapping limit."""
OFFROAD_SURFACE = "surface"
"""Over the accessibility surface: terrain, land cover, barriers, waterways and crossings."""
OFFROAD_METHODS = (OFFROAD_STRAIGHT, OFFROAD_SURFACE)
LEGS = ("walk", "road", "boat", "boat_wait", "crossing")
"""Legs of a trip, each with its minutes per tier (:func:`leg_col`): walking (off-road), driving on
the road network, boat travel, waiting at boardings, fords and ferries."""

# -- classification -------------------------------------------------------------------------
AREA_ID = "area_id"
#: the identifier of a locality (or of the area standing for it) when no column is named
LOCALITY_ID_CANDIDATES = (LOCALITY_ID, PLACE_ID, AREA_ID, "id")
AREA_CLASS = "area_class"
"""``MRA`` (marginal rural area) or ``FRA`` (favorable rural area)."""
MRA_TYPE = "mra_type"
CLASS_REASONS = "class_reasons"
DENSITY = "density_per_km2"
CLASS_COLUMNS = (AREA_ID, AREA_CLASS, MRA_TYPE, CLASS_REASONS, DENSITY)
"""The columns an area passes on to the localities inside it."""

# -- hubs and territories -------------------------------------------------------------------
HUB_ID = "hub_id"
HUB_TIME_MIN = "travel_time_hub_min"
TERRITORY_ID = "territory_id"
TERRITORY_STATUS = "territory_status"
CENTRE_TIME_MIN = "travel_time_centre_min"
"""Minutes from a locality to the centre of its territory (written by the territories stage)."""

# -- administrative codes (INEGI / CONAPO, any country's areas) -------------------------------
STATE_CODE = "state_code"
STATE_NAME = "state_name"
MUNICIPALITY_CODE = "municipality_code"
"""Five-character INEGI code, state (2) + municipality (3): ``"12041"``."""
MUNICIPALITY_NAME = "municipality_name"
AREA_NAME_CANDIDATES = (NAME, MUNICIPALITY_NAME, "municipality", "nombre", "nome", "MPIO_CNMBR", "NOMGEO", "NM_MUN")
"""Columns taken as the name of an area (a municipality...) when none is named, in this order:
``name`` (INEGI municipalities of :mod:`territorial_gis.microregions`, the study's own outputs),
``municipality_name``, ``municipality`` (the DANE layer of data/guaviare), ``nombre``/``nome``,
then the name fields of the national municipal layers: ``MPIO_CNMBR`` (DANE MGN), ``NOMGEO``
(INEGI Marco Geoestadístico), ``NM_MUN`` (IBGE malha municipal)."""

# -- indicators (joins, derived counts) --------------------------------------------------------
JOIN_STATUS = "join_status"
"""How a unit got its indicator values: ``code``, ``name``, ``spatial``; ``unmatched: ...`` (values NaN)."""
MARGINALIZATION_INDEX = "marginalization_index"
"""CONAPO index as published (1990-2015: higher = more marginalized; 2020: re-based, higher = less)."""
MARGINALIZATION_GRADE = "marginalization_grade"
"""CONAPO grade as published: ``Muy bajo``, ``Bajo``, ``Medio``, ``Alto``, ``Muy alto``."""
MARGINALIZATION_GRADE_CODE = "marginalization_grade_code"
"""The grade as a number, 1 (muy bajo) .. 5 (muy alto): comparable across the 2020 method break."""
MARGINALIZATION_PERCENTILE = "marginalization_percentile"
"""National percentile rank of the index within its year, 0-100, 100 = most marginalized."""
MARGINALIZATION_GRADES = ("Muy bajo", "Bajo", "Medio", "Alto", "Muy alto")
YEAR = "year"

# -- typologies and change over time -----------------------------------------------------------
PERIOD_STATUS = "period_status"
"""Whether a unit is in every compared period (``both``) or which ones it is missing from."""

# -- microregions and links to favorable areas ---------------------------------------------------
MICROREGION_ID = "microregion_id"
CEC_ID = "cec_id"
"""The Strategic Community Centre (a locality id) whose hinterland a locality is in."""
FRA_TIER = "fra"
"""Name of the destination tier of favorable areas (``travel_time_fra_min``)."""
LINK_STATUS = "link_status"
"""``linked`` (a zone contains or reaches a favorable area within the limit) or ``enclosed_marginal``."""

_TIME_RE = re.compile(r"^travel_time_(?P<tier>.+)_min$")


def area_name_column(columns: Iterable[str], name_col: str | None = None, *, what: str = "areas") -> str | None:
    """The column naming the areas: ``name_col`` when given, else the first of
    :data:`AREA_NAME_CANDIDATES` the areas have, else None (the areas are shown by their id).

    Raises
    ------
    ColumnError
        ``name_col`` is given and the areas have no such column.
    """
    cols = [str(c) for c in columns]
    if name_col is not None:
        if name_col not in cols:
            from .errors import ColumnError

            shown = ", ".join(c for c in cols if c != "geometry")
            raise ColumnError(f"area name column {name_col!r} not found in the {what} (columns: {shown})")
        return name_col
    return next((c for c in AREA_NAME_CANDIDATES if c in cols), None)


def time_col(tier: str) -> str:
    """``travel_time_<tier>_min``: minutes to the nearest destination of ``tier``."""
    return f"travel_time_{tier}_min"


def nearest_col(tier: str) -> str:
    """``nearest_<tier>_id``: the nearest destination of ``tier``."""
    return f"nearest_{tier}_id"


def reason_col(tier: str) -> str:
    """``unreachable_reason_<tier>``: why the time to ``tier`` is unknown."""
    return f"{UNREACHABLE_REASON}_{tier}"


def trip_mode_col(tier: str) -> str:
    """``trip_mode_<tier>``: the modes of the trip to ``tier`` in travel order (``walk+road``,
    ``walk+boat+road+walk``, ``road``; ``none`` at the destination itself)."""
    return f"trip_mode_{tier}"


def leg_col(leg: str, tier: str) -> str:
    """``<leg>_<tier>_min``: minutes of one leg (:data:`LEGS`) of the trip to ``tier``."""
    if leg not in LEGS:
        raise ValueError(f"unknown leg {leg!r}; legs: {', '.join(LEGS)}")
    return f"{leg}_{tier}_min"


def change_col(tier: str) -> str:
    """``change_<tier>_min``: scenario minus base minutes to ``tier`` (positive: slower)."""
    return f"change_{tier}_min"


def status_col(tier: str) -> str:
    """``status_<tier>``: how a scenario changes access to ``tier`` (slower, cut off, ...)."""
    return f"status_{tier}"


def tier_of(column: str) -> str | None:
    """The tier of a :func:`time_col` name, else None (``travel_time_hub_min`` is not a tier;
    ``travel_time_centre_min`` is the territories' time to their centre unless a study names a
    tier ``centre``: see ``territorial_gis._studymeta.study_tiers``)."""
    m = _TIME_RE.match(str(column))
    if m is None or column == HUB_TIME_MIN:
        return None
    return m.group("tier")


def tiers_in(columns: Iterable[str] | pd.DataFrame) -> list[str]:
    """The tiers whose :func:`time_col` is among ``columns`` (or a frame's), in column order."""
    cols = columns.columns if isinstance(columns, pd.DataFrame) else columns
    return [t for c in cols if (t := tier_of(str(c))) is not None]


def reasons_col(column: str) -> str:
    """``<column>_reasons``: the measured values behind a typology's class column."""
    return f"{column}_reasons"


def period_col(column: str, label: str) -> str:
    """``<column>_<label>``: the value of ``column`` in the period ``label`` (e.g. ``population_2010``)."""
    return f"{column}_{label}"


def period_change_col(column: str) -> str:
    """``<column>_change``: later value minus earlier value between periods (in the column's unit,
    or grade steps). Not to be confused with :func:`change_col` (a scenario's change of minutes)."""
    return f"{column}_change"


def period_change_pct_col(column: str) -> str:
    """``<column>_change_pct``: relative change in per cent of the earlier value."""
    return f"{column}_change_pct"


def transition_col(column: str) -> str:
    """``<column>_transition``: ``"<earlier> -> <later>"`` for a class or grade column."""
    return f"{column}_transition"
