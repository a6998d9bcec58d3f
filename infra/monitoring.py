"""Alarms (to an SNS topic) and a dashboard: throughput, failures, latency."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.api import Api
from infra.ingest import Ingest
from infra.retry import Retry
from infra.storage import Storage
from shared.observability import NAMESPACE, SERVICE

PERIOD = Duration.minutes(5)


def _custom(name: str, statistic: str = "Sum") -> cw.Metric:
    return cw.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map={"service": SERVICE},
        statistic=statistic,
        period=PERIOD,
    )


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
        self.topic = sns.Topic(
            self,
            "Alarms",
            enforce_ssl=True,
            master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
        )
        self.alarms: list[cw.Alarm] = []
        functions: dict[str, lambda_.Function] = {
            "Ingest": ingest.function,
            "Retry": retry.function,
            "Api": api.function,
        }
        for name, queue in (
            ("Ingest", ingest.dlq),
            ("Retry", retry.dlq),
        ):
            self._alarm(f"{name}DlqNotEmpty", queue.metric_approximate_number_of_messages_visible(period=PERIOD),
                        f"Messages in the {name.lower()} dead-letter queue")  # fmt: skip
        for name, fn in functions.items():
            self._alarm(f"{name}Errors", fn.metric_errors(period=PERIOD), f"{name} function errors")
            self._alarm(
                f"{name}Throttles", fn.metric_throttles(period=PERIOD), f"{name} function throttled"
            )
        self._alarm("DeadRecords", _custom("RecordsDead"), "Records ran out of retries (dead)")
        self._alarm(
            "StreamWriteThrottled",
            storage.stream.metric_put_records_throttled_records(period=PERIOD, statistic="Sum"),
            "PutRecords entries throttled by the stream",
        )
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
            cw.GraphWidget(title="Stream incoming", left=[storage.stream.metric_incoming_records(period=PERIOD, statistic="Sum")], right=[storage.stream.metric_incoming_bytes(period=PERIOD, statistic="Sum")], width=12),
            cw.GraphWidget(title="Dead-letter queues", left=[q.metric_approximate_number_of_messages_visible(period=PERIOD) for q in (ingest.dlq, retry.dlq)], width=12),
        )  # fmt: skip

    def _alarm(self, construct_id: str, metric: cw.IMetric, description: str) -> None:
        alarm = cw.Alarm(
            self, construct_id, metric=metric, threshold=1, evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING, alarm_description=description,
        )  # fmt: skip
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)
