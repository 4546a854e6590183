"""Classification throughput (one core) and sorting quality on labelled JSONL files.

    python benchmarks/bench_classify.py ../shared/eval/dev-en.jsonl ../shared/eval/dev-ro.jsonl

For each file: macro-F1 and per-class F1 (as `inboxops eval`), then messages per second for
classification alone (the chain on parsed messages) and for parse + classify, each the best of
several rounds so the figure is the machine's, not the noise's.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inboxops import config
from inboxops.classifiers.evaluate import as_message, read_items, scores
from inboxops.intake.parse import parse_message
from inboxops.service.pipeline import build_chain


def best_rate(work: list[object], fn: object, rounds: int) -> float:
    best = 0.0
    for _ in range(rounds):
        t0 = time.perf_counter()
        for x in work:
            fn(x)  # type: ignore[operator]
        best = max(best, len(work) / (time.perf_counter() - t0))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    chain = build_chain(config.default())
    for path in args.files:
        items = read_items(path)
        parsed = [as_message(item) for item in items]
        raws = [_raw(item) for item in items]
        result = scores((item.label, chain.classify(p).category)
                        for item, p in zip(items, parsed, strict=True))
        per_class = ", ".join(f"{c} {s['f1']:.2f}" for c, s in result["per_class"].items())
        print(f"{path.name}: n={result['n']} macro-F1 {result['macro_f1']:.3f} ({per_class})")
        classify = best_rate(parsed, chain.classify, args.rounds)
        both = best_rate(raws, lambda raw: chain.classify(parse_message(raw)), args.rounds)
        print(f"  classify: {classify:,.0f} msg/s; parse + classify: {both:,.0f} msg/s")


def _raw(item: object) -> bytes:
    from email.message import EmailMessage
    from email.policy import SMTP

    msg = EmailMessage(policy=SMTP)
    msg["From"] = "Client <client@example.org>"
    msg["Subject"] = " ".join(item.subject.split())  # type: ignore[attr-defined]
    msg.set_content(item.body or " ")  # type: ignore[attr-defined]
    return msg.as_bytes()


if __name__ == "__main__":
    main()
