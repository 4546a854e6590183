"""How the service is doing, kept in the store: for `inboxops status` and for the admin's alerts.

The daemon records each successful poll and each failure to reach the mailbox. A failure opens
an outage (one row in `outages`); the first success closes it. One alert mail goes to the admin
once an outage has lasted `[alerts] mailbox_down_minutes`, and one note when it ends; both are
claimed with conditional UPDATEs in the transaction that queues the mail, so a restart, or two
processes, never send either twice. `[alerts] repeat_hours` rate-limits a flapping mailbox.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from inboxops.config import Config
from inboxops.outbound.outbox import enqueue
from inboxops.responders import compose
from inboxops.store import Store, now_iso, service

log = logging.getLogger(__name__)
MAILBOX = "mailbox"


# -- status values --------------------------------------------------------------------------


def set_status(store: Store, **values: str | int | float | None) -> None:
    """Record status values (key -> text) for `inboxops status`."""
    service.set_status(store, values)


def get_status(store: Store) -> dict[str, str | None]:
    """Every recorded status value (key -> text)."""
    return service.get_status(store)


# -- mailbox outages ------------------------------------------------------------------------


def mailbox_ok(store: Store, source: str, mode: str) -> None:
    """A poll succeeded: note it, and end the open outage if there is one."""
    at = now_iso()
    with store.tx():
        set_status(store, source=source, mode=mode, last_poll_at=at)
        if service.end_outage(store, MAILBOX, at):
            store.event("service", None, "mailbox reachable again", {"source": source})
            log.warning("the mailbox %s is reachable again", source)


def mailbox_failed(store: Store, source: str, error: str) -> None:
    """Reaching or logging in to the mailbox failed: open an outage, or extend the open one."""
    at = now_iso()
    with store.tx():
        set_status(store, source=source, mode="unreachable", last_error=error,
                   last_error_at=at)
        if service.outage_failed(store, MAILBOX, at, error):
            store.event("service", None, "mailbox unreachable", {"source": source})


def open_outage(store: Store) -> dict[str, Any] | None:
    """The mailbox outage going on now, if any."""
    return service.open_outage(store, MAILBOX)


def check_alerts(store: Store, cfg: Config, source: str, now: datetime | None = None) -> list[int]:
    """Queue the outage alert and the recovery note that are due; return their outbox ids."""
    if not cfg.alerts.to:
        return []
    now = now or datetime.now(UTC)
    queued: list[int] = []
    due_before = (now - timedelta(minutes=cfg.alerts.mailbox_down_minutes)).isoformat(
        timespec="seconds")
    for outage in service.alerts_due(store, MAILBOX, due_before):
        queued += _alert(store, cfg, source, outage, now)
    for outage in service.recoveries_due(store, MAILBOX):
        text = (f"The mailbox {source} is reachable again since {_local(cfg, outage['ended_at'])}"
                f".\nIt was unreachable from {_local(cfg, outage['started_at'])}; the last error "
                f"was:\n\n    {outage['last_error']}\n\nMail that arrived meanwhile is being "
                "fetched now; nothing is lost.\n")
        try:
            with store.tx():
                pk = _queue(store, cfg, f"inboxops: the mailbox is reachable again ({source})",
                            text)
                if not service.claim_recovery(store, outage["id"], pk):
                    raise _Taken  # another process sent it: roll back ours
        except _Taken:
            continue
        log.warning("mailbox reachable again: recovery note %s queued", pk)
        queued.append(pk)
    return queued


class _Taken(Exception):
    """Another process claimed this alert first (the transaction is rolled back)."""


def _alert(
    store: Store, cfg: Config, source: str, outage: dict[str, Any], now: datetime
) -> list[int]:
    window = (now - timedelta(hours=cfg.alerts.repeat_hours)).isoformat(timespec="seconds")
    recent = service.alerted_since(store, MAILBOX, window, other_than=outage["id"])
    if recent:  # rate limit: a flapping mailbox gets one alert per repeat_hours, not dozens
        service.suppress_alert(store, outage["id"])
        log.warning("mailbox outage since %s: no alert, one was sent at %s (repeat_hours)",
                    outage["started_at"], recent["alerted_at"])
        return []
    text = (f"inboxops cannot reach the mailbox {source} since "
            f"{_local(cfg, outage['started_at'])} ({outage['failures']} failed attempts).\n"
            f"The last error was:\n\n    {outage['last_error']}\n\nNo new mail is being sorted "
            "or answered meanwhile. It keeps retrying and will send one more note when the "
            "mailbox is back.\nTo see what is wrong: inboxops check; inboxops status.\n")
    try:
        with store.tx():
            pk = _queue(store, cfg, f"inboxops: the mailbox is unreachable ({source})", text)
            if not service.claim_alert(store, outage["id"], now.isoformat(timespec="seconds"),
                                       pk):
                raise _Taken
    except _Taken:
        return []
    log.error("mailbox unreachable since %s: alert %s queued for %s", outage["started_at"], pk,
              ", ".join(cfg.alerts.to))
    return [pk]


def _queue(store: Store, cfg: Config, subject: str, text: str) -> int:
    sender = cfg.smtp.from_address
    message_id = compose.new_message_id(cfg.domain)
    raw = compose.build_message(
        sender=sender, to=[compose.address(a) for a in cfg.alerts.to], subject=subject,
        text=text, message_id=message_id, auto_submitted="auto-generated",  # LOOP-1
    )
    return enqueue(store, "alert", raw, message_id, sender.addr_spec, list(cfg.alerts.to))


def _local(cfg: Config, iso: str) -> str:
    tz = ZoneInfo(cfg.meetings.timezone)
    return datetime.fromisoformat(iso).astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
