"""Backfill of a full IMAP mailbox, interrupted and resumed: progress, time, nothing twice.

Starts a throwaway Dovecot (tests/mailservers.py), fills a mailbox with N generated messages,
runs `inboxops backfill --since 30d` as a separate process, kills it (SIGKILL) once a share of
the messages is done, runs `inboxops backfill` again to resume, and checks that every message
was recorded and processed exactly once. The progress lines of both runs are shown.

    python benchmarks/bench_backfill.py [--count 5000] [--kill-at 0.4]
"""

from __future__ import annotations

import argparse
import secrets
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from configs import imap_config  # noqa: E402
from mailfactory import client_mail  # noqa: E402
from mailservers import DovecotInstance, ImapUser, unique_address  # noqa: E402

BODIES = ["Hello, when will order {n} arrive? Thank you.",
          "Order {n} arrived damaged and does not work. I want a refund.",
          "Could we schedule a meeting next Tuesday at 3pm about order {n}?",
          "Buna ziua, as dori o oferta de pret pentru comanda {n}. Multumesc!"]


def done_so_far(db: Path) -> tuple[int, int] | None:
    try:
        con = sqlite3.connect(db, timeout=1)
        try:
            row = con.execute("SELECT done, total FROM backfills ORDER BY id DESC").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return None
    return (row[0], row[1] or 0) if row else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--kill-at", type=float, default=0.4)
    args = parser.parse_args()
    dovecot = DovecotInstance()
    dovecot.start()
    try:
        user = ImapUser(unique_address("office"), secrets.token_urlsafe(12), dovecot)
        dovecot.add_user(user.address, user.password)
        t0 = time.monotonic()
        with user.client() as client:
            for n in range(args.count):
                client.append("INBOX", client_mail(
                    to=user.address, subject=f"Order {n}", body=BODIES[n % 4].format(n=n)))
        print(f"mailbox filled: {args.count} messages in {time.monotonic() - t0:.1f} s")
        with tempfile.TemporaryDirectory() as tmp:
            config = imap_config(Path(tmp), user, SimpleNamespace(port=25),
                                 mailbox={"first_start": "none"})
            db = Path(tmp) / "inboxops.db"
            inboxops = [sys.executable, "-m", "inboxops", "--config", str(config)]
            subprocess.run([*inboxops, "run", "--once"], check=True)  # first start: ignored
            t0 = time.monotonic()
            first = subprocess.Popen([*inboxops, "backfill", "--since", "30d"])
            while first.poll() is None:
                progress = done_so_far(db)
                if progress and progress[1] and progress[0] >= args.kill_at * progress[1]:
                    first.send_signal(signal.SIGKILL)
                    break
                time.sleep(0.2)
            first.wait()
            print(f"\n-- killed after {time.monotonic() - t0:.1f} s at {done_so_far(db)} "
                  "(done, total); resuming --")
            subprocess.run([*inboxops, "backfill"], check=True)
            elapsed = time.monotonic() - t0
            con = sqlite3.connect(db)
            keys = [r[0] for r in con.execute("SELECT source_key FROM messages")]
            per = [n for (n,) in con.execute(
                "SELECT count(*) FROM events WHERE entity = 'message' AND event IN "
                "('processed', 'quarantined') GROUP BY entity_id")]
            drafts = [n for (n,) in con.execute(
                "SELECT count(*) FROM drafts GROUP BY message_pk")]
            print(f"messages recorded: {len(keys)} (distinct UIDs {len(set(keys))}); "
                  f"processed once: {per.count(1)}, more than once: "
                  f"{sum(1 for n in per if n > 1)}; messages with more than one draft: "
                  f"{sum(1 for n in drafts if n > 1)}")
            print(f"total {elapsed:.1f} s, {args.count / elapsed:.0f} msg/s including the kill")
            ok = len(keys) == len(set(keys)) == args.count and per.count(1) == args.count
            print("OK" if ok else "FAILED")
            if not ok:
                raise SystemExit(1)
    finally:
        dovecot.stop()


if __name__ == "__main__":
    main()
