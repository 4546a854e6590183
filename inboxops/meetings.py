"""Meeting times: read proposed starts from client text, pick free slots, build and read iTIP ics.

Everything here is pure: values in, values out, no clock and no I/O (the caller passes `now`
and the busy intervals). Three parts:

* `extract_times` reads English and Romanian proposals ("marți la ora 14", "Tuesday or
  Wednesday at 3pm", "pe 3 decembrie la 14:30"). dateparser alone gets many of these wrong
  (PROTOCOLS PARSE-8: "la ora 14" read as the 14th, "pe 3 decembrie" not read, "we"/"may" taken
  as dates by search_dates), so the phrases are found with our own regexes and dateparser only
  does the calendar arithmetic of "in N days/weeks/months". A human confirms every slot.
* `find_slots` turns proposals into a chosen slot plus alternatives inside working hours.
* `build_request` / `parse_calendar` write and read the iCalendar objects (RFC 5545/5546) with
  icalendar 7, never by hand (PROTOCOLS ICS-3..8).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import Literal
from zoneinfo import ZoneInfo

from dateparser.date import DateDataParser
from icalendar import Calendar, Event, vCalAddress
from icalendar.enums import PARTSTAT, ROLE, STATUS

from inboxops.models import Slot

__all__ = [
    "CalendarInfo",
    "Proposal",
    "WorkingHours",
    "build_request",
    "extract_times",
    "find_slots",
    "new_uid",
    "parse_calendar",
]

PRODID = "-//inboxops//inboxops//EN"
# Longer texts are cut: meeting proposals sit at the top of the new content, and the regexes
# must stay cheap on hostile input.
MAX_TEXT = 20_000
# Bound the list a single message can produce (a pasted timetable is not a proposal).
MAX_PROPOSALS = 20
_GRID = 30  # minutes; alternatives start on these boundaries


# --------------------------------------------------------------------------------------------
# Public values


@dataclass(frozen=True)
class Proposal:
    """A start the client proposed; `has_time` False means only the day was given (00:00)."""

    start: datetime
    has_time: bool


@dataclass(frozen=True)
class WorkingHours:
    """When we can meet: the slot finder never proposes anything outside this."""

    timezone: str = "Europe/Bucharest"
    day_start: time = time(9, 0)
    day_end: time = time(17, 0)
    work_days: tuple[int, ...] = (1, 2, 3, 4, 5)  # ISO weekdays, Monday = 1
    duration: timedelta = timedelta(minutes=60)
    buffer: timedelta = timedelta(minutes=15)  # kept free before and after every busy interval
    holidays: tuple[date, ...] = ()
    search_days: int = 14

    def __post_init__(self) -> None:
        # Fail at config load rather than silently finding no slot at all.
        ZoneInfo(self.timezone)
        if self.day_start >= self.day_end:
            raise ValueError("day_start must be before day_end")
        if self.duration <= timedelta(0) or self.buffer < timedelta(0):
            raise ValueError("duration must be positive and buffer not negative")
        if not set(self.work_days) <= set(range(1, 8)):
            raise ValueError("work_days are ISO weekdays 1..7")
        if self.search_days < 1:
            raise ValueError("search_days must be at least 1")


@dataclass(frozen=True)
class CalendarInfo:
    """The few fields of a received ics that RSVP tracking needs (PROTOCOLS ICS-9)."""

    method: str | None
    uid: str | None
    sequence: int
    dtstamp: datetime | None
    start: datetime | date | None
    end: datetime | date | None
    # (bare lower-case address, PARTSTAT upper-case; NEEDS-ACTION when absent, RFC 5545 §3.2.12)
    attendees: list[tuple[str, str]] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Text normalisation

# REPLY-9: legacy 8-bit charsets only have the cedilla letters; treat them as comma-below.
_CEDILLA = str.maketrans({"ş": "ș", "ţ": "ț", "Ş": "Ș", "Ţ": "Ț"})
_PUNCT = str.maketrans(
    {"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-"}
)


def _fold(text: str) -> str:
    """Cedilla → comma-below, then strip all diacritics, so "marţi", "marți", "marti" match."""
    text = unicodedata.normalize("NFC", text).translate(_CEDILLA)
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).translate(_PUNCT)


# --------------------------------------------------------------------------------------------
# Vocabulary (folded, lower-case)

_MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "ianuarie": 1, "ian": 1,
    "february": 2, "feb": 2, "februarie": 2,
    "march": 3, "mar": 3, "martie": 3,
    "april": 4, "apr": 4, "aprilie": 4,
    "may": 5, "mai": 5,
    "june": 6, "jun": 6, "iunie": 6, "iun": 6,
    "july": 7, "jul": 7, "iulie": 7, "iul": 7,
    "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "septembrie": 9,
    "october": 10, "oct": 10, "octombrie": 10,
    "november": 11, "nov": 11, "noiembrie": 11,
    "december": 12, "dec": 12, "decembrie": 12,
}  # fmt: skip
_WEEKDAYS: dict[str, int] = {
    "monday": 1, "tuesday": 2, "tues": 2, "wednesday": 3, "thursday": 4, "thurs": 4,
    "friday": 5, "saturday": 6, "sunday": 7,
    "luni": 1, "lunea": 1, "marti": 2, "martea": 2, "miercuri": 3, "miercurea": 3,
    "joi": 4, "joia": 4, "vineri": 5, "vinerea": 5, "sambata": 6, "simbata": 6, "duminica": 7,
}  # fmt: skip
# Short English forms are common words ("sat", "sun", "wed"): only taken before a date.
_WEEKDAY_ABBR: dict[str, int] = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5}
_NUMBER_WORDS: dict[str, int] = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "o": 1, "un": 1, "una": 1, "doua": 2, "doi": 2, "trei": 3, "patru": 4, "cinci": 5,
    "sase": 6, "sapte": 7, "opt": 8, "noua": 9, "zece": 10,
}  # fmt: skip
_POD_HOURS = {"morning": 9, "afternoon": 14, "evening": 18}


def _alt(words: Iterable[str]) -> str:
    """Regex alternation, longest first so "martie" wins over "mar"."""
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


_MONTH_RE = rf"(?:{_alt(_MONTHS)})"
_WD_RE = rf"(?:{_alt(_WEEKDAYS)})"
_ORD = r"(?:st|nd|rd|th|-?a|-?lea)?"

# Timezone offsets such as "(GMT-06:00)" must not be read as a time of day.
_TZ_OFFSET = re.compile(r"\b(?:gmt|utc)\s*[+-]\s*\d{1,2}(?::?\d{2})?")

_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_NUM_DATE = re.compile(r"(?<![\w./:-])(\d{1,2})([/.])(\d{1,2})(?:\2(\d{4}|\d{2}))?(?![\w/:]|\.\d)")
# "3 December", "3rd of December 2026", "pe 26 mai"
_DATE_DM = re.compile(
    rf"(?<![\w.:/])(\d{{1,2}}){_ORD}\.?\s*(?:of\s+|-)?({_MONTH_RE})\b\.?(?:,?\s*(\d{{4}})\b)?"
)
# "December 3", "Nov. 19th, 2001", "June 5, 12, 19 & 26"
_DATE_MD = re.compile(
    rf"\b({_MONTH_RE})\b\.?\s*(\d{{1,2}}){_ORD}(?![\w:]|\.\d)"
    r"((?:\s*(?:,|&|\band\b|\bsi\b|\bor\b|\bsau\b)\s*\d{1,2}(?:st|nd|rd|th)?"
    r"(?![\w:]|\.\d|\s*[ap]\.?m\b))*)"
    r"\.?(?:,?\s*(\d{4})\b)?"
)
_ENUM_DAY = re.compile(r"\d{1,2}")
# Context that makes a month name "may"/"mai" a month and not a verb or adverb.
_MAY_AFTER_OK = re.compile(
    r"\s*(?:$|[,.;:!?)(@]|\d|-|(?:la|ora|orele|at|from|between|in|intre|de)\b)"
)
_NOT_DATES = frozenset({"24/7", "1/2", "1/3", "2/3", "1/4", "3/4"})
_NUMBER_BEFORE = re.compile(
    r"(?:\b(?:nr|no|number|numar(?:ul)?|ref|factura|facturii|invoice|comanda|comenzii|order"
    r"|dosar(?:ul)?|art|alin|lege[a]?|contract(?:ul)?)\.?|#)\s*:?\s*$"
)
_SLASH_CONTEXT = re.compile(
    rf"(?:\b(?:on|pe|din|for|by|until|from|data\s+de|{_WD_RE}|{_alt(_WEEKDAY_ABBR)})|,)\s*$"
)

_OFFSET = re.compile(
    rf"\b(?:in|peste)\s+(\d{{1,2}}|{_alt(_NUMBER_WORDS)})\s+"
    r"(days?|weeks?|months?|zile|zi|saptamani|saptamana|luni|luna)\b"
)
_RELATIVE = re.compile(
    r"\b(?:(?P<dat>day\s+after\s+tomorrow|poimaine)|(?P<tom>tomorrow|maine)"
    r"|(?P<tod>today|astazi|azi)|(?P<ton>tonight|diseara|asta\s+seara|in\s+seara\s+asta)"
    r"|this\s+(?P<this>morning|afternoon|evening))\b"
)
_POD = re.compile(
    r"\b(?:in\s+the\s+)?(?P<pod>morning|afternoon|evening|dimineata|dimineta"
    r"|dupa[-\s]?amiaza|dupa[-\s]?masa|dupamasa|dupa\s+pranz|after\s+lunch|seara)\b"
)
_WEEK = re.compile(
    r"\b(?:(?P<after>(?:the\s+)?week\s+after\s+next)"
    r"|(?P<next>next\s+week|saptamana\s+(?:viitoare|urmatoare|care\s+vine)|la\s+saptamana)"
    r"|(?P<this>this\s+week|saptamana\s+(?:asta|aceasta|curenta)))\b"
)
_WEEKDAY = re.compile(
    r"\b(?:(?P<pre>this\s+coming|this|next|coming|last|every|each|in\s+fiecare|fiecare)\s+)?"
    rf"(?P<wd>{_WD_RE})(?P<plural>s)?\b"
    r"(?:\s+(?P<post>viitoare|viitor|urmatoare|asta|aceasta|ce\s+vine|care\s+vine"
    r"|trecuta|trecut)\b)?"
    rf"|\b(?P<abbr>{_alt(_WEEKDAY_ABBR)})\b\.?(?=,?\s*(?:\d|{_MONTH_RE}\b))"
)
_LUNI_MONTHS = re.compile(
    rf"(?:\d|\b(?:{_alt(_NUMBER_WORDS)}|cateva|multe|cele|ultimele|urmatoarele|cativa))\s*$"
)
_DAY_OF_MONTH = re.compile(
    r"\b(?:on\s+)?the\s+(\d{1,2})(?:st|nd|rd|th)\b(?!\s+of\b)|\bpe\s+data\s+de\s+(\d{1,2})\b"
)

_AP_EN = r"[ap]\.?m\b\.?"
_AP_RO = r"[ap]\.m\.|pm\b"  # "am" is a Romanian verb ("am stabilit"): only dotted a.m.
_CUES = (
    r"at|around|about|approx\.?|approximately|from|between|after|starting\s+at"
    r"|beginning\s+at|la\s+ora|la\s+orele|orele|ora|de\s+la\s+ora|de\s+la|intre\s+orele"
    r"|intre\s+ora|intre|incepand\s+cu\s+ora|incepand\s+de\s+la\s+ora|in\s+jurul\s+orei"
    r"|pe\s+la\s+ora|pe\s+la|dupa\s+ora|in\s+intervalul|intervalul|la"
)
_END_CUES = r"until|till|til|by|before|pana\s+la\s+ora|pana\s+la|inainte\s+de\s+ora|inainte\s+de"


def _atom(i: int, ap: str) -> str:
    return (
        rf"(?:(?P<h{i}>(?<![\w:./])\d{{1,2}})(?:(?P<sep{i}>[:.])(?P<m{i}>[0-5]\d))?(?!\d)"
        rf"(?:\s*(?P<ap{i}>{ap}))?|(?P<noon{i}>(?:12\s*)?(?:noon|midday|amiaza|pranz)\b))"
    )


def _time_re(ap: str) -> re.Pattern[str]:
    return re.compile(
        rf"(?:\b(?P<end>{_END_CUES})\s+|(?P<cue>\b(?:{_CUES})\b|@)\s*)?{_atom(1, ap)}"
        r"(?:\s*(?P<rsep>-|to\b|until\b|till\b|pana\s+la(?:\s+ora)?\b|and\b|si\b|or\b|sau\b"
        rf"|la\b)\s*{_atom(2, ap)})?"
    )


_TIME = {"en": _time_re(_AP_EN), "ro": _time_re(_AP_RO)}
_UNIT_AFTER = re.compile(
    r"\s*(?:minutes?|mins?|minute|hours?|hrs?|ore|zile|days?|weeks?|saptamani|luni|months?"
    r"|ani|years?|persoane|people|persons?|participants?|participanti|oameni|%|percent|lei|ron"
    r"|euro?|eur|usd|\$|km|pages?|pagini|items?|bucati|floors?|etaj)\b"
)
_RESCHEDULE = re.compile(
    r"\b(?:re-?scheduled|rescheduling|moved|postponed|pushed|changed|shifted|reprogramat[ae]?"
    r"|reprogramam|mutat[ae]?|mutam|amanat[ae]?|amanam|schimbat[ae]?)\b"
)
_RESCHEDULE_TARGET = re.compile(r"\b(?:to|for|until|into|pentru|pe)\b")
_SENTENCE_END = re.compile(r"[.!?]+\s+(?=[A-Z])|[!?]+\s+|\n[ \t]*\n")
_MERGE_GAP = re.compile(r"[\s,;()]*(?:(?:on|the|of|pe|din|a)\b[\s,;()]*)*")
# "de luni până miercuri", "Monday to Wednesday": the first day is the proposal.
_RANGE_GAP = re.compile(
    r"[\s,]*(?:-|to|until|till|through|thru|(?:si\s+)?pana(?:\s+(?:la|in|pe))?)[\s,]*"
)
# Refusals. Kept tight (a cue right next to the day) so "I cannot attend; could we do Thursday
# at 2?" still proposes Thursday.
_NEG_BEFORE = re.compile(
    r"\b(?:can'?t(?!\s+wait)|cannot|can\s+not|couldn'?t|won'?t\s+be\s+able|unable|not\s+available"
    r"|unavailable|not\s+free|not\s+possible|except|apart\s+from|other\s+than|busy|away"
    r"|out\s+of\s+(?:the\s+)?office|nu\s+(?:pot|putem|ma\s+pot|ajung|sunt\s+disponibil[ai]?"
    r"|suntem\s+disponibili|sunt\s+liber[ai]?|e\s+posibil|este\s+posibil)|indisponibil[ai]?"
    r"|cu\s+exceptia|in\s+afara\s+de|ocupat[ai]?|plecat[ai]?|in\s+concediu)"
)
_NEG_FILLER = re.compile(
    r"(?:[\s,]|\b(?:to|do|make|it|attend|come|join|meet|be|there|on|the|this|next|veni|ajunge"
    r"|participa|fi|pe|in|la|de|for|me|us|any|day)\b)*"
)
_NEG_AFTER = re.compile(
    r"[\s,]*(?:(?:for\s+me|for\s+us|really|unfortunately|pentru\s+mine|pentru\s+noi"
    r"|din\s+pacate)[\s,]*)*(?:doesn'?t\s+work|does\s+not\s+work|won'?t\s+work|will\s+not\s+work"
    r"|(?:is|'s)\s+not\s+(?:good|possible|ok|okay|convenient)|isn'?t\s+(?:good|possible|ok|okay"
    r"|convenient)|is\s+(?:bad|impossible)|nu\s+(?:pot|putem|merge|e\s+bine|este\s+bine"
    r"|imi\s+convine|ne\s+convine|e\s+posibil|este\s+posibil|sunt\s+disponibil|sunt\s+liber))\b"
)
# Opening hours in a signature ("Program: L-V 09:00-17:00") are not a proposal.
_HOURS_LINE = re.compile(
    r"(?m)^.*\b(?:program(?:ul)?(?:\s+de\s+lucru)?|orar(?:ul)?|(?:office|opening|business"
    r"|working)\s+hours|hours\s+of\s+operation)\s*:.*$"
)
_ALT_GAP = re.compile(r"[\s,;/&]*(?:(?:or|sau|and|si|ori|either|on|pe|the)\b[\s,;/&]*)*")


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


@lru_cache(maxsize=64)
def _offset_parser(base: datetime) -> DateDataParser:
    """One parser per reference time; messages in a thread often share it."""
    return DateDataParser(
        languages=["en"],
        settings={"PREFER_DATES_FROM": "future", "RELATIVE_BASE": base},
    )


def _offset_date(n: int, unit: str, base: datetime) -> date | None:
    """dateparser does the arithmetic (month lengths); the phrase itself was found by regex.

    Romanian units are handed over in English: dateparser 1.5.0 does not read "săptămâni".
    """
    canon = "days" if unit.startswith(("day", "zi")) else "weeks"
    if unit.startswith(("month", "lun")):
        canon = "months"
    # dateparser 1.5.0 emits no warning on this path (the tests run with -W error); add a
    # narrow warnings.catch_warnings here if a later version starts to.
    found = _offset_parser(base).get_date_data(f"in {n} {canon}").date_obj
    return found.date() if found is not None else None


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
            found.append(_DateM(m.start(), m.end(), "explicit", (d,)))
            sc.take(m.start(), m.end())
    for m in sc.finditer(_DATE_DM):
        name = m[2]
        if name in ("may", "mai") and not _may_is_month(m, 2, cased, low, lang):
            continue
        d = _make_date(int(m[3]) if m[3] else None, _MONTHS[name], int(m[1]), ref)
        if d:
            found.append(_DateM(m.start(), m.end(), "explicit", (d,)))
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
            found.append(_DateM(m.start(), m.end(), "explicit", tuple(dates)))
            sc.take(m.start(), m.end())
    base = datetime.combine(ref, time(12, 0))
    for m in sc.finditer(_OFFSET):
        n = int(m[1]) if m[1].isdigit() else _NUMBER_WORDS[m[1]]
        d = _offset_date(n, m[2], base)
        if d:
            found.append(_DateM(m.start(), m.end(), "offset", (d,)))
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


def _unit_dates(unit: _Unit, ref: date) -> tuple[list[date], bool, str]:
    """The day(s) a unit names, whether it lies in the past, and an implied part of day."""
    kinds = {p.kind: p for p in unit.parts}
    past = any(p.past for p in unit.parts)
    implied = next((p.implied_pod for p in unit.parts if p.implied_pod), "")
    for kind in ("explicit", "offset", "dom"):
        if kind in kinds:  # an explicit date overrides "tomorrow" and the weekday next to it
            return list(kinds[kind].dates), past, implied
    week = kinds.get("week")
    if "weekday" in kinds:
        wd = kinds["weekday"]
        if week is not None:
            monday = ref - timedelta(days=ref.isoweekday() - 1)
            monday += timedelta(days={"this": 0, "next": 7, "after": 14}[week.mode])
            return [monday + timedelta(days=wd.weekday - 1)], past, implied
        delta = (wd.weekday - ref.isoweekday()) % 7
        if delta == 0 and wd.mode == "upcoming":
            delta = 7  # a bare "Tuesday" said on a Tuesday means next week; today is "today"
        return [ref + timedelta(days=delta)], past, implied
    if "relative" in kinds:
        return list(kinds["relative"].dates), past, implied
    if week is not None and week.mode != "this":
        monday = ref - timedelta(days=ref.isoweekday() - 1)
        return [monday + timedelta(days=7 if week.mode == "next" else 14)], past, implied
    return [], past, implied


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

    Returns aware datetimes in `timezone`, never before the reference, de-duplicated, in the
    order the client wrote them. A day given without a time comes back at 00:00 with
    has_time=False. Numeric dates are read day-first in Romanian and month-first in English
    unless `date_order` says otherwise (a part that cannot be a month decides either way).
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
    dates = _scan_dates(sc, cased, low, ref, lang, order)
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
            days, past, implied = _unit_dates(unit, ref)
            if past:
                continue
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
        if in_past or (p.start, p.has_time) in seen:
            continue
        seen.add((p.start, p.has_time))
        result.append(p)
    # A bare day next to concrete times is context (a date line, "as agreed on Monday"),
    # not a second proposal.
    if any(p.has_time for p in result):
        result = [p for p in result if p.has_time]
    return result[:MAX_PROPOSALS]


# --------------------------------------------------------------------------------------------
# Slots


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _plus(start: datetime, delta: timedelta, tz: ZoneInfo) -> datetime:
    """Add elapsed time (not wall-clock time), so a slot across a DST switch lasts `delta`."""
    return (start.astimezone(UTC) + delta).astimezone(tz)


def find_slots(
    proposals: list[Proposal],
    busy: list[tuple[datetime, datetime]],
    hours: WorkingHours,
    now: datetime,
    count: int = 3,
) -> list[Slot]:
    """The client's time when it is free, else (and as alternatives) the nearest free slots.

    Client times that fall in working hours on a working, non-holiday day, after `now`, and
    clear of every busy interval by `hours.buffer` come first (from_client=True), in the
    client's order. A date-only proposal gives the first free slot of that day. The rest are
    the earliest free starts on 30-minute boundaries from the first proposal (or from now),
    within `hours.search_days`, not overlapping a slot already chosen: distinct options are
    more use to the client than 14:00, 14:30 and 15:00. Deterministic: no clock, no randomness.
    """
    _require_aware(now, "now")
    for b0, b1 in busy:
        _require_aware(b0, "busy start")
        _require_aware(b1, "busy end")
    if count <= 0:
        return []
    tz = ZoneInfo(hours.timezone)
    now = now.astimezone(tz)
    holidays = set(hours.holidays)
    slots: list[Slot] = []
    # Busy spans sorted by start, with the latest end so far: "does anything overlap [lo, hi)"
    # is then one binary search, however full the calendar is.
    spans = sorted(busy)
    starts = [b0 for b0, _ in spans]
    latest_end = list(accumulate((b1 for _, b1 in spans), max))

    def fits(start: datetime) -> bool:
        end = _plus(start, hours.duration, tz)
        day = start.date()
        if day.isoweekday() not in hours.work_days or day in holidays:
            return False
        if start.time() < hours.day_start or end.date() != day or end.time() > hours.day_end:
            return False
        if start <= now:
            return False
        lo, hi = start - hours.buffer, end + hours.buffer
        before = bisect_left(starts, hi)  # spans starting before hi
        return not (before and latest_end[before - 1] > lo)

    def overlaps_chosen(start: datetime) -> bool:
        end = _plus(start, hours.duration, tz)
        return any(s.start < end and s.end > start for s in slots)

    def add(start: datetime, from_client: bool) -> None:
        slots.append(Slot(start, _plus(start, hours.duration, tz), from_client))

    def grid(day: date, after: datetime | None) -> Iterator[datetime]:
        """Starts on the 30-minute grid inside working hours of `day`."""
        first = datetime.combine(day, hours.day_start, tzinfo=tz)
        minutes = first.hour * 60 + first.minute
        first += timedelta(minutes=(-minutes) % _GRID)
        if after is not None and after > first:
            # Round up to the grid, in local wall time.
            m = after.hour * 60 + after.minute + (1 if after.second or after.microsecond else 0)
            m += (-m) % _GRID
            first = datetime.combine(day, time(0), tzinfo=tz) + timedelta(minutes=m)
        start = first
        while start.date() == day and start.time() <= hours.day_end:
            yield start
            start += timedelta(minutes=_GRID)

    anchor: datetime | None = None
    for p in proposals:
        if len(slots) >= count:
            break
        _require_aware(p.start, "proposal start")
        if p.has_time:
            start = p.start.astimezone(tz)
            if anchor is None:
                anchor = start
            if fits(start) and not overlaps_chosen(start):
                add(start, True)
        else:
            # The day the client named, in the extractor's calendar (00:00 there).
            day = p.start.date()
            if anchor is None:
                anchor = datetime.combine(day, hours.day_start, tzinfo=tz)
            chosen = next((s for s in grid(day, now) if fits(s) and not overlaps_chosen(s)), None)
            if chosen is not None:
                add(chosen, False)

    anchor = max(anchor, now) if anchor is not None else now
    for offset in range(hours.search_days):
        if len(slots) >= count:
            break
        day = anchor.date() + timedelta(days=offset)
        if day.isoweekday() not in hours.work_days or day in holidays:
            continue
        for start in grid(day, anchor if offset == 0 else None):
            if len(slots) >= count:
                break
            if fits(start) and not overlaps_chosen(start):
                add(start, False)
    return slots


# --------------------------------------------------------------------------------------------
# iCalendar


def new_uid(domain: str) -> str:
    """A fresh, unguessable UID (RFC 5545 §3.8.4.7); store it, never regenerate it (ICS-4)."""
    return f"{uuid.uuid4().hex}@{domain}"


def _bare(address: str) -> str:
    address = address.strip()
    return address[7:] if address.lower().startswith("mailto:") else address


def build_request(
    *,
    uid: str,
    sequence: int,
    start: datetime,
    end: datetime,
    summary: str,
    description: str,
    location: str,
    organizer: str,
    organizer_name: str,
    attendees: list[tuple[str, str]],
    timezone: str,
    method: str = "REQUEST",
    now: datetime | None = None,
) -> bytes:
    """One iTIP VCALENDAR (RFC 5546 §3.2.2 REQUEST, §3.2.5 CANCEL) as CRLF bytes.

    Times carry TZID=`timezone` plus its VTIMEZONE (ICS-6); ORGANIZER is a mailto: URI so
    clients show RSVP buttons and replies come back to the shared mailbox (ICS-3).
    `attendees` are (email, display name). `now` fixes DTSTAMP for tests; default: the clock.
    """
    _require_aware(start, "start")
    _require_aware(end, "end")
    if end <= start:
        raise ValueError("end must be after start")
    if sequence < 0:
        raise ValueError("sequence must not be negative")
    method = method.upper()
    tz = ZoneInfo(timezone)
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    people = [
        vCalAddress.new(
            _bare(email),
            cn=name or None,
            role=ROLE.REQ_PARTICIPANT,
            partstat=PARTSTAT.NEEDS_ACTION,
            rsvp=True,
        )
        for email, name in attendees
    ]
    event = Event.new(
        uid=uid,
        sequence=sequence,
        stamp=stamp,
        start=start.astimezone(tz),
        end=end.astimezone(tz),
        summary=summary,
        description=description,
        location=location,
        organizer=vCalAddress.new(_bare(organizer), cn=organizer_name or None),
        attendees=people,
        status=STATUS.CANCELLED if method == "CANCEL" else STATUS.CONFIRMED,
    )
    cal = Calendar.new(method=method, prodid=PRODID, subcomponents=[event])
    # Calendar.new adds a random RFC 7986 calendar UID; iTIP does not use it and it would make
    # the same invitation differ byte for byte between builds.
    cal.pop("UID", None)
    cal.add_missing_timezones()
    return cal.to_ical()


def parse_calendar(data: bytes) -> CalendarInfo | None:
    """Method, UID, SEQUENCE, DTSTAMP, times and attendee answers of the first VEVENT.

    None when the bytes are not a calendar with an event: replies come from outside, and a
    malformed one must go to a human, not crash the daemon.
    """
    try:
        cal = Calendar.from_ical(data)
        events = cal.events
        if not events:
            return None
        ev = events[0]
        method = cal.get("METHOD")
        stamp = ev.get("DTSTAMP")
        dtstamp = stamp.dt if stamp is not None else None
        people = [
            (_bare(str(a)).lower(), str(a.params.get("PARTSTAT", "NEEDS-ACTION")).upper())
            for a in ev.attendees
        ]
        uid = ev.get("UID")
        return CalendarInfo(
            method=str(method).upper() if method is not None else None,
            uid=str(uid) if uid is not None else None,
            sequence=int(ev.sequence or 0),
            dtstamp=dtstamp if isinstance(dtstamp, datetime) else None,
            start=ev.get("DTSTART").dt if ev.get("DTSTART") is not None else None,
            end=ev.get("DTEND").dt if ev.get("DTEND") is not None else None,
            attendees=people,
        )
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        # What icalendar raises on malformed input (UnicodeDecodeError is a ValueError).
        return None
