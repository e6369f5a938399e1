"""Defaults of territorial-gis, each defined once.

Every default the library, the command line and the study configs use is read from this
module at the moment it is needed, so a script may change one for its session::

    import territorial_gis as tg
    tg.settings.max_snap_m = 5000.0      # points up to 5 km from a road keep a travel time

==========================  ============================  ===================================================
name                        default                       meaning
==========================  ============================  ===================================================
``max_snap_m``              ``2000.0``                    a place farther than this from a road is
                                                          ``too_far_from_road`` (metres, straight line)
``walk_kph``                ``4.0``                       off-road walking speed when the network's speed
                                                          profile gives none (km/h; a loaded walker on a
                                                          rural path, see ``profiles/walk.toml``)
``mode``                    ``"drive"``                   speed profile of a network built without one
``cache_dir``               ``None``                      where built networks are cached; ``None`` means
                                                          ``$TGIS_CACHE_DIR``, else
                                                          ``$XDG_CACHE_HOME/territorial-gis``, else
                                                          ``~/.cache/territorial-gis``
``lang``                    ``"en"``                      language of maps and reports (``en``, ``es``,
                                                          ``pt``)
``threads``                 ``None``                      threads of many-to-many routing (OD tables,
                                                          hubs); ``None`` means every CPU the process
                                                          may use
``min_reachable_share``     ``0.5``                       share of a unit's locality population (an area,
                                                          a municipality) that must reach a tier for the
                                                          unit's population-weighted time to count; less
                                                          and the unit's time is unknown (unreachable)
``surface_memory_mb``       ``2048.0``                    largest memory an accessibility surface may need
                                                          (MB); a larger grid is refused, naming a
                                                          resolution that fits
``offroad``                 ``"straight"``                how the part of a trip off the road is measured:
                                                          ``"straight"`` (a straight-line walk to the
                                                          nearest road, within ``max_snap_m``) or
                                                          ``"surface"`` (over terrain, rivers and
                                                          crossings: every place gets a time or a reason)
``surface_bands_min``       ``(30, 60, 120, 240)``        travel-time bands (minutes) of the surfaces'
                                                          population and area figures
``component_warn_share``    ``0.05``                      keeping only the largest strongly connected
                                                          component of a network warns when the others
                                                          hold more than this share of its road length
==========================  ============================  ===================================================
"""

from __future__ import annotations

import os
from pathlib import Path

max_snap_m: float = 2000.0
walk_kph: float = 4.0
mode: str = "drive"
cache_dir: str | os.PathLike[str] | None = None
lang: str = "en"
threads: int | None = None
min_reachable_share: float = 0.5
surface_memory_mb: float = 2048.0
offroad: str = "straight"
surface_bands_min: tuple[float, ...] = (30.0, 60.0, 120.0, 240.0)
component_warn_share: float = 0.05


def resolved_cache_dir() -> Path:
    """The network cache folder (see ``cache_dir`` in the table above)."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("TGIS_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "territorial-gis" if xdg else Path.home() / ".cache" / "territorial-gis"
