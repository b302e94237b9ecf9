"""Bytes <-> text for the fixed-size name and password fields of a time clock."""

from __future__ import annotations

#: Tried when the bytes are not valid in the device's configured encoding: names
#: typed on old keypads or written by Windows tools are usually in this code page.
FALLBACK_ENCODING = "cp1252"


def decode_text(raw: bytes, encoding: str = "utf-8", *, limit: int = 8) -> str:
    """Decode a field read from the device without ever raising.

    A field that fills ``limit`` bytes may have been cut by the device inside a
    character; that broken tail is dropped. Otherwise bytes that are not valid in
    ``encoding`` are read as the fallback code page.
    """
    raw = raw.split(b"\x00", 1)[0]
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        cut = exc.reason == "unexpected end of data" and exc.start >= len(raw) - 3
        if cut and len(raw) >= limit:
            return raw[: exc.start].decode(encoding, "replace")
    try:
        return raw.decode(FALLBACK_ENCODING)
    except UnicodeDecodeError:
        return raw.decode(encoding, "replace")


def fit_bytes(text: str, limit: int, encoding: str = "utf-8") -> bytes:
    """``text`` encoded and cut to at most ``limit`` bytes, never inside a character."""
    encoded = text.encode(encoding, "replace")
    if len(encoded) <= limit:
        return encoded
    for end in range(limit, max(limit - 4, -1), -1):
        try:
            return encoded[:end].decode(encoding).encode(encoding)
        except UnicodeDecodeError:
            continue
    return encoded[:limit]
