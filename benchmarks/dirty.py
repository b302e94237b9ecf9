"""Import of a real-looking, dirty file: bulkops against the floor and django-import-export.

The file: the tests' ``Customer`` model through 10 columns, the country a foreign key
given by its natural key (``Country code``), and one row in 33 bad (3%) across six
kinds (e-mail, unknown country, date, decimal, choice, negative count). The clean
file is the same rows with no bad one. Every importer runs in a fresh process (its
peak RSS, native memory included, is its own) on an empty table:

* bulkops: ``bulkops.submit("import", ...)`` on the raw file, upsert by e-mail, the
  error report (every failed row) included;
* the floor: python-calamine (or the csv module) parsing the file alone, plus
  PostgreSQL COPY of the already-parsed good rows alone (countries resolved from a
  dict), each timed on its own: no validation, no error handling, no report;
* django-import-export in its fastest setup (``use_bulk``, ``skip_diff``,
  ``CachedInstanceLoader``, ``batch_size=1000``), the country widget cached in a dict.

``python -m benchmarks.run dirty`` runs it in the benchmark table (``--rows``, default
200,000); ``python -m benchmarks.dirty <variant> <file>`` runs one importer.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(tempfile.gettempdir()) / "bulkops-bench"
FIELDS = [
    "name",
    "email",
    "phone",
    "country",
    "joined",
    "balance",
    "active",
    "status",
    "visits",
    "last_seen",
]
HEADERS = [
    "Name",
    "Email",
    "Phone",
    "Country code",
    "Joined",
    "Balance",
    "Active",
    "Status",
    "Visits",
    "Last seen",
]
COUNTRIES = [f"{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(60)]
BAD_EVERY = 33


def is_bad(i: int) -> bool:
    return i % BAD_EVERY == 16


def sample_row(i: int, *, dirty: bool) -> list[Any]:
    row: list[Any] = [
        f"Customer {i}",
        f"customer{i}@example.com",
        f"+34 600 {i:06d}",
        COUNTRIES[i % len(COUNTRIES)],
        datetime.date(2020, 1, 1) + datetime.timedelta(days=i % 1500),
        round(i * 1.37 % 100_000, 2),
        i % 3 != 0,
        ("active", "paused")[i % 2],
        i % 90,
        datetime.datetime(2024, 1, 1, 8, 30) + datetime.timedelta(minutes=i),
    ]
    if dirty and is_bad(i):
        kind = (i // BAD_EVERY) % 6
        if kind == 0:
            row[1] = f"customer {i} at example"
        elif kind == 1:
            row[3] = "ZZ"
        elif kind == 2:
            row[4] = "sometime in May"
        elif kind == 3:
            row[5] = "12.34.56"
        elif kind == 4:
            row[7] = "deleted"
        else:
            row[8] = -5
    return row


def bad_rows(rows: int) -> int:
    return sum(1 for i in range(rows) if is_bad(i))


def make_file(rows: int, *, dirty: bool, fmt: str) -> Path:
    kind = "dirty" if dirty else "clean"
    path = CACHE / f"dirty-customers-{kind}-{rows}.{fmt}"
    if path.exists():
        return path
    CACHE.mkdir(exist_ok=True)
    partial = path.with_suffix(".partial")
    if fmt == "xlsx":
        import openpyxl

        workbook = openpyxl.Workbook(write_only=True)
        sheet = workbook.create_sheet("Customers")
        sheet.append(HEADERS)
        for i in range(rows):
            sheet.append(sample_row(i, dirty=dirty))
        workbook.save(partial)
    else:
        with partial.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADERS)
            for i in range(rows):
                row = sample_row(i, dirty=dirty)
                if isinstance(row[4], datetime.date):
                    row[4] = row[4].strftime("%d/%m/%Y")
                row[6] = "yes" if row[6] else "no"
                row[9] = row[9].strftime("%d/%m/%Y %H:%M")
                writer.writerow(row)
    partial.rename(path)
    return path


# Orchestration (inside ``python -m benchmarks.run``) -------------------------------------
def run(report: Any, args: argparse.Namespace) -> None:
    rows = args.rows if args.rows != 100_000 else 200_000
    if args.quick:
        rows = min(rows, 10_000)
    repeat = 1 if args.quick else 2
    expected_bad = bad_rows(rows)
    for dirty in (True, False):
        path = make_file(rows, dirty=dirty, fmt="xlsx")
        kind = "dirty (3% bad)" if dirty else "clean"
        group = f"import .xlsx {rows:,} rows, {kind}, FK by natural key"
        runs: dict[str, list[dict[str, Any]]] = {
            "bulkops": [],
            "floor_parse": [],
            "floor_copy": [],
            "import_export": [],
        }
        for turn in range(repeat):  # interleaved, so a busy moment hits every importer alike
            for name in runs:
                # django-import-export takes ~10x as long: once is enough for its ratio.
                if name != "import_export" or turn == 0:
                    runs[name].append(_child(name, path))
        med = {name: statistics.median(r["seconds"] for r in found) for name, found in runs.items()}
        bulk = runs["bulkops"][-1]
        if dirty:
            assert bulk["failed"] == expected_bad, (bulk["failed"], expected_bad)
            assert bulk["report_rows"] == expected_bad, (bulk["report_rows"], expected_bad)
        floor = med["floor_parse"] + med["floor_copy"]
        report.add(group, "calamine parse alone", med["floor_parse"], "s")
        report.add(group, "COPY of the parsed good rows alone", med["floor_copy"], "s")
        report.add(
            group,
            "bulkops: peak RSS",
            max(r["peak_mb"] for r in runs["bulkops"]),
            "MB",
            note=f"{bulk['failed']:,} failed, {bulk['report_rows']:,} in the report",
        )
        report.compare(
            group,
            "bulkops (validated upsert + error report)",
            med["bulkops"],
            baseline_name="the floor (parse + COPY)",
            baseline_seconds=floor,
            higher_is_better=False,
            at_most=1.6 if dirty else 1.4,
        )
        report.compare(
            group,
            "bulkops (validated upsert + error report)",
            med["bulkops"],
            baseline_name="django-import-export, fastest setup",
            baseline_seconds=med["import_export"],
            at_least=10 if dirty else None,
            note="use_bulk, skip_diff, CachedInstanceLoader, FK widget cached",
        )
    sizes = [10_000, 20_000] if args.quick else [50_000, 200_000, 1_000_000]
    peaks = []
    for size in sizes:
        found = _child("bulkops", make_file(size, dirty=True, fmt="csv"))
        expected = bad_rows(size)
        assert found["report_rows"] == expected, (found["report_rows"], expected)
        peaks.append(found["peak_mb"])
        report.add(
            "import .csv, dirty (3% bad): memory",
            f"bulkops, {size:,} rows: peak RSS",
            found["peak_mb"],
            "MB",
            target="< 200 MB",
            ok=found["peak_mb"] < 200,
            note=f"{found['seconds']:.1f} s; the report lists {found['report_rows']:,} of "
            f"{found['failed']:,} failed rows",
        )
    report.add(
        "import .csv, dirty (3% bad): memory",
        "largest / smallest peak RSS",
        max(peaks) / min(peaks),
        "x",
        target="<= 1.3x",
        ok=max(peaks) / min(peaks) <= 1.3,
    )


def _child(variant: str, path: Path) -> dict[str, Any]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "benchmarks.settings"}
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.dirty", variant, str(path)],
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
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {Customer._meta.db_table}")
    else:
        Customer.objects.all().delete()
    for code in COUNTRIES:
        Country.objects.get_or_create(code=code, defaults={"name": f"Country {code}"})


def _bulkops(path: Path) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.core.files import File
    from django.test import override_settings

    import bulkops
    from bulkops.models import BulkTask
    from bulkops.tabular import open_table
    from bulkops.tabular.definition import ImportDefinition, register_import
    from tests.tabular.models_app.models import Customer

    register_import(
        ImportDefinition(Customer, fields=FIELDS, key_fields=["email"], lookups={"country": "code"})
    )
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
            params={"filename": path.name, "mode": "upsert", "key_fields": ["email"]},
            input_file=File(handle, name=path.name),
        )
    seconds = time.perf_counter() - START
    # The import's own peak, before this process opens the report to count its rows.
    peak_mb = _peak_mb()
    task = BulkTask.objects.get(pk=task.pk)
    assert task.status == "succeeded", (task.status, task.message)
    report_rows = 0
    if task.failed_count:
        with (
            task.result_file.open("rb") as report,
            open_table(report, filename="r.xlsx") as table,  # type: ignore[arg-type]
        ):
            report_rows = sum(1 for _ in table.rows())
    return {
        "seconds": seconds,
        "peak_mb": peak_mb,
        "created": task.result["created"],
        "failed": task.failed_count,
        "report_rows": report_rows,
    }


def _parse(path: Path) -> list[tuple[Any, ...]]:
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            next(reader)
            return [tuple(row) for row in reader]
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    rows = sheet.iter_rows()
    next(rows)
    return [tuple(row) for row in rows]


def _floor_parse(path: Path) -> dict[str, Any]:
    start = time.perf_counter()
    rows = _parse(path)
    return {"seconds": time.perf_counter() - start, "rows": len(rows)}


def _floor_copy(path: Path) -> dict[str, Any]:
    """COPY alone: the parsed good rows, countries from a dict, straight into the table."""
    from django.db import connection

    from tests.tabular.models_app.models import Country, Customer

    rows = _parse(path)
    countries = dict(Country.objects.values_list("code", "pk"))
    table = Customer._meta.db_table
    columns = ", ".join(Customer._meta.get_field(f).column for f in FIELDS)  # type: ignore[union-attr,misc]
    start = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for i, (
            name,
            email,
            phone,
            country,
            joined,
            balance,
            active,
            status,
            visits,
            seen,
        ) in enumerate(rows):
            if is_bad(i) and "-dirty-" in path.name:
                continue
            copy.write_row(
                (name, email, phone, countries[country], joined, Decimal(repr(balance)), active)
                + (status, int(visits), seen)
            )
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": Customer.objects.count()}


def _import_export(path: Path) -> dict[str, Any]:
    import tablib
    from import_export import fields, resources, widgets
    from import_export.instance_loaders import CachedInstanceLoader

    from tests.tabular.models_app.models import Country, Customer

    class CachedCountry(widgets.ForeignKeyWidget):  # type: ignore[type-arg]
        def __init__(self) -> None:
            super().__init__(Country, field="code")
            self.cache = {c.code: c for c in Country.objects.all()}

        def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Any:
            if not value:
                return None
            try:
                return self.cache[value]
            except KeyError:
                raise ValueError(f"No country {value!r}.") from None

    class CustomerResource(resources.ModelResource):  # type: ignore[type-arg]
        country = fields.Field(attribute="country", column_name="country", widget=CachedCountry())

        class Meta:
            model = Customer
            fields = FIELDS
            import_id_fields = ["email"]
            use_bulk = True
            skip_diff = True
            batch_size = 1000
            instance_loader_class = CachedInstanceLoader
            # Without the model's own checks one bad e-mail or negative count makes
            # PostgreSQL refuse a whole bulk batch (and the import stops).
            clean_model_instances = True

        def validate_instance(self, instance: Any, *args: Any, **kwargs: Any) -> None:
            # The unique check would cost one query per row; the instance loader has
            # already found existing rows by e-mail. The fastest setup that works.
            super().validate_instance(instance, *args, **{**kwargs, "validate_unique": False})

    with path.open("rb") as handle:
        dataset = tablib.Dataset().load(handle.read(), format="xlsx")
    dataset.headers = FIELDS
    # Without a transaction: its decimal widget's InvalidOperation counts as an error
    # (not a validation error) and would roll the whole import back; the good rows stay.
    result = CustomerResource().import_data(
        dataset, dry_run=False, raise_errors=False, use_transactions=False
    )
    failed = len(result.invalid_rows) + sum(1 for r in result.rows if r.errors)
    if os.environ.get("BENCH_DEBUG"):
        print(result.has_errors(), result.base_errors[:2], result.row_errors()[:2], file=sys.stderr)
        print(result.invalid_rows[:2] and result.invalid_rows[0].error_dict, file=sys.stderr)
    return {"rows": Customer.objects.count(), "failed": failed}


START = time.perf_counter()


def main() -> None:
    global START
    variant, path = sys.argv[1], Path(sys.argv[2])
    _setup()
    START = time.perf_counter()
    variants = {
        "bulkops": _bulkops,
        "floor_parse": _floor_parse,
        "floor_copy": _floor_copy,
        "import_export": _import_export,
    }
    extra = variants[variant](path)
    seconds = extra.pop("seconds", time.perf_counter() - START)
    peak_mb = extra.pop("peak_mb", None) or _peak_mb()
    print(json.dumps({"seconds": seconds, "peak_mb": round(peak_mb, 1), **extra}))


def _peak_mb() -> float:
    """The process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
