"""The store: migrations, exactly-once intake, conditional transitions with events."""

from __future__ import annotations

from pathlib import Path

from inboxops.store import MIGRATIONS, Store


def test_migrations_apply_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    assert store.migrate() == []
    store.close()
    again = Store(tmp_path / "s.db")
    names = [r["name"] for r in again.query("SELECT name FROM migrations")]
    # Every migration once, in list order (branches add theirs under their own prefix).
    assert names == [name for name, _ in MIGRATIONS]
    assert names[:7] == ["001_initial", "002_hash_index", "003_corrections",
                         "004_filed_category", "005_thread_key", "006_draft_copies",
                         "007_outbox_phase"]
    assert again.one("PRAGMA journal_mode")["journal_mode"] == "wal"  # type: ignore[index]


def test_record_incoming_takes_each_message_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    first = store.record_incoming("src", "INBOX", "1:5", b"Subject: a\r\n\r\nx")
    assert first is not None
    assert store.record_incoming("src", "INBOX", "1:5", b"Subject: a\r\n\r\nx") is None
    # After a UIDVALIDITY change the same bytes come back under a new key: caught by hash.
    assert store.record_incoming("src", "INBOX", "2:1", b"Subject: a\r\n\r\nx") is None
    assert store.record_incoming("src", "INBOX", "2:2", b"Subject: b\r\n\r\ny") is not None
    events = store.query("SELECT event FROM events WHERE entity = 'message'")
    # ... and remembered, said once, so a scan does not read it again (issue 12, item 14).
    assert [e["event"] for e in events] == ["received", "duplicate", "received"]
    assert store.known_keys("src", "INBOX") == {"1:5", "2:1", "2:2"}


def test_transition_is_conditional_and_logged(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    pk = store.record_incoming("src", "INBOX", "k", b"x")
    assert pk is not None
    assert store.transition("messages", pk, ("received",), "processed", category="other")
    assert not store.transition("messages", pk, ("received",), "processed")
    row = store.require("messages", pk)
    assert row["state"] == "processed" and row["category"] == "other"
    log = store.query("SELECT event FROM events WHERE entity_id = ? ORDER BY id", (pk,))
    assert [e["event"] for e in log] == ["received", "processed"]


def test_mailbox_state_round_trip(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    assert store.mailbox_state("src", "INBOX") == (None, 0)
    store.set_mailbox_state("src", "INBOX", 77, 12)
    store.set_mailbox_state("src", "INBOX", 77, 15)
    assert store.mailbox_state("src", "INBOX") == (77, 15)
