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
``surface_memory_mb``       ``2048.0``                    largest memory an accessibility surface may need
                                                          (MB); a larger grid is refused, naming a
                                                          resolution that fits
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
surface_memory_mb: float = 2048.0
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
