"""The PortOne V1 REST client.

One :class:`PortOneClient` per set of credentials, shared by every thread of a
process. It keeps connections alive, reuses one access token until shortly before it
expires, puts a timeout on every call, and repeats a call only when repeating cannot
move money twice.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time
import typing as t
from decimal import Decimal
from urllib.parse import quote

import requests
from marshmallow import ValidationError
from urllib3.exceptions import NameResolutionError
from urllib3.exceptions import NewConnectionError

from . import errors
from . import schemas
from .auth import BearerAuth
from .auth import TokenManager
from .models import Buyer
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
from .models import Token
from .redact import mask

logger = logging.getLogger("flask_nicepay.portone")

DEFAULT_BASE_URL = "https://api.iamport.kr"
#: (connect, read) seconds. PortOne's own webhook sender waits 10 s to connect and
#: 30 s to read; a store's request thread should give up sooner.
DEFAULT_TIMEOUT = (3.05, 20.0)
#: Most ids one multi-lookup may carry.
MAX_LOOKUP_IDS = 100

Money = int | Decimal
Moment = dt.datetime | int
T = t.TypeVar("T")
R = t.TypeVar("R")
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class PortOneClient:
    """A client for PortOne's V1 REST API (``https://api.iamport.kr``).

    :param imp_key: the REST API key.
    :param imp_secret: the REST API secret; never logged or shown in ``repr``.
    :param base_url: the API's address; point it at the sandbox in tests.
    :param timeout: seconds to wait, as one number or a ``(connect, read)`` pair.
    :param session: a :class:`requests.Session` to send with; by default one is made
        with a connection pool of ``pool_size`` connections.
    :param max_retries: how many times a call that is safe to repeat is repeated
        after a connection failure, a timeout or a 5xx answer.
    :param backoff: the first pause between attempts in seconds; it doubles, with
        jitter, on each further attempt.
    :param pool_size: connections kept alive when the client makes its own session.
    :param tier: the sub-merchant code sent as the ``Tier`` header, if any.
    :param token_margin: seconds before expiry at which the token is renewed.
    """

    def __init__(
        self,
        imp_key: str,
        imp_secret: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        max_retries: int = 2,
        backoff: float = 0.25,
        pool_size: int = 16,
        tier: str | None = None,
        token_margin: float = 60.0,
    ) -> None:
        if not imp_key or not imp_secret:
            raise ValueError("PortOneClient needs both imp_key and imp_secret.")
        self._imp_key = imp_key
        self._imp_secret = imp_secret
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self._owns_session = session is None
        self._session = session if session is not None else _make_session(pool_size)
        self._headers = {"User-Agent": "Flask-NicePay", "Accept": "application/json"}
        if tier:
            self._headers["Tier"] = tier
        self.tokens = TokenManager(self.fetch_token, margin=token_margin)

    def __repr__(self) -> str:
        return f"<PortOneClient {self.base_url} imp_key={mask(self._imp_key)}>"

    def close(self) -> None:
        """Close the connections of the session the client made itself."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> PortOneClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- authentication -----------------------------------------------------

    def fetch_token(self) -> Token:
        """Ask PortOne for an access token (``POST /users/getToken``).

        The client calls this itself when it needs a token; calling it directly is
        only useful to check the credentials.
        """
        body = {"imp_key": self._imp_key, "imp_secret": self._imp_secret}
        data = self._call("POST", "/users/getToken", body=body, auth=False, safe=True)
        return self._load(schemas.TOKEN, data, "POST", "/users/getToken")

    # -- payments -----------------------------------------------------------

    def get_payment(self, imp_uid: str) -> Payment:
        """One payment by its PortOne id (``GET /payments/{imp_uid}``).

        :raises NotFoundError: PortOne has no payment with that id.
        """
        path = f"/payments/{_seg(imp_uid)}"
        return self._load(schemas.PAYMENT, self._call("GET", path), "GET", path)

    def get_payments(
        self,
        *,
        imp_uids: t.Sequence[str] = (),
        merchant_uids: t.Sequence[str] = (),
    ) -> Lookup[Payment]:
        """Up to 100 payments in one call (``GET /payments``).

        What PortOne did not find is listed in :attr:`Lookup.missing` instead of
        raising: a 207 (some found) and a 404 (none found) are ordinary answers here.
        A ``merchant_uid`` finds that order's latest attempt.
        """
        wanted = len(imp_uids) + len(merchant_uids)
        if wanted > MAX_LOOKUP_IDS:
            raise ValueError(f"At most {MAX_LOOKUP_IDS} ids per lookup, not {wanted}.")
        if not wanted:
            return Lookup(items=(), missing=())
        query = {"imp_uid[]": list(imp_uids), "merchant_uid[]": list(merchant_uids)}
        try:
            data = self._call("GET", "/payments", query=query, accept=(200, 207))
        except errors.NotFoundError:
            data = []
        found = self._load_many(schemas.PAYMENT, data, "GET", "/payments")
        seen = {p.imp_uid for p in found} | {p.merchant_uid for p in found}
        missing = [uid for uid in (*imp_uids, *merchant_uids) if uid not in seen]
        return Lookup(items=tuple(found), missing=tuple(missing))

    def find_payment(
        self,
        merchant_uid: str,
        *,
        status: PaymentStatus | str | None = None,
        sorting: str | None = None,
    ) -> Payment:
        """The latest attempt of an order (``GET /payments/find/{merchant_uid}``).

        :param status: only attempts in this status.
        :param sorting: ``-started`` (default), ``started``, ``-paid``, ``paid``,
            ``-updated`` or ``updated``.
        :raises NotFoundError: no attempt matches.
        """
        path = f"/payments/find/{_seg(merchant_uid)}" + _status_seg(status)
        data = self._call("GET", path, query=_drop_none({"sorting": sorting}))
        return self._load(schemas.PAYMENT, data, "GET", path)

    def find_payments(
        self,
        merchant_uid: str,
        *,
        status: PaymentStatus | str | None = None,
        page: int = 1,
        limit: int | None = None,
        sorting: str | None = None,
    ) -> Page[Payment]:
        """Every attempt of an order, a page at a time (``/payments/findAll``)."""
        path = f"/payments/findAll/{_seg(merchant_uid)}" + _status_seg(status)
        query = _drop_none({"page": page, "limit": limit, "sorting": sorting})
        return self._page(schemas.PAYMENT, "GET", path, query)

    def payments_by_status(
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
        :param since: start of the range (PortOne's default: 90 days before
            ``until``).
        :param until: end of the range (PortOne's default: now).
        """
        path = f"/payments/status/{_seg(str(status))}"
        query = _drop_none(
            {
                "page": page,
                "limit": limit,
                "from": _unix(since),
                "to": _unix(until),
                "sorting": sorting,
            }
        )
        return self._page(schemas.PAYMENT, "GET", path, query)

    def iter_payments_by_status(
        self,
        status: PaymentStatus | str = "all",
        *,
        since: Moment | None = None,
        until: Moment | None = None,
        limit: int = 1000,
        sorting: str | None = None,
    ) -> t.Iterator[Payment]:
        """Every payment of :meth:`payments_by_status`, following the pages."""
        page: int | None = 1
        while page is not None:
            result = self.payments_by_status(
                status,
                page=page,
                limit=limit,
                since=since,
                until=until,
                sorting=sorting,
            )
            yield from result.items
            page = result.next

    # -- amount registration ------------------------------------------------

    def prepare(
        self, merchant_uid: str, amount: Money, *, currency: str | None = None
    ) -> Prepared:
        """Register the amount an order must be paid with (``POST /payments/prepare``).

        PortOne then refuses to open the payment window for that ``merchant_uid``
        with any other amount.

        :raises APIError: code 1 when the ``merchant_uid`` is already registered.
        """
        body = {"merchant_uid": merchant_uid, "amount": amount, "currency": currency}
        data = self._call("POST", "/payments/prepare", body=body)
        return self._load(schemas.PREPARED, data, "POST", "/payments/prepare")

    def update_prepared(
        self, merchant_uid: str, amount: Money, *, currency: str | None = None
    ) -> Prepared:
        """Change a registered amount (``PUT /payments/prepare``).

        :raises NotFoundError: nothing is registered for the ``merchant_uid``.
        """
        body = {"merchant_uid": merchant_uid, "amount": amount, "currency": currency}
        data = self._call("PUT", "/payments/prepare", body=body, safe=True)
        return self._load(schemas.PREPARED, data, "PUT", "/payments/prepare")

    def get_prepared(self, merchant_uid: str) -> Prepared:
        """The amount registered for an order (``GET /payments/prepare/{uid}``).

        :raises NotFoundError: nothing is registered for the ``merchant_uid``.
        """
        path = f"/payments/prepare/{_seg(merchant_uid)}"
        return self._load(schemas.PREPARED, self._call("GET", path), "GET", path)

    # -- cancels ------------------------------------------------------------

    def cancel(
        self,
        *,
        imp_uid: str | None = None,
        merchant_uid: str | None = None,
        amount: Money | None = None,
        tax_free: Money | None = None,
        vat_amount: Money | None = None,
        checksum: Money | None = None,
        reason: str | None = None,
        refund: RefundAccount | None = None,
        enable_webhook: bool | None = None,
    ) -> Payment:
        """Cancel a payment in full or in part (``POST /payments/cancel``).

        Never repeated automatically: if no answer arrives, look the payment up
        before deciding anything.

        :param imp_uid: the payment; wins over ``merchant_uid`` when both are given.
        :param merchant_uid: the order, when the ``imp_uid`` is not known.
        :param amount: how much to cancel; ``None`` cancels everything left.
        :param tax_free: the tax-free part of ``amount``; NICE needs it whenever the
            payment had one.
        :param vat_amount: the VAT part of ``amount``; NICE needs it whenever the
            payment stated one.
        :param checksum: the balance the caller believes is left (amount minus what
            was cancelled before); PortOne refuses the cancel if its own differs.
        :param refund: the account a virtual-account payment is refunded to.
        :param enable_webhook: ask PortOne to send the ``cancelled`` webhook, which
            it does not for cancels made through the API otherwise.
        :raises APIError: code 1 when there is nothing to cancel or the payment is
            already fully cancelled; non-zero codes for amounts or checksums that do
            not add up.
        """
        if not (imp_uid or merchant_uid):
            raise ValueError("cancel() needs imp_uid or merchant_uid.")
        body: dict[str, t.Any] = {
            "imp_uid": imp_uid,
            "merchant_uid": merchant_uid,
            "amount": amount,
            "tax_free": tax_free,
            "vat_amount": vat_amount,
            "checksum": checksum,
            "reason": reason,
            "enable_webhook": enable_webhook,
        }
        if refund is not None:
            body.update(refund.as_params())
        data = self._call("POST", "/payments/cancel", body=body)
        return self._load(schemas.PAYMENT, data, "POST", "/payments/cancel")

    # -- billing keys -------------------------------------------------------

    def issue_billing_key(
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
        :param customer: the holder's contact details, sent as ``customer_*``.
        :raises CardError: the card could not be authenticated.
        """
        path = f"/subscribe/customers/{_seg(customer_uid)}"
        body: dict[str, t.Any] = {
            **card.as_params(),
            "pg": pg,
            "channel_key": channel_key,
            "customer_id": customer_id,
        }
        if customer is not None:
            body.update(customer.as_params("customer_"))
        data = self._call("POST", path, body=body, card=True)
        return self._load(schemas.CUSTOMER, data, "POST", path)

    def get_billing_key(self, customer_uid: str) -> Customer:
        """A billing key's masked card and holder (``GET /subscribe/customers/{uid}``).

        :raises NotFoundError: no key under that ``customer_uid``.
        """
        path = f"/subscribe/customers/{_seg(customer_uid)}"
        return self._load(schemas.CUSTOMER, self._call("GET", path), "GET", path)

    def get_billing_keys(self, customer_uids: t.Sequence[str]) -> Lookup[Customer]:
        """Up to 100 billing keys in one call; what was not found is listed."""
        if len(customer_uids) > MAX_LOOKUP_IDS:
            raise ValueError(f"At most {MAX_LOOKUP_IDS} customer_uids per lookup.")
        if not customer_uids:
            return Lookup(items=(), missing=())
        path = "/subscribe/customers"
        query = {"customer_uid[]": list(customer_uids)}
        try:
            data = self._call("GET", path, query=query, accept=(200, 207))
        except errors.NotFoundError:
            data = []
        found = self._load_many(schemas.CUSTOMER, data, "GET", path)
        seen = {c.customer_uid for c in found}
        missing = tuple(uid for uid in customer_uids if uid not in seen)
        return Lookup(items=tuple(found), missing=missing)

    def delete_billing_key(
        self, customer_uid: str, *, reason: str | None = None
    ) -> Customer:
        """Delete a billing key for good (``DELETE /subscribe/customers/{uid}``).

        :raises NotFoundError: no key under that ``customer_uid``.
        """
        path = f"/subscribe/customers/{_seg(customer_uid)}"
        data = self._call("DELETE", path, query=_drop_none({"reason": reason}))
        return self._load(schemas.CUSTOMER, data, "DELETE", path)

    def billing_key_payments(
        self, customer_uid: str, *, page: int = 1
    ) -> Page[Payment]:
        """Payments made with a billing key, a page at a time."""
        path = f"/subscribe/customers/{_seg(customer_uid)}/payments"
        return self._page(schemas.PAYMENT, "GET", path, {"page": page})

    # -- key-in and billing-key payments ----------------------------------

    def pay_onetime(
        self,
        *,
        merchant_uid: str,
        amount: Money,
        card: Card,
        name: str | None = None,
        customer_uid: str | None = None,
        currency: str | None = None,
        card_quota: int | None = None,
        tax_free: Money | None = None,
        vat_amount: Money | None = None,
        buyer: Buyer | None = None,
        custom_data: str | t.Mapping[str, t.Any] | None = None,
        notice_url: str | None = None,
        pg: str | None = None,
        channel_key: str | None = None,
    ) -> Payment:
        """A key-in payment (``POST /subscribe/payments/onetime``).

        Never repeated automatically. With ``customer_uid`` the card is also kept as
        a billing key under that name.

        :param card_quota: installment months (2 or more), only from 50,000 KRW.
        :raises CardError: the card could not be authenticated; nothing was paid.
        :raises PaymentDeclinedError: the card company declined; the failed payment
            is on the error.
        """
        body: dict[str, t.Any] = {
            "merchant_uid": merchant_uid,
            "amount": amount,
            **card.as_params(),
            "name": name,
            "customer_uid": customer_uid,
            "currency": currency,
            "card_quota": card_quota,
            "tax_free": tax_free,
            "vat_amount": vat_amount,
            "custom_data": _json_text(custom_data),
            "notice_url": notice_url,
            "pg": pg,
            "channel_key": channel_key,
            **(buyer.as_params() if buyer else {}),
        }
        return self._pay("/subscribe/payments/onetime", body)

    def pay_again(
        self,
        *,
        customer_uid: str,
        merchant_uid: str,
        amount: Money,
        name: str,
        currency: str | None = None,
        card_quota: int | None = None,
        tax_free: Money | None = None,
        vat_amount: Money | None = None,
        buyer: Buyer | None = None,
        custom_data: str | t.Mapping[str, t.Any] | None = None,
        notice_url: str | None = None,
        channel_key: str | None = None,
    ) -> Payment:
        """Charge a billing key (``POST /subscribe/payments/again``).

        Never repeated automatically: a repeat with the same ``merchant_uid`` is
        refused by PortOne once the first one was paid, which is the guard against
        charging twice.

        :raises APIError: code 1 when the ``customer_uid`` has no billing key.
        :raises PaymentDeclinedError: the card company declined.
        """
        body: dict[str, t.Any] = {
            "customer_uid": customer_uid,
            "merchant_uid": merchant_uid,
            "amount": amount,
            "name": name,
            "currency": currency,
            "card_quota": card_quota,
            "tax_free": tax_free,
            "vat_amount": vat_amount,
            "custom_data": _json_text(custom_data),
            "notice_url": notice_url,
            "channel_key": channel_key,
            **(buyer.as_params() if buyer else {}),
        }
        return self._pay("/subscribe/payments/again", body)

    # -- schedules ----------------------------------------------------------

    def schedule(
        self,
        customer_uid: str,
        schedules: t.Sequence[ScheduleRequest],
        *,
        card: Card | None = None,
        customer_id: str | None = None,
        channel_key: str | None = None,
    ) -> list[Schedule]:
        """Schedule payments with a billing key (``POST /subscribe/payments/schedule``).

        :param card: card data to issue the key first, when ``customer_uid`` has
            none yet.
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
        path = "/subscribe/payments/schedule"
        data = self._call("POST", path, body=body, card=True)
        return self._load_many(schemas.SCHEDULE, data, "POST", path)

    def unschedule(
        self,
        *,
        customer_uid: str | None = None,
        merchant_uids: t.Sequence[str] | None = None,
    ) -> list[Schedule]:
        """Revoke scheduled payments (``POST /subscribe/payments/unschedule``).

        Without ``merchant_uids`` every schedule of the customer is revoked.

        :raises APIError: code 1 when there is nothing to revoke.
        """
        if customer_uid is None and not merchant_uids:
            raise ValueError("unschedule() needs customer_uid or merchant_uids.")
        body = {
            "customer_uid": customer_uid,
            "merchant_uid": list(merchant_uids) if merchant_uids else None,
        }
        path = "/subscribe/payments/unschedule"
        data = self._call("POST", path, body=body)
        return self._load_many(schemas.SCHEDULE, data, "POST", path)

    def get_schedule(self, merchant_uid: str) -> Schedule:
        """One scheduled payment (``GET /subscribe/payments/schedule/{uid}``)."""
        path = f"/subscribe/payments/schedule/{_seg(merchant_uid)}"
        return self._load(schemas.SCHEDULE, self._call("GET", path), "GET", path)

    def reschedule(self, merchant_uid: str, schedule_at: Moment) -> Schedule:
        """Move a pending scheduled payment (``PUT …/schedule/{merchant_uid}``)."""
        path = f"/subscribe/payments/schedule/{_seg(merchant_uid)}"
        body = {"schedule_at": _unix(schedule_at)}
        data = self._call("PUT", path, body=body, safe=True)
        return self._load(schemas.SCHEDULE, data, "PUT", path)

    def schedules_between(
        self,
        since: Moment,
        until: Moment,
        *,
        status: str | None = None,
        page: int = 1,
        limit: int | None = None,
        sorting: str | None = None,
    ) -> Page[Schedule]:
        """Scheduled payments whose time falls in a range of at most 3 months."""
        query = _drop_none(
            {
                "schedule_from": _unix(since),
                "schedule_to": _unix(until),
                "schedule_status": status,
                "page": page,
                "limit": limit,
                "sorting": sorting,
            }
        )
        return self._page(
            schemas.SCHEDULE, "GET", "/subscribe/payments/schedule", query
        )

    def customer_schedules(
        self,
        customer_uid: str,
        since: Moment,
        until: Moment,
        *,
        status: str | None = None,
        page: int = 1,
    ) -> Page[Schedule]:
        """One customer's scheduled payments in a time range."""
        path = f"/subscribe/payments/schedule/customers/{_seg(customer_uid)}"
        query = _drop_none(
            {
                "from": _unix(since),
                "to": _unix(until),
                "schedule-status": status,
                "page": page,
            }
        )
        return self._page(schemas.SCHEDULE, "GET", path, query)

    # -- virtual accounts ---------------------------------------------------

    def issue_vbank(
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
        custom_data: str | t.Mapping[str, t.Any] | None = None,
        tax_free: Money | None = None,
        vat_amount: Money | None = None,
        channel_key: str | None = None,
        pg: str | None = None,
    ) -> Payment:
        """Issue a virtual account from the server (``POST /vbanks``).

        :param vbank_code: the 3-digit KFTC bank code.
        :param vbank_due: the deposit deadline.
        """
        body: dict[str, t.Any] = {
            "merchant_uid": merchant_uid,
            "amount": amount,
            "vbank_code": vbank_code,
            "vbank_due": _unix(vbank_due),
            "vbank_holder": vbank_holder,
            "name": name,
            "notice_url": notice_url,
            "custom_data": _json_text(custom_data),
            "tax_free": tax_free,
            "vat_amount": vat_amount,
            "channel_key": channel_key,
            "pg": pg,
            **(buyer.as_params() if buyer else {}),
        }
        return self._pay("/vbanks", body)

    def void_vbank(self, imp_uid: str) -> Payment:
        """Void a virtual account that was not paid into (``DELETE /vbanks/{uid}``)."""
        path = f"/vbanks/{_seg(imp_uid)}"
        return self._load(schemas.PAYMENT, self._call("DELETE", path), "DELETE", path)

    # -- plumbing -----------------------------------------------------------

    def _pay(self, path: str, body: dict[str, t.Any]) -> Payment:
        payment = self._load(
            schemas.PAYMENT,
            self._call("POST", path, body=body, card=True),
            "POST",
            path,
        )
        if payment.status is PaymentStatus.FAILED:
            raise errors.PaymentDeclinedError(payment, method="POST", path=path)
        return payment

    def _page(
        self, loader: schemas.Loader[T], method: str, path: str, query: dict[str, t.Any]
    ) -> Page[T]:
        data = self._call(method, path, query=query)
        return _parsed(loader.page, data, method, path)

    def _load(
        self, loader: schemas.Loader[T], data: t.Any, method: str, path: str
    ) -> T:
        return _parsed(loader.one, data, method, path)

    def _load_many(
        self, loader: schemas.Loader[T], data: t.Any, method: str, path: str
    ) -> list[T]:
        return _parsed(loader.many, data, method, path)

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: t.Mapping[str, t.Any] | None = None,
        body: t.Mapping[str, t.Any] | None = None,
        auth: bool = True,
        safe: bool | None = None,
        accept: tuple[int, ...] = (200,),
        card: bool = False,
    ) -> t.Any:
        """Send one API call and return the ``response`` part of a successful answer.

        :param safe: whether repeating the call after it may have reached PortOne is
            harmless; lookups (GET) are, payments and cancels are not. Any call is
            repeated when the connection could not be opened, and once with a fresh
            token after a 401.
        :param accept: HTTP statuses that count as success.
        :param card: map PortOne's code -1 to :class:`CardError`.
        """
        repeatable = method == "GET" if safe is None else safe
        payload = None if body is None else _encode(body)
        headers = dict(self._headers)
        if payload is not None:
            headers["Content-Type"] = "application/json"
        attempt, token_renewed = 0, False
        while True:
            attempt += 1
            token = self.tokens.get() if auth else None
            try:
                response = self._send(method, path, query, payload, headers, token)
            except errors.TransportError as exc:
                if self._should_retry(attempt, repeatable or not exc.request_sent):
                    continue
                raise
            if response.status_code == 401 and token is not None and not token_renewed:
                self.tokens.invalidate(token)
                token_renewed = True
                continue
            if response.status_code in _RETRY_STATUSES and self._should_retry(
                attempt, repeatable
            ):
                continue
            return _unwrap(response, method, path, accept, card)

    def _send(
        self,
        method: str,
        path: str,
        query: t.Mapping[str, t.Any] | None,
        payload: bytes | None,
        headers: dict[str, str],
        token: str | None,
    ) -> requests.Response:
        started = time.perf_counter()
        try:
            response = self._session.request(
                method,
                self.base_url + path,
                params=query,
                data=payload,
                headers=headers,
                auth=BearerAuth(token) if token else None,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            logger.warning("PortOne %s %s failed: %s", method, path, type(exc).__name__)
            raise _transport_error(exc, method, path) from None
        logger.debug(
            "PortOne %s %s -> %s in %.0f ms",
            method,
            path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response

    def _should_retry(self, attempt: int, allowed: bool) -> bool:
        if not allowed or attempt > self.max_retries:
            return False
        pause = self.backoff * 2 ** (attempt - 1)
        time.sleep(pause * (0.5 + random.random() / 2))  # noqa: S311 - jitter only
        return True


def _make_session(pool_size: int) -> requests.Session:
    session = requests.Session()
    # Retries are decided by the client, which knows which calls are safe to repeat.
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=1, pool_maxsize=pool_size, max_retries=0
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _transport_error(
    exc: requests.RequestException, method: str, path: str
) -> errors.TransportError:
    # A connect timeout or a refused connection means nothing was sent. Anything
    # else (read timeout, connection dropped mid-answer) may have reached PortOne.
    name = type(exc).__name__
    if isinstance(exc, requests.ConnectTimeout) or (
        isinstance(exc, requests.ConnectionError) and _never_connected(exc)
    ):
        message = f"could not connect to PortOne ({name})"
        return errors.ConnectError(message, method=method, path=path)
    message = f"no answer from PortOne ({name})"
    return errors.NoResponseError(message, method=method, path=path)


def _never_connected(exc: requests.ConnectionError) -> bool:
    reason: t.Any = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, NewConnectionError | NameResolutionError)


def _unwrap(
    response: requests.Response,
    method: str,
    path: str,
    accept: tuple[int, ...],
    card: bool,
) -> t.Any:
    status = response.status_code
    try:
        envelope = json.loads(response.content, parse_float=Decimal)
    except ValueError:
        envelope = None
    if not isinstance(envelope, dict) or "code" not in envelope:
        raise errors.ServerError(
            status,
            None,
            "the answer is not PortOne's JSON envelope",
            method=method,
            path=path,
        )
    code, message = envelope.get("code"), envelope.get("message")
    if status in accept and (code == 0 or status == 207):
        return envelope.get("response")
    raise _api_error(status, code, message, method, path, card)


def _api_error(
    status: int,
    code: t.Any,
    message: t.Any,
    method: str,
    path: str,
    card: bool,
) -> errors.APIError:
    cls: type[errors.APIError] = errors.APIError
    if status == 401:
        cls = errors.AuthenticationError
    elif status == 404:
        cls = errors.NotFoundError
    elif status in (400, 422):
        cls = errors.InvalidRequestError
    elif status >= 500:
        cls = errors.ServerError
    elif card and code == -1:
        cls = errors.CardError
    return cls(
        status,
        code if isinstance(code, int) else None,
        str(message) if message is not None else None,
        method=method,
        path=path,
    )


def _parsed(load: t.Callable[[t.Any], R], data: t.Any, method: str, path: str) -> R:
    """Run a loader; an answer that does not fit the schema is PortOne's fault."""
    try:
        return load(data)
    except ValidationError as exc:
        detail = f"unexpected answer from PortOne: {exc.messages}"
        raise errors.ServerError(200, 0, detail, method=method, path=path) from None


def _encode(body: t.Mapping[str, t.Any]) -> bytes:
    body = _drop_none(body)
    _refuse_floats(body)
    return json.dumps(body, default=_json_number, ensure_ascii=False).encode()


def _refuse_floats(value: object) -> None:
    """Binary floats cannot hold money exactly; PortOne requests carry no others."""
    if isinstance(value, float):
        raise TypeError("Pass amounts as int or Decimal, never float.")
    if isinstance(value, dict):
        for item in value.values():
            _refuse_floats(item)
    elif isinstance(value, list):
        for item in value:
            _refuse_floats(item)


def _json_number(value: object) -> int | float:
    """Money as a JSON number, refusing any value JSON cannot carry exactly."""
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        as_float = float(value)
        if Decimal(repr(as_float)) != value:
            raise ValueError(f"{value} cannot be sent to PortOne exactly.")
        return as_float
    raise TypeError(f"{type(value).__name__} cannot be sent to PortOne.")


def _drop_none(mapping: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    return {key: value for key, value in mapping.items() if value is not None}


def _unix(moment: Moment | None) -> int | None:
    if moment is None or isinstance(moment, int):
        return moment
    if moment.tzinfo is None:
        raise ValueError("Pass aware datetimes; a naive one has no fixed moment.")
    return int(moment.timestamp())


def _seg(value: str) -> str:
    if not value:
        raise ValueError("An id in the path cannot be empty.")
    return quote(value, safe="")


def _status_seg(status: PaymentStatus | str | None) -> str:
    return "" if status is None else "/" + _seg(str(status))


def _json_text(value: str | t.Mapping[str, t.Any] | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _schedule_params(request: ScheduleRequest) -> dict[str, t.Any]:
    params: dict[str, t.Any] = {
        "merchant_uid": request.merchant_uid,
        "schedule_at": _unix(request.schedule_at),
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
    return _drop_none(params)
