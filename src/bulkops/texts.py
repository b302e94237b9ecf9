"""Texts for people, kept as a message id with parameters until someone reads them.

A task's message and stage and a row error's reason are written by a worker that
knows nothing of who will read them. They are stored twice: as English text (what a
query, the shell or an old version of bulkops reads) and as ``{"id", "params"}`` in
the ``*_data`` column next to it. Pages, the admin and the JSON API render the id in
the *reader's* language, with numbers formatted for the reader's locale.

``texts.gettext`` and ``texts.ngettext`` are named after their Django counterparts so
``makemessages`` finds their message ids; unlike them, they translate nothing when
called: they return a :class:`Text`, which translates each time it is rendered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

from django.utils import formats, translation
from django.utils.functional import Promise

Param = Union[str, int, float, "Text", None]

# Parameters that name a position, not an amount: "Row 12034", never "Row 12,034".
UNGROUPED = frozenset({"row", "line", "year", "port", "position"})


class Text:
    """A message id (with an optional plural form) and its parameters."""

    __slots__ = ("count", "msgid", "params", "plural")

    def __init__(
        self,
        msgid: str,
        params: Mapping[str, Param] | None = None,
        *,
        plural: str = "",
        count: int | None = None,
    ) -> None:
        self.msgid = msgid
        self.plural = plural
        self.count = count
        self.params = dict(params or {})

    def render(self, *, translate: bool = True) -> str:
        """The text in the active language, or in English with ``translate=False``."""
        if self.plural:
            count = self.count or 0
            if translate:
                template = translation.ngettext(self.msgid, self.plural, count)
            else:
                template = self.msgid if count == 1 else self.plural
        else:
            template = translation.gettext(self.msgid) if translate else self.msgid
        if not self.params and self.count is None:
            return template
        values = {name: _shown(name, value, translate) for name, value in self.params.items()}
        if self.count is not None and "count" not in values:
            values["count"] = _shown("count", self.count, translate)
        try:
            return template % values
        except (KeyError, TypeError, ValueError):
            # A translation that lost a placeholder must not hide the message.
            return self.msgid % values if translate else template

    @property
    def english(self) -> str:
        return self.render(translate=False)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"Text({self.english!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Text):
            return self.as_json() == other.as_json()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.msgid)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.msgid}
        if self.plural:
            data["plural"] = self.plural
        if self.count is not None:
            data["count"] = self.count
        if self.params:
            data["params"] = {name: _encoded(value) for name, value in self.params.items()}
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Text:
        params = {name: _decoded(value) for name, value in (data.get("params") or {}).items()}
        return cls(str(data["id"]), params, plural=data.get("plural", ""), count=data.get("count"))


def gettext_noop(msgid: str, /) -> str:
    """Mark ``msgid`` for ``makemessages`` without Django's settings (module constants)."""
    return msgid


def gettext(msgid: str, /, **params: Param) -> Text:
    """A text to render later in the reader's language (``makemessages`` finds ``msgid``)."""
    return Text(msgid, params)


def ngettext(singular: str, plural: str, count: int, /, **params: Param) -> Text:
    """Like :func:`gettext`, with a plural form chosen by ``count`` (``%(count)s``)."""
    return Text(singular, params, plural=plural, count=count)


def join(parts: list[Text | str], separator: str = "; ") -> Text | str:
    """Several texts shown as one, each in the reader's language."""
    if len(parts) == 1:
        return parts[0]
    names = {f"p{i}": part for i, part in enumerate(parts)}
    return Text(separator.join(f"%({name})s" for name in names), names)


def label(value: Any) -> Text | str:
    """A verbose name or other lazy text, kept as its message id; plain text as it is."""
    if isinstance(value, Promise):
        with translation.override("en"):
            return Text(str(value))
    return "" if value is None else str(value)


# Storage: the English text column and its *_data companion ---------------------------


def stored(value: Text | str | None, limit: int | None = None) -> tuple[str, dict[str, Any]]:
    """What to write in a text column and its ``*_data`` column."""
    if value is None:
        return "", {}
    if isinstance(value, Text):
        text = value.english
        if limit and len(text) > limit:
            text = text[: limit - 1] + "…"
        return text, value.as_json()
    text = str(value)
    return (text[:limit] if limit else text), {}


def restored(text: str, data: Mapping[str, Any] | None) -> Text | str:
    """The stored text as a :class:`Text` again, or as the plain text it was stored as.

    The id is used only while it still matches the English text beside it: a row
    written by older code, or by code that set only the text column, keeps its text.
    """
    if not data or "id" not in data:
        return text
    try:
        message = Text.from_json(data)
        english = message.english
    except (KeyError, TypeError, ValueError):
        return text
    if english != text and not (text.endswith("…") and english.startswith(text[:-1])):
        return text
    return message


def shown(text: str, data: Mapping[str, Any] | None) -> str:
    """The stored text in the reader's language (see :func:`restored`)."""
    return str(restored(text, data))


def fields(**values: Text | str | None) -> dict[str, Any]:
    """``message=..., stage=...`` as the column values of an UPDATE (text and data)."""
    from bulkops.models import BulkTask

    out: dict[str, Any] = {}
    for name, value in values.items():
        limit = getattr(BulkTask._meta.get_field(name), "max_length", None)
        out[name], out[f"{name}_data"] = stored(value, limit)
    return out


# Parameters ------------------------------------------------------------------------


def _shown(name: str, value: Param, translate: bool) -> str:
    if isinstance(value, Text):
        return value.render(translate=translate)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    grouping = "," if name not in UNGROUPED else ""
    if not translate:
        return format(value, f"{grouping}g" if isinstance(value, float) else grouping)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return formats.number_format(value, force_grouping=name not in UNGROUPED)


def _encoded(value: Param) -> Any:
    if isinstance(value, Text):
        return {"text": value.as_json()}
    if value is None or isinstance(value, str | int | float):
        return value
    return str(value)


def _decoded(value: Any) -> Param:
    if isinstance(value, dict) and "text" in value:
        return Text.from_json(value["text"])
    if value is None or isinstance(value, str | int | float):
        return value
    return str(value)
