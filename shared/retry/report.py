"""What one retry message did."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class RetryReport:
    job_id: str
    outcome: str  # skipped | busy | deferred | continued | scheduled | finished | idle | failed
    recovered: int = 0
    failed: int = 0
    dead: int = 0
    calls: int = 0
    notes: list[str] = field(default_factory=list)
