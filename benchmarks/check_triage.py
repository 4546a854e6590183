"""Same outcomes from two versions of the parse worker's work (issue 15): a message by message diff.

    python benchmarks/check_triage.py /tmp/perf-corpus [--ref main] [--count N]

For every input it writes one line: every ParsedMessage field (the header dict and calendar
bytes included), the decision, the automation and courtesy signals, the error, or the
exception for bytes that cannot be parsed; and what `Pipeline.ingest` decides from the worker's
answer (`Pipeline._at_once`: the columns written at once, or the usual way). It runs once on
GITREV's tree (git archive into a temporary folder) and once on this one, and prints each line
that differs. In this tree it also checks that the lean answer the backlog intake asks for
(`triage_for_ingest`) leads to the very decision the whole one does.

The inputs: the first N messages of the corpus, and every message the parser tests feed to
parse_message (tests/test_parse*.py, test_language.py: the fixtures, the hostile and the odd
ones), collected by running those tests with parse_message wrapped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

HOME = Path(__file__).resolve().parent.parent
TESTS = ["tests/test_parse.py", "tests/test_parse_fast.py", "tests/test_parse_speedups.py",
         "tests/test_language.py"]


class _Collect:
    """pytest plug-in: wrap parse_message before the test modules import it; keep each input."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.seen: set[str] = set()

    def pytest_configure(self) -> None:
        from inboxops.intake import parse

        original = parse.parse_message

        def recording(raw: bytes) -> Any:
            digest = hashlib.sha1(bytes(raw)).hexdigest()
            if digest not in self.seen:
                self.seen.add(digest)
                (self.out / f"{digest}.eml").write_bytes(bytes(raw))
            return original(raw)

        parse.parse_message = recording  # type: ignore[assignment]


def collect(out: Path) -> None:
    import pytest

    os.chdir(HOME)
    pytest.main(["-q", "-p", "no:cacheprovider", *TESTS], plugins=[_Collect(out)])


def _dump_one(raw: bytes, work: Any, at_once: Any) -> dict[str, Any]:
    from inboxops.service import triage

    try:
        result = triage.triage(raw)
    except Exception as e:  # noqa: BLE001 - the outcome is the error
        return {"raises": f"{type(e).__name__}: {e}"}
    p = result.parsed
    parsed = {k: (v.isoformat() if hasattr(v, "isoformat") else v)
              for k, v in vars(p).items() if k != "calendar"}
    parsed["calendar"] = hashlib.sha1(p.calendar).hexdigest() if p.calendar else None
    d = result.decision
    line = {"parsed": parsed, "decision": vars(d) if d else None, "robot": result.robot,
            "courtesy": result.courtesy, "error": result.error, "at_once": at_once(result)}
    if work is not triage.triage:
        lean = at_once(work(raw))
        if lean != line["at_once"]:
            line["lean_at_once_differs"] = lean
    return line


def dump(inputs: list[Path], out: Path) -> None:
    """Run in the tree under test: one JSON line an input."""
    import dataclasses

    from inboxops import config
    from inboxops.service import triage
    from inboxops.service.pipeline import Pipeline
    from inboxops.store import Store

    cfg = config.default()
    triage.start(dataclasses.replace(triage.Setup.of(cfg), store_path=None))
    pipeline = Pipeline(cfg, Store(":memory:"))
    work = getattr(triage, "triage_for_ingest", triage.triage)

    def at_once(result: Any) -> Any:
        return json.loads(json.dumps(pipeline._at_once(result), default=str))

    with out.open("w") as f:
        for path in inputs:
            line = _dump_one(path.read_bytes(), work, at_once)
            f.write(json.dumps({"input": path.name, **line}, ensure_ascii=False,
                               default=repr) + "\n")


def _tree(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(HOME), "archive", ref, "inboxops", "tests"],
                             check=True, capture_output=True).stdout
    (into / "ref.tar").write_bytes(archive)
    with tarfile.open(into / "ref.tar") as t:
        t.extractall(into, filter="data")
    return into


def _in(tree: Path, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run([sys.executable, __file__, *args], check=True, env=env, cwd=tree,
                   stdout=subprocess.DEVNULL)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--ref", default="main")
    ap.add_argument("--collect", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--dump", type=Path, nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.collect:
        collect(args.collect)
        return
    if args.dump:
        listing, out = args.dump
        dump([Path(line) for line in listing.read_text().splitlines()], out)
        return
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        odd = tmp / "odd"
        odd.mkdir()
        _in(HOME, "--collect", str(odd), str(args.corpus))
        inputs = sorted(args.corpus.glob("*.eml"))[:args.count] + sorted(odd.glob("*.eml"))
        listing = tmp / "inputs.txt"
        listing.write_text("\n".join(map(str, inputs)))
        ref = tmp / "ref"
        ref.mkdir()
        _in(_tree(args.ref, ref), "--dump", str(listing), str(tmp / "old.jsonl"), ".")
        _in(HOME, "--dump", str(listing), str(tmp / "new.jsonl"), ".")
        old = (tmp / "old.jsonl").read_text().splitlines()
        new = (tmp / "new.jsonl").read_text().splitlines()
        differ = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
        lean = [b for b in new if "lean_at_once_differs" in b]
        for a, b in differ[:20]:
            print(f"- {a}\n+ {b}\n")
        print(f"{len(inputs)} inputs ({len(inputs) - len(list(odd.glob('*.eml')))} from "
              f"{args.corpus}, {len(list(odd.glob('*.eml')))} from the parser tests): "
              f"{len(differ)} differ from {args.ref}; lean ingest answers deciding otherwise: "
              f"{len(lean)}")
        sys.exit(1 if differ or lean else 0)


if __name__ == "__main__":
    main()
