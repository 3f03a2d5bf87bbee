"""Deterministic client order ids: charset, determinism, uniqueness and parsing."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.client_ids import (
    MAX_LENGTH,
    ClientOrderIdSequence,
    client_order_id,
    parse_sequence,
    validate_prefix,
)
from domain.errors import InvalidClientOrderId

BINANCE_CHARSET = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
LONGEST_PREFIX = "P" * 16
# Largest sequence whose id still fits 36 characters with a 16-character prefix: 19 base-36 digits.
LARGEST_FITTING = 36**19 - 1


@pytest.mark.parametrize("prefix", ["gb", "G", "grid_bot_1", LONGEST_PREFIX, "_", "0"])
@pytest.mark.parametrize("sequence", [0, 1, 35, 36, 1295, 1296, 10**6, 2**63, LARGEST_FITTING])
def test_ids_fit_binance_charset(prefix: str, sequence: int) -> None:
    cid = client_order_id(prefix, sequence)
    assert BINANCE_CHARSET.match(cid), cid
    assert len(cid) <= MAX_LENGTH
    assert cid.startswith(prefix + "-")


def test_known_encodings() -> None:
    assert client_order_id("gb", 0) == "gb-0"
    assert client_order_id("gb", 35) == "gb-z"
    assert client_order_id("gb", 36) == "gb-10"
    assert client_order_id("gb", 36**2 + 2 * 36 + 3) == "gb-123"
    assert client_order_id(LONGEST_PREFIX, LARGEST_FITTING) == LONGEST_PREFIX + "-" + "z" * 19


def test_deterministic_for_prefix_and_sequence() -> None:
    assert client_order_id("gb", 12345) == client_order_id("gb", 12345)
    assert client_order_id("gb", 12345) != client_order_id("gb", 12346)
    assert client_order_id("gb", 12345) != client_order_id("gc", 12345)
    a = ClientOrderIdSequence("gb", next_sequence=7)
    b = ClientOrderIdSequence("gb", next_sequence=7)
    assert [a.next_id() for _ in range(5)] == [b.next_id() for _ in range(5)]


def test_unique_over_a_range() -> None:
    ids = [client_order_id("gb", n) for n in range(20_000)]
    assert len(set(ids)) == len(ids)


def test_parse_round_trips_over_a_range() -> None:
    for n in range(5_000):
        assert parse_sequence("gb", client_order_id("gb", n)) == n


def test_too_long_or_negative_is_rejected() -> None:
    with pytest.raises(InvalidClientOrderId):
        client_order_id(LONGEST_PREFIX, LARGEST_FITTING + 1)
    with pytest.raises(InvalidClientOrderId):
        client_order_id("gb", -1)


@pytest.mark.parametrize(
    "cid",
    [
        "",
        "gb",
        "gb-",
        "gb_1",
        "gbx-1",
        "xgb-1",
        "GB-1",
        "other-1",
        "gb-1-2",
        "gb-1.5",
        "gb-1 ",
        "gb-$",
        "web_AbCdEf123456",
        "and_8f2c1e0d4b",
        "autoclose-1700000000000",
        "x-" + "1" * 40,
        "gb-" + "1" * 40,
    ],
)
def test_foreign_ids_are_not_ours(cid: str) -> None:
    assert parse_sequence("gb", cid) is None
    assert ClientOrderIdSequence("gb").is_ours(cid) is False


def test_other_prefix_is_not_ours() -> None:
    cid = client_order_id("botA", 42)
    assert parse_sequence("botA", cid) == 42
    assert parse_sequence("botB", cid) is None
    assert parse_sequence("bot", cid) is None
    assert parse_sequence("botAA", cid) is None
    assert ClientOrderIdSequence("botB").is_ours(cid) is False
    assert ClientOrderIdSequence("botA").is_ours(cid) is True


@pytest.mark.parametrize(
    "prefix", ["", "a-b", "-", "a.b", "a b", "a/b", "a:b", "é", "P" * 17, "\ngb", "g\nb"]
)
def test_invalid_prefixes_are_rejected(prefix: str) -> None:
    with pytest.raises(InvalidClientOrderId):
        validate_prefix(prefix)
    with pytest.raises(InvalidClientOrderId):
        client_order_id(prefix, 1)
    with pytest.raises(InvalidClientOrderId):
        ClientOrderIdSequence(prefix)


@pytest.mark.parametrize("prefix", ["a", "A_b_9", LONGEST_PREFIX])
def test_valid_prefixes_are_returned(prefix: str) -> None:
    assert validate_prefix(prefix) == prefix


def test_sequence_continues_from_next_sequence() -> None:
    seq = ClientOrderIdSequence("gb", next_sequence=41)
    assert seq.prefix == "gb"
    assert seq.next_sequence == 41
    first = seq.next_id()
    assert first == client_order_id("gb", 41)
    assert seq.next_sequence == 42
    second = seq.next_id()
    assert parse_sequence("gb", second) == 42
    assert seq.next_sequence == 43
    # A restart from the persisted counter never reissues an id.
    resumed = ClientOrderIdSequence("gb", next_sequence=seq.next_sequence)
    assert resumed.next_id() not in {first, second}


def test_default_sequence_starts_at_zero() -> None:
    seq = ClientOrderIdSequence("gb")
    assert seq.next_id() == "gb-0"
    assert seq.is_ours("gb-0")


@pytest.mark.parametrize("cid", ["gb-1_0", "gb-A", "gb-01", "gb-Z"])
def test_non_canonical_ids_are_not_ours(cid: str) -> None:
    assert parse_sequence("gb", cid) is None


def test_prefix_with_trailing_newline_is_rejected() -> None:
    with pytest.raises(InvalidClientOrderId):
        validate_prefix("gb\n")


def test_id_with_trailing_newline_is_not_ours() -> None:
    assert parse_sequence("gb", "gb-1\n") is None


prefixes = st.from_regex(r"\A[A-Za-z0-9_]{1,16}\Z", fullmatch=True)


@settings(max_examples=400, deadline=None)
@given(prefix=prefixes, sequence=st.integers(min_value=0, max_value=36**19 - 1))
def test_round_trip_property(prefix: str, sequence: int) -> None:
    try:
        cid = client_order_id(prefix, sequence)
    except InvalidClientOrderId:
        # Only the total length may refuse a valid prefix and non-negative sequence.
        assert len(prefix) + 1 + len(_base36(sequence)) > MAX_LENGTH
        return
    assert BINANCE_CHARSET.match(cid)
    assert parse_sequence(prefix, cid) == sequence
    assert ClientOrderIdSequence(prefix, sequence).next_id() == cid


@settings(max_examples=300, deadline=None)
@given(prefix=prefixes, other=prefixes, sequence=st.integers(min_value=0, max_value=10**12))
def test_other_prefix_never_parses(prefix: str, other: str, sequence: int) -> None:
    cid = client_order_id(prefix, sequence)
    if other == prefix:
        assert parse_sequence(other, cid) == sequence
    else:
        assert parse_sequence(other, cid) is None


@settings(max_examples=300, deadline=None)
@given(a=st.integers(min_value=0, max_value=10**15), b=st.integers(min_value=0, max_value=10**15))
def test_distinct_sequences_give_distinct_ids(a: int, b: int) -> None:
    assert (client_order_id("gb", a) == client_order_id("gb", b)) is (a == b)


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out
