"""Each outcome's look in Chromium: nothing that failed a row is ever green."""

from __future__ import annotations

import colorsys
from typing import Any

import pytest

import bulkops
from bulkops import runner
from bulkops.models import BulkTask
from tests.browser.conftest import log_in
from tests.testapp.models import Item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOOK = """(selector) => [...document.querySelectorAll(selector)].map(el => {
    const [r, g, b] = getComputedStyle(el).backgroundColor.match(/\\d+/g).map(Number);
    return {text: el.textContent.trim(), r, g, b};
})"""


def green(color: dict[str, Any]) -> bool:
    """A green hue with some colour in it (pale badges included, greys not)."""
    hue, lightness, saturation = colorsys.rgb_to_hls(*(color[c] / 255 for c in "rgb"))
    return 90 <= hue * 360 <= 170 and saturation > 0.2


def finished_tasks(user: Any) -> dict[str, BulkTask]:
    """One real task per outcome, run through the runner as a worker would."""
    tasks: dict[str, BulkTask] = {}
    Item.objects.bulk_create(Item(name=f"item {i}", value=2 * i + 1) for i in range(6))
    for outcome, values in [("failed", None), ("partial", range(6)), ("succeeded", None)]:
        if values is not None:
            for item, value in zip(Item.objects.order_by("pk"), values, strict=True):
                Item.objects.filter(pk=item.pk).update(value=value)
        name = "update" if outcome == "succeeded" else "tests.bad_rows"
        params = {"values": {"name": "done"}} if name == "update" else {}
        task = bulkops.submit(name, user=user, queryset=Item.objects.all(), params=params)
        runner.run(task.pk)
        tasks[outcome] = BulkTask.objects.get(pk=task.pk)
    cancelled = bulkops.submit(
        "update", user=user, queryset=Item.objects.all(), params={"values": {"name": "never"}}
    )
    bulkops.cancel(cancelled)
    tasks["cancelled"] = BulkTask.objects.get(pk=cancelled.pk)
    return tasks


def test_each_outcome_has_its_own_look_and_the_list_filters_by_outcome(
    page: Any, live_server: Any, user: Any, settings: Any
) -> None:
    settings.BULKOPS = {**settings.BULKOPS, "BACKEND": "bulkops.backends.dummy.DummyBackend"}
    tasks = finished_tasks(user)
    assert {k: t.outcome for k, t in tasks.items()} == {k: k for k in tasks}
    assert tasks["failed"].status == "succeeded", "every row failed, yet the run reached the end"
    log_in(page, live_server, user)

    page.goto("/bulkops/tasks/")
    badges = {b["text"]: b for b in page.evaluate(LOOK, ".bulkops-table .bulkops-badge")}
    assert set(badges) == {"Failed", "Finished with failed rows", "Cancelled", "Succeeded"}
    assert green(badges["Succeeded"])
    for label in ("Failed", "Finished with failed rows", "Cancelled"):
        assert not green(badges[label]), (label, badges[label])

    for outcome, task in tasks.items():
        page.goto(f"/bulkops/tasks/{task.pk}/")
        card = page.locator(".bulkops-progress")
        assert card.get_attribute("data-outcome") == outcome
        (fill,) = page.evaluate(LOOK, ".bulkops-progress .bulkops-bar__fill")
        assert green(fill) == (outcome == "succeeded"), (outcome, fill)
        if task.failed_count:
            # The count, and a link that leads to the rows that failed.
            assert f"{task.failed_count} rows failed" in card.inner_text()
            card.get_by_role("link", name="See the errors").click()
            assert page.locator("#errors").is_visible()
            assert page.locator(".bulkops-error-table tbody tr").count() == task.failed_count

    page.goto("/bulkops/tasks/")
    page.get_by_label("Outcome").select_option("partial")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**outcome=partial**")
    rows = page.locator(".bulkops-table tbody tr")
    assert rows.count() == 1
    assert rows.first.locator(".bulkops-badge").inner_text() == "Finished with failed rows"
