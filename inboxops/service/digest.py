"""The manager's morning digest: what came in, what waits, which complaints are late, what
meetings come, and what went wrong.

`collect` turns the store into plain values (no wording: the `digest.<lang>.*` templates hold
every word, in English and Romanian, and the HTML one draws the 14-day chart with tables and
inline styles only, which mail clients keep). `queue_digest` claims the day in the `digests`
table in the same transaction that queues the mail, so however often the daemon restarts a day
gets one digest; `--send-now` sends an extra one.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from inboxops.config import Config, missing_identities
from inboxops.errors import ConfigError
from inboxops.models import CATEGORIES
from inboxops.outbound.outbox import enqueue
from inboxops.responders import compose
from inboxops.responders.render import Renderer
from inboxops.service.sla import overdue_complaints
from inboxops.store import Store, digests, drafts, events, meetings, messages, outbox

log = logging.getLogger(__name__)
EPOCH = "1970-01-01T00:00:00+00:00"
TREND_DAYS = 14
BAR_CELLS = 30  # width of the longest bar in the plain-text chart, in characters
MAX_LISTED = 30  # rows per list; the count above a list is always complete


def _local(value: str | None, tz: ZoneInfo) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(tz) if value else None


def _hours(now: datetime, then: str) -> float:
    return (now - datetime.fromisoformat(then)).total_seconds() / 3600


def trend(store: Store, cfg: Config, now: datetime) -> dict[str, Any]:
    """Messages per local day and category over the last TREND_DAYS days (today included),
    with bar sizes: `width` (% of the busiest day) and per-category `percent` and `cells`."""
    tz = ZoneInfo(cfg.meetings.timezone)
    today = now.astimezone(tz).date()
    first = today - timedelta(days=TREND_DAYS - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=tz).astimezone(UTC)
    per_day: dict[date, Counter[str]] = {first + timedelta(days=i): Counter()
                                         for i in range(TREND_DAYS)}
    for row in messages.sorted_since(store, start.isoformat(timespec="seconds"), inclusive=True):
        day = datetime.fromisoformat(row["received_at"]).astimezone(tz).date()
        if day in per_day:
            per_day[day][_category(row)] += 1
    busiest = max((sum(c.values()) for c in per_day.values()), default=0) or 1
    order = [*CATEGORIES, "unsorted"]
    days = []
    for day, counts in per_day.items():
        total = sum(counts.values())
        days.append({
            "date": day, "weekday": day.weekday(), "total": total,
            "width": max(1, round(100 * total / busiest)) if total else 0,
            "segments": [
                {"category": c, "count": counts[c], "percent": round(100 * counts[c] / total),
                 "cells": max(1, round(BAR_CELLS * counts[c] / busiest))}
                for c in order if counts[c]
            ],
        })
    return {"days": days, "busiest": busiest, "total": sum(d["total"] for d in days),
            "categories": [c for c in order if any(d[c] for d in per_day.values())]}


def _category(row: dict[str, Any]) -> str:
    """The digest's category of a message: a calendar answer is sorted "meeting" by its
    calendar part, but asks for no meeting: it counts as "other" (and is counted apart)."""
    if row["calendar_answer"]:
        return "other"
    return str(row["category"] or "unsorted")


def _meetings(store: Store, cfg: Config, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Today's and tomorrow's meetings (local days), with each attendee's answer."""
    tz = ZoneInfo(cfg.meetings.timezone)
    today = now.astimezone(tz).date()
    bounds = [datetime(d.year, d.month, d.day, tzinfo=tz)
              for d in (today, today + timedelta(days=1), today + timedelta(days=2))]
    out: dict[str, list[dict[str, Any]]] = {"today": [], "tomorrow": []}
    for row in meetings.holding_time(store):
        start = datetime.fromisoformat(row["start"]).astimezone(tz)
        if not bounds[0] <= start < bounds[2]:
            continue
        answers = json.loads(row["attendees"])
        by_answer: dict[str, list[str]] = {"ACCEPTED": [], "TENTATIVE": [], "DECLINED": [],
                                           "NEEDS-ACTION": []}
        for who, status in answers.items():
            by_answer.get(status, by_answer["NEEDS-ACTION"]).append(who)
        out["today" if start < bounds[1] else "tomorrow"].append({
            **row, "start": start, "end": datetime.fromisoformat(row["end"]).astimezone(tz),
            "accepted": by_answer["ACCEPTED"], "tentative": by_answer["TENTATIVE"],
            "declined": by_answer["DECLINED"], "waiting": by_answer["NEEDS-ACTION"],
        })
    return out


def _meetings_for_the_assistant(store: Store, cfg: Config, now: datetime) -> list[dict[str, Any]]:
    """Upcoming meetings put back to the assistant (a decline, a counter-proposal), with why."""
    tz = ZoneInfo(cfg.meetings.timezone)
    return [
        {**row, "start": datetime.fromisoformat(row["start"]).astimezone(tz)}
        for row in meetings.for_the_assistant(store, now.isoformat(timespec="seconds"))
    ]


def _failures(store: Store, cfg: Config, since: str) -> dict[str, Any]:
    """Sending failures (still open, or assumed delivered since the last digest) and mailbox
    errors since the last digest, grouped by their text."""
    tz = ZoneInfo(cfg.meetings.timezone)
    sending = [
        {**r, "rcpts": ", ".join(json.loads(r["rcpts"])), "error": r["last_error"] or ""}
        # unknown: open until a human settles it; failed and assumed delivered: news once
        for r in outbox.problems_since(store, since)
    ][:MAX_LISTED]
    mailbox = [
        {"error": r["detail"] or r["event"], "count": r["n"], "last": _local(r["last"], tz)}
        for r in events.grouped_since(store, "mailbox", since)
    ]
    n_quarantined = messages.count_in_state(store, "quarantined", received_after=since)
    # Open until processing works: a full disk, a broken template, a bug in one stage.
    retrying = [{**r, "next": _local(r["next_attempt_at"], tz)}
                for r in messages.retrying(store)]
    return {"sending": sending, "mailbox": mailbox, "quarantined": n_quarantined,
            "retrying": retrying[:MAX_LISTED],
            "count": len(sending) + sum(m["count"] for m in mailbox) + n_quarantined
            + len(retrying)}


def _copies_kept(store: Store, cfg: Config, since: str) -> list[dict[str, Any]]:
    """Approved copies left where they were since the last digest (`copy_kept`: ambiguous,
    already sent, unsafe to send...): the assistant must settle each by hand."""
    tz = ZoneInfo(cfg.meetings.timezone)
    out = []
    for row in events.copies_kept_since(store, since):
        detail = json.loads(row["detail"] or "{}")
        out.append({"draft_id": row["draft_id"], "at": _local(row["at"], tz),
                    "folder": detail.get("folder", ""), "uid": detail.get("uid"),
                    "reason": detail.get("reason", "")})
    return out


def collect(store: Store, cfg: Config, now: datetime) -> dict[str, Any]:
    """Everything the digest templates show, as plain values (dates are local, aware)."""
    tz = ZoneInfo(cfg.meetings.timezone)
    since = digests.last_digest_at(store) or EPOCH
    arrived = messages.sorted_since(store, since)
    counts = Counter(_category(r) for r in arrived)
    pending = [
        {**r, "created_at": _local(r["created_at"], tz), "age_hours": _hours(now, r["created_at"])}
        for r in drafts.waiting(store, cfg.classify.review_below)
    ]
    # the review lane, undrafted
    unsorted = messages.in_review_undrafted(store, cfg.classify.review_below)
    overdue = overdue_complaints(store, cfg, now)
    kept = _copies_kept(store, cfg, since)
    return {
        "day": now.astimezone(tz).date(),
        "now": now.astimezone(tz),
        "since": _local(None if since == EPOCH else since, tz),
        "counts": [{"category": c, "count": counts.get(c, 0)}
                   for c in (*CATEGORIES, "unsorted") if c in CATEGORIES or counts.get(c)],
        "total": sum(counts.values()),
        "calendar_answers": sum(1 for r in arrived if r["calendar_answer"]),
        "trend": trend(store, cfg, now),
        "pending": pending[:MAX_LISTED], "pending_count": len(pending),
        "overdue": overdue[:MAX_LISTED], "overdue_count": len(overdue),
        "sla_hours": cfg.sla.complaint_hours,
        "meetings": _meetings(store, cfg, now),
        "attention": _meetings_for_the_assistant(store, cfg, now),
        "unsorted": unsorted[:MAX_LISTED], "unsorted_count": len(unsorted),
        "failures": _failures(store, cfg, since),
        "copies_kept": kept[:MAX_LISTED], "copies_kept_count": len(kept),
        "kept_where": (cfg.approval.approved_folder if cfg.approval.approve_by == "folder"
                       else "Drafts"),
        "company": cfg.replies.company,
    }


def render(
    store: Store, cfg: Config, now: datetime, language: str | None = None
) -> tuple[str, str, str | None]:
    """The digest's subject, plain text and HTML, from the `digest.<language>.*` templates."""
    return Renderer(cfg.replies.templates).render_set(
        "digest", language or cfg.digest.language, collect(store, cfg, now), html=True
    )


def queue_digest(
    store: Store, cfg: Config, now: datetime | None = None, force: bool = False,
    day: date | None = None,
) -> int | None:
    """Queue the digest for `day` (default: today, local); None if that day's was already
    queued and `force` is off."""
    now = now or datetime.now(UTC)
    day = day or now.astimezone(ZoneInfo(cfg.meetings.timezone)).date()
    # An extra digest (--send-now) never takes the day's slot, nor collides with another.
    key = f"{day.isoformat()} manual {now.isoformat()}" if force else day.isoformat()
    problems = missing_identities(cfg)
    if problems:  # never from or to example.com: say so loudly, and let status say it too
        if force:
            raise ConfigError("no digest sent: " + "; ".join(problems))
        _skip(store, key, problems)
        return None
    with store.tx():  # BEGIN IMMEDIATE: the check and the claim cannot interleave
        if digests.digest_queued(store, key):
            return None
        subject, text, html = render(store, cfg, now)
        message_id = compose.new_message_id(cfg.domain)
        sender = cfg.smtp.from_address
        raw = compose.build_message(
            sender=sender, to=[compose.address(a) for a in cfg.digest.to], subject=subject,
            text=text, html=html, message_id=message_id, auto_submitted="auto-generated",
        )
        pk = enqueue(store, "digest", raw, message_id, sender.addr_spec, list(cfg.digest.to))
        at = now.astimezone(UTC).isoformat(timespec="seconds")  # "since" of the next digest
        digests.add_digest(store, key, at, pk)
        store.event("digest", pk, "queued", json.dumps({"day": key}))
    log.info("digest for %s queued as outbox %s", key, pk)
    return pk


def _skip(store: Store, key: str, problems: list[str]) -> None:
    """Record (and log at ERROR) a day's digest not sent for want of an identity, once a day:
    the chores ask every few seconds, and one line a day is loud enough to be seen."""
    detail = json.dumps({"day": key, "why": problems})
    with store.tx():
        if not store.one("SELECT 1 FROM events WHERE entity = 'digest' AND event = 'skipped' "
                         "AND detail = ?", (detail,)):
            store.event("digest", None, "skipped", detail, level=logging.ERROR)
