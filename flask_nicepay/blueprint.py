"""The ``nicepay`` blueprint itself, and what its pages and doors both need.

The routes live in :mod:`flask_nicepay.pages` (what the buyer sees) and
:mod:`flask_nicepay.doors` (where results come in); :mod:`flask_nicepay.views`
gathers them and holds the hooks that apply to every route.
"""

from __future__ import annotations

import typing as t

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.exceptions import NotFound

from .display import Display
from .display import buyer_language
from .i18n import texts
from .machine import OrderState
from .state import app_state
from .store import Order

bp = Blueprint(
    "nicepay",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

PAYABLE = (OrderState.READY, OrderState.FAILED, OrderState.MISMATCH)
#: States shown as a success to the buyer; the others go to the failure page.
GOOD = (OrderState.PAID, OrderState.VBANK_ISSUED, OrderState.PARTIALLY_CANCELLED)


class BadInput(Exception):
    """The request cannot be read: answered 4xx (and recorded, at a door).

    :param message: what was wrong, in English: for the inbox and the log.
    :param status: the answer's HTTP status.
    :param words: what the buyer's page says instead, in the buyer's language: a
        key of :data:`~flask_nicepay.i18n.TEXTS`.
    """

    def __init__(
        self, message: str, status: int = 400, *, words: str = "bad_request"
    ) -> None:
        super().__init__(message)
        self.status = status
        self.words = words


class OrderNotFound(NotFound):
    """No such order. A store's own 404 page answers it if the store has one;
    else the plugin's, in the buyer's language, rather than Werkzeug's English."""

    def get_response(self, *args: t.Any, **kwargs: t.Any) -> Response:
        language = buyer_language()
        return page("nicepay/error.html", 404, language, message="order_not_found")


def destination(order: Order) -> str:
    """Where the buyer goes once the truth is known: the store's page, or ours."""
    settings = app_state().settings
    target = settings.success_url if order.state in GOOD else settings.failure_url
    if target is not None:
        return request.script_root + target.format(merchant_uid=order.merchant_uid)
    return url_for("nicepay.result", merchant_uid=order.merchant_uid)


def json_error(status: int, error: str, detail: str) -> Response:
    response = jsonify(error=error, detail=detail)
    response.status_code = status
    return response


def page(template: str, status: int, language: str, **context: t.Any) -> Response:
    body = render_template(
        template,
        t=texts(language),
        lang=language,
        show=Display(language),
        sandbox=app_state().settings.mode.sandbox,
        **context,
    )
    return Response(body, status=status, mimetype="text/html")
