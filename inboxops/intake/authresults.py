"""Was the sender authenticated by our own mail server? (RFC 8601 Authentication-Results.)

Automatic acknowledgements go out without a human, so a forged From must not trigger them
(PROTOCOLS.md LOOP-6). Only Authentication-Results headers written by our own MTA count: its
authserv-id is configured, because anyone can put a header claiming "dmarc=pass" into a
message. The sender counts as authenticated on dmarc=pass, or on spf=pass or dkim=pass for a
domain aligned with the From domain (relaxed: the same organisational tail).
"""

from __future__ import annotations

import re

from inboxops.models import ParsedMessage

_COMMENT = re.compile(r"\([^()]*\)")
_RESULT = re.compile(r"^\s*([a-z0-9_-]+)\s*=\s*([a-z]+)(.*)$", re.IGNORECASE | re.DOTALL)
_PROPERTY = re.compile(r"([a-z]+)\.([a-z-]+)\s*=\s*([^\s;]+)", re.IGNORECASE)


def _strip_comments(value: str) -> str:
    while True:  # nested comments: innermost first
        stripped = _COMMENT.sub(" ", value)
        if stripped == value:
            return value
        value = stripped


def _aligned(domain: str, from_domain: str) -> bool:
    """Relaxed alignment: one domain is the other or a subdomain of it."""
    domain, from_domain = domain.lower().strip("."), from_domain.lower().strip(".")
    if "@" in domain:
        domain = domain.rsplit("@", 1)[1]
    if domain.count(".") < 1 or not from_domain:
        return False  # a bare top-level name aligns with nothing
    return (domain == from_domain or from_domain.endswith("." + domain)
            or domain.endswith("." + from_domain))


def results(parsed: ParsedMessage, authserv_ids: set[str]) -> list[tuple[str, str, dict[str, str]]]:
    """(method, result, properties) from the Authentication-Results our own servers wrote."""
    out = []
    for header in parsed.headers.get("authentication-results", []):
        parts = _strip_comments(header).split(";")
        server = parts[0].split()[0].lower() if parts[0].split() else ""
        if server not in authserv_ids:
            continue  # written by someone else, perhaps the sender: worthless
        for part in parts[1:]:
            m = _RESULT.match(part)
            if m:
                props = {f"{a.lower()}.{b.lower()}": v for a, b, v in _PROPERTY.findall(m[3])}
                out.append((m[1].lower(), m[2].lower(), props))
    return out


def sender_authenticated(parsed: ParsedMessage, authserv_ids: set[str]) -> tuple[bool, str]:
    """Whether our MTA vouched for the From domain, and why (for the event log)."""
    from_domain = parsed.from_addr.rsplit("@", 1)[-1] if "@" in parsed.from_addr else ""
    found = results(parsed, {a.lower() for a in authserv_ids})
    if not found:
        return False, "no Authentication-Results from our mail server"
    if any(method == "dmarc" and result == "pass" for method, result, _ in found):
        return True, "dmarc=pass"
    for method, result, props in found:
        if result != "pass":
            continue
        if method == "spf":
            domain = props.get("smtp.mailfrom") or props.get("smtp.helo", "")
            if domain and _aligned(domain, from_domain):
                return True, f"spf=pass aligned ({domain})"
        if method == "dkim":
            domain = props.get("header.d") or props.get("header.i", "")
            if domain and _aligned(domain, from_domain):
                return True, f"dkim=pass aligned ({domain})"
    summary = ", ".join(f"{m}={r}" for m, r, _ in found)
    return False, f"not authenticated by our mail server ({summary})"
