"""Exceptions raised by the tabular layer."""

from __future__ import annotations

from bulkops.texts import Text


class TableError(Exception):
    """A file that cannot be read as a table, or one that breaks a limit.

    ``text`` is written for the person who uploaded the file (a message id rendered in
    the reader's language, see bulkops.texts); ``message`` is that text in the active
    language; ``code`` is a stable identifier tests and callers can branch on.
    """

    def __init__(self, message: Text | str, *, code: str) -> None:
        super().__init__(message)
        self.text = message
        self.code = code

    @property
    def message(self) -> str:
        return str(self.text)

    def __str__(self) -> str:
        return self.message


class ConversionError(ValueError):
    """A cell value that does not fit the target type; the text is user-facing."""

    def __init__(self, message: Text | str) -> None:
        super().__init__(message)
        self.text = message

    @property
    def message(self) -> str:
        return str(self.text)

    def __str__(self) -> str:
        return self.message
