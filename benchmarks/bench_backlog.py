"""Backlog throughput: N messages in a Maildir → recorded, parsed, classified, drafted.

Prints messages per second for intake (recording raw mail in SQLite) and for the pipeline
(parse → classify → draft → record), and the peak resident memory, so a change that loads the
mailbox into memory or slows parsing shows up as a number.

    python benchmarks/bench_backlog.py [--count 2000] [--corpus DIR_OF_EML_FILES]

Without --corpus, messages are generated (en/ro, plain and multipart/alternative, some with
iso-8859-2 bodies). With --corpus, e.g. the corpus made by ../shared/mailserver/perf/gen_corpus.py,
the first --count files are used.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inboxops import config
from inboxops.defaults import TEMPLATES
from inboxops.intake.maildir import MaildirSource
from inboxops.service.pipeline import Pipeline
from inboxops.store import Store

SUBJECTS = ["Price request", "Broken delivery", "Meeting on Tuesday", "Ofertă servicii",
            "Reclamație comandă", "Programare joi la ora 10", "Newsletter November"]
BODIES = [
    "Hello,\n\nCould you please send me a quote for {n} units? Thank you.\n",
    "Hi,\n\nOrder {n} arrived damaged and does not work. I want a refund.\n",
    "Hello,\n\nCould we meet next Tuesday at 3pm to discuss order {n}?\n",
    "Bună ziua,\n\nAș dori o ofertă de preț pentru {n} bucăți. Mulțumesc!\n",
    "Bună ziua,\n\nProdusul din comanda {n} a ajuns stricat. Sunt nemulțumit.\n",
    "Bună ziua,\n\nPutem stabili o întâlnire joi la ora 10:30?\n",
]


def generate(n: int, seed: int = 7) -> Iterator[bytes]:
    rng = random.Random(seed)
    for i in range(n):
        msg = EmailMessage(policy=SMTP)
        msg["From"] = f"Client {i} <client{i}@example.org>"
        msg["To"] = "office@example.com"
        msg["Subject"] = rng.choice(SUBJECTS)
        msg["Message-ID"] = f"<bench{i}@example.org>"
        msg["Date"] = "Thu, 26 Nov 2026 10:00:00 +0200"
        body = rng.choice(BODIES).format(n=rng.randint(1000, 99999)) * rng.randint(1, 20)
        charset = "iso-8859-2" if i % 7 == 0 else "utf-8"
        text = body.replace("ș", "ş").replace("ț", "ţ") if charset != "utf-8" else body
        msg.set_content(text, charset=charset)
        if i % 3 == 0:
            msg.add_alternative(f"<html><body><p>{text}</p></body></html>", subtype="html")
        yield msg.as_bytes()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--corpus", type=Path, help="folder of .eml files to use instead")
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # "no free slot" notes for a calendar the benchmark fills
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        maildir = base / "mail"
        for sub in ("new", "cur", "tmp"):
            (maildir / sub).mkdir(parents=True)
        if args.corpus:
            files = sorted(p for p in args.corpus.rglob("*") if p.is_file())[: args.count]
            messages: Iterator[bytes] = (p.read_bytes() for p in files)
        else:
            messages = generate(args.count)
        size = 0
        for i, raw in enumerate(messages):  # streamed: the RSS below is the pipeline's own
            (maildir / "new" / f"{1700000000 + i}.M{i}P1.bench").write_bytes(raw)
            size += len(raw)
        cfg = config.default()
        cfg.mailbox.path = maildir
        cfg.mailbox.sort = "off"
        cfg.store.path = base / "bench.db"
        cfg.replies.templates = TEMPLATES
        store = Store(cfg.store.path)

        t0 = time.perf_counter()
        recorded = MaildirSource(cfg.mailbox).poll(store)
        t1 = time.perf_counter()
        pipeline = Pipeline(cfg, store)
        processed = 0
        while n := pipeline.process_pending(limit=200):
            processed += n
        t2 = time.perf_counter()
        drafts = store.one("SELECT count(*) AS n FROM drafts")["n"]  # type: ignore[index]
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"messages: {recorded} ({size / 1e6:.1f} MB), drafts: {drafts}")
        print(f"intake (Maildir → SQLite): {recorded / (t1 - t0):,.0f} msg/s")
        print(f"pipeline (parse → classify → draft → record): {processed / (t2 - t1):,.0f} msg/s")
        print(f"end to end: {processed / (t2 - t0):,.0f} msg/s; peak RSS {peak_mb:.0f} MB; "
              f"pid {os.getpid()}")


if __name__ == "__main__":
    main()
