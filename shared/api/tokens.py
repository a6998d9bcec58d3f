"""Opaque pagination tokens: the DynamoDB start key, bound to its query and signed.

A token altered in any way, or used with another query, is refused (a 400, never a 500).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any

import orjson

from .errors import BadRequestError

_MAC_BYTES = 16


def _mac(secret: bytes, scope: str, payload: bytes) -> bytes:
    return hmac.new(secret, scope.encode() + b"\0" + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def encode_token(start: dict[str, Any] | None, scope: str, secret: bytes) -> str | None:
    if not start:
        return None
    payload = orjson.dumps(start, option=orjson.OPT_SORT_KEYS)
    return base64.urlsafe_b64encode(_mac(secret, scope, payload) + payload).decode().rstrip("=")


def decode_token(token: str | None, scope: str, secret: bytes) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadRequestError(
            "next_token is not a token this API gave out", "InvalidToken"
        ) from exc
    mac, payload = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
    if len(mac) != _MAC_BYTES or not hmac.compare_digest(mac, _mac(secret, scope, payload)):
        raise BadRequestError(
            "next_token is not a token this API gave out for this query", "InvalidToken"
        )
    try:
        start = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise BadRequestError("next_token is malformed", "InvalidToken") from exc
    if not isinstance(start, dict):
        raise BadRequestError("next_token is malformed", "InvalidToken")
    return start
