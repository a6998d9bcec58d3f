"""Least-privilege grants with explicit actions (the CDK's grant_* helpers add wildcard actions)."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3

TABLE_READ = ["dynamodb:GetItem", "dynamodb:Query"]
TABLE_WRITE = [
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
]


def objects(fn: lambda_.IFunction, bucket: s3.IBucket, prefix: str, actions: list[str]) -> None:
    fn.add_to_role_policy(
        iam.PolicyStatement(actions=actions, resources=[bucket.arn_for_objects(f"{prefix}*")])
    )


def tables(fn: lambda_.IFunction, actions: list[str], *tables_: dynamodb.ITableV2) -> None:
    resources = [arn for t in tables_ for arn in (t.table_arn, f"{t.table_arn}/index/*")]
    fn.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=resources))


def stream_writer(fn: lambda_.IFunction, stream: kinesis.IStream) -> None:
    """PutRecords; DescribeStreamSummary for the stream's record-size limit; ListShards for its shard
    map (the sender routes and paces by shard)."""
    fn.add_to_role_policy(
        iam.PolicyStatement(
            actions=["kinesis:PutRecords", "kinesis:DescribeStreamSummary", "kinesis:ListShards"],
            resources=[stream.stream_arn],
        )
    )
