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
def standalone_sandbox(key: str, secret: str) -> t.Iterator[str]:
    """Start ``python -m flask_nicepay.sandbox`` on a free port; yield its URL."""
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
    server = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base_url)
        yield base_url
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_until_up(base_url: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.ConnectionError):
            requests.get(base_url + "/_sandbox/clock", timeout=1)
            return
        time.sleep(0.1)
    raise SystemExit("the sandbox did not start")


def checkout(
    base_url: str, merchant_uid: str, amount: int, **extra: t.Any
) -> dict[str, t.Any]:
    """Act as the buyer: pay an order through the sandbox's control API."""
    answer = requests.post(
        base_url + "/_sandbox/checkout",
        json={"merchant_uid": merchant_uid, "amount": amount, **extra},
        timeout=10,
    ).json()
    return dict(answer["response"]["payment"])
