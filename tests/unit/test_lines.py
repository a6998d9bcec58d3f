from hypothesis import given
from hypothesis import strategies as st

from shared.readers.lines import Oversized, iter_lines
from tests.helpers import chunked


def reference(data: bytes, max_len: int) -> list[tuple[object, int]]:
    out, offset = [], 0
    pieces = data.split(b"\n")
    if pieces and pieces[-1] == b"":
        pieces.pop()
    for piece in pieces:
        out.append((piece if len(piece) <= max_len else ("big", len(piece)), offset))
        offset += len(piece) + 1
    return out


def normalise(lines):
    return [((d if isinstance(d, bytes) else ("big", d.length)), o) for d, o in lines]


@given(
    st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=30),
    st.booleans(),
    st.integers(1, 50),
    st.integers(1, 30),
)
def test_lines_and_offsets_do_not_depend_on_chunk_boundaries(lines, trailing, chunk, max_len):
    data = b"\n".join(lines) + (b"\n" if trailing and lines else b"")
    got = normalise(iter_lines(chunked(data, chunk), max_len))
    assert got == reference(data, max_len)


def test_a_50_mb_line_is_skipped_without_being_held():
    # GIVEN a 50 MB line read in 64 KiB chunks, with a 1 MiB limit
    def chunks():
        yield b"first\n"
        for _ in range(800):
            yield b"x" * 65536
        yield b"\nlast\n"

    held = []

    def watch(source):
        for c in source:
            held.append(len(c))
            yield c

    # WHEN the lines are read
    got = list(iter_lines(watch(chunks()), 1 << 20))
    # THEN the big line is a marker with its exact length, and its neighbours are intact
    assert got[0] == (b"first", 0)
    assert isinstance(got[1][0], Oversized) and got[1][0].length == 800 * 65536
    assert got[2] == (b"last", 6 + 800 * 65536 + 1)


def test_oversized_marker_counts_quotes_for_csv():
    data = b'a"' + b"y" * 20 + b'"b"\nok\n'
    (big, _), (ok, _) = list(iter_lines(chunked(data, 4), 10))
    assert isinstance(big, Oversized) and big.odd_quotes is True
    assert ok == b"ok"


def test_offsets_start_from_the_given_position():
    assert list(iter_lines(iter([b"a\nb"]), 10, offset=100)) == [(b"a", 100), (b"b", 102)]
