from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldError, PermissionDenied, ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from bulkops import api, cli
from bulkops.exceptions import TaskConflict, UnknownOperation
from bulkops.notifications import mark_unattended


class Command(BaseCommand):
    help = (
        "Start a bulk operation from the shell or cron. With --wait (the default) a progress "
        "bar follows it and the exit code tells the outcome: 0 succeeded, 3 finished with "
        "failed rows, 4 failed, 5 cancelled; --detach prints the task id and returns."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("operation", help="Operation name, e.g. update or zk.pull_users.")
        parser.add_argument("--user", help="Username the task runs as and belongs to.")
        parser.add_argument("--model", help="app_label.Model of the rows.")
        parser.add_argument(
            "--filter", action="append", metavar="FIELD=VALUE", help="Select rows (repeatable)."
        )
        parser.add_argument(
            "--param", action="append", metavar="NAME=VALUE", help="Operation parameter."
        )
        parser.add_argument("--params", help="All parameters as one JSON object.")
        parser.add_argument("--file", help="Input file (for import).")
        parser.add_argument("--label", default="")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--wait", action="store_true", default=True, help="Follow (default).")
        mode.add_argument("--detach", action="store_true", help="Print the task id and return.")
        notify = parser.add_mutually_exclusive_group()
        notify.add_argument("--notify", action="store_true", default=None)
        notify.add_argument("--no-notify", dest="notify", action="store_false")
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds between redraws.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = None
        if options["user"]:
            user_model = get_user_model()
            try:
                user = user_model._default_manager.get_by_natural_key(options["user"])
            except user_model.DoesNotExist:
                raise CommandError(f"No user {options['user']!r}.") from None
        params = json.loads(options["params"]) if options["params"] else {}
        if not isinstance(params, dict):
            raise CommandError("--params must be a JSON object.")
        params.update(cli.parse_pairs(options["param"], "--param"))
        filters = cli.parse_pairs(options["filter"], "--filter")
        queryset = None
        if options["model"]:
            try:
                model = apps.get_model(options["model"])
            except (LookupError, ValueError):
                raise CommandError(
                    f"No model {options['model']!r} (use app_label.Model)."
                ) from None
            try:
                queryset = model._default_manager.filter(**filters)
            except (FieldError, ValueError, ValidationError) as exc:
                raise CommandError(f"--filter: {exc}") from None
        elif filters:
            raise CommandError("--filter needs --model.")
        try:
            with transaction.atomic():
                task = api.submit(
                    options["operation"],
                    user=user,
                    queryset=queryset,
                    params=params,
                    input_file=_open(options["file"]),
                    label=options["label"],
                    notify=options["notify"],
                )
                if options["detach"]:
                    # Nobody watches a detached job, even one small enough to run here.
                    mark_unattended(task)
        except (UnknownOperation, TaskConflict, PermissionDenied) as exc:
            raise CommandError(str(exc)) from None
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        task.refresh_from_db()
        if options["detach"]:
            self.stdout.write(str(task.pk))
            return
        task = cli.follow(task, self.stderr._out, options["interval"])
        self.stdout.write(cli.summary(task))
        raise SystemExit(cli.exit_code(task))


def _open(path: str | None) -> File[Any] | None:
    if not path:
        return None
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"No file {path!r}.")
    return File(file.open("rb"), name=file.name)
