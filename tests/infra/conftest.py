import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from infra.stack import LoaderStack


@pytest.fixture(scope="session")
def template() -> Template:
    """Synthesized once per session: synthesis is the slow part."""
    app = cdk.App(context={"max_record_kib": 2048})
    return Template.from_stack(LoaderStack(app, "Test"))
