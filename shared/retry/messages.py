"""Retry requests on the retry queue: automatic rounds, and what the API asks for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from shared.domain.errors import MalformedMessageError


@dataclass(frozen=True, slots=True)
class RetryRequest:
    job_id: str
    round: int = 1
    include_dead: bool = False
    seqs: tuple[int, ...] | None = None
    not_before: float = 0.0  # epoch seconds: waits longer than SQS's 15 minutes are chained
    requested: bool = False  # asked through the API

    def body(self, **changes: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"job_id": self.job_id, "round": self.round}
        if self.include_dead:
            out["include_dead"] = True
        if self.seqs is not None:
            out["seqs"] = list(self.seqs)
        if self.not_before:
            out["not_before"] = self.not_before
        if self.requested:
            out["requested"] = True
        out.update(changes)
        return out


def parse_retry(body: str) -> RetryRequest:
    try:
        doc = orjson.loads(body)
        seqs = doc.get("seqs")
        return RetryRequest(
            job_id=str(doc["job_id"]),
            round=int(doc.get("round", 1)),
            include_dead=bool(doc.get("include_dead", False)),
            seqs=tuple(int(s) for s in seqs) if seqs is not None else None,
            not_before=float(doc.get("not_before", 0.0)),
            requested=bool(doc.get("requested", False)),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MalformedMessageError(f"not a retry request: {exc}") from exc
