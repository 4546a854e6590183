"""How long `inboxops --help` and `inboxops drafts --json` take, optionally beside another
revision measured the same way (target: 150 ms each, issue 15).

    python benchmarks/bench_cli_startup.py [--runs 21] [--compare REV]

`drafts --json` runs on a store holding `--drafts` pending drafts (made once, migrated) with a
minimal config.

Each command is run `--runs` times, interleaved with the other revision's runs so both see the
same machine load; the median and the best wall time are printed, with `python -c pass` as the
floor, and the median CPU time (user + system of the child), which other load on a shared
machine disturbs less than the wall time. `--compare adc9e6c` checks that revision out into a
temporary git worktree and runs it with PYTHONPATH pointing there.
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def add_drafts(db: Path, count: int) -> None:
    """`count` processed messages, each with a pending draft (plain SQL: any revision's schema)."""
    conn = sqlite3.connect(db, isolation_level=None)
    # Before 044_raw_apart the bytes were a (NOT NULL) column of the message row.
    columns = {row[1] for row in conn.execute("PRAGMA table_info(messages)")}
    raw, raw_value = (", raw", ", x'00'") if "raw" in columns else ("", "")
    conn.execute("BEGIN")
    for i in range(count):
        pk = conn.execute(
            f"INSERT INTO messages (source, folder, source_key, sha256, size{raw}, state,"
            " received_at, category, confidence, reasons, subject, from_addr) VALUES"
            f" ('bench', 'INBOX', ?, ?, 1{raw_value}, 'processed', '2026-11-30T10:00:00+00:00',"
            " 'inquiry', 0.9, '[\"bench\"]', ?, 'c@example.test')",
            (f"k{i}", f"{i:064x}", f"Question {i}")).lastrowid
        conn.execute(
            "INSERT INTO drafts (message_pk, category, language, to_addr, to_name, to_reason,"
            " subject, body_text, created_at) VALUES (?, 'inquiry', 'en', 'c@example.test',"
            " '', 'From header', ?, 'Thank you for your question.', '2026-11-30T10:00:00+00:00')",
            (pk, f"Re: Question {i}"))
    conn.execute("COMMIT")
    conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--compare", help="a git revision to measure beside the working tree")
    ap.add_argument("--drafts", type=int, default=50, help="pending drafts in the store")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"this tree": ROOT}
        if args.compare:
            other = Path(tmp) / "other"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q",
                            str(other), args.compare], check=True)
            trees[args.compare] = other
        try:
            # `python -m` puts the working directory first on sys.path: run each tree from itself
            cases = {"python -c pass": ([sys.executable, "-c", "pass"], dict(os.environ), ROOT)}
            config = Path(tmp) / "config.toml"
            config.write_text(  # keys every revision knows
                f'[store]\npath = "{Path(tmp) / "inboxops.db"}"\n'
                f'[mailbox]\nkind = "maildir"\npath = "{Path(tmp) / "mail"}"\n'
                f'[smtp]\nkind = "outbox-dir"\npath = "{Path(tmp) / "outbox"}"\n'
                'from = "Office <office@example.test>"\n')
            for label, tree in trees.items():
                env = dict(os.environ, PYTHONPATH=str(tree))
                cases[f"inboxops --help ({label})"] = (
                    [sys.executable, "-m", "inboxops", "--help"], env, tree)
                cases[f"drafts --json ({label})"] = (
                    [sys.executable, "-m", "inboxops", "--config", str(config), "drafts",
                     "--json"], env, tree)
            for cmd, env, cwd in list(cases.values())[1:]:
                timed(cmd, env, cwd)  # the first run migrates the store and warms the caches
            add_drafts(Path(tmp) / "inboxops.db", args.drafts)
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
            for _ in range(args.runs):
                for name, (cmd, env, cwd) in cases.items():
                    times[name].append(timed(cmd, env, cwd))
        finally:
            if args.compare:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                str(Path(tmp) / "other")], check=False)
    for name, values in times.items():
        wall = [w for w, _ in values]
        cpu = [c for _, c in values]
        print(f"{name:40s} median {statistics.median(wall) * 1000:6.0f} ms   "
              f"best {min(wall) * 1000:6.0f} ms   cpu median {statistics.median(cpu) * 1000:6.0f}"
              f" ms   ({len(values)} runs)")


if __name__ == "__main__":
    main()
