"""Embedded real datasets shipped with territorial-gis (see ATTRIBUTION.md in this folder).

The folder sits at the top of the repository as ``data/`` and is installed as the
package ``territorial_gis.data`` so the embedded region works from any install.
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent


def data_path(*parts: str) -> Path:
    """Return the path of an embedded data file, e.g. ``data_path("porto_alegre", "poa_osm.pbf")``."""
    return DATA_DIR.joinpath(*parts)
