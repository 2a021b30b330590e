"""The two ways the sandbox says no.

``SandboxError`` is an answer the V1 REST API (or the control API) gives with a
non-zero ``code``: it carries the HTTP status, the PortOne ``code`` and the message,
so one error handler can turn any of them into the envelope. ``CheckoutRefused`` is
what ``IMP.request_pay`` reports to the browser when it refuses to open the payment
window; no payment exists in that case, so it never reaches the REST API.
"""

from __future__ import annotations


class SandboxError(Exception):
    """A refusal answered as ``{"code": code, "message": message, "response": null}``.

    :param http_status: the HTTP status of the answer (200 for business errors).
    :param code: PortOne's ``code`` (never 0).
    :param message: PortOne's ``message``, verbatim where PortOne's text is known.
    """

    def __init__(self, http_status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"SandboxError({self.http_status}, {self.code}, {self.message!r})"


def refused(message: str, code: int = 1) -> SandboxError:
    """A business refusal: HTTP 200 with a non-zero code, as PortOne answers them.

    :param message: the message.
    :param code: the PortOne code, 1 unless PortOne is known to use another.
    """
    return SandboxError(200, code, message)


def bad_request(message: str) -> SandboxError:
    """A parameter PortOne's schema would reject: HTTP 400, code -1.

    :param message: what is wrong, naming the parameter.
    """
    return SandboxError(400, -1, message)


def not_found(message: str, code: int = -1) -> SandboxError:
    """An unknown id on a lookup: HTTP 404.

    :param message: the message.
    :param code: the PortOne code.
    """
    return SandboxError(404, code, message)


PAYMENT_NOT_FOUND = "존재하지 않는 결제정보입니다."


class CheckoutRefused(Exception):
    """``IMP.request_pay`` refused before opening the payment window.

    :param error_code: the ``error_code`` the browser callback would get.
    :param error_msg: the ``error_msg`` the browser callback would get.
    :param merchant_uid: the order id of the refused request, when it had one.
    """

    def __init__(
        self, error_code: str, error_msg: str, merchant_uid: str | None = None
    ) -> None:
        super().__init__(f"[{error_code}] {error_msg}")
        self.error_code = error_code
        self.error_msg = error_msg
        self.merchant_uid = merchant_uid
