"""Exceptions raised by the tabular layer."""

from __future__ import annotations


class TableError(Exception):
    """A file that cannot be read as a table, or one that breaks a limit.

    ``message`` is written for the person who uploaded the file; ``code`` is a
    stable identifier tests and callers can branch on.
    """

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message


class ConversionError(ValueError):
    """A cell value that does not fit the target type; the text is user-facing."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
