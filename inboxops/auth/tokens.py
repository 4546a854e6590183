"""The token set of one account: kept in a 0600 file beside the database, refreshed in time.

The file is the only place tokens live: read afresh on every use, so a new `inboxops auth login`
is picked up at once by a running daemon, and written atomically under an exclusive lock, so the
daemon's intake thread, its sender and a CLI `approve` in another process never refresh at the
same moment (a provider that rotates refresh tokens would otherwise see the old one reused).
Tokens are never logged and never put in an error message.

Every call here may block on HTTP: the daemon calls it from the intake thread or the worker
pool (the daemon's offload; a thread in the CLI), never from the event loop.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inboxops.auth.providers import Provider, provider
from inboxops.config import OAuth2
from inboxops.errors import AuthError, ConfigError

if TYPE_CHECKING:  # Authlib and requests load at the first refresh: ~20 MB a password-auth
    from authlib.integrations.requests_client import OAuth2Session  # daemon never needs

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 30.0
MAX_LEEWAY = 300.0  # refresh five minutes before expiry (less for very short-lived tokens)
# Token endpoint errors (RFC 6749 §5.2, OpenID Connect Core §3.1.2.6) that only a person
# signing in again can cure; any other failure is retried.
NEEDS_LOGIN = {"invalid_grant", "invalid_client", "unauthorized_client", "invalid_scope",
               "interaction_required", "consent_required", "login_required"}


def oauth_client(cfg: OAuth2, section: str, scopes: tuple[str, ...] | None = None,
                 **kwargs: Any) -> OAuth2Session:
    """An Authlib client for this section's provider (the caller closes it)."""
    from authlib.integrations.requests_client import OAuth2Session

    try:
        secret = cfg.client_secret(section)
    except ConfigError as e:
        raise AuthError(str(e), needs_login=False) from None
    return OAuth2Session(client_id=cfg.client_id, client_secret=secret,
                         scope=" ".join(scopes or provider(cfg).scopes),
                         default_timeout=HTTP_TIMEOUT, **kwargs)


def save(path: Path, token: dict[str, Any]) -> None:
    """Write the token set atomically with mode 0600. Run as root (as `auth login` may be, for a
    service with DynamicUser=), the file takes the owner of its directory, so the service can
    read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        if os.geteuid() == 0:
            owner = path.parent.stat()
            os.fchown(fd, owner.st_uid, owner.st_gid)
        os.write(fd, json.dumps(token, indent=1).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def token_set(raw: dict[str, Any], username: str, cfg: OAuth2,
              previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the file keeps of a token response: the tokens, their expiry, and whose they are."""
    now = time.time()
    expires_at = float(raw.get("expires_at") or now + float(raw.get("expires_in") or 3600))
    refresh = raw.get("refresh_token") or (previous or {}).get("refresh_token")
    return {"access_token": raw["access_token"], "refresh_token": refresh,
            "token_type": raw.get("token_type", "Bearer"), "scope": raw.get("scope", ""),
            "expires_at": expires_at, "obtained_at": now, "username": username,
            "provider": cfg.provider, "client_id": cfg.client_id}


class Tokens:
    """Access tokens for one section's account, from its token file; refreshed before expiry
    and, once, after the server refused one (RFC 6750 §3.1 invalid_token)."""

    def __init__(self, cfg: OAuth2, section: str, username: str) -> None:
        assert cfg.token_file is not None  # config sets it for every oauth2 section
        self.cfg = cfg
        self.section = section
        self.username = username
        self.path = cfg.token_file
        self.provider: Provider = provider(cfg)
        self._expires_at = 0.0
        self._leeway = 0.0

    # -- reading ------------------------------------------------------------------------------

    def _fix(self) -> str:
        return f"Fix: run `{self.cfg.login_command(self.section)}`"

    def _load(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise AuthError(f"OAuth2: {self.username} has not signed in yet (no "
                            f"{self.path}). {self._fix()}", needs_login=True) from None
        except (OSError, ValueError) as e:
            raise AuthError(f"OAuth2: cannot read {self.path} ({type(e).__name__}). "
                            f"{self._fix()}", needs_login=True) from None
        if (data.get("username", "").lower(), data.get("client_id")) != \
                (self.username.lower(), self.cfg.client_id):
            raise AuthError(f"OAuth2: {self.path} holds the sign-in of another account or "
                            f"app, not {self.username}. {self._fix()}", needs_login=True)
        return data

    def stamp(self) -> int | None:
        """Changes whenever the token file is written: a new sign-in shows here at once."""
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return None

    def _fresh(self, data: dict[str, Any]) -> bool:
        lifetime = float(data["expires_at"]) - float(data.get("obtained_at", 0))
        self._leeway = min(MAX_LEEWAY, max(0.0, lifetime) / 4)
        self._expires_at = float(data["expires_at"])
        return time.time() < self._expires_at - self._leeway

    def renew_at(self) -> float:
        """When a session logged in with the last token handed out should sign in again
        (Microsoft 365 ends IMAP sessions whose token expired)."""
        return self._expires_at - self._leeway

    # -- tokens ---------------------------------------------------------------------------------

    def access_token(self) -> str:
        """A valid access token: the stored one, or a refreshed one if it expires soon."""
        data = self._load()
        if self._fresh(data):
            return str(data["access_token"])
        return self.refresh()

    def refresh(self, refused: str | None = None) -> str:
        """Refresh now (after `refused` was refused by the server, or as it expires soon),
        unless another thread or process did so meanwhile."""
        with self._locked():
            data = self._load()
            if data["access_token"] != refused and self._fresh(data):
                return str(data["access_token"])  # someone else just refreshed it
            if not data.get("refresh_token"):
                raise AuthError(f"OAuth2: no refresh token for {self.username}. {self._fix()}",
                                needs_login=True)
            raw = self._refresh(str(data["refresh_token"]))
            fresh = token_set(raw, self.username, self.cfg, previous=data)
            save(self.path, fresh)
            self._fresh(fresh)
        log.info("OAuth2 access token for %s refreshed (valid %.0fs)", self.username,
                 fresh["expires_at"] - fresh["obtained_at"])
        return str(fresh["access_token"])

    def _refresh(self, refresh_token: str) -> dict[str, Any]:
        import requests
        from authlib.integrations.requests_client import OAuthError

        try:
            with oauth_client(self.cfg, self.section, self.provider.scopes) as client:
                return dict(client.refresh_token(self.provider.token_url,
                                                 refresh_token=refresh_token))
        except OAuthError as e:
            if e.error in NEEDS_LOGIN:
                raise AuthError(
                    f"OAuth2: the sign-in of {self.username} was refused by the provider "
                    f"({e.error}: {e.description or 'revoked or expired'}). {self._fix()}",
                    needs_login=True) from None
            raise AuthError(f"OAuth2: token refresh failed ({e.error}); retrying later",
                            needs_login=False) from None
        except (requests.RequestException, ValueError) as e:
            raise AuthError(f"OAuth2: the token endpoint {self.provider.token_url} could not "
                            f"be reached ({type(e).__name__}: {e}); retrying later",
                            needs_login=False) from None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT,
                     0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock
