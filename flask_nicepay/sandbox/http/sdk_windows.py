"""Payment windows opened through the browser SDK: tokens, device, return URL.

``POST /_sandbox/sdk/open`` creates the ``ready`` attempt through
:meth:`~flask_nicepay.sandbox.Sandbox.open_checkout` and hands the page a window URL
carrying an unguessable token. :class:`WindowBook` remembers, per ``imp_uid``, that
token and what the window needs to deliver the result (PC ``postMessage`` to the
opener's origin, or the mobile redirect to ``m_redirect_url``). It is bounded like every
other sandbox table: when full, the oldest window goes. With a state file the windows
are kept there (:meth:`~flask_nicepay.sandbox.model.shared_file.SharedFile.put_window`),
keyed by the SHA-256 of the token, so any process may finish a window another opened.

The SDK's own rules live here too, beside the rules of
:mod:`~flask_nicepay.sandbox.engine.window`: which device flow applies, and the refusals
the SDK makes before any parameter is read (``IMP.init`` never called, no callback on
PC, an ``m_redirect_url`` the browser could not go to).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from typing import Final
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urljoin
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from ..engine.window import BAD_PARAMETER
from ..model.sandbox_errors import CheckoutRefused
from ..model.shared_file import SharedFile

#: User agents of phones and tablets: the mobile flow applies to them.
PHONE_AGENT: Final = re.compile(r"Mobi|Android|iPhone|iPad")
#: What the window page sends its opener with ``postMessage``.
MESSAGE_TYPE: Final = "flask-nicepay-sandbox:result"
LANGUAGES: Final = ("ko", "en")
_ORIGIN: Final = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+")

NOT_INITIALISED: Final = "IMP.init()으로 가맹점 식별코드를 먼저 설정해주세요."
NO_CALLBACK: Final = "PC 결제에는 IMP.request_pay의 callback 함수가 필요합니다."
BAD_REDIRECT: Final = "m_redirect_url은 http 또는 https URL이어야 합니다."
BAD_PARAMS: Final = "IMP.request_pay의 첫 번째 인자는 객체여야 합니다."


@dataclass(frozen=True)
class OpenWindow:
    """An opened window the buyer has not finished.

    :param imp_uid: the attempt.
    :param token: the secret the window URL and its buttons carry.
    :param channel: ``pc`` (modal, ``postMessage``) or ``mobile`` (redirect).
    :param origin: the store page's origin; ``postMessage`` goes only there.
    :param return_url: ``m_redirect_url`` made absolute (mobile only).
    :param language: ``ko`` or ``en``, for the window's labels.
    """

    imp_uid: str
    token: str
    channel: str
    origin: str | None
    return_url: str | None
    language: str


class WindowBook:
    """The open windows by ``imp_uid``, at most ``cap`` of them.

    :param cap: the bound; the oldest window is forgotten first.
    :param hold: the account's lock (and, with ``shared``, every process's).
    :param shared: the state file keeping the windows; None keeps them here.
    """

    def __init__(
        self,
        cap: int,
        hold: Callable[[], contextlib.AbstractContextManager[object]] | None = None,
        shared: SharedFile | None = None,
    ) -> None:
        if cap < 1:
            raise ValueError("the window book must hold at least one window")
        self.cap = cap
        lock = threading.Lock()
        self._hold = hold or (lambda: lock)
        self._shared = shared
        self._windows: OrderedDict[str, OpenWindow] = OrderedDict()

    def __len__(self) -> int:
        with self._hold():
            if self._shared is not None:
                return self._shared.window_count()
            return len(self._windows)

    def issue(
        self,
        imp_uid: str,
        *,
        channel: str,
        origin: str | None,
        return_url: str | None,
        language: str,
    ) -> OpenWindow:
        """Remember a new window under a fresh token.

        :param imp_uid: the attempt :meth:`~flask_nicepay.sandbox.Sandbox.open_checkout`
            made.
        :param channel: ``pc`` or ``mobile``.
        :param origin: the store page's origin, if known.
        :param return_url: the absolute ``m_redirect_url`` for mobile.
        :param language: the window's language.
        """
        window = OpenWindow(
            imp_uid, secrets.token_urlsafe(24), channel, origin, return_url, language
        )
        with self._hold():
            if self._shared is not None:
                row = (channel, origin, return_url, language)
                self._shared.put_window(imp_uid, _hash(window.token), row, self.cap)
                return window
            self._windows[imp_uid] = window
            while len(self._windows) > self.cap:
                self._windows.popitem(last=False)
        return window

    def find(self, imp_uid: str, token: str | None) -> OpenWindow | None:
        """The window, if the token is the one issued for it.

        :param imp_uid: the attempt.
        :param token: what the caller presents.
        """
        if token is None:
            return None
        with self._hold():
            if self._shared is not None:
                row = self._shared.window(imp_uid, _hash(token))
                return None if row is None else OpenWindow(imp_uid, token, *row)
            window = self._windows.get(imp_uid)
        if window is None:
            return None
        return window if secrets.compare_digest(window.token, token) else None

    def discard(self, imp_uid: str) -> None:
        """Forget a finished window, so its token cannot be used again.

        :param imp_uid: the attempt.
        """
        with self._hold():
            if self._shared is not None:
                self._shared.drop_windows(imp_uid)
            self._windows.pop(imp_uid, None)

    def clear(self) -> None:
        """Forget every window."""
        with self._hold():
            if self._shared is not None:
                self._shared.drop_windows()
            self._windows.clear()


def _hash(token: str) -> str:
    # What the state file keys a window by: the token itself is never written.
    return hashlib.sha256(token.encode()).hexdigest()


# The SDK's rules -----------------------------------------------------------


def is_phone(user_agent: str | None) -> bool:
    """Whether a user agent is a phone or tablet browser.

    :param user_agent: the ``User-Agent`` the page reported.
    """
    return bool(user_agent and PHONE_AGENT.search(user_agent))


def channel_for(mobile: bool, return_url: str | None) -> str:
    """PortOne's flow for a device: a redirect needs both a phone and a return URL.

    :param mobile: whether the buyer is on a phone or tablet.
    :param return_url: the usable ``m_redirect_url``, if any.
    """
    return "mobile" if mobile and return_url else "pc"


def return_url_of(params: Mapping[str, Any], page_url: str | None) -> str | None:
    """``m_redirect_url`` as an absolute http(s) URL, or None when not given.

    A relative URL is resolved against the store page, as the browser would.

    :param params: the ``request_pay`` parameters.
    :param page_url: the address of the page that called ``request_pay``.
    :raises CheckoutRefused: for a URL the browser must not be sent to
        (``javascript:``, ``data:``, a relative URL with no page to resolve it).
    """
    value = params.get("m_redirect_url")
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise refusal(params, BAD_REDIRECT)
    url = urljoin(page_url or "", value.strip())
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise refusal(params, BAD_REDIRECT)
    return url


def with_query(url: str, query: Mapping[str, str]) -> str:
    """``url`` with ``query`` added; these keys replace any already there.

    :param url: ``m_redirect_url``, possibly with its own query and fragment.
    :param query: what :meth:`~flask_nicepay.sandbox.Sandbox.redirect_query` built.
    """
    parts = urlsplit(url)
    kept = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key not in query
    ]
    return urlunsplit(parts._replace(query=urlencode([*kept, *query.items()])))


def origin_of(value: str | None) -> str | None:
    """A usable ``scheme://host[:port]`` origin, or None (``null``, garbage).

    :param value: the ``Origin`` header or what the page reported.
    """
    if value and _ORIGIN.fullmatch(value):
        return value
    return None


def language_of(params: Mapping[str, Any]) -> str:
    """The window language: ``en`` when asked for, else Korean.

    :param params: the ``request_pay`` parameters.
    """
    language = params.get("language")
    return language if language in LANGUAGES else "ko"


def refusal(params: Mapping[str, Any], message: str) -> CheckoutRefused:
    """A refusal the SDK makes itself, before the window's own checks.

    :param params: the ``request_pay`` parameters (for ``merchant_uid``).
    :param message: the ``error_msg``.
    """
    merchant_uid = params.get("merchant_uid")
    return CheckoutRefused(
        BAD_PARAMETER,
        message,
        merchant_uid if isinstance(merchant_uid, str) else None,
    )
