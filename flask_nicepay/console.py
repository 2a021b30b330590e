"""The operator console: an opt-in blueprint under the plugin's URL prefix.

.. code-block:: python

    from flask_nicepay.console import Console

    def may_operate(request):
        return current_user.is_admin and current_user.email  # a name, or False

    nicepay.init_app(app)
    Console(app, guard=may_operate)  # /nicepay/console/

The guard decides for every request; see ``docs/console.rst``.
"""

from __future__ import annotations

import logging
import typing as t

from flask import Flask

from . import console_actions  # noqa: F401  (registers the actions)
from . import console_pages  # noqa: F401  (registers the pages)
from . import console_reconcile  # noqa: F401  (reconcile in batches)
from .config import ConfigurationError
from .console_base import Actor
from .console_base import ConsoleState
from .console_base import Guard
from .console_base import console_bp
from .state import app_state

logger = logging.getLogger("flask_nicepay")

#: Where the console is mounted, under ``NICEPAY_URL_PREFIX``.
CONSOLE_PATH = "/console"


class Console:
    """The operator console, registered on an app that has a
    :class:`~flask_nicepay.NicePay` already.

    :param app: register right away on this app.
    :param guard: ``guard(request)``: whether the request's user may operate.
        Return ``False`` (or anything false) to refuse with a 403, ``True`` to
        let them in, or a string: the operator's name, recorded with every
        action. Required outside sandbox mode.
    :param actor: ``actor(request)``: the operator's name, when the guard does
        not give one.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        guard: Guard | None = None,
        actor: Actor | None = None,
    ) -> None:
        self.guard = guard
        self.actor = actor
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Mount the console at ``NICEPAY_URL_PREFIX + "/console"``.

        :raises RuntimeError: NicePay is not initialised on the app, or the
            console is registered already.
        :raises ConfigurationError: no guard outside sandbox mode.
        """
        state = app_state(app)
        if "nicepay_console" in app.extensions:
            raise RuntimeError("The NicePay console is already registered on this app.")
        if self.guard is None:
            if not state.settings.mode.sandbox:
                raise ConfigurationError(
                    "The NicePay console needs a guard outside sandbox mode: "
                    "Console(app, guard=lambda request: ...) returning whether "
                    "the request's user may operate."
                )
            logger.warning(
                "flask-nicepay: the console has no guard; in sandbox mode anyone "
                "who reaches %s%s may refund and replay.",
                state.settings.url_prefix,
                CONSOLE_PATH,
            )
        app.extensions["nicepay_console"] = ConsoleState(self.guard, self.actor)
        app.register_blueprint(
            console_bp, url_prefix=state.settings.url_prefix + CONSOLE_PATH
        )
        _exempt_from_csrf(app)
        if "csrf" not in app.extensions:  # CSRFProtect may come after the console
            app.before_request(lambda: _exempt_from_csrf(app))


def _exempt_from_csrf(app: Flask) -> None:
    """Leave the console to its own form tokens if the app has Flask-WTF's
    CSRFProtect, whose token its forms do not carry."""
    csrf: t.Any = app.extensions.get("csrf")
    if csrf is not None and callable(getattr(csrf, "exempt", None)):
        csrf.exempt(console_bp)
