"""The ``nicepay`` blueprint: the checkout page and the three doors results come in.

Every door reads the same way: parse (schema) -> inbox -> reconciler -> answer. The
reconciler never trusts what arrived; it asks PortOne. Bad input is answered with a
4xx and still written to the inbox.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import typing as t
from urllib.parse import unquote_plus

from flask import Blueprint
from flask import Response
from flask import abort
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature
from marshmallow import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from . import checkout
from .i18n import texts
from .inbox import MAX_STORED_BODY
from .inbox import Hint
from .inbox import Kind
from .inbox import Outcome
from .machine import OrderState
from .notifications import Received
from .portone import PortOneError
from .portone.redact import redact
from .schemas import COMPLETION
from .schemas import MERCHANT_UID
from .schemas import RETURN
from .schemas import WEBHOOK
from .state import SANDBOX_MOUNT
from .state import State
from .state import app_state
from .store import Order

bp = Blueprint(
    "nicepay",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

#: The doors answer every method, so that a wrong one is recorded, not just refused.
ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]
PAYABLE = (OrderState.READY, OrderState.FAILED, OrderState.MISMATCH)
#: States shown as a success to the buyer; the others go to the failure page.
GOOD = (OrderState.PAID, OrderState.VBANK_ISSUED, OrderState.PARTIALLY_CANCELLED)
#: A still-ready order is asked about again at most this often by status polls.
RESYNC_AFTER = dt.timedelta(seconds=5)


class BadInput(Exception):
    """The request cannot be read; answered 4xx and recorded."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _state() -> State:
    return app_state()


#: The doors that record what they refuse, by endpoint.
DOORS = {
    "nicepay.webhook": Kind.WEBHOOK,
    "nicepay.complete": Kind.PC,
    "nicepay.mobile_return": Kind.MOBILE,
}


@bp.before_request
def _limit_body() -> None:
    request.max_content_length = _state().settings.max_body


@bp.before_request
def _readable_query() -> None:
    """Refuse a query string that is not UTF-8 before anything parses it.

    Werkzeug raises on such bytes when ``request.args`` is first read, which
    would otherwise surface as a 500 in whichever view reads it.
    """
    try:
        request.query_string.decode("utf-8")
    except UnicodeDecodeError:
        error = "The query string is not valid UTF-8."
        kind = DOORS.get(request.endpoint or "")
        if kind is None:
            raise BadInput(error) from None
        _reject(kind, error, 400)


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "application/json":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


# -- the checkout page ----------------------------------------------------------


@bp.get("/checkout/<merchant_uid>", endpoint="checkout")
def checkout_page(merchant_uid: str) -> ResponseReturnValue:
    """The hosted checkout page: parameters from the order, never the browser."""
    state = _state()
    order = _order_or_404(merchant_uid)
    options = _options(state, order)
    if order.state not in PAYABLE:
        return redirect(_destination(order))
    if state.settings.prepare:
        try:
            order = state.payments.orders.ensure_prepared(order)
        except PortOneError:  # never open the window with no amount registered
            language = options.language
            return _page("nicepay/error.html", 503, language, message="unavailable")
    try:
        checkout.check(order, options, now=state.payments.clock())
    except ValidationError as exc:
        raise BadInput(f"checkout options: {exc.messages}") from None
    token = request.args.get("o")
    params = {
        method: _request_pay(state, order, options._replace(pay_method=method), token)
        for method in options.pay_methods
    }
    return render_template(
        "nicepay/checkout.html",
        order=order,
        t=texts(options.language),
        lang=options.language,
        sandbox=state.settings.mode.sandbox,
        methods=options.pay_methods,
        chosen=options.pay_method,
        params_json=json.dumps(params, ensure_ascii=False, default=str),
        merchant_code=state.settings.merchant_code,
        sdk_url=_sdk_url(state),
        complete_url=url_for("nicepay.complete"),
        confirm_url=url_for("nicepay.confirm", merchant_uid=order.merchant_uid),
        amount_text=_money(order, options.language),
        error=_shown_error(state),
    )


def _options(state: State, order: Order) -> checkout.CheckoutOptions:
    token = request.args.get("o")
    if not token:
        language = state.settings.language
        defaults = checkout.OPTIONS.load(checkout.defaults(order, language=language))
        return t.cast(checkout.CheckoutOptions, defaults)
    try:
        options = checkout.OPTIONS.load(state.signer.loads(token))
    except (BadSignature, ValidationError):
        raise BadInput("checkout options were changed or are invalid") from None
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
    return checkout.request_pay_params(
        order,
        options,
        m_redirect_url=_absolute("nicepay.mobile_return", o=token),
        notice_url=_absolute("nicepay.webhook"),
        channel_key=state.settings.channel_key,
        pg=state.settings.pg,
        nice_mobile_v2=state.settings.nice_mobile_v2,
        vbank_due=due,
    )


def _absolute(endpoint: str, **values: t.Any) -> str:
    public = _state().settings.public_url
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


# -- the three doors ------------------------------------------------------------


@bp.route("/complete", methods=ANY_METHOD)
def complete() -> tuple[Response, int]:
    """The checkout page posts ``IMP.request_pay``'s callback result here (PC)."""
    data = _read(Kind.PC, "POST", _payload)
    hint = Hint(data["imp_uid"], data["merchant_uid"])
    received = _receive(Kind.PC, hint)
    order = _order_for(received, hint)
    if order is None:
        return _json_error(404, "unknown_order", "No such order."), 404
    retry = order.state in PAYABLE and received.outcome is not Outcome.ERROR
    status = 503 if received.outcome is Outcome.ERROR else 200
    body = {
        "merchant_uid": order.merchant_uid,
        "state": order.state.value,
        "outcome": str(received.outcome),
        "retry": retry,
        "message": data.get("error_msg") or order.fail_reason,
        "redirect": None if retry else _after_return(order, received),
    }
    return jsonify(body), status


@bp.route("/return", methods=ANY_METHOD)
def mobile_return() -> ResponseReturnValue:
    """The phone comes back here (``m_redirect_url``) after the payment window."""
    data = _read(Kind.MOBILE, "GET", lambda: request.args.to_dict())
    hint = Hint(data["imp_uid"], data["merchant_uid"])
    received = _receive(Kind.MOBILE, hint)
    order = _order_for(received, hint)
    if order is None:
        return _page(
            "nicepay/error.html", 404, _state().settings.language, message="not_payable"
        )
    if order.state in PAYABLE and received.outcome is not Outcome.ERROR:
        error = data.get("error_msg") or order.fail_reason
        again: dict[str, t.Any] = {
            "o": request.args.get("o"),
            "e": _state().signer.dumps({"error": error[:300]}) if error else None,
        }
        values = {k: v for k, v in again.items() if v}
        uid = order.merchant_uid
        return redirect(url_for("nicepay.checkout", merchant_uid=uid, **values))
    return redirect(_after_return(order, received))


@bp.route("/webhook", methods=ANY_METHOD)
def webhook() -> tuple[Response, int]:
    """PortOne's notification: ``{imp_uid, merchant_uid, status}``, JSON or form."""
    _check_address()
    data = _read(Kind.WEBHOOK, "POST", _payload)
    hint = Hint(data["imp_uid"], data.get("merchant_uid"), data.get("status"))
    received = _receive(Kind.WEBHOOK, hint)
    status = _webhook_status(received)
    body = {"outcome": str(received.outcome), "inbox_id": received.entry_id}
    if received.error and status >= 400:
        body["error"] = received.error
    return jsonify(body), status


def _webhook_status(received: Received) -> int:
    if received.outcome is Outcome.ERROR:
        return 503  # PortOne repeats a 5xx when retries are enabled
    if received.outcome is Outcome.INVALID:
        return 400
    if received.outcome is Outcome.UNKNOWN_ORDER and _state().settings.webhook_retries:
        return 503  # kept in the inbox either way; a retry may find the order
    return 200


# -- the buyer's view of the result --------------------------------------------------


@bp.get("/orders/<merchant_uid>/status")
def status(merchant_uid: str) -> Response:
    """The order's state, for the confirming page to poll."""
    payments = _state().payments
    order = _order_or_404(merchant_uid)
    if _worth_asking_again(order):
        with contextlib.suppress(PortOneError):  # still unknown: polling goes on
            payments.reconciler.sync(merchant_uid=merchant_uid, source="poll")
        order = payments.orders.get(merchant_uid) or order
    final = order.state is not OrderState.READY
    return jsonify(
        merchant_uid=order.merchant_uid,
        state=order.state.value,
        final=final,
        redirect=_destination(order) if final else None,
    )


@bp.get("/orders/<merchant_uid>/confirm")
def confirm(merchant_uid: str) -> ResponseReturnValue:
    """ "Confirming your payment": polls the status until the truth is known."""
    order = _order_or_404(merchant_uid)
    return _page(
        "nicepay/confirm.html",
        200,
        _state().settings.language,
        order=order,
        status_url=url_for("nicepay.status", merchant_uid=merchant_uid),
        result_url=url_for("nicepay.result", merchant_uid=merchant_uid),
    )


@bp.get("/orders/<merchant_uid>")
def result(merchant_uid: str) -> ResponseReturnValue:
    """The built-in result page, used when the store configured none."""
    order = _order_or_404(merchant_uid)
    language = _state().settings.language
    return _page(
        "nicepay/result.html",
        200,
        language,
        order=order,
        amount_text=_money(order, language),
        payable=order.state in PAYABLE,
        checkout_url=url_for("nicepay.checkout", merchant_uid=merchant_uid),
        kst=checkout.KST,
    )


def _order_or_404(merchant_uid: str) -> Order:
    # A merchant_uid no order can have is not looked up: PostgreSQL refuses some
    # of the bytes a path may carry (NUL), and the answer is 404 either way.
    if not MERCHANT_UID.fullmatch(merchant_uid):
        abort(404)
    order = _state().payments.orders.get(merchant_uid)
    if order is None:
        abort(404)
    return order


def _worth_asking_again(order: Order) -> bool:
    # Also without a known imp_uid: the confirming page is where a buyer lands when
    # PortOne could not be asked, and then no attempt was recorded yet.
    stale = _state().payments.clock() - order.updated_at > RESYNC_AFTER
    return order.state is OrderState.READY and stale


def _destination(order: Order) -> str:
    """Where the buyer goes once the truth is known: the store's page, or ours."""
    settings = _state().settings
    target = settings.success_url if order.state in GOOD else settings.failure_url
    if target is not None:
        return request.script_root + target.format(merchant_uid=order.merchant_uid)
    return url_for("nicepay.result", merchant_uid=order.merchant_uid)


def _after_return(order: Order, received: Received) -> str:
    if received.outcome is Outcome.ERROR or order.state is OrderState.READY:
        return url_for("nicepay.confirm", merchant_uid=order.merchant_uid)
    return _destination(order)


# -- reading, recording, answering -------------------------------------------------


def _payload() -> dict[str, t.Any]:
    """A JSON object or a form body, as a flat dict of what arrived."""
    # Read the raw body first: parsing a form consumes the stream, and the inbox
    # must keep the body exactly as it came.
    request.get_data(cache=True)
    if request.is_json:
        try:
            data = request.get_json(silent=True)
        except RecursionError:  # not a ValueError, so ``silent`` lets it through
            raise BadInput("The JSON body is nested too deeply.") from None
        if not isinstance(data, dict):
            raise BadInput("The body is not a JSON object.")
        return data
    if request.form:
        return request.form.to_dict(flat=True)
    raise BadInput("Expected a JSON or form body.", 415 if request.data else 400)


def _read(
    kind: Kind, method: str, source: t.Callable[[], dict[str, t.Any]]
) -> dict[str, t.Any]:
    """Parse and validate a door's input; anything wrong is recorded and refused."""
    if request.method != method:
        _reject(kind, f"method {request.method} not allowed; use {method}", 405)
    schema = {Kind.PC: COMPLETION, Kind.MOBILE: RETURN, Kind.WEBHOOK: WEBHOOK}[kind]
    try:
        return t.cast(dict[str, t.Any], schema.load(source()))
    except BadInput as exc:
        _reject(kind, str(exc), exc.status)
    except ValidationError as exc:
        _reject(kind, _flatten(exc), 400)


def _reject(kind: Kind, error: str, status: int) -> t.NoReturn:
    _state().payments.notifications.reject(kind, redact(error), **_request_record())
    if kind is Kind.MOBILE:
        language = _state().settings.language
        response = _page("nicepay/error.html", status, language, message=error)
    else:
        response = _json_error(status, "invalid" if status != 405 else "method", error)
    if status == 405:
        response.headers["Allow"] = "GET" if kind is Kind.MOBILE else "POST"
    abort(response)


def _receive(kind: Kind, hint: Hint) -> Received:
    return _state().payments.notifications.receive(kind, hint, **_request_record())


def _request_record() -> dict[str, t.Any]:
    try:
        body = request.get_data(cache=True)
    except RequestEntityTooLarge:
        body = _head_of_body()
    address, content_type = _client_address(), request.content_type
    query = unquote_plus(request.query_string.decode("utf-8", "replace"))
    # The body is masked by the inbox; what else the caller chose is masked here,
    # the query decoded first so that an encoded card number is seen too.
    return {
        "body": body,
        "remote_addr": None if address is None else redact(address),
        "method": request.method,
        "path": redact(request.path + ("?" + query if query else "")),
        "content_type": None if content_type is None else redact(content_type),
    }


def _head_of_body() -> bytes:
    """The start of a body refused for its size: what the inbox would keep of it.

    Werkzeug refuses to read a body whose ``Content-Length`` is over the limit; the
    raw stream still holds it, untouched, and its first bytes are read from there.
    A little more than the inbox keeps is read, so that a card number across the
    cut is masked whole before the cut.
    """
    length = request.content_length
    if length is None:  # no length: a limited read may already have begun
        return b""
    wanted = min(length, MAX_STORED_BODY + 32)
    try:
        return bytes(request.environ["wsgi.input"].read(wanted))
    except (OSError, ValueError):
        return b""


def _order_for(received: Received, hint: Hint) -> Order | None:
    """The order the caller named, as it is after the sync.

    Never the order a hinted ``imp_uid`` turned out to belong to: its state, page
    and account details are not this caller's to see.
    """
    result = received.result
    synced = result.order if result is not None else None
    if hint.merchant_uid is None:
        return synced
    if synced is not None and synced.merchant_uid == hint.merchant_uid:
        return synced
    return _state().payments.orders.get(hint.merchant_uid)


def _check_address() -> None:
    allowlist = _state().settings.webhook_allowlist
    if not allowlist:
        return
    address = _client_address()
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        ip = None
    if ip is None or not any(ip in network for network in allowlist):
        _reject(
            Kind.WEBHOOK, f"address {address} is not in NICEPAY_WEBHOOK_ALLOWLIST", 403
        )


def _client_address() -> str | None:
    """The caller's address; proxy headers only as far as proxies are trusted."""
    trusted = _state().settings.trusted_proxies
    if trusted:
        hops = [
            h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")
        ]
        hops = [h for h in hops if h]
        if len(hops) >= trusted:
            return hops[-trusted]
    return request.remote_addr


def _flatten(exc: ValidationError) -> str:
    messages = exc.messages if isinstance(exc.messages, dict) else {"_": exc.messages}
    return "; ".join(f"{field}: {_words(errs)}" for field, errs in messages.items())


def _words(errors: t.Any) -> str:
    return " ".join(map(str, errors)) if isinstance(errors, list) else str(errors)


def _json_error(status: int, error: str, detail: str) -> Response:
    response = jsonify(error=error, detail=detail)
    response.status_code = status
    return response


def _page(template: str, status: int, language: str, **context: t.Any) -> Response:
    body = render_template(
        template,
        t=texts(language),
        lang=language,
        sandbox=_state().settings.mode.sandbox,
        **context,
    )
    return Response(body, status=status, mimetype="text/html")


def _money(order: Order, language: str) -> str:
    if order.currency == "KRW":
        return (
            f"{order.amount:,.0f}원" if language == "ko" else f"KRW {order.amount:,.0f}"
        )
    return f"{order.currency} {order.amount:,.2f}"


@bp.errorhandler(BadInput)
def _bad_input(exc: BadInput) -> Response:
    return _page(
        "nicepay/error.html", exc.status, _state().settings.language, message=str(exc)
    )


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> Response:
    kind = DOORS.get(request.endpoint or "", Kind.PC)
    limit = _state().settings.max_body
    error = f"body over {limit} bytes"
    _state().payments.notifications.reject(kind, error, **_request_record())
    return _json_error(413, "too_large", error)
