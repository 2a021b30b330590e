"""What the payments the plugin makes through PortOne's API have in common.

Every such payment is an order first: the row exists before PortOne is asked to
charge, so the answer, a webhook, or a later reconcile all find it, and a payment
whose answer was lost is looked up rather than repeated.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from .billing_purchase import Purchase
from .orders import insert_order
from .parts import Part
from .parts import Parts
from .portone import ConnectError
from .portone import NoResponseError
from .portone import Payment
from .portone import PaymentDeclinedError
from .portone import PortOneError
from .store import Order
from .sync import Reconciler
from .sync import SyncResult


class ApiPayments(Part):
    """What every payment made without the payment window shares: the order is
    written first, then PortOne is asked, then its answer is applied.

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

    def _new_order(
        self,
        origin: str,
        purchase: Purchase,
        merchant_uid: str | None,
        customer_uid: str | None,
        *,
        scheduled_at: dt.datetime | None = None,
    ) -> Order:
        uid = merchant_uid or self.make_merchant_uid()
        fields = purchase.order_fields(customer_uid, scheduled_at=scheduled_at)
        return insert_order(self.store, merchant_uid=uid, origin=origin, **fields)

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
