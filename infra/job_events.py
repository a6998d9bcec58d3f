"""Job events: the bus the functions publish status changes to, and a queue that keeps them for
`loader events` (a rule on the bus; other systems add rules of their own)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.pipeline import secure_queue
from shared import names


class JobEvents(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, bus_name: str | None) -> None:
        super().__init__(scope, construct_id)
        self.bus_name = bus_name or "default"
        self.bus = events.EventBus.from_event_bus_name(self, "Bus", self.bus_name)
        self.queue = secure_queue(self, "Queue", retention_period=Duration.days(4))
        rule = events.Rule(
            self,
            "ToQueue",
            event_bus=self.bus,
            description="Job status changes of the S3 -> Kinesis loader, kept for `loader events`",
            event_pattern=events.EventPattern(
                source=[names.EVENT_SOURCE], detail_type=[names.EVENT_DETAIL_TYPE]
            ),
        )
        rule.add_target(targets.SqsQueue(self.queue))
        NagSuppressions.add_resource_suppressions(
            self.queue,
            [
                NagPackSuppression(
                    id="AwsSolutions-SQS3",
                    reason="A tap for `loader events`, fed by the rule and read by people: nothing "
                    "consumes it in a loop that could fail, so a dead-letter queue would hold nothing.",
                )
            ],
        )

    def grant_publish(self, fn: lambda_.IFunction) -> None:
        fn.add_to_role_policy(
            iam.PolicyStatement(actions=["events:PutEvents"], resources=[self.bus.event_bus_arn])
        )
