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
    max_uncompressed_size: int = 256 * 1024 * 1024
    """Sum of the uncompressed sizes of every member of an xlsx/xlsb/ods zip.

    Checked on the declared sizes first, then on the real ones while every member is
    decompressed once (a zip whose directory lies fails its checksum)."""
    max_part_size: int = 128 * 1024 * 1024
    """Uncompressed size of any one member: a sheet, the shared strings, the styles."""
    max_shared_strings: int = 1_500_000
    """Shared strings of an .xlsx, .xlsb or .xls; each costs memory whatever its length."""
    max_cells: int = 3_000_000
    """Rows x columns of the used area of the sheet read (cells that hold a value)."""
    max_compression_ratio: int = 200
    """Uncompressed/compressed ratio of one zip member; spreadsheet XML stays well below."""
    max_zip_members: int = 10_000
    max_cell_chars: int = 32_767
    """Excel's own limit; a longer CSV field is refused rather than silently cut."""
