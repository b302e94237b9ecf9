"""Limits applied to an uploaded file before any row is read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Bounds for one uploaded table; callers fill it from their settings."""

    max_file_size: int = 50 * 1024 * 1024
    """Bytes on disk (the upload itself)."""
    max_rows: int = 1_000_000
    """Data rows, the header row not counted."""
    max_columns: int = 500
    max_uncompressed_size: int = 1024 * 1024 * 1024
    """Sum of the declared uncompressed sizes of every member of an xlsx/ods zip."""
    max_compression_ratio: int = 200
    """Uncompressed/compressed ratio of one zip member; spreadsheet XML stays well below."""
    max_zip_members: int = 10_000
    max_cell_chars: int = 32_767
    """Excel's own limit; a longer CSV field is refused rather than silently cut."""
