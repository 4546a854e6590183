"""What `inboxops check` tries besides the servers: every template set rendered with a sample
message, the identities mail goes out under, and whether automatic mail can go out at all.

A template with a typo used to be found only when a client's message needed it (the draft then
failed); rendering each set here, in both languages, through the same code that drafts, acks,
invites and sends the digest, finds it before, and the error names the file.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from inboxops.config import Config, missing_identities
from inboxops.errors import InboxopsError, StateError, TemplateError
from inboxops.models import Classification
from inboxops.responders.render import Renderer
from inboxops.store import Store

LANGUAGES = ("en", "ro")
SAMPLE = (
    b"Return-Path: <ana@client.example>\r\n"
    b"From: =?utf-8?q?Ana_Popescu_=3Cb=3E?= <ana@client.example>\r\n"
    b"To: office@office.example\r\nSubject: Order 12345: price, a problem & a meeting\r\n"
    b"Date: Mon, 23 Nov 2026 10:00:00 +0200\r\nMessage-ID: <sample@client.example>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    b"Hello, how much is it? The last one broke. Could we meet on Thursday at 11:00?\r\n"
)


class _Naming(Renderer):
    """A Renderer whose every failure names the template file, whatever raised."""

    def render(self, name: str, context: dict[str, Any]) -> str:
        try:
            return super().render(name, context)
        except TemplateError:
            raise
        except Exception as e:  # noqa: BLE001 - a filter given a wrong type: the template
            raise TemplateError(f"template {name}: {type(e).__name__}: {e}") from None


def render_every_template(cfg: Config, store: Store | None) -> str:
    """Render each set (reply, meeting, ack, invitation, meeting change, reminder, digest) in
    English and Romanian; raise TemplateError listing every template that failed."""
    renderer = _Naming(cfg.replies.templates)
    errors: list[str] = []
    count = 0
    for language in LANGUAGES:
        for what, render in _sets(cfg, renderer, store, language):
            try:
                render()
                count += 1
            except InboxopsError as e:
                errors.append(f"{what} ({language}): {e}")
    if errors:
        raise TemplateError("; ".join(errors))
    return (f"{renderer.describe()}; {count} template sets render in "
            f"{', '.join(LANGUAGES)}")


def _sets(
    cfg: Config, renderer: Renderer, store: Store | None, language: str
) -> list[tuple[str, Any]]:
    from inboxops.intake.parse import parse_message
    from inboxops.responders import MeetingResponder, ReplyResponder
    from inboxops.responders.ack import build_ack
    from inboxops.responders.base import base_context, format_when
    from inboxops.service.digest import render as render_digest

    parsed = replace(parse_message(SAMPLE), language=language)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    when = format_when(now + timedelta(days=2), language)
    html = cfg.replies.html

    def reply(category: str) -> Any:
        kind = MeetingResponder if category == "meeting" else ReplyResponder
        decision = Classification(category, 1.0, [])  # type: ignore[arg-type]

        def draft() -> Any:
            try:
                return kind(cfg, renderer).draft(parsed, decision, [], now)
            except StateError:  # no free slot in the coming days: render it as for one
                meeting = {"when": when, "from_client": True, "alternatives": [when],
                           "location": cfg.meetings.location}
                context = {**base_context(parsed, cfg), "meeting": meeting,
                           "summary": people["summary"]}
                return renderer.render_set(category, language, context, html=html)
        return draft

    def one(name: str, context: dict[str, Any], with_html: bool = html) -> Any:
        return lambda: renderer.render_set(name, language, context, html=with_html)

    people = {"client_name": parsed.from_name, "client_addr": parsed.from_addr,
              "company": cfg.replies.company, "summary": f"{cfg.replies.company} - Ana"}
    place = {"when": when, "location": cfg.meetings.location, "old_when": when}
    complaint = {"id": 1, "subject": parsed.subject, "from_name": parsed.from_name,
                 "from_addr": parsed.from_addr, "age_hours": 30.0, "over_hours": 6.0,
                 "messages": 1, "draft_id": 2, "received_at": now}
    return [
        ("inquiry reply", reply("inquiry")),
        ("complaint reply", reply("complaint")),
        ("meeting reply", reply("meeting")),
        ("acknowledgement", lambda: build_ack(cfg, renderer, parsed, "complaint", 1)),
        # as outbound/approval.py invites the staff, and bookings.py tells of a change
        ("invitation", one("invitation", {
            **people, "signature": "inboxops", "original_subject": parsed.subject,
            "meeting": place})),
        *((f"meeting {change}", one("meeting_change", {
            **people, "change": change, "greet_name": parsed.from_name,
            "signature": cfg.replies.signature, "meeting": place}))
          for change in ("reschedule", "cancel")),
        ("reminder", one("reminder", {"complaints": [complaint], "company": cfg.replies.company,
                                      "sla_hours": cfg.sla.complaint_hours}, False)),
        ("digest", lambda: _digest(render_digest, store, cfg, now, language)),
    ]


def _digest(render: Any, store: Store | None, cfg: Config, now: datetime, language: str) -> Any:
    try:
        return render(store or Store(":memory:"), cfg, now, language)
    except InboxopsError:
        raise
    except Exception as e:  # noqa: BLE001 - its own Renderer: name the set at least
        raise TemplateError(f"template set digest.{language}: {type(e).__name__}: {e}") from None


def identities(cfg: Config) -> str:
    """Who mail comes from and who gets the digest; a failure while either is still an
    example.com placeholder and mail really leaves (the daemon then sends no digest). With the
    outbox folder (the embedded default, a fresh `inboxops init`) nothing is delivered, so it
    is said, not failed: the demo runs out of the box."""
    problems = missing_identities(cfg)
    if problems and cfg.smtp.kind == "smtp":
        raise InboxopsError("; ".join(problems))
    if problems:
        return ("not set yet, fine while mail only goes to the outbox folder; before sending "
                "for real: " + "; ".join(problems))
    to = f"digest to {', '.join(cfg.digest.to)}" if cfg.digest.enabled else "no digest"
    return f"mail from {cfg.smtp.from_address.addr_spec}; {to}"


def automatic_mail(cfg: Config) -> str:
    """Whether acknowledgements can go out: they need our MTA's authserv-id (LOOP-6)."""
    if not cfg.replies.auto_ack:
        return "acknowledgements off"
    if not cfg.mailbox.authserv_id:
        raise InboxopsError(
            f"[replies] auto_ack = {list(cfg.replies.auto_ack)} but [mailbox] authserv_id is "
            "empty, so no sender can be authenticated and no acknowledgement is sent (LOOP-6). "
            'Fix: authserv_id = ["<the id your mail server writes in Authentication-Results>"]')
    return (f"acknowledgements for {', '.join(cfg.replies.auto_ack)}, to senders "
            f"{', '.join(cfg.mailbox.authserv_id)} authenticated")
