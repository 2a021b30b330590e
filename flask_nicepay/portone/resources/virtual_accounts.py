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
from .base import json_text
from .base import seg
from .base import unix


class VirtualAccounts(Resource):
    """Issue a bank account the buyer pays into, or void one nobody paid into."""

    def issue(
        self,
        *,
        merchant_uid: str,
        amount: Money,
        vbank_code: str,
        vbank_due: Moment,
        vbank_holder: str,
        name: str | None = None,
        buyer: Buyer | None = None,
        notice_url: str | None = None,
        custom_data: CustomData = None,
        tax_free: Money | None = None,
        vat_amount: Money | None = None,
        channel_key: str | None = None,
        pg: str | None = None,
    ) -> Payment:
        """Issue a virtual account from the server (``POST /vbanks``).

        :param merchant_uid: the store's id of the order.
        :param amount: the amount to be paid in.
        :param vbank_code: the 3-digit KFTC bank code.
        :param vbank_due: the deposit deadline.
        :param vbank_holder: the account holder's name the buyer sees.
        :param name: the order's name.
        :param buyer: the buyer's contact details.
        :param notice_url: where PortOne sends this payment's webhooks.
        :param custom_data: kept by PortOne with the payment, as JSON text.
        :param tax_free: the tax-free part of ``amount``.
        :param vat_amount: the VAT part of ``amount``.
        :param channel_key: the channel to issue through.
        :param pg: the PG to issue through, instead of ``channel_key``.
        """
        body: dict[str, t.Any] = {
            "merchant_uid": merchant_uid,
            "amount": amount,
            "vbank_code": vbank_code,
            "vbank_due": unix(vbank_due),
            "vbank_holder": vbank_holder,
            "name": name,
            "notice_url": notice_url,
            "custom_data": json_text(custom_data),
            "tax_free": tax_free,
            "vat_amount": vat_amount,
            "channel_key": channel_key,
            "pg": pg,
            **(buyer.as_params() if buyer else {}),
        }
        return self._requestor.charge("/vbanks", body)

    def void(self, imp_uid: str) -> Payment:
        """Void a virtual account that was not paid into (``DELETE /vbanks/{uid}``).

        :param imp_uid: PortOne's id of the virtual-account payment.
        """
        path = f"/vbanks/{seg(imp_uid)}"
        return self._requestor.call("DELETE", path).one(schemas.PAYMENT)
