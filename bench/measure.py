"""Run a module as __main__ and write its peak resident memory (VmHWM) to a file at exit.

VmHWM belongs to the process's own address space, which exec makes anew; ru_maxrss does not reset
on exec and would count the parent's memory at fork time.
Usage: python -m bench.measure OUT_FILE MODULE [ARGS...]
"""

from __future__ import annotations

import atexit
import runpy
import sys
from pathlib import Path


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    out, module, *args = sys.argv[1:]
    atexit.register(lambda: Path(out).write_text(f"{peak_rss_mb():.1f}\n"))
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
