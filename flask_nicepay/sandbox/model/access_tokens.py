"""``POST /users/getToken`` and the token every other endpoint needs (portone-v1.md §2).

One token is current at a time, because PortOne hands the same token to every
caller while it is valid (so several servers can share it): a request while it is
valid returns it unchanged, one in its last minute extends it by five minutes, one
after expiry gets a new token. Expiry follows the sandbox clock.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Final

LIFETIME: Final = 1800
EXTEND_WINDOW: Final = 60
EXTENSION: Final = 300


@dataclass(frozen=True)
class Token:
    """An issued access token."""

    access_token: str
    expired_at: int


class TokenStore:
    """Issues and checks access tokens for one REST API key pair.

    :param imp_key: the REST API key.
    :param imp_secret: the REST API secret.
    """

    def __init__(self, imp_key: str, imp_secret: str) -> None:
        self._key = imp_key
        self._secret = imp_secret
        self._current: Token | None = None

    def __repr__(self) -> str:
        # The secret and the token stay out of reprs and logs.
        return f"TokenStore(imp_key={self._key!r})"

    def credentials_match(self, imp_key: str, imp_secret: str) -> bool:
        """Compare in constant time, as a server should.

        :param imp_key: the key sent.
        :param imp_secret: the secret sent.
        """
        key_ok = hmac.compare_digest(imp_key.encode(), self._key.encode())
        secret_ok = hmac.compare_digest(imp_secret.encode(), self._secret.encode())
        return key_ok and secret_ok

    def issue(self, now: int) -> Token:
        """The token getToken answers with at ``now``.

        :param now: sandbox time.
        """
        current = self._current
        if current is None or current.expired_at <= now:
            current = Token(secrets.token_hex(20), now + LIFETIME)
        elif current.expired_at - now <= EXTEND_WINDOW:
            current = Token(current.access_token, current.expired_at + EXTENSION)
        self._current = current
        return current

    def accepts(self, header: str | None, now: int) -> bool:
        """Whether an ``Authorization`` header carries the valid token.

        :param header: ``Bearer <token>`` or the bare token.
        :param now: sandbox time.
        """
        if not header or self._current is None or self._current.expired_at <= now:
            return False
        scheme, _, rest = header.strip().partition(" ")
        token = rest.strip() if scheme.lower() == "bearer" else header.strip()
        return hmac.compare_digest(token.encode(), self._current.access_token.encode())

    def expires_at(self) -> int:
        """When the current token expires (0 when none was issued)."""
        return self._current.expired_at if self._current else 0

    def clear(self) -> None:
        """Forget the current token."""
        self._current = None
