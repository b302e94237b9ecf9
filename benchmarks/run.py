"""Run the benchmarks and print one table: ``python -m benchmarks.run [name ...]``.

Each ``benchmarks/bench_<name>.py`` has ``run(report, args)``. The database is a fresh
PostgreSQL database (``bulkops_bench_<checkout>``) unless BULKOPS_TEST_DB=sqlite.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--rows", type=int, default=100_000, help="rows for the large jobs")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument(
        "--nice", type=int, default=0, help="CPU niceness of the worker the load benchmark starts"
    )
    args = parser.parse_args()
    if args.quick:
        args.rows = min(args.rows, 10_000)

    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    _fresh_database()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from benchmarks.harness import Report

    available = sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if m.name.startswith("bench_")
    )
    names = args.names or available
    report = Report()
    for name in names:
        if name not in available:
            parser.error(f"no benchmark {name!r} (available: {', '.join(available)})")
        print(f"== {name}", flush=True)
        importlib.import_module(f"benchmarks.bench_{name}").run(report, args)
    report.print()


def _fresh_database() -> None:
    if os.environ.get("BULKOPS_TEST_DB", "postgres") != "postgres":
        return
    import psycopg

    from tests.settings import CHECKOUT

    name = os.environ.setdefault("BULKOPS_DB_NAME", f"bulkops_bench_{CHECKOUT}")
    with psycopg.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        user=os.environ.get("PGUSER", "postgres"),
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    main()
