"""A ZKTeco time clock in software: speaks the device protocol on a real socket.

Used by the test suite and the example project in place of hardware; also runnable
as ``python -m bulkops.contrib.zk.simulator``. It needs neither Django nor pyzk.
"""

from __future__ import annotations

from .device import Faults, SimRecord, SimulatedDevice, SimUser
from .server import Simulator

__all__ = ["Faults", "SimRecord", "SimUser", "SimulatedDevice", "Simulator"]
