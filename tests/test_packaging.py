"""What a new user meets: the built sdist and wheel, installed alone into a fresh project.

One build and one fresh virtual environment (no extras) for the module; the wheel's
dependencies come from pip's cache after the first run. ``--no-isolation`` builds with the
setuptools of the test environment, so the build itself downloads nothing.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# [project.urls] (tomllib is Python 3.11+; the table is flat ``Name = "url"`` lines).
_URLS = (ROOT / "pyproject.toml").read_text().split("[project.urls]")[1].split("\n[")[0]
PROJECT_URLS = dict(re.findall(r'^(\w+) = "([^"]+)"$', _URLS, re.M))

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(300)]


def run(*args: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None, ok: bool = True):
    if env is None:
        # Not the test run's PYTHONPATH: its src/ (with egg-info) would pass for installed.
        env = {
            k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "DJANGO_SETTINGS_MODULE"}
        }
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )
    if ok and done.returncode:
        raise AssertionError(f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # A copy of the tree as git has it: what a fresh clone builds, without local venvs.
    tree = tmp_path_factory.mktemp("tree")
    files = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, files.stdout.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = tree / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, tree)
    return out


@pytest.fixture(scope="module")
def fresh_venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    venv = tmp_path_factory.mktemp("venv")
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    [wheel] = dist.glob("*.whl")
    # The test environment's pip installs into the new one: no pip bootstrap per run. The
    # Django of this run (5.2, 6.0 or 6.1 in the matrix), so each cell checks its own.
    django = f"Django=={importlib.metadata.version('Django')}"
    run(sys.executable, "-m", "pip", "--python", python, "install", "-q", wheel, django)
    yield python


def project(tmp: Path, name: str, extra: str = "") -> dict[str, str]:
    """A new project's settings module; returns the environment that selects it."""
    (tmp / f"{name}.py").write_text(
        textwrap.dedent(
            f"""
            SECRET_KEY = "a-fresh-project"
            INSTALLED_APPS = [
                "django.contrib.auth", "django.contrib.contenttypes",
                "django.contrib.sessions", "django.contrib.messages",
                "django_htmx", "bulkops",
            ]
            MIDDLEWARE = ["django_htmx.middleware.HtmxMiddleware"]
            DATABASES = {{  # SQLite with the OPTIONS docs/deployment.md gives
                "default": {{
                    "ENGINE": "django.db.backends.sqlite3",
                    "NAME": "{tmp}/db.sqlite3",
                    "OPTIONS": {{
                        "timeout": 20,
                        "transaction_mode": "IMMEDIATE",
                        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                    }},
                }}
            }}
            TEMPLATES = [{{
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
            }}]
            USE_TZ = True
            """
        )
        + textwrap.dedent(extra)
    )
    return {"PATH": os.environ["PATH"], "PYTHONPATH": str(tmp), "DJANGO_SETTINGS_MODULE": name}


def test_the_sdist_ships_no_test_suite_and_the_wheel_only_what_exists(dist: Path) -> None:
    [sdist] = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = [name.split("/", 1)[1] for name in archive.getnames() if "/" in name]
    assert not [n for n in names if n.startswith(("tests/", "example_project/", "benchmarks/"))]
    assert "docs/index.md" in names and "LICENSE" in names
    [wheel] = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        wheel_names = archive.namelist()
        metadata = next(
            archive.read(n).decode() for n in wheel_names if n.endswith(".dist-info/METADATA")
        )
    for expected in (
        "bulkops/py.typed",
        "bulkops/static/bulkops/bulkops.css",
        "bulkops/templates/bulkops/task_detail.html",
        "bulkops/templates/bulkops/email/task_finished.txt",
        "bulkops/migrations/0001_initial.py",
        "bulkops/migrations/0007_task_notes.py",
        "bulkops/migrations/0009_17_message_ids.py",
    ):
        assert expected in wheel_names
    # The translations ship compiled (Django reads the .mo) and as source for translators.
    for language in ("es", "pt_BR", "fr", "de"):
        for suffix in ("po", "mo"):
            assert f"bulkops/locale/{language}/LC_MESSAGES/django.{suffix}" in wheel_names
    assert not [n for n in wheel_names if n.startswith("tests/")]
    # Extras a user needs; the contributors' tools are dependency groups, not published.
    extras = set(re.findall(r"^Provides-Extra: (.+)$", metadata, re.M))
    assert extras == {"asgi", "celery", "celery-beat", "django-q2", "tasks", "zk"}
    assert "Classifier: Development Status :: 3 - Alpha" in metadata
    assert "Classifier: Framework :: Django :: 6.1" in metadata
    assert re.search(r"^Keywords: .*django", metadata, re.M)
    assert re.search(r"^Project-URL: Documentation, https://", metadata, re.M)


def test_twine_check_strict_passes(dist: Path) -> None:
    run(sys.executable, "-m", "twine", "check", "--strict", *sorted(dist.iterdir()))


def test_the_readme_links_are_absolute_and_share_the_project_url() -> None:
    # The PyPI page shows the README: a relative link there is a 404.
    base = PROJECT_URLS["Source"]
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)]+)\)", readme)
    assert links
    assert [link for link in links if not link.startswith(base)] == []
    assert len(PROJECT_URLS) == 5
    for url in PROJECT_URLS.values():
        assert url.startswith(base)
    for link in links:  # every page the README names exists in docs/
        if "/blob/main/" in link:
            assert (ROOT / link.split("/blob/main/", 1)[1]).exists(), link
    # The two commands for a newcomer to the repository stay true.
    assert "bash scripts/example" in readme and (ROOT / "scripts/example").exists()
    assert "bash scripts/test" in readme and (ROOT / "scripts/test").exists()


def test_a_fresh_project_checks_migrates_and_runs_a_job(fresh_venv: Path, tmp_path: Path) -> None:
    env = project(tmp_path, "fresh")
    django = (fresh_venv, "-m", "django")
    check = run(*django, "check", cwd=tmp_path, env=env)
    assert "no issues" in check.stdout
    run(*django, "migrate", "-v", "0", cwd=tmp_path, env=env)
    job = run(
        fresh_venv,
        "-c",
        textwrap.dedent(
            """
            import django
            django.setup()
            from django.contrib.auth.models import Group
            from django.template.loader import get_template
            import bulkops
            Group.objects.bulk_create(Group(name=f"g{n}") for n in range(3))
            task = bulkops.submit("delete", queryset=Group.objects.all())
            task.refresh_from_db()
            get_template("bulkops/task_detail.html")
            print(task.status, task.succeeded_count, Group.objects.count())
            """
        ),
        cwd=tmp_path,
        env=env,
    )
    assert job.stdout.split() == ["succeeded", "3", "0"]


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        (
            'BULKOPS = {"BACKEND": "bulkops.backends.tasks.DjangoTasksBackend"}\n'
            'TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}\n',
            "pip install 'django-bulkops[tasks]'",
        ),
        ("""BULKOPS = {"BACKEND": "bulkops.backends.celery.CeleryBackend"}""", "[celery]"),
        ("""BULKOPS = {"BACKEND": "bulkops.backends.django_q.DjangoQBackend"}""", "[django-q2]"),
    ],
    ids=["tasks", "celery", "django-q2"],
)
def test_check_names_the_missing_library_and_its_extra(
    fresh_venv: Path, tmp_path: Path, settings: str, words: str
) -> None:
    env = project(tmp_path, "missing", settings)
    done = run(fresh_venv, "-m", "django", "check", cwd=tmp_path, env=env, ok=False)
    output = done.stdout + done.stderr
    assert "Traceback" not in output
    assert "bulkops.E002" in output and words in output, output


def test_without_tasks_setting_check_warns_that_jobs_run_in_the_request(
    fresh_venv: Path, tmp_path: Path
) -> None:
    version = run(fresh_venv, "-c", "import django; print(django.VERSION[0])").stdout
    if int(version) < 6:
        pytest.skip("django.tasks is built in from Django 6; the fresh venv has Django 5")
    extra = 'BULKOPS = {"BACKEND": "bulkops.backends.tasks.DjangoTasksBackend"}\n'
    env = project(tmp_path, "notasks", extra)
    done = run(fresh_venv, "-m", "django", "check", cwd=tmp_path, env=env)
    assert "bulkops.W004" in done.stderr + done.stdout
    assert "inside the request" in done.stderr + done.stdout
