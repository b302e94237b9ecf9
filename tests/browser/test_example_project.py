"""The example project, started the way scripts/example starts it, driven in Chromium."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import settled
from tests.services import ROOT, Worker, port_open, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.services]
MANAGE = str(ROOT / "example_project" / "manage.py")
SITE_STATE: dict[str, Any] = {}
SITE_ENV: dict[str, dict[str, str]] = {}


@pytest.fixture(scope="module")
def example_env(tmp_path_factory: Any) -> dict[str, str]:
    """The environment scripts/example gives the example project, on a fresh database."""
    state = tmp_path_factory.mktemp("example")
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(("BULKOPS_", "DJANGO_SETTINGS", "EXAMPLE_")):
            del env[name]
    port, zk_port = free_port(), free_port()
    env.update(
        EXAMPLE_SQLITE=str(state / "db.sqlite3"),
        EXAMPLE_MEDIA_ROOT=str(state / "media"),
        PYTHONPATH=str(ROOT / "src"),
        EXAMPLE_ZK_PORT=str(zk_port),
        EXAMPLE_PORT=str(port),
        EXAMPLE_RUN_DIR=str(state / "run"),  # where the generated secret key goes
    )
    return env


@pytest.fixture(scope="module")
def example_site(example_env: dict[str, str]) -> Iterator[str]:
    env = example_env
    port, zk_port = int(env["EXAMPLE_PORT"]), int(env["EXAMPLE_ZK_PORT"])
    # No every-minute download here: the tests count punches from their own jobs.
    setup = (
        ["migrate", "--noinput", "-v", "0"],
        ["example_setup"],
        ["devices_setup", "--no-schedule"],
    )
    for command in setup:
        subprocess.run([sys.executable, MANAGE, *command], env=env, check=True, cwd=ROOT)
    simulator = [
        sys.executable,
        "-m",
        "bulkops.contrib.zk.simulator",
        "--port",
        str(zk_port),
        "--users",
        "20",
        "--records",
        "5000",
    ]
    device = Worker("example-zk", simulator, env, "listening")
    worker = Worker("example-qcluster", [sys.executable, MANAGE, "qcluster"], env, "running.")
    server = Worker(
        "example-web",
        [sys.executable, MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload"],
        env,
        "Quit the server",
    )
    device.start()
    worker.start()
    server.start()
    try:
        wait_for(lambda: port_open("127.0.0.1", port), timeout=30)
        site = f"http://127.0.0.1:{port}"
        SITE_STATE[site] = Path(env["EXAMPLE_RUN_DIR"]).parent
        SITE_ENV[site] = env
        yield site
    finally:
        server.stop()
        worker.stop()
        device.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_in(page: Any, site: str, username: str = "demo") -> None:
    """Through the example's own login page, where ``/`` sends an anonymous visitor."""
    page.goto(site + "/")
    assert page.url.startswith(site + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", username)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(site + "/")


def test_the_example_is_safe_by_default(example_site: str) -> None:
    from urllib.error import HTTPError
    from urllib.request import urlopen

    secret = (SITE_STATE[example_site] / "run" / "secret_key").read_text().strip()
    assert len(secret) >= 50 and secret != "example-only-change-me"
    with pytest.raises(HTTPError) as missing:
        urlopen(example_site + "/no-such-page/")
    assert missing.value.code == 404
    assert "URLconf" not in missing.value.read().decode(), "DEBUG is off: no debug page"
    with urlopen(example_site + "/static/bulkops/bulkops.css") as css:  # served with DEBUG off
        assert css.status == 200 and b".bulkops-progress" in css.read()


def test_a_job_runs_to_completion_with_a_moving_progress_bar(
    browser: Any, example_site: str
) -> None:
    # An ordinary user (not staff, no admin access) logs in and runs the job.
    page = browser.new_page()
    log_in(page, example_site, "clerk")
    assert page.get_by_role("link", name="Admin").count() == 0

    page.click("#start-demo-job")
    bar = page.locator("#demo-progress [role=progressbar]")
    bar.wait_for()
    seen: list[int] = []
    status = ""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        seen.append(int(bar.get_attribute("aria-valuenow") or 0))
        status = page.locator("#demo-progress .bulkops-progress").get_attribute("data-status")
        if status in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.2)

    assert status == "succeeded"
    assert seen == sorted(seen), f"the bar never moves back: {seen}"
    assert len({v for v in seen if 0 < v < 100}) >= 2, f"the bar moved in steps: {seen}"
    assert "3,000,000 / 3,000,000 rows" in page.locator("#demo-progress").inner_text()
    page.close()


def test_the_task_history_shows_the_job(browser: Any, example_site: str) -> None:
    page = browser.new_page()
    log_in(page, example_site, "clerk")
    page.goto(example_site + "/bulkops/tasks/")
    assert page.locator("table.bulkops-table").inner_text().count("Fingerprint records") >= 1
    page.close()


def test_downloading_from_the_simulated_time_clock_shows_progress_and_punches(
    browser: Any, example_site: str
) -> None:
    page = browser.new_page()
    log_in(page, example_site)
    page.goto(example_site + "/devices/")
    assert page.locator("#punch-count").inner_text() == "0"

    page.get_by_role("button", name="Download attendance").first.click()
    progress = page.locator("#sync-progress .bulkops-progress").first
    progress.wait_for()
    page.wait_for_function(
        "() => document.querySelector('#sync-progress .bulkops-progress')"
        "?.dataset.status === 'succeeded'",
        timeout=60_000,
    )

    # The punches table reloads itself on the bulkops:finished event.
    page.wait_for_function(
        "() => document.querySelector('#punch-count').innerText === '5000'", timeout=10_000
    )
    assert page.locator("#punches tbody tr").count() == 15
    assert "5,000" in progress.inner_text()
    page.close()


def test_customers_import_a_sample_workbook_and_export_them(
    browser: Any, example_site: str, tmp_path: Any
) -> None:
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    log_in(page, example_site)
    page.goto(example_site + "/customers/")
    with page.expect_download() as sample:
        page.get_by_role("link", name="Sample workbook").click()
    workbook = tmp_path / "sample.xlsx"
    sample.value.save_as(workbook)

    page.get_by_role("link", name="Import from a spreadsheet").click()
    page.set_input_files("input[name=file]", str(workbook))
    page.click("form:has(input[name=file]) button[type=submit]")
    # The whole file is checked first, by a worker (a dry run with its own progress bar).
    found = page.locator(".bulkops-import-check[data-status=succeeded]")
    found.wait_for(timeout=60_000)
    assert found.locator(".bulkops-will-fail").inner_text() == "5"
    assert found.locator(".bulkops-will-create").inner_text() == "6,995"
    page.click("button[name=confirm]")
    summary = page.locator(".bulkops-import-summary")
    summary.wait_for(timeout=60_000)
    assert summary.locator(".bulkops-created").inner_text() == "6,995"
    assert summary.locator(".bulkops-failed").inner_text() == "5"

    # Export what was imported: filter, select all matching, Export.
    page.goto(example_site + "/customers/?city=Arequipa")
    page.get_by_text("Select all 6,995 matching").click()
    page.get_by_role("button", name="Export").click()
    page.get_by_text("Export: 6,995 customers?").wait_for()
    # The export's own step: a format (.xlsx first) and the columns, then its button.
    panel = page.locator("#bulkops-panel")
    assert panel.get_by_label("Format").input_value() == "xlsx"
    panel.locator(".bulkops-confirm").click()
    download = page.locator(".bulkops-progress a", has_text="Download file")
    download.wait_for(timeout=60_000)
    with page.expect_download() as exported:
        download.click()
    path = tmp_path / "export.xlsx"
    exported.value.save_as(path)
    from bulkops.tabular import open_table

    with open_table(path, filename="export.xlsx") as table:
        assert sum(1 for _ in table.rows()) == 6995
    context.close()


def test_filtered_pagination_keeps_the_filter(browser: Any, example_site: str) -> None:
    # Runs after the import above: of its 6,995 customers, 999 are named "Imported 1…"
    # (row 1,500 was refused).
    page = browser.new_page()
    log_in(page, example_site)
    page.goto(example_site + "/customers/?name=Imported+1")
    assert page.locator("select[name=active] option").first.inner_text() == "Any"
    summary = page.locator(".bulkops-pagination span")
    assert summary.inner_text() == "Page 1 of 40 · 999 customers"
    page.get_by_role("link", name="Next").click()
    page.wait_for_url("**page=2**")
    assert summary.inner_text() == "Page 2 of 40 · 999 customers"
    assert page.locator("tbody td:nth-child(2)").first.inner_text().startswith("Imported 1")
    page.get_by_role("link", name="Previous").click()
    page.wait_for_url("**page=1**")
    assert summary.inner_text() == "Page 1 of 40 · 999 customers"
    page.close()


def test_the_attendance_download_runs_every_minute_and_pauses_in_the_admin(
    browser: Any, example_site: str
) -> None:
    """Late in this module: once scheduled, the download would add punches to the others;
    it pauses the schedule again before the cancel test."""
    setup = [sys.executable, MANAGE, "devices_setup"]
    done = subprocess.run(
        setup, env=SITE_ENV[example_site], cwd=ROOT, check=True, capture_output=True, text=True
    )
    assert "every minute" in done.stdout
    page = browser.new_page()
    log_in(page, example_site)
    section = page.locator("section[aria-labelledby=scheduled-title]")
    runs = section.locator("tbody tr")

    def a_run_finished() -> bool:
        page.goto(example_site + "/devices/")
        assert "every 1 minute" in section.inner_text()
        return runs.count() > 0 and "Succeeded" in runs.first.inner_text()

    # The cluster's scheduler looks every 30 s; the schedule is due at once.
    wait_for(a_run_finished, timeout=90, interval=2)
    runs.first.get_by_role("link").click()
    page.wait_for_url("**/bulkops/**")
    assert "Time clock: download attendance" in page.locator("h1").inner_text()

    # Paused in django-q2's admin: Repeats 0.
    page.goto(example_site + "/devices/")
    section.get_by_role("link", name="Pause or change it in the admin").click()
    page.fill("#id_repeats", "0")
    page.locator("input[name=_save]").click()
    page.goto(example_site + "/devices/")
    assert "paused" in section.inner_text()
    page.close()


CANCEL_ROWS = 200_000


def test_cancel_during_a_large_update_shows_at_once_and_stops_within_two_seconds(
    browser: Any, example_site: str, example_env: dict[str, str]
) -> None:
    # Last in the module: it adds customers the other tests do not expect.
    subprocess.run(
        [sys.executable, MANAGE, "seed_customers", "--count", str(CANCEL_ROWS), "--clear"],
        env=example_env,
        check=True,
        cwd=ROOT,
    )
    page = browser.new_page()
    log_in(page, example_site)
    page.goto(example_site + "/customers/")
    page.get_by_role("button", name=f"Select all {CANCEL_ROWS:,} matching").click()
    page.get_by_text(f"All {CANCEL_ROWS:,} matching customers selected").wait_for()
    page.get_by_role("button", name="Update", exact=True).click()
    settled(page)
    panel = page.locator("#bulkops-panel")
    panel.get_by_label("City", exact=True).fill("Cancelville")
    assert panel.get_by_label("Set City").is_checked()
    page.locator("#bulkops-panel .bulkops-confirm").click()
    progress = page.locator("#bulkops-panel .bulkops-progress")
    page.wait_for_function(
        "() => Number(document.querySelector('#bulkops-panel [role=progressbar]')"
        "?.getAttribute('aria-valuenow')) > 0",
        timeout=30_000,
    )

    cancel = progress.get_by_role("button", name="Cancel")
    cancel.click()
    clicked = time.monotonic()
    # At once: the button says so and cannot be clicked again, before any answer.
    actions = page.locator("#bulkops-panel .bulkops-progress__actions")
    page.wait_for_function(
        "() => document.querySelector('#bulkops-panel .bulkops-progress__actions')"
        ".innerText.includes('Cancelling…')",
        timeout=500,
    )
    assert time.monotonic() - clicked < 0.5
    enabled = "#bulkops-panel .bulkops-progress__actions button:not([disabled])"
    assert page.locator(enabled).count() == 0, actions.inner_html()
    page.wait_for_function(
        "() => document.querySelector('#bulkops-panel .bulkops-progress')"
        "?.dataset.status === 'cancelled'",
        timeout=2_000,
    )
    assert time.monotonic() - clicked < 2.0
    with sqlite3.connect(example_env["EXAMPLE_SQLITE"]) as db:
        [(changed,)] = db.execute(
            "SELECT COUNT(*) FROM customers_customer WHERE city = 'Cancelville'"
        ).fetchall()
    assert 0 < changed < CANCEL_ROWS, changed
    shown = " ".join(progress.inner_text().split())
    assert f"{changed:,} / {CANCEL_ROWS:,}" in shown, shown
    page.close()
