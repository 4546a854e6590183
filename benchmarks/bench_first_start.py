"""The daemon's own first start over IMAP on a big INBOX, beside the anchors of the same run.

    python benchmarks/bench_first_start.py CORPUS_DIR [--count 10000] [--drafts 1000]
                     [--idle-seconds 60] [--probes 20] [--stop-after 0.3] [--skip-anchors]

CORPUS_DIR holds .eml files, e.g. made by ../shared/mailserver/perf/gen_corpus.py (for
`--count 100000`: `gen_corpus.py /tmp/perf-corpus-100k 100000 42`). Everything runs against
one private loopback Dovecot (tests/mailservers.py), in this order:

1. anchors on the loaded INBOX: imapclient FETCH BODY.PEEK[] in batches of 500, the same plus
   `email.message_from_bytes(policy=default)` (the naive path), and imapfilter fetching every
   message if it is installed;
2. `inboxops run` (a separate process, as systemd starts it) from an empty store until every
   message is recorded, processed AND sorted in the mailbox: msg/s, the time to READY=1, and
   the peak RSS of the whole process tree and of each role in it (daemon, parse workers;
   sampled from /proc every 0.1 s) and the tree's peak PSS (every 1 s; RSS counts pages
   shared between the processes once per process);
3. the same daemon idle with `--drafts` pending drafts published in its Drafts folder (the
   default `[approval] mail_client = true`): once every draft is published and the relay saw
   no command but IDLE/DONE for a few seconds, `--idle-seconds` of IMAP commands a minute by
   name (counted by a relay between daemon and Dovecot; IDLE/DONE re-arms apart), CPU seconds
   a minute of the process tree, and its RSS and PSS by role at the end;
4. the same daemon: `--probes` new inquiries APPENDed one a second, each timed from the
   server's OK to its draft in the store (p50 and max);
5. a fresh mailbox again, SIGTERM once `--stop-after` of the backlog is processed: seconds
   from the signal to the exit, and how many processed messages were left unsorted.

The pending drafts: the corpus is old mail, outside the drafting window, so the loader gives
`--drafts` messages the daemon would answer a Date header and INTERNALDATE of the last hours
(benchcorpus.py says how they are chosen and why not a wider window). The loading of the
INBOX is not timed: the messages are streamed (never all in memory) into the Maildir's cur/
as Dovecot's own delivery would, with the file's mtime as INTERNALDATE, then one read-write
SELECT settles the index.
"""

from __future__ import annotations

import argparse
import contextlib
import email
import email.policy
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))  # the tree this script is in, for the drafts' chooser

from benchcorpus import Corpus, pick_fresh  # noqa: E402
from benchtree import ROLES, TreeSampler, cpu_by_role, snapshot, tree_cpu  # noqa: E402
from imaprelay import TAGGED, CountingRelay  # noqa: E402  (the test suite's own relay)
from mailfactory import client_mail  # noqa: E402
from mailservers import DovecotInstance  # noqa: E402  (the test suite's own Dovecot)

POLL = 0.5  # seconds between looks at the daemon's store (a count over 100,000 rows costs)
QUIET = 5.0  # seconds without a command but IDLE/DONE that end the first Drafts round


# -- the mailbox --------------------------------------------------------------------------------

def fill_inbox(dovecot: DovecotInstance, user: str, corpus: Corpus) -> None:
    """Write the messages into cur/ (\\Seen) the way Dovecot's LDA names them, one at a time,
    with each file's mtime as its INTERNALDATE; then settle the index with one read-write
    SELECT a second later (Dovecot rescans a cur/ whose mtime is from the current second on
    every open)."""
    with dovecot.client(user) as c:  # the first login creates the Maildir
        c.select_folder("INBOX")
    cur = dovecot.maildir(user) / "cur"
    host = socket.gethostname().replace("/", "_").replace(":", "_")
    now, n = int(time.time()), len(corpus)
    for i, (raw, when) in enumerate(corpus.messages()):
        lf = raw.replace(b"\r\n", b"\n")
        size, wsize = len(lf), len(lf) + lf.count(b"\n")
        path = cur / f"{now - n + i}.M{i}P{os.getpid()}.{host},S={size},W={wsize}:2,S"
        path.write_bytes(lf)
        os.utime(path, (when, when))
        if dovecot.is_root:
            shutil.chown(path, dovecot.mail_user, dovecot.mail_group)
    time.sleep(1.1)
    with dovecot.client(user) as c:
        c.socket().settimeout(600)  # indexing 100,000 new files takes a while
        info = c.select_folder("INBOX")
        assert info[b"EXISTS"] == n, info


def new_user(dovecot: DovecotInstance, corpus: Corpus, tag: str) -> tuple[str, str]:
    user, password = f"bench-{tag}-{os.getpid()}@example.test", "bench-pw"
    dovecot.add_user(user, password)
    fill_inbox(dovecot, user, corpus)
    return user, password


# -- a relay that counts the commands the daemon sends ----------------------------------------

class TimedRelay(CountingRelay):
    """The tests' relay (daemon -> Dovecot), each command with its time, IDLE and DONE apart;
    `logins` counts the connections."""

    def __init__(self, upstream: int) -> None:
        self.timed: list[tuple[float, str]] = []
        super().__init__(upstream)

    @property
    def logins(self) -> int:
        return self.connections

    def _note(self, number: int, line: bytes) -> None:
        m = TAGGED.match(line)
        if m:
            word = m.group(1).upper().decode()
        elif line.strip().upper() == b"DONE":
            word = "DONE"
        else:
            return
        with self.lock:
            self.timed.append((time.monotonic(), word))

    def since(self, t0: float) -> list[str]:  # type: ignore[override]
        with self.lock:
            return [w for t, w in self.timed if t >= t0]


# -- the daemon ---------------------------------------------------------------------------------

def write_config(tmp: Path, port: int, user: str, password: str) -> Path:
    (tmp / "pw").write_text(password + "\n")
    config = tmp / "config.toml"
    config.write_text(f"""\
[store]
path = "{tmp / 'inboxops.db'}"
[replies]
templates = "{ROOT / 'templates'}"
company = "Bench Office"
[meetings]
timezone = "Europe/Bucharest"
staff = ["staff@example.test"]
[digest]
to = ["manager@example.test"]
enabled = false
[mailbox]
kind = "imap"
host = "127.0.0.1"
port = {port}
security = "none"
username = "{user}"
password_file = "{tmp / 'pw'}"
sort = "keyword"
first_start = "all"
[approval]
mail_client = true
[smtp]
kind = "outbox-dir"
path = "{tmp / 'outbox'}"
from = "Bench Office <{user}>"
""")
    return config


def counts(db: Path) -> dict[str, int]:
    """recorded, processed (or quarantined), sorted, pending and unpublished drafts."""
    keys = ("recorded", "processed", "sorted", "pending", "unpublished")
    if not db.exists():
        return dict.fromkeys(keys, 0)
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute(
                "SELECT count(*), sum(state != 'received'), sum(sort_state = 'done'),"
                " (SELECT count(*) FROM drafts WHERE state = 'pending'),"
                " (SELECT count(*) FROM drafts WHERE state = 'pending' AND published_at IS NULL)"
                " FROM messages").fetchone()
    except sqlite3.OperationalError:
        return dict.fromkeys(keys, 0)
    return {k: int(v or 0) for k, v in zip(keys, row, strict=True)}


def start_daemon(config: Path, tmp: Path, notify: socket.socket) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
           "NOTIFY_SOCKET": str(notify.getsockname())}
    log = (tmp / "daemon.log").open("w")
    return subprocess.Popen([sys.executable, "-m", "inboxops", "--config", str(config), "run"],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp)


def notify_socket(tmp: Path) -> tuple[socket.socket, list[tuple[float, str]]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp / "notify"))
    got: list[tuple[float, str]] = []

    def read() -> None:
        while True:
            try:
                got.append((time.monotonic(), sock.recv(4096).decode()))
            except OSError:
                return

    threading.Thread(target=read, daemon=True).start()
    return sock, got


def wait_for(check: Callable[[], bool], timeout: float, proc: subprocess.Popen[bytes],
             every: float = POLL) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(every)
    return False


def settle(relay: TimedRelay, proc: subprocess.Popen[bytes], timeout: float = 300) -> float:
    """Seconds until the relay saw QUIET seconds of nothing but IDLE/DONE (or the timeout)."""
    t0 = time.monotonic()

    def quiet() -> bool:
        now = time.monotonic()
        return now - t0 >= QUIET and not [w for w in relay.since(now - QUIET)
                                          if w not in ("IDLE", "DONE")]

    wait_for(quiet, timeout, proc, every=0.5)
    return time.monotonic() - t0


def idle(relay: TimedRelay, pid: int, seconds: float) -> dict[str, Any]:
    """IMAP commands by name, IDLE re-arms and CPU of the tree over `seconds` of idling."""
    c0, t1 = tree_cpu(pid), time.monotonic()
    time.sleep(seconds)
    minutes = (time.monotonic() - t1) / 60
    words = Counter(relay.since(t1))
    rearms = words.pop("IDLE", 0) + words.pop("DONE", 0)
    return {"idle_cmds": sum(words.values()) / minutes, "idle_rearms": rearms / minutes,
            "idle_by_name": {w: n / minutes for w, n in words.most_common()},
            "idle_cpu": (tree_cpu(pid) - c0) / minutes, "idle_mem": snapshot(pid)}


def latency(dovecot: DovecotInstance, user: str, db: Path, probes: int,
            proc: subprocess.Popen[bytes]) -> list[float]:
    """New mail -> draft, as the assistant meets it: each probe is an inquiry APPENDed to the
    INBOX the daemon watches (one a second, like mail trickling in), timed from the server's
    OK to its draft being in the store (polled every 5 ms). Dovecot itself holds the IDLE
    notification ~500 ms (PERF.md (4))."""
    took: list[float] = []
    token = os.urandom(4).hex()
    with dovecot.client(user) as c:
        for i in range(probes):
            subject = f"Price of the blue kettle, probe {token}-{i}"
            raw = client_mail(subject=subject, to=user, body="Hello, how much does the blue "
                              "kettle cost, and is it in stock? Thank you.")
            c.append("INBOX", raw)
            t0 = time.monotonic()
            wait_for(partial(_drafted, db, subject), 30, proc, every=0.005)
            took.append(time.monotonic() - t0)
            time.sleep(1.0)
    return took


def _drafted(db: Path, subject: str) -> bool:
    with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
        return bool(conn.execute(
            "SELECT 1 FROM drafts d JOIN messages m ON m.id = d.message_pk WHERE m.subject = ?",
            (subject,)).fetchone())


def first_start(dovecot: DovecotInstance, corpus: Corpus, idle_seconds: float,
                probes: int = 0) -> dict[str, Any]:
    n = len(corpus)
    user, password = new_user(dovecot, corpus, "first")
    relay = TimedRelay(dovecot.imap_port)
    res: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmpname:
        tmp = Path(tmpname)
        config = write_config(tmp, relay.port, user, password)
        db = tmp / "inboxops.db"
        sock, notes = notify_socket(tmp)
        server_cpu, own_cpu = tree_cpu(dovecot.pid), time.process_time()
        t0 = time.monotonic()
        proc = start_daemon(config, tmp, sock)
        sampler = TreeSampler(proc.pid)
        try:
            done = wait_for(lambda: counts(db)["sorted"] >= n, 3 * 3600, proc)
            elapsed = time.monotonic() - t0
            res["cpu"] = {**cpu_by_role(proc.pid), "Dovecot": tree_cpu(dovecot.pid) - server_cpu,
                          "this script (relay, sampler)": time.process_time() - own_cpu}
            res.update(peak=sampler.stop(), peak_pss=sampler.peak_pss)
            got = counts(db)
            if not done:
                print((tmp / "daemon.log").read_text()[-3000:])
                sys.exit(f"the daemon stopped early: {got}")
            ready = [at for at, text in notes if "READY=1" in text]
            res.update(daemon_seconds=elapsed, daemon_rate=n / elapsed,
                       ready_s=(ready[0] - t0) if ready else float("nan"))
            if idle_seconds > 0:
                t1 = time.monotonic()
                wait_for(lambda: counts(db)["unpublished"] == 0, 600, proc)
                res["published_s"] = time.monotonic() - t1
                res["settle_s"] = settle(relay, proc)
                res["pending_drafts"] = counts(db)["pending"]
                res.update(idle(relay, proc.pid, idle_seconds))
            if probes:
                res["latency"] = latency(dovecot, user, db, probes, proc)
            t2 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
            res["idle_stop_s"] = time.monotonic() - t2
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            sock.close()
            relay.close()
    return res


def stop_during_backlog(dovecot: DovecotInstance, corpus: Corpus, fraction: float
                        ) -> dict[str, float]:
    n = len(corpus)
    user, password = new_user(dovecot, corpus, "stop")
    with tempfile.TemporaryDirectory() as tmpname:
        tmp = Path(tmpname)
        config = write_config(tmp, dovecot.imap_port, user, password)
        sock, _ = notify_socket(tmp)
        proc = start_daemon(config, tmp, sock)
        try:
            wait_for(lambda: counts(tmp / "inboxops.db")["processed"] >= fraction * n, 3 * 3600,
                     proc)
            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(300)
            took = time.monotonic() - t0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            sock.close()
        got = counts(tmp / "inboxops.db")
    return {"stop_s": took, "stop_code": code, "stop_processed": got["processed"],
            "stop_sorted": got["sorted"], "stop_recorded": got["recorded"]}


# -- anchors ------------------------------------------------------------------------------------

def anchor_imapclient(dovecot: DovecotInstance, user: str, parse: bool) -> float:
    with dovecot.client(user) as c:
        c.select_folder("INBOX", readonly=True)
        uids = c.search("ALL")
        t = time.perf_counter()
        for i in range(0, len(uids), 500):
            for data in c.fetch(uids[i:i + 500], ["BODY.PEEK[]"]).values():
                if parse:
                    email.message_from_bytes(data[b"BODY[]"], policy=email.policy.default)
        return len(uids) / (time.perf_counter() - t)


def anchor_imapfilter(dovecot: DovecotInstance, user: str, password: str, n: int) -> float | None:
    binary = shutil.which("imapfilter")
    if binary is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "config.lua"
        conf.write_text(
            "options.timeout = 120\noptions.starttls = false\n"
            f"local acc = IMAP {{ server = '127.0.0.1', port = {dovecot.imap_port},\n"
            f"  username = '{user}', password = '{password}' }}\n"
            "local n = 0\n"
            "for _, m in ipairs(acc.INBOX:select_all()) do\n"
            "  local mbox, uid = table.unpack(m)\n"
            "  local msg = mbox[uid]:fetch_message(); n = n + 1\nend\n"
            "print('fetched ' .. n)\n")
        t = time.perf_counter()
        out = subprocess.run([binary, "-c", str(conf)], check=True, capture_output=True,
                             text=True, env={**os.environ, "HOME": tmp}).stdout
        took = time.perf_counter() - t
    assert f"fetched {n}" in out, out
    return n / took


def choose_drafts(corpus: Corpus, want: int) -> None:
    """Make `want` messages the daemon would answer recent (see benchcorpus.py), by the same
    config the daemon gets."""
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp), 143, "bench@example.test", "-")
        picked = pick_fresh(corpus, config, want)
    corpus.make_fresh(picked)
    print(f"  {len(picked)} messages made recent to be drafted (chosen in "
          f"{time.perf_counter() - t:.1f} s, not timed)")


def mb(n: int) -> str:
    return f"{n / 2**20:.0f} MB"


def print_memory(res: dict[str, Any]) -> None:
    peak, tree = res["peak"], res["peak"].get("tree", (0, 0))
    print(f"  peak RSS of the process tree {mb(tree[0])} (target <= 150 MB), peak PSS "
          f"{mb(res['peak_pss'])}; peak RSS by role: " + ", ".join(
              f"{role} {mb(peak[role][0])}" + (f" ({peak[role][1]})" if peak[role][1] > 1
                                               else "")
              for role in ROLES if role in peak and peak[role][0]))


def print_idle(res: dict[str, Any]) -> None:
    print(f"idle with {res['pending_drafts']} pending drafts (all published "
          f"{res['published_s']:.1f} s after the backlog was sorted; the round settled "
          f"{res['settle_s']:.1f} s later): {res['idle_cmds']:.1f} IMAP commands/min beyond "
          f"IDLE re-arms (target <= 2), {res['idle_rearms']:.1f} IDLE/DONE/min, "
          f"CPU {res['idle_cpu']:.2f} s/min of the tree (target <= 0.5)")
    names = ", ".join(f"{w} {v:.1f}" for w, v in res["idle_by_name"].items())
    print(f"  commands/min while idle: {names or 'none'}")
    mem = res["idle_mem"]
    print(f"  memory when idle: tree RSS {mb(mem['tree'][1])}, PSS {mb(mem['tree'][2])}; "
          + ", ".join(f"{role} RSS {mb(mem[role][1])} PSS {mb(mem[role][2])}"
                      + (f" ({mem[role][0]})" if mem[role][0] > 1 else "")
                      for role in ROLES if mem[role][0]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--drafts", type=int, default=1000,
                    help="messages made recent, so drafted and pending when idle")
    ap.add_argument("--idle-seconds", type=float, default=60.0)
    ap.add_argument("--stop-after", type=float, default=0.3,
                    help="fraction of the backlog processed before the SIGTERM (0: skip)")
    ap.add_argument("--probes", type=int, default=20,
                    help="new messages timed from APPEND to draft, after the idle phase")
    ap.add_argument("--skip-anchors", action="store_true")
    args = ap.parse_args()
    corpus = Corpus(args.corpus, args.count)
    n = len(corpus)
    print(f"corpus: {n} messages, {corpus.size() / 1e6:.1f} MB from {args.corpus}; "
          f"{os.cpu_count()} CPUs")
    choose_drafts(corpus, args.drafts)
    with DovecotInstance() as dovecot:
        anchors: dict[str, float | None] = {}
        if not args.skip_anchors:
            user, password = new_user(dovecot, corpus, "anchor")
            anchors["imapclient fetch (batch 500)"] = anchor_imapclient(dovecot, user, False)
            anchors["imapclient fetch + email parse"] = anchor_imapclient(dovecot, user, True)
            anchors["imapfilter fetch_message loop"] = anchor_imapfilter(dovecot, user, password, n)
        res = first_start(dovecot, corpus, args.idle_seconds, args.probes)
        if args.stop_after > 0:
            res.update(stop_during_backlog(dovecot, corpus, args.stop_after))
    rate = res["daemon_rate"]
    print(f"\ninboxops first start (record + classify + draft + sort, IMAP): "
          f"{res['daemon_seconds']:.1f} s = {rate:.0f} msg/s   (target >= 3000)")
    print(f"  READY=1 after {res['ready_s']:.2f} s")
    print("  CPU seconds during it: " + ", ".join(
        f"{role} {sec:.1f} ({sec * 1e6 / n:.0f} us/msg)" for role, sec in res["cpu"].items()))
    print_memory(res)
    for name, value in anchors.items():
        if value is None:
            print(f"  anchor {name:34s} not installed")
        else:
            print(f"  anchor {name:34s} {value:7.0f} msg/s   inboxops/anchor = {rate / value:.2f}")
    if "idle_cmds" in res:
        print_idle(res)
    if res.get("latency"):
        lat = sorted(res["latency"])
        print(f"new mail -> draft over {len(lat)} probes: p50 {statistics.median(lat) * 1000:.0f}"
              f" ms (target <= 600), max {lat[-1] * 1000:.0f} ms")
    print(f"SIGTERM when idle: exit after {res['idle_stop_s']:.2f} s")
    if "stop_s" in res:
        print(f"SIGTERM with {res['stop_processed']:.0f}/{n} processed: exit after "
              f"{res['stop_s']:.2f} s (code {res['stop_code']:.0f}, target <= 10 s); "
              f"{res['stop_sorted']:.0f} marked sorted, "
              f"{res['stop_processed'] - res['stop_sorted']:.0f} processed but not yet sorted")


if __name__ == "__main__":
    main()
