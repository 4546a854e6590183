"""The review lane end to end: what inboxops is unsure of lands in InboxOps/Review on a real
Dovecot, is listed as needing a human in `drafts` and in the digest, and its draft (if any) is
marked uncertain; what it is sure of is filed by category as before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from configs import imap_config
from helpers import cli, drafts
from mailfactory import client_mail

from inboxops import config as config_module

REVIEW = config_module.default().classify.review_below


def test_unsure_mail_goes_to_review_and_is_shown_as_needing_a_human(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    dovecot = imap_user.dovecot
    config = imap_config(tmp_path, imap_user, smtp_sink, mailbox={"sort": "folder"})
    sure = client_mail(to=imap_user.address, subject="Complaint: broken delivery",
                       body="The parcel arrived broken and damaged. This is unacceptable, "
                            "I want a refund.")
    # A few plain words that could be a question or a report: a lean towards one category.
    unsure = client_mail(to=imap_user.address, subject="Courtyard gate card",
                         body="Hello, the barrier card for the courtyard gate stopped opening it.")
    nothing = client_mail(to=imap_user.address, subject="hm", body="ok")  # nothing to go on
    for raw in (sure, unsure, nothing):
        dovecot.append(imap_user.address, raw)

    cli(config, "run", "--once")

    rows = {r["subject"]: r for r in json.loads(cli(config, "messages", "--json"))}
    assert rows["Complaint: broken delivery"]["confidence"] >= REVIEW
    assert rows["Courtyard gate card"]["confidence"] < REVIEW
    assert rows["hm"]["confidence"] < REVIEW
    assert len(dovecot.fetch_all(imap_user.address, "InboxOps/Complaint")) == 1
    assert len(dovecot.fetch_all(imap_user.address, "InboxOps/Review")) == 2
    assert dovecot.fetch_all(imap_user.address, "INBOX") == []

    # drafts: the unsure message is drafted in its most likely category, flagged for review;
    # the one with nothing to go on has no draft and is listed as needing you.
    by_subject = {d["subject"]: d for d in drafts(config)}
    assert by_subject["Re: Courtyard gate card"]["needs_review"] is True
    assert by_subject["Re: Complaint: broken delivery"]["needs_review"] is False
    assert "Re: hm" not in by_subject
    text = cli(config, "drafts")
    review_line = next(line for line in text.splitlines() if "Courtyard" in line)
    assert "REVIEW" in review_line
    assert "REVIEW" not in next(line for line in text.splitlines() if "broken" in line)
    assert "Needs you: 1 message(s)" in text and f"#{rows['hm']['id']}" in text
    shown = cli(config, "show", str(by_subject["Re: Courtyard gate card"]["id"]))
    assert "NEEDS REVIEW" in shown

    # The digest lists the lane too, and marks the uncertain draft.
    digest = cli(config, "digest")
    assert "Messages for you to sort (the classifier was unsure): 1" in digest
    assert "Courtyard gate card (waiting" in digest and "unsure: check the category" in digest
    assert "broken delivery (waiting" in digest

    # Moving the message out of Review into a category is a correction, as for any folder.
    with imap_user.client() as client:
        client.select_folder("InboxOps/Review")
        uids = client.search(["SUBJECT", "hm"])
        client.create_folder("InboxOps/Inquiry")
        client.move(uids, "InboxOps/Inquiry")
    cli(config, "run", "--once")
    rows = {r["subject"]: r for r in json.loads(cli(config, "messages", "--json"))}
    assert rows["hm"]["category"] == "inquiry" and rows["hm"]["confidence"] == 1.0
    assert "Needs you" not in cli(config, "drafts")
