"""What a subscription sells, and when each of its periods begins: pure rules.

A plan charges ``amount`` once per period. A period is either a number of months,
renewing on a day of the month, or a number of days. Period boundaries are
counted from an *anchor* (the moment the billing started, or restarted), never
from the previous boundary, so a plan billed on the 31st renews on February's last
day and is back on the 31st in March instead of drifting to the 28th.

Days and times are those of Korea (KST, UTC+9, no daylight saving time): a
customer who subscribed at 10:00 on the 31st is charged at 10:00 on the last day
of every shorter month.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
from decimal import Decimal

from .checkout import KST as KST


@dataclasses.dataclass(frozen=True, slots=True)
class Monthly:
    """Every ``months`` months, on ``day`` of the month.

    :param day: 1 to 31; a month without that day renews on its last day.
        ``None`` takes the day the billing starts.
    :param months: how many months a period lasts.
    """

    day: int | None = None
    months: int = 1

    def __post_init__(self) -> None:
        if self.day is not None and not 1 <= self.day <= 31:
            raise ValueError("Monthly(day=...) must be a day of the month, 1 to 31.")
        if self.months < 1:
            raise ValueError("Monthly(months=...) must be 1 or more.")


@dataclasses.dataclass(frozen=True, slots=True)
class EveryDays:
    """Every ``days`` days.

    :param days: how many days a period lasts, 1 or more.
    """

    days: int

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError("EveryDays(days=...) must be 1 or more.")


Interval = Monthly | EveryDays


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """What each period costs and how long it lasts.

    :param name: the payment's name at PortOne (at most 40 characters are sent).
    :param amount: charged once per period.
    :param interval: :class:`Monthly` or :class:`EveryDays`.
    :param currency: ``KRW`` or ``USD``.
    :param tax_free: the tax-free part of ``amount``.
    :param vat_amount: the VAT in ``amount``, when not 1/11 of the taxable part.
    """

    name: str
    amount: Decimal | int
    interval: Interval
    currency: str = "KRW"
    tax_free: Decimal | int | None = None
    vat_amount: Decimal | int | None = None

    def __post_init__(self) -> None:
        amount = Decimal(self.amount)
        if amount <= 0:
            raise ValueError("A plan's amount must be more than zero.")
        if not self.name.strip():
            raise ValueError("A plan needs a name.")
        # PortOne refuses parts larger than what they are parts of: every charge
        # of the plan would be refused, period after period.
        tax_free = Decimal(self.tax_free or 0)
        if not 0 <= tax_free <= amount:
            raise ValueError("A plan's tax_free must be from 0 to its amount.")
        if self.vat_amount is not None and not (
            0 <= Decimal(self.vat_amount) <= amount - tax_free
        ):
            raise ValueError(
                "A plan's vat_amount must be from 0 to its taxable part "
                "(amount - tax_free)."
            )


def boundary(anchor: dt.datetime, interval: Interval, periods: int) -> dt.datetime:
    """The moment ``periods`` periods after ``anchor`` (an aware datetime).

    ``boundary(anchor, interval, 0)`` is the anchor itself.
    """
    if isinstance(interval, EveryDays):
        return anchor + dt.timedelta(days=interval.days * periods)
    local = anchor.astimezone(KST)
    if periods == 0:
        return anchor
    months = local.year * 12 + local.month - 1 + interval.months * periods
    year, month = divmod(months, 12)
    month += 1
    wanted = interval.day or local.day
    day = min(wanted, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(anchor.tzinfo)


def describe(interval: Interval) -> str:
    """A short English description: ``monthly on day 31``, ``every 14 days``."""
    if isinstance(interval, EveryDays):
        return f"every {interval.days} days"
    every = "monthly" if interval.months == 1 else f"every {interval.months} months"
    return every if interval.day is None else f"{every} on day {interval.day}"
