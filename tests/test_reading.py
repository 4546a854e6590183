"""The chain reads a message once: the fast fold and word split give exactly what the plain
ones give, every classifier shares one Reading, only the opening of a long text counts, and
corrections reach the learned classifier without a query per message."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from mailfactory import client_mail

from inboxops import config
from inboxops.classifiers import Chain, Classifier, Verdict, reading
from inboxops.classifiers.corrections import record
from inboxops.classifiers.learned import LearnedClassifier, features
from inboxops.classifiers.phrases import tokens
from inboxops.intake.parse import parse_message
from inboxops.models import ParsedMessage
from inboxops.service.pipeline import build_chain
from inboxops.store import Store
from inboxops.text import fold_diacritics


def test_fold_is_fold_diacritics_for_every_character() -> None:
    chars = [chr(c) for c in range(0x10000) if not 0xD800 <= c < 0xE000]
    chars += [chr(c) for c in range(0x10000, 0x110000, 97)]
    for start in range(0, len(chars), 512):
        text = "".join(chars[start:start + 512])
        assert reading.fold(text) == fold_diacritics(text)
    rng = random.Random(5)
    pool = "aăâîșşțţAĂÂÎȘŞȚŢéÉüßİ ,.-—„”'\n" + "".join(chars[0x300:0x370])
    for _ in range(300):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 60)))
        assert reading.fold(text) == fold_diacritics(text), text


def test_words_are_the_word_runs_of_the_text() -> None:
    rng = random.Random(6)
    pool = [*"abcxyz019_ ,.;:!?'\"()-\n\t", "—", "„", "”", "ß", "ж", "中", "\u0301", "é"]
    for _ in range(2000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 40)))
        assert reading.words_of(text) == tokens(text), text


def test_the_chain_folds_a_message_once_for_all_its_classifiers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    real = reading.fold

    def counting(s: str) -> str:
        calls.append(s)
        return real(s)

    monkeypatch.setattr(reading, "fold", counting)
    chain = build_chain(config.default())
    chain.classify(parse_message(client_mail(subject="Reclamație", body="Produsul e stricat.")))
    assert len(calls) == 2  # the subject and the opening of the text, once each


class _Plugin(Classifier):
    """A third-party classifier written against `judge` alone."""

    name = "plugin-test"

    def judge(self, msg: ParsedMessage) -> Verdict:
        verdict = Verdict()
        if "invoice" in msg.subject.lower():
            verdict.add("inquiry", 4.0, "plug-in: an invoice question")
        return verdict


def test_a_plugin_that_implements_judge_still_runs_in_the_chain() -> None:
    chain = Chain([_Plugin()])
    decision = chain.classify(parse_message(client_mail(subject="Invoice 12", body="Hello.")))
    assert decision.category == "inquiry"
    assert "plug-in: an invoice question" in decision.reasons
    with pytest.raises(NotImplementedError):
        Classifier().judge(parse_message(client_mail()))


def test_only_the_opening_of_a_long_text_is_read() -> None:
    chain = build_chain(config.default())
    opening = "Hello, could you send me your price list for the spring?\n\n"
    filler = "The weather was mild and the garden grew.\n" * (reading.READ_CHARS // 40 + 5)
    late = "This is unacceptable, I want a refund, the product is broken!\n" * 20
    assert len(opening + filler) > reading.READ_CHARS
    plain = chain.classify(parse_message(client_mail(subject="Prices", body=opening + filler)))
    tail = chain.classify(parse_message(client_mail(subject="Prices",
                                                    body=opening + filler + late)))
    early = chain.classify(parse_message(client_mail(subject="Prices",
                                                     body=late + opening + filler)))
    assert (tail.category, tail.confidence) == (plain.category, plain.confidence)
    assert plain.category == "inquiry" and early.category == "complaint"


def test_features_of_a_correction_are_those_the_classifier_reads() -> None:
    text = "Bună ziua, factura a sosit de două ori. " * 200
    assert features("Factură", text) == features("Factură", text[:reading.READ_CHARS])
    assert "s:factura" in features("Factură", text) and "sosit" in features("Factură", text)


def _insert_from_another_process(path: Path, words: str) -> None:
    db = sqlite3.connect(path)
    with db:
        db.execute("INSERT INTO corrections (at, category, words, origin) "
                   "VALUES ('2026-01-01T00:00:00Z', 'complaint', ?, 'reclassify')", (words,))
    db.close()


def test_corrections_reach_the_learned_classifier_without_a_query_per_message(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "inboxops.db")
    learned = LearnedClassifier(store=store, recheck=2.0)
    learned.refresh(now=100.0)
    assert learned._examples == []

    # Recorded by this process: seen at the very next message.
    record(store, "complaint", "Gate card", "The courtyard gate card stopped working.")
    learned.refresh(now=100.1)
    assert len(learned._examples) == 1

    # Recorded by another process (the CLI): seen within `recheck` seconds, not before.
    _insert_from_another_process(tmp_path / "inboxops.db", "barrier courtyard s:gate")
    learned.refresh(now=101.0)
    assert len(learned._examples) == 1
    learned.refresh(now=102.2)
    assert len(learned._examples) == 2
    store.close()


def test_features_from_remembered_words_are_those_of_the_text() -> None:
    """The learned classifier takes a message's features from the words it has seen before:
    the same as reading them off the text (but stop words), also for numbers, ids and words
    seen again."""
    from inboxops.classifiers import learned

    rng = random.Random(8)
    pool = ["abc", "ab", "a1b2c3", "12abc", "x", "reclamatie", "abc_def", "9", "ab12", "ţară",
            "a" * 40 + "1", "the", "aa1bb", "ї", "_x_", "q9q9q9"]
    glue = [" ", ", ", "-", "'", "\n", "7", "_"]
    for round_ in range(3):
        vocabulary = learned._Vocabulary()
        for _ in range(500):
            text = reading.fold("".join(rng.choice(pool) + rng.choice(glue)
                                        for _ in range(rng.randint(0, 12))))
            words = reading.words_of(text)
            expected = set(learned._WORD.findall(text)) - learned._STOP
            assert vocabulary.features(words) == expected, text
            if round_ == 2 and rng.random() < 0.1:
                learned._MEMO_WORDS, saved = 3, learned._MEMO_WORDS  # start anew often
                try:
                    assert vocabulary.features(words) == expected
                finally:
                    learned._MEMO_WORDS = saved
