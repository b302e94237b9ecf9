"""Every bulkops page in Chromium, checked by axe-core at desktop and phone width.

Three tests in one browser walk the task list, a task's detail, a list view's action bar,
update form and progress card, and the import's upload, preview with check, and result.
Each is checked at 1280 and 390 px, light and dark: no serious or critical axe violation, and
nothing scrolls the page sideways at 390 px. Progress bars are named after their job and
read out their numbers; Run and Cancel move the focus to the card.

With BULKOPS_SCREENSHOTS=<dir>, each page is saved at both widths in light and dark.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import bulkops
from bulkops.models import BulkTask
from tests.browser.conftest import log_in, settled
from tests.browser.test_import_check_ui import axe_js, serious_violations  # noqa: F401
from tests.browser.test_outcomes import finished_tasks
from tests.tabular.conftest import countries, importer, registered  # noqa: F401  (fixtures)
from tests.tabular.files import xlsx_bytes
from tests.testapp.models import Customer, Item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": 1280, "phone": 390}

# The contrast of the empty bar's edge against its card (WCAG 1.4.11 asks for 3:1; axe
# does not check non-text contrast).
TRACK_CONTRAST = """() => {
    const bar = document.querySelector('.bulkops-bar');
    const lum = c => {
        const [r, g, b] = c.match(/\\d+/g).slice(0, 3).map(v => {
            v = Number(v) / 255;
            return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const style = getComputedStyle(bar);
    const edge = lum(
        parseFloat(style.borderTopWidth) ? style.borderTopColor : style.backgroundColor
    );
    const card = lum(getComputedStyle(bar.closest('.bulkops-progress')).backgroundColor);
    return (Math.max(edge, card) + 0.05) / (Math.min(edge, card) + 0.05);
}"""


def check(page: Any, axe_js: str, name: str) -> None:  # noqa: F811
    """Axe at both widths in both schemes, no sideways scroll at 390 px; ends at desktop, light."""
    shots = os.environ.get("BULKOPS_SCREENSHOTS")
    problems = []
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        for scheme in ("dark", "light"):
            page.emulate_media(color_scheme=scheme)
            problems += [
                f"{name} at {width} px, {scheme}: {v}" for v in serious_violations(page, axe_js)
            ]
        if label == "phone":
            widths = page.evaluate(
                "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            if widths[0] > widths[1]:
                problems.append(f"{name} scrolls sideways at 390 px: {widths}")
        if shots:
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                page.screenshot(path=f"{shots}/a11y-{name}-{label}-{scheme}.png", full_page=True)
            page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": WIDTHS["desktop"], "height": 900})
    assert problems == []


def focused_on(page: Any, element_id: str) -> None:
    """htmx moves the focus when the swap settles, a moment after the new card is in."""
    page.wait_for_function("id => document.activeElement.id === id", arg=element_id)


def test_task_pages_pass_axe_and_name_their_bars(
    page: Any,
    live_server: Any,
    user: Any,
    axe_js: str,  # noqa: F811
) -> None:
    tasks = finished_tasks(user)
    Item.objects.create(name="one more", value=1)
    running = bulkops.submit(
        "update", user=user, queryset=Item.objects.all(), params={"values": {"name": "x"}}
    )
    BulkTask.objects.filter(pk=running.pk).update(
        status=BulkTask.Status.RUNNING,
        outcome="",
        finished_at=None,
        label="Rename items",
        processed=1200,
        total=5000,
    )
    log_in(page, live_server, user)

    page.goto("/bulkops/tasks/")
    check(page, axe_js, "task-list")

    page.goto(tasks["partial"].get_absolute_url())
    check(page, axe_js, "task-detail-partial")

    page.goto(running.get_absolute_url())
    bar = page.get_by_role("progressbar", name="Progress of Rename items")
    assert bar.get_attribute("aria-valuetext") == "1,200 of 5,000 rows, 24%"
    assert page.locator("[aria-live]").count() == 0, "a polled card is never a live region"
    assert page.evaluate(TRACK_CONTRAST) >= 3
    check(page, axe_js, "task-detail-running")

    # A milestone is announced once, politely; a poll that changes nothing says nothing.
    page.wait_for_function("() => document.getElementById('bulkops-announcer')")
    BulkTask.objects.filter(pk=running.pk).update(processed=2600)
    announcer = page.locator("#bulkops-announcer")
    announcer.get_by_text("Rename items: Running, 2,600 of 5,000 rows, 52%").wait_for(
        state="attached"
    )
    assert announcer.get_attribute("role") == "status"
    BulkTask.objects.filter(pk=running.pk).update(processed=2700)
    page.locator(".bulkops-processed", has_text="2,700").wait_for()
    assert "2,600" in announcer.text_content()

    # Cancel: the button goes away and the focus lands on the card, not on the page's body.
    page.get_by_role("button", name="Cancel").click()
    page.locator(".bulkops-progress .bulkops-muted", has_text="Cancelling…").wait_for()
    focused_on(page, f"bulkops-task-{running.pk}")


def test_list_view_steps_and_progress_pass_axe(
    page: Any,
    live_server: Any,
    customer_user: Any,
    dummy_backend: list[Any],
    axe_js: str,  # noqa: F811
) -> None:
    Customer.objects.bulk_create(
        Customer(name=f"Customer {i}", email=f"c{i}@example.com", city="Porto") for i in range(25)
    )
    log_in(page, live_server, customer_user)
    page.goto("/customers/filtered/")
    page.locator("#bulkops-check-page").check()
    page.get_by_text("10 selected").wait_for()
    check(page, axe_js, "list-bar")

    page.get_by_role("button", name="Update", exact=True).click()
    settled(page)
    assert page.evaluate("() => document.activeElement.textContent") == "Update 10 customers"
    check(page, axe_js, "list-update-form")

    page.get_by_label("City", exact=True).fill("Faro")
    page.locator("#bulkops-panel .bulkops-confirm").click()
    card = page.locator("#bulkops-panel .bulkops-progress")
    card.wait_for()
    (task_id,) = dummy_backend
    focused_on(page, f"bulkops-task-{task_id}")
    title = card.locator(".bulkops-progress__title").inner_text()
    assert page.get_by_role("region", name=title).count() == 1
    assert card.get_by_role("progressbar", name=f"Progress of {title}").count() == 1
    check(page, axe_js, "list-progress")


def test_import_pages_pass_axe(
    page: Any,
    live_server: Any,
    importer: Any,  # noqa: F811
    registered: Any,  # noqa: F811
    countries: Any,  # noqa: F811
    tmp_path: Path,
    axe_js: str,  # noqa: F811
) -> None:
    rows: list[list[Any]] = [["Name", "Email", "Country"]]
    rows += [["Cid", "not-an-email", "ES"], ["Dee", "dee@example.com", "XX"]]
    rows += [[f"New {i}", f"n{i}@example.com", "PT"] for i in range(8)]
    path = tmp_path / "people.xlsx"
    path.write_bytes(xlsx_bytes(rows))

    log_in(page, live_server, importer)
    page.goto("/bulkops/import/tabular_models.customer/")
    check(page, axe_js, "import-upload")

    page.set_input_files("input[name=file]", str(path))
    page.click("button[type=submit]")
    page.locator(".bulkops-import-check[data-status=succeeded]").wait_for()
    check(page, axe_js, "import-check")

    page.get_by_role("button", name="Import", exact=True).click()
    page.locator(".bulkops-import-summary").wait_for()
    check(page, axe_js, "import-result")
