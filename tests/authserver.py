"""A real OAuth2 authorization server for the tests, on 127.0.0.1 (Starlette + uvicorn).

It speaks the parts of OAuth2 inboxops uses, over real HTTP, so the client side (Authlib) is
exercised as against Microsoft or Google:

* device authorization (RFC 8628): `POST /device`, then the token endpoint answers
  `authorization_pending` until the test "signs in" with `approve(user_code, user)`;
* authorization code with PKCE (RFC 6749 §4.1, RFC 7636 S256): `GET /authorize` signs the
  `login_hint` user in at once and redirects to the client's loopback redirect URI;
* refresh tokens (RFC 6749 §6), access tokens that live `lifetime` seconds, and `revoke(user)`,
  which kills a user's refresh tokens and access tokens as an admin (or a password change)
  would;
* token introspection (RFC 7662): `POST /introspect`, which Dovecot's `oauth2` passdb calls
  for each login; every call is kept in `introspections` so tests can see which token logged
  in and whether it was still valid.

It is a test fixture, not a model of a secure server: any client id is accepted.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import uvicorn
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from mailservers import HOST, free_port
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route


@dataclass
class Grant:
    """One sign-in: the refresh token and the access tokens it gave out."""

    user: str
    scope: str
    refresh_token: str
    revoked: bool = False


@dataclass
class Introspection:
    token: str
    user: str | None
    active: bool
    expired: bool  # the token existed but its lifetime had run out
    at: float


@dataclass
class AuthServer:
    """The authorization server; `start()` it, use `url`, `stop()` it."""

    lifetime: float = 3600.0
    port: int = field(default_factory=free_port)
    grants: list[Grant] = field(default_factory=list)
    access: dict[str, tuple[Grant, float]] = field(default_factory=dict)  # token -> (grant, exp)
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)  # device_code -> state
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)  # code -> state
    introspections: list[Introspection] = field(default_factory=list)
    token_requests: list[str] = field(default_factory=list)  # grant_type of each request
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def endpoints(self) -> dict[str, str]:
        """The [mailbox]/[smtp] keys of a "generic" provider pointing here."""
        return {"authorize_url": f"{self.url}/authorize", "token_url": f"{self.url}/token",
                "device_url": f"{self.url}/device"}

    # -- what the test does ----------------------------------------------------------------

    def approve(self, user_code: str, user: str) -> None:
        """The user typed the code at the verification page and signed in."""
        with self.lock:
            for state in self.devices.values():
                if state["user_code"] == user_code:
                    state["user"] = user
                    return
        raise AssertionError(f"no device code {user_code!r} pending")

    def revoke(self, user: str) -> None:
        """Revoke every grant of `user`: refresh and access tokens stop working at once."""
        with self.lock:
            for grant in self.grants:
                if grant.user == user:
                    grant.revoked = True

    def refreshes(self) -> int:
        return self.token_requests.count("refresh_token")

    # -- endpoints --------------------------------------------------------------------------

    def _issue(self, user: str, scope: str, grant: Grant | None = None) -> dict[str, Any]:
        if grant is None:
            grant = Grant(user, scope, "rt-" + secrets.token_urlsafe(24))
            self.grants.append(grant)
        token = "at-" + secrets.token_urlsafe(24)
        self.access[token] = (grant, time.time() + self.lifetime)
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.lifetime,
                "refresh_token": grant.refresh_token, "scope": grant.scope}

    async def device(self, request: Request) -> Response:
        form = await request.form()
        device_code = secrets.token_urlsafe(16)
        user_code = f"{secrets.randbelow(10**8):08d}"
        with self.lock:
            self.devices[device_code] = {"user_code": user_code, "user": None,
                                         "scope": str(form.get("scope", ""))}
        return JSONResponse({"device_code": device_code, "user_code": user_code,
                             "verification_uri": f"{self.url}/activate", "expires_in": 600,
                             "interval": 1})

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.codes[code] = {"user": q["login_hint"], "challenge": q["code_challenge"],
                                "redirect_uri": q["redirect_uri"], "scope": q.get("scope", "")}
        query = urlencode({"code": code, "state": q.get("state", "")})
        return RedirectResponse(f"{q['redirect_uri']}?{query}", status_code=302)

    async def token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        kind = form.get("grant_type", "")
        self.token_requests.append(kind)
        with self.lock:
            if kind == "urn:ietf:params:oauth:grant-type:device_code":
                state = self.devices.get(form.get("device_code", ""))
                if state is None:
                    return _error("expired_token")
                if state["user"] is None:
                    return _error("authorization_pending")
                del self.devices[form["device_code"]]
                return JSONResponse(self._issue(state["user"], state["scope"]))
            if kind == "authorization_code":
                state = self.codes.pop(form.get("code", ""), None)
                if state is None or state["redirect_uri"] != form.get("redirect_uri"):
                    return _error("invalid_grant")
                if create_s256_code_challenge(form.get("code_verifier", "")) != \
                        state["challenge"]:
                    return _error("invalid_grant", "PKCE verification failed")
                return JSONResponse(self._issue(state["user"], state["scope"]))
            if kind == "refresh_token":
                for grant in self.grants:
                    if grant.refresh_token == form.get("refresh_token"):
                        if grant.revoked:
                            return _error("invalid_grant", "the refresh token was revoked")
                        return JSONResponse(self._issue(grant.user, grant.scope, grant))
                return _error("invalid_grant", "unknown refresh token")
        return _error("unsupported_grant_type")

    def _look_up(self, token: str) -> tuple[Grant | None, float]:
        """The grant of a token if it is active now; every look-up is kept."""
        with self.lock:
            grant, exp = self.access.get(token, (None, 0.0))
            expired = grant is not None and exp < time.time()
            active = grant is not None and not grant.revoked and not expired
            self.introspections.append(Introspection(
                token, grant.user if grant else None, active, expired, time.time()))
        return (grant if active else None), exp

    def check(self, user: str, token: str) -> bool:
        """For the SMTP sink: is `token` an active access token of `user`?"""
        grant, _ = self._look_up(token)
        return grant is not None and grant.user == user.lower()

    async def introspect(self, request: Request) -> Response:
        grant, exp = self._look_up(str((await request.form()).get("token", "")))
        if grant is None:
            return JSONResponse({"active": False})
        return JSONResponse({"active": True, "username": grant.user, "exp": int(exp)})

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> AuthServer:
        app = Starlette(routes=[
            Route("/device", self.device, methods=["POST"]),
            Route("/authorize", self.authorize, methods=["GET"]),
            Route("/token", self.token, methods=["POST"]),
            Route("/introspect", self.introspect, methods=["POST"]),
        ])
        config = uvicorn.Config(app, host=HOST, port=self.port, log_config=None,
                                access_log=False, lifespan="off", ws="none")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True, name="authserver")
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test authorization server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)


def _error(error: str, description: str = "") -> JSONResponse:
    body = {"error": error} | ({"error_description": description} if description else {})
    return JSONResponse(body, status_code=400)
