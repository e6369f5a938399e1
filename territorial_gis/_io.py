"""File helpers: atomic outputs and tables written by extension."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputFileError, OutputError, OutputExistsError

TABLE_SUFFIXES = (".gpkg", ".parquet", ".geoparquet", ".csv", ".geojson", ".json", ".fgb")


def check_input(path: str | os.PathLike[str], what: str = "input file") -> Path:
    """Return ``path`` as a Path after checking it exists and is a readable file."""
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{what} not found: {p}")
    if p.is_dir():
        raise InputFileError(f"{what} is a directory, expected a file: {p}")
    if p.stat().st_size == 0:
        raise InputFileError(f"{what} is empty: {p}")
    return p


def check_outputs(*paths: str | os.PathLike[str], overwrite: bool = False,
                  formats: Sequence[str] | None = None) -> None:
    """Fail before any work when one of ``paths`` cannot be written.

    Each path must not name a folder (an existing one, or a name ending in ``/``), must have
    one of the ``formats`` suffixes when they are given, must not exist unless ``overwrite``,
    and its folder (or the nearest existing folder above it, where the missing ones will be
    created) must accept a new file: that is tried, not guessed from permission bits.

    Raises
    ------
    OutputExistsError
        The output exists and ``overwrite`` is False.
    OutputError
        Any other reason the output cannot be written.
    """
    for path in paths:
        raw = os.fspath(path)
        target = Path(raw)
        if raw.endswith(("/", os.sep)) or target.is_dir():
            example = target / f"result{formats[0] if formats else '.gpkg'}"
            raise OutputError(f"output {raw} is a folder; give a file name, e.g. {example}")
        suffix = target.suffix.lower()
        if formats is not None and suffix not in formats:
            raise OutputError(f"unsupported output format '{suffix or '(none)'}' for {target}; use one of "
                              f"{', '.join(formats)}")
        if not overwrite and (target.exists() or target.is_symlink()):
            raise OutputExistsError(f"output exists: {target} (use --overwrite to replace it)")
        check_writable_folder(target.parent, what=f"output {target}")


def check_output_folder(folder: str | os.PathLike[str], what: str = "output folder") -> Path:
    """Fail before any work when ``folder`` is a file or cannot hold new files (tried)."""
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise OutputError(f"{what} {target} is a file, not a folder")
    check_writable_folder(target, what=f"{what} {target}")
    return target


def check_writable_folder(folder: Path, what: str) -> None:
    """Try to create (and remove) a file in ``folder``, or in the nearest existing folder above
    it when it does not exist yet."""
    here = folder if str(folder) else Path(".")
    while not here.exists() and here != here.parent:
        if here.is_symlink():
            raise OutputError(f"cannot write {what}: {here} is a broken link")
        here = here.parent
    if not here.is_dir():
        raise OutputError(f"cannot write {what}: {here} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".tgis-probe-", dir=here)
    except OSError as exc:
        raise OutputError(f"cannot write {what}: folder {here} does not accept new files "
                          f"({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only on success.

    Nothing is left behind when the body raises, so a failed run never leaves a
    partial output file.
    """
    target = Path(path)
    check_outputs(target, overwrite=overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.part-", suffix=target.suffix,
                                    dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # writers (GDAL, pyarrow) prefer to create the file themselves
    try:
        yield tmp
        if not tmp.exists():
            raise InputFileError(f"nothing was written for {target}")
        os.replace(tmp, target)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise


def _json_scalar(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else str(v)  # numpy scalars inside lists


def gpkg_text(v: Any) -> str | None:
    """A value as GeoPackage text: missing as None, lists, arrays and dicts as JSON (whole:
    ``str`` of a long numpy array would elide its middle), anything else as its string."""
    import json

    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, np.ndarray):
        return json.dumps(v.tolist())
    if isinstance(v, (list, dict)):
        return json.dumps(v, default=_json_scalar)
    return str(v)


def gpkg_ready(gdf: Any) -> Any:
    """A copy whose text columns GeoPackage can store (:func:`gpkg_text`; GDAL cannot write
    Python objects)."""
    out = gdf.copy()
    for col in out.columns:
        if col == out.geometry.name:
            continue
        s = out[col]
        if str(s.dtype).startswith(("string", "str")) or (s.dtype == object and
                                                          pd.api.types.infer_dtype(s, skipna=True) == "string"):
            out[col] = s.astype(object).where(s.notna(), None)  # text already: missing as None
        elif s.dtype == object:
            out[col] = s.map(gpkg_text).astype(object)
    return out


def add_gpkg_layer(gdf: Any, path: str | os.PathLike[str], layer: str) -> None:
    """Write ``gdf`` as ``layer`` of the GeoPackage ``path``, appending to the file when it exists
    (not atomic by itself: use inside :func:`atomic_output` or a staging folder)."""
    gpkg_ready(gdf).to_file(path, layer=layer, driver="GPKG", engine="pyogrio", append=Path(path).exists())


def write_gpkg_layers(layers: dict[str, Any], path: str | os.PathLike[str], overwrite: bool = False) -> Path:
    """Write several GeoDataFrames as the layers of one GeoPackage, atomically."""
    target = Path(path)
    with atomic_output(target, overwrite=overwrite) as tmp:
        for name, gdf in layers.items():
            add_gpkg_layer(gdf, tmp, name)
    return target


def write_table(df: pd.DataFrame, path: str | os.PathLike[str], overwrite: bool = False,
                layer: str | None = None) -> Path:
    """Write a (Geo)DataFrame by the extension of ``path``, atomically.

    ``.gpkg``, ``.geojson``, ``.fgb`` need a GeoDataFrame; ``.parquet`` writes GeoParquet
    for a GeoDataFrame and plain Parquet otherwise; ``.csv`` writes geometry as WKT-free
    lon/lat columns when the frame has point geometry.
    """
    import geopandas as gpd

    target = Path(path)
    suffix = target.suffix.lower()
    with atomic_output(target, overwrite=overwrite) as tmp:
        if suffix == ".csv":
            out = pd.DataFrame(df)
            if isinstance(df, gpd.GeoDataFrame) and df.geometry.name in out:
                geom = df.geometry
                if len(geom) and (geom.geom_type == "Point").all():
                    g4326 = geom.to_crs(4326) if df.crs is not None else geom
                    out["lon"] = g4326.x
                    out["lat"] = g4326.y
                out = out.drop(columns=[df.geometry.name])
            out.to_csv(tmp, index=False)
        elif suffix in (".parquet", ".geoparquet"):
            df.to_parquet(tmp)
        elif suffix in (".gpkg", ".geojson", ".json", ".fgb"):
            if not isinstance(df, gpd.GeoDataFrame):
                raise InputFileError(f"{target}: {suffix} needs geometries; use .csv or .parquet")
            gdf = df.to_crs(4326) if suffix in (".geojson", ".json") and df.crs else df
            driver = {".gpkg": "GPKG", ".fgb": "FlatGeobuf"}.get(suffix, "GeoJSON")
            # GeoPackage layers are named after the target, not after the temporary file
            kwargs = {"layer": layer or target.stem} if driver == "GPKG" else {}
            gdf.to_file(tmp, driver=driver, engine="pyogrio", **kwargs)
        else:
            raise InputFileError(
                f"unsupported output format '{suffix}' for {target}; use one of {', '.join(TABLE_SUFFIXES)}")
    return target
