"""Reading the tables the indicator, typology and comparison commands work on, and writing
several outputs together (all or none)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_LONLAT = (("lon", "lat"), ("longitude", "latitude"), ("longitud", "latitud"), ("x", "y"), ("lng", "lat"))
_GEO_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".fgb", ".parquet", ".geoparquet", ".gml", ".kml")


def read_units(spec: str, layer: str | None = None) -> Any:
    """Units (localities, areas, municipalities...) from ``catalogue:NAME[,key=value...]``, a built-in
    indicator table (``conapo_marginalization:2020``), a vector/Parquet file, or a CSV (points
    when it has lon/lat columns, else a plain table; codes keep their leading zeros)."""
    import geopandas as gpd
    import pandas as pd

    from territorial_gis.indicators import INDICATOR_TABLES, load_indicator_table, read_table
    from territorial_gis.places import load_localities, parse_rule

    if spec.lower().startswith(("catalogue:", "catalog:")):
        rule = parse_rule(spec)
        return load_localities({k: v for k, v in rule.items()})
    if spec.partition(":")[0] in INDICATOR_TABLES and not Path(spec).is_file():
        return load_indicator_table(spec)
    p = Path(spec)
    if p.suffix.lower() in _GEO_SUFFIXES and p.suffix.lower() != ".json" or (
            p.suffix.lower() == ".json" and p.is_file()):
        if layer is not None and p.suffix.lower() not in (".parquet", ".geoparquet"):
            from territorial_gis._io import check_input

            check_input(p, "table")
            return gpd.read_file(p, layer=layer, engine="pyogrio")
        return read_table(p)
    df = read_table(p)
    lower = {str(c).lower(): c for c in df.columns}
    for xc, yc in _LONLAT:
        if xc in lower and yc in lower:
            x = pd.to_numeric(df[lower[xc]], errors="coerce")
            y = pd.to_numeric(df[lower[yc]], errors="coerce")
            if x.notna().all() and y.notna().all() and (x.abs() <= 180).all() and (y.abs() <= 90).all():
                return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(x, y), crs=4326)
    return df


def filter_rows(df: Any, where: str | None) -> Any:
    """Rows where the ``--where`` condition holds (typology condition syntax)."""
    if not where:
        return df
    from territorial_gis._typology import select_rows
    from territorial_gis.errors import ConfigError

    mask = select_rows(df, where)
    if not mask.any():
        raise ConfigError(f"--where {where!r} keeps no row")
    return df[mask].reset_index(drop=True)


def split_list(text: str | None) -> list[str]:
    """``"a, b,c"`` -> ``["a", "b", "c"]``."""
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def write_outputs(items: Sequence[tuple[Any, Path]], overwrite: bool, layer: str | None = None) -> None:
    """Write tables (by extension) and dicts (as JSON) all together: on any failure, the ones
    already written are removed, so a failed command leaves nothing."""
    import pandas as pd

    from territorial_gis._io import atomic_output, check_outputs, write_table

    check_outputs(*(p for _obj, p in items), overwrite=overwrite)
    done: list[Path] = []
    try:
        for obj, path in items:
            if isinstance(obj, pd.DataFrame):
                frame = obj.copy()
                frame.attrs = {}
                write_table(frame, path, overwrite=overwrite, layer=layer if not done else None)
            else:
                with atomic_output(path, overwrite=overwrite) as tmp:
                    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=str), "utf-8")
            done.append(Path(path))
    except BaseException:
        for p in done:
            p.unlink(missing_ok=True)
        raise


def side_path(out: Path, suffix: str, ext: str = ".csv") -> Path:
    """``<stem>_<suffix><ext>`` beside ``out``."""
    return out.with_name(f"{out.stem}_{suffix}{ext}")
