"""What the end-to-end tests share: driving the CLI and the daemon as a user would."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from inboxops.cli import main


class Crash(BaseException):
    """Stands in for kill -9: nothing in the code under test catches a BaseException."""


def crash(*args: object, **kwargs: object) -> None:
    raise Crash


def invoke(config: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """Run one CLI command in-process; the result carries exit code and output."""
    return CliRunner().invoke(main, ["--config", str(config), *args], env=env)


def cli(config: Path, *args: str) -> str:
    """Run one CLI command that must succeed; exceptions (and Crash) propagate."""
    result = CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def drafts(config: Path) -> list[dict[str, Any]]:
    return json.loads(cli(config, "drafts", "--json"))


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def drop(maildir: Path, name: str, raw: bytes) -> Path:
    """Deliver into a Maildir like an MDA: write in tmp/, rename into new/."""
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    tmp = maildir / "tmp" / name
    tmp.write_bytes(raw)
    target = maildir / "new" / name
    os.rename(tmp, target)
    return target


@contextmanager
def running_daemon(
    config: Path, log_path: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`inboxops run` as a separate process; killed at the end if the test did not stop it."""
    log = log_path.open("w") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "inboxops", "--config", str(config), "run"],
        stdout=log, stderr=subprocess.STDOUT,
        env={**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"},
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if log_path:
            log.close()  # type: ignore[union-attr]


def stop(proc: subprocess.Popen[bytes]) -> int:
    """SIGTERM, as systemd stops the service; the exit status."""
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=20)


class NotifySocket:
    """What systemd's notify socket would receive, with arrival times (abstract namespace, so
    the path length limit of unix sockets never bites)."""

    def __init__(self) -> None:
        self.name = f"@inboxops-test-{secrets.token_hex(6)}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + self.name[1:])
        self.sock.settimeout(0.2)
        self.received: list[tuple[float, str]] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._done.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.received.append((time.monotonic(), data.decode()))

    def lines(self, since: float = 0.0) -> list[str]:
        """Every KEY=value line received after `since` (monotonic)."""
        return [line for at, msg in list(self.received) if at > since
                for line in msg.splitlines()]

    def times(self, line: str) -> list[float]:
        """When each notification holding exactly `line` arrived (monotonic)."""
        return [at for at, msg in list(self.received) if line in msg.splitlines()]

    def close(self) -> None:
        self._done.set()
        self._thread.join(2)
        self.sock.close()


def store_with_a_draft(path: Path, confidence: float = 0.9, reasons: str = "[]") -> None:
    """A migrated database with one processed message and its pending draft, closed (WAL
    checkpointed)."""
    from inboxops.store import Store

    store = Store(path)
    pk = store.record_incoming("maildir:x", "INBOX", "k1", b"Subject: hi\r\n\r\nhello")
    assert pk is not None
    store.transition("messages", pk, ("received",), "processed", category="inquiry",
                     confidence=confidence, reasons=reasons, subject="hi",
                     from_addr="c@example.test")
    with store.tx():
        store.conn.execute(
            "INSERT INTO drafts (message_pk, category, language, to_addr, to_name, to_reason,"
            " subject, body_text, created_at) VALUES (?, 'inquiry', 'en', 'c@example.test', '',"
            " 'From header', 'Re: hi', 'Thanks.', '2026-11-30T10:00:00+00:00')", (pk,))
    store.close()
