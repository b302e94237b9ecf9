"""Match the headers people write to the names a program expects."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

_NOT_ALNUM = re.compile(r"[\W_]+")


def normalize_header(text: str) -> str:
    """Fold case, accents, spaces and punctuation: "E-mail Address" -> "emailaddress"."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _NOT_ALNUM.sub("", bare.casefold())


def match_headers(
    headers: Iterable[str], candidates: Mapping[str, Iterable[str]]
) -> tuple[dict[int, str], list[int], dict[str, list[int]]]:
    """Map column positions to target keys.

    ``candidates`` gives every target key the names it answers to. Returns
    (position -> key, positions that matched nothing, key -> positions when a key
    matched more than one column).
    """
    lookup: dict[str, str] = {}
    for target, names in candidates.items():
        for name in names:
            folded = normalize_header(name)
            if folded:
                lookup.setdefault(folded, target)
    matched: dict[int, str] = {}
    unmatched: list[int] = []
    seen: dict[str, list[int]] = {}
    for position, header in enumerate(headers):
        key: str | None = lookup.get(normalize_header(header)) if header else None
        if key is None:
            if header:
                unmatched.append(position)
            continue
        seen.setdefault(key, []).append(position)
        matched.setdefault(position, key)
    duplicates = {key: positions for key, positions in seen.items() if len(positions) > 1}
    return matched, unmatched, duplicates
