"""`inboxops eval`: measure sorting on labelled JSONL, each item classified as if it had arrived.

Each line is `{"id", "lang", "label", "subject", "body"}`. Items are turned into real messages
(the same bytes path as mail from a mailbox), parsed and classified by the configured chain.
`--learn-from` first feeds other items as corrections, exactly as `inboxops reclassify` does.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

from inboxops.errors import InboxopsError
from inboxops.intake.parse import parse_message
from inboxops.models import CATEGORIES, Category, ParsedMessage


@dataclass(frozen=True)
class Item:
    id: str
    lang: str
    label: Category
    subject: str
    body: str


def read_items(path: Path) -> list[Item]:
    """Read and check a JSONL file; a bad line is an error naming the line."""
    items = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise InboxopsError(f"{path}: cannot read: {e}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            label = data["label"]
            if label not in CATEGORIES:
                raise ValueError(f"label {label!r} is not one of {', '.join(CATEGORIES)}")
            items.append(Item(str(data.get("id", number)), data.get("lang", ""), label,
                              data.get("subject") or "", data.get("body") or ""))
        except (ValueError, KeyError, TypeError) as e:
            raise InboxopsError(f"{path}:{number}: {e}") from None
    return items


def as_message(item: Item) -> ParsedMessage:
    """The item as a client's mail would reach us: real headers, real MIME, parsed by parse.py."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = "Client <client@example.org>"
    msg["To"] = "office@example.com"
    msg["Subject"] = " ".join(item.subject.split())
    msg["Message-ID"] = f"<eval-{hashlib.sha1(item.id.encode()).hexdigest()[:16]}@example.org>"
    msg.set_content(item.body or " ")
    return parse_message(msg.as_bytes())


def parsed_items(items: Iterable[Item]) -> Iterator[tuple[Item, ParsedMessage]]:
    for item in items:
        yield item, as_message(item)


def scores(pairs: Iterable[tuple[Category, Category]]) -> dict[str, Any]:
    """Per-class precision, recall, F1; macro-F1; the confusion matrix (rows: true labels)."""
    confusion: Counter[tuple[str, str]] = Counter(pairs)
    n = sum(confusion.values())
    per_class = {}
    for c in CATEGORIES:
        tp = confusion[(c, c)]
        fp = sum(confusion[(o, c)] for o in CATEGORIES if o != c)
        fn = sum(confusion[(c, o)] for o in CATEGORIES if o != c)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        per_class[c] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4),
                        "support": tp + fn}
    present = [c for c in CATEGORIES if per_class[c]["support"]]
    macro = sum(per_class[c]["f1"] for c in present) / len(present) if present else 0.0
    return {
        "n": n,
        "accuracy": round(sum(confusion[(c, c)] for c in CATEGORIES) / n, 4) if n else 0.0,
        "macro_f1": round(macro, 4),
        "per_class": per_class,
        "confusion": {t: {p: confusion[(t, p)] for p in CATEGORIES} for t in CATEGORIES},
    }


def format_report(result: dict[str, Any]) -> str:
    lines = [f"n = {result['n']}, accuracy {result['accuracy']:.3f}, "
             f"macro-F1 {result['macro_f1']:.3f}", "",
             f"{'class':<10} {'precision':>9} {'recall':>7} {'F1':>6} {'support':>8}"]
    for c, s in result["per_class"].items():
        lines.append(f"{c:<10} {s['precision']:>9.3f} {s['recall']:>7.3f} {s['f1']:>6.3f} "
                     f"{s['support']:>8}")
    lines += ["", "confusion (rows: true, columns: predicted)",
              " " * 10 + "".join(f"{c[:9]:>10}" for c in CATEGORIES)]
    for t, row in result["confusion"].items():
        lines.append(f"{t:<10}" + "".join(f"{row[p]:>10}" for p in CATEGORIES))
    return "\n".join(lines)
