"""Responders turn a classified message into a draft reply; one per category that gets one.

"other" has no responder, so it never gets a draft. Built-ins register themselves in RESPONDERS
the way a plug-in would.
"""

from inboxops.responders.base import RESPONDERS, Draft, MeetingPlan, Responder, register
from inboxops.responders.meeting import MeetingResponder
from inboxops.responders.reply import ReplyResponder

__all__ = [
    "RESPONDERS", "Draft", "MeetingPlan", "MeetingResponder", "ReplyResponder", "Responder",
    "register",
]
