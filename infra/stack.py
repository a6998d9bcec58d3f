"""The stack: one construct per capability. Ingest, retry, API and monitoring join as they land."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.storage import Storage


class LoaderStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        max_record_kib = self.node.try_get_context("max_record_kib")
        self.storage = Storage(
            self, "Storage", max_record_kib=int(max_record_kib) if max_record_kib else None
        )
        CfnOutput(self, "BucketName", value=self.storage.bucket.bucket_name)
        CfnOutput(self, "StreamName", value=self.storage.stream.stream_name)
        CfnOutput(self, "JobsTableName", value=self.storage.jobs.table_name)
        CfnOutput(self, "RecordsTableName", value=self.storage.records.table_name)
