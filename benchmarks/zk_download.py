"""Download 50,000 punches from the simulator into the database, next to pyzk alone.

    python benchmarks/zk_download.py [--records 50000] [--database sqlite|postgres]

Prints records/second for bulkops' zk.download_attendance path (download + store)
and pyzk's own ``get_attendance`` time for the same data, and their ratio. Target:
storing adds at most 50% (ratio <= 1.5).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]


def configure(database: str, workdir: str) -> None:
    import django
    from django.conf import settings

    if database == "postgres":
        db: dict[str, Any] = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "bulkops_zk_bench"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
        }
    else:
        db = {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(workdir, "bench.db")}
    settings.configure(
        DEBUG=False,
        USE_TZ=True,
        TIME_ZONE="UTC",
        SECRET_KEY="bench",
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "bulkops.contrib.zk"],
        DATABASES={"default": db},
    )
    django.setup()


class _Quiet:
    def add_total(self, count: int) -> None: ...
    def advance(self, *, succeeded: int = 0, failed: int = 0, skipped: int = 0) -> None: ...
    def row_error(self, key: str, message: str, *, field: str = "") -> None: ...
    def stage(self, text: str) -> None: ...
    def check_cancelled(self) -> None: ...


def run(records: int, rounds: int) -> dict[str, float]:
    from django.core.management import call_command
    from zk import ZK

    from bulkops.contrib.zk.models import AttendanceRecord, Device
    from bulkops.contrib.zk.simulator import SimulatedDevice, Simulator
    from bulkops.contrib.zk.sync import download_attendance

    call_command("migrate", verbosity=0)
    sim_device = SimulatedDevice()
    sim_device.populate(users=500, records=records)
    pyzk_times, ours, again = [], [], []
    with Simulator(sim_device) as sim:
        device, _ = Device.objects.update_or_create(
            name="bench", defaults={"host": sim.host, "port": sim.port, "timeout": 10}
        )
        for _ in range(rounds):
            conn = ZK(sim.host, port=sim.port, timeout=30, ommit_ping=True).connect()
            start = time.perf_counter()
            assert len(conn.get_attendance()) == records
            pyzk_times.append(time.perf_counter() - start)
            conn.disconnect()

            AttendanceRecord.objects.all().delete()
            start = time.perf_counter()
            result = download_attendance(device, _Quiet())
            ours.append(time.perf_counter() - start)
            assert result.new == records, result

            start = time.perf_counter()
            result = download_attendance(device, _Quiet())
            again.append(time.perf_counter() - start)
            assert result.new == 0, result
    return {
        "pyzk": statistics.median(pyzk_times),
        "bulkops": statistics.median(ours),
        "bulkops_again": statistics.median(again),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        configure(args.database, workdir)
        t = run(args.records, args.rounds)
    n = args.records
    ratio = t["bulkops"] / t["pyzk"]
    print(f"zk_download ({args.database}, {n} punches, median of {args.rounds})")
    print(f"  pyzk get_attendance only     {t['pyzk']:7.2f} s  {n / t['pyzk']:9.0f} records/s")
    print(
        f"  bulkops download + store     {t['bulkops']:7.2f} s  {n / t['bulkops']:9.0f} records/s"
    )
    print(f"  bulkops again (0 new)        {t['bulkops_again']:7.2f} s")
    verdict = "ok" if ratio <= 1.5 else "MISSED"
    print(f"  ratio bulkops / pyzk         {ratio:7.2f}  (target <= 1.50: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
