"""The console's pages: the order list, one order's story, and the lists an
operator works through (virtual accounts, notifications, billing keys,
subscriptions)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t

from flask import Response
from flask import request

from .console_base import BadForm
from .console_base import console_bp
from .console_base import journal
from .console_base import page
from .console_journal import OUTCOMES
from .console_queries import KST
from .console_queries import ORIGINS
from .console_queries import OrderFilter
from .console_queries import awaiting_deposit
from .console_queries import list_orders
from .console_queries import notifications_page
from .console_queries import page_number
from .extra_refunds import TAKEN_BACK
from .inbox import REPLAYABLE
from .inbox import Kind
from .inbox import Outcome
from .ledger import RefundRow
from .machine import OrderState
from .payments import Payments
from .portone import NotFoundError
from .portone import Payment
from .portone import PortOneError
from .receipts import receipt_link
from .state import app_state
from .subscription_machine import SubscriptionState

#: Notifications the console lists unless asked for other outcomes.
TO_LOOK_AT = (*REPLAYABLE, Outcome.MISMATCH, Outcome.EXTRA)


@console_bp.app_template_filter("nicepay_kst")
def _kst(moment: dt.datetime | None) -> str:
    return (
        "" if moment is None else moment.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S")
    )


@console_bp.app_template_filter("nicepay_receipt")
def _receipt(url: str | None) -> str | None:
    return receipt_link(url)


def _payments() -> Payments:
    return app_state().payments


def _done() -> t.Any:
    """The action whose outcome the page reports (``?action=ID``), if any."""
    given = request.args.get("action", "")
    return journal().get(int(given)) if given.isdigit() and len(given) < 19 else None


@console_bp.get("/")
def orders() -> Response:
    """The order list, filtered and paged."""
    wanted = OrderFilter.read(request.args)
    found, next_before = list_orders(_payments().engine, wanted)
    return page(
        "nicepay/console/orders.html",
        orders=found,
        wanted=wanted,
        next_args=wanted.args(before=next_before) if next_before else None,
        states=[s.value for s in OrderState],
        origins=ORIGINS,
        done=_done(),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """One line of an order's story."""

    at: dt.datetime
    kind: str
    summary: str
    outcome: str | None = None
    detail: str | None = None
    entry_id: int | None = None
    #: A refund's receipt address, as kept.
    receipt: str | None = None
    #: An extra payment an operator may pay back (its automatic cancel's row).
    extra: str | None = None


def story(payments: Payments, merchant_uid: str) -> list[Event]:
    """Transitions, notifications, refunds and console actions, in time order."""
    events = [
        Event(
            row["created_at"],
            "transition",
            f"{row['from_state']} → {row['to_state']} ({row['event']}, "
            f"{row['source']})",
            detail=row["detail"],
        )
        for row in payments.orders.history(merchant_uid)
    ]
    events += [
        Event(
            entry.received_at,
            "notification",
            f"#{entry.id} {entry.kind} {entry.hint_status or ''}".rstrip(),
            outcome=entry.outcome,
            detail=entry.error,
            entry_id=entry.id if entry.outcome in REPLAYABLE else None,
        )
        for entry in payments.inbox.search(merchant_uid=merchant_uid)
    ]
    events += [
        Event(
            refund.requested_at,
            "refund",
            f"#{refund.id} {refund.amount:,} ({refund.origin})",
            outcome=refund.status,
            detail=" · ".join(x for x in (refund.reason, refund.error) if x) or None,
            receipt=refund.receipt_url,
            extra=refund.imp_uid if _taken_back(refund) else None,
        )
        for refund in payments.orders.refunds_of(merchant_uid)
    ]
    events += [_action_event(row) for row in journal().on(merchant_uid)]
    return sorted(events, key=lambda event: event.at)


def _taken_back(refund: RefundRow) -> bool:
    """An automatic cancel that did not pay the money back, nor is being sent."""
    return refund.source == "auto" and refund.status in TAKEN_BACK


def _action_event(row: t.Any) -> Event:
    return Event(
        row["created_at"],
        "action",
        f"{row['action']} · {row['actor']}",
        outcome=row["outcome"],
        detail=" · ".join(x for x in (row["detail"], row["error"]) if x) or None,
    )


@console_bp.get("/orders/<merchant_uid>")
def order(merchant_uid: str) -> Response:
    """One order's story, and PortOne's record of it when asked (``?portone=1``)."""
    payments = _payments()
    found = payments.orders.get(merchant_uid)
    if found is None:
        return page("nicepay/console/message.html", 404, message="not_found")
    snapshot, problem = (None, None)
    if request.args.get("portone"):
        snapshot, problem = _at_portone(payments, found.imp_uid, merchant_uid)
    return page(
        "nicepay/console/order.html",
        order=found,
        events=story(payments, merchant_uid),
        snapshot=snapshot,
        problem=problem,
        done=_done(),
    )


def _at_portone(
    payments: Payments, imp_uid: str | None, merchant_uid: str
) -> tuple[Payment | None, str | None]:
    """PortOne's payment now, read only; or why there is none."""
    try:
        if imp_uid:
            return payments.client.get_payment(imp_uid), None
        return payments.client.find_payment(merchant_uid), None
    except NotFoundError:
        return None, "portone_missing"
    except PortOneError:
        return None, "portone_down"


@console_bp.get("/vbanks")
def vbanks() -> Response:
    """Virtual accounts awaiting their deposit, the nearest deadline first."""
    payments = _payments()
    return page(
        "nicepay/console/vbanks.html",
        orders=awaiting_deposit(payments.engine),
        now=payments.clock(),
        done=_done(),
    )


@console_bp.get("/notifications")
def notifications() -> Response:
    """Notifications, newest first, 50 to a page: by default those that failed,
    found no order, are unprocessed or failed verification; ``outcome`` (one or
    several) and ``kind`` pick others."""
    chosen = _chosen(request.args.getlist("outcome"), [str(o) for o in Outcome])
    kind = request.args.get("kind") or None
    if kind is not None and (len(kind) > 16 or not kind.isidentifier()):
        raise BadForm("kind must be a notification's kind, such as webhook")
    before = page_number(request.args.get("before"))
    found, next_before = notifications_page(
        _payments().engine, chosen or [str(o) for o in TO_LOOK_AT], kind, before
    )
    return page(
        "nicepay/console/notifications.html",
        entries=found,
        outcomes=[str(o) for o in Outcome],
        chosen=chosen or [str(o) for o in TO_LOOK_AT],
        kinds=[str(k) for k in Kind],
        kind=kind,
        next_args={"outcome": chosen, "kind": kind, "before": next_before}
        if next_before
        else None,
        replayable={str(o) for o in REPLAYABLE},
        done=_done(),
    )


def _chosen(given: list[str], known: list[str]) -> list[str]:
    """The values asked for, each known, in the order known; none for none."""
    if set(given) - set(known):
        raise BadForm(f"outcome must be one of {', '.join(known)}")
    return [value for value in known if value in given]


@console_bp.get("/actions")
def actions() -> Response:
    """What operators did, newest first; ``outcome=started`` shows the actions
    that never finished (their process died mid-call) and reconciles running."""
    chosen = _chosen(request.args.getlist("outcome"), list(OUTCOMES))
    before = page_number(request.args.get("before"))
    found, next_before = journal().page(chosen or OUTCOMES, before=before)
    return page(
        "nicepay/console/actions.html",
        actions=found,
        outcomes=OUTCOMES,
        chosen=chosen,
        next_args={"outcome": chosen, "before": next_before} if next_before else None,
        done=_done(),
    )


@console_bp.get("/keys")
def keys() -> Response:
    """Billing keys kept here."""
    status = request.args.get("status") or None
    if status not in (None, "active", "deleted"):
        raise BadForm("status must be active or deleted")
    return page(
        "nicepay/console/keys.html",
        keys=_payments().billing.keys(status),
        done=_done(),
    )


@console_bp.get("/subscriptions")
def subscriptions() -> Response:
    """Subscriptions, newest first."""
    status = request.args.get("status") or None
    if status is not None and status not in {s.value for s in SubscriptionState}:
        raise BadForm("status must be a subscription state")
    found = _payments().subscriptions.find(status=status, limit=200)
    return page(
        "nicepay/console/subscriptions.html",
        subscriptions=found,
        statuses=[s.value for s in SubscriptionState],
        done=_done(),
    )
