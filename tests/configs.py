"""Writes config.toml files for tests, pointing at the real servers the fixtures started."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inboxops.defaults import TEMPLATES

REPO = Path(__file__).resolve().parent.parent
STAFF = "staff@example.test"
MANAGER = "manager@example.test"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path: Path, sections: dict[str, dict[str, Any]]) -> Path:
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {_toml(value)}" for key, value in values.items() if value is not None]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def base_sections(tmp: Path) -> dict[str, dict[str, Any]]:
    return {
        "store": {"path": str(tmp / "inboxops.db")},
        "replies": {"templates": str(TEMPLATES), "company": "Test Office"},
        "meetings": {"timezone": "Europe/Bucharest", "staff": [STAFF],
                     "location": "Office, Str. Test 1"},
        "digest": {"to": [MANAGER], "time": "08:00", "enabled": False},
    }


def maildir_config(tmp: Path, **mailbox: Any) -> Path:
    sections = base_sections(tmp)
    sections["mailbox"] = {"kind": "maildir", "path": str(tmp / "mail"), "sort": "folder",
                           "poll_seconds": 0.2, **mailbox}
    sections["smtp"] = {"kind": "outbox-dir", "path": str(tmp / "outbox"),
                        "from": "Office <office@example.test>"}
    return write_config(tmp / "config.toml", sections)


def imap_config(
    tmp: Path, user: Any, sink: Any, mailbox: dict[str, Any] | None = None,
    smtp: dict[str, Any] | None = None,
) -> Path:
    """Config for the session Dovecot (STARTTLS, certificate verified) and an SMTP sink."""
    dovecot = user.dovecot
    secret = tmp / "imap-password"
    secret.write_text(user.password + "\n")
    sections = base_sections(tmp)
    sections["mailbox"] = {
        "kind": "imap", "host": "127.0.0.1", "port": dovecot.imap_port, "security": "starttls",
        "ca_file": str(dovecot.cert_path), "username": user.address,
        "password_file": str(secret), "sort": "keyword", "poll_seconds": 30,
        **(mailbox or {}),
    }
    sections["smtp"] = {
        "kind": "smtp", "host": "127.0.0.1", "port": sink.port, "security": "none",
        "from": f"Office <{user.address}>", "timeout": 10, **(smtp or {}),
    }
    return write_config(tmp / "config.toml", sections)
