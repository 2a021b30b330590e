"""The sandbox clock: real time plus an offset that only grows.

Token expiry, vbank deadlines, schedules and delayed webhooks all read this clock,
so a test can jump a day ahead without sleeping.
"""

from __future__ import annotations

import time


class Clock:
    """UNIX seconds as the sandbox sees them.

    :param offset: seconds added to the real time.
    """

    def __init__(self, offset: float = 0.0) -> None:
        self._offset = float(offset)

    @property
    def offset(self) -> float:
        """Seconds between the sandbox clock and the real clock."""
        return self._offset

    def now(self) -> int:
        """The current sandbox time in whole UNIX seconds, as PortOne reports times."""
        return int(time.time() + self._offset)

    def advance(self, seconds: float) -> None:
        """Move the clock forward.

        :param seconds: how far; negative values are refused because records and
            tokens would otherwise be stamped in the future.
        """
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self._offset += seconds

    def set(self, timestamp: float) -> None:
        """Move the clock to a UNIX time that is not earlier than now.

        :param timestamp: the new time.
        """
        delta = timestamp - (time.time() + self._offset)
        if delta < -1:
            raise ValueError("the sandbox clock only moves forward")
        self._offset += max(delta, 0.0)

    def reset(self, offset: float) -> None:
        """Put the offset back, for :meth:`Sandbox.reset`.

        :param offset: the offset the sandbox was created with.
        """
        self._offset = float(offset)
