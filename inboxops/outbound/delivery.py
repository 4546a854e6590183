"""One place that assembles the outbox from config: its transport and the mailbox it files in.

The daemon, the CLI (`approve`, `digest --send-now`, ...) and the web page all send through the
same Outbox state machine; only this module knows how its parts are chosen.
"""

from __future__ import annotations

import asyncio

from inboxops.config import Config
from inboxops.intake.sources import open_source
from inboxops.outbound.mailbox import Mailbox, open_mailbox
from inboxops.outbound.outbox import Outbox, open_transport
from inboxops.store import Store


def open_outbox(store: Store, cfg: Config, mailbox: Mailbox | None = None) -> Outbox:
    """The outbox for `cfg`: SMTP or the outbox directory, filing copies in the mailbox."""
    mailbox = mailbox or open_mailbox(open_source(cfg.mailbox))
    imap = mailbox if cfg.mailbox.kind == "imap" else None  # where to look for a sent copy
    return Outbox(store, open_transport(cfg.smtp, imap), mailbox)


def deliver_now(store: Store, cfg: Config) -> int:
    """Send what is due, outside any running event loop (CLI, a web worker thread)."""
    return asyncio.run(open_outbox(store, cfg).deliver())
