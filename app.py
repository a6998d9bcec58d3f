#!/usr/bin/env python3
"""CDK entry point: `cdk synth` / `cdk deploy` (see README)."""

import aws_cdk as cdk

from infra.names import STACK_NAME
from infra.stack import LoaderStack

app = cdk.App()
LoaderStack(app, STACK_NAME)
app.synth()
