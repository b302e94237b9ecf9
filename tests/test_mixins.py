from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.generic import ListView

from bulkops.models import BulkTask, BulkTaskError
from bulkops.views import BulkMixin
from tests.testapp import views
from tests.testapp.models import Customer, Order

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


@pytest.fixture
def client(customer_user: Any) -> Client:
    client = Client()
    client.force_login(customer_user)
    return client


def post(client: Client, url: str, **data: Any) -> Any:
    return client.post(url, data, headers=HX)


def selected_count(html: str) -> int:
    match = re.search(r'id="bulkops-bar"[^>]*data-count="(\d+)"', html, re.S)
    assert match, html
    return int(match.group(1))


def checked_ids(html: str) -> set[str]:
    return set(re.findall(r'id="bulkops-check-(\d+)"[^>]*?\bchecked\b', html, re.S))


def run(client: Client, url: str, capture: Any, action: str, **data: Any) -> Any:
    with capture(execute=True):
        response = post(client, url, bulk_op="run", bulk_action=action, **data)
    assert response.status_code == 200, response.content
    return response


# The list page


def test_list_page_renders_checkboxes_action_bar_and_csrf_header(
    client: Client, customers: list[Customer]
) -> None:
    html = client.get(reverse("customers")).content.decode()

    assert selected_count(html) == 0
    assert html.count('class="bulkops-check"') == 10
    assert 'id="bulkops-check-page"' in html
    assert "Select all 30 matching" in html
    assert '"X-CSRFToken"' in html
    for label in ("Delete", "Update", "Deactivate"):
        assert f">{label}</button>" in html


def test_actions_the_user_may_not_run_are_not_offered(
    django_user_model: Any, customers: list[Customer]
) -> None:
    viewer = django_user_model.objects.create_user("viewer")
    viewer.user_permissions.add(
        Permission.objects.get(codename="change_customer", content_type__app_label="testapp")
    )
    client = Client()
    client.force_login(viewer)

    html = client.get(reverse("customers")).content.decode()

    assert ">Update</button>" in html and ">Delete</button>" not in html


# Selection


def test_selection_is_kept_across_pages(client: Client, customers: list[Customer]) -> None:
    url = reverse("customers")
    first, eleventh = customers[0], customers[10]
    post(client, url, bulk_op="toggle", bulk_pk=first.pk, bulk_checked="1")
    response = post(
        client, url + "?page=2", bulk_op="toggle", bulk_pk=eleventh.pk, bulk_checked="1"
    )
    assert selected_count(response.content.decode()) == 2

    html = client.get(url).content.decode()
    assert selected_count(html) == 2
    assert checked_ids(html) == {str(first.pk)}
    assert str(eleventh.pk) in checked_ids(client.get(url + "?page=2").content.decode())

    response = post(client, url, bulk_op="toggle", bulk_pk=first.pk)  # unticked
    assert selected_count(response.content.decode()) == 1


def test_select_page_ticks_the_page_out_of_band(client: Client, customers: list[Customer]) -> None:
    url = reverse("customers")
    page = [c.pk for c in customers[:10]]

    html = post(client, url, bulk_op="page", bulk_page=page, bulk_checked="1").content.decode()

    assert selected_count(html) == 10
    assert checked_ids(html) == {str(pk) for pk in page}
    assert html.count('hx-swap-oob="true"') == 11  # ten rows and the page box


def test_select_all_matching_follows_the_filter_and_allows_exceptions(
    client: Client, customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    url = reverse("customers-filtered") + "?city=Porto"
    porto = [c for c in customers if c.city == "Porto"]

    html = post(client, url, bulk_op="all").content.decode()
    assert selected_count(html) == 10 and "All 10 matching customers selected" in html
    html = post(client, url, bulk_op="toggle", bulk_pk=porto[0].pk).content.decode()
    assert selected_count(html) == 9

    run(client, url, django_capture_on_commit_callbacks, "update", set_active="on")

    inactive = set(Customer.objects.filter(active=False).values_list("pk", flat=True))
    assert inactive == {c.pk for c in porto[1:]}


def test_select_all_is_forgotten_when_the_filter_changes(
    client: Client, customers: list[Customer]
) -> None:
    base = reverse("customers-filtered")
    post(client, base + "?city=Porto", bulk_op="all")

    assert selected_count(client.get(base + "?city=Porto&page=1").content.decode()) == 10
    assert selected_count(client.get(base + "?city=Braga").content.decode()) == 0


def test_posted_ids_outside_the_views_queryset_are_never_touched(
    client: Client, customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    spanish = customers[:5]
    Customer.objects.filter(pk__in=[c.pk for c in spanish]).update(country="ES")
    url = reverse("customers-pt")
    for customer in [*spanish, customers[7]]:
        post(client, url, bulk_op="toggle", bulk_pk=customer.pk, bulk_checked="1")
    post(client, url, bulk_op="toggle", bulk_pk="not-a-pk", bulk_checked="1")

    html = post(client, url, bulk_op="action", bulk_action="delete").content.decode()
    assert "Delete 1 customer?" in html
    run(client, url, django_capture_on_commit_callbacks, "delete")

    assert Customer.objects.filter(country="ES").count() == 5
    assert not Customer.objects.filter(pk=customers[7].pk).exists()
    assert Customer.objects.count() == 29


# Actions


def test_delete_asks_first_with_counts_per_model(client: Client, customers: list[Customer]) -> None:
    url = reverse("customers")
    post(client, url, bulk_op="all")
    Order.objects.create(customer=customers[2])

    html = post(client, url, bulk_op="action", bulk_action="delete").content.decode()

    assert "Delete 30 customers?" in html
    assert "Customers: <strong>30</strong>" in html
    assert "Orders: 1" in html
    assert Customer.objects.count() == 30


def test_bulk_delete_reports_protected_rows_with_their_blockers(
    client: Client,
    customer_user: Any,
    customers: list[Customer],
    django_capture_on_commit_callbacks: Any,
) -> None:
    url = reverse("customers")
    ana = customers[2]
    Customer.objects.filter(pk=ana.pk).update(name="Ana")
    order = Order.objects.create(customer=ana)
    post(client, url, bulk_op="all")

    html = run(client, url, django_capture_on_commit_callbacks, "delete").content.decode()

    task = BulkTask.objects.get()
    assert task.owner == customer_user
    task.refresh_from_db()
    assert (task.status, task.succeeded_count, task.failed_count) == ("succeeded", 29, 1)
    assert 'role="progressbar"' in html
    assert 'id="bulkops-bar"' in html and 'hx-swap-oob="true"' in html  # selection cleared
    status = client.get(reverse("bulkops:task-status", kwargs={"pk": task.pk})).content.decode()
    assert f"Cannot delete Customer &#x27;Ana&#x27; because Order #{order.pk} refers to it." in (
        status
    )
    assert list(Customer.objects.values_list("pk", flat=True)) == [ana.pk]


def test_update_form_offers_only_the_allowed_fields(
    client: Client, customers: list[Customer]
) -> None:
    url = reverse("customers")
    post(client, url, bulk_op="all")

    html = post(client, url, bulk_op="action", bulk_action="update").content.decode()

    for name in ("city", "country", "active", "email"):
        assert f'name="set_{name}"' in html and f'name="{name}"' in html
    assert 'name="name"' not in html


def test_a_field_not_in_the_allowed_list_is_refused(
    client: Client, customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    url = reverse("customers")
    post(client, url, bulk_op="all")

    html = run(
        client, url, django_capture_on_commit_callbacks, "update", set_name="on", name="Hacked"
    ).content.decode()

    assert "Choose at least one field to set." in html
    assert not BulkTask.objects.exists()
    assert not Customer.objects.filter(name="Hacked").exists()


def test_update_values_are_validated_by_the_model_field(
    client: Client, customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    url = reverse("customers")
    post(client, url, bulk_op="all")

    html = run(
        client, url, django_capture_on_commit_callbacks, "update", set_email="on", email="x"
    ).content.decode()
    assert "Enter a valid email address." in html
    html = run(
        client, url, django_capture_on_commit_callbacks, "update", set_country="on", country="PRT"
    ).content.decode()
    assert "Ensure this value has at most 2 characters" in html
    assert not BulkTask.objects.exists()


def test_update_runs_and_reports(
    client: Client, customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    url = reverse("customers")
    post(client, url, bulk_op="page", bulk_page=[c.pk for c in customers[:10]], bulk_checked="1")

    run(
        client,
        url,
        django_capture_on_commit_callbacks,
        "update",
        set_city="on",
        city="Faro",
        set_email="on",
        email="dup@example.com",
    )

    task = BulkTask.objects.get()
    assert task.params == {
        "values": {"city": "Faro", "email": "dup@example.com"},
        "mode": "queryset",
    }
    assert (task.succeeded_count, task.failed_count) == (1, 9)
    assert Customer.objects.filter(city="Faro").count() == 1
    assert BulkTaskError.objects.filter(task=task, field="email").count() == 9


def test_per_object_mode_is_passed_to_the_task(
    client: Client, customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    url = reverse("customers-objects")
    post(client, url, bulk_op="all")
    run(client, url, django_capture_on_commit_callbacks, "update", set_city="on", city="Faro")
    assert BulkTask.objects.get().params["mode"] == "objects"
    assert Customer.objects.filter(city="Faro").count() == 30


def test_project_operation_runs_from_the_action_bar(
    client: Client, customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    url = reverse("customers")
    post(client, url, bulk_op="toggle", bulk_pk=customers[4].pk, bulk_checked="1")

    html = post(client, url, bulk_op="action", bulk_action="tests.deactivate").content.decode()
    assert "Deactivate: 1 customer?" in html
    run(client, url, django_capture_on_commit_callbacks, "tests.deactivate")

    assert list(Customer.objects.filter(active=False).values_list("pk", flat=True)) == [
        customers[4].pk
    ]


def test_an_overlapping_job_is_refused_with_a_message(
    client: Client,
    customers: list[Customer],
    dummy_backend: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    url = reverse("customers")
    post(client, url, bulk_op="all")
    run(client, url, django_capture_on_commit_callbacks, "update", set_city="on", city="Faro")
    post(client, url, bulk_op="all")

    html = run(client, url, django_capture_on_commit_callbacks, "delete").content.decode()

    assert "Another bulk task is still working on these rows" in html
    assert "See that task" in html
    assert BulkTask.objects.count() == 1


# Who may do what


def test_user_without_the_permission_gets_403(
    django_user_model: Any, customers: list[Customer]
) -> None:
    viewer = django_user_model.objects.create_user("viewer")
    viewer.user_permissions.add(
        Permission.objects.get(codename="change_customer", content_type__app_label="testapp")
    )
    client = Client()
    client.force_login(viewer)
    url = reverse("customers")
    post(client, url, bulk_op="all")

    assert post(client, url, bulk_op="action", bulk_action="delete").status_code == 403
    assert post(client, url, bulk_op="run", bulk_action="delete").status_code == 403
    assert Customer.objects.count() == 30


def test_anonymous_users_are_refused(customers: list[Customer]) -> None:
    client = Client()
    url = reverse("customers-open")
    assert client.get(url).status_code == 200
    assert post(client, url, bulk_op="all").status_code == 403
    assert post(client, url, bulk_op="run", bulk_action="update", set_city="on").status_code == 403


def test_missing_csrf_token_is_refused(customer_user: Any, customers: list[Customer]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer_user)
    url = reverse("customers")

    assert post(client, url, bulk_op="all").status_code == 403
    assert post(client, url, bulk_op="run", bulk_action="delete").status_code == 403
    assert Customer.objects.count() == 30


def test_views_can_override_permissions(
    other_user: Any, customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    client = Client()
    client.force_login(other_user)  # no model permission at all
    url = reverse("customers-open")
    post(client, url, bulk_op="all")

    run(client, url, django_capture_on_commit_callbacks, "update", set_city="on", city="Faro")
    assert Customer.objects.filter(city="Faro").count() == 30
    assert post(client, url, bulk_op="action", bulk_action="delete").status_code == 403


def test_retrying_failed_rows_checks_the_permission_the_view_used(
    django_user_model: Any, customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    from django.contrib.auth.models import Permission

    from tests.testapp.models import Order

    # The open list lets anyone with view_customer delete; this user has nothing else.
    viewer = django_user_model.objects.create_user("vic", password="pw")
    view = Permission.objects.get(content_type__app_label="testapp", codename="view_customer")
    viewer.user_permissions.add(view)
    client = Client()
    client.force_login(viewer)
    url = reverse("customers-open")
    order = Order.objects.create(customer=customers[0])
    post(client, url, bulk_op="all")
    run(client, url, django_capture_on_commit_callbacks, "delete")
    task = BulkTask.objects.get()
    assert (task.failed_count, task.permission) == (1, "testapp.view_customer")
    order.delete()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("bulkops:task-retry-failed", args=[task.pk]))

    assert response.status_code == 302
    retry = BulkTask.objects.get(parent=task)
    assert (retry.status, retry.succeeded_count, retry.permission) == (
        "succeeded",
        1,
        "testapp.view_customer",
    )
    assert not Customer.objects.exists()

    # Without that permission any more, the same retry is refused.
    Customer.objects.create(name="Zed", email="zed@example.com")
    Order.objects.create(customer=Customer.objects.get())
    post(client, url, bulk_op="all")
    run(client, url, django_capture_on_commit_callbacks, "delete")
    second = BulkTask.objects.filter(parent=None).latest("created_at")
    assert second.failed_count == 1
    viewer.user_permissions.remove(view)
    response = client.post(reverse("bulkops:task-retry-failed", args=[second.pk]))
    assert response.status_code == 403
    assert not BulkTask.objects.filter(parent=second).exists()


def test_another_user_cannot_see_poll_or_cancel_the_task(
    client: Client,
    other_user: Any,
    customers: list[Customer],
    dummy_backend: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    url = reverse("customers")
    post(client, url, bulk_op="all")
    run(client, url, django_capture_on_commit_callbacks, "delete")
    task = BulkTask.objects.get()
    intruder = Client()
    intruder.force_login(other_user)

    for name, method in [
        ("task-detail", "get"),
        ("task-status", "get"),
        ("task-cancel", "post"),
        ("task-download", "get"),
        ("task-retry-failed", "post"),
    ]:
        response = getattr(intruder, method)(reverse(f"bulkops:{name}", kwargs={"pk": task.pk}))
        assert response.status_code == 404, name
    task.refresh_from_db()
    assert not task.cancel_requested


# Configuration


def test_update_without_fields_is_improperly_configured(rf: RequestFactory) -> None:
    class CustomerList(BulkMixin, ListView):  # type: ignore[misc,type-arg]
        model = Customer

    with pytest.raises(ImproperlyConfigured) as excinfo:
        CustomerList().get_bulk_update_fields()
    assert str(excinfo.value) == (
        "'CustomerList' must define 'bulk_update_fields' to offer 'update', "
        "or remove it from bulk_actions."
    )


def test_unknown_action_and_field_are_improperly_configured() -> None:
    class Listing(BulkMixin, ListView):  # type: ignore[misc,type-arg]
        model = Customer
        bulk_actions = ["delete", "archive"]
        bulk_update_fields = ["id"]

    with pytest.raises(ImproperlyConfigured, match="'Listing' lists 'archive' in bulk_actions"):
        Listing().get_bulk_actions()
    with pytest.raises(ImproperlyConfigured, match="The field 'id' cannot be bulk updated"):
        Listing().get_bulk_update_fields()


def test_templates_resolve_per_model_first() -> None:
    view = views.CustomerList()
    view.bulk_templates = {"action_bar": "mine.html"}
    assert view.get_bulk_template_names("action_bar") == [
        "mine.html",
        "testapp/customer_bulk_action_bar.html",
        "bulkops/partials/action_bar.html",
    ]


# Without htmx


def test_without_htmx_selection_redirects_back_and_run_goes_to_the_task(
    client: Client, customers: list[Customer], django_capture_on_commit_callbacks: Any
) -> None:
    url = reverse("customers") + "?page=2"

    response = client.post(url, {"bulk_op": "all"})
    assert response.status_code == 302 and response["Location"] == url

    html = client.post(url, {"bulk_action": "delete"}).content.decode()  # the bar's button
    assert "Delete 30 customers?" in html and "<html" in html.lower()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"bulk_op": "run", "bulk_action": "delete"})
    task = BulkTask.objects.get()
    assert response.status_code == 302 and response["Location"] == task.get_absolute_url()
    assert not Customer.objects.exists()


def test_ticking_more_than_the_limit_points_to_select_all(
    client: Client, customers: list[Customer], monkeypatch: Any
) -> None:
    monkeypatch.setattr(views.CustomerList, "bulk_max_selected_ids", 5)
    url = reverse("customers")

    html = post(
        client, url, bulk_op="page", bulk_page=[c.pk for c in customers[:10]], bulk_checked="1"
    ).content.decode()

    assert selected_count(html) == 5
    assert "At most 5 rows can be ticked one by one" in html


def test_a_run_over_a_selection_emptied_elsewhere_is_refused_and_leaves_no_task(
    client: Client, customers: list[Customer], dummy_backend: list[Any]
) -> None:
    url = reverse("customers")
    post(client, url, bulk_op="toggle", bulk_pk=customers[0].pk, bulk_checked="1")
    Customer.objects.filter(pk=customers[0].pk).delete()  # gone, as in another tab

    with_htmx = post(client, url, bulk_op="run", bulk_action="delete")
    plain = client.post(url, {"bulk_op": "run", "bulk_action": "delete"})

    assert "No rows are selected" in with_htmx.content.decode()
    assert plain.status_code == 400
    assert "No rows are selected" in plain.content.decode()
    assert not BulkTask.objects.exists()


def test_jobs_of_two_scopes_run_at_the_same_time_and_one_scope_takes_one_job(
    client: Client,
    customers: list[Customer],
    dummy_backend: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    from bulkops import lifecycle

    lisbon, porto = (
        reverse("customers-city", args=["Lisbon"]),
        reverse("customers-city", args=["Porto"]),
    )
    for url in (lisbon, porto):
        post(client, url, bulk_op="all")
        run(client, url, django_capture_on_commit_callbacks, "update", set_active="on")
    first, second = BulkTask.objects.order_by("created_at")
    assert (first.lock_key, second.lock_key) == (
        "testapp.customer:city=Lisbon",
        "testapp.customer:city=Porto",
    )
    assert lifecycle.claim(first.pk) and lifecycle.claim(second.pk)  # both running at once

    post(client, lisbon, bulk_op="all")
    html = run(client, lisbon, django_capture_on_commit_callbacks, "delete").content.decode()
    assert "Another bulk task is still working on these rows" in html
    assert BulkTask.objects.count() == 2
    assert set(BulkTask.objects.values_list("status", flat=True)) == {"running"}
