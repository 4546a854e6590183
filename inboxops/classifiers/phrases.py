"""Many phrase patterns searched fast: one Aho-Corasick pass finds where any of them can start.

Python's `re` tries every branch of an alternation at every position, so a few hundred word
stems run one by one cost a millisecond per message. So each stem is read once, when the set is
built, for the literal texts every match starts with (its "openings": `(i|we) (get|got) (an|the)
error` opens with `i get an `, `we got the ` and so on; `complain\\w*` with `complain`). All
openings of all phrase sets go into one Aho-Corasick automaton (pyahocorasick, C), which finds
every place any of them occurs in one pass over the text; a message's text is scanned once for
all the sets that search it. A stem is then tried (`re.match`, C) only where one of its openings
starts, not inside a word, earliest first, until it matches. Every match starts with an opening,
so the result is exactly what searching every stem would give. The few stems whose openings are
unknown (`\\d{1,2} ?(am|pm)`) are searched as before, after a test for a text they must contain.
"""

from __future__ import annotations

import re
import re._parser as sre  # type: ignore[import-not-found]  # the stdlib's own regex parser
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import ahocorasick  # type: ignore[import-not-found]

_TOKEN = re.compile(r"\w+")
_WORD_CHAR = re.compile(r"\w")
# A stem's literal openings are expanded (alternatives times alternatives) up to this many,
# a character class up to this many characters ([0-9] is ten).
_MAX_OPENINGS = 256
_MAX_CLASS = 10
# Texts whose scan is kept: the classifiers search one message's subject and text several times.
_RECENT_TEXTS = 4
# At most this many texts one of which a stem must contain are tested (each test is a scan).
_MAX_ALSO = 8


def tokens(text: str) -> frozenset[str]:
    """The distinct words (`\\w+` runs) of a text: what the gates are checked against."""
    return frozenset(_TOKEN.findall(text))


# --- Reading a stem: which literal text every match starts with, or contains -----------------

def _finite(items: Any) -> set[str] | None:
    """Every string a parsed sequence can match, if they are few; None otherwise."""
    strings, whole = _openings(items)
    return strings if whole else None


def _item_strings(op: Any, av: Any) -> set[str] | None:
    """The strings one parsed item can match, if they are few; None otherwise."""
    if op is sre.LITERAL:
        return {chr(av)}
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return {""}  # zero width
    if op is sre.IN:
        chars: set[str] = set()
        for kind, value in av:
            if kind is sre.LITERAL:
                chars.add(chr(value))
            elif kind is sre.RANGE and value[1] - value[0] < _MAX_CLASS:
                chars.update(chr(c) for c in range(value[0], value[1] + 1))
            else:
                return None
        return chars if len(chars) <= _MAX_CLASS else None
    if op is sre.SUBPATTERN:
        return _finite(av[-1])
    if op is sre.BRANCH:
        out: set[str] = set()
        for branch in av[1]:
            found = _finite(branch)
            if found is None:
                return None
            out |= found
        return out if len(out) <= _MAX_OPENINGS else None
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, high, sub = av
        if high > 3:
            return None
        one = _finite(sub)
        if one is None:
            return None
        out, current = set(), {""}
        for count in range(high + 1):
            if count >= low:
                out |= current
            current = {a + b for a in current for b in one}
            if len(out) + len(current) > _MAX_OPENINGS:
                return None
        return out
    return None


def _item_openings(op: Any, av: Any) -> set[str]:
    """Texts every match of one parsed item starts with (at worst {""}: no knowledge)."""
    if op is sre.SUBPATTERN:
        return _openings(av[-1])[0]
    if op is sre.BRANCH:
        return set().union(*(_openings(branch)[0] for branch in av[1]))
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and av[0] >= 1:
        return _openings(av[2])[0]
    return {""}


def _openings(items: Any) -> tuple[set[str], bool]:
    """Texts every match of a parsed sequence starts with, and whether they are whole matches."""
    current = {""}
    for op, av in items:
        strings = _item_strings(op, av)
        if strings is None:
            tails = _item_openings(op, av)
            grown = {a + b for a in current for b in tails}
            return (grown if len(grown) <= _MAX_OPENINGS else current), False
        grown = {a + b for a in current for b in strings}
        if len(grown) > _MAX_OPENINGS:
            return current, False
        current = grown
    return current, True


def _required(items: Any, fits: Callable[[set[str]], bool] = lambda strings: True) -> set[str]:
    """Literal texts one of which every match contains (empty: none is known), of those that
    `fits` accepts.

    The sequence is cut into runs of items with few possible strings; every match contains
    one string of each run (and of each such item), so the run whose shortest string is longest
    is the best test.
    """
    best: set[str] = set()
    run = {""}

    def close(run: set[str]) -> None:
        nonlocal best
        strings = {s for s in run if s}
        if len(strings) == len(run) and strings:
            # Keep only the shortest forms: a text containing "am" is enough for " am".
            shortest = {s for s in strings if not any(t != s and t in s for t in strings)}
            if fits(shortest) and (not best or min(map(len, shortest)) > min(map(len, best))):
                best = shortest

    for op, av in items:
        strings = _item_strings(op, av)
        grown = None if strings is None else {a + b for a in run for b in strings}
        if grown is None or len(grown) > _MAX_OPENINGS:
            close(run)
            before, run = run, {""}
            if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and av[0] >= 1:
                once = _finite(av[2])  # at least one copy: it continues the run
                close(_required_set(av[2]) if once is None
                      else {a + b for a in before for b in once})
            elif op is sre.SUBPATTERN:
                close(_required_set(av[-1]))
            elif op is sre.BRANCH:
                parts = [_required_set(branch) for branch in av[1]]
                if all(part and "" not in part for part in parts):
                    close(set().union(*parts))
            if strings is not None:
                close(strings)
            continue
        if strings is not None:
            close(strings)
        run = grown
    close(run)
    return best


def _required_set(items: Any) -> set[str]:
    """`_required` of a sub-pattern, as a run: whole strings when finite, else its tests."""
    finite = _finite(items)
    return finite if finite is not None else _required(items)


_ASCII_DIGIT = [(sre.RANGE, (ord("0"), ord("9")))]


def _ascii_digits(items: Any) -> tuple[list[Any], bool]:
    """A parsed sequence with each `\\d` read as [0-9], and whether it had one. `\\d` is every
    Unicode decimal digit (str.isdecimal); a text without other ones matches both the same."""
    out, changed = [], False
    for op, av in items:
        if op is sre.IN and list(av) == [(sre.CATEGORY, sre.CATEGORY_DIGIT)]:
            op, av, changed = sre.IN, _ASCII_DIGIT, True
        elif op is sre.SUBPATTERN:
            sub, found = _ascii_digits(av[-1])
            av, changed = (*av[:-1], sub), changed or found
        elif op is sre.BRANCH:
            branches = [_ascii_digits(branch) for branch in av[1]]
            av = (av[0], [branch for branch, _ in branches])
            changed = changed or any(found for _, found in branches)
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            sub, found = _ascii_digits(av[2])
            av, changed = (av[0], av[1], sub), changed or found
        out.append((op, av))
    return out, changed


def _other_digits(text: str) -> bool:
    """Whether a text has decimal digits other than 0-9 (what `\\d` also matches)."""
    return not text.isascii() and any(char.isdecimal() for char in non_ascii(text))


# --- The scan: where the openings of every phrase set occur ------------------------------------

_ASCII_BYTES = bytes(range(128))
# Every ASCII character that is not a word character (`\w`), as a space.
_ASCII_SPACES = str.maketrans(
    {c: " " for c in range(128) if not (chr(c).isalnum() or chr(c) == "_")})


def non_ascii(text: str) -> set[str]:
    """The distinct non-ASCII characters of a text. UTF-8 keeps ASCII bytes for ASCII characters
    only, so deleting those bytes (C, a table per byte) leaves exactly the others."""
    data = text.encode("utf-8", "surrogatepass").translate(None, _ASCII_BYTES)
    return set(data.decode("utf-8", "surrogatepass"))


def spaced(text: str) -> str:
    """The text with every character that is no word character (`\\w`: isalnum() or "_") as a
    space, and so of the same length: one translate (C) and a replace per distinct non-ASCII
    character that is no word character. The last text's is kept: the scan and the reading of
    a message's words both want it."""
    global _last_spaced
    last = _last_spaced
    if last[0] is text:
        return last[1]
    blanked = _spaced(text)
    _last_spaced = (text, blanked)  # one tuple, swapped whole: another thread sees a pair
    return blanked


_last_spaced = ("", "")


def _spaced(text: str) -> str:
    """`spaced`, made afresh."""
    if not text.isascii():
        for char in non_ascii(text):
            if not (char.isalnum() or char == "_"):
                text = text.replace(char, " ")
    return text.translate(_ASCII_SPACES)


def _key(opening: str, whole: bool) -> str:
    """What the automaton looks for in a spaced text (see `spaced`), framed by spaces, for an
    opening of a stem that starts with a word character: a space before it (a match never
    starts inside a word), and after it too when the opening is a whole match that ends in a
    word character (nor ends inside one)."""
    key = " " + spaced(opening)
    return key + " " if whole and _WORD_CHAR.match(opening[-1]) else key


_Starts = list[tuple[int, int]]  # (where an opening starts, the stem's index), in order


class _Scanner:
    """One automaton over the openings of the stems of every phrase set, and the scan of a text
    by it: for each set, the places where one of its stems' openings may start (not inside a
    word). The text is scanned with every character that is no word character as a space, so
    the automaton also checks those word boundaries (and "n-am" is looked for as "n am": a few
    places too many, which the stem's own match then rejects). One pass serves every set that
    searches the same text."""

    def __init__(self) -> None:
        self._keys: dict[str, set[tuple[int, int]]] = {}  # key -> (set, stem index)
        self._sets = 0
        self._automaton: Any = None  # built on first use after a set is added
        # The last few texts scanned. Replaced, never emptied in place, where another thread
        # may be reading; an entry holds its text, so a reused id() is never mistaken for it.
        self._recent: dict[int, tuple[str, list[_Starts]]] = {}

    def add(self, keys: dict[int, set[str]]) -> int:
        """Register one phrase set (its stems' keys, by stem index); returns its number."""
        number = self._sets
        for index, texts in keys.items():
            for text in texts:
                self._keys.setdefault(text, set()).add((number, index))
        self._sets += 1
        self._automaton, self._recent = None, {}
        return number

    def _build(self) -> Any:
        automaton = ahocorasick.Automaton()
        for key, targets in self._keys.items():
            # The automaton gives where a key ends (the index of its last character).
            automaton.add_word(key, (len(key) - 1, tuple(sorted(targets))))
        automaton.make_automaton()
        self._automaton = automaton
        return automaton

    def starts(self, text: str, number: int) -> _Starts:
        """Where the openings of set `number` may start in `text`, in order."""
        recent = self._recent.get(id(text))
        if recent is None or recent[0] is not text:
            recent = (text, self._scan(text))
            if len(self._recent) >= _RECENT_TEXTS:
                self._recent = {}
            self._recent[id(text)] = recent
        return recent[1][number]

    def _scan(self, text: str) -> list[_Starts]:
        automaton = self._automaton if self._automaton is not None else self._build()
        found: list[_Starts] = [[] for _ in range(self._sets)]
        # Framed by spaces: a key's leading space at 0 stands for the start of the text, and a key
        # starting at `end - length` in the framed text has its opening start there in `text`.
        for end, (length, targets) in automaton.iter(f" {spaced(text)} "):
            at = end - length
            for number, index in targets:
                found[number].append((at, index))
        for starts in found:
            starts.sort()
        return found


_SCANNER = _Scanner()
_MADE: weakref.WeakSet[PhraseSet] = weakref.WeakSet()  # every phrase set (`compile_all`)


def _tells(openings: set[str]) -> Callable[[set[str]], bool]:
    """Whether a set of texts a stem must contain is worth testing once its opening is found:
    few, and not in every opening already."""
    def tells(strings: set[str]) -> bool:
        return len(strings) <= _MAX_ALSO and not all(
            any(r in o for r in strings) for o in openings)
    return tells


_BUILDING = threading.Lock()


def compile_all() -> None:
    """Compile every phrase set made so far: a process that is about to classify (a parse
    worker, at its start) pays for it once, before its first message."""
    for phrases in list(_MADE):
        phrases.one_by_one("")


class PhraseSet:
    """Whole-word stems (regex fragments over folded lower-case text), searched together."""

    def __init__(self, stems: Sequence[str]) -> None:
        self.stems = list(stems)
        _MADE.add(self)

    def __getattr__(self, name: str) -> Any:
        """The compiled stems, made on first use (`compile_all`): the daemon's main process
        imports the classifiers but never classifies (its workers do), and compiling every
        stem cost it ~0.25 s of its start and ~9 MB for good."""
        if name.startswith("__") or self.__dict__.get("_built"):
            raise AttributeError(name)
        with _BUILDING:
            if not self.__dict__.get("_built"):
                self._build()
                self._built = True
        return getattr(self, name)

    def _build(self) -> None:
        stems = self.stems
        self.patterns = [re.compile(rf"(?<!\w)(?:{stem})(?!\w)") for stem in stems]
        # Tried where an opening starts, where the look-behind is already known to hold.
        self._loose = [re.compile(rf"(?:{stem})(?!\w)") for stem in stems]
        self.keys: dict[int, set[str]] = {}  # per scanned stem: what the scan looks for
        self.contains: list[frozenset[str]] = []  # per stem: one must be in the text (or none)
        self._unscanned: list[int] = []  # stems with no known opening, in order
        # Stems with openings that start with no word character (`\?`, `\$\d|usd`), which the
        # spaced text cannot show: their first characters. A text with one of those characters
        # is searched for the stem one by one; a text without can only match a word opening.
        self._marked: dict[int, frozenset[str]] = {}
        self._ascii_digits: list[int] = []  # scanned as if `\d` were [0-9], in order
        # Scanned stems whose openings are common words ("the \w+ team"): a text they must
        # contain as well, tested once a text has one of their openings, before any match.
        self._also: dict[int, frozenset[str]] = {}
        for index, stem in enumerate(stems):
            parsed = sre.parse(stem).data
            self.contains.append(frozenset(_required(parsed)))
            # `\d` (`\d{1,2} ?(am|pm)`, `la ora \d`) is scanned for as the ASCII digits, in a
            # text that has no other digits (nearly all); a text that has is searched one by one.
            ascii_parsed, digits = _ascii_digits(parsed)
            if digits:
                parsed = ascii_parsed
            openings, whole = _openings(parsed)
            if "" in openings:
                self._unscanned.append(index)
                continue
            words = {opening for opening in openings if _WORD_CHAR.match(opening)}
            self.keys[index] = {_key(opening, whole) for opening in words}
            if words != openings:
                self._marked[index] = frozenset(opening[0] for opening in openings - words)
            if digits:
                self._ascii_digits.append(index)
            also = _required(parsed, _tells(words))
            if also and words:
                self._also[index] = frozenset(also)
        self._mark_chars = sorted(frozenset().union(*self._marked.values()))
        self._number = _SCANNER.add(self.keys)

    def _first_whole(self, index: int, text: str) -> re.Match[str] | None:
        """The first match of a stem that does not start inside a word (without the
        leading look-behind `re` can skip ahead to a literal; the boundary is checked here)."""
        contains = self.contains[index]
        if contains and not any(map(text.__contains__, contains)):
            return None
        loose, start = self._loose[index], 0
        while (m := loose.search(text, start)) is not None:
            at = m.start()
            if at == 0 or not (text[at - 1].isalnum() or text[at - 1] == "_"):
                return m
            start = at + 1
        return None

    def _scanned(
        self, text: str, first: bool, skip: Sequence[int] = (),
    ) -> list[tuple[int, int, str]]:
        """(start, index, match) of the first match of each scanned stem (but `skip`), earliest
        first; with `first`, only the earliest one."""
        hits: list[tuple[int, int, str]] = []
        done: set[int] = set(skip)  # found, or lacking a text it must contain
        tested: set[int] = set()  # has the text it must contain
        loose, also = self._loose, self._also
        for at, index in _SCANNER.starts(text, self._number):
            if index not in done:
                if index in also and index not in tested:
                    if not any(map(text.__contains__, also[index])):
                        done.add(index)
                        continue
                    tested.add(index)
                m = loose[index].match(text, at)
                if m is not None:
                    hits.append((at, index, m.group(0)))
                    if first:
                        break
                    done.add(index)
        return hits

    def one_by_one(self, text: str) -> list[int]:
        """The stems this text is searched for one by one, in order (the scan skips them)."""
        found = []
        if self._marked:
            present = [char for char in self._mark_chars if char in text]
            if present:
                found = [index for index, marks in self._marked.items()
                         if not marks.isdisjoint(present)]
        if self._ascii_digits and _other_digits(text):
            found += self._ascii_digits
        return sorted({*found, *self._unscanned}) if found else self._unscanned

    def any(self, text: str) -> bool:
        """Whether any stem occurs in `text` (stops at the first found)."""
        one_by_one = self.one_by_one(text)
        return bool(self._scanned(text, True, one_by_one)) or any(
            self._first_whole(index, text) is not None for index in one_by_one)

    def search(self, text: str) -> dict[int, str]:
        """The first match of each stem that occurs in `text`, by stem index, in the order they
        occur in the text."""
        one_by_one = self.one_by_one(text)
        hits = self._scanned(text, False, one_by_one)
        if one_by_one:
            for index in one_by_one:
                m = self._first_whole(index, text)
                if m is not None:
                    hits.append((m.start(), index, m.group(0)))
            hits.sort()
        return {index: word for _, index, word in hits}
