"""Rate and ETA over simulated progress histories: resumes, pauses, bursts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkops import progress
from bulkops.models import BulkTask

# One step of a history: seconds passing, rows done in them, and whether a new attempt
# (a resume after a kill, after waiting in the queue) starts first.
steps = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=600.0, allow_nan=False),
        st.integers(min_value=0, max_value=50_000),
        st.booleans(),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(total=st.integers(min_value=1, max_value=1_000_000), history=steps)
def test_eta_is_never_negative_and_never_zero_before_the_end(
    total: int, history: list[tuple[float, int, bool]]
) -> None:
    processed, attempt_start, attempt_seconds = 0, 0, 0.0
    for seconds, rows, resume in history:
        if resume:
            attempt_start, attempt_seconds = processed, 0.0
        attempt_seconds += seconds
        processed = min(total, processed + rows)
        left = progress.seconds_left(
            total=total,
            processed=processed,
            attempt_start=attempt_start,
            attempt_seconds=attempt_seconds,
        )
        if processed >= total:
            assert left is None
        elif left is not None:
            assert left >= 1


@settings(max_examples=300, deadline=None)
@given(
    total=st.integers(min_value=1_000, max_value=1_000_000),
    earlier=steps,
    rate=st.floats(min_value=1.0, max_value=20_000.0),
    samples=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=20),
)
def test_eta_is_within_20_percent_once_a_tenth_is_done_at_a_steady_rate(
    total: int,
    earlier: list[tuple[float, int, bool]],
    rate: float,
    samples: list[float],
) -> None:
    # Earlier attempts at any pace, then a wait in the queue (never measured: the
    # attempt's clock starts when it is claimed): neither may skew the estimate now.
    done_before = min(total // 2, sum(rows for _, rows, _ in earlier))
    todo = total - done_before
    finish_after = todo / rate
    for share in samples:
        seconds = share * finish_after
        processed = done_before + int(rate * seconds)
        if processed >= total:
            continue
        left = progress.seconds_left(
            total=total,
            processed=processed,
            attempt_start=done_before,
            attempt_seconds=seconds,
        )
        truth = (total - processed) / rate
        if processed - done_before >= todo * 0.10 and seconds >= progress.MIN_SECONDS:
            assert left is not None
            # Whole seconds are shown, rounded up: one second of slack on top of 20%.
            assert abs(left - truth) <= 0.2 * truth + 1, (left, truth)
        assert left is None or left >= 1


@pytest.mark.django_db
def test_a_resumed_task_is_judged_by_its_current_attempt() -> None:
    now = timezone.now()
    # Started 7 minutes ago, killed at 1,000 rows, resumed 20 s ago: 2,000 rows since.
    task = BulkTask.objects.create(
        operation="update",
        status="running",
        total=10_000,
        processed=3_000,
        started_at=now - timedelta(minutes=7),
        attempt_started_at=now - timedelta(seconds=20),
        attempt_start_processed=1_000,
    )

    assert task.rate == pytest.approx(100, rel=0.05)
    assert task.eta is not None
    assert task.eta.total_seconds() == pytest.approx(70, rel=0.1)


@pytest.mark.django_db
def test_no_eta_before_it_means_something_nor_once_every_row_is_done() -> None:
    now = timezone.now()
    just_started = BulkTask(
        status="running", total=10_000, processed=50, started_at=now - timedelta(seconds=1)
    )
    writing_the_file = BulkTask(
        status="running", total=10_000, processed=10_000, started_at=now - timedelta(minutes=1)
    )

    assert just_started.eta is None
    assert writing_the_file.eta is None
