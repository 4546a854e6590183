"""Opening the store neither migrates nor takes a write lock once the schema is current.

Every statement SQLite runs is traced (sqlite3's trace callback sees each one, those of
executescript and of sqlite-utils included), so a write cannot hide behind a helper.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from configs import maildir_config
from helpers import invoke, store_with_a_draft

from inboxops.store import Store, messages

# What takes SQLite's write lock or changes the file: a write transaction, any DML or DDL, and
# switching the journal mode.
WRITE = re.compile(
    r"^\s*(BEGIN\s+(IMMEDIATE|EXCLUSIVE)|INSERT|UPDATE|DELETE|REPLACE|CREATE|ALTER|DROP"
    r"|PRAGMA\s+journal_mode\s*=)",
    re.IGNORECASE,
)


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SQL statement run on any connection opened from now on."""
    statements: list[str] = []
    connect: Callable[..., sqlite3.Connection] = sqlite3.connect

    def tracing_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(sqlite3, "connect", tracing_connect)
    yield statements


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_noop_drafts_command_writes_nothing(tmp_path: Path, traced: list[str]) -> None:
    config = maildir_config(tmp_path)
    db = tmp_path / "inboxops.db"
    store_with_a_draft(db)
    before = _digest(db)
    traced.clear()

    result = invoke(config, "drafts")

    assert result.exit_code == 0, result.output
    assert "Re: hi" in result.output  # it did read the store
    assert any("FROM drafts" in s for s in traced)  # and the trace saw it
    writes = [s for s in traced if WRITE.match(s)]
    assert writes == [], f"write transactions of a no-op `inboxops drafts`: {writes}"
    assert _digest(db) == before


def test_opening_the_store_for_a_scan_neither_migrates_nor_locks(
    tmp_path: Path, traced: list[str]
) -> None:
    db = tmp_path / "inboxops.db"
    store_with_a_draft(db)
    traced.clear()

    # As the daemon opens it for each scan: with the pending check, and without it.
    checked = Store(db)
    assert checked.pending_migrations() == []
    assert [s for s in traced if WRITE.match(s)] == []
    assert any("migrations" in s for s in traced)  # the check read the bookkeeping
    checked.close()
    traced.clear()
    bare = Store(db, migrate=False)
    assert bare.known_keys("maildir:x", "INBOX") == {"k1"}
    assert [s for s in traced if WRITE.match(s)] == []
    assert not any("migrations" in s for s in traced)  # not even read
    bare.close()


def test_a_new_database_is_migrated_once_under_a_write_lock(
    tmp_path: Path, traced: list[str]
) -> None:
    store = Store(tmp_path / "new.db")
    assert traced.count("BEGIN IMMEDIATE") == 1
    assert any(s.upper().startswith("PRAGMA JOURNAL_MODE=WAL") for s in traced)
    assert store.pending_migrations() == []
    store.close()


def test_only_the_pending_migrations_run(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = Store(db)
    with store.tx():  # as if the database predated the last migration
        store.conn.execute("DROP TABLE intake_start")
        store.conn.execute("DROP TABLE backfills")
        store.conn.execute("DELETE FROM migrations WHERE name = '031_intake'")
    store.close()
    again = Store(db, migrate=False)
    assert again.pending_migrations() == ["031_intake"]
    assert again.migrate() == ["031_intake"]
    assert again.migrate() == []
    assert again.intake_start("src", "INBOX") is None  # the table is back


def test_a_database_of_the_old_runner_keeps_its_migrations(tmp_path: Path) -> None:
    """Before sqlite-utils ran them, `migrations` was (name, applied_at): the names carry over,
    nothing runs twice, and the data stays."""
    db = tmp_path / "s.db"
    store = Store(db)
    pk = store.record_incoming("src", "INBOX", "k", b"x")
    names = [r["name"] for r in store.query("SELECT name FROM migrations")]
    with store.tx():
        store.conn.execute("DROP TABLE migrations")
        store.conn.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
        store.conn.executemany("INSERT INTO migrations VALUES (?, '2026-01-01T00:00:00+00:00')",
                               [(n,) for n in names])
    store.close()

    old = Store(db, migrate=False)
    assert old.pending_migrations() == []  # every name is there...
    assert old.migrate() == []  # ...so adopting the old table applies nothing
    assert [r["name"] for r in old.query("SELECT name FROM migrations")] == names
    assert old.one("SELECT applied_at FROM migrations")["applied_at"].startswith("2026-01-01")  # type: ignore[index]
    assert old.require("messages", pk or 0)["source_key"] == "k"
    old.close()
    reopened = Store(db)
    assert reopened.pending_migrations() == []


def test_raw_bytes_move_out_of_the_message_row_and_stay_exact(tmp_path: Path) -> None:
    """044_raw_apart: a database whose messages kept their bytes in the row (every update of
    the row rewrote them) gets them in `message_raw`, byte for byte, and the row loses them."""
    db = tmp_path / "s.db"
    store = Store(db)
    raw = b"Subject: x\r\n\r\n" + bytes(range(256)) * 40  # binary, and past one page
    with store.tx():  # as if the database predated 044
        store.conn.execute("DROP TABLE message_raw")
        store.conn.execute("ALTER TABLE messages ADD COLUMN raw BLOB")
        store.conn.execute(
            "INSERT INTO messages (source, folder, source_key, sha256, size, raw, received_at)"
            " VALUES ('src', 'INBOX', 'k', ?, ?, ?, '2026-01-01T00:00:00+00:00')",
            (hashlib.sha256(raw).hexdigest(), len(raw), raw))
        store.conn.execute("DELETE FROM migrations WHERE name = '044_raw_apart'")
    store.close()
    again = Store(db)
    pk = again.one("SELECT id FROM messages WHERE source_key = 'k'")["id"]  # type: ignore[index]
    assert messages.raw_of(again, pk) == raw
    assert "raw" not in again.db.table("messages").columns_dict
    assert again.record_incoming("src", "INBOX", "k2", raw) is None  # same bytes: known
    again.close()
