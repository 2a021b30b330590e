"""Everything the sandbox remembers, bounded, plus the ids PortOne and NICE mint.

The engine modules (:mod:`.payments`, :mod:`.checkout`, :mod:`.billing`,
:mod:`.schedules`) change records only through a :class:`Ledger`; the caller holds
the sandbox lock around every call, so nothing here locks.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from datetime import datetime
from typing import Any
from typing import Final

from .access_tokens import TokenStore
from .bounded_table import BoundedTable
from .clock import Clock
from .pg_settings import PgSettings
from .records import Customer
from .records import Notice
from .records import Payment
from .records import Prepared
from .records import Schedule
from .values import KST

_METHOD_CODES: Final = {"card": "01", "trans": "02", "vbank": "03", "phone": "05"}
_ALPHANUM: Final = string.ascii_uppercase + string.digits
_TABLES: Final = ("payments", "prepared", "customers", "schedules")


def _digits(count: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(count))


class Ledger:
    """The sandbox's state.

    :param clock: the sandbox clock.
    :param tokens: the token store.
    :param notify: takes each webhook PortOne would send (called under the lock).
    :param max_records: bound of each table.
    :param merchant_name: ``vbank_holder`` of window virtual accounts.
    """

    def __init__(
        self,
        clock: Clock,
        tokens: TokenStore,
        notify: Callable[[Notice], None],
        *,
        max_records: int,
        merchant_name: str,
    ) -> None:
        self.clock = clock
        self.tokens = tokens
        self.merchant_name = merchant_name
        self._notify = notify
        self._by_merchant: dict[str, list[str]] = {}
        self.payments: BoundedTable[str, Payment] = BoundedTable(
            max_records, self._forget_payment
        )
        self.prepared: BoundedTable[str, Prepared] = BoundedTable(max_records)
        self.customers: BoundedTable[str, Customer] = BoundedTable(max_records)
        self.schedules: BoundedTable[str, Schedule] = BoundedTable(max_records)
        #: The account's PG settings (settings: :meth:`clear` keeps them).
        self.pg_settings = PgSettings()
        #: The MID's tax mode in NICE's settings: ``auto`` (NICE works out the
        #: VAT) or ``fixed`` (지정금액: each cancel states its parts). A setting.
        self.tax_mode = "auto"

    def now(self) -> int:
        """Sandbox time in UNIX seconds."""
        return self.clock.now()

    def clear(self) -> None:
        """Forget every record and the current token."""
        for table in self._tables():
            table.clear()
        self._by_merchant.clear()
        self.tokens.clear()

    # Sharing with other processes (see :mod:`.shared_file`) ------------------

    def shared_tables(self) -> dict[str, BoundedTable[str, Any]]:
        """The tables another process must see, by name, journaling from now on."""
        tables = dict(zip(_TABLES, self._tables(), strict=True))
        for table in tables.values():
            if table.journal is None:
                table.start_journal()
        return tables

    def absorb(self, table: str, key: str, record: Any | None, final: bool) -> None:
        """Take a record as another process left it (None: it went).

        :param table: ``payments``, ``prepared``, ``customers`` or ``schedules``.
        :param key: its key.
        :param record: the record, or None.
        :param final: whether it is marked final.
        """
        store = self.shared_tables()[table]
        if table == "payments" and record is not None and key not in store:
            self._by_merchant.setdefault(record.merchant_uid, []).append(key)
        store.absorb(key, record, final)

    def forget_all(self) -> None:
        """Drop every record without journaling it (before reading them all again)."""
        for table in self._tables():
            table.forget_all()
        self._by_merchant.clear()

    def _tables(self) -> tuple[BoundedTable[str, Any], ...]:
        return (self.payments, self.prepared, self.customers, self.schedules)

    # Payments ---------------------------------------------------------------

    def add_payment(self, payment: Payment) -> Payment:
        """Store a new attempt and index it under its merchant_uid.

        :param payment: the new payment.
        """
        payment.updated_at = payment.started_at
        self._by_merchant.setdefault(payment.merchant_uid, []).append(payment.imp_uid)
        self.payments.put(payment.imp_uid, payment)
        self.touch(payment)
        return payment

    def touch(self, payment: Payment) -> None:
        """Record that a payment changed (``-updated`` sorting, eviction order).

        :param payment: the changed payment.
        """
        payment.updated_at = self.now()
        if payment.is_final:
            self.payments.mark_final(payment.imp_uid)

    def payment(self, imp_uid: str) -> Payment | None:
        """The payment with that imp_uid, or None.

        :param imp_uid: PortOne's id.
        """
        return self.payments.get(imp_uid)

    def attempts(self, merchant_uid: str) -> list[Payment]:
        """Every attempt for an order, oldest first.

        :param merchant_uid: the order id.
        """
        ids = self._by_merchant.get(merchant_uid, [])
        return [p for p in (self.payments.get(i) for i in ids) if p is not None]

    def paid_attempt(self, merchant_uid: str) -> Payment | None:
        """The attempt that took the money for an order, if one did.

        :param merchant_uid: the order id.
        """
        return next((p for p in self.attempts(merchant_uid) if p.was_paid), None)

    def _forget_payment(self, imp_uid: str, payment: Payment) -> None:
        ids = self._by_merchant.get(payment.merchant_uid)
        if ids is None:
            return
        ids.remove(imp_uid)
        if not ids:
            del self._by_merchant[payment.merchant_uid]

    def merchant_index_size(self) -> int:
        """Entries in the merchant_uid index (for the memory-bound test)."""
        return sum(len(ids) for ids in self._by_merchant.values())

    # Webhooks ---------------------------------------------------------------

    def notify(
        self, payment: Payment, status: str, cancellation_id: str | None = None
    ) -> None:
        """Queue the webhook PortOne sends for this event.

        :param payment: the payment the event is about.
        :param status: the ``status`` field of the webhook.
        :param cancellation_id: for cancels.
        """
        self._notify(
            Notice(
                payment.imp_uid,
                payment.merchant_uid,
                status,
                payment.notice_urls,
                cancellation_id,
            )
        )

    # Ids --------------------------------------------------------------------

    def new_imp_uid(self) -> str:
        """``imp_`` and twelve digits, unique among stored payments."""
        while True:
            imp_uid = "imp_" + _digits(12)
            if imp_uid not in self.payments:
                return imp_uid

    def new_pg_tid(self, mid: str, pay_method: str, channel: str) -> str:
        """A 30-character NICE TID: MID, method, medium, KST time, serial.

        :param mid: the NICE MID.
        :param pay_method: the payment method.
        :param channel: ``pc``, ``mobile`` or ``api``.
        """
        method = _METHOD_CODES.get(pay_method, "01")
        medium = "16" if channel == "mobile" else "01"
        stamp = datetime.fromtimestamp(self.now(), KST).strftime("%y%m%d%H%M%S")
        return f"{mid}{method}{medium}{stamp}{_digits(4)}"

    @staticmethod
    def new_apply_num() -> str:
        """An 8-digit card approval number."""
        return _digits(8)

    @staticmethod
    def new_vbank_num() -> str:
        """A 14-digit virtual account number."""
        return "5" + _digits(13)

    @staticmethod
    def new_cancellation_id() -> str:
        """An opaque cancellation id."""
        return "".join(secrets.choice(_ALPHANUM) for _ in range(26))

    @staticmethod
    def receipt_url(pg_tid: str, cancel: bool = False) -> str:
        """NICE's receipt address for a TID.

        :param pg_tid: the TID.
        :param cancel: the receipt of a cancel rather than of the payment.
        """
        kind = 1 if cancel else 0
        return (
            f"https://npg.nicepay.co.kr/issue/IssueLoader.do?TID={pg_tid}&type={kind}"
        )
