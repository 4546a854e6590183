"""Classifier chain: structure signals (LOOP-2, one case per rule) and en/ro content rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from mailfactory import client_mail

from inboxops import config
from inboxops.classifiers import Chain
from inboxops.classifiers.signals import automation_signals, courtesy_signals
from inboxops.errors import ConfigError
from inboxops.intake.parse import parse_message
from inboxops.service.pipeline import build_chain

OWN = frozenset({"office@example.test"})


def classify(raw: bytes) -> tuple[str, float, list[str]]:
    cfg = config.default()
    cfg.classify.own_addresses = list(OWN)
    decision = build_chain(cfg).classify(parse_message(raw))
    return decision.category, decision.confidence, decision.reasons


@pytest.mark.parametrize(
    ("headers", "sender", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, None, "Auto-Submitted: auto-replied"),
        ({"Return-Path": "<>"}, None, "empty Return-Path"),
        ({"List-Id": "<news.example.org>"}, None, "List-Id header present"),
        ({"List-Unsubscribe": "<mailto:u@example.org>"}, None, "List-Unsubscribe"),
        ({"Precedence": "bulk"}, None, "Precedence: bulk"),
        ({"X-Precedence": "junk"}, None, "X-Precedence: junk"),
        ({"X-Autoreply": "yes"}, None, "X-Autoreply header present"),
        ({"X-Loop": "yes"}, None, "X-Loop: yes"),
        ({}, "MAILER-DAEMON@mx.example.org", "robot sender"),
        ({}, "no-reply@shop.example", "robot sender"),
        ({}, "newsletter-request@lists.example", "robot sender"),
        ({}, "owner-team@lists.example", "robot sender"),
        ({}, "Office <office@example.test>", "sent by ourselves"),
    ],
)
def test_each_automation_signal_decides_other(
    headers: dict[str, str], sender: str | None, reason: str
) -> None:
    raw = client_mail(headers=headers, **({"sender": sender} if sender else {}))
    category, confidence, reasons = classify(raw)
    assert category == "other"
    assert confidence >= 0.8
    assert any(reason in r for r in reasons), reasons


def test_auto_submitted_no_is_a_human() -> None:
    parsed = parse_message(client_mail(headers={"Auto-Submitted": "no"}))
    assert automation_signals(parsed, OWN) == []
    assert classify(client_mail(headers={"Auto-Submitted": "no"}))[0] == "inquiry"


def test_two_auto_submitted_headers_are_suspicious() -> None:
    raw = client_mail(headers={"Auto-Submitted": "no"}).replace(
        b"Auto-Submitted: no", b"Auto-Submitted: no\r\nAuto-Submitted: no")
    assert "more than one Auto-Submitted header" in automation_signals(parse_message(raw), OWN)


def test_auto_response_suppress_only_blocks_automatic_sending() -> None:
    raw = client_mail(headers={"X-Auto-Response-Suppress": "OOF, AutoReply"})
    parsed = parse_message(raw)
    assert automation_signals(parsed, OWN) == []
    assert any("X-Auto-Response-Suppress" in s for s in courtesy_signals(parsed))


@pytest.mark.parametrize(
    ("subject", "body", "expected"),
    [
        ("Price request", "Hello, how much does the yearly maintenance cost? Do you offer "
         "discounts for schools?", "inquiry"),
        ("Broken heater", "The heater you installed last week is broken again. This is "
         "unacceptable and I want a refund.", "complaint"),
        ("Meeting next week", "Could we schedule a meeting on Tuesday at 3pm to go through "
         "the proposal?", "meeting"),
        ("Ofertă", "Bună ziua, aș dori o ofertă de preț pentru 20 de licențe. Mulțumesc!",
         "inquiry"),
        ("Reclamatie", "Buna ziua, produsul a ajuns stricat si nu functioneaza. Sunt foarte "
         "nemultumit.", "complaint"),
        ("Programare", "Bună ziua, am putea stabili o întâlnire joi la ora 10:30?", "meeting"),
        ("Reclamaţie factură", "Factura este greşită, vă rog să o corectaţi.", "complaint"),
    ],
)
def test_content_rules_in_both_languages(subject: str, body: str, expected: str) -> None:
    category, confidence, reasons = classify(client_mail(subject=subject, body=body))
    assert category == expected, reasons
    assert reasons and confidence > 0


def test_cedilla_and_comma_below_are_the_same_word() -> None:
    comma = classify(client_mail(subject="Reclamație", body="Am o reclamație."))
    cedilla = classify(client_mail(subject="Reclamaţie", body="Am o reclamaţie."))
    assert comma[0] == cedilla[0] == "complaint"
    assert comma[1] == cedilla[1]


def test_no_signal_goes_to_review_as_a_lean() -> None:
    cfg = config.default()
    decision = build_chain(cfg).classify(parse_message(client_mail(subject="x", body="ok")))
    assert decision.confidence < cfg.classify.review_below and decision.lean
    assert "needs a human" in decision.reasons[0]


def test_calendar_reply_is_meeting_business() -> None:
    ics = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//x//EN\r\nMETHOD:REPLY\r\n"
           b"BEGIN:VEVENT\r\nUID:u1@example.test\r\nDTSTAMP:20261126T100000Z\r\n"
           b"ATTENDEE;PARTSTAT=ACCEPTED:mailto:ana@client.example\r\nEND:VEVENT\r\n"
           b"END:VCALENDAR\r\n")
    raw = (b"From: Ana <ana@client.example>\r\nTo: office@example.test\r\n"
           b"Subject: Accepted: Meeting\r\nMessage-ID: <r1@client.example>\r\n"
           b"Content-Type: text/calendar; method=REPLY; charset=UTF-8\r\n\r\n" + ics)
    category, _, reasons = classify(raw)
    assert category == "meeting" and "METHOD:REPLY" in reasons[0]


def test_classifier_options_come_from_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[classify]\nchain = ['content']\n"
                    "[classify.options.content]\nsubject_weight = 9.0\n")
    chain = build_chain(config.load(path))
    assert [c.name for c in chain.classifiers] == ["content"]
    assert chain.classifiers[0].subject_weight == 9.0  # type: ignore[attr-defined]
    path.write_text("[classify.options.content]\nsubject_wieght = 9.0\n")
    with pytest.raises(ConfigError, match=r"\[classify.content\] subject_wieght: unknown option"):
        build_chain(config.load(path))


def test_unknown_classifier_in_config_is_named() -> None:
    with pytest.raises(ConfigError, match="unknown classifier 'bayes'"):
        Chain.from_names(["signals", "bayes"])


_GLUE = [" ", " ", ", ", ". ", "'", "-", "\n", "!", "!!", "?", "?!", " 5 ", " 10:30 am ", "$4",
         "x", "#", "{name}", "100%", "n-", " \u0663 ", "\u0663", "\u2014", " \u00e9", "_", "7pm "]


def _texts(phrases: object, seed: int, count: int) -> list[str]:
    """Random texts made of the words of a phrase set's stems and glue that tests the edges:
    punctuation, word characters next to words, digits (also other than 0-9), other scripts."""
    import random
    import re as regex

    rng = random.Random(seed)
    words = sorted({w for p in phrases.patterns  # type: ignore[attr-defined]
                    for w in regex.findall(r"[a-z]+", p.pattern)})
    return ["".join(rng.choice(words) + rng.choice(_GLUE) for _ in range(rng.randint(1, 14)))
            for _ in range(count)]


def test_the_scan_finds_every_place_a_stem_can_match() -> None:
    """The one-pass scan may only skip places where a stem cannot match (guards rule edits):
    wherever a stem matches, the scan lists that place for it."""
    from inboxops.classifiers import content, phrases, style

    for phrase_set in (content._PHRASES, style._DISPLEASURE, style._PITCH, style._ASKS):
        for text in _texts(phrase_set, 3, 1500):
            starts = set(phrases._SCANNER.starts(text, phrase_set._number))
            one_by_one = phrase_set.one_by_one(text)
            for index in set(phrase_set.keys) - set(one_by_one):
                for m in phrase_set.patterns[index].finditer(text):
                    assert (m.start(), index) in starts, (phrase_set.stems[index], text)


def test_only_stems_that_start_with_no_word_are_searched_one_by_one() -> None:
    """A stem left out of the scan is searched one by one on every message, and one that can
    start with no word character on every message that has such a character: none of ours is
    the first, and an ordinary sentence is searched for none of them."""
    from inboxops.classifiers import content, style

    for phrase_set in (content._PHRASES, style._DISPLEASURE, style._PITCH, style._ASKS):
        assert phrase_set._unscanned == []
        assert phrase_set.one_by_one("we will send the order to you tomorrow at 10 am, ok") == []
        for index, stem in enumerate(phrase_set.stems):
            if stem[0].isalpha():
                assert phrase_set.keys[index], stem
                assert index not in phrase_set._marked, stem


def test_phrase_search_finds_exactly_what_searching_each_stem_would() -> None:
    """The scanned search (match at the scan's places, look-behind known) must give the same
    first match per stem as a plain search of every stem, for every phrase set."""
    from inboxops.classifiers import content, style

    for phrase_set in (content._PHRASES, style._DISPLEASURE, style._PITCH, style._ASKS):
        for text in _texts(phrase_set, 7, 1500):
            expected = {i: m.group(0) for i, p in enumerate(phrase_set.patterns)
                        if (m := p.search(text))}
            found = phrase_set.search(text)
            assert found == expected, text
            assert list(found) == list(expected_in_order(phrase_set, text)), text
            assert phrase_set.any(text) == bool(expected), text


def expected_in_order(phrase_set: object, text: str) -> list[int]:
    """Stem indices in the order their first matches start (ties: lower index first)."""
    found = [(m.start(), i) for i, p in enumerate(phrase_set.patterns)  # type: ignore[attr-defined]
             if (m := p.search(text))]
    return [i for _, i in sorted(found)]
