"""The control API under ``/_sandbox/``: what PortOne's console and the buyer do.

JSON in, the PortOne envelope out, no token: the standalone server binds to
127.0.0.1 by default for that reason. Every endpoint calls the same
:class:`~flask_nicepay.sandbox.Sandbox` method a Python test would.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint
from flask import Response
from flask import request

from ..engine.webhook_outbox import WebhookDelivery
from ..model.sandbox_errors import CheckoutRefused
from ..model.values import Params
from .rest_api import sandbox
from .wire import envelope
from .wire import params

bp = Blueprint("sandbox_control", __name__)
_CHECKOUT_OPTIONS = (
    "outcome",
    "channel",
    "user_agent",
    "card_number",
    "card_code",
    "card_quota",
    "vbank_code",
)


def delivery_json(delivery: WebhookDelivery) -> dict[str, Any]:
    """A webhook log entry as JSON.

    :param delivery: the entry.
    """
    return {**asdict(delivery), "body": dict(delivery.body)}


@bp.errorhandler(ValueError)
def bad_value(error: ValueError) -> Response:
    """A control call with a value the sandbox cannot use."""
    return envelope(None, status=400, code=-1, message=str(error))


@bp.post("/checkout")
def checkout() -> Response:
    """Open the window with ``request_pay`` parameters and finish it with ``outcome``.

    Answers what the browser would see: the Payment (null when refused), the PC
    callback ``rsp`` and the mobile redirect query.
    """
    body = params(request)
    request_pay = {
        k: v for k, v in body.as_dict().items() if k not in _CHECKOUT_OPTIONS
    }
    sb = sandbox()
    try:
        opened = sb.open_checkout(
            request_pay,
            channel=body.text("channel") or "pc",
            user_agent=body.text("user_agent"),
        )
        payment = sb.complete_checkout(
            opened["imp_uid"],
            body.text("outcome") or "approve",
            card_number=body.text("card_number"),
            card_code=body.text("card_code"),
            card_quota=body.integer("card_quota"),
            vbank_code=body.text("vbank_code"),
        )
    except CheckoutRefused as refusal:
        return _browser_view(None, refusal)
    return _browser_view(payment, payment)


def _browser_view(
    payment: dict[str, Any] | None, result: dict[str, Any] | CheckoutRefused
) -> Response:
    sb = sandbox()
    return envelope(
        {
            "payment": payment,
            "rsp": sb.callback_rsp(result),
            "redirect_query": sb.redirect_query(result),
        }
    )


@bp.post("/deposit")
def deposit() -> Response:
    """A bank deposit into an issued virtual account."""
    body = params(request)
    return envelope(
        sandbox().deposit(
            body.text("imp_uid"), body.text("merchant_uid"), force=body.flag("force")
        )
    )


@bp.post("/cancel")
def console_cancel() -> Response:
    """A cancel made in PortOne's admin console (always sends a webhook)."""
    body = params(request)
    return envelope(
        sandbox().console_cancel(
            body.required("imp_uid"),
            body.amount("amount"),
            body.text("reason") or "관리자 취소",
        )
    )


@bp.post("/pg-channels")
def add_pg_channel() -> Response:
    """Set up another PG in the console: ``{"pg_provider": "kakaopay"}``."""
    sandbox().add_pg_channel(params(request).required("pg_provider"))
    return envelope(None)


@bp.get("/pg-settings")
def pg_settings() -> Response:
    """The account's PG settings, the four built-in ones first."""
    return envelope([asdict(s) for s in sandbox().pg_settings()])


@bp.post("/pg-settings")
def add_pg_setting() -> Response:
    """Add a PG setting: ``{"mid", "kind", "test", "channel_key", "pg_provider"}``."""
    body = params(request)
    setting = sandbox().add_pg_setting(
        body.required("mid"),
        kind=body.required("kind"),
        test=body.flag("test"),
        channel_key=body.text("channel_key"),
        pg_provider=body.text("pg_provider") or "nice",
    )
    return envelope(asdict(setting))


@bp.post("/tax-mode")
def set_tax_mode() -> Response:
    """Set the NICE MID's tax mode: ``{"mode": "fixed"}`` (or ``"auto"``)."""
    sandbox().set_tax_mode(params(request).required("mode"))
    return envelope({"mode": sandbox().tax_mode})


@bp.get("/clock")
def clock() -> Response:
    """The sandbox time."""
    return envelope(_clock_json())


@bp.post("/clock")
def move_clock() -> Response:
    """Move the clock: ``{"advance": seconds}`` or ``{"set": timestamp}``."""
    body, sb = params(request), sandbox()
    if body.has("advance"):
        sb.advance_clock(float(body.required_amount("advance")))
    elif body.has("set"):
        sb.set_clock(body.integer("set") or 0)
    else:
        raise ValueError("send advance or set")
    return envelope(_clock_json())


def _clock_json() -> dict[str, Any]:
    sb = sandbox()
    return {"now": sb.now(), "offset": sb.clock.offset}


@bp.post("/schedules/run")
def run_schedules() -> Response:
    """Execute the schedules that are due."""
    return envelope(sandbox().run_due_schedules())


@bp.post("/webhooks/deliver")
def deliver_webhooks() -> Response:
    """Deliver every webhook that is due."""
    return envelope([delivery_json(d) for d in sandbox().deliver_webhooks()])


@bp.get("/webhooks")
def webhook_log() -> Response:
    """The webhook log, most recent last."""
    return envelope([delivery_json(d) for d in sandbox().webhook_log])


@bp.get("/faults")
def faults() -> Response:
    """The active API and webhook faults."""
    return envelope(sandbox().active_faults())


@bp.post("/faults")
def add_fault() -> Response:
    """Add an API fault: ``kind``, ``path``, ``method``, ``times``, ``delay``."""
    body = params(request)
    sandbox().inject_fault(
        body.required("kind"),
        path=body.text("path") or "*",
        method=body.text("method") or "*",
        times=body.integer("times") or 1,
        delay=_seconds(body, "delay"),
    )
    return faults()


@bp.post("/webhook-faults")
def add_webhook_fault() -> Response:
    """Add a webhook fault: ``kind``, ``times``, ``delay``, ``copies``."""
    body = params(request)
    sandbox().inject_webhook_fault(
        body.required("kind"),
        times=body.integer("times") or 1,
        delay=_seconds(body, "delay"),
        copies=body.integer("copies") or 2,
    )
    return faults()


@bp.delete("/faults")
@bp.delete("/webhook-faults")
def clear_faults() -> Response:
    """Remove every API and webhook fault."""
    sandbox().clear_faults()
    return faults()


def _seconds(body: Params, key: str) -> float | None:
    amount = body.amount(key)
    return None if amount is None else float(amount)


@bp.post("/reset")
def reset() -> Response:
    """Forget every payment, key, schedule, token, webhook and fault."""
    sandbox().reset()
    return envelope(sandbox().state())


@bp.get("/state")
def state() -> Response:
    """A read-only dump of the sandbox, for debugging."""
    return envelope(sandbox().state())
