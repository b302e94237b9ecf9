"""The used area and error cells of an .xls, read from its records before calamine loads it.

calamine turns a sheet into one dense rectangle: an .xls with values at A1 and IV65536
would take 16.7 million cells (537 MB). This reads the compound file's ``Workbook``
stream (in constant memory per sector) and walks the BIFF records of each sheet.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from .scan import SheetScan

FREE, END = 0xFFFFFFFF, 0xFFFFFFFE
# Cell records that carry (row, column) first: NUMBER, LABEL, LABELSST, RK, BOOLERR,
# FORMULA, RSTRING; MULRK spans columns first..last; BLANK/MULBLANK hold no value.
_CELLS = frozenset((0x0203, 0x0204, 0x00FD, 0x027E, 0x0205, 0x0006, 0x00D6))
_MULRK = 0x00BD
_ERRORS = {
    0x00: "#NULL!",
    0x07: "#DIV/0!",
    0x0F: "#VALUE!",
    0x17: "#REF!",
    0x1D: "#NAME?",
    0x24: "#NUM!",
    0x2A: "#N/A",
}


class NotReadable(ValueError):
    """The container is not a compound file this reader understands."""


def workbook_stream(fp: BinaryIO, size: int) -> bytes:
    """The ``Workbook`` (or BIFF5 ``Book``) stream of a compound file."""
    fp.seek(0)
    header = fp.read(512)
    if len(header) < 512:
        raise NotReadable
    shift, mini_shift = struct.unpack_from("<HH", header, 0x1E)
    if shift not in (9, 12) or mini_shift != 6:
        raise NotReadable
    sector = 1 << shift
    fat_count, first_dir, _, cutoff, first_mini, _, first_difat, difat_count = struct.unpack_from(
        "<8I", header, 0x2C
    )
    last_sector = (size - 512) // sector + 1

    def read_sector(number: int) -> bytes:
        if number >= last_sector:
            raise NotReadable
        fp.seek(512 + number * sector if shift == 9 else sector * (number + 1))
        return fp.read(sector)

    difat = list(struct.unpack_from("<109I", header, 0x4C))
    next_difat, seen = first_difat, 0
    while next_difat not in (FREE, END) and seen < difat_count and seen <= last_sector:
        block = struct.unpack(f"<{sector // 4}I", read_sector(next_difat))
        difat.extend(block[:-1])
        next_difat, seen = block[-1], seen + 1
    fat: list[int] = []
    for number in difat[:fat_count]:
        if number in (FREE, END):
            break
        fat.extend(struct.unpack(f"<{sector // 4}I", read_sector(number)))

    def chain(first: int) -> list[int]:
        out: list[int] = []
        number = first
        while number not in (FREE, END):
            if number >= len(fat) or len(out) > last_sector:
                raise NotReadable  # a loop or a number past the end
            out.append(number)
            number = fat[number]
        return out

    directory = b"".join(read_sector(n) for n in chain(first_dir))
    entries = {}
    root_start, root_size = END, 0
    for offset in range(0, len(directory) - 127, 128):
        entry = directory[offset : offset + 128]
        length, kind = struct.unpack_from("<HB", entry, 64)
        name = entry[: max(length - 2, 0)].decode("utf-16-le", "replace")
        start, stream_size = struct.unpack_from("<II", entry, 116)
        if kind == 5:
            root_start, root_size = start, stream_size
        elif kind == 2:
            entries[name] = (start, stream_size)
    found = entries.get("Workbook") or entries.get("Book")
    if found is None:
        raise NotReadable
    start, stream_size = found
    if stream_size >= cutoff:
        data = b"".join(read_sector(n) for n in chain(start))
        return data[:stream_size]
    # Small streams live in 64-byte sectors inside the root entry's stream.
    mini_fat: list[int] = []
    for number in chain(first_mini) if first_mini not in (FREE, END) else []:
        mini_fat.extend(struct.unpack(f"<{sector // 4}I", read_sector(number)))
    mini = b"".join(read_sector(n) for n in chain(root_start))[:root_size]
    out: list[bytes] = []
    number = start
    while number not in (FREE, END) and len(out) * 64 < stream_size:
        if number >= len(mini_fat):
            raise NotReadable
        out.append(mini[number * 64 : number * 64 + 64])
        number = mini_fat[number]
    return b"".join(out)[:stream_size]


def scan_sheets(stream: bytes) -> list[tuple[str, int, SheetScan]]:
    """(name, sheet type, scan) of every sheet, in workbook order (type 0: worksheet)."""
    sheets: list[tuple[str, int, int]] = []
    position = 0
    while position + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, position)
        body = stream[position + 4 : position + 4 + size]
        position += 4 + size
        if kind == 0x0085 and len(body) >= 8:  # BOUNDSHEET8
            offset, _state, sheet_type, count, high = struct.unpack_from("<IBBBB", body)
            raw = body[8 : 8 + count * (2 if high else 1)]
            name = raw.decode("utf-16-le" if high else "latin-1", "replace")
            sheets.append((name, sheet_type, offset))
        elif kind == 0x000A:  # EOF of the globals
            break
    return [(name, kind, _scan_sheet(stream, offset)) for name, kind, offset in sheets]


def _scan_sheet(stream: bytes, position: int) -> SheetScan:
    scan = SheetScan()
    depth = 0
    while position + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, position)
        body = stream[position + 4 : position + 4 + size]
        position += 4 + size
        if kind == 0x0809:
            depth += 1
        elif kind == 0x000A:
            depth -= 1
            if depth <= 0:
                break
        elif depth == 1 and kind in _CELLS and size >= 4:
            row, column = struct.unpack_from("<HH", body)
            scan.add(row + 1, row + 1, column + 1, column + 1, 1)
            if kind == 0x0205 and size >= 8 and body[7] == 1:  # BOOLERR holding an error
                scan.errors[(row + 1, column + 1)] = _ERRORS.get(body[6], "#ERROR")
            elif kind == 0x0006 and size >= 14 and body[6] == 2 and body[12:14] == b"\xff\xff":
                scan.errors[(row + 1, column + 1)] = _ERRORS.get(body[8], "#ERROR")
        elif depth == 1 and kind == _MULRK and size >= 6:
            row, first = struct.unpack_from("<HH", body)
            (last,) = struct.unpack_from("<H", body, size - 2)
            scan.add(row + 1, row + 1, first + 1, last + 1, max(last - first + 1, 1))
    return scan


_SST, _CONTINUE = 0x00FC, 0x003C


def count_shared_strings(stream: bytes, most: int) -> int:
    """The strings of the workbook's shared string table, counted up to ``most + 1``.

    calamine reads every one into its own allocation when it opens the file, and an
    empty one is 3 bytes of the stream: a 50 MB .xls could hold 16 million. A table of
    fewer than ``3 * (most + 1)`` bytes cannot hold more than ``most`` and is not walked.
    """
    segments = _sst_segments(stream)
    if sum(map(len, segments)) - 8 < 3 * (most + 1):
        return 0
    strings = _Segments([segments[0][8:], *segments[1:]])  # after cstTotal, cstUnique
    count = 0
    try:
        while count <= most and strings.more():
            # XLUnicodeRichExtendedString: cch, flags, [cRun], [cbExtRst], characters
            # (a CONTINUE that cuts them starts with a flags byte of its own), runs, ext.
            cch = int.from_bytes(strings.take(2), "little")
            flags = strings.take(1)[0]
            runs = int.from_bytes(strings.take(2), "little") if flags & 0x08 else 0
            extra = int.from_bytes(strings.take(4), "little") if flags & 0x04 else 0
            strings.characters(cch, wide=bool(flags & 0x01))
            strings.skip(4 * runs + extra)
            count += 1
    except EOFError:
        pass
    return count


def _sst_segments(stream: bytes) -> list[bytes]:
    """The bodies of the globals' SST record and the CONTINUE records behind it."""
    segments: list[bytes] = []
    position = 0
    while position + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, position)
        body = stream[position + 4 : position + 4 + size]
        position += 4 + size
        if kind == _SST:
            segments = [body]
        elif kind == _CONTINUE and segments:
            segments.append(body)
        elif segments or kind == 0x000A:  # the table has ended, or the globals have
            break
    return segments


class _Segments:
    """Reads across record bodies, as the string table is split over CONTINUE records."""

    def __init__(self, segments: list[bytes]) -> None:
        self.segments = segments
        self.index = 0
        self.position = 0

    def more(self) -> bool:
        while self.index < len(self.segments):
            if self.position < len(self.segments[self.index]):
                return True
            self.index, self.position = self.index + 1, 0
        return False

    def take(self, count: int) -> bytes:
        out = b""
        while len(out) < count:
            if not self.more():
                raise EOFError
            segment = self.segments[self.index]
            piece = segment[self.position : self.position + count - len(out)]
            self.position += len(piece)
            out += piece
        return out

    def skip(self, count: int) -> None:
        while count > 0:
            if not self.more():
                raise EOFError
            piece = min(count, len(self.segments[self.index]) - self.position)
            self.position += piece
            count -= piece

    def characters(self, count: int, *, wide: bool) -> None:
        while count > 0:
            if not self.more():
                raise EOFError
            room = (len(self.segments[self.index]) - self.position) // (2 if wide else 1)
            if room == 0:  # a character never straddles two records
                self.index, self.position = self.index + 1, 0
                wide = bool(self.take(1)[0] & 0x01)
                continue
            piece = min(count, room)
            self.position += piece * (2 if wide else 1)
            count -= piece
            if count and self.position >= len(self.segments[self.index]):
                self.index, self.position = self.index + 1, 0
                wide = bool(self.take(1)[0] & 0x01)
