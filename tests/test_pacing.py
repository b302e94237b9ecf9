"""Chunks sized by time (short on SQLite, with turns and pauses; growing elsewhere)."""

from __future__ import annotations

import fcntl
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction

from bulkops.operations.pacing import Pacer


def chunk(pacer: Pacer, seconds_per_row: float) -> int:
    rows = pacer.size()
    pacer.begin()
    time.sleep(rows * seconds_per_row)
    pacer.end(rows)
    return rows


@pytest.mark.django_db(transaction=True)
def test_on_sqlite_slow_rows_get_small_chunks_and_fast_rows_the_full_size(
    settings: Any,
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("chunks are sized by time on SQLite only")
    settings.BULKOPS = {**settings.BULKOPS, "SQLITE_CHUNK_SECONDS": 0.02}
    slow = Pacer("default", 1000)
    sizes = [chunk(slow, 0.001) for _ in range(4)]
    # 1 ms a row and 20 ms a chunk: about 20 rows, whatever the asked size.
    assert sizes[0] == 50
    assert all(size <= 25 for size in sizes[1:]), sizes

    fast = Pacer("default", 1000)
    sizes = [chunk(fast, 0) for _ in range(7)]
    assert sizes == [50, 100, 200, 400, 800, 1000, 1000]  # doubling, capped


@pytest.mark.django_db(transaction=True)
def test_on_sqlite_workers_take_turns_and_leave_the_database_free_after_a_chunk(
    settings: Any,
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("turns are taken on SQLite only")
    settings.BULKOPS = {**settings.BULKOPS, "SQLITE_CHUNK_PAUSE": 0.05}
    pacer = Pacer("default", 100)
    lock = Path(f"{connection.settings_dict['NAME']}-bulkops.lock")
    pacer.begin()
    # Another worker cannot take its turn while this one holds it.
    with open(lock, "ab") as other:
        with pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        started = time.perf_counter()
        pacer.end(100)
        assert time.perf_counter() - started >= 0.05  # the pause, database unlocked
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # then the turn is free


@pytest.mark.django_db(transaction=True)
def test_inside_an_outer_transaction_there_is_no_pause_and_no_turn(settings: Any) -> None:
    settings.BULKOPS = {**settings.BULKOPS, "SQLITE_CHUNK_PAUSE": 0.5}
    pacer = Pacer("default", 100)
    with transaction.atomic():
        started = time.perf_counter()
        pacer.begin()
        pacer.end(100)
        assert time.perf_counter() - started < 0.25
        assert pacer._lock is None


@pytest.mark.django_db
def test_other_databases_keep_the_fixed_row_count(settings: Any) -> None:
    if connection.vendor == "sqlite":
        pytest.skip("about row-locking databases")
    settings.BULKOPS = {**settings.BULKOPS, "CHUNK_SECONDS": 0.2, "MAX_CHUNK_SIZE": 5000}
    # A size asked for with the job is kept, however fast its chunks are.
    pacer = Pacer("default", 700, fixed=True)
    assert [chunk(pacer, 0) for _ in range(3)] == [700, 700, 700]
    # CHUNK_SECONDS 0 keeps CHUNK_SIZE.
    settings.BULKOPS = {**settings.BULKOPS, "CHUNK_SECONDS": 0}
    pacer = Pacer("default", 700)
    assert [chunk(pacer, 0) for _ in range(3)] == [700, 700, 700]


@pytest.mark.django_db
def test_elsewhere_fast_chunks_grow_to_the_most_and_slow_ones_shrink_to_chunk_size(
    settings: Any,
) -> None:
    if connection.vendor == "sqlite":
        pytest.skip("about row-locking databases")
    settings.BULKOPS = {**settings.BULKOPS, "CHUNK_SECONDS": 0.05, "MAX_CHUNK_SIZE": 5000}
    pacer = Pacer("default", 700)
    # Chunks far under 50 ms double, up to MAX_CHUNK_SIZE.
    assert [chunk(pacer, 0) for _ in range(5)] == [700, 1400, 2800, 5000, 5000]
    # 0.1 ms a row: a 5,000-row chunk takes 0.5 s, ten times too long; the next one
    # fits about 500 rows, but never fewer than CHUNK_SIZE.
    assert chunk(pacer, 0.0001) == 5000
    assert pacer.size() == 700
