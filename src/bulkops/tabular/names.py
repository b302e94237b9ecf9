"""File names as users give them, and the short safe form that goes to storage."""

from __future__ import annotations

import unicodedata
from pathlib import PurePath

# File systems cap a name at 255 bytes; storages add suffixes against collisions
# ("_aB3dE9x") and folders, so stored names stay well below.
MAX_STORED_BYTES = 100


def display_name(name: str) -> str:
    """The last part of what the browser sent (some send a full Windows path)."""
    return PurePath(name.replace("\\", "/")).name or "upload"


def storage_name(name: str, max_bytes: int = MAX_STORED_BYTES) -> str:
    """``name`` cut to ``max_bytes`` of UTF-8, keeping its extension and whole characters.

    Only the stored copy is shortened; pages and messages show the name as given.
    """
    name = unicodedata.normalize("NFC", display_name(name))
    path = PurePath(name)
    suffix = path.suffix if len(path.suffix.encode()) <= 16 else ""
    stem = name[: len(name) - len(suffix)] if suffix else name
    budget = max_bytes - len(suffix.encode())
    encoded = stem.encode()
    if len(encoded) > budget:
        stem = encoded[:budget].decode("utf-8", "ignore").rstrip(" .") or "upload"
    return (stem or "upload") + suffix
