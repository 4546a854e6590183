"""Mailbox sources: IMAP (imapclient) and Maildir (the embedded default).

A source records each new message in the store before anything acts on it, and remembers
(folder, UIDVALIDITY, last UID) so each message is taken exactly once, without relying on \\Seen
and without setting it (BODY.PEEK, IMAP-6). Mailbox-side actions (sorting, the Sent copy,
\\Answered) go through the same source so the daemon never needs to know which kind it has.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from imapclient.imapclient import ANSWERED, SEEN, SENT, SocketTimeout

from inboxops.config import MailboxConfig
from inboxops.errors import MailboxError
from inboxops.intake.first_start import imap_start, maildir_not_before
from inboxops.store import Store

log = logging.getLogger(__name__)

KEYWORDS = {"inquiry": "$Inquiry", "complaint": "$Complaint", "meeting": "$Meeting",
            "other": "$Other", "review": "$Review"}  # review: unsure, for a human to sort
MAX_BATCH_BYTES = 32 * 1024 * 1024
NETWORK_ERRORS = (IMAPClientError, OSError, ssl.SSLError, EOFError)


class Source(Protocol):
    """What the daemon needs from a mailbox."""

    name: str
    folder: str

    def poll(self, store: Store) -> int: ...
    def apply_categories(self, rows: list[dict[str, Any]]) -> list[int]: ...
    def save_sent(self, raw: bytes, message_id: str) -> bool: ...
    def find_sent(self, message_id: str) -> bool: ...
    def mark_answered(self, rows: list[dict[str, Any]]) -> None: ...
    def check(self) -> str: ...


def open_source(cfg: MailboxConfig) -> Source:
    """The source config names."""
    return MaildirSource(cfg) if cfg.kind == "maildir" else ImapSource(cfg)


def note_mailbox_error(store: Store, error: Exception) -> None:
    """Keep a mailbox error in the event log for the digest; never fails the caller."""
    try:
        store.event("mailbox", None, "error", str(error) or type(error).__name__)
    except Exception as e:  # noqa: BLE001 - e.g. database locked: the log line is enough
        log.debug("could not record the mailbox error: %s", e)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # moved away by the user's mail client meanwhile
        return None


def _wait(stop: threading.Event, seconds: float, beat: Callable[[], None]) -> None:
    """Wait `seconds` (or until `stop`), beating every second: waiting on purpose is progress."""
    deadline = time.monotonic() + seconds
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        beat()
        stop.wait(min(1.0, left))


# -- Maildir ------------------------------------------------------------------------------------


class MaildirSource:
    """A local Maildir: new files in new/ and cur/ are messages; sorting moves files.

    Files are only ever renamed, never rewritten, so the client's bytes stay exactly as delivered.
    """

    folder = "INBOX"

    def __init__(self, cfg: MailboxConfig) -> None:
        self.cfg = cfg
        self.path = Path(cfg.path)
        self.name = f"maildir:{self.path.resolve()}"
        for sub in ("new", "cur", "tmp"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)

    def _files(self) -> Iterator[tuple[str, Path]]:
        for sub in ("new", "cur"):
            with os.scandir(self.path / sub) as entries:
                for entry in entries:
                    if entry.is_file() and not entry.name.startswith("."):
                        yield entry.name.split(":", 1)[0], Path(entry.path)

    def poll(self, store: Store) -> int:
        """Record every file not seen before, oldest first; return how many were new."""
        known = store.known_keys(self.name, self.folder)
        not_before = maildir_not_before(store, self.name, self.folder, self.cfg, bool(known))
        fresh = sorted(
            (mtime, key, path) for key, path in self._files() if key not in known
            and (mtime := _mtime(path)) is not None and mtime >= not_before
        )
        count = 0
        for start in range(0, len(fresh), self.cfg.batch_size):
            with store.tx():  # one transaction per batch: a backlog streams, memory stays flat
                for _, key, path in fresh[start:start + self.cfg.batch_size]:
                    try:
                        raw = path.read_bytes()
                    except FileNotFoundError:  # moved away by the user's mail client meanwhile
                        continue
                    if store.record_incoming(self.name, self.folder, key, raw) is not None:
                        count += 1
        return count

    def apply_categories(self, rows: list[dict[str, Any]]) -> list[int]:
        """Move each message to <prefix>.<Category> (Maildir++); nothing unless sort = folder."""
        if self.cfg.sort != "folder":
            return [row["id"] for row in rows]
        files = dict(self._files())
        done = []
        for row in rows:
            path = files.get(row["source_key"])
            if path is None:
                done.append(row["id"])  # already moved or gone: nothing left to do
                continue
            target = self.path / f".{self.cfg.folder_prefix}.{row['category'].title()}"
            for sub in ("new", "cur", "tmp"):
                (target / sub).mkdir(parents=True, exist_ok=True)
            os.rename(path, target / path.parent.name / path.name)
            done.append(row["id"])
        return done

    def save_sent(self, raw: bytes, message_id: str) -> bool:
        return False  # the outbox directory is the record of what was sent

    def find_sent(self, message_id: str) -> bool:
        return False

    def mark_answered(self, rows: list[dict[str, Any]]) -> None:
        return None

    def check(self) -> str:
        if not os.access(self.path, os.R_OK | os.W_OK):
            raise MailboxError(f"[mailbox] path: {self.path} is not readable and writable")
        return f"Maildir {self.path}: {sum(1 for _ in self._files())} message(s)"


# -- IMAP ---------------------------------------------------------------------------------------


class ImapSource:
    """An IMAP folder watched with IDLE (or polling), plus short-lived connections for actions."""

    def __init__(self, cfg: MailboxConfig) -> None:
        self.cfg = cfg
        self.folder = cfg.folder
        self.name = f"imap:{cfg.username}@{cfg.host}:{cfg.port}"

    # connection ---------------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()  # certificate and host name checks stay on
        if self.cfg.ca_file:
            ctx.load_verify_locations(cafile=str(self.cfg.ca_file))
        return ctx

    def connect(self, read_timeout: float = 60) -> IMAPClient:
        """Connect and log in; raise MailboxError saying what failed."""
        password = self.cfg.password("mailbox")
        try:
            client = IMAPClient(
                self.cfg.host, port=self.cfg.port, ssl=self.cfg.security == "tls",
                ssl_context=self._ssl_context(),
                timeout=SocketTimeout(connect=15, read=read_timeout),
            )
        except NETWORK_ERRORS as e:
            raise MailboxError(
                f"cannot connect to IMAP {self.cfg.host}:{self.cfg.port} "
                f"({self.cfg.security}): {e}"
            ) from None
        try:
            if self.cfg.security == "starttls":
                client.starttls(self._ssl_context())
            client.login(self.cfg.username, password)
        except NETWORK_ERRORS as e:
            with contextlib.suppress(*NETWORK_ERRORS):
                client.shutdown()
            raise MailboxError(
                f"IMAP login as {self.cfg.username} on {self.cfg.host} failed: {e}"
            ) from None
        return client

    @contextmanager
    def session(self) -> Iterator[IMAPClient]:
        client = self.connect()
        try:
            yield client
        finally:
            with contextlib.suppress(*NETWORK_ERRORS):
                client.logout()

    # intake -------------------------------------------------------------------------------

    def fetch_new(
        self, client: IMAPClient, store: Store, uidvalidity: int,
        beat: Callable[[], None] = lambda: None,
    ) -> int:
        """Record messages above the last UID, in batches; the folder must be selected."""
        known_validity, last_uid = store.mailbox_state(self.name, self.folder)
        if known_validity is None:
            last_uid = imap_start(client, store, self.name, self.cfg, uidvalidity)
        elif known_validity != uidvalidity:
            log.warning(
                "UIDVALIDITY of %s changed (%s -> %s): resyncing, duplicates caught by hash",
                self.folder, known_validity, uidvalidity,
            )
            last_uid = 0
        # IMAP-2: "n:*" always matches the highest UID, so filter uid > last_uid ourselves.
        uids = sorted(u for u in client.search(["UID", f"{last_uid + 1}:*"]) if u > last_uid)
        count = 0
        for batch in self._batches(client, uids):
            beat()
            fetched = client.fetch(batch, ["BODY.PEEK[]"])
            with store.tx():  # the batch and the new last UID commit together
                for uid in batch:
                    data = fetched.get(uid)
                    if not data or b"BODY[]" not in data:
                        log.warning("UID %s vanished before it could be fetched", uid)
                        continue
                    key = f"{uidvalidity}:{uid}"
                    if store.record_incoming(
                        self.name, self.folder, key, data[b"BODY[]"],
                        uidvalidity=uidvalidity, uid=uid,
                    ) is not None:
                        count += 1
                store.set_mailbox_state(self.name, self.folder, uidvalidity, batch[-1])
            del fetched
        if not uids:
            store.set_mailbox_state(self.name, self.folder, uidvalidity, last_uid)
        return count

    def _batches(self, client: IMAPClient, uids: list[int]) -> Iterator[list[int]]:
        """UIDs in batches of at most batch_size messages and MAX_BATCH_BYTES (IMAP-6: sizes
        first, so a backlog of big attachments never sits in memory at once)."""
        for start in range(0, len(uids), self.cfg.batch_size):
            chunk = uids[start:start + self.cfg.batch_size]
            sizes = client.fetch(chunk, ["RFC822.SIZE"])
            batch: list[int] = []
            total = 0
            for uid in chunk:
                size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
                if batch and total + size > MAX_BATCH_BYTES:
                    yield batch
                    batch, total = [], 0
                batch.append(uid)
                total += size
            if batch:
                yield batch

    def _select(self, client: IMAPClient, readonly: bool) -> tuple[dict[bytes, Any], int]:
        """SELECT (or EXAMINE) the watched folder; return its info and UIDVALIDITY."""
        info = client.select_folder(self.folder, readonly=readonly)
        return info, int(info[b"UIDVALIDITY"])

    def poll(self, store: Store) -> int:
        """One connection, one pass: for `inboxops run --once` and for checks."""
        with self.session() as client:
            _, validity = self._select(client, readonly=True)
            return self.fetch_new(client, store, validity)

    def watch(
        self, store: Store, stop: threading.Event, on_new: Callable[[int], None],
        on_ready: Callable[[], None] | None = None,
        beat: Callable[[], None] = lambda: None,
        health: Callable[[str | None, str], None] = lambda error, mode: None,
    ) -> None:
        """Run until `stop` is set: fetch, then IDLE (or poll), reconnecting with backoff.

        `beat` is called at least every second while the loop makes progress (or waits on
        purpose): the watchdog's evidence that intake is alive. `health(None, mode)` follows
        every successful fetch, `health(error, "")` every failure to reach or log in.
        """
        delay = 1.0
        while not stop.is_set():
            client = None
            beat()
            try:
                client = self.connect(read_timeout=max(60.0, self.cfg.poll_seconds + 30))
                _, validity = self._select(client, readonly=True)
                new = self.fetch_new(client, store, validity, beat)
                use_idle = self.cfg.idle and b"IDLE" in client.capabilities()
                mode = "IDLE" if use_idle else f"polling every {self.cfg.poll_seconds:g}s"
                health(None, mode)
                if on_ready:
                    on_ready()
                    on_ready = None
                on_new(new)
                delay = 1.0
                log.info("watching %s on %s with %s", self.folder, self.cfg.host, mode)
                while not stop.is_set():
                    beat()
                    if use_idle:
                        self._idle_once(client, stop, beat)
                    else:
                        _wait(stop, self.cfg.poll_seconds, beat)
                        client.noop()
                    if stop.is_set():
                        break
                    new = self.fetch_new(client, store, validity, beat)
                    health(None, mode)
                    if new:
                        on_new(new)
            except (MailboxError, *NETWORK_ERRORS) as e:
                wait = min(300.0, delay) * random.uniform(0.8, 1.2)
                log.warning("IMAP connection problem: %s; retrying in %.0fs", e, wait)
                note_mailbox_error(store, e)
                health(str(e), "")
                _wait(stop, wait, beat)
                delay = min(300.0, delay * 2)
            except Exception as e:  # e.g. "database is locked": keep intake alive, with backoff
                wait = min(300.0, delay) * random.uniform(0.8, 1.2)
                log.exception("IMAP intake failed; retrying in %.0fs", wait)
                with contextlib.suppress(Exception):
                    health(f"{type(e).__name__}: {e}", "")
                _wait(stop, wait, beat)
                delay = min(300.0, delay * 2)
            finally:
                if client is not None:
                    with contextlib.suppress(*NETWORK_ERRORS):
                        client.logout()

    def _idle_once(
        self, client: IMAPClient, stop: threading.Event, beat: Callable[[], None]
    ) -> None:
        """IDLE until something happens, `stop` is set, or 5 minutes pass (RFC 2177: < 29)."""
        client.idle()
        try:
            for _ in range(300):
                if stop.is_set():
                    return
                beat()
                responses = client.idle_check(timeout=1)
                if any(isinstance(r, tuple) and len(r) > 1 and r[1] == b"EXISTS"
                       for r in responses):
                    return
        finally:
            client.idle_done()

    # actions ------------------------------------------------------------------------------

    def _folder(self, client: IMAPClient, category: str) -> str:
        delimiter = client.namespace().personal[0][1] or "/"
        name = f"{self.cfg.folder_prefix}{delimiter}{category.title()}"
        if not client.folder_exists(name):
            client.create_folder(name)
        return name

    def apply_categories(self, rows: list[dict[str, Any]]) -> list[int]:
        """Set the category keyword or move to the category folder; never \\Seen, never delete."""
        if self.cfg.sort == "off":
            return [row["id"] for row in rows]
        done = []
        with self.session() as client:
            info, validity = self._select(client, readonly=False)
            keywords_ok = b"\\*" in info.get(b"PERMANENTFLAGS", ())
            caps = client.capabilities()
            # IMAP-8: MOVE, else COPY + \Deleted + UID EXPUNGE of that UID (UIDPLUS); never a
            # bare EXPUNGE, which would also remove other clients' \Deleted mail.
            can_move = b"MOVE" in caps or b"UIDPLUS" in caps
            for row in rows:
                try:
                    self._sort_one(client, row, validity, keywords_ok, can_move, b"MOVE" in caps)
                except IMAPClientError as e:  # the server refused this one: do not retry it
                    log.warning("sorting message %s refused by the server: %s", row["id"], e)
                except (OSError, ssl.SSLError, EOFError) as e:
                    log.warning("sorting stopped at message %s: %s", row["id"], e)
                    break
                done.append(row["id"])
        return done

    def _sort_one(
        self, client: IMAPClient, row: dict[str, Any], validity: int, keywords_ok: bool,
        can_move: bool, has_move: bool,
    ) -> None:
        if row["uidvalidity"] != validity:
            return  # the folder was rebuilt; that UID means nothing now
        uid = row["uid"]
        want_folder = self.cfg.sort == "folder" or not keywords_ok
        if want_folder and can_move:
            target = self._folder(client, row["category"])
            if has_move:
                client.move([uid], target)
            else:
                client.copy([uid], target)
                client.add_flags([uid], [b"\\Deleted"], silent=True)
                client.uid_expunge([uid])
        elif keywords_ok:
            client.add_flags([uid], [KEYWORDS[row["category"]]], silent=True)
        else:
            log.info("message %s: server keeps neither keywords nor moves; category in the "
                     "database only", row["id"])

    def moved_by_user(self, store: Store) -> list[tuple[str, str]]:
        """(Message-ID, category) for mail that arrived in a category folder since last time.

        Mail we filed there ourselves already has that category; anything else was moved by
        the assistant in their mail client, and is a correction (issue 3: learn from folders).
        """
        if self.cfg.sort != "folder":
            return []
        found: list[tuple[str, str]] = []
        marker = f"{self.cfg.folder_prefix}/*"  # set once the folders were first looked at
        first_look = store.mailbox_state(self.name, marker) == (None, 0)
        with self.session() as client:
            delimiter = client.namespace().personal[0][1] or "/"
            for category in KEYWORDS:
                if category == "review":
                    continue  # a lane, not a category: moving mail there teaches nothing
                folder = f"{self.cfg.folder_prefix}{delimiter}{category.title()}"
                if not client.folder_exists(folder):
                    continue
                info = client.select_folder(folder, readonly=True)
                validity = int(info[b"UIDVALIDITY"])
                known, last = store.mailbox_state(self.name, folder)
                if first_look:  # what is there before we ever looked is history, not news
                    uids = client.search(["ALL"])
                    store.set_mailbox_state(self.name, folder, validity, max(uids, default=0))
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
                    store.set_mailbox_state(self.name, folder, validity, max(uids))
        if first_look:
            store.set_mailbox_state(self.name, marker, 1, 1)
        return found

    def _sent_folder(self, client: IMAPClient) -> str | None:
        return self.cfg.sent_folder or client.find_special_folder(SENT)

    def find_sent(self, message_id: str) -> bool:
        """Is a message with this Message-ID in Sent? (SMTP-3: checked before any resend)."""
        with self.session() as client:
            folder = self._sent_folder(client)
            if not folder:
                return False
            client.select_folder(folder, readonly=True)
            return bool(client.search(["HEADER", "Message-ID", message_id]))

    def save_sent(self, raw: bytes, message_id: str) -> bool:
        """Append the exact sent bytes to Sent, unless already there (SMTP-4)."""
        if self.cfg.save_sent == "never":
            return False
        with self.session() as client:
            folder = self._sent_folder(client)
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
        with self.session() as client:
            _, validity = self._select(client, readonly=False)
            filed = [r for r in rows if r.get("filed_category") and self.cfg.sort == "folder"]
            uids = [r["uid"] for r in rows if r["uidvalidity"] == validity and r not in filed]
            if uids:
                client.add_flags(uids, [ANSWERED], silent=True)
            delimiter = (client.namespace().personal[0][1] or "/") if filed else "/"
            for row in filed:
                folder = f"{self.cfg.folder_prefix}{delimiter}{row['filed_category'].title()}"
                if not row["message_id"] or not client.folder_exists(folder):
                    continue
                client.select_folder(folder)
                found = client.search(["HEADER", "Message-ID", row["message_id"]])
                if found:
                    client.add_flags(found, [ANSWERED], silent=True)

    def check(self) -> str:
        with self.session() as client:
            info, _ = self._select(client, readonly=True)
            caps = client.capabilities()
            sent = self._sent_folder(client)
        return (
            f"IMAP {self.cfg.username}@{self.cfg.host}:{self.cfg.port} ({self.cfg.security}): "
            f"{self.folder} has {info.get(b'EXISTS', '?')} message(s); "
            f"IDLE {'yes' if b'IDLE' in caps else 'no'}; Sent folder {sent or 'not found'}"
        )
