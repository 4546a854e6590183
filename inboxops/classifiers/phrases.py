"""Many phrase patterns searched fast: the words of a text decide which patterns can match.

Python's `re` tries every branch of an alternation at every position, so a few hundred word
stems run one by one cost a millisecond per message, and even one scan for all their first
letters costs more than the rest of the chain. So each stem is read once, when the set is built,
for the words any match must contain ("gates"): `(i|we) (get|got) (an|the) error` needs the
word `i` or `we`, then `get` or `got`, then `an` or `the`; `complain\\w*` needs a word that
starts with `complain`. A message's words are collected once (one C-level `findall`), each
distinct word's gates are looked up in a memo (mail reuses its vocabulary), and only the stems
whose gates are all met are searched. A stem that starts with no word (`\\?`, `!!+`) is gated by
the literal text every match must contain (`?`, `!!`), checked with `in`. The gates only skip
stems that cannot match, so the result is exactly what searching every stem would give.
"""

from __future__ import annotations

import re
import re._parser as sre  # type: ignore[import-not-found]  # the stdlib's own regex parser
from collections.abc import Iterable, Sequence
from typing import Any

_TOKEN = re.compile(r"\w+")
_WORD_CHAR = re.compile(r"\w")
# A stem's literal openings are expanded (alternatives times alternatives) up to this many.
_MAX_OPENINGS = 256
# Words of texts remembered with the gates they meet; past this many the memo starts anew.
_MEMO_WORDS = 50_000
_MEMO_WORD_CHARS = 32  # longer words (ids, base64) are rare twice: looked up, not remembered
_EMPTY: frozenset[int] = frozenset()


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
            elif kind is sre.RANGE and value[1] - value[0] < 8:
                chars.update(chr(c) for c in range(value[0], value[1] + 1))
            else:
                return None
        return chars if len(chars) <= 8 else None
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


def _required(items: Any) -> set[str]:
    """Literal texts one of which every match contains (empty: none is known).

    The sequence is cut into runs of items with few possible strings; every match contains
    one string of each run, so the run whose shortest string is longest is the best test.
    """
    best: set[str] = set()
    run = {""}

    def close(run: set[str]) -> None:
        nonlocal best
        strings = {s for s in run if s}
        if len(strings) == len(run) and strings and (
                not best or min(map(len, strings)) > min(map(len, best))):
            # Keep only the shortest forms: a text containing "am" is enough for " am".
            best = {s for s in strings if not any(t != s and t in s for t in strings)}

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
            continue
        run = grown
    close(run)
    return best


def _required_set(items: Any) -> set[str]:
    """`_required` of a sub-pattern, as a run: whole strings when finite, else its tests."""
    finite = _finite(items)
    return finite if finite is not None else _required(items)


# --- Gates ------------------------------------------------------------------------------------

class _Gates:
    """Numbers word conditions (an exact word, or a word that starts with a prefix) for every
    phrase set at once, and says which a text's words meet: one pass over a message's words
    serves all the sets that search it."""

    def __init__(self) -> None:
        self.ids: dict[tuple[frozenset[str], frozenset[str]], int] = {}
        self.exact: dict[str, set[int]] = {}
        self.prefix: dict[str, set[int]] = {}
        # The words seen (mail reuses its vocabulary) and, of those, the ones that meet a gate,
        # with their gates; and the last few word sets with the gates they meet (the classifiers
        # search one message's words several times). Replaced, never emptied in place, where
        # another thread may be reading; a word goes into `hits` before it goes into `seen`.
        self._seen: set[str] = set()
        self._hits: dict[str, frozenset[int]] = {}
        self._hit_words: set[str] = set()
        self._recent: dict[int, tuple[frozenset[str], frozenset[int]]] = {}

    def _forget(self) -> None:
        self._seen, self._hits, self._hit_words, self._recent = set(), {}, set(), {}

    def add(self, exact: frozenset[str], prefixes: frozenset[str]) -> int:
        key = (exact, prefixes)
        if key not in self.ids:
            gate = self.ids[key] = len(self.ids)
            for word in exact:
                self.exact.setdefault(word, set()).add(gate)
            for word in prefixes:
                self.prefix.setdefault(word, set()).add(gate)
            self._forget()  # what was remembered lacks the new gate
        return self.ids[key]

    def met(self, words: frozenset[str]) -> frozenset[int]:
        """The gates a text's words meet."""
        recent = self._recent.get(id(words))
        if recent is not None and recent[0] is words:
            return recent[1]
        if len(self._seen) > _MEMO_WORDS:
            self._forget()
        seen, hits, hit_words = self._seen, self._hits, self._hit_words
        met: set[int] = set()
        for word in words - seen:  # set operations run in C; new words are few
            gates = self.met_by(word)
            met |= gates
            if len(word) <= _MEMO_WORD_CHARS:
                if gates:
                    hits[word] = gates
                    hit_words.add(word)
                seen.add(word)
        met.update(*map(hits.__getitem__, words & hit_words))
        result = frozenset(met)
        if len(self._recent) >= 4:
            self._recent = {}
        self._recent[id(words)] = (words, result)
        return result

    def met_by(self, word: str) -> frozenset[int]:
        """The gates one word of a text meets."""
        met = set(self.exact.get(word, ()))
        for end in range(1, len(word) + 1):
            met.update(self.prefix.get(word[:end], ()))
        return frozenset(met) if met else _EMPTY


def _word_gates(
    openings: Iterable[str], whole_matches: bool = False,
) -> list[tuple[frozenset[str], frozenset[str]]] | None:
    """Word conditions every match meets, from the texts it starts with; None if an opening
    does not start with a word character (the match need not start at a word).

    Each opening is cut into its runs of word characters: a run followed by another character
    is a whole word of the text, the last run may be the start of a longer word, unless the
    openings are whole matches (a match is followed by no word character). The k-th condition
    is met by the k-th run of any opening.
    """
    runs: list[list[tuple[str, bool]]] = []
    for opening in openings:
        if not opening or not _WORD_CHAR.match(opening):
            return None
        found = [(m.group(0), whole_matches or m.end() < len(opening))
                 for m in _TOKEN.finditer(opening)]
        runs.append(found)
    depth = min(len(r) for r in runs)
    gates = []
    for k in range(depth):
        exact = frozenset(word for r in runs for word, whole in [r[k]] if whole)
        prefixes = frozenset(word for r in runs for word, whole in [r[k]] if not whole)
        gates.append((exact, prefixes))
    return gates


_MAX_NEEDLES = 8
_ENOUGH_LETTERS = 6


def _cut(opening: str, runs: int) -> str:
    """The opening up to the end of its `runs`-th word, with the character after it if any."""
    found = list(_TOKEN.finditer(opening))
    end = found[min(runs, len(found)) - 1].end()
    return opening[: end + 1]


def _needles(openings: Iterable[str]) -> tuple[str, ...]:
    """Texts one of which starts every match, long enough to be rare ("a fost " rather than "a "):
    each opening cut after as many words as keep them few (at most 8)."""
    openings = list(openings)
    most = max(len(_TOKEN.findall(o)) for o in openings)
    best = {_cut(o, 1) for o in openings}
    for runs in range(2, most + 1):
        if min(len(n) for n in best) > _ENOUGH_LETTERS:
            break
        cut = {_cut(o, runs) for o in openings}
        if len(cut) > _MAX_NEEDLES:
            break
        best = cut
    # A needle that starts with another needle adds nothing ("meeting" after "meet").
    return tuple(sorted(n for n in best if not any(o != n and n.startswith(o) for o in best)))


_GATES = _Gates()


def _implied(required: set[str], gates: list[tuple[frozenset[str], frozenset[str]]]) -> bool:
    """Whether meeting the gates already puts one of the required texts in the text: every
    word of one gate contains one of them ("sedint" for the words that start with "sedint")."""
    return any(all(any(r in word for r in required) for word in exact | prefixes)
               for exact, prefixes in gates)


class PhraseSet:
    """Whole-word stems (regex fragments over folded lower-case text), searched together."""

    def __init__(self, stems: Sequence[str]) -> None:
        self.stems = list(stems)
        self.patterns = [re.compile(rf"(?<!\w)(?:{stem})(?!\w)") for stem in stems]
        # Without the leading look-behind `re` can skip ahead to a literal; the word boundary is
        # then checked by hand (20 us per stem and message with it, under 5 without).
        self._loose = [re.compile(rf"(?:{stem})(?!\w)") for stem in stems]
        self.needs: list[frozenset[int]] = []  # per stem: word gates (empty: see `contains`)
        self.contains: list[frozenset[str]] = []  # per stem: one must be in the text (or none)
        self._by_gate: dict[int, list[int]] = {}  # stems listed under their first gate
        self._unguarded: list[int] = []  # stems without word gates, in order
        self._starts: dict[int, tuple[str, ...]] = {}  # per gated stem: what a match starts with
        self._first_gates: frozenset[int] = frozenset()
        for index, stem in enumerate(stems):
            parsed = sre.parse(stem).data
            openings, whole = _openings(parsed)
            gates = _word_gates(openings, whole)
            required = _required(parsed)
            if gates:
                self._starts[index] = _needles(openings)
                ids = [_GATES.add(exact, prefixes) for exact, prefixes in gates]
                self.needs.append(frozenset(ids))
                # A few texts one of which must be there too, where the words are not enough
                # ("the \w+ team" needs " team").
                few = 0 < len(required) <= _MAX_NEEDLES and not _implied(required, gates)
                self.contains.append(frozenset(required) if few else frozenset())
                self._by_gate.setdefault(ids[0], []).append(index)
                self._first_gates |= {ids[0]}
            else:
                self.needs.append(frozenset())
                self.contains.append(frozenset(required))
                self._unguarded.append(index)
    def candidates(self, text: str, words: frozenset[str] | None = None) -> list[int]:
        """Indices of the stems that can match `text` (all their gates met), in order."""
        met = _GATES.met(tokens(text) if words is None else words)
        contains, needs, by_gate = self.contains, self.needs, self._by_gate
        found = [i for i in self._unguarded
                 if not contains[i] or any(map(text.__contains__, contains[i]))]
        for gate in met & self._first_gates:
            for index in by_gate[gate]:
                if needs[index] <= met and (
                        not contains[index] or any(map(text.__contains__, contains[index]))):
                    found.append(index)
        found.sort()
        return found

    def _first_whole(self, index: int, text: str) -> re.Match[str] | None:
        """The first match of a stem that does not start inside a word."""
        starts = self._starts.get(index)
        if starts is not None:
            return self._first_at_starts(index, text, starts)
        loose, start = self._loose[index], 0
        while (m := loose.search(text, start)) is not None:
            at = m.start()
            if at == 0 or not (text[at - 1].isalnum() or text[at - 1] == "_"):
                return m
            start = at + 1
        return None

    def _first_at_starts(
        self, index: int, text: str, starts: tuple[str, ...]
    ) -> re.Match[str] | None:
        """The first match of a gated stem, tried only where its opening words occur: `find`
        runs in C, where `re` would try the stem's alternatives at every position."""
        loose, best = self._loose[index], None
        for needle in starts:
            at = text.find(needle)
            while at >= 0 and (best is None or at < best.start()):
                if at == 0 or not (text[at - 1].isalnum() or text[at - 1] == "_"):
                    m = loose.match(text, at)
                    if m is not None:
                        best = m
                        break
                at = text.find(needle, at + 1)
        return best

    def any(self, text: str, words: frozenset[str] | None = None) -> bool:
        """Whether any stem occurs in `text` (stops at the first found)."""
        return any(self._first_whole(index, text) is not None
                   for index in self.candidates(text, words))

    def search(self, text: str, words: frozenset[str] | None = None) -> dict[int, str]:
        """The first match of each stem that occurs in `text`, by stem index, in the order they
        occur in the text. `words` are `tokens(text)`, when the caller has them already."""
        hits = []
        for index in self.candidates(text, words):
            m = self._first_whole(index, text)
            if m is not None:
                hits.append((m.start(), index, m.group(0)))
        hits.sort()
        return {index: word for _, index, word in hits}
