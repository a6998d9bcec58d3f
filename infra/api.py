"""The REST API: IAM authorization on every method, validated parameters, throttling, access logs."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra import grants
from infra.environment import loader_environment
from infra.functions import FunctionProps, Layers, loader_function
from infra.storage import Storage
from shared import names

RATE_LIMIT, BURST_LIMIT = 50, 100
_PAGING = {
    "method.request.querystring.limit": False,
    "method.request.querystring.next_token": False,
}


class Api(Construct):
    """The REST API and the function behind it (reads the ledger, queues retry requests)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        layers: Layers,
        retry_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = loader_function(self, "Function", FunctionProps(
            name="api", description="Job status, failed records and retry requests", layers=layers,
            environment=loader_environment(storage, retry_queue), memory_mb=256,
            timeout=Duration.seconds(29),
        ))  # fmt: skip
        grants.tables(self.function, grants.TABLE_READ, storage.jobs, storage.records)
        # Pagination tokens are signed with a generated secret that only this function may read.
        self.token_key = secretsmanager.Secret(
            self, "TokenKey", description="Signs the loader API's pagination tokens",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
        )  # fmt: skip
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"], resources=[self.token_key.secret_arn]
            )
        )
        self.function.add_environment(names.ENV_TOKEN_SECRET_ARN, self.token_key.secret_arn)
        NagSuppressions.add_resource_suppressions(
            self.token_key,
            [
                NagPackSuppression(
                    id="AwsSolutions-SMG4",
                    reason="An HMAC key for pagination tokens, not a credential: rotating it would "
                    "only void the tokens in flight. Rotate by hand if it is ever exposed.",
                )
            ],
        )
        # The start of a spilled payload, for a failed record's preview.
        grants.objects(self.function, storage.bucket, names.SPILL_PREFIX, ["s3:GetObject"])
        retry_queue.grant_send_messages(self.function)
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            description="S3 -> Kinesis loader: jobs, failed records, retries",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            default_method_options=apigw.MethodOptions(
                authorization_type=apigw.AuthorizationType.IAM
            ),
            deploy_options=apigw.StageOptions(
                stage_name="v1",
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                metrics_enabled=True,
                tracing_enabled=True,
                throttling_rate_limit=RATE_LIMIT,
                throttling_burst_limit=BURST_LIMIT,
            ),
        )
        # Bodies are checked by the handler (the retry body is optional, which a model cannot say).
        validator = self.rest_api.add_request_validator(
            "Validator", validate_request_parameters=True, validate_request_body=True
        )
        integration = apigw.LambdaIntegration(self.function)

        def method(resource: apigw.Resource, verb: str, params: dict[str, bool]) -> None:
            resource.add_method(
                verb, integration, request_validator=validator, request_parameters=params
            )

        jobs = self.rest_api.root.add_resource("jobs")
        by = {f"method.request.querystring.{q}": False for q in ("key", "key_prefix", "id_prefix")}
        method(jobs, "GET", {**by, **_PAGING})
        job = jobs.add_resource("{job_id}")
        method(job, "GET", {"method.request.path.job_id": True})
        records = job.add_resource("records")
        method(
            records,
            "GET",
            {
                "method.request.path.job_id": True,
                "method.request.querystring.status": False,
                **_PAGING,
            },
        )
        retry = job.add_resource("retry")
        method(retry, "POST", {"method.request.path.job_id": True})
