"""What an installation is made of (``tgis doctor``): versions, engines, compiled kernels, cache."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import platform
import shutil
import sys
from pathlib import Path
from typing import Any

from . import __version__, settings

#: distributions reported with their versions (optional ones say "not installed")
PACKAGES = ("numpy", "scipy", "pandas", "shapely", "pyproj", "geopandas", "pyogrio", "rasterio", "osmium",
            "networkx", "folium", "click", "dask", "distributed", "spopt", "pulp", "h3", "osmnx")
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _engines() -> dict[str, str]:
    """Versions of the C/C++ libraries under the Python packages."""
    out: dict[str, str] = {}
    try:
        import pyproj

        out["PROJ"] = str(pyproj.proj_version_str)
    except ImportError:  # pragma: no cover - a dependency
        out["PROJ"] = "not available"
    try:
        import rasterio

        out["GDAL (rasterio)"] = str(rasterio.__gdal_version__)
    except ImportError:  # pragma: no cover
        out["GDAL (rasterio)"] = "not available"
    try:
        import pyogrio

        out["GDAL (pyogrio)"] = str(pyogrio.__gdal_version_string__)
    except ImportError:  # pragma: no cover
        out["GDAL (pyogrio)"] = "not available"
    try:
        import osmium.version

        out["libosmium (pyosmium)"] = str(osmium.version.libosmium_version)
    except ImportError:  # pragma: no cover
        out["libosmium (pyosmium)"] = "not available"
    try:
        import shapely

        out["GEOS"] = str(shapely.geos_version_string)
    except ImportError:  # pragma: no cover
        out["GEOS"] = "not available"
    return out


def kernel_names() -> list[str]:
    """The compiled modules of the package: every ``territorial_gis/*.pyx`` (built at install),
    and any extension module found beside them."""
    root = Path(__file__).resolve().parent
    names = {p.stem for p in root.glob("*.pyx")}
    names |= {p.name.split(".")[0] for p in root.iterdir() if p.suffix in (".so", ".pyd")}
    return sorted(names)


def _kernels() -> dict[str, str]:
    """Each compiled kernel: the file it loads from, or why it is missing."""
    out: dict[str, str] = {}
    for name in kernel_names():
        spec = importlib.util.find_spec(f"territorial_gis.{name}")
        if spec is None or spec.origin is None or spec.origin.endswith((".py", ".pyx")):
            out[name] = "MISSING (reinstall: make install, or pip install -e .)"
            continue
        try:
            importlib.import_module(f"territorial_gis.{name}")
        except ImportError as exc:
            out[name] = f"BROKEN ({exc})"
        else:
            out[name] = Path(spec.origin).name
    return out


def _folder_size(path: Path) -> tuple[int, int]:
    files = 0
    total = 0
    if path.is_dir():
        for root, _dirs, names in os.walk(path):
            for n in names:
                try:
                    total += (Path(root) / n).stat().st_size
                    files += 1
                except OSError:
                    continue
    return files, total


def collect_report() -> dict[str, Any]:
    """Everything ``tgis doctor`` prints, as a dict."""
    cache = settings.resolved_cache_dir()
    n_files, size = _folder_size(cache)
    browser = next((p for p in (shutil.which(b) for b in BROWSERS) if p), None)
    return {
        "territorial-gis": __version__,
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": platform.platform(),
        "packages": {p: _version(p) for p in PACKAGES},
        "engines": _engines(),
        "compiled kernels": _kernels(),
        "network cache": {"folder": str(cache), "exists": cache.is_dir(), "files": n_files,
                          "size_mb": round(size / 1e6, 1)},
        "defaults": {"max_snap_m": settings.max_snap_m, "walk_kph": settings.walk_kph, "mode": settings.mode,
                     "lang": settings.lang},
        "browser for map tests": browser or "not found (make test installs Debian's chromium)",
    }


def format_report(report: dict[str, Any]) -> str:
    """The report as aligned text, one item per line."""
    lines: list[str] = []
    for key, value in report.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            width = max((len(k) for k in value), default=0)
            lines += [f"  {k:<{width}}  {v}" for k, v in value.items()]
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)
