"""Where intake begins the first time a folder is seen: `[mailbox] first_start`.

"all" takes the mail already there (nothing is lost), "none" only mail arriving from then on,
"recent" the last `first_start_days` days. The choice is recorded per folder (`intake_start`),
so it is made once; older mail can be taken later with `inboxops backfill`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from imapclient import IMAPClient

from inboxops.config import MailboxConfig
from inboxops.store import Store, intake

log = logging.getLogger(__name__)


def cutoff(cfg: MailboxConfig, mode: str, now: datetime) -> datetime | None:
    """Mail older than this is not taken on the first start; None takes all of it."""
    if mode == "none":
        return now
    if mode == "recent":
        return now - timedelta(days=cfg.first_start_days)
    return None


def _describe(mode: str, cfg: MailboxConfig) -> str:
    return {"all": "taking all mail already there", "none": "ignoring mail already there",
            "recent": f"taking the last {cfg.first_start_days} days"}[mode]


def imap_start(
    client: IMAPClient, store: Store, source: str, cfg: MailboxConfig, uidvalidity: int
) -> int:
    """The last UID *not* to take, for a folder seen for the first time (selected): 0 takes
    everything; else just before the first message SINCE the cut-off (by INTERNALDATE), or
    the highest UID (none). Recorded with the folder's state."""
    mode = cfg.first_start
    since = cutoff(cfg, mode, datetime.now(UTC))
    last = 0
    if since is not None:
        recent = client.search(["SINCE", since.date()]) if mode == "recent" else []
        # "UID *" is the highest UID alone: SEARCH ALL listed every message (21 MB at 100,000)
        last = min(recent) - 1 if recent else max(client.search(["UID", "*"]), default=0)
    intake.set_start(store, source, cfg.folder, mode,
                     since.isoformat(timespec="seconds") if since else None)
    intake.set_mailbox_state(store, source, cfg.folder, uidvalidity, last)
    log.info("first start on %s %s: %s (from UID %d)", source, cfg.folder, _describe(mode, cfg),
             last + 1)
    return last


def maildir_not_before(
    store: Store, source: str, folder: str, cfg: MailboxConfig, has_mail: bool
) -> float:
    """Files older than this (epoch seconds) were there before the first start and are left
    alone; 0 takes every file. A store that already holds mail is an upgrade, not a first
    start: it keeps taking everything, as before."""
    row = intake.start(store, source, folder)
    if row is None:
        mode = "all" if has_mail else cfg.first_start
        since = cutoff(cfg, mode, datetime.now(UTC))
        intake.set_start(store, source, folder, mode,
                         since.isoformat(timespec="seconds") if since else None)
        log.info("first start on %s: %s", source, _describe(mode, cfg))
        row = intake.start(store, source, folder)
        assert row is not None
    return datetime.fromisoformat(row["not_before"]).timestamp() if row["not_before"] else 0.0
