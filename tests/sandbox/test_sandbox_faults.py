"""API faults, in-process (no sleeping) and over a real socket."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from flask_nicepay.sandbox import Sandbox
from flask_nicepay.sandbox import SandboxAdapter
from flask_nicepay.sandbox import serve

from .peers import Api


@pytest.fixture
def paid(sb: Sandbox) -> str:
    imp_uid: str = sb.checkout("f-1", 10000)["imp_uid"]
    return imp_uid


def cancelled(sb: Sandbox, imp_uid: str) -> int:
    payment = sb.payment(imp_uid)
    assert payment is not None
    amount: int = payment["cancel_amount"]
    return amount


@pytest.mark.parametrize("kind", ["500", "503"])
def test_error_status_without_processing(
    sb: Sandbox, api: Api, paid: str, kind: str
) -> None:
    sb.inject_fault(kind, path="/payments/cancel*", method="POST")
    answer = api.post("/payments/cancel", json={"imp_uid": paid})
    assert answer.status_code == int(kind)
    assert answer.json()["code"] == -1 and answer.json()["response"] is None
    assert cancelled(sb, paid) == 0
    assert api.ok(
        api.post("/payments/cancel", json={"imp_uid": paid})
    )  # cleared itself


def test_times_method_and_path_filters(sb: Sandbox, api: Api, paid: str) -> None:
    sb.inject_fault("503", path="/payments/imp_*", method="GET", times=2)
    assert api.post("/payments/prepare", json={"merchant_uid": "f-x", "amount": 1}).ok
    assert api.get("/payments/find/f-1").status_code == 200
    assert [api.get(f"/payments/{paid}").status_code for _ in range(3)] == [
        503,
        503,
        200,
    ]


def test_slow_in_process_answers_without_sleeping(
    sb: Sandbox, api: Api, paid: str
) -> None:
    sb.inject_fault("slow", delay=5)
    started = time.monotonic()
    answer = api.session.get(api.base + f"/payments/{paid}", timeout=10)
    assert answer.status_code == 200 and time.monotonic() - started < 1


def test_slow_beyond_the_read_timeout_times_out_after_processing(
    sb: Sandbox, api: Api, paid: str
) -> None:
    sb.inject_fault("slow", delay=5, path="/payments/cancel")
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.session.post(
            api.base + "/payments/cancel", json={"imp_uid": paid}, timeout=(3, 2)
        )
    assert cancelled(sb, paid) == 10000


def test_timeout_in_process(sb: Sandbox, api: Api, paid: str) -> None:
    sb.inject_fault("timeout", path="/payments/cancel", times=2)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.session.post(
            api.base + "/payments/cancel",
            json={"imp_uid": paid, "amount": 1000},
            timeout=10,
        )
    assert cancelled(sb, paid) == 1000  # processed before the answer was lost
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        api.session.post(
            api.base + "/payments/cancel", json={"imp_uid": paid, "amount": 1000}
        )
    assert not isinstance(caught.value, requests.exceptions.Timeout)
    assert cancelled(sb, paid) == 2000
    assert time.monotonic() - started < 1


def test_disconnect_in_process_does_not_process(
    sb: Sandbox, api: Api, paid: str
) -> None:
    sb.inject_fault("disconnect", path="/payments/cancel")
    with pytest.raises(requests.exceptions.ConnectionError):
        api.post("/payments/cancel", json={"imp_uid": paid})
    assert cancelled(sb, paid) == 0


def test_connect_error_in_process(sb: Sandbox, api: Api, paid: str) -> None:
    sb.inject_fault("connect_error", path="/payments/cancel")
    api.get(f"/payments/{paid}").raise_for_status()  # other paths connect fine
    with pytest.raises(requests.exceptions.ConnectTimeout):
        api.post("/payments/cancel", json={"imp_uid": paid})
    assert cancelled(sb, paid) == 0


def test_an_adapter_without_a_fault_book_always_connects(sb: Sandbox) -> None:
    sb.inject_fault("connect_error")
    session = requests.Session()
    session.mount(sb.base_url, SandboxAdapter(sb.app))
    answer = session.post(f"{sb.base_url}/users/getToken", json={})
    assert answer.status_code == 401  # the app answered: no connect fault applied
    assert sb.active_faults()["api"][0]["kind"] == "connect_error"


def test_control_paths_are_never_faulted(sb: Sandbox) -> None:
    client = sb.app.test_client()
    added = client.post("/_sandbox/faults", json={"kind": "disconnect", "times": 5})
    assert added.get_json()["response"]["api"][0]["times"] == 5
    assert client.get("/_sandbox/state").status_code == 200
    assert client.delete("/_sandbox/faults").get_json()["response"]["api"] == []


def test_bad_fault_kind(sb: Sandbox) -> None:
    with pytest.raises(ValueError, match="fault kind"):
        sb.inject_fault("explode")
    with pytest.raises(ValueError, match="delay"):
        sb.inject_fault("slow")


# Over a socket ------------------------------------------------------------------


@pytest.fixture
def live(sb: Sandbox) -> Iterator[tuple[str, requests.Session]]:
    with serve(sb) as base:
        session = requests.Session()
        answer = session.post(
            base + "/users/getToken",
            timeout=5,
            json={"imp_key": sb.imp_key, "imp_secret": sb.imp_secret},
        )
        session.headers["Authorization"] = answer.json()["response"]["access_token"]
        yield base, session
        session.close()


def test_socket_500(sb: Sandbox, live: tuple[str, requests.Session], paid: str) -> None:
    base, http = live
    sb.inject_fault("500", path="/payments/cancel")
    answer = http.post(base + "/payments/cancel", json={"imp_uid": paid}, timeout=5)
    assert answer.status_code == 500 and answer.json()["code"] == -1
    assert cancelled(sb, paid) == 0


def test_socket_disconnect(
    sb: Sandbox, live: tuple[str, requests.Session], paid: str
) -> None:
    base, http = live
    sb.inject_fault("disconnect", path="/payments/cancel")
    with pytest.raises(requests.exceptions.ConnectionError):
        http.post(base + "/payments/cancel", json={"imp_uid": paid}, timeout=5)
    assert cancelled(sb, paid) == 0
    assert http.get(base + f"/payments/{paid}", timeout=5).status_code == 200


def test_socket_slow_and_timeout(
    sb: Sandbox, live: tuple[str, requests.Session], paid: str
) -> None:
    base, http = live
    sb.inject_fault("slow", delay=0.3, path="/payments/imp_*")
    started = time.monotonic()
    assert http.get(base + f"/payments/{paid}", timeout=5).status_code == 200
    assert time.monotonic() - started >= 0.3
    sb.inject_fault("timeout", delay=1, path="/payments/cancel")
    with pytest.raises(requests.exceptions.ReadTimeout):
        http.post(base + "/payments/cancel", json={"imp_uid": paid}, timeout=(2, 0.3))
    assert cancelled(sb, paid) == 10000


def test_socket_connect_error(
    sb: Sandbox, live: tuple[str, requests.Session], paid: str
) -> None:
    base, _ = live
    sb.inject_fault("connect_error")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(base + f"/payments/{paid}", timeout=5)
    assert requests.get(base + f"/payments/{paid}", timeout=5).status_code == 401
