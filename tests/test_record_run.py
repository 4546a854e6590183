"""A backlog's run recorded in a few statements (`messages.Run`, issue 15): each message gets
what `record` gives it alone, in the same order: ids, columns, duplicates, events, log lines."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from inboxops.service.pipeline import _json
from inboxops.store import Store, messages

A, B, C, X = (f"Subject: {s}\r\n\r\n{s}".encode() for s in ("a", "b", "c", "x"))


def _events(store: Store) -> list[tuple[int, str, dict[str, str]]]:
    return [(r["entity_id"], r["event"], json.loads(r["detail"])) for r in store.query(
        "SELECT entity_id, event, detail FROM events WHERE entity = 'message' ORDER BY id")]


def test_a_run_takes_each_message_once_and_says_each_duplicate_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    store = Store(tmp_path / "s.db")
    x = store.record_incoming("src", "INBOX", "1:1", X)
    assert x == 1
    run = messages.Run(store, "src", "INBOX")
    run.add("2:1", A, 2, 1)
    run.add("2:1", B, 2, 1)  # the same key again (other bytes): known
    run.add("2:2", A, 2, 2)  # A's bytes, earlier in this run: a duplicate of it
    run.add("2:3", X, 2, 3)  # X's bytes, recorded before: a duplicate of x
    run.add("2:3", X, 2, 3)  # the same copy again: remembered once, said once
    run.add("2:4", C, 2, 4, {"category": "other", "confidence": 0.75, "sort_state": "pending"},
            {"category": "other", "confidence": 0.75})
    caplog.clear()  # x's line, if an earlier test left INFO on
    with caplog.at_level(logging.INFO, "inboxops.events"), store.tx():
        assert run.write() == [2, None, None, None, None, 3]
        assert caplog.messages == []  # logged once the transaction commits
    assert _events(store) == [
        (1, "received", {"source": "src", "key": "1:1"}),
        (2, "received", {"source": "src", "key": "2:1"}),
        (2, "duplicate", {"source": "src", "key": "2:2"}),
        (1, "duplicate", {"source": "src", "key": "2:3"}),
        (3, "processed", {"source": "src", "key": "2:4", "category": "other",
                          "confidence": 0.75}),
    ]
    assert [m.split(" (")[0] for m in caplog.messages] == [
        "message 2: received", "message 2: duplicate", "message 1: duplicate",
        "message 3: processed"]
    assert store.query("SELECT source_key, message_pk FROM duplicates ORDER BY source_key") == [
        {"source_key": "2:2", "message_pk": 2}, {"source_key": "2:3", "message_pk": 1}]
    row = store.require("messages", 3)
    assert (row["state"], row["category"], row["confidence"], row["sort_state"], row["uid"],
            row["size"], row["message_id"]) == ("processed", "other", 0.75, "pending", 4,
                                                len(C), None)
    assert store.require("messages", 2)["state"] == "received"
    assert messages.raw_of(store, 2) == A
    assert store.known_keys("src", "INBOX") == {"1:1", "2:1", "2:2", "2:3", "2:4"}


def test_a_run_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    run = messages.Run(store, "src", "INBOX")
    run.add("k1", A)
    run.add("k2", B)
    with pytest.raises(RuntimeError), store.tx():
        run.write()
        raise RuntimeError("killed before the commit")
    assert store.one("SELECT count(*) AS n FROM messages") == {"n": 0}
    assert store.one("SELECT count(*) AS n FROM events") == {"n": 0}
    assert messages.record(store, "src", "INBOX", "k1", A) == 1  # the next free id again


def test_a_column_processing_does_not_set_is_refused(tmp_path: Path) -> None:
    run = messages.Run(Store(tmp_path / "s.db"), "src", "INBOX")
    with pytest.raises(ValueError, match="raw"):
        run.add("k", A, processed={"category": "other", "raw": b""})


def test_a_thread_lookup_sees_the_run_it_waits_in(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    run = messages.Run(store, "src", "INBOX")
    run.add("k1", A, processed={"message_id": "<a@x>", "thread_key": "t1"})
    assert run.holds("<a@x>") and not run.holds("<b@x>")
    assert messages.thread_of(store, "<a@x>") is None  # not written yet: the caller writes
    assert run.write() == [1]
    assert not run.holds("<a@x>")
    assert messages.thread_of(store, "<a@x>") == "t1"


@pytest.mark.parametrize("values", [
    [], ["<a@b>"], ["ăîșț \"quoted\" \\ back", "tab\tnew\nline", "\u2028 \x00 \ud83d"],
    ["emoji 😀", ""],
])
def test_json_lists_are_what_json_dumps_writes(values: list[str]) -> None:
    assert _json(values) == json.dumps(values)


def test_event_details_are_what_json_dumps_writes(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    details = [None, {}, {"category": "other", "confidence": 1}, {"category": "other",
               "confidence": True}, {"category": "ș", "confidence": 0.5, "reasons": ["x"]},
               {"key": "overridden"}]
    for i, detail in enumerate(details):
        messages.record(store, "src", "INBOX", f"k{i}", f"m{i}".encode(),
                        processed={"category": "other"}, detail=detail)
    got = [r["detail"] for r in store.query("SELECT detail FROM events ORDER BY id")]
    assert got == [json.dumps({"source": "src", "key": f"k{i}", **(d or {})})
                   for i, d in enumerate(details)]


def test_the_lookups_of_a_run_search_an_index(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    for column in ("source_key", "sha256"):
        plan = store.conn.execute(f"EXPLAIN QUERY PLAN {messages._lookup(column, 2)}",
                                  ("s", "f", "a", "b")).fetchall()
        assert all("COVERING INDEX" in row[3] for row in plan), plan
