"""Registers benchmarks/import_xlsx.py with ``python -m benchmarks.run``."""

from __future__ import annotations

from benchmarks.import_xlsx import run

__all__ = ["run"]
