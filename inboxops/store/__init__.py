"""All state lives here: SQLite through sqlite-utils, in WAL mode, schema by named migrations.

Every stage claims work with a conditional UPDATE (`... WHERE id=? AND state=?`) and checks that one
row changed, and every state change appends to `events` in the same transaction (STYLE habit 3).
So the daemon and the CLI can run side by side, and a kill -9 anywhere resumes from the table.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from inboxops.errors import StateError

# One line per state change, with the entity's id (STYLE habit 7); written once the transaction
# that made the change commits, so a rolled-back change is never reported.
events_log = logging.getLogger("inboxops.events")


def now_iso() -> str:
    """Current UTC time as ISO 8601 (seconds), the one time format stored."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _m001_initial(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,          -- 'imap:<user>@<host>' or 'maildir:<path>'
            folder TEXT NOT NULL,
            source_key TEXT NOT NULL,      -- '<uidvalidity>:<uid>' or the Maildir key
            uidvalidity INTEGER, uid INTEGER,
            sha256 TEXT NOT NULL, size INTEGER NOT NULL, raw BLOB NOT NULL,
            received_at TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'received',   -- received | processed | quarantined
            message_id TEXT, from_addr TEXT, from_name TEXT, reply_to TEXT, subject TEXT,
            date TEXT, language TEXT, in_reply_to TEXT, refs TEXT, text TEXT, defects TEXT,
            category TEXT, confidence REAL, reasons TEXT,
            suppress TEXT,                 -- JSON list of loop-protection signals (LOOP-2)
            sort_state TEXT,               -- pending | done | skipped: the mailbox-side action
            error TEXT,
            UNIQUE (source, folder, source_key)
        );
        CREATE INDEX messages_state ON messages(state);
        CREATE INDEX messages_message_id ON messages(message_id);
        CREATE TABLE mailbox_state (
            source TEXT NOT NULL, folder TEXT NOT NULL,
            uidvalidity INTEGER, last_uid INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (source, folder)
        );
        CREATE TABLE drafts (
            id INTEGER PRIMARY KEY,
            message_pk INTEGER NOT NULL REFERENCES messages(id),  -- a new one after a correction
            category TEXT NOT NULL, language TEXT NOT NULL,
            to_addr TEXT NOT NULL, to_name TEXT NOT NULL, to_reason TEXT NOT NULL,
            subject TEXT NOT NULL, body_text TEXT NOT NULL, body_html TEXT,
            meeting_pk INTEGER REFERENCES meetings(id),
            state TEXT NOT NULL DEFAULT 'pending',  -- pending | approved | rejected | sent | failed
            created_at TEXT NOT NULL, decided_at TEXT, decided_by TEXT
        );
        CREATE INDEX drafts_state ON drafts(state);
        CREATE INDEX drafts_message ON drafts(message_pk);
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            draft_pk INTEGER REFERENCES drafts(id),
            kind TEXT NOT NULL,                     -- reply | invite | digest
            message_id TEXT NOT NULL UNIQUE,        -- stored before sending (SMTP-3)
            mail_from TEXT NOT NULL, rcpts TEXT NOT NULL, raw BLOB NOT NULL,
            answers_pk INTEGER REFERENCES messages(id),
            state TEXT NOT NULL DEFAULT 'queued',   -- queued | sending | sent | failed | unknown
            attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT, last_error TEXT,
            saved_sent INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL, sent_at TEXT
        );
        CREATE INDEX outbox_state ON outbox(state);
        CREATE TABLE meetings (
            id INTEGER PRIMARY KEY,
            message_pk INTEGER NOT NULL REFERENCES messages(id),
            uid TEXT NOT NULL UNIQUE, sequence INTEGER NOT NULL DEFAULT 0,
            start TEXT NOT NULL, "end" TEXT NOT NULL, timezone TEXT NOT NULL,
            from_client INTEGER NOT NULL, alternatives TEXT NOT NULL,
            location TEXT NOT NULL, summary TEXT NOT NULL,
            client_addr TEXT NOT NULL, client_name TEXT NOT NULL, staff TEXT NOT NULL,
            attendees TEXT NOT NULL,                -- JSON {email: PARTSTAT}
            state TEXT NOT NULL DEFAULT 'proposed', -- proposed | invited | cancelled
            created_at TEXT NOT NULL
        );
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL, entity TEXT NOT NULL, entity_id INTEGER,
            event TEXT NOT NULL, detail TEXT
        );
        CREATE INDEX events_entity ON events(entity, entity_id);
        CREATE TABLE digests (
            day TEXT PRIMARY KEY, created_at TEXT NOT NULL, outbox_pk INTEGER
        );
        """
    )


def _m002_hash_index(db: sqlite_utils.Database) -> None:
    # record_incoming looks up the hash of every new message (IMAP-1 dedupe): keep it O(log n).
    db.execute("CREATE INDEX messages_sha256 ON messages(source, folder, sha256)")


def _m003_corrections(db: sqlite_utils.Database) -> None:
    # What the assistant taught us: the words of a message and its right category.
    db.executescript(
        """
        CREATE TABLE corrections (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            message_pk INTEGER REFERENCES messages(id),
            old_category TEXT, category TEXT NOT NULL,
            words TEXT NOT NULL,
            origin TEXT NOT NULL            -- reclassify | folder | eval
        );
        """
    )


def _m004_filed_category(db: sqlite_utils.Database) -> None:
    # The category folder we filed a message into: a message found in another one was moved
    # there by the assistant (a correction); one found where we put it was not.
    db.execute("ALTER TABLE messages ADD COLUMN filed_category TEXT")


def _m005_thread_key(db: sqlite_utils.Database) -> None:
    # Which conversation a message belongs to: one open draft per thread (LOOP-5).
    db.execute("ALTER TABLE messages ADD COLUMN thread_key TEXT")
    db.execute("CREATE INDEX messages_thread ON messages(thread_key)")


def _m006_draft_copies(db: sqlite_utils.Database) -> None:
    # Drafts also live in the assistant's mail client: when the copy was put there, and since
    # when it has been missing (deleted = rejected, after a grace period for re-saves).
    db.execute("ALTER TABLE drafts ADD COLUMN published_at TEXT")
    db.execute("ALTER TABLE drafts ADD COLUMN missing_since TEXT")


def _m007_outbox_phase(db: sqlite_utils.Database) -> None:
    # How far a send got: 'claimed', or 'data' once the SMTP DATA command began. After a crash
    # this tells "provably not sent" (requeue) from "handed to the server" (do not resend).
    db.execute("ALTER TABLE outbox ADD COLUMN phase TEXT")


def _m008_outbox_owner(db: sqlite_utils.Database) -> None:
    # Which process holds a `sending` row ("host:pid:start"), so a restart after kill -9 takes
    # the row back at once when that process is gone, instead of waiting for the lease to end.
    db.execute("ALTER TABLE outbox ADD COLUMN owner TEXT")


def _m030_reminders(db: sqlite_utils.Database) -> None:
    # One reminder per overdue complaint, ever: the row is written in the same transaction that
    # queues the reminder mail, so a restart can neither lose nor repeat it.
    db.executescript(
        """
        CREATE TABLE reminders (
            key TEXT PRIMARY KEY,           -- 'complaint:<message id>'
            message_pk INTEGER REFERENCES messages(id),
            at TEXT NOT NULL, outbox_pk INTEGER REFERENCES outbox(id)
        );
        CREATE INDEX messages_category ON messages(category, received_at);
        CREATE INDEX messages_received ON messages(received_at);
        """
    )


def _m031_intake(db: sqlite_utils.Database) -> None:
    # First start on a full mailbox and `inboxops backfill`: where intake begins, and the
    # on-demand backfills with their progress, so an interrupted one resumes where it stopped.
    db.executescript(
        """
        CREATE TABLE intake_start (
            source TEXT NOT NULL, folder TEXT NOT NULL,
            mode TEXT NOT NULL,             -- all | none | recent (config at the first start)
            not_before TEXT,                -- Maildir: files older than this are not taken
            at TEXT NOT NULL,
            PRIMARY KEY (source, folder)
        );
        CREATE TABLE backfills (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL, folder TEXT NOT NULL,
            since TEXT NOT NULL,            -- the absolute start date, fixed when it began
            started_at TEXT NOT NULL, finished_at TEXT,
            total INTEGER, done INTEGER NOT NULL DEFAULT 0
        );
        """
    )


def _m020_service_status(db: sqlite_utils.Database) -> None:
    # What `inboxops status` shows from another process (last poll, IDLE or polling, last
    # error), and mailbox outages with the alerts sent about them: persisted, so a restart
    # neither forgets an outage nor alerts about it twice.
    db.executescript(
        """
        CREATE TABLE service_status (
            key TEXT PRIMARY KEY, value TEXT, updated_at TEXT NOT NULL
        );
        CREATE TABLE outages (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,                  -- 'mailbox'
            started_at TEXT NOT NULL, last_error TEXT,
            failures INTEGER NOT NULL DEFAULT 1,
            alerted_at TEXT, alert_outbox_pk INTEGER REFERENCES outbox(id),
            suppressed INTEGER NOT NULL DEFAULT 0,  -- alert withheld by [alerts] repeat_hours
            ended_at TEXT, recovery_outbox_pk INTEGER REFERENCES outbox(id)
        );
        CREATE INDEX outages_kind ON outages(kind, ended_at);
        """
    )


def _m010_meeting_answers(db: sqlite_utils.Database) -> None:
    # Why a meeting is back with the assistant (a decline, a counter-proposal), or NULL; and
    # the DTSTAMP of each attendee's counted answer, so that of two answers to the same
    # SEQUENCE the later one wins (ICS-9) even when they arrive out of order.
    db.execute("ALTER TABLE meetings ADD COLUMN attention TEXT")
    db.execute("ALTER TABLE meetings ADD COLUMN answered TEXT NOT NULL DEFAULT '{}'")


MIGRATIONS: list[tuple[str, Callable[[sqlite_utils.Database], None]]] = [
    ("001_initial", _m001_initial),
    ("002_hash_index", _m002_hash_index),
    ("003_corrections", _m003_corrections),
    ("004_filed_category", _m004_filed_category),
    ("005_thread_key", _m005_thread_key),
    ("006_draft_copies", _m006_draft_copies),
    ("007_outbox_phase", _m007_outbox_phase),
    ("008_outbox_owner", _m008_outbox_owner),
    ("010_meeting_answers", _m010_meeting_answers),
    ("020_service_status", _m020_service_status),
    ("030_reminders", _m030_reminders),
    ("031_intake", _m031_intake),
]


class Store:
    """A connection to the state database. One per thread: sqlite3 connections don't travel."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        self.db = sqlite_utils.Database(conn)
        self.conn = conn
        if str(path) != ":memory:":
            self.db.enable_wal()
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 30000")
        # WAL + NORMAL survives a process crash (kill -9) without loss; only a power cut can
        # drop the last transactions, and each stage is idempotent if that happens.
        conn.execute("PRAGMA synchronous = NORMAL")
        self._depth = 0
        self._unlogged: list[tuple[int, str]] = []
        self.migrate()

    def close(self) -> None:
        self.conn.close()

    # -- transactions ---------------------------------------------------------------------------

    @contextmanager
    def tx(self) -> Iterator[Store]:
        """A write transaction (BEGIN IMMEDIATE, so two writers never deadlock); nests."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._unlogged.clear()
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
            self._flush_log()
        finally:
            self._depth = 0

    def migrate(self) -> list[str]:
        """Apply the named migrations not yet applied; return their names."""
        with self.tx():
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
            )
            done = {r[0] for r in self.conn.execute("SELECT name FROM migrations")}
            applied = []
            for name, fn in MIGRATIONS:
                if name not in done:
                    fn(self.db)
                    self.conn.execute(
                        "INSERT INTO migrations VALUES (?, ?)", (name, now_iso())
                    )
                    applied.append(name)
        return applied

    # -- generic helpers ------------------------------------------------------------------------

    def query(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        return list(self.db.query(sql, params))  # type: ignore[arg-type]

    def one(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> dict[str, Any] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def event(
        self, entity: str, entity_id: int | None, event: str, detail: Any = None,
        level: int = logging.INFO,
    ) -> None:
        """Append one line to the event log (inside the caller's transaction, if any), and log
        it once that commits. Details are ids, states and errors, never message text."""
        text = detail if isinstance(detail, str) or detail is None else json.dumps(detail)
        self.conn.execute(
            "INSERT INTO events (at, entity, entity_id, event, detail) VALUES (?, ?, ?, ?, ?)",
            (now_iso(), entity, entity_id, event, text),
        )
        line = f"{entity} {entity_id}: {event}" if entity_id is not None else f"{entity}: {event}"
        self._unlogged.append((level, f"{line} ({text[:300]})" if text else line))
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
        row = self.one(f"SELECT * FROM {table} WHERE id = ?", (pk,))
        if row is None:
            raise StateError(f"no {table.rstrip('s')} with id {pk}")
        return row

    # -- intake ---------------------------------------------------------------------------------

    def record_incoming(
        self, source: str, folder: str, key: str, raw: bytes,
        uidvalidity: int | None = None, uid: int | None = None,
    ) -> int | None:
        """Record a message before anything acts on it; None if this (source, folder, key) is known.

        Duplicates across a UIDVALIDITY change are caught by hash (IMAP-1): the same bytes already
        recorded from this folder are not taken again.
        """
        digest = hashlib.sha256(raw).hexdigest()
        with self.tx():
            # Two indexed lookups; a single "key = ? OR sha256 = ?" made SQLite scan the table.
            if self.conn.execute(
                "SELECT 1 FROM messages WHERE source = ? AND folder = ? AND source_key = ? "
                "UNION ALL SELECT 1 FROM messages WHERE source = ? AND folder = ? AND sha256 = ?"
                " LIMIT 1",
                (source, folder, key, source, folder, digest),
            ).fetchone():
                return None
            cur = self.conn.execute(
                "INSERT INTO messages (source, folder, source_key, uidvalidity, uid, sha256, size,"
                " raw, received_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'received')",
                (source, folder, key, uidvalidity, uid, digest, len(raw), raw, now_iso()),
            )
            pk = cur.lastrowid
            assert pk is not None
            self.event("message", pk, "received", {"source": source, "key": key})
        return pk

    def mailbox_state(self, source: str, folder: str) -> tuple[int | None, int]:
        row = self.one(
            "SELECT uidvalidity, last_uid FROM mailbox_state WHERE source = ? AND folder = ?",
            (source, folder),
        )
        return (row["uidvalidity"], row["last_uid"]) if row else (None, 0)

    def set_mailbox_state(self, source: str, folder: str, uidvalidity: int, last_uid: int) -> None:
        with self.tx():
            self.conn.execute(
                "INSERT INTO mailbox_state VALUES (?, ?, ?, ?) ON CONFLICT (source, folder) "
                "DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid",
                (source, folder, uidvalidity, last_uid),
            )

    def known_keys(self, source: str, folder: str) -> set[str]:
        return {
            r[0] for r in self.conn.execute(
                "SELECT source_key FROM messages WHERE source = ? AND folder = ?", (source, folder)
            )
        }

    def intake_start(self, source: str, folder: str) -> dict[str, Any] | None:
        """How intake began for this folder (first start), or None before the first start."""
        return self.one("SELECT mode, not_before, at FROM intake_start WHERE source = ? AND "
                        "folder = ?", (source, folder))

    def set_intake_start(
        self, source: str, folder: str, mode: str, not_before: str | None
    ) -> None:
        with self.tx():
            self.conn.execute(
                "INSERT OR IGNORE INTO intake_start VALUES (?, ?, ?, ?, ?)",
                (source, folder, mode, not_before, now_iso()),
            )
