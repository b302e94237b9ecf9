"""A safe, typed client for ZKTeco time clocks, on top of pyzk.

Every device call runs under a hard deadline on a thread the caller can abandon,
through a socket that turns a dropped connection into an error (see ``_transport``),
so no call can hang a worker. Errors come out as the classes in ``exceptions``,
each naming the device.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

from zk import const
from zk.exception import ZKErrorConnection, ZKErrorResponse, ZKNetworkError
from zk.user import User as PyzkUser

from bulkops import texts

from ._transport import DeadlineExceeded, GuardedZK, PeerClosed
from .exceptions import (
    DeviceAuthError,
    DeviceConnectionLost,
    DeviceError,
    DeviceProtocolError,
    DeviceTimeout,
    DeviceUnreachable,
)
from .fingers import TemplateCalls
from .records import DeviceInfo, DeviceUser, Punch, UserFormat, parse_attendance
from .text import decode_text

logger = logging.getLogger("bulkops.contrib.zk")

T = TypeVar("T")

# pyzk only gets bytes-as-latin-1 strings, so every byte survives the trip and the
# real encoding (with a safe fallback) is applied here, not in pyzk.
TRANSPORT_ENCODING = "latin-1"


class ZKClient(TemplateCalls):
    """One connection to one device. Not thread-safe: one caller at a time.

    ``timeout`` bounds each network wait; ``call_timeout`` is the hard deadline of a
    whole call (a full download included). ``retries`` reconnects and repeats a call
    that failed on the network (never one the device refused, never a bad comm key).
    """

    def __init__(
        self,
        host: str,
        port: int = 4370,
        *,
        password: int = 0,
        timeout: float = 10.0,
        call_timeout: float | None = None,
        udp: bool = False,
        retries: int = 2,
        backoff: float = 0.5,
        encoding: str = "utf-8",
        user_format: int | None = None,
        name_max_bytes: int | None = None,
        label: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.password = int(password or 0)
        self.timeout = timeout
        self.call_timeout = call_timeout if call_timeout is not None else max(60.0, timeout * 6)
        self.udp = udp
        self.retries = retries
        self.backoff = backoff
        self.encoding = encoding
        self.name_max_bytes = name_max_bytes
        self.label = label or f"ZK device {host}:{port}"
        self.skipped_records = 0
        self._user_format = UserFormat.get(user_format) if user_format else None
        self._zk: GuardedZK | None = None
        self._locked = False

    # Connection -------------------------------------------------------------------
    def connect(self) -> ZKClient:
        self._retrying("connect", self._open)
        return self

    def close(self) -> None:
        """Say goodbye to the device if still connected; never raises."""
        zk, self._zk = self._zk, None
        if zk is None:
            return
        try:
            if zk.is_connect:
                self._run(zk, "disconnect", zk.disconnect, budget=self.timeout)
        except DeviceError as exc:
            logger.info("%s", exc)
        finally:
            zk.abort()

    disconnect = close

    @property
    def connected(self) -> bool:
        return self._zk is not None and self._zk.is_connect

    def __enter__(self) -> ZKClient:
        return self.connect()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def locked(self) -> Iterator[ZKClient]:
        """Lock the keypad (disable the device) for the block; always unlock afterwards,
        reconnecting if the connection broke inside the block."""
        self._retrying("lock the keypad", lambda: self._device_call("disable", "disable_device"))
        self._locked = True
        failed = True
        try:
            yield self
            failed = False
        finally:
            self._locked = False
            try:
                self._retrying(
                    "unlock the keypad", lambda: self._device_call("enable", "enable_device")
                )
            except DeviceError as exc:
                logger.error("%s; the keypad may still be locked", exc)
                if not failed:
                    raise

    # Reading ----------------------------------------------------------------------
    def info(self) -> DeviceInfo:
        def read(zk: GuardedZK) -> DeviceInfo:
            zk.read_sizes()
            return DeviceInfo(
                serial_number=zk.get_serialnumber(),
                firmware_version=zk.get_firmware_version(),
                platform=zk.get_platform(),
                device_name=zk.get_device_name(),
                mac=zk.get_mac(),
                users=zk.users,
                records=zk.records,
                users_capacity=zk.users_cap,
                records_capacity=zk.rec_cap,
            )

        return self._retrying("read device info", lambda: self._with_zk("read device info", read))

    def record_count(self) -> int:
        def read(zk: GuardedZK) -> int:
            zk.read_sizes()
            return int(zk.records)

        return self._retrying("read sizes", lambda: self._with_zk("read sizes", read))

    def get_users(self) -> list[DeviceUser]:
        raw = self._retrying("read users", lambda: self._with_zk("read users", _read_users))
        if raw and self._user_format is None and self._zk is not None:
            try:
                self._user_format = UserFormat.get(int(self._zk.user_packet_size))
            except ValueError as exc:
                raise DeviceProtocolError(self.label, f"unreadable user table: {exc}") from exc
        limit = self.name_max_bytes or (self._user_format.name_bytes if self._user_format else 8)
        users = []
        for u in raw:
            name = decode_text(u.name.encode(TRANSPORT_ENCODING), self.encoding, limit=limit)
            user_id = decode_text(str(u.user_id).encode(TRANSPORT_ENCODING), self.encoding)
            if name == f"NN-{user_id}":
                name = ""  # pyzk's stand-in for an empty name, not the device's data
            users.append(
                DeviceUser(
                    uid=u.uid,
                    user_id=user_id,
                    name=name,
                    privilege=u.privilege,
                    password=decode_text(u.password.encode(TRANSPORT_ENCODING), self.encoding),
                    group_id=decode_text(str(u.group_id).encode(TRANSPORT_ENCODING)),
                    card=int(u.card),
                )
            )
        return users

    def get_attendance(self) -> list[Punch]:
        """The whole attendance log. Parsed here rather than by pyzk's get_attendance,
        which is quadratic in users x records on 16- and 8-byte logs and chokes on a
        single corrupt timestamp."""

        def read(zk: GuardedZK) -> tuple[bytes, int, list[PyzkUser]]:
            zk.read_sizes()
            if not zk.records:
                return b"", 0, []
            data, _size = zk.read_with_buffer(const.CMD_ATTLOG_RRQ)
            users = []
            if len(data) >= 4 and struct.unpack_from("<I", data)[0] // zk.records < 16:
                users = _read_users(zk)  # 8-byte records name users by uid only
            return data, int(zk.records), users

        data, count, users = self._retrying(
            "download attendance", lambda: self._with_zk("download attendance", read)
        )
        if not count:
            return []
        pins = {u.uid: str(u.user_id) for u in users}
        try:
            punches, skipped = parse_attendance(data, count, pins)
        except ValueError as exc:
            raise DeviceProtocolError(self.label, f"unreadable attendance log: {exc}") from exc
        self.skipped_records = skipped
        if skipped:
            logger.warning("%s: skipped %d unreadable attendance records", self.label, skipped)
        return punches

    def get_time(self) -> datetime:
        return self._retrying(
            "read the clock", lambda: self._device_call("read the clock", "get_time")
        )

    # Writing ----------------------------------------------------------------------
    def user_format(self) -> UserFormat:
        """The device's user record layout, learned from its data when not configured."""
        if self._user_format is None:
            if self._retrying("read sizes", self._device_users) > 0:
                self.get_users()
            if self._user_format is None:
                # An empty device gives nothing to measure: pyzk's rule, TCP means 72.
                self._user_format = UserFormat.get(28 if self.udp else 72)
        return self._user_format

    def set_user(self, user: DeviceUser) -> DeviceUser:
        """Create or replace the user in slot ``user.uid``; returns what the device keeps
        (the name cut to the device's limit). Raises InvalidUserData for values the
        device cannot store."""
        fmt = self.user_format()
        stored = fmt.prepare(user, self.label, self.encoding, self.name_max_bytes)
        kwargs = fmt.pyzk_arguments(stored, self.encoding, TRANSPORT_ENCODING)

        def write(zk: GuardedZK) -> None:
            zk.user_packet_size = fmt.size
            zk.set_user(**kwargs)

        self._retrying("write a user", lambda: self._with_zk(f"write user {user.user_id}", write))
        return stored

    def delete_user(self, uid: int) -> None:
        self._retrying(
            "delete a user", lambda: self._device_call(f"delete user #{uid}", "delete_user", uid)
        )

    def clear_attendance(self) -> None:
        self._retrying(
            "clear the attendance log",
            lambda: self._device_call("clear the attendance log", "clear_attendance"),
        )

    def set_time(self, value: datetime) -> None:
        self._retrying(
            "set the clock", lambda: self._device_call("set the clock", "set_time", value)
        )

    def capture_events(self, *, duration: float, max_events: int | None = None) -> list[Punch]:
        """Listen for live punches for up to ``duration`` seconds (or ``max_events``)."""

        def listen(zk: GuardedZK) -> list[Punch]:
            events: list[Punch] = []
            end = time.monotonic() + duration
            zk.arm(None)  # live capture waits by design; its own timeouts bound each wait
            for att in zk.live_capture(new_timeout=min(1.0, duration)):
                if att is not None:
                    events.append(Punch(str(att.user_id), att.timestamp, att.status, att.punch, 0))
                if time.monotonic() >= end or (max_events and len(events) >= max_events):
                    zk.end_live_capture = True
            return events

        return self._with_zk("live capture", listen, budget=duration + self.call_timeout)

    # Machinery ----------------------------------------------------------------------
    def _device_users(self) -> int:
        def read(zk: GuardedZK) -> int:
            zk.read_sizes()
            return int(zk.users)

        return self._with_zk("read sizes", read)

    def _open(self) -> None:
        if self._zk is not None:
            self._zk.abort()
            self._zk = None
        zk = GuardedZK(
            self.host,
            port=self.port,
            timeout=self.timeout,
            password=self.password,
            force_udp=self.udp,
            ommit_ping=True,  # no ping binary needed, and no ICMP through firewalls
            encoding=TRANSPORT_ENCODING,
        )
        self._run(zk, "connect", zk.connect, budget=self.timeout * 2 + 1)
        self._zk = zk
        if self._locked:
            self._device_call("disable", "disable_device")

    def _device_call(self, what: str, method: str, *args: object) -> Any:
        return self._with_zk(what, lambda zk: getattr(zk, method)(*args))

    def _with_zk(self, what: str, fn: Callable[[GuardedZK], T], budget: float | None = None) -> T:
        zk = self._zk
        if zk is None or not zk.is_connect:
            raise DeviceConnectionLost(self.label, f"not connected (while trying to {what})")
        return self._run(zk, what, lambda: fn(zk), budget=budget)

    def _run(self, zk: GuardedZK, what: str, fn: Callable[[], T], *, budget: float | None) -> T:
        """Run ``fn`` with a hard deadline; past it, abandon the thread and the socket."""
        budget = budget or self.call_timeout
        zk.arm(time.monotonic() + budget)
        outcome: dict[str, object] = {}

        def target() -> None:
            try:
                outcome["value"] = fn()
            except BaseException as exc:  # handed to the caller's thread below
                outcome["error"] = exc

        worker = threading.Thread(target=target, name=f"zk-{self.host}-{what}", daemon=True)
        worker.start()
        # The socket deadline normally ends the call; the join is the last resort.
        worker.join(budget + min(5.0, self.timeout))
        if worker.is_alive():
            zk.abort()
            raise DeviceTimeout(
                self.label,
                texts.gettext(
                    "%(call)s did not finish within %(seconds)s s", call=what, seconds=round(budget)
                ),
            )
        if "error" in outcome:
            error = self._translate(outcome["error"], what, budget)  # type: ignore[arg-type]
            # Only a clean refusal by the device leaves the conversation in step; after
            # anything else the stream may hold stray bytes, so it is dropped.
            if not isinstance(outcome["error"], ZKErrorResponse) or not zk.is_connect:
                zk.abort()
            raise error from outcome["error"]  # type: ignore[misc]
        return outcome["value"]  # type: ignore[return-value]

    def _translate(self, exc: BaseException, what: str, budget: float) -> DeviceError:
        chain: list[BaseException] = []
        seen: BaseException | None = exc
        while seen is not None and seen not in chain:
            chain.append(seen)
            seen = seen.__cause__ or seen.__context__
        if isinstance(exc, DeviceError):
            return exc
        for link in chain:
            if isinstance(link, PeerClosed):
                return DeviceConnectionLost(
                    self.label,
                    texts.gettext(
                        "connection lost during %(call)s: %(error)s", call=what, error=str(link)
                    ),
                )
            if isinstance(link, DeadlineExceeded):
                return DeviceTimeout(
                    self.label,
                    texts.gettext(
                        "%(call)s did not finish within its deadline of %(seconds)s s",
                        call=what,
                        seconds=budget,
                    ),
                )
            if isinstance(link, TimeoutError):
                return DeviceTimeout(
                    self.label,
                    texts.gettext(
                        "no answer within %(seconds)s s (%(call)s)", seconds=self.timeout, call=what
                    ),
                )
            if isinstance(link, ConnectionRefusedError):
                return DeviceUnreachable(
                    self.label,
                    texts.gettext(
                        "connection refused by %(address)s (%(call)s)",
                        address=f"{self.host}:{self.port}",
                        call=what,
                    ),
                )
            if isinstance(link, OSError):
                cls = DeviceUnreachable if what == "connect" else DeviceConnectionLost
                return cls(
                    self.label,
                    texts.gettext(
                        "network error during %(call)s: %(error)s", call=what, error=str(link)
                    ),
                )
        if isinstance(exc, ZKErrorResponse) and "Unauthenticated" in str(exc):
            return DeviceAuthError(
                self.label,
                texts.gettext("the device refused the comm key (check the device password)"),
            )
        if isinstance(exc, ZKErrorConnection):
            return DeviceConnectionLost(
                self.label, texts.gettext("not connected (%(call)s)", call=what)
            )
        if isinstance(exc, ZKErrorResponse | ZKNetworkError):
            return DeviceProtocolError(
                self.label, texts.gettext("%(call)s failed: %(error)s", call=what, error=str(exc))
            )
        return DeviceProtocolError(
            self.label, f"unexpected answer during {what}: {type(exc).__name__}: {exc}"
        )

    def _retrying(self, what: str, op: Callable[[], T]) -> T:
        attempt = 0
        while True:
            try:
                if what != "connect" and not self.connected:
                    self._open()
                return op()
            except DeviceError as exc:
                if not exc.retryable or attempt >= self.retries:
                    raise
                delay = self.backoff * (2**attempt)
                attempt += 1
                logger.warning("%s; retry %d/%d in %.1f s", exc, attempt, self.retries, delay)
                time.sleep(delay)


def _read_users(zk: GuardedZK) -> list[PyzkUser]:
    return list(zk.get_users())


__all__ = [
    "DeviceAuthError",
    "DeviceConnectionLost",
    "DeviceError",
    "DeviceInfo",
    "DeviceProtocolError",
    "DeviceTimeout",
    "DeviceUnreachable",
    "DeviceUser",
    "Punch",
    "ZKClient",
]
