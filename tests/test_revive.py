"""A human act wins over the timeout: which rejected drafts come back, with their meeting, and
which stay rejected (a human said no, or the meeting's time went to another meeting)."""

from __future__ import annotations

import json

import pytest

from inboxops.errors import StateError
from inboxops.outbound.approval import reject, revivable, revive
from inboxops.store import Store

START, END = "2030-01-08T10:00:00+02:00", "2030-01-08T11:00:00+02:00"


def meeting(store: Store, pk: int, uid: str, state: str) -> int:
    cur = store.conn.execute(
        'INSERT INTO meetings (message_pk, uid, start, "end", timezone, from_client,'
        " alternatives, location, summary, client_addr, client_name, staff, attendees, state,"
        " created_at) VALUES (?, ?, ?, ?, 'Europe/Bucharest', 0, '[]', 'Office', 'Meeting',"
        " 'ana@client.example', 'Ana', ?, '{}', ?, 'now')",
        (pk, uid, START, END, json.dumps(["staff@example.test"]), state))
    assert cur.lastrowid is not None
    return cur.lastrowid


def draft(store: Store, with_meeting: bool = False) -> tuple[int, int | None]:
    pk = store.record_incoming("test", "INBOX", "1", b"Subject: x\r\n\r\nx")
    assert pk is not None
    meeting_pk = meeting(store, pk, "m1@example.test", "proposed") if with_meeting else None
    cur = store.conn.execute(
        "INSERT INTO drafts (message_pk, category, language, to_addr, to_name, to_reason,"
        " subject, body_text, meeting_pk, created_at, published_at)"
        " VALUES (?, 'meeting', 'en', 'ana@client.example', 'Ana', 'From', 'Re: x', 'text',"
        " ?, 'now', 'now')", (pk, meeting_pk))
    assert cur.lastrowid is not None
    return cur.lastrowid, meeting_pk


def states(store: Store, draft_id: int, meeting_pk: int | None) -> tuple[str, str | None]:
    d = store.require("drafts", draft_id)
    m = store.require("meetings", meeting_pk) if meeting_pk else None
    return d["state"], m["state"] if m else None


def test_a_draft_rejected_by_the_timeout_comes_back_with_its_meeting() -> None:
    store = Store(":memory:")
    draft_id, meeting_pk = draft(store, with_meeting=True)
    reject(store, draft_id, by="mail-client")
    assert states(store, draft_id, meeting_pk) == ("rejected", "cancelled")
    assert revivable(store.require("drafts", draft_id))
    revive(store, draft_id)
    assert states(store, draft_id, meeting_pk) == ("pending", "proposed")
    row = store.require("drafts", draft_id)
    assert (row["decided_by"], row["decided_at"], row["missing_since"]) == (None, None, None)


def test_a_draft_rejected_by_a_human_stays_rejected() -> None:
    store = Store(":memory:")
    draft_id, _ = draft(store)
    reject(store, draft_id, by="cli")
    assert not revivable(store.require("drafts", draft_id))
    with pytest.raises(StateError, match="not rejected by the timeout"):
        revive(store, draft_id)
    assert states(store, draft_id, None) == ("rejected", None)


def test_no_revival_when_the_meeting_time_went_to_another_meeting() -> None:
    store = Store(":memory:")
    draft_id, meeting_pk = draft(store, with_meeting=True)
    reject(store, draft_id, by="mail-client")
    other_pk = store.record_incoming("test", "INBOX", "2", b"Subject: y\r\n\r\ny")
    assert other_pk is not None
    clash = meeting(store, other_pk, "m2@example.test", "invited")
    with pytest.raises(StateError, match=f"given to meeting {clash}"):
        revive(store, draft_id)
    assert states(store, draft_id, meeting_pk) == ("rejected", "cancelled")  # nothing half-done
