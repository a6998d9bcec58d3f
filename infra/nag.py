"""cdk-nag AwsSolutions findings this stack accepts, each with its reason (everything else must pass)."""

from __future__ import annotations

from aws_cdk import Stack
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo

_SUPPRESSIONS = [
    NagPackSuppression(
        id="AwsSolutions-IAM4",
        reason="AWSLambdaBasicExecutionRole (AWS-managed) lets a function write its own CloudWatch logs, nothing else.",
        applies_to=[
            "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        ],
    ),
    NagPackSuppression(
        id="AwsSolutions-IAM4",
        reason="API Gateway's account role (AWS-managed AmazonAPIGatewayPushToCloudWatchLogs) only writes the "
        "API's execution and access logs.",
        applies_to=[
            "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
        ],
    ),
    NagPackSuppression(
        id="AwsSolutions-IAM5",
        reason="X-Ray's PutTraceSegments and PutTelemetryRecords do not support resource-level permissions.",
        applies_to=["Resource::*"],
    ),
    NagPackSuppression(
        id="AwsSolutions-IAM5",
        reason="Object keys are only known at run time: reads are limited to the incoming/ prefix, spilled "
        "ledger payloads to the ledger-payloads/ prefix.",
        applies_to=[
            RegexAppliesTo(
                regex=r"/^Resource::<StorageBucket[0-9A-F]+\.Arn>\/(incoming|ledger-payloads)\/\*$/"
            )
        ],
    ),
    NagPackSuppression(
        id="AwsSolutions-IAM5",
        reason="Queries go through the tables' own secondary indexes (records by status, jobs by key and by time).",
        applies_to=[
            RegexAppliesTo(regex=r"/^Resource::<Storage(Jobs|Records)[0-9A-F]+\.Arn>\/index\/\*$/")
        ],
    ),
    NagPackSuppression(
        id="AwsSolutions-COG4",
        reason="Every method uses IAM (SigV4) authorization, as the design requires: callers are IAM principals.",
    ),
    NagPackSuppression(
        id="AwsSolutions-APIG3",
        reason="IAM-authorized regional API with stage throttling; a WAF web ACL can be associated by the "
        "operator where the account's policy asks for one.",
    ),
]


def suppress(stack: Stack) -> None:
    NagSuppressions.add_stack_suppressions(stack, _SUPPRESSIONS, apply_to_nested_stacks=True)
