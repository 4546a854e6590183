"""`inboxops status`: how the service is doing, read from the store by any process.

The daemon writes what this needs as it goes (health.set_status: start, each poll, each failure,
a sign of life every PASS_RECORD_INTERVAL); this module only reads, so status works while the
daemon runs, after it stopped, and after it crashed (then the sign of life grows old).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from inboxops.config import Config, missing_identities
from inboxops.service.health import get_status, open_outage
from inboxops.store import Store, digests, drafts, events, messages, outbox, service

OUTBOX_STATES = ("queued", "sending", "sent", "failed", "unknown")
INSTANCE_ENV_VAR = "INBOXOPS_INSTANCE"  # set by deploy/inboxops@.service to %i
ALIVE_WITHIN = timedelta(minutes=2)  # the daemon notes a sign of life every 30 s


def report(store: Store, cfg: Config, now: datetime | None = None) -> dict[str, Any]:
    """Everything `inboxops status` shows, as plain values (ISO 8601 UTC times)."""
    now = now or datetime.now(UTC)
    values = get_status(store)
    outage = open_outage(store)
    queued = {s: 0 for s in OUTBOX_STATES} | outbox.count_by_state(store)
    waiting = drafts.count_by_state(store, ("pending", "approved", "failed"))
    return {
        "instance": {"name": instance_name(cfg), "config": str(cfg.source_path or "")},
        "daemon": {
            "state": _daemon_state(values, now),
            "pid": int(pid) if (pid := values.get("pid")) else None,
            "started_at": values.get("started_at"),
            "last_sign_of_life": values.get("last_pass_at"),
            "stopped_at": values.get("stopped_at"),
        },
        "mailbox": {
            "source": values.get("source"),
            "mode": values.get("mode"),  # "IDLE", "polling every 60s", "unreachable", ...
            "last_successful_poll": values.get("last_poll_at"),
            "last_error": values.get("last_error"),
            "last_error_at": values.get("last_error_at"),
            "unreachable_since": outage["started_at"] if outage else None,
            "alert_sent_at": outage["alerted_at"] if outage else None,
        },
        "smtp": _smtp(store),
        "queues": {
            "drafts_pending": waiting.get("pending", 0),
            "drafts_approved_unsent": waiting.get("approved", 0),
            "drafts_refused": waiting.get("failed", 0),
            "messages_unprocessed": messages.count_in_state(store, "received"),
            "messages_retrying": messages.count_in_state(store, "retrying"),
            "next_message_retry": messages.next_retry(store),
            "outbox": queued,
        },
        "next_digest": next_digest(store, cfg, now),
        # keys left at example.com: the daemon sends no digest meanwhile (check says so too)
        "identity_unset": missing_identities(cfg),
        "copies_kept": _copies_kept(store),
    }


def instance_name(cfg: Config) -> str:
    """Which mailbox this is when one machine runs several (inboxops@NAME): the unit's %i, or
    else the config file's name (office.toml -> "office"), so a shell's `inboxops --config
    /etc/inboxops/office.toml status` names the same instance the journal does."""
    named = os.environ.get(INSTANCE_ENV_VAR, "").strip()
    if named:
        return named
    return cfg.source_path.stem if cfg.source_path else "default"


def _copies_kept(store: Store) -> dict[str, Any]:
    """Copies the mail-client sync left in place since the last digest (or ever, before the
    first), and the latest reason: each waits for the assistant to settle it by hand."""
    since = digests.last_digest_at(store) or "1970-01-01T00:00:00+00:00"
    rows = events.copies_kept_since(store, since)
    latest = json.loads(rows[-1]["detail"] or "{}") if rows else {}
    return {"count": len(rows), "since": None if since.startswith("1970") else since,
            "latest_draft": rows[-1]["draft_id"] if rows else None,
            "latest_reason": latest.get("reason")}


def _smtp(store: Store) -> dict[str, Any]:
    """The SMTP server's open outage (unreachable, or refusing our login), if any."""
    outage = service.open_outage(store, "smtp")
    return {"unreachable_since": outage["started_at"] if outage else None,
            "last_error": outage["last_error"] if outage else None,
            "alert_sent_at": outage["alerted_at"] if outage else None}


def _daemon_state(values: dict[str, str | None], now: datetime) -> str:
    started, stopped = values.get("started_at"), values.get("stopped_at")
    if not started:
        return "never started"
    if stopped and stopped >= started:
        return "stopped"
    alive = values.get("last_pass_at") or started
    if now - datetime.fromisoformat(alive) <= ALIVE_WITHIN:
        return "running"
    return "not responding"  # killed, crashed or hung: no sign of life for two minutes


def next_digest(store: Store, cfg: Config, now: datetime) -> str | None:
    """When the next digest goes out: today at [digest] time unless today's is already queued
    (then tomorrow); a time in the past means it is due and goes out at the next pass."""
    if not cfg.digest.enabled:
        return None
    tz = ZoneInfo(cfg.meetings.timezone)
    hour, minute = (int(x) for x in cfg.digest.time.split(":"))
    day = now.astimezone(tz).date()
    if digests.digest_queued(store, day.isoformat()):
        day += timedelta(days=1)
    at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
    return at.astimezone(UTC).isoformat(timespec="seconds")


def format_text(data: dict[str, Any], cfg: Config, now: datetime | None = None) -> str:
    """The report for a person: one line per subject, local times, ages."""
    now = now or datetime.now(UTC)
    tz = ZoneInfo(cfg.meetings.timezone)

    def when(iso: str | None) -> str:
        if not iso:
            return "never"
        at = datetime.fromisoformat(iso)
        seconds = int((now - at).total_seconds())
        ago = (f"{seconds}s ago" if abs(seconds) < 120 else f"{seconds // 60} min ago"
               if abs(seconds) < 7200 else f"{seconds // 3600} h ago")
        if seconds < 0:
            ago = "in " + ago.removesuffix(" ago").lstrip("-")
        return f"{at.astimezone(tz):%Y-%m-%d %H:%M %Z} ({ago})"

    d, m, q = data["daemon"], data["mailbox"], data["queues"]
    daemon = d["state"]
    if d["state"] in ("running", "not responding"):
        daemon += f" (pid {d['pid']}, since {when(d['started_at'])}, last sign of life " \
                  f"{when(d['last_sign_of_life'])})"
    elif d["state"] == "stopped":
        daemon += f" at {when(d['stopped_at'])}"
    instance = data["instance"]
    lines = [
        f"instance:       {instance['name']}"
        + (f" ({instance['config']})" if instance["config"] else ""),
        f"daemon:         {daemon}",
        f"mailbox:        {m['source'] or cfg.mailbox.kind}: {m['mode'] or 'unknown'}",
        f"last poll ok:   {when(m['last_successful_poll'])}",
        f"last error:     {when(m['last_error_at'])}: {m['last_error']}" if m["last_error"]
        else "last error:     none",
    ]
    if m["unreachable_since"]:
        alert = f", alert sent {when(m['alert_sent_at'])}" if m["alert_sent_at"] else ""
        lines.append(f"unreachable:    since {when(m['unreachable_since'])}{alert}")
    if (smtp := data.get("smtp") or {}).get("unreachable_since"):
        alert = f", alert sent {when(smtp['alert_sent_at'])}" if smtp["alert_sent_at"] else ""
        lines.append(f"smtp down:      since {when(smtp['unreachable_since'])}{alert}: "
                     f"{smtp['last_error']} (replies stay queued)")
    outbox = ", ".join(f"{n} {state}" for state, n in q["outbox"].items())
    lines += [
        f"drafts:         {q['drafts_pending']} waiting for approval, "
        f"{q['drafts_approved_unsent']} approved not yet sent, {q['drafts_refused']} refused "
        "by the server",
        f"messages:       {q['messages_unprocessed']} received, not yet processed"
        + (f"; {q['messages_retrying']} retrying after a failure that can pass, next "
           f"{when(q['next_message_retry'])} (inboxops show N: why)"
           if q.get("messages_retrying") else ""),
        f"outbox:         {outbox}",
        f"next digest:    {_digest_line(data['next_digest'], now, when)}",
    ]
    if data["identity_unset"] and data["next_digest"]:
        lines[-1] = "next digest:    NOT SENT until fixed: " + "; ".join(data["identity_unset"])
    elif data["identity_unset"]:
        lines.append("identity:       " + "; ".join(data["identity_unset"]))
    k = data["copies_kept"]
    if k["count"]:
        where = cfg.approval.approved_folder if cfg.approval.approve_by == "folder" else "Drafts"
        draft = f"draft #{k['latest_draft']}" if k["latest_draft"] else "no draft"
        since = f"since {when(k['since'])}" if k["since"] else "so far"
        lines.append(f"copies kept:    {k['count']} left in {where} {since}, for you to settle "
                     f"(latest: {draft}: {k['latest_reason']}); the digest lists each")
    return "\n".join(lines)


def _digest_line(iso: str | None, now: datetime, when: Callable[[str], str]) -> str:
    if not iso:
        return "disabled"
    if datetime.fromisoformat(iso) <= now:
        return f"{when(iso).split(' (')[0]} (due: the running daemon sends it at its next pass)"
    return when(iso)
