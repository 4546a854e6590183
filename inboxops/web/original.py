"""The original message as the page shows it: its HTML sanitized, or its text escaped.

Three locks, any one of which suffices against script: nh3 (the ammonia sanitizer) keeps only
harmless tags and attributes (no script, no event handlers, no style, no images, no
`javascript:` links); the result is served as its own document under a Content-Security-Policy
of `default-src 'none'` (nothing may load, not even a remote stylesheet or image) with the CSP
`sandbox` directive; and the page embeds it in an <iframe sandbox> without allow-scripts.
"""

from __future__ import annotations

import email
import html
from email.message import Message
from email.policy import compat32

import nh3

# Headers for the original's document: nothing loads, nothing runs, only our page may frame it.
ORIGINAL_CSP = ("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                "form-action 'none'; frame-ancestors 'self'; sandbox")
_TAGS = set(nh3.ALLOWED_TAGS) - {"img"}  # images would load remote URLs (tracking pixels)
MAX_PARTS = 200
MAX_DEPTH = 20
MAX_HTML = 2_000_000
_STYLE = ("body{font:15px/1.5 system-ui,sans-serif;margin:12px;color:#1d2433;"
          "overflow-wrap:anywhere}pre{white-space:pre-wrap;font:inherit;margin:0}"
          "a{color:#1f5fbf}")


def html_part(raw: bytes) -> str | None:
    """The first text/html body part that is not an attachment, decoded; None if none.

    An iterative, capped walk: hostile mail can nest parts deeper than recursion allows."""
    try:
        msg = email.message_from_bytes(raw, policy=compat32)
    except Exception:  # noqa: BLE001 - a message the parser chokes on has no HTML to show
        return None
    stack: list[tuple[Message, int]] = [(msg, 0)]
    seen = 0
    while stack and seen < MAX_PARTS:
        part, depth = stack.pop()
        seen += 1
        if part.is_multipart():
            if depth < MAX_DEPTH:
                children = [p for p in part.get_payload() if isinstance(p, Message)]
                stack.extend((child, depth + 1) for child in reversed(children))
            continue
        if part.get_content_type() != "text/html" or part.get_content_disposition() == "attachment":
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            return None
        charset = part.get_content_charset() or "utf-8"
        try:
            return payload[:MAX_HTML].decode(charset, errors="replace")
        except LookupError:  # an unknown charset name
            return payload[:MAX_HTML].decode("utf-8", errors="replace")
    return None


def sanitize(markup: str) -> str:
    """Harmless HTML: formatting and links only (http, https, mailto)."""
    return nh3.clean(markup, tags=_TAGS, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer nofollow")


def document(raw: bytes | None, text: str) -> str:
    """The original as a complete HTML document for the sandboxed frame."""
    markup = html_part(raw) if raw else None
    body = sanitize(markup) if markup else f"<pre>{html.escape(text)}</pre>"
    return (f'<!doctype html><html><head><meta charset="utf-8"><style>{_STYLE}</style>'
            f"</head><body>{body}</body></html>")
