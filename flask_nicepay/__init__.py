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
from .machine import InvalidTransitionError
from .machine import OrderState
from .orders import MerchantUidInUseError
from .payments import Payments
from .portone import PortOneClient
from .refunds import RefundError
from .store import Order
from .store import Transition
from .verify import OnMismatch

__all__ = [
    "ConfigurationError",
    "InvalidTransitionError",
    "MerchantUidInUseError",
    "NicePay",
    "OnMismatch",
    "Order",
    "OrderState",
    "Payments",
    "PortOneClient",
    "RefundError",
    "Transition",
]
