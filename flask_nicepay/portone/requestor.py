"""The middle layer of the client: PortOne's envelope, its errors, and parsing.

PortOne answers every call with ``{"code": …, "message": …, "response": …}``. A
:class:`Requestor` encodes the request body (money exactly, never as ``float``),
sends it through a :class:`~flask_nicepay.portone.transport.Transport`, turns a
failure into the matching error of :mod:`flask_nicepay.portone.errors`, and hands
the ``response`` part back as an :class:`Answer`, which the resources parse with the
loaders of :mod:`flask_nicepay.portone.schemas`.
"""

from __future__ import annotations

import dataclasses
import json
import typing as t
from decimal import Decimal

import requests
from marshmallow import ValidationError

from . import errors
from . import schemas
from .models import Page
from .models import Payment
from .models import PaymentStatus
from .transport import Query
from .transport import Transport

T = t.TypeVar("T")
R = t.TypeVar("R")
Body = t.Mapping[str, t.Any]


@dataclasses.dataclass(frozen=True)
class Answer:
    """The ``response`` part of a successful answer, with the call it answers.

    :param data: the ``response`` part, JSON numbers read as :class:`~decimal.Decimal`.
    :param method: the call's HTTP method, for errors.
    :param path: the call's path, for errors.
    """

    # Kept out of repr: a getToken answer holds the access token, others personal
    # data, and a repr ends up in logs and tracebacks.
    data: t.Any = dataclasses.field(repr=False)
    method: str
    path: str

    def one(self, loader: schemas.Loader[T]) -> T:
        """The answer as one object.

        :param loader: the schema that builds it.
        :raises ServerError: the answer does not fit the schema.
        """
        return self._parsed(loader.one)

    def many(self, loader: schemas.Loader[T]) -> list[T]:
        """The answer as a list of objects.

        :param loader: the schema that builds each one.
        :raises ServerError: the answer does not fit the schema.
        """
        return self._parsed(loader.many)

    def page(self, loader: schemas.Loader[T]) -> Page[T]:
        """The answer as one page of a longer list.

        :param loader: the schema that builds each object.
        :raises ServerError: the answer does not fit the schema.
        """
        return self._parsed(loader.page)

    def _parsed(self, load: t.Callable[[t.Any], R]) -> R:
        # An answer that does not fit the schema is PortOne's fault, not the caller's.
        try:
            return load(self.data)
        except ValidationError as exc:
            detail = f"unexpected answer from PortOne: {exc.messages}"
            raise errors.ServerError(
                200, 0, detail, method=self.method, path=self.path
            ) from None


class Requestor:
    """Turns one API call into PortOne's answer, or into the error it stands for.

    :param transport: what sends the calls.
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def __repr__(self) -> str:
        return f"<Requestor {self.transport!r}>"

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Query | None = None,
        body: Body | None = None,
        signed: bool = True,
        safe: bool | None = None,
        accept: tuple[int, ...] = (200,),
        card: bool = False,
        missing: int | None = None,
    ) -> Answer:
        """Send one API call and return the ``response`` part of a successful answer.

        :param method: the HTTP method.
        :param path: the path, ids already quoted.
        :param query: the query string's parameters.
        :param body: the JSON body; ``None`` values are left out.
        :param signed: whether the call carries the access token.
        :param safe: whether the call may be repeated after it may have reached
            PortOne (see :meth:`.Transport.send`).
        :param accept: HTTP statuses that count as success.
        :param card: map PortOne's code -1 to :class:`~.errors.CardError`.
        :param missing: the code PortOne answers, with HTTP 200, when what was
            asked for does not exist: mapped to :class:`~.errors.NotFoundError`
            like a 404.
        :raises APIError: PortOne answered with a failure.
        :raises TransportError: PortOne did not answer.
        """
        payload = None if body is None else encode(body)
        response = self.transport.send(
            method, path, query=query, payload=payload, signed=signed, safe=safe
        )
        unwrapped = _unwrap(response, method, path, accept, card, missing)
        return Answer(unwrapped, method, path)

    def found(self, loader: schemas.Loader[T], path: str, query: Query) -> list[T]:
        """What a multi-lookup found; 207 (some found) and 404 (none) are ordinary.

        :param loader: the schema of one object.
        :param path: the lookup's path.
        :param query: the ids looked for.
        """
        try:
            answer = self.call("GET", path, query=query, accept=(200, 207))
        except errors.NotFoundError:
            return []
        return answer.many(loader)

    def charge(self, path: str, body: Body) -> Payment:
        """Make a payment from the server, and refuse to return a declined one.

        PortOne reports a declined payment as a success (HTTP 200, code 0) whose
        payment ``failed``; here that becomes a :class:`~.errors.PaymentDeclinedError`.

        :param path: the payment endpoint.
        :param body: the payment's parameters.
        :raises PaymentDeclinedError: the card company declined.
        :raises CardError: the card could not be authenticated.
        """
        payment = self.call("POST", path, body=body, card=True).one(schemas.PAYMENT)
        if payment.status is PaymentStatus.FAILED:
            raise errors.PaymentDeclinedError(payment, method="POST", path=path)
        return payment


def _unwrap(
    response: requests.Response,
    method: str,
    path: str,
    accept: tuple[int, ...],
    card: bool,
    missing: int | None = None,
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
    raise _api_error(status, code, message, method, path, card, missing)


def _api_error(
    status: int,
    code: t.Any,
    message: t.Any,
    method: str,
    path: str,
    card: bool,
    missing: int | None = None,
) -> errors.APIError:
    cls: type[errors.APIError] = errors.APIError
    if status == 401:
        cls = errors.AuthenticationError
    elif status == 404 or (missing is not None and code == missing):
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


def encode(body: Body) -> bytes:
    """A request body as JSON bytes, ``None`` values left out, money exact.

    :param body: the parameters.
    :raises TypeError: a ``float`` anywhere in the body.
    :raises ValueError: a Decimal that JSON cannot carry exactly.
    """
    body = drop_none(body)
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


def drop_none(mapping: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The parameters that are set: PortOne reads a missing one as its default.

    :param mapping: parameters, some of them ``None``.
    """
    return {key: value for key, value in mapping.items() if value is not None}
