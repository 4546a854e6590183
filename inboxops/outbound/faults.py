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

POINTS = ("claimed", "before-data", "accepted", "recorded", "filed")


def halt_point(name: str) -> None:
    if os.environ.get("INBOXOPS_HALT_AT") != name:
        return
    marker = os.environ.get("INBOXOPS_HALT_MARKER")
    if marker:
        Path(marker).write_text(name)
    while True:  # frozen on purpose: the test kills this process here
        time.sleep(1)
