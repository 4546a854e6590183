"""The SASL messages that log in with a bearer token (pure: values in, bytes out).

imapclient builds both for IMAP itself; aiosmtplib builds XOAUTH2 only, so SMTP's OAUTHBEARER
comes from here.
"""

from __future__ import annotations

import base64

# RFC 7628 §3.2.3: after the server's error challenge the client sends a single %x01, and the
# server then ends the exchange with its failure reply.
OAUTHBEARER_ABORT = base64.b64encode(b"\x01")


def oauthbearer(user: str, token: str) -> bytes:
    """The OAUTHBEARER initial response, base64 (RFC 7628 §3.1: a GS2 header naming the user,
    then kvpairs separated by %x01)."""
    message = f"n,a={user.replace('=', '=3D').replace(',', '=2C')},\x01auth=Bearer {token}\x01\x01"
    return base64.b64encode(message.encode())


def preferred(mechanisms: set[str]) -> str:
    """OAUTHBEARER where the server offers it (the IETF standard), else XOAUTH2 (Microsoft 365
    offers only XOAUTH2; Gmail offers both)."""
    return "OAUTHBEARER" if "OAUTHBEARER" in mechanisms else "XOAUTH2"
