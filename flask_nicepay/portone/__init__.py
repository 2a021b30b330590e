"""A client for PortOne's V1 REST API. Imports nothing from Flask.

.. code-block:: python

    from flask_nicepay.portone import PortOneClient

    client = PortOneClient("imp_key", "imp_secret")
    payment = client.payments.get("imp_123456789012")  # or client.get_payment(...)

The client wires three layers: :mod:`~flask_nicepay.portone.transport` (HTTP,
timeouts, retries, the token), :mod:`~flask_nicepay.portone.requestor` (PortOne's
envelope, errors, parsing) and :mod:`~flask_nicepay.portone.resources` (one class
per group of endpoints).
"""

from .client import DEFAULT_BASE_URL
from .client import MAX_LOOKUP_IDS
from .client import PortOneClient
from .errors import APIError
from .errors import AuthenticationError
from .errors import CardError
from .errors import ConnectError
from .errors import InvalidRequestError
from .errors import NoResponseError
from .errors import NotFoundError
from .errors import PaymentDeclinedError
from .errors import PortOneError
from .errors import ServerError
from .errors import TransportError
from .models import Buyer
from .models import CancelRecord
from .models import Card
from .models import Customer
from .models import Lookup
from .models import Page
from .models import Payment
from .models import PaymentStatus
from .models import Prepared
from .models import RefundAccount
from .models import Schedule
from .models import ScheduleRequest
from .models import ScheduleStatus
from .models import Token

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_LOOKUP_IDS",
    "APIError",
    "AuthenticationError",
    "Buyer",
    "CancelRecord",
    "Card",
    "CardError",
    "ConnectError",
    "Customer",
    "InvalidRequestError",
    "Lookup",
    "NoResponseError",
    "NotFoundError",
    "Page",
    "Payment",
    "PaymentDeclinedError",
    "PaymentStatus",
    "PortOneClient",
    "PortOneError",
    "Prepared",
    "RefundAccount",
    "Schedule",
    "ScheduleRequest",
    "ScheduleStatus",
    "ServerError",
    "Token",
    "TransportError",
]
