"""Take payments through PortOne V1 on the NICE Payments channel from a Flask store.

.. code-block:: python

    from flask import Flask
    from flask_nicepay import NicePay

    nicepay = NicePay()
    app = Flask(__name__)
    nicepay.init_app(app)
"""

from .config import ConfigurationError
from .extension import NicePay
from .inbound import InvalidIdError
from .key_in import PaymentInProgressError
from .machine import InvalidTransitionError
from .machine import OrderState
from .orders import MerchantUidInUseError
from .payments import Payments
from .portone import PortOneClient
from .refunds import RefundError
from .store import Order
from .store import Transition
from .subscription_machine import SubscriptionState
from .subscription_plan import EveryDays
from .subscription_plan import Monthly
from .subscription_plan import Plan
from .verify import OnMismatch

__all__ = [
    "ConfigurationError",
    "EveryDays",
    "InvalidIdError",
    "InvalidTransitionError",
    "MerchantUidInUseError",
    "Monthly",
    "NicePay",
    "OnMismatch",
    "Order",
    "OrderState",
    "PaymentInProgressError",
    "Payments",
    "Plan",
    "PortOneClient",
    "RefundError",
    "SubscriptionState",
    "Transition",
]
