"""Billing keys, key-in payments, payments again with a key, and scheduled payments.

With NICE's old module a billing key can only be issued through the REST API, from
card data the store collected. The card data goes to PortOne and nowhere else: the
plugin keeps only what PortOne returns (the masked number and the card's name).

Every payment made here is an order first: the row exists before PortOne is asked
to charge, so the answer, a webhook, or a later reconcile all find it, and a
payment whose answer was lost is looked up rather than repeated. An id that no
key or order can have raises :class:`~flask_nicepay.inbound.InvalidIdError` first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import typing as t

from . import signals
from .billing_base import ApiPayments
from .billing_key_table import BillingKey as BillingKey
from .billing_key_table import keep_key
from .billing_key_table import list_keys
from .billing_key_table import orders_of_key
from .billing_key_table import read_key
from .billing_purchase import Money
from .billing_purchase import Purchase
from .inbound import check_id
from .key_in import pay_once
from .machine import OrderState
from .portone import APIError
from .portone import Buyer
from .portone import Card
from .portone import Customer
from .portone import NotFoundError
from .portone import Payment
from .portone import PortOneError
from .portone import ScheduleRequest
from .portone import ServerError
from .schedule_book import ScheduleBook
from .schedule_book import ScheduleGap
from .schedule_book import ScheduleRepair
from .schedule_book import schedule_request
from .store import Order
from .store import Plan

logger = logging.getLogger("flask_nicepay")


class Billing(ApiPayments):
    """Payments without the payment window: billing keys, key-in payments,
    charges with a key, and schedules.

    The parameters are those of :class:`~flask_nicepay.billing_base.ApiPayments`.
    """

    @functools.cached_property
    def book(self) -> ScheduleBook:
        """Compares PortOne's schedules with the orders:
        :class:`~flask_nicepay.schedule_book.ScheduleBook`."""
        return ScheduleBook(
            self.parts,
            self.reconciler,
            channel_key=self.channel_key,
            notice_url=self.notice_url,
        )

    # -- keys ----------------------------------------------------------------

    def issue_key(
        self, customer_uid: str, card: Card, *, customer: Buyer | None = None
    ) -> BillingKey:
        """Issue (or replace) the billing key ``customer_uid`` for a card.

        :raises CardError: PortOne could not authenticate the card.
        """
        check_id("customer_uid", customer_uid)
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
        check_id("customer_uid", customer_uid)
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
        purchase = Purchase(
            amount, name, currency, tax_free, vat_amount, card_quota, buyer, custom_data
        )
        order = self._new_order("again", purchase, merchant_uid, customer_uid)
        return self._again(order, purchase)

    def charge_order(self, order: Order) -> Order:
        """Charge an order already written (``ready``, with a ``customer_uid``) to
        its billing key now, for its amount (PortOne's ``again``).

        :raises PaymentDeclinedError: as for :meth:`charge`.
        :raises NoResponseError: as for :meth:`charge`.
        """
        return self._again(order, Purchase.of_order(order))

    def _again(self, order: Order, purchase: Purchase) -> Order:
        customer_uid = order.customer_uid
        if not customer_uid:
            raise ValueError(f"Order {order.merchant_uid} names no billing key.")
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
        purchase = Purchase(
            amount, name, currency, tax_free, vat_amount, card_quota, buyer, custom_data
        )
        order = self._new_order("onetime", purchase, merchant_uid, customer_uid)
        paid = self._settle(order, lambda: self._onetime(order, card, purchase))
        if customer_uid:
            key = self.client.get_billing_key(customer_uid)
            self._remember(key, "active", announce=True)
        return paid

    def pay_order_key_in(
        self,
        merchant_uid: str,
        card: Card,
        *,
        card_quota: int | None = None,
        customer_uid: str | None = None,
    ) -> Order:
        """Pay an order that exists (``ready``, or ``failed`` before) by key-in,
        at its amount; with ``customer_uid`` the card is also kept as that key.

        Safe to call again for the same order: only one call at a time reaches
        PortOne (see :mod:`flask_nicepay.key_in`), an order that holds money
        comes back as it is, and a retry after a lost answer looks the order up
        first.

        :raises CardError: the card could not be authenticated; nothing was
            paid, the order is unchanged and may be paid again.
        :raises PaymentDeclinedError: the card company declined; the order is
            ``failed`` (and may be paid again, with another card).
        :raises NoResponseError: no answer came; the order was looked up.
        :raises PaymentInProgressError: another call is paying it right now.
        :raises InvalidTransitionError: the order cannot be paid from its state.
        :raises UnknownOrderError: no such order.
        """
        if customer_uid:
            check_id("customer_uid", customer_uid)
        charged: list[Payment] = []

        def call(order: Order) -> Payment:
            purchase = Purchase.of_order(order, card_quota)
            charged.append(self._onetime(order, card, purchase, customer_uid))
            return charged[-1]

        order = pay_once(self.reconciler, merchant_uid, call)
        if customer_uid and charged and order.state is OrderState.PAID:
            order = self._keep_issued(order, customer_uid)
        return order

    def _keep_issued(self, order: Order, customer_uid: str) -> Order:
        """Remember the key a paid key-in issued, and the order as charged to it."""
        try:
            key = self.client.get_billing_key(customer_uid)
            self._remember(key, "active", announce=True)
        except PortOneError as exc:  # paid is paid: the key can be read later
            logger.warning("Billing key %s not read: %s", customer_uid, exc)
        updates = {"customer_uid": customer_uid}
        plan = lambda conn, current: Plan(updates=updates)  # noqa: E731
        return self.store.apply(order.merchant_uid, plan, source="api").order

    def _onetime(
        self,
        order: Order,
        card: Card,
        purchase: Purchase,
        customer_uid: str | None = None,
    ) -> Payment:
        return self.client.pay_onetime(
            merchant_uid=order.merchant_uid,
            card=card,
            customer_uid=customer_uid or order.customer_uid,
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
        payment.
        """
        orders = [
            self._new_order(
                "schedule",
                Purchase(amount, name, currency, buyer=buyer),
                None,
                customer_uid,
                scheduled_at=when,
            )
            for when, amount, name in payments
        ]
        return self.schedule_orders(customer_uid, orders, buyer=buyer)

    def schedule_orders(
        self,
        customer_uid: str,
        orders: t.Sequence[Order],
        *,
        buyer: Buyer | None = None,
    ) -> list[Order]:
        """Ask PortOne to charge orders already written (origin ``schedule``, with
        ``scheduled_at``) at their time.

        When PortOne refuses, the orders are closed and the error raised. When no
        answer comes, or PortOne answers with a server error, they stay
        ``ready``: PortOne may have scheduled them, and ``flask nicepay
        schedules`` finds out.

        :raises PortOneError: PortOne refused, or could not be asked.
        """
        check_id("customer_uid", customer_uid)
        requests = [self._schedule_request(o, buyer) for o in orders]
        try:
            self.client.schedule(customer_uid, requests, channel_key=self.channel_key)
        except ServerError:
            raise  # PortOne failed, and may or may not have scheduled them
        except APIError:
            for order in orders:
                self._close(order.merchant_uid, "scheduling refused by PortOne")
            raise
        return list(orders)

    def _schedule_request(self, order: Order, buyer: Buyer | None) -> ScheduleRequest:
        # The order's own request, tax parts included: a renewal charged without
        # them would be invoiced as fully taxable whatever the plan says.
        request = schedule_request(order, self.notice_url())
        return request if buyer is None else dataclasses.replace(request, buyer=buyer)

    def unschedule(
        self, customer_uid: str, merchant_uids: t.Sequence[str] | None = None
    ) -> list[Order]:
        """Revoke scheduled payments at PortOne and close their orders."""
        check_id("customer_uid", customer_uid)
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
