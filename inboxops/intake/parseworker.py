"""The worker side of `parsepool`: `python -m inboxops.intake.parseworker READ_FD WRITE_FD`.

It reads one set-up message (the parent's sys.path, the parser and the initializer by
module:name, the initializer's arguments), then answers each request, a pickled list of raw
messages, with the list of results, each a parser's value or a `Failed` error text. It ends
when the parent closes the pipe (a parent killed with -9 included). Ctrl-C is the parent's to
handle: the worker ignores SIGINT.
"""

from __future__ import annotations

import importlib
import pickle
import signal
import sys
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
    while True:
        try:
            raws: list[bytes] = pickle.loads(recv.recv_bytes())
        except EOFError:
            return
        out: list[Any] = []
        for raw in raws:
            try:
                out.append(parser(raw))
            except Exception as e:  # noqa: BLE001 - reported to the parent, who quarantines
                out.append(Failed(f"{type(e).__name__}: {e}"))
        send.send_bytes(pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(Connection(int(sys.argv[1]), writable=False),
          Connection(int(sys.argv[2]), readable=False))


if __name__ == "__main__":
    main()
