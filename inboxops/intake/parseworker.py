"""The worker side of `parsepool`: `python -m inboxops.intake.parseworker READ_FD WRITE_FD`.

It reads one set-up message (the parent's sys.path, the parser and the initializer by
module:name, the initializer's arguments), then answers each request, a pickled pair (another
parser's module:name for this request, or None; the list of raw messages), with the list of
results, each a parser's value or a `Failed` error text. A thread
reads the requests as they come (the parent sends the next while this one is parsed). It ends
when the parent closes the pipe (a parent killed with -9 included). Ctrl-C is the parent's to
handle: the worker ignores SIGINT.
"""

from __future__ import annotations

import importlib
import pickle
import queue
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from inboxops.intake.parsepool import Failed


def _resolve(name: str) -> Callable[..., Any]:
    module, _, attr = name.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj  # type: ignore[no-any-return]


def serve(recv: Connection, send: Connection) -> None:
    setup = pickle.loads(recv.recv_bytes())
    sys.path[:0] = [p for p in setup["path"] if p not in sys.path]
    parser = _resolve(setup["parser"])
    if setup["initializer"]:
        try:
            _resolve(setup["initializer"])(*setup["initargs"])
        except Exception:  # noqa: BLE001 - the parser reports what is missing, per message
            traceback.print_exc()
    parsers: dict[str | None, Callable[..., Any]] = {None: parser}
    requests: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    threading.Thread(target=_read, args=(recv, requests), daemon=True).start()
    while (request := requests.get()) is not None:
        work: str | None
        raws: list[bytes]
        work, raws = pickle.loads(request)
        out: list[Any]
        try:
            parse = parsers[work] if work in parsers else _resolve(work)  # type: ignore[arg-type]
        except Exception as e:  # noqa: BLE001 - a work function that cannot be imported
            out = [Failed(f"{type(e).__name__}: {e}")] * len(raws)
        else:
            parsers[work] = parse
            out = _answer(parse, raws)
        send.send_bytes(pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))


def _answer(parse: Callable[[bytes], Any], raws: list[bytes]) -> list[Any]:
    out: list[Any] = []
    for raw in raws:
        try:
            out.append(parse(raw))
        except Exception as e:  # noqa: BLE001 - reported to the parent, who quarantines
            out.append(Failed(f"{type(e).__name__}: {e}"))
    return out


def _read(recv: Connection, requests: queue.SimpleQueue[bytes | None]) -> None:
    """Take requests as they come, so the parent never blocks on a full pipe while this
    process is busy (and it blocks on its answer: they would wait for each other)."""
    while True:
        try:
            requests.put(recv.recv_bytes())
        except (EOFError, OSError):
            requests.put(None)
            return


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(Connection(int(sys.argv[1]), writable=False),
          Connection(int(sys.argv[2]), readable=False))


if __name__ == "__main__":
    main()
