"""Paying an order that exists by key-in: once, however many submissions race.

A buyer who double-clicks, or submits from two tabs, or whose submissions land on
two workers, must be charged once. PortOne refuses a second payment only for a
merchant_uid that is already *paid*; two calls in flight at the same moment are
both processed. So before PortOne is asked, the attempt is claimed in the
database (table ``nicepay_key_in_claims``, one row per order):

* a claim is taken by inserting the order's row, or by a compare-and-swap on the
  row's random ``holder`` token when the last claim is over; whoever loses gets
  :class:`PaymentInProgressError` and PortOne is not asked;
* a claim held longer than :data:`CLAIM_LIFETIME` belongs to a worker that died:
  the next submission takes it over;
* the claim is released with what is known afterwards: ``done`` when PortOne's
  answer (a payment, a decline, a card it could not authenticate) was applied,
  ``unsure`` when no answer came or the worker died holding it. A claim taken
  after an ``unsure`` one first looks the order up at PortOne by its
  merchant_uid, so a payment that did go through is found, not repeated.

No card data reaches the table: only the merchant_uid, a token and times.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import secrets
import typing as t

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from . import tables
from .db import execute_alone
from .machine import MONEY_STATES
from .machine import InvalidTransitionError
from .machine import OrderState
from .portone import APIError
from .portone import CardError
from .portone import ConnectError
from .portone import NotFoundError
from .portone import Payment
from .portone import PaymentDeclinedError
from .portone import PortOneError
from .portone import ServerError
from .store import Order
from .store import UnknownOrderError
from .sync import Reconciler

#: How long a claim may be held before another submission takes it over. Longer
#: than any call to PortOne with the client's timeouts (a payment call is never
#: repeated by the client).
CLAIM_LIFETIME = dt.timedelta(minutes=2)
#: The states from which an order may be paid by key-in: waiting, or declined
#: before (the buyer may try another card).
KEY_IN_STATES = frozenset({OrderState.READY, OrderState.FAILED})

_CLAIMS = tables.key_in_claims
_BUSY, _DONE, _UNSURE = "busy", "done", "unsure"


class PaymentInProgressError(Exception):
    """Another submission is paying this order right now; PortOne was not asked.

    Show the buyer the order again in a moment: the other submission's result
    will be there.
    """

    def __init__(self, merchant_uid: str) -> None:
        super().__init__(f"A key-in payment of {merchant_uid!r} is in progress.")
        self.merchant_uid = merchant_uid


@dataclasses.dataclass(frozen=True, slots=True)
class Claim:
    """The right to call PortOne for one order, until released or expired."""

    merchant_uid: str
    holder: str
    #: The claim before this one ended with no answer from PortOne.
    unsure: bool


def take_claim(
    engine: Engine,
    merchant_uid: str,
    now: dt.datetime,
    lifetime: dt.timedelta = CLAIM_LIFETIME,
) -> Claim:
    """Claim the order's key-in attempt, or learn that someone else holds it.

    :raises PaymentInProgressError: another claim is held and has not expired, or
        another submission took the claim between this one's read and write.
    """
    holder = secrets.token_hex(16)
    values = {
        "holder": holder,
        "status": _BUSY,
        "claimed_at": now,
        "expires_at": now + lifetime,
    }
    try:
        insert = sa.insert(_CLAIMS)
        execute_alone(engine, insert, {"merchant_uid": merchant_uid, **values})
        return Claim(merchant_uid, holder, unsure=False)
    except IntegrityError:
        pass  # claimed before: take it over if it is free
    where = _CLAIMS.c.merchant_uid == merchant_uid
    with engine.connect() as conn:
        last = conn.execute(sa.select(_CLAIMS).where(where)).mappings().first()
    if last is None or (last["status"] == _BUSY and last["expires_at"] > now):
        raise PaymentInProgressError(merchant_uid)
    swap = sa.update(_CLAIMS).where(where, _CLAIMS.c.holder == last["holder"])
    if execute_alone(engine, swap, values).rowcount != 1:
        raise PaymentInProgressError(merchant_uid)
    return Claim(merchant_uid, holder, unsure=last["status"] != _DONE)


def release_claim(
    engine: Engine, claim: Claim, now: dt.datetime, *, unsure: bool
) -> None:
    """Give the claim up, saying whether PortOne's side is known; a claim taken
    over meanwhile (this one had expired) is left alone."""
    mine = sa.update(_CLAIMS).where(
        _CLAIMS.c.merchant_uid == claim.merchant_uid,
        _CLAIMS.c.holder == claim.holder,
    )
    execute_alone(
        engine, mine, {"status": _UNSURE if unsure else _DONE, "expires_at": now}
    )


def recheck(reconciler: Reconciler, merchant_uid: str) -> None:
    """Look the order up at PortOne if its last key-in attempt got no answer, so
    that a page shows it paid before the buyer types the card again.

    Does nothing when the last attempt's end is known or another one is under
    way; a look-up that fails leaves it to the next visit or submission.
    """
    engine, clock = reconciler.store.engine, reconciler.clock
    query = sa.select(_CLAIMS).where(_CLAIMS.c.merchant_uid == merchant_uid)
    with engine.connect() as conn:
        last = conn.execute(query).mappings().first()
    if last is None or last["status"] == _DONE:
        return
    try:
        claim = take_claim(engine, merchant_uid, clock())
    except PaymentInProgressError:
        return
    unsure = True
    try:
        _current(reconciler, merchant_uid, looked_up=True)
        unsure = False
    except PortOneError:
        pass  # still unknown: the next visit or submission looks again
    finally:
        release_claim(engine, claim, clock(), unsure=unsure)


def pay_once(
    reconciler: Reconciler, merchant_uid: str, charge: t.Callable[[Order], Payment]
) -> Order:
    """Run ``charge`` for an order under its claim, and apply PortOne's answer.

    :param charge: makes the one PortOne call that pays the order as read.
    :returns: the order afterwards; an order that holds money already (paid by an
        earlier submission, found paid by the look-up) comes back unchanged and
        PortOne is not asked.
    :raises UnknownOrderError: no such order.
    :raises PaymentInProgressError: another submission holds the claim.
    :raises InvalidTransitionError: the order cannot be paid from its state
        (cancelled, a virtual account, a mismatch).
    :raises PortOneError: what ``charge`` raised (:class:`CardError`,
        :class:`PaymentDeclinedError`, :class:`NoResponseError` ...), or the
        look-up before a retry failed.
    """
    store, clock = reconciler.store, reconciler.clock
    if store.get(merchant_uid) is None:
        raise UnknownOrderError(merchant_uid)
    claim = take_claim(store.engine, merchant_uid, clock())
    outcome = _Outcome()
    try:
        order = _current(reconciler, merchant_uid, looked_up=claim.unsure)
        outcome.unsure = False
        if order.state in MONEY_STATES:
            return order
        if order.state not in KEY_IN_STATES:
            raise InvalidTransitionError("pay", order.state)
        return _charge(reconciler, order, charge, outcome)
    finally:
        release_claim(store.engine, claim, clock(), unsure=outcome.unsure)


@dataclasses.dataclass
class _Outcome:
    unsure: bool = True


def _current(reconciler: Reconciler, merchant_uid: str, *, looked_up: bool) -> Order:
    """The order as it stands; first as PortOne knows it, after a lost answer."""
    if looked_up:
        # NotFoundError: PortOne has no attempt of this order, nothing was charged.
        with contextlib.suppress(NotFoundError):
            reconciler.sync(merchant_uid=merchant_uid, source="api")
    order = reconciler.store.get(merchant_uid)
    assert order is not None  # orders are never deleted
    return order


def _charge(
    reconciler: Reconciler,
    order: Order,
    charge: t.Callable[[Order], Payment],
    outcome: _Outcome,
) -> Order:
    try:
        payment = charge(order)
    except PaymentDeclinedError as exc:
        reconciler.apply(exc.payment, source="api")
        outcome.unsure = False
        raise
    except (CardError, ConnectError):
        outcome.unsure = False  # PortOne refused, or was never reached
        raise
    except PortOneError as exc:
        # No answer, or a 5xx: PortOne may have charged. Any other answer is a
        # refusal ("already paid" among them), after which a look-up tells.
        known = _look_up(reconciler, order.merchant_uid)
        answered = isinstance(exc, APIError) and not isinstance(exc, ServerError)
        outcome.unsure = not (known or answered)
        current = reconciler.store.get(order.merchant_uid)
        if answered and current is not None and current.state in MONEY_STATES:
            return current
        raise
    result = reconciler.apply(payment, source="api")
    outcome.unsure = False
    assert result.order is not None
    return result.order


def _look_up(reconciler: Reconciler, merchant_uid: str) -> bool:
    """Apply PortOne's latest attempt of the order; whether it could be read."""
    try:
        reconciler.sync(merchant_uid=merchant_uid, source="api")
    except PortOneError:
        return False
    return True
