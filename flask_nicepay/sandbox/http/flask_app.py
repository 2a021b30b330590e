"""Where the sandbox meets its blueprints: :class:`Sandbox` and :func:`create_app`.

The engine never builds or sees an app. :class:`Sandbox` is the one place an
account gets one: :func:`create_app` joins it to the REST, ``/subscribe``,
control and SDK blueprints, puts the fault middleware in front and turns every
error into PortOne's envelope. The views are typed against the
:class:`~flask_nicepay.sandbox.http.emulator.JsonAccount` below, so none of them
imports this module back.
"""

from __future__ import annotations

import logging
from typing import Final

import requests
from flask import Flask
from flask import Response
from werkzeug.exceptions import HTTPException

from ..engine.faults import FaultMiddleware
from ..model.sandbox_errors import SandboxError
from . import control_api
from . import rest_api
from . import sdk
from . import subscribe_api
from .adapter import SandboxAdapter
from .emulator import JsonAccount
from .wire import envelope

log = logging.getLogger("flask_nicepay.sandbox")
# Importing the module is what adds the /subscribe routes to the blueprint.
_ROUTES = subscribe_api.__name__


def create_app(sandbox: JsonAccount) -> Flask:
    """Build the WSGI app: the V1 REST API at ``/``, control at ``/_sandbox``.

    The browser SDK answers at ``/_sandbox/sdk`` and ``/v1/iamport.js``.

    :param sandbox: the sandbox the views act on.
    """
    # No app-wide /static: the REST API owns the root; the SDK serves its files.
    app = Flask("flask_nicepay.sandbox", static_folder=None)
    app.extensions[rest_api.EXTENSION_KEY] = sandbox
    # PortOne's own clients call /payments/cancel/ and /payments/cancel alike.
    app.url_map.strict_slashes = False
    app.register_blueprint(rest_api.bp)
    app.register_blueprint(control_api.bp, url_prefix="/_sandbox")
    sdk.register(app)
    app.register_error_handler(SandboxError, _refusal)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _crash)
    app.wsgi_app = sdk.ScriptBypass(  # type: ignore[method-assign]
        FaultMiddleware(app.wsgi_app, sandbox.faults), app.wsgi_app
    )
    return app


class Sandbox(JsonAccount):
    """An offline PortOne V1 account with the NICE old module.

    :param imp_key: REST API key ``getToken`` accepts.
    :param imp_secret: REST API secret ``getToken`` accepts.
    :param webhook_url: the console's notification URL; a payment's
        ``notice_url`` replaces it.
    :param webhook_format: ``json`` or ``form``, as set in the console.
    :param webhook_sender: sends one delivery and returns the HTTP status
        (default: ``requests.post`` with 10 s connect and 30 s read timeouts).
    :param webhook_retries: PortOne's opt-in retries: up to 5 more attempts a
        minute apart after a network error or a 5xx.
    :param auto_deliver: deliver webhooks from a background thread as they fall
        due, instead of waiting for :meth:`deliver_webhooks`.
    :param clock_offset: seconds added to the real time.
    :param max_payments: bound on payments and on each other table.
    :param merchant_name: holder name of virtual accounts issued by the window.
    :param state_file: a SQLite file holding the records, the clock and the open
        SDK windows (by a hash of their token), so that every process opening it
        sees one account (the embedded sandbox of an app's several workers and CLI
        commands). Tokens, pending webhooks and faults stay with each process.
        None keeps it all in memory.
    :param state_owner: what that state belongs to (the embedded sandbox: the
        app's database); a file last used for another owner starts empty.
    """

    #: Base URL for :meth:`session` and :class:`~flask_nicepay.sandbox.SandboxAdapter`.
    base_url: Final = "http://sandbox.portone.invalid"
    #: The WSGI app serving the REST, ``/subscribe``, control and SDK endpoints.
    app: Flask

    def _build_surface(self, max_records: int) -> None:
        super()._build_surface(max_records)
        self.app = create_app(self)

    def __repr__(self) -> str:
        return f"Sandbox(imp_key={self.imp_key!r}, base_url={self.base_url!r})"

    def session(self) -> requests.Session:
        """A ``requests.Session`` reaching the sandbox in-process at ``base_url``."""
        session = requests.Session()
        session.mount(self.base_url, SandboxAdapter(self.app, self.faults))
        return session


def _refusal(error: SandboxError) -> Response:
    return envelope(
        None, status=error.http_status, code=error.code, message=error.message
    )


def _http_error(error: HTTPException) -> Response:
    return envelope(None, status=error.code or 500, code=-1, message=error.name)


def _crash(error: Exception) -> Response:
    log.exception("sandbox error")
    return envelope(None, status=500, code=-1, message="Internal Server Error")
