"""Phrase sets compile on first use: the daemon's main process imports the classifiers but
never classifies (its parse workers do), and compiling every stem cost its start ~0.25 s.
A worker compiles them all when it starts, before its first message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()


def test_the_daemon_compiles_no_phrase_set_and_a_worker_compiles_them_all() -> None:
    built = ("from inboxops.classifiers import phrases; "
             "print(sum('_built' in p.__dict__ for p in phrases._MADE), len(phrases._MADE))")
    made, total = map(int, _run(f"import inboxops.service.daemon; {built}").split())
    assert total >= 4 and made == 0
    made, total = map(int, _run(
        "from inboxops.service.triage import Setup, start; "
        "start(Setup(('signals', 'content', 'style'), {}, frozenset(), None)); " + built
    ).split())
    assert made == total >= 4


def test_a_phrase_set_found_the_same_before_and_after_compiling() -> None:
    from inboxops.classifiers.phrases import PhraseSet

    phrases = PhraseSet([r"refund", r"call (me|us)", r"\$\d+"])
    assert "_built" not in phrases.__dict__
    assert phrases.search("please call us about the refund of $20") == {
        1: "call us", 0: "refund", 2: "$20"}
    assert "_built" in phrases.__dict__ and phrases.any("a refund") and not phrases.any("")
