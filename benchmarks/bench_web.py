"""Load time of the queue page with 500 pending drafts: p50 and p95 over timed requests.

    python benchmarks/bench_web.py [--drafts 500] [--requests 60]

The drafts are made by the real pipeline from invented client mail in a throwaway store; the
page is the real server (uvicorn in a thread, as `inboxops run` serves it) fetched over HTTP by
a logged-in client, so the figure includes login check, thread-pool hop, query, rendering and
transfer. Target (issue 13): p50 <= 200 ms on this machine.
"""

from __future__ import annotations

import argparse
import re
import socket
import statistics
import sys
import tempfile
import time
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from inboxops import config  # noqa: E402
from inboxops.defaults import TEMPLATES  # noqa: E402
from inboxops.service.pipeline import Pipeline  # noqa: E402
from inboxops.store import Store  # noqa: E402
from inboxops.web import start_in_thread  # noqa: E402
from inboxops.web.auth import set_password  # noqa: E402

TEXTS = [("Question about prices {i}", "Hello, could you please send me your price list? {i}"),
         ("Reclamație comanda {i}", "Bună ziua, produsul din comanda {i} a ajuns stricat. "
          "Sunt foarte nemulțumită."),
         ("Order {i} status", "Hello, could you tell me when order {i} will ship? Thank you.")]


def mail(i: int) -> bytes:
    subject, body = TEXTS[i % len(TEXTS)]
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"Client {i} <client{i}@client.example>"
    msg["To"] = "office@example.com"
    msg["Subject"] = subject.format(i=i)
    msg["Message-ID"] = make_msgid(domain="client.example")
    msg.set_content(body.format(i=i))
    return msg.as_bytes()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=500)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = config.default()
        cfg.store.path = Path(tmp) / "inboxops.db"
        cfg.replies.templates = TEMPLATES
        cfg.web.users_file = Path(tmp) / "users"
        cfg.web.secret_file = Path(tmp) / "secret"
        cfg.web.port = free_port()
        store = Store(cfg.store.path)
        for i in range(args.drafts):
            store.record_incoming("bench", "INBOX", str(i), mail(i))
        pipeline = Pipeline(cfg, store)
        pipeline.process_pending(limit=args.drafts)
        pipeline.close()
        waiting = store.one("SELECT count(*) AS n FROM drafts WHERE state = 'pending'")
        set_password(cfg.web.users_file, "bench", "bench password")
        running = start_in_thread(cfg)
        while not running.started:
            time.sleep(0.02)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{cfg.web.port}") as client:
                token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
                assert token
                client.post("/login", data={"csrf": token.group(1), "user": "bench",
                                            "password": "bench password"})
                times = []
                for n in range(args.requests + 5):
                    t0 = time.perf_counter()
                    response = client.get("/")
                    elapsed = time.perf_counter() - t0
                    assert response.status_code == 200 and "/drafts/" in response.text
                    if n >= 5:  # the first few warm up templates and the thread pool
                        times.append(elapsed)
                size = len(response.content)
        finally:
            running.stop()
    times.sort()
    p50 = statistics.median(times) * 1000
    p95 = times[int(len(times) * 0.95) - 1] * 1000
    rows = waiting["n"] if waiting else 0
    print(f"queue page with {rows} pending drafts ({size // 1024} KiB): p50 {p50:.1f} ms, "
          f"p95 {p95:.1f} ms over {len(times)} requests (target p50 <= 200 ms)")


if __name__ == "__main__":
    main()
