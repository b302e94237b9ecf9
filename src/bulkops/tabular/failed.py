"""The failed rows of one import run, kept as they are found, for the error report.

The import meets every failed row once, with its values exactly as uploaded; keeping
them here means the report never reads the file a second time. Memory stays bounded:
past ``memory_rows`` rows they go to a temporary file as JSON lines, with their types
kept (the stored table's encoding), and come back in file order.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Sequence
from typing import IO

from .cells import CellValue, ErrorCell
from .stored import _decode, _encode

FailedRow = tuple[int, list[CellValue], list[str]]
MEMORY_ROWS = 2000
"""Failed rows held in memory before they go to the temporary file."""


class FailedRows:
    """Append-only, in file order; iterate once the run is over."""

    def __init__(self, memory_rows: int | None = None) -> None:
        self.memory_rows = memory_rows or MEMORY_ROWS
        self.count = 0
        self._rows: list[FailedRow] = []
        self._spill: IO[bytes] | None = None
        self._encode = json.JSONEncoder(
            ensure_ascii=False, default=_encode, check_circular=False
        ).encode

    def add(self, number: int, values: Sequence[CellValue], messages: list[str]) -> None:
        self._rows.append((number, list(values), messages))
        self.count += 1
        if len(self._rows) >= self.memory_rows:
            self._flush()

    def _flush(self) -> None:
        if self._spill is None:
            self._spill = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        rows = [
            # An ErrorCell is a str: JSON would give it back as plain text without this.
            (n, [_encode(v) if v.__class__ is ErrorCell else v for v in values], m)
            for n, values, m in self._rows
        ]
        self._spill.write(self._encode(rows).encode() + b"\n")
        self._rows = []

    def __iter__(self) -> Iterator[FailedRow]:
        if self._spill is not None:
            self._spill.flush()
            self._spill.seek(0)
            while line := self._spill.readline():
                for number, values, messages in json.loads(line):
                    decoded = [v if v.__class__ is not dict else _decode(v) for v in values]
                    yield int(number), decoded, [str(m) for m in messages]
            self._spill.seek(0, 2)
        yield from self._rows

    def close(self) -> None:
        if self._spill is not None:
            self._spill.close()
            self._spill = None
        self._rows = []

    def __enter__(self) -> FailedRows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
