"""A minimal server-sent-events client for the tests and the benchmark: what
``EventSource`` does with one response (no reconnects), over a plain socket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Event:
    name: str
    data: str

    def json(self) -> Any:
        return json.loads(self.data)


async def read_events(
    port: int,
    path: str,
    session: str,
    timeout: float = 30,
    on_event: Callable[[Event], None] | None = None,
) -> list[Event]:
    """Every event of one stream until the server closes it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    # HTTP/1.0: the body ends when the server closes; no chunked decoding needed.
    writer.write(
        f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
        f"Cookie: sessionid={session}\r\n\r\n".encode()
    )
    await writer.drain()
    events: list[Event] = []
    try:
        status = await asyncio.wait_for(reader.readline(), timeout)
        if b" 200 " not in status:
            raise AssertionError(f"stream answered {status!r}")
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        name = "message"
        data: list[str] = []
        while True:
            line = (await asyncio.wait_for(reader.readline(), timeout)).decode()
            if not line:
                break
            line = line.rstrip("\r\n")
            if not line:
                if data:
                    events.append(Event(name, "\n".join(data)))
                    if on_event is not None:
                        on_event(events[-1])
                name, data = "message", []
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
    finally:
        writer.close()
    return events
