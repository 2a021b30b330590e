"""Serve a sandbox over real HTTP/1.1 with keep-alive, for tests and the CLI."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from typing import Any

from werkzeug.serving import ThreadedWSGIServer
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from .flask_app import Sandbox

log = logging.getLogger("flask_nicepay.sandbox")


class _Handler(WSGIRequestHandler):
    """Werkzeug's request handler, answering with HTTP/1.1 keep-alive.

    Werkzeug's own ``run_wsgi`` closes every connection (and, to be safe, reads
    whatever the client sends after the request until the socket goes quiet), so
    it is replaced here: the body is read up to its ``Content-Length``, the answer
    is buffered and sent with its length, and the connection stays open for the
    next request, as a pooled client (``requests.Session``) expects from PortOne.
    """

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; Nagle would hold the second.
    disable_nagle_algorithm = True
    #: Idle keep-alive connections close after this many seconds.
    timeout = 75
    _body: LimitedStream | None = None

    def make_environ(self) -> WSGIEnvironment:
        environ = super().make_environ()
        self._body = None
        try:
            length = max(int(environ.get("CONTENT_LENGTH") or 0), 0)
        except ValueError:
            length = 0
            self.close_connection = True
        if environ.get("wsgi.input_terminated"):
            # A chunked body has no length to stop at: answer, then close.
            self.close_connection = True
        else:
            self._body = LimitedStream(self.rfile, length)  # type: ignore[arg-type]
            environ["wsgi.input"] = self._body
        return environ

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            started[:] = [status, headers]
            return lambda data: None  # the legacy write() callable: unused by Flask

        try:
            result = self.server.app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                getattr(result, "close", lambda: None)()
        except ConnectionError as error:
            self.connection_dropped(error, environ)
            return
        except Exception:
            log.exception("sandbox crashed on %s %s", self.command, self.path)
            self.close_connection = True
            started[:] = ["500 Internal Server Error", []]
            body = b'{"code":-1,"message":"Internal Server Error","response":null}'
        if self._body is not None:
            self._body.exhaust()  # so the next request line is where we read
        self._answer(started[0], started[1], body)

    def _answer(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        for key, value in headers:
            if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def connection_dropped(
        self, error: BaseException, environ: WSGIEnvironment | None = None
    ) -> None:
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
