"""Learning curve of the learned-from-corrections classifier: does teaching on one source help
(or hurt) the others?

    python benchmarks/bench_learning_curve.py ../shared/eval/dev-en.jsonl \
        ../shared/eval/dev-ro.jsonl

For each source with enough items, 10, 25, 50 and 100 of its items (a seeded draw, repeated)
are recorded as corrections, exactly as `inboxops reclassify` records them; the chain is then
scored on the items of every other source in the same language. Printed: macro-F1, accuracy,
and coverage/precision at the review threshold, against the same chain with no corrections.
A correction that helps only its own source would show here as a flat or falling line.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inboxops import config
from inboxops.classifiers.calibration import at_threshold
from inboxops.classifiers.corrections import record
from inboxops.classifiers.evaluate import Item, as_message, read_items, scores
from inboxops.models import ParsedMessage
from inboxops.service.pipeline import build_chain
from inboxops.store import Store

SIZES = (0, 10, 25, 50, 100)


def measure(
    train: list[tuple[Item, ParsedMessage]], test: list[tuple[Item, ParsedMessage]],
    threshold: float,
) -> tuple[float, float, float, float]:
    store = Store(":memory:")
    for item, parsed in train:
        record(store, item.label, parsed.subject, parsed.text, origin="eval")
    chain = build_chain(config.default(), store)
    got = [(item, chain.classify(parsed)) for item, parsed in test]
    result = scores((item.label, g.category) for item, g in got)
    coverage, precision = at_threshold(
        [(g.confidence, g.category == item.label) for item, g in got], threshold)
    return result["macro_f1"], result["accuracy"], coverage, precision


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--min-items", type=int, default=25, help="sources smaller are not taught")
    args = ap.parse_args()
    threshold = config.default().classify.review_below
    parsed = [(item, as_message(item)) for path in args.files for item in read_items(path)]
    by_source: dict[str, list[tuple[Item, ParsedMessage]]] = defaultdict(list)
    for pair in parsed:
        by_source[pair[0].source].append(pair)
    print(f"{'taught on':<40} {'n':>4} {'test':>5} {'macro-F1':>9} {'accuracy':>9} "
          f"{'coverage':>9} {'precision':>9}   (mean of {args.repeats} draws; threshold "
          f"{threshold})")
    for source, own in sorted(by_source.items()):
        if len(own) < args.min_items:
            continue
        lang = own[0][0].lang
        test = [p for p in parsed if p[0].source != source and p[0].lang == lang]
        for size in SIZES:
            if size > len(own):
                break
            runs = []
            for r in range(args.repeats if size else 1):
                train = random.Random(args.seed + r).sample(own, size)
                runs.append(measure(train, test, threshold))
            mean = [sum(x) / len(runs) for x in zip(*runs, strict=True)]
            print(f"{source[:40]:<40} {size:>4} {len(test):>5} {mean[0]:>9.3f} {mean[1]:>9.3f} "
                  f"{mean[2]:>9.3f} {mean[3]:>9.3f}")


if __name__ == "__main__":
    main()
