"""A lean HTTP/1.1 client for the load generators: bytes on a socket, nothing more.

The benchmarks run the load generator on the same two cores as the servers they
measure. ``requests`` spends about 1.7 ms of CPU on each POST in the sending
process, so on this machine a 16-thread ``requests`` client tops out near 580
answers/s against a Flask route that does nothing, and every contender's rate is
bounded by the client rather than by the server. Writing a prepared request to a
socket and reading the answer to its end costs a small fraction of that: the same
no-op route answers over 4,000/s. Each request is encoded before the clock starts.

gunicorn's sync workers close every connection after one answer, so each request
opens its own, as any client of such a server does.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
import typing as t
from urllib.parse import urlsplit


def json_post(url: str, body: t.Mapping[str, t.Any]) -> tuple[str, int, bytes]:
    """``(host, port, wire)``: the bytes of one JSON POST of ``body`` to ``url``."""
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        raise ValueError(f"a URL with a host and port is needed, not {url!r}")
    data = json.dumps(body).encode()
    head = (
        f"POST {parts.path or '/'} HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return parts.hostname, parts.port, head.encode("ascii") + data


def read_all(conn: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while True:
        try:
            chunk = conn.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def exchange(
    host: str, port: int, wire: bytes, timeout: float = 30
) -> tuple[float, int, bytes]:
    """Send ``wire`` on a new connection; ``(seconds, status, body)``.

    The status is 0 when no answer with a status line came back.
    """
    began = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            # Answered and closed before the whole request went out: read the answer.
            with contextlib.suppress(OSError):
                conn.sendall(wire)
            answer = read_all(conn)
    except OSError:
        return time.perf_counter() - began, 0, b""
    seconds = time.perf_counter() - began
    head, _, body = answer.partition(b"\r\n\r\n")
    line = head.split(b"\r\n", 1)[0].split(b" ", 2)
    if len(line) < 2 or not line[1].isdigit():
        return seconds, 0, b""
    return seconds, int(line[1]), body


def outcome(body: bytes) -> str:
    """The ``outcome`` a webhook route answered with, or why there is none."""
    try:
        answer = json.loads(body)
    except ValueError:
        return "not-json"
    return str(answer.get("outcome")) if isinstance(answer, dict) else "not-an-object"
