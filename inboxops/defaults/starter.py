"""The starting config.toml, generated from the config schema (STYLE habit 4).

Every key comes from the pydantic models in `inboxops.config`: its default is the value written,
its description the comment beside it, and a section's docstring the comment on its header. So
the documented keys and the validated keys cannot drift apart: `inboxops init` writes this text,
the repository's own config.toml is this text (a test compares them), and a key added to the
schema appears here with no other edit. Regenerate the repository's copy with
`python -m inboxops.defaults.starter > config.toml`.
"""

from __future__ import annotations

import textwrap
from datetime import time
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from inboxops.config import Config, MeetingRoute

WIDTH = 100
COMMENT_COLUMN = 31

HEADER = """\
# inboxops configuration: the starting point written by `inboxops init` (a local Maildir in, an
# outbox folder out; no servers needed), with every key and its default. Relative paths are
# relative to this file. Passwords are never written here: name an environment variable, a file
# or a systemd credential instead. Generated from the schema in inboxops/config.py.
"""

# Where a fresh install wants something other than the built-in default, and why: the Maildir
# demo should draft a dropped file within a second and show sorting as folders you can see.
STARTING_VALUES: dict[str, dict[str, Any]] = {
    "mailbox": {"sort": "folder", "poll_seconds": 1},
}

# Keys without a default are written commented out; these are the values shown for them.
# (A new optional key can carry its own with `Field(..., examples=[...])`.)
EXAMPLES: dict[tuple[str, str], Any] = {
    ("mailbox", "ca_file"): "/etc/inboxops/ca.pem",
    ("mailbox", "password_env"): "INBOXOPS_IMAP_PASSWORD",
    ("mailbox", "password_file"): "/etc/inboxops/imap-password",
    ("smtp", "ca_file"): "/etc/inboxops/ca.pem",
    ("smtp", "username"): "office@example.com",
    ("smtp", "password_env"): "INBOXOPS_SMTP_PASSWORD",
    ("smtp", "password_file"): "/etc/inboxops/smtp-password",
    ("mailbox", "client_secret_env"): "INBOXOPS_OAUTH_SECRET",
    ("mailbox", "client_secret_file"): "/etc/inboxops/oauth-secret",
    ("mailbox", "token_file"): "/var/lib/inboxops/oauth-token.json",
    ("smtp", "client_secret_env"): "INBOXOPS_OAUTH_SECRET",
    ("smtp", "client_secret_file"): "/etc/inboxops/oauth-secret",
    ("smtp", "token_file"): "/var/lib/inboxops/oauth-token.json",
    ("digest", "ageing_days"): 2,
    ("meetings.routes", "staff"): ["sales@example.com"],
    ("meetings.routes", "keywords"): ["offer", "ofertă", "price list"],
    ("meetings.routes", "domains"): ["bigclient.example"],
}

# Files the daemon writes: with a state directory (systemd's StateDirectory=) they go there,
# otherwise under var/ beside the config file.
STATE_KEYS = (("mailbox", "path"), ("smtp", "path"), ("store", "path"),
              ("web", "users_file"), ("web", "secret_file"))


def toml_value(value: Any) -> str:
    """One value as TOML (the subset the schema uses: scalars, paths, times, lists, tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, Path | PurePosixPath):
        value = value.as_posix()
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    raise TypeError(f"no TOML form for {value!r}")


def _line(assignment: str, comment: str) -> list[str]:
    """`key = value   # comment` when it fits in WIDTH, else the comment wrapped above it."""
    if not comment:
        return [assignment]
    inline = f"{assignment.ljust(COMMENT_COLUMN - 2)}  # {comment}"
    if len(inline) <= WIDTH:
        return [inline]
    wrapped = textwrap.wrap(comment, WIDTH - 2, break_on_hyphens=False)
    return [f"# {part}" for part in wrapped] + [assignment]


def _section_comment(model: type[BaseModel]) -> str:
    first = (model.__doc__ or "").strip().splitlines()[0]
    return first.split(": ", 1)[1].rstrip(".") if ": " in first else ""


def _example(section: str, name: str, field: FieldInfo) -> Any:
    if field.examples:
        return field.examples[0]
    return EXAMPLES.get((section, name), "")


def _route_example() -> list[str]:
    """A commented [[meetings.routes]] table: lists of tables cannot be shown as one line."""
    lines = ["# instead of routes = [], one or more tables such as:", "# [[meetings.routes]]"]
    for name, field in MeetingRoute.model_fields.items():
        value = toml_value(_example("meetings.routes", name, field))
        lines.append(f"# {name} = {value}".ljust(COMMENT_COLUMN + 12) + f"  # {field.description}")
    return lines


def _fields(model: type[BaseModel]) -> list[tuple[str, FieldInfo]]:
    """The model's fields in reading order: a mixin's (the password references) right after
    `username`, where an admin looks for them, instead of first."""
    own = [(n, f) for n, f in model.model_fields.items() if n in model.__annotations__]
    mixed = [(n, f) for n, f in model.model_fields.items() if n not in model.__annotations__]
    at = next((i + 1 for i, (n, _) in enumerate(own) if n == "username"), len(own))
    return own[:at] + mixed + own[at:]


def config_toml(state_dir: Path | None = None) -> str:
    """The commented config.toml: every section and key of the schema, in schema order."""
    out = [HEADER.rstrip("\n")]
    for section, section_field in Config.model_fields.items():
        model = section_field.annotation
        if section_field.exclude or not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        out.append("")
        out += _line(f"[{section}]", _section_comment(model))
        starting = STARTING_VALUES.get(section, {})
        for name, field in _fields(model):
            key = field.alias or name
            comment = field.description or ""
            if name in starting:
                value: Any = starting[name]
                comment += f" (built-in default: {toml_value(field.default)})"
            else:
                value = field.default
            if state_dir is not None and (section, name) in STATE_KEYS:
                value = state_dir / PurePosixPath(str(value)).relative_to("var")
            if value is None:
                out += _line(f"# {key} = {toml_value(_example(section, name, field))}", comment)
            else:
                out += _line(f"{key} = {toml_value(value)}", comment)
            if section == "meetings" and name == "routes":
                out += _route_example()
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(config_toml(), end="")
