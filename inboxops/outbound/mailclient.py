"""Approval in the assistant's own mail client (Outlook, Thunderbird, a phone).

Each pending draft is also put in the Drafts folder, carrying an id header. The assistant edits
it there if they wish, then moves it to the approved folder (or, with `approve_by = "flag"`,
flags it) to send it, or deletes it to reject it. Mail clients re-save a draft as a new message
with a new UID, so drafts are followed by the id header, never by UID. The CLI works on the
same queue: whichever channel decides first wins, and the other's copy is tidied away.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from imapclient import IMAPClient
from imapclient.imapclient import DRAFT, DRAFTS, SEEN

from inboxops.config import Config
from inboxops.errors import InboxopsError
from inboxops.intake.imap import ImapSource
from inboxops.intake.parse import parse_message
from inboxops.outbound.approval import DRAFT_HEADER, approve, draft_copy, reject
from inboxops.store import Store, now_iso

log = logging.getLogger(__name__)
_TOKEN = re.compile(rb"^X-InboxOps-Draft:[ \t]*(\d+)@(\S+)", re.IGNORECASE | re.MULTILINE)


def sync(store: Store, cfg: Config, source: ImapSource) -> None:
    """One pass: collect approvals, notice rejections, publish new drafts, tidy decided ones."""
    with source.session() as client:
        drafts_folder = cfg.approval.drafts_folder or client.find_special_folder(DRAFTS)
        if not drafts_folder:
            log.warning("no Drafts folder found; set [approval] drafts_folder")
            return
        if cfg.approval.approve_by == "flag":
            _collect_flagged(store, cfg, client, drafts_folder)
        else:
            approved = cfg.approval.approved_folder
            if not client.folder_exists(approved):
                client.create_folder(approved)
            _collect_approved(store, cfg, client, approved)
        present = _tokens(cfg, client, drafts_folder)
        _notice_deleted(store, cfg, present)
        _publish(store, cfg, client, drafts_folder, present)
        _tidy(store, client, drafts_folder, present)


def _tokens(cfg: Config, client: IMAPClient, folder: str) -> dict[int, list[int]]:
    """Draft id -> UIDs of the copies of it in `folder` (a client may keep several)."""
    client.select_folder(folder)
    uids = client.search(["HEADER", DRAFT_HEADER, f"@{cfg.domain}"])
    found: dict[int, list[int]] = {}
    if not uids:
        return found
    for uid, data in client.fetch(uids, [f"BODY.PEEK[HEADER.FIELDS ({DRAFT_HEADER})]"]).items():
        header = next((v for k, v in data.items() if k.startswith(b"BODY[HEADER")), b"")
        m = _TOKEN.search(header)
        if m and m.group(2).decode(errors="replace").lower() == cfg.domain.lower():
            found.setdefault(int(m.group(1)), []).append(uid)
    return found


def _collect_approved(store: Store, cfg: Config, client: IMAPClient, folder: str) -> None:
    """Every draft moved to the approved folder: approve it with the text as the assistant left
    it, then remove that copy (ours, not client mail)."""
    copies = _tokens(cfg, client, folder)  # selects the folder
    for draft_id, uids in copies.items():
        if _approve_copy(store, cfg, client, draft_id, max(uids)):
            _remove(client, uids)


def _collect_flagged(store: Store, cfg: Config, client: IMAPClient, folder: str) -> None:
    """With `approve_by = "flag"`: every draft flagged (starred) in Drafts is approved with the
    text of its flagged copy; then all its copies leave Drafts."""
    copies = _tokens(cfg, client, folder)  # selects the folder
    flagged = set(client.search(["FLAGGED", "HEADER", DRAFT_HEADER, f"@{cfg.domain}"]))
    for draft_id, uids in copies.items():
        chosen = [uid for uid in uids if uid in flagged]
        if chosen and _approve_copy(store, cfg, client, draft_id, max(chosen)):
            _remove(client, uids)


def _approve_copy(store: Store, cfg: Config, client: IMAPClient, draft_id: int, uid: int) -> bool:
    """Approve a draft with the text of one copy of it (in the selected folder), as the
    assistant left it. False if it could not be approved (the copy then stays)."""
    raw = client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
    text = parse_message(raw).full_text.strip() + "\n"
    row = store.one("SELECT state, body_text FROM drafts WHERE id = ?", (draft_id,))
    if row and row["state"] == "pending":
        try:
            approve(store, cfg, draft_id, text=None if text == row["body_text"] else text,
                    by="mail-client")
            log.debug("draft %s approved in the mail client", draft_id)
        except InboxopsError as e:  # e.g. a meeting whose slot has passed
            log.warning("draft %s could not be approved: %s", draft_id, e)
            return False
    return True


def _notice_deleted(store: Store, cfg: Config, present: dict[int, list[int]]) -> None:
    """A published draft gone from Drafts (and not approved) for a while was deleted: rejected."""
    now = datetime.now(UTC)
    grace = timedelta(seconds=cfg.approval.reject_after_seconds)
    for row in store.query("SELECT id, missing_since FROM drafts WHERE state = 'pending' AND "
                           "published_at IS NOT NULL"):
        if row["id"] in present:
            if row["missing_since"]:
                store.conn.execute("UPDATE drafts SET missing_since = NULL WHERE id = ?",
                                   (row["id"],))
            continue
        if row["missing_since"] is None:
            store.conn.execute("UPDATE drafts SET missing_since = ? WHERE id = ?",
                               (now_iso(), row["id"]))
            if grace:
                continue  # a re-save may be under way: look again later
        elif now - datetime.fromisoformat(row["missing_since"]) < grace:
            continue
        try:
            reject(store, row["id"], by="mail-client")
            log.debug("draft %s deleted in the mail client: rejected", row["id"])
        except InboxopsError as e:
            log.warning("draft %s: %s", row["id"], e)


def _publish(
    store: Store, cfg: Config, client: IMAPClient, folder: str, present: dict[int, list[int]]
) -> None:
    for row in store.query("SELECT id FROM drafts WHERE state = 'pending' AND "
                           "published_at IS NULL ORDER BY id"):
        if row["id"] not in present:
            client.append(folder, draft_copy(store, cfg, row["id"]), flags=[DRAFT, SEEN])
        with store.tx():
            store.conn.execute("UPDATE drafts SET published_at = ? WHERE id = ?",
                               (now_iso(), row["id"]))
            store.event("draft", row["id"], "published", {"folder": folder})


def _tidy(store: Store, client: IMAPClient, folder: str, present: dict[int, list[int]]) -> None:
    """Copies of drafts decided elsewhere (CLI, approved folder) leave Drafts."""
    if not present:
        return
    marks = ",".join("?" * len(present))
    decided = {r["id"] for r in store.query(
        f"SELECT id FROM drafts WHERE id IN ({marks}) AND state != 'pending'", list(present))}
    stale = [uid for draft_id in decided for uid in present[draft_id]]
    if stale:
        client.select_folder(folder)
        _remove(client, stale)


def _remove(client: IMAPClient, uids: list[Any]) -> None:
    """Remove our own draft copies: \\Deleted and UID EXPUNGE of those UIDs only (IMAP-8)."""
    client.add_flags(uids, [b"\\Deleted"], silent=True)
    if b"UIDPLUS" in client.capabilities():
        client.uid_expunge(uids)

