"""A Reporter that records everything, standing in for the run context in sync tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RecordingReporter:
    total: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[tuple[str, str, str]] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    on_advance: Callable[[], None] | None = None

    def add_total(self, count: int) -> None:
        self.total += count

    def advance(self, *, succeeded: int = 0, failed: int = 0, skipped: int = 0) -> None:
        self.succeeded += succeeded
        self.failed += failed
        self.skipped += skipped
        if self.on_advance:
            self.on_advance()

    def row_error(self, key: str, message: str, *, field: str = "") -> None:
        self.errors.append((key, field, message))

    def stage(self, text: str) -> None:
        self.stages.append(text)

    def check_cancelled(self) -> None:
        pass
