"""Cancels and refunds, in full or in part, that can never exceed what was paid.

The order of work for every refund:

1. fetch the payment from PortOne and apply it, so cancels made in PortOne's console
   are in the ledger and the balance is PortOne's own;
2. write a ``pending`` ledger row in a compare-and-swap transaction on the order:
   only one refund of an order is in flight at a time, and it may not exceed the
   balance;
3. call PortOne's cancel with ``checksum`` = that balance, so PortOne itself refuses
   if anything moved in between;
4. apply the answer through the reconciler, which settles the ledger row and moves
   the order to ``partially_cancelled`` or ``cancelled``.

Had PortOne answered nothing, the row stays ``unknown`` until a later sync finds the
cancel in the payment's ``cancel_history`` (or not).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from decimal import Decimal

from sqlalchemy.engine import Connection

from . import ledger
from .cancel_requests import CancelAsk
from .ledger import RefundInProgressError
from .machine import MONEY_STATES
from .machine import OrderState
from .parts import Part
from .parts import Parts
from .portone import ConnectError
from .portone import NoResponseError
from .portone import Payment
from .portone import PortOneError
from .portone import RefundAccount
from .store import Order
from .store import Plan
from .store import UnknownOrderError
from .sync import Reconciler
from .sync import SyncResult
from .tax import TaxParts
from .tax import TaxPartsError

Money = int | Decimal
#: How long a cancel that got no answer may still show up at PortOne.
UNKNOWN_GRACE = dt.timedelta(minutes=10)


class RefundError(Exception):
    """A refund that cannot be made as asked; nothing was sent to PortOne."""


@dataclasses.dataclass(frozen=True, slots=True)
class RefundResult:
    """A refund that PortOne accepted, and what it did to the order."""

    refund_id: int
    amount: Decimal
    sync: SyncResult

    @property
    def order(self) -> Order | None:
        return self.sync.order


@dataclasses.dataclass(frozen=True, slots=True)
class _Ask:
    """One refund as it will be asked of PortOne."""

    cancel: CancelAsk
    reason: str | None
    refund_account: RefundAccount | None

    @property
    def amount(self) -> Decimal:
        return self.cancel.amount or self.cancel.balance


class Refunds(Part):
    """Refunds through PortOne's cancel API, recorded in the ledger first.

    :param parts: the PortOne client, the order store and the clock.
    :param reconciler: applies what PortOne answers.
    """

    def __init__(self, parts: Parts, reconciler: Reconciler) -> None:
        super().__init__(parts)
        self.reconciler = reconciler
        self.cancels = reconciler.cancels

    def refund(
        self,
        merchant_uid: str,
        amount: Money | None = None,
        *,
        tax_free: Money | None = None,
        vat_amount: Money | None = None,
        reason: str | None = None,
        refund_account: RefundAccount | None = None,
        source: str = "api",
    ) -> RefundResult:
        """Refund ``amount`` of a paid order, or all that is left when ``None``.

        :param tax_free: the tax-free part of this refund. Left out, it is worked
            out as :doc:`/refunds` says for the MID's tax mode
            (``NICEPAY_TAX_MODE``); with ``fixed``, give both parts or neither.
        :param vat_amount: the VAT part of this refund, likewise.
        :param refund_account: where a virtual-account payment is paid back.
        :raises RefundError: the order cannot be refunded that way, or the parts
            cannot be right (negative, more than what is left, a VAT more than the
            taxable part allows); nothing was sent.
        :raises ledger.RefundInProgressError: another refund is in flight.
        :raises PortOneError: PortOne refused or could not be reached; the ledger
            row records the outcome.
        """
        order = self._current(merchant_uid)
        ask = self._ask(order, amount, tax_free, vat_amount, reason, refund_account)
        row_id = self._reserve(order, ask, source)
        cancelled = self._cancel(row_id, order, ask)
        result = self.reconciler.apply(cancelled, source=source)
        return RefundResult(row_id, ask.amount, result)

    def _cancel(self, row_id: int, order: Order, ask: _Ask) -> Payment:
        """Ask PortOne to cancel, with the balance as ``checksum``."""
        try:
            return self.cancels.send(
                ask.cancel, reason=ask.reason, refund=ask.refund_account
            )
        except (ConnectError, NoResponseError) as exc:
            self._after_silence(row_id, order, exc)
            raise
        except PortOneError as exc:
            ledger.settle(
                self.store.engine, row_id, "failed", now=self.clock(), error=str(exc)
            )
            raise

    def _ask(
        self,
        order: Order,
        amount: Money | None,
        tax_free: Money | None,
        vat_amount: Money | None,
        reason: str | None,
        refund_account: RefundAccount | None,
    ) -> _Ask:
        """What to ask PortOne to cancel, checked against its fresh balance."""
        payment = self.client.get_payment(order.imp_uid or "")
        self.reconciler.apply(payment, source="refund")
        now = self.clock()
        ledger.fail_unmatched(
            self.store.engine, payment, before=now - UNKNOWN_GRACE, now=now
        )
        balance = payment.balance
        wanted = balance if amount is None else Decimal(amount)
        self._check(order, wanted, balance, refund_account)
        given = TaxParts.of(tax_free, vat_amount)
        try:
            cancel = self.cancels.ask(order, payment, wanted, given)
        except TaxPartsError as exc:
            raise RefundError(str(exc)) from None
        return _Ask(cancel, reason, refund_account)

    def cancel(
        self,
        merchant_uid: str,
        *,
        reason: str | None = None,
        refund_account: RefundAccount | None = None,
    ) -> SyncResult:
        """Cancel an order: refund it in full when paid, otherwise close it.

        Money still held after a mismatch (``NICEPAY_ON_MISMATCH = "hold"``, or an
        automatic cancel PortOne refused) is paid back before the order is closed.

        :param refund_account: where a paid virtual-account order is paid back.
        """
        order = self.store.get(merchant_uid)
        if order is not None and (order.balance > 0 or self._holds(order)):
            refunded = self.refund(
                merchant_uid, reason=reason, refund_account=refund_account
            )
            if (
                refunded.order is None
                or refunded.order.state is not OrderState.MISMATCH
            ):
                return refunded.sync
        return self.reconciler.close(merchant_uid, reason=reason)

    def _holds(self, order: Order) -> bool:
        """A mismatched order whose payment PortOne still holds, per the policy."""
        if order.state is not OrderState.MISMATCH:
            return False
        rows = ledger.refunds_for(self.store.engine, order.merchant_uid)
        # Held by the policy, or kept because PortOne refused the automatic cancel.
        kept = ("held", "failed")
        held = sum(r.amount for r in rows if r.source == "auto" and r.status in kept)
        returned = sum(
            r.amount for r in rows if r.source != "auto" and r.status == "succeeded"
        )
        return held > returned

    def _current(self, merchant_uid: str) -> Order:
        order = self.store.get(merchant_uid)
        if order is None:
            raise UnknownOrderError(merchant_uid)
        if order.imp_uid is None or order.state not in (
            *MONEY_STATES,
            OrderState.MISMATCH,
        ):
            raise RefundError(
                f"Order {merchant_uid} is {order.state.value}: it holds no payment "
                "to refund."
            )
        return order

    def _check(
        self,
        order: Order,
        amount: Decimal,
        balance: Decimal,
        refund_account: RefundAccount | None,
    ) -> None:
        if amount <= 0:
            raise RefundError("A refund amount must be more than 0.")
        if amount > balance:
            raise RefundError(
                f"Refund of {amount} exceeds what is left of the payment ({balance})."
            )
        if order.pay_method == "vbank" and refund_account is None:
            raise RefundError(
                "A virtual-account payment is refunded to a bank account: pass "
                "refund_account (holder, 3-digit bank code, account number)."
            )

    def _reserve(self, order: Order, ask: _Ask, source: str) -> int:
        """Write the pending ledger row, bumping the order's version with it."""
        ids: list[int] = []
        now = self.clock()

        def insert(conn: Connection, current: Order) -> None:
            ids.append(
                ledger.open_refund(
                    conn,
                    order_id=current.id,
                    merchant_uid=current.merchant_uid,
                    imp_uid=ask.cancel.imp_uid,
                    amount=ask.amount,
                    checksum=ask.cancel.balance,
                    now=now,
                    source=source,
                    reason=ask.reason,
                    tax_free=ask.cancel.parts.tax_free,
                    vat_amount=ask.cancel.parts.vat_amount,
                    refund=ask.refund_account,
                )
            )

        def decide(conn: Connection, current: Order) -> Plan | None:
            ids.clear()
            balance, imp_uid = ask.cancel.balance, ask.cancel.imp_uid
            stale = current.state in MONEY_STATES and current.balance != balance
            if current.imp_uid != imp_uid or stale:
                # Another refund or a console cancel landed since we looked:
                # PortOne would refuse the checksum anyway.
                raise RefundInProgressError(
                    f"Order {order.merchant_uid} changed while refunding; try again."
                )
            return Plan(also=insert, detail=f"refund of {ask.amount} requested")

        self.store.apply(order.merchant_uid, decide, source=source)
        return ids[0]

    def _after_silence(self, row_id: int, order: Order, exc: PortOneError) -> None:
        """The cancel may or may not have happened: ask PortOne before deciding."""
        if isinstance(exc, ConnectError):
            ledger.settle(
                self.store.engine, row_id, "failed", now=self.clock(), error=str(exc)
            )
            return
        ledger.settle(
            self.store.engine, row_id, "unknown", now=self.clock(), error=str(exc)
        )
        # A later reconcile settles it if PortOne cannot be asked now; the row says
        # "unknown" meanwhile and holds up further refunds of the order.
        with contextlib.suppress(PortOneError):
            self.reconciler.sync(imp_uid=order.imp_uid, source="refund")
