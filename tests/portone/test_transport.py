"""Timeouts, retries only where repeating is safe, and real sockets."""

from __future__ import annotations

import socket
import threading
import time
import typing as t
from decimal import Decimal

import pytest
import requests

from flask_nicepay.portone import ConnectError
from flask_nicepay.portone import NoResponseError
from flask_nicepay.portone import PortOneClient
from flask_nicepay.portone import ServerError
from flask_nicepay.sandbox import Sandbox
from flask_nicepay.sandbox import serve

from .sandbox_payments import KEY
from .sandbox_payments import SECRET
from .sandbox_payments import paid


def test_lookups_are_retried_after_5xx(sandbox: Sandbox, client: PortOneClient) -> None:
    imp_uid = paid(sandbox, "order-r1")
    sandbox.inject_fault("503", path="/payments/imp_*", times=2)
    assert client.get_payment(imp_uid).imp_uid == imp_uid


def test_lookups_give_up_after_max_retries(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    imp_uid = paid(sandbox, "order-r2")
    sandbox.inject_fault("500", path="/payments/imp_*", times=3)
    with pytest.raises(ServerError) as caught:
        client.get_payment(imp_uid)
    assert caught.value.http_status == 500


def test_cancel_is_not_repeated_after_5xx(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    imp_uid = paid(sandbox, "order-r3")
    sandbox.inject_fault("503", path="/payments/cancel*", times=1)
    with pytest.raises(ServerError):
        client.cancel(imp_uid=imp_uid, amount=1000)
    # One refused attempt and no second one: the fault is still armed for nobody,
    # and the payment was not touched.
    assert client.get_payment(imp_uid).cancel_amount == 0


def test_cancel_timeout_is_not_repeated(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    imp_uid = paid(sandbox, "order-r4", 10_000)
    client.timeout = (1.0, 2.0)
    sandbox.inject_fault("timeout", path="/payments/cancel*", delay=60)

    with pytest.raises(NoResponseError) as caught:
        client.cancel(imp_uid=imp_uid, amount=1000, checksum=10_000)

    assert caught.value.request_sent
    # PortOne did act: exactly once, because the client did not try again.
    assert client.get_payment(imp_uid).cancel_amount == Decimal(1000)


def test_lookup_timeout_is_retried(sandbox: Sandbox, client: PortOneClient) -> None:
    imp_uid = paid(sandbox, "order-r5")
    client.timeout = (1.0, 2.0)
    sandbox.inject_fault("timeout", path="/payments/imp_*", delay=60, times=1)
    assert client.get_payment(imp_uid).imp_uid == imp_uid


def test_connect_failure_is_retried_even_for_cancel(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    imp_uid = paid(sandbox, "order-r6", 10_000)
    sandbox.inject_fault("connect_error", path="/payments/cancel*", times=1)
    cancelled = client.cancel(imp_uid=imp_uid, amount=1000, checksum=10_000)
    assert cancelled.cancel_amount == Decimal(1000)


def test_disconnect_on_cancel_surfaces_as_no_response(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    imp_uid = paid(sandbox, "order-r7", 10_000)
    sandbox.inject_fault("disconnect", path="/payments/cancel*", times=1)
    with pytest.raises(NoResponseError):
        client.cancel(imp_uid=imp_uid, amount=1000)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_closed_port_is_a_connect_error() -> None:
    client = PortOneClient(
        KEY,
        SECRET,
        base_url=f"http://127.0.0.1:{_free_port()}",
        max_retries=1,
        backoff=0,
    )
    with pytest.raises(ConnectError) as caught:
        client.get_payment("imp_000000000000")
    assert not caught.value.request_sent


@pytest.fixture
def served(sandbox: Sandbox) -> t.Iterator[str]:
    with serve(sandbox, port=0) as base_url:
        yield base_url


def test_real_socket_slow_answer_times_out(sandbox: Sandbox, served: str) -> None:
    imp_uid = paid(sandbox, "order-r8")
    client = PortOneClient(
        KEY, SECRET, base_url=served, timeout=(1.0, 0.5), max_retries=0
    )
    client.get_payment(imp_uid)
    sandbox.inject_fault("slow", path="/payments/imp_*", delay=2)
    started = time.monotonic()
    with pytest.raises(NoResponseError):
        client.get_payment(imp_uid)
    assert time.monotonic() - started < 1.9


def test_real_socket_connections_are_kept_alive(sandbox: Sandbox, served: str) -> None:
    imp_uid = paid(sandbox, "order-r9")
    client = PortOneClient(KEY, SECRET, base_url=served)
    before = sandbox.connections_accepted
    for _ in range(30):
        client.get_payment(imp_uid)
    # getToken and 30 lookups, all over the one connection the client opened.
    assert sandbox.connections_accepted - before == 1
    assert client.tokens.fetches == 1


class _Proxy:
    """A forward proxy that answers every request itself and keeps its lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def answer_one(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            self.lines.append(conn.recv(65536).split(b"\r\n")[0].decode())
            conn.sendall(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n")


def test_proxy_and_ca_settings_come_from_the_environment_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: t.Any
) -> None:
    proxy = _Proxy()
    bundle = tmp_path / "ca.pem"
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    client = PortOneClient(
        KEY, SECRET, base_url="http://api.portone.invalid", max_retries=0
    )
    monkeypatch.delenv("HTTP_PROXY")  # read when the client was made, not later
    session = client.session
    assert (session.trust_env, session.verify) == (False, str(bundle))

    server = threading.Thread(target=proxy.answer_one)
    server.start()
    with pytest.raises(ServerError):
        client.fetch_token()
    server.join(5)
    proxy.listener.close()
    assert proxy.lines == ["POST http://api.portone.invalid/users/getToken HTTP/1.1"]


def test_no_proxy_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "api.iamport.kr")
    assert PortOneClient(KEY, SECRET).session.proxies == {}
    monkeypatch.setenv("NO_PROXY", "elsewhere.example")
    proxies = PortOneClient(KEY, SECRET).session.proxies
    assert proxies["https"] == "http://127.0.0.1:9"


class _Recorder:
    """An HTTP server that keeps each request's head and answers a token."""

    ANSWER = (
        b'{"code":0,"message":null,"response":'
        b'{"access_token":"tok","now":1,"expired_at":4102444800}}'
    )

    def __init__(self, answers: int, *, cut: bool = False) -> None:
        self.heads: list[str] = []
        self.cut = cut
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, args=(answers,))
        self.thread.start()

    def _serve(self, answers: int) -> None:
        conn, _ = self.listener.accept()
        with conn:
            for _ in range(answers):
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(_header(head.decode(), "content-length") or 0)
                while len(body) < length:
                    body += conn.recv(65536)
                self.heads.append(head.decode())
                if self.cut:  # promise the whole answer, send a part, hang up
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{")
                    break
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Set-Cookie: sticky=1\r\n"
                    + f"Content-Length: {len(self.ANSWER)}\r\n\r\n".encode()
                    + self.ANSWER
                )
        self.listener.close()


def _header(head: str, name: str) -> str | None:
    for line in head.split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name:
            return value.strip()
    return None


def test_own_session_sends_the_same_headers_on_one_connection() -> None:
    server = _Recorder(answers=2)
    client = PortOneClient(KEY, SECRET, base_url=server.url, max_retries=0)
    client.fetch_token()
    client.fetch_token()
    server.thread.join(5)
    first, second = server.heads
    assert first.split("\r\n")[0] == "POST /users/getToken HTTP/1.1"
    assert _header(first, "user-agent") == "Flask-NicePay"
    assert _header(first, "accept") == "application/json"
    assert _header(first, "content-type") == "application/json"
    assert _header(first, "accept-encoding") == "gzip, deflate"
    assert _header(first, "content-length") is not None
    # PortOne's API is signed by token: a cookie it sets is not sent back.
    assert _header(second, "cookie") is None


def test_a_session_passed_in_keeps_its_own_settings() -> None:
    server = _Recorder(answers=1)
    session = requests.Session()
    session.headers["X-Store"] = "shop-1"
    seen: list[int] = []
    session.hooks["response"].append(lambda got, **_: seen.append(got.status_code))
    client = PortOneClient(
        KEY, SECRET, base_url=server.url, max_retries=0, session=session
    )
    client.fetch_token()
    server.thread.join(5)
    assert _header(server.heads[0], "x-store") == "shop-1"
    assert seen == [200]


def test_an_answer_cut_off_mid_body_is_no_response() -> None:
    # The body is read inside the attempt, as Session.request reads it: a cut is
    # PortOne not answering, never an error of requests' own.
    server = _Recorder(answers=1, cut=True)
    client = PortOneClient(KEY, SECRET, base_url=server.url, max_retries=0)
    with pytest.raises(NoResponseError):
        client.fetch_token()
    server.thread.join(5)
    assert len(server.heads) == 1
