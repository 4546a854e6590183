"""What every CLI command shares: the lazily loaded config and store, and sending the outbox."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from inboxops.cli.validated import Basics
    from inboxops.config import Config
    from inboxops.store import Store


class Context:
    """Lazily loaded config and store, shared by the commands of one invocation."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._cfg: Config | None = None
        self._basics: Basics | None = None
        self._store: Store | None = None

    @property
    def cfg(self) -> Config:
        """The whole config, validated (and remembered as valid: see cli/validated.py)."""
        if self._cfg is None:
            from inboxops.cli.validated import config_file, remember
            from inboxops.config import load

            try:
                before: bytes | None = config_file(self.config_path).read_bytes()
            except OSError:
                before = None  # load says why
            self._cfg = load(self.config_path)
            if before is not None and _unchanged(self.config_path, before):
                remember(self.config_path, before, self._cfg)
        return self._cfg

    @property
    def basics(self) -> Basics:
        """The store path and review threshold: remembered for a file validated before,
        else from a full load. Listing commands use these to start without pydantic."""
        if self._basics is None:
            from inboxops.cli.validated import Basics, recall

            known = recall(self.config_path) if self._cfg is None else None
            self._basics = known or Basics.of(self.cfg)
        return self._basics

    @property
    def store(self) -> Store:
        if self._store is None:
            from inboxops.store import Store

            self._store = Store(self.basics.store_path)
        return self._store

    @property
    def store_path(self) -> Path | None:
        """Where the store is, once known (for an error message); None before."""
        if self._basics is not None:
            return self._basics.store_path
        return self._cfg.store.path if self._cfg is not None else None


def _unchanged(config_path: str | None, before: bytes) -> bool:
    """Whether the file still holds the bytes read before it was validated."""
    from inboxops.cli.validated import config_file

    try:
        return config_file(config_path).read_bytes() == before
    except OSError:
        return False


pass_ctx = click.make_pass_decorator(Context)

# A row id: SQLite integers are 64-bit, and a larger number would fail inside the query.
ID = click.IntRange(1, 2**63 - 1)


def _config_or_default(c: Context) -> Config:
    """Commands that only read files work without a config (the embedded defaults)."""
    if c.config_path is None and not Path("config.toml").exists():
        from inboxops.config import default

        return default()
    return c.cfg


def _deliver(c: Context) -> None:
    from inboxops.outbound.delivery import deliver_now
    from inboxops.store import outbox as stored_outbox

    sent = deliver_now(c.store, c.cfg)
    for row in stored_outbox.recent_unsettled(c.store, limit=5):
        if row["state"] in ("failed", "unknown"):
            click.echo(f"outbox {row['id']}: {row['state']}: {row['last_error']}", err=True)
    click.echo(f"sent {sent} message(s)")
