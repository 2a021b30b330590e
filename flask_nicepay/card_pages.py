"""The hosted page where a logged-in customer registers a card (a billing key).

With NICE's old module a billing key can only be issued through the REST API, from
card data the store collects. This page collects it, so a store never writes a
card form of its own:

* the store sends the customer to :func:`registration_url`: a signed link that
  binds the ``customer_uid`` and the page to return to, and expires, so nobody
  can attach a card to someone else's account or reuse an old link;
* the form is protected against cross-site posts, answers only over HTTPS in live
  mode, and attempts are limited per customer and per client address against
  card testing (all as :mod:`flask_nicepay.card_forms` describes);
* the card goes to PortOne and nowhere else: it is not logged, stored, put in the
  inbox, kept in the session or written back into the form. Only what PortOne
  returns (the masked number, the card's name) is kept.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from flask import Response
from flask import redirect
from flask import request
from flask import url_for

from .blueprint import bp
from .card_entry import read_card
from .card_forms import ATTEMPT_WINDOW as ATTEMPT_WINDOW
from .card_forms import CSRF_COOKIE as CSRF_COOKIE
from .card_forms import LINK_LIFETIME
from .card_forms import MAX_ATTEMPTS_PER_ADDRESS as MAX_ATTEMPTS_PER_ADDRESS
from .card_forms import MAX_ATTEMPTS_PER_CUSTOMER as MAX_ATTEMPTS_PER_CUSTOMER
from .card_forms import LinkError as LinkError
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
from .portone import CardError
from .portone import PortOneError
from .state import State
from .state import app_state

_SALT = "nicepay-card-registration"


def registration_url(
    customer_uid: str,
    *,
    next: str = "/",
    valid_for: dt.timedelta = LINK_LIFETIME,
    _external: bool = False,
) -> str:
    """A signed link to the card registration page for one customer.

    :param customer_uid: the billing key to issue; give it only to the customer it
        belongs to (the link is all the page trusts).
    :param next: the same-site path the customer returns to afterwards.
    :param valid_for: how long the link works.
    :raises ValueError: ``next`` is not a same-site path.
    :raises ~flask_nicepay.inbound.InvalidIdError: ``customer_uid`` is a value no
        billing key can have (NUL, a lone surrogate, over 80 characters).
    """
    if not same_site_path(next):
        raise ValueError("next must be a path on this site, starting with one '/'.")
    token = sign_link(app_state(), _SALT, {"c": customer_uid, "n": next}, valid_for)
    return url_for("nicepay.register_card", t=token, _external=_external)


def register_card() -> Response:
    """``GET`` shows the form, ``POST`` issues the key."""
    state = app_state()
    language = buyer_language()
    words = texts(language)
    if not state.settings.mode.sandbox and not request.is_secure:
        return _page(state, 403, language, fatal=words["card_https_only"])
    try:
        link = read_link(state, _SALT, request.args.get("t", ""), {"c", "n"})
    except LinkError:
        return _page(state, 400, language, fatal=words["card_link_invalid"])
    if request.method == "GET":
        return _page(state, 200, language)
    if not csrf_ok():
        return _page(state, 400, language, fatal=words["card_form_expired"])
    address, customer_uid = client_address(), link["c"]
    if blocked(state, address, customer_uid=customer_uid):
        return _page(state, 429, language, fatal=words["card_too_many"])
    entry, errors = read_card(request.form, now=state.payments.clock())
    if entry is None:
        note(state, address, "invalid", customer_uid=customer_uid)
        return _page(state, 422, language, errors=errors)
    try:
        state.payments.billing.issue_key(customer_uid, entry.card)
    except CardError as exc:
        note(state, address, "refused", customer_uid=customer_uid)
        # PortOne's reason as it came (the card company's words), never the
        # English of the error, which names the request.
        return _page(state, 422, language, refused=exc.message or "")
    except PortOneError:
        return _page(state, 503, language, fatal=words["unavailable"])
    note(state, address, "issued", customer_uid=customer_uid)
    return t.cast(Response, redirect(link["n"], code=303))


bp.add_url_rule("/cards/new", "register_card", register_card, methods=["GET", "POST"])


def _page(state: State, status: int, language: str, **context: t.Any) -> Response:
    return card_page(state, "nicepay/card_register.html", status, language, **context)
