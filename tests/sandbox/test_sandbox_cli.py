"""``python -m flask_nicepay.sandbox`` as a real process with a real webhook sink."""

from __future__ import annotations

import json
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
import requests


class _Receiver(BaseHTTPRequestHandler):
    bodies: queue.Queue[tuple[str, dict[str, Any]]]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length))
        self.bodies.put((self.headers.get("Content-Type", ""), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, queue.Queue[tuple[str, dict[str, Any]]]]]:
    bodies: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
    handler = type("Receiver", (_Receiver,), {"bodies": bodies})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/webhook", bodies
    server.shutdown()
    server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def cli(receiver: tuple[str, Any]) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    command = [
        sys.executable, "-m", "flask_nicepay.sandbox", "--port", str(free_port()),
        "--imp-key", "cli_key", "--imp-secret", "cli_secret",
        "--webhook-url", receiver[0],
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    reader = threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout or []], daemon=True
    )
    reader.start()
    first = lines.get(timeout=20)
    base = first.rsplit(" ", 1)[-1].strip()
    assert "imp_key=cli_key" in lines.get(timeout=5)
    yield base, process
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    reader.join(timeout=5)
    process.stdout.close()


def test_cli_serves_the_api_with_the_given_keys(cli: tuple[str, Any]) -> None:
    base, _ = cli
    good = requests.post(
        base + "/users/getToken",
        json={"imp_key": "cli_key", "imp_secret": "cli_secret"},
        timeout=5,
    )
    assert (
        good.status_code == 200 and len(good.json()["response"]["access_token"]) == 40
    )
    bad = requests.post(
        base + "/users/getToken",
        json={"imp_key": "sandbox_key", "imp_secret": "sandbox_secret"},
        timeout=5,
    )
    assert bad.status_code == 401


def test_cli_delivers_webhooks_by_itself(
    cli: tuple[str, Any], receiver: tuple[str, queue.Queue[tuple[str, Any]]]
) -> None:
    base, _ = cli
    answer = requests.post(
        base + "/_sandbox/checkout",
        json={"merchant_uid": "cli-1", "amount": 12000, "outcome": "approve"},
        timeout=5,
    )
    payment = answer.json()["response"]["payment"]
    content_type, body = receiver[1].get(timeout=10)
    assert content_type == "application/json"
    assert body == {
        "imp_uid": payment["imp_uid"],
        "merchant_uid": "cli-1",
        "status": "paid",
    }
