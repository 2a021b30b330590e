"""Everything flask-nicepay does for a store, without Flask.

:class:`PaymentService` wires the client, the store, the inbox, the reconciler,
refunds and billing together. The :class:`~flask_nicepay.NicePay` extension builds
one per application; scripts and workers may build their own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import logging
import secrets
import typing as t
from decimal import Decimal

from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine

from . import signals
from .billing import Billing
from .inbox import REPLAYABLE
from .inbox import Hint
from .inbox import Inbox
from .inbox import Kind
from .inbox import Outcome
from .ledger import RefundRow
from .ledger import refunds_for
from .portone import APIError
from .portone import NotFoundError
from .portone import PortOneClient
from .portone import PortOneError
from .portone import RefundAccount
from .portone import ServerError
from .portone import TransportError
from .portone.redact import redact
from .refunds import RefundResult
from .refunds import Refunds
from .schemas import ORDER_REQUEST
from .store import Order
from .store import Plan
from .store import Store
from .store import UnknownOrderError
from .store import utcnow
from .sync import Adopt
from .sync import Reconciler
from .sync import ReconcileReport
from .sync import SyncResult
from .verify import Policy

logger = logging.getLogger("flask_nicepay")

Money = int | Decimal
#: Called inside the write transaction of every state change.
TransitionHook = t.Callable[..., None]


@dataclasses.dataclass(frozen=True, slots=True)
class Received:
    """A notification as recorded and processed."""

    entry_id: int
    outcome: Outcome
    result: SyncResult | None = None
    error: str | None = None


class PaymentService:
    """The store's payments: orders, notifications, reconcile, refunds, billing.

    :param client: the PortOne client.
    :param engine: the database engine (see :func:`flask_nicepay.db.make_engine`).
    :param sender: the sender of every signal (the Flask application).
    :param policy: verification rules.
    :param on_transition: called as ``on_transition(connection, transition)``
        inside the transaction of every state change.
    :param adopt: decides whether a payment for an unknown ``merchant_uid``
        becomes an order; by default payments charged to a billing key the plugin
        issued are adopted.
    :param prepare: register every order's amount with PortOne when it is created.
    :param merchant_uid_prefix: the start of generated ``merchant_uid`` values.
    :param notice_url: the webhook URL given to PortOne with API payments.
    """

    def __init__(
        self,
        *,
        client: PortOneClient,
        engine: Engine,
        sender: t.Any,
        policy: Policy | None = None,
        on_transition: TransitionHook | None = None,
        adopt: Adopt | None = None,
        prepare: bool = True,
        merchant_uid_prefix: str = "np",
        notice_url: t.Callable[[], str | None] = lambda: None,
        channel_key: str | None = None,
        pg: str | None = None,
        clock: t.Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.client = client
        self.sender = sender
        self.clock = clock
        self.prepare = prepare
        self.merchant_uid_prefix = merchant_uid_prefix
        self.store = Store(engine, on_transition=on_transition, clock=clock)
        self.inbox = Inbox(engine, clock=clock)
        self.reconciler = Reconciler(
            client=client,
            store=self.store,
            policy=policy or Policy(),
            notify=self._notify,
            adopt=adopt or self._adopt,
            clock=clock,
        )
        self.refunds = Refunds(
            client=client, store=self.store, reconciler=self.reconciler, clock=clock
        )
        self.billing = Billing(
            client=client,
            store=self.store,
            reconciler=self.reconciler,
            clock=clock,
            make_merchant_uid=self.new_merchant_uid,
            channel_key=channel_key,
            pg=pg,
            notice_url=notice_url,
        )

    @property
    def engine(self) -> Engine:
        return self.store.engine

    def create_all(self) -> None:
        """Create the plugin's tables that are missing."""
        self.store.create_all()

    # -- orders ----------------------------------------------------------------

    def new_merchant_uid(self) -> str:
        """A fresh, unguessable ``merchant_uid``: ``np-20261126-3f9a1c0b7d2e``."""
        day = self.clock().strftime("%Y%m%d")
        return f"{self.merchant_uid_prefix}-{day}-{secrets.token_hex(6)}"

    def create_order(self, **fields: t.Any) -> Order:
        """Register an order and, by default, its amount with PortOne.

        :param fields: ``amount`` and ``name`` are required; ``merchant_uid``
            (generated when left out), ``currency`` (KRW or USD), ``tax_free``,
            ``vat_amount``, ``buyer_*``, ``pay_method`` and ``custom_data`` are
            optional.
        :raises marshmallow.ValidationError: the fields do not make an order.
        :raises APIError: PortOne holds a different amount for the ``merchant_uid``.

        If PortOne cannot be reached the order is still created, unregistered: the
        checkout page registers it before it opens the payment window, and shows
        the buyer an error (never the window) while that fails.
        """
        data = ORDER_REQUEST.load(fields)
        data["merchant_uid"] = data["merchant_uid"] or self.new_merchant_uid()
        if data["custom_data"] is not None and not isinstance(data["custom_data"], str):
            data["custom_data"] = json.dumps(data["custom_data"], ensure_ascii=False)
        order = self.store.create_order(origin="checkout", **data)
        if not self.prepare:
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

    def get_order(self, merchant_uid: str) -> Order | None:
        """The order, or ``None``."""
        return self.store.get(merchant_uid)

    def history(self, merchant_uid: str) -> list[t.Any]:
        """The order's transitions, oldest first."""
        return self.store.history(merchant_uid)

    def refunds_of(self, merchant_uid: str) -> list[RefundRow]:
        """The order's refund ledger."""
        return refunds_for(self.engine, merchant_uid)

    # -- truth from PortOne ------------------------------------------------------

    def sync(
        self,
        *,
        imp_uid: str | None = None,
        merchant_uid: str | None = None,
        source: str = "api",
    ) -> SyncResult:
        """Fetch a payment from PortOne and bring its order in line."""
        return self.reconciler.sync(
            imp_uid=imp_uid, merchant_uid=merchant_uid, source=source
        )

    def receive(
        self,
        kind: Kind | str,
        hint: Hint,
        *,
        body: bytes | str = b"",
        remote_addr: str | None = None,
        method: str | None = None,
        path: str | None = None,
        content_type: str | None = None,
    ) -> Received:
        """Record a notification, then process it: persist before process.

        A first delivery costs two transactions: the inbox row, committed before
        PortOne is asked, then one that changes the order and records the outcome.
        Both run on one connection, checked out (and, on PostgreSQL, pinged) once.
        On PostgreSQL the statement that records the row also reads the order, so
        a duplicate costs two statements: that one and its outcome.
        """
        with self.engine.connect() as connection:
            entry_id, row = self.inbox.record_reading_order(
                kind,
                body=body,
                hint=hint,
                remote_addr=remote_addr,
                method=method,
                path=path,
                content_type=content_type,
                connection=connection,
            )
            known = None if row is None else Order.from_row(row)
            return self._process(entry_id, str(kind), hint, connection, known)

    def reject(self, kind: Kind | str, error: str, **request: t.Any) -> int:
        """Record a notification that could not even be read; returns its id."""
        return self.inbox.record(kind, outcome=Outcome.INVALID, error=error, **request)

    def process(self, entry_id: int) -> Received:
        """Run the reconciler for a recorded notification and record the outcome."""
        entry = self.inbox.get(entry_id)
        if entry is None:
            raise LookupError(f"No notification {entry_id}.")
        return self._process(entry.id, entry.kind, entry.hint)

    def _process(
        self,
        entry_id: int,
        kind: str,
        hint: Hint,
        connection: Connection | None = None,
        known: Order | None = None,
    ) -> Received:
        done = functools.partial(self._finish, entry_id, connection=connection)
        if not (hint.imp_uid or hint.merchant_uid):
            return done(Outcome.INVALID, error="no imp_uid or merchant_uid")
        record = _RecordOutcome(self.inbox, entry_id)
        try:
            result = self.reconciler.sync(
                imp_uid=hint.imp_uid,
                merchant_uid=None if hint.imp_uid else hint.merchant_uid,
                source=kind,
                inbox_id=entry_id,
                record=record,
                connection=connection,
                known=known,
            )
        except NotFoundError as exc:
            return done(Outcome.INVALID, error=f"not at PortOne: {exc}")
        except PortOneError as exc:
            return done(Outcome.ERROR, error=str(exc))
        except Exception as exc:
            # On a connection of its own: this one may be what failed.
            self._finish(entry_id, Outcome.ERROR, error=f"{type(exc).__name__}: {exc}")
            raise
        if record.done:
            return Received(entry_id, result.outcome, result, result.detail)
        return done(result.outcome, result=result, error=result.detail)

    def _finish(
        self,
        entry_id: int,
        outcome: Outcome,
        *,
        result: SyncResult | None = None,
        error: str | None = None,
        connection: Connection | None = None,
    ) -> Received:
        """Record an outcome reached without changing any order."""
        self.inbox.finish(
            entry_id, outcome, **_found(result), error=error, connection=connection
        )
        if outcome in (Outcome.ERROR, Outcome.UNKNOWN_ORDER):
            logger.warning(
                "Notification %s: %s (%s)", entry_id, outcome, redact(error or "")
            )
        return Received(entry_id, outcome, result, error)

    def replay(self, entry_id: int) -> Received:
        """Process a stored notification again."""
        return self.process(entry_id)

    def replay_failed(self) -> list[Received]:
        """Process again every notification that failed or found no order."""
        return [self.process(entry_id) for entry_id in self.failed_ids()]

    def failed_ids(self) -> list[int]:
        """Ids of every notification that failed or found no order, oldest first."""
        ids: list[int] = []
        while True:
            after = ids[-1] if ids else 0
            page = self.inbox.search(outcomes=REPLAYABLE, after_id=after, limit=500)
            if not page:
                return ids
            ids.extend(entry.id for entry in page)

    def reconcile(self, **kwargs: t.Any) -> ReconcileReport:
        """See :meth:`flask_nicepay.sync.Reconciler.reconcile`."""
        return self.reconciler.reconcile(**kwargs)

    def expire_vbanks(self) -> list[Order]:
        """See :meth:`flask_nicepay.sync.Reconciler.expire_vbanks`."""
        return self.reconciler.expire_vbanks()

    # -- money back ---------------------------------------------------------------

    def refund(
        self,
        merchant_uid: str,
        amount: Money | None = None,
        *,
        tax_free: Money | None = None,
        vat_amount: Money | None = None,
        reason: str | None = None,
        refund_account: RefundAccount | None = None,
    ) -> RefundResult:
        """Refund part or all of a paid order; see :mod:`flask_nicepay.refunds`."""
        return self.refunds.refund(
            merchant_uid,
            amount,
            tax_free=tax_free,
            vat_amount=vat_amount,
            reason=reason,
            refund_account=refund_account,
        )

    def close(self, merchant_uid: str, *, reason: str | None = None) -> SyncResult:
        """Close an order that holds no money (voiding a pending virtual account)."""
        return self.reconciler.close(merchant_uid, reason=reason)

    # -- signals --------------------------------------------------------------

    def _notify(
        self, event: str, order: Order, transition: t.Any, **data: t.Any
    ) -> None:
        signal = signals.BY_EVENT[event]
        for receiver in signal.receivers_for(self.sender):
            try:
                receiver(self.sender, order=order, transition=transition, **data)
            except Exception:
                # The change is committed and cannot be undone by a receiver; one
                # failing receiver must not keep the others from running either.
                logger.exception(
                    "A receiver of %s failed for order %s",
                    signal.name,
                    order.merchant_uid,
                )

    def _adopt(self, payment: t.Any) -> dict[str, t.Any] | None:
        return self.billing.adopt(payment)


class _RecordOutcome:
    """Writes a notification's outcome inside the transaction that acted on it."""

    def __init__(self, inbox: Inbox, entry_id: int) -> None:
        self.inbox = inbox
        self.entry_id = entry_id
        self.done = False

    def __call__(self, connection: Connection, result: SyncResult) -> None:
        self.inbox.finish(
            self.entry_id,
            result.outcome,
            **_found(result),
            error=result.detail,
            connection=connection,
        )
        self.done = True


def _found(result: SyncResult | None) -> dict[str, t.Any]:
    """The inbox columns that say what the fetched snapshot was."""
    payment = result.payment if result else None
    if payment is None:
        return {}
    return {
        "imp_uid": payment.imp_uid,
        "merchant_uid": payment.merchant_uid,
        "dedupe_key": t.cast(SyncResult, result).dedupe_key,
    }


__all__ = ["PaymentService", "Received", "UnknownOrderError"]
