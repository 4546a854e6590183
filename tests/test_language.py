"""detect_language on short and longer texts, with and without diacritics."""

from __future__ import annotations

import time

import pytest

from inboxops.intake.language import detect_language


@pytest.mark.parametrize(
    "text",
    [
        "Buna ziua, as dori o oferta",
        "Bună ziua, aș dori o ofertă",
        "Bună ziua",
        "Buna ziua",
        "Mulţumesc!",  # cedilla form
        "Mulțumesc!",  # comma-below form
        "Multumesc",
        "Salut",
        "Reclamație",
        "Vă rog să-mi trimiteți factura",
        "Va rog sa-mi trimiteti factura",
        "Am primit comanda, dar produsul s-a stricat",
        "Nu am primit nimic",
        "Confirm intalnirea de marti la ora 14",
        "Re: Ofertă",
        "Putem stabili o întâlnire săptămâna viitoare? Aștept confirmarea dumneavoastră.",
    ],
)
def test_romanian(text: str) -> None:
    assert detect_language(text) == "ro"


@pytest.mark.parametrize(
    "text",
    [
        "Hello, I would like an offer",
        "Hello",
        "Thanks!",
        "Hi",
        "Please send the invoice by e-mail",
        "Can we meet on Tuesday at 3pm?",
        "Re: Offer",
        "I'm still waiting for the delivery, could you check?",
        "Looking forward to hearing from you.",
    ],
)
def test_english(text: str) -> None:
    assert detect_language(text, default="ro") == "en"


@pytest.mark.parametrize("text", ["", "12345", "OK", "https://x.example/a?b=1", "!!!"])
def test_no_evidence_returns_the_default(text: str) -> None:
    assert detect_language(text) == "en"
    assert detect_language(text, default="ro") == "ro"


@pytest.mark.parametrize(
    ("text", "expected"), [("Confirmăm primirea.", "ro"), ("Confirmam primirea.", "en")]
)
def test_diacritics_alone_decide_when_no_word_is_known(text: str, expected: str) -> None:
    assert detect_language(text, default="en") == expected


def test_cedilla_and_comma_below_count_alike() -> None:
    assert detect_language("Plăţi") == detect_language("Plăți") == "ro"
    assert detect_language("Ţară, ştiu") == "ro"


def test_a_romanian_name_does_not_outweigh_english_text() -> None:
    assert detect_language("Hello Ștefan, thanks for the quick reply") == "en"


def test_english_reply_with_romanian_signature_line() -> None:
    text = "Hi, the delivery arrived today and everything is fine. Thanks!\nIon Țărănescu"
    assert detect_language(text) == "en"


def test_fast_on_many_messages() -> None:
    texts = ["Bună ziua, aș dori o ofertă pentru 20 de bucăți. Mulțumesc!"] * 2000
    start = time.perf_counter()
    results = {detect_language(t) for t in texts}
    assert results == {"ro"}
    assert time.perf_counter() - start < 1.0  # thousands per second, with a wide margin


def test_huge_text_is_bounded() -> None:
    start = time.perf_counter()
    assert detect_language("the " * 1_000_000) == "en"
    assert time.perf_counter() - start < 1.0
