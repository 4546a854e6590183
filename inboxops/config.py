"""One config schema: every key declared once with type, default and help (STYLE habit 4).

The same declarations validate config.toml, produce the error messages (naming file, section, key,
the bad value and what is expected) and document the keys. Secrets are only ever referenced
(`password_env`, `password_file`, or systemd's $CREDENTIALS_DIRECTORY), never written in the file.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
from datetime import time
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from inboxops import CONFIG_ENV_VAR
from inboxops.errors import ConfigError

DEFAULT_PATH = "config.toml"
ENV_VAR = CONFIG_ENV_VAR
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


class Section(BaseModel):
    """Base for sections: unknown keys are errors, so a typo never silently falls back."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Secret(Section):
    """Mixin: a password held by reference only."""

    password_env: str | None = Field(None, description="environment variable holding the password")
    password_file: Path | None = Field(None, description="file holding the password (first line)")

    def password(self, section: str) -> str:
        """Resolve the password; raise ConfigError naming the reference if it cannot be read."""
        if self.password_file:
            try:
                return self.password_file.read_text(encoding="utf-8").splitlines()[0].strip()
            except (OSError, IndexError) as e:
                raise ConfigError(
                    f"[{section}] password_file: cannot read {self.password_file} ({e}). "
                    "Fix: create the file with the password on its first line."
                ) from None
        if self.password_env:
            creds = os.environ.get("CREDENTIALS_DIRECTORY")
            if creds and (Path(creds) / self.password_env).is_file():
                return (Path(creds) / self.password_env).read_text().strip()
            value = os.environ.get(self.password_env)
            if value is None:
                raise ConfigError(
                    f"[{section}] password_env: environment variable {self.password_env} is not "
                    "set. Fix: export it, or use password_file."
                )
            return value
        raise ConfigError(
            f"[{section}] needs password_env or password_file. "
            "Fix: add password_env = \"NAME_OF_VARIABLE\"."
        )


def _check_security(host: str, security: str, section: str) -> None:
    """Plain-text connections are only allowed to loopback (credentials would travel clear)."""
    if security != "none":
        return
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f'security = "none" is only allowed for a loopback host, not {host!r}; '
            'use "tls" or "starttls"'
        )


class OAuth2(Section):
    """Mixin: sign in with OAuth2 (SASL XOAUTH2/OAUTHBEARER) instead of a password.

    `inboxops auth login` gets the first refresh token; the token set lives in `token_file`
    (0600, next to the SQLite file), never in config. The provider decides the endpoints and
    the default scopes (`inboxops.auth.providers`); "generic" takes them from here.
    """

    auth: Literal["password", "oauth2"] = Field(
        "password", description='"password" or "oauth2" (sign in with `inboxops auth login`)'
    )
    provider: Literal["microsoft", "google", "generic"] = Field(
        "microsoft", description='oauth2: "microsoft" (Microsoft 365), "google" (Gmail, '
        'Google Workspace) or "generic" (the *_url keys below)'
    )
    client_id: str = Field("", description="oauth2: the application (client) id you registered")
    client_secret_env: str | None = Field(
        None, description="oauth2: environment variable (or systemd credential) holding the "
        "client secret, where the provider issues one (Google desktop apps do)"
    )
    client_secret_file: Path | None = Field(
        None, description="oauth2: file holding the client secret (first line)"
    )
    tenant: str = Field(
        "organizations", description='oauth2, microsoft: your directory (tenant) id or domain; '
        '"organizations" = any work or school account'
    )
    scopes: list[str] = Field(
        [], description="oauth2: scopes to ask for; empty = the provider's mail scopes"
    )
    authorize_url: str = Field("", description="oauth2, generic: authorization endpoint")
    token_url: str = Field("", description="oauth2, generic: token endpoint")
    device_url: str = Field(
        "", description="oauth2, generic: device authorization endpoint (RFC 8628)"
    )
    token_file: Path | None = Field(
        None, description="oauth2: where the token set is kept (0600); empty = "
        "oauth-<provider>-<username>.json next to the [store] database"
    )
    _config_path: Path | None = PrivateAttr(None)  # for the "run this to fix it" messages

    @model_validator(mode="after")
    def _oauth2(self) -> OAuth2:
        if self.auth != "oauth2":
            return self
        if not self.client_id:
            raise ValueError('auth = "oauth2" needs client_id (the id of the app you '
                             "registered with the provider; see README, OAuth2)")
        if self.provider == "generic" and not (self.token_url and
                                               (self.authorize_url or self.device_url)):
            raise ValueError('provider = "generic" needs token_url and authorize_url or '
                             "device_url")
        for url in (self.authorize_url, self.token_url, self.device_url):
            if url and not _https_or_loopback(url):
                raise ValueError(f"use https:// for {url!r} (tokens travel there)")
        return self

    def client_secret(self, section: str) -> str | None:
        """The client secret, if one is configured (public clients have none)."""
        if not (self.client_secret_env or self.client_secret_file):
            return None
        return Secret(password_env=self.client_secret_env,  # type: ignore[call-arg]
                      password_file=self.client_secret_file).password(section)

    def login_command(self, section: str) -> str:
        """The exact command that signs this section in again."""
        where = f" --config {self._config_path}" if self._config_path else ""
        return f"inboxops{where} auth login --{section}"


def _https_or_loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    try:
        loopback = parts.hostname == "localhost" or ipaddress.ip_address(
            parts.hostname or "").is_loopback
    except ValueError:
        loopback = False
    return parts.scheme == "http" and loopback


class MailboxConfig(OAuth2, Secret):
    """[mailbox]: where client mail arrives."""

    kind: Literal["imap", "maildir"] = Field("maildir", description='"imap" or "maildir"')
    path: Path = Field(Path("var/mail"), description="Maildir folder (maildir only)")
    host: str = Field("imap.example.com", description="IMAP server host name")
    port: int = Field(993, ge=1, le=65535, description="IMAP port: 993 for tls, 143 for starttls")
    security: Literal["tls", "starttls", "none"] = Field(
        "tls", description='"tls", "starttls" or "none" (loopback only)'
    )
    ca_file: Path | None = Field(None, description="extra CA certificate to trust (PEM)")
    username: str = Field("office@example.com", description="IMAP login name")
    folder: str = Field("INBOX", description="folder to watch")
    sort: Literal["keyword", "folder", "off"] = Field(
        "keyword", description='how to mark the category: "keyword", "folder" or "off"'
    )
    folder_prefix: str = Field(
        "InboxOps", description="parent folder for category folders (written under the "
        "server's namespace prefix, with its separator: INBOX.InboxOps.Inquiry on Courier)"
    )
    sent_folder: str = Field("", description="Sent folder; empty = find by special-use \\Sent")
    save_sent: Literal["auto", "always", "never"] = Field(
        "auto", description="append a copy of sent replies to the Sent folder (imap only)"
    )
    idle: bool = Field(True, description="use IMAP IDLE when the server offers it")
    poll_seconds: float = Field(
        60, gt=0, description="poll interval without IDLE (maildir: directory scan interval)"
    )
    batch_size: int = Field(200, ge=1, le=5000, description="messages fetched per batch")
    authserv_id: list[str] = Field(
        [], description="the authserv-id(s) your own mail server writes in "
        "Authentication-Results; automatic mail goes only to senders it saw pass DMARC (or "
        "aligned SPF/DKIM), so with none set none is sent, and when set only such calendar "
        "answers count (LOOP-6)"
    )
    first_start: Literal["all", "none", "recent"] = Field(
        "all", description='mail already there on the very first start: "all" processed, '
        '"none" ignored, or "recent" (the last first_start_days days)'
    )
    first_start_days: int = Field(
        7, ge=1, le=3650, description='with first_start = "recent": how many days back'
    )

    @model_validator(mode="after")
    def _security(self) -> MailboxConfig:
        if self.kind == "imap":
            _check_security(self.host, self.security, "mailbox")
        return self


class SmtpConfig(OAuth2, Secret):
    """[smtp]: how replies leave."""

    kind: Literal["smtp", "outbox-dir"] = Field("outbox-dir", description='"smtp" or "outbox-dir"')
    path: Path = Field(Path("var/outbox"), description="folder for sent .eml files (outbox-dir)")
    host: str = Field("smtp.example.com", description="SMTP server host name")
    port: int = Field(587, ge=1, le=65535, description="SMTP port: 587 starttls, 465 tls")
    security: Literal["tls", "starttls", "none"] = Field(
        "starttls", description='"tls", "starttls" or "none" (loopback only)'
    )
    ca_file: Path | None = Field(None, description="extra CA certificate to trust (PEM)")
    username: str | None = Field(None, description="SMTP login; empty = no AUTH")
    from_: str = Field(
        "Office <office@example.com>", alias="from", description="From of every reply"
    )
    timeout: float = Field(60, gt=0, description="seconds per SMTP operation")

    @field_validator("from_")
    @classmethod
    def _from(cls, v: str) -> str:
        addr = parseaddr(v)[1]
        if not _EMAIL.match(addr):
            raise ValueError(f'expected "Name <address@domain>", got {v!r}')
        return v

    @model_validator(mode="after")
    def _security(self) -> SmtpConfig:
        if self.kind == "smtp":
            _check_security(self.host, self.security, "smtp")
            if self.auth == "oauth2" and not self.username:
                raise ValueError('auth = "oauth2" needs username (the account to sign in as)')
        return self

    @property
    def from_address(self) -> Address:
        name, addr = parseaddr(self.from_)
        return Address(display_name=name, addr_spec=addr)


class StoreConfig(Section):
    """[store]: the SQLite database holding all state."""

    path: Path = Field(Path("var/inboxops.db"), description="SQLite database file")


class ClassifyConfig(Section):
    """[classify]: sorting."""

    chain: list[str] = Field(
        ["signals", "content", "style", "learned"], description="classifiers to run, in order: "
        "headers, en/ro rules, how it is written, the assistant's corrections"
    )
    min_confidence: float = Field(
        0.5, ge=0, le=1, description="below this, no draft: the assistant sorts it"
    )
    review_below: float = Field(
        0.83, ge=0, le=1,
        description="below this (calibrated) confidence a message is sorted to review: "
        "InboxOps/Review or $Review, 'needs you' in the digest and drafts; the default is the "
        "threshold the packaged calibration chose for 95% precision",
    )
    own_addresses: list[str] = Field(
        [], description="our own addresses and aliases besides smtp.from (never answered)"
    )
    options: dict[str, dict[str, float | int | bool | str]] = Field(
        {}, description="per-classifier settings, e.g. {learned = {weight = 6.0}}"
    )


class RepliesConfig(Section):
    """[replies]: drafting."""

    templates: Path = Field(
        Path("templates"), description="your templates, <category>.<lang>.subject.txt, "
        ".body.txt, .body.html: each file here replaces the packaged one of that name, the rest "
        "are packaged (the folder may be absent; inboxops init --templates copies them to edit)"
    )
    company: str = Field("Example Office", description="company name used in templates")
    signature: str = Field("The Office team", description="signature used in templates")
    html: bool = Field(True, description="also send an HTML part when a .body.html exists")
    default_language: Literal["en", "ro"] = Field("en", description="when detection is unsure")
    auto_ack: list[Literal["inquiry", "complaint", "meeting"]] = Field(
        [], description='categories that get an automatic acknowledgement, e.g. ["complaint"]'
    )
    auto_ack_days: int = Field(
        7, ge=1, le=60, description="at most one acknowledgement per sender in this many days"
    )
    draft_window_days: int = Field(
        7, ge=0, description="mail older than this many days (by its Date) is sorted and "
        "listed, but gets a draft only when asked (`inboxops redraft ID`); 0 drafts all mail"
    )


class ApprovalConfig(Section):
    """[approval]: deciding on drafts from the assistant's own mail client (IMAP only)."""

    mail_client: bool = Field(
        True, description="put each draft in Drafts; approve by moving it to approved_folder, "
        "reject by deleting it"
    )
    drafts_folder: str = Field("", description="drafts folder; empty = special-use \\Drafts")
    approved_folder: str = Field(
        "InboxOps/Approved", description="move a draft here to send it; levels split by \"/\" "
        "whatever the server uses (inboxops check prints the server's name for it)"
    )
    approve_by: Literal["folder", "flag"] = Field(
        "folder", description='"folder": move the draft to approved_folder; "flag": flag (star) '
        "it where it is, for clients where moving a draft is awkward"
    )
    reject_after_seconds: float = Field(
        60, ge=0, description="a draft gone from Drafts this long (not approved) is rejected"
    )
    check_seconds: float = Field(
        60, ge=0, description="how often the daemon looks whether the Drafts and approved "
        "folders changed (one STATUS each on a kept connection); new drafts and decisions "
        "made here are synced at once"
    )


class MeetingRoute(Section):
    """[[meetings.routes]]: which staff attend which meetings (the first route that matches)."""

    staff: list[str] = Field(description="staff invited when this route matches")
    keywords: list[str] = Field([], description="words in the subject or text, any language")
    domains: list[str] = Field([], description="sender domains, e.g. \"client.example\"")

    @field_validator("staff")
    @classmethod
    def _staff(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("a route needs at least one staff address")
        for a in v:
            if not _EMAIL.match(a):
                raise ValueError(f"{a!r} is not an email address")
        return [a.lower() for a in v]

    @field_validator("keywords", "domains")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return [w.strip().lower().lstrip("@") for w in v if w.strip()]

    @model_validator(mode="after")
    def _something(self) -> MeetingRoute:
        if not self.keywords and not self.domains:
            raise ValueError("a route needs keywords or domains (or both)")
        return self


class MeetingsConfig(Section):
    """[meetings]: slots and invitations."""

    timezone: str = Field("Europe/Bucharest", description="IANA timezone of the office")
    staff: list[str] = Field(["manager@example.com"], description="staff invited to meetings")
    day_start: time = Field(time(9, 0), description='start of working hours, "09:00"')
    day_end: time = Field(time(17, 0), description='end of working hours, "17:00"')
    work_days: list[int] = Field([1, 2, 3, 4, 5], description="ISO weekdays, 1 = Monday")
    duration_minutes: int = Field(60, ge=5, le=600, description="default meeting length")
    buffer_minutes: int = Field(15, ge=0, le=240, description="free time kept around meetings")
    holidays: list[str] = Field([], description='dates off, "YYYY-MM-DD"')
    location: str = Field("Office", description="default place or video link")
    video_link: str = Field(
        "", description="place used when the client asks to meet online (empty: the location)"
    )
    search_days: int = Field(14, ge=1, le=90, description="how many days ahead to look for slots")
    routes: list[MeetingRoute] = Field(
        [], description="staff by keyword or sender domain: [[meetings.routes]] tables"
    )
    busy_calendar: str = Field(
        "", description="staff busy times: path or https:// URL of an .ics feed (empty: none)"
    )

    @field_validator("busy_calendar")
    @classmethod
    def _feed(cls, v: str) -> str:
        v = v.strip()
        if v.startswith("http://"):
            raise ValueError("use https:// (a calendar feed may carry private details)")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f'unknown timezone {v!r}; use an IANA name like "Europe/Bucharest"'
            ) from None
        return v

    @field_validator("staff")
    @classmethod
    def _staff(cls, v: list[str]) -> list[str]:
        for a in v:
            if not _EMAIL.match(a):
                raise ValueError(f"{a!r} is not an email address")
        return [a.lower() for a in v]  # calendar answers are matched case-insensitively


class DigestConfig(Section):
    """[digest]: the manager's morning summary."""

    to: list[str] = Field(["manager@example.com"], description="digest recipients")
    time: str = Field("08:00", description='local time to send, "HH:MM"')
    enabled: bool = Field(True, description="send the daily digest")
    language: Literal["en", "ro"] = Field("en", description='language of the digest, "en" or "ro"')
    grace_hours: float = Field(
        6, ge=1, le=23, description="a daemon that was down at digest time sends it late if "
        "it is back within this many hours; later, that day's digest is skipped"
    )
    ageing_days: int | None = Field(
        None, ge=1, description="deprecated: use [sla] complaint_hours (ageing_days * 24)"
    )

    @field_validator("time")
    @classmethod
    def _time(cls, v: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", v):
            raise ValueError(f'expected "HH:MM" (24-hour), got {v!r}')
        return v


class SlaConfig(Section):
    """[sla]: how fast complaints must be answered, and who is reminded when one is late."""

    complaint_hours: float = Field(
        24, gt=0, description="a complaint without an approved reply after this many hours is "
        "overdue: highlighted in the digest, and the assistant is reminded"
    )
    remind: list[str] = Field(
        [], description="who gets one reminder per overdue complaint; empty = no reminders"
    )
    remind_every_minutes: float = Field(
        60, ge=1, description="at most one reminder mail in this many minutes (it lists every "
        "complaint that became overdue meanwhile)"
    )

    @field_validator("remind")
    @classmethod
    def _remind(cls, v: list[str]) -> list[str]:
        for a in v:
            if not _EMAIL.match(a):
                raise ValueError(f"{a!r} is not an email address")
        return v


class AlertsConfig(Section):
    """[alerts]: mail to the admin when the mailbox cannot be reached (nobody watches it)."""

    to: list[str] = Field([], description="admin addresses for alert mail; empty = no alert mail")
    mailbox_down_minutes: float = Field(
        15, gt=0, description="alert once the mailbox is unreachable or refusing login this long"
    )
    repeat_hours: float = Field(
        6, ge=0, description="at most one outage alert (and its recovery note) per this many hours"
    )

    @field_validator("to")
    @classmethod
    def _to(cls, v: list[str]) -> list[str]:
        for a in v:
            if not _EMAIL.match(a):
                raise ValueError(f"{a!r} is not an email address")
        return v


class WebConfig(Section):
    """[web]: the assistant's page (`inboxops web`; with enabled = true, `inboxops run` too)."""

    enabled: bool = Field(False, description="inboxops run also serves the page")
    host: str = Field(
        "127.0.0.1", description="address to listen on; keep it loopback and put a TLS reverse "
        "proxy in front for use from other machines"
    )
    port: int = Field(8025, ge=1, le=65535, description="port to listen on")
    users_file: Path = Field(
        Path("var/web-users"), description="users and their argon2 password hashes, written by "
        "inboxops web passwd USER"
    )
    secret_file: Path = Field(
        Path("var/web-secret"), description="key that signs session cookies; made on first use"
    )
    language: Literal["auto", "en", "ro"] = Field(
        "auto", description='interface language: "auto" (the browser\'s Accept-Language), '
        '"en" or "ro"'
    )
    session_hours: float = Field(12, gt=0, le=720, description="a login lasts this long")
    secure_cookie: bool = Field(
        False, description="send cookies over https only: true when a TLS proxy serves the page"
    )
    trusted_header: str = Field(
        "", description="header carrying the user name set by a trusted reverse proxy "
        '(e.g. "X-Remote-User"); empty = off, every user logs in with a password'
    )
    trusted_proxies: list[str] = Field(
        ["127.0.0.1", "::1"], description="addresses whose trusted_header is believed"
    )
    poll_seconds: float = Field(5, ge=1, le=300, description="how often the queue page looks "
                                "for new drafts")


class LogConfig(Section):
    """[log]: what goes to stderr (the journal under systemd)."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="DEBUG, INFO, WARNING or ERROR; bodies and secrets are never logged"
    )


class Config(Section):
    """The whole file."""

    mailbox: MailboxConfig = MailboxConfig()  # type: ignore[call-arg]
    smtp: SmtpConfig = SmtpConfig()  # type: ignore[call-arg]
    store: StoreConfig = StoreConfig()
    classify: ClassifyConfig = ClassifyConfig()
    replies: RepliesConfig = RepliesConfig()
    approval: ApprovalConfig = ApprovalConfig()
    meetings: MeetingsConfig = MeetingsConfig()
    digest: DigestConfig = DigestConfig()
    sla: SlaConfig = SlaConfig()
    alerts: AlertsConfig = AlertsConfig()
    web: WebConfig = WebConfig()
    log: LogConfig = LogConfig()
    source_path: Path | None = Field(None, exclude=True)

    @property
    def own_addresses(self) -> set[str]:
        """Every address that is us: never answered automatically (LOOP-2 rule 9)."""
        ours = {self.smtp.from_address.addr_spec.lower(), self.mailbox.username.lower()}
        return ours | {a.lower() for a in self.classify.own_addresses}

    @model_validator(mode="after")
    def _legacy_ageing_days(self) -> Config:
        # Before [sla] existed, [digest] ageing_days said when a complaint was late.
        if self.digest.ageing_days and "complaint_hours" not in self.sla.model_fields_set:
            self.sla.complaint_hours = self.digest.ageing_days * 24
        return self

    @property
    def domain(self) -> str:
        return self.smtp.from_address.domain

    @model_validator(mode="after")
    def _token_files(self) -> Config:
        # The token set is state, like the database: it lives beside it (the state directory
        # under systemd). One file per account, so [mailbox] and [smtp] signed in as the same
        # user share one sign-in.
        for section in (self.mailbox, self.smtp):
            if section.auth == "oauth2" and section.token_file is None:
                name = f"oauth-{section.provider}-{section.username}.json"
                section.token_file = self.store.path.parent / name
        return self


# Reserved for documentation (RFC 2606 §3): nobody receives mail there, so an identity still
# at one of these is a key left unset, not a choice.
PLACEHOLDER_DOMAINS = ("example.com", "example.net", "example.org")


def _placeholder(address: str) -> bool:
    domain = address.rpartition("@")[2].lower().rstrip(".")
    return any(domain == d or domain.endswith("." + d) for d in PLACEHOLDER_DOMAINS)


def missing_identities(cfg: Config) -> list[str]:
    """Who we are and who gets the digest, where still unset (an example.com placeholder):
    one line per key, naming the fix. The daemon sends no digest while any is listed."""
    out = []
    sender = cfg.smtp.from_address.addr_spec
    if _placeholder(sender):
        out.append(f"[smtp] from is not set (still {sender}): replies and the digest would come "
                   'from a domain nobody owns. Fix: from = "Office <office@your-domain>" in '
                   "[smtp]")
    unset = [a for a in cfg.digest.to if _placeholder(a)]
    if cfg.digest.enabled and (unset or not cfg.digest.to):
        out.append(f"[digest] to is not set (still {', '.join(unset) or 'empty'}): the digest "
                   'would reach nobody. Fix: to = ["manager@your-domain"] in [digest], or '
                   "enabled = false")
    return out


def _resolve_paths(cfg: Config, base: Path) -> None:
    """Relative paths in the file are relative to the file, not to the working directory."""
    for section, key in (
        ("mailbox", "path"), ("mailbox", "ca_file"), ("mailbox", "password_file"),
        ("smtp", "path"), ("smtp", "ca_file"), ("smtp", "password_file"),
        ("store", "path"), ("replies", "templates"), ("web", "users_file"), ("web", "secret_file"),
        ("mailbox", "token_file"), ("smtp", "token_file"),
        ("mailbox", "client_secret_file"), ("smtp", "client_secret_file"),
    ):
        obj = getattr(cfg, section)
        value = getattr(obj, key)
        if value is not None and not value.is_absolute():
            setattr(obj, key, base / value)


def _format_error(path: Path, err: dict[str, Any]) -> str:
    loc = [str(p) for p in err["loc"]]
    section, key = (loc[0], ".".join(loc[1:])) if loc else ("", "")
    if section in _SECTIONS:
        where = f"{path}: [{section}] {key}" if key else f"{path}: [{section}]"
    else:
        where = f"{path}: {'.'.join(loc)}"
    if err["type"] == "extra_forbidden":
        model: type[BaseModel] = _SECTIONS.get(section, Config)
        known = sorted(f.alias or n for n, f in model.model_fields.items() if n != "source_path")
        guess = difflib.get_close_matches(key, known, n=1)
        hint = f' Did you mean "{guess[0]}"?' if guess else ""
        return f"{where}: unknown key.{hint} Known keys: {', '.join(known)}."
    section_model = _SECTIONS.get(section)
    field = section_model.model_fields.get(key) if section_model else None
    expected = f" Expected: {field.description}." if field and field.description else ""
    shown = "input" in err and err["type"] not in ("missing", "value_error")
    value = f" (got {err['input']!r})" if shown else ""
    msg = err["msg"].removeprefix("Value error, ")
    return f"{where}: {msg}{value}.{expected}"


_SECTIONS: dict[str, type[BaseModel]] = {
    name: f.annotation  # type: ignore[misc]
    for name, f in Config.model_fields.items()
    if isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel)
}


def load(path: str | Path | None = None) -> Config:
    """Read and validate a config file; raise ConfigError with one line per problem."""
    path = Path(path or os.environ.get(ENV_VAR) or DEFAULT_PATH)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: config file not found. Fix: pass --config PATH or set {ENV_VAR}."
        ) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}.") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}.") from None
    try:
        cfg = Config.model_validate(data)
    except ValidationError as e:
        lines = [_format_error(path, err) for err in e.errors()]  # type: ignore[arg-type]
        raise ConfigError("\n".join(lines)) from None
    cfg.source_path = path.resolve()
    cfg.mailbox._config_path = cfg.smtp._config_path = cfg.source_path
    _resolve_paths(cfg, path.resolve().parent)
    return cfg


def default() -> Config:
    """The embedded defaults, as if config.toml were empty (used by tests and eval)."""
    return Config()
