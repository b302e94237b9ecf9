"""The task event stream in Chromium: htmx's SSE extension under uvicorn; EventSource under WSGI."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from bulkops.models import BulkTask

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_htmx_sse_extension_swaps_in_progress_and_the_finish(
    browser: Any, asgi_server: int, user: Any
) -> None:
    task = BulkTask.objects.create(
        operation="update",
        owner=user,
        label="Recount",
        status="running",
        total=200,
        processed=20,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    client = Client()
    client.force_login(user)
    site = f"http://127.0.0.1:{asgi_server}"
    context = browser.new_context(base_url=site)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": site}]
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"/sse/{task.pk}/")
        bar = page.locator("#live [role=progressbar]")
        bar.wait_for(state="attached")
        assert bar.get_attribute("aria-valuenow") == "10"
        assert page.locator("#live [hx-get]").count() == 0  # no polling beside the stream

        BulkTask.objects.filter(pk=task.pk).update(processed=130)
        page.wait_for_function(
            "document.querySelector('#live [role=progressbar]')"
            ".getAttribute('aria-valuenow') === '65'"
        )
        BulkTask.objects.filter(pk=task.pk).update(
            status="succeeded", outcome="succeeded", processed=200, finished_at=timezone.now()
        )
        page.wait_for_function(
            "document.querySelector('#live .bulkops-progress--succeeded') !== null"
        )
        assert page.locator("#live .bulkops-percent").inner_text() == "100%"
    finally:
        context.close()


def test_under_wsgi_eventsource_falls_back_to_polling(
    page: Any, live_server: Any, user: Any
) -> None:
    """runserver-like WSGI: one event per request, and EventSource reconnects on its own."""
    from tests.browser.conftest import log_in

    task = BulkTask.objects.create(
        operation="update",
        owner=user,
        status="running",
        total=4,
        processed=1,
        heartbeat_at=timezone.now(),
    )
    log_in(page, live_server, user)
    page.goto("/bulkops/tasks/")
    url = f"/bulkops/api/tasks/{task.pk}/events/"
    page.evaluate(
        """url => {
            window.seen = [];
            const source = new EventSource(url);
            const keep = e => window.seen.push([e.type, JSON.parse(e.data).percent]);
            source.addEventListener("progress", keep);
            source.addEventListener("finished", e => { keep(e); source.close(); });
        }""",
        url,
    )
    page.wait_for_function("window.seen.length >= 1")
    BulkTask.objects.filter(pk=task.pk).update(processed=3)
    page.wait_for_function("window.seen.some(([, percent]) => percent === 75)")
    BulkTask.objects.filter(pk=task.pk).update(
        status="succeeded", outcome="succeeded", processed=4, finished_at=timezone.now()
    )
    page.wait_for_function("window.seen.some(([type]) => type === 'finished')")

    seen = page.evaluate("window.seen")
    assert seen[0] == ["progress", 25] and seen[-1] == ["finished", 100]
