"""The benchmark's corpus: read from disk one message at a time, some of it made recent.

A corpus of 100,000 messages is about 1.1 GB: it is never held in memory. `Corpus` keeps the
paths and streams each message (with its INTERNALDATE) to whoever loads a mailbox.

Why some messages are made recent: the corpus is old mail (2023 onwards), outside the daemon's
drafting window (`[replies] draft_window_days`, default 7), so a first start on it makes no
draft and an idle daemon has nothing pending. Issue 15 measures the idle daemon WITH 1,000
pending drafts, as an assistant who is behind would have. Widening the benchmark's window
instead would draft all of it (about 8 in 10 corpus messages are inquiries or meeting
requests: 80,000 drafts at 100,000, none of them like a real day), so `pick_fresh` chooses the
messages a person would still answer today, by the daemon's own classifier chain and config,
spread evenly over the corpus, and `Corpus.messages` gives exactly those a Date header and an
INTERNALDATE (the Maildir file's mtime) of the last hours. The rest keep their old dates, so
they still go through the window's "no draft" path as a real backlog does.

So that each chosen message stays a pending draft of its own, the chooser skips meeting
requests (each proposal holds a slot of the staff's week: a few dozen fit, not hundreds, and
the rest would get "no free slot"), replies (a reply joins the thread of the mail it answers)
and a second message of the same sender and subject (one open draft per conversation: the
newer supersedes the older).
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Iterator
from pathlib import Path

OLD_ENOUGH = 30 * 86400  # the newest message not made fresh is this old (the window is 7 days)
_DATE = re.compile(rb"(?mi)^Date:[^\r\n]*")
FRESH_SPACING = 60.0  # seconds between two fresh messages' dates, the newest a minute ago


class Corpus:
    """The first `count` .eml files of a directory (sorted by name), streamed."""

    def __init__(self, directory: Path, count: int) -> None:
        paths = sorted(p for p in directory.rglob("*.eml") if p.is_file())
        if len(paths) < count:
            raise SystemExit(f"{directory} holds {len(paths)} .eml files, fewer than "
                             f"--count {count}")
        self.directory = directory
        self.paths = paths[:count]
        self.fresh: dict[int, float] = {}  # index -> the recent date it is given

    def __len__(self) -> int:
        return len(self.paths)

    def size(self) -> int:
        return sum(p.stat().st_size for p in self.paths)

    def make_fresh(self, indexes: list[int], now: float | None = None) -> None:
        """Give these messages dates of the last hours, one FRESH_SPACING apart, in order."""
        now = time.time() if now is None else now
        ordered = sorted(indexes)
        self.fresh = {i: now - FRESH_SPACING * (len(ordered) - k)
                      for k, i in enumerate(ordered)}

    def age(self, now: float | None = None) -> float:
        """Seconds to move the other messages back by so the newest is OLD_ENOUGH old: a
        corpus generated today ends today, and a tenth of 100,000 messages would fall inside
        the drafting window (10,526 drafts, each written and published alone)."""
        now = time.time() if now is None else now
        newest = max((p.stat().st_mtime for p in self.paths), default=0.0)
        return max(0.0, newest - (now - OLD_ENOUGH))

    def messages(self) -> Iterator[tuple[bytes, float]]:
        """(raw bytes, INTERNALDATE as a Unix time) of each message, in order, one at a time."""
        back = self.age()
        for i, path in enumerate(self.paths):
            raw = path.read_bytes()
            when = self.fresh.get(i)
            if when is not None:
                yield redate(raw, when), when
            elif back:
                old = path.stat().st_mtime - back  # gen_corpus.py sets mtime = Date
                yield redate(raw, old), old
            else:
                yield raw, path.stat().st_mtime


def redate(raw: bytes, when: float) -> bytes:
    """The message with its Date header (the first one, in the header section) set to `when`."""
    end = raw.find(b"\r\n\r\n")
    end = len(raw) if end < 0 else end
    date = b"Date: " + email.utils.formatdate(when).encode()
    head, n = _DATE.subn(lambda _m: date, raw[:end], count=1)
    if not n:
        head += b"\r\n" + date
    return head + raw[end:]


def pick_fresh(corpus: Corpus, config: Path, want: int) -> list[int]:
    """`want` message indexes the daemon would draft a reply to were they recent, spread over
    the corpus: candidates are taken at a stride, then the gaps, until enough are found.
    Uses the daemon's classifier chain and settings from `config` (not timed)."""
    if want <= 0:
        return []
    from inboxops.classifiers import Chain  # the project's own code: imported when used
    from inboxops.classifiers.signals import automation_signals
    from inboxops.config import load
    from inboxops.intake.parse import parse_message
    from inboxops.responders import RESPONDERS
    from inboxops.responders.compose import reply_subject

    cfg = load(config)
    own = frozenset(cfg.own_addresses)
    chain = Chain.from_names(cfg.classify.chain, options=cfg.classify.options,
                             shared={"signals": {"own_addresses": own},
                                     "learned": {"store": None}})
    n = len(corpus)
    stride = max(1, n // max(1, want * 2))  # about half the candidates qualify
    order = [i for offset in range(stride) for i in range(offset + stride // 2, n, stride)]
    order += range(stride // 2)  # the head, before the first stride
    picked: list[int] = []
    conversations: set[str] = set()
    for i in order:
        parsed = parse_message(corpus.paths[i].read_bytes())
        if parsed.in_reply_to or parsed.references or parsed.calendar_method:
            continue
        conversation = f"{parsed.from_addr}|{reply_subject(parsed.subject).lower()}"
        if conversation in conversations:
            continue
        verdict = chain.classify(parsed)
        if (verdict.category in RESPONDERS and verdict.category != "meeting"
                and not verdict.lean and verdict.confidence >= cfg.classify.min_confidence
                and not automation_signals(parsed, own)):
            picked.append(i)
            conversations.add(conversation)
            if len(picked) == want:
                break
    return picked
