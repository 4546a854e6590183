"""A sorting round reads the unsorted messages a page at a time (issue 15: a leftover of
100,000 as rows at once was 32 MB), marks each batch as it is done, and ends the round at a
page the mailbox did not finish (a stop, a lost connection), so nothing is skipped."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from configs import maildir_config

from inboxops.config import load
from inboxops.service import daemon as daemon_module
from inboxops.service.daemon import Daemon
from inboxops.store import Store, messages


class Recorder:
    """A mailbox that files what it is given, or only the first `finish` of each call."""

    def __init__(self, finish: int | None = None) -> None:
        self.calls: list[list[int]] = []
        self.finish = finish

    def apply_categories(
        self, rows: list[dict[str, Any]], on_done: Callable[[list[int]], None] | None = None,
        stop: threading.Event | None = None,
    ) -> list[int]:
        self.calls.append([row["id"] for row in rows])
        ids = [row["id"] for row in rows][:self.finish]
        if on_done is not None and ids:
            on_done(ids)
        return ids


def _processed(store: Store, n: int) -> list[int]:
    pks = []
    for i in range(n):
        pk = messages.record_incoming(store, "mail", "INBOX", f"k{i}", f"m{i}".encode())
        assert pk is not None
        pks.append(pk)
    store.conn.execute("UPDATE messages SET state = 'processed', category = 'inquiry',"
                       " confidence = 1.0, sort_state = 'pending'")
    return pks


def _daemon(tmp_path: Path, mailbox: Recorder) -> Daemon:
    daemon = Daemon(load(maildir_config(tmp_path)))
    daemon.mailbox = mailbox  # type: ignore[assignment]
    return daemon


def _unsorted(store: Store) -> list[int]:
    return [r["id"] for r in store.query(
        "SELECT id FROM messages WHERE sort_state = 'pending' ORDER BY id")]


def test_a_round_sorts_everything_a_page_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(daemon_module, "SORT_PAGE", 3)
    box = Recorder()
    daemon = _daemon(tmp_path, box)
    source = daemon.source.name
    store = daemon.store
    pks = _processed(store, 7)
    store.conn.execute("UPDATE messages SET source = ?", (source,))
    daemon._sort_pending(store)
    assert box.calls == [pks[0:3], pks[3:6], pks[6:7]]
    assert _unsorted(store) == []


def test_a_page_left_unfinished_ends_the_round_and_is_taken_again_next_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(daemon_module, "SORT_PAGE", 3)
    box = Recorder(finish=2)
    daemon = _daemon(tmp_path, box)
    store = daemon.store
    pks = _processed(store, 7)
    store.conn.execute("UPDATE messages SET source = ?", (daemon.source.name,))
    daemon._sort_pending(store)
    assert box.calls == [pks[0:3]]  # the round ended: nothing after the unfinished one
    assert _unsorted(store) == pks[2:]
    box.finish = None
    daemon._sort_pending(store)
    assert box.calls[1:] == [pks[2:5], pks[5:7]]
    assert _unsorted(store) == []


def test_to_sort_pages_by_id(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    pks = _processed(store, 5)
    page = messages.to_sort(store, "mail", 0.5, after=pks[1], limit=2)
    assert [r["id"] for r in page] == pks[2:4]
    assert [r["id"] for r in messages.to_sort(store, "mail", 0.5)] == pks
