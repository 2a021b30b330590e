"""Amount registration (``/payments/prepare``): the amount an order must be paid
with, fixed before the payment window opens."""

from __future__ import annotations

from .. import schemas
from ..models import Prepared
from .base import Money
from .base import Resource
from .base import seg

PATH = "/payments/prepare"


class PreparedAmounts(Resource):
    """Amounts registered with PortOne, which refuses a payment of any other."""

    def register(
        self, merchant_uid: str, amount: Money, *, currency: str | None = None
    ) -> Prepared:
        """Register the amount an order must be paid with (``POST /payments/prepare``).

        PortOne then refuses to open the payment window for that ``merchant_uid``
        with any other amount.

        :param merchant_uid: the store's id of the order.
        :param amount: the amount, as ``int`` or ``Decimal``.
        :param currency: ``KRW`` (PortOne's default) or another currency.
        :raises APIError: code 1 when the ``merchant_uid`` is already registered.
        """
        body = {"merchant_uid": merchant_uid, "amount": amount, "currency": currency}
        return self._requestor.call("POST", PATH, body=body).one(schemas.PREPARED)

    def update(
        self, merchant_uid: str, amount: Money, *, currency: str | None = None
    ) -> Prepared:
        """Change a registered amount (``PUT /payments/prepare``).

        Repeated after a lost answer like a lookup: setting the same amount twice
        changes nothing.

        :param merchant_uid: the store's id of the order.
        :param amount: the new amount.
        :param currency: the new currency, if it changes.
        :raises NotFoundError: nothing is registered for the ``merchant_uid``.
        """
        body = {"merchant_uid": merchant_uid, "amount": amount, "currency": currency}
        answer = self._requestor.call("PUT", PATH, body=body, safe=True)
        return answer.one(schemas.PREPARED)

    def get(self, merchant_uid: str) -> Prepared:
        """The amount registered for an order (``GET /payments/prepare/{uid}``).

        :param merchant_uid: the store's id of the order.
        :raises NotFoundError: nothing is registered for the ``merchant_uid``.
        """
        path = f"{PATH}/{seg(merchant_uid)}"
        return self._requestor.call("GET", path).one(schemas.PREPARED)
