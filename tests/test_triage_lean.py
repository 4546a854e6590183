"""The backlog intake's lean worker answer (service.triage.triage_for_ingest): the same
decision and every field `Pipeline.ingest` writes, without what only drafting reads."""

from __future__ import annotations

import dataclasses
import pickle

from mailfactory import client_mail

from inboxops import config
from inboxops.service import triage

# What Pipeline._at_once, _outcome, _message_fields and _thread_key read.
KEPT = ("message_id", "from_addr", "from_name", "reply_to", "subject", "date", "in_reply_to",
        "references", "text", "language", "defects", "calendar_method", "return_path",
        "content_type")


def test_the_lean_answer_keeps_what_ingest_reads_and_is_a_fraction_of_the_size() -> None:
    triage.start(dataclasses.replace(triage.Setup.of(config.default()), store_path=None))
    quoted = "\n".join(f"> line {i} of the message this answers" for i in range(60))
    raw = client_mail(subject="Re: Price question", body=f"How much is it?\n\n{quoted}",
                      headers={"List-Id": "<news.example>", "X-Mailer": "x" * 500})
    whole, lean = triage.triage(raw), triage.triage_for_ingest(raw)
    assert lean.decision == whole.decision and lean.decision is not None
    assert (lean.robot, lean.courtesy, lean.error) == (whole.robot, whole.courtesy, whole.error)
    assert lean.robot  # the list header was read before the header dict was dropped
    for name in KEPT:
        assert getattr(lean.parsed, name) == getattr(whole.parsed, name), name
    assert (lean.parsed.headers, lean.parsed.full_text, lean.parsed.to) == ({}, "", [])
    assert len(pickle.dumps(lean)) * 2 < len(pickle.dumps(whole))
