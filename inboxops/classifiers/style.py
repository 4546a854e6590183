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
from inboxops.classifiers.phrases import PhraseSet
from inboxops.models import ParsedMessage
from inboxops.text import fold_diacritics

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
_UPPER = str.maketrans("", "", "ABCDEFGHIJKLMNOPQRSTUVWXYZĂÂÎȘŞȚŢ")
_LOWER = str.maketrans("", "", "abcdefghijklmnopqrstuvwxyzăâîșşțţ")


def _count(text: str, deletion: dict[int, int | None]) -> int:
    """How many characters of a set `text` has (str.translate runs in C; a loop would not)."""
    return len(text) - len(text.translate(deletion))


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
_ASKS = re.compile(
    r"\?|(?<!\w)(please|pls|plz|could you|can you|would you|i would like|i'd like|let me know|"
    r"va rog|te rog|puteti|ati putea|as dori|doresc|vreau sa stiu|astept raspuns)(?!\w)"
)


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
    max_chars: int = 6000

    def judge(self, msg: ParsedMessage) -> Verdict:
        verdict = Verdict()
        subject = msg.subject or ""
        raw = msg.text[: self.max_chars]
        text = fold_diacritics(raw)
        if _LIST_TAG.match(subject) and not _REPLY_TAG.match(subject):
            verdict.add("other", self.list_tag_weight, "list tag in the subject")
        if _MASS_SALUTATION.search(text[:300]):
            verdict.add("other", self.mass_salutation_weight, "greets an audience, not a person")
        words = _WORD.findall(text)
        you = sum(1 for w in words if w in _SECOND_PERSON)
        me = sum(1 for w in words if w in _FIRST_PERSON)
        if you >= 5 and you > 2 * (me + 1):
            verdict.add("other", self.second_person_weight,
                        f"written to 'you' throughout ({you}x you, {me}x I)")
        upper, lower = _count(raw[:2000], _UPPER), _count(raw[:2000], _LOWER)
        if upper + lower >= 80 and upper > 0.6 * (upper + lower):
            verdict.add("other", self.shouting_weight, "written in capitals")
        links = len(_URL.findall(text))
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
        if not _ASKS.search(text) and not _ASKS.search(fold_diacritics(subject)):
            verdict.add("complaint", self.statement_weight, "asks for nothing")
        return verdict
