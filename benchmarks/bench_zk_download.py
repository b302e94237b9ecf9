"""ZK row: download 50,000 punches from the simulator into the database with
``zk.download_attendance`` (through submit and the runner), beside pyzk's own
``get_attendance`` of the same data. Target: storing adds at most 50%."""

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


def run(report: Report, args: argparse.Namespace) -> None:
    from zk import ZK

    records = 10_000 if args.quick else 50_000
    sim_device = SimulatedDevice()
    sim_device.populate(users=500, records=records)
    pyzk_times, ours, again = [], [], []
    with (
        Simulator(sim_device) as sim,
        override_settings(BULKOPS={"BACKEND": "bulkops.backends.immediate.ImmediateBackend"}),
    ):
        Device.objects.filter(name="bench").delete()
        Device.objects.create(name="bench", host=sim.host, port=sim.port, timeout=10)

        def pyzk_download() -> None:
            conn = ZK(sim.host, port=sim.port, timeout=30, ommit_ping=True).connect()
            assert len(conn.get_attendance()) == records
            conn.disconnect()

        def bulkops_download() -> BulkTask:
            task = bulkops.submit("zk.download_attendance")
            task.refresh_from_db()
            assert task.status == BulkTask.Status.SUCCEEDED, task.message
            return task

        for _ in range(ROUNDS):
            pyzk_times.append(timed(pyzk_download))
            AttendanceRecord.objects.all().delete()
            ours.append(timed(bulkops_download))
            assert AttendanceRecord.objects.count() == records
            again.append(timed(bulkops_download))
        AttendanceRecord.objects.all().delete()
        Device.objects.filter(name="bench").delete()

    seconds = statistics.median(ours)
    report.compare(
        "zk",
        f"zk.download_attendance, {records:,} punches into the database",
        seconds,
        baseline_name="pyzk get_attendance alone",
        baseline_seconds=statistics.median(pyzk_times),
        higher_is_better=False,
        at_most=1.5,
        note=f"ratio = bulkops / pyzk; {records / seconds:,.0f} records/s; median of {ROUNDS}",
    )
    report.add(
        "zk",
        "the same download again (0 new records)",
        statistics.median(again),
        "s",
        note="known records are recognised, not re-inserted",
    )
