"""The functions' settings: each default written once (the dataclass's), each bad value named."""

from __future__ import annotations

import pytest

from shared.config import _TUNABLE, LoaderConfig
from shared.domain.errors import ConfigError

REQUIRED = {
    "LOADER_BUCKET": "b", "LOADER_STREAM": "s", "LOADER_JOBS_TABLE": "j",
    "LOADER_RECORDS_TABLE": "r", "LOADER_RETRY_QUEUE_URL": "q",
}  # fmt: skip


def test_an_environment_with_only_the_resources_gets_the_defaults():
    assert LoaderConfig.from_env(REQUIRED) == LoaderConfig(
        bucket="b", stream="s", jobs_table="j", records_table="r", retry_queue_url="q"
    )


def test_a_missing_resource_is_named():
    with pytest.raises(ConfigError, match="LOADER_STREAM is not set"):
        LoaderConfig.from_env({k: v for k, v in REQUIRED.items() if k != "LOADER_STREAM"})


@pytest.mark.parametrize("variable", [var for _, var, _ in _TUNABLE])
def test_every_setting_refuses_a_malformed_value_by_name(variable):
    with pytest.raises(ConfigError, match=variable):
        LoaderConfig.from_env({**REQUIRED, variable: "-x"})


@pytest.mark.parametrize(
    ("variable", "raw", "field", "value"),
    [
        ("LOADER_DEFAULT_ORDERING", "None", "default_ordering", "none"),
        ("LOADER_DEFAULT_AGGREGATE", "TRUE", "default_aggregate", True),
        ("LOADER_SMALL_FILE_BYTES", "0", "small_file_bytes", 0),
        ("LOADER_MAX_IN_FLIGHT", "8", "max_in_flight", 8),
    ],
)
def test_settings_are_parsed(variable, raw, field, value):
    assert getattr(LoaderConfig.from_env({**REQUIRED, variable: raw}), field) == value
