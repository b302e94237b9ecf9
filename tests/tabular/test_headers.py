from __future__ import annotations

import pytest

from bulkops.tabular import match_headers, normalize_header


@pytest.mark.parametrize(
    "header",
    [
        "E-mail Address",
        "email_address",
        "Email address",
        "  EMAIL  ADDRESS ",
        "e.mail-address",
        "Émail Áddress",
        "email\u00a0address",
    ],
)
def test_normalize_folds_case_accents_spaces_punctuation(header: str) -> None:
    assert normalize_header(header) == "emailaddress"


def test_normalize_keeps_non_latin_letters() -> None:
    assert normalize_header("Имя клиента") == "имяклиента"


def test_match_headers() -> None:
    candidates = {"email": ["email", "e-mail address"], "name": ["name", "full name"]}
    matched, unmatched, duplicates = match_headers(
        ["Full Name", "E-mail Address", "Notes", ""], candidates
    )
    assert matched == {0: "name", 1: "email"}
    assert unmatched == [2]
    assert duplicates == {}


def test_duplicate_columns_reported() -> None:
    matched, _, duplicates = match_headers(["Email", "E-mail"], {"email": ["email", "e-mail"]})
    assert duplicates == {"email": [0, 1]}
    assert matched == {0: "email", 1: "email"}
