"""The hosted page where a buyer pays one order by typing a card (key-in).

The store creates the order (:meth:`~flask_nicepay.orders.Orders.create`) and
sends the buyer to :func:`key_in_url`: a signed, expiring link that binds the
``merchant_uid``, the page to go to afterwards and, optionally, the
``customer_uid`` under which the buyer may choose to keep the card. The page
shows the order's name and amount as the database holds them (never as a link
or a form says), offers installments only from 50,000 KRW, and the "keep this
card" box only when the link names a ``customer_uid``.

It shares the card form, its checks and its protections with the card
registration page (:mod:`flask_nicepay.card_forms`): CSRF token, HTTPS only in
live mode, attempts limited per order, per customer and per address, no script.
The payment itself is :meth:`~flask_nicepay.billing.Billing.pay_order_key_in`,
which lets one submission at a time reach PortOne.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from decimal import Decimal

from flask import Response
from flask import redirect
from flask import request
from flask import url_for

from .blueprint import GOOD
from .blueprint import bp
from .blueprint import destination
from .card_entry import INSTALLMENT_MINIMUM
from .card_entry import QUOTA_MONTHS
from .card_entry import CardEntry
from .card_entry import read_card
from .card_forms import LINK_LIFETIME
from .card_forms import LinkError
from .card_forms import blocked
from .card_forms import card_page
from .card_forms import csrf_ok
from .card_forms import note
from .card_forms import read_link
from .card_forms import same_site_path
from .card_forms import sign_link
from .display import buyer_language
from .doors import client_address
from .i18n import texts
from .key_in import KEY_IN_STATES
from .key_in import PaymentInProgressError
from .key_in import recheck
from .machine import InvalidTransitionError
from .portone import CardError
from .portone import NoResponseError
from .portone import PaymentDeclinedError
from .portone import PortOneError
from .state import State
from .state import app_state
from .store import Order

_SALT = "nicepay-key-in"


def key_in_url(
    merchant_uid: str,
    *,
    next: str | None = None,
    keep_as: str | None = None,
    valid_for: dt.timedelta = LINK_LIFETIME,
    _external: bool = False,
) -> str:
    """A signed link to the key-in payment page of one order.

    :param merchant_uid: the order to pay; its amount and name come from the
        database when the page is shown.
    :param next: the same-site path the buyer goes to once the order is paid;
        by default :data:`~flask_nicepay.config.NICEPAY_SUCCESS_URL` or the
        plugin's result page.
    :param keep_as: a ``customer_uid`` under which the buyer may choose to keep
        the card as a billing key (give only the buyer's own); without it the
        page offers no such choice.
    :param valid_for: how long the link works.
    :raises ValueError: ``next`` is not a same-site path.
    :raises LookupError: there is no such order (or ``merchant_uid`` is a value
        no order can have).
    :raises ~flask_nicepay.inbound.InvalidIdError: ``keep_as`` is a value no
        billing key can have.
    """
    if next is not None and not same_site_path(next):
        raise ValueError("next must be a path on this site, starting with one '/'.")
    state = app_state()
    if state.payments.orders.get(merchant_uid) is None:
        raise LookupError(f"No order {merchant_uid!r}.")
    payload = {"m": merchant_uid, "n": next, "k": keep_as}
    token = sign_link(state, _SALT, payload, valid_for)
    return url_for("nicepay.key_in", t=token, _external=_external)


class _Visit(t.NamedTuple):
    """One request to the page: who the link names, and the order as read."""

    state: State
    language: str
    link: dict[str, t.Any]
    order: Order

    @property
    def words(self) -> t.Mapping[str, str]:
        return texts(self.language)

    @property
    def subject(self) -> dict[str, str | None]:
        """What the attempts are counted against, besides the address."""
        return {"merchant_uid": self.order.merchant_uid, "customer_uid": self.link["k"]}


def key_in() -> Response:
    """``GET`` shows the order and the card form, ``POST`` pays the order."""
    state = app_state()
    language = buyer_language()
    words = texts(language)
    if not state.settings.mode.sandbox and not request.is_secure:
        return _bare(state, 403, language, fatal=words["card_https_only"])
    try:
        link = read_link(state, _SALT, request.args.get("t", ""), {"m", "n", "k"})
    except LinkError:
        return _bare(state, 400, language, fatal=words["card_link_invalid"])
    if state.payments.orders.get(link["m"]) is not None:
        recheck(state.payments.reconciler, link["m"])
    order = state.payments.orders.get(link["m"])
    if order is None:
        return _bare(state, 404, language, fatal=words["order_not_found"])
    visit = _Visit(state, language, link, order)
    if order.state not in KEY_IN_STATES:
        return _done(visit, order)
    if request.method == "GET":
        return _form(visit, 200)
    if not csrf_ok():
        return _form(visit, 400, fatal=words["card_form_expired"], again=True)
    return _submitted(visit)


bp.add_url_rule("/key-in", "key_in", key_in, methods=["GET", "POST"])


def _submitted(visit: _Visit) -> Response:
    """Check the limits and the card, then pay."""
    state, address = visit.state, client_address()
    if blocked(state, address, **visit.subject):
        return _form(visit, 429, fatal=visit.words["card_too_many"])
    entry, errors = read_card(
        request.form, now=state.payments.clock(), amount=_installable(visit.order)
    )
    if entry is None:
        note(state, address, "invalid", **visit.subject)
        return _form(visit, 422, errors=errors)
    keep = visit.link["k"] if request.form.get("keep_card") == "1" else None
    outcome, answer = _pay(visit, entry, keep)
    if outcome is not None:
        note(state, address, outcome, **visit.subject)
    return answer


def _pay(
    visit: _Visit, entry: CardEntry, keep: str | None
) -> tuple[str | None, Response]:
    """The payment, and how it ended: the attempt's outcome and the answer."""
    words, uid = visit.words, visit.order.merchant_uid
    try:
        order = visit.state.payments.billing.pay_order_key_in(
            uid, entry.card, card_quota=entry.card_quota or None, customer_uid=keep
        )
    except CardError as exc:
        refused = f"{words['key_in_refused']} {exc.message or ''}".strip()
        return "refused", _form(visit, 422, refused=refused)
    except PaymentDeclinedError as exc:
        reason = f"{words['key_in_declined']} {exc.payment.fail_reason or ''}"
        return "declined", _form(visit, 422, refused=reason.strip())
    except PaymentInProgressError:
        return None, _form(visit, 409, fatal=words["key_in_busy"], again=True)
    except InvalidTransitionError:
        return None, _done(visit, _reread(visit))
    except NoResponseError:
        return "unknown", _lost(visit, "key_in_unknown")
    except PortOneError:
        return None, _lost(visit, "unavailable")
    if order.state in GOOD:
        return order.state.value, _onward(visit, order)
    return order.state.value, _done(visit, order)


def _reread(visit: _Visit) -> Order:
    order = visit.state.payments.orders.get(visit.order.merchant_uid)
    assert order is not None  # orders are never deleted
    return order


def _lost(visit: _Visit, message: str) -> Response:
    """No answer came, or a failure: the look-up after it may have found the
    payment; else say so."""
    order = _reread(visit)
    if order.state in GOOD:
        return _onward(visit, order)
    return _form(visit, 503, fatal=visit.words[message], again=True)


def _installable(order: Order) -> Decimal:
    """The amount installments are judged by: none but KRW from 50,000."""
    return order.amount if order.currency == "KRW" else Decimal(0)


def _next_url(visit: _Visit, order: Order) -> str:
    return t.cast(str, visit.link["n"] or destination(order))


def _onward(visit: _Visit, order: Order) -> Response:
    return t.cast(Response, redirect(_next_url(visit, order), code=303))


# -- the page -------------------------------------------------------------------------


def _form(visit: _Visit, status: int, **context: t.Any) -> Response:
    order = visit.order
    if context.pop("again", False):
        context["again_url"] = request.full_path
    quotas = QUOTA_MONTHS if _installable(order) >= INSTALLMENT_MINIMUM else ()
    return _bare(
        visit.state,
        status,
        visit.language,
        order=order,
        quotas=quotas,
        keep=bool(visit.link["k"]),
        **context,
    )


def _done(visit: _Visit, order: Order) -> Response:
    """The order's result instead of the form: it is not to be paid here now."""
    return _bare(
        visit.state,
        200,
        visit.language,
        order=order,
        done=True,
        next_url=_next_url(visit, order),
    )


def _bare(state: State, status: int, language: str, **context: t.Any) -> Response:
    return card_page(state, "nicepay/key_in.html", status, language, **context)
