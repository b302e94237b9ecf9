"""A tiny benchmark harness: timed rows collected into one table with ratios.

Absolute times are noisy on shared machines; every row that matters compares two
things measured in the same run, side by side, and states its target as a ratio.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Row:
    group: str
    name: str
    value: float
    unit: str
    baseline: str = ""
    ratio: float | None = None
    target: str = ""
    ok: bool | None = None
    note: str = ""


class Report:
    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(self, group: str, name: str, value: float, unit: str, **kwargs: Any) -> Row:
        row = Row(group, name, value, unit, **kwargs)
        self.rows.append(row)
        print(f"  {group} | {name}: {_fmt(value)} {unit}", flush=True)
        return row

    def compare(
        self,
        group: str,
        name: str,
        seconds: float,
        *,
        baseline_name: str,
        baseline_seconds: float,
        at_least: float | None = None,
        at_most: float | None = None,
        higher_is_better: bool = True,
        note: str = "",
    ) -> Row:
        """A timed row beside its baseline: ratio = baseline time / this time (speed-up)."""
        ratio = baseline_seconds / seconds if higher_is_better else seconds / baseline_seconds
        ok = None
        target = ""
        if at_least is not None:
            ok, target = ratio >= at_least, f">= {at_least:g}x"
        if at_most is not None:
            ok, target = ratio <= at_most, f"<= {at_most:g}x"
        return self.add(
            group,
            name,
            seconds,
            "s",
            baseline=baseline_name,
            ratio=ratio,
            target=target,
            ok=ok,
            note=note,
        )

    def print(self) -> None:
        headers = ["group", "measurement", "value", "unit", "vs", "ratio", "target", "ok", "note"]
        table = [
            [
                r.group,
                r.name,
                _fmt(r.value),
                r.unit,
                r.baseline,
                "" if r.ratio is None else f"{r.ratio:.2f}x",
                r.target,
                "" if r.ok is None else ("yes" if r.ok else "NO"),
                r.note,
            ]
            for r in self.rows
        ]
        widths = [max(len(str(c)) for c in col) for col in zip(headers, *table, strict=False)]
        line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)) + " |"
        print()
        print(line)
        print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for cells in table:
            print(
                "| "
                + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False))
                + " |"
            )


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.4f}"


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_time(
    fn: Callable[[], Any], *, repeat: int = 3, setup: Callable[[], Any] | None = None
) -> float:
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        times.append(timed(fn))
    return statistics.median(times)


def peak_memory(fn: Callable[[], Any]) -> tuple[float, int]:
    """Seconds and peak bytes allocated by Python while fn runs (tracemalloc)."""
    tracemalloc.start()
    try:
        seconds = timed(fn)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return seconds, peak


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]
