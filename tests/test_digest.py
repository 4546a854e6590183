"""The manager's digest against real servers: an office mailbox in Dovecot, replies and the
digest through aiosmtpd. The store is built by the real pipeline from known mail; only times
are moved back in SQL (a message "received 30 hours ago"), as a clock cannot be waited out."""

from __future__ import annotations

import email
import re
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from configs import MANAGER, STAFF, base_sections, imap_config, write_config
from helpers import cli, drafts, drop, running_daemon, stop, wait_until
from mailfactory import calendar_answer, client_mail

from inboxops.defaults import TEMPLATES

TZ = ZoneInfo("Europe/Bucharest")
WORDS = {  # what each language must say, so a test can fail on a wrong or missing count
    "en": {"total": "6 message(s) came in", "inquiry": "Inquiries", "complaint": "Complaints",
           "meeting": "Meeting requests", "other": "Other",
           "answers": "(of which 1 calendar answer(s), not meeting requests)",
           "pending": "Drafts waiting for approval, oldest first: 2",
           "overdue": "Complaints without an approved reply after 24 h: 1",
           "tomorrow": "Meetings tomorrow: 1", "accepted": f"accepted: {STAFF}",
           "waiting": "no answer: bob@client.example", "failed": "is failed: SMTP 550",
           "mailbox": "mailbox: IMAP login", "subject": "6 new, 2 awaiting approval, "
           "1 complaint(s) overdue"},
    "ro": {"total": "au sosit 6 mesaj(e)", "inquiry": "Cereri de informații",
           "complaint": "Reclamații", "meeting": "Cereri de întâlnire", "other": "Altele",
           "answers": "(dintre care 1 răspuns(uri) din calendar, nu cereri de întâlnire)",
           "pending": "Ciorne care așteaptă aprobarea, cele mai vechi întâi: 2",
           "overdue": "Reclamații fără răspuns aprobat după 24 de ore: 1",
           "tomorrow": "Întâlniri mâine: 1", "accepted": f"au acceptat: {STAFF}",
           "waiting": "fără răspuns: bob@client.example", "failed": "este eșuat: SMTP 550",
           "mailbox": "căsuța de e-mail: IMAP login", "subject": "6 noi, 2 de aprobat, "
           "1 reclamație(i) întârziată(e)"},
}


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=default)  # type: ignore[return-value]


def build_office(tmp_path: Path, imap_user: Any, smtp_sink: Any, language: str) -> Path:
    """An office with known content: 2 inquiries (one refused by the server), 2 complaints
    (one answered, one 30 h old and unanswered), a meeting tomorrow with one acceptance, and a
    failed IMAP login in the event log."""
    dovecot, office = imap_user.dovecot, imap_user.address
    config = imap_config(tmp_path, imap_user, smtp_sink)
    config.write_text(config.read_text().replace(
        "enabled = false", f'enabled = false\nlanguage = "{language}"'))
    dovecot.append(office, client_mail(to=office, sender="Ana <ana@client.example>",
                                       subject="Question about prices",
                                       body="Hello, could you please send me your price list?"))
    dovecot.append(office, client_mail(to=office, sender="Dan <dan@client.example>",
                                       subject="Question about delivery times",
                                       body="Hello, how long does delivery to Cluj take?"))
    dovecot.append(office, client_mail(
        to=office, sender="Eve <eve@client.example>", subject="Complaint: <b>broken</b> delivery",
        body="The parcel arrived broken and damaged. This is unacceptable, I want a refund."))
    dovecot.append(office, client_mail(
        to=office, sender="Gil <gil@client.example>", subject="Complaint: wrong invoice",
        body="Your invoice is wrong, I am very disappointed and I want a refund."))
    dovecot.append(office, client_mail(
        to=office, sender="Bob <bob@client.example>", subject="Meeting request",
        body="Could we schedule a meeting next Tuesday at 3pm?"))
    cli(config, "run", "--once")
    by_subject = {d["subject"]: d for d in drafts(config)}
    assert len(by_subject) == 5, by_subject.keys()

    db = sqlite3.connect(tmp_path / "inboxops.db")
    now = datetime.now(UTC)
    long_ago = (now - timedelta(hours=30)).isoformat(timespec="seconds")
    three_days = (now - timedelta(days=3)).isoformat(timespec="seconds")
    tomorrow = datetime.now(TZ).date() + timedelta(days=1)
    start = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 10, 0, tzinfo=TZ)
    with db:
        db.execute("UPDATE messages SET received_at = ? WHERE subject LIKE 'Complaint%'",
                   (long_ago,))
        db.execute("UPDATE drafts SET created_at = ? WHERE category = 'complaint'", (long_ago,))
        db.execute("UPDATE messages SET received_at = ? WHERE subject = 'Question about prices'",
                   (three_days,))
        db.execute('UPDATE meetings SET start = ?, "end" = ?',
                   (start.isoformat(), (start + timedelta(hours=1)).isoformat()))
    cli(config, "approve", str(by_subject["Re: Complaint: wrong invoice"]["id"]))
    cli(config, "approve", str(by_subject["Re: Meeting request"]["id"]))
    assert smtp_sink.wait_for(3)
    smtp_sink.refuse_next.append("550 5.7.1 Mailbox unavailable")
    cli(config, "approve", str(by_subject["Re: Question about prices"]["id"]))

    (uid,) = db.execute("SELECT uid FROM meetings").fetchone()
    dovecot.append(office, calendar_answer(uid, STAFF, "ACCEPTED", office))
    cli(config, "run", "--once")
    db.close()
    _failed_login(tmp_path, config)
    return config


def _failed_login(tmp_path: Path, config: Path) -> None:
    """The IMAP watcher meets a refused login, as with a changed password: it is recorded."""
    from inboxops import config as config_module
    from inboxops.intake.imap import ImapSource
    from inboxops.store import Store

    cfg = config_module.load(config)
    wrong = tmp_path / "wrong-password"
    wrong.write_text("not-the-password\n")
    cfg.mailbox.password_file = wrong
    stop = threading.Event()

    def watch() -> None:  # as the daemon's watcher thread does, with its own connection
        ImapSource(cfg.mailbox).watch(Store(cfg.store.path), stop, lambda n: None)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        wait_until(lambda: Store(cfg.store.path).one(
            "SELECT 1 FROM events WHERE entity = 'mailbox'"))
    finally:
        stop.set()
        watcher.join(30)


def chart_rows(html: str) -> dict[str, list[str]]:
    """The 14-day chart: each day's label and the titles of its bar segments."""
    rows = re.findall(r'<td width="88"[^>]*>([^<]*)</td>(.*?)</tr>', html, re.S)
    return {label: re.findall(r'title="([^"]*)"', cells) for label, cells in rows}


@pytest.mark.parametrize("language", ["en", "ro"])
def test_digest_arrives_with_the_right_counts_and_chart(
    tmp_path: Path, imap_user: Any, smtp_sink: Any, language: str
) -> None:
    config = build_office(tmp_path, imap_user, smtp_sink, language)
    before = len(smtp_sink.messages)

    cli(config, "digest", "--send-now")

    assert smtp_sink.wait_for(before + 1)
    (sent,) = [m for m in smtp_sink.messages if m["rcpt_tos"] == [MANAGER]]
    mime = parse(sent["data"])
    words = WORDS[language]
    assert mime["Auto-Submitted"] == "auto-generated"
    assert mime.get_content_type() == "multipart/alternative"
    assert words["subject"] in mime["Subject"]
    text = mime.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    html = mime.get_body(("html",)).get_content()  # type: ignore[union-attr]

    assert words["total"] in text
    for key, count in (("inquiry", 2), ("complaint", 2), ("meeting", 1)):
        assert re.search(rf"^  {words[key]}\s+{count}$", text, re.M), (key, text)
    # The staff member's calendar answer is no meeting request (issue 12, item 14).
    assert re.search(rf"^  {words['other']}\s+1 {re.escape(words['answers'])}$", text, re.M)
    assert words["answers"] in html
    for key in ("pending", "overdue", "tomorrow", "accepted", "waiting", "failed", "mailbox"):
        assert words[key] in text, (key, text)
    # Oldest first: the 30-hour-old complaint's draft before the fresh inquiry's.
    assert text.index("Complaint: <b>broken</b> delivery (") < text.index(
        "Question about delivery times (")
    assert "wrong invoice" not in text.split(words["overdue"])[1].split("\n\n")[0]

    # The HTML: the same facts, client text escaped, the overdue complaint highlighted, and a
    # chart of table cells with inline colours: no stylesheet, no image, nothing external.
    assert "Complaint: &lt;b&gt;broken&lt;/b&gt; delivery" in html and "<b>broken" not in html
    highlighted = re.search(r'<td bgcolor="#fdecea"[^>]*>\s*<strong>([^<]*)</strong>', html)
    assert highlighted and "broken" in highlighted.group(1)
    assert not re.search(r"<style|<link|<img|<script|url\(|src=|https?://", html, re.I)
    rows = chart_rows(html)
    assert len(rows) == 14
    today = datetime.now(TZ).date()
    complaint_day = (datetime.now(UTC) - timedelta(hours=30)).astimezone(TZ).date()
    counts_by_day: dict[Any, list[str]] = {}
    for offset in range(14):
        day = today - timedelta(days=offset)
        counts_by_day.setdefault(day, [])
    counts_by_day[today - timedelta(days=3)].append(f"{words['inquiry']}: 1")
    counts_by_day[complaint_day].append(f"{words['complaint']}: 2")
    labels = list(rows)
    assert labels[-1].split()[1] == str(today.day)  # the last row is today
    for i, label in enumerate(labels):
        day = today - timedelta(days=13 - i)
        assert label.split()[1] == str(day.day)
        for title in counts_by_day[day]:
            assert title in rows[label], (label, rows[label])
    today_titles = rows[labels[-1]]
    assert f"{words['inquiry']}: 1" in today_titles and f"{words['meeting']}: 1" in today_titles
    assert f"{words['other']}: 1" in today_titles  # the calendar answer

    # The next digest counts from this one, and tells old failures no more.
    cli(config, "digest", "--send-now")
    assert smtp_sink.wait_for(before + 2)
    again = parse([m for m in smtp_sink.messages if m["rcpt_tos"] == [MANAGER]][1]["data"])
    text = again.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert words["total"].replace("6", "0") in text
    assert words["failed"] not in text and words["mailbox"] not in text
    assert words["overdue"] in text  # still late: still listed


def test_restart_across_digest_time_sends_it_once_and_never_again(
    tmp_path: Path, imap_user: Any, smtp_sink: Any
) -> None:
    """Down at digest time: sent on return (within the grace); a second restart sends nothing;
    and a return after the grace sends nothing for that day."""
    config = imap_config(tmp_path, imap_user, smtp_sink)

    def set_digest_time(delta: timedelta, grace: int = 6) -> None:
        at = (datetime.now(TZ) + delta).strftime("%H:%M")
        text = re.sub(r"\[digest\].*?(?=\n\[|\Z)", "", config.read_text(), flags=re.S)
        config.write_text(text + f'\n[digest]\nto = ["{MANAGER}"]\ntime = "{at}"\n'
                                 f"enabled = true\ngrace_hours = {grace}\n")

    def digests() -> list[Any]:
        return [m for m in smtp_sink.messages if m["rcpt_tos"] == [MANAGER]]

    def run_for_a_while(subject: str) -> None:
        """Start, see the daemon do a full pass on new mail (its start-up chores have run by
        then), give the chores a moment more, stop."""
        imap_user.dovecot.append(imap_user.address, client_mail(
            to=imap_user.address, subject=subject))
        with running_daemon(config) as proc:
            wait_until(lambda: any(d["subject"] == f"Re: {subject}" for d in drafts(config)))
            time.sleep(2)
            assert stop(proc) == 0

    set_digest_time(timedelta(hours=2))  # before digest time: nothing
    run_for_a_while("Question one")
    assert digests() == []
    set_digest_time(timedelta(minutes=-3))  # the time passed while the daemon was down
    with running_daemon(config) as proc:
        wait_until(digests)
        assert stop(proc) == 0
    run_for_a_while("Question two")  # a restart the same day
    assert len(digests()) == 1
    assert parse(digests()[0]["data"])["Auto-Submitted"] == "auto-generated"


def test_a_return_after_the_grace_sends_no_digest_for_that_day(tmp_path: Path) -> None:
    sections = base_sections(tmp_path)
    at = (datetime.now(TZ) - timedelta(hours=3)).strftime("%H:%M")
    sections["digest"] = {"to": [MANAGER], "time": at, "enabled": True, "grace_hours": 2}
    sections["mailbox"] = {"kind": "maildir", "path": str(tmp_path / "mail"), "sort": "off"}
    sections["smtp"] = {"kind": "outbox-dir", "path": str(tmp_path / "outbox"),
                        "from": "Office <office@example.test>"}
    config = write_config(tmp_path / "config.toml", sections)
    drop(tmp_path / "mail", "1700000060.M1P1.test", client_mail())
    cli(config, "run", "--once")
    assert drafts(config)
    assert list((tmp_path / "outbox").glob("*-digest-*.eml")) == []
    sections["digest"]["grace_hours"] = 4  # the same return, within a longer grace
    write_config(tmp_path / "config.toml", sections)
    cli(config, "run", "--once")
    cli(config, "run", "--once")
    assert len(list((tmp_path / "outbox").glob("*-digest-*.eml"))) == 1


def test_digest_command_previews_text_and_html_without_sending(tmp_path: Path) -> None:
    sections = base_sections(tmp_path)
    sections["mailbox"] = {"kind": "maildir", "path": str(tmp_path / "mail"), "sort": "off"}
    sections["smtp"] = {"kind": "outbox-dir", "path": str(tmp_path / "outbox"),
                        "from": "Office <office@example.test>"}
    config = write_config(tmp_path / "config.toml", sections)
    drop(tmp_path / "mail", "1700000070.M1P1.test", client_mail())
    cli(config, "run", "--once")
    out = cli(config, "digest", "--html", str(tmp_path / "digest.html"))
    assert "1 message(s) came in" in out
    html = (tmp_path / "digest.html").read_text()
    assert len(chart_rows(html)) == 14 and "Inquiries: 1" in html
    assert list((tmp_path / "outbox").glob("*.eml")) == []  # a preview sends nothing


def test_check_renders_the_digest_templates(tmp_path: Path) -> None:
    """Templates copied before an upgrade may lack what the digest needs: check says so."""
    import shutil

    from helpers import invoke

    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    sections = base_sections(tmp_path)
    sections["replies"]["templates"] = str(templates)
    sections["digest"]["language"] = "ro"
    sections["mailbox"] = {"kind": "maildir", "path": str(tmp_path / "mail")}
    sections["smtp"] = {"kind": "outbox-dir", "path": str(tmp_path / "outbox"),
                        "from": "Office <office@example.test>"}
    config = write_config(tmp_path / "config.toml", sections)
    result = invoke(config, "check")
    assert result.exit_code == 0 and "digest: ok: digest (ro)" in result.output, result.output
    (templates / "digest.ro.body.txt").write_text("{{ ageing_days }} days\n")  # an old variable
    result = invoke(config, "check")
    assert result.exit_code == 1
    assert "templates: FAILED: digest (ro): template digest.ro.body.txt" in result.output
