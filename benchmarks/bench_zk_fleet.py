"""ZK fleet rows: one ``zk.download_attendance`` task over 5 simulated clocks of
20,000 punches each, against the sum of five single-clock downloads run one after
another; once with clocks answering at loopback speed, once with each packet of the
clocks delayed by 20 ms (a device that takes its time, as real ones do). The devices
are read in parallel; storing stays on the task's thread."""

from __future__ import annotations

import argparse
import statistics

from django.test import override_settings

import bulkops
from benchmarks.harness import Report, timed
from bulkops.contrib.zk.models import AttendanceRecord, Device
from bulkops.contrib.zk.simulator import SimulatedDevice, Simulator
from bulkops.models import BulkTask

ROUNDS = 3
DEVICES = 5


def run(report: Report, args: argparse.Namespace) -> None:
    records = 4_000 if args.quick else 20_000
    for delay in (0.0, 0.02):
        measure(report, records, delay)


def measure(report: Report, records: int, delay: float) -> None:
    sims = []
    for n in range(DEVICES):
        device = SimulatedDevice(serial_number=f"FLEET{n}")
        device.populate(users=300, records=records)
        sims.append(Simulator(device, reply_delay=delay).start())
    fleet, one_by_one = [], []
    try:
        with override_settings(BULKOPS={"BACKEND": "bulkops.backends.immediate.ImmediateBackend"}):
            Device.objects.filter(name__startswith="fleet ").delete()
            devices = [
                Device.objects.create(name=f"fleet {n}", host=sim.host, port=sim.port, timeout=10)
                for n, sim in enumerate(sims)
            ]

            def download(pks: list[int]) -> None:
                task = bulkops.submit("zk.download_attendance", params={"devices": pks})
                task.refresh_from_db()
                assert task.status == BulkTask.Status.SUCCEEDED, task.message
                assert task.succeeded_count == records * len(pks)

            for _ in range(ROUNDS):
                AttendanceRecord.objects.all().delete()
                fleet.append(timed(lambda: download([d.pk for d in devices])))
                AttendanceRecord.objects.all().delete()
                one_by_one.append(sum(timed(lambda d=d: download([d.pk])) for d in devices))
            AttendanceRecord.objects.all().delete()
            Device.objects.filter(name__startswith="fleet ").delete()
    finally:
        for sim in sims:
            sim.stop()
    seconds = statistics.median(fleet)
    report.compare(
        "zk",
        f"zk.download_attendance, {DEVICES} clocks x {records:,} punches in one task"
        + (f", {delay * 1000:.0f} ms per device packet" if delay else ""),
        seconds,
        baseline_name="the five single-clock downloads one after another",
        baseline_seconds=statistics.median(one_by_one),
        higher_is_better=False,
        at_most=1.0,
        note=f"ratio = fleet / sequential; {DEVICES * records / seconds:,.0f} records/s; "
        f"median of {ROUNDS}",
    )
