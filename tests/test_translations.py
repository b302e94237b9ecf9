"""Translations: message ids rendered in the reader's language, and complete catalogs."""

from __future__ import annotations

import ast
import gettext as gnu_gettext
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import translation

from bulkops import texts
from bulkops.models import BulkTask, BulkTaskError
from bulkops.tabular.converters import ConvertOptions, to_date, to_decimal
from bulkops.tabular.errors import ConversionError
from bulkops.templatetags.bulkops import bulkops_duration, bulkops_number, bulkops_rate

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "bulkops"
LANGUAGES = ("es", "pt_BR", "fr", "de")
PLACEHOLDER = re.compile(r"%(?:\([a-z_]+\))?[sd]")


# Catalogs ------------------------------------------------------------------------------


def read_po(path: Path) -> list[dict[str, Any]]:
    """The entries of a .po file: id, plural, strs (by index), flags."""
    entries: list[dict[str, Any]] = []
    entry: dict[str, Any] = {}
    key: tuple[str, int] = ("", 0)
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if "id" in entry:
                entries.append(entry)
            entry = {}
            continue
        entry.setdefault("flags", set())
        entry.setdefault("strs", {})
        if line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith("msgid_plural "):
            key, entry["plural"] = ("plural", 0), ast.literal_eval(line[13:])
        elif line.startswith("msgid "):
            key, entry["id"] = ("id", 0), ast.literal_eval(line[6:])
        elif line.startswith("msgstr["):
            index = int(line[7 : line.index("]")])
            key = ("strs", index)
            entry["strs"][index] = ast.literal_eval(line[line.index("]") + 2 :])
        elif line.startswith("msgstr "):
            key = ("strs", 0)
            entry["strs"][0] = ast.literal_eval(line[7:])
        elif line.startswith('"'):
            if key[0] == "strs":
                entry["strs"][key[1]] += ast.literal_eval(line)
            else:
                entry[key[0]] += ast.literal_eval(line)
    return entries


def catalog(language: str) -> list[dict[str, Any]]:
    return [
        e for e in read_po(PACKAGE / "locale" / language / "LC_MESSAGES" / "django.po") if e["id"]
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_and_keeps_its_placeholders(language: str) -> None:
    entries = catalog(language)
    assert len(entries) > 400
    problems = []
    for entry in entries:
        sources = [entry["id"], entry.get("plural", entry["id"])]
        if "fuzzy" in entry["flags"] or not all(entry["strs"].values()):
            problems.append(f"untranslated: {entry['id']!r}")
            continue
        wanted = set(PLACEHOLDER.findall(" ".join(sources))) - {"%(count)s", "%(counter)s", "%(n)s"}
        for text in entry["strs"].values():
            if not set(PLACEHOLDER.findall(text)) >= wanted:
                problems.append(f"placeholders differ: {entry['id']!r} -> {text!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalog_is_the_source_catalog(language: str) -> None:
    folder = PACKAGE / "locale" / language / "LC_MESSAGES"
    with (folder / "django.mo").open("rb") as fp:
        compiled = gnu_gettext.GNUTranslations(fp)
    stale = []
    for entry in catalog(language):
        if "plural" in entry:
            got = [compiled.ngettext(entry["id"], entry["plural"], n) for n in (1, 5)]
            ok = entry["strs"][0] in got and entry["strs"][max(entry["strs"])] in got
        else:
            ok = compiled.gettext(entry["id"]) == entry["strs"][0]
        if not ok:
            stale.append(entry["id"])
    assert not stale, f"run compilemessages (docs/translations.md): {stale[:5]}"


@pytest.mark.skipif(not shutil.which("xgettext"), reason="GNU gettext is not installed")
def test_the_catalogs_hold_every_message_of_the_code_and_templates(tmp_path: Path) -> None:
    """makemessages over a copy of the package finds no message the catalogs miss."""
    copy = tmp_path / "bulkops"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "locale"))
    (copy / "locale").mkdir()
    django_admin = Path(sys.executable).with_name("django-admin")
    done = subprocess.run(
        [str(django_admin), "makemessages", "-l", "es", "--no-location"],
        cwd=copy,
        capture_output=True,
        text=True,
        env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    found = {e["id"] for e in read_po(copy / "locale/es/LC_MESSAGES/django.po") if e["id"]}
    for language in LANGUAGES:
        shipped = {e["id"] for e in catalog(language)}
        assert not found - shipped, f"{language} misses {sorted(found - shipped)[:10]}"
        assert not shipped - found, f"{language} has obsolete {sorted(shipped - found)[:10]}"


# Texts: ids with parameters -----------------------------------------------------------


def test_a_text_renders_in_the_active_language_with_local_numbers() -> None:
    text = texts.gettext(
        '"%(file)s" has more than %(limit)s rows, the most one import accepts. '
        "Split it into smaller files.",
        file="big.csv",
        limit=100000,
    )
    with translation.override("en"):
        assert str(text).startswith('"big.csv" has more than 100,000 rows')
    assert text.english.startswith('"big.csv" has more than 100,000 rows')
    with translation.override("es"):
        assert str(text).startswith('"big.csv" tiene más de 100\xa0000 filas')
    with translation.override("de"):
        assert str(text).startswith("„big.csv“ hat mehr als 100.000 Zeilen")


def test_row_numbers_are_never_grouped_and_plurals_follow_the_count() -> None:
    row = texts.gettext("Row %(row)s: %(message)s", row=12034, message=texts.gettext("Done"))
    with translation.override("fr"):
        assert str(row) == "Ligne 12034 : Terminé"
    one = texts.ngettext("%(counter)s row", "%(counter)s rows", 1, counter=1)
    many = texts.ngettext("%(count)s byte", "%(count)s bytes", 2048)
    with translation.override("pt-br"):
        assert str(one) == "1 linha"
        assert str(many) == "2.048 bytes"


def test_a_text_survives_storage_as_json() -> None:
    nested = texts.gettext(
        'Column "%(column)s": %(message)s',
        column="Joined",
        message=texts.gettext("%(value)s is not a number.", value='"abc"'),
    )
    text, data = texts.stored(nested)
    assert text == 'Column "Joined": "abc" is not a number.'
    again = texts.Text.from_json(data)
    assert again == nested
    with translation.override("es"):
        assert texts.shown(text, data) == 'Columna "Joined": "abc" no es un número.'


def test_old_and_hand_written_texts_are_shown_as_stored() -> None:
    data = texts.gettext("Done").as_json()
    with translation.override("es"):
        assert texts.shown("Written before ids existed", {}) == "Written before ids existed"
        # Code that set only the text column: the id beside it no longer describes it.
        assert texts.shown("Something else", data) == "Something else"
        assert texts.shown("", data) == ""
        assert texts.shown("Done", data) == "Hecho"
        assert texts.shown("x", {"id": "%(missing)s"}) == "x"


def test_a_translation_that_lost_a_placeholder_falls_back_to_english(monkeypatch: Any) -> None:
    monkeypatch.setattr(translation, "gettext", lambda msgid: "%(nope)s")
    with translation.override("en"):
        assert str(texts.gettext("%(value)s is not a number.", value="7")) == "7 is not a number."


def test_converter_errors_keep_their_id() -> None:
    with pytest.raises(ConversionError) as info:
        to_decimal("12%")
    with translation.override("en"):
        assert info.value.message == '"12%" is a percentage; enter the number without %.'
    with translation.override("es"):
        assert info.value.message == '"12%" es un porcentaje; introduce el número sin %.'
    with pytest.raises(ConversionError) as info:
        to_date("31/31/2024", ConvertOptions(day_first=True))
    with translation.override("de"):
        assert "Verwenden Sie JJJJ-MM-TT oder TT/MM/JJJJ." in info.value.message


def test_a_django_validation_message_renders_with_djangos_own_catalog() -> None:
    from django.core.exceptions import ValidationError

    from bulkops.tabular.columns import _error_text

    message = _error_text(ValidationError("Enter a valid email address.", code="invalid"))
    with translation.override("es"):
        assert str(message) == "Introduzca una dirección de correo electrónico válida."


@pytest.mark.parametrize(
    ("language", "number", "duration", "rate"),
    [
        ("en", "1,234,567", "1 h 02 min", "3,456/s"),
        ("es", "1\xa0234\xa0567", "1 h 02 min", "3\xa0456/s"),
        ("pt-br", "1.234.567", "1 h 02 min", "3.456/s"),
        ("fr", "1\xa0234\xa0567", "1 h 02 min", "3\xa0456/s"),
        ("de", "1.234.567", "1 h 02 min", "3.456/s"),
    ],
)
def test_counts_durations_and_rates_follow_the_locale(
    language: str, number: str, duration: str, rate: str
) -> None:
    from datetime import timedelta

    with translation.override(language):
        assert bulkops_number(1234567) == number
        assert bulkops_duration(timedelta(seconds=3725)) == duration
        assert bulkops_rate(3456.4) == rate


# The reader's language -----------------------------------------------------------------


@pytest.fixture
def localized(settings: Any) -> Iterator[None]:
    """The reader's language from Accept-Language, as a project with LocaleMiddleware has it."""
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(
        middleware.index("django.contrib.sessions.middleware.SessionMiddleware") + 1,
        "django.middleware.locale.LocaleMiddleware",
    )
    settings.MIDDLEWARE = middleware
    yield
    translation.deactivate()  # LocaleMiddleware leaves the thread in the last request's language


@pytest.mark.django_db
def test_a_task_started_in_english_reads_in_spanish(
    client: Client, user: Any, localized: None
) -> None:
    task = BulkTask.objects.create(
        operation="import", owner=user, status="failed", outcome="failed", failed_count=1
    )
    with translation.override("en"):  # the worker's language
        task.set_text(
            "label",
            texts.gettext("Import %(models)s from %(file)s", models="people", file="p.csv"),
        )
        task.set_text("message", texts.gettext('"%(file)s" is empty.', file="p.csv"))
        task.save()
        text, data = texts.stored(texts.gettext("%(value)s is not a number.", value='"abc"'))
    BulkTaskError.objects.create(task=task, row=7, field="Age", message=text, message_data=data)
    assert task.message == '"p.csv" is empty.'  # what a query reads

    client.force_login(user)
    url = reverse("bulkops:task-detail", kwargs={"pk": task.pk})
    english = client.get(url, headers={"Accept-Language": "en"}).content.decode()
    assert "&quot;abc&quot; is not a number." in english
    spanish = client.get(url, headers={"Accept-Language": "es"}).content.decode()
    assert '<html lang="es">' in spanish
    assert "&quot;p.csv&quot; está vacío." in spanish
    assert "&quot;abc&quot; no es un número." in spanish
    assert "Importar people de p.csv" in spanish
    assert "Fallida" in spanish


@pytest.mark.django_db
def test_the_json_api_renders_for_the_reader_and_keeps_the_id(client: Client, user: Any) -> None:
    task = BulkTask.objects.create(operation="update", owner=user, status="running")
    task.set_text("stage", texts.gettext("Reading the file"))
    task.save()
    client.force_login(user)
    url = reverse("bulkops:api-task", kwargs={"pk": task.pk})
    with translation.override("fr"):
        body = client.get(url).json()
    assert body["stage_data"] == {"id": "Reading the file"}
    assert body["stage"] in ("Reading the file", "Lecture du fichier")


@pytest.mark.django_db
def test_the_finished_email_speaks_the_language_it_is_rendered_in(user: Any) -> None:
    task = BulkTask.objects.create(operation="update", owner=user, status="cancelled")
    task.set_text("message", texts.gettext("Cancelled."))
    task.save()
    with translation.override("de"):
        body = render_to_string(
            "bulkops/email/task_finished.txt", {"task": task, "url": "https://x/", "outcome": ""}
        )
    assert "Abgebrochen." in body
    assert not mail.outbox
