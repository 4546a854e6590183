"""Meeting requests: find the proposed time, choose a free slot, draft the proposal.

The invitation itself is built after approval (approve.py), from the slot stored here.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo

from inboxops.config import MeetingsConfig
from inboxops.errors import StateError
from inboxops.models import Classification, ParsedMessage
from inboxops.responders.base import (
    Draft,
    MeetingPlan,
    Responder,
    base_context,
    format_when,
    recipient,
    register,
)
from inboxops.responders.meetings import WorkingHours, extract_times, find_slots
from inboxops.responders.meetings.place import requested_place
from inboxops.responders.meetings.vocab import _fold


def working_hours(cfg: MeetingsConfig) -> WorkingHours:
    """The slot finder's view of [meetings] config."""
    return WorkingHours(
        timezone=cfg.timezone,
        day_start=cfg.day_start,
        day_end=cfg.day_end,
        work_days=tuple(cfg.work_days),
        duration=timedelta(minutes=cfg.duration_minutes),
        buffer=timedelta(minutes=cfg.buffer_minutes),
        holidays=tuple(date.fromisoformat(d) for d in cfg.holidays),
        search_days=cfg.search_days,
    )


_WORD = re.compile(r"\w+")


def route_staff(cfg: MeetingsConfig, text: str, sender: str) -> list[str]:
    """The staff of the first [[meetings.routes]] that matches the sender's domain (or a parent
    domain) or a keyword of the text; else [meetings] staff. Config order is match order."""
    domain = sender.rpartition("@")[2].lower()
    words = f" {' '.join(_WORD.findall(_fold(text).lower()))} "
    for route in cfg.routes:
        if any(domain == d or domain.endswith("." + d) for d in route.domains):
            return list(route.staff)
        for keyword in route.keywords:
            phrase = " ".join(_WORD.findall(_fold(keyword).lower()))
            if phrase and f" {phrase} " in words:
                return list(route.staff)
    return list(cfg.staff)


def choose_place(cfg: MeetingsConfig, text: str, language: str) -> str:
    """The client's place if they name it, the video link if they ask to meet online, else
    the office's default location."""
    asked = requested_place(text)
    if asked is None:
        return cfg.location
    if asked.kind == "online":
        return cfg.video_link or cfg.location
    if asked.text:
        return asked.text
    return "la sediul clientului" if language == "ro" else "at the client's office"


@register
class MeetingResponder(Responder):
    """Proposes the client's time when free, else the nearest free slots."""

    categories: ClassVar[tuple[str, ...]] = ("meeting",)

    def draft(
        self, msg: ParsedMessage, decision: Classification, busy: list[tuple[datetime, datetime]],
        now: datetime,
    ) -> Draft:
        mcfg = self.cfg.meetings
        tz = ZoneInfo(mcfg.timezone)
        reference = (msg.date or now).astimezone(tz)
        text = f"{msg.subject}\n{msg.text}"
        proposals = extract_times(text, reference, msg.language, mcfg.timezone)
        location = choose_place(mcfg, text, msg.language)
        staff = route_staff(mcfg, text, msg.from_addr)
        hours = working_hours(mcfg)
        slots = find_slots(proposals, busy, hours, now.astimezone(tz), count=3)
        context = base_context(msg, self.cfg)
        summary = (
            f"{self.cfg.replies.company} – {msg.from_name or msg.from_addr}"
        )
        if not slots:
            raise StateError(
                f"no free slot in working hours within {hours.search_days} days; "
                "the assistant must propose a time"
            )
        chosen = slots[0]
        context["meeting"] = {
            "when": format_when(chosen.start, msg.language),
            "from_client": chosen.from_client,
            "location": location,
            "alternatives": [format_when(s.start, msg.language) for s in slots[1:]],
        }
        context["summary"] = summary
        subject, text, html = self.renderer.render_set(
            "meeting", msg.language, context, html=self.cfg.replies.html
        )
        to_addr, to_name, reason = recipient(msg)
        plan = MeetingPlan(slots=slots, location=location, summary=summary, staff=staff)
        return Draft(to_addr, to_name, reason, subject, text, html, meeting=plan)
