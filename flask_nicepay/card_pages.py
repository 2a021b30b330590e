"""The hosted page where a logged-in customer registers a card (a billing key).

With NICE's old module a billing key can only be issued through the REST API, from
card data the store collects. This page collects it, so a store never writes a
card form of its own:

* the store sends the customer to :func:`registration_url`: a signed link that
  binds the ``customer_uid`` and the page to return to, and expires, so nobody
  can attach a card to someone else's account or reuse an old link;
* the form is protected against cross-site posts by a token that must match a
  ``SameSite=Strict`` cookie;
* in live mode the page answers only over HTTPS;
* attempts are limited per customer and per client address
  (:data:`MAX_ATTEMPTS_PER_CUSTOMER`, :data:`MAX_ATTEMPTS_PER_ADDRESS` in
  :data:`ATTEMPT_WINDOW`) against card testing;
* the card goes to PortOne and nowhere else: it is not logged, stored, put in the
  inbox, kept in the session or written back into the form. Only what PortOne
  returns (the masked number, the card's name) is kept.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import typing as t
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from itsdangerous import BadSignature
from itsdangerous import URLSafeSerializer

from . import tables
from .blueprint import bp
from .card_entry import read_card
from .db import execute_alone
from .doors import client_address
from .i18n import texts
from .portone import CardError
from .portone import PortOneError
from .state import State
from .state import app_state

#: How long a registration link works.
LINK_LIFETIME = dt.timedelta(minutes=30)
#: Attempts counted per customer and per address, over :data:`ATTEMPT_WINDOW`.
MAX_ATTEMPTS_PER_CUSTOMER = 5
MAX_ATTEMPTS_PER_ADDRESS = 20
ATTEMPT_WINDOW = dt.timedelta(hours=1)
#: The form's cross-site token travels in this cookie too.
CSRF_COOKIE = "nicepay_card_csrf"

_SALT = "nicepay-card-registration"


class LinkError(Exception):
    """The registration link is not one this app signed, or it has expired."""


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
    """
    if not _same_site_path(next):
        raise ValueError("next must be a path on this site, starting with one '/'.")
    state = app_state()
    expires = int((state.payments.clock() + valid_for).timestamp())
    token = _serializer(state).dumps({"c": customer_uid, "n": next, "e": expires})
    return url_for("nicepay.register_card", t=token, _external=_external)


def register_card() -> Response:
    """``GET`` shows the form, ``POST`` issues the key."""
    state = app_state()
    language = state.settings.language
    words = texts(language)
    if not state.settings.mode.sandbox and not request.is_secure:
        return _page(state, 403, language, fatal=words["card_https_only"])
    try:
        link = _read_link(state, request.args.get("t", ""))
    except LinkError:
        return _page(state, 400, language, fatal=words["card_link_invalid"])
    if request.method == "GET":
        return _page(state, 200, language)
    if not _csrf_ok():
        return _page(state, 400, language, fatal=words["card_form_expired"])
    address = client_address()
    if _blocked(state, link["c"], address):
        return _page(state, 429, language, fatal=words["card_too_many"])
    entry, errors = read_card(request.form, now=state.payments.clock())
    if entry is None:
        _note(state, link["c"], address, "invalid")
        return _page(state, 422, language, errors=errors)
    try:
        state.payments.billing.issue_key(link["c"], entry.card)
    except CardError as exc:
        _note(state, link["c"], address, "refused")
        return _page(state, 422, language, refused=str(exc))
    except PortOneError:
        return _page(state, 503, language, fatal=words["unavailable"])
    _note(state, link["c"], address, "issued")
    return t.cast(Response, redirect(link["n"], code=303))


bp.add_url_rule("/cards/new", "register_card", register_card, methods=["GET", "POST"])


# -- the link and the form token ------------------------------------------------------


def _serializer(state: State) -> URLSafeSerializer:
    return URLSafeSerializer(state.signer.secret_keys[-1], salt=_SALT)


def _read_link(state: State, token: str) -> dict[str, t.Any]:
    try:
        link = _serializer(state).loads(token)
    except BadSignature:
        raise LinkError from None
    if not isinstance(link, dict) or {"c", "n", "e"} - link.keys():
        raise LinkError
    if link["e"] < state.payments.clock().timestamp():
        raise LinkError
    return link


def _csrf_ok() -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.form.get("csrf_token", "")
    return bool(cookie) and hmac.compare_digest(cookie, sent)


def _same_site_path(path: str) -> bool:
    parts = urlsplit(path)
    return (
        path.startswith("/")
        and not path.startswith("//")
        and not parts.scheme
        and not parts.netloc
        and "\\" not in path
    )


# -- attempts -------------------------------------------------------------------------


def _blocked(state: State, customer_uid: str, address: str | None) -> bool:
    since = state.payments.clock() - ATTEMPT_WINDOW
    table = tables.card_attempts
    recent = sa.select(sa.func.count()).where(table.c.attempted_at >= since)
    with state.payments.engine.connect() as conn:
        by_customer = conn.execute(
            recent.where(table.c.customer_uid == customer_uid)
        ).scalar_one()
        by_address = (
            conn.execute(recent.where(table.c.remote_addr == address)).scalar_one()
            if address
            else 0
        )
    return bool(
        by_customer >= MAX_ATTEMPTS_PER_CUSTOMER
        or by_address >= MAX_ATTEMPTS_PER_ADDRESS
    )


def _note(state: State, customer_uid: str, address: str | None, outcome: str) -> None:
    execute_alone(
        state.payments.engine,
        sa.insert(tables.card_attempts),
        {
            "customer_uid": customer_uid,
            "remote_addr": address,
            "outcome": outcome,
            "attempted_at": state.payments.clock(),
        },
    )


# -- the page -------------------------------------------------------------------------


def _page(state: State, status: int, language: str, **context: t.Any) -> Response:
    token = secrets.token_urlsafe(24)
    body = render_template(
        "nicepay/card_register.html",
        t=texts(language),
        lang=language,
        sandbox=state.settings.mode.sandbox,
        csrf_token=token,
        action=request.full_path,
        errors=context.pop("errors", {}),
        **context,
    )
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.set_cookie(
        CSRF_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=not state.settings.mode.sandbox,
        path=request.path,
    )
    return response
