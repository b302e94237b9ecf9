"""Benchmark settings: the test settings on a database of their own."""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import CHECKOUT, DATABASES

BENCH_DB = os.environ.get("BULKOPS_DB_NAME", f"bulkops_bench_{CHECKOUT}")
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["NAME"] = BENCH_DB
DEBUG = False
