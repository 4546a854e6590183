"""Was the From domain authenticated by OUR mail server? (RFC 8601, PROTOCOLS LOOP-6)

Only Authentication-Results headers carrying our own authserv-id count: anyone can write such
a header into a message, but our MTA adds its own on top and (well configured) strips forged
copies of it. Pass means DMARC pass, or SPF or DKIM pass for a domain aligned with From
(relaxed alignment, RFC 7489 §3.1: the same organisational domain, approximated here as the
same domain or a parent/child of it).
"""

from __future__ import annotations

import re

_RESULT = re.compile(r"\b(dmarc|dkim|spf)\s*=\s*(\w+)([^;]*)", re.I)
_PROP = re.compile(
    r"\b(header\.from|header\.d|header\.i|smtp\.mailfrom)\s*=\s*\"?([^\s;\"]+)", re.I
)
_COMMENT = re.compile(r"\([^()]*\)")


def _aligned(domain: str, from_domain: str) -> bool:
    domain = domain.lower().rpartition("@")[2].strip(".")
    # A bare "com" would align with everything: a signing domain has at least two labels.
    return "." in domain and (
        domain == from_domain
        or from_domain.endswith("." + domain)
        or domain.endswith("." + from_domain)
    )


def sender_authenticated(headers: dict[str, list[str]], authserv_id: str, from_addr: str) -> bool:
    """True when our server's Authentication-Results vouch for the From domain."""
    from_domain = from_addr.lower().rpartition("@")[2]
    if not from_domain:
        return False
    for value in headers.get("authentication-results", []):
        value = _COMMENT.sub(" ", " ".join(value.split()))
        server, _, results = value.partition(";")
        if server.strip().split(" ")[0].lower() != authserv_id.lower():
            continue
        for method, verdict, props in _RESULT.findall(results):
            if verdict.lower() != "pass":
                continue
            found = {k.lower(): v for k, v in _PROP.findall(props)}
            if method.lower() == "dmarc":
                if _aligned(found.get("header.from", from_domain), from_domain):
                    return True
            elif method.lower() == "dkim":
                if _aligned(found.get("header.d", found.get("header.i", "")), from_domain):
                    return True
            elif _aligned(found.get("smtp.mailfrom", ""), from_domain):
                return True
    return False
