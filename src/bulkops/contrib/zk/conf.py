"""``BULKOPS["ZK"]`` settings, read on every access so ``override_settings`` works."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # The project's employee model and which of its fields feed the device user.
    "EMPLOYEE_MODEL": None,
    "FIELDS": {},
    # Or a dotted path to an EmployeeMapping subclass, for anything FIELDS cannot say.
    "MAPPING": None,
    # Create employees for device users that have none when pulling.
    "CREATE_EMPLOYEES": True,
    # Where downloaded punches go (same fields and unique key as AttendanceRecord).
    "ATTENDANCE_MODEL": "bulkops_zk.AttendanceRecord",
    # Rows per database transaction.
    "CHUNK_SIZE": 2000,
    # Seconds to wait for another job's session on the same device, and the length
    # of a session lease (renewed while working; a crashed worker's lease runs out).
    "LOCK_WAIT": 30.0,
    "SESSION_LEASE": 300.0,
    # Devices a download reads at the same time (each on its own thread).
    "PARALLEL_DEVICES": 8,
}


def zk_setting(name: str) -> Any:
    configured = getattr(settings, "BULKOPS", None) or {}
    return (configured.get("ZK") or {}).get(name, DEFAULTS[name])
