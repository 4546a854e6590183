"""`inboxops web`: serve the assistant's page; `inboxops web passwd USER`: set a password."""

from __future__ import annotations

import sys

import click

from inboxops.cli.base import Context, pass_ctx


@click.group(invoke_without_command=True)
@click.option("--host", help="listen address (default: [web] host, 127.0.0.1)")
@click.option("--port", type=click.IntRange(1, 65535),
              help="listen port (default: [web] port, 8025)")
@click.pass_context
def web(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the assistant's page (or: web passwd USER)."""
    if ctx.invoked_subcommand is not None:
        return
    from inboxops.cli import setup_logging
    from inboxops.web import serve
    from inboxops.web.auth import load_users

    c = ctx.find_object(Context)
    assert c is not None
    setup_logging(c.cfg.log.level)
    c.store.close()  # opened once now: a database it cannot use fails here, in one line
    if not load_users(c.cfg.web.users_file) and not c.cfg.web.trusted_header:
        click.echo(f"note: no users yet in {c.cfg.web.users_file}; add one with: "
                   "inboxops web passwd USER", err=True)
    serve(c.cfg, host, port)


@web.command()
@click.argument("user")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@pass_ctx
def passwd(c: Context, user: str, password_stdin: bool) -> None:
    """Add a user of the page or change their password (argon2; their sessions end)."""
    from inboxops.web.auth import set_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    set_password(c.cfg.web.users_file, user, password)
    click.echo(f"password set for {user} in {c.cfg.web.users_file}")
