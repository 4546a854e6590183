"""The command line: a thin client over the library that turns its errors into one clear line.

    inboxops run | status | check | drafts | show | approve | reject | digest | backfill |
    classify | meetings | outbox | auth
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import click

from inboxops import CONFIG_ENV_VAR as ENV_VAR
from inboxops import __version__
from inboxops.cli.auth import auth
from inboxops.cli.base import ID, Context, _config_or_default, _deliver, pass_ctx
from inboxops.cli.init import init
from inboxops.cli.meetings import eval_times, meetings
from inboxops.cli.web import web
from inboxops.errors import InboxopsError
from inboxops.models import CATEGORIES

if TYPE_CHECKING:  # each command imports what it needs: `inboxops --help` stays quick
    from inboxops.config import Config
    from inboxops.store import Store


def setup_logging(level: str) -> None:
    """Plain lines with syslog priority prefixes under systemd (SYSD-7), timestamps otherwise.

    journald reads stderr line by line, so every line of a record (a traceback's too) gets
    the prefix: `journalctl -p err` then shows the whole traceback, not its first line."""
    import logging  # here, not at the top: --help and the listings need no logging setup

    under_systemd = bool(os.environ.get("JOURNAL_STREAM") or os.environ.get("INVOCATION_ID"))

    class Prefix(logging.Formatter):
        PRIO: ClassVar[dict[str, int]] = {
            "DEBUG": 7, "INFO": 6, "WARNING": 4, "ERROR": 3, "CRITICAL": 2,
        }

        def format(self, record: logging.LogRecord) -> str:
            text = super().format(record)
            if not under_systemd:
                return text
            prefix = f"<{self.PRIO.get(record.levelname, 6)}>"
            return "\n".join(prefix + line for line in text.splitlines() or [""])

    fmt = "%(name)s: %(message)s"
    if not under_systemd:
        fmt = "%(asctime)s %(levelname)s " + fmt
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(Prefix(fmt))
    # The format names none of these, and each costs every record (one a state change: two
    # per message of a backlog): the Logging HOWTO's "Optimization" switches.
    logging._srcfile = None  # type: ignore[attr-defined]  # no caller frame walk
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    setattr(logging, "logAsyncioTasks", False)  # noqa: B010 - Python 3.12+ (the task's name)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("imapclient").setLevel(logging.WARNING)  # its DEBUG would log traffic
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per poll otherwise


class Group(click.Group):
    """Turns an expected failure into `error: <message>` and a non-zero exit, never a
    traceback: InboxopsError, a database SQLite cannot use (damaged, read-only), a bad
    argument (one line, not click's usage block)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InboxopsError as e:
            click.echo(f"error: {e}", err=True)
            ctx.exit(1)
        except sqlite3.DatabaseError as e:  # a write to a read-only store, a damaged page
            from inboxops.store import unusable

            c = ctx.find_object(Context)
            known = c.store_path if c is not None else None  # known: the store was opened
            path = known if known is not None else "the store"
            click.echo(f"error: {unusable(path, e)}", err=True)
            ctx.exit(1)
        except click.UsageError as e:
            command = e.ctx.command_path if e.ctx else "inboxops"
            click.echo(f"error: {command}: {e.format_message()} (see {command} --help)",
                       err=True)
            ctx.exit(2)


@click.group(cls=Group)
@click.option("--config", "config_path", envvar=ENV_VAR, type=click.Path(dir_okay=False),
              help=f"config file (default ./config.toml, or ${ENV_VAR})")
@click.version_option(__version__)
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """inboxops: sorts the shared mailbox, drafts replies, and sends what you approve."""
    ctx.obj = Context(config_path)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="print a JSON object")
@pass_ctx
def status(c: Context, as_json: bool) -> None:
    """How the service is doing: daemon, mailbox, last poll and error, queues, next digest."""
    from inboxops.service.status import format_text, report

    data = report(c.store, c.cfg)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(format_text(data, c.cfg))


@main.command()
@click.option("--once", is_flag=True, help="one pass (fetch, process, sort, send), then exit")
@pass_ctx
def run(c: Context, once: bool) -> None:
    """Run the daemon in the foreground until SIGTERM or Ctrl-C."""
    # Until the daemon installs its own handlers: SIGTERM during start-up is a clean stop (no
    # work is in flight yet) and SIGHUP is ignored (its default action would kill us).
    import signal

    signal.signal(signal.SIGTERM, _stop_during_startup)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    import asyncio

    from inboxops.service.daemon import Daemon

    setup_logging(c.cfg.log.level)
    daemon = Daemon(c.cfg)
    if c.cfg.web.enabled and not once:  # [web] enabled: the page too, from a thread
        from inboxops.web import start_in_thread

        start_in_thread(c.cfg)
    asyncio.run(daemon.run_once() if once else daemon.run())
    if daemon.exit_code:
        raise SystemExit(daemon.exit_code)


def _stop_during_startup(signum: int, frame: object) -> None:
    raise SystemExit(0)


@main.command()
@pass_ctx
def check(c: Context) -> None:
    """Validate the config and try the mailbox, the sender, the store and the templates."""
    from inboxops.cli.checks import automatic_mail, identities, render_every_template
    from inboxops.intake.sources import open_source
    from inboxops.outbound.mailbox import open_mailbox
    from inboxops.outbound.outbox import open_transport

    cfg = c.cfg
    click.echo(f"config: {cfg.source_path} is valid")
    failures = 0
    source = open_source(cfg.mailbox)
    mailbox = open_mailbox(source)
    steps = [
        ("store", lambda: f"{cfg.store.path} (migrations applied: {len(c.store.migrate())})"),
        ("templates", lambda: render_every_template(cfg, _store_or_none(c))),
        ("identity", lambda: identities(cfg)),
        ("digest", lambda: f"digest ({cfg.digest.language}) "
         + (f"daily at {cfg.digest.time}" if cfg.digest.enabled else "disabled")),
        ("automatic mail", lambda: automatic_mail(cfg)),
        ("mailbox", source.check),
        ("folders", lambda: mailbox.check_folders(cfg)),
        ("sender", open_transport(cfg.smtp, mailbox).check),
    ]
    if cfg.smtp.kind == "smtp":
        steps.append(("smtp", lambda: _check_smtp(cfg)))
    if cfg.meetings.busy_calendar:
        steps.append(("busy calendar", lambda: _check_feed(cfg)))
    for name, step in steps:
        try:
            click.echo(f"{name}: ok: {step()}")
        except (InboxopsError, OSError) as e:
            failures += 1
            click.echo(f"{name}: FAILED: {e}", err=True)
    if failures:
        raise SystemExit(1)


def _store_or_none(c: Context) -> Store | None:
    """The store when it opens (the digest then renders with real data), else None."""
    try:
        return c.store
    except InboxopsError:
        return None  # the store step says why


def _check_feed(cfg: Config) -> str:
    from datetime import UTC, datetime

    from inboxops.responders.busy import feed_busy

    mcfg = cfg.meetings
    spans = feed_busy(mcfg.busy_calendar, mcfg.timezone, datetime.now(UTC), mcfg.search_days)
    return f"{len(spans)} busy interval(s) in the next {mcfg.search_days} days"


def _check_smtp(cfg: Config) -> str:
    from inboxops.outbound.outbox import SmtpTransport

    async def probe() -> str:
        smtp = await SmtpTransport(cfg.smtp)._connect()
        await smtp.quit()
        return f"connected{' and logged in' if cfg.smtp.username else ''}"

    import asyncio

    return asyncio.run(probe())


@main.command()
@click.option("--json", "as_json", is_flag=True, help="print a JSON list")
@pass_ctx
def drafts(c: Context, as_json: bool) -> None:
    """List drafts waiting for approval, and the review lane: what needs a human."""
    # The store's query, not outbound.approval's wrapper: that imports the whole approval path
    # (SMTP, templates, meetings), most of this command's start-up time.
    from inboxops.store import drafts as stored_drafts
    from inboxops.store import messages

    rows = stored_drafts.needing_the_assistant(c.store)
    threshold = c.basics.review_below
    if as_json:
        out = [
            {
                "id": r["id"], "state": r["state"], "error": r["error"],
                "message_id": r["message_id"], "category": r["category"],
                "language": r["language"], "to": r["to_addr"], "subject": r["subject"],
                "body": r["body"], "created_at": r["created_at"],
                "confidence": r["confidence"], "reasons": json.loads(r["reasons"] or "[]"),
                "needs_review": r["confidence"] < threshold,
            }
            for r in rows
        ]
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no drafts waiting")
    for r in rows:
        flag = f"  FAILED: {r['error']}" if r["state"] == "failed" else ""
        if r["confidence"] < threshold:
            flag += f"  REVIEW: unsure of the category ({r['confidence']:.2f})"
        click.echo(f"#{r['id']:<5} {r['category']:<9} {r['language']}  {r['to_addr']:<30} "
                   f"{r['subject']}{flag}")
    undrafted = messages.in_review_undrafted(c.store, threshold)
    if undrafted:
        click.echo(f"\nNeeds you: {len(undrafted)} message(s) in review, no draft "
                   "(inboxops reclassify ID CATEGORY)")
    for m in undrafted:
        click.echo(f"message #{m['id']:<5} {m['category']:<9} {m['confidence']:.2f} "
                   f"{m['from_addr'] or '?':<30} {m['subject'] or ''}")


@main.command()
@click.argument("draft_id", type=ID)
@pass_ctx
def show(c: Context, draft_id: int) -> None:
    """Show one draft with the message it answers and why it was sorted so."""
    d = c.store.require("drafts", draft_id)
    m = c.store.require("messages", d["message_pk"])
    click.echo(f"Draft #{d['id']} ({d['state']})  category {d['category']}, language "
               f"{d['language']}, confidence {m['confidence']}")
    if m["confidence"] < c.basics.review_below:
        click.echo(f"NEEDS REVIEW: the category is uncertain (below "
                   f"{c.basics.review_below:.2f}); correct it with inboxops reclassify "
                   f"{m['id']} CATEGORY")
    click.echo(f"Why: {'; '.join(json.loads(m['reasons'] or '[]'))}")
    if json.loads(m["suppress"] or "[]"):
        click.echo(f"Loop signals: {'; '.join(json.loads(m['suppress']))}")
    if json.loads(m["defects"] or "[]"):
        click.echo(f"Defects in the message: {'; '.join(json.loads(m['defects']))}")
    click.echo(f"To: {d['to_name']} <{d['to_addr']}> (from the {d['to_reason']})")
    click.echo(f"Subject: {d['subject']}")
    click.echo(f"In reply to: {m['message_id'] or '(no Message-ID)'} from {m['from_addr']}")
    click.echo("")
    click.echo(d["body_text"])


@main.command()
@click.argument("draft_id", type=ID)
@click.option("--edit", is_flag=True, help="edit the text in $EDITOR before approving")
@click.option("--no-send", is_flag=True, help="only queue; the daemon sends it")
@pass_ctx
def approve(c: Context, draft_id: int, edit: bool, no_send: bool) -> None:
    """Approve a draft and send it."""
    text = None
    if edit:
        draft = c.store.require("drafts", draft_id)
        text = click.edit(draft["body_text"], require_save=False, extension=".txt")
        if not text or not text.strip():
            raise click.ClickException("empty text: draft left pending")
    from inboxops.outbound.approval import approve as approve_draft

    ids = approve_draft(c.store, c.cfg, draft_id, text=text, by="cli")
    click.echo(f"draft {draft_id} approved; queued outbox {', '.join(map(str, ids))}")
    if not no_send:
        _deliver(c)


@main.command()
@click.argument("draft_id", type=ID)
@pass_ctx
def reject(c: Context, draft_id: int) -> None:
    """Reject a draft: nothing is sent."""
    from inboxops.outbound.approval import reject as reject_draft

    reject_draft(c.store, draft_id, by="cli")
    click.echo(f"draft {draft_id} rejected")


@main.command()
@click.option("--send-now", is_flag=True, help="build and send a digest now")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, writable=True,
              path_type=Path), help="also write the HTML part to this file (to preview it)")
@pass_ctx
def digest(c: Context, send_now: bool, html_path: Path | None) -> None:
    """Send the manager's digest now, or print what it would say."""
    from datetime import UTC, datetime

    from inboxops.service.digest import queue_digest, render

    if html_path is not None:
        html = render(c.store, c.cfg, datetime.now(UTC))[2] or ""
        try:
            html_path.write_text(html, encoding="utf-8")
        except OSError as e:
            raise InboxopsError(f"cannot write {html_path}: {e.strerror}. Fix: create the "
                                f"folder {html_path.parent} first, or name another file") from None
    if not send_now:
        subject, text, _ = render(c.store, c.cfg, datetime.now(UTC))
        click.echo(f"Subject: {subject}\n\n{text}")
        return
    pk = queue_digest(c.store, c.cfg, force=True)
    click.echo(f"digest queued as outbox {pk}")
    _deliver(c)


@main.command()
@click.option("--since", help='how far back: "30d", "2w" or a date "2026-10-01"; leave out to '
              "resume an interrupted backfill")
@pass_ctx
def backfill(c: Context, since: str | None) -> None:
    """Take the mail of a past period (progress on stderr); resumable if interrupted."""
    from datetime import date

    from inboxops.intake.backfill import Progress, parse_since
    from inboxops.intake.backfill import run as run_backfill
    from inboxops.service.pipeline import Pipeline

    setup_logging("ERROR")  # one warning per message would bury the progress line
    start = parse_since(since, date.today()) if since else None
    progress = Progress(sys.stderr, tty=sys.stderr.isatty())
    pipeline = Pipeline(c.cfg, c.store)
    try:
        job = run_backfill(c.cfg, c.store, start, progress, pipeline.process_pending)
    finally:
        pipeline.close()  # parser workers
    click.echo(f"backfill since {job.since}{' (resumed)' if job.resumed else ''}: "
               f"{job.total} message(s) in the period, {job.taken} taken now, "
               f"{job.total - job.taken} already there before")


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def classify(c: Context, path: Path, as_json: bool) -> None:
    """Classify one .eml file and say why."""
    from inboxops.intake.parse import parse_message
    from inboxops.service.pipeline import build_chain
    from inboxops.store import Store

    cfg = _config_or_default(c)
    parsed = parse_message(path.read_bytes())
    store = Store(cfg.store.path) if cfg.store.path.exists() else None  # learned corrections
    decision = build_chain(cfg, store).classify(parsed)
    if as_json:
        click.echo(json.dumps({"category": decision.category, "confidence": decision.confidence,
                               "reasons": decision.reasons, "language": parsed.language,
                               "defects": parsed.defects}, ensure_ascii=False))
        return
    click.echo(f"{decision.category} (confidence {decision.confidence:.2f}, language "
               f"{parsed.language})")
    for reason in decision.reasons:
        click.echo(f"  - {reason}")
    for defect in parsed.defects:
        click.echo(f"  ! {defect}")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--category", type=click.Choice(CATEGORIES), help="only this category")
@click.option("--limit", type=ID, default=50, show_default=True)
@pass_ctx
def messages(c: Context, as_json: bool, category: str | None, limit: int) -> None:
    """List recent messages with their category, confidence and state."""
    from inboxops.store import messages as stored_messages

    rows = stored_messages.recent(c.store, category, limit)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        sure = f"{r['confidence']:.2f}" if r["confidence"] is not None else "-"
        click.echo(f"#{r['id']:<5} {r['category'] or r['state']:<9} {sure:>4} "
                   f"{r['from_addr'] or '?':<30} {r['subject'] or ''}")


@main.command()
@click.argument("message_id", type=ID)
@click.argument("category", type=click.Choice(CATEGORIES))
@pass_ctx
def reclassify(c: Context, message_id: int, category: str) -> None:
    """Correct a message's category; the classifier learns from it at once."""
    from inboxops.classifiers.corrections import reclassify as correct
    from inboxops.service.pipeline import Pipeline

    if not correct(c.store, message_id, category):
        click.echo(f"message {message_id} is already {category}")
        return
    click.echo(f"message {message_id} is now {category}; learned from the correction")
    draft = Pipeline(c.cfg, c.store).redraft(message_id)
    if draft:
        click.echo(f"new draft #{draft} waits for approval")


@main.command()
@click.argument("message_id", type=int)
@pass_ctx
def redraft(c: Context, message_id: int) -> None:
    """Write a draft for a message that has none, e.g. one older than the drafting window."""
    from inboxops.errors import StateError
    from inboxops.service.pipeline import Pipeline

    if c.store.require("messages", message_id)["state"] != "processed":
        raise StateError(f"message {message_id} is not processed (yet): nothing to draft for")
    pipeline = Pipeline(c.cfg, c.store)
    try:
        draft = pipeline.redraft(message_id, reason="asked for (inboxops redraft)")
    finally:
        pipeline.close()
    if draft is None:
        click.echo(f"message {message_id} gets no draft: answered already, or nothing to answer")
        return
    click.echo(f"new draft #{draft} waits for approval")


@main.command(name="eval")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="one JSON object")
@click.option("--learn-from", "learn_from", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="feed these labelled items as corrections first")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, writable=True,
              path_type=Path), help="write the reliability diagram and risk-coverage curve (PNG)")
@pass_ctx
def evaluate(
    c: Context, path: Path, as_json: bool, learn_from: Path | None, plot_path: Path | None
) -> None:
    """Measure sorting on labelled JSONL: F1, coverage and precision at the review threshold,
    calibration error (ECE), the same per source; --json adds the risk-coverage curve."""
    from inboxops.classifiers.corrections import record
    from inboxops.classifiers.evaluate import format_report, parsed_items, read_items, report
    from inboxops.service.pipeline import build_chain
    from inboxops.store import Store

    cfg = _config_or_default(c)
    store = Store(":memory:")  # corrections for this run only; the real store is untouched
    if learn_from:
        for item, parsed in parsed_items(read_items(learn_from)):
            record(store, item.label, parsed.subject, parsed.text, origin="eval")
    chain = build_chain(cfg, store)
    rows = [(item, chain.classify(parsed)) for item, parsed in parsed_items(read_items(path))]
    result = report(rows, cfg.classify.review_below)
    if plot_path is not None:
        from inboxops.classifiers.plot import reliability_png

        reliability_png(result, plot_path, title=path.name)
    click.echo(json.dumps(result) if as_json else format_report(result))


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def outbox(ctx: click.Context, as_json: bool) -> None:
    """List outgoing mail and its delivery state (or: outbox resolve ID)."""
    if ctx.invoked_subcommand is not None:
        return
    c = ctx.find_object(Context)
    assert c is not None
    from inboxops.store import outbox as stored_outbox

    rows = stored_outbox.recent(c.store, limit=100)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"#{r['id']:<5} {r['kind']:<7} {r['state']:<8} {r['rcpts']} "
                   f"{r['last_error'] or ''}")


@outbox.command()
@click.argument("outbox_id", type=ID)
@click.option("--sent", "verdict", flag_value="sent", help="it did arrive: mark it sent")
@click.option("--resend", "verdict", flag_value="resend", help="it did not arrive: send again")
@pass_ctx
def resolve(c: Context, outbox_id: int, verdict: str | None) -> None:
    """Settle a message whose delivery is unknown (or failed) after checking with the recipient."""
    from inboxops.outbound.outbox import Outbox, open_transport

    if verdict is None:
        raise click.UsageError("say --sent or --resend")
    box = Outbox(c.store, open_transport(c.cfg.smtp, None), None)
    box.resolve(outbox_id, delivered=verdict == "sent")
    click.echo(f"outbox {outbox_id}: {'marked sent' if verdict == 'sent' else 'queued again'}")
    if verdict == "resend":
        _deliver(c)


# Meeting commands live in cli_meetings.py, kept apart so this module stays short.
main.add_command(eval_times)
main.add_command(init)
main.add_command(meetings)
main.add_command(web)
main.add_command(auth)
