"""Style signals: how a message is written, whatever it is about.

Keyword rules see topics; these see the writer. Mail written to thousands ("Dear Valued
Subscriber", "you" in every line, capitals, a list tag in the subject) is not a client writing
to us, however many prices it mentions. A client who is unhappy says so in ordinary words of
displeasure that name no product or process ("slow", "rude", "forgot", "sick of it"); a client
who wants something asks for it. The lexicons are written for this project from general
knowledge of English and Romanian, not taken from any corpus.
"""

from __future__ import annotations

import re
from typing import ClassVar

from inboxops.classifiers.base import Classifier, Verdict, register
from inboxops.classifiers.phrases import PhraseSet, spaced
from inboxops.classifiers.reading import READ_CHARS, Reading

# A subject that starts with a list tag: "[team-news] ...", "[Announce] ...".
_LIST_TAG = re.compile(r"^\s*\[[a-z0-9][\w .:/-]{1,40}\]", re.IGNORECASE)
_REPLY_TAG = re.compile(r"^\s*\[(ticket|case|ref|external|spam|sec)", re.IGNORECASE)

# Greeting a whole audience rather than a person.
_MASS_SALUTATION = re.compile(
    r"(?<!\w)(dear|hello|hi|greetings|stimate|stimata|stimati|dragi|draga|buna ziua)[ ,]+"
    r"(valued |fellow |esteemed |all |our )?([\w-]+ ){0,3}"
    r"(customers?|subscribers?|members?|students?|users?|"
    r"readers?|partners?|investors?|shareholders?|colleagues?|friends?|clients?|participants?|"
    r"utilizator\w*|client\w*|abonat\w*|membr\w*|partener\w*|colegi)(?!\w)"
)

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_SECOND_PERSON = frozenset(["you", "your", "yours", "you're", "you'll", "you've", "yourself"])
_FIRST_PERSON = frozenset(["i", "my", "me", "mine", "i'm", "i've", "i'd", "i'll", "myself"])
_FIRST_PERSON_SPACED = (" i ", " my ", " me ")


def _first_person_least(text: str) -> int:
    """A lower bound of the _FIRST_PERSON words of a text (_WORD's matches): each of these
    between two spaces is one (str.count counts "i i" once, which only lowers the bound)."""
    return sum(map(text.count, _FIRST_PERSON_SPACED))


# The letters counted for "written in capitals": ASCII, and the Romanian ones.
_ASCII_UPPER = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_LOWER = b"abcdefghijklmnopqrstuvwxyz"
_RO_UPPER = "ĂÂÎȘŞȚŢ"
_RO_LOWER = "ăâîșşțţ"
_SHOUT_CHARS = 2000  # the first lines show whether a message shouts
_SHOUT_MIN = 80  # letters needed to judge
_SHOUT_SHARE = 0.6


def _count(text: str, data: bytes, ascii_letters: bytes, ro_letters: str) -> int:
    """How many of the letters `text` has. `data` is text as UTF-8, where an ASCII byte is always
    that character, so bytes.translate (C, a table per byte) counts the ASCII ones."""
    found = len(data) - len(data.translate(None, ascii_letters))
    if not text.isascii():
        found += sum(map(text.count, ro_letters))
    return found


def _shouting(raw: str) -> bool:
    """Capitals are more than 60% of the letters (and there are enough letters to tell)."""
    head = raw[:_SHOUT_CHARS]
    data = head.encode("utf-8", "surrogatepass")
    upper = _count(head, data, _ASCII_UPPER, _RO_UPPER)
    if upper <= _SHOUT_SHARE * _SHOUT_MIN:  # cannot be over 60% of at least 80 letters
        return False
    lower = _count(head, data, _ASCII_LOWER, _RO_LOWER)
    return upper + lower >= _SHOUT_MIN and upper > _SHOUT_SHARE * (upper + lower)


_URL = re.compile(r"https?://|www\.")

# Words of displeasure that carry no topic. Folded (no diacritics), lower case, whole words or
# stems. Weighted lightly and capped: one of them is a mood, several are a complaint.
_DISPLEASURE = PhraseSet([
    # English
    r"bad", r"worse", r"poor(ly)?", r"slow(est|er)?", r"rude(ly|ness)?", r"dirty", r"filthy",
    r"cold", r"stale", r"sick", r"fed up", r"tired of", r"hate[sd]?", r"fail(s|ed|ing|ure)?",
    r"crash(es|ed|ing)?", r"freez(es|ing)|froze(n)?", r"stuck", r"lost", r"missing",
    r"forg[oe]t(ten)?", r"nothing", r"none", r"empty", r"never", r"wrong(ly)?", r"late",
    r"delayed", r"cancel+ed", r"overpriced", r"expensive", r"incompetent", r"unprofessional",
    r"unreliable", r"unusable", r"unhelpful", r"not helpful", r"not clear", r"not good",
    r"not (even )?(fixed|sorted|solved|answered|replied|refunded)", r"no (help|answer|one)",
    r"hours? (late|delayed|waiting)", r"still waiting", r"again", r"seriously", r"really\?",
    r"wtf", r"smh", r"ugh", r"sigh", r"shocking", r"appalling", r"disgusting", r"dreadful",
    r"joke", r"mess(ed)?( up)?", r"screw(ed)? up", r"ruin(ed|s)?", r"dangerous", r"unsafe",
    r"injur(y|ed)", r"almost (died|die|crashed)", r"stop (sending|charging|adding|calling)",
    r"(very|so|extremely|really) (disappointed|annoyed|upset|angry|slow|bad|poor)",
    r"upset", r"furious", r"livid", r"gutted", r"nightmare", r"hassle",
    r"thanks for nothing", r"no (longer|more) (working|available)", r"do something",
    r"(doesn.t|don.t|didn.t|won.t|isn.t|aren.t|wasn.t|not) (seem to )?(work|load|open|arrive|"
    r"show|appear|respond|help)\w*", r"nothappy|notimpressed|badservice|customerservice",
    # Romanian
    r"rau", r"mai rau", r"urat", r"murdar\w*", r"rece", r"incet", r"lent\w*", r"nepoliticos\w*",
    r"obraznic\w*", r"pierdut\w*", r"uitat\w*", r"nimic", r"niciodata", r"gol", r"din nou",
    r"degradat\w*", r"scump\w*", r"incompetent\w*", r"neprofesionist\w*", r"nesigur\w*",
    r"m-am saturat", r"sunt (foarte )?(suparat|nervos|dezamagit)\w*", r"suparat\w*",
    r"nervos\w*", r"revoltat\w*", r"ingrozitor\w*", r"groaznic\w*", r"oribil\w*", r"penibil\w*",
    r"rusine", r"periculos\w*", r"nu (se )?(incarca|deschide|porneste|raspunde)\w*",
    r"nu (a|au|s-a) (rezolvat|venit|ajuns|sosit)\w*",
])

# The calls to action of a sales pitch or a bulk notice: the writer wants many readers to act.
_PITCH = PhraseSet([
    r"get (access|started|yours|your free|it now)", r"don.t (miss|wait|delay)", r"sign up",
    r"find out (more|how)", r"learn more", r"read more", r"visit (our|us|www)",
    r"call (us )?(now|today|toll)", r"toll.free", r"order (now|today)", r"buy now",
    r"join (now|today|the (thousands|millions))", r"take advantage", r"exclusive",
    r"special (offer|price|deal)", r"for free|free of charge|absolutely free",
    r"satisfaction guaranteed", r"(no|without) (obligation|risk|cost to you)",
    r"while supplies last", r"best (price|deal|rates?)", r"(amazing|incredible|unbelievable)",
    r"please be advised", r"we (strongly )?(recommend|encourage|invite) (you|all)",
    r"this (e-?mail|message|newsletter|notice) (is|was) (sent|intended)",
    r"(comanda|cumpara|inscrie-te|aboneaza-te) (acum|azi)", r"ofert[aei] special[aei]",
    r"gratuit\w*", r"nu rata\w*", r"afla (mai multe|cum)",
])

# Asking for something: a question, or the phrases that make a request without a question mark.
_ASKS = PhraseSet([
    r"please", r"pls", r"plz", r"could you", r"can you", r"would you", r"i would like",
    r"i'd like", r"let me know", r"va rog", r"te rog", r"puteti", r"ati putea", r"as dori",
    r"doresc", r"vreau sa stiu", r"astept raspuns",
])
# The first words of an audience greeting (_MASS_SALUTATION), as whole words in a spaced text
# (phrases.spaced): without one, it cannot match.
_GREETINGS = tuple(f" {word} " for word in (
    "dear", "hello", "hi", "greetings", "stimate", "stimata", "stimati", "dragi", "draga", "buna"))


def _greets(blanked: str) -> bool:
    """Whether a spaced text (phrases.spaced: the same length, so the opening of the spaced
    text is the spaced opening) has a greeting word. The regex wants one after no word
    character and before a space or comma: a word of the spaced text. (The regex costs ~8 us a
    message, this ~1 us.)"""
    framed = f" {blanked} "
    return any(map(framed.__contains__, _GREETINGS))


def _asks(text: str) -> bool:
    """A question mark, or a phrase that asks (whole words)."""
    return "?" in text or _ASKS.any(text)


@register
class StyleClassifier(Classifier):
    """Scores how the message is written: mass-mail voice, list tags, displeasure, asking."""

    name: ClassVar[str] = "style"
    list_tag_weight: float = 1.5
    mass_salutation_weight: float = 1.5
    second_person_weight: float = 1.2
    shouting_weight: float = 1.0
    links_weight: float = 0.8
    pitch_weight: float = 0.6
    pitch_cap: int = 4
    displeasure_weight: float = 0.4
    displeasure_cap: int = 4
    statement_weight: float = 0.3
    max_chars: int = READ_CHARS

    def assess(self, reading: Reading) -> Verdict:
        verdict = Verdict()
        subject = reading.msg.subject or ""
        raw = reading.opening(self.max_chars)
        text = reading.folded(self.max_chars)
        if _LIST_TAG.match(subject) and not _REPLY_TAG.match(subject):
            verdict.add("other", self.list_tag_weight, "list tag in the subject")
        if _greets(spaced(text)[:300]) and _MASS_SALUTATION.search(text[:300]):
            verdict.add("other", self.mass_salutation_weight, "greets an audience, not a person")
        # Every _SECOND_PERSON word contains "you", and two words never share one: the count of
        # "you" is at most the count of those words. A first-person word between spaces is one
        # of the words: their count is at least that. Past those bounds the words need no
        # counting (they cost 40 us; the bounds ~2 us, and spare 98% of the counts).
        you_most = text.count("you")
        if you_most >= 5 and you_most > 2 * (_first_person_least(text) + 1):
            words = _WORD.findall(text)
            you = sum(map(_SECOND_PERSON.__contains__, words))
            me = sum(map(_FIRST_PERSON.__contains__, words))
            if you >= 5 and you > 2 * (me + 1):
                verdict.add("other", self.second_person_weight,
                            f"written to 'you' throughout ({you}x you, {me}x I)")
        if _shouting(raw):
            verdict.add("other", self.shouting_weight, "written in capitals")
        links = len(_URL.findall(text)) if ("://" in text or "www." in text) else 0
        if links >= 3:
            verdict.add("other", self.links_weight, f"{links} links")
        pitch = list(dict.fromkeys(_PITCH.search(text).values()))
        if pitch:
            kept = pitch[: self.pitch_cap]
            verdict.add("other", self.pitch_weight * len(kept), f"sales pitch: {', '.join(kept)}")
        found = list(dict.fromkeys(_DISPLEASURE.search(text).values()))
        if found:
            kept = found[: self.displeasure_cap]
            verdict.add("complaint", self.displeasure_weight * len(kept),
                        f"displeasure: {', '.join(kept)}")
        if not _asks(text) and not _asks(reading.subject):
            verdict.add("complaint", self.statement_weight, "asks for nothing")
        return verdict
