"""Templates: sandboxed, strict about missing variables, client text only ever data (TPL-1..4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inboxops.defaults import TEMPLATES
from inboxops.errors import TemplateError
from inboxops.responders.render import Renderer

REPO = Path(__file__).resolve().parent.parent


def test_client_text_is_data_not_template(tmp_path: Path) -> None:
    (tmp_path / "t.en.body.txt").write_text("Said: {{ quoted }}")
    out = Renderer(tmp_path).render("t.en.body.txt", {"quoted": "{{ 7*7 }} {% if 1 %}x{% endif %}"})
    assert out == "Said: {{ 7*7 }} {% if 1 %}x{% endif %}"


def test_missing_variable_fails_the_draft(tmp_path: Path) -> None:
    (tmp_path / "t.en.body.txt").write_text("Dear {{ client_name }}")
    with pytest.raises(TemplateError, match="client_name"):
        Renderer(tmp_path).render("t.en.body.txt", {})


def test_sandbox_refuses_attribute_escapes(tmp_path: Path) -> None:
    (tmp_path / "t.en.body.txt").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(TemplateError):
        Renderer(tmp_path).render("t.en.body.txt", {})


def test_html_is_escaped_text_is_not(tmp_path: Path) -> None:
    (tmp_path / "t.en.body.html").write_text("<p>{{ name }}</p>")
    (tmp_path / "t.en.body.txt").write_text("{{ name }}")
    renderer = Renderer(tmp_path)
    assert renderer.render("t.en.body.html", {"name": "<b>&"}) == "<p>&lt;b&gt;&amp;</p>"
    assert renderer.render("t.en.body.txt", {"name": "<b>&"}) == "<b>&"


def test_shipped_romanian_templates_use_comma_below() -> None:
    for path in TEMPLATES.glob("*.ro.*"):
        text = path.read_text(encoding="utf-8")
        assert not set(text) & {"\u015f", "\u0163", "\u015e", "\u0162"}, path.name


def test_every_category_has_a_set_in_both_languages() -> None:
    for category in ("inquiry", "complaint", "meeting"):
        for lang in ("en", "ro"):
            for part in ("subject.txt", "body.txt"):
                assert (TEMPLATES / f"{category}.{lang}.{part}").is_file()


def test_reply_html_escapes_client_text_exactly_once() -> None:
    from datetime import UTC, datetime

    from inboxops import config
    from inboxops.intake.parse import parse_message
    from inboxops.models import Classification
    from inboxops.responders import ReplyResponder

    raw = (b"From: =?utf-8?q?Ana_=3Cb=3E_&_Co?= <ana@client.example>\r\n"
           b"Subject: Price of <b>bold</b> item?\r\nMessage-ID: <h1@client.example>\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
           b"How much is it? <script>alert(1)</script> & more\r\n")
    parsed = parse_message(raw)
    responder = ReplyResponder(config.default(), Renderer(TEMPLATES))
    draft = responder.draft(parsed, Classification("inquiry", 0.9, []), [], datetime.now(UTC))
    assert draft.html is not None
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in draft.html
    assert "&amp;lt;" not in draft.html and "<script>" not in draft.html
    assert "Dear Ana &lt;b&gt; &amp; Co," in draft.html
    assert "Dear Ana <b> & Co," in draft.text  # plain text is not escaped


@pytest.mark.parametrize(("language", "said"), [("en", "On {when}, {who} wrote:"),
                                                 ("ro", "Pe {when}, {who} a scris:")])
def test_html_reply_says_who_wrote_the_quote_as_the_text_does(language: str, said: str) -> None:
    """The attribution line above the quote, in both parts and both languages, escaped once
    in HTML (issue 12, item 14)."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from inboxops import config
    from inboxops.intake.parse import parse_message
    from inboxops.models import Classification
    from inboxops.responders import MeetingResponder, ReplyResponder
    from inboxops.responders.base import base_context

    raw = (b"From: =?utf-8?q?Ana_=3Cb=3E_&_Co?= <ana@client.example>\r\n"
           b"Subject: Price?\r\nMessage-ID: <h2@client.example>\r\n"
           b"Date: Tue, 24 Nov 2026 10:00:00 +0200\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
           b"How much is it? Could we meet on Thursday at 11?\r\n")
    parsed = replace(parse_message(raw), language=language)
    cfg = config.default()
    when = base_context(parsed, cfg)["original_date"]
    assert when
    renderer = Renderer(REPO / "templates")
    now = datetime(2026, 11, 24, 9, tzinfo=UTC)
    for category in ("inquiry", "complaint", "meeting"):
        responder = (MeetingResponder if category == "meeting" else ReplyResponder)(cfg, renderer)
        draft = responder.draft(parsed, Classification(category, 0.9, []), [], now)  # type: ignore[arg-type]
        assert said.format(when=when, who="Ana <b> & Co") in draft.text, category
        assert draft.html is not None
        line = said.format(when=when, who="Ana &lt;b&gt; &amp; Co")
        assert f"<p>{line}</p>\n<blockquote>" in draft.html, (category, draft.html)
