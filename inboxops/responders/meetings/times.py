"""Reading proposed meeting starts from English and Romanian client text.

`extract_times` reads "marți la ora 14", "Tuesday or Wednesday at 3pm", "pe 3 decembrie la
14:30". dateparser alone gets many of these wrong (PROTOCOLS PARSE-8: "la ora 14" read as the
14th, "pe 3 decembrie" not read, "we"/"may" taken as dates by search_dates), so the phrases are
found with our own regexes (scan.py), and "in N days/weeks/months" is plain calendar arithmetic
there. A human confirms every slot.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from inboxops.responders.meetings.scan import (
    _DateM,
    _Group,
    _scan_dates,
    _scan_day_of_month,
    _scan_monthly,
    _scan_pods,
    _scan_relative,
    _scan_times,
    _scan_weeks_and_weekdays,
    _Scanner,
    _TimeM,
    _Unit,
)
from inboxops.responders.meetings.vocab import (
    _ALT_GAP,
    _HOURS_LINE,
    _MERGE_GAP,
    _NEG_AFTER,
    _NEG_BEFORE,
    _NEG_FILLER,
    _POD_HOURS,
    _RANGE_GAP,
    _RESCHEDULE,
    _RESCHEDULE_TARGET,
    _SENTENCE_END,
    _fold,
)

# Longer texts are cut: meeting proposals sit at the top of the new content, and the regexes
# must stay cheap on hostile input.
MAX_TEXT = 20_000
# Bound the list a single message can produce (a pasted timetable is not a proposal).
MAX_PROPOSALS = 20


@dataclass(frozen=True)
class Proposal:
    """A start the client proposed; `has_time` False means only the day was given (00:00)."""

    start: datetime
    has_time: bool



# --------------------------------------------------------------------------------------------
# Putting mentions together


def _sentence_bounds(cased: str, spans: list[tuple[int, int]]) -> list[int]:
    """Sentence starts, ignoring full stops inside mentions ("a.m. The", "Aug. 13")."""
    inside = [False] * (len(cased) + 1)
    for s, e in spans:
        for i in range(s, e):
            inside[i] = True
    return [m.end() for m in _SENTENCE_END.finditer(cased) if not inside[m.start()]]


def _drop_rescheduled(
    low: str, mentions: list[_DateM | _TimeM], bounds: list[int]
) -> list[_DateM | _TimeM]:
    """In "moved from Monday 10:00 to Tuesday 11:00" only the new time is a proposal."""
    spans = [(x.start, x.end) for x in mentions]

    def outside(pos: int) -> bool:
        return not any(s <= pos < e for s, e in spans)

    dropped: set[int] = set()
    for k in _RESCHEDULE.finditer(low):
        if not outside(k.start()):
            continue
        sent = bisect_right(bounds, k.start())
        lo = bounds[sent - 1] if sent else 0
        hi = bounds[sent] if sent < len(bounds) else len(low)
        after = [i for i, x in enumerate(mentions) if k.end() <= x.start < hi]
        if not after:
            continue
        dropped.update(i for i, x in enumerate(mentions) if lo <= x.start < k.start())
        target = next(
            (t for t in _RESCHEDULE_TARGET.finditer(low, k.end(), hi) if outside(t.start())),
            None,
        )
        if target is not None:
            between = [i for i in after if mentions[i].start < target.start()]
            if len(between) < len(after):
                dropped.update(between)
    return [x for i, x in enumerate(mentions) if i not in dropped]


# How far the weekday may move a year-less date ("Wednesday, September 8"): any month-day
# falls on each weekday within six years either way, so this always finds one.
_WEEKDAY_YEARS = 6


def _year_from_weekday(day: date, weekday: int) -> date | None:
    """The nearest date with `day`'s month and day that falls on `weekday` (ISO), ties to the
    later one: the writer's weekday is firmer evidence of the year than our guess from the
    reference, which may itself only be an estimate of when the mail was written."""
    for k in range(1, _WEEKDAY_YEARS + 1):
        for year in (day.year + k, day.year - k):
            try:
                candidate = day.replace(year=year)
            except ValueError:  # 29 February
                continue
            if candidate.isoweekday() == weekday:
                return candidate
    return None


def _unit_dates(unit: _Unit, ref: date) -> tuple[list[date], bool, str, bool]:
    """The day(s) a unit names, whether it lies in the past, an implied part of day, and
    whether the writer pinned the day (weekday plus day and month) so the past check is off."""
    kinds = {p.kind: p for p in unit.parts}
    past = any(p.past for p in unit.parts)
    implied = next((p.implied_pod for p in unit.parts if p.implied_pod), "")
    explicit, wd = kinds.get("explicit"), kinds.get("weekday")
    if explicit is not None and wd is not None and len(explicit.dates) == 1:
        day = explicit.dates[0]
        if day.isoweekday() == wd.weekday:
            return [day], past, implied, explicit.year_given
        if not explicit.year_given:
            moved = _year_from_weekday(day, wd.weekday)
            if moved is not None:
                return [moved], past, implied, True
    for kind in ("explicit", "offset", "dom"):
        if kind in kinds:  # an explicit date overrides "tomorrow" and the weekday next to it
            # A date with its year written says exactly which day: it stands even if past.
            pin = kind == "explicit" and kinds[kind].year_given
            return list(kinds[kind].dates), past, implied, pin
    week = kinds.get("week")
    if "weekday" in kinds:
        wd = kinds["weekday"]
        if week is not None:
            monday = ref - timedelta(days=ref.isoweekday() - 1)
            monday += timedelta(days={"this": 0, "next": 7, "after": 14}[week.mode])
            return [monday + timedelta(days=wd.weekday - 1)], past, implied, False
        delta = (wd.weekday - ref.isoweekday()) % 7
        if delta == 0 and wd.mode == "upcoming":
            delta = 7  # a bare "Tuesday" said on a Tuesday means next week; today is "today"
        return [ref + timedelta(days=delta)], past, implied, False
    if "relative" in kinds:
        return list(kinds["relative"].dates), past, implied, False
    if week is not None and week.mode != "this":
        monday = ref - timedelta(days=ref.isoweekday() - 1)
        return [monday + timedelta(days=7 if week.mode == "next" else 14)], past, implied, False
    return [], past, implied, False


def _refused(g: _Group, low: str, sentence: Callable[[int], int]) -> bool:
    """ "I can't do Monday at 10", "except Friday", "luni nu pot": the client rules it out."""
    start = min([g.start, *(t.start for t in g.times)])
    end = max([g.end, *(t.end for t in g.times)])
    if _NEG_AFTER.match(low, end) and sentence(end) == sentence(end + 1):
        return True
    # Only filler words may stand between the cue and the day, so no other day can.
    return any(
        sentence(cue.start()) == sentence(start) and _NEG_FILLER.fullmatch(low, cue.end(), start)
        for cue in _NEG_BEFORE.finditer(low, max(0, start - 60), start)
    )


def _hour_for(t: _TimeM, pod: str) -> int:
    """Business reading of a bare hour: "at 2" is 14:00, unless "morning" says otherwise."""
    if t.known:
        return t.hour
    if pod == "morning":
        return t.hour
    if pod in ("afternoon", "evening") and t.hour < 12:
        return t.hour + 12
    return t.hour + 12 if 1 <= t.hour <= 7 else t.hour


def _nearest(
    t: _TimeM,
    groups: list[_Group],
    starts: list[int],
    same_sentence: Callable[[int], int] | None = None,
) -> _Group | None:
    """The group just before or just after `t` (groups are in text order), the closer one.

    With `same_sentence`, only a group in the time's sentence qualifies. Ties go to the day
    said before the time ("Monday at 10 or Tuesday at 3").
    """
    i = bisect_right(starts, t.start)
    found = (groups[i - 1] if i else None, groups[i] if i < len(groups) else None)
    near = [
        g
        for g in found
        if g is not None
        and (same_sentence is None or same_sentence(g.start) == same_sentence(t.start))
    ]
    if not near:
        return None
    return min(near, key=lambda g: t.start - g.end if g.end <= t.start else g.start - t.end)


def extract_times(
    text: str,
    reference: datetime,
    language: str,
    timezone: str,
    *,
    date_order: Literal["DMY", "MDY"] | None = None,
) -> list[Proposal]:
    """Proposed meeting starts in `text`, read against `reference` (the message's Date).

    Returns aware datetimes in `timezone`, de-duplicated, in the order the client wrote them.
    A day given without a time comes back at 00:00 with has_time=False. Numeric dates are read
    day-first in Romanian and month-first in English unless `date_order` says otherwise (a part
    that cannot be a month decides either way). Relative words ("today at 9", "last Tuesday")
    never give a time before the reference; a fully explicit date (year written, or pinned by
    its weekday as in "Wednesday, September 8") is returned as written even when it lies before
    the reference, since the reference may only estimate when the mail was written and the
    writer said exactly which day. Refusing past slots is find_slots' job, not the reader's.
    """
    tz = ZoneInfo(timezone)
    lang = "ro" if language.lower().startswith("ro") else "en"
    order = date_order or ("DMY" if lang == "ro" else "MDY")
    # A naive reference is taken as wall time in `timezone`.
    ref_dt = reference.replace(tzinfo=tz) if reference.tzinfo is None else reference.astimezone(tz)
    ref = ref_dt.date()

    cased = _fold(text[:MAX_TEXT])
    low = cased.lower()
    if len(low) != len(cased):  # a rare letter whose lower case is longer: give up on case
        cased = low
    sc = _Scanner(low)
    dates = _scan_monthly(sc, low, ref)
    dates += _scan_dates(sc, cased, low, ref, lang, order)
    dates += _scan_relative(sc, cased, ref, lang)
    times = _scan_pods(sc)
    times += _scan_times(sc, low, lang)
    dates += _scan_weeks_and_weekdays(sc, low)
    dates += _scan_day_of_month(sc, ref)

    mentions: list[_DateM | _TimeM] = sorted([*dates, *times], key=lambda x: x.start)
    bounds = _sentence_bounds(cased, [(x.start, x.end) for x in mentions])
    mentions = _drop_rescheduled(low, mentions, bounds)
    hours_lines = [(m.start(), m.end()) for m in _HOURS_LINE.finditer(low)]
    if hours_lines:
        mentions = [x for x in mentions if not any(s <= x.start < e for s, e in hours_lines)]

    def sentence(pos: int) -> int:
        return bisect_right(bounds, pos)

    # 1. Adjacent date mentions of different kinds are one day ("Monday, November 12").
    units: list[_Unit | _TimeM] = []
    for x in mentions:
        if isinstance(x, _TimeM):
            units.append(x)
            continue
        before = units[-1] if units else None
        if (
            isinstance(before, _Unit)
            and x.kind not in {p.kind for p in before.parts}
            and _MERGE_GAP.fullmatch(low, before.end, x.start)
        ):
            before.parts.append(x)
        else:
            units.append(_Unit([x]))
    # 2. Days joined by "or"/","/"and" share the time said with them; "every Monday" is a
    # recurrence, not a proposal, so it takes no time from its neighbours.
    groups: list[_Group] = []
    loose: list[_TimeM] = []
    run: _Group | None = None
    run_recurring = False
    prev: _Unit | None = None
    for u in units:
        if isinstance(u, _TimeM):
            loose.append(u)
            prev = None  # a time between two days ends the run of alternatives
            continue
        joined = (
            prev is not None
            and sentence(prev.end) == sentence(u.start)
            and u.start - prev.end <= 24
            and _ALT_GAP.fullmatch(low, prev.end, u.start) is not None
        )
        if any(p.recurring for p in u.parts) or (joined and run_recurring):
            run, run_recurring = None, True  # "every Monday and Wednesday"
        elif (
            prev is not None
            and run is not None
            and sentence(prev.end) == sentence(u.start)
            and {p.kind for p in prev.parts} == {p.kind for p in u.parts}
            and _RANGE_GAP.fullmatch(low, prev.end, u.start)
        ):
            continue  # the end of a range of days ("de luni până miercuri")
        else:
            run_recurring = False
            if joined and run is not None:
                run.units.append(u)
            else:
                run = _Group([u])
                groups.append(run)
        prev = u
    # 3. Each time goes to the nearest day in its sentence; left-overs to a day still
    # without a time ("Thursday works. Time: 4-5 pm").
    orphans: list[_TimeM] = []
    starts = [g.start for g in groups]
    for t in loose:
        g = _nearest(t, groups, starts, same_sentence=sentence)
        if g is not None:
            g.times.append(t)
        else:
            orphans.append(t)
    bare = [g for g in groups if not g.times] or groups
    bare_starts = [g.start for g in bare]
    for t in orphans:
        g = _nearest(t, bare, bare_starts)
        if g is not None:
            g.times.append(t)

    groups = [g for g in groups if not _refused(g, low, sentence)]

    found: list[tuple[int, Proposal]] = []
    pinned: set[date] = set()
    if not any(isinstance(u, _Unit) for u in units):
        # A time with no day said at all: its next occurrence ("can we talk at 3?"). Not
        # when the only day was a recurrence or refused ("we meet every Monday at 10").
        for t in orphans:
            if t.pod:
                continue
            hour = _hour_for(t, "")
            start = datetime.combine(ref, time(hour, t.minute), tzinfo=tz)
            if start < ref_dt:
                start += timedelta(days=1)
            found.append((t.start, Proposal(start, True)))
    for g in groups:
        pods = [t for t in g.times if t.pod]
        clock = [t for t in g.times if not t.pod]
        for unit in g.units:
            days, past, implied, is_pinned = _unit_dates(unit, ref)
            if past:
                continue
            if is_pinned:
                pinned.update(days)
            pod = pods[0].pod if pods else implied
            for d in days:
                if clock:
                    for t in clock:
                        start = datetime.combine(d, time(_hour_for(t, pod), t.minute), tzinfo=tz)
                        found.append((t.start, Proposal(start, True)))
                elif pod:
                    start = datetime.combine(d, time(_POD_HOURS[pod], 0), tzinfo=tz)
                    found.append((unit.start, Proposal(start, True)))
                else:
                    found.append(
                        (unit.start, Proposal(datetime.combine(d, time(0), tzinfo=tz), False))
                    )

    found.sort(key=lambda item: item[0])  # stable: same position keeps the day order
    result: list[Proposal] = []
    seen: set[tuple[datetime, bool]] = set()
    for _, p in found:
        in_past = p.start < ref_dt if p.has_time else p.start.date() < ref
        if (in_past and p.start.date() not in pinned) or (p.start, p.has_time) in seen:
            continue
        seen.add((p.start, p.has_time))
        result.append(p)
    # A bare day next to concrete times is context (a date line, "as agreed on Monday"),
    # not a second proposal.
    if any(p.has_time for p in result):
        result = [p for p in result if p.has_time]
    return result[:MAX_PROPOSALS]
