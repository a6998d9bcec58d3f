"""moto in a process of its own, so the emulated AWS and the functions each have a core (one process
shares one interpreter lock: with both in it, a burst of small files was bound by one core).

`python -m loader.local.moto_server HOST PORT [--no-limits]` prints `ready` once it serves, and serves
until its standard input closes: when the local stack stops, or dies, the server goes with it. Its
stream enforces Kinesis's limits (`loader.moto_kinesis`); `--no-limits` lifts the per-shard rates.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time


class MotoProcess:
    def __init__(self, host: str, port: int, *, rate_limits: bool = True) -> None:
        self.host, self.port, self.rate_limits = host, port, rate_limits
        self._proc: subprocess.Popen[str] | None = None

    def start(self, timeout_s: float = 60.0) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "loader.local.moto_server", self.host, str(self.port),
             *([] if self.rate_limits else ["--no-limits"])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self._proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        line = self._proc.stdout.readline().strip()
        if line != "ready" or time.monotonic() > deadline:
            self.stop()
            raise OSError(f"the emulated AWS endpoint did not start (exit {self._proc.poll()})")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    from moto.server import ThreadedMotoServer

    from loader import moto_patches, stream_rates

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the stack's to handle: it closes stdin
    moto_patches.apply()
    stream_rates.RULES.rates = "--no-limits" not in sys.argv[3:]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address=sys.argv[1], port=int(sys.argv[2]), verbose=False)
    server.start()
    print("ready", flush=True)
    sys.stdin.read()  # until the stack closes the pipe (or dies)
    server.stop()


if __name__ == "__main__":
    main()
