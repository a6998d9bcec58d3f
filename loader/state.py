"""Where the local stack writes its state and the client reads it (kept free of heavy imports)."""

from __future__ import annotations

import os
from pathlib import Path


def default_state_file() -> Path:
    """$LOADER_STATE_FILE, else $XDG_STATE_HOME (or ~/.local/state)/s3-kinesis-loader/local.json."""
    if os.environ.get("LOADER_STATE_FILE"):
        return Path(os.environ["LOADER_STATE_FILE"])
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "s3-kinesis-loader" / "local.json"
