"""Structure signals: headers that say a message was sent by a machine (RFC 3834, LOOP-2).

These decide "other" on their own and feed the loop gate: nothing automatic is ever sent to a
message that shows one of them. Calendar parts (iTIP) mark meeting business.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import ClassVar

from inboxops.classifiers.base import Classifier, Verdict, register
from inboxops.classifiers.reading import Reading
from inboxops.models import ParsedMessage

_LIST_HEADERS = (
    "list-id", "list-unsubscribe", "list-help", "list-post", "list-owner", "list-subscribe",
    "list-archive",
)
_BULK_PRECEDENCE = {"bulk", "list", "junk", "auto_reply"}
_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder")
_ROBOT_LOCAL = re.compile(
    r"^(mailer-daemon|listserv|majordomo|postmaster|no-?reply|do-?not-?reply|donotreply|"
    r"bounces?|notifications?|.*-request|owner-.*|.*\+bounces?)$",
    re.IGNORECASE,
)


def automation_signals(msg: ParsedMessage, own_addresses: set[str] | frozenset[str]) -> list[str]:
    """Reasons a message must never get an automatic answer (LOOP-2 rules 1-9), in words."""
    found: list[str] = []
    auto = msg.headers.get("auto-submitted", [])
    if len(auto) > 1:
        found.append("more than one Auto-Submitted header")
    elif auto and auto[0].strip().lower().split(";")[0] != "no":
        found.append(f"Auto-Submitted: {auto[0].strip()}")
    if msg.return_path == "":
        found.append("empty Return-Path <> (a bounce or notification)")
    for name in _LIST_HEADERS:
        if name in msg.headers:
            found.append(f"{name.title()} header present (mailing list)")
            break
    for name in ("precedence", "x-precedence"):
        value = (msg.header(name) or "").strip().lower()
        if value in _BULK_PRECEDENCE:
            found.append(f"{name.title()}: {value}")
    for name in _AUTO_HEADERS:
        if name in msg.headers:
            found.append(f"{name.title()} header present")
    if (msg.header("x-loop") or "").strip().lower() == "yes":
        found.append("X-Loop: yes")
    if msg.content_type == "multipart/report":
        found.append("delivery status report (multipart/report)")
    local = msg.from_addr.partition("@")[0]
    if not msg.from_addr:
        found.append("no sender address")
    elif _ROBOT_LOCAL.match(local):
        found.append(f"robot sender {msg.from_addr}")
    if msg.from_addr in own_addresses:
        found.append(f"sent by ourselves ({msg.from_addr})")
    elif msg.message_id and own_addresses and msg.message_id[:-1].rpartition("@")[2].lower() in (
        _domains(own_addresses) if isinstance(own_addresses, frozenset)
        else {a.partition("@")[2] for a in own_addresses}
    ):
        found.append(f"Message-ID from our own domain ({msg.message_id})")
    return found


@lru_cache(maxsize=8)
def _domains(own_addresses: frozenset[str]) -> frozenset[str]:
    """The domains of our addresses, worked out once per set, not once per message."""
    return frozenset(a.partition("@")[2] for a in own_addresses)


def courtesy_signals(msg: ParsedMessage) -> list[str]:
    """Softer signals: a human may still answer, but nothing is sent without approval."""
    found = []
    suppress = (msg.header("x-auto-response-suppress") or "").lower()
    if any(word in suppress for word in ("all", "oof", "autoreply")):
        found.append(f"X-Auto-Response-Suppress: {suppress}")
    if msg.return_path is None:
        found.append("no Return-Path")
    return found


@register
class SignalsClassifier(Classifier):
    """Decides "other" from automation headers and "meeting" from iTIP calendar parts."""

    name: ClassVar[str] = "signals"
    own_addresses: frozenset[str] = frozenset()

    def assess(self, reading: Reading) -> Verdict:
        return self.judge(reading.msg)

    def judge(self, msg: ParsedMessage) -> Verdict:
        verdict = Verdict()
        if msg.calendar_method:
            verdict.add("meeting", 5.0, f"calendar part, METHOD:{msg.calendar_method}")
            verdict.decisive = True
            return verdict
        for reason in automation_signals(msg, self.own_addresses):
            verdict.add("other", 3.0, reason)
        verdict.decisive = bool(verdict.scores)
        return verdict
