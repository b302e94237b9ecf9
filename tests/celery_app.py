from __future__ import annotations

import os

from celery import Celery

from tests import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

# The app a worker runs: its broker comes from BULKOPS_CELERY_BROKER (see settings).
app = Celery("bulkops_tests")
app.config_from_object("django.conf:settings", namespace="CELERY")

# Senders for the tests, one per broker, whatever the environment says.
redis_app = Celery("bulkops_tests_redis", set_as_current=False)
redis_app.config_from_object("django.conf:settings", namespace="CELERY")
redis_app.conf.broker_url = settings.REDIS_URL

rabbitmq_app = Celery("bulkops_tests_rabbitmq", set_as_current=False)
rabbitmq_app.config_from_object("django.conf:settings", namespace="CELERY")
rabbitmq_app.conf.broker_url = settings.RABBITMQ_URL
