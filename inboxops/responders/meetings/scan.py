"""Finding date and time mentions in folded text: each pattern family blanks what it took.

Values in, values out; `times.extract_times` puts the mentions together into proposals.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from inboxops.responders.meetings.vocab import (
    _DATE_DM,
    _DATE_MD,
    _DAY_OF_MONTH,
    _ENUM_DAY,
    _EXCEPT,
    _ISO_DATE,
    _LUNI_MONTHS,
    _MAY_AFTER_OK,
    _MONTH_RE,
    _MONTHLY,
    _MONTHS,
    _NOT_DATES,
    _NUM_DATE,
    _NUMBER_BEFORE,
    _NUMBER_WORDS,
    _OFFSET,
    _ORDINALS,
    _POD,
    _POD_HOURS,
    _RELATIVE,
    _SENTENCE_STOP,
    _SLASH_CONTEXT,
    _TIME,
    _TZ_OFFSET,
    _UNIT_AFTER,
    _WD_RE,
    _WEEK,
    _WEEKDAY,
    _WEEKDAY_ABBR,
    _WEEKDAYS,
)

# --------------------------------------------------------------------------------------------
# Mentions found in the text


@dataclass
class _DateM:
    start: int
    end: int
    kind: str  # explicit | offset | dom | weekday | relative | week
    dates: tuple[date, ...] = ()
    weekday: int = 0
    mode: str = ""  # weekday: upcoming | upcoming_or_today; week: next | this | after
    recurring: bool = False
    past: bool = False
    implied_pod: str = ""  # "tonight" → evening, "this morning" → morning
    year_given: bool = True  # explicit: False when the year was guessed ("September 8")


@dataclass
class _TimeM:
    start: int
    end: int
    hour: int
    minute: int
    known: bool  # meridiem known (a.m./p.m., 24 h form, noon, or from the range end)
    pod: str = ""  # set for "morning"/"dupa-amiaza": morning | afternoon | evening


@dataclass
class _Unit:
    """One day, possibly said several ways ("tomorrow, Thursday, 1/24")."""

    parts: list[_DateM]

    @property
    def start(self) -> int:
        return self.parts[0].start

    @property
    def end(self) -> int:
        return self.parts[-1].end


@dataclass
class _Group:
    """Alternatives sharing the times said after them ("Tuesday or Wednesday at 3pm")."""

    units: list[_Unit]
    times: list[_TimeM] = field(default_factory=list)

    @property
    def start(self) -> int:
        return self.units[0].start

    @property
    def end(self) -> int:
        return self.units[-1].end


class _Scanner:
    """Runs the pattern families in order, blanking what each one took so none reads it twice."""

    def __init__(self, text: str) -> None:
        self.buf = list(text)

    def finditer(self, pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
        current = "".join(self.buf)
        yield from pattern.finditer(current)

    def take(self, start: int, end: int) -> None:
        self.buf[start:end] = " " * (end - start)


def _next_occurrence(ref: date, month: int, day: int) -> date | None:
    """The first month-day on or after `ref` (explicit dates without a year)."""
    for year in (ref.year, ref.year + 1):
        try:
            d = date(year, month, day)
        except ValueError:
            continue
        if d >= ref:
            return d
    return None


def _make_date(year: int | None, month: int, day: int, ref: date) -> date | None:
    if year is None:
        return _next_occurrence(ref, month, day)
    if year < 100:
        year += 2000
    try:
        return date(year, month, day)
    except ValueError:
        return None


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months, clamped to the month's last day (31 Jan + 1 month
    is 28 or 29 Feb): what a reader means by "in 1 month", and what dateparser computed."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _offset_date(n: int, unit: str, ref: date) -> date:
    """The day "in N days/weeks/months" from `ref` (English or Romanian unit, found by regex).

    Plain calendar arithmetic; it matched dateparser 1.5.0 ("in N days" with RELATIVE_BASE) on
    every N in 0..99 and every reference day of 2023-2026, so dropping that dependency changed
    no result."""
    if unit.startswith(("month", "lun")):
        return add_months(ref, n)
    return ref + timedelta(days=n if unit.startswith(("day", "zi")) else 7 * n)


# --------------------------------------------------------------------------------------------
# Scanning


def _may_is_month(m: re.Match[str], group: int, cased: str, low: str, lang: str) -> bool:
    """ "May 5 at 10am" yes, "we may 5 times", "mai 2 zile" (two more days) no."""
    if lang == "en" and cased[m.start(group)] == "M":
        return True
    if re.search(r"\d(?:st|nd|rd|th)", m[0]):
        return True
    lead = re.search(
        rf"(?:\bon|\bthe|\bpe|{_WD_RE}|,)\s*$", low[max(0, m.start() - 15) : m.start()]
    )
    return bool(lead or _MAY_AFTER_OK.match(low, m.end()))


def _scan_dates(
    sc: _Scanner, cased: str, low: str, ref: date, lang: str, order: str
) -> list[_DateM]:
    found: list[_DateM] = []
    for m in sc.finditer(_TZ_OFFSET):
        sc.take(m.start(), m.end())
    for m in sc.finditer(_ISO_DATE):
        d = _make_date(int(m[1]), int(m[2]), int(m[3]), ref)
        if d:
            found.append(_DateM(m.start(), m.end(), "explicit", (d,)))
            sc.take(m.start(), m.end())
    for m in sc.finditer(_NUM_DATE):
        a, sep, b, y = int(m[1]), m[2], int(m[3]), m[4]
        if y is None:
            # Without a year "12/03" is a date, but "24/7", "1/2 hour", "nr. 12/03" are not;
            # "3.12" is more often a decimal, so a dotted one needs a dating word before it.
            before = low[max(0, m.start() - 20) : m.start()]
            if (
                m[0] in _NOT_DATES
                or _NUMBER_BEFORE.search(before)
                or _UNIT_AFTER.match(low, m.end())
                or (sep == "." and (lang == "en" or not _SLASH_CONTEXT.search(before)))
            ):
                continue
        month_first = sep == "/" and (order == "MDY" or b > 12) and a <= 12
        if sep == "/" and order == "DMY" and a > 12:
            month_first = False
        month, day = (a, b) if month_first else (b, a)
        d = _make_date(int(y) if y else None, month, day, ref)
        if d:
            found.append(_DateM(m.start(), m.end(), "explicit", (d,), year_given=bool(y)))
            sc.take(m.start(), m.end())
    for m in sc.finditer(_DATE_DM):
        name = m[2]
        if name in ("may", "mai") and not _may_is_month(m, 2, cased, low, lang):
            continue
        d = _make_date(int(m[3]) if m[3] else None, _MONTHS[name], int(m[1]), ref)
        if d:
            found.append(_DateM(m.start(), m.end(), "explicit", (d,), year_given=bool(m[3])))
            sc.take(m.start(), m.end())
    for m in sc.finditer(_DATE_MD):
        name = m[1]
        if name in ("may", "mai") and not (m[4] or _may_is_month(m, 1, cased, low, lang)):
            continue
        if _UNIT_AFTER.match(low, m.end()):
            continue
        year = int(m[4]) if m[4] else None
        days = [int(m[2])] + [int(x) for x in _ENUM_DAY.findall(m[3] or "")]
        dates = [d for d in (_make_date(year, _MONTHS[name], x, ref) for x in days) if d]
        if dates:
            found.append(
                _DateM(m.start(), m.end(), "explicit", tuple(dates), year_given=bool(year))
            )
            sc.take(m.start(), m.end())
    for m in sc.finditer(_OFFSET):
        n = int(m[1]) if m[1].isdigit() else _NUMBER_WORDS[m[1]]
        found.append(_DateM(m.start(), m.end(), "offset", (_offset_date(n, m[2], ref),)))
        sc.take(m.start(), m.end())
    return found


def _scan_relative(sc: _Scanner, cased: str, ref: date, lang: str) -> list[_DateM]:
    found: list[_DateM] = []
    for m in sc.finditer(_RELATIVE):
        if m["tom"] == "maine" and lang == "en" and cased[m.start()] == "M":
            continue  # the US state, not "mâine"
        if m["dat"]:
            mention = _DateM(m.start(), m.end(), "relative", (ref + timedelta(days=2),))
        elif m["tom"]:
            mention = _DateM(m.start(), m.end(), "relative", (ref + timedelta(days=1),))
        elif m["ton"] or m["this"]:
            # "tonight", "this afternoon": today, at that part of the day unless a time is said
            pod = m["this"] or "evening"
            mention = _DateM(m.start(), m.end(), "relative", (ref,), implied_pod=pod)
        else:
            mention = _DateM(m.start(), m.end(), "relative", (ref,))
        found.append(mention)
        sc.take(m.start(), m.end())
    return found


def _scan_pods(sc: _Scanner) -> list[_TimeM]:
    found: list[_TimeM] = []
    for m in sc.finditer(_POD):
        word = m["pod"]
        if word.startswith(("morning", "dimine")):
            pod = "morning"
        elif word in ("evening", "seara"):
            pod = "evening"
        else:
            pod = "afternoon"
        found.append(_TimeM(m.start(), m.end(), _POD_HOURS[pod], 0, True, pod))
        sc.take(m.start(), m.end())
    return found


def _atom_value(m: re.Match[str], i: int) -> tuple[int, int, str | None, bool, bool] | None:
    """(hour, minute, am/pm, strong, zero_padded) of atom i, or None if absent."""
    if m[f"noon{i}"]:
        return 12, 0, "pm", True, False
    if m[f"h{i}"] is None:
        return None
    hour, minute = int(m[f"h{i}"]), int(m[f"m{i}"] or 0)
    ap = m[f"ap{i}"]
    meridiem = ("pm" if ap[0] == "p" else "am") if ap else None
    colon = m[f"sep{i}"] == ":"
    strong = colon or meridiem is not None
    return hour, minute, meridiem, strong, m[f"h{i}"].startswith("0")


def _apply_meridiem(hour: int, meridiem: str | None) -> int | None:
    if meridiem is None:
        return hour if hour <= 23 else None
    if not 1 <= hour <= 12:
        return hour if 13 <= hour <= 23 else None  # "14:00 pm": the 24 h form wins
    return hour % 12 + (12 if meridiem == "pm" else 0)


def _scan_times(sc: _Scanner, low: str, lang: str) -> list[_TimeM]:
    found: list[_TimeM] = []
    for m in sc.finditer(_TIME["ro" if lang == "ro" else "en"]):
        first, second = _atom_value(m, 1), _atom_value(m, 2)
        if first is None:
            continue
        cue = m["cue"] or ""
        is_range = second is not None and m["rsep"] not in ("or", "sau")
        if m["rsep"] in ("and", "si") and not cue.startswith(("between", "intre")):
            is_range = False
        h1, m1, ap1, strong1, pad1 = first
        strong = strong1 or bool(cue) or (second is not None and second[3])
        if m["sep1"] == "." and not (cue or ap1):
            strong = False  # "3.5", "14.30 lei": a dotted time needs "ora"/"at" or a.m./p.m.
        if not strong:
            continue
        if not (strong1 or (second and second[3])) and _UNIT_AFTER.match(low, m.end()):
            continue
        sc.take(m.start(), m.end())
        if m["end"]:
            continue  # "until 1:30", "by 3pm": an end or a deadline, not a start
        starts: list[tuple[int, int, str | None, bool]] = []
        if second is not None and is_range:
            h2, _m2, ap2, _s2, _p2 = second
            if ap1 is None and ap2 is not None:
                as_ap2 = _apply_meridiem(h1, ap2)
                end = _apply_meridiem(h2, ap2)
                # "12-3 pm" → 12:00, "11-1 pm" → 11:00
                ap1 = ap2 if as_ap2 is not None and end is not None and as_ap2 <= end else "am"
            elif ap1 is None and m["noon2"] and h1 < 12:
                ap1 = "am"  # "8:30 - noon"
            starts.append((h1, m1, ap1, pad1))
        else:
            starts.append((h1, m1, ap1, pad1))
            if second is not None:  # "at 2 or 3pm": two starts
                h2, m2, ap2, _s2, pad2 = second
                if ap1 is None and ap2 is not None and h1 <= h2:
                    starts[0] = (h1, m1, ap2, pad1)
                starts.append((h2, m2, ap2, pad2))
        for hour, minute, ap, padded in starts:
            value = _apply_meridiem(hour, ap)
            if value is None:
                continue
            # Known when stated, written 24 h style ("14:00", "07:30"), or 0 / 12.
            known = ap is not None or hour >= 13 or padded or hour in (0, 12)
            found.append(_TimeM(m.start(), m.end(), value, minute, known))
    return found


def _scan_weeks_and_weekdays(sc: _Scanner, low: str) -> list[_DateM]:
    found: list[_DateM] = []
    for m in sc.finditer(_WEEK):
        mode = "after" if m["after"] else ("next" if m["next"] else "this")
        found.append(_DateM(m.start(), m.end(), "week", mode=mode))
        sc.take(m.start(), m.end())
    for m in sc.finditer(_WEEKDAY):
        if m["abbr"]:
            found.append(
                _DateM(
                    m.start(), m.end(), "weekday", weekday=_WEEKDAY_ABBR[m["abbr"]], mode="upcoming"
                )
            )
            sc.take(m.start(), m.end())
            continue
        wd, pre, post = m["wd"], (m["pre"] or ""), (m["post"] or "")
        # "trei luni", "luni de zile": months, not Monday
        if (
            wd == "luni"
            and not pre
            and (
                _LUNI_MONTHS.search(low[max(0, m.start() - 15) : m.start()])
                or re.match(r"\s+de\s+zile", low[m.end() :])
            )
        ):
            continue
        # "every Monday", "on Mondays": a recurrence, not a proposal
        recurring = pre in ("every", "each", "in fiecare", "fiecare") or bool(m["plural"])
        past = pre == "last" or post.startswith("trecut")
        mode = "upcoming_or_today" if pre == "this" or post in ("asta", "aceasta") else "upcoming"
        found.append(
            _DateM(
                m.start(),
                m.end(),
                "weekday",
                weekday=_WEEKDAYS[wd],
                mode=mode,
                recurring=recurring,
                past=past,
            )
        )
        sc.take(m.start(), m.end())
    return found


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date | None:
    """The nth (1-4, or -1 for the last) ISO weekday of a month."""
    if nth == -1:
        end = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
        return end - timedelta(days=(end.isoweekday() - weekday) % 7)
    first = date(year, month, 1)
    day = first + timedelta(days=(weekday - first.isoweekday()) % 7 + 7 * (nth - 1))
    return day if day.month == month else None


def _scan_monthly(sc: _Scanner, low: str, ref: date) -> list[_DateM]:
    """A monthly series ("second Tuesday of each month") as its dates: the twelve months of
    the year named, else the twelve from the reference on; months (or month-days) after an
    "except" in the same sentence are left out."""
    found: list[_DateM] = []
    for m in sc.finditer(_MONTHLY):
        year = int(m["year"]) if m["year"] else None
        months = [(year, k) for k in range(1, 13)] if year else [
            (ref.year + (ref.month - 1 + k) // 12, (ref.month - 1 + k) % 12 + 1)
            for k in range(12)]
        nth, weekday = _ORDINALS[" ".join(m["ord"].split())], _WEEKDAYS[m["wd"]]
        dates = [d for y, mo in months if (d := _nth_weekday(y, mo, weekday, nth))]
        stop = _SENTENCE_STOP.search(low, m.end())
        skip = _EXCEPT.search(low, m.end(), stop.start() if stop else len(low))
        if skip is not None:
            for item in re.finditer(rf"({_MONTH_RE})(?:\s+(\d{{1,2}}))?", skip["list"]):
                month = _MONTHS[item[1]]
                dates = [d for d in dates if not (
                    d.month == month and (item[2] is None or d.day == int(item[2])))]
            sc.take(skip.start(), skip.end())
        if dates:
            found.append(_DateM(m.start(), m.end(), "explicit", tuple(dates),
                                year_given=year is not None))
        sc.take(m.start(), m.end())
    return found


def _scan_day_of_month(sc: _Scanner, ref: date) -> list[_DateM]:
    found: list[_DateM] = []
    for m in sc.finditer(_DAY_OF_MONTH):
        day = int(m[1] or m[2])
        for k in range(3):  # this month, or the next one(s) that has that day
            month = (ref.month - 1 + k) % 12 + 1
            year = ref.year + (ref.month - 1 + k) // 12
            try:
                d = date(year, month, day)
            except ValueError:
                continue
            if d >= ref:
                found.append(_DateM(m.start(), m.end(), "dom", (d,)))
                sc.take(m.start(), m.end())
                break
    return found
