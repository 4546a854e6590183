"""`inboxops auth login [--mailbox|--smtp]`: the OAuth2 sign-in that gives the first refresh
token (README, "Sign in with OAuth2"). A thin client over `inboxops.auth.login`."""

from __future__ import annotations

import click

from inboxops.cli.base import Context, pass_ctx
from inboxops.errors import ConfigError


@click.group()
def auth() -> None:
    """OAuth2 sign-in for Microsoft 365, Google or another provider (auth login)."""


@auth.command()
@click.option("--mailbox", "only", flag_value="mailbox", help="sign in [mailbox] only")
@click.option("--smtp", "only", flag_value="smtp", help="sign in [smtp] only")
@click.option("--flow", type=click.Choice(["device", "loopback"]),
              help="device code (any device) or loopback redirect (a browser on this "
              "machine); default: the provider's (Microsoft: device, Google: loopback)")
@click.option("--no-browser", is_flag=True, help="print the address, do not open a browser")
@pass_ctx
def login(c: Context, only: str | None, flow: str | None, no_browser: bool) -> None:
    """Sign in and save the token set (0600) beside the database. A running daemon uses it at
    once. [mailbox] and [smtp] signed in as the same account share one sign-in."""
    from inboxops.auth.login import sign_in
    from inboxops.auth.providers import provider
    from inboxops.config import OAuth2

    sections: dict[str, tuple[OAuth2, str]] = {}
    if only in (None, "mailbox") and c.cfg.mailbox.auth == "oauth2":
        sections["mailbox"] = (c.cfg.mailbox, c.cfg.mailbox.username)
    if only in (None, "smtp") and c.cfg.smtp.auth == "oauth2" and c.cfg.smtp.username:
        sections["smtp"] = (c.cfg.smtp, c.cfg.smtp.username)
    if not sections:
        raise ConfigError(f'{c.cfg.source_path}: no {"[" + only + "]" if only else "section"} '
                          'has auth = "oauth2"; nothing to sign in')
    done: dict[object, list[str]] = {}  # token file -> sections it serves
    for name, (section, username) in sections.items():
        if section.token_file in done:
            done[section.token_file].append(name)
            continue  # same account: one sign-in serves both (the scopes cover both)
        scopes = tuple(dict.fromkeys(
            s for other, user in sections.values() if other.token_file == section.token_file
            for s in provider(other).scopes))
        click.echo(f"[{name}] signing in {username} with {section.provider}", err=True)
        sign_in(section, name, username, scopes=scopes,
                flow=flow,  # type: ignore[arg-type]
                show=lambda text: click.echo(text, err=True), open_browser=not no_browser)
        done[section.token_file] = [name]
    for path, names in done.items():
        click.echo(f"signed in: {', '.join(f'[{n}]' for n in names)}; token set saved to "
                   f"{path} (mode 0600)")
