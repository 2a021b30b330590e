"""An offline PortOne V1 emulator (NICE old module), faithful on the wire.

Code written against ``https://api.iamport.kr`` runs against it unchanged, in
process (:meth:`Sandbox.session`, :class:`SandboxAdapter`) or over a real socket
(:func:`serve`, ``python -m flask_nicepay.sandbox``). The buyer's side (payment
window, vbank deposit) and the console's side (cancels, clock, faults) are
driven from Python or from the control API under ``/_sandbox/``.
See ``docs/sandbox/index.rst``.

Three layers, imports pointing one way (``http`` -> ``engine`` -> ``model``):

* :mod:`~flask_nicepay.sandbox.model`: the records, the store that holds them,
  the clock, codes, test cards, value parsing and the sandbox's errors;
* :mod:`~flask_nicepay.sandbox.engine`: what PortOne does with them: payments,
  cancels, virtual accounts, billing keys, schedules, the payment window,
  webhooks and faults, behind one
  :class:`~flask_nicepay.sandbox.engine.account.Account`;
* :mod:`~flask_nicepay.sandbox.http`: the Flask app (REST, ``/subscribe``,
  control and SDK), the wire format, the in-process adapter and the server.

The emulator shares no parsing, schema or constant with the plugin's PortOne
client (:mod:`flask_nicepay.portone`), on purpose: it is a second, independent
reading of PortOne's documentation. A parser shared by both sides would let one
misreading pass both, the client sending what the emulator wrongly accepts, and
the tests would stay green against a PortOne that does not exist.
"""

from .engine.purchase import CheckoutOptions
from .engine.webhook_outbox import WebhookDelivery
from .http.adapter import SandboxAdapter
from .http.flask_app import Sandbox
from .http.server import serve
from .model.cards import TEST_CARDS
from .model.cards import TestCard
from .model.codes import API_CHANNEL_KEY
from .model.codes import API_MID
from .model.codes import TEST_API_CHANNEL_KEY
from .model.codes import TEST_API_MID
from .model.codes import TEST_WINDOW_CHANNEL_KEY
from .model.codes import TEST_WINDOW_MID
from .model.codes import WINDOW_CHANNEL_KEY
from .model.codes import WINDOW_MID
from .model.pg_settings import PgSetting
from .model.sandbox_errors import CheckoutRefused
from .model.sandbox_errors import SandboxError

__all__ = [
    "API_CHANNEL_KEY",
    "API_MID",
    "TEST_API_CHANNEL_KEY",
    "TEST_API_MID",
    "TEST_CARDS",
    "TEST_WINDOW_CHANNEL_KEY",
    "TEST_WINDOW_MID",
    "WINDOW_CHANNEL_KEY",
    "WINDOW_MID",
    "CheckoutOptions",
    "CheckoutRefused",
    "PgSetting",
    "Sandbox",
    "SandboxAdapter",
    "SandboxError",
    "TestCard",
    "WebhookDelivery",
    "serve",
]
