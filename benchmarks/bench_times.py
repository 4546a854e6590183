"""Meeting-time extraction: our share of exact items beside plain dateparser's, and speed.

    python benchmarks/bench_times.py ../shared/eval/dev-times.jsonl

Both are scored as `inboxops eval-times` scores: an item is right when the SET of starts equals
`expected` ("YYYY-MM-DDTHH:MM" with a time of day, "YYYY-MM-DD" without). dateparser runs as a
careful user would run it alone: `search_dates` with the reference as RELATIVE_BASE, languages
en and ro, PREFER_DATES_FROM future. It does not say whether a time was stated, so a result at
00:00 (or at the reference's own time of day, which it copies for "tomorrow") counts as a day.
Milliseconds per item are the best of several rounds. inboxops no longer depends on dateparser:
its row is printed only when dateparser is installed (`pip install dateparser`).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from datetime import time as time_of_day
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inboxops.responders.evaluate_times import TimeItem, measure, ours, read_time_items

try:
    from dateparser.search import search_dates
except ImportError:  # not a dependency of inboxops any more: compare only when it is there
    search_dates = None


def plain_dateparser(item: TimeItem) -> set[str]:
    assert search_dates is not None
    reference = item.reference.replace(tzinfo=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = search_dates(item.text, languages=["en", "ro"], settings={
            "RELATIVE_BASE": reference, "PREFER_DATES_FROM": "future",
        }) or []
    starts = set()
    for _, value in found:
        dayonly = value.time() in (time_of_day(0, 0), reference.time())
        starts.add(value.strftime("%Y-%m-%d" if dayonly else "%Y-%m-%dT%H:%M"))
    return starts


def ms_per_item(items: list[TimeItem], extract: Callable[[TimeItem], set[str]],
                rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for item in items:
            extract(item)
        best = min(best, (time.perf_counter() - t0) / len(items) * 1000)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--timezone", default="Europe/Bucharest")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    items = read_time_items(args.path)
    contenders: list[tuple[str, Callable[[TimeItem], set[str]]]] = [
        ("inboxops", ours(args.timezone))]
    if search_dates is not None:
        contenders.append(("dateparser", plain_dateparser))
    else:
        print("dateparser is not installed: its row is left out")
    for name, extract in contenders:
        result = measure(items, extract)
        speed = ms_per_item(items, extract, args.rounds)
        print(f"{name:<10} n={result['n']} exact={result['exact']} share={result['share']:.3f}"
              f"  {speed:.2f} ms/item")


if __name__ == "__main__":
    main()
