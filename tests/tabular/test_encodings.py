"""CSV text encodings: detected well beyond Western Europe, chosen by the user, never mojibake."""

from __future__ import annotations

import io
from typing import Any

import pytest

from bulkops.tabular import TableError, open_table

JAPANESE = (
    "名前,都市,メモ\n山田太郎,東京,営業部の担当者です\n佐藤花子,大阪,経理部\n"
    "鈴木一郎,名古屋,開発チーム\n"
)
CHINESE = "姓名,城市,备注\n张伟,北京,销售部门负责人\n王芳,上海,财务部\n李娜,广州,研发团队\n"
RUSSIAN = (
    "Имя;Город;Заметка\nИван Петров;Москва;отдел продаж\n"
    "Ольга Смирнова;Санкт-Петербург;бухгалтерия\n"
)
WESTERN = "Name;City\nJosé Müller;Zürich\nFrançois;Besançon\n"


def read(data: bytes, encoding: str | None = None) -> tuple[Any, list[list[Any]]]:
    table = open_table(io.BytesIO(data), filename="people.csv", encoding=encoding)
    return table, [values for _, values in table.rows()]


@pytest.mark.parametrize(
    ("text", "codec", "expected"),
    [
        (JAPANESE, "shift_jis", "cp932"),
        (CHINESE, "gbk", "gb18030"),
        (RUSSIAN, "cp1251", "cp1251"),
        (WESTERN, "cp1252", "cp1252"),
    ],
)
def test_codepages_are_detected_and_named_in_a_notice(text: str, codec: str, expected: str) -> None:
    table, rows = read(text.encode(codec))
    assert table.encoding == expected  # type: ignore[attr-defined]
    first, second = text.splitlines()[1:3]
    delimiter = ";" if ";" in first else ","
    assert rows[0] == first.split(delimiter)
    assert rows[1] == second.split(delimiter)
    [notice] = map(str, table.notices)  # type: ignore[attr-defined]
    assert "detected from its content" in notice


def test_utf8_with_one_bad_byte_is_refused_with_its_line() -> None:
    data = WESTERN.encode("utf-8") + "Zoë;Köln\n".encode() + b"Ren\xe9;Paris\n" + b"Ana;Sevilla\n"
    with pytest.raises(TableError) as info:
        read(data)
    assert info.value.code == "bad_encoding"
    assert "line 5" in info.value.message
    assert "UTF-8" in info.value.message
    assert "Jos" not in info.value.message  # no mojibake offered instead


def test_clean_utf8_has_no_notice() -> None:
    table, rows = read(JAPANESE.encode("utf-8"))
    assert table.encoding == "utf-8"  # type: ignore[attr-defined]
    assert table.notices == []  # type: ignore[attr-defined]
    assert rows[0][0] == "山田太郎"


def test_user_choice_overrides_detection() -> None:
    data = "Name;City\nŁukasz Żółć;Kraków\n".encode("cp1250")
    table, rows = read(data, encoding="cp1250")
    assert table.encoding == "cp1250"  # type: ignore[attr-defined]
    assert rows == [["Łukasz Żółć", "Kraków"]]
    assert table.notices == []  # type: ignore[attr-defined]


def test_chosen_encoding_that_does_not_fit_is_refused_with_line() -> None:
    data = b"a,b\nok,ok\nok,ok\n" + JAPANESE.encode("shift_jis")
    with pytest.raises(TableError) as info:
        read(data, encoding="utf-8")
    assert info.value.code == "bad_encoding"
    assert info.value.message.startswith(
        '"people.csv" does not read cleanly as UTF-8 (the encoding chosen): line 4 '
    )


def test_unknown_encoding_name_is_refused() -> None:
    with pytest.raises(TableError) as info:
        read(b"a,b\n1,2\n", encoding="klingon-8")
    assert info.value.code == "bad_encoding"


def test_first_non_ascii_text_far_down_a_big_file_is_detected() -> None:
    # 1.2 MB of plain ASCII, then Cyrillic: the head alone cannot tell the encoding.
    head = "Name;City;Note\n" + "Ivan;Moskva;ok\n" * 80_000
    data = (head + "Иван Петров;Москва;отдел продаж\n" * 50).encode("cp1251")
    table, rows = read(data)
    assert table.encoding == "cp1251"
    assert rows[-1] == ["Иван Петров", "Москва", "отдел продаж"]
