"""The upload step's one parse: the workbook read once, its rows stored for later steps."""

from __future__ import annotations

import tempfile
from typing import Any

from django.core.files import File
from django.core.files.storage import Storage

from bulkops.tabular import Limits, open_table
from bulkops.tabular.names import storage_name
from bulkops.tabular.stored import SUFFIX, write_table

STAGING = "bulkops/staging"


def stage_upload(
    upload: Any,
    *,
    filename: str,
    token: str,
    storage: Storage,
    limits: Limits,
    sheet: str | None = None,
    encoding: str | None = None,
) -> dict[str, Any]:
    """Read the upload once under ``limits`` and store its rows; raises TableError.

    What is returned goes into the session: the stored rows' path (a short, safe name
    whatever the upload was called), the name as the user gave it, and the real count
    of data rows, which decides later whether the import runs inline or on the queue.
    The original is kept only so that the user can pick another sheet in the preview.
    """
    entry = _parse(upload, filename, token, storage, limits, sheet, encoding)
    upload.seek(0)
    entry["original"] = storage.save(f"{STAGING}/{token}/{storage_name(filename)}", File(upload))
    entry["encoding"] = encoding or ""
    return entry


def restage(
    staged: dict[str, Any], *, token: str, storage: Storage, limits: Limits, sheet: str
) -> dict[str, Any]:
    """Parse the kept original again for another sheet (the user asked for it)."""
    with storage.open(staged["original"], "rb") as handle:
        entry = _parse(
            handle,
            staged["filename"],
            token,
            storage,
            limits,
            sheet,
            staged.get("encoding") or None,
        )
    storage.delete(staged["path"])
    return {**staged, **entry}


def _parse(
    upload: Any,
    filename: str,
    token: str,
    storage: Storage,
    limits: Limits,
    sheet: str | None,
    encoding: str | None,
) -> dict[str, Any]:
    with (
        open_table(
            upload,
            filename=filename,
            limits=limits,
            sheet=sheet,
            encoding=encoding,
        ) as table,
        tempfile.TemporaryFile() as out,
    ):
        rows = write_table(table, out)
        out.seek(0)
        path = storage.save(f"{STAGING}/{token}/rows{SUFFIX}", File(out))
        return {
            "path": path,
            "filename": filename,
            "rows": rows,
            "sheet": table.sheet_name or "",
        }
