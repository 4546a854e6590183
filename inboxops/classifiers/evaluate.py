"""`inboxops eval`: measure sorting on labelled JSONL, each item classified as if it had arrived.

Each line is `{"id", "lang", "label", "subject", "body"}` (and optionally `from_source`, for the
per-source figures). Items are turned into real messages (the same bytes path as mail from a
mailbox), parsed and classified by the configured chain. `--learn-from` first feeds other items as
corrections, exactly as `inboxops reclassify` does. Besides F1, the report says what the assistant
lives with: how much is sorted automatically at the review threshold, how often that is right,
and whether the confidence means what it says (ECE), per source so a fit to one source shows.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

from inboxops.classifiers.calibration import at_threshold, ece, reliability, risk_coverage
from inboxops.errors import InboxopsError
from inboxops.intake.parse import parse_message
from inboxops.models import CATEGORIES, Category, Classification, ParsedMessage


@dataclass(frozen=True)
class Item:
    id: str
    lang: str
    label: Category
    subject: str
    body: str
    source: str = ""


def source_of(origin: str) -> str:
    """A short source name from an item's `from_source`: "owner/repo" of a repository path
    ("owner/repo:file@commit ..."), host and first two path parts of a URL."""
    origin = origin.strip().split(" ")[0]
    if "://" in origin:
        host, _, path = origin.partition("://")[2].partition("/")
        return "/".join([host, *path.split("/")[:2]]).rstrip("/")
    return origin.split(":")[0].split("@")[0]


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
                              data.get("subject") or "", data.get("body") or "",
                              source_of(data.get("from_source") or "")))
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


def report(
    rows: Sequence[tuple[Item, Classification]], threshold: float
) -> dict[str, Any]:
    """`scores` plus coverage and precision at `threshold`, ECE, the risk-coverage curve, the
    reliability bins, and the same headline figures per source."""
    result = scores((item.label, got.category) for item, got in rows)
    result.update(_lane([(got.confidence, got.category == item.label) for item, got in rows],
                        threshold))
    result["risk_coverage"] = risk_coverage(
        [(got.confidence, got.category == item.label) for item, got in rows])
    result["reliability"] = reliability(
        [(got.confidence, got.category == item.label) for item, got in rows])
    result["per_source"] = {}
    for source in sorted({item.source or "(unknown)" for item, _ in rows}):
        mine = [(i, g) for i, g in rows if (i.source or "(unknown)") == source]
        one = scores((i.label, g.category) for i, g in mine)
        result["per_source"][source] = {
            "n": one["n"], "accuracy": one["accuracy"], "macro_f1": one["macro_f1"],
            **_lane([(g.confidence, g.category == i.label) for i, g in mine], threshold)}
    return result


def _lane(outcomes: list[tuple[float, bool]], threshold: float) -> dict[str, Any]:
    coverage, precision = at_threshold(outcomes, threshold)
    return {"threshold": threshold, "coverage": round(coverage, 4),
            "precision_at_threshold": round(precision, 4), "ece": round(ece(outcomes), 4)}


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
    if "coverage" in result:
        lines += ["", f"at threshold {result['threshold']:.2f}: coverage "
                  f"{result['coverage']:.3f}, precision {result['precision_at_threshold']:.3f}, "
                  f"ECE {result['ece']:.3f} (the rest goes to review)", "",
                  f"{'source':<42} {'n':>4} {'macro-F1':>8} {'coverage':>8} {'precision':>9}"]
        for source, s in result["per_source"].items():
            lines.append(f"{source[:42]:<42} {s['n']:>4} {s['macro_f1']:>8.3f} "
                         f"{s['coverage']:>8.3f} {s['precision_at_threshold']:>9.3f}")
    return "\n".join(lines)
