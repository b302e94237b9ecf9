"""Every bulkops page and partial, read in each shipped language: no English left.

A page "has English left" when its visible text (and the text of its accessible names,
titles and placeholders) holds a word of bulkops' own English messages that the
language's catalog never uses. Names (of files, models, people) and units are allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from bulkops import runner
from bulkops.models import BulkTask
from tests.test_translations import catalog
from tests.testapp.models import Customer as ListedCustomer

from .files import csv_bytes
from .test_import_views import ROWS, check_html, token_of, upload, url

pytestmark = pytest.mark.django_db

LANGUAGES = {"es": "es", "pt-br": "pt_BR", "fr": "fr", "de": "de"}
# Words that are the same in every language, or are names: of files, formats, units,
# the test project's models and data (its own messages are not bulkops' to translate).
ALLOWED = {
    "csv", "xlsx", "xlsb", "ods", "xls", "utf", "excel", "json", "sqlite", "api", "ids", "url",
    "customer", "customers", "country", "countries", "ticket", "tickets", "order", "orders",
    "people", "name", "mail", "joined", "city", "active", "email", "code", "admin", "django",
    "site", "administration",
}  # fmt: skip
WORD = re.compile(r"[^\W\d_]{3,}")
# Text that is not bulkops' own: the test project's messages, the admin's list of other
# apps (django-q2, django-tasks), JSON values the admin shows as they are stored, and the
# admin's own strings that Django 6.1 leaves in English.
NOT_OURS = re.compile(
    r"No country with code &quot;XX&quot;\.|No country with code \"XX\"\."
    r"|<nav[^>]*id=\"nav-sidebar\".*?</nav>|<div class=\"app-(?!bulkops)[^\"]*\".*?</div>"
    r"|<div class=\"readonly\">[{\[].*?</div>|<td class=\"field-values\">.*?</td>"
    r"|<option value=\"status\"[^>]*>Status</option>"
    r"|Mark selected customers inactive|Update selected customers|Move to another city"
    r"|<td class=\"field-(?:name|email|city)\">.*?</td>|<th class=\"field-name\">.*?</th>"
    # Django's own admin chrome, which Django 6.1's catalogs do not all translate yet.
    r"|<h2 id=\"changelist-search-form\"[^>]*>.*?</h2>|alt=\"Search\""
    r"|<span id=\"date-hierarchy-label\">.*?</span>"
    r"|<option value=\"\"[^>]*>- Select an option -</option>",
    re.S,
)


@cache
def english_words(language: str) -> frozenset[str]:
    ours: set[str] = set()
    theirs: set[str] = set()
    for entry in catalog(language):
        for source in (entry["id"], entry.get("plural", "")):
            ours |= {w.lower() for w in WORD.findall(re.sub(r"%\(\w+\)[sd]", " ", source))}
        for text in entry["strs"].values():
            theirs |= {w.lower() for w in WORD.findall(text)}
    return frozenset(ours - theirs - ALLOWED)


class VisibleText(HTMLParser):
    """What a reader sees or hears: text outside scripts and styles, and accessible names."""

    NAMED = ("title", "aria-label", "placeholder", "alt", "aria-valuetext")

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        values = dict(attrs)
        self.parts += [str(values[name]) for name in self.NAMED if values.get(name)]
        if tag == "input" and values.get("type") in ("submit", "button"):
            self.parts.append(str(values.get("value") or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def english_left(html: str, language: str) -> list[str]:
    """Each English word left, with the text around it."""
    parser = VisibleText()
    parser.feed(html)
    text = re.sub(r"\s+", " ", " ".join(parser.parts))
    english = english_words(LANGUAGES[language])
    return [
        f"{m.group()!r} in …{text[max(m.start() - 40, 0) : m.end() + 40]}…"
        for m in WORD.finditer(text)
        if m.group().lower() in english
    ]


@pytest.fixture
def localized(settings: Any) -> Iterator[None]:
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(
        middleware.index("django.contrib.sessions.middleware.SessionMiddleware") + 1,
        "django.middleware.locale.LocaleMiddleware",
    )
    settings.MIDDLEWARE = middleware
    yield
    translation.deactivate()


class Reader:
    """A logged-in client that reads every page in one language and collects leaks."""

    def __init__(self, client: Client, language: str) -> None:
        self.client = client
        self.language = language
        self.leaks: dict[str, list[str]] = {}
        self.seen: list[str] = []

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Accept-Language": self.language, **extra}

    def check(self, name: str, response: Any, status: int = 200, strip: str = "") -> str:
        assert response.status_code == status, (name, response.status_code)
        html = response.content.decode()
        if strip:  # the test project's own markup around bulkops' parts
            html = re.sub(strip, "", html, flags=re.S)
        html = NOT_OURS.sub("", html)
        if "bulkops-page" in html:  # bulkops' own base template (not the project's)
            assert f'<html lang="{self.language}">' in html, name
        self.seen.append(name)
        left = english_left(html, self.language)
        if left:
            self.leaks[name] = left
        return str(html)

    def get(self, name: str, path: str, status: int = 200, strip: str = "", **extra: str) -> str:
        response = self.client.get(path, headers=self.headers(**extra))
        return self.check(name, response, status, strip)

    def post(self, name: str, path: str, data: dict[str, Any], **extra: str) -> str:
        return self.check(name, self.client.post(path, data, headers=self.headers(**extra)))


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_import_pages_and_task_pages_speak_the_readers_language(
    client: Any,
    importer: Any,
    registered: Any,
    countries: Any,
    localized: None,
    dummy_backend: Any,
    django_capture_on_commit_callbacks: Any,
    language: str,
) -> None:
    client.force_login(importer)
    reader = Reader(client, language)
    reader.get("import page", url())
    # The upload is refused in the reader's language too.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    refused = upload(client, b"%PDF-1.4", "scan.pdf")
    reader.check("refused upload", refused, status=400)
    first = upload(client, csv_bytes("\n".join(",".join(r) for r in ROWS) + "\n"), "people.csv")
    reader.check("preview", first)
    check = BulkTask.objects.filter(params__dry_run=True).latest("created_at")
    reader.get("check (finished)", reverse("bulkops:import-check", kwargs={"pk": check.pk}))
    assert check_html(client)
    options = {"token": token_of(first), "mode": "upsert", "key_field": "email", "dates": "dmy"}
    with django_capture_on_commit_callbacks(execute=True):
        reader.post("preview (all or nothing)", url("preview"), {**options, "atomic": "on"})
    atomic = BulkTask.objects.filter(params__dry_run=True).latest("created_at")
    reader.get("check (all or nothing)", reverse("bulkops:import-check", kwargs={"pk": atomic.pk}))
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            url("confirm"),
            {
                "token": token_of(first),
                "mode": "upsert",
                "key_field": "email",
                "dates": "dmy",
            },
            headers=reader.headers(),
        )
    reader.check("import started", started)
    task = BulkTask.objects.get(params__dry_run=False)
    pending = reader.get("status (pending)", reverse("bulkops:task-status", kwargs={"pk": task.pk}))
    with translation.override("en"):  # the worker runs in English: the reader still reads theirs
        runner.run(task.pk)
    task.refresh_from_db()
    assert task.failed_count == 2 and task.message_data == {} and task.errors.count() == 2
    assert pending
    pk = {"pk": task.pk}
    reader.get("import result", reverse("bulkops:import-result", kwargs=pk))
    detail = reader.get("task detail", reverse("bulkops:task-detail", kwargs=pk))
    reader.get(
        "status (finished)",
        reverse("bulkops:task-status", kwargs=pk),
        286,
        **{"HX-Request": "true"},
    )
    reader.get("task list", reverse("bulkops:task-list"))
    reader.get("notes", reverse("bulkops:task-notes", kwargs=pk))
    reader.post(
        "note added",
        reverse("bulkops:task-note-add", kwargs=pk),
        {"text": "ok"},
        **{"HX-Request": "true"},
    )

    assert not reader.leaks, "\n".join(f"{k}: {v}" for k, v in reader.leaks.items())
    assert len(reader.seen) >= 12
    if language == "es":
        assert "Introduzca una dirección de correo electrónico válida." in detail


@pytest.fixture
def superuser(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_list_view_partials_and_admin_speak_the_readers_language(
    customer_user: Any,
    customers: list[ListedCustomer],
    superuser: Any,
    localized: None,
    django_capture_on_commit_callbacks: Any,
    language: str,
) -> None:
    client = Client(headers={"Accept-Language": language})
    client.force_login(customer_user)
    reader = Reader(client, language)
    hx = {"HX-Request": "true"}
    page = reverse("customers")
    reader.get("list page", page, strip=r"<nav>.*?</nav>")
    reader.post("nothing selected", page, {"bulk_op": "run", "bulk_action": "update"}, **hx)
    reader.post(
        "row ticked",
        page,
        {"bulk_op": "toggle", "bulk_pk": customers[0].pk, "bulk_checked": "1"},
        **hx,
    )
    reader.post("page ticked", page, {"bulk_op": "page"}, **hx)
    reader.post("all matching", page, {"bulk_op": "all"}, **hx)
    reader.post("delete confirm", page, {"bulk_op": "action", "bulk_action": "delete"}, **hx)
    reader.post("update form", page, {"bulk_op": "action", "bulk_action": "update"}, **hx)
    with django_capture_on_commit_callbacks(execute=True):
        reader.post(
            "update started",
            page,
            {"bulk_op": "run", "bulk_action": "update", "set_city": "on", "city": "Faro"},
            **hx,
        )
    task = BulkTask.objects.get()
    reader.get("updated task", reverse("bulkops:task-detail", kwargs={"pk": task.pk}))

    admin = Client(headers={"Accept-Language": language})
    admin.force_login(superuser)
    reader.client = admin
    reader.get("admin task list", reverse("admin:bulkops_bulktask_changelist"))
    reader.get("admin task", reverse("admin:bulkops_bulktask_change", args=[task.pk]))
    reader.get("admin customers", reverse("admin:testapp_customer_changelist"))
    reader.post(
        "admin action confirm",
        reverse("admin:testapp_customer_changelist"),
        {"action": "delete_selected", "_selected_action": [c.pk for c in customers[:3]]},
    )
    assert not reader.leaks, "\n".join(f"{k}: {v}" for k, v in reader.leaks.items())


def test_the_error_report_speaks_the_language_of_whoever_started_the_import(
    client: Any,
    importer: Any,
    registered: Any,
    countries: Any,
    localized: None,
    dummy_backend: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from bulkops.tabular import open_table

    client.force_login(importer)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"
    first = upload(client, csv_bytes("\n".join(",".join(r) for r in ROWS) + "\n"), "people.csv")
    options = {"token": token_of(first), "mode": "upsert", "key_field": "email", "dates": "dmy"}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("confirm"), options)
    task = BulkTask.objects.get(params__dry_run=False)
    assert task.params["language"] == "de"
    with translation.override("en"):  # the worker's own language does not matter
        runner.run(task.pk)
    task.refresh_from_db()
    with task.result_file.open("rb") as fp, open_table(fp.file, filename="report.xlsx") as table:
        assert table.sheet_name == "Zu korrigierende Zeilen"
        assert table.headers[-1] == "Fehler"
        notes = [values[-1] for _, values in table.rows()]
    assert notes[0] == "Spalte „E-mail“: Bitte gültige E-Mail-Adresse eingeben."
