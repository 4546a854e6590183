"""parse_message throughput in one process, on a directory of .eml files (issue 15).

    python benchmarks/bench_parse.py /tmp/perf-corpus [--count N] [--rounds R]

The corpus is made by `../shared/mailserver/perf/gen_corpus.py /tmp/perf-corpus 10000 42`. All
messages are read into memory first, so the figure is the parser's alone (no disk, no IMAP). It
prints the best of R rounds, in messages a second, plus the mean time a message, by the wall
clock and by the process's CPU time (the machine is shared; CPU time is the steadier figure).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inboxops.intake.parse import parse_message


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path, help="directory of .eml files")
    ap.add_argument("--count", type=int, default=0, help="only the first N messages (0: all)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    paths = sorted(args.corpus.glob("*.eml"))
    if args.count:
        paths = paths[: args.count]
    if not paths:
        sys.exit(f"no .eml files in {args.corpus}")
    messages = [p.read_bytes() for p in paths]
    mb = sum(map(len, messages)) / 1e6
    best = best_cpu = float("inf")
    for _ in range(args.rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        for raw in messages:
            parse_message(raw)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    n = len(messages)
    print(f"parse_message: {n} messages ({mb:.1f} MB), best of {args.rounds}, one process")
    print(f"  wall: {n / best:,.0f} msg/s, {best / n * 1e6:,.0f} us/msg")
    print(f"  cpu:  {n / best_cpu:,.0f} msg/s, {best_cpu / n * 1e6:,.0f} us/msg")


if __name__ == "__main__":
    main()
