"""What the buyer sees: the checkout page, the confirming page and the result.

The checkout page computes ``IMP.request_pay``'s parameters from the order on the
server; the browser only chooses among the payment methods the store offered.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import typing as t

from flask import Response
from flask import jsonify
from flask import redirect
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature
from marshmallow import ValidationError

from . import checkout
from .blueprint import PAYABLE
from .blueprint import BadInput
from .blueprint import OrderNotFound
from .blueprint import bp
from .blueprint import destination
from .blueprint import page
from .deferred import deferring
from .deferred import pending
from .display import LANGUAGE_COOKIE
from .display import LANGUAGE_COOKIE_AGE
from .display import buyer_language
from .machine import OrderState
from .portone import PortOneError
from .state import SANDBOX_MOUNT
from .state import State
from .state import app_state
from .store import Order

#: A still-ready order is asked about again at most this often by status polls.
RESYNC_AFTER = dt.timedelta(seconds=5)


@bp.get("/checkout/<merchant_uid>", endpoint="checkout")
def checkout_page(merchant_uid: str) -> ResponseReturnValue:
    """The hosted checkout page: parameters from the order, never the browser."""
    state = app_state()
    order = _order_or_404(merchant_uid)
    options = _options(state, order)
    language = buyer_language(options.language, remembered=False)
    if order.state not in PAYABLE:
        return redirect(destination(order))
    if state.settings.prepare:
        try:
            order = state.payments.orders.ensure_prepared(order)
        except PortOneError:  # never open the window with no amount registered
            return page("nicepay/error.html", 503, language, message="unavailable")
    try:
        checkout.check(order, options, now=state.payments.clock())
    except ValidationError as exc:  # the store's options do not fit the order
        error = f"checkout options: {exc.messages}"
        raise BadInput(error, words="checkout_invalid") from None
    token = request.args.get("o")
    chosen = options._replace(language=language)
    params = {
        method: _request_pay(state, order, chosen._replace(pay_method=method), token)
        for method in options.pay_methods
    }
    response = page(
        "nicepay/checkout.html",
        200,
        language,
        order=order,
        methods=options.pay_methods,
        chosen=options.pay_method,
        params_json=json.dumps(params, ensure_ascii=False, default=str),
        merchant_code=state.settings.merchant_code,
        sdk_url=_sdk_url(state),
        complete_url=url_for("nicepay.complete"),
        confirm_url=url_for("nicepay.confirm", merchant_uid=order.merchant_uid),
        error=_shown_error(state),
    )
    return _remember(response, options.language)


def _remember(response: Response, language: str | None) -> Response:
    """Carry the checkout's own language to the pages after it, the store's too."""
    path = request.script_root or "/"
    if language is None:
        response.delete_cookie(LANGUAGE_COOKIE, path=path)
    else:
        age = LANGUAGE_COOKIE_AGE
        response.set_cookie(
            LANGUAGE_COOKIE, language, max_age=age, path=path, samesite="Lax"
        )
    return response


def _options(state: State, order: Order) -> checkout.CheckoutOptions:
    token = request.args.get("o")
    if not token:
        defaults = checkout.OPTIONS.load(checkout.defaults(order))
        return t.cast(checkout.CheckoutOptions, defaults)
    try:
        options = checkout.OPTIONS.load(state.signer.loads(token))
    except (BadSignature, ValidationError):
        error = "checkout options were changed or are invalid"
        raise BadInput(error, words="checkout_link_invalid") from None
    return t.cast(checkout.CheckoutOptions, options)


def _shown_error(state: State) -> str:
    """The failure the return route signed into ``e``; never text from a link.

    Shown unsigned, ``?error=`` would let anyone put words of their choosing
    (a phone number, an account to "pay" into) on the shop's own page.
    """
    token = request.args.get("e")
    if not token:
        return ""
    try:
        data = state.signer.loads(token)
    except BadSignature:
        return ""
    error = data.get("error") if isinstance(data, dict) else None
    return error[:300] if isinstance(error, str) else ""


def _request_pay(
    state: State, order: Order, options: checkout.CheckoutOptions, token: str | None
) -> dict[str, t.Any]:
    due = state.payments.clock() + dt.timedelta(days=state.settings.vbank_due_days)
    channel = state.settings.channels.for_window(order.currency)
    return checkout.request_pay_params(
        order,
        options,
        m_redirect_url=_absolute("nicepay.mobile_return", o=token),
        notice_url=_absolute("nicepay.webhook"),
        channel_key=channel.channel_key,
        pg=channel.pg,
        nice_mobile_v2=state.settings.nice_mobile_v2,
        vbank_due=due,
    )


def _absolute(endpoint: str, **values: t.Any) -> str:
    public = app_state().settings.public_url
    values = {k: v for k, v in values.items() if v is not None}
    if public is None:
        return url_for(endpoint, _external=True, **values)
    return public + url_for(endpoint, **values)


def _sdk_url(state: State) -> str:
    if state.settings.mode.name == "embedded":
        return request.script_root + SANDBOX_MOUNT + "/v1/iamport.js"
    if state.settings.mode.name == "standalone":
        return str(state.settings.sandbox_url).rstrip("/") + "/v1/iamport.js"
    return str(state.settings.sdk_url)


@bp.get("/orders/<merchant_uid>/status")
def status(merchant_uid: str) -> Response:
    """The order's state, for the confirming page to poll."""
    payments = app_state().payments
    order = _order_or_404(merchant_uid)
    if _worth_asking_again(order):
        with contextlib.suppress(PortOneError):  # still unknown: polling goes on
            payments.reconciler.sync(merchant_uid=merchant_uid, source="poll")
        order = payments.orders.get(merchant_uid) or order
    # In celery mode a notification still queued may change a state already
    # known (a second attempt after a decline): the truth is not final before it.
    final = order.state is not OrderState.READY and not (
        deferring() and pending(order.merchant_uid)
    )
    return jsonify(
        merchant_uid=order.merchant_uid,
        state=order.state.value,
        final=final,
        redirect=destination(order) if final else None,
    )


@bp.get("/orders/<merchant_uid>/confirm")
def confirm(merchant_uid: str) -> ResponseReturnValue:
    """ "Confirming your payment": polls the status until the truth is known."""
    order = _order_or_404(merchant_uid)
    return page(
        "nicepay/confirm.html",
        200,
        buyer_language(),
        order=order,
        status_url=url_for("nicepay.status", merchant_uid=merchant_uid),
        result_url=url_for("nicepay.result", merchant_uid=merchant_uid),
    )


@bp.get("/orders/<merchant_uid>")
def result(merchant_uid: str) -> ResponseReturnValue:
    """The built-in result page, used when the store configured none."""
    order = _order_or_404(merchant_uid)
    refunds = app_state().payments.orders.refunds_of(merchant_uid)
    return page(
        "nicepay/result.html",
        200,
        buyer_language(),
        order=order,
        refunds=[r for r in refunds if r.status == "succeeded"],
        payable=order.state in PAYABLE,
        checkout_url=url_for("nicepay.checkout", merchant_uid=merchant_uid),
    )


def _order_or_404(merchant_uid: str) -> Order:
    # A value no order can have (a NUL, say) is no order, never looked up.
    order = app_state().payments.orders.get(merchant_uid)
    if order is None:
        raise OrderNotFound
    return order


def _worth_asking_again(order: Order) -> bool:
    # Also without a known imp_uid: the confirming page is where a buyer lands when
    # PortOne could not be asked, and then no attempt was recorded yet.
    stale = app_state().payments.clock() - order.updated_at > RESYNC_AFTER
    return order.state is OrderState.READY and stale
