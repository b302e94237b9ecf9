"""A CSV export opened in any locale: no cell starts a formula after any split."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from typing import Any

import pytest

import bulkops
from bulkops import runner
from bulkops.models import BulkTask

from .models_app.models import Customer

pytestmark = pytest.mark.django_db

HOSTILE = [
    "a;=cmd|' /C calc'!A0",
    "x,=1+2",
    'quote ";@SUM(A1:A9)',
    'tab\t+HYPERLINK("http://evil")',
    "line\n-2+3",
    "pipe|=2*3",
    '  "=HYPERLINK("http://evil")',
    "=plain formula",
]
SEPARATORS = [",", ";", "\t", "|"]
# A number is what a cell may start with "-" or "+" for; anything else is a formula.
NUMBER = re.compile(r"[+-]?[0-9 ().,/-]*[0-9][0-9 ().,/-]*")


def starts_formula(cell: str) -> bool:
    cell = cell.lstrip(' "')
    return cell[:1] in ("=", "+", "-", "@") and not NUMBER.fullmatch(cell.strip(' "'))


def test_export_opened_with_any_list_separator_has_no_formula(
    importer: Any, dummy_backend: Any, django_capture_on_commit_callbacks: Any
) -> None:
    for index, name in enumerate(HOSTILE):
        Customer.objects.create(
            name=name, email=f"c{index}@example.com", balance=Decimal("-12.50"), phone="+34 600"
        )
    with django_capture_on_commit_callbacks(execute=True):
        task = bulkops.submit(
            "export",
            user=importer,
            queryset=Customer.objects.order_by("pk"),
            params={"format": "csv", "fields": ["name", "balance", "phone"]},
        )
    runner.run(task.pk)
    task.refresh_from_db()
    assert task.status == BulkTask.Status.SUCCEEDED
    text = task.result_file.read().decode("utf-8-sig")
    for separator in SEPARATORS:
        # As a spreadsheet that honours the quotes would split it...
        parsed = [
            cell for row in csv.reader(io.StringIO(text), delimiter=separator) for cell in row
        ]
        # ...and as one that splits on the separator regardless of quotes and lines.
        naive = re.split(f"[{re.escape(separator)}\r\n]", text)
        for cell in parsed + naive:
            assert not starts_formula(cell), (separator, cell)
    # The comma-separated reading still gives back every value, an apostrophe where needed.
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["a;'=cmd|' /C calc'!A0", "-12.50", "+34 600"]
    assert rows[2][0] == "x,'=1+2"
    assert rows[8][0] == "'=plain formula"
