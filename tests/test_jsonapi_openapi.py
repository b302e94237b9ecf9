"""The OpenAPI document: valid, and true of the live server (schemathesis under uvicorn)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from openapi_spec_validator import validate

from bulkops.jsonapi.openapi import document
from bulkops.models import BulkTask, BulkTaskError
from tests.testapp.models import Customer


def test_the_served_document_validates(client: Client) -> None:
    response = client.get(reverse("bulkops:api-openapi"))

    assert response.status_code == 200
    served = response.json()
    validate(served)
    assert served == document()
    assert "/bulkops/api/tasks/{id}/events/" in served["paths"]


def test_every_api_url_is_in_the_document() -> None:
    from bulkops.jsonapi.urls import urlpatterns

    documented = set(document()["paths"])
    for pattern in urlpatterns:
        route = "/bulkops/" + str(pattern.pattern).replace("<uuid:pk>", "{id}")
        route = route.replace("<str:view>", "{view}").replace("<str:action>", "{action}")
        route = route.replace("<str:model>", "{model}").replace("<str:name>", "{name}")
        if route.endswith("openapi.json") or route.startswith("/bulkops/^"):
            continue
        assert route in documented, route


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_server_error_and_no_response_outside_the_schema(
    asgi_server: int, user: Any, tmp_path: Path
) -> None:
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_all_tasks", "view_customer", "change_customer", "delete_customer"]
        )
    )
    customers = Customer.objects.bulk_create(
        Customer(name=f"C{i}", email=f"c{i}@example.com", city="Porto") for i in range(3)
    )
    # A finished update with a failed row, a file and errors: every task action applies.
    finished = BulkTask.objects.create(
        operation="update",
        owner=user,
        model="testapp.customer",
        query=pickle.dumps(Customer.objects.all().query),
        params={"values": {"city": "Faro"}, "mode": "queryset"},
        status="failed",
        outcome="partial",
        total=3,
        processed=3,
        succeeded_count=2,
        failed_count=1,
    )
    finished.result_file.save("result.csv", ContentFile(b"a,b\n"))
    BulkTaskError.objects.create(
        task=finished, row=2, ref=str(customers[0].pk), field="city", message="bad"
    )
    BulkTask.objects.create(operation="delete", owner=user, status="pending", total=3)
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "[[operations]]\n"
        'include-path-regex = "/tasks/\\\\{id\\\\}/'
        '(|errors/|errors.csv|download/|cancel/|retry/|retry-failed/)$"\n'
        f'parameters = {{ "path.id" = "{finished.pk}" }}\n\n'
        "[[operations]]\n"
        'include-path = "/bulkops/api/actions/{view}/{action}/"\n'
        'parameters = { "path.view" = "customers", "path.action" = "update" }\n'
    )
    client = Client()
    client.force_login(user)
    client.get(reverse("bulkops:task-list"))
    cookies = "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())
    base = f"http://127.0.0.1:{asgi_server}"
    argv = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{base}{reverse('bulkops:api-openapi')}",
        "--url",
        base,
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,"
        "response_schema_conformance",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "5",
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--seed",
        "1",
        "-H",
        f"Cookie: {cookies}",
        "-H",
        f"X-CSRFToken: {client.cookies['csrftoken'].value}",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1"}
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path
    )
    (Path(__file__).parent.parent / "test-results").mkdir(exist_ok=True)
    (Path(__file__).parent.parent / "test-results" / "schemathesis.txt").write_text(result.stdout)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
