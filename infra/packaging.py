"""Lambda code and dependency layer, packaged without Docker (local bundling only).

Each function's asset is `lambdas/<name>/` plus `shared/`, so its handler is `lambdas.<name>.handler.handler`.
The dependency layer is pip-installed for the Lambda platform (arm64, CPython 3.14, manylinux wheels)
from its lock: every file's hash checked, no bytecode compiled by the build machine's Python, and an
asset hash taken from the lock's content, so the same lock always gives the same layer.
Tests synthesize with bundling skipped (`aws:cdk:bundling-stacks` = []), which needs neither pip nor network.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
PIP_PLATFORM = "manylinux2014_aarch64"
PYTHON_VERSION = "3.14"
REQUIREMENTS = (
    ROOT / "infra" / "layer" / "requirements.txt"
)  # the layer's lock, with hashes (make lock)
# The Powertools layer of the version the tests run (requirements/dev.txt; a test holds them equal).
POWERTOOLS_VERSION = "3.37.0"
POWERTOOLS_PARAMETER = f"/aws/service/powertools/python/arm64/python3.14/{POWERTOOLS_VERSION}"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")
# Never used: local bundling always succeeds or fails loudly. CDK requires an image to be named.
_NO_DOCKER = cdk.DockerImage.from_registry("local-bundling-only")


@jsii.implements(cdk.ILocalBundling)
class _CopySources:
    def __init__(self, name: str) -> None:
        self._name = name

    def try_bundle(self, output_dir: str, *_: Any, **__: Any) -> bool:
        out = Path(output_dir)
        (out / "lambdas").mkdir(parents=True, exist_ok=True)
        (out / "lambdas" / "__init__.py").write_text("")
        shutil.copytree(ROOT / "lambdas" / self._name, out / "lambdas" / self._name, ignore=_IGNORE)
        shutil.copytree(ROOT / "shared", out / "shared", ignore=_IGNORE)
        return True


@jsii.implements(cdk.ILocalBundling)
class _PipInstall:
    def try_bundle(self, output_dir: str, *_: Any, **__: Any) -> bool:
        subprocess.run(
            [
                sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                "--require-hashes", "--no-deps", "--no-compile",  # the lock's files, no .pyc of ours
                "--platform", PIP_PLATFORM, "--implementation", "cp", "--python-version", PYTHON_VERSION,
                "--only-binary=:all:", "--target", str(Path(output_dir) / "python"), "-r", str(REQUIREMENTS),
            ],
            check=True,
        )  # fmt: skip
        return True


def _tree_hash(*paths: Path) -> str:
    digest = hashlib.sha256()
    for base in paths:
        for path in sorted(
            p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts
        ):
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def function_code(name: str) -> lambda_.Code:
    source = ROOT / "lambdas" / name
    return lambda_.Code.from_asset(
        str(source),
        asset_hash=_tree_hash(source, ROOT / "shared"),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        bundling=cdk.BundlingOptions(image=_NO_DOCKER, local=_CopySources(name)),
    )


def dependency_layer(scope: Construct, construct_id: str) -> lambda_.LayerVersion:
    return lambda_.LayerVersion(
        scope,
        construct_id,
        code=lambda_.Code.from_asset(
            str(REQUIREMENTS.parent),
            asset_hash=_tree_hash(REQUIREMENTS.parent) + PIP_PLATFORM + PYTHON_VERSION,
            asset_hash_type=cdk.AssetHashType.CUSTOM,
            bundling=cdk.BundlingOptions(image=_NO_DOCKER, local=_PipInstall()),
        ),
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[ARCHITECTURE],
        description="orjson, zstandard, and boto3/botocore at the tested versions",
    )
