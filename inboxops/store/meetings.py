"""The `meetings` table: proposed and invited meetings, their attendees' answers, and why one
is back with the assistant."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from inboxops.store.clock import now_iso

if TYPE_CHECKING:
    from inboxops.store import Store


def add(
    store: Store, message_pk: int, uid: str, start: str, end: str, timezone: str,
    from_client: bool, alternatives: list[tuple[str, str]], location: str,
    summary: str, client_addr: str, client_name: str, staff: list[str],
    attendees: dict[str, str],
) -> int:
    """Insert a `proposed` meeting (SEQUENCE 0) for `message_pk`; its id (the caller logs the
    event). `alternatives` are the other slots offered, as (start, end)."""
    cur = store.conn.execute(
        'INSERT INTO meetings (message_pk, uid, sequence, start, "end", timezone, from_client,'
        " alternatives, location, summary, client_addr, client_name, staff, attendees, state,"
        " created_at) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'proposed', ?)",
        (message_pk, uid, start, end, timezone, int(from_client),
         json.dumps(alternatives), location, summary, client_addr,
         client_name, json.dumps(staff), json.dumps(attendees), now_iso()),
    )
    pk = cur.lastrowid
    assert pk is not None
    return pk


def by_uid(store: Store, uid: str | None) -> dict[str, Any] | None:
    """The meeting with this iCalendar UID, or None (also for a calendar without a UID)."""
    return store.one("SELECT * FROM meetings WHERE uid = ?", (uid,))


def holding_time(store: Store, except_id: int | None = None) -> list[dict[str, Any]]:
    """Meetings that hold their time (proposed or invited), soonest first; all but
    `except_id`, a meeting that may move onto its own slot."""
    return store.query(
        'SELECT id, start, "end", summary, location, client_addr, client_name, attendees, state'
        " FROM meetings WHERE state IN ('proposed', 'invited') AND id IS NOT ? ORDER BY start",
        (except_id,),
    )


def for_the_assistant(store: Store, starting_from: str) -> list[dict[str, Any]]:
    """Meetings to come that were put back to the assistant (`attention` says why)."""
    return store.query(
        "SELECT id, start, summary, client_addr, attention FROM meetings WHERE attention IS "
        "NOT NULL AND state IN ('proposed', 'invited') AND start >= ? ORDER BY start",
        (starting_from,))


def set_answers(
    store: Store, pk: int, attendees: dict[str, str], answered: dict[str, str]
) -> None:
    """Each attendee's PARTSTAT, and the DTSTAMP of the answer it came from."""
    with store.tx():
        store.conn.execute(
            "UPDATE meetings SET attendees = ?, answered = ? WHERE id = ?",
            (json.dumps(attendees), json.dumps(answered), pk),
        )


def set_attention(store: Store, pk: int, reason: str) -> None:
    """Why the meeting is back with the assistant."""
    with store.tx():
        store.conn.execute("UPDATE meetings SET attention = ? WHERE id = ?", (reason, pk))


def not_cancelled(store: Store) -> list[dict[str, Any]]:
    """Every meeting not cancelled, soonest first, as `inboxops meetings` lists them."""
    return store.query(
        'SELECT id, uid, sequence, start, "end", timezone, location, summary, client_addr,'
        " staff, attendees, state, attention FROM meetings WHERE state != 'cancelled'"
        " ORDER BY start"
    )
