"""What every CLI command shares: the lazily loaded config and store, and sending the outbox."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from inboxops.config import Config
    from inboxops.store import Store


class Context:
    """Lazily loaded config and store, shared by the commands of one invocation."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._cfg: Config | None = None
        self._store: Store | None = None

    @property
    def cfg(self) -> Config:
        if self._cfg is None:
            from inboxops.config import load

            self._cfg = load(self.config_path)
        return self._cfg

    @property
    def store(self) -> Store:
        if self._store is None:
            from inboxops.store import Store

            self._store = Store(self.cfg.store.path)
        return self._store


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
