"""How long `inboxops --help` and `inboxops drafts --json` take, optionally beside another
revision measured the same way (target: 150 ms each, issue 15).

    python benchmarks/bench_cli_startup.py [--runs 21] [--compare REV]

`drafts --json` runs on a fresh store (made once, migrated) with a minimal config.

Each command is run `--runs` times, interleaved with the other revision's runs so both see the
same machine load; the median and the best wall time are printed, with `python -c pass` as the
floor. `--compare adc9e6c` checks that revision out into a temporary git worktree and runs it
with PYTHONPATH pointing there.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--compare", help="a git revision to measure beside the working tree")
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
            times: dict[str, list[float]] = {name: [] for name in cases}
            for _ in range(args.runs):
                for name, (cmd, env, cwd) in cases.items():
                    times[name].append(timed(cmd, env, cwd))
        finally:
            if args.compare:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                str(Path(tmp) / "other")], check=False)
    for name, values in times.items():
        print(f"{name:40s} median {statistics.median(values) * 1000:6.0f} ms   "
              f"best {min(values) * 1000:6.0f} ms   ({len(values)} runs)")


if __name__ == "__main__":
    main()
