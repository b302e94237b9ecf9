"""bulkops_run / bulkops_show / bulkops_follow: arguments, exit codes, the live bar."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bulkops.models import BulkTask
from tests import services
from tests.testapp.models import Item

# The command commits its own transaction: the job is dispatched on that commit.
pytestmark = pytest.mark.django_db(transaction=True)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command(*argv, stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_succeeded_run_exits_0_with_owner_params_and_selection(user: Any, items: Any) -> None:
    code, out, err = run(
        "bulkops_run", "update", "--user", "alice", "--model", "testapp.Item",
        "--filter", "value__lt=10", "--param", 'values={"name": "cli"}',
    )  # fmt: skip

    task = BulkTask.objects.get()
    assert code == 0, out + err
    assert (task.owner, task.outcome, task.params["values"]) == (user, "succeeded", {"name": "cli"})
    assert Item.objects.filter(name="cli").count() == 10 == task.succeeded_count
    assert f"{task.pk}" in out and "Succeeded: 10/10 processed" in out
    assert "100%" in err and "10/10" in err


def test_rows_that_fail_give_3_and_a_failed_job_gives_4(items: Any) -> None:
    code, out, _ = run("bulkops_run", "tests.bad_rows")
    assert code == 3, out
    assert "Finished with failed rows" in out and "value 1 is odd" in out

    code, out, _ = run("bulkops_run", "tests.explode", "--model", "testapp.Item")
    assert code == 4, out
    assert "RuntimeError: the disk is full" in out


def test_cancelled_task_followed_exits_5_and_show_prints_it() -> None:
    task = BulkTask.objects.create(
        operation="update", status="cancelled", outcome="cancelled", message="Cancelled."
    )
    code, out, _ = run("bulkops_follow", str(task.pk))
    assert code == 5 and "Cancelled" in out
    code, out, _ = run("bulkops_show", str(task.pk))
    assert code == 0 and str(task.pk) in out


def test_detach_prints_the_id_only(items: Any) -> None:
    code, out, err = run("bulkops_run", "update", "--model", "testapp.Item", "--detach",
                         "--param", 'values={"value": 3}')  # fmt: skip
    assert code == 0 and err == ""
    assert out.strip() == str(BulkTask.objects.get().pk)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nope"], "No bulk operation named 'nope'"),
        (["update", "--model", "testapp.Nope"], "No model 'testapp.Nope'"),
        (
            ["update", "--model", "testapp.Item", "--filter", "colour=red"],
            "--filter: Cannot resolve",
        ),
        (["update", "--model", "testapp.Item", "--param", "values"], "must look like name=value"),
        (["update", "--user", "ghost"], "No user 'ghost'"),
        (["update", "--user", "mallory", "--model", "testapp.Item"], "You may not run 'update'"),
    ],
)
def test_bad_arguments_are_refused_by_name(other_user: Any, argv: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("bulkops_run", *argv, stdout=StringIO(), stderr=StringIO())
    assert not BulkTask.objects.exists()


def test_show_unknown_task() -> None:
    with pytest.raises(CommandError, match="No task"):
        call_command("bulkops_show", str(uuid.uuid4()))


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_bar_moves_in_a_terminal_while_a_worker_runs_the_job(
    workers: Any, test_db_name: str
) -> None:
    """The command in tmux, the job on a real django-q2 cluster: the pane shows the bar grow."""
    if not shutil.which("tmux"):
        if os.environ.get("CI") == "true":
            pytest.fail("tmux is not installed (CI=true)")
        pytest.skip("tmux is not installed")
    workers.get("django-q-orm")
    Item.objects.bulk_create(Item(name=f"i{n}", value=0) for n in range(40))
    env = services.worker_env(
        test_db_name, BULKOPS_BACKEND="bulkops.backends.django_q.DjangoQBackend"
    )
    command = [
        sys.executable, "-m", "django", "bulkops_run", "tests.slow_update",
        "--model", "testapp.Item", "--param", "chunk_size=5", "--param", "delay=0.4",
        "--interval", "0.1",
    ]  # fmt: skip
    socket = f"bulkops-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", socket]
    exports = " ".join(
        f"{k}={shlex.quote(v)}"
        for k, v in env.items()
        if k.startswith(("BULKOPS", "DJANGO", "PYTHON"))
    )
    shell = f"cd {services.ROOT} && env {exports} {shlex.join(command)}; echo EXIT=$?; sleep 60"
    subprocess.run([*tmux, "new-session", "-d", "-x", "160", "-y", "12", shell], check=True)
    try:
        seen: list[int] = []
        screen = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "EXIT=" not in screen:
            screen = subprocess.run(
                [*tmux, "capture-pane", "-p"], capture_output=True, text=True, check=True
            ).stdout
            seen += [int(p) for p in re.findall(r"(\d+)/40", screen)]
            time.sleep(0.1)
        assert "EXIT=0" in screen, screen
        assert "Succeeded" in screen and "40/40" in screen
        moving = sorted({n for n in seen if 0 < n < 40})
        assert len(moving) >= 3, f"the bar should be seen part-way several times: {seen}"
        assert seen == sorted(seen), "the bar never goes backwards"
    finally:
        subprocess.run([*tmux, "kill-server"], check=False)
