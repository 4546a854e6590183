"""`inboxops eval-times` and the rule it exposed: a stated weekday fixes a year left unsaid.

Every sentence here is written for these tests.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from inboxops.responders.meetings import extract_times
from tests.configs import maildir_config
from tests.helpers import cli, invoke

TZ_NAME = "Europe/Bucharest"
REF = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo(TZ_NAME))  # a Thursday


def starts(text: str, lang: str = "en", reference: datetime = REF) -> list[str]:
    return [p.start.strftime("%Y-%m-%d %H:%M") for p in
            extract_times(text, reference, lang, TZ_NAME)]


def test_a_weekday_that_contradicts_the_guessed_year_moves_the_year() -> None:
    # 10 June is a Thursday in 2027 (the year we would guess) but a Wednesday in 2026 and a
    # Saturday in 2028; "Wednesday, June 10" can only be 2026 (the nearest such year).
    assert starts("Could we meet on Wednesday, June 10 at 2pm?") == ["2026-06-10 14:00"]
    # 3 March 2027 (the guess) is a Wednesday: nothing moves
    assert starts("Wednesday, March 3 at 11:00 suits me.") == ["2027-03-03 11:00"]
    # 3 March 2028 is a Friday: the nearest Friday 3 March from 2027 is 2028, ahead
    assert starts("Friday, March 3 at 11:00 suits me.") == ["2028-03-03 11:00"]
    assert starts("Vineri, 3 martie, la ora 11", "ro") == ["2028-03-03 11:00"]


def test_a_weekday_that_agrees_or_a_stated_year_changes_nothing() -> None:
    assert starts("Thursday, June 10 at 2pm works.") == ["2027-06-10 14:00"]
    # the year is written: it wins, even in the past (the slot finder refuses past slots)
    assert starts("Wednesday, June 10, 2027 at 2pm") == ["2027-06-10 14:00"]
    assert starts("Wednesday, June 10, 2026 at 2pm") == ["2026-06-10 14:00"]
    assert starts("June 10 at 2pm") == ["2027-06-10 14:00"]


def write_items(path: Path, items: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    return path


def test_eval_times_counts_exact_sets_only(tmp_path: Path) -> None:
    config = maildir_config(tmp_path)
    ref = "2026-11-26T10:00:00"
    items = write_items(tmp_path / "times.jsonl", [
        # right: both alternatives
        {"id": "a", "lang": "en", "text": "Tuesday or Wednesday at 3pm?", "reference": ref,
         "expected": ["2026-12-01T15:00", "2026-12-02T15:00"]},
        # right: a day without a time is a date
        {"id": "b", "lang": "ro", "text": "Putem vorbi pe 3 decembrie?", "reference": ref,
         "expected": ["2026-12-03"]},
        # wrong on purpose: one alternative missing from the expected set
        {"id": "c", "lang": "en", "text": "Monday at 10 or Friday at 4pm", "reference": ref,
         "expected": ["2026-11-30T10:00"]},
    ])
    result = json.loads(cli(config, "eval-times", str(items), "--json"))
    assert result == {"n": 3, "exact": 2, "share": 0.6667}
    text = cli(config, "eval-times", str(items))
    assert "share 0.667" in text and "miss c" in text and "2026-11-27T16:00" in text
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "text": "at 3", "reference": "yesterday", "expected": []}\n')
    failed = invoke(config, "eval-times", str(bad))
    assert failed.exit_code == 1 and "bad.jsonl:1" in failed.output


def test_an_explicit_past_date_is_read_as_written_in_english() -> None:
    # Written after the event, or with a wrong clock: the reader reports what was said.
    assert starts("The review took place on Monday, 9 November 2026 at 11:00.") == [
        "2026-11-09 11:00"]
    assert starts("Agenda for the meeting of 10/14/2026, 2 pm") == ["2026-10-14 14:00"]
    # relative words still never reach back before the reference
    assert starts("last Monday at 11") == []


def test_an_explicit_past_date_is_read_as_written_in_romanian() -> None:
    assert starts("Ședința a avut loc pe 3 noiembrie 2026, la ora 14.", "ro") == [
        "2026-11-03 14:00"]
    assert starts("luni trecută la ora 10", "ro") == []


def test_the_slot_finder_still_refuses_an_explicit_past_date() -> None:
    from inboxops.responders.meetings.slots import WorkingHours, find_slots

    (past,) = extract_times("on 3 March 2025 at 10", REF, "en", TZ_NAME)
    assert past.start < REF
    slots = find_slots([past], [], WorkingHours(timezone=TZ_NAME), REF)
    assert slots and all(s.start > REF and not s.from_client for s in slots)


def test_a_monthly_series_with_an_exception_is_followed() -> None:
    en = starts("We meet the second Tuesday of each month, except June, at 3 pm.")
    assert en[:3] == ["2026-12-08 15:00", "2027-01-12 15:00", "2027-02-09 15:00"]
    assert len(en) == 10 and not any(s.startswith("2027-06") for s in en)
    # a year named: that year's months; two months left out; a time said before "except"
    board = starts("Board: the first Monday of every month in 2027 at 10:00, except January "
                   "and August.")
    assert board[0] == "2027-02-01 10:00" and len(board) == 10
    assert not any(s.startswith(("2027-01", "2027-08")) for s in board)
    ro = starts("Ne vedem în a doua marți a fiecărei luni, cu excepția lunii iunie, la ora 15.",
                "ro")
    assert ro == en
    # one day of the series left out, the rest kept
    last = starts("the last Friday of each month at 4pm, except December 25")
    assert last[0] == "2026-11-27 16:00" and "2026-12-25 16:00" not in last and len(last) == 11
