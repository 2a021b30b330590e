"""Virtual accounts issued from the server (``/vbanks``)."""

from __future__ import annotations

import typing as t

from .. import schemas
from ..models import Buyer
from ..models import Payment
from .base import CustomData
from .base import Moment
from .base import Money
from .base import Resource
from .base import options_body
from .base import seg
from .base import spelled_out
from .base import unix


class VbankOptions(t.TypedDict, total=False):
    """The optional keywords of :meth:`VirtualAccounts.issue`, all ``None`` by
    default."""

    #: The order's name.
    name: str | None
    #: The buyer's contact details.
    buyer: Buyer | None
    #: Where PortOne sends this payment's webhooks.
    notice_url: str | None
    #: Kept by PortOne with the payment, as JSON text.
    custom_data: CustomData
    #: The tax-free part of ``amount``.
    tax_free: Money | None
    #: The VAT part of ``amount``.
    vat_amount: Money | None
    #: The channel to issue through.
    channel_key: str | None
    #: The PG to issue through, instead of ``channel_key``.
    pg: str | None


class VirtualAccounts(Resource):
    """Issue a bank account the buyer pays into, or void one nobody paid into."""

    @spelled_out(VbankOptions)
    def issue(
        self,
        *,
        merchant_uid: str,
        amount: Money,
        vbank_code: str,
        vbank_due: Moment,
        vbank_holder: str,
        **options: t.Unpack[VbankOptions],
    ) -> Payment:
        """Issue a virtual account from the server (``POST /vbanks``).

        :param merchant_uid: the store's id of the order.
        :param amount: the amount to be paid in.
        :param vbank_code: the 3-digit KFTC bank code.
        :param vbank_due: the deposit deadline.
        :param vbank_holder: the account holder's name the buyer sees.
        :param options: see :class:`VbankOptions`.
        """
        given = options_body("issue", options, VbankOptions)
        body: dict[str, t.Any] = {
            "merchant_uid": merchant_uid,
            "amount": amount,
            "vbank_code": vbank_code,
            "vbank_due": unix(vbank_due),
            "vbank_holder": vbank_holder,
        }
        return self._requestor.charge("/vbanks", body | given)

    def void(self, imp_uid: str) -> Payment:
        """Void a virtual account that was not paid into (``DELETE /vbanks/{uid}``).

        :param imp_uid: PortOne's id of the virtual-account payment.
        """
        path = f"/vbanks/{seg(imp_uid)}"
        return self._requestor.call("DELETE", path).one(schemas.PAYMENT)
