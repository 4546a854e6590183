"""CPU a message of the parse worker's work (issue 15): triage() alone, and the worker loop.

    python benchmarks/bench_triage.py /tmp/perf-corpus [--rounds R] [--ref GITREV]

Three figures, CPU time (time.process_time) per message, best of R rounds:
  triage   service.triage.triage on each message, in this process;
  worker   what a parse worker does for a backlog (`Pipeline.ingest`): the work function on
           chunks of parsepool.CHUNK messages, each answer pickled as the worker pickles it
           (pickling: that part alone);
  daemon   the daemon's side of those answers: unpickling them.
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
    print(json.dumps({"triage": t_triage / n * 1e6, "worker": t_worker / n * 1e6,
                      "pickle": t_pickle / n * 1e6,
                      "daemon": t_daemon / n * 1e6,
                      "bytes": sum(map(len, answers)) / n}))


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
            print(f"best {name:>8}: triage {best['triage']:.1f} us, worker {best['worker']:.1f}"
                  f" us (pickling {best['pickle']:.1f}), daemon unpickle {best['daemon']:.1f}"
                  " us, answer "
                  f"{best['bytes']:,.0f} B a message")


if __name__ == "__main__":
    main()
