"""The manager's morning digest: what came in, what waits, which complaints age, what meetings come.

Sent at most once per local day, however often the daemon restarts: the day is claimed in the
`digests` table in the same transaction that queues the mail. `--send-now` sends an extra one.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from . import compose
from .approve import enqueue
from .config import Config
from .models import CATEGORIES
from .render import Renderer
from .responders.base import format_when
from .store import Store, now_iso

EPOCH = "1970-01-01T00:00:00+00:00"


def collect(store: Store, cfg: Config, now: datetime) -> dict[str, Any]:
    """Everything the digest template shows, as plain values."""
    last = store.one("SELECT max(created_at) AS at FROM digests")
    since = (last or {}).get("at") or EPOCH
    counts = Counter(
        r["category"] or "unsorted" for r in store.query(
            "SELECT category FROM messages WHERE received_at > ?", (since,)
        )
    )
    ordered = {c: counts.get(c, 0) for c in (*CATEGORIES, "unsorted") if c in counts or
               c in CATEGORIES}
    ageing_before = (now - timedelta(days=cfg.digest.ageing_days)).isoformat(timespec="seconds")
    ageing = store.query(
        "SELECT m.id, m.from_addr AS to_addr, m.subject, m.received_at FROM messages m "
        "WHERE m.category = 'complaint' AND m.received_at < ? AND NOT EXISTS (SELECT 1 FROM "
        "drafts d WHERE d.message_pk = m.id AND d.state IN ('sent', 'rejected')) ORDER BY m.id",
        (ageing_before,),
    )
    tz = ZoneInfo(cfg.meetings.timezone)
    meetings = [
        {**m, "when": format_when(datetime.fromisoformat(m["start"]).astimezone(tz), "en")}
        for m in store.query(
            "SELECT id, start, summary, client_addr, state, attention FROM meetings WHERE state IN "
            "('proposed', 'invited') AND start >= ? ORDER BY start",
            (now.isoformat(timespec="seconds"),),
        )
    ]
    problems = [
        f"outbox #{r['id']} is {r['state']}: {r['last_error'] or 'no detail'}"
        for r in store.query(
            "SELECT id, state, last_error FROM outbox WHERE state IN ('failed', 'unknown') OR "
            "(state = 'sent' AND last_error LIKE 'assumed delivered%' AND sent_at > ?)", (since,))
    ]
    unsorted = store.query(
        "SELECT id, from_addr, subject FROM messages m WHERE state = 'processed' AND "
        "confidence < ? AND category != 'other' AND NOT EXISTS (SELECT 1 FROM drafts d "
        "WHERE d.message_pk = m.id) ORDER BY id", (cfg.classify.min_confidence,),
    )
    quarantined = store.one("SELECT count(*) AS n FROM messages WHERE state = 'quarantined'")
    if quarantined and quarantined["n"]:
        problems.append(f"{quarantined['n']} message(s) quarantined (could not be parsed)")
    return {
        "day": now.astimezone(tz).date().isoformat(),
        "since": "none yet" if since == EPOCH else since,
        "counts": ordered,
        "total": sum(counts.values()),
        "pending": store.query(
            "SELECT id, category, language, to_addr, subject, created_at FROM drafts "
            "WHERE state = 'pending' ORDER BY id"
        ),
        "ageing": ageing,
        "ageing_days": cfg.digest.ageing_days,
        "meetings": meetings,
        "unsorted": unsorted,
        "problems": problems,
    }


def render(store: Store, cfg: Config, now: datetime) -> tuple[str, str]:
    """The digest's subject and text, from the `digest.en.*` templates."""
    subject, text, _ = Renderer(cfg.replies.templates).render_set(
        "digest", "en", collect(store, cfg, now), html=False
    )
    return subject, text


def queue_digest(
    store: Store, cfg: Config, now: datetime | None = None, force: bool = False
) -> int | None:
    """Queue today's digest; None if today's was already sent and `force` is off."""
    now = now or datetime.now(UTC)
    day = now.astimezone(ZoneInfo(cfg.meetings.timezone)).date().isoformat()
    key = f"{day} manual {now.isoformat(timespec='seconds')}" if force else day
    with store.tx():
        if store.one("SELECT 1 FROM digests WHERE day = ?", (key,)):
            return None
        subject, text = render(store, cfg, now)
        message_id = compose.new_message_id(cfg.domain)
        sender = cfg.smtp.from_address
        raw = compose.build_message(
            sender=sender, to=[compose.address(a) for a in cfg.digest.to], subject=subject,
            text=text, message_id=message_id, auto_submitted="auto-generated",
        )
        pk = enqueue(store, "digest", raw, message_id, sender.addr_spec, list(cfg.digest.to))
        store.conn.execute("INSERT INTO digests VALUES (?, ?, ?)", (key, now_iso(), pk))
        store.event("digest", pk, "queued", json.dumps({"day": key}))
    return pk
