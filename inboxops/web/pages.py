"""The pages (GET): login, queue, one draft, its original, meetings, outbox, digest, status.

Each handler reads through the library or web/queries.py in the thread pool and renders a
template; nothing here changes state.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from inboxops.models import CATEGORIES
from inboxops.store import Store
from inboxops.store import queue as queries
from inboxops.web.app import Web
from inboxops.web.original import ORIGINAL_CSP, document

LANGUAGES = ("en", "ro")


def _web(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


def age(iso: str, now: datetime, t: Any) -> str:
    """How long ago, in the largest unit that fits: 5 min, 3 h, 2 d."""
    minutes = max(0, int((now - datetime.fromisoformat(iso)).total_seconds() // 60))
    if minutes < 120:
        return str(t("minutes", n=minutes))
    if minutes < 48 * 60:
        return str(t("hours", n=minutes // 60))
    return str(t("days", n=minutes // 1440))


def local(iso: str | None, tz: ZoneInfo) -> str:
    return datetime.fromisoformat(iso).astimezone(tz).strftime("%Y-%m-%d %H:%M") if iso else ""


def _filters(request: Request) -> tuple[str | None, str | None]:
    category = request.query_params.get("category")
    language = request.query_params.get("language")
    return (category if category in CATEGORIES else None,
            language if language in LANGUAGES else None)


def _queue_data(store: Store, category: str | None, language: str | None) -> dict[str, Any]:
    return {"rows": queries.queue(store, category, language), "counts": queries.counts(store)}


async def login_page(request: Request) -> Response:
    return _web(request).page(request, "login.html", next=request.query_params.get("next", "/"))


async def queue_page(request: Request) -> Response:
    web = _web(request)
    category, language = _filters(request)
    data = await web.db(_queue_data, category, language)
    return web.page(request, "queue.html", category=category, language=language,
                    categories=CATEGORIES, languages=LANGUAGES, now=datetime.now(UTC),
                    age=age, review_below=web.cfg.classify.review_below, **data)


async def queue_rows(request: Request) -> Response:
    """The queue's rows and counts as JSON, for the page's live update (polling)."""
    web = _web(request)
    category, language = _filters(request)
    data = await web.db(_queue_data, category, language)
    rows_html = web.templates.get_template("_rows.html").render(
        t=request.state.t, rows=data["rows"], now=datetime.now(UTC), age=age,
        review_below=web.cfg.classify.review_below)
    return JSONResponse({"ids": [r["id"] for r in data["rows"]], "html": rows_html,
                         "count": data["counts"]["all"]["all"]})


def _draft_data(store: Store, draft_id: int) -> dict[str, Any] | None:
    row = queries.draft(store, draft_id)
    if row is None:
        return None
    before, after = queries.neighbours(store, draft_id)
    return {"d": row, "outbox": queries.draft_outbox(store, draft_id),
            "history": queries.draft_history(store, draft_id), "prev_id": before,
            "next_id": after}


async def draft_page(request: Request, notice: str = "", error: str = "",
                     status: int = 200) -> Response:
    web = _web(request)
    draft_id = int(request.path_params["draft_id"])
    data = await web.db(_draft_data, draft_id)
    if data is None:
        raise HTTPException(404)
    for h in data["history"]:
        h["detail"] = json.loads(h["detail"]) if (h["detail"] or "").startswith("{") else \
            h["detail"]
    tz = ZoneInfo(web.cfg.meetings.timezone)
    return web.page(request, "draft.html", status=status, categories=CATEGORIES,
                    notice=notice or _notice(request, draft_id), error=error,
                    local=lambda iso: local(iso, tz),
                    review_below=web.cfg.classify.review_below, **data)


def _notice(request: Request, draft_id: int) -> str:
    """The line that says what the last action did (from fixed words: a link cannot make
    the page say something else)."""
    t, params = request.state.t, request.query_params
    done = params.get("done")
    if done in ("approved", "rejected"):
        return str(t(f"{done}_msg", id=draft_id))
    if done == "recategorized" and params.get("category") in CATEGORIES:
        notice = str(t("recategorized_msg", category=t(f"cat_{params['category']}")))
        if params.get("redraft", "").isdigit():
            notice += " " + t("redrafted_msg", id=int(params["redraft"]))
        return notice
    return ""


async def original(request: Request) -> Response:
    """The original message as its own document, under the strictest policy (see original)."""
    web = _web(request)
    draft_id = int(request.path_params["draft_id"])

    def load(store: Store) -> tuple[bytes | None, str]:
        row = queries.draft(store, draft_id)
        if row is None:
            return None, ""
        return queries.raw_message(store, draft_id), row["original_text"] or ""

    raw, text = await web.db(load)
    if raw is None:
        raise HTTPException(404)
    body = await web.io(document, raw, text)
    return HTMLResponse(body, headers={"content-security-policy": ORIGINAL_CSP,
                                       "x-frame-options": "SAMEORIGIN"})


async def meetings_page(request: Request, notice: str = "", error: str = "",
                        status: int = 200) -> Response:
    from inboxops.outbound.bookings import listing

    web = _web(request)
    rows = await web.db(listing)
    tz = ZoneInfo(web.cfg.meetings.timezone)
    return web.page(request, "meetings.html", status=status, rows=rows, notice=notice,
                    error=error, local=lambda iso: local(iso, tz),
                    local_input=lambda iso: datetime.fromisoformat(iso).astimezone(tz)
                    .strftime("%Y-%m-%dT%H:%M"))


async def outbox_page(request: Request, notice: str = "", error: str = "",
                      status: int = 200) -> Response:
    web = _web(request)
    rows = await web.db(queries.outbox)
    for r in rows:
        r["rcpts"] = ", ".join(json.loads(r["rcpts"]))
    tz = ZoneInfo(web.cfg.meetings.timezone)
    return web.page(request, "outbox.html", status=status, rows=rows, notice=notice,
                    error=error, local=lambda iso: local(iso, tz))


async def digest_page(request: Request) -> Response:
    from inboxops.service.digest import render

    web = _web(request)
    subject, text, _html = await web.db(render, web.cfg, datetime.now(UTC))
    return web.page(request, "digest.html", subject=subject, text=text, has_html=bool(_html))


async def digest_html(request: Request) -> Response:
    """The digest's HTML part, framed by the digest page under the same policy as originals
    (it quotes client subjects; the templates escape them, the policy is a second lock)."""
    from inboxops.service.digest import render

    web = _web(request)
    _subject, _text, html = await web.db(render, web.cfg, datetime.now(UTC))
    return HTMLResponse(html or "", headers={
        "content-security-policy": ORIGINAL_CSP.replace("default-src 'none'",
                                                        "default-src 'none'; img-src data:"),
        "x-frame-options": "SAMEORIGIN"})


async def status_page(request: Request) -> Response:
    from inboxops.service.status import format_text, report

    web = _web(request)
    data = await web.db(report, web.cfg)
    return web.page(request, "status.html", text=format_text(data, web.cfg), data=data)


ROUTES = [
    ("/login", login_page, ["GET"]),
    ("/", queue_page, ["GET"]),
    ("/queue/rows", queue_rows, ["GET"]),
    ("/drafts/{draft_id:int}", draft_page, ["GET"]),
    ("/drafts/{draft_id:int}/original", original, ["GET"]),
    ("/meetings", meetings_page, ["GET"]),
    ("/outbox", outbox_page, ["GET"]),
    ("/digest", digest_page, ["GET"]),
    ("/digest/html", digest_html, ["GET"]),
    ("/status", status_page, ["GET"]),
]
