"""What every hosted page that takes a card shares: the signed link, the form's
cross-site token, the attempt limits and the answer's headers.

Two pages use it: card registration
(:func:`~flask_nicepay.card_pages.registration_url`) and the key-in payment of an
order (:func:`~flask_nicepay.key_in_pages.key_in_url`).

* **The link is the only trust.** It is signed with the app's secret key (a salt
  per page, so a link to one page never opens the other) and expires.
* **Cross-site posts are refused**: the form carries a token that must match a
  ``SameSite=Strict``, ``HttpOnly`` cookie scoped to the page's path.
* **Card testing is limited.** Every submission that reaches the card checks is a
  row of ``nicepay_card_attempts`` (who, which order, from where, when, the
  outcome; never what was typed), shared by every worker and by both pages. In
  :data:`ATTEMPT_WINDOW` a customer gets :data:`MAX_ATTEMPTS_PER_CUSTOMER`
  submissions, an order :data:`MAX_ATTEMPTS_PER_ORDER` and a client address
  :data:`MAX_ATTEMPTS_PER_ADDRESS`, whichever runs out first.
* **The answer is not kept or framed**: ``Cache-Control: no-store``, and a
  Content-Security-Policy that allows the page's own style sheet and nothing
  else: no script at all, no framing, posts to the same site only.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import typing as t
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Response
from flask import render_template
from flask import request
from itsdangerous import BadSignature
from itsdangerous import URLSafeSerializer

from . import tables
from .db import execute_alone
from .display import Display
from .i18n import texts
from .inbound import IdKind
from .inbound import can_be_id
from .inbound import check_id
from .state import State

#: How long a link to a card page works, unless its maker says otherwise.
LINK_LIFETIME = dt.timedelta(minutes=30)
#: Submissions one customer gets over :data:`ATTEMPT_WINDOW`, on both pages.
MAX_ATTEMPTS_PER_CUSTOMER = 5
#: Submissions one order's key-in page gets over :data:`ATTEMPT_WINDOW`.
MAX_ATTEMPTS_PER_ORDER = 5
#: Submissions one client address gets over :data:`ATTEMPT_WINDOW`, on both pages.
MAX_ATTEMPTS_PER_ADDRESS = 20
#: How far back submissions are counted.
ATTEMPT_WINDOW = dt.timedelta(hours=1)
#: The form's cross-site token travels in this cookie too.
CSRF_COOKIE = "nicepay_card_csrf"
#: The Content-Security-Policy of every card page.
CARD_PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


#: The fields of a link that name an id, and the kind of id each names.
LINK_IDS: t.Final[t.Mapping[str, IdKind]] = {
    "c": "customer_uid",
    "m": "merchant_uid",
    "k": "customer_uid",
}


class LinkError(Exception):
    """The link is not one this app signed for the page, or it has expired."""


def sign_link(
    state: State, salt: str, payload: t.Mapping[str, t.Any], valid_for: dt.timedelta
) -> str:
    """The signed token of a link; ``payload`` gets its expiry as ``e``.

    :raises ~flask_nicepay.inbound.InvalidIdError: an id it names is a value no
        column can hold (see :data:`LINK_IDS`).
    """
    for kind, value in _ids(payload):
        check_id(kind, value)
    expires = int((state.payments.clock() + valid_for).timestamp())
    return _serializer(state, salt).dumps({**payload, "e": expires})


def read_link(
    state: State, salt: str, token: str, fields: t.AbstractSet[str]
) -> dict[str, t.Any]:
    """The payload of a link signed by :func:`sign_link`, still valid.

    :raises LinkError: not signed here for ``salt``, lacking ``fields``, naming an
        id no column can hold (signed before such ids were refused), or expired.
    """
    try:
        link = _serializer(state, salt).loads(token)
    except BadSignature:
        raise LinkError from None
    if not isinstance(link, dict) or (set(fields) | {"e"}) - link.keys():
        raise LinkError
    if not isinstance(link["e"], int) or link["e"] < state.payments.clock().timestamp():
        raise LinkError
    if not all(can_be_id(kind, value) for kind, value in _ids(link)):
        raise LinkError
    return link


def _ids(link: t.Mapping[str, t.Any]) -> list[tuple[IdKind, t.Any]]:
    return [(kind, link[f]) for f, kind in LINK_IDS.items() if link.get(f) is not None]


def _serializer(state: State, salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(state.signer.secret_keys[-1], salt=salt)


def same_site_path(path: str) -> bool:
    """Whether ``path`` is a path on this site (``/...``), not another site's URL."""
    parts = urlsplit(path)
    return (
        path.startswith("/")
        and not path.startswith("//")
        and not parts.scheme
        and not parts.netloc
        and "\\" not in path
    )


def csrf_ok() -> bool:
    """Whether the posted form's token matches its cookie."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.form.get("csrf_token", "")
    return bool(cookie) and hmac.compare_digest(cookie, sent)


# -- attempts -------------------------------------------------------------------------


def blocked(
    state: State,
    address: str | None,
    *,
    customer_uid: str | None = None,
    merchant_uid: str | None = None,
) -> bool:
    """Whether the customer, the order or the address used up its attempts."""
    since = state.payments.clock() - ATTEMPT_WINDOW
    table = tables.card_attempts
    limits = [
        (table.c.customer_uid, customer_uid, MAX_ATTEMPTS_PER_CUSTOMER),
        (table.c.merchant_uid, merchant_uid, MAX_ATTEMPTS_PER_ORDER),
        (table.c.remote_addr, address, MAX_ATTEMPTS_PER_ADDRESS),
    ]
    recent = sa.select(sa.func.count()).where(table.c.attempted_at >= since)
    with state.payments.engine.connect() as conn:
        for column, value, limit in limits:
            if (
                value
                and conn.execute(recent.where(column == value)).scalar_one() >= limit
            ):
                return True
    return False


def note(
    state: State,
    address: str | None,
    outcome: str,
    *,
    customer_uid: str | None = None,
    merchant_uid: str | None = None,
) -> None:
    """Count one submission: who, which order, from where, how it ended."""
    execute_alone(
        state.payments.engine,
        sa.insert(tables.card_attempts),
        {
            "customer_uid": customer_uid,
            "merchant_uid": merchant_uid,
            "remote_addr": address,
            "outcome": outcome,
            "attempted_at": state.payments.clock(),
        },
    )


# -- the page -------------------------------------------------------------------------


def card_page(
    state: State, template: str, status: int, language: str, **context: t.Any
) -> Response:
    """A card page with a fresh form token (in the form and its cookie)."""
    token = secrets.token_urlsafe(24)
    body = render_template(
        template,
        t=texts(language),
        lang=language,
        show=Display(language),
        sandbox=state.settings.mode.sandbox,
        csrf_token=token,
        action=request.full_path,
        errors=context.pop("errors", {}),
        **context,
    )
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("Content-Security-Policy", CARD_PAGE_CSP)
    response.set_cookie(
        CSRF_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=not state.settings.mode.sandbox,
        path=request.path,
    )
    return response
