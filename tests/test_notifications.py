"""E-mail to a task's owner when it finishes: who is told, what the mail says, the link."""

from __future__ import annotations

import email
from email import policy
from typing import Any

import django
import pytest
from django.core import mail
from django.db import transaction
from django.test import Client
from django.utils import translation

import bulkops
from bulkops import runner
from bulkops.models import BulkTask
from bulkops.notifications import mark_unattended, notify_when_finished
from tests.testapp.models import Item

pytestmark = pytest.mark.django_db(transaction=True)

SITE = "https://ops.example.com"
SMTP_PORT = 18825  # this port range


@pytest.fixture
def notify_on(settings: Any, user: Any) -> Any:
    settings.BULKOPS = {**settings.BULKOPS, "NOTIFY": True, "SITE_URL": SITE + "/"}
    settings.DEFAULT_FROM_EMAIL = "bulkops@example.com"
    user.email = "alice@example.com"
    user.save()
    return user


def in_background(user: Any, operation: str = "update", **kwargs: Any) -> BulkTask:
    """Submit, then run it as a worker would: in a process that did not submit it."""
    kwargs.setdefault("queryset", Item.objects.all())
    kwargs.setdefault("params", {"values": {"value": 2}} if operation == "update" else {})
    task = bulkops.submit(operation, user=user, **kwargs)
    mark_unattended(task)  # the worker is another process
    runner.run(task.pk)
    task.refresh_from_db()
    return task


def test_owner_gets_outcome_counts_and_an_absolute_link(
    notify_on: Any, dummy_backend: Any, items: Any
) -> None:
    task = in_background(notify_on)

    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.from_email == "bulkops@example.com"
    assert message.subject == f"{task.label}: Succeeded"
    assert "Processed: 25 / 25" in message.body and "Failed: 0" in message.body
    assert f"{SITE}/bulkops/tasks/{task.pk}/" in message.body


def test_the_mail_is_in_the_language_its_owner_started_the_task_in(
    notify_on: Any, dummy_backend: Any, items: Any
) -> None:
    with translation.override("es"):  # the clerk's request was in Spanish
        task = bulkops.submit(
            "update", user=notify_on, queryset=Item.objects.all(), params={"values": {"value": 4}}
        )
    assert task.language == "es"
    mark_unattended(task)
    with translation.override("en"):  # the worker's own language
        runner.run(task.pk)

    [message] = mail.outbox
    assert message.subject.endswith(": Completada"), message.subject
    assert "Procesadas: 25 / 25" in message.body, message.body


def test_rows_that_failed_say_so(notify_on: Any, dummy_backend: Any, items: Any) -> None:
    in_background(notify_on, "tests.bad_rows", queryset=None)
    [message] = mail.outbox
    assert message.subject.endswith(": Finished with failed rows")
    assert "Succeeded: 13" in message.body and "Failed: 12" in message.body


def test_inline_job_the_user_watched_is_not_mailed_unless_asked(notify_on: Any, items: Any) -> None:
    bulkops.submit("update", user=notify_on, queryset=Item.objects.all(),
                   params={"values": {"value": 1}})  # fmt: skip
    assert BulkTask.objects.get().outcome == "succeeded"
    assert mail.outbox == []

    bulkops.submit("update", user=notify_on, queryset=Item.objects.all(),
                   params={"values": {"value": 3}}, notify=True)  # fmt: skip
    assert len(mail.outbox) == 1

    with transaction.atomic():
        task = bulkops.submit("update", user=notify_on, queryset=Item.objects.all(),
                              params={"values": {"value": 5}})  # fmt: skip
        notify_when_finished(task)
    assert len(mail.outbox) == 2


def test_per_submit_and_per_user_choices(
    notify_on: Any, settings: Any, dummy_backend: Any, items: Any
) -> None:
    with transaction.atomic():
        task = bulkops.submit("update", user=notify_on, queryset=Item.objects.all(),
                              params={"values": {"value": 1}})  # fmt: skip
        notify_when_finished(task, wanted=False)
    mark_unattended(task)
    runner.run(task.pk)
    assert mail.outbox == []

    settings.BULKOPS = {
        **settings.BULKOPS,
        "NOTIFY": False,
        "NOTIFY_USER": "tests.test_notifications.wants_mail",
    }
    in_background(notify_on)
    assert len(mail.outbox) == 1


def wants_mail(user: Any) -> bool | None:
    return user.username == "alice" or None


def test_a_failing_channel_does_not_fail_the_task(
    notify_on: Any, settings: Any, dummy_backend: Any, items: Any
) -> None:
    settings.BULKOPS = {
        **settings.BULKOPS,
        "NOTIFIERS": [
            "tests.test_notifications.broken_channel",
            "bulkops.notifications.email_owner",
        ],
    }
    task = in_background(notify_on)
    assert task.status == "succeeded"
    assert len(mail.outbox) == 1


def broken_channel(task: BulkTask, user: Any) -> None:
    raise ConnectionError("chat server down")


def test_link_opens_the_task_for_its_owner_only(
    notify_on: Any, other_user: Any, dummy_backend: Any, items: Any
) -> None:
    task = in_background(notify_on)
    path = mail.outbox[0].body.split(SITE, 1)[1].split()[0]
    owner, other = Client(), Client()
    owner.force_login(notify_on)
    other.force_login(other_user)
    assert owner.get(path).status_code == 200
    assert other.get(path).status_code == 404
    assert Client().get(path).status_code == 302  # to the login page
    assert path == task.get_absolute_url()


def test_sent_through_a_real_smtp_server(
    notify_on: Any, settings: Any, dummy_backend: Any, items: Any
) -> None:
    from aiosmtpd.controller import Controller

    received: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    try:
        smtp = "django.core.mail.backends.smtp.EmailBackend"
        if django.VERSION >= (6, 1):
            options = {"host": "127.0.0.1", "port": SMTP_PORT}
            settings.MAILERS = {"default": {"BACKEND": smtp, "OPTIONS": options}}
        else:
            settings.EMAIL_BACKEND = smtp
            settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", SMTP_PORT
        task = in_background(notify_on, "tests.bad_rows", queryset=None)
    finally:
        controller.stop()

    [envelope] = received
    assert envelope.rcpt_tos == ["alice@example.com"]
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    assert message["Subject"] == f"{task.label}: Finished with failed rows"
    body = message.get_content()
    assert f"{SITE}/bulkops/tasks/{task.pk}/" in body and "Failed: 12" in body
