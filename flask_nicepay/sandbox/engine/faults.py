"""API fault injection: errors, slowness, timeouts and dropped connections.

Rules match a request by method and a glob on its path and fire ``times`` times.
:class:`FaultMiddleware` wraps the Flask app and acts the same whether the request
came over a socket or through :class:`~flask_nicepay.sandbox.SandboxAdapter`; in-process
it never sleeps, it notes the delay in an :class:`InProcess` report and the adapter
decides whether the caller's read timeout fired. Control endpoints (``/_sandbox/``) are
never hit, so a fault can always be cleared.
"""

from __future__ import annotations

import fnmatch
import json
import threading
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any
from typing import Final

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment

KINDS: Final = ("500", "503", "slow", "timeout", "disconnect", "connect_error")
#: A ``timeout`` holds the answer this long unless told otherwise: longer than
#: any sensible client read timeout.
DEFAULT_TIMEOUT_DELAY: Final = 60.0
#: WSGI environ key under which the adapter leaves an :class:`InProcess` report.
IN_PROCESS: Final = "flask_nicepay.sandbox.in_process"
CONTROL_PREFIX: Final = "/_sandbox"


@dataclass
class InProcess:
    """Marks an in-process request; the middleware notes the delay it skipped.

    An object rather than a flag because WSGI runners may copy the environ: the
    copy still points at the same report.
    """

    delay: float | None = None


class DropConnection(ConnectionAbortedError):
    """Close the connection without an answer.

    A :class:`ConnectionError`, so Werkzeug's server treats it as a dropped
    connection instead of answering 500.
    """


@dataclass
class Fault:
    """One active rule."""

    kind: str
    path: str
    method: str
    times: int
    delay: float | None
    #: A ``hook``: what happens at PortOne just before the request is handled.
    action: Callable[[], object] | None = None

    def matches(self, method: str, path: str) -> bool:
        """Whether a request is hit by this rule.

        :param method: the request method.
        :param path: the request path.
        """
        method_ok = self.method == "*" or self.method.upper() == method.upper()
        return method_ok and fnmatch.fnmatchcase(path, self.path)

    def as_dict(self) -> dict[str, Any]:
        """For the state dump."""
        return {
            "kind": self.kind,
            "path": self.path,
            "method": self.method,
            "times": self.times,
            "delay": self.delay,
        }


class FaultBook:
    """The active API faults.

    :param lock: the sandbox lock.
    """

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._faults: list[Fault] = []
        self.stopping = threading.Event()

    def add(
        self, kind: str, *, path: str, method: str, times: int, delay: float | None
    ) -> None:
        """Add a rule.

        :param kind: one of :data:`KINDS`.
        :param path: glob on the request path (``/payments/cancel*``).
        :param method: an HTTP method or ``*``.
        :param times: requests it hits before it clears itself.
        :param delay: seconds for ``slow`` and ``timeout``.
        """
        if kind not in KINDS:
            raise ValueError(f"fault kind must be one of {KINDS}")
        if times < 1:
            raise ValueError("times must be at least 1")
        if kind == "slow" and delay is None:
            raise ValueError("a slow fault needs a delay")
        with self._lock:
            self._faults.append(Fault(kind, path, method, times, delay))

    def add_hook(self, action: Callable[[], object], *, path: str, method: str) -> None:
        """Run ``action`` just before the next matching request is handled.

        The request then goes on as usual and sees what ``action`` changed: the
        way to put, say, a console cancel between a caller's read and its write.

        :param action: called once, without the sandbox lock held.
        :param path: glob on the request path.
        :param method: an HTTP method or ``*``.
        """
        with self._lock:
            self._faults.append(Fault("hook", path, method, 1, None, action))

    def take(self, method: str, path: str, *, connect: bool) -> Fault | None:
        """Use up one hit of the first rule matching a request.

        :param method: the request method.
        :param path: the request path.
        :param connect: look at ``connect_error`` rules (checked before a request
            is sent) rather than the others.
        """
        if path.startswith(CONTROL_PREFIX):
            return None
        with self._lock:
            for fault in self._faults:
                if (fault.kind == "connect_error") == connect and fault.matches(
                    method, path
                ):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def take_connection(self) -> bool:
        """Whether the server should close a just-accepted connection.

        Nothing of the request has been read yet, so any ``connect_error`` rule
        applies, whatever its path and method.
        """
        with self._lock:
            for fault in self._faults:
                if fault.kind == "connect_error":
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return True
        return False

    def clear(self) -> None:
        """Drop every rule."""
        with self._lock:
            self._faults.clear()

    def as_list(self) -> list[dict[str, Any]]:
        """The rules, for the state dump."""
        with self._lock:
            return [fault.as_dict() for fault in self._faults]


class FaultMiddleware:
    """Apply the fault book around the sandbox's WSGI app.

    :param app: the Flask app's WSGI callable.
    :param book: the faults.
    """

    def __init__(self, app: WSGIApplication, book: FaultBook) -> None:
        self._app = app
        self._book = book

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        fault = self._book.take(
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("PATH_INFO", "/"),
            connect=False,
        )
        if fault is not None and fault.action is not None:
            fault.action()
            fault = None
        if fault is None:
            return self._app(environ, start_response)
        if fault.kind in ("500", "503"):
            return _error(int(fault.kind), start_response)
        if fault.kind == "disconnect":
            raise DropConnection("fault: disconnect")
        body = b"".join(self._collect(environ, start_response))
        delay = fault.delay if fault.delay is not None else DEFAULT_TIMEOUT_DELAY
        self._hold(environ, delay)
        if fault.kind == "timeout":
            raise DropConnection("fault: timeout")
        return [body]

    def _collect(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        # Run the request to completion now: the fault delays the answer, not
        # the processing.
        result = self._app(environ, start_response)
        try:
            return list(result)
        finally:
            close: Callable[[], None] | None = getattr(result, "close", None)
            if close is not None:
                close()

    def _hold(self, environ: WSGIEnvironment, delay: float) -> None:
        report = environ.get(IN_PROCESS)
        if isinstance(report, InProcess):
            report.delay = delay
        else:
            self._book.stopping.wait(delay)


def _error(status: int, start_response: StartResponse) -> list[bytes]:
    reason = "Internal Server Error" if status == 500 else "Service Unavailable"
    body = json.dumps({"code": -1, "message": reason, "response": None}).encode()
    start_response(
        f"{status} {reason}",
        [
            ("Content-Type", "application/json; charset=UTF-8"),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]
