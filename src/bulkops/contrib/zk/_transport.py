"""The socket pyzk talks through, made safe.

pyzk 0.9 reads a buffered transfer with ``while size > 0: size -= len(sock.recv(size))``.
When the device closes the connection mid-transfer, ``recv`` returns ``b""`` at once,
forever: a socket timeout never fires and the worker spins at 100% CPU. Every socket
pyzk uses is therefore wrapped: end-of-stream raises :class:`PeerClosed`, and each
blocking call waits at most until the current call's deadline (:class:`DeadlineExceeded`).
The client additionally runs every call on a thread it can abandon (see ``client.py``),
so even a hang outside the socket cannot hold a worker.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from collections.abc import Callable
from typing import Any, TypeVar

from zk import ZK
from zk.exception import ZKErrorResponse

from . import protocol as const

T = TypeVar("T")


class PeerClosed(ConnectionError):
    """The device closed the TCP connection."""


class DeadlineExceeded(TimeoutError):
    """The call's hard deadline passed."""


class GuardedSocket:
    """The subset of ``socket.socket`` pyzk uses, with end-of-stream and deadline checks."""

    def __init__(self, sock: socket.socket, timeout: float | None, *, stream: bool) -> None:
        self._sock = sock
        self._timeout = timeout
        self._stream = stream
        self.deadline: float | None = None
        self.aborted = False

    def _wait_budget(self) -> float | None:
        if self.aborted:
            raise PeerClosed("the connection was abandoned by the client")
        if self.deadline is None:
            return self._timeout
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded("the call's deadline passed")
        return remaining if self._timeout is None else min(self._timeout, remaining)

    def settimeout(self, value: float | None) -> None:
        # pyzk changes the timeout for live capture and restores it afterwards.
        self._timeout = value

    def gettimeout(self) -> float | None:
        return self._timeout

    def _blocking(self, call: Callable[..., T], *args: Any) -> T:
        self._sock.settimeout(self._wait_budget())
        try:
            return call(*args)
        except TimeoutError:
            if self.deadline is not None and time.monotonic() >= self.deadline:
                raise DeadlineExceeded("the call's deadline passed") from None
            raise

    def connect(self, address: tuple[str, int]) -> None:
        self._blocking(self._sock.connect, address)

    def connect_ex(self, address: tuple[str, int]) -> int:
        return self._blocking(self._sock.connect_ex, address)

    def recv(self, size: int) -> bytes:
        data = self._blocking(self._sock.recv, size)
        if not data and size > 0 and self._stream:
            raise PeerClosed("the device closed the connection")
        return data

    def send(self, data: bytes) -> int:
        self._blocking(self._sock.sendall, data)
        return len(data)

    def sendto(self, data: bytes, address: tuple[str, int]) -> int:
        return self._blocking(self._sock.sendto, data, address)

    def abort(self) -> None:
        """Break off from any thread: wakes a blocked ``recv`` and fails every later call."""
        self.aborted = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()

    def close(self) -> None:
        self._sock.close()


class _NoProbe:
    """Stands in for pyzk's ZK_helper: no ping subprocess, no extra probe connection."""

    def test_ping(self) -> bool:
        return True

    def test_tcp(self) -> int:
        return 0


class GuardedZK(ZK):  # type: ignore[misc]
    """pyzk's client, with :class:`GuardedSocket` in place of its raw socket."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ZK__sock.close()  # the unused UDP socket pyzk opens in __init__
        self.helper = _NoProbe()
        self.guard: GuardedSocket | None = None
        self.deadline: float | None = None

    # Overrides pyzk's private ZK.__create_socket (name-mangled), called by connect().
    def _ZK__create_socket(self) -> None:
        if self.guard is not None:
            self.guard.close()
        kind = socket.SOCK_STREAM if self.tcp else socket.SOCK_DGRAM
        guard = GuardedSocket(
            socket.socket(socket.AF_INET, kind), self._ZK__timeout, stream=self.tcp
        )
        guard.deadline = self.deadline
        self.guard = guard
        self._ZK__sock = guard
        if self.tcp:
            guard.connect(self._ZK__address)  # unlike pyzk, a refused connection raises here

    def arm(self, deadline: float | None) -> None:
        self.deadline = deadline
        if self.guard is not None:
            self.guard.deadline = deadline

    def abort(self) -> None:
        self.is_connect = False
        if self.guard is not None:
            self.guard.abort()


def upload_users(zk: ZK, users: list[bytes], templates: list[tuple[int, int, bytes]]) -> None:
    """Write packed users (``UserFormat.upload_record``) and (uid, finger, template)
    triples in one buffered upload: pyzk's ``save_user_template`` for many users at
    once (``HR_save_usertemplates`` in later pyzk), with text already encoded here."""
    table, fingers = [], []
    offset = 0
    for uid, finger, template in templates:
        packed = const.UPLOAD_TEMPLATE_SIZE.pack(len(template)) + template
        table.append(const.UPLOAD_ENTRY.pack(2, uid, 0x10 + finger, offset))
        fingers.append(packed)
        offset += len(packed)
    parts = [b"".join(users), b"".join(table), b"".join(fingers)]
    zk._send_with_buffer(const.UPLOAD_HEAD.pack(*map(len, parts)) + b"".join(parts))
    answer = zk._ZK__send_command(const.CMD_SAVE_USERTEMPS, struct.pack("<IHH", 12, 0, 8))
    if not answer.get("status"):
        raise ZKErrorResponse("Can't save usertemplates")
    zk.refresh_data()
