"""Access tokens: fetched once, shared by every thread, renewed before they expire.

PortOne's token lives 30 minutes. Asking again while it is valid returns the same
token; asking in its last minute extends it by 5 minutes. So the right client asks
rarely, never from several threads at once, and measures the lifetime on PortOne's
clock (``expired_at - now``) rather than trusting the local wall clock.
"""

from __future__ import annotations

import threading
import time
import typing as t

import requests

from .models import Token

#: Renew this many seconds before PortOne's expiry, to absorb network latency and
#: clock drift. PortOne extends a token asked for in its last minute, so renewing
#: inside that minute keeps the same token.
DEFAULT_MARGIN = 60.0


class TokenManager:
    """Hands out a valid access token, fetching a new one only when needed.

    Many threads asking at once cause one fetch: the others wait for it and reuse
    its result.

    :param fetch: calls ``POST /users/getToken`` and returns the token.
    :param margin: seconds before expiry at which the token is renewed.
    :param clock: a monotonic clock in seconds; replaceable in tests.
    """

    def __init__(
        self,
        fetch: t.Callable[[], Token],
        *,
        margin: float = DEFAULT_MARGIN,
        clock: t.Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._margin = margin
        self._clock = clock
        self._lock = threading.Lock()
        # (token, renew_at) swapped as one tuple so readers never see half of it.
        self._current: tuple[str, float] | None = None
        self.fetches = 0

    def __repr__(self) -> str:
        state = "empty" if self._current is None else "holding a token"
        return f"<TokenManager {state}>"

    def get(self) -> str:
        """A token that PortOne will accept for at least ``margin`` more seconds."""
        current = self._current
        if current is not None and self._clock() < current[1]:
            return current[0]
        with self._lock:
            current = self._current
            if current is not None and self._clock() < current[1]:
                return current[0]
            return self._renew()

    def invalidate(self, token: str) -> None:
        """Forget ``token`` after PortOne refused it.

        Only the token that was refused is dropped: when many requests fail with the
        same stale token, the first renewal serves them all.

        :param token: the token PortOne answered 401 to.
        """
        with self._lock:
            if self._current is not None and self._current[0] == token:
                self._current = None

    def _renew(self) -> str:
        started = self._clock()
        token = self._fetch()
        self.fetches += 1
        # Measured from before the request left, so latency shortens, never
        # lengthens, the time we trust the token.
        renew_at = started + token.lifetime - self._margin
        self._current = (token.access_token, renew_at)
        return token.access_token


class BearerAuth(requests.auth.AuthBase):
    """Sends one access token as ``Authorization: Bearer <token>``.

    :param token: the access token; kept out of ``repr``.
    """

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request

    def __repr__(self) -> str:
        return "<BearerAuth token=***>"


class TokenAuth(requests.auth.AuthBase):
    """Signs every request with the one access token its :class:`TokenManager` shares.

    The token is fetched, or renewed, while the request is being prepared, so a
    client that never calls the API never asks for one.

    :param tokens: the manager that hands out the shared token.
    """

    def __init__(self, tokens: TokenManager) -> None:
        self.tokens = tokens

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return BearerAuth(self.tokens.get())(request)

    def refused(self, response: requests.Response) -> None:
        """Forget the token that ``response``'s request carried, so the next is new.

        :param response: PortOne's 401 answer to a request this auth signed.
        """
        header = response.request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            self.tokens.invalidate(header.removeprefix("Bearer "))

    def __repr__(self) -> str:
        return f"<TokenAuth {self.tokens!r}>"
