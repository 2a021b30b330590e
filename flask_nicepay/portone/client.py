"""The PortOne V1 REST client.

One :class:`PortOneClient` per set of credentials, shared by every thread of a
process. It only wires three layers together, as stripe-python does:

* the :class:`~flask_nicepay.portone.transport.Transport` keeps connections alive,
  puts a timeout on every call, signs calls with the one shared access token, and
  repeats a call only when repeating cannot move money twice;
* the :class:`~flask_nicepay.portone.requestor.Requestor` reads PortOne's envelope,
  raises the errors of :mod:`flask_nicepay.portone.errors` and parses answers;
* one small class per group of endpoints (:mod:`flask_nicepay.portone.resources`),
  exposed as ``client.payments``, ``client.cancels`` and so on.

The flat methods of earlier versions (``client.get_payment``, ``client.cancel``, …)
are the resources' own methods, bound onto the client.
"""

from __future__ import annotations

import functools
import typing as t

import requests

from . import resources
from . import schemas
from .auth import TokenAuth
from .auth import TokenManager
from .models import Token
from .redact import mask
from .requestor import Requestor
from .resources import MAX_LOOKUP_IDS
from .resources import BillingKeys
from .resources import Cancels
from .resources import Charges
from .resources import Payments
from .resources import PreparedAmounts
from .resources import Schedules
from .resources import VirtualAccounts
from .transport import DEFAULT_BASE_URL
from .transport import DEFAULT_TIMEOUT
from .transport import Timeout
from .transport import Transport

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_TIMEOUT", "MAX_LOOKUP_IDS", "PortOneClient"]

S = t.TypeVar("S")
P = t.ParamSpec("P")
R = t.TypeVar("R")
V = t.TypeVar("V")


def _alias(
    resource: t.Callable[[PortOneClient], S],
    method: t.Callable[t.Concatenate[S, P], R],
) -> t.Callable[t.Concatenate[PortOneClient, P], R]:
    """``method`` of one of the client's resources, as a method of the client.

    The signature is written once, on the resource; mypy checks both that
    ``method`` belongs to the resource picked and every call made through the alias.

    :param resource: picks the resource out of the client.
    :param method: the resource's method, unbound.
    """

    name = method.__name__

    @functools.wraps(method)
    def call(client: PortOneClient, /, *args: P.args, **kwargs: P.kwargs) -> R:
        # Looked up on the object, so a resource replaced or subclassed is obeyed.
        bound: t.Callable[P, R] = getattr(resource(client), name)
        return bound(*args, **kwargs)

    target = f"{resources.__name__}.{method.__qualname__}"
    call.__doc__ = f"Same as :meth:`{method.__qualname__} <{target}>`."
    return call


class _OnTransport(t.Generic[V]):
    """A client attribute that lives on its transport, read and written there."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @t.overload
    def __get__(self, client: None, owner: type) -> _OnTransport[V]: ...

    @t.overload
    def __get__(self, client: PortOneClient, owner: type) -> V: ...

    def __get__(self, client: PortOneClient | None, owner: type) -> V | _OnTransport[V]:
        if client is None:
            return self
        return t.cast(V, getattr(client.transport, self._name))

    def __set__(self, client: PortOneClient, value: V) -> None:
        setattr(client.transport, self._name, value)


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

    #: The API's address (kept on the transport).
    base_url = _OnTransport[str]()
    #: Seconds to wait, one number or ``(connect, read)`` (kept on the transport).
    timeout = _OnTransport[Timeout]()
    #: Repeats of a call that is safe to repeat (kept on the transport).
    max_retries = _OnTransport[int]()
    #: The first pause between attempts, in seconds (kept on the transport).
    backoff = _OnTransport[float]()

    def __init__(
        self,
        imp_key: str,
        imp_secret: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: Timeout = DEFAULT_TIMEOUT,
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
        #: Sends the calls: session, timeouts, retries, token auth.
        self.transport = Transport(
            base_url=base_url,
            timeout=timeout,
            session=session,
            max_retries=max_retries,
            backoff=backoff,
            pool_size=pool_size,
            tier=tier,
        )
        #: Reads PortOne's envelope, raises its errors, parses its answers.
        self.requestor = Requestor(self.transport)
        #: The access token every thread shares.
        self.tokens = TokenManager(self.fetch_token, margin=token_margin)
        self.transport.auth = TokenAuth(self.tokens)
        self._wire(self.requestor)

    def _wire(self, requestor: Requestor) -> None:
        #: Payment lookups: :class:`~.resources.Payments`.
        self.payments = Payments(requestor)
        #: Amount registration: :class:`~.resources.PreparedAmounts`.
        self.prepared = PreparedAmounts(requestor)
        #: Cancels and refunds: :class:`~.resources.Cancels`.
        self.cancels = Cancels(requestor)
        #: Billing keys: :class:`~.resources.BillingKeys`.
        self.billing_keys = BillingKeys(requestor)
        #: Key-in and billing-key payments: :class:`~.resources.Charges`.
        self.charges = Charges(requestor)
        #: Scheduled payments: :class:`~.resources.Schedules`.
        self.schedules = Schedules(requestor)
        #: Virtual accounts: :class:`~.resources.VirtualAccounts`.
        self.vbanks = VirtualAccounts(requestor)

    def __repr__(self) -> str:
        return f"<PortOneClient {self.base_url} imp_key={mask(self._imp_key)}>"

    @property
    def session(self) -> requests.Session:
        """The :class:`requests.Session` the calls go through."""
        return self.transport.session

    def close(self) -> None:
        """Close the connections of the session the client made itself."""
        self.transport.close()

    def __enter__(self) -> PortOneClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def fetch_token(self) -> Token:
        """Ask PortOne for an access token (``POST /users/getToken``).

        The client calls this itself when it needs a token; calling it directly is
        only useful to check the credentials.
        """
        body = {"imp_key": self._imp_key, "imp_secret": self._imp_secret}
        answer = self.requestor.call(
            "POST", "/users/getToken", body=body, signed=False, safe=True
        )
        return answer.one(schemas.TOKEN)

    get_payment = _alias(lambda c: c.payments, Payments.get)
    get_payments = _alias(lambda c: c.payments, Payments.get_many)
    find_payment = _alias(lambda c: c.payments, Payments.find)
    find_payments = _alias(lambda c: c.payments, Payments.find_all)
    payments_by_status = _alias(lambda c: c.payments, Payments.by_status)
    iter_payments_by_status = _alias(lambda c: c.payments, Payments.iter_by_status)

    prepare = _alias(lambda c: c.prepared, PreparedAmounts.register)
    update_prepared = _alias(lambda c: c.prepared, PreparedAmounts.update)
    get_prepared = _alias(lambda c: c.prepared, PreparedAmounts.get)

    cancel = _alias(lambda c: c.cancels, Cancels.create)

    issue_billing_key = _alias(lambda c: c.billing_keys, BillingKeys.issue)
    get_billing_key = _alias(lambda c: c.billing_keys, BillingKeys.get)
    get_billing_keys = _alias(lambda c: c.billing_keys, BillingKeys.get_many)
    delete_billing_key = _alias(lambda c: c.billing_keys, BillingKeys.delete)
    billing_key_payments = _alias(lambda c: c.billing_keys, BillingKeys.payments)

    pay_onetime = _alias(lambda c: c.charges, Charges.onetime)
    pay_again = _alias(lambda c: c.charges, Charges.again)
    pay_foreign = _alias(lambda c: c.charges, Charges.foreign)

    schedule = _alias(lambda c: c.schedules, Schedules.create)
    unschedule = _alias(lambda c: c.schedules, Schedules.revoke)
    get_schedule = _alias(lambda c: c.schedules, Schedules.get)
    reschedule = _alias(lambda c: c.schedules, Schedules.move)
    rearm_schedule = _alias(lambda c: c.schedules, Schedules.rearm)
    schedules_between = _alias(lambda c: c.schedules, Schedules.between)
    iter_schedules = _alias(lambda c: c.schedules, Schedules.iter_between)
    customer_schedules = _alias(lambda c: c.schedules, Schedules.of_customer)

    issue_vbank = _alias(lambda c: c.vbanks, VirtualAccounts.issue)
    void_vbank = _alias(lambda c: c.vbanks, VirtualAccounts.void)
