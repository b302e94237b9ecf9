"""The example project's plain-JavaScript page, under uvicorn, driven in Chromium.

It uploads a workbook through the JSON API (a dry run with row errors), confirms the
import, then starts a bulk update over a filter, and follows both tasks from their
server-sent-events stream to the finish.
"""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.services import ROOT, Worker, free_port

pytestmark = [pytest.mark.browser, pytest.mark.services]
MANAGE = str(ROOT / "example_project" / "manage.py")


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: Any) -> Iterator[tuple[str, Path]]:
    state = tmp_path_factory.mktemp("api-demo")
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BULKOPS_", "DJANGO_SETT", "EXAMPLE_"))
    }
    env.update(
        EXAMPLE_SQLITE=str(state / "db.sqlite3"),
        EXAMPLE_MEDIA_ROOT=str(state / "media"),
        EXAMPLE_RUN_DIR=str(state / "run"),  # where the generated secret key goes
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT / "example_project")]),
        DJANGO_SETTINGS_MODULE="example.settings",
    )
    for command in (["migrate", "--noinput", "-v", "0"], ["example_setup"]):
        subprocess.run([sys.executable, MANAGE, *command], env=env, check=True, cwd=ROOT)
    worker = Worker("api-demo-qcluster", [sys.executable, MANAGE, "qcluster"], env, "running.")
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "example.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--lifespan",
        "off",
    ]
    server = Worker("api-demo-uvicorn", argv, env, "Uvicorn running")
    worker.start()
    server.start()
    try:
        yield f"http://127.0.0.1:{port}", state / "db.sqlite3"
    finally:
        server.stop()
        worker.stop()


def workbook() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Name", "E-mail", "City", "Country", "Active"])
    for n in range(150):
        sheet.append([f"Demo {n}", f"demo{n}@example.org", "Cusco", "PE", "yes"])
    sheet.append(["Broken", "not-an-email", "Cusco", "PE", "yes"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_upload_import_and_bulk_update_from_plain_javascript(
    browser: Any, demo_site: tuple[str, Path]
) -> None:
    site, database = demo_site
    context = browser.new_context(base_url=site, viewport={"width": 390, "height": 844})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        page.goto("/api-demo/")
        page.fill("#id_username", "demo")
        page.fill("#id_password", "demo")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(site + "/api-demo/")

        page.set_input_files(
            "#import-file",
            {
                "name": "customers.xlsx",
                "mimeType": "application/octet-stream",
                "buffer": workbook(),
            },
        )
        page.get_by_role("button", name="Check the file").click()
        dry_run = page.locator("#dry-run")
        dry_run.get_by_text("151 rows checked; 1 with errors. Nothing is saved yet.").wait_for()
        assert "Row 152, E-mail: Enter a valid email address." in dry_run.inner_text()
        assert count(database, "Cusco") == 0

        page.get_by_role("button", name="Import it").click()
        page.wait_for_function("document.getElementById('api-demo').dataset.outcome === 'partial'")
        text = page.locator("#progress-text").inner_text()
        assert "Finished with failed rows" in text and "150 succeeded, 1 failed" in text
        assert page.locator("#progress-bar").get_attribute("value") == "100"
        assert count(database, "Cusco") == 150

        page.fill("#update-from", "Cusco")
        page.fill("#update-to", "Lima")
        page.get_by_role("button", name="Update all of them").click()
        page.wait_for_function(
            "document.getElementById('api-demo').dataset.outcome === 'succeeded'"
        )
        assert "150 succeeded, 0 failed" in page.locator("#progress-text").inner_text()
        assert (count(database, "Cusco"), count(database, "Lima")) == (0, 150)
        # Both tasks were followed through the event stream, not by polling.
        assert page.evaluate("window.bulkopsDemo.events") >= 2
        assert page.locator("#problem").inner_text() == ""
    finally:
        context.close()


def count(database: Path, city: str) -> int:
    with sqlite3.connect(database) as connection:
        row = connection.execute(
            "SELECT count(*) FROM customers_customer WHERE city = ?", [city]
        ).fetchone()
    return int(row[0])
