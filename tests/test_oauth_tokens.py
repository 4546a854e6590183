"""The token file and its refreshes against the test's authorization server (real HTTP, no mail
server), the provider table and the SASL message (pure), and the config checks."""

from __future__ import annotations

import base64
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from authserver import AuthServer

from inboxops import config
from inboxops.auth.login import sign_in
from inboxops.auth.providers import provider
from inboxops.auth.sasl import oauthbearer, preferred
from inboxops.auth.tokens import Tokens
from inboxops.errors import AuthError, ConfigError

USER = "office@example.test"


@pytest.fixture
def server() -> Iterator[AuthServer]:
    running = AuthServer().start()
    yield running
    running.stop()


def section(tmp: Path, server: AuthServer) -> config.MailboxConfig:
    cfg = config.Config.model_validate({
        "store": {"path": str(tmp / "inboxops.db")},
        "mailbox": {"kind": "imap", "username": USER, "auth": "oauth2", "provider": "generic",
                    "client_id": "inboxops-test", **server.endpoints()},
    })
    return cfg.mailbox


def signed_in(tmp: Path, server: AuthServer) -> config.MailboxConfig:
    cfg = section(tmp, server)

    def approve(text: str) -> None:
        server.approve(text.rsplit(" ", 1)[-1], USER)

    sign_in(cfg, "mailbox", USER, scopes=("mail",), flow="device", show=approve)
    return cfg


def test_token_file_is_private_and_beside_the_database(tmp_path: Path,
                                                        server: AuthServer) -> None:
    cfg = signed_in(tmp_path, server)
    assert cfg.token_file == tmp_path / f"oauth-generic-{USER}.json"
    assert stat.S_IMODE(cfg.token_file.stat().st_mode) == 0o600


def test_refreshed_before_expiry_once_for_all_threads(tmp_path: Path,
                                                      server: AuthServer) -> None:
    server.lifetime = 1.0
    cfg = signed_in(tmp_path, server)
    first = Tokens(cfg, "mailbox", USER).access_token()
    threading.Event().wait(0.9)  # inside the leeway (a quarter of the lifetime)
    got: list[str] = []
    threads = [threading.Thread(target=lambda: got.append(Tokens(cfg, "mailbox", USER)
                                                           .access_token())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert server.refreshes() == 1  # the lock: one refresh, the others read its result
    assert len(set(got)) == 1 and got[0] != first


def test_a_refused_token_is_refreshed_even_if_not_yet_expiring(tmp_path: Path,
                                                               server: AuthServer) -> None:
    cfg = signed_in(tmp_path, server)
    tokens = Tokens(cfg, "mailbox", USER)
    old = tokens.access_token()
    assert tokens.access_token() == old and server.refreshes() == 0
    assert tokens.refresh(refused=old) != old
    assert server.refreshes() == 1


def test_revoked_or_missing_sign_in_names_the_command(tmp_path: Path,
                                                      server: AuthServer) -> None:
    cfg = signed_in(tmp_path, server)
    cfg._config_path = tmp_path / "config.toml"
    tokens = Tokens(cfg, "mailbox", USER)
    refused = tokens.access_token()
    server.revoke(USER)
    with pytest.raises(AuthError) as e:
        tokens.refresh(refused=refused)
    assert e.value.needs_login and "invalid_grant" in str(e.value)
    assert f"inboxops --config {tmp_path / 'config.toml'} auth login --mailbox" in str(e.value)
    assert cfg.token_file is not None
    cfg.token_file.unlink()
    with pytest.raises(AuthError, match="has not signed in yet"):
        Tokens(cfg, "mailbox", USER).access_token()


def test_unreachable_token_endpoint_is_retried_not_a_login(tmp_path: Path,
                                                           server: AuthServer) -> None:
    cfg = signed_in(tmp_path, server)
    tokens = Tokens(cfg, "mailbox", USER)
    refused = tokens.access_token()
    server.stop()
    with pytest.raises(AuthError) as e:
        tokens.refresh(refused=refused)
    assert not e.value.needs_login and "could not be reached" in str(e.value)
    server.start()  # for the fixture's stop()


def test_providers() -> None:
    ms = provider(config.MailboxConfig(auth="oauth2", client_id="x",  # type: ignore[call-arg]
                                       tenant="example.com"))
    assert ms.token_url == "https://login.microsoftonline.com/example.com/oauth2/v2.0/token"
    assert ms.flow == "device" and "offline_access" in ms.scopes
    assert "https://outlook.office.com/SMTP.Send" in ms.scopes
    google = provider(config.MailboxConfig(auth="oauth2", client_id="x",  # type: ignore[call-arg]
                                           provider="google"))
    assert google.scopes == ("https://mail.google.com/",) and google.flow == "loopback"
    assert google.authorize_params["access_type"] == "offline"


def test_oauthbearer_message_and_choice() -> None:
    raw = base64.b64decode(oauthbearer("a,b=c@example.test", "tok"))
    assert raw == b"n,a=a=2Cb=3Dc@example.test,\x01auth=Bearer tok\x01\x01"  # RFC 7628 §3.1
    assert preferred({"PLAIN", "XOAUTH2", "OAUTHBEARER"}) == "OAUTHBEARER"
    assert preferred({"XOAUTH2"}) == "XOAUTH2"


@pytest.mark.parametrize(("keys", "message"), [
    ('auth = "oauth2"', "needs client_id"),
    ('auth = "oauth2"\nclient_id = "x"\nprovider = "generic"', "needs token_url"),
    ('auth = "oauth2"\nclient_id = "x"\ntoken_url = "http://login.example.com/token"',
     "use https://"),
])
def test_config_errors_name_the_fix(tmp_path: Path, keys: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[mailbox]\nkind = "imap"\n{keys}\n')
    with pytest.raises(ConfigError, match=message):
        config.load(path)
