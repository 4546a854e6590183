"""The approval queue: nothing leaves without a human saying yes.

Approving a draft turns it into exact outgoing bytes (with a Message-ID fixed now, REPLY-5) and
queues them in the outbox, in the same transaction as the state change, so a crash can neither
lose an approval nor send something unapproved. For a meeting, the reply to the client carries
the invitation, and each staff member gets the same invitation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from email.headerregistry import Address
from typing import Any
from zoneinfo import ZoneInfo

from inboxops.config import Config
from inboxops.errors import StateError
from inboxops.outbound.edited import same_text
from inboxops.responders import compose, meetings
from inboxops.responders.base import format_when
from inboxops.responders.render import Renderer
from inboxops.store import Store, now_iso


def pending(store: Store) -> list[dict[str, Any]]:
    """Drafts that need the assistant, oldest first: waiting for a decision, or approved but
    refused by the mail server for good (they must see those too)."""
    return store.query(
        "SELECT d.id, d.state, m.message_id, d.category, d.language, d.to_addr, d.to_name,"
        " d.to_reason, d.subject, d.body_text AS body, d.created_at, m.from_addr,"
        " m.subject AS original_subject, m.confidence, m.reasons, m.suppress, d.meeting_pk,"
        " (SELECT last_error FROM outbox o WHERE o.draft_pk = d.id AND o.state = 'failed'"
        "  ORDER BY o.id DESC LIMIT 1) AS error"
        " FROM drafts d JOIN messages m ON m.id = d.message_pk"
        " WHERE d.state IN ('pending', 'failed') ORDER BY d.id"
    )


def reject(store: Store, draft_id: int, by: str = "cli") -> None:
    """Reject a pending draft; its meeting proposal, if any, is released."""
    draft = store.require("drafts", draft_id)
    with store.tx():
        if not store.transition(
            "drafts", draft_id, ("pending",), "rejected", detail={"by": by},
            decided_at=now_iso(), decided_by=by,
        ):
            raise StateError(f"draft {draft_id} is {draft['state']}, not pending")
        if draft["meeting_pk"]:
            store.transition("meetings", draft["meeting_pk"], ("proposed",), "cancelled")


def approve(
    store: Store, cfg: Config, draft_id: int, text: str | None = None, by: str = "cli",
    *, html: str | None = None, subject: str | None = None,
    to: Sequence[Address] | None = None, cc: Sequence[Address] = (), bcc: Sequence[Address] = (),
) -> list[int]:
    """Approve a pending draft, optionally as the assistant edited it; return the queued
    outbox ids. `html` goes with an edited `text` (an HTML-only edit); None for Subject or To
    keeps the draft's. Bcc goes to the envelope only, never into the bytes (SMTP-3)."""
    draft = store.require("drafts", draft_id)
    if draft["state"] != "pending":
        raise StateError(f"draft {draft_id} is {draft['state']}, not pending")
    message = store.require("messages", draft["message_pk"])
    changed = _changes(draft, text, subject, to, cc, bcc)
    body_text = text if "text" in changed and text is not None else draft["body_text"]
    # An edit replaces the HTML: ours no longer matches it, theirs (HTML-only edit) does.
    body_html = html if "text" in changed else draft["body_html"]
    subject = subject if subject is not None else draft["subject"]
    recipients = list(to) if to else [compose.address(draft["to_addr"], draft["to_name"])]
    sender = cfg.smtp.from_address
    in_reply_to, references = compose.thread_headers(
        message["message_id"], json.loads(message["refs"] or "[]"), message["in_reply_to"]
    )
    outgoing: list[tuple[str, bytes, list[str]]] = []
    meeting = store.require("meetings", draft["meeting_pk"]) if draft["meeting_pk"] else None
    if meeting and datetime.fromisoformat(meeting["start"]) <= datetime.now(UTC):
        raise StateError(
            f"draft {draft_id} proposes {meeting['start']}, which has passed; reject it and "
            "propose a new time"
        )
    calendar = invitation(cfg, meeting) if meeting else None
    message_id = compose.new_message_id(cfg.domain)
    envelope = list(dict.fromkeys(a.addr_spec for a in (*recipients, *cc, *bcc)))
    outgoing.append((message_id, compose.build_message(
        sender=sender, to=recipients, cc=cc, subject=subject, text=body_text, html=body_html,
        message_id=message_id, in_reply_to=in_reply_to, references=references,
        calendar=calendar,
    ), envelope))
    if meeting and calendar:
        outgoing.extend(_staff_invitations(cfg, meeting, message, calendar))
    first = recipients[0]
    with store.tx():
        if not store.transition(
            "drafts", draft_id, ("pending",), "approved",
            detail={"by": by, "edited": bool(changed), "changed": changed},
            body_text=body_text, body_html=body_html, subject=subject,
            to_addr=first.addr_spec, to_name=first.display_name,
            to_reason="assistant's edit" if "to" in changed else draft["to_reason"],
            decided_at=now_iso(), decided_by=by,
        ):
            raise StateError(f"draft {draft_id} was decided by someone else meanwhile")
        ids = [
            enqueue(store, "invite" if meeting and i else "reply", raw, mid, sender.addr_spec,
                    rcpts, draft_pk=draft_id, answers_pk=None if i else message["id"])
            for i, (mid, raw, rcpts) in enumerate(outgoing)
        ]
        if meeting:
            store.transition("meetings", meeting["id"], ("proposed",), "invited")
    return ids


def _changes(
    draft: dict[str, Any], text: str | None, subject: str | None,
    to: Sequence[Address] | None, cc: Sequence[Address], bcc: Sequence[Address],
) -> list[str]:
    """Which parts of the draft the assistant changed (names only: events hold no text)."""
    changed = []
    if text is not None and not same_text(text, draft["body_text"]):
        changed.append("text")
    if subject is not None and subject != draft["subject"]:
        changed.append("subject")
    if to and [(a.addr_spec.lower(), a.display_name) for a in to] != [
            (draft["to_addr"].lower(), draft["to_name"])]:
        changed.append("to")
    changed += [name for name, value in (("cc", cc), ("bcc", bcc)) if value]
    return changed


def revivable(draft: dict[str, Any]) -> bool:
    """Rejected only because its copy was gone from Drafts for a while: no human said no."""
    return bool(draft["state"] == "rejected" and draft["decided_by"] == "mail-client")


def revive(store: Store, draft_id: int, by: str = "mail-client") -> None:
    """A human act in the mail client wins over the timeout: a draft the timeout rejected is
    pending again, with its meeting proposal, unless that slot was given to another meeting
    meanwhile (then StateError says so)."""
    draft = store.require("drafts", draft_id)
    if not revivable(draft):
        raise StateError(f"draft {draft_id} is {draft['state']}, not rejected by the timeout")
    with store.tx():
        if draft["meeting_pk"]:
            meeting = store.require("meetings", draft["meeting_pk"])
            clash = store.one(
                "SELECT id FROM meetings WHERE id != ? AND state IN ('proposed', 'invited') "
                'AND start < ? AND "end" > ? LIMIT 1',
                (meeting["id"], meeting["end"], meeting["start"]))
            if clash:
                raise StateError(f"draft {draft_id}: its meeting time was given to meeting "
                                 f"{clash['id']} meanwhile; approve a new time in the CLI")
            store.transition("meetings", meeting["id"], ("cancelled",), "proposed",
                             detail={"revived": True, "by": by})
        if not store.transition(
            "drafts", draft_id, ("rejected",), "pending", detail={"revived": True, "by": by},
            expect={"decided_by": "mail-client"}, decided_at=None, decided_by=None,
            missing_since=None,
        ):
            raise StateError(f"draft {draft_id} was decided by someone else meanwhile")


def enqueue(
    store: Store, kind: str, raw: bytes, message_id: str, mail_from: str, rcpts: list[str],
    draft_pk: int | None = None, answers_pk: int | None = None,
) -> int:
    """Put exact bytes in the outbox with their Message-ID, before any SMTP (SMTP-3)."""
    with store.tx():
        cur = store.conn.execute(
            "INSERT INTO outbox (draft_pk, kind, message_id, mail_from, rcpts, raw, answers_pk,"
            " state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?)",
            (draft_pk, kind, message_id, mail_from, json.dumps(rcpts), raw, answers_pk,
             now_iso()),
        )
        pk = cur.lastrowid
        assert pk is not None
        store.event("outbox", pk, "queued", {"kind": kind, "message_id": message_id})
    return pk


def invitation(cfg: Config, meeting: dict[str, Any], method: str = "REQUEST") -> bytes:
    """The meeting's iTIP object as it stands in the store (UID, SEQUENCE, time, people)."""
    sender = cfg.smtp.from_address
    attendees = [(meeting["client_addr"], meeting["client_name"])]
    attendees += [(addr, "") for addr in json.loads(meeting["staff"])]
    return meetings.build_request(
        uid=meeting["uid"], sequence=meeting["sequence"],
        start=datetime.fromisoformat(meeting["start"]), end=datetime.fromisoformat(meeting["end"]),
        summary=meeting["summary"], description=f"Meeting with {cfg.replies.company}",
        location=meeting["location"], organizer=sender.addr_spec,
        organizer_name=sender.display_name, attendees=attendees,
        timezone=meeting["timezone"], method=method,
    )


def _staff_invitations(
    cfg: Config, meeting: dict[str, Any], message: dict[str, Any], calendar: bytes
) -> list[tuple[str, bytes, list[str]]]:
    """One invitation per staff member, with a summary in the staff's (the office's) words."""
    renderer = Renderer(cfg.replies.templates)
    start = datetime.fromisoformat(meeting["start"]).astimezone(ZoneInfo(meeting["timezone"]))
    language = "en"
    context = {
        "client_name": meeting["client_name"], "client_addr": meeting["client_addr"],
        "company": cfg.replies.company, "signature": "inboxops",
        "summary": meeting["summary"], "original_subject": message["subject"] or "",
        "meeting": {"when": format_when(start, language), "location": meeting["location"]},
    }
    subject, text, html = renderer.render_set("invitation", language, context,
                                              html=cfg.replies.html)
    out = []
    for addr in json.loads(meeting["staff"]):
        mid = compose.new_message_id(cfg.domain)
        raw = compose.build_message(
            sender=cfg.smtp.from_address, to=[compose.address(addr)], subject=subject,
            text=text, html=html, message_id=mid, calendar=calendar,
        )
        out.append((mid, raw, [addr]))
    return out


DRAFT_HEADER = "X-InboxOps-Draft"


def draft_copy(store: Store, cfg: Config, draft_id: int) -> bytes:
    """The draft as a message for the assistant's Drafts folder: the reply as the client will
    see it (text only, to edit freely), carrying our id header so a re-saved copy is found."""
    draft = store.require("drafts", draft_id)
    message = store.require("messages", draft["message_pk"])
    in_reply_to, references = compose.thread_headers(
        message["message_id"], json.loads(message["refs"] or "[]"), message["in_reply_to"]
    )
    return compose.build_message(
        sender=cfg.smtp.from_address, to=[compose.address(draft["to_addr"], draft["to_name"])],
        subject=draft["subject"], text=draft["body_text"],
        message_id=compose.new_message_id(cfg.domain), in_reply_to=in_reply_to,
        references=references, extra_headers={DRAFT_HEADER: draft_token(cfg, draft_id)},
    )


def draft_token(cfg: Config, draft_id: int) -> str:
    """The id header's value: the draft number and our domain, so a stranger's header does not
    look like ours."""
    return f"{draft_id}@{cfg.domain}"
