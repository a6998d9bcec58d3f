"""Storage: the bucket files are dropped into, the ledger tables, and the stream records go to."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import names, schema


class Storage(Construct):
    """Secure defaults: no public access, TLS only, encryption at rest, versioning, PITR, tables
    protected from deletion, incomplete multipart uploads aborted."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        max_record_kib: int | None = None,
        stream_arn: str | None = None,
        shard_count: int | None = None,
        retention_hours: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(90),
                    noncurrent_version_expiration=Duration.days(7),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,  # the job id is derived from the version id
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="bucket/",
            lifecycle_rules=[
                s3.LifecycleRule(prefix=names.SPILL_PREFIX, expiration=Duration.days(30)),
                s3.LifecycleRule(
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(2),
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.jobs = _table(self, "Jobs", schema.JOBS)
        self.records = _table(self, "Records", schema.RECORDS)
        self.stream: kinesis.IStream
        if stream_arn:  # bring your own stream
            self.stream = kinesis.Stream.from_stream_arn(self, "Stream", stream_arn)
            return
        stream = kinesis.Stream(
            self,
            "Stream",
            stream_mode=kinesis.StreamMode.PROVISIONED
            if shard_count
            else kinesis.StreamMode.ON_DEMAND,
            shard_count=shard_count,
            encryption=kinesis.StreamEncryption.MANAGED,
            retention_period=Duration.hours(retention_hours or 24),
        )
        if max_record_kib:
            cfn = stream.node.default_child
            cfn.add_property_override("MaxRecordSizeInKiB", max_record_kib)  # type: ignore[union-attr]
        self.stream = stream


def _attribute(attr: tuple[str, str]) -> dynamodb.Attribute:
    kind = dynamodb.AttributeType.NUMBER if attr[1] == schema.N else dynamodb.AttributeType.STRING
    return dynamodb.Attribute(name=attr[0], type=kind)


def _table(scope: Construct, construct_id: str, spec: schema.TableSpec) -> dynamodb.TableV2:
    """On-demand, point-in-time recovery, AWS-owned encryption at rest, keys from the shared schema."""
    return dynamodb.TableV2(
        scope,
        construct_id,
        partition_key=_attribute(spec.key.partition),
        sort_key=_attribute(spec.key.sort) if spec.key.sort else None,
        billing=dynamodb.Billing.on_demand(),
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        deletion_protection=True,  # a ledger outlives a mistaken `cdk destroy` or console click
        global_secondary_indexes=[
            dynamodb.GlobalSecondaryIndexPropsV2(
                index_name=index,
                partition_key=_attribute(key.partition),
                sort_key=_attribute(key.sort) if key.sort else None,
            )
            for index, key in spec.indexes.items()
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )
