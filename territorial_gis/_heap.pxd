"""A binary min-heap of (key, value) pairs in caller-owned arrays, shared by the compiled
search kernels (``_shortest``, ``_dynsp``). Inline: cimported, compiled into each kernel."""

from libc.stdint cimport int64_t


cdef inline void _push(double* hk, int64_t* hv, int64_t* size, double key, int64_t val) noexcept nogil:
    cdef int64_t i = size[0]
    cdef int64_t parent
    size[0] += 1
    while i > 0:
        parent = (i - 1) >> 1
        if hk[parent] <= key:
            break
        hk[i] = hk[parent]
        hv[i] = hv[parent]
        i = parent
    hk[i] = key
    hv[i] = val


cdef inline void _pop(double* hk, int64_t* hv, int64_t* size) noexcept nogil:
    """Remove the root of the binary heap (the caller read it first)."""
    cdef int64_t n = size[0] - 1
    cdef double key = hk[n]
    cdef int64_t val = hv[n]
    cdef int64_t i = 0
    cdef int64_t child
    size[0] = n
    if n == 0:
        return
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and hk[child + 1] < hk[child]:
            child += 1
        if hk[child] >= key:
            break
        hk[i] = hk[child]
        hv[i] = hv[child]
        i = child
    hk[i] = key
    hv[i] = val
