"""Test settings. BULKOPS_TEST_DB picks the database: "postgres" (default) or "sqlite".

Worker processes started by the tests load these settings too, with BULKOPS_DB_NAME
pointing at the test database the test run created.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path

import django

BASE_DIR = Path(__file__).resolve().parent.parent
# Checkouts side by side must not share test databases, Redis keys or queues.
CHECKOUT = hashlib.sha1(str(BASE_DIR).encode()).hexdigest()[:6]

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

DB_VENDOR = os.environ.get("BULKOPS_TEST_DB", "postgres")
if DB_VENDOR == "sqlite":
    (BASE_DIR / ".test-db").mkdir(exist_ok=True)
    sqlite_path = str(BASE_DIR / ".test-db" / f"bulkops-{CHECKOUT}.sqlite3")
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("BULKOPS_DB_NAME", sqlite_path),
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "TEST": {"NAME": sqlite_path},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("BULKOPS_DB_NAME", "postgres"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "TEST": {"NAME": f"test_bulkops_{CHECKOUT}"},
            # Lets a fault test find a worker's connection and terminate it.
            "OPTIONS": {"application_name": os.environ.get("BULKOPS_DB_APPNAME", "bulkops")},
        }
    }

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_q",
    "django_tasks_db",
    "bulkops",
    "bulkops.contrib.zk",
    "tests.testapp",
    "tests.tabular.models_app",
    "tests.contrib.zk.hr",
]

# Celery beat's database schedules (tests/e2e/test_schedules.py); it is in the test extra.
if importlib.util.find_spec("django_celery_beat"):
    INSTALLED_APPS.insert(INSTALLED_APPS.index("bulkops"), "django_celery_beat")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
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

STATIC_URL = "/static/"
MEDIA_ROOT = str(BASE_DIR / ".test-media" / CHECKOUT)
MEDIA_URL = "/media/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "/login/"

REDIS_URL = os.environ.get("BULKOPS_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("BULKOPS_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")

BULKOPS = {
    "BACKEND": os.environ.get("BULKOPS_BACKEND", "bulkops.backends.immediate.ImmediateBackend"),
    # A worker started by a test may need the backend's options too (its queue).
    "OPTIONS": json.loads(os.environ.get("BULKOPS_OPTIONS", "{}")),
    "SYNC_THRESHOLD": 0,
    "PROGRESS_INTERVAL": 0.2,
    # Chunks keep CHUNK_SIZE rows (no growth by time), so tests that stop a job between
    # chunks find the chunks they count on; tests/test_pacing.py covers the growth.
    "CHUNK_SECONDS": float(os.environ.get("BULKOPS_CHUNK_SECONDS", "0")),
    # The JSON API exposes these list views' bulk actions (tests/test_jsonapi*.py).
    "API_VIEWS": {
        "customers": "tests.testapp.views.CustomerList",
        "customers-pt": "tests.testapp.views.PortugueseCustomerList",
        "customers-filtered": "tests.testapp.views.CustomerFilterList",
    },
    "API_OPERATIONS": {"tests.sync": "testapp.change_customer"},
    "API_AUTHENTICATION": ["bulkops.jsonapi.auth.session", "tests.testapp.api_auth.token"],
    "STREAM_INTERVAL": 0.1,
    # Worker processes of the heartbeat tests run with a timeout of a second or two.
    "HEARTBEAT_TIMEOUT": float(os.environ.get("BULKOPS_HEARTBEAT_TIMEOUT", "120")),
    # Worker processes of the sharding fault tests split jobs (off unless set).
    "SHARDING": bool(os.environ.get("BULKOPS_SHARDING")),
    "SHARDS": int(os.environ.get("BULKOPS_SHARDS", "4")),
    "SHARD_MIN_ROWS": int(os.environ.get("BULKOPS_SHARD_MIN_ROWS", "50000")),
    "ZK": {
        "EMPLOYEE_MODEL": "zk_hr.Employee",
        "FIELDS": {
            "user_id": "badge",
            "name": "full_name",
            "card": "card_number",
            "privilege": "is_admin",
            "password": "pin",
            "group_id": "department",
        },
        "LOCK_WAIT": 2,
    },
}

# Celery: the test suite picks the broker per worker (Redis or RabbitMQ) via this variable.
CELERY_BROKER_URL = os.environ.get("BULKOPS_CELERY_BROKER", REDIS_URL)
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# How long Redis keeps a delivered, unacknowledged message before giving it to another
# consumer; the fault tests shorten it to see redelivery after a worker is killed.
# kombu 5.7 looks for such messages every unacked_restore_interval (10 s) times
# unacked_restore_throttle (10): about 100 s after the timeout; the tests look every second.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("BULKOPS_VISIBILITY_TIMEOUT", "3600")),
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}

# django-q2: "orm" (the database) or "redis", chosen per cluster by this variable.
Q_BROKER = os.environ.get("BULKOPS_Q_BROKER", "orm")
Q_CLUSTER = {
    "name": os.environ.get("BULKOPS_Q_NAME", f"bulkops-tests-{CHECKOUT}"),
    "workers": int(os.environ.get("BULKOPS_Q_WORKERS", "1")),
    "timeout": int(os.environ.get("BULKOPS_Q_TIMEOUT", "300")),
    "retry": int(os.environ.get("BULKOPS_Q_RETRY", "600")),
    "max_attempts": 1,
    "poll": 0.1,
    "catch_up": False,
    "ack_failures": True,
    # The ORM broker wins when "orm" is set; "redis" is always there so that a sender on
    # the ORM broker that enqueues to a Redis cluster (backend option "broker") uses
    # BULKOPS_REDIS_URL too.
    "redis": REDIS_URL,
    **({"orm": "default"} if Q_BROKER == "orm" else {}),
}

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", f"bulkops-{CHECKOUT}"],
    }
}

# Django 6.1 configures e-mail through MAILERS (the test runner swaps in locmem).
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"bulkops": {"handlers": ["console"], "level": "WARNING"}},
}
