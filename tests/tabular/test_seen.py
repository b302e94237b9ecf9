"""Repeats within a file are found by exact value, the same in every process."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bulkops.operations import seen
from bulkops.operations.seen import SeenValues, encode

KEYS = st.one_of(
    st.tuples(st.integers()),
    st.tuples(st.text()),
    st.tuples(st.decimals(allow_nan=False, allow_infinity=False)),
    st.tuples(st.text(), st.integers()),
    st.tuples(st.text(), st.text()),
)


@given(KEYS, KEYS)
def test_two_keys_share_an_encoding_only_when_equal(a: tuple[Any, ...], b: tuple[Any, ...]) -> None:
    same_shape = [type(x) for x in a] == [type(y) for y in b]
    if same_shape:
        assert (encode(a) == encode(b)) == (a == b)
    else:
        assert encode(a) != encode(b) or a == b


def test_keys_that_share_a_python_hash_are_different_keys() -> None:
    assert hash((-1,)) == hash((-2,))  # why hash() cannot be the test
    store = SeenValues()
    assert store.check_and_add(0, [encode((-1,)), encode((-2,)), encode((-1,))]) == [
        False,
        False,
        True,
    ]
    assert encode((Decimal("1.50"),)) == encode((Decimal("1.5"),))
    assert encode(("a", "b,c")) != encode(("a,b", "c"))


def test_encoding_does_not_depend_on_the_process() -> None:
    code = (
        "from bulkops.operations.seen import encode; "
        "print(encode(('IMP-1', 7)).hex(), encode(('Ünïcode',)).hex())"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": seed, "PYTHONPATH": ":".join(sys.path)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1


@pytest.mark.parametrize("returning", [True, False], ids=["insert-returning", "select-insert"])
def test_past_its_memory_limit_the_store_moves_to_disk_and_stays_exact(
    returning: bool, monkeypatch: Any
) -> None:
    # SQLite before 3.35 has no RETURNING: the store then selects, then inserts.
    monkeypatch.setattr(seen, "_RETURNING", returning)
    store = SeenValues(memory_limit=100)
    first = store.check_and_add(0, [encode((i,)) for i in range(80)])
    assert not any(first)
    mixed = [encode((i,)) for i in range(60, 200)] + [encode((150,))]
    flags = store.check_and_add(0, mixed)  # spills here
    assert store._db is not None
    assert flags == [True] * 20 + [False] * 120 + [True]
    assert store.check_and_add(1, [encode((5,))]) == [False]  # groups are apart
    assert store.check_and_add(0, [encode((5,)), encode((500,))]) == [True, False]
    assert len(store) == 202
    # More values than one statement takes, repeats across its parts and within them.
    many = [encode((i,)) for i in range(150, 1_000)] + [encode((999,)), encode((3,))]
    flags = store.check_and_add(0, many)
    # 150-199 and 500 were met before; 999 and 3 repeat.
    assert flags == [True] * 50 + [False] * 300 + [True] + [False] * 499 + [True, True]
    assert len(store) == 1_001
    store.close()
