"""`inboxops eval-times`: measure time extraction on JSONL items with the starts a reader finds.

Each line is `{"id", "lang", "text", "reference", "expected"}`; `expected` lists starts as
"YYYY-MM-DDTHH:MM" when a time of day is stated and "YYYY-MM-DD" when only a day is. An item
counts as right only when the SET of starts we extract equals `expected` exactly: a missed
alternative or an extra one is as wrong as a wrong hour, since the assistant would propose it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from inboxops.errors import InboxopsError
from inboxops.responders.meetings import Proposal, extract_times


@dataclass(frozen=True)
class TimeItem:
    id: str
    lang: str
    text: str
    reference: datetime
    expected: frozenset[str]


def read_time_items(path: Path) -> list[TimeItem]:
    """Read and check a JSONL file; a bad line is an error naming the file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise InboxopsError(f"{path}: cannot read: {e}") from None
    items = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            expected = data["expected"]
            if not isinstance(expected, list):
                raise ValueError("expected must be a list of starts")
            items.append(TimeItem(
                str(data.get("id", number)), str(data.get("lang") or "en"), str(data["text"]),
                datetime.fromisoformat(data["reference"]), frozenset(map(str, expected)),
            ))
        except (ValueError, KeyError, TypeError) as e:
            raise InboxopsError(f"{path}:{number}: {e}") from None
    return items


def as_start(p: Proposal) -> str:
    """The eval form of a start: minutes when a time was stated, the day otherwise."""
    return p.start.strftime("%Y-%m-%dT%H:%M" if p.has_time else "%Y-%m-%d")


Extractor = Callable[[TimeItem], set[str]]


def ours(timezone: str) -> Extractor:
    """Our extractor, reading each text as of its reference in `timezone`."""
    def extract(item: TimeItem) -> set[str]:
        return {as_start(p) for p in extract_times(item.text, item.reference, item.lang,
                                                   timezone)}
    return extract


def measure(items: list[TimeItem], extract: Extractor) -> dict[str, Any]:
    """{"n", "exact", "share"} plus the misses (id, expected, found) for a human to read."""
    misses = []
    for item in items:
        found = extract(item)
        if found != item.expected:
            misses.append({"id": item.id, "expected": sorted(item.expected),
                           "found": sorted(found)})
    n = len(items)
    exact = n - len(misses)
    return {"n": n, "exact": exact, "share": round(exact / n, 4) if n else 0.0,
            "misses": misses}


def format_report(result: dict[str, Any]) -> str:
    lines = [f"n = {result['n']}, exact {result['exact']}, share {result['share']:.3f}"]
    for m in result["misses"]:
        lines.append(f"  miss {m['id']}: expected {', '.join(m['expected']) or '-'}; "
                     f"found {', '.join(m['found']) or '-'}")
    return "\n".join(lines)
