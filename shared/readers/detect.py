"""Which format a file is in: the option if given, else the name, else a look at the first bytes."""

from __future__ import annotations

from shared.domain.errors import RecordError, UnknownFormatError
from shared.readers.jsonvalue import parse_json
from shared.readers.source import strip_compression_suffix

JSONL, JSON, CSV, TSV, TEXT = "jsonl", "json", "csv", "tsv", "text"
FORMATS = (JSONL, JSON, CSV, TSV, TEXT)
BOM = b"\xef\xbb\xbf"

_ALIASES = {
    "ndjson": JSONL, "jsonlines": JSONL, "json-lines": JSONL, "json_lines": JSONL,
    "json-array": JSON, "txt": TEXT, "lines": TEXT, "log": TEXT, "tab": TSV,
}  # fmt: skip
_SUFFIXES = {
    ".jsonl": JSONL, ".ndjson": JSONL, ".jsonlines": JSONL, ".json": JSON,
    ".csv": CSV, ".tsv": TSV, ".tab": TSV, ".txt": TEXT, ".text": TEXT, ".log": TEXT,
}  # fmt: skip


def normalize_format(name: str) -> str:
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in FORMATS:
        raise UnknownFormatError(f"unknown format {name!r}; known formats: {', '.join(FORMATS)}")
    return key


def format_from_name(name: str) -> str | None:
    base, _ = strip_compression_suffix(name)
    lowered = base.lower()
    for suffix, fmt in _SUFFIXES.items():
        if lowered.endswith(suffix):
            return fmt
    return None


def resolve_format(option: str | None, name: str, head: bytes) -> str:
    """The format to read with. `head` is the start of the decompressed content.

    An explicit option is obeyed. Only a guess (from the name or the content) may look further: a
    .json file of JSON objects one per line is read as JSON Lines, which is how such files are
    usually written, while a pretty-printed document stays "json" and fails as not an array.
    """
    if option:
        return normalize_format(option)
    fmt = format_from_name(name)
    if fmt is None:
        return sniff_format(head, name)
    if fmt == JSON and _first_byte(head) == b"{" and looks_like_json_lines(head):
        return JSONL
    return fmt


def looks_like_json_lines(head: bytes, lines: int = 8) -> bool:
    """Whether one of the first complete lines is a whole JSON object starting in column 0.

    A pretty-printed document opens with a lone "{" and indents what it holds, so none of its lines
    is one; a JSON Lines file has nothing but such lines.
    """
    complete = head.removeprefix(BOM).split(b"\n")
    complete.pop()  # what follows the last newline may be cut by the sample's end
    if not complete:
        return True  # one line longer than the sample, or the whole file: nothing to tell it by
    seen = 0
    for line in complete:
        if not line.strip():
            continue
        seen += 1
        if line.startswith(b"{"):
            try:
                if isinstance(parse_json(line), dict):
                    return True
            except RecordError:
                pass
        if seen >= lines:
            break
    return False


def _first_byte(head: bytes) -> bytes:
    return head.removeprefix(BOM).lstrip(b" \t\r\n")[:1]


def sniff_format(head: bytes, name: str = "") -> str:
    first = _first_byte(head)
    if first == b"[":
        return JSON
    if first == b"{":
        return JSONL if looks_like_json_lines(head) else JSON
    if b"\x00" in head:
        raise UnknownFormatError(f"cannot tell the format of {name or 'the object'}: it is binary")
    try:
        text = head.removeprefix(BOM).decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a multibyte character cut by the sample's end is fine
            raise UnknownFormatError(
                f"cannot tell the format of {name or 'the object'}: it is not UTF-8 text"
            ) from exc
        text = head[: exc.start].removeprefix(BOM).decode("utf-8")
    lines = [line for line in text.splitlines()[:6] if line.strip()]
    if len(lines) >= 2:
        for delimiter, fmt in (("\t", TSV), (",", CSV)):
            counts = {line.count(delimiter) for line in lines[:-1] or lines}
            if len(counts) == 1 and counts.pop() > 0:
                return fmt
    return TEXT
