"""Looking payments up: ``/payments`` and its find, findAll and status lists."""

from __future__ import annotations

import typing as t

from .. import schemas
from ..models import Lookup
from ..models import Page
from ..models import Payment
from ..models import PaymentStatus
from ..requestor import drop_none
from .base import Moment
from .base import Resource
from .base import seg
from .base import status_seg
from .base import unix

#: Most ids one multi-lookup may carry.
MAX_LOOKUP_IDS = 100


class Payments(Resource):
    """Payments as PortOne holds them: the only truth about what was paid."""

    def get(self, imp_uid: str) -> Payment:
        """One payment by its PortOne id (``GET /payments/{imp_uid}``).

        :param imp_uid: PortOne's id of the payment.
        :raises NotFoundError: PortOne has no payment with that id.
        """
        path = f"/payments/{seg(imp_uid)}"
        return self._requestor.call("GET", path).one(schemas.PAYMENT)

    def get_many(
        self,
        *,
        imp_uids: t.Sequence[str] = (),
        merchant_uids: t.Sequence[str] = (),
    ) -> Lookup[Payment]:
        """Up to 100 payments in one call (``GET /payments``).

        What PortOne did not find is listed in :attr:`.Lookup.missing` instead of
        raising: a 207 (some found) and a 404 (none found) are ordinary answers here.

        :param imp_uids: payments by PortOne's id.
        :param merchant_uids: payments by order; each finds that order's latest
            attempt.
        """
        wanted = len(imp_uids) + len(merchant_uids)
        if wanted > MAX_LOOKUP_IDS:
            raise ValueError(f"At most {MAX_LOOKUP_IDS} ids per lookup, not {wanted}.")
        if not wanted:
            return Lookup(items=(), missing=())
        query = {"imp_uid[]": list(imp_uids), "merchant_uid[]": list(merchant_uids)}
        found = self._requestor.found(schemas.PAYMENT, "/payments", query)
        seen = {p.imp_uid for p in found} | {p.merchant_uid for p in found}
        missing = [uid for uid in (*imp_uids, *merchant_uids) if uid not in seen]
        return Lookup(items=tuple(found), missing=tuple(missing))

    def find(
        self,
        merchant_uid: str,
        *,
        status: PaymentStatus | str | None = None,
        sorting: str | None = None,
    ) -> Payment:
        """The latest attempt of an order (``GET /payments/find/{merchant_uid}``).

        :param merchant_uid: the store's id of the order.
        :param status: only attempts in this status.
        :param sorting: ``-started`` (default), ``started``, ``-paid``, ``paid``,
            ``-updated`` or ``updated``.
        :raises NotFoundError: no attempt matches.
        """
        path = f"/payments/find/{seg(merchant_uid)}" + status_seg(status)
        query = drop_none({"sorting": sorting})
        return self._requestor.call("GET", path, query=query).one(schemas.PAYMENT)

    def find_all(
        self,
        merchant_uid: str,
        *,
        status: PaymentStatus | str | None = None,
        page: int = 1,
        limit: int | None = None,
        sorting: str | None = None,
    ) -> Page[Payment]:
        """Every attempt of an order, a page at a time (``/payments/findAll``).

        :param merchant_uid: the store's id of the order.
        :param status: only attempts in this status.
        :param page: the page, from 1.
        :param limit: attempts per page (PortOne's default: 20).
        :param sorting: as for :meth:`find`.
        """
        path = f"/payments/findAll/{seg(merchant_uid)}" + status_seg(status)
        query = drop_none({"page": page, "limit": limit, "sorting": sorting})
        return self._requestor.call("GET", path, query=query).page(schemas.PAYMENT)

    def by_status(
        self,
        status: PaymentStatus | str = "all",
        *,
        page: int = 1,
        limit: int | None = None,
        since: Moment | None = None,
        until: Moment | None = None,
        sorting: str | None = None,
    ) -> Page[Payment]:
        """Payments in a status within a time range of at most 90 days.

        :param status: ``all``, ``ready``, ``paid``, ``cancelled`` or ``failed``.
        :param page: the page, from 1.
        :param limit: payments per page (PortOne's default: 20).
        :param since: start of the range (PortOne's default: 90 days before
            ``until``).
        :param until: end of the range (PortOne's default: now).
        :param sorting: as for :meth:`find`.
        """
        path = f"/payments/status/{seg(str(status))}"
        query = drop_none(
            {
                "page": page,
                "limit": limit,
                "from": unix(since),
                "to": unix(until),
                "sorting": sorting,
            }
        )
        return self._requestor.call("GET", path, query=query).page(schemas.PAYMENT)

    def iter_by_status(
        self,
        status: PaymentStatus | str = "all",
        *,
        since: Moment | None = None,
        until: Moment | None = None,
        limit: int = 1000,
        sorting: str | None = None,
    ) -> t.Iterator[Payment]:
        """Every payment of :meth:`by_status`, following the pages.

        :param status: as for :meth:`by_status`.
        :param since: start of the range.
        :param until: end of the range.
        :param limit: payments fetched per call.
        :param sorting: as for :meth:`find`.
        """
        page: int | None = 1
        while page is not None:
            result = self.by_status(
                status,
                page=page,
                limit=limit,
                since=since,
                until=until,
                sorting=sorting,
            )
            yield from result.items
            page = result.next
