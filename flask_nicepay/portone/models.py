"""Typed values that travel to and from PortOne.

Answers (:class:`Payment`, :class:`Customer`, :class:`Schedule`, …) are built by the
schemas in :mod:`flask_nicepay.portone.schemas`. Requests that carry personal data
(:class:`Card`, :class:`RefundAccount`) mask it in their ``repr`` so that a log line
or a traceback can never print a card number, a birth date or an account number.

Amounts are :class:`~decimal.Decimal` everywhere: KRW amounts are whole numbers and
USD amounts keep their cents exactly. Times are aware :class:`~datetime.datetime`
objects in UTC; PortOne's ``0`` for "never" becomes ``None``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import typing as t
from decimal import Decimal

from .redact import mask

T = t.TypeVar("T")


class PaymentStatus(enum.StrEnum):
    """A payment's ``status`` as PortOne reports it."""

    #: The window was opened and not finished (also when abandoned), or a virtual
    #: account was issued and waits for the deposit.
    READY = "ready"
    PAID = "paid"
    #: Any cancel, partial ones included: compare ``cancel_amount`` with ``amount``.
    CANCELLED = "cancelled"
    FAILED = "failed"


class ScheduleStatus(enum.StrEnum):
    """A scheduled payment's ``schedule_status``."""

    SCHEDULED = "scheduled"
    EXECUTED = "executed"
    REVOKED = "revoked"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Token:
    """An access token and PortOne's clock at the moment it answered."""

    access_token: str = dataclasses.field(repr=False)
    #: PortOne's time when it answered (UNIX seconds).
    now: int
    #: When the token stops working, on PortOne's clock (UNIX seconds).
    expired_at: int

    @property
    def lifetime(self) -> int:
        """Seconds the token has left, measured on PortOne's own clock."""
        return self.expired_at - self.now


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CancelRecord:
    """One entry of a payment's ``cancel_history``."""

    pg_tid: str | None
    amount: Decimal
    cancelled_at: dt.datetime | None
    reason: str | None
    receipt_url: str | None
    #: Missing from payments cancelled before PortOne introduced it.
    cancellation_id: str | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Payment:
    """A PortOne payment (``PaymentAnnotation``), one attempt of a ``merchant_uid``."""

    imp_uid: str
    merchant_uid: str
    status: PaymentStatus
    amount: Decimal
    cancel_amount: Decimal
    currency: str
    pay_method: str | None = None
    channel: str | None = None
    pg_provider: str | None = None
    emb_pg_provider: str | None = None
    pg_tid: str | None = None
    pg_id: str | None = None
    sandbox: bool = False
    escrow: bool = False
    apply_num: str | None = None
    bank_code: str | None = None
    bank_name: str | None = None
    card_code: str | None = None
    card_name: str | None = None
    card_quota: int = 0
    #: Masked by PortOne, as the PG returns it.
    card_number: str | None = None
    card_type: int | None = None
    vbank_code: str | None = None
    vbank_name: str | None = None
    vbank_num: str | None = None
    vbank_holder: str | None = None
    vbank_date: dt.datetime | None = None
    vbank_issued_at: dt.datetime | None = None
    name: str | None = None
    buyer_name: str | None = None
    buyer_email: str | None = None
    buyer_tel: str | None = None
    buyer_addr: str | None = None
    buyer_postcode: str | None = None
    #: The store's ``custom_data`` as the JSON string PortOne keeps.
    custom_data: str | None = None
    user_agent: str | None = None
    started_at: dt.datetime | None = None
    paid_at: dt.datetime | None = None
    failed_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None
    fail_reason: str | None = None
    cancel_reason: str | None = None
    receipt_url: str | None = None
    cancel_history: tuple[CancelRecord, ...] = ()
    cash_receipt_issued: bool = False
    customer_uid: str | None = None
    customer_uid_usage: str | None = None
    #: The payment exactly as PortOne sent it, unknown fields included.
    raw: t.Mapping[str, t.Any] = dataclasses.field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def balance(self) -> Decimal:
        """What can still be cancelled: ``amount - cancel_amount``."""
        return self.amount - self.cancel_amount

    @property
    def is_vbank_awaiting_deposit(self) -> bool:
        """A virtual account was issued and nothing was deposited yet."""
        return self.status is PaymentStatus.READY and self.pay_method == "vbank"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """An amount registered in advance for a ``merchant_uid``."""

    merchant_uid: str
    amount: Decimal
    #: ``None`` when the registration does not check the currency.
    currency: str | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Customer:
    """A billing key (``CustomerAnnotation``), with masked card data only."""

    customer_uid: str
    pg_provider: str | None = None
    pg_id: str | None = None
    card_name: str | None = None
    card_code: str | None = None
    card_number: str | None = None
    card_type: int | None = None
    customer_id: str | None = None
    customer_name: str | None = None
    customer_tel: str | None = None
    customer_email: str | None = None
    customer_addr: str | None = None
    customer_postcode: str | None = None
    inserted: dt.datetime | None = None
    updated: dt.datetime | None = None
    sandbox: bool = False
    raw: t.Mapping[str, t.Any] = dataclasses.field(
        default_factory=dict, repr=False, compare=False
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Schedule:
    """A scheduled payment (``ScheduleResultAnnotation``)."""

    customer_uid: str
    merchant_uid: str
    schedule_status: ScheduleStatus
    amount: Decimal
    currency: str | None = None
    imp_uid: str | None = None
    schedule_at: dt.datetime | None = None
    executed_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    name: str | None = None
    buyer_name: str | None = None
    buyer_email: str | None = None
    buyer_tel: str | None = None
    buyer_addr: str | None = None
    buyer_postcode: str | None = None
    custom_data: str | None = None
    #: ``None`` until the schedule ran, then the payment's status.
    payment_status: PaymentStatus | None = None
    fail_reason: str | None = None
    raw: t.Mapping[str, t.Any] = dataclasses.field(
        default_factory=dict, repr=False, compare=False
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Page(t.Generic[T]):
    """One page of a paged answer (``{total, previous, next, list}``)."""

    total: int
    #: The previous page number, ``None`` on the first page.
    previous: int | None
    #: The next page number, ``None`` on the last page.
    next: int | None
    items: tuple[T, ...]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Lookup(t.Generic[T]):
    """The answer to a lookup of several ids at once.

    PortOne answers 200 when it found all of them, 207 when it found some and 404
    when it found none; all three arrive here, with what was not found listed.
    """

    items: tuple[T, ...]
    #: The requested ids that PortOne did not return.
    missing: tuple[str, ...]

    @property
    def partial(self) -> bool:
        """Some, but not all, of the requested ids were found."""
        return bool(self.items) and bool(self.missing)


@dataclasses.dataclass(frozen=True, slots=True)
class Card:
    """Card data for a key-in payment or a billing key. Never printed in full.

    :param number: the card number; dashes and spaces are allowed.
    :param expiry: ``YYYY-MM``.
    :param birth: ``YYMMDD``, or the 10-digit business number of a corporate card.
    :param pwd_2digit: the first two digits of the card password.
    """

    number: str
    expiry: str
    birth: str | None = None
    pwd_2digit: str | None = None

    def __repr__(self) -> str:
        return f"Card(number={mask(_digits(self.number))}, expiry=**, birth=**, pwd=**)"

    def as_params(self) -> dict[str, str]:
        """PortOne's fields, the number grouped as ``dddd-dddd-dddd-dddd``."""
        params = {"card_number": _group(_digits(self.number)), "expiry": self.expiry}
        if self.birth is not None:
            params["birth"] = self.birth
        if self.pwd_2digit is not None:
            params["pwd_2digit"] = self.pwd_2digit
        return params


@dataclasses.dataclass(frozen=True, slots=True)
class RefundAccount:
    """The bank account a virtual-account payment is refunded to.

    :param holder: the account holder's name.
    :param bank: the 3-digit KFTC bank code, such as ``"088"``.
    :param account: the account number.
    :param tel: the holder's phone number.
    """

    holder: str
    bank: str
    account: str
    tel: str | None = None

    def __repr__(self) -> str:
        return f"RefundAccount(bank={self.bank!r}, account={mask(self.account)})"

    def as_params(self) -> dict[str, str]:
        """The ``refund_*`` fields of a cancel request."""
        params = {
            "refund_holder": self.holder,
            "refund_bank": self.bank,
            "refund_account": self.account,
        }
        if self.tel is not None:
            params["refund_tel"] = self.tel
        return params


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Buyer:
    """Who pays: the ``buyer_*`` fields of a payment request."""

    name: str | None = None
    email: str | None = None
    tel: str | None = None
    addr: str | None = None
    postcode: str | None = None

    def as_params(self, prefix: str = "buyer_") -> dict[str, str]:
        """The non-empty fields, each name prefixed with ``prefix``."""
        fields = dataclasses.asdict(self)
        return {prefix + key: value for key, value in fields.items() if value}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleRequest:
    """One payment to schedule with a billing key."""

    merchant_uid: str
    schedule_at: dt.datetime | int
    amount: int | Decimal
    name: str | None = None
    currency: str = "KRW"
    tax_free: int | Decimal | None = None
    vat_amount: int | Decimal | None = None
    card_quota: int | None = None
    buyer: Buyer | None = None
    custom_data: str | None = None
    notice_url: str | None = None


def _digits(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())


def _group(digits: str) -> str:
    return "-".join(digits[i : i + 4] for i in range(0, len(digits), 4))
