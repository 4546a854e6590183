"""A TCP relay between a client under test and the test Dovecot that writes down each IMAP
command the client sends (plain IMAP only: after STARTTLS it would see ciphertext).

Counting at the wire, not by wrapping the client, is what makes a "no FETCH" assertion honest:
whatever path the code takes to the server, the relay sees it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import socket
import threading

TAGGED = re.compile(rb"^[A-Za-z0-9.]+ ((?:UID )?[A-Za-z]+)", re.IGNORECASE)
_LITERAL = re.compile(rb"\{(\d+)\+?\}$")  # a literal follows (RFC 3501 4.3): its bytes are data


class CountingRelay:
    """Listens on 127.0.0.1:`port`; `commands` lists (connection number, command name, line)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.lock = threading.Lock()
        self.commands: list[tuple[int, str, bytes]] = []
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def names(self) -> list[str]:
        """The command names seen so far ("UID FETCH", "LOGIN", ...)."""
        with self.lock:
            return [name for _, name, _ in self.commands]

    def mark(self) -> int:
        """A point to count from: `since(mark)` gives the commands after it."""
        with self.lock:
            return len(self.commands)

    def since(self, mark: int) -> list[str]:
        with self.lock:
            return [name for _, name, _ in self.commands[mark:]]

    def close(self) -> None:
        self.server.close()

    def _accept(self) -> None:
        while True:
            try:
                down, _ = self.server.accept()
            except OSError:
                return
            up = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self.lock:
                self.connections += 1
                number = self.connections
            threading.Thread(target=self._pipe, args=(down, up, number), daemon=True).start()
            threading.Thread(target=self._pipe, args=(up, down, 0), daemon=True).start()

    def _note(self, number: int, line: bytes) -> None:
        """One line the client sent (not literal data): a tagged command is written down."""
        m = TAGGED.match(line)
        if m:
            with self.lock:
                self.commands.append((number, m.group(1).upper().decode(), line))

    def _pipe(self, src: socket.socket, dst: socket.socket, number: int) -> None:
        """Pass bytes on; on the client's side (number > 0) note each command line."""
        buf, skip, continued = b"", 0, False
        try:
            if not number:
                _splice(src, dst)
                return
            while data := src.recv(65536):
                buf += data
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
                        self._note(number, line)
                    literal = _LITERAL.search(line)
                    skip, continued = (int(literal.group(1)), True) if literal else (0, False)
                # Passed on once noted: when the server has answered a command, it is counted
                # (a count taken right after a reply must include the command that made it).
                dst.sendall(data)
        except OSError:
            pass
        finally:  # the other direction's recv returns, and that thread closes its own
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            src.close()


def _splice(src: socket.socket, dst: socket.socket) -> None:
    """The server's side, passed on in the kernel (splice through a pipe): a benchmark's
    first start moves ~100 MB this way, and copying it through Python cost the measuring
    process as much CPU as Dovecot spent serving it."""
    if not hasattr(os, "splice"):  # not Linux: the plain way
        while data := src.recv(65536):
            dst.sendall(data)
        return
    r, w = os.pipe()
    try:
        with contextlib.suppress(OSError):
            fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 1 << 20)
        while n := os.splice(src.fileno(), w, 1 << 20):
            while n:
                n -= os.splice(r, dst.fileno(), n)
    finally:
        os.close(r)
        os.close(w)
