"""territorial-gis: rural territorial development analysis.

Build routable road networks (OpenStreetMap files or road line layers), compute travel
times from localities to employment centres and intermediate cities, classify marginal
(MRA) and favorable (FRA) rural areas, suggest corridors and upgrades, pick hub
localities and functional territories, and export maps and reports.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# public name -> module; imported lazily so ``import territorial_gis`` stays light
_API = {
    "RouteOptions": "_routing",
    "StudyOutputs": "outputs",
    "load_study_outputs": "outputs",
    "RoadNetwork": "network",
    "build_network": "network",
    "load_network": "network",
    "open_network": "network",
    "network_from_place": "network",
    "network_from_bbox": "network",
    "network_from_polygon": "network",
    "load_profile": "speeds",
    "load_places": "places",
    "load_catalogue": "places",
    "derive_tier": "places",
    "travel_times_to_nearest": "access",
    "od_matrix": "access",
    "isochrones": "access",
    "population_within": "access",
    "gravity_access": "access",
    "sample_rasters": "terrain",
    "slope_degrees": "terrain",
    "build_surface": "surfaces",
    "surface_from_rasters": "surfaces",
    "surface_access": "surfaces",
    "SurfaceInputs": "surfaces",
    "WaterwaySpec": "surfaces",
    "classify_areas": "classify",
    "load_rules": "classify",
    "load_indicator_table": "indicators",
    "join_indicators": "indicators",
    "join_spatial": "indicators",
    "derive_counts": "indicators",
    "indicator_within": "indicators",
    "summarize_indicators": "indicators",
    "load_typology": "typology",
    "apply_typology": "typology",
    "compare_periods": "changes",
    "transition_table": "changes",
    "suggest_corridors": "corridors",
    "rank_upgrades": "corridors",
    "HubProblem": "hubs",
    "select_hubs": "hubs",
    "assign_hinterlands": "hubs",
    "build_territories": "territories",
    "assess_criticality": "criticality",
    "network_stretches": "criticality",
    "appraise_projects": "appraisal",
    "eligible_areas": "microregions",
    "build_microregions": "microregions",
    "select_cecs": "microregions",
    "service_gaps": "microregions",
    "run_strategy": "microregions",
    "fra_destinations": "links",
    "zone_links": "links",
    "make_map": "maps",
    "make_report": "report",
    "run_study": "pipeline",
    "run_batch": "batch",
}

#: public submodules reachable as attributes (``tg.settings.max_snap_m = 5000``)
_MODULES = ("settings", "columns", "outputs")

__all__ = ["__version__", *_API, *_MODULES]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return import_module(f".{name}", __name__)
    if name in _API:
        return getattr(import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'territorial_gis' has no attribute {name!r}")
