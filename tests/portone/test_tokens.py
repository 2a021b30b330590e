"""Access tokens: reused, renewed before expiry, refreshed once on a 401."""

from __future__ import annotations

import threading

import pytest

from flask_nicepay.portone import AuthenticationError
from flask_nicepay.portone import PortOneClient
from flask_nicepay.portone import Token
from flask_nicepay.portone.auth import TokenManager
from flask_nicepay.sandbox import Sandbox

from .sandbox_payments import KEY
from .sandbox_payments import SECRET
from .sandbox_payments import paid


def test_one_token_serves_many_calls(sandbox: Sandbox, client: PortOneClient) -> None:
    imp_uid = paid(sandbox, "order-t1")
    for _ in range(20):
        client.get_payment(imp_uid)
    assert client.tokens.fetches == 1


def test_many_threads_cause_one_fetch(sandbox: Sandbox) -> None:
    imp_uid = paid(sandbox, "order-t2")
    client = PortOneClient(
        KEY, SECRET, base_url=sandbox.base_url, session=sandbox.session()
    )
    barrier = threading.Barrier(16)
    failures: list[BaseException] = []

    def look() -> None:
        barrier.wait()
        try:
            client.get_payment(imp_uid)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=look) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert client.tokens.fetches == 1


def test_token_refused_by_portone_is_renewed_once(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    imp_uid = paid(sandbox, "order-t3")
    client.get_payment(imp_uid)
    # PortOne's clock runs past the token's life while the local clock does not:
    # the next call gets a 401, renews, and succeeds.
    sandbox.advance_clock(31 * 60)

    assert client.get_payment(imp_uid).imp_uid == imp_uid
    assert client.tokens.fetches == 2


def test_wrong_secret_is_an_authentication_error(sandbox: Sandbox) -> None:
    client = PortOneClient(
        KEY, "wrong", base_url=sandbox.base_url, session=sandbox.session()
    )
    with pytest.raises(AuthenticationError) as caught:
        client.get_payment("imp_000000000000")
    assert caught.value.http_status == 401
    assert "wrong" not in str(caught.value)


def test_token_renewed_before_expiry_using_portones_clock() -> None:
    """The lifetime comes from expired_at - now, never from the local wall clock."""
    local = [1000.0]
    issued: list[Token] = []

    def fetch() -> Token:
        # PortOne's clock is far from ours; only the difference matters.
        token = Token(
            access_token=f"token-{len(issued)}", now=5_000_000, expired_at=5_001_800
        )
        issued.append(token)
        return token

    manager = TokenManager(fetch, margin=60, clock=lambda: local[0])
    assert manager.get() == "token-0"
    local[0] += 1739
    assert manager.get() == "token-0"
    local[0] += 2
    assert manager.get() == "token-1"
    assert len(issued) == 2


def test_invalidate_drops_only_the_refused_token() -> None:
    counter = iter(range(10))

    def fetch() -> Token:
        return Token(access_token=f"t{next(counter)}", now=0, expired_at=1800)

    manager = TokenManager(fetch)
    first = manager.get()
    manager.invalidate("some-older-token")
    assert manager.get() == first
    manager.invalidate(first)
    assert manager.get() != first


def test_getToken_reuse_rule_is_visible_to_the_client(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    first = client.fetch_token()
    again = client.fetch_token()
    assert again.access_token == first.access_token
    assert again.expired_at == first.expired_at
    assert first.lifetime == 1800
    sandbox.advance_clock(1800 - 30)
    extended = client.fetch_token()
    assert extended.access_token == first.access_token
    assert extended.expired_at == first.expired_at + 300
