"""The assistant corrects a category: recorded, learned from at once, never rewriting history.

The message gets the new category, the old one stays in the event log, the correction becomes
an example for the learned classifier, and a pending draft written for the wrong category is
superseded by one for the right category (or none, for "other").
"""

from __future__ import annotations

import json

from inboxops.classifiers.learned import features
from inboxops.errors import StateError
from inboxops.models import CATEGORIES
from inboxops.store import Store, corrections, drafts, messages


def record(
    store: Store, category: str, subject: str, text: str, *, message_pk: int | None = None,
    old_category: str | None = None, origin: str = "reclassify",
) -> int:
    """Store one labelled example for the learned classifier; its id."""
    return corrections.add(store, category, " ".join(sorted(features(subject, text))),
                           message_pk=message_pk, old_category=old_category, origin=origin)


def reclassify(store: Store, message_pk: int, category: str, origin: str = "reclassify") -> bool:
    """Give a message its right category; False if it already had it. Supersedes its draft."""
    if category not in CATEGORIES:
        raise StateError(f"unknown category {category!r}; use one of {', '.join(CATEGORIES)}")
    message = store.require("messages", message_pk)
    if message["state"] != "processed":
        raise StateError(f"message {message_pk} is {message['state']}, not processed yet")
    old = message["category"]
    if old == category:
        return False
    reasons = [*json.loads(message["reasons"] or "[]"), f"corrected by the assistant (was {old})"]
    with store.tx():
        messages.set_category(store, message_pk, category, reasons)
        store.event("message", message_pk, "reclassified",
                    {"from": old, "to": category, "origin": origin})
        record(store, category, message["subject"] or "", message["text"] or "",
               message_pk=message_pk, old_category=old, origin=origin)
        for draft in drafts.pending_for_message(store, message_pk):
            store.transition("drafts", draft["id"], ("pending",), "superseded",
                             detail=f"message reclassified as {category}")
            if draft["meeting_pk"]:
                store.transition("meetings", draft["meeting_pk"], ("proposed",), "cancelled")
    return True
