"""The three doors a payment's result comes in by: PC completion, mobile return,
webhook.

Every door reads the same way: parse (schema) -> inbox -> reconciler -> answer. The
reconciler never trusts what arrived; it asks PortOne. Bad input is answered with a
4xx and still written to the inbox. With ``NICEPAY_PROCESSING = "celery"`` the
reconciler runs in a worker instead: parse -> inbox -> hand off -> answer
(:mod:`flask_nicepay.deferred`).
"""

from __future__ import annotations

import ipaddress
import typing as t
from urllib.parse import unquote_plus

from flask import Response
from flask import abort
from flask import jsonify
from flask import redirect
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from .blueprint import PAYABLE
from .blueprint import BadInput
from .blueprint import bp
from .blueprint import destination
from .blueprint import json_error
from .blueprint import page
from .deferred import deferring
from .deferred import hand_off
from .display import buyer_language
from .inbound import COMPLETION
from .inbound import RETURN
from .inbound import WEBHOOK
from .inbox import MAX_STORED_BODY
from .inbox import Hint
from .inbox import Kind
from .inbox import Outcome
from .machine import OrderState
from .notifications import Received
from .portone.redact import redact
from .state import app_state
from .store import Order

#: The doors answer every method, so that a wrong one is recorded, not just refused.
ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]
#: The doors that record what they refuse, by endpoint.
DOORS = {
    "nicepay.webhook": Kind.WEBHOOK,
    "nicepay.complete": Kind.PC,
    "nicepay.mobile_return": Kind.MOBILE,
}


@bp.route("/complete", methods=ANY_METHOD)
def complete() -> tuple[Response, int]:
    """The checkout page posts ``IMP.request_pay``'s callback result here (PC)."""
    data = _read(Kind.PC, "POST", _payload)
    hint = Hint(data["imp_uid"], data["merchant_uid"])
    if deferring():
        return _complete_later(hint, data)
    received = _receive(Kind.PC, hint)
    order = _order_for(received, hint)
    if order is None:
        return json_error(404, "unknown_order", "No such order."), 404
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
    if deferring():
        return _return_later(hint, data)
    received = _receive(Kind.MOBILE, hint)
    order = _order_for(received, hint)
    if order is None:
        return _no_such_order()
    if order.state in PAYABLE and received.outcome is not Outcome.ERROR:
        return _back_to_checkout(order, data.get("error_msg") or order.fail_reason)
    return redirect(_after_return(order, received))


def _no_such_order() -> Response:
    return page("nicepay/error.html", 404, buyer_language(), message="not_payable")


def _back_to_checkout(order: Order, error: str | None) -> ResponseReturnValue:
    """The phone goes back to the checkout, told why the payment did not happen."""
    again: dict[str, t.Any] = {
        "o": request.args.get("o"),
        "e": app_state().signer.dumps({"error": error[:300]}) if error else None,
    }
    values = {k: v for k, v in again.items() if v}
    uid = order.merchant_uid
    return redirect(url_for("nicepay.checkout", merchant_uid=uid, **values))


@bp.route("/webhook", methods=ANY_METHOD)
def webhook() -> tuple[Response, int]:
    """PortOne's notification: ``{imp_uid, merchant_uid, status}``, JSON or form."""
    _check_address()
    data = _read(Kind.WEBHOOK, "POST", _payload)
    hint = Hint(data["imp_uid"], data.get("merchant_uid"), data.get("status"))
    if deferring():
        entry_id = _accept(Kind.WEBHOOK, hint)
        return jsonify(outcome=str(Outcome.RECEIVED), inbox_id=entry_id), 200
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
    if (
        received.outcome is Outcome.UNKNOWN_ORDER
        and app_state().settings.webhook_retries
    ):
        return 503  # kept in the inbox either way; a retry may find the order
    return 200


# -- celery mode: recorded, handed to a worker, answered at once --------------------


def _accept(kind: Kind, hint: Hint) -> int:
    """Record a notification, and hand it to the workers once it is committed.

    A row that cannot be written is an error (a 5xx): nothing else holds it. A
    row written but not handed off is kept ``received`` for a later pass to find,
    so the caller is answered as if it had been.
    """
    notifications = app_state().payments.notifications
    entry_id = notifications.accept(kind, hint, **request_record())
    hand_off(entry_id)
    return entry_id


def _complete_later(hint: Hint, data: dict[str, t.Any]) -> tuple[Response, int]:
    """The completion in celery mode: to the confirming page, which polls."""
    _accept(Kind.PC, hint)
    order = app_state().payments.orders.get(t.cast(str, hint.merchant_uid))
    if order is None:
        return json_error(404, "unknown_order", "No such order."), 404
    # A window closed before any payment existed: the buyer may try again now.
    retry = hint.imp_uid is None and order.state in PAYABLE
    body = {
        "merchant_uid": order.merchant_uid,
        "state": order.state.value,
        "outcome": str(Outcome.RECEIVED),
        "retry": retry,
        "message": data.get("error_msg") or (order.fail_reason if retry else None),
        "redirect": None if retry else _confirming(order),
    }
    return jsonify(body), 202


def _return_later(hint: Hint, data: dict[str, t.Any]) -> ResponseReturnValue:
    """The mobile return in celery mode: to the confirming page, which polls."""
    _accept(Kind.MOBILE, hint)
    order = app_state().payments.orders.get(t.cast(str, hint.merchant_uid))
    if order is None:
        return _no_such_order()
    if hint.imp_uid is None and order.state in PAYABLE:
        return _back_to_checkout(order, data.get("error_msg") or order.fail_reason)
    return redirect(_confirming(order))


def _confirming(order: Order) -> str:
    return url_for("nicepay.confirm", merchant_uid=order.merchant_uid)


def _after_return(order: Order, received: Received) -> str:
    if received.outcome is Outcome.ERROR or order.state is OrderState.READY:
        return _confirming(order)
    return destination(order)


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
        reject(kind, f"method {request.method} not allowed; use {method}", 405)
    schema = {Kind.PC: COMPLETION, Kind.MOBILE: RETURN, Kind.WEBHOOK: WEBHOOK}[kind]
    try:
        return t.cast(dict[str, t.Any], schema.load(source()))
    except BadInput as exc:
        reject(kind, str(exc), exc.status)
    except ValidationError as exc:
        reject(kind, _flatten(exc), 400)


def reject(kind: Kind, error: str, status: int) -> t.NoReturn:
    """Record a request a door refuses, and answer it with ``status``."""
    app_state().payments.notifications.reject(kind, redact(error), **request_record())
    if kind is Kind.MOBILE:  # a buyer's page: the buyer's words, the details kept
        words = "return_invalid"
        response = page("nicepay/error.html", status, buyer_language(), message=words)
    else:
        response = json_error(status, "invalid" if status != 405 else "method", error)
    if status == 405:
        response.headers["Allow"] = "GET" if kind is Kind.MOBILE else "POST"
    abort(response)


def _receive(kind: Kind, hint: Hint) -> Received:
    return app_state().payments.notifications.receive(kind, hint, **request_record())


def request_record() -> dict[str, t.Any]:
    """What the inbox keeps of this request, with what the caller chose masked."""
    try:
        body = request.get_data(cache=True)
    except RequestEntityTooLarge:
        body = _head_of_body()
    address, content_type = client_address(), request.content_type
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
    return app_state().payments.orders.get(hint.merchant_uid)


def _check_address() -> None:
    allowlist = app_state().settings.webhook_allowlist
    if not allowlist:
        return
    address = client_address()
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        ip = None
    if ip is None or not any(ip in network for network in allowlist):
        reject(
            Kind.WEBHOOK, f"address {address} is not in NICEPAY_WEBHOOK_ALLOWLIST", 403
        )


def client_address() -> str | None:
    """The caller's address; proxy headers only as far as proxies are trusted."""
    trusted = app_state().settings.trusted_proxies
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
