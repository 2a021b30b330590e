"""Billing keys, key-in payments, payments again with a key, and scheduled payments.

With NICE's old module a billing key can only be issued through the REST API, from
card data the store collected. The card data goes to PortOne and nowhere else: the
plugin keeps only what PortOne returns (the masked number and the card's name).

Every payment made here is an order first: the row exists before PortOne is asked
to charge, so the answer, a webhook, or a later reconcile all find it, and a
payment whose answer was lost is looked up rather than repeated.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t
from decimal import Decimal

from . import signals
from .billing_key_table import BillingKey as BillingKey
from .billing_key_table import keep_key
from .billing_key_table import list_keys
from .billing_key_table import orders_of_key
from .billing_key_table import read_key
from .orders import insert_order
from .parts import Part
from .parts import Parts
from .portone import Buyer
from .portone import Card
from .portone import ConnectError
from .portone import Customer
from .portone import NoResponseError
from .portone import NotFoundError
from .portone import Payment
from .portone import PaymentDeclinedError
from .portone import PortOneError
from .schedule_book import ScheduleBook
from .schedule_book import ScheduleGap
from .schedule_book import ScheduleRepair
from .schedule_book import schedule_request
from .store import Order
from .sync import Reconciler
from .sync import SyncResult

Money = int | Decimal


@dataclasses.dataclass(frozen=True, slots=True)
class _Purchase:
    """What a payment without the window buys, as the store gave it."""

    amount: Money
    name: str
    currency: str = "KRW"
    tax_free: Money | None = None
    vat_amount: Money | None = None
    card_quota: int | None = None
    buyer: Buyer | None = None
    custom_data: str | None = None

    def call_fields(self) -> dict[str, t.Any]:
        """The fields PortOne's onetime and again calls take as they are."""
        return {field.name: getattr(self, field.name) for field in _FIELDS}


_FIELDS = dataclasses.fields(_Purchase)


class Billing(Part):
    """Payments without the payment window.

    :param parts: the PortOne client, the order store and the clock.
    :param reconciler: applies what PortOne answers.
    :param make_merchant_uid: makes a fresh ``merchant_uid`` when none is given.
    :param sender: the sender of the billing-key signals (the Flask application).
    :param channel_key: the channel API payments go through (else ``pg``).
    :param pg: the ``pg`` value API payments name when no channel key is set.
    :param notice_url: the webhook URL given to PortOne with API payments.
    """

    def __init__(
        self,
        parts: Parts,
        reconciler: Reconciler,
        *,
        make_merchant_uid: t.Callable[[], str],
        sender: t.Any = None,
        channel_key: str | None = None,
        pg: str | None = None,
        notice_url: t.Callable[[], str | None] = lambda: None,
    ) -> None:
        super().__init__(parts)
        self.reconciler = reconciler
        self.make_merchant_uid = make_merchant_uid
        self.sender = sender
        self.channel_key = channel_key
        self.pg = pg
        self.notice_url = notice_url
        #: Compares PortOne's schedules with the orders:
        #: :class:`~flask_nicepay.schedule_book.ScheduleBook`.
        self.book = ScheduleBook(
            parts, reconciler, channel_key=channel_key, notice_url=notice_url
        )

    # -- keys ----------------------------------------------------------------

    def issue_key(
        self, customer_uid: str, card: Card, *, customer: Buyer | None = None
    ) -> BillingKey:
        """Issue (or replace) the billing key ``customer_uid`` for a card.

        :raises CardError: PortOne could not authenticate the card.
        """
        issued = self.client.issue_billing_key(
            customer_uid,
            card,
            pg=self.pg,
            channel_key=self.channel_key,
            customer=customer,
        )
        return self._remember(issued, "active", announce=True)

    def delete_key(self, customer_uid: str, *, reason: str | None = None) -> BillingKey:
        """Delete a billing key at PortOne, and mark it deleted here."""
        try:
            deleted = self.client.delete_billing_key(customer_uid, reason=reason)
        except NotFoundError:  # gone at PortOne already: say so only if it was ours
            return self._remember(Customer(customer_uid=customer_uid), "deleted")
        return self._remember(deleted, "deleted", announce=True)

    def get_key(self, customer_uid: str) -> BillingKey | None:
        """The billing key as last seen, or ``None``."""
        return read_key(self.store.engine, customer_uid)

    def keys(self, status: str | None = None) -> list[BillingKey]:
        """Every billing key kept here, newest change first.

        :param status: ``active`` or ``deleted`` for only those.
        """
        return list_keys(self.store.engine, status)

    def orders_of(self, customer_uid: str) -> list[t.Any]:
        """The orders charged or scheduled on a key, oldest first (rows with
        ``merchant_uid``, ``state``, ``amount``, ``currency``, ``origin``,
        ``scheduled_at`` and ``created_at``)."""
        return orders_of_key(self.store.engine, customer_uid)

    def _remember(
        self, customer: Customer, status: str, *, announce: bool = False
    ) -> BillingKey:
        """Keep what PortOne says of a key; after the commit, send its signal when
        ``announce`` is set or the key was in use here, once per change of status
        to ``deleted``."""
        before, key = keep_key(self.store.engine, customer, status, self.clock())
        if status == "active" and announce:
            self._emit(signals.billing_key_issued, key)
        elif status == "deleted" and before != "deleted" and (announce or before):
            self._emit(signals.billing_key_deleted, key)
        return key

    def _emit(self, signal: t.Any, key: BillingKey) -> None:
        signals.emit(signal, self.sender, f"billing key {key.customer_uid}", key=key)

    # -- payments --------------------------------------------------------------

    def charge(
        self,
        customer_uid: str,
        amount: Money,
        name: str,
        *,
        merchant_uid: str | None = None,
        currency: str = "KRW",
        tax_free: Money | None = None,
        vat_amount: Money | None = None,
        card_quota: int | None = None,
        buyer: Buyer | None = None,
        custom_data: str | None = None,
    ) -> Order:
        """Charge a billing key now (PortOne's ``again``).

        :raises PaymentDeclinedError: the card company declined; the order is
            ``failed`` and the error carries the payment.
        :raises NoResponseError: no answer came: the order was looked up by its
            ``merchant_uid`` and reflects whatever PortOne knows.
        :raises MerchantUidInUseError: an order with that ``merchant_uid``
            exists; PortOne was not asked.
        """
        purchase = _Purchase(
            amount, name, currency, tax_free, vat_amount, card_quota, buyer, custom_data
        )
        order = self._new_order("again", purchase, merchant_uid, customer_uid)
        return self._settle(
            order,
            lambda: self.client.pay_again(
                customer_uid=customer_uid,
                merchant_uid=order.merchant_uid,
                notice_url=self.notice_url(),
                channel_key=self.channel_key,
                **purchase.call_fields(),
            ),
        )

    def pay_key_in(
        self,
        card: Card,
        amount: Money,
        name: str,
        *,
        merchant_uid: str | None = None,
        customer_uid: str | None = None,
        currency: str = "KRW",
        tax_free: Money | None = None,
        vat_amount: Money | None = None,
        card_quota: int | None = None,
        buyer: Buyer | None = None,
        custom_data: str | None = None,
    ) -> Order:
        """A one-time key-in payment; with ``customer_uid`` the card is also kept
        as that billing key.

        :raises CardError: the card could not be authenticated; the order stays
            ``ready`` with nothing paid.
        :raises PaymentDeclinedError: the card company declined.
        :raises MerchantUidInUseError: an order with that ``merchant_uid``
            exists; PortOne was not asked.
        """
        purchase = _Purchase(
            amount, name, currency, tax_free, vat_amount, card_quota, buyer, custom_data
        )
        order = self._new_order("onetime", purchase, merchant_uid, customer_uid)
        paid = self._settle(order, lambda: self._onetime(order, card, purchase))
        if customer_uid:
            key = self.client.get_billing_key(customer_uid)
            self._remember(key, "active", announce=True)
        return paid

    def _onetime(self, order: Order, card: Card, purchase: _Purchase) -> Payment:
        return self.client.pay_onetime(
            merchant_uid=order.merchant_uid,
            card=card,
            customer_uid=order.customer_uid,
            notice_url=self.notice_url(),
            pg=self.pg,
            channel_key=self.channel_key,
            **purchase.call_fields(),
        )

    def schedule(
        self,
        customer_uid: str,
        payments: t.Sequence[tuple[dt.datetime, Money, str]],
        *,
        currency: str = "KRW",
        buyer: Buyer | None = None,
    ) -> list[Order]:
        """Schedule payments of a billing key: ``(when, amount, name)`` each.

        Each becomes an order (``ready``, origin ``schedule``) before PortOne is
        asked; the result of each run arrives by webhook or reconcile like any
        payment. When PortOne refuses, the orders are closed; when no answer
        came, they stay ``ready`` and :meth:`repair_schedules` finds out.
        """
        orders = [
            self._new_order(
                "schedule",
                _Purchase(amount, name, currency, buyer=buyer),
                None,
                customer_uid,
                scheduled_at=when,
            )
            for when, amount, name in payments
        ]
        requests = [schedule_request(o, self.notice_url()) for o in orders]
        try:
            self.client.schedule(customer_uid, requests, channel_key=self.channel_key)
        except NoResponseError:
            raise  # maybe scheduled: the orders stay ready for compare_schedules
        except PortOneError:
            for order in orders:
                self._close(order.merchant_uid, "scheduling refused by PortOne")
            raise
        return orders

    def unschedule(
        self, customer_uid: str, merchant_uids: t.Sequence[str] | None = None
    ) -> list[Order]:
        """Revoke scheduled payments at PortOne and close their orders."""
        revoked = self.client.unschedule(
            customer_uid=customer_uid, merchant_uids=merchant_uids
        )
        return [
            self._close(schedule.merchant_uid, "schedule revoked")
            for schedule in revoked
            if self.store.get(schedule.merchant_uid) is not None
        ]

    def compare_schedules(
        self, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> list[ScheduleGap]:
        """Where PortOne's schedules and the orders that expect them differ: by
        default from 7 days ago to 90 days ahead. See
        :meth:`~flask_nicepay.schedule_book.ScheduleBook.compare`."""
        return self.book.compare(since, until)

    def repair_schedules(
        self, gaps: t.Iterable[ScheduleGap], *, revoke_unknown: bool = False
    ) -> list[ScheduleRepair]:
        """Repair what :meth:`compare_schedules` found; schedules no order
        expects are revoked only with ``revoke_unknown``. See
        :meth:`~flask_nicepay.schedule_book.ScheduleBook.repair`."""
        return self.book.repair(gaps, revoke_unknown=revoke_unknown)

    def adopt(self, payment: Payment) -> dict[str, t.Any] | None:
        """Order fields for a billing-key payment the store did not start here.

        A payment charged to a billing key this plugin issued (say, a schedule
        made in PortOne's console) is the store's: it becomes an order, at the
        amount PortOne charged. Anything else stays unknown for an operator.
        """
        usage = payment.customer_uid_usage or ""
        if not payment.customer_uid or not usage.startswith("payment"):
            return None
        if self.get_key(payment.customer_uid) is None:
            return None
        return {
            "amount": payment.amount,
            "currency": payment.currency,
            "name": payment.name or payment.merchant_uid,
            "origin": "adopted",
            "customer_uid": payment.customer_uid,
        }

    def _new_order(
        self,
        origin: str,
        purchase: _Purchase,
        merchant_uid: str | None,
        customer_uid: str | None,
        *,
        scheduled_at: dt.datetime | None = None,
    ) -> Order:
        buyer = purchase.buyer
        fields = (
            {f"buyer_{k}": v for k, v in dataclasses.asdict(buyer).items()}
            if buyer
            else {}
        )
        return insert_order(
            self.store,
            merchant_uid=merchant_uid or self.make_merchant_uid(),
            amount=Decimal(purchase.amount),
            currency=purchase.currency,
            name=purchase.name,
            origin=origin,
            pay_method="card",
            customer_uid=customer_uid,
            tax_free=_decimal(purchase.tax_free),
            vat_amount=_decimal(purchase.vat_amount),
            custom_data=purchase.custom_data,
            scheduled_at=scheduled_at,
            **fields,
        )

    def _settle(self, order: Order, call: t.Callable[[], Payment]) -> Order:
        """Make the payment call, then apply whatever PortOne says happened."""
        try:
            payment = call()
        except PaymentDeclinedError as exc:
            self.reconciler.apply(exc.payment, source="api")
            raise
        except NoResponseError:
            self._look_up(order)
            raise
        except ConnectError:
            raise
        result = self.reconciler.apply(payment, source="api")
        assert result.order is not None
        return result.order

    def _look_up(self, order: Order) -> SyncResult | None:
        try:
            return self.reconciler.sync(merchant_uid=order.merchant_uid, source="api")
        except PortOneError:
            return None

    def _close(self, merchant_uid: str, reason: str) -> Order:
        result = self.reconciler.close(merchant_uid, reason=reason)
        assert result.order is not None
        return result.order


def _decimal(value: Money | None) -> Decimal | None:
    return None if value is None else Decimal(value)
