"""The bottom layer of the client: HTTP to PortOne, and nothing about its answers.

A :class:`Transport` owns the :class:`requests.Session` (connections kept alive), the
timeout put on every call, the token auth, and the retry rule: which calls may be
repeated after they may have reached PortOne, and which only when the connection
could not even be opened. It returns PortOne's HTTP answer as it came; reading the
envelope inside it is :mod:`flask_nicepay.portone.requestor`'s job.
"""

from __future__ import annotations

import logging
import random
import time
import typing as t

import requests
from urllib3.exceptions import NameResolutionError
from urllib3.exceptions import NewConnectionError

from . import errors
from .auth import TokenAuth

logger = logging.getLogger("flask_nicepay.portone")

DEFAULT_BASE_URL = "https://api.iamport.kr"
#: (connect, read) seconds. PortOne's own webhook sender waits 10 s to connect and
#: 30 s to read; a store's request thread should give up sooner.
DEFAULT_TIMEOUT = (3.05, 20.0)
#: Answers after which a call that is safe to repeat is repeated.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

Timeout = float | tuple[float, float]
Query = t.Mapping[str, t.Any]


class Transport:
    """Sends calls to PortOne over one kept-alive session, repeating what is safe.

    :class:`~flask_nicepay.portone.PortOneClient` passes its options of the same
    names through unchanged; what each one means is told there.

    :param base_url: the API's address.
    :param timeout: put on every call.
    :param session: the session to send with; ``None`` makes one, closed by
        :meth:`close`.
    :param max_retries: repeats allowed for a call that is safe to repeat.
    :param backoff: the first pause between attempts.
    :param pool_size: connections kept alive in a session made here.
    :param tier: the ``Tier`` header, if any.
    :param auth: signs the calls that need an access token; set by the client once
        the token manager, which calls back through this transport, exists.
    """

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: Timeout = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        max_retries: int = 2,
        backoff: float = 0.25,
        pool_size: int = 16,
        tier: str | None = None,
        auth: TokenAuth | None = None,
    ) -> None:
        #: The API's address, without a trailing slash.
        self.base_url = base_url.rstrip("/")
        #: Seconds to wait, read on every call.
        self.timeout = timeout
        #: Repeats allowed for a call that is safe to repeat.
        self.max_retries = max_retries
        #: The first pause between attempts, in seconds.
        self.backoff = backoff
        #: Signs the calls that carry the access token.
        self.auth = auth
        self._owns_session = session is None
        #: The session every call goes through.
        self.session = session if session is not None else make_session(pool_size)
        if self._owns_session:
            read_environment(self.session, self.base_url)
        #: Headers sent with every call.
        self.headers = {"User-Agent": "Flask-NicePay", "Accept": "application/json"}
        if tier:
            self.headers["Tier"] = tier

    def __repr__(self) -> str:
        return f"<Transport {self.base_url}>"

    def close(self) -> None:
        """Close the connections of the session the transport made itself."""
        if self._owns_session:
            self.session.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        query: Query | None = None,
        payload: bytes | None = None,
        signed: bool = True,
        safe: bool | None = None,
    ) -> requests.Response:
        """Send one call, repeating it where that is safe; return the last answer.

        :param method: the HTTP method.
        :param path: the path below :attr:`base_url`, ids already quoted.
        :param query: the query string's parameters.
        :param payload: a JSON body, already encoded.
        :param signed: whether the call carries the access token.
        :param safe: whether repeating the call after it may have reached PortOne is
            harmless (by default: only for GET). Any call is repeated when the
            connection could not be opened, and once with a new token after a 401.
        :raises TransportError: no answer came, and no further attempt is allowed.
        """
        repeatable = method == "GET" if safe is None else safe
        headers = self._headers_for(payload)
        auth = self.auth if signed else None
        attempt, token_renewed = 0, False
        while True:
            attempt += 1
            answer = self._attempt(method, path, query, payload, headers, auth)
            if isinstance(answer, errors.TransportError):
                if self._should_retry(attempt, repeatable or not answer.request_sent):
                    continue
                raise answer
            if not token_renewed and _renewed_token(answer, auth):
                token_renewed = True
                continue
            busy = answer.status_code in RETRY_STATUSES
            if busy and self._should_retry(attempt, repeatable):
                continue
            return answer

    def _headers_for(self, payload: bytes | None) -> dict[str, str]:
        headers = dict(self.headers)
        if payload is not None:
            headers["Content-Type"] = "application/json"
        return headers

    def _attempt(
        self,
        method: str,
        path: str,
        query: Query | None,
        payload: bytes | None,
        headers: dict[str, str],
        auth: TokenAuth | None,
    ) -> requests.Response | errors.TransportError:
        # The failure is returned, not raised: the auth may fetch a token inside
        # this call, and a failure of that fetch (already retried on its own) must
        # reach the caller as it is, not be retried again as if it were this call.
        started = time.perf_counter()
        try:
            if self._owns_session:
                response = self._exchange(method, path, query, payload, headers, auth)
            else:
                response = self.session.request(
                    method,
                    self.base_url + path,
                    params=query,
                    data=payload,
                    headers=headers,
                    auth=auth,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
        except requests.RequestException as exc:
            logger.warning("PortOne %s %s failed: %s", method, path, type(exc).__name__)
            return transport_error(exc, method, path)
        elapsed = (time.perf_counter() - started) * 1000
        status = response.status_code
        logger.debug("PortOne %s %s -> %s in %.0f ms", method, path, status, elapsed)
        return response

    def _exchange(
        self,
        method: str,
        path: str,
        query: Query | None,
        payload: bytes | None,
        headers: dict[str, str],
        auth: TokenAuth | None,
    ) -> requests.Response:
        """One call, straight through the adapter of a session made here.

        ``Session.request`` merges the session's headers, cookies, hooks, proxies
        and environment into every call: some 0.3 ms of CPU, measured on a webhook
        of 4 ms (``bench/webhook.py``). A session
        made here holds nothing that changes: its proxies and CA bundle were read
        once (:func:`read_environment`), it has no hooks, and PortOne's API needs no
        cookie sent back. So the call is prepared by requests' own
        :class:`~requests.PreparedRequest` and sent by the adapter mounted for the
        address. A session passed in goes through ``Session.request``, as it is.
        """
        session = self.session
        request = requests.PreparedRequest()
        request.prepare(
            method=method,
            url=self.base_url + path,
            headers={**session.headers, **headers},
            data=payload,
            params=query,
            auth=auth,
        )
        response = session.get_adapter(self.base_url).send(
            request,
            timeout=self.timeout,
            verify=True if session.verify is None else session.verify,
            cert=session.cert,
            proxies=session.proxies,
        )
        response.content  # noqa: B018 - read now, as Session.send does: the
        # connection goes back to the pool, and a broken read fails inside the try
        return response

    def _should_retry(self, attempt: int, allowed: bool) -> bool:
        if not allowed or attempt > self.max_retries:
            return False
        pause = self.backoff * 2 ** (attempt - 1)
        time.sleep(pause * (0.5 + random.random() / 2))  # noqa: S311 - jitter only
        return True


def read_environment(session: requests.Session, url: str) -> None:
    """Take the proxy and CA settings for ``url`` from the environment, once.

    A session that trusts the environment scans every variable of it on every
    call (``HTTPS_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``, …), on the hot
    path of every webhook. They are read here, when the client is made, with
    requests' own rules, and the session then stops looking.

    :param session: a session made for this client.
    :param url: the API's address, for ``NO_PROXY``.
    """
    found = session.merge_environment_settings(url, {}, None, None, None)
    session.proxies.update(found["proxies"])
    session.verify = found["verify"]
    session.trust_env = False


def make_session(pool_size: int) -> requests.Session:
    """A session keeping up to ``pool_size`` connections to one host alive.

    :param pool_size: the most connections kept open at once.
    """
    session = requests.Session()
    # Retries are decided by the transport, which knows which calls are safe to
    # repeat; urllib3 repeating on its own would repeat payments too.
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=1, pool_maxsize=pool_size, max_retries=0
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def transport_error(
    exc: requests.RequestException, method: str, path: str
) -> errors.TransportError:
    """The error of this package for a failure of requests, split by whether the
    call may have reached PortOne.

    :param exc: what requests raised.
    :param method: the call's HTTP method.
    :param path: the call's path.
    """
    # A connect timeout or a refused connection means nothing was sent. Anything
    # else (read timeout, connection dropped mid-answer) may have reached PortOne.
    name = type(exc).__name__
    if isinstance(exc, requests.ConnectTimeout) or (
        isinstance(exc, requests.ConnectionError) and _never_connected(exc)
    ):
        message = f"could not connect to PortOne ({name})"
        return errors.ConnectError(message, method=method, path=path)
    message = f"no answer from PortOne ({name})"
    return errors.NoResponseError(message, method=method, path=path)


def _never_connected(exc: requests.ConnectionError) -> bool:
    reason: t.Any = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, NewConnectionError | NameResolutionError)


def _renewed_token(answer: requests.Response, auth: TokenAuth | None) -> bool:
    """Whether PortOne refused the token (401) and a new one is to be fetched."""
    if answer.status_code != 401 or auth is None:
        return False
    auth.refused(answer)
    return True
