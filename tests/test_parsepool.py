"""A backlog is parsed in worker processes (PARSE-3): results in order, errors reported, and a
message whose parse runs past the limit is quarantined while the rest go on."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from configs import maildir_config
from helpers import cli, drafts, drop
from mailfactory import client_mail
from slow_parser import parse_or_hang

from inboxops.errors import ParseError
from inboxops.intake.parsepool import ParsePool
from inboxops.models import ParsedMessage


def test_a_batch_is_parsed_in_order_and_a_hanging_message_times_out() -> None:
    items = [(i, client_mail(subject=f"Question {i}")) for i in range(20)]
    items[7] = (7, client_mail(subject="Hostile", headers={"X-Test-Hang": "yes"}))
    items[12] = (12, b"\r\n\r\n")  # not a message at all
    pool = ParsePool(workers=1, timeout=3, parser=parse_or_hang)
    try:
        results = list(pool.parse(items))
    finally:
        pool.close()
    assert [pk for pk, _ in results] == list(range(20))
    outcome = dict(results)
    assert isinstance(outcome[7], ParseError) and "longer than 3 s" in str(outcome[7])
    assert isinstance(outcome[12], ParseError)
    assert all(isinstance(outcome[i], ParsedMessage) for i in range(20) if i not in (7, 12))
    assert outcome[19].subject == "Question 19"  # a fresh pool took over after the kill


def test_a_backlog_through_the_daemon_uses_the_pool_and_drafts_everything(
    tmp_path: Path
) -> None:
    config = maildir_config(tmp_path)
    for i in range(40):  # above the in-process threshold
        drop(tmp_path / "mail", f"17000009{i:02d}.M1P1.t",
             client_mail(subject=f"Price question {i}", body=f"How much is item {i}?"))
    cli(config, "run", "--once")
    assert sorted(d["subject"] for d in drafts(config)) == sorted(
        f"Re: Price question {i}" for i in range(40))


@pytest.mark.parametrize("size", [1, 100])
def test_a_hanging_parse_is_cut_at_the_time_limit_in_a_batch_of_any_size(size: int) -> None:
    """Issue 10: no batch is too small for the time limit (small ones used to parse inline)."""
    hang = size // 2
    items = [(i, client_mail(subject=f"Question {i}")) for i in range(size)]
    items[hang] = (hang, client_mail(subject="Hostile", headers={"X-Test-Hang": "yes"}))
    pool = ParsePool(workers=1, timeout=2, parser=parse_or_hang)
    started = time.monotonic()
    try:
        outcome = dict(pool.parse(items))
    finally:
        pool.close()
    assert time.monotonic() - started < 20  # cut at ~2 s, not the parser's 600 s
    assert sorted(outcome) == list(range(size))
    assert isinstance(outcome[hang], ParseError) and "longer than 2 s" in str(outcome[hang])
    assert all(isinstance(outcome[i], ParsedMessage) for i in range(size) if i != hang)


def test_one_new_message_is_parsed_by_a_warm_worker_without_a_start_up_cost() -> None:
    pool = ParsePool(workers=1)
    try:
        pool.warm()
        list(pool.parse([(0, client_mail())]))  # the workers are up
        took = []
        for i in range(5):
            started = time.perf_counter()
            ((pk, parsed),) = pool.parse([(i, client_mail(subject=f"New {i}"))])
            took.append(time.perf_counter() - started)
            assert pk == i and isinstance(parsed, ParsedMessage)
    finally:
        pool.close()
    assert sorted(took)[2] < 0.05, took  # a warm worker: about a millisecond; a new pool: more


def test_a_worker_that_dies_costs_only_the_message_it_died_on() -> None:
    """The workers are plain child processes: one that exits mid-chunk is replaced, the
    message it died on is an error (quarantined), and the rest of its chunk is parsed."""
    items = [(i, client_mail(subject=f"Question {i}")) for i in range(40)]
    items[5] = (5, client_mail(subject="Fatal", headers={"X-Test-Die": "yes"}))
    pool = ParsePool(workers=2, timeout=5, parser=parse_or_hang)
    try:
        outcome = dict(pool.parse(items))
        again = dict(pool.parse([(99, client_mail(subject="After"))]))
    finally:
        pool.close()
    assert isinstance(outcome[5], ParseError)
    assert all(isinstance(outcome[i], ParsedMessage) for i in range(40) if i != 5)
    assert isinstance(again[99], ParsedMessage) and again[99].subject == "After"


def test_a_batch_may_ask_for_another_work_function_by_name() -> None:
    """The backlog intake asks for a leaner answer (service.triage.triage_for_ingest) from
    the same workers; the next batch without one gets the pool's own again."""
    from slow_parser import subject_of

    def not_importable(raw: bytes) -> str:
        return "never"

    items = [(i, client_mail(subject=f"Question {i}")) for i in range(40)]
    pool = ParsePool(workers=1, timeout=10, parser=parse_or_hang)
    try:
        other = dict(pool.parse(items, parser=subject_of))
        own = dict(pool.parse(items[:3]))
        broken = dict(pool.parse(items[:2], parser=not_importable))
        again = dict(pool.parse(items[:2], parser=subject_of))
    finally:
        pool.close()
    assert other == {i: f"QUESTION {i}" for i in range(40)}
    assert [m.subject for m in own.values()] == ["Question 0", "Question 1", "Question 2"]
    assert all(isinstance(e, ParseError) and "AttributeError" in str(e)
               for e in broken.values()) and len(broken) == 2
    assert again == {0: "QUESTION 0", 1: "QUESTION 1"}


def test_a_backlog_starts_the_second_worker_and_shrink_stops_it_after() -> None:
    pool = ParsePool(workers=2)
    try:
        pool.warm()
        assert pool._started == 1  # new mail needs one
        backlog = [(i, client_mail(subject=f"Old {i}")) for i in range(100)]  # several chunks
        assert len(list(pool.parse(backlog))) == 100
        assert pool._started == 2
        gone = pool._idle[1].proc
        pool.shrink()
        assert pool._started == 1 and gone.poll() is not None  # its process has ended
        ((pk, parsed),) = pool.parse([(7, client_mail())])
        assert pk == 7 and isinstance(parsed, ParsedMessage)
    finally:
        pool.close()
