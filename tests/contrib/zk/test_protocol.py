"""The wire helpers agree with pyzk, the client the simulator must satisfy."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from zk import ZK
from zk.base import make_commkey as pyzk_make_commkey

from bulkops.contrib.zk import protocol as p
from bulkops.contrib.zk.records import parse_attendance
from bulkops.contrib.zk.text import decode_text, fit_bytes


def test_checksum_matches_pyzk() -> None:
    rng = random.Random(4370)
    pyzk_checksum = ZK("127.0.0.1")._ZK__create_checksum
    for length in [0, 1, 2, 3, 8, 9, 64, 1023, 4096]:
        for _ in range(20):
            data = bytes(rng.randrange(256) for _ in range(length))
            expected = int.from_bytes(pyzk_checksum(list(data)), "little")
            assert p.checksum(data) == expected, (length, data)
    assert p.checksum(b"\xff" * 64) == int.from_bytes(pyzk_checksum([255] * 64), "little")


@pytest.mark.parametrize("key", [0, 1, 123456, 999999])
@pytest.mark.parametrize("session", [1, 4370, 65534])
def test_commkey_matches_pyzk(key: int, session: int) -> None:
    assert p.make_commkey(key, session) == pyzk_make_commkey(key, session)
    assert p.commkey_matches(pyzk_make_commkey(key, session, ticks=77), key, session)
    assert not p.commkey_matches(pyzk_make_commkey(key + 1, session), key, session)


def test_time_round_trips() -> None:
    moment = datetime(2026, 2, 28, 23, 59, 58)
    for step in range(0, 400 * 86400, 86399):
        value = moment + timedelta(seconds=step)
        assert p.decode_time(p.encode_time(value)) == value
    assert ZK("127.0.0.1")._ZK__encode_time(moment) == p.encode_time(moment)


def test_decode_text_never_raises() -> None:
    assert decode_text("Zoë".encode()) == "Zoë"
    assert decode_text(b"Jos\xe9") == "José"  # cp1252 from an old keypad
    assert decode_text("Ångström".encode()[:2]) == "Å"
    cut = "Jürgen Müller-Lüdenschei".encode() + "é".encode()[:1]  # cut at 24 bytes
    assert decode_text(cut, limit=24) == "Jürgen Müller-Lüdenschei"
    assert decode_text(b"ok\x00garbage") == "ok"
    assert decode_text(b"\x81\x8d\xff") != ""


def test_fit_bytes_cuts_on_character_boundaries() -> None:
    assert fit_bytes("abc", 24) == b"abc"
    assert fit_bytes("é" * 20, 24) == ("é" * 12).encode()
    assert fit_bytes("aé", 2) == b"a"
    assert len(fit_bytes("日本語の名前" * 3, 24)) <= 24


def test_parse_attendance_takes_record_size_from_the_data() -> None:
    when = p.encode_time(datetime(2026, 3, 1, 8, 0)).to_bytes(4, "little")
    rec = p.ATT40.pack(1, b"77", 1, when, 0, b"\x00" * 8)
    data = (len(rec) * 3).to_bytes(4, "little") + rec * 3
    # Four records were counted before the download, three arrived: still 40 bytes.
    punches, skipped = parse_attendance(data, 4, {})
    assert [x.user_id for x in punches] == ["77"] * 3 and skipped == 0
    feb_31 = ((26 * 12 + 1) * 31 + 30) * 86400  # corrupt flash: 31 February 2026
    bad = p.ATT16.pack(5, feb_31.to_bytes(4, "little"), 1, 0, b"\x00\x00", 0)
    good = p.ATT16.pack(5, when, 1, 0, b"\x00\x00", 0)
    punches, skipped = parse_attendance((32).to_bytes(4, "little") + bad + good, 2, {})
    assert len(punches) == 1 and skipped == 1
    with pytest.raises(ValueError):
        parse_attendance((40).to_bytes(4, "little") + rec[:20], 1, {})
