"""Which text encoding a CSV file is in, and what to tell the user about it.

Detection beyond UTF-8 uses charset-normalizer (a maintained detector that covers
Cyrillic, Greek, CJK, Arabic... codepages) instead of a hand-written list. Whatever
is picked, detected or chosen by the user, the whole file must decode cleanly in it:
a byte that does not is refused with its line number, never turned into mojibake.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from collections.abc import Iterable
from typing import BinaryIO

from bulkops import texts

from .errors import TableError

# What the upload form offers, and the names shown in messages.
ENCODINGS: dict[str, str] = {
    "utf-8": "UTF-8",
    "utf-16": "UTF-16",
    "cp1252": "Windows-1252 (Western European)",
    "latin-1": "ISO-8859-1 (Latin-1)",
    "iso8859-15": "ISO-8859-15 (Latin-9)",
    "cp1250": "Windows-1250 (Central European)",
    "cp1251": "Windows-1251 (Cyrillic)",
    "koi8-r": "KOI8-R (Russian)",
    "cp1253": "Windows-1253 (Greek)",
    "cp1254": "Windows-1254 (Turkish)",
    "cp1255": "Windows-1255 (Hebrew)",
    "cp1256": "Windows-1256 (Arabic)",
    "cp1257": "Windows-1257 (Baltic)",
    "cp1258": "Windows-1258 (Vietnamese)",
    "cp874": "Windows-874 (Thai)",
    "cp932": "Shift-JIS (Japanese)",
    "euc-jp": "EUC-JP (Japanese)",
    "gb18030": "GB18030 / GBK (Simplified Chinese)",
    "big5": "Big5 (Traditional Chinese)",
    "cp949": "EUC-KR / CP949 (Korean)",
    "mac-roman": "Mac OS Roman",
    "cp437": "DOS 437 (US)",
    "cp850": "DOS 850 (Western European)",
}
# Supersets that Windows really writes under the older names.
_WIDER = {
    "shift_jis": "cp932",
    "shift_jis_2004": "cp932",
    "shift_jisx0213": "cp932",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "hz": "gb18030",
    "euc_kr": "cp949",
    "ascii": "utf-8",
    "iso8859_1": "cp1252",
    "latin_1": "cp1252",
}
# The detector often ties look-alike codepages (cp1250 and cp1252 read "Jos\xe9" the
# same way); a tie, or a guess that reads the sample to the same text, lands on the
# first of these, the codepages most files are really in. The preview names the
# encoding used, and the user can choose another at upload.
_COMMON = ("cp1252", "cp1251", "cp1250")
SAMPLE = 512 * 1024
_NON_ASCII_LINE = re.compile(rb"[^\n]*[\x80-\xff][^\n]*\n?")


def canonical(name: str) -> str:
    """Python's codec name for ``name`` (raises LookupError for an unknown one)."""
    normal = codecs.lookup(name).name
    return _WIDER.get(normal.replace("-", "_"), normal)


def label(name: str) -> str:
    try:
        normal = codecs.lookup(name).name
    except LookupError:
        return name
    for key, text in ENCODINGS.items():
        if codecs.lookup(key).name == normal:
            return text
    return name.upper()


def detect(sample: bytes) -> list[str]:
    """Candidate encodings for ``sample``, best first (empty when nothing fits)."""
    from charset_normalizer import from_bytes

    cut = sample.rfind(b"\n") + 1 if len(sample) >= SAMPLE else len(sample)
    sample = sample[: cut or len(sample)]
    # Only lines with non-ASCII bytes tell codepages apart; thousands of ASCII lines
    # around a few Cyrillic ones make the detector guess a Latin codepage.
    telling = b"".join(_NON_ASCII_LINE.findall(sample))
    sample = telling or sample
    results = list(from_bytes(sample, explain=False))
    names: list[str] = []
    for match in results:
        try:
            name = canonical(match.encoding)
        except LookupError:
            continue
        if name not in names:
            names.append(name)
    if not names:
        return names
    best = (results[0].chaos, results[0].coherence)
    tied = set()
    for match in results:
        if (match.chaos, match.coherence) == best:
            with contextlib.suppress(LookupError):
                tied.add(canonical(match.encoding))
    try:
        text = sample.decode(names[0])
    except (UnicodeDecodeError, LookupError):
        text = None
    for common in _COMMON:
        if common == names[0]:
            break
        same = False
        if text is not None:
            try:
                same = sample.decode(common) == text
            except UnicodeDecodeError:
                same = False
        if common in tied or same:
            return [common, *[n for n in names if n != common]]
    return names


def first_bad_line(fp: BinaryIO, encoding: str, *, block: int = 1024 * 1024) -> int | None:
    """1-based line of the first byte that does not decode in ``encoding``; None if clean."""
    fp.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 0
    newline = b"\n\x00" if encoding in ("utf-16", "utf-16-le") else b"\n"
    try:
        while data := fp.read(block):
            try:
                decoder.decode(data)
            except UnicodeDecodeError as exc:
                return lines + data[: max(exc.start, 0)].count(newline) + 1
            lines += data.count(newline)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return lines + 1
    finally:
        fp.seek(0)
    return None


def refuse(filename: str, encoding: str, line: int, *, chosen: bool) -> TableError:
    how = texts.gettext("the encoding chosen") if chosen else texts.gettext("its detected encoding")
    return TableError(
        texts.gettext(
            '"%(file)s" does not read cleanly as %(encoding)s (%(how)s): line %(line)s '
            "holds bytes that are not text in it. Choose the file's encoding when uploading, "
            'or save it again as "CSV UTF-8" and upload the new copy.',
            file=filename,
            encoding=label(encoding),
            how=how,
            line=line,
        ),
        code="bad_encoding",
    )


def choices() -> Iterable[tuple[str, str]]:
    return ENCODINGS.items()
