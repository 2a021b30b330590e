"""An offline PortOne V1 emulator (NICE old module), faithful on the wire.

Code written against ``https://api.iamport.kr`` runs against it unchanged, in
process (:meth:`Sandbox.session`, :class:`SandboxAdapter`) or over a real socket
(:func:`serve`, ``python -m flask_nicepay.sandbox``). The buyer's side (payment
window, vbank deposit) and the console's side (cancels, clock, faults) are
driven from Python or from the control API under ``/_sandbox/``.
See ``docs/sandbox.rst``.
"""

from .adapter import SandboxAdapter
from .cards import TEST_CARDS
from .cards import TestCard
from .core import Sandbox
from .errors import CheckoutRefused
from .errors import SandboxError
from .server import serve
from .webhooks import WebhookDelivery

__all__ = [
    "TEST_CARDS",
    "CheckoutRefused",
    "Sandbox",
    "SandboxAdapter",
    "SandboxError",
    "TestCard",
    "WebhookDelivery",
    "serve",
]
