"""CPU a message of the parse worker's work (issue 15): triage() alone, and the worker loop.

    python benchmarks/bench_triage.py /tmp/perf-corpus [--rounds R] [--ref GITREV]

Three figures, CPU time (time.process_time) per message, best of R rounds:
  triage   service.triage.triage on each message, in this process;
  worker   what a parse worker does for a backlog (`Pipeline.ingest`): the work function on
           chunks of parsepool.CHUNK messages, each answer pickled as the worker pickles it
           (pickling: that part alone);
  daemon   the daemon's side of those answers: unpickling them;
  pool     the real ParsePool with one worker process over the same messages: the worker's
           CPU (from /proc, after a warm-up) and this process's (sending, receiving).
With --ref, the same runs alternate between GITREV's tree (git archive, in a temporary folder)
and this one, R rounds each, interleaved, so the shared machine's noise hits both alike.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

HOME = Path(__file__).resolve().parent.parent


def one(corpus: Path, count: int) -> None:
    """One round in this interpreter, on the inboxops first on sys.path; prints a JSON line."""
    import json

    from inboxops import config
    from inboxops.intake import parsepool
    from inboxops.service import triage as triage_module

    paths = sorted(corpus.glob("*.eml"))[:count]
    raws = [p.read_bytes() for p in paths]
    # No store: the learned classifier then has no corrections, the same on both sides.
    triage_module.start(dataclasses.replace(triage_module.Setup.of(config.default()),
                                            store_path=None))
    work = getattr(triage_module, "triage_for_ingest", triage_module.triage)
    for raw in raws[:200]:  # warm the caches, as a worker that has run a while has
        work(raw)
    c0 = time.process_time()
    for raw in raws:
        triage_module.triage(raw)
    t_triage = time.process_time() - c0
    answers = []
    t_pickle = 0.0
    c0 = time.process_time()
    for i in range(0, len(raws), parsepool.CHUNK):
        out = [work(raw) for raw in raws[i:i + parsepool.CHUNK]]
        p0 = time.process_time()
        answers.append(pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))
        t_pickle += time.process_time() - p0
    t_worker = time.process_time() - c0
    c0 = time.process_time()
    for answer in answers:
        pickle.loads(answer)
    t_daemon = time.process_time() - c0
    n = len(raws)
    pool_child, pool_parent = _through_pool(raws, triage_module, work)
    print(json.dumps({"pool worker": pool_child / n * 1e6, "pool daemon": pool_parent / n * 1e6,
"triage": t_triage / n * 1e6, "worker": t_worker / n * 1e6,
                      "pickle": t_pickle / n * 1e6,
                      "daemon": t_daemon / n * 1e6,
                      "bytes": sum(map(len, answers)) / n}))


def _through_pool(raws: list[bytes], triage_module: Any, work: Any) -> tuple[float, float]:
    """CPU seconds of the real thing, for one worker process parsing the batch as
    Pipeline.ingest has it parsed: the worker's (from /proc, after a warm-up batch, so its
    start-up is left out) and this process's side (sending chunks, receiving answers)."""
    import dataclasses

    from inboxops import config
    from inboxops.intake.parsepool import ParsePool

    setup = dataclasses.replace(triage_module.Setup.of(config.default()), store_path=None)
    pool = ParsePool(workers=1, parser=triage_module.triage, initializer=triage_module.start,
                     initargs=(setup,))
    kwargs = {"parser": work} if work is not triage_module.triage else {}
    try:
        for _ in pool.parse(list(enumerate(raws[:300])), **kwargs):
            pass
        pid = pool._idle[0].proc.pid
        before = _cpu_of(pid)
        c0 = time.process_time()
        for _ in pool.parse(list(enumerate(raws)), **kwargs):
            pass
        parent = time.process_time() - c0
        return _cpu_of(pid) - before, parent
    finally:
        pool.close()


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a live process (proc(5): fields 14 and 15, in ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(HOME), "archive", ref, "inboxops"],
                             check=True, capture_output=True).stdout
    tar = into / "ref.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as t:
        t.extractall(into, filter="data")
    return into


def _run(tree: Path, corpus: Path, count: int) -> dict[str, float]:
    import json

    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, __file__, str(corpus), "--one", "--count", str(count)],
                         check=True, capture_output=True, text=True, env=env, cwd=tree).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ref", help="compare with this git revision, interleaved")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        one(args.corpus, args.count)
        return
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"this": HOME}
        if args.ref:
            trees = {args.ref: _tree(args.ref, Path(tmp)), "this": HOME}
        results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for r in range(args.rounds):
            for name, tree in trees.items():
                got = _run(tree, args.corpus, args.count)
                results[name].append(got)
                print(f"round {r + 1} {name:>8}: " + ", ".join(
                    f"{k} {v:,.1f}" for k, v in got.items()), flush=True)
        for name, rounds in results.items():
            best = {k: min(g[k] for g in rounds) for k in rounds[0]}
            print(f"best {name:>8}: pool: worker process {best['pool worker']:.1f} us, daemon "
                  f"side {best['pool daemon']:.1f} us")
            print(f"best {name:>8}: triage {best['triage']:.1f} us, worker {best['worker']:.1f}"
                  f" us (pickling {best['pickle']:.1f}), daemon unpickle {best['daemon']:.1f}"
                  " us, answer "
                  f"{best['bytes']:,.0f} B a message")


if __name__ == "__main__":
    main()
