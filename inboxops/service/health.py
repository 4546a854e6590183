"""How the service is doing, kept in the store: for `inboxops status` and for the admin's alerts.

The daemon records each successful poll and each failure to reach the mailbox. A failure opens
an outage (one row in `outages`); the first success closes it. One alert mail goes to the admin
once an outage has lasted `[alerts] mailbox_down_minutes`, and one note when it ends; both are
claimed with conditional UPDATEs in the transaction that queues the mail, so a restart, or two
processes, never send either twice. `[alerts] repeat_hours` rate-limits a flapping mailbox.
The outbox opens and ends an outage of kind 'smtp' the same way when the SMTP server cannot be
reached or refuses our login (535): the same alert path tells the admin while replies wait.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from inboxops.config import Config
from inboxops.outbound.outbox import SMTP_OUTAGE, enqueue
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
    """Queue the outage alerts and the recovery notes that are due (the mailbox, and the SMTP
    server the outbox could not reach or log in to); return their outbox ids."""
    if not cfg.alerts.to:
        return []
    now = now or datetime.now(UTC)
    queued: list[int] = []
    due_before = (now - timedelta(minutes=cfg.alerts.mailbox_down_minutes)).isoformat(
        timespec="seconds")
    smtp = f"the SMTP server {cfg.smtp.host}:{cfg.smtp.port}"
    for kind, what in ((MAILBOX, f"the mailbox {source}"), (SMTP_OUTAGE, smtp)):
        for outage in service.alerts_due(store, kind, due_before):
            queued += _alert(store, cfg, kind, what, outage, now)
        queued += _recoveries(store, cfg, kind, what)
    return queued


def _recoveries(store: Store, cfg: Config, kind: str, what: str) -> list[int]:
    queued: list[int] = []
    after = ("Mail that arrived meanwhile is being fetched now; nothing is lost." if kind == MAILBOX
             else "Replies queued meanwhile are being sent now; nothing is lost.")
    for outage in service.recoveries_due(store, kind):
        text = (f"{what[0].upper()}{what[1:]} is reachable again since "
                f"{_local(cfg, outage['ended_at'])}.\nIt was unreachable from "
                f"{_local(cfg, outage['started_at'])}; the last error was:\n\n    "
                f"{outage['last_error']}\n\n{after}\n")
        try:
            with store.tx():
                pk = _queue(store, cfg, f"inboxops: {what} is reachable again", text)
                if not service.claim_recovery(store, outage["id"], pk):
                    raise _Taken  # another process sent it: roll back ours
        except _Taken:
            continue
        log.warning("%s reachable again: recovery note %s queued", what, pk)
        queued.append(pk)
    return queued


class _Taken(Exception):
    """Another process claimed this alert first (the transaction is rolled back)."""


def _alert(
    store: Store, cfg: Config, kind: str, what: str, outage: dict[str, Any], now: datetime
) -> list[int]:
    window = (now - timedelta(hours=cfg.alerts.repeat_hours)).isoformat(timespec="seconds")
    recent = service.alerted_since(store, kind, window, other_than=outage["id"])
    if recent:  # rate limit: a flapping server gets one alert per repeat_hours, not dozens
        service.suppress_alert(store, outage["id"])
        log.warning("%s outage since %s: no alert, one was sent at %s (repeat_hours)",
                    kind, outage["started_at"], recent["alerted_at"])
        return []
    meanwhile = ("No new mail is being sorted or answered meanwhile." if kind == MAILBOX else
                 "Approved replies stay queued meanwhile (none is dropped); a changed password "
                 "goes in [smtp] password_env or password_file.")
    text = (f"inboxops cannot reach or log in to {what} since "
            f"{_local(cfg, outage['started_at'])} ({outage['failures']} failed attempts).\n"
            f"The last error was:\n\n    {outage['last_error']}\n\n{meanwhile} It keeps "
            "retrying and will send one more note when it is back.\nTo see what is wrong: "
            "inboxops check; inboxops status.\n")
    try:
        with store.tx():
            pk = _queue(store, cfg, f"inboxops: {what} is unreachable", text)
            if not service.claim_alert(store, outage["id"], now.isoformat(timespec="seconds"),
                                       pk):
                raise _Taken
    except _Taken:
        return []
    log.error("%s unreachable since %s: alert %s queued for %s", what, outage["started_at"], pk,
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
