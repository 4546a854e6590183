"""Style signals: who the message is written for, and whether the writer is unhappy or asking.

Each case has a twin that differs only in the one trait the signal looks for, so the test shows
that the signal (and not a keyword elsewhere in the text) decides.
"""

from __future__ import annotations

import pytest
from mailfactory import client_mail

from inboxops.classifiers.style import StyleClassifier
from inboxops.intake.parse import parse_message


def style(subject: str, body: str) -> tuple[dict[str, float], list[str]]:
    verdict = StyleClassifier().judge(parse_message(client_mail(subject=subject, body=body)))
    return verdict.scores, verdict.reasons


def reason_for(subject: str, body: str, prefix: str) -> str | None:
    return next((r for r in style(subject, body)[1] if r.startswith(prefix)), None)


def test_a_list_tag_in_the_subject_marks_list_mail_but_a_ticket_tag_does_not() -> None:
    assert reason_for("[garden-club] Spring schedule", "Plants.", "list tag")
    assert not reason_for("[Ticket #4411] Your question", "Plants.", "list tag")
    assert not reason_for("Spring schedule", "Plants.", "list tag")


@pytest.mark.parametrize("greeting", ["Dear Valued Customer,", "Dear Newsletter Subscribers,",
                                      "Stimați clienți,", "Hello fellow members,"])
def test_greeting_an_audience_is_mass_mail(greeting: str) -> None:
    assert reason_for("News", f"{greeting}\nOur hours change next month.", "greets an audience")
    assert not reason_for("News", "Dear Ana,\nOur hours change next month.", "greets an audience")


def test_you_in_every_line_is_a_pitch_voice_and_i_in_every_line_is_a_client() -> None:
    pitch = ("Are you ready? Your savings start today. You deserve it, and your family will "
             "thank you. Treat yourself.")
    client = ("I bought a kettle and my order says delivered, but I have not got it. I paid "
              "with my card and you confirmed it.")
    assert reason_for("Offer", pitch, "written to 'you'")
    assert not reason_for("Order", client, "written to 'you'")


def test_displeasure_words_lean_towards_complaint_with_diacritics_or_without() -> None:
    scores, reasons = style("", "The courier was rude and the parcel arrived late and dirty.")
    assert scores.get("complaint", 0) >= 1.2 and any("rude" in r for r in reasons)
    for text in ("Sunt foarte supărat, coletul e murdar.",
                 "Sunt foarte suparat, coletul e murdar."):
        assert reason_for("", text, "displeasure")
    assert not reason_for("", "The courier was kind and the parcel came early.", "displeasure")


def test_a_message_that_asks_for_nothing_leans_complaint_and_a_question_does_not() -> None:
    assert reason_for("", "Third time this month the lift is out.", "asks for nothing")
    assert not reason_for("", "Is the lift out this month?", "asks for nothing")
    assert not reason_for("", "Vă rog să verificați liftul.", "asks for nothing")


def test_calls_to_action_mark_a_sales_pitch() -> None:
    assert reason_for("", "Sign up today and learn more about our special offer.", "sales pitch")
    assert not reason_for("", "Could you send me the invoice for March?", "sales pitch")


def test_capitals_throughout_are_bulk_mail() -> None:
    shout = "CONGRATULATIONS, YOU HAVE BEEN CHOSEN FOR AN EXCLUSIVE REWARD. CLAIM IT NOW. " * 2
    assert reason_for("", shout, "written in capitals")
    assert not reason_for("", shout.capitalize(), "written in capitals")


def test_options_from_config_switch_a_signal_off() -> None:
    verdict = StyleClassifier(list_tag_weight=0.0).judge(
        parse_message(client_mail(subject="[garden-club] Spring", body="Plants.")))
    assert verdict.scores.get("other", 0.0) == 0.0


# Bits of text that sit at the edges of the gates' reasoning: apostrophes that join words,
# repeated words, greetings followed by a comma or a dash, a greeting cut by the 300th character.
_PIECES = ["you", "your", "you're", "i", "i'm", "my", "me", "o'", "'", " ", " ", ", ", "-", "hi",
           "dear", "buna ziua", "all", "customers", "members", "x", "2", "\n", "this", "ă"]


def _fuzzed(count: int) -> list[str]:
    import random

    rng = random.Random(4)
    return ["".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 160)))
            for _ in range(count)]


def test_the_word_count_bounds_hold_on_any_text() -> None:
    from inboxops.classifiers.style import (
        _FIRST_PERSON,
        _SECOND_PERSON,
        _WORD,
        _first_person_least,
    )

    for text in _fuzzed(3000):
        words = _WORD.findall(text)
        assert sum(map(_SECOND_PERSON.__contains__, words)) <= text.count("you")
        assert _first_person_least(text) <= sum(map(_FIRST_PERSON.__contains__, words))


def test_the_greeting_gate_never_hides_a_greeting() -> None:
    from inboxops.classifiers.phrases import spaced
    from inboxops.classifiers.style import _MASS_SALUTATION, _greets

    greeted = 0
    for text in _fuzzed(3000):
        if _MASS_SALUTATION.search(text[:300]):
            greeted += 1
            assert _greets(spaced(text)[:300]), text
    assert greeted >= 20  # the fuzz does make greetings
