"""The daemon's own first start over IMAP on a big INBOX, beside the anchors of the same run.

    python benchmarks/bench_first_start.py CORPUS_DIR [--count 10000] [--idle-seconds 60]
                                           [--stop-after 0.3] [--skip-anchors]

CORPUS_DIR holds .eml files, e.g. made by ../shared/mailserver/perf/gen_corpus.py. Everything
runs against one private loopback Dovecot (tests/mailservers.py), in this order:

1. anchors on the loaded INBOX: imapclient FETCH BODY.PEEK[] in batches of 500, the same plus
   `email.message_from_bytes(policy=default)` (the naive path), and imapfilter fetching every
   message if it is installed;
2. `inboxops run` (a separate process, as systemd starts it) from an empty store until every
   message is recorded, processed AND sorted in the mailbox: msg/s, the time to READY=1, and
   the peak RSS of the whole process tree (daemon, parse workers, fork server, resource tracker)
   sampled from /proc every 0.1 s;
3. the same daemon left idle (`--idle-seconds`) with the drafts it made pending: IMAP commands
   a minute (counted by a relay between daemon and Dovecot; IDLE/DONE re-arms counted apart)
   and the CPU seconds a minute of the process tree;
4. a fresh mailbox again, SIGTERM once `--stop-after` of the backlog is processed: seconds
   from the signal to the exit, and how many processed messages were left unsorted.

The loading of the INBOX is not timed: the messages are written into the Maildir's cur/ as
Dovecot's own delivery would, then one read-write SELECT settles the index.
"""

from __future__ import annotations

import argparse
import contextlib
import email
import email.policy
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from mailservers import DovecotInstance  # noqa: E402  (the test suite's own Dovecot)

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# -- the mailbox --------------------------------------------------------------------------------

def load_corpus(corpus: Path, count: int) -> list[bytes]:
    files = sorted(p for p in corpus.rglob("*.eml") if p.is_file())[:count]
    if len(files) < count:
        sys.exit(f"{corpus} holds {len(files)} .eml files, fewer than --count {count}")
    return [p.read_bytes() for p in files]


def fill_inbox(dovecot: DovecotInstance, user: str, raws: list[bytes]) -> None:
    """Write the messages into cur/ (\\Seen) the way Dovecot's LDA names them, then settle the
    index with one read-write SELECT a second later (Dovecot rescans a cur/ whose mtime is
    from the current second on every open)."""
    with dovecot.client(user) as c:  # the first login creates the Maildir
        c.select_folder("INBOX")
    cur = dovecot.maildir(user) / "cur"
    host = socket.gethostname().replace("/", "_").replace(":", "_")
    now = int(time.time())
    for n, raw in enumerate(raws):
        lf = raw.replace(b"\r\n", b"\n")
        crlf = lf.replace(b"\n", b"\r\n")
        name = f"{now - len(raws) + n}.M{n}P{os.getpid()}.{host},S={len(lf)},W={len(crlf)}:2,S"
        path = cur / name
        path.write_bytes(lf)
        if dovecot.is_root:
            shutil.chown(path, dovecot.mail_user, dovecot.mail_group)
    time.sleep(1.1)
    with dovecot.client(user) as c:
        info = c.select_folder("INBOX")
        assert info[b"EXISTS"] == len(raws), info


def new_user(dovecot: DovecotInstance, raws: list[bytes], tag: str) -> tuple[str, str]:
    user, password = f"bench-{tag}-{os.getpid()}@example.test", "bench-pw"
    dovecot.add_user(user, password)
    fill_inbox(dovecot, user, raws)
    return user, password


# -- a relay that counts the commands the daemon sends ----------------------------------------

class CountingRelay:
    """TCP relay daemon -> Dovecot that counts tagged client commands (IDLE and DONE apart)."""

    TAGGED = re.compile(rb"^[A-Za-z0-9.]+ ((?:UID )?[A-Za-z]+)", re.IGNORECASE)
    LITERAL = re.compile(rb"\{(\d+)\+?\}$")

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.lock = threading.Lock()
        self.commands: list[tuple[float, str]] = []
        self.logins = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                down, _ = self.server.accept()
            except OSError:
                return
            up = socket.create_connection(("127.0.0.1", self.upstream))
            with self.lock:
                self.logins += 1
            threading.Thread(target=self._pipe, args=(down, up, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(up, down, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, count: bool) -> None:
        buf, skip, continued = b"", 0, False  # skip: literal bytes still to pass (RFC 3501 4.3)
        try:
            while data := src.recv(65536):
                dst.sendall(data)
                if not count:
                    continue
                buf += data
                now = time.monotonic()
                while True:
                    if skip:
                        taken = min(skip, len(buf))
                        buf, skip = buf[taken:], skip - taken
                        if skip:
                            break
                    end = buf.find(b"\r\n")
                    if end < 0:
                        break
                    line, buf = buf[:end], buf[end + 2:]
                    if not continued:
                        self._note(line, now)
                    literal = self.LITERAL.search(line)
                    skip, continued = (int(literal.group(1)), True) if literal else (0, False)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def _note(self, line: bytes, now: float) -> None:
        m = self.TAGGED.match(line)
        if m:
            word = m.group(1).upper().decode()
        elif line.strip().upper() == b"DONE":
            word = "DONE"
        else:
            return
        with self.lock:
            self.commands.append((now, word))

    def since(self, t0: float) -> list[str]:
        with self.lock:
            return [w for t, w in self.commands if t >= t0]

    def close(self) -> None:
        self.server.close()


# -- the process tree ---------------------------------------------------------------------------

def tree(pid: int) -> list[int]:
    """pid and all its descendants (from /proc/*/stat's ppid)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += parents.get(p, [])
    return out


def tree_rss(pid: int) -> int:
    total = 0
    for p in tree(pid):
        with contextlib.suppress(OSError):
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * PAGE
    return total


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of the live tree, reaped children included."""
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / TICK


class RssSampler:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            self._stop.wait(0.1)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


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
[smtp]
kind = "outbox-dir"
path = "{tmp / 'outbox'}"
from = "Bench Office <{user}>"
""")
    return config


def counts(db: Path) -> tuple[int, int, int, int]:
    """(recorded, processed or quarantined, sorted, pending drafts)."""
    if not db.exists():
        return 0, 0, 0, 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute(
                "SELECT count(*), sum(state != 'received'), sum(sort_state = 'done'),"
                " (SELECT count(*) FROM drafts WHERE state = 'pending') FROM messages").fetchone()
    except sqlite3.OperationalError:
        return 0, 0, 0, 0
    return tuple(int(x or 0) for x in row)  # type: ignore[return-value]


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


def wait_for(check: Callable[[], bool], timeout: float, proc: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def first_start(dovecot: DovecotInstance, raws: list[bytes], idle_seconds: float
                ) -> dict[str, Any]:
    n = len(raws)
    user, password = new_user(dovecot, raws, "first")
    relay = CountingRelay(dovecot.imap_port)
    res: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmpname:
        tmp = Path(tmpname)
        config = write_config(tmp, relay.port, user, password)
        sock, notes = notify_socket(tmp)
        t0 = time.monotonic()
        proc = start_daemon(config, tmp, sock)
        rss = RssSampler(proc.pid)
        try:
            done = wait_for(lambda: counts(tmp / "inboxops.db")[2] >= n, 3600, proc)
            elapsed = time.monotonic() - t0
            peak = rss.stop()
            rec, processed, sorted_, pending = counts(tmp / "inboxops.db")
            if not done:
                print((tmp / "daemon.log").read_text()[-3000:])
                sys.exit(f"the daemon stopped early: {rec} recorded, {processed} processed, "
                         f"{sorted_} sorted")
            ready = [at for at, text in notes if "READY=1" in text]
            res.update(daemon_seconds=elapsed, daemon_rate=n / elapsed, peak_rss=peak,
                       ready_s=(ready[0] - t0) if ready else float("nan"),
                       pending_drafts=pending)
            if idle_seconds > 0:
                time.sleep(10)  # let the pass that followed the backlog settle
                c0, t1 = tree_cpu(proc.pid), time.monotonic()
                time.sleep(idle_seconds)
                minutes = (time.monotonic() - t1) / 60
                words = relay.since(t1)
                rearms = sum(w in ("IDLE", "DONE") for w in words)
                res["idle_words"] = ", ".join(sorted(set(words)))  # type: ignore[assignment]
                res.update(idle_cmds=(len(words) - rearms) / minutes, idle_rearms=rearms / minutes,
                           idle_cpu=(tree_cpu(proc.pid) - c0) / minutes,
                           idle_rss=tree_rss(proc.pid))
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


def stop_during_backlog(dovecot: DovecotInstance, raws: list[bytes], fraction: float
                        ) -> dict[str, float]:
    n = len(raws)
    user, password = new_user(dovecot, raws, "stop")
    with tempfile.TemporaryDirectory() as tmpname:
        tmp = Path(tmpname)
        config = write_config(tmp, dovecot.imap_port, user, password)
        sock, _ = notify_socket(tmp)
        proc = start_daemon(config, tmp, sock)
        try:
            wait_for(lambda: counts(tmp / "inboxops.db")[1] >= fraction * n, 3600, proc)
            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(300)
            took = time.monotonic() - t0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            sock.close()
        rec, processed, sorted_, _ = counts(tmp / "inboxops.db")
    return {"stop_s": took, "stop_code": code, "stop_processed": processed,
            "stop_sorted": sorted_, "stop_recorded": rec}


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--idle-seconds", type=float, default=60.0)
    ap.add_argument("--stop-after", type=float, default=0.3,
                    help="fraction of the backlog processed before the SIGTERM (0: skip)")
    ap.add_argument("--skip-anchors", action="store_true")
    args = ap.parse_args()
    raws = load_corpus(args.corpus, args.count)
    n = len(raws)
    mb = sum(map(len, raws)) / 1e6
    print(f"corpus: {n} messages, {mb:.1f} MB from {args.corpus}; {os.cpu_count()} CPUs")
    with DovecotInstance() as dovecot:
        anchors: dict[str, float | None] = {}
        if not args.skip_anchors:
            user, password = new_user(dovecot, raws, "anchor")
            anchors["imapclient fetch (batch 500)"] = anchor_imapclient(dovecot, user, False)
            anchors["imapclient fetch + email parse"] = anchor_imapclient(dovecot, user, True)
            anchors["imapfilter fetch_message loop"] = anchor_imapfilter(dovecot, user, password, n)
        res = first_start(dovecot, raws, args.idle_seconds)
        if args.stop_after > 0:
            res.update(stop_during_backlog(dovecot, raws, args.stop_after))
    rate = res["daemon_rate"]
    print(f"\ninboxops first start (record + classify + draft + sort, IMAP): "
          f"{res['daemon_seconds']:.1f} s = {rate:.0f} msg/s   (target >= 3000)")
    print(f"  READY=1 after {res['ready_s']:.2f} s; peak RSS of the process tree "
          f"{res['peak_rss'] / 2**20:.0f} MB (target <= 150)")
    for name, value in anchors.items():
        if value is None:
            print(f"  anchor {name:34s} not installed")
        else:
            print(f"  anchor {name:34s} {value:7.0f} msg/s   inboxops/anchor = {rate / value:.2f}")
    if "idle_cmds" in res:
        print(f"idle with {res['pending_drafts']:.0f} pending drafts: "
              f"{res['idle_cmds']:.1f} IMAP commands/min beyond IDLE re-arms (target <= 2), "
              f"{res['idle_rearms']:.1f} IDLE/DONE/min, CPU {res['idle_cpu']:.2f} s/min "
              f"(target <= 0.5), RSS {res['idle_rss'] / 2**20:.0f} MB")
        print(f"  commands seen while idle: {res['idle_words'] or 'none'}")
    print(f"SIGTERM when idle: exit after {res['idle_stop_s']:.2f} s")
    if "stop_s" in res:
        print(f"SIGTERM with {res['stop_processed']:.0f}/{n} processed: exit after "
              f"{res['stop_s']:.2f} s (code {res['stop_code']:.0f}, target <= 10 s); "
              f"{res['stop_sorted']:.0f} marked sorted, "
              f"{res['stop_processed'] - res['stop_sorted']:.0f} processed but not yet sorted")


if __name__ == "__main__":
    main()
