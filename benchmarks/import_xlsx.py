"""Spreadsheet import: bulkops against django-import-export and a bare calamine loop.

Rows (all measured in this run, each importer in a fresh process so its peak RSS,
native memory included, is its own):

* the same 100,000-row .xlsx, upserted by a unique column into an empty table by
  bulkops (every cell validated by the model fields), by django-import-export in its
  fastest documented upsert setup, and by python-calamine + ``bulk_create`` with no
  validation at all;
* the dry run (the preview's whole-file check) of the same 100,000-row file, interleaved
  with the import itself: it must cost at most 1.2x the import;
* a 7,000-row workbook through bulkops, end to end;
* peak memory of a 1,000,000-row .csv import through bulkops;
* the store of keys met earlier in a file (exact duplicate detection) with 1,000,000
  keys, against a plain Python set of the same keys.

``python -m benchmarks.run import_xlsx`` runs it inside the benchmark table;
``python -m benchmarks.import_xlsx <variant> <file>`` runs one importer (used internally).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIELDS = ["name", "email", "phone", "joined", "balance", "active", "status", "visits"]
HEADERS = ["Name", "Email", "Phone", "Joined", "Balance", "Active", "Status", "Visits"]
CACHE = Path(tempfile.gettempdir()) / "bulkops-bench"


def sample_row(i: int) -> list[Any]:
    return [
        f"Customer {i}",
        f"customer{i}@example.com",
        f"+34 600 {i:06d}",
        datetime.date(2020, 1, 1) + datetime.timedelta(days=i % 1500),
        round(i * 1.37 % 100_000, 2),
        i % 3 != 0,
        ("active", "paused")[i % 2],
        i % 90,
    ]


def make_xlsx(rows: int) -> Path:
    path = CACHE / f"customers-{rows}.xlsx"
    if not path.exists():
        import openpyxl

        CACHE.mkdir(exist_ok=True)
        workbook = openpyxl.Workbook(write_only=True)
        sheet = workbook.create_sheet("Customers")
        sheet.append(HEADERS)
        for i in range(rows):
            sheet.append(sample_row(i))
        workbook.save(path)
    return path


def make_csv(rows: int) -> Path:
    path = CACHE / f"customers-{rows}.csv"
    if not path.exists():
        import csv

        CACHE.mkdir(exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADERS)
            for i in range(rows):
                row = sample_row(i)
                row[3] = row[3].strftime("%d/%m/%Y")
                row[5] = "yes" if row[5] else "no"
                writer.writerow(row)
    return path


# Orchestration (inside ``python -m benchmarks.run``) -------------------------------------
def run(report: Any, args: argparse.Namespace) -> None:
    rows = args.rows
    big = make_xlsx(rows)
    small = make_xlsx(7_000)
    repeat = 1 if args.quick else 3
    runs: dict[str, list[dict[str, Any]]] = {
        "bulkops": [],
        "bulkops_dry": [],
        "import_export": [],
        "bare": [],
    }
    for _ in range(repeat):  # interleaved, so a busy moment hits every importer alike
        for name in runs:
            runs[name].append(_child(name, big))
    results = {
        name: {
            "seconds": statistics.median(r["seconds"] for r in found),
            "peak_mb": max(r["peak_mb"] for r in found),
        }
        for name, found in runs.items()
    }
    group = f"import .xlsx {rows:,} rows (median of {repeat})"
    bulk, iexp, bare = results["bulkops"], results["import_export"], results["bare"]
    labels = {
        "bulkops": "bulkops (validated upsert)",
        "bulkops_dry": "bulkops dry run (writes rolled back)",
        "import_export": "django-import-export",
        "bare": "calamine + bulk_create",
    }
    for name, result in results.items():
        report.add(group, f"{labels[name]}: time", result["seconds"], "s")
        report.add(group, f"{labels[name]}: rows/s", rows / result["seconds"], "rows/s")
        report.add(group, f"{labels[name]}: peak RSS", result["peak_mb"], "MB")
    report.compare(
        group,
        "bulkops (validated upsert)",
        bulk["seconds"],
        baseline_name="django-import-export",
        baseline_seconds=iexp["seconds"],
        at_least=8,
        note="use_bulk, skip_diff, CachedInstanceLoader, batch_size=1000",
    )
    report.compare(
        group,
        "bulkops (validated upsert)",
        bulk["seconds"],
        baseline_name="calamine + bulk_create",
        baseline_seconds=bare["seconds"],
        at_least=1,
        note="the bare loop validates nothing",
    )
    pairs = ", ".join(
        f"{d['seconds'] / b['seconds']:.2f}x"
        for d, b in zip(runs["bulkops_dry"], runs["bulkops"], strict=True)
    )
    report.compare(
        group,
        "bulkops dry run (writes rolled back)",
        results["bulkops_dry"]["seconds"],
        baseline_name="bulkops import of the same file",
        baseline_seconds=bulk["seconds"],
        higher_is_better=False,
        at_most=1.2,
        note=f"pairs: {pairs}",
    )
    again = _child("bulkops_again", big)
    report.add(
        group,
        "bulkops, same file again (all unchanged)",
        again["seconds"],
        "s",
        note=f"{again['skipped']:,} rows skipped as unchanged",
    )
    seven = statistics.median(_child("bulkops", small)["seconds"] for _ in range(repeat))
    report.add(
        "import .xlsx 7,000 rows",
        "bulkops, submit to finished",
        seven,
        "s",
        target="< 2 s",
        ok=seven < 2,
    )
    if not args.quick:
        huge = make_csv(1_000_000)
        million = _child("bulkops", huge)
        report.add(
            "import .csv 1,000,000 rows",
            "bulkops peak RSS",
            million["peak_mb"],
            "MB",
            target="< 300 MB",
            ok=million["peak_mb"] < 300,
            note=f"{million['seconds']:.1f} s, {1_000_000 / million['seconds']:,.0f} rows/s",
        )
        store, plain = _child("seen", huge), _child("seen_set", huge)
        report.add(
            "duplicate keys, 1,000,000 rows",
            "exact store (set, then SQLite file): peak RSS",
            store["peak_mb"],
            "MB",
            note=f"{store['seconds']:.1f} s; a plain set of the same keys: "
            f"{plain['peak_mb']:.0f} MB, {plain['seconds']:.1f} s",
        )


def _child(variant: str, path: Path) -> dict[str, Any]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "benchmarks.settings"}
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.import_xlsx", variant, str(path)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"    {variant} {path.name}: {result}", flush=True)
    return result


# One importer per process ----------------------------------------------------------------
def _setup() -> None:
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    import django

    django.setup()
    from django.db import connection

    from tests.tabular.models_app.models import Country, Customer

    with connection.schema_editor() as editor:
        existing = connection.introspection.table_names()
        for model in (Country, Customer):
            if model._meta.db_table not in existing:
                editor.create_model(model)
    if connection.vendor == "postgresql":
        # A really empty table: rows deleted (or rolled back) by the previous importer
        # would leave dead index entries under the same keys for this one to step over.
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {Customer._meta.db_table}")
    else:
        Customer.objects.all().delete()


def _bulkops_dry(path: Path) -> dict[str, Any]:
    return _bulkops(path, dry_run=True)


def _seen(path: Path, *, plain: bool = False) -> dict[str, Any]:
    """1,000,000 keys like the import's (the e-mail column), chunk by chunk."""
    from bulkops.operations.seen import SeenValues, encode

    store = SeenValues()
    seen: set[tuple[Any, ...]] = set()
    repeated = 0
    for start in range(0, 1_000_000, 2000):
        keys = [(f"customer{i}@example.com",) for i in range(start, start + 2000)]
        if plain:
            repeated += sum(key in seen or seen.add(key) or False for key in keys)  # type: ignore[func-returns-value]
        else:
            repeated += sum(store.check_and_add(0, [encode(key) for key in keys]))
    store.close()
    assert repeated == 0
    return {"keys": 1_000_000}


def _bulkops(path: Path, *, dry_run: bool = False) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.core.files import File
    from django.test import override_settings

    import bulkops
    from bulkops.models import BulkTask
    from bulkops.tabular.definition import ImportDefinition, register_import
    from tests.tabular.models_app.models import Customer

    register_import(ImportDefinition(Customer, fields=FIELDS, key_fields=["email"]))
    user, _ = get_user_model().objects.get_or_create(username="bench", is_superuser=True)
    settings = {
        "BACKEND": "bulkops.backends.immediate.ImmediateBackend",
        "SYNC_THRESHOLD": 0,
        "CHUNK_SIZE": 2000,
        "MAX_ROWS": 2_000_000,
        "MAX_UPLOAD_SIZE": 500 * 2**20,
    }
    with override_settings(BULKOPS=settings), path.open("rb") as handle:
        task = bulkops.submit(
            "import",
            user=user,
            model=Customer,
            params={
                "filename": path.name,
                "mode": "upsert",
                "key_fields": ["email"],
                "dry_run": dry_run,
            },
            input_file=File(handle, name=path.name),
        )
    task = BulkTask.objects.get(pk=task.pk)
    assert task.status == "succeeded", (task.status, task.message)
    assert task.failed_count == 0, list(task.errors.values_list("message", flat=True)[:5])
    if dry_run:
        assert Customer.objects.count() == 0, "the dry run wrote"
    return {"created": task.result["created"], "rows": Customer.objects.count()}


def _bulkops_again(path: Path) -> dict[str, Any]:
    """The same file a second time: every row exists and is unchanged."""
    from bulkops.models import BulkTask

    _bulkops(path)
    start = time.perf_counter()
    _bulkops(path)
    seconds = time.perf_counter() - start
    task = BulkTask.objects.order_by("-created_at").first()
    assert task is not None
    return {"seconds": seconds, "skipped": task.skipped_count}


def _import_export(path: Path) -> dict[str, Any]:
    import tablib
    from import_export import resources
    from import_export.instance_loaders import CachedInstanceLoader

    from tests.tabular.models_app.models import Customer

    class CustomerResource(resources.ModelResource):
        class Meta:
            model = Customer
            fields = FIELDS
            import_id_fields = ["email"]
            use_bulk = True
            skip_diff = True
            batch_size = 1000
            instance_loader_class = CachedInstanceLoader

    with path.open("rb") as handle:
        dataset = tablib.Dataset().load(handle.read(), format="xlsx")
    dataset.headers = FIELDS
    result = CustomerResource().import_data(dataset, dry_run=False, raise_errors=True)
    assert not result.has_errors()
    return {"rows": Customer.objects.count()}


def _bare(path: Path) -> dict[str, Any]:
    from python_calamine import CalamineWorkbook

    from tests.tabular.models_app.models import Customer

    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    rows: Iterator[list[Any]] = sheet.iter_rows()  # type: ignore[assignment]
    next(rows)
    batch = []
    for name, email, phone, joined, balance, active, status, visits in rows:
        batch.append(
            Customer(
                name=name,
                email=email,
                phone=phone,
                joined=joined,
                balance=Decimal(repr(balance)),
                active=active,
                status=status,
                visits=int(visits),
            )
        )
        if len(batch) == 1000:
            Customer.objects.bulk_create(batch)
            batch = []
    Customer.objects.bulk_create(batch)
    return {"rows": Customer.objects.count()}


def main() -> None:
    variant, path = sys.argv[1], Path(sys.argv[2])
    _setup()
    start = time.perf_counter()
    variants = {
        "bulkops": _bulkops,
        "bulkops_again": _bulkops_again,
        "bulkops_dry": _bulkops_dry,
        "seen": _seen,
        "seen_set": lambda path: _seen(path, plain=True),
        "import_export": _import_export,
        "bare": _bare,
    }
    extra = variants[variant](path)
    seconds = extra.pop("seconds", time.perf_counter() - start)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": round(peak_mb, 1), **extra}))


if __name__ == "__main__":
    main()
