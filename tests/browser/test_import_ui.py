"""A real browser imports a 7,000-row workbook with 5 bad rows through the import pages.

The worker is a thread of this process running queued tasks with ``runner.run``.
"""

from __future__ import annotations

import datetime
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bulkops import runner
from bulkops.models import BulkTask
from bulkops.tabular import open_table
from tests.browser.conftest import log_in
from tests.tabular.conftest import countries, importer, registered  # noqa: F401  (fixtures)
from tests.tabular.files import xlsx_bytes
from tests.tabular.models_app.models import Customer

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BAD_ROWS = {
    12: (1, "not-an-email"),
    1_500: (2, "XX"),
    3_333: (3, "31/02/2024"),
    5_000: (0, None),
    6_999: (4, "lots"),
}


@pytest.fixture
def worker(settings: Any, dummy_backend: list[Any]) -> Iterator[list[str]]:
    """A worker thread: runs each queued task, one chunk every 50 ms, noting its progress."""
    from bulkops.operations import upsert

    settings.BULKOPS = {**settings.BULKOPS, "CHUNK_SIZE": 500, "POLL_INTERVAL": 0.25}
    seen: list[str] = []
    stop = threading.Event()
    original = upsert.ChunkWriter.write

    def slow_write(self: Any, rows: Any, **kwargs: Any) -> Any:
        time.sleep(0.05)  # slow enough for the browser to see the bar move
        return original(self, rows, **kwargs)

    upsert.ChunkWriter.write = slow_write  # type: ignore[method-assign]

    def loop() -> None:
        from django.db import connection

        while not stop.is_set():
            if dummy_backend:
                runner.run(dummy_backend.pop(0))
            time.sleep(0.05)
        connection.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield seen
    stop.set()
    thread.join(timeout=10)
    upsert.ChunkWriter.write = original  # type: ignore[method-assign]


def workbook(tmp_path: Path) -> Path:
    rows: list[list[Any]] = [["Name", "Email", "Country", "Joined", "Balance"]]
    for number in range(2, 7_002):
        rows.append(
            [
                f"Customer {number}",
                f"c{number}@example.com",
                ("ES", "FR")[number % 2],
                datetime.date(2024, 1, 1) + datetime.timedelta(days=number % 365),
                round(number * 1.25, 2),
            ]
        )
    for number, (column, value) in BAD_ROWS.items():
        rows[number - 1][column] = value
    path = tmp_path / "customers.xlsx"
    path.write_bytes(xlsx_bytes(rows))
    return path


def test_import_7000_rows_with_5_bad_rows_in_a_browser(
    page: Any,
    live_server: Any,
    worker: list[str],
    importer: Any,  # noqa: F811
    registered: Any,  # noqa: F811
    countries: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    log_in(page, live_server, importer)
    page.goto(f"{live_server.url}/bulkops/import/tabular_models.customer/")
    page.set_input_files("input[name=file]", str(workbook(tmp_path)))
    page.click("button[type=submit]")

    # 7,000 rows are checked by a background task, with its own progress bar.
    page.locator(".bulkops-import-check .bulkops-progress").wait_for(timeout=30_000)
    found = page.locator(".bulkops-import-check[data-status=succeeded]")
    found.wait_for(timeout=60_000)
    assert found.locator(".bulkops-will-fail").inner_text() == "5"
    assert found.locator(".bulkops-will-create").inner_text() == "6,995"
    flagged = page.locator(".bulkops-import-error-item")
    assert sorted(int(flagged.nth(i).get_attribute("data-row")) for i in range(5)) == sorted(
        BAD_ROWS
    )
    assert "Row 12, column “Email”: Enter a valid email address." in flagged.nth(0).inner_text()
    assert Customer.objects.count() == 0
    shots = os.environ.get("BULKOPS_SCREENSHOTS")  # a folder, to look at the pages
    if shots:
        page.screenshot(path=f"{shots}/import-preview.png", full_page=True)

    page.click("button[name=confirm]")
    page.locator(".bulkops-progress").wait_for(timeout=30_000)
    percents = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        bar = page.locator(".bulkops-progress")
        if bar.count():
            percents.add(bar.first.get_attribute("data-status"))
        if page.locator(".bulkops-import-summary").count():
            break
        page.wait_for_timeout(100)
    summary = page.locator(".bulkops-import-summary")
    summary.wait_for(timeout=10_000)
    assert "running" in percents  # the bar was seen while the import ran
    assert summary.locator(".bulkops-created").inner_text() == "6,995"
    assert summary.locator(".bulkops-failed").inner_text() == "5"

    if shots:
        page.screenshot(path=f"{shots}/import-result.png", full_page=True)
    with page.expect_download() as download_info:
        page.click(".bulkops-import-report")
    report = Path(download_info.value.path())
    with open_table(report, filename="report.xlsx") as table:
        assert table.headers[-1] == "Errors"
        rows = list(table.rows())
    assert len(rows) == 5
    assert sorted(values[1] for _, values in rows if values[1]) == sorted(
        f"c{n}@example.com" if n != 12 else "not-an-email" for n in BAD_ROWS
    )
    assert Customer.objects.count() == 6_995
    assert BulkTask.objects.get(params__dry_run=False).failed_count == 5
