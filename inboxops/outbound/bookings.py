"""Meetings after the invitation: reschedule, cancel, and the attendees' answers (iTIP).

The store-facing half of meetings (the `meetings` package is pure). Every change is one
transaction that updates the meeting row, appends an event and queues the exact outgoing bytes
in the outbox (outbox.enqueue), so a crash can neither lose a change nor send it twice. The UID
never changes and every significant change raises SEQUENCE by one (RFC 5546 §2.1.4, ICS-4/5).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from inboxops.config import Config
from inboxops.errors import StateError
from inboxops.intake.authresults import sender_authenticated
from inboxops.models import ParsedMessage
from inboxops.outbound.approval import invitation
from inboxops.outbound.outbox import enqueue
from inboxops.responders import compose, meetings
from inboxops.responders.base import format_when
from inboxops.responders.busy import feed_busy
from inboxops.responders.meeting import working_hours
from inboxops.responders.render import Renderer
from inboxops.store import Store, messages
from inboxops.store import meetings as stored_meetings

log = logging.getLogger(__name__)

# How far ahead a meeting may be moved: further is surely a typo, and the busy feed and the
# slot search would have to cover every day up to it (year 9999: millions of days).
MAX_AHEAD = timedelta(days=2 * 365)

# PARTSTATs that count as an answer we keep (RFC 5545 §3.2.12, VEVENT values).
ANSWERS = frozenset({"ACCEPTED", "DECLINED", "TENTATIVE", "DELEGATED", "NEEDS-ACTION"})


def reschedule(
    store: Store, cfg: Config, meeting_id: int, start: datetime, *, force: bool = False,
    now: datetime | None = None,
) -> list[int]:
    """Move an invited meeting to `start` (same length); return the queued outbox ids.

    The new time must be a free slot in working hours, clear of other meetings and of the
    staff's busy feed, unless `force`: the error then names the nearest free slots.
    """
    meeting = _invited(store, meeting_id)
    now = now or datetime.now(UTC)
    if start.tzinfo is None:
        start = start.replace(tzinfo=ZoneInfo(meeting["timezone"]))
    old_start = datetime.fromisoformat(meeting["start"])
    length = datetime.fromisoformat(meeting["end"]) - old_start
    try:
        too_far = start - now > MAX_AHEAD
    except OverflowError:  # year 9999 in a zone west of UTC: beyond what datetime holds
        too_far = True
    if too_far:
        raise StateError(f"{start:%Y-%m-%d} is more than {MAX_AHEAD.days // 365} years ahead; "
                         "choose a time within that (a typo in the year?)")
    if start <= now:
        raise StateError(f"{start.isoformat()} has passed; choose a time to come")
    hours = working_hours(cfg.meetings)
    if not force:
        hours = replace(hours, duration=length)
        mcfg = cfg.meetings
        busy = busy_except(store, meeting_id, now)
        days = max(mcfg.search_days, (start - now).days + 1)  # the feed must cover `start`
        busy += feed_busy(mcfg.busy_calendar, mcfg.timezone, now, days)
        slots = meetings.find_slots([meetings.Proposal(start, True)], busy, hours, now)
        if not slots or not slots[0].from_client:
            tz = ZoneInfo(meeting["timezone"])
            free = ", ".join(s.start.astimezone(tz).strftime("%Y-%m-%d %H:%M") for s in slots)
            raise StateError(
                f"{start.astimezone(tz):%Y-%m-%d %H:%M} is outside working hours or clashes "
                f"with another meeting; free: {free or 'none found'} (or use --force)"
            )
    end = start + length
    updated = {
        **meeting, "sequence": meeting["sequence"] + 1, "start": start.isoformat(),
        "end": end.isoformat(),
    }
    # A new time needs new answers: everyone is asked again (RFC 5546 §3.2.2.1).
    attendees = {a: "NEEDS-ACTION" for a in json.loads(meeting["attendees"])}
    outgoing = _messages(cfg, store, updated, "reschedule", old_start)
    with store.tx():
        if not store.transition(
            "meetings", meeting_id, ("invited",), "invited",
            detail={"rescheduled": start.isoformat(), "sequence": updated["sequence"]},
            sequence=updated["sequence"], start=updated["start"], end=updated["end"],
            attendees=json.dumps(attendees), answered="{}", attention=None,
        ):
            raise StateError(f"meeting {meeting_id} changed meanwhile; try again")
        ids = _enqueue_all(store, cfg, outgoing)
    log.info("meeting %s rescheduled to %s (SEQUENCE %s)", meeting_id, start.isoformat(),
             updated["sequence"])
    return ids


def cancel(store: Store, cfg: Config, meeting_id: int) -> list[int]:
    """Cancel an invited meeting: METHOD:CANCEL, STATUS:CANCELLED, SEQUENCE+1 (ICS-5)."""
    meeting = _invited(store, meeting_id)
    updated = {**meeting, "sequence": meeting["sequence"] + 1}
    outgoing = _messages(cfg, store, updated, "cancel", datetime.fromisoformat(meeting["start"]))
    with store.tx():
        if not store.transition(
            "meetings", meeting_id, ("invited",), "cancelled",
            detail={"sequence": updated["sequence"]}, sequence=updated["sequence"],
            attention=None,
        ):
            raise StateError(f"meeting {meeting_id} changed meanwhile; try again")
        ids = _enqueue_all(store, cfg, outgoing)
    log.info("meeting %s cancelled (SEQUENCE %s)", meeting_id, updated["sequence"])
    return ids


def busy_except(store: Store, meeting_id: int, now: datetime) -> list[tuple[datetime, datetime]]:
    """Meetings to come that hold time, other than `meeting_id` (it may move onto itself)."""
    rows = stored_meetings.holding_time(store, except_id=meeting_id)
    spans = [(datetime.fromisoformat(r["start"]), datetime.fromisoformat(r["end"])) for r in rows]
    return [(s, e) for s, e in spans if e >= now]


def _invited(store: Store, meeting_id: int) -> dict[str, Any]:
    meeting = store.require("meetings", meeting_id)
    if meeting["state"] != "invited":
        hint = " (approve or reject its draft first)" if meeting["state"] == "proposed" else ""
        raise StateError(f"meeting {meeting_id} is {meeting['state']}, not invited{hint}")
    return meeting


def _messages(
    cfg: Config, store: Store, meeting: dict[str, Any], change: str, old_start: datetime,
) -> list[tuple[str, bytes, list[str]]]:
    """The client's message in the client's language, then one per staff member in English,
    all carrying the same calendar object."""
    method = "CANCEL" if change == "cancel" else "REQUEST"
    calendar = invitation(cfg, meeting, method)
    message = store.require("messages", meeting["message_pk"])
    language = "ro" if (message["language"] or "").startswith("ro") else "en"
    tz = ZoneInfo(meeting["timezone"])
    renderer = Renderer(cfg.replies.templates)
    in_reply_to, references = compose.thread_headers(
        message["message_id"], json.loads(message["refs"] or "[]"), message["in_reply_to"]
    )

    def context(lang: str, greet_name: str) -> dict[str, Any]:
        start = datetime.fromisoformat(meeting["start"]).astimezone(tz)
        return {
            "change": change, "greet_name": greet_name, "company": cfg.replies.company,
            "signature": cfg.replies.signature, "summary": meeting["summary"],
            "meeting": {"when": format_when(start, lang), "location": meeting["location"],
                        "old_when": format_when(old_start.astimezone(tz), lang)},
        }

    out = []
    recipients = [(meeting["client_addr"], meeting["client_name"], language, True)]
    recipients += [(addr, "", "en", False) for addr in json.loads(meeting["staff"])]
    for addr, name, lang, is_client in recipients:
        subject, text, html = renderer.render_set(
            "meeting_change", lang, context(lang, name), html=cfg.replies.html
        )
        mid = compose.new_message_id(cfg.domain)
        raw = compose.build_message(
            sender=cfg.smtp.from_address, to=[compose.address(addr, name)], subject=subject,
            text=text, html=html, message_id=mid, calendar=calendar, calendar_method=method,
            in_reply_to=in_reply_to if is_client else None,
            references=references if is_client else None,
        )
        out.append((mid, raw, [addr]))
    return out


def _enqueue_all(
    store: Store, cfg: Config, outgoing: list[tuple[str, bytes, list[str]]]
) -> list[int]:
    sender = cfg.smtp.from_address.addr_spec
    return [enqueue(store, "invite", raw, mid, sender, rcpts) for mid, raw, rcpts in outgoing]


# --------------------------------------------------------------------------------------------
# Answers (ICS-9, ICS-10)


# The iTIP methods an attendee (or someone posing as one) sends back to the organizer.
ANSWER_METHODS = frozenset({"REPLY", "COUNTER", "REFRESH", "DECLINECOUNTER"})
ANSWER_EVENT = messages.CALENDAR_ANSWER


def record_answer(
    store: Store, pk: int, parsed: ParsedMessage, authserv_ids: list[str] | None = None
) -> str | None:
    """Act on an attendee's iTIP answer; None when counted, else why the assistant must look.

    Every answer (REPLY, COUNTER, REFRESH, DECLINECOUNTER) passes the same checks first
    (`_vetted`): a forged COUNTER is as harmful as a forged REPLY, since it would put a
    stranger's time in front of the assistant as the client's. Then a REPLY is counted (on
    equal SEQUENCE the later DTSTAMP wins; a decline by the client, or by every staff
    member, puts the meeting back to the assistant); a COUNTER or REFRESH puts the meeting back
    to the assistant (ICS-10). Nothing here ever sends a reply.
    """
    info = meetings.parse_calendar(parsed.calendar or b"")
    method = parsed.calendar_method
    if method in ANSWER_METHODS:  # the digest counts these apart from meeting requests
        store.event("message", pk, ANSWER_EVENT, {"method": method})
    if method not in ANSWER_METHODS or info is None:
        return f"calendar {method}: for the assistant to handle"
    meeting, refused = _vetted(store, method, info, parsed, authserv_ids)
    if refused is not None or meeting is None:
        return refused
    if method == "COUNTER":
        when = info.start.isoformat() if info.start is not None else "another time"
        _attention(store, meeting["id"], f"{parsed.from_addr} proposes {when} (COUNTER)", pk)
        return f"calendar COUNTER for meeting {meeting['id']}: for the assistant to handle"
    if method == "REFRESH":
        _attention(store, meeting["id"], f"{parsed.from_addr} asks for the invitation again "
                   "(REFRESH)", pk)
        return f"calendar REFRESH for meeting {meeting['id']}: for the assistant to handle"
    if method == "DECLINECOUNTER":
        # Only an organizer sends one (RFC 5546 §3.2.8), and we organize this meeting.
        return f"calendar DECLINECOUNTER for meeting {meeting['id']}, which we organize: ignored"
    return _count_reply(store, pk, meeting, info)


def _vetted(
    store: Store, method: str, info: meetings.CalendarInfo, parsed: ParsedMessage,
    authserv_ids: list[str] | None,
) -> tuple[dict[str, Any] | None, str | None]:
    """(meeting, None) if the answer is for a meeting of ours, not for an older SEQUENCE,
    from the one attendee it speaks for, and (with `authserv_ids`) authenticated by our own
    mail server (LOOP-6); else (None, why it changes nothing)."""
    meeting = stored_meetings.by_uid(store, info.uid)
    if meeting is None:
        return None, f"calendar {method} for unknown meeting {info.uid}"
    if info.sequence < meeting["sequence"]:
        return None, f"calendar {method} for an older version (SEQUENCE {info.sequence}), ignored"
    attendees: dict[str, str] = json.loads(meeting["attendees"])
    sender = parsed.from_addr.lower()
    named = [a for a, _status in info.attendees]
    # A REPLY or REFRESH names exactly its sender (RFC 5546 §3.2.3, §3.2.6); a COUNTER may
    # repeat the proposed attendee list, but its sender must be one of them.
    speaks_for = sender in named if method == "COUNTER" else named == [sender]
    if not speaks_for or sender not in attendees:
        return None, (f"calendar {method} not from the attendee it names: ignored, "
                      "for the assistant")
    if authserv_ids:
        trusted, why = sender_authenticated(parsed, set(authserv_ids))
        if not trusted:
            return None, (f"calendar {method} from {sender} not authenticated ({why}): "
                          "for the assistant")
    return meeting, None


def _count_reply(
    store: Store, pk: int, meeting: dict[str, Any], info: meetings.CalendarInfo
) -> str | None:
    """Store a vetted REPLY's PARTSTAT (ICS-9); None when counted."""
    attendees: dict[str, str] = json.loads(meeting["attendees"])
    attendee, status = info.attendees[0]
    if status not in ANSWERS:
        return f"calendar REPLY with an unknown answer {status!r}: for the assistant"
    answered: dict[str, str] = json.loads(meeting["answered"] or "{}")
    stamp = info.dtstamp.astimezone(UTC).isoformat() if info.dtstamp else ""
    if info.sequence == meeting["sequence"] and stamp and answered.get(attendee, "") > stamp:
        return "calendar REPLY older than the answer already counted: ignored"
    attendees[attendee] = status
    answered[attendee] = stamp
    with store.tx():
        stored_meetings.set_answers(store, meeting["id"], attendees, answered)
        store.event("meeting", meeting["id"], "rsvp", {attendee: status, "message": pk})
        reason = _declined(meeting, attendees)
        if reason:
            _attention(store, meeting["id"], reason, pk)
    log.info("meeting %s: %s answered %s", meeting["id"], attendee, status)
    return None


def _declined(meeting: dict[str, Any], attendees: dict[str, str]) -> str | None:
    """Why the meeting cannot happen as planned, or None."""
    if attendees.get(meeting["client_addr"].lower()) == "DECLINED":
        return f"the client {meeting['client_addr']} declined"
    staff = [a.lower() for a in json.loads(meeting["staff"])]
    if staff and all(attendees.get(a) == "DECLINED" for a in staff):
        return "every staff member declined"
    return None


def _attention(store: Store, meeting_id: int, reason: str, message_pk: int) -> None:
    with store.tx():
        stored_meetings.set_attention(store, meeting_id, reason)
        store.event("meeting", meeting_id, "attention", {"reason": reason, "message": message_pk})
    log.info("meeting %s back to the assistant: %s", meeting_id, reason)


def listing(store: Store, now: datetime | None = None, everything: bool = False
            ) -> list[dict[str, Any]]:
    """Meetings to come (or all with `everything`), soonest first, with each attendee's answer
    and why the assistant must act, if they must."""
    rows = stored_meetings.not_cancelled(store)
    now = now or datetime.now(UTC)
    out = []
    for r in rows:
        if not everything and datetime.fromisoformat(r["end"]) < now:
            continue
        r["attendees"] = json.loads(r["attendees"])
        r["staff"] = json.loads(r["staff"])
        out.append(r)
    return out
