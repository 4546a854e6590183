"""Screenshots of the assistant's page with headless Chromium: docs/web-queue-en.png (the queue
in English) and docs/web-draft-ro.png (one Romanian draft beside its original, in Romanian).

    python docs/make_web_screenshots.py

A throwaway store is filled by the real pipeline from invented client mail; the page is the
real server. Needs Debian's chromium and chromium-driver (nothing is downloaded).
"""

from __future__ import annotations

import os
import re
import socket
import sys
import tempfile
import time
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

from inboxops import config  # noqa: E402
from inboxops.defaults import TEMPLATES  # noqa: E402
from inboxops.service.pipeline import Pipeline  # noqa: E402
from inboxops.store import Store  # noqa: E402
from inboxops.web import start_in_thread  # noqa: E402
from inboxops.web.auth import set_password  # noqa: E402

MAIL = [  # invented demo text
    ("Ana Popescu", "Question about prices", "Hello, could you please send me your price list "
     "for the annual maintenance contract? Thank you, Ana", None),
    ("Mihai Ionescu", "Reclamație comanda 5512", "Bună ziua,\n\nProdusul din comanda 5512 a "
     "ajuns stricat și nu funcționează. Sunt foarte nemulțumit și aștept o soluție.\n\nMihai",
     "<p>Bună ziua,</p><p>Produsul din comanda <b>5512</b> a ajuns stricat și nu "
     "funcționează. Sunt foarte nemulțumit și aștept o soluție.</p><p>Mihai</p>"),
    ("Elena Dumitrescu", "Meeting request", "Could we schedule a meeting next Tuesday at 3pm "
     "to discuss the offer?", None),
    ("Radu Stan", "Order 4471 status", "Hello, could you tell me when order 4471 will ship?",
     None),
    ("Ioana Marin", "Întrebare despre program", "Bună ziua, care este programul vostru de "
     "sâmbătă? Mulțumesc, Ioana", None),
    ("Paul Georgescu", "Damaged parcel", "The parcel arrived broken and damaged. This is "
     "unacceptable, I want a refund.", None),
]


def mail(name: str, subject: str, body: str, html: str | None) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"{name} <{name.split()[0].lower()}@client.example>"
    msg["To"] = "office@example.com"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="client.example")
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


def browser(lang: str, profile: str) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                 "--window-size=1400,900", "--hide-scrollbars", f"--lang={lang}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": lang})
    os.environ.setdefault("SE_OFFLINE", "true")
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = config.default()
        cfg.store.path = Path(tmp) / "inboxops.db"
        cfg.replies.templates = TEMPLATES
        cfg.replies.company = "Birou Exemplu"
        cfg.web.users_file = Path(tmp) / "users"
        cfg.web.secret_file = Path(tmp) / "secret"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            cfg.web.port = s.getsockname()[1]
        store = Store(cfg.store.path)
        for i, item in enumerate(MAIL):
            store.record_incoming("demo", "INBOX", str(i), mail(*item))
        pipeline = Pipeline(cfg, store)
        pipeline.process_pending()
        pipeline.close()
        set_password(cfg.web.users_file, "ana", "demo password")
        running = start_in_thread(cfg)
        while not running.started:
            time.sleep(0.02)
        url = f"http://127.0.0.1:{cfg.web.port}"
        try:
            for lang, path, out in (("en", "/", "web-queue-en.png"),
                                    ("ro", None, "web-draft-ro.png")):
                driver = browser(lang, str(Path(tmp) / f"profile-{lang}"))
                try:
                    driver.get(url + "/login")
                    driver.find_element(By.NAME, "user").send_keys("ana")
                    driver.find_element(By.NAME, "password").send_keys("demo password\n")
                    time.sleep(0.5)
                    if path is None:
                        draft = store.one("SELECT id FROM drafts WHERE subject LIKE "
                                          "'%5512%' AND state = 'pending'")
                        assert draft, "the demo complaint was not drafted"
                        path = f"/drafts/{draft['id']}"
                    driver.get(url + path)
                    time.sleep(1.0)
                    if lang == "en":
                        driver.find_element(By.TAG_NAME, "body").send_keys("j")
                    driver.save_screenshot(str(REPO / "docs" / out))
                    print(f"docs/{out}: {re.sub(r'<[^>]+>', '', driver.title)}")
                finally:
                    driver.quit()
        finally:
            running.stop()


if __name__ == "__main__":
    main()
