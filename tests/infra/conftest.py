import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Template
from cdk_nag import AwsSolutionsChecks

from infra.stack import LoaderStack


class Synth:
    def __init__(self, stack: LoaderStack, template: Template) -> None:
        self.stack = stack
        self.template = template
        self.annotations = Annotations.from_stack(stack)

    @property
    def json(self) -> dict[str, Any]:
        return self.template.to_json()

    def resources(self, kind: str) -> dict[str, Any]:
        return self.template.find_resources(kind)


@pytest.fixture(scope="session")
def synth() -> Synth:
    """Synthesized once per session (the slow part), with cdk-nag and without bundling (no pip, no network)."""
    app = cdk.App(context={"max_record_kib": 2048, "aws:cdk:bundling-stacks": []})
    stack = LoaderStack(app, "Test")
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    app.synth()
    return Synth(stack, Template.from_stack(stack))


@pytest.fixture(scope="session")
def template(synth: Synth) -> Template:
    return synth.template


@pytest.fixture(scope="session")
def template_file(synth: Synth, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("cfn") / "template.json"
    path.write_text(json.dumps(synth.json))
    return str(path)
