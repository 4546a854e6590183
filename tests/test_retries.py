"""Passing faults are retried, never quarantined: a full disk, a broken template, a bug in one
stage leave the client's message `retrying` (shown in status and the digest), and once the
cause is fixed a draft appears without a human step. Text extraction survives a numeric HTML
entity with thousands of digits, and a 100 KB inquiry still gets a draft (its quote trimmed)."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from configs import maildir_config
from helpers import cli
from mailfactory import client_mail

from inboxops.config import Config, load
from inboxops.defaults import TEMPLATES
from inboxops.errors import ParseError
from inboxops.responders.render import MAX_OUTPUT
from inboxops.service import digest, status, triage
from inboxops.service.pipeline import Pipeline
from inboxops.store import Store

INQUIRY = "Hello, do you have the blue kettle in stock? How much does it cost? Thank you."


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def office(tmp_path: Path) -> Iterator[tuple[Config, Store, Pipeline, Clock]]:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    config = maildir_config(tmp_path)
    config.write_text(config.read_text().replace(str(TEMPLATES), str(templates)))
    cfg = load(config)
    store = Store(cfg.store.path)
    clock = Clock()
    pipeline = Pipeline(cfg, store, clock)
    yield cfg, store, pipeline, clock
    pipeline.close()


def state(store: Store, pk: int) -> dict[str, Any]:
    return store.require("messages", pk)


def n_drafts(store: Store) -> int:
    row = store.one("SELECT count(*) AS n FROM drafts")
    assert row is not None
    return int(row["n"])


def test_a_broken_template_retries_until_fixed(
    office: tuple[Config, Store, Pipeline, Clock]
) -> None:
    cfg, store, pipeline, clock = office
    body = Path(cfg.replies.templates) / "inquiry.en.body.txt"
    good = body.read_text()
    body.write_text(good + "{{ client_name | no_such_filter }}\n")  # the typo
    pk = store.record_incoming("maildir:x", "INBOX", "k1", client_mail(body=INQUIRY))
    assert pk is not None
    pipeline.process_pending()
    row = state(store, pk)
    assert (row["state"], row["attempts"]) == ("retrying", 1)
    assert "inquiry.en.body.txt" in row["error"] and n_drafts(store) == 0
    assert "1 retrying after a failure that can pass" in status.format_text(
        status.report(store, cfg, clock.now), cfg, clock.now)
    _subject, text, html = digest.render(store, cfg, clock.now)
    assert f"message #{pk} is not processed yet, retrying (attempt 1" in text
    assert html is not None and f"message #{pk} is not processed yet" in html

    pipeline.process_pending()  # not due yet: left alone
    assert state(store, pk)["attempts"] == 1
    clock.now += timedelta(minutes=2)
    pipeline.process_pending()  # due, still broken: a longer wait
    row = state(store, pk)
    assert (row["state"], row["attempts"]) == ("retrying", 2)
    assert row["next_attempt_at"] >= (clock.now + timedelta(minutes=5)).isoformat(
        timespec="seconds")

    body.write_text(good)  # the assistant fixes the typo; nobody touches the message
    pipeline.renderer.env.cache.clear()  # type: ignore[union-attr]
    clock.now += timedelta(minutes=6)
    pipeline.process_pending()
    assert state(store, pk)["state"] == "processed" and n_drafts(store) == 1


def test_a_full_disk_is_not_quarantined_and_the_draft_comes_after(
    office: tuple[Config, Store, Pipeline, Clock]
) -> None:
    _cfg, store, pipeline, clock = office
    pk = store.record_incoming("maildir:x", "INBOX", "k1", client_mail(body=INQUIRY * 40))
    assert pk is not None
    pages = store.one("PRAGMA page_count")
    assert pages is not None
    # SQLITE_FULL, as a full disk gives it: the database may not grow by one page.
    store.conn.execute(f"PRAGMA max_page_count = {next(iter(pages.values()))}")
    pipeline.process_pending()
    assert state(store, pk)["state"] in ("received", "retrying")  # never quarantined
    assert n_drafts(store) == 0
    store.conn.execute("PRAGMA max_page_count = 1073741823")  # space freed
    clock.now += timedelta(minutes=2)
    pipeline.process_pending()
    assert state(store, pk)["state"] == "processed" and n_drafts(store) == 1


def test_a_bug_in_one_stage_is_retried(
    office: tuple[Config, Store, Pipeline, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    _cfg, store, pipeline, clock = office
    pk = store.record_incoming("maildir:x", "INBOX", "k1", client_mail(body=INQUIRY))
    assert pk is not None
    responder = pipeline.responders["inquiry"]
    real = responder.draft
    monkeypatch.setattr(responder, "draft", lambda *_a: 1 / 0)
    pipeline.process_pending()
    row = state(store, pk)
    assert row["state"] == "retrying" and "ZeroDivisionError" in row["error"]
    monkeypatch.setattr(responder, "draft", real)
    clock.now += timedelta(minutes=2)
    pipeline.process_pending()
    assert state(store, pk)["state"] == "processed" and n_drafts(store) == 1


@pytest.mark.parametrize("digits", [2000, 5000, 50000])
def test_a_huge_numeric_entity_does_not_stop_a_draft(
    office: tuple[Config, Store, Pipeline, Clock], digits: int
) -> None:
    _cfg, store, pipeline, _clock = office
    msg = EmailMessage()
    msg["From"], msg["To"] = "Ana <ana@client.example>", "office@example.test"
    msg["Subject"], msg["Message-ID"] = "Kettle price", "<e@client.example>"
    msg.set_content(f"<p>{INQUIRY} &#{'9' * digits}; &#x{'f' * digits};</p>", subtype="html")
    pk = store.record_incoming("maildir:x", "INBOX", "k1", bytes(msg))
    assert pk is not None
    pipeline.process_pending()
    row = state(store, pk)
    assert row["state"] == "processed" and "\ufffd" in row["text"]
    assert n_drafts(store) == 1


def test_a_100_kb_inquiry_gets_a_draft_with_its_quote_trimmed(
    office: tuple[Config, Store, Pipeline, Clock]
) -> None:
    _cfg, store, pipeline, _clock = office
    # Its own long text, full of characters HTML escapes: quoted whole, it would pass the
    # renderer's output cap.
    body = INQUIRY + "\n\n" + "\n".join(f"kettle & <lid> & R&D {i}" for i in range(4500))
    raw = client_mail(body=body)
    assert len(raw) > 100_000
    pk = store.record_incoming("maildir:x", "INBOX", "k1", raw)
    assert pk is not None
    pipeline.process_pending()
    assert state(store, pk)["state"] == "processed"
    [draft] = store.query("SELECT body_text, body_html FROM drafts")
    assert "[...]" in draft["body_text"] and len(draft["body_html"]) < MAX_OUTPUT // 4


def test_the_daemon_picks_the_message_up_again_once_the_template_is_fixed(
    tmp_path: Path
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    config = maildir_config(tmp_path)
    config.write_text(config.read_text().replace(str(TEMPLATES), str(templates)))
    for sub in ("cur", "new", "tmp"):
        (tmp_path / "mail" / sub).mkdir(parents=True, exist_ok=True)
    body = templates / "inquiry.en.body.txt"
    good = body.read_text()
    body.write_text(good + "{% if %}\n")  # a syntax error
    (tmp_path / "mail" / "new" / "1.test").write_bytes(client_mail(body=INQUIRY))
    cli(config, "run", "--once")
    db = sqlite3.connect(tmp_path / "inboxops.db")
    assert db.execute("SELECT state FROM messages").fetchall() == [("retrying",)]
    assert "retrying" in cli(config, "status")
    body.write_text(good)
    with db:  # the wait runs out
        db.execute("UPDATE messages SET next_attempt_at = '2000-01-01T00:00:00+00:00'")
    cli(config, "run", "--once")
    assert db.execute("SELECT state FROM messages").fetchall() == [("processed",)]
    assert db.execute("SELECT count(*) FROM drafts").fetchone() == (1,)


def test_a_classifier_that_fails_in_the_worker_means_retry_not_quarantine(
    office: tuple[Config, Store, Pipeline, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Classification runs in the parser processes (service.triage): a bug there comes back as
    an error to retry, unlike bytes that cannot be parsed."""
    cfg, _store, _pipeline, _clock = office
    triage.start(triage.Setup.of(cfg))  # as the pool's initializer does in a worker
    chain = triage._Worker.chain
    assert chain is not None
    monkeypatch.setattr(chain, "classify", lambda _m: 1 / 0)
    result = triage.triage(client_mail(body=INQUIRY))
    assert result.decision is None and result.error and "ZeroDivisionError" in result.error
    with pytest.raises(ParseError):
        triage.triage(b"\r\n\r\n")  # not a message: raised, and the pool quarantines it
