"""Clean the next chunk while PostgreSQL is still storing the current one.

The import hands ``ctx.batches()`` a :class:`Prefetcher` instead of the table's rows.
While a chunk's COPY is in flight (the server works in its own process), the import
reads the next chunk into the prefetcher and cleans its cells; that chunk's batch then
finds the work done. Only the database-free part of cleaning runs early, so nothing
touches the connection during the COPY.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from itertools import islice

from bulkops.tabular.definition import BoundImport, CellsCleaned, ChunkResult
from bulkops.tabular.readers import Row


class Prefetcher:
    def __init__(self, rows: Iterator[Row], bound: BoundImport, size: Callable[[], int]) -> None:
        self.rows = rows
        self.bound = bound
        self.size = size
        self.buffer: deque[Row] = deque()
        self.ready: CellsCleaned | None = None

    @property
    def buffered(self) -> int:
        """Rows read ahead: the next chunk is exactly these (see ``RunContext.batches``)."""
        return len(self.buffer)

    def __iter__(self) -> Iterator[Row]:
        return self

    def __next__(self) -> Row:
        if self.buffer:
            return self.buffer.popleft()
        return next(self.rows)

    def fetch_ahead(self) -> None:
        """Read and clean the next chunk; safe to call while a COPY is in flight."""
        if self.buffer:
            return
        chunk = list(islice(self.rows, self.size()))
        if not chunk:
            return
        self.buffer.extend(chunk)
        try:
            self.ready = self.bound.clean_cells(chunk)
        except Exception:  # noqa: BLE001 - cleaned again in its own batch, errors surface there
            self.ready = None

    def clean(self, items: list[Row]) -> ChunkResult:
        """The cleaned chunk for a batch's items, from the prefetch when it matches."""
        ready, self.ready = self.ready, None
        if (
            ready is not None
            and items
            and ready.size == len(items)
            and ready.first_row == items[0][0]
        ):
            return self.bound.finish_chunk(ready)
        return self.bound.clean_chunk(items)
