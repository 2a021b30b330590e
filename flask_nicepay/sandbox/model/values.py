"""Reading request parameters the way PortOne's API tolerates them.

JSON bodies, form bodies and query strings all reach the engine as one mapping;
:class:`Params` reads typed values from it and answers a clear HTTP 400 (code -1)
when a value cannot be used. Amounts are :class:`~decimal.Decimal` from the moment
they are read, so a USD ``10.10`` never becomes ``10.099999``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any
from typing import Final

from .sandbox_errors import bad_request

#: PortOne and NICE read local times (``vbank_due`` strings) in Korean time.
KST: Final = timezone(timedelta(hours=9), "KST")
CURRENCIES: Final = ("KRW", "USD")
_TRUE: Final = frozenset({"true", "1", "yes", "on"})
_FALSE: Final = frozenset({"false", "0", "no", "off", ""})
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def missing(key: str) -> Exception:
    """The answer to a required parameter that was not sent.

    :param key: the parameter's name.
    """
    return bad_request(f"필수 파라미터 {key}이(가) 누락되었습니다.")


def invalid(key: str) -> Exception:
    """The answer to a parameter whose value cannot be used.

    :param key: the parameter's name.
    """
    return bad_request(f"파라미터 {key}의 값이 올바르지 않습니다.")


class Params:
    """Typed, validating reads from one request's parameters.

    :param data: the merged query, form or JSON parameters.
    """

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def as_dict(self) -> dict[str, Any]:
        """A copy of every parameter."""
        return dict(self._data)

    def raw(self, key: str) -> Any:
        """The value as sent, or None.

        :param key: the parameter's name.
        """
        return self._data.get(key)

    def has(self, key: str) -> bool:
        """Whether the parameter was sent with a value (not null, not empty).

        :param key: the parameter's name.
        """
        return self._data.get(key) not in (None, "")

    def text(self, key: str, *, max_len: int | None = None) -> str | None:
        """An optional string; numbers are accepted and turned into text.

        :param key: the parameter's name.
        :param max_len: longest length PortOne's schema allows.
        """
        value = self._data.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise invalid(key)
        text = str(value)
        if max_len is not None and len(text) > max_len:
            raise bad_request(f"파라미터 {key}은(는) {max_len}자를 넘을 수 없습니다.")
        return text

    def required(self, key: str, *, max_len: int | None = None) -> str:
        """A string that must be present.

        :param key: the parameter's name.
        :param max_len: longest length PortOne's schema allows.
        """
        text = self.text(key, max_len=max_len)
        if text is None:
            raise missing(key)
        return text

    def texts(self, key: str) -> list[str]:
        """A string or a list of strings, as a list (empty when absent).

        :param key: the parameter's name.
        """
        value = self._data.get(key)
        if value is None or value == "":
            return []
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(item, str | int) for item in values):
            raise invalid(key)
        return [str(item) for item in values if item != ""]

    def amount(self, key: str) -> Decimal | None:
        """An optional non-negative amount with at most two decimals.

        :param key: the parameter's name.
        """
        value = self._data.get(key)
        if value is None or value == "":
            return None
        amount = to_decimal(value)
        if amount is None or amount < 0 or amount != amount.quantize(Decimal("0.01")):
            raise invalid(key)
        return amount

    def required_amount(self, key: str) -> Decimal:
        """An amount that must be present.

        :param key: the parameter's name.
        """
        amount = self.amount(key)
        if amount is None:
            raise missing(key)
        return amount

    def integer(self, key: str) -> int | None:
        """An optional integer (form values arrive as text).

        :param key: the parameter's name.
        """
        value = self._data.get(key)
        if value is None or value == "":
            return None
        number = to_decimal(value)
        if number is None or number != number.to_integral_value():
            raise invalid(key)
        return int(number)

    def flag(self, key: str, default: bool = False) -> bool:
        """A boolean; forms send ``true``/``false``/``1``/``0``.

        :param key: the parameter's name.
        :param default: the value when absent.
        """
        value = self._data.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise invalid(key)

    def mapping(self, key: str) -> Params:
        """A nested object (``display``, ``card``), empty when absent.

        :param key: the parameter's name.
        """
        value = self._data.get(key)
        if value is None or value == "":
            return Params({})
        if not isinstance(value, Mapping):
            raise invalid(key)
        return Params(value)

    def objects(self, key: str) -> list[Params]:
        """A list of nested objects (``schedules``).

        :param key: the parameter's name.
        """
        value = self._data.get(key)
        if value is None or value == "":
            return []
        if not isinstance(value, list) or not all(
            isinstance(item, Mapping) for item in value
        ):
            raise invalid(key)
        return [Params(item) for item in value]

    def currency(self, key: str = "currency") -> str:
        """``KRW`` (the default) or ``USD``.

        :param key: the parameter's name.
        """
        currency = (self.text(key) or "KRW").upper()
        if currency not in CURRENCIES:
            raise invalid(key)
        return currency


def to_decimal(value: Any) -> Decimal | None:
    """A number from JSON, a form or a Python caller; None when it is not one.

    :param value: the value as sent.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        try:
            return Decimal(value.strip())
        except InvalidOperation:  # pragma: no cover - the pattern rules it out
            return None
    return None


def check_currency_amount(amount: Decimal, currency: str, key: str = "amount") -> None:
    """Won have no fractions; dollars have cents at most.

    :param amount: the amount.
    :param currency: its currency.
    :param key: the parameter's name for the error.
    """
    if currency == "KRW" and amount != amount.to_integral_value():
        raise invalid(key)


def json_amount(amount: Decimal) -> int | float:
    """An amount as a JSON number: integral amounts as integers, cents exactly.

    ``float`` of a two-decimal value prints back as the same digits (Python's
    shortest round-trip repr), so ``Decimal("10.10")`` is emitted as ``10.1``.

    :param amount: the amount.
    """
    if amount == amount.to_integral_value():
        return int(amount)
    return float(amount)


_DUE_FORMATS: Final = {
    8: ("%Y%m%d", True),
    12: ("%Y%m%d%H%M", False),
    14: ("%Y%m%d%H%M%S", False),
}


def parse_due(value: Any, key: str = "vbank_due") -> int:
    """A vbank deadline as UNIX seconds.

    Accepts a UNIX timestamp, or Korean local time as ``YYYYMMDD``,
    ``YYYYMMDDHHmm``, ``YYYYMMDDHHmmss``, ``YYYY-MM-DD`` or
    ``YYYY-MM-DD HH:mm:ss``; a date alone means the end of that day.

    :param value: the value as sent.
    :param key: the parameter's name for the error.
    """
    text = str(value).strip()
    if isinstance(value, bool) or not text:
        raise invalid(key)
    compact = text.replace("-", "").replace(":", "").replace(" ", "")
    if not compact.isdigit():
        raise invalid(key)
    if len(compact) not in _DUE_FORMATS:
        if compact != text:
            raise invalid(key)
        return int(compact)
    fmt, whole_day = _DUE_FORMATS[len(compact)]
    try:
        moment = datetime.strptime(compact, fmt).replace(tzinfo=KST)
    except ValueError:
        raise invalid(key) from None
    if whole_day:
        moment += timedelta(days=1, seconds=-1)
    return int(moment.timestamp())
