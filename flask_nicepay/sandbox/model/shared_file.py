"""The sandbox's state in a SQLite file, so every process of an app sees one PortOne.

The engine keeps working on the records in memory. Around each engine call,
:meth:`SharedFile.hold` takes SQLite's write lock (``BEGIN IMMEDIATE``, which
serializes processes as the sandbox lock serializes threads), reads the records
other processes changed since this one last looked, lets the call run, and
writes back the records the call touched and changed, one row each. The bounds
stay those of the tables in memory: a record evicted there leaves a short-lived
tombstone here, and the file never holds more live records than the tables.

Only what PortOne remembers is kept: the records, the PG settings added at run
time, the clock's
offset and the payment windows the browser SDK opened, so a window opened through
one process can be finished through any other. A window's row is keyed by the
SHA-256 of its token, never the token, and holds only how the result goes back
(device, origin, return URL, language). Access tokens, webhooks waiting to go and
faults stay with the process that made them, so a webhook is sent once, by the
process whose call caused it. The records never hold a full card number, birth
date, card password or token (see :mod:`.records`), so neither does the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sqlite3
from collections.abc import Iterator
from typing import Any
from typing import Final

from .clock import Clock
from .record_store import Ledger

#: How long a process waits for another's engine call before giving up, seconds.
BUSY_TIMEOUT: Final = 30.0
#: Versions a tombstone is kept; a process further behind reads everything again.
TOMBSTONE_VERSIONS: Final = 10_000

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS sandbox_meta (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " version INTEGER NOT NULL, horizon INTEGER NOT NULL,"
    " clock_offset REAL NOT NULL, channels BLOB NOT NULL, owner TEXT)",
    "CREATE TABLE IF NOT EXISTS sandbox_records (tbl TEXT NOT NULL,"
    " key TEXT NOT NULL, seq INTEGER NOT NULL, final INTEGER NOT NULL,"
    " version INTEGER NOT NULL, body BLOB, PRIMARY KEY (tbl, key))",
    "CREATE INDEX IF NOT EXISTS sandbox_records_version ON sandbox_records (version)",
    "CREATE TABLE IF NOT EXISTS sandbox_windows (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " token_hash TEXT NOT NULL UNIQUE, imp_uid TEXT NOT NULL UNIQUE,"
    " channel TEXT NOT NULL, origin TEXT, return_url TEXT, language TEXT NOT NULL)",
)
#: What a window row holds besides its key: channel, origin, return URL, language.
WindowRow = tuple[str, str | None, str | None, str]
_FORMAT: Final = 4  # PRAGMA user_version of the tables below
#: The ``channels`` column of a file no process changed a console setting of: no PG
#: setting added, the MID's tax mode NICE's default.
_NO_SETTINGS: Final = pickle.dumps(((), "auto"))
_COLUMNS: Final = "SELECT tbl, key, final, body FROM sandbox_records"


def _digest(body: bytes, final: bool) -> bytes:
    return hashlib.blake2b(body + (b"F" if final else b"-"), digest_size=16).digest()


def _claim(conn: sqlite3.Connection, owner: str) -> None:
    """Empty the file if another owner left it, and make it ``owner``'s."""
    conn.execute("BEGIN IMMEDIATE")
    row = conn.execute("SELECT version, owner FROM sandbox_meta").fetchone()
    if row is None:
        conn.execute(
            "INSERT INTO sandbox_meta VALUES (1, 0, 0, 0, ?, ?)",
            (_NO_SETTINGS, owner),
        )
    elif row[1] != owner:
        conn.execute("DELETE FROM sandbox_records")
        conn.execute("DELETE FROM sandbox_windows")
        conn.execute(
            "UPDATE sandbox_meta SET version = ?, horizon = ?, clock_offset = 0,"
            " channels = ?, owner = ?",
            (row[0] + 1, row[0] + 1, _NO_SETTINGS, owner),
        )
    conn.execute("COMMIT")


class SharedFile:
    """One sandbox account's state, in a SQLite file any process may open.

    :param path: the file; made, with its folder, if missing.
    :param owner: what the state belongs to, such as the app's database: a file
        last opened for another owner is emptied first, so a fresh database
        meets a fresh PortOne. None keeps whatever the file holds.
    """

    def __init__(self, path: str | os.PathLike[str], owner: str | None = None) -> None:
        self.path = os.fspath(path)
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._seen = -1  # the version this process holds; -1: read everything
        self._hashes: dict[str, dict[str, bytes]] = {}
        self._channels = b""
        with contextlib.closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")  # workers starting at once: one by one
            if conn.execute("PRAGMA user_version").fetchone()[0] != _FORMAT:
                # Another format (an earlier version): a sandbox starts over.
                conn.execute("DROP TABLE IF EXISTS sandbox_meta")
                conn.execute("DROP TABLE IF EXISTS sandbox_records")
                conn.execute("DROP TABLE IF EXISTS sandbox_windows")
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {_FORMAT}")
            conn.execute("COMMIT")
            if owner is not None:
                _claim(conn, owner)

    def __repr__(self) -> str:
        return f"SharedFile({self.path!r})"

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT,
            isolation_level=None,  # transactions are begun by hand below
            check_same_thread=False,  # callers hold the sandbox lock
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # a sandbox: no fsync per call
        return conn

    def _connection(self) -> sqlite3.Connection:
        # A connection must not cross a fork (gunicorn's preloaded workers).
        if self._conn is None or self._pid != os.getpid():
            self._conn = self._connect()
            self._pid = os.getpid()
        return self._conn

    @contextlib.contextmanager
    def hold(self, ledger: Ledger, clock: Clock) -> Iterator[None]:
        """Hold every process's write lock for one engine call on ``ledger``.

        :param ledger: this process's records, brought up to date first.
        :param clock: its clock, whose offset is shared too.
        """
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._read(conn, ledger, clock)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            yield
        finally:
            # Written even when the call refused: in memory it stays changed.
            try:
                self._write(conn, ledger, clock)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                self._seen = -1  # what is in memory may be ahead of the file
                raise

    # Reading ----------------------------------------------------------------

    def _read(self, conn: sqlite3.Connection, ledger: Ledger, clock: Clock) -> None:
        # Journal from the first call on, even when the file has nothing to read:
        # the first call of a process on a fresh file is written back too.
        ledger.shared_tables()
        meta = conn.execute(
            "SELECT version, horizon, clock_offset, channels FROM sandbox_meta"
        ).fetchone()
        if meta is None:
            conn.execute(
                "INSERT INTO sandbox_meta VALUES (1, 0, 0, ?, ?, NULL)",
                (clock.offset, _NO_SETTINGS),
            )
            meta = (0, 0, clock.offset, _NO_SETTINGS)
        version, horizon, offset, channels = meta
        if self._seen < 0 or self._seen < horizon:
            ledger.forget_all()
            self._hashes.clear()
            rows = conn.execute(
                _COLUMNS + " WHERE body IS NOT NULL ORDER BY seq, rowid"
            )
        else:  # what changed since (nothing, when no one wrote)
            rows = conn.execute(
                _COLUMNS + " WHERE version > ? ORDER BY version, rowid", (self._seen,)
            )
        for name, key, final, body in rows:
            self._absorb(ledger, name, key, bool(final), body)
        if channels != self._channels:
            # Written here: the settings added at run time (built-in ones apart)
            # and the MID's tax mode.
            added, ledger.tax_mode = pickle.loads(channels)  # noqa: S301 - ours
            ledger.pg_settings.added = added
            self._channels = channels
        clock.reset(offset)
        self._seen = version

    def _absorb(
        self, ledger: Ledger, name: str, key: str, final: bool, body: bytes | None
    ) -> None:
        hashes = self._hashes.setdefault(name, {})
        if body is None:
            hashes.pop(key, None)
            ledger.absorb(name, key, None, final)
            return
        hashes[key] = _digest(body, final)
        ledger.absorb(name, key, pickle.loads(body), final)  # noqa: S301

    # Writing ----------------------------------------------------------------

    def _write(self, conn: sqlite3.Connection, ledger: Ledger, clock: Clock) -> None:
        version = self._seen + 1
        changed = cleared = tombstones = False
        for name, table in ledger.shared_tables().items():
            hashes = self._hashes.setdefault(name, {})
            if table.cleared:
                conn.execute("DELETE FROM sandbox_records WHERE tbl = ?", (name,))
                hashes.clear()
                changed = cleared = True
            for key in table.take_journal():
                value = table.peek(key)
                if value is None:
                    if hashes.pop(key, None) is not None:
                        conn.execute(
                            "UPDATE sandbox_records SET body = NULL, version = ?"
                            " WHERE tbl = ? AND key = ?",
                            (version, name, key),
                        )
                        changed = tombstones = True
                    continue
                changed |= self._put(conn, name, key, table.is_final(key), value)
        # The console's settings: the PG settings added and the MID's tax mode.
        channels = pickle.dumps((ledger.pg_settings.added, ledger.tax_mode))
        if changed or channels != self._channels or self._clock_moved(conn, clock):
            flags = (cleared, tombstones)
            self._finish(conn, version, clock.offset, channels, flags)

    def _put(
        self, conn: sqlite3.Connection, name: str, key: str, final: bool, value: Any
    ) -> bool:
        body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        digest = _digest(body, final)
        hashes = self._hashes[name]
        if hashes.get(key) == digest:
            return False
        hashes[key] = digest
        conn.execute(
            "INSERT INTO sandbox_records (tbl, key, seq, final, version, body)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tbl, key) DO UPDATE SET"
            " final = excluded.final, version = excluded.version, body = excluded.body",
            (name, key, self._seen + 1, int(final), self._seen + 1, body),
        )
        return True

    @staticmethod
    def _clock_moved(conn: sqlite3.Connection, clock: Clock) -> bool:
        row = conn.execute("SELECT clock_offset FROM sandbox_meta").fetchone()
        return bool(row[0] != clock.offset)

    def _finish(
        self,
        conn: sqlite3.Connection,
        version: int,
        offset: float,
        channels: bytes,
        flags: tuple[bool, bool],
    ) -> None:
        cleared, tombstones = flags
        conn.execute(
            "UPDATE sandbox_meta SET version = ?, clock_offset = ?, channels = ?,"
            " horizon = COALESCE(?, horizon)",  # a clear: every process reads again
            (version, offset, channels, version if cleared else None),
        )
        if tombstones:
            oldest = version - TOMBSTONE_VERSIONS
            purged = conn.execute(
                "DELETE FROM sandbox_records WHERE body IS NULL AND version <= ?",
                (oldest,),
            ).rowcount
            if purged:
                conn.execute(
                    "UPDATE sandbox_meta SET horizon = MAX(horizon, ?)", (oldest,)
                )
        self._seen = version
        self._channels = channels

    # Open payment windows (called inside :meth:`hold`, under its lock) -------

    def _held_connection(self) -> sqlite3.Connection:
        conn = self._connection()
        if not conn.in_transaction:
            raise RuntimeError("open windows are read and written inside hold()")
        return conn

    def put_window(
        self, imp_uid: str, token_hash: str, row: WindowRow, cap: int
    ) -> None:
        """Keep an open window, forgetting the oldest beyond ``cap``.

        :param imp_uid: the attempt (a window it had before is replaced).
        :param token_hash: the SHA-256 of the window's token, never the token.
        :param row: channel, origin, return URL and language.
        :param cap: how many windows the file keeps.
        """
        conn = self._held_connection()
        conn.execute("DELETE FROM sandbox_windows WHERE imp_uid = ?", (imp_uid,))
        conn.execute(
            "INSERT INTO sandbox_windows (token_hash, imp_uid, channel, origin,"
            " return_url, language) VALUES (?, ?, ?, ?, ?, ?)",
            (token_hash, imp_uid, *row),
        )
        conn.execute(
            "DELETE FROM sandbox_windows WHERE seq IN (SELECT seq FROM sandbox_windows"
            " ORDER BY seq LIMIT MAX(0, (SELECT COUNT(*) FROM sandbox_windows) - ?))",
            (cap,),
        )

    def window(self, imp_uid: str, token_hash: str) -> WindowRow | None:
        """The open window of ``imp_uid`` whose token has this hash, if any."""
        found = (
            self._held_connection()
            .execute(
                "SELECT channel, origin, return_url, language FROM sandbox_windows"
                " WHERE token_hash = ? AND imp_uid = ?",
                (token_hash, imp_uid),
            )
            .fetchone()
        )
        return None if found is None else (found[0], found[1], found[2], found[3])

    def drop_windows(self, imp_uid: str | None = None) -> None:
        """Forget the window of ``imp_uid``, or every window when None."""
        conn = self._held_connection()
        if imp_uid is None:
            conn.execute("DELETE FROM sandbox_windows")
        else:
            conn.execute("DELETE FROM sandbox_windows WHERE imp_uid = ?", (imp_uid,))

    def window_count(self) -> int:
        """How many open windows the file keeps."""
        conn = self._held_connection()
        return int(conn.execute("SELECT COUNT(*) FROM sandbox_windows").fetchone()[0])

    def clock_offset(self) -> float | None:
        """The clock offset last written, read without waiting for the lock."""
        row = (
            self._connection()
            .execute("SELECT clock_offset FROM sandbox_meta")
            .fetchone()
        )
        return None if row is None else float(row[0])

    def close(self) -> None:
        """Close this process's connection (the file stays)."""
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None
