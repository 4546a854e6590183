"""Named points in the send path where the kill -9 tests stop the daemon.

The exactly-once promise must hold whichever step a kill lands on, and a real SIGKILL from the
test is the only honest way to show it. With INBOXOPS_HALT_AT set to a point's name (tests
only; nothing in a deployment sets it), the process writes that name to INBOXOPS_HALT_MARKER
and freezes there until it is killed. Unset, a halt point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

# In send order. Up to "mid-body" the terminating "." has not been written, so the server
# drops the transaction and the restart sends again; from "after-dot" to "accepted" it may have
# the message, and the row is left `unknown`, never resent nor counted as sent.
BEFORE_DOT = ("claimed", "before-data", "awaiting-354", "mid-body")
AFTER_DOT = ("after-dot", "accepted")
POINTS = (*BEFORE_DOT, *AFTER_DOT, "recorded", "filed")


def halt_point(name: str) -> None:
    if os.environ.get("INBOXOPS_HALT_AT") != name:
        return
    marker = os.environ.get("INBOXOPS_HALT_MARKER")
    if marker:
        Path(marker).write_text(name)
    while True:  # frozen on purpose: the test kills this process here
        time.sleep(1)
