"""The `messages` table: every message taken from the mailbox, its parse, category and state."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from inboxops.store.clock import now_iso

if TYPE_CHECKING:
    from inboxops.store import Store


def record_incoming(
    store: Store, source: str, folder: str, key: str, raw: bytes,
    uidvalidity: int | None = None, uid: int | None = None,
) -> int | None:
    """Record a message before anything acts on it; None if this (source, folder, key) is known.

    Duplicates across a UIDVALIDITY change are caught by hash (IMAP-1): the same bytes already
    recorded from this folder are not taken again.
    """
    return record(store, source, folder, key, raw, uidvalidity, uid)


def record(
    store: Store, source: str, folder: str, key: str, raw: bytes,
    uidvalidity: int | None = None, uid: int | None = None,
    processed: dict[str, Any] | None = None, detail: dict[str, Any] | None = None,
) -> int | None:
    """`record_incoming`, or with `processed` (the columns processing sets) the message
    recorded as processed at once, in one write and one event (`detail` its detail): what
    a backlog's mail that needs no draft costs (issue 15); None if it is known."""
    run = Run(store, source, folder)
    run.add(key, raw, uidvalidity, uid, processed, detail)
    return run.write()[0]


# The columns a message is recorded with: where it came from, then what processing sets when
# it is recorded processed at once (NULL, as by default, for one recorded `received`).
_ORIGIN = ("id", "source", "folder", "source_key", "uidvalidity", "uid", "sha256", "size",
           "received_at", "state")
PROCESSED = ("message_id", "from_addr", "from_name", "reply_to", "subject", "date", "language",
             "in_reply_to", "refs", "text", "defects", "category", "confidence", "reasons",
             "suppress", "sort_state", "thread_key")
_INSERT = (f"INSERT INTO messages ({', '.join(_ORIGIN + PROCESSED)}) VALUES "
           f"({', '.join('?' * len(_ORIGIN + PROCESSED))})")
_LOOKUP = 500  # keys (or hashes) per duplicate lookup: far below SQLite's variable limit


class Run:
    """Messages of one folder recorded together (a backlog's run, issue 15): what `record`
    does for each, in a few statements for all. One lookup of the keys and one of the hashes
    for the whole run, the rows, bytes and events inserted with executemany, and no
    savepoint per message: the run is one unit of the caller's transaction anyway.

    Each message gets exactly what `record` gives it alone, in the same order: the same
    columns, the same ids (the next free ones, as SQLite would pick them), one event, and a
    duplicate (the same key, or the same bytes under another key) caught also when the
    first copy is earlier in the same run."""

    def __init__(self, store: Store, source: str, folder: str) -> None:
        self.store, self.source, self.folder = store, source, folder
        self._items: list[tuple[str, bytes, int | None, int | None, tuple[Any, ...] | None,
                                dict[str, Any] | None]] = []
        self._message_ids: set[str] = set()

    def add(self, key: str, raw: bytes, uidvalidity: int | None = None, uid: int | None = None,
            processed: dict[str, Any] | None = None, detail: dict[str, Any] | None = None,
            ) -> None:
        """A message to record at the next `write` (see `record` for the arguments)."""
        values = None
        if processed is not None:
            if not processed.keys() <= _COLUMNS:
                raise ValueError(f"not a column: {sorted(processed.keys() - _COLUMNS)}")
            values = tuple(map(processed.get, PROCESSED))
            if processed.get("thread_key") is not None and processed.get("message_id"):
                self._message_ids.add(processed["message_id"])
        self._items.append((key, raw, uidvalidity, uid, values, detail))

    def holds(self, message_id: str) -> bool:
        """Whether a message waiting to be written has this Message-ID (and a thread): a
        `thread_of` lookup for it must `write` first, as it would find it once written."""
        return message_id in self._message_ids

    def write(self) -> list[int | None]:
        """Record the messages added since the last write, in the caller's transaction (or
        one of its own); for each, its id, or None if it was known."""
        items, self._items, self._message_ids = self._items, [], set()
        if not items:
            return []
        with self.store.tx():
            return self._write(items)

    def _write(self, items: list[tuple[str, bytes, int | None, int | None,
                                       tuple[Any, ...] | None, dict[str, Any] | None]],
               ) -> list[int | None]:
        conn, source, folder = self.store.conn, self.source, self.folder
        digests = [hashlib.sha256(item[1]).hexdigest() for item in items]
        by_key = self._known("source_key", [item[0] for item in items])
        by_hash = self._known("sha256", digests)
        (last,) = conn.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()
        at = now_iso()
        out: list[int | None] = []
        rows: list[tuple[Any, ...]] = []
        raws: list[tuple[int, bytes]] = []
        copies: list[tuple[int, str, int]] = []  # (position in events, key, the message)
        events: list[tuple[int | None, str, str | None]] = []
        blank = (None,) * len(PROCESSED)
        head = f'{{"source": {json.dumps(source)}, "key": '  # the event: json.dumps, in parts
        for (key, raw, uidvalidity, uid, values, detail), digest in zip(items, digests,
                                                                         strict=True):
            if key in by_key:
                out.append(None)
                continue
            of = by_hash.get(digest)
            if of is not None:  # the same bytes under another key: remember it, say it once
                copies.append((len(events), key, of))
                out.append(None)
                continue
            last += 1
            by_key[key] = by_hash[digest] = last
            state = "received" if values is None else "processed"
            rows.append((last, source, folder, key, uidvalidity, uid, digest, len(raw), at,
                         state, *(blank if values is None else values)))
            raws.append((last, raw))
            events.append((last, state, f"{head}{json.dumps(key)}{_tail(detail)}" if not (
                detail and ("source" in detail or "key" in detail))  # they would replace them
                else json.dumps({"source": source, "key": key, **detail})))
            out.append(last)
        if rows:
            conn.executemany(_INSERT, rows)
            conn.executemany("INSERT INTO message_raw (message_pk, raw) VALUES (?, ?)", raws)
        # After the rows they may repeat (a foreign key), each in its place among the events.
        said = [(place, key, of) for place, key, of in copies if conn.execute(
            "INSERT OR IGNORE INTO duplicates (source, folder, source_key, message_pk, at)"
            " VALUES (?, ?, ?, ?, ?)", (source, folder, key, of, at)).rowcount]
        for place, key, of in reversed(said):  # from the end: the places before stay right
            events.insert(place, (of, "duplicate", json.dumps({"source": source, "key": key})))
        self.store.events("message", events)
        return out

    def _known(self, column: str, values: list[str]) -> dict[str, int]:
        """Which of these keys (or hashes) this folder has, with the (first) message's id."""
        found: dict[str, int] = {}
        for start in range(0, len(values), _LOOKUP):
            chunk = values[start:start + _LOOKUP]
            found.update(self.store.conn.execute(
                _lookup(column, len(chunk)), (self.source, self.folder, *chunk)))
        return found


def _lookup(column: str, n: int) -> str:
    """The query for n keys (or hashes): a search of the unique key index (or of
    messages_sha256) that needs no row, as the one-message lookup was."""
    return (f"SELECT {column}, min(id) FROM messages WHERE source = ? AND folder = ? AND "
            f"{column} IN ({', '.join('?' * n)}) GROUP BY {column}")


_COLUMNS = frozenset(PROCESSED)


def _tail(detail: dict[str, Any] | None) -> str:
    """What follows the key in the JSON of a message's event (`{"source": .., "key": ..`,
    then the detail's items): a backlog's few distinct details are encoded once each."""
    if not detail:
        return "}"
    try:
        return _tail_of(tuple((k, type(v), v) for k, v in detail.items()))
    except TypeError:  # unhashable values (a list): encoded each time
        return ", " + json.dumps(detail)[1:]


@lru_cache(maxsize=1024)
def _tail_of(items: tuple[tuple[str, type, Any], ...]) -> str:
    return ", " + json.dumps({k: v for k, _, v in items})[1:]  # the type: 1 and True differ


def known_keys(store: Store, source: str, folder: str) -> set[str]:
    """The source keys of every message recorded from this folder, and of the byte-identical
    copies of them found there (not taken again, not read again)."""
    return {
        r[0] for r in store.conn.execute(
            "SELECT source_key FROM messages WHERE source = ? AND folder = ? UNION ALL "
            "SELECT source_key FROM duplicates WHERE source = ? AND folder = ?",
            (source, folder, source, folder),
        )
    }


def set_category(store: Store, pk: int, category: str, reasons: list[str]) -> None:
    """A category the assistant gave: sure (confidence 1.0), with the reasons that say so."""
    with store.tx():
        store.conn.execute(
            "UPDATE messages SET category = ?, confidence = 1.0, reasons = ? WHERE id = ?",
            (category, json.dumps(reasons), pk),
        )


def count_in_state(store: Store, state: str, received_after: str | None = None) -> int:
    """How many messages are in `state` (received after a time, if given)."""
    row = store.one(
        "SELECT count(*) AS n FROM messages WHERE state = ? AND (? IS NULL OR received_at > ?)",
        (state, received_after, received_after),
    )
    return row["n"] if row else 0


# The event bookings.record_answer writes on a message that is an iTIP answer (REPLY, COUNTER,
# REFRESH, DECLINECOUNTER): sorted "meeting" by its calendar part, yet no meeting request.
CALENDAR_ANSWER = "calendar answer"


def sorted_since(store: Store, since: str, inclusive: bool = False) -> list[dict[str, Any]]:
    """(received_at, category, calendar_answer) of the messages received since a time and
    processed (or quarantined): what the digest counts."""
    op = ">=" if inclusive else ">"
    return store.query(
        "SELECT received_at, category, EXISTS (SELECT 1 FROM events e WHERE e.entity = "
        "'message' AND e.entity_id = m.id AND e.event = ?) AS calendar_answer FROM messages m"
        f" WHERE received_at {op} ? AND state NOT IN ('received', 'retrying')",
        (CALENDAR_ANSWER, since),
    )


def in_review_undrafted(store: Store, threshold: float) -> list[dict[str, Any]]:
    """Messages in the review lane with no draft to decide on: sorted below `threshold` and
    neither drafted nor corrected since (a correction sets the confidence to 1), oldest first."""
    return store.query(
        "SELECT id, from_addr, subject, category, confidence FROM messages m"
        " WHERE state = 'processed' AND confidence < ? AND NOT EXISTS"
        " (SELECT 1 FROM drafts d WHERE d.message_pk = m.id) ORDER BY id", (threshold,),
    )


def unanswered_complaints(
    store: Store, received_before: str, decided: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Complaints received before a time whose conversation has no draft in a `decided` state
    for them or a later message, oldest first, with their thread and pending draft."""
    marks = ", ".join("?" * len(decided))
    return store.query(
        "SELECT m.id, m.from_addr, m.from_name, m.subject, m.received_at,"
        " COALESCE(m.thread_key, 'message:' || m.id) AS thread,"
        " (SELECT max(d.id) FROM drafts d WHERE d.message_pk = m.id AND d.state = 'pending')"
        " AS draft_id"
        " FROM messages m WHERE m.category = 'complaint' AND m.state = 'processed'"
        " AND m.received_at < ? AND NOT EXISTS (SELECT 1 FROM drafts d JOIN messages m2"
        f"  ON m2.id = d.message_pk WHERE d.state IN ({marks}) AND m2.id >= m.id"
        "  AND (m2.id = m.id OR m2.thread_key = m.thread_key))"
        " ORDER BY m.id",
        (received_before, *decided),
    )


def recent(store: Store, category: str | None, limit: int) -> list[dict[str, Any]]:
    """The latest messages (of one category, if given), newest first."""
    return store.query(
        "SELECT id, received_at, from_addr, subject, language, category, confidence, state,"
        " error FROM messages WHERE (? IS NULL OR category = ?) ORDER BY id DESC LIMIT ?",
        (category, category, limit),
    )


def oldest_received(store: Store, limit: int, now: str | None = None) -> list[dict[str, Any]]:
    """(id, raw) of up to `limit` messages waiting to be processed, oldest first: new ones,
    and those retrying whose time has come by `now` (default: the present)."""
    # The ids first, then the bytes of just those: joined before the LIMIT, SQLite read the
    # bytes of every waiting message to sort them (a 10,000-message backlog, each batch).
    return store.query(
        "SELECT m.id, r.raw FROM (SELECT id FROM messages WHERE state = 'received' OR"
        " (state = 'retrying' AND next_attempt_at <= ?) ORDER BY id LIMIT ?) m"
        " JOIN message_raw r ON r.message_pk = m.id ORDER BY m.id", (now or now_iso(), limit)
    )


def raw_of(store: Store, pk: int) -> bytes | None:
    """The bytes of a recorded message, exactly as they arrived; None if there is no such one."""
    row = store.conn.execute("SELECT raw FROM message_raw WHERE message_pk = ?",
                             (pk,)).fetchone()
    return bytes(row[0]) if row else None


def next_retry(store: Store) -> str | None:
    """When the next retrying message is due, if any."""
    row = store.one("SELECT min(next_attempt_at) AS at FROM messages WHERE state = 'retrying'")
    return row["at"] if row else None


def retrying(store: Store) -> list[dict[str, Any]]:
    """Messages waiting to be processed again after a passing failure, oldest first."""
    return store.query(
        "SELECT id, from_addr, subject, attempts, next_attempt_at, error FROM messages "
        "WHERE state = 'retrying' ORDER BY id")


def thread_of(store: Store, message_id: str) -> str | None:
    """The conversation of the message, or of our reply, with this Message-ID; None if
    neither is known (or has one)."""
    row = store.one(
        "SELECT thread_key FROM messages WHERE message_id = ? AND thread_key IS NOT NULL"
        " UNION ALL SELECT m.thread_key FROM outbox o JOIN messages m ON"
        " m.id = o.answers_pk WHERE o.message_id = ? LIMIT 1", (message_id, message_id),
    )
    return str(row["thread_key"]) if row and row["thread_key"] else None


# The folder a processed message belongs in: the review lane is a sort target like a category
# (InboxOps/Review, $Review).
_SORT_TARGET = "CASE WHEN confidence < ? THEN 'review' ELSE category END"


def to_sort(
    store: Store, source: str, review_below: float, after: int = 0, limit: int = -1,
) -> list[dict[str, Any]]:
    """Processed messages of `source` not yet sorted in the mailbox, oldest first from id
    `after` on, at most `limit` (-1: all), with the `category` to sort them under ('review'
    below the threshold) and where they are. A caller pages through a big leftover (100,000
    messages left unsorted by a stop are 32 MB as rows at once)."""
    return store.query(
        f"SELECT id, source_key, uid, uidvalidity, {_SORT_TARGET} AS category FROM messages "
        "WHERE sort_state = 'pending' AND state = 'processed' AND source = ? AND id > ?"
        " ORDER BY id LIMIT ?",
        (review_below, source, after, limit),
    )


def mark_sorted(store: Store, pks: list[int], review_below: float) -> None:
    """These messages are in their folders: remember which, to tell the assistant's moves
    apart. One statement per 500 ids: a backlog is marked per sorted batch."""
    for start in range(0, len(pks), 500):
        chunk = pks[start:start + 500]
        store.conn.execute(
            f"UPDATE messages SET sort_state = 'done', filed_category = {_SORT_TARGET} "
            f"WHERE id IN ({','.join('?' * len(chunk))})", (review_below, *chunk))


def latest_processed(store: Store, source: str, message_id: str) -> dict[str, Any] | None:
    """(id, category, filed_category) of the latest processed message of `source` with this
    Message-ID, or None."""
    return store.one(
        "SELECT id, category, filed_category FROM messages WHERE message_id = ? AND "
        "source = ? AND state = 'processed' ORDER BY id DESC LIMIT 1", (message_id, source),
    )


def set_filed_category(store: Store, pk: int, category: str) -> None:
    """The category folder the message is in now (the assistant moved it there)."""
    store.conn.execute("UPDATE messages SET filed_category = ? WHERE id = ?", (category, pk))


def mailbox_places(store: Store, pks: list[int]) -> list[dict[str, Any]]:
    """Where these messages are in the mailbox (uid, uidvalidity, message_id, filed_category)."""
    marks = ",".join("?" * len(pks))
    return store.query(
        "SELECT id, uid, uidvalidity, message_id, filed_category FROM messages "
        f"WHERE id IN ({marks})", pks
    ) if pks else []
