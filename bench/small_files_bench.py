"""500 small JSON Lines files (20 records each) on the local stack, upload to every job finished:
files per minute, the functions' AWS calls per file by service, PutRecords calls; together (small
files share requests, 4 invocations at once, batches of 10) beside one file at a time as before."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

FILES, RECORDS = 500, 20


def _child(concurrency: int, small_bytes: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.small_files_child", str(FILES), str(RECORDS),
         str(concurrency), str(small_bytes)],
        capture_output=True, text=True, check=True, timeout=1200,
    )  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run() -> dict[str, Any]:
    together = _child(concurrency=4, small_bytes=1 << 20)
    one_by_one = _child(concurrency=1, small_bytes=0)
    return {"together": together, "one_at_a_time": one_by_one}
