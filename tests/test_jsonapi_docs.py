"""docs/reference/json-api.md: every example there is a real request and its real answer.

Each ``<!-- example: NAME STATUS -->`` is followed by an ``http`` block (the request)
and a ``json`` block (the answer). The scenario NAME below makes that request against
the test project; the answer must have the documented status, the same keys and
types, and the same values, except ids, times and speeds, which differ per run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from bulkops.models import BulkTask, BulkTaskError
from tests.tabular.conftest import countries, importer, registered  # noqa: F401 - fixtures used below
from tests.tabular.files import xlsx_bytes
from tests.testapp.models import Customer

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parent.parent / "docs" / "reference" / "json-api.md"
EXAMPLE = re.compile(
    r"<!-- example: (?P<name>[\w-]+) (?P<status>\d{3}) -->\s*"
    r"```http\n(?P<request>.*?)```\s*```json\n(?P<response>.*?)```",
    re.S,
)
# Speeds and durations: a number, or null until there is one to give.
TIMING = {"elapsed_seconds", "rate", "eta_seconds"}
# Values that differ on every run: compared by type (and null or not) only.
VOLATILE = {
    "id",
    "created_at",
    "started_at",
    "finished_at",
    "upload",
    "self",
    "page",
    "events",
    "errors",
    "error_report",
    "download",
    "cancel",
    "retry",
    "retry_failed",
    "next",
    "previous",
    "url",
    "ref",
    "Location",
}


def examples() -> list[dict[str, str]]:
    return [m.groupdict() for m in EXAMPLE.finditer(DOC.read_text())]


def same(doc: Any, real: Any, where: str = "") -> None:
    if isinstance(doc, dict):
        assert isinstance(real, dict) and set(doc) == set(real), (where, doc, real)
        for key in doc:
            if key in TIMING:
                assert real[key] is None or isinstance(real[key], (int, float)), (key, real)
            elif key in VOLATILE and not isinstance(doc[key], (dict, list)):
                assert (doc[key] is None) == (real[key] is None), (where + key, real[key])
                assert type(doc[key]) is type(real[key]), (where + key, real[key])
            else:
                same(doc[key], real[key], f"{where}{key}.")
    elif isinstance(doc, list):
        assert isinstance(real, list) and len(doc) == len(real), (where, doc, real)
        for i, (d, r) in enumerate(zip(doc, real, strict=True)):
            same(d, r, f"{where}{i}.")
    else:
        assert doc == real, (where, doc, real)


@pytest.fixture
def world(client: Client, customer_user: Any, customers: list[Customer]) -> dict[str, Any]:
    """The data the examples talk about: Carol's update of the customers, 40% done."""
    client.force_login(customer_user)
    task = BulkTask.objects.create(
        operation="update",
        model="testapp.customer",
        owner=customer_user,
        label="Update customers",
        status="running",
        stage="Updating",
        total=30,
        processed=12,
        succeeded_count=11,
        failed_count=1,
        created_at=timezone.now(),
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    BulkTaskError.objects.create(
        task=task,
        row=7,
        ref=str(customers[6].pk),
        field="email",
        message="Customer with this Email already exists.",
        values={"email": "c1@example.com"},
    )
    return {"client": client, "task": task, "customers": customers}


def send(client: Client, request: str, world: dict[str, Any], **extra: Any) -> Any:
    first, _, body = request.partition("\n\n")
    method, path = first.splitlines()[0].split()[:2]
    headers = dict(line.split(": ", 1) for line in first.splitlines()[1:] if ": " in line)
    path = path.replace("{id}", str(world["task"].pk))
    if method == "GET":
        return client.get(path, **extra)
    if headers.get("Content-Type", "").startswith("multipart/"):
        return client.post(path, extra.pop("data"), **extra)
    body = body.strip()
    for key, value in world.get("substitute", {}).items():
        body = body.replace(key, value)
    return client.generic(
        method, path, body.encode(), content_type="application/json", headers=extra
    )


Fixture = Callable[[str], Any]
SCENARIOS: dict[str, Callable[[dict[str, Any], str, Fixture], Any]] = {}


def scenario(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        SCENARIOS[name] = function
        return function

    return register


@scenario("task-list")
@scenario("task-detail")
@scenario("task-errors")
@scenario("action-bad-field")
def plain(world: dict[str, Any], request: str, fixture: Fixture) -> Any:
    return send(world["client"], request, world)


@scenario("not-found")
def not_found(world: dict[str, Any], request: str, fixture: Fixture) -> Any:
    client = Client()
    client.force_login(fixture("other_user"))
    return send(client, request, world)


@scenario("csrf-failed")
def csrf_failed(world: dict[str, Any], request: str, fixture: Fixture) -> Any:
    client = Client(enforce_csrf_checks=True)
    client.force_login(fixture("customer_user"))
    return send(client, request, world)


@scenario("task-cancel")
def cancel(world: dict[str, Any], request: str, fixture: Fixture) -> Any:
    return send(world["client"], request, world)


@scenario("action-update")
def update(world: dict[str, Any], request: str, fixture: Fixture) -> Any:
    fixture("dummy_backend")
    customers = world["customers"]
    world["substitute"] = {"[1, 2]": json.dumps([customers[0].pk, customers[1].pk])}
    return send(world["client"], request, world)


@scenario("action-nothing-selected")
def nothing_selected(world: dict[str, Any], request: str, fixture: Fixture) -> Any:
    return send(world["client"], request, world)


@scenario("operation-run")
def operation_run(world: dict[str, Any], request: str, fixture: Fixture) -> Any:
    fixture("monkeypatch").setattr("django.db.transaction.on_commit", lambda func, **kwargs: func())
    return send(world["client"], request, world)


@scenario("import-upload")
@scenario("import-confirm")
def import_steps(world: dict[str, Any], request: str, fixture: Fixture) -> Any:
    fixture("registered")
    fixture("countries")
    client = Client()
    client.force_login(fixture("importer"))
    rows = [["Name", "E-mail", "Country"], ["Ann", "ann@example.com", "ES"], ["Bob", "bob", "FR"]]
    upload_path = "/bulkops/api/imports/tabular_models.customer/"
    data = {"file": SimpleUploadedFile("people.xlsx", xlsx_bytes(rows)), "key_field": "email"}
    # Outside a test's transaction a small file's check runs inside the request.
    with mock.patch("django.db.transaction.on_commit", lambda func, **kwargs: func()):
        uploaded = client.post(upload_path, data)
    if request.startswith("POST /bulkops/api/imports/tabular_models.customer/\n"):
        return uploaded
    token = uploaded.json()["upload"]
    world["substitute"] = {'"<the upload token>"': json.dumps(token)}
    world["client"] = client
    return send(client, request, world)


@pytest.mark.parametrize("example", examples(), ids=lambda e: e["name"])
def test_documented_example_is_the_real_answer(
    example: dict[str, str], world: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    response = SCENARIOS[example["name"]](world, example["request"], request.getfixturevalue)

    assert response.status_code == int(example["status"]), response.content[:500]
    same(json.loads(example["response"]), response.json())


def test_the_page_documents_every_scenario() -> None:
    assert {e["name"] for e in examples()} == set(SCENARIOS)
