"""One application's payments, wired together, without Flask.

:class:`Payments` builds the parts that share the PortOne client, the order store
and the clock (:class:`~flask_nicepay.parts.Parts`): the reconciler, orders,
notifications, refunds and billing. The :class:`~flask_nicepay.NicePay` extension
builds one per application; scripts and workers may build their own.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from sqlalchemy.engine import Engine

from . import signals
from .billing import Billing
from .cancel_requests import CancelRequests
from .extra_refunds import ExtraPayments
from .inbox import Inbox
from .janitor import Janitor
from .janitor_policy import JanitorPolicy
from .notifications import Notifications
from .orders import Orders
from .parts import Part
from .parts import Parts
from .portone import Payment
from .portone import PortOneClient
from .refunds import Refunds
from .store import Store
from .store import utcnow
from .subscriptions import Subscriptions
from .sync import Adopt
from .sync import Reconciler
from .tax import TaxMode
from .verify import Policy

#: Called inside the write transaction of every state change.
TransitionHook = t.Callable[..., None]


class Payments(Part):
    """The store's payments: orders, notifications, reconcile, refunds, billing,
    subscriptions, and the janitor that heals them.

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
    :param channel_key: the channel API payments go through.
    :param pg: the ``pg`` value API payments name when no channel key is set.
    :param store: an order store to use instead of one on ``engine``.
    :param inbox: a notification inbox to use instead of one on ``engine``.
    :param janitor: the janitor's grace periods, backoff and batches.
    :param tax_mode: the MID's tax mode, which decides the tax parts each cancel
        states (:mod:`~flask_nicepay.tax`).
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
        store: Store | None = None,
        inbox: Inbox | None = None,
        janitor: JanitorPolicy | None = None,
        tax_mode: TaxMode = TaxMode.AUTO,
    ) -> None:
        self.sender, prefix = sender, merchant_uid_prefix
        store = store or Store(engine, on_transition=on_transition, clock=clock)
        super().__init__(Parts(client=client, store=store, clock=clock))
        self.inbox = inbox or Inbox(engine, clock=clock)
        self.reconciler = self._reconciler(policy, adopt, tax_mode)
        self.orders = Orders(self.parts, prepare=prepare, merchant_uid_prefix=prefix)
        self.notifications = Notifications(self.inbox, self.reconciler)
        self.refunds = Refunds(self.parts, self.reconciler)
        self.extras = ExtraPayments(self.parts, self.reconciler)
        self.billing = self._billing(sender, channel_key, pg, notice_url)
        self.subscriptions = Subscriptions(self.parts, self.billing, sender=sender)
        self.janitor = Janitor(
            self.parts,
            notifications=self.notifications,
            reconciler=self.reconciler,
            subscriptions=self.subscriptions,
            policy=janitor,
        )

    def _reconciler(
        self, policy: Policy | None, adopt: Adopt | None, tax_mode: TaxMode
    ) -> Reconciler:
        return Reconciler(
            self.parts,
            policy=policy or Policy(),
            notify=self._notify,
            adopt=adopt or self._adopt,
            cancels=CancelRequests(self.parts, tax_mode=tax_mode),
        )

    def _notify(
        self, event: str, order: t.Any, transition: t.Any, **data: t.Any
    ) -> None:
        """After an order's transition commits: its signal, then the subscription
        it pays, if any."""
        signals.send(self.sender, event, order, transition, **data)
        self.subscriptions.follow(event, order)

    def _billing(
        self,
        sender: t.Any,
        channel_key: str | None,
        pg: str | None,
        notice_url: t.Callable[[], str | None],
    ) -> Billing:
        return Billing(
            self.parts,
            self.reconciler,
            make_merchant_uid=self.orders.new_merchant_uid,
            sender=sender,
            channel_key=channel_key,
            pg=pg,
            notice_url=notice_url,
        )

    @property
    def engine(self) -> Engine:
        """The database engine of the order store."""
        return self.store.engine

    def create_all(self) -> None:
        """Create the plugin's tables, or upgrade them
        (:meth:`~flask_nicepay.store.Store.create_all`)."""
        self.store.create_all()

    def _adopt(self, payment: Payment) -> dict[str, t.Any] | None:
        return self.billing.adopt(payment)
