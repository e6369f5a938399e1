"""Colours, symbols and display names shared by the interactive map and the report.

Categorical colours are colour-blind safe: the classes use the Okabe-Ito palette (Okabe & Ito
2008, "Color Universal Design"), territories Paul Tol's *muted* scheme, the travel-time surface
the full ColorBrewer YlOrBr ramp sampled over the study's own bands. Hubs are black, apart from
every class colour; destination tiers differ by symbol as well as colour. Changes (a scenario
against the base) use the ColorBrewer RdBu diverging scheme, colour-blind safe: red is worse
(minutes lost, roads slowed or closed), blue better; places cut off or changing class are
marked by symbols as well as colours.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .columns import AREA_CLASS, MRA_TYPE

if TYPE_CHECKING:
    from ._i18n import Texts

#: class key -> (English label = msgid, fill colour); drawing order is the reverse (MRA on top)
CLASS_STYLES: dict[str, tuple[str, str]] = {
    "FRA": ("FRA: favorable rural area", "#009E73"),
    "MRA-isolated": ("MRA: isolated", "#D55E00"),
    "MRA-agroecological": ("MRA: agro-ecological constraints", "#E69F00"),
    "MRA-both": ("MRA: isolated and agro-ecological constraints", "#CC79A7"),
    "MRA": ("MRA: other", "#882255"),
    "unclassified": ("not classified", "#DDDDDD"),
}
#: drawing order of the classes (first drawn first, so MRA lies above FRA)
CLASS_DRAW_ORDER = ("FRA", "unclassified", "MRA", "MRA-agroecological", "MRA-isolated", "MRA-both")
HUB_COLOR = "#000000"
HUB_SYMBOL = "\u2726"
#: symbols and colours of destination tiers, in order of appearance
TIER_SYMBOLS = ("\u25a0", "\u25b2", "\u25c6", "\u2605", "\u25cf", "\u2b1f")
TIER_COLORS = ("#0072B2", "#7B2D8E", "#1B5E20", "#5D4037", "#37474F", "#AD1457")
#: Paul Tol's muted scheme (territories; neighbours get different colours)
TERRITORY_COLORS = ("#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99",
                    "#999933", "#AA4499")
#: ColorBrewer YlOrBr, 9 classes (short -> long travel times)
RAMP = ("#FFFFE5", "#FFF7BC", "#FEE391", "#FEC44F", "#FE9929", "#EC7014", "#CC4C02", "#993404",
        "#662506")
UNREACHED_COLOR = "#9E9E9E"
CORRIDOR_COLOR = "#0072B2"
STRETCH_COLOR = "#56B4E9"
UPGRADE_COLOR = "#000000"
UPGRADE_CASING = "#F0E442"
HINTERLAND_COLOR = "#444444"
WATER_COLOR = "#3A7DBF"
WATER_FILL = "#A6CEE8"
BOUNDARY_COLOR = "#6A5D7B"
BACKGROUND = "#F4F1EA"

#: ColorBrewer RdBu, 9 classes, reversed: much slower (dark red) .. unchanged .. much faster (dark blue)
DIVERGING = ("#B2182B", "#D6604D", "#F4A582", "#FDDBC7", "#F7F7F7", "#D1E5F0", "#92C5DE", "#4393C3",
             "#2166AC")
CUT_OFF_COLOR = "#000000"
CUT_OFF_SYMBOL = "\u2716"
NEWLY_REACHED_SYMBOL = "\u271a"
WORSE_CLASS_SYMBOL = "\u25bc"
BETTER_CLASS_SYMBOL = "\u25b2"
#: the 2 km buffer of the all-season roads (Rural Access Index): Paul Tol's teal
RAI_COLOR = "#44AA99"
#: how a scenario changes a locality's access (``status_<tier>``) -> the reader's words (msgids)
STATUS_TEXT = {"unchanged": "unchanged", "slower": "slower", "faster": "faster", "cut_off": "cut off",
               "dry_season_only": "reached only in the dry season", "newly_reached": "newly reached",
               "unreachable": "unreachable in both"}
#: what a scenario did to a road (``change`` of its ``roads`` layer) -> the reader's words (msgids)
ROAD_CHANGE_TEXT = {"upgraded": "upgraded", "closed": "closed", "slowed": "slowed"}
#: nice minute values the change classes are cut at (see :func:`change_edges`)
CHANGE_LADDER = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 360, 480, 720)

#: road classes of the base map: name (msgid) -> (OSM highway values, colour, width px, dash)
ROAD_CLASSES: dict[str, tuple[tuple[str, ...], str, float, str | None]] = {
    "main roads": (("motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link"),
                   "#7A6E63", 3.0, None),
    "secondary roads": (("secondary", "secondary_link", "tertiary", "tertiary_link"), "#9C9186", 2.0, None),
    "local roads": (("unclassified", "residential", "road", "living_street", "busway"), "#B5ADA5", 1.2,
                    None),
    "tracks and service roads": (("track", "service", "path", "bridleway", "footway", "cycleway",
                                  "pedestrian", "steps"), "#B5ADA5", 1.0, "3,3"),
}


def road_class(highway: Any) -> str:
    """The base-map class of an OSM highway value (unknown values count as local roads)."""
    h = str(highway).strip().lower()
    for name, (values, *_rest) in ROAD_CLASSES.items():
        if h in values:
            return name
    return "local roads"


def present(v: Any) -> bool:
    """A value that is neither missing, NaN nor blank."""
    if v is None:
        return False
    if isinstance(v, float) and math.isnan(v):
        return False
    if v is pd.NA or v is pd.NaT:
        return False
    return not (isinstance(v, str) and not v.strip())


def classify_key(area_class: Any, mra_type: Any) -> str:
    """The :data:`CLASS_STYLES` key of one locality's class and MRA type."""
    cls = str(area_class).strip().upper() if present(area_class) else ""
    if cls == "FRA":
        return "FRA"
    if cls == "MRA":
        t = str(mra_type).strip().lower() if present(mra_type) else ""
        return f"MRA-{t}" if f"MRA-{t}" in CLASS_STYLES else "MRA"
    return "unclassified"


def class_keys(df: pd.DataFrame) -> np.ndarray:
    """The :data:`CLASS_STYLES` key of every row of ``df`` (as :func:`classify_key`, vectorised)."""
    n = len(df)

    def text(col: str, case: str) -> pd.Series:
        if col not in df.columns:
            return pd.Series([""] * n, dtype=object)
        s = df[col].astype(object).where(df[col].notna(), "").astype(str).str.strip()
        return s.str.upper() if case == "upper" else s.str.lower()

    cls, mt = text(AREA_CLASS, "upper").to_numpy(), text(MRA_TYPE, "lower").to_numpy()
    mra_key = np.asarray(["MRA-" + t if "MRA-" + t in CLASS_STYLES else "MRA" for t in mt], dtype=object) \
        if (cls == "MRA").any() else np.full(n, "MRA", dtype=object)
    return np.where(cls == "FRA", "FRA", np.where(cls == "MRA", mra_key, "unclassified")).astype(object)


def class_label(key: str, tx: Texts) -> str:
    """The reader's label of a class key."""
    return tx(CLASS_STYLES[key][0])


#: class key -> the kind of MRA in short texts (msgids)
MRA_KINDS = {"MRA-isolated": "isolated", "MRA-agroecological": "agro-ecological constraints",
             "MRA-both": "isolated and agro-ecological constraints"}


def short_class(area_class: Any, mra_type: Any, tx: Texts) -> str:
    """Short text of a class for popups: ``"MRA (isolated)"``, ``"FRA"``, ``"not classified"``."""
    key = classify_key(area_class, mra_type)
    if key == "unclassified":
        return tx("not classified")
    if key == "FRA":
        return "FRA"
    kind = MRA_KINDS.get(key)
    return tx("MRA ({kind})", kind=tx(kind)) if kind else "MRA"


def ramp_colors(n: int) -> list[str]:
    """``n`` colours spread over the whole :data:`RAMP` (pale -> dark)."""
    if n <= 0:
        return []
    if n == 1:
        return [RAMP[5]]
    idx = np.round(np.linspace(1, len(RAMP) - 1, n)).astype(int)
    return [RAMP[i] for i in idx]


def band_labels(edges: Sequence[float] | np.ndarray, tx: Texts, *, open_end: bool = True) -> list[str]:
    """Labels of travel-time bands cut at ``edges`` (minutes): ``"< 60 min"``, ``"60-120 min"``
    and, with ``open_end``, ``"\u2265 120 min"``."""
    labels = []
    prev: float | None = None
    for e in edges:
        if prev is None:
            labels.append(f"< {tx.minutes_threshold(e)}")
        else:
            labels.append(f"{_bare(tx, prev)}\u2013{tx.minutes_threshold(e)}")
        prev = e
    if open_end:
        labels.append(f"\u2265 {tx.minutes_threshold(prev)}" if prev is not None else tx("all"))
    return labels


def _bare(tx: Texts, v: float) -> str:
    return tx.minutes_threshold(v).replace(" min", "")


def greedy_colors(geoms: Sequence[Any], n_colors: int) -> list[int]:
    """A colour index per polygon so that touching polygons differ (greedy, largest first)."""
    import shapely

    arr = np.asarray(geoms, dtype=object)
    n = len(arr)
    if n == 0:
        return []
    tree = shapely.STRtree(arr)
    left, right = tree.query(arr, predicate="intersects")
    neighbours: list[set[int]] = [set() for _ in range(n)]
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a != b:
            neighbours[a].add(b)
    order = sorted(range(n), key=lambda i: -len(neighbours[i]))
    color = [-1] * n
    for i in order:
        used = {color[j] for j in neighbours[i] if color[j] >= 0}
        color[i] = next((c for c in range(n_colors) if c not in used),
                        min(range(n_colors), key=lambda c: sum(color[j] == c for j in neighbours[i])))
    return color


def change_edges(minutes: Any) -> list[float]:
    """Up to three increasing cuts (minutes, from :data:`CHANGE_LADDER`) of the size of a change
    of travel time, fitted to the changes at hand: the last one near their 90th percentile (so
    the darkest class holds the largest tenth), the others at about a half and a sixth of it."""
    v = np.abs(np.asarray(pd.to_numeric(pd.Series(minutes, dtype=object), errors="coerce"), float))
    v = v[np.isfinite(v) & (v > 0)]
    if not len(v):
        return []
    q = float(np.quantile(v, 0.9))
    top = next((x for x in CHANGE_LADDER if x >= q), CHANGE_LADDER[-1])
    out = [float(top)]
    for share in (0.4, 1 / 6):
        below = [x for x in CHANGE_LADDER if x <= top * share and x < out[-1]]
        if below:
            out.append(float(below[-1]))
    return sorted(set(out))


def change_class(minutes: Any, edges: Sequence[float]) -> np.ndarray:
    """The :data:`DIVERGING` class of each change (scenario minus base, minutes): 4 the middle
    (no change), 3, 2, 1, 0 slower by more and more (cut at ``edges``), 5 .. 8 faster. NaN
    changes get -1 (the caller gives them a status of their own)."""
    v = np.asarray(pd.to_numeric(pd.Series(minutes, dtype=object), errors="coerce"), float)
    step = np.searchsorted(np.asarray(edges, float), np.abs(np.nan_to_num(v)), side="right") + 1
    step = np.where(np.abs(np.nan_to_num(v)) > 0, step, 0)
    out = np.where(v > 0, 4 - step, 4 + step)
    return np.where(np.isfinite(v), out, -1).astype(int)


def change_labels(edges: Sequence[float], tx: Texts) -> dict[int, str]:
    """The reader's label of each :func:`change_class` (slower/faster by how much)."""
    cuts = list(edges)
    out = {4: tx("unchanged")}
    for k in range(len(cuts) + 1):
        lo = cuts[k - 1] if k > 0 else None
        hi = cuts[k] if k < len(cuts) else None
        if lo is None and hi is not None:
            out[3 - k] = tx("slower by less than {b}", b=tx.minutes_threshold(hi))
            out[5 + k] = tx("faster by less than {b}", b=tx.minutes_threshold(hi))
        elif lo is not None and hi is not None:
            out[3 - k] = tx("slower by {a}\u2013{b}", a=_bare(tx, lo), b=tx.minutes_threshold(hi))
            out[5 + k] = tx("faster by {a}\u2013{b}", a=_bare(tx, lo), b=tx.minutes_threshold(hi))
        elif lo is not None:
            out[3 - k] = tx("slower by {a} or more", a=tx.minutes_threshold(lo))
            out[5 + k] = tx("faster by {a} or more", a=tx.minutes_threshold(lo))
        else:
            out[3], out[5] = tx("slower"), tx("faster")
    return out
