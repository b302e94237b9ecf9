"""The two workbook engines behind ``open_table``: python-calamine and openpyxl."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import BinaryIO

from bulkops import texts

from .cells import CellValue
from .errors import TableError
from .limits import Limits
from .readers import Row, Table, _pick_sheet
from .scan import check_area
from .sniff import Detected


class CalamineTable(Table):
    def __init__(
        self,
        fp: BinaryIO,
        detected: Detected,
        filename: str,
        limits: Limits,
        sheet: str | int | None,
    ) -> None:
        super().__init__(fp, detected, filename, limits)
        import python_calamine

        try:
            workbook = python_calamine.CalamineWorkbook.from_filelike(fp)
        except python_calamine.PasswordError:
            raise TableError(
                texts.gettext(
                    '"%(file)s" is protected with a password. Remove the password and upload '
                    "it again.",
                    file=filename,
                ),
                code="encrypted",
            ) from None
        self._closers.append(workbook.close)
        self.sheet_names = list(workbook.sheet_names)
        metadata = list(workbook.sheets_metadata)
        usable = [
            m.visible == python_calamine.SheetVisibleEnum.Visible
            and m.typ == python_calamine.SheetTypeEnum.WorkSheet
            for m in metadata
        ]
        scans = [self._scan_for(detected, i) for i in range(len(self.sheet_names))]

        def has_data(index: int) -> bool:
            scan = scans[index]
            if scan is not None:
                return scan.cells > 0
            # .xls/.ods/.xlsb: only loading tells; their size is bounded by the zip scan.
            return workbook.get_sheet_by_index(index).end is not None

        index = _pick_sheet(filename, self.sheet_names, usable, sheet, has_data)
        self.sheet_name = self.sheet_names[index]
        self._scan = scans[index]
        if self._scan is not None:
            check_area(filename, self._scan, limits)
            self.may_hold_errors = bool(self._scan.errors)
        self._sheet = workbook.get_sheet_by_index(index)
        self._check_columns(self._sheet.width)
        end = self._sheet.end
        last_row = end[0] + 1 if end else 0
        if last_row - 1 > limits.max_rows:
            raise self._too_many_rows()
        self._take_header(self._records())
        self.row_count = max(last_row - self.header_row, 0)

    def _records(self) -> Iterator[tuple[int, Sequence[CellValue]]]:
        # iter_rows starts at sheet row 1 even when the data starts lower, but at the
        # first used column: numbering from 1 matches what Excel shows.
        start = self._sheet.start
        first = (start[1] + 1) if start else 1
        records = enumerate(self._sheet.iter_rows(), start=1)
        yield from self._inject_errors(records, self._scan, first)

    def rows(self, *, after: int = 0) -> Iterator[Row]:
        return self._shape(self._records(), after)

    def close(self) -> None:
        super().close()
        # The parsed sheet holds every cell: never keep it past the table's use.
        self.__dict__.pop("_sheet", None)


class OpenpyxlTable(Table):
    """Streams .xlsx in constant memory; slower than calamine but reads what it cannot."""

    def __init__(
        self,
        fp: BinaryIO,
        detected: Detected,
        filename: str,
        limits: Limits,
        sheet: str | int | None,
    ) -> None:
        super().__init__(fp, detected, filename, limits)
        import openpyxl

        workbook = openpyxl.load_workbook(fp, read_only=True, data_only=True, keep_links=False)
        self._closers.append(workbook.close)
        self.date1904 = workbook.epoch != openpyxl.utils.datetime.CALENDAR_WINDOWS_1900
        self.sheet_names = list(workbook.sheetnames)
        scans = [self._scan_for(detected, i) for i in range(len(self.sheet_names))]
        # Chart sheets are not in openpyxl's sheetnames; a sheet's scan tells if it has data.
        usable = [
            workbook[name].sheet_state == "visible" and scans[i] is not None
            for i, name in enumerate(self.sheet_names)
        ]

        def has_data(index: int) -> bool:
            scan = scans[index]
            return scan is not None and scan.cells > 0

        index = _pick_sheet(filename, self.sheet_names, usable, sheet, has_data)
        self.sheet_name = self.sheet_names[index]
        self._scan = scans[index]
        if self._scan is not None:
            check_area(filename, self._scan, limits)
            self.may_hold_errors = bool(self._scan.errors)
        self._worksheet = workbook[self.sheet_name]
        # Never the declared <dimension>: openpyxl would pad every row to it.
        self._worksheet.reset_dimensions()  # type: ignore[union-attr]
        self._take_header(self._records())
        scan = self._scan
        self.row_count = max(scan.last_row - self.header_row, 0) if scan else 0

    def _records(self) -> Iterator[tuple[int, Sequence[CellValue]]]:
        limit = self.limits.max_columns
        rows = self._worksheet.iter_rows(values_only=True)  # type: ignore[union-attr]
        for index, record in self._inject_errors(enumerate(rows, start=1), self._scan, 1):
            if len(record) > limit:
                while record and record[-1] is None:
                    record = record[:-1]
                self._check_columns(len(record))
            yield index, record

    def rows(self, *, after: int = 0) -> Iterator[Row]:
        return self._shape(self._records(), after)
