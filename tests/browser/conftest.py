"""A real Chromium (Debian's, never a downloaded one) driven by Playwright's sync API."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests
# make between browser steps are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests.services import CHROMIUM, CHROMIUM_ARGS  # noqa: E402


# Package scope: Playwright's sync API allows one instance per thread at a time, so the
# browser closes when tests/browser/ is done, before other packages start their own.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser context per test, pointed at the live server."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    context.close()


def log_in(page: Any, live_server: Any, user: Any) -> None:
    """Give the browser a session for ``user`` without going through a login form."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])


def settled(page: Any) -> None:
    """Wait until htmx has processed the swapped-in panel (its hx-on handlers are live)."""
    page.wait_for_function(
        "() => document.querySelector('#bulkops-panel > *')"
        " && !document.querySelector('#bulkops-panel.htmx-settling, #bulkops-panel .htmx-added')"
    )
