"""The browser SDK: ``iamport.js``, its payment window, and the two calls behind them.

A store page loads ``<sandbox>/v1/iamport.js`` instead of PortOne's
``https://cdn.iamport.kr/v1/iamport.js`` and calls ``IMP.init`` and
``IMP.request_pay`` as usual. The script only gathers parameters and shows the
window; every rule is the sandbox's, applied here:

* ``POST /_sandbox/sdk/open`` validates through
  :meth:`~flask_nicepay.sandbox.Sandbox.open_checkout` and answers either the refusal
  (with the callback ``rsp`` and, for mobile, the redirect URL) or the window URL;
* ``GET /_sandbox/sdk/window/<imp_uid>?t=<token>`` is the payment window;
* ``POST /_sandbox/sdk/complete`` applies the buyer's button through
  :meth:`~flask_nicepay.sandbox.Sandbox.complete_checkout` and answers what the store
      page gets.

The JSON endpoints answer any origin (the store page is usually on another one)
and every URL is built with ``url_for``, so the app also works mounted under a
path prefix (``SCRIPT_NAME``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from typing import Final

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import render_template
from flask import request
from flask import url_for

from ..model.record_store import Ledger
from ..model.records import Window
from ..model.sandbox_errors import CheckoutRefused
from ..model.sandbox_errors import SandboxError
from ..model.values import Params
from .rest_api import sandbox
from .sdk_page import window_view
from .sdk_windows import BAD_PARAMS
from .sdk_windows import MESSAGE_TYPE
from .sdk_windows import NO_CALLBACK
from .sdk_windows import NOT_INITIALISED
from .sdk_windows import OpenWindow
from .sdk_windows import channel_for
from .sdk_windows import is_phone
from .sdk_windows import language_of
from .sdk_windows import origin_of
from .sdk_windows import refusal
from .sdk_windows import return_url_of
from .sdk_windows import with_query
from .serialize import payment_json
from .wire import envelope
from .wire import params

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment

#: Where the script also answers, so a page swaps only the CDN's host for ours.
SCRIPT_ALIAS: Final = "/v1/iamport.js"
URL_PREFIX: Final = "/_sandbox/sdk"
_NO_WINDOW: Final = "열린 결제창이 없거나 토큰이 올바르지 않습니다."
#: The package directory holding ``static/`` and ``templates/``.
_FILES_ROOT: Final = str(Path(__file__).resolve().parent.parent)

bp = Blueprint(
    "sandbox_sdk",
    __name__,
    root_path=_FILES_ROOT,
    static_folder="static",
    static_url_path="/static",
    template_folder="templates",
)
cdn = Blueprint("sandbox_cdn", __name__)


def register(app: Flask) -> None:
    """Add the SDK routes to the sandbox app.

    :param app: the sandbox's Flask app.
    """
    app.register_blueprint(bp, url_prefix=URL_PREFIX)
    app.register_blueprint(cdn)


class ScriptBypass:
    """Send requests for the CDN alias of the script around the API faults.

    The alias stands in for ``cdn.iamport.kr``, another host than the REST API,
    so a fault injected on ``*`` must not break the store page loading it.

    :param with_faults: the app wrapped in the fault middleware.
    :param app: the bare app.
    """

    def __init__(self, with_faults: WSGIApplication, app: WSGIApplication) -> None:
        self._with_faults = with_faults
        self._app = app

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == SCRIPT_ALIAS:
            return self._app(environ, start_response)
        return self._with_faults(environ, start_response)


@bp.after_request
@cdn.after_request
def allow_any_origin(response: Response) -> Response:
    """Let a store page on any origin call the JSON endpoints and load the script.

    Automatic ``OPTIONS`` answers pass through here too, which makes them the
    CORS preflight answers. The window page is left out: only its own scripts
    read it.
    """
    if request.endpoint == "sandbox_sdk.window_page":
        return response
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.headers["Access-Control-Max-Age"] = "600"
    return response


@bp.get("/iamport.js")
@cdn.get(SCRIPT_ALIAS)
def script() -> Response:
    """The SDK script (it finds the sandbox from its own ``src``)."""
    response = Response(_script_source(), mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    response.make_conditional(request)
    return response


@functools.cache
def _script_source() -> bytes:
    # Read once and answered from memory: no file handle per page load.
    assert bp.static_folder is not None  # set in the constructor above
    return (Path(bp.static_folder) / "iamport.js").read_bytes()


# Opening the window ---------------------------------------------------------


@bp.post("/open")
def open_window() -> Response:
    """``IMP.request_pay``: open the window, or say how the SDK refuses.

    Body: ``merchant_code`` (from ``IMP.init``), ``params``, ``mobile``,
    ``user_agent``, ``page_url``, ``origin``, ``has_callback``.
    """
    body = params(request)
    request_pay = body.raw("params")
    user_agent = body.text("user_agent") or request.user_agent.string
    try:
        if not isinstance(request_pay, Mapping):
            raise refusal({}, BAD_PARAMS)
        return_url = return_url_of(request_pay, body.text("page_url"))
    except CheckoutRefused as refused:
        return _refused(refused, None)
    channel = channel_for(body.flag("mobile") or is_phone(user_agent), return_url)
    mobile_return = return_url if channel == "mobile" else None
    try:
        _check_sdk_rules(body, request_pay, channel)
        opened = sandbox().open_checkout(
            request_pay, channel=channel, user_agent=user_agent
        )
    except CheckoutRefused as refused:
        return _refused(refused, mobile_return)
    window = sandbox().sdk_windows.issue(
        opened["imp_uid"],
        channel=channel,
        origin=origin_of(request.headers.get("Origin") or body.text("origin")),
        return_url=mobile_return,
        language=language_of(request_pay),
    )
    return _opened(window)


def _opened(window: OpenWindow) -> Response:
    # A path: the script joins it to the origin it was loaded from, which stays
    # right behind proxies that rewrite the Host or the scheme.
    path = url_for(".window_page", imp_uid=window.imp_uid, t=window.token)
    return envelope(
        {
            "refused": False,
            "channel": window.channel,
            "imp_uid": window.imp_uid,
            "window_url": path,
        }
    )


def _check_sdk_rules(
    body: Params, request_pay: Mapping[str, Any], channel: str
) -> None:
    if not body.text("merchant_code"):
        raise refusal(request_pay, NOT_INITIALISED)
    if channel == "pc" and not body.flag("has_callback", default=True):
        raise refusal(request_pay, NO_CALLBACK)


def _refused(refused: CheckoutRefused, return_url: str | None) -> Response:
    sb = sandbox()
    query = sb.redirect_query(refused)
    return envelope(
        {
            "refused": True,
            "channel": "mobile" if return_url else "pc",
            "rsp": sb.callback_rsp(refused),
            "redirect_query": query,
            "redirect_url": with_query(return_url, query) if return_url else None,
        }
    )


# The window -----------------------------------------------------------------


@bp.get("/window/<imp_uid>")
def window_page(imp_uid: str) -> Response:
    """The payment window the buyer finishes, framed (PC) or full page (mobile)."""
    window = _open_window(imp_uid, request.args.get("t"))
    shown = sandbox().run(lambda led: _what_to_show(led, imp_uid))
    if shown is None:  # evicted since it was opened
        raise SandboxError(403, -1, _NO_WINDOW)
    payment, asked, merchant_name = shown
    html = render_template(
        "sandbox/window.html",
        window=window,
        message_type=MESSAGE_TYPE,
        complete_url=url_for(".complete"),
        **window_view(payment, asked, merchant_name, window.language),
    )
    page = Response(html, content_type="text/html; charset=utf-8")
    return _window_headers(page)


def _what_to_show(
    led: Ledger, imp_uid: str
) -> tuple[dict[str, Any], Window, str] | None:
    record = led.payment(imp_uid)
    if record is None or record.window is None:
        return None
    return payment_json(record), record.window, led.merchant_name


def _window_headers(response: Response) -> Response:
    # Any page may frame the window, as PortOne's may: the store page, and the
    # test runners (Cypress and the like) that frame the store page in turn.
    # The token guards the window and postMessage goes to the opener's origin
    # only. The token is in the URL, so no Referer and no caching.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors *"
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/complete")
def complete() -> Response:
    """A button in the window: ``approve``, ``decline`` or ``close``.

    Body: ``imp_uid``, ``token``, ``outcome``, ``card_number``, ``card_quota``,
    ``vbank_code``. Answers ``{rsp, redirect_query, redirect_url, channel}``.
    """
    body = params(request)
    imp_uid = body.required("imp_uid")
    sb = sandbox()

    def finish(_: Ledger) -> tuple[OpenWindow, dict[str, Any]]:
        # One hold around the three steps: a window finished twice, or from two
        # processes at once, is finished once; the other meets no window.
        window = _open_window(imp_uid, body.text("token"))
        payment = sb.complete_checkout(
            imp_uid,
            body.required("outcome"),
            card_number=body.text("card_number"),
            card_quota=body.integer("card_quota"),
            vbank_code=body.text("vbank_code"),
        )
        sb.sdk_windows.discard(imp_uid)
        return window, payment

    window, payment = sb.run(finish)
    query = sb.redirect_query(payment)
    return envelope(
        {
            "channel": window.channel,
            "rsp": sb.callback_rsp(payment),
            "redirect_query": query,
            "redirect_url": (
                with_query(window.return_url, query) if window.return_url else None
            ),
        }
    )


def _open_window(imp_uid: str, token: str | None) -> OpenWindow:
    window = sandbox().sdk_windows.find(imp_uid, token)
    if window is None:
        # The same answer for an unknown window and a wrong token.
        raise SandboxError(403, -1, _NO_WINDOW)
    return window


@bp.errorhandler(ValueError)
def bad_value(error: ValueError) -> Response:
    """A value the sandbox cannot use."""
    return envelope(None, status=400, code=-1, message=str(error))
