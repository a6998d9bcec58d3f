"""`loader local`: the whole service on one machine. moto (server mode, loopback) plays S3, SQS,
DynamoDB and Kinesis; the real handlers run in-process behind an SQS event-source emulator and an HTTP
adapter; resources come from the same names and schema as the CDK stack."""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from loader.crash_points import CrashPlan
from loader.local import resources
from loader.local.emulator import EventSource, QueuePoller
from loader.local.http import ApiServer
from loader.local.invocations import WriteWatch, watch
from loader.local.moto_server import MotoProcess
from loader.state import default_state_file
from shared import names
from shared.domain.limits import DEFAULT_RECORD_KIB

REGION = "us-east-1"
DEFAULT_AWS_PORT, DEFAULT_API_PORT = 4566, 4567
FAULTS = ("kinesis-throttle", "kinesis-internal", "kinesis-outage")
# The emulated functions die at their timeout (no clock skew between them), so their leases need
# only a moment beyond it; a message comes back just after its invocation's lease has run out.
LEASE_GRACE_SECONDS = 2.0
DEAD_LETTER_VISIBILITY_S = 3600  # as deployed: a dead letter stays, seen again hourly


@dataclass
class LocalOptions:
    aws_port: int = DEFAULT_AWS_PORT
    api_port: int = DEFAULT_API_PORT
    state_file: Path = field(default_factory=default_state_file)
    faults: dict[str, float] = field(default_factory=dict)
    lambda_timeout: float = 900.0
    host: str = "127.0.0.1"
    retry_delay_seconds: int = 5
    verbose: bool = False
    shards: int = resources.STREAM_SHARDS
    environment: dict[str, str] = field(default_factory=dict)
    concurrency: int = (
        4  # invocations of one function at once (the event source's maximum concurrency)
    )
    crash: list[str] = field(default_factory=list)  # crash points, POINT[:N]
    max_record_kib: int = DEFAULT_RECORD_KIB  # the stream's MaxRecordSizeInKiB
    rate_limits: bool = True  # the stream's per-shard rates (off: `--no-limits`)


class LocalStack:
    def __init__(self, options: LocalOptions) -> None:
        self.options = options
        self._server: MotoProcess | None = None
        self._pollers: list[QueuePoller] = []
        self._api: ApiServer | None = None
        self.state: dict[str, Any] = {}
        self.plan = CrashPlan(options.crash)  # a bad point is refused before anything starts
        self.watch: WriteWatch | None = None

    def start(self) -> dict[str, Any]:
        o = self.options
        unknown = set(o.faults) - set(FAULTS)
        if unknown:
            raise ValueError(
                f"unknown fault {', '.join(sorted(unknown))}; known: {', '.join(FAULTS)}"
            )
        for port in (o.aws_port, o.api_port):
            _check_free(o.host, port)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        # An invocation with nothing to count (S3's test event) is not worth a warning on the console.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        self._server = MotoProcess(o.host, o.aws_port, rate_limits=o.rate_limits)
        self._server.start()
        endpoint = f"http://{o.host}:{o.aws_port}"
        session = boto3.session.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION
        )
        clients = {
            name: session.client(name, endpoint_url=endpoint)
            for name in ("s3", "dynamodb", "kinesis", "sqs", "events")
        }
        res = resources.create(
            clients["s3"], clients["dynamodb"], clients["kinesis"], clients["sqs"],
            clients["events"], o.shards, o.max_record_kib,
        )  # fmt: skip
        self._configure_environment(endpoint, res)
        self._start_functions(clients["sqs"], res)
        self.state = {
            "aws_endpoint": endpoint,
            "api_url": f"http://{o.host}:{self._api.port if self._api else o.api_port}",
            "bucket": res.bucket,
            "incoming_prefix": names.INCOMING_PREFIX,
            "stream": res.stream,
            "region": REGION,
            "jobs_table": res.jobs_table,
            "records_table": res.records_table,
            "ingest_queue_url": res.ingest_queue_url,
            "retry_queue_url": res.retry_queue_url,
            "events_queue_url": res.events_queue_url,
            "pid": os.getpid(),
        }
        o.state_file.parent.mkdir(parents=True, exist_ok=True)
        partial = o.state_file.with_suffix(".tmp")
        partial.write_text(json.dumps(self.state, indent=2) + "\n")
        partial.replace(o.state_file)  # the state file appears only when everything is ready
        return self.state

    def _configure_environment(self, endpoint: str, res: resources.Resources) -> None:
        o = self.options
        os.environ.update({
            "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION, "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "INFO" if o.verbose else "WARNING",
            "POWERTOOLS_METRICS_DISABLED": "false" if o.verbose else "true",
            names.ENV_RETRY_DELAY_SECONDS: str(o.retry_delay_seconds),
            # Keep a third of a short emulated timeout for the hand-off, at most the deployed 30 s.
            names.ENV_TIME_MARGIN_SECONDS: str(min(30.0, o.lambda_timeout / 3)),
            names.ENV_LEASE_GRACE_SECONDS: str(LEASE_GRACE_SECONDS),
            # Pagination tokens are signed with a key of this run's own, as the deployed API's secret.
            names.ENV_TOKEN_KEY: secrets.token_hex(32),
            **res.environment(),
            **o.environment,
        })  # fmt: skip
        os.environ.pop("AWS_PROFILE", None)
        from shared.config import LoaderConfig
        from shared.domain.errors import ConfigError

        try:  # a malformed --env setting is an error now, not in every invocation
            LoaderConfig.from_env()
        except ConfigError as exc:
            raise ValueError(f"--env: {exc}") from exc

    def _start_functions(self, sqs: Any, res: resources.Resources) -> None:
        # Imported only now: the handlers read their configuration from the environment set above.
        from lambdas.api.handler import handler as api_handler
        from lambdas.ingest.handler import handler as ingest_handler
        from lambdas.retry.handler import handler as retry_handler
        from loader.faults import KinesisFaults
        from shared.aws import clients as handler_clients

        o = self.options
        ingest_timeout, retry_timeout = o.lambda_timeout, min(o.lambda_timeout, 300)
        grace = float(os.environ[names.ENV_LEASE_GRACE_SECONDS])
        # Installed first: a killed invocation sends nothing, whatever other hooks would answer.
        self.watch = watch(
            [handler_clients.client(n) for n in ("s3", "dynamodb", "kinesis", "sqs", "events")],
            self.plan,
            {res.ingest_queue_url: "ingest_queue", res.retry_queue_url: "retry_queue"},
        )
        if o.faults:
            faults = KinesisFaults(
                throttle=o.faults.get("kinesis-throttle", 0.0),
                internal=o.faults.get("kinesis-internal", 0.0),
                outage_seconds=o.faults.get("kinesis-outage", 0.0),
            )
            faults.install(handler_clients.client("kinesis"))

        def arn(url: str) -> str:
            return str(
                sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                    "QueueArn"
                ]
            )

        ingest_arn, retry_arn = arn(res.ingest_queue_url), arn(res.retry_queue_url)
        ingest_dlq_arn, retry_dlq_arn = arn(res.ingest_dlq_url), arn(res.retry_dlq_url)
        # each function ends the jobs its dead-letter queue's messages left unfinished
        os.environ[names.ENV_DEAD_LETTER_ARNS] = f"{ingest_dlq_arn},{retry_dlq_arn}"
        dead_letters = [
            EventSource(res.ingest_dlq_url, ingest_dlq_arn, ingest_handler, "ingest", ingest_timeout,
                        batch_size=10, visibility_s=DEAD_LETTER_VISIBILITY_S),
            EventSource(res.retry_dlq_url, retry_dlq_arn, retry_handler, "retry", retry_timeout,
                        batch_size=10, visibility_s=DEAD_LETTER_VISIBILITY_S),
        ]  # fmt: skip
        ingest = EventSource(res.ingest_queue_url, ingest_arn, ingest_handler, "ingest", ingest_timeout,
                             batch_size=names.INGEST_BATCH_SIZE, visibility_s=ingest_timeout + grace + 1)  # fmt: skip
        retry = EventSource(res.retry_queue_url, retry_arn, retry_handler, "retry", retry_timeout,
                            visibility_s=retry_timeout + grace + 1)  # fmt: skip
        self._pollers = [
            QueuePoller(sqs, source, worker)
            for worker in range(o.concurrency)
            for source in (ingest, retry)
        ] + [QueuePoller(sqs, source) for source in dead_letters]
        for poller in self._pollers:
            poller.start()
        self._api = ApiServer(api_handler, o.api_port, o.host)
        self._api.start()

    def stop(self) -> None:
        for poller in self._pollers:
            poller.stop()
        for poller in self._pollers:
            poller.join(timeout=5)
        if self._api:
            self._api.stop()
        if self._server:
            self._server.stop()
        state_file = self.options.state_file
        try:
            if json.loads(state_file.read_text()).get("pid") == os.getpid():
                state_file.unlink()
        except (OSError, ValueError):
            pass

    def wait(self, stop: threading.Event) -> None:
        while not stop.wait(0.5):
            pass


def _check_free(host: str, port: int) -> None:
    """Refuse a port another process listens on. SO_REUSEADDR, as the servers themselves set it, so
    the connections of a stack just stopped (TIME_WAIT) do not keep a restart out for a minute."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise OSError(
                f"port {port} on {host} is in use; choose another with --aws-port / --api-port"
            ) from exc
