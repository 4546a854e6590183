"""Many phrase patterns searched fast: one prefix-tree scan decides which patterns can match.

Python's `re` tries every branch of an alternation at every position, so a few hundred word
stems run one by one cost a millisecond per message. Every stem here starts with literal text
(a set of "anchors"); one scan with a regex built as a prefix tree of all anchors finds those
present, and only the stems they wake are searched. Stems with no literal start run always.
"""

from __future__ import annotations

import re
from collections.abc import Sequence


def _split_top(pattern: str) -> list[str]:
    """Split a regex at its top-level "|" (not inside a group)."""
    parts, depth, current = [], 0, ""
    for ch in pattern:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "|" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [*parts, current]


def _prefixes(pattern: str) -> list[str] | None:
    """Literal texts one of which every match starts with; None if there is no such set."""
    out: list[str] = []
    for alternative in _split_top(pattern):
        if alternative.startswith("("):
            depth, end = 0, 0
            for i, ch in enumerate(alternative):
                depth += {"(": 1, ")": -1}.get(ch, 0)
                if depth == 0:
                    end = i
                    break
            if alternative[end + 1:end + 2] in ("?", "*", "{") or alternative.startswith("(?"):
                return None  # an optional group: the match may start after it
            inner = _prefixes(alternative[1:end])
            if inner is None:
                return None
            out += inner
            continue
        m = re.match(r"[a-z ]+", alternative)
        literal = m.group(0) if m else ""
        if literal and len(alternative) > len(literal) and alternative[len(literal)] in "?*{":
            literal = literal[:-1]
        if not literal:
            return None
        out.append(literal)
    return out


def anchors(stem: str) -> tuple[str, ...]:
    """Cheap pre-check for a stem: the text must contain one of these (empty: always search)."""
    found = _prefixes(stem)
    return tuple(found) if found else ()


def trie_regex(words: Sequence[str]) -> str:
    """An alternation of literals as a prefix tree, so the regex engine branches per letter
    instead of trying every word at every position."""
    trie: dict[str, dict] = {}  # type: ignore[type-arg]
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:  # type: ignore[type-arg]
        end = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if end else body

    return build(trie)


class PhraseSet:
    """Whole-word stems (regex fragments over folded lower-case text), searched together."""

    def __init__(self, stems: Sequence[str]) -> None:
        self.patterns = [re.compile(rf"(?<!\w)(?:{stem})(?!\w)") for stem in stems]
        self.anchors = [anchors(stem) for stem in stems]
        every = sorted({a for found in self.anchors for a in found}, key=len, reverse=True)
        self.all_anchors = every
        # Longest first inside the lookahead: the tree makes each branch greedy, so at a
        # position the scan reports the longest anchor; `implied` adds the shorter ones that
        # start the same way.
        self._scan = re.compile(r"\b(?=(" + trie_regex(every) + "))") if every else None
        implied = {a: frozenset(b for b in every if a.startswith(b)) for a in every}
        self._wakes = {
            a: frozenset(i for i, found in enumerate(self.anchors)
                         if not implied[a].isdisjoint(found))
            for a in every
        }
        self._always = frozenset(i for i, found in enumerate(self.anchors) if not found)
        # Without the leading look-behind `re` can skip ahead to a literal; the word boundary is
        # then checked by hand (20 us per stem and message with it, under 5 without).
        self._loose = {i: re.compile(rf"(?:{stems[i]})(?!\w)") for i in self._always}

    def candidates(self, text: str) -> frozenset[int]:
        """Indices of the stems that can match `text`: one scan, then set unions."""
        found = set(self._always)
        if self._scan is not None:
            for anchor in set(self._scan.findall(text)):
                found |= self._wakes[anchor]
        return frozenset(found)

    def _first_whole(self, index: int, text: str) -> str | None:
        """The first match of an always-run stem that does not start inside a word."""
        loose, start = self._loose[index], 0
        while (m := loose.search(text, start)) is not None:
            at = m.start()
            if at == 0 or not (text[at - 1].isalnum() or text[at - 1] == "_"):
                return m.group(0)
            start = at + 1
        return None

    def search(self, text: str) -> dict[int, str]:
        """The first match of each stem that occurs in `text`, by stem index.

        A match starts where one of its stem's anchors does, so a woken stem is tried only at
        the positions the scan reported (a `match` there), not searched across the whole text.
        """
        found: dict[int, str] = {}
        for index in self._always:
            word = self._first_whole(index, text)
            if word is not None:
                found[index] = word
        if self._scan is None:
            return found
        tried: set[tuple[int, int]] = set()
        for hit in self._scan.finditer(text):
            position = hit.start()
            for index in self._wakes[hit.group(1)]:
                if index in found or (index, position) in tried:
                    continue
                tried.add((index, position))
                m = self.patterns[index].match(text, position)
                if m:
                    found[index] = m.group(0)
        return found
