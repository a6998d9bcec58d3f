"""Seeded input files, generated in a temporary directory (nothing large is committed)."""

from __future__ import annotations

import bz2
import gzip
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import orjson

BLOCK_RECORDS = 5000


def event(rng: random.Random, i: int, size: int) -> dict[str, object]:
    """One ~`size`-byte JSON event with a `user.id` partition-key field."""
    rec: dict[str, object] = {
        "user": {"id": f"user-{rng.randrange(100_000)}"},
        "event": rng.choice(["click", "view", "buy", "scroll"]),
        "ts": 1_700_000_000_000 + i,
        "seq": i,
    }
    rec["pad"] = "x" * max(0, size - len(orjson.dumps(rec)) - 9)
    return rec


def _blocks(
    out: BinaryIO, target_bytes: int, seed: int, size: int
) -> Iterator[list[dict[str, object]]]:
    """Blocks of events until the file being written reaches `target_bytes`."""
    rng = random.Random(seed)
    i = 0
    while out.tell() < target_bytes:
        yield [event(rng, i + k, size) for k in range(BLOCK_RECORDS)]
        i += BLOCK_RECORDS


def write_jsonl(path: Path, target_bytes: int, seed: int = 1, size: int = 200) -> Path:
    with path.open("wb") as out:
        for block in _blocks(out, target_bytes, seed, size):
            out.write(b"\n".join(map(orjson.dumps, block)) + b"\n")
    return path


def write_jsonl_records(path: Path, records: int, seed: int = 1, size: int = 200) -> Path:
    """Exactly `records` JSON Lines events."""
    rng = random.Random(seed)
    with path.open("wb") as out:
        for start in range(0, records, BLOCK_RECORDS):
            block = (event(rng, i, size) for i in range(start, min(records, start + BLOCK_RECORDS)))
            out.write(b"\n".join(map(orjson.dumps, block)) + b"\n")
    return path


def write_json_array(path: Path, target_bytes: int, seed: int = 1, size: int = 200) -> Path:
    with path.open("wb") as out:
        out.write(b"[\n")
        first = True
        for block in _blocks(out, target_bytes, seed, size):
            body = b",\n".join(orjson.dumps(r, option=orjson.OPT_INDENT_2) for r in block)
            out.write(body if first else b",\n" + body)
            first = False
        out.write(b"\n]\n")
    return path


def write_csv(path: Path, target_bytes: int, seed: int = 1, size: int = 200) -> Path:
    with path.open("wb") as out:
        out.write(b"user_id,event,ts,seq,note\n")
        for block in _blocks(out, target_bytes, seed, size):
            rows = (
                f'{r["user"]["id"]},{r["event"]},{r["ts"]},{r["seq"]},"{r["pad"]}, quoted"'.encode()  # type: ignore[index]
                for r in block
            )
            out.write(b"\n".join(rows) + b"\n")
    return path


def write_text(path: Path, target_bytes: int, seed: int = 1, size: int = 200) -> Path:
    with path.open("wb") as out:
        for block in _blocks(out, target_bytes, seed, size):
            out.write(
                b"\n".join(f"{r['ts']} {r['event']} {r['pad']}".encode() for r in block) + b"\n"
            )
    return path


def compress(path: Path, codec: str) -> Path:
    target = path.with_name(path.name + (".gz" if codec == "gzip" else ".bz2"))
    opener = gzip.open if codec == "gzip" else bz2.open
    with path.open("rb") as src, opener(target, "wb", compresslevel=1) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    return target
