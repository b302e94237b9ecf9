"""Stand-in settings for running the ZK tests before tests/settings.py lands on main."""

SECRET_KEY = "zk-tests"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
