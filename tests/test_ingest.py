"""Writing a backlog once (issue 15): the daemon's intake records mail that needs nothing but
sorting as processed in one write (`Pipeline.ingest`), and everything else the usual way. The
result must be exactly the usual path's: same columns, same drafts, nothing lost or doubled."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from configs import maildir_config
from helpers import drop
from mailfactory import client_mail
from slow_parser import parse_or_hang

from inboxops import config
from inboxops.intake.maildir import MaildirSource
from inboxops.intake.parsepool import ParsePool
from inboxops.intake.sources import Incoming
from inboxops.service import daemon as daemon_module
from inboxops.service.daemon import Daemon
from inboxops.service.pipeline import Pipeline
from inboxops.store import Store

UNCOMPARED = {"id", "source", "received_at"}  # the two stores' own


@pytest.fixture(autouse=True)
def _keep_backlog_batch() -> Any:
    size = daemon_module.BACKLOG_BATCH
    yield
    daemon_module.BACKLOG_BATCH = size


def _mail(n: int, subject: str, body: str, age_days: float, **kw: Any) -> bytes:
    date = datetime.now().astimezone() - timedelta(days=age_days)
    return client_mail(sender=f"Maria {n} <maria{n}@client.example>", subject=subject,
                       body=body, date=date, message_id=f"<m{n}@client.example>", **kw)


BACKLOG = [
    _mail(1, "Reclamație comanda 5512", "Bună ziua,\n\nProdusul din comanda 5512 a ajuns "
          "stricat și nu funcționează.\n\nMaria", 40),
    _mail(2, "Re: Reclamație comanda 5512", "Încă aștept un răspuns.", 39,
          headers={"In-Reply-To": "<m1@client.example>", "References": "<m1@client.example>"}),
    _mail(3, "Meeting", "Hello, could we meet on Thursday at 10:30 at your office?", 35),
    _mail(4, "Newsletter", "This week's offers.", 1,
          headers={"List-Id": "<offers.shop.example>", "Precedence": "bulk"}),
    _mail(5, "Price question", "Hello, could you send me your price list?", 1),  # drafted
    b"\x00\x01 not a message \xff",
]


def _drop_all(tmp: Path) -> Path:
    tmp.mkdir(exist_ok=True)
    cfg_path = maildir_config(tmp)
    for i, raw in enumerate(BACKLOG):
        drop(tmp / "mail", f"17000000{i:02d}.M{i}P1.test", raw)
    return cfg_path


def _rows(db: Path) -> dict[str, dict[str, Any]]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = {r["source_key"]: {k: r[k] for k in r.keys() if k not in UNCOMPARED}  # noqa: SIM118
            for r in conn.execute("SELECT * FROM messages")}
    conn.close()
    return rows


def _events(db: Path) -> dict[str, list[str]]:
    conn = sqlite3.connect(db)
    out: dict[str, list[str]] = {}
    for key, event in conn.execute(
            "SELECT m.source_key, e.event FROM events e JOIN messages m ON m.id = e.entity_id"
            " WHERE e.entity = 'message' ORDER BY e.id"):
        out.setdefault(key, []).append(event)
    conn.close()
    return out


def _usual(tmp: Path) -> Path:
    """The plain path: every message recorded `received`, then processed from the store."""
    cfg = config.load(_drop_all(tmp))
    store = Store(cfg.store.path)
    source = MaildirSource(cfg.mailbox)
    assert source.poll(store) == len(BACKLOG)
    pipeline = Pipeline(cfg, store)
    try:
        while pipeline.process_pending():
            pass
    finally:
        pipeline.close()
        store.close()
    return Path(cfg.store.path)


def _ingested(tmp: Path) -> Path:
    """The daemon's path: its source records a backlog through `Pipeline.ingest` (new mail
    that comes a few messages at a time goes the usual way: this backlog counts as one)."""
    cfg = config.load(_drop_all(tmp))
    daemon_module.BACKLOG_BATCH = 1
    daemon = Daemon(cfg)
    try:
        assert daemon.source.poll(daemon.store) == len(BACKLOG)
        while daemon.pipeline.process_pending():
            pass
    finally:
        daemon.pipeline.close()
        daemon.store.close()
    return Path(cfg.store.path)


def test_a_backlog_written_once_is_exactly_what_the_usual_path_writes(tmp_path: Path) -> None:
    usual, once = _rows(_usual(tmp_path / "usual")), _rows(_ingested(tmp_path / "once"))
    assert once == usual
    states = {key: (row["state"], row["category"]) for key, row in once.items()}
    assert sorted(states.values(), key=str) == sorted([
        ("processed", "complaint"), ("processed", "complaint"), ("processed", "meeting"),
        ("processed", "other"), ("processed", "inquiry"), ("quarantined", None)], key=str)
    thread = {row["thread_key"] for row in once.values() if row["category"] == "complaint"}
    assert len(thread) == 1  # the reply joined its original's conversation


def test_only_mail_that_needs_more_than_sorting_goes_the_long_way(tmp_path: Path) -> None:
    db = _ingested(tmp_path)
    events = _events(db)
    rows = _rows(db)
    short = {key for key, row in rows.items()
             if row["state"] == "processed" and row["category"] != "inquiry"}
    assert len(short) == 4  # two old complaints, an old meeting request, a newsletter
    for key in short:
        assert events[key] == ["processed"]  # one write, one event
    long = set(rows) - short  # the recent inquiry (drafted), the bytes that cannot be parsed
    assert sorted(events[k][-1] for k in long) == ["processed", "quarantined"]
    assert all(events[k][0] == "received" for k in long)
    conn = sqlite3.connect(db)
    detail = json.loads(conn.execute(
        "SELECT detail FROM events WHERE entity = 'message' AND event = 'processed' ORDER BY id"
        " LIMIT 1").fetchone()[0])
    assert {"source", "key", "category", "confidence"} <= set(detail)
    (drafted,) = conn.execute("SELECT count(*) FROM drafts").fetchone()
    assert drafted == 1
    raws = conn.execute("SELECT count(*) FROM message_raw").fetchone()[0]
    assert raws == len(BACKLOG)  # every message's bytes are kept, whichever way it went


def test_a_crash_before_the_checkpoint_keeps_nothing_of_that_run(tmp_path: Path) -> None:
    cfg = config.load(maildir_config(tmp_path))
    daemon = Daemon(cfg)
    daemon_module.BACKLOG_BATCH = 1
    batch = [Incoming(f"k{i}", raw) for i, raw in enumerate(BACKLOG[:4])]

    def crash(_: Incoming) -> None:
        raise RuntimeError("killed")

    try:
        with pytest.raises(RuntimeError):
            daemon._ingest(daemon.store, "test", "INBOX", batch, crash)
        assert daemon.store.one("SELECT count(*) AS n FROM messages") == {"n": 0}
        seen: list[str] = []
        assert daemon._ingest(daemon.store, "test", "INBOX", batch,
                              lambda m: seen.append(m.key)) == 4
        assert seen == ["k3"]  # the run's last message, in its transaction
        assert daemon._ingest(daemon.store, "test", "INBOX", batch, seen.append) == 0
    finally:
        daemon.pipeline.close()
        daemon.store.close()


def test_two_threads_parsing_at_once_share_the_workers_never_more() -> None:
    pool = ParsePool(workers=1, parser=parse_or_hang)
    items = [(i, client_mail(subject=f"Question {i}")) for i in range(40)]
    got: list[list[int]] = []
    started: list[int] = []

    def parse() -> None:
        results = []
        for pk, _ in pool.parse(items):
            started.append(pool._started)
            results.append(pk)
        got.append(results)

    threads = [threading.Thread(target=parse) for _ in range(3)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        pool.close()
    assert got == [list(range(40))] * 3
    assert max(started) == 1
    assert pool._started == 0  # closed: no worker left behind

