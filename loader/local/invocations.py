"""Emulated invocations that end as Lambda's do: at their timeout, or at a crash point.

Each invocation runs in a thread of its own, under a context variable naming it (carried into the
threads it starts). When the invocation is killed (its timeout passed, or it reached an armed crash
point) every later AWS call it makes raises `Killed` before anything is sent, so no code of the
function changes the world after it: no `except`, `finally`, lease release or checkpoint lands. The
event source sees a killed invocation as Lambda's does: nothing deleted, the message comes back after
its visibility timeout; the API answers 502.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from loader.crash_points import ADAPTER_PORTS, WRITES, CrashPlan, written

log = logging.getLogger("loader.local")

WRITE_OPERATIONS = frozenset({
    "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem",
    "PutRecords", "PutRecord", "SendMessage", "SendMessageBatch", "PutEvents",
    "PutObject", "DeleteObject", "DeleteObjects", "CopyObject",
})  # fmt: skip
_METHODS = {(port, method) for writes in WRITES.values() for port, method, _ in writes}


class Killed(BaseException):
    """The emulated invocation is dead: nothing of it reaches AWS any more."""


@dataclass
class Invocation:
    function: str
    timeout_s: float
    killed: str | None = None
    ended: threading.Event = field(default_factory=threading.Event)

    def kill(self, why: str) -> None:
        if self.killed is None:
            self.killed = why
        self.ended.set()


CURRENT: contextvars.ContextVar[Invocation | None] = contextvars.ContextVar(
    "loader_invocation", default=None
)


@dataclass
class Outcome:
    result: Any = None
    error: BaseException | None = None
    killed: str | None = None


def run(
    function: str, handler: Any, event: dict[str, Any], context: Any, timeout_s: float
) -> Outcome:
    """Invoke `handler` as Lambda would and wait for it, at most `timeout_s`."""
    invocation, outcome = Invocation(function, timeout_s), Outcome()

    def body() -> None:
        CURRENT.set(invocation)
        try:
            outcome.result = invoke(handler, event, context)
        except Killed:
            pass
        except BaseException as exc:  # the event source sees the invocation fail
            outcome.error = exc
        finally:
            invocation.ended.set()

    thread = threading.Thread(target=body, name=f"{function}-invocation", daemon=True)
    thread.start()
    if not invocation.ended.wait(timeout_s):
        invocation.kill(f"timed out after {timeout_s:g} s{_where(thread)}")
    outcome.killed = invocation.killed
    if outcome.killed:
        log.warning("%s: invocation killed (%s)", function, outcome.killed)
    return outcome


def _where(thread: threading.Thread) -> str:
    """Where the function's own code was when its time ran out (as Lambda's timeout log helps)."""
    frame = sys._current_frames().get(thread.ident or -1)
    found = ""
    while frame is not None:
        path = frame.f_code.co_filename
        if found == "" and ("/shared/" in path or "/lambdas/" in path):
            found = f" in {frame.f_code.co_name} ({path.rsplit('/', 2)[-2]}/{path.rsplit('/', 1)[-1]}:{frame.f_lineno})"
        frame = frame.f_back
    return found


def invoke(handler: Any, event: dict[str, Any], context: Any) -> Any:
    """Run a handler as Lambda would, in this thread. Powertools keeps the Lambda context's log keys
    process-wide, and the local stack runs its functions side by side in one process, so the keys
    of this invocation are also set for this thread alone (thread keys win): its log lines name
    this function, whatever another function's invocation set meanwhile."""
    from shared.functions.observability import logger

    logger.thread_safe_append_keys(
        function_name=context.function_name, function_request_id=context.aws_request_id
    )
    try:
        return handler(event, context)
    finally:
        logger.thread_safe_clear_keys()


class WriteWatch:
    """botocore hooks on the functions' clients: a killed invocation sends nothing more, and each
    write of an invocation is a crash point, before and after it. Writes that no listed point
    covers are kept in `unlisted` (the tests check there are none)."""

    def __init__(self, plan: CrashPlan, queue_ports: dict[str, str]) -> None:
        self.plan, self._queue_ports = plan, queue_ports
        self.unlisted: list[str] = []
        self.reached: set[str] = set()

    def install(self, client: Any) -> WriteWatch:
        client.meta.events.register("before-call", self._before)
        client.meta.events.register("after-call", self._after)
        return self

    def _before(self, event_name: str, **_: Any) -> None:
        invocation = CURRENT.get()
        if invocation is None:
            return  # the stack's own calls
        if invocation.killed:
            raise Killed(invocation.killed)
        self._reach(invocation, event_name, "before")

    def _after(self, event_name: str, **_: Any) -> None:
        invocation = CURRENT.get()
        if invocation is None or invocation.killed:
            return  # the write happened; a killed invocation stops at its next call
        self._reach(invocation, event_name, "after")

    def _reach(self, invocation: Invocation, event_name: str, side: str) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        if operation not in WRITE_OPERATIONS:
            return
        site = self._site()
        if site is None or site not in written(invocation.function):
            where = f"{site[0]}.{site[1]}" if site else "no port method"
            self.unlisted.append(f"{invocation.function}: {operation} from {where}")
            return
        point = f"{invocation.function}.{site[0]}.{site[1]}.{side}"
        self.reached.add(point)
        if self.plan.reached(point):
            invocation.kill(f"crash point {point}")
            raise Killed(point)

    def _site(self) -> tuple[str, str] | None:
        """The port method making this call: the innermost frame of a listed method of an adapter."""
        frame: Any = sys._getframe(1)
        while frame is not None:
            owner = frame.f_locals.get("self")
            if owner is not None:
                cls = type(owner).__name__
                port = (
                    self._queue_ports.get(getattr(owner, "url", ""), "queue")
                    if cls == "Queue"
                    else ADAPTER_PORTS.get(cls)
                )
                if port is not None and (port, frame.f_code.co_name) in _METHODS:
                    return port, frame.f_code.co_name
            frame = frame.f_back
        return None


_submit = ThreadPoolExecutor.submit
_installed = threading.Lock()


def carry_context_into_pools() -> None:
    """Threads a function starts through a ThreadPoolExecutor belong to its invocation (as they would
    to its Lambda process): each task runs in a copy of its submitter's context."""
    with _installed:
        if getattr(ThreadPoolExecutor.submit, "carries_context", False):
            return

        def submit(self: ThreadPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            return _submit(self, contextvars.copy_context().run, fn, *args, **kwargs)

        submit.carries_context = True  # type: ignore[attr-defined]
        ThreadPoolExecutor.submit = submit  # type: ignore[method-assign,assignment]


def watch(clients: list[Any], plan: CrashPlan, queue_ports: dict[str, str]) -> WriteWatch:
    carry_context_into_pools()
    w = WriteWatch(plan, queue_ports)
    for client in clients:
        w.install(client)
    return w
