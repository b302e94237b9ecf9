"""Values already met earlier in one import's file, compared exactly, in bounded memory.

The import refuses a row whose key (or another unique value) repeats an earlier row of
the same file. Comparing ``hash(key)`` is wrong twice over: different keys share a hash
(``hash((-1,)) == hash((-2,))`` in CPython) and ``str`` hashes change per process, so a
resume in another worker would miss duplicates. Values are encoded instead into exact,
process-independent bytes (:func:`encode`) and kept in a set; past ``memory_limit``
values the set moves into a SQLite file in the temp directory (the stdlib's sqlite3, an
indexed ``WITHOUT ROWID`` table), so a million-row file costs a few MB of memory. A
resumed import rebuilds the store from the rows before its checkpoint (see the import).
"""

from __future__ import annotations

import datetime
import decimal
import sqlite3
import tempfile
import uuid
from collections.abc import Sequence
from typing import Any

MEMORY_LIMIT = 50_000
_SQL_BATCH = 500  # under SQLite's default limit of host parameters per statement
# SQLite 3.35 (2021) and later answer an INSERT with the rows it inserted.
_RETURNING = sqlite3.sqlite_version_info >= (3, 35)
_INSERT_ROWS = _SQL_BATCH // 2  # two parameters a row
_INSERT_NEW = (
    f"INSERT INTO seen VALUES {','.join(['(?, ?)'] * _INSERT_ROWS)} "  # noqa: S608 - only "?" marks
    "ON CONFLICT DO NOTHING RETURNING v"
)
_SELECT = f"SELECT v FROM seen WHERE g = ? AND v IN ({','.join('?' * _SQL_BATCH)})"  # noqa: S608


def _canonical(value: Any) -> str:
    # Equal in the database means equal here: 1.0 and 1.00 are one numeric value, and an
    # aware datetime is an instant whatever its zone.
    if isinstance(value, decimal.Decimal):
        if value.is_finite():
            value = value.normalize() if value else decimal.Decimal(0)  # -0 is 0
        return f"d{value}"
    if isinstance(value, bool):
        return f"b{int(value)}"
    if isinstance(value, int):
        return f"i{value}"
    if isinstance(value, float):
        return f"f{value + 0.0!r}"
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc)  # noqa: UP017 - 3.10
        return f"t{value.isoformat()}"
    if isinstance(value, datetime.date | datetime.time | datetime.timedelta):
        return f"{type(value).__name__[0:2]}{value}"
    if isinstance(value, uuid.UUID):
        return f"u{value.hex}"
    if isinstance(value, bytes | memoryview):
        return f"x{bytes(value).hex()}"
    return f"s{value}"


def encode(values: Sequence[Any]) -> bytes:
    """The exact bytes of a tuple of values; no two different tuples share them."""
    if len(values) == 1:
        # The usual key: one text or number column; a lone part needs no boundary.
        value = values[0]
        kind = type(value)
        if kind is str:
            return ("s" + value).encode("utf-8", "surrogatepass")
        if kind is int:
            return b"i%d" % value
        return _canonical(value).encode("utf-8", "surrogatepass")
    # Each part is length-prefixed, so no separator inside a value can fake a boundary.
    parts = [_canonical(v) for v in values]
    return "".join(f"{len(p)}:{p}" for p in parts).encode("utf-8", "surrogatepass")


class SeenValues:
    """Exact membership for several groups of values (the key, each other unique set)."""

    def __init__(self, memory_limit: int = MEMORY_LIMIT) -> None:
        self.memory_limit = memory_limit
        self._sets: dict[int, set[bytes]] = {}
        self._size = 0
        self._db: sqlite3.Connection | None = None
        self._file: Any = None

    def __len__(self) -> int:
        return self._size

    def check_and_add(self, group: int, encoded: list[bytes]) -> list[bool]:
        """For each value in order: was it met before (earlier chunks or earlier in the list)?"""
        if self._db is None and self._size + len(encoded) > self.memory_limit:
            self._spill()
        if self._db is None:
            seen = self._sets.setdefault(group, set())
            flags = []
            for value in encoded:
                if value in seen:
                    flags.append(True)
                else:
                    seen.add(value)
                    flags.append(False)
                    self._size += 1
            return flags
        return self._check_and_add_stored(group, encoded)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._file is not None:
            self._file.close()
            self._file = None
        self._sets.clear()

    # Spilled to SQLite ---------------------------------------------------------------
    def _spill(self) -> None:
        self._file = tempfile.NamedTemporaryFile(prefix="bulkops-seen-", suffix=".sqlite3")  # noqa: SIM115 - lives as long as the store
        db = sqlite3.connect(self._file.name, isolation_level=None)
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-4096")  # 4 MB of page cache at most
        db.execute("CREATE TABLE seen (g INTEGER, v BLOB, PRIMARY KEY (g, v)) WITHOUT ROWID")
        db.execute("BEGIN")
        for group, values in self._sets.items():
            db.executemany("INSERT INTO seen VALUES (?, ?)", ((group, v) for v in values))
        db.execute("COMMIT")
        self._sets.clear()
        self._db = db

    def _check_and_add_stored(self, group: int, encoded: list[bytes]) -> list[bool]:
        assert self._db is not None
        if not _RETURNING:
            return self._select_then_insert(group, encoded)
        # One statement per part: the values it inserts are the new ones; a value it
        # skips was stored before.
        new: set[bytes] = set()
        distinct = list(dict.fromkeys(encoded))
        self._db.execute("BEGIN")
        for start in range(0, len(distinct), _INSERT_ROWS):
            part = distinct[start : start + _INSERT_ROWS]
            # Padded to one length (a repeat inserts nothing): one prepared statement.
            part += [part[-1]] * (_INSERT_ROWS - len(part))
            rows = self._db.execute(
                _INSERT_NEW, [item for value in part for item in (group, value)]
            )
            new.update(row[0] for row in rows)
        self._db.execute("COMMIT")
        self._size += len(new)
        flags = []
        for value in encoded:
            if value in new:
                new.discard(value)  # its first occurrence; any later one is a repeat
                flags.append(False)
            else:
                flags.append(True)
        return flags

    def _select_then_insert(self, group: int, encoded: list[bytes]) -> list[bool]:
        assert self._db is not None
        known: set[bytes] = set()
        distinct = list(dict.fromkeys(encoded))
        for start in range(0, len(distinct), _SQL_BATCH):
            part = distinct[start : start + _SQL_BATCH]
            # Always _SQL_BATCH marks (the last value repeated): one prepared statement
            # for the whole import, where a statement per length would fill sqlite3's
            # statement cache with hundreds of large ones.
            part += [part[-1]] * (_SQL_BATCH - len(part))
            rows = self._db.execute(_SELECT, (group, *part))
            known.update(row[0] for row in rows)
        flags = []
        new: list[bytes] = []
        for value in encoded:
            if value in known:
                flags.append(True)
            else:
                known.add(value)
                new.append(value)
                flags.append(False)
        if new:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO seen VALUES (?, ?)", ((group, v) for v in new))
            self._db.execute("COMMIT")
            self._size += len(new)
        return flags
