"""One Lambda function of the loader: arm64, current Python, Powertools from its public layer, X-Ray."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.packaging import ARCHITECTURE, POWERTOOLS_PARAMETER, RUNTIME, function_code
from shared.names import NAMESPACE, SERVICE


class Layers(Construct):
    """Powertools (its ARN read from AWS's public SSM parameter at deploy time) and our dependencies."""

    def __init__(
        self, scope: Construct, construct_id: str, dependencies: lambda_.ILayerVersion
    ) -> None:
        super().__init__(scope, construct_id)
        arn = ssm.StringParameter.value_for_string_parameter(self, POWERTOOLS_PARAMETER)
        self.powertools = lambda_.LayerVersion.from_layer_version_arn(self, "Powertools", arn)
        self.all = [self.powertools, dependencies]


@dataclass(frozen=True)
class FunctionProps:
    """One of the loader's functions: its code is `lambdas/<name>` with `shared/`."""

    name: str
    description: str
    layers: Layers
    environment: dict[str, str]
    memory_mb: int
    timeout: Duration
    # A function that feeds itself through its queue (continuations, retry rounds) must be let past
    # Lambda's 16-hop recursion guard.
    recursive_loop: lambda_.RecursiveLoop = lambda_.RecursiveLoop.TERMINATE


def loader_function(scope: Construct, construct_id: str, props: FunctionProps) -> lambda_.Function:
    """arm64, the current Python, Powertools' layer and ours, X-Ray, logs kept three months."""
    log_group = logs.LogGroup(
        scope,
        f"{construct_id}Logs",
        retention=logs.RetentionDays.THREE_MONTHS,
        removal_policy=RemovalPolicy.DESTROY,
    )
    return lambda_.Function(
        scope,
        construct_id,
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        handler=f"lambdas.{props.name}.handler.handler",
        code=function_code(props.name),
        layers=props.layers.all,
        memory_size=props.memory_mb,
        timeout=props.timeout,
        tracing=lambda_.Tracing.ACTIVE,
        log_group=log_group,
        recursive_loop=props.recursive_loop,
        description=props.description,
        environment={
            "POWERTOOLS_SERVICE_NAME": SERVICE,
            "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            **props.environment,
        },
    )
