"""htmx's SSE extension on the task event stream (``?format=html``), under uvicorn."""

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
