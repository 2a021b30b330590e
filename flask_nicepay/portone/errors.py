"""Errors raised by :class:`~flask_nicepay.portone.PortOneClient`.

Every error the client raises derives from :class:`PortOneError`. The first split
is the one that matters when money moves: did PortOne answer at all?

::

    PortOneError
    ├── TransportError             no answer from PortOne
    │   ├── ConnectError           the request was never sent; repeating it is safe
    │   └── NoResponseError        the request was sent and no answer came back (read
    │                              timeout, dropped connection): PortOne may have acted
    └── APIError                   PortOne answered, and the answer is a failure
        ├── AuthenticationError    401: wrong key or secret, or a refused token
        ├── NotFoundError          404: no such payment, customer, schedule, prepare
        ├── InvalidRequestError    400 or 422: parameters PortOne refused
        ├── ServerError            5xx, or an answer that is not PortOne's envelope
        ├── CardError              card data refused while authenticating (code -1)
        └── PaymentDeclinedError   HTTP 200 and code 0, but the payment "failed":
                                   declined at approval; carries the payment

An :class:`APIError` raised directly (not a subclass) is a business refusal: HTTP 200
with a non-zero ``code``, such as cancelling a payment that is already fully
cancelled.

Messages never contain the REST secret, access tokens or card numbers: PortOne's own
messages pass through :func:`~flask_nicepay.portone.redact.redact` first.
"""

from __future__ import annotations

import typing as t

from .redact import redact

if t.TYPE_CHECKING:
    from .models import Payment


class PortOneError(Exception):
    """Base class of every error raised by the PortOne client."""


class TransportError(PortOneError):
    """PortOne could not be reached, or did not answer.

    :param message: what went wrong, without secrets.
    :param method: the HTTP method of the request.
    :param path: the API path of the request.
    """

    #: Whether the request may have reached PortOne. When ``True`` a payment,
    #: cancel or schedule may have happened even though no answer arrived.
    request_sent: bool = True

    def __init__(self, message: str, *, method: str, path: str) -> None:
        super().__init__(f"{message} ({method} {path})")
        self.method = method
        self.path = path


class ConnectError(TransportError):
    """The connection could not be opened, so the request was never sent."""

    request_sent = False


class NoResponseError(TransportError):
    """The request was sent but no answer arrived in time or the connection dropped.

    PortOne may have acted on the request. For a cancel or a payment, look the payment
    up before trying again.
    """


class APIError(PortOneError):
    """PortOne answered with a failure.

    :param http_status: the HTTP status of the answer.
    :param code: PortOne's ``code`` (``None`` when the answer was not its envelope).
    :param message: PortOne's ``message``, with anything shaped like a card number
        masked.
    :param method: the HTTP method of the request.
    :param path: the API path of the request.
    """

    def __init__(
        self,
        http_status: int,
        code: int | None,
        message: str | None,
        *,
        method: str,
        path: str,
    ) -> None:
        self.http_status = http_status
        self.code = code
        self.message = redact(message) if message else message
        self.method = method
        self.path = path
        super().__init__(
            f"PortOne refused {method} {path} (HTTP {http_status}, code {code}): "
            f"{self.message or 'no message'}"
        )


class AuthenticationError(APIError):
    """HTTP 401: the REST key or secret is wrong, or PortOne refused the token."""


class NotFoundError(APIError):
    """HTTP 404: the payment, customer, schedule or registration does not exist."""


class InvalidRequestError(APIError):
    """HTTP 400 or 422: PortOne refused the parameters."""


class ServerError(APIError):
    """HTTP 5xx, or an answer that is not PortOne's ``{code, message, response}``."""


class CardError(APIError):
    """Card data was refused while authenticating the card (PortOne code -1).

    Raised by key-in payments, billing key issue and schedules that carry card data.
    No payment was made.
    """


class PaymentDeclinedError(APIError):
    """The payment was attempted and declined: HTTP 200, code 0, status ``failed``.

    A declined key-in or billing-key payment is reported by PortOne as a successful
    call whose payment failed; this error makes sure it never passes for a success.

    :param payment: the failed payment as PortOne returned it.
    """

    def __init__(self, payment: Payment, *, method: str, path: str) -> None:
        self.payment = payment
        super().__init__(200, 0, payment.fail_reason, method=method, path=path)
