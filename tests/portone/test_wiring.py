"""The client's layers: resources on one requestor and one transport, the flat
methods of earlier versions still there with the same signatures."""

from __future__ import annotations

import inspect
import typing as t

import pytest

from flask_nicepay.portone import ConnectError
from flask_nicepay.portone import PortOneClient
from flask_nicepay.portone.auth import TokenAuth
from flask_nicepay.portone.auth import TokenManager
from flask_nicepay.portone.requestor import Requestor
from flask_nicepay.portone.resources import Payments
from flask_nicepay.portone.resources import Resource
from flask_nicepay.portone.transport import Transport
from flask_nicepay.sandbox import Sandbox

from .sandbox_payments import KEY
from .sandbox_payments import SECRET
from .sandbox_payments import paid

#: Every flat method, the resource attribute it delegates to, and its method there.
ALIASES = {
    "get_payment": ("payments", "get"),
    "get_payments": ("payments", "get_many"),
    "find_payment": ("payments", "find"),
    "find_payments": ("payments", "find_all"),
    "payments_by_status": ("payments", "by_status"),
    "iter_payments_by_status": ("payments", "iter_by_status"),
    "prepare": ("prepared", "register"),
    "update_prepared": ("prepared", "update"),
    "get_prepared": ("prepared", "get"),
    "cancel": ("cancels", "create"),
    "issue_billing_key": ("billing_keys", "issue"),
    "get_billing_key": ("billing_keys", "get"),
    "get_billing_keys": ("billing_keys", "get_many"),
    "delete_billing_key": ("billing_keys", "delete"),
    "billing_key_payments": ("billing_keys", "payments"),
    "pay_onetime": ("charges", "onetime"),
    "pay_again": ("charges", "again"),
    "schedule": ("schedules", "create"),
    "unschedule": ("schedules", "revoke"),
    "get_schedule": ("schedules", "get"),
    "reschedule": ("schedules", "move"),
    "schedules_between": ("schedules", "between"),
    "customer_schedules": ("schedules", "of_customer"),
    "issue_vbank": ("vbanks", "issue"),
    "void_vbank": ("vbanks", "void"),
}

#: The parameters (name, kind, default) of the flat methods as they were before the
#: client was split; callers depend on them, keyword names included.
P, K = "POSITIONAL_OR_KEYWORD", "KEYWORD_ONLY"
REQ = inspect.Parameter.empty


def optional(names: str) -> list[tuple[str, str, object]]:
    """Keyword-only parameters that default to ``None``, named in one string."""
    return [(name, K, None) for name in names.split()]


SIGNATURES: dict[str, list[tuple[str, str, object]]] = {
    "get_payment": [("imp_uid", P, REQ)],
    "get_payments": [("imp_uids", K, ()), ("merchant_uids", K, ())],
    "find_payment": [
        ("merchant_uid", P, REQ),
        ("status", K, None),
        ("sorting", K, None),
    ],
    "find_payments": [
        ("merchant_uid", P, REQ),
        ("status", K, None),
        ("page", K, 1),
        ("limit", K, None),
        ("sorting", K, None),
    ],
    "payments_by_status": [
        ("status", P, "all"),
        ("page", K, 1),
        ("limit", K, None),
        ("since", K, None),
        ("until", K, None),
        ("sorting", K, None),
    ],
    "iter_payments_by_status": [
        ("status", P, "all"),
        ("since", K, None),
        ("until", K, None),
        ("limit", K, 1000),
        ("sorting", K, None),
    ],
    "prepare": [("merchant_uid", P, REQ), ("amount", P, REQ), ("currency", K, None)],
    "update_prepared": [
        ("merchant_uid", P, REQ),
        ("amount", P, REQ),
        ("currency", K, None),
    ],
    "get_prepared": [("merchant_uid", P, REQ)],
    "cancel": optional(
        "imp_uid merchant_uid amount tax_free "
        "vat_amount checksum reason refund enable_webhook"
    ),
    "issue_billing_key": [
        ("customer_uid", P, REQ),
        ("card", P, REQ),
        ("pg", K, None),
        ("channel_key", K, None),
        ("customer_id", K, None),
        ("customer", K, None),
    ],
    "get_billing_key": [("customer_uid", P, REQ)],
    "get_billing_keys": [("customer_uids", P, REQ)],
    "delete_billing_key": [("customer_uid", P, REQ), ("reason", K, None)],
    "billing_key_payments": [("customer_uid", P, REQ), ("page", K, 1)],
    "pay_onetime": [
        ("merchant_uid", K, REQ),
        ("amount", K, REQ),
        ("card", K, REQ),
        *optional(
            "name customer_uid currency card_quota tax_free "
            "vat_amount buyer custom_data notice_url pg channel_key"
        ),
    ],
    "pay_again": [
        ("customer_uid", K, REQ),
        ("merchant_uid", K, REQ),
        ("amount", K, REQ),
        ("name", K, REQ),
        *optional(
            "currency card_quota tax_free vat_amount "
            "buyer custom_data notice_url channel_key"
        ),
    ],
    "schedule": [
        ("customer_uid", P, REQ),
        ("schedules", P, REQ),
        ("card", K, None),
        ("customer_id", K, None),
        ("channel_key", K, None),
    ],
    "unschedule": [("customer_uid", K, None), ("merchant_uids", K, None)],
    "get_schedule": [("merchant_uid", P, REQ)],
    "reschedule": [("merchant_uid", P, REQ), ("schedule_at", P, REQ)],
    "schedules_between": [
        ("since", P, REQ),
        ("until", P, REQ),
        ("status", K, None),
        ("page", K, 1),
        ("limit", K, None),
        ("sorting", K, None),
    ],
    "customer_schedules": [
        ("customer_uid", P, REQ),
        ("since", P, REQ),
        ("until", P, REQ),
        ("status", K, None),
        ("page", K, 1),
    ],
    "issue_vbank": [
        ("merchant_uid", K, REQ),
        ("amount", K, REQ),
        ("vbank_code", K, REQ),
        ("vbank_due", K, REQ),
        ("vbank_holder", K, REQ),
        *optional(
            "name buyer notice_url custom_data tax_free vat_amount channel_key pg"
        ),
    ],
    "void_vbank": [("imp_uid", P, REQ)],
}


def test_every_flat_method_has_its_old_signature(client: PortOneClient) -> None:
    assert set(SIGNATURES) == set(ALIASES)
    for name, expected in SIGNATURES.items():
        params = inspect.signature(getattr(client, name)).parameters.values()
        found = [(p.name, p.kind.name, p.default) for p in params]
        assert found == expected, name


@pytest.mark.parametrize(
    ("alias", "given"),
    [
        ("pay_onetime", {"merchant_uid": "o-1", "amount": 1000, "card": None}),
        (
            "pay_again",
            {"customer_uid": "c", "merchant_uid": "o-1", "amount": 1000, "name": "x"},
        ),
        ("cancel", {"imp_uid": "imp_1"}),
        (
            "issue_vbank",
            {
                "merchant_uid": "o-1",
                "amount": 1000,
                "vbank_code": "004",
                "vbank_due": 0,
                "vbank_holder": "h",
            },
        ),
    ],
)
def test_a_keyword_a_method_does_not_take_is_refused_before_any_call(
    client: PortOneClient, alias: str, given: dict[str, t.Any]
) -> None:
    """The options are typed keywords, not a bag: a misspelt one fails as Python's
    own keyword check does, before anything is sent."""
    client.transport.session = None  # type: ignore[assignment]  # nothing may be sent
    with pytest.raises(TypeError, match="unexpected keyword argument 'tax_fee'"):
        getattr(client, alias)(**given, tax_fee=100)


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_flat_method_is_the_resources_own(client: PortOneClient, alias: str) -> None:
    attribute, method = ALIASES[alias]
    resource = getattr(client, attribute)
    assert isinstance(resource, Resource)
    assert getattr(PortOneClient, alias).__wrapped__ is getattr(type(resource), method)
    # Short, and pointing at the resource's method, where the whole story is told.
    assert f"{type(resource).__name__}.{method}" in getattr(client, alias).__doc__


def test_calls_reach_the_resource_object(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    imp_uid = paid(sandbox, "order-w1")
    seen: list[str] = []

    class Watched(Payments):
        def get(self, imp_uid: str) -> t.Any:
            seen.append(imp_uid)
            return super().get(imp_uid)

    client.payments = Watched(client.requestor)
    assert client.get_payment(imp_uid).imp_uid == imp_uid
    assert seen == [imp_uid]


def test_resources_share_one_requestor_and_transport(client: PortOneClient) -> None:
    for attribute, _ in ALIASES.values():
        assert getattr(client, attribute)._requestor is client.requestor
    assert client.requestor.transport is client.transport
    assert isinstance(client.transport.auth, TokenAuth)
    assert client.transport.auth.tokens is client.tokens


def test_settings_live_on_the_transport(client: PortOneClient) -> None:
    client.timeout = (1.0, 2.0)
    client.backoff = 0.5
    client.max_retries = 7
    client.base_url = "http://elsewhere.invalid"
    transport = client.transport
    assert (transport.timeout, transport.backoff) == ((1.0, 2.0), 0.5)
    assert (transport.max_retries, transport.base_url) == (7, client.base_url)
    transport.backoff = 0
    assert client.backoff == 0
    assert client.session is transport.session


def test_layers_work_without_the_client(sandbox: Sandbox) -> None:
    """A transport, a requestor and one resource are enough to look a payment up."""
    imp_uid = paid(sandbox, "order-w2")
    client = PortOneClient(
        KEY, SECRET, base_url=sandbox.base_url, session=sandbox.session()
    )
    transport = Transport(base_url=sandbox.base_url, session=sandbox.session())
    requestor = Requestor(transport)
    transport.auth = TokenAuth(TokenManager(client.fetch_token))
    assert Payments(requestor).get(imp_uid).imp_uid == imp_uid


def test_failed_token_fetch_is_not_retried_again_by_the_call(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    """The token fetch repeats itself; the call that needed it must not repeat it
    once more, which would multiply the attempts."""
    imp_uid = paid(sandbox, "order-w3")
    attempts = client.max_retries + 1
    sandbox.inject_fault("connect_error", path="/users/getToken", times=attempts)
    with pytest.raises(ConnectError) as caught:
        client.get_payment(imp_uid)
    assert caught.value.path == "/users/getToken"
    # Every fault was used by the fetch's own attempts, none left for a retry.
    assert client.get_payment(imp_uid).imp_uid == imp_uid


def test_an_answer_does_not_show_what_it_holds(client: PortOneClient) -> None:
    body = {"imp_key": KEY, "imp_secret": SECRET}
    answer = client.requestor.call(
        "POST", "/users/getToken", body=body, signed=False, safe=True
    )
    token = answer.data["access_token"]
    assert token and token not in repr(answer)
    assert "/users/getToken" in repr(answer)
