"""Typed configuration, read from the environment on first use and checked then."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from shared import names
from shared.delivery.options import parse_aggregate, parse_ordering
from shared.delivery.routing import PER_KEY, SHARD_BYTES_PER_SECOND, SHARD_RECORDS_PER_SECOND
from shared.domain.errors import ConfigError
from shared.domain.limits import KIB, MAX_REQUEST_BYTES
from shared.readers.detect import normalize_format

T = TypeVar("T")
TRACK_FAILURES, TRACK_ALL = "failures", "all"


def _read(
    env: Mapping[str, str], name: str, parse: Callable[[str], T], default: T | None = None
) -> T:
    raw = env.get(name)
    if raw is None or raw == "":
        if default is None:
            raise ConfigError(f"environment variable {name} is not set")
        return default
    try:
        return parse(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"environment variable {name}={raw!r} is malformed: {exc}") from exc


def _positive(kind: Callable[[str], T]) -> Callable[[str], T]:
    def parse(raw: str) -> T:
        value = kind(raw)
        if value <= 0:  # type: ignore[operator]
            raise ValueError("must be positive")
        return value

    return parse


def _bounded(kind: Callable[[str], int], most: int) -> Callable[[str], int]:
    """Positive and at most `most`: the retry chain's length is bounded by these, not by Lambda."""

    def parse(raw: str) -> int:
        value = _positive(kind)(raw)
        if value > most:
            raise ValueError(f"must be at most {most}")
        return value

    return parse


def _tracking(raw: str) -> str:
    if raw not in (TRACK_FAILURES, TRACK_ALL):
        raise ValueError(f"must be {TRACK_FAILURES!r} or {TRACK_ALL!r}")
    return raw


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def _option(parse: Callable[[str], T]) -> Callable[[str], T]:
    def checked(raw: str) -> T:
        try:
            return parse(raw)
        except ConfigError as exc:
            raise ValueError(str(exc)) from exc

    return checked


def _request_kib(raw: str) -> int:
    value = int(raw)
    if not 1 <= value * KIB <= MAX_REQUEST_BYTES:
        raise ValueError(f"must be 1..{MAX_REQUEST_BYTES // KIB}")
    return value


@dataclass(frozen=True, slots=True)
class LoaderConfig:
    bucket: str
    stream: str
    jobs_table: str
    records_table: str
    retry_queue_url: str
    ingest_queue_url: str = ""  # only the ingest function continues jobs through its queue
    record_tracking: str = TRACK_FAILURES
    max_request_kib: int = 5 * 1024
    max_in_flight: int = 4
    max_attempts: int = 8
    checkpoint_every_requests: int = 1
    checkpoint_every_seconds: float = 10.0
    time_margin_seconds: float = 30.0
    lease_grace_seconds: float = 60.0  # a lease outlasts its invocation by this (clock skew)
    max_hops: int = 2000
    inline_payload_bytes: int = 32 * 1024
    retry_delay_seconds: int = 60
    default_format: str | None = None
    default_partition_key_field: str | None = None
    default_ordering: str = PER_KEY
    default_aggregate: bool = False
    small_file_bytes: int = 1024 * 1024
    fanout_min_bytes: int = 128 * 1024 * 1024  # 0: never cut an object into ranges
    fanout_max_parallel: int = 8  # 1: never cut
    shard_records_per_second: float = float(SHARD_RECORDS_PER_SECOND)
    shard_bytes_per_second: float = float(SHARD_BYTES_PER_SECOND)
    max_retries: int = 5
    retry_max_delay_seconds: int = 3600
    token_key: str = ""
    token_secret_arn: str = ""
    max_receive_count: int = names.MAX_RECEIVE_COUNT
    dead_letter_arns: tuple[str, ...] = ()
    event_bus: str = "default"
    incoming_prefix: str = names.INCOMING_PREFIX
    spill_prefix: str = names.SPILL_PREFIX

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LoaderConfig:
        env = os.environ if env is None else env
        fmt = env.get(names.ENV_DEFAULT_FORMAT) or None
        if fmt:
            try:
                fmt = normalize_format(fmt)
            except Exception as exc:
                raise ConfigError(
                    f"environment variable {names.ENV_DEFAULT_FORMAT}: {exc}"
                ) from exc
        defaults = {f.name: f.default for f in fields(cls)}
        tuned = {name: _read(env, var, parse, defaults[name]) for name, var, parse in _TUNABLE}
        return cls(
            bucket=_read(env, names.ENV_BUCKET, str),
            stream=_read(env, names.ENV_STREAM, str),
            jobs_table=_read(env, names.ENV_JOBS_TABLE, str),
            records_table=_read(env, names.ENV_RECORDS_TABLE, str),
            retry_queue_url=_read(env, names.ENV_RETRY_QUEUE_URL, str),
            ingest_queue_url=env.get(names.ENV_INGEST_QUEUE_URL, ""),
            default_format=fmt,
            default_partition_key_field=env.get(names.ENV_DEFAULT_PARTITION_KEY_FIELD) or None,
            token_key=env.get(names.ENV_TOKEN_KEY, ""),
            token_secret_arn=env.get(names.ENV_TOKEN_SECRET_ARN, ""),
            event_bus=env.get(names.ENV_EVENT_BUS) or "default",
            dead_letter_arns=tuple(
                a.strip() for a in env.get(names.ENV_DEAD_LETTER_ARNS, "").split(",") if a.strip()
            ),
            **tuned,
        )

    def last_delivery(self, receive_count: int | str | None) -> bool:
        """Whether a message received this many times will not be delivered again."""
        try:
            return int(receive_count or 0) >= self.max_receive_count
        except ValueError:
            return False


# Settings with a default (the dataclass's, written once): field, environment variable, parser.
_TUNABLE: tuple[tuple[str, str, Callable[[str], Any]], ...] = (
    ("record_tracking", names.ENV_RECORD_TRACKING, _tracking),
    ("max_request_kib", names.ENV_MAX_REQUEST_KIB, _request_kib),
    ("max_in_flight", names.ENV_MAX_IN_FLIGHT, _positive(int)),
    ("max_attempts", names.ENV_MAX_ATTEMPTS, _positive(int)),
    ("checkpoint_every_requests", names.ENV_CHECKPOINT_REQUESTS, _positive(int)),
    ("checkpoint_every_seconds", names.ENV_CHECKPOINT_SECONDS, _positive(float)),
    ("time_margin_seconds", names.ENV_TIME_MARGIN_SECONDS, _positive(float)),
    ("lease_grace_seconds", names.ENV_LEASE_GRACE_SECONDS, _positive(float)),
    ("max_hops", names.ENV_MAX_HOPS, _positive(int)),
    ("inline_payload_bytes", names.ENV_INLINE_PAYLOAD_BYTES, _positive(int)),
    ("retry_delay_seconds", names.ENV_RETRY_DELAY_SECONDS, _positive(int)),
    ("default_ordering", names.ENV_DEFAULT_ORDERING, _option(parse_ordering)),
    ("default_aggregate", names.ENV_DEFAULT_AGGREGATE, _option(parse_aggregate)),
    ("small_file_bytes", names.ENV_SMALL_FILE_BYTES, _non_negative_int),
    ("fanout_min_bytes", names.ENV_FANOUT_MIN_BYTES, _non_negative_int),
    ("fanout_max_parallel", names.ENV_FANOUT_MAX_PARALLEL, _bounded(int, 256)),
    ("shard_records_per_second", names.ENV_SHARD_RECORDS_PER_SECOND, _positive(float)),
    ("shard_bytes_per_second", names.ENV_SHARD_BYTES_PER_SECOND, _positive(float)),
    ("max_retries", names.ENV_MAX_RETRIES, _bounded(int, 100)),
    ("retry_max_delay_seconds", names.ENV_RETRY_MAX_DELAY_SECONDS, _bounded(int, 86400)),
    ("max_receive_count", names.ENV_MAX_RECEIVE_COUNT, _positive(int)),
)


def loader_config() -> LoaderConfig:
    """The function's configuration, from its environment (read each time: a few microseconds, and
    the composition roots keep one service per configuration, so nothing needs resetting)."""
    return LoaderConfig.from_env()
