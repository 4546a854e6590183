"""Render the HTML digest of a demo office with headless Chromium: docs/digest.png.

    python docs/make_screenshot.py [--language en|ro] [--out docs/digest.png] [--html FILE]

The demo store is built by the real pipeline from invented client mail (two weeks of it, with
times moved back), plus a meeting with answers and one refused reply. Only this script needs
Chromium (`apt-get install chromium`); the tests and CI do not.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from inboxops import config  # noqa: E402
from inboxops.defaults import TEMPLATES  # noqa: E402
from inboxops.service.digest import render  # noqa: E402
from inboxops.service.pipeline import Pipeline  # noqa: E402
from inboxops.store import Store  # noqa: E402

PEOPLE = ["Ana Popescu", "Mihai Ionescu", "Elena Dumitrescu", "Radu Stan", "Ioana Marin",
          "Paul Georgescu", "Maria Tudor", "Andrei Pop", "Laura Neagu", "Victor Lazăr"]
MAIL = {  # invented demo text, one line each
    "inquiry": [("Question about prices", "Hello, could you please send me your price list?"),
                ("Opening hours", "Hello, what are your opening hours on Saturday?"),
                ("Order 4471 status", "Hello, could you tell me when order 4471 will ship?")],
    "complaint": [("Damaged parcel", "The parcel arrived broken and damaged. This is "
                   "unacceptable, I want a refund."),
                  ("Wrong invoice", "Your invoice is wrong, I am very disappointed and I want "
                   "a refund.")],
    "meeting": [("Meeting request", "Could we schedule a meeting next Tuesday at 3pm?")],
}


def mail(name: str, subject: str, body: str) -> bytes:
    msg = EmailMessage(policy=SMTP)
    addr = name.split()[0].lower().replace("ă", "a") + "@client.example"
    msg["From"] = f"{name} <{addr}>"
    msg["To"] = "office@example.com"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="client.example")
    msg.set_content(body)
    return msg.as_bytes()


def demo_store(folder: Path, language: str) -> tuple[Store, config.Config]:
    """Two weeks of an office's mail, processed by the real pipeline."""
    cfg = config.default()
    cfg.store.path = folder / "demo.db"
    cfg.replies.templates = TEMPLATES
    cfg.replies.company = "Example Office"
    cfg.digest.language = language  # type: ignore[assignment]
    store = Store(cfg.store.path)
    rng = random.Random(7)
    now = datetime.now(UTC)
    backdate: list[tuple[int, datetime]] = []
    for day in range(13, -1, -1):
        for _ in range(rng.randint(2, 9) if day % 7 not in (1, 2) else rng.randint(0, 2)):
            category = rng.choices(list(MAIL), weights=[6, 2, 1])[0]
            subject, body = rng.choice(MAIL[category])
            pk = store.record_incoming("demo", "INBOX", make_msgid(),
                                       mail(rng.choice(PEOPLE), subject, body))
            assert pk is not None
            backdate.append((pk, now - timedelta(days=day, hours=rng.uniform(0, 8))))
    Pipeline(cfg, store).process_pending(limit=1000)
    with store.tx():
        for pk, at in backdate:
            store.conn.execute("UPDATE messages SET received_at = ? WHERE id = ?",
                               (at.isoformat(timespec="seconds"), pk))
            store.conn.execute("UPDATE drafts SET created_at = ? WHERE message_pk = ?",
                               (at.isoformat(timespec="seconds"), pk))
        # Most drafts were answered; the recent ones and two old complaints still wait.
        store.conn.execute(
            "UPDATE drafts SET state = 'sent' WHERE created_at < ? AND NOT (category = "
            "'complaint' AND id IN (SELECT id FROM drafts WHERE category = 'complaint' ORDER "
            "BY id DESC LIMIT 2 OFFSET 3))", ((now - timedelta(hours=20)).isoformat(),))
        store.conn.execute(  # the last digest went out yesterday morning
            "INSERT INTO digests VALUES ('yesterday', ?, NULL)",
            ((now - timedelta(hours=24)).isoformat(timespec="seconds"),))
        tz = ZoneInfo(cfg.meetings.timezone)
        tomorrow = datetime.now(tz).date() + timedelta(days=1)
        for hour, answers, state in (
            (11, {"ana@client.example": "ACCEPTED", "manager@example.com": "ACCEPTED"},
             "invited"),
            (15, {"radu@client.example": "NEEDS-ACTION", "manager@example.com": "DECLINED"},
             "invited"),
        ):
            start = datetime(tomorrow.year, tomorrow.month, tomorrow.day, hour, tzinfo=tz)
            store.conn.execute(
                'INSERT INTO meetings (message_pk, uid, start, "end", timezone, from_client,'
                " alternatives, location, summary, client_addr, client_name, staff, attendees,"
                " state, created_at) VALUES (1, ?, ?, ?, ?, 1, '[]', 'Office', ?, ?, '', '[]',"
                " ?, ?, ?)",
                (make_msgid(), start.isoformat(), (start + timedelta(hours=1)).isoformat(),
                 cfg.meetings.timezone, "Meeting with Example Office", next(iter(answers)),
                 json.dumps(answers), state, now.isoformat()))
        cur = store.conn.execute(
            "INSERT INTO outbox (kind, message_id, mail_from, rcpts, raw, state, last_error,"
            " created_at) VALUES ('reply', ?, 'office@example.com', ?, x'', 'failed',"
            " 'SMTP 550 5.1.1 mailbox unavailable', ?)",
            (make_msgid(), json.dumps(["paul@client.example"]), now.isoformat()))
        store.event("outbox", cur.lastrowid, "failed", "SMTP 550 5.1.1 mailbox unavailable")
    return store, cfg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", default="en", choices=["en", "ro"])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "digest.png")
    parser.add_argument("--html", type=Path, help="also keep the rendered HTML here")
    parser.add_argument("--height", type=int, default=1540)
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which(
        "google-chrome")
    if browser is None:
        sys.exit("Chromium not found: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as tmp:
        store, cfg = demo_store(Path(tmp), args.language)
        _, _, html = render(store, cfg, datetime.now(UTC))
        page = Path(tmp) / "digest.html"
        page.write_text(html or "", encoding="utf-8")
        if args.html:
            shutil.copy(page, args.html)
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--screenshot={args.out.resolve()}", f"--window-size=720,{args.height}",
             page.as_uri()],
            check=True, capture_output=True, timeout=120,
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
