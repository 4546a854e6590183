"""Folder names in the server's own layout: its personal namespace prefix and hierarchy separator.

Config names folders with "/" between levels ("InboxOps/Approved"), whatever the server. Servers
differ: Dovecot's default is "/" with no prefix; Courier, Cyrus and many hosting panels use "."
and put every personal folder under "INBOX." (RFC 2342 NAMESPACE). Sent as written, the name is
refused there ("[CANNOT] ... must not have '/'", "nonexistent namespace"), so every name is
translated once, here, from what the server announces.

`Layout.name` is pure (tested without a server); `read_layout` asks the server; `create` and
`probe` are what `inboxops check` does to prove the names work before the daemon relies on them.
`statuses` is how an idle daemon watches the Drafts and approved folders: one command for both
where the server allows it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from imapclient import IMAPClient, imap_utf7
from imapclient.exceptions import IMAPClientError
from imapclient.imapclient import SEEN
from imapclient.response_parser import parse_response

from inboxops.errors import MailboxError

log = logging.getLogger(__name__)
INBOX = "INBOX"


@dataclass(frozen=True)
class Layout:
    """The personal namespace: prefix ("" or e.g. "INBOX.") and separator ("/", ".", or None
    for a flat server)."""

    prefix: str = ""
    separator: str | None = "/"

    def name(self, configured: str) -> str:
        """The server's name for a configured folder ("InboxOps/Approved" on a Courier-style
        server: "INBOX.InboxOps.Approved"). A name already written in the server's syntax
        (it starts with the prefix, or uses the separator and no "/") is kept as it is, so
        configs fixed by hand before this keep working."""
        configured = configured.strip().strip("/")
        if configured.upper() == INBOX:
            return INBOX  # RFC 3501 5.1: INBOX is INBOX in every namespace
        sep = self.separator
        if self.prefix and configured.upper().startswith(self.prefix.upper()):
            return configured
        if sep and sep != "/" and sep in configured and "/" not in configured:
            return self.prefix + configured
        parts = [p for p in configured.split("/") if p]
        if sep and sep != "/":
            for part in parts:
                if sep in part:
                    raise MailboxError(
                        f"folder {configured!r}: {part!r} contains {sep!r}, this server's "
                        "hierarchy separator; rename it or write the whole name as the server "
                        "does")
        return self.prefix + (sep or "/").join(parts)

    def describe(self) -> str:
        return (f"namespace prefix {self.prefix or '(none)'!s}, separator "
                f"{self.separator or '(none: flat)'}")


def read_layout(client: IMAPClient) -> Layout:
    """The personal namespace from NAMESPACE (RFC 2342), else the separator from LIST "" ""
    (RFC 3501 6.3.8) with no prefix."""
    if client.has_capability("NAMESPACE"):
        personal = client.namespace().personal
        if personal:
            prefix, separator = personal[0]
            return Layout(_text(prefix) or "", _text(separator) or None)
    listed = client.list_folders("", "")
    separator = _text(listed[0][1]) if listed else "/"
    return Layout("", separator or None)


def _text(value: str | bytes | None) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def create(client: IMAPClient, name: str) -> None:
    """CREATE a folder we need unless it exists; the server's refusal names the folder."""
    try:
        if not client.folder_exists(name):
            client.create_folder(name)
            client.subscribe_folder(name)  # so mail clients show it
    except IMAPClientError as e:
        raise MailboxError(f"cannot create folder {name!r}: the server said: {e}") from None


PROBE = (b"From: inboxops check <check@inboxops.invalid>\r\nSubject: inboxops check (it "
         b"deletes this itself)\r\nX-InboxOps-Check: yes\r\n\r\nA test of append and move.\r\n")


def probe(client: IMAPClient, folders: list[str]) -> str:
    """APPEND a test message to the first folder and MOVE it through the others (what
    publishing drafts and sorting do), then remove it by UID. It has no Message-ID and no
    draft header, so a running daemon takes it for neither a draft nor a correction."""
    if not folders:
        return "nothing to write"
    caps = client.capabilities()
    if b"UIDPLUS" not in caps:
        return "append and move not tried (no UIDPLUS: the test message could not be removed)"
    where = folders[0]
    try:
        client.append(where, PROBE, flags=[SEEN])
        for target in folders[1:]:
            client.select_folder(where)
            uids = client.search(["HEADER", "X-InboxOps-Check", "yes"])
            if not uids:
                raise MailboxError(f"folder {where!r}: the test message appended there is gone")
            if b"MOVE" in caps:
                client.move(uids, target)
            else:
                client.copy(uids, target)
                client.add_flags(uids, [b"\\Deleted"], silent=True)
                client.uid_expunge(uids)
            where = target
    except IMAPClientError as e:
        raise MailboxError(f"folder {where!r}: append/move refused: the server said: {e}"
                           ) from None
    finally:
        _remove_probe(client, where)
    return f"append and move ok ({' -> '.join(folders)})"


def _remove_probe(client: IMAPClient, folder: str) -> None:
    try:
        client.select_folder(folder)
        uids = client.search(["HEADER", "X-InboxOps-Check", "yes"])
        if uids:
            client.add_flags(uids, [b"\\Deleted"], silent=True)
            client.uid_expunge(uids)
    except IMAPClientError as e:
        log.warning("could not remove the check's test message from %s: %s", folder, e)


def statuses(client: IMAPClient, folders: list[str], items: list[str]) -> dict[str, Any]:
    """Folder -> its STATUS items ({} for a folder the server does not have).

    Two folders watched every minute are two STATUS commands a minute; with LIST-STATUS
    (RFC 5819) and a list of names (LIST-EXTENDED, RFC 5258 3) they are one: `LIST "" (a b)
    RETURN (STATUS (...))`. imapclient has no call for it, so it goes through its imaplib
    connection, and the LIST lines it leaves behind are dropped (a later LIST would read
    them). A refusal, or a folder it did not answer for, falls back to a STATUS each."""
    out: dict[str, Any] = {}
    caps = client.capabilities()
    if len(folders) > 1 and b"LIST-STATUS" in caps and b"LIST-EXTENDED" in caps:
        imap = client._imap
        names = " ".join(_quoted(f) for f in folders)
        try:
            typ, data = imap._simple_command("LIST", '""', f"({names})", "RETURN",
                                             f"(STATUS ({' '.join(items)}))")
            typ, data = imap._untagged_response(typ, data, "STATUS")
        except IMAPClientError as e:
            log.debug("LIST-STATUS refused (%s): a STATUS each", e)
        else:
            imap.untagged_responses.pop("LIST", None)
            if typ == "OK":
                out = {f: v for f, v in parse_statuses(data).items() if f in folders}
    for folder in folders:
        if folder in out:
            continue
        try:  # no LIST first: a missing folder is a NO, one command either way
            out[folder] = dict(client.folder_status(folder, items))
        except IMAPClientError:
            out[folder] = {}
    return out


def parse_statuses(lines: list[Any]) -> dict[str, dict[bytes, Any]]:
    """The untagged STATUS responses (RFC 3501 7.2.4) as folder -> {item: value}; the
    folder's name decoded from modified UTF-7 (RFC 3501 5.1.3)."""
    out: dict[str, dict[bytes, Any]] = {}
    for line in lines:
        if line is None:
            continue
        parsed = parse_response(list(line) if isinstance(line, tuple) else [line])
        if len(parsed) < 2 or not isinstance(parsed[-1], tuple):
            continue
        name, values = parsed[0], parsed[-1]
        folder = imap_utf7.decode(name) if isinstance(name, bytes) else str(name)
        out[folder] = {values[i].upper(): values[i + 1] for i in range(0, len(values) - 1, 2)}
    return out


def _quoted(folder: str) -> str:
    """A folder name as an IMAP quoted string, in modified UTF-7 (RFC 3501 5.1.3, 9)."""
    encoded = imap_utf7.encode(folder).decode("ascii")
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'
