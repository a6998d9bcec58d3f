"""Hypothesis profiles (`make test` runs the fuzz tests with bounded examples, `make fuzz` at length),
and each test marked with its suite."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=60, deadline=None)
settings.register_profile(
    "fuzz",
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

_SUITES = ("unit", "integration", "infra", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test is marked with its suite, from its folder: `pytest -m unit` runs the unit tests."""
    for item in items:
        parts = item.path.parts
        for suite in _SUITES:
            if suite in parts:
                item.add_marker(getattr(pytest.mark, suite))
                break
