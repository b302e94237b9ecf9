"""Run in a child process by test_upload_budget: stage one upload, or preview it.

"stage" is the upload's one parse. "preview" is what follows it for one file, read from
the stored table only: the preview page (build_preview: headers, count, first rows) and
the check, the dry run that reads and cleans every row of the file. The check's database
work (keys matched in a rolled-back savepoint, one chunk at a time) is left out, since
this child has no database; its cost is measured in benchmarks/ (docs/benchmarks.md).

Prints one JSON line: the outcome, the seconds taken (wall and CPU) and the peak memory added over
what the interpreter held after its imports (the process's resident peak: it sees the
Rust reader's allocations too, which tracemalloc does not).
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import sys
import tempfile
import threading
import time

import django

django.setup()  # DJANGO_SETTINGS_MODULE comes from the parent; no database is used

from django.core.files.storage import FileSystemStorage  # noqa: E402

from bulkops.conf import settings  # noqa: E402
from bulkops.operations.imports import limits_from_settings  # noqa: E402
from bulkops.tabular import TableError, open_table  # noqa: E402
from bulkops.tabular.definition import ImportDefinition  # noqa: E402
from bulkops.tabular.stored import write_table  # noqa: E402
from bulkops.views.import_preview import build_preview  # noqa: E402
from tests.tabular.models_app.models import Ticket  # noqa: E402

# The worst file's first column goes into a text field; "seats" keeps its default.
MAPPING: dict[int, str | None] = {0: "title"}
OPTIONS = {"mode": "create", "key_field": "", "dates": "dmy"}


def peak_mb() -> float:
    # VmHWM, the peak of this process's own memory map. ru_maxrss is not enough: Linux
    # carries it over from the parent across fork and exec, so a child of a big pytest
    # process would start at the parent's peak and never show its own.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stage(path: str, filename: str, stored: str) -> dict[str, object]:
    try:
        with (
            open(path, "rb") as fp,
            open_table(fp, filename=filename) as table,
            open(stored, "wb") as out,
        ):
            rows = write_table(table, out)
        return {"outcome": "read", "rows": rows}
    except TableError as exc:
        return {"outcome": "refused", "code": exc.code, "message": exc.message}


def preview(stored: str, filename: str, results: list[list[int]]) -> None:
    definition = ImportDefinition(Ticket)
    folder, name = os.path.split(stored)
    # The preview page, as the view builds it from the stored table.
    page = build_preview(
        definition,
        {"path": name, "filename": filename},
        OPTIONS,
        MAPPING,
        FileSystemStorage(location=folder),
        limits_from_settings(),
    )
    assert page.get("can_import") and not page["problem"], page["problem"]
    # The check: the dry run reads the same stored table and cleans every row, by chunk.
    checked = 0
    with (
        open(stored, "rb") as fp,
        open_table(fp, filename=filename, limits=limits_from_settings(), stored=True) as table,
    ):
        bound = definition.bind(table.headers, mode="create", key_fields=[], mapping=MAPPING)
        rows, size = iter(table.rows()), int(settings.CHUNK_SIZE)
        while chunk := list(itertools.islice(rows, size)):  # itertools.batched is 3.12+
            cleaned = bound.clean_chunk(chunk)
            checked += len(cleaned.rows) + len(cleaned.failed)
    results.append([len(page["sample"]), checked])


def main() -> None:
    path, filename, mode, *keep = sys.argv[1:]
    base = peak_mb()
    started, cpu = time.monotonic(), time.process_time()
    if mode == "stage" and keep:
        result = stage(path, filename, keep[0])
    elif mode == "stage":
        with tempfile.NamedTemporaryFile() as stored:
            result = stage(path, filename, stored.name)
    else:
        results: list[list[int]] = []
        errors: list[str] = []

        def one_preview() -> None:
            try:
                preview(path, filename, results)
            except Exception as exc:  # reported to the test, not lost in the thread
                errors.append(repr(exc))

        threads = [threading.Thread(target=one_preview) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        result = {"outcome": "previewed", "rows": results, "errors": errors}
    result["seconds"] = time.monotonic() - started
    result["cpu_seconds"] = time.process_time() - cpu
    result["extra_mb"] = peak_mb() - base
    print(json.dumps(result))


if __name__ == "__main__":
    main()
