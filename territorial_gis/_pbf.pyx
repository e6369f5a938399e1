# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Decoder of OpenStreetMap PBF files (https://wiki.openstreetmap.org/wiki/PBF_Format).

Reads what :func:`territorial_gis._osm.read_ways` needs, one block at a time, with no Python
object per node or way:

* :func:`scan_ways` (pass 1): the ways whose first ``highway`` value is one of the given
  classes, in file order: ids, node refs and the values of the given tag keys (codes into
  per-key lists of distinct values), and where the blobs holding nodes are.
* :func:`locate_nodes` (pass 2): the coordinates of given node ids (sorted, unique) and the
  value of one node tag (``ford``), decompressing only the blobs that hold nodes.

Every read is bounds-checked. Corrupt, truncated or non-PBF data raises
:class:`PBFFormatError`; valid data that needs something this decoder does not handle (a
compression other than zlib, a required feature other than those in ``SUPPORTED_FEATURES``,
unpacked repeated fields, an unknown blob type) raises :class:`PBFUnsupportedError`, so the caller
can read the file another way.

Coordinates follow libosmium: fixed-point int32 in 1e-7 degrees, computed as
``(offset + granularity * raw) / 100`` with C (truncating) integer division; a location out
of range (|lon| > 180, |lat| > 90) or of a deleted node counts as missing.
"""

import zlib

import numpy as np

cimport cython
from cpython.bytearray cimport PyByteArray_AS_STRING
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, realloc
from libc.string cimport memcmp, memcpy, memset


class PBFFormatError(ValueError):
    """The data is not a valid OSM PBF file (corrupt, truncated or another format)."""


class PBFUnsupportedError(Exception):
    """A file (valid as far as read) that needs something this decoder does not handle."""


SUPPORTED_FEATURES = frozenset({"OsmSchema-V0.6", "DenseNodes", "HistoricalInformation"})

cdef enum:
    MAX_BLOB_HEADER = 64 * 1024           # limits of the format (and of libosmium)
    MAX_BLOB = 32 * 1024 * 1024
    MAX_FIX_LON = 1800000000
    MAX_FIX_LAT = 900000000


# --- protobuf wire format -----------------------------------------------------------------

cdef struct Reader:
    const uint8_t* p
    const uint8_t* end


cdef struct Field:
    uint32_t num
    int wtype
    uint64_t value          # varint fields
    const uint8_t* data     # length-delimited fields
    size_t size


cdef inline bint rd_varint(Reader* r, uint64_t* out) noexcept nogil:
    """Read one varint; False if the data ends inside it or it is longer than 10 bytes."""
    cdef const uint8_t* p = r.p
    cdef uint64_t v
    cdef unsigned int shift = 0
    cdef uint8_t b
    if p < r.end and p[0] < 0x80:   # one-byte fast path
        out[0] = p[0]
        r.p = p + 1
        return True
    v = 0
    while p < r.end and shift < 64:
        b = p[0]
        p += 1
        v |= (<uint64_t>(b & 0x7F)) << shift
        if b < 0x80:
            r.p = p
            out[0] = v
            return True
        shift += 7
    return False


cdef inline int64_t unzigzag(uint64_t v) noexcept nogil:
    return <int64_t>((v >> 1) ^ (0 - (v & 1)))


cdef int next_field(Reader* r, Field* f) except -1:
    """Read the next field of a message into ``f``: 1, or 0 at the end of the message."""
    cdef uint64_t key, n
    if r.p >= r.end:
        return 0
    if not rd_varint(r, &key):
        raise PBFFormatError("truncated field key")
    f.num = <uint32_t>(key >> 3)
    f.wtype = <int>(key & 7)
    if f.num == 0 or (key >> 3) > 0x1FFFFFFF:
        raise PBFFormatError("invalid field number")
    if f.wtype == 0:
        if not rd_varint(r, &f.value):
            raise PBFFormatError("truncated varint")
    elif f.wtype == 2:
        if not rd_varint(r, &n) or n > <uint64_t>(r.end - r.p):
            raise PBFFormatError("length-delimited field runs past the end of its message")
        f.data = r.p
        f.size = <size_t>n
        r.p += n
    elif f.wtype == 1:
        if r.end - r.p < 8:
            raise PBFFormatError("truncated fixed64 field")
        f.value = 0
        r.p += 8
    elif f.wtype == 5:
        if r.end - r.p < 4:
            raise PBFFormatError("truncated fixed32 field")
        f.value = 0
        r.p += 4
    else:
        raise PBFFormatError(f"unexpected wire type {f.wtype}")
    return 1


cdef inline Reader sub_reader(const Field* f) noexcept nogil:
    cdef Reader r
    r.p = f.data
    r.end = f.data + f.size
    return r


cdef struct GroupFields:
    Reader block            # the PrimitiveBlock
    Reader group            # its current PrimitiveGroup
    bint in_group


cdef inline void group_fields(GroupFields* it, const uint8_t* p, size_t n) noexcept nogil:
    """Start iterating over the fields of every PrimitiveGroup of the block ``p[:n]``."""
    it.block.p = p
    it.block.end = p + n
    it.in_group = False


cdef int next_group_field(GroupFields* it, Field* gf) except -1:
    """The next field of any PrimitiveGroup of the block, in order: 1, or 0 at the end."""
    cdef Field fl
    while True:
        if it.in_group and next_field(&it.group, gf):
            return 1
        it.in_group = False
        while True:
            if not next_field(&it.block, &fl):
                return 0
            if fl.num == 2:
                break
        want_bytes(&fl, "PrimitiveBlock.primitivegroup")
        it.group = sub_reader(&fl)
        it.in_group = True


cdef inline int want_bytes(const Field* f, str what) except -1:
    if f.wtype != 2:
        if f.wtype == 0 and what.startswith("packed"):
            raise PBFUnsupportedError(f"unpacked repeated field ({what[7:]})")
        raise PBFFormatError(f"{what} has wire type {f.wtype}")
    return 0


cdef inline int want_varint(const Field* f, str what) except -1:
    if f.wtype != 0:
        raise PBFFormatError(f"{what} has wire type {f.wtype}")
    return 0


# --- growable C arrays --------------------------------------------------------------------

cdef struct Vec:
    char* data
    size_t n
    size_t cap
    size_t item


cdef int vec_grow(Vec* v, size_t extra) except -1:
    cdef size_t cap = v.cap if v.cap else 4096
    cdef void* p
    while cap < v.n + extra:
        cap *= 2
    if cap != v.cap:
        p = realloc(v.data, cap * v.item)
        if p == NULL:
            raise MemoryError()
        v.data = <char*>p
        v.cap = cap
    return 0


cdef inline int push_i64(Vec* v, int64_t x) except -1:
    if v.n == v.cap:
        vec_grow(v, 1)
    (<int64_t*>v.data)[v.n] = x
    v.n += 1
    return 0


cdef object vec_to_numpy(Vec* v, object dtype):
    arr = np.empty(v.n, dtype=dtype)
    cdef uint8_t[::1] raw = arr.view(np.uint8)
    if v.n:
        memcpy(&raw[0], v.data, v.n * v.item)
    return arr


# --- blobs --------------------------------------------------------------------------------

cdef tuple read_blob(object f, int64_t offset):
    """The blob at ``offset`` (where ``f`` is): (type, Blob message bytes, next offset), or
    None at the end of the file."""
    cdef bytes head = f.read(4)
    cdef bytes header, blob
    cdef Py_ssize_t hlen
    cdef Reader r
    cdef Field fl
    cdef object btype = None
    cdef int64_t datasize = -1
    if not head:
        return None
    if len(head) < 4:
        raise PBFFormatError(f"truncated at byte {offset} (incomplete blob header length)")
    hlen = int.from_bytes(head, "big")
    if hlen == 0 or hlen > MAX_BLOB_HEADER:
        raise PBFFormatError(f"blob header of {hlen} bytes at byte {offset} (at most 64 KiB)")
    header = f.read(hlen)
    if len(header) < hlen:
        raise PBFFormatError(f"truncated at byte {offset} (incomplete blob header)")
    r.p = <const uint8_t*>PyBytes_AS_STRING(header)
    r.end = r.p + hlen
    while next_field(&r, &fl):
        if fl.num == 1:
            want_bytes(&fl, "BlobHeader.type")
            btype = PyBytes_FromStringAndSize(<const char*>fl.data, fl.size)
        elif fl.num == 3:
            want_varint(&fl, "BlobHeader.datasize")
            datasize = <int64_t>fl.value
    if btype is None or datasize < 0 or datasize > MAX_BLOB:
        raise PBFFormatError(f"invalid blob header at byte {offset}")
    blob = f.read(datasize)
    if len(blob) < datasize:
        raise PBFFormatError(f"truncated at byte {offset} (blob of {datasize} bytes, "
                             f"{len(blob)} in the file)")
    return btype, blob, offset + 4 + hlen + datasize


cdef object blob_data(bytes blob, bint skip_nodes=False):
    """The uncompressed content of a Blob message.

    With ``skip_nodes``, None when the first primitive group of the block holds nodes: the
    block is then inflated only up to that group (the caller reads it fully later).
    """
    cdef Reader r
    cdef Field fl
    cdef int64_t raw_size = -1
    cdef Py_ssize_t z0 = -1, z1 = -1
    cdef const uint8_t* base = <const uint8_t*>PyBytes_AS_STRING(blob)
    cdef bytes out
    r.p = base
    r.end = base + PyBytes_GET_SIZE(blob)
    while next_field(&r, &fl):
        if fl.num == 1:
            want_bytes(&fl, "Blob.raw")
            out = PyBytes_FromStringAndSize(<const char*>fl.data, fl.size)
            if skip_nodes and first_group(<const uint8_t*>PyBytes_AS_STRING(out), fl.size, True) == 1:
                return None
            return out
        elif fl.num == 2:
            want_varint(&fl, "Blob.raw_size")
            raw_size = <int64_t>fl.value
        elif fl.num == 3:
            want_bytes(&fl, "Blob.zlib_data")
            z0 = fl.data - base
            z1 = z0 + <Py_ssize_t>fl.size
        elif 4 <= fl.num <= 7:
            raise PBFUnsupportedError(f"{('lzma', 'bzip2', 'lz4', 'zstd')[fl.num - 4]}-compressed blocks")
    if z0 < 0:
        raise PBFFormatError("blob without data")
    if raw_size <= 0 or raw_size > MAX_BLOB:
        raise PBFFormatError(f"invalid uncompressed blob size {raw_size}")
    d = zlib.decompressobj()
    try:
        if skip_nodes:
            head = inflate_to_first_group(d, memoryview(blob)[z0:z1], raw_size)
            if head is None:
                return None
            out = head + d.decompress(d.unconsumed_tail, raw_size + 1 - len(head))
        else:
            out = d.decompress(memoryview(blob)[z0:z1], raw_size + 1)
    except zlib.error as exc:
        raise PBFFormatError(f"corrupt zlib data ({exc})") from None
    if not d.eof or len(out) != raw_size:
        raise PBFFormatError("zlib data does not match its declared size")
    return out


cdef int first_group(const uint8_t* p, size_t n, bint complete) except -2:
    """What the first primitive group of a PrimitiveBlock (or its first ``n`` bytes) holds:
    1 nodes, 0 something else or no group, -1 more bytes are needed to tell."""
    cdef Reader r
    cdef uint64_t key, v
    cdef size_t before
    r.p = p
    r.end = p + n
    while r.p < r.end:
        if not rd_varint(&r, &key):
            return 0 if complete else -1
        if (key & 7) == 0:
            if not rd_varint(&r, &v):
                return 0 if complete else -1
        elif (key & 7) == 2:
            if not rd_varint(&r, &v):
                return 0 if complete else -1
            if (key >> 3) == 2:
                if v == 0:
                    return 0
                if not rd_varint(&r, &key):   # the group's first field
                    return 0 if complete else -1
                return 1 if (key >> 3) in (1, 2) else 0
            if v > <uint64_t>(r.end - r.p):
                return 0 if complete else -1
            r.p += v
        elif (key & 7) == 1 or (key & 7) == 5:
            before = 8 if (key & 7) == 1 else 4
            if <size_t>(r.end - r.p) < before:
                return 0 if complete else -1
            r.p += before
        else:
            return 0   # invalid: the full read reports it
    return 0 if complete else -1


cdef object inflate_to_first_group(object d, object src, int64_t raw_size):
    """Inflate a block until its first group shows: None if it holds nodes, else the bytes
    inflated so far (the rest is left in ``d``)."""
    cdef bytearray head = bytearray(d.decompress(src, min(raw_size, 16384)))
    cdef int kind
    cdef Py_ssize_t want
    while True:
        kind = first_group(<const uint8_t*>PyByteArray_AS_STRING(head), len(head), d.eof)
        if kind == 1:
            return None
        if kind == 0:
            return bytes(head)
        want = min(max(len(head), 65536), raw_size + 1 - len(head))
        if want <= 0:
            return bytes(head)
        chunk = d.decompress(d.unconsumed_tail, want)
        if not chunk:
            return bytes(head)
        head += chunk


cdef int check_header_block(bytes data) except -1:
    cdef Reader r
    cdef Field fl
    r.p = <const uint8_t*>PyBytes_AS_STRING(data)
    r.end = r.p + PyBytes_GET_SIZE(data)
    while next_field(&r, &fl):
        if fl.num == 4:
            want_bytes(&fl, "HeaderBlock.required_features")
            feature = PyUnicode_DecodeUTF8(<const char*>fl.data, fl.size, "replace")
            if feature not in SUPPORTED_FEATURES:
                raise PBFUnsupportedError(f"required feature {feature!r}")
    return 0


def _data_blobs(f, bint skip_nodes):
    """Yield (offset, uncompressed PrimitiveBlock) for each data blob, checking the header
    first; with ``skip_nodes``, None for a block whose first group holds nodes."""
    cdef int64_t offset = 0
    item = read_blob(f, offset)
    if item is None:
        raise PBFFormatError("empty file")
    btype, blob, nxt = item
    if btype != b"OSMHeader":
        raise PBFFormatError("the file does not start with an OSMHeader blob")
    try:
        check_header_block(blob_data(blob))
    except PBFFormatError as exc:
        raise PBFFormatError(f"{exc} in the header blob") from None
    while True:
        offset = nxt
        item = read_blob(f, offset)
        if item is None:
            return
        btype, blob, nxt = item
        if btype != b"OSMData":
            raise PBFUnsupportedError(f"blob type {btype!r} at byte {offset}")
        try:
            data = blob_data(blob, skip_nodes)
        except PBFFormatError as exc:
            raise PBFFormatError(f"{exc} in the blob at byte {offset}") from None
        yield offset, data


cdef struct BlockInfo:
    const uint8_t* st
    size_t st_size
    int64_t granularity
    int64_t lat_offset
    int64_t lon_offset


cdef int block_info(const uint8_t* p, size_t n, BlockInfo* bi) except -1:
    cdef Reader r
    cdef Field fl
    r.p = p
    r.end = p + n
    bi.st = NULL
    bi.st_size = 0
    bi.granularity = 100
    bi.lat_offset = 0
    bi.lon_offset = 0
    while next_field(&r, &fl):
        if fl.num == 1:
            want_bytes(&fl, "PrimitiveBlock.stringtable")
            if bi.st != NULL:
                raise PBFFormatError("more than one string table in a block")
            bi.st = fl.data
            bi.st_size = fl.size
        elif fl.num == 17:
            want_varint(&fl, "PrimitiveBlock.granularity")
            bi.granularity = <int32_t>fl.value
        elif fl.num == 19:
            want_varint(&fl, "PrimitiveBlock.lat_offset")
            bi.lat_offset = <int64_t>fl.value
        elif fl.num == 20:
            want_varint(&fl, "PrimitiveBlock.lon_offset")
            bi.lon_offset = <int64_t>fl.value
    return 0


# --- pass 1: ways -------------------------------------------------------------------------

@cython.final
cdef class _WayScan:
    cdef list _keys, _highways          # bytes, kept alive for the pointers below
    cdef const char** key_ptr
    cdef size_t* key_len
    cdef int n_keys, hw_key
    cdef const char** hw_ptr
    cdef size_t* hw_len
    cdef int n_hw
    # string table of the current block
    cdef const uint8_t** s_ptr
    cdef uint32_t* s_len
    cdef int8_t* s_key       # -2 not looked at yet, -1 not a wanted key, else key index
    cdef int8_t* s_hw        # -1 not looked at yet, 0/1 a wanted highway class
    cdef int32_t* s_code     # -1 not looked at yet, else global value code
    cdef size_t s_n, s_cap
    cdef bint s_loaded
    cdef int64_t* tagv       # value string index of each key for the current way
    # results
    cdef Vec refs, offsets, way_ids, codes
    cdef dict value_code
    cdef list values
    cdef public int64_t n_ways_read

    def __cinit__(self):
        self.refs.item = 8
        self.offsets.item = 8
        self.way_ids.item = 8
        self.codes.item = 4

    def __init__(self, keys, highways, int highway_key):
        self._keys = [k.encode() for k in keys]
        self._highways = [h.encode() for h in highways]
        self.n_keys = len(self._keys)
        if not 0 <= highway_key < self.n_keys or self.n_keys > 127:
            raise ValueError("bad key list")
        self.hw_key = highway_key
        self.n_hw = len(self._highways)
        self.key_ptr = <const char**>realloc(NULL, (self.n_keys + 1) * sizeof(char*))
        self.key_len = <size_t*>realloc(NULL, (self.n_keys + 1) * sizeof(size_t))
        self.hw_ptr = <const char**>realloc(NULL, (self.n_hw + 1) * sizeof(char*))
        self.hw_len = <size_t*>realloc(NULL, (self.n_hw + 1) * sizeof(size_t))
        self.tagv = <int64_t*>realloc(NULL, (self.n_keys + 1) * sizeof(int64_t))
        if (self.key_ptr == NULL or self.key_len == NULL or self.hw_ptr == NULL
                or self.hw_len == NULL or self.tagv == NULL):
            raise MemoryError()
        cdef int i
        for i in range(self.n_keys):
            self.key_ptr[i] = PyBytes_AS_STRING(self._keys[i])
            self.key_len[i] = PyBytes_GET_SIZE(self._keys[i])
        for i in range(self.n_hw):
            self.hw_ptr[i] = PyBytes_AS_STRING(self._highways[i])
            self.hw_len[i] = PyBytes_GET_SIZE(self._highways[i])
        self.value_code = {}
        self.values = []
        push_i64(&self.offsets, 0)

    def __dealloc__(self):
        free(self.key_ptr)
        free(self.key_len)
        free(self.hw_ptr)
        free(self.hw_len)
        free(self.tagv)
        free(self.s_ptr)
        free(self.s_len)
        free(self.s_key)
        free(self.s_hw)
        free(self.s_code)
        free(self.refs.data)
        free(self.offsets.data)
        free(self.way_ids.data)
        free(self.codes.data)

    cdef int load_strings(self, const uint8_t* p, size_t n) except -1:
        cdef Reader r
        cdef Field fl
        cdef size_t count = 0, i = 0
        r.p = p
        r.end = p + n
        while next_field(&r, &fl):
            if fl.num == 1:
                want_bytes(&fl, "StringTable.s")
                count += 1
        if count > self.s_cap:
            self.s_ptr = <const uint8_t**>realloc(self.s_ptr, count * sizeof(uint8_t*))
            self.s_len = <uint32_t*>realloc(self.s_len, count * sizeof(uint32_t))
            self.s_key = <int8_t*>realloc(self.s_key, count)
            self.s_hw = <int8_t*>realloc(self.s_hw, count)
            self.s_code = <int32_t*>realloc(self.s_code, count * sizeof(int32_t))
            if (self.s_ptr == NULL or self.s_len == NULL or self.s_key == NULL
                    or self.s_hw == NULL or self.s_code == NULL):
                self.s_cap = 0
                raise MemoryError()
            self.s_cap = count
        r.p = p
        while next_field(&r, &fl):
            if fl.num == 1:
                self.s_ptr[i] = fl.data
                self.s_len[i] = <uint32_t>fl.size
                i += 1
        self.s_n = count
        if count:
            memset(self.s_key, -2, count)
            memset(self.s_hw, -1, count)
            memset(self.s_code, -1, count * sizeof(int32_t))
        return 0

    cdef inline int key_index(self, uint64_t sid) noexcept:
        cdef int8_t k = self.s_key[sid]
        cdef int i
        if k == -2:
            k = -1
            for i in range(self.n_keys):
                if (self.s_len[sid] == self.key_len[i]
                        and memcmp(self.s_ptr[sid], self.key_ptr[i], self.key_len[i]) == 0):
                    k = <int8_t>i
                    break
            self.s_key[sid] = k
        return k

    cdef inline bint wanted_highway(self, int64_t sid) noexcept:
        cdef int8_t h = self.s_hw[sid]
        cdef int i
        if h == -1:
            h = 0
            for i in range(self.n_hw):
                if (self.s_len[sid] == self.hw_len[i]
                        and memcmp(self.s_ptr[sid], self.hw_ptr[i], self.hw_len[i]) == 0):
                    h = 1
                    break
            self.s_hw[sid] = h
        return h == 1

    cdef int32_t value_index(self, int64_t sid) except -1:
        cdef int32_t c = self.s_code[sid]
        if c < 0:
            b = PyBytes_FromStringAndSize(<const char*>self.s_ptr[sid], self.s_len[sid])
            c = self.value_code.get(b, -1)
            if c < 0:
                c = len(self.values)
                self.value_code[b] = c
                self.values.append(PyUnicode_DecodeUTF8(<const char*>self.s_ptr[sid],
                                                        self.s_len[sid], "replace"))
            self.s_code[sid] = c
        return c

    cdef int way(self, const uint8_t* p, size_t n) except -1:
        cdef Reader r, kr, vr, rr
        cdef Field fl
        cdef int64_t wid = 0
        cdef uint64_t k, v, d, ref
        cdef int i, ki
        cdef int64_t hv
        cdef int32_t* cp
        kr.p = kr.end = vr.p = vr.end = rr.p = rr.end = NULL
        r.p = p
        r.end = p + n
        while next_field(&r, &fl):
            if fl.num == 1:
                want_varint(&fl, "Way.id")
                wid = <int64_t>fl.value
            elif fl.num == 2:
                want_bytes(&fl, "packed Way.keys")
                kr = sub_reader(&fl)
            elif fl.num == 3:
                want_bytes(&fl, "packed Way.vals")
                vr = sub_reader(&fl)
            elif fl.num == 8:
                want_bytes(&fl, "packed Way.refs")
                rr = sub_reader(&fl)
        for i in range(self.n_keys):
            self.tagv[i] = -1
        while kr.p < kr.end:
            if not rd_varint(&kr, &k):
                raise PBFFormatError("corrupt way keys")
            if vr.p >= vr.end:
                raise PBFFormatError("a way has more tag keys than values")
            if not rd_varint(&vr, &v):
                raise PBFFormatError("corrupt way values")
            if k >= self.s_n or v >= self.s_n:
                raise PBFFormatError("string index out of range")
            ki = self.key_index(k)
            if ki >= 0 and self.tagv[ki] < 0:   # the first value of a key, as osmium's get()
                self.tagv[ki] = <int64_t>v
        hv = self.tagv[self.hw_key]
        if hv < 0 or not self.wanted_highway(hv):
            return 0
        self.n_ways_read += 1
        ref = 0
        while rr.p < rr.end:
            if not rd_varint(&rr, &d):
                raise PBFFormatError("corrupt way node refs")
            ref += <uint64_t>unzigzag(d)
            if self.refs.n == self.refs.cap:
                vec_grow(&self.refs, 1)
            (<int64_t*>self.refs.data)[self.refs.n] = <int64_t>ref
            self.refs.n += 1
        push_i64(&self.offsets, <int64_t>self.refs.n)
        push_i64(&self.way_ids, wid)
        vec_grow(&self.codes, self.n_keys)
        cp = (<int32_t*>self.codes.data) + self.codes.n
        for i in range(self.n_keys):
            cp[i] = self.value_index(self.tagv[i]) if self.tagv[i] >= 0 else -1
        self.codes.n += self.n_keys
        return 0

    cdef bint block(self, bytes data) except -1:
        """Read the ways of a block; whether it holds nodes."""
        cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(data)
        cdef size_t n = PyBytes_GET_SIZE(data)
        cdef BlockInfo bi
        cdef GroupFields it
        cdef Field gf
        cdef bint has_nodes = False, loaded = False
        block_info(p, n, &bi)
        group_fields(&it, p, n)
        while next_group_field(&it, &gf):
            if gf.num == 3:
                want_bytes(&gf, "PrimitiveGroup.ways")
                if not loaded:
                    self.load_strings(bi.st, bi.st_size)
                    loaded = True
                self.way(gf.data, gf.size)
            elif gf.num == 1 or gf.num == 2:
                has_nodes = True
        return has_nodes

    def result(self):
        cdef size_t nw = self.way_ids.n, i
        cdef int k, c, r
        cdef int32_t* codes = <int32_t*>self.codes.data
        cdef int32_t[::1] out
        cdef int32_t[::1] remap
        columns = []
        remap_arr = np.empty(max(len(self.values), 1), dtype=np.int32)
        remap = remap_arr
        for k in range(self.n_keys):
            remap_arr.fill(-1)
            cats = []
            col = np.empty(nw, dtype=np.int32)
            out = col
            for i in range(nw):
                c = codes[i * self.n_keys + k]
                if c >= 0:
                    r = remap[c]
                    if r < 0:
                        r = len(cats)
                        remap[c] = r
                        cats.append(self.values[c])
                    c = r
                out[i] = c
            columns.append((col, cats))
        return {
            "way_id": vec_to_numpy(&self.way_ids, np.int64),
            "offsets": vec_to_numpy(&self.offsets, np.int64),
            "refs": vec_to_numpy(&self.refs, np.int64),
            "tags": columns,
            "n_ways_read": self.n_ways_read,
        }


class MixedBlocksError(Exception):
    """A block read as holding only nodes also holds ways: read again with skip_nodes=False."""


def scan_ways(path, highways, keys, int highway_key=0, bint skip_nodes=True):
    """Pass 1: the ways whose first ``keys[highway_key]`` value is in ``highways``.

    Returns ``(ways, node_blobs)``: ``ways`` a dict with ``way_id`` (int64), ``offsets``
    (int64, n + 1), ``refs`` (int64, concatenated node refs), ``tags`` (for each key a pair
    ``(codes int32, values list[str])``, code -1 = no such tag) and ``n_ways_read``;
    ``node_blobs`` where the blobs holding nodes are, for :func:`locate_nodes`.

    With ``skip_nodes`` a block whose first group holds nodes is inflated only up to that
    group (writers put one kind of object in a block); should such a block hold ways too,
    :func:`locate_nodes` raises :class:`MixedBlocksError`.
    """
    scan = _WayScan(keys, highways, highway_key)
    offsets = []
    skipped = []
    with open(path, "rb") as f:
        for offset, data in _data_blobs(f, skip_nodes):
            if data is None:
                offsets.append(offset)
                skipped.append(True)
                continue
            try:
                if scan.block(data):
                    offsets.append(offset)
                    skipped.append(False)
            except PBFFormatError as exc:
                raise PBFFormatError(f"{exc} in the blob at byte {offset}") from None
    return scan.result(), (np.asarray(offsets, dtype=np.int64), np.asarray(skipped, dtype=bool))


# --- pass 2: node locations ---------------------------------------------------------------

cdef struct Lookup:
    const int64_t* ids
    Py_ssize_t n
    Py_ssize_t j            # lower bound of the last id looked up
    int64_t last
    bint started
    int32_t* lon
    int32_t* lat
    uint8_t* found
    int64_t granularity
    int64_t lat_offset
    int64_t lon_offset
    int64_t key_sid         # string index of the wanted node tag key in this block, -1: none


cdef inline Py_ssize_t find(Lookup* L, int64_t x) noexcept nogil:
    """Index of ``x`` in the sorted ids, or -1: galloping from the last position when ids come
    ascending (as in sorted files), a binary search otherwise."""
    cdef Py_ssize_t lo, hi, mid, step, n = L.n
    if L.started and x >= L.last:
        lo = L.j                     # ids[< lo] < last <= x
        if lo < n and L.ids[lo] < x:
            step = 1
            hi = lo + 1
            while hi < n and L.ids[hi] < x:
                lo = hi + 1
                step *= 2
                hi = lo + step
            if hi > n:
                hi = n
        else:
            hi = lo
    else:
        lo = 0
        hi = n
    while lo < hi:                   # first index with ids[i] >= x in [lo, hi]
        mid = (lo + hi) >> 1
        if L.ids[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    L.j = lo
    L.last = x
    L.started = True
    if lo < n and L.ids[lo] == x:
        return lo
    return -1


cdef inline int32_t fixed(int64_t raw, int64_t granularity, int64_t offset) noexcept nogil:
    # wrap-around arithmetic as libosmium's on corrupt values, without C's signed overflow
    cdef int64_t v = <int64_t>(<uint64_t>raw * <uint64_t>granularity + <uint64_t>offset)
    return <int32_t>(v / 100)


cdef inline void store(Lookup* L, Py_ssize_t j, int64_t lat, int64_t lon, bint visible) noexcept nogil:
    cdef int32_t x, y
    if visible:
        x = fixed(lon, L.granularity, L.lon_offset)
        y = fixed(lat, L.granularity, L.lat_offset)
        if -MAX_FIX_LON <= x <= MAX_FIX_LON and -MAX_FIX_LAT <= y <= MAX_FIX_LAT:
            L.lon[j] = x
            L.lat[j] = y
            L.found[j] = 1
            return
    L.found[j] = 0


cdef int64_t dense_tag(Reader* kv, int64_t key_sid) except -2:
    """Read one dense node's tags from ``keys_vals`` (key, value string index pairs ended by 0):
    the value string index of ``key_sid`` (its first value), or -1."""
    cdef uint64_t k, v
    cdef int64_t out = -1
    while True:
        if not rd_varint(kv, &k):
            raise PBFFormatError("dense nodes with fewer tag lists than ids")
        if k == 0:
            return out
        if not rd_varint(kv, &v):
            raise PBFFormatError("corrupt dense node tags")
        if out < 0 and <int64_t>k == key_sid:
            out = <int64_t>v


cdef int dense_nodes(Lookup* L, const uint8_t* p, size_t n, list hits) except -1:
    cdef Reader r, ir, latr, lonr, visr, infr, kvr
    cdef Field fl, inf
    cdef uint64_t d, dlat, dlon, vis
    cdef uint64_t nid = 0, lat = 0, lon = 0
    cdef bint has_vis = False
    cdef bint tags = False
    cdef int64_t tag_v
    cdef Py_ssize_t j
    ir.p = ir.end = latr.p = latr.end = lonr.p = lonr.end = visr.p = visr.end = kvr.p = kvr.end = NULL
    r.p = p
    r.end = p + n
    while next_field(&r, &fl):
        if fl.num == 1:
            want_bytes(&fl, "packed DenseNodes.id")
            ir = sub_reader(&fl)
        elif fl.num == 8:
            want_bytes(&fl, "packed DenseNodes.lat")
            latr = sub_reader(&fl)
        elif fl.num == 9:
            want_bytes(&fl, "packed DenseNodes.lon")
            lonr = sub_reader(&fl)
        elif fl.num == 10:
            want_bytes(&fl, "packed DenseNodes.keys_vals")
            kvr = sub_reader(&fl)
        elif fl.num == 5:
            want_bytes(&fl, "DenseNodes.denseinfo")
            infr = sub_reader(&fl)
            while next_field(&infr, &inf):
                if inf.num == 6:
                    want_bytes(&inf, "packed DenseInfo.visible")
                    visr = sub_reader(&inf)
                    has_vis = True
    # tags are read only when the wanted key is in the block's strings and some node has tags
    tags = L.key_sid >= 0 and kvr.p < kvr.end
    while ir.p < ir.end:
        if not rd_varint(&ir, &d):
            raise PBFFormatError("corrupt dense node ids")
        if not rd_varint(&latr, &dlat) or not rd_varint(&lonr, &dlon):
            raise PBFFormatError("dense nodes with fewer coordinates than ids")
        nid += <uint64_t>unzigzag(d)
        lat += <uint64_t>unzigzag(dlat)
        lon += <uint64_t>unzigzag(dlon)
        vis = 1
        if has_vis and not rd_varint(&visr, &vis):
            raise PBFFormatError("dense nodes with fewer visible flags than ids")
        tag_v = dense_tag(&kvr, L.key_sid) if tags else -1
        j = find(L, <int64_t>nid)
        if j >= 0:
            store(L, j, <int64_t>lat, <int64_t>lon, vis != 0)
            if tag_v >= 0 and vis != 0:
                hits.append((j, tag_v))
    return 0


cdef int plain_node(Lookup* L, const uint8_t* p, size_t n, list hits) except -1:
    cdef Reader r, infr, kr, vr
    cdef Field fl, inf
    cdef int64_t nid = 0, lat = 0, lon = 0, tag_v = -1
    cdef uint64_t k, v
    cdef bint has_lat = False, has_lon = False, visible = True
    cdef Py_ssize_t j
    kr.p = kr.end = vr.p = vr.end = NULL
    r.p = p
    r.end = p + n
    while next_field(&r, &fl):
        if fl.num == 1:
            want_varint(&fl, "Node.id")
            nid = unzigzag(fl.value)
        elif fl.num == 2:
            want_bytes(&fl, "packed Node.keys")
            kr = sub_reader(&fl)
        elif fl.num == 3:
            want_bytes(&fl, "packed Node.vals")
            vr = sub_reader(&fl)
        elif fl.num == 8:
            want_varint(&fl, "Node.lat")
            lat = unzigzag(fl.value)
            has_lat = True
        elif fl.num == 9:
            want_varint(&fl, "Node.lon")
            lon = unzigzag(fl.value)
            has_lon = True
        elif fl.num == 4:
            want_bytes(&fl, "Node.info")
            infr = sub_reader(&fl)
            while next_field(&infr, &inf):
                if inf.num == 6:
                    want_varint(&inf, "Info.visible")
                    visible = inf.value != 0
    if visible and not (has_lat and has_lon):
        raise PBFFormatError("node without coordinates")
    if L.key_sid >= 0:
        while kr.p < kr.end:
            if not rd_varint(&kr, &k) or not rd_varint(&vr, &v):
                raise PBFFormatError("corrupt node tags")
            if <int64_t>k == L.key_sid:
                tag_v = <int64_t>v
                break
    j = find(L, nid)
    if j >= 0:
        store(L, j, lat, lon, visible)
        if tag_v >= 0 and visible:
            hits.append((j, tag_v))
    return 0


cdef int64_t string_index(const uint8_t* st, size_t n, bytes key) except -2:
    """Index of ``key`` in a block's string table, or -1."""
    cdef Reader r
    cdef Field fl
    cdef int64_t i = 0
    cdef const char* kp = PyBytes_AS_STRING(key)
    cdef size_t kn = PyBytes_GET_SIZE(key)
    r.p = st
    r.end = st + n
    while next_field(&r, &fl):
        if fl.num == 1:
            want_bytes(&fl, "StringTable.s")
            if fl.size == kn and memcmp(fl.data, kp, kn) == 0:
                return i
            i += 1
    return -1


cdef dict strings_at(const uint8_t* st, size_t n, set wanted):
    """The strings of a block's string table at the indices ``wanted``: {index: str}."""
    cdef Reader r
    cdef Field fl
    cdef int64_t i = 0
    cdef dict out = {}
    r.p = st
    r.end = st + n
    while next_field(&r, &fl):
        if fl.num == 1:
            if i in wanted:
                out[i] = PyUnicode_DecodeUTF8(<const char*>fl.data, fl.size, "replace")
            i += 1
    return out


def locate_nodes(path, node_blobs, ids, tag_key=None):
    """Pass 2: locations of the nodes ``ids`` (int64, sorted, unique) in the blobs
    ``node_blobs`` (from :func:`scan_ways`), and the value of their tag ``tag_key``.

    Returns ``(lon, lat, found, (codes, values))``: int32 fixed-point coordinates (1e-7 degrees),
    a uint8 flag per id (0: not in the file, deleted or out of range; then lon/lat are 0), and
    for ``tag_key`` an int32 code per id into the list of distinct ``values`` (-1: no such tag,
    or no ``tag_key`` asked). A node given more than once in the file keeps its last location
    and the value of its last version that has the tag. Node tags are decoded only in blocks
    whose string table holds ``tag_key``.
    """
    cdef const int64_t[::1] idv = np.ascontiguousarray(ids, dtype=np.int64)
    cdef Py_ssize_t n = idv.shape[0], i
    lon_arr = np.zeros(n, dtype=np.int32)
    lat_arr = np.zeros(n, dtype=np.int32)
    found_arr = np.zeros(n, dtype=np.uint8)
    codes_arr = np.full(n, -1, dtype=np.int32)
    cdef int32_t[::1] lonv = lon_arr
    cdef int32_t[::1] latv = lat_arr
    cdef uint8_t[::1] foundv = found_arr
    cdef Lookup L
    cdef BlockInfo bi
    cdef GroupFields it
    cdef Field gf
    cdef const uint8_t* p
    cdef size_t size
    cdef int64_t offset
    cdef bint skipped
    cdef bytes key = tag_key.encode() if tag_key is not None else None
    cdef dict value_code = {}
    values = []
    blob_offsets, blob_skipped = node_blobs
    for i in range(1, n):
        if idv[i] <= idv[i - 1]:
            raise ValueError("ids must be sorted and unique")
    if n == 0 and not blob_skipped.any():
        return lon_arr, lat_arr, found_arr, (codes_arr, values)   # (else the skipped blocks are checked for ways)
    L.ids = &idv[0] if n else NULL
    L.n = n
    L.j = 0
    L.last = 0
    L.lon = &lonv[0] if n else NULL
    L.lat = &latv[0] if n else NULL
    L.found = &foundv[0] if n else NULL
    with open(path, "rb") as f:
        for offset, skipped in zip(blob_offsets.tolist(), blob_skipped.tolist()):
            f.seek(offset)
            item = read_blob(f, offset)
            if item is None:
                raise PBFFormatError(f"no blob at byte {offset}")
            try:
                data = blob_data(item[1])
                p = <const uint8_t*>PyBytes_AS_STRING(data)
                size = PyBytes_GET_SIZE(data)
                block_info(p, size, &bi)
                L.granularity = bi.granularity
                L.lat_offset = bi.lat_offset
                L.lon_offset = bi.lon_offset
                L.started = False
                L.key_sid = string_index(bi.st, bi.st_size, key) if key is not None and bi.st != NULL else -1
                hits = []
                group_fields(&it, p, size)
                while next_group_field(&it, &gf):
                    if gf.num == 2:
                        want_bytes(&gf, "PrimitiveGroup.dense")
                        dense_nodes(&L, gf.data, gf.size, hits)
                    elif gf.num == 1:
                        want_bytes(&gf, "PrimitiveGroup.nodes")
                        plain_node(&L, gf.data, gf.size, hits)
                    elif gf.num == 3 and skipped:
                        raise MixedBlocksError(f"the block at byte {offset} holds nodes and ways")
                if hits:
                    text = strings_at(bi.st, bi.st_size, {v for _j, v in hits})
                    for j, v in hits:
                        if v not in text:
                            raise PBFFormatError("string index out of range")
                        codes_arr[j] = value_code.setdefault(text[v], len(value_code))
            except PBFFormatError as exc:
                raise PBFFormatError(f"{exc} in the blob at byte {offset}") from None
    values = list(value_code)
    return lon_arr, lat_arr, found_arr, (codes_arr, values)
