"""cdk-nag AwsSolutions findings this stack accepts, each with its reason (everything else must pass)."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_lambda as lambda_
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


_XRAY = NagPackSuppression(
    id="AwsSolutions-IAM5",
    reason="X-Ray's PutTraceSegments and PutTelemetryRecords do not support resource-level permissions "
    "(the statement active tracing adds to this function's role).",
    applies_to=["Resource::*"],
)


def suppress(stack: Stack, functions: list[lambda_.Function]) -> None:
    """The stack's reasoned suppressions; `Resource::*` only on the functions' own role policies,
    which hold the X-Ray statement, so a wildcard anywhere else still fails."""
    NagSuppressions.add_stack_suppressions(stack, _SUPPRESSIONS, apply_to_nested_stacks=True)
    for fn in functions:
        policy = fn.role.node.try_find_child("DefaultPolicy") if fn.role else None
        if policy is not None:
            NagSuppressions.add_resource_suppressions(policy, [_XRAY], apply_to_children=True)
