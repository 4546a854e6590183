"""One message as the classifiers read it: its opening, lower-cased and folded once, and its words.

The chain makes one Reading per message and hands it to every classifier, so the text is cut,
folded and split into words once, not once per classifier.

Only the opening of a long text is read (READ_CHARS). A reader decides what a message is from
its first screen or two: the request, the complaint or the proposed time comes first, and what
follows is detail. The parser has already taken away quoted history and signatures, so 3,000
characters (about 500 words, a printed page) is the whole of nearly every message a person
writes, and the cost of reading a message stops growing with its length after that.
"""

from __future__ import annotations

from inboxops.classifiers.phrases import non_ascii, spaced, tokens
from inboxops.models import ParsedMessage
from inboxops.text import fold_diacritics

READ_CHARS = 3000

def fold(s: str) -> str:
    """Exactly `fold_diacritics(s)`, faster on long text: each distinct non-ASCII character is
    folded once and replaced throughout, where str.translate looks up every character."""
    lowered = s.lower()
    if lowered.isascii():
        return lowered
    for char in non_ascii(lowered):
        folded = _FOLDED.get(char)
        if folded is None:
            folded = fold_diacritics(char)
            if len(_FOLDED) < _FOLDED_MAX:
                _FOLDED[char] = folded
        if folded != char:
            lowered = lowered.replace(char, folded)
    return lowered


# Each non-ASCII character folded (a handful recur in every Romanian message), up to a bound:
# mail in many scripts must not grow it without end. Item assignment is atomic for the threads.
_FOLDED: dict[str, str] = {}
_FOLDED_MAX = 2048


def words_of(text: str) -> frozenset[str]:
    """Exactly `phrases.tokens(text)` (the distinct `\\w+` runs), faster: every character that
    is no word character becomes a space, then the text is split (both in C)."""
    blanked = spaced(text)
    if not blanked.isascii():  # letters of other scripts: the regex knows them
        return tokens(text)
    return frozenset(blanked.split())


class Reading:
    """The parts of one message the classifiers read, each made on first use and kept."""

    __slots__ = ("_folded", "_subject", "_subject_words", "_words", "msg")

    def __init__(self, msg: ParsedMessage) -> None:
        self.msg = msg
        self._folded: dict[int, str] = {}
        self._words: dict[int, frozenset[str]] = {}
        self._subject: str | None = None
        self._subject_words: frozenset[str] | None = None

    def opening(self, limit: int = READ_CHARS) -> str:
        """The first `limit` characters of the new text, as written."""
        return self.msg.text[:limit]

    def folded(self, limit: int = READ_CHARS) -> str:
        """The opening, lower-cased and without diacritics (see text.fold_diacritics)."""
        found = self._folded.get(limit)
        if found is None:
            found = self._folded[limit] = fold(self.msg.text[:limit])
        return found

    def words(self, limit: int = READ_CHARS) -> frozenset[str]:
        """The distinct words of the folded opening."""
        found = self._words.get(limit)
        if found is None:
            found = self._words[limit] = words_of(self.folded(limit))
        return found

    @property
    def subject(self) -> str:
        """The subject, lower-cased and without diacritics."""
        if self._subject is None:
            self._subject = fold(self.msg.subject or "")
        return self._subject

    @property
    def subject_words(self) -> frozenset[str]:
        """The distinct words of the folded subject."""
        if self._subject_words is None:
            self._subject_words = words_of(self.subject)
        return self._subject_words
