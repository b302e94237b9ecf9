"""Benchmark settings: the test settings on a database of their own."""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import CHECKOUT, DATABASES

BENCH_DB = os.environ.get("BULKOPS_DB_NAME", f"bulkops_bench_{CHECKOUT}")
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["NAME"] = BENCH_DB
DEBUG = False
# Persistent connections, as a production site polling progress bars would have: without
# them every status poll opens a new PostgreSQL connection (about 7 ms of a 10 ms poll
# on this machine).
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# The SQLite benchmark runs its "before" rows with chunks of fixed rows and no pause.
if os.environ.get("BULKOPS_BENCH_SQLITE_PACING") == "off":
    BULKOPS = {**BULKOPS, "SQLITE_CHUNK_SECONDS": 0, "SQLITE_CHUNK_PAUSE": 0}  # noqa: F405
# The stream benchmark measures the shipped default, not the tests' faster poller.
BULKOPS = {**BULKOPS, "STREAM_INTERVAL": 0.5}  # noqa: F405
