"""Classification throughput (one core) and sorting quality, on labelled JSONL or an .eml corpus.

    python benchmarks/bench_classify.py ../shared/eval/dev-en.jsonl ../shared/eval/dev-ro.jsonl
    python benchmarks/bench_classify.py --corpus /tmp/perf-corpus --count 10000

For each JSONL file: macro-F1 and per-class F1 (as `inboxops eval`), then messages per second for
classification alone (the chain on parsed messages) and for parse + classify, each the best of
several rounds so the figure is the machine's, not the noise's. Times are CPU time of this
process (time.process_time): the rate of one core, also on a machine other work shares.

With `--corpus DIR`: the first `--count` .eml files of DIR (sorted by name) are parsed once, then
the chain the daemon builds (`service.pipeline.build_chain`, on a store holding a few
corrections, as a store in use does) classifies them; it prints msg/s for the chain and the cost
by length of the text. `--dump FILE` writes each message's category and confidence (JSONL) so
two versions of the chain can be compared message by message.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inboxops import config
from inboxops.classifiers import Chain
from inboxops.classifiers.corrections import record
from inboxops.classifiers.evaluate import as_message, read_items, scores
from inboxops.intake.parse import parse_message
from inboxops.models import ParsedMessage
from inboxops.service.pipeline import build_chain
from inboxops.store import Store

# Corrections written for this benchmark (not taken from any corpus): a store in use holds some,
# and the learned classifier then does real work for every message.
CORRECTIONS = (
    ("complaint", "Gate card", "The barrier card for the courtyard gate stopped working again."),
    ("other", "Our autumn newsletter", "News from the team, events and offers. Unsubscribe below."),
    ("inquiry", "Parking", "Do you rent parking places by the month, and what do they cost?"),
    ("meeting", "Site visit", "Could we walk through the warehouse together on Thursday?"),
    ("complaint", "Factura dubla", "Am primit aceeasi factura de doua ori luna aceasta."),
)


def best_rate(work: Sequence[Any], fn: Callable[[Any], object], rounds: int) -> float:
    """The best of `rounds` passes over `work`, in items per CPU second."""
    best = 0.0
    for _ in range(rounds):
        t0 = time.process_time()
        for x in work:
            fn(x)
        best = max(best, len(work) / max(time.process_time() - t0, 1e-9))
    return best


def labelled(paths: list[Path], rounds: int) -> None:
    """Quality and speed on labelled JSONL files, with the default chain and no store."""
    chain = build_chain(config.default())
    for path in paths:
        items = read_items(path)
        parsed = [as_message(item) for item in items]
        raws = [_raw(item) for item in items]
        result = scores((item.label, chain.classify(p).category)
                        for item, p in zip(items, parsed, strict=True))
        per_class = ", ".join(f"{c} {s['f1']:.2f}" for c, s in result["per_class"].items())
        print(f"{path.name}: n={result['n']} macro-F1 {result['macro_f1']:.3f} ({per_class})")
        classify = best_rate(parsed, chain.classify, rounds)
        both = best_rate(raws, lambda raw: chain.classify(parse_message(raw)), rounds)
        print(f"  classify: {classify:,.0f} msg/s; parse + classify: {both:,.0f} msg/s")


def corpus(directory: Path, count: int, rounds: int, dump: Path | None) -> None:
    """Speed of the daemon's chain on real-size mail, and its decisions for comparison."""
    files = sorted(directory.glob("*.eml"))[:count]
    if not files:
        raise SystemExit(f"{directory}: no .eml files")
    t0 = time.perf_counter()
    parsed = [parse_message(f.read_bytes()) for f in files]
    parse_s = time.perf_counter() - t0
    lengths = sorted(len(p.text) for p in parsed)
    print(f"{directory}: {len(parsed)} messages parsed in {parse_s:.1f} s; text length "
          f"median {lengths[len(lengths) // 2]:,}, p90 {lengths[len(lengths) * 9 // 10]:,}, "
          f"max {lengths[-1]:,} characters")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db")
        try:
            for category, subject, text in CORRECTIONS:
                record(store, category, subject, text, origin="eval")
            chain = build_chain(config.default(), store)
            decisions = [chain.classify(p) for p in parsed]  # also warms every cache
            rate = best_rate(parsed, chain.classify, rounds)
            print(f"  chain (build_chain, {len(CORRECTIONS)} corrections): {rate:,.0f} msg/s "
                  f"({1e6 / rate:.0f} us a message), best of {rounds}")
            by_length(chain, parsed)
        finally:
            store.close()
    if dump is not None:
        with dump.open("w") as out:
            for f, d in zip(files, decisions, strict=True):
                out.write(json.dumps({"file": f.name, "category": d.category,
                                      "confidence": d.confidence, "lean": d.lean,
                                      "reasons": d.reasons}, ensure_ascii=False) + "\n")
        print(f"  decisions written to {dump}")


def by_length(chain: Chain, parsed: list[ParsedMessage]) -> None:
    """Cost per message in quartiles of text length: flat is the goal."""
    ordered = sorted(parsed, key=lambda p: len(p.text))
    quarter = len(ordered) // 4
    if quarter == 0:
        return
    parts = []
    for i in range(4):
        group = ordered[i * quarter:(i + 1) * quarter]
        rate = best_rate(group, chain.classify, 3)
        parts.append(f"<= {len(group[-1].text):,} chars: {1e6 / rate:.0f} us")
    print("  by text length (quartiles): " + "; ".join(parts))


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path, help="labelled JSONL files")
    ap.add_argument("--corpus", type=Path, help="a directory of .eml files")
    ap.add_argument("--count", type=int, default=10_000, help="how many .eml files to use")
    ap.add_argument("--dump", type=Path, help="write each corpus decision here (JSONL)")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if not args.files and args.corpus is None:
        ap.error("give labelled JSONL files, --corpus DIR, or both")
    if args.files:
        labelled(args.files, args.rounds)
    if args.corpus is not None:
        corpus(args.corpus, args.count, args.rounds, args.dump)


def _raw(item: Any) -> bytes:
    from email.message import EmailMessage
    from email.policy import SMTP

    msg = EmailMessage(policy=SMTP)
    msg["From"] = "Client <client@example.org>"
    msg["Subject"] = " ".join(item.subject.split())
    msg.set_content(item.body or " ")
    return msg.as_bytes()


if __name__ == "__main__":
    main()
