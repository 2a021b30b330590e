"""A dictionary with a size bound, for a sandbox that may run for weeks.

When full it evicts the entry that became final longest ago (a failed or
cancelled payment, an executed schedule) and only then the oldest entry, so the
records a test is still working with survive longest.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from collections.abc import Iterator
from typing import Generic
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedTable(Generic[K, V]):
    """Insertion-ordered mapping holding at most ``cap`` entries.

    :param cap: the bound.
    :param on_evict: called with each evicted entry, to drop index entries.
    """

    def __init__(
        self, cap: int, on_evict: Callable[[K, V], None] | None = None
    ) -> None:
        if cap < 1:
            raise ValueError("a table must hold at least one entry")
        self.cap = cap
        self._items: OrderedDict[K, V] = OrderedDict()
        self._final: OrderedDict[K, None] = OrderedDict()
        self._on_evict = on_evict
        #: Keys touched since :meth:`take_journal`, when shared; else None.
        self.journal: dict[K, None] | None = None
        #: Whether :meth:`clear` ran since :meth:`take_journal`.
        self.cleared = False

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)

    def get(self, key: K) -> V | None:
        """The entry, or None.

        :param key: its key.
        """
        value = self._items.get(key)
        if value is not None:
            self._touch(key)  # the caller may change it
        return value

    def values(self) -> list[V]:
        """A snapshot of the entries, oldest first."""
        if self.journal is not None:
            self.journal.update(dict.fromkeys(self._items))
        return list(self._items.values())

    def put(self, key: K, value: V) -> None:
        """Add or replace an entry, evicting one if the table is full.

        :param key: its key.
        :param value: the entry.
        """
        self._touch(key)
        self._final.pop(key, None)
        self._items[key] = value
        while len(self._items) > self.cap:
            self._evict_one()

    def mark_final(self, key: K) -> None:
        """Note that an entry will not change any more, so it may go first.

        :param key: its key.
        """
        if key in self._items:
            self._touch(key)
            self._final[key] = None

    def remove(self, key: K) -> V | None:
        """Remove an entry without calling ``on_evict``.

        :param key: its key.
        """
        self._touch(key)
        self._final.pop(key, None)
        return self._items.pop(key, None)

    def clear(self) -> None:
        """Drop every entry."""
        self._items.clear()
        self._final.clear()
        if self.journal is not None:
            self.journal.clear()
            self.cleared = True

    # Sharing with other processes (see :mod:`.shared_file`) ------------------

    def start_journal(self) -> None:
        """Note from now on which keys each call touches, for :meth:`take_journal`."""
        self.journal = {}

    def take_journal(self) -> list[K]:
        """The keys touched since the last call, in order; the journal starts over."""
        if self.journal is None:
            return []
        keys, self.journal = list(self.journal), {}
        self.cleared = False
        return keys

    def _touch(self, key: K) -> None:
        if self.journal is not None:
            self.journal[key] = None

    def peek(self, key: K) -> V | None:
        """The entry, or None, without noting it as touched.

        :param key: its key.
        """
        return self._items.get(key)

    def is_final(self, key: K) -> bool:
        """Whether an entry is marked final.

        :param key: its key.
        """
        return key in self._final

    def absorb(self, key: K, value: V | None, final: bool) -> None:
        """Take an entry as another process left it (None: it went), unjournaled.

        A new entry goes last: the file hands them over in the order they came.

        :param key: its key.
        :param value: the entry, or None.
        :param final: whether it is marked final.
        """
        if value is None:
            self._final.pop(key, None)
            gone = self._items.pop(key, None)
            if gone is not None and self._on_evict is not None:
                self._on_evict(key, gone)
            return
        self._items[key] = value
        if final:
            self._final.setdefault(key, None)
        else:
            self._final.pop(key, None)

    def forget_all(self) -> None:
        """Drop every entry without journaling it (before reading them all again)."""
        self._items.clear()
        self._final.clear()

    def final_count(self) -> int:
        """How many entries are marked final (for the state dump and tests)."""
        return len(self._final)

    def _evict_one(self) -> None:
        if self._final:
            key, _ = self._final.popitem(last=False)
        else:
            key = next(iter(self._items))
        self._touch(key)
        value = self._items.pop(key)
        if self._on_evict is not None:
            self._on_evict(key, value)
