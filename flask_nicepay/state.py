"""What :meth:`NicePay.init_app <flask_nicepay.NicePay.init_app>` keeps per app.

The views, the CLI and ``doctor`` reach the current app's payments through
:func:`app_state`, so they import this small module and never the extension that
registers them: imports point one way.
"""

from __future__ import annotations

import dataclasses
import typing as t
import warnings

from flask import Flask
from flask import current_app
from itsdangerous import URLSafeSerializer

from . import config
from .payments import Payments
from .service import PaymentService

if t.TYPE_CHECKING:
    from .extension import NicePay
    from .sandbox import Sandbox

#: Where the embedded sandbox is mounted in the app (its SDK, window, control API).
SANDBOX_MOUNT = "/_nicepay_sandbox"


@dataclasses.dataclass(frozen=True, slots=True)
class State:
    """What :meth:`NicePay.init_app <flask_nicepay.NicePay.init_app>` builds for
    one application.

    :type payments: ~flask_nicepay.payments.Payments
    """

    extension: NicePay
    settings: config.Settings
    payments: Payments
    sandbox: Sandbox | None
    signer: URLSafeSerializer

    @property
    def service(self) -> PaymentService:
        """Deprecated: ``payments`` under its former interface."""
        warnings.warn(
            "State.service is deprecated; use State.payments.",
            DeprecationWarning,
            stacklevel=2,
        )
        return PaymentService.wrapping(self.payments)


def app_state(app: Flask | None = None) -> State:
    """The current (or given) app's :class:`State`.

    :raises RuntimeError: NicePay was not initialised on the app.
    """
    target = app or current_app
    try:
        return t.cast(State, target.extensions["nicepay"])
    except KeyError:
        raise RuntimeError(
            "NicePay is not initialised on this app; call nicepay.init_app(app)."
        ) from None
