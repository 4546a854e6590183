"""The one time format stored: UTC, ISO 8601, to the second (text sorts as time does)."""

from __future__ import annotations

from datetime import UTC, datetime


def now_iso() -> str:
    """Current UTC time as ISO 8601 (seconds), the one time format stored."""
    return datetime.now(UTC).isoformat(timespec="seconds")
