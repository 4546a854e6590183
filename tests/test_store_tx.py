"""Nested transactions are savepoints: an inner failure undoes only its own work and events."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from inboxops.store import Store


class Boom(Exception):
    pass


def _events(store: Store) -> list[str]:
    return [r["event"] for r in store.query("SELECT event FROM events ORDER BY id")]


def test_an_inner_block_that_raises_rolls_back_only_itself(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(tmp_path / "s.db")
    caplog.set_level(logging.INFO, logger="inboxops.events")
    with store.tx():
        store.event("test", 1, "outer before")
        with pytest.raises(Boom), store.tx():
            store.event("test", 2, "inner")
            store.record_incoming("src", "INBOX", "k", b"x")
            raise Boom
        store.event("test", 3, "outer after")  # the outer transaction carries on
        assert not caplog.messages  # nothing logged before the outer commit
    assert _events(store) == ["outer before", "outer after"]
    assert store.known_keys("src", "INBOX") == set()
    assert caplog.messages == ["test 1: outer before", "test 3: outer after"]


def test_an_inner_block_that_succeeds_commits_with_the_outer(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    with store.tx():
        with store.tx():
            store.event("test", 1, "inner")
            with store.tx():  # three deep
                store.event("test", 2, "innermost")
        store.event("test", 3, "outer")
    assert _events(store) == ["inner", "innermost", "outer"]


def test_an_outer_failure_rolls_back_the_inner_work_too(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(tmp_path / "s.db")
    caplog.set_level(logging.INFO, logger="inboxops.events")
    with pytest.raises(Boom), store.tx():
        with store.tx():
            store.event("test", 1, "inner")
        raise Boom
    assert _events(store) == []
    assert caplog.messages == []
    # The connection is usable afterwards: a new transaction starts cleanly.
    with store.tx():
        store.event("test", 2, "later")
    assert _events(store) == ["later"]


def test_a_failed_inner_transition_leaves_the_row_to_the_outer(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    pk = store.record_incoming("src", "INBOX", "k", b"x")
    assert pk is not None
    with store.tx():
        try:
            with store.tx():
                assert store.transition("messages", pk, ("received",), "processed")
                raise Boom
        except Boom:
            pass
        assert store.require("messages", pk)["state"] == "received"
        assert store.transition("messages", pk, ("received",), "quarantined")
    assert store.require("messages", pk)["state"] == "quarantined"
    assert _events(store) == ["received", "quarantined"]
