"""Where each provider signs in, which scopes mail needs, and which first sign-in suits it.

Pure values from config. Microsoft: one token for the outlook.office.com resource covers IMAP and
SMTP, and `offline_access` is what yields a refresh token; the device-code flow suits a server
without a browser. Google: `https://mail.google.com/` is the only scope IMAP and SMTP accept,
and Google's device flow does not allow it, so the first sign-in uses a loopback redirect;
`access_type=offline` and `prompt=consent` make Google hand out a refresh token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from inboxops.config import OAuth2

Flow = Literal["device", "loopback"]

MICROSOFT = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0"
MICROSOFT_SCOPES = ("https://outlook.office.com/IMAP.AccessAsUser.All",
                    "https://outlook.office.com/SMTP.Send", "offline_access")
GOOGLE_AUTHORIZE = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN = "https://oauth2.googleapis.com/token"
GOOGLE_SCOPES = ("https://mail.google.com/",)


@dataclass(frozen=True)
class Provider:
    """The endpoints, scopes and extra authorization parameters of one sign-in."""

    authorize_url: str
    token_url: str
    device_url: str
    scopes: tuple[str, ...]
    flow: Flow  # the first sign-in used unless `auth login --flow` says otherwise
    authorize_params: dict[str, str] = field(default_factory=dict)


def provider(cfg: OAuth2) -> Provider:
    """The provider a [mailbox] or [smtp] section names, with config overrides applied."""
    if cfg.provider == "microsoft":
        base = MICROSOFT.format(tenant=cfg.tenant)
        found = Provider(f"{base}/authorize", f"{base}/token", f"{base}/devicecode",
                         MICROSOFT_SCOPES, "device")
    elif cfg.provider == "google":
        found = Provider(GOOGLE_AUTHORIZE, GOOGLE_TOKEN, "", GOOGLE_SCOPES, "loopback",
                         {"access_type": "offline", "prompt": "consent"})
    else:
        found = Provider("", "", "", (), "device" if cfg.device_url else "loopback")
    return Provider(
        authorize_url=cfg.authorize_url or found.authorize_url,
        token_url=cfg.token_url or found.token_url,
        device_url=cfg.device_url or found.device_url,
        scopes=tuple(cfg.scopes) or found.scopes,
        flow=found.flow,
        authorize_params=found.authorize_params,
    )
