"""Rate and time left of a running task, from the current attempt only."""

from __future__ import annotations

import math

# Before this much of the attempt has run, a rate says more about start-up (opening the
# file, the first query) than about the rows: no estimate is shown.
MIN_SECONDS = 3.0
# ... nor before this share of the attempt's rows is done.
MIN_FRACTION = 0.01


def rate(done: int, seconds: float) -> float | None:
    """Rows per second over ``seconds``; None before anything was done."""
    if done <= 0 or seconds <= 0:
        return None
    return done / seconds


def seconds_left(
    *, total: int | None, processed: int, attempt_start: int, attempt_seconds: float
) -> int | None:
    """Whole seconds left, or None while no estimate is meaningful.

    ``attempt_start`` is how many rows were done when the current attempt began, so a
    resumed task is judged by its own pace, not by the pause before it. Never negative,
    and never 0 while rows remain: a last partial second is shown as 1.
    """
    if total is None or processed >= total:
        return None
    done = processed - attempt_start
    todo = total - attempt_start
    if attempt_seconds < MIN_SECONDS or todo <= 0 or done < max(1.0, todo * MIN_FRACTION):
        return None
    per_second = rate(done, attempt_seconds)
    if per_second is None:
        return None
    return max(1, math.ceil((total - processed) / per_second))
