# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The heartbeat fast path: a native scan, duplicate check and per-minute sums for vc.heartbeat.

Heartbeats are 99 % of the events (every endpoint, every 10 s), and in Python each one costs
about 7 µs of the worker's CPU from bytes to sums (bench/FINDINGS.md). This module takes the
common case, a canonical heartbeat that is new and on time, from bytes to sums in C. It
never rejects a record, and it never decides anything the Python path would decide
differently:

- `Scan` recognises only a strict subset of the contract: a value of at most 64 KiB that is a
  JSON object of exactly the heartbeat's fields, each once, plain ASCII strings without
  escapes, numbers of at most 40 characters, timestamps `YYYY-MM-DDTHH:MM:SS[.ffffff]` with `Z`
  or `±HH:MM` in the years 1000-8999, and a key equal to `endpoint_id`. Anything else (other
  types, unknown fields, escapes, bad input of every kind) is left to `schemas.decode`, the
  contract's judge.
  tests/unit/test_fastpath.py holds the two to the same values over generated and mutated
  records.
- `judge_run` accepts or counts as duplicate a run of scanned heartbeats, and stops at the
  first record it cannot settle by itself: one the scan refused, or one near or past the time
  limits (future, late), which `streams.admit.admit` then judges exactly.
- `HeartbeatSums` holds a batch's heartbeats summed per minute and dimensions, presence bits
  and each endpoint's latest state, read by sources/vc/arithmetic.py to build the batch's rows.

Fingerprints are BLAKE2b with an 8-byte digest (RFC 7693), computed here for ids of at most
64 bytes (one block), the same value as `streams.dedupe.fingerprint`.
"""

from libc.stdint cimport int64_t, uint64_t, uint8_t
from libc.string cimport memcmp, memcpy
from cpython.exc cimport PyErr_Clear, PyErr_Occurred
from libc.math cimport log, ceil, isfinite
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeASCII
from cpython.mem cimport PyMem_Malloc, PyMem_Free


cdef extern from "Python.h":
    double PyOS_string_to_double(const char* s, char** endptr, void* overflow_exception)

import numpy as np

from ioc.kpi import sketch as _sketch
from schemas.topics import MAX_VALUE_BYTES

cdef Py_ssize_t _MAX_VALUE_BYTES = MAX_VALUE_BYTES

cdef double _LOG_GAMMA = _sketch._LOG_GAMMA
cdef double _MIN_POSITIVE = _sketch._MIN_POSITIVE
cdef long _ZERO_BIN = _sketch.ZERO_BIN

# --- BLAKE2b, 8-byte digest, one block ------------------------------------------------------

cdef uint64_t[8] _IV = [
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
]

cdef uint8_t[12][16] _SIGMA = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
]


cdef inline uint64_t _rotr(uint64_t x, int n) noexcept nogil:
    return (x >> n) | (x << (64 - n))


cdef inline void _g(uint64_t* v, int a, int b, int c, int d, uint64_t x, uint64_t y) noexcept nogil:
    v[a] = v[a] + v[b] + x
    v[d] = _rotr(v[d] ^ v[a], 32)
    v[c] = v[c] + v[d]
    v[b] = _rotr(v[b] ^ v[c], 24)
    v[a] = v[a] + v[b] + y
    v[d] = _rotr(v[d] ^ v[a], 16)
    v[c] = v[c] + v[d]
    v[b] = _rotr(v[b] ^ v[c], 63)


cdef int64_t _fingerprint(const unsigned char* data, Py_ssize_t n) noexcept nogil:
    """BLAKE2b-64 of at most 128 bytes, read as a big-endian signed integer (dedupe.fingerprint)."""
    cdef uint8_t[128] block
    cdef uint64_t[16] m
    cdef uint64_t[16] v
    cdef uint64_t h0
    cdef int i, j, r
    cdef const uint8_t* s
    for i in range(128):
        block[i] = data[i] if i < n else 0
    for i in range(16):
        m[i] = 0
        for j in range(8):
            m[i] |= (<uint64_t>block[i * 8 + j]) << (8 * j)
    for i in range(8):
        v[i] = _IV[i]
        v[i + 8] = _IV[i]
    v[0] ^= 0x01010000ULL ^ 8  # parameter block: digest length 8, no key, fanout and depth 1
    h0 = v[0]
    v[12] ^= <uint64_t>n  # bytes compressed so far
    v[14] = ~v[14]  # the last block
    for r in range(12):
        s = _SIGMA[r]
        _g(v, 0, 4, 8, 12, m[s[0]], m[s[1]])
        _g(v, 1, 5, 9, 13, m[s[2]], m[s[3]])
        _g(v, 2, 6, 10, 14, m[s[4]], m[s[5]])
        _g(v, 3, 7, 11, 15, m[s[6]], m[s[7]])
        _g(v, 0, 5, 10, 15, m[s[8]], m[s[9]])
        _g(v, 1, 6, 11, 12, m[s[10]], m[s[11]])
        _g(v, 2, 7, 8, 13, m[s[12]], m[s[13]])
        _g(v, 3, 4, 9, 14, m[s[14]], m[s[15]])
    h0 ^= v[0] ^ v[8]
    # The digest is h0's bytes little-endian; the fingerprint reads them big-endian.
    cdef uint64_t swapped = 0
    for i in range(8):
        swapped = (swapped << 8) | ((h0 >> (8 * i)) & 0xFF)
    return <int64_t>swapped


def fingerprint(bytes data):
    """BLAKE2b-64 fingerprint of `data` (at most 128 bytes); for tests against hashlib."""
    if PyBytes_GET_SIZE(data) > 128:
        raise ValueError("at most 128 bytes")
    return _fingerprint(<const unsigned char*>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))


# --- the strict heartbeat scanner -----------------------------------------------------------

cdef enum:
    F_EVENT_ID = 0
    F_TYPE
    F_OCCURRED_AT
    F_SOURCE
    F_SCHEMA_VERSION
    F_ENDPOINT_ID
    F_SITE_LEVEL
    F_DISTRICT
    F_IN_MEETING
    F_RTT
    F_JITTER
    F_LOSS
    F_BITRATE
    N_FIELDS

cdef int ALL_FIELDS = (1 << N_FIELDS) - 1

cdef struct Parsed:
    int64_t at_us
    double rtt
    double jitter
    double loss
    int level
    Py_ssize_t id_at, id_len, ep_at, ep_len, district_at, district_len

LEVELS = ("province", "department", "district", "commune")
cdef tuple _LEVELS = LEVELS


cdef inline Py_ssize_t _ws(const unsigned char* s, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    while i < n and (s[i] == 32 or s[i] == 9 or s[i] == 10 or s[i] == 13):
        i += 1
    return i


cdef inline Py_ssize_t _string_end(const unsigned char* s, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """Index of the closing quote of a string whose content starts at i; -1 for anything but
    plain printable ASCII (escapes, control characters and non-ASCII go to the Python path)."""
    cdef unsigned char c
    while i < n:
        c = s[i]
        if c == 34:
            return i
        if c == 92 or c < 32 or c >= 128:
            return -1
        i += 1
    return -1


cdef int _field(const unsigned char* k, Py_ssize_t n) noexcept nogil:
    if n == 4 and memcmp(k, b"type", 4) == 0:
        return F_TYPE
    if n == 6 and memcmp(k, b"rtt_ms", 6) == 0:
        return F_RTT
    if n == 6 and memcmp(k, b"source", 6) == 0:
        return F_SOURCE
    if n == 8 and memcmp(k, b"event_id", 8) == 0:
        return F_EVENT_ID
    if n == 8 and memcmp(k, b"district", 8) == 0:
        return F_DISTRICT
    if n == 9 and memcmp(k, b"jitter_ms", 9) == 0:
        return F_JITTER
    if n == 10 and memcmp(k, b"site_level", 10) == 0:
        return F_SITE_LEVEL
    if n == 10 and memcmp(k, b"in_meeting", 10) == 0:
        return F_IN_MEETING
    if n == 11 and memcmp(k, b"occurred_at", 11) == 0:
        return F_OCCURRED_AT
    if n == 11 and memcmp(k, b"endpoint_id", 11) == 0:
        return F_ENDPOINT_ID
    if n == 12 and memcmp(k, b"bitrate_kbps", 12) == 0:
        return F_BITRATE
    if n == 14 and memcmp(k, b"schema_version", 14) == 0:
        return F_SCHEMA_VERSION
    if n == 15 and memcmp(k, b"packet_loss_pct", 15) == 0:
        return F_LOSS
    return -1


cdef inline bint _digit(unsigned char c) noexcept nogil:
    return 48 <= c <= 57


cdef Py_ssize_t _number_end(const unsigned char* s, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """End of a JSON number token starting at i (RFC 8259's grammar), or -1."""
    if i < n and s[i] == 45:
        i += 1
    if i >= n or not _digit(s[i]):
        return -1
    if s[i] == 48:
        i += 1
    else:
        while i < n and _digit(s[i]):
            i += 1
    if i < n and s[i] == 46:
        i += 1
        if i >= n or not _digit(s[i]):
            return -1
        while i < n and _digit(s[i]):
            i += 1
    if i < n and (s[i] == 101 or s[i] == 69):
        i += 1
        if i < n and (s[i] == 43 or s[i] == 45):
            i += 1
        if i >= n or not _digit(s[i]):
            return -1
        while i < n and _digit(s[i]):
            i += 1
    return i


cdef double[23] _POW10 = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]


cdef inline bint _short_decimal(const unsigned char* s, Py_ssize_t at, Py_ssize_t end, double* out) noexcept nogil:
    """A validated number token of at most 15 digits and no exponent, the shape of nearly every
    value on the wire (`130.6`), as digits / 10^k: both exact doubles, so the one division is
    correctly rounded (Clinger's fast path), the same double Python's parser gives, at a tenth
    of its cost. False for any other token, which `_number` hands to Python's parser."""
    cdef uint64_t digits = 0
    cdef int count = 0, fraction = -1
    cdef bint negative = s[at] == 45
    cdef Py_ssize_t i = at + 1 if negative else at
    cdef unsigned char c
    while i < end:
        c = s[i]
        if c == 46:
            fraction = 0
        elif _digit(c):
            count += 1
            if count > 15:
                return False
            digits = digits * 10 + (c - 48)
            if fraction >= 0:
                fraction += 1
        else:
            return False  # an exponent
        i += 1
    out[0] = <double>digits / _POW10[fraction if fraction > 0 else 0]
    if negative:
        out[0] = -out[0]
    return True


cdef bint _number(const unsigned char* s, Py_ssize_t at, Py_ssize_t end, double* out) noexcept:
    """A validated JSON number token as a double: a short decimal directly, any other through
    Python's own correctly rounded parser, which unlike C's strtod ignores the process's locale
    (a decimal comma would read 42.5 as 42)."""
    cdef char[48] buf
    cdef Py_ssize_t length = end - at
    if _short_decimal(s, at, end, out):
        return True
    if length > 40:
        return False
    memcpy(buf, s + at, length)
    buf[length] = 0
    out[0] = PyOS_string_to_double(buf, NULL, NULL)  # overflow gives ±inf, refused below
    if out[0] == -1.0 and PyErr_Occurred():
        PyErr_Clear()
        return False
    return isfinite(out[0])


cdef inline int _two(const unsigned char* s) noexcept nogil:
    if not (_digit(s[0]) and _digit(s[1])):
        return -1
    return (s[0] - 48) * 10 + (s[1] - 48)


cdef inline int64_t _floordiv(int64_t a, int64_t b) noexcept nogil:
    cdef int64_t q = a // b
    if (a % b != 0) and ((a < 0) != (b < 0)):
        q -= 1
    return q


cdef int64_t _days_from_civil(int64_t y, int64_t m, int64_t d) noexcept nogil:
    y -= m <= 2
    cdef int64_t era = _floordiv(y, 400)
    cdef int64_t yoe = y - era * 400
    cdef int64_t doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    cdef int64_t doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


cdef bint _timestamp(const unsigned char* s, Py_ssize_t n, int64_t* out) noexcept nogil:
    """`YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|±HH:MM)` in the years 1000-8999, as unix microseconds."""
    cdef int year, month, day, hour, minute, second, oh, om, k, days_in
    cdef int64_t micros = 0, scale = 100000, offset = 0
    cdef Py_ssize_t i
    if n < 20 or s[4] != 45 or s[7] != 45 or s[10] != 84 or s[13] != 58 or s[16] != 58:
        return False
    k = _two(s)
    if k < 10 or k > 89 or _two(s + 2) < 0:
        return False
    year = k * 100 + _two(s + 2)
    month = _two(s + 5)
    day = _two(s + 8)
    hour = _two(s + 11)
    minute = _two(s + 14)
    second = _two(s + 17)
    if month < 1 or month > 12 or day < 1 or hour < 0 or hour > 23 or minute < 0 or minute > 59:
        return False
    if second < 0 or second > 59:
        return False
    if month == 2:
        days_in = 29 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 28
    elif month == 4 or month == 6 or month == 9 or month == 11:
        days_in = 30
    else:
        days_in = 31
    if day > days_in:
        return False
    i = 19
    if s[i] == 46:
        i += 1
        if i >= n or not _digit(s[i]):
            return False
        while i < n and _digit(s[i]):
            if scale == 0:
                return False  # a seventh digit
            micros += (s[i] - 48) * scale
            scale //= 10
            i += 1
    if i == n - 1 and s[i] == 90:
        offset = 0
    elif i == n - 6 and (s[i] == 43 or s[i] == 45) and s[i + 3] == 58:
        oh = _two(s + i + 1)
        om = _two(s + i + 4)
        if oh < 0 or oh > 23 or om < 0 or om > 59:
            return False
        offset = (oh * 3600 + om * 60) * (1 if s[i] == 43 else -1)
    else:
        return False
    out[0] = (
        (_days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset)
        * 1000000
        + micros
    )
    return True


cdef bint _parse(const unsigned char* s, Py_ssize_t n, Parsed* p) noexcept:
    """Whether `s` is a canonical heartbeat (see the module docstring); its fields into `p`."""
    cdef Py_ssize_t i, end, at
    cdef int seen = 0, f, bit
    cdef double x
    i = _ws(s, 0, n)
    if i >= n or s[i] != 123:
        return False
    i = _ws(s, i + 1, n)
    while True:
        if i >= n or s[i] != 34:
            return False
        end = _string_end(s, i + 1, n)
        if end < 0:
            return False
        f = _field(s + i + 1, end - i - 1)
        if f < 0:
            return False  # an unknown field: the Python path checks and skips it
        bit = 1 << f
        if seen & bit:
            return False
        seen |= bit
        i = _ws(s, end + 1, n)
        if i >= n or s[i] != 58:
            return False
        i = _ws(s, i + 1, n)
        if i >= n:
            return False
        if f == F_IN_MEETING:
            if n - i >= 4 and memcmp(s + i, b"true", 4) == 0:
                i += 4
            elif n - i >= 5 and memcmp(s + i, b"false", 5) == 0:
                i += 5
            else:
                return False
        elif f == F_RTT or f == F_JITTER or f == F_LOSS or f == F_BITRATE or f == F_SCHEMA_VERSION:
            end = _number_end(s, i, n)
            if end < 0:
                return False
            if f == F_SCHEMA_VERSION:
                if end - i != 1 or s[i] != 49:
                    return False
            else:
                if not _number(s, i, end, &x) or not (x >= 0):
                    return False
                if f == F_RTT:
                    p.rtt = x
                elif f == F_JITTER:
                    p.jitter = x
                elif f == F_LOSS:
                    if x > 100:
                        return False
                    p.loss = x
            i = end
        else:
            if s[i] != 34:
                return False
            at = i + 1
            end = _string_end(s, at, n)
            if end < 0:
                return False
            if f == F_EVENT_ID:
                if end == at or end - at > 64:
                    return False
                p.id_at = at
                p.id_len = end - at
            elif f == F_TYPE:
                if end - at != 12 or memcmp(s + at, b"vc.heartbeat", 12) != 0:
                    return False
            elif f == F_OCCURRED_AT:
                if not _timestamp(s + at, end - at, &p.at_us):
                    return False
            elif f == F_ENDPOINT_ID:
                p.ep_at = at
                p.ep_len = end - at
            elif f == F_DISTRICT:
                p.district_at = at
                p.district_len = end - at
            elif f == F_SITE_LEVEL:
                p.level = _level(s + at, end - at)
                if p.level < 0:
                    return False
            i = end + 1
        i = _ws(s, i, n)
        if i >= n:
            return False
        if s[i] == 44:
            i = _ws(s, i + 1, n)
            continue
        if s[i] != 125:
            return False
        i = _ws(s, i + 1, n)
        return i == n and seen == ALL_FIELDS


cdef int _level(const unsigned char* s, Py_ssize_t n) noexcept nogil:
    if n == 8 and memcmp(s, b"province", 8) == 0:
        return 0
    if n == 10 and memcmp(s, b"department", 10) == 0:
        return 1
    if n == 8 and memcmp(s, b"district", 8) == 0:
        return 2
    if n == 7 and memcmp(s, b"commune", 7) == 0:
        return 3
    return -1


cdef bint _heartbeat(object key, object value, Parsed* p):
    """Whether a record's key and value are a canonical heartbeat the fast path takes; its
    fields into `p`. A value over the contract's limit is left to the Python path (oversized)."""
    if type(value) is not bytes or type(key) is not bytes or PyBytes_GET_SIZE(value) > _MAX_VALUE_BYTES:
        return False
    cdef const unsigned char* s = <const unsigned char*>PyBytes_AS_STRING(value)
    return (
        _parse(s, PyBytes_GET_SIZE(value), p)
        and PyBytes_GET_SIZE(key) == p.ep_len
        and memcmp(PyBytes_AS_STRING(key), s + p.ep_at, p.ep_len) == 0
    )


def parse_heartbeat(key, value):
    """The fields the fast path reads from one record, or None where it leaves the record to
    `schemas.decode`: (event_id, occurred_at in unix µs, endpoint_id, site_level, district,
    rtt_ms, jitter_ms, packet_loss_pct). For tests; the worker uses `Scan`, with the same test."""
    cdef Parsed p
    if not _heartbeat(key, value, &p):
        return None
    cdef const unsigned char* s = <const unsigned char*>PyBytes_AS_STRING(value)
    return (
        PyUnicode_DecodeASCII(<const char*>s + p.id_at, p.id_len, NULL),
        p.at_us,
        PyUnicode_DecodeASCII(<const char*>s + p.ep_at, p.ep_len, NULL),
        _LEVELS[p.level],
        PyUnicode_DecodeASCII(<const char*>s + p.district_at, p.district_len, NULL),
        p.rtt,
        p.jitter,
        p.loss,
    )


# --- a batch's records, scanned -------------------------------------------------------------

cdef class Scan:
    """The records of one `admit` call: which are canonical heartbeats, and their values.

    `fingerprints` holds every scanned heartbeat's fingerprint (0 elsewhere, where the caller
    writes the Python path's), so a partition's earlier hours are searched once per call.
    """

    cdef readonly object fingerprints  # numpy int64, one per record
    cdef readonly list fallbacks  # indices of the records left to the Python path
    cdef readonly list runs  # (start, stop) of each run of records of one topic and partition
    cdef Parsed* _parsed
    cdef uint8_t* _ok
    cdef list _endpoints
    cdef list _districts
    cdef readonly Py_ssize_t size

    def __cinit__(self, list records, str topic):
        cdef Py_ssize_t n = len(records), i, run_start = 0
        cdef object rec, value, part = None, run_topic = None
        cdef const unsigned char* s
        cdef int64_t[::1] fps
        cdef Parsed* p
        self.size = n
        self.fingerprints = np.zeros(n, dtype=np.int64)
        fps = self.fingerprints
        self.fallbacks = []
        self.runs = []
        self._endpoints = [None] * n
        self._districts = [None] * n
        self._parsed = <Parsed*>PyMem_Malloc(max(n, 1) * sizeof(Parsed))
        self._ok = <uint8_t*>PyMem_Malloc(max(n, 1))
        if self._parsed == NULL or self._ok == NULL:
            raise MemoryError()
        for i in range(n):
            rec = records[i]
            self._ok[i] = 0
            if i == 0 or rec.partition != part or rec.topic != run_topic:
                if i:
                    self.runs.append((run_start, i))
                run_start, part, run_topic = i, rec.partition, rec.topic
            p = &self._parsed[i]
            value = rec.value
            if rec.topic != topic or not _heartbeat(rec.key, value, p):
                self.fallbacks.append(i)
                continue
            s = <const unsigned char*>PyBytes_AS_STRING(value)
            self._ok[i] = 1
            fps[i] = _fingerprint(s + p.id_at, p.id_len)
            self._endpoints[i] = PyUnicode_DecodeASCII(<const char*>s + p.ep_at, p.ep_len, NULL)
            self._districts[i] = PyUnicode_DecodeASCII(<const char*>s + p.district_at, p.district_len, NULL)
        if n:
            self.runs.append((run_start, n))

    def __dealloc__(self):
        PyMem_Free(self._parsed)
        PyMem_Free(self._ok)


# --- judging a run --------------------------------------------------------------------------

def judge_run(
    Scan scan,
    Py_ssize_t start,
    Py_ssize_t stop,
    set seen,
    set old,
    list fingerprints,
    HeartbeatSums sums,
    long order,
    int64_t newest_us,
    bint has_newest,
    int64_t future_us,
    int64_t grace_us,
):
    """Accept or count as duplicate the scanned heartbeats from `start`, up to `stop` or the
    first record this cannot settle alone; returns (where it stopped, accepted, duplicates,
    newest_us, has_newest).

    Settled here: a duplicate (`seen` or `old`), and a new heartbeat at least a millisecond
    inside both time limits (`future_us`: now plus the tolerance; `grace_us` behind the
    newest). Near a limit the Python path judges exactly (schemas.decode.judge_time).
    """
    if start < 0 or stop > scan.size:
        raise IndexError(f"records {start}:{stop} of a scan of {scan.size}")
    cdef Py_ssize_t i = start
    cdef long accepted = 0, duplicates = 0
    cdef int64_t at
    cdef object fp
    cdef const int64_t[::1] fps = scan.fingerprints
    while i < stop and scan._ok[i]:
        fp = fps[i]
        if fp in seen or fp in old:
            duplicates += 1
            i += 1
            continue
        at = scan._parsed[i].at_us
        if at > future_us - 1000:
            break
        if has_newest and at < newest_us - grace_us + 1000:
            break
        seen.add(fp)
        fingerprints.append(fp)
        if not has_newest or at > newest_us:
            newest_us = at
            has_newest = True
        sums._add(
            scan._endpoints[i],
            scan._districts[i],
            _LEVELS[scan._parsed[i].level],
            at,
            scan._parsed[i].jitter,
            scan._parsed[i].loss,
            scan._parsed[i].rtt,
            order,
        )
        accepted += 1
        i += 1
    return i, accepted, duplicates, newest_us, has_newest


# --- a batch's heartbeats, summed -----------------------------------------------------------

cdef class Minute:
    """One minute's heartbeats under one (district, site_level)."""

    cdef public double count
    cdef public double jitter
    cdef public double loss
    cdef public dict rtt_bins

    def __cinit__(self):
        self.rtt_bins = {}


cdef inline int64_t _floor_minute(int64_t at_us) noexcept:
    return _floordiv(at_us, 60000000)


cdef class HeartbeatSums:
    """A batch's heartbeats: sums per (unix minute, district, site_level), presence bits per
    (endpoint, unix hour), and each endpoint's latest state.

    `latest` maps an endpoint to (district, site_level, occurred_at in unix µs, offline, order);
    the entry with the greatest (occurred_at, order) wins, `order` being the arrival order
    among the batch's events (sources/vc/arithmetic.py), so a tie goes to the later arrival.
    """

    cdef readonly dict minutes
    cdef readonly dict presence
    cdef readonly dict latest

    def __cinit__(self):
        self.minutes = {}
        self.presence = {}
        self.latest = {}

    def add(
        self, str endpoint, str district, str level, int64_t at_us, double jitter, double loss,
        double rtt, long order,
    ):
        """One heartbeat (the Python path's: the fast path adds in C)."""
        self._add(endpoint, district, level, at_us, jitter, loss, rtt, order)

    cdef void _add(
        self, object endpoint, object district, object level, int64_t at_us, double jitter,
        double loss, double rtt, long order,
    ):
        cdef int64_t minute = _floor_minute(at_us)
        cdef int64_t hour = _floordiv(minute, 60)
        cdef Minute acc
        cdef object key = (minute, district, level)
        cdef object bin_
        cdef list present
        cdef tuple latest
        acc = self.minutes.get(key)
        if acc is None:
            acc = Minute()
            self.minutes[key] = acc
        acc.count += 1.0
        acc.jitter += jitter
        acc.loss += loss
        if rtt < _MIN_POSITIVE:
            bin_ = _ZERO_BIN
        else:
            bin_ = <long>ceil(log(rtt) / _LOG_GAMMA)
        acc.rtt_bins[bin_] = acc.rtt_bins.get(bin_, 0.0) + 1.0
        key = (endpoint, hour)
        present = self.presence.get(key)
        cdef object bit = (<uint64_t>1) << (minute - hour * 60)  # minute of the hour: 0-59
        if present is None:
            self.presence[key] = [district, level, bit]
        else:
            present[0] = district
            present[1] = level
            present[2] = present[2] | bit
        latest = self.latest.get(endpoint)
        if latest is None or at_us > <int64_t>latest[2] or (at_us == <int64_t>latest[2] and order >= <long>latest[4]):
            self.latest[endpoint] = (district, level, at_us, False, order)
