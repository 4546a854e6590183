"""Approval in the assistant's own mail client (Outlook, Thunderbird, neomutt, a phone).

Each pending draft is also put in the Drafts folder, carrying an id header. The assistant edits
it there if they wish, then moves it to the approved folder (or, with `approve_by = "flag"`,
flags it) to send it, or deletes it to reject it. Mail clients re-save a draft as a new message
with a new UID, so drafts are followed by their content, never by UID. The CLI works on the
same queue: whichever channel decides first wins, and the other's copy is tidied away.

The rule that never destroys the assistant's work: a copy they approved (put in the approved
folder, or flagged) is acted on, or it stays where it is and the assistant is told why (a
WARNING and a `copy_kept` event). It is removed only once it was sent, or when what it says
was already decided elsewhere. A human act wins over the timeout: a draft rejected because
its copy was gone from Drafts for a while (neomutt removes it while the assistant edits it)
comes back when a copy of it turns up again. A copy is found by our id header, else by
In-Reply-To/References, else by subject and recipient (clients that drop headers).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from imapclient import IMAPClient
from imapclient.imapclient import DRAFT, DRAFTS, SEEN

from inboxops.config import Config
from inboxops.errors import InboxopsError
from inboxops.outbound.approval import (
    DRAFT_HEADER,
    approve,
    draft_copy,
    reject,
    revivable,
    revive,
)
from inboxops.outbound.edited import (
    CopyKeys,
    EditedCopy,
    UnusableCopy,
    copy_keys,
    read_copy,
    same_text,
)
from inboxops.outbound.folders import Layout, read_layout
from inboxops.responders.compose import address, reply_subject
from inboxops.store import Store, drafts, events, now_iso
from inboxops.store import outbox as stored_outbox

log = logging.getLogger(__name__)
_TOKEN = re.compile(rb"^X-InboxOps-Draft:[ \t]*(\d+)@(\S+)", re.IGNORECASE | re.MULTILINE)
_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]", re.IGNORECASE)
KEPT = "copy_kept"  # the event telling the assistant a copy was left where it is, and why


@dataclass
class _Copy:
    """One approved copy: where it is, its bytes, the draft it belongs to (if found)."""

    folder: str
    validity: int
    uid: int
    raw: bytes
    draft_id: int | None = None
    why: str = ""  # why no draft, when draft_id is None


class CopiesSeen:
    """Which draft each copy in the Drafts folder is, by UID, kept between rounds.

    A message never changes on an IMAP server (RFC 3501 2.3.1.1: a UID names the same bytes
    for as long as UIDVALIDITY stays), so a copy's id header is read once: a round then asks
    only for the copies it has not seen, not again for the header of every pending draft
    (1,000 of them for an assistant who is behind). A new UIDVALIDITY forgets everything."""

    def __init__(self) -> None:
        self.folder = ""
        self.validity: int | None = None
        self.drafts: dict[int, int | None] = {}  # UID -> draft id (None: not one of ours)

    def known(self, folder: str, validity: int) -> dict[int, int | None]:
        """The UIDs seen in this folder at this UIDVALIDITY (emptied when either changed)."""
        if (folder, validity) != (self.folder, self.validity):
            self.folder, self.validity, self.drafts = folder, validity, {}
        return self.drafts


def sync(
    store: Store, cfg: Config, session: Callable[[], AbstractContextManager[IMAPClient]],
    layout: Callable[[IMAPClient], Layout] = read_layout, seen: CopiesSeen | None = None,
) -> None:
    """One pass: collect approvals, notice rejections, publish new drafts, tidy decided ones.
    Configured folder names are put in the server's layout (`inboxops.outbound.folders`).
    `session` gives the connection (the caller's kept one); `seen` remembers the copies read
    in earlier rounds."""
    seen = CopiesSeen() if seen is None else seen
    with session() as client:
        names = layout(client)
        drafts_folder = (names.name(cfg.approval.drafts_folder) if cfg.approval.drafts_folder
                         else client.find_special_folder(DRAFTS))
        if not drafts_folder:
            log.warning("no Drafts folder found; set [approval] drafts_folder")
            return
        if cfg.approval.approve_by == "flag":
            kept = _collect_flagged(store, cfg, client, drafts_folder, seen)
        else:
            approved = names.name(cfg.approval.approved_folder)
            if not client.folder_exists(approved):
                client.create_folder(approved)
            _collect_approved(store, cfg, client, approved)
            kept = set()
        present = _tokens(cfg, client, drafts_folder, seen)
        _notice_deleted(store, cfg, present)
        _publish(store, cfg, client, drafts_folder, present, seen)
        _tidy(store, client, drafts_folder, present, kept)
        _leave(client)


def _tokens(
    cfg: Config, client: IMAPClient, folder: str, seen: CopiesSeen
) -> dict[int, list[int]]:
    """Draft id -> UIDs of the copies of it in `folder` (a client may keep several). Selects
    the folder; only copies not seen in an earlier round are fetched."""
    known = seen.known(folder, _select(client, folder))
    uids = set(client.search(["HEADER", DRAFT_HEADER, f"@{cfg.domain}"]))
    for gone in set(known) - uids:
        del known[gone]
    new = sorted(uids - set(known))
    for start in range(0, len(new), 500):
        fetched = client.fetch(new[start:start + 500],
                               [f"BODY.PEEK[HEADER.FIELDS ({DRAFT_HEADER})]"])
        for uid, data in fetched.items():
            header = next((v for k, v in data.items() if k.startswith(b"BODY[HEADER")), b"")
            m = _TOKEN.search(header)
            ours = m and m.group(2).decode(errors="replace").lower() == cfg.domain.lower()
            known[uid] = int(m.group(1)) if m and ours else None
    found: dict[int, list[int]] = {}
    for uid in sorted(uids):
        draft_id = known.get(uid)
        if draft_id is not None:
            found.setdefault(draft_id, []).append(uid)
    return found


def _leave(client: IMAPClient) -> None:
    """Leave Drafts selected by no one: the next look at the folders is a STATUS, which RFC
    3501 6.3.10 says not to use on the selected mailbox. UNSELECT (RFC 3691), never CLOSE
    (which would expunge other clients' \\Deleted mail, IMAP-8); else EXAMINE INBOX."""
    if b"UNSELECT" in client.capabilities():
        client.unselect_folder()
    else:
        client.select_folder("INBOX", readonly=True)


def _select(client: IMAPClient, folder: str) -> int:
    """Select `folder`; return its UIDVALIDITY (part of where a kept copy is, for the report)."""
    return int(client.select_folder(folder)[b"UIDVALIDITY"])


def _fetch(client: IMAPClient, folder: str, validity: int, uids: list[int]) -> list[_Copy]:
    """The copies at `uids` in the selected folder (BODY.PEEK: flags stay as they are)."""
    out = []
    for uid, data in client.fetch(uids, ["BODY.PEEK[]"]).items() if uids else ():
        out.append(_Copy(folder, validity, uid, bytes(data[b"BODY[]"])))
    return sorted(out, key=lambda c: c.uid)


def _collect_approved(store: Store, cfg: Config, client: IMAPClient, folder: str) -> None:
    """Everything in the approved folder is the assistant saying "send this": find the draft
    of each copy and send it as they left it; a copy is removed only once acted on."""
    validity = _select(client, folder)
    copies = _fetch(client, folder, validity, client.search(["NOT", "DELETED"]))
    for copy in copies:
        copy.draft_id, copy.why = match(store, cfg, copy_keys(copy.raw, DRAFT_HEADER))
    for draft_id, group in _by_draft(store, copies).items():
        if draft_id is None:
            continue
        if _settle(store, cfg, draft_id, group):
            _remove(client, [c.uid for c in group])


def _collect_flagged(
    store: Store, cfg: Config, client: IMAPClient, folder: str, seen: CopiesSeen
) -> set[int]:
    """With `approve_by = "flag"`: every draft flagged (starred) in Drafts is approved with the
    text of its flagged copy; then all its copies leave Drafts. Returns the UIDs kept."""
    copies = _tokens(cfg, client, folder, seen)  # selects the folder
    flagged = set(client.search(["FLAGGED", "HEADER", DRAFT_HEADER, f"@{cfg.domain}"]))
    kept: set[int] = set()
    for draft_id, uids in copies.items():
        if not flagged.intersection(uids):
            continue
        validity = _select(client, folder)
        chosen = _fetch(client, folder, validity, [uid for uid in uids if uid in flagged])
        for copy in chosen:
            copy.draft_id = draft_id
        if _settle(store, cfg, draft_id, chosen):
            _remove(client, uids)
        else:
            kept.update(c.uid for c in chosen)
    return kept


def _by_draft(store: Store, copies: list[_Copy]) -> dict[int | None, list[_Copy]]:
    """Copies grouped by their draft; those without one are kept and reported here."""
    groups: dict[int | None, list[_Copy]] = {}
    for copy in copies:
        if copy.draft_id is None:
            _keep(store, copy, copy.why)
        groups.setdefault(copy.draft_id, []).append(copy)
    return groups


def _settle(store: Store, cfg: Config, draft_id: int, group: list[_Copy]) -> bool:
    """Act on the approved copies of one draft; True if they may now be removed (sent as
    they say, or saying what was already decided), False if kept and reported."""
    try:
        edits = [read_copy(c.raw) for c in group]
    except UnusableCopy as e:
        return _keep_all(store, group, f"draft {draft_id}: not sent: {e}")
    first = edits[0]
    if any(not _same_edit(first, other) for other in edits[1:]):
        return _keep_all(store, group, f"{len(group)} different copies of draft {draft_id} "
                         "were approved; leave only the one to send")
    draft = store.require("drafts", draft_id)
    if draft["state"] == "pending" or revivable(draft):
        try:
            with store.tx():
                if draft["state"] != "pending":
                    revive(store, draft_id)
                approve(store, cfg, draft_id, text=first.text, html=first.html,
                        subject=first.subject, to=first.to, cc=first.cc, bcc=first.bcc,
                        by="mail-client")
        except InboxopsError as e:  # a meeting time that passed, a race with the CLI
            return _keep_all(store, group, f"draft {draft_id}: not sent: {e}")
        log.debug("draft %s approved in the mail client", draft_id)
        return True
    if _same_edit(first, decided(store, draft)):
        return True  # decided elsewhere as this copy says: nothing of theirs is lost
    return _keep_all(store, group, f"draft {draft_id} is already {draft['state']} (by "
                     f"{draft['decided_by'] or 'inboxops'}); this copy differs from that")


def _same_edit(a: EditedCopy, b: EditedCopy) -> bool:
    """Two edits that would send the same mail (an absent Subject or To changes nothing)."""
    if not same_text(a.text, b.text):
        return False
    if a.subject is not None and b.subject is not None and a.subject != b.subject:
        return False
    if a.to is None or b.to is None:
        return a.cc == b.cc and a.bcc == b.bcc
    return a.recipients(()) == b.recipients(())


def decided(store: Store, draft: dict[str, Any]) -> EditedCopy:
    """What was decided for a draft: the reply as queued if it was approved, else the draft."""
    row = stored_outbox.first_reply(store, draft["id"])
    if row is None:
        return EditedCopy(text=draft["body_text"], subject=draft["subject"],
                          to=(address(draft["to_addr"], draft["to_name"]),))
    try:
        sent = read_copy(bytes(row["raw"]))
    except UnusableCopy:  # our own bytes: cannot happen, but never lose a copy over it
        return EditedCopy(text="", subject=None)
    shown = sent.recipients(())
    hidden = tuple(a for a in json.loads(row["rcpts"]) if a.lower() not in shown)
    return EditedCopy(text=sent.text, subject=sent.subject, to=sent.to, cc=sent.cc,
                      bcc=tuple(address(a) for a in hidden))


def match(store: Store, cfg: Config, keys: CopyKeys) -> tuple[int | None, str]:
    """The draft a copy belongs to: by our id header, then In-Reply-To/References, then by
    subject and recipient. (None, why) if there is none, or more than one it could be."""
    if keys.token:
        number, _, domain = keys.token.partition("@")
        if number.isdigit() and domain.strip().lower() == cfg.domain.lower():
            if drafts.exists(store, int(number)):
                return int(number), ""
            return None, f"its {DRAFT_HEADER} names draft {number}, which does not exist"
    ours = cfg.smtp.from_address.addr_spec.lower()
    if keys.sender != ours:  # a client's own mail put here by mistake is no draft of ours
        return None, f"no {DRAFT_HEADER} and not written as {ours} (From: {keys.sender or '-'})"
    for ref in [keys.in_reply_to, *reversed(keys.references)]:
        rows = drafts.answering(store, ref) if ref else []
        if rows:
            return _pick(rows, "answer the message it replies to")
    base = reply_subject(keys.subject).lower()
    if keys.subject and keys.to:
        rows = [r for r in drafts.open_to(store, sorted(keys.to))
                if reply_subject(r["subject"]).lower() == base]
        if rows:
            return _pick(rows, "have its subject and recipient")
    return None, "no draft matches it (no id header, no known In-Reply-To, no draft with its " \
        "subject and recipient)"


def _pick(rows: list[dict[str, Any]], how: str) -> tuple[int | None, str]:
    """The one open draft (pending, or rejected by the timeout) among candidates; else, with
    none open, the latest (already decided: the caller keeps the copy unless it agrees)."""
    open_ = [r for r in rows if r["state"] == "pending" or revivable(r)]
    if len(open_) == 1:
        return open_[0]["id"], ""
    if open_:
        ids = ", ".join(str(r["id"]) for r in open_)
        return None, f"ambiguous: drafts {ids} all {how}; approve one with `inboxops approve`"
    return rows[-1]["id"], ""


def _keep_all(store: Store, group: list[_Copy], why: str) -> bool:
    for copy in group:
        _keep(store, copy, why)
    return False


def _keep(store: Store, copy: _Copy, why: str) -> None:
    """Leave a copy where it is and tell the assistant, once per copy and reason."""
    detail = json.dumps({"folder": copy.folder, "uid": copy.uid, "uidvalidity": copy.validity,
                         "reason": why}, sort_keys=True)
    with store.tx():
        if events.logged(store, "draft", copy.draft_id, KEPT, detail):
            return
        store.event("draft", copy.draft_id, KEPT, detail, level=logging.WARNING)


def _notice_deleted(store: Store, cfg: Config, present: dict[int, list[int]]) -> None:
    """A published draft gone from Drafts (and not approved) for a while was deleted: rejected."""
    now = datetime.now(UTC)
    grace = timedelta(seconds=cfg.approval.reject_after_seconds)
    for row in drafts.published_pending(store):
        if row["id"] in present:
            if row["missing_since"]:
                drafts.set_missing_since(store, row["id"], None)
            continue
        if row["missing_since"] is None:
            drafts.set_missing_since(store, row["id"], now_iso())
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
    store: Store, cfg: Config, client: IMAPClient, folder: str, present: dict[int, list[int]],
    seen: CopiesSeen,
) -> None:
    for draft_id in drafts.unpublished(store):
        if draft_id not in present:
            said = client.append(folder, draft_copy(store, cfg, draft_id), flags=[DRAFT, SEEN])
            # RFC 4315 (UIDPLUS): the new copy's UID, so no later round fetches its header
            m = _APPENDUID.search(said if isinstance(said, bytes) else b"")
            if m and int(m.group(1)) == seen.validity and seen.folder == folder:
                seen.drafts[int(m.group(2))] = draft_id
        with store.tx():
            drafts.set_published(store, draft_id)
            store.event("draft", draft_id, "published", {"folder": folder})


def _tidy(
    store: Store, client: IMAPClient, folder: str, present: dict[int, list[int]],
    kept: set[int],
) -> None:
    """Copies of drafts decided elsewhere (CLI, approved folder) leave Drafts; a copy of one
    the timeout rejected is a re-save after a long edit, and brings the draft back."""
    if not present:
        return
    stale = []
    for draft in drafts.decided_among(store, list(present)):
        if revivable(draft):
            try:
                revive(store, draft["id"])
            except InboxopsError as e:  # its meeting time went to another meeting
                validity = _select(client, folder)
                for uid in present[draft["id"]]:
                    _keep(store, _Copy(folder, validity, uid, b"", draft["id"]), str(e))
            continue
        stale += [uid for uid in present[draft["id"]] if uid not in kept]
    if stale:
        client.select_folder(folder)
        _remove(client, stale)


def _remove(client: IMAPClient, uids: list[Any]) -> None:
    """Remove our own draft copies: \\Deleted and UID EXPUNGE of those UIDs only (IMAP-8)."""
    client.add_flags(uids, [b"\\Deleted"], silent=True)
    if b"UIDPLUS" in client.capabilities():
        client.uid_expunge(uids)
