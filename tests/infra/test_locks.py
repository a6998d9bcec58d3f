"""Reproducible builds: the Lambda layer and the Powertools layer are the versions the tests run."""

from __future__ import annotations

import re
from pathlib import Path

from infra.packaging import POWERTOOLS_PARAMETER, POWERTOOLS_VERSION, REQUIREMENTS

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^ ;\\\\]+)", re.M)


def pins(path: Path) -> dict[str, str]:
    return {name.lower(): version for name, version in PIN.findall(path.read_text())}


def test_every_locked_package_is_pinned_with_hashes():
    for lock in (
        ROOT / "requirements" / "dev.txt",
        ROOT / "requirements" / "local.txt",
        REQUIREMENTS,
    ):
        text = lock.read_text()
        blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", text)[1:]
        assert blocks and all("--hash=sha256:" in block for block in blocks), lock


def test_the_layer_holds_the_versions_the_tests_run():
    tested, layer = pins(ROOT / "requirements" / "dev.txt"), pins(REQUIREMENTS)
    assert {"orjson", "zstandard", "boto3", "botocore"} <= set(layer)
    assert {name: layer[name] for name in layer if name in tested} == {
        name: tested[name] for name in layer if name in tested
    }


def test_the_powertools_layer_is_the_tested_version():
    assert pins(ROOT / "requirements" / "dev.txt")["aws-lambda-powertools"] == POWERTOOLS_VERSION
    assert POWERTOOLS_PARAMETER.endswith(f"/python3.14/{POWERTOOLS_VERSION}")
