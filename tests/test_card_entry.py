"""The checks a typed card passes before it is sent to PortOne."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flask_nicepay.card_entry import MAX_FIELD
from flask_nicepay.card_entry import luhn_ok
from flask_nicepay.card_entry import read_card
from flask_nicepay.i18n import TEXTS

# 23:30 UTC on 30 November is already 1 December in Korea.
NOW = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)
GOOD = {
    "card_number": "4242-4242-4242-4242",
    "expiry": "2030-12",
    "birth": "900101",
    "pwd_2digit": "12",
}


def _with_check_digit(body: str) -> str:
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


def test_a_good_card_passes_and_keeps_its_digits_only() -> None:
    entry, errors = read_card(GOOD, now=NOW)
    assert errors == {}
    assert entry is not None
    assert entry.card.number == "4242424242424242"
    assert (entry.card.expiry, entry.card.birth, entry.card.pwd_2digit) == (
        "2030-12",
        "900101",
        "12",
    )
    assert "42424242" not in repr(entry) and "900101" not in repr(entry)


@given(st.text(alphabet="0123456789", min_size=13, max_size=18))
def test_every_number_with_its_check_digit_passes(body: str) -> None:
    number = _with_check_digit(body)
    entry, errors = read_card({**GOOD, "card_number": number}, now=NOW)
    assert errors == {} and entry is not None and entry.card.number == number


@given(st.text(alphabet="0123456789", min_size=13, max_size=18), st.integers(1, 9))
def test_a_wrong_check_digit_is_refused(body: str, shift: int) -> None:
    good = _with_check_digit(body)
    wrong = good[:-1] + str((int(good[-1]) + shift) % 10)
    _, errors = read_card({**GOOD, "card_number": wrong}, now=NOW)
    assert errors == {"card_number": "card_number_check"}


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("card_number", "4242 4242 4242", "card_number_format"),  # 12 digits
        ("card_number", "4" * 20, "card_number_format"),
        ("card_number", "4242-4242-4242-424x", "card_number_format"),
        ("card_number", "４２４２４２４２４２４２４２４２", "card_number_format"),
        ("card_number", "", "card_number_format"),
        ("expiry", "12/30", "expiry_format"),
        ("expiry", "2030-13", "expiry_format"),
        ("expiry", "2030-00", "expiry_format"),
        ("expiry", "2026-11", "expiry_past"),  # November has ended in Korea
        ("expiry", "2099-01", "expiry_format"),
        ("birth", "900230", "birth_format"),  # no 30 February
        ("birth", "90010", "birth_format"),
        ("birth", "12345678901", "birth_format"),
        ("birth", "", "birth_format"),
        ("pwd_2digit", "1", "pwd_2digit_format"),
        ("pwd_2digit", "123", "pwd_2digit_format"),
        ("pwd_2digit", "a1", "pwd_2digit_format"),
    ],
)
def test_each_broken_rule_names_its_field(field: str, value: str, error: str) -> None:
    entry, errors = read_card({**GOOD, field: value}, now=NOW)
    assert entry is None
    assert errors == {field: error}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("expiry", "2026-12"),  # this month still counts
        ("birth", "000229"),  # 29 February (2000)
        ("birth", "1234567890"),  # a business registration number
        ("card_number", "3782 822463 10005"),  # 15 digits (Amex)
    ],
)
def test_edge_values_that_pass(field: str, value: str) -> None:
    assert read_card({**GOOD, field: value}, now=NOW)[1] == {}


def test_installments_start_at_50000_won() -> None:
    def quota(value: str, amount: int) -> tuple[int | None, dict[str, str]]:
        form = {**GOOD, "card_quota": value}
        entry, errors = read_card(form, now=NOW, amount=Decimal(amount))
        return (entry.card_quota if entry else None), errors

    assert quota("3", 50_000) == (3, {})
    assert quota("0", 49_999) == (0, {})
    assert quota("", 10_000) == (0, {})
    assert quota("3", 49_999) == (None, {"card_quota": "card_quota_minimum"})
    assert quota("1", 80_000) == (None, {"card_quota": "card_quota_format"})
    assert quota("13", 80_000) == (None, {"card_quota": "card_quota_format"})
    assert quota("two", 80_000) == (None, {"card_quota": "card_quota_format"})
    # Issuing a key (no amount) takes no installments into account.
    assert read_card({**GOOD, "card_quota": "3"}, now=NOW)[1] == {}


def test_every_field_broken_at_once_is_reported_at_once() -> None:
    form = {"card_number": "1", "expiry": "x", "birth": "x", "pwd_2digit": "x"}
    _, errors = read_card({**form, "card_quota": "3"}, now=NOW, amount=Decimal(1))
    assert set(errors) == {*form, "card_quota"}


@given(st.dictionaries(st.sampled_from([*GOOD, "card_quota"]), st.text(max_size=80)))
def test_any_input_gives_a_card_or_known_messages_never_its_values(
    form: dict[str, str],
) -> None:
    entry, errors = read_card(form, now=NOW, amount=Decimal(60_000))
    assert (entry is None) == bool(errors)
    for message in errors.values():
        assert message in TEXTS["ko"] and message in TEXTS["en"]


def test_a_huge_value_is_refused_unread() -> None:
    huge = "4" * (MAX_FIELD + 1)
    assert read_card({**GOOD, "card_number": huge}, now=NOW)[1] == {
        "card_number": "card_number_format"
    }
