"""A TCP (and optionally UDP) server that answers like a ZKTeco device on port 4370."""

from __future__ import annotations

import contextlib
import functools
import logging
import socket
import struct
import threading
from collections.abc import Callable
from datetime import datetime
from types import TracebackType

from .. import protocol as p
from .device import Faults, SimRecord, SimulatedDevice, SimUser
from .session import MAX_PACKET, Session

logger = logging.getLogger("bulkops.contrib.zk.simulator")


class Simulator:
    """Serve a :class:`SimulatedDevice` on a real socket, in background threads.

    ``port=0`` picks a free port (read it from ``.port`` after ``start()``). With
    ``udp=True`` the same port number also answers UDP, as real devices do.
    """

    def __init__(
        self,
        device: SimulatedDevice | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        udp: bool = False,
        faults: Faults | None = None,
        refuse_auth: bool = False,
        reply_delay: float = 0.0,
        drop_mid_transfer: int = 0,
    ) -> None:
        self.device = device or SimulatedDevice()
        self.host = host
        self.port = port
        self.udp = udp
        self.faults = faults or Faults(
            refuse_auth=refuse_auth,
            reply_delay=reply_delay,
            drop_mid_transfer=drop_mid_transfer,
        )
        self._tcp_sock: socket.socket | None = None
        self._udp_sock: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._sessions: set[Session] = set()
        self._udp_sessions: dict[tuple[str, int], Session] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.connections = 0

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def start(self) -> Simulator:
        self._stopping.clear()
        self._tcp_sock, self._udp_sock = self._bind()
        self.port = self._tcp_sock.getsockname()[1]
        self._spawn(self._accept_loop, "zk-sim-accept")
        if self._udp_sock is not None:
            self._spawn(self._udp_loop, "zk-sim-udp")
        logger.info("simulator: serving %s on %s:%s", self.device.serial_number, *self.address)
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            sessions = list(self._sessions) + list(self._udp_sessions.values())
        for session in sessions:
            session.close()
        for sock in (self._tcp_sock, self._udp_sock):
            if sock is not None:
                sock.close()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5)
        self._threads.clear()

    def request_stop(self) -> None:
        """Make ``serve_forever`` return (safe from a signal handler)."""
        self._stopping.set()

    def serve_forever(self) -> None:
        """Serve until ``request_stop()`` (starting first if needed)."""
        if self._tcp_sock is None or self._tcp_sock.fileno() < 0:
            self.start()
        try:
            while not self._stopping.wait(0.5):
                pass
        finally:
            self.stop()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # Convenience for tests and demos.
    def punch(self, user_id: str, *, timestamp: datetime | None = None) -> SimRecord:
        return self.device.punch(user_id, timestamp=timestamp)

    def users(self) -> list[SimUser]:
        return self.device.user_list()

    @property
    def active_sessions(self) -> int:
        with self._lock:
            return len(self._sessions) + len(self._udp_sessions)

    def _bind(self) -> tuple[socket.socket, socket.socket | None]:
        for _attempt in range(20):
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            tcp.bind((self.host, self.port))
            tcp.listen(16)
            tcp.settimeout(0.1)
            if not self.udp:
                return tcp, None
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                udp.bind((self.host, tcp.getsockname()[1]))
            except OSError:
                tcp.close()
                udp.close()
                if self.port:
                    raise
                continue  # the free TCP port is taken for UDP; pick another
            udp.settimeout(0.1)
            return tcp, udp
        raise OSError("could not find a port free for both TCP and UDP")

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._tcp_sock is not None
        while not self._stopping.is_set():
            try:
                conn, _addr = self._tcp_sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connections += 1
            self._spawn(self._serve_tcp, "zk-sim-session", conn)

    def _serve_tcp(self, conn: socket.socket) -> None:
        def close() -> None:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

        session = Session(self, conn.sendall, close, tcp=True)
        with self._lock:
            self._sessions.add(session)
        try:
            while not session.closed:
                top = _recv_exact(conn, p.TCP_TOP.size)
                if top is None:
                    break
                magic, length = p.TCP_TOP.unpack(top)
                if magic != p.TCP_MAGIC or not p.HEADER.size <= length <= MAX_PACKET:
                    logger.warning("simulator: bad TCP frame, closing the connection")
                    break
                packet = _recv_exact(conn, length)
                if packet is None or not session.handle(packet):
                    break
        except OSError:
            pass
        finally:
            session.close()
            with self._lock:
                self._sessions.discard(session)

    def _udp_loop(self) -> None:
        sock = self._udp_sock
        assert sock is not None
        while not self._stopping.is_set():
            try:
                packet, addr = sock.recvfrom(MAX_PACKET)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                session = self._udp_sessions.get(addr)
                if session is None:
                    session = Session(
                        self,
                        functools.partial(_send_to, sock, addr),
                        functools.partial(self._forget_udp, addr),
                        tcp=False,
                    )
                    self._udp_sessions[addr] = session
                    self.connections += 1
            try:
                if not session.handle(packet):
                    session.close()
            except (OSError, ValueError, struct.error):
                session.close()

    def _forget_udp(self, addr: tuple[str, int]) -> None:
        with self._lock:
            self._udp_sessions.pop(addr, None)


def _send_to(sock: socket.socket, addr: tuple[str, int], data: bytes) -> None:
    sock.sendto(data, addr)


def _recv_exact(conn: socket.socket, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = conn.recv(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)
