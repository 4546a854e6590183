"""The assistant's page over HTTP, in-process (Starlette's test client), on the Maildir default:
the login gate on every page, CSRF on every POST, cookies, the slowdown for wrong passwords,
the language choice, and the original shown under a policy that lets nothing load or run.
The browser tests against Dovecot and aiosmtpd are in test_web_browser.py."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from configs import maildir_config
from helpers import cli, drafts, drop
from mailfactory import client_mail
from mailservers import free_port

from inboxops import config as config_mod
from inboxops.store import Store
from inboxops.web import actions, i18n, pages, start_in_thread
from inboxops.web.auth import Throttle, set_password
from inboxops.web.original import document, sanitize

PASSWORD = "correct horse 1"


class Client(httpx.Client):
    """An httpx client on the test server, with the app's state at hand (to expire cached
    users)."""

    app: Any


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Client, Path]]:
    config = maildir_config(tmp_path)
    for i, (subject, body) in enumerate([
        ("Question about prices", "Hello, could you please send me your price list?"),
        ("Reclamație comanda 5512", "Bună ziua, produsul a ajuns stricat. Sunt nemulțumită."),
    ]):
        drop(tmp_path / "mail", f"17000000{i}.M1P1.test", client_mail(subject=subject, body=body))
    cli(config, "run", "--once")
    cfg = config_mod.load(config)
    set_password(cfg.web.users_file, "ana", PASSWORD)
    cfg.web.port = free_port()
    running = start_in_thread(cfg)
    deadline = time.monotonic() + 10
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.02)
    client = Client(base_url=f"http://127.0.0.1:{cfg.web.port}", timeout=30)
    client.app = running.web
    try:
        yield client, config
    finally:
        client.close()
        running.stop()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def login(client: httpx.Client, password: str = PASSWORD, user: str = "ana") -> int:
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"csrf": token, "user": user, "password": password,
                                           "next": "/"}, follow_redirects=False)
    return response.status_code


def test_every_page_redirects_to_the_login_without_a_session(site: tuple[Client, Path]) -> None:
    client, config = site
    draft_id = drafts(config)[0]["id"]
    for path, _fn, _methods in pages.ROUTES:
        if path == "/login":
            continue
        url = path.replace("{draft_id:int}", str(draft_id))
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 303, url
        assert response.headers["location"].startswith("/login"), url
    # A forged or tampered cookie is no session either.
    client.cookies.set("inboxops_session", "eyJ1c2VyIjoiYW5hIn0.forged")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_sets_a_strict_httponly_cookie_and_opens_the_queue(
    site: tuple[Client, Path]
) -> None:
    client, _config = site
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"csrf": token, "user": "ana", "password": PASSWORD,
                                           "next": "/"}, follow_redirects=False)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = client.get("/")
    assert page.status_code == 200
    assert "Question about prices" in page.text and "Reclamație comanda 5512" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "'unsafe-inline'" not in csp


def test_every_post_without_a_valid_csrf_token_is_refused(site: tuple[Client, Path]) -> None:
    client, config = site
    assert login(client) == 303
    draft_id = drafts(config)[0]["id"]
    for path, _fn, _methods in actions.ROUTES:
        url = re.sub(r"\{\w+:int\}", str(draft_id), path)
        for data in ({}, {"csrf": "forged"}, {"csrf": csrf_of(client.get("/login").text)[:-2]}):
            response = client.post(url, data={**data, "category": "other", "user": "ana",
                                              "password": PASSWORD}, follow_redirects=False)
            assert response.status_code == 403, (url, data)
    # Nothing happened: the draft still waits, and a valid token is accepted.
    assert [d["id"] for d in drafts(config)].count(draft_id) == 1
    token = csrf_of(client.get("/").text)
    ok = client.post(f"/drafts/{draft_id}/reject", data={"csrf": token}, follow_redirects=False)
    assert ok.status_code == 303
    assert draft_id not in [d["id"] for d in drafts(config)]


def test_a_token_from_another_session_is_refused(site: tuple[Client, Path]) -> None:
    client, config = site
    with httpx.Client(base_url=str(client.base_url)) as other:
        assert login(client) == 303 and login(other) == 303
        stolen = csrf_of(other.get("/").text)
    draft_id = drafts(config)[0]["id"]
    response = client.post(f"/drafts/{draft_id}/reject", data={"csrf": stolen},
                           follow_redirects=False)
    assert response.status_code == 403


def test_repeated_wrong_passwords_are_slowed_down(site: tuple[Client, Path]) -> None:
    client, _config = site
    times = []
    for _ in range(Throttle.FREE + 2):
        start = time.monotonic()
        assert login(client, password="wrong password") == 401
        times.append(time.monotonic() - start)
    # The free attempts cost only the hash check; the later ones wait 0.5 s, then 1 s.
    assert max(times[: Throttle.FREE]) < 0.5 + min(times)
    assert times[-2] >= 0.5 and times[-1] >= 1.0
    # The right password still gets in (after its wait), and clears the count.
    assert login(client) == 303
    start = time.monotonic()
    assert login(client, password="wrong again") == 401
    assert time.monotonic() - start < 0.5 + min(times)


def test_an_unknown_user_is_refused_like_a_wrong_password(site: tuple[Client, Path]) -> None:
    client, _config = site
    assert login(client, user="mallory") == 401
    assert login(client, user="ana:x") == 401


def test_a_new_password_ends_open_sessions(site: tuple[Client, Path]) -> None:
    client, config = site
    assert login(client) == 303
    assert client.get("/", follow_redirects=False).status_code == 200
    set_password(config_mod.load(config).web.users_file, "ana", "another password")
    client.app.forget_users()
    assert client.get("/", follow_redirects=False).status_code == 303


def test_language_follows_accept_language_with_diacritics(site: tuple[Client, Path]) -> None:
    client, _config = site
    assert login(client) == 303
    ro = client.get("/", headers={"Accept-Language": "ro-RO,ro;q=0.9,en;q=0.5"}).text
    assert "Ciorne care așteaptă aprobarea" in ro and 'lang="ro"' in ro
    en = client.get("/", headers={"Accept-Language": "de-DE,en;q=0.8,ro;q=0.2"}).text
    assert "Drafts waiting for approval" in en
    assert i18n.pick("fr, de") == "en"
    assert i18n.pick("en;q=0.3, ro;q=0.7") == "ro"
    assert i18n.pick("ro", setting="en") == "en"
    for _en_word, ro_word in i18n.WORDS.values():
        assert not set("şţŞŢ") & set(ro_word), ro_word  # comma-below only (TPL-5)


def test_queue_filters_and_counts(site: tuple[Client, Path]) -> None:
    client, _config = site
    assert login(client) == 303
    only_ro = client.get("/?language=ro").text
    assert "Reclamație comanda 5512" in only_ro and "Question about prices" not in only_ro
    rows = client.get("/queue/rows?category=inquiry").json()
    assert rows["count"] == 2 and len(rows["ids"]) == 1
    assert "Question about prices" in rows["html"]


def test_the_queue_marks_the_drafts_of_the_review_lane_as_the_cli_does(
    site: tuple[Client, Path]
) -> None:
    client, config = site
    assert login(client) == 303
    threshold = config_mod.load(config).classify.review_below
    first, second = drafts(config)[:2]
    store = Store(config_mod.load(config).store.path)
    with store.tx():  # one sure, one unsure, whatever the rules made of them
        for draft, confidence in ((first, threshold + 0.05), (second, threshold - 0.2)):
            store.conn.execute("UPDATE messages SET confidence = ? WHERE message_id = ?",
                               (confidence, draft["message_id"]))
    store.close()
    listed = drafts(config)
    assert sorted(d["needs_review"] for d in listed) == [False, True]
    html = client.get("/queue/rows").json()["html"]
    for row in re.findall(r'<tr data-id="(\d+)".*?</tr>', html, re.S):
        cli_row = next(d for d in listed if str(d["id"]) == row)
        row_html = re.search(rf'<tr data-id="{row}".*?</tr>', html, re.S)
        assert row_html is not None
        assert ('class="unsure"' in row_html.group(0)) == cli_row["needs_review"], cli_row
    unsure = [d for d in listed if d["needs_review"]] or listed
    page = client.get(f"/drafts/{unsure[0]['id']}").text
    assert ('class="unsure"' in page) == unsure[0]["needs_review"]


def test_the_original_is_served_under_a_policy_that_loads_and_runs_nothing(
    site: tuple[Client, Path]
) -> None:
    client, config = site
    assert login(client) == 303
    draft_id = drafts(config)[0]["id"]
    response = client.get(f"/drafts/{draft_id}/original")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp and "script-src" not in csp
    page = client.get(f"/drafts/{draft_id}").text
    assert re.search(r'<iframe src="/drafts/\d+/original" sandbox=""', page)


def test_sanitizer_keeps_text_and_drops_every_way_to_run_or_load() -> None:
    hostile = ('<p style="background:url(http://evil.example/a.png)" onclick="x()">Hello'
               '<img src="http://evil.example/p.gif" onerror="window.pwned=1">'
               '<a href="javascript:window.pwned=1">link</a><a href="https://ok.example">ok</a>'
               '<style>@import url(http://evil.example/s.css);</style>'
               '<script>window.pwned=1</script><iframe src="http://evil.example"></iframe>'
               '<svg onload="window.pwned=1"></svg></p>')
    clean = sanitize(hostile)
    assert "Hello" in clean and 'href="https://ok.example"' in clean
    for bad in ("script", "onerror", "onclick", "onload", "javascript:", "evil.example", "style",
                "<img", "<iframe", "<svg"):
        assert bad not in clean, bad
    text_doc = document(None, "<script>window.pwned=1</script> & more")
    assert "<script>window" not in text_doc and "&lt;script&gt;" in text_doc


def test_recategorizing_on_the_page_is_learned_and_redrafts(site: tuple[Client, Path]) -> None:
    client, config = site
    assert login(client) == 303
    draft = next(d for d in drafts(config) if d["category"] == "inquiry")
    token = csrf_of(client.get(f"/drafts/{draft['id']}").text)
    response = client.post(f"/drafts/{draft['id']}/category",
                           data={"csrf": token, "category": "complaint"}, follow_redirects=False)
    assert response.status_code == 303
    store = Store(config_mod.load(config).store.path)
    row = store.one("SELECT category, old_category, origin FROM corrections")
    assert row == {"category": "complaint", "old_category": "inquiry", "origin": "web"}
    new = next(d for d in drafts(config) if d["subject"] == draft["subject"])
    assert new["id"] != draft["id"] and new["category"] == "complaint"
    assert f"/drafts/{new['id']}" in response.headers["location"]


def test_run_serves_the_page_when_web_is_enabled(tmp_path: Path) -> None:
    from helpers import running_daemon, stop, wait_until

    config = maildir_config(tmp_path)
    port = free_port()
    config.write_text(config.read_text() + f"[web]\nenabled = true\nport = {port}\n")
    with running_daemon(config, tmp_path / "daemon.log") as proc:
        def answers() -> httpx.Response | None:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/", timeout=2, follow_redirects=True)
            except httpx.TransportError:
                return None

        response = wait_until(answers, timeout=30)
        assert response.status_code == 200 and "/login" in str(response.url)
        assert stop(proc) == 0
