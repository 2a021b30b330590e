"""The ``nicepay`` blueprint, whole: its routes and the hooks every route shares.

The routes are declared in :mod:`flask_nicepay.pages` (the checkout page and the
buyer's view of the result) and :mod:`flask_nicepay.doors` (the three ways a result
comes back); importing this module registers them all on :data:`bp`. Errors are
turned into answers here, in one place.
"""

from __future__ import annotations

from flask import Response
from flask import current_app
from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from .blueprint import GOOD as GOOD
from .blueprint import PAYABLE as PAYABLE
from .blueprint import BadInput as BadInput
from .blueprint import bp as bp
from .blueprint import json_error
from .blueprint import page
from .display import buyer_language
from .doors import ANY_METHOD as ANY_METHOD
from .doors import DOORS as DOORS
from .doors import complete as complete
from .doors import mobile_return as mobile_return
from .doors import reject
from .doors import request_record
from .doors import webhook as webhook
from .inbox import Kind
from .pages import RESYNC_AFTER as RESYNC_AFTER
from .pages import checkout_page as checkout_page
from .pages import confirm as confirm
from .pages import result as result
from .pages import status as status
from .state import app_state


@bp.before_request
def _limit_body() -> None:
    request.max_content_length = app_state().settings.max_body


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
            raise BadInput(error, words="bad_query") from None
        reject(kind, error, 400)


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "application/json":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.errorhandler(BadInput)
def _bad_input(exc: BadInput) -> Response:
    """The buyer is told in their language; what was wrong goes to the log."""
    current_app.logger.info("Refused %r: %s", request.path, exc)
    language = buyer_language()
    return page("nicepay/error.html", exc.status, language, message=exc.words)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> Response:
    """A door records what arrived; a page (a card form) keeps none of it: the
    body may hold a birth date and a card password."""
    kind = DOORS.get(request.endpoint or "")
    if kind is None:
        return page("nicepay/error.html", 413, buyer_language(), message="too_large")
    error = f"body over {app_state().settings.max_body} bytes"
    app_state().payments.notifications.reject(kind, error, **request_record())
    if kind is Kind.MOBILE:
        return page("nicepay/error.html", 413, buyer_language(), message="too_large")
    return json_error(413, "too_large", error)
