"""The sandbox's Flask app: where a :class:`~flask_nicepay.sandbox.Sandbox` meets
its blueprints.

The engine never builds or sees an app; :func:`create_app` joins the account to
the REST, ``/subscribe``, control and SDK blueprints, puts the fault middleware
in front and turns every error into PortOne's envelope.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flask import Flask
from flask import Response
from werkzeug.exceptions import HTTPException

from ..engine.faults import FaultMiddleware
from ..model.sandbox_errors import SandboxError
from . import control_api as control
from . import rest_api as api
from . import sdk
from . import subscribe_api as api_subscribe
from .wire import envelope

if TYPE_CHECKING:
    from .emulator import Sandbox

log = logging.getLogger("flask_nicepay.sandbox")
# Importing the module is what adds the /subscribe routes to the blueprint.
_ROUTES = api_subscribe.__name__


def create_app(sandbox: Sandbox) -> Flask:
    """Build the WSGI app: the V1 REST API at ``/``, control at ``/_sandbox``.

    The browser SDK answers at ``/_sandbox/sdk`` and ``/v1/iamport.js``.

    :param sandbox: the sandbox the views act on.
    """
    # No app-wide /static: the REST API owns the root; the SDK serves its files.
    app = Flask("flask_nicepay.sandbox", static_folder=None)
    app.extensions[api.EXTENSION_KEY] = sandbox
    # PortOne's own clients call /payments/cancel/ and /payments/cancel alike.
    app.url_map.strict_slashes = False
    app.register_blueprint(api.bp)
    app.register_blueprint(control.bp, url_prefix="/_sandbox")
    sdk.register(app)
    app.register_error_handler(SandboxError, _refusal)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _crash)
    app.wsgi_app = sdk.ScriptBypass(  # type: ignore[method-assign]
        FaultMiddleware(app.wsgi_app, sandbox.faults), app.wsgi_app
    )
    return app


def _refusal(error: SandboxError) -> Response:
    return envelope(
        None, status=error.http_status, code=error.code, message=error.message
    )


def _http_error(error: HTTPException) -> Response:
    return envelope(None, status=error.code or 500, code=-1, message=error.name)


def _crash(error: Exception) -> Response:
    log.exception("sandbox error")
    return envelope(None, status=500, code=-1, message="Internal Server Error")
