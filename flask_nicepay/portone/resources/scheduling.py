"""Scheduled payments (``/subscribe/payments/schedule``): billing-key charges that
PortOne makes by itself at a given time."""

from __future__ import annotations

import datetime as dt
import typing as t

from .. import schemas
from ..models import Card
from ..models import Page
from ..models import Schedule
from ..models import ScheduleRequest
from ..requestor import drop_none
from .base import Moment
from .base import Resource
from .base import seg
from .base import unix

PATH = "/subscribe/payments/schedule"
#: The longest range one search covers: "3 months" is never shorter than 89 days.
MAX_SEARCH_RANGE: t.Final = dt.timedelta(days=89)


class Schedules(Resource):
    """Schedule, revoke, move and list payments PortOne will make later."""

    def create(
        self,
        customer_uid: str,
        schedules: t.Sequence[ScheduleRequest],
        *,
        card: Card | None = None,
        customer_id: str | None = None,
        channel_key: str | None = None,
    ) -> list[Schedule]:
        """Schedule payments with a billing key (``POST /subscribe/payments/schedule``).

        :param customer_uid: the billing key to charge.
        :param schedules: the payments, each with its time and amount.
        :param card: card data to issue the key first, when ``customer_uid`` has
            none yet.
        :param customer_id: the store's id of the buyer, kept with the key.
        :param channel_key: the channel to charge through.
        :raises APIError: code 1 when the customer is unknown and no card is given.
        :raises CardError: the card data given could not be authenticated.
        """
        body: dict[str, t.Any] = {
            "customer_uid": customer_uid,
            "customer_id": customer_id,
            "channel_key": channel_key,
            "schedules": [_schedule_params(s) for s in schedules],
            **(card.as_params() if card else {}),
        }
        answer = self._requestor.call("POST", PATH, body=body, card=True)
        return answer.many(schemas.SCHEDULE)

    def revoke(
        self,
        *,
        customer_uid: str | None = None,
        merchant_uids: t.Sequence[str] | None = None,
    ) -> list[Schedule]:
        """Revoke scheduled payments (``POST /subscribe/payments/unschedule``).

        Without ``merchant_uids`` every schedule of the customer is revoked.

        :param customer_uid: the billing key whose schedules are revoked.
        :param merchant_uids: only these scheduled payments.
        :raises APIError: code 1 when there is nothing to revoke.
        """
        if customer_uid is None and not merchant_uids:
            raise ValueError("unschedule() needs customer_uid or merchant_uids.")
        body = {
            "customer_uid": customer_uid,
            "merchant_uid": list(merchant_uids) if merchant_uids else None,
        }
        path = "/subscribe/payments/unschedule"
        answer = self._requestor.call("POST", path, body=body)
        return answer.many(schemas.SCHEDULE)

    def get(self, merchant_uid: str) -> Schedule:
        """One scheduled payment (``GET /subscribe/payments/schedule/{uid}``).

        :param merchant_uid: the scheduled payment's order id.
        """
        path = f"{PATH}/{seg(merchant_uid)}"
        return self._requestor.call("GET", path).one(schemas.SCHEDULE)

    def move(self, merchant_uid: str, schedule_at: Moment) -> Schedule:
        """Move a pending scheduled payment (``PUT …/schedule/{merchant_uid}``).

        :param merchant_uid: the scheduled payment's order id.
        :param schedule_at: its new time.
        """
        path = f"{PATH}/{seg(merchant_uid)}"
        body = {"schedule_at": unix(schedule_at)}
        answer = self._requestor.call("PUT", path, body=body, safe=True)
        return answer.one(schemas.SCHEDULE)

    def rearm(self, merchant_uid: str, schedule_at: Moment) -> Schedule:
        """Schedule a revoked or failed payment again, under the same
        ``merchant_uid`` (``POST …/schedule/{merchant_uid}/reschedule``).

        :param merchant_uid: the scheduled payment's order id.
        :param schedule_at: its new time, in the future.
        :raises InvalidRequestError: the schedule is pending or was paid, or the
            time is not in the future.
        """
        path = f"{PATH}/{seg(merchant_uid)}/reschedule"
        body = {"schedule_at": unix(schedule_at)}
        return self._requestor.call("POST", path, body=body).one(schemas.SCHEDULE)

    def between(
        self,
        since: Moment,
        until: Moment,
        *,
        status: str | None = None,
        page: int = 1,
        limit: int | None = None,
        sorting: str | None = None,
    ) -> Page[Schedule]:
        """Scheduled payments whose time falls in a range of at most 3 months.

        :param since: start of the range.
        :param until: end of the range.
        :param status: ``scheduled``, ``executed`` or ``revoked``.
        :param page: the page, from 1.
        :param limit: schedules per page.
        :param sorting: ``scheduled`` for oldest first; newest first by default.
        """
        query = drop_none(
            {
                "schedule_from": unix(since),
                "schedule_to": unix(until),
                "schedule_status": status,
                "page": page,
                "limit": limit,
                "sorting": sorting,
            }
        )
        return self._requestor.call("GET", PATH, query=query).page(schemas.SCHEDULE)

    def iter_between(
        self,
        since: Moment,
        until: Moment,
        *,
        status: str | None = None,
        limit: int = 1000,
    ) -> t.Iterator[Schedule]:
        """Every scheduled payment whose time falls in a range of any length,
        oldest first: one search per
        :data:`~flask_nicepay.portone.resources.scheduling.MAX_SEARCH_RANGE`,
        following the pages.

        :param since: start of the range.
        :param until: end of the range.
        :param status: ``scheduled``, ``executed`` or ``revoked``.
        :param limit: schedules fetched per call.
        """
        start, end = unix(since), unix(until)
        assert start is not None and end is not None
        step = int(MAX_SEARCH_RANGE.total_seconds())
        while start <= end:
            last = min(start + step, end)
            page: int | None = 1
            while page is not None:
                found = self.between(
                    start,
                    last,
                    status=status,
                    page=page,
                    limit=limit,
                    sorting="scheduled",
                )
                yield from found.items
                page = found.next
            start = last + 1

    def of_customer(
        self,
        customer_uid: str,
        since: Moment,
        until: Moment,
        *,
        status: str | None = None,
        page: int = 1,
    ) -> Page[Schedule]:
        """One customer's scheduled payments in a time range.

        :param customer_uid: the billing key.
        :param since: start of the range.
        :param until: end of the range.
        :param status: ``scheduled``, ``executed`` or ``revoked``.
        :param page: the page, from 1.
        """
        path = f"{PATH}/customers/{seg(customer_uid)}"
        query = drop_none(
            {
                "from": unix(since),
                "to": unix(until),
                "schedule-status": status,
                "page": page,
            }
        )
        return self._requestor.call("GET", path, query=query).page(schemas.SCHEDULE)


_OLDEST: t.Final = "scheduled"


def _schedule_params(request: ScheduleRequest) -> dict[str, t.Any]:
    params: dict[str, t.Any] = {
        "merchant_uid": request.merchant_uid,
        "schedule_at": unix(request.schedule_at),
        "amount": request.amount,
        "currency": request.currency,
        "name": request.name,
        "tax_free": request.tax_free,
        "vat_amount": request.vat_amount,
        "card_quota": request.card_quota,
        "custom_data": request.custom_data,
        "notice_url": request.notice_url,
        **(request.buyer.as_params() if request.buyer else {}),
    }
    return drop_none(params)
