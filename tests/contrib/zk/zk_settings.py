"""Stand-in settings for running the ZK tests before tests/settings.py lands on main."""

import os

SECRET_KEY = "zk-tests"
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "bulkops.contrib.zk",
    "tests.contrib.zk.hr",
]
if os.environ.get("ZK_TEST_POSTGRES"):
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "bulkops"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
        }
    }
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
BULKOPS = {
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
    }
}
