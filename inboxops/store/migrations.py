"""The schema, as named migrations in the order they are applied, and the runner around them.

sqlite-utils' own migration support (`sqlite_utils.Migrations`) records what ran and applies
what is pending; the bookkeeping table keeps its old name, `migrations`, so a database created
before keeps every name it has. Checking for pending migrations only reads: opening the store
for a CLI command or a scan takes no write lock when the schema is current (issue 10).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from inboxops.store.intake import without_port

if TYPE_CHECKING:  # imported when a migration runs: a current schema is checked without it
    from inboxops.store.lean import Database, Migrations

# Which migration set the rows of `migrations` belong to (sqlite-utils keeps several apart).
SET = "inboxops"
TABLE = "migrations"


def _m001_initial(db: Database) -> None:
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


def _m002_hash_index(db: Database) -> None:
    # record_incoming looks up the hash of every new message (IMAP-1 dedupe): keep it O(log n).
    db.execute("CREATE INDEX messages_sha256 ON messages(source, folder, sha256)")


def _m003_corrections(db: Database) -> None:
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


def _m004_filed_category(db: Database) -> None:
    # The category folder we filed a message into: a message found in another one was moved
    # there by the assistant (a correction); one found where we put it was not.
    db.execute("ALTER TABLE messages ADD COLUMN filed_category TEXT")


def _m005_thread_key(db: Database) -> None:
    # Which conversation a message belongs to: one open draft per thread (LOOP-5).
    db.execute("ALTER TABLE messages ADD COLUMN thread_key TEXT")
    db.execute("CREATE INDEX messages_thread ON messages(thread_key)")


def _m006_draft_copies(db: Database) -> None:
    # Drafts also live in the assistant's mail client: when the copy was put there, and since
    # when it has been missing (deleted = rejected, after a grace period for re-saves).
    db.execute("ALTER TABLE drafts ADD COLUMN published_at TEXT")
    db.execute("ALTER TABLE drafts ADD COLUMN missing_since TEXT")


def _m007_outbox_phase(db: Database) -> None:
    # How far a send got: 'claimed', or 'data' once the SMTP DATA command began. After a crash
    # this tells "provably not sent" (requeue) from "handed to the server" (do not resend).
    db.execute("ALTER TABLE outbox ADD COLUMN phase TEXT")


def _m008_outbox_owner(db: Database) -> None:
    # Which process holds a `sending` row ("host:pid:start"), so a restart after kill -9 takes
    # the row back at once when that process is gone, instead of waiting for the lease to end.
    db.execute("ALTER TABLE outbox ADD COLUMN owner TEXT")


def _m010_meeting_answers(db: Database) -> None:
    # Why a meeting is back with the assistant (a decline, a counter-proposal), or NULL; and
    # the DTSTAMP of each attendee's counted answer, so that of two answers to the same
    # SEQUENCE the later one wins (ICS-9) even when they arrive out of order.
    db.execute("ALTER TABLE meetings ADD COLUMN attention TEXT")
    db.execute("ALTER TABLE meetings ADD COLUMN answered TEXT NOT NULL DEFAULT '{}'")


def _m020_service_status(db: Database) -> None:
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


def _m030_reminders(db: Database) -> None:
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


def _m031_intake(db: Database) -> None:
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


def _m040_duplicates(db: Database) -> None:
    # A Maildir file with the bytes of a message already taken is not taken again (IMAP-1), but
    # its key must be remembered: else every scan reads it again, and nobody is told.
    db.executescript(
        """
        CREATE TABLE duplicates (
            source TEXT NOT NULL, folder TEXT NOT NULL, source_key TEXT NOT NULL,
            message_pk INTEGER REFERENCES messages(id),   -- the message it repeats
            at TEXT NOT NULL,
            PRIMARY KEY (source, folder, source_key)
        );
        """
    )


def _m041_mailbox_identity(db: Database) -> None:
    # The IMAP source name loses its port (imap:<user>@<host>:<port> -> imap:<user>@<host>), so
    # an upgrade, or a later move from 143 to 993, does not take the mailbox again. Only names
    # of the old form are rewritten, so running it twice changes nothing. A mailbox already
    # reached through two ports has rows under both names: the first set keeps the new name,
    # duplicate messages keep the old one (recorded before; their drafts are untouched), and
    # the intake position is the further of the two.
    sources = {r[0] for t in ("messages", "mailbox_state", "intake_start", "backfills",
                               "duplicates")
               for r in db.execute(f"SELECT DISTINCT source FROM {t}")}
    for old in sorted(sources):
        new = without_port(old)
        if new is None:
            continue
        db.execute("UPDATE OR IGNORE messages SET source = ? WHERE source = ?", (new, old))
        db.execute("UPDATE backfills SET source = ? WHERE source = ?", (new, old))
        db.execute("UPDATE OR IGNORE duplicates SET source = ? WHERE source = ?", (new, old))
        db.execute("DELETE FROM duplicates WHERE source = ?", (old,))
        db.execute("UPDATE OR IGNORE intake_start SET source = ? WHERE source = ?", (new, old))
        db.execute("DELETE FROM intake_start WHERE source = ?", (old,))
        for folder, validity, last_uid in db.execute(
                "SELECT folder, uidvalidity, last_uid FROM mailbox_state WHERE source = ?",
                (old,)).fetchall():
            db.execute(
                "INSERT INTO mailbox_state (source, folder, uidvalidity, last_uid) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (source, folder) DO UPDATE SET last_uid = "
                "max(last_uid, excluded.last_uid) WHERE uidvalidity IS excluded.uidvalidity",
                (new, folder, validity, last_uid))
        db.execute("DELETE FROM mailbox_state WHERE source = ?", (old,))


def _m042_message_retries(db: Database) -> None:
    # A message whose processing failed for a reason that can pass (a full disk, a template
    # with a typo, a bug in one stage) waits in state 'retrying' until next_attempt_at, with
    # its attempts counted, instead of being quarantined for good.
    db.execute("ALTER TABLE messages ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE messages ADD COLUMN next_attempt_at TEXT")


def _m043_sort_pending_index(db: Database) -> None:
    # Every work pass asks which processed messages are still to be sorted (`to_sort`): a
    # partial index keeps that a lookup of the few pending ones, not a scan of every message
    # (310 ms a pass at 100,000 messages, issue 15).
    db.execute("CREATE INDEX messages_sort_pending ON messages(source, id)"
               " WHERE sort_state = 'pending' AND state = 'processed'")


def _m044_raw_apart(db: Database) -> None:
    # A message's raw bytes (9 KiB on average, megabytes with attachments) lived in its row,
    # before the columns every stage updates (state, category, sort_state...): each update
    # rewrote the blob's overflow pages and every read of a late column walked them. The bytes
    # are written once and read rarely, so they get a table of their own (issue 15).
    db.execute("CREATE TABLE message_raw (message_pk INTEGER PRIMARY KEY "
               "REFERENCES messages(id), raw BLOB NOT NULL)")
    db.execute("INSERT INTO message_raw (message_pk, raw) SELECT id, raw FROM messages")
    db.execute("ALTER TABLE messages DROP COLUMN raw")


# The order they are applied in; a new migration goes at the end, under a new name.
MIGRATIONS: list[tuple[str, Callable[[Database], None]]] = [
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
    ("040_duplicates", _m040_duplicates),
    ("041_mailbox_identity", _m041_mailbox_identity),
    ("042_message_retries", _m042_message_retries),
    ("043_sort_pending_index", _m043_sort_pending_index),
    ("044_raw_apart", _m044_raw_apart),
]


@cache
def _registry() -> Migrations:
    """sqlite-utils' runner with every migration, keeping the bookkeeping table's old name."""
    from inboxops.store.lean import Migrations

    class _Migrations(Migrations):
        migrations_table = TABLE

    registry = _Migrations(SET)
    for name, fn in MIGRATIONS:
        registry(name=name)(fn)
    return registry


def current(conn: sqlite3.Connection) -> bool:
    """Whether every migration is recorded as applied, by one plain read (without sqlite-utils:
    a CLI command's start-up, issue 15). False also when unsure (no table yet, the old layout):
    `needed` then decides."""
    try:
        rows = conn.execute(f"SELECT name FROM {TABLE} WHERE migration_set = ?", (SET,))
        done = {row[0] for row in rows}
    except sqlite3.OperationalError:  # no such table or column
        return False
    return all(name in done for name, _ in MIGRATIONS)


def _legacy(db: Database) -> bool:
    """Written by the hand-made runner before: (name, applied_at), no migration set."""
    table = db.table(TABLE)
    return table.exists() and "migration_set" not in table.columns_dict


def pending(db: Database) -> list[str]:
    """The names of the migrations not applied yet, in order. Only reads."""
    if _legacy(db):
        done = {row[0] for row in db.execute(f"SELECT name FROM {TABLE}")}
        return [name for name, _ in MIGRATIONS if name not in done]
    return [m.name for m in _registry().pending(db)]


def needed(db: Database) -> bool:
    """Whether `apply` has anything to write: migrations pending, or the old bookkeeping."""
    return _legacy(db) or bool(pending(db))


def apply(db: Database) -> list[str]:
    """Apply what is pending, inside the caller's write transaction; the names applied."""
    if _legacy(db):
        _adopt_legacy(db)
    names = pending(db)
    _registry().apply(db)
    return names


def _adopt_legacy(db: Database) -> None:
    """Carry the old runner's rows over to sqlite-utils' layout, same names, same order."""
    rows = db.execute(f"SELECT name, applied_at FROM {TABLE} ORDER BY rowid").fetchall()
    db.execute(f"DROP TABLE {TABLE}")
    _registry().ensure_migrations_table(db)
    db.table(TABLE).insert_all(
        {"migration_set": SET, "name": name, "applied_at": at} for name, at in rows
    )
