"""One small class per group of PortOne endpoints, each calling through a shared
:class:`~flask_nicepay.portone.requestor.Requestor`.

:class:`~flask_nicepay.portone.PortOneClient` builds one of each and exposes them
as ``client.payments``, ``client.prepared``, ``client.cancels``,
``client.billing_keys``, ``client.charges``, ``client.schedules`` and
``client.vbanks``.
"""

from .amounts import PreparedAmounts
from .base import Resource
from .cancellations import CancelOptions
from .cancellations import Cancels
from .charges import AgainOptions
from .charges import ChargeOptions
from .charges import Charges
from .charges import ForeignOptions
from .charges import OnetimeOptions
from .customers import BillingKeys
from .payment_lookups import MAX_LOOKUP_IDS
from .payment_lookups import Payments
from .scheduling import Schedules
from .virtual_accounts import VbankOptions
from .virtual_accounts import VirtualAccounts

__all__ = [
    "MAX_LOOKUP_IDS",
    "AgainOptions",
    "BillingKeys",
    "CancelOptions",
    "Cancels",
    "ChargeOptions",
    "Charges",
    "ForeignOptions",
    "OnetimeOptions",
    "Payments",
    "PreparedAmounts",
    "Resource",
    "Schedules",
    "VbankOptions",
    "VirtualAccounts",
]
