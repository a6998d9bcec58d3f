"""The ingest service: routes each message to the way its job runs (a chain of invocations for one
object, parallel ranges for a huge one, a batch for small files) and keeps the function's boundary:
what a failure does to the job and to the message."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import orjson
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from shared.config import LoaderConfig
from shared.domain.errors import ConfigError, JobBusyError, LeaseLostError
from shared.domain.failures import Failure, dead_lettered
from shared.domain.jobs import JobStatus, ObjectRef
from shared.domain.timestamps import now_iso
from shared.functions.boundary import settle_failure
from shared.functions.lambda_context import LambdaContext
from shared.functions.observability import log_job, logger
from shared.functions.queue_batch import handle_queue_batch

from .batch import IngestBatch, handle_record
from .chain import Chain
from .context import IngestPorts, RunContext, finished_status
from .fanout import FanOutRuns
from .ledger import Report
from .messages import Continuation, Message, RangeTask, parse_message
from .small import SmallFile, SmallFiles

__all__ = ["IngestPorts", "IngestService", "Report", "finished_status"]


class IngestService:
    def __init__(
        self,
        config: LoaderConfig,
        ports: IngestPorts,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config, self.ports = config, ports
        self.run = RunContext(config, ports, clock, monotonic, sleep)
        self.fanout = FanOutRuns(self.run) if ports.ranges is not None else None
        self.chain = Chain(self.run, self.fanout.split if self.fanout is not None else None)
        self.small = SmallFiles(self.run)

    def handle_batch(
        self, event: dict[str, Any], context: LambdaContext
    ) -> PartialItemFailureResponse:
        """One invocation's SQS batch, planned in `batch.py`; a dead-letter queue's, settled."""
        return handle_queue_batch(
            event, context, dead_letter_arns=self.config.dead_letter_arns,
            settle_one=self._settle_one, record_handler=functools.partial(handle_record, router=self),
            processor=IngestBatch(self),
        )  # fmt: skip

    def _settle_one(self, body: str, receives: object) -> None:
        for message in parse_message(body):
            self.settle_dead_letter(message, receives)

    # -- a batch's small files, together ------------------------------------------------
    def small_file(self, message: Message) -> bool:
        """Whether a message is a small object's event that can run with others (its version known,
        its size at most LOADER_SMALL_FILE_BYTES)."""
        c = self.config
        return (
            isinstance(message, ObjectRef)
            and c.small_file_bytes > 0
            and message.version_id is not None
            and message.size is not None
            and message.size <= c.small_file_bytes
            and self._incoming(message)
        )

    def run_small(
        self, files: list[SmallFile], context: LambdaContext
    ) -> tuple[set[str], list[SmallFile]]:
        """Small files' records in shared requests; returns the message ids to redeliver and the
        files left to the regular path."""
        try:
            return self.small.handle(files, context)
        finally:
            self.ports.events.flush()

    def hand_on(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Put SQS records' bodies back on the ingest queue as fresh messages, each for an invocation
        of its own; returns the records that were not (a malformed body, a refused send): those run
        here, after the first."""
        kept: list[dict[str, Any]] = []
        for record in records:
            try:
                body = orjson.loads(record["body"])
                if not isinstance(body, dict):
                    raise ValueError("not a JSON object")
                self.ports.ingest_queue.send(body)
            except Exception as exc:  # the regular path reports a malformed body or fails the send
                logger.info("message kept in this invocation", extra={"reason": str(exc)})
                kept.append(record)
        logger.info("messages handed on", extra={"messages": len(records) - len(kept)})
        return kept

    # -- entry points -----------------------------------------------------------
    def handle(self, message: Message, context: LambdaContext, final: bool = False) -> Report:
        """One message. `final`: its last delivery, so a job must not be left unfinished by it.

        The boundary of the function: a failure of the file fails its job at once (repeating cannot
        help); an infrastructure failure is raised for the queue to redeliver, and on the last
        delivery fails the job first, leaving the message to the dead-letter queue for inspection.
        """
        job_id = message.job_id
        try:
            if isinstance(message, Continuation):
                return self.chain.resume(job_id, message.hop, context, final)
            if isinstance(message, RangeTask):
                if self.fanout is None:
                    raise ConfigError("a range message reached an ingest without ranges")
                return self.fanout.handle(message, context, final)
            if not self._incoming(message):
                logger.info(
                    "object outside the incoming prefix ignored", extra={"key": message.key}
                )
                return Report(job_id, "ignored")
            return self.chain.open(message, context, final)
        except (LeaseLostError, JobBusyError) as exc:
            # Another invocation holds the job: it may die holding it, with this very message (a
            # redelivery while it runs), so the message comes back later, unless this is its last
            # delivery (the holder then ends the job, or the holder's own message does).
            if final:
                logger.warning(
                    "job held by another invocation; message dropped", extra={"reason": str(exc)}
                )
                return Report(job_id, "skipped")
            logger.info("job held by another invocation; the message comes back later",
                        extra={"reason": str(exc)})  # fmt: skip
            raise
        except Exception as exc:
            settle_failure(exc, final, lambda failure: self._fail_unfinished(message, failure))
            return Report(job_id, JobStatus.FAILED)
        finally:
            self.ports.events.flush()

    def settle_dead_letter(self, message: Message, receives: object) -> None:
        """A message the queue gave up on (from the dead-letter queue): its job must not stay
        unfinished. It is failed (created first when no delivery got that far), unless a live
        invocation holds it (that one ends it); a job cut into ranges whose range task is dead
        cannot finish either."""
        log_job(message.job_id)
        if isinstance(message, ObjectRef) and not self._incoming(message):
            return  # never a job's
        try:
            self._fail_unfinished(message, dead_lettered(receives))
        finally:
            self.ports.events.flush()

    def _fail_unfinished(self, message: Message, failure: Failure) -> None:
        jobs = self.ports.jobs
        if isinstance(message, ObjectRef) and jobs.get(message.job_id) is None:
            jobs.create(message, message.size or 0, None, None, now_iso())
        self.run.fail_unfinished(message.job_id, failure, cut=isinstance(message, RangeTask))

    def _incoming(self, ref: ObjectRef) -> bool:
        """Whether an object is an upload's (under the incoming prefix, not a spilled payload)."""
        c = self.config
        return ref.key.startswith(c.incoming_prefix) and not ref.key.startswith(c.spill_prefix)
