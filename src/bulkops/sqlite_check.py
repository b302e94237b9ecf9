"""The ``manage.py check`` warning for a bulkops site on SQLite without the settings it needs.

docs/deployment.md explains each one with its measurement:

- WAL journal mode, so progress polls (readers) and the worker (the writer) do not
  block each other;
- IMMEDIATE transactions, so a transaction takes the write lock when it begins, with the
  busy timeout applying; a deferred one that reads first and writes later fails at once
  with "database is locked" when another process wrote in between;
- a busy timeout of some seconds, so a write waits its turn instead of failing.
"""

from __future__ import annotations

import re
from typing import Any

from django.core import checks

RECOMMENDED_OPTIONS = {
    "timeout": 20,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
MIN_TIMEOUT = 5
_WAL = re.compile(r"journal_mode\s*=\s*['\"]?wal\b", re.IGNORECASE)


def sqlite_problems(settings_dict: dict[str, Any]) -> list[str]:
    """What a SQLite database's settings lack for bulkops; empty when they are right."""
    options = settings_dict.get("OPTIONS") or {}
    problems = []
    if not _WAL.search(str(options.get("init_command", ""))):
        problems.append("'init_command' does not set 'PRAGMA journal_mode=WAL'")
    if str(options.get("transaction_mode", "")).upper() != "IMMEDIATE":
        problems.append("'transaction_mode' is not 'IMMEDIATE'")
    timeout = options.get("timeout", MIN_TIMEOUT)
    if not isinstance(timeout, int | float) or timeout < MIN_TIMEOUT:
        problems.append(f"'timeout' is under {MIN_TIMEOUT} seconds")
    return problems


def check_sqlite(databases: dict[str, dict[str, Any]]) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    for alias, settings_dict in databases.items():
        if not str(settings_dict.get("ENGINE", "")).endswith("sqlite3"):
            continue
        problems = sqlite_problems(settings_dict)
        if problems:
            messages.append(
                checks.Warning(
                    f"DATABASES[{alias!r}] is SQLite and its OPTIONS are not what bulkops "
                    f"jobs need: {'; '.join(problems)}. Web requests will wait behind "
                    "running jobs or fail with 'database is locked'.",
                    hint=f"Set DATABASES[{alias!r}]['OPTIONS'] = {RECOMMENDED_OPTIONS!r}; "
                    "see the SQLite section of bulkops' deployment docs.",
                    id="bulkops.W005",
                )
            )
    return messages
