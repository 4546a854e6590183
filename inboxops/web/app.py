"""The web application: Starlette routes, the login gate, security headers, and the one
concurrency rule of the page.

The rule: the asyncio loop never blocks. Every store read or write, every password check and
every send runs in a bounded thread pool, each worker thread with its own store connection
(sqlite3 connections do not travel between threads). Sending after an approval runs on a
single-worker pool so the page answers at once; the outbox claims each row with a conditional
UPDATE, so the daemon, the CLI and the page may all drain it and every message still goes once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inboxops.config import Config
from inboxops.store import Store
from inboxops.web import i18n
from inboxops.web.auth import Signer, Throttle, fingerprint, load_secret, load_users

log = logging.getLogger(__name__)
T = TypeVar("T")

COOKIE = "inboxops_session"
PUBLIC = ("/login", "/static/")
# The page's own policy: only our script and style, frames only from us, no plug-ins.
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; "
            "frame-ancestors 'none'")
USERS_TTL = 2.0  # seconds a read of the users file is trusted (a passwd shows up this fast)


class Web:
    """What the handlers share: config, key, users, login throttle, templates, thread pools."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.signer = Signer(load_secret(cfg.web.secret_file), cfg.web.session_hours * 3600)
        self.throttle = Throttle()
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="web-db")
        self.sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="web-send")
        self._local = threading.local()
        self._users: tuple[float, dict[str, str]] = (0.0, {})
        self.templates = Environment(
            loader=PackageLoader("inboxops.web", "templates"), autoescape=True,
            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        )

    # -- threads ---------------------------------------------------------------------------

    def _store(self) -> Store:
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store(self.cfg.store.path)
        return store

    async def db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(store, *args)` in the pool with this thread's own store connection."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, lambda: fn(self._store(), *args))

    async def io(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking work that needs no store (password hashing) in the pool."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    def send_soon(self) -> None:
        """Drain the outbox in the background; the page shows the outcome on its next load."""
        self.sender.submit(self._deliver)

    def _deliver(self) -> None:
        from inboxops.outbound.delivery import deliver_now

        try:
            deliver_now(self._store(), self.cfg)
        except Exception:  # the row stays queued; the daemon or a retry sends it
            log.exception("web: sending the outbox failed")

    def close(self) -> None:
        self.sender.shutdown(wait=True)
        self.pool.shutdown(wait=True)

    async def users(self) -> dict[str, str]:
        at, users = self._users
        if time.monotonic() - at > USERS_TTL:
            users = await self.io(load_users, self.cfg.web.users_file)
            self._users = (time.monotonic(), users)
        return users

    def forget_users(self) -> None:
        self._users = (0.0, {})

    def cookie(self, value: str) -> tuple[bytes, bytes]:
        """The Set-Cookie header: HttpOnly (no script reads it), SameSite=Strict (no other
        site's page sends it), Secure when a TLS proxy serves the page."""
        secure = "; Secure" if self.cfg.web.secure_cookie else ""
        max_age = int(self.cfg.web.session_hours * 3600)
        return (b"set-cookie", f"{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; "
                f"SameSite=Strict{secure}".encode())

    def login(self, response: Response, user: str, hashed: str) -> None:
        """Start a logged-in session under a fresh id (no session fixation)."""
        value, _ = self.signer.session(user, fingerprint(hashed))
        response.raw_headers.append(self.cookie(value))

    # -- pages -----------------------------------------------------------------------------

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        """Render a template with what every page needs (words, user, CSRF token)."""
        state = request.state
        body = self.templates.get_template(name).render(
            t=state.t, lang=state.t.lang, user=state.user, csrf=self.signer.csrf(state.sid),
            path=request.url.path, poll_seconds=self.cfg.web.poll_seconds, **context,
        )
        return HTMLResponse(body, status_code=status)

    async def form(self, request: Request) -> FormData:
        """The posted form, after checking its CSRF token (form field or X-CSRF-Token)."""
        form = await request.form()
        token = form.get("csrf") or request.headers.get("x-csrf-token")
        if not self.signer.csrf_ok(request.state.sid, token if isinstance(token, str) else None):
            raise HTTPException(403, "csrf")
        return form


class Gate:
    """ASGI middleware: session, language and login gate for every request, and security
    headers on every response. Pure ASGI (not BaseHTTPMiddleware) so nothing is buffered."""

    def __init__(self, app: ASGIApp, web: Web) -> None:
        self.app = app
        self.web = web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        web, cfg = self.web, self.web.cfg
        request = Request(scope)
        session = web.signer.read(request.cookies.get(COOKIE))
        new_cookie = None
        if session is None:
            new_cookie, session = web.signer.session(None)
        user = await self._user(request, session)
        state = scope.setdefault("state", {})
        state.update(session=session, sid=session["sid"], user=user,
                     t=i18n.translator(i18n.pick(request.headers.get("accept-language"),
                                                 cfg.web.language)))
        path = scope["path"]
        if user is None and not path.startswith(PUBLIC):
            target = "/login" + (f"?next={quote(path)}" if path not in ("/", "/login") else "")
            response: Response = RedirectResponse(target, status_code=303)
            if new_cookie:
                response.raw_headers.append(web.cookie(new_cookie))
            response.raw_headers.extend(_security_headers(path))
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers.extend(_security_headers(path))
                if new_cookie and not any(k == b"set-cookie" for k, _ in headers):
                    headers.append(web.cookie(new_cookie))
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _user(self, request: Request, session: dict[str, Any]) -> str | None:
        cfg = self.web.cfg.web
        if cfg.trusted_header and request.client and request.client.host in cfg.trusted_proxies:
            proxied = request.headers.get(cfg.trusted_header, "").strip()
            if proxied:
                return proxied
        name = session.get("user")
        if not isinstance(name, str) or not name:
            return None
        hashed = (await self.web.users()).get(name)
        if hashed is None or fingerprint(hashed) != session.get("fp"):
            return None  # user removed, or the password changed since this login
        return str(name)


def _security_headers(path: str) -> list[tuple[bytes, bytes]]:
    headers = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
               (b"cache-control", b"no-store")]
    if not path.endswith("/original") and not path.startswith("/digest/html"):
        headers += [(b"content-security-policy", PAGE_CSP.encode()),
                    (b"x-frame-options", b"DENY")]
    return headers


def create_app(cfg: Config) -> Starlette:
    """The ASGI application for `cfg`."""
    from inboxops.web import actions, pages

    web = Web(cfg)
    routes: list[Route | Mount] = [
        Route(path, fn, methods=methods) for path, fn, methods in (
            *pages.ROUTES, *actions.ROUTES)
    ]
    routes.append(Mount("/static", StaticFiles(directory=Path(__file__).parent / "static"),
                        name="static"))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        t = request.state.t
        key = "forbidden" if exc.status_code == 403 else "not_found"
        return web.page(request, "error.html", status=exc.status_code, message=t(key))

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.state.web = web
    app.add_middleware(Gate, web=web)  # type: ignore[arg-type]
    return app
