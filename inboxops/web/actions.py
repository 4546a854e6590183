"""What the page changes (POST), each through the library function the CLI uses too, so the
store stays the one source of truth: whichever channel (page, CLI, mail client) acts first
wins, and a late one is told what happened instead of acting twice.

Every POST checks the CSRF token first (Web.form).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from inboxops.config import Config
from inboxops.errors import InboxopsError
from inboxops.store import Store
from inboxops.store import queue as queries
from inboxops.web import pages
from inboxops.web.app import Web
from inboxops.web.auth import check_password, valid_name

log = logging.getLogger(__name__)


def _web(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


async def login(request: Request) -> Response:
    """Check a password; wrong ones are slowed down per address and per user name."""
    web = _web(request)
    form = await web.form(request)
    name = str(form.get("user", "")).strip()
    password = str(form.get("password", ""))
    target = str(form.get("next", "/"))
    if not target.startswith("/") or target.startswith("//"):
        target = "/"  # never an open redirect to another site
    keys = (f"ip:{_client(request)}", f"user:{name.lower()}")
    delay = web.throttle.delay(*keys)
    if delay:
        await asyncio.sleep(delay)  # the loop keeps serving others meanwhile
    users = await web.users()
    ok = valid_name(name) and await web.io(check_password, users, name, password)
    if not ok:
        web.throttle.failed(*keys)
        log.warning("web: failed login for %r from %s", name[:64], _client(request))
        return web.page(request, "login.html", status=401, next=target,
                        error=request.state.t("login_failed"))
    web.throttle.succeeded(*keys)
    log.info("web: %s logged in from %s", name, _client(request))
    response = RedirectResponse(target, status_code=303)
    web.login(response, name, users[name])
    return response


async def logout(request: Request) -> Response:
    web = _web(request)
    await web.form(request)
    response = RedirectResponse("/login", status_code=303)
    value, _ = web.signer.session(None)
    response.raw_headers.append(web.cookie(value))
    return response


def _by(request: Request) -> str:
    return f"web:{request.state.user}"


async def approve(request: Request) -> Response:
    """Approve with the edits in the form (text, subject, recipient), then send."""
    web = _web(request)
    form = await web.form(request)
    draft_id = int(request.path_params["draft_id"])
    text = str(form.get("body", "")).replace("\r\n", "\n") if "body" in form else None
    subject = str(form["subject"]).strip() if "subject" in form else None
    to_addr = str(form["to"]).strip() if "to" in form else None
    if text is not None and not text.strip():
        return await pages.draft_page(request, error="empty text", status=400)
    try:
        await web.db(lambda s: _approve_edited(s, web.cfg, draft_id, text, subject, to_addr,
                                               _by(request)))
    except InboxopsError as e:
        return await pages.draft_page(request, error=str(e), status=409)
    web.send_soon()
    return _after(request, draft_id, "approved")


def _approve_edited(
    store: Store, cfg: Config, draft_id: int, text: str | None, subject: str | None,
    to_addr: str | None, by: str,
) -> list[int]:
    """Approve with the page's edits, checked before anything is stored: a subject that could
    inject headers or an address that is not one is refused with the reason."""
    from inboxops.outbound.approval import approve as approve_draft
    from inboxops.responders import compose

    draft = store.require("drafts", draft_id)
    if subject is not None:
        compose.safe_header(subject, "subject")
    to = None
    if to_addr and to_addr.lower() != draft["to_addr"].lower():  # a new address, a new name
        address = compose.address(to_addr)
        if "@" not in address.addr_spec:
            raise compose.UnsafeHeader(f"not a usable address: {to_addr!r}")
        to = [address]
    return approve_draft(store, cfg, draft_id, text=text, by=by, subject=subject, to=to)


async def reject(request: Request) -> Response:
    from inboxops.outbound.approval import reject as reject_draft

    web = _web(request)
    await web.form(request)
    draft_id = int(request.path_params["draft_id"])
    try:
        await web.db(reject_draft, draft_id, _by(request))
    except InboxopsError as e:
        return await pages.draft_page(request, error=str(e), status=409)
    return _after(request, draft_id, "rejected")


def _recategorize(store: Store, cfg: Config, draft_id: int, category: str) -> int | None:
    """reclassify (recorded as a correction, learned from at once), then the pipeline's
    redraft, as `inboxops reclassify` does; the new draft's id, if one was written."""
    from inboxops.classifiers.corrections import reclassify
    from inboxops.errors import StateError
    from inboxops.service.pipeline import Pipeline

    row = queries.draft(store, draft_id)
    if row is None:
        raise StateError(f"no draft with id {draft_id}")
    if row["state"] != "pending":
        raise StateError(f"draft {draft_id} is {row['state']}, not pending")
    if not reclassify(store, row["message_pk"], category, origin="web"):
        return None
    pipeline = Pipeline(cfg, store)
    try:
        return pipeline.redraft(row["message_pk"])
    finally:
        pipeline.close()


async def category(request: Request) -> Response:
    web = _web(request)
    form = await web.form(request)
    draft_id = int(request.path_params["draft_id"])
    new = str(form.get("category", ""))
    try:
        redraft = await web.db(_recategorize, web.cfg, draft_id, new)
    except InboxopsError as e:
        return await pages.draft_page(request, error=str(e), status=409)
    query = f"done=recategorized&category={new}"
    if redraft:
        return RedirectResponse(f"/drafts/{redraft}?{query}&redraft={redraft}", status_code=303)
    return RedirectResponse(f"/drafts/{draft_id}?{query}", status_code=303)


def _after(request: Request, draft_id: int, done: str) -> Response:
    """To the draft's page, which then shows what became of it."""
    return RedirectResponse(f"/drafts/{draft_id}?done={done}", status_code=303)


async def reschedule(request: Request) -> Response:
    from inboxops.outbound.bookings import reschedule as move

    web = _web(request)
    form = await web.form(request)
    meeting_id = int(request.path_params["meeting_id"])
    try:
        start = datetime.fromisoformat(str(form.get("start", "")))
        await web.db(lambda s: move(s, web.cfg, meeting_id, start))
    except ValueError:
        return await pages.meetings_page(request, error="YYYY-MM-DD HH:MM", status=400)
    except InboxopsError as e:
        return await pages.meetings_page(request, error=str(e), status=409)
    web.send_soon()
    return await pages.meetings_page(request, notice=request.state.t("rescheduled_msg",
                                                                      id=meeting_id))


async def cancel(request: Request) -> Response:
    from inboxops.outbound.bookings import cancel as cancel_meeting

    web = _web(request)
    await web.form(request)
    meeting_id = int(request.path_params["meeting_id"])
    try:
        await web.db(cancel_meeting, web.cfg, meeting_id)
    except InboxopsError as e:
        return await pages.meetings_page(request, error=str(e), status=409)
    web.send_soon()
    return await pages.meetings_page(request, notice=request.state.t("cancelled_msg",
                                                                      id=meeting_id))


def _resolve(store: Store, cfg: Config, outbox_id: int, delivered: bool) -> None:
    from inboxops.outbound.outbox import Outbox, open_transport

    Outbox(store, open_transport(cfg.smtp, None), None).resolve(outbox_id, delivered)


async def resolve(request: Request) -> Response:
    web = _web(request)
    form = await web.form(request)
    outbox_id = int(request.path_params["outbox_id"])
    verdict = form.get("verdict")
    if verdict not in ("sent", "resend"):
        return await pages.outbox_page(request, error="sent or resend", status=400)
    try:
        await web.db(_resolve, web.cfg, outbox_id, verdict == "sent")
    except InboxopsError as e:
        return await pages.outbox_page(request, error=str(e), status=409)
    if verdict == "resend":
        web.send_soon()
    return await pages.outbox_page(request, notice=request.state.t("resolved_msg", id=outbox_id))


ROUTES = [
    ("/login", login, ["POST"]),
    ("/logout", logout, ["POST"]),
    ("/drafts/{draft_id:int}/approve", approve, ["POST"]),
    ("/drafts/{draft_id:int}/reject", reject, ["POST"]),
    ("/drafts/{draft_id:int}/category", category, ["POST"]),
    ("/meetings/{meeting_id:int}/reschedule", reschedule, ["POST"]),
    ("/meetings/{meeting_id:int}/cancel", cancel, ["POST"]),
    ("/outbox/{outbox_id:int}/resolve", resolve, ["POST"]),
]
