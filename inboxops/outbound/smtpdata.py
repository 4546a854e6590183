"""SMTP DATA in steps, so the outbox knows on which side of the terminating "." a break-off fell.

aiosmtplib's `SMTP.data` writes the body and the "." in one call and only then reads the reply,
so a caller cannot tell "the server cannot have it" from "the server may have it". A server
takes a message only when the "." arrives (RFC 5321 §4.1.1.4): a transaction broken off before
that is discarded and may be sent again; one broken off after it is truly unknown (SMTP-3,
RFC 1047). Here the DATA command, the body and the "." are written one after another, and
`before_dot` is called (the outbox commits the phase 'dot-sent') right before the "." goes out.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import aiosmtplib
from aiosmtplib import SMTPResponse

from inboxops.outbound.faults import halt_point

_LINE_END = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")


def stuffed(raw: bytes) -> bytes:
    """The body as it goes on the wire: CRLF line ends, leading dots doubled (RFC 5321
    §4.5.2), ending in CRLF, without the terminating "." line."""
    body = _LEADING_DOT.sub(b"..", _LINE_END.sub(b"\r\n", raw))
    return body if body.endswith(b"\r\n") else body + b"\r\n"


async def send_data(
    smtp: aiosmtplib.SMTP, raw: bytes, before_dot: Callable[[], None], timeout: float | None
) -> SMTPResponse:
    """DATA, await 354, write the body, call `before_dot`, write ".", read the final reply.

    Raises SMTPDataError on a reply other than 354 or 250, SMTPServerDisconnected or
    SMTPReadTimeoutError on a break-off (before or after the dot: the caller knows which from
    whether `before_dot` ran)."""
    protocol = smtp.protocol
    if protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    if smtp.is_ehlo_or_helo_needed:
        await smtp.ehlo()
    body = stuffed(raw)
    halt_point("before-data")
    protocol.write(b"DATA\r\n")
    halt_point("awaiting-354")  # DATA is out; a server that delays its 354 is still silent
    start = await _reply(smtp, timeout)
    if start.code != 354:
        raise aiosmtplib.SMTPDataError(start.code, start.message)
    half = len(body) // 2
    protocol.write(body[:half])
    halt_point("mid-body")
    protocol.write(body[half:])
    before_dot()  # from here on the server may have the message
    protocol.write(b".\r\n")
    halt_point("after-dot")
    final = await _reply(smtp, timeout)
    if final.code != 250:
        raise aiosmtplib.SMTPDataError(final.code, final.message)
    return final


async def _reply(smtp: aiosmtplib.SMTP, timeout: float | None) -> SMTPResponse:
    """One reply; a lost connection or a timeout closes the client, as aiosmtplib does."""
    assert smtp.protocol is not None
    try:
        return await smtp.protocol.read_response(timeout=timeout)
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
        smtp.close()
        raise
