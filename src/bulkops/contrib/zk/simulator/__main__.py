"""``python -m bulkops.contrib.zk.simulator``: run a simulated time clock until Ctrl+C."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from .device import Faults, SimulatedDevice
from .server import Simulator


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bulkops.contrib.zk.simulator",
        description="Serve a simulated ZKTeco time clock (TCP, optionally UDP) for pyzk.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4370, help="0 picks a free port")
    parser.add_argument("--users", type=int, default=0, help="users to create")
    parser.add_argument("--records", type=int, default=0, help="attendance records to create")
    parser.add_argument(
        "--fingers", type=int, default=0, help="fingerprint templates to enroll per user (0-10)"
    )
    parser.add_argument("--password", type=int, default=0, help="comm key (0: none)")
    parser.add_argument("--udp", action="store_true", help="also answer UDP on the same port")
    parser.add_argument("--serial", default="SIM0000000001", help="serial number")
    parser.add_argument("--user-format", type=int, choices=(72, 28), default=72)
    parser.add_argument("--attendance-format", type=int, choices=(40, 16, 8), default=40)
    parser.add_argument("--max-name-length", type=int, default=24, help="bytes kept of a name")
    faults = parser.add_argument_group("fault injection")
    faults.add_argument("--refuse-auth", action="store_true", help="reject every login")
    faults.add_argument(
        "--reply-delay", type=float, default=0.0, metavar="SECONDS", help="delay every packet"
    )
    faults.add_argument(
        "--drop-mid-transfer",
        type=int,
        default=0,
        metavar="N",
        help="close the connection halfway through the next N buffered transfers (-1: all)",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    device = SimulatedDevice(
        serial_number=args.serial,
        password=args.password,
        user_format=args.user_format,
        attendance_format=args.attendance_format,
        max_name_length=args.max_name_length,
    )
    device.populate(users=args.users, records=args.records, fingers=args.fingers)
    simulator = Simulator(
        device,
        host=args.host,
        port=args.port,
        udp=args.udp,
        faults=Faults(
            refuse_auth=args.refuse_auth,
            reply_delay=args.reply_delay,
            drop_mid_transfer=args.drop_mid_transfer,
        ),
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        simulator.request_stop()

    signal.signal(signal.SIGTERM, stop)
    simulator.start()
    # The first line is machine-readable so scripts and tests can learn a port-0 choice.
    print(f"listening {simulator.host}:{simulator.port}", flush=True)
    print(
        f"serial {device.serial_number}, {len(device.users)} users, "
        f"{len(device.templates)} fingerprints, {len(device.records)} records"
        f"{', UDP too' if args.udp else ''}; Ctrl+C stops",
        flush=True,
    )
    try:
        simulator.serve_forever()
    except KeyboardInterrupt:
        simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
