"""Inputs shared by the criticality and appraisal commands (localities and tiers), and the files a
command writes beside its GeoPackage (all or nothing)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import geopandas as gpd


def read_study_inputs(localities: str, tier_rules: Sequence[str], places: Mapping[str, Any]
                      ) -> tuple[gpd.GeoDataFrame, dict[str, gpd.GeoDataFrame]]:
    """Localities (:func:`territorial_gis.places.load_places` with the ``places_options`` given)
    and their ``--tier`` destinations."""
    from territorial_gis.errors import ConfigError
    from territorial_gis.places import load_places, load_tiers, parse_tier_options

    if not tier_rules:
        raise ConfigError("give at least one destination tier with --tier NAME=FILE_OR_RULE")
    locs = load_places(localities, **places)
    return locs, load_tiers(parse_tier_options(tier_rules), locs)


def write_all(writers: Sequence[tuple[Path, Callable[[Path], None]]], overwrite: bool) -> None:
    """Write several files, each atomically; if one fails, the ones already written are removed."""
    from territorial_gis._io import atomic_output, check_outputs

    check_outputs(*(p for p, _ in writers), overwrite=overwrite)
    done: list[Path] = []
    try:
        for path, write in writers:
            with atomic_output(path, overwrite) as tmp:
                write(tmp)
            done.append(path)
    except BaseException:
        for p in done:
            p.unlink(missing_ok=True)
        raise
