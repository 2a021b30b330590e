"""The store's orders: creating them, registering their amount, reading them."""

from __future__ import annotations

import json
import logging
import secrets
import typing as t

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from .inbound import ORDER_REQUEST
from .inbound import check_id
from .ledger import RefundRow
from .ledger import refunds_for
from .offers import Offer
from .parts import Part
from .parts import Parts
from .portone import APIError
from .portone import ServerError
from .portone import TransportError
from .store import Order
from .store import Plan
from .store import Store

logger = logging.getLogger("flask_nicepay")


class MerchantUidInUseError(ValueError):
    """An order with this ``merchant_uid`` exists already; nothing was created.

    Two calls that race with the same ``merchant_uid`` end with one order, and
    one charge at PortOne: the other call gets this error before asking PortOne.
    """

    def __init__(self, merchant_uid: str) -> None:
        super().__init__(f"The merchant_uid {merchant_uid!r} is already in use.")
        self.merchant_uid = merchant_uid


def insert_order(
    store: Store, connection: Connection | None = None, **fields: t.Any
) -> Order:
    """Insert a new order, raising :class:`MerchantUidInUseError` for a taken id.

    :param connection: a connection in a write transaction to insert it in (under
        a savepoint, so a taken id leaves that transaction usable); by default
        the order is written in a transaction of its own.
    :param fields: what :meth:`flask_nicepay.store.Store.create_order` takes,
        ``merchant_uid`` included.
    :raises InvalidIdError: the ``merchant_uid`` or ``customer_uid`` is a value
        no column can hold; nothing was written.
    """
    check_id("merchant_uid", fields["merchant_uid"])
    if fields.get("customer_uid"):
        check_id("customer_uid", fields["customer_uid"])
    try:
        if connection is None:
            return store.create_order(**fields)
        with connection.begin_nested():
            return store.insert_order(connection, **fields)
    except IntegrityError:
        if store.get(fields["merchant_uid"]) is None:
            raise  # another constraint: a defect, not a taken merchant_uid
        raise MerchantUidInUseError(fields["merchant_uid"]) from None


class Orders(Part):
    """Orders as a store makes and reads them.

    :param parts: the PortOne client, the order store and the clock.
    :param prepare: register every order's amount with PortOne when it is created.
    :param merchant_uid_prefix: the start of generated ``merchant_uid`` values.
    """

    def __init__(
        self, parts: Parts, *, prepare: bool = True, merchant_uid_prefix: str = "np"
    ) -> None:
        super().__init__(parts)
        self.prepare = prepare
        self.merchant_uid_prefix = merchant_uid_prefix

    def new_merchant_uid(self) -> str:
        """A fresh, unguessable ``merchant_uid``: ``np-20261126-3f9a1c0b7d2e``."""
        day = self.clock().strftime("%Y%m%d")
        return f"{self.merchant_uid_prefix}-{day}-{secrets.token_hex(6)}"

    def create(self, *, connection: Connection | None = None, **fields: t.Any) -> Order:
        """Register an order and, by default, its amount with PortOne.

        :param fields: ``amount`` and ``name`` are required; ``merchant_uid``
            (generated when left out), ``currency`` (KRW or USD), ``tax_free``,
            ``vat_amount``, ``buyer_*``, ``pay_method`` and ``custom_data`` are
            optional.
        :raises marshmallow.ValidationError: the fields do not make an order.
        :raises APIError: PortOne holds a different amount for the ``merchant_uid``.
        :param connection: a connection with a write transaction open (from
            :func:`~flask_nicepay.db.write_transaction`): the order is written in
            it, so it commits, or not, with the store's own rows (a stock
            reservation, say). PortOne is not asked inside that transaction: the
            checkout page registers the amount, as it does when PortOne was down.
        :raises MerchantUidInUseError: an order with that ``merchant_uid`` exists.

        If PortOne cannot be reached the order is still created, unregistered: the
        checkout page registers it before it opens the payment window, and shows
        the buyer an error (never the window) while that fails.
        """
        data = ORDER_REQUEST.load(fields)
        data["merchant_uid"] = data["merchant_uid"] or self.new_merchant_uid()
        if data["custom_data"] is not None and not isinstance(data["custom_data"], str):
            data["custom_data"] = json.dumps(data["custom_data"], ensure_ascii=False)
        order = insert_order(self.store, connection, origin="checkout", **data)
        if not self.prepare or connection is not None:
            return order
        try:
            return self.ensure_prepared(order)
        except (TransportError, ServerError) as exc:
            logger.warning(
                "Order %s created; registering its amount with PortOne failed (%s). "
                "The checkout page will try again.",
                order.merchant_uid,
                exc,
            )
            return order

    def ensure_prepared(self, order: Order) -> Order:
        """Make sure PortOne knows the order's amount before the window opens.

        :raises PortOneError: PortOne could not be reached; try again later.
        :raises APIError: PortOne holds a different amount for the ``merchant_uid``.
        """
        if order.prepared:
            return order
        try:
            self.client.prepare(
                order.merchant_uid, order.amount, currency=order.currency
            )
        except APIError as exc:
            if exc.code != 1:
                raise
            registered = self.client.get_prepared(order.merchant_uid)
            if registered.amount != order.amount:
                raise
        applied = self.store.apply(
            order.merchant_uid,
            lambda conn, current: Plan(updates={"prepared": True}),
            source="api",
        )
        return applied.order

    def offer(self, merchant_uid: str, offer: Offer) -> Order:
        """Record what a checkout link offers, beside what earlier links offered.

        A payment of the order is then held to the union of every offer
        (:func:`flask_nicepay.verify.verify`); a link whose offer is recorded
        already writes nothing.

        :raises UnknownOrderError: no order has this ``merchant_uid``.
        """

        def decide(conn: Connection, current: Order) -> Plan | None:
            terms = offer.dumps()
            if current.terms is not None:
                kept = Offer.loads(current.terms, current.currency)
                terms = kept.merged(offer).dumps()
            return None if terms == current.terms else Plan(updates={"terms": terms})

        return self.store.apply(merchant_uid, decide, source="api").order

    def get(self, merchant_uid: str) -> Order | None:
        """The order, or ``None``: also for a value no order can have (a NUL, a
        lone surrogate, too long; see :func:`~flask_nicepay.inbound.can_be_id`)."""
        return self.store.get(merchant_uid)

    def history(self, merchant_uid: str) -> list[t.Any]:
        """The order's transitions, oldest first."""
        return self.store.history(merchant_uid)

    def refunds_of(self, merchant_uid: str) -> list[RefundRow]:
        """The order's refund ledger."""
        return refunds_for(self.store.engine, merchant_uid)
