"""Per-object options: object metadata over the stack's defaults, each checked with a clear error."""

from __future__ import annotations

from shared.delivery.routing import ORDERINGS
from shared.domain.errors import ConfigError

META_FORMAT = "format"
META_KEY_FIELD = "partition-key-field"
META_ORDERING = "ordering"
META_AGGREGATE = "aggregate"

_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


def parse_ordering(raw: str, source: str = f"the {META_ORDERING!r} option") -> str:
    value = raw.strip().lower()
    if value not in ORDERINGS:
        raise ConfigError(f"{source} is {raw!r}; it must be one of: {', '.join(ORDERINGS)}")
    return value


def parse_aggregate(raw: str, source: str = f"the {META_AGGREGATE!r} option") -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{source} is {raw!r}; it must be true or false")
