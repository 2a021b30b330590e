"""The sandbox's records: what PortOne keeps about payments, keys and schedules.

Plain mutable dataclasses; the rules that change them live in the engine modules and
the JSON shapes in :mod:`.serialize`. Nothing here holds a full card number.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from typing import Final

from .cards import CardProfile
from .pg_settings import PgSetting
from .values import Params

PAYMENT_STATUSES: Final = ("ready", "paid", "cancelled", "failed")


@dataclass
class Buyer:
    """``buyer_*`` (or, on a billing key, ``customer_*``) details."""

    name: str | None = None
    email: str | None = None
    tel: str | None = None
    addr: str | None = None
    postcode: str | None = None

    @classmethod
    def read(cls, params: Params, prefix: str = "buyer_") -> Buyer:
        """Read the five fields.

        :param params: the request parameters.
        :param prefix: ``buyer_`` or ``customer_``.
        """
        fields = ("name", "email", "tel", "addr", "postcode")
        return cls(*(params.text(prefix + field) for field in fields))

    def or_else(self, other: Buyer) -> Buyer:
        """Each field from ``self`` when set, else from ``other``.

        :param other: the fallback (a billing key's customer details).
        """
        return Buyer(
            self.name or other.name,
            self.email or other.email,
            self.tel or other.tel,
            self.addr or other.addr,
            self.postcode or other.postcode,
        )


@dataclass
class CardUse:
    """The card side of a card payment."""

    profile: CardProfile
    quota: int = 0
    apply_num: str | None = None


@dataclass
class Vbank:
    """An issued virtual account."""

    code: str
    name: str
    num: str
    holder: str
    date: int
    issued_at: int


@dataclass(frozen=True)
class Window:
    """What ``IMP.request_pay`` asked for, kept until the buyer finishes."""

    #: ``display.card_quota``; None when not given (NICE's own menu).
    quotas: tuple[int, ...] | None = None
    direct_code: str | None = None
    #: ``card.direct.quota``, which fixes the installments; None when not given.
    direct_quota: int | None = None
    vbank_due: int | None = None


@dataclass
class Cancellation:
    """One item of ``cancel_history``."""

    pg_tid: str
    amount: Decimal
    cancelled_at: int
    reason: str | None
    receipt_url: str
    cancellation_id: str
    #: What the caller sent as ``checksum`` (None: none, or a console cancel).
    #: Not a PortOne field: kept so a test can see what PortOne was told.
    checksum: Decimal | None = None
    #: The ``tax_free`` and ``vat_amount`` the caller sent (None: not sent). Not
    #: PortOne fields either: a test reads them to see the parts NICE was given.
    tax_free: Decimal | None = None
    vat_amount: Decimal | None = None


@dataclass(eq=False)
class Payment:
    """One payment attempt (one ``imp_uid``)."""

    imp_uid: str
    merchant_uid: str
    pay_method: str
    channel: str
    pg_id: str
    amount: Decimal
    currency: str
    started_at: int
    name: str | None = None
    buyer: Buyer = field(default_factory=Buyer)
    custom_data: str | None = None
    user_agent: str | None = None
    escrow: bool = False
    status: str = "ready"
    pg_tid: str | None = None
    emb_pg_provider: str | None = None
    #: The PG the attempt went through: ``nice`` unless another channel was named.
    pg_provider: str = "nice"
    #: Made through a test-mode PG setting (PortOne's ``sandbox`` flag).
    sandbox: bool = False
    paid_at: int = 0
    failed_at: int = 0
    cancelled_at: int = 0
    updated_at: int = 0
    fail_reason: str | None = None
    cancel_reason: str | None = None
    receipt_url: str | None = None
    card: CardUse | None = None
    bank_code: str | None = None
    vbank: Vbank | None = None
    cancel_amount: Decimal = Decimal(0)
    cancellations: list[Cancellation] = field(default_factory=list)
    customer_uid: str | None = None
    customer_uid_usage: str | None = None
    notice_urls: tuple[str, ...] = ()
    # Not Payment fields: kept to check cancels the way NICE does.
    tax_free: Decimal = Decimal(0)
    vat_amount: Decimal | None = None
    cancelled_tax_free: Decimal = Decimal(0)
    cancelled_vat: Decimal = Decimal(0)
    window: Window | None = None
    window_closed: bool = False

    @property
    def balance(self) -> Decimal:
        """What can still be cancelled."""
        return self.amount - self.cancel_amount

    @property
    def was_paid(self) -> bool:
        """Whether money ever moved (a later cancel does not undo this)."""
        return self.paid_at > 0

    @property
    def is_final(self) -> bool:
        """Failed, voided or fully cancelled: nothing can happen to it any more."""
        if self.status == "failed":
            return True
        return self.status == "cancelled" and (self.balance == 0 or not self.was_paid)

    @property
    def is_open_vbank(self) -> bool:
        """An issued virtual account still waiting for its deposit."""
        return self.status == "ready" and self.vbank is not None


@dataclass
class Prepared:
    """A ``/payments/prepare`` registration."""

    merchant_uid: str
    amount: Decimal
    currency: str | None


@dataclass(eq=False)
class Customer:
    """A billing key (``customer_uid``) with its masked card."""

    customer_uid: str
    card: CardProfile
    pg_id: str
    inserted: int
    updated: int
    customer_id: str | None = None
    details: Buyer = field(default_factory=Buyer)
    #: The PG of the setting that issued it (``pg_id`` is its MID).
    pg_provider: str = "nice"
    #: Issued through a test-mode setting.
    sandbox: bool = False


@dataclass(eq=False)
class Schedule:
    """A scheduled payment."""

    customer_uid: str
    merchant_uid: str
    schedule_at: int
    amount: Decimal
    currency: str
    name: str | None
    buyer: Buyer
    custom_data: str | None
    notice_urls: tuple[str, ...]
    card_quota: int = 0
    tax_free: Decimal = Decimal(0)
    vat_amount: Decimal | None = None
    customer_id: str | None = None
    #: The setting ``channel_key`` or ``pg`` named when scheduling; None: the
    #: key's own.
    pg_setting: PgSetting | None = None
    inserted: int = 0
    schedule_status: str = "scheduled"
    executed_at: int = 0
    revoked_at: int = 0
    imp_uid: str | None = None
    payment_status: str | None = None
    fail_reason: str | None = None

    @property
    def is_final(self) -> bool:
        """Executed or revoked: nothing will happen to it any more."""
        return self.schedule_status != "scheduled"


@dataclass(frozen=True)
class Notice:
    """A webhook PortOne owes someone: ``{imp_uid, merchant_uid, status}``."""

    imp_uid: str
    merchant_uid: str
    status: str
    urls: tuple[str, ...]
    cancellation_id: str | None = None

    def body(self) -> dict[str, str]:
        """The webhook body."""
        body = {
            "imp_uid": self.imp_uid,
            "merchant_uid": self.merchant_uid,
            "status": self.status,
        }
        if self.cancellation_id is not None:
            body["cancellation_id"] = self.cancellation_id
        return body
