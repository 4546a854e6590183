"""Who may use the page: users with argon2 hashes, signed session cookies, CSRF tokens, and a
slowdown for wrong passwords.

Sessions live in the cookie itself, signed with HMAC-SHA256 under a key kept in a 0600 file,
so a restart logs nobody out and the page needs no session table. A session names its user
and a fingerprint of that user's hash: `inboxops web passwd` on a user ends their sessions.
The CSRF token is an HMAC of the session id, so it needs no storage either.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from inboxops.errors import ConfigError

_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified when the user is unknown, so a wrong name costs as long as a wrong password.
_DUMMY = _HASHER.hash("not a password of anyone")


def _write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only, atomically (a crash leaves the old one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def load_users(path: Path) -> dict[str, str]:
    """The users file: one `name:argon2-hash` per line; missing file = no users yet."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise ConfigError(f"[web] users_file: cannot read {path} ({e})") from None
    users = {}
    for line in lines:
        name, sep, hashed = line.strip().partition(":")
        if sep and name and not name.startswith("#"):
            users[name] = hashed
    return users


def valid_name(name: str) -> bool:
    """User names are short words: they go in a file of `name:hash` lines and in cookies."""
    return 0 < len(name) <= 64 and all(c.isalnum() or c in "._-@" for c in name)


def set_password(path: Path, name: str, password: str) -> None:
    """Add a user or change their password (their open sessions end)."""
    if not valid_name(name):
        raise ConfigError(f"user name {name!r}: use letters, digits and . _ - @ only")
    if len(password) < 8:
        raise ConfigError("password: use at least 8 characters")
    users = load_users(path)
    users[name] = _HASHER.hash(password)
    _write_private(path, "".join(f"{n}:{h}\n" for n, h in sorted(users.items())))


def check_password(users: dict[str, str], name: str, password: str) -> bool:
    """True if `password` is `name`'s; as slow for an unknown name as for a known one."""
    hashed = users.get(name)
    try:
        return _HASHER.verify(hashed or _DUMMY, password) and hashed is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def fingerprint(hashed: str) -> str:
    """A short digest of a user's hash: a session carries it, so a new password ends it."""
    return hashlib.sha256(hashed.encode()).hexdigest()[:16]


def load_secret(path: Path) -> bytes:
    """The cookie-signing key, made (32 random bytes, mode 0600) on first use."""
    try:
        text = path.read_text(encoding="ascii").strip()
        if len(text) >= 32:
            return text.encode()
    except FileNotFoundError:
        pass
    except OSError as e:
        raise ConfigError(f"[web] secret_file: cannot read {path} ({e})") from None
    key = secrets.token_urlsafe(32)
    _write_private(path, key + "\n")
    return key.encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs and checks session cookies and CSRF tokens with one key."""

    def __init__(self, key: bytes, max_age: float) -> None:
        self.key = key
        self.max_age = max_age

    def _mac(self, purpose: str, data: bytes) -> str:
        return _b64(hmac.new(self.key, purpose.encode() + b"\0" + data, "sha256").digest())

    def session(self, user: str | None, fp: str = "") -> tuple[str, dict[str, Any]]:
        """A new session (fresh id: a login never keeps the id it had before) and its cookie."""
        data = {"sid": secrets.token_urlsafe(16), "user": user, "fp": fp,
                "exp": int(time.time() + self.max_age)}
        body = json.dumps(data, separators=(",", ":")).encode()
        return f"{_b64(body)}.{self._mac('session', body)}", data

    def read(self, cookie: str | None) -> dict[str, Any] | None:
        """The session in a cookie, or None if it is missing, forged or expired."""
        if not cookie or "." not in cookie:
            return None
        body_b64, _, mac = cookie.partition(".")
        try:
            body = _unb64(body_b64)
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return None
        if not hmac.compare_digest(mac, self._mac("session", body)):
            return None
        if not isinstance(data, dict) or data.get("exp", 0) < time.time():
            return None
        return data

    def csrf(self, sid: str) -> str:
        """The CSRF token that goes with a session id."""
        return self._mac("csrf", sid.encode())

    def csrf_ok(self, sid: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf(sid), token or "")


class Throttle:
    """Slows down wrong passwords: after FREE failures from one address or for one name,
    each attempt waits twice as long as the one before, up to MAX seconds. In memory: a
    restart forgives, which is acceptable for a page behind a login and a proxy."""

    FREE = 3
    BASE = 0.5
    MAX = 16.0
    FORGET = 900.0  # seconds without a failure before a key is forgiven

    def __init__(self) -> None:
        self._failures: dict[str, tuple[int, float]] = {}

    def delay(self, *keys: str) -> float:
        now = time.monotonic()
        worst = 0
        for key in keys:
            count, last = self._failures.get(key, (0, 0.0))
            if now - last < self.FORGET:
                worst = max(worst, count)
        if worst < self.FREE:
            return 0.0
        return min(self.MAX, self.BASE * 2 ** (worst - self.FREE))

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        if len(self._failures) > 10_000:  # bounded memory under a spray of names
            self._failures = {k: v for k, v in self._failures.items() if now - v[1] < self.FORGET}
        for key in keys:
            count, last = self._failures.get(key, (0, 0.0))
            self._failures[key] = (count + 1 if now - last < self.FORGET else 1, now)

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)
