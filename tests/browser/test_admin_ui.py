"""The admin with BulkOpsAdminMixin in Chromium (tests/testapp/admin.py CustomerAdmin):
an import with a failing row then the fixed rows uploaded again, an export of a filtered
changelist in every format read back, a background action whose bar moves on the
changelist, and the same pages in the admin's dark theme, checked by axe-core."""

from __future__ import annotations

import json
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
from tests.browser.test_import_check_ui import axe_js, serious_violations  # noqa: F401
from tests.testapp.models import Customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHANGELIST = "/admin/testapp/customer/"
SHOTS = Path(__file__).resolve().parents[2] / ".test-artifacts" / "admin"


@pytest.fixture
def staff(django_user_model: Any) -> Any:
    # A superuser: the admin shows every button; permissions are in tests/test_admin.py.
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


@pytest.fixture
def worker(settings: Any, dummy_backend: list[Any]) -> Iterator[None]:
    """A worker thread that runs queued tasks, each chunk slowed so the bar can be seen."""
    from tests.testapp.operations import Relocate

    settings.BULKOPS = {**settings.BULKOPS, "CHUNK_SIZE": 2, "POLL_INTERVAL": 0.25}
    stop = threading.Event()
    original = Relocate.run

    def slow_run(self: Any, ctx: Any) -> Any:
        batches = ctx.batches

        def slow_batches(*args: Any, **kwargs: Any) -> Any:
            for batch in batches(*args, **kwargs):
                time.sleep(0.4)
                yield batch

        ctx.batches = slow_batches
        return original(self, ctx)

    Relocate.run = slow_run  # type: ignore[method-assign]

    def loop() -> None:
        from django.db import connection

        while not stop.is_set():
            if dummy_backend:
                runner.run(dummy_backend.pop(0))
            time.sleep(0.05)
        connection.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=10)
    Relocate.run = original  # type: ignore[method-assign]


def csv_file(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("\n".join(",".join(row) for row in rows) + "\n", encoding="utf-8")
    return path


def upload_and_check(page: Any, path: Path) -> Any:
    page.goto(CHANGELIST)
    page.click("a.bulkops-admin-import")
    page.set_input_files("input[name=file]", str(path))
    if page.locator("select[name=key_field]").count():
        page.select_option("select[name=key_field]", "email")
    page.click(".bulkops-import-upload button[type=submit]")
    check = page.locator(".bulkops-import-check[data-status=succeeded]")
    try:
        check.wait_for(timeout=5000)
    except Exception:
        print(page.locator("#content").inner_html()[:3000])  # what the page said instead
        raise
    return check


def test_import_with_a_failing_row_then_the_fixed_row_uploaded_again(
    page: Any, live_server: Any, staff: Any, tmp_path: Path
) -> None:
    log_in(page, live_server, staff)
    header = ["Name", "Email", "City", "Country"]
    first = csv_file(
        tmp_path / "customers.csv",
        [header, ["Ann", "ann@example.com", "Porto", "PT"], ["Bob", "not-an-email", "Faro", "PT"]],
    )

    check = upload_and_check(page, first)

    # Inside the admin's own page: its header and breadcrumbs around the import.
    assert page.locator("#header").count() == 1 and "Import customers" in page.title()
    assert check.locator(".bulkops-will-create").inner_text() == "1"
    assert check.locator(".bulkops-will-fail").inner_text() == "1"
    assert "Enter a valid email address." in check.locator(".bulkops-import-failures").inner_text()
    page.click("button[name=confirm]")
    summary = page.locator(".bulkops-import-summary")
    summary.wait_for()
    assert summary.locator(".bulkops-created").inner_text() == "1"
    assert summary.locator(".bulkops-failed").inner_text() == "1"
    with page.expect_download() as download:
        summary.locator("a.bulkops-import-report").click()
    report = open_table(download.value.path(), filename=download.value.suggested_filename)
    (row,) = [cells for _number, cells in report.rows()]
    assert "not-an-email" in row

    fixed = csv_file(tmp_path / "fixed.csv", [header, ["Bob", "bob@example.com", "Faro", "PT"]])
    check = upload_and_check(page, fixed)
    assert check.locator(".bulkops-will-fail").inner_text() == "0"
    page.click("button[name=confirm]")
    page.locator(".bulkops-import-summary .bulkops-created").wait_for()
    assert page.locator(".bulkops-import-summary .bulkops-created").inner_text() == "1"
    assert sorted(Customer.objects.values_list("email", flat=True)) == [
        "ann@example.com",
        "bob@example.com",
    ]


def read_back(path: str, file_format: str) -> tuple[list[str], list[list[Any]]]:
    if file_format == "json":
        items = json.loads(Path(path).read_text(encoding="utf-8"))
        return list(items[0]), [list(item.values()) for item in items]
    table = open_table(path, filename=f"export.{file_format}")
    return list(table.headers), [list(cells) for _number, cells in table.rows()]


@pytest.mark.parametrize("file_format", ["xlsx", "csv", "ods", "json"])
def test_export_of_a_filtered_changelist_reads_back(
    page: Any, live_server: Any, staff: Any, customers: list[Customer], file_format: str
) -> None:
    log_in(page, live_server, staff)
    page.goto(CHANGELIST + "?city__exact=Porto")
    button = page.locator("a.bulkops-admin-export")
    assert button.text_content() == "Export 10 matching"
    button.click()

    # Waits for the export form (content() right after the click may see the page loading).
    page.get_by_text("This will run on 10 customers in the background.").wait_for()
    page.select_option("select[name=format]", file_format)
    page.uncheck("input[name=columns][value=active]")
    page.click("input[type=submit]")

    # Back on the same filtered changelist, where the finished task offers its file.
    page.wait_for_url(f"**{CHANGELIST}?city__exact=Porto")
    card = page.locator(".bulkops-admin-tasks .bulkops-progress[data-status=succeeded]").first
    card.wait_for()
    with page.expect_download() as download:
        card.get_by_role("link", name="Download file").click()
    headers, rows = read_back(str(download.value.path()), file_format)

    if file_format == "json":
        assert headers == ["name", "email", "city", "country"]
    else:
        assert headers == ["Name", "Email", "City", "Country"]
    porto = Customer.objects.filter(city="Porto").order_by("pk")
    assert [row[1] for row in rows] == [c.email for c in porto]
    assert {row[2] for row in rows} == {"Porto"} and len(rows) == 10


def test_a_background_action_shows_its_progress_on_the_changelist(
    page: Any, live_server: Any, staff: Any, customers: list[Customer], worker: None
) -> None:
    log_in(page, live_server, staff)
    page.goto(CHANGELIST + "?city__exact=Porto")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "relocate")
    page.click("button[name=index]")
    page.fill("input[name=city]", "Faro")
    page.click("input[type=submit]")

    page.wait_for_url(f"**{CHANGELIST}?city__exact=Porto")
    bar = page.locator(".bulkops-admin-tasks .bulkops-progress").first
    bar.wait_for()
    # The card has a row of its own under the title and the Import/Export buttons; it
    # does not squeeze them into a narrow column beside it.
    title = page.locator("#content h1").bounding_box()
    tools = page.locator("ul.object-tools").bounding_box()
    cards = page.locator(".bulkops-admin-tasks").bounding_box()
    assert title and tools and cards
    assert cards["y"] >= max(title["y"] + title["height"], tools["y"] + tools["height"]) - 1
    assert cards["width"] >= 0.9 * page.locator("#changelist").bounding_box()["width"]
    # The bar moves while the worker runs: seen part-way, then finished.
    page.wait_for_function(
        "() => { const v = +document.querySelector('.bulkops-admin-tasks [role=progressbar]')"
        ".getAttribute('aria-valuenow'); return v > 0 && v < 100; }"
    )
    page.locator(".bulkops-admin-tasks .bulkops-progress[data-status=succeeded]").wait_for()
    task = BulkTask.objects.get(operation="tests.relocate")
    assert (task.total, task.succeeded_count) == (10, 10)
    assert Customer.objects.filter(city="Faro").count() == 10


def test_dark_theme_pages_look_right_and_pass_axe(
    page: Any,
    live_server: Any,
    staff: Any,
    customers: list[Customer],
    axe_js: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    log_in(page, live_server, staff)
    page.emulate_media(color_scheme="dark")
    SHOTS.mkdir(parents=True, exist_ok=True)
    import bulkops

    bulkops.submit(
        "tests.relocate",
        user=staff,
        queryset=Customer.objects.filter(city="Porto"),
        params={"city": "Faro"},
    )

    page.goto(CHANGELIST)
    card = page.locator(".bulkops-admin-tasks .bulkops-progress").first
    card.wait_for()
    background = card.evaluate("e => getComputedStyle(e).backgroundColor")
    body = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(255, 255, 255)", "the card must follow the admin's dark theme"
    assert body != "rgb(255, 255, 255)"
    page.screenshot(path=str(SHOTS / "changelist-dark.png"), full_page=True)
    assert serious_violations(page, axe_js) == []

    bad = csv_file(
        tmp_path / "bad.csv",
        [["Name", "Email", "City"], ["Ann", "ann@example.com", "Porto"], ["Bob", "nope", "X"]],
    )
    upload_and_check(page, bad)
    page.screenshot(path=str(SHOTS / "import-check-dark.png"), full_page=True)
    assert serious_violations(page, axe_js) == []

    page.goto(CHANGELIST + "?city__exact=Lisbon")
    page.click("a.bulkops-admin-export")
    page.screenshot(path=str(SHOTS / "export-form-dark.png"), full_page=True)
    assert serious_violations(page, axe_js) == []
