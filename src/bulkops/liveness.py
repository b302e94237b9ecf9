"""Who holds a running task, and whether that process still exists (read from /proc)."""

from __future__ import annotations

import os
import socket


def worker_id() -> str:
    """``host:pid:start``; the start time tells a reused pid from the process that died."""
    # Read at call time: a forked worker child has another pid than its parent.
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def holder_is_dead(holder: str) -> bool:
    """Whether the process named by a worker id ran on this host and is gone.

    Zombies count as dead (a container whose init does not reap them keeps them), and
    so does a live process that reuses the pid but started at another time. A holder on
    another host is never judged here: its heartbeat is the only evidence.
    """
    host, _, rest = holder.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    stat = _proc_stat(pid)
    if stat is None:
        return False
    return stat[0] == "Z" or bool(started and stat[19] != started)


def _start_time(pid: int) -> str:
    stat = _proc_stat(pid)
    return stat[19] if stat else ""


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name, or None without /proc."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
