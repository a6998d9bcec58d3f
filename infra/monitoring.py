"""Alarms that reach a person, and a dashboard: throughput, failures, latency.

The alarm topic is encrypted with a customer-managed key whose policy lets CloudWatch use it (the
AWS-managed `alias/aws/sns` key cannot grant that), and its policy lets this account's alarms publish.
Each alarm's description is its runbook in one line; README "Alarms" has the longer version.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.api import Api
from infra.ingest import Ingest
from infra.retry import Retry
from infra.storage import Storage
from shared.names import NAMESPACE, SERVICE

PERIOD = Duration.minutes(5)
CLOUDWATCH = "cloudwatch.amazonaws.com"


def _custom(name: str, period: Duration = PERIOD) -> cw.Metric:
    return cw.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map={"service": SERVICE},
        statistic="Sum",
        period=period,
    )


@dataclass(frozen=True)
class Rule:
    """When an alarm fires: `threshold` reached in `datapoints` of the last `periods` periods."""

    threshold: float
    periods: int = 1
    datapoints: int = 1


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        ingest: Ingest,
        retry: Retry,
        api: Api,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key, self.topic = self._alarm_topic()
        self.alarms: list[cw.Alarm] = []
        functions: dict[str, lambda_.Function] = {
            "Ingest": ingest.function,
            "Retry": retry.function,
            "Api": api.function,
        }
        for name, dlq in (("Ingest", ingest.dlq), ("Retry", retry.dlq)):
            # Its consumer holds a dead letter out of sight most of the time: count both kinds.
            held = cw.MathExpression(
                expression="visible + hidden",
                period=PERIOD,
                using_metrics={
                    "visible": dlq.metric_approximate_number_of_messages_visible(period=PERIOD),
                    "hidden": dlq.metric_approximate_number_of_messages_not_visible(period=PERIOD),
                },
            )
            self._alarm(
                f"{name}DlqNotEmpty", held,
                Rule(1), f"A message failed {name.lower()} on every delivery and is in its dead-letter "
                "queue; its job has failed with the error (DeadLettered when every delivery was killed). "
                "Read the message, fix the cause, upload the file again.",
            )  # fmt: skip
        for name, queue, minutes in (("Ingest", ingest.queue, 30), ("Retry", retry.queue, 60)):
            # Retry messages wait up to 15 minutes by design; ingest messages should start at once.
            self._alarm(
                f"{name}QueueAge",
                queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum"),
                Rule(minutes * 60, periods=2, datapoints=2),
                f"The oldest {name.lower()} message has waited over {minutes} minutes for 10 minutes: "
                "the function is failing, throttled or short of concurrency. Check its errors and throttles.",
            )  # fmt: skip
        for name, fn in functions.items():
            self._alarm(
                f"{name}Errors", fn.metric_errors(period=PERIOD), Rule(1, periods=3, datapoints=3),
                f"The {name.lower()} function has failed in each of the last three 5-minute periods: "
                "read its logs (errors carry the job id).",
            )  # fmt: skip
            self._alarm(
                f"{name}Throttles", fn.metric_throttles(period=PERIOD), Rule(1, periods=3, datapoints=3),
                f"The {name.lower()} function has been throttled for 15 minutes: raise its reserved "
                "or the account's concurrency, or lower the event source's maximum concurrency.",
            )  # fmt: skip
        for name, fn in (("Ingest", ingest.function), ("Retry", retry.function)):
            self._alarm(
                f"{name}RecursionDropped",
                fn.metric("RecursiveInvocationsDropped", period=PERIOD, statistic="Sum"), Rule(1),
                f"Lambda stopped the {name.lower()} function's chain of messages as a recursive loop: "
                "a job's continuation or retry round was dropped. Check the function's RecursiveLoop setting.",
            )  # fmt: skip
        self._alarm(
            "StreamThrottlingSustained", self._throttled_percent(storage), Rule(10, periods=3, datapoints=3),
            "Over 10% of PutRecords entries were throttled for 15 minutes (short bursts are normal while "
            "an on-demand stream scales): add shards or lower the ingest concurrency.",
        )  # fmt: skip
        self._alarm(
            "Api5xx", api.rest_api.metric_server_error(period=PERIOD, statistic="Sum"), Rule(5),
            "The API answered 5 or more server errors in 5 minutes: read the API function's logs.",
        )  # fmt: skip
        self._alarm(
            "JobsFailed", _custom("JobsFailed", Duration.hours(1)), Rule(5),
            "5 or more jobs failed within an hour: list them (loader jobs; GET /jobs) and read their "
            "errors: bad files are the users' to fix, infrastructure errors ('gave up: ...') are ours.",
        )  # fmt: skip
        self._alarm(
            "DeadRecords", _custom("RecordsDead"), Rule(1),
            "Records ran out of retries (dead): loader failures JOB --status dead, then loader retry "
            "JOB --include-dead once the stream is healthy.",
        )  # fmt: skip
        self._dashboard(storage, ingest, retry, api, functions)

    def _alarm_topic(self) -> tuple[kms.Key, sns.Topic]:
        stack = Stack.of(self)
        key = kms.Key(
            self, "AlarmsKey", enable_key_rotation=True,
            description="Encrypts the loader's alarm topic; CloudWatch may use it to publish alarms",
        )  # fmt: skip
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(CLOUDWATCH)],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        topic = sns.Topic(self, "Alarms", enforce_ssl=True, master_key=key)
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal(CLOUDWATCH)],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{stack.partition}:cloudwatch:{stack.region}:"
                        f"{stack.account}:alarm:*"
                    },
                },
            )
        )
        return key, topic

    @staticmethod
    def _throttled_percent(storage: Storage) -> cw.MathExpression:
        throttled = storage.stream.metric_put_records_throttled_records(
            period=PERIOD, statistic="Sum"
        )
        sent = storage.stream.metric_put_records_successful_records(period=PERIOD, statistic="Sum")
        return cw.MathExpression(
            expression="100 * FILL(t, 0) / MAX([FILL(t, 0) + FILL(s, 0), 1])",
            using_metrics={"t": throttled, "s": sent},
            label="PutRecords entries throttled (%)",
            period=PERIOD,
        )

    def _alarm(self, construct_id: str, metric: cw.IMetric, rule: Rule, runbook: str) -> None:
        alarm = cw.Alarm(
            self, construct_id, metric=metric, threshold=rule.threshold,
            evaluation_periods=rule.periods, datapoints_to_alarm=rule.datapoints,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING, alarm_description=runbook,
        )  # fmt: skip
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)

    def _dashboard(
        self, storage: Storage, ingest: Ingest, retry: Retry, api: Api,
        functions: dict[str, lambda_.Function],
    ) -> None:  # fmt: skip
        self.dashboard = cw.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Records", left=[_custom(n) for n in ("RecordsSent", "RecordsFailed", "RecordsRejected", "RecordsRecovered", "RecordsDead")], width=12),
            cw.GraphWidget(title="PutRecords calls and throttled entries", left=[_custom("PutRecordsCalls"), _custom("ThrottledEntries")], right=[storage.stream.metric_put_records_throttled_records(period=PERIOD, statistic="Sum")], width=12),
        )  # fmt: skip
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Duration p95", left=[fn.metric_duration(statistic="p95", period=PERIOD) for fn in functions.values()], width=8),
            cw.GraphWidget(title="Errors and throttles", left=[fn.metric_errors(period=PERIOD) for fn in functions.values()], right=[fn.metric_throttles(period=PERIOD) for fn in functions.values()], width=8),
            cw.GraphWidget(title="API", left=[api.rest_api.metric_client_error(period=PERIOD), api.rest_api.metric_server_error(period=PERIOD)], right=[api.rest_api.metric_latency(period=PERIOD, statistic="p95")], width=8),
        )  # fmt: skip
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Stream incoming", left=[storage.stream.metric_incoming_records(period=PERIOD, statistic="Sum")], right=[storage.stream.metric_incoming_bytes(period=PERIOD, statistic="Sum")], width=8),
            cw.GraphWidget(title="Queues: oldest message (s)", left=[q.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum") for q in (ingest.queue, retry.queue)], width=8),
            cw.GraphWidget(title="Dead-letter queues; jobs failed", left=[q.metric_approximate_number_of_messages_visible(period=PERIOD) for q in (ingest.dlq, retry.dlq)], right=[_custom("JobsFailed")], width=8),
        )  # fmt: skip
