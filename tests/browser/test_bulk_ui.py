"""The bulk list view in Chromium, with a real Celery worker doing the work."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bulkops.models import BulkTask
from tests.browser.conftest import log_in, settled
from tests.testapp.models import Customer, Order

pytestmark = [
    pytest.mark.browser,
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

ROWS = 100_000


@pytest.fixture
def celery(workers: Any, settings: Any) -> dict[str, Any]:
    """Tasks submitted by the live server (a thread of this process) go to Celery."""
    config = workers.get("celery-redis")
    settings.BULKOPS = {
        **config,
        "SYNC_THRESHOLD": 0,
        "CHUNK_SIZE": 500,
        "POLL_INTERVAL": 0.25,
        "PROGRESS_INTERVAL": 0.1,
    }
    return config


def watch_progress(page: Any, timeout: float = 180) -> list[int]:
    """aria-valuenow of the bar as the page shows it, until the task is finished."""
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = page.evaluate(
            """() => {
                const s = document.querySelector('#bulkops-panel .bulkops-progress');
                if (!s) return null;
                const bar = s.querySelector('[role=progressbar]');
                return [s.dataset.status, Number(bar.getAttribute('aria-valuenow'))];
            }"""
        )
        if state:
            status, percent = state
            if not seen or seen[-1] != percent:
                seen.append(percent)
            if status in ("succeeded", "failed", "cancelled"):
                return seen
        time.sleep(0.05)
    raise AssertionError(f"the task did not finish in {timeout} s; bar went {seen}")


def test_select_all_100000_and_update_with_a_live_progress_bar(
    page: Any, live_server: Any, customer_user: Any, celery: Any
) -> None:
    Customer.objects.bulk_create(
        (
            Customer(name=f"Customer {i}", email=f"c{i}@example.com", city="Lisbon")
            for i in range(ROWS)
        ),
        batch_size=10_000,
    )
    log_in(page, live_server, customer_user)
    page.goto("/customers/filtered/?city=Lisbon")
    page.evaluate("window.__notReloaded = true")

    page.get_by_role("button", name=f"Select all {ROWS:,} matching").click()
    page.get_by_text(f"All {ROWS:,} matching customers selected").wait_for()
    assert page.locator(".bulkops-check:checked").count() == 11  # ten rows + the page box
    page.get_by_role("button", name="Update", exact=True).click()
    settled(page)
    page.get_by_label("City", exact=True).fill("Faro")
    assert page.get_by_label("Set City").is_checked(), "typing a value ticks its switch"
    page.locator("#bulkops-panel .bulkops-confirm").click()

    seen = watch_progress(page)

    assert seen[-1] == 100
    assert any(0 < percent < 100 for percent in seen), f"the bar never moved: {seen}"
    assert seen == sorted(seen)
    progress = page.locator("#bulkops-panel .bulkops-progress")
    assert progress.get_attribute("data-status") == "succeeded"
    assert f"{ROWS:,} / {ROWS:,}" in " ".join(progress.inner_text().split())
    assert page.evaluate("window.__notReloaded") is True, "the page must not reload"
    page.get_by_text("0 selected").wait_for()
    assert Customer.objects.filter(city="Faro").count() == ROWS
    task = BulkTask.objects.get()
    assert task.backend == "bulkops.backends.celery.CeleryBackend" and task.backend_id


def test_bulk_delete_shows_the_protected_rows_error(
    page: Any, live_server: Any, customer_user: Any, celery: Any
) -> None:
    customers = Customer.objects.bulk_create(
        Customer(name=f"Customer {i}", email=f"c{i}@example.com", city="Porto") for i in range(40)
    )
    Customer.objects.filter(pk=customers[5].pk).update(name="Ana")
    order = Order.objects.create(customer=customers[5])
    log_in(page, live_server, customer_user)
    page.goto("/customers/filtered/")

    page.locator("#bulkops-check-page").check()
    page.get_by_text("10 selected").wait_for()
    page.get_by_role("button", name="Select all 40 matching").click()
    page.get_by_text("All 40 matching customers selected").wait_for()
    page.get_by_role("button", name="Delete", exact=True).click()
    page.get_by_text("Delete 40 customers?").wait_for()
    assert "Orders: 1" in page.locator("#bulkops-panel").inner_text()
    page.get_by_role("button", name="Yes, delete").click()

    watch_progress(page)

    panel = page.locator("#bulkops-panel")
    message = f"Cannot delete Customer 'Ana' because Order #{order.pk} refers to it."
    page.get_by_text(message).wait_for()
    assert "1 row failed" in panel.inner_text()
    assert list(Customer.objects.values_list("name", flat=True)) == ["Ana"]
    # The bar follows the rows once the task is done: one customer is left.
    page.get_by_text("0 selected").wait_for()
    page.get_by_role("button", name="Select all 1 matching").wait_for()
    panel.get_by_role("link", name="Details").click()
    page.get_by_role("button", name="Retry the failed row").wait_for()
