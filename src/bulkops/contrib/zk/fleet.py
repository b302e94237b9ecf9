"""Reading many time clocks at once.

The slow part of a download is the device: connecting and transferring its log.
That runs on worker threads, one per device (up to ``PARALLEL_DEVICES``), while
the caller's thread takes the leases, writes the device rows and stores the
records, device by device, as each download arrives. So the database is only
touched from the thread that runs the task, and its transactions, checkpoints
and row errors stay exactly those of a single-device download.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Generic, TypeVar

from .exceptions import DeviceError
from .models import Device
from .sessions import DeviceSession, remember_contact

S = TypeVar("S", bound=DeviceSession)

#: Seconds between lease renewals (and ticks) while downloads run.
TICK = 1.0
R = TypeVar("R")


@dataclass
class Opened(Generic[S, R]):
    """One device's session and what ``read`` returned, or the error that stopped it."""

    device: Device
    session: S
    value: R | None = None
    error: DeviceError | None = None


def open_all(
    sessions: list[S],
    read: Callable[[S], R],
    *,
    workers: int,
    tick: Callable[[], None] | None = None,
) -> Generator[Opened[S, R], None, None]:
    """Open every session and run ``read`` on it, in parallel; yield each device as it
    is ready (or failed). Sessions yielded without an error are the caller's to close;
    the rest are closed here, also when the caller stops early. While waiting, the
    leases of the devices still being read are renewed and ``tick`` is called (about
    once a second), so a long download keeps its leases and its task's heartbeat."""
    pending: dict[Future[R], S] = {}
    failed: list[Opened[S, R]] = []
    for session in sessions:
        try:
            session.take_lease()
        except DeviceError as exc:
            failed.append(Opened(session.device, session, error=exc))
    yield from failed
    leased = [s for s in sessions if all(f.session is not s for f in failed)]
    if not leased:
        return
    pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(leased))))
    try:
        for session in leased:
            pending[pool.submit(_open_and_read, session, read)] = session
        while pending:
            finished, _running = wait(list(pending), timeout=TICK, return_when=FIRST_COMPLETED)
            for session in pending.values():
                session.keep_alive()
            if tick is not None:
                tick()
            for future in finished:
                yield from _handed_out(pending.pop(future), future)
    finally:
        # Stopped early (cancel, crash): let the running downloads end, then unlock
        # and disconnect every device that was not handed out.
        pool.shutdown(wait=True, cancel_futures=True)
        for session in pending.values():
            session.close()


def _handed_out(session: S, future: Future[R]) -> Iterator[Opened[S, R]]:
    try:
        value = future.result()
    except DeviceError as exc:
        session.close()
        yield Opened(session.device, session, error=exc)
        return
    except BaseException:
        session.close()
        raise
    remember_contact(session.device, session.info)
    yield Opened(session.device, session, value=value)


def _open_and_read(session: S, read: Callable[[S], R]) -> R:
    try:
        session.open_device()
        return read(session)
    except BaseException:
        session.close_device()
        raise
