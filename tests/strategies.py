"""Hypothesis strategies for hostile inputs, shared by the fuzz tests."""

from __future__ import annotations

import json

from hypothesis import strategies as st

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
# JSON texts that trip parsers: huge numbers, lone surrogate escapes, deep nesting, bad syntax
odd_json = st.sampled_from([
    b"1e400", b"-1e400", b"12345678901234567890123", b'"\\ud800"', b'{"k": "\\udfff x"}', b"NaN",
    b"Infinity", b"[1,]", b"{'a': 1}", b"\x0c", b"\x0b{}", b'"\x01"', b"tru", b"{}{}", b"[" * 600 + b"]" * 600,
    b"[" * 1500 + b"]" * 1500, b"{}" + b" " * 3, b"\xef\xbb\xbf{}", b"\xff\xfe", b'{"a":1}\r', b"\r",
    b"[" * 513 + b"]" * 513, b"[" * 512 + b"]" * 512, b"0", b"-0", b"1.50",
])  # fmt: skip


def dumped(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


json_line = json_values.map(dumped) | odd_json | st.binary(max_size=20)
