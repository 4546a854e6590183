"""Parse and classify together, in the parser worker processes (`intake.parsepool`).

Both are pure CPU and need nothing but the bytes, the classifier chain and the assistant's
corrections (which the learned classifier reads from the store), so they run where the second
core is, and the daemon's main process keeps the I/O: fetching, recording, sorting, drafting.
A worker is set up once (`start`, the pool's initializer) from plain values, not the Config
object, so it never imports pydantic, Jinja2 or the SMTP side: a worker stays near 30 MB.

Bytes that cannot be parsed raise (the caller quarantines the message); a classifier that
fails returns its error in the result instead, because that can pass (a bug fixed, a rule
reloaded): the caller retries the message later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from inboxops.classifiers import Chain
from inboxops.classifiers.phrases import compile_all
from inboxops.classifiers.signals import automation_signals, courtesy_signals
from inboxops.intake.parse import parse_message
from inboxops.models import Classification, ParsedMessage
from inboxops.store import Store

if TYPE_CHECKING:  # a worker never imports pydantic
    from inboxops.config import Config


@dataclass(frozen=True)
class Triaged:
    """A parsed message with its category and the signals that forbid an automatic reply."""

    parsed: ParsedMessage
    decision: Classification | None  # None: classification failed (see `error`)
    robot: list[str]  # automation signals: no draft for a machine
    courtesy: list[str]  # a thank-you, an out-of-office: no reply of any kind
    error: str | None = None


@dataclass(frozen=True)
class Setup:
    """What a worker needs to classify, as plain values (picklable without pydantic)."""

    chain: tuple[str, ...]
    options: dict[str, dict[str, Any]]
    own_addresses: frozenset[str]
    store_path: str | None

    @classmethod
    def of(cls, cfg: Config) -> Setup:
        return cls(tuple(cfg.classify.chain), dict(cfg.classify.options),
                   frozenset(cfg.own_addresses), str(cfg.store.path))


def build_chain(cfg: Config, store: Store | None = None) -> Chain:
    """The classifier chain config names, with shared knowledge (our own addresses, and the
    store where the assistant's corrections are kept)."""
    return _chain(Setup.of(cfg), store)


def _chain(setup: Setup, store: Store | None) -> Chain:
    shared: dict[str, dict[str, Any]] = {
        "signals": {"own_addresses": setup.own_addresses},
        "learned": {"store": store},
    }
    return Chain.from_names(list(setup.chain), options=setup.options, shared=shared)


class _Worker:
    """This process's chain and own addresses, made by `start`."""

    chain: Chain | None = None
    own: frozenset[str] = frozenset()


def start(setup: Setup) -> None:
    """The pool's initializer: the chain, on a store connection of this process (read only:
    the learned classifier reads corrections made by the CLI, the page or folder moves)."""
    store = (Store(setup.store_path, migrate=False)
             if setup.store_path and setup.store_path != ":memory:" else None)
    _Worker.chain = _chain(setup, store)
    compile_all()  # now, not on the first message
    _Worker.own = setup.own_addresses


def triage(raw: bytes) -> Triaged:
    """Parse (raising on bytes that cannot be parsed) and classify one message."""
    parsed = parse_message(raw)
    return _triaged(parsed, parsed)


def triage_for_ingest(raw: bytes) -> Triaged:
    """`triage`, with the parsed message cut to what `Pipeline.ingest` reads (for backlog
    intake: `ParsePool.parse(..., parser=triage_for_ingest)`).

    Ingest only decides whether a message can be recorded `processed` at once (its stored
    fields, its thread, the category and the drafting window); one that goes the usual way
    (to be drafted, iTIP, an acknowledgement) is recorded `received` and parsed again by
    `process_pending`. So the whole text before quote stripping, the header dict, To/Cc and
    the calendar bytes stay here: they were ~4 of the ~5 KB pickled a message, and the
    daemon's main process paid to unpickle them. The classifiers saw the whole message.
    """
    parsed = parse_message(raw)
    lean = object.__new__(ParsedMessage)
    lean.__dict__.update(parsed.__dict__, to=[], cc=[], full_text="", headers={},
                         calendar=None)
    return _triaged(parsed, lean)


def _triaged(parsed: ParsedMessage, answer: ParsedMessage) -> Triaged:
    """`parsed` classified, as a Triaged that carries `answer` (parsed, or a leaner copy)."""
    robot = automation_signals(parsed, _Worker.own)
    courtesy = courtesy_signals(parsed)
    decision: Classification | None = None
    error: str | None = None
    if _Worker.chain is None:
        error = "the classifier chain was not set up"
    else:
        try:
            decision = _Worker.chain.classify(parsed)
        except Exception as e:  # noqa: BLE001 - a bug in one classifier: retried, not quarantined
            error = f"classification failed: {type(e).__name__}: {e}"
    # Made without the frozen dataclass's __init__, which sets each field through
    # object.__setattr__: these objects are made for every message of a backlog.
    result = object.__new__(Triaged)
    result.__dict__.update(parsed=answer, decision=decision, robot=robot, courtesy=courtesy,
                           error=error)
    return result
