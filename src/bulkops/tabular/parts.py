"""Which sheets a workbook holds and which zip member each one is (.xlsx, .xlsb)."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass

_SHEET_RE = re.compile(r"<(?:\w+:)?sheet\b([^>]*)>")
_ATTR_RE = re.compile(r"([\w:]+)\s*=\s*\"([^\"]*)\"")
_REL_RE = re.compile(r"<(?:\w+:)?Relationship\b([^>]*)>")


@dataclass(frozen=True)
class SheetRef:
    name: str
    path: str | None
    """Zip member of the sheet XML (xlsx only)."""
    xml_size: int = 0
    """Declared uncompressed size of that XML."""


def _read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    with archive.open(name) as member:
        return member.read(limit)


def _xlsx_sheets(
    archive: zipfile.ZipFile, workbook_xml: str, names: set[str]
) -> tuple[SheetRef, ...]:
    targets: dict[str, str] = {}
    if "xl/_rels/workbook.xml.rels" in names:
        rels = _read_member(archive, "xl/_rels/workbook.xml.rels", 4 * 1024 * 1024)
        for match in _REL_RE.finditer(rels.decode("utf-8", "replace")):
            attrs = dict(_ATTR_RE.findall(match.group(1)))
            target = attrs.get("Target", "")
            target = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            targets[attrs.get("Id", "")] = target
    sheets = []
    for match in _SHEET_RE.finditer(workbook_xml):
        attrs = dict(_ATTR_RE.findall(match.group(1)))
        rel_id = next((v for k, v in attrs.items() if k.endswith(":id")), "")
        path = targets.get(rel_id)
        found = path if path in names else None
        size = archive.getinfo(found).file_size if found else 0
        sheets.append(SheetRef(_unescape(attrs.get("name", "")), found, size))
    return tuple(sheets)


def _rel_targets(archive: zipfile.ZipFile, rels_path: str, names: set[str]) -> dict[str, str]:
    targets: dict[str, str] = {}
    if rels_path in names:
        rels = _read_member(archive, rels_path, 4 * 1024 * 1024)
        for match in _REL_RE.finditer(rels.decode("utf-8", "replace")):
            attrs = dict(_ATTR_RE.findall(match.group(1)))
            target = attrs.get("Target", "")
            target = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            targets[attrs.get("Id", "")] = target
    return targets


def _xlsb_sheets(archive: zipfile.ZipFile, names: set[str]) -> tuple[SheetRef, ...]:
    """Sheet names and parts from the BrtBundleSh records of ``xl/workbook.bin``."""
    targets = _rel_targets(archive, "xl/_rels/workbook.bin.rels", names)
    book = _read_member(archive, "xl/workbook.bin", 4 * 1024 * 1024)
    sheets = []
    position = 0
    while position < len(book):
        kind, position = _xlsb_varint(book, position, 2)
        size, position = _xlsb_varint(book, position, 4)
        if position < 0:
            break
        body = book[position : position + size]
        position += size
        if kind == 0x9C and len(body) >= 12:
            rel_id, offset = _xlsb_text(body, 8)
            name, _ = _xlsb_text(body, offset)
            path = targets.get(rel_id)
            sheets.append(SheetRef(name, path if path in names else None))
    return tuple(sheets)


def _xlsb_varint(data: bytes, position: int, most: int) -> tuple[int, int]:
    from .scan import _varint  # the one BIFF12 varint reader

    if position < 0:
        return 0, -1
    return _varint(data, position, most)


def _xlsb_text(body: bytes, offset: int) -> tuple[str, int]:
    count = int.from_bytes(body[offset : offset + 4], "little")
    if count == 0xFFFFFFFF:
        return "", offset + 4
    end = offset + 4 + 2 * count
    return body[offset + 4 : end].decode("utf-16-le", "replace"), end


def _unescape(text: str) -> str:
    return (
        text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", '"')
        .replace("&apos;", "'")
        .replace("&amp;", "&")
    )
