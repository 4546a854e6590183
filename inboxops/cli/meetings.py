"""CLI commands about meetings: eval-times, and meetings [list | reschedule | cancel].

A thin shell over evaluate_times.py and bookings.py; errors are InboxopsErrors, which the main
group turns into one clear line and a non-zero exit.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from inboxops.cli.base import ID, Context, _config_or_default, _deliver, pass_ctx


@click.command(name="eval-times")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help='one JSON object {"n", "exact", "share"}')
@pass_ctx
def eval_times(c: Context, path: Path, as_json: bool) -> None:
    """Measure meeting-time extraction: the share of items whose set of starts is exact."""
    from inboxops.responders.evaluate_times import format_report, measure, ours, read_time_items

    cfg = _config_or_default(c)
    result = measure(read_time_items(path), ours(cfg.meetings.timezone))
    if as_json:
        click.echo(json.dumps({k: result[k] for k in ("n", "exact", "share")}))
        return
    click.echo(format_report(result))


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("--all", "everything", is_flag=True, help="past meetings too")
@click.pass_context
def meetings(ctx: click.Context, as_json: bool, everything: bool) -> None:
    """List meetings to come with each attendee's answer (or: meetings reschedule|cancel ID)."""
    from inboxops.outbound.bookings import listing

    if ctx.invoked_subcommand is not None:
        return
    c = ctx.find_object(Context)
    assert c is not None
    rows = listing(c.store, everything=everything)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        who = ", ".join(f"{a} {s.lower()}" for a, s in r["attendees"].items())
        click.echo(f"#{r['id']} {r['start']} {r['state']:<9} {r['summary']} [{who}]")
        if r["attention"]:
            click.echo(f"    needs the assistant: {r['attention']}")


@meetings.command()
@click.argument("meeting_id", type=ID)
@click.argument("when")
@click.option("--force", is_flag=True, help="outside working hours or over another meeting")
@click.option("--no-send", is_flag=True, help="only queue; the daemon sends it")
@pass_ctx
def reschedule(c: Context, meeting_id: int, when: str, force: bool, no_send: bool) -> None:
    """Move a meeting to WHEN ("2026-12-03 14:30", office time); same UID, SEQUENCE+1."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from inboxops.outbound.bookings import reschedule as move

    try:
        start = datetime.fromisoformat(when)
    except ValueError:
        raise click.BadParameter(f"{when!r}: write it as YYYY-MM-DD HH:MM") from None
    if start.tzinfo is None:
        start = start.replace(tzinfo=ZoneInfo(c.cfg.meetings.timezone))
    ids = move(c.store, c.cfg, meeting_id, start, force=force)
    click.echo(f"meeting {meeting_id} moved to {start:%Y-%m-%d %H:%M}; "
               f"{len(ids)} update(s) queued")
    if not no_send:
        _deliver(c)


@meetings.command(name="cancel")
@click.argument("meeting_id", type=ID)
@click.option("--no-send", is_flag=True, help="only queue; the daemon sends it")
@pass_ctx
def cancel_meeting(c: Context, meeting_id: int, no_send: bool) -> None:
    """Cancel a meeting: METHOD:CANCEL to the client and staff, SEQUENCE+1."""
    from inboxops.outbound.bookings import cancel

    ids = cancel(c.store, c.cfg, meeting_id)
    click.echo(f"meeting {meeting_id} cancelled; {len(ids)} cancellation(s) queued")
    if not no_send:
        _deliver(c)
