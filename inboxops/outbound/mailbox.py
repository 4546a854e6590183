"""Writing to the mailbox: filing by category, the Sent copy, \\Answered, and noticing mail the
assistant moved between category folders (a correction) and drafts they decided on.

Intake only reads the mailbox (`inboxops.intake`); everything that changes it is here, behind one
protocol, so the daemon and the outbox never ask which kind of mailbox they have. Every method
blocks (IMAP round trips, file renames): callers run it in the worker pool, never on the loop.
Mail is never deleted and never marked \\Seen (IMAP-8).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from imapclient.imapclient import ANSWERED, DRAFTS, SEEN

from inboxops.config import Config, MailboxConfig
from inboxops.errors import MailboxError
from inboxops.intake.imap import ImapSource
from inboxops.intake.maildir import MaildirSource
from inboxops.intake.sources import NETWORK_ERRORS, Source
from inboxops.outbound import mailclient
from inboxops.outbound.folders import Layout, create, probe, read_layout, statuses
from inboxops.store import Store

log = logging.getLogger(__name__)

SORT_BATCH = 1000  # UIDs per STORE/MOVE: a short command line even for scattered UIDs

KEYWORDS = {"inquiry": "$Inquiry", "complaint": "$Complaint", "meeting": "$Meeting",
            "other": "$Other", "review": "$Review"}  # review: unsure, for a human to sort


class Mailbox(Protocol):
    """What the daemon and the outbox may do to the mailbox."""

    syncs_drafts: bool  # drafts can be published to, and decided in, the mail client

    def apply_categories(
        self, rows: list[dict[str, Any]], on_done: Callable[[list[int]], None] | None = None,
        stop: threading.Event | None = None,
    ) -> list[int]:
        """File each message by its category; return the ids now done (refused ones too),
        telling `on_done` after each batch; `stop` ends the work between batches."""
        ...

    def moved_by_user(self, store: Store) -> list[tuple[str, str]]:
        """(Message-ID, category) of mail the assistant moved into a category folder."""
        ...

    def save_sent(self, raw: bytes, message_id: str) -> bool:
        """File the exact sent bytes in Sent unless already there; False if not filed."""
        ...

    def find_sent(self, message_id: str) -> bool:
        """Is a message with this Message-ID in Sent? (SMTP-3: asked before any resend)."""
        ...

    def mark_answered(self, rows: list[dict[str, Any]]) -> None:
        """Set \\Answered on the originals of sent replies."""
        ...

    def sync_drafts(self, store: Store, cfg: Config) -> None:
        """Drafts out to the assistant's Drafts folder, their decisions back."""
        ...

    def check_folders(self, cfg: Config) -> str:
        """`inboxops check`: the folder names it will use, after creating them and trying an
        append and a move there; MailboxError naming the folder and the server's answer."""
        ...

    def folder_marks(self, cfg: Config) -> tuple[Any, ...]:
        """Something that changes whenever the Drafts or approved folder changes."""
        ...

    def close(self) -> None:
        """Log out of a connection kept between actions, if any."""
        ...


def open_mailbox(source: Source) -> Mailbox:
    """The mailbox actions for this source."""
    if isinstance(source, ImapSource):
        return ImapMailbox(source)
    assert isinstance(source, MaildirSource)
    return MaildirMailbox(source)


class MaildirMailbox:
    """A local Maildir: sorting renames files into Maildir++ folders; no Sent, no drafts (the
    outbox directory is the record of what was sent, the CLI the place to approve)."""

    syncs_drafts = False

    def __init__(self, source: MaildirSource) -> None:
        self.source = source
        self.cfg: MailboxConfig = source.cfg

    def apply_categories(
        self, rows: list[dict[str, Any]], on_done: Callable[[list[int]], None] | None = None,
        stop: threading.Event | None = None,
    ) -> list[int]:
        """Move each message to <prefix>.<Category> (Maildir++); nothing unless sort = folder."""
        if self.cfg.sort != "folder":
            ids = [row["id"] for row in rows]
            if on_done is not None and ids:
                on_done(ids)
            return ids
        files = dict(self.source.files())
        done = []
        for row in rows:
            path = files.get(row["source_key"])
            if path is None:
                done.append(row["id"])  # already moved or gone: nothing left to do
                continue
            target = self.source.path / f".{self.cfg.folder_prefix}.{row['category'].title()}"
            for sub in ("new", "cur", "tmp"):
                (target / sub).mkdir(parents=True, exist_ok=True)
            os.rename(path, target / path.parent.name / path.name)
            done.append(row["id"])
        if on_done is not None and done:
            on_done(done)
        return done

    def save_sent(self, raw: bytes, message_id: str) -> bool:
        return False  # the outbox directory is the record of what was sent

    def find_sent(self, message_id: str) -> bool:
        return False

    def mark_answered(self, rows: list[dict[str, Any]]) -> None:
        return None

    def moved_by_user(self, store: Store) -> list[tuple[str, str]]:
        return []

    def sync_drafts(self, store: Store, cfg: Config) -> None:
        return None

    def check_folders(self, cfg: Config) -> str:
        if self.cfg.sort != "folder":
            return f"none (sort = {self.cfg.sort})"
        return f"Maildir++ folders .{self.cfg.folder_prefix}.<Category> in {self.source.path}"

    def folder_marks(self, cfg: Config) -> tuple[Any, ...]:
        return ()

    def close(self) -> None:
        return None


class ImapMailbox:
    """An IMAP mailbox: each action opens a short-lived session of its own, so it can run in
    any worker thread while the intake thread keeps its IDLE connection."""

    syncs_drafts = True

    def __init__(self, source: ImapSource) -> None:
        self.source = source
        self.cfg: MailboxConfig = source.cfg
        self._layout: Layout | None = None
        self._kept: IMAPClient | None = None  # sorting and the folder marks: one login, kept
        self._kept_lock = threading.Lock()
        self._drafts_folder: str | None = None
        self._copies = mailclient.CopiesSeen()  # the Drafts folder's copies, read once

    def layout(self, client: IMAPClient) -> Layout:
        """The server's namespace prefix and separator, asked once (they do not change)."""
        if self._layout is None:
            self._layout = read_layout(client)
        return self._layout

    def category_folder(self, client: IMAPClient, category: str) -> str:
        """<folder_prefix>/<Category> in the server's layout (e.g. INBOX.InboxOps.Inquiry)."""
        return self.layout(client).name(f"{self.cfg.folder_prefix}/{category.title()}")

    @contextmanager
    def _connection(self) -> Iterator[IMAPClient]:
        """The kept connection (a login per pass is what makes Gmail and Microsoft 365
        throttle an account); a second caller at the same time gets a session of its own. A
        network error drops the kept connection: the next call logs in again."""
        if not self._kept_lock.acquire(blocking=False):
            with self.source.session() as client:
                yield client
            return
        try:
            if self._kept is None:
                self._kept = self.source.connect()
            try:
                yield self._kept
            except NETWORK_ERRORS:
                self._drop()
                raise
        finally:
            self._kept_lock.release()

    def _drop(self) -> None:
        client, self._kept = self._kept, None
        if client is not None:
            with contextlib.suppress(*NETWORK_ERRORS):
                client.shutdown()

    def close(self) -> None:
        with self._kept_lock:
            client, self._kept = self._kept, None
        if client is not None:
            try:
                client.logout()
            except NETWORK_ERRORS:
                with contextlib.suppress(*NETWORK_ERRORS):
                    client.shutdown()

    def folder_marks(self, cfg: Config) -> tuple[Any, ...]:
        """STATUS of the Drafts and approved folders (MESSAGES, UIDNEXT, UIDVALIDITY and, with
        CONDSTORE, HIGHESTMODSEQ, which also moves on a flag) on the kept connection: one
        command where the server has LIST-STATUS (`folders.statuses`), else one a folder."""
        with self._connection() as client:
            layout = self.layout(client)
            if self._drafts_folder is None:
                self._drafts_folder = (layout.name(cfg.approval.drafts_folder)
                                       if cfg.approval.drafts_folder
                                       else client.find_special_folder(DRAFTS) or "")
            items = ["MESSAGES", "UIDNEXT", "UIDVALIDITY"]
            if b"CONDSTORE" in client.capabilities():
                items.append("HIGHESTMODSEQ")
            folders = [self._drafts_folder] if self._drafts_folder else []
            if cfg.approval.approve_by == "folder":
                folders.append(layout.name(cfg.approval.approved_folder))
            found = statuses(client, folders, items)
            return tuple((folder, tuple(sorted(found[folder].items()))) for folder in folders)

    def _folder(self, client: IMAPClient, category: str) -> str:
        name = self.category_folder(client, category)
        if not client.folder_exists(name):
            client.create_folder(name)
        return name

    def _sent(self, client: IMAPClient) -> str | None:
        """Sent: the configured name in the server's layout, else its \\Sent (RFC 6154)."""
        if self.cfg.sent_folder:
            return self.layout(client).name(self.cfg.sent_folder)
        return self.source.sent_folder(client)

    def apply_categories(
        self, rows: list[dict[str, Any]], on_done: Callable[[list[int]], None] | None = None,
        stop: threading.Event | None = None,
    ) -> list[int]:
        """Set the category keyword or move to the category folder; never \\Seen, never delete.

        One UID STORE (or UID MOVE) per category and batch of UIDs, not one per message: a
        backlog of 10,000 is a few dozen commands. `on_done(ids)` follows each command, so the
        caller records progress per batch (a stop in the middle redoes nothing done), and
        `stop` ends the work between two commands."""
        if self.cfg.sort == "off":
            return [row["id"] for row in rows]
        done: list[int] = []

        def finished(ids: list[int]) -> None:
            done.extend(ids)
            if on_done is not None and ids:
                on_done(ids)

        with self._connection() as client:
            info, validity = self.source.select(client, readonly=False)
            keywords_ok = b"\\*" in info.get(b"PERMANENTFLAGS", ())
            caps = client.capabilities()
            # IMAP-8: MOVE, else COPY + \Deleted + UID EXPUNGE of those UIDs (UIDPLUS); never a
            # bare EXPUNGE, which would also remove other clients' \Deleted mail.
            can_move = b"MOVE" in caps or b"UIDPLUS" in caps
            want_folder = self.cfg.sort == "folder" or not keywords_ok
            if want_folder and not can_move and not keywords_ok:
                log.info("%d message(s): the server keeps neither keywords nor moves; category "
                         "in the database only", len(rows))
                finished([row["id"] for row in rows])
                return done
            # The folder was rebuilt: those UIDs mean nothing now; nothing to do for them.
            finished([row["id"] for row in rows if row["uidvalidity"] != validity])
            by_category: dict[str, list[dict[str, Any]]] = {}
            for row in rows:
                if row["uidvalidity"] == validity:
                    by_category.setdefault(row["category"], []).append(row)
            for category, group in by_category.items():
                for start in range(0, len(group), SORT_BATCH):
                    if stop is not None and stop.is_set():
                        return done
                    batch = group[start:start + SORT_BATCH]
                    ids = [row["id"] for row in batch]
                    try:
                        self._sort_batch(client, category, uid_set([r["uid"] for r in batch]),
                                         want_folder and can_move, b"MOVE" in caps)
                    except (IMAPClientError, MailboxError) as e:  # refused (or a name the
                        # server's layout cannot hold): not retried each pass; check says why
                        log.warning("sorting %d message(s) as %s refused by the server: %s",
                                    len(ids), category, e)
                    except (OSError, ssl.SSLError, EOFError) as e:
                        log.warning("sorting stopped at message %s: %s", ids[0], e)
                        return done
                    finished(ids)
        return done

    def _sort_batch(
        self, client: IMAPClient, category: str, uids: str, to_folder: bool, has_move: bool,
    ) -> None:
        if to_folder:
            target = self._folder(client, category)
            if has_move:
                client.move(uids, target)
            else:
                client.copy(uids, target)
                client.add_flags(uids, [b"\\Deleted"], silent=True)
                client.uid_expunge(uids)
        else:
            client.add_flags(uids, [KEYWORDS[category]], silent=True)

    def moved_by_user(self, store: Store) -> list[tuple[str, str]]:
        """(Message-ID, category) for mail that arrived in a category folder since last time.

        Mail we filed there ourselves already has that category; anything else was moved by
        the assistant in their mail client, and is a correction (issue 3: learn from folders).
        """
        if self.cfg.sort != "folder":
            return []
        found: list[tuple[str, str]] = []
        marker = f"{self.cfg.folder_prefix}/*"  # set once the folders were first looked at
        first_look = store.mailbox_state(self.source.name, marker) == (None, 0)
        with self.source.session() as client:
            for category in KEYWORDS:
                if category == "review":
                    continue  # a lane, not a category: moving mail there teaches nothing
                folder = self.category_folder(client, category)
                if not client.folder_exists(folder):
                    continue
                info = client.select_folder(folder, readonly=True)
                validity = int(info[b"UIDVALIDITY"])
                known, last = store.mailbox_state(self.source.name, folder)
                if first_look:  # what is there before we ever looked is history, not news
                    uids = client.search(["ALL"])
                    store.set_mailbox_state(self.source.name, folder, validity,
                                            max(uids, default=0))
                    continue
                if known != validity:
                    last = 0
                uids = [u for u in client.search(["UID", f"{last + 1}:*"]) if u > last]
                for start in range(0, len(uids), 500):
                    chunk = uids[start:start + 500]
                    key = b"BODY[HEADER.FIELDS (MESSAGE-ID)]"
                    for data in client.fetch(chunk, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]
                                             ).values():
                        header = data.get(key, b"").decode("ascii", "replace")
                        m = re.search(r"<[^<>\s]+>", header)
                        if m:
                            found.append((m.group(0), category))
                if uids:
                    store.set_mailbox_state(self.source.name, folder, validity, max(uids))
        if first_look:
            store.set_mailbox_state(self.source.name, marker, 1, 1)
        return found

    def find_sent(self, message_id: str) -> bool:
        """Is a message with this Message-ID in Sent? (SMTP-3: checked before any resend)."""
        with self.source.session() as client:
            folder = self._sent(client)
            if not folder:
                return False
            client.select_folder(folder, readonly=True)
            return bool(client.search(["HEADER", "Message-ID", message_id]))

    def save_sent(self, raw: bytes, message_id: str) -> bool:
        """Append the exact sent bytes to Sent, unless already there (SMTP-4)."""
        if self.cfg.save_sent == "never":
            return False
        with self.source.session() as client:
            folder = self._sent(client)
            if not folder:
                log.warning("no Sent folder found; set [mailbox] sent_folder")
                return False
            if self.cfg.save_sent == "auto" and b"X-GM-EXT-1" in client.capabilities():
                return False  # Gmail files its own copy
            client.select_folder(folder, readonly=True)
            if not client.search(["HEADER", "Message-ID", message_id]):
                client.append(folder, raw, flags=[SEEN])
        return True

    def mark_answered(self, rows: list[dict[str, Any]]) -> None:
        """Set \\Answered on the originals: by UID in the watched folder, or found by
        Message-ID in the category folder we filed them into."""
        with self.source.session() as client:
            _, validity = self.source.select(client, readonly=False)
            filed = [r for r in rows if r.get("filed_category") and self.cfg.sort == "folder"]
            uids = [r["uid"] for r in rows if r["uidvalidity"] == validity and r not in filed]
            if uids:
                client.add_flags(uids, [ANSWERED], silent=True)
            for row in filed:
                folder = self.category_folder(client, row["filed_category"])
                if not row["message_id"] or not client.folder_exists(folder):
                    continue
                client.select_folder(folder)
                found = client.search(["HEADER", "Message-ID", row["message_id"]])
                if found:
                    client.add_flags(found, [ANSWERED], silent=True)

    def sync_drafts(self, store: Store, cfg: Config) -> None:
        """The mail-client round on the kept connection (no login of its own), remembering
        the copies it read (`mailclient.CopiesSeen`) for the next round."""
        mailclient.sync(store, cfg, self._connection, self.layout, self._copies)

    def check_folders(self, cfg: Config) -> str:
        with self.source.session() as client:
            layout = self.layout(client)
            info, _ = self.source.select(client, readonly=True)
            keywords_ok = b"\\*" in info.get(b"PERMANENTFLAGS", ())
            by_folder = self.cfg.sort == "folder" or (
                self.cfg.sort == "keyword" and not keywords_ok)  # apply_categories' fallback
            categories = [self.category_folder(client, c) for c in KEYWORDS] if by_folder else []
            drafts = approved = None
            if cfg.approval.mail_client:
                drafts = (layout.name(cfg.approval.drafts_folder) if cfg.approval.drafts_folder
                          else client.find_special_folder(DRAFTS))
                if not drafts:
                    raise MailboxError("no Drafts folder: the server marks none \\Drafts "
                                       "(RFC 6154). Fix: set [approval] drafts_folder")
                if cfg.approval.approve_by == "folder":
                    approved = layout.name(cfg.approval.approved_folder)
            for name in [*categories, *([approved] if approved else [])]:
                create(client, name)
            # Not through the approved folder: a running daemon would take the test for an
            # approval it cannot match, and report it.
            probed = probe(client, [f for f in (drafts, *categories) if f])
            sent = self._sent(client) if self.cfg.save_sent != "never" else None
        uses = [layout.describe()]
        if categories:
            uses.append(f"categories {', '.join(categories)}")
        else:
            uses.append("categories as keywords" if self.cfg.sort == "keyword" else "no sorting")
        if drafts:
            uses.append(f"drafts {drafts}")
        if approved:
            uses.append(f"approved {approved}")
        if self.cfg.save_sent != "never":
            uses.append(f"sent {sent or 'not found (set [mailbox] sent_folder)'}")
        return "; ".join([*uses, probed])


def uid_set(uids: list[int]) -> str:
    """A UID set (RFC 3501 9, sequence-set) with runs of consecutive UIDs as ranges: a
    backlog's 1,000 UIDs are usually a handful of ranges, not a 6 KB command line."""
    ordered = sorted(set(uids))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}:{ordered[j]}")
        i = j + 1
    return ",".join(parts)
