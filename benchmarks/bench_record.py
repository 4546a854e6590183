"""The daemon's backlog write path, in-process: CPU time per message of `Pipeline._ingest_run`.

A first start over IMAP spends most of the daemon main process's CPU on recording what the
parse workers return (issue 15). This times only that part: the corpus is parsed and
classified once up front (in this process, outside the timing), then written the way
`Pipeline.ingest` writes it, in runs of WRITE_RUN with the folder's checkpoint, into a fresh
store, a few rounds. CPU time (time.process_time), not wall time: the machine is shared.

    python benchmarks/bench_record.py [--count 10000] [--corpus /tmp/perf-corpus] [--rounds 3]
    python benchmarks/bench_record.py --profile          # cProfile of one round, by thread CPU
    python benchmarks/bench_record.py --keep out.db      # keep the last round's store
    python benchmarks/bench_record.py --compare a.db b.db  # same rows? (times aside)

Run it with PYTHONPATH set to one tree, then the other, to compare two versions; `--compare`
says whether they stored the same thing, column by column.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inboxops import config
from inboxops.defaults import TEMPLATES
from inboxops.intake.sources import Incoming
from inboxops.outbound.mailbox import SORT_BATCH
from inboxops.service import pipeline as pipeline_module
from inboxops.service.daemon import SORT_PAGE
from inboxops.service.pipeline import Pipeline
from inboxops.service.triage import Setup, start, triage
from inboxops.store import Store, messages

SOURCE, FOLDER, VALIDITY = "imap:bench@localhost", "INBOX", 1700000000
# What differs between two runs by nature: when it happened.
REVIEW_BELOW = config.default().classify.review_below
UNCOMPARED = {"messages": {"received_at"}, "events": {"at"}, "duplicates": {"at"}}


def _config(base: Path) -> config.Config:
    cfg = config.default()
    cfg.mailbox.sort = "off"
    cfg.store.path = base / "bench.db"
    cfg.replies.templates = TEMPLATES
    return cfg


def _triaged(cfg: config.Config, raws: list[bytes]) -> list[Any]:
    Store(cfg.store.path).close()  # migrated: the learned classifier reads its corrections
    start(Setup.of(cfg))
    out: list[Any] = []
    for raw in raws:
        try:
            out.append(triage(raw))
        except Exception as e:  # noqa: BLE001 - what a worker would send back
            out.append(e)
    return out


def _round(cfg: config.Config, batch: list[Incoming], results: list[Any], copies: int,
           profile: cProfile.Profile | None, sort: bool = False) -> float:
    """One fresh store written run by run; CPU microseconds per message."""
    store = Store(cfg.store.path)
    pipeline = Pipeline(cfg, store)

    def checkpoint(upto: Incoming) -> None:
        store.set_mailbox_state(SOURCE, FOLDER, VALIDITY, upto.uid or 0)

    size = pipeline_module.WRITE_RUN
    runs = [list(zip(batch[i:i + size], results[i:i + size], strict=True))
            for i in range(0, len(batch), size)]
    written = 0
    if profile is not None:
        profile.enable()
    began = time.process_time()
    for run in runs:
        written += pipeline._ingest_run(SOURCE, FOLDER, run, checkpoint)
    # What the runs left in the WAL is copied to the database by some later commit: counted.
    store.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    spent = time.process_time() - began
    if profile is not None:
        profile.disable()
    sorting = _sort(store) if sort else 0.0
    pipeline.close()
    store.close()
    if sort:
        print(f"  sorting's store side: {sorting:.1f} us CPU per message sorted")
    assert written == len(batch) - copies, written
    return 1e6 * spent / len(batch)


def _sort(store: Store) -> float:
    """The store side of the daemon's sorting (`Daemon._sort_pending`): pages of rows to sort,
    marked sorted per category batch, each in a transaction of its own; CPU us a message."""
    sorted_ = 0
    began = time.process_time()
    after = 0
    while rows := messages.to_sort(store, SOURCE, REVIEW_BELOW, after, SORT_PAGE):
        after = rows[-1]["id"]
        by_category: dict[str, list[int]] = {}
        for row in rows:
            by_category.setdefault(row["category"], []).append(row["id"])
        for ids in by_category.values():
            for first in range(0, len(ids), SORT_BATCH):
                with store.tx():
                    messages.mark_sorted(store, ids[first:first + SORT_BATCH], REVIEW_BELOW)
        sorted_ += len(rows)
    return 1e6 * (time.process_time() - began) / max(sorted_, 1)


def _with_copies(raws: list[bytes]) -> tuple[list[bytes], int]:
    """The corpus with a byte-identical copy (under its own UID) after every 100th message,
    of that message (the same run) and of one 200 before (an earlier run): duplicates."""
    out: list[bytes] = []
    copies = 0
    for i, raw in enumerate(raws):
        out.append(raw)
        if i % 100 == 99:
            out += [raw, raws[i - 200]] if i >= 200 else [raw]
            copies += 2 if i >= 200 else 1
    return out, copies


def compare(a: Path, b: Path) -> int:
    """Print every difference between two stores' message tables; the count of them."""
    diffs = 0
    for table, order in (("messages", "id"), ("message_raw", "message_pk"), ("events", "id"),
                         ("duplicates", "source_key"), ("mailbox_state", "folder")):
        rows = []
        for path in (a, b):
            conn = sqlite3.connect(path)
            cur = conn.execute(f"SELECT * FROM {table} ORDER BY {order}")
            names = [d[0] for d in cur.description]
            rows.append([{k: v for k, v in zip(names, r, strict=True)
                          if k not in UNCOMPARED.get(table, set())} for r in cur])
            conn.close()
        if len(rows[0]) != len(rows[1]):
            print(f"{table}: {len(rows[0])} rows vs {len(rows[1])}")
            diffs += 1
        for x, y in zip(*rows, strict=False):
            if x != y:
                diffs += 1
                if diffs <= 10:
                    cols = {k: (x.get(k), y.get(k)) for k in x.keys() | y.keys()
                            if x.get(k) != y.get(k)}
                    print(f"{table} {x.get(order)}: {cols}"[:600])
        print(f"{table}: {len(rows[0])} rows compared")
    return diffs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/perf-corpus"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--keep", type=Path)
    ap.add_argument("--sort", action="store_true", help="also time sorting's store side")
    ap.add_argument("--compare", type=Path, nargs=2)
    args = ap.parse_args()
    if args.compare:
        diffs = compare(*args.compare)
        print("identical" if not diffs else f"{diffs} difference(s)")
        sys.exit(1 if diffs else 0)
    raws, copies = _with_copies(
        [p.read_bytes() for p in sorted(args.corpus.iterdir())[:args.count]])
    batch = [Incoming(f"{VALIDITY}:{uid}", raw, VALIDITY, uid)
             for uid, raw in enumerate(raws, start=1)]
    base = Path(tempfile.mkdtemp(prefix="bench-record-"))
    try:
        cfg = _config(base)
        results = _triaged(cfg, raws)
        profile = cProfile.Profile(time.thread_time) if args.profile else None
        for n in range(args.rounds):
            for leftover in base.glob("bench.db*"):
                leftover.unlink()
            us = _round(cfg, batch, results, copies, profile if n == 0 else None, args.sort)
            print(f"round {n + 1}: {us:.1f} us CPU per message ({len(batch)} messages)")
        if args.keep:
            shutil.copy(cfg.store.path, args.keep)
        if profile is not None:
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
