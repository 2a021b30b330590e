"""The V1 REST API: token, payments, prepare, cancel, vbanks (portone-v1.md §1–§5, §7).

Views are thin: read the parameters, run one engine call under the sandbox lock,
serialize inside it (records are mutable), answer in the envelope. Refusals are
:class:`~flask_nicepay.sandbox.SandboxError` and become envelopes in one handler (see
:mod:`.app`). The ``/subscribe`` routes live in :mod:`.api_subscribe` on the same
blueprint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import Any
from typing import TypeVar
from typing import cast

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import request

from ..engine import cancels
from ..engine import payment_attempts
from ..engine import vbanks
from ..model.codes import BANKS
from ..model.codes import CARD_COMPANIES
from ..model.record_store import Ledger
from ..model.sandbox_errors import SandboxError
from ..model.values import Params
from .serialize import paged
from .serialize import payment_json
from .serialize import prepared_json
from .wire import envelope
from .wire import params

if TYPE_CHECKING:
    from .emulator import JsonAccount

T = TypeVar("T")
EXTENSION_KEY = "nicepay_sandbox"

bp = Blueprint("portone", __name__)


def sandbox() -> JsonAccount:
    """The sandbox this app belongs to."""
    return cast("JsonAccount", current_app.extensions[EXTENSION_KEY])


def run(operation: Callable[[Ledger], T]) -> T:
    """Run one engine call under the sandbox lock.

    :param operation: takes the ledger.
    """
    return sandbox().run(operation)


def unauthorized() -> SandboxError:
    """PortOne's answer to a missing, wrong or expired token (or wrong keys)."""
    return SandboxError(401, -1, "Unauthorized")


def ok(payload: Any, status: int = 200) -> Response:
    """A success envelope.

    :param payload: the ``response`` value.
    :param status: 200, or 207 for partial multi-lookups.
    """
    return envelope(payload, status=status)


@bp.before_request
def require_token() -> None:
    """Every endpoint but getToken needs the current token (Bearer or bare)."""
    if request.endpoint == "portone.get_token":
        return
    header = request.headers.get("Authorization")
    if not run(lambda led: led.tokens.accepts(header, led.now())):
        raise unauthorized()


@bp.post("/users/getToken")
def get_token() -> Response:
    """Issue (or re-issue) the access token."""
    query = params(request)
    imp_key, imp_secret = query.text("imp_key"), query.text("imp_secret")
    if imp_key is None or imp_secret is None:
        raise SandboxError(401, -1, "imp_key, imp_secret 파라미터가 누락되었습니다.")

    def issue(led: Ledger) -> dict[str, int | str]:
        if not led.tokens.credentials_match(imp_key, imp_secret):
            raise unauthorized()
        now = led.now()
        token = led.tokens.issue(now)
        return {
            "access_token": token.access_token,
            "now": now,
            "expired_at": token.expired_at,
        }

    return ok(run(issue))


# Lookups -------------------------------------------------------------------


@bp.get("/payments/<imp_uid>")
def get_payment(imp_uid: str) -> Response:
    """One payment; ``include_sandbox`` is accepted and ignored."""
    return ok(run(lambda led: payment_json(payment_attempts.get(led, imp_uid))))


@bp.get("/payments")
def get_payments() -> Response:
    """Several payments by ``imp_uid[]`` and ``merchant_uid[]``: 200, 207 or 404."""
    query = params(request)
    imp_uids, merchant_uids = query.texts("imp_uid"), query.texts("merchant_uid")

    def lookup(led: Ledger) -> tuple[list[dict[str, Any]], int]:
        found, status = payment_attempts.get_many(led, imp_uids, merchant_uids)
        return [payment_json(p) for p in found], status

    found, status = run(lookup)
    return ok(found, status)


@bp.get("/payments/find/<merchant_uid>")
@bp.get("/payments/find/<merchant_uid>/<payment_status>")
def find_payment(merchant_uid: str, payment_status: str | None = None) -> Response:
    """The newest (by ``sorting``) attempt of an order."""
    sorting = params(request).text("sorting")
    return ok(
        run(
            lambda led: payment_json(
                payment_attempts.find(led, merchant_uid, payment_status, sorting)
            )
        )
    )


@bp.get("/payments/findAll/<merchant_uid>")
@bp.get("/payments/findAll/<merchant_uid>/<payment_status>")
def find_all_payments(merchant_uid: str, payment_status: str | None = None) -> Response:
    """Every attempt of an order, paged."""
    query = params(request)
    page, limit = payment_attempts.page_window(query)
    return ok(
        run(
            lambda led: _paged(
                payment_attempts.find_all(
                    led, merchant_uid, payment_status, query.text("sorting")
                ),
                page,
                limit,
            )
        )
    )


@bp.get("/payments/status/<payment_status>")
def payments_by_status(payment_status: str) -> Response:
    """Payments in a status within a time window of at most 90 days, paged."""
    query = params(request)
    page, limit = payment_attempts.page_window(query)
    return ok(
        run(
            lambda led: _paged(
                payment_attempts.by_status(led, payment_status, query), page, limit
            )
        )
    )


def _paged(found: list[Any], page: int, limit: int) -> dict[str, Any]:
    chosen = payment_attempts.page_of(found, page, limit)
    return paged([payment_json(p) for p in chosen], len(found), page, limit)


@bp.get("/cards")
def card_codes() -> Response:
    """The card companies (KFTC codes)."""
    return ok([{"code": code, "name": name} for code, name in CARD_COMPANIES.items()])


@bp.get("/banks")
def bank_codes() -> Response:
    """The banks (KFTC codes)."""
    return ok([{"code": code, "name": name} for code, name in BANKS.items()])


# Prepare and cancel --------------------------------------------------------


@bp.post("/payments/prepare")
@bp.put("/payments/prepare")
def prepare() -> Response:
    """Register (POST) or change (PUT) the amount expected for an order."""
    query, update = params(request), request.method == "PUT"
    return ok(
        run(
            lambda led: prepared_json(
                payment_attempts.prepare(led, query, update=update)
            )
        )
    )


@bp.get("/payments/prepare/<merchant_uid>")
def get_prepared(merchant_uid: str) -> Response:
    """The amount registered for an order."""
    return ok(
        run(lambda led: prepared_json(payment_attempts.prepared(led, merchant_uid)))
    )


@bp.post("/payments/cancel")
def cancel() -> Response:
    """Cancel all or part of a payment."""
    query = params(request)
    return ok(run(lambda led: payment_json(cancels.cancel(led, query))))


# Virtual accounts ----------------------------------------------------------


@bp.post("/vbanks")
def issue_vbank() -> Response:
    """Issue a virtual account without the payment window."""
    query = params(request)
    return ok(run(lambda led: payment_json(vbanks.issue_by_api(led, query))))


@bp.delete("/vbanks/<imp_uid>")
def void_vbank(imp_uid: str) -> Response:
    """Withdraw an unpaid virtual account."""
    return ok(run(lambda led: payment_json(vbanks.void(led, imp_uid))))


def query_params() -> Params:
    """The current request's parameters (for :mod:`.api_subscribe`)."""
    return params(request)
