"""Billing keys (``/subscribe/customers``): a card kept at PortOne under the store's
``customer_uid``, to be charged later without the buyer."""

from __future__ import annotations

import typing as t

from .. import schemas
from ..models import Buyer
from ..models import Card
from ..models import Customer
from ..models import Lookup
from ..models import Page
from ..models import Payment
from ..requestor import drop_none
from .base import Resource
from .base import seg
from .payment_lookups import MAX_LOOKUP_IDS

PATH = "/subscribe/customers"
#: PortOne's code, with HTTP 200, for a ``customer_uid`` it has no key under.
UNKNOWN_CUSTOMER = 1


class BillingKeys(Resource):
    """Issue, look up and delete billing keys, and list what they paid."""

    def issue(
        self,
        customer_uid: str,
        card: Card,
        *,
        pg: str | None = None,
        channel_key: str | None = None,
        customer_id: str | None = None,
        customer: Buyer | None = None,
    ) -> Customer:
        """Issue a billing key for a card (``POST /subscribe/customers/{uid}``).

        With NICE's old module this REST call is the only way to issue one. Reusing
        a ``customer_uid`` replaces its card.

        :param customer_uid: the store's name for the key, one per buyer and card.
        :param card: the card data; it goes to PortOne and nowhere else.
        :param pg: the PG to issue with, when the store has several.
        :param channel_key: the channel to issue with, instead of ``pg``.
        :param customer_id: the store's id of the buyer, kept with the key.
        :param customer: the holder's contact details, sent as ``customer_*``.
        :raises CardError: the card could not be authenticated.
        """
        path = f"{PATH}/{seg(customer_uid)}"
        body: dict[str, t.Any] = {
            **card.as_params(),
            "pg": pg,
            "channel_key": channel_key,
            "customer_id": customer_id,
        }
        if customer is not None:
            body.update(customer.as_params("customer_"))
        answer = self._requestor.call("POST", path, body=body, card=True)
        return answer.one(schemas.CUSTOMER)

    def get(self, customer_uid: str) -> Customer:
        """A billing key's masked card and holder (``GET /subscribe/customers/{uid}``).

        :param customer_uid: the store's name for the key.
        :raises NotFoundError: no key under that ``customer_uid``.
        """
        path = f"{PATH}/{seg(customer_uid)}"
        answer = self._requestor.call("GET", path, missing=UNKNOWN_CUSTOMER)
        return answer.one(schemas.CUSTOMER)

    def get_many(self, customer_uids: t.Sequence[str]) -> Lookup[Customer]:
        """Up to 100 billing keys in one call; what was not found is listed.

        :param customer_uids: the keys to look up.
        """
        if len(customer_uids) > MAX_LOOKUP_IDS:
            raise ValueError(f"At most {MAX_LOOKUP_IDS} customer_uids per lookup.")
        if not customer_uids:
            return Lookup(items=(), missing=())
        query = {"customer_uid[]": list(customer_uids)}
        found = self._requestor.found(schemas.CUSTOMER, PATH, query)
        seen = {c.customer_uid for c in found}
        missing = tuple(uid for uid in customer_uids if uid not in seen)
        return Lookup(items=tuple(found), missing=missing)

    def delete(self, customer_uid: str, *, reason: str | None = None) -> Customer:
        """Delete a billing key for good (``DELETE /subscribe/customers/{uid}``).

        :param customer_uid: the store's name for the key.
        :param reason: why, kept by PortOne.
        :raises NotFoundError: no key under that ``customer_uid``.
        """
        path = f"{PATH}/{seg(customer_uid)}"
        query = drop_none({"reason": reason})
        answer = self._requestor.call(
            "DELETE", path, query=query, missing=UNKNOWN_CUSTOMER
        )
        return answer.one(schemas.CUSTOMER)

    def payments(self, customer_uid: str, *, page: int = 1) -> Page[Payment]:
        """Payments made with a billing key, a page at a time.

        :param customer_uid: the store's name for the key.
        :param page: the page, from 1.
        """
        path = f"{PATH}/{seg(customer_uid)}/payments"
        answer = self._requestor.call("GET", path, query={"page": page})
        return answer.page(schemas.PAYMENT)
