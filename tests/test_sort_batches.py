"""Sorting a backlog in the mailbox: one UID STORE (or MOVE) per category and batch, progress
recorded per batch, and a stop honoured between two batches (issue 15), on a real Dovecot."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from configs import imap_config
from mailfactory import client_mail

from inboxops import config
from inboxops.intake.imap import ImapSource
from inboxops.outbound import mailbox as mailbox_module
from inboxops.outbound.mailbox import ImapMailbox, uid_set


def test_uid_set_makes_ranges_of_runs() -> None:
    assert uid_set([5, 1, 2, 3, 9, 10, 7]) == "1:3,5,7,9:10"
    assert uid_set([4]) == "4"
    assert uid_set([]) == ""


@contextmanager
def _setup(tmp_path: Path, imap_user: Any, smtp_sink: Any, n: int, sort: str
           ) -> Iterator[tuple[ImapMailbox, list[dict[str, Any]]]]:
    for i in range(n):
        imap_user.dovecot.append(imap_user.address, client_mail(subject=f"order {i}"))
    cfg = config.load(imap_config(tmp_path, imap_user, smtp_sink,
                                  mailbox={"security": "none", "sort": sort}))
    with imap_user.dovecot.client(imap_user.address) as c:
        info = c.select_folder("INBOX")
        validity, uids = int(info[b"UIDVALIDITY"]), c.search("ALL")
    categories = ["inquiry", "complaint"]
    rows = [{"id": 100 + i, "uid": uid, "uidvalidity": validity, "source_key": f"{validity}:{uid}",
             "category": categories[i % 2]} for i, uid in enumerate(uids)]
    box = ImapMailbox(ImapSource(cfg.mailbox))
    try:
        yield box, rows
    finally:
        box.close()  # the connection it keeps between actions


def _flags(imap_user: Any) -> dict[int, set[str]]:
    return {uid: flags for uid, flags, _ in imap_user.dovecot.fetch_all(imap_user.address)}


def test_keywords_are_set_per_batch_and_reported_per_batch(
    tmp_path: Path, imap_user: Any, smtp_sink: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mailbox_module, "SORT_BATCH", 2)
    with _setup(tmp_path, imap_user, smtp_sink, 5, "keyword") as (box, rows):
        reported: list[list[int]] = []
        done = box.apply_categories(rows, on_done=reported.append)
        assert sorted(done) == [r["id"] for r in rows]
        # inquiry: 3 messages in batches of 2 + 1; complaint: 2 in one batch
        assert [len(b) for b in reported] == [2, 1, 2]
        flags = _flags(imap_user)
        for row in rows:
            keyword = mailbox_module.KEYWORDS[row["category"]]
            assert keyword in flags[row["uid"]], (row, flags)
            assert "\\Seen" not in flags[row["uid"]]


def test_a_stop_between_batches_leaves_the_rest_unsorted_and_unreported(
    tmp_path: Path, imap_user: Any, smtp_sink: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mailbox_module, "SORT_BATCH", 2)
    with _setup(tmp_path, imap_user, smtp_sink, 6, "keyword") as (box, rows):
        stop = threading.Event()
        reported: list[int] = []

        def on_done(ids: list[int]) -> None:
            reported.extend(ids)
            stop.set()  # SIGTERM arrives while the first batch is recorded

        done = box.apply_categories(rows, on_done=on_done, stop=stop)
        assert done == reported and len(done) == 2
        flags = _flags(imap_user)
        for row in rows:
            has_keyword = mailbox_module.KEYWORDS[row["category"]] in flags[row["uid"]]
            # what was reported sorted is sorted in the mailbox, and nothing else is
            assert has_keyword == (row["id"] in reported), (row, flags)


def test_folder_sorting_moves_a_batch_with_one_command(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    with _setup(tmp_path, imap_user, smtp_sink, 4, "folder") as (box, rows):
        reported: list[list[int]] = []
        box.apply_categories(rows, on_done=reported.append)
        assert [len(b) for b in reported] == [2, 2]  # one MOVE per category
        assert imap_user.dovecot.fetch_all(imap_user.address) == []
        folders = imap_user.dovecot.folders(imap_user.address)
        inquiries = [f for f in folders if f.endswith("Inquiry")]
        assert inquiries and len(imap_user.dovecot.fetch_all(imap_user.address, inquiries[0])) == 2
