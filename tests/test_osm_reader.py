"""The compiled PBF reader (``territorial_gis._pbf`` behind ``_osm.read_ways``) against pyosmium.

Real data: the embedded extracts read both ways give identical arrays. Small files written
here (a minimal PBF encoder, or osmium's SimpleWriter) cover what the extracts do not:
granularity and offsets other than the defaults, plain (non-dense) nodes, uncompressed
blobs, a block holding nodes and ways, deleted nodes, nodes missing from the extract,
unsupported features (read with pyosmium instead) and corrupt data (always InputFileError
naming the file, never a crash).
"""

from __future__ import annotations

import logging
import random
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from territorial_gis.data import data_path

from territorial_gis import _osm
from territorial_gis.errors import InputFileError, NetworkError
from territorial_gis.speeds import Profile, load_profile

POA = Path(data_path("porto_alegre", "poa_osm.pbf"))
SPO = Path(data_path("sao_paulo", "spo_osm.pbf"))
PROFILES = {mode: load_profile(mode=mode) for mode in ("drive", "walk")}
UNREADABLE = "not a readable OpenStreetMap file"


def assert_same_ways(a: _osm.WayArrays, b: _osm.WayArrays) -> None:
    for field in ("refs", "lon", "lat", "offsets", "way_id"):
        x, y = getattr(a, field), getattr(b, field)
        assert x.dtype == y.dtype, field
        np.testing.assert_array_equal(x, y, err_msg=field, strict=True)
    pd.testing.assert_frame_equal(a.tags, b.tags)
    assert list(a.tags.columns) == list(_osm.TAG_KEYS)
    assert all(a.tags[k].dtype == object for k in _osm.TAG_KEYS)
    np.testing.assert_array_equal(a.ford_at, b.ford_at, strict=True)
    assert a.ford_value.tolist() == b.ford_value.tolist()


def read_fast(path: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch) -> _osm.WayArrays:
    """read_ways, failing if it fell back to pyosmium."""
    def no_fallback(*_: Any) -> None:
        raise AssertionError("read_ways fell back to pyosmium")

    with monkeypatch.context() as m:
        m.setattr(_osm, "_read_ways_osmium", no_fallback)
        return _osm.read_ways(path, profile)


# --- the embedded extracts ----------------------------------------------------------------

@pytest.mark.parametrize("mode", ["drive", "walk"])
@pytest.mark.parametrize("path", [POA, SPO], ids=["porto_alegre", "sao_paulo"])
def test_extracts_equal_pyosmium(path: Path, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = read_fast(path, PROFILES[mode], monkeypatch)
    assert_same_ways(fast, _osm._read_ways_osmium(path, PROFILES[mode]))
    assert len(fast.way_id) > 4000


def test_every_block_read_in_pass_one() -> None:
    """Without inflating node blocks only up to their first group, the same result."""
    prof = PROFILES["drive"]
    assert_same_ways(_osm._read_ways_pbf(SPO, prof, skip_nodes=False), _osm.read_ways(SPO, prof))


def test_routable_xml_holds_the_same_ways(tmp_path: Path) -> None:
    """write_routable_xml (the osmnx input of the benchmark) applies read_ways's rules."""
    prof = PROFILES["drive"]
    xml = tmp_path / "spo.osm"
    _osm.write_routable_xml(SPO, xml, prof)
    assert_same_ways(_osm.read_ways(xml, prof), _osm.read_ways(SPO, prof))


# --- the routing rules --------------------------------------------------------------------

def reference_rule(tags: dict[str, str], profile: Profile) -> bool:
    """The rules as plain Python, one way at a time."""
    if tags.get("highway") not in profile.highway_speed_kph or tags.get("area") == "yes":
        return False
    if tags.get("service") in profile.exclude_service:
        return False
    keys = ("foot", "access") if profile.mode == "walk" else ("motorcar", "motor_vehicle", "vehicle", "access")
    for key in keys:
        if key in tags:
            return tags[key] not in profile.exclude_access
    return True


RULE_TAGS = st.dictionaries(
    st.sampled_from(["highway", "area", "service", "access", "foot", "motorcar", "motor_vehicle",
                     "vehicle", "surface"]),
    st.sampled_from(["primary", "footway", "motorway", "yes", "no", "private", "parking_aisle",
                     "destination", "x"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(RULE_TAGS, max_size=30), st.sampled_from(["drive", "walk"]))
def test_rules_vectorised_as_one_by_one(ways: list[dict[str, str]], mode: str) -> None:
    prof = PROFILES[mode]
    cols = {k: _osm._TagColumn.of(w.get(k) for w in ways) for k in _osm.TAG_KEYS}
    got = _osm._routable(cols, prof)
    assert got.dtype == bool and got.shape == (len(ways),)
    expect = [reference_rule(w, prof) for w in ways]
    assert got.tolist() == expect
    assert [_osm._way_allowed(w, prof) for w in ways] == expect


# --- a minimal PBF encoder ----------------------------------------------------------------

def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def zz(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def fbytes(field: int, data: bytes) -> bytes:
    return varint(field << 3 | 2) + varint(len(data)) + data


def fint(field: int, n: int) -> bytes:
    return varint(field << 3) + varint(n)


def packed(field: int, values: Sequence[int]) -> bytes:
    return fbytes(field, b"".join(varint(v) for v in values))


def deltas(values: Sequence[int]) -> list[int]:
    return [zz(v - p) for p, v in zip([0, *values], values, strict=False)]


def blob(kind: bytes, block: bytes, how: str = "zlib", datasize: int | None = None) -> bytes:
    if how == "zlib":
        body = fint(2, len(block)) + fbytes(3, zlib.compress(block))
    elif how == "raw":
        body = fbytes(1, block)
    else:  # another compression: field 4 (lzma) with any bytes
        body = fint(2, len(block)) + fbytes(4, block)
    header = fbytes(1, kind) + fint(3, len(body) if datasize is None else datasize)
    return struct.pack(">I", len(header)) + header + body


def raw_blob(body: bytes, kind: bytes = b"OSMData") -> bytes:
    """A blob of any Blob message content."""
    header = fbytes(1, kind) + fint(3, len(body))
    return struct.pack(">I", len(header)) + header + body


def header_blob(features: Sequence[str] = ("OsmSchema-V0.6", "DenseNodes")) -> bytes:
    return blob(b"OSMHeader", b"".join(fbytes(4, f.encode()) for f in features))


Node = tuple[int, int, int]                  # id, raw lat, raw lon
Way = tuple[int, list[int], list[tuple[str, str]]]


class Strings:
    def __init__(self) -> None:
        self.items = [""]

    def __call__(self, s: str) -> int:
        if s not in self.items:
            self.items.append(s)
        return self.items.index(s)

    def table(self) -> bytes:
        return b"".join(fbytes(1, s.encode()) for s in self.items)


NodeTags = dict[int, list[tuple[str, str]]]


def dense_group(nodes: list[Node], visible: list[bool] | None = None, tags: NodeTags | None = None,
                s: Strings | None = None) -> bytes:
    ids, lats, lons = (list(c) for c in zip(*nodes, strict=True))
    body = packed(1, deltas(ids))
    if visible is not None:
        n = len(nodes)
        info = (packed(1, [1] * n) + packed(2, [0] * n) + packed(3, [0] * n) + packed(4, [0] * n)
                + packed(5, [0] * n) + packed(6, [int(v) for v in visible]))
        body += fbytes(5, info)
    body += packed(8, deltas(lats)) + packed(9, deltas(lons))
    if tags and s is not None:  # keys_vals: (key, value) string indices of each node, ended by 0
        kv: list[int] = []
        for i in ids:
            for k, v in tags.get(i, []):
                kv += [s(k), s(v)]
            kv.append(0)
        body += packed(10, kv)
    return fbytes(2, body)


def plain_group(nodes: list[Node], tags: NodeTags | None = None, s: Strings | None = None) -> bytes:
    out = b""
    for i, la, lo in nodes:
        kv = (tags or {}).get(i, []) if s is not None else []
        keys = packed(2, [s(k) for k, _ in kv]) + packed(3, [s(v) for _, v in kv]) if kv and s is not None else b""
        out += fbytes(1, fint(1, zz(i)) + keys + fint(8, zz(la)) + fint(9, zz(lo)))
    return out


def way_group(ways: list[Way], s: Strings) -> bytes:
    out = b""
    for wid, refs, tags in ways:
        out += fbytes(3, fint(1, wid) + packed(2, [s(k) for k, _ in tags]) + packed(3, [s(v) for _, v in tags])
                      + packed(8, deltas(refs)))
    return out


def primitive_block(groups: list[bytes], s: Strings, granularity: int | None = None,
                    lat_offset: int | None = None, lon_offset: int | None = None) -> bytes:
    out = fbytes(1, s.table()) + b"".join(fbytes(2, g) for g in groups)
    for field, value in ((17, granularity), (19, lat_offset), (20, lon_offset)):
        if value is not None:
            out += fint(field, value)
    return out


def sample_nodes(granularity: int = 100, lat_offset: int = 0, lon_offset: int = 0, n: int = 40) -> list[Node]:
    """Nodes around Porto Alegre (south, west: negative coordinates) in raw units."""
    rng = random.Random(5)
    nodes = []
    for i in range(n):
        lat_nano = -30_030_000_000 + rng.randrange(-10**8, 10**8)
        lon_nano = -51_230_000_000 + rng.randrange(-10**8, 10**8)
        nodes.append((1000 + 3 * i, (lat_nano - lat_offset) // granularity, (lon_nano - lon_offset) // granularity))
    nodes.append((5000, 899_999_999 * 10, 10))          # lat 89.99999990
    nodes.append((5001, 910_000_000 * 10, 10))          # lat 91: out of range, no location
    return nodes


SAMPLE_NODE_TAGS: NodeTags = {
    1003: [("ford", "yes")],                                 # inside way 1
    1009: [("highway", "crossing"), ("ford", "stepping_stones")],  # the end of way 1, start of way 2
    1042: [("ford", "yes")],                                 # on way 9, an area: not routable
    1048: [("highway", "traffic_signals")],                  # tags, but no ford
}
"""SYNTHETIC node tags of the sample (hand-made ids and values, not real data)."""

SAMPLE_WAYS: list[Way] = [
    (1, [1000, 1003, 1006, 1009], [("highway", "primary"), ("name", "Avenida São João"), ("maxspeed", "60")]),
    (2, [1009, 1012, 1015], [("highway", "residential"), ("access", "private")]),
    (3, [1015, 1018], [("highway", "footway"), ("surface", "")]),
    (4, [1018, 1021, 1024], [("highway", "service"), ("service", "parking_aisle")]),
    (5, [1024, 999, 1027, 1030], [("highway", "tertiary"), ("oneway", "yes")]),   # 999 missing
    (6, [998, 1030], [("highway", "secondary")]),                                    # left with 1 node
    (7, [1030, 1033], [("building", "yes")]),
    (8, [1033, 1036, 1039], [("highway", "primary"), ("surface", "asphalt"), ("surface", "gravel")]),
    (9, [1039, 1042, 1045, 1039], [("highway", "pedestrian"), ("area", "yes")]),
    (10, [1045, 1048, 1051, 1045], [("highway", "residential"), ("junction", "roundabout")]),
    (11, [1051, 1054], [("highway", "track"), ("motor_vehicle", "no"), ("access", "yes")]),
    (12, [1054, 1057], [("highway", "unclassified"), ("foot", "yes"), ("access", "no")]),
    (13, [1057, 5000, 5001, 1060], [("highway", "primary"), ("bridge", "yes")]),
    (14, [1060], [("highway", "primary")]),
    (15, [], [("highway", "primary")]),
]


def write_pbf(path: Path, *, nodes: list[Node] | None = None, ways: list[Way] = SAMPLE_WAYS,
              granularity: int | None = None, lat_offset: int | None = None, lon_offset: int | None = None,
              plain: bool = False, mixed: bool = False, how: str = "zlib", visible: list[bool] | None = None,
              features: Sequence[str] = ("OsmSchema-V0.6", "DenseNodes"),
              node_tags: NodeTags | None = None) -> Path:
    if nodes is None:
        nodes = sample_nodes(granularity or 100, lat_offset or 0, lon_offset or 0)
        node_tags = SAMPLE_NODE_TAGS if node_tags is None else node_tags
    s = Strings()
    ns = s if mixed else Strings()
    ngroup = plain_group(nodes, node_tags, ns) if plain else dense_group(nodes, visible, node_tags, ns)
    wgroup = way_group(ways, s)
    params = {"granularity": granularity, "lat_offset": lat_offset, "lon_offset": lon_offset}
    if mixed:
        blocks = [primitive_block([ngroup, wgroup], s, **params)]
    else:
        blocks = [primitive_block([ngroup], ns, **params), primitive_block([wgroup], s, **params)]
    path.write_bytes(header_blob(features) + b"".join(blob(b"OSMData", b, how) for b in blocks))
    return path


# --- small files against pyosmium ---------------------------------------------------------

VARIANTS: dict[str, dict[str, Any]] = {
    "dense": {},
    "granularity_offsets": {"granularity": 7, "lat_offset": -31, "lon_offset": 45},
    "coarse_granularity": {"granularity": 1000, "lat_offset": 123_456_789, "lon_offset": -987_654_321},
    "plain_nodes": {"plain": True},
    "raw_blobs": {"how": "raw"},
    "nodes_and_ways_in_one_block": {"mixed": True},
    "deleted_nodes": {"visible": [i % 7 != 3 for i in range(42)],
                      "features": ("OsmSchema-V0.6", "DenseNodes", "HistoricalInformation")},
}


@pytest.mark.parametrize("mode", ["drive", "walk"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_small_files_equal_pyosmium(variant: str, mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    caplog: pytest.LogCaptureFixture) -> None:
    path = write_pbf(tmp_path / "small.osm.pbf", **VARIANTS[variant])
    prof = PROFILES[mode]
    with caplog.at_level(logging.DEBUG, logger="territorial_gis._osm"):
        fast = read_fast(path, prof, monkeypatch)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="territorial_gis._osm"):
        slow = _osm._read_ways_osmium(path, prof)
    assert_same_ways(fast, slow)
    assert warned == [r.getMessage() for r in caplog.records]
    assert warned and "have no location in the extract" in warned[0]
    assert 1 in fast.way_id and 14 not in fast.way_id and 15 not in fast.way_id
    assert "Avenida São João" in fast.tags["name"].tolist()
    assert fast.tags["surface"][fast.way_id == 8].tolist() == ["asphalt"]   # the first of two values
    assert (np.abs(fast.lat) <= 90).all()
    # ford nodes of the routable ways, each where the way holds it (node 1009 ends way 1, starts way 2)
    fords = {(int(fast.way_id[np.searchsorted(fast.offsets, i, side="right") - 1]), int(fast.refs[i])): v
             for i, v in zip(fast.ford_at, fast.ford_value, strict=True)}
    assert 2 not in fast.way_id   # access=private: not routable in either mode, its node 1009 kept by way 1
    expect = {(1, 1003): "yes", (1, 1009): "stepping_stones"}
    located = set(fast.refs.tolist())   # (the deleted_nodes variant deletes node 1009)
    assert fords == {k: v for k, v in expect.items() if k[1] in located}
    assert (1, 1003) in fords


def test_block_of_nodes_and_ways_read_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write_pbf(tmp_path / "mixed.osm.pbf", mixed=True)
    with caplog.at_level(logging.DEBUG, logger="territorial_gis._osm"):
        ways = _osm.read_ways(path, PROFILES["drive"])
    assert "holds nodes and ways; reading it again" in caplog.text
    assert 1 in ways.way_id


def test_no_routable_way(tmp_path: Path) -> None:
    path = write_pbf(tmp_path / "none.osm.pbf", ways=[(7, [1000, 1003], [("building", "yes")])])
    with pytest.raises(NetworkError, match="no routable way for mode 'drive'"):
        _osm.read_ways(path, PROFILES["drive"])
    only_header = tmp_path / "header.osm.pbf"
    only_header.write_bytes(header_blob())
    with pytest.raises(NetworkError, match="no routable way"):
        _osm.read_ways(only_header, PROFILES["drive"])


# --- what the compiled reader leaves to pyosmium ------------------------------------------

def test_lz4_blocks_read_with_pyosmium(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import osmium
    from osmium.osm.mutable import Node as MNode
    from osmium.osm.mutable import Way as MWay

    path = tmp_path / "lz4.osm.pbf"
    writer = osmium.SimpleWriter(osmium.io.File(str(path), "pbf,pbf_compression=lz4"))
    writer.add_node(MNode(id=1, location=(-51.2, -30.0)))
    writer.add_node(MNode(id=2, location=(-51.1, -30.1)))
    writer.add_way(MWay(id=3, nodes=[1, 2], tags={"highway": "primary", "name": "Rua"}))
    writer.close()
    with caplog.at_level(logging.DEBUG, logger="territorial_gis._osm"):
        ways = _osm.read_ways(path, PROFILES["drive"])
    assert "lz4-compressed blocks, not handled by the compiled PBF reader; reading it with pyosmium" in caplog.text
    assert ways.way_id.tolist() == [3] and ways.lon.tolist() == [-51.2, -51.1]


def test_unsupported_required_feature_falls_back(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_pbf(tmp_path / "feature.osm.pbf", features=("OsmSchema-V0.6", "DenseNodes", "Foo"))
    with caplog.at_level(logging.DEBUG, logger="territorial_gis._osm"), \
            pytest.raises(InputFileError, match="required feature not supported: Foo"):  # libosmium's word
        _osm.read_ways(path, PROFILES["drive"])
    assert "required feature 'Foo', not handled by the compiled PBF reader" in caplog.text
    # and the fallback is what reads the file
    seen: list[Path] = []
    monkeypatch.setattr(_osm, "_read_ways_osmium", lambda p, prof: seen.append(p))
    _osm.read_ways(path, PROFILES["drive"])
    assert seen == [path]


# --- corrupt data -------------------------------------------------------------------------

def blob_spans(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each blob (with its length prefix and header) in a PBF file."""
    spans, pos = [], 0
    while pos < len(data):
        hlen = struct.unpack(">I", data[pos:pos + 4])[0]
        header = data[pos + 4:pos + 4 + hlen]
        i = header.index(b"\x18") + 1   # BlobHeader.datasize, after the type string
        size, shift = 0, 0
        while True:
            size |= (header[i] & 0x7F) << shift
            shift += 7
            i += 1
            if header[i - 1] < 0x80:
                break
        spans.append((pos, pos + 4 + hlen + size))
        pos += 4 + hlen + size
    return spans


def assert_unreadable(path: Path, profile: Profile | None = None) -> None:
    with pytest.raises(InputFileError) as info:
        _osm.read_ways(path, profile or PROFILES["drive"])
    assert str(path) in str(info.value) and UNREADABLE in str(info.value)


def test_truncated(tmp_path: Path) -> None:
    data = POA.read_bytes()
    spans = blob_spans(data)
    assert len(spans) >= 3
    cuts = [1, 3, 6, 40, spans[0][1] + 2, spans[0][1] + 20, spans[1][0] + 1000, spans[1][1] - 1,
            spans[2][0] + 300_000, len(data) - 1]
    for cut in cuts:
        assert all(cut not in (start, end) for start, end in spans)
        path = tmp_path / f"cut{cut}.osm.pbf"
        path.write_bytes(data[:cut])
        assert_unreadable(path)


def test_flipped_byte_in_compressed_blob(tmp_path: Path) -> None:
    data = POA.read_bytes()
    for start, end in blob_spans(data)[1:3]:   # the node blob (read in pass 2) and a way blob
        for where in (0.3, 0.95):
            pos = int(start + (end - start) * where)
            bad = bytearray(data)
            bad[pos] ^= 0x5A
            path = tmp_path / f"flip{pos}.osm.pbf"
            path.write_bytes(bytes(bad))
            assert_unreadable(path)


def test_huge_lengths(tmp_path: Path) -> None:
    data = POA.read_bytes()
    path = tmp_path / "huge_header.osm.pbf"
    path.write_bytes(b"\x7f\xff\xff\xff" + data[4:])
    assert_unreadable(path)
    path = tmp_path / "huge_blob.osm.pbf"
    path.write_bytes(header_blob() + blob(b"OSMData", b"", datasize=1 << 40))
    assert_unreadable(path)
    path = tmp_path / "huge_raw_size.osm.pbf"
    path.write_bytes(header_blob() + raw_blob(fint(2, 1 << 33) + fbytes(3, zlib.compress(b"abc"))))
    assert_unreadable(path)


def test_random_bytes_and_wrong_blobs(tmp_path: Path) -> None:
    rng = random.Random(3)
    cases = {
        "random": bytes(rng.randrange(256) for _ in range(5000)),
        "empty": b"",
        "text": b"this is not a pbf file\n",
        "header_then_random": header_blob() + bytes(rng.randrange(256) for _ in range(3000)),
        "no_header": blob(b"OSMData", b""),
        "not_zlib": header_blob() + raw_blob(fint(2, 100) + fbytes(3, b"not zlib data" * 5)),
        "no_data": header_blob() + raw_blob(fint(2, 100)),
        "unknown_blob_field_only": header_blob() + raw_blob(fint(9, 1)),
    }
    for name, data in cases.items():
        path = tmp_path / f"{name}.osm.pbf"
        path.write_bytes(data)
        assert_unreadable(path)


def test_lzma_blob_left_to_pyosmium(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "lzma.osm.pbf"
    path.write_bytes(header_blob() + blob(b"OSMData", b"whatever", how="lzma"))
    with caplog.at_level(logging.DEBUG, logger="territorial_gis._osm"):
        assert_unreadable(path)   # libosmium does not read lzma either
    assert "lzma-compressed blocks" in caplog.text


def test_corrupt_blocks(tmp_path: Path) -> None:
    """Valid zlib around invalid blocks: each is an InputFileError."""
    s = Strings()
    hw, primary = s("highway"), s("primary")
    good_nodes = primitive_block([dense_group(sample_nodes())], Strings())
    bad_blocks = {
        "string_index": primitive_block([fbytes(3, fint(1, 1) + packed(2, [40]) + packed(3, [0]))], s),
        "more_keys_than_values": primitive_block([fbytes(3, fint(1, 1) + packed(2, [hw, hw]) + packed(3, [primary]))],
                                                 s),
        "truncated_refs": primitive_block([fbytes(3, fint(1, 1) + packed(2, [hw]) + packed(3, [primary])
                                                  + fbytes(8, b"\x80"))], s),
        "fewer_lats": primitive_block([fbytes(2, packed(1, [2, 2]) + packed(8, [0]) + packed(9, [0, 0]))], s),
        "length_past_end": good_nodes[:-5] + b"\x12\x7f\x00",
        "bad_wire_type": good_nodes + b"\x0f",
        "two_string_tables": fbytes(1, b"") + good_nodes,
    }
    t = Strings()
    ways = primitive_block([way_group(SAMPLE_WAYS[:1], t)], t)
    for name, block in bad_blocks.items():
        path = tmp_path / f"{name}.osm.pbf"
        path.write_bytes(header_blob() + blob(b"OSMData", block) + blob(b"OSMData", ways))
        assert_unreadable(path)
    # a block inflating to fewer bytes than it claims
    path = tmp_path / "raw_size.osm.pbf"
    path.write_bytes(header_blob() + raw_blob(fint(2, len(good_nodes) + 1) + fbytes(3, zlib.compress(good_nodes)))
                     + blob(b"OSMData", ways))
    assert_unreadable(path)


def test_mutated_blocks_never_crash(tmp_path: Path) -> None:
    """Random damage to the content of the blocks (recompressed, so zlib cannot tell): the
    reader reads the file or raises InputFileError / NetworkError, without crashing."""
    s = Strings()
    node_block = primitive_block([dense_group(sample_nodes(), [True] * 42)], Strings(), granularity=100)
    way_block = primitive_block([way_group(SAMPLE_WAYS, s)], s)
    rng = random.Random(11)
    path = tmp_path / "mutant.osm.pbf"
    outcomes = {"ok": 0, "error": 0}
    for i in range(400):
        blocks = [bytearray(node_block), bytearray(way_block)]
        b = blocks[i % 2]
        for _ in range(rng.choice([1, 1, 2, 5])):
            op = rng.random()
            pos = rng.randrange(len(b))
            if op < 0.6:
                b[pos] = rng.randrange(256)
            elif op < 0.8:
                del b[pos:pos + rng.randrange(1, 8)]
            else:
                b[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 6)))
        path.write_bytes(header_blob() + b"".join(blob(b"OSMData", bytes(x)) for x in blocks))
        try:
            _osm.read_ways(path, PROFILES["walk"])
            outcomes["ok"] += 1
        except (InputFileError, NetworkError) as exc:
            assert str(path) in str(exc)
            outcomes["error"] += 1
    assert outcomes["ok"] > 20 and outcomes["error"] > 50
