"""The assistant's page in a real browser: Debian's headless Chromium driven by Selenium
(chromium-driver from apt; nothing is downloaded), against a real Dovecot and aiosmtpd, with
`inboxops web` running as its own process as an assistant would start it."""

from __future__ import annotations

import email
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import make_msgid
from pathlib import Path
from typing import Any, ClassVar

import pytest
from configs import imap_config
from helpers import cli, drafts, wait_until
from mailfactory import client_mail
from mailservers import free_port
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from inboxops import config as config_mod
from inboxops.store import Store

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PASSWORD = "assistant password 1"


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """One headless Chromium for the module; each test starts without cookies."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            pytest.fail(f"{path} missing: apt-get install -y chromium chromium-driver",
                        pytrace=False)
    profile = tempfile.mkdtemp(prefix="inboxops-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not fetch anything
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Page:
    """`inboxops web` as a process, and the browser pointed at it."""

    def __init__(self, driver: WebDriver, config: Path, log: Path) -> None:
        self.driver = driver
        self.config = config
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "inboxops", "--config", str(config), "web",
             "--port", str(self.port)], stdout=self.log, stderr=subprocess.STDOUT,
        )
        wait_until(self._up, timeout=20)
        driver.delete_all_cookies()

    def _up(self) -> bool:
        import socket

        if self.proc.poll() is not None:
            raise AssertionError(f"inboxops web exited {self.proc.returncode}")
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self.log.close()

    def go(self, path: str) -> None:
        self.driver.get(self.url + path)

    def login(self, user: str = "ana", password: str = PASSWORD) -> None:
        self.go("/login")
        self.driver.find_element(By.NAME, "user").send_keys(user)
        self.driver.find_element(By.NAME, "password").send_keys(password + Keys.ENTER)
        wait_until(lambda: "/login" not in self.driver.current_url, timeout=15)

    def key(self, key: str) -> None:
        self.driver.find_element(By.TAG_NAME, "body").send_keys(key)

    def text(self) -> str:
        """The page's text, or "" while it is being replaced (a key or form just navigated):
        callers poll it with wait_until."""
        try:
            return str(self.driver.find_element(By.TAG_NAME, "body").text)
        except (StaleElementReferenceException, NoSuchElementException):
            return ""


@pytest.fixture
def page_for(browser: WebDriver, tmp_path: Path) -> Iterator[Any]:
    pages: list[Page] = []

    def start(config: Path) -> Page:
        cli_input = PASSWORD + "\n"
        from click.testing import CliRunner

        from inboxops.cli import main

        result = CliRunner().invoke(main, ["--config", str(config), "web", "passwd", "ana",
                                           "--password-stdin"], input=cli_input)
        assert result.exit_code == 0, result.output
        page = Page(browser, config, tmp_path / f"web{len(pages)}.log")
        pages.append(page)
        return page

    try:
        yield start
    finally:
        for page in pages:
            page.stop()


def sent_messages(sink: Any) -> list[EmailMessage]:
    return [email.message_from_bytes(m["data"], policy=default)  # type: ignore[misc]
            for m in sink.messages]


def test_three_messages_become_three_drafts_to_edit_approve_reject_and_correct(
    tmp_path: Path, imap_user: Any, smtp_sink: Any, page_for: Any
) -> None:
    config = imap_config(tmp_path, imap_user, smtp_sink)
    ids = {}
    for i, subject in enumerate(["Price question", "Opening hours question", "Order question"]):
        ids[subject] = make_msgid(domain="client.example")
        imap_user.dovecot.append(imap_user.address, client_mail(
            to=imap_user.address, subject=subject, message_id=ids[subject],
            body=f"Hello, how much does product {i} cost? Could you send me the price list?"))
    cli(config, "run", "--once")
    page = page_for(config)
    page.login()
    rows = page.driver.find_elements(By.CSS_SELECTOR, "#rows tr")
    assert len(rows) == 3
    assert page.driver.find_element(By.ID, "count").text == "3"
    by_subject = {d["subject"]: d["id"] for d in drafts(config)}

    # 1. Edit, then approve with the key: the edited text goes out once, threaded.
    page.go(f"/drafts/{by_subject['Re: Price question']}")
    body = page.driver.find_element(By.ID, "body")
    body.clear()
    body.send_keys("Product 0 costs 25 euro.\nKind regards,\nThe Office")
    body.send_keys(Keys.ESCAPE)
    page.key("a")
    wait_until(lambda: "approved" in page.text().lower(), timeout=15)
    assert smtp_sink.wait_for(1, timeout=20)
    cli(config, "run", "--once")  # the daemon's pass finds nothing left to send
    time.sleep(0.5)
    (sent,) = sent_messages(smtp_sink)
    text = sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.replace("\r\n", "\n").startswith("Product 0 costs 25 euro.\nKind regards,")
    assert sent["In-Reply-To"] == ids["Price question"]
    assert ids["Price question"] in sent["References"]
    assert str(sent["Subject"]) == "Re: Price question"

    # 2. Reject another: nothing is sent.
    page.go(f"/drafts/{by_subject['Re: Opening hours question']}")
    page.key("r")
    wait_until(lambda: "rejected" in page.text().lower(), timeout=15)
    cli(config, "run", "--once")
    assert len(smtp_sink.messages) == 1

    # 3. Change the third one's category: a new draft, and the correction is learned from.
    third = by_subject["Re: Order question"]
    page.go(f"/drafts/{third}")
    page.key("c")
    select = page.driver.switch_to.active_element
    assert select.get_attribute("id") == "category"
    page.driver.execute_script("arguments[0].value = 'complaint'", select)
    page.driver.find_element(By.ID, "change-category").click()
    wait_until(lambda: f"/drafts/{third}" not in page.driver.current_url, timeout=15)
    assert "complaint" in page.driver.find_element(By.CSS_SELECTOR, ".meta .cat").text
    new = drafts(config)
    assert [d["category"] for d in new] == ["complaint"] and new[0]["id"] != third
    store = Store(config_mod.load(config).store.path)
    assert store.one("SELECT state FROM drafts WHERE id = ?", (third,)) == {"state": "superseded"}
    learned = store.query("SELECT old_category, category, origin FROM corrections")
    assert learned == [{"old_category": "inquiry", "category": "complaint", "origin": "web"}]
    assert len(smtp_sink.messages) == 1

    # Live: a new message shows up in the open queue without a reload.
    page.go("/")
    page.driver.execute_script("window.stillTheSamePage = true")
    before = len(page.driver.find_elements(By.CSS_SELECTOR, "#rows tr"))
    imap_user.dovecot.append(imap_user.address, client_mail(
        to=imap_user.address, subject="Late question",
        body="Hello, how much does the service cost? Thank you."))
    cli(config, "run", "--once")
    wait_until(lambda: len(page.driver.find_elements(By.CSS_SELECTOR, "#rows tr")) == before + 1,
               timeout=20)
    assert "Late question" in page.text()
    assert page.driver.execute_script("return window.stillTheSamePage") is True


def test_approved_on_the_page_and_in_the_mail_client_at_once_is_sent_once(
    tmp_path: Path, imap_user: Any, smtp_sink: Any, page_for: Any
) -> None:
    config = imap_config(tmp_path, imap_user, smtp_sink)
    config.write_text(config.read_text() + "[approval]\nreject_after_seconds = 0\n")
    imap_user.dovecot.append(imap_user.address, client_mail(
        to=imap_user.address, subject="Price question",
        body="Hello, how much does product 7 cost? Thank you."))
    cli(config, "run", "--once")
    (draft,) = drafts(config)
    page = page_for(config)
    page.login()
    page.go(f"/drafts/{draft['id']}")
    with imap_user.client() as client:  # the mail client's copy goes to Approved
        client.select_folder("Drafts")
        client.move(client.search("ALL"), "InboxOps/Approved")
    daemon = subprocess.Popen([sys.executable, "-m", "inboxops", "--config", str(config), "run",
                               "--once"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    page.driver.find_element(By.ID, "approve").click()  # at the same moment
    assert daemon.wait(timeout=60) == 0
    wait_until(lambda: page.driver.find_elements(By.CSS_SELECTOR, ".notice, .error"), timeout=15)
    cli(config, "run", "--once")
    assert smtp_sink.wait_for(1, timeout=20)
    time.sleep(1.0)
    assert len(smtp_sink.messages) == 1
    # The page tells what happened, whichever channel won: decided by whom, and delivered.
    page.go(f"/drafts/{draft['id']}")
    wait_until(lambda: "sent" in page.driver.find_element(By.ID, "state").text, timeout=20)
    decided = page.driver.find_element(By.ID, "decided").text
    assert "web:ana" in decided or "mail-client" in decided
    cells = page.driver.find_elements(By.CSS_SELECTOR, "#delivery td.state-sent")
    assert [td.text for td in cells] == ["sent"]


class _Evil(http.server.BaseHTTPRequestHandler):
    """Stands in for a remote server that hostile mail tries to load from."""

    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Evil.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"window.pwned = 1;")

    def log_message(self, *args: object) -> None:
        pass


def hostile_mail(to: str, evil: str) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = '"<script>window.pwned=1</script>" <ana@client.example>'
    msg["To"] = to
    msg["Subject"] = ('Price question <script>window.pwned=1</script>'
                      '<img src=x onerror="window.pwned=1">')
    msg["Message-ID"] = make_msgid(domain="client.example")
    msg.set_content("Hello, how much does the product cost? Could you send the price list?\n"
                    f"<script>window.pwned=1</script><img src={evil}/text.gif "
                    "onerror=window.pwned=1>\n")
    msg.add_alternative(
        f"<html><head><link rel=stylesheet href='{evil}/sheet.css'>"
        f"<style>@import url({evil}/import.css); body{{background:url({evil}/bg.png)}}</style>"
        f"<script src='{evil}/script.js'></script><script>parent.pwned=1;top.pwned=1</script>"
        "</head><body onload='parent.pwned=1'>"
        "<p>Hello, how much does the product cost? Could you send the price list?</p>"
        f"<img src='{evil}/pixel.gif' onerror='parent.pwned=1'>"
        f"<div style=\"background-image:url('{evil}/div.png')\">styled</div>"
        "<a id=js href='javascript:parent.pwned=1'>click me</a>"
        f"<svg><image href='{evil}/svg.png'/></svg>"
        f"<iframe src='{evil}/frame.html'></iframe></body></html>", subtype="html")
    return msg.as_bytes()


def test_hostile_mail_runs_no_script_and_loads_nothing(
    tmp_path: Path, imap_user: Any, smtp_sink: Any, page_for: Any
) -> None:
    evil_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Evil)
    evil = f"http://127.0.0.1:{evil_server.server_address[1]}"
    threading.Thread(target=evil_server.serve_forever, daemon=True).start()
    _Evil.hits.clear()
    try:
        config = imap_config(tmp_path, imap_user, smtp_sink)
        imap_user.dovecot.append(imap_user.address, hostile_mail(imap_user.address, evil))
        cli(config, "run", "--once")
        (draft,) = drafts(config)
        page = page_for(config)
        page.login()
        driver = page.driver
        driver.get_log("performance")  # start the request log from here
        for path in ("/", f"/drafts/{draft['id']}/original", f"/drafts/{draft['id']}"):
            page.go(path)
            time.sleep(1.0)  # time for anything that would load or run
            assert driver.execute_script("return typeof window.pwned") == "undefined", path
        frame = driver.find_element(By.TAG_NAME, "iframe")
        assert frame.get_attribute("sandbox") == ""
        # The subject shows as text, literally.
        assert "<script>window.pwned=1</script>" in driver.find_element(
            By.ID, "original-subject").text
        requested = [json.loads(e["message"])["message"] for e in driver.get_log("performance")]
        urls = [m["params"]["request"]["url"] for m in requested
                if m["method"] == "Network.requestWillBeSent"]
        assert any("/original" in u for u in urls), "the log missed the frame: it proves nothing"
        assert not [u for u in urls if u.startswith(evil)], urls
        assert _Evil.hits == []
        driver.switch_to.frame(frame)  # the message's text is there, only harmless
        assert "styled" in driver.find_element(By.TAG_NAME, "body").text
        driver.switch_to.default_content()

        # A POST from the page without the CSRF token is refused, and changes nothing.
        status = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            f"fetch('/drafts/{draft['id']}/approve', {{method: 'POST', body: new FormData()}})"
            ".then(r => done(r.status));")
        assert status == 403
        assert [d["id"] for d in drafts(config)] == [draft["id"]]
        assert smtp_sink.messages == []
    finally:
        evil_server.shutdown()
        evil_server.server_close()
