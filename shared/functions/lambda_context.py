"""What the services read of a Lambda invocation's context (the emulated one of the local stack, a
test's fake, or Lambda's own)."""

from __future__ import annotations

from typing import Protocol


class LambdaContext(Protocol):
    @property
    def aws_request_id(self) -> str: ...

    def get_remaining_time_in_millis(self) -> int: ...
