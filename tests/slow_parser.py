"""A parser for the worker-pool tests: importable by name, as spawned workers need."""

from __future__ import annotations

import os
import time

from inboxops.intake.parse import parse_message
from inboxops.models import ParsedMessage


def parse_or_hang(raw: bytes) -> ParsedMessage:
    if b"X-Test-Hang: yes" in raw:
        time.sleep(600)  # stands in for a quadratic header parse (gh-136063)
    if b"X-Test-Die: yes" in raw:
        os._exit(3)  # stands in for a worker killed by the kernel (out of memory)
    return parse_message(raw)


def subject_of(raw: bytes) -> str:
    """Another work function, for a batch that asks for one (`ParsePool.parse(parser=...)`)."""
    return parse_message(raw).subject.upper()
