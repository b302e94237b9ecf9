"""Registers benchmarks/dirty.py with ``python -m benchmarks.run``."""

from __future__ import annotations

from benchmarks.dirty import run

__all__ = ["run"]
