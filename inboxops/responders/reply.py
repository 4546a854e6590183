"""Inquiry and complaint replies: one template set per category and language."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from inboxops.models import Classification, ParsedMessage
from inboxops.responders.base import Draft, Responder, base_context, recipient, register


@register
class ReplyResponder(Responder):
    """Renders `<category>.<lang>.*` with the client's name, references and the quote."""

    categories: ClassVar[tuple[str, ...]] = ("inquiry", "complaint")

    def draft(
        self, msg: ParsedMessage, decision: Classification, busy: list[tuple[datetime, datetime]],
        now: datetime,
    ) -> Draft:
        context = base_context(msg, self.cfg)
        subject, text, html = self.renderer.render_set(
            decision.category, msg.language, context, html=self.cfg.replies.html
        )
        to_addr, to_name, reason = recipient(msg)
        return Draft(to_addr, to_name, reason, subject, text, html)
