"""The example project: SQLite and django-q2's ORM broker, so it needs no server.

Safe by default: DEBUG is off unless EXAMPLE_DEBUG=1, and the secret key is generated
on first start into a git-ignored file (EXAMPLE_RUN_DIR, default example_project/.run),
unless EXAMPLE_SECRET_KEY gives one. django-q2 signs its queued payloads with it.

Set EXAMPLE_BACKEND to "celery" (Redis on 127.0.0.1) or "tasks" (django.tasks with the
database worker) to try the other backends; DATABASE_URL-style PostgreSQL via
EXAMPLE_POSTGRES=1.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
RUN_DIR = Path(os.environ.get("EXAMPLE_RUN_DIR", BASE_DIR / ".run"))


def _secret_key() -> str:
    path = RUN_DIR / "secret_key"
    if not path.exists():
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        # O_EXCL: when the web server and the worker start together, one writes, both read.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as file:
                file.write(get_random_secret_key())
    return path.read_text().strip()


SECRET_KEY = os.environ.get("EXAMPLE_SECRET_KEY") or _secret_key()
DEBUG = os.environ.get("EXAMPLE_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"] + [
    host for host in os.environ.get("EXAMPLE_ALLOWED_HOSTS", "").split(",") if host
]
USE_TZ = True
TIME_ZONE = "UTC"
# bulkops ships these translations; the example's own pages are translated to Spanish.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("pt-br", "Português (Brasil)"),
    ("fr", "Français"),
    ("de", "Deutsch"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
ROOT_URLCONF = "example.urls"
WSGI_APPLICATION = "example.wsgi.application"
ASGI_APPLICATION = "example.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_q",
    "bulkops",
    "bulkops.contrib.zk",
    "example",
    "customers",
    "devices",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The reader's language: the language switch's cookie, else the browser's.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

if os.environ.get("EXAMPLE_POSTGRES") == "1":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "bulkops_example"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("EXAMPLE_SQLITE", str(BASE_DIR / "db.sqlite3")),
            # WAL lets the worker write while the web process reads progress.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

STATIC_URL = "/static/"
MEDIA_ROOT = os.environ.get("EXAMPLE_MEDIA_ROOT", str(BASE_DIR / "media"))
MEDIA_URL = "/media/"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"

_backend = os.environ.get("EXAMPLE_BACKEND", "django_q")
BULKOPS = {
    "BACKEND": {
        "django_q": "bulkops.backends.django_q.DjangoQBackend",
        "celery": "bulkops.backends.celery.CeleryBackend",
        "tasks": "bulkops.backends.tasks.DjangoTasksBackend",
        "immediate": "bulkops.backends.immediate.ImmediateBackend",
    }[_backend],
    "SYNC_THRESHOLD": 100,
    "CHUNK_SIZE": 1000,
    # EXAMPLE_SHARDING=1 splits big imports, updates and deletes into shards that the
    # cluster's workers run at once (docs/sharding.md); off by default, as in bulkops.
    "SHARDING": bool(os.environ.get("EXAMPLE_SHARDING")),
    "SHARD_MIN_ROWS": 20_000,
    "BASE_TEMPLATE": "example/base.html",
    # A badge's card number opens doors: no export writes it unless a definition names it
    # (password fields are left out without being listed; docs/security.md).
    "SENSITIVE_FIELDS": ["devices.employee.card_number"],
    # The JSON API may start the customer list's bulk actions (the /api-demo/ page).
    "API_VIEWS": {"customers": "customers.views.CustomerList"},
    # Which fields of the project's employee model become the time clock's users.
    "ZK": {
        "EMPLOYEE_MODEL": "devices.Employee",
        "FIELDS": {
            "user_id": "badge",
            "name": "full_name",
            "card": "card_number",
            "privilege": "is_admin",
            "group_id": "department",
        },
    },
}

# As docs/backends.md recommends; example_setup schedules bulkops_recover --resume.
Q_CLUSTER = {
    "name": "bulkops-example",
    "orm": "default",
    "workers": 2,
    "timeout": 3600,
    "retry": 4000,
    "max_attempts": 1,
    "poll": 0.2,
    "catch_up": False,
}

CELERY_BROKER_URL = os.environ.get("EXAMPLE_REDIS_URL", "redis://127.0.0.1:6379/1")
CELERY_RESULT_BACKEND = CELERY_BROKER_URL

if _backend == "tasks":
    INSTALLED_APPS.append("django_tasks_db")
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"bulkops": {"handlers": ["console"], "level": "INFO"}},
}
