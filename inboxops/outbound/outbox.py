"""The outbox: enqueueing, the state machine and its transports (SMTP, an outbox directory).

    queued → sending → sent | failed | unknown        (and sending/unknown → sent once confirmed)

A row is claimed with a conditional UPDATE, so two senders (daemon and CLI) never both send it.
SMTP 4xx goes back to `queued` with a backoff; 5xx is `failed` and shown to the assistant. A
server we cannot reach or log in to (535 during a password change) keeps the row queued, never
failed, and opens an outage the admin is alerted about.

The phases of a `sending` row follow SMTP (outbound/smtpdata.py): 'claimed' until the moment
before the terminating "." is written, then 'dot-sent'. A server drops a transaction whose "."
never came, so a break-off or a crash in 'claimed' is requeued; only one in 'dot-sent' may have
delivered the message, and it is never blindly resent nor taken as sent: it is confirmed from
Sent (SMTP-3) or left `unknown` for a human. "Sent" is written only after the final 250.

Blocking work is handed to an `Offload` (in the daemon: its worker pool, so the event loop never
waits on IMAP): the Sent copy and \\Answered after a send, and the look in Sent that confirms an
uncertain one. The single-row updates that bracket an SMTP transaction (claim, dot-sent, sent)
stay with the caller's own connection, in order with the protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import ssl
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import aiosmtplib

from inboxops.auth.sasl import OAUTHBEARER_ABORT, oauthbearer, preferred
from inboxops.auth.tokens import Tokens
from inboxops.config import SmtpConfig
from inboxops.errors import InboxopsError, SendError, StateError
from inboxops.intake.sources import NETWORK_ERRORS
from inboxops.outbound.faults import halt_point
from inboxops.outbound.liveness import identity, is_gone
from inboxops.outbound.smtpdata import send_data
from inboxops.store import Store, now_iso
from inboxops.store import messages as stored_messages
from inboxops.store import outbox as stored_outbox
from inboxops.store import service as stored_service

if TYPE_CHECKING:  # at run time mailbox → mailclient → approval imports enqueue from here
    from inboxops.outbound.mailbox import Mailbox

log = logging.getLogger(__name__)

BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15),
           timedelta(minutes=60))
MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=10)  # longer than any SMTP transaction may take
T = TypeVar("T")


class Offload(Protocol):
    """Runs a blocking job `fn(store)` away from the event loop, on a store connection of the
    thread that runs it, and lets the loop await the result (the daemon's worker pool)."""

    def __call__(self, fn: Callable[[Store], T], /) -> Awaitable[T]: ...


class Uncertain(Exception):
    """The transaction broke off after the terminating "." was written: the server may or may
    not have the message."""


class Unavailable(SendError):
    """The server could not be reached or refused our login: nothing is wrong with the message,
    so it stays queued however long this lasts (the admin is alerted instead)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=False)


# Phases after which the server may have the message. 'data' was written by versions that
# noted the phase before the DATA command: a row left so by them is just as uncertain.
UNCERTAIN_PHASES = ("dot-sent", "data")
SMTP_OUTAGE = "smtp"
UNKNOWN_NOTE = ('stopped after the final "." was sent, before the server replied: check '
                "whether it arrived, then run: inboxops outbox resolve {pk} --sent or --resend")


class Transport(Protocol):
    """Delivers one outbox row, and can say (True/False) or not know (None) if it already did.
    `before_dot` is called right before the message becomes the server's (the SMTP ".")."""

    async def send(self, row: dict[str, Any], before_dot: Callable[[], None]) -> None: ...
    async def delivered(self, row: dict[str, Any]) -> bool | None: ...
    def check(self) -> str: ...


class OutboxDirTransport:
    """The embedded default: each sent message becomes an .eml file, written atomically."""

    def __init__(self, cfg: SmtpConfig) -> None:
        self.path = Path(cfg.path)
        self.path.mkdir(parents=True, exist_ok=True)

    def _file(self, row: dict[str, Any]) -> Path:
        digest = hashlib.sha256(row["message_id"].encode()).hexdigest()[:20]
        return self.path / f"{row['id']:06d}-{row['kind']}-{digest}.eml"

    async def send(self, row: dict[str, Any], before_dot: Callable[[], None]) -> None:
        target = self._file(row)
        tmp = target.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.write(row["raw"])
            f.flush()
            os.fsync(f.fileno())
        before_dot()
        os.replace(tmp, target)  # atomic: the file either exists whole or not at all

    async def delivered(self, row: dict[str, Any]) -> bool | None:
        return self._file(row).exists()

    def check(self) -> str:
        if not os.access(self.path, os.W_OK):
            raise SendError(f"[smtp] path: {self.path} is not writable", permanent=True)
        return f"outbox directory {self.path}"


class SmtpTransport:
    """aiosmtplib with explicit TLS (SMTP-1): implicit TLS or mandatory STARTTLS, certs checked."""

    def __init__(
        self, cfg: SmtpConfig, mailbox: Mailbox | None = None, offload: Offload | None = None
    ) -> None:
        self.cfg = cfg
        self.mailbox = mailbox
        self.offload = offload  # where the look in Sent runs; None: right here (the CLI)
        self.tokens = (Tokens(cfg, "smtp", cfg.username)
                       if cfg.auth == "oauth2" and cfg.username else None)

    def _client(self) -> aiosmtplib.SMTP:
        ctx = ssl.create_default_context()
        if self.cfg.ca_file:
            ctx.load_verify_locations(cafile=str(self.cfg.ca_file))
        return aiosmtplib.SMTP(
            hostname=self.cfg.host, port=self.cfg.port, timeout=self.cfg.timeout,
            use_tls=self.cfg.security == "tls",
            start_tls=self.cfg.security == "starttls",  # never None: no opportunistic TLS
            tls_context=ctx, validate_certs=True,
        )

    async def _connect(self) -> aiosmtplib.SMTP:
        """Connect and authenticate; any failure here is before the message left."""
        try:
            password = (self.cfg.password("smtp") if self.cfg.username and not self.tokens
                        else None)
            # Token refresh is blocking HTTP: the worker pool, never the event loop.
            token = await self._blocking(self.tokens.access_token) if self.tokens else None
        except InboxopsError as e:
            raise Unavailable(f"SMTP login as {self.cfg.username}: {e}") from None
        smtp = self._client()
        try:
            await smtp.connect()
            if self.tokens and token is not None:
                await self._bearer_login(smtp, self.tokens, token)
            elif self.cfg.username and password is not None:
                await smtp.login(self.cfg.username, password)
        except InboxopsError as e:  # the refresh after a refused token failed
            with contextlib.suppress(Exception):
                smtp.close()
            raise Unavailable(f"SMTP login as {self.cfg.username}: {e}") from None
        except (aiosmtplib.SMTPException, OSError) as e:
            # 535 (bad credentials, as during a password change), a refused greeting or no
            # connection at all: about the server, not this message, so never final.
            with contextlib.suppress(Exception):
                smtp.close()
            detail = (f"{e.code} {e.message}" if isinstance(e, aiosmtplib.SMTPResponseException)
                      else f"connection failed: {e}")
            raise Unavailable(f"SMTP {self.cfg.host}:{self.cfg.port}: {detail}") from None
        return smtp

    async def _blocking(self, fn: Callable[[], T]) -> T:
        """Blocking work (token HTTP) in the daemon's worker pool; in a thread for the CLI."""
        if self.offload is None:
            return await asyncio.to_thread(fn)
        return await self.offload(lambda _store: fn())

    async def _bearer_login(self, smtp: aiosmtplib.SMTP, tokens: Tokens, token: str) -> None:
        """SASL OAUTHBEARER where offered, else XOAUTH2; a refused token is refreshed once and
        tried again (RFC 6750 §3.1)."""
        try:
            await self._sasl(smtp, token)
        except aiosmtplib.SMTPAuthenticationError:
            log.info("SMTP refused the access token of %s: refreshing it", self.cfg.username)
            await self._sasl(smtp, await self._blocking(lambda: tokens.refresh(token)))

    async def _sasl(self, smtp: aiosmtplib.SMTP, token: str) -> None:
        user = self.cfg.username or ""
        if smtp.is_ehlo_or_helo_needed:
            await smtp.ehlo()  # the AUTH list, as offered now (after STARTTLS too)
        offered = {m.upper() for m in smtp.server_auth_methods}
        if preferred(offered) == "XOAUTH2":
            await smtp.auth_xoauth2(user, token)
            return
        response = await smtp.execute_command(b"AUTH", b"OAUTHBEARER", oauthbearer(user, token))
        if response.code == 334:  # an error challenge (RFC 7628 §3.2.3): end the exchange
            response = await smtp.execute_command(OAUTHBEARER_ABORT)
        if response.code != 235:
            raise aiosmtplib.SMTPAuthenticationError(response.code, response.message)

    async def send(self, row: dict[str, Any], before_dot: Callable[[], None]) -> None:
        """One SMTP transaction. Only a break-off after the terminating "." was written is
        uncertain (SMTP-3); `before_dot` records that moment, so a crash on either side of it
        is told apart."""
        rcpts = json.loads(row["rcpts"])
        smtp = await self._connect()
        dot_sent = False

        def dot() -> None:
            nonlocal dot_sent
            before_dot()
            dot_sent = True

        try:
            options, encoding = [], "ascii"
            if not all(a.isascii() for a in [row["mail_from"], *rcpts]):
                if smtp.is_ehlo_or_helo_needed:
                    await smtp.ehlo()  # the extensions are only known after EHLO
                if not smtp.supports_extension("smtputf8"):
                    raise SendError("non-ASCII address and the server lacks SMTPUTF8",
                                    permanent=True)
                options, encoding = ["SMTPUTF8"], "utf-8"  # SMTP-5: only when needed
            await smtp.mail(row["mail_from"], options=options, encoding=encoding)
            refused = []
            for rcpt in rcpts:
                try:
                    await smtp.rcpt(rcpt, encoding=encoding)
                except aiosmtplib.SMTPRecipientRefused as e:
                    refused.append(e)
            if len(refused) == len(rcpts):
                permanent = min(e.code for e in refused) >= 500
                raise SendError(f"all recipients refused: {refused[0]}", permanent=permanent)
            if refused:  # some refused, others accepted: send, but say so
                log.warning("outbox %s: recipients refused: %s", row["id"], refused)
            await send_data(smtp, row["raw"], dot, self.cfg.timeout)
        except aiosmtplib.SMTPResponseException as e:  # the server answered: no doubt
            raise SendError(f"SMTP {e.code} {e.message}", permanent=500 <= e.code < 600) from None
        except (aiosmtplib.SMTPException, OSError) as e:
            if dot_sent:
                raise Uncertain(str(e)) from None
            # The "." never went out, so the server dropped the transaction: safe to resend,
            # and as a connection failure it never fails the reply for good.
            raise Unavailable(f"SMTP transaction broke off before its end: {e}") from None
        except (UnicodeError, ValueError) as e:  # nothing was sent: an address we cannot say
            if dot_sent:
                raise Uncertain(str(e)) from None
            raise SendError(f"cannot send to these addresses: {e}", permanent=True) from None
        except asyncio.CancelledError:
            smtp.close()  # a stop: no polite QUIT, the server may be the one that stalls
            raise
        finally:
            if smtp.is_connected:
                with contextlib.suppress(Exception):
                    await smtp.quit()

    async def delivered(self, row: dict[str, Any]) -> bool | None:
        if self.mailbox is None:
            return None
        find, message_id = self.mailbox.find_sent, row["message_id"]
        try:
            if self.offload is None:
                return find(message_id) or None
            return await self.offload(lambda _store: find(message_id)) or None
        except NETWORK_ERRORS:
            return None

    def check(self) -> str:
        return f"SMTP {self.cfg.host}:{self.cfg.port} ({self.cfg.security})"


def open_transport(
    cfg: SmtpConfig, mailbox: Mailbox | None, offload: Offload | None = None
) -> Transport:
    if cfg.kind == "outbox-dir":
        return OutboxDirTransport(cfg)
    return SmtpTransport(cfg, mailbox, offload)


class Outbox:
    """Drains the outbox through a transport and does the after-send chores. `offload` runs
    the blocking chores (default: right here, on `store`, as the CLI wants)."""

    def __init__(
        self, store: Store, transport: Transport, mailbox: Mailbox | None,
        offload: Offload | None = None,
    ) -> None:
        self.store = store
        self.transport = transport
        self.mailbox = mailbox
        self.offload: Offload = offload or self._here

    async def _here(self, fn: Callable[[Store], T]) -> T:
        return fn(self.store)

    async def recover(self, now: datetime | None = None) -> None:
        """Rows left `sending` by a crash (their lease ran out): confirm them, else requeue only
        if provably unsent, else leave them `unknown` for a human."""
        now = now or datetime.now(UTC)
        stamp = now.isoformat(timespec="seconds")
        for row in stored_outbox.sending(self.store):
            expired = row["next_attempt_at"] is None or row["next_attempt_at"] < stamp
            if not (expired or is_gone(row["owner"])):
                continue  # a live process is sending it right now
            delivered = await self.transport.delivered(row)
            if delivered:
                self._mark_sent(row, "confirmed after restart")
            elif delivered is False or row["phase"] not in UNCERTAIN_PHASES:
                # The "." never went out: the server dropped the transaction, so sending is
                # safe. Only if the row is still the dead holder's: another process may have
                # recovered and claimed it meanwhile.
                self.store.transition("outbox", row["id"], ("sending",), "queued",
                                      detail="not delivered before the restart; requeued",
                                      expect={"owner": row["owner"], "phase": row["phase"]},
                                      next_attempt_at=None, owner=None)
            else:
                # Stopped between the "." and the server's reply: it may or may not have the
                # message. Neither resent (a second copy) nor called sent (maybe lost).
                note = UNKNOWN_NOTE.format(pk=row["id"])
                if self.store.transition("outbox", row["id"], ("sending",), "unknown",
                                         detail=note, level=logging.WARNING, last_error=note,
                                         expect={"owner": row["owner"], "phase": row["phase"]}):
                    log.warning("outbox %s: %s", row["id"], note)

    async def deliver(self, now: datetime | None = None) -> int:
        """Send every due queued row once; return how many were sent."""
        now = now or datetime.now(UTC)
        await self.recover(now)
        rows = stored_outbox.due(self.store, now.isoformat(timespec="seconds"))
        sent = 0
        for row in rows:
            # The lease: a crashed sender's row is recovered once it runs out, never before.
            lease = datetime.now(UTC) + LEASE
            if not self.store.transition(
                "outbox", row["id"], ("queued",), "sending", attempts=row["attempts"] + 1,
                next_attempt_at=lease.isoformat(timespec="seconds"), phase="claimed",
                owner=identity(),
            ):
                continue  # another sender took it
            halt_point("claimed")
            try:
                await self.transport.send(row, self._phase_setter(row["id"]))
                halt_point("accepted")
            except asyncio.CancelledError:
                self._checkpoint(row["id"])  # SIGTERM mid-send (SYSD-6): settle the row now
                raise
            except Unavailable as e:
                self._unavailable(row, e, now)
                break  # the next rows would meet the same server: they wait their turn
            except SendError as e:
                self._failed(row, e, now)
                continue
            except Exception as e:  # noqa: BLE001 - Uncertain, or anything unforeseen mid-send
                delivered = await self.transport.delivered(row)
                if delivered:
                    self._mark_sent(row, "confirmed after an error")
                    sent += 1
                elif delivered is False:
                    self._failed(row, SendError(f"{type(e).__name__}: {e}", permanent=False), now)
                else:
                    self.store.transition("outbox", row["id"], ("sending",), "unknown",
                                          detail=f"delivery uncertain, not resent: {e}",
                                          level=logging.ERROR, last_error=str(e))
                continue
            self._mark_sent(row, None)
            halt_point("recorded")
            sent += 1
            if stored_service.open_outage(self.store, SMTP_OUTAGE):
                stored_service.end_outage(self.store, SMTP_OUTAGE, now_iso())
        await self.after_send()
        return sent

    def _failed(self, row: dict[str, Any], e: SendError, now: datetime) -> None:
        attempts = row["attempts"] + 1
        if e.permanent or attempts >= MAX_ATTEMPTS:
            if not self.store.transition("outbox", row["id"], ("sending",), "failed",
                                         detail=str(e), level=logging.ERROR, last_error=str(e)):
                log.error("outbox %s failed (%s) but was already moved on", row["id"], e)
                return
            if row["draft_pk"]:
                self.store.transition("drafts", row["draft_pk"], ("approved",), "failed",
                                      detail=str(e))
            return
        wait = BACKOFF[min(attempts - 1, len(BACKOFF) - 1)]
        if not self.store.transition(
            "outbox", row["id"], ("sending",), "queued", detail=f"retrying in {wait}: {e}",
            level=logging.WARNING, last_error=str(e),
            next_attempt_at=(now + wait).isoformat(timespec="seconds"),
        ):
            log.error("outbox %s: %s, but it was already moved on", row["id"], e)

    def _unavailable(self, row: dict[str, Any], e: Unavailable, now: datetime) -> None:
        """The server is down or refuses our login: requeue with the backoff, never fail the
        row (nothing is wrong with it), and note the outage for the admin's alert."""
        wait = BACKOFF[min(row["attempts"], len(BACKOFF) - 1)]  # attempts: before this one
        with self.store.tx():
            self.store.transition(
                "outbox", row["id"], ("sending",), "queued", detail=f"retrying in {wait}: {e}",
                level=logging.WARNING, last_error=str(e),
                next_attempt_at=(now + wait).isoformat(timespec="seconds"))
            if stored_service.outage_failed(self.store, SMTP_OUTAGE, now_iso(), str(e)):
                self.store.event("service", None, "SMTP unavailable", {"error": str(e)})

    def _checkpoint(self, pk: int) -> None:
        """The send was cancelled by a stop: requeue it if the "." never went out (the server
        dropped it), else mark it `unknown` for a human (SMTP-3)."""
        if stored_outbox.phase(self.store, pk) in UNCERTAIN_PHASES:
            note = UNKNOWN_NOTE.format(pk=pk)
            self.store.transition("outbox", pk, ("sending",), "unknown", detail=note,
                                  level=logging.WARNING, last_error=note)
        else:
            self.store.transition("outbox", pk, ("sending",), "queued", next_attempt_at=None,
                                  detail='stopped before the final "."; requeued')

    def _phase_setter(self, pk: int) -> Callable[[], None]:
        def dot_next() -> None:
            with self.store.tx():  # committed before the "." is written
                stored_outbox.dot_sent(self.store, pk)
        return dot_next

    def resolve(self, pk: int, delivered: bool) -> None:
        """A human's answer for an `unknown` (or `failed`) row: it arrived, or send it again."""
        row = self.store.require("outbox", pk)
        if delivered:
            if row["state"] != "unknown":
                raise StateError(f"outbox {pk} is {row['state']}, not unknown")
            self._mark_sent(row, "confirmed by a human")
        elif not self.store.transition(
            "outbox", pk, ("unknown", "failed"), "queued", detail="resend requested by a human",
            next_attempt_at=None,
        ):
            raise StateError(f"outbox {pk} is {row['state']}: only unknown or failed can be resent")
        elif row["draft_pk"]:
            self.store.transition("drafts", row["draft_pk"], ("failed",), "approved")

    def _mark_sent(self, row: dict[str, Any], note: str | None) -> None:
        with self.store.tx():
            if not self.store.transition("outbox", row["id"], ("sending", "unknown"), "sent",
                                         detail=note, sent_at=now_iso()):
                log.error("outbox %s was delivered but its row had moved on; check it",
                          row["id"])
                return
            if row["draft_pk"] and not stored_outbox.draft_unsent(self.store, row["draft_pk"]):
                self.store.transition("drafts", row["draft_pk"], ("approved",), "sent")
        log.debug("outbox %s sent (%s) to %s", row["id"], row["kind"],
                 ", ".join(json.loads(row["rcpts"])))

    async def after_send(self) -> None:
        """File sent replies in Sent and flag the originals \\Answered; idempotent, retried."""
        if self.mailbox is not None:
            await self.offload(self._file_sent)

    def _file_sent(self, store: Store) -> None:
        """The after-send chores on `store` (blocking: IMAP sessions)."""
        assert self.mailbox is not None
        rows = stored_outbox.sent_unfiled(store)
        if not rows:
            return
        try:
            for row in rows:
                self.mailbox.save_sent(row["raw"], row["message_id"])
            ids = [r["answers_pk"] for r in rows if r["answers_pk"]]
            answered = stored_messages.mailbox_places(store, ids)
            if answered:
                self.mailbox.mark_answered(answered)
            halt_point("filed")
        except Exception as e:  # noqa: BLE001 - the mail is sent; filing it can wait
            log.warning("could not file sent mail yet: %s", e)
            return
        with store.tx():
            for row in rows:
                stored_outbox.mark_filed(store, row["id"])
                store.event("outbox", row["id"], "filed")


def enqueue(
    store: Store, kind: str, raw: bytes, message_id: str, mail_from: str, rcpts: list[str],
    draft_pk: int | None = None, answers_pk: int | None = None,
) -> int:
    """Put exact bytes in the outbox with their Message-ID, before any SMTP (SMTP-3)."""
    with store.tx():
        pk = stored_outbox.add(store, kind, raw, message_id, mail_from, rcpts, draft_pk,
                               answers_pk)
        store.event("outbox", pk, "queued", {"kind": kind, "message_id": message_id})
    return pk
