"""``python -m bulkops.contrib.zk.simulator`` as a real process, reached by pyzk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from zk import ZK

pytestmark = pytest.mark.timeout(60)

SRC = Path(__file__).resolve().parents[3] / "src"


def test_cli_serves_pyzk() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    command = [
        sys.executable, "-m", "bulkops.contrib.zk.simulator", "--port", "0",
        "--users", "25", "--records", "3000", "--password", "31337", "--serial", "CLI0000001",
        "--fingers", "2",
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().split()
        assert first[0] == "listening", first
        host, port = first[1].rsplit(":", 1)
        conn = ZK(host, port=int(port), timeout=5, password=31337, ommit_ping=True).connect()
        assert conn.get_serialnumber() == "CLI0000001"
        assert len(conn.get_users()) == 25
        assert {(t.uid, t.fid) for t in conn.get_templates()} == {
            (uid, fid) for uid in range(1, 26) for fid in (0, 1)
        }
        assert len(conn.get_attendance()) == 3000
        conn.disconnect()
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_cli_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bulkops.contrib.zk.simulator", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        check=True,
    ).stdout
    for flag in ("--drop-mid-transfer", "--reply-delay", "--refuse-auth", "--udp", "--users"):
        assert flag in out
