"""A ``requests`` transport that runs the sandbox in-process, with no socket.

Mount it on :attr:`Sandbox.base_url` (or use :meth:`Sandbox.session`) and code
written for ``https://api.iamport.kr`` talks to the sandbox unchanged. Faults
behave as over a socket, without sleeping: a ``slow`` or ``timeout`` fault leaves
its delay in the WSGI environ, and when that delay reaches the caller's read
timeout the adapter raises :class:`requests.exceptions.ReadTimeout` after the
request was processed, as a real client would see it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import urlsplit

from requests import PreparedRequest
from requests import Response
from requests.adapters import BaseAdapter
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ConnectTimeout
from requests.exceptions import ReadTimeout
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from werkzeug.test import EnvironBuilder
from werkzeug.test import run_wsgi_app

from ..engine.faults import IN_PROCESS
from ..engine.faults import DropConnection
from ..engine.faults import InProcess

if TYPE_CHECKING:
    from ..engine.faults import FaultBook

#: Any WSGI application, such as :attr:`~flask_nicepay.sandbox.Sandbox.app`.
WSGIApp = Callable[..., Iterable[bytes]]
Timeout = float | tuple[float, float] | tuple[float, None] | None


class SandboxAdapter(BaseAdapter):
    """Send requests straight into the sandbox's WSGI app.

    :param app: the app to call, the sandbox's
        :attr:`~flask_nicepay.sandbox.Sandbox.app`.
    :param faults: the fault book whose ``connect_error`` faults refuse the
        connection before the app sees the request (:attr:`Sandbox.faults
        <flask_nicepay.sandbox.Sandbox.faults>`); None for none.
    """

    def __init__(self, app: WSGIApp, faults: FaultBook | None = None) -> None:
        super().__init__()
        self._app = app
        self._faults = faults

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Timeout = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        """Run one request through the app and wrap the answer.

        :param request: the prepared request.
        :param stream: ignored; the body is always in memory.
        :param timeout: seconds, or ``(connect, read)``; compared with fault delays.
        :param verify: ignored (no TLS).
        :param cert: ignored (no TLS).
        :param proxies: ignored.
        """
        url = urlsplit(request.url or "")
        method = request.method or "GET"
        if self._refused(method, url.path):
            raise ConnectTimeout(
                f"sandbox: cannot connect to {url.netloc}", request=request
            )
        report = InProcess()
        environ = _environ(request, url.scheme, url.netloc, url.path, url.query)
        environ[IN_PROCESS] = report
        try:
            app_iter, status, headers = run_wsgi_app(self._app, environ, buffered=True)
            body = b"".join(app_iter)
        except DropConnection:
            self._check_read_timeout(report.delay, timeout, request)
            raise RequestsConnectionError(
                "('Connection aborted.', RemoteDisconnected('Remote end closed "
                "connection without response'))",
                request=request,
            ) from None
        self._check_read_timeout(report.delay, timeout, request)
        return _response(request, status, headers.to_wsgi_list(), body, self)

    def _refused(self, method: str, path: str) -> bool:
        return self._faults is not None and bool(
            self._faults.take(method, path, connect=True)
        )

    @staticmethod
    def _check_read_timeout(
        delay: float | None, timeout: Timeout, request: PreparedRequest
    ) -> None:
        read = _read_timeout(timeout)
        if delay is not None and read is not None and delay >= read:
            raise ReadTimeout(
                f"sandbox: read timed out (read timeout={read})", request=request
            )

    def close(self) -> None:
        """Nothing to release."""


def _read_timeout(timeout: Any) -> float | None:
    if isinstance(timeout, tuple):
        return None if timeout[1] is None else float(timeout[1])
    if timeout is None or isinstance(timeout, int | float):
        return None if timeout is None else float(timeout)
    # urllib3's Timeout object, which requests also accepts.
    read = getattr(timeout, "read_timeout", None)
    return float(read) if isinstance(read, int | float) else None


def _environ(
    request: PreparedRequest, scheme: str, netloc: str, path: str, query: str
) -> dict[str, Any]:
    body = request.body
    data = body.encode() if isinstance(body, str) else (body or b"")
    headers = [
        (k, v) for k, v in request.headers.items() if k.lower() != "content-length"
    ]
    builder = EnvironBuilder(
        path=path or "/",
        base_url=f"{scheme}://{netloc}",
        query_string=query,
        method=request.method or "GET",
        headers=headers,
        data=data if isinstance(data, bytes) else b"".join(data),
    )
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    return environ


def _response(
    request: PreparedRequest,
    status: str,
    headers: list[tuple[str, str]],
    body: bytes,
    adapter: SandboxAdapter,
) -> Response:
    response = Response()
    code, _, reason = status.partition(" ")
    response.status_code = int(code)
    response.reason = reason
    response.headers = CaseInsensitiveDict(dict(headers))
    response.encoding = get_encoding_from_headers(response.headers)
    response.raw = io.BytesIO(body)
    response.url = request.url or ""
    response.request = request
    response.connection = adapter  # type: ignore[assignment]
    return response
