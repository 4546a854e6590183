"""IMAP intake: a folder watched with IDLE (or polling), new mail recorded by UID in batches.

imapclient blocks, so this runs in the daemon's intake thread (IDLE needs a connection of its
own); actions on the mailbox open short-lived sessions through `session()`
(`inboxops.outbound.mailbox`).

With `auth = "oauth2"` the login is SASL OAUTHBEARER (or XOAUTH2) with an access token from
`inboxops.auth`; token refreshes (blocking HTTP) happen here too, in the intake thread or the
worker pool. A watched session signs in again before its token expires (Microsoft 365 ends
sessions whose token ran out), and resumes from the last UID, so nothing is missed or taken
twice. A sign-in only a person can repair is an outage like any other (journal, `status`,
alert mail), its message naming the `inboxops auth login` command that repairs it.
"""

from __future__ import annotations

import contextlib
import logging
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import LoginError
from imapclient.imapclient import SENT, SocketTimeout, join_message_ids

from inboxops.auth.sasl import preferred
from inboxops.auth.tokens import Tokens
from inboxops.config import MailboxConfig
from inboxops.errors import AuthError, MailboxError
from inboxops.intake.first_start import imap_start
from inboxops.intake.prefetch import Prefetch
from inboxops.intake.sources import (
    NETWORK_ERRORS,
    Incoming,
    Record,
    note_mailbox_error,
    record_each,
    wait_beating,
)
from inboxops.store import Store
from inboxops.store.intake import imap_source

log = logging.getLogger(__name__)

MAX_BATCH_BYTES = 32 * 1024 * 1024
UID_WINDOW = 10_000  # UID numbers asked by one SEARCH of the intake
UID_WINDOW_MAX = 80_000  # the widest window a sparse run of UIDs leads to


# In a UID FETCH response, the UID item (before or after the BODY[] literal).
_UID_ITEM = re.compile(rb"\bUID (\d+)")


def _uid_fetch(client: IMAPClient, uids: list[int], items: str) -> list[Any]:
    """imaplib's raw answer to one UID FETCH on imapclient's own connection."""
    typ, data = client._imap.uid("FETCH", join_message_ids(uids), items)
    if typ != "OK":
        raise MailboxError(f"UID FETCH failed: {data!r}")
    return list(data)


def fetch_bodies(client: IMAPClient, uids: list[int]) -> dict[int, bytes]:
    """UID -> the message's bytes (BODY.PEEK[]: no \\Seen set), for those still there.

    Through imapclient's own imaplib connection, reading the answer directly: the bytes are
    imaplib's literals already, and imapclient's general FETCH parser (pure Python, token by
    token) cost ~100 µs a message, as much as everything else intake does (PERF.md (2)).
    Unsolicited FETCH responses (flag changes) carry no literal and are passed over."""
    data = _uid_fetch(client, uids, "(UID BODY.PEEK[])")
    found: dict[int, bytes] = {}
    body: bytes | None = None  # a literal whose UID comes after it
    for item in data:
        if isinstance(item, tuple):
            prefix, literal = item
            if b"BODY[]" not in prefix:
                body = None
                continue
            m = _UID_ITEM.search(prefix)
            if m:
                found[int(m[1])], body = literal, None
            else:
                body = literal
        elif body is not None and isinstance(item, bytes):
            m = _UID_ITEM.search(item)
            if m:
                found[int(m[1])] = body
            body = None
    return {uid: found[uid] for uid in uids if uid in found}


_SIZE_ITEM = re.compile(rb"\bRFC822\.SIZE (\d+)")


def fetch_sizes(client: IMAPClient, uids: list[int]) -> dict[int, int]:
    """UID -> size in bytes, read the same direct way as `fetch_bodies`."""
    data = _uid_fetch(client, uids, "(UID RFC822.SIZE)")
    sizes: dict[int, int] = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if isinstance(line, bytes):
            uid, size = _UID_ITEM.search(line), _SIZE_ITEM.search(line)
            if uid and size:
                sizes[int(uid[1])] = int(size[1])
    return sizes


def _untraced(client: IMAPClient) -> None:
    """imapclient sets imaplib's debug level to 5 so that imaplib's protocol trace reaches the
    "imapclient.imaplib" logger. At that level imaplib formats the repr of every literal it
    reads, and of every response list it hands back, before the logger can decline them:
    ~135 µs of a 9 KiB message's fetch, as much as recording it. The trace is kept only when
    that logger would print it (someone debugging the wire). After login, so that the login
    exchange is traced exactly as imapclient means it (it masks the password itself)."""
    if not logging.getLogger("imapclient.imaplib").isEnabledFor(logging.DEBUG):
        client._imap.debug = 0


def _no_delay(client: IMAPClient) -> None:
    """Commands go out at once (TCP_NODELAY): a command written in two pieces otherwise
    waits for the server's delayed ACK of the first, ~40 ms a round trip on Linux."""
    with contextlib.suppress(OSError, AttributeError):
        client._imap.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


_EXISTS = re.compile(rb"^\* \d+ EXISTS", re.IGNORECASE)


def _news_with_idle(client: IMAPClient) -> bool:
    """Whether the server told of new mail as IDLE started, where `idle_check` cannot see it.

    Mail that came after intake's last look is announced at once: before the "+" go-ahead
    (imaplib files that among its untagged answers), or in the same packet as it (it waits in
    imaplib's read buffer, and a wait on the socket sees nothing). Either way intake idled up to
    five minutes with new mail in the folder. What is buffered is read without waiting, the
    way `idle_check` reads (private imaplib parts: imapclient offers no other way)."""
    imap = client._imap
    if imap.untagged_responses.pop("EXISTS", None):
        return True
    sock, news = client.socket(), False
    sock.setblocking(False)
    try:
        while True:
            try:
                line = imap._get_line()
            except (OSError, client.AbortError):  # nothing more is buffered, or EOF
                return news
            news = news or bool(_EXISTS.match(line))
    finally:
        sock.setblocking(True)
        client._set_read_timeout()


class ImapSource:
    """An IMAP folder watched with IDLE (or polling), plus short-lived connections for actions."""

    def __init__(self, cfg: MailboxConfig) -> None:
        self.cfg = cfg
        self.folder = cfg.folder
        self.name = imap_source(cfg.username, cfg.host)  # not the port: see imap_source
        self.record: Record = record_each
        self.tokens = Tokens(cfg, "mailbox", cfg.username) if cfg.auth == "oauth2" else None

    # connection ---------------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()  # certificate and host name checks stay on
        if self.cfg.ca_file:
            ctx.load_verify_locations(cafile=str(self.cfg.ca_file))
        return ctx

    def connect(self, read_timeout: float = 60) -> IMAPClient:
        """Connect and log in; raise MailboxError saying what failed."""
        password = self.cfg.password("mailbox") if self.tokens is None else ""
        try:
            client = IMAPClient(
                self.cfg.host, port=self.cfg.port, ssl=self.cfg.security == "tls",
                # Loading the CA store costs ~10 ms: only for a connection that starts in TLS.
                ssl_context=self._ssl_context() if self.cfg.security == "tls" else None,
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
            if self.tokens is None:
                client.login(self.cfg.username, password)
            else:
                self._bearer_login(client, self.tokens)
        except AuthError as e:
            with contextlib.suppress(*NETWORK_ERRORS):
                client.shutdown()
            raise MailboxError(f"IMAP login as {self.cfg.username}: {e}") from None
        except NETWORK_ERRORS as e:
            with contextlib.suppress(*NETWORK_ERRORS):
                client.shutdown()
            raise MailboxError(
                f"IMAP login as {self.cfg.username} on {self.cfg.host} failed: {e}"
            ) from None
        _untraced(client)
        _no_delay(client)
        return client

    def _bearer_login(self, client: IMAPClient, tokens: Tokens) -> None:
        """SASL with an access token; refused once, the token is refreshed and tried again
        (it may have been revoked or expired early, RFC 6750 §3.1)."""
        caps = {c.decode().upper().removeprefix("AUTH=") for c in client.capabilities()}
        login = (client.oauthbearer_login if preferred(caps) == "OAUTHBEARER"
                 else client.oauth2_login)
        token = tokens.access_token()
        try:
            login(self.cfg.username, token)
        except LoginError:
            log.info("IMAP refused the access token of %s: refreshing it", self.cfg.username)
            login(self.cfg.username, tokens.refresh(refused=token))

    @contextmanager
    def session(self) -> Iterator[IMAPClient]:
        client = self.connect()
        try:
            yield client
        finally:
            try:
                client.logout()
            except NETWORK_ERRORS:
                with contextlib.suppress(*NETWORK_ERRORS):
                    client.shutdown()  # logout failed half-way: the socket is still open

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

        def checkpoint(upto: Incoming) -> None:
            store.set_mailbox_state(self.name, self.folder, uidvalidity, upto.uid or last_uid)

        count, seen = 0, False
        with Prefetch(lambda: self._fetched(client, last_uid, uidvalidity)) as batches:
            for batch, incoming in batches:
                seen = True
                beat()
                # The batch and the new last UID commit together (`Record`)
                count += self.record(store, self.name, self.folder, incoming, checkpoint)
                if not incoming or incoming[-1].uid != batch[-1]:  # its last UIDs vanished
                    with store.tx():
                        store.set_mailbox_state(self.name, self.folder, uidvalidity, batch[-1])
                del incoming
        if not seen:
            store.set_mailbox_state(self.name, self.folder, uidvalidity, last_uid)
        return count

    def _fetched(self, client: IMAPClient, last_uid: int, uidvalidity: int
                 ) -> Iterator[tuple[list[int], list[Incoming]]]:
        """Each batch of UIDs above `last_uid` with the messages of it still there."""
        for uids in self._new_uids(client, last_uid):
            for batch in self._batches(client, uids):
                fetched = fetch_bodies(client, batch)
                for uid in batch:
                    if uid not in fetched:
                        log.warning("UID %s vanished before it could be fetched", uid)
                yield batch, [Incoming(f"{uidvalidity}:{uid}", fetched.pop(uid), uidvalidity, uid)
                              for uid in batch if uid in fetched]

    @staticmethod
    def _new_uids(client: IMAPClient, last_uid: int) -> Iterator[list[int]]:
        """The UIDs above `last_uid`, ascending, one SEARCH window of UID numbers at a time
        (issue 15): on a first start over 100,000 messages one SEARCH peaked at 21 MB while
        imapclient parsed its answer, and its 3.6 MB of ints stayed for the whole backlog (a
        window of 10,000: 2 MB and 0.4 MB). A sparse run of UIDs
        widens the window (up to UID_WINDOW_MAX), so a mailbox whose UIDs are in the millions
        costs a few dozen SEARCHes. Mail that arrives meanwhile is taken in the same walk."""
        lo, window = last_uid + 1, UID_WINDOW
        while (top := max(client.search(["UID", "*"]), default=0)) >= lo:
            while lo <= top:
                hi = lo + window - 1
                # IMAP-2: no "n:*" here (it always matches the highest UID): both ends given,
                # and the answer filtered to them all the same.
                uids = sorted(u for u in client.search(["UID", f"{lo}:{hi}"]) if lo <= u <= hi)
                if uids:
                    yield uids
                if len(uids) * 4 < window:  # sparse: wider
                    window = min(window * 2, UID_WINDOW_MAX)
                elif len(uids) > UID_WINDOW:  # dense again: back to the usual
                    window = UID_WINDOW
                lo = hi + 1

    def _batches(self, client: IMAPClient, uids: list[int]) -> Iterator[list[int]]:
        """UIDs in batches of at most batch_size messages and MAX_BATCH_BYTES (IMAP-6: sizes
        first, so a backlog of big attachments never sits in memory at once)."""
        for start in range(0, len(uids), self.cfg.batch_size):
            chunk = uids[start:start + self.cfg.batch_size]
            sizes = fetch_sizes(client, chunk)
            batch: list[int] = []
            total = 0
            for uid in chunk:
                size = sizes.get(uid, 0)
                if batch and total + size > MAX_BATCH_BYTES:
                    yield batch
                    batch, total = [], 0
                batch.append(uid)
                total += size
            if batch:
                yield batch

    def select(self, client: IMAPClient, readonly: bool) -> tuple[dict[bytes, Any], int]:
        """SELECT (or EXAMINE) the watched folder; return its info and UIDVALIDITY."""
        info = client.select_folder(self.folder, readonly=readonly)
        return info, int(info[b"UIDVALIDITY"])

    def poll(self, store: Store) -> int:
        """One connection, one pass: for `inboxops run --once` and for checks."""
        with self.session() as client:
            _, validity = self.select(client, readonly=True)
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
                _, validity = self.select(client, readonly=True)
                use_idle = self.cfg.idle and b"IDLE" in client.capabilities()
                mode = "IDLE" if use_idle else f"polling every {self.cfg.poll_seconds:g}s"
                if on_ready:  # reachable: a backlog to record is work for after READY=1
                    health(None, mode)
                    on_ready()
                    on_ready = None
                new = self.fetch_new(client, store, validity, beat)
                health(None, mode)
                on_new(new)
                delay = 1.0
                renew_at = self.tokens.renew_at() if self.tokens else float("inf")
                log.info("watching %s on %s with %s", self.folder, self.cfg.host, mode)
                while not stop.is_set():
                    beat()
                    if time.time() >= renew_at:  # sign in again with a fresh token
                        log.info("access token of %s expires soon: signing in again",
                                 self.cfg.username)
                        break
                    if use_idle:
                        self._idle_once(client, stop, beat, until=renew_at)
                    else:
                        wait_beating(stop, min(self.cfg.poll_seconds,
                                               max(0.0, renew_at - time.time())), beat)
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
                wait_beating(stop, wait, beat, until=self._signed_in_since())
                delay = min(300.0, delay * 2)
            except Exception as e:  # e.g. "database is locked": keep intake alive, with backoff
                wait = min(300.0, delay) * random.uniform(0.8, 1.2)
                log.exception("IMAP intake failed; retrying in %.0fs", wait)
                with contextlib.suppress(Exception):
                    health(f"{type(e).__name__}: {e}", "")
                wait_beating(stop, wait, beat)
                delay = min(300.0, delay * 2)
            finally:
                if client is not None:
                    with contextlib.suppress(*NETWORK_ERRORS):
                        client.logout()

    def _signed_in_since(self) -> Callable[[], bool]:
        """True once the token file changes: a new `auth login` is tried at once, not after
        the backoff (up to 5 minutes)."""
        tokens = self.tokens
        if tokens is None:
            return lambda: False
        before = tokens.stamp()
        return lambda: tokens.stamp() != before

    def _idle_once(
        self, client: IMAPClient, stop: threading.Event, beat: Callable[[], None],
        until: float = float("inf"),
    ) -> None:
        """IDLE until something happens, `stop` is set, `until` (a time.time()) comes, or 5
        minutes pass (RFC 2177: < 29)."""
        client.idle()
        try:
            if _news_with_idle(client):
                return
            for _ in range(300):
                if stop.is_set() or time.time() >= until:
                    return
                beat()
                responses = client.idle_check(timeout=1)
                if any(isinstance(r, tuple) and len(r) > 1 and r[1] == b"EXISTS"
                       for r in responses):
                    return
        finally:
            client.idle_done()

    def sent_folder(self, client: IMAPClient) -> str | None:
        """The folder sent mail is filed in: configured, or the server's \\Sent (RFC 6154)."""
        return self.cfg.sent_folder or client.find_special_folder(SENT)

    def check(self) -> str:
        with self.session() as client:
            info, _ = self.select(client, readonly=True)
            caps = client.capabilities()
            sent = self.sent_folder(client)
        return (
            f"IMAP {self.cfg.username}@{self.cfg.host}:{self.cfg.port} ({self.cfg.security}): "
            f"{self.folder} has {info.get(b'EXISTS', '?')} message(s); "
            f"IDLE {'yes' if b'IDLE' in caps else 'no'}; Sent folder {sent or 'not found'}"
        )
