"""'In N days/weeks/months': calendar arithmetic without dateparser, month ends clamped."""

from __future__ import annotations

from datetime import date

from inboxops.responders.meetings.scan import _offset_date, add_months


def test_add_months_clamps_to_the_last_day_of_the_month() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)  # leap year
    assert add_months(date(2026, 3, 31), 1) == date(2026, 4, 30)
    assert add_months(date(2026, 11, 15), 2) == date(2027, 1, 15)  # over the year's end
    assert add_months(date(2026, 12, 31), 14) == date(2028, 2, 29)
    assert add_months(date(2026, 5, 5), 0) == date(2026, 5, 5)


def test_offset_units_in_english_and_romanian() -> None:
    ref = date(2026, 11, 30)
    assert _offset_date(3, "days", ref) == _offset_date(3, "zile", ref) == date(2026, 12, 3)
    assert _offset_date(2, "weeks", ref) == _offset_date(2, "saptamani", ref) == date(2026, 12, 14)
    assert _offset_date(1, "month", ref) == _offset_date(1, "luna", ref) == date(2026, 12, 30)
    assert _offset_date(3, "luni", ref) == date(2027, 2, 28)
