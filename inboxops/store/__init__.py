"""All state lives here: SQLite through sqlite-utils, in WAL mode, schema by named migrations.

Every stage claims work with a conditional UPDATE (`... WHERE id=? AND state=?`) and checks that one
row changed, and every state change appends to `events` in the same transaction (STYLE habit 3).
So the daemon and the CLI can run side by side, and a kill -9 anywhere resumes from the table.

This package is the home of every table's SQL: `Store` is the connection with its transactions
and event log; `messages`, `drafts`, `meetings`, `outbox`, `intake`, `service`, `corrections` and
`digests` hold each table's queries as small functions taking a `Store`; `migrations` the schema.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inboxops.errors import InboxopsError, StateError
from inboxops.store import intake, messages, migrations
from inboxops.store.clock import now_iso
from inboxops.store.migrations import MIGRATIONS

if TYPE_CHECKING:
    from inboxops.store.lean import Database

__all__ = ["MIGRATIONS", "Store", "now_iso"]

# One line per state change, with the entity's id (STYLE habit 7); written once the transaction
# that made the change commits, so a rolled-back change is never reported.
events_log = logging.getLogger("inboxops.events")


def unusable(path: str | Path, error: sqlite3.DatabaseError) -> str:
    """One line saying why SQLite cannot use the database at `path`, and what to do."""
    text = str(error)
    if isinstance(error, sqlite3.OperationalError) and ("readonly" in text or "open" in text):
        return (f"cannot write the database {path} ({text}). Fix: give the user running "
                f"inboxops write access to it and to its folder {Path(path).parent} (SQLite "
                "writes its -wal and -shm files beside it)")
    return (f"the database {path} is damaged ({text}). Fix: restore it from a backup, or move "
            "it aside and let inboxops start a new one")


def _unique(keys: list[str]) -> list[str]:
    """Column names made unique the way sqlite-utils' `query` does (`id`, `id_2`), so a join
    that selects two columns of one name keeps both."""
    if len(set(keys)) == len(keys):
        return keys
    taken, seen, out = set(keys), set[str](), []
    for key in keys:
        name, n = key, 2
        if key in seen:
            while name in seen or name in taken:
                name, n = f"{key}_{n}", n + 1
        seen.add(name)
        out.append(name)
    return out


def _line(entity: str, entity_id: int | None, event: str, text: str | None) -> str:
    """An event's log line: the entity and its id, the event, the start of its detail."""
    line = f"{entity} {entity_id}: {event}" if entity_id is not None else f"{entity}: {event}"
    return f"{line} ({text[:300]})" if text else line


class Store:
    """A connection to the state database. One per thread: sqlite3 connections don't travel.

    `Store(path)` is how a process opens it at start (daemon, CLI): it migrates a fresh or old
    database, and only reads when the schema is current. `Store(path, migrate=False)` skips even
    that check, for the connections a running daemon opens per thread after start-up.
    """

    def __init__(self, path: str | Path, migrate: bool = True) -> None:
        try:
            self._open(Path(path), migrate)
        except sqlite3.DatabaseError as e:  # damaged, not a database, read-only, no access
            raise InboxopsError(unusable(path, e)) from None

    def _open(self, path: Path, migrate: bool) -> None:
        memory = str(path) == ":memory:"
        if not memory:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise InboxopsError(f"cannot create the folder of the database {path}: "
                                    f"{e.strerror}. Fix: [store] path") from None
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        self.conn = conn
        conn.execute("PRAGMA recursive_triggers = ON")  # as sqlite-utils' Database sets it
        # Switching the journal mode writes to the file: only a new database needs it (WAL
        # is persistent), and a reader must not wait on a writer for it.
        if not memory and conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self.db.enable_wal()
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 30000")
        # WAL + NORMAL survives a process crash (kill -9) without loss; only a power cut can
        # drop the last transactions, and each stage is idempotent if that happens.
        conn.execute("PRAGMA synchronous = NORMAL")
        self._depth = 0
        self._unlogged: list[tuple[int, str]] = []
        if migrate:
            self.migrate()

    @cached_property
    def db(self) -> Database:
        """sqlite-utils over the same connection, for the writes and migrations that use it.
        Made on first use: importing sqlite-utils is most of a read-only command's start-up
        (issue 15), and reads go through `query` on the bare connection."""
        from inboxops.store.lean import Database

        return Database(self.conn)

    def close(self) -> None:
        self.conn.close()

    # -- transactions ---------------------------------------------------------------------------

    @contextmanager
    def tx(self) -> Iterator[Store]:
        """A write transaction (BEGIN IMMEDIATE, so two writers never deadlock). Nested, it is a
        SAVEPOINT: an inner block that raises undoes only its own work (and its event lines),
        and the outer transaction carries on if the caller catches the error."""
        if self._depth:
            yield from self._savepoint()
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._unlogged.clear()
            if self.conn.in_transaction:  # an error can end it already (say, disk full)
                self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
            self._flush_log()
        finally:
            self._depth = 0

    def _savepoint(self) -> Iterator[Store]:
        name = f"tx_{self._depth}"
        logged = len(self._unlogged)
        self.conn.execute(f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield self
        except BaseException:
            del self._unlogged[logged:]
            if self.conn.in_transaction:
                self.conn.execute(f"ROLLBACK TO {name}")
                self.conn.execute(f"RELEASE {name}")
            raise
        else:
            self.conn.execute(f"RELEASE {name}")
        finally:
            self._depth -= 1

    def pending_migrations(self) -> list[str]:
        """Migrations not applied yet, by name. Only reads: no lock, no write."""
        return migrations.pending(self.db)

    def migrate(self) -> list[str]:
        """Apply the named migrations not yet applied; return their names.

        Nothing pending (the usual case) costs one read. Otherwise the check is repeated inside
        BEGIN IMMEDIATE, so two processes starting on a new database migrate it once."""
        if migrations.current(self.conn) or not migrations.needed(self.db):
            return []
        with self.tx():
            return migrations.apply(self.db)

    # -- generic helpers ------------------------------------------------------------------------

    def query(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts (a repeated column name gets `_2`, `_3`, as in sqlite-utils)."""
        cursor = self.conn.execute(sql, params)  # type: ignore[arg-type]
        if cursor.description is None:
            return []
        keys = _unique([d[0] for d in cursor.description])
        return [dict(zip(keys, row, strict=True)) for row in cursor]

    def one(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> dict[str, Any] | None:
        """The first row as a dict, or None."""
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def event(
        self, entity: str, entity_id: int | None, event: str, detail: Any = None,
        level: int = logging.INFO,
    ) -> None:
        """Append one line to the event log (inside the caller's transaction, if any), and log
        it once that commits. Details are ids, states and errors, never message text."""
        text = detail if isinstance(detail, str) or detail is None else json.dumps(detail)
        self.events(entity, [(entity_id, event, text)], level)

    def events(
        self, entity: str, rows: list[tuple[int | None, str, str | None]],
        level: int = logging.INFO,
    ) -> None:
        """`event` for many (entity_id, event, detail text) at once, in one statement: the
        same rows and log lines, in this order (a backlog's run, issue 15)."""
        if not rows:
            return
        at = now_iso()
        self.conn.executemany(
            "INSERT INTO events (at, entity, entity_id, event, detail) VALUES (?, ?, ?, ?, ?)",
            [(at, entity, pk, event, text) for pk, event, text in rows])
        self._unlogged.extend((level, _line(entity, pk, event, text)) for pk, event, text in rows)
        if not self._depth:
            self._flush_log()

    def _flush_log(self) -> None:
        lines, self._unlogged = self._unlogged, []
        for level, line in lines:
            events_log.log(level, "%s", line)

    def transition(
        self, table: str, pk: int, from_states: tuple[str, ...], to_state: str,
        detail: Any = None, expect: dict[str, Any] | None = None, level: int = logging.INFO,
        **fields: Any,
    ) -> bool:
        """Move a row from one of `from_states` to `to_state`; False if someone else moved it.
        `expect` adds column values the row must still have (say, the same lease holder)."""
        assert table in {"messages", "drafts", "outbox", "meetings"}
        sets = ", ".join(["state = ?"] + [f'"{k}" = ?' for k in fields])
        marks = ", ".join("?" * len(from_states))
        expect = expect or {}
        extra = "".join(f' AND "{k}" IS ?' for k in expect)
        with self.tx():
            cur = self.conn.execute(
                f"UPDATE {table} SET {sets} WHERE id = ? AND state IN ({marks}){extra}",
                (to_state, *fields.values(), pk, *from_states, *expect.values()),
            )
            if cur.rowcount != 1:
                return False
            self.event(table.rstrip("s") if table != "outbox" else "outbox", pk, to_state, detail,
                       level)
        return True

    def require(self, table: str, pk: int) -> dict[str, Any]:
        """The row `pk` of `table`; StateError if there is none."""
        row = self.one(f"SELECT * FROM {table} WHERE id = ?", (pk,))
        if row is None:
            raise StateError(f"no {table.rstrip('s')} with id {pk}")
        return row

    # -- intake (the SQL lives in store/messages.py and store/intake.py) ------------------------

    def record_incoming(
        self, source: str, folder: str, key: str, raw: bytes,
        uidvalidity: int | None = None, uid: int | None = None,
    ) -> int | None:
        """Record a message before anything acts on it; None if this (source, folder, key) is
        known, or the same bytes were already taken from this folder (IMAP-1)."""
        return messages.record_incoming(self, source, folder, key, raw, uidvalidity, uid)

    def mailbox_state(self, source: str, folder: str) -> tuple[int | None, int]:
        """(UIDVALIDITY, last UID taken) of a folder; (None, 0) before its first fetch."""
        return intake.mailbox_state(self, source, folder)

    def set_mailbox_state(self, source: str, folder: str, uidvalidity: int, last_uid: int) -> None:
        """Remember how far intake got in a folder."""
        intake.set_mailbox_state(self, source, folder, uidvalidity, last_uid)

    def known_keys(self, source: str, folder: str) -> set[str]:
        """The source keys of every message recorded from this folder."""
        return messages.known_keys(self, source, folder)

    def intake_start(self, source: str, folder: str) -> dict[str, Any] | None:
        """How intake began for this folder (first start), or None before the first start."""
        return intake.start(self, source, folder)

    def set_intake_start(
        self, source: str, folder: str, mode: str, not_before: str | None
    ) -> None:
        """Record how intake begins for this folder; the first record stays."""
        intake.set_start(self, source, folder, mode, not_before)
