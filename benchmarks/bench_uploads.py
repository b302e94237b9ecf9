"""Uploads: hostile files and the largest accepted workbook through the one parse.

Each file runs in its own child process (``tests/tabular/budget_child.py``), which
reports seconds and peak memory over its own baseline (native allocations included).
Target from issue 12: every file refused or read in under 10 s and 300 MB, and three
concurrent previews of the worst accepted file under the same in total.
"""

from __future__ import annotations

import struct
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from tests.tabular.test_upload_budget import LAUGHS, header, lying_zip, rows_xml, sheet
from tests.tabular.workbooks import ods_raw, raw_xlsx, xls_bytes, xlsb_bytes

SECONDS, MEGABYTES = 10.0, 300.0


def _files(folder: Path, rows: int) -> dict[str, tuple[Path, str]]:
    def put(name: str, data: bytes) -> tuple[Path, str]:
        path = folder / name
        path.write_bytes(data)
        return path, name

    laughs = sheet(
        header(1) + b'<row r="2"><c r="A2" t="inlineStr"><is><t>&lol9;</t></is></c></row>',
        prolog=LAUGHS,
    )
    strings = b'<?xml version="1.0"?><sst xmlns="x">' + b"<si><t>x</t></si>" * 2_000_000 + b"</sst>"
    far = b'<row r="900000"><c r="XFD900000"><v>1</v></c></row>'
    ods_repeat = (
        '<table:table-row table:number-rows-repeated="1000000"><table:table-cell '
        'office:value-type="float" office:value="1" table:number-columns-repeated="100"/>'
        "</table:table-row>"
    )
    return {
        "billion laughs in a sheet": put("laughs.xlsx", raw_xlsx([("S", laughs)])),
        "2,000,000 shared strings (stored)": put(
            "strings.xlsx",
            raw_xlsx(
                [("S", sheet(header(1)))], shared_strings=strings, compress=zipfile.ZIP_STORED
            ),
        ),
        "A1 and XFD900000 (.xlsx)": put("far.xlsx", raw_xlsx([("S", sheet(header(1) + far))])),
        "A1 and XFD900001 (.xlsb)": put(
            "far.xlsb", xlsb_bytes([["Name"], ["Ann"]], far_cell=(900_000, 16383))
        ),
        "10^8 repeated cells (.ods, 1 KB)": put("repeat.ods", ods_raw(ods_repeat)),
        "A1 and IV65536 (.xls, 4 KB)": put("far.xls", _far_xls()),
        "zip directory lying about a size": (lying_zip(folder), "lying.xlsx"),
        f"{rows:,} rows x 5 behind <dimension A1:B2>": put(
            "worst.xlsx",
            raw_xlsx([("S", sheet(header() + rows_xml(rows), dimension="A1:B2"))]),
        ),
    }


def _far_xls() -> bytes:
    data = xls_bytes([("Far", [["Name", 1]])])
    number = data.find(struct.pack("<HH", 0x0203, 14))
    return data[: number + 4] + struct.pack("<HH", 65535, 255) + data[number + 8 :]


def run(report: Any, args: Any) -> None:
    from tests.tabular.test_upload_budget import run_child

    rows = 100_000 if args.quick else 590_000  # 590,000 x 5 is just under MAX_CELLS
    with tempfile.TemporaryDirectory() as folder:
        files = _files(Path(folder), rows)
        worst: Path | None = None
        for label, (path, filename) in files.items():
            stored = Path(folder) / f"{path.name}.rows"
            result = _measure(run_child, path, filename, "stage", str(stored))
            note = result.get("code") or f"{result.get('rows', 0):,} rows read"
            _add(report, label, result, note)
            if result["outcome"] == "read":
                worst = stored
        if worst is not None:
            result = _measure(run_child, worst, "worst.xlsx", "preview")
            _add(report, "3 concurrent previews of the worst", result, "from the stored rows")


def _measure(run_child: Any, *args: Any) -> dict[str, Any]:
    import tests.tabular.test_upload_budget as budget

    # The benchmark reports the numbers; the test suite is the one that asserts them.
    budget.SECONDS, budget.EXTRA_MB = 10**6, 10**6
    return dict(run_child(*args))


def _add(report: Any, label: str, result: dict[str, Any], note: str) -> None:
    report.add(
        "uploads",
        f"{label}: time",
        result["seconds"],
        "s",
        target=f"<= {SECONDS:g} s",
        ok=result["seconds"] <= SECONDS,
        note=f"{result['outcome']}: {note}",
    )
    report.add(
        "uploads",
        f"{label}: memory",
        result["extra_mb"],
        "MB",
        target=f"<= {MEGABYTES:g} MB",
        ok=result["extra_mb"] <= MEGABYTES,
    )
