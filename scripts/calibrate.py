"""Build inboxops/classifiers/calibration.json from labelled dev files, with cross-validation.

    python scripts/calibrate.py ../shared/eval/dev-en.jsonl ../shared/eval/dev-ro.jsonl

The rules stay as written; only the map from the chain's lead to a probability is fitted here,
and only numbers are stored (knots, threshold, figures), never text from the files.

1. Every item is scored by the default chain (no corrections): category and lead.
2. 5-fold cross-validation, stratified by language, seeded and repeated with 5 seeds: each fold
   is calibrated on the other four. The out-of-fold confidences give the ECE and, for each
   candidate threshold, coverage and precision per language; the default threshold is the
   lowest at which every language reaches --precision (0.95), so automatic sorting covers as
   much as it honestly can.
3. A held-out-half check: each file is split in halves by a seeded shuffle, the calibration is
   fitted on one half and measured on the other (both ways round). The rules saw the whole dev
   set while they were written, so this checks the calibration, not the rules' generalisation.
4. The calibration stored is fitted on all items, with the threshold from step 2.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inboxops import config
from inboxops.classifiers.calibration import Calibration, at_threshold, ece, fit
from inboxops.classifiers.evaluate import Item, as_message, read_items, scores
from inboxops.service.pipeline import build_chain

OUT = Path(__file__).resolve().parent.parent / "inboxops" / "classifiers" / "calibration.json"
Row = tuple[Item, str, float]  # item, category given, lead


def scored(paths: Sequence[Path]) -> list[Row]:
    chain = build_chain(config.default())
    rows = []
    for path in paths:
        for item in read_items(path):
            category, lead, _ = chain.score(as_message(item))
            rows.append((item, category, lead if lead is not None else 99.0))
    return rows


def shuffled_by_language(rows: list[Row], seed: int) -> list[list[int]]:
    """The row numbers of each language, in a seeded random order (splits keep the languages
    in proportion)."""
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, (item, _, _) in enumerate(rows):
        by_lang[item.lang].append(i)
    rng = random.Random(seed)
    for indices in by_lang.values():
        rng.shuffle(indices)
    return list(by_lang.values())


def folds(rows: list[Row], k: int, seed: int) -> list[int]:
    """A fold number per row, dealt round-robin within each language after a seeded shuffle."""
    fold = [0] * len(rows)
    for indices in shuffled_by_language(rows, seed):
        for j, i in enumerate(indices):
            fold[i] = j % k
    return fold


def calibrate(rows: Sequence[Row]) -> Calibration:
    return fit([lead for _, _, lead in rows], [item.label == got for item, got, _ in rows])


def out_of_fold(rows: list[Row], k: int, seed: int) -> list[float]:
    fold = folds(rows, k, seed)
    probs = [0.0] * len(rows)
    for f in range(k):
        cal = calibrate([r for r, g in zip(rows, fold, strict=True) if g != f])
        for i, (row, g) in enumerate(zip(rows, fold, strict=True)):
            if g == f:
                probs[i] = cal.probability(row[2])
    return probs


def lane(rows: Sequence[Row], probs: Sequence[float], threshold: float) -> dict[str, Any]:
    outcomes = [(p, item.label == got) for (item, got, _), p in zip(rows, probs, strict=True)]
    coverage, precision = at_threshold(outcomes, threshold)
    return {"n": len(rows), "coverage": round(coverage, 4), "precision": round(precision, 4),
            "ece": round(ece(outcomes), 4)}


def by(rows: list[Row], probs: list[float], key: Any, threshold: float) -> dict[str, Any]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        groups[key(row[0])].append(i)
    out = {}
    for name, idx in sorted(groups.items()):
        mine = [rows[i] for i in idx]
        f1 = scores((item.label, got) for item, got, _ in mine)["macro_f1"]  # type: ignore[misc]
        out[name] = {"macro_f1": f1, **lane(mine, [probs[i] for i in idx], threshold)}
    return out


def choose_threshold(rows: list[Row], probs: list[float], target: float) -> float:
    langs = sorted({item.lang for item, _, _ in rows})
    for step in range(50, 100):
        t = step / 100
        if all(by(rows, probs, lambda item: item.lang, t)[lang]["precision"] >= target
               for lang in langs):
            return t
    return 0.99


def halves(rows: list[Row], seed: int, threshold: float) -> dict[str, Any]:
    half = [0] * len(rows)
    for indices in shuffled_by_language(rows, seed):
        for j, i in enumerate(indices):
            half[i] = int(j >= len(indices) / 2)
    out = {}
    for fit_on in (0, 1):
        cal = calibrate([r for r, h in zip(rows, half, strict=True) if h == fit_on])
        test = [i for i, h in enumerate(half) if h != fit_on]
        out[f"fit on half {fit_on}, measured on half {1 - fit_on}"] = by(
            [rows[i] for i in test], [cal.probability(rows[i][2]) for i in test],
            lambda item: item.lang, threshold)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--repeats", type=int, default=5, help="cross-validations with seeds seed..")
    ap.add_argument("--precision", type=float, default=0.95)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--dry-run", action="store_true", help="report only, write nothing")
    args = ap.parse_args()
    rows = scored(args.files)
    n = len(rows)
    # Repeated with other seeds and pooled, so the threshold does not hang on one shuffle.
    probs = [p for r in range(args.repeats) for p in out_of_fold(rows, args.folds, args.seed + r)]
    rows = rows * args.repeats
    threshold = choose_threshold(rows, probs, args.precision)
    report = {
        "built_by": "scripts/calibrate.py", "folds": args.folds, "seed": args.seed,
        "repeats": args.repeats,
        "target_precision": args.precision, "threshold": threshold,
        "cv_overall": lane(rows, probs, threshold),
        "cv_per_language": by(rows, probs, lambda item: item.lang, threshold),
        "cv_per_source": by(rows, probs, lambda item: item.source, threshold),
        "held_out_halves": halves(rows[:n], args.seed, threshold),
    }
    final = calibrate(rows[:n])
    final = Calibration(final.knots, threshold, report)
    print(json.dumps(report, indent=2))
    if not args.dry_run:
        args.out.write_text(json.dumps(final.to_json(), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.out}: {len(final.knots)} knots, threshold {threshold}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
