"""Normalisation and the en/ro vocabulary of dates and times, as folded lower-case regexes.

Kept apart from the scanning code so the word lists can be read (and extended) in one place.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

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
# "the second Tuesday of each month (in 2002)", "a doua marți a fiecărei luni": a monthly
# series, read as its dates. Then "except June", "cu excepția lunii iunie": months (or one
# month-day) the series skips, said later in the same sentence.
_ORDINALS: dict[str, int] = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
    "last": -1, "prima": 1, "primul": 1, "a doua": 2, "a treia": 3, "a patra": 4,
    "ultima": -1, "ultimul": -1,
}  # fmt: skip
_MONTHLY = re.compile(
    r"\b(?:the\s+)?(?P<ord>first|1st|second|2nd|third|3rd|fourth|4th|last|prima|primul"
    r"|a\s+doua|a\s+treia|a\s+patra|ultima|ultimul)\s+"
    rf"(?P<wd>{_WD_RE})\s+"
    r"(?:of\s+(?:each|every|the)\s+month|(?:a|din)\s+(?:fiecarei\s+luni|fiecare\s+luni"
    r"|fiecare\s+luna|lunii))\b"
    r"(?:\s*,?\s*(?:in|for|during|throughout|in\s+anul|pe\s+anul|pentru|din)\s+"
    r"(?P<year>(?:19|20)\d{2})\b)?"
)
_EXCEPT_ITEM = rf"{_MONTH_RE}(?:\s+\d{{1,2}}(?:st|nd|rd|th)?)?"
_EXCEPT = re.compile(
    r"\b(?:except(?:\s+for)?|excluding|but\s+not|other\s+than|apart\s+from|cu\s+exceptia"
    r"|in\s+afara|mai\s+putin)\s+(?:in\s+|the\s+months?\s+of\s+|de\s+|lunile\s+|lunii\s+"
    r"|lunilor\s+|luna\s+)*"
    rf"(?P<list>{_EXCEPT_ITEM}(?:\s*(?:,|and|or|si|sau|&)\s*{_EXCEPT_ITEM})*)"
)
_SENTENCE_STOP = re.compile(r"(?<![ap]\.m)\.(?:\s|$)|[;!?\n]")

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
