"""Responders turn a classified message into a draft reply; one per category that gets one.

"other" has no responder, so it never gets a draft. Built-ins register themselves in RESPONDERS
the way a plug-in would.
"""

from .base import RESPONDERS, Draft, MeetingPlan, Responder, register
from .meeting import MeetingResponder
from .reply import ReplyResponder

__all__ = [
    "RESPONDERS", "Draft", "MeetingPlan", "MeetingResponder", "ReplyResponder", "Responder",
    "register",
]
