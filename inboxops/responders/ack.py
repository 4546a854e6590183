"""Automatic acknowledgements ("we received your complaint, reference C-123"): off by default.

The only mail inboxops sends without a human's approval, so it follows RFC 3834 to the letter
(LOOP-1..4): never to anything that looks automated or asks not to be answered; only to the
envelope sender (Return-Path), never to From or Reply-To; labelled Auto-Submitted:
auto-replied with Precedence: bulk and X-Auto-Response-Suppress: All; sent with MAIL FROM <>;
at most one per sender per `auto_ack_days`, counted from the outbox so it survives restarts.

Backscatter (LOOP-6): From and Return-Path are whatever the sender typed, so an address is
trusted only on our own mail server's word. An acknowledgement needs its sender authenticated
in an Authentication-Results header our MTA wrote (`[mailbox] authserv_id`); with none
configured nothing can be authenticated and no acknowledgement goes out. It never goes to
ourselves (our From, the mailbox, the digest's or the staff's addresses), and to a Return-Path
other than From only when our MTA saw SPF pass for that very envelope domain.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inboxops.classifiers.signals import automation_signals, courtesy_signals
from inboxops.config import Config
from inboxops.intake.authresults import results, sender_authenticated
from inboxops.models import ParsedMessage
from inboxops.responders import compose
from inboxops.responders.render import Renderer
from inboxops.store import Store, outbox

REFERENCE_PREFIX = {"inquiry": "I", "complaint": "C", "meeting": "M"}


def reasons_not_to_ack(
    store: Store, cfg: Config, parsed: ParsedMessage, category: str, now: datetime
) -> list[str]:
    """Why this message must not get an automatic acknowledgement (empty: it may)."""
    if category not in cfg.replies.auto_ack:
        return ["category not acknowledged automatically"]
    reasons = automation_signals(parsed, cfg.own_addresses) + courtesy_signals(parsed)
    reasons += untrusted_recipient(cfg, parsed)
    if not parsed.return_path:
        reasons.append("no envelope sender to answer")
    elif parsed.calendar_method:
        reasons.append("calendar message")
    else:
        since = (now - timedelta(days=cfg.replies.auto_ack_days)).isoformat(timespec="seconds")
        if outbox.acked_since(store, parsed.return_path, since):
            reasons.append(f"already acknowledged within {cfg.replies.auto_ack_days} days")
    return reasons


def ourselves(cfg: Config) -> set[str]:
    """Every address automatic mail must never go to: us, the mailbox, the manager, the staff."""
    mcfg = cfg.meetings
    staff = {a for route in mcfg.routes for a in route.staff}
    people = [*cfg.digest.to, *mcfg.staff, *staff, *cfg.sla.remind, *cfg.alerts.to]
    return cfg.own_addresses | {a.lower() for a in people}


def untrusted_recipient(cfg: Config, parsed: ParsedMessage) -> list[str]:
    """Why the envelope sender is not an address we may write to unasked (LOOP-6); empty if
    it is: not ourselves, the sender authenticated by our MTA, and a Return-Path other than
    From authenticated itself (SPF for its domain)."""
    rcpt = (parsed.return_path or "").lower()
    if rcpt and rcpt in ourselves(cfg):
        return [f"Return-Path {rcpt} is one of our own addresses"]
    ids = {a.lower() for a in cfg.mailbox.authserv_id}
    if not ids:
        return ["no [mailbox] authserv_id: the sender cannot be authenticated, so no automatic "
                "mail (LOOP-6)"]
    trusted, why = sender_authenticated(parsed, ids)
    if not trusted:
        return [f"sender not authenticated: {why}"]
    if rcpt and rcpt != parsed.from_addr.lower():
        domain = rcpt.rpartition("@")[2]
        if not any(method == "spf" and result == "pass" and
                   props.get("smtp.mailfrom", "").lower().rpartition("@")[2] == domain
                   for method, result, props in results(parsed, ids)):
            return [f"Return-Path {rcpt} differs from From {parsed.from_addr} and our mail "
                    "server did not see SPF pass for it"]
    return []


def build_ack(
    cfg: Config, renderer: Renderer, parsed: ParsedMessage, category: str, message_pk: int
) -> tuple[str, bytes, str]:
    """(Message-ID, bytes, recipient) of the acknowledgement for one message."""
    assert parsed.return_path
    reference = f"{REFERENCE_PREFIX[category]}-{message_pk}"
    context = {
        "category": category, "reference": reference, "company": cfg.replies.company,
        "base_subject": compose.reply_subject(parsed.subject).removeprefix("Re:").strip(),
    }
    subject, text, _ = renderer.render_set("ack", parsed.language, context, html=False)
    in_reply_to, references = compose.thread_headers(
        parsed.message_id, parsed.references, parsed.in_reply_to
    )
    message_id = compose.new_message_id(cfg.domain)
    raw = compose.build_message(
        sender=cfg.smtp.from_address, to=[compose.address(parsed.return_path)], subject=subject,
        text=text, message_id=message_id, in_reply_to=in_reply_to, references=references,
        auto_submitted="auto-replied", date=datetime.now(UTC),
    )
    return message_id, raw, parsed.return_path
