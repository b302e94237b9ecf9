from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from bulkops.contrib.zk.simulator import SimulatedDevice, Simulator


@pytest.fixture
def make_simulator() -> Iterator[Callable[..., Simulator]]:
    """Start simulators on free ports; all are stopped after the test."""
    started: list[Simulator] = []

    def make(device: SimulatedDevice | None = None, **kwargs: Any) -> Simulator:
        sim = Simulator(device or SimulatedDevice(), **kwargs).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@contextmanager
def finishes_within(seconds: float) -> Iterator[None]:
    """Fail unless the block returns (or raises) within ``seconds``: proof of no hang."""
    start = time.monotonic()
    yield
    elapsed = time.monotonic() - start
    assert elapsed < seconds, f"took {elapsed:.1f} s, limit {seconds} s"
