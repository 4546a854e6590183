"""The first sign-in (`inboxops auth login`): a person approves, the token set is saved.

Two flows, both for a public ("native") client without a secret in the code:
* device code (RFC 8628): it prints an address and a code; the person signs in on any device.
  Suits a server without a browser; Microsoft's default here.
* loopback redirect (RFC 8252 §7.3, with PKCE, RFC 7636): it prints an authorization address
  (and opens it when it can); the provider sends the browser back to a one-shot HTTP listener on
  127.0.0.1. Google's only choice for mail scopes.

Authlib builds the requests and does every token exchange; this module only waits for people.
"""

from __future__ import annotations

import threading
import time
import webbrowser
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuthError

from inboxops.auth.providers import Flow, provider
from inboxops.auth.tokens import oauth_client, save, token_set
from inboxops.config import OAuth2
from inboxops.errors import AuthError

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
LOGIN_TIMEOUT = 600.0  # seconds a person has to approve


def sign_in(
    cfg: OAuth2, section: str, username: str, *, scopes: tuple[str, ...], flow: Flow | None,
    show: Callable[[str], None], open_browser: bool = True, timeout: float = LOGIN_TIMEOUT,
) -> dict[str, Any]:
    """Run the flow, save the token set to the section's token file and return it."""
    assert cfg.token_file is not None
    flow = flow or provider(cfg).flow
    try:
        if flow == "device":
            raw = _device(cfg, section, scopes, show, timeout)
        else:
            raw = _loopback(cfg, section, username, scopes, show, open_browser, timeout)
    except OAuthError as e:
        raise AuthError(f"sign-in refused: {e.error}: {e.description or ''}".rstrip(": "),
                        needs_login=True) from None
    except requests.RequestException as e:
        raise AuthError(f"the sign-in server could not be reached: {e}",
                        needs_login=True) from None
    data = token_set(raw, username, cfg)
    if not data["refresh_token"]:
        raise AuthError("the provider gave no refresh token: ask for offline access (Microsoft:"
                        " the offline_access scope)", needs_login=True)
    save(cfg.token_file, data)
    return data


def _device(cfg: OAuth2, section: str, scopes: tuple[str, ...],
            show: Callable[[str], None], timeout: float) -> dict[str, Any]:
    url = provider(cfg).device_url
    if not url:
        raise AuthError(f"[{section}] provider {cfg.provider!r} has no device-code sign-in; "
                        "use --flow loopback", needs_login=True)
    with oauth_client(cfg, section, scopes) as client:
        # RFC 8628 §3.1, the device authorization request: Authlib's client has no helper for
        # it (only the token request, below, which it does make).
        response = client.post(url, withhold_token=True,
                               data={"client_id": cfg.client_id, "scope": client.scope})
        info = response.json()
        if "device_code" not in info:
            raise AuthError(f"device sign-in refused: {info.get('error', response.status_code)}"
                            f" {info.get('error_description', '')}".strip(), needs_login=True)
        uri = info.get("verification_uri") or info.get("verification_url")  # Google: _url
        show(f"To sign in, open {uri} and enter the code {info['user_code']}")
        interval = float(info.get("interval", 5))
        deadline = time.monotonic() + min(timeout, float(info.get("expires_in", timeout)))
        while time.monotonic() < deadline:
            time.sleep(interval)
            try:
                return dict(client.fetch_token(provider(cfg).token_url, grant_type=DEVICE_GRANT,
                                               device_code=info["device_code"]))
            except OAuthError as e:  # RFC 8628 §3.5: keep polling while it is pending
                if e.error == "authorization_pending":
                    continue
                if e.error == "slow_down":
                    interval += 5
                    continue
                raise
    raise AuthError("nobody approved the sign-in in time; run the command again",
                    needs_login=True)


class _Redirect(BaseHTTPRequestHandler):
    """Takes the provider's redirect back to 127.0.0.1 and thanks the person."""

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        if "code" not in query and "error" not in query:
            self.send_error(404)  # e.g. /favicon.ico
            return
        self.server.answer = self.path  # type: ignore[attr-defined]
        body = b"Signed in. You can close this tab; inboxops has what it needs.\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request line carries the one-time code."""


def _loopback(cfg: OAuth2, section: str, username: str, scopes: tuple[str, ...],
              show: Callable[[str], None], open_browser: bool, timeout: float) -> dict[str, Any]:
    found = provider(cfg)
    if not found.authorize_url:
        raise AuthError(f"[{section}] needs authorize_url for a loopback sign-in",
                        needs_login=True)
    server = HTTPServer(("127.0.0.1", 0), _Redirect)
    server.answer = None  # type: ignore[attr-defined]
    server.timeout = 0.5
    redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/"
    verifier = generate_token(48)
    try:
        with oauth_client(cfg, section, scopes, redirect_uri=redirect_uri,
                          code_challenge_method="S256") as client:
            url, state = client.create_authorization_url(
                found.authorize_url, code_verifier=verifier, login_hint=username,
                **found.authorize_params)
            show(f"To sign in as {username}, open this address in a browser:\n{url}")
            if open_browser:
                threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
            deadline = time.monotonic() + timeout
            while server.answer is None and time.monotonic() < deadline:  # type: ignore[attr-defined]
                server.handle_request()
            answer: str | None = server.answer  # type: ignore[attr-defined]
            if answer is None:
                raise AuthError("nobody signed in in time; run the command again",
                                needs_login=True)
            query = parse_qs(urlsplit(answer).query)
            if "error" in query:
                raise AuthError(f"sign-in refused: {query['error'][0]} "
                                f"{query.get('error_description', [''])[0]}".strip(),
                                needs_login=True)
            return dict(client.fetch_token(found.token_url,
                                           authorization_response=redirect_uri + answer[1:],
                                           code_verifier=verifier, state=state))
    finally:
        server.server_close()
