"""SIGKILL at random moments while replies are in SMTP DATA, against a server that takes its
time over the 354 and over the final 250 (as a loaded submission server or a slow content
scanner does): every reply reaches the server exactly once or is `unknown`; none is marked sent
without the server's 250; no `unknown` is counted as sent in `status`, `outbox` or the digest.

The named points of DATA (before 354, mid-body, after ".", before 250) are each hit on purpose
in test_e2e_kill.py; here the kills land wherever the clock puts them, as a real crash does.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from configs import maildir_config, write_config
from helpers import cli, running_daemon, stop, wait_until
from mailservers import free_port

from inboxops.outbound.outbox import enqueue
from inboxops.responders.compose import address, build_message, new_message_id
from inboxops.store import Store

DELAY = 0.25  # seconds before the 354 and again before the final 250
REPLIES = 50
KILLS = 24


class SlowServer:
    """aiosmtpd that delays its 354 and its 250, and notes where each transaction is."""

    def __init__(self) -> None:
        self.received: list[bytes] = []  # message bodies, from the moment the "." arrived
        self.replied: list[bytes] = []  # bodies whose 250 was about to be written
        self.stage = "idle"  # idle | awaiting-354 | body | awaiting-250
        self.connections = 0
        self.lock = threading.Lock()
        outer = self

        class Slow(SMTP):
            def connection_made(self, transport: Any) -> None:
                outer.connections += 1
                super().connection_made(transport)

            def connection_lost(self, error: Exception | None) -> None:
                outer.stage = "idle"
                super().connection_lost(error)

            async def smtp_DATA(self, arg: str) -> None:
                outer.stage = "awaiting-354"
                await asyncio.sleep(DELAY)
                outer.stage = "body"
                await super().smtp_DATA(arg)
                outer.stage = "idle"

        class Handler:
            async def handle_DATA(self, server: SMTP, session: Session,
                                  envelope: Envelope) -> str:
                raw = envelope.original_content or b""
                with outer.lock:
                    outer.received.append(raw)  # the server has it now, whatever follows
                outer.stage = "awaiting-250"
                await asyncio.sleep(DELAY)
                with outer.lock:
                    outer.replied.append(raw)
                return "250 2.0.0 Ok: queued"

        class Ctl(Controller):
            def factory(self) -> SMTP:
                return Slow(self.handler, **self.SMTP_kwargs)

        self.port = free_port()
        self.controller = Ctl(Handler(), hostname="127.0.0.1", port=self.port,
                              server_hostname="slow.example.test", ready_timeout=10.0)

    def copies(self, message_id: str, of: list[bytes]) -> int:
        with self.lock:
            return sum(message_id.encode() in raw for raw in of)


def states(db_path: Path) -> dict[str, str]:
    with sqlite3.connect(db_path) as db:
        return dict(db.execute("SELECT message_id, state FROM outbox"))


def test_random_kills_during_data_never_double_nor_claim_a_send(tmp_path: Path) -> None:
    server = SlowServer()
    server.controller.start()
    try:
        _run(tmp_path, server)
    finally:
        server.controller.stop()


def _run(tmp_path: Path, server: SlowServer) -> None:
    for sub in ("cur", "new", "tmp"):
        (tmp_path / "mail" / sub).mkdir(parents=True)
    config = maildir_config(tmp_path, poll_seconds=60)
    text = config.read_text().split("[smtp]")[0]
    config.write_text(text)
    port = server.port
    write_config(tmp_path / "smtp.toml", {"smtp": {
        "kind": "smtp", "host": "127.0.0.1", "port": port, "security": "none",
        "from": "Office <office@example.test>", "timeout": 10}})
    config.write_text(text + (tmp_path / "smtp.toml").read_text())
    db_path = tmp_path / "inboxops.db"
    store = Store(db_path)
    body = "Thank you for your question.\n" + "The kettle is in stock.\n" * 400
    for i in range(REPLIES):
        message_id = new_message_id("example.test")
        raw = build_message(sender=address("office@example.test"),
                            to=[address(f"client{i}@example.test")], subject=f"Re: kettle {i}",
                            text=body, message_id=message_id)
        enqueue(store, "reply", raw, message_id, "office@example.test",
                [f"client{i}@example.test"])
    store.conn.close()

    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    where: list[str] = []
    for n in range(KILLS):
        seen = server.connections
        with running_daemon(config, tmp_path / f"run{n}.log") as proc:
            wait_until(lambda seen=seen: server.connections > seen)  # sending has begun
            time.sleep(rng.uniform(0.0, 1.2))  # one reply takes 2 * DELAY and a bit
            where.append(server.stage)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    in_data = [w for w in where if w != "idle"]
    assert len(where) == KILLS, f"all sent after {len(where)} kills: make REPLIES larger"
    assert len(in_data) >= 15, f"only {len(in_data)} kills landed in DATA (seed {seed}): {where}"

    log = tmp_path / "final.log"
    with running_daemon(config, log) as proc:
        wait_until(lambda: all(s in ("sent", "unknown") for s in states(db_path).values()),
                   timeout=90)
        wait_until(lambda: f"pid {proc.pid}" in cli(config, "status"))  # up, not starting
        assert stop(proc) == 0
    assert "Traceback" not in log.read_text()

    final = states(db_path)
    for message_id, state in final.items():
        got = server.copies(message_id, server.received)
        assert got <= 1, f"{message_id}: {got} copies (seed {seed}, kills at {where})"
        if state == "sent":  # never without the server's 250
            assert got == 1 and server.copies(message_id, server.replied) == 1, (seed, where)
        else:
            assert state == "unknown", (message_id, state)
    n_sent = sum(s == "sent" for s in final.values())
    n_unknown = REPLIES - n_sent
    status = cli(config, "status")
    assert f"0 queued, 0 sending, {n_sent} sent, 0 failed, {n_unknown} unknown" in status
    listing = cli(config, "outbox")
    assert sum(" unknown " in line for line in listing.splitlines()) == n_unknown
    digest = cli(config, "digest")
    assert digest.count(" is unknown") == n_unknown
    print(f"seed {seed}: {len(where)} kills, {len(in_data)} in DATA ({sorted(set(in_data))}), "
          f"{n_sent} sent, {n_unknown} unknown")
