"""A standalone sandbox in its own process, for the benchmarks."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import typing as t

import requests


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def standalone_sandbox(
    key: str, secret: str, *, webhook_url: str | None = None
) -> t.Iterator[str]:
    """Start ``python -m flask_nicepay.sandbox`` on a free port; yield its URL.

    :param key: the REST API key it accepts.
    :param secret: the REST API secret it accepts.
    :param webhook_url: the console notification URL. ``None`` (the default)
        sends no webhook at all, as long as payments carry no ``notice_url``:
        the benchmarks deliver them themselves, so they choose when.
    """
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "flask_nicepay.sandbox",
        "--port",
        str(port),
        "--imp-key",
        key,
        "--imp-secret",
        secret,
    ]
    if webhook_url is not None:
        command += ["--webhook-url", webhook_url]
    server = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base_url, server)
        yield base_url
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_until_up(base_url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the sandbox exited with status {server.returncode}")
        with contextlib.suppress(requests.ConnectionError):
            requests.get(base_url + "/_sandbox/clock", timeout=1)
            return
        time.sleep(0.1)
    raise SystemExit("the sandbox did not start")


def checkout(
    base_url: str,
    merchant_uid: str,
    amount: int,
    *,
    session: requests.Session | None = None,
    **extra: t.Any,
) -> dict[str, t.Any]:
    """Act as the buyer: pay an order through the sandbox's control API.

    :param session: a session to reuse its connections; a new one by default.
    """
    answer = (session or requests).post(
        base_url + "/_sandbox/checkout",
        json={"merchant_uid": merchant_uid, "amount": amount, **extra},
        timeout=10,
    )
    answer.raise_for_status()
    return dict(answer.json()["response"]["payment"])


def webhook_log(base_url: str) -> list[dict[str, t.Any]]:
    """The sandbox's own record of the webhooks it sent or would have sent."""
    answer = requests.get(base_url + "/_sandbox/webhooks", timeout=10)
    answer.raise_for_status()
    return list(answer.json()["response"])
