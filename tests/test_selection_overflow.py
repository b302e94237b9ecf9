"""Primary keys no database column can hold: a 400, and a session that keeps working."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.testapp.models import Customer

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}
HUGE = "99999999999999999999999"


@pytest.fixture
def client(customer_user: Any) -> Client:
    client = Client()
    client.force_login(customer_user)
    return client


def selected_count(html: str) -> int:
    match = re.search(r'id="bulkops-bar"[^>]*data-count="(\d+)"', html, re.S)
    assert match, html
    return int(match.group(1))


@pytest.mark.parametrize(
    "data",
    [
        {"bulk_op": "toggle", "bulk_pk": HUGE, "bulk_checked": "1"},
        {"bulk_op": "page", "bulk_page": ["1", HUGE], "bulk_checked": "1"},
        {"bulk_op": "toggle", "bulk_pk": "-" + HUGE, "bulk_checked": "1"},
    ],
)
def test_overflowing_posted_pk_is_a_400_and_leaves_the_selection(
    client: Client, customers: list[Customer], data: dict[str, Any]
) -> None:
    url = reverse("customers")
    first = customers[0]
    client.post(url, {"bulk_op": "toggle", "bulk_pk": first.pk, "bulk_checked": "1"}, headers=HX)

    response = client.post(url, data, headers=HX)

    assert response.status_code == 400
    assert "does not exist" in response.content.decode()
    page = client.get(url)
    assert page.status_code == 200
    assert selected_count(page.content.decode()) == 1


def test_a_session_already_holding_one_still_lists_and_acts(
    client: Client, customers: list[Customer]
) -> None:
    url = reverse("customers")
    client.post(
        url, {"bulk_op": "toggle", "bulk_pk": customers[0].pk, "bulk_checked": "1"}, headers=HX
    )
    session = client.session
    [key] = [k for k, v in session.items() if isinstance(v, dict) and "ids" in v]
    session[key] = {**session[key], "ids": [*session[key]["ids"], HUGE]}
    session.save()

    page = client.get(url)
    assert page.status_code == 200
    html = client.post(
        url, {"bulk_op": "action", "bulk_action": "delete"}, headers=HX
    ).content.decode()
    assert "Delete 1 customer?" in html
