"""One Lambda function of the loader: arm64, current Python, Powertools from its public layer, X-Ray."""

from __future__ import annotations

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


def loader_function(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    layers: Layers,
    environment: dict[str, str],
    memory_mb: int,
    timeout: Duration,
    recursive_loop: lambda_.RecursiveLoop = lambda_.RecursiveLoop.TERMINATE,
    description: str,
) -> lambda_.Function:
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
        handler=f"lambdas.{name}.handler.handler",
        code=function_code(name),
        layers=layers.all,
        memory_size=memory_mb,
        timeout=timeout,
        tracing=lambda_.Tracing.ACTIVE,
        log_group=log_group,
        recursive_loop=recursive_loop,
        description=description,
        environment={
            "POWERTOOLS_SERVICE_NAME": SERVICE,
            "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            **environment,
        },
    )
