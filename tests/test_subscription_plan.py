"""The renewal rules on the days months do not share: the 29th to the 31st, leap
years, every N days, counted in Korea's time."""

from __future__ import annotations

import calendar
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flask_nicepay import EveryDays
from flask_nicepay import Monthly
from flask_nicepay import Plan
from flask_nicepay.subscription_plan import KST
from flask_nicepay.subscription_plan import boundary
from flask_nicepay.subscription_plan import describe

# Anchors anywhere from 2024 to 2030, weighted to the ends of months.
days = st.one_of(st.integers(28, 31), st.integers(1, 31))
anchors = st.builds(
    lambda year, month, day, seconds: (
        dt.datetime(
            year, month, min(day, calendar.monthrange(year, month)[1]), tzinfo=KST
        )
        + dt.timedelta(seconds=seconds)
    ),
    st.integers(2024, 2030),
    st.integers(1, 12),
    days,
    st.integers(0, 86_399),
).map(lambda moment: moment.astimezone(dt.UTC))
periods = st.integers(0, 60)


def months_between(a: dt.datetime, b: dt.datetime) -> int:
    a, b = a.astimezone(KST), b.astimezone(KST)
    return (b.year - a.year) * 12 + b.month - a.month


@given(anchors, st.one_of(st.none(), days), st.integers(1, 12), periods)
def test_monthly_lands_on_the_day_or_the_month_s_last(
    anchor: dt.datetime, day: int | None, months: int, k: int
) -> None:
    interval = Monthly(day, months)
    moment = boundary(anchor, interval, k).astimezone(KST)
    local = anchor.astimezone(KST)
    assert months_between(anchor, moment) == months * k
    assert moment.time() == local.time() and moment.tzinfo is not None
    if k > 0:
        wanted = day or local.day
        last = calendar.monthrange(moment.year, moment.month)[1]
        assert moment.day == min(wanted, last)


@given(anchors, st.one_of(st.none(), days), st.integers(1, 3), periods)
def test_monthly_never_drifts_and_never_goes_back(
    anchor: dt.datetime, day: int | None, months: int, k: int
) -> None:
    interval = Monthly(day, months)
    later = boundary(anchor, interval, k + 1)
    assert later > boundary(anchor, interval, k)
    # Each period at most 31 days per month it spans (plus the first's slack).
    gap = later - boundary(anchor, interval, max(k, 1))
    assert gap <= dt.timedelta(days=31 * months) or k == 0


@given(anchors, st.integers(1, 400), periods)
def test_every_n_days_is_exactly_n_days(anchor: dt.datetime, n: int, k: int) -> None:
    interval = EveryDays(n)
    assert boundary(anchor, interval, k + 1) - boundary(anchor, interval, k) == (
        dt.timedelta(days=n)
    )


def kst(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=KST)


def test_the_31st_through_a_leap_year() -> None:
    anchor = kst(2028, 1, 31, 10, 0)
    got = [boundary(anchor, Monthly(), k).astimezone(KST).date() for k in range(5)]
    assert [(d.month, d.day) for d in got] == [
        (1, 31),
        (2, 29),
        (3, 31),
        (4, 30),
        (5, 31),
    ]
    got = [boundary(kst(2027, 1, 31), Monthly(), 1).astimezone(KST).day]
    assert got == [28]


def test_a_fixed_day_starts_from_the_next_month() -> None:
    anchor = kst(2026, 3, 3, 9, 30)
    first = boundary(anchor, Monthly(day=30), 1).astimezone(KST)
    assert (first.month, first.day, first.hour, first.minute) == (4, 30, 9, 30)
    feb = boundary(kst(2027, 1, 15), Monthly(day=30), 1).astimezone(KST)
    assert (feb.month, feb.day) == (2, 28)


def test_a_day_in_korea_is_not_the_day_in_utc() -> None:
    # 00:30 on the 31st in Seoul is still the 30th in UTC.
    anchor = kst(2026, 1, 31, 0, 30)
    feb = boundary(anchor.astimezone(dt.UTC), Monthly(), 1)
    assert feb.astimezone(KST).day == 28 and feb.astimezone(dt.UTC).day == 27


def test_bad_plans_are_refused() -> None:
    with pytest.raises(ValueError, match="1 to 31"):
        Monthly(day=32)
    with pytest.raises(ValueError, match="1 or more"):
        Monthly(months=0)
    with pytest.raises(ValueError, match="1 or more"):
        EveryDays(0)
    with pytest.raises(ValueError, match="more than zero"):
        Plan(name="x", amount=0, interval=Monthly())
    with pytest.raises(ValueError, match="needs a name"):
        Plan(name=" ", amount=1000, interval=Monthly())
    assert describe(Monthly(31)) == "monthly on day 31"
    assert describe(Monthly(months=3)) == "every 3 months"
    assert describe(EveryDays(14)) == "every 14 days"


@pytest.mark.parametrize(
    ("tax_free", "vat_amount"),
    [(-1, None), (10_001, None), (None, -1), (None, 10_001), (4_000, 6_001)],
)
def test_a_plan_refuses_tax_parts_larger_than_their_whole(
    tax_free: int | None, vat_amount: int | None
) -> None:
    with pytest.raises(ValueError, match=r"tax_free|vat_amount"):
        Plan(
            name="p",
            amount=10_000,
            interval=Monthly(),
            tax_free=tax_free,
            vat_amount=vat_amount,
        )


def test_a_plan_takes_tax_parts_up_to_their_whole() -> None:
    whole = Plan(name="p", amount=10_000, interval=Monthly(), tax_free=10_000)
    split = Plan(
        name="p", amount=10_000, interval=Monthly(), tax_free=4_000, vat_amount=6_000
    )
    zero = Plan(name="p", amount=10_000, interval=Monthly(), tax_free=0, vat_amount=0)
    assert (whole.tax_free, split.vat_amount, zero.vat_amount) == (10_000, 6_000, 0)
