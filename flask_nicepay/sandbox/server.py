"""Serve a sandbox over real HTTP/1.1 with keep-alive, for tests and the CLI."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from typing import Any

from werkzeug.serving import ThreadedWSGIServer
from werkzeug.serving import WSGIRequestHandler

if TYPE_CHECKING:
    from .core import Sandbox

log = logging.getLogger("flask_nicepay.sandbox")


class _Handler(WSGIRequestHandler):
    # HTTP/1.1 keeps connections open between requests, as a pooled client expects.
    protocol_version = "HTTP/1.1"

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        # A ``disconnect`` or ``timeout`` fault: close without a word.
        self.close_connection = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s %s", self.command, self.path.split("?")[0], code)


class _Server(ThreadedWSGIServer):
    """Counts accepted connections and refuses some on a ``connect_error`` fault."""

    sandbox: Sandbox

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.sandbox.note_connection()
        return not self.sandbox.faults.take_connection()


@contextmanager
def serve(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run the sandbox on a real socket until the block ends.

    :param sandbox: the sandbox to serve.
    :param host: the interface; keep 127.0.0.1, the control API has no auth.
    :param port: the port, 0 for any free one.
    :returns: the base URL, e.g. ``http://127.0.0.1:54321``.
    """
    server = _Server(host, port, sandbox.app, handler=_Handler)
    server.sandbox = sandbox
    sandbox.faults.stopping.clear()
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.1},
        name="sandbox-http",
        daemon=True,
    )
    thread.start()
    try:
        yield f"http://{_url_host(server.host)}:{server.port}"
    finally:
        sandbox.faults.stopping.set()  # releases requests a fault is holding
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
