"""The assistant's page: the queue of drafts, one draft beside its original, meetings, the
outbox, the digest preview and the status, in English or Romanian, behind a login.

`inboxops web` serves it in the foreground (serve); with [web] enabled = true, `inboxops run`
serves it beside the daemon from a thread (start_in_thread). Either way the store is the one
source of truth: the page acts through the same library functions as the CLI and the mail
client, and whichever acts first on a draft wins.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

import uvicorn

from inboxops.config import Config

if TYPE_CHECKING:
    from inboxops.web.app import Web

log = logging.getLogger(__name__)


def _server(cfg: Config, host: str | None, port: int | None) -> tuple[uvicorn.Server, Web]:
    from inboxops.web.app import create_app

    app = create_app(cfg)
    config = uvicorn.Config(
        app, host=host or cfg.web.host, port=port or cfg.web.port,
        log_config=None,  # our logging setup (journald prefixes) stays in charge
        access_log=False, lifespan="off", server_header=False,
        proxy_headers=False,  # the client address is the proxy's: trusted_proxies decides
    )
    return uvicorn.Server(config), app.state.web


def serve(cfg: Config, host: str | None = None, port: int | None = None) -> None:
    """Serve the page until SIGTERM or Ctrl-C (uvicorn handles both, finishing requests)."""
    server, web = _server(cfg, host, port)
    log.info("web: serving on http://%s:%s", server.config.host, server.config.port)
    try:
        server.run()
    finally:
        web.close()


class Running:
    """The page served from a thread: `stop()` ends it, finishing requests in flight."""

    def __init__(self, server: uvicorn.Server, web: Web) -> None:
        self.server = server
        self.web = web
        self.thread = threading.Thread(target=server.run, name="web", daemon=True)

    @property
    def started(self) -> bool:
        return bool(self.server.started)

    def stop(self, timeout: float = 10) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.web.close()


def start_in_thread(cfg: Config) -> Running:
    """Serve the page from a daemon thread (for `inboxops run`, and tests)."""
    running = Running(*_server(cfg, None, None))
    running.thread.start()
    log.info("web: serving on http://%s:%s", cfg.web.host, cfg.web.port)
    return running
