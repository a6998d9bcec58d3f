#!/usr/bin/env python3
"""CDK entry point: `cdk synth` / `cdk deploy` (see README). cdk-nag's AwsSolutions checks run on every synth."""

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.names import STACK_NAME
from infra.stack import LoaderStack

app = cdk.App()
LoaderStack(app, STACK_NAME)
cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
app.synth()
