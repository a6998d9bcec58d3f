"""Job identity: one job per object version, so a duplicate event finds the job that exists."""

from __future__ import annotations

import base64
import hashlib
import re

JOB_ID_LENGTH = 24
JOB_ID_PATTERN = re.compile(r"^[a-z2-7]{24}$")


def job_id_for(bucket: str, key: str, version: str) -> str:
    """A deterministic id from bucket, key and version id (or ETag): 24 base32 characters."""
    digest = hashlib.sha256(f"{bucket}\n{key}\n{version}".encode()).digest()
    return base64.b32encode(digest).decode("ascii")[:JOB_ID_LENGTH].lower()
