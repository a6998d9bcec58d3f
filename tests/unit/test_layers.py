"""The layout of `shared/` is its layers (see `shared/__init__.py`): each module imports only from the
layers below it, only adapters import boto3, and the services meet each other only through message types."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"

CORE = ("shared.domain",)
READERS = (*CORE, "shared.readers")
DELIVERY = (*READERS, "shared.delivery")
# Each role keeps its port beside its adapters (shared/jobs/port.py beside shared/jobs/dynamodb.py).
PORT_MODULES = (
    "shared.jobs.port",
    "shared.ledger.port",
    "shared.objects.port",
    "shared.stream.port",
    "shared.queues.port",
    "shared.events.port",
    "shared.functions.lambda_context",
)
PORTS = (*DELIVERY, *PORT_MODULES)
SETTINGS = (*PORTS, "shared.config", "shared.names")
EDGE = (
    "shared.functions.observability",
    "shared.functions.boundary",
    "shared.functions.queue_batch",
)
HELPERS = (*SETTINGS, "shared.stream.job_sender", "shared.ledger.resend", *EDGE)
MESSAGES = ("shared.ingest.messages", "shared.retry.messages")
ADAPTERS = (
    "shared.aws",
    "shared.jobs.dynamodb",
    "shared.jobs.items",
    "shared.jobs.checkpoint",
    "shared.jobs.ranges",
    "shared.jobs.retry_lease",
    "shared.jobs.leases",
    "shared.ledger.dynamodb",
    "shared.objects.s3",
    "shared.stream.kinesis",
    "shared.stream.put_records_codec",
    "shared.queues.sqs",
    "shared.events.eventbridge",
)
ROLES = ("shared.jobs", "shared.ledger", "shared.objects", "shared.stream", "shared.queues",
         "shared.events", "shared.functions")  # fmt: skip

# module or package -> the shared modules it may import (besides itself)
ALLOWED: dict[str, tuple[str, ...]] = {
    "shared.domain": CORE,
    "shared.readers": READERS,
    "shared.delivery": DELIVERY,
    **{role: () for role in ROLES},  # a role package's __init__: its docstring only
    **{port: PORTS for port in PORT_MODULES},
    "shared.functions.lambda_context": (),
    "shared.names": (),
    "shared.config": SETTINGS,
    "shared.functions.observability": ("shared.names",),
    "shared.functions.boundary": (*CORE, "shared.functions.observability"),
    "shared.functions.queue_batch": ("shared.functions.observability",),
    "shared.stream.job_sender": SETTINGS,
    "shared.ledger.resend": PORTS,
    **{a: (*PORTS, "shared.names", "shared.functions.observability", *ADAPTERS) for a in ADAPTERS},
    "shared.ingest": (*HELPERS, *MESSAGES),
    "shared.retry": (*HELPERS, *MESSAGES),
    "shared.api": (*HELPERS, *MESSAGES),
}
WIRING_MAY_ALSO = ADAPTERS
AWS_SDK = ("boto3", "botocore")
AWS_SDK_ALLOWED = (*ADAPTERS, "shared.domain.failures")  # failures classifies botocore's errors


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(SHARED.rglob("*.py")):
        parts = path.relative_to(SHARED.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out.append((name, path))
    return out


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _layer(name: str) -> str | None:
    return max((k for k in ALLOWED if _under(name, (k,))), key=len, default=None)


@pytest.mark.parametrize(("name", "path"), _modules(), ids=lambda v: str(v))
def test_each_module_imports_only_from_the_layers_below_it(name, path):
    if name == "shared":
        return
    layer = _layer(name)
    assert layer is not None, f"{name} is in no layer: add it to ALLOWED and to shared/__init__.py"
    allowed = (layer, *ALLOWED[layer])
    if name.endswith(".wiring"):
        allowed += WIRING_MAY_ALSO
    imports = _imports(path)
    wrong = sorted(i for i in imports if i.startswith("shared.") and not _under(i, allowed))
    assert not wrong, f"{name} imports {wrong}"
    if not _under(name, AWS_SDK_ALLOWED):
        sdk = sorted(i for i in imports if _under(i, AWS_SDK))
        assert not sdk, f"{name} imports the AWS SDK ({sdk}); only adapters may"


def test_the_rules_catch_a_service_reaching_an_adapter(tmp_path):
    module = tmp_path / "service.py"
    module.write_text("from shared.stream.kinesis import KinesisStream\nimport boto3\n")
    imports = _imports(module)
    assert not all(_under(i, ALLOWED["shared.ingest"]) for i in imports if i.startswith("shared."))
    assert any(_under(i, AWS_SDK) for i in imports)
