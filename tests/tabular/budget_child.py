"""Run in a child process by test_upload_budget: stage one upload, or preview it.

Prints one JSON line: the outcome, the seconds taken and the peak memory added over
what the interpreter held after its imports (the process's resident peak: it sees the
Rust reader's allocations too, which tracemalloc does not).
"""

from __future__ import annotations

import itertools
import json
import resource
import sys
import tempfile
import threading
import time

import django

django.setup()  # DJANGO_SETTINGS_MODULE comes from the parent; no database is used

from bulkops.tabular import TableError, open_table  # noqa: E402
from bulkops.tabular.stored import write_table  # noqa: E402
from bulkops.views.import_preview import PREVIEW_CHECK_ROWS, PREVIEW_ROWS  # noqa: E402


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


def preview(stored: str, filename: str, results: list[int]) -> None:
    # What a preview request reads: the first rows shown, then up to the check limit.
    with open(stored, "rb") as fp, open_table(fp, filename=filename, stored=True) as table:
        shown = table.preview(PREVIEW_ROWS)
        checked = sum(1 for _ in itertools.islice(table.rows(), PREVIEW_CHECK_ROWS))
        results.append(len(shown) + checked)


def main() -> None:
    path, filename, mode, *keep = sys.argv[1:]
    base = peak_mb()
    started = time.monotonic()
    if mode == "stage" and keep:
        result = stage(path, filename, keep[0])
    elif mode == "stage":
        with tempfile.NamedTemporaryFile() as stored:
            result = stage(path, filename, stored.name)
    else:
        results: list[int] = []
        threads = [
            threading.Thread(target=preview, args=(path, filename, results)) for _ in range(3)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        result = {"outcome": "previewed", "rows": results}
    result["seconds"] = time.monotonic() - started
    result["extra_mb"] = peak_mb() - base
    print(json.dumps(result))


if __name__ == "__main__":
    main()
